-- tieout schema, version 10: what people (and the system identity) did about payout ↔
-- receipt differences, appended, never changed. A result's id changes with every run, so
-- an action names the result by a key that survives re-runs: `payout:<settlement id>`
-- (the first, when one transfer paid several), `withdrawal:<statement entry id>` or
-- `receipt:<statement entry id>` (an unexpected receipt). Its state is its latest resolve
-- or reopen. Amounts (resolve only): ours = expected, theirs = received, amount = the
-- adjustment or the amount written off, all in `currency`.
CREATE TABLE receipt_action (
    id           INTEGER PRIMARY KEY,
    result_key   TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    kind         TEXT,
    reason       TEXT,
    comment      TEXT,
    currency     TEXT,
    ours_minor   INTEGER,
    theirs_minor INTEGER,
    amount_minor INTEGER,
    by_user      INTEGER NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX receipt_action_by_key ON receipt_action (result_key);
