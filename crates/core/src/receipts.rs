//! Payout ↔ receipt reconciliation: is each settlement's payout in the bank (or payment
//! tool), in full and on time?
//!
//! # Definitions
//! * An **expected payout** is a settlement with a positive total: that amount, in its
//!   currency, on its deposit date. A settlement with a total of zero or less expects none.
//! * A **receipt** is a credit entry (amount > 0) of an imported statement.
//! * The rules ([`crate::matching`]) pair payouts with receipts; then each payout is:
//!   `received` (matched, full amount, booked within `on_time_days` of the deposit date),
//!   `received_short` (matched, less than expected), `received_late` (matched, full amount,
//!   booked later than that), `received_converted` (matched through a stated original
//!   amount in the payout currency; the implied rate is recorded, and any difference is an
//!   FX difference, not a shortfall), `missing` (unmatched, and the as-of date is past the
//!   deposit date plus `missing_after_days`), or `pending` (unmatched, not yet due).
//! * A receipt no payout matched is an **unexpected receipt** when its text names a payer
//!   of marketplace money (`payer_pattern`, e.g. Amazon, LianLian, Payoneer); other
//!   credits (rent, refunds from suppliers) are not payouts and are left alone.
//! * A **withdrawal** is a debit of an imported statement whose text matches
//!   `withdrawal_pattern` (e.g. `Withdrawal to bank account …`, `提现`): money a payment tool
//!   sends to a bank. Withdrawals are matched first, by their own rules, against credits of
//!   the *other* accounts, and classified like payouts (received, short — intermediary
//!   banks deduct charges —, late, converted, missing, pending). A bank credit that
//!   received a withdrawal is neither offered to a payout nor an unexpected receipt. An
//!   unmatched withdrawal is `missing` only when another imported account in its currency
//!   has entries up to its due date (otherwise nothing shows where it went, and it stays
//!   `pending`).

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::matching::{run, Item, Match, MatchResult, Rule};
use crate::money::{Currency, Money};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payout {
    pub settlement_id: u64,
    pub store: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub deposit_date: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The store's id of the statement entry.
    pub id: i64,
    pub account: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub booking_date: NaiveDate,
    /// Everything a reference test may look in: reference, counterparty, description.
    pub text: String,
    pub original: Option<Money>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ReceiptStatus {
    Received = 0,
    ReceivedShort = 1,
    ReceivedLate = 2,
    ReceivedConverted = 3,
    Missing = 4,
    Pending = 5,
    UnexpectedReceipt = 6,
}

impl ReceiptStatus {
    pub const ALL: [ReceiptStatus; 7] = [
        ReceiptStatus::Received,
        ReceiptStatus::ReceivedShort,
        ReceiptStatus::ReceivedLate,
        ReceiptStatus::ReceivedConverted,
        ReceiptStatus::Missing,
        ReceiptStatus::Pending,
        ReceiptStatus::UnexpectedReceipt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReceiptStatus::Received => "received",
            ReceiptStatus::ReceivedShort => "received_short",
            ReceiptStatus::ReceivedLate => "received_late",
            ReceiptStatus::ReceivedConverted => "received_converted",
            ReceiptStatus::Missing => "missing",
            ReceiptStatus::Pending => "pending",
            ReceiptStatus::UnexpectedReceipt => "unexpected_receipt",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            ReceiptStatus::Received => "已到账",
            ReceiptStatus::ReceivedShort => "到账不足",
            ReceiptStatus::ReceivedLate => "延迟到账",
            ReceiptStatus::ReceivedConverted => "已到账（换汇）",
            ReceiptStatus::Missing => "未到账",
            ReceiptStatus::Pending => "待到账",
            ReceiptStatus::UnexpectedReceipt => "无对应结算的到账",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<ReceiptStatus> {
        ReceiptStatus::ALL.get(code as usize).copied()
    }

    pub fn from_name(name: &str) -> Option<ReceiptStatus> {
        ReceiptStatus::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether finance has to look at it.
    pub fn is_difference(self) -> bool {
        !matches!(self, ReceiptStatus::Received | ReceiptStatus::ReceivedConverted | ReceiptStatus::Pending)
    }
}

/// A reference exchange rate (e.g. a central bank's daily rate): one `from` is `rate_micro`
/// millionths of `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceRate {
    pub date: NaiveDate,
    pub from: Currency,
    pub to: Currency,
    pub rate_micro: i64,
}

/// How far before a receipt's booking date a reference rate may be (weekends, holidays).
pub const REFERENCE_RATE_AGE_DAYS_MAX: i64 = 7;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptConfig {
    pub rules: Vec<Rule>,
    /// Rules for withdrawals (payment tool → bank); `account` always differs between sides.
    pub withdrawal_rules: Vec<Rule>,
    /// Case-insensitive pattern naming a debit that is a withdrawal to another account
    /// (`withdraw|提现`); empty: no withdrawals are tracked.
    pub withdrawal_pattern: String,
    /// Reference rates to check conversions against; a conversion without one is marked so.
    pub rates: Vec<ReferenceRate>,
    /// How far an implied rate may be from the reference rate, in basis points of it.
    pub rate_band_basis_points: u32,
    pub on_time_days: i64,
    pub missing_after_days: i64,
    /// Case-insensitive regular expression naming payers of marketplace money.
    pub payer_pattern: String,
    pub as_of: NaiveDate,
}

/// One line of the result: a payout (with its receipts, if any) or an unexpected receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptResult {
    pub status: ReceiptStatus,
    /// Settlements of the payout (several when one transfer paid several).
    pub settlement_ids: Vec<u64>,
    /// The withdrawal (a payment-tool debit to a bank) this result is about, when it is
    /// about one instead of a payout.
    pub withdrawal_ids: Vec<i64>,
    pub receipt_ids: Vec<i64>,
    pub expected: Option<Money>,
    pub received: Option<Money>,
    pub rule_id: Option<String>,
    pub score: Option<u32>,
    /// Received − expected in the payout currency (for a conversion: the stated
    /// original amount − expected, which is the FX difference).
    pub difference_minor: Option<i64>,
    pub date_difference_days: Option<i64>,
    /// Implied rate of a conversion: received / expected, as a decimal string with 6
    /// places (rounded half away from zero), e.g. `7.123400`.
    pub implied_rate: Option<String>,
    /// The reference rate the conversion was checked against (6 decimals), if one was found.
    pub reference_rate: Option<String>,
    /// Whether the implied rate is within the band around the reference rate.
    pub rate_within_band: Option<bool>,
    /// Received − expected converted at the reference rate, in the received currency
    /// (rounded half away from zero): the FX difference, reported as such.
    pub fx_difference_minor: Option<i64>,
}

impl ReceiptResult {
    fn empty(status: ReceiptStatus) -> ReceiptResult {
        ReceiptResult {
            status,
            settlement_ids: Vec::new(),
            withdrawal_ids: Vec::new(),
            receipt_ids: Vec::new(),
            expected: None,
            received: None,
            rule_id: None,
            score: None,
            difference_minor: None,
            date_difference_days: None,
            implied_rate: None,
            reference_rate: None,
            rate_within_band: None,
            fx_difference_minor: None,
        }
    }

    /// What the result is about.
    pub fn kind(&self) -> ResultKind {
        if !self.withdrawal_ids.is_empty() {
            ResultKind::Withdrawal
        } else if !self.settlement_ids.is_empty() {
            ResultKind::Payout
        } else {
            ResultKind::Receipt
        }
    }
}

/// What a result row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultKind {
    /// An expected payout (a settlement's deposit).
    Payout,
    /// A withdrawal from a payment tool to another account (a bank).
    Withdrawal,
    /// A receipt nothing expected (an unexpected receipt).
    Receipt,
}

