//! Settlement lines as the SQLite store keeps them: in blocks, not one row per line.
//!
//! A block holds up to [`BLOCK_LINES`] lines of one settlement from one file, packed into
//! one byte string (table `line_block`, one row per block, with the block's line count
//! and amount sum beside the bytes). A month of a million orders is five million lines;
//! as rows they cost most of an import (SQLite inserts about a million 24-column rows a
//! second through its one writer) and half of a reconcile (reading them back); as blocks
//! they are a few hundred rows of a few hundred KiB, written and read at memory speed.
//!
//! A line's id is its file's id and its place among the file's stored lines:
//! `file_id << 32 | ordinal` (the place is stored with the line). Ids are unique, ascend
//! in the order lines were read, as the PostgreSQL store's do, and do not depend on how
//! lines fall into blocks.
//!
//! The packing, per line, after one format byte per block: a presence byte (bit 0 order
//! key, 1 order text, 2 fingerprint, 3–7 the five optional identifiers), then the line's
//! ordinal in its file and its line number, each a zigzag varint delta from the previous
//! line's, the order key (varint) or
//! text, the six dictionary ids (varints), the present identifiers (varint length and
//! UTF-8 bytes), amount and quantity (zigzag varints), the posted time as a zigzag delta
//! from the previous line's, transaction class, component and kind (a byte each), the
//! item key and fingerprint (8 bytes each, little-endian). Nothing is compressed: the
//! bytes are about 60 per line, and reading them must stay cheaper than a row.
//!
//! Decoding checks every length and the block's line count; a block that does not decode
//! to exactly its lines is reported corrupt, never half-read.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection};

use crate::packing::{put_bytes, put_signed, put_varint, Cursor};
use crate::StoreError;

/// At most this many lines in one block (explaining one order decodes its blocks: a
/// block is ~1 MiB at most).
pub(crate) const BLOCK_LINES: usize = 16_384;

/// The first byte of every block: the packing's version.
const FORMAT: u8 = 1;

/// The id of the line at place `ordinal` among file `file_id`'s stored lines.
pub(crate) fn line_id(file_id: i64, ordinal: i64) -> i64 {
    (file_id << 32) | (ordinal & 0xffff_ffff)
}

/// One stored settlement line: repeated words as dictionary ids, identifiers as bytes
/// (UTF-8, checked by [`text`] when read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StoredLine<'b> {
    /// The line's place among its file's stored lines (from 0).
    pub ordinal: i64,
    pub line: i64,
    pub order_key: Option<i64>,
    pub order_text: Option<&'b [u8]>,
    pub transaction_type: i64,
    pub amount_type: i64,
    pub description: i64,
    pub marketplace: i64,
    pub fulfillment: i64,
    pub sku: i64,
    pub merchant_order_id: Option<&'b [u8]>,
    pub adjustment_id: Option<&'b [u8]>,
    pub shipment_id: Option<&'b [u8]>,
    pub order_item_code: Option<&'b [u8]>,
    pub promotion_id: Option<&'b [u8]>,
    pub amount_minor: i64,
    pub posted_utc: i64,
    pub quantity: i64,
    pub transaction_class: u8,
    pub component: u8,
    pub kind: u8,
    pub item_key: i64,
    pub fingerprint: Option<i64>,
}

impl StoredLine<'_> {
    fn identifiers(&self) -> [Option<&[u8]>; 5] {
        [self.merchant_order_id, self.adjustment_id, self.shipment_id, self.order_item_code, self.promotion_id]
    }
}

/// Stored bytes as text (they were written from text: anything else is corruption).
pub(crate) fn text(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|_| StoreError::Corrupt("a settlement line's text is not UTF-8".to_owned()))
}

/// Packs lines into one block.
pub(crate) struct BlockWriter {
    data: Vec<u8>,
    count: usize,
    sum: i64,
    previous_ordinal: i64,
    previous_line: i64,
    previous_posted: i64,
}

impl Default for BlockWriter {
    fn default() -> BlockWriter {
        BlockWriter { data: vec![FORMAT], count: 0, sum: 0, previous_ordinal: 0, previous_line: 0, previous_posted: 0 }
    }
}

