//! Writers of report [`Table`]s: CSV (the machine contract), XLSX (for people, with
//! formats and totals), JSON (for programs) and an aligned text table (for terminals).
//!
//! # Rules
//!
//! * **Money stays exact.** CSV, JSON and text write amounts as plain decimals with the
//!   currency's decimals ([`Cell::plain`]: `-1234.50`, `1200` for JPY). JSON writes them
//!   as *strings* (`"12.34"`), never as JSON numbers, with the currency beside them.
//! * **Formula injection.** A *text* cell that starts with `=`, `+`, `-`, `@`, a tab or a
//!   carriage return is written to CSV with a leading `'` (OWASP's rule), so a
//!   spreadsheet opening the CSV shows text instead of running a formula. Only text
//!   cells: amounts, integers and dates are never prefixed (`-2.00` stays a number).
//!   In XLSX such text is a string cell (never parsed as a formula) that also carries
//!   Excel's quote-prefix flag, so editing the cell keeps it text.
//! * **CSV**: UTF-8 without BOM, `,`-separated, `\n` line ends, quoted where needed, a
//!   header row of the column names, then the rows. The table's title and notes are not
//!   written: the CSV body stays a clean table.
//! * **XLSX**: one sheet per table (named after its title, made valid: at most 31
//!   characters, none of `[]:*?/\`, unique), a bold frozen header row with an autofilter,
//!   amounts as numbers formatted with their currency's decimals (`#,##0.00`, `#,##0`
//!   for JPY; a column mixing currencies shows each cell's code, `#,##0.00 "EUR"`), dates
//!   as dates, then a totals row (a `SUM` formula over each money column whose cells are
//!   all one currency; a column mixing currencies is not totalled), the table's notes
//!   under it, and a last sheet "Sources" listing the source files and their SHA-256.
//! * **The one place money becomes a float**: an XLSX number cell is an IEEE 754 double,
//!   so an amount is converted for display by parsing its exact decimal text
//!   ([`format_minor`]) into the nearest `f64`. Every decimal of at most 15 significant
//!   digits survives that round trip (`f64` holds 15 decimal digits exactly), so every
//!   amount up to [`DISPLAY_EXACT_MINOR_ABS_MAX`] (10^15 minor units) shows exactly; a
//!   line is at most `limits::AMOUNT_MINOR_ABS_MAX` (10^11), so a total stays within the
//!   bound for 10,000 rows at that maximum and for any realistic report. An amount or
//!   total beyond it is written as its exact decimal text instead, never as a rounded
//!   number. A total's formula carries our exact sum as its cached result; the float is
//!   for display only and is never read back as money.
//! * **Text table**: the header, a rule and the rows, aligned for a terminal (title and
//!   notes are the caller's to frame it with); numbers (amounts, integers) right-aligned,
//!   East Asian wide characters counted as two columns; an amount in a column mixing
//!   currencies shows its code. Control characters are shown as `�`, so a cell cannot
//!   move the cursor or recolour the terminal.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};

use rust_xlsxwriter::{utility, ExcelDateTime, Format, Formula, Workbook, Worksheet};
use thiserror::Error;
use tieout_core::limits;
use tieout_core::money::{format_minor, Currency};
use tieout_core::table::{Cell, Table};

/// Largest absolute amount, in minor units, written to XLSX as a number: any decimal of
/// at most 15 significant digits is exact for display as an `f64`.
pub const DISPLAY_EXACT_MINOR_ABS_MAX: i64 = 1_000_000_000_000_000;

// Every line amount is shown exactly, and 10^15 < 2^53.
const _: () = assert!(limits::AMOUNT_MINOR_ABS_MAX <= DISPLAY_EXACT_MINOR_ABS_MAX);
const _: () = assert!(DISPLAY_EXACT_MINOR_ABS_MAX < (1i64 << 53));

/// Rows in one XLSX sheet.
const SHEET_ROWS_MAX: usize = 1_048_576;
/// Columns in one XLSX sheet.
const SHEET_COLUMNS_MAX: usize = 16_384;
/// The name of the last sheet of every workbook.
const SOURCES_SHEET: &str = "Sources";

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("writing the XLSX workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("table '{title}' needs {rows} rows; an XLSX sheet holds {SHEET_ROWS_MAX}")]
    TooManyRows { title: String, rows: usize },
    #[error("table '{title}' has {columns} columns; an XLSX sheet holds {SHEET_COLUMNS_MAX}")]
    TooManyColumns { title: String, columns: usize },
}

