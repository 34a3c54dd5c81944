-- tieout schema, version 12: order results stored in blocks (see src/result_blocks.rs).
-- One row per block of up to 16,384 results of a run, in order-id order; the results
-- packed in `data` (the last column). `first_position` numbers results from 1 (the cursor
-- of result pages); `last_order_key` / `last_order_text` is the block's last order id
-- (one order's result is found by them).
-- The rows of order_result are moved into blocks by the migration's code (schema.rs),
-- which then drops that table.
CREATE TABLE result_block (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL,
    first_position  INTEGER NOT NULL,
    result_count    INTEGER NOT NULL,
    last_order_key  INTEGER,
    last_order_text TEXT,
    data            BLOB    NOT NULL
);