impl BlockWriter {
    pub(crate) fn push(&mut self, line: &StoredLine<'_>) {
        let mut presence = u8::from(line.order_key.is_some())
            | u8::from(line.order_text.is_some()) << 1
            | u8::from(line.fingerprint.is_some()) << 2;
        for (bit, identifier) in line.identifiers().iter().enumerate() {
            presence |= u8::from(identifier.is_some()) << (3 + bit);
        }
        let data = &mut self.data;
        data.push(presence);
        put_signed(data, line.ordinal.wrapping_sub(self.previous_ordinal));
        self.previous_ordinal = line.ordinal;
        put_signed(data, line.line.wrapping_sub(self.previous_line));
        self.previous_line = line.line;
        if let Some(key) = line.order_key {
            put_varint(data, key as u64);
        }
        if let Some(text) = line.order_text {
            put_bytes(data, text);
        }
        for id in
            [line.transaction_type, line.amount_type, line.description, line.marketplace, line.fulfillment, line.sku]
        {
            put_varint(data, id as u64);
        }
        for identifier in line.identifiers().into_iter().flatten() {
            put_bytes(data, identifier);
        }
        put_signed(data, line.amount_minor);
        put_signed(data, line.quantity);
        put_signed(data, line.posted_utc.wrapping_sub(self.previous_posted));
        self.previous_posted = line.posted_utc;
        data.extend_from_slice(&[line.transaction_class, line.component, line.kind]);
        data.extend_from_slice(&line.item_key.to_le_bytes());
        if let Some(fingerprint) = line.fingerprint {
            data.extend_from_slice(&fingerprint.to_le_bytes());
        }
        self.count += 1;
        self.sum = self.sum.wrapping_add(line.amount_minor);
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The lines' amounts summed.
    pub(crate) fn sum(&self) -> i64 {
        self.sum
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }
}

/// Reads the lines of one block, in stored order.
pub(crate) struct BlockReader<'b> {
    cursor: Cursor<'b>,
    remaining: usize,
    previous_ordinal: i64,
    previous_line: i64,
    previous_posted: i64,
}

impl<'b> BlockReader<'b> {
    /// A reader of a block said to hold `count` lines.
    pub(crate) fn new(data: &'b [u8], count: i64) -> Result<BlockReader<'b>, StoreError> {
        match data.first() {
            Some(&FORMAT) => {}
            Some(other) => return Err(corrupt(format!("packing version {other}"))),
            None => return Err(corrupt("no bytes".to_owned())),
        }
        let remaining = usize::try_from(count).map_err(|_| corrupt(format!("line count {count}")))?;
        let cursor = Cursor::new(data, 1, WHAT);
        Ok(BlockReader { cursor, remaining, previous_ordinal: 0, previous_line: 0, previous_posted: 0 })
    }

    /// The next line; `None` after the last, once the bytes are exactly used up.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<StoredLine<'b>>, StoreError> {
        if self.remaining == 0 {
            if self.cursor.left() != 0 {
                return Err(corrupt(format!("{} bytes after its last line", self.cursor.left())));
            }
            return Ok(None);
        }
        self.remaining -= 1;
        let presence = self.cursor.byte()?;
        let ordinal = self.previous_ordinal.wrapping_add(self.cursor.signed()?);
        self.previous_ordinal = ordinal;
        let line = self.previous_line.wrapping_add(self.cursor.signed()?);
        self.previous_line = line;
        let mut line = StoredLine { ordinal, line, ..StoredLine::default() };
        if presence & 1 != 0 {
            line.order_key = Some(self.cursor.varint()? as i64);
        }
        if presence & 2 != 0 {
            line.order_text = Some(self.cursor.bytes()?);
        }
        line.transaction_type = self.cursor.varint()? as i64;
        line.amount_type = self.cursor.varint()? as i64;
        line.description = self.cursor.varint()? as i64;
        line.marketplace = self.cursor.varint()? as i64;
        line.fulfillment = self.cursor.varint()? as i64;
        line.sku = self.cursor.varint()? as i64;
        let mut identifiers = [None; 5];
        for (bit, identifier) in identifiers.iter_mut().enumerate() {
            if presence & (1 << (3 + bit)) != 0 {
                *identifier = Some(self.cursor.bytes()?);
            }
        }
        [line.merchant_order_id, line.adjustment_id, line.shipment_id, line.order_item_code, line.promotion_id] =
            identifiers;
        line.amount_minor = self.cursor.signed()?;
        line.quantity = self.cursor.signed()?;
        line.posted_utc = self.previous_posted.wrapping_add(self.cursor.signed()?);
        self.previous_posted = line.posted_utc;
        let [class, component, kind] = self.cursor.take::<3>()?;
        (line.transaction_class, line.component, line.kind) = (class, component, kind);
        line.item_key = i64::from_le_bytes(self.cursor.take::<8>()?);
        if presence & 4 != 0 {
            line.fingerprint = Some(i64::from_le_bytes(self.cursor.take::<8>()?));
        }
        Ok(Some(line))
    }
}

