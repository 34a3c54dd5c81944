//! Reconciliation input in partitions by order id, so that a month of any size is
//! reconciled in bounded memory.
//!
//! Orders are independent of each other: an order's result depends on its own order rows
//! and settlement lines only (duplicates are found within an order; fee schedules are per
//! store and marketplace). So the orders and lines can be split by ranges of order id,
//! each range classified on its own, and the results stored one range after another in one
//! transaction. Ranges ascend, so the results are stored in order-id order, as from a run
//! in one piece.
//!
//! [`ReconcilePartitions`] is what an engine hands out: either the whole input in memory
//! (small months, and engines that do not spill), or *spill files*: one scan of the store
//! writes each order item and each line, in a compact binary record, to the file of its
//! range; a partition is read back when it is its turn. Spill files are created next to
//! the database and unlinked at once where the system allows it (Unix), so a run that is
//! killed leaves nothing behind; elsewhere they are deleted when the partitions are
//! dropped.
//!
//! The ranges come from a sample of the order ids of the order rows (every 16th, sorted,
//! cut in equal parts): lines of an order no export has (orders only settlements know)
//! fall into the range their id belongs to.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Datelike, NaiveDate};
use tieout_core::ids::OrderId;
use tieout_core::intern::{Interner, Sym};
use tieout_core::money::Currency;
use tieout_core::reconcile::{sort_lines, LineFacts, OrderFacts, ReconcileInput, Reconciliation};
use tieout_core::records::{Component, OrderStatus, TransactionClass};

use crate::StoreError;

/// How many settlement lines one partition holds at most (about 100 bytes each in memory,
/// with their orders and results about 1 GiB at most): a month of up to this many lines
/// is reconciled in one piece, a larger one in ranges of order ids.
pub const PARTITION_LINES: usize = 6_000_000;

/// One in this many order rows is sampled to choose the ranges.
const SAMPLE_EVERY: usize = 16;

/// A reconciliation's input, one range of order ids at a time (see the module docs).
pub struct ReconcilePartitions {
    strings: Interner,
    state: State,
}

enum State {
    Whole(Option<ReconcileInput>),
    Spilled { spill: Spill, next: usize },
}

impl ReconcilePartitions {
    /// The whole input as one partition.
    pub fn whole(input: ReconcileInput) -> ReconcilePartitions {
        let strings = input.strings.clone();
        ReconcilePartitions { strings, state: State::Whole(Some(input)) }
    }

    pub(crate) fn spilled(strings: Interner, spill: Spill) -> ReconcilePartitions {
        ReconcilePartitions { strings, state: State::Spilled { spill, next: 0 } }
    }

    /// How many partitions there are.
    pub fn count(&self) -> usize {
        match &self.state {
            State::Whole(_) => 1,
            State::Spilled { spill, .. } => spill.order_files.len(),
        }
    }

    /// Resolves the store and marketplace symbols of every partition's orders and lines.
    pub fn strings(&self) -> &Interner {
        &self.strings
    }

    /// The next partition's orders (items summed per order) and lines, `None` after the
    /// last. Each partition's order ids are greater than the previous partition's.
    pub fn next_partition(&mut self) -> Result<Option<ReconcileInput>, StoreError> {
        let (orders, mut parts) = match &mut self.state {
            State::Whole(whole) => return Ok(whole.take()),
            State::Spilled { spill, next } => {
                if *next >= spill.order_files.len() {
                    return Ok(None);
                }
                let part = spill.read(*next)?;
                *next += 1;
                part
            }
        };
        let lines = if parts.is_empty() { Vec::new() } else { parts.remove(0) };
        Ok(Some(ReconcileInput { strings: self.strings.clone(), orders, lines, more_lines: parts }))
    }
}

