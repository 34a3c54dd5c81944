-- tieout schema, version 6: Amazon Date Range transaction reports.
-- A settlement built from a report's rows that has no transfer (payout) row yet is still
-- open: posted, not transferred, its total the sum of its lines so far.
ALTER TABLE settlement ADD COLUMN open INTEGER NOT NULL DEFAULT 0;

-- Deferred transactions (Amazon holds them; not yet released into a settlement) are kept
-- apart from settlement lines: they are not settled money. A report imported for a store
-- replaces the store's deferred lines posted within its rows' dates (a report states the
-- deferrals of its time; a row released since is then a settlement line).
CREATE TABLE deferred_line (
    id               INTEGER PRIMARY KEY,
    store            INTEGER NOT NULL REFERENCES dictionary(id),
    file_id          INTEGER NOT NULL,
    line             INTEGER NOT NULL,
    settlement_id    INTEGER,
    order_key        INTEGER,
    order_text       TEXT,
    transaction_type INTEGER NOT NULL,
    amount_type      INTEGER NOT NULL,
    description      INTEGER NOT NULL,
    amount_minor     INTEGER NOT NULL,
    currency         TEXT    NOT NULL,
    posted_utc       INTEGER NOT NULL,
    release_utc      INTEGER
);
