//! tieout-service: the use cases — import files, reconcile, report, explain. The one
//! place that combines the readers (`tieout-formats`), the store (`tieout-store`) and the
//! domain (`tieout-core`).
//!
//! What it is not: no command line, no environment variables, no wall clock (callers
//! pass the time), no HTTP server. Its one use of the network is sending alerts
//! ([`alerts`]: plain HTTP/1.1 webhooks and SMTP to a relay).

pub mod alerts;
pub mod audit;
pub mod backend;
pub mod check;
pub mod config;
pub mod differences;
pub mod import;
pub mod jobs;
pub mod month_end;
pub mod rates;
pub mod receipt_differences;
pub mod reconcile;
pub mod report;
pub mod rules;
pub mod statements;
pub mod team;
pub mod transactions;
pub mod views;

pub use tieout_store::{control, PgSchemaOptions, ResultFilter};
pub use tieout_store::{SqliteStore, Store, StoreError};