/// What a corrupt block's error says it was reading.
const WHAT: &str = "a block of settlement lines";

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(format!("{WHAT}: {what}"))
}

/// Every line of a block, checked against its count.
pub(crate) fn decode(data: &[u8], count: i64) -> Result<Vec<StoredLine<'_>>, StoreError> {
    let mut reader = BlockReader::new(data, count)?;
    let mut lines = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(BLOCK_LINES));
    while let Some(line) = reader.next()? {
        lines.push(line);
    }
    Ok(lines)
}

// --- Blocks in the database ---------------------------------------------------------

/// Inserts one block of file `file_id`'s lines of settlement `settlement_id`; returns its id.
pub(crate) fn insert_block(
    connection: &Connection,
    settlement_id: i64,
    file_id: i64,
    writer: &BlockWriter,
    marketplace: Option<i64>,
) -> Result<i64, StoreError> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO line_block (settlement_id, file_id, line_count, amount_sum_minor, marketplace, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    insert.execute(params![settlement_id, file_id, writer.len() as i64, writer.sum(), marketplace, writer.bytes()])?;
    Ok(connection.last_insert_rowid())
}

/// One settlement's block being filled, with its greatest marketplace name so far.
struct OpenBlock {
    settlement_id: i64,
    writer: BlockWriter,
    marketplace: Option<(i64, String)>,
}

/// A file's lines on their way into blocks: one open block per settlement, written when
/// full and by [`BlockSink::finish`].
pub(crate) struct BlockSink {
    file_id: i64,
    open: Vec<OpenBlock>,
    last: usize,
}

impl BlockSink {
    pub(crate) fn new(file_id: i64) -> BlockSink {
        BlockSink { file_id, open: Vec::new(), last: 0 }
    }

    /// Adds a line of settlement `settlement_id`; `marketplace` is the text of its
    /// marketplace's dictionary id.
    pub(crate) fn push(
        &mut self,
        connection: &Connection,
        settlement_id: i64,
        line: &StoredLine<'_>,
        marketplace: &str,
    ) -> Result<(), StoreError> {
        if self.open.get(self.last).is_none_or(|b| b.settlement_id != settlement_id) {
            self.last = match self.open.iter().position(|b| b.settlement_id == settlement_id) {
                Some(index) => index,
                None => {
                    self.open.push(OpenBlock { settlement_id, writer: BlockWriter::default(), marketplace: None });
                    self.open.len() - 1
                }
            };
        }
        let block = &mut self.open[self.last];
        block.writer.push(line);
        if !marketplace.is_empty()
            && block
                .marketplace
                .as_ref()
                .is_none_or(|(id, text)| *id != line.marketplace && marketplace > text.as_str())
        {
            block.marketplace = Some((line.marketplace, marketplace.to_owned()));
        }
        if block.writer.len() == BLOCK_LINES {
            let full = std::mem::replace(
                block,
                OpenBlock { settlement_id, writer: BlockWriter::default(), marketplace: None },
            );
            insert_block(connection, settlement_id, self.file_id, &full.writer, full.marketplace.map(|m| m.0))?;
        }
        Ok(())
    }

    /// Writes the blocks not yet written.
    pub(crate) fn finish(self, connection: &Connection) -> Result<(), StoreError> {
        for block in self.open.into_iter().filter(|b| !b.writer.is_empty()) {
            insert_block(connection, block.settlement_id, self.file_id, &block.writer, block.marketplace.map(|m| m.0))?;
        }
        Ok(())
    }
}