impl ResultKind {
    pub fn name(self) -> &'static str {
        match self {
            ResultKind::Payout => "payout",
            ResultKind::Withdrawal => "withdrawal",
            ResultKind::Receipt => "receipt",
        }
    }
}

fn payout_items(payouts: &[&Payout]) -> Vec<Item> {
    payouts
        .iter()
        .map(|p| Item {
            id: p.settlement_id as i64,
            amount_minor: p.amount_minor,
            currency: p.currency,
            date: p.deposit_date,
            text: String::new(),
            reference: p.settlement_id.to_string(),
            keys: vec![("deposit_date".into(), p.deposit_date.to_string()), ("store".into(), p.store.clone())],
            original: None,
        })
        .collect()
}

fn receipt_items<'a>(receipts: impl Iterator<Item = &'a Receipt>) -> Vec<Item> {
    receipts
        .map(|r| Item {
            id: r.id,
            amount_minor: r.amount_minor,
            currency: r.currency,
            date: r.booking_date,
            text: r.text.clone(),
            reference: String::new(),
            keys: vec![("account".into(), r.account.clone())],
            original: r.original,
        })
        .collect()
}

/// Rate `received / expected` in millionths, rounded half away from zero.
fn implied_rate_micro(received: Money, expected: Money) -> Option<i64> {
    if expected.amount_minor == 0 {
        return None;
    }
    // Both in minor units: scale by the exponents' difference.
    let numerator = received.amount_minor as i128 * 1_000_000 * 10i128.pow(expected.currency.exponent() as u32);
    let denominator = expected.amount_minor as i128 * 10i128.pow(received.currency.exponent() as u32);
    let (numerator, denominator) = if denominator < 0 { (-numerator, -denominator) } else { (numerator, denominator) };
    Some(crate::money::div_round_half_away(numerator, denominator) as i64)
}

