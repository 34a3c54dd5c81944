//! Versioned migrations. Each migration runs once, in order, inside a transaction, and
//! records its version; a database from a newer tieout is refused rather than misread.

use rusqlite::Connection;

use crate::StoreError;

pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_statements.sql")),
    (3, include_str!("migrations/0003_receipt_results.sql")),
    (4, include_str!("migrations/0004_reference_rates.sql")),
    (5, include_str!("migrations/0005_withdrawals.sql")),
    (6, include_str!("migrations/0006_transaction_reports.sql")),
    (7, include_str!("migrations/0007_difference_actions.sql")),
    (8, include_str!("migrations/0008_counterparty_statements.sql")),
    (9, include_str!("migrations/0009_difference_resolutions.sql")),
    (10, include_str!("migrations/0010_receipt_actions.sql")),
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    // Up to date (the usual case when a server opens a tenant's file per request): only read.
    let exists: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration')",
        [],
        |row| row.get(0),
    )?;
    if exists {
        let current: i64 =
            connection.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
    }
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )?;
    let current: i64 =
        connection.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))?;
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > supported {
        return Err(StoreError::SchemaTooNew { found: current, supported });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.execute("INSERT INTO schema_migration (version) VALUES (?1)", [version])?;
        transaction.commit()?;
    }
    Ok(())
}