/// A stored block's row, without its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockMeta {
    pub id: i64,
    pub settlement_id: i64,
    pub file_id: i64,
    pub line_count: i64,
}

/// What [`for_each_block`] calls with each block.
pub(crate) type EachBlock<'a> = dyn FnMut(&BlockMeta, &[u8]) -> Result<(), StoreError> + 'a;

/// Each block whose id is in `first..=last`, in id order, with its bytes.
pub(crate) fn for_each_block(
    connection: &Connection,
    first: i64,
    last: i64,
    each: &mut EachBlock<'_>,
) -> Result<(), StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT id, settlement_id, file_id, line_count, data FROM line_block WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
    )?;
    let mut rows = statement.query([first, last])?;
    while let Some(row) = rows.next()? {
        let meta =
            BlockMeta { id: row.get(0)?, settlement_id: row.get(1)?, file_id: row.get(2)?, line_count: row.get(3)? };
        each(&meta, row.get_ref(4)?.as_blob().map_err(rusqlite::Error::from)?)?;
    }
    Ok(())
}

/// Each block's id and line count, in id order (no bytes read).
pub(crate) fn block_sizes(connection: &Connection) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut statement = connection.prepare_cached("SELECT id, line_count FROM line_block ORDER BY id")?;
    let sizes = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
    Ok(sizes)
}

/// Cuts the blocks `sizes` into `parts` runs of consecutive blocks holding about as many
/// lines each: each run's first and last block id (runs may be empty: `(1, 0)`).
pub(crate) fn split_blocks(sizes: &[(i64, i64)], parts: usize) -> Vec<(i64, i64)> {
    let total: i64 = sizes.iter().map(|s| s.1).sum();
    let parts = parts.max(1);
    let mut runs = Vec::with_capacity(parts);
    let mut at = 0;
    let mut seen = 0i64;
    for part in 1..=parts {
        let goal = total * part as i64 / parts as i64;
        let start = at;
        while at < sizes.len() && (seen < goal || part == parts) {
            seen += sizes[at].1;
            at += 1;
        }
        runs.push(if at > start { (sizes[start].0, sizes[at - 1].0) } else { (1, 0) });
    }
    runs
}

