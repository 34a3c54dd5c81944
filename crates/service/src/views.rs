//! What the team server shows: records and results as serialisable views, reports by
//! name rendered to JSON, CSV or XLSX. Amounts are decimal strings in the currency's
//! minor unit scale (never floats) beside their currency code.

use chrono::NaiveDate;
use serde::Serialize;
use tieout_core::ids::OrderId;
use tieout_core::money::{format_minor, Currency};
use tieout_core::table::Table;
use tieout_formats::write;
use tieout_store::{LineRow, OrderResultRow, OrderRow, SettlementRow, Store, StoreError};

use crate::config::Settings;
use crate::report::{self, Filter};

pub fn amount(minor: i64, currency: Currency) -> String {
    format_minor(minor, currency.exponent())
}

fn utc_text(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OrderResultView {
    pub order_id: String,
    pub store: String,
    pub marketplace: String,
    pub currency: String,
    pub category: String,
    pub category_zh: String,
    pub is_difference: bool,
    pub flags: Vec<String>,
    pub status: Option<String>,
    pub ship_date: Option<NaiveDate>,
    pub period_date: NaiveDate,
    pub order_amount: Option<String>,
    pub settled_amount: String,
    pub refunds_settled: String,
    /// Refunds the ERP wrote off.
    pub written_off: String,
    pub fees_charged: String,
    pub fees_expected: Option<String>,
    pub net_settled: String,
    pub days_since_ship: Option<i64>,
    pub line_count: u32,
    pub duplicate_line_count: u32,
    pub explanation: String,
}

impl From<&OrderResultRow> for OrderResultView {
    fn from(row: &OrderResultRow) -> OrderResultView {
        let money = |minor: i64| amount(minor, row.currency);
        OrderResultView {
            order_id: row.order_id.to_string(),
            store: row.store.clone(),
            marketplace: row.marketplace.clone(),
            currency: row.currency.to_string(),
            category: row.category.name().to_owned(),
            category_zh: row.category.chinese().to_owned(),
            is_difference: row.category.is_difference(),
            flags: row.flags.iter().map(|c| c.name().to_owned()).collect(),
            status: row.status.map(|s| format!("{s:?}").to_lowercase()),
            ship_date: row.ship_date,
            period_date: row.period_date,
            order_amount: row.order_amount_minor.map(money),
            settled_amount: money(row.settled_amount_minor),
            refunds_settled: money(row.refunds_settled_minor),
            written_off: money(row.written_off_minor),
            fees_charged: money(row.fees_charged_minor),
            fees_expected: row.fees_expected_minor.map(money),
            net_settled: money(row.net_settled_minor),
            days_since_ship: row.days_since_ship,
            line_count: row.line_count,
            duplicate_line_count: row.duplicate_line_count,
            explanation: report::explanation_text(row),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SettlementView {
    pub settlement_id: String,
    pub store: String,
    pub file_name: String,
    pub line: u32,
    pub start: String,
    pub end: String,
    pub deposit: Option<String>,
    pub currency: String,
    pub total: String,
    pub lines_sum: String,
    pub line_count: u32,
    pub consistent: bool,
    pub open: bool,
}

impl From<&SettlementRow> for SettlementView {
    fn from(row: &SettlementRow) -> SettlementView {
        SettlementView {
            settlement_id: row.settlement_id.to_string(),
            store: row.store.clone(),
            file_name: row.file_name.clone(),
            line: row.line,
            start: utc_text(row.start_utc_seconds),
            end: utc_text(row.end_utc_seconds),
            deposit: row.deposit_utc_seconds.map(utc_text),
            currency: row.currency.to_string(),
            total: amount(row.total_minor, row.currency),
            lines_sum: amount(row.lines_sum_minor, row.currency),
            line_count: row.line_count,
            consistent: row.total_minor == row.lines_sum_minor,
            open: row.open,
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OrderRowView {
    pub file_name: String,
    pub line: u32,
    pub store: String,
    pub marketplace: String,
    pub status: String,
    pub purchase_date: NaiveDate,
    pub ship_date: Option<NaiveDate>,
    pub currency: String,
    pub amount: String,
    pub refunded: Option<String>,
    pub quantity: u32,
    pub sku: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LineView {
    pub settlement_id: String,
    pub file_name: String,
    pub line: u32,
    pub transaction_type: String,
    pub amount_type: String,
    pub description: String,
    pub marketplace: String,
    pub sku: String,
    pub currency: String,
    pub amount: String,
    pub posted: String,
    pub quantity: u32,
    pub duplicate: bool,
}

/// One order's chain: its export rows, its settlement lines (each with file and line),
/// its result and the reasons in words.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ExplanationView {
    pub order_id: String,
    pub result: Option<OrderResultView>,
    pub order_rows: Vec<OrderRowView>,
    pub lines: Vec<LineView>,
    pub reasons: Vec<String>,
    pub text: String,
}

/// The explanation of one order, or `None` when neither an export nor a settlement knows
/// it, or when it belongs to a store `visible` refuses.
pub fn explain_order(
    store: &dyn Store,
    order_id: &str,
    visible: &dyn Fn(&str) -> bool,
) -> Result<Option<ExplanationView>, StoreError> {
    let Some(id) = OrderId::parse(order_id) else { return Ok(None) };
    let explanation = report::explain(store, &id)?;
    if explanation.result.is_none() && explanation.order_rows.is_empty() && explanation.lines.is_empty() {
        return Ok(None);
    }
    let store_name = explanation
        .result
        .as_ref()
        .map(|r| r.store.clone())
        .or_else(|| explanation.order_rows.first().map(|r| r.store.clone()));
    if store_name.as_deref().is_some_and(|s| !visible(s)) {
        return Ok(None);
    }
    let order_rows = explanation.order_rows.iter().map(order_row_view).collect();
    let lines = explanation.lines.iter().map(line_view).collect();
    Ok(Some(ExplanationView {
        order_id: explanation.order_id.to_string(),
        result: explanation.result.as_ref().map(OrderResultView::from),
        order_rows,
        lines,
        reasons: explanation.reasons.clone(),
        text: explanation.render(),
    }))
}

fn order_row_view(row: &OrderRow) -> OrderRowView {
    OrderRowView {
        file_name: row.file_name.clone(),
        line: row.line,
        store: row.store.clone(),
        marketplace: row.marketplace.clone(),
        status: format!("{:?}", row.status).to_lowercase(),
        purchase_date: row.purchase_date,
        ship_date: row.ship_date,
        currency: row.currency.to_string(),
        amount: amount(row.amount_minor, row.currency),
        refunded: row.refunded_minor.map(|m| amount(m, row.currency)),
        quantity: row.quantity,
        sku: row.sku.clone(),
    }
}

fn line_view(row: &LineRow) -> LineView {
    LineView {
        settlement_id: row.settlement_id.to_string(),
        file_name: row.file_name.clone(),
        line: row.line,
        transaction_type: row.transaction_type.clone(),
        amount_type: row.amount_type.clone(),
        description: row.description.clone(),
        marketplace: row.marketplace.clone(),
        sku: row.sku.clone(),
        currency: row.currency.to_string(),
        amount: amount(row.amount_minor, row.currency),
        posted: utc_text(row.posted_utc_seconds),
        quantity: row.quantity,
        duplicate: row.duplicate_of.is_some(),
    }
}

/// A settlement's chain in words (settlement → payout → receipt → withdrawal → bank),
/// `None` when unknown or in a store `visible` refuses.
pub fn explain_settlement(
    store: &dyn Store,
    settlement_id: u64,
    visible: &dyn Fn(&str) -> bool,
) -> Result<Option<(SettlementView, String)>, StoreError> {
    let Some(row) = store.settlements()?.into_iter().find(|s| s.settlement_id == settlement_id) else {
        return Ok(None);
    };
    if !visible(&row.store) {
        return Ok(None);
    }
    let text = report::explain_settlement(store, settlement_id)?.map(|(text, _)| text).unwrap_or_default();
    Ok(Some((SettlementView::from(&row), text)))
}

/// The reports the server and the CLI produce by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportName {
    Differences,
    Orders,
    Settlements,
    Summary,
    Receipts,
    Receivables,
    Aging,
    /// Every resolved difference: accepted, adjusted (both amounts) or written off (by a
    /// person or automatically), with totals.
    Resolutions,
}

impl ReportName {
    pub const ALL: [ReportName; 8] = [
        ReportName::Differences,
        ReportName::Orders,
        ReportName::Settlements,
        ReportName::Summary,
        ReportName::Receipts,
        ReportName::Receivables,
        ReportName::Aging,
        ReportName::Resolutions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportName::Differences => "differences",
            ReportName::Orders => "orders",
            ReportName::Settlements => "settlements",
            ReportName::Summary => "summary",
            ReportName::Receipts => "receipts",
            ReportName::Receivables => "receivables",
            ReportName::Aging => "aging",
            ReportName::Resolutions => "resolutions",
        }
    }

    pub fn parse(name: &str) -> Option<ReportName> {
        ReportName::ALL.into_iter().find(|r| r.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("nothing reconciled yet: run a reconciliation first")]
    NotReconciled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tables of a report. `as_of` is the aging report's day (default: the latest run's).
pub fn report_tables(
    store: &dyn Store,
    name: ReportName,
    filter: &Filter,
    as_of: Option<NaiveDate>,
    settings: &Settings,
) -> Result<Vec<Table>, ReportError> {
    let latest = store.latest_run()?;
    if latest.is_none() && name != ReportName::Settlements {
        return Err(ReportError::NotReconciled);
    }
    Ok(match name {
        ReportName::Receivables => {
            let mut tables = vec![crate::month_end::receivables_table(store, filter.period, filter.store.as_deref())?];
            let deferred = crate::month_end::deferred_table(store, filter.store.as_deref())?;
            if !deferred.rows.is_empty() {
                tables.push(deferred);
            }
            tables
        }
        ReportName::Aging => {
            let as_of = as_of.or(latest.map(|r| r.as_of)).ok_or(ReportError::NotReconciled)?;
            crate::month_end::aging_tables(store, as_of, settings.aging.alert_after_days, filter.store.as_deref())?
        }
        ReportName::Differences => report::differences_tables(store, filter)?,
        ReportName::Orders => vec![report::orders_table(store, filter)?],
        ReportName::Settlements => vec![report::settlements_table(store, filter)?],
        ReportName::Summary => vec![report::summary_table(store, filter)?],
        ReportName::Receipts => vec![report::receipts_table(store, filter)?],
        ReportName::Resolutions => {
            let visible = |s: &str| filter.store.as_deref().is_none_or(|wanted| wanted == s);
            vec![crate::differences::resolutions_table(store, &visible, &|_| None)?]
        }
    })
}

/// Output formats of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderFormat {
    Json,
    Csv,
    Xlsx,
}

/// Renders tables: JSON (an object per table: title, notes, rows), CSV (the first table;
/// formula-like cells escaped), XLSX (a sheet per table and the sources). Returns the
/// content type and the bytes.
pub fn render(
    tables: &[Table],
    format: RenderFormat,
    sources: &[(String, String)],
) -> Result<(&'static str, Vec<u8>), std::io::Error> {
    let mut out = Vec::new();
    match format {
        RenderFormat::Csv => {
            if let Some(table) = tables.first() {
                write::write_csv(table, &mut out)?;
            }
            Ok(("text/csv; charset=utf-8", out))
        }
        RenderFormat::Xlsx => {
            let bytes = write::write_xlsx(tables, sources).map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes))
        }
        RenderFormat::Json => {
            out.extend_from_slice(b"{\"tables\":[");
            for (index, table) in tables.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                let mut rows = Vec::new();
                write::write_json(table, &mut rows)?;
                let head = serde_json::json!({ "title": table.title, "notes": table.notes });
                let head = head.to_string();
                // {"title":…,"notes":…,"rows":<rows>}
                out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
                out.extend_from_slice(b",\"rows\":");
                out.extend_from_slice(&rows);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
            Ok(("application/json", out))
        }
    }
}

pub fn sources(store: &dyn Store) -> Result<Vec<(String, String)>, StoreError> {
    report::sources(store)
}

/// A count and an amount (decimal string in the row's currency).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Figure {
    pub count: u64,
    pub amount: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BucketFigure {
    pub bucket: String,
    pub count: u64,
    pub amount: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Unsettled {
    pub count: u64,
    pub amount: String,
    pub buckets: Vec<BucketFigure>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CountOnly {
    pub count: u64,
}

/// One store and marketplace on the dashboard.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DashboardRow {
    pub store: String,
    pub marketplace: String,
    pub currency: String,
    pub orders: u64,
    /// Orders tied out (`matched`): their net settled amount.
    pub settled: Figure,
    /// Orders not due yet (`not_due`): their order amount.
    pub pending_settlement: Figure,
    /// Shipped and not settled, by days since shipping.
    pub unsettled: Unsettled,
    pub differences: CountOnly,
}

/// One store's money after settlement.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DashboardStore {
    pub store: String,
    pub currency: String,
    /// Settlements posted and not transferred (open, or paid out after the as-of day).
    pub not_transferred: Figure,
    /// Payouts whose receipt is missing.
    pub missing_receipts: Figure,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DashboardMonth {
    pub store: String,
    pub currency: String,
    pub month: String,
    pub sales: String,
    pub fees: String,
    pub refunds: String,
    pub transfers: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Dashboard {
    /// The latest run's as-of day; `None` before the first run.
    pub as_of: Option<NaiveDate>,
    pub rows: Vec<DashboardRow>,
    pub stores: Vec<DashboardStore>,
    /// The last 12 calendar months (UTC) of the roll-forward up to the as-of day.
    pub months: Vec<DashboardMonth>,
}

/// The dashboard of the latest run, limited to the stores `visible` accepts. Every figure
/// is a sum of whole minor units of one currency (no conversion, no rounding).
pub fn dashboard(store: &dyn Store, visible: &dyn Fn(&str) -> bool) -> Result<Dashboard, StoreError> {
    use std::collections::BTreeMap;
    use tieout_core::receipts::ReceiptStatus;
    use tieout_core::receivables::{aging_bucket, Group, YearMonth, AGING_BUCKETS};
    use tieout_core::reconcile::Category;

    let Some(run) = store.latest_run()? else {
        return Ok(Dashboard { as_of: None, rows: Vec::new(), stores: Vec::new(), months: Vec::new() });
    };
    #[derive(Default)]
    struct Sums {
        orders: u64,
        settled: (u64, i64),
        pending: (u64, i64),
        unsettled: (u64, i64),
        buckets: [(u64, i64); 5],
        differences: u64,
    }
    let mut rows: BTreeMap<(String, String, Currency), Sums> = BTreeMap::new();
    for result in store.order_results(None)?.iter().filter(|r| visible(&r.store)) {
        let sums = rows.entry((result.store.clone(), result.marketplace.clone(), result.currency)).or_default();
        sums.orders += 1;
        match result.category {
            Category::Matched => {
                sums.settled.0 += 1;
                sums.settled.1 += result.net_settled_minor;
            }
            Category::NotDue => {
                sums.pending.0 += 1;
                sums.pending.1 += result.order_amount_minor.unwrap_or(0);
            }
            Category::ShippedNotSettled => {
                let amount = result.order_amount_minor.unwrap_or(0);
                sums.unsettled.0 += 1;
                sums.unsettled.1 += amount;
                let bucket = &mut sums.buckets[aging_bucket(result.days_since_ship.unwrap_or(0))];
                bucket.0 += 1;
                bucket.1 += amount;
            }
            _ => {}
        }
        if result.category.is_difference() {
            sums.differences += 1;
        }
    }
    let figure = |(count, minor): (u64, i64), currency: Currency| Figure { count, amount: amount(minor, currency) };
    let rows = rows
        .into_iter()
        .map(|((store, marketplace, currency), sums)| DashboardRow {
            store,
            marketplace,
            currency: currency.to_string(),
            orders: sums.orders,
            settled: figure(sums.settled, currency),
            pending_settlement: figure(sums.pending, currency),
            unsettled: Unsettled {
                count: sums.unsettled.0,
                amount: amount(sums.unsettled.1, currency),
                buckets: AGING_BUCKETS
                    .iter()
                    .zip(sums.buckets)
                    .map(|((label, _, _), (count, minor))| BucketFigure {
                        bucket: (*label).to_owned(),
                        count,
                        amount: amount(minor, currency),
                    })
                    .collect(),
            },
            differences: CountOnly { count: sums.differences },
        })
        .collect();

    let settlements = store.settlements()?;
    let as_of_end = run.as_of.and_hms_opt(23, 59, 59).map_or(i64::MAX, |t| t.and_utc().timestamp());
    /// (count, minor units) not transferred, and of missing receipts.
    type Pair = ((u64, i64), (u64, i64));
    let mut stores: BTreeMap<(String, Currency), Pair> = BTreeMap::new();
    for settlement in settlements.iter().filter(|s| visible(&s.store)) {
        let entry = stores.entry((settlement.store.clone(), settlement.currency)).or_default();
        let transferred = !settlement.open && settlement.deposit_utc_seconds.is_some_and(|d| d <= as_of_end);
        if !transferred {
            entry.0 .0 += 1;
            entry.0 .1 += settlement.total_minor;
        }
    }
    for result in store.receipt_results()? {
        if result.status != ReceiptStatus::Missing {
            continue;
        }
        let Some(payout) = result.settlements.first() else { continue };
        let Some(expected) = result.expected else { continue };
        if !visible(&payout.store) {
            continue;
        }
        let entry = stores.entry((payout.store.clone(), expected.currency)).or_default();
        entry.1 .0 += 1;
        entry.1 .1 += expected.amount_minor;
    }
    let stores = stores
        .into_iter()
        .map(|((store, currency), (not_transferred, missing))| DashboardStore {
            store,
            currency: currency.to_string(),
            not_transferred: figure(not_transferred, currency),
            missing_receipts: figure(missing, currency),
        })
        .collect();

    let last = YearMonth::of(run.as_of);
    let first = {
        let months = last.year * 12 + last.month as i32 - 1 - 11;
        YearMonth { year: months.div_euclid(12), month: months.rem_euclid(12) as u32 + 1 }
    };
    let months = crate::month_end::roll_forward_rows(store, Some(last))?
        .into_iter()
        .filter(|row| visible(&row.store) && row.month >= first && row.month <= last)
        .map(|row| DashboardMonth {
            store: row.store.clone(),
            currency: row.currency.to_string(),
            month: row.month.to_string(),
            sales: amount(row.group(Group::Sales), row.currency),
            fees: amount(row.group(Group::Fees), row.currency),
            refunds: amount(row.group(Group::Refunds), row.currency),
            transfers: amount(row.transfers_minor, row.currency),
        })
        .collect();
    Ok(Dashboard { as_of: Some(run.as_of), rows, stores, months })
}
