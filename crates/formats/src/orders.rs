//! Order exports (an ERP's CSV or XLSX, or Amazon's "All Orders" report) read through a
//! [`Mapping`] into [`OrderItem`]s, one per row, with diagnostics for every bad cell.
//!
//! # Quirks of the sources, and the rules tieout applies
//!
//! * **Container.** XLSX is recognised by its zip signature (`PK\x03\x04`); a legacy
//!   `.xls` (OLE signature) is refused with a request to save it as XLSX. Anything else
//!   is delimited text, which must be UTF-8 (a BOM is dropped; other encodings are
//!   refused with the line and column of the first bad byte, never replaced).
//! * **Preamble.** Lines (CSV) or rows (XLSX) before `source.header_row` are skipped
//!   unread: ERP exports open with banner lines. The CSV preamble is cut on raw line
//!   breaks before the CSV parser sees the table.
//! * **Header.** Headers are matched case-insensitively and trimmed. A mapped column that
//!   is missing is an error naming the mapping key, the expected header and the headers
//!   found (the built-in Amazon mapping tolerates missing optional columns: the
//!   report's variants differ). A mapped header that appears twice is an error.
//! * **Field count.** Every CSV row must have the header's field count (the `csv`
//!   crate's `flexible` is off); for the Amazon report, a row may lack trailing fields
//!   (empty) or carry extra empty ones.
//! * **Skipped rows.** A row whose cells are all empty is skipped. A *trailing totals
//!   row* is skipped without error: a row whose first non-empty cell is a totals label
//!   (`Total`, `Totals`, `Grand total`, `Sum`, `Summe`, `Gesamt`, `Totale`, `Totaal`,
//!   `合计`, `总计`, `合計`, `總計`, `小计`, `小計`, alone or followed by a space, colon
//!   or parenthesis), or whose order id is empty while an amount cell is filled — but
//!   only when nothing but empty or such rows follow it. The same row in the middle of
//!   the file is read as an order row (and fails there, visibly).
//! * **Amounts** are read with [`parse_amount_minor`] in the mapping's number style and
//!   the row's currency's decimals; digits beyond them that are not zero are refused,
//!   never rounded. An empty amount cell is zero (Amazon leaves the prices of cancelled
//!   items empty). The item's amount is `amount`, or `item_price + shipping_price +
//!   gift_wrap_price − Σ|discount|` (a discount written positive or negative reduces the
//!   amount alike), and must stay within `limits::AMOUNT_MINOR_ABS_MAX`. The refunded
//!   amount is optional (an empty cell is "not reported") and taken as an absolute value
//!   (ERPs write refunds either sign).
//! * **XLSX numbers** are binary floats: an amount cell is written as Excel shows it at
//!   its full precision, 15 significant digits (so `0.30000000000000004` reads `0.3`),
//!   as decimal text, and that text is parsed like a CSV amount (`12.345` USD is
//!   refused). No float arithmetic touches money.
//! * **Dates**: `source.date_format` (chrono strftime; may include a time) first, then
//!   ISO 8601: `2024-03-01`, `2024-03-01T09:15:00`, `2024-03-01T09:15:00+00:00` / `Z`.
//!   A date-time with an offset gives the calendar date **as written, in its own
//!   offset** (no conversion: the record has no time of day). A well-formed but
//!   non-existent date (`2026-02-30`) is its own error. XLSX date cells, and plain
//!   numbers in a date column, are Excel serial dates (1900 or 1904 system, as the
//!   workbook says). An empty ship date means "not shipped"; the Amazon report has no
//!   ship date at all (a `Shipped` item has `ship_date: None`).
//! * **Status**: the mapping's aliases (case-insensitive), then
//!   [`OrderStatus::parse`](tieout_core::records::OrderStatus::parse) (case-insensitive: `shipped`, `Shipped`).
//! * **Store**: the store column's cell, else `source.store`, else the caller's default
//!   store. With none of the three the file is refused before any row is read.
//!   **Marketplace**: its column, else `source.marketplace`, else empty.
//! * **Currency**: its column's cell, else `source.currency`. When both are empty and
//!   every amount cell of the row is empty (Amazon's cancelled items carry no currency
//!   and no price), the currency of another item of the same order in the file is used,
//!   else the marketplace's own currency (`Amazon.de` → EUR …); otherwise an empty
//!   currency is an error.
//! * **Quantity**: a whole number ≥ 0; an empty cell or no column is 1.
//! * **Limits**: file size, line length, columns per row and rows per file
//!   (`tieout_core::limits`); reading stops after `FILE_DIAGNOSTICS_MAX` diagnostics and
//!   says so. An XLSX sheet is streamed cell by cell, never materialised as a range, so
//!   a sheet that declares a huge used range (formatting on whole columns) costs time
//!   for the cells it stores, not memory for the area it declares; a non-empty cell
//!   beyond `ROW_COLUMNS_MAX` columns is refused. The XLSX parser runs under
//!   `catch_unwind`: a panic in it becomes a diagnostic.
//!
//! Items of a row with any error are left out; the import use case refuses a file with
//! errors anyway, but the good rows are still returned for display.

use crate::local_date::{parse_local_date, DateForms};
use std::borrow::Cow;

use chrono::NaiveDate;
use tieout_core::limits;
use tieout_core::money::{parse_amount_minor, Currency};
use tieout_core::records::{OrderFile, OrderItem};
use tieout_core::{Diagnostic, NumberStyle, OrderId, Sym};

use crate::mapping::{AmountColumns, FileKind, Mapping};
use crate::mapping_common::{catch_workbook_panic, container, table_from, text_field};
use crate::text::decode_utf8;
use crate::xlsx::{excel_date, excel_number_text, open_sheet, serial_date, text_of, Raw, Value};

/// Reads an order export. `default_store` is used when the mapping gives no store
/// (neither a column nor `source.store`), e.g. for Amazon's report, which names none.
pub fn read_orders(file_name: &str, bytes: &[u8], mapping: &Mapping, default_store: Option<&str>) -> OrderFile {
    let mut reader = OrderReader::new(file_name, mapping, default_store);
    reader.read(bytes);
    reader.finish()
}

/// Labels of a totals row, compared lower-cased.
const TOTALS_LABELS: &[&str] = &[
    "grand total",
    "totals",
    "total",
    "sum",
    "summe",
    "gesamtsumme",
    "gesamt",
    "totale",
    "totaal",
    "合计",
    "总计",
    "合計",
    "總計",
    "小计",
    "小計",
];

/// The currency of each Amazon marketplace (`sales-channel`), compared lower-cased.
const MARKETPLACE_CURRENCIES: &[(&str, &str)] = &[
    ("amazon.com", "USD"),
    ("amazon.ca", "CAD"),
    ("amazon.com.mx", "MXN"),
    ("amazon.com.br", "BRL"),
    ("amazon.co.uk", "GBP"),
    ("amazon.de", "EUR"),
    ("amazon.fr", "EUR"),
    ("amazon.it", "EUR"),
    ("amazon.es", "EUR"),
    ("amazon.nl", "EUR"),
    ("amazon.com.be", "EUR"),
    ("amazon.ie", "EUR"),
    ("amazon.se", "SEK"),
    ("amazon.pl", "PLN"),
    ("amazon.com.tr", "TRY"),
    ("amazon.ae", "AED"),
    ("amazon.sa", "SAR"),
    ("amazon.eg", "EGP"),
    ("amazon.in", "INR"),
    ("amazon.co.jp", "JPY"),
    ("amazon.com.au", "AUD"),
    ("amazon.sg", "SGD"),
];

// ---------------------------------------------------------------------------------------
// Cells, whatever the container.

trait Row {
    fn width(&self) -> usize;
    fn get(&self, index: usize) -> Raw<'_>;
}

impl Row for csv::StringRecord {
    fn width(&self) -> usize {
        self.len()
    }

    fn get(&self, index: usize) -> Raw<'_> {
        csv::StringRecord::get(self, index).map_or(Raw::Empty, Raw::text)
    }
}

impl Row for [Value] {
    fn width(&self) -> usize {
        self.len()
    }

    fn get(&self, index: usize) -> Raw<'_> {
        <[Value]>::get(self, index).map_or(Raw::Empty, Value::raw)
    }
}

fn cells<R: Row + ?Sized>(row: &R) -> impl Iterator<Item = Raw<'_>> {
    (0..row.width()).map(|index| row.get(index))
}

fn owned<R: Row + ?Sized>(row: &R) -> Vec<Value> {
    cells(row).map(Raw::to_value).collect()
}

// ---------------------------------------------------------------------------------------
// Column positions, resolved from the header.

