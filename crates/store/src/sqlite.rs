//! The embedded SQLite store.
//!
//! Durability: SQLite's defaults (rollback journal, `synchronous = FULL`): a committed
//! import survives a crash or power loss; an interrupted one leaves nothing. For a bulk
//! load into a new file this is nearly free (SQLite journals no page beyond the file's
//! original size), which is why the journal is not switched to WAL.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tieout_core::ids::OrderId;
use tieout_core::intern::{Interner, Sym};
use tieout_core::money::Currency;
use tieout_core::receipts::{Payout, Receipt, ReceiptResult, ReceiptStatus};
use tieout_core::receivables::{Bucket, Posting, SettlementClose};
use tieout_core::reconcile::{sort_lines, Category, Flags, LineFacts, OrderFacts, ReconcileInput, Reconciliation};
use tieout_core::records::{
    line_keys, normalize_marketplace, Component, LineKeys, LineKind, OrderFile, OrderStatus, SettlementFile,
    SettlementHeader, SettlementLine, SourceFormat, TransactionClass,
};
use tieout_core::statement::StatementFile;

use crate::blocks::{
    block_sizes, blocks_of_order, decode, delete_settlement_blocks, for_each_block, line_id, split_blocks, text,
    BlockReader, BlockSink, StoredLine,
};
use crate::partition::{sum_items, ReconcilePartitions};
use crate::result_blocks::{
    order_id as result_order_id, result_block_findings, result_blocks, to_row, with_block, ResultSink, StoredResult,
};
use crate::{schema, StoreError};

/// What the caller knows of a file being imported.
#[derive(Clone, Debug)]
pub struct FileMeta {
    pub sha256: String,
    pub name: String,
    pub format: SourceFormat,
    pub store: Option<String>,
    pub size_bytes: u64,
    /// When the import happened (the caller's clock), RFC 3339.
    pub imported_at: String,
}

/// A part of a settlement file read in parts (see `import_settlement_parts`).
#[derive(Clone, Debug, Default)]
pub struct SettlementPart {
    /// Texts interned by the reader since the previous part, in symbol order, packed:
    /// the `i`-th ends at byte `new_text_ends[i]` of `new_texts`. The store appends them
    /// in the same order, so the lines' symbols resolve to the same texts.
    pub new_texts: String,
    pub new_text_ends: Vec<usize>,
    /// Every settlement begun in the file so far (sums final only in the last part).
    pub settlements: Vec<SettlementHeader>,
    pub lines: Vec<SettlementLine>,
    /// `keys[i]` belongs to `lines[i]`.
    pub keys: Vec<LineKeys>,
    /// The last part: its settlements carry their final sums, and the import commits.
    pub last: bool,
}

/// A file already in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedFile {
    pub id: i64,
    pub sha256: String,
    pub name: String,
    pub format: String,
    pub store: Option<String>,
    pub size_bytes: i64,
    pub imported_at: String,
    pub record_count: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettlementImport {
    pub file_id: i64,
    pub settlements_added: Vec<u64>,
    /// Settlements already imported from another file: (settlement id, that file's name).
    pub settlements_skipped: Vec<(u64, String)>,
    /// Settlements first known from a transaction report, now replaced by this settlement
    /// file's (the settlement file is the authority): (settlement id, the report's name).
    pub settlements_replaced: Vec<(u64, String)>,
    /// Settlements known from an earlier transaction report that this report added rows
    /// to (overlapping reports: rows already stored are not added again).
    pub settlements_merged: Vec<u64>,
    pub lines_added: u64,
    pub deferred_added: u64,
}

/// What a transaction report adds beside its released lines.
#[derive(Clone, Copy, Debug)]
pub struct ReportExtras<'a> {
    /// Settlements with no transfer (payout) row in the report: still open.
    pub open: &'a [u64],
    /// Deferred transactions (not released yet), with their text in the file's strings.
    pub deferred: &'a [DeferredLine],
    /// The earliest and latest posted time of the report's rows: the store's deferred
    /// lines posted within it are replaced by the report's.
    pub posted_range: (i64, i64),
}

/// A deferred (held, not yet released) transaction line of a transaction report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeferredLine {
    pub line: u32,
    /// The settlement it will be paid in, when the report names one.
    pub settlement_id: Option<u64>,
    pub order_id: Option<OrderId>,
    pub transaction_type: Sym,
    pub amount_type: Sym,
    pub description: Sym,
    pub amount_minor: i64,
    pub currency: Currency,
    pub posted_utc_seconds: i64,
    pub release_utc_seconds: Option<i64>,
}

/// Deferred lines stored, per store and currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeferredSummary {
    pub store: String,
    pub currency: Currency,
    pub lines: i64,
    pub amount_minor: i64,
    pub first_posted_utc: i64,
    pub last_release_utc: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderImport {
    pub file_id: i64,
    pub items_added: u64,
    pub orders_added: u64,
    /// Orders that earlier files had; this file's rows replace theirs (an export is a
    /// snapshot, and the later snapshot knows the later status).
    pub orders_replaced: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatementImport {
    pub file_id: i64,
    pub statements_added: u64,
    /// Statements already imported from another file: (account, statement reference,
    /// that file's name). Their entries here were not added again.
    pub statements_skipped: Vec<(String, String, String)>,
    pub entries_added: u64,
    /// Entries of a statement without a reference (a tabular export) whose own reference
    /// is already stored for the account — an overlapping export: (account, count, the
    /// first such reference, the file it was stored from).
    pub entries_skipped: Vec<(String, u64, String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRow {
    pub settlement_id: u64,
    pub store: String,
    pub file_name: String,
    pub line: u32,
    pub start_utc_seconds: i64,
    pub end_utc_seconds: i64,
    pub deposit_utc_seconds: Option<i64>,
    pub total_minor: i64,
    pub currency: Currency,
    pub lines_sum_minor: i64,
    pub line_count: u32,
    /// Known from a transaction report without its transfer yet: posted, not paid out.
    pub open: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    pub file_name: String,
    pub line: u32,
    pub store: String,
    pub marketplace: String,
    pub status: OrderStatus,
    pub purchase_date: NaiveDate,
    pub ship_date: Option<NaiveDate>,
    pub currency: Currency,
    pub amount_minor: i64,
    pub refunded_minor: Option<i64>,
    pub quantity: u32,
    pub sku: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineRow {
    pub id: i64,
    pub settlement_id: u64,
    pub file_name: String,
    pub line: u32,
    pub transaction_type: String,
    pub amount_type: String,
    pub description: String,
    pub marketplace: String,
    pub sku: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub posted_utc_seconds: i64,
    pub quantity: u32,
    pub kind: LineKind,
    /// The earlier line this one duplicates, per the latest reconciliation.
    pub duplicate_of: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderResultRow {
    pub order_id: OrderId,
    pub store: String,
    pub marketplace: String,
    pub currency: Currency,
    pub category: Category,
    pub flags: Flags,
    pub status: Option<OrderStatus>,
    pub ship_date: Option<NaiveDate>,
    pub order_amount_minor: Option<i64>,
    pub settled_amount_minor: i64,
    pub refunds_settled_minor: i64,
    pub written_off_minor: i64,
    pub fees_charged_minor: i64,
    pub fees_expected_minor: Option<i64>,
    pub net_settled_minor: i64,
    pub days_since_ship: Option<i64>,
    pub line_count: u32,
    pub duplicate_line_count: u32,
    pub period_date: NaiveDate,
}

/// Something a person did about an order's difference: `resolve` (with a reason code and
/// a comment), `reopen` or `assign` (to `assignee`, a user id; `None` unassigns).
/// Appended, never changed.
///
/// A `resolve` says how (`kind`): `accept` (the difference is explained and stands),
/// `adjust` (an adjustment is booked: `ours_minor` what we expected, `theirs_minor` what
/// was settled, `amount_minor` the adjustment — both amounts kept) or `write_off`
/// (`amount_minor` written off). `by_user` 0 is the system identity (automatic
/// write-offs). Resolutions recorded before schema version 9 have no kind or amounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DifferenceAction {
    pub order_id: OrderId,
    pub action: String,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub assignee: Option<i64>,
    /// The user who acted.
    pub by_user: i64,
    /// Unix seconds (the caller's clock).
    pub at: i64,
    /// `accept`, `adjust` or `write_off` (resolve only).
    pub kind: Option<String>,
    /// The currency of the amounts (ISO 4217 code).
    pub currency: Option<String>,
    pub ours_minor: Option<i64>,
    pub theirs_minor: Option<i64>,
    pub amount_minor: Option<i64>,
}

/// One action on a payout ↔ receipt difference (appended, never changed): `resolve` or
/// `reopen`. `key` names the result across runs (result ids change with every run):
/// `payout:<settlement id>` (the first, when one transfer paid several),
/// `withdrawal:<statement entry id>` or `receipt:<statement entry id>` (an unexpected
/// receipt). A resolve has a `kind` (`accept`, `adjust`, `write_off`) and its amounts in
/// `currency`: `ours_minor` what was expected, `theirs_minor` what was received,
/// `amount_minor` the adjustment or the amount written off. `by_user` 0 is the system
/// identity (automatic write-offs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptAction {
    pub key: String,
    pub action: String,
    pub kind: Option<String>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub currency: Option<String>,
    pub ours_minor: Option<i64>,
    pub theirs_minor: Option<i64>,
    pub amount_minor: Option<i64>,
    /// The user who acted.
    pub by_user: i64,
    /// Unix seconds (the caller's clock).
    pub at: i64,
}

/// Which of the latest run's results a page holds. Empty: all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResultFilter {
    /// Only these stores (a role limited to some stores sees only theirs).
    pub stores: Option<Vec<String>>,
    pub marketplace: Option<String>,
    pub category: Option<Category>,
    /// Every category but matched and not-yet-due.
    pub differences_only: bool,
    /// The result's period: its order's purchase day, or for an order only settlements
    /// know, its first line's posted day.
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
}

/// A settlement a receipt result is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutRef {
    pub settlement_id: u64,
    pub store: String,
    pub deposit_date: Option<NaiveDate>,
}

/// A statement entry a receipt result is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRef {
    pub entry_id: i64,
    pub entry_ref: String,
    pub file_name: String,
    pub line: u32,
    pub booking_date: Option<NaiveDate>,
}

/// The entries of one account, across its imported statements (for the explain chain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEntries {
    pub account: String,
    pub currency: Currency,
    /// The opening balance of its earliest statement, when the statement states one.
    pub opening_minor: Option<i64>,
    /// (entry, signed amount), in booking order.
    pub entries: Vec<(ReceiptRef, i64)>,
}

/// One stored payout ↔ receipt result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRow {
    pub id: i64,
    pub status: ReceiptStatus,
    pub expected: Option<tieout_core::Money>,
    pub received: Option<tieout_core::Money>,
    pub rule_id: Option<String>,
    pub score: Option<u32>,
    pub difference_minor: Option<i64>,
    pub date_difference_days: Option<i64>,
    pub implied_rate: Option<String>,
    pub reference_rate: Option<String>,
    pub rate_within_band: Option<bool>,
    pub fx_difference_minor: Option<i64>,
    pub settlements: Vec<PayoutRef>,
    /// The withdrawal (payment-tool debit) the result is about, if it is about one.
    pub withdrawals: Vec<ReceiptRef>,
    pub receipts: Vec<ReceiptRef>,
}

impl ReceiptRow {
    /// `payout`, `withdrawal` or `receipt` (an unexpected receipt).
    pub fn kind(&self) -> &'static str {
        if !self.withdrawals.is_empty() {
            "withdrawal"
        } else if !self.settlements.is_empty() {
            "payout"
        } else {
            "receipt"
        }
    }
}

/// The latest reconciliation run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub created_at: String,
    pub as_of: NaiveDate,
    pub order_count: i64,
    pub difference_count: i64,
}

pub struct SqliteStore {
    connection: Connection,
    /// The database file, for a second reading connection; `None` in memory.
    path: Option<std::path::PathBuf>,
    /// text -> id of the dictionary table, loaded on first use.
    dictionary: Option<HashMap<String, i64>>,
}

/// A loading thread's own connection: read-only, and without SQLite's per-call mutex (a
/// connection used by one thread needs none; with it, locking was a tenth of reading
/// the order rows).
fn read_only_flags() -> rusqlite::OpenFlags {
    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
}

fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

pub(crate) fn from_day_number(day: i32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_num_days_from_ce_opt(day).ok_or_else(|| StoreError::Corrupt(format!("day number {day}")))
}

pub(crate) fn currency_of(code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).map_err(|_| StoreError::Corrupt(format!("currency '{code}'")))
}

fn order_parts(id: &OrderId) -> (Option<i64>, Option<&str>) {
    (id.packed().map(|p| p as i64), id.text())
}

fn order_from_parts(key: Option<i64>, text: Option<String>) -> Result<OrderId, StoreError> {
    OrderId::from_parts(key.map(|k| k as u64), text.as_deref())
        .ok_or_else(|| StoreError::Corrupt("a row without an order id".to_owned()))
}

