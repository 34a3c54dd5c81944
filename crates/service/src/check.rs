//! `tieout check`: the store verifies its own invariants — structure (every source line
//! stored once, settlements sum to what was recorded, one result per order) and that the
//! latest run's results equal a fresh recomputation from what is stored.

use tieout_core::reconcile::reconcile as classify;
use tieout_core::records::normalize_marketplace;
use tieout_store::{OrderResultRow, Store, StoreError};

use crate::config::Settings;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// What was checked, in order.
    pub checked: Vec<&'static str>,
    /// Broken invariants; empty when everything holds.
    pub findings: Vec<String>,
    /// The latest run's results differ from a recomputation because files were imported
    /// after it: not a fault, but the results are out of date.
    pub stale: Option<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// How many differing orders a finding lists before it says "and N more".
const LISTED_MAX: usize = 10;

pub fn check(store: &dyn Store) -> Result<CheckReport, StoreError> {
    let _span = tracing::info_span!("check").entered();
    let mut report = CheckReport {
        checked: vec![
            "every file's records stored once, as many as its import recorded",
            "every settlement's stored lines sum to its recorded sum",
            "one result per order in the latest run; payout results name every payout once",
        ],
        ..CheckReport::default()
    };
    report.findings = store.integrity_findings()?;
    let Some(run) = store.latest_run()? else { return Ok(report) };
    report.checked.push("the latest run's results equal a fresh recomputation");
    let config_text = store.run_config(run.id)?;
    let settings = match Settings::parse("the run's settings", &config_text) {
        Ok(settings) => settings,
        Err(error) => {
            report.findings.push(format!("run {}: its stored settings do not parse: {}", run.id, error.message));
            return Ok(report);
        }
    };
    let mut input = store.load_reconcile_input()?;
    let fresh = classify(&mut input, &settings.reconcile_config(run.as_of));
    let stored = store.order_results(None)?;
    // The fresh results as stored rows (names resolved, marketplaces normalised on both
    // sides), so the two compare field by field.
    let text = |sym| input.strings.resolve(sym).to_owned();
    let mut fresh_rows: Vec<OrderResultRow> = fresh
        .orders
        .iter()
        .map(|o| OrderResultRow {
            order_id: o.order_id.clone(),
            store: text(o.store),
            marketplace: normalize_marketplace(&text(o.marketplace)),
            currency: o.currency,
            category: o.category,
            flags: o.flags,
            status: o.status,
            ship_date: o.ship_date,
            order_amount_minor: o.order_amount_minor,
            settled_amount_minor: o.settled_amount_minor,
            refunds_settled_minor: o.refunds_settled_minor,
            written_off_minor: o.written_off_minor,
            fees_charged_minor: o.fees_charged_minor,
            fees_expected_minor: o.fees_expected_minor,
            net_settled_minor: o.net_settled_minor,
            days_since_ship: o.days_since_ship,
            line_count: o.line_count,
            duplicate_line_count: o.duplicate_line_count,
            period_date: o.period_date,
        })
        .collect();
    fresh_rows.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    let stored_rows: Vec<OrderResultRow> = stored
        .into_iter()
        .map(|mut row| {
            row.marketplace = normalize_marketplace(&row.marketplace);
            row
        })
        .collect();
    let mut differing = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < fresh_rows.len() || j < stored_rows.len() {
        match (fresh_rows.get(i), stored_rows.get(j)) {
            (Some(f), Some(s)) if f.order_id == s.order_id => {
                if f != s {
                    differing
                        .push(format!("order {}: stored {:?}, recomputed {:?}", f.order_id, s.category, f.category));
                }
                i += 1;
                j += 1;
            }
            (Some(f), Some(s)) if f.order_id < s.order_id => {
                differing.push(format!("order {}: recomputed, but has no stored result", f.order_id));
                i += 1;
            }
            (Some(f), None) => {
                differing.push(format!("order {}: recomputed, but has no stored result", f.order_id));
                i += 1;
            }
            (_, Some(s)) => {
                differing.push(format!("order {}: stored, but a recomputation has no such order", s.order_id));
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    if !differing.is_empty() {
        let last_file = store.run_last_file_id(run.id)?;
        // Counterparty documents and statements do not feed a reconciliation run.
        let feeds_a_run = |format: &str| {
            !matches!(
                tieout_core::records::SourceFormat::from_name(format),
                Some(
                    tieout_core::records::SourceFormat::LedgerDocuments
                        | tieout_core::records::SourceFormat::CounterpartyStatement
                )
            )
        };
        let newer = store.files()?.into_iter().filter(|f| f.id > last_file && feeds_a_run(&f.format)).count();
        let count = differing.len();
        if newer > 0 {
            report.stale = Some(format!(
                "{newer} file(s) were imported after the latest run ({}); {count} order result(s) are out of date: run `tieout reconcile`",
                run.created_at
            ));
        } else {
            let more = count.saturating_sub(LISTED_MAX);
            differing.truncate(LISTED_MAX);
            report.findings.push(format!("run {}: {count} stored order result(s) differ from a recomputation", run.id));
            report.findings.extend(differing);
            if more > 0 {
                report.findings.push(format!("… and {more} more"));
            }
        }
    }
    Ok(report)
}
