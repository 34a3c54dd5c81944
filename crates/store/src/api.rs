//! The storage interface ([`Store`]): what the use cases need of one tenant's data,
//! independent of the engine.

use std::collections::HashMap;

use chrono::NaiveDate;
use tieout_core::counterparty::Document;
use tieout_core::ids::OrderId;
use tieout_core::intern::Interner;
use tieout_core::receipts::{Payout, Receipt, ReceiptResult};
use tieout_core::receivables::{Posting, SettlementClose};
use tieout_core::reconcile::{ReconcileInput, Reconciliation};
use tieout_core::records::{LineKeys, OrderFile, SettlementFile};
use tieout_core::statement::StatementFile;

use crate::ledger::{DocumentImport, NewStatement, StatementRecord, StatementResolution, StoredDocument, TheirLine};
use crate::partition::ReconcilePartitions;
use crate::sqlite::*;
use crate::StoreError;

/// The storage interface the use cases run on: one tenant's data. Two engines implement
/// it with the same meaning: [`SqliteStore`] (one file per tenant, the embedded default)
/// and, with the `postgres` feature, `PgStore` (one database, every row carrying its
/// tenant). `tests/conformance.rs` runs the same suite against both.
pub trait Store: Send {
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    fn file_by_sha256(&self, sha256: &str) -> Result<Option<ImportedFile>, StoreError>;
    fn files(&self) -> Result<Vec<ImportedFile>, StoreError>;
    /// Imports one settlement file in one transaction. Settlements already imported
    /// (from any file) are skipped, never counted twice.
    fn import_settlements(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        store: &str,
    ) -> Result<SettlementImport, StoreError>;
    /// [`SqliteStore::import_settlements`] with the lines' keys computed by the caller
    /// (the import pipeline computes them on its parsing thread). `keys[i]` belongs to
    /// `file.lines[i]`.
    fn import_settlements_with_keys(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
    ) -> Result<SettlementImport, StoreError>;
    /// Imports one settlement file whose lines come in parts, in one transaction (see
    /// [`SqliteStore::import_settlement_parts`]); `None` when `next` gave up (nothing
    /// stored). By default the parts are collected and imported together; the SQLite engine
    /// inserts each part as it comes, so a file is never held whole.
    fn import_settlement_parts(
        &mut self,
        meta: &FileMeta,
        store: &str,
        next: &mut dyn FnMut() -> Option<SettlementPart>,
    ) -> Result<Option<SettlementImport>, StoreError> {
        let mut file = SettlementFile::default();
        let mut keys = Vec::new();
        loop {
            let Some(part) = next() else { return Ok(None) };
            let mut start = 0;
            for &end in &part.new_text_ends {
                file.strings.intern(part.new_texts.get(start..end).unwrap_or_default());
                start = end;
            }
            file.lines.extend(part.lines);
            keys.extend(part.keys);
            if part.last {
                file.settlements = part.settlements;
                return self.import_settlements_with_keys(meta, &file, &keys, store).map(Some);
            }
        }
    }
    /// Imports one transaction report's released lines (as settlements: new ones added,
    /// ones from an earlier report merged, ones from a settlement file left alone) and its
    /// deferred lines (replacing the store's), in one transaction.
    fn import_transaction_report(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
        extras: ReportExtras<'_>,
    ) -> Result<SettlementImport, StoreError>;
    /// Deferred lines stored, per store and currency.
    fn deferred_summary(&self) -> Result<Vec<DeferredSummary>, StoreError>;
    /// Imports one order export in one transaction.
    fn import_orders(&mut self, meta: &FileMeta, file: &OrderFile) -> Result<OrderImport, StoreError>;
    /// Imports one statement file (bank or payment tool) in one transaction. A statement
    /// with a reference already stored for the same account is skipped.
    fn import_statements(&mut self, meta: &FileMeta, file: &StatementFile) -> Result<StatementImport, StoreError>;
    /// Expected payouts (settlements with a positive total and a deposit date) and every
    /// entry (credit or debit, not zero) of the imported statements.
    fn load_payouts_and_receipts(&self) -> Result<(Vec<Payout>, Vec<Receipt>), StoreError>;
    /// Every entry of the account (and currency) that statement entry `entry_id` belongs to.
    fn account_entries_of(&self, entry_id: i64) -> Result<Option<AccountEntries>, StoreError>;
    /// The stored payout ↔ receipt results with what reports show of them.
    fn receipt_results(&self) -> Result<Vec<ReceiptRow>, StoreError>;
    /// Everything reconciliation needs: orders (items summed per order) and the lines
    /// that carry an order id. Store and marketplace names are interned, marketplaces
    /// normalised (lower case) so that `Amazon.co.uk` and `amazon.co.uk` are one.
    ///
    /// The lines are read in two halves, the second on another thread with its own
    /// connection (reading is most of a reconcile's time; SQLite readers do not block
    /// each other).
    fn load_reconcile_input(&self) -> Result<ReconcileInput, StoreError>;
    /// Replaces the stored reconciliation with `result` and the payout ↔ receipt results
    /// with `receipts`, in one transaction: a run is stored whole or not at all.
    fn save_reconciliation(
        &mut self,
        created_at: &str,
        config_text: &str,
        as_of: NaiveDate,
        result: &Reconciliation,
        strings: &Interner,
        receipts: &[ReceiptResult],
    ) -> Result<i64, StoreError>;
    /// The input of a reconciliation one range of order ids at a time, each range holding
    /// about `max_lines` lines (see [`ReconcilePartitions`]). By default the whole input in
    /// one piece; the SQLite engine spills a larger store to temporary files, so memory
    /// does not grow with the month.
    fn reconcile_partitions(&self, max_lines: usize) -> Result<ReconcilePartitions, StoreError> {
        let _ = max_lines;
        Ok(ReconcilePartitions::whole(self.load_reconcile_input()?))
    }
    /// [`Store::save_reconciliation`] with the results in parts, as [`Store::reconcile_partitions`]
    /// gives the input: still one transaction. By default the parts are collected and
    /// stored together; the SQLite engine stores each part as it comes.
    fn save_reconciliation_parts(
        &mut self,
        created_at: &str,
        config_text: &str,
        as_of: NaiveDate,
        strings: &Interner,
        parts: &mut dyn FnMut() -> Result<Option<Reconciliation>, StoreError>,
        receipts: &[ReceiptResult],
    ) -> Result<i64, StoreError> {
        let whole = crate::partition::concatenate(parts)?;
        self.save_reconciliation(created_at, config_text, as_of, &whole, strings, receipts)
    }
    /// Each settlement's marketplace: the (normalised) marketplace its lines name; a
    /// settlement whose lines name several gets the greatest name.
    fn settlement_marketplaces(&self) -> Result<HashMap<u64, String>, StoreError>;
    /// What the receivables roll-forward needs: every settlement's close (total, and its
    /// deposit date or, without one, its end date) and its lines summed per posted day
    /// (UTC) and roll-forward bucket.
    fn load_roll_forward_input(&self) -> Result<(Vec<SettlementClose>, Vec<Posting>), StoreError>;
    /// The id of the last file imported before run `run_id` (0 when none was).
    fn run_last_file_id(&self, run_id: i64) -> Result<i64, StoreError>;
    /// The settings text a run was made with.
    fn run_config(&self, run_id: i64) -> Result<String, StoreError>;
    fn latest_run(&self) -> Result<Option<RunRow>, StoreError>;
    /// Results of the latest reconciliation, sorted by order id. `order` limits them to
    /// one order.
    fn order_results(&self, order: Option<&OrderId>) -> Result<Vec<OrderResultRow>, StoreError>;
    /// One page of the latest run's results that pass `filter`, in the order they were
    /// stored, each with its position (the keyset cursor): the rows after `after`, at most
    /// `limit`.
    fn order_results_page(
        &self,
        filter: &ResultFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, OrderResultRow)>, StoreError>;
    /// Records actions on differences (resolve, reopen, assign), all in one transaction.
    fn add_difference_actions(&mut self, actions: &[DifferenceAction]) -> Result<(), StoreError>;
    /// Actions on differences in the order they were taken; `order` limits them to one order.
    fn difference_actions(&self, order: Option<&OrderId>) -> Result<Vec<DifferenceAction>, StoreError>;
    /// Records actions on payout ↔ receipt differences (resolve, reopen), all in one
    /// transaction.
    fn add_receipt_actions(&mut self, actions: &[ReceiptAction]) -> Result<(), StoreError>;
    /// Actions on payout ↔ receipt differences in the order they were taken; `key` limits
    /// them to one result (see [`ReceiptAction`]).
    fn receipt_actions(&self, key: Option<&str>) -> Result<Vec<ReceiptAction>, StoreError>;
    fn settlements(&self) -> Result<Vec<SettlementRow>, StoreError>;
    /// The order export rows of one order, with their file and line.
    fn order_rows(&self, order: &OrderId) -> Result<Vec<OrderRow>, StoreError>;
    /// The settlement lines of one order with their file and line. The index this needs
    /// is built on first use, not during imports (see the schema's note).
    fn order_lines(&self, order: &OrderId) -> Result<Vec<LineRow>, StoreError>;
    /// Counts rows per table (for `tieout status` and for tests that check nothing was
    /// half-imported).
    fn counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError>;
    /// The store's own structural check (`tieout check`): one finding per broken invariant,
    /// named so a person can find it; empty when everything holds.
    ///
    /// * every file's stored records number what its import recorded (an order export or a
    ///   transaction report may have fewer: a later file replaced some), and no source line
    ///   is stored twice;
    /// * every settlement's stored lines sum to, and number, what was recorded at import;
    /// * the latest run has exactly one result per order (orders ∪ order ids on lines), and
    ///   as many as it says;
    /// * payout ↔ receipt results, if any, belong to the latest run and name every expected
    ///   payout known to it (imported before it) exactly once.
    fn integrity_findings(&self) -> Result<Vec<String>, StoreError>;
    /// Re-checks, from what is stored, that each settlement's lines sum to what was
    /// recorded at import (the invariant is checked when read and when loaded back).
    fn verify_settlement_sums(&self) -> Result<Vec<(u64, i64, i64)>, StoreError>;
    // Statements with counterparties (往来对账单).

