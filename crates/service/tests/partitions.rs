//! Reconciling in ranges of order id (how a month larger than one partition is reconciled
//! in bounded memory) gives exactly the results of reconciling in one piece: the same
//! result for every order, the same duplicate lines, the same counts, stored in the same
//! order — on the demo month, cut into many small ranges so that every range boundary case
//! (orders only lines know, orders without lines, Amazon and other ids) is crossed.

use tieout_service::config::Settings;
use tieout_service::import::{import_files, Outcome};
use tieout_service::reconcile::{reconcile_run_in_parts, ReconcileSummary};
use tieout_service::SqliteStore;
use tieout_store::ResultFilter;

mod common;

/// A store holding the demo month (2 000 orders, three stores), not reconciled.
fn demo_store(dir: &std::path::Path, name: &str) -> (SqliteStore, Settings, String, chrono::NaiveDate) {
    let month = common::demo_month(&dir.join(format!("{name}-demo")), 11, 2_000);
    let settings_text = std::fs::read_to_string(&month.manifest.config_file).unwrap();
    let settings = Settings::parse("tieout.toml", &settings_text).unwrap();
    let mut store = SqliteStore::open(&dir.join(format!("{name}.db"))).unwrap();
    for (path, options) in &month.jobs {
        let reports = import_files(&mut store, std::slice::from_ref(path), options, &mut |_, _| {}).unwrap();
        assert!(matches!(reports[0].outcome, Outcome::Imported { .. }), "{:?}", reports[0].outcome);
    }
    (store, settings, settings_text, month.manifest.as_of)
}

fn run(
    store: &mut SqliteStore,
    settings: &Settings,
    text: &str,
    as_of: chrono::NaiveDate,
    max_lines: usize,
) -> ReconcileSummary {
    reconcile_run_in_parts(store, &settings.reconcile_config(as_of), text, "2026-11-05T00:00:00Z", None, max_lines)
        .unwrap()
        .0
}

