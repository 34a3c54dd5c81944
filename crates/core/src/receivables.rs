//! The receivables roll-forward (应收账款滚动表) per store, currency and calendar month, and
//! aging buckets.
//!
//! # The rule
//! * **Receivable** is money the marketplace owes the seller: settlement lines posted and
//!   not yet transferred (paid out).
//! * A line counts in the calendar month (UTC) of its posted date. A settlement's
//!   **transfer** is its total, in the month (UTC) of its deposit date; a settlement with
//!   no deposit date (a total of zero or less: nothing is paid out, the balance is charged
//!   or carried) is closed in the month of its end date. A settlement period that straddles
//!   a month end is therefore split by posting date, and transferred once.
//! * `closing = opening + sales + refunds + fees + other − transfers`, every movement
//!   signed as it changes the receivable (refunds and fees are negative).
//! * A settlement whose lines do not sum to its total (an inconsistent file) is closed
//!   with an `other` movement of the difference (total − lines) in its transfer month, so
//!   that what is transferred equals what was posted: the difference is shown, not hidden.
//! * Invariants, checked on every run ([`roll_forward`] returns an error otherwise):
//!   closing(m) = opening(m + 1); closing(m) = Σ lines posted by the end of m of the
//!   settlements not transferred by then; the movements of a settlement over all months
//!   sum to its total.
//! * Turnover = net sales (sales + refunds) ÷ average receivable ((opening + closing) / 2),
//!   two decimals; days outstanding = days in the month × average receivable ÷ net sales,
//!   whole days; both rounded half away from zero, and absent unless the average
//!   receivable (and, for days, net sales) is positive. No currency is converted: one row per currency.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};

use crate::money::{div_round_half_away, Currency};
use crate::records::{Component, LineKind, TransactionClass};

/// A calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: i32,
    pub month: u32,
}

impl YearMonth {
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth { year: date.year(), month: date.month() }
    }

    pub fn next(self) -> YearMonth {
        if self.month == 12 {
            YearMonth { year: self.year + 1, month: 1 }
        } else {
            YearMonth { year: self.year, month: self.month + 1 }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("a day before")
    }

    pub fn days(self) -> i64 {
        i64::from(self.last_day().day())
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Where a movement goes in the roll-forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    SalesPrincipal,
    /// Shipping and gift wrap charged to buyers.
    SalesShipping,
    /// Tax charged to buyers, and the marketplace's withholding of it (facilitator tax).
    SalesTax,
    Promotions,
    /// Refunds and chargebacks of principal, shipping, tax and promotions.
    Refunds,
    FeeCommission,
    FeeFulfilment,
    FeeRefundCommission,
    /// Other transaction fees and service fees (subscription, storage, advertising …).
    FeeOther,
    /// Reserve held back (−) and released (+).
    Reserve,
    /// Adjustments, reimbursements, carry-overs and anything else.
    OtherAdjustments,
    /// An inconsistent settlement's total − lines, at its transfer.
    SettlementDifference,
}

/// The four groups of the roll-forward's contract columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Sales,
    Refunds,
    Fees,
    Other,
}

