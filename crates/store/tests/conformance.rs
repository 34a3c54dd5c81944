//! The storage conformance suite: one set of scenarios, each run on SQLite (a temporary
//! file) and on PostgreSQL (a fresh schema of the test database), and the two engines'
//! answers compared read method by read method for the same inputs (a demo month, read by
//! `tieout-formats` as the import use case reads it). PostgreSQL alone: tenants sharing a
//! schema, the hash-partitioned schema (every tenant table partitioned, every key led by
//! `tenant_id`: ready to distribute with Citus) and the migration's lock.
//!
//! The database is `TIEOUT_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test works in a schema of its own
//! (`tieout_test_<random>`, dropped at its end), so tests run in parallel on one database.
//! An unreachable database fails the tests: CI starts PostgreSQL (`.ci/run`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use postgres::{Client, NoTls};
use tieout_core::ids::OrderId;
use tieout_core::intern::Interner;
use tieout_core::receipts::{Payout, Receipt, ReceiptResult, ReceiptStatus};
use tieout_core::reconcile::{reconcile, Category, ReconcileConfig, ReconcileInput};
use tieout_core::records::{
    line_keys, stable_hash, LineKeys, LineKind, OrderFile, SettlementFile, SettlementHeader, SourceFormat,
    TransactionClass,
};
use tieout_core::statement::StatementFile;
use tieout_core::Money;
use tieout_demo::{DemoConfig, DemoManifest, ReceiptFile, StoreFiles};
use tieout_formats::amazon_transactions::{read_transaction_report, TransactionReport};
use tieout_store::{
    DeferredLine, DifferenceAction, FileMeta, PgSchemaOptions, PgStore, ReceiptAction, ReportExtras, ResultFilter,
    SqliteStore, Store, StoreError,
};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const IMPORTED_AT: &str = "2026-11-01T09:00:00Z";
const CREATED_AT: &str = "2026-11-05T00:00:00Z";
const CONFIG_TEXT: &str = "# conformance suite\n";

// ---------------------------------------------------------------------------------------
// Engines.

fn database_url() -> String {
    std::env::var("TIEOUT_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.finish()
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| {
        panic!("PostgreSQL (TIEOUT_TEST_DATABASE_URL, default {DEFAULT_DATABASE_URL}) is not reachable: {e}. The storage tests need it; CI starts it")
    })
}

/// A fresh schema of the test database, dropped (with everything in it) when dropped.
struct PgSchema {
    name: String,
    /// The database URL with the schema as its search path.
    url: String,
}

impl PgSchema {
    fn new() -> PgSchema {
        let base = database_url();
        let name = format!("tieout_test_{:016x}", random_u64());
        connect(&base).batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        PgSchema { name, url }
    }

    fn store(&self, tenant: i64) -> PgStore {
        PgStore::connect(&self.url, tenant, &PgSchemaOptions::default()).unwrap()
    }

    fn client(&self) -> Client {
        connect(&self.url)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&database_url(), NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// Runs `scenario` on a new SQLite file and on a new PostgreSQL schema.
fn on_both_engines(scenario: fn(&mut dyn Store)) {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("tieout.db")).unwrap();
    eprintln!("-- on sqlite");
    scenario(&mut sqlite);
    let schema = PgSchema::new();
    let mut postgres = schema.store(1);
    eprintln!("-- on postgres");
    scenario(&mut postgres);
}

// ---------------------------------------------------------------------------------------
// Inputs: a small demo month, read as the import use case reads it.

fn demo() -> &'static DemoManifest {
    static DEMO: OnceLock<DemoManifest> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("conformance-demo-{}", std::process::id()));
        let config = DemoConfig { seed: 6, orders: 1_000, year: 2026, month: 10 };
        tieout_demo::generate(&config, &dir).unwrap()
    })
}

/// Removes the demo month's files when the test binary is done with them (the last test
/// standing cannot know it is last, so each binary writes its own directory and the
/// directories of processes that are gone are removed on the next run).
fn remove_stale_demo_directories() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let Ok(entries) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("conformance-demo-").and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}

fn store_files(index: usize) -> &'static StoreFiles {
    remove_stale_demo_directories();
    &demo().stores[index]
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// What the import use case records of a file. The test has no SHA-256 at hand: a file's
/// identity here is a stable hash of its bytes, written as 64 hex digits.
fn meta(path: &Path, format: SourceFormat, store: Option<&str>) -> (FileMeta, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let meta = FileMeta {
        sha256: format!("{:016x}", stable_hash(&bytes)).repeat(4),
        name: file_name(path),
        format,
        store: store.map(str::to_owned),
        size_bytes: bytes.len() as u64,
        imported_at: IMPORTED_AT.to_owned(),
    };
    (meta, bytes)
}

/// The same file under another name and identity (an export downloaded again).
fn another_copy(meta: &FileMeta, name: &str) -> FileMeta {
    FileMeta { sha256: format!("{:064x}", stable_hash(name.as_bytes())), name: name.to_owned(), ..meta.clone() }
}

fn settlement_file(path: &Path, store: &str) -> (FileMeta, SettlementFile) {
    let (meta, bytes) = meta(path, SourceFormat::AmazonSettlementV2, Some(store));
    let file = tieout_formats::amazon_settlement::read_settlement(&meta.name, &bytes);
    assert!(!tieout_core::diag::has_errors(&file.diagnostics), "{:?}", file.diagnostics);
    (meta, file)
}

fn order_file(files: &StoreFiles) -> (FileMeta, OrderFile) {
    let mapping_text = std::fs::read_to_string(&files.mapping_file).unwrap();
    let mapping =
        tieout_formats::mapping::parse_mapping(&files.mapping_file.display().to_string(), &mapping_text).unwrap();
    let (meta, bytes) = meta(&files.orders_file, SourceFormat::ErpOrders, Some(&files.store));
    let file = tieout_formats::orders::read_orders(&meta.name, &bytes, &mapping, Some(&files.store));
    assert!(!tieout_core::diag::has_errors(&file.diagnostics), "{:?}", file.diagnostics);
    (meta, file)
}

fn statement_file(receipt: &ReceiptFile) -> (FileMeta, StatementFile) {
    use tieout_formats::statement_profile::{builtin_profiles, parse_profile, read_with_profile};
    let format = match receipt.format.as_str() {
        "camt053" => SourceFormat::Camt053,
        "mt940" => SourceFormat::Mt940,
        "alipay" => SourceFormat::AlipayStatement,
        _ => SourceFormat::ProfileStatement,
    };
    let (meta, bytes) = meta(&receipt.path, format, receipt.store.as_deref());
    let file = match (format, &receipt.profile) {
        (SourceFormat::Camt053, _) => tieout_formats::camt053::read_camt053(&meta.name, &bytes),
        (SourceFormat::Mt940, _) => tieout_formats::mt940::read_mt940(&meta.name, &bytes),
        (SourceFormat::AlipayStatement, _) => tieout_formats::alipay::read_alipay(&meta.name, &bytes),
        (_, Some(profile)) => {
            let profile = match builtin_profiles().into_iter().find(|(name, _)| name == profile) {
                Some((_, profile)) => profile,
                None => parse_profile(profile, &std::fs::read_to_string(profile).unwrap()).unwrap(),
            };
            read_with_profile(&meta.name, &bytes, &profile)
        }
        (_, None) => panic!("{}: a tabular statement without a profile", meta.name),
    };
    assert!(!tieout_core::diag::has_errors(&file.diagnostics), "{}: {:?}", meta.name, file.diagnostics);
    (meta, file)
}

/// A transaction report as the store receives it: settlements, open ones, deferred lines,
/// and the lines' keys (what `tieout-service`'s `transactions::report_parts` and import
/// make of a report, repeated here: the store cannot depend on the service).
struct Report {
    meta: FileMeta,
    file: SettlementFile,
    keys: Vec<LineKeys>,
    open: Vec<u64>,
    deferred: Vec<DeferredLine>,
    posted_range: (i64, i64),
}

impl Report {
    fn extras(&self) -> ReportExtras<'_> {
        ReportExtras { open: &self.open, deferred: &self.deferred, posted_range: self.posted_range }
    }

    fn import(&self, store: &mut dyn Store, store_name: &str) -> Result<tieout_store::SettlementImport, StoreError> {
        store.import_transaction_report(&self.meta, &self.file, &self.keys, store_name, self.extras())
    }
}

fn read_report(files: &StoreFiles) -> (FileMeta, TransactionReport) {
    let (meta, bytes) = meta(&files.transaction_report, SourceFormat::AmazonTransactionReport, Some(&files.store));
    let report = read_transaction_report(&meta.name, &bytes);
    assert!(!tieout_core::diag::has_errors(&report.diagnostics), "{:?}", report.diagnostics);
    (meta, report)
}

