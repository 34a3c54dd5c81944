//! Order results as the SQLite store keeps them: in blocks, not one row per order.
//!
//! A reconciliation run stores one result per order id — a million at a million orders.
//! As rows they cost a third of a reconcile (SQLite inserts about a million 21-column rows
//! a second through its one writer); as blocks of up to [`RESULT_BLOCK_ORDERS`] results
//! (table `result_block`) they are written and read at memory speed.
//!
//! Results are stored in order-id order (a run classifies in that order), numbered from 1
//! (a result's *position*: the keyset cursor of result pages). Each block records its
//! first position, its count and its last order id, so that one order's result is found
//! by reading the blocks' last ids and decoding one block.
//!
//! The packing, per result, after one format byte per block: a presence byte (bit 0 order
//! key, 1 order text, 2 status, 3 ship day, 4 order amount, 5 fees expected, 6 days since
//! ship), the order key (varint) or text (varint length and UTF-8 bytes), the store and
//! marketplace dictionary ids (varints), the currency code (3 bytes), category (a byte),
//! flags (varint), the status (a byte), then the ship day and every amount and count as
//! zigzag varints (the optional ones only when present), the period day last. Decoding
//! checks every length and the block's count: a block that does not decode to exactly its
//! results is corrupt, never half-read.

use std::collections::HashMap;

use rusqlite::{params, Connection};
use tieout_core::ids::OrderId;
use tieout_core::reconcile::{Category, Flags};
use tieout_core::records::OrderStatus;

use crate::packing::{put_signed, put_varint, Cursor};
use crate::sqlite::{currency_of, from_day_number, OrderResultRow};
use crate::StoreError;

/// At most this many results in one block (finding one order's result decodes a block).
pub(crate) const RESULT_BLOCK_ORDERS: usize = 16_384;

/// The first byte of every block: the packing's version.
const FORMAT: u8 = 1;

/// One stored result: store and marketplace as dictionary ids, days as day numbers
/// (days since 0001-01-01, as the rest of the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredResult<'b> {
    pub order_key: Option<i64>,
    pub order_text: Option<&'b [u8]>,
    pub store: i64,
    pub marketplace: i64,
    pub currency: [u8; 3],
    pub category: u8,
    pub flags: u16,
    pub status: Option<u8>,
    pub ship_day: Option<i32>,
    pub order_amount_minor: Option<i64>,
    pub settled_amount_minor: i64,
    pub refunds_settled_minor: i64,
    pub written_off_minor: i64,
    pub fees_charged_minor: i64,
    pub fees_expected_minor: Option<i64>,
    pub net_settled_minor: i64,
    pub days_since_ship: Option<i64>,
    pub line_count: u32,
    pub duplicate_line_count: u32,
    pub period_day: i32,
}

/// Packs results into one block's bytes.
pub(crate) struct ResultBlockWriter {
    data: Vec<u8>,
    count: usize,
}

impl Default for ResultBlockWriter {
    fn default() -> ResultBlockWriter {
        ResultBlockWriter { data: vec![FORMAT], count: 0 }
    }
}

impl ResultBlockWriter {
    pub(crate) fn push(&mut self, result: &StoredResult<'_>) {
        let data = &mut self.data;
        let presence = u8::from(result.order_key.is_some())
            | u8::from(result.order_text.is_some()) << 1
            | u8::from(result.status.is_some()) << 2
            | u8::from(result.ship_day.is_some()) << 3
            | u8::from(result.order_amount_minor.is_some()) << 4
            | u8::from(result.fees_expected_minor.is_some()) << 5
            | u8::from(result.days_since_ship.is_some()) << 6;
        data.push(presence);
        if let Some(key) = result.order_key {
            put_varint(data, key as u64);
        }
        if let Some(text) = result.order_text {
            put_varint(data, text.len() as u64);
            data.extend_from_slice(text);
        }
        put_varint(data, result.store as u64);
        put_varint(data, result.marketplace as u64);
        data.extend_from_slice(&result.currency);
        data.push(result.category);
        put_varint(data, u64::from(result.flags));
        if let Some(status) = result.status {
            data.push(status);
        }
        for value in [result.ship_day.map(i64::from), result.order_amount_minor].into_iter().flatten() {
            put_signed(data, value);
        }
        for value in [
            result.settled_amount_minor,
            result.refunds_settled_minor,
            result.written_off_minor,
            result.fees_charged_minor,
        ] {
            put_signed(data, value);
        }
        if let Some(value) = result.fees_expected_minor {
            put_signed(data, value);
        }
        put_signed(data, result.net_settled_minor);
        if let Some(value) = result.days_since_ship {
            put_signed(data, value);
        }
        put_varint(data, u64::from(result.line_count));
        put_varint(data, u64::from(result.duplicate_line_count));
        put_signed(data, i64::from(result.period_day));
        self.count += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }
}

