//! tieout-bench: measures one phase per process, so each phase's peak memory is its own.
//!
//! ```text
//! tieout-bench gen DIR ORDERS [SEED]   generate a month (skipped if DIR/manifest.ok exists for the same size)
//! tieout-bench floor DIR               read every input file and split it into tab/comma fields, nothing more
//! tieout-bench parse DIR               parse every input file with tieout's readers (no store)
//! tieout-bench e2e DIR DB              import everything into a fresh store, reconcile, write the differences report
//! tieout-bench reconcile DIR DB        reconcile an already-imported store
//! tieout-bench match N                  match N payouts against N receipts (in memory)
//! tieout-bench results DIR DB OUT      write the store's per-order results (order_id,store,category,flags) as CSV
//! tieout-bench incremental DIR ORDERS MONTHS   import MONTHS months, then time the next month's largest
//!                                      settlement file and order export, against the same into a fresh store
//! ```
//! Each prints one line: `phase=... seconds=... peak_rss_mib=... <counts>`.
//! `bench/run.sh` runs them in order; BENCHMARKS.md records the figures.

// Seconds and rates are measurements, not money: floating point is fine here.
#![allow(clippy::float_arithmetic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use tieout_demo::{generate, DemoConfig, DemoManifest};
use tieout_formats::mapping::parse_mapping;
use tieout_service::config::Settings;
use tieout_service::import::{import_jobs, ImportOptions};
use tieout_store::SqliteStore;

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

/// What `gen` wrote, read back from `bench-manifest.txt`.
struct Month {
    stores: Vec<StoreMonth>,
    config_file: PathBuf,
    /// ISO date, parsed where a date is needed.
    as_of: String,
}

struct StoreMonth {
    store: String,
    orders_file: PathBuf,
    mapping_file: PathBuf,
    settlement_files: Vec<PathBuf>,
}

fn write_manifest(dir: &Path, manifest: &DemoManifest) {
    let mut text = format!("config {}\nas_of {}\n", manifest.config_file.display(), manifest.as_of);
    for store in &manifest.stores {
        text.push_str(&format!(
            "store {} {} {}\n",
            store.store,
            store.orders_file.display(),
            store.mapping_file.display()
        ));
        for file in &store.settlement_files {
            text.push_str(&format!("settlement {}\n", file.display()));
        }
    }
    std::fs::write(dir.join("bench-manifest.txt"), text).expect("write manifest");
}

fn manifest(dir: &Path) -> Month {
    let text = std::fs::read_to_string(dir.join("bench-manifest.txt")).expect("a generated month: run `gen` first");
    let mut month = Month { stores: Vec::new(), config_file: PathBuf::new(), as_of: String::new() };
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "config" => month.config_file = PathBuf::from(parts[1]),
            "as_of" => month.as_of = parts[1].to_owned(),
            "store" => month.stores.push(StoreMonth {
                store: parts[1].to_owned(),
                orders_file: PathBuf::from(parts[2]),
                mapping_file: PathBuf::from(parts[3]),
                settlement_files: Vec::new(),
            }),
            "settlement" => {
                month.stores.last_mut().expect("a store first").settlement_files.push(PathBuf::from(parts[1]))
            }
            _ => panic!("unknown manifest line {line}"),
        }
    }
    month
}

