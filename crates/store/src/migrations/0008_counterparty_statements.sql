-- tieout schema, version 8: statements with counterparties (往来对账单).
-- Documents (invoices, refunds, discounts, payments of customers; purchases, returns,
-- discounts, payments of suppliers) with their file and line; a document is one
-- (counterparty, type, number): an export that lists it again adds nothing.
CREATE TABLE ledger_document (
    id                INTEGER PRIMARY KEY,
    file_id           INTEGER NOT NULL REFERENCES source_file (id),
    line              INTEGER NOT NULL,
    counterparty      TEXT    NOT NULL,
    counterparty_name TEXT,
    side              TEXT    NOT NULL,
    doc_type          TEXT    NOT NULL,
    number            TEXT    NOT NULL,
    day               INTEGER NOT NULL,
    amount_minor      INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    UNIQUE (counterparty, doc_type, number)
);

CREATE TABLE counterparty_statement (
    id            INTEGER PRIMARY KEY,
    counterparty  TEXT    NOT NULL,
    side          TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    period_start  INTEGER NOT NULL,
    period_end    INTEGER NOT NULL,
    opening_minor INTEGER NOT NULL,
    due_minor     INTEGER NOT NULL,
    paid_minor    INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    created_by    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE counterparty_statement_line (
    statement_id INTEGER NOT NULL REFERENCES counterparty_statement (id),
    position     INTEGER NOT NULL,
    document_id  INTEGER NOT NULL REFERENCES ledger_document (id),
    PRIMARY KEY (statement_id, position)
);

-- Payments applied to statements (first in, first out).
CREATE TABLE counterparty_payment (
    statement_id INTEGER NOT NULL REFERENCES counterparty_statement (id),
    document_id  INTEGER NOT NULL REFERENCES ledger_document (id),
    amount_minor INTEGER NOT NULL,
    PRIMARY KEY (statement_id, document_id)
);

-- The counterparty's own statement, line by line (replaced when imported again).
CREATE TABLE counterparty_line (
    statement_id INTEGER NOT NULL REFERENCES counterparty_statement (id),
    position     INTEGER NOT NULL,
    file_id      INTEGER NOT NULL REFERENCES source_file (id),
    line         INTEGER NOT NULL,
    number       TEXT    NOT NULL,
    day          INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    description  TEXT    NOT NULL,
    PRIMARY KEY (statement_id, position)
);

-- What was done about a difference between the two statements: accepted, adjusted (both
-- amounts kept) or written off (reason code); by_user NULL: the system (automatic).
CREATE TABLE counterparty_resolution (
    id           INTEGER PRIMARY KEY,
    statement_id INTEGER NOT NULL REFERENCES counterparty_statement (id),
    number       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    ours_minor   INTEGER,
    theirs_minor INTEGER,
    amount_minor INTEGER NOT NULL,
    reason       TEXT,
    comment      TEXT,
    by_user      INTEGER,
    at           INTEGER NOT NULL
);
