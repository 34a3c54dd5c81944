//! Crash safety: `tieout import` and `tieout reconcile` killed with SIGKILL at random
//! moments leave a database that opens, passes `tieout check`, holds each file whole or
//! not at all (each run whole or not at all), and completes when the command is re-run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 20;

/// Small parts and ranges, so that kills land between the parts of one file's import and
/// between the ranges of a reconciliation spilled beside the database (their defaults are
/// sized for months of millions of orders).
const TUNING: [(&str, &str); 2] = [("TIEOUT_IMPORT_PART_LINES", "1000"), ("TIEOUT_RECONCILE_PARTITION_LINES", "8000")];

fn tieout(dir: &Path, db: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tieout"))
        .arg("--db")
        .arg(db)
        .args(args)
        .current_dir(dir)
        .envs(TUNING)
        .env_remove("TIEOUT_DB")
        .env_remove("TIEOUT_CONFIG")
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts the command and kills it (SIGKILL) after `after`; true when it was killed
/// before it finished.
fn run_and_kill(dir: &Path, db: &Path, args: &[&str], after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tieout"))
        .arg("--db")
        .arg(db)
        .args(args)
        .current_dir(dir)
        .envs(TUNING)
        .env_remove("TIEOUT_DB")
        .env_remove("TIEOUT_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    std::thread::sleep(after);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill(); // SIGKILL on Unix
    child.wait().unwrap();
    !finished
}

/// file name → record count, from `tieout status`.
fn files(dir: &Path, db: &Path) -> BTreeMap<String, i64> {
    let (code, stdout, stderr) = tieout(dir, db, &["status"]);
    assert_eq!(code, 0, "the database opens: {stderr}");
    stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("file "))
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let records = parts.iter().position(|p| *p == "records").unwrap();
            (parts[records - 2].to_owned(), parts[records - 1].parse().unwrap())
        })
        .collect()
}

fn check(dir: &Path, db: &Path) -> i32 {
    let (code, stdout, stderr) = tieout(dir, db, &["check"]);
    assert!(code <= 1, "tieout check after a kill: {stdout}{stderr}");
    code
}

/// A small deterministic generator of kill moments.
struct Moments(u64);

impl Moments {
    fn next(&mut self, limit: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        limit * (self.0 % 10_000) as u32 / 10_000
    }
}

fn month(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let (code, _, stderr) = tieout(dir, &dir.join("demo.db"), &["demo", "--orders", "12000", "--dir", "gen", "-q"]);
    assert!(code <= 1, "{stderr}");
    let mut settlements: Vec<PathBuf> =
        std::fs::read_dir(dir.join("gen/acme-us/settlements")).unwrap().map(|e| e.unwrap().path()).collect();
    settlements.sort();
    (settlements, dir.join("gen"))
}

#[test]
fn imports_and_reconciles_killed_at_random_moments_leave_a_sound_database() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let (settlements, generated) = month(dir);
    let mut import_args: Vec<String> = vec!["import".into(), "--store".into(), "acme-us".into()];
    import_args.extend(settlements.iter().map(|p| p.to_string_lossy().into_owned()));
    let mapping = generated.join("acme-us/orders-mapping.toml");
    let orders = generated.join("acme-us/orders.csv");
    import_args.extend(["--mapping".into(), mapping.to_string_lossy().into_owned()]);
    import_args.push(orders.to_string_lossy().into_owned());
    let import_args: Vec<&str> = import_args.iter().map(String::as_str).collect();

    // The reference: an import that is not interrupted (timed twice: the kill moments
    // fall within the faster run).
    let mut import_time = Duration::MAX;
    for attempt in 0..2 {
        let db = dir.join(format!("timing-{attempt}.db"));
        let started = Instant::now();
        let (code, _, stderr) = tieout(dir, &db, &import_args);
        assert_eq!(code, 0, "{stderr}");
        import_time = import_time.min(started.elapsed());
        std::fs::remove_file(&db).unwrap();
    }
    let reference_db = dir.join("reference.db");
    let (code, _, stderr) = tieout(dir, &reference_db, &import_args);
    assert_eq!(code, 0, "{stderr}");
    let reference = files(dir, &reference_db);
    assert_eq!(reference.len(), settlements.len() + 1);

    let mut moments = Moments(0x9e37_79b9_7f4a_7c15);
    let mut killed_midway = 0;
    for kill in 0..KILLS {
        let db = dir.join(format!("killed-import-{kill}.db"));
        let after = moments.next(import_time * 9 / 10);
        killed_midway += run_and_kill(dir, &db, &import_args, after) as usize;
        if db.exists() {
            check(dir, &db);
            // Every file is there whole, or not at all.
            for (name, records) in files(dir, &db) {
                assert_eq!(Some(&records), reference.get(&name), "kill {kill} after {after:?}: file {name}");
            }
        }
        let (code, _, stderr) = tieout(dir, &db, &import_args);
        assert_eq!(code, 0, "kill {kill}: re-running the import completes: {stderr}");
        assert_eq!(files(dir, &db), reference, "kill {kill}: after the re-run everything is there once");
        assert_eq!(check(dir, &db), 0);
        std::fs::remove_file(&db).unwrap();
    }
    assert!(killed_midway >= KILLS / 4, "kills land inside the import ({killed_midway} of {KILLS})");

    // Reconcile: a store reconciled once, then a second run killed at random moments.
    let (code, _, stderr) = tieout(dir, &reference_db, &["reconcile", "--as-of", "2026-11-30"]);
    assert!(code <= 1, "{stderr}");
    let started = Instant::now();
    let (code, stdout, _) = tieout(dir, &reference_db, &["reconcile", "--as-of", "2026-12-05"]);
    assert!(code <= 1);
    assert!(stdout.contains(" ranges of order id"), "the run is made in ranges: {stdout}");
    let reconcile_time = started.elapsed();
    let (_, reconciled_status, _) = tieout(dir, &reference_db, &["status"]);
    let reconciled_results: String =
        reconciled_status.lines().filter(|l| l.trim_start().starts_with("order_result")).collect();
    let mut killed_midway = 0;
    for kill in 0..KILLS {
        let db = dir.join(format!("killed-reconcile-{kill}.db"));
        std::fs::copy(&reference_db, &db).unwrap();
        let after = moments.next(reconcile_time * 9 / 10);
        killed_midway += run_and_kill(dir, &db, &["reconcile", "--as-of", "2026-12-10"], after) as usize;
        // Either the earlier run or the new one is stored, whole: its results equal a
        // recomputation with its own settings and as-of date.
        assert_eq!(check(dir, &db), 0, "kill {kill} after {after:?}");
        let (code, _, stderr) = tieout(dir, &db, &["reconcile", "--as-of", "2026-12-10"]);
        assert!(code <= 1, "kill {kill}: re-running the reconcile completes: {stderr}");
        assert_eq!(check(dir, &db), 0);
        let (_, status, _) = tieout(dir, &db, &["status"]);
        let results: String = status.lines().filter(|l| l.trim_start().starts_with("order_result")).collect();
        assert_eq!(results, reconciled_results, "one result per order, as before");
        std::fs::remove_file(&db).unwrap();
    }
    assert!(killed_midway >= KILLS / 4, "kills land inside the reconcile ({killed_midway} of {KILLS})");
}