/// A stored line number or quantity (written from a `u32`).
fn small(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("a settlement line's number or quantity {value}")))
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let connection =
            Connection::open(path).map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        SqliteStore::with_connection(connection, Some(path.to_path_buf()))
    }

    /// Opens the database file for a server: readers run beside a writer. The journal is
    /// switched to WAL (readers see the last commit while an import writes; a rollback
    /// journal would make them wait for a large import's lock), with `synchronous = FULL`
    /// so a committed import still survives a power loss.
    pub fn open_concurrent(path: &Path) -> Result<SqliteStore, StoreError> {
        let store = SqliteStore::open(path)?;
        store.connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        Ok(store)
    }

    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::with_connection(Connection::open_in_memory()?, None)
    }

    fn with_connection(
        mut connection: Connection,
        path: Option<std::path::PathBuf>,
    ) -> Result<SqliteStore, StoreError> {
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        connection
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")?;
        schema::migrate(&mut connection)?;
        Ok(SqliteStore { connection, path, dictionary: None })
    }

    pub fn file_by_sha256(&self, sha256: &str) -> Result<Option<ImportedFile>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT id, sha256, name, format, store, size_bytes, imported_at, record_count FROM source_file WHERE sha256 = ?1",
                [sha256],
                imported_file,
            )
            .optional()?)
    }

    pub fn files(&self) -> Result<Vec<ImportedFile>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT id, sha256, name, format, store, size_bytes, imported_at, record_count FROM source_file ORDER BY id",
        )?;
        let rows = statement.query_map([], imported_file)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn load_dictionary(&mut self) -> Result<(), StoreError> {
        if self.dictionary.is_none() {
            let mut statement = self.connection.prepare("SELECT id, text FROM dictionary")?;
            let map = statement
                .query_map([], |row| Ok((row.get::<_, String>(1)?, row.get::<_, i64>(0)?)))?
                .collect::<Result<HashMap<_, _>, _>>()?;
            self.dictionary = Some(map);
        }
        Ok(())
    }

    /// Imports one settlement file in one transaction. Settlements already imported
    /// (from any file) are skipped, never counted twice.
    pub fn import_settlements(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        store: &str,
    ) -> Result<SettlementImport, StoreError> {
        let keys = line_keys(file);
        self.import_settlements_with_keys(meta, file, &keys, store)
    }

    /// [`SqliteStore::import_settlements`] with the lines' keys computed by the caller
    /// (the import pipeline computes them on its parsing thread). `keys[i]` belongs to
    /// `file.lines[i]`.
    pub fn import_settlements_with_keys(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
    ) -> Result<SettlementImport, StoreError> {
        assert_eq!(keys.len(), file.lines.len(), "one key per line");
        self.load_dictionary()?;
        let dictionary = self.dictionary.as_mut().expect("loaded");
        let transaction = self.connection.transaction()?;
        let result = insert_settlements(&transaction, dictionary, meta, file, keys, store);
        let result = result.and_then(|outcome| Ok(transaction.commit().map(|()| outcome)?));
        self.forget_dictionary_on_error(result)
    }

    /// Imports one settlement file whose lines come in parts, as they are read, in one
    /// transaction: each part's lines are inserted as it comes, so a file is never held
    /// whole. A settlement is decided (added, skipped as already imported, replacing one
    /// known only from a report) when a part first names it; settlement rows are written
    /// with the last part's final sums. `next` returning `None` (the reader found an error)
    /// rolls everything back and returns `None`: nothing of the file is stored.
    pub fn import_settlement_parts(
        &mut self,
        meta: &FileMeta,
        store: &str,
        next: &mut dyn FnMut() -> Option<SettlementPart>,
    ) -> Result<Option<SettlementImport>, StoreError> {
        self.load_dictionary()?;
        let dictionary = self.dictionary.as_mut().expect("loaded");
        let transaction = self.connection.transaction()?;
        let result = (|| -> Result<Option<SettlementImport>, StoreError> {
            let mut outcome = SettlementImport::default();
            let (mut skip, mut merge) = (HashSet::new(), HashSet::new());
            let mut decided: HashSet<u64> = HashSet::new();
            let mut strings = PartTexts::new();
            let mut word_ids: Vec<i64> = Vec::new();
            let file_id = insert_file(&transaction, meta, 0)?;
            outcome.file_id = file_id;
            let store_id = WordIds::new(&strings).word(&transaction, dictionary, store)?;
            loop {
                let Some(part) = next() else { return Ok(None) };
                strings.append(&part.new_texts, &part.new_text_ends)?;
                for header in part.settlements.iter().filter(|h| decided.insert(h.settlement_id)) {
                    settle_existing(&transaction, header.settlement_id, false, &mut outcome, &mut skip, &mut merge)?;
                }
                let mut words = WordIds::resume(&strings, std::mem::take(&mut word_ids));
                outcome.lines_added += insert_lines(
                    &transaction,
                    dictionary,
                    &mut words,
                    &strings,
                    file_id,
                    outcome.lines_added,
                    part.lines.iter().zip(&part.keys).filter(|(line, _)| !skip.contains(&line.settlement_id)),
                )?;
                word_ids = words.into_ids();
                if part.last {
                    for header in part.settlements.iter().filter(|h| !skip.contains(&h.settlement_id)) {
                        insert_settlement_row(&transaction, header, store_id, file_id, false)?;
                        outcome.settlements_added.push(header.settlement_id);
                    }
                    transaction.execute(
                        "UPDATE source_file SET record_count = ?2 WHERE id = ?1",
                        params![file_id, outcome.lines_added as i64],
                    )?;
                    return Ok(Some(outcome));
                }
            }
        })();
        let result = match result {
            Ok(Some(outcome)) => transaction.commit().map(|()| outcome).map_err(StoreError::from),
            Ok(None) => {
                // Refused: rolled back as the transaction is dropped; the dictionary may
                // hold words of the rolled-back parts.
                drop(transaction);
                self.dictionary = None;
                return Ok(None);
            }
            Err(error) => {
                drop(transaction);
                Err(error)
            }
        };
        self.forget_dictionary_on_error(result).map(Some)
    }

    /// Imports one transaction report's released lines (as settlements: new ones added,
    /// ones from an earlier report merged, ones from a settlement file left alone) and its
    /// deferred lines (replacing the store's), in one transaction.
    pub fn import_transaction_report(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
        extras: ReportExtras<'_>,
    ) -> Result<SettlementImport, StoreError> {
        assert_eq!(keys.len(), file.lines.len(), "one key per line");
        self.load_dictionary()?;
        let dictionary = self.dictionary.as_mut().expect("loaded");
        let transaction = self.connection.transaction()?;
        let result = insert_settlements_from(&transaction, dictionary, meta, file, keys, store, Some(extras));
        let result = result.and_then(|outcome| Ok(transaction.commit().map(|()| outcome)?));
        self.forget_dictionary_on_error(result)
    }

    /// Deferred lines stored, per store and currency.
    pub fn deferred_summary(&self) -> Result<Vec<DeferredSummary>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT d.text, l.currency, COUNT(*), SUM(l.amount_minor), MIN(l.posted_utc), MAX(l.release_utc)
             FROM deferred_line l JOIN dictionary d ON d.id = l.store GROUP BY d.text, l.currency ORDER BY d.text, l.currency",
        )?;
        let mut rows = statement.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let currency: String = row.get(1)?;
            out.push(DeferredSummary {
                store: row.get(0)?,
                currency: currency_of(&currency)?,
                lines: row.get(2)?,
                amount_minor: row.get(3)?,
                first_posted_utc: row.get(4)?,
                last_release_utc: row.get(5)?,
            });
        }
        Ok(out)
    }

    /// Imports one order export in one transaction.
    pub fn import_orders(&mut self, meta: &FileMeta, file: &OrderFile) -> Result<OrderImport, StoreError> {
        self.load_dictionary()?;
        let dictionary = self.dictionary.as_mut().expect("loaded");
        let transaction = self.connection.transaction()?;
        let result = insert_orders(&transaction, dictionary, meta, file)
            .and_then(|outcome| Ok(transaction.commit().map(|()| outcome)?));
        self.forget_dictionary_on_error(result)
    }

    /// After a failed (rolled back) transaction the cached dictionary may hold ids of
    /// words that were never committed: drop it, to be reloaded on next use.
    /// Forgets what this connection has cached of the database (the dictionary of texts),
    /// so that it can be used again after other connections have written: a server keeps
    /// connections open between requests.
    pub fn forget_caches(&mut self) {
        self.dictionary = None;
    }

    fn forget_dictionary_on_error<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_err() {
            self.dictionary = None;
        }
        result
    }

    fn dictionary_texts(&self) -> Result<HashMap<i64, String>, StoreError> {
        let mut statement = self.connection.prepare("SELECT id, text FROM dictionary")?;
        let map =
            statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<HashMap<_, _>, _>>()?;
        Ok(map)
    }

    /// Imports one statement file (bank or payment tool) in one transaction. A statement
    /// with a reference already stored for the same account is skipped.
    pub fn import_statements(&mut self, meta: &FileMeta, file: &StatementFile) -> Result<StatementImport, StoreError> {
        let transaction = self.connection.transaction()?;
        let result = insert_statements(&transaction, meta, file)
            .and_then(|outcome| Ok(transaction.commit().map(|()| outcome)?));
        self.forget_dictionary_on_error(result)
    }

    /// Expected payouts (settlements with a positive total and a deposit date) and every
    /// entry (credit or debit, not zero) of the imported statements.
    pub fn load_payouts_and_receipts(&self) -> Result<(Vec<Payout>, Vec<Receipt>), StoreError> {
        let mut payouts = Vec::new();
        {
            let mut statement = self.connection.prepare(
                "SELECT s.settlement_id, d.text, s.currency, s.total_minor, s.deposit_utc
                 FROM settlement s JOIN dictionary d ON d.id = s.store
                 WHERE s.total_minor > 0 AND s.deposit_utc IS NOT NULL ORDER BY s.settlement_id",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let currency: String = row.get(2)?;
                let deposit: i64 = row.get(4)?;
                payouts.push(Payout {
                    settlement_id: row.get::<_, i64>(0)? as u64,
                    store: row.get(1)?,
                    currency: currency_of(&currency)?,
                    amount_minor: row.get(3)?,
                    deposit_date: from_day_number(UNIX_EPOCH_DAY + deposit.div_euclid(86_400) as i32)?,
                });
            }
        }
        let mut receipts = Vec::new();
        let mut statement = self.connection.prepare(
            "SELECT e.id, s.account, e.currency, e.amount_minor, e.booking_day, e.reference, e.counterparty, e.description,
                    e.original_amount_minor, e.original_currency
             FROM statement_entry e JOIN statement s ON s.id = e.statement_id WHERE e.amount_minor <> 0 ORDER BY e.id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let currency: String = row.get(2)?;
            let original_currency: Option<String> = row.get(9)?;
            let original = match (row.get::<_, Option<i64>>(8)?, original_currency) {
                (Some(amount), Some(code)) => Some(tieout_core::Money::new(amount, currency_of(&code)?)),
                _ => None,
            };
            let text = [row.get::<_, String>(5)?, row.get(6)?, row.get(7)?].join(" ");
            receipts.push(Receipt {
                id: row.get(0)?,
                account: row.get(1)?,
                currency: currency_of(&currency)?,
                amount_minor: row.get(3)?,
                booking_date: from_day_number(row.get(4)?)?,
                text,
                original,
            });
        }
        Ok((payouts, receipts))
    }

    /// Every entry of the account (and currency) that statement entry `entry_id` belongs to.
    pub fn account_entries_of(&self, entry_id: i64) -> Result<Option<AccountEntries>, StoreError> {
        let found: Option<(String, String)> = self
            .connection
            .query_row(
                "SELECT s.account, e.currency FROM statement_entry e JOIN statement s ON s.id = e.statement_id WHERE e.id = ?1",
                [entry_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((account, currency)) = found else { return Ok(None) };
        let opening_minor: Option<i64> = self
            .connection
            .query_row(
                "SELECT opening_minor FROM statement WHERE account = ?1 AND currency = ?2
                 ORDER BY coalesce(opening_day, closing_day), id LIMIT 1",
                params![account, currency],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        let mut statement = self.connection.prepare(
            "SELECT e.id, e.entry_ref, f.name, e.line, e.booking_day, e.amount_minor
             FROM statement_entry e JOIN statement s ON s.id = e.statement_id JOIN source_file f ON f.id = e.file_id
             WHERE s.account = ?1 AND e.currency = ?2 ORDER BY e.booking_day, e.id",
        )?;
        let mut rows = statement.query(params![account, currency])?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            entries.push((
                ReceiptRef {
                    entry_id: row.get(0)?,
                    entry_ref: row.get(1)?,
                    file_name: row.get(2)?,
                    line: row.get(3)?,
                    booking_date: Some(from_day_number(row.get(4)?)?),
                },
                row.get(5)?,
            ));
        }
        Ok(Some(AccountEntries { currency: currency_of(&currency)?, account, opening_minor, entries }))
    }

    /// The stored payout ↔ receipt results with what reports show of them.
    pub fn receipt_results(&self) -> Result<Vec<ReceiptRow>, StoreError> {
        let mut out: Vec<ReceiptRow> = Vec::new();
        let mut statement = self.connection.prepare(
            "SELECT id, status, expected_minor, expected_currency, received_minor, received_currency, rule_id, score,
                    difference_minor, date_difference_days, implied_rate, reference_rate, rate_within_band, fx_difference_minor
             FROM receipt_result ORDER BY id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let status: u8 = row.get(1)?;
            let money = |amount: Option<i64>, code: Option<String>| -> Result<Option<tieout_core::Money>, StoreError> {
                Ok(match (amount, code) {
                    (Some(amount), Some(code)) => Some(tieout_core::Money::new(amount, currency_of(&code)?)),
                    _ => None,
                })
            };
            out.push(ReceiptRow {
                id: row.get(0)?,
                status: ReceiptStatus::from_code(status)
                    .ok_or_else(|| StoreError::Corrupt(format!("receipt status {status}")))?,
                expected: money(row.get(2)?, row.get(3)?)?,
                received: money(row.get(4)?, row.get(5)?)?,
                rule_id: row.get(6)?,
                score: row.get(7)?,
                difference_minor: row.get(8)?,
                date_difference_days: row.get(9)?,
                implied_rate: row.get(10)?,
                reference_rate: row.get(11)?,
                rate_within_band: row.get(12)?,
                fx_difference_minor: row.get(13)?,
                settlements: Vec::new(),
                withdrawals: Vec::new(),
                receipts: Vec::new(),
            });
        }
        let index: HashMap<i64, usize> = out.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let mut links = self.connection.prepare(
            "SELECT k.result_id, k.settlement_id, d.text, s.deposit_utc, e.id, e.entry_ref, f.name, e.line, e.booking_day,
                    k.withdrawal_entry_id IS NOT NULL
             FROM receipt_result_link k
             LEFT JOIN settlement s ON s.settlement_id = k.settlement_id LEFT JOIN dictionary d ON d.id = s.store
             LEFT JOIN statement_entry e ON e.id = coalesce(k.statement_entry_id, k.withdrawal_entry_id)
             LEFT JOIN source_file f ON f.id = e.file_id
             ORDER BY k.rowid",
        )?;
        let mut rows = links.query([])?;
        while let Some(row) = rows.next()? {
            let Some(&at) = index.get(&row.get::<_, i64>(0)?) else { continue };
            if let Some(settlement) = row.get::<_, Option<i64>>(1)? {
                let deposit: Option<i64> = row.get(3)?;
                out[at].settlements.push(PayoutRef {
                    settlement_id: settlement as u64,
                    store: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    deposit_date: deposit
                        .map(|d| from_day_number(UNIX_EPOCH_DAY + d.div_euclid(86_400) as i32))
                        .transpose()?,
                });
            }
            if let Some(entry) = row.get::<_, Option<i64>>(4)? {
                let reference = ReceiptRef {
                    entry_id: entry,
                    entry_ref: row.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    file_name: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    line: row.get::<_, Option<u32>>(7)?.unwrap_or(0),
                    booking_date: row.get::<_, Option<i32>>(8)?.map(from_day_number).transpose()?,
                };
                if row.get::<_, bool>(9)? {
                    out[at].withdrawals.push(reference);
                } else {
                    out[at].receipts.push(reference);
                }
            }
        }
        Ok(out)
    }

    /// Everything reconciliation needs: orders (items summed per order) and the lines
    /// that carry an order id. Store and marketplace names are interned, marketplaces
    /// normalised (lower case) so that `Amazon.co.uk` and `amazon.co.uk` are one.
    ///
    /// The lines are read in two halves, the second on another thread with its own
    /// connection (reading is most of a reconcile's time; SQLite readers do not block
    /// each other), each half sorted by its thread and kept as its own part (one vector
    /// would cost a copy of the second half). The orders are read on a third thread: with
    /// them, the first half's thread would finish last.
    pub fn load_reconcile_input(&self) -> Result<ReconcileInput, StoreError> {
        let names = Names::load(&self.connection)?;
        let settlements = self.settlement_stores(&names)?;
        let sizes = block_sizes(&self.connection)?;
        let total: i64 = sizes.iter().map(|s| s.1).sum();
        let halves = split_blocks(&sizes, 2);
        let lines_in = |(first, last): (i64, i64)| -> usize {
            sizes.iter().filter(|(id, _)| (first..=last).contains(id)).map(|s| s.1.max(0) as usize).sum()
        };
        let read_only = |path: &Path| Connection::open_with_flags(path, read_only_flags());
        let sorted = |mut lines: Vec<LineFacts>| {
            sort_lines(&mut lines);
            lines
        };
        let (orders, lines, second_half) = std::thread::scope(|scope| {
            let (names, settlements) = (&names, &settlements);
            let helpers = match &self.path {
                Some(path) if total > 100_000 => {
                    let ((first, last), capacity) = (halves[1], lines_in(halves[1]));
                    let spawn = |name: &str| std::thread::Builder::new().name(name.to_owned());
                    let lines = spawn("tieout-load")
                        .spawn_scoped(scope, move || -> Result<Vec<LineFacts>, StoreError> {
                            Ok(sorted(load_lines(&read_only(path)?, names, settlements, first, last, capacity)?))
                        })
                        .expect("a thread can be started");
                    let orders = spawn("tieout-load-orders")
                        .spawn_scoped(scope, move || load_orders(&read_only(path)?, names))
                        .expect("a thread can be started");
                    Some((lines, orders))
                }
                _ => None,
            };
            let (orders, lines, second_half) = match helpers {
                Some((second, orders)) => {
                    let (first, last) = halves[0];
                    // Sorted before waiting for the other threads (not after).
                    let lines =
                        load_lines(&self.connection, names, settlements, first, last, lines_in(halves[0])).map(sorted);
                    let join = "a loading thread does not panic";
                    (orders.join().expect(join), lines, Some(second.join().expect(join)))
                }
                None => {
                    let lines = load_lines(&self.connection, names, settlements, 1, i64::MAX, total.max(0) as usize);
                    (load_orders(&self.connection, names), lines.map(sorted), None)
                }
            };
            (orders, lines, second_half)
        });
        let orders = orders?;
        let lines = lines?;
        let more_lines = match second_half {
            Some(second_half) => vec![second_half?],
            None => Vec::new(),
        };
        Ok(ReconcileInput { strings: names.strings, orders, lines, more_lines })
    }

    /// Each settlement's store (interned) and currency.
    fn settlement_stores(&self, names: &Names) -> Result<HashMap<i64, (Sym, Currency)>, StoreError> {
        let mut settlements: HashMap<i64, (Sym, Currency)> = HashMap::new();
        let mut statement = self.connection.prepare("SELECT settlement_id, store, currency FROM settlement")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let code: String = row.get(2)?;
            settlements.insert(row.get(0)?, (names.store(row.get(1)?)?, currency_of(&code)?));
        }
        Ok(settlements)
    }

    /// The input of a reconciliation in ranges of order id holding about `max_lines`
    /// lines each (see [`ReconcilePartitions`]): in one piece when the store holds at most
    /// `max_lines` lines (or lives in memory), else spilled to temporary files beside the
    /// database by one scan, the lines read in two halves on two connections.
    pub fn reconcile_partitions(&self, max_lines: usize) -> Result<ReconcilePartitions, StoreError> {
        use crate::partition::{cuts, for_each_spilled_order, RangeWriter, Sampler, Spill, SpillFile};
        let sizes = block_sizes(&self.connection)?;
        let lines = sizes.iter().map(|s| s.1).sum::<i64>().max(0) as usize;
        let count = lines.div_ceil(max_lines.max(1));
        let dir = match &self.path {
            Some(path) if count > 1 => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            _ => return Ok(ReconcilePartitions::whole(self.load_reconcile_input()?)),
        };
        let dir = if dir.as_os_str().is_empty() { std::path::PathBuf::from(".") } else { dir };
        let stem = self
            .path
            .as_deref()
            .and_then(Path::file_name)
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let names = Names::load(&self.connection)?;
        let settlements = self.settlement_stores(&names)?;
        // First pass over the order rows: spilled as they come, and sampled for the cuts.
        let mut all_orders = RangeWriter::new(&dir, &stem, 1)?;
        let mut sampler = Sampler::default();
        load_order_items(&self.connection, &names, &mut |item| {
            sampler.offer(&item.order_id);
            all_orders.order(&[], &item)
        })?;
        let cuts = cuts(sampler.sample, count);
        let count = cuts.len() + 1;
        let mut orders = RangeWriter::new(&dir, &stem, count)?;
        let mut all: SpillFile = all_orders.files.pop().expect("one file");
        for_each_spilled_order(&mut all, |item| orders.order(&cuts, &item))?;
        drop(all);
        // The lines, in two halves on two connections, each to its own range files.
        let halves = split_blocks(&sizes, 2);
        let path = self.path.as_deref().expect("a database file");
        let (first, second) = std::thread::scope(|scope| {
            let (names, settlements, cuts, dir, stem, halves) = (&names, &settlements, &cuts, &dir, &stem, &halves);
            let handle = std::thread::Builder::new()
                .name("tieout-load".to_owned())
                .spawn_scoped(scope, move || -> Result<RangeWriter, StoreError> {
                    let connection = Connection::open_with_flags(path, read_only_flags())?;
                    let mut writer = RangeWriter::new(dir, stem, count)?;
                    for_each_line(&connection, names, settlements, halves[1].0, halves[1].1, &mut |line| {
                        writer.line(cuts, &line)
                    })?;
                    Ok(writer)
                })
                .expect("a thread can be started");
            let first = (|| {
                let mut writer = RangeWriter::new(dir, stem, count)?;
                for_each_line(&self.connection, names, settlements, halves[0].0, halves[0].1, &mut |line| {
                    writer.line(cuts, &line)
                })?;
                Ok::<_, StoreError>(writer)
            })();
            (first, handle.join().expect("the loading thread does not panic"))
        });
        let spill = Spill {
            order_files: orders.files.into_iter().map(Some).collect(),
            line_files: vec![
                first?.files.into_iter().map(Some).collect(),
                second?.files.into_iter().map(Some).collect(),
            ],
            settlements,
        };
        Ok(ReconcilePartitions::spilled(names.strings, spill))
    }

    /// Replaces the stored reconciliation with `result` and the payout ↔ receipt results
    /// with `receipts`, in one transaction: a run is stored whole or not at all.
    pub fn save_reconciliation(
        &mut self,
        created_at: &str,
        config_text: &str,
        as_of: NaiveDate,
        result: &Reconciliation,
        strings: &Interner,
        receipts: &[ReceiptResult],
    ) -> Result<i64, StoreError> {
        let mut one = Some(result.clone());
        self.save_reconciliation_parts(created_at, config_text, as_of, strings, &mut || Ok(one.take()), receipts)
    }

    /// Like [`SqliteStore::save_reconciliation`], with the orders' results coming in parts
    /// (see [`ReconcilePartitions`]): each part is stored as it comes, within the run's one
    /// transaction, so only one part is in memory at a time. Parts store in the order they
    /// come; an error from `parts` rolls the whole run back.
    pub fn save_reconciliation_parts(
        &mut self,
        created_at: &str,
        config_text: &str,
        as_of: NaiveDate,
        strings: &Interner,
        parts: &mut dyn FnMut() -> Result<Option<Reconciliation>, StoreError>,
        receipts: &[ReceiptResult],
    ) -> Result<i64, StoreError> {
        self.load_dictionary()?;
        let dictionary = self.dictionary.as_mut().expect("loaded");
        let transaction = self.connection.transaction()?;
        let outcome = (|| -> Result<i64, StoreError> {
            transaction.execute_batch("DELETE FROM result_block; DELETE FROM duplicate_line;")?;
            transaction.execute(
                "INSERT INTO reconcile_run (created_at, as_of_day, order_count, difference_count, config, last_file_id)
                 VALUES (?1, ?2, 0, 0, ?3, (SELECT MAX(id) FROM source_file))",
                params![created_at, day_number(as_of), config_text],
            )?;
            let run_id = transaction.last_insert_rowid();
            let mut words = WordIds::new(strings);
            let (mut order_count, mut differences) = (0i64, 0i64);
            let mut sink = ResultSink::new(run_id);
            while let Some(result) = parts()? {
                order_count += result.orders.len() as i64;
                differences += result.orders.iter().filter(|o| o.category.is_difference()).count() as i64;
                insert_order_results(&transaction, dictionary, &mut words, &mut sink, &result)?;
            }
            sink.finish(&transaction)?;
            transaction.execute(
                "UPDATE reconcile_run SET order_count = ?2, difference_count = ?3 WHERE id = ?1",
                params![run_id, order_count, differences],
            )?;
            insert_receipt_results(&transaction, run_id, receipts)?;
            Ok(run_id)
        })();
        let result = outcome.and_then(|run_id| Ok(transaction.commit().map(|()| run_id)?));
        self.forget_dictionary_on_error(result)
    }

    /// Each settlement's marketplace: the (normalised) marketplace its lines name; a
    /// settlement whose lines name several gets the greatest name.
    pub fn settlement_marketplaces(&self) -> Result<HashMap<u64, String>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT b.settlement_id, MAX(d.text) FROM line_block b JOIN dictionary d ON d.id = b.marketplace
             WHERE d.text != '' GROUP BY b.settlement_id",
        )?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, normalize_marketplace(&row.get::<_, String>(1)?))))?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    /// What the receivables roll-forward needs: every settlement's close (total, and its
    /// deposit date or, without one, its end date) and its lines summed per posted day
    /// (UTC) and roll-forward bucket.
    pub fn load_roll_forward_input(&self) -> Result<(Vec<SettlementClose>, Vec<Posting>), StoreError> {
        let utc_day = |seconds: i64| from_day_number(UNIX_EPOCH_DAY + seconds.div_euclid(86_400) as i32);
        let mut settlements = Vec::new();
        {
            let mut statement = self.connection.prepare(
                "SELECT s.settlement_id, d.text, s.currency, s.total_minor,
                        CASE WHEN s.open THEN NULL ELSE COALESCE(s.deposit_utc, s.end_utc) END
                 FROM settlement s JOIN dictionary d ON d.id = s.store ORDER BY s.settlement_id",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let currency: String = row.get(2)?;
                settlements.push(SettlementClose {
                    settlement_id: row.get::<_, i64>(0)? as u64,
                    store: row.get(1)?,
                    currency: currency_of(&currency)?,
                    total_minor: row.get(3)?,
                    transfer_date: row.get::<_, Option<i64>>(4)?.map(utc_day).transpose()?,
                });
            }
        }
        // Lines summed per settlement, posted day, and classification, in that order.
        let mut sums: std::collections::BTreeMap<(i64, i64, u8, u8, u8), i64> = std::collections::BTreeMap::new();
        for_each_block(&self.connection, 1, i64::MAX, &mut |block, data| {
            let mut reader = BlockReader::new(data, block.line_count)?;
            while let Some(line) = reader.next()? {
                let key = (
                    block.settlement_id,
                    line.posted_utc.div_euclid(86_400),
                    line.transaction_class,
                    line.component,
                    line.kind,
                );
                let sum = sums.entry(key).or_default();
                *sum = sum.checked_add(line.amount_minor).ok_or_else(|| {
                    StoreError::Corrupt(format!("settlement {}: its lines' amounts overflow", block.settlement_id))
                })?;
            }
            Ok(())
        })?;
        let mut postings = Vec::with_capacity(sums.len());
        for ((settlement_id, day, class, component, kind), amount_minor) in sums {
            let corrupt = || StoreError::Corrupt(format!("line classification {class}/{component}/{kind}"));
            let bucket = Bucket::of_line(
                TransactionClass::from_code(class).ok_or_else(corrupt)?,
                Component::from_code(component).ok_or_else(corrupt)?,
                LineKind::from_code(kind).ok_or_else(corrupt)?,
            );
            postings.push(Posting {
                settlement_id: settlement_id as u64,
                date: from_day_number(UNIX_EPOCH_DAY + day as i32)?,
                bucket,
                amount_minor,
            });
        }
        Ok((settlements, postings))
    }

    /// The id of the last file imported before run `run_id` (0 when none was).
    pub fn run_last_file_id(&self, run_id: i64) -> Result<i64, StoreError> {
        let id: Option<i64> =
            self.connection
                .query_row("SELECT last_file_id FROM reconcile_run WHERE id = ?1", [run_id], |row| row.get(0))?;
        Ok(id.unwrap_or(0))
    }

    /// The settings text a run was made with.
    pub fn run_config(&self, run_id: i64) -> Result<String, StoreError> {
        Ok(self.connection.query_row("SELECT config FROM reconcile_run WHERE id = ?1", [run_id], |row| row.get(0))?)
    }

    pub fn latest_run(&self) -> Result<Option<RunRow>, StoreError> {
        let row = self
            .connection
            .query_row(
                "SELECT id, created_at, as_of_day, order_count, difference_count FROM reconcile_run ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, i32>(2)?, row.get(3)?, row.get(4)?)),
            )
            .optional()?;
        row.map(|(id, created_at, day, order_count, difference_count)| {
            Ok(RunRow { id, created_at, as_of: from_day_number(day)?, order_count, difference_count })
        })
        .transpose()
    }

    /// Results of the latest reconciliation, sorted by order id. `order` limits them to
    /// one order (the one block that can hold it is decoded).
    pub fn order_results(&self, order: Option<&OrderId>) -> Result<Vec<OrderResultRow>, StoreError> {
        let texts = self.dictionary_texts()?;
        let blocks = result_blocks(&self.connection)?;
        let mut out = Vec::new();
        match order {
            Some(order) => {
                // Blocks hold ascending order ids: the first whose last id is not below.
                let at = blocks.partition_point(|block| block.last_order < *order);
                if let Some(block) = blocks.get(at) {
                    with_block(&self.connection, block.id, block.count, &mut |result| {
                        if result_order_id(&result)? == *order {
                            out.push(to_row(&result, &texts)?);
                        }
                        Ok(true)
                    })?;
                }
            }
            None => {
                for block in &blocks {
                    with_block(&self.connection, block.id, block.count, &mut |result| {
                        out.push(to_row(&result, &texts)?);
                        Ok(true)
                    })?;
                }
            }
        }
        Ok(out)
    }

    /// One page of the latest run's results that pass `filter`, in the order they were
    /// stored (order-id order), each with its position (the keyset cursor): the results
    /// after `after`, at most `limit`. Blocks are decoded from the one holding `after + 1`
    /// until the page is full.
    pub fn order_results_page(
        &self,
        filter: &ResultFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, OrderResultRow)>, StoreError> {
        let texts = self.dictionary_texts()?;
        let after = after.unwrap_or(0);
        let limit = limit.min(100_000);
        let ids_of = |names: &[String]| -> HashSet<i64> {
            texts.iter().filter(|(_, text)| names.contains(text)).map(|(id, _)| *id).collect()
        };
        let stores = filter.stores.as_deref().map(ids_of);
        let marketplaces = filter.marketplace.as_ref().map(|m| ids_of(std::slice::from_ref(m)));
        let (from, to) = (filter.period_from.map(day_number), filter.period_to.map(day_number));
        let keeps = |result: &StoredResult<'_>| {
            let category = Category::from_code(result.category);
            stores.as_ref().is_none_or(|ids| ids.contains(&result.store))
                && marketplaces.as_ref().is_none_or(|ids| ids.contains(&result.marketplace))
                && match (filter.category, filter.differences_only) {
                    (Some(wanted), _) => category == Some(wanted),
                    (None, true) => category.is_some_and(|c| c.is_difference()),
                    (None, false) => true,
                }
                && from.is_none_or(|from| result.period_day >= from)
                && to.is_none_or(|to| result.period_day <= to)
        };
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for block in result_blocks(&self.connection)? {
            if block.first_position + block.count <= after + 1 {
                continue;
            }
            let mut position = block.first_position - 1;
            let more = with_block(&self.connection, block.id, block.count, &mut |result| {
                position += 1;
                if position > after && keeps(&result) {
                    out.push((position, to_row(&result, &texts)?));
                }
                Ok(out.len() < limit)
            })?;
            if !more {
                break;
            }
        }
        Ok(out)
    }

    /// Records actions on differences, all in one transaction.
    pub fn add_difference_actions(&mut self, actions: &[DifferenceAction]) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO difference_action (order_key, order_text, action, reason, comment, assignee, by_user, at,
                                                kind, currency, ours_minor, theirs_minor, amount_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for action in actions {
                let (key, text) = order_parts(&action.order_id);
                insert.execute(params![
                    key,
                    text,
                    action.action,
                    action.reason,
                    action.comment,
                    action.assignee,
                    action.by_user,
                    action.at,
                    action.kind,
                    action.currency,
                    action.ours_minor,
                    action.theirs_minor,
                    action.amount_minor
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Actions on differences in the order they were taken; `order` limits them to one order.
    pub fn difference_actions(&self, order: Option<&OrderId>) -> Result<Vec<DifferenceAction>, StoreError> {
        let mut sql = String::from(
            "SELECT order_key, order_text, action, reason, comment, assignee, by_user, at, kind, currency, ours_minor,
                    theirs_minor, amount_minor
             FROM difference_action",
        );
        let (key, text) = order.map(order_parts).unwrap_or((None, None));
        if order.is_some() {
            sql.push_str(" WHERE order_key IS ?1 AND order_text IS ?2");
        }
        sql.push_str(" ORDER BY id");
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = if order.is_some() { statement.query(params![key, text])? } else { statement.query([])? };
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(DifferenceAction {
                order_id: order_from_parts(row.get(0)?, row.get(1)?)?,
                action: row.get(2)?,
                reason: row.get(3)?,
                comment: row.get(4)?,
                assignee: row.get(5)?,
                by_user: row.get(6)?,
                at: row.get(7)?,
                kind: row.get(8)?,
                currency: row.get(9)?,
                ours_minor: row.get(10)?,
                theirs_minor: row.get(11)?,
                amount_minor: row.get(12)?,
            });
        }
        Ok(out)
    }

    /// Records actions on payout ↔ receipt differences, all in one transaction.
    pub fn add_receipt_actions(&mut self, actions: &[ReceiptAction]) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO receipt_action (result_key, action, kind, reason, comment, currency, ours_minor, theirs_minor,
                                             amount_minor, by_user, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for action in actions {
                insert.execute(params![
                    action.key,
                    action.action,
                    action.kind,
                    action.reason,
                    action.comment,
                    action.currency,
                    action.ours_minor,
                    action.theirs_minor,
                    action.amount_minor,
                    action.by_user,
                    action.at
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Actions on payout ↔ receipt differences in the order they were taken; `key` limits
    /// them to one result.
    pub fn receipt_actions(&self, key: Option<&str>) -> Result<Vec<ReceiptAction>, StoreError> {
        let mut sql = String::from(
            "SELECT result_key, action, kind, reason, comment, currency, ours_minor, theirs_minor, amount_minor, by_user, at
             FROM receipt_action",
        );
        if key.is_some() {
            sql.push_str(" WHERE result_key = ?1");
        }
        sql.push_str(" ORDER BY id");
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = match key {
            Some(key) => statement.query([key])?,
            None => statement.query([])?,
        };
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(ReceiptAction {
                key: row.get(0)?,
                action: row.get(1)?,
                kind: row.get(2)?,
                reason: row.get(3)?,
                comment: row.get(4)?,
                currency: row.get(5)?,
                ours_minor: row.get(6)?,
                theirs_minor: row.get(7)?,
                amount_minor: row.get(8)?,
                by_user: row.get(9)?,
                at: row.get(10)?,
            });
        }
        Ok(out)
    }

    pub fn settlements(&self) -> Result<Vec<SettlementRow>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT s.settlement_id, d.text, f.name, s.line, s.start_utc, s.end_utc, s.deposit_utc, s.total_minor, s.currency,
                    s.lines_sum_minor, s.line_count, s.open
             FROM settlement s JOIN dictionary d ON d.id = s.store JOIN source_file f ON f.id = s.file_id
             ORDER BY s.start_utc, s.settlement_id",
        )?;
        let mut rows = statement.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let currency: String = row.get(8)?;
            out.push(SettlementRow {
                settlement_id: row.get::<_, i64>(0)? as u64,
                store: row.get(1)?,
                file_name: row.get(2)?,
                line: row.get(3)?,
                start_utc_seconds: row.get(4)?,
                end_utc_seconds: row.get(5)?,
                deposit_utc_seconds: row.get(6)?,
                total_minor: row.get(7)?,
                currency: currency_of(&currency)?,
                lines_sum_minor: row.get(9)?,
                line_count: row.get(10)?,
                open: row.get(11)?,
            });
        }
        Ok(out)
    }

    /// The order export rows of one order, with their file and line.
    pub fn order_rows(&self, order: &OrderId) -> Result<Vec<OrderRow>, StoreError> {
        self.connection
            .execute_batch("CREATE INDEX IF NOT EXISTS order_item_by_order ON order_item (order_key, order_text)")?;
        let (key, text) = order_parts(order);
        let mut statement = self.connection.prepare(
            "SELECT f.name, o.line, s.text, m.text, o.status, o.purchase_day, o.ship_day, o.currency, o.amount_minor,
                    o.refunded_minor, o.quantity, k.text
             FROM order_item o JOIN source_file f ON f.id = o.file_id JOIN dictionary s ON s.id = o.store
                  JOIN dictionary m ON m.id = o.marketplace JOIN dictionary k ON k.id = o.sku
             WHERE o.order_key IS ?1 AND o.order_text IS ?2 ORDER BY o.id",
        )?;
        let mut rows = statement.query(params![key, text])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let status: u8 = row.get(4)?;
            let currency: String = row.get(7)?;
            out.push(OrderRow {
                file_name: row.get(0)?,
                line: row.get(1)?,
                store: row.get(2)?,
                marketplace: row.get(3)?,
                status: OrderStatus::from_code(status)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
                purchase_date: from_day_number(row.get(5)?)?,
                ship_date: row.get::<_, Option<i32>>(6)?.map(from_day_number).transpose()?,
                currency: currency_of(&currency)?,
                amount_minor: row.get(8)?,
                refunded_minor: row.get(9)?,
                quantity: row.get(10)?,
                sku: row.get(11)?,
            });
        }
        Ok(out)
    }

    /// The settlement lines of one order with their file and line. Which blocks hold an
    /// order's lines is recorded on first use, not during imports (see `blocks.rs`).
    pub fn order_lines(&self, order: &OrderId) -> Result<Vec<LineRow>, StoreError> {
        let (key, order_text) = order_parts(order);
        let blocks = blocks_of_order(&self.connection, key, order_text)?;
        let mut word = self.connection.prepare_cached("SELECT text FROM dictionary WHERE id = ?1")?;
        let mut words: HashMap<i64, String> = HashMap::new();
        let mut word = |id: i64| -> Result<String, StoreError> {
            if let Some(text) = words.get(&id) {
                return Ok(text.clone());
            }
            let text: String = word
                .query_row([id], |row| row.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Corrupt(format!("dictionary id {id}")))?;
            words.insert(id, text.clone());
            Ok(text)
        };
        let mut block_file = self.connection.prepare_cached(
            "SELECT b.settlement_id, f.name, s.currency, b.line_count, b.data, b.file_id FROM line_block b
             JOIN source_file f ON f.id = b.file_id JOIN settlement s ON s.settlement_id = b.settlement_id
             WHERE b.id = ?1",
        )?;
        let mut duplicate =
            self.connection.prepare_cached("SELECT first_line_id FROM duplicate_line WHERE line_id = ?1")?;
        let mut out = Vec::new();
        for block_id in blocks {
            let mut rows = block_file.query([block_id])?;
            // (A block gone since it was recorded: its settlement was replaced.)
            let Some(row) = rows.next()? else { continue };
            let (settlement_id, file_name, currency): (i64, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let currency = currency_of(&currency)?;
            let data = row.get_ref(4)?.as_blob().map_err(rusqlite::Error::from)?;
            let file_id: i64 = row.get(5)?;
            for line in decode(data, row.get(3)?)? {
                if line.order_key != key || line.order_text.map(text).transpose()? != order_text {
                    continue;
                }
                let id = line_id(file_id, line.ordinal);
                out.push(LineRow {
                    id,
                    settlement_id: settlement_id as u64,
                    file_name: file_name.clone(),
                    line: small(line.line)?,
                    transaction_type: word(line.transaction_type)?,
                    amount_type: word(line.amount_type)?,
                    description: word(line.description)?,
                    marketplace: word(line.marketplace)?,
                    sku: word(line.sku)?,
                    amount_minor: line.amount_minor,
                    currency,
                    posted_utc_seconds: line.posted_utc,
                    quantity: small(line.quantity)?,
                    kind: LineKind::from_code(line.kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("line kind {}", line.kind)))?,
                    duplicate_of: duplicate.query_row([id], |row| row.get(0)).optional()?,
                });
            }
        }
        out.sort_by_key(|l| (l.posted_utc_seconds, l.settlement_id, l.line, l.id));
        Ok(out)
    }

    /// Counts rows per table (for `tieout status` and for tests that check nothing was
    /// half-imported).
    pub fn counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut out = Vec::new();
        for table in [
            "source_file",
            "settlement",
            "settlement_line",
            "order_item",
            "order_result",
            "duplicate_line",
            "statement",
            "statement_entry",
            "receipt_result",
            "deferred_line",
        ] {
            // Settlement lines are counted in their blocks.
            let sql = match table {
                "settlement_line" => "SELECT COALESCE(SUM(line_count), 0) FROM line_block".to_owned(),
                // Order results too.
                "order_result" => "SELECT COALESCE(SUM(result_count), 0) FROM result_block".to_owned(),
                _ => format!("SELECT COUNT(*) FROM {table}"),
            };
            let count: i64 = self.connection.query_row(&sql, [], |row| row.get(0))?;
            out.push((table, count));
        }
        Ok(out)
    }

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
    pub fn integrity_findings(&self) -> Result<Vec<String>, StoreError> {
        let mut findings = Vec::new();
        let connection = &self.connection;
        let mut stored: HashMap<i64, i64> = HashMap::new();
        for table in ["line_block", "order_item", "statement_entry", "ledger_document", "counterparty_line"] {
            let counted = if table == "line_block" { "SUM(line_count)" } else { "COUNT(*)" };
            let mut statement =
                connection.prepare(&format!("SELECT file_id, {counted} FROM {table} GROUP BY file_id"))?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                *stored.entry(row.get(0)?).or_default() += row.get::<_, i64>(1)?;
            }
        }
        {
            let mut statement =
                connection.prepare("SELECT id, name, format, record_count FROM source_file ORDER BY id")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let (id, name, format, recorded): (i64, String, String, i64) =
                    (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
                let count = stored.remove(&id).unwrap_or(0);
                // Later files may take records over: a later order export replaces orders, a
                // settlement file replaces a report's settlement, a later report the
                // deferred lines.
                let replaceable = matches!(
                    SourceFormat::from_name(&format),
                    Some(
                        SourceFormat::ErpOrders
                            | SourceFormat::AmazonOrdersReport
                            | SourceFormat::AmazonTransactionReport
                            | SourceFormat::CounterpartyStatement
                    )
                );
                if count > recorded || (!replaceable && count != recorded) {
                    findings
                        .push(format!("file {name} (#{id}): {count} records stored, its import recorded {recorded}"));
                }
            }
        }
        for (file_id, count) in stored {
            findings.push(format!("{count} records belong to file #{file_id}, which is not stored"));
        }
        findings.extend(self.line_block_findings()?);
        for (table, key) in [("order_item", "file_id, line"), ("statement_entry", "file_id, line")] {
            let mut statement = connection.prepare(&format!(
                "SELECT f.name, t.line, COUNT(*) FROM {table} t JOIN source_file f ON f.id = t.file_id
                 GROUP BY {} HAVING COUNT(*) > 1 LIMIT 20",
                key.split(", ").map(|k| format!("t.{k}")).collect::<Vec<_>>().join(", ")
            ))?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let (name, line, count): (String, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
                findings.push(format!("{name}:{line} is stored {count} times ({table})"));
            }
        }
        if let Some(run) = self.latest_run()? {
            let results: i64 =
                connection
                    .query_row("SELECT COALESCE(SUM(result_count), 0) FROM result_block", [], |row| row.get(0))?;
            let wrong_run: i64 = connection.query_row(
                "SELECT COALESCE(SUM(result_count), 0) FROM result_block WHERE run_id != ?1",
                [run.id],
                |row| row.get(0),
            )?;
            if results != run.order_count || wrong_run > 0 {
                findings.push(format!(
                    "run {}: {results} order results stored ({wrong_run} of another run), the run recorded {}",
                    run.id, run.order_count
                ));
            }
            findings.extend(result_block_findings(connection, run.id)?);
            let receipt_runs: Vec<i64> = connection
                .prepare("SELECT DISTINCT run_id FROM receipt_result")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            if receipt_runs.iter().any(|r| *r != run.id) {
                findings
                    .push(format!("payout ↔ receipt results of run(s) {receipt_runs:?} stored beside run {}", run.id));
            }
            if !receipt_runs.is_empty() {
                let mut statement = connection.prepare(
                    "SELECT s.settlement_id, COUNT(k.result_id) FROM settlement s
                     LEFT JOIN receipt_result_link k ON k.settlement_id = s.settlement_id
                     WHERE s.total_minor > 0 AND s.deposit_utc IS NOT NULL AND s.file_id <= ?1
                     GROUP BY s.settlement_id HAVING COUNT(k.result_id) != 1 LIMIT 20",
                )?;
                let mut rows = statement.query([self.run_last_file_id(run.id)?])?;
                while let Some(row) = rows.next()? {
                    let (id, count): (i64, i64) = (row.get(0)?, row.get(1)?);
                    findings.push(format!("settlement {id}: its payout has {count} receipt results, not one"));
                }
            }
        }
        Ok(findings)
    }

    /// The checks of `integrity_findings` on settlement lines, read from their blocks: every
    /// block decodes to exactly the lines and sum its row records; no source line (file,
    /// line, type, amount type, description) is stored twice; every settlement's lines
    /// number and sum to what its import recorded. One file's line keys are in memory at a
    /// time.
    fn line_block_findings(&self) -> Result<Vec<String>, StoreError> {
        let connection = &self.connection;
        let mut findings = Vec::new();
        let names: HashMap<i64, String> = connection
            .prepare("SELECT id, name FROM source_file")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let name = |file_id: i64| names.get(&file_id).cloned().unwrap_or_else(|| format!("#{file_id}"));
        let blocks: Vec<(i64, i64)> = connection
            .prepare("SELECT file_id, id FROM line_block ORDER BY file_id, id")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut block = connection
            .prepare("SELECT settlement_id, line_count, amount_sum_minor, data FROM line_block WHERE id = ?1")?;
        let mut per_settlement: HashMap<i64, (i64, i64)> = HashMap::new();
        let mut twice = 0;
        for file in blocks.chunk_by(|a, b| a.0 == b.0) {
            let file_id = file[0].0;
            let mut keys: Vec<(i64, i64, i64, i64)> = Vec::new();
            for (_, block_id) in file {
                let mut rows = block.query([block_id])?;
                let Some(row) = rows.next()? else { continue };
                let (settlement_id, count, sum): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
                let data = row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?;
                let (mut read, mut read_sum) = (0i64, 0i64);
                let outcome = (|| -> Result<(), StoreError> {
                    let mut reader = BlockReader::new(data, count)?;
                    while let Some(line) = reader.next()? {
                        read += 1;
                        read_sum = read_sum.wrapping_add(line.amount_minor);
                        keys.push((line.line, line.transaction_type, line.amount_type, line.description));
                    }
                    Ok(())
                })();
                if let Err(error) = outcome {
                    findings.push(format!(
                        "block #{block_id} of settlement lines of file {} cannot be read: {error}",
                        name(file_id)
                    ));
                } else if read_sum != sum {
                    findings.push(format!(
                        "block #{block_id} of settlement lines of file {}: its {read} lines sum to {read_sum} minor units, its row records {sum}",
                        name(file_id)
                    ));
                }
                let totals = per_settlement.entry(settlement_id).or_default();
                *totals = (totals.0.wrapping_add(read_sum), totals.1 + read);
            }
            keys.sort_unstable();
            for same in keys.chunk_by(|a, b| a == b).filter(|same| same.len() > 1) {
                twice += 1;
                if twice <= 20 {
                    findings.push(format!(
                        "{}:{} is stored {} times (settlement_line)",
                        name(file_id),
                        same[0].0,
                        same.len()
                    ));
                }
            }
        }
        let mut statement = connection
            .prepare("SELECT settlement_id, lines_sum_minor, line_count FROM settlement ORDER BY settlement_id")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let (id, sum, count): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let (stored_sum, stored_count) = per_settlement.get(&id).copied().unwrap_or((0, 0));
            if (stored_sum, stored_count) != (sum, count) {
                findings.push(format!(
                    "settlement {id}: {stored_count} lines summing to {stored_sum} minor units are stored; its import recorded {count} lines summing to {sum}"
                ));
            }
        }
        Ok(findings)
    }

    /// Re-checks, from what is stored, that each settlement's lines sum to what was
    /// recorded at import (the invariant is checked when read and when loaded back).
    pub fn verify_settlement_sums(&self) -> Result<Vec<(u64, i64, i64)>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT s.settlement_id, s.lines_sum_minor, COALESCE(SUM(b.amount_sum_minor), 0)
             FROM settlement s LEFT JOIN line_block b ON b.settlement_id = s.settlement_id
             GROUP BY s.settlement_id HAVING s.lines_sum_minor != COALESCE(SUM(b.amount_sum_minor), 0)",
        )?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?, row.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