fn report_parts(meta: FileMeta, report: TransactionReport) -> Report {
    struct Acc {
        header: SettlementHeader,
        payout: Option<i64>,
    }
    let posted_range = report.rows.iter().fold((i64::MAX, i64::MIN), |(low, high), row| {
        (low.min(row.posted_utc_seconds), high.max(row.posted_utc_seconds))
    });
    let mut settlements: BTreeMap<u64, Acc> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut deferred = Vec::new();
    for transaction_line in report.lines {
        let line = transaction_line.line;
        if !transaction_line.released {
            deferred.push(DeferredLine {
                line: line.line,
                settlement_id: (line.settlement_id != 0).then_some(line.settlement_id),
                order_id: line.order_id,
                transaction_type: line.transaction_type,
                amount_type: line.amount_type,
                description: line.amount_description,
                amount_minor: line.amount_minor,
                currency: line.currency,
                posted_utc_seconds: line.posted_utc_seconds,
                release_utc_seconds: report.rows[transaction_line.row].release_utc_seconds,
            });
            continue;
        }
        let acc = settlements.entry(line.settlement_id).or_insert_with(|| Acc {
            header: SettlementHeader {
                settlement_id: line.settlement_id,
                line: line.line,
                start_utc_seconds: line.posted_utc_seconds,
                end_utc_seconds: line.posted_utc_seconds,
                deposit_utc_seconds: None,
                total_minor: 0,
                currency: line.currency,
                lines_sum_minor: 0,
                line_count: 0,
            },
            payout: None,
        });
        if line.transaction == TransactionClass::Transfer && line.kind == LineKind::Transaction {
            *acc.payout.get_or_insert(0) += line.amount_minor;
            acc.header.deposit_utc_seconds = acc.header.deposit_utc_seconds.max(Some(line.posted_utc_seconds));
            continue;
        }
        let header = &mut acc.header;
        header.start_utc_seconds = header.start_utc_seconds.min(line.posted_utc_seconds);
        header.end_utc_seconds = header.end_utc_seconds.max(line.posted_utc_seconds);
        header.lines_sum_minor += line.amount_minor;
        header.line_count += 1;
        lines.push(line);
    }
    let mut open = Vec::new();
    let headers = settlements
        .into_values()
        .map(|mut acc| {
            match acc.payout {
                Some(payout) => acc.header.total_minor = -payout,
                None => {
                    acc.header.total_minor = acc.header.lines_sum_minor;
                    open.push(acc.header.settlement_id);
                }
            }
            acc.header
        })
        .collect();
    let file = SettlementFile { strings: report.strings, settlements: headers, lines, diagnostics: report.diagnostics };
    // A report tells no two items apart: each row is its own item, and no line is
    // fingerprinted for duplicates.
    let keys = line_keys(&file)
        .into_iter()
        .zip(&file.lines)
        .map(|(keys, line)| LineKeys {
            fingerprint: None,
            item_key: stable_hash(&[&keys.item_key.to_le_bytes()[..], &line.line.to_le_bytes()[..]].concat()),
        })
        .collect();
    Report { meta, file, keys, open, deferred, posted_range }
}

fn transaction_report(files: &StoreFiles) -> Report {
    let (meta, report) = read_report(files);
    report_parts(meta, report)
}

// ---------------------------------------------------------------------------------------
// Steps shared by the scenarios.

fn counts(store: &dyn Store) -> HashMap<&'static str, i64> {
    store.counts().unwrap().into_iter().collect()
}

fn import_orders(store: &mut dyn Store, files: &StoreFiles) {
    let (meta, file) = order_file(files);
    let outcome = store.import_orders(&meta, &file).unwrap();
    let distinct: HashSet<&OrderId> = file.items.iter().map(|i| &i.order_id).collect();
    assert_eq!(outcome.items_added, file.items.len() as u64);
    assert_eq!(outcome.orders_added + outcome.orders_replaced, distinct.len() as u64);
}

fn import_settlement_files(store: &mut dyn Store, files: &StoreFiles) {
    for path in &files.settlement_files {
        let (meta, file) = settlement_file(path, &files.store);
        let outcome = store.import_settlements(&meta, &file, &files.store).unwrap();
        let ids: Vec<u64> = file.settlements.iter().map(|s| s.settlement_id).collect();
        assert_eq!(outcome.settlements_added, ids, "{}", meta.name);
        assert_eq!(outcome.lines_added, file.lines.len() as u64, "{}", meta.name);
        assert!(outcome.settlements_skipped.is_empty() && outcome.settlements_replaced.is_empty());
    }
}

fn import_statements(store: &mut dyn Store) {
    for receipt in &demo().receipt_files {
        let (meta, file) = statement_file(receipt);
        let outcome = store.import_statements(&meta, &file).unwrap();
        assert_eq!(outcome.statements_added, file.statements.len() as u64, "{}", meta.name);
        assert_eq!(outcome.entries_added, file.entries.len() as u64, "{}", meta.name);
    }
}

/// Reconciles what is stored (orders with the core, payouts with a plain test matcher)
/// and saves the run.
fn reconcile_and_save(store: &mut dyn Store) -> i64 {
    let mut input = store.load_reconcile_input().unwrap();
    let as_of = demo().as_of;
    let config = ReconcileConfig { fee_schedules: Vec::new(), amount_tolerance_minor: 0, as_of };
    let result = reconcile(&mut input, &config);
    let (payouts, receipts) = store.load_payouts_and_receipts().unwrap();
    let receipt_results = match_receipts(&payouts, &receipts);
    store.save_reconciliation(CREATED_AT, CONFIG_TEXT, as_of, &result, &input.strings, &receipt_results).unwrap()
}

