//! Rows of statements with counterparties (往来对账单), as both engines store them.

use tieout_core::counterparty::Document;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentImport {
    pub file_id: i64,
    pub added: usize,
    /// Documents already stored (the same counterparty, type and number).
    pub skipped: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument {
    pub id: i64,
    pub file_name: String,
    pub document: Document,
}

/// A statement to draw up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewStatement {
    pub counterparty: String,
    /// `receivable` or `payable`.
    pub side: String,
    pub currency: String,
    /// Day numbers (days from 0001-01-01), inclusive.
    pub period_start_day: i32,
    pub period_end_day: i32,
    pub opening_minor: i64,
    pub due_minor: i64,
    /// Its lines, in order.
    pub document_ids: Vec<i64>,
    pub created_by: Option<i64>,
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRecord {
    pub id: i64,
    pub counterparty: String,
    pub side: String,
    pub currency: String,
    pub period_start_day: i32,
    pub period_end_day: i32,
    pub opening_minor: i64,
    pub due_minor: i64,
    pub paid_minor: i64,
    pub state: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A line of the counterparty's own statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TheirLine {
    pub line: u32,
    pub number: String,
    pub day: i32,
    /// Signed as on our side: what the counterparty says is owed by this document.
    pub amount_minor: i64,
    pub description: String,
}

/// What was done about a difference between the two statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementResolution {
    pub statement_id: i64,
    /// The document number the difference is about.
    pub number: String,
    /// `accept`, `adjust` or `write_off`.
    pub kind: String,
    pub ours_minor: Option<i64>,
    pub theirs_minor: Option<i64>,
    /// The amount accepted, adjusted or written off (ours − theirs).
    pub amount_minor: i64,
    pub reason: Option<String>,
    pub comment: Option<String>,
    /// `None`: the system (an automatic write-off).
    pub by_user: Option<i64>,
    pub at: i64,
}
