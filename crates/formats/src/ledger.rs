//! Counterparty documents (往来单据): the invoices, refunds, discounts and payments of
//! customers, and the purchases, returns, discounts and payments of suppliers, as an ERP
//! exports them to CSV or XLSX — or a counterparty's own statement of the same.
//!
//! # tieout's own files ([`read_documents`])
//! A CSV (comma, semicolon or tab, detected from the header line), UTF-8 (with or
//! without BOM) or, when it is not UTF-8, GBK; or an XLSX workbook, whose first sheet's
//! first row is the header. The header names the columns, case-insensitively, in English
//! or Chinese:
//!
//! | field | headers |
//! |---|---|
//! | counterparty (required) | `counterparty`, `customer`, `supplier`, `往来单位`, `客户`, `供应商` |
//! | counterparty name | `counterparty_name`, `name`, `名称`, `单位名称` |
//! | type (required) | `type`, `document_type`, `类型`, `单据类型` — see [`DocType::parse`] |
//! | number (required) | `number`, `document`, `document_number`, `单号`, `单据编号` |
//! | date (required) | `date`, `日期`, `单据日期` — `YYYY-MM-DD`, `YYYY/MM/DD` or `DD.MM.YYYY` (a time after it is dropped) |
//! | amount (required) | `amount`, `金额` — positive, `.` decimal point; thousands commas allowed (`1,234.50`) |
//! | currency (required) | `currency`, `币种` |
//! | description | `description`, `items`, `摘要`, `商品`, `备注` |
//!
//! # Any other layout ([`read_documents_with_mapping`])
//! An ERP export whose headers are not these is read through a documents mapping (a
//! TOML file: which header holds which field, constants, type aliases, number style,
//! date format, what a negative amount means; see [`crate::ledger_mapping`]).
//!
//! # Rules, with or without a mapping
//! * A negative amount is refused (the type carries the sign) unless the mapping says
//!   `negative = "reverse"`; so are an unknown type, a bad date or amount, a currency
//!   tieout does not know and a CSV line with another number of fields than the header —
//!   each naming its line and column (1-based; in a workbook, the sheet's row and column),
//!   with the column's header. Only the first problem of a row is reported; reading stops
//!   after `limits::FILE_DIAGNOSTICS_MAX` diagnostics.
//! * A row whose cells are all empty is skipped, and so is a totals row: its first
//!   non-empty cell is `Total`, `Totals`, `合计` or `总计` (alone, or followed by `:`).
//! * Cells are trimmed of spaces and of the TAB, leading backtick or apostrophe that
//!   exports add to keep Excel from turning long codes into numbers.
//! * **XLSX** is recognised by its zip signature; a legacy `.xls` is refused (save it as
//!   XLSX). Cells may be text (read as in a CSV) or typed: a number in the amount column
//!   is written as Excel shows it at full precision (15 significant digits) and that
//!   decimal text is parsed (no float arithmetic on money; `12.345` USD is refused); a
//!   date cell, or a number in the date column (an Excel serial date, 1900 or 1904 system
//!   as the workbook says), gives its calendar date; a number in a text column reads as
//!   Excel shows it (document number `1001`). A spreadsheet error (`#N/A`) in a mapped
//!   column, a date or TRUE/FALSE where an amount is expected are errors. The sheet is
//!   streamed (a value past `ROW_COLUMNS_MAX` columns is refused) and the parser runs
//!   under `catch_unwind`: a panic in it becomes a diagnostic.
//! * A document's `line` is its CSV line or its sheet row: with the file's SHA-256, the
//!   import keeps where each document came from.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::NaiveDate;
use tieout_core::counterparty::{DocType, Document};
use tieout_core::diag::Diagnostic;
use tieout_core::limits;
use tieout_core::money::{parse_amount_minor, Currency, NumberStyle};

use crate::ledger_mapping::{DocumentMapping, Field, NegativeAmounts, BUILT_IN_HEADERS};
use crate::local_date::{parse_local_date, DateForms};
use crate::mapping::FileKind;
use crate::mapping_common::{catch_workbook_panic, container, table_from, text_field};
use crate::statement_profile::{check_lines, clean_cell, decode_gbk, LineCounter, TextEncoding};
use crate::text::push_limited;
use crate::xlsx::{excel_date, excel_number_text, open_sheet, serial_date, text_of, Raw, Value, XLSX_SIGNATURE};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFile {
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Labels of a totals row, compared lower-cased.
const TOTALS_LABELS: &[&str] = &["total", "totals", "合计", "总计"];

/// Whether `bytes` look like one of tieout's documents CSV files: its header line (UTF-8
/// or GBK) names a type, a number and an amount column.
pub fn looks_like(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let utf8 = String::from_utf8_lossy(head);
    let (gbk, _, _) = encoding_rs::GBK.decode(head);
    [utf8, gbk].iter().any(|text| {
        let first = text.trim_start_matches('\u{feff}').lines().next().unwrap_or("");
        header_names_documents(first.split([',', ';', '\t']).map(|c| c.trim().trim_matches('"')))
    })
}

/// Whether `bytes` are an XLSX workbook whose first sheet's first row is the header of a
/// documents file. Opens the workbook and reads that one row only.
pub fn looks_like_xlsx(bytes: &[u8]) -> bool {
    if !bytes.starts_with(XLSX_SIGNATURE) {
        return false;
    }
    let first_row = catch_unwind(AssertUnwindSafe(|| {
        let mut sheet = open_sheet(bytes, None).ok()?;
        let mut header = None;
        let _ = sheet.rows(|_, row| {
            header = Some(row.iter().map(|value| text_of(value.raw()).unwrap_or_default()).collect::<Vec<_>>());
            false
        });
        header
    }));
    match first_row {
        Ok(Some(header)) => header_names_documents(header.iter().map(String::as_str)),
        _ => false,
    }
}

fn header_names_documents<'a>(cells: impl Iterator<Item = &'a str>) -> bool {
    let cells: Vec<String> = cells.map(|cell| cell.trim().to_lowercase()).collect();
    [Field::Type, Field::Number, Field::Amount].iter().all(|field| {
        let (_, aliases) = BUILT_IN_HEADERS.iter().find(|(f, _)| f == field).expect("a built-in field");
        cells.iter().any(|cell| aliases.contains(&cell.as_str()))
    })
}