/// The blocks holding lines of order (`key`, `text`), in id order. The order → block
/// table is brought up to date first (it is filled on first use, not during imports).
pub(crate) fn blocks_of_order(
    connection: &Connection,
    key: Option<i64>,
    text: Option<&str>,
) -> Result<Vec<i64>, StoreError> {
    index_orders(connection)?;
    let mut statement = connection.prepare_cached(
        "SELECT DISTINCT block_id FROM line_block_order WHERE order_key IS ?1 AND order_text IS ?2 ORDER BY block_id",
    )?;
    let blocks = statement.query_map(params![key, text], |row| row.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(blocks)
}

/// Records which orders the blocks not yet indexed hold (one immediate transaction: two
/// readers doing it at once do it once).
fn index_orders(connection: &Connection) -> Result<(), StoreError> {
    let behind = |connection: &Connection| -> Result<Option<(i64, i64)>, StoreError> {
        let (indexed, last): (i64, Option<i64>) = connection.query_row(
            "SELECT (SELECT block_id FROM line_block_indexed), (SELECT MAX(id) FROM line_block)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(last.filter(|last| *last > indexed).map(|last| (indexed, last)))
    };
    if behind(connection)?.is_none() {
        return Ok(());
    }
    let transaction = rusqlite::Transaction::new_unchecked(connection, rusqlite::TransactionBehavior::Immediate)?;
    let Some((indexed, last)) = behind(&transaction)? else { return Ok(()) };
    {
        let mut insert = transaction
            .prepare("INSERT INTO line_block_order (order_key, order_text, block_id) VALUES (?1, ?2, ?3)")?;
        let mut seen: HashSet<(Option<i64>, Option<Vec<u8>>)> = HashSet::new();
        for_each_block(&transaction, indexed + 1, last, &mut |meta, data| {
            seen.clear();
            let mut reader = BlockReader::new(data, meta.line_count)?;
            while let Some(line) = reader.next()? {
                if (line.order_key.is_some() || line.order_text.is_some())
                    && seen.insert((line.order_key, line.order_text.map(<[u8]>::to_vec)))
                {
                    let order_text = line.order_text.map(text).transpose()?;
                    insert.execute(params![line.order_key, order_text, meta.id])?;
                }
            }
            Ok(())
        })?;
    }
    transaction.execute_batch(
        "CREATE INDEX IF NOT EXISTS line_block_order_by_order ON line_block_order (order_key, order_text)",
    )?;
    transaction.execute("UPDATE line_block_indexed SET block_id = ?1", [last])?;
    transaction.commit()?;
    Ok(())
}

/// Forgets the blocks of settlement `settlement_id` (a settlement file replaces one known
/// from a report).
pub(crate) fn delete_settlement_blocks(connection: &Connection, settlement_id: i64) -> Result<(), StoreError> {
    connection.execute(
        "DELETE FROM line_block_order WHERE block_id IN (SELECT id FROM line_block WHERE settlement_id = ?1)",
        [settlement_id],
    )?;
    connection.execute("DELETE FROM line_block WHERE settlement_id = ?1", [settlement_id])?;
    Ok(())
}

/// Schema version 11: moves the rows of `settlement_line` (if any) into blocks, keeping
/// each file's lines of each settlement in their stored order, renumbers the duplicate
/// lines of the latest run to the new ids, and drops the table.
pub(crate) fn move_rows_into_blocks(connection: &Connection) -> Result<(), StoreError> {
    let exists: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settlement_line')",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let texts: HashMap<i64, String> = connection
        .prepare("SELECT id, text FROM dictionary")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let duplicates: Vec<(i64, i64)> = connection
        .prepare("SELECT line_id, first_line_id FROM duplicate_line")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // Old id -> new id of the lines the duplicates name (a line's new id is its file's id
    // and its place among the file's rows, whatever block it falls in).
    let mut renumber: HashMap<i64, i64> =
        duplicates.iter().flat_map(|(line, first)| [(*line, 0), (*first, 0)]).collect();
    {
        let mut statement = connection.prepare(
            "SELECT id, settlement_id, file_id, ROW_NUMBER() OVER (PARTITION BY file_id ORDER BY id) - 1, line, order_key,
                order_text, transaction_type, amount_type, description, marketplace, fulfillment, sku, merchant_order_id,
                adjustment_id, shipment_id, order_item_code, promotion_id, amount_minor, posted_utc, quantity,
                transaction_class, component, kind, item_key, fingerprint
             FROM settlement_line ORDER BY file_id, id",
        )?;
        let mut rows = statement.query([])?;
        let mut sink: Option<BlockSink> = None;
        while let Some(row) = rows.next()? {
            let (settlement_id, file_id): (i64, i64) = (row.get(1)?, row.get(2)?);
            let bytes = |index: usize| -> rusqlite::Result<Option<&[u8]>> {
                Ok(row.get_ref(index)?.as_str_or_null()?.map(str::as_bytes))
            };
            let line = StoredLine {
                ordinal: row.get(3)?,
                line: row.get(4)?,
                order_key: row.get(5)?,
                order_text: bytes(6)?,
                transaction_type: row.get(7)?,
                amount_type: row.get(8)?,
                description: row.get(9)?,
                marketplace: row.get(10)?,
                fulfillment: row.get(11)?,
                sku: row.get(12)?,
                merchant_order_id: bytes(13)?,
                adjustment_id: bytes(14)?,
                shipment_id: bytes(15)?,
                order_item_code: bytes(16)?,
                promotion_id: bytes(17)?,
                amount_minor: row.get(18)?,
                posted_utc: row.get(19)?,
                quantity: row.get(20)?,
                transaction_class: row.get(21)?,
                component: row.get(22)?,
                kind: row.get(23)?,
                item_key: row.get(24)?,
                fingerprint: row.get(25)?,
            };
            if sink.as_ref().is_none_or(|s| s.file_id != file_id) {
                if let Some(done) = sink.replace(BlockSink::new(file_id)) {
                    done.finish(connection)?;
                }
            }
            let marketplace = texts.get(&line.marketplace).map_or("", String::as_str);
            sink.as_mut().expect("opened").push(connection, settlement_id, &line, marketplace)?;
            if let Some(new) = renumber.get_mut(&row.get::<_, i64>(0)?) {
                *new = line_id(file_id, line.ordinal);
            }
        }
        if let Some(done) = sink {
            done.finish(connection)?;
        }
    }
    connection.execute_batch("DELETE FROM duplicate_line; DROP TABLE settlement_line;")?;
    let mut insert = connection.prepare("INSERT INTO duplicate_line (line_id, first_line_id) VALUES (?1, ?2)")?;
    for (line, first) in duplicates {
        // (A duplicate naming a line no longer stored was stale already: it goes.)
        if let (Some(&line), Some(&first)) = (renumber.get(&line), renumber.get(&first)) {
            if line != 0 && first != 0 {
                insert.execute([line, first])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<StoredLine<'static>> {
        vec![
            StoredLine {
                ordinal: 41,
                line: 7,
                order_key: Some(0x7fff_ffff_ffff_ffff),
                transaction_type: 1,
                amount_type: 300,
                description: 2,
                marketplace: 4,
                fulfillment: 5,
                sku: 1 << 40,
                shipment_id: Some(b"DkQ3x9"),
                promotion_id: Some("促销-1".as_bytes()),
                amount_minor: -1999,
                posted_utc: 1_790_000_000,
                quantity: 2,
                transaction_class: 1,
                component: 3,
                kind: 2,
                item_key: -42,
                fingerprint: Some(i64::MIN),
                ..StoredLine::default()
            },
            // Lines need not ascend; times may go back; every optional field present.
            StoredLine {
                ordinal: 40,
                line: 3,
                order_text: Some(b"S01-1234567-7654321"),
                merchant_order_id: Some(b"M-1"),
                adjustment_id: Some(b""),
                order_item_code: Some(b"55"),
                amount_minor: i64::MAX,
                posted_utc: -86_401,
                quantity: i64::MIN,
                item_key: 0,
                ..StoredLine::default()
            },
            StoredLine { ordinal: 1 << 31, line: i64::MAX, amount_minor: i64::MIN, ..StoredLine::default() },
        ]
    }

    #[test]
    fn lines_read_back_as_written() {
        let mut writer = BlockWriter::default();
        for line in &lines() {
            writer.push(line);
        }
        assert_eq!(writer.len(), 3);
        let expected_sum = lines().iter().fold(0i64, |sum, l| sum.wrapping_add(l.amount_minor));
        assert_eq!(writer.sum(), expected_sum);
        assert_eq!(decode(writer.bytes(), 3).unwrap(), lines());
        // An empty block is one byte and no lines.
        assert!(decode(BlockWriter::default().bytes(), 0).unwrap().is_empty());
    }

    #[test]
    fn a_block_that_does_not_decode_to_exactly_its_lines_is_corrupt() {
        let mut writer = BlockWriter::default();
        for line in &lines() {
            writer.push(line);
        }
        let bytes = writer.bytes();
        let error = |data: &[u8], count: i64| decode(data, count).unwrap_err().to_string();
        assert!(error(bytes, 2).contains("bytes after its last line"), "{}", error(bytes, 2));
        assert!(error(bytes, 4).contains("cut short"), "{}", error(bytes, 4));
        assert!(error(&bytes[..bytes.len() - 1], 3).contains("cut short"));
        assert!(error(&[], 0).contains("no bytes"));
        assert!(error(&[9], 0).contains("packing version 9"));
        assert!(error(bytes, -1).contains("line count -1"));
        // A length pointing past the end.
        let long = [FORMAT, 2, 0, 0, 0xff, 0x01];
        assert!(error(&long, 1).contains("longer than the block"), "{}", error(&long, 1));
        // Every cut of a valid block fails cleanly, never panics.
        for end in 0..bytes.len() {
            assert!(decode(&bytes[..end], 3).is_err());
        }
    }

    #[test]
    fn line_ids_ascend_with_file_and_place() {
        assert_eq!(line_id(3, 0xffff_ffff) >> 32, 3);
        assert!(line_id(4, 0) > line_id(3, 0xffff_ffff));
        assert!(line_id(4, 7) > line_id(4, 6));
    }
}
