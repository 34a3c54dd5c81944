-- tieout schema, version 7: what people did about differences (resolve, reopen, assign),
-- appended, never changed; an order's state is its latest resolve or reopen, its
-- assignee its latest assignment.
CREATE TABLE difference_action (
    id         INTEGER PRIMARY KEY,
    order_key  INTEGER,
    order_text TEXT,
    action     TEXT    NOT NULL,
    reason     TEXT,
    comment    TEXT,
    assignee   INTEGER,
    by_user    INTEGER NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX difference_action_by_order ON difference_action (order_key, order_text);
