//! Settlement files go from the parsing thread to the store in parts, inserted as they
//! come within the file's one transaction. Whatever the part size, the store ends up the
//! same; a file with an error after parts were inserted leaves nothing; the same file
//! again adds nothing; a settlement already imported from another file is skipped.

use std::path::{Path, PathBuf};

use tieout_service::import::{import_jobs_in_parts, FileReport, ImportOptions, Outcome};
use tieout_service::SqliteStore;

mod common;

struct Demo {
    jobs: Vec<(PathBuf, ImportOptions)>,
    settlement_files: Vec<PathBuf>,
}

fn demo(dir: &Path) -> Demo {
    let month = common::demo_month(&dir.join("demo"), 5, 1_500);
    let settlement_files = month.manifest.stores.iter().flat_map(|s| s.settlement_files.clone()).collect();
    Demo { jobs: month.jobs, settlement_files }
}

fn import(store: &mut SqliteStore, jobs: &[(PathBuf, ImportOptions)], part_lines: usize) -> Vec<FileReport> {
    let jobs: Vec<(PathBuf, &ImportOptions)> = jobs.iter().map(|(p, o)| (p.clone(), o)).collect();
    import_jobs_in_parts(store, &jobs, &mut |_, _| {}, part_lines).unwrap()
}

/// Everything a reconciliation and the reports read of the settlements, comparable.
fn contents(store: &SqliteStore) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let settlements = store.settlements().unwrap().iter().map(|s| format!("{s:?}")).collect();
    let files = store.files().unwrap().iter().map(|f| format!("{} {} {}", f.name, f.sha256, f.record_count)).collect();
    let input = store.load_reconcile_input().unwrap();
    let mut lines: Vec<_> = input.all_lines().collect();
    lines.sort_by_key(|l| l.line_id);
    let lines = lines.iter().map(|l| format!("{l:?}")).collect();
    let (_, postings) = store.load_roll_forward_input().unwrap();
    let postings = postings.iter().map(|p| format!("{p:?}")).collect();
    (settlements, files, lines, postings)
}

fn imported_lines(report: &FileReport) -> String {
    match &report.outcome {
        Outcome::Imported { summary, .. } => summary.clone(),
        other => panic!("{}: {other:?}", report.path.display()),
    }
}

#[test]
fn a_month_imported_in_parts_of_any_size_is_the_month_imported_whole() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo(dir.path());
    let mut whole = SqliteStore::open(&dir.path().join("whole.db")).unwrap();
    let whole_reports = import(&mut whole, &demo.jobs, usize::MAX);
    let expected = contents(&whole);
    assert!(expected.2.len() > 5_000, "{} lines", expected.2.len());
    assert!(whole.integrity_findings().unwrap().is_empty());
    for part_lines in [1, 7, 1_000] {
        let mut parts = SqliteStore::open(&dir.path().join(format!("parts-{part_lines}.db"))).unwrap();
        let reports = import(&mut parts, &demo.jobs, part_lines);
        let summaries: Vec<_> = reports.iter().map(imported_lines).collect();
        assert_eq!(summaries, whole_reports.iter().map(imported_lines).collect::<Vec<_>>());
        assert_eq!(contents(&parts), expected, "parts of {part_lines} line(s)");
        assert!(parts.integrity_findings().unwrap().is_empty());
        // The same files again: already imported, nothing added.
        let again = import(&mut parts, &demo.jobs, part_lines);
        assert!(again.iter().all(|r| matches!(r.outcome, Outcome::AlreadyImported { .. })), "{again:?}");
        assert_eq!(contents(&parts), expected);
    }
}

#[test]
fn an_error_after_parts_were_stored_leaves_nothing_of_the_file_and_a_known_settlement_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo(dir.path());
    let mut store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    let first = &demo.jobs[1];
    assert_eq!(first.0, demo.settlement_files[0]);
    // The first settlement file with a bad amount on its last line.
    let text = std::fs::read_to_string(&first.0).unwrap();
    let last_line = text.lines().count();
    let mut rows: Vec<String> = text.lines().map(str::to_owned).collect();
    let amount_column = rows[0].split('\t').position(|c| c == "amount").unwrap();
    let mut cells: Vec<String> = rows[last_line - 1].split('\t').map(str::to_owned).collect();
    cells[amount_column] = "12.3x".to_owned();
    rows[last_line - 1] = cells.join("\t");
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, rows.join("\n") + "\n").unwrap();
    let before = contents(&store);
    let reports = import(&mut store, &[(bad.clone(), first.1.clone())], 10);
    let Outcome::Refused { diagnostics, .. } = &reports[0].outcome else { panic!("{:?}", reports[0].outcome) };
    assert!(diagnostics[0].to_string().contains(&format!("bad.txt:{last_line}:")), "{diagnostics:?}");
    assert!(last_line > 100, "several parts of 10 lines were stored before the error");
    assert_eq!(contents(&store), before, "nothing of the refused file");
    // The good file then imports whole, its words and all.
    let good = import(&mut store, std::slice::from_ref(first), 10);
    assert!(imported_lines(&good[0]).contains(" line(s)"));
    assert!(store.integrity_findings().unwrap().is_empty());
    let after_good = contents(&store);
    assert!(after_good.2.len() > before.2.len());
    // The same settlement in another file (one more blank line: other bytes): skipped.
    let copy = dir.path().join("copy.txt");
    std::fs::write(&copy, text.clone() + "\n").unwrap();
    let reports = import(&mut store, &[(copy, first.1.clone())], 10);
    let Outcome::Imported { warnings, summary, .. } = &reports[0].outcome else { panic!("{:?}", reports[0].outcome) };
    assert!(summary.contains("0 settlement(s)") && summary.contains("0 line(s)"), "{summary}");
    assert!(warnings.iter().any(|w| w.message.contains("was already imported from")), "{warnings:?}");
    let (settlements, _, lines, postings) = contents(&store);
    assert_eq!((settlements, lines, postings), (after_good.0, after_good.2, after_good.3));
}
