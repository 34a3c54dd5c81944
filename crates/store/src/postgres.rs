//! The PostgreSQL store ([`PgStore`]): the team server's database, with the meaning of
//! the embedded [`crate::SqliteStore`] for every method of [`Store`].
//!
//! # Tenancy
//! One database holds every tenant. Every table carries `tenant_id`, and it leads every
//! primary key, unique constraint, foreign key and index (`PRIMARY KEY (tenant_id, id)`,
//! `FOREIGN KEY (tenant_id, file_id) REFERENCES source_file (tenant_id, id)`), so the
//! tables can be distributed by tenant (Citus) or hash-partitioned by it
//! ([`PgSchemaOptions::hash_partitions`]). A `PgStore` is bound to one tenant id: every
//! query filters by it and every row it writes carries it, so one tenant never sees
//! another's rows.
//!
//! # Schema
//! Migrations are SQL files (`migrations/postgres/`), applied by [`migrate`] in one
//! transaction under a transaction-scoped advisory lock (per schema), so server
//! processes starting at once do not race; the version is recorded in `schema_version`.
//! A database from a newer tieout is refused ([`StoreError::SchemaTooNew`]).
//!
//! * Ids come from sequences (`DEFAULT nextval(...)`), not identity columns (PostgreSQL 15
//!   cannot declare those on partitioned tables). Sequences are shared by all tenants, so
//!   a tenant's ids have gaps; they only ever grow, in insertion order, as SQLite's do.
//!   Settlement ids are Amazon's. Order and payout ↔ receipt results are numbered by their
//!   position in the run (1, 2, …), as SQLite numbers them after clearing the previous
//!   run, so a page's keyset cursor means the same in both engines.
//! * Texts are stored as text; the SQLite dictionary (narrow rows for a file of millions
//!   of rows) is not repeated here.
//! * Money is BIGINT minor units beside a currency code. Dates are integer day numbers
//!   (days from 0001-01-01, chrono's `num_days_from_ce`) and times Unix seconds, as in
//!   SQLite: both engines store the same integers, and no time zone conversion happens on
//!   the way in or out.
//! * Secondary indexes are created by the migration (a server cannot build one on first
//!   use as the embedded store does: it would lock a table all tenants share).
//! * Foreign keys where SQLite has them (a settlement or statement to its file, an entry
//!   to its statement) and between the small result tables; none from a settlement line,
//!   order item or order result (one check per COPYed row), as in SQLite:
//!   `integrity_findings` checks those.
//!
//! # Writing
//! Each import and each reconciliation run is one transaction: all of it or nothing.
//! Bulk rows (settlement lines, deferred lines, order items, statement entries, order and
//! receipt results) are written with binary `COPY`. Writes of one tenant are serialised by
//! a transaction-scoped advisory lock on the tenant (as SQLite serialises writers), so
//! the skip / replace / merge decisions of an import see every import committed before it.
//!
//! # Reading
//! Reads that combine several queries (reconcile input, roll-forward input, the integrity
//! check) run in one read-only REPEATABLE READ transaction: one snapshot. Large reads
//! stream their rows (one query each), never collecting them first.
//!
//! # Where it differs from SQLite
//! * Ids (files, lines, statement entries, runs) are allocated per database, not per
//!   tenant: the same imports give other numbers than in a SQLite file, in the same order.
//! * Text cannot hold U+0000 in PostgreSQL: a file whose fields contain it fails to import
//!   with a database error (SQLite would store it).
//! * The order-export import looks up an export's orders by index whether or not the
//!   tenant holds orders yet (the index always exists here); the outcome is the same.
//! * A lost connection is an error ([`StoreError::Postgres`]) on every later call: the
//!   store does not reconnect (the server that owns it decides).
//!
//! # The `postgres` feature
//! This module is behind the cargo feature `postgres`, on by default: the workspace's
//! test command (`cargo test --workspace`) then runs the conformance suite on both
//! engines, and needs no extra flag. A build that wants the embedded store alone turns
//! default features off. Connections use no TLS (`NoTls`): the server and its database
//! share a host or a private network.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Transaction};
use tieout_core::ids::OrderId;
use tieout_core::intern::{Interner, Sym};
use tieout_core::money::Currency;
use tieout_core::receipts::{Payout, Receipt, ReceiptResult, ReceiptStatus};
use tieout_core::receivables::{Bucket, Posting, SettlementClose};
use tieout_core::reconcile::{Category, Flags, LineFacts, OrderFacts, ReconcileInput, Reconciliation};
use tieout_core::records::{
    line_keys, normalize_marketplace, Component, LineKeys, LineKind, OrderFile, OrderStatus, SettlementFile,
    SourceFormat, TransactionClass,
};
use tieout_core::statement::StatementFile;

use crate::api::Store;
use crate::ledger::{DocumentImport, NewStatement, StatementRecord, StatementResolution, StoredDocument, TheirLine};
use crate::partition::sum_items;
use crate::sqlite::{
    AccountEntries, DeferredSummary, DifferenceAction, FileMeta, ImportedFile, LineRow, OrderImport, OrderResultRow,
    OrderRow, PayoutRef, ReceiptAction, ReceiptRef, ReceiptRow, ReportExtras, ResultFilter, RunRow, SettlementImport,
    SettlementRow, StatementImport,
};
use crate::StoreError;
use tieout_core::counterparty::{DocType, Document};

/// The PostgreSQL migrations, in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/postgres/0001_initial.sql")),
    (2, include_str!("migrations/postgres/0002_difference_actions.sql")),
    (3, include_str!("migrations/postgres/0003_counterparty_statements.sql")),
    (4, include_str!("migrations/postgres/0004_difference_resolutions.sql")),
    (5, include_str!("migrations/postgres/0005_receipt_actions.sql")),
];

/// Marks a tenant table's `CREATE TABLE` in the migrations: replaced by the partition
/// clause in partitioned mode.
pub(crate) const PARTITION_MARK: &str = "/*PARTITION*/";

/// First key of the migration's advisory lock (the second is the schema's hash).
const MIGRATION_LOCK: i32 = 0x7469_6f75;

/// How the schema is created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PgSchemaOptions {
    /// `Some(n)` (n ≥ 1): every tenant table is `PARTITION BY HASH (tenant_id)` with `n`
    /// partitions (`<table>_p0` …). Applies when the tables are created; an existing
    /// schema keeps its layout.
    pub hash_partitions: Option<u32>,
}

/// One tenant's data in a PostgreSQL database.
pub struct PgStore {
    /// `RefCell`: reads take `&self` (as the trait says) and a client needs `&mut` to
    /// query. A `PgStore` is used by one thread at a time (it is `Send`, not `Sync`).
    client: RefCell<Client>,
    tenant_id: i64,
}