fn receipt_result(status: ReceiptStatus) -> ReceiptResult {
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

/// Each payout with the first credit of its currency and amount (received) or none
/// (missing); the first debit as a withdrawal; every credit left as unexpected. Not the
/// service's matching: a fixed result with every field filled, for the store to keep.
fn match_receipts(payouts: &[Payout], receipts: &[Receipt]) -> Vec<ReceiptResult> {
    let mut taken: HashSet<i64> = HashSet::new();
    let mut results = Vec::new();
    for payout in payouts {
        let found = receipts
            .iter()
            .find(|r| !taken.contains(&r.id) && r.currency == payout.currency && r.amount_minor == payout.amount_minor);
        let mut result = receipt_result(if found.is_some() { ReceiptStatus::Received } else { ReceiptStatus::Missing });
        result.settlement_ids.push(payout.settlement_id);
        result.expected = Some(Money::new(payout.amount_minor, payout.currency));
        if let Some(receipt) = found {
            taken.insert(receipt.id);
            result.receipt_ids.push(receipt.id);
            result.received = Some(Money::new(receipt.amount_minor, receipt.currency));
            result.rule_id = Some("same-amount".to_owned());
            result.score = Some(100);
            result.difference_minor = Some(0);
            result.date_difference_days = Some((receipt.booking_date - payout.deposit_date).num_days());
            result.implied_rate = Some("1.000000".to_owned());
            result.reference_rate = Some("1.000000".to_owned());
            result.rate_within_band = Some(true);
            result.fx_difference_minor = Some(0);
        }
        results.push(result);
    }
    if let Some(debit) = receipts.iter().find(|r| r.amount_minor < 0) {
        let mut result = receipt_result(ReceiptStatus::Pending);
        result.withdrawal_ids.push(debit.id);
        result.expected = Some(Money::new(-debit.amount_minor, debit.currency));
        result.rate_within_band = Some(false);
        results.push(result);
    }
    for receipt in receipts.iter().filter(|r| r.amount_minor > 0 && !taken.contains(&r.id)) {
        let mut result = receipt_result(ReceiptStatus::UnexpectedReceipt);
        result.receipt_ids.push(receipt.id);
        result.received = Some(Money::new(receipt.amount_minor, receipt.currency));
        results.push(result);
    }
    results
}

/// The demo month in one store: every store's orders, two stores' settlement files, the
/// third store's transaction report (a report of the first store too: its settlements
/// are skipped, the files gave them), every statement; reconciled.
fn import_demo_month(store: &mut dyn Store) {
    let demo = demo();
    for files in &demo.stores {
        import_orders(store, files);
    }
    for files in &demo.stores[..2] {
        import_settlement_files(store, files);
    }
    let third = &demo.stores[2];
    let report = transaction_report(third);
    let outcome = report.import(store, &third.store).unwrap();
    let ids: Vec<u64> = report.file.settlements.iter().map(|s| s.settlement_id).collect();
    assert_eq!(outcome.settlements_added, ids);
    assert_eq!(outcome.lines_added, report.file.lines.len() as u64);
    assert_eq!((outcome.deferred_added, outcome.settlements_merged.len()), (0, 0));
    let first = &demo.stores[0];
    let report = transaction_report(first);
    let outcome = report.import(store, &first.store).unwrap();
    assert!(outcome.settlements_added.is_empty() && outcome.lines_added == 0, "{outcome:?}");
    let skipped: Vec<u64> = outcome.settlements_skipped.iter().map(|(id, _)| *id).collect();
    assert_eq!(skipped, report.file.settlements.iter().map(|s| s.settlement_id).collect::<Vec<_>>());
    assert!(outcome.settlements_skipped.iter().all(|(_, name)| name.ends_with(".txt")), "{outcome:?}");
    import_statements(store);
}

// ---------------------------------------------------------------------------------------
// Scenarios, each run on both engines.

fn scenario_demo_month(store: &mut dyn Store) {
    assert!(store.files().unwrap().is_empty());
    assert!(store.latest_run().unwrap().is_none());
    import_demo_month(store);
    let demo = demo();
    let stored = counts(store);
    let settlement_lines: usize = demo.stores[..2]
        .iter()
        .flat_map(|f| &f.settlement_files)
        .map(|p| settlement_file(p, "x").1.lines.len())
        .sum::<usize>()
        + transaction_report(&demo.stores[2]).file.lines.len();
    assert_eq!(stored["settlement_line"], settlement_lines as i64);
    assert_eq!(stored["order_result"], 0);
    assert_eq!(stored["deferred_line"], 0);
    assert!(store.verify_settlement_sums().unwrap().is_empty());
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
    // The demo's inconsistent settlement is stored as read: its lines do not sum to its total.
    let settlements = store.settlements().unwrap();
    for (id, difference) in &demo.inconsistent_settlements {
        let settlement = settlements.iter().find(|s| s.settlement_id == *id).unwrap();
        assert_eq!(settlement.total_minor - settlement.lines_sum_minor, *difference);
    }
    assert!(settlements.iter().all(|s| !s.open));
    // Files: each with what its import recorded, found by its identity.
    let files = store.files().unwrap();
    let settlement_files: usize = demo.stores[..2].iter().map(|f| f.settlement_files.len()).sum();
    assert_eq!(files.len(), demo.stores.len() + settlement_files + 2 + demo.receipt_files.len());
    for file in &files {
        assert_eq!(store.file_by_sha256(&file.sha256).unwrap().as_ref(), Some(file));
    }
    assert!(store.file_by_sha256("0".repeat(64).as_str()).unwrap().is_none());

    let run_id = reconcile_and_save(store);
    let run = store.latest_run().unwrap().unwrap();
    assert_eq!((run.id, run.created_at.as_str(), run.as_of), (run_id, CREATED_AT, demo.as_of));
    assert_eq!(store.run_config(run_id).unwrap(), CONFIG_TEXT);
    assert_eq!(store.run_last_file_id(run_id).unwrap(), files.last().unwrap().id);
    let results = store.order_results(None).unwrap();
    assert_eq!(results.len() as i64, run.order_count);
    assert_eq!(results.iter().filter(|r| r.category.is_difference()).count() as i64, run.difference_count);
    assert!(results.windows(2).all(|w| w[0].order_id < w[1].order_id));
    assert_eq!(counts(store)["order_result"], run.order_count);
    let receipts = store.receipt_results().unwrap();
    let (payouts, _) = store.load_payouts_and_receipts().unwrap();
    assert_eq!(receipts.iter().map(|r| r.settlements.len()).sum::<usize>(), payouts.len());
    assert!(receipts.iter().any(|r| r.kind() == "withdrawal"));
    assert!(receipts.iter().any(|r| r.status == ReceiptStatus::Received && r.receipts.len() == 1));
    assert!(receipts.iter().any(|r| r.kind() == "receipt"));
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
    // The roll-forward input: every settlement, and its lines summed per day and bucket.
    let (closes, postings) = store.load_roll_forward_input().unwrap();
    assert_eq!(closes.len(), settlements.len());
    for close in &closes {
        let posted: i64 =
            postings.iter().filter(|p| p.settlement_id == close.settlement_id).map(|p| p.amount_minor).sum();
        let settlement = settlements.iter().find(|s| s.settlement_id == close.settlement_id).unwrap();
        assert_eq!(posted, settlement.lines_sum_minor);
    }
}

fn scenario_same_file_twice(store: &mut dyn Store) {
    let files = store_files(0);
    let (meta, file) = settlement_file(&files.settlement_files[0], &files.store);
    store.import_settlements(&meta, &file, &files.store).unwrap();
    let before = counts(store);
    let stored = store.file_by_sha256(&meta.sha256).unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.record_count), (meta.name.as_str(), file.lines.len() as i64));
    assert_eq!(stored.store.as_deref(), Some(files.store.as_str()));
    assert_eq!((stored.format.as_str(), stored.size_bytes), ("amazon-settlement-v2", meta.size_bytes as i64));
    // The same file again: the store refuses it (the import use case finds it first by its
    // identity and says "already imported"), and nothing changes.
    assert!(store.import_settlements(&meta, &file, &files.store).is_err());
    assert_eq!(counts(store), before);
    // The same settlement from another file: skipped, never counted twice.
    let copy = another_copy(&meta, "copy.txt");
    let outcome = store.import_settlements(&copy, &file, &files.store).unwrap();
    let ids: Vec<(u64, String)> = file.settlements.iter().map(|s| (s.settlement_id, meta.name.clone())).collect();
    assert_eq!(outcome.settlements_skipped, ids);
    assert!(outcome.settlements_added.is_empty());
    assert_eq!(outcome.lines_added, 0);
    assert_eq!(store.file_by_sha256(&copy.sha256).unwrap().unwrap().record_count, 0);
    let after = counts(store);
    assert_eq!((after["settlement"], after["settlement_line"]), (before["settlement"], before["settlement_line"]));

    // An order export again: the later export's rows replace the earlier's.
    let (meta, orders) = order_file(files);
    let first = store.import_orders(&meta, &orders).unwrap();
    let outcome = store.import_orders(&another_copy(&meta, "orders-again.csv"), &orders).unwrap();
    assert_eq!(outcome.orders_replaced, first.orders_added);
    assert_eq!((outcome.orders_added, outcome.items_added), (0, orders.items.len() as u64));
    assert_eq!(counts(store)["order_item"], orders.items.len() as i64);

    // A statement with its own reference: skipped when seen again. A tabular export (no
    // statement reference): its entries already stored for the account are skipped.
    for receipt in &demo().receipt_files {
        let (meta, statements) = statement_file(receipt);
        store.import_statements(&meta, &statements).unwrap();
        let before = counts(store);
        let outcome =
            store.import_statements(&another_copy(&meta, &format!("again-{}", meta.name)), &statements).unwrap();
        assert_eq!(outcome.entries_added, 0, "{}", meta.name);
        assert_eq!(counts(store)["statement_entry"], before["statement_entry"]);
        let with_reference = statements.statements.iter().filter(|s| !s.statement_ref.is_empty()).count();
        assert_eq!(outcome.statements_skipped.len(), with_reference, "{}", meta.name);
        assert!(outcome.statements_skipped.iter().all(|(_, _, name)| *name == meta.name));
        assert_eq!(outcome.statements_added as usize, statements.statements.len() - with_reference);
        let skipped_entries: u64 = outcome.entries_skipped.iter().map(|(_, n, _, _)| n).sum();
        let without_reference = statements
            .entries
            .iter()
            .filter(|e| statements.statements[e.statement as usize].statement_ref.is_empty())
            .count() as u64;
        assert_eq!(skipped_entries, without_reference, "{}", meta.name);
        assert!(outcome.entries_skipped.iter().all(|(_, _, _, name)| *name == meta.name));
    }
    assert!(demo().receipt_files.iter().any(|r| r.profile.is_some()), "a tabular export is among them");
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
}

fn scenario_settlement_files_replace_report_settlements(store: &mut dyn Store) {
    let files = store_files(1);
    let report = transaction_report(files);
    let outcome = report.import(store, &files.store).unwrap();
    assert_eq!(outcome.settlements_added.len(), report.file.settlements.len());
    for path in &files.settlement_files {
        let (meta, file) = settlement_file(path, &files.store);
        let outcome = store.import_settlements(&meta, &file, &files.store).unwrap();
        let replaced: Vec<(u64, String)> =
            file.settlements.iter().map(|s| (s.settlement_id, report.meta.name.clone())).collect();
        assert_eq!(outcome.settlements_replaced, replaced);
        assert_eq!(outcome.settlements_added.len(), file.settlements.len());
        assert_eq!(outcome.lines_added, file.lines.len() as u64);
    }
    let names: HashSet<String> = files.settlement_files.iter().map(|p| file_name(p)).collect();
    let settlements = store.settlements().unwrap();
    assert!(settlements.iter().all(|s| names.contains(&s.file_name)), "{settlements:#?}");
    let lines: usize = files.settlement_files.iter().map(|p| settlement_file(p, "x").1.lines.len()).sum();
    assert_eq!(counts(store)["settlement_line"], lines as i64);
    assert!(store.verify_settlement_sums().unwrap().is_empty());
    // The report's records were taken over by the settlement files: not a finding.
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
}

