//! Statements with counterparties: drawn up from imported documents, moved through their
//! lifecycle by role, paid by payments (partially paid, settled by themselves), matched
//! line by line against the counterparty's statement, differences resolved within
//! write-off limits (at the limit allowed, one cent over refused), small ones by the system.

use std::path::PathBuf;

use chrono::NaiveDate;
use tieout_core::counterparty::{Side, State, TRANSITIONS};
use tieout_core::money::Currency;
use tieout_service::config::Settings;
use tieout_service::import::{import_files, ImportOptions, Outcome};
use tieout_service::statements::{self, StatementError};
use tieout_service::team::Role;
use tieout_store::{FileMeta, SqliteStore, Store};

const DOCUMENTS: &str = "\
counterparty,name,type,number,date,amount,currency,description
D-001,Distributor One,invoice,INV-101,2026-10-03,1200.00,USD,40 chargers
D-001,Distributor One,invoice,INV-102,2026-10-12,800.50,USD,20 cables
D-001,Distributor One,refund,CN-7,2026-10-20,100.50,USD,damaged cables
D-001,Distributor One,invoice,INV-099,2026-09-28,300.00,USD,September order
S-01,Shenzhen Supplier,purchase,PO-55,2026-10-05,5000.00,CNY,batch 55
";

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn import(store: &mut dyn Store, paths: &[PathBuf]) {
    let options =
        ImportOptions { store: None, mapping: None, profile: None, imported_at: "2026-11-01T00:00:00Z".into() };
    let reports = import_files(store, paths, &options, &mut |_, _| {}).unwrap();
    for report in reports {
        assert!(matches!(report.outcome, Outcome::Imported { .. } | Outcome::AlreadyImported { .. }), "{report:?}");
    }
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

fn settings() -> Settings {
    Settings::parse(
        "tieout.toml",
        "[write_off]\naccountant = { USD = \"10.00\" }\napprover = { USD = \"100.00\" }\nauto = { USD = \"0.50\" }\n",
    )
    .unwrap()
}

fn october(store: &mut dyn Store, role: Role) -> Result<i64, StatementError> {
    statements::draw_up(
        store,
        "D-001",
        Side::Receivable,
        usd(),
        day("2026-10-01"),
        day("2026-10-31"),
        role,
        Some(1),
        10,
    )
}

#[test]
fn a_statement_is_drawn_up_from_its_period_with_the_unpaid_earlier_one_brought_forward() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    import(&mut store, &[write(dir.path(), "documents.csv", DOCUMENTS)]);
    // The same export again adds nothing.
    import(&mut store, &[write(dir.path(), "documents-again.csv", &format!("{DOCUMENTS}\n"))]);
    assert_eq!(store.documents(None).unwrap().len(), 5);

    let september = statements::draw_up(
        &mut store,
        "D-001",
        Side::Receivable,
        usd(),
        day("2026-09-01"),
        day("2026-09-30"),
        Role::Clerk,
        Some(1),
        5,
    )
    .unwrap();
    let id = october(&mut store, Role::Clerk).unwrap();
    let view = statements::view(&store, id).unwrap();
    assert_eq!(view.lines.iter().map(|l| l.number.as_str()).collect::<Vec<_>>(), ["INV-101", "INV-102", "CN-7"]);
    assert_eq!((view.due.as_str(), view.opening.as_str(), view.balance.as_str()), ("1900.00", "300.00", "2200.00"));
    assert_eq!(view.lines[2].amount, "-100.50");
    assert_eq!((view.lines[0].file_name.as_str(), view.lines[0].line), ("documents.csv", 2));
    assert_eq!(view.state, "draft");
    // Documents on a statement are not stated twice; a viewer may not draw up.
    assert!(matches!(october(&mut store, Role::Clerk), Err(StatementError::Empty(..))));
    assert!(matches!(october(&mut store, Role::Viewer), Err(StatementError::Forbidden { .. })));
    assert_ne!(september, id);
    // Exports: a table whose totals are the view's; a print view with both signatures.
    let table = statements::table(&view);
    assert_eq!(table.rows.len(), 3 + 4);
    let page = statements::print_view(&view, "Acme Trading");
    assert!(page.contains("Distributor One") && page.contains("Acme Trading") && page.contains("2200.00"));
    assert_eq!(page.matches("签字盖章").count(), 2);
}