fn rate_text(rate_micro: i64) -> String {
    format!("{}.{:06}", rate_micro / 1_000_000, (rate_micro % 1_000_000).abs())
}

fn implied_rate(received: Money, expected: Money) -> Option<String> {
    implied_rate_micro(received, expected).map(rate_text)
}

/// The latest reference rate for the pair on or before `date` (at most
/// [`REFERENCE_RATE_AGE_DAYS_MAX`] days before).
fn reference_rate(rates: &[ReferenceRate], from: Currency, to: Currency, date: NaiveDate) -> Option<i64> {
    rates
        .iter()
        .filter(|r| {
            r.from == from && r.to == to && r.date <= date && (date - r.date).num_days() <= REFERENCE_RATE_AGE_DAYS_MAX
        })
        .max_by_key(|r| r.date)
        .map(|r| r.rate_micro)
}

/// Which pass a result belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    Payout,
    Withdrawal,
}

/// What one left record of a pass expects to find.
struct Expected {
    currency: Currency,
    amount_minor: i64,
    date: NaiveDate,
}

/// Withdrawals: debits whose text matches `withdrawal_pattern`, as positive amounts.
fn withdrawal_items(withdrawals: &[&Receipt]) -> Vec<Item> {
    withdrawals
        .iter()
        .map(|w| Item {
            id: w.id,
            amount_minor: -w.amount_minor,
            currency: w.currency,
            date: w.booking_date,
            text: w.text.clone(),
            reference: String::new(),
            keys: vec![("account".into(), w.account.clone())],
            original: None,
        })
        .collect()
}

/// The debits of `entries` that are withdrawals to another account.
pub fn withdrawals<'a>(entries: &'a [Receipt], withdrawal_pattern: &str) -> Vec<&'a Receipt> {
    let Ok(pattern) = regex::RegexBuilder::new(withdrawal_pattern).case_insensitive(true).build() else {
        return Vec::new();
    };
    if withdrawal_pattern.is_empty() {
        return Vec::new();
    }
    entries.iter().filter(|e| e.amount_minor < 0 && pattern.is_match(&e.text)).collect()
}

