-- tieout control plane, version 1 (PostgreSQL): the meaning of control/sqlite.sql.
--
-- Tenancy: every table but tenant carries tenant_id, and it leads every primary key,
-- unique constraint, foreign key and index, so the tables can be distributed by tenant
-- (Citus) or hash-partitioned by it; tenant itself is the reference table the others
-- point to.
--
-- The PARTITION comment closing a table's definition marks a tenant table: with hash
-- partitioning the migration replaces it with `PARTITION BY HASH (tenant_id)` and creates
-- the partitions; without, it stays a comment.
--
-- Ids come from sequences (an identity column cannot be declared on a partitioned table
-- in PostgreSQL 15), shared by all tenants: a tenant's ids grow in insertion order, with
-- gaps, where SQLite numbers each tenant's rows 1, 2, … Times are Unix seconds (BIGINT),
-- as in SQLite; an upload's content is BYTEA.

CREATE SEQUENCE tenant_id_seq;
CREATE SEQUENCE organisation_id_seq;
CREATE SEQUENCE store_id_seq;
CREATE SEQUENCE app_user_id_seq;
CREATE SEQUENCE api_token_id_seq;
CREATE SEQUENCE login_attempt_id_seq;
CREATE SEQUENCE upload_id_seq;
CREATE SEQUENCE job_id_seq;

CREATE TABLE tenant (
    id         BIGINT NOT NULL DEFAULT nextval('tenant_id_seq'),
    slug       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (slug)
);

CREATE TABLE organisation (
    tenant_id BIGINT NOT NULL REFERENCES tenant (id),
    id        BIGINT NOT NULL DEFAULT nextval('organisation_id_seq'),
    name      TEXT   NOT NULL,
    parent_id BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES organisation (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE store (
    tenant_id       BIGINT NOT NULL,
    id              BIGINT NOT NULL DEFAULT nextval('store_id_seq'),
    organisation_id BIGINT NOT NULL,
    name            TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, organisation_id) REFERENCES organisation (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE app_user (
    tenant_id     BIGINT  NOT NULL REFERENCES tenant (id),
    id            BIGINT  NOT NULL DEFAULT nextval('app_user_id_seq'),
    email         TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
) /*PARTITION*/;

-- A user's scope in the order it was given (SQLite keeps it by rowid): `position` counts
-- the scope's organisations, then its stores, from 0.
CREATE TABLE user_scope (
    tenant_id       BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    position        BIGINT NOT NULL,
    organisation_id BIGINT,
    store_id        BIGINT,
    PRIMARY KEY (tenant_id, user_id, position),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id),
    FOREIGN KEY (tenant_id, organisation_id) REFERENCES organisation (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES store (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE session (
    tenant_id  BIGINT NOT NULL,
    token_hash TEXT   NOT NULL,
    user_id    BIGINT NOT NULL,
    csrf_token TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
) /*PARTITION*/;
-- Disabling a user deletes the user's sessions.
CREATE INDEX session_by_user ON session (tenant_id, user_id);

CREATE TABLE api_token (
    tenant_id   BIGINT NOT NULL,
    id          BIGINT NOT NULL DEFAULT nextval('api_token_id_seq'),
    user_id     BIGINT NOT NULL,
    name        TEXT   NOT NULL,
    secret_hash TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id)
) /*PARTITION*/;
CREATE INDEX api_token_by_user ON api_token (tenant_id, user_id);

-- tenant_id 0: an attempt on a tenant that does not exist (no foreign key). Counting by
-- address spans tenants; its index still leads with tenant_id (a distributed table
-- allows no other), so that count reads each tenant's part of the index.
CREATE TABLE login_attempt (
    tenant_id BIGINT  NOT NULL,
    id        BIGINT  NOT NULL DEFAULT nextval('login_attempt_id_seq'),
    email     TEXT    NOT NULL,
    address   TEXT    NOT NULL,
    at        BIGINT  NOT NULL,
    succeeded BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;
CREATE INDEX login_attempt_by_email ON login_attempt (tenant_id, email, at);
CREATE INDEX login_attempt_by_address ON login_attempt (tenant_id, address, at);

CREATE TABLE upload (
    tenant_id  BIGINT NOT NULL,
    id         BIGINT NOT NULL DEFAULT nextval('upload_id_seq'),
    name       TEXT   NOT NULL,
    sha256     TEXT   NOT NULL,
    size_bytes BIGINT NOT NULL,
    store      TEXT,
    content    BYTEA  NOT NULL,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app_user (tenant_id, id)
) /*PARTITION*/;

CREATE TABLE job (
    tenant_id      BIGINT NOT NULL,
    id             BIGINT NOT NULL DEFAULT nextval('job_id_seq'),
    kind           TEXT   NOT NULL,
    payload        TEXT   NOT NULL,
    state          TEXT   NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    progress_done  BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT NOT NULL DEFAULT 0,
    message        TEXT   NOT NULL DEFAULT '',
    result         TEXT,
    error          TEXT,
    created_by     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    lease_owner    TEXT,
    lease_until    BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app_user (tenant_id, id)
) /*PARTITION*/;
-- The queue: only jobs not finished, so claiming reads what is left to do, not history.
CREATE INDEX job_open ON job (tenant_id, created_at, id) WHERE state IN ('queued', 'running');

-- A tenant's own settings (its matching rules, as TOML text), by key.
CREATE TABLE tenant_setting (
    tenant_id  BIGINT NOT NULL REFERENCES tenant (id),
    key        TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_by BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
) /*PARTITION*/;

-- A tenant's audit log: append-only, numbered 1, 2, 3 … per tenant without gaps (seq is
-- counted per tenant under a lock, not taken from a sequence), each entry carrying the
-- previous entry's hash (prev_hash) and its own (hash, SHA-256 of the other fields,
-- computed by the service). actor_user NULL: the system identity. before and after are
-- JSON text (kept byte for byte: the hash covers the text as stored).
CREATE TABLE audit_entry (
    tenant_id   BIGINT NOT NULL REFERENCES tenant (id),
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor_user  BIGINT,
    actor_name  TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    object_kind TEXT   NOT NULL,
    object_id   TEXT   NOT NULL,
    before      TEXT,
    after       TEXT,
    prev_hash   TEXT   NOT NULL,
    hash        TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) /*PARTITION*/;

-- Defence in depth: tieout never updates or deletes an audit entry, and the database
-- refuses it to anyone else too (a row trigger is cloned to every partition; TRUNCATE
-- has its own). Someone who may disable triggers can still tamper: the hash chain is what
-- makes that visible (`tieout audit verify`).
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();

-- Alerts on their way to a webhook or to e-mail recipients: the delivery log and its queue
-- (claimed FOR UPDATE SKIP LOCKED under a lease, as jobs are). dedup_key names the alert,
-- its run, channel and target: an alert is queued once per run and target. state:
-- pending, delivered or failed; next_attempt_at: when a pending one is due.
CREATE SEQUENCE alert_delivery_id_seq;
CREATE TABLE alert_delivery (
    tenant_id       BIGINT NOT NULL REFERENCES tenant (id),
    id              BIGINT NOT NULL DEFAULT nextval('alert_delivery_id_seq'),
    dedup_key       TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    target          TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, dedup_key)
) /*PARTITION*/;
-- The queue: only pending deliveries, so claiming reads what is left to send, not the log.
CREATE INDEX alert_delivery_due ON alert_delivery (tenant_id, next_attempt_at, id) WHERE state = 'pending';