/// What a corrupt block's error says it was reading.
const WHAT: &str = "a block of order results";

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(format!("{WHAT}: {what}"))
}

/// Reads the results of one block, in stored order.
struct ResultBlockReader<'b> {
    cursor: Cursor<'b>,
    remaining: usize,
}

impl<'b> ResultBlockReader<'b> {
    fn new(data: &'b [u8], count: i64) -> Result<ResultBlockReader<'b>, StoreError> {
        match data.first() {
            Some(&FORMAT) => {}
            Some(other) => return Err(corrupt(format!("packing version {other}"))),
            None => return Err(corrupt("no bytes".to_owned())),
        }
        let remaining = usize::try_from(count).map_err(|_| corrupt(format!("result count {count}")))?;
        Ok(ResultBlockReader { cursor: Cursor::new(data, 1, WHAT), remaining })
    }

    fn next(&mut self) -> Result<Option<StoredResult<'b>>, StoreError> {
        if self.remaining == 0 {
            if self.cursor.left() != 0 {
                return Err(corrupt(format!("{} bytes after its last result", self.cursor.left())));
            }
            return Ok(None);
        }
        self.remaining -= 1;
        let presence = self.cursor.byte()?;
        let has = |bit: u8| presence & (1 << bit) != 0;
        let order_key = if has(0) { Some(self.cursor.varint()? as i64) } else { None };
        let order_text = if has(1) { Some(self.cursor.bytes()?) } else { None };
        let store = self.cursor.varint()? as i64;
        let marketplace = self.cursor.varint()? as i64;
        let currency = [self.cursor.byte()?, self.cursor.byte()?, self.cursor.byte()?];
        let category = self.cursor.byte()?;
        let flags = u16::try_from(self.cursor.varint()?).map_err(|_| corrupt("flags beyond 16 bits".to_owned()))?;
        let status = if has(2) { Some(self.cursor.byte()?) } else { None };
        let ship_day = if has(3) { Some(self.day()?) } else { None };
        let order_amount_minor = if has(4) { Some(self.cursor.signed()?) } else { None };
        let settled_amount_minor = self.cursor.signed()?;
        let refunds_settled_minor = self.cursor.signed()?;
        let written_off_minor = self.cursor.signed()?;
        let fees_charged_minor = self.cursor.signed()?;
        let fees_expected_minor = if has(5) { Some(self.cursor.signed()?) } else { None };
        let net_settled_minor = self.cursor.signed()?;
        let days_since_ship = if has(6) { Some(self.cursor.signed()?) } else { None };
        let line_count = self.count()?;
        let duplicate_line_count = self.count()?;
        let period_day = self.day()?;
        Ok(Some(StoredResult {
            order_key,
            order_text,
            store,
            marketplace,
            currency,
            category,
            flags,
            status,
            ship_day,
            order_amount_minor,
            settled_amount_minor,
            refunds_settled_minor,
            written_off_minor,
            fees_charged_minor,
            fees_expected_minor,
            net_settled_minor,
            days_since_ship,
            line_count,
            duplicate_line_count,
            period_day,
        }))
    }

    fn day(&mut self) -> Result<i32, StoreError> {
        i32::try_from(self.cursor.signed()?).map_err(|_| corrupt("a day beyond the calendar".to_owned()))
    }

