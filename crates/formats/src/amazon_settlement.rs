//! Amazon settlement reports: flat file V2 (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`)
//! and the legacy "V1" flat file (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`), read into
//! a [`SettlementFile`]: one [`SettlementHeader`] per settlement, one [`SettlementLine`]
//! per amount component, and diagnostics with line and column. The format is described
//! in `../shared/formats/amazon-settlement-v2.md`.
//!
//! # Quirks handled
//!
//! * Tab-separated **without quoting**: a description may contain `"`; fields are split on
//!   tabs only. Every row must have as many fields as the header ("expected N
//!   tab-separated fields, found M"), which catches truncated files and files saved with
//!   another delimiter (a comma-separated header is named as such).
//! * UTF-8 with or without a BOM; LF or CRLF; blank lines (a trailing empty line, a line
//!   of tabs only) are skipped; text cells and numeric cells are trimmed (`32.09    ` in
//!   real Amazon.ca files); empty trailing columns are ordinary empty cells.
//! * Columns are found **by header name** (case-insensitive, trimmed), never by
//!   position: `promotion-id` comes and goes between V2 files (23 or 24 columns), V1
//!   files have 33 or 36 columns. Unknown columns are ignored; a missing required column
//!   is an error naming it. V1 is recognised by its `price-type`/`price-amount` columns.
//! * The first data row of a settlement is its **summary row** (settlement-id, dates,
//!   total-amount, currency; everything else empty). A file may hold several
//!   settlements: every row with total-amount filled opens a new one. Data rows must
//!   carry their settlement's id; currency may be blank (the settlement's) or repeated
//!   (must match).
//! * `sum(lines) == total-amount` is checked per settlement; a difference is a warning
//!   naming the settlement, total, sum and difference (imported and reported). The check
//!   is not reported for a settlement whose rows had errors (the file is refused anyway).
//! * Amounts are **locale formatted, per value** (`1141,18`, and `5,05` beside `5.05` in
//!   one EU file): [`NumberStyle::PerValue`], with the exponent of the settlement's
//!   currency; `1.234` is refused as ambiguous, never guessed.
//! * Dates: `2026-06-17 08:14:22 UTC`, `14.03.2023 07:49:55 UTC`, ISO 8601 with offset
//!   (V1), date-only (see [`crate::dates`]). A line's time is `posted-date-time` when
//!   filled, else `posted-date`. A slash `posted-date` (`09/06/25`, dd/mm or mm/dd
//!   depending on the marketplace) is read in the order the file reveals (the first
//!   slash date only one order can read, `25/06/25` or `06/25/25`, fixes it for the
//!   whole file) and, until one does, as the reading nearer to the settlement window. A date that does not exist is an error.
//!   `posted-date` is not read when `posted-date-time` is filled.
//!
//! # V1 rows become V2-like lines
//!
//! A V1 row spreads its amount over (type, amount) column pairs; each filled amount
//! becomes one line, all with the row's file line number, in this order:
//!
//! | V1 columns | amount-type | amount-description |
//! |---|---|---|
//! | price-type / price-amount | `ItemPrice` | price-type |
//! | item-related-fee-type / -amount | `ItemFees` | item-related-fee-type |
//! | promotion-type / -amount | `Promotion` | promotion-type |
//! | shipment-fee-type / -amount | `Shipment-Fees` | shipment-fee-type |
//! | order-fee-type / -amount | `Order-Fees` | order-fee-type |
//! | misc-fee-amount | `other-transaction` | `MiscFee` |
//! | other-fee-amount | `other-transaction` | other-fee-reason-description, else transaction-type |
//! | direct-payment-type / -amount | `DirectPayment` | direct-payment-type |
//! | other-amount | `other-transaction` | transaction-type |
//!
//! A V1 item's quantity comes on its own row with every amount column empty. Such a row
//! makes no line; its quantity goes to the lines of the same settlement, transaction
//! type, order-id and order-item-code that have none of their own (quantity rows of the
//! same key add up). A row with neither amount nor quantity is ignored, with one warning
//! for the file.
//!
//! # Speed
//!
//! A month of a large seller is millions of lines, so the per-row path allocates
//! nothing for repeated values: text cells are interned through a one-entry cache per
//! column (consecutive rows repeat most values), classification is cached per
//! (transaction type, amount type, description) symbol triple, the common amount
//! shape (`-12.34`, `5,05`) is read by a fast path equal to `parse_amount_minor`, and the
//! last posted date and order id are reused when repeated.

use std::collections::HashMap;

use tieout_core::diag::Diagnostic;
use tieout_core::ids::OrderId;
use tieout_core::intern::Sym;
use tieout_core::limits;
use tieout_core::money::{format_minor, parse_amount_minor, AmountError, Currency, NumberStyle};
use tieout_core::records::{
    classify_line, Component, LineKind, SettlementFile, SettlementHeader, SettlementLine, TransactionClass,
};

use crate::dates::{self, DateError, DateOrder};
use crate::text::numbered_lines;

/// Reads an Amazon settlement flat file (V2 or V1) from its bytes. Problems are in the
/// returned diagnostics; any error means the file must not be imported.
pub fn read_settlement(file_name: &str, bytes: &[u8]) -> SettlementFile {
    read_settlement_in_parts(file_name, bytes, usize::MAX, &mut |_, _| true)
}

/// [`read_settlement`], handing the lines out as they are read, about `part_lines` at a
/// time, so that a file of millions of lines is never held parsed in whole: `part(file,
/// lines)` gets the lines read since the last part and the file so far (its strings, the
/// settlements begun so far — their sums not final —, the diagnostics so far); it returns
/// `false` to stop reading. The returned file holds what was not handed out: the lines
/// after the last part, and the settlements with their final sums. Parts stop once the
/// file has an error (the file will be refused; the rest is read only for its
/// diagnostics). V1 files are handed out whole at the end (their quantities are completed
/// from rows anywhere in the file).
pub fn read_settlement_in_parts(
    file_name: &str,
    bytes: &[u8],
    part_lines: usize,
    part: &mut dyn FnMut(&SettlementFile, Vec<SettlementLine>) -> bool,
) -> SettlementFile {
    let mut source = bytes;
    read_settlement_from(file_name, &mut source, Some(bytes.len()), part_lines, part)
}

/// Bytes read at a time by [`read_settlement_from`].
const BLOCK_BYTES: usize = 8 << 20;

/// [`read_settlement_in_parts`] reading from `source` a block at a time, so that memory
/// holds one block of the text and one part of the lines, whatever the file's size.
/// `size` is the file's size when known (to reserve memory for a file read whole). A
/// failure to read `source` is an error diagnostic at the line reached.
pub fn read_settlement_from(
    file_name: &str,
    source: &mut dyn std::io::Read,
    size: Option<usize>,
    part_lines: usize,
    part: &mut dyn FnMut(&SettlementFile, Vec<SettlementLine>) -> bool,
) -> SettlementFile {
    read_blocks(file_name, source, size, part_lines, part, BLOCK_BYTES)
}

fn read_blocks(
    file_name: &str,
    source: &mut dyn std::io::Read,
    size: Option<usize>,
    part_lines: usize,
    part: &mut dyn FnMut(&SettlementFile, Vec<SettlementLine>) -> bool,
    block_bytes: usize,
) -> SettlementFile {
    let mut out = SettlementFile::default();
    let mut block: Vec<u8> = Vec::with_capacity(block_bytes.min(size.unwrap_or(block_bytes)) + 1);
    let mut total: u64 = 0;
    let mut lines_before: u32 = 0;
    let mut at_start = true;
    let mut eof = false;
    // Before the header: (line of a blank first line, whether anything non-blank followed).
    let mut blank_header: Option<u32> = None;
    let mut reader: Option<Reader<'_>> = None;
    let mut in_parts = false;
    let fail = |mut out: SettlementFile, diagnostic: Diagnostic| {
        out.diagnostics.push(diagnostic);
        out
    };
    'blocks: loop {
        // Fill the block, then take the text up to its last complete line.
        while !eof && block.len() < block_bytes {
            // Reads of at most 64 KiB: the block is zeroed only as far as it is filled.
            let filled = block.len();
            block.resize(filled + (block_bytes.saturating_sub(filled)).clamp(1, 64 << 10), 0);
            match source.read(&mut block[filled..]) {
                Ok(0) => {
                    block.truncate(filled);
                    eof = true;
                }
                Ok(read) => {
                    block.truncate(filled + read);
                    total += read as u64;
                    if total > limits::FILE_SIZE_BYTES_MAX {
                        let message = format!(
                            "the file is over {} bytes; tieout reads settlement files up to {} bytes",
                            limits::FILE_SIZE_BYTES_MAX,
                            limits::FILE_SIZE_BYTES_MAX
                        );
                        let out = reader.map_or(out, |r| r.out);
                        return fail(out, Diagnostic::error(file_name, 0, 0, message));
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => block.truncate(filled),
                Err(error) => {
                    let out = reader.map_or(out, |r| r.out);
                    let message = format!("cannot read the file: {error}");
                    return fail(out, Diagnostic::error(file_name, lines_before + 1, 0, message));
                }
            }
        }
        let end = match (eof, block.iter().rposition(|b| *b == b'\n')) {
            (true, _) => block.len(),
            (false, Some(newline)) => newline + 1,
            // One line longer than a block: read it whole (the row refuses it as too long).
            (false, None) if block.len() < block_bytes + limits::LINE_LENGTH_BYTES_MAX * 2 => {
                let filled = block.len();
                block.resize(filled + block_bytes.clamp(1, 64 << 10), 0);
                match source.read(&mut block[filled..]) {
                    Ok(read) => {
                        block.truncate(filled + read);
                        total += read as u64;
                        eof = read == 0;
                    }
                    Err(error) => {
                        let out = reader.map_or(out, |r| r.out);
                        let message = format!("cannot read the file: {error}");
                        return fail(out, Diagnostic::error(file_name, lines_before + 1, 0, message));
                    }
                }
                continue;
            }
            (false, None) => block.len(),
        };
        let mut chunk = &block[..end];
        if at_start {
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
            at_start = false;
        }
        let text = match std::str::from_utf8(chunk) {
            Ok(text) => text,
            Err(_) => {
                let mut diagnostic = match crate::text::decode_utf8(file_name, chunk) {
                    Err(diagnostic) => diagnostic,
                    Ok(_) => unreachable!("the same bytes fail the same way"),
                };
                diagnostic.line += lines_before;
                // As for a file read whole: not text, so nothing of it is read (its rows'
                // problems not listed either).
                return fail(SettlementFile::default(), diagnostic);
            }
        };
        let mut last_number = lines_before;
        // Scratch for a row's fields, borrowing this block's text.
        let mut fields: Vec<&str> = Vec::with_capacity(64);
        for (index, line) in numbered_lines(text) {
            let number = lines_before + index;
            last_number = number;
            match (&mut reader, blank_header) {
                (Some(reader), _) => {
                    reader.row(number, line, &mut fields);
                    if reader.stopped {
                        break 'blocks;
                    }
                    if in_parts && reader.out.lines.len() >= part_lines && reader.error_count == 0 {
                        let lines = std::mem::replace(&mut reader.out.lines, Vec::with_capacity(part_lines));
                        if !part(&reader.out, lines) {
                            break 'blocks;
                        }
                    }
                }
                (None, Some(header_line)) => {
                    if !line.trim().is_empty() {
                        // A blank first line before other content: the header is missing.
                        let diagnostic = Layout::read(file_name, header_line, "").err().unwrap_or_else(|| {
                            Diagnostic::error(file_name, header_line, 0, "the first line is blank, not a header")
                        });
                        return fail(out, diagnostic);
                    }
                }
                (None, None) if line.trim().is_empty() => blank_header = Some(number),
                (None, None) => {
                    let layout = match Layout::read(file_name, number, line) {
                        Ok(layout) => layout,
                        Err(diagnostic) => return fail(out, diagnostic),
                    };
                    in_parts = part_lines != usize::MAX && layout.version == Version::V2;
                    let mut file = std::mem::take(&mut out);
                    // Real lines are 150–200 bytes: reserving for one line per 128 bytes
                    // of a file read whole avoids growing (and copying) a vector of
                    // millions of lines.
                    let expected = size.unwrap_or(0) / 128;
                    file.lines.reserve(if in_parts { part_lines.min(expected) } else { expected });
                    reader = Some(Reader::new(file_name, layout, file));
                }
            }
        }
        // `numbered_lines` does not count a final terminator, so a text ending in "\n" has
        // as many lines as it has terminators.
        lines_before = last_number.max(lines_before);
        drop(fields);
        block.drain(..end);
        if eof && block.is_empty() {
            break;
        }
    }
    match reader {
        Some(reader) => reader.finish(),
        None => fail(out, Diagnostic::error(file_name, 0, 0, "the file is empty")),
    }
}

macro_rules! columns {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// The columns of both versions, V2 first.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Col { $($variant),* }

        /// Header names, in `Col` order.
        const COLUMN_NAMES: &[&str] = &[$($name),*];
        const COLUMNS: &[Col] = &[$(Col::$variant),*];
    };
}