/// Brings the schema (the first schema of the connection's `search_path`) up to date.
/// Runs in one transaction under an advisory lock: processes migrating at once wait for
/// each other, and the second finds the work done.
pub fn migrate(client: &mut Client, options: &PgSchemaOptions) -> Result<(), StoreError> {
    let mut transaction = client.transaction()?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1, hashtext(COALESCE(current_schema(), '')))", &[&MIGRATION_LOCK])?;
    transaction.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version         BIGINT PRIMARY KEY,
            applied_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            hash_partitions BIGINT
        )",
    )?;
    let current: i64 =
        transaction.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?.try_get(0)?;
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > supported {
        return Err(StoreError::SchemaTooNew { found: current, supported });
    }
    let partitions = options.hash_partitions.map(i64::from);
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
        transaction.batch_execute(&render_migration(sql, options.hash_partitions)?)?;
        transaction.execute(
            "INSERT INTO schema_version (version, hash_partitions) VALUES ($1, $2)",
            &[version, &partitions],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// The migration's SQL for `hash_partitions`: each [`PARTITION_MARK`] becomes the
/// partition clause of the `CREATE TABLE` it ends, and the partitions are created after
/// every table (indexes and foreign keys declared on a partitioned table apply to
/// partitions created later). Without partitions the marks stay comments.
pub(crate) fn render_migration(sql: &str, hash_partitions: Option<u32>) -> Result<String, StoreError> {
    let Some(modulus) = hash_partitions else { return Ok(sql.to_owned()) };
    let mut out = String::with_capacity(sql.len() * 2);
    let mut partitions = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find(PARTITION_MARK) {
        out.push_str(&rest[..at]);
        let table = table_being_created(&out)
            .ok_or_else(|| StoreError::Corrupt(format!("migration: {PARTITION_MARK} outside a CREATE TABLE")))?;
        out.push_str("PARTITION BY HASH (tenant_id)");
        for remainder in 0..modulus {
            partitions.push_str(&format!(
                "CREATE TABLE {table}_p{remainder} PARTITION OF {table} FOR VALUES WITH (MODULUS {modulus}, REMAINDER {remainder});\n"
            ));
        }
        rest = &rest[at + PARTITION_MARK.len()..];
    }
    out.push_str(rest);
    out.push('\n');
    out.push_str(&partitions);
    Ok(out)
}

/// The name of the last table `CREATE TABLE` in `sql` creates.
fn table_being_created(sql: &str) -> Option<String> {
    const CREATE: &str = "CREATE TABLE ";
    let at = sql.rfind(CREATE)?;
    let name: String =
        sql[at + CREATE.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

impl PgStore {
    /// Connects to `config` (a `postgres://` URL or key=value string; a schema can be
    /// chosen with `options=-csearch_path%3Dname`), brings the schema up to date and binds
    /// the store to `tenant_id`.
    pub fn connect(config: &str, tenant_id: i64, options: &PgSchemaOptions) -> Result<PgStore, StoreError> {
        let mut client = Client::connect(config, NoTls)?;
        migrate(&mut client, options)?;
        Ok(PgStore::from_client(client, tenant_id))
    }

    /// A store for `tenant_id` on a connection whose schema is already migrated.
    pub fn from_client(client: Client, tenant_id: i64) -> PgStore {
        PgStore { client: RefCell::new(client), tenant_id }
    }

    pub fn into_client(self) -> Client {
        self.client.into_inner()
    }

    pub fn tenant_id(&self) -> i64 {
        self.tenant_id
    }

    /// A read-only transaction over one snapshot of the database.
    fn read<T>(&self, work: impl FnOnce(&mut Transaction<'_>, i64) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut client = self.client.borrow_mut();
        let mut transaction =
            client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()?;
        let result = work(&mut transaction, self.tenant_id)?;
        transaction.commit()?;
        Ok(result)
    }

    /// A writing transaction, the tenant's writes serialised: all of `work` or nothing.
    fn write<T>(
        &mut self,
        work: impl FnOnce(&mut Transaction<'_>, i64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tenant = self.tenant_id;
        let mut transaction = self.client.get_mut().transaction()?;
        transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('tieout tenant ' || COALESCE(current_schema(), '') || ' ' || $1::BIGINT, 0))",
            &[&tenant],
        )?;
        let result = work(&mut transaction, tenant)?;
        transaction.commit()?;
        Ok(result)
    }
}

// ---------------------------------------------------------------------------------------
// Values in and out.

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAY: i64 = 719_163;
const SECONDS_PER_DAY: i64 = 86_400;

fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn from_day_number(day: i32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_num_days_from_ce_opt(day).ok_or_else(|| StoreError::Corrupt(format!("day number {day}")))
}

/// The UTC day of a Unix time.
fn utc_day(seconds: i64) -> Result<NaiveDate, StoreError> {
    days_from_epoch(seconds.div_euclid(SECONDS_PER_DAY))
}

fn days_from_epoch(days: i64) -> Result<NaiveDate, StoreError> {
    let day = days
        .checked_add(UNIX_EPOCH_DAY)
        .and_then(|d| i32::try_from(d).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{days} days from 1970")))?;
    from_day_number(day)
}

fn currency_of(code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).map_err(|_| StoreError::Corrupt(format!("currency '{code}'")))
}

fn order_parts(id: &OrderId) -> (Option<i64>, Option<&str>) {
    (id.packed().map(|p| p as i64), id.text())
}

fn order_from_parts(key: Option<i64>, text: Option<&str>) -> Result<OrderId, StoreError> {
    OrderId::from_parts(key.map(|k| k as u64), text)
        .ok_or_else(|| StoreError::Corrupt("a row without an order id".to_owned()))
}

/// The condition on `{alias}order_key, {alias}order_text` that selects one order, with
/// its value as parameter `$2` (an index can serve it, unlike `IS NOT DISTINCT FROM`).
fn order_condition(alias: &str, order: &OrderId) -> (String, Box<dyn ToSql + Sync>) {
    match order_parts(order) {
        (Some(key), _) => (format!("{alias}order_key = $2 AND {alias}order_text IS NULL"), Box::new(key)),
        (None, text) => (
            format!("{alias}order_key IS NULL AND {alias}order_text = $2"),
            Box::new(text.unwrap_or_default().to_owned()),
        ),
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn column<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, StoreError> {
    Ok(row.try_get(index)?)
}

/// A count or line number (u32), stored as BIGINT.
fn count_at(row: &Row, index: usize) -> Result<u32, StoreError> {
    let value: i64 = row.try_get(index)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{value} where a count or line number belongs")))
}

fn optional_count_at(row: &Row, index: usize) -> Result<Option<u32>, StoreError> {
    let value: Option<i64> = row.try_get(index)?;
    value.map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} where a count belongs")))).transpose()
}

/// A code (category, status, class …), stored as SMALLINT.
fn code_at(row: &Row, index: usize) -> Result<u8, StoreError> {
    let value: i16 = row.try_get(index)?;
    u8::try_from(value).map_err(|_| StoreError::Corrupt(format!("code {value}")))
}

fn date_at(row: &Row, index: usize) -> Result<NaiveDate, StoreError> {
    from_day_number(row.try_get(index)?)
}

fn optional_date_at(row: &Row, index: usize) -> Result<Option<NaiveDate>, StoreError> {
    row.try_get::<_, Option<i32>>(index)?.map(from_day_number).transpose()
}

fn money(amount: Option<i64>, code: Option<&str>) -> Result<Option<tieout_core::Money>, StoreError> {
    Ok(match (amount, code) {
        (Some(amount), Some(code)) => Some(tieout_core::Money::new(amount, currency_of(code)?)),
        _ => None,
    })
}

/// The same currency code read again and again (a column of millions of rows).
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

/// Store and marketplace names interned for reconciliation: stores as written,
/// marketplaces normalised (lower case), each distinct text hashed once.
#[derive(Default)]
struct Names {
    strings: Interner,
    stores: HashMap<String, Sym>,
    marketplaces: HashMap<String, Sym>,
}

impl Names {
    fn new() -> Names {
        Names { strings: Interner::new(), ..Names::default() }
    }

    fn store(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.stores.get(text) {
            return *sym;
        }
        let sym = self.strings.intern(text);
        self.stores.insert(text.to_owned(), sym);
        sym
    }

    fn marketplace(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.marketplaces.get(text) {
            return *sym;
        }
        let sym = self.strings.intern(&normalize_marketplace(text));
        self.marketplaces.insert(text.to_owned(), sym);
        sym
    }
}

/// Streams the rows of `sql` (parameters: the tenant) into `each`.
fn for_each_row(
    transaction: &mut Transaction<'_>,
    sql: &str,
    tenant: i64,
    mut each: impl FnMut(&Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rows = transaction.query_raw(sql, [&tenant as &(dyn ToSql + Sync)])?;
    while let Some(row) = rows.next()? {
        each(&row)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Writing.

fn insert_file(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    meta: &FileMeta,
    record_count: u64,
) -> Result<i64, StoreError> {
    let row = transaction.query_one(
        "INSERT INTO source_file (tenant_id, sha256, name, format, store, size_bytes, imported_at, record_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        &[
            &tenant,
            &meta.sha256,
            &meta.name,
            &meta.format.name(),
            &meta.store,
            &(meta.size_bytes as i64),
            &meta.imported_at,
            &(record_count as i64),
        ],
    )?;
    column(&row, 0)
}

/// A settlement line as an overlapping report would repeat it: posted time, order, type,
/// amount type, description, amount and SKU.
type RowKey = (i64, Option<i64>, Option<String>, String, String, String, i64, String);

const SETTLEMENT_LINE_COPY: &str = "COPY settlement_line (tenant_id, settlement_id, file_id, line, order_key,
    order_text, transaction_type, amount_type, description, marketplace, fulfillment, sku, merchant_order_id,
    adjustment_id, shipment_id, order_item_code, promotion_id, amount_minor, posted_utc, quantity, transaction_class,
    component, kind, item_key, fingerprint) FROM STDIN (FORMAT binary)";

const SETTLEMENT_LINE_TYPES: [Type; 25] = [
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT2,
    Type::INT2,
    Type::INT2,
    Type::INT8,
    Type::INT8,
];

/// Stores settlements and their lines from a settlement file (`report` none) or from a
/// transaction report. A settlement file's settlement replaces one known only from
/// reports; a report's settlement known from a settlement file is skipped, and one known
/// from an earlier report gets the rows that report did not have.
fn insert_settlements_from(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    meta: &FileMeta,
    file: &SettlementFile,
    keys: &[LineKeys],
    store: &str,
    report: Option<ReportExtras<'_>>,
) -> Result<SettlementImport, StoreError> {
    let report_format = SourceFormat::AmazonTransactionReport.name();
    let mut outcome = SettlementImport::default();
    let mut skip: HashSet<u64> = HashSet::new();
    let mut merge: HashSet<u64> = HashSet::new();
    let header_ids: Vec<i64> = file.settlements.iter().map(|h| h.settlement_id as i64).collect();
    let mut existing: HashMap<u64, (String, String)> = HashMap::new();
    for row in transaction.query(
        "SELECT s.settlement_id, f.name, f.format FROM settlement s
         JOIN source_file f ON f.tenant_id = s.tenant_id AND f.id = s.file_id
         WHERE s.tenant_id = $1 AND s.settlement_id = ANY($2)",
        &[&tenant, &header_ids],
    )? {
        existing.insert(column::<i64>(&row, 0)? as u64, (column(&row, 1)?, column(&row, 2)?));
    }
    let mut replaced: Vec<i64> = Vec::new();
    for header in &file.settlements {
        let Some((name, format)) = existing.get(&header.settlement_id).cloned() else { continue };
        match (report.is_some(), format == report_format) {
            (true, true) => {
                merge.insert(header.settlement_id);
            }
            (false, true) => {
                // Gone once deleted: a second header of the same id finds nothing.
                existing.remove(&header.settlement_id);
                replaced.push(header.settlement_id as i64);
                outcome.settlements_replaced.push((header.settlement_id, name));
            }
            (_, false) => {
                skip.insert(header.settlement_id);
                outcome.settlements_skipped.push((header.settlement_id, name));
            }
        }
    }
    if !replaced.is_empty() {
        transaction.execute(
            "DELETE FROM settlement_line WHERE tenant_id = $1 AND settlement_id = ANY($2)",
            &[&tenant, &replaced],
        )?;
        transaction.execute(
            "DELETE FROM settlement WHERE tenant_id = $1 AND settlement_id = ANY($2)",
            &[&tenant, &replaced],
        )?;
    }
    // Rows of merged settlements already stored (from the earlier report) are not added.
    let mut stored_rows: HashMap<RowKey, u32> = HashMap::new();
    if !merge.is_empty() {
        let merged: Vec<i64> = merge.iter().map(|id| *id as i64).collect();
        let mut rows = transaction.query_raw(
            "SELECT posted_utc, order_key, order_text, transaction_type, amount_type, description, amount_minor, sku
             FROM settlement_line WHERE tenant_id = $1 AND settlement_id = ANY($2)",
            [&tenant as &(dyn ToSql + Sync), &merged],
        )?;
        while let Some(row) = rows.next()? {
            let key: RowKey = (
                column(&row, 0)?,
                column(&row, 1)?,
                column(&row, 2)?,
                column(&row, 3)?,
                column(&row, 4)?,
                column(&row, 5)?,
                column(&row, 6)?,
                column(&row, 7)?,
            );
            *stored_rows.entry(key).or_default() += 1;
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
    let file_id = insert_file(transaction, tenant, meta, lines_added + deferred.len() as u64)?;
    outcome.file_id = file_id;
    {
        let insert = transaction.prepare(
            "INSERT INTO settlement (tenant_id, settlement_id, store, file_id, line, start_utc, end_utc, deposit_utc,
                total_minor, currency, lines_sum_minor, line_count, open)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )?;
        let update = transaction.prepare(
            "UPDATE settlement SET start_utc = LEAST(start_utc, $3), end_utc = GREATEST(end_utc, $4),
                deposit_utc = COALESCE($5::BIGINT, deposit_utc), lines_sum_minor = lines_sum_minor + $6,
                line_count = line_count + $7,
                total_minor = CASE WHEN $5::BIGINT IS NOT NULL THEN $8 WHEN open THEN lines_sum_minor + $6 ELSE total_minor END,
                open = open AND $5::BIGINT IS NULL
             WHERE tenant_id = $1 AND settlement_id = $2",
        )?;
        let open: HashSet<u64> = report.map_or_else(HashSet::new, |r| r.open.iter().copied().collect());
        for header in file.settlements.iter().filter(|h| !skip.contains(&h.settlement_id)) {
            let settlement_id = header.settlement_id as i64;
            if merge.contains(&header.settlement_id) {
                let (mut sum, mut count) = (0i64, 0i64);
                for (line, _) in
                    file.lines.iter().zip(&add).filter(|(l, a)| **a && l.settlement_id == header.settlement_id)
                {
                    sum += line.amount_minor;
                    count += 1;
                }
                let deposit = header.deposit_utc_seconds.filter(|_| !open.contains(&header.settlement_id));
                transaction.execute(
                    &update,
                    &[
                        &tenant,
                        &settlement_id,
                        &header.start_utc_seconds,
                        &header.end_utc_seconds,
                        &deposit,
                        &sum,
                        &count,
                        &header.total_minor,
                    ],
                )?;
                outcome.settlements_merged.push(header.settlement_id);
                continue;
            }
            transaction.execute(
                &insert,
                &[
                    &tenant,
                    &settlement_id,
                    &store,
                    &file_id,
                    &i64::from(header.line),
                    &header.start_utc_seconds,
                    &header.end_utc_seconds,
                    &header.deposit_utc_seconds,
                    &header.total_minor,
                    &header.currency.code(),
                    &header.lines_sum_minor,
                    &i64::from(header.line_count),
                    &open.contains(&header.settlement_id),
                ],
            )?;
            outcome.settlements_added.push(header.settlement_id);
        }
    }
    if let Some(report) = report {
        transaction.execute(
            "DELETE FROM deferred_line WHERE tenant_id = $1 AND store = $2 AND posted_utc BETWEEN $3 AND $4",
            &[&tenant, &store, &report.posted_range.0, &report.posted_range.1],
        )?;
        let mut writer = BinaryCopyInWriter::new(
            transaction.copy_in(
                "COPY deferred_line (tenant_id, store, file_id, line, settlement_id, order_key, order_text,
                    transaction_type, amount_type, description, amount_minor, currency, posted_utc, release_utc)
                 FROM STDIN (FORMAT binary)",
            )?,
            &[
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
            ],
        );
        for line in report.deferred {
            let (key, text) = line.order_id.as_ref().map(order_parts).unwrap_or((None, None));
            writer.write(&[
                &tenant,
                &store,
                &file_id,
                &i64::from(line.line),
                &line.settlement_id.map(|id| id as i64),
                &key,
                &text,
                &strings.resolve(line.transaction_type),
                &strings.resolve(line.amount_type),
                &strings.resolve(line.description),
                &line.amount_minor,
                &line.currency.code(),
                &line.posted_utc_seconds,
                &line.release_utc_seconds,
            ])?;
        }
        writer.finish()?;
        outcome.deferred_added = report.deferred.len() as u64;
    }
    let mut writer = BinaryCopyInWriter::new(transaction.copy_in(SETTLEMENT_LINE_COPY)?, &SETTLEMENT_LINE_TYPES);
    for ((line, keys), _) in file.lines.iter().zip(keys).zip(&add).filter(|(_, a)| **a) {
        let (key, text) = line.order_id.as_ref().map(order_parts).unwrap_or((None, None));
        writer.write(&[
            &tenant,
            &(line.settlement_id as i64),
            &file_id,
            &i64::from(line.line),
            &key,
            &text,
            &strings.resolve(line.transaction_type),
            &strings.resolve(line.amount_type),
            &strings.resolve(line.amount_description),
            &strings.resolve(line.marketplace),
            &strings.resolve(line.fulfillment),
            &strings.resolve(line.sku),
            &non_empty(strings.resolve(line.merchant_order_id)),
            &non_empty(strings.resolve(line.adjustment_id)),
            &non_empty(strings.resolve(line.shipment_id)),
            &non_empty(strings.resolve(line.order_item_code)),
            &non_empty(strings.resolve(line.promotion_id)),
            &line.amount_minor,
            &line.posted_utc_seconds,
            &i64::from(line.quantity),
            &i16::from(line.transaction.code()),
            &i16::from(line.component.code()),
            &i16::from(line.kind as u8),
            &(keys.item_key as i64),
            &keys.fingerprint.map(|f| f as i64),
        ])?;
    }
    writer.finish()?;
    outcome.lines_added = lines_added;
    Ok(outcome)
}

fn insert_orders(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    meta: &FileMeta,
    file: &OrderFile,
) -> Result<OrderImport, StoreError> {
    let mut outcome = OrderImport::default();
    let mut new_ids: Vec<&OrderId> = file.items.iter().map(|i| &i.order_id).collect();
    new_ids.sort_unstable();
    new_ids.dedup();
    outcome.orders_added = new_ids.len() as u64;
    // An order seen in an earlier export is replaced by this one's rows: its stored rows
    // are deleted (found by the order index), and the orders they were counted.
    let keys: Vec<i64> = new_ids.iter().filter_map(|id| id.packed()).map(|p| p as i64).collect();
    let texts: Vec<&str> = new_ids.iter().filter_map(|id| id.text()).collect();
    let mut replaced: i64 = 0;
    if !keys.is_empty() {
        replaced += transaction
            .query_one(
                "WITH gone AS (DELETE FROM order_item WHERE tenant_id = $1 AND order_key = ANY($2) AND order_text IS NULL
                               RETURNING order_key)
                 SELECT COUNT(DISTINCT order_key) FROM gone",
                &[&tenant, &keys],
            )?
            .try_get::<_, i64>(0)?;
    }
    if !texts.is_empty() {
        replaced += transaction
            .query_one(
                "WITH gone AS (DELETE FROM order_item WHERE tenant_id = $1 AND order_key IS NULL AND order_text = ANY($2)
                               RETURNING order_text)
                 SELECT COUNT(DISTINCT order_text) FROM gone",
                &[&tenant, &texts],
            )?
            .try_get::<_, i64>(0)?;
    }
    outcome.orders_replaced = replaced as u64;
    outcome.orders_added -= outcome.orders_replaced;
    let file_id = insert_file(transaction, tenant, meta, file.items.len() as u64)?;
    outcome.file_id = file_id;
    let strings = &file.strings;
    let mut writer = BinaryCopyInWriter::new(
        transaction.copy_in(
            "COPY order_item (tenant_id, file_id, line, order_key, order_text, store, marketplace, status, purchase_day,
                ship_day, currency, amount_minor, refunded_minor, quantity, sku) FROM STDIN (FORMAT binary)",
        )?,
        &[
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT2,
            Type::INT4,
            Type::INT4,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
        ],
    );
    for item in &file.items {
        let (key, text) = order_parts(&item.order_id);
        writer.write(&[
            &tenant,
            &file_id,
            &i64::from(item.line),
            &key,
            &text,
            &strings.resolve(item.store),
            &strings.resolve(item.marketplace),
            &i16::from(item.status.code()),
            &day_number(item.purchase_date),
            &item.ship_date.map(day_number),
            &item.currency.code(),
            &item.amount_minor,
            &item.refunded_minor,
            &i64::from(item.quantity),
            &strings.resolve(item.sku),
        ])?;
        outcome.items_added += 1;
    }
    writer.finish()?;
    Ok(outcome)
}

fn insert_statements(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    meta: &FileMeta,
    file: &StatementFile,
) -> Result<StatementImport, StoreError> {
    let mut outcome = StatementImport::default();
    let mut skip = vec![false; file.statements.len()];
    {
        let existing = transaction.prepare(
            "SELECT f.name FROM statement s JOIN source_file f ON f.tenant_id = s.tenant_id AND f.id = s.file_id
             WHERE s.tenant_id = $1 AND s.account = $2 AND s.statement_ref = $3 ORDER BY s.id LIMIT 1",
        )?;
        for (index, statement) in file.statements.iter().enumerate() {
            if statement.statement_ref.is_empty() {
                continue;
            }
            let found = transaction.query_opt(&existing, &[&tenant, &statement.account, &statement.statement_ref])?;
            if let Some(row) = found {
                skip[index] = true;
                outcome.statements_skipped.push((
                    statement.account.clone(),
                    statement.statement_ref.clone(),
                    column(&row, 0)?,
                ));
            }
        }
    }
    // Entries seen before: in a statement with no reference of its own, an entry whose
    // reference the account already has (in the entry's currency).
    let candidate = |entry: &tieout_core::statement::StatementEntry| {
        let statement = &file.statements[entry.statement as usize];
        !(skip[entry.statement as usize] || !statement.statement_ref.is_empty() || entry.entry_ref.is_empty())
    };
    let mut references: Vec<&str> =
        file.entries.iter().filter(|e| candidate(e)).map(|e| e.entry_ref.as_str()).collect();
    references.sort_unstable();
    references.dedup();
    // (account, currency, entry reference) -> the file it was first stored from.
    let mut stored: HashMap<(String, String, String), String> = HashMap::new();
    if !references.is_empty() {
        for row in transaction.query(
            "SELECT DISTINCT ON (s.account, e.currency, e.entry_ref) s.account, e.currency, e.entry_ref, f.name
             FROM statement_entry e JOIN statement s ON s.tenant_id = e.tenant_id AND s.id = e.statement_id
             JOIN source_file f ON f.tenant_id = e.tenant_id AND f.id = e.file_id
             WHERE e.tenant_id = $1 AND e.entry_ref = ANY($2)
             ORDER BY s.account, e.currency, e.entry_ref, e.id",
            &[&tenant, &references],
        )? {
            stored.insert((column(&row, 0)?, column(&row, 1)?, column(&row, 2)?), column(&row, 3)?);
        }
    }
    let mut seen = vec![false; file.entries.len()];
    let mut per_account: Vec<(String, u64, String, String)> = Vec::new();
    for (index, entry) in file.entries.iter().enumerate() {
        if !candidate(entry) {
            continue;
        }
        let statement = &file.statements[entry.statement as usize];
        let key = (statement.account.clone(), entry.currency.code().to_owned(), entry.entry_ref.clone());
        if let Some(name) = stored.get(&key) {
            seen[index] = true;
            match per_account.iter_mut().find(|(account, ..)| *account == statement.account) {
                Some(row) => row.1 += 1,
                None => per_account.push((statement.account.clone(), 1, entry.entry_ref.clone(), name.clone())),
            }
        }
    }
    outcome.entries_skipped = per_account;
    let keep = |index: usize, statement: u32| !skip[statement as usize] && !seen[index];
    let entries_added = file.entries.iter().enumerate().filter(|(i, e)| keep(*i, e.statement)).count() as u64;
    let file_id = insert_file(transaction, tenant, meta, entries_added)?;
    outcome.file_id = file_id;
    let mut ids = vec![0i64; file.statements.len()];
    {
        let insert = transaction.prepare(
            "INSERT INTO statement (tenant_id, file_id, line, statement_ref, account, currency, opening_minor,
                opening_day, closing_minor, closing_day, entries_sum_minor, entry_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )?;
        for (index, statement) in file.statements.iter().enumerate().filter(|(i, _)| !skip[*i]) {
            let row = transaction.query_one(
                &insert,
                &[
                    &tenant,
                    &file_id,
                    &i64::from(statement.line),
                    &statement.statement_ref,
                    &statement.account,
                    &statement.currency.code(),
                    &statement.opening_minor,
                    &statement.opening_date.map(day_number),
                    &statement.closing_minor,
                    &statement.closing_date.map(day_number),
                    &statement.entries_sum_minor,
                    &i64::from(statement.entry_count),
                ],
            )?;
            ids[index] = column(&row, 0)?;
            outcome.statements_added += 1;
        }
    }
    let mut writer = BinaryCopyInWriter::new(
        transaction.copy_in(
            "COPY statement_entry (tenant_id, statement_id, file_id, line, booking_day, value_day, amount_minor, currency,
                entry_ref, reference, counterparty, description, original_amount_minor, original_currency, fee_minor,
                reversal) FROM STDIN (FORMAT binary)",
        )?,
        &[
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT4,
            Type::INT4,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::BOOL,
        ],
    );
    for (_, entry) in file.entries.iter().enumerate().filter(|(i, e)| keep(*i, e.statement)) {
        writer.write(&[
            &tenant,
            &ids[entry.statement as usize],
            &file_id,
            &i64::from(entry.line),
            &day_number(entry.booking_date),
            &entry.value_date.map(day_number),
            &entry.amount_minor,
            &entry.currency.code(),
            &entry.entry_ref,
            &entry.reference,
            &entry.counterparty,
            &entry.description,
            &entry.original_amount.map(|m| m.amount_minor),
            &entry.original_amount.as_ref().map(|m| m.currency.code()),
            &entry.fee_minor,
            &entry.reversal,
        ])?;
    }
    writer.finish()?;
    outcome.entries_added = entries_added;
    Ok(outcome)
}

/// Clears the previous run's results and records a new run (part of a run's
/// transaction); returns its id.
fn insert_run(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    created_at: &str,
    config_text: &str,
    as_of: NaiveDate,
    result: &Reconciliation,
) -> Result<i64, StoreError> {
    transaction.execute("DELETE FROM order_result WHERE tenant_id = $1", &[&tenant])?;
    transaction.execute("DELETE FROM duplicate_line WHERE tenant_id = $1", &[&tenant])?;
    transaction.execute("DELETE FROM receipt_result_link WHERE tenant_id = $1", &[&tenant])?;
    transaction.execute("DELETE FROM receipt_result WHERE tenant_id = $1", &[&tenant])?;
    let differences = result.orders.iter().filter(|o| o.category.is_difference()).count() as i64;
    let row = transaction.query_one(
        "INSERT INTO reconcile_run (tenant_id, created_at, as_of_day, order_count, difference_count, config, last_file_id)
         VALUES ($1, $2, $3, $4, $5, $6, (SELECT MAX(id) FROM source_file WHERE tenant_id = $1)) RETURNING id",
        &[&tenant, &created_at, &day_number(as_of), &(result.orders.len() as i64), &differences, &config_text],
    )?;
    column(&row, 0)
}

/// The run's order results, numbered by position, and its duplicate lines.
fn insert_order_results(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    run_id: i64,
    result: &Reconciliation,
    strings: &Interner,
) -> Result<(), StoreError> {
    let mut writer = BinaryCopyInWriter::new(
        transaction.copy_in(
            "COPY order_result (tenant_id, id, run_id, order_key, order_text, store, marketplace, currency, category,
                flags, status, ship_day, order_amount_minor, settled_amount_minor, refunds_settled_minor,
                written_off_minor, fees_charged_minor, fees_expected_minor, net_settled_minor, days_since_ship,
                line_count, duplicate_line_count, period_day) FROM STDIN (FORMAT binary)",
        )?,
        &[
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT2,
            Type::INT4,
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT4,
        ],
    );
    for (position, order) in (1i64..).zip(&result.orders) {
        let (key, text) = order_parts(&order.order_id);
        writer.write(&[
            &tenant,
            &position,
            &run_id,
            &key,
            &text,
            &strings.resolve(order.store),
            &strings.resolve(order.marketplace),
            &order.currency.code(),
            &i16::from(order.category.code()),
            &i32::from(order.flags.0),
            &order.status.map(|s| i16::from(s.code())),
            &order.ship_date.map(day_number),
            &order.order_amount_minor,
            &order.settled_amount_minor,
            &order.refunds_settled_minor,
            &order.written_off_minor,
            &order.fees_charged_minor,
            &order.fees_expected_minor,
            &order.net_settled_minor,
            &order.days_since_ship,
            &i64::from(order.line_count),
            &i64::from(order.duplicate_line_count),
            &day_number(order.period_date),
        ])?;
    }
    writer.finish()?;
    let mut writer = BinaryCopyInWriter::new(
        transaction.copy_in("COPY duplicate_line (tenant_id, line_id, first_line_id) FROM STDIN (FORMAT binary)")?,
        &[Type::INT8, Type::INT8, Type::INT8],
    );
    for duplicate in &result.duplicates {
        writer.write(&[&tenant, &duplicate.line_id, &duplicate.first_line_id])?;
    }
    writer.finish()?;
    Ok(())
}