    fn count(&mut self) -> Result<u32, StoreError> {
        u32::try_from(self.cursor.varint()?).map_err(|_| corrupt("a count beyond 32 bits".to_owned()))
    }
}

/// Every result of a block, checked against its count.
#[cfg(test)]
pub(crate) fn decode(data: &[u8], count: i64) -> Result<Vec<StoredResult<'_>>, StoreError> {
    let mut reader = ResultBlockReader::new(data, count)?;
    let mut results = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(RESULT_BLOCK_ORDERS));
    while let Some(result) = reader.next()? {
        results.push(result);
    }
    Ok(results)
}

/// The order id of a stored result.
pub(crate) fn order_id(result: &StoredResult<'_>) -> Result<OrderId, StoreError> {
    let text = result
        .order_text
        .map(std::str::from_utf8)
        .transpose()
        .map_err(|_| corrupt("an order id not UTF-8".to_owned()))?;
    OrderId::from_parts(result.order_key.map(|k| k as u64), text)
        .ok_or_else(|| corrupt("a result without an order id".to_owned()))
}

/// A stored result as the store's readers return it (`texts`: the dictionary).
pub(crate) fn to_row(result: &StoredResult<'_>, texts: &HashMap<i64, String>) -> Result<OrderResultRow, StoreError> {
    let text = |id: i64| texts.get(&id).cloned().ok_or_else(|| corrupt(format!("dictionary id {id}")));
    let day = from_day_number;
    let code = std::str::from_utf8(&result.currency).map_err(|_| corrupt("a currency not UTF-8".to_owned()))?;
    Ok(OrderResultRow {
        order_id: order_id(result)?,
        store: text(result.store)?,
        marketplace: text(result.marketplace)?,
        currency: currency_of(code)?,
        category: Category::from_code(result.category)
            .ok_or_else(|| corrupt(format!("category {}", result.category)))?,
        flags: Flags(result.flags),
        status: result.status.and_then(OrderStatus::from_code),
        ship_date: result.ship_day.map(day).transpose()?,
        order_amount_minor: result.order_amount_minor,
        settled_amount_minor: result.settled_amount_minor,
        refunds_settled_minor: result.refunds_settled_minor,
        written_off_minor: result.written_off_minor,
        fees_charged_minor: result.fees_charged_minor,
        fees_expected_minor: result.fees_expected_minor,
        net_settled_minor: result.net_settled_minor,
        days_since_ship: result.days_since_ship,
        line_count: result.line_count,
        duplicate_line_count: result.duplicate_line_count,
        period_date: day(result.period_day)?,
    })
}

/// Writes results of run `run_id` into blocks as they come, in order; positions from 1.
pub(crate) struct ResultSink {
    run_id: i64,
    next_position: i64,
    writer: ResultBlockWriter,
    /// The last result's order id: its key, or its text's bytes (the buffer reused).
    last_key: Option<i64>,
    last_text: Option<Vec<u8>>,
}

impl ResultSink {
    pub(crate) fn new(run_id: i64) -> ResultSink {
        ResultSink { run_id, next_position: 1, writer: ResultBlockWriter::default(), last_key: None, last_text: None }
    }

    pub(crate) fn push(&mut self, connection: &Connection, result: &StoredResult<'_>) -> Result<(), StoreError> {
        self.writer.push(result);
        self.last_key = result.order_key;
        match result.order_text {
            Some(text) => {
                let buffer = self.last_text.get_or_insert_with(Vec::new);
                buffer.clear();
                buffer.extend_from_slice(text);
            }
            None => self.last_text = None,
        }
        if self.writer.len() >= RESULT_BLOCK_ORDERS {
            self.flush(connection)?;
        }
        Ok(())
    }