/// Sums order items into orders, sorted by order id: amounts and refunds add up; status,
/// dates, store and marketplace come from the order's first row (exports repeat them on
/// every item row); the ship date is the latest of the items'. Both engines use it.
pub(crate) fn sum_items(mut items: Vec<OrderFacts>) -> Vec<OrderFacts> {
    items.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    let mut orders: Vec<OrderFacts> = Vec::with_capacity(items.len());
    for item in items {
        match orders.last_mut() {
            Some(order) if order.order_id == item.order_id => {
                order.amount_minor += item.amount_minor;
                order.refunded_minor = match (order.refunded_minor, item.refunded_minor) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                };
                order.ship_date = order.ship_date.max(item.ship_date);
            }
            _ => orders.push(item),
        }
    }
    orders
}

/// Cut points of `count` ranges from a sample of order ids: range `k` holds the ids from
/// cut `k - 1` (inclusive) to cut `k` (exclusive).
pub(crate) fn cuts(mut sample: Vec<OrderId>, count: usize) -> Vec<OrderId> {
    sample.sort_unstable();
    sample.dedup();
    if sample.is_empty() || count <= 1 {
        return Vec::new();
    }
    let mut cuts: Vec<OrderId> = (1..count).map(|k| sample[k * sample.len() / count].clone()).collect();
    cuts.dedup();
    cuts
}

/// The range an order id falls into.
pub(crate) fn range_of(cuts: &[OrderId], id: &OrderId) -> usize {
    cuts.partition_point(|cut| cut <= id)
}

/// A sampler of order ids for [`cuts`].
#[derive(Default)]
pub(crate) struct Sampler {
    seen: usize,
    pub sample: Vec<OrderId>,
}

impl Sampler {
    pub fn offer(&mut self, id: &OrderId) {
        if self.seen.is_multiple_of(SAMPLE_EVERY) {
            self.sample.push(id.clone());
        }
        self.seen += 1;
    }
}

/// A temporary file for spilled records: written once, then read from the start.
pub(crate) struct SpillFile {
    writer: Option<BufWriter<File>>,
    reader: Option<BufReader<File>>,
    /// Still to be deleted (the system did not let it be unlinked while open).
    path: Option<PathBuf>,
}

static SPILL_COUNTER: AtomicU64 = AtomicU64::new(0);

impl SpillFile {
    /// A new, empty spill file in `dir`, named after `stem`.
    pub fn create(dir: &Path, stem: &str) -> Result<SpillFile, StoreError> {
        let unique = SPILL_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{stem}.reconcile-{}-{unique}.spill", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| spill_error(&path, e))?;
        // Unlinked while open (Unix): the file lives until it is closed, and a killed run
        // leaves nothing behind.
        let path = match std::fs::remove_file(&path) {
            Ok(()) => None,
            Err(_) => Some(path),
        };
        Ok(SpillFile { writer: Some(BufWriter::with_capacity(1 << 18, file)), reader: None, path })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let writer = self.writer.as_mut().expect("spill files are written before they are read");
        writer.write_all(bytes).map_err(|e| spill_io(&e))
    }

