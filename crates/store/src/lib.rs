//! tieout-store: the schema, its migrations, and the embedded SQLite store.
//!
//! What it is: durable storage of imported files (with their SHA-256), settlements and
//! their lines, order items, and the latest reconciliation, each row with its provenance
//! (file id + line). Every import is one transaction: all of a file, or none of it.
//!
//! What it is not: it parses nothing (records arrive from `tieout-formats` through the
//! service), decides nothing (classification is `tieout-core`), and reads no clock (the
//! caller passes timestamps). Two engines implement one interface ([`Store`]): the
//! embedded [`SqliteStore`] (one file per tenant) and, with the `postgres` feature (on by
//! default), `PgStore` (one database for every tenant, each row carrying its tenant);
//! `tests/conformance.rs` runs one suite on both.

mod api;
mod blocks;
pub mod control;
mod ledger;
mod packing;
mod partition;
#[cfg(feature = "postgres")]
pub mod pool;
#[cfg(feature = "postgres")]
pub mod postgres;
mod result_blocks;
mod schema;
mod sqlite;

pub use api::Store;
pub use ledger::{DocumentImport, NewStatement, StatementRecord, StatementResolution, StoredDocument, TheirLine};
pub use partition::{ReconcilePartitions, PARTITION_LINES};

#[cfg(feature = "postgres")]
pub use crate::postgres::{PgSchemaOptions, PgStore};

pub use schema::SCHEMA_VERSION;
pub use sqlite::{
    AccountEntries, DeferredLine, DeferredSummary, DifferenceAction, FileMeta, ImportedFile, LineRow, OrderImport,
    OrderResultRow, OrderRow, ReceiptAction, ReceiptRef, ReceiptRow, ReportExtras, ResultFilter, RunRow,
    SettlementImport, SettlementPart, SettlementRow, SqliteStore, StatementImport,
};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("database: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("database schema version {found} is newer than this tieout understands ({supported}); upgrade tieout")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    /// A temporary file of a reconciliation in partitions could not be written or read
    /// (e.g. the disk beside the database is full).
    #[error("temporary file of the reconciliation: {0}")]
    Spill(String),
}
