//! The reconcile use case: load what is stored, classify (pure, in the core), check the
//! result's invariants, and store it in one transaction.

use chrono::NaiveDate;
use tieout_core::reconcile::{reconcile_in_chunks, Category, ReconcileConfig, Reconciliation};
pub use tieout_store::PARTITION_LINES;
use tieout_store::{SettlementRow, Store, StoreError};

#[derive(Clone, Debug)]
pub struct ReconcileSummary {
    pub run_id: i64,
    pub as_of: NaiveDate,
    pub order_count: usize,
    pub line_count: usize,
    /// Orders per primary category, in precedence order (every category listed).
    pub by_category: Vec<(Category, usize)>,
    pub duplicate_lines: usize,
    /// Settlements whose lines do not sum to their total.
    pub inconsistent_settlements: Vec<SettlementRow>,
    /// Ranges of order id the run was made in (1: in one piece).
    pub ranges: usize,
}

impl ReconcileSummary {
    pub fn difference_count(&self) -> usize {
        self.by_category.iter().filter(|(c, _)| c.is_difference()).map(|(_, n)| n).sum()
    }

    /// True when everything tied out: no difference and no inconsistent settlement.
    pub fn is_clean(&self) -> bool {
        self.difference_count() == 0 && self.inconsistent_settlements.is_empty()
    }
}

/// Reconciles orders only; the stored payout ↔ receipt results are cleared (they belonged
/// to the previous run). See [`reconcile_run`].
pub fn reconcile(
    store: &mut dyn Store,
    config: &ReconcileConfig,
    config_text: &str,
    created_at: &str,
) -> Result<ReconcileSummary, StoreError> {
    Ok(reconcile_run(store, config, config_text, created_at, None)?.0)
}

/// What the payout ↔ receipt part of a run uses.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptSetup<'a> {
    pub rules: &'a crate::rules::ReceiptRules,
    pub rates: &'a [tieout_core::receipts::ReferenceRate],
}

/// One reconciliation run: orders against settlements and, with `receipts`, payouts and
/// withdrawals against statement entries. Both results are stored in one transaction,
/// replacing the previous run's: a run interrupted at any point leaves the previous run
/// whole. A month of more than [`PARTITION_LINES`] lines is reconciled in ranges of order
/// id, so memory does not grow with the month (see [`reconcile_run_in_parts`]).
pub fn reconcile_run(
    store: &mut dyn Store,
    config: &ReconcileConfig,
    config_text: &str,
    created_at: &str,
    receipts: Option<ReceiptSetup<'_>>,
) -> Result<(ReconcileSummary, Option<ReceiptSummary>), StoreError> {
    reconcile_run_in_parts(store, config, config_text, created_at, receipts, PARTITION_LINES)
}

