//! XLSX cells shared by the readers of tabular files (order exports, statement
//! profiles): a sheet streamed row by row through calamine, cells kept as typed values,
//! and the conversions that never do arithmetic on money.
//!
//! * A sheet is streamed cell by cell, never materialised as a range, so a sheet that
//!   declares a huge used range costs time for the cells it stores, not memory for the
//!   area it declares; a non-empty cell beyond `limits::ROW_COLUMNS_MAX` columns is
//!   refused. Callers run the parser under `catch_unwind`. calamine reads cell
//!   references and dimensions with unchecked `u32` arithmetic: the workspace builds it
//!   with overflow checks in release too, so a malformed one (`A99999999999`) panics
//!   and is refused in every build instead of wrapping to a wrong row.
//! * Numbers are binary floats: [`excel_number_text`] writes one as Excel shows it at
//!   full precision (15 significant digits) as decimal text, which the caller parses
//!   like a CSV amount.
//! * Date cells, and plain numbers where a date is expected, are Excel serial dates
//!   (1900 or 1904 system, as the workbook says).

use std::io::Cursor;

use calamine::{DataRef, ExcelDateTime, ExcelDateTimeType, Reader, Xlsx};
use chrono::NaiveDate;
use tieout_core::limits;

/// The zip signature an XLSX workbook starts with.
pub(crate) const XLSX_SIGNATURE: &[u8] = b"PK\x03\x04";

// An accepted amount has at most 15 significant digits, so reading an XLSX number at
// Excel's 15-digit precision never rounds an amount tieout accepts.
const _: () = assert!(limits::AMOUNT_MINOR_ABS_MAX < 1_000_000_000_000_000);

/// The OLE signature of a legacy `.xls` workbook.
pub(crate) const XLS_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// A cell as read from the file, owned (XLSX rows, and rows held back as possible
/// totals rows).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    Date(ExcelDateTime),
    Bool(bool),
    Error(String),
}

impl Value {
    /// The cell, borrowed (text trimmed; empty text is `Empty`).
    pub(crate) fn raw(&self) -> Raw<'_> {
        match self {
            Value::Empty => Raw::Empty,
            Value::Text(text) => Raw::text(text),
            Value::Int(value) => Raw::Int(*value),
            Value::Number(value) => Raw::Number(*value),
            Value::Date(value) => Raw::Date(*value),
            Value::Bool(value) => Raw::Bool(*value),
            Value::Error(text) => Raw::Error(text),
        }
    }
}

/// A cell, borrowed. Text is trimmed and never empty (empty text is `Empty`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Number(f64),
    Date(ExcelDateTime),
    Bool(bool),
    Error(&'a str),
}

impl Raw<'_> {
    pub(crate) fn text(text: &str) -> Raw<'_> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            Raw::Empty
        } else {
            Raw::Text(trimmed)
        }
    }

    pub(crate) fn is_empty(self) -> bool {
        matches!(self, Raw::Empty)
    }

    pub(crate) fn to_value(self) -> Value {
        match self {
            Raw::Empty => Value::Empty,
            Raw::Text(text) => Value::Text(text.to_owned()),
            Raw::Int(value) => Value::Int(value),
            Raw::Number(value) => Value::Number(value),
            Raw::Date(value) => Value::Date(value),
            Raw::Bool(value) => Value::Bool(value),
            Raw::Error(text) => Value::Error(text.to_owned()),
        }
    }
}

/// A cell as text: numbers as Excel shows them, dates in ISO 8601, booleans as
/// `TRUE`/`FALSE`, an error cell as its code; `None` when empty.
pub(crate) fn text_of(raw: Raw<'_>) -> Option<String> {
    match raw {
        Raw::Empty => None,
        Raw::Text(text) => Some(text.to_owned()),
        Raw::Int(value) => Some(value.to_string()),
        Raw::Number(value) => excel_number_text(value),
        Raw::Bool(value) => Some(if value { "TRUE" } else { "FALSE" }.to_owned()),
        Raw::Date(value) => {
            let (year, month, day, hour, minute, second, _) = value.to_ymd_hms_milli();
            if (hour, minute, second) == (0, 0, 0) {
                Some(format!("{year:04}-{month:02}-{day:02}"))
            } else {
                Some(format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"))
            }
        }
        Raw::Error(error) => Some(error.to_owned()),
    }
}

/// Excel's date serials run from 1 (1900-01-01) to 2958465 (9999-12-31).
pub(crate) fn serial_date(serial: f64, is_1904: bool) -> Result<NaiveDate, String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return Err(format!("the number {serial} is not a date (an Excel date serial is 1 to 2958465)"));
    }
    excel_date(ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, is_1904))
}

/// The calendar date of a date cell (a time of day is dropped).
pub(crate) fn excel_date(value: ExcelDateTime) -> Result<NaiveDate, String> {
    let (year, month, day, ..) = value.to_ymd_hms_milli();
    NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32).ok_or_else(|| {
        format!(
            "{year:04}-{month:02}-{day:02} is not a calendar date (Excel's serial date for a day that does not exist)"
        )
    })
}