columns! {
    SettlementId = "settlement-id",
    SettlementStartDate = "settlement-start-date",
    SettlementEndDate = "settlement-end-date",
    DepositDate = "deposit-date",
    TotalAmount = "total-amount",
    Currency = "currency",
    TransactionType = "transaction-type",
    OrderId = "order-id",
    MerchantOrderId = "merchant-order-id",
    AdjustmentId = "adjustment-id",
    ShipmentId = "shipment-id",
    MarketplaceName = "marketplace-name",
    AmountType = "amount-type",
    AmountDescription = "amount-description",
    Amount = "amount",
    FulfillmentId = "fulfillment-id",
    PostedDate = "posted-date",
    PostedDateTime = "posted-date-time",
    OrderItemCode = "order-item-code",
    MerchantOrderItemId = "merchant-order-item-id",
    MerchantAdjustmentItemId = "merchant-adjustment-item-id",
    Sku = "sku",
    QuantityPurchased = "quantity-purchased",
    PromotionId = "promotion-id",
    ShipmentFeeType = "shipment-fee-type",
    ShipmentFeeAmount = "shipment-fee-amount",
    OrderFeeType = "order-fee-type",
    OrderFeeAmount = "order-fee-amount",
    PriceType = "price-type",
    PriceAmount = "price-amount",
    ItemRelatedFeeType = "item-related-fee-type",
    ItemRelatedFeeAmount = "item-related-fee-amount",
    MiscFeeAmount = "misc-fee-amount",
    OtherFeeAmount = "other-fee-amount",
    OtherFeeReasonDescription = "other-fee-reason-description",
    PromotionType = "promotion-type",
    PromotionAmount = "promotion-amount",
    DirectPaymentType = "direct-payment-type",
    DirectPaymentAmount = "direct-payment-amount",
    OtherAmount = "other-amount",
}

const COLUMN_COUNT: usize = COLUMN_NAMES.len();
const _: () = assert!(COLUMNS.len() == COLUMN_COUNT);

/// Every V2 column but `promotion-id`, which some V2 files lack.
const V2_REQUIRED: &[Col] = &[
    Col::SettlementId,
    Col::SettlementStartDate,
    Col::SettlementEndDate,
    Col::DepositDate,
    Col::TotalAmount,
    Col::Currency,
    Col::TransactionType,
    Col::OrderId,
    Col::MerchantOrderId,
    Col::AdjustmentId,
    Col::ShipmentId,
    Col::MarketplaceName,
    Col::AmountType,
    Col::AmountDescription,
    Col::Amount,
    Col::FulfillmentId,
    Col::PostedDate,
    Col::PostedDateTime,
    Col::OrderItemCode,
    Col::MerchantOrderItemId,
    Col::MerchantAdjustmentItemId,
    Col::Sku,
    Col::QuantityPurchased,
];

/// The 33 columns of the older V1 variant; the 36-column one adds `promotion-id`,
/// `promotion-type` and `promotion-amount`.
const V1_REQUIRED: &[Col] = &[
    Col::SettlementId,
    Col::SettlementStartDate,
    Col::SettlementEndDate,
    Col::DepositDate,
    Col::TotalAmount,
    Col::Currency,
    Col::TransactionType,
    Col::OrderId,
    Col::MerchantOrderId,
    Col::AdjustmentId,
    Col::ShipmentId,
    Col::MarketplaceName,
    Col::ShipmentFeeType,
    Col::ShipmentFeeAmount,
    Col::OrderFeeType,
    Col::OrderFeeAmount,
    Col::FulfillmentId,
    Col::PostedDate,
    Col::OrderItemCode,
    Col::MerchantOrderItemId,
    Col::MerchantAdjustmentItemId,
    Col::Sku,
    Col::QuantityPurchased,
    Col::PriceType,
    Col::PriceAmount,
    Col::ItemRelatedFeeType,
    Col::ItemRelatedFeeAmount,
    Col::MiscFeeAmount,
    Col::OtherFeeAmount,
    Col::OtherFeeReasonDescription,
    Col::DirectPaymentType,
    Col::DirectPaymentAmount,
    Col::OtherAmount,
];

const V2_AMOUNTS: &[Col] = &[Col::Amount];

/// Where a V1 line's description comes from.
#[derive(Clone, Copy)]
enum V1Description {
    Column(Col),
    Fixed(&'static str),
    ColumnOrTransactionType(Col),
    TransactionType,
}

struct V1Pair {
    amount: Col,
    amount_type: &'static str,
    description: V1Description,
}

/// The V1 → V2 conversion table (see the module documentation).
const V1_PAIRS: [V1Pair; 9] = [
    V1Pair { amount: Col::PriceAmount, amount_type: "ItemPrice", description: V1Description::Column(Col::PriceType) },
    V1Pair {
        amount: Col::ItemRelatedFeeAmount,
        amount_type: "ItemFees",
        description: V1Description::Column(Col::ItemRelatedFeeType),
    },
    V1Pair {
        amount: Col::PromotionAmount,
        amount_type: "Promotion",
        description: V1Description::Column(Col::PromotionType),
    },
    V1Pair {
        amount: Col::ShipmentFeeAmount,
        amount_type: "Shipment-Fees",
        description: V1Description::Column(Col::ShipmentFeeType),
    },
    V1Pair {
        amount: Col::OrderFeeAmount,
        amount_type: "Order-Fees",
        description: V1Description::Column(Col::OrderFeeType),
    },
    V1Pair {
        amount: Col::MiscFeeAmount,
        amount_type: "other-transaction",
        description: V1Description::Fixed("MiscFee"),
    },
    V1Pair {
        amount: Col::OtherFeeAmount,
        amount_type: "other-transaction",
        description: V1Description::ColumnOrTransactionType(Col::OtherFeeReasonDescription),
    },
    V1Pair {
        amount: Col::DirectPaymentAmount,
        amount_type: "DirectPayment",
        description: V1Description::Column(Col::DirectPaymentType),
    },
    V1Pair { amount: Col::OtherAmount, amount_type: "other-transaction", description: V1Description::TransactionType },
];

const V1_AMOUNTS: &[Col] = &[
    Col::PriceAmount,
    Col::ItemRelatedFeeAmount,
    Col::PromotionAmount,
    Col::ShipmentFeeAmount,
    Col::OrderFeeAmount,
    Col::MiscFeeAmount,
    Col::OtherFeeAmount,
    Col::DirectPaymentAmount,
    Col::OtherAmount,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V2,
    V1,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::V2 => "Amazon settlement flat file V2",
            Version::V1 => "Amazon settlement flat file V1",
        }
    }

    fn required(self) -> &'static [Col] {
        match self {
            Version::V2 => V2_REQUIRED,
            Version::V1 => V1_REQUIRED,
        }
    }

    fn amount_columns(self) -> &'static [Col] {
        match self {
            Version::V2 => V2_AMOUNTS,
            Version::V1 => V1_AMOUNTS,
        }
    }
}

const ABSENT: usize = usize::MAX;

/// Where each known column is in this file.
struct Layout {
    version: Version,
    /// Fields per row (the header's).
    width: usize,
    /// Field index of each `Col`, or `ABSENT`.
    index: [usize; COLUMN_COUNT],
    /// Header names as written (trimmed), for diagnostics.
    names: Vec<String>,
}

