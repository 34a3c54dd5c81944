-- tieout schema, version 2: statements of money received (bank, payment tools, wallets).
-- Money as INTEGER minor units beside a currency code; dates as day numbers
-- (days from 0001-01-01, chrono's num_days_from_ce).

CREATE TABLE statement (
    id                INTEGER PRIMARY KEY,
    file_id           INTEGER NOT NULL REFERENCES source_file(id),
    line              INTEGER NOT NULL,
    statement_ref     TEXT    NOT NULL,
    account           TEXT    NOT NULL,
    currency          TEXT    NOT NULL,
    opening_minor     INTEGER,
    opening_day       INTEGER,
    closing_minor     INTEGER,
    closing_day       INTEGER,
    entries_sum_minor INTEGER NOT NULL,
    entry_count       INTEGER NOT NULL
);

CREATE TABLE statement_entry (
    id                     INTEGER PRIMARY KEY,
    statement_id           INTEGER NOT NULL REFERENCES statement(id),
    file_id                INTEGER NOT NULL,
    line                   INTEGER NOT NULL,
    booking_day            INTEGER NOT NULL,
    value_day              INTEGER,
    amount_minor           INTEGER NOT NULL,
    currency               TEXT    NOT NULL,
    entry_ref              TEXT    NOT NULL,
    reference              TEXT    NOT NULL,
    counterparty           TEXT    NOT NULL,
    description            TEXT    NOT NULL,
    original_amount_minor  INTEGER,
    original_currency      TEXT,
    fee_minor              INTEGER,
    reversal               INTEGER NOT NULL
);

-- A statement is identified by its account and reference; one seen again in another file
-- (an overlapping export) is skipped, like a settlement.
CREATE INDEX statement_by_ref ON statement (account, statement_ref);