fn load_orders(connection: &Connection, names: &Names) -> Result<Vec<OrderFacts>, StoreError> {
    let mut items: Vec<OrderFacts> = Vec::new();
    load_order_items(connection, names, &mut |item| {
        items.push(item);
        Ok(())
    })?;
    Ok(sum_items(items))
}

/// Every order row (an item of an order), in stored order.
fn load_order_items(
    connection: &Connection,
    names: &Names,
    each: &mut dyn FnMut(OrderFacts) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut statement = connection.prepare(
        "SELECT order_key, order_text, store, marketplace, status, purchase_day, ship_day, currency, amount_minor, refunded_minor FROM order_item",
    )?;
    let mut rows = statement.query([])?;
    let mut currencies = Currencies::default();
    while let Some(row) = rows.next()? {
        let order_id = order_from_parts(row.get(0)?, row.get(1)?)?;
        let status_code: u8 = row.get(4)?;
        each(OrderFacts {
            order_id,
            store: names.store(row.get(2)?)?,
            marketplace: names.marketplace(row.get(3)?)?,
            status: OrderStatus::from_code(status_code)
                .ok_or_else(|| StoreError::Corrupt(format!("order status {status_code}")))?,
            purchase_date: from_day_number(row.get(5)?)?,
            ship_date: row.get::<_, Option<i32>>(6)?.map(from_day_number).transpose()?,
            currency: currencies.get(row.get_ref(7)?.as_str().map_err(rusqlite::Error::from)?)?,
            amount_minor: row.get(8)?,
            refunded_minor: row.get(9)?,
        })?;
    }
    Ok(())
}

