//! Reports as tables (`tieout_core::table::Table`), written by `tieout_formats::write` to
//! CSV, XLSX, JSON or the terminal. Every table carries its rounding rule as a note.
//!
//! `orders` is a contract scripts rely on: one row per order (and per settled order id
//! the order exports do not know), and its first seven columns are
//! `order_id, store, marketplace, currency, order_amount, settled_amount, category`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate};
use tieout_core::ids::OrderId;
use tieout_core::intern::Sym;
use tieout_core::money::format_minor;
use tieout_core::reconcile::{explain as reasons, Category, OrderResult};
use tieout_core::table::{Cell, Table};
use tieout_store::{LineRow, OrderResultRow, OrderRow, SettlementRow, Store, StoreError};

/// The rounding and conversion rule every report states.
pub const ROUNDING_NOTE: &str = "Amounts are exact sums of the source files' amounts, in minor units of each row's own currency; nothing is rounded and nothing is converted between currencies. Expected referral fees are rounded half away from zero per order item.";
pub const PERIOD_NOTE: &str = "Period: the calendar month of the order's purchase date as the order export writes it; for an order only the settlements know, the month (UTC) of its first posted line.";

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub store: Option<String>,
    pub marketplace: Option<String>,
    /// (year, month)
    pub period: Option<(i32, u32)>,
    pub category: Option<Category>,
}

impl Filter {
    fn keeps(&self, row: &OrderResultRow) -> bool {
        self.store.as_deref().is_none_or(|s| s == row.store)
            && self.marketplace.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(&row.marketplace))
            && self.period.is_none_or(|(y, m)| row.period_date.year() == y && row.period_date.month() == m)
            && self.category.is_none_or(|c| c == row.category)
    }

    fn keeps_settlement(&self, row: &SettlementRow) -> bool {
        let start = utc_date(row.start_utc_seconds);
        let end = utc_date(row.end_utc_seconds);
        self.store.as_deref().is_none_or(|s| s == row.store)
            && self.period.is_none_or(|(y, m)| {
                let first = NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
                let next = first.checked_add_months(chrono::Months::new(1)).expect("in range");
                start < next && end >= first
            })
    }

    /// A one-line description, for report notes.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(store) = &self.store {
            parts.push(format!("store {store}"));
        }
        if let Some(marketplace) = &self.marketplace {
            parts.push(format!("marketplace {marketplace}"));
        }
        if let Some((y, m)) = self.period {
            parts.push(format!("period {y}-{m:02}"));
        }
        if let Some(category) = self.category {
            parts.push(format!("category {}", category.name()));
        }
        if parts.is_empty() {
            "Filter: none (everything stored).".to_owned()
        } else {
            format!("Filter: {}.", parts.join(", "))
        }
    }
}

pub(crate) fn utc_date(seconds: i64) -> NaiveDate {
    DateTime::from_timestamp(seconds, 0).map_or(NaiveDate::MIN, |t| t.date_naive())
}

