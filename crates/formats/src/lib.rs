//! tieout-formats: one module per source format, each turning the bytes of a file into
//! core records with provenance (line numbers) and diagnostics; and the writers of report
//! tables (CSV, XLSX, JSON, terminal).
//!
//! What it is not: no file system access (a reader takes bytes and a file name, never a
//! path), no database, no clock. Depends on `tieout-core` only.

pub mod amazon_settlement;
pub mod dates;
pub mod detect;
pub mod mapping;
pub mod orders;
pub mod text;
pub mod write;

pub use detect::{detect, Detected};