#[test]
fn every_transition_is_allowed_or_refused_by_role_and_payments_move_the_state_by_themselves() {
    // Every listed transition, for every role: allowed exactly from its permission's role up.
    for (from, to, permission) in TRANSITIONS {
        for role in Role::ALL {
            let dir = tempfile::tempdir().unwrap();
            let mut store = SqliteStore::open_in_memory().unwrap();
            import(&mut store, &[write(dir.path(), "documents.csv", DOCUMENTS)]);
            let id = october(&mut store, Role::Admin).unwrap();
            // Bring the statement to `from` as an admin (settled through a payment).
            reach(&mut store, dir.path(), id, from);
            let result = statements::transition(&mut store, id, to, role, 20);
            let allowed = role >= statements::role_for(permission);
            assert_eq!(result.is_ok(), allowed, "{role:?}: {from:?} → {to:?}: {result:?}");
            let state = statements::view(&store, id).unwrap().state;
            assert_eq!(state, if allowed { to.name() } else { from.name() }, "{role:?}: {from:?} → {to:?}");
        }
    }
    // Not listed: refused for every role, nothing changes.
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    import(&mut store, &[write(dir.path(), "documents.csv", DOCUMENTS)]);
    let id = october(&mut store, Role::Admin).unwrap();
    for to in [State::Reviewed, State::Settled, State::PartiallyPaid, State::Closed] {
        assert!(statements::transition(&mut store, id, to, Role::Admin, 20).is_err(), "draft → {to:?}");
    }
    assert_eq!(statements::view(&store, id).unwrap().state, "draft");
}

/// Moves statement `id` (a draft due 1900.00) to `state` as an admin would.
fn reach(store: &mut dyn Store, dir: &std::path::Path, id: i64, state: State) {
    let go = |store: &mut dyn Store, to: State| statements::transition(store, id, to, Role::Admin, 15).unwrap();
    match state {
        State::Draft => {}
        State::PendingReview => {
            go(store, State::PendingReview);
        }
        State::Reviewed => {
            go(store, State::PendingReview);
            go(store, State::Reviewed);
        }
        State::PartiallyPaid | State::Settled => {
            go(store, State::PendingReview);
            go(store, State::Reviewed);
            let amount = if state == State::Settled { "1900.00" } else { "100.00" };
            let payment =
                format!("counterparty,type,number,date,amount,currency\nD-001,receipt,RC-1,2026-11-05,{amount},USD\n");
            import(store, &[write(dir, "payment.csv", &payment)]);
            statements::apply_waiting_payments(store, 16).unwrap();
        }
        State::Closed | State::Void => unreachable!("no transition starts there"),
    }
    assert_eq!(statements::view(store, id).unwrap().state, state.name());
}

#[test]
fn payments_settle_statements_oldest_first_partially_then_fully() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    import(&mut store, &[write(dir.path(), "documents.csv", DOCUMENTS)]);
    let september = statements::draw_up(
        &mut store,
        "D-001",
        Side::Receivable,
        usd(),
        day("2026-09-01"),
        day("2026-09-30"),
        Role::Clerk,
        None,
        5,
    )
    .unwrap();
    let id = october(&mut store, Role::Clerk).unwrap();
    // A payment before review waits: a draft takes none.
    let first = "counterparty,type,number,date,amount,currency\nD-001,receipt,RC-1,2026-11-02,500.00,USD\n";
    import(&mut store, &[write(dir.path(), "p1.csv", first)]);
    assert_eq!(statements::apply_waiting_payments(&mut store, 20).unwrap(), 0);
    for statement in [september, id] {
        statements::transition(&mut store, statement, State::PendingReview, Role::Clerk, 21).unwrap();
        statements::transition(&mut store, statement, State::Reviewed, Role::Accountant, 22).unwrap();
    }
    // 500.00: September's 300.00 in full, 200.00 on October.
    let view = statements::view(&store, september).unwrap();
    assert_eq!((view.state.as_str(), view.paid.as_str()), ("settled", "300.00"));
    let view = statements::view(&store, id).unwrap();
    assert_eq!(
        (view.state.as_str(), view.paid.as_str(), view.balance.as_str()),
        ("partially_paid", "200.00", "2000.00")
    );
    // The rest settles it.
    let second = "counterparty,type,number,date,amount,currency\nD-001,receipt,RC-2,2026-11-20,1700.00,USD\n";
    import(&mut store, &[write(dir.path(), "p2.csv", second)]);
    assert_eq!(statements::apply_waiting_payments(&mut store, 30).unwrap(), 1);
    let view = statements::view(&store, id).unwrap();
    assert_eq!((view.state.as_str(), view.paid.as_str()), ("settled", "1900.00"));
    // Applying again changes nothing.
    assert_eq!(statements::apply_waiting_payments(&mut store, 31).unwrap(), 0);
    statements::transition(&mut store, id, State::Closed, Role::Approver, 32).unwrap();
    assert_eq!(statements::view(&store, id).unwrap().state, "closed");
}