enum AmountLayout {
    Total(usize),
    Components {
        item_price: usize,
        shipping_price: Option<usize>,
        gift_wrap_price: Option<usize>,
        discounts: Vec<usize>,
    },
}

struct Layout {
    header: Vec<String>,
    order_id: usize,
    store: Option<usize>,
    marketplace: Option<usize>,
    purchase_date: usize,
    ship_date: Option<usize>,
    status: usize,
    currency: Option<usize>,
    sku: Option<usize>,
    quantity: Option<usize>,
    amount: AmountLayout,
    refunded: Option<usize>,
    /// [`amount_columns`], computed once.
    amount_columns: Vec<usize>,
}

/// Every column an amount is read from (the totals-row rule and the currency fallback
/// look at these).
fn amount_columns(amount: &AmountLayout, refunded: Option<usize>) -> Vec<usize> {
    let mut columns = match amount {
        AmountLayout::Total(column) => vec![*column],
        AmountLayout::Components { item_price, shipping_price, gift_wrap_price, discounts } => {
            let mut columns = vec![*item_price];
            columns.extend(shipping_price.iter().chain(gift_wrap_price.iter()).chain(discounts.iter()));
            columns
        }
    };
    columns.extend(refunded);
    columns
}

/// A row's item, and what is left to settle about it.
type BuiltItem = (OrderItem, Option<Unresolved>);

/// (0-based column, reason) of a bad cell.
type CellProblem = (usize, String);

/// An item whose currency is settled after the whole file is read.
struct Unresolved {
    item: usize,
    line: u32,
    column: Option<usize>,
    marketplace: String,
}

// ---------------------------------------------------------------------------------------
// The reader.

struct OrderReader<'m> {
    file: &'m str,
    mapping: &'m Mapping,
    /// The store for rows without a store cell (mapping constant, else caller default).
    store_fallback: Option<&'m str>,
    out: OrderFile,
    layout: Option<Layout>,
    /// Possible trailing totals rows, held back until a regular row proves they are not.
    held_back: Vec<(u32, Vec<Value>)>,
    unresolved: Vec<Unresolved>,
    data_rows: u32,
    is_1904: bool,
    stopped: bool,
}