impl Bucket {
    pub const ALL: [Bucket; 12] = [
        Bucket::SalesPrincipal,
        Bucket::SalesShipping,
        Bucket::SalesTax,
        Bucket::Promotions,
        Bucket::Refunds,
        Bucket::FeeCommission,
        Bucket::FeeFulfilment,
        Bucket::FeeRefundCommission,
        Bucket::FeeOther,
        Bucket::Reserve,
        Bucket::OtherAdjustments,
        Bucket::SettlementDifference,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bucket::SalesPrincipal => "sales_principal",
            Bucket::SalesShipping => "sales_shipping",
            Bucket::SalesTax => "sales_tax",
            Bucket::Promotions => "promotions",
            Bucket::Refunds => "refunds",
            Bucket::FeeCommission => "fees_commission",
            Bucket::FeeFulfilment => "fees_fulfilment",
            Bucket::FeeRefundCommission => "fees_refund_commission",
            Bucket::FeeOther => "fees_other",
            Bucket::Reserve => "reserve",
            Bucket::OtherAdjustments => "other_adjustments",
            Bucket::SettlementDifference => "settlement_difference",
        }
    }

    pub fn group(self) -> Group {
        match self {
            Bucket::SalesPrincipal | Bucket::SalesShipping | Bucket::SalesTax | Bucket::Promotions => Group::Sales,
            Bucket::Refunds => Group::Refunds,
            Bucket::FeeCommission | Bucket::FeeFulfilment | Bucket::FeeRefundCommission | Bucket::FeeOther => {
                Group::Fees
            }
            Bucket::Reserve | Bucket::OtherAdjustments | Bucket::SettlementDifference => Group::Other,
        }
    }

    fn index(self) -> usize {
        Bucket::ALL.iter().position(|b| *b == self).expect("listed")
    }

    /// The bucket of a settlement line, from its classification.
    pub fn of_line(class: TransactionClass, component: Component, kind: LineKind) -> Bucket {
        match (kind, component, class) {
            (LineKind::Reserve, _, _) => Bucket::Reserve,
            (LineKind::CarryOver, _, _) => Bucket::OtherAdjustments,
            (_, Component::Commission, _) => Bucket::FeeCommission,
            (_, Component::FbaPerUnitFee, _) => Bucket::FeeFulfilment,
            (_, Component::RefundCommission, _) => Bucket::FeeRefundCommission,
            (_, Component::OtherFee, _) | (_, _, TransactionClass::ServiceFee) => Bucket::FeeOther,
            (_, Component::Principal, TransactionClass::Order) => Bucket::SalesPrincipal,
            (_, Component::Shipping | Component::GiftWrap, TransactionClass::Order) => Bucket::SalesShipping,
            (_, Component::Tax | Component::FacilitatorTax, TransactionClass::Order) => Bucket::SalesTax,
            (_, Component::Promotion, TransactionClass::Order) => Bucket::Promotions,
            (
                _,
                Component::Principal
                | Component::Shipping
                | Component::GiftWrap
                | Component::Tax
                | Component::FacilitatorTax
                | Component::Promotion,
                TransactionClass::Refund | TransactionClass::Chargeback,
            ) => Bucket::Refunds,
            _ => Bucket::OtherAdjustments,
        }
    }
}

/// Lines of one settlement posted on one day into one bucket, summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting {
    pub settlement_id: u64,
    pub date: NaiveDate,
    pub bucket: Bucket,
    pub amount_minor: i64,
}

/// What the roll-forward needs of a settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementClose {
    pub settlement_id: u64,
    pub store: String,
    pub currency: Currency,
    pub total_minor: i64,
    /// Its deposit date, or (no deposit) its end date; none while it is open (known from a
    /// transaction report without its transfer yet): it stays in the receivable.
    pub transfer_date: Option<NaiveDate>,
}

/// One row of the roll-forward: a store, currency and month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollForwardRow {
    pub store: String,
    pub currency: Currency,
    pub month: YearMonth,
    pub opening_minor: i64,
    /// Movements by [`Bucket::ALL`] order.
    pub buckets_minor: [i64; 12],
    pub transfers_minor: i64,
    pub closing_minor: i64,
    /// Settlements transferred in the month.
    pub settlements_transferred: u32,
}

impl RollForwardRow {
    pub fn bucket(&self, bucket: Bucket) -> i64 {
        self.buckets_minor[bucket.index()]
    }

    pub fn group(&self, group: Group) -> i64 {
        Bucket::ALL.iter().filter(|b| b.group() == group).map(|b| self.bucket(*b)).sum()
    }

    /// Sales + refunds.
    pub fn net_sales_minor(&self) -> i64 {
        self.group(Group::Sales) + self.group(Group::Refunds)
    }