fn insert_receipt_results(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    run_id: i64,
    results: &[ReceiptResult],
) -> Result<(), StoreError> {
    let mut writer = BinaryCopyInWriter::new(
        transaction.copy_in(
            "COPY receipt_result (tenant_id, id, run_id, status, expected_minor, expected_currency, received_minor,
                received_currency, rule_id, score, difference_minor, date_difference_days, implied_rate, reference_rate,
                rate_within_band, fx_difference_minor) FROM STDIN (FORMAT binary)",
        )?,
        &[
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT2,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::BOOL,
            Type::INT8,
        ],
    );
    for (position, result) in (1i64..).zip(results) {
        writer.write(&[
            &tenant,
            &position,
            &run_id,
            &i16::from(result.status.code()),
            &result.expected.map(|m| m.amount_minor),
            &result.expected.as_ref().map(|m| m.currency.code()),
            &result.received.map(|m| m.amount_minor),
            &result.received.as_ref().map(|m| m.currency.code()),
            &result.rule_id,
            &result.score.map(i64::from),
            &result.difference_minor,
            &result.date_difference_days,
            &result.implied_rate,
            &result.reference_rate,
            &result.rate_within_band,
            &result.fx_difference_minor,
        ])?;
    }
    writer.finish()?;
    let mut writer = BinaryCopyInWriter::new(
        transaction.copy_in(
            "COPY receipt_result_link (tenant_id, id, result_id, settlement_id, statement_entry_id, withdrawal_entry_id)
             FROM STDIN (FORMAT binary)",
        )?,
        &[Type::INT8, Type::INT8, Type::INT8, Type::INT8, Type::INT8, Type::INT8],
    );
    let mut link = 0i64;
    let none: Option<i64> = None;
    for (position, result) in (1i64..).zip(results) {
        for settlement in &result.settlement_ids {
            link += 1;
            writer.write(&[&tenant, &link, &position, &Some(*settlement as i64), &none, &none])?;
        }
        for entry in &result.withdrawal_ids {
            link += 1;
            writer.write(&[&tenant, &link, &position, &none, &none, &Some(*entry)])?;
        }
        for entry in &result.receipt_ids {
            link += 1;
            writer.write(&[&tenant, &link, &position, &none, &Some(*entry), &none])?;
        }
    }
    writer.finish()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading.