impl Layout {
    fn read(file: &str, line: u32, header: &str) -> Result<Layout, Diagnostic> {
        let error = |column: u32, message: String| Diagnostic::error(file, line, column, message);
        if header.len() > limits::LINE_LENGTH_BYTES_MAX {
            return Err(error(0, format!("the header line is longer than {} bytes", limits::LINE_LENGTH_BYTES_MAX)));
        }
        if header.trim().is_empty() {
            return Err(error(0, "the first line is empty; an Amazon settlement file starts with its header line (settlement-id, settlement-start-date, …)".to_owned()));
        }
        let names: Vec<String> = header.split('\t').map(|name| name.trim().to_owned()).collect();
        if names.len() == 1 {
            let delimiter = [(',', "comma"), (';', "semicolon"), ('|', "pipe")]
                .into_iter()
                .find(|(delimiter, _)| header.contains(*delimiter));
            let message = match delimiter {
                Some((_, name)) => format!("the header has no tab: this file is {name}-separated, but Amazon settlement files are tab-separated (download the flat file again rather than re-saving it from a spreadsheet)"),
                None => "the header has a single column: Amazon settlement files are tab-separated".to_owned(),
            };
            return Err(error(0, message));
        }
        if names.len() > limits::ROW_COLUMNS_MAX {
            return Err(error(
                0,
                format!("the header has {} columns; at most {} are read", names.len(), limits::ROW_COLUMNS_MAX),
            ));
        }
        let mut index = [ABSENT; COLUMN_COUNT];
        for (position, name) in names.iter().enumerate() {
            let Some(known) = COLUMN_NAMES.iter().position(|known| known.eq_ignore_ascii_case(name)) else {
                continue; // Unknown columns are tolerated and ignored.
            };
            if index[known] != ABSENT {
                let message =
                    format!("column '{name}' appears twice (columns {} and {})", index[known] + 1, position + 1);
                return Err(error(position as u32 + 1, message));
            }
            index[known] = position;
        }
        let has = |col: Col| index[col as usize] != ABSENT;
        let version = if !has(Col::AmountType)
            && !has(Col::Amount)
            && (has(Col::PriceType) || has(Col::PriceAmount) || has(Col::ItemRelatedFeeType))
        {
            Version::V1
        } else {
            Version::V2
        };
        let missing: Vec<&str> =
            version.required().iter().filter(|col| !has(**col)).map(|col| COLUMN_NAMES[*col as usize]).collect();
        if !missing.is_empty() {
            let list = missing.iter().map(|name| format!("'{name}'")).collect::<Vec<_>>().join(", ");
            let noun = if missing.len() == 1 { "column" } else { "columns" };
            let unknown: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(_, name)| !COLUMN_NAMES.iter().any(|known| known.eq_ignore_ascii_case(name)))
                .map(|(position, name)| format!("'{name}' (column {})", position + 1))
                .collect();
            let mut message = format!("the header lacks the required {noun} {list} of an {}", version.name());
            if !unknown.is_empty() {
                message.push_str(&format!("; columns it does not know: {}", unknown.join(", ")));
            }
            return Err(error(0, message));
        }
        Ok(Layout { version, width: names.len(), index, names })
    }

    fn field<'a>(&self, fields: &[&'a str], col: Col) -> &'a str {
        fields.get(self.index[col as usize]).copied().unwrap_or("")
    }

    /// 1-based column number, 0 when the file has no such column.
    fn column_number(&self, col: Col) -> u32 {
        match self.index[col as usize] {
            ABSENT => 0,
            position => position as u32 + 1,
        }
    }

    fn column_name(&self, col: Col) -> &str {
        match self.index[col as usize] {
            ABSENT => COLUMN_NAMES[col as usize],
            position => &self.names[position],
        }
    }
}

type Class = (TransactionClass, Component, LineKind);

/// The last raw cell of a column and its symbol. Owned (not borrowed from the text), so
/// that a file can be read block by block with one reader.
#[derive(Clone)]
struct SymCache {
    raw: String,
    sym: Sym,
}

/// The settlement whose rows are being read.
#[derive(Clone, Copy)]
struct Open {
    /// Index in `SettlementFile::settlements`.
    index: usize,
    id: u64,
    currency: Currency,
    start: i64,
    end: i64,
    line: u32,
    sum_minor: i64,
    line_count: u32,
    errors_at_open: usize,
}

#[derive(Clone, Copy)]
enum State {
    BeforeFirstSummary,
    Open(Open),
    /// After a refused summary row (or data before any): rows are skipped until the next
    /// summary row, whose problem was already reported once.
    Skipping,
}

/// Quantity rows of V1 files, keyed by (settlement, transaction type, order, order item).
type QuantityKey = (u64, Sym, Option<OrderId>, Sym);

struct V1State {
    amount_types: [Sym; V1_PAIRS.len()],
    fixed_descriptions: [Sym; V1_PAIRS.len()],
    quantities: HashMap<QuantityKey, u32>,
    /// Rows with neither amount nor quantity: (count, first line).
    empty_rows: (u32, u32),
}

struct Reader<'f> {
    file: &'f str,
    layout: Layout,
    out: SettlementFile,
    state: State,
    error_count: usize,
    stopped: bool,
    rows: u32,
    symbols: [SymCache; COLUMN_COUNT],
    last_class: ((Sym, Sym, Sym), Class),
    classes: HashMap<(Sym, Sym, Sym), Class>,
    last_order_id: (String, Option<OrderId>),
    last_posted: (String, i64),
    /// A currency cell text already checked against the open settlement's.
    last_currency_text: String,
    /// The settlement-id and currency cells of the open settlement's summary row.
    open_id_text: String,
    open_currency_text: String,
    slash_order: Option<DateOrder>,
    v1: Option<V1State>,
}

