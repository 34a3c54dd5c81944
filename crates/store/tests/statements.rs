//! Statements (bank and payment-tool) in the store: round trip, overlap, atomicity.

use chrono::NaiveDate;
use tieout_core::money::{Currency, Money};
use tieout_core::records::SourceFormat;
use tieout_core::statement::{Statement, StatementEntry, StatementFile};
use tieout_store::{FileMeta, SqliteStore};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
}

fn meta(name: &str) -> FileMeta {
    FileMeta {
        sha256: format!("sha-of-{name}"),
        name: name.to_owned(),
        format: SourceFormat::AmazonSettlementV2,
        store: None,
        size_bytes: 100,
        imported_at: "2026-11-25T00:00:00Z".to_owned(),
    }
}

fn statement(reference: &str) -> Statement {
    Statement {
        statement_ref: reference.to_owned(),
        account: "DE89370400440532013000".to_owned(),
        currency: Currency::EUR,
        line: 1,
        opening_minor: Some(1_000),
        opening_date: Some(day(1)),
        closing_minor: Some(1_500),
        closing_date: Some(day(31)),
        entries_sum_minor: 500,
        entry_count: 2,
    }
}

fn entry(statement: u32, line: u32, amount_minor: i64) -> StatementEntry {
    StatementEntry {
        statement,
        line,
        booking_date: day(16),
        value_date: Some(day(17)),
        amount_minor,
        currency: Currency::EUR,
        entry_ref: format!("REF{line}"),
        reference: "AMAZON 23874397121".to_owned(),
        counterparty: "AMAZON PAYMENTS EUROPE".to_owned(),
        description: "settlement".to_owned(),
        original_amount: (line == 3).then_some(Money::new(700, Currency::USD)),
        fee_minor: None,
        reversal: false,
    }
}

fn file(reference: &str) -> StatementFile {
    StatementFile {
        statements: vec![statement(reference)],
        entries: vec![entry(0, 2, 800), entry(0, 3, -300)],
        diagnostics: Vec::new(),
    }
}

fn count(store: &SqliteStore, table: &str) -> i64 {
    store.counts().unwrap().into_iter().find(|(t, _)| *t == table).unwrap().1
}

#[test]
fn statements_are_stored_once_even_from_overlapping_files() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let outcome = store.import_statements(&meta("october.xml"), &file("STMT-10")).unwrap();
    assert_eq!((outcome.statements_added, outcome.entries_added), (1, 2));
    assert_eq!((count(&store, "statement"), count(&store, "statement_entry")), (1, 2));

    // The same statement in another file (another export of the same month) is skipped.
    let again = store.import_statements(&meta("october-again.xml"), &file("STMT-10")).unwrap();
    assert_eq!(again.statements_added, 0);
    assert_eq!(
        again.statements_skipped,
        vec![("DE89370400440532013000".into(), "STMT-10".into(), "october.xml".into())]
    );
    assert_eq!(count(&store, "statement_entry"), 2);

    // A different statement of the account is added.
    store.import_statements(&meta("november.xml"), &file("STMT-11")).unwrap();
    assert_eq!((count(&store, "statement"), count(&store, "statement_entry")), (2, 4));
}

#[test]
fn a_failed_statement_import_leaves_nothing() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.import_statements(&meta("october.xml"), &file("STMT-10")).unwrap();
    // The same file hash again (the service checks it first; here the store's unique
    // constraint fails after the overlap check): an error, and nothing of it is stored.
    let result = store.import_statements(&meta("october.xml"), &file("STMT-11"));
    assert!(result.is_err());
    assert_eq!((count(&store, "source_file"), count(&store, "statement"), count(&store, "statement_entry")), (1, 1, 2));
}