    fn flush(&mut self, connection: &Connection) -> Result<(), StoreError> {
        if self.writer.len() == 0 {
            return Ok(());
        }
        let writer = std::mem::take(&mut self.writer);
        let count = writer.len() as i64;
        let last_text = self
            .last_text
            .as_deref()
            .map(std::str::from_utf8)
            .transpose()
            .map_err(|_| corrupt("an order id not UTF-8".to_owned()))?;
        connection
            .prepare_cached(
                "INSERT INTO result_block (run_id, first_position, result_count, last_order_key, last_order_text, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![self.run_id, self.next_position, count, self.last_key, last_text, writer.bytes()])?;
        self.next_position += count;
        Ok(())
    }

    /// Writes the last block; returns how many results were stored.
    pub(crate) fn finish(mut self, connection: &Connection) -> Result<i64, StoreError> {
        self.flush(connection)?;
        Ok(self.next_position - 1)
    }
}

/// A block's place: its row id, first position, count and last order id.
pub(crate) struct ResultBlockMeta {
    pub id: i64,
    pub first_position: i64,
    pub count: i64,
    pub last_order: OrderId,
}

/// Every block's place, in order.
pub(crate) fn result_blocks(connection: &Connection) -> Result<Vec<ResultBlockMeta>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT id, first_position, result_count, last_order_key, last_order_text FROM result_block ORDER BY id",
    )?;
    let mut rows = statement.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let key: Option<i64> = row.get(3)?;
        let text: Option<String> = row.get(4)?;
        let last_order = OrderId::from_parts(key.map(|k| k as u64), text.as_deref())
            .ok_or_else(|| corrupt("a block without its last order id".to_owned()))?;
        out.push(ResultBlockMeta { id: row.get(0)?, first_position: row.get(1)?, count: row.get(2)?, last_order });
    }
    Ok(out)
}