impl<'f> Reader<'f> {
    fn new(file: &'f str, layout: Layout, mut out: SettlementFile) -> Reader<'f> {
        let v1 = (layout.version == Version::V1).then(|| V1State {
            amount_types: V1_PAIRS.map(|pair| out.strings.intern(pair.amount_type)),
            fixed_descriptions: V1_PAIRS.map(|pair| match pair.description {
                V1Description::Fixed(text) => out.strings.intern(text),
                _ => Sym::EMPTY,
            }),
            quantities: HashMap::new(),
            empty_rows: (0, 0),
        });
        Reader {
            file,
            layout,
            out,
            state: State::BeforeFirstSummary,
            error_count: 0,
            stopped: false,
            rows: 0,
            symbols: std::array::from_fn(|_| SymCache { raw: String::new(), sym: Sym::EMPTY }),
            last_class: ((Sym::EMPTY, Sym::EMPTY, Sym::EMPTY), classify_line("", "", "")),
            classes: HashMap::new(),
            last_order_id: (String::new(), None),
            last_posted: (String::new(), 0),
            last_currency_text: String::new(),
            open_id_text: String::new(),
            open_currency_text: String::new(),
            slash_order: None,
            v1,
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        if diagnostic.is_error() {
            self.error_count += 1;
        }
        if self.stopped {
            return;
        }
        self.stopped = !crate::text::push_limited(&mut self.out.diagnostics, self.file, diagnostic);
    }

    fn line_error(&mut self, line: u32, message: impl Into<String>) {
        self.push(Diagnostic::error(self.file, line, 0, message));
    }

    fn field_error(&mut self, line: u32, col: Col, message: impl Into<String>) {
        let diagnostic = Diagnostic::error(self.file, line, self.layout.column_number(col), message)
            .with_column_name(self.layout.column_name(col));
        self.push(diagnostic);
    }

    /// Reads one row; `fields` is scratch space, reused from row to row.
    fn row<'t>(&mut self, number: u32, line: &'t str, fields: &mut Vec<&'t str>) {
        if line.len() > limits::LINE_LENGTH_BYTES_MAX {
            let message =
                format!("the line is {} bytes long; at most {} are read", line.len(), limits::LINE_LENGTH_BYTES_MAX);
            self.line_error(number, message);
            return;
        }
        if line.trim().is_empty() {
            return;
        }
        self.rows += 1;
        if self.rows > limits::FILE_ROWS_MAX {
            self.line_error(number, format!("the file has more than {} rows", limits::FILE_ROWS_MAX));
            self.stopped = true;
            return;
        }
        split_tabs(line, fields);
        if fields.len() != self.layout.width {
            let hint = if fields.len() == 1 && line.contains(',') {
                " (is this line comma-separated?)"
            } else if fields.len() < self.layout.width {
                " (a truncated line?)"
            } else {
                " (a tab inside a value?)"
            };
            let message = format!("expected {} tab-separated fields, found {}{hint}", self.layout.width, fields.len());
            // The column is where the row stops matching the header: its last field when
            // it is short, the first extra field when it is long.
            let column = (fields.len().min(self.layout.width + 1)) as u32;
            self.push(Diagnostic::error(self.file, number, column, message));
        } else if !self.layout.field(fields, Col::TotalAmount).trim().is_empty() {
            self.summary_row(number, fields);
        } else {
            match self.state {
                State::Open(open) => self.data_row(number, fields, open),
                State::BeforeFirstSummary => {
                    self.field_error(
                        number,
                        Col::TotalAmount,
                        "data line before any settlement summary row (the first data row of a settlement carries its settlement-id, dates, total-amount and currency)",
                    );
                    self.state = State::Skipping;
                }
                State::Skipping => {}
            }
        }
    }

    fn summary_row(&mut self, number: u32, fields: &[&str]) {
        self.close_settlement();
        self.last_posted.0.clear();
        self.last_posted.1 = 0;
        let errors_before = self.error_count;
        let id_text = self.layout.field(fields, Col::SettlementId);
        let id = match parse_settlement_id(id_text) {
            Ok(id) => Some(id),
            Err(message) => {
                self.field_error(number, Col::SettlementId, message);
                None
            }
        };
        let currency_text = self.layout.field(fields, Col::Currency);
        let currency = match currency_text.trim() {
            "" => {
                self.field_error(number, Col::Currency, "the settlement summary row has no currency");
                None
            }
            code => match Currency::from_code(code) {
                Ok(currency) => Some(currency),
                Err(error) => {
                    self.field_error(number, Col::Currency, error.to_string());
                    None
                }
            },
        };
        let total =
            currency.and_then(|currency| self.amount(number, fields, Col::TotalAmount, currency).ok().flatten());
        let start = self.summary_date(number, fields, Col::SettlementStartDate, true).ok().flatten();
        let end = self.summary_date(number, fields, Col::SettlementEndDate, true).ok().flatten();
        let deposit = self.summary_date(number, fields, Col::DepositDate, false).ok();
        if let (Some(start), Some(end)) = (start, end) {
            if end < start {
                self.field_error(number, Col::SettlementEndDate, "settlement-end-date is before settlement-start-date");
            }
        }
        let transaction_columns = std::iter::once(&Col::TransactionType).chain(self.layout.version.amount_columns());
        if let Some(col) = transaction_columns.copied().find(|col| !self.layout.field(fields, *col).trim().is_empty()) {
            self.field_error(
                number,
                col,
                "a row with total-amount filled is a settlement summary row and must not also carry a transaction",
            );
        }
        if let Some(id) = id {
            if let Some(earlier) = self.out.settlements.iter().find(|header| header.settlement_id == id) {
                let message = format!(
                    "settlement {id} appears twice in this file (summary rows on lines {} and {number})",
                    earlier.line
                );
                self.field_error(number, Col::SettlementId, message);
            }
        }
        let (Some(id), Some(currency), Some(total), Some(start), Some(end), Some(deposit)) =
            (id, currency, total, start, end, deposit)
        else {
            self.state = State::Skipping;
            return;
        };
        if self.error_count > errors_before {
            self.state = State::Skipping;
            return;
        }
        self.out.settlements.push(SettlementHeader {
            settlement_id: id,
            line: number,
            start_utc_seconds: start,
            end_utc_seconds: end,
            deposit_utc_seconds: deposit,
            total_minor: total,
            currency,
            lines_sum_minor: 0,
            line_count: 0,
        });
        self.last_currency_text.clear();
        self.last_currency_text.push_str(currency_text);
        self.open_id_text.clear();
        self.open_id_text.push_str(id_text);
        self.open_currency_text.clear();
        self.open_currency_text.push_str(currency_text);
        self.state = State::Open(Open {
            index: self.out.settlements.len() - 1,
            id,
            currency,
            start,
            end,
            line: number,
            sum_minor: 0,
            line_count: 0,
            errors_at_open: self.error_count,
        });
    }

    /// A summary row's date: `Ok(None)` when empty and optional; `Err(())` when refused
    /// (reported), including empty and required.
    fn summary_date(&mut self, number: u32, fields: &[&str], col: Col, required: bool) -> Result<Option<i64>, ()> {
        let text = self.layout.field(fields, col);
        if text.trim().is_empty() {
            if required {
                self.field_error(
                    number,
                    col,
                    format!("the settlement summary row has no {}", COLUMN_NAMES[col as usize]),
                );
                return Err(());
            }
            return Ok(None);
        }
        match dates::parse_instant(text) {
            Ok(seconds) => Ok(Some(seconds)),
            Err(error) => {
                self.field_error(number, col, error.to_string());
                Err(())
            }
        }
    }

    fn close_settlement(&mut self) {
        let State::Open(open) = std::mem::replace(&mut self.state, State::Skipping) else {
            return;
        };
        let header = &mut self.out.settlements[open.index];
        header.lines_sum_minor = open.sum_minor;
        header.line_count = open.line_count;
        if header.is_consistent() || self.error_count > open.errors_at_open {
            return;
        }
        let exponent = header.currency.exponent();
        let money = |amount_minor: i64| format!("{} {}", format_minor(amount_minor, exponent), header.currency);
        let message = format!(
            "settlement {} is inconsistent: total-amount {}, lines sum to {}, difference {}",
            header.settlement_id,
            money(header.total_minor),
            money(header.lines_sum_minor),
            money(header.difference_minor()),
        );
        let diagnostic =
            Diagnostic::warning(self.file, open.line, self.layout.column_number(Col::TotalAmount), message)
                .with_column_name(self.layout.column_name(Col::TotalAmount));
        self.push(diagnostic);
    }

    fn data_row(&mut self, number: u32, fields: &[&str], open: Open) {
        let errors_before = self.error_count;
        self.check_settlement_id(number, fields, &open);
        self.check_currency(number, fields, &open);
        let posted = self.posted(number, fields, &open);
        let quantity = self.quantity(number, fields);
        let line = SettlementLine {
            settlement_id: open.id,
            line: number,
            transaction_type: self.sym(fields, Col::TransactionType),
            order_id: self.order_id(fields),
            merchant_order_id: self.sym(fields, Col::MerchantOrderId),
            adjustment_id: self.sym(fields, Col::AdjustmentId),
            shipment_id: self.sym(fields, Col::ShipmentId),
            marketplace: self.sym(fields, Col::MarketplaceName),
            amount_type: Sym::EMPTY,
            amount_description: Sym::EMPTY,
            amount_minor: 0,
            currency: open.currency,
            fulfillment: self.sym(fields, Col::FulfillmentId),
            posted_utc_seconds: posted.unwrap_or(0),
            order_item_code: self.sym(fields, Col::OrderItemCode),
            sku: self.sym(fields, Col::Sku),
            quantity,
            promotion_id: self.sym(fields, Col::PromotionId),
            transaction: TransactionClass::Other,
            component: Component::Other,
            kind: LineKind::Transaction,
        };
        match self.layout.version {
            Version::V2 => {
                let amount = match self.amount(number, fields, Col::Amount, open.currency) {
                    Ok(Some(amount)) => Some(amount),
                    Ok(None) => {
                        self.field_error(number, Col::Amount, "empty amount");
                        None
                    }
                    Err(()) => None,
                };
                let amount_type = self.sym(fields, Col::AmountType);
                let amount_description = self.sym(fields, Col::AmountDescription);
                if self.error_count > errors_before {
                    return;
                }
                let amount_minor = amount.expect("no error means an amount");
                self.add_line(SettlementLine { amount_type, amount_description, amount_minor, ..line });
            }
            Version::V1 => self.v1_lines(number, fields, open, line, errors_before),
        }
    }

    fn v1_lines(&mut self, number: u32, fields: &[&str], open: Open, line: SettlementLine, errors_before: usize) {
        let mut amounts = [None; V1_PAIRS.len()];
        for (slot, pair) in amounts.iter_mut().zip(&V1_PAIRS) {
            *slot = self.amount(number, fields, pair.amount, open.currency).ok().flatten();
        }
        if self.error_count > errors_before {
            return;
        }
        let v1 = self.v1.as_mut().expect("V1 layout has V1 state");
        if amounts.iter().all(Option::is_none) {
            if line.quantity > 0 {
                let key = (open.id, line.transaction_type, line.order_id, line.order_item_code);
                *v1.quantities.entry(key).or_insert(0) += line.quantity;
            } else {
                if v1.empty_rows.0 == 0 {
                    v1.empty_rows.1 = number;
                }
                v1.empty_rows.0 += 1;
            }
            return;
        }
        let amount_types = v1.amount_types;
        let fixed_descriptions = v1.fixed_descriptions;
        for (index, (amount, pair)) in amounts.iter().zip(&V1_PAIRS).enumerate() {
            let Some(amount_minor) = *amount else {
                continue;
            };
            let amount_description = match pair.description {
                V1Description::Column(col) => self.sym(fields, col),
                V1Description::Fixed(_) => fixed_descriptions[index],
                V1Description::ColumnOrTransactionType(col) => match self.sym(fields, col) {
                    Sym::EMPTY => line.transaction_type,
                    description => description,
                },
                V1Description::TransactionType => line.transaction_type,
            };
            let amount_type = amount_types[index];
            self.add_line(SettlementLine { amount_type, amount_description, amount_minor, ..line.clone() });
        }
    }

    /// Classifies, adds to the open settlement's sum and keeps the line.
    fn add_line(&mut self, mut line: SettlementLine) {
        (line.transaction, line.component, line.kind) =
            self.classify((line.transaction_type, line.amount_type, line.amount_description));
        let State::Open(open) = &mut self.state else {
            unreachable!("lines are added to an open settlement");
        };
        let Some(sum) = open.sum_minor.checked_add(line.amount_minor) else {
            let message = format!("the lines of settlement {} sum beyond the range tieout can hold", open.id);
            self.line_error(line.line, message);
            return;
        };
        open.sum_minor = sum;
        open.line_count += 1;
        self.out.lines.push(line);
    }

    fn check_settlement_id(&mut self, number: u32, fields: &[&str], open: &Open) {
        let text = self.layout.field(fields, Col::SettlementId);
        if text == self.open_id_text {
            return;
        }
        match parse_settlement_id(text) {
            Ok(id) if id == open.id => {}
            Ok(id) => {
                let message = format!(
                    "settlement-id {id} differs from {}, the settlement whose summary row is line {}",
                    open.id, open.line
                );
                self.field_error(number, Col::SettlementId, message);
            }
            Err(message) => self.field_error(number, Col::SettlementId, message),
        }
    }

    fn check_currency(&mut self, number: u32, fields: &[&str], open: &Open) {
        let text = self.layout.field(fields, Col::Currency);
        if text.is_empty() || text == self.last_currency_text || text == self.open_currency_text {
            return;
        }
        let code = text.trim();
        if code.is_empty() {
            return;
        }
        match Currency::from_code(code) {
            Ok(currency) if currency == open.currency => {
                self.last_currency_text.clear();
                self.last_currency_text.push_str(text);
            }
            Ok(currency) => {
                let message = format!("currency {currency} differs from the settlement's {}", open.currency);
                self.field_error(number, Col::Currency, message);
            }
            Err(error) => self.field_error(number, Col::Currency, error.to_string()),
        }
    }

    /// The line's time: posted-date-time, else posted-date (see the module documentation).
    fn posted(&mut self, number: u32, fields: &[&str], open: &Open) -> Option<i64> {
        let date_time = self.layout.field(fields, Col::PostedDateTime);
        let (col, text) = if date_time.trim().is_empty() {
            (Col::PostedDate, self.layout.field(fields, Col::PostedDate))
        } else {
            (Col::PostedDateTime, date_time)
        };
        if text == self.last_posted.0 && !text.is_empty() {
            return Some(self.last_posted.1);
        }
        if text.trim().is_empty() {
            let message = match self.layout.version {
                Version::V2 => "posted-date-time and posted-date are both empty",
                Version::V1 => "empty posted-date",
            };
            self.field_error(number, col, message);
            return None;
        }
        let parsed = match col {
            Col::PostedDateTime => dates::parse_instant(text),
            _ => self.posted_date(text, open),
        };
        match parsed {
            Ok(seconds) => {
                self.last_posted.0.clear();
                self.last_posted.0.push_str(text);
                self.last_posted.1 = seconds;
                Some(seconds)
            }
            Err(error) => {
                self.field_error(number, col, error.to_string());
                None
            }
        }
    }

    fn posted_date(&mut self, text: &str, open: &Open) -> Result<i64, DateError> {
        if self.slash_order.is_none() {
            self.slash_order = dates::slash_date_order(text);
        }
        match self.slash_order {
            Some(order) => dates::parse_instant_ordered(text, order),
            None => dates::parse_instant_near(text, open.start, open.end),
        }
    }

    fn quantity(&mut self, number: u32, fields: &[&str]) -> u32 {
        let text = self.layout.field(fields, Col::QuantityPurchased).trim();
        if text.is_empty() {
            return 0;
        }
        match text.parse::<u32>() {
            Ok(quantity) => quantity,
            Err(_) => {
                self.field_error(number, Col::QuantityPurchased, format!("'{text}' is not a whole number of units"));
                0
            }
        }
    }

    /// Reads an amount cell; `Ok(None)` when empty, `Err(())` when refused (reported).
    fn amount(&mut self, number: u32, fields: &[&str], col: Col, currency: Currency) -> Result<Option<i64>, ()> {
        let text = self.layout.field(fields, col);
        if text.is_empty() {
            return Ok(None);
        }
        match parse_amount(text, currency.exponent()) {
            Ok(amount) => Ok(Some(amount)),
            Err(AmountError::Empty) => Ok(None),
            Err(error) => {
                self.field_error(number, col, error.to_string());
                Err(())
            }
        }
    }

    fn order_id(&mut self, fields: &[&str]) -> Option<OrderId> {
        let text = self.layout.field(fields, Col::OrderId);
        if text != self.last_order_id.0 {
            self.last_order_id.0.clear();
            self.last_order_id.0.push_str(text);
            self.last_order_id.1 = OrderId::parse(text);
        }
        self.last_order_id.1.clone()
    }

    /// The symbol of a text cell (trimmed), reusing the column's last one when repeated.
    fn sym(&mut self, fields: &[&str], col: Col) -> Sym {
        let raw = self.layout.field(fields, col);
        let cache = &mut self.symbols[col as usize];
        if same_text(raw, &cache.raw) {
            return cache.sym;
        }
        let text = raw.trim();
        let sym = if text.is_empty() {
            Sym::EMPTY
        } else if self.out.strings.len() + 1 >= limits::INTERNED_STRINGS_MAX {
            // Unreachable for real files; refuse rather than let the interner panic.
            if !self.stopped {
                self.push(Diagnostic::error(self.file, 0, 0, "too many distinct texts in one file"));
                self.stopped = true;
            }
            return Sym::EMPTY;
        } else {
            self.out.strings.intern(text)
        };
        let cache = &mut self.symbols[col as usize];
        cache.raw.clear();
        cache.raw.push_str(raw);
        cache.sym = sym;
        sym
    }

    fn classify(&mut self, key: (Sym, Sym, Sym)) -> Class {
        if key == self.last_class.0 {
            return self.last_class.1;
        }
        let strings = &self.out.strings;
        let class = *self
            .classes
            .entry(key)
            .or_insert_with(|| classify_line(strings.resolve(key.0), strings.resolve(key.1), strings.resolve(key.2)));
        self.last_class = (key, class);
        class
    }

    fn finish(mut self) -> SettlementFile {
        self.close_settlement();
        if let Some(v1) = self.v1.take() {
            if !v1.quantities.is_empty() {
                for line in self.out.lines.iter_mut().filter(|line| line.quantity == 0) {
                    let key = (line.settlement_id, line.transaction_type, line.order_id.clone(), line.order_item_code);
                    if let Some(quantity) = v1.quantities.get(&key) {
                        line.quantity = *quantity;
                    }
                }
            }
            let (count, first) = v1.empty_rows;
            if count > 0 {
                let message = format!("{count} row(s) carry neither an amount nor a quantity and were ignored (the first is line {first})");
                self.push(Diagnostic::warning(self.file, first, 0, message));
            }
        }
        if self.rows == 0 {
            self.push(Diagnostic::error(self.file, 0, 0, "the file has a header line but no data rows"));
        }
        self.out
    }
}

/// Splits a line on tabs into `fields` (cleared first). A byte loop: rows are mostly
/// short or empty cells, for which `str::split` spends its time starting searches.
fn split_tabs<'a>(line: &'a str, fields: &mut Vec<&'a str>) {
    fields.clear();
    let mut start = 0;
    for (index, byte) in line.bytes().enumerate() {
        if byte == b'\t' {
            fields.push(&line[start..index]);
            start = index + 1;
        }
    }
    fields.push(&line[start..]);
}