/// Classifies every expected payout, every withdrawal and every unexpected receipt. Pure.
///
/// `entries` are statement entries, credits and debits: credits are receipts; debits whose
/// text matches `withdrawal_pattern` are withdrawals to another account. Withdrawals are
/// matched first (by `withdrawal_rules`, against credits of *other* accounts), so the
/// bank credit of a withdrawal is not taken for a payout or reported as unexpected; then
/// payouts are matched (by `rules`) against the credits left.
pub fn reconcile_receipts(payouts: &[Payout], entries: &[Receipt], config: &ReceiptConfig) -> Vec<ReceiptResult> {
    let payouts: Vec<&Payout> = payouts.iter().filter(|p| p.amount_minor > 0).collect();
    let credits: Vec<&Receipt> = entries.iter().filter(|r| r.amount_minor > 0).collect();
    let receipt_index: HashMap<i64, &Receipt> = entries.iter().map(|r| (r.id, r)).collect();
    let mut results = Vec::new();

    // Pass 1: withdrawals → credits of other accounts.
    let withdrawals = withdrawals(entries, &config.withdrawal_pattern);
    let mut taken: std::collections::HashSet<i64> = std::collections::HashSet::new();
    if !withdrawals.is_empty() {
        let rules: Vec<Rule> = config
            .withdrawal_rules
            .iter()
            .cloned()
            .map(|mut rule| {
                if !rule.distinct_keys.iter().any(|k| k == "account") {
                    rule.distinct_keys.push("account".into());
                }
                rule
            })
            .collect();
        let matched = run(&rules, &withdrawal_items(&withdrawals), &receipt_items(credits.iter().copied()));
        // Where a withdrawal could have been seen: the latest entry date of each other
        // account, per currency.
        let mut seen_until: HashMap<(&str, Currency), NaiveDate> = HashMap::new();
        for entry in entries {
            let day = seen_until.entry((entry.account.as_str(), entry.currency)).or_insert(entry.booking_date);
            *day = (*day).max(entry.booking_date);
        }
        let expected: HashMap<i64, Expected> = withdrawals
            .iter()
            .map(|w| (w.id, Expected { currency: w.currency, amount_minor: -w.amount_minor, date: w.booking_date }))
            .collect();
        let covered = |id: i64, due: NaiveDate| {
            let w = receipt_index[&id];
            seen_until
                .iter()
                .any(|((account, currency), until)| *account != w.account && *currency == w.currency && *until >= due)
        };
        for m in &matched.matches {
            taken.extend(m.right.iter().copied());
        }
        classify(Pass::Withdrawal, &matched, &expected, &receipt_index, config, &covered, &mut results);
    }

    // Pass 2: payouts → the credits no withdrawal took.
    let free = credits.iter().copied().filter(|r| !taken.contains(&r.id));
    let left = payout_items(&payouts);
    let matched: MatchResult = run(&config.rules, &left, &receipt_items(free));
    let expected: HashMap<i64, Expected> = payouts
        .iter()
        .map(|p| {
            (
                p.settlement_id as i64,
                Expected { currency: p.currency, amount_minor: p.amount_minor, date: p.deposit_date },
            )
        })
        .collect();
    classify(Pass::Payout, &matched, &expected, &receipt_index, config, &|_, _| true, &mut results);

    let payer = regex::RegexBuilder::new(&config.payer_pattern).case_insensitive(true).build().ok();
    for id in &matched.unmatched_right {
        let receipt = receipt_index[id];
        if payer.as_ref().is_some_and(|p| p.is_match(&receipt.text)) {
            results.push(ReceiptResult {
                status: ReceiptStatus::UnexpectedReceipt,
                receipt_ids: vec![receipt.id],
                received: Some(Money::new(receipt.amount_minor, receipt.currency)),
                ..ReceiptResult::empty(ReceiptStatus::UnexpectedReceipt)
            });
        }
    }
    results.sort_by(|a, b| {
        (!a.withdrawal_ids.is_empty(), &a.settlement_ids, &a.withdrawal_ids, &a.receipt_ids).cmp(&(
            !b.withdrawal_ids.is_empty(),
            &b.settlement_ids,
            &b.withdrawal_ids,
            &b.receipt_ids,
        ))
    });
    results
}

