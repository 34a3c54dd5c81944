//! tieout-core: the domain of settlement reconciliation, as pure functions and plain data.
//!
//! What it is: money (exact integer minor units with an ISO 4217 currency), the records
//! that readers produce (settlement lines, orders) with their provenance, the
//! classification of orders and settlement lines, report tables, and the named limits
//! every input is held to.
//!
//! What it is not: it does no IO, has no clock, no database and no async. Readers live in
//! `tieout-formats`, storage in `tieout-store`, use cases in `tieout-service`.

pub mod counterparty;
pub mod diag;
pub mod ids;
pub mod intern;
pub mod limits;
pub mod matching;
pub mod money;
pub mod receipts;
pub mod receivables;
pub mod reconcile;
pub mod records;
pub mod statement;
pub mod table;

pub use diag::{Diagnostic, Severity};
pub use ids::OrderId;
pub use intern::{Interner, Sym};
pub use money::{Currency, Money, MoneyError, NumberStyle};
