-- tieout schema, version 1 (PostgreSQL): the meaning of SQLite versions 1 to 6 in one.
--
-- Tenancy: every table carries tenant_id, and it leads every primary key, unique
-- constraint, foreign key and index, so the tables can be distributed (Citus) or
-- hash-partitioned by tenant. A PgStore is bound to one tenant and filters every query
-- by it.
--
-- The PARTITION comment closing each table's definition marks a tenant table: with hash
-- partitioning the migration replaces it with `PARTITION BY HASH (tenant_id)` and creates
-- the partitions; without, it stays a comment.
--
-- Ids come from sequences (an identity column cannot be declared on a partitioned table
-- in PostgreSQL 15); settlement ids are Amazon's. Texts are stored as text (no dictionary
-- table as in SQLite); money is BIGINT minor units beside a currency code; dates are day
-- numbers (days from 0001-01-01, chrono's num_days_from_ce) and times Unix seconds, as in
-- SQLite, so both engines read the same integers.

CREATE SEQUENCE source_file_id_seq;
CREATE SEQUENCE settlement_line_id_seq;
CREATE SEQUENCE order_item_id_seq;
CREATE SEQUENCE reconcile_run_id_seq;
CREATE SEQUENCE statement_id_seq;
CREATE SEQUENCE statement_entry_id_seq;
CREATE SEQUENCE deferred_line_id_seq;

CREATE TABLE source_file (
    tenant_id     BIGINT  NOT NULL,
    id            BIGINT  NOT NULL DEFAULT nextval('source_file_id_seq'),
    sha256        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    store         TEXT,
    size_bytes    BIGINT  NOT NULL,
    imported_at   TEXT    NOT NULL,
    record_count  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, sha256)
) /*PARTITION*/;

-- A settlement known only from transaction reports without its transfer yet is open:
-- posted, not transferred, its total the sum of its lines so far.
CREATE TABLE settlement (
    tenant_id        BIGINT  NOT NULL,
    settlement_id    BIGINT  NOT NULL,
    store            TEXT    NOT NULL,
    file_id          BIGINT  NOT NULL,
    line             BIGINT  NOT NULL,
    start_utc        BIGINT  NOT NULL,
    end_utc          BIGINT  NOT NULL,
    deposit_utc      BIGINT,
    total_minor      BIGINT  NOT NULL,
    currency         TEXT    NOT NULL,
    lines_sum_minor  BIGINT  NOT NULL,
    line_count       BIGINT  NOT NULL,
    open             BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, settlement_id),
    FOREIGN KEY (tenant_id, file_id) REFERENCES source_file (tenant_id, id)
) /*PARTITION*/;