fn scenario_overlapping_reports_open_and_deferred(store: &mut dyn Store) {
    let files = store_files(0);
    // An earlier report: the first 60 % of the rows (no payout row yet, so every settlement
    // is open), three of its order lines still deferred.
    let (meta, full) = read_report(files);
    let mut early =
        TransactionReport { lines: full.lines.clone(), rows: full.rows.clone(), ..TransactionReport::default() };
    early.strings = full.strings.clone();
    early.lines.truncate(full.lines.len() * 6 / 10);
    early.lines.retain(|l| l.line.transaction != TransactionClass::Transfer);
    let mut deferred_count = 0;
    for line in early.lines.iter_mut().filter(|l| l.line.order_id.is_some()).take(3) {
        line.released = false;
        deferred_count += 1;
    }
    let early = report_parts(another_copy(&meta, "early-report.csv"), early);
    assert_eq!(early.open.len(), early.file.settlements.len());
    let outcome = early.import(store, &files.store).unwrap();
    assert_eq!(outcome.deferred_added, deferred_count);
    assert_eq!(outcome.lines_added, early.file.lines.len() as u64);
    let settlements = store.settlements().unwrap();
    assert!(settlements
        .iter()
        .all(|s| s.open && s.total_minor == s.lines_sum_minor && s.deposit_utc_seconds.is_none()));
    let deferred = store.deferred_summary().unwrap();
    assert_eq!(deferred.len(), 1);
    assert_eq!((deferred[0].store.as_str(), deferred[0].lines), (files.store.as_str(), deferred_count as i64));
    assert_eq!(deferred[0].amount_minor, early.deferred.iter().map(|d| d.amount_minor).sum::<i64>());
    let (payouts, _) = store.load_payouts_and_receipts().unwrap();
    assert!(payouts.is_empty(), "an open settlement is not an expected payout");
    let (closes, _) = store.load_roll_forward_input().unwrap();
    assert!(closes.iter().all(|c| c.transfer_date.is_none()));

    // The whole report: rows the earlier one had are not added again; settlements get
    // their payout; the deferred lines, released now, are settlement lines.
    let late = report_parts(meta, full);
    let outcome = late.import(store, &files.store).unwrap();
    let early_ids: HashSet<u64> = early.file.settlements.iter().map(|s| s.settlement_id).collect();
    let mut merged = outcome.settlements_merged.clone();
    merged.sort_unstable();
    let mut expected: Vec<u64> = early_ids.iter().copied().collect();
    expected.sort_unstable();
    assert_eq!(merged, expected);
    assert_eq!(outcome.settlements_added.len() + merged.len(), late.file.settlements.len());
    assert_eq!(outcome.lines_added, (late.file.lines.len() - early.file.lines.len()) as u64);
    assert_eq!(counts(store)["settlement_line"], late.file.lines.len() as i64);
    assert!(store.deferred_summary().unwrap().is_empty());
    let settlements = store.settlements().unwrap();
    for header in &late.file.settlements {
        let stored = settlements.iter().find(|s| s.settlement_id == header.settlement_id).unwrap();
        assert_eq!(
            (stored.open, stored.total_minor, stored.deposit_utc_seconds, stored.lines_sum_minor),
            (
                late.open.contains(&header.settlement_id),
                header.total_minor,
                header.deposit_utc_seconds,
                header.lines_sum_minor
            ),
            "settlement {}",
            header.settlement_id
        );
        assert_eq!(stored.line_count, header.line_count);
    }
    assert!(store.verify_settlement_sums().unwrap().is_empty());
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
    // The same report once more (as another file): every row is there already.
    let outcome = late.import_as(store, &files.store, "late-again.csv");
    assert_eq!(outcome.lines_added, 0);
    assert_eq!(counts(store)["settlement_line"], late.file.lines.len() as i64);
}

impl Report {
    fn import_as(&self, store: &mut dyn Store, store_name: &str, name: &str) -> tieout_store::SettlementImport {
        let meta = another_copy(&self.meta, name);
        store.import_transaction_report(&meta, &self.file, &self.keys, store_name, self.extras()).unwrap()
    }
}

fn scenario_a_failing_import_leaves_nothing(store: &mut dyn Store) {
    let files = store_files(2);
    // A file naming one settlement twice fails on the second (after the first and its
    // file are written): nothing of it stays.
    let (meta, mut file) = settlement_file(&files.settlement_files[0], &files.store);
    let repeated = file.settlements[0].clone();
    file.settlements.push(repeated);
    assert!(store.import_settlements(&meta, &file, &files.store).is_err());
    assert!(counts(store).values().all(|n| *n == 0), "{:?}", counts(store));
    assert!(store.files().unwrap().is_empty());

    // A settlement file replacing a report's settlement fails after the replacement (its
    // identity is the report's): the report's settlement is still there, whole.
    let report = transaction_report(files);
    report.import(store, &files.store).unwrap();
    let before = (counts(store), store.settlements().unwrap());
    let (meta, file) = settlement_file(&files.settlement_files[0], &files.store);
    let clash = FileMeta { sha256: report.meta.sha256.clone(), ..meta };
    assert!(store.import_settlements(&clash, &file, &files.store).is_err());
    assert_eq!((counts(store), store.settlements().unwrap()), before);

    // An order export replacing orders fails the same way: the earlier rows stay.
    let (meta, orders) = order_file(files);
    store.import_orders(&meta, &orders).unwrap();
    let order = orders.items[0].order_id.clone();
    let rows = store.order_rows(&order).unwrap();
    let before = counts(store);
    let clash = FileMeta { name: "later.csv".to_owned(), ..meta.clone() };
    assert!(store.import_orders(&clash, &orders).is_err());
    assert_eq!(counts(store), before);
    assert_eq!(store.order_rows(&order).unwrap(), rows);
    // And a statement file whose identity is taken.
    let (_, statements) = statement_file(&demo().receipt_files[0]);
    assert!(store.import_statements(&meta, &statements).is_err());
    assert_eq!(counts(store), before);
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
}

fn scenario_a_later_order_export_replaces_earlier_rows(store: &mut dyn Store) {
    let files = store_files(0);
    let (meta, orders) = order_file(files);
    let first = store.import_orders(&meta, &orders).unwrap();
    assert_eq!(first.orders_replaced, 0);
    // A later export of five of its orders (its rows with other amounts) and an ERP order
    // number that is not an Amazon id.
    let mut later = OrderFile { strings: orders.strings.clone(), items: Vec::new(), diagnostics: Vec::new() };
    let mut chosen: Vec<OrderId> = Vec::new();
    for item in &orders.items {
        if !chosen.contains(&item.order_id) {
            if chosen.len() == 5 {
                continue;
            }
            chosen.push(item.order_id.clone());
        }
        let mut item = item.clone();
        item.amount_minor += 100;
        later.items.push(item);
    }
    let mut erp = later.items[0].clone();
    erp.order_id = OrderId::parse("ERP-1001").unwrap();
    assert!(erp.order_id.text().is_some());
    later.items.push(erp.clone());
    let later_meta = another_copy(&meta, "later-orders.csv");
    let outcome = store.import_orders(&later_meta, &later).unwrap();
    assert_eq!((outcome.orders_replaced, outcome.orders_added), (5, 1));
    assert_eq!(outcome.items_added, later.items.len() as u64);
    assert_eq!(counts(store)["order_item"], orders.items.len() as i64 + 1);
    for order in &chosen {
        let rows = store.order_rows(order).unwrap();
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.file_name == "later-orders.csv"), "{rows:#?}");
        let before: i64 = orders.items.iter().filter(|i| &i.order_id == order).map(|i| i.amount_minor).sum();
        assert_eq!(rows.iter().map(|r| r.amount_minor).sum::<i64>(), before + 100 * rows.len() as i64);
    }
    // The text order id is replaced by the next export that has it.
    let mut again = OrderFile { strings: orders.strings.clone(), items: vec![erp.clone()], diagnostics: Vec::new() };
    again.items[0].amount_minor = 1;
    let outcome = store.import_orders(&another_copy(&meta, "erp.csv"), &again).unwrap();
    assert_eq!((outcome.orders_replaced, outcome.orders_added), (1, 0));
    let rows = store.order_rows(&erp.order_id).unwrap();
    assert_eq!(rows.iter().map(|r| (r.file_name.as_str(), r.amount_minor)).collect::<Vec<_>>(), [("erp.csv", 1)]);
    let input = store.load_reconcile_input().unwrap();
    assert_eq!(input.orders.iter().filter(|o| o.order_id == erp.order_id).count(), 1);
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
}