impl<'m> OrderReader<'m> {
    fn new(file: &'m str, mapping: &'m Mapping, default_store: Option<&'m str>) -> OrderReader<'m> {
        let store_fallback =
            mapping.source.store.as_deref().or(default_store.map(str::trim).filter(|store| !store.is_empty()));
        OrderReader {
            file,
            mapping,
            store_fallback,
            out: OrderFile::default(),
            layout: None,
            held_back: Vec::new(),
            unresolved: Vec::new(),
            data_rows: 0,
            is_1904: false,
            stopped: false,
        }
    }

    /// Records a diagnostic; past the limit, says so and stops reading.
    fn report(&mut self, diagnostic: Diagnostic) {
        if self.stopped {
            return;
        }
        let line = diagnostic.line;
        self.out.diagnostics.push(diagnostic);
        if self.out.diagnostics.len() + 1 >= limits::FILE_DIAGNOSTICS_MAX {
            self.out.diagnostics.push(Diagnostic::error(
                self.file,
                line,
                0,
                format!("stopped reading after {} problems; fix these first", self.out.diagnostics.len()),
            ));
            self.stopped = true;
        }
    }

    fn fail(&mut self, line: u32, column: u32, message: impl Into<String>) {
        let diagnostic = Diagnostic::error(self.file, line, column, message);
        self.report(diagnostic);
    }

    fn cell_error(&mut self, line: u32, column: usize, message: impl Into<String>) {
        let mut diagnostic = Diagnostic::error(self.file, line, column as u32 + 1, message);
        if let Some(name) = self.layout.as_ref().and_then(|layout| layout.header.get(column)) {
            diagnostic = diagnostic.with_column_name(name.clone());
        }
        self.report(diagnostic);
    }

    fn read(&mut self, bytes: &[u8]) {
        if bytes.len() as u64 > limits::FILE_SIZE_BYTES_MAX {
            let message =
                format!("the file is larger than {} bytes, the most tieout reads", limits::FILE_SIZE_BYTES_MAX);
            return self.fail(0, 0, message);
        }
        let columns = &self.mapping.columns;
        if columns.store.is_none() && self.store_fallback.is_none() {
            return self.fail(
                0,
                0,
                "no store: the mapping has neither `columns.store` nor `source.store`, and no default store was given (pass the store to import into)",
            );
        }
        match container(bytes, self.mapping.source.format) {
            Ok(FileKind::Xlsx) => self.read_xlsx(bytes),
            Ok(FileKind::Csv) => self.read_csv(bytes),
            Err(message) => self.fail(0, 0, message),
        }
    }

    fn finish(mut self) -> OrderFile {
        // Held-back rows are trailing totals rows: skipped.
        self.held_back.clear();
        self.resolve_currencies();
        self.out
    }

    // -- CSV ----------------------------------------------------------------------------

    fn read_csv(&mut self, bytes: &[u8]) {
        let text = match decode_utf8(self.file, bytes) {
            Ok(text) => text,
            Err(diagnostic) => return self.report(diagnostic),
        };
        if let Some((line, length)) = long_line(text) {
            let message = format!(
                "the line is {length} bytes long; tieout reads lines up to {} bytes",
                limits::LINE_LENGTH_BYTES_MAX
            );
            return self.fail(line, 0, message);
        }
        if text.trim().is_empty() {
            return self.fail(0, 0, "the file is empty");
        }
        let header_row = self.mapping.source.header_row;
        let table = match table_from(text, header_row) {
            Ok(table) => table,
            Err(message) => return self.fail(0, 0, message),
        };
        let lenient = self.mapping.source.lenient_layout;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(self.mapping.source.delimiter)
            .quoting(self.mapping.source.quoting)
            .flexible(lenient)
            .from_reader(table.as_bytes());
        // The csv crate reports a record after blank lines at the first blank line, so
        // lines are counted here from byte offsets, forwards only.
        let mut lines = LineCounter::new(table, header_row - 1);
        let mut record = csv::StringRecord::new();
        loop {
            if self.stopped {
                return;
            }
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let byte = record.position().map_or(0, |position| position.byte());
                    let line = lines.line_of_record(byte);
                    if self.layout.is_none() {
                        if line != header_row {
                            return self.fail(
                                header_row,
                                0,
                                format!("line {header_row} (`source.header_row`) is empty; it must hold the header"),
                            );
                        }
                        let header: Vec<String> = record.iter().map(|field| field.trim().to_owned()).collect();
                        if !self.header(line, header) {
                            return;
                        }
                        continue;
                    }
                    if lenient && !self.extra_fields_empty(line, &record) {
                        continue;
                    }
                    self.row(line, &record);
                }
                Err(error) => {
                    let byte = error.position().map_or(0, |position| position.byte());
                    let line = lines.line_of_record(byte);
                    match error.kind() {
                        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                            let column = (*expected_len).min(*len) as u32 + 1;
                            self.fail(
                                line,
                                column,
                                format!("this line has {len} fields, the header has {expected_len}"),
                            );
                        }
                        _ => self.fail(line, 0, format!("unreadable CSV: {error}")),
                    }
                }
            }
        }
        if self.layout.is_none() {
            self.fail(header_row, 0, format!("no header: line {header_row} (`source.header_row`) is empty or missing"));
        }
    }

    /// In a lenient layout, fields past the header's must be empty.
    fn extra_fields_empty(&mut self, line: u32, record: &csv::StringRecord) -> bool {
        let width = self.layout.as_ref().map_or(0, |layout| layout.header.len());
        let extra = (width..record.len()).find(|index| !Row::get(record, *index).is_empty());
        match extra {
            None => true,
            Some(index) => {
                let message = format!(
                    "this line has {} fields, the header has {width}, and field {} is not empty",
                    record.len(),
                    index + 1
                );
                self.fail(line, index as u32 + 1, message);
                false
            }
        }
    }

    // -- XLSX ---------------------------------------------------------------------------

    fn read_xlsx(&mut self, bytes: &[u8]) {
        if let Err(message) = catch_workbook_panic(|| self.read_xlsx_sheet(bytes)) {
            self.fail(0, 0, message);
        }
    }

    fn read_xlsx_sheet(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut sheet = open_sheet(bytes, self.mapping.source.sheet.as_deref())?;
        self.is_1904 = sheet.is_1904;
        let streamed = sheet.rows(|line, row| {
            self.sheet_row(line, row);
            !self.stopped
        });
        if let Err((line, column, message)) = streamed {
            self.fail(line, column, message);
            return Ok(());
        }
        if self.layout.is_none() && !self.stopped {
            let header_row = self.mapping.source.header_row;
            self.fail(
                header_row,
                0,
                format!(
                    "no header: row {header_row} (`source.header_row`) of sheet '{}' is empty or missing",
                    sheet.name
                ),
            );
        }
        Ok(())
    }

    fn sheet_row(&mut self, line: u32, row: &[Value]) {
        let header_row = self.mapping.source.header_row;
        if line < header_row {
            return;
        }
        if self.layout.is_none() {
            if line > header_row {
                let message = format!("row {header_row} (`source.header_row`) is empty; it must hold the header");
                return self.fail(header_row, 0, message);
            }
            let header = cells(row).map(|raw| text_of(raw).unwrap_or_default()).collect();
            self.header(line, header);
            return;
        }
        self.row(line, row);
    }

    // -- Header -------------------------------------------------------------------------

    /// Resolves the mapping's columns; false when the file cannot be read on.
    fn header(&mut self, line: u32, header: Vec<String>) -> bool {
        if header.len() > limits::ROW_COLUMNS_MAX {
            let message =
                format!("the header has {} columns; tieout reads up to {}", header.len(), limits::ROW_COLUMNS_MAX);
            self.fail(line, 0, message);
            return false;
        }
        let normalized: Vec<String> = header.iter().map(|name| name.trim().to_lowercase()).collect();
        let lenient = self.mapping.source.lenient_layout;
        let mut problems: Vec<Diagnostic> = Vec::new();
        let mut find = |key: &str, name: &str, required: bool| -> Option<usize> {
            let wanted = name.trim().to_lowercase();
            let found: Vec<usize> =
                normalized.iter().enumerate().filter(|(_, n)| **n == wanted).map(|(i, _)| i).collect();
            match found.as_slice() {
                [index] => Some(*index),
                [] => {
                    if required || !lenient {
                        let message = format!(
                            "missing column '{name}' (mapping key `{key}`); the header on line {line} has: {}",
                            header.iter().map(|h| format!("'{h}'")).collect::<Vec<_>>().join(", ")
                        );
                        problems.push(Diagnostic::error(self.file, line, 0, message).with_column_name(name));
                    }
                    None
                }
                [first, second, ..] => {
                    let message = format!(
                        "the header '{name}' (mapping key `{key}`) appears in columns {} and {}",
                        first + 1,
                        second + 1
                    );
                    problems
                        .push(Diagnostic::error(self.file, line, *second as u32 + 1, message).with_column_name(name));
                    None
                }
            }
        };
        let columns = &self.mapping.columns;
        let optional = |find: &mut dyn FnMut(&str, &str, bool) -> Option<usize>, key: &str, name: &Option<String>| {
            name.as_deref().and_then(|name| find(key, name, false))
        };
        let order_id = find("columns.order_id", &columns.order_id, true);
        let purchase_date = find("columns.purchase_date", &columns.purchase_date, true);
        let status = find("columns.status", &columns.status, true);
        let store = optional(&mut find, "columns.store", &columns.store);
        let marketplace = optional(&mut find, "columns.marketplace", &columns.marketplace);
        let ship_date = optional(&mut find, "columns.ship_date", &columns.ship_date);
        let currency = match &columns.currency {
            // Without a constant, the currency column is needed.
            Some(name) => find("columns.currency", name, self.mapping.source.currency.is_none()),
            None => None,
        };
        let sku = optional(&mut find, "columns.sku", &columns.sku);
        let quantity = optional(&mut find, "columns.quantity", &columns.quantity);
        let refunded = optional(&mut find, "columns.refunded_amount", &columns.refunded_amount);
        let amount = match &columns.amount {
            AmountColumns::Total(name) => find("columns.amount", name, true).map(AmountLayout::Total),
            AmountColumns::Components { item_price, shipping_price, gift_wrap_price, discounts } => {
                let item_price = find("columns.item_price", item_price, true);
                let shipping_price = optional(&mut find, "columns.shipping_price", shipping_price);
                let gift_wrap_price = optional(&mut find, "columns.gift_wrap_price", gift_wrap_price);
                let discounts = discounts.iter().filter_map(|name| find("columns.discount", name, false)).collect();
                item_price.map(|item_price| AmountLayout::Components {
                    item_price,
                    shipping_price,
                    gift_wrap_price,
                    discounts,
                })
            }
        };
        if !problems.is_empty() {
            for problem in problems {
                self.report(problem);
            }
            return false;
        }
        let (Some(order_id), Some(purchase_date), Some(status), Some(amount)) =
            (order_id, purchase_date, status, amount)
        else {
            unreachable!("a missing required column is a problem above");
        };
        self.layout = Some(Layout {
            header,
            order_id,
            store,
            marketplace,
            purchase_date,
            ship_date,
            status,
            currency,
            sku,
            quantity,
            amount_columns: amount_columns(&amount, refunded),
            amount,
            refunded,
        });
        true
    }

    // -- Rows ---------------------------------------------------------------------------

    fn row<R: Row + ?Sized>(&mut self, line: u32, row: &R) {
        if cells(row).all(Raw::is_empty) {
            return;
        }
        self.data_rows += 1;
        if self.data_rows > limits::FILE_ROWS_MAX {
            return self.fail(
                line,
                0,
                format!("more than {} rows; tieout reads up to that many per file", limits::FILE_ROWS_MAX),
            );
        }
        if self.is_totals_like(row) {
            self.held_back.push((line, owned(row)));
            return;
        }
        // A regular row: the rows held back were not trailing totals after all.
        for (held_line, held_row) in std::mem::take(&mut self.held_back) {
            self.item(held_line, held_row.as_slice());
        }
        self.item(line, row);
    }

    fn is_totals_like<R: Row + ?Sized>(&self, row: &R) -> bool {
        let Some(layout) = &self.layout else { return false };
        let label = cells(row).find(|raw| !raw.is_empty());
        if let Some(Raw::Text(text)) = label {
            if is_totals_label(text) {
                return true;
            }
        }
        row.get(layout.order_id).is_empty() && layout.amount_columns.iter().any(|column| !row.get(*column).is_empty())
    }

    /// Reads one order row into an item, reporting each bad cell (in column order).
    fn item<R: Row + ?Sized>(&mut self, line: u32, row: &R) {
        let Some(layout) = self.layout.take() else { return };
        let built = self.build_item(line, row, &layout);
        self.layout = Some(layout);
        match built {
            Ok((item, unresolved)) => {
                if let Some(mut unresolved) = unresolved {
                    unresolved.item = self.out.items.len();
                    self.unresolved.push(unresolved);
                }
                self.out.items.push(item);
            }
            Err(mut bad) => {
                bad.sort_by_key(|(column, _)| *column);
                for (column, message) in bad {
                    self.cell_error(line, column, message);
                }
            }
        }
    }

    /// The item of a row, or the (column, reason) of each bad cell.
    fn build_item<R: Row + ?Sized>(
        &mut self,
        line: u32,
        row: &R,
        layout: &Layout,
    ) -> Result<BuiltItem, Vec<CellProblem>> {
        let mapping = self.mapping;
        let source = &mapping.source;
        let mut bad = Vec::new();
        let mut fail = |column: usize, message: String| bad.push((column, message));

        let order_id = match text_field(row.get(layout.order_id)) {
            Ok(Some(text)) => OrderId::parse(&text),
            Ok(None) => {
                fail(layout.order_id, "empty order id".to_owned());
                None
            }
            Err(message) => {
                fail(layout.order_id, message);
                None
            }
        };
        let status = match text_field(row.get(layout.status)) {
            Ok(Some(text)) => {
                let status = mapping.status(&text);
                if status.is_none() {
                    fail(layout.status, format!("unknown status '{text}' (known: {})", mapping.known_statuses()));
                }
                status
            }
            Ok(None) => {
                fail(layout.status, format!("empty status (known: {})", mapping.known_statuses()));
                None
            }
            Err(message) => {
                fail(layout.status, message);
                None
            }
        };
        let date_format = source.date_format.as_deref();
        let purchase_date = match date_field(row.get(layout.purchase_date), date_format, self.is_1904) {
            Ok(Some(date)) => Some(date),
            Ok(None) => {
                fail(layout.purchase_date, "empty purchase date".to_owned());
                None
            }
            Err(message) => {
                fail(layout.purchase_date, message);
                None
            }
        };
        let ship_date =
            match layout.ship_date.map(|column| (column, date_field(row.get(column), date_format, self.is_1904))) {
                None | Some((_, Ok(None))) => None,
                Some((_, Ok(Some(date)))) => Some(date),
                Some((column, Err(message))) => {
                    fail(column, message);
                    None
                }
            };
        let store = match layout.store.map(|column| (column, text_field(row.get(column)))) {
            Some((_, Ok(Some(text)))) => Some(text),
            None | Some((_, Ok(None))) => {
                let store = self.store_fallback.map(Cow::Borrowed);
                if store.is_none() {
                    let message = "empty store, and neither `source.store` nor a default store was given".to_owned();
                    fail(layout.store.unwrap_or(0), message);
                }
                store
            }
            Some((column, Err(message))) => {
                fail(column, message);
                None
            }
        };
        let marketplace = match layout.marketplace.map(|column| (column, text_field(row.get(column)))) {
            Some((_, Ok(Some(text)))) => text,
            None | Some((_, Ok(None))) => Cow::Borrowed(source.marketplace.as_deref().unwrap_or_default()),
            Some((column, Err(message))) => {
                fail(column, message);
                Cow::Borrowed("")
            }
        };
        let sku = match layout.sku.map(|column| (column, text_field(row.get(column)))) {
            Some((_, Ok(Some(text)))) => text,
            None | Some((_, Ok(None))) => Cow::Borrowed(""),
            Some((column, Err(message))) => {
                fail(column, message);
                Cow::Borrowed("")
            }
        };
        let quantity = match layout.quantity.map(|column| (column, quantity_field(row.get(column)))) {
            None | Some((_, Ok(None))) => 1,
            Some((_, Ok(Some(quantity)))) => quantity,
            Some((column, Err(message))) => {
                fail(column, message);
                0
            }
        };

        // Currency first: the amounts' decimals depend on it.
        let amounts_empty = layout.amount_columns.iter().all(|column| row.get(*column).is_empty());
        let mut unresolved = None;
        let currency = match layout.currency.map(|column| (column, text_field(row.get(column)))) {
            Some((column, Ok(Some(code)))) => match Currency::from_code(&code) {
                Ok(currency) => Some(currency),
                Err(error) => {
                    fail(column, error.to_string());
                    None
                }
            },
            Some((column, Err(message))) => {
                fail(column, message);
                None
            }
            None | Some((_, Ok(None))) => match source.currency {
                Some(currency) => Some(currency),
                None if amounts_empty => {
                    // Settled once the whole file is read (the module's currency rule).
                    unresolved = Some(Unresolved {
                        item: 0,
                        line,
                        column: layout.currency,
                        marketplace: marketplace.clone().into_owned(),
                    });
                    Some(Currency::USD)
                }
                None => {
                    fail(layout.currency.unwrap_or(0), "empty currency".to_owned());
                    None
                }
            },
        };

        let mut amount_minor = None;
        let mut refunded_minor = None;
        if let Some(currency) = currency {
            let style = source.number_style;
            let exponent = currency.exponent();
            let amount = |column: usize, fail: &mut dyn FnMut(usize, String)| -> Option<i64> {
                match amount_field(row.get(column), style, exponent) {
                    Ok(value) => Some(value),
                    Err(message) => {
                        fail(column, message);
                        None
                    }
                }
            };
            // Every part is read (each bad one reported); the sum is `None` when a part is bad.
            let mut sum = Some(0i64);
            let mut add = |part: Option<i64>| sum = sum.zip(part).and_then(|(sum, part)| sum.checked_add(part));
            let column = match &layout.amount {
                AmountLayout::Total(column) => {
                    add(amount(*column, &mut fail));
                    *column
                }
                AmountLayout::Components { item_price, shipping_price, gift_wrap_price, discounts } => {
                    add(amount(*item_price, &mut fail));
                    for column in shipping_price.iter().chain(gift_wrap_price.iter()) {
                        add(amount(*column, &mut fail));
                    }
                    for column in discounts {
                        add(amount(*column, &mut fail).map(|discount| -discount.abs()));
                    }
                    *item_price
                }
            };
            if let Some(total) = sum {
                if total.abs() > limits::AMOUNT_MINOR_ABS_MAX {
                    fail(column, format!("the item's amount ({total} minor units) is out of range"));
                } else {
                    amount_minor = Some(total);
                }
            }
            if let Some(column) = layout.refunded {
                match refunded_field(row.get(column), style, exponent) {
                    Ok(value) => refunded_minor = value.map(i64::abs),
                    Err(message) => fail(column, message),
                }
            }
        }

        if !bad.is_empty() {
            return Err(bad);
        }
        let (Some(order_id), Some(store), Some(status), Some(purchase_date), Some(currency), Some(amount_minor)) =
            (order_id, store, status, purchase_date, currency, amount_minor)
        else {
            unreachable!("every missing field is a reported problem");
        };
        let strings = &mut self.out.strings;
        let item = OrderItem {
            line,
            order_id,
            store: strings.intern(&store),
            marketplace: intern_optional(strings, &marketplace),
            status,
            purchase_date,
            ship_date,
            currency,
            amount_minor,
            refunded_minor,
            quantity,
            sku: intern_optional(strings, &sku),
        };
        Ok((item, unresolved))
    }

    /// Settles the currency of items that had none (see the module's currency rule).
    fn resolve_currencies(&mut self) {
        if self.unresolved.is_empty() {
            return;
        }
        let unresolved_items: std::collections::HashSet<usize> = self.unresolved.iter().map(|u| u.item).collect();
        let mut known: std::collections::HashMap<OrderId, Currency> = std::collections::HashMap::new();
        for (index, item) in self.out.items.iter().enumerate() {
            if !unresolved_items.contains(&index) {
                known.entry(item.order_id.clone()).or_insert(item.currency);
            }
        }
        let mut dropped = Vec::new();
        for unresolved in std::mem::take(&mut self.unresolved) {
            let item = &self.out.items[unresolved.item];
            let currency = known.get(&item.order_id).copied().or_else(|| marketplace_currency(&unresolved.marketplace));
            match currency {
                Some(currency) => self.out.items[unresolved.item].currency = currency,
                None => {
                    dropped.push(unresolved.item);
                    let message = "empty currency, and neither another item of this order nor the marketplace tells it";
                    match unresolved.column {
                        Some(column) => self.cell_error(unresolved.line, column, message),
                        None => self.fail(unresolved.line, 0, message),
                    }
                }
            }
        }
        if !dropped.is_empty() {
            let mut index = 0;
            self.out.items.retain(|_| {
                let keep = !dropped.contains(&index);
                index += 1;
                keep
            });
        }
    }
}