/// The columns [`order_result_row`] reads, in its order.
const ORDER_RESULT_COLUMNS: &str = "order_key, order_text, store, marketplace, currency, category, flags, status,
    ship_day, order_amount_minor, settled_amount_minor, refunds_settled_minor, written_off_minor, fees_charged_minor,
    fees_expected_minor, net_settled_minor, days_since_ship, line_count, duplicate_line_count, period_day, id";

fn order_result_row(row: &Row) -> Result<(i64, OrderResultRow), StoreError> {
    let category_code = code_at(row, 5)?;
    let flags: i32 = column(row, 6)?;
    let status: Option<i16> = column(row, 7)?;
    let result = OrderResultRow {
        order_id: order_from_parts(column(row, 0)?, column(row, 1)?)?,
        store: column(row, 2)?,
        marketplace: column(row, 3)?,
        currency: currency_of(column(row, 4)?)?,
        category: Category::from_code(category_code)
            .ok_or_else(|| StoreError::Corrupt(format!("category {category_code}")))?,
        flags: Flags(u16::try_from(flags).map_err(|_| StoreError::Corrupt(format!("flags {flags}")))?),
        status: status.and_then(|s| u8::try_from(s).ok()).and_then(OrderStatus::from_code),
        ship_date: optional_date_at(row, 8)?,
        order_amount_minor: column(row, 9)?,
        settled_amount_minor: column(row, 10)?,
        refunds_settled_minor: column(row, 11)?,
        written_off_minor: column(row, 12)?,
        fees_charged_minor: column(row, 13)?,
        fees_expected_minor: column(row, 14)?,
        net_settled_minor: column(row, 15)?,
        days_since_ship: column(row, 16)?,
        line_count: count_at(row, 17)?,
        duplicate_line_count: count_at(row, 18)?,
        period_date: date_at(row, 19)?,
    };
    Ok((column(row, 20)?, result))
}

fn imported_file(row: &Row) -> Result<ImportedFile, StoreError> {
    Ok(ImportedFile {
        id: column(row, 0)?,
        sha256: column(row, 1)?,
        name: column(row, 2)?,
        format: column(row, 3)?,
        store: column(row, 4)?,
        size_bytes: column(row, 5)?,
        imported_at: column(row, 6)?,
        record_count: column(row, 7)?,
    })
}

fn latest_run(client: &mut impl GenericClient, tenant: i64) -> Result<Option<RunRow>, StoreError> {
    let row = client.query_opt(
        "SELECT id, created_at, as_of_day, order_count, difference_count FROM reconcile_run
         WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1",
        &[&tenant],
    )?;
    row.map(|row| {
        Ok(RunRow {
            id: column(&row, 0)?,
            created_at: column(&row, 1)?,
            as_of: date_at(&row, 2)?,
            order_count: column(&row, 3)?,
            difference_count: column(&row, 4)?,
        })
    })
    .transpose()
}

fn run_last_file_id(client: &mut impl GenericClient, tenant: i64, run_id: i64) -> Result<i64, StoreError> {
    let row = client
        .query_one("SELECT last_file_id FROM reconcile_run WHERE tenant_id = $1 AND id = $2", &[&tenant, &run_id])?;
    Ok(column::<Option<i64>>(&row, 0)?.unwrap_or(0))
}

fn load_orders(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    names: &mut Names,
) -> Result<Vec<OrderFacts>, StoreError> {
    let mut items: Vec<OrderFacts> = Vec::new();
    let mut currencies = Currencies::default();
    // In the order the rows were stored: an order's first row gives its status and names.
    for_each_row(
        transaction,
        "SELECT order_key, order_text, store, marketplace, status, purchase_day, ship_day, currency, amount_minor,
                refunded_minor
         FROM order_item WHERE tenant_id = $1 ORDER BY id",
        tenant,
        |row| {
            let status_code = code_at(row, 4)?;
            items.push(OrderFacts {
                order_id: order_from_parts(column(row, 0)?, column(row, 1)?)?,
                store: names.store(column(row, 2)?),
                marketplace: names.marketplace(column(row, 3)?),
                status: OrderStatus::from_code(status_code)
                    .ok_or_else(|| StoreError::Corrupt(format!("order status {status_code}")))?,
                purchase_date: date_at(row, 5)?,
                ship_date: optional_date_at(row, 6)?,
                currency: currencies.get(column(row, 7)?)?,
                amount_minor: column(row, 8)?,
                refunded_minor: column(row, 9)?,
            });
            Ok(())
        },
    )?;
    Ok(sum_items(items))
}