fn scenario_results_pages_filters_and_reruns(store: &mut dyn Store) {
    let files = store_files(0);
    import_orders(store, files);
    import_settlement_files(store, files);
    let first_run = reconcile_and_save(store);
    let all = store.order_results(None).unwrap();
    assert!(!all.is_empty());
    // One page after another, by the keyset cursor: every result once, in stored order.
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.order_results_page(&ResultFilter::default(), after, 7).unwrap();
        assert!(page.len() <= 7);
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        pages.extend(page);
    }
    assert!(pages.windows(2).all(|w| w[0].0 < w[1].0));
    let mut paged: Vec<_> = pages.iter().map(|(_, r)| r.clone()).collect();
    paged.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    assert_eq!(paged, all);
    let one = store.order_results_page(&ResultFilter::default(), None, usize::MAX).unwrap();
    assert_eq!(one, pages);
    // Filters select what the rows say.
    let check = |filter: ResultFilter, keep: &dyn Fn(&tieout_store::OrderResultRow) -> bool| {
        let got = store.order_results_page(&filter, None, 100_000).unwrap();
        let expected: Vec<_> = pages.iter().filter(|(_, r)| keep(r)).cloned().collect();
        assert_eq!(got, expected, "{filter:?}");
        got.len()
    };
    let store_name = files.store.clone();
    assert_eq!(
        check(ResultFilter { stores: Some(vec![store_name.clone()]), ..ResultFilter::default() }, &|r| r.store
            == store_name),
        pages.len()
    );
    assert_eq!(check(ResultFilter { stores: Some(Vec::new()), ..ResultFilter::default() }, &|_| false), 0);
    let marketplace = pages[0].1.marketplace.clone();
    check(ResultFilter { marketplace: Some(marketplace.clone()), ..ResultFilter::default() }, &|r| {
        r.marketplace == marketplace
    });
    let differences =
        check(ResultFilter { differences_only: true, ..ResultFilter::default() }, &|r| r.category.is_difference());
    assert!(differences > 0);
    for category in Category::ALL {
        check(ResultFilter { category: Some(category), ..ResultFilter::default() }, &|r| r.category == category);
    }
    let from = NaiveDate::from_ymd_opt(2026, 10, 10).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    let in_period =
        check(ResultFilter { period_from: Some(from), period_to: Some(to), ..ResultFilter::default() }, &|r| {
            r.period_date >= from && r.period_date <= to
        });
    assert!(in_period > 0);
    // One order's result.
    let some = &all[all.len() / 2];
    assert_eq!(store.order_results(Some(&some.order_id)).unwrap(), std::slice::from_ref(some));
    assert!(store.order_results(Some(&OrderId::parse("NO-SUCH-ORDER").unwrap())).unwrap().is_empty());
    // Another run replaces the results and the payout ↔ receipt results.
    import_statements(store);
    let second_run = reconcile_and_save(store);
    assert_ne!(second_run, first_run);
    assert_eq!(store.latest_run().unwrap().unwrap().id, second_run);
    assert_eq!(store.order_results(None).unwrap(), all);
    assert_eq!(store.order_results_page(&ResultFilter::default(), None, 100_000).unwrap(), pages);
    assert!(!store.receipt_results().unwrap().is_empty());
    assert!(store.run_last_file_id(second_run).unwrap() > store.run_last_file_id(first_run).unwrap());
    assert_eq!(store.integrity_findings().unwrap(), Vec::<String>::new());
    assert!(store.run_config(second_run + 1_000_000).is_err(), "a run that does not exist");
}

fn scenario_explain(store: &mut dyn Store) {
    let files = store_files(1);
    import_orders(store, files);
    import_settlement_files(store, files);
    import_statements(store);
    reconcile_and_save(store);
    let (_, orders) = order_file(files);
    let results = store.order_results(None).unwrap();
    let mut checked = 0;
    for result in results.iter().filter(|r| r.status.is_some() && r.line_count > 0).take(20) {
        let rows = store.order_rows(&result.order_id).unwrap();
        let items: Vec<_> = orders.items.iter().filter(|i| i.order_id == result.order_id).collect();
        assert_eq!(rows.len(), items.len());
        for (row, item) in rows.iter().zip(&items) {
            assert_eq!(
                (row.line, row.amount_minor, row.file_name.as_str()),
                (item.line, item.amount_minor, file_name(&files.orders_file).as_str())
            );
            assert_eq!(
                (row.status, row.purchase_date, row.ship_date),
                (item.status, item.purchase_date, item.ship_date)
            );
        }
        let lines = store.order_lines(&result.order_id).unwrap();
        assert_eq!(lines.len(), result.line_count as usize);
        assert_eq!(lines.iter().map(|l| l.amount_minor).sum::<i64>(), result.net_settled_minor);
        assert!(lines.windows(2).all(|w| (w[0].posted_utc_seconds, w[0].settlement_id, w[0].line)
            <= (w[1].posted_utc_seconds, w[1].settlement_id, w[1].line)));
        assert_eq!(lines.iter().filter(|l| l.duplicate_of.is_some()).count(), result.duplicate_line_count as usize);
        checked += 1;
    }
    assert!(checked > 10);
    // A duplicated line names the line it repeats.
    let duplicated = results.iter().find(|r| r.duplicate_line_count > 0).expect("the demo month has a duplicated line");
    let lines = store.order_lines(&duplicated.order_id).unwrap();
    let duplicate = lines.iter().find(|l| l.duplicate_of.is_some()).unwrap();
    assert!(lines.iter().any(|l| Some(l.id) == duplicate.duplicate_of));
    assert!(store.order_rows(&OrderId::parse("NO-SUCH-ORDER").unwrap()).unwrap().is_empty());
    assert!(store.order_lines(&OrderId::parse("NO-SUCH-ORDER").unwrap()).unwrap().is_empty());
    // The account of a receipt, every entry in booking order.
    let (_, receipts) = store.load_payouts_and_receipts().unwrap();
    let receipt = receipts.iter().find(|r| r.amount_minor > 0).unwrap();
    let account = store.account_entries_of(receipt.id).unwrap().unwrap();
    assert_eq!((account.account.as_str(), account.currency), (receipt.account.as_str(), receipt.currency));
    assert!(account.entries.iter().any(|(e, amount)| e.entry_id == receipt.id && *amount == receipt.amount_minor));
    assert!(account.entries.windows(2).all(|w| w[0].0.booking_date <= w[1].0.booking_date));
    let same_account =
        receipts.iter().filter(|r| r.account == receipt.account && r.currency == receipt.currency).count();
    assert!(account.entries.len() >= same_account);
    assert!(store.account_entries_of(-1).unwrap().is_none());
    // The payout results name the receipts with their file and line.
    let received = store.receipt_results().unwrap().into_iter().find(|r| r.status == ReceiptStatus::Received).unwrap();
    assert_eq!(received.settlements.len(), 1);
    assert!(received.settlements[0].deposit_date.is_some() && !received.settlements[0].store.is_empty());
    assert!(received.receipts[0].line > 0 && !received.receipts[0].file_name.is_empty());
    let marketplaces = store.settlement_marketplaces().unwrap();
    assert_eq!(marketplaces.len(), store.settlements().unwrap().len());
    assert!(marketplaces.values().all(|m| *m == m.to_lowercase()));
}

fn scenario_difference_actions(store: &mut dyn Store) {
    let first = OrderId::parse("111-1111111-1111111").unwrap();
    let second = OrderId::parse("ERP-1001").unwrap();
    assert!(store.difference_actions(None).unwrap().is_empty());
    let action = |order: &OrderId, action: &str, assignee: Option<i64>, at: i64| DifferenceAction {
        order_id: order.clone(),
        action: action.to_owned(),
        reason: (action == "resolve").then(|| "timing".to_owned()),
        comment: Some(format!("{action} at {at}")),
        assignee,
        by_user: 7,
        at,
        kind: (action == "resolve").then(|| "adjust".to_owned()),
        currency: (action == "resolve").then(|| "USD".to_owned()),
        ours_minor: (action == "resolve").then_some(10_000),
        theirs_minor: (action == "resolve").then_some(9_950),
        amount_minor: (action == "resolve").then_some(-50),
    };
    store
        .add_difference_actions(&[action(&first, "resolve", None, 10), action(&second, "assign", Some(3), 11)])
        .unwrap();
    store.add_difference_actions(&[action(&first, "reopen", None, 12)]).unwrap();
    let all = store.difference_actions(None).unwrap();
    assert_eq!(
        all.iter().map(|a| (a.action.as_str(), a.at)).collect::<Vec<_>>(),
        [("resolve", 10), ("assign", 11), ("reopen", 12)]
    );
    let of_first = store.difference_actions(Some(&first)).unwrap();
    assert_eq!(of_first, vec![action(&first, "resolve", None, 10), action(&first, "reopen", None, 12)]);
    let of_second = store.difference_actions(Some(&second)).unwrap();
    assert_eq!(of_second, vec![action(&second, "assign", Some(3), 11)]);
}