fn utc_text(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// Converts a stored result row back into the core's result, to reuse its explanation.
fn core_result(row: &OrderResultRow) -> OrderResult {
    OrderResult {
        order_id: row.order_id.clone(),
        store: Sym::EMPTY,
        marketplace: Sym::EMPTY,
        currency: row.currency,
        category: row.category,
        flags: row.flags,
        status: row.status,
        ship_date: row.ship_date,
        order_amount_minor: row.order_amount_minor,
        settled_amount_minor: row.settled_amount_minor,
        refunds_settled_minor: row.refunds_settled_minor,
        written_off_minor: row.written_off_minor,
        fees_charged_minor: row.fees_charged_minor,
        fees_expected_minor: row.fees_expected_minor,
        net_settled_minor: row.net_settled_minor,
        days_since_ship: row.days_since_ship,
        line_count: row.line_count,
        duplicate_line_count: row.duplicate_line_count,
        period_date: row.period_date,
    }
}

pub fn explanation_text(row: &OrderResultRow) -> String {
    reasons(&core_result(row)).join("; ")
}

const ORDER_COLUMNS: &[&str] = &[
    "order_id",
    "store",
    "marketplace",
    "currency",
    "order_amount",
    "settled_amount",
    "category",
    "flags",
    "status",
    "period_date",
    "ship_date",
    "days_since_ship",
    "refunds_settled",
    "written_off",
    "fees_charged",
    "fees_expected",
    "net_settled",
    "settlement_lines",
    "explanation",
];

fn order_row(row: &OrderResultRow) -> Vec<Cell> {
    vec![
        Cell::text(row.order_id.to_string()),
        Cell::text(row.store.clone()),
        Cell::text(row.marketplace.clone()),
        Cell::text(row.currency.code()),
        Cell::optional_money(row.order_amount_minor, row.currency),
        Cell::money(row.settled_amount_minor, row.currency),
        Cell::text(row.category.name()),
        Cell::text(row.flags.names()),
        Cell::text(row.status.map_or("", |s| s.name())),
        Cell::Date(row.period_date),
        row.ship_date.map_or(Cell::Empty, Cell::Date),
        row.days_since_ship.map_or(Cell::Empty, Cell::Integer),
        Cell::money(row.refunds_settled_minor, row.currency),
        Cell::money(row.written_off_minor, row.currency),
        Cell::money(row.fees_charged_minor, row.currency),
        Cell::optional_money(row.fees_expected_minor, row.currency),
        Cell::money(row.net_settled_minor, row.currency),
        Cell::Integer(row.line_count as i64),
        Cell::text(explanation_text(row)),
    ]
}

fn with_notes(mut table: Table, filter: &Filter, as_of: Option<NaiveDate>) -> Table {
    table.notes.push(ROUNDING_NOTE.to_owned());
    table.notes.push(PERIOD_NOTE.to_owned());
    table.notes.push(filter.describe());
    if let Some(as_of) = as_of {
        table.notes.push(format!("Reconciled as of {as_of}; days since ship are counted to that date."));
    }
    table
}

/// One row per order of the latest reconciliation.
pub fn orders_table(store: &dyn Store, filter: &Filter) -> Result<Table, StoreError> {
    let mut table = Table::new("Orders", ORDER_COLUMNS);
    for row in store.order_results(None)?.iter().filter(|r| filter.keeps(r)) {
        table.push(order_row(row));
    }
    let as_of = store.latest_run()?.map(|r| r.as_of);
    Ok(with_notes(table, filter, as_of))
}

/// Orders that are differences (every category but matched and not_due), and
/// settlements whose lines do not sum to their total.
pub fn differences_tables(store: &dyn Store, filter: &Filter) -> Result<Vec<Table>, StoreError> {
    let mut orders = Table::new("Differences", ORDER_COLUMNS);
    // Page through the differences only: a month of millions of orders has a few percent
    // of differences, and only those are held.
    let mut rows = Vec::new();
    let only = tieout_store::ResultFilter { differences_only: true, ..tieout_store::ResultFilter::default() };
    let mut after = None;
    loop {
        let page = store.order_results_page(&only, after, 10_000)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        rows.extend(page.into_iter().map(|(_, row)| row).filter(|r| filter.keeps(r)));
    }
    rows.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    for row in &rows {
        orders.push(order_row(row));
    }
    let as_of = store.latest_run()?.map(|r| r.as_of);
    let mut settlements = settlements_table_of(
        store.settlements()?.into_iter().filter(|s| s.total_minor != s.lines_sum_minor && filter.keeps_settlement(s)),
    );
    settlements.title = "Inconsistent settlements".to_owned();
    Ok(vec![with_notes(orders, filter, as_of), with_notes(settlements, filter, None)])
}

const SETTLEMENT_COLUMNS: &[&str] = &[
    "settlement_id",
    "store",
    "currency",
    "start",
    "end",
    "deposit",
    "total",
    "lines_sum",
    "difference",
    "consistent",
    "lines",
    "file",
];

fn settlements_table_of(rows: impl Iterator<Item = SettlementRow>) -> Table {
    let mut table = Table::new("Settlements", SETTLEMENT_COLUMNS);
    for s in rows {
        table.push(vec![
            Cell::text(s.settlement_id.to_string()),
            Cell::text(s.store.clone()),
            Cell::text(s.currency.code()),
            Cell::text(utc_text(s.start_utc_seconds)),
            Cell::text(utc_text(s.end_utc_seconds)),
            s.deposit_utc_seconds.map_or(Cell::Empty, |d| Cell::text(utc_text(d))),
            Cell::money(s.total_minor, s.currency),
            Cell::money(s.lines_sum_minor, s.currency),
            Cell::money(s.total_minor - s.lines_sum_minor, s.currency),
            Cell::text(if s.total_minor == s.lines_sum_minor { "yes" } else { "NO" }),
            Cell::Integer(s.line_count as i64),
            Cell::text(format!("{}:{}", s.file_name, s.line)),
        ]);
    }
    table
}

pub fn settlements_table(store: &dyn Store, filter: &Filter) -> Result<Table, StoreError> {
    let table = settlements_table_of(store.settlements()?.into_iter().filter(|s| filter.keeps_settlement(s)));
    Ok(with_notes(table, filter, None))
}

/// Per store, marketplace and currency: orders by category, with amounts.
pub fn summary_table(store: &dyn Store, filter: &Filter) -> Result<Table, StoreError> {
    let mut columns: Vec<&str> = vec!["store", "marketplace", "currency", "orders"];
    columns.extend(Category::ALL.iter().map(|c| c.name()));
    columns.extend(["order_amount", "settled_amount", "refunds_settled", "fees_charged", "net_settled"]);
    let mut table = Table::new("Summary", &columns);
    #[derive(Default)]
    struct Totals {
        orders: i64,
        by_category: [i64; 9],
        order_amount: i64,
        settled: i64,
        refunds: i64,
        fees: i64,
        net: i64,
    }
    let mut groups: BTreeMap<(String, String, String), (tieout_core::Currency, Totals)> = BTreeMap::new();
    for row in store.order_results(None)?.iter().filter(|r| filter.keeps(r)) {
        let entry = groups
            .entry((row.store.clone(), row.marketplace.clone(), row.currency.code().to_owned()))
            .or_insert_with(|| (row.currency, Totals::default()));
        let totals = &mut entry.1;
        totals.orders += 1;
        totals.by_category[row.category.code() as usize] += 1;
        totals.order_amount += row.order_amount_minor.unwrap_or(0);
        totals.settled += row.settled_amount_minor;
        totals.refunds += row.refunds_settled_minor;
        totals.fees += row.fees_charged_minor;
        totals.net += row.net_settled_minor;
    }
    for ((store_name, marketplace, currency_code), (currency, totals)) in groups {
        let mut row = vec![
            Cell::text(store_name),
            Cell::text(marketplace),
            Cell::text(currency_code),
            Cell::Integer(totals.orders),
        ];
        row.extend(totals.by_category.iter().map(|n| Cell::Integer(*n)));
        row.extend([
            Cell::money(totals.order_amount, currency),
            Cell::money(totals.settled, currency),
            Cell::money(totals.refunds, currency),
            Cell::money(totals.fees, currency),
            Cell::money(totals.net, currency),
        ]);
        table.push(row);
    }
    let as_of = store.latest_run()?.map(|r| r.as_of);
    Ok(with_notes(table, filter, as_of))
}

/// Source files, for the Sources sheet of a workbook: (name, sha256).
pub fn sources(store: &dyn Store) -> Result<Vec<(String, String)>, StoreError> {
    Ok(store.files()?.into_iter().map(|f| (f.name, f.sha256)).collect())
}

/// An order's whole chain: its export rows, its settlement lines (each with file and
/// line), its classification and why.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub order_id: OrderId,
    pub result: Option<OrderResultRow>,
    pub order_rows: Vec<OrderRow>,
    pub lines: Vec<LineRow>,
    pub reasons: Vec<String>,
}