fn intern_optional(strings: &mut tieout_core::Interner, text: &str) -> Sym {
    if text.is_empty() {
        Sym::EMPTY
    } else {
        strings.intern(text)
    }
}

fn marketplace_currency(marketplace: &str) -> Option<Currency> {
    let wanted = marketplace.trim().to_ascii_lowercase();
    MARKETPLACE_CURRENCIES.iter().find(|(name, _)| *name == wanted).and_then(|(_, code)| Currency::from_code(code).ok())
}

pub(crate) fn is_totals_label(text: &str) -> bool {
    // Every label starts with a letter: a cell starting with a digit (an order id, most
    // rows' first cell) is not one, and is not lower-cased for nothing.
    if text.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    debug_assert!(TOTALS_LABELS.iter().all(|label| !label.starts_with(|c: char| c.is_ascii_digit())));
    let lower = text.trim().to_lowercase();
    TOTALS_LABELS.iter().any(|label| match lower.strip_prefix(label) {
        Some(rest) => rest.is_empty() || rest.starts_with([' ', ':', '：', '(', '（']),
        None => false,
    })
}

// ---------------------------------------------------------------------------------------
// Fields.

/// An amount in minor units; an empty cell is zero.
fn amount_field(raw: Raw<'_>, style: NumberStyle, exponent: u8) -> Result<i64, String> {
    let parsed = match raw {
        Raw::Empty => return Ok(0),
        Raw::Text(text) => parse_amount_minor(text, style, exponent),
        Raw::Int(value) => parse_amount_minor(&value.to_string(), NumberStyle::Dot, exponent),
        Raw::Number(value) => match excel_number_text(value) {
            Some(text) => parse_amount_minor(&text, NumberStyle::Dot, exponent),
            None => return Err(format!("the number {value} is not an amount")),
        },
        Raw::Date(_) => return Err("a date where an amount was expected".to_owned()),
        Raw::Bool(_) => return Err("TRUE/FALSE where an amount was expected".to_owned()),
        Raw::Error(error) => return Err(format!("the cell holds the spreadsheet error {error}")),
    };
    parsed.map_err(|error| error.to_string())
}

