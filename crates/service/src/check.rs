//! `tieout check`: the store verifies its own invariants — structure (every source line
//! stored once, settlements sum to what was recorded, one result per order) and that the
//! latest run's results equal a fresh recomputation from what is stored.

use tieout_core::reconcile::reconcile as classify;
use tieout_store::{SqliteStore, StoreError};

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

pub fn check(store: &SqliteStore) -> Result<CheckReport, StoreError> {
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
    let text = |sym| input.strings.resolve(sym).to_owned();
    let mut fresh_rows: Vec<_> = fresh
        .orders
        .iter()
        .map(|o| {
            (
                o.order_id.clone(),
                text(o.store),
                tieout_core::records::normalize_marketplace(&text(o.marketplace)),
                o.currency,
                o.category,
                o.flags,
                o.status,
                o.ship_date,
                [o.settled_amount_minor, o.refunds_settled_minor, o.written_off_minor, o.fees_charged_minor],
                (o.order_amount_minor, o.fees_expected_minor, o.net_settled_minor, o.days_since_ship),
                (o.line_count, o.duplicate_line_count, o.period_date),
            )
        })
        .collect();
    fresh_rows.sort_by(|a, b| a.0.cmp(&b.0));
    let stored_rows: Vec<_> = stored
        .iter()
        .map(|o| {
            (
                o.order_id.clone(),
                o.store.clone(),
                tieout_core::records::normalize_marketplace(&o.marketplace),
                o.currency,
                o.category,
                o.flags,
                o.status,
                o.ship_date,
                [o.settled_amount_minor, o.refunds_settled_minor, o.written_off_minor, o.fees_charged_minor],
                (o.order_amount_minor, o.fees_expected_minor, o.net_settled_minor, o.days_since_ship),
                (o.line_count, o.duplicate_line_count, o.period_date),
            )
        })
        .collect();
    let mut differing = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < fresh_rows.len() || j < stored_rows.len() {
        match (fresh_rows.get(i), stored_rows.get(j)) {
            (Some(f), Some(s)) if f.0 == s.0 => {
                if f != s {
                    differing.push(format!("order {}: stored {:?}, recomputed {:?}", f.0, s.4, f.4));
                }
                i += 1;
                j += 1;
            }
            (Some(f), Some(s)) if f.0 < s.0 => {
                differing.push(format!("order {}: recomputed, but has no stored result", f.0));
                i += 1;
            }
            (Some(f), None) => {
                differing.push(format!("order {}: recomputed, but has no stored result", f.0));
                i += 1;
            }
            (_, Some(s)) => {
                differing.push(format!("order {}: stored, but a recomputation has no such order", s.0));
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    if !differing.is_empty() {
        let last_file = store.run_last_file_id(run.id)?;
        let newer = store.files()?.into_iter().filter(|f| f.id > last_file).count();
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