/// Reads one of tieout's own documents files (CSV or XLSX; see the module documentation).
pub fn read_documents(file_name: &str, bytes: &[u8]) -> DocumentFile {
    read_documents_with_mapping(file_name, bytes, &DocumentMapping::built_in())
}

/// Reads a documents file (CSV or XLSX) through a mapping.
pub fn read_documents_with_mapping(file_name: &str, bytes: &[u8], mapping: &DocumentMapping) -> DocumentFile {
    let mut reader = Reader {
        file: file_name,
        mapping,
        out: DocumentFile::default(),
        layout: None,
        is_1904: false,
        stopped: false,
        rows: 0,
    };
    reader.read(bytes);
    reader.out
}

// ---------------------------------------------------------------------------------------
// Cells, whatever the container.

trait Cells {
    fn width(&self) -> usize;
    fn cell(&self, index: usize) -> Raw<'_>;
}

impl Cells for csv::StringRecord {
    fn width(&self) -> usize {
        self.len()
    }

    fn cell(&self, index: usize) -> Raw<'_> {
        self.get(index).map_or(Raw::Empty, |text| Raw::text(clean_cell(text)))
    }
}

impl Cells for [Value] {
    fn width(&self) -> usize {
        self.len()
    }

    fn cell(&self, index: usize) -> Raw<'_> {
        match self.get(index) {
            None => Raw::Empty,
            Some(Value::Text(text)) => Raw::text(clean_cell(text)),
            Some(value) => value.raw(),
        }
    }
}

/// The header's text and where each field's column is.
struct Layout {
    header: Vec<String>,
    columns: [Option<usize>; 8],
}

impl Layout {
    fn column(&self, field: Field) -> Option<usize> {
        self.columns[field as usize]
    }
}

/// (0-based column, reason) of a bad cell.
type CellProblem = (Option<usize>, String);

struct Reader<'m> {
    file: &'m str,
    mapping: &'m DocumentMapping,
    out: DocumentFile,
    layout: Option<Layout>,
    is_1904: bool,
    stopped: bool,
    rows: u32,
}