/// The refunded amount: `None` for an empty cell ("not reported", not zero).
fn refunded_field(raw: Raw<'_>, style: NumberStyle, exponent: u8) -> Result<Option<i64>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    amount_field(raw, style, exponent).map(Some)
}

fn quantity_field(raw: Raw<'_>) -> Result<Option<u32>, String> {
    let text = match raw {
        Raw::Empty => return Ok(None),
        Raw::Text(text) => text.to_owned(),
        Raw::Int(value) => value.to_string(),
        Raw::Number(value) => excel_number_text(value).unwrap_or_else(|| value.to_string()),
        Raw::Date(_) | Raw::Bool(_) => return Err("a quantity must be a whole number".to_owned()),
        Raw::Error(error) => return Err(format!("the cell holds the spreadsheet error {error}")),
    };
    text.parse::<u32>().map(Some).map_err(|_| format!("'{text}' is not a quantity (a whole number, 0 or more)"))
}

/// A date; `None` for an empty cell.
fn date_field(raw: Raw<'_>, format: Option<&str>, is_1904: bool) -> Result<Option<NaiveDate>, String> {
    match raw {
        Raw::Empty => Ok(None),
        Raw::Text(text) => parse_date_text(text, format).map(Some),
        Raw::Date(value) => excel_date(value).map(Some),
        Raw::Int(value) => serial_date(value as f64, is_1904).map(Some),
        Raw::Number(value) => serial_date(value, is_1904).map(Some),
        Raw::Bool(_) => Err("TRUE/FALSE where a date was expected".to_owned()),
        Raw::Error(error) => Err(format!("the cell holds the spreadsheet error {error}")),
    }
}

#[cfg(test)]
mod fast_date_tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_the_general_one() {
        for (text, format) in [
            ("2026-10-05", None),
            ("2026-10-05", Some("%Y-%m-%d")),
            ("05.10.2026", Some("%d.%m.%Y")),
            ("2026-02-30", None),
            ("31.04.2026", Some("%d.%m.%Y")),
            ("2026-13-01", Some("%Y-%m-%d")),
        ] {
            let fast = fast_date(text, format).expect("a fast layout");
            let general = NaiveDate::parse_from_str(text, format.unwrap_or("%Y-%m-%d")).map_err(|_| ());
            assert_eq!(fast.is_ok(), general.is_ok(), "{text}");
            if let (Ok(a), Ok(b)) = (fast, general) {
                assert_eq!(a, b);
            }
        }
        assert_eq!(fast_date("2026-10-5x", None).map(|r| r.is_ok()), None);
        assert!(fast_date("05.10.2026", Some("%m.%d.%Y")).is_none());
    }
}

/// ISO 8601 forms accepted in every file, after the mapping's own format.
const ISO_DATE_TIMES: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];

/// The two commonest layouts, `2026-10-05` and `05.10.2026`, read without chrono's format
/// interpreter (a large export has millions of dates). `None`: not one of these layouts;
/// the general path decides.
fn fast_date(text: &str, format: Option<&str>) -> Option<Result<NaiveDate, String>> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0u32, |n, b| b.is_ascii_digit().then(|| n * 10 + (b - b'0') as u32))
    };
    let (year, month, day) = match (format, bytes[4], bytes[7], bytes[2], bytes[5]) {
        (None | Some("%Y-%m-%d"), b'-', b'-', _, _) => (number(0..4)?, number(5..7)?, number(8..10)?),
        (Some("%d.%m.%Y"), _, _, b'.', b'.') => (number(6..10)?, number(3..5)?, number(0..2)?),
        _ => return None,
    };
    Some(
        NaiveDate::from_ymd_opt(year as i32, month, day)
            .ok_or_else(|| format!("'{text}' is not a calendar date (no such day or month)")),
    )
}

const ORDER_DATE_FORMS: DateForms = DateForms {
    dates: &["%Y-%m-%d"],
    with_offset: &["%Y-%m-%dT%H:%M:%S%.f%z"],
    date_times: ISO_DATE_TIMES,
    examples: "2024-03-01 or 2024-03-01T09:15:00+00:00",
};

fn parse_date_text(text: &str, format: Option<&str>) -> Result<NaiveDate, String> {
    if let Some(result) = fast_date(text, format) {
        return result;
    }
    parse_local_date(text, format, &ORDER_DATE_FORMS)
}

// ---------------------------------------------------------------------------------------
// Lines of delimited text.

/// The first line longer than the limit: (1-based line, length in bytes).
fn long_line(text: &str) -> Option<(u32, usize)> {
    text.split('\n')
        .enumerate()
        .find(|(_, line)| line.len() > limits::LINE_LENGTH_BYTES_MAX)
        .map(|(index, line)| (index as u32 + 1, line.len()))
}