    /// Switches from writing to reading from the start.
    fn rewind(&mut self) -> Result<&mut BufReader<File>, StoreError> {
        if let Some(writer) = self.writer.take() {
            let mut file = writer.into_inner().map_err(|e| spill_io(e.error()))?;
            file.seek(SeekFrom::Start(0)).map_err(|e| spill_io(&e))?;
            self.reader = Some(BufReader::with_capacity(1 << 18, file));
        }
        Ok(self.reader.as_mut().expect("rewound"))
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        self.writer = None;
        self.reader = None;
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn spill_error(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Spill(format!("{}: {error}", path.display()))
}

fn spill_io(error: &std::io::Error) -> StoreError {
    StoreError::Spill(error.to_string())
}

/// The spilled input: per range, one file of order items and, per loading thread, one
/// file of lines; the settlements give each line its store and currency.
pub(crate) struct Spill {
    /// Per range; `None` once read (its memory and disk space given back).
    pub order_files: Vec<Option<SpillFile>>,
    /// Per loading thread, per range.
    pub line_files: Vec<Vec<Option<SpillFile>>>,
    pub settlements: HashMap<i64, (Sym, Currency)>,
}

impl Spill {
    /// Range `range`: its orders, and its lines as one part per loading thread, each read
    /// and sorted on a thread of its own.
    fn read(&mut self, range: usize) -> Result<(Vec<OrderFacts>, Vec<Vec<LineFacts>>), StoreError> {
        let read_twice = || StoreError::Spill(format!("range {range} read twice"));
        let mut order_file = self.order_files[range].take().ok_or_else(read_twice)?;
        let line_files = self
            .line_files
            .iter_mut()
            .map(|files| files[range].take().ok_or_else(read_twice))
            .collect::<Result<Vec<SpillFile>, StoreError>>()?;
        let settlements = &self.settlements;
        std::thread::scope(|scope| {
            let readers: Vec<_> = line_files
                .into_iter()
                .map(|mut file| {
                    scope.spawn(move || -> Result<Vec<LineFacts>, StoreError> {
                        let reader = file.rewind()?;
                        let mut last: Option<(i64, Sym, Currency)> = None;
                        let mut lines = Vec::new();
                        while let Some(line) = decode_line(reader, settlements, &mut last)? {
                            lines.push(line);
                        }
                        sort_lines(&mut lines);
                        Ok(lines)
                    })
                })
                .collect();
            let mut items = Vec::new();
            let reader = order_file.rewind()?;
            while let Some(item) = decode_order(reader)? {
                items.push(item);
            }
            let orders = sum_items(items);
            let parts = readers
                .into_iter()
                .map(|reader| reader.join().expect("a range reader does not panic"))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((orders, parts))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Records: little-endian, fixed fields, then the order id (tag 0 + packed Amazon id, or
// tag 1 + length + text).

fn put_order_id(out: &mut Vec<u8>, id: &OrderId) {
    match (id.packed(), id.text()) {
        (Some(packed), _) => {
            out.push(0);
            out.extend_from_slice(&packed.to_le_bytes());
        }
        (None, text) => {
            let text = text.unwrap_or_default().as_bytes();
            out.push(1);
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text);
        }
    }
}

/// Encodes one line (its store and currency are its settlement's, not written).
pub(crate) fn encode_line(out: &mut Vec<u8>, line: &LineFacts) {
    out.clear();
    out.extend_from_slice(&line.line_id.to_le_bytes());
    out.extend_from_slice(&line.settlement_id.to_le_bytes());
    out.extend_from_slice(&line.line.to_le_bytes());
    out.extend_from_slice(&line.marketplace.0.to_le_bytes());
    out.push(line.transaction.code());
    out.push(line.component.code());
    out.extend_from_slice(&line.amount_minor.to_le_bytes());
    out.extend_from_slice(&line.quantity.to_le_bytes());
    out.extend_from_slice(&line.item.to_le_bytes());
    out.extend_from_slice(&line.fingerprint.to_le_bytes());
    out.extend_from_slice(&line.posted_date.num_days_from_ce().to_le_bytes());
    put_order_id(out, &line.order_id);
}

/// Encodes one order row.
pub(crate) fn encode_order(out: &mut Vec<u8>, order: &OrderFacts) {
    out.clear();
    out.extend_from_slice(&order.store.0.to_le_bytes());
    out.extend_from_slice(&order.marketplace.0.to_le_bytes());
    out.push(order.status.code());
    out.extend_from_slice(&order.purchase_date.num_days_from_ce().to_le_bytes());
    out.extend_from_slice(&order.ship_date.map_or(i32::MIN, |d| d.num_days_from_ce()).to_le_bytes());
    out.extend_from_slice(order.currency.code().as_bytes());
    out.extend_from_slice(&order.amount_minor.to_le_bytes());
    out.push(u8::from(order.refunded_minor.is_some()));
    out.extend_from_slice(&order.refunded_minor.unwrap_or(0).to_le_bytes());
    put_order_id(out, &order.order_id);
}

/// Reads exactly `N` bytes; `None` at the end of the file (before the first byte).
fn take<const N: usize>(reader: &mut impl Read, at_start: bool) -> Result<Option<[u8; N]>, StoreError> {
    let mut bytes = [0u8; N];
    match reader.read_exact(&mut bytes) {
        Ok(()) => Ok(Some(bytes)),
        // The end of the file where a record would start: no more records. (A record cut
        // short inside its first bytes reads as the end too; spill files are written whole
        // by this process before they are read, so that does not happen.)
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && at_start => Ok(None),
        Err(e) => Err(spill_io(&e)),
    }
}

fn need<const N: usize>(reader: &mut impl Read) -> Result<[u8; N], StoreError> {
    take::<N>(reader, false)?.ok_or_else(|| StoreError::Spill("a spilled record ends early".to_owned()))
}

fn day(days: i32) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| StoreError::Spill(format!("day number {days}")))
}

fn get_order_id(reader: &mut impl Read) -> Result<OrderId, StoreError> {
    let [tag] = need::<1>(reader)?;
    let id = if tag == 0 {
        OrderId::from_parts(Some(u64::from_le_bytes(need::<8>(reader)?)), None)
    } else {
        let length = u32::from_le_bytes(need::<4>(reader)?) as usize;
        let mut text = vec![0u8; length];
        reader.read_exact(&mut text).map_err(|e| spill_io(&e))?;
        let text = String::from_utf8(text).map_err(|_| StoreError::Spill("an order id is not UTF-8".to_owned()))?;
        OrderId::from_parts(None, Some(&text))
    };
    id.ok_or_else(|| StoreError::Spill("a spilled record without an order id".to_owned()))
}

fn decode_line(
    reader: &mut impl Read,
    settlements: &HashMap<i64, (Sym, Currency)>,
    last: &mut Option<(i64, Sym, Currency)>,
) -> Result<Option<LineFacts>, StoreError> {
    // line id, settlement id, line, marketplace, class, component, amount, quantity,
    // item, fingerprint, posted day.
    let Some(head) = take::<8>(reader, true)? else { return Ok(None) };
    let fixed = need::<{ 8 + 4 + 4 + 1 + 1 + 8 + 4 + 8 + 8 + 4 }>(reader)?;
    let at = |start: usize, end: usize| -> &[u8] { &fixed[start..end] };
    let settlement_id = i64::from_le_bytes(at(0, 8).try_into().expect("8 bytes"));
    let (store, currency) = match *last {
        Some((id, store, currency)) if id == settlement_id => (store, currency),
        _ => {
            let (store, currency) = *settlements
                .get(&settlement_id)
                .ok_or_else(|| StoreError::Corrupt(format!("line of unknown settlement {settlement_id}")))?;
            *last = Some((settlement_id, store, currency));
            (store, currency)
        }
    };
    let class = fixed[16];
    let component = fixed[17];
    Ok(Some(LineFacts {
        line_id: i64::from_le_bytes(head),
        settlement_id: settlement_id as u64,
        line: u32::from_le_bytes(at(8, 12).try_into().expect("4 bytes")),
        store,
        marketplace: Sym(u32::from_le_bytes(at(12, 16).try_into().expect("4 bytes"))),
        currency,
        transaction: TransactionClass::from_code(class)
            .ok_or_else(|| StoreError::Spill(format!("transaction class {class}")))?,
        component: Component::from_code(component)
            .ok_or_else(|| StoreError::Spill(format!("component {component}")))?,
        amount_minor: i64::from_le_bytes(at(18, 26).try_into().expect("8 bytes")),
        quantity: u32::from_le_bytes(at(26, 30).try_into().expect("4 bytes")),
        item: u64::from_le_bytes(at(30, 38).try_into().expect("8 bytes")),
        fingerprint: u64::from_le_bytes(at(38, 46).try_into().expect("8 bytes")),
        posted_date: day(i32::from_le_bytes(at(46, 50).try_into().expect("4 bytes")))?,
        order_id: get_order_id(reader)?,
    }))
}

fn decode_order(reader: &mut impl Read) -> Result<Option<OrderFacts>, StoreError> {
    // store, marketplace, status, purchase day, ship day, currency, amount, refunded?.
    let Some(head) = take::<4>(reader, true)? else { return Ok(None) };
    let fixed = need::<{ 4 + 1 + 4 + 4 + 3 + 8 + 1 + 8 }>(reader)?;
    let at = |start: usize, end: usize| -> &[u8] { &fixed[start..end] };
    let status = fixed[4];
    let ship = i32::from_le_bytes(at(9, 13).try_into().expect("4 bytes"));
    let code = std::str::from_utf8(at(13, 16)).map_err(|_| StoreError::Spill("a currency code".to_owned()))?;
    let refunded = i64::from_le_bytes(at(25, 33).try_into().expect("8 bytes"));
    Ok(Some(OrderFacts {
        store: Sym(u32::from_le_bytes(head)),
        marketplace: Sym(u32::from_le_bytes(at(0, 4).try_into().expect("4 bytes"))),
        status: OrderStatus::from_code(status).ok_or_else(|| StoreError::Spill(format!("order status {status}")))?,
        purchase_date: day(i32::from_le_bytes(at(5, 9).try_into().expect("4 bytes")))?,
        ship_date: if ship == i32::MIN { None } else { Some(day(ship)?) },
        currency: Currency::from_code(code).map_err(|_| StoreError::Spill(format!("currency '{code}'")))?,
        amount_minor: i64::from_le_bytes(at(16, 24).try_into().expect("8 bytes")),
        refunded_minor: (fixed[24] == 1).then_some(refunded),
        order_id: get_order_id(reader)?,
    }))
}

/// Writes each record to the file of its range.
pub(crate) struct RangeWriter {
    pub files: Vec<SpillFile>,
    buffer: Vec<u8>,
}

impl RangeWriter {
    pub fn new(dir: &Path, stem: &str, count: usize) -> Result<RangeWriter, StoreError> {
        let files = (0..count).map(|_| SpillFile::create(dir, stem)).collect::<Result<Vec<_>, _>>()?;
        Ok(RangeWriter { files, buffer: Vec::with_capacity(128) })
    }

    pub fn line(&mut self, cuts: &[OrderId], line: &LineFacts) -> Result<(), StoreError> {
        encode_line(&mut self.buffer, line);
        let range = range_of(cuts, &line.order_id);
        self.files[range].write(&self.buffer)
    }

    pub fn order(&mut self, cuts: &[OrderId], order: &OrderFacts) -> Result<(), StoreError> {
        encode_order(&mut self.buffer, order);
        let range = range_of(cuts, &order.order_id);
        self.files[range].write(&self.buffer)
    }
}

/// Reads back every order row a single spill file holds (the first pass, before the
/// ranges are known), in the order written.
pub(crate) fn for_each_spilled_order(
    file: &mut SpillFile,
    mut each: impl FnMut(OrderFacts) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let reader = file.rewind()?;
    while let Some(order) = decode_order(reader)? {
        each(order)?;
    }
    Ok(())
}

/// Collects partitions' results into one (engines that store a run in one piece).
pub(crate) fn concatenate(
    parts: &mut dyn FnMut() -> Result<Option<Reconciliation>, StoreError>,
) -> Result<Reconciliation, StoreError> {
    let mut whole = Reconciliation::default();
    while let Some(part) = parts()? {
        whole.orders.extend(part.orders);
        whole.duplicates.extend(part.duplicates);
    }
    whole.duplicates.sort_unstable();
    Ok(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_id(text: &str) -> OrderId {
        OrderId::parse(text).expect("an order id")
    }

    #[test]
    fn lines_and_orders_read_back_as_written() {
        let dir = std::env::temp_dir();
        let strings_store = Sym(3);
        let currency = Currency::from_code("EUR").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
        let lines = [
            LineFacts {
                line_id: 7,
                settlement_id: 42,
                line: 9,
                order_id: order_id("028-1234567-1234567"),
                store: strings_store,
                marketplace: Sym(5),
                currency,
                transaction: TransactionClass::Refund,
                component: Component::Commission,
                amount_minor: -1234,
                quantity: 2,
                item: u64::MAX - 3,
                fingerprint: 0,
                posted_date: day,
            },
            LineFacts {
                line_id: 8,
                order_id: order_id("SHOP-1001 ünïcode"),
                fingerprint: 77,
                ..lines_template(strings_store, currency, day)
            },
        ];
        let orders = [
            OrderFacts {
                order_id: order_id("SHOP-1001 ünïcode"),
                store: strings_store,
                marketplace: Sym(5),
                status: OrderStatus::Shipped,
                purchase_date: day,
                ship_date: None,
                currency,
                amount_minor: 5000,
                refunded_minor: Some(-1),
            },
            OrderFacts {
                order_id: order_id("028-1234567-1234567"),
                ship_date: Some(day),
                refunded_minor: None,
                ..orders_template(strings_store, currency, day)
            },
        ];
        let mut writer = RangeWriter::new(&dir, "partition-test", 1).unwrap();
        let mut order_writer = RangeWriter::new(&dir, "partition-test", 1).unwrap();
        for line in &lines {
            writer.line(&[], line).unwrap();
        }
        for order in &orders {
            order_writer.order(&[], order).unwrap();
        }
        let mut spill = Spill {
            order_files: order_writer.files.into_iter().map(Some).collect(),
            line_files: vec![writer.files.into_iter().map(Some).collect()],
            settlements: HashMap::from([(42, (strings_store, currency))]),
        };
        let (read_orders, read_lines) = spill.read(0).unwrap();
        // One part per loading thread, sorted as reconcile walks lines.
        let mut sorted = lines.to_vec();
        sort_lines(&mut sorted);
        assert_eq!(read_lines, vec![sorted]);
        let mut expected = orders.to_vec();
        expected.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        assert_eq!(read_orders, expected);
    }

    fn lines_template(store: Sym, currency: Currency, day: NaiveDate) -> LineFacts {
        LineFacts {
            line_id: 1,
            settlement_id: 42,
            line: 1,
            order_id: order_id("1"),
            store,
            marketplace: Sym(0),
            currency,
            transaction: TransactionClass::Order,
            component: Component::Principal,
            amount_minor: 1,
            quantity: 1,
            item: 1,
            fingerprint: 1,
            posted_date: day,
        }
    }

    fn orders_template(store: Sym, currency: Currency, day: NaiveDate) -> OrderFacts {
        OrderFacts {
            order_id: order_id("1"),
            store,
            marketplace: Sym(1),
            status: OrderStatus::Cancelled,
            purchase_date: day,
            ship_date: None,
            currency,
            amount_minor: 0,
            refunded_minor: None,
        }
    }

    #[test]
    fn ranges_ascend_and_cover_every_id() {
        let sample: Vec<OrderId> = (0..1000).map(|n| order_id(&format!("111-0000000-{n:07}"))).collect();
        let cuts = cuts(sample.clone(), 4);
        assert_eq!(cuts.len(), 3);
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
        // Every id falls in one range; ids in a lower range are smaller.
        let mut by_range = [0usize; 4];
        for id in &sample {
            by_range[range_of(&cuts, id)] += 1;
        }
        assert_eq!(by_range, [250, 250, 250, 250]);
        assert_eq!(range_of(&cuts, &order_id("000-0000000-0000000")), 0);
        assert_eq!(range_of(&cuts, &order_id("ZZZ-not-amazon")), 3);
        assert!(super::cuts(Vec::new(), 4).is_empty());
        assert!(super::cuts(sample, 1).is_empty());
    }
}
