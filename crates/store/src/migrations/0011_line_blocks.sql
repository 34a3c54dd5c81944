-- tieout schema, version 11: settlement lines stored in blocks (see src/blocks.rs).
-- One row per block of up to 16,384 lines of one settlement from one file; the lines
-- packed in `data` (the last column, so that queries on the others never read it). A
-- line's id is `id << 16 | its place in the block`; AUTOINCREMENT: ids are never reused.
-- `marketplace` is the dictionary id of the greatest non-empty marketplace name its
-- lines carry (NULL when none does).
-- The rows of settlement_line are moved into blocks by the migration's code (schema.rs),
-- which then drops that table.
CREATE TABLE line_block (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    settlement_id    INTEGER NOT NULL,
    file_id          INTEGER NOT NULL,
    line_count       INTEGER NOT NULL,
    amount_sum_minor INTEGER NOT NULL,
    marketplace      INTEGER,
    data             BLOB    NOT NULL
);
CREATE INDEX line_block_by_settlement ON line_block (settlement_id);

-- Which blocks hold lines of which order: filled on first use (explaining an order), not
-- during imports, up to the block recorded in line_block_indexed; its index likewise.
CREATE TABLE line_block_order (
    order_key  INTEGER,
    order_text TEXT,
    block_id   INTEGER NOT NULL
);
CREATE TABLE line_block_indexed (block_id INTEGER NOT NULL);
INSERT INTO line_block_indexed (block_id) VALUES (0);