/// `a == b` for the short cells of a row, compared inline eight bytes at a time (the
/// `==` of slices calls the C library's `memcmp`, whose call costs more than the
/// comparison here, eleven times a row).
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut words_a = a.chunks_exact(8);
    let mut words_b = b.chunks_exact(8);
    for (word_a, word_b) in (&mut words_a).zip(&mut words_b) {
        if u64::from_ne_bytes(word_a.try_into().expect("8 bytes"))
            != u64::from_ne_bytes(word_b.try_into().expect("8 bytes"))
        {
            return false;
        }
    }
    let mut equal = true;
    for (byte_a, byte_b) in words_a.remainder().iter().zip(words_b.remainder()) {
        equal &= byte_a == byte_b;
    }
    equal
}

/// A settlement id: digits only (also read from the transaction reports' `settlement id`).
pub(crate) fn parse_settlement_id(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("missing settlement-id".to_owned());
    }
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("settlement-id '{text}' is not a number"));
    }
    text.parse().map_err(|_| format!("settlement-id '{text}' is too long"))
}

/// `parse_amount_minor(text, NumberStyle::PerValue, exponent)`, with a fast path for the
/// shape nearly every cell has (`-12.34`, `5,05`, `100`).
fn parse_amount(text: &str, exponent: u8) -> Result<i64, AmountError> {
    match fast_amount(text.as_bytes(), exponent) {
        Some(amount) => Ok(amount),
        None => parse_amount_minor(text, NumberStyle::PerValue, exponent),
    }
}