/// Turns one pass's matches and unmatched left records into results.
/// `covered(id, due)`: whether the statements imported could show the left record's money
/// by `due` (an unmatched record not covered stays pending: nothing says it is missing).
fn classify(
    pass: Pass,
    matched: &MatchResult,
    expected: &HashMap<i64, Expected>,
    receipts: &HashMap<i64, &Receipt>,
    config: &ReceiptConfig,
    covered: &dyn Fn(i64, NaiveDate) -> bool,
    results: &mut Vec<ReceiptResult>,
) {
    let left_ids = |ids: &[i64]| -> (Vec<u64>, Vec<i64>) {
        match pass {
            Pass::Payout => (ids.iter().map(|id| *id as u64).collect(), Vec::new()),
            Pass::Withdrawal => (Vec::new(), ids.to_vec()),
        }
    };
    for Match { rule_id, left, right, score, evidence } in &matched.matches {
        let first = &expected[&left[0]];
        let expected_money = Money::new(left.iter().map(|id| expected[id].amount_minor).sum(), first.currency);
        let matched_receipts: Vec<&Receipt> = right.iter().map(|id| receipts[id]).collect();
        let received = Money::new(matched_receipts.iter().map(|r| r.amount_minor).sum(), matched_receipts[0].currency);
        let status = if evidence.converted {
            ReceiptStatus::ReceivedConverted
        } else if evidence.amount_difference_minor < 0 {
            ReceiptStatus::ReceivedShort
        } else if evidence.date_difference_days > config.on_time_days {
            ReceiptStatus::ReceivedLate
        } else {
            ReceiptStatus::Received
        };
        let (mut reference, mut within, mut fx_difference) = (None, None, None);
        if evidence.converted {
            let booked = matched_receipts.iter().map(|r| r.booking_date).max().expect("a match has receipts");
            if let Some(rate) = reference_rate(&config.rates, expected_money.currency, received.currency, booked) {
                reference = Some(rate_text(rate));
                let implied = implied_rate_micro(received, expected_money).unwrap_or(0);
                let band =
                    crate::money::div_round_half_away(rate as i128 * config.rate_band_basis_points as i128, 10_000);
                within = Some(((implied - rate) as i128).abs() <= band);
                // expected × rate, in received minor units.
                let at_reference = crate::money::div_round_half_away(
                    expected_money.amount_minor as i128
                        * rate as i128
                        * 10i128.pow(received.currency.exponent() as u32),
                    1_000_000 * 10i128.pow(expected_money.currency.exponent() as u32),
                ) as i64;
                fx_difference = Some(received.amount_minor - at_reference);
            }
        }
        let (settlement_ids, withdrawal_ids) = left_ids(left);
        results.push(ReceiptResult {
            reference_rate: reference,
            rate_within_band: within,
            fx_difference_minor: fx_difference,
            status,
            settlement_ids,
            withdrawal_ids,
            receipt_ids: right.clone(),
            expected: Some(expected_money),
            received: Some(received),
            rule_id: Some(rule_id.clone()),
            score: Some(*score),
            difference_minor: Some(evidence.amount_difference_minor),
            date_difference_days: Some(evidence.date_difference_days),
            implied_rate: if evidence.converted { implied_rate(received, expected_money) } else { None },
        });
    }
    for id in &matched.unmatched_left {
        let record = &expected[id];
        let due = record.date + chrono::Days::new(config.missing_after_days.max(0) as u64);
        let status =
            if config.as_of > due && covered(*id, due) { ReceiptStatus::Missing } else { ReceiptStatus::Pending };
        let (settlement_ids, withdrawal_ids) = left_ids(std::slice::from_ref(id));
        results.push(ReceiptResult {
            settlement_ids,
            withdrawal_ids,
            expected: Some(Money::new(record.amount_minor, record.currency)),
            ..ReceiptResult::empty(status)
        });
    }
}

/// Money moving through one account: a credit into it or a withdrawal out of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub id: i64,
    pub date: NaiveDate,
    /// Positive, in the account's currency.
    pub amount_minor: i64,
}

/// One share of a credit carried out of its account by a withdrawal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carried {
    pub credit: i64,
    pub withdrawal: i64,
    pub amount_minor: i64,
}

