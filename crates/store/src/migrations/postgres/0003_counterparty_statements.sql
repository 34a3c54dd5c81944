-- Statements with counterparties (往来对账单): the meaning of SQLite's version 8.
CREATE SEQUENCE ledger_document_id_seq;
CREATE SEQUENCE counterparty_statement_id_seq;
CREATE SEQUENCE counterparty_resolution_id_seq;

CREATE TABLE ledger_document (
    tenant_id         BIGINT NOT NULL,
    id                BIGINT NOT NULL DEFAULT nextval('ledger_document_id_seq'),
    file_id           BIGINT NOT NULL,
    line              BIGINT NOT NULL,
    counterparty      TEXT   NOT NULL,
    counterparty_name TEXT,
    side              TEXT   NOT NULL,
    doc_type          TEXT   NOT NULL,
    number            TEXT   NOT NULL,
    day               INTEGER NOT NULL,
    amount_minor      BIGINT NOT NULL,
    currency          TEXT   NOT NULL,
    description       TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, counterparty, doc_type, number),
    FOREIGN KEY (tenant_id, file_id) REFERENCES source_file (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE counterparty_statement (
    tenant_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL DEFAULT nextval('counterparty_statement_id_seq'),
    counterparty  TEXT   NOT NULL,
    side          TEXT   NOT NULL,
    currency      TEXT   NOT NULL,
    period_start  INTEGER NOT NULL,
    period_end    INTEGER NOT NULL,
    opening_minor BIGINT NOT NULL,
    due_minor     BIGINT NOT NULL,
    paid_minor    BIGINT NOT NULL,
    state         TEXT   NOT NULL,
    created_by    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE counterparty_statement_line (
    tenant_id    BIGINT NOT NULL,
    statement_id BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    document_id  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, statement_id, position),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES counterparty_statement (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES ledger_document (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE counterparty_payment (
    tenant_id    BIGINT NOT NULL,
    statement_id BIGINT NOT NULL,
    document_id  BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, statement_id, document_id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES counterparty_statement (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES ledger_document (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE counterparty_line (
    tenant_id    BIGINT NOT NULL,
    statement_id BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    file_id      BIGINT NOT NULL,
    line         BIGINT NOT NULL,
    number       TEXT   NOT NULL,
    day          INTEGER NOT NULL,
    amount_minor BIGINT NOT NULL,
    description  TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, statement_id, position),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES counterparty_statement (tenant_id, id),
    FOREIGN KEY (tenant_id, file_id) REFERENCES source_file (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE counterparty_resolution (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL DEFAULT nextval('counterparty_resolution_id_seq'),
    statement_id BIGINT NOT NULL,
    number       TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    ours_minor   BIGINT,
    theirs_minor BIGINT,
    amount_minor BIGINT NOT NULL,
    reason       TEXT,
    comment      TEXT,
    by_user      BIGINT,
    at           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES counterparty_statement (tenant_id, id)
) /*PARTITION*/;