fn load_lines(
    transaction: &mut Transaction<'_>,
    tenant: i64,
    names: &mut Names,
    settlements: &HashMap<i64, (Sym, Currency)>,
) -> Result<Vec<LineFacts>, StoreError> {
    let mut lines = Vec::new();
    // Lines of one settlement are stored together: remember the last one looked up.
    let mut last_settlement: Option<(i64, Sym, Currency)> = None;
    for_each_row(
        transaction,
        "SELECT id, settlement_id, line, order_key, order_text, marketplace, transaction_class, component, amount_minor,
                quantity, item_key, fingerprint, posted_utc
         FROM settlement_line WHERE tenant_id = $1 AND (order_key IS NOT NULL OR order_text IS NOT NULL)",
        tenant,
        |row| {
            let settlement_id: i64 = column(row, 1)?;
            let (store, currency) = match last_settlement {
                Some((id, store, currency)) if id == settlement_id => (store, currency),
                _ => {
                    let (store, currency) = *settlements
                        .get(&settlement_id)
                        .ok_or_else(|| StoreError::Corrupt(format!("line of unknown settlement {settlement_id}")))?;
                    last_settlement = Some((settlement_id, store, currency));
                    (store, currency)
                }
            };
            let transaction_code = code_at(row, 6)?;
            let component_code = code_at(row, 7)?;
            let order_id = match column::<Option<i64>>(row, 3)? {
                Some(key) => OrderId::Amazon(key as u64),
                None => order_from_parts(None, column(row, 4)?)?,
            };
            lines.push(LineFacts {
                line_id: column(row, 0)?,
                settlement_id: settlement_id as u64,
                line: count_at(row, 2)?,
                order_id,
                store,
                marketplace: names.marketplace(column(row, 5)?),
                currency,
                transaction: TransactionClass::from_code(transaction_code)
                    .ok_or_else(|| StoreError::Corrupt(format!("transaction class {transaction_code}")))?,
                component: Component::from_code(component_code)
                    .ok_or_else(|| StoreError::Corrupt(format!("component {component_code}")))?,
                amount_minor: column(row, 8)?,
                quantity: count_at(row, 9)?,
                item: column::<i64>(row, 10)? as u64,
                fingerprint: column::<Option<i64>>(row, 11)?.unwrap_or(0) as u64,
                posted_date: utc_day(column(row, 12)?)?,
            });
            Ok(())
        },
    )?;
    Ok(lines)
}

fn integrity_findings(transaction: &mut Transaction<'_>, tenant: i64) -> Result<Vec<String>, StoreError> {
    let mut findings = Vec::new();
    let mut stored: HashMap<i64, i64> = HashMap::new();
    for table in ["settlement_line", "order_item", "statement_entry", "ledger_document", "counterparty_line"] {
        for row in transaction.query(
            &format!("SELECT file_id, COUNT(*) FROM {table} WHERE tenant_id = $1 GROUP BY file_id"),
            &[&tenant],
        )? {
            *stored.entry(column(&row, 0)?).or_default() += column::<i64>(&row, 1)?;
        }
    }
    for row in transaction
        .query("SELECT id, name, format, record_count FROM source_file WHERE tenant_id = $1 ORDER BY id", &[&tenant])?
    {
        let (id, name, format, recorded): (i64, String, String, i64) =
            (column(&row, 0)?, column(&row, 1)?, column(&row, 2)?, column(&row, 3)?);
        let count = stored.remove(&id).unwrap_or(0);
        // Later files may take records over: a later order export replaces orders, a
        // settlement file replaces a report's settlement, a later report the deferred
        // lines.
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
            findings.push(format!("file {name} (#{id}): {count} records stored, its import recorded {recorded}"));
        }
    }
    for (file_id, count) in stored {
        findings.push(format!("{count} records belong to file #{file_id}, which is not stored"));
    }
    for (table, key) in [
        ("settlement_line", "file_id, line, transaction_type, amount_type, description"),
        ("order_item", "file_id, line"),
        ("statement_entry", "file_id, line"),
    ] {
        let sql = format!(
            "SELECT f.name, t.line, COUNT(*) FROM {table} t
             JOIN source_file f ON f.tenant_id = t.tenant_id AND f.id = t.file_id
             WHERE t.tenant_id = $1
             GROUP BY {}, f.name HAVING COUNT(*) > 1 LIMIT 20",
            key.split(", ").map(|k| format!("t.{k}")).collect::<Vec<_>>().join(", ")
        );
        for row in transaction.query(&sql, &[&tenant])? {
            let (name, line, count): (String, i64, i64) = (column(&row, 0)?, column(&row, 1)?, column(&row, 2)?);
            findings.push(format!("{name}:{line} is stored {count} times ({table})"));
        }
    }
    for row in transaction.query(
        "SELECT s.settlement_id, s.lines_sum_minor, s.line_count, COALESCE(SUM(l.amount_minor), 0)::BIGINT, COUNT(l.id)
         FROM settlement s LEFT JOIN settlement_line l ON l.tenant_id = s.tenant_id AND l.settlement_id = s.settlement_id
         WHERE s.tenant_id = $1
         GROUP BY s.tenant_id, s.settlement_id
         HAVING s.lines_sum_minor != COALESCE(SUM(l.amount_minor), 0) OR s.line_count != COUNT(l.id)
         ORDER BY s.settlement_id",
        &[&tenant],
    )? {
        let (id, sum, count, stored_sum, stored_count): (i64, i64, i64, i64, i64) =
            (column(&row, 0)?, column(&row, 1)?, column(&row, 2)?, column(&row, 3)?, column(&row, 4)?);
        findings.push(format!(
            "settlement {id}: {stored_count} lines summing to {stored_sum} minor units are stored; its import recorded {count} lines summing to {sum}"
        ));
    }
    if let Some(run) = latest_run(transaction, tenant)? {
        let results: i64 =
            transaction.query_one("SELECT COUNT(*) FROM order_result WHERE tenant_id = $1", &[&tenant])?.try_get(0)?;
        let wrong_run: i64 = transaction
            .query_one("SELECT COUNT(*) FROM order_result WHERE tenant_id = $1 AND run_id != $2", &[&tenant, &run.id])?
            .try_get(0)?;
        if results != run.order_count || wrong_run > 0 {
            findings.push(format!(
                "run {}: {results} order results stored ({wrong_run} of another run), the run recorded {}",
                run.id, run.order_count
            ));
        }
        let duplicated: i64 = transaction
            .query_one(
                "SELECT COUNT(*) FROM (SELECT 1 FROM order_result WHERE tenant_id = $1
                                       GROUP BY order_key, order_text HAVING COUNT(*) > 1) repeated",
                &[&tenant],
            )?
            .try_get(0)?;
        if duplicated > 0 {
            findings.push(format!("run {}: {duplicated} orders have more than one result", run.id));
        }
        let receipt_runs: Vec<i64> = transaction
            .query("SELECT DISTINCT run_id FROM receipt_result WHERE tenant_id = $1 ORDER BY run_id", &[&tenant])?
            .iter()
            .map(|row| column(row, 0))
            .collect::<Result<_, _>>()?;
        if receipt_runs.iter().any(|r| *r != run.id) {
            findings.push(format!("payout ↔ receipt results of run(s) {receipt_runs:?} stored beside run {}", run.id));
        }
        if !receipt_runs.is_empty() {
            let last_file_id = run_last_file_id(transaction, tenant, run.id)?;
            for row in transaction.query(
                "SELECT s.settlement_id, COUNT(k.result_id) FROM settlement s
                 LEFT JOIN receipt_result_link k ON k.tenant_id = s.tenant_id AND k.settlement_id = s.settlement_id
                 WHERE s.tenant_id = $1 AND s.total_minor > 0 AND s.deposit_utc IS NOT NULL AND s.file_id <= $2
                 GROUP BY s.settlement_id HAVING COUNT(k.result_id) != 1 ORDER BY s.settlement_id LIMIT 20",
                &[&tenant, &last_file_id],
            )? {
                let (id, count): (i64, i64) = (column(&row, 0)?, column(&row, 1)?);
                findings.push(format!("settlement {id}: its payout has {count} receipt results, not one"));
            }
        }
    }
    Ok(findings)
}

impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn file_by_sha256(&self, sha256: &str) -> Result<Option<ImportedFile>, StoreError> {
        let row = self.client.borrow_mut().query_opt(
            "SELECT id, sha256, name, format, store, size_bytes, imported_at, record_count FROM source_file
             WHERE tenant_id = $1 AND sha256 = $2",
            &[&self.tenant_id, &sha256],
        )?;
        row.as_ref().map(imported_file).transpose()
    }

    fn files(&self) -> Result<Vec<ImportedFile>, StoreError> {
        self.client
            .borrow_mut()
            .query(
                "SELECT id, sha256, name, format, store, size_bytes, imported_at, record_count FROM source_file
                 WHERE tenant_id = $1 ORDER BY id",
                &[&self.tenant_id],
            )?
            .iter()
            .map(imported_file)
            .collect()
    }

    fn import_settlements(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        store: &str,
    ) -> Result<SettlementImport, StoreError> {
        let keys = line_keys(file);
        self.import_settlements_with_keys(meta, file, &keys, store)
    }

    fn import_settlements_with_keys(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
    ) -> Result<SettlementImport, StoreError> {
        assert_eq!(keys.len(), file.lines.len(), "one key per line");
        self.write(|transaction, tenant| insert_settlements_from(transaction, tenant, meta, file, keys, store, None))
    }

    fn import_transaction_report(
        &mut self,
        meta: &FileMeta,
        file: &SettlementFile,
        keys: &[LineKeys],
        store: &str,
        extras: ReportExtras<'_>,
    ) -> Result<SettlementImport, StoreError> {
        assert_eq!(keys.len(), file.lines.len(), "one key per line");
        self.write(|transaction, tenant| {
            insert_settlements_from(transaction, tenant, meta, file, keys, store, Some(extras))
        })
    }

    fn deferred_summary(&self) -> Result<Vec<DeferredSummary>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT store, currency, COUNT(*), SUM(amount_minor)::BIGINT, MIN(posted_utc), MAX(release_utc)
             FROM deferred_line WHERE tenant_id = $1
             GROUP BY store, currency ORDER BY store COLLATE \"C\", currency COLLATE \"C\"",
            &[&self.tenant_id],
        )?;
        rows.iter()
            .map(|row| {
                Ok(DeferredSummary {
                    store: column(row, 0)?,
                    currency: currency_of(column(row, 1)?)?,
                    lines: column(row, 2)?,
                    amount_minor: column(row, 3)?,
                    first_posted_utc: column(row, 4)?,
                    last_release_utc: column(row, 5)?,
                })
            })
            .collect()
    }

    fn import_orders(&mut self, meta: &FileMeta, file: &OrderFile) -> Result<OrderImport, StoreError> {
        self.write(|transaction, tenant| insert_orders(transaction, tenant, meta, file))
    }

    fn import_statements(&mut self, meta: &FileMeta, file: &StatementFile) -> Result<StatementImport, StoreError> {
        self.write(|transaction, tenant| insert_statements(transaction, tenant, meta, file))
    }

    fn load_payouts_and_receipts(&self) -> Result<(Vec<Payout>, Vec<Receipt>), StoreError> {
        self.read(|transaction, tenant| {
            let mut payouts = Vec::new();
            for_each_row(
                transaction,
                "SELECT settlement_id, store, currency, total_minor, deposit_utc FROM settlement
                 WHERE tenant_id = $1 AND total_minor > 0 AND deposit_utc IS NOT NULL ORDER BY settlement_id",
                tenant,
                |row| {
                    payouts.push(Payout {
                        settlement_id: column::<i64>(row, 0)? as u64,
                        store: column(row, 1)?,
                        currency: currency_of(column(row, 2)?)?,
                        amount_minor: column(row, 3)?,
                        deposit_date: utc_day(column(row, 4)?)?,
                    });
                    Ok(())
                },
            )?;
            let mut receipts = Vec::new();
            let mut currencies = Currencies::default();
            for_each_row(
                transaction,
                "SELECT e.id, s.account, e.currency, e.amount_minor, e.booking_day, e.reference, e.counterparty,
                        e.description, e.original_amount_minor, e.original_currency
                 FROM statement_entry e JOIN statement s ON s.tenant_id = e.tenant_id AND s.id = e.statement_id
                 WHERE e.tenant_id = $1 AND e.amount_minor <> 0 ORDER BY e.id",
                tenant,
                |row| {
                    let text = [column::<&str>(row, 5)?, column(row, 6)?, column(row, 7)?].join(" ");
                    receipts.push(Receipt {
                        id: column(row, 0)?,
                        account: column(row, 1)?,
                        currency: currencies.get(column(row, 2)?)?,
                        amount_minor: column(row, 3)?,
                        booking_date: date_at(row, 4)?,
                        text,
                        original: money(column(row, 8)?, column(row, 9)?)?,
                    });
                    Ok(())
                },
            )?;
            Ok((payouts, receipts))
        })
    }

    fn account_entries_of(&self, entry_id: i64) -> Result<Option<AccountEntries>, StoreError> {
        self.read(|transaction, tenant| {
            let found = transaction.query_opt(
                "SELECT s.account, e.currency FROM statement_entry e
                 JOIN statement s ON s.tenant_id = e.tenant_id AND s.id = e.statement_id
                 WHERE e.tenant_id = $1 AND e.id = $2",
                &[&tenant, &entry_id],
            )?;
            let Some(found) = found else { return Ok(None) };
            let (account, currency): (String, String) = (column(&found, 0)?, column(&found, 1)?);
            let opening_minor: Option<i64> = transaction
                .query_opt(
                    "SELECT opening_minor FROM statement WHERE tenant_id = $1 AND account = $2 AND currency = $3
                     ORDER BY COALESCE(opening_day, closing_day) NULLS FIRST, id LIMIT 1",
                    &[&tenant, &account, &currency],
                )?
                .map(|row| column::<Option<i64>>(&row, 0))
                .transpose()?
                .flatten();
            let mut entries = Vec::new();
            for row in transaction.query(
                "SELECT e.id, e.entry_ref, f.name, e.line, e.booking_day, e.amount_minor
                 FROM statement_entry e JOIN statement s ON s.tenant_id = e.tenant_id AND s.id = e.statement_id
                 JOIN source_file f ON f.tenant_id = e.tenant_id AND f.id = e.file_id
                 WHERE e.tenant_id = $1 AND s.account = $2 AND e.currency = $3 ORDER BY e.booking_day, e.id",
                &[&tenant, &account, &currency],
            )? {
                entries.push((
                    ReceiptRef {
                        entry_id: column(&row, 0)?,
                        entry_ref: column(&row, 1)?,
                        file_name: column(&row, 2)?,
                        line: count_at(&row, 3)?,
                        booking_date: Some(date_at(&row, 4)?),
                    },
                    column(&row, 5)?,
                ));
            }
            Ok(Some(AccountEntries { currency: currency_of(&currency)?, account, opening_minor, entries }))
        })
    }

    fn receipt_results(&self) -> Result<Vec<ReceiptRow>, StoreError> {
        self.read(|transaction, tenant| {
            let mut out: Vec<ReceiptRow> = Vec::new();
            for row in transaction.query(
                "SELECT id, status, expected_minor, expected_currency, received_minor, received_currency, rule_id, score,
                        difference_minor, date_difference_days, implied_rate, reference_rate, rate_within_band,
                        fx_difference_minor
                 FROM receipt_result WHERE tenant_id = $1 ORDER BY id",
                &[&tenant],
            )? {
                let status = code_at(&row, 1)?;
                out.push(ReceiptRow {
                    id: column(&row, 0)?,
                    status: ReceiptStatus::from_code(status)
                        .ok_or_else(|| StoreError::Corrupt(format!("receipt status {status}")))?,
                    expected: money(column(&row, 2)?, column(&row, 3)?)?,
                    received: money(column(&row, 4)?, column(&row, 5)?)?,
                    rule_id: column(&row, 6)?,
                    score: optional_count_at(&row, 7)?,
                    difference_minor: column(&row, 8)?,
                    date_difference_days: column(&row, 9)?,
                    implied_rate: column(&row, 10)?,
                    reference_rate: column(&row, 11)?,
                    rate_within_band: column(&row, 12)?,
                    fx_difference_minor: column(&row, 13)?,
                    settlements: Vec::new(),
                    withdrawals: Vec::new(),
                    receipts: Vec::new(),
                });
            }
            let index: HashMap<i64, usize> = out.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
            for row in transaction.query(
                "SELECT k.result_id, k.settlement_id, s.store, s.deposit_utc, e.id, e.entry_ref, f.name, e.line,
                        e.booking_day, k.withdrawal_entry_id IS NOT NULL
                 FROM receipt_result_link k
                 LEFT JOIN settlement s ON s.tenant_id = k.tenant_id AND s.settlement_id = k.settlement_id
                 LEFT JOIN statement_entry e
                        ON e.tenant_id = k.tenant_id AND e.id = COALESCE(k.statement_entry_id, k.withdrawal_entry_id)
                 LEFT JOIN source_file f ON f.tenant_id = e.tenant_id AND f.id = e.file_id
                 WHERE k.tenant_id = $1
                 ORDER BY k.id",
                &[&tenant],
            )? {
                let Some(&at) = index.get(&column::<i64>(&row, 0)?) else { continue };
                if let Some(settlement) = column::<Option<i64>>(&row, 1)? {
                    let deposit: Option<i64> = column(&row, 3)?;
                    out[at].settlements.push(PayoutRef {
                        settlement_id: settlement as u64,
                        store: column::<Option<String>>(&row, 2)?.unwrap_or_default(),
                        deposit_date: deposit.map(utc_day).transpose()?,
                    });
                }
                if let Some(entry) = column::<Option<i64>>(&row, 4)? {
                    let reference = ReceiptRef {
                        entry_id: entry,
                        entry_ref: column::<Option<String>>(&row, 5)?.unwrap_or_default(),
                        file_name: column::<Option<String>>(&row, 6)?.unwrap_or_default(),
                        line: optional_count_at(&row, 7)?.unwrap_or(0),
                        booking_date: optional_date_at(&row, 8)?,
                    };
                    if column::<bool>(&row, 9)? {
                        out[at].withdrawals.push(reference);
                    } else {
                        out[at].receipts.push(reference);
                    }
                }
            }
            Ok(out)
        })
    }

    fn load_reconcile_input(&self) -> Result<ReconcileInput, StoreError> {
        self.read(|transaction, tenant| {
            let mut names = Names::new();
            let mut settlements: HashMap<i64, (Sym, Currency)> = HashMap::new();
            for row in transaction
                .query("SELECT settlement_id, store, currency FROM settlement WHERE tenant_id = $1", &[&tenant])?
            {
                settlements.insert(column(&row, 0)?, (names.store(column(&row, 1)?), currency_of(column(&row, 2)?)?));
            }
            let orders = load_orders(transaction, tenant, &mut names)?;
            let lines = load_lines(transaction, tenant, &mut names, &settlements)?;
            Ok(ReconcileInput { strings: names.strings, orders, lines, more_lines: Vec::new() })
        })
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
        self.write(|transaction, tenant| {
            let run_id = insert_run(transaction, tenant, created_at, config_text, as_of, result)?;
            insert_order_results(transaction, tenant, run_id, result, strings)?;
            insert_receipt_results(transaction, tenant, run_id, receipts)?;
            Ok(run_id)
        })
    }

    fn settlement_marketplaces(&self) -> Result<HashMap<u64, String>, StoreError> {
        // Byte order (COLLATE "C"), as SQLite compares text: "the greatest name" is the
        // same in both engines whatever the database's locale.
        let rows = self.client.borrow_mut().query(
            "SELECT settlement_id, MAX(marketplace COLLATE \"C\") FROM settlement_line
             WHERE tenant_id = $1 AND marketplace != '' GROUP BY settlement_id",
            &[&self.tenant_id],
        )?;
        rows.iter().map(|row| Ok((column::<i64>(row, 0)? as u64, normalize_marketplace(column(row, 1)?)))).collect()
    }

    fn load_roll_forward_input(&self) -> Result<(Vec<SettlementClose>, Vec<Posting>), StoreError> {
        self.read(|transaction, tenant| {
            let mut settlements = Vec::new();
            for row in transaction.query(
                "SELECT settlement_id, store, currency, total_minor,
                        CASE WHEN open THEN NULL ELSE COALESCE(deposit_utc, end_utc) END
                 FROM settlement WHERE tenant_id = $1 ORDER BY settlement_id",
                &[&tenant],
            )? {
                settlements.push(SettlementClose {
                    settlement_id: column::<i64>(&row, 0)? as u64,
                    store: column(&row, 1)?,
                    currency: currency_of(column(&row, 2)?)?,
                    total_minor: column(&row, 3)?,
                    transfer_date: column::<Option<i64>>(&row, 4)?.map(utc_day).transpose()?,
                });
            }
            let mut postings = Vec::new();
            // The posted day is floor(posted_utc / 86400): integer division truncates
            // toward zero, so negative times are first moved down to their day's start.
            for row in transaction.query(
                "SELECT settlement_id, (posted_utc - ((posted_utc % 86400) + 86400) % 86400) / 86400, transaction_class,
                        component, kind, SUM(amount_minor)::BIGINT
                 FROM settlement_line WHERE tenant_id = $1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
                &[&tenant],
            )? {
                let (class, component, kind) = (code_at(&row, 2)?, code_at(&row, 3)?, code_at(&row, 4)?);
                let corrupt = || StoreError::Corrupt(format!("line classification {class}/{component}/{kind}"));
                let bucket = Bucket::of_line(
                    TransactionClass::from_code(class).ok_or_else(corrupt)?,
                    Component::from_code(component).ok_or_else(corrupt)?,
                    LineKind::from_code(kind).ok_or_else(corrupt)?,
                );
                postings.push(Posting {
                    settlement_id: column::<i64>(&row, 0)? as u64,
                    date: days_from_epoch(column(&row, 1)?)?,
                    bucket,
                    amount_minor: column(&row, 5)?,
                });
            }
            Ok((settlements, postings))
        })
    }

    fn run_last_file_id(&self, run_id: i64) -> Result<i64, StoreError> {
        run_last_file_id(&mut *self.client.borrow_mut(), self.tenant_id, run_id)
    }

    fn run_config(&self, run_id: i64) -> Result<String, StoreError> {
        let row = self.client.borrow_mut().query_one(
            "SELECT config FROM reconcile_run WHERE tenant_id = $1 AND id = $2",
            &[&self.tenant_id, &run_id],
        )?;
        column(&row, 0)
    }

    fn latest_run(&self) -> Result<Option<RunRow>, StoreError> {
        latest_run(&mut *self.client.borrow_mut(), self.tenant_id)
    }

    fn order_results(&self, order: Option<&OrderId>) -> Result<Vec<OrderResultRow>, StoreError> {
        let mut sql = format!("SELECT {ORDER_RESULT_COLUMNS} FROM order_result WHERE tenant_id = $1");
        let mut params: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(self.tenant_id)];
        if let Some(order) = order {
            let (condition, value) = order_condition("", order);
            sql.push_str(" AND ");
            sql.push_str(&condition);
            params.push(value);
        }
        sql.push_str(" ORDER BY id");
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let rows = self.client.borrow_mut().query(&sql, &params)?;
        let mut out =
            rows.iter().map(|row| order_result_row(row).map(|(_, result)| result)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        Ok(out)
    }

    fn order_results_page(
        &self,
        filter: &ResultFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, OrderResultRow)>, StoreError> {
        let mut sql = format!("SELECT {ORDER_RESULT_COLUMNS} FROM order_result WHERE tenant_id = $1 AND id > $2");
        let mut params: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(self.tenant_id), Box::new(after.unwrap_or(0))];
        if let Some(stores) = &filter.stores {
            params.push(Box::new(stores.clone()));
            sql.push_str(&format!(" AND store = ANY(${})", params.len()));
        }
        if let Some(marketplace) = &filter.marketplace {
            params.push(Box::new(marketplace.clone()));
            sql.push_str(&format!(" AND marketplace = ${}", params.len()));
        }
        if let Some(category) = filter.category {
            sql.push_str(&format!(" AND category = {}", category.code()));
        } else if filter.differences_only {
            let codes: Vec<String> =
                Category::ALL.iter().filter(|c| c.is_difference()).map(|c| c.code().to_string()).collect();
            sql.push_str(&format!(" AND category IN ({})", codes.join(",")));
        }
        if let Some(from) = filter.period_from {
            sql.push_str(&format!(" AND period_day >= {}", day_number(from)));
        }
        if let Some(to) = filter.period_to {
            sql.push_str(&format!(" AND period_day <= {}", day_number(to)));
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", limit.min(100_000)));
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let rows = self.client.borrow_mut().query(&sql, &params)?;
        rows.iter().map(order_result_row).collect()
    }

    fn add_difference_actions(&mut self, actions: &[DifferenceAction]) -> Result<(), StoreError> {
        self.write(|transaction, tenant| {
            let insert = transaction.prepare(
                "INSERT INTO difference_action (tenant_id, order_key, order_text, action, reason, comment, assignee, by_user, at,
                                                kind, currency, ours_minor, theirs_minor, amount_minor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )?;
            for action in actions {
                let (key, text) = order_parts(&action.order_id);
                transaction.execute(
                    &insert,
                    &[
                        &tenant,
                        &key,
                        &text,
                        &action.action,
                        &action.reason,
                        &action.comment,
                        &action.assignee,
                        &action.by_user,
                        &action.at,
                        &action.kind,
                        &action.currency,
                        &action.ours_minor,
                        &action.theirs_minor,
                        &action.amount_minor,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn add_receipt_actions(&mut self, actions: &[ReceiptAction]) -> Result<(), StoreError> {
        self.write(|transaction, tenant| {
            let insert = transaction.prepare(
                "INSERT INTO receipt_action (tenant_id, result_key, action, kind, reason, comment, currency, ours_minor,
                                             theirs_minor, amount_minor, by_user, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )?;
            for action in actions {
                transaction.execute(
                    &insert,
                    &[
                        &tenant,
                        &action.key,
                        &action.action,
                        &action.kind,
                        &action.reason,
                        &action.comment,
                        &action.currency,
                        &action.ours_minor,
                        &action.theirs_minor,
                        &action.amount_minor,
                        &action.by_user,
                        &action.at,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn receipt_actions(&self, key: Option<&str>) -> Result<Vec<ReceiptAction>, StoreError> {
        let columns =
            "result_key, action, kind, reason, comment, currency, ours_minor, theirs_minor, amount_minor, by_user, at";
        let rows = match key {
            Some(key) => self.client.borrow_mut().query(
                &format!("SELECT {columns} FROM receipt_action WHERE tenant_id = $1 AND result_key = $2 ORDER BY id"),
                &[&self.tenant_id, &key],
            )?,
            None => self.client.borrow_mut().query(
                &format!("SELECT {columns} FROM receipt_action WHERE tenant_id = $1 ORDER BY id"),
                &[&self.tenant_id],
            )?,
        };
        rows.iter()
            .map(|row| {
                Ok(ReceiptAction {
                    key: column(row, 0)?,
                    action: column(row, 1)?,
                    kind: column(row, 2)?,
                    reason: column(row, 3)?,
                    comment: column(row, 4)?,
                    currency: column(row, 5)?,
                    ours_minor: column(row, 6)?,
                    theirs_minor: column(row, 7)?,
                    amount_minor: column(row, 8)?,
                    by_user: column(row, 9)?,
                    at: column(row, 10)?,
                })
            })
            .collect()
    }

    fn difference_actions(&self, order: Option<&OrderId>) -> Result<Vec<DifferenceAction>, StoreError> {
        let columns =
            "order_key, order_text, action, reason, comment, assignee, by_user, at, kind, currency, ours_minor,
                       theirs_minor, amount_minor";
        let rows = match order {
            Some(order) => {
                let (condition, value) = order_condition("", order);
                self.client.borrow_mut().query(
                    &format!(
                        "SELECT {columns} FROM difference_action WHERE tenant_id = $1 AND {condition} ORDER BY id"
                    ),
                    &[&self.tenant_id, value.as_ref()],
                )?
            }
            None => self.client.borrow_mut().query(
                &format!("SELECT {columns} FROM difference_action WHERE tenant_id = $1 ORDER BY id"),
                &[&self.tenant_id],
            )?,
        };
        rows.iter()
            .map(|row| {
                let text: Option<String> = column(row, 1)?;
                Ok(DifferenceAction {
                    order_id: order_from_parts(column(row, 0)?, text.as_deref())?,
                    action: column(row, 2)?,
                    reason: column(row, 3)?,
                    comment: column(row, 4)?,
                    assignee: column(row, 5)?,
                    by_user: column(row, 6)?,
                    at: column(row, 7)?,
                    kind: column(row, 8)?,
                    currency: column(row, 9)?,
                    ours_minor: column(row, 10)?,
                    theirs_minor: column(row, 11)?,
                    amount_minor: column(row, 12)?,
                })
            })
            .collect()
    }

    fn import_documents(&mut self, meta: &FileMeta, documents: &[Document]) -> Result<DocumentImport, StoreError> {
        self.write(|transaction, tenant| {
            let file_id = insert_file(transaction, tenant, meta, 0)?;
            let insert = transaction.prepare(
                "INSERT INTO ledger_document (tenant_id, file_id, line, counterparty, counterparty_name, side, doc_type,
                    number, day, amount_minor, currency, description)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (tenant_id, counterparty, doc_type, number) DO NOTHING",
            )?;
            let mut added = 0;
            for d in documents {
                added += transaction.execute(
                    &insert,
                    &[
                        &tenant,
                        &file_id,
                        &i64::from(d.line),
                        &d.counterparty,
                        &d.counterparty_name,
                        &d.doc_type.side().name(),
                        &d.doc_type.name(),
                        &d.number,
                        &day_number(d.date),
                        &d.amount_minor,
                        &d.currency.code(),
                        &d.description,
                    ],
                )? as usize;
            }
            transaction.execute(
                "UPDATE source_file SET record_count = $3 WHERE tenant_id = $1 AND id = $2",
                &[&tenant, &file_id, &(added as i64)],
            )?;
            Ok(DocumentImport { file_id, added, skipped: documents.len() - added })
        })
    }

    fn documents(&self, counterparty: Option<&str>) -> Result<Vec<StoredDocument>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT d.id, f.name, d.line, d.counterparty, d.counterparty_name, d.doc_type, d.number, d.day,
                    d.amount_minor, d.currency, d.description
             FROM ledger_document d JOIN source_file f ON f.tenant_id = d.tenant_id AND f.id = d.file_id
             WHERE d.tenant_id = $1 AND ($2::TEXT IS NULL OR d.counterparty = $2) ORDER BY d.day, d.id",
            &[&self.tenant_id, &counterparty],
        )?;
        rows.iter()
            .map(|row| {
                let doc_type: String = column(row, 5)?;
                let currency: String = column(row, 9)?;
                Ok(StoredDocument {
                    id: column(row, 0)?,
                    file_name: column(row, 1)?,
                    document: Document {
                        line: count_at(row, 2)?,
                        counterparty: column(row, 3)?,
                        counterparty_name: column(row, 4)?,
                        doc_type: DocType::parse(&doc_type)
                            .ok_or_else(|| StoreError::Corrupt(format!("document type {doc_type}")))?,
                        number: column(row, 6)?,
                        date: date_at(row, 7)?,
                        amount_minor: column(row, 8)?,
                        currency: currency_of(&currency)?,
                        description: column(row, 10)?,
                    },
                })
            })
            .collect()
    }

    fn create_statement(&mut self, new: &NewStatement) -> Result<i64, StoreError> {
        self.write(|transaction, tenant| {
            let id: i64 = transaction
                .query_one(
                    "INSERT INTO counterparty_statement (tenant_id, counterparty, side, currency, period_start, period_end,
                        opening_minor, due_minor, paid_minor, state, created_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'draft', $9, $10, $10) RETURNING id",
                    &[
                        &tenant,
                        &new.counterparty,
                        &new.side,
                        &new.currency,
                        &new.period_start_day,
                        &new.period_end_day,
                        &new.opening_minor,
                        &new.due_minor,
                        &new.created_by,
                        &new.at,
                    ],
                )?
                .try_get(0)?;
            let insert = transaction.prepare(
                "INSERT INTO counterparty_statement_line (tenant_id, statement_id, position, document_id) VALUES ($1, $2, $3, $4)",
            )?;
            for (position, document) in new.document_ids.iter().enumerate() {
                transaction.execute(&insert, &[&tenant, &id, &(position as i64), document])?;
            }
            Ok(id)
        })
    }

    fn counterparty_statements(&self) -> Result<Vec<StatementRecord>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT id, counterparty, side, currency, period_start, period_end, opening_minor, due_minor, paid_minor,
                    state, created_by, created_at, updated_at
             FROM counterparty_statement WHERE tenant_id = $1 ORDER BY id",
            &[&self.tenant_id],
        )?;
        rows.iter()
            .map(|row| {
                Ok(StatementRecord {
                    id: column(row, 0)?,
                    counterparty: column(row, 1)?,
                    side: column(row, 2)?,
                    currency: column(row, 3)?,
                    period_start_day: column(row, 4)?,
                    period_end_day: column(row, 5)?,
                    opening_minor: column(row, 6)?,
                    due_minor: column(row, 7)?,
                    paid_minor: column(row, 8)?,
                    state: column(row, 9)?,
                    created_by: column(row, 10)?,
                    created_at: column(row, 11)?,
                    updated_at: column(row, 12)?,
                })
            })
            .collect()
    }

    fn statement_documents(&self, statement: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT document_id FROM counterparty_statement_line WHERE tenant_id = $1 AND statement_id = $2 ORDER BY position",
            &[&self.tenant_id, &statement],
        )?;
        rows.iter().map(|row| column(row, 0)).collect()
    }

    fn set_statement_state(&mut self, statement: i64, from: &str, to: &str, at: i64) -> Result<bool, StoreError> {
        self.write(|transaction, tenant| {
            let changed = transaction.execute(
                "UPDATE counterparty_statement SET state = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND state = $3",
                &[&tenant, &statement, &from, &to, &at],
            )?;
            Ok(changed == 1)
        })
    }

    fn apply_statement_payments(
        &mut self,
        applications: &[(i64, i64, i64)],
        states: &[(i64, i64, String)],
        at: i64,
    ) -> Result<(), StoreError> {
        self.write(|transaction, tenant| {
            for (statement, document, amount) in applications {
                transaction.execute(
                    "INSERT INTO counterparty_payment (tenant_id, statement_id, document_id, amount_minor) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant_id, statement_id, document_id)
                     DO UPDATE SET amount_minor = counterparty_payment.amount_minor + excluded.amount_minor",
                    &[&tenant, statement, document, amount],
                )?;
            }
            for (statement, paid, state) in states {
                transaction.execute(
                    "UPDATE counterparty_statement SET paid_minor = $3, state = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
                    &[&tenant, statement, paid, state, &at],
                )?;
            }
            Ok(())
        })
    }

    fn statement_payments(&self) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT statement_id, document_id, amount_minor FROM counterparty_payment WHERE tenant_id = $1
             ORDER BY statement_id, document_id",
            &[&self.tenant_id],
        )?;
        rows.iter().map(|row| Ok((column(row, 0)?, column(row, 1)?, column(row, 2)?))).collect()
    }

    fn import_counterparty_lines(
        &mut self,
        meta: &FileMeta,
        statement: i64,
        lines: &[TheirLine],
    ) -> Result<i64, StoreError> {
        self.write(|transaction, tenant| {
            let file_id = insert_file(transaction, tenant, meta, lines.len() as u64)?;
            transaction.execute(
                "DELETE FROM counterparty_line WHERE tenant_id = $1 AND statement_id = $2",
                &[&tenant, &statement],
            )?;
            let insert = transaction.prepare(
                "INSERT INTO counterparty_line (tenant_id, statement_id, position, file_id, line, number, day, amount_minor,
                    description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )?;
            for (position, line) in lines.iter().enumerate() {
                transaction.execute(
                    &insert,
                    &[
                        &tenant,
                        &statement,
                        &(position as i64),
                        &file_id,
                        &i64::from(line.line),
                        &line.number,
                        &line.day,
                        &line.amount_minor,
                        &line.description,
                    ],
                )?;
            }
            Ok(file_id)
        })
    }

    fn counterparty_lines(&self, statement: i64) -> Result<Vec<TheirLine>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT line, number, day, amount_minor, description FROM counterparty_line
             WHERE tenant_id = $1 AND statement_id = $2 ORDER BY position",
            &[&self.tenant_id, &statement],
        )?;
        rows.iter()
            .map(|row| {
                Ok(TheirLine {
                    line: count_at(row, 0)?,
                    number: column(row, 1)?,
                    day: column(row, 2)?,
                    amount_minor: column(row, 3)?,
                    description: column(row, 4)?,
                })
            })
            .collect()
    }

    fn add_statement_resolutions(&mut self, resolutions: &[StatementResolution]) -> Result<(), StoreError> {
        self.write(|transaction, tenant| {
            for r in resolutions {
                transaction.execute(
                    "INSERT INTO counterparty_resolution (tenant_id, statement_id, number, kind, ours_minor, theirs_minor,
                        amount_minor, reason, comment, by_user, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    &[
                        &tenant,
                        &r.statement_id,
                        &r.number,
                        &r.kind,
                        &r.ours_minor,
                        &r.theirs_minor,
                        &r.amount_minor,
                        &r.reason,
                        &r.comment,
                        &r.by_user,
                        &r.at,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn statement_resolutions(&self, statement: i64) -> Result<Vec<StatementResolution>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT statement_id, number, kind, ours_minor, theirs_minor, amount_minor, reason, comment, by_user, at
             FROM counterparty_resolution WHERE tenant_id = $1 AND statement_id = $2 ORDER BY id",
            &[&self.tenant_id, &statement],
        )?;
        rows.iter()
            .map(|row| {
                Ok(StatementResolution {
                    statement_id: column(row, 0)?,
                    number: column(row, 1)?,
                    kind: column(row, 2)?,
                    ours_minor: column(row, 3)?,
                    theirs_minor: column(row, 4)?,
                    amount_minor: column(row, 5)?,
                    reason: column(row, 6)?,
                    comment: column(row, 7)?,
                    by_user: column(row, 8)?,
                    at: column(row, 9)?,
                })
            })
            .collect()
    }

    fn settlements(&self) -> Result<Vec<SettlementRow>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT s.settlement_id, s.store, f.name, s.line, s.start_utc, s.end_utc, s.deposit_utc, s.total_minor,
                    s.currency, s.lines_sum_minor, s.line_count, s.open
             FROM settlement s JOIN source_file f ON f.tenant_id = s.tenant_id AND f.id = s.file_id
             WHERE s.tenant_id = $1
             ORDER BY s.start_utc, s.settlement_id",
            &[&self.tenant_id],
        )?;
        rows.iter()
            .map(|row| {
                Ok(SettlementRow {
                    settlement_id: column::<i64>(row, 0)? as u64,
                    store: column(row, 1)?,
                    file_name: column(row, 2)?,
                    line: count_at(row, 3)?,
                    start_utc_seconds: column(row, 4)?,
                    end_utc_seconds: column(row, 5)?,
                    deposit_utc_seconds: column(row, 6)?,
                    total_minor: column(row, 7)?,
                    currency: currency_of(column(row, 8)?)?,
                    lines_sum_minor: column(row, 9)?,
                    line_count: count_at(row, 10)?,
                    open: column(row, 11)?,
                })
            })
            .collect()
    }

    fn order_rows(&self, order: &OrderId) -> Result<Vec<OrderRow>, StoreError> {
        let (condition, value) = order_condition("o.", order);
        let rows = self.client.borrow_mut().query(
            &format!(
                "SELECT f.name, o.line, o.store, o.marketplace, o.status, o.purchase_day, o.ship_day, o.currency,
                        o.amount_minor, o.refunded_minor, o.quantity, o.sku
                 FROM order_item o JOIN source_file f ON f.tenant_id = o.tenant_id AND f.id = o.file_id
                 WHERE o.tenant_id = $1 AND {condition} ORDER BY o.id"
            ),
            &[&self.tenant_id, value.as_ref()],
        )?;
        rows.iter()
            .map(|row| {
                let status = code_at(row, 4)?;
                Ok(OrderRow {
                    file_name: column(row, 0)?,
                    line: count_at(row, 1)?,
                    store: column(row, 2)?,
                    marketplace: column(row, 3)?,
                    status: OrderStatus::from_code(status)
                        .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
                    purchase_date: date_at(row, 5)?,
                    ship_date: optional_date_at(row, 6)?,
                    currency: currency_of(column(row, 7)?)?,
                    amount_minor: column(row, 8)?,
                    refunded_minor: column(row, 9)?,
                    quantity: count_at(row, 10)?,
                    sku: column(row, 11)?,
                })
            })
            .collect()
    }

    fn order_lines(&self, order: &OrderId) -> Result<Vec<LineRow>, StoreError> {
        let (condition, value) = order_condition("l.", order);
        let rows = self.client.borrow_mut().query(
            &format!(
                "SELECT l.id, l.settlement_id, f.name, l.line, l.transaction_type, l.amount_type, l.description,
                        l.marketplace, l.sku, l.amount_minor, s.currency, l.posted_utc, l.quantity, l.kind,
                        dup.first_line_id
                 FROM settlement_line l
                      JOIN settlement s ON s.tenant_id = l.tenant_id AND s.settlement_id = l.settlement_id
                      JOIN source_file f ON f.tenant_id = l.tenant_id AND f.id = l.file_id
                      LEFT JOIN duplicate_line dup ON dup.tenant_id = l.tenant_id AND dup.line_id = l.id
                 WHERE l.tenant_id = $1 AND {condition}
                 ORDER BY l.posted_utc, l.settlement_id, l.line, l.id"
            ),
            &[&self.tenant_id, value.as_ref()],
        )?;
        rows.iter()
            .map(|row| {
                let kind = code_at(row, 13)?;
                Ok(LineRow {
                    id: column(row, 0)?,
                    settlement_id: column::<i64>(row, 1)? as u64,
                    file_name: column(row, 2)?,
                    line: count_at(row, 3)?,
                    transaction_type: column(row, 4)?,
                    amount_type: column(row, 5)?,
                    description: column(row, 6)?,
                    marketplace: column(row, 7)?,
                    sku: column(row, 8)?,
                    amount_minor: column(row, 9)?,
                    currency: currency_of(column(row, 10)?)?,
                    posted_utc_seconds: column(row, 11)?,
                    quantity: count_at(row, 12)?,
                    kind: LineKind::from_code(kind).ok_or_else(|| StoreError::Corrupt(format!("line kind {kind}")))?,
                    duplicate_of: column(row, 14)?,
                })
            })
            .collect()
    }

    fn counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut client = self.client.borrow_mut();
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
            let row =
                client.query_one(&format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"), &[&self.tenant_id])?;
            out.push((table, column(&row, 0)?));
        }
        Ok(out)
    }

    fn integrity_findings(&self) -> Result<Vec<String>, StoreError> {
        self.read(integrity_findings)
    }

    fn verify_settlement_sums(&self) -> Result<Vec<(u64, i64, i64)>, StoreError> {
        let rows = self.client.borrow_mut().query(
            "SELECT s.settlement_id, s.lines_sum_minor, COALESCE(SUM(l.amount_minor), 0)::BIGINT
             FROM settlement s LEFT JOIN settlement_line l ON l.tenant_id = s.tenant_id AND l.settlement_id = s.settlement_id
             WHERE s.tenant_id = $1
             GROUP BY s.tenant_id, s.settlement_id HAVING s.lines_sum_minor != COALESCE(SUM(l.amount_minor), 0)
             ORDER BY s.settlement_id",
            &[&self.tenant_id],
        )?;
        rows.iter().map(|row| Ok((column::<i64>(row, 0)? as u64, column(row, 1)?, column(row, 2)?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_partitions_the_migration_is_unchanged() {
        let (_, sql) = MIGRATIONS[0];
        assert_eq!(render_migration(sql, None).unwrap(), sql);
    }

    #[test]
    fn every_tenant_table_gets_its_partitions() {
        let (_, sql) = MIGRATIONS[0];
        let rendered = render_migration(sql, Some(3)).unwrap();
        assert!(!rendered.contains(PARTITION_MARK));
        let tables = sql.matches("CREATE TABLE ").count();
        assert_eq!(sql.matches(PARTITION_MARK).count(), tables, "every table is a tenant table");
        let clause = "PARTITION BY HASH (tenant_id)";
        assert_eq!(rendered.matches(clause).count() - sql.matches(clause).count(), tables);
        assert_eq!(rendered.matches(" PARTITION OF ").count(), tables * 3);
        assert!(rendered.contains(
            "CREATE TABLE settlement_line_p2 PARTITION OF settlement_line FOR VALUES WITH (MODULUS 3, REMAINDER 2);"
        ));
    }

    #[test]
    fn a_mark_outside_a_create_table_is_refused() {
        assert!(render_migration("SELECT 1 /*PARTITION*/;", Some(2)).is_err());
    }
}
