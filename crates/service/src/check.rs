//! `tieout check`: the store verifies its own invariants — structure (every source line
//! stored once, settlements sum to what was recorded, one result per order) and that the
//! latest run's results equal a fresh recomputation from what is stored.

use tieout_core::reconcile::{reconcile as classify, ReconcileConfig};
use tieout_core::records::normalize_marketplace;
use tieout_store::{OrderResultRow, ResultFilter, Store, StoreError};

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
    check_in_ranges(store, tieout_store::PARTITION_LINES)
}

/// [`check`], recomputing in ranges of about `max_lines` lines (a run's own ranges by
/// default; the findings do not depend on it).
pub fn check_in_ranges(store: &dyn Store, max_lines: usize) -> Result<CheckReport, StoreError> {
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
    let config = settings.reconcile_config(run.as_of);
    let recomputed = match differing_in_ranges(store, &config, max_lines) {
        Ok(Some(differing)) => Ok(differing),
        Ok(None) => differing_in_memory(store, &config),
        Err(error) => Err(error),
    };
    let differing = match recomputed {
        Ok(differing) => differing,
        // What cannot be read is a finding (the structural checks above name where).
        Err(StoreError::Corrupt(what)) => {
            report.findings.push(format!("run {}: its results cannot be recomputed: {what}", run.id));
            return Ok(report);
        }
        Err(error) => return Err(error),
    };
    if differing.count > 0 {
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
        let count = differing.count;
        if newer > 0 {
            report.stale = Some(format!(
                "{newer} file(s) were imported after the latest run ({}); {count} order result(s) are out of date: run `tieout reconcile`",
                run.created_at
            ));
        } else {
            let more = count.saturating_sub(LISTED_MAX);
            report.findings.push(format!("run {}: {count} stored order result(s) differ from a recomputation", run.id));
            report.findings.extend(differing.listed);
            if more > 0 {
                report.findings.push(format!("… and {more} more"));
            }
        }
    }
    Ok(report)
}

/// How many orders differ, and the first [`LISTED_MAX`] of them described.
#[derive(Default)]
struct Differing {
    count: usize,
    listed: Vec<String>,
}

impl Differing {
    fn add(&mut self, message: Option<String>) {
        if let Some(message) = message {
            self.count += 1;
            if self.listed.len() < LISTED_MAX {
                self.listed.push(message);
            }
        }
    }
}

/// The fresh results of one range as stored rows (names resolved, marketplaces normalised
/// on both sides), sorted by order id, so the two compare field by field.
fn fresh_rows(input: &mut tieout_core::reconcile::ReconcileInput, config: &ReconcileConfig) -> Vec<OrderResultRow> {
    let fresh = classify(input, config);
    let text = |sym| input.strings.resolve(sym).to_owned();
    let mut rows: Vec<OrderResultRow> = fresh
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
    rows.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    rows
}

/// Compares one fresh and one stored result of the same order, or says which side lacks
/// an order, in one merge step; `None` when they are the same.
fn compare(fresh: Option<&OrderResultRow>, stored: Option<&OrderResultRow>) -> (Option<String>, bool, bool) {
    match (fresh, stored) {
        (Some(f), Some(s)) if f.order_id == s.order_id => {
            let message =
                (f != s).then(|| format!("order {}: stored {:?}, recomputed {:?}", f.order_id, s.category, f.category));
            (message, true, true)
        }
        (Some(f), Some(s)) if f.order_id < s.order_id => {
            (Some(format!("order {}: recomputed, but has no stored result", f.order_id)), true, false)
        }
        (Some(f), None) => (Some(format!("order {}: recomputed, but has no stored result", f.order_id)), true, false),
        (_, Some(s)) => {
            (Some(format!("order {}: stored, but a recomputation has no such order", s.order_id)), false, true)
        }
        (None, None) => (None, false, false),
    }
}

/// The recomputation in ranges of order id (as a run is made), merged with the stored
/// results read page by page in stored order: memory holds one range, whatever the
/// month. Stored results are in order-id order (every run stores them so; the SQLite
/// store's blocks are checked to be, by its integrity findings); `None` if they are not
/// (PostgreSQL rows edited by hand), and the caller compares in memory instead.
fn differing_in_ranges(
    store: &dyn Store,
    config: &ReconcileConfig,
    max_lines: usize,
) -> Result<Option<Differing>, StoreError> {
    let mut partitions = store.reconcile_partitions(max_lines)?;
    let mut fresh: std::collections::VecDeque<OrderResultRow> = std::collections::VecDeque::new();
    let mut stored: std::collections::VecDeque<OrderResultRow> = std::collections::VecDeque::new();
    let (mut after, mut stored_done, mut last_stored) = (None, false, None::<tieout_core::ids::OrderId>);
    let mut differing = Differing::default();
    loop {
        if fresh.is_empty() {
            if let Some(mut input) = partitions.next_partition()? {
                fresh.extend(fresh_rows(&mut input, config));
                continue;
            }
        }
        if stored.is_empty() && !stored_done {
            let page = store.order_results_page(&ResultFilter::default(), after, 10_000)?;
            match page.last() {
                Some((position, _)) => after = Some(*position),
                None => stored_done = true,
            }
            for (_, row) in page {
                if last_stored.as_ref().is_some_and(|last| *last > row.order_id) {
                    return Ok(None);
                }
                last_stored = Some(row.order_id.clone());
                stored.push_back(normalised(row));
            }
            continue;
        }
        let (message, took_fresh, took_stored) = compare(fresh.front(), stored.front());
        if !took_fresh && !took_stored {
            break;
        }
        differing.add(message);
        if took_fresh {
            fresh.pop_front();
        }
        if took_stored {
            stored.pop_front();
        }
    }
    Ok(Some(differing))
}

/// A stored result with its marketplace normalised, as [`fresh_rows`] gives it.
fn normalised(mut row: OrderResultRow) -> OrderResultRow {
    row.marketplace = normalize_marketplace(&row.marketplace);
    row
}

/// The recomputation of the whole store at once, compared with every stored result
/// sorted in memory (for stored results not in order-id order).
fn differing_in_memory(store: &dyn Store, config: &ReconcileConfig) -> Result<Differing, StoreError> {
    let mut input = store.load_reconcile_input()?;
    let fresh = fresh_rows(&mut input, config);
    let stored: Vec<OrderResultRow> = store.order_results(None)?.into_iter().map(normalised).collect();
    let mut differing = Differing::default();
    let (mut i, mut j) = (0, 0);
    loop {
        let (message, took_fresh, took_stored) = compare(fresh.get(i), stored.get(j));
        if !took_fresh && !took_stored {
            break;
        }
        differing.add(message);
        i += usize::from(took_fresh);
        j += usize::from(took_stored);
    }
    Ok(differing)
}