    /// Imports counterparty documents in one transaction; a document already stored (same
    /// counterparty, type and number) is skipped. The file's record count is the added ones.
    fn import_documents(&mut self, meta: &FileMeta, documents: &[Document]) -> Result<DocumentImport, StoreError>;
    /// Documents by date (of one counterparty, or all).
    fn documents(&self, counterparty: Option<&str>) -> Result<Vec<StoredDocument>, StoreError>;
    /// Draws up a statement (state `draft`) with its lines; returns its id.
    fn create_statement(&mut self, statement: &NewStatement) -> Result<i64, StoreError>;
    fn counterparty_statements(&self) -> Result<Vec<StatementRecord>, StoreError>;
    /// A statement's documents, in line order.
    fn statement_documents(&self, statement: i64) -> Result<Vec<i64>, StoreError>;
    /// Moves a statement from `from` to `to`; `false` when it is no longer in `from`.
    fn set_statement_state(&mut self, statement: i64, from: &str, to: &str, at: i64) -> Result<bool, StoreError>;
    /// Records payments applied — (statement, payment document, amount) — and the
    /// statements' new paid amounts and states — (statement, paid, state) — in one transaction.
    fn apply_statement_payments(
        &mut self,
        applications: &[(i64, i64, i64)],
        states: &[(i64, i64, String)],
        at: i64,
    ) -> Result<(), StoreError>;
    /// Every payment applied: (statement, payment document, amount).
    fn statement_payments(&self) -> Result<Vec<(i64, i64, i64)>, StoreError>;
    /// Stores the counterparty's own statement of `statement` (replacing an earlier one).
    fn import_counterparty_lines(
        &mut self,
        meta: &FileMeta,
        statement: i64,
        lines: &[TheirLine],
    ) -> Result<i64, StoreError>;
    fn counterparty_lines(&self, statement: i64) -> Result<Vec<TheirLine>, StoreError>;
    fn add_statement_resolutions(&mut self, resolutions: &[StatementResolution]) -> Result<(), StoreError>;
    fn statement_resolutions(&self, statement: i64) -> Result<Vec<StatementResolution>, StoreError>;
}

impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }
    fn file_by_sha256(&self, sha256: &str) -> Result<Option<ImportedFile>, StoreError> {
        SqliteStore::file_by_sha256(self, sha256)
    }
    fn files(&self) -> Result<Vec<ImportedFile>, StoreError> {
        SqliteStore::files(self)
    }
    fn import_settlements(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        store: &str,
    ) -> Result<SettlementImport, StoreError> {
        SqliteStore::import_settlements(self, meta, file, store)
    }
    fn import_settlements_with_keys(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
    ) -> Result<SettlementImport, StoreError> {
        SqliteStore::import_settlements_with_keys(self, meta, file, keys, store)
    }
    fn import_settlement_parts(
        &mut self,
        meta: &FileMeta,
        store: &str,
        next: &mut dyn FnMut() -> Option<SettlementPart>,
    ) -> Result<Option<SettlementImport>, StoreError> {
        SqliteStore::import_settlement_parts(self, meta, store, next)
    }
    fn import_transaction_report(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
        extras: ReportExtras<'_>,
    ) -> Result<SettlementImport, StoreError> {
        SqliteStore::import_transaction_report(self, meta, file, keys, store, extras)
    }
    fn deferred_summary(&self) -> Result<Vec<DeferredSummary>, StoreError> {
        SqliteStore::deferred_summary(self)
    }
    fn import_orders(&mut self, meta: &FileMeta, file: &OrderFile) -> Result<OrderImport, StoreError> {
        SqliteStore::import_orders(self, meta, file)
    }
    fn import_statements(&mut self, meta: &FileMeta, file: &StatementFile) -> Result<StatementImport, StoreError> {
        SqliteStore::import_statements(self, meta, file)
    }
    fn load_payouts_and_receipts(&self) -> Result<(Vec<Payout>, Vec<Receipt>), StoreError> {
        SqliteStore::load_payouts_and_receipts(self)
    }
    fn account_entries_of(&self, entry_id: i64) -> Result<Option<AccountEntries>, StoreError> {
        SqliteStore::account_entries_of(self, entry_id)
    }
    fn receipt_results(&self) -> Result<Vec<ReceiptRow>, StoreError> {
        SqliteStore::receipt_results(self)
    }
    fn load_reconcile_input(&self) -> Result<ReconcileInput, StoreError> {
        SqliteStore::load_reconcile_input(self)
    }
    fn save_reconciliation(
        &mut self,
        created_at: &str,
        config_text: &str,
        as_of: NaiveDate,
        result: &Reconciliation,
        strings: &Interner,
        receipts: &[ReceiptResult],
    ) -> Result<i64, StoreError> {
        SqliteStore::save_reconciliation(self, created_at, config_text, as_of, result, strings, receipts)
    }
    fn reconcile_partitions(&self, max_lines: usize) -> Result<ReconcilePartitions, StoreError> {
        SqliteStore::reconcile_partitions(self, max_lines)
    }
    fn save_reconciliation_parts(
        &mut self,
        created_at: &str,
        config_text: &str,
        as_of: NaiveDate,
        strings: &Interner,
        parts: &mut dyn FnMut() -> Result<Option<Reconciliation>, StoreError>,
        receipts: &[ReceiptResult],
    ) -> Result<i64, StoreError> {
        SqliteStore::save_reconciliation_parts(self, created_at, config_text, as_of, strings, parts, receipts)
    }
    fn settlement_marketplaces(&self) -> Result<HashMap<u64, String>, StoreError> {
        SqliteStore::settlement_marketplaces(self)
    }
    fn load_roll_forward_input(&self) -> Result<(Vec<SettlementClose>, Vec<Posting>), StoreError> {
        SqliteStore::load_roll_forward_input(self)
    }
    fn run_last_file_id(&self, run_id: i64) -> Result<i64, StoreError> {
        SqliteStore::run_last_file_id(self, run_id)
    }
    fn run_config(&self, run_id: i64) -> Result<String, StoreError> {
        SqliteStore::run_config(self, run_id)
    }
    fn latest_run(&self) -> Result<Option<RunRow>, StoreError> {
        SqliteStore::latest_run(self)
    }
    fn order_results(&self, order: Option<&OrderId>) -> Result<Vec<OrderResultRow>, StoreError> {
        SqliteStore::order_results(self, order)
    }
    fn order_results_page(
        &self,
        filter: &ResultFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, OrderResultRow)>, StoreError> {
        SqliteStore::order_results_page(self, filter, after, limit)
    }
    fn add_difference_actions(&mut self, actions: &[DifferenceAction]) -> Result<(), StoreError> {
        SqliteStore::add_difference_actions(self, actions)
    }
    fn difference_actions(&self, order: Option<&OrderId>) -> Result<Vec<DifferenceAction>, StoreError> {
        SqliteStore::difference_actions(self, order)
    }
    fn add_receipt_actions(&mut self, actions: &[ReceiptAction]) -> Result<(), StoreError> {
        SqliteStore::add_receipt_actions(self, actions)
    }
    fn receipt_actions(&self, key: Option<&str>) -> Result<Vec<ReceiptAction>, StoreError> {
        SqliteStore::receipt_actions(self, key)
    }
    fn settlements(&self) -> Result<Vec<SettlementRow>, StoreError> {
        SqliteStore::settlements(self)
    }
    fn order_rows(&self, order: &OrderId) -> Result<Vec<OrderRow>, StoreError> {
        SqliteStore::order_rows(self, order)
    }
    fn order_lines(&self, order: &OrderId) -> Result<Vec<LineRow>, StoreError> {
        SqliteStore::order_lines(self, order)
    }
    fn counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        SqliteStore::counts(self)
    }
    fn integrity_findings(&self) -> Result<Vec<String>, StoreError> {
        SqliteStore::integrity_findings(self)
    }
    fn verify_settlement_sums(&self) -> Result<Vec<(u64, i64, i64)>, StoreError> {
        SqliteStore::verify_settlement_sums(self)
    }
    fn import_documents(&mut self, meta: &FileMeta, documents: &[Document]) -> Result<DocumentImport, StoreError> {
        SqliteStore::import_documents(self, meta, documents)
    }
    fn documents(&self, counterparty: Option<&str>) -> Result<Vec<StoredDocument>, StoreError> {
        SqliteStore::documents(self, counterparty)
    }
    fn create_statement(&mut self, statement: &NewStatement) -> Result<i64, StoreError> {
        SqliteStore::create_statement(self, statement)
    }
    fn counterparty_statements(&self) -> Result<Vec<StatementRecord>, StoreError> {
        SqliteStore::counterparty_statements(self)
    }
    fn statement_documents(&self, statement: i64) -> Result<Vec<i64>, StoreError> {
        SqliteStore::statement_documents(self, statement)
    }
    fn set_statement_state(&mut self, statement: i64, from: &str, to: &str, at: i64) -> Result<bool, StoreError> {
        SqliteStore::set_statement_state(self, statement, from, to, at)
    }
    fn apply_statement_payments(
        &mut self,
        applications: &[(i64, i64, i64)],
        states: &[(i64, i64, String)],
        at: i64,
    ) -> Result<(), StoreError> {
        SqliteStore::apply_statement_payments(self, applications, states, at)
    }
    fn statement_payments(&self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        SqliteStore::statement_payments(self)
    }
    fn import_counterparty_lines(
        &mut self,
        meta: &FileMeta,
        statement: i64,
        lines: &[TheirLine],
    ) -> Result<i64, StoreError> {
        SqliteStore::import_counterparty_lines(self, meta, statement, lines)
    }
    fn counterparty_lines(&self, statement: i64) -> Result<Vec<TheirLine>, StoreError> {
        SqliteStore::counterparty_lines(self, statement)
    }
    fn add_statement_resolutions(&mut self, resolutions: &[StatementResolution]) -> Result<(), StoreError> {
        SqliteStore::add_statement_resolutions(self, resolutions)
    }
    fn statement_resolutions(&self, statement: i64) -> Result<Vec<StatementResolution>, StoreError> {
        SqliteStore::statement_resolutions(self, statement)
    }
}