fn scenario_receipt_actions(store: &mut dyn Store) {
    assert!(store.receipt_actions(None).unwrap().is_empty());
    let action = |key: &str, action: &str, by_user: i64, at: i64| {
        let resolve = action == "resolve";
        ReceiptAction {
            key: key.to_owned(),
            action: action.to_owned(),
            kind: resolve.then(|| "write_off".to_owned()),
            reason: resolve.then(|| "bank_charges".to_owned()),
            comment: (!resolve).then(|| format!("{action} at {at}")),
            currency: resolve.then(|| "USD".to_owned()),
            ours_minor: resolve.then_some(58_289),
            theirs_minor: resolve.then_some(56_489),
            amount_minor: resolve.then_some(1_800),
            by_user,
            at,
        }
    };
    let (payout, withdrawal) = ("payout:28471003921", "withdrawal:17");
    store.add_receipt_actions(&[action(payout, "resolve", 0, 10), action(withdrawal, "resolve", 7, 11)]).unwrap();
    store.add_receipt_actions(&[action(payout, "reopen", 7, 12)]).unwrap();
    let all = store.receipt_actions(None).unwrap();
    assert_eq!(
        all.iter().map(|a| (a.key.as_str(), a.action.as_str(), a.at)).collect::<Vec<_>>(),
        [(payout, "resolve", 10), (withdrawal, "resolve", 11), (payout, "reopen", 12)]
    );
    assert_eq!(all[1], action(withdrawal, "resolve", 7, 11), "every field comes back as written");
    assert_eq!(
        store.receipt_actions(Some(payout)).unwrap(),
        vec![action(payout, "resolve", 0, 10), action(payout, "reopen", 7, 12)]
    );
    assert!(store.receipt_actions(Some("receipt:17")).unwrap().is_empty());
    // The order differences' actions are a table of their own.
    assert!(store.difference_actions(None).unwrap().is_empty());
}

fn scenario_counterparty_statements(store: &mut dyn Store) {
    use tieout_core::counterparty::{DocType, Document};
    let usd = tieout_core::Currency::from_code("USD").unwrap();
    let document = |line: u32, doc_type: DocType, number: &str, day: u32, amount_minor: i64| Document {
        line,
        counterparty: "D-001".to_owned(),
        counterparty_name: Some("Distributor One".to_owned()),
        doc_type,
        number: number.to_owned(),
        date: NaiveDate::from_ymd_opt(2026, 10, day).unwrap(),
        amount_minor,
        currency: usd,
        description: format!("{number} items"),
    };
    let meta = |name: &str, format: SourceFormat| FileMeta {
        sha256: format!("sha-{name}"),
        name: name.to_owned(),
        format,
        store: None,
        size_bytes: 10,
        imported_at: "2026-11-01T00:00:00Z".to_owned(),
    };
    let documents = [
        document(2, DocType::Invoice, "INV-1", 3, 120_000),
        document(3, DocType::Refund, "CN-1", 9, 5_000),
        document(4, DocType::Receipt, "RC-1", 20, 50_000),
    ];
    let first = store.import_documents(&meta("docs.csv", SourceFormat::LedgerDocuments), &documents).unwrap();
    assert_eq!((first.added, first.skipped), (3, 0));
    // An overlapping export adds only what is new.
    let again = [documents[2].clone(), document(2, DocType::Invoice, "INV-2", 25, 700)];
    let second = store.import_documents(&meta("docs-2.csv", SourceFormat::LedgerDocuments), &again).unwrap();
    assert_eq!((second.added, second.skipped), (1, 1));
    let stored = store.documents(Some("D-001")).unwrap();
    assert_eq!(
        stored.iter().map(|d| d.document.number.as_str()).collect::<Vec<_>>(),
        ["INV-1", "CN-1", "RC-1", "INV-2"]
    );
    assert_eq!(stored[0].document, documents[0]);
    assert_eq!(stored[0].file_name, "docs.csv");
    assert!(store.documents(Some("nobody")).unwrap().is_empty());

    let id = store
        .create_statement(&tieout_store::NewStatement {
            counterparty: "D-001".into(),
            side: "receivable".into(),
            currency: "USD".into(),
            period_start_day: 739_525,
            period_end_day: 739_555,
            opening_minor: 300,
            due_minor: 115_000,
            document_ids: vec![stored[0].id, stored[1].id],
            created_by: Some(4),
            at: 100,
        })
        .unwrap();
    let statements = store.counterparty_statements().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        (statements[0].state.as_str(), statements[0].paid_minor, statements[0].opening_minor),
        ("draft", 0, 300)
    );
    assert_eq!(store.statement_documents(id).unwrap(), vec![stored[0].id, stored[1].id]);
    assert!(store.set_statement_state(id, "draft", "pending_review", 101).unwrap());
    assert!(!store.set_statement_state(id, "draft", "void", 102).unwrap(), "no longer a draft");
    assert!(store.set_statement_state(id, "pending_review", "reviewed", 103).unwrap());
    store
        .apply_statement_payments(&[(id, stored[2].id, 50_000)], &[(id, 50_000, "partially_paid".into())], 104)
        .unwrap();
    assert_eq!(store.statement_payments().unwrap(), vec![(id, stored[2].id, 50_000)]);
    let statement = &store.counterparty_statements().unwrap()[0];
    assert_eq!((statement.state.as_str(), statement.paid_minor, statement.updated_at), ("partially_paid", 50_000, 104));

    let theirs = |amount_minor: i64| tieout_store::TheirLine {
        line: 2,
        number: "INV-1".into(),
        day: 739_527,
        amount_minor,
        description: "theirs".into(),
    };
    store
        .import_counterparty_lines(&meta("theirs.csv", SourceFormat::CounterpartyStatement), id, &[theirs(119_990)])
        .unwrap();
    store
        .import_counterparty_lines(&meta("theirs-2.csv", SourceFormat::CounterpartyStatement), id, &[theirs(120_000)])
        .unwrap();
    assert_eq!(store.counterparty_lines(id).unwrap(), vec![theirs(120_000)], "a later import replaces the lines");
    let resolution = tieout_store::StatementResolution {
        statement_id: id,
        number: "CN-1".into(),
        kind: "write_off".into(),
        ours_minor: Some(-5_000),
        theirs_minor: None,
        amount_minor: -5_000,
        reason: Some("rounding".into()),
        comment: None,
        by_user: None,
        at: 105,
    };
    store.add_statement_resolutions(std::slice::from_ref(&resolution)).unwrap();
    assert_eq!(store.statement_resolutions(id).unwrap(), vec![resolution]);
    assert!(store.integrity_findings().unwrap().is_empty(), "{:?}", store.integrity_findings().unwrap());
}

#[test]
fn counterparty_documents_statements_payments_and_their_lines() {
    on_both_engines(scenario_counterparty_statements);
}

#[test]
fn actions_on_differences_are_appended_and_read_per_order() {
    on_both_engines(scenario_difference_actions);
}

#[test]
fn actions_on_receipt_differences_are_appended_and_read_per_key() {
    on_both_engines(scenario_receipt_actions);
}

#[test]
fn demo_month_imports_reconciles_and_checks_clean() {
    on_both_engines(scenario_demo_month);
}

#[test]
fn the_same_file_or_settlement_twice_adds_nothing() {
    on_both_engines(scenario_same_file_twice);
}

#[test]
fn settlement_files_replace_settlements_known_from_a_report() {
    on_both_engines(scenario_settlement_files_replace_report_settlements);
}

#[test]
fn overlapping_reports_merge_open_settlements_and_replace_deferred_lines() {
    on_both_engines(scenario_overlapping_reports_open_and_deferred);
}

#[test]
fn a_failing_import_leaves_nothing() {
    on_both_engines(scenario_a_failing_import_leaves_nothing);
}

#[test]
fn a_later_order_export_replaces_earlier_rows() {
    on_both_engines(scenario_a_later_order_export_replaces_earlier_rows);
}

#[test]
fn result_pages_filters_and_a_second_run() {
    on_both_engines(scenario_results_pages_filters_and_reruns);
}

#[test]
fn explain_reads_order_rows_lines_and_account_entries() {
    on_both_engines(scenario_explain);
}

// ---------------------------------------------------------------------------------------
// Both engines, the same answers.