/// Lines with an order id of the blocks whose id is in `first..=last` (`capacity`: at
/// most how many there are).
fn load_lines(
    connection: &Connection,
    names: &Names,
    settlements: &HashMap<i64, (Sym, Currency)>,
    first: i64,
    last: i64,
    capacity: usize,
) -> Result<Vec<LineFacts>, StoreError> {
    let mut lines = Vec::with_capacity(capacity);
    for_each_line(connection, names, settlements, first, last, &mut |line| {
        lines.push(line);
        Ok(())
    })?;
    Ok(lines)
}

/// Each line with an order id of the blocks whose id is in `first..=last`, in line id
/// order.
fn for_each_line(
    connection: &Connection,
    names: &Names,
    settlements: &HashMap<i64, (Sym, Currency)>,
    first: i64,
    last: i64,
    each: &mut dyn FnMut(LineFacts) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    // Days are computed once per distinct posted day (lines come about in time order).
    let mut day: Option<(i64, NaiveDate)> = None;
    for_each_block(connection, first, last, &mut |block, data| {
        let (store, currency) = *settlements
            .get(&block.settlement_id)
            .ok_or_else(|| StoreError::Corrupt(format!("lines of unknown settlement {}", block.settlement_id)))?;
        let mut reader = BlockReader::new(data, block.line_count)?;
        while let Some(line) = reader.next()? {
            let order_id = match (line.order_key, line.order_text) {
                (Some(key), _) => OrderId::Amazon(key as u64),
                (None, Some(order)) => order_from_parts(None, Some(text(order)?.to_owned()))?,
                (None, None) => continue,
            };
            let day_number = line.posted_utc.div_euclid(86_400);
            let posted_date = match day {
                Some((number, date)) if number == day_number => date,
                _ => {
                    let date = from_day_number(UNIX_EPOCH_DAY + day_number as i32)?;
                    day = Some((day_number, date));
                    date
                }
            };
            let (transaction_code, component_code) = (line.transaction_class, line.component);
            each(LineFacts {
                line_id: line_id(block.file_id, line.ordinal),
                settlement_id: block.settlement_id as u64,
                line: small(line.line)?,
                order_id,
                store,
                marketplace: names.marketplace(line.marketplace)?,
                currency,
                transaction: TransactionClass::from_code(transaction_code)
                    .ok_or_else(|| StoreError::Corrupt(format!("transaction class {transaction_code}")))?,
                component: Component::from_code(component_code)
                    .ok_or_else(|| StoreError::Corrupt(format!("component {component_code}")))?,
                amount_minor: line.amount_minor,
                quantity: small(line.quantity)?,
                item: line.item_key as u64,
                fingerprint: line.fingerprint.unwrap_or(0) as u64,
                posted_date,
            })?;
        }
        Ok(())
    })
}