pub fn explain(store: &dyn Store, order_id: &OrderId) -> Result<Explanation, StoreError> {
    let result = store.order_results(Some(order_id))?.into_iter().next();
    let reasons = result.as_ref().map(|r| reasons(&core_result(r))).unwrap_or_default();
    Ok(Explanation {
        order_id: order_id.clone(),
        order_rows: store.order_rows(order_id)?,
        lines: store.order_lines(order_id)?,
        result,
        reasons,
    })
}

impl Explanation {
    /// The explanation as text for a terminal.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "Order {}", self.order_id);
        if self.order_rows.is_empty() {
            let _ = writeln!(out, "  order export: none of the imported order exports has this order");
        }
        for row in &self.order_rows {
            let _ = writeln!(
                out,
                "  order export {}:{}  store {}  {}  {}  purchased {}  shipped {}  sku {} x{}  amount {} {}{}",
                row.file_name,
                row.line,
                row.store,
                row.marketplace,
                row.status.name(),
                row.purchase_date,
                row.ship_date.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                row.sku,
                row.quantity,
                format_minor(row.amount_minor, row.currency.exponent()),
                row.currency,
                row.refunded_minor
                    .map_or_else(String::new, |r| format!("  refunded {}", format_minor(r, row.currency.exponent()))),
            );
        }
        if self.lines.is_empty() {
            let _ = writeln!(out, "  settlement lines: none");
        }
        for line in &self.lines {
            let _ = writeln!(
                out,
                "  settlement {} {}:{}  {}  {} / {} / {}  {} {}{}",
                line.settlement_id,
                line.file_name,
                line.line,
                utc_text(line.posted_utc_seconds),
                line.transaction_type,
                line.amount_type,
                line.description,
                format_minor(line.amount_minor, line.currency.exponent()),
                line.currency,
                line.duplicate_of.map_or_else(String::new, |first| format!("  DUPLICATE of line id {first}")),
            );
        }
        match &self.result {
            Some(result) => {
                let _ = writeln!(out, "  category: {} ({})", result.category.name(), result.category.chinese());
                if result.flags.0 != 0 {
                    let _ = writeln!(out, "  findings: {}", result.flags.names());
                }
                for reason in &self.reasons {
                    let _ = writeln!(out, "  why: {reason}");
                }
            }
            None => {
                let _ = writeln!(out, "  not reconciled yet: run `tieout reconcile`");
            }
        }
        out
    }
}