/// Every read method's answer, as comparable text: ids the engines allocate (files,
/// lines, statement entries, runs) replaced by their rank among the ids of their kind.
/// Both engines allocate them in insertion order; their values may differ.
fn snapshot(store: &dyn Store) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut put = |name: &str, items: Vec<String>| {
        out.insert(name.to_owned(), items);
    };
    let debug = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>();

    let files = store.files().unwrap();
    let file_rank = ranks(files.iter().map(|f| f.id));
    put(
        "files",
        debug(&mut files.iter().map(|f| {
            let mut f = f.clone();
            f.id = file_rank[&f.id];
            format!("{f:?}")
        })),
    );
    put(
        "file_by_sha256",
        debug(&mut files.iter().map(|f| format!("{:?}", store.file_by_sha256(&f.sha256).unwrap().map(|g| g.name)))),
    );
    put("settlements", debug(&mut store.settlements().unwrap().iter().map(|s| format!("{s:?}"))));
    let marketplaces: BTreeMap<u64, String> = store.settlement_marketplaces().unwrap().into_iter().collect();
    put("settlement_marketplaces", debug(&mut marketplaces.iter().map(|m| format!("{m:?}"))));
    put("deferred_summary", debug(&mut store.deferred_summary().unwrap().iter().map(|d| format!("{d:?}"))));
    put("counts", debug(&mut store.counts().unwrap().iter().map(|c| format!("{c:?}"))));
    put("integrity_findings", store.integrity_findings().unwrap());
    put("verify_settlement_sums", debug(&mut store.verify_settlement_sums().unwrap().iter().map(|v| format!("{v:?}"))));

    let input = store.load_reconcile_input().unwrap();
    let line_rank = ranks(input.all_lines().map(|l| l.line_id));
    let (orders, lines) = resolved_input(&input, &line_rank);
    put("load_reconcile_input.orders", orders);
    put("load_reconcile_input.lines", lines);

    let (payouts, receipts) = store.load_payouts_and_receipts().unwrap();
    let entry_ids: Vec<i64> = receipts.iter().map(|r| r.id).collect();
    let mut all_entries: Vec<i64> = entry_ids.clone();
    let accounts: Vec<_> = {
        // Every account's entries (zero amounts included), once per account.
        let mut seen = HashSet::new();
        let mut accounts = Vec::new();
        for receipt in &receipts {
            if seen.insert((receipt.account.clone(), receipt.currency)) {
                let account = store.account_entries_of(receipt.id).unwrap().unwrap();
                all_entries.extend(account.entries.iter().map(|(e, _)| e.entry_id));
                accounts.push(account);
            }
        }
        accounts
    };
    let entry_rank = ranks(all_entries);
    put("load_payouts_and_receipts.payouts", debug(&mut payouts.iter().map(|p| format!("{p:?}"))));
    put(
        "load_payouts_and_receipts.receipts",
        debug(&mut receipts.iter().map(|r| {
            let mut r = r.clone();
            r.id = entry_rank[&r.id];
            format!("{r:?}")
        })),
    );
    put(
        "account_entries_of",
        debug(&mut accounts.into_iter().map(|mut a| {
            for (entry, _) in &mut a.entries {
                entry.entry_id = entry_rank[&entry.entry_id];
            }
            format!("{a:?}")
        })),
    );
    put(
        "receipt_results",
        debug(&mut store.receipt_results().unwrap().into_iter().map(|mut r| {
            for entry in r.receipts.iter_mut().chain(r.withdrawals.iter_mut()) {
                entry.entry_id = entry_rank[&entry.entry_id];
            }
            format!("{r:?}")
        })),
    );

    let (closes, mut postings) = store.load_roll_forward_input().unwrap();
    postings.sort_by_key(|p| (p.settlement_id, p.date, p.bucket));
    put("load_roll_forward_input.settlements", debug(&mut closes.iter().map(|c| format!("{c:?}"))));
    put("load_roll_forward_input.postings", debug(&mut postings.iter().map(|p| format!("{p:?}"))));

    let run = store.latest_run().unwrap().unwrap();
    put(
        "latest_run",
        vec![format!(
            "{:?} config {:?} last file {}",
            tieout_store::RunRow { id: 0, ..run.clone() },
            store.run_config(run.id).unwrap(),
            file_rank[&store.run_last_file_id(run.id).unwrap()]
        )],
    );
    let results = store.order_results(None).unwrap();
    put("order_results", debug(&mut results.iter().map(|r| format!("{r:?}"))));
    put(
        "order_results_page",
        debug(
            &mut store
                .order_results_page(&ResultFilter::default(), Some(3), 50)
                .unwrap()
                .iter()
                .map(|r| format!("{r:?}")),
        ),
    );
    put(
        "order_results_page.differences",
        debug(
            &mut store
                .order_results_page(&ResultFilter { differences_only: true, ..ResultFilter::default() }, None, 100_000)
                .unwrap()
                .iter()
                .map(|r| format!("{r:?}")),
        ),
    );
    // Explain: every tenth order, and every order with a duplicated line.
    let explained: Vec<&OrderId> = results
        .iter()
        .enumerate()
        .filter(|(i, r)| i % 10 == 0 || r.duplicate_line_count > 0)
        .map(|(_, r)| &r.order_id)
        .collect();
    put(
        "order_results(order)",
        debug(&mut explained.iter().map(|o| format!("{:?}", store.order_results(Some(o)).unwrap()))),
    );
    put("order_rows", debug(&mut explained.iter().map(|o| format!("{:?}", store.order_rows(o).unwrap()))));
    let all_lines = ranks(explained.iter().flat_map(|o| store.order_lines(o).unwrap()).map(|l| l.id));
    put(
        "order_lines",
        debug(&mut explained.iter().map(|o| {
            let lines: Vec<_> = store
                .order_lines(o)
                .unwrap()
                .into_iter()
                .map(|mut l| {
                    l.id = all_lines[&l.id];
                    l.duplicate_of = l.duplicate_of.map(|d| all_lines.get(&d).copied().unwrap_or(-1));
                    l
                })
                .collect();
            format!("{lines:?}")
        })),
    );
    out
}

fn ranks(ids: impl IntoIterator<Item = i64>) -> HashMap<i64, i64> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().zip(1..).collect()
}

/// Orders and lines with their names resolved (the engines intern them in other orders)
/// and line ids ranked; lines sorted by rank.
fn resolved_input(input: &ReconcileInput, line_rank: &HashMap<i64, i64>) -> (Vec<String>, Vec<String>) {
    let text = |strings: &Interner, sym| strings.resolve(sym).to_owned();
    let orders = input
        .orders
        .iter()
        .map(|o| {
            format!(
                "{} {} {} {:?} {} {:?} {} {} {:?}",
                o.order_id,
                text(&input.strings, o.store),
                text(&input.strings, o.marketplace),
                o.status,
                o.purchase_date,
                o.ship_date,
                o.currency,
                o.amount_minor,
                o.refunded_minor
            )
        })
        .collect();
    let mut lines: Vec<_> = input.all_lines().map(|l| (line_rank[&l.line_id], l)).collect();
    lines.sort_by_key(|(rank, _)| *rank);
    let lines = lines
        .into_iter()
        .map(|(rank, l)| {
            format!(
                "{rank} {} {} {} {} {} {} {:?} {:?} {} {} {} {} {}",
                l.settlement_id,
                l.line,
                l.order_id,
                text(&input.strings, l.store),
                text(&input.strings, l.marketplace),
                l.currency,
                l.transaction,
                l.component,
                l.amount_minor,
                l.quantity,
                l.item,
                l.fingerprint,
                l.posted_date
            )
        })
        .collect();
    (orders, lines)
}

fn assert_same_snapshots(left: &BTreeMap<String, Vec<String>>, right: &BTreeMap<String, Vec<String>>) {
    assert_eq!(left.keys().collect::<Vec<_>>(), right.keys().collect::<Vec<_>>());
    for (name, items) in left {
        let other = &right[name];
        if let Some((index, (a, b))) = items.iter().zip(other).enumerate().find(|(_, (a, b))| a != b) {
            panic!("{name}[{index}] differs between the engines:\nsqlite:   {a}\npostgres: {b}");
        }
        assert_eq!(items.len(), other.len(), "{name}: the engines return different numbers of items");
    }
}

#[test]
fn both_engines_read_the_same_demo_month() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("tieout.db")).unwrap();
    import_demo_month(&mut sqlite);
    reconcile_and_save(&mut sqlite);
    let schema = PgSchema::new();
    let mut postgres = schema.store(7);
    import_demo_month(&mut postgres);
    reconcile_and_save(&mut postgres);
    let (left, right) = (snapshot(&sqlite), snapshot(&postgres));
    assert!(left["order_results"].len() > 500, "{}", left["order_results"].len());
    assert!(left["order_lines"].iter().any(|l| l.contains("duplicate_of: Some")));
    assert!(!left["receipt_results"].is_empty());
    assert_same_snapshots(&left, &right);
    assert_eq!((sqlite.engine(), postgres.engine()), ("sqlite", "postgres"));
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: tenants, the partitioned schema, migrations.