/// A spreadsheet number as Excel shows it at full precision (15 significant digits), as
/// plain decimal text: `12.34`, `0.3` (for 0.30000000000000004), `1001`. Formatting
/// only; no arithmetic on the float. `None` for NaN and infinities.
pub(crate) fn excel_number_text(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let scientific = format!("{value:.14e}");
    let (mantissa, exponent) = scientific.split_once('e')?;
    let exponent: i64 = exponent.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if digits.bytes().all(|b| b == b'0') {
        return Some("0".to_owned());
    }
    // The decimal point sits after `point` digits.
    let point = exponent + 1;
    let mut text = String::with_capacity(digits.len() + 8);
    if negative {
        text.push('-');
    }
    if point <= 0 {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        text.push_str(&digits);
    } else if point as usize >= digits.len() {
        text.push_str(&digits);
        text.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        text.push_str(&digits[..point as usize]);
        text.push('.');
        text.push_str(&digits[point as usize..]);
    }
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    Some(text)
}

pub(crate) fn xlsx_value(value: &DataRef<'_>) -> Value {
    match value {
        DataRef::Empty => Value::Empty,
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => text_value(text),
        DataRef::SharedString(text) => text_value(text),
        DataRef::Int(value) => Value::Int(*value),
        DataRef::Float(value) => Value::Number(*value),
        DataRef::Bool(value) => Value::Bool(*value),
        DataRef::DateTime(value) => Value::Date(*value),
        DataRef::Error(error) => Value::Error(error.to_string()),
    }
}

fn text_value(text: &str) -> Value {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Value::Empty
    } else {
        Value::Text(trimmed.to_owned())
    }
}

// ---------------------------------------------------------------------------------------
// Streaming a sheet.

/// A sheet of an open workbook, ready to stream.
pub(crate) struct Sheet<'b> {
    workbook: Xlsx<Cursor<&'b [u8]>>,
    /// The sheet's name as the workbook spells it.
    pub(crate) name: String,
    /// The workbook counts dates from 1904 (old Mac Excel).
    pub(crate) is_1904: bool,
}

/// Opens a workbook and picks a sheet: `wanted` (`source.sheet`; exact, else compared
/// case-insensitively and trimmed), else the first. The error is a message for the
/// whole file.
pub(crate) fn open_sheet<'b>(bytes: &'b [u8], wanted: Option<&str>) -> Result<Sheet<'b>, String> {
    let workbook = Xlsx::new(Cursor::new(bytes)).map_err(|error| format!("not a readable XLSX workbook: {error}"))?;
    let names = workbook.sheet_names();
    let name = match wanted {
        None => names.first().cloned().ok_or("the workbook has no sheet")?,
        Some(wanted) => names
            .iter()
            .find(|name| *name == wanted)
            .or_else(|| names.iter().find(|name| name.trim().to_lowercase() == wanted.trim().to_lowercase()))
            .cloned()
            .ok_or_else(|| format!("no sheet '{wanted}' (`source.sheet`); the workbook has: {}", names.join(", ")))?,
    };
    let is_1904 = workbook.has_1904_epoch();
    Ok(Sheet { workbook, name, is_1904 })
}

/// Where a sheet stopped being readable: 1-based (row, column; 0 when none), and why.
pub(crate) type SheetProblem = (u32, u32, String);

impl Sheet<'_> {
    /// Streams the sheet's rows that hold a value, in order: `on_row(1-based row,
    /// cells)`, the cells indexed by 0-based column (missing trailing cells are not
    /// stored). `on_row` returns false to stop. A malformed sheet, rows stored out of
    /// order or a value past `ROW_COLUMNS_MAX` columns end the reading with the problem.
    pub(crate) fn rows(&mut self, mut on_row: impl FnMut(u32, &[Value]) -> bool) -> Result<(), SheetProblem> {
        let sheet = &self.name;
        let mut reader =
            self.workbook.worksheet_cells_reader(sheet).map_err(|error| (0, 0, format!("sheet '{sheet}': {error}")))?;
        let mut row: Vec<Value> = Vec::new();
        let mut current: Option<u32> = None;
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(error) => {
                    let line = current.map_or(0, |row| row + 1);
                    return Err((line, 0, format!("sheet '{sheet}' is malformed: {error}")));
                }
            };
            let (row_index, column_index) = cell.get_position();
            let value = xlsx_value(cell.get_value());
            if value == Value::Empty {
                continue;
            }
            if current != Some(row_index) {
                if let Some(previous) = current {
                    if row_index < previous {
                        let message = format!(
                            "the sheet stores row {} after row {}; re-save the file in Excel or LibreOffice",
                            row_index + 1,
                            previous + 1
                        );
                        return Err((row_index + 1, 0, message));
                    }
                    if !on_row(previous + 1, &row) {
                        return Ok(());
                    }
                }
                current = Some(row_index);
                row.clear();
            }
            let column = column_index as usize;
            if column >= limits::ROW_COLUMNS_MAX {
                let message = format!(
                    "a value in column {} is past the {} columns tieout reads",
                    column + 1,
                    limits::ROW_COLUMNS_MAX
                );
                return Err((row_index + 1, column_index + 1, message));
            }
            if row.len() <= column {
                row.resize(column + 1, Value::Empty);
            }
            row[column] = value;
        }
        if let Some(last) = current {
            on_row(last + 1, &row);
        }
        Ok(())
    }
}
