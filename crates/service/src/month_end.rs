//! Month end: the receivables roll-forward per store, currency and calendar month, and the
//! aging of what is shipped but not settled and posted but not transferred.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use tieout_core::receipts::ReceiptStatus;
use tieout_core::receivables::{
    aging_bucket, roll_forward, Bucket, Group, RollForwardError, RollForwardRow, YearMonth, AGING_BUCKETS,
};
use tieout_core::reconcile::Category;
use tieout_core::table::{Cell, Table};
use tieout_store::{Store, StoreError};

use crate::report::utc_date;

/// How many days after which an aging item is an alert, unless `tieout.toml` says
/// otherwise (`[aging] alert_after_days`).
pub const ALERT_AFTER_DAYS_DEFAULT: i64 = 30;

const ROLL_FORWARD_NOTE: &str = "Roll-forward rule: a settlement line counts in the calendar month (UTC) of its posted date; a settlement's transfer is its total, in the month (UTC) of its deposit date (or, with no deposit, of its end date). closing = opening + sales + refunds + fees + other − transfers; refunds and fees are negative. An inconsistent settlement's total − lines is shown as settlement_difference (in other) in its transfer month. Checked on every run: closing = next month's opening = the sum of posted, untransferred lines. Turnover = net sales ÷ average receivable (2 decimals), days outstanding = days in month × average receivable ÷ net sales (whole days), rounded half away from zero. Amounts are exact, in each row's own currency; nothing is converted.";

/// Rows of the roll-forward, every store and currency, through `through` (or the latest
/// month with any activity).
pub fn roll_forward_rows(store: &dyn Store, through: Option<YearMonth>) -> Result<Vec<RollForwardRow>, StoreError> {
    let (settlements, postings) = store.load_roll_forward_input()?;
    let latest = postings
        .iter()
        .map(|p| YearMonth::of(p.date))
        .chain(settlements.iter().filter_map(|s| s.transfer_date.map(YearMonth::of)))
        .max();
    let through = through.or(latest).unwrap_or(YearMonth { year: 1970, month: 1 });
    roll_forward(&settlements, &postings, through).map_err(|error| match error {
        RollForwardError::UnknownSettlement(id) => StoreError::Corrupt(format!("lines of settlement {id} without it")),
        other => StoreError::Corrupt(other.to_string()),
    })
}

/// The roll-forward as a table: one row per store, currency and month. Its first ten
/// columns are a contract (`store, currency, month, opening, sales, refunds, fees, other,
/// transfers, closing`); the detail follows.
pub fn receivables_table(
    store: &dyn Store,
    month: Option<(i32, u32)>,
    only_store: Option<&str>,
) -> Result<Table, StoreError> {
    let month = month.map(|(year, month)| YearMonth { year, month });
    let mut columns =
        vec!["store", "currency", "month", "opening", "sales", "refunds", "fees", "other", "transfers", "closing"];
    columns.extend(Bucket::ALL.iter().map(|b| b.name()));
    columns.extend(["net_sales", "turnover", "days_outstanding", "settlements_transferred"]);
    let mut table = Table::new("Receivables", &columns);
    for row in roll_forward_rows(store, month)? {
        if month.is_some_and(|m| m != row.month) || only_store.is_some_and(|s| s != row.store) {
            continue;
        }
        let money = |minor: i64| Cell::money(minor, row.currency);
        let mut cells = vec![
            Cell::text(row.store.clone()),
            Cell::text(row.currency.code()),
            Cell::text(row.month.to_string()),
            money(row.opening_minor),
            money(row.group(Group::Sales)),
            money(row.group(Group::Refunds)),
            money(row.group(Group::Fees)),
            money(row.group(Group::Other)),
            money(row.transfers_minor),
            money(row.closing_minor),
        ];
        cells.extend(Bucket::ALL.iter().map(|b| money(row.bucket(*b))));
        cells.push(money(row.net_sales_minor()));
        cells.push(row.turnover().map_or(Cell::Empty, Cell::Text));
        cells.push(row.days_outstanding().map_or(Cell::Empty, Cell::Integer));
        cells.push(Cell::Integer(i64::from(row.settlements_transferred)));
        table.push(cells);
    }
    table.notes.push(ROLL_FORWARD_NOTE.to_owned());
    table.notes.push(match (month, only_store) {
        (None, None) => "Filter: none (every store and month).".to_owned(),
        (m, s) => format!(
            "Filter: {}{}.",
            m.map_or(String::new(), |m| format!("month {m}")),
            s.map_or(String::new(), |s| format!("{}store {s}", if m.is_some() { ", " } else { "" }))
        ),
    });
    Ok(table)
}