/// Tenant 1 holds the demo month; tenant 2, in the same schema, one store's orders and
/// settlement files (the same files: an identity is per tenant). Neither sees the other.
fn two_tenants(schema: &PgSchema, options: &PgSchemaOptions) {
    let mut first = PgStore::connect(&schema.url, 1, options).unwrap();
    let mut second = PgStore::connect(&schema.url, 2, options).unwrap();
    assert_eq!((first.tenant_id(), second.tenant_id()), (1, 2));
    scenario_demo_month(&mut first);
    let files = store_files(1);
    import_orders(&mut second, files);
    import_settlement_files(&mut second, files);
    let empty = counts(&second);
    assert!(empty
        .iter()
        .filter(|(t, _)| ["statement", "statement_entry", "order_result"].contains(t))
        .all(|(_, n)| *n == 0));
    let alone_dir = tempfile::tempdir().unwrap();
    let mut alone = SqliteStore::open(&alone_dir.path().join("alone.db")).unwrap();
    import_orders(&mut alone, files);
    import_settlement_files(&mut alone, files);
    // The second tenant reads what a store holding only its files reads.
    reconcile_and_save(&mut second);
    reconcile_and_save(&mut alone);
    assert_same_snapshots(&snapshot(&alone), &snapshot(&second));
    // The first tenant's files are not the second's, though the same bytes are stored in both.
    let first_files = first.files().unwrap();
    let second_files = second.files().unwrap();
    assert!(first_files.iter().all(|f| !second_files.iter().any(|g| g.id == f.id)));
    let shared = first_files.iter().find(|f| second_files.iter().any(|g| g.sha256 == f.sha256)).unwrap();
    assert_eq!(first.file_by_sha256(&shared.sha256).unwrap().unwrap().id, shared.id);
    let only_first = first_files.iter().find(|f| !second_files.iter().any(|g| g.sha256 == f.sha256)).unwrap();
    assert!(second.file_by_sha256(&only_first.sha256).unwrap().is_none());
    let (_, receipts) = first.load_payouts_and_receipts().unwrap();
    assert!(second.account_entries_of(receipts[0].id).unwrap().is_none());
    assert!(first.account_entries_of(receipts[0].id).unwrap().is_some());
    assert_ne!(first.latest_run().unwrap().unwrap().id, second.latest_run().unwrap().unwrap().id);
    assert!(second.run_config(first.latest_run().unwrap().unwrap().id).is_err());
    assert_eq!(first.integrity_findings().unwrap(), Vec::<String>::new());
    assert_eq!(second.integrity_findings().unwrap(), Vec::<String>::new());
    // Every row of every table belongs to one of the two.
    let mut client = schema.client();
    for (table, count) in counts(&first) {
        let total: i64 = client.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).unwrap().get(0);
        assert_eq!(total, count + counts(&second)[table], "{table}");
    }
}

#[test]
fn tenants_in_one_schema_see_only_their_own_rows() {
    let schema = PgSchema::new();
    two_tenants(&schema, &PgSchemaOptions::default());
    assert_every_key_leads_with_tenant(&schema);
}

#[test]
fn a_hash_partitioned_schema_holds_tenants_and_is_ready_to_distribute() {
    let schema = PgSchema::new();
    let options = PgSchemaOptions { hash_partitions: Some(4) };
    two_tenants(&schema, &options);
    let mut client = schema.client();
    // Every table with a tenant_id is partitioned by hash of it, four ways.
    let tables: Vec<(String, i8)> = client
        .query(
            "SELECT c.relname::TEXT, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
            &[&schema.name],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(tables.len(), 20, "{tables:?}");
    let unpartitioned: Vec<&String> = tables.iter().filter(|(_, kind)| *kind != b'p' as i8).map(|(t, _)| t).collect();
    assert!(unpartitioned.is_empty(), "tables with a tenant_id that are not partitioned: {unpartitioned:?}");
    let partitioning: Vec<(String, String, String, i64)> = client
        .query(
            "SELECT c.relname::TEXT, p.partstrat::TEXT, a.attname::TEXT,
                    (SELECT COUNT(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
             FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
             WHERE n.nspname = $1 ORDER BY 1",
            &[&schema.name],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert_eq!(partitioning.len(), tables.len());
    for (table, strategy, column, partitions) in &partitioning {
        assert_eq!((strategy.as_str(), column.as_str(), *partitions), ("h", "tenant_id", 4), "{table}");
    }
    // Both tenants' rows are spread over partitions, each tenant in exactly one.
    let placements: Vec<(String, i64)> = client
        .query("SELECT tableoid::regclass::TEXT, tenant_id FROM settlement_line GROUP BY 1, 2", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(placements.len(), 2, "{placements:?}");
    assert!(placements.iter().all(|(partition, _)| partition.starts_with("settlement_line_p")));
    assert_every_key_leads_with_tenant(&schema);
}

/// Every primary key, unique constraint and foreign key (and every index) of the
/// schema's tenant tables starts with tenant_id, and every foreign key references a key
/// that starts with it: what a distributed (Citus) table needs.
fn assert_every_key_leads_with_tenant(schema: &PgSchema) {
    let mut client = schema.client();
    let constraints: Vec<(String, String, String, String, Option<String>)> = client
        .query(
            "SELECT c.relname::TEXT, con.conname::TEXT, con.contype::TEXT, a.attname::TEXT, fa.attname::TEXT
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
             LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[1]
             WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f') AND c.relname <> 'schema_version'",
            &[&schema.name],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect();
    let kinds: HashSet<&str> = constraints.iter().map(|c| c.2.as_str()).collect();
    assert_eq!(kinds, HashSet::from(["p", "u", "f"]));
    assert!(constraints.iter().filter(|c| c.2 == "p").count() >= 12);
    for (table, name, kind, first, referenced) in &constraints {
        assert_eq!(first, "tenant_id", "{table}.{name} ({kind}) does not start with tenant_id");
        if kind == "f" {
            assert_eq!(
                referenced.as_deref(),
                Some("tenant_id"),
                "{table}.{name} references a key without tenant_id first"
            );
        }
    }
    let indexes: Vec<(String, String)> = client
        .query(
            "SELECT i.relname::TEXT, a.attname::TEXT FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
             WHERE n.nspname = $1 AND t.relname <> 'schema_version'",
            &[&schema.name],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert!(indexes.len() >= 17, "{indexes:?}");
    for (index, first) in &indexes {
        assert_eq!(first, "tenant_id", "index {index} does not start with tenant_id");
    }
}

#[test]
fn servers_starting_at_once_migrate_once_and_a_newer_schema_is_refused() {
    let schema = PgSchema::new();
    let url = schema.url.clone();
    let handles: Vec<_> = (0..4)
        .map(|tenant| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::connect(&url, tenant, &PgSchemaOptions::default()).map(|_| ()))
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    let mut client = schema.client();
    let versions: Vec<i64> =
        client.query("SELECT version FROM schema_version ORDER BY 1", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    // Migrating again changes nothing.
    tieout_store::postgres::migrate(&mut client, &PgSchemaOptions::default()).unwrap();
    let count: i64 = client.query_one("SELECT COUNT(*) FROM schema_version", &[]).unwrap().get(0);
    assert_eq!(count, 5);
    // A from_client store works on a migrated connection and gives it back.
    let store = PgStore::from_client(schema.client(), 3);
    assert!(store.files().unwrap().is_empty());
    let mut client = store.into_client();
    client.batch_execute("INSERT INTO schema_version (version) VALUES (99)").unwrap();
    match PgStore::connect(&url, 1, &PgSchemaOptions::default()) {
        Err(StoreError::SchemaTooNew { found: 99, supported: 5 }) => {}
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("expected SchemaTooNew, got a store"),
    }
}

/// The one text PostgreSQL cannot hold (U+0000): SQLite stores it, PostgreSQL refuses
/// the file, whole (a documented difference).
#[test]
fn a_nul_in_a_text_is_refused_by_postgres_and_nothing_is_stored() {
    let files = store_files(0);
    let (meta, mut file) = settlement_file(&files.settlement_files[0], &files.store);
    let last = file.lines.len() - 1;
    file.lines[last].sku = file.strings.intern("SKU\u{0}1");
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("tieout.db")).unwrap();
    assert_eq!(sqlite.import_settlements(&meta, &file, &files.store).unwrap().lines_added, file.lines.len() as u64);
    let schema = PgSchema::new();
    let mut postgres = schema.store(1);
    assert!(matches!(postgres.import_settlements(&meta, &file, &files.store), Err(StoreError::Postgres(_))));
    assert!(counts(&postgres).values().all(|n| *n == 0));
}

#[test]
fn an_unreachable_database_is_an_error() {
    // A port nothing listens on: connecting fails with a database error, not a panic.
    match PgStore::connect("postgres://postgres@127.0.0.1:9/test?connect_timeout=2", 1, &PgSchemaOptions::default()) {
        Err(StoreError::Postgres(_)) => {}
        Err(other) => panic!("expected a PostgreSQL error, got {other}"),
        Ok(_) => panic!("connected to a port nothing listens on"),
    }
}