fn insert_order_results(
    transaction: &Transaction<'_>,
    dictionary: &mut HashMap<String, i64>,
    words: &mut WordIds<'_>,
    sink: &mut ResultSink,
    result: &Reconciliation,
) -> Result<(), StoreError> {
    for order in &result.orders {
        let (key, text) = order_parts(&order.order_id);
        let code = order.currency.code();
        let stored = StoredResult {
            order_key: key,
            order_text: text.map(str::as_bytes),
            store: words.id(transaction, dictionary, order.store)?,
            marketplace: words.id(transaction, dictionary, order.marketplace)?,
            currency: code.as_bytes().try_into().map_err(|_| StoreError::Corrupt(format!("currency '{code}'")))?,
            category: order.category.code(),
            flags: order.flags.0,
            status: order.status.map(OrderStatus::code),
            ship_day: order.ship_date.map(day_number),
            order_amount_minor: order.order_amount_minor,
            settled_amount_minor: order.settled_amount_minor,
            refunds_settled_minor: order.refunds_settled_minor,
            written_off_minor: order.written_off_minor,
            fees_charged_minor: order.fees_charged_minor,
            fees_expected_minor: order.fees_expected_minor,
            net_settled_minor: order.net_settled_minor,
            days_since_ship: order.days_since_ship,
            line_count: order.line_count,
            duplicate_line_count: order.duplicate_line_count,
            period_day: day_number(order.period_date),
        };
        sink.push(transaction, &stored)?;
    }
    let mut insert_duplicate =
        transaction.prepare_cached("INSERT INTO duplicate_line (line_id, first_line_id) VALUES (?1, ?2)")?;
    for duplicate in &result.duplicates {
        insert_duplicate.execute([duplicate.line_id, duplicate.first_line_id])?;
    }
    Ok(())
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAY: i32 = 719_163;

/// Dictionary ids turned into interned names for reconciliation: each word as written
/// (stores) and normalised (marketplaces, lower case). Look-ups by id are array reads,
/// and the table is read-only once built, so loading threads share it.
struct Names {
    strings: Interner,
    /// Per dictionary id: (as written, normalised); `None` for ids not in use.
    syms: Vec<Option<(Sym, Sym)>>,
}

impl Names {
    fn load(connection: &Connection) -> Result<Names, StoreError> {
        let mut names = Names { strings: Interner::new(), syms: Vec::new() };
        let mut statement = connection.prepare("SELECT id, text FROM dictionary")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id = row.get::<_, i64>(0)? as usize;
            let text: String = row.get(1)?;
            if names.syms.len() <= id {
                names.syms.resize(id + 1, None);
            }
            let plain = names.strings.intern(&text);
            let normalised = names.strings.intern(&normalize_marketplace(&text));
            names.syms[id] = Some((plain, normalised));
        }
        Ok(names)
    }

    fn get(&self, id: i64) -> Result<(Sym, Sym), StoreError> {
        self.syms.get(id as usize).copied().flatten().ok_or_else(|| StoreError::Corrupt(format!("dictionary id {id}")))
    }

    fn store(&self, id: i64) -> Result<Sym, StoreError> {
        Ok(self.get(id)?.0)
    }

    fn marketplace(&self, id: i64) -> Result<Sym, StoreError> {
        Ok(self.get(id)?.1)
    }
}