/// Deferred transactions (held by Amazon, not yet released into a settlement) per store
/// and currency, as the latest transaction report of each store states them: beside the
/// roll-forward, not in it.
pub fn deferred_table(store: &dyn Store, only_store: Option<&str>) -> Result<Table, StoreError> {
    let mut table = Table::new("Deferred", &["store", "currency", "lines", "amount", "first_posted", "last_release"]);
    for row in store.deferred_summary()? {
        if only_store.is_some_and(|s| s != row.store) {
            continue;
        }
        table.push(vec![
            Cell::text(row.store.clone()),
            Cell::text(row.currency.code()),
            Cell::Integer(row.lines),
            Cell::money(row.amount_minor, row.currency),
            Cell::Date(utc_date(row.first_posted_utc)),
            row.last_release_utc.map_or(Cell::Empty, |s| Cell::Date(utc_date(s))),
        ]);
    }
    table.notes.push("Deferred transactions of the latest transaction report imported per store: Amazon holds them (by default until 7 days after delivery); they are not settled, not in any settlement and not in the roll-forward until a report or settlement file shows them released.".to_owned());
    Ok(table)
}

/// Why a settlement is still in the receivable (posted, not transferred) as of a date.
fn not_transferred_reason(
    open: bool,
    deposit: Option<NaiveDate>,
    as_of: NaiveDate,
    receipt: Option<ReceiptStatus>,
) -> Option<&'static str> {
    if open {
        return Some("settlement_open");
    }
    let deposit = deposit?;
    if deposit > as_of {
        return Some("transfer_not_yet_due");
    }
    match receipt {
        Some(ReceiptStatus::Missing) => Some("payout_missing"),
        Some(ReceiptStatus::Pending) => Some("payout_pending_past_expected_date"),
        _ => None,
    }
}