/// Which withdrawal carried each credit out of an account, first in, first out: the
/// account's opening balance leaves first, then credits in (date, id) order; a withdrawal
/// takes from what came in on or before its own date. Fees and other debits are not
/// withdrawals and carry nothing, so the attribution names where a payout went, not a
/// ledger of the account. A credit no withdrawal reached yet is still in the account.
pub fn carried_by_withdrawals(opening_minor: i64, credits: &[Flow], withdrawals: &[Flow]) -> Vec<Carried> {
    let mut credits = credits.to_vec();
    credits.sort_by_key(|c| (c.date, c.id));
    let mut withdrawals = withdrawals.to_vec();
    withdrawals.sort_by_key(|w| (w.date, w.id));
    let mut opening = opening_minor.max(0);
    let mut out = Vec::new();
    let mut next = 0usize;
    let mut left_of_current = credits.first().map_or(0, |c| c.amount_minor);
    for withdrawal in &withdrawals {
        let mut to_carry = withdrawal.amount_minor;
        let from_opening = opening.min(to_carry);
        opening -= from_opening;
        to_carry -= from_opening;
        while to_carry > 0 && next < credits.len() && credits[next].date <= withdrawal.date {
            let share = left_of_current.min(to_carry);
            if share > 0 {
                out.push(Carried { credit: credits[next].id, withdrawal: withdrawal.id, amount_minor: share });
            }
            to_carry -= share;
            left_of_current -= share;
            if left_of_current == 0 {
                next += 1;
                left_of_current = credits.get(next).map_or(0, |c| c.amount_minor);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Cardinality;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn rule(id: &str, priority: i32, tolerance_basis_points: u32, days_after: u32, allow_conversion: bool) -> Rule {
        Rule {
            id: id.into(),
            priority,
            left_filter: Default::default(),
            right_filter: Default::default(),
            keys: vec![],
            distinct_keys: vec![],
            tolerance_minor: vec![],
            tolerance_basis_points,
            days_before: 1,
            days_after,
            business_days: false,
            reference: None,
            cardinality: Cardinality::OneToOne,
            unique_only: true,
            allow_conversion,
        }
    }

    fn config() -> ReceiptConfig {
        ReceiptConfig {
            rules: vec![
                rule("exact", 1, 0, 3, false),
                rule("late", 2, 0, 30, false),
                rule("short", 3, 500, 5, false),
                rule("converted", 4, 100, 5, true),
            ],
            withdrawal_rules: vec![rule("w-exact", 1, 0, 3, false), rule("w-charges", 2, 200, 5, false)],
            withdrawal_pattern: "withdraw|提现".into(),
            on_time_days: 3,
            missing_after_days: 7,
            payer_pattern: "amazon|lianlian".into(),
            as_of: day(31),
            rates: vec![ReferenceRate { date: day(10), from: Currency::USD, to: Currency::CNY, rate_micro: 7_100_000 }],
            rate_band_basis_points: 200,
        }
    }

    fn payout(id: u64, amount_minor: i64, d: u32, currency: Currency) -> Payout {
        Payout { settlement_id: id, store: "s".into(), currency, amount_minor, deposit_date: day(d) }
    }

    fn receipt(id: i64, amount_minor: i64, d: u32, text: &str) -> Receipt {
        Receipt {
            id,
            account: "A".into(),
            currency: Currency::EUR,
            amount_minor,
            booking_date: day(d),
            text: text.into(),
            original: None,
        }
    }

    #[test]
    fn every_status() {
        let payouts = [
            payout(1, 10_000, 2, Currency::EUR),
            payout(2, 20_000, 4, Currency::EUR),
            payout(3, 30_000, 6, Currency::EUR),
            payout(4, 40_000, 8, Currency::EUR),
            payout(5, 50_000, 10, Currency::USD),
            payout(6, 60_000, 28, Currency::EUR),
            payout(7, -5_000, 9, Currency::EUR),
        ];
        let converted = Receipt {
            currency: Currency::CNY,
            amount_minor: 356_170,
            original: Some(Money::new(50_000, Currency::USD)),
            ..receipt(15, 0, 11, "LIANLIAN")
        };
        let receipts = [
            receipt(11, 10_000, 3, "AMAZON 1"),
            receipt(12, 19_500, 5, "AMAZON"),
            receipt(13, 30_000, 20, "AMAZON"),
            converted,
            receipt(16, 777, 12, "AMAZON PAYMENTS"),
            receipt(17, 100_000, 12, "Rent refund"),
            receipt(18, -300, 12, "AMAZON debit"),
        ];
        let results = reconcile_receipts(&payouts, &receipts, &config());
        let got: Vec<(String, Vec<u64>, Vec<i64>)> = results
            .iter()
            .map(|r| (r.status.name().to_owned(), r.settlement_ids.clone(), r.receipt_ids.clone()))
            .collect();
        let want = [
            ("unexpected_receipt", vec![], vec![16]),
            ("received", vec![1], vec![11]),
            ("received_short", vec![2], vec![12]),
            ("received_late", vec![3], vec![13]),
            ("missing", vec![4], vec![]),
            ("received_converted", vec![5], vec![15]),
            ("pending", vec![6], vec![]),
        ];
        let want: Vec<(String, Vec<u64>, Vec<i64>)> =
            want.iter().map(|(s, l, r)| (s.to_string(), l.clone(), r.clone())).collect();
        assert_eq!(got, want);
        let converted = results.iter().find(|r| r.status == ReceiptStatus::ReceivedConverted).unwrap();
        assert_eq!(converted.implied_rate.as_deref(), Some("7.123400"));
        assert_eq!(converted.difference_minor, Some(0), "an FX difference, not a shortfall");
        // Reference 7.10: 500.00 USD is 3550.00 CNY there; 3561.70 arrived (implied 7.1234,
        // 0.33 % above: within a 2 % band).
        assert_eq!(converted.reference_rate.as_deref(), Some("7.100000"));
        assert_eq!(converted.rate_within_band, Some(true));
        assert_eq!(converted.fx_difference_minor, Some(1_170));
        let short = results.iter().find(|r| r.status == ReceiptStatus::ReceivedShort).unwrap();
        assert_eq!(short.difference_minor, Some(-500));
    }

    #[test]
    fn rates_outside_the_band_and_missing_rates_are_marked() {
        let payouts = [payout(5, 50_000, 10, Currency::USD)];
        let receipt = Receipt {
            currency: Currency::CNY,
            amount_minor: 380_000,
            original: Some(Money::new(50_000, Currency::USD)),
            ..receipt(15, 0, 11, "LIANLIAN")
        };
        let result = &reconcile_receipts(&payouts, std::slice::from_ref(&receipt), &config())[0];
        assert_eq!(result.rate_within_band, Some(false), "implied 7.60 is 7 % above 7.10");
        let mut stale = config();
        stale.rates[0].date = day(1);
        let result = &reconcile_receipts(&payouts, &[receipt], &stale)[0];
        assert_eq!(
            (result.reference_rate.clone(), result.rate_within_band),
            (None, None),
            "a 10-day-old rate is not used"
        );
    }

    #[test]
    fn implied_rates_across_exponents() {
        assert_eq!(
            implied_rate(Money::new(15_000, Currency::JPY), Money::new(10_000, Currency::USD)).as_deref(),
            Some("150.000000")
        );
        assert_eq!(
            implied_rate(Money::new(1, Currency::EUR), Money::new(3, Currency::EUR)).as_deref(),
            Some("0.333333")
        );
    }

    fn entry(id: i64, account: &str, amount_minor: i64, d: u32, text: &str) -> Receipt {
        Receipt { account: account.into(), currency: Currency::USD, ..receipt(id, amount_minor, d, text) }
    }

    #[test]
    fn withdrawals_are_matched_to_other_accounts_and_classified() {
        let payouts = [payout(1, 100_000, 2, Currency::USD)];
        let entries = [
            // The payout arrives in the payment tool …
            entry(10, "payoneer", 100_000, 3, "Payment from AMAZON 1"),
            // … and is withdrawn to the bank, which receives it less a 15.00 charge.
            entry(11, "payoneer", -100_000, 5, "Withdrawal to bank account ****4821"),
            entry(20, "bank", 98_500, 7, "PAYONEER INC"),
            // A second withdrawal never arrives; the bank's entries go past its due date.
            entry(12, "payoneer", -5_000, 8, "Withdrawal to bank account ****4821"),
            entry(21, "bank", -1_000, 30, "ACCOUNT FEE"),
            // A third: the same amount comes back into the tool itself, which is not it.
            entry(13, "payoneer", -7_000, 9, "提现"),
            entry(14, "payoneer", 7_000, 9, "Reversal"),
            // A debit that is not a withdrawal is left alone.
            entry(15, "payoneer", -300, 9, "Annual fee"),
        ];
        let results = reconcile_receipts(&payouts, &entries, &config());
        let got: Vec<(&str, &str, Vec<i64>, Vec<i64>)> = results
            .iter()
            .map(|r| (r.kind().name(), r.status.name(), r.withdrawal_ids.clone(), r.receipt_ids.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("payout", "received", vec![], vec![10]),
                ("withdrawal", "received_short", vec![11], vec![20]),
                ("withdrawal", "missing", vec![12], vec![]),
                ("withdrawal", "missing", vec![13], vec![]),
            ]
        );
        assert_eq!(results[1].difference_minor, Some(-1_500));
        assert_eq!(results[1].rule_id.as_deref(), Some("w-charges"));
        // Without the bank's statement nothing shows where the money went: pending.
        let tool_only: Vec<Receipt> = entries.iter().filter(|e| e.account == "payoneer").cloned().collect();
        let results = reconcile_receipts(&payouts, &tool_only, &config());
        assert!(results
            .iter()
            .filter(|r| r.kind() == ResultKind::Withdrawal)
            .all(|r| r.status == ReceiptStatus::Pending));
        // With no withdrawal pattern, the bank credit is just a credit nothing expected.
        let mut none = config();
        none.withdrawal_pattern = String::new();
        none.payer_pattern = "payoneer".into();
        let results = reconcile_receipts(&payouts, &entries, &none);
        assert!(results.iter().all(|r| r.kind() != ResultKind::Withdrawal));
        assert!(results.iter().any(|r| r.status == ReceiptStatus::UnexpectedReceipt && r.receipt_ids == [20]));
    }

    #[test]
    fn a_withdrawal_credit_is_not_offered_to_payouts() {
        // A payout of the same amount as a withdrawal, on the same days: the bank credit is
        // the withdrawal's (matched first), so the payout is missing, not received.
        let payouts = [payout(1, 50_000, 5, Currency::USD)];
        let entries = [
            entry(11, "payoneer", -50_000, 5, "Withdrawal to bank"),
            entry(20, "bank", 50_000, 6, "PAYONEER AMAZON"),
            entry(21, "bank", -10, 28, "FEE"),
        ];
        let results = reconcile_receipts(&payouts, &entries, &config());
        let statuses: Vec<(&str, &str)> = results.iter().map(|r| (r.kind().name(), r.status.name())).collect();
        assert_eq!(statuses, [("payout", "missing"), ("withdrawal", "received")]);
    }

    #[test]
    fn withdrawals_carry_credits_first_in_first_out() {
        let flow = |id: i64, d: u32, amount_minor: i64| Flow { id, date: day(d), amount_minor };
        let credits = [flow(2, 5, 300), flow(1, 3, 100), flow(3, 20, 50)];
        let withdrawals = [flow(10, 6, 350), flow(11, 10, 100), flow(12, 25, 20)];
        let carried = carried_by_withdrawals(40, &credits, &withdrawals);
        let got: Vec<(i64, i64, i64)> = carried.iter().map(|c| (c.credit, c.withdrawal, c.amount_minor)).collect();
        // 40 of opening balance leaves first; credit 1 (day 3) before credit 2 (day 5);
        // withdrawal 11 takes the rest of credit 2 and cannot reach credit 3 (day 20);
        // withdrawal 12 takes 20 of credit 3, the other 30 are still in the account.
        assert_eq!(got, [(1, 10, 100), (2, 10, 210), (2, 11, 90), (3, 12, 20)]);
        assert!(carried_by_withdrawals(0, &credits, &[]).is_empty());
    }
}