#[derive(Default)]
struct Currencies(Vec<(String, Currency)>);

impl Currencies {
    fn get(&mut self, code: &str) -> Result<Currency, StoreError> {
        if let Some((_, currency)) = self.0.iter().find(|(c, _)| c == code) {
            return Ok(*currency);
        }
        let currency = currency_of(code)?;
        self.0.push((code.to_owned(), currency));
        Ok(currency)
    }
}

fn imported_file(row: &rusqlite::Row<'_>) -> rusqlite::Result<ImportedFile> {
    Ok(ImportedFile {
        id: row.get(0)?,
        sha256: row.get(1)?,
        name: row.get(2)?,
        format: row.get(3)?,
        store: row.get(4)?,
        size_bytes: row.get(5)?,
        imported_at: row.get(6)?,
        record_count: row.get(7)?,
    })
}

/// Texts by symbol: an [`Interner`], or the [`PartTexts`] of a file read in parts.
trait Texts {
    fn text(&self, sym: Sym) -> &str;
    fn count(&self) -> usize;
}

impl Texts for Interner {
    fn text(&self, sym: Sym) -> &str {
        self.resolve(sym)
    }

    fn count(&self) -> usize {
        self.len()
    }
}

/// The texts of a settlement file read in parts, appended part by part in symbol order: a
/// mirror of the reader's interner without its hash table (the store only looks texts up
/// by symbol, and appending costs a copy, not a hash per text).
struct PartTexts {
    buffer: String,
    /// Where each symbol's text ends in `buffer`; symbol 0 is the empty text.
    ends: Vec<usize>,
}

impl PartTexts {
    fn new() -> PartTexts {
        PartTexts { buffer: String::new(), ends: vec![0] }
    }

    fn append(&mut self, texts: &str, ends: &[usize]) -> Result<(), StoreError> {
        let base = self.buffer.len();
        let mut start = 0;
        for &end in ends {
            if end < start || end > texts.len() || !texts.is_char_boundary(end) {
                return Err(StoreError::Corrupt("a part's texts do not match their ends".to_owned()));
            }
            self.ends.push(base + end);
            start = end;
        }
        self.buffer.push_str(texts);
        Ok(())
    }
}

impl Texts for PartTexts {
    fn text(&self, sym: Sym) -> &str {
        let index = sym.0 as usize;
        match (index.checked_sub(1).map(|i| self.ends[i]), self.ends.get(index)) {
            (Some(start), Some(&end)) => &self.buffer[start..end],
            _ => "",
        }
    }

    fn count(&self) -> usize {
        self.ends.len()
    }
}

/// Maps one interner's symbols to dictionary ids, inserting new words as needed.
struct WordIds<'s> {
    strings: &'s dyn Texts,
    ids: Vec<i64>,
}