#[test]
fn a_month_reconciled_in_many_ranges_equals_the_month_reconciled_in_one_piece() {
    let dir = tempfile::tempdir().unwrap();
    let (mut whole, settings, text, as_of) = demo_store(dir.path(), "whole");
    let (mut parts, _, _, _) = demo_store(dir.path(), "parts");
    let one = run(&mut whole, &settings, &text, as_of, usize::MAX);
    assert_eq!(whole.reconcile_partitions(usize::MAX).unwrap().count(), 1);
    // About 300 lines a range: dozens of ranges.
    let ranges = parts.reconcile_partitions(300).unwrap().count();
    assert!(ranges > 20, "{ranges} ranges");
    let many = run(&mut parts, &settings, &text, as_of, 300);
    assert_eq!((one.ranges, many.ranges), (1, ranges));

    assert!(one.order_count >= 2_000 && one.line_count > 5_000, "{} orders, {} lines", one.order_count, one.line_count);
    assert!(one.by_category[0].1 > 0, "orders only the settlements know: {:?}", one.by_category);
    assert!(one.duplicate_lines > 0, "the demo month has duplicate lines");
    assert_eq!(
        (many.order_count, many.line_count, many.duplicate_lines, &many.by_category),
        (one.order_count, one.line_count, one.duplicate_lines, &one.by_category)
    );
    let (whole_run, parts_run) = (whole.latest_run().unwrap().unwrap(), parts.latest_run().unwrap().unwrap());
    assert_eq!(
        (parts_run.order_count, parts_run.difference_count),
        (whole_run.order_count, whole_run.difference_count)
    );
    assert_eq!(whole_run.order_count as usize, one.order_count);

    // Every order's result, in stored order (ascending order ids, as in one piece).
    let page = |store: &SqliteStore| {
        store.order_results_page(&ResultFilter::default(), None, usize::MAX).unwrap().into_iter().map(|(_, r)| r)
    };
    let stored_whole: Vec<_> = page(&whole).collect();
    let stored_parts: Vec<_> = page(&parts).collect();
    assert_eq!(stored_parts.len(), one.order_count);
    assert!(stored_parts.windows(2).all(|w| w[0].order_id < w[1].order_id), "stored in order-id order");
    assert_eq!(stored_parts, stored_whole);

    // The same duplicate lines, each pointing at the same first line.
    let with_duplicates: Vec<_> = stored_whole.iter().filter(|r| r.duplicate_line_count > 0).collect();
    assert!(!with_duplicates.is_empty());
    for row in with_duplicates {
        let duplicates = |store: &SqliteStore| -> Vec<(u64, u32, Option<i64>)> {
            store
                .order_lines(&row.order_id)
                .unwrap()
                .into_iter()
                .map(|l| (l.settlement_id, l.line, l.duplicate_of.map(|first| first - l.id)))
                .collect()
        };
        let found = duplicates(&parts);
        assert_eq!(found.iter().filter(|d| d.2.is_some()).count(), row.duplicate_line_count as usize);
        assert_eq!(found, duplicates(&whole), "order {}", row.order_id);
    }

    // The store's own check agrees, in ranges too, and finds one changed result among
    // many ranges; no temporary file is left beside the database.
    use tieout_service::check::{check, check_in_ranges};
    assert!(check(&parts).unwrap().is_ok());
    assert!(check_in_ranges(&parts, 300).unwrap().is_ok());
    // (An order's row changed after the run: its recomputation differs.)
    let known: Vec<_> = stored_whole.iter().filter(|r| r.status.is_some()).collect();
    let changed = known[known.len() * 2 / 3];
    let connection = rusqlite::Connection::open(dir.path().join("parts.db")).unwrap();
    let key = changed.order_id.packed().map(|k| k as i64);
    let updated = connection
        .execute(
            "UPDATE order_item SET amount_minor = amount_minor + 1
             WHERE id = (SELECT MIN(id) FROM order_item WHERE order_key IS ?1)",
            [key],
        )
        .unwrap();
    assert_eq!(updated, 1);
    drop(connection);
    let finds_the_change = |store: &SqliteStore| {
        for max_lines in [300, usize::MAX] {
            let report = check_in_ranges(store, max_lines).unwrap();
            assert_eq!(report.findings.len(), 2, "{max_lines}: {:?}", report.findings);
            assert!(report.findings[0].contains("1 stored order result(s) differ"), "{:?}", report.findings);
            assert!(report.findings[1].starts_with(&format!("order {}:", changed.order_id)), "{:?}", report.findings);
        }
    };
    finds_the_change(&parts);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("reconcile"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// On PostgreSQL (rows, with ids), stored results out of order-id order are compared with
/// a recomputation in memory, and a changed result is still found.
#[test]
fn results_stored_out_of_order_on_postgresql_are_checked_in_memory() {
    use tieout_service::check::check_in_ranges;
    let schema = common::PgSchema::new("tieout_partitions_test");
    let schema_url = &schema.url;
    let mut store =
        tieout_store::postgres::PgStore::connect(schema_url, 1, &tieout_service::PgSchemaOptions::default()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let month = common::demo_month(&dir.path().join("demo"), 11, 1_000);
    let settings_text = std::fs::read_to_string(&month.manifest.config_file).unwrap();
    let settings = Settings::parse("tieout.toml", &settings_text).unwrap();
    for (path, options) in &month.jobs {
        let reports = import_files(&mut store, std::slice::from_ref(path), options, &mut |_, _| {}).unwrap();
        assert!(matches!(reports[0].outcome, Outcome::Imported { .. }), "{:?}", reports[0].outcome);
    }
    let config = settings.reconcile_config(month.manifest.as_of);
    reconcile_run_in_parts(&mut store, &config, &settings_text, "2026-11-05T00:00:00Z", None, usize::MAX).unwrap();
    assert!(check_in_ranges(&store, usize::MAX).unwrap().is_ok());

    // The first result moved last, and another one changed.
    let mut client = postgres::Client::connect(schema_url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "UPDATE order_result SET id = (SELECT MAX(id) + 1 FROM order_result) WHERE id = (SELECT MIN(id) FROM order_result);
             UPDATE order_result SET settled_amount_minor = settled_amount_minor + 1
             WHERE id = (SELECT MIN(id) + 10 FROM order_result);",
        )
        .unwrap();
    let changed: (Option<i64>, Option<String>) = {
        let row = client
            .query_one(
                "SELECT order_key, order_text FROM order_result WHERE id = (SELECT MIN(id) + 10 FROM order_result)",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    let changed = tieout_core::ids::OrderId::from_parts(changed.0.map(|k| k as u64), changed.1.as_deref()).unwrap();
    for max_lines in [300, usize::MAX] {
        let report = check_in_ranges(&store, max_lines).unwrap();
        assert_eq!(report.findings.len(), 2, "{max_lines}: {:?}", report.findings);
        assert!(report.findings[0].contains("1 stored order result(s) differ"), "{:?}", report.findings);
        assert!(report.findings[1].starts_with(&format!("order {changed}:")), "{:?}", report.findings);
    }
}