/// True when a spreadsheet could take this text for a formula.
pub fn is_formula_like(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Text as written to CSV: prefixed with `'` when a spreadsheet could take it for a
/// formula (see the module's rule).
pub fn escape_formula(text: &str) -> Cow<'_, str> {
    if is_formula_like(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn csv_field(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(text) => escape_formula(text),
        other => Cow::Owned(other.plain()),
    }
}

// ---------------------------------------------------------------------------------------
// CSV

/// Writes the header row and the rows (not the title, not the notes).
pub fn write_csv<W: Write + ?Sized>(table: &Table, out: &mut W) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(table.columns.iter().map(|name| escape_formula(name).into_owned()))?;
    for row in &table.rows {
        writer.write_record(row.iter().map(|cell| csv_field(cell).into_owned()))?;
    }
    writer.flush()
}

// ---------------------------------------------------------------------------------------
// JSON

/// Writes an array of objects keyed by column name. Money is a string decimal, with its
/// currency under `<column>_currency` (unless the table has a column of that name);
/// integers are numbers, dates ISO strings, empty cells `null`.
pub fn write_json<W: Write + ?Sized>(table: &Table, out: &mut W) -> io::Result<()> {
    let money_columns: Vec<bool> = (0..table.columns.len())
        .map(|column| table.rows.iter().any(|row| matches!(row.get(column), Some(Cell::Money { .. }))))
        .collect();
    let keys: Vec<String> = table.columns.iter().map(|name| json_string(name)).collect();
    let currency_keys: Vec<Option<String>> = table
        .columns
        .iter()
        .zip(&money_columns)
        .map(|(name, is_money)| {
            let key = format!("{name}_currency");
            (*is_money && !table.columns.contains(&key)).then(|| json_string(&key))
        })
        .collect();
    out.write_all(b"[")?;
    for (index, row) in table.rows.iter().enumerate() {
        out.write_all(if index == 0 { b"\n  {" } else { b",\n  {" })?;
        for (column, key) in keys.iter().enumerate() {
            if column > 0 {
                out.write_all(b", ")?;
            }
            let cell = row.get(column).unwrap_or(&Cell::Empty);
            let value = match cell {
                Cell::Empty => "null".to_owned(),
                Cell::Text(text) => json_string(text),
                Cell::Integer(value) => value.to_string(),
                Cell::Money { .. } | Cell::Date(_) => json_string(&cell.plain()),
            };
            write!(out, "{key}: {value}")?;
            if let Some(currency_key) = &currency_keys[column] {
                let currency = match cell {
                    Cell::Money { currency, .. } => json_string(currency.code()),
                    _ => "null".to_owned(),
                };
                write!(out, ", {currency_key}: {currency}")?;
            }
        }
        out.write_all(b"}")?;
    }
    out.write_all(if table.rows.is_empty() { b"]\n" } else { b"\n]\n" })
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

// ---------------------------------------------------------------------------------------
// Text table

/// Writes the header, a rule and the rows, aligned for a terminal. The title and the
/// notes are the caller's to print around it (the CLI frames each table itself).
pub fn write_text_table<W: Write + ?Sized>(table: &Table, out: &mut W) -> io::Result<()> {
    let width = table.columns.len();
    let mixed: Vec<bool> = (0..width).map(|column| column_currency(table, column) == ColumnCurrency::Mixed).collect();
    let shown = |column: usize, cell: &Cell| -> String {
        match cell {
            Cell::Money { currency, .. } if mixed[column] => format!("{} {currency}", cell.plain()),
            other => printable(&other.plain()),
        }
    };
    let right: Vec<bool> = (0..width)
        .map(|column| {
            table.rows.iter().any(|row| matches!(row.get(column), Some(Cell::Money { .. } | Cell::Integer(_))))
        })
        .collect();
    let header: Vec<String> = table.columns.iter().map(|name| printable(name)).collect();
    let body: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| (0..width).map(|column| row.get(column).map_or(String::new(), |cell| shown(column, cell))).collect())
        .collect();
    let widths: Vec<usize> = (0..width)
        .map(|column| {
            body.iter()
                .map(|row| display_width(&row[column]))
                .chain([display_width(&header[column])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut W, cells: &[String]| -> io::Result<()> {
        let mut text = String::new();
        for (column, cell) in cells.iter().enumerate() {
            if column > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(widths[column] - display_width(cell));
            if right[column] {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    let rules: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    line(out, &rules)?;
    for row in &body {
        line(out, row)?;
    }
    Ok(())
}

/// Text safe to print on a terminal: control characters become `�`.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// Columns a terminal gives the text: 2 for East Asian wide and full-width characters,
/// 0 for combining marks, 1 otherwise.
pub fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    match c as u32 {
        0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

// ---------------------------------------------------------------------------------------
// XLSX

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColumnCurrency {
    /// No money in the column.
    None,
    One(Currency),
    Mixed,
}

fn column_currency(table: &Table, column: usize) -> ColumnCurrency {
    let mut found = ColumnCurrency::None;
    for row in &table.rows {
        if let Some(Cell::Money { currency, .. }) = row.get(column) {
            found = match found {
                ColumnCurrency::None => ColumnCurrency::One(*currency),
                ColumnCurrency::One(seen) if seen == *currency => found,
                _ => return ColumnCurrency::Mixed,
            };
        }
    }
    found
}

/// An `f64` for an XLSX number cell (the module's one float conversion), or `None` when
/// the amount is too large to show exactly.
fn display_number(amount_minor: i64, exponent: u8) -> Option<f64> {
    if amount_minor.unsigned_abs() > DISPLAY_EXACT_MINOR_ABS_MAX as u64 {
        return None;
    }
    format_minor(amount_minor, exponent).parse::<f64>().ok()
}

/// The formats of one workbook, made once each.
struct Formats {
    header: Format,
    header_quoted: Format,
    quoted: Format,
    date: Format,
    bold: Format,
    /// By (decimals, currency code shown, bold).
    money: HashMap<(u8, Option<Currency>, bool), Format>,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new().set_bold(),
            header_quoted: Format::new().set_bold().set_quote_prefix(),
            quoted: Format::new().set_quote_prefix(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            bold: Format::new().set_bold(),
            money: HashMap::new(),
        }
    }

    /// `#,##0.00` for two decimals; with the code when the column mixes currencies.
    fn money(&mut self, currency: Currency, show_code: bool, bold: bool) -> &Format {
        let exponent = currency.exponent();
        let key = (exponent, show_code.then_some(currency), bold);
        self.money.entry(key).or_insert_with(|| {
            let mut pattern = String::from("#,##0");
            if exponent > 0 {
                pattern.push('.');
                pattern.extend(std::iter::repeat_n('0', exponent as usize));
            }
            if show_code {
                pattern.push_str(&format!(" \"{}\"", currency.code()));
            }
            let format = Format::new().set_num_format(pattern);
            if bold {
                format.set_bold()
            } else {
                format
            }
        })
    }
}

/// Writes a workbook: one sheet per table, then "Sources" (file name, SHA-256).
pub fn write_xlsx(tables: &[Table], sources: &[(String, String)]) -> Result<Vec<u8>, WriteError> {
    let mut workbook = Workbook::new();
    let mut formats = Formats::new();
    let mut names: Vec<String> = vec![SOURCES_SHEET.to_owned()];
    for table in tables {
        let name = sheet_name(&table.title, &names);
        names.push(name.clone());
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name)?;
        write_sheet(sheet, table, &mut formats)?;
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name(SOURCES_SHEET)?;
    let mut list = Table::new(SOURCES_SHEET, &["file", "sha256"]);
    for (file, sha256) in sources {
        list.push(vec![Cell::text(file.as_str()), Cell::text(sha256.as_str())]);
    }
    write_sheet(sheet, &list, &mut formats)?;
    Ok(workbook.save_to_buffer()?)
}

fn write_sheet(sheet: &mut Worksheet, table: &Table, formats: &mut Formats) -> Result<(), WriteError> {
    let width = table.columns.len();
    if width > SHEET_COLUMNS_MAX {
        return Err(WriteError::TooManyColumns { title: table.title.clone(), columns: width });
    }
    let currencies: Vec<ColumnCurrency> = (0..width).map(|column| column_currency(table, column)).collect();
    let has_totals = currencies.iter().any(|c| matches!(c, ColumnCurrency::One(_)));
    // Header, rows, totals, a blank row, notes.
    let rows_needed =
        1 + table.rows.len() + usize::from(has_totals) + if table.notes.is_empty() { 0 } else { 1 + table.notes.len() };
    if rows_needed > SHEET_ROWS_MAX {
        return Err(WriteError::TooManyRows { title: table.title.clone(), rows: rows_needed });
    }

    for (column, name) in table.columns.iter().enumerate() {
        let format = if is_formula_like(name) { &formats.header_quoted } else { &formats.header };
        sheet.write_string_with_format(0, column as u16, name, format)?;
    }
    for (index, row) in table.rows.iter().enumerate() {
        let sheet_row = index as u32 + 1;
        for (column, cell) in row.iter().enumerate().take(width) {
            let mixed = currencies[column] == ColumnCurrency::Mixed;
            write_cell(sheet, sheet_row, column as u16, cell, mixed, formats)?;
        }
    }
    let last_data_row = table.rows.len() as u32;
    if width > 0 {
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, last_data_row, width as u16 - 1)?;
    }
    let mut next_row = last_data_row + 1;
    if has_totals {
        write_totals(sheet, table, &currencies, next_row, formats)?;
        next_row += 1;
    }
    if !table.notes.is_empty() {
        next_row += 1;
        for note in &table.notes {
            if is_formula_like(note) {
                sheet.write_string_with_format(next_row, 0, note, &formats.quoted)?;
            } else {
                sheet.write_string(next_row, 0, note)?;
            }
            next_row += 1;
        }
    }
    for column in 0..width {
        let widest = table
            .rows
            .iter()
            .filter_map(|row| row.get(column))
            .map(|cell| display_width(&cell.plain()) + usize::from(matches!(cell, Cell::Money { .. })) * 4)
            .chain([display_width(&table.columns[column])])
            .max()
            .unwrap_or(0);
        sheet.set_column_width(column as u16, (widest.clamp(6, 60) + 2) as u16)?;
    }
    Ok(())
}

fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    cell: &Cell,
    mixed: bool,
    formats: &mut Formats,
) -> Result<(), WriteError> {
    match cell {
        Cell::Empty => {}
        Cell::Text(text) if is_formula_like(text) => {
            sheet.write_string_with_format(row, column, text, &formats.quoted)?;
        }
        Cell::Text(text) => {
            sheet.write_string(row, column, text)?;
        }
        Cell::Integer(value) => {
            if value.unsigned_abs() < (1u64 << 53) {
                sheet.write_number(row, column, *value as f64)?;
            } else {
                sheet.write_string(row, column, value.to_string())?;
            }
        }
        Cell::Money { amount_minor, currency } => match display_number(*amount_minor, currency.exponent()) {
            Some(number) => {
                sheet.write_number_with_format(row, column, number, formats.money(*currency, mixed, false))?;
            }
            None => {
                sheet.write_string(row, column, cell.plain())?;
            }
        },
        Cell::Date(date) => {
            use chrono::Datelike;
            let excel = u16::try_from(date.year())
                .ok()
                .and_then(|year| ExcelDateTime::from_ymd(year, date.month() as u8, date.day() as u8).ok());
            match excel {
                Some(excel) => {
                    sheet.write_date_with_format(row, column, &excel, &formats.date)?;
                }
                None => {
                    sheet.write_string(row, column, cell.plain())?;
                }
            }
        }
    }
    Ok(())
}

/// The totals row: a SUM over each single-currency money column, its cached result our
/// exact sum; the label in the first column without a total.
fn write_totals(
    sheet: &mut Worksheet,
    table: &Table,
    currencies: &[ColumnCurrency],
    row: u32,
    formats: &mut Formats,
) -> Result<(), WriteError> {
    let label_column = currencies.iter().position(|c| !matches!(c, ColumnCurrency::One(_)));
    if let Some(column) = label_column {
        sheet.write_string_with_format(row, column as u16, "Total", &formats.bold)?;
    }
    for (column, currency) in currencies.iter().enumerate() {
        let ColumnCurrency::One(currency) = currency else { continue };
        let sum = table.rows.iter().try_fold(0i64, |sum, cells| match cells.get(column) {
            Some(Cell::Money { amount_minor, .. }) => sum.checked_add(*amount_minor),
            _ => Some(sum),
        });
        let Some(sum) = sum else { continue };
        let exact = format_minor(sum, currency.exponent());
        if display_number(sum, currency.exponent()).is_some() {
            let range = utility::cell_range(1, column as u16, row - 1, column as u16);
            let formula = Formula::new(format!("SUM({range})")).set_result(&exact);
            sheet.write_formula_with_format(row, column as u16, formula, formats.money(*currency, false, true))?;
        } else {
            sheet.write_string_with_format(row, column as u16, exact, &formats.bold)?;
        }
    }
    Ok(())
}

/// A valid, unused sheet name for a title: Excel allows 31 characters, none of
/// `[]:*?/\`, no leading or trailing `'`, not "History", unique case-insensitively.
fn sheet_name(title: &str, taken: &[String]) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim();
    let base: String = if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("history") {
        "Sheet".to_owned()
    } else {
        cleaned.chars().take(31).collect()
    };
    let is_taken = |name: &str| taken.iter().any(|t| t.to_lowercase() == name.to_lowercase());
    if !is_taken(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!(" ({n})");
            let kept: String = base.chars().take(31 - suffix.chars().count()).collect();
            format!("{}{suffix}", kept.trim_end())
        })
        .find(|name| !is_taken(name))
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use chrono::NaiveDate;
    use std::io::Cursor;

    fn sample() -> Table {
        let mut table = Table::new("Orders: March", &["order_id", "note", "order_amount", "quantity", "shipped"]);
        let date = NaiveDate::from_ymd_opt(2024, 3, 2).unwrap();
        table.push(vec![
            Cell::text("SO-1"),
            Cell::text("=cmd|' /C calc'!A0"),
            Cell::money(-200, Currency::USD),
            Cell::Integer(-2),
            Cell::Date(date),
        ]);
        table.push(vec![
            Cell::text("SO-2"),
            Cell::text("+1"),
            Cell::money(123456, Currency::USD),
            Cell::Integer(3),
            Cell::Empty,
        ]);
        table.push(vec![
            Cell::text("SO-3"),
            Cell::text("-2"),
            Cell::money(1500, Currency::USD),
            Cell::Integer(1),
            Cell::Empty,
        ]);
        table.push(vec![Cell::text("SO-4"), Cell::text("@SUM(A1)"), Cell::Empty, Cell::Integer(0), Cell::Empty]);
        table.push(vec![Cell::text("SO-5"), Cell::text("\tx, \"quoted\""), Cell::Empty, Cell::Integer(0), Cell::Empty]);
        table.notes.push("Amounts in USD; period 2024-03 (America/Los_Angeles).".to_owned());
        table
    }

    fn csv_text(table: &Table) -> String {
        let mut out = Vec::new();
        write_csv(table, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_escapes_text_but_not_amounts() {
        assert_eq!(
            csv_text(&sample()),
            "order_id,note,order_amount,quantity,shipped\n\
             SO-1,'=cmd|' /C calc'!A0,-2.00,-2,2024-03-02\n\
             SO-2,'+1,1234.56,3,\n\
             SO-3,'-2,15.00,1,\n\
             SO-4,'@SUM(A1),,0,\n\
             SO-5,\"'\tx, \"\"quoted\"\"\",,0,\n"
        );
    }

    #[test]
    fn csv_keeps_notes_out_and_reads_back() {
        let text = csv_text(&sample());
        assert!(!text.contains("Amounts in USD"));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(&rows[4][1], "'\tx, \"quoted\"");
    }

    #[test]
    fn escape_rule() {
        for (text, expect) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@x", "'@x"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            ("", ""),
            ("SO-1", "SO-1"),
        ] {
            assert_eq!(escape_formula(text), expect);
        }
    }

    #[test]
    fn json_money_as_strings() {
        let mut table = Table::new("t", &["order_id", "order_amount", "quantity", "day", "fee"]);
        let date = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        table.push(vec![
            Cell::text("SO-\"1\""),
            Cell::money(1234, Currency::USD),
            Cell::Integer(2),
            Cell::Date(date),
            Cell::money(-5, Currency::JPY),
        ]);
        table.push(vec![
            Cell::text("SO-2"),
            Cell::Empty,
            Cell::Integer(-1),
            Cell::Empty,
            Cell::money(100, Currency::EUR),
        ]);
        let mut out = Vec::new();
        write_json(&table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "[\n  {\"order_id\": \"SO-\\\"1\\\"\", \"order_amount\": \"12.34\", \"order_amount_currency\": \"USD\", \"quantity\": 2, \"day\": \"2024-03-01\", \"fee\": \"-5\", \"fee_currency\": \"JPY\"},\
             \n  {\"order_id\": \"SO-2\", \"order_amount\": null, \"order_amount_currency\": null, \"quantity\": -1, \"day\": null, \"fee\": \"1.00\", \"fee_currency\": \"EUR\"}\n]\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0]["order_amount"], serde_json::json!("12.34"));
        assert!(parsed[0]["quantity"].is_i64());
        let mut empty = Vec::new();
        write_json(&Table::new("e", &["a"]), &mut empty).unwrap();
        assert_eq!(empty, b"[]\n");
    }

    #[test]
    fn json_keeps_an_existing_currency_column() {
        let mut table = Table::new("t", &["amount", "amount_currency"]);
        table.push(vec![Cell::money(100, Currency::GBP), Cell::text("GBP")]);
        let mut out = Vec::new();
        write_json(&table, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[\n  {\"amount\": \"1.00\", \"amount_currency\": \"GBP\"}\n]\n");
    }

    #[test]
    fn text_table_aligns() {
        let mut table = Table::new("Differences", &["order", "store", "amount", "days"]);
        table.push(vec![Cell::text("SO-1"), Cell::text("上海店"), Cell::money(-200, Currency::USD), Cell::Integer(12)]);
        table.push(vec![
            Cell::text("SO-22"),
            Cell::text("a\u{1b}[31m"),
            Cell::money(1234567, Currency::EUR),
            Cell::Empty,
        ]);
        table.notes.push("Period 2024-03.".to_owned());
        let mut out = Vec::new();
        // Through `dyn Write`, as the CLI calls it.
        write_text_table(&table, &mut out as &mut dyn Write).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "order  store         amount  days\n\
             -----  ------  ------------  ----\n\
             SO-1   上海店     -2.00 USD    12\n\
             SO-22  a�[31m  12345.67 EUR\n"
        );
    }

    fn read_sheet(bytes: &[u8], name: &str) -> calamine::Range<Data> {
        let mut workbook = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
        workbook.worksheet_range(name).unwrap()
    }

    #[test]
    fn xlsx_round_trip_through_calamine() {
        let mut second = Table::new("Orders: March", &["x"]);
        second.push(vec![Cell::text("=1+1")]);
        let sources = vec![("settlement-1.txt".to_owned(), "ab".repeat(32)), ("erp.csv".to_owned(), "cd".repeat(32))];
        let bytes = write_xlsx(&[sample(), second], &sources).unwrap();
        let workbook = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
        assert_eq!(workbook.sheet_names(), ["Orders_ March", "Orders_ March (2)", "Sources"]);

        let sheet = read_sheet(&bytes, "Orders_ March");
        let cell = |row: u32, column: u32| sheet.get_value((row, column)).cloned().unwrap_or(Data::Empty);
        assert_eq!(cell(0, 2), Data::String("order_amount".into()));
        assert_eq!(cell(1, 0), Data::String("SO-1".into()));
        assert_eq!(cell(1, 1), Data::String("=cmd|' /C calc'!A0".into()));
        assert_eq!(cell(1, 2), Data::Float(-2.0));
        assert_eq!(cell(2, 2), Data::Float(1234.56));
        assert_eq!(cell(2, 3), Data::Float(3.0));
        assert!(
            matches!(cell(1, 4), Data::DateTime(date) if date.to_ymd_hms_milli().0 == 2024 && date.to_ymd_hms_milli().2 == 2)
        );
        // Totals row: the label, the money column's sum; no total for integers.
        assert_eq!(cell(6, 0), Data::String("Total".into()));
        assert_eq!(cell(6, 2), Data::Float(1247.56));
        assert_eq!(cell(6, 3), Data::Empty);
        // The note under the table, after a blank row.
        assert_eq!(cell(8, 0), Data::String("Amounts in USD; period 2024-03 (America/Los_Angeles).".into()));

        let mut formula_check = Xlsx::new(Cursor::new(bytes.clone())).unwrap();
        let formulas = formula_check.worksheet_formula("Orders_ March").unwrap();
        assert_eq!(formulas.get_value((6, 2)).map(String::as_str), Some("SUM(C2:C6)"));
        // "=1+1" stays text: a string cell, no formula.
        let other = read_sheet(&bytes, "Orders_ March (2)");
        assert_eq!(other.get_value((1, 0)), Some(&Data::String("=1+1".into())));
        let formulas = formula_check.worksheet_formula("Orders_ March (2)").unwrap();
        assert!(formulas.used_cells().all(|(_, _, formula)| formula.is_empty()));

        let sources_sheet = read_sheet(&bytes, "Sources");
        let rows: Vec<Vec<String>> =
            sources_sheet.rows().map(|row| row.iter().map(ToString::to_string).collect()).collect();
        assert_eq!(
            rows,
            [
                vec!["file".to_owned(), "sha256".to_owned()],
                vec!["settlement-1.txt".to_owned(), "ab".repeat(32)],
                vec!["erp.csv".to_owned(), "cd".repeat(32)]
            ]
        );
    }

    #[test]
    fn xlsx_mixed_currencies_are_not_totalled() {
        let mut table = Table::new("Mixed", &["amount", "yen"]);
        table.push(vec![Cell::money(100, Currency::USD), Cell::money(1200, Currency::JPY)]);
        table.push(vec![Cell::money(100, Currency::EUR), Cell::money(-5, Currency::JPY)]);
        let bytes = write_xlsx(&[table], &[]).unwrap();
        let sheet = read_sheet(&bytes, "Mixed");
        assert_eq!(sheet.get_value((1, 1)), Some(&Data::Float(1200.0)));
        // Column A mixes USD and EUR: the label goes there, no total.
        assert_eq!(sheet.get_value((3, 0)), Some(&Data::String("Total".into())));
        assert_eq!(sheet.get_value((3, 1)), Some(&Data::Float(1195.0)));
    }

    #[test]
    fn xlsx_huge_amounts_stay_exact_as_text() {
        let mut table = Table::new("Big", &["amount"]);
        table.push(vec![Cell::money(DISPLAY_EXACT_MINOR_ABS_MAX + 1, Currency::USD)]);
        let bytes = write_xlsx(&[table], &[]).unwrap();
        let sheet = read_sheet(&bytes, "Big");
        assert_eq!(sheet.get_value((1, 0)), Some(&Data::String("10000000000000.01".into())));
        assert_eq!(sheet.get_value((2, 0)), Some(&Data::String("10000000000000.01".into())));
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let taken = vec!["Sources".to_owned(), "Orders".to_owned()];
        assert_eq!(sheet_name("Orders", &taken), "Orders (2)");
        assert_eq!(sheet_name("sources", &taken), "sources (2)");
        assert_eq!(sheet_name("a/b:c*d?[e]\\", &taken), "a_b_c_d__e__");
        assert_eq!(sheet_name("'quoted'", &taken), "quoted");
        assert_eq!(sheet_name("", &taken), "Sheet");
        assert_eq!(sheet_name("History", &taken), "Sheet");
        let long = "差异".repeat(20);
        assert_eq!(sheet_name(&long, &[]).chars().count(), 31);
        let taken = vec![long.chars().take(31).collect::<String>()];
        let second = sheet_name(&long, &taken);
        assert_eq!(second.chars().count(), 31);
        assert!(second.ends_with(" (2)"));
    }

    #[test]
    fn widths_count_wide_characters_twice() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("上海店"), 6);
        assert_eq!(display_width("ｱ"), 1);
        assert_eq!(display_width("Ａ"), 2);
        assert_eq!(display_width("e\u{301}"), 1);
    }
}