impl<'s> WordIds<'s> {
    fn new(strings: &'s dyn Texts) -> WordIds<'s> {
        WordIds { strings, ids: vec![-1; strings.count()] }
    }

    /// Goes on with the ids an earlier `WordIds` of the same (since grown) texts found
    /// (a file read in parts: its texts grow from part to part).
    fn resume(strings: &'s dyn Texts, mut ids: Vec<i64>) -> WordIds<'s> {
        ids.resize(strings.count(), -1);
        WordIds { strings, ids }
    }

    fn into_ids(self) -> Vec<i64> {
        self.ids
    }

    fn id(
        &mut self,
        transaction: &Transaction<'_>,
        dictionary: &mut HashMap<String, i64>,
        sym: Sym,
    ) -> Result<i64, StoreError> {
        let slot = &mut self.ids[sym.0 as usize];
        if *slot >= 0 {
            return Ok(*slot);
        }
        let text = self.strings.text(sym);
        let id = match dictionary.get(text) {
            Some(id) => *id,
            None => {
                transaction.execute("INSERT INTO dictionary (text) VALUES (?1)", [text])?;
                let id = transaction.last_insert_rowid();
                dictionary.insert(text.to_owned(), id);
                id
            }
        };
        *slot = id;
        Ok(id)
    }

    fn word(
        &mut self,
        transaction: &Transaction<'_>,
        dictionary: &mut HashMap<String, i64>,
        text: &str,
    ) -> Result<i64, StoreError> {
        if let Some(id) = dictionary.get(text) {
            return Ok(*id);
        }
        transaction.execute("INSERT INTO dictionary (text) VALUES (?1)", [text])?;
        let id = transaction.last_insert_rowid();
        dictionary.insert(text.to_owned(), id);
        Ok(id)
    }
}

/// Replaces the stored payout ↔ receipt results (part of a run's transaction).
fn insert_receipt_results(
    transaction: &Transaction<'_>,
    run_id: i64,
    results: &[ReceiptResult],
) -> Result<(), StoreError> {
    transaction.execute_batch("DELETE FROM receipt_result; DELETE FROM receipt_result_link;")?;
    {
        let mut insert = transaction.prepare(
            "INSERT INTO receipt_result (run_id, status, expected_minor, expected_currency, received_minor, received_currency,
                rule_id, score, difference_minor, date_difference_days, implied_rate, reference_rate, rate_within_band,
                fx_difference_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let mut link = transaction.prepare(
            "INSERT INTO receipt_result_link (result_id, settlement_id, statement_entry_id, withdrawal_entry_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for result in results {
            insert.execute(params![
                run_id,
                result.status.code(),
                result.expected.map(|m| m.amount_minor),
                result.expected.map(|m| m.currency.code().to_owned()),
                result.received.map(|m| m.amount_minor),
                result.received.map(|m| m.currency.code().to_owned()),
                result.rule_id,
                result.score,
                result.difference_minor,
                result.date_difference_days,
                result.implied_rate,
                result.reference_rate,
                result.rate_within_band,
                result.fx_difference_minor,
            ])?;
            let id = transaction.last_insert_rowid();
            for settlement in &result.settlement_ids {
                link.execute(params![id, *settlement as i64, Option::<i64>::None, Option::<i64>::None])?;
            }
            for entry in &result.withdrawal_ids {
                link.execute(params![id, Option::<i64>::None, Option::<i64>::None, entry])?;
            }
            for entry in &result.receipt_ids {
                link.execute(params![id, Option::<i64>::None, entry, Option::<i64>::None])?;
            }
        }
    }
    Ok(())
}

fn insert_file(transaction: &Transaction<'_>, meta: &FileMeta, record_count: u64) -> Result<i64, StoreError> {
    transaction.execute(
        "INSERT INTO source_file (sha256, name, format, store, size_bytes, imported_at, record_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![meta.sha256, meta.name, meta.format.name(), meta.store, meta.size_bytes as i64, meta.imported_at, record_count as i64],
    )?;
    Ok(transaction.last_insert_rowid())
}

fn insert_settlements(
    transaction: &Transaction<'_>,
    dictionary: &mut HashMap<String, i64>,
    meta: &FileMeta,
    file: &SettlementFile,
    keys: &[LineKeys],
    store: &str,
) -> Result<SettlementImport, StoreError> {
    insert_settlements_from(transaction, dictionary, meta, file, keys, store, None)
}

/// What becomes of settlement `id` of a file being imported if the store has it already:
/// from a settlement file, it is skipped (`skip`); known only from a transaction report,
/// a settlement file replaces it (its lines deleted here) and a report merges with it
/// (`merge`). Nothing happens to a settlement not stored yet.
fn settle_existing(
    transaction: &Transaction<'_>,
    id: u64,
    report: bool,
    outcome: &mut SettlementImport,
    skip: &mut HashSet<u64>,
    merge: &mut HashSet<u64>,
) -> Result<(), StoreError> {
    let mut existing = transaction.prepare_cached(
        "SELECT f.name, f.format FROM settlement s JOIN source_file f ON f.id = s.file_id WHERE s.settlement_id = ?1",
    )?;
    let found: Option<(String, String)> =
        existing.query_row([id as i64], |row| Ok((row.get(0)?, row.get(1)?))).optional()?;
    let Some((name, format)) = found else { return Ok(()) };
    match (report, format == SourceFormat::AmazonTransactionReport.name()) {
        (true, true) => {
            merge.insert(id);
        }
        (false, true) => {
            delete_settlement_blocks(transaction, id as i64)?;
            transaction.execute("DELETE FROM settlement WHERE settlement_id = ?1", [id as i64])?;
            outcome.settlements_replaced.push((id, name));
        }
        (_, false) => {
            skip.insert(id);
            outcome.settlements_skipped.push((id, name));
        }
    }
    Ok(())
}

/// Inserts one settlement row.
fn insert_settlement_row(
    transaction: &Transaction<'_>,
    header: &SettlementHeader,
    store_id: i64,
    file_id: i64,
    open: bool,
) -> Result<(), StoreError> {
    let mut insert = transaction.prepare_cached(
        "INSERT INTO settlement (settlement_id, store, file_id, line, start_utc, end_utc, deposit_utc, total_minor, currency, lines_sum_minor, line_count, open)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    insert.execute(params![
        header.settlement_id as i64,
        store_id,
        file_id,
        header.line,
        header.start_utc_seconds,
        header.end_utc_seconds,
        header.deposit_utc_seconds,
        header.total_minor,
        header.currency.code(),
        header.lines_sum_minor,
        header.line_count,
        open,
    ])?;
    Ok(())
}

/// Each stored line of settlement `settlement_id`, in stored order.
fn for_each_settlement_line(
    connection: &Connection,
    settlement_id: i64,
    each: &mut dyn FnMut(&StoredLine<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT line_count, data FROM line_block WHERE settlement_id = ?1 ORDER BY id")?;
    let mut rows = statement.query([settlement_id])?;
    while let Some(row) = rows.next()? {
        let mut reader = BlockReader::new(row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?, row.get(0)?)?;
        while let Some(line) = reader.next()? {
            each(&line)?;
        }
    }
    Ok(())
}

/// Inserts settlement lines (with their keys) of file `file_id`, packed into blocks (see
/// `blocks.rs`), the first at place `first` among the file's stored lines; `strings`
/// resolves their symbols. Returns how many were inserted.
#[allow(clippy::too_many_arguments)]
fn insert_lines<'l>(
    transaction: &Transaction<'_>,
    dictionary: &mut HashMap<String, i64>,
    words: &mut WordIds<'_>,
    strings: &dyn Texts,
    file_id: i64,
    first: u64,
    lines: impl Iterator<Item = (&'l SettlementLine, &'l LineKeys)>,
) -> Result<u64, StoreError> {
    let mut sink = BlockSink::new(file_id);
    let mut count = 0;
    fn bytes(text: &str) -> Option<&[u8]> {
        non_empty(text).map(str::as_bytes)
    }
    for (line, keys) in lines {
        let (key, text) = line.order_id.as_ref().map(order_parts).unwrap_or((None, None));
        let stored = StoredLine {
            ordinal: (first + count) as i64,
            line: i64::from(line.line),
            order_key: key,
            order_text: text.map(str::as_bytes),
            transaction_type: words.id(transaction, dictionary, line.transaction_type)?,
            amount_type: words.id(transaction, dictionary, line.amount_type)?,
            description: words.id(transaction, dictionary, line.amount_description)?,
            marketplace: words.id(transaction, dictionary, line.marketplace)?,
            fulfillment: words.id(transaction, dictionary, line.fulfillment)?,
            sku: words.id(transaction, dictionary, line.sku)?,
            merchant_order_id: bytes(strings.text(line.merchant_order_id)),
            adjustment_id: bytes(strings.text(line.adjustment_id)),
            shipment_id: bytes(strings.text(line.shipment_id)),
            order_item_code: bytes(strings.text(line.order_item_code)),
            promotion_id: bytes(strings.text(line.promotion_id)),
            amount_minor: line.amount_minor,
            posted_utc: line.posted_utc_seconds,
            quantity: i64::from(line.quantity),
            transaction_class: line.transaction.code(),
            component: line.component.code(),
            kind: line.kind as u8,
            item_key: keys.item_key as i64,
            fingerprint: keys.fingerprint.map(|f| f as i64),
        };
        sink.push(transaction, line.settlement_id as i64, &stored, strings.text(line.marketplace))?;
        count += 1;
    }
    sink.finish(transaction)?;
    Ok(count)
}

/// A settlement line as an overlapping report would repeat it: posted time, order, type,
/// amount type, description, amount and SKU.
type RowKey = (i64, Option<i64>, Option<String>, String, String, String, i64, String);

/// Stores settlements and their lines from a settlement file (`report` none) or from a
/// transaction report. A settlement file's settlement replaces one known only from
/// reports; a report's settlement known from a settlement file is skipped, and one known
/// from an earlier report gets the rows that report did not have.
fn insert_settlements_from(
    transaction: &Transaction<'_>,
    dictionary: &mut HashMap<String, i64>,
    meta: &FileMeta,
    file: &SettlementFile,
    keys: &[LineKeys],
    store: &str,
    report: Option<ReportExtras<'_>>,
) -> Result<SettlementImport, StoreError> {
    let mut outcome = SettlementImport::default();
    let mut skip: HashSet<u64> = HashSet::new();
    let mut merge: HashSet<u64> = HashSet::new();
    for header in &file.settlements {
        settle_existing(transaction, header.settlement_id, report.is_some(), &mut outcome, &mut skip, &mut merge)?;
    }
    // Rows of merged settlements already stored (from the earlier report) are not added.
    let mut stored_rows: HashMap<RowKey, u32> = HashMap::new();
    if !merge.is_empty() {
        let words: HashMap<i64, &str> = dictionary.iter().map(|(text, id)| (*id, text.as_str())).collect();
        let word = |id: i64| {
            words.get(&id).map(|w| (*w).to_owned()).ok_or_else(|| StoreError::Corrupt(format!("dictionary id {id}")))
        };
        for id in &merge {
            for_each_settlement_line(transaction, *id as i64, &mut |line| {
                let key: RowKey = (
                    line.posted_utc,
                    line.order_key,
                    line.order_text.map(text).transpose()?.map(str::to_owned),
                    word(line.transaction_type)?,
                    word(line.amount_type)?,
                    word(line.description)?,
                    line.amount_minor,
                    word(line.sku)?,
                );
                *stored_rows.entry(key).or_default() += 1;
                Ok(())
            })?;
        }
    }
    let strings = &file.strings;
    let mut add = vec![true; file.lines.len()];
    for (index, line) in file.lines.iter().enumerate() {
        if skip.contains(&line.settlement_id) {
            add[index] = false;
        } else if merge.contains(&line.settlement_id) {
            let (order_key, order_text) = line.order_id.as_ref().map(order_parts).unwrap_or((None, None));
            let key: RowKey = (
                line.posted_utc_seconds,
                order_key,
                order_text.map(str::to_owned),
                strings.resolve(line.transaction_type).to_owned(),
                strings.resolve(line.amount_type).to_owned(),
                strings.resolve(line.amount_description).to_owned(),
                line.amount_minor,
                strings.resolve(line.sku).to_owned(),
            );
            if let Some(count) = stored_rows.get_mut(&key).filter(|c| **c > 0) {
                *count -= 1;
                add[index] = false;
            }
        }
    }
    let lines_added = add.iter().filter(|a| **a).count() as u64;
    let deferred = report.map_or(&[][..], |r| r.deferred);
    let file_id = insert_file(transaction, meta, lines_added + deferred.len() as u64)?;
    outcome.file_id = file_id;
    let mut words = WordIds::new(&file.strings);
    let store_id = words.word(transaction, dictionary, store)?;
    {
        let mut update = transaction.prepare(
            "UPDATE settlement SET start_utc = MIN(start_utc, ?2), end_utc = MAX(end_utc, ?3),
                deposit_utc = COALESCE(?4, deposit_utc), lines_sum_minor = lines_sum_minor + ?5, line_count = line_count + ?6,
                total_minor = CASE WHEN ?4 IS NOT NULL THEN ?7 WHEN open THEN lines_sum_minor + ?5 ELSE total_minor END,
                open = open AND ?4 IS NULL
             WHERE settlement_id = ?1",
        )?;
        let open: HashSet<u64> = report.map_or_else(HashSet::new, |r| r.open.iter().copied().collect());
        for header in file.settlements.iter().filter(|h| !skip.contains(&h.settlement_id)) {
            if merge.contains(&header.settlement_id) {
                let (mut sum, mut count) = (0i64, 0i64);
                for (line, _) in
                    file.lines.iter().zip(&add).filter(|(l, a)| **a && l.settlement_id == header.settlement_id)
                {
                    sum += line.amount_minor;
                    count += 1;
                }
                let deposit = header.deposit_utc_seconds.filter(|_| !open.contains(&header.settlement_id));
                update.execute(params![
                    header.settlement_id as i64,
                    header.start_utc_seconds,
                    header.end_utc_seconds,
                    deposit,
                    sum,
                    count,
                    header.total_minor,
                ])?;
                outcome.settlements_merged.push(header.settlement_id);
                continue;
            }
            insert_settlement_row(transaction, header, store_id, file_id, open.contains(&header.settlement_id))?;
            outcome.settlements_added.push(header.settlement_id);
        }
    }
    if let Some(report) = report {
        transaction.execute(
            "DELETE FROM deferred_line WHERE store = ?1 AND posted_utc BETWEEN ?2 AND ?3",
            params![store_id, report.posted_range.0, report.posted_range.1],
        )?;
        let mut insert = transaction.prepare(
            "INSERT INTO deferred_line (store, file_id, line, settlement_id, order_key, order_text, transaction_type, amount_type,
                description, amount_minor, currency, posted_utc, release_utc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for line in report.deferred {
            let (key, text) = line.order_id.as_ref().map(order_parts).unwrap_or((None, None));
            insert.execute(params![
                store_id,
                file_id,
                line.line,
                line.settlement_id.map(|id| id as i64),
                key,
                text,
                words.id(transaction, dictionary, line.transaction_type)?,
                words.id(transaction, dictionary, line.amount_type)?,
                words.id(transaction, dictionary, line.description)?,
                line.amount_minor,
                line.currency.code(),
                line.posted_utc_seconds,
                line.release_utc_seconds,
            ])?;
        }
        outcome.deferred_added = report.deferred.len() as u64;
    }
    insert_lines(
        transaction,
        dictionary,
        &mut words,
        &file.strings,
        file_id,
        0,
        file.lines.iter().zip(keys).zip(&add).filter(|(_, a)| **a).map(|(pair, _)| pair),
    )?;
    outcome.lines_added = lines_added;
    Ok(outcome)
}

fn insert_statements(
    transaction: &Transaction<'_>,
    meta: &FileMeta,
    file: &StatementFile,
) -> Result<StatementImport, StoreError> {
    let mut outcome = StatementImport::default();
    let mut skip = vec![false; file.statements.len()];
    {
        let mut existing = transaction.prepare(
            "SELECT f.name FROM statement s JOIN source_file f ON f.id = s.file_id WHERE s.account = ?1 AND s.statement_ref = ?2",
        )?;
        for (index, statement) in file.statements.iter().enumerate() {
            if statement.statement_ref.is_empty() {
                continue;
            }
            let found: Option<String> =
                existing.query_row(params![statement.account, statement.statement_ref], |row| row.get(0)).optional()?;
            if let Some(name) = found {
                skip[index] = true;
                outcome.statements_skipped.push((statement.account.clone(), statement.statement_ref.clone(), name));
            }
        }
    }
    // Entries seen before: in a statement with no reference of its own, an entry whose
    // reference the account already has.
    let mut seen = vec![false; file.entries.len()];
    {
        let mut existing = transaction.prepare(
            "SELECT f.name FROM statement_entry e JOIN statement s ON s.id = e.statement_id
             JOIN source_file f ON f.id = e.file_id
             WHERE e.entry_ref = ?1 AND s.account = ?2 AND e.currency = ?3 LIMIT 1",
        )?;
        let mut per_account: Vec<(String, u64, String, String)> = Vec::new();
        for (index, entry) in file.entries.iter().enumerate() {
            let statement = &file.statements[entry.statement as usize];
            if skip[entry.statement as usize] || !statement.statement_ref.is_empty() || entry.entry_ref.is_empty() {
                continue;
            }
            let found: Option<String> = existing
                .query_row(params![entry.entry_ref, statement.account, entry.currency.code()], |row| row.get(0))
                .optional()?;
            if let Some(name) = found {
                seen[index] = true;
                match per_account.iter_mut().find(|(account, ..)| *account == statement.account) {
                    Some(row) => row.1 += 1,
                    None => per_account.push((statement.account.clone(), 1, entry.entry_ref.clone(), name)),
                }
            }
        }
        outcome.entries_skipped = per_account;
    }
    let keep = |index: usize, statement: u32| !skip[statement as usize] && !seen[index];
    let entries_added = file.entries.iter().enumerate().filter(|(i, e)| keep(*i, e.statement)).count() as u64;
    let file_id = insert_file(transaction, meta, entries_added)?;
    outcome.file_id = file_id;
    let mut ids = vec![0i64; file.statements.len()];
    {
        let mut insert = transaction.prepare(
            "INSERT INTO statement (file_id, line, statement_ref, account, currency, opening_minor, opening_day, closing_minor,
                closing_day, entries_sum_minor, entry_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for (index, statement) in file.statements.iter().enumerate().filter(|(i, _)| !skip[*i]) {
            insert.execute(params![
                file_id,
                statement.line,
                statement.statement_ref,
                statement.account,
                statement.currency.code(),
                statement.opening_minor,
                statement.opening_date.map(day_number),
                statement.closing_minor,
                statement.closing_date.map(day_number),
                statement.entries_sum_minor,
                statement.entry_count,
            ])?;
            ids[index] = transaction.last_insert_rowid();
            outcome.statements_added += 1;
        }
    }
    let mut insert = transaction.prepare(
        "INSERT INTO statement_entry (statement_id, file_id, line, booking_day, value_day, amount_minor, currency, entry_ref,
            reference, counterparty, description, original_amount_minor, original_currency, fee_minor, reversal)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for (_, entry) in file.entries.iter().enumerate().filter(|(i, e)| keep(*i, e.statement)) {
        insert.execute(params![
            ids[entry.statement as usize],
            file_id,
            entry.line,
            day_number(entry.booking_date),
            entry.value_date.map(day_number),
            entry.amount_minor,
            entry.currency.code(),
            entry.entry_ref,
            entry.reference,
            entry.counterparty,
            entry.description,
            entry.original_amount.map(|m| m.amount_minor),
            entry.original_amount.map(|m| m.currency.code().to_owned()),
            entry.fee_minor,
            entry.reversal,
        ])?;
    }
    outcome.entries_added = entries_added;
    Ok(outcome)
}

fn insert_orders(
    transaction: &Transaction<'_>,
    dictionary: &mut HashMap<String, i64>,
    meta: &FileMeta,
    file: &OrderFile,
) -> Result<OrderImport, StoreError> {
    let mut outcome = OrderImport::default();
    let mut new_ids: Vec<&OrderId> = file.items.iter().map(|i| &i.order_id).collect();
    new_ids.sort_unstable();
    new_ids.dedup();
    outcome.orders_added = new_ids.len() as u64;
    // An order seen in an earlier export is replaced by this one's rows. Into an empty
    // store nothing is looked up. Into a store holding many more rows than this file has
    // orders, each of this file's orders is looked up by the order index (created on first
    // need), so the cost follows the new file, not the orders already stored. Into one
    // holding fewer than SCAN_FACTOR times as many (a month loaded export by export), the
    // stored rows are read once in order and checked against this file's orders in memory:
    // millions of index probes and index updates would cost many times more.
    const SCAN_FACTOR: i64 = 8;
    let mut stale_rows = Vec::new();
    let mut replaced: HashSet<OrderId> = HashSet::new();
    let stored_rows: i64 =
        transaction.query_row("SELECT coalesce(MAX(id) - MIN(id) + 1, 0) FROM order_item", [], |row| row.get(0))?;
    let indexed: bool = transaction.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'order_item_by_order')",
        [],
        |row| row.get(0),
    )?;
    if stored_rows > 0 && !indexed && stored_rows <= SCAN_FACTOR * new_ids.len() as i64 {
        let wanted: HashSet<&OrderId> = new_ids.iter().copied().collect();
        let mut statement = transaction.prepare("SELECT id, order_key, order_text FROM order_item")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id = order_from_parts(row.get(1)?, row.get(2)?)?;
            if wanted.contains(&id) {
                stale_rows.push(row.get::<_, i64>(0)?);
                replaced.insert(id);
            }
        }
    } else if stored_rows > 0 {
        transaction
            .execute_batch("CREATE INDEX IF NOT EXISTS order_item_by_order ON order_item (order_key, order_text)")?;
        let mut statement =
            transaction.prepare("SELECT id FROM order_item WHERE order_key IS ?1 AND order_text IS ?2")?;
        for id in &new_ids {
            let (key, text) = order_parts(id);
            let mut rows = statement.query(params![key, text])?;
            while let Some(row) = rows.next()? {
                stale_rows.push(row.get::<_, i64>(0)?);
                replaced.insert((*id).clone());
            }
        }
    }
    {
        let mut delete = transaction.prepare("DELETE FROM order_item WHERE id = ?1")?;
        for row in stale_rows {
            delete.execute([row])?;
        }
    }
    outcome.orders_replaced = replaced.len() as u64;
    outcome.orders_added -= outcome.orders_replaced;
    let file_id = insert_file(transaction, meta, file.items.len() as u64)?;
    outcome.file_id = file_id;
    let mut words = WordIds::new(&file.strings);
    let mut insert = transaction.prepare(
        "INSERT INTO order_item (file_id, line, order_key, order_text, store, marketplace, status, purchase_day, ship_day, currency,
            amount_minor, refunded_minor, quantity, sku)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    // Bound one by one (no parameter list built per row: a month has millions of rows).
    insert.raw_bind_parameter(1, file_id)?;
    for item in &file.items {
        let (key, text) = order_parts(&item.order_id);
        insert.raw_bind_parameter(2, item.line)?;
        insert.raw_bind_parameter(3, key)?;
        insert.raw_bind_parameter(4, text)?;
        insert.raw_bind_parameter(5, words.id(transaction, dictionary, item.store)?)?;
        insert.raw_bind_parameter(6, words.id(transaction, dictionary, item.marketplace)?)?;
        insert.raw_bind_parameter(7, item.status.code())?;
        insert.raw_bind_parameter(8, day_number(item.purchase_date))?;
        insert.raw_bind_parameter(9, item.ship_date.map(day_number))?;
        insert.raw_bind_parameter(10, item.currency.code())?;
        insert.raw_bind_parameter(11, item.amount_minor)?;
        insert.raw_bind_parameter(12, item.refunded_minor)?;
        insert.raw_bind_parameter(13, item.quantity)?;
        insert.raw_bind_parameter(14, words.id(transaction, dictionary, item.sku)?)?;
        insert.raw_execute()?;
        outcome.items_added += 1;
    }
    Ok(outcome)
}

/// Statements with counterparties (往来对账单).
impl SqliteStore {
    pub fn import_documents(
        &mut self,
        meta: &FileMeta,
        documents: &[tieout_core::counterparty::Document],
    ) -> Result<crate::DocumentImport, StoreError> {
        let transaction = self.connection.transaction()?;
        let mut added = 0;
        let file_id = insert_file(&transaction, meta, 0)?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO ledger_document (file_id, line, counterparty, counterparty_name, side, doc_type, number, day,
                    amount_minor, currency, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (counterparty, doc_type, number) DO NOTHING",
            )?;
            for d in documents {
                added += insert.execute(params![
                    file_id,
                    d.line,
                    d.counterparty,
                    d.counterparty_name,
                    d.doc_type.side().name(),
                    d.doc_type.name(),
                    d.number,
                    day_number(d.date),
                    d.amount_minor,
                    d.currency.code(),
                    d.description
                ])?;
            }
        }
        transaction
            .execute("UPDATE source_file SET record_count = ?2 WHERE id = ?1", params![file_id, added as i64])?;
        transaction.commit()?;
        Ok(crate::DocumentImport { file_id, added, skipped: documents.len() - added })
    }

