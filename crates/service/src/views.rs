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
}

impl ReportName {
    pub const ALL: [ReportName; 7] = [
        ReportName::Differences,
        ReportName::Orders,
        ReportName::Settlements,
        ReportName::Summary,
        ReportName::Receipts,
        ReportName::Receivables,
        ReportName::Aging,
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
