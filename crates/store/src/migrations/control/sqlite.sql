-- tieout control plane, version 1 (SQLite: the server's control.sqlite).
-- Every table but tenant carries tenant_id, leading every key, as on PostgreSQL.
-- Ids are per tenant (max + 1 inside the writing transaction: SQLite has one writer).

CREATE TABLE tenant (
    id         INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE organisation (
    tenant_id INTEGER NOT NULL REFERENCES tenant (id),
    id        INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    parent_id INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES organisation (tenant_id, id)
);

CREATE TABLE store (
    tenant_id       INTEGER NOT NULL,
    id              INTEGER NOT NULL,
    organisation_id INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, organisation_id) REFERENCES organisation (tenant_id, id)
);

CREATE TABLE app_user (
    tenant_id     INTEGER NOT NULL REFERENCES tenant (id),
    id            INTEGER NOT NULL,
    email         TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE user_scope (
    tenant_id       INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    organisation_id INTEGER,
    store_id        INTEGER,
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id),
    FOREIGN KEY (tenant_id, organisation_id) REFERENCES organisation (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES store (tenant_id, id)
);
CREATE INDEX user_scope_by_user ON user_scope (tenant_id, user_id);

CREATE TABLE session (
    tenant_id  INTEGER NOT NULL,
    token_hash TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
);

CREATE TABLE api_token (
    tenant_id   INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
);

-- tenant_id 0: an attempt on a tenant that does not exist (no foreign key).
CREATE TABLE login_attempt (
    tenant_id INTEGER NOT NULL,
    id        INTEGER NOT NULL,
    email     TEXT    NOT NULL,
    address   TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX login_attempt_by_address ON login_attempt (address, at);
CREATE INDEX login_attempt_by_email ON login_attempt (tenant_id, email, at);

CREATE TABLE upload (
    tenant_id  INTEGER NOT NULL,
    id         INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    sha256     TEXT    NOT NULL,
    size_bytes INTEGER NOT NULL,
    store      TEXT,
    content    BLOB    NOT NULL,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app_user (tenant_id, id)
);

CREATE TABLE job (
    tenant_id      INTEGER NOT NULL,
    id             INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    progress_done  INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    message        TEXT    NOT NULL DEFAULT '',
    result         TEXT,
    error          TEXT,
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    lease_owner    TEXT,
    lease_until    INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app_user (tenant_id, id)
);
CREATE INDEX job_by_state ON job (state, created_at);

-- A tenant's own settings (its matching rules, as TOML text), by key.
CREATE TABLE tenant_setting (
    tenant_id  INTEGER NOT NULL REFERENCES tenant (id),
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- A tenant's audit log: append-only, numbered 1, 2, 3 … per tenant without gaps, each
-- entry carrying the previous entry's hash (prev_hash) and its own (hash, SHA-256 of the
-- other fields, computed by the service). actor_user NULL: the system identity. before and
-- after are JSON. tieout never updates or deletes a row; the triggers refuse it.
CREATE TABLE audit_entry (
    tenant_id   INTEGER NOT NULL REFERENCES tenant (id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_user  INTEGER,
    actor_name  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object_kind TEXT    NOT NULL,
    object_id   TEXT    NOT NULL,
    before      TEXT,
    after       TEXT,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, 'audit_entry is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused');
END;

-- Alerts on their way to a webhook or to e-mail recipients: the delivery log and its queue
-- (any server process claims what is due, under a lease, as with jobs). dedup_key names
-- the alert, its run, channel and target: an alert is queued once per run and target.
-- state: pending, delivered or failed; next_attempt_at: when a pending one is due.
CREATE TABLE alert_delivery (
    tenant_id       INTEGER NOT NULL REFERENCES tenant (id),
    id              INTEGER NOT NULL,
    dedup_key       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, dedup_key)
);
CREATE INDEX alert_delivery_due ON alert_delivery (state, next_attempt_at);