fn files_of(manifest: &Month) -> Vec<PathBuf> {
    manifest
        .stores
        .iter()
        .flat_map(|s| std::iter::once(s.orders_file.clone()).chain(s.settlement_files.iter().cloned()))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(2).expect("DIR or N"));
    let started = Instant::now();
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let orders: u64 = args.get(3).expect("ORDERS").parse().expect("a number");
            let seed: u64 = args.get(4).map_or(42, |s| s.parse().expect("a number"));
            let done = dir.join("bench-config.txt");
            if std::fs::read_to_string(&done).ok().as_deref() == Some(&format!("{orders} {seed}")) {
                println!("phase=gen skipped (already generated) dir={}", dir.display());
                return;
            }
            let generated = generate(&DemoConfig { seed, orders, year: 2026, month: 10 }, &dir).expect("generate");
            write_manifest(&dir, &generated);
            std::fs::write(&done, format!("{orders} {seed}")).expect("write marker");
            let manifest = manifest(&dir);
            let bytes: u64 = files_of(&manifest).iter().map(|p| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
            println!(
                "phase=gen seconds={:.2} peak_rss_mib={} orders={} settlement_lines={} input_mib={}",
                started.elapsed().as_secs_f64(),
                peak_rss_mib(),
                generated.order_count,
                generated.settlement_line_count,
                bytes >> 20
            );
        }
        Some("floor") => {
            let manifest = manifest(&dir);
            let (mut lines, mut fields, mut bytes) = (0u64, 0u64, 0u64);
            for path in files_of(&manifest) {
                let data = std::fs::read(&path).expect("read");
                bytes += data.len() as u64;
                for line in data.split(|b| *b == b'\n') {
                    lines += 1;
                    fields += line.split(|b| *b == b'\t' || *b == b',' || *b == b';').count() as u64;
                }
            }
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "phase=floor seconds={seconds:.2} peak_rss_mib={} lines={lines} fields={fields} mib_per_second={:.0}",
                peak_rss_mib(),
                (bytes as f64 / 1_048_576.0) / seconds
            );
        }
        Some("parse") => {
            let manifest = manifest(&dir);
            let mut settlement_lines = 0u64;
            let mut order_items = 0u64;
            let mut settlement_seconds = 0.0;
            let mut order_seconds = 0.0;
            for store in &manifest.stores {
                let text = std::fs::read_to_string(&store.mapping_file).expect("mapping");
                let mapping = parse_mapping("mapping", &text).expect("valid mapping");
                let bytes = std::fs::read(&store.orders_file).expect("read");
                let parse_started = Instant::now();
                let file = tieout_formats::orders::read_orders("orders", &bytes, &mapping, Some(&store.store));
                order_seconds += parse_started.elapsed().as_secs_f64();
                assert!(file.diagnostics.iter().all(|d| !d.is_error()), "{:?}", file.diagnostics.first());
                order_items += file.items.len() as u64;
                for path in &store.settlement_files {
                    let bytes = std::fs::read(path).expect("read");
                    let parse_started = Instant::now();
                    let file = tieout_formats::amazon_settlement::read_settlement("s", &bytes);
                    settlement_seconds += parse_started.elapsed().as_secs_f64();
                    assert!(file.diagnostics.iter().all(|d| !d.is_error()), "{:?}", file.diagnostics.first());
                    settlement_lines += file.lines.len() as u64;
                }
            }
            println!(
                "phase=parse seconds={:.2} peak_rss_mib={} settlement_lines={settlement_lines} order_items={order_items} settlement_lines_per_second={:.0} settlement_seconds={settlement_seconds:.2} order_seconds={order_seconds:.2}",
                started.elapsed().as_secs_f64(),
                peak_rss_mib(),
                settlement_lines as f64 / settlement_seconds
            );
        }
        Some("e2e") => {
            let db = PathBuf::from(args.get(3).expect("DB"));
            let _ = std::fs::remove_file(&db);
            let manifest = manifest(&dir);
            let mut store = SqliteStore::open(&db).expect("open");
            let options: Vec<(ImportOptions, ImportOptions)> = manifest
                .stores
                .iter()
                .map(|files| {
                    let text = std::fs::read_to_string(&files.mapping_file).expect("mapping");
                    let orders = ImportOptions {
                        store: Some(files.store.clone()),
                        mapping: Some(parse_mapping("mapping", &text).expect("valid")),
                        imported_at: "2026-11-25T00:00:00Z".into(),
                        profile: None,
                    };
                    let settlements = ImportOptions { mapping: None, ..orders.clone() };
                    (orders, settlements)
                })
                .collect();
            let mut jobs: Vec<(PathBuf, &ImportOptions)> = Vec::new();
            for (files, (orders, settlements)) in manifest.stores.iter().zip(&options) {
                jobs.push((files.orders_file.clone(), orders));
                jobs.extend(files.settlement_files.iter().map(|p| (p.clone(), settlements)));
            }
            // As `tieout demo` does: the order exports first (read whole, the store waits for
            // each until it is parsed), then the smallest files first (the store starts
            // writing as soon as the first is parsed).
            jobs.sort_by_key(|(path, options)| {
                (options.mapping.is_none(), std::fs::metadata(path).map_or(0, |m| m.len()))
            });
            // BENCH_VERBOSE=1: when each file was stored (seconds since the start).
            let verbose = std::env::var_os("BENCH_VERBOSE").is_some();
            let reports = import_jobs(&mut store, &jobs, &mut |progress, report| {
                if verbose {
                    eprintln!(
                        "{:7.2}s stored {} ({} of {} MiB)",
                        started.elapsed().as_secs_f64(),
                        report.path.display(),
                        progress.bytes_done >> 20,
                        progress.bytes_total >> 20
                    );
                }
            })
            .expect("import");
            assert!(reports.iter().all(|r| !r.is_refused()));
            let import_seconds = started.elapsed().as_secs_f64();
            let import_peak_rss_mib = peak_rss_mib();
            let reconcile_started = Instant::now();
            let summary = reconcile(&mut store, &manifest);
            let reconcile_seconds = reconcile_started.elapsed().as_secs_f64();
            // End to end includes writing the differences report (CSV), as a user gets it.
            let report_started = Instant::now();
            let filter = tieout_service::report::Filter::default();
            let tables = tieout_service::report::differences_tables(&store, &filter).expect("differences");
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(db.with_extension("differences.csv")).expect("create the report"),
            );
            let mut rows = 0;
            for table in &tables {
                tieout_formats::write::write_csv(table, &mut out).expect("write the report");
                rows += table.rows.len();
            }
            std::io::Write::flush(&mut out).expect("write the report");
            println!(
                "phase=e2e seconds={:.2} import_seconds={import_seconds:.2} reconcile_seconds={reconcile_seconds:.2} report_seconds={:.2} import_peak_rss_mib={import_peak_rss_mib} peak_rss_mib={} orders={} lines={} difference_rows={rows}",
                started.elapsed().as_secs_f64(),
                report_started.elapsed().as_secs_f64(),
                peak_rss_mib(),
                summary.0,
                summary.1
            );
        }
        Some("results") => {
            // Not timed: the benchmark checks every tool's per-order result against the
            // generator's truth.csv with one checker (bench/reference/check.py).
            let db = PathBuf::from(args.get(3).expect("DB"));
            let out = PathBuf::from(args.get(4).expect("OUT"));
            let store = SqliteStore::open(&db).expect("open");
            let results = store.order_results(None).expect("order results");
            let mut text = String::with_capacity(results.len() * 64);
            text.push_str("order_id,store,category,flags\n");
            for row in &results {
                text.push_str(&format!(
                    "{},{},{},{}\n",
                    row.order_id,
                    row.store,
                    row.category.name(),
                    row.flags.names()
                ));
            }
            std::fs::write(&out, text).expect("write results");
            println!("phase=results orders={} out={}", results.len(), out.display());
        }
        Some("match") => {
            let count: usize = args.get(2).expect("N").parse().expect("a number");
            match_benchmark(count, started);
        }
        Some("incremental") => {
            let orders: u64 = args.get(3).expect("ORDERS").parse().expect("a number");
            let months: u32 = args.get(4).expect("MONTHS").parse().expect("a number");
            incremental_benchmark(&dir, orders, months);
        }
        Some("reconcile") => {
            let db = PathBuf::from(args.get(3).expect("DB"));
            let manifest = manifest(&dir);
            let mut store = SqliteStore::open(&db).expect("open");
            let summary = reconcile(&mut store, &manifest);
            println!(
                "phase=reconcile seconds={:.2} peak_rss_mib={} orders={} lines={}",
                started.elapsed().as_secs_f64(),
                peak_rss_mib(),
                summary.0,
                summary.1
            );
        }
        _ => {
            eprintln!(
                "usage: tieout-bench gen|floor|parse|e2e|reconcile|results DIR [ORDERS|DB [OUT]]; match N; incremental DIR ORDERS MONTHS"
            );
            std::process::exit(2);
        }
    }
}