    /// Net sales ÷ average receivable, 2 decimals (e.g. `1.87`).
    pub fn turnover(&self) -> Option<String> {
        let average_twice = self.opening_minor as i128 + self.closing_minor as i128;
        if average_twice <= 0 {
            return None;
        }
        let hundredths = div_round_half_away(self.net_sales_minor() as i128 * 200, average_twice);
        Some(format!(
            "{}{}.{:02}",
            if hundredths < 0 { "-" } else { "" },
            hundredths.abs() / 100,
            hundredths.abs() % 100
        ))
    }

    /// Days in the month × average receivable ÷ net sales, whole days.
    pub fn days_outstanding(&self) -> Option<i64> {
        let net = self.net_sales_minor() as i128;
        if net <= 0 {
            return None;
        }
        let average_twice = self.opening_minor as i128 + self.closing_minor as i128;
        if average_twice <= 0 {
            return None;
        }
        Some(div_round_half_away(self.month.days() as i128 * average_twice, 2 * net) as i64)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RollForwardError {
    #[error("a posting names settlement {0}, which is not given")]
    UnknownSettlement(u64),
    #[error("store {store}, {currency}, {month}: closing {closing} is not the sum of posted, untransferred lines {untransferred}")]
    Untied { store: String, currency: String, month: YearMonth, closing: i64, untransferred: i64 },
}

/// The roll-forward of every store and currency, month by month from its first posting or
/// transfer through `through` (at least). Pure; checks its invariants.
pub fn roll_forward(
    settlements: &[SettlementClose],
    postings: &[Posting],
    through: YearMonth,
) -> Result<Vec<RollForwardRow>, RollForwardError> {
    let by_id: HashMap<u64, &SettlementClose> = settlements.iter().map(|s| (s.settlement_id, s)).collect();
    // Per (store, currency): month → (buckets, transfers, count); and per settlement its
    // postings by month (for the untransferred check).
    type Key = (String, Currency);
    /// Movements by bucket, transfers, settlements transferred.
    type Month = ([i64; 12], i64, u32);
    let mut months: BTreeMap<Key, BTreeMap<YearMonth, Month>> = BTreeMap::new();
    let mut posted: HashMap<u64, BTreeMap<YearMonth, i64>> = HashMap::new();
    let mut lines_sum: HashMap<u64, i64> = HashMap::new();
    for posting in postings {
        let settlement =
            by_id.get(&posting.settlement_id).ok_or(RollForwardError::UnknownSettlement(posting.settlement_id))?;
        let month = YearMonth::of(posting.date);
        let entry = months
            .entry((settlement.store.clone(), settlement.currency))
            .or_default()
            .entry(month)
            .or_insert(([0; 12], 0, 0));
        entry.0[posting.bucket.index()] += posting.amount_minor;
        *posted.entry(posting.settlement_id).or_default().entry(month).or_default() += posting.amount_minor;
        *lines_sum.entry(posting.settlement_id).or_default() += posting.amount_minor;
    }
    for settlement in settlements {
        let Some(transfer_date) = settlement.transfer_date else {
            // Open: make sure its store and currency has rows, nothing is transferred.
            months.entry((settlement.store.clone(), settlement.currency)).or_default();
            continue;
        };
        let month = YearMonth::of(transfer_date);
        let difference = settlement.total_minor - lines_sum.get(&settlement.settlement_id).copied().unwrap_or(0);
        let entry = months
            .entry((settlement.store.clone(), settlement.currency))
            .or_default()
            .entry(month)
            .or_insert(([0; 12], 0, 0));
        entry.0[Bucket::SettlementDifference.index()] += difference;
        entry.1 += settlement.total_minor;
        entry.2 += 1;
        if difference != 0 {
            *posted.entry(settlement.settlement_id).or_default().entry(month).or_default() += difference;
        }
    }
    let mut rows = Vec::new();
    for ((store, currency), by_month) in &months {
        let Some(&first) = by_month.keys().next() else { continue };
        let last = (*by_month.keys().next_back().expect("a key has months")).max(through);
        let mut month = first;
        let mut opening = 0i64;
        loop {
            let (buckets, transfers, count) = by_month.get(&month).copied().unwrap_or(([0; 12], 0, 0));
            let closing = opening + buckets.iter().sum::<i64>() - transfers;
            // Independently: what is posted by the end of the month and not yet transferred.
            let end = month.last_day();
            let untransferred: i64 = settlements
                .iter()
                .filter(|s| s.store == *store && s.currency == *currency && s.transfer_date.is_none_or(|d| d > end))
                .map(|s| {
                    posted.get(&s.settlement_id).map_or(0, |m| m.range(..=month).map(|(_, amount)| amount).sum::<i64>())
                })
                .sum();
            if closing != untransferred {
                return Err(RollForwardError::Untied {
                    store: store.clone(),
                    currency: currency.code().to_owned(),
                    month,
                    closing,
                    untransferred,
                });
            }
            rows.push(RollForwardRow {
                store: store.clone(),
                currency: *currency,
                month,
                opening_minor: opening,
                buckets_minor: buckets,
                transfers_minor: transfers,
                closing_minor: closing,
                settlements_transferred: count,
            });
            opening = closing;
            if month == last {
                break;
            }
            month = month.next();
        }
    }
    Ok(rows)
}

/// Aging buckets in days: 0–14, 15–30, 31–60, 61–90, over 90.
pub const AGING_BUCKETS: [(&str, i64, i64); 5] =
    [("0-14", 0, 14), ("15-30", 15, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("over_90", 91, i64::MAX)];

/// The index in [`AGING_BUCKETS`] of an age in days (a negative age counts as 0).
pub fn aging_bucket(days: i64) -> usize {
    let days = days.max(0);
    AGING_BUCKETS.iter().position(|(_, low, high)| (*low..=*high).contains(&days)).expect("buckets cover every age")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn close(id: u64, total_minor: i64, transfer: NaiveDate) -> SettlementClose {
        SettlementClose {
            settlement_id: id,
            store: "s".into(),
            currency: Currency::USD,
            total_minor,
            transfer_date: Some(transfer),
        }
    }

    fn post(id: u64, date: NaiveDate, bucket: Bucket, amount_minor: i64) -> Posting {
        Posting { settlement_id: id, date, bucket, amount_minor }
    }

    #[test]
    fn a_settlement_straddling_a_month_end_is_split_by_posting_date_and_transferred_once() {
        // Settlement 1: 25 Sep – 9 Oct, paid 11 Oct. Settlement 2: 9 – 23 Oct, paid 25 Oct.
        // Settlement 3: 23 Oct – 6 Nov, paid 8 Nov; its lines sum to 1.00 less than its
        // total (an inconsistent file).
        let settlements = [close(1, 9_000, day(10, 11)), close(2, 5_000, day(10, 25)), close(3, 3_100, day(11, 8))];
        let postings = [
            post(1, day(9, 28), Bucket::SalesPrincipal, 6_000),
            post(1, day(9, 28), Bucket::FeeCommission, -900),
            post(1, day(10, 2), Bucket::SalesPrincipal, 4_000),
            post(1, day(10, 3), Bucket::Refunds, -100),
            post(2, day(10, 15), Bucket::SalesPrincipal, 5_500),
            post(2, day(10, 16), Bucket::Reserve, -500),
            post(3, day(10, 30), Bucket::SalesTax, 1_000),
            post(3, day(11, 2), Bucket::SalesShipping, 2_000),
        ];
        let rows = roll_forward(&settlements, &postings, YearMonth { year: 2026, month: 12 }).unwrap();
        let got: Vec<(String, [i64; 7])> = rows
            .iter()
            .map(|r| {
                (
                    r.month.to_string(),
                    [
                        r.opening_minor,
                        r.group(Group::Sales),
                        r.group(Group::Refunds),
                        r.group(Group::Fees),
                        r.group(Group::Other),
                        r.transfers_minor,
                        r.closing_minor,
                    ],
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("2026-09".into(), [0, 6_000, 0, -900, 0, 0, 5_100]),
                ("2026-10".into(), [5_100, 10_500, -100, 0, -500, 14_000, 1_000]),
                ("2026-11".into(), [1_000, 2_000, 0, 0, 100, 3_100, 0]),
                ("2026-12".into(), [0, 0, 0, 0, 0, 0, 0]),
            ]
        );
        assert_eq!(rows[2].bucket(Bucket::SettlementDifference), 100);
        assert_eq!(rows[1].settlements_transferred, 2);
        // Net sales 10 400 over an average receivable of 3 050: 3.41 times, 9 days.
        assert_eq!(rows[1].turnover().as_deref(), Some("3.41"));
        assert_eq!(rows[1].days_outstanding(), Some(9));
        assert_eq!(rows[3].turnover(), None);
    }

    #[test]
    fn a_posting_of_an_unknown_settlement_is_an_error() {
        let error =
            roll_forward(&[], &[post(9, day(1, 1), Bucket::SalesPrincipal, 1)], YearMonth { year: 2026, month: 1 });
        assert_eq!(error, Err(RollForwardError::UnknownSettlement(9)));
    }

    #[test]
    fn aging_buckets_cover_every_age_at_their_bounds() {
        let got: Vec<usize> = [-3, 0, 14, 15, 30, 31, 60, 61, 90, 91, 10_000].into_iter().map(aging_bucket).collect();
        assert_eq!(got, [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }

    proptest! {
        /// Random months of settlements: the invariants hold, checked here from the rows
        /// alone (not by the function's own check).
        #[test]
        fn the_roll_forward_ties_over_random_months(
            specs in proptest::collection::vec(
                (0u32..300, 1u32..40, -20_000i64..20_000, proptest::collection::vec((0u32..14, 0usize..12, -50_000i64..90_000), 0..12)),
                1..25,
            )
        ) {
            let start = day(1, 1);
            let mut settlements = Vec::new();
            let mut postings = Vec::new();
            for (index, (offset, lag, difference, lines)) in specs.iter().enumerate() {
                let id = index as u64 + 1;
                let period_start = start + chrono::Days::new(u64::from(*offset));
                let mut sum = 0;
                for (day_in, bucket, amount) in lines {
                    postings.push(post(id, period_start + chrono::Days::new(u64::from(*day_in)), Bucket::ALL[*bucket], *amount));
                    sum += amount;
                }
                let transfer = period_start + chrono::Days::new(u64::from(14 + lag));
                let mut settlement = close(id, sum + if index % 3 == 0 { *difference } else { 0 }, transfer);
                if index % 5 == 4 && index % 3 != 0 {
                    settlement.transfer_date = None; // open: known from a report, no transfer yet
                }
                settlements.push(settlement);
            }
            let open: i64 = settlements.iter().filter(|s| s.transfer_date.is_none()).map(|s| s.total_minor).sum();
            let rows = roll_forward(&settlements, &postings, YearMonth { year: 2027, month: 3 }).unwrap();
            for pair in rows.windows(2) {
                prop_assert_eq!(pair[0].closing_minor, pair[1].opening_minor);
                prop_assert_eq!(pair[0].month.next(), pair[1].month);
            }
            for row in &rows {
                let moved: i64 = row.buckets_minor.iter().sum();
                prop_assert_eq!(row.closing_minor, row.opening_minor + moved - row.transfers_minor);
            }
            // Everything posted is transferred by the last month but the open settlements:
            // the receivable is theirs, and the transfers are the other settlements' totals.
            let total: i64 = settlements.iter().map(|s| s.total_minor).sum();
            let closing: i64 = rows.iter().filter(|r| r.month == rows.last().unwrap().month).map(|r| r.closing_minor).sum();
            prop_assert_eq!(closing, open);
            prop_assert_eq!(rows.iter().map(|r| r.transfers_minor).sum::<i64>(), total - open);
            let moved: i64 = rows.iter().map(|r| r.buckets_minor.iter().sum::<i64>()).sum();
            prop_assert_eq!(moved, total);
        }
    }
}