/// The payout ↔ receipt report: one row per expected payout, per withdrawal (payment tool →
/// bank) and per unexpected receipt. Its first eleven columns are a contract, like the
/// orders report's; `kind` says what a row is about. For a withdrawal, `expected_amount`
/// and `deposit_date` are the withdrawal's amount and booking date, `store` is empty.
/// `key` names the result across runs (`payout:…`, `withdrawal:…`, `receipt:…`: what a
/// payout ↔ receipt difference is resolved by, see [`crate::receipt_differences::key`]).
pub fn receipts_table(store: &dyn Store, filter: &Filter) -> Result<Table, StoreError> {
    let mut table = Table::new(
        "Receipts",
        &[
            "settlement_id",
            "store",
            "currency",
            "expected_amount",
            "deposit_date",
            "status",
            "receipt_ref",
            "received_amount",
            "received_currency",
            "received_date",
            "rule_id",
            "score",
            "difference",
            "implied_rate",
            "reference_rate",
            "rate_check",
            "fx_difference",
            "receipt_source",
            "kind",
            "withdrawal_ref",
            "withdrawal_source",
            "key",
        ],
    );
    let entry_ref = |r: &tieout_store::ReceiptRef| {
        if r.entry_ref.is_empty() {
            format!("{}:{}", r.file_name, r.line)
        } else {
            r.entry_ref.clone()
        }
    };
    for row in store.receipt_results()? {
        let receipt_ref = row.receipts.iter().map(entry_ref).collect::<Vec<_>>().join("+");
        let source = row.receipts.iter().map(|r| format!("{}:{}", r.file_name, r.line)).collect::<Vec<_>>().join("+");
        let received_date = row.receipts.iter().filter_map(|r| r.booking_date).max();
        let received = |cells: &mut Vec<Cell>| {
            cells.push(Cell::text(receipt_ref.clone()));
            cells.push(row.received.map_or(Cell::Empty, |m| Cell::money(m.amount_minor, m.currency)));
            cells.push(row.received.map_or(Cell::Empty, |m| Cell::text(m.currency.code())));
            cells.push(received_date.map_or(Cell::Empty, Cell::Date));
            cells.push(row.rule_id.clone().map_or(Cell::Empty, Cell::Text));
            cells.push(row.score.map_or(Cell::Empty, |s| Cell::Integer(s as i64)));
            let currency = row.expected.or(row.received).map(|m| m.currency);
            cells.push(match (row.difference_minor, currency) {
                (Some(d), Some(c)) => Cell::money(d, c),
                _ => Cell::Empty,
            });
            cells.push(row.implied_rate.clone().map_or(Cell::Empty, Cell::Text));
            cells.push(row.reference_rate.clone().map_or(Cell::Empty, Cell::Text));
            cells.push(match (row.implied_rate.is_some(), row.rate_within_band) {
                (_, Some(true)) => Cell::text("within_band"),
                (_, Some(false)) => Cell::text("OUTSIDE_BAND"),
                (true, None) => Cell::text("no_reference_rate"),
                (false, None) => Cell::Empty,
            });
            cells.push(match (row.fx_difference_minor, row.received) {
                (Some(d), Some(m)) => Cell::money(d, m.currency),
                _ => Cell::Empty,
            });
            cells.push(Cell::text(source.clone()));
            cells.push(Cell::text(row.kind()));
            cells.push(Cell::text(row.withdrawals.iter().map(entry_ref).collect::<Vec<_>>().join("+")));
            cells.push(Cell::text(
                row.withdrawals.iter().map(|r| format!("{}:{}", r.file_name, r.line)).collect::<Vec<_>>().join("+"),
            ));
            cells.push(Cell::text(crate::receipt_differences::key(&row)));
        };
        if !row.withdrawals.is_empty() {
            if filter.store.is_some() {
                continue;
            }
            let expected = row.expected.expect("a withdrawal has an amount");
            let mut cells = vec![
                Cell::Empty,
                Cell::Empty,
                Cell::text(expected.currency.code()),
                Cell::money(expected.amount_minor, expected.currency),
                row.withdrawals.iter().filter_map(|w| w.booking_date).min().map_or(Cell::Empty, Cell::Date),
                Cell::text(row.status.name()),
            ];
            received(&mut cells);
            table.push(cells);
            continue;
        }
        if row.settlements.is_empty() {
            if filter.store.is_some() {
                continue;
            }
            let mut cells =
                vec![Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty, Cell::text(row.status.name())];
            received(&mut cells);
            cells[2] = row.received.map_or(Cell::Empty, |m| Cell::text(m.currency.code()));
            table.push(cells);
            continue;
        }
        let per_settlement = row.settlements.len() > 1;
        for settlement in &row.settlements {
            if filter.store.as_deref().is_some_and(|s| s != settlement.store) {
                continue;
            }
            let expected = row.expected.expect("a payout has an expected amount");
            let expected_amount = if per_settlement {
                store
                    .settlements()?
                    .into_iter()
                    .find(|s| s.settlement_id == settlement.settlement_id)
                    .map_or(Cell::Empty, |s| Cell::money(s.total_minor, s.currency))
            } else {
                Cell::money(expected.amount_minor, expected.currency)
            };
            let mut cells = vec![
                Cell::text(settlement.settlement_id.to_string()),
                Cell::text(settlement.store.clone()),
                Cell::text(expected.currency.code()),
                expected_amount,
                settlement.deposit_date.map_or(Cell::Empty, Cell::Date),
                Cell::text(row.status.name()),
            ];
            received(&mut cells);
            table.push(cells);
        }
    }
    table.notes.push(ROUNDING_NOTE.to_owned());
    table.notes.push("A payout is a settlement with a positive total, due on its deposit date. A withdrawal is a payment-tool debit to another account (the rules' withdrawal_pattern), expected in that account from its booking date. A converted receipt is compared through the original amount it states; its implied rate is received ÷ expected, 6 decimals, rounded half away from zero; the difference shown for it is an FX difference, not a shortfall.".to_owned());
    table.notes.push(filter.describe());
    Ok(table)
}