/// [`reconcile_run`] with ranges of about `max_lines` lines: each range of order ids is
/// loaded, classified, checked and stored before the next is read (orders are independent
/// of each other, so the result is the same for any `max_lines`; a test holds it to that).
pub fn reconcile_run_in_parts(
    store: &mut dyn Store,
    config: &ReconcileConfig,
    config_text: &str,
    created_at: &str,
    receipts: Option<ReceiptSetup<'_>>,
    max_lines: usize,
) -> Result<(ReconcileSummary, Option<ReceiptSummary>), StoreError> {
    let _span = tracing::info_span!("reconcile").entered();
    let (receipt_results, receipt_summary) = match receipts {
        None => (Vec::new(), None),
        Some(setup) => {
            let (results, summary) = match_receipts(store, setup, config.as_of)?;
            (results, Some(summary))
        }
    };
    let mut partitions = store.reconcile_partitions(max_lines)?;
    let ranges = partitions.count();
    tracing::info!(ranges, "loaded");
    let strings = partitions.strings().clone();
    // Classified on a thread of its own, a chunk of orders at a time, while the store
    // writes the chunk before (a range's next chunk is classified meanwhile, the next
    // range read): each is about half of a run's time after loading.
    // `Ok(None)` ends the chunks; a classifier that stops without it panicked, and the
    // run is then rolled back and the panic passed on.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<Result<Option<Reconciliation>, StoreError>>(2);
    let (run_id, tally) = std::thread::scope(|scope| {
        let classifier = std::thread::Builder::new()
            .name("tieout-classify".to_owned())
            .spawn_scoped(scope, move || classify_ranges(&mut partitions, config, &sender))
            .expect("a thread can be started");
        let mut next_part =
            || chunks.recv().unwrap_or_else(|_| Err(StoreError::Corrupt("the classifying thread stopped".to_owned())));
        let run_id = store.save_reconciliation_parts(
            created_at,
            config_text,
            config.as_of,
            &strings,
            &mut next_part,
            &receipt_results,
        );
        drop(chunks);
        match classifier.join() {
            Ok(tally) => (run_id, tally),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let run_id = run_id?;
    let Tally { by_category, order_count, line_count, duplicate_lines } = tally;
    let by_category = Category::ALL.iter().map(|c| (*c, by_category[*c as usize])).collect();
    let inconsistent_settlements =
        store.settlements()?.into_iter().filter(|s| s.total_minor != s.lines_sum_minor).collect();
    tracing::info!(orders = order_count, lines = line_count, "reconciled");
    let summary = ReconcileSummary {
        run_id,
        as_of: config.as_of,
        order_count,
        line_count,
        by_category,
        duplicate_lines,
        inconsistent_settlements,
        ranges,
    };
    Ok((summary, receipt_summary))
}

/// What [`classify_ranges`] counted.
#[derive(Default)]
struct Tally {
    by_category: [usize; Category::ALL.len()],
    order_count: usize,
    line_count: usize,
    duplicate_lines: usize,
}

/// Classifies every range of `partitions` and sends the results, in chunks of
/// [`CHUNK_ORDERS`] orders, in order, then `Ok(None)`; a failure to read a range is sent
/// as the last message instead. Stops when nobody receives any more (the store failed).
fn classify_ranges(
    partitions: &mut tieout_store::ReconcilePartitions,
    config: &ReconcileConfig,
    sender: &std::sync::mpsc::SyncSender<Result<Option<Reconciliation>, StoreError>>,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        let mut input = match partitions.next_partition() {
            Ok(Some(input)) => input,
            Ok(None) => {
                let _ = sender.send(Ok(None));
                break;
            }
            Err(error) => {
                let _ = sender.send(Err(error));
                break;
            }
        };
        let (lines, orders) = (input.line_count(), input.orders.len());
        let (mut known, mut counted_lines, mut sent_all) = (0, 0, true);
        reconcile_in_chunks(&mut input, config, CHUNK_ORDERS, &mut |chunk| {
            // Matched plus unmatched is the whole: every order of the exports has exactly
            // one result (the others are order ids only lines know), and every line is
            // counted once (checked over the range, below).
            assert!(chunk.orders.iter().filter(|o| o.status.is_none()).all(|o| o.line_count > 0), "orphans have lines");
            known += chunk.orders.iter().filter(|o| o.status.is_some()).count();
            counted_lines += chunk.orders.iter().map(|o| o.line_count as usize).sum::<usize>();
            for order in &chunk.orders {
                tally.by_category[order.category as usize] += 1;
            }
            tally.order_count += chunk.orders.len();
            tally.duplicate_lines += chunk.duplicates.len();
            sent_all = sender.send(Ok(Some(chunk))).is_ok();
            sent_all
        });
        if !sent_all {
            break;
        }
        assert_eq!(known, orders, "one result per order");
        assert_eq!(counted_lines, lines, "every line belongs to exactly one order");
        tally.line_count += lines;
    }
    tally
}

/// Orders per chunk handed from classifying to storing.
const CHUNK_ORDERS: usize = 1 << 16;

/// Counts of the payout ↔ receipt reconciliation.
#[derive(Clone, Debug)]
pub struct ReceiptSummary {
    pub payouts: usize,
    pub receipts: usize,
    /// Results per status, every status listed.
    pub by_status: Vec<(tieout_core::receipts::ReceiptStatus, usize)>,
    /// Conversions whose implied rate is outside the band around the reference rate.
    pub rates_outside_band: usize,
}

impl ReceiptSummary {
    pub fn difference_count(&self) -> usize {
        self.by_status.iter().filter(|(s, _)| s.is_difference()).map(|(_, n)| n).sum::<usize>()
            + self.rates_outside_band
    }
}

/// Matches expected payouts and withdrawals with the entries of imported statements.
fn match_receipts(
    store: &dyn Store,
    setup: ReceiptSetup<'_>,
    as_of: NaiveDate,
) -> Result<(Vec<tieout_core::receipts::ReceiptResult>, ReceiptSummary), StoreError> {
    use tieout_core::receipts::{reconcile_receipts as classify_receipts, ReceiptStatus};
    let _span = tracing::info_span!("reconcile_receipts").entered();
    let (payouts, entries) = store.load_payouts_and_receipts()?;
    let results = classify_receipts(&payouts, &entries, &setup.rules.config_with_rates(as_of, setup.rates.to_vec()));
    // Every expected payout has exactly one result.
    let payouts_in_results: usize = results.iter().map(|r| r.settlement_ids.len()).sum();
    assert_eq!(payouts_in_results, payouts.len(), "one result per expected payout");
    let by_status =
        ReceiptStatus::ALL.iter().map(|s| (*s, results.iter().filter(|r| r.status == *s).count())).collect();
    let rates_outside_band = results.iter().filter(|r| r.rate_within_band == Some(false)).count();
    let credits = entries.iter().filter(|e| e.amount_minor > 0).count();
    let summary = ReceiptSummary { payouts: payouts.len(), receipts: credits, by_status, rates_outside_band };
    Ok((results, summary))
}

/// What `rules` would match, without writing anything (a dry run): the results, and the
/// imported statements' entries by id as (file, line, ref) for display.
pub fn preview_receipts(
    store: &dyn Store,
    rules: &crate::rules::ReceiptRules,
    rates: &[tieout_core::receipts::ReferenceRate],
    as_of: NaiveDate,
) -> Result<Vec<tieout_core::receipts::ReceiptResult>, StoreError> {
    let (payouts, receipts) = store.load_payouts_and_receipts()?;
    Ok(tieout_core::receipts::reconcile_receipts(&payouts, &receipts, &rules.config_with_rates(as_of, rates.to_vec())))
}