/// The cost of importing the next file into a store that holds a year, against the same
/// file into a fresh store: it should follow the file, not the year.
fn incremental_benchmark(dir: &Path, orders: u64, months: u32) {
    let month_dir = |m: u32| dir.join(format!("month-{m:02}"));
    // Month m of 2025-11 … : a new seed each month, so settlement and order ids differ.
    let generated: Vec<DemoManifest> = (0..=months)
        .map(|m| {
            let (year, month) = (2025 + ((10 + m) / 12) as i32, (10 + m) % 12 + 1);
            generate(&DemoConfig { seed: 1000 + u64::from(m), orders, year, month }, &month_dir(m)).expect("generate")
        })
        .collect();
    let options_of = |store: &str, mapping: Option<&Path>| ImportOptions {
        store: Some(store.to_owned()),
        mapping: mapping
            .map(|p| parse_mapping("mapping", &std::fs::read_to_string(p).expect("mapping")).expect("valid")),
        imported_at: "2026-11-25T00:00:00Z".into(),
        profile: None,
    };
    let import = |store: &mut SqliteStore, jobs: &[(PathBuf, ImportOptions)]| {
        let jobs: Vec<(PathBuf, &ImportOptions)> = jobs.iter().map(|(p, o)| (p.clone(), o)).collect();
        let reports = import_jobs(store, &jobs, &mut |_, _| {}).expect("import");
        assert!(reports.iter().all(|r| !r.is_refused()));
    };
    let year_db = dir.join("year.db");
    let _ = std::fs::remove_file(&year_db);
    let mut year = SqliteStore::open(&year_db).expect("open");
    let loading = Instant::now();
    let mut stored_lines = 0u64;
    for manifest in &generated[..months as usize] {
        let mut jobs = Vec::new();
        for files in &manifest.stores {
            jobs.push((files.orders_file.clone(), options_of(&files.store, Some(&files.mapping_file))));
            jobs.extend(files.settlement_files.iter().map(|p| (p.clone(), options_of(&files.store, None))));
        }
        import(&mut year, &jobs);
        stored_lines += manifest.settlement_line_count;
    }
    let load_seconds = loading.elapsed().as_secs_f64();
    // The next month's largest settlement file, and its largest store's order export.
    let next = &generated[months as usize];
    let store = next.stores.iter().max_by_key(|s| s.settlement_files.len()).expect("stores");
    let settlement = store
        .settlement_files
        .iter()
        .max_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .expect("a settlement file")
        .clone();
    let timed = |store_db: &mut SqliteStore, job: (PathBuf, ImportOptions)| {
        let started = Instant::now();
        import(store_db, &[job]);
        started.elapsed().as_secs_f64()
    };
    let fresh_db = dir.join("fresh.db");
    let _ = std::fs::remove_file(&fresh_db);
    let mut fresh = SqliteStore::open(&fresh_db).expect("open");
    // An order export first, so that both stores hold orders (the first order export into
    // a store that holds orders builds the order index once, in proportion to the orders
    // stored; it is timed separately).
    let first_orders = (store.orders_file.clone(), options_of(&store.store, Some(&store.mapping_file)));
    let index_seconds = timed(&mut year, first_orders.clone());
    timed(&mut fresh, first_orders);
    let settlement_job = (settlement.clone(), options_of(&store.store, None));
    let fresh_settlement = timed(&mut fresh, settlement_job.clone());
    let year_settlement = timed(&mut year, settlement_job);
    // A second order export of the same store (a later snapshot): replaces its orders.
    let text = std::fs::read_to_string(&store.orders_file).expect("orders");
    let again = dir.join("orders-again.csv");
    std::fs::write(&again, text).expect("write");
    let again_job = (again, options_of(&store.store, Some(&store.mapping_file)));
    let fresh_orders = timed(&mut fresh, again_job.clone());
    let year_orders = timed(&mut year, again_job);
    println!(
        "phase=incremental months={months} orders_per_month={orders} year_lines={stored_lines} load_seconds={load_seconds:.1} \
         settlement_fresh_seconds={fresh_settlement:.3} settlement_year_seconds={year_settlement:.3} \
         orders_fresh_seconds={fresh_orders:.3} orders_year_seconds={year_orders:.3} first_order_index_seconds={index_seconds:.3} \
         settlement_file_mib={}",
        std::fs::metadata(&settlement).map_or(0, |m| m.len()) >> 20
    );
}