/// An optional `-`, 1 to 12 digits, then optionally one `.` or `,` and 1 or 2 digits
/// (never 3: `1.234` is ambiguous and left to the full rule), no more decimals than the
/// currency has. Anything else is `None`, for the full parser to accept or explain.
fn fast_amount(bytes: &[u8], exponent: u8) -> Option<i64> {
    let (negative, body) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let integer_digits = body.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if integer_digits == 0 || integer_digits > 12 {
        return None;
    }
    let fraction = match &body[integer_digits..] {
        [] => &[][..],
        [b'.' | b',', fraction @ ..] => fraction,
        _ => return None,
    };
    if fraction.len() > 2 || fraction.len() > usize::from(exponent) || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if body.len() > integer_digits && fraction.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for byte in body[..integer_digits].iter().chain(fraction) {
        value = value * 10 + i64::from(byte - b'0');
    }
    for _ in fraction.len()..usize::from(exponent) {
        value *= 10;
    }
    if value > limits::AMOUNT_MINOR_ABS_MAX {
        return None;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V2_SAMPLE: &[u8] = include_bytes!("../tests/fixtures/amazon-settlement-v2_us_settlement-sample.txt");
    const V1_SAMPLE: &[u8] =
        include_bytes!("../tests/fixtures/amazon-settlement-flatfile-v1_amazon-ca_50018020314.txt");

    const V2_HEADER: &[&str] = &[
        "settlement-id",
        "settlement-start-date",
        "settlement-end-date",
        "deposit-date",
        "total-amount",
        "currency",
        "transaction-type",
        "order-id",
        "merchant-order-id",
        "adjustment-id",
        "shipment-id",
        "marketplace-name",
        "amount-type",
        "amount-description",
        "amount",
        "fulfillment-id",
        "posted-date",
        "posted-date-time",
        "order-item-code",
        "merchant-order-item-id",
        "merchant-adjustment-item-id",
        "sku",
        "quantity-purchased",
        "promotion-id",
    ];

    const V1_HEADER_33: &[&str] = &[
        "settlement-id",
        "settlement-start-date",
        "settlement-end-date",
        "deposit-date",
        "total-amount",
        "currency",
        "transaction-type",
        "order-id",
        "merchant-order-id",
        "adjustment-id",
        "shipment-id",
        "marketplace-name",
        "shipment-fee-type",
        "shipment-fee-amount",
        "order-fee-type",
        "order-fee-amount",
        "fulfillment-id",
        "posted-date",
        "order-item-code",
        "merchant-order-item-id",
        "merchant-adjustment-item-id",
        "sku",
        "quantity-purchased",
        "price-type",
        "price-amount",
        "item-related-fee-type",
        "item-related-fee-amount",
        "misc-fee-amount",
        "other-fee-amount",
        "other-fee-reason-description",
        "direct-payment-type",
        "direct-payment-amount",
        "other-amount",
    ];

    type Row<'s> = Vec<(&'s str, &'s str)>;

    /// A tab-separated file: the header, then each row's named cells (others empty).
    fn tsv(header: &[&str], rows: &[Row]) -> String {
        let mut out = header.join("\t");
        out.push('\n');
        for row in rows {
            for (name, _) in row {
                assert!(header.contains(name), "test row names unknown column {name}");
            }
            let cells: Vec<&str> =
                header.iter().map(|name| row.iter().find(|(n, _)| n == name).map_or("", |(_, value)| *value)).collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out
    }

    fn summary<'s>(id: &'s str, start: &'s str, end: &'s str, total: &'s str, currency: &'s str) -> Row<'s> {
        vec![
            ("settlement-id", id),
            ("settlement-start-date", start),
            ("settlement-end-date", end),
            ("deposit-date", end),
            ("total-amount", total),
            ("currency", currency),
        ]
    }

    /// A V2 order line.
    fn v2_line<'s>(id: &'s str, description: &'s str, amount: &'s str, posted: &'s str) -> Row<'s> {
        let amount_type = if description == "Commission" { "ItemFees" } else { "ItemPrice" };
        vec![
            ("settlement-id", id),
            ("transaction-type", "Order"),
            ("order-id", "302-1234567-7654321"),
            ("marketplace-name", "Amazon.de"),
            ("amount-type", amount_type),
            ("amount-description", description),
            ("amount", amount),
            ("fulfillment-id", "AFN"),
            ("posted-date-time", posted),
            ("order-item-code", "55182930114"),
            ("sku", "SKU-1"),
            ("quantity-purchased", "1"),
        ]
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|date| date.and_hms_opt(hour, minute, second))
            .expect("valid test date")
            .and_utc()
            .timestamp()
    }

    fn diagnostics(file: &SettlementFile) -> Vec<String> {
        file.diagnostics.iter().map(ToString::to_string).collect()
    }

    /// One line as text: line, transaction type, order, amount type / description,
    /// amount, quantity, classification.
    fn show(file: &SettlementFile, line: &SettlementLine) -> String {
        let text = |sym: Sym| file.strings.resolve(sym);
        let order = line.order_id.as_ref().map(ToString::to_string).unwrap_or_default();
        format!(
            "{} {} [{}] {}/{} {} q{} {:?}/{:?}/{:?}",
            line.line,
            text(line.transaction_type),
            order,
            text(line.amount_type),
            text(line.amount_description),
            format_minor(line.amount_minor, line.currency.exponent()),
            line.quantity,
            line.transaction,
            line.component,
            line.kind,
        )
    }

    fn shown(file: &SettlementFile) -> Vec<String> {
        file.lines.iter().map(|line| show(file, line)).collect()
    }

    #[test]
    fn golden_v2_us_sample() {
        let file = read_settlement("v2.txt", V2_SAMPLE);
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(
            file.settlements,
            vec![SettlementHeader {
                settlement_id: 28471003921,
                line: 2,
                start_utc_seconds: utc(2026, 6, 16, 0, 0, 0),
                end_utc_seconds: utc(2026, 6, 30, 23, 59, 59),
                deposit_utc_seconds: Some(utc(2026, 7, 2, 0, 0, 0)),
                total_minor: 58289,
                currency: Currency::USD,
                lines_sum_minor: 58289,
                line_count: 23,
            }]
        );
        assert!(file.settlements[0].is_consistent());
        assert_eq!(file.lines.len(), 23);

        let first = &file.lines[0];
        assert_eq!(
            show(&file, first),
            "3 Order [114-8829371-4410258] ItemPrice/Principal 129.99 q1 Order/Principal/Transaction"
        );
        assert_eq!(first.posted_utc_seconds, utc(2026, 6, 17, 8, 14, 22));
        assert_eq!(first.currency, Currency::USD);
        assert_eq!(file.strings.resolve(first.shipment_id), "DS7K9LM2P");
        assert_eq!(file.strings.resolve(first.marketplace), "amazon.com");
        assert_eq!(file.strings.resolve(first.fulfillment), "AFN");
        assert_eq!(file.strings.resolve(first.order_item_code), "55182930114");
        assert_eq!(file.strings.resolve(first.sku), "NX-HD-1200");
        assert_eq!(first.promotion_id, Sym::EMPTY);
        assert_eq!(
            show(&file, &file.lines[4]),
            "7 Order [114-8829371-4410258] ItemFees/MarketplaceFacilitatorVAT-Principal -10.40 q1 Order/FacilitatorTax/Transaction"
        );
        assert_eq!(
            show(&file, &file.lines[11]),
            "14 Refund [112-5561209-7742044] ItemPrice/Principal -129.99 q1 Refund/Principal/Transaction"
        );
        assert_eq!(
            show(&file, &file.lines[16]),
            "19 ServiceFee [] other-transaction/Storage Fee -64.28 q0 ServiceFee/Other/Transaction"
        );
        assert_eq!(
            shown(&file)[21..],
            [
                "24 Transfer [] other-transaction/Previous Reserve Amount Balance 820.44 q0 Transfer/Reserve/Reserve",
                "25 Transfer [] other-transaction/Current Reserve Amount -420.00 q0 Transfer/Reserve/Reserve",
            ]
        );
        assert_eq!(file.lines[22].posted_utc_seconds, utc(2026, 6, 30, 23, 59, 59));
        assert!(file.lines.iter().all(|line| line.settlement_id == 28471003921));
    }

    #[test]
    fn golden_v1_ca_sample() {
        let file = read_settlement("v1.txt", V1_SAMPLE);
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(
            file.settlements,
            vec![SettlementHeader {
                settlement_id: 23874397121,
                line: 2,
                start_utc_seconds: utc(2025, 7, 31, 22, 7, 18),
                end_utc_seconds: utc(2025, 8, 14, 22, 7, 18),
                deposit_utc_seconds: Some(utc(2025, 8, 16, 22, 7, 18)),
                total_minor: -6231,
                currency: Currency::CAD,
                lines_sum_minor: -6231,
                line_count: 15,
            }]
        );
        assert!(file.settlements[0].is_consistent());
        // Line 3 is the item's quantity row: no line of its own, its quantity on the
        // item's order lines (not on the refund of another order).
        assert_eq!(
            shown(&file),
            [
                "4 Order [702-1101758-6751437] ItemPrice/Principal 35.00 q1 Order/Principal/Transaction",
                "5 Order [702-1101758-6751437] ItemPrice/Shipping 6.99 q1 Order/Shipping/Transaction",
                "6 Order [702-1101758-6751437] ItemFees/FBAPerUnitFulfillmentFee -6.12 q1 Order/FbaPerUnitFee/Transaction",
                "7 Order [702-1101758-6751437] ItemFees/Commission -5.62 q1 Order/Commission/Transaction",
                "8 Order [702-1101758-6751437] ItemFees/DigitalServicesFee -0.17 q1 Order/OtherFee/Transaction",
                "9 Order [702-1101758-6751437] Promotion/Shipping -6.99 q1 Order/Promotion/Transaction",
                "10 Refund [702-1278184-4976266] ItemPrice/Principal -60.00 q0 Refund/Principal/Transaction",
                "11 Refund [702-1278184-4976266] ItemFees/Commission 9.63 q0 Refund/Commission/Transaction",
                "12 Refund [702-1278184-4976266] ItemFees/RefundCommission -1.93 q0 Refund/RefundCommission/Transaction",
                "13 Refund [702-1278184-4976266] ItemFees/DigitalServicesFee 0.29 q0 Refund/OtherFee/Transaction",
                "14 Payable to Amazon [] other-transaction/Payable to Amazon -321.69 q0 CarryOver/Other/CarryOver",
                "15 Subscription Fee [] other-transaction/Subscription Fee -32.09 q0 ServiceFee/Other/Transaction",
                "16 ServiceFee [] ItemFees/Cost of Advertising -1.16 q0 ServiceFee/OtherFee/Transaction",
                "16 ServiceFee [] other-transaction/TaxAmount -0.14 q0 ServiceFee/Other/Transaction",
                // `321.69    ` in the file: trailing spaces.
                "17 Successful charge [] other-transaction/Successful charge 321.69 q0 CarryOver/Other/CarryOver",
            ]
        );
        let refund = &file.lines[6];
        assert_eq!(file.strings.resolve(refund.adjustment_id), "amzn1:crow:0UcGz5LNTCm+rGIQEkAv5g");
        assert_eq!(refund.posted_utc_seconds, utc(2025, 8, 14, 20, 59, 25));
        assert_eq!(refund.currency, Currency::CAD);
        assert_eq!(file.strings.resolve(file.lines[0].marketplace), "Amazon.ca");
    }

    #[test]
    fn crlf_and_bom_read_the_same_as_lf() {
        let text = std::str::from_utf8(V2_SAMPLE).unwrap().replace('\n', "\r\n");
        let bytes = [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat();
        let crlf = read_settlement("v2.txt", &bytes);
        let lf = read_settlement("v2.txt", V2_SAMPLE);
        assert!(crlf.diagnostics.is_empty(), "{:?}", diagnostics(&crlf));
        assert_eq!(crlf.settlements, lf.settlements);
        assert_eq!(shown(&crlf), shown(&lf));
    }

    #[test]
    fn eu_v2_with_decimal_comma_dotted_dates_bom_and_crlf() {
        let id = "11850123456";
        let posted = "14.03.2023 07:49:55 UTC";
        let mut quoted = v2_line(id, "Principal", "1.200,00", posted);
        quoted.push(("sku", "Kette \"Gold\" 18\""));
        quoted.retain(|(name, value)| *name != "sku" || value.contains('"'));
        let text = tsv(
            V2_HEADER,
            &[
                summary(id, "01.03.2023 00:00:00 UTC", "15.03.2023 00:00:00 UTC", "1141,18", "EUR"),
                quoted,
                v2_line(id, "Commission", "-58,82", posted),
            ],
        );
        let bytes = [&b"\xEF\xBB\xBF"[..], text.replace('\n', "\r\n").as_bytes()].concat();
        let file = read_settlement("de.txt", &bytes);
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        let header = &file.settlements[0];
        assert_eq!(
            (header.total_minor, header.currency, header.start_utc_seconds),
            (114118, Currency::EUR, utc(2023, 3, 1, 0, 0, 0))
        );
        assert_eq!(header.deposit_utc_seconds, Some(utc(2023, 3, 15, 0, 0, 0)));
        assert!(header.is_consistent());
        assert_eq!(file.lines.iter().map(|line| line.amount_minor).collect::<Vec<_>>(), [120000, -5882]);
        assert_eq!(file.lines[0].posted_utc_seconds, utc(2023, 3, 14, 7, 49, 55));
        assert_eq!(file.strings.resolve(file.lines[0].sku), "Kette \"Gold\" 18\"");
        assert_eq!(file.strings.resolve(file.lines[1].sku), "SKU-1");
    }

    #[test]
    fn comma_and_dot_amounts_mix_in_one_file() {
        let id = "1";
        let posted = "2023-03-14 07:49:55 UTC";
        let text = tsv(
            V2_HEADER,
            &[
                summary(id, "2023-03-01", "2023-03-15", "10.10", "EUR"),
                v2_line(id, "Principal", "5,05", posted),
                v2_line(id, "Principal", "5.05", posted),
            ],
        );
        let file = read_settlement("mixed.txt", text.as_bytes());
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(file.lines.iter().map(|line| line.amount_minor).collect::<Vec<_>>(), [505, 505]);
        assert!(file.settlements[0].is_consistent());
    }

    #[test]
    fn ambiguous_amount_is_refused_with_line_and_column() {
        let text = tsv(
            V2_HEADER,
            &[
                summary("1", "2023-03-01", "2023-03-15", "1234.00", "EUR"),
                v2_line("1", "Principal", "1.234", "2023-03-14 07:49:55 UTC"),
            ],
        );
        let file = read_settlement("eu.txt", text.as_bytes());
        assert_eq!(
            diagnostics(&file),
            ["eu.txt:3:15: error: column 'amount': '1.234' is ambiguous: one separator followed by three digits may be a decimal point or a thousands separator"]
        );
        assert!(file.lines.is_empty());
        let bad = read_settlement(
            "eu.txt",
            tsv(V2_HEADER, &[summary("1", "2023-03-01", "2023-03-15", "12x", "EUR")]).as_bytes(),
        );
        assert_eq!(
            diagnostics(&bad),
            ["eu.txt:2:5: error: column 'total-amount': '12x' is not a number (unexpected 'x')"]
        );
    }

    #[test]
    fn non_existent_dates_are_refused() {
        let text = tsv(
            V2_HEADER,
            &[
                summary("1", "31.04.2026 00:00:00 UTC", "2026-05-14", "0", "USD"),
                summary("2", "2026-02-16", "2026-02-28", "1.00", "USD"),
                v2_line("2", "Principal", "1.00", "2026-02-30 10:00:00 UTC"),
            ],
        );
        let file = read_settlement("dates.txt", text.as_bytes());
        assert_eq!(
            diagnostics(&file),
            [
                "dates.txt:2:2: error: column 'settlement-start-date': '31.04.2026 00:00:00 UTC' is not a real date: April 2026 has 30 days",
                "dates.txt:4:18: error: column 'posted-date-time': '2026-02-30 10:00:00 UTC' is not a real date: February 2026 has 28 days",
            ]
        );
        assert_eq!(file.settlements.len(), 1);
        assert!(file.lines.is_empty());
    }

    #[test]
    fn truncated_last_row_is_a_field_count_error() {
        let cut = V2_SAMPLE.len() - 60;
        let file = read_settlement("cut.txt", &V2_SAMPLE[..cut]);
        assert_eq!(
            diagnostics(&file),
            ["cut.txt:25:15: error: expected 24 tab-separated fields, found 15 (a truncated line?)"]
        );
        // The missing line makes the settlement inconsistent; not reported beside the error.
        assert_eq!(file.settlements[0].line_count, 22);
        assert_eq!(file.settlements[0].difference_minor(), -42000);
    }

    #[test]
    fn comma_separated_file_is_refused() {
        let text = std::str::from_utf8(V2_SAMPLE).unwrap().replace('\t', ",");
        let file = read_settlement("saved-by-excel.csv", text.as_bytes());
        assert_eq!(file.diagnostics.len(), 1);
        assert!(
            diagnostics(&file)[0]
                .starts_with("saved-by-excel.csv:1: error: the header has no tab: this file is comma-separated"),
            "{:?}",
            diagnostics(&file)
        );
        assert!(file.settlements.is_empty() && file.lines.is_empty());
        // A comma-separated row under a tab-separated header.
        let mut mixed = tsv(V2_HEADER, &[summary("1", "2023-03-01", "2023-03-15", "0", "EUR")]);
        mixed.push_str("1,,,,,,Order\n");
        let file = read_settlement("mixed.txt", mixed.as_bytes());
        assert_eq!(
            diagnostics(&file),
            ["mixed.txt:3:1: error: expected 24 tab-separated fields, found 1 (is this line comma-separated?)"]
        );
    }

    #[test]
    fn headers_are_found_by_name() {
        let rows = [
            summary("1", "2023-03-01", "2023-03-15", "5.00", "EUR"),
            v2_line("1", "Principal", "5.00", "2023-03-14 07:49:55 UTC"),
        ];
        // Missing required columns are named.
        let missing: Vec<&str> =
            V2_HEADER.iter().copied().filter(|name| *name != "currency" && *name != "amount-description").collect();
        let without = |row: &Row<'static>| -> Row<'static> {
            row.iter().copied().filter(|(name, _)| missing.contains(name)).collect()
        };
        let file = read_settlement("m.txt", tsv(&missing, &[without(&rows[0]), without(&rows[1])]).as_bytes());
        assert_eq!(
            diagnostics(&file),
            ["m.txt:1: error: the header lacks the required columns 'currency', 'amount-description' of an Amazon settlement flat file V2"]
        );
        // Unknown columns are ignored; order and case do not matter.
        let mut shuffled: Vec<&str> = V2_HEADER.iter().rev().copied().collect();
        shuffled.insert(3, "my-notes");
        let file = read_settlement("s.txt", tsv(&shuffled, &rows).as_bytes());
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(
            shown(&file),
            ["3 Order [302-1234567-7654321] ItemPrice/Principal 5.00 q1 Order/Principal/Transaction"]
        );
        let upper = tsv(V2_HEADER, &rows).replacen(
            "settlement-id\tsettlement-start-date",
            " Settlement-ID \tSETTLEMENT-START-DATE",
            1,
        );
        assert_eq!(read_settlement("u.txt", upper.as_bytes()).lines.len(), 1);
        // A duplicated column is refused.
        let twice = tsv(V2_HEADER, &rows).replacen("merchant-order-id", "amount", 1);
        assert_eq!(
            diagnostics(&read_settlement("d.txt", twice.as_bytes())),
            ["d.txt:1:15: error: column 'amount' appears twice (columns 9 and 15)"]
        );
        // Not a settlement file at all.
        let orders = "amazon-order-id\tpurchase-date\torder-status\n1\t2\t3\n";
        assert!(diagnostics(&read_settlement("o.txt", orders.as_bytes()))[0]
            .contains("lacks the required columns 'settlement-id'"));
    }

    #[test]
    fn non_utf8_empty_and_header_only_files() {
        let mut bytes = V2_SAMPLE.to_vec();
        bytes[V2_SAMPLE.len() - 30] = 0xB6;
        let file = read_settlement("gbk.txt", &bytes);
        assert_eq!(file.diagnostics.len(), 1);
        assert!(diagnostics(&file)[0].starts_with("gbk.txt:25:"), "{:?}", diagnostics(&file));
        assert!(diagnostics(&file)[0].contains("not UTF-8"));
        assert!(file.lines.is_empty());

        assert_eq!(diagnostics(&read_settlement("e.txt", b"")), ["e.txt: error: the file is empty"]);
        assert_eq!(diagnostics(&read_settlement("e.txt", b"\xEF\xBB\xBF\r\n\n")), ["e.txt: error: the file is empty"]);
        let header_only = format!("{}\n\n", V2_HEADER.join("\t"));
        assert_eq!(
            diagnostics(&read_settlement("h.txt", header_only.as_bytes())),
            ["h.txt: error: the file has a header line but no data rows"]
        );
    }

    /// Every line once, in order, whatever the part size; the file that remains has the
    /// final sums; an error stops the parts (the file is refused anyway).
    /// Two settlements, the second of three lines (a commission of `commission`).
    fn two_settlements(total_222: &str, commission: &str) -> String {
        let posted = "2023-03-14 07:49:55 UTC";
        tsv(
            V2_HEADER,
            &[
                summary("111", "2023-03-01", "2023-03-15", "5.00", "EUR"),
                v2_line("111", "Principal", "5.00", posted),
                summary("222", "2023-03-15", "2023-03-29", total_222, "EUR"),
                v2_line("222", "Principal", "600.00", posted),
                v2_line("222", "Commission", commission, posted),
                v2_line("222", "Principal", "0.00", posted),
            ],
        )
    }

    #[test]
    fn lines_handed_out_in_parts_are_the_lines_read_whole() {
        let text = two_settlements("580.00", "-20.00");
        let whole = read_settlement("two.txt", text.as_bytes());
        for part_lines in [1, 2, 3, 100] {
            let mut lines = Vec::new();
            let mut parts = Vec::new();
            let mut rest = read_settlement_in_parts("two.txt", text.as_bytes(), part_lines, &mut |file, part| {
                parts.push((part.len(), file.settlements.len()));
                lines.extend(part.iter().map(|line| show(file, line)));
                true
            });
            lines.extend(shown(&rest));
            assert_eq!(lines, shown(&whole), "{part_lines} a part");
            assert_eq!(rest.settlements, whole.settlements);
            assert_eq!(diagnostics(&rest), diagnostics(&whole));
            assert!(parts.iter().all(|(n, _)| *n == part_lines), "{parts:?}");
            assert_eq!(parts.len(), 4 / part_lines, "{part_lines} a part");
            rest.lines.clear();
        }
        // A part's settlements are those begun so far: the first part (one line) knows 111.
        let mut first_part = None;
        read_settlement_in_parts("two.txt", text.as_bytes(), 1, &mut |file, _| {
            first_part.get_or_insert(file.settlements.iter().map(|s| s.settlement_id).collect::<Vec<_>>());
            false
        });
        assert_eq!(first_part, Some(vec![111]));
        // No part after an error.
        let bad = text.replace("-20.00", "-20.0x");
        let mut handed_out = 0;
        let rest = read_settlement_in_parts("bad.txt", bad.as_bytes(), 1, &mut |_, part| {
            handed_out += part.len();
            true
        });
        assert!(rest.diagnostics.iter().any(|d| d.is_error()));
        assert_eq!(handed_out, 2, "the two lines before the bad one");
    }

    /// A source that gives at most `step` bytes a read.
    struct Trickle<'b> {
        bytes: &'b [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buffer.len()).min(self.bytes.len());
            buffer[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// Read block by block, in blocks smaller than a line and reads of a few bytes, a file
    /// reads as it does whole: lines, sums, diagnostics with their line numbers (a bad
    /// UTF-8 byte far into the file too), BOM and CRLF.
    #[test]
    fn a_file_read_in_blocks_reads_as_whole() {
        let text = two_settlements("582.89", "-20.0x");
        let with_bom_crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        let mut not_utf8 = text.clone().into_bytes();
        let at = not_utf8.len() - 10;
        not_utf8[at] = 0xff;
        for bytes in [text.as_bytes(), with_bom_crlf.as_bytes(), &not_utf8, b"", b"\r\n\n  \n"] {
            let whole = read_settlement("f.txt", bytes);
            for (block, step) in [(1, 1), (5, 3), (64, 1000), (1 << 20, 7)] {
                let mut source = Trickle { bytes, step };
                let read = read_blocks("f.txt", &mut source, None, usize::MAX, &mut |_, _| true, block);
                assert_eq!(diagnostics(&read), diagnostics(&whole), "blocks of {block}, reads of {step}");
                assert_eq!(shown(&read), shown(&whole), "blocks of {block}, reads of {step}");
                assert_eq!(read.settlements, whole.settlements);
            }
        }
        assert!(diagnostics(&read_settlement("f.txt", &not_utf8))[0].starts_with("f.txt:7:116:"), "the last line");
    }

    #[test]
    fn two_settlements_in_one_file() {
        let posted = "2023-03-14 07:49:55 UTC";
        let text = tsv(
            V2_HEADER,
            &[
                summary("111", "2023-03-01", "2023-03-15", "5.00", "EUR"),
                v2_line("111", "Principal", "5.00", posted),
                summary("222", "2023-03-15", "2023-03-29", "582.89", "EUR"),
                v2_line("222", "Principal", "600.00", posted),
                v2_line("222", "Commission", "-20.00", posted),
            ],
        );
        let file = read_settlement("two.txt", text.as_bytes());
        assert_eq!(
            diagnostics(&file),
            ["two.txt:4:5: warning: column 'total-amount': settlement 222 is inconsistent: total-amount 582.89 EUR, lines sum to 580.00 EUR, difference 2.89 EUR"]
        );
        let summaries: Vec<_> = file
            .settlements
            .iter()
            .map(|s| (s.settlement_id, s.line, s.total_minor, s.lines_sum_minor, s.line_count))
            .collect();
        assert_eq!(summaries, [(111, 2, 500, 500, 1), (222, 4, 58289, 58000, 2)]);
        assert_eq!(file.settlements[1].difference_minor(), 289);
        assert_eq!(file.lines.iter().map(|line| line.settlement_id).collect::<Vec<_>>(), [111, 222, 222]);
    }

    #[test]
    fn rows_must_belong_to_their_summary() {
        let posted = "2023-03-14 07:49:55 UTC";
        let mut other_currency = v2_line("111", "Principal", "1.00", posted);
        other_currency.push(("currency", "USD"));
        let mut same_currency = v2_line("111", "Principal", "1.00", posted);
        same_currency.push(("currency", "eur"));
        let text = tsv(
            V2_HEADER,
            &[
                v2_line("111", "Principal", "1.00", posted),
                v2_line("111", "Principal", "1.00", posted),
                summary("111", "2023-03-01", "2023-03-15", "2.00", "EUR"),
                v2_line("112", "Principal", "1.00", posted),
                v2_line("", "Principal", "1.00", posted),
                other_currency,
                same_currency,
                summary("111", "2023-03-01", "2023-03-15", "2.00", "EUR"),
                summary("333", "2023-03-01", "2023-03-15", "2.00", "XYZ"),
                v2_line("333", "Principal", "1.00", posted),
                summary("", "2023-03-01", "", "2.00", "EUR"),
            ],
        );
        let file = read_settlement("r.txt", text.as_bytes());
        assert_eq!(
            diagnostics(&file),
            [
                "r.txt:2:5: error: column 'total-amount': data line before any settlement summary row (the first data row of a settlement carries its settlement-id, dates, total-amount and currency)",
                "r.txt:5:1: error: column 'settlement-id': settlement-id 112 differs from 111, the settlement whose summary row is line 4",
                "r.txt:6:1: error: column 'settlement-id': missing settlement-id",
                "r.txt:7:6: error: column 'currency': currency USD differs from the settlement's EUR",
                "r.txt:9:1: error: column 'settlement-id': settlement 111 appears twice in this file (summary rows on lines 4 and 9)",
                "r.txt:10:6: error: column 'currency': unknown currency code 'XYZ'",
                "r.txt:12:1: error: column 'settlement-id': missing settlement-id",
                "r.txt:12:3: error: column 'settlement-end-date': the settlement summary row has no settlement-end-date",
            ]
        );
        assert_eq!(file.settlements.len(), 1);
        assert_eq!(file.lines.len(), 1, "only the line with the repeated, matching currency");
    }

    #[test]
    fn v2_without_promotion_id() {
        let header = &V2_HEADER[..23];
        let text = tsv(
            header,
            &[
                summary("1", "2023-03-01", "2023-03-15", "5.00", "GBP"),
                v2_line("1", "Principal", "5.00", "2023-03-14T07:49:55Z"),
            ],
        );
        let file = read_settlement("23.txt", text.as_bytes());
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(file.lines.len(), 1);
        assert_eq!(file.lines[0].promotion_id, Sym::EMPTY);
        assert_eq!(file.lines[0].currency, Currency::GBP);
    }

    #[test]
    fn v1_with_33_columns() {
        let id = "50018020314";
        let item = |cells: &[(&'static str, &'static str)]| -> Row<'static> {
            let mut row = vec![
                ("settlement-id", id),
                ("transaction-type", "Order"),
                ("order-id", "702-1101758-6751437"),
                ("marketplace-name", "Amazon.ca"),
                ("fulfillment-id", "MFN"),
                ("posted-date", "2025-08-14T06:23:59+00:00"),
                ("order-item-code", "135844999381281"),
                ("sku", "SALTT15-ALLT"),
            ];
            row.extend_from_slice(cells);
            row
        };
        let text = tsv(
            V1_HEADER_33,
            &[
                summary(id, "2025-07-31T22:07:18+00:00", "2025-08-14T22:07:18+00:00", "61.50", "CAD"),
                item(&[("price-type", "Principal"), ("price-amount", "70.00")]),
                item(&[("quantity-purchased", "2")]),
                item(&[
                    ("item-related-fee-type", "Commission"),
                    ("item-related-fee-amount", "-10.50"),
                    ("shipment-fee-type", "ShippingHB"),
                    ("shipment-fee-amount", "-1.00"),
                    ("misc-fee-amount", "0.50"),
                ]),
                item(&[("other-fee-amount", "2.50")]),
                item(&[("direct-payment-type", "StoredValueCardPayment"), ("direct-payment-amount", "0.00")]),
                item(&[("order-fee-type", "FBAPerOrderFulfillmentFee"), ("order-fee-amount", "  ")]),
            ],
        );
        let file = read_settlement("v1-33.txt", text.as_bytes());
        assert_eq!(
            diagnostics(&file),
            ["v1-33.txt:8: warning: 1 row(s) carry neither an amount nor a quantity and were ignored (the first is line 8)"]
        );
        assert_eq!(
            shown(&file),
            [
                "3 Order [702-1101758-6751437] ItemPrice/Principal 70.00 q2 Order/Principal/Transaction",
                "5 Order [702-1101758-6751437] ItemFees/Commission -10.50 q2 Order/Commission/Transaction",
                "5 Order [702-1101758-6751437] Shipment-Fees/ShippingHB -1.00 q2 Order/OtherFee/Transaction",
                "5 Order [702-1101758-6751437] other-transaction/MiscFee 0.50 q2 Order/Other/Transaction",
                "6 Order [702-1101758-6751437] other-transaction/Order 2.50 q2 Order/Other/Transaction",
                "7 Order [702-1101758-6751437] DirectPayment/StoredValueCardPayment 0.00 q2 Order/Other/Transaction",
            ]
        );
        assert!(file.settlements[0].is_consistent());
        assert_eq!(file.settlements[0].line_count, 6);
    }

    #[test]
    fn slash_posted_dates_follow_the_window_then_the_file() {
        let id = "1";
        let slash = |posted: &'static str| -> Row<'static> {
            let mut row = v2_line(id, "Principal", "1.00", "");
            row.push(("posted-date", posted));
            row
        };
        let rows = |first: &'static str| {
            vec![
                summary(id, "2025-06-01 00:00:00 UTC", "2025-06-14 23:59:59 UTC", "3.00", "USD"),
                slash("09/06/25"),
                slash(first),
                slash("09/06/25"),
            ]
        };
        let posted = |file: &SettlementFile| file.lines.iter().map(|line| line.posted_utc_seconds).collect::<Vec<_>>();
        // Nothing reveals the order: the reading inside the window (9 June) wins.
        let file = read_settlement("w.txt", tsv(V2_HEADER, &rows("2025-06-10")).as_bytes());
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(posted(&file), [utc(2025, 6, 9, 0, 0, 0), utc(2025, 6, 10, 0, 0, 0), utc(2025, 6, 9, 0, 0, 0)]);
        // `06/13/25` reveals month-first: from then on `09/06/25` is 6 September.
        let file = read_settlement("w.txt", tsv(V2_HEADER, &rows("06/13/25")).as_bytes());
        assert_eq!(diagnostics(&file), Vec::<String>::new());
        assert_eq!(posted(&file), [utc(2025, 6, 9, 0, 0, 0), utc(2025, 6, 13, 0, 0, 0), utc(2025, 9, 6, 0, 0, 0)]);
        // Both empty.
        let file = read_settlement("w.txt", tsv(V2_HEADER, &[rows("")[0].clone(), slash("")]).as_bytes());
        assert_eq!(
            diagnostics(&file),
            ["w.txt:3:17: error: column 'posted-date': posted-date-time and posted-date are both empty"]
        );
    }

    #[test]
    fn bad_cells_are_each_reported() {
        let mut row = v2_line("1", "Principal", "abc", "yesterday");
        row.retain(|(name, _)| *name != "quantity-purchased");
        row.push(("quantity-purchased", "-1"));
        let text = tsv(
            V2_HEADER,
            &[
                summary("1", "2023-03-01", "2023-03-15", "0", "JPY"),
                row,
                v2_line("1", "Principal", "5.5", "2023-03-14T07:49:55Z"),
            ],
        );
        let file = read_settlement("b.txt", text.as_bytes());
        assert_eq!(
            diagnostics(&file),
            [
                "b.txt:3:18: error: column 'posted-date-time': 'yesterday' is not a date (expected e.g. 2026-06-17 08:14:22 UTC, 2026-06-17T08:14:22+00:00, 14.03.2023 07:49:55 UTC, 2026-06-17 or 06/09/2025)",
                "b.txt:3:23: error: column 'quantity-purchased': '-1' is not a whole number of units",
                "b.txt:3:15: error: column 'amount': 'abc' is not a number (unexpected 'a')",
                "b.txt:4:15: error: column 'amount': '5.5' has more decimal places than 0, the currency's",
            ]
        );
    }

    #[test]
    fn diagnostics_stop_at_the_limit() {
        let rows: Vec<Row> = std::iter::once(summary("1", "2023-03-01", "2023-03-15", "0", "EUR"))
            .chain((0..300).map(|_| v2_line("1", "Principal", "1.234", "2023-03-14T07:49:55Z")))
            .collect();
        let file = read_settlement("many.txt", tsv(V2_HEADER, &rows).as_bytes());
        assert_eq!(file.diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        let last = file.diagnostics.last().unwrap();
        assert!(
            last.is_error() && last.message.starts_with("too many problems: stopped reading at line 102"),
            "{last}"
        );
    }

    #[test]
    fn fast_amounts() {
        for (text, exponent, expect) in [
            ("-129.99", 2, Some(-12999)),
            ("5,05", 2, Some(505)),
            ("100", 2, Some(10000)),
            ("100", 0, Some(100)),
            ("1.5", 3, Some(1500)),
            ("0.5", 2, Some(50)),
            ("1.234", 2, None),
            ("5.", 2, None),
            (".5", 2, None),
            ("5.5", 0, None),
            ("32.09    ", 2, None),
            ("+1", 2, None),
            ("9999999999999", 2, None),
        ] {
            assert_eq!(fast_amount(text.as_bytes(), exponent), expect, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn fast_amount_agrees_with_the_full_rule(text in "-?[0-9]{0,14}([.,][0-9]{0,4})?", exponent in 0u8..=3) {
            if let Some(fast) = fast_amount(text.as_bytes(), exponent) {
                prop_assert_eq!(parse_amount_minor(&text, NumberStyle::PerValue, exponent), Ok(fast));
            }
        }

        #[test]
        fn same_text_is_equality(a in "[ab]{0,20}", b in "[ab]{0,20}") {
            prop_assert_eq!(same_text(&a, &b), a == b);
            prop_assert!(same_text(&a, &a.clone()));
        }

        #[test]
        fn split_tabs_is_split(line in "[a\t\"é]{0,30}") {
            let mut fields = vec!["stale"];
            split_tabs(&line, &mut fields);
            prop_assert_eq!(fields, line.split('\t').collect::<Vec<_>>());
        }

        #[test]
        fn never_panics_on_arbitrary_rows(cells in proptest::collection::vec("[ -~\t]{0,12}", 0..30)) {
            let mut text = V2_HEADER.join("\t");
            text.push('\n');
            text.push_str("1\t2023-03-01\t2023-03-15\t\t0\tEUR");
            text.push_str(&"\t".repeat(18));
            text.push('\n');
            text.push_str(&cells.join("\t"));
            let _ = read_settlement("fuzz.txt", text.as_bytes());
        }
    }
}