-- Loaded with COPY. Like SQLite, no foreign key per line (a settlement file of a million
-- lines would check a million references); the line's settlement and file are checked by
-- integrity_findings instead.
CREATE TABLE settlement_line (
    tenant_id         BIGINT   NOT NULL,
    id                BIGINT   NOT NULL DEFAULT nextval('settlement_line_id_seq'),
    settlement_id     BIGINT   NOT NULL,
    file_id           BIGINT   NOT NULL,
    line              BIGINT   NOT NULL,
    order_key         BIGINT,
    order_text        TEXT,
    transaction_type  TEXT     NOT NULL,
    amount_type       TEXT     NOT NULL,
    description       TEXT     NOT NULL,
    marketplace       TEXT     NOT NULL,
    fulfillment       TEXT     NOT NULL,
    sku               TEXT     NOT NULL,
    merchant_order_id TEXT,
    adjustment_id     TEXT,
    shipment_id       TEXT,
    order_item_code   TEXT,
    promotion_id      TEXT,
    amount_minor      BIGINT   NOT NULL,
    posted_utc        BIGINT   NOT NULL,
    quantity          BIGINT   NOT NULL,
    transaction_class SMALLINT NOT NULL,
    component         SMALLINT NOT NULL,
    kind              SMALLINT NOT NULL,
    item_key          BIGINT   NOT NULL,
    fingerprint       BIGINT,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

-- A server cannot build an index on first use as the embedded store does (it would lock
-- a table every tenant shares), so the indexes that imports and explain need are here.
-- The order index is the dearer: measured on 1.5 M lines, about a third of a bulk
-- import's time (random keys); explain (order_lines) needs it to answer at once.
CREATE INDEX settlement_line_by_settlement ON settlement_line (tenant_id, settlement_id);
CREATE INDEX settlement_line_by_order ON settlement_line (tenant_id, order_key, order_text);

CREATE TABLE order_item (
    tenant_id      BIGINT   NOT NULL,
    id             BIGINT   NOT NULL DEFAULT nextval('order_item_id_seq'),
    file_id        BIGINT   NOT NULL,
    line           BIGINT   NOT NULL,
    order_key      BIGINT,
    order_text     TEXT,
    store          TEXT     NOT NULL,
    marketplace    TEXT     NOT NULL,
    status         SMALLINT NOT NULL,
    purchase_day   INTEGER  NOT NULL,
    ship_day       INTEGER,
    currency       TEXT     NOT NULL,
    amount_minor   BIGINT   NOT NULL,
    refunded_minor BIGINT,
    quantity       BIGINT   NOT NULL,
    sku            TEXT     NOT NULL,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

CREATE INDEX order_item_by_order ON order_item (tenant_id, order_key, order_text);

CREATE TABLE reconcile_run (
    tenant_id        BIGINT  NOT NULL,
    id               BIGINT  NOT NULL DEFAULT nextval('reconcile_run_id_seq'),
    created_at       TEXT    NOT NULL,
    as_of_day        INTEGER NOT NULL,
    order_count      BIGINT  NOT NULL,
    difference_count BIGINT  NOT NULL,
    config           TEXT    NOT NULL,
    -- The last file the run saw: files imported after it make its results out of date.
    last_file_id     BIGINT,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

-- The latest run's results. `id` is the result's position in the run (1, 2, …), the
-- keyset cursor of a page; a run replaces the previous run's rows. Loaded with COPY and
-- without a foreign key to its run (one check per result would take three quarters of
-- a run's saving time); integrity_findings checks the run instead.
CREATE TABLE order_result (
    tenant_id             BIGINT   NOT NULL,
    id                    BIGINT   NOT NULL,
    run_id                BIGINT   NOT NULL,
    order_key             BIGINT,
    order_text            TEXT,
    store                 TEXT     NOT NULL,
    marketplace           TEXT     NOT NULL,
    currency              TEXT     NOT NULL,
    category              SMALLINT NOT NULL,
    flags                 INTEGER  NOT NULL,
    status                SMALLINT,
    ship_day              INTEGER,
    order_amount_minor    BIGINT,
    settled_amount_minor  BIGINT   NOT NULL,
    refunds_settled_minor BIGINT   NOT NULL,
    written_off_minor     BIGINT   NOT NULL,
    fees_charged_minor    BIGINT   NOT NULL,
    fees_expected_minor   BIGINT,
    net_settled_minor     BIGINT   NOT NULL,
    days_since_ship       BIGINT,
    line_count            BIGINT   NOT NULL,
    duplicate_line_count  BIGINT   NOT NULL,
    period_day            INTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE duplicate_line (
    tenant_id     BIGINT NOT NULL,
    line_id       BIGINT NOT NULL,
    first_line_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, line_id)
) /*PARTITION*/;

-- Statements of money received (bank, payment tools, wallets). A statement is
-- identified by its account and reference; one seen again in another file is skipped.
CREATE TABLE statement (
    tenant_id         BIGINT  NOT NULL,
    id                BIGINT  NOT NULL DEFAULT nextval('statement_id_seq'),
    file_id           BIGINT  NOT NULL,
    line              BIGINT  NOT NULL,
    statement_ref     TEXT    NOT NULL,
    account           TEXT    NOT NULL,
    currency          TEXT    NOT NULL,
    opening_minor     BIGINT,
    opening_day       INTEGER,
    closing_minor     BIGINT,
    closing_day       INTEGER,
    entries_sum_minor BIGINT  NOT NULL,
    entry_count       BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, file_id) REFERENCES source_file (tenant_id, id)
) /*PARTITION*/;

CREATE INDEX statement_by_ref ON statement (tenant_id, account, statement_ref);

CREATE TABLE statement_entry (
    tenant_id             BIGINT  NOT NULL,
    id                    BIGINT  NOT NULL DEFAULT nextval('statement_entry_id_seq'),
    statement_id          BIGINT  NOT NULL,
    file_id               BIGINT  NOT NULL,
    line                  BIGINT  NOT NULL,
    booking_day           INTEGER NOT NULL,
    value_day             INTEGER,
    amount_minor          BIGINT  NOT NULL,
    currency              TEXT    NOT NULL,
    entry_ref             TEXT    NOT NULL,
    reference             TEXT    NOT NULL,
    counterparty          TEXT    NOT NULL,
    description           TEXT    NOT NULL,
    original_amount_minor BIGINT,
    original_currency     TEXT,
    fee_minor             BIGINT,
    reversal              BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES statement (tenant_id, id)
) /*PARTITION*/;

-- Tabular exports without a statement reference overlap: an entry whose reference the
-- account already has is not added again. This index finds it.
CREATE INDEX statement_entry_by_ref ON statement_entry (tenant_id, entry_ref);

-- The latest payout ↔ receipt reconciliation: one row per expected payout or withdrawal
-- and per unexpected receipt; `id` is its position in the run.
CREATE TABLE receipt_result (
    tenant_id            BIGINT   NOT NULL,
    id                   BIGINT   NOT NULL,
    run_id               BIGINT   NOT NULL,
    status               SMALLINT NOT NULL,
    expected_minor       BIGINT,
    expected_currency    TEXT,
    received_minor       BIGINT,
    received_currency    TEXT,
    rule_id              TEXT,
    score                BIGINT,
    difference_minor     BIGINT,
    date_difference_days BIGINT,
    implied_rate         TEXT,
    reference_rate       TEXT,
    rate_within_band     BOOLEAN,
    fx_difference_minor  BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES reconcile_run (tenant_id, id)
) /*PARTITION*/;

-- What a result is about: its settlements, the withdrawal (a payment-tool debit) and the
-- receipts (statement credits), in the order the result names them (`id`).
CREATE TABLE receipt_result_link (
    tenant_id           BIGINT NOT NULL,
    id                  BIGINT NOT NULL,
    result_id           BIGINT NOT NULL,
    settlement_id       BIGINT,
    statement_entry_id  BIGINT,
    withdrawal_entry_id BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, result_id) REFERENCES receipt_result (tenant_id, id)
) /*PARTITION*/;

-- Deferred transactions of transaction reports (held, not released into a settlement):
-- not settled money. A report replaces its store's deferred lines posted within its rows'
-- dates.
CREATE TABLE deferred_line (
    tenant_id        BIGINT NOT NULL,
    id               BIGINT NOT NULL DEFAULT nextval('deferred_line_id_seq'),
    store            TEXT   NOT NULL,
    file_id          BIGINT NOT NULL,
    line             BIGINT NOT NULL,
    settlement_id    BIGINT,
    order_key        BIGINT,
    order_text       TEXT,
    transaction_type TEXT   NOT NULL,
    amount_type      TEXT   NOT NULL,
    description      TEXT   NOT NULL,
    amount_minor     BIGINT NOT NULL,
    currency         TEXT   NOT NULL,
    posted_utc       BIGINT NOT NULL,
    release_utc      BIGINT,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

CREATE INDEX deferred_line_by_store ON deferred_line (tenant_id, store, posted_utc);