/// Turns the byte offsets of records into 1-based line numbers of the file, for offsets
/// that only grow.
struct LineCounter<'a> {
    text: &'a [u8],
    byte: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    fn new(table: &'a str, lines_before: u32) -> LineCounter<'a> {
        LineCounter { text: table.as_bytes(), byte: 0, line: lines_before + 1 }
    }

    /// The line of the record whose parse started at `byte` (skipping the blank lines
    /// the csv crate passes over before it).
    fn line_of_record(&mut self, byte: u64) -> u32 {
        let mut start = (byte as usize).min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\n' | b'\r') {
            start += 1;
        }
        if start >= self.byte {
            self.line += self.text[self.byte..start].iter().filter(|b| **b == b'\n').count() as u32;
            self.byte = start;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse_mapping;
    use tieout_core::records::OrderFile;

    const MAPPING: &str = r#"
[source]
store = "acme-us"
[columns]
order_id = "order_no"
purchase_date = "order_date"
ship_date = "ship_date"
status = "status"
currency = "currency"
sku = "sku"
quantity = "qty"
amount = "item_amount"
refunded_amount = "refunded"
[status]
"Done" = "Shipped"
"#;

    fn mapping(text: &str) -> Mapping {
        parse_mapping("map.toml", text).unwrap()
    }

    /// Reads with a default store (which a mapping's own store overrides).
    fn read(bytes: &[u8], mapping: &Mapping) -> OrderFile {
        read_orders("orders.csv", bytes, mapping, Some("default-store"))
    }

    /// An item as a line of text, for compact expectations.
    fn show(file: &OrderFile, item: &OrderItem) -> String {
        let text = |sym: Sym| file.strings.resolve(sym).to_owned();
        format!(
            "{} {} {} {} {:?} {} {:?} {} {} {:?} q{} {}",
            item.line,
            item.order_id,
            text(item.store),
            text(item.marketplace),
            item.status,
            item.purchase_date,
            item.ship_date,
            item.currency,
            item.amount_minor,
            item.refunded_minor,
            item.quantity,
            text(item.sku),
        )
    }

    fn check(bytes: &[u8], mapping: &Mapping, expect: &[&str]) {
        let file = read(bytes, mapping);
        assert!(
            file.diagnostics.is_empty(),
            "{:#?}",
            file.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        let got: Vec<String> = file.items.iter().map(|item| show(&file, item)).collect();
        assert_eq!(got, expect);
    }

    /// (line, column, column name, message fragment) of the first diagnostic.
    fn check_error(bytes: &[u8], mapping: &Mapping, line: u32, column: u32, column_name: Option<&str>, fragment: &str) {
        let file = read(bytes, mapping);
        let first = file.diagnostics.first().unwrap_or_else(|| panic!("no diagnostic; items {:?}", file.items));
        assert!(first.message.contains(fragment), "{first}\nlacks {fragment:?}");
        assert_eq!((first.line, first.column), (line, column), "{first}");
        assert_eq!(first.column_name.as_deref(), column_name, "{first}");
        assert!(first.is_error());
    }

    const HEADER: &str = "order_no,order_date,ship_date,status,currency,sku,qty,item_amount,refunded\n";

    #[test]
    fn csv_with_quotes_bom_and_crlf() {
        let text = format!(
            "\u{feff}{}SO-1,2024-03-01,2024-03-02,Done,USD,\"SKU,1\",2,\"1,234.50\",\r\n\"SO-2\",2024-03-01T23:30:00-08:00,,pending,usd,\"say \"\"hi\"\"\",,0.5,0.50\r\n",
            HEADER.replace('\n', "\r\n")
        );
        check(
            text.as_bytes(),
            &mapping(MAPPING),
            &[
                "2 SO-1 acme-us  Shipped 2024-03-01 Some(2024-03-02) USD 123450 None q2 SKU,1",
                "3 SO-2 acme-us  Pending 2024-03-01 None USD 50 Some(50) q1 say \"hi\"",
            ],
        );
    }

    #[test]
    fn quoted_field_spanning_lines_keeps_line_numbers() {
        let text = format!(
            "{HEADER}\nSO-1,2024-03-01,,Shipped,USD,\"two\nlines\",1,1.00,\nSO-2,2024-03-01,,Shipped,USD,x,1,2.00,\n"
        );
        check(
            text.as_bytes(),
            &mapping(MAPPING),
            &[
                "3 SO-1 acme-us  Shipped 2024-03-01 None USD 100 None q1 two\nlines",
                "5 SO-2 acme-us  Shipped 2024-03-01 None USD 200 None q1 x",
            ],
        );
    }

    #[test]
    fn semicolons_decimal_comma_preamble_and_totals_row() {
        let mapping = mapping(
            r#"
[source]
delimiter = ";"
header_row = 3
number_style = "comma"
date_format = "%d.%m.%Y"
currency = "EUR"
store = "acme-de"
marketplace = "Amazon.de"
[columns]
order_id = "Bestellnr"
purchase_date = "Datum"
status = "Status"
item_price = "Preis"
shipping_price = "Versand"
discount = "Rabatt"
[status]
"Versendet" = "Shipped"
"Storniert" = "Cancelled"
"#,
        );
        let text = "Export Bestellungen;;;;;\nZeitraum: März 2024;;;;;\nBestellnr;Datum;Status;Preis;Versand;Rabatt\n\
                    A-1;01.03.2024;Versendet;1.234,50;4,95;-10,00\n\
                    A-2;02.03.2024;storniert;19,99;0;5\n\
                    ;;;;;\n\
                    Summe;;;1.254,49;4,95;15,00\n";
        check(
            text.as_bytes(),
            &mapping,
            &[
                "4 A-1 acme-de Amazon.de Shipped 2024-03-01 None EUR 122945 None q1 ",
                "5 A-2 acme-de Amazon.de Cancelled 2024-03-02 None EUR 1499 None q1 ",
            ],
        );
    }

    #[test]
    fn totals_rows_are_skipped_only_at_the_end() {
        let m = mapping(MAPPING);
        // Trailing: a label, then an empty order id with an amount, then blank lines.
        let text =
            format!("{HEADER}SO-1,2024-03-01,,Shipped,USD,a,1,1.00,\nTotal:,,,,,,1,1.00,\n,,,,,,,1.00,\n,,,,,,,,\n");
        check(text.as_bytes(), &m, &["2 SO-1 acme-us  Shipped 2024-03-01 None USD 100 None q1 a"]);
        let chinese = format!("{HEADER}SO-1,2024-03-01,,Shipped,USD,a,1,1.00,\n合计（USD）,,,,,,1,1.00,\n");
        check(chinese.as_bytes(), &m, &["2 SO-1 acme-us  Shipped 2024-03-01 None USD 100 None q1 a"]);
        // In the middle of the file the same row is an order row, and fails.
        let middle = format!(
            "{HEADER}SO-1,2024-03-01,,Shipped,USD,a,1,1.00,\n,,,,,,,5.00,\nSO-2,2024-03-01,,Shipped,USD,a,1,1.00,\n"
        );
        check_error(middle.as_bytes(), &m, 3, 1, Some("order_no"), "empty order id");
        // An order id that merely starts with the word is not a label.
        let id = format!("{HEADER}Totalreturn-1,2024-03-01,,Shipped,USD,a,1,1.00,\n");
        check(id.as_bytes(), &m, &["2 Totalreturn-1 acme-us  Shipped 2024-03-01 None USD 100 None q1 a"]);
    }

    #[test]
    fn bad_cells_name_line_column_and_reason() {
        let m = mapping(MAPPING);
        let row = |fields: &str| format!("{HEADER}SO-0,2024-03-01,,Shipped,USD,a,1,1.00,\n{fields}\n");
        let cases: &[(&str, u32, u32, Option<&str>, &str)] = &[
            ("SO-1,2024-03-01,,Shipped,USD,a,1,1.00", 3, 9, None, "this line has 8 fields, the header has 9"),
            ("SO-1,2024-03-01,,Shipped,USD,a,1,1.00,,x", 3, 10, None, "this line has 10 fields, the header has 9"),
            ("SO-1,2024-03-01,,Shipped,USD,a,1,12a,", 3, 8, Some("item_amount"), "'12a' is not a number"),
            ("SO-1,2024-03-01,,Shipped,USD,a,1,12.345,", 3, 8, Some("item_amount"), "more decimal places than 2"),
            ("SO-1,2026-02-30,,Shipped,USD,a,1,1.00,", 3, 2, Some("order_date"), "'2026-02-30' is not a calendar date"),
            ("SO-1,2024-03-01,2024-13-01,Shipped,USD,a,1,1.00,", 3, 3, Some("ship_date"), "not a calendar date"),
            (
                "SO-1,March 1,,Shipped,USD,a,1,1.00,",
                3,
                2,
                Some("order_date"),
                "'March 1' is not a date (expected ISO 8601",
            ),
            (
                "SO-1,2024-03-01,,Lost,USD,a,1,1.00,",
                3,
                4,
                Some("status"),
                "unknown status 'Lost' (known: Pending, Unshipped",
            ),
            ("SO-1,2024-03-01,,Lost,USD,a,1,1.00,", 3, 4, Some("status"), "aliases in the mapping: Done"),
            ("SO-1,2024-03-01,,Shipped,XYZ,a,1,1.00,", 3, 5, Some("currency"), "unknown currency code 'XYZ'"),
            ("SO-1,2024-03-01,,Shipped,,a,1,1.00,", 3, 5, Some("currency"), "empty currency"),
            ("  ,2024-03-01,,Shipped,USD,a,1,,", 3, 1, Some("order_no"), "empty order id"),
            ("SO-1,2024-03-01,,Shipped,USD,a,-1,1.00,", 3, 7, Some("qty"), "'-1' is not a quantity"),
            ("SO-1,,,Shipped,USD,a,1,1.00,", 3, 2, Some("order_date"), "empty purchase date"),
        ];
        for (fields, line, column, name, fragment) in cases {
            check_error(row(fields).as_bytes(), &m, *line, *column, *name, fragment);
        }
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported_and_the_row_dropped() {
        let text = format!("{HEADER}SO-1,2026-02-30,,Lost,USD,a,1,x,\nSO-2,2024-03-01,,Shipped,USD,a,1,1.00,\n");
        let file = read(text.as_bytes(), &mapping(MAPPING));
        let found: Vec<(u32, u32)> = file.diagnostics.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(found, [(2, 2), (2, 4), (2, 8)]);
        assert_eq!(file.items.len(), 1);
        assert_eq!(file.items[0].line, 3);
    }

    #[test]
    fn missing_column_lists_the_headers_found() {
        let text = "order_no,date,status,currency,item_amount\nSO-1,2024-03-01,Shipped,USD,1.00\n";
        let m = mapping("[columns]\norder_id = \"order_no\"\npurchase_date = \"order_date\"\nstatus = \"status\"\ncurrency = \"currency\"\namount = \"item_amount\"\n");
        let file = read_orders("orders.csv", text.as_bytes(), &m, Some("acme"));
        let first = &file.diagnostics[0];
        assert_eq!((first.line, first.column), (1, 0));
        assert_eq!(first.column_name.as_deref(), Some("order_date"));
        assert!(first.message.contains("missing column 'order_date' (mapping key `columns.purchase_date`); the header on line 1 has: 'order_no', 'date', 'status', 'currency', 'item_amount'"), "{first}");
        assert!(file.items.is_empty());
        // A mapped optional column must exist too (outside the built-in mapping).
        let file = read(b"order_no,order_date,status,currency,item_amount\n", &mapping(MAPPING));
        let missing: Vec<&str> = file.diagnostics.iter().filter_map(|d| d.column_name.as_deref()).collect();
        assert_eq!(missing, ["ship_date", "sku", "qty", "refunded"]);
    }

    #[test]
    fn header_matching_ignores_case_and_spaces_but_not_duplicates() {
        let text = " ORDER_NO ,Order_Date,ship_date,STATUS,currency,sku,qty,item_amount,refunded\nSO-1,2024-03-01,,shipped,USD,a,1,1.00,\n";
        check(text.as_bytes(), &mapping(MAPPING), &["2 SO-1 acme-us  Shipped 2024-03-01 None USD 100 None q1 a"]);
        let duplicate = "order_no,order_date,ship_date,status,currency,sku,qty,item_amount,refunded,Status\n";
        check_error(duplicate.as_bytes(), &mapping(MAPPING), 1, 10, Some("status"), "appears in columns 4 and 10");
    }

    #[test]
    fn non_utf8_is_refused_with_line_and_column() {
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"SO-1,2024-03-01,,Shipped,USD,caf\xe9,1,1.00,\n");
        check_error(&bytes, &mapping(MAPPING), 2, 33, None, "the file is not UTF-8");
    }

    #[test]
    fn store_comes_from_column_constant_or_caller() {
        let no_store =
            "[columns]\norder_id = \"id\"\npurchase_date = \"d\"\nstatus = \"s\"\ncurrency = \"c\"\namount = \"a\"\n";
        let text = b"id,d,s,c,a\n1,2024-03-01,Shipped,JPY,1200\n";
        let file = read_orders("o.csv", text, &mapping(no_store), None);
        assert!(file.diagnostics[0].message.starts_with("no store"), "{}", file.diagnostics[0]);
        let file = read_orders("o.csv", text, &mapping(no_store), Some("jp-shop"));
        assert_eq!(file.strings.resolve(file.items[0].store), "jp-shop");
        assert_eq!((file.items[0].currency, file.items[0].amount_minor), (Currency::JPY, 1200));
        let with_column = "[columns]\norder_id = \"id\"\nstore = \"shop\"\npurchase_date = \"d\"\nstatus = \"s\"\ncurrency = \"c\"\namount = \"a\"\n";
        let text = b"id,shop,d,s,c,a\n1,east,2024-03-01,Shipped,JPY,1\n2,,2024-03-01,Shipped,JPY,1\n";
        let file = read_orders("o.csv", text, &mapping(with_column), Some("fallback"));
        let stores: Vec<&str> = file.items.iter().map(|item| file.strings.resolve(item.store)).collect();
        assert_eq!(stores, ["east", "fallback"]);
        let file = read_orders("o.csv", text, &mapping(with_column), None);
        assert_eq!((file.diagnostics[0].line, file.diagnostics[0].column), (3, 2));
        assert!(file.diagnostics[0].message.contains("empty store"));
    }

    #[test]
    fn diagnostics_stop_at_the_limit() {
        let mut text = HEADER.to_owned();
        for _ in 0..500 {
            text.push_str("SO-1,2024-03-01,,Lost,USD,a,1,1.00,\n");
        }
        let file = read(text.as_bytes(), &mapping(MAPPING));
        assert_eq!(file.diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        assert!(file.diagnostics.last().unwrap().message.starts_with("stopped reading after"));
    }

    #[test]
    fn header_row_past_the_end_or_empty() {
        let m = mapping(&MAPPING.replace("[source]", "[source]\nheader_row = 5"));
        check_error(
            b"a\nb\n",
            &m,
            0,
            0,
            None,
            "the header row is line 5 (`source.header_row`), but the file has 2 lines",
        );
        check_error(b"a\nb\nc\nd\n\nx,y\n", &m, 5, 0, None, "line 5 (`source.header_row`) is empty");
        check_error(b"\xEF\xBB\xBF \r\n", &m, 0, 0, None, "the file is empty");
    }

    #[test]
    fn format_contradictions() {
        let xlsx = mapping(&MAPPING.replace("[source]", "[source]\nformat = \"xlsx\""));
        check_error(HEADER.as_bytes(), &xlsx, 0, 0, None, "not an XLSX workbook");
        let csv = mapping(&MAPPING.replace("[source]", "[source]\nformat = \"csv\""));
        check_error(b"PK\x03\x04junk", &csv, 0, 0, None, "this file is an XLSX workbook");
        check_error(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest", &csv, 0, 0, None, "legacy Excel .xls");
        check_error(b"PK\x03\x04junk", &mapping(MAPPING), 0, 0, None, "not a readable XLSX workbook");
    }

    // -- Amazon All Orders ----------------------------------------------------------------

    const AMAZON_HEADER: &str = "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\tsales-channel\torder-channel\turl\tship-service-level\tproduct-name\tsku\tasin\titem-status\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\titem-promotion-discount\tship-promotion-discount\tship-city\tship-state\tship-postal-code\tship-country\tpromotion-ids\tis-business-order\tpurchase-order-number\tprice-designation";

    /// A report line: every column empty but the given ones.
    fn amazon_line(values: &[(&str, &str)]) -> String {
        AMAZON_HEADER
            .split('\t')
            .map(|column| values.iter().find(|(name, _)| *name == column).map_or("", |(_, value)| *value))
            .collect::<Vec<_>>()
            .join("\t")
    }

    #[test]
    fn amazon_all_orders_report() {
        let item =
            |id: &str, status: &str, sku: &str, price: &str, shipping: &str, discount: &str, ship_discount: &str| {
                amazon_line(&[
                    ("amazon-order-id", id),
                    ("purchase-date", "2024-03-01T23:15:00-08:00"),
                    ("order-status", status),
                    ("sales-channel", "Amazon.com"),
                    ("product-name", "Mug \"Deluxe\" 12oz"),
                    ("sku", sku),
                    ("quantity", "1"),
                    ("currency", if price.is_empty() { "" } else { "USD" }),
                    ("item-price", price),
                    ("item-tax", "1.20"),
                    ("shipping-price", shipping),
                    ("item-promotion-discount", discount),
                    ("ship-promotion-discount", ship_discount),
                ])
            };
        let report = [
            AMAZON_HEADER.to_owned(),
            item("114-8829371-4410258", "Shipped", "MUG-1", "19.99", "4.99", "2.00", "-4.99"),
            item("114-8829371-4410258", "Shipped", "MUG-2", "9.99", "", "", ""),
            item("114-0000001-0000002", "Cancelled", "MUG-1", "", "", "", ""),
            item("114-0000003-0000004", "shipped", "MUG-3", "5.00", "0.00", "0.50", "0.00"),
            String::new(),
        ]
        .join("\n");
        let file = read_orders("all-orders.txt", report.as_bytes(), &Mapping::amazon_all_orders(), Some("acme-us"));
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        let got: Vec<String> = file.items.iter().map(|item| show(&file, item)).collect();
        assert_eq!(
            got,
            [
                "2 114-8829371-4410258 acme-us Amazon.com Shipped 2024-03-01 None USD 1799 None q1 MUG-1",
                "3 114-8829371-4410258 acme-us Amazon.com Shipped 2024-03-01 None USD 999 None q1 MUG-2",
                "4 114-0000001-0000002 acme-us Amazon.com Cancelled 2024-03-01 None USD 0 None q1 MUG-1",
                "5 114-0000003-0000004 acme-us Amazon.com Shipped 2024-03-01 None USD 450 None q1 MUG-3",
            ]
        );
        assert!(matches!(file.items[0].order_id, OrderId::Amazon(_)));
    }

    #[test]
    fn amazon_report_variants_and_ragged_rows() {
        // The order-tracking variant: fewer trailing columns; rows lacking trailing
        // fields, or carrying extra empty ones.
        let header = "amazon-order-id\tpurchase-date\torder-status\tsales-channel\tsku\tquantity\tcurrency\titem-price\tshipping-price";
        let report = format!("{header}\n111-0000000-0000001\t2024-03-01T09:15:00Z\tShipping\tAmazon.de\tA\t2\tEUR\t10.00\n111-0000000-0000002\t2024-03-01T09:15:00+00:00\tPending\tAmazon.de\tB\t1\tEUR\t5.00\t\t\t\n");
        let file = read_orders("t.txt", report.as_bytes(), &Mapping::amazon_all_orders(), Some("eu"));
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        let got: Vec<String> = file.items.iter().map(|item| show(&file, item)).collect();
        assert_eq!(
            got,
            [
                "2 111-0000000-0000001 eu Amazon.de Shipped 2024-03-01 None EUR 1000 None q2 A",
                "3 111-0000000-0000002 eu Amazon.de Pending 2024-03-01 None EUR 500 None q1 B",
            ]
        );
        let extra =
            format!("{header}\n111-0000000-0000001\t2024-03-01\tShipped\tAmazon.de\tA\t2\tEUR\t10.00\t\tsurprise\n");
        check_error(extra.as_bytes(), &Mapping::amazon_all_orders(), 2, 10, None, "field 10 is not empty");
        let no_status = "amazon-order-id\tpurchase-date\titem-price\tcurrency\n";
        let file = read_orders("t.txt", no_status.as_bytes(), &Mapping::amazon_all_orders(), Some("eu"));
        assert!(
            file.diagnostics[0].message.contains("missing column 'order-status' (mapping key `columns.status`)"),
            "{}",
            file.diagnostics[0]
        );
    }

    #[test]
    fn amazon_cancelled_items_without_currency() {
        let header = "amazon-order-id\tpurchase-date\torder-status\tsales-channel\tcurrency\titem-price";
        // Another item of the same order, else the marketplace, else an error.
        let report = format!(
            "{header}\n111-0000000-0000001\t2024-03-01\tCancelled\tAmazon.co.uk\t\t\n111-0000000-0000001\t2024-03-01\tShipped\tAmazon.co.uk\tEUR\t1.00\n111-0000000-0000002\t2024-03-01\tCancelled\tAmazon.co.jp\t\t\n111-0000000-0000003\t2024-03-01\tCancelled\tNon-Amazon\t\t\n"
        );
        let file = read_orders("t.txt", report.as_bytes(), &Mapping::amazon_all_orders(), Some("x"));
        let currencies: Vec<(u32, Currency)> = file.items.iter().map(|item| (item.line, item.currency)).collect();
        assert_eq!(currencies, [(2, Currency::EUR), (3, Currency::EUR), (4, Currency::JPY)]);
        assert_eq!(file.diagnostics.len(), 1);
        assert_eq!((file.diagnostics[0].line, file.diagnostics[0].column), (5, 5));
        assert!(file.diagnostics[0].message.contains("empty currency"));
    }

    // -- XLSX -----------------------------------------------------------------------------

    fn workbook(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        workbook.add_worksheet().set_name("Notes").unwrap().write_string(0, 0, "not this sheet").unwrap();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Orders").unwrap();
        build(sheet);
        workbook.save_to_buffer().unwrap()
    }

    const XLSX_MAPPING: &str = r#"
[source]
sheet = "orders"
header_row = 2
store = "acme-us"
currency = "USD"
[columns]
order_id = "Order"
purchase_date = "Date"
ship_date = "Shipped on"
status = "Status"
quantity = "Qty"
amount = "Amount"
"#;

    #[test]
    fn xlsx_strings_numbers_and_dates() {
        let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let date = |y, m, d| rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d).unwrap();
        let bytes = workbook(|sheet| {
            sheet.write_string(0, 0, "Orders export, March 2024").unwrap();
            for (column, name) in ["Order", "Date", "Shipped on", "Status", "Qty", "Amount"].iter().enumerate() {
                sheet.write_string(1, column as u16, *name).unwrap();
            }
            // Row 3: a numeric order id, a date cell, a text date, a float amount.
            sheet.write_number(2, 0, 1001.0).unwrap();
            sheet.write_date_with_format(2, 1, date(2024, 3, 1), &date_format).unwrap();
            sheet.write_string(2, 2, "2024-03-04").unwrap();
            sheet.write_string(2, 3, "Shipped").unwrap();
            sheet.write_number(2, 4, 3.0).unwrap();
            sheet.write_number(2, 5, 0.1 + 0.2).unwrap();
            // Row 5 (row 4 empty): a text amount, a date serial without a date format.
            sheet.write_string(4, 0, "SO-2").unwrap();
            sheet.write_number(4, 1, 45352.0).unwrap();
            sheet.write_string(4, 3, "Unshipped").unwrap();
            sheet.write_string(4, 5, "1,234.56").unwrap();
            sheet.write_number(5, 0, 1003.0).unwrap();
            sheet.write_date_with_format(5, 1, date(2024, 3, 2), &date_format).unwrap();
            sheet.write_string(5, 3, "Shipped").unwrap();
            sheet.write_number(5, 5, -19.99).unwrap();
            // A totals row with a formula.
            sheet.write_string(6, 0, "Total").unwrap();
            sheet.write_formula(6, 5, rust_xlsxwriter::Formula::new("=SUM(F3:F6)").set_result("1214.87")).unwrap();
        });
        let file = read_orders("orders.xlsx", &bytes, &mapping(XLSX_MAPPING), None);
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        let got: Vec<String> = file.items.iter().map(|item| show(&file, item)).collect();
        assert_eq!(
            got,
            [
                "3 1001 acme-us  Shipped 2024-03-01 Some(2024-03-04) USD 30 None q3 ",
                "5 SO-2 acme-us  Unshipped 2024-03-01 None USD 123456 None q1 ",
                "6 1003 acme-us  Shipped 2024-03-02 None USD -1999 None q1 ",
            ]
        );
    }

    #[test]
    fn xlsx_bad_cells() {
        let bytes = workbook(|sheet| {
            for (column, name) in ["Order", "Date", "Status", "Amount"].iter().enumerate() {
                sheet.write_string(1, column as u16, *name).unwrap();
            }
            sheet.write_string(2, 0, "SO-1").unwrap();
            sheet.write_string(2, 1, "2026-02-30").unwrap();
            sheet.write_string(2, 2, "Shipped").unwrap();
            sheet.write_number(2, 3, 12.345).unwrap();
            sheet.write_string(3, 0, "SO-2").unwrap();
            sheet.write_number(3, 1, -3.0).unwrap();
            sheet.write_string(3, 2, "Gone").unwrap();
            sheet.write_boolean(3, 3, true).unwrap();
        });
        let m = mapping(&XLSX_MAPPING.replace("ship_date = \"Shipped on\"\n", "").replace("quantity = \"Qty\"\n", ""));
        let file = read_orders("orders.xlsx", &bytes, &m, None);
        let found: Vec<(u32, u32, &str)> =
            file.diagnostics.iter().map(|d| (d.line, d.column, d.column_name.as_deref().unwrap_or(""))).collect();
        assert_eq!(found, [(3, 2, "Date"), (3, 4, "Amount"), (4, 2, "Date"), (4, 3, "Status"), (4, 4, "Amount")]);
        let messages: Vec<&str> = file.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(messages[0].contains("'2026-02-30' is not a calendar date"));
        assert!(messages[1].contains("'12.345' has more decimal places than 2"));
        assert!(messages[2].contains("the number -3 is not a date"));
        assert!(messages[3].contains("unknown status 'Gone'"));
        assert!(messages[4].contains("TRUE/FALSE where an amount was expected"));
    }

    #[test]
    fn xlsx_missing_sheet_lists_sheets() {
        let bytes = workbook(|_| {});
        let m = mapping(&XLSX_MAPPING.replace("sheet = \"orders\"", "sheet = \"Bestellungen\""));
        check_error(
            &bytes,
            &m,
            0,
            0,
            None,
            "no sheet 'Bestellungen' (`source.sheet`); the workbook has: Notes, Orders",
        );
        let m = mapping(XLSX_MAPPING);
        check_error(&bytes, &m, 2, 0, None, "no header: row 2 (`source.header_row`) of sheet 'Orders'");
    }

    #[test]
    fn excel_numbers_as_text() {
        let cases: &[(f64, &str)] = &[
            (12.34, "12.34"),
            (0.1 + 0.2, "0.3"),
            (-19.99, "-19.99"),
            (1001.0, "1001"),
            (-0.0, "0"),
            (1e21, "1000000000000000000000"),
            (0.000123, "0.000123"),
            (19.99 * 3.0, "59.97"),
            (123456789.125, "123456789.125"),
        ];
        for (value, text) in cases {
            assert_eq!(excel_number_text(*value).as_deref(), Some(*text), "{value}");
        }
        assert_eq!(excel_number_text(f64::NAN), None);
    }

    #[test]
    fn dates_in_many_forms() {
        let ok = |text: &str, format: Option<&str>, expect: &str| {
            assert_eq!(parse_date_text(text, format).map(|d| d.to_string()), Ok(expect.to_owned()), "{text}");
        };
        ok("2024-03-01", None, "2024-03-01");
        ok("2024-03-01T09:15:00+00:00", None, "2024-03-01");
        ok("2024-03-01T23:15:00-08:00", None, "2024-03-01");
        ok("2024-03-01T09:15:00Z", None, "2024-03-01");
        ok("2024-03-01T09:15:00.123+0100", None, "2024-03-01");
        ok("2024-03-01 09:15:00", None, "2024-03-01");
        ok("01.03.2024", Some("%d.%m.%Y"), "2024-03-01");
        ok("01.03.2024 10:00", Some("%d.%m.%Y %H:%M"), "2024-03-01");
        ok("2024/03/01 10:00 +0800", Some("%Y/%m/%d %H:%M %z"), "2024-03-01");
        ok("2024-03-01", Some("%d.%m.%Y"), "2024-03-01");
        assert!(parse_date_text("30.02.2024", Some("%d.%m.%Y")).unwrap_err().contains("not a calendar date"));
        assert!(parse_date_text("2024-02-30T10:00:00Z", None).unwrap_err().contains("not a calendar date"));
        assert!(parse_date_text("yesterday", Some("%d.%m.%Y")).unwrap_err().contains("expected %d.%m.%Y or ISO 8601"));
    }
}