impl Reader<'_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        if !self.stopped && !push_limited(&mut self.out.diagnostics, self.file, diagnostic) {
            self.stopped = true;
        }
    }

    fn fail(&mut self, line: u32, column: u32, message: impl Into<String>) {
        let diagnostic = Diagnostic::error(self.file, line, column, message);
        self.report(diagnostic);
    }

    fn read(&mut self, bytes: &[u8]) {
        if let Err(diagnostic) = crate::text::check_size(self.file, bytes, "documents") {
            return self.report(diagnostic);
        }
        match container(bytes, self.mapping.format) {
            Ok(FileKind::Xlsx) => self.read_xlsx(bytes),
            Ok(FileKind::Csv) => self.read_csv(bytes),
            Err(message) => self.fail(0, 0, message),
        }
    }

    // -- CSV ----------------------------------------------------------------------------

    fn decode<'b>(&mut self, bytes: &'b [u8]) -> Option<Cow<'b, str>> {
        let gbk = |bytes: &'b [u8], message: &str| {
            decode_gbk(bytes).map_err(|(line, column)| Diagnostic::error(self.file, line, column, message))
        };
        let decoded = match self.mapping.encoding {
            None => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(Cow::Borrowed(text)),
                Err(_) => gbk(bytes, "the file is neither UTF-8 nor GBK text"),
            },
            Some(TextEncoding::Utf8) => crate::text::decode_utf8(self.file, bytes).map(Cow::Borrowed),
            Some(TextEncoding::Gbk) => {
                gbk(bytes, "the file is not GBK text (is it UTF-8? check the mapping's `source.encoding`)")
            }
            Some(TextEncoding::Windows1252) => Ok(encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0),
        };
        match decoded {
            Ok(text) => Some(text),
            Err(diagnostic) => {
                self.report(diagnostic);
                None
            }
        }
    }

    fn read_csv(&mut self, bytes: &[u8]) {
        let Some(text) = self.decode(bytes) else { return };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if let Err(diagnostic) = check_lines(self.file, text) {
            return self.report(diagnostic);
        }
        if text.trim().is_empty() {
            return self.fail(1, 1, "the file is empty: a header line is expected");
        }
        let header_row = self.mapping.header_row;
        let table = match table_from(text, header_row) {
            Ok(table) => table,
            Err(message) => return self.fail(0, 0, message),
        };
        let header_line = table.lines().next().unwrap_or("");
        let delimiter = self.mapping.delimiter.unwrap_or_else(|| {
            [b'\t', b';', b',']
                .into_iter()
                .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
                .unwrap_or(b',')
        });
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(table.as_bytes());
        let mut lines = LineCounter::new(table, header_row);
        let mut record = csv::StringRecord::new();
        while !self.stopped {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = lines.line_of(record.position().map_or(0, |p| p.byte() as usize));
                    if self.layout.is_none() {
                        if line != header_row {
                            let message =
                                format!("line {header_row} is empty; it must hold the header (`source.header_row`)");
                            return self.fail(header_row, 1, message);
                        }
                        let header = record.iter().map(|cell| clean_cell(cell).to_owned()).collect();
                        if !self.header(line, header) {
                            return;
                        }
                        continue;
                    }
                    let width = self.layout.as_ref().map_or(0, |layout| layout.header.len());
                    if record.len() != width && !is_blank(&record) && !is_totals(&record) {
                        self.fail(line, 1, format!("{} fields, the header has {width}", record.len()));
                        continue;
                    }
                    self.row(line, &record);
                }
                Err(error) => {
                    let line = lines.line_of(error.position().map_or(0, |p| p.byte() as usize));
                    self.fail(line, 1, format!("not a CSV line: {error}"));
                }
            }
        }
        if self.layout.is_none() && !self.stopped {
            self.fail(header_row, 1, format!("no header: line {header_row} is empty or missing"));
        }
    }

    // -- XLSX ---------------------------------------------------------------------------

    fn read_xlsx(&mut self, bytes: &[u8]) {
        if let Err(message) = catch_workbook_panic(|| self.read_sheet(bytes)) {
            self.fail(0, 0, message);
        }
    }

    fn read_sheet(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut sheet = open_sheet(bytes, self.mapping.sheet.as_deref())?;
        self.is_1904 = sheet.is_1904;
        let header_row = self.mapping.header_row;
        let streamed = sheet.rows(|line, row| {
            if line < header_row {
                return true;
            }
            if self.layout.is_none() {
                if line > header_row {
                    let message = format!("row {header_row} is empty; it must hold the header (`source.header_row`)");
                    self.fail(header_row, 1, message);
                    return false;
                }
                let header = (0..row.width()).map(|index| text_of(row.cell(index)).unwrap_or_default()).collect();
                return self.header(line, header);
            }
            self.row(line, row);
            !self.stopped
        });
        if let Err((line, column, message)) = streamed {
            self.fail(line, column, message);
            return Ok(());
        }
        if self.out.diagnostics.is_empty() && self.layout.is_none() {
            let message = format!("no header: row {header_row} of sheet '{}' is empty or missing", sheet.name);
            self.fail(header_row, 1, message);
        }
        Ok(())
    }

    // -- Header -------------------------------------------------------------------------

    /// Finds each field's column; false when the file cannot be read on.
    fn header(&mut self, line: u32, header: Vec<String>) -> bool {
        if header.len() > limits::ROW_COLUMNS_MAX {
            let message =
                format!("the header has {} columns; tieout reads up to {}", header.len(), limits::ROW_COLUMNS_MAX);
            self.fail(line, 1, message);
            return false;
        }
        let normalized: Vec<String> = header.iter().map(|name| name.trim().to_lowercase()).collect();
        let mapping = self.mapping;
        let mut columns = [None; 8];
        let mut problems = Vec::new();
        for field in Field::ALL {
            let aliases = mapping.columns.headers(field);
            if aliases.is_empty() {
                continue;
            }
            let found = aliases.iter().find_map(|alias| {
                let wanted = alias.to_lowercase();
                let positions: Vec<usize> =
                    normalized.iter().enumerate().filter(|(_, name)| **name == wanted).map(|(i, _)| i).collect();
                (!positions.is_empty()).then_some((alias, positions))
            });
            match found {
                Some((_, positions)) if positions.len() == 1 || mapping.built_in => {
                    columns[field as usize] = Some(positions[0]);
                }
                Some((alias, positions)) => problems.push(Diagnostic::error(
                    self.file,
                    line,
                    positions[1] as u32 + 1,
                    format!(
                        "the header '{alias}' (mapping key `columns.{}`) appears in columns {} and {}",
                        field.name(),
                        positions[0] + 1,
                        positions[1] + 1
                    ),
                )),
                None if mapping.built_in && !field.is_required() => {}
                None if mapping.built_in => problems.push(Diagnostic::error(
                    self.file,
                    line,
                    1,
                    format!(
                        "no {} column (headers accepted: {}); found: {}",
                        field.name(),
                        aliases.join(", "),
                        normalized.join(", ")
                    ),
                )),
                None => problems.push(Diagnostic::error(
                    self.file,
                    line,
                    1,
                    format!(
                        "missing column {} (mapping key `columns.{}`); the header on line {line} has: {}",
                        aliases.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" or "),
                        field.name(),
                        header.iter().map(|h| format!("'{h}'")).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        if !problems.is_empty() {
            for problem in problems {
                self.report(problem);
            }
            return false;
        }
        self.layout = Some(Layout { header, columns });
        true
    }

    // -- Rows ---------------------------------------------------------------------------

    fn row<C: Cells + ?Sized>(&mut self, line: u32, cells: &C) {
        if is_blank(cells) || is_totals(cells) {
            return;
        }
        self.rows += 1;
        if self.rows > limits::FILE_ROWS_MAX {
            self.fail(line, 0, format!("the file has more than {} rows, the most tieout reads", limits::FILE_ROWS_MAX));
            self.stopped = true;
            return;
        }
        let layout = self.layout.as_ref().expect("rows follow the header");
        match read_row(self.mapping, layout, cells, self.is_1904) {
            Ok(mut document) => {
                document.line = line;
                self.out.documents.push(document);
            }
            Err((column, message)) => {
                let mut diagnostic =
                    Diagnostic::error(self.file, line, column.map_or(0, |index| index as u32 + 1), message);
                if let Some(name) = column.and_then(|index| layout.header.get(index)) {
                    diagnostic = diagnostic.with_column_name(name.clone());
                }
                self.report(diagnostic);
            }
        }
    }
}

fn is_blank<C: Cells + ?Sized>(cells: &C) -> bool {
    (0..cells.width()).all(|index| cells.cell(index).is_empty())
}

/// A row whose first non-empty cell is a totals label (alone, or followed by a colon).
fn is_totals<C: Cells + ?Sized>(cells: &C) -> bool {
    let first = (0..cells.width()).map(|index| cells.cell(index)).find(|raw| !raw.is_empty());
    let Some(Raw::Text(text)) = first else { return false };
    let label = text.trim_end_matches([':', '：']).trim().to_lowercase();
    TOTALS_LABELS.contains(&label.as_str())
}

// ---------------------------------------------------------------------------------------
// One row.

fn read_row<C: Cells + ?Sized>(
    mapping: &DocumentMapping,
    layout: &Layout,
    cells: &C,
    is_1904: bool,
) -> Result<Document, CellProblem> {
    let raw = |field: Field| layout.column(field).map_or(Raw::Empty, |index| cells.cell(index));
    let text = |field: Field| -> Result<Option<String>, CellProblem> {
        text_field(raw(field)).map(|text| text.map(Cow::into_owned)).map_err(|message| (layout.column(field), message))
    };
    let required = |field: Field, what: &str, constant: Option<&str>| -> Result<String, CellProblem> {
        match (text(field)?, constant) {
            (Some(text), _) => Ok(text),
            (None, Some(constant)) => Ok(constant.to_owned()),
            (None, None) => Err((layout.column(field), format!("the {what} is empty"))),
        }
    };

    let counterparty = required(Field::Counterparty, "counterparty", mapping.counterparty.as_deref())?;
    let mut doc_type = match (text(Field::Type)?, mapping.doc_type) {
        (Some(type_text), _) => mapping.doc_type(&type_text).ok_or_else(|| {
            (layout.column(Field::Type), format!("unknown type '{type_text}': one of {}", mapping.known_types()))
        })?,
        (None, Some(constant)) => constant,
        (None, None) => return Err((layout.column(Field::Type), "the type is empty".to_owned())),
    };
    let number = required(Field::Number, "document number", None)?;
    let date = date_field(raw(Field::Date), mapping.date_format.as_deref(), is_1904)
        .map_err(|message| (layout.column(Field::Date), message))?;
    let currency = match (text(Field::Currency)?, mapping.currency) {
        (Some(code), _) => Currency::from_code(&code.to_uppercase())
            .map_err(|_| (layout.column(Field::Currency), format!("'{code}' is not a currency tieout knows")))?,
        (None, Some(constant)) => constant,
        (None, None) => return Err((layout.column(Field::Currency), "the currency is empty".to_owned())),
    };
    let amount_column = layout.column(Field::Amount);
    let amount_raw = raw(Field::Amount);
    let mut amount_minor =
        amount_field(amount_raw, mapping.number_style, currency).map_err(|message| (amount_column, message))?;
    if amount_minor < 0 {
        let written = text_of(amount_raw).unwrap_or_default();
        let reverse = match (mapping.negative, doc_type) {
            (NegativeAmounts::Reverse, DocType::Invoice) => DocType::Refund,
            (NegativeAmounts::Reverse, DocType::Purchase) => DocType::PurchaseReturn,
            (NegativeAmounts::Reverse, other) => {
                return Err((
                    amount_column,
                    format!(
                        "'{written}' is a negative {}: only a negative invoice (a refund) or purchase (a purchase return) is reversed; write the amount positive, the type gives the sign",
                        other.name()
                    ),
                ));
            }
            (NegativeAmounts::Refuse, _) => {
                let hint = if mapping.built_in {
                    ""
                } else {
                    " (or, for negative invoices and purchases, set `source.negative = \"reverse\"` in the mapping)"
                };
                return Err((
                    amount_column,
                    format!("'{written}' is negative: write amounts positive, the type gives the sign{hint}"),
                ));
            }
        };
        doc_type = reverse;
        amount_minor = -amount_minor;
    }
    Ok(Document {
        line: 0,
        counterparty,
        counterparty_name: text(Field::CounterpartyName)?,
        doc_type,
        number,
        date,
        amount_minor,
        currency,
        description: text(Field::Description)?.unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------
// Fields.

/// An amount in minor units of `currency`, signed as written.
fn amount_field(raw: Raw<'_>, style: NumberStyle, currency: Currency) -> Result<i64, String> {
    let exponent = currency.exponent();
    let not_an_amount = |text: &str, error: tieout_core::money::AmountError| {
        format!("'{text}' is not an amount in {currency}: {error}")
    };
    match raw {
        Raw::Empty => Err("the amount is empty".to_owned()),
        Raw::Text(text) => parse_amount_minor(text, style, exponent).map_err(|e| not_an_amount(text, e)),
        Raw::Int(value) => {
            let text = value.to_string();
            parse_amount_minor(&text, NumberStyle::Dot, exponent).map_err(|e| not_an_amount(&text, e))
        }
        Raw::Number(value) => match excel_number_text(value) {
            Some(text) => parse_amount_minor(&text, NumberStyle::Dot, exponent).map_err(|e| not_an_amount(&text, e)),
            None => Err(format!("the number {value} is not an amount")),
        },
        Raw::Date(_) => Err("a date where an amount was expected".to_owned()),
        Raw::Bool(_) => Err("TRUE/FALSE where an amount was expected".to_owned()),
        Raw::Error(error) => Err(format!("the cell holds the spreadsheet error {error}")),
    }
}

/// tieout's own forms, when no date format is given.
const OWN_DATE_FORMS: DateForms = DateForms {
    dates: &["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y"],
    with_offset: &["%Y-%m-%dT%H:%M:%S%.f%z"],
    date_times: &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M"],
    examples: "2026-10-31, 2026/10/31 or 31.10.2026",
};

/// After a mapping's own date format: ISO 8601 only (another order of day and month
/// would read a mistyped date as a different day).
const ISO_DATE_FORMS: DateForms = DateForms {
    dates: &["%Y-%m-%d"],
    with_offset: &["%Y-%m-%dT%H:%M:%S%.f%z"],
    date_times: &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"],
    examples: "2026-10-31",
};

fn date_field(raw: Raw<'_>, format: Option<&str>, is_1904: bool) -> Result<NaiveDate, String> {
    match raw {
        Raw::Empty => Err("the date is empty".to_owned()),
        Raw::Text(text) => {
            let forms = if format.is_some() { &ISO_DATE_FORMS } else { &OWN_DATE_FORMS };
            parse_local_date(text, format, forms)
        }
        Raw::Date(value) => excel_date(value),
        Raw::Int(value) => serial_date(value as f64, is_1904),
        Raw::Number(value) => serial_date(value, is_1904),
        Raw::Bool(_) => Err("TRUE/FALSE where a date was expected".to_owned()),
        Raw::Error(error) => Err(format!("the cell holds the spreadsheet error {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse_mapping;
    use crate::{detect, Detected};
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
    use tieout_core::money::format_minor;
    use tieout_core::records::SourceFormat;

    /// Each document as `line counterparty[/name] type number date amount currency description`.
    fn show(file: &DocumentFile) -> Vec<String> {
        file.documents
            .iter()
            .map(|d| {
                let name = d.counterparty_name.as_deref().map_or(String::new(), |name| format!("/{name}"));
                format!(
                    "{} {}{name} {} {} {} {} {} {}",
                    d.line,
                    d.counterparty,
                    d.doc_type.name(),
                    d.number,
                    d.date,
                    format_minor(d.amount_minor, d.currency.exponent()),
                    d.currency,
                    d.description
                )
                .trim_end()
                .to_owned()
            })
            .collect()
    }

    fn messages(file: &DocumentFile) -> Vec<String> {
        file.diagnostics.iter().map(ToString::to_string).collect()
    }

    fn mapping(text: &str) -> DocumentMapping {
        parse_mapping("docs.toml", text).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn reads_english_and_chinese_headers_and_refuses_bad_rows_by_line_and_column() {
        let file = "counterparty,name,type,number,date,amount,currency,description\n\
                    D-001,Distributor One,invoice,INV-1,2026-10-03,\"1,234.50\",USD,20 chargers\n\
                    D-001,Distributor One,receipt,RC-1,2026-10-20,1000.00,USD,wire\n\
                    Total,,,,,2234.50,,\n";
        let read = read_documents("docs.csv", file.as_bytes());
        assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
        assert_eq!(read.documents.len(), 2);
        assert_eq!(read.documents[0].amount_minor, 123_450);
        assert_eq!(read.documents[0].line, 2);
        assert_eq!(read.documents[1].doc_type, DocType::Receipt);
        assert!(looks_like(file.as_bytes()));

        let chinese = "供应商;类型;单号;日期;金额;币种\nS-9;采购;PO-1;2026/10/05;88.00;CNY\n";
        let read = read_documents("采购.csv", chinese.as_bytes());
        assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
        assert_eq!(read.documents[0].doc_type, DocType::Purchase);

        let bad = "counterparty,type,number,date,amount,currency\nD-1,invoice,I-1,2026-13-01,5.00,USD\nD-1,gift,I-2,2026-10-01,5.00,USD\nD-1,invoice,I-3,2026-10-01,-5.00,USD\n";
        let read = read_documents("bad.csv", bad.as_bytes());
        let places: Vec<(u32, u32)> = read.diagnostics.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(places, [(2, 4), (3, 2), (4, 5)], "{:?}", read.diagnostics);
        let missing = read_documents("x.csv", b"counterparty,number,amount\n");
        assert!(missing.diagnostics[0].message.contains("no type column"));
    }

    #[test]
    fn a_gbk_csv_with_chinese_headers_is_detected_and_read() {
        let (gbk, _, _) = encoding_rs::GBK
            .encode("客户,单据类型,单号,日期,金额,币种,摘要\nC-8,发票,FP-1,2026-10-05,1200.00,CNY,充电器\n");
        assert!(looks_like(&gbk), "a GBK header is recognised too");
        assert_eq!(detect(&gbk), Detected::Known(SourceFormat::LedgerDocuments));
        let read = read_documents("单据.csv", &gbk);
        assert_eq!(show(&read), ["2 C-8 invoice FP-1 2026-10-05 1200.00 CNY 充电器"], "{:?}", messages(&read));
    }

    fn workbook(build: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
        let mut workbook = Workbook::new();
        build(workbook.add_worksheet());
        workbook.save_to_buffer().unwrap()
    }

    fn header(sheet: &mut Worksheet, row: u32, names: &[&str]) {
        for (column, name) in names.iter().enumerate() {
            sheet.write_string(row, column as u16, *name).unwrap();
        }
    }

    #[test]
    fn xlsx_documents_with_number_and_date_cells_read_exactly_like_the_csv() {
        let date_format = Format::new().set_num_format("yyyy-mm-dd");
        let bytes = workbook(|sheet| {
            header(sheet, 0, &["Counterparty", "Name", "Type", "Number", "Date", "Amount", "Currency", "Description"]);
            // Typed cells: a numeric document number, a date cell, a number amount.
            sheet.write_string(1, 0, "D-001").unwrap();
            sheet.write_string(1, 1, "Distributor One").unwrap();
            sheet.write_string(1, 2, "invoice").unwrap();
            sheet.write_number(1, 3, 1001.0).unwrap();
            sheet.write_date_with_format(1, 4, ExcelDateTime::from_ymd(2026, 10, 3).unwrap(), &date_format).unwrap();
            sheet.write_number(1, 5, 1234.5).unwrap();
            sheet.write_string(1, 6, "USD").unwrap();
            sheet.write_string(1, 7, "20 chargers").unwrap();
            // A float sum (0.30000000000000004) and a date serial without a date format.
            sheet.write_string(2, 0, "D-001").unwrap();
            sheet.write_string(2, 2, "refund").unwrap();
            sheet.write_string(2, 3, "CN-1").unwrap();
            sheet.write_number(2, 4, 46315.0).unwrap();
            sheet.write_number(2, 5, 0.1 + 0.2).unwrap();
            sheet.write_string(2, 6, "USD").unwrap();
            // Row 4 empty; row 5 all text, as in a CSV; then a totals row.
            for (column, text) in
                ["D-001", "", "receipt", "RC-1", "2026-10-20", "1,000.00", "usd", "wire"].iter().enumerate()
            {
                if !text.is_empty() {
                    sheet.write_string(4, column as u16, *text).unwrap();
                }
            }
            sheet.write_string(5, 0, "合计").unwrap();
            sheet.write_number(5, 5, 2234.8).unwrap();
        });
        assert!(looks_like_xlsx(&bytes));
        assert_eq!(detect(&bytes), Detected::Known(SourceFormat::LedgerDocuments));
        let read = read_documents("docs.xlsx", &bytes);
        let expected = [
            "2 D-001/Distributor One invoice 1001 2026-10-03 1234.50 USD 20 chargers",
            "3 D-001 refund CN-1 2026-10-20 0.30 USD",
            "5 D-001 receipt RC-1 2026-10-20 1000.00 USD wire",
        ];
        assert_eq!(show(&read), expected, "{:?}", messages(&read));
        // The same documents as a CSV, line for line.
        let csv = "Counterparty,Name,Type,Number,Date,Amount,Currency,Description\n\
                   D-001,Distributor One,invoice,1001,2026-10-03,1234.50,USD,20 chargers\n\
                   D-001,,refund,CN-1,2026-10-20,0.30,USD,\n\
                   \n\
                   D-001,,receipt,RC-1,2026-10-20,\"1,000.00\",usd,wire\n";
        assert_eq!(read, read_documents("docs.xlsx", csv.as_bytes()));
    }

    #[test]
    fn xlsx_bad_cells_name_row_column_and_header() {
        let bytes = workbook(|sheet| {
            header(sheet, 0, &["type", "number", "date", "amount", "currency", "counterparty"]);
            let row = |sheet: &mut Worksheet, row: u32, number: &str| {
                sheet.write_string(row, 0, "invoice").unwrap();
                sheet.write_string(row, 1, number).unwrap();
                sheet.write_string(row, 2, "2026-10-01").unwrap();
                sheet.write_string(row, 4, "USD").unwrap();
                sheet.write_string(row, 5, "D-1").unwrap();
            };
            row(sheet, 1, "I-1");
            sheet.write_number(1, 3, 12.345).unwrap();
            row(sheet, 2, "I-2");
            sheet.write_boolean(2, 3, true).unwrap();
            row(sheet, 3, "I-3");
            sheet.write_number(3, 3, -5.0).unwrap();
            row(sheet, 4, "I-4");
            sheet.write_number(4, 3, 5.0).unwrap();
            sheet.write_boolean(4, 2, false).unwrap();
            row(sheet, 5, "I-5");
            sheet.write_number(5, 3, 7.0).unwrap();
        });
        let read = read_documents("bad.xlsx", &bytes);
        assert_eq!(show(&read), ["6 D-1 invoice I-5 2026-10-01 7.00 USD"]);
        assert_eq!(
            messages(&read),
            [
                "bad.xlsx:2:4: error: column 'amount': '12.345' is not an amount in USD: '12.345' has more decimal places than 2, the currency's",
                "bad.xlsx:3:4: error: column 'amount': TRUE/FALSE where an amount was expected",
                "bad.xlsx:4:4: error: column 'amount': '-5' is negative: write amounts positive, the type gives the sign",
                "bad.xlsx:5:3: error: column 'date': TRUE/FALSE where a date was expected",
            ]
        );
    }

    const ERP_GBK: &str = r#"
[source]
kind = "documents"
format = "csv"
encoding = "gbk"
header_row = 2
currency = "CNY"
negative = "reverse"

[columns]
counterparty = "客户编码"
counterparty_name = "客户名称"
type = "单据类型"
number = "单据号"
date = "业务日期"
amount = "价税合计"
description = ["摘要", "备注"]

[types]
"销售出库单" = "invoice"
"收款单" = "receipt"
"销售退货单" = "refund"
"#;

    #[test]
    fn a_mapping_with_chinese_headers_and_type_aliases_reads_a_gbk_csv() {
        let text = "销售单据明细 2026年10月\n\
                    单据号,业务日期,客户编码,客户名称,单据类型,价税合计,摘要\n\
                    XS-001,2026-10-03,`0001,华东经销,销售出库单,\"1,200.00\",充电器\n\
                    SK-001,2026/10/20 10:30:00,`0001,华东经销,收款单,800.00,电汇\n\
                    XS-002,2026-10-21,0002,华南经销,销售出库单,-150.00,红字冲销\n\
                    XS-003,2026-10-22,0002,华南经销,发票,99.50,\n\
                    合计,,,,,1949.50,\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let read = read_documents_with_mapping("销售.csv", &gbk, &mapping(ERP_GBK));
        assert_eq!(
            show(&read),
            [
                "3 0001/华东经销 invoice XS-001 2026-10-03 1200.00 CNY 充电器",
                "4 0001/华东经销 receipt SK-001 2026-10-20 800.00 CNY 电汇",
                "5 0002/华南经销 refund XS-002 2026-10-21 150.00 CNY 红字冲销",
                "6 0002/华南经销 invoice XS-003 2026-10-22 99.50 CNY",
            ],
            "{:?}",
            messages(&read)
        );

        // A negative receipt is not reversed; an unknown type names the aliases; a bad
        // currency cell; each with its line, column and header.
        let bad = "\n单据号,业务日期,客户编码,客户名称,单据类型,价税合计,摘要\n\
                   SK-2,2026-10-20,0001,华东经销,收款单,-800.00,\n\
                   XX-1,2026-10-20,0001,华东经销,调拨单,1.00,\n\
                   XS-9,2026-10-32,0001,华东经销,销售出库单,1.00,\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(bad);
        let read = read_documents_with_mapping("bad.csv", &gbk, &mapping(ERP_GBK));
        assert_eq!(
            messages(&read),
            [
                "bad.csv:3:6: error: column '价税合计': '-800.00' is a negative receipt: only a negative invoice (a refund) or purchase (a purchase return) is reversed; write the amount positive, the type gives the sign",
                "bad.csv:4:5: error: column '单据类型': unknown type '调拨单': one of invoice, refund, discount, receipt, purchase, purchase_return, purchase_discount, payment; aliases in the mapping: 收款单, 销售出库单, 销售退货单",
                "bad.csv:5:2: error: column '业务日期': '2026-10-32' is not a calendar date (no such day or month)",
            ]
        );

        // The header names a column the mapping does not find: the key, the header.
        let missing = "\n单据号,日期,客户编码,单据类型,价税合计\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(missing);
        let read = read_documents_with_mapping("x.csv", &gbk, &mapping(ERP_GBK));
        assert_eq!(
            messages(&read),
            [
                "x.csv:2:1: error: missing column '客户名称' (mapping key `columns.counterparty_name`); the header on line 2 has: '单据号', '日期', '客户编码', '单据类型', '价税合计'",
                "x.csv:2:1: error: missing column '业务日期' (mapping key `columns.date`); the header on line 2 has: '单据号', '日期', '客户编码', '单据类型', '价税合计'",
                "x.csv:2:1: error: missing column '摘要' or '备注' (mapping key `columns.description`); the header on line 2 has: '单据号', '日期', '客户编码', '单据类型', '价税合计'",
            ]
        );
        // UTF-8 where the mapping says GBK is refused with the place of the first bad byte.
        let read = read_documents_with_mapping("utf8.csv", "\n单据号\n".as_bytes(), &mapping(ERP_GBK));
        assert_eq!(read.diagnostics[0].line, 2, "{:?}", messages(&read));
    }

    #[test]
    fn a_mapping_with_decimal_commas_a_date_format_and_constants() {
        let text = r#"
[source]
kind = "documents"
delimiter = ";"
number_style = "comma"
date_format = "%d/%m/%Y"
counterparty = "S-01"
type = "purchase"
[columns]
number = "Beleg"
date = "Datum"
amount = "Betrag"
currency = "Währung"
type = "Art"
[types]
"Gutschrift" = "purchase_return"
"#;
        let file = "Beleg;Datum;Betrag;Währung;Art\n\
                    RE-1;03/10/2026;1.234,56;EUR;\n\
                    GS-1;2026-10-05;10,00;EUR;gutschrift\n\
                    RE-2;13/31/2026;5,00;EUR;\n\
                    RE-3;04/10/2026;12.34;EUR;\n\
                    RE-4;05/10/2026;12,5;JPY;\n";
        let read = read_documents_with_mapping("lieferant.csv", file.as_bytes(), &mapping(text));
        assert_eq!(
            show(&read),
            ["2 S-01 purchase RE-1 2026-10-03 1234.56 EUR", "3 S-01 purchase_return GS-1 2026-10-05 10.00 EUR"]
        );
        assert_eq!(
            messages(&read),
            [
                "lieferant.csv:4:2: error: column 'Datum': '13/31/2026' is not a calendar date (no such day or month)",
                "lieferant.csv:5:3: error: column 'Betrag': '12.34' is not an amount in EUR: '12.34' is not a number",
                "lieferant.csv:6:3: error: column 'Betrag': '12,5' is not an amount in JPY: '12,5' has more decimal places than 0, the currency's",
            ]
        );
    }

    #[test]
    fn a_mapped_xlsx_sheet_with_a_preamble() {
        let text = "[source]\nkind = \"documents\"\nsheet = \"单据\"\nheader_row = 3\n[columns]\ncounterparty = \"往来\"\ntype = \"类\"\nnumber = \"号\"\ndate = \"日\"\namount = \"额\"\ncurrency = \"币\"\n";
        let mut workbook = Workbook::new();
        workbook.add_worksheet().set_name("说明").unwrap().write_string(0, 0, "not this one").unwrap();
        let sheet = workbook.add_worksheet().set_name("单据").unwrap();
        sheet.write_string(0, 0, "往来单据导出").unwrap();
        header(sheet, 2, &["往来", "类", "号", "日", "额", "币"]);
        for (column, text) in ["C-1", "收款", "R-1"].iter().enumerate() {
            sheet.write_string(3, column as u16, *text).unwrap();
        }
        sheet.write_number(3, 3, 46315.0).unwrap();
        sheet.write_number(3, 4, 88.0).unwrap();
        sheet.write_string(3, 5, "CNY").unwrap();
        let bytes = workbook.save_to_buffer().unwrap();
        // Not tieout's own headers: detection leaves it to the mapping.
        assert_eq!(detect(&bytes), Detected::Tabular);
        let read = read_documents_with_mapping("单据.xlsx", &bytes, &mapping(text));
        assert_eq!(show(&read), ["4 C-1 receipt R-1 2026-10-20 88.00 CNY"], "{:?}", messages(&read));
        // A CSV where the mapping says XLSX, and the other way round.
        let xlsx_mapping = mapping(&text.replace("sheet = \"单据\"", "format = \"xlsx\""));
        let read = read_documents_with_mapping("x.csv", b"a,b\n", &xlsx_mapping);
        assert!(messages(&read)[0].contains("not an XLSX workbook"), "{:?}", messages(&read));
        let csv_mapping = mapping(&text.replace("sheet = \"单据\"", "format = \"csv\""));
        let read = read_documents_with_mapping("单据.xlsx", &bytes, &csv_mapping);
        assert!(messages(&read)[0].contains("is an XLSX workbook"), "{:?}", messages(&read));
    }
}