/// Decodes block `id` (of `count` results) and hands each result to `each`.
pub(crate) fn with_block(
    connection: &Connection,
    id: i64,
    count: i64,
    each: &mut dyn FnMut(StoredResult<'_>) -> Result<bool, StoreError>,
) -> Result<bool, StoreError> {
    let mut statement = connection.prepare_cached("SELECT data FROM result_block WHERE id = ?1")?;
    let mut rows = statement.query([id])?;
    let row = rows.next()?.ok_or_else(|| corrupt(format!("block {id} is gone")))?;
    let data = row.get_ref(0)?.as_blob().map_err(|_| corrupt(format!("block {id} holds no bytes")))?;
    let mut reader = ResultBlockReader::new(data, count)?;
    while let Some(result) = reader.next()? {
        if !each(result)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What is wrong with the stored results of run `run_id` (for `tieout check`): a block
/// that does not decode to exactly its count, positions that do not follow on, a block's
/// recorded last order id that is not its last, order ids not strictly ascending (an
/// order with two results).
pub(crate) fn result_block_findings(connection: &Connection, run_id: i64) -> Result<Vec<String>, StoreError> {
    let mut findings = Vec::new();
    let mut previous: Option<OrderId> = None;
    let (mut expected_position, mut repeated) = (1, 0);
    for block in result_blocks(connection)? {
        if block.first_position != expected_position {
            findings.push(format!(
                "run {run_id}: result block {} starts at position {}, not {expected_position}",
                block.id, block.first_position
            ));
        }
        expected_position = block.first_position + block.count;
        let mut last = None;
        let decoded = with_block(connection, block.id, block.count, &mut |result| {
            let order = order_id(&result)?;
            if previous.as_ref().is_some_and(|p| *p >= order) {
                repeated += 1;
            }
            previous = Some(order.clone());
            last = Some(order);
            Ok(true)
        });
        match decoded {
            Err(StoreError::Corrupt(message)) => {
                findings.push(format!("run {run_id}: result block {}: {message}", block.id));
                previous = Some(block.last_order.clone());
            }
            Err(other) => return Err(other),
            Ok(_) if last.as_ref() != Some(&block.last_order) => findings.push(format!(
                "run {run_id}: result block {} records {} as its last order, it holds {}",
                block.id,
                block.last_order,
                last.map_or_else(|| "none".to_owned(), |o| o.to_string())
            )),
            Ok(_) => {}
        }
    }
    if repeated > 0 {
        findings.push(format!("run {run_id}: {repeated} order results are not after the one before (an order with more than one result, or results out of order)"));
    }
    Ok(findings)
}

/// Schema version 12: the rows of `order_result` (one run's) into blocks, in order-id
/// order (Amazon ids by number first, then the others by their text: `OrderId`'s order),
/// numbered from 1; then the table is dropped.
pub(crate) fn move_rows_into_blocks(connection: &Connection) -> Result<(), StoreError> {
    {
        let mut statement = connection.prepare(
            "SELECT run_id, order_key, order_text, store, marketplace, currency, category, flags, status, ship_day,
                    order_amount_minor, settled_amount_minor, refunds_settled_minor, written_off_minor,
                    fees_charged_minor, fees_expected_minor, net_settled_minor, days_since_ship, line_count,
                    duplicate_line_count, period_day
             FROM order_result ORDER BY order_key IS NULL, order_key, order_text, id",
        )?;
        let mut rows = statement.query([])?;
        let mut sink: Option<ResultSink> = None;
        while let Some(row) = rows.next()? {
            let run_id: i64 = row.get(0)?;
            let sink = sink.get_or_insert_with(|| ResultSink::new(run_id));
            let text: Option<String> = row.get(2)?;
            let currency: String = row.get(5)?;
            let currency: [u8; 3] =
                currency.as_bytes().try_into().map_err(|_| corrupt(format!("currency '{currency}'")))?;
            let result = StoredResult {
                order_key: row.get(1)?,
                order_text: text.as_deref().map(str::as_bytes),
                store: row.get(3)?,
                marketplace: row.get(4)?,
                currency,
                category: row.get(6)?,
                flags: row.get(7)?,
                status: row.get(8)?,
                ship_day: row.get(9)?,
                order_amount_minor: row.get(10)?,
                settled_amount_minor: row.get(11)?,
                refunds_settled_minor: row.get(12)?,
                written_off_minor: row.get(13)?,
                fees_charged_minor: row.get(14)?,
                fees_expected_minor: row.get(15)?,
                net_settled_minor: row.get(16)?,
                days_since_ship: row.get(17)?,
                line_count: row.get(18)?,
                duplicate_line_count: row.get(19)?,
                period_day: row.get(20)?,
            };
            sink.push(connection, &result)?;
        }
        if let Some(sink) = sink {
            sink.finish(connection)?;
        }
    }
    connection.execute_batch("DROP TABLE order_result;")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Vec<StoredResult<'static>> {
        let full = StoredResult {
            order_key: Some(11_112_345_671_234_567),
            order_text: None,
            store: 3,
            marketplace: 9,
            currency: *b"EUR",
            category: 4,
            flags: 0b1_0001_0000,
            status: Some(4),
            ship_day: Some(739_900),
            order_amount_minor: Some(12_345),
            settled_amount_minor: 12_000,
            refunds_settled_minor: -300,
            written_off_minor: 0,
            fees_charged_minor: 1_850,
            fees_expected_minor: Some(1_851),
            net_settled_minor: i64::MIN + 1,
            days_since_ship: Some(-3),
            line_count: 7,
            duplicate_line_count: 1,
            period_day: 739_890,
        };
        let bare = StoredResult {
            order_key: None,
            order_text: Some("SHOP-1001 ünïcode".as_bytes()),
            status: None,
            ship_day: None,
            order_amount_minor: None,
            fees_expected_minor: None,
            days_since_ship: None,
            net_settled_minor: i64::MAX,
            ..full.clone()
        };
        vec![full, bare]
    }

    #[test]
    fn results_read_back_as_written() {
        let mut writer = ResultBlockWriter::default();
        for result in &results() {
            writer.push(result);
        }
        assert_eq!(decode(writer.bytes(), 2).unwrap(), results());
    }

    #[test]
    fn a_block_that_does_not_decode_to_exactly_its_results_is_corrupt() {
        let mut writer = ResultBlockWriter::default();
        for result in &results() {
            writer.push(result);
        }
        let bytes = writer.bytes();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 2).is_err(), "cut at {cut}");
        }
        assert!(decode(bytes, 1).is_err(), "bytes left over");
        assert!(decode(bytes, 3).is_err(), "a result missing");
        let mut other = bytes.to_vec();
        other[0] = 9;
        assert!(decode(&other, 2).is_err(), "unknown packing");
    }
}
