-- tieout schema, version 3: the latest payout ↔ receipt reconciliation. One row per
-- expected payout (its settlements and receipts listed in the link table) and per
-- unexpected receipt.

CREATE TABLE receipt_result (
    id                    INTEGER PRIMARY KEY,
    run_id                INTEGER NOT NULL,
    status                INTEGER NOT NULL,
    expected_minor        INTEGER,
    expected_currency     TEXT,
    received_minor        INTEGER,
    received_currency     TEXT,
    rule_id               TEXT,
    score                 INTEGER,
    difference_minor      INTEGER,
    date_difference_days  INTEGER,
    implied_rate          TEXT
);

CREATE TABLE receipt_result_link (
    result_id          INTEGER NOT NULL,
    settlement_id      INTEGER,
    statement_entry_id INTEGER
);
