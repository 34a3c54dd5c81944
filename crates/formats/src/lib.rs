//! tieout-formats: one module per source format, each turning the bytes of a file into
//! core records with provenance (line numbers) and diagnostics; and the writers of report
//! tables (CSV, XLSX, JSON, terminal).
//!
//! What it is not: no file system access (a reader takes bytes and a file name, never a
//! path), no database, no clock. Depends on `tieout-core` only.

pub mod alipay;
pub mod amazon_settlement;
pub mod amazon_transactions;
pub mod camt053;
pub mod dates;
pub mod detect;
pub mod ledger;
pub mod ledger_mapping;
mod local_date;
pub mod mapping;
mod mapping_common;
pub mod mt940;
pub mod orders;
pub mod statement_profile;
pub mod text;
mod toml_position;
pub mod wechatpay;
pub mod write;
mod xlsx;

pub use detect::{detect, detect_amazon_transactions, Detected};