    pub fn documents(&self, counterparty: Option<&str>) -> Result<Vec<crate::StoredDocument>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT d.id, f.name, d.line, d.counterparty, d.counterparty_name, d.doc_type, d.number, d.day,
                    d.amount_minor, d.currency, d.description
             FROM ledger_document d JOIN source_file f ON f.id = d.file_id
             WHERE ?1 IS NULL OR d.counterparty = ?1 ORDER BY d.day, d.id",
        )?;
        let mut rows = statement.query(params![counterparty])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let doc_type: String = row.get(5)?;
            let currency: String = row.get(9)?;
            out.push(crate::StoredDocument {
                id: row.get(0)?,
                file_name: row.get(1)?,
                document: tieout_core::counterparty::Document {
                    line: row.get(2)?,
                    counterparty: row.get(3)?,
                    counterparty_name: row.get(4)?,
                    doc_type: tieout_core::counterparty::DocType::parse(&doc_type)
                        .ok_or_else(|| StoreError::Corrupt(format!("document type {doc_type}")))?,
                    number: row.get(6)?,
                    date: from_day_number(row.get(7)?)?,
                    amount_minor: row.get(8)?,
                    currency: currency_of(&currency)?,
                    description: row.get(10)?,
                },
            });
        }
        Ok(out)
    }

    pub fn create_statement(&mut self, new: &crate::NewStatement) -> Result<i64, StoreError> {
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "INSERT INTO counterparty_statement (counterparty, side, currency, period_start, period_end, opening_minor,
                due_minor, paid_minor, state, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 'draft', ?8, ?9, ?9)",
            params![
                new.counterparty,
                new.side,
                new.currency,
                new.period_start_day,
                new.period_end_day,
                new.opening_minor,
                new.due_minor,
                new.created_by,
                new.at
            ],
        )?;
        let id = transaction.last_insert_rowid();
        {
            let mut insert = transaction.prepare(
                "INSERT INTO counterparty_statement_line (statement_id, position, document_id) VALUES (?1, ?2, ?3)",
            )?;
            for (position, document) in new.document_ids.iter().enumerate() {
                insert.execute(params![id, position as i64, document])?;
            }
        }
        transaction.commit()?;
        Ok(id)
    }

    pub fn counterparty_statements(&self) -> Result<Vec<crate::StatementRecord>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT id, counterparty, side, currency, period_start, period_end, opening_minor, due_minor, paid_minor,
                    state, created_by, created_at, updated_at
             FROM counterparty_statement ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(crate::StatementRecord {
                id: row.get(0)?,
                counterparty: row.get(1)?,
                side: row.get(2)?,
                currency: row.get(3)?,
                period_start_day: row.get(4)?,
                period_end_day: row.get(5)?,
                opening_minor: row.get(6)?,
                due_minor: row.get(7)?,
                paid_minor: row.get(8)?,
                state: row.get(9)?,
                created_by: row.get(10)?,
                created_at: row.get(11)?,
                updated_at: row.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn statement_documents(&self, statement: i64) -> Result<Vec<i64>, StoreError> {
        let mut query = self
            .connection
            .prepare("SELECT document_id FROM counterparty_statement_line WHERE statement_id = ?1 ORDER BY position")?;
        let rows = query.query_map([statement], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_statement_state(&mut self, statement: i64, from: &str, to: &str, at: i64) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE counterparty_statement SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
            params![statement, from, to, at],
        )?;
        Ok(changed == 1)
    }

    pub fn apply_statement_payments(
        &mut self,
        applications: &[(i64, i64, i64)],
        states: &[(i64, i64, String)],
        at: i64,
    ) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        for (statement, document, amount) in applications {
            transaction.execute(
                "INSERT INTO counterparty_payment (statement_id, document_id, amount_minor) VALUES (?1, ?2, ?3)
                 ON CONFLICT (statement_id, document_id) DO UPDATE SET amount_minor = amount_minor + excluded.amount_minor",
                params![statement, document, amount],
            )?;
        }
        for (statement, paid, state) in states {
            transaction.execute(
                "UPDATE counterparty_statement SET paid_minor = ?2, state = ?3, updated_at = ?4 WHERE id = ?1",
                params![statement, paid, state, at],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every payment applied: (statement, payment document, amount).
    pub fn statement_payments(&self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let mut query = self.connection.prepare(
            "SELECT statement_id, document_id, amount_minor FROM counterparty_payment ORDER BY statement_id, document_id",
        )?;
        let rows = query.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn import_counterparty_lines(
        &mut self,
        meta: &FileMeta,
        statement: i64,
        lines: &[crate::TheirLine],
    ) -> Result<i64, StoreError> {
        let transaction = self.connection.transaction()?;
        let file_id = insert_file(&transaction, meta, lines.len() as u64)?;
        transaction.execute("DELETE FROM counterparty_line WHERE statement_id = ?1", [statement])?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO counterparty_line (statement_id, position, file_id, line, number, day, amount_minor, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (position, line) in lines.iter().enumerate() {
                insert.execute(params![
                    statement,
                    position as i64,
                    file_id,
                    line.line,
                    line.number,
                    line.day,
                    line.amount_minor,
                    line.description
                ])?;
            }
        }
        transaction.commit()?;
        Ok(file_id)
    }

    pub fn counterparty_lines(&self, statement: i64) -> Result<Vec<crate::TheirLine>, StoreError> {
        let mut query = self.connection.prepare(
            "SELECT line, number, day, amount_minor, description FROM counterparty_line WHERE statement_id = ?1 ORDER BY position",
        )?;
        let rows = query.query_map([statement], |row| {
            Ok(crate::TheirLine {
                line: row.get(0)?,
                number: row.get(1)?,
                day: row.get(2)?,
                amount_minor: row.get(3)?,
                description: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn add_statement_resolutions(&mut self, resolutions: &[crate::StatementResolution]) -> Result<(), StoreError> {
        let transaction = self.connection.transaction()?;
        for r in resolutions {
            transaction.execute(
                "INSERT INTO counterparty_resolution (statement_id, number, kind, ours_minor, theirs_minor, amount_minor,
                    reason, comment, by_user, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    r.statement_id,
                    r.number,
                    r.kind,
                    r.ours_minor,
                    r.theirs_minor,
                    r.amount_minor,
                    r.reason,
                    r.comment,
                    r.by_user,
                    r.at
                ],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    pub fn statement_resolutions(&self, statement: i64) -> Result<Vec<crate::StatementResolution>, StoreError> {
        let mut query = self.connection.prepare(
            "SELECT statement_id, number, kind, ours_minor, theirs_minor, amount_minor, reason, comment, by_user, at
             FROM counterparty_resolution WHERE statement_id = ?1 ORDER BY id",
        )?;
        let rows = query.query_map([statement], |row| {
            Ok(crate::StatementResolution {
                statement_id: row.get(0)?,
                number: row.get(1)?,
                kind: row.get(2)?,
                ours_minor: row.get(3)?,
                theirs_minor: row.get(4)?,
                amount_minor: row.get(5)?,
                reason: row.get(6)?,
                comment: row.get(7)?,
                by_user: row.get(8)?,
                at: row.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
