-- What people did about differences (resolve, reopen, assign), appended, never changed.
CREATE SEQUENCE difference_action_id_seq;

CREATE TABLE difference_action (
    tenant_id  BIGINT NOT NULL,
    id         BIGINT NOT NULL DEFAULT nextval('difference_action_id_seq'),
    order_key  BIGINT,
    order_text TEXT,
    action     TEXT   NOT NULL,
    reason     TEXT,
    comment    TEXT,
    assignee   BIGINT,
    by_user    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) /*PARTITION*/;

CREATE INDEX difference_action_by_order ON difference_action (tenant_id, order_key, order_text);
