-- What people (and the system identity) did about payout ↔ receipt differences (resolve,
-- reopen), appended, never changed: the meaning of SQLite's version 10. `result_key` names
-- the result across runs (`payout:<settlement id>`, `withdrawal:<entry id>`,
-- `receipt:<entry id>`).
CREATE SEQUENCE receipt_action_id_seq;

CREATE TABLE receipt_action (
    tenant_id    BIGINT NOT NULL,
    id           BIGINT NOT NULL DEFAULT nextval('receipt_action_id_seq'),
    result_key   TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    kind         TEXT,
    reason       TEXT,
    comment      TEXT,
    currency     TEXT,
    ours_minor   BIGINT,
    theirs_minor BIGINT,
    amount_minor BIGINT,
    by_user      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

CREATE INDEX receipt_action_by_key ON receipt_action (tenant_id, result_key);
