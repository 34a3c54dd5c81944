-- tieout schema, version 1 (SQLite).
-- Narrow rows: repeated text as dictionary ids, Amazon order ids packed into integers,
-- dates as integers; money always INTEGER minor units with a currency code beside it.
-- No secondary index on settlement_line is built during import (it would triple the
-- import time of a large month); the few that queries need are created on first use.

CREATE TABLE source_file (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    store         TEXT,
    size_bytes    INTEGER NOT NULL,
    imported_at   TEXT    NOT NULL,
    record_count  INTEGER NOT NULL
);

CREATE TABLE dictionary (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);

CREATE TABLE settlement (
    settlement_id    INTEGER PRIMARY KEY,
    store            INTEGER NOT NULL REFERENCES dictionary(id),
    file_id          INTEGER NOT NULL REFERENCES source_file(id),
    line             INTEGER NOT NULL,
    start_utc        INTEGER NOT NULL,
    end_utc          INTEGER NOT NULL,
    deposit_utc      INTEGER,
    total_minor      INTEGER NOT NULL,
    currency         TEXT    NOT NULL,
    lines_sum_minor  INTEGER NOT NULL,
    line_count       INTEGER NOT NULL
);

CREATE TABLE settlement_line (
    id                INTEGER PRIMARY KEY,
    settlement_id     INTEGER NOT NULL,
    file_id           INTEGER NOT NULL,
    line              INTEGER NOT NULL,
    order_key         INTEGER,
    order_text        TEXT,
    transaction_type  INTEGER NOT NULL,
    amount_type       INTEGER NOT NULL,
    description       INTEGER NOT NULL,
    marketplace       INTEGER NOT NULL,
    fulfillment       INTEGER NOT NULL,
    sku               INTEGER NOT NULL,
    merchant_order_id TEXT,
    adjustment_id     TEXT,
    shipment_id       TEXT,
    order_item_code   TEXT,
    promotion_id      TEXT,
    amount_minor      INTEGER NOT NULL,
    posted_utc        INTEGER NOT NULL,
    quantity          INTEGER NOT NULL,
    transaction_class INTEGER NOT NULL,
    component         INTEGER NOT NULL,
    kind              INTEGER NOT NULL,
    item_key          INTEGER NOT NULL,
    fingerprint       INTEGER
);

CREATE TABLE order_item (
    id             INTEGER PRIMARY KEY,
    file_id        INTEGER NOT NULL,
    line           INTEGER NOT NULL,
    order_key      INTEGER,
    order_text     TEXT,
    store          INTEGER NOT NULL,
    marketplace    INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    purchase_day   INTEGER NOT NULL,
    ship_day       INTEGER,
    currency       TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL,
    refunded_minor INTEGER,
    quantity       INTEGER NOT NULL,
    sku            INTEGER NOT NULL
);

CREATE TABLE reconcile_run (
    id               INTEGER PRIMARY KEY,
    created_at       TEXT    NOT NULL,
    as_of_day        INTEGER NOT NULL,
    order_count      INTEGER NOT NULL,
    difference_count INTEGER NOT NULL,
    config           TEXT    NOT NULL
);

CREATE TABLE order_result (
    id                    INTEGER PRIMARY KEY,
    run_id                INTEGER NOT NULL,
    order_key             INTEGER,
    order_text            TEXT,
    store                 INTEGER NOT NULL,
    marketplace           INTEGER NOT NULL,
    currency              TEXT    NOT NULL,
    category              INTEGER NOT NULL,
    flags                 INTEGER NOT NULL,
    status                INTEGER,
    ship_day              INTEGER,
    order_amount_minor    INTEGER,
    settled_amount_minor  INTEGER NOT NULL,
    refunds_settled_minor INTEGER NOT NULL,
    written_off_minor     INTEGER NOT NULL,
    fees_charged_minor    INTEGER NOT NULL,
    fees_expected_minor   INTEGER,
    net_settled_minor     INTEGER NOT NULL,
    days_since_ship       INTEGER,
    line_count            INTEGER NOT NULL,
    duplicate_line_count  INTEGER NOT NULL,
    period_day            INTEGER NOT NULL
);

CREATE TABLE duplicate_line (
    line_id       INTEGER PRIMARY KEY,
    first_line_id INTEGER NOT NULL
);