/// Where a receipt went next: the withdrawals that carried it out of its account (first
/// in, first out) and each withdrawal's bank credit. False when a withdrawal of it is a
/// difference (missing, short, late).
fn explain_onward(
    store: &dyn Store,
    results: &[tieout_store::ReceiptRow],
    entry_id: i64,
    out: &mut String,
) -> Result<bool, StoreError> {
    use std::fmt::Write;
    use tieout_core::receipts::{carried_by_withdrawals, Flow};
    let withdrawal_results: HashMap<i64, &tieout_store::ReceiptRow> =
        results.iter().flat_map(|r| r.withdrawals.iter().map(move |w| (w.entry_id, r))).collect();
    let Some(account) = store.account_entries_of(entry_id)? else { return Ok(true) };
    let flow = |(entry, amount): &(tieout_store::ReceiptRef, i64)| Flow {
        id: entry.entry_id,
        date: entry.booking_date.expect("entries have booking dates"),
        amount_minor: amount.abs(),
    };
    let credits: Vec<Flow> = account.entries.iter().filter(|(_, amount)| *amount > 0).map(flow).collect();
    let withdrawals: Vec<Flow> = account
        .entries
        .iter()
        .filter(|(entry, amount)| *amount < 0 && withdrawal_results.contains_key(&entry.entry_id))
        .map(flow)
        .collect();
    if withdrawals.is_empty() {
        return Ok(true);
    }
    let money = |minor: i64| format!("{} {}", format_minor(minor, account.currency.exponent()), account.currency);
    let carried: Vec<_> = carried_by_withdrawals(account.opening_minor.unwrap_or(0), &credits, &withdrawals)
        .into_iter()
        .filter(|c| c.credit == entry_id)
        .collect();
    if carried.is_empty() {
        let _ = writeln!(out, "  → still in account {} (no withdrawal has carried it out yet)", account.account);
        return Ok(true);
    }
    let mut clean = true;
    for share in carried {
        let result = withdrawal_results[&share.withdrawal];
        let withdrawal = &result.withdrawals[0];
        clean &= !result.status.is_difference();
        let _ = writeln!(
            out,
            "  → withdrawn from {} on {}: {} of withdrawal {} ({}:{}, first in, first out)",
            account.account,
            withdrawal.booking_date.map_or_else(|| "-".to_owned(), |d| d.to_string()),
            money(share.amount_minor),
            if withdrawal.entry_ref.is_empty() { "-" } else { &withdrawal.entry_ref },
            withdrawal.file_name,
            withdrawal.line,
        );
        let _ = writeln!(out, "    withdrawal status: {} ({})", result.status.name(), result.status.chinese());
        for bank in &result.receipts {
            let _ = writeln!(
                out,
                "    → bank {}:{}  ref {}  booked {}  received {}",
                bank.file_name,
                bank.line,
                if bank.entry_ref.is_empty() { "-" } else { &bank.entry_ref },
                bank.booking_date.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                result.received.map_or_else(
                    || "-".to_owned(),
                    |m| format!("{} {}", format_minor(m.amount_minor, m.currency.exponent()), m.currency)
                )
            );
        }
        if let Some(difference) = result.difference_minor.filter(|d| *d != 0) {
            let _ = writeln!(
                out,
                "    difference {} (rule {})",
                money(difference),
                result.rule_id.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(clean)
}

/// One settlement's chain as text: the settlement (file, line, total, deposit date),
/// and what was received for it. `None` when no settlement has this id. The flag is true
/// when the payout was received in full (or is not yet due).
pub fn explain_settlement(store: &dyn Store, settlement_id: u64) -> Result<Option<(String, bool)>, StoreError> {
    use std::fmt::Write;
    let Some(settlement) = store.settlements()?.into_iter().find(|s| s.settlement_id == settlement_id) else {
        return Ok(None);
    };
    let exponent = settlement.currency.exponent();
    let money = |minor: i64, currency: tieout_core::Currency| {
        format!("{} {}", format_minor(minor, currency.exponent()), currency)
    };
    let mut out = String::new();
    let _ = writeln!(out, "Settlement {} (store {})", settlement.settlement_id, settlement.store);
    let _ = writeln!(
        out,
        "  file {}:{}  period {} – {}  total {} {}  lines sum {}{}",
        settlement.file_name,
        settlement.line,
        utc_text(settlement.start_utc_seconds),
        utc_text(settlement.end_utc_seconds),
        format_minor(settlement.total_minor, exponent),
        settlement.currency,
        format_minor(settlement.lines_sum_minor, exponent),
        if settlement.total_minor == settlement.lines_sum_minor { "" } else { "  INCONSISTENT" }
    );
    match settlement.deposit_utc_seconds {
        Some(deposit) => {
            let _ = writeln!(
                out,
                "  payout expected {} on {}",
                money(settlement.total_minor, settlement.currency),
                utc_text(deposit)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  no payout expected (no deposit date; a total of zero or less is carried to the next settlement)"
            );
        }
    }
    let results = store.receipt_results()?;
    let result = results.iter().find(|r| r.settlements.iter().any(|s| s.settlement_id == settlement_id));
    let mut clean = true;
    match result {
        None => {
            let _ = writeln!(out, "  receipts: not reconciled yet, or no payout expected");
        }
        Some(result) => {
            clean = !result.status.is_difference();
            let _ = writeln!(out, "  status: {} ({})", result.status.name(), result.status.chinese());
            if result.settlements.len() > 1 {
                let ids: Vec<String> = result.settlements.iter().map(|s| s.settlement_id.to_string()).collect();
                let _ = writeln!(out, "  paid together with settlements {}", ids.join(", "));
            }
            for receipt in &result.receipts {
                let _ = writeln!(
                    out,
                    "  receipt {}:{}  ref {}  booked {}",
                    receipt.file_name,
                    receipt.line,
                    if receipt.entry_ref.is_empty() { "-" } else { &receipt.entry_ref },
                    receipt.booking_date.map_or_else(|| "-".to_owned(), |d| d.to_string())
                );
            }
            if let Some(received) = result.received {
                let _ = writeln!(out, "  received {}", money(received.amount_minor, received.currency));
            }
            if let (Some(rule), Some(score)) = (&result.rule_id, result.score) {
                let _ = writeln!(out, "  matched by rule {rule} (score {score})");
            }
            if let Some(difference) = result.difference_minor.filter(|d| *d != 0) {
                let _ = writeln!(out, "  difference {}", money(difference, settlement.currency));
            }
            if let Some(days) = result.date_difference_days {
                let _ = writeln!(out, "  booked {days} day(s) after the deposit date");
            }
            if let Some(rate) = &result.implied_rate {
                let _ = writeln!(out, "  implied rate {rate}");
            }
            for receipt in &result.receipts {
                clean &= explain_onward(store, &results, receipt.entry_id, &mut out)?;
            }
        }
    }
    Ok(Some((out, clean)))
}