#[test]
fn the_counterpartys_statement_is_matched_line_by_line_and_write_offs_hold_to_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    import(&mut store, &[write(dir.path(), "documents.csv", DOCUMENTS)]);
    let id = october(&mut store, Role::Clerk).unwrap();
    let theirs = "counterparty,type,number,date,amount,currency\n\
                  D-001,invoice,INV-101,2026-10-03,1200.40,USD\n\
                  D-001,invoice,INV-102,2026-10-12,790.50,USD\n\
                  D-001,invoice,INV-200,2026-10-30,10.01,USD\n\
                  D-001,receipt,RC-9,2026-10-31,50.00,USD\n";
    let meta = |name: &str| FileMeta {
        sha256: format!("sha-{name}"),
        name: name.to_owned(),
        format: tieout_core::records::SourceFormat::CounterpartyStatement,
        store: None,
        size_bytes: theirs.len() as u64,
        imported_at: "2026-11-03T00:00:00Z".into(),
    };
    let limits = settings().write_off;
    // A draft can still change: the counterparty's statement waits for it to be locked.
    assert!(matches!(
        statements::import_theirs(&mut store, id, &meta("theirs.csv"), theirs.as_bytes(), &limits, 40),
        Err(StatementError::NotLocked(_))
    ));
    statements::transition(&mut store, id, State::PendingReview, Role::Clerk, 41).unwrap();
    let auto = statements::import_theirs(&mut store, id, &meta("theirs.csv"), theirs.as_bytes(), &limits, 42)
        .unwrap()
        .unwrap();
    assert_eq!(auto, 1, "the 0.40 difference is written off by the system (limit 0.50)");
    let view = statements::view(&store, id).unwrap();
    let summary: Vec<(&str, &str, &str, Option<&str>)> = view
        .differences
        .iter()
        .map(|d| (d.number.as_str(), d.kind, d.difference.as_str(), d.resolution.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("INV-101", "amount", "-0.40", Some("write_off")),
            ("INV-102", "amount", "10.00", None),
            ("CN-7", "ours_only", "-100.50", None),
            ("INV-200", "theirs_only", "-10.01", None),
        ]
    );
    assert!(view.differences[0].resolved_by_system);
    assert_eq!(view.their_total.as_deref(), Some("2000.91"), "their payment line is left out");

    // Write-offs: at the accountant's limit (10.00) allowed, one cent over (10.01) refused;
    // an approver (100.00) may.
    let write_off = |store: &mut dyn Store, number: &str, role: Role| {
        statements::resolve(store, id, number, "write_off", Some("rounding"), None, role, 2, &limits, 50)
    };
    write_off(&mut store, "INV-102", Role::Accountant).unwrap();
    assert!(matches!(write_off(&mut store, "INV-200", Role::Accountant), Err(StatementError::OverLimit { .. })));
    assert!(matches!(write_off(&mut store, "INV-200", Role::Clerk), Err(StatementError::Forbidden { .. })));
    let record = write_off(&mut store, "INV-200", Role::Approver).unwrap();
    assert_eq!((record.ours_minor, record.theirs_minor, record.amount_minor), (None, Some(1001), -1001));
    // Adjust keeps both amounts; a write-off needs a reason code.
    assert!(statements::resolve(&mut store, id, "CN-7", "write_off", None, None, Role::Admin, 2, &limits, 51).is_err());
    let adjusted = statements::resolve(
        &mut store,
        id,
        "CN-7",
        "adjust",
        None,
        Some("credit note sent late"),
        Role::Accountant,
        2,
        &limits,
        52,
    )
    .unwrap();
    assert_eq!((adjusted.ours_minor, adjusted.theirs_minor), (Some(-10050), None));
    assert!(statements::view(&store, id).unwrap().differences.iter().all(|d| d.resolution.is_some()));
    // Precisely one cent over the accountant's 10.00.
    let limit = limits.limit_minor("accountant", usd()).unwrap();
    assert!(tieout_core::counterparty::write_off_allowed(Some(limit), 1000));
    assert!(!tieout_core::counterparty::write_off_allowed(Some(limit), 1001));
}