/// The aging report as of `as_of`: a summary per store, marketplace and currency (orders
/// shipped and not settled, settlements posted and not transferred, per age bucket, with
/// the alerts over `alert_after_days`), and the settlements not transferred one by one.
pub fn aging_tables(
    store: &dyn Store,
    as_of: NaiveDate,
    alert_after_days: i64,
    only_store: Option<&str>,
) -> Result<Vec<Table>, StoreError> {
    let mut columns = vec!["store", "marketplace", "currency", "what"];
    let bucket_columns: Vec<String> =
        AGING_BUCKETS.iter().flat_map(|(name, _, _)| [format!("count_{name}"), format!("amount_{name}")]).collect();
    columns.extend(bucket_columns.iter().map(String::as_str));
    columns.extend(["count", "amount", "alert_count", "alert_amount"]);
    let mut summary = Table::new("Aging", &columns);
    // (store, marketplace, currency, what) → per bucket (count, amount), alert (count, amount)
    type Buckets = ([(i64, i64); 5], (i64, i64));
    let mut groups: BTreeMap<(String, String, tieout_core::Currency, &'static str), Buckets> = BTreeMap::new();
    let mut add = |key: (String, String, tieout_core::Currency, &'static str), days: i64, amount: i64| {
        let entry = groups.entry(key).or_insert(([(0, 0); 5], (0, 0)));
        let bucket = &mut entry.0[aging_bucket(days)];
        bucket.0 += 1;
        bucket.1 += amount;
        if days > alert_after_days {
            entry.1 .0 += 1;
            entry.1 .1 += amount;
        }
    };
    for order in store.order_results(None)? {
        if !matches!(order.category, Category::ShippedNotSettled | Category::NotDue)
            || only_store.is_some_and(|s| s != order.store)
        {
            continue;
        }
        let Some(ship) = order.ship_date.filter(|d| *d <= as_of) else { continue };
        let key = (order.store.clone(), order.marketplace.clone(), order.currency, "shipped_not_settled");
        add(key, (as_of - ship).num_days(), order.order_amount_minor.unwrap_or(0));
    }
    let receipts: HashMap<u64, ReceiptStatus> = store
        .receipt_results()?
        .into_iter()
        .flat_map(|r| r.settlements.into_iter().map(move |s| (s.settlement_id, r.status)))
        .collect();
    let marketplaces = store.settlement_marketplaces()?;
    let mut detail = Table::new(
        "Not transferred",
        &[
            "settlement_id",
            "store",
            "marketplace",
            "currency",
            "amount",
            "period_end",
            "expected_transfer",
            "age_days",
            "age_bucket",
            "reason",
            "alert",
        ],
    );
    for settlement in store.settlements()? {
        if (settlement.total_minor <= 0 && !settlement.open) || only_store.is_some_and(|s| s != settlement.store) {
            continue;
        }
        let end = utc_date(settlement.end_utc_seconds);
        if end > as_of {
            continue;
        }
        let deposit = settlement.deposit_utc_seconds.map(utc_date);
        let receipt = receipts.get(&settlement.settlement_id).copied();
        let Some(reason) = not_transferred_reason(settlement.open, deposit, as_of, receipt) else {
            continue;
        };
        let days = (as_of - end).num_days();
        let marketplace = marketplaces.get(&settlement.settlement_id).cloned().unwrap_or_default();
        add(
            (settlement.store.clone(), marketplace.clone(), settlement.currency, "posted_not_transferred"),
            days,
            settlement.total_minor,
        );
        detail.push(vec![
            Cell::text(settlement.settlement_id.to_string()),
            Cell::text(settlement.store.clone()),
            Cell::text(marketplace),
            Cell::text(settlement.currency.code()),
            Cell::money(settlement.total_minor, settlement.currency),
            Cell::Date(end),
            deposit.map_or(Cell::Empty, Cell::Date),
            Cell::Integer(days),
            Cell::text(AGING_BUCKETS[aging_bucket(days)].0),
            Cell::text(reason),
            Cell::text(if days > alert_after_days { "ALERT" } else { "" }),
        ]);
    }
    for ((store_name, marketplace, currency, what), (buckets, alert)) in groups {
        let mut cells =
            vec![Cell::text(store_name), Cell::text(marketplace), Cell::text(currency.code()), Cell::text(what)];
        for (count, amount) in buckets {
            cells.push(Cell::Integer(count));
            cells.push(Cell::money(amount, currency));
        }
        cells.push(Cell::Integer(buckets.iter().map(|b| b.0).sum()));
        cells.push(Cell::money(buckets.iter().map(|b| b.1).sum(), currency));
        cells.push(Cell::Integer(alert.0));
        cells.push(Cell::money(alert.1, currency));
        summary.push(cells);
    }
    let note = format!(
        "Aging as of {as_of}, in days: shipped_not_settled counts from the ship date (orders shipped with no settlement yet, due or not), posted_not_transferred from the settlement's end date (its payout not yet due, missing, or pending past its expected date). Buckets 0-14, 15-30, 31-60, 61-90, over 90; alerts over {alert_after_days} days ([aging] alert_after_days in tieout.toml). Amounts exact, in each row's own currency."
    );
    summary.notes.push(note.clone());
    detail.notes.push(note);
    Ok(vec![summary, detail])
}

/// The alert lines of the aging summary, for a terminal: one per group with alerts.
pub fn aging_alerts(summary: &Table) -> Vec<String> {
    let column = |name: &str| summary.columns.iter().position(|c| c == name).expect("aging column");
    let (count, amount) = (column("alert_count"), column("alert_amount"));
    summary
        .rows
        .iter()
        .filter(|row| matches!(row[count], Cell::Integer(n) if n > 0))
        .map(|row| {
            // Columns: store, marketplace, currency, what, … (see `aging_tables`).
            format!(
                "ALERT {} {}: {} {} over the alert age, {} {}",
                row[0].plain(),
                row[1].plain(),
                row[count].plain(),
                row[3].plain().replace('_', " "),
                row[amount].plain(),
                row[2].plain()
            )
        })
        .collect()
}