fn reconcile(store: &mut SqliteStore, manifest: &Month) -> (usize, usize) {
    let text = std::fs::read_to_string(&manifest.config_file).expect("config");
    let settings = Settings::parse("tieout.toml", &text).expect("valid");
    let as_of = manifest.as_of.parse().expect("an ISO date");
    let config = settings.reconcile_config(as_of);
    // BENCH_PARTITION_LINES: the lines per range of a reconciliation in parts (default:
    // tieout's own, `tieout_store::PARTITION_LINES`), to measure what the ranges cost.
    let max_lines = std::env::var("BENCH_PARTITION_LINES")
        .ok()
        .map_or(tieout_store::PARTITION_LINES, |v| v.parse().expect("BENCH_PARTITION_LINES: a number"));
    let (summary, _) = tieout_service::reconcile::reconcile_run_in_parts(
        store,
        &config,
        &text,
        "2026-11-25T00:00:00Z",
        None,
        max_lines,
    )
    .expect("reconcile");
    (summary.order_count, summary.line_count)
}

/// N payouts over a year, N receipts: most exact and 0–4 days after their deposit, some
/// short, some late, some missing with unrelated credits in their place. Built-in rules.
fn match_benchmark(count: usize, started: Instant) {
    use tieout_core::money::Currency;
    use tieout_core::receipts::{reconcile_receipts, Payout, Receipt};
    let mut state: u64 = 42;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid");
    let mut payouts = Vec::with_capacity(count);
    let mut receipts = Vec::with_capacity(count);
    for index in 0..count {
        let amount = 1_000 + (next() % 10_000_000) as i64;
        let deposit = start + chrono::Days::new(next() % 365);
        payouts.push(Payout {
            settlement_id: 10_000_000_000 + index as u64,
            store: "acme".into(),
            currency: Currency::USD,
            amount_minor: amount,
            deposit_date: deposit,
        });
        let kind = next() % 100;
        let (received, days) = match kind {
            0..=89 => (amount, next() % 5),
            90..=94 => (amount - 1 - (next() % 100) as i64, next() % 5),
            95..=97 => (amount, 6 + next() % 20),
            _ => (1 + (next() % 10_000_000) as i64, next() % 5),
        };
        let text =
            if index % 3 == 0 { format!("AMAZON {}", 10_000_000_000 + index as u64) } else { "AMAZON PAYMENTS".into() };
        receipts.push(Receipt {
            id: index as i64,
            account: "bank".into(),
            currency: Currency::USD,
            amount_minor: received,
            booking_date: deposit + chrono::Days::new(days),
            text,
            original: None,
        });
    }
    let built = started.elapsed().as_secs_f64();
    let rules = tieout_service::rules::ReceiptRules::built_in();
    let as_of = start + chrono::Days::new(400);
    let matching_started = Instant::now();
    let results = reconcile_receipts(&payouts, &receipts, &rules.config(as_of));
    let seconds = matching_started.elapsed().as_secs_f64();
    let matched = results.iter().filter(|r| !r.receipt_ids.is_empty() && !r.settlement_ids.is_empty()).count();
    println!(
        "phase=match payouts={count} receipts={count} seconds={seconds:.2} build_seconds={built:.2} peak_rss_mib={} matched={matched} results={}",
        peak_rss_mib(),
        results.len()
    );
}
