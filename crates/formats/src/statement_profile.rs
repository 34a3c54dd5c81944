//! Statement profiles: the user's way to onboard any tabular statement (Payoneer,
//! PingPong, LianLian, Airwallex, a bank's CSV or XLSX export) without code. A small TOML file says how
//! the file is laid out and which header holds which field of a
//! [`StatementEntry`]; [`read_with_profile`] then reads the file into a
//! [`StatementFile`]. The readers of Alipay and WeChat Pay bills share this module's
//! helpers (decoding, dates, the running-balance check).
//!
//! # The profile file
//!
//! ```toml
//! [source]
//! name = "payoneer"              # shown in output; default: the profile file's name
//! format = "csv"                 # "csv" | "xlsx"; default: detected (XLSX starts with PK\x03\x04)
//! sheet = "Transactions"         # XLSX only: the sheet (case-insensitive); default: the first
//! encoding = "utf-8"             # CSV only: "utf-8" (default) | "gbk" | "windows-1252"
//! delimiter = ","                # CSV only: one ASCII character; default ","
//! preamble_lines = 0             # lines (XLSX: rows) before the header, OR:
//! # header_contains = "Transaction ID"   # the header is the first line (row) containing this
//! footer_lines = 0               # CSV only: trailing lines to ignore (totals)
//! number_style = "dot"           # "dot" | "comma" | "per-value"; default "dot"
//! date_format = "%Y-%m-%d"       # chrono strftime (may include a time); ISO 8601 always accepted
//! currency = "USD"               # when there is no currency column
//! account = "payoneer-usd"       # the account / wallet the statement is of
//!
//! [columns]                      # tieout field = header, or a list of aliases
//! booking_date = ["Date", "Transaction Date"]   # required
//! amount = "Amount"              # signed; OR credit = "Credit" + debit = "Debit"
//! # optional: value_date, currency, entry_ref, reference, counterparty, description,
//! # fee, original_amount + original_currency, balance
//!
//! [sign]                         # optional: amounts are unsigned, a column gives the direction
//! column = "Type"
//! credit = ["Credit", "收入"]
//! debit = ["Debit", "支出"]
//! ```
//!
//! # Rules
//!
//! * **XLSX.** A workbook is recognised by its zip signature whatever `source.format`
//!   says when it is left out; `format = "xlsx"` on a file that is not a workbook, or
//!   `"csv"` on one, is an error, and so is a legacy `.xls` (save it as XLSX). The sheet
//!   is `source.sheet` (a missing one is an error listing the sheets), else the first.
//!   Lines are sheet rows (1-based, as Excel numbers them; empty rows are skipped), and a
//!   diagnostic's column is the 1-based sheet column. The header is found as in a CSV:
//!   after `preamble_lines` rows, or the first row with a cell containing
//!   `header_contains`. `footer_lines` is ignored; instead a *trailing totals row* is
//!   skipped: a row whose first non-empty cell is a totals label (`Total`, `Sum`,
//!   `合计` …, as for order exports) or whose booking date is empty while an amount cell
//!   is filled, only when nothing but such rows follow it (the same row in the middle
//!   is read, and fails visibly). Cells may be text (read as in a CSV, in the profile's
//!   number style and date format), numbers or dates: a number in an amount column is
//!   written as Excel shows it at full precision (15 significant digits) and that
//!   decimal text is parsed (no float arithmetic on money; `12.345` USD is refused); a
//!   date cell, or a number in a date column (an Excel serial date, 1900 or 1904 system
//!   as the workbook says), gives its calendar date; a number in a text column reads as
//!   Excel shows it (`1001`). A spreadsheet error (`#N/A`) in a mapped column, a
//!   TRUE/FALSE or a date where an amount is expected are errors. The sheet is streamed
//!   cell by cell (a value past `ROW_COLUMNS_MAX` columns is refused) and the parser runs
//!   under `catch_unwind`: a panic in it becomes a diagnostic.
//! * Unknown keys are refused (a typo would silently drop a column); every error names
//!   the key (`source.encoding`) with its line and column in the profile.
//! * Headers are matched case-insensitively and trimmed. A field given as a list of
//!   aliases takes the first alias present in the file's header. A missing required
//!   column is an error naming the key, the aliases and the headers found.
//! * The amount is one signed `amount` column, or `credit` and `debit` columns (both
//!   written non-negative; a debit is made negative, and a debit already written with a
//!   minus sign is read as the same debit). With `[sign]`, the amount column is taken as
//!   an absolute value and the sign column's value (compared case-insensitively) says
//!   its direction; a value in neither list is an error. `[sign]` with credit/debit
//!   columns is refused as a contradiction.
//! * A currency is required: a `currency` column or `source.currency` (a cell wins; an
//!   empty cell takes the constant). A file with several currencies gives one
//!   statement per currency, in order of first appearance.
//! * `fee` is stored as a positive "charged" amount whatever its sign in the file.
//!   `original_amount` needs `original_currency` (a column); both empty is "no
//!   conversion".
//! * `balance` (the running balance after each row) gives the opening balance (first
//!   row's balance minus its amount) and the closing balance (last row's), and every row
//!   is checked: `balance[i] = balance[i-1] + amount[i]`; a break is a warning naming
//!   the line and the difference. A file whose first date is later than its last is
//!   read as newest-first (many banks export so) and rolled from the bottom up.
//! * Dates: `source.date_format` first, then ISO 8601 (`2024-03-01`,
//!   `2024-03-01 09:15:00`, `2024-03-01T09:15:00+08:00`, `2024/03/01 09:15`). A time of
//!   day is dropped: the booking date is the calendar date as written.
//! * Cells are trimmed of spaces and of the TAB, leading backtick (`` ` ``) or
//!   apostrophe that exports add to keep Excel from mangling long numbers.
//! * Every bad value is an error with its line, column and header; reading stops after
//!   `limits::FILE_DIAGNOSTICS_MAX` diagnostics. Limits on file size, line length,
//!   columns and rows are those of `tieout_core::limits`.
//!
//! Built-in profiles ([`builtin_profiles`]) are written in the same TOML and parsed like
//! a user's. **They are unverified**: no real export of these tools was available
//! (see `shared/formats/others.md`); they follow the columns documented there and are a
//! starting point to copy and correct.

use crate::local_date::{parse_local_date, DateForms};
use crate::toml_position::parse_toml;
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::NaiveDate;
use serde::Deserialize;
use tieout_core::limits;
use tieout_core::money::{format_minor, parse_amount_minor, Currency, Money};
use tieout_core::statement::{Statement, StatementEntry, StatementFile};
use tieout_core::{Diagnostic, NumberStyle};
use toml::Spanned;

use crate::mapping::FileKind;
use crate::mapping_common::{Aliases, ConfigFile};
use crate::xlsx::{
    excel_date, excel_number_text, open_sheet, serial_date, text_of, Raw, Value, XLSX_SIGNATURE, XLS_SIGNATURE,
};

/// The text encoding of a profiled file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gbk,
    Windows1252,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gbk => "GBK",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }
}

/// Where the header line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderPosition {
    /// After this many preamble lines (0: the first line).
    AfterLines(u32),
    /// The first line containing this text.
    Containing(String),
}

/// Where an entry's amount comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileAmount {
    /// One signed column (or unsigned with a [`SignRule`]).
    Signed(Vec<String>),
    /// Two non-negative columns; the debit is made negative.
    CreditDebit { credit: Vec<String>, debit: Vec<String> },
}

/// A column whose value gives the direction of an unsigned amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignRule {
    pub column: Vec<String>,
    pub credit: Vec<String>,
    pub debit: Vec<String>,
}

/// Header aliases per field; an empty list: the field has no column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileColumns {
    pub booking_date: Vec<String>,
    pub value_date: Vec<String>,
    pub amount: ProfileAmount,
    pub currency: Vec<String>,
    pub entry_ref: Vec<String>,
    pub reference: Vec<String>,
    pub counterparty: Vec<String>,
    pub description: Vec<String>,
    pub fee: Vec<String>,
    pub original_amount: Vec<String>,
    pub original_currency: Vec<String>,
    pub balance: Vec<String>,
}

/// A validated statement profile (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementProfile {
    /// `source.name`, else the profile file's name.
    pub name: String,
    /// `source.format`; `None`: detected (an XLSX workbook starts with `PK\x03\x04`).
    pub format: Option<FileKind>,
    /// `source.sheet` of an XLSX workbook; `None`: the first sheet.
    pub sheet: Option<String>,
    pub encoding: TextEncoding,
    pub delimiter: u8,
    pub header: HeaderPosition,
    pub footer_lines: u32,
    pub number_style: NumberStyle,
    pub date_format: Option<String>,
    pub currency: Option<Currency>,
    pub account: String,
    pub columns: ProfileColumns,
    pub sign: Option<SignRule>,
}

// ---------------------------------------------------------------------------------------
// Built-in profiles.

/// Payoneer "Transactions" CSV export. UNVERIFIED: columns as others.md expects them
/// (Date, Description, Amount, Currency, Status, Transaction ID), no real file seen.
const PAYONEER: &str = r#"
[source]
name = "payoneer (unverified)"
encoding = "utf-8"
delimiter = ","
number_style = "dot"
account = "payoneer"
[columns]
booking_date = ["Date", "Transaction Date"]
amount = "Amount"
currency = "Currency"
entry_ref = ["Transaction ID", "ID"]
description = "Description"
"#;

/// Airwallex financial transactions. UNVERIFIED: fields of its API's financial
/// transactions (id, amount, currency, fee, net, source_id, source_type, status,
/// created_at, settled_at, batch_id) as a CSV, from memory; no real file seen.
const AIRWALLEX: &str = r#"
[source]
name = "airwallex (unverified)"
encoding = "utf-8"
delimiter = ","
number_style = "dot"
account = "airwallex"
[columns]
booking_date = ["settled_at", "Settled At", "created_at", "Created At"]
amount = ["amount", "Amount"]
currency = ["currency", "Currency"]
entry_ref = ["id", "ID", "Transaction ID"]
reference = ["source_id", "Source ID"]
description = ["source_type", "Source Type", "Description"]
fee = ["fee", "Fee"]
"#;

/// The built-in profiles by name, each parsed from its embedded TOML. All are
/// unverified against real files (see the module documentation).
pub fn builtin_profiles() -> Vec<(&'static str, StatementProfile)> {
    [("payoneer", PAYONEER), ("airwallex", AIRWALLEX)]
        .into_iter()
        .map(|(name, text)| {
            let profile = parse_profile(&format!("built-in:{name}"), text).expect("built-in profiles are valid");
            (name, profile)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Parsing the profile.

/// Reads and validates a profile. The error names the key, with its line and column.
pub fn parse_profile(file_name: &str, text: &str) -> Result<StatementProfile, Diagnostic> {
    let raw: RawProfile = parse_toml(file_name, text)?;
    Validator { file: ConfigFile { name: file_name, text } }.profile(raw)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    source: RawSource,
    columns: RawColumns,
    sign: Option<RawSign>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
    sheet: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
    delimiter: Option<Spanned<String>>,
    preamble_lines: Option<Spanned<i64>>,
    header_contains: Option<Spanned<String>>,
    footer_lines: Option<Spanned<i64>>,
    number_style: Option<Spanned<String>>,
    date_format: Option<Spanned<String>>,
    currency: Option<Spanned<String>>,
    account: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    booking_date: Spanned<Aliases>,
    value_date: Option<Spanned<Aliases>>,
    amount: Option<Spanned<Aliases>>,
    credit: Option<Spanned<Aliases>>,
    debit: Option<Spanned<Aliases>>,
    currency: Option<Spanned<Aliases>>,
    entry_ref: Option<Spanned<Aliases>>,
    reference: Option<Spanned<Aliases>>,
    counterparty: Option<Spanned<Aliases>>,
    description: Option<Spanned<Aliases>>,
    fee: Option<Spanned<Aliases>>,
    original_amount: Option<Spanned<Aliases>>,
    original_currency: Option<Spanned<Aliases>>,
    balance: Option<Spanned<Aliases>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSign {
    column: Spanned<Aliases>,
    credit: Spanned<Aliases>,
    debit: Spanned<Aliases>,
}

struct Validator<'a> {
    file: ConfigFile<'a>,
}

impl Validator<'_> {
    fn aliases(&self, value: Spanned<Aliases>, key: &str) -> Result<Vec<String>, Diagnostic> {
        self.file.aliases(value, key, "a header name is empty")
    }

    fn optional(&self, value: Option<Spanned<Aliases>>, key: &str) -> Result<Vec<String>, Diagnostic> {
        value.map_or(Ok(Vec::new()), |value| self.aliases(value, key))
    }

    fn count(&self, value: Option<Spanned<i64>>, key: &str) -> Result<u32, Diagnostic> {
        match value {
            None => Ok(0),
            Some(value) => match u32::try_from(*value.get_ref()) {
                Ok(count) if count < limits::FILE_ROWS_MAX => Ok(count),
                _ => self.file.error(value.span(), key, format!("{} is not a line count (0 or more)", value.get_ref())),
            },
        }
    }

    fn profile(&self, raw: RawProfile) -> Result<StatementProfile, Diagnostic> {
        let source = raw.source;
        let name = match source.name {
            Some(name) if name.get_ref().trim().is_empty() => {
                return self.file.error(name.span(), "source.name", "is empty")
            }
            Some(name) => name.into_inner().trim().to_owned(),
            None => self.file.name.to_owned(),
        };
        let format = match source.format {
            None => None,
            Some(value) => match value.get_ref().trim().to_ascii_lowercase().as_str() {
                "csv" => Some(FileKind::Csv),
                "xlsx" => Some(FileKind::Xlsx),
                other => {
                    return self.file.error(
                        value.span(),
                        "source.format",
                        format!("'{other}' is not one of \"csv\", \"xlsx\""),
                    )
                }
            },
        };
        let sheet = match source.sheet {
            Some(value) if value.get_ref().trim().is_empty() => {
                return self.file.error(value.span(), "source.sheet", "is empty")
            }
            Some(value) if format == Some(FileKind::Csv) => {
                return self.file.error(
                    value.span(),
                    "source.sheet",
                    "is for XLSX workbooks, and `source.format` is \"csv\"",
                )
            }
            Some(value) => Some(value.into_inner().trim().to_owned()),
            None => None,
        };
        let encoding = self.file.encoding(source.encoding)?.unwrap_or(TextEncoding::Utf8);
        let delimiter = self.file.delimiter(source.delimiter)?.unwrap_or(b',');
        let header = match (source.preamble_lines, source.header_contains) {
            (Some(lines), Some(_)) => {
                return self.file.error(
                    lines.span(),
                    "source.preamble_lines",
                    "give either `source.preamble_lines` or `source.header_contains`, not both",
                )
            }
            (None, Some(text)) if text.get_ref().trim().is_empty() => {
                return self.file.error(text.span(), "source.header_contains", "is empty")
            }
            (None, Some(text)) => HeaderPosition::Containing(text.into_inner().trim().to_owned()),
            (lines, None) => HeaderPosition::AfterLines(self.count(lines, "source.preamble_lines")?),
        };
        let footer_lines = self.count(source.footer_lines, "source.footer_lines")?;
        let number_style = match source.number_style {
            None => NumberStyle::Dot,
            Some(value) => match value.get_ref().trim() {
                "dot" => NumberStyle::Dot,
                "comma" => NumberStyle::Comma,
                "per-value" => NumberStyle::PerValue,
                other => {
                    return self.file.error(
                        value.span(),
                        "source.number_style",
                        format!("'{other}' is not one of \"dot\", \"comma\", \"per-value\""),
                    )
                }
            },
        };
        let date_format = match source.date_format {
            Some(value) if value.get_ref().trim().is_empty() => {
                return self.file.error(value.span(), "source.date_format", "is empty")
            }
            Some(value) => {
                let format = value.get_ref().trim().to_owned();
                if chrono::format::StrftimeItems::new(&format).any(|item| item == chrono::format::Item::Error) {
                    return self.file.error(
                        value.span(),
                        "source.date_format",
                        format!("'{format}' is not a chrono strftime format"),
                    );
                }
                Some(format)
            }
            None => None,
        };
        let currency = self.file.currency(source.currency)?;
        let account = source.account.map(|value| value.into_inner().trim().to_owned()).unwrap_or_default();

        let columns = raw.columns;
        let amount = match (columns.amount, columns.credit, columns.debit) {
            (Some(amount), None, None) => ProfileAmount::Signed(self.aliases(amount, "columns.amount")?),
            (None, Some(credit), Some(debit)) => ProfileAmount::CreditDebit {
                credit: self.aliases(credit, "columns.credit")?,
                debit: self.aliases(debit, "columns.debit")?,
            },
            (Some(amount), _, _) => {
                return self.file.error(
                    amount.span(),
                    "columns.amount",
                    "give either `amount` or `credit` + `debit`, not both",
                )
            }
            (None, Some(only), None) => {
                return self.file.error(only.span(), "columns.credit", "`credit` needs `debit` too")
            }
            (None, None, Some(only)) => {
                return self.file.error(only.span(), "columns.debit", "`debit` needs `credit` too")
            }
            (None, None, None) => {
                return self.file.error(0..0, "columns", "an amount is required: `amount`, or `credit` and `debit`")
            }
        };
        let currency_columns = self.optional(columns.currency, "columns.currency")?;
        if currency.is_none() && currency_columns.is_empty() {
            return self.file.error(
                0..0,
                "source.currency",
                "a currency is required: `source.currency` or `columns.currency`",
            );
        }
        let original_amount = self.optional(columns.original_amount, "columns.original_amount")?;
        let original_currency = self.optional(columns.original_currency, "columns.original_currency")?;
        if !original_amount.is_empty() && original_currency.is_empty() {
            return self.file.error(
                0..0,
                "columns.original_currency",
                "`columns.original_amount` needs `columns.original_currency`",
            );
        }
        let sign = match raw.sign {
            None => None,
            Some(sign) => {
                if matches!(amount, ProfileAmount::CreditDebit { .. }) {
                    return self.file.error(
                        sign.column.span(),
                        "sign.column",
                        "`[sign]` is for one unsigned `amount` column, not `credit` + `debit`",
                    );
                }
                Some(SignRule {
                    column: self.aliases(sign.column, "sign.column")?,
                    credit: self.aliases(sign.credit, "sign.credit")?,
                    debit: self.aliases(sign.debit, "sign.debit")?,
                })
            }
        };
        let columns = ProfileColumns {
            booking_date: self.aliases(columns.booking_date, "columns.booking_date")?,
            value_date: self.optional(columns.value_date, "columns.value_date")?,
            amount,
            currency: currency_columns,
            entry_ref: self.optional(columns.entry_ref, "columns.entry_ref")?,
            reference: self.optional(columns.reference, "columns.reference")?,
            counterparty: self.optional(columns.counterparty, "columns.counterparty")?,
            description: self.optional(columns.description, "columns.description")?,
            fee: self.optional(columns.fee, "columns.fee")?,
            original_amount,
            original_currency,
            balance: self.optional(columns.balance, "columns.balance")?,
        };
        Ok(StatementProfile {
            name,
            format,
            sheet,
            encoding,
            delimiter,
            header,
            footer_lines,
            number_style,
            date_format,
            currency,
            account,
            columns,
            sign,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Reading a file with a profile.

/// Reads a tabular statement with a profile.
pub fn read_with_profile(file_name: &str, bytes: &[u8], profile: &StatementProfile) -> StatementFile {
    let mut reader = ProfileReader { profile, sink: Sink::new(file_name), is_1904: false };
    if let Err(diagnostic) = check_size(file_name, bytes) {
        reader.sink.report(diagnostic);
        return reader.sink.out;
    }
    if bytes.starts_with(XLS_SIGNATURE) {
        reader.sink.error(
            0,
            0,
            "this is a legacy Excel .xls workbook: open it in Excel or LibreOffice and save it as .xlsx (or CSV UTF-8)",
        );
        return reader.sink.out;
    }
    let is_xlsx = bytes.starts_with(XLSX_SIGNATURE);
    let rows = match (profile.format, is_xlsx) {
        (Some(FileKind::Xlsx), false) => {
            reader.sink.error(
                0,
                0,
                "the profile says `source.format = \"xlsx\"`, but this file is not an XLSX workbook (no zip signature `PK`); is it a CSV file?",
            );
            return reader.sink.out;
        }
        (Some(FileKind::Csv), true) => {
            reader.sink.error(
                0,
                0,
                "this file is an XLSX workbook, but the profile says `source.format = \"csv\"` (set it to \"xlsx\", or leave it out to detect)",
            );
            return reader.sink.out;
        }
        (_, true) => reader.read_xlsx(bytes),
        (_, false) => {
            let text = match decode(file_name, bytes, profile.encoding) {
                Ok(text) => text,
                Err(diagnostic) => {
                    reader.sink.report(diagnostic);
                    return reader.sink.out;
                }
            };
            if let Err(diagnostic) = check_lines(file_name, &text) {
                reader.sink.report(diagnostic);
                return reader.sink.out;
            }
            match reader.read_csv(&text) {
                Some(rows) => rows,
                None => return reader.sink.out,
            }
        }
    };
    reader.finish(rows)
}

struct ProfileReader<'a> {
    profile: &'a StatementProfile,
    sink: Sink<'a>,
    /// The workbook counts dates from 1904 (XLSX only).
    is_1904: bool,
}

/// The cells of a row, whatever the container: cleaned (see [`clean_cell`]), empty text
/// as `Raw::Empty`, a missing cell empty.
trait Cells {
    fn cell(&self, index: usize) -> Raw<'_>;
}

impl Cells for csv::StringRecord {
    fn cell(&self, index: usize) -> Raw<'_> {
        match clean_cell(self.get(index).unwrap_or("")) {
            "" => Raw::Empty,
            text => Raw::Text(text),
        }
    }
}

impl Cells for [Value] {
    fn cell(&self, index: usize) -> Raw<'_> {
        match self.get(index).map_or(Raw::Empty, Value::raw) {
            Raw::Text(text) => match clean_cell(text) {
                "" => Raw::Empty,
                text => Raw::Text(text),
            },
            other => other,
        }
    }
}

/// Column indexes of the mapped fields.
struct Layout {
    header: Vec<String>,
    booking_date: usize,
    value_date: Option<usize>,
    amount: Option<usize>,
    credit_debit: Option<(usize, usize)>,
    currency: Option<usize>,
    entry_ref: Option<usize>,
    reference: Option<usize>,
    counterparty: Option<usize>,
    description: Option<usize>,
    fee: Option<usize>,
    original: Option<(usize, usize)>,
    balance: Option<usize>,
    sign: Option<usize>,
}

impl<'a> ProfileReader<'a> {
    /// The rows of a delimited text; `None` when the file cannot be read at all (the
    /// reason is reported).
    fn read_csv(&mut self, text: &str) -> Option<Vec<Row>> {
        let lines: Vec<(u32, &str)> = crate::text::numbered_lines(text).collect();
        let mut end = lines.len();
        while end > 0 && lines[end - 1].1.trim().is_empty() {
            end -= 1;
        }
        let footer = self.profile.footer_lines as usize;
        if footer > end {
            self.sink.error(0, 0, format!("the file has {end} lines, fewer than `source.footer_lines` ({footer})"));
            return None;
        }
        end -= footer;
        let header_index = match &self.profile.header {
            HeaderPosition::AfterLines(count) => {
                let index = *count as usize;
                if index >= end || lines[index].1.trim().is_empty() {
                    self.sink.error(
                        index as u32 + 1,
                        0,
                        format!(
                            "no header: line {} (after `source.preamble_lines` = {count}) is empty or missing",
                            index + 1
                        ),
                    );
                    return None;
                }
                index
            }
            HeaderPosition::Containing(wanted) => {
                match lines[..end].iter().position(|(_, line)| line.contains(wanted.as_str())) {
                    Some(index) => index,
                    None => {
                        self.sink.error(
                        0,
                        0,
                        format!(
                            "no header: no line contains '{wanted}' (`source.header_contains`); the file was decoded as {}",
                            self.profile.encoding.name()
                        ),
                    );
                        return None;
                    }
                }
            }
        };
        let table: String = lines[header_index..end].iter().map(|(_, line)| *line).collect::<Vec<_>>().join("\n");
        let first_line = lines[header_index].0;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.profile.delimiter)
            .from_reader(table.as_bytes());
        let mut counter = LineCounter::new(&table, first_line);
        let mut layout: Option<Layout> = None;
        let mut rows: Vec<Row> = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut row_count: u32 = 0;
        loop {
            if self.sink.stopped {
                break;
            }
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = counter.line_of(record.position().map_or(0, |p| p.byte() as usize));
                    if record.len() > limits::ROW_COLUMNS_MAX {
                        self.sink.error(
                            line,
                            0,
                            format!(
                                "this line has {} fields; tieout reads up to {}",
                                record.len(),
                                limits::ROW_COLUMNS_MAX
                            ),
                        );
                        break;
                    }
                    let Some(layout) = &layout else {
                        let header =
                            record.iter().map(|cell| cell.trim_start_matches('\u{feff}').trim().to_owned()).collect();
                        match self.layout(line, header) {
                            Some(found) => layout = Some(found),
                            None => break,
                        }
                        continue;
                    };
                    if record.iter().all(|cell| clean_cell(cell).is_empty()) {
                        continue;
                    }
                    row_count += 1;
                    if row_count > limits::FILE_ROWS_MAX {
                        self.sink.error(
                            line,
                            0,
                            format!("more than {} rows; tieout reads up to that many", limits::FILE_ROWS_MAX),
                        );
                        break;
                    }
                    if record.len() != layout.header.len() {
                        let column = record.len().min(layout.header.len()) as u32 + 1;
                        self.sink.error(
                            line,
                            column,
                            format!("this line has {} fields, the header has {}", record.len(), layout.header.len()),
                        );
                        continue;
                    }
                    if let Some(row) = self.row(line, layout, &record) {
                        rows.push(row);
                    }
                }
                Err(error) => {
                    let line = counter.line_of(error.position().map_or(0, |p| p.byte() as usize));
                    self.sink.error(line, 0, format!("unreadable CSV: {error}"));
                }
            }
        }
        if layout.is_none() && !self.sink.stopped && !self.sink.out.diagnostics.iter().any(Diagnostic::is_error) {
            self.sink.error(first_line, 0, "no header line found");
        }
        Some(rows)
    }

    /// The rows of an XLSX sheet (see the module documentation).
    fn read_xlsx(&mut self, bytes: &[u8]) -> Vec<Row> {
        let mut rows = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.read_sheet(bytes, &mut rows)));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(message)) => self.sink.error(0, 0, message),
            Err(_) => self.sink.error(
                0,
                0,
                "the XLSX reader failed on this workbook (it is malformed); re-save it in Excel or LibreOffice",
            ),
        }
        rows
    }

    fn read_sheet(&mut self, bytes: &[u8], rows: &mut Vec<Row>) -> Result<(), String> {
        let mut sheet = open_sheet(bytes, self.profile.sheet.as_deref())?;
        self.is_1904 = sheet.is_1904;
        let sheet_name = sheet.name.clone();
        let mut layout: Option<Layout> = None;
        let mut header_failed = false;
        // Possible trailing totals rows, held back until a regular row proves they are not.
        let mut held_back: Vec<(u32, Vec<Value>)> = Vec::new();
        let mut row_count: u32 = 0;
        let streamed = sheet.rows(|line, cells| {
            let Some(layout) = &layout else {
                match &self.profile.header {
                    HeaderPosition::AfterLines(count) => {
                        let header_line = count + 1;
                        if line < header_line {
                            return true;
                        }
                        if line > header_line {
                            self.sink.error(
                                header_line,
                                0,
                                format!("no header: row {header_line} (after `source.preamble_lines` = {count}) of sheet '{sheet_name}' is empty"),
                            );
                            header_failed = true;
                            return false;
                        }
                    }
                    HeaderPosition::Containing(wanted) => {
                        let found = (0..cells.len())
                            .any(|index| text_of(cells.cell(index)).is_some_and(|text| text.contains(wanted.as_str())));
                        if !found {
                            return true;
                        }
                    }
                }
                let header = (0..cells.len()).map(|index| text_of(cells.cell(index)).unwrap_or_default()).collect();
                match self.layout(line, header) {
                    Some(found) => layout = Some(found),
                    None => header_failed = true,
                }
                return layout.is_some();
            };
            if (0..cells.len()).all(|index| cells.cell(index).is_empty()) {
                return true;
            }
            row_count += 1;
            if row_count > limits::FILE_ROWS_MAX {
                self.sink.error(
                    line,
                    0,
                    format!("more than {} rows; tieout reads up to that many", limits::FILE_ROWS_MAX),
                );
                return false;
            }
            if is_totals_like(layout, cells) {
                held_back.push((line, cells.to_vec()));
                return true;
            }
            // A regular row: the rows held back were not trailing totals after all.
            for (held_line, held) in std::mem::take(&mut held_back) {
                if let Some(row) = self.row(held_line, layout, held.as_slice()) {
                    rows.push(row);
                }
            }
            if let Some(row) = self.row(line, layout, cells) {
                rows.push(row);
            }
            !self.sink.stopped
        });
        // Rows still held back are trailing totals rows: skipped.
        if let Err((line, column, message)) = streamed {
            self.sink.error(line, column, message);
            return Ok(());
        }
        if layout.is_none() && !header_failed && !self.sink.stopped {
            let message = match &self.profile.header {
                HeaderPosition::AfterLines(count) => format!(
                    "no header: row {} (after `source.preamble_lines` = {count}) of sheet '{sheet_name}' is empty or missing",
                    count + 1
                ),
                HeaderPosition::Containing(wanted) => {
                    format!("no header: no row of sheet '{sheet_name}' contains '{wanted}' (`source.header_contains`)")
                }
            };
            self.sink.error(0, 0, message);
        }
        Ok(())
    }

    /// Groups the rows into statements, one per currency, and settles them.
    fn finish(mut self, rows: Vec<Row>) -> StatementFile {
        // One statement per currency, in order of first appearance.
        let mut currencies: Vec<Currency> = Vec::new();
        for row in &rows {
            if !currencies.contains(&row.entry.currency) {
                currencies.push(row.entry.currency);
            }
        }
        for currency in currencies {
            let index = self.sink.out.statements.len() as u32;
            let mut booked: Vec<Booked> = Vec::new();
            for row in rows.iter().filter(|row| row.entry.currency == currency) {
                let mut entry = row.entry.clone();
                entry.statement = index;
                booked.push(Booked { entry, balance_minor: row.balance });
            }
            let statement = Statement {
                statement_ref: String::new(),
                account: self.profile.account.clone(),
                currency,
                line: 1,
                opening_minor: None,
                opening_date: None,
                closing_minor: None,
                closing_date: None,
                entries_sum_minor: 0,
                entry_count: 0,
            };
            settle(&mut self.sink, statement, booked);
        }
        self.sink.out
    }

    fn layout(&mut self, line: u32, header: Vec<String>) -> Option<Layout> {
        let lower: Vec<String> = header.iter().map(|name| name.to_lowercase()).collect();
        let columns = &self.profile.columns;
        let mut missing: Vec<String> = Vec::new();
        let mut find = |aliases: &[String], key: &str| -> Option<usize> {
            if aliases.is_empty() {
                return None;
            }
            let found = aliases.iter().find_map(|alias| lower.iter().position(|name| *name == alias.to_lowercase()));
            if found.is_none() {
                missing.push(format!(
                    "`{key}` ({})",
                    aliases.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" or ")
                ));
            }
            found
        };
        let booking_date = find(&columns.booking_date, "columns.booking_date");
        let value_date = find(&columns.value_date, "columns.value_date");
        let (amount, credit_debit) = match &columns.amount {
            ProfileAmount::Signed(aliases) => (find(aliases, "columns.amount"), None),
            ProfileAmount::CreditDebit { credit, debit } => {
                let credit = find(credit, "columns.credit");
                let debit = find(debit, "columns.debit");
                (None, credit.zip(debit))
            }
        };
        let currency = find(&columns.currency, "columns.currency");
        let entry_ref = find(&columns.entry_ref, "columns.entry_ref");
        let reference = find(&columns.reference, "columns.reference");
        let counterparty = find(&columns.counterparty, "columns.counterparty");
        let description = find(&columns.description, "columns.description");
        let fee = find(&columns.fee, "columns.fee");
        let original_amount = find(&columns.original_amount, "columns.original_amount");
        let original_currency = find(&columns.original_currency, "columns.original_currency");
        let balance = find(&columns.balance, "columns.balance");
        let sign = self.profile.sign.as_ref().and_then(|sign| find(&sign.column, "sign.column"));
        if !missing.is_empty() {
            self.sink.error(
                line,
                0,
                format!(
                    "the header lacks {}; headers found: {}",
                    missing.join(", "),
                    header.iter().map(|h| format!("'{h}'")).collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        }
        Some(Layout {
            booking_date: booking_date?,
            value_date,
            amount,
            credit_debit,
            currency,
            entry_ref,
            reference,
            counterparty,
            description,
            fee,
            original: original_amount.zip(original_currency),
            balance,
            sign,
            header,
        })
    }

    fn row<C: Cells + ?Sized>(&mut self, line: u32, layout: &Layout, record: &C) -> Option<Row> {
        let profile = self.profile;
        let is_1904 = self.is_1904;
        let cell = |index: usize| record.cell(index);
        let errors_before = self.sink.out.diagnostics.len();
        let fail = |sink: &mut Sink, index: usize, message: String| {
            sink.cell_error(line, index, &layout.header[index], message);
        };
        let date_format = profile.date_format.as_deref();
        let currency = match layout.currency.map(|index| (index, cell_text(cell(index)))) {
            Some((index, Err(message))) => {
                fail(&mut self.sink, index, message);
                None
            }
            Some((index, Ok(code))) if !code.is_empty() => match Currency::from_code(&code) {
                Ok(currency) => Some(currency),
                Err(error) => {
                    fail(&mut self.sink, index, error.to_string());
                    None
                }
            },
            _ if profile.currency.is_some() => profile.currency,
            _ => {
                fail(
                    &mut self.sink,
                    layout.currency.expect("mapped when no constant"),
                    "empty currency (and no `source.currency`)".to_owned(),
                );
                None
            }
        };
        let booking_date = match cell_date(cell(layout.booking_date), date_format, is_1904) {
            Ok(date) => Some(date),
            Err(message) => {
                fail(&mut self.sink, layout.booking_date, message);
                None
            }
        };
        let value_date = match layout.value_date {
            Some(index) if !cell(index).is_empty() => match cell_date(cell(index), date_format, is_1904) {
                Ok(date) => Some(date),
                Err(message) => {
                    fail(&mut self.sink, index, message);
                    None
                }
            },
            _ => None,
        };
        // Text fields; a spreadsheet error (`#N/A`) in one is an error.
        let text = |sink: &mut Sink, index: Option<usize>| -> String {
            match index.map(|index| (index, cell_text(cell(index)))) {
                None => String::new(),
                Some((_, Ok(text))) => text.into_owned(),
                Some((index, Err(message))) => {
                    fail(sink, index, message);
                    String::new()
                }
            }
        };
        let entry_ref = text(&mut self.sink, layout.entry_ref);
        let reference = text(&mut self.sink, layout.reference);
        let counterparty = text(&mut self.sink, layout.counterparty);
        let description = text(&mut self.sink, layout.description);
        let currency = currency?;
        let exponent = currency.exponent();
        let style = profile.number_style;
        let mut amount_minor: Option<i64> = None;
        if let Some(index) = layout.amount {
            match cell_amount(cell(index), style, exponent) {
                Ok(value) => amount_minor = Some(value),
                Err(message) => fail(&mut self.sink, index, message),
            }
            if let (Some(value), Some(sign_index), Some(rule)) = (amount_minor, layout.sign, &profile.sign) {
                let direction = text(&mut self.sink, Some(sign_index));
                let lower = direction.to_lowercase();
                if rule.credit.iter().any(|c| c.to_lowercase() == lower) {
                    amount_minor = Some(value.abs());
                } else if rule.debit.iter().any(|d| d.to_lowercase() == lower) {
                    amount_minor = Some(-value.abs());
                } else {
                    amount_minor = None;
                    fail(
                        &mut self.sink,
                        sign_index,
                        format!(
                            "'{direction}' is neither a credit ({}) nor a debit ({}) per `[sign]`",
                            rule.credit.join(", "),
                            rule.debit.join(", ")
                        ),
                    );
                }
            }
        }
        if let Some((credit, debit)) = layout.credit_debit {
            let read = |sink: &mut Sink, index: usize| -> Option<i64> {
                if cell(index).is_empty() {
                    return Some(0);
                }
                match cell_amount(cell(index), style, exponent) {
                    Ok(value) => Some(value),
                    Err(message) => {
                        sink.cell_error(line, index, &layout.header[index], message);
                        None
                    }
                }
            };
            let credit_minor = read(&mut self.sink, credit);
            let debit_minor = read(&mut self.sink, debit);
            if let (Some(credit_minor), Some(debit_minor)) = (credit_minor, debit_minor) {
                if cell(credit).is_empty() && cell(debit).is_empty() {
                    fail(&mut self.sink, credit, "both the credit and the debit are empty".to_owned());
                } else if credit_minor != 0 && debit_minor != 0 {
                    fail(&mut self.sink, credit, "both a credit and a debit on one line".to_owned());
                } else if credit_minor < 0 {
                    fail(&mut self.sink, credit, "a credit is written negative".to_owned());
                } else {
                    amount_minor = Some(credit_minor - debit_minor.abs());
                }
            }
        }
        let fee_minor = match layout.fee {
            Some(index) if !cell(index).is_empty() => match cell_amount(cell(index), style, exponent) {
                Ok(value) => Some(value.abs()),
                Err(message) => {
                    fail(&mut self.sink, index, message);
                    None
                }
            },
            _ => None,
        };
        let balance = match layout.balance {
            Some(index) if !cell(index).is_empty() => match cell_amount(cell(index), style, exponent) {
                Ok(value) => Some(value),
                Err(message) => {
                    fail(&mut self.sink, index, message);
                    None
                }
            },
            _ => None,
        };
        let original_amount = match layout.original {
            Some((amount_index, currency_index))
                if !(cell(amount_index).is_empty() && cell(currency_index).is_empty()) =>
            {
                let code = text(&mut self.sink, Some(currency_index));
                match Currency::from_code(&code) {
                    Err(error) => {
                        fail(&mut self.sink, currency_index, error.to_string());
                        None
                    }
                    Ok(original) => match cell_amount(cell(amount_index), style, original.exponent()) {
                        Ok(value) => Some(Money::new(value, original)),
                        Err(message) => {
                            fail(&mut self.sink, amount_index, message);
                            None
                        }
                    },
                }
            }
            _ => None,
        };
        if self.sink.out.diagnostics.len() != errors_before {
            return None;
        }
        Some(Row {
            entry: StatementEntry {
                statement: 0,
                line,
                booking_date: booking_date?,
                value_date,
                amount_minor: amount_minor?,
                currency,
                entry_ref,
                reference,
                counterparty,
                description,
                original_amount,
                fee_minor,
                reversal: false,
            },
            balance,
        })
    }
}

/// A trailing totals row of a sheet: its first non-empty cell is a totals label
/// (`Total`, `合计` …), or its booking date is empty while an amount cell is filled.
fn is_totals_like(layout: &Layout, cells: &[Value]) -> bool {
    let first = (0..cells.len()).map(|index| cells.cell(index)).find(|raw| !raw.is_empty());
    if let Some(Raw::Text(text)) = first {
        if crate::orders::is_totals_label(text) {
            return true;
        }
    }
    let amounts = layout.amount.into_iter().chain(layout.credit_debit.into_iter().flat_map(|(c, d)| [c, d]));
    cells.cell(layout.booking_date).is_empty() && amounts.into_iter().any(|index| !cells.cell(index).is_empty())
}

fn spreadsheet_error(error: &str) -> String {
    format!("the cell holds the spreadsheet error {error}")
}

/// A cell as text (numbers as Excel shows them); a spreadsheet error is an error.
fn cell_text(raw: Raw<'_>) -> Result<Cow<'_, str>, String> {
    match raw {
        Raw::Text(text) => Ok(Cow::Borrowed(text)),
        Raw::Error(error) => Err(spreadsheet_error(error)),
        other => Ok(Cow::Owned(text_of(other).unwrap_or_default())),
    }
}

/// A date: text in the profile's format or ISO 8601; an XLSX date cell, or a number (an
/// Excel serial date).
fn cell_date(raw: Raw<'_>, format: Option<&str>, is_1904: bool) -> Result<NaiveDate, String> {
    match raw {
        Raw::Empty => parse_date("", format),
        Raw::Text(text) => parse_date(text, format),
        Raw::Date(value) => excel_date(value),
        Raw::Int(value) => serial_date(value as f64, is_1904),
        Raw::Number(value) => serial_date(value, is_1904),
        Raw::Bool(_) => Err("TRUE/FALSE where a date was expected".to_owned()),
        Raw::Error(error) => Err(spreadsheet_error(error)),
    }
}

/// An amount in minor units: text in the profile's number style; an XLSX number as Excel
/// shows it (15 significant digits), parsed as decimal text (no float arithmetic).
fn cell_amount(raw: Raw<'_>, style: NumberStyle, exponent: u8) -> Result<i64, String> {
    let parsed = match raw {
        Raw::Empty => parse_amount_minor("", style, exponent),
        Raw::Text(text) => parse_amount_minor(text, style, exponent),
        Raw::Int(value) => parse_amount_minor(&value.to_string(), NumberStyle::Dot, exponent),
        Raw::Number(value) => match excel_number_text(value) {
            Some(text) => parse_amount_minor(&text, NumberStyle::Dot, exponent),
            None => return Err(format!("the number {value} is not an amount")),
        },
        Raw::Date(_) => return Err("a date where an amount was expected".to_owned()),
        Raw::Bool(_) => return Err("TRUE/FALSE where an amount was expected".to_owned()),
        Raw::Error(error) => return Err(spreadsheet_error(error)),
    };
    parsed.map_err(|error| error.to_string())
}

struct Row {
    entry: StatementEntry,
    balance: Option<i64>,
}

/// Byte offsets of csv records to 1-based file lines, counted forwards only. The csv
/// crate reports a record after blank lines at the first blank line, so line breaks
/// right at the offset are skipped.
pub(crate) struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(text: &'a str, first_line: u32) -> LineCounter<'a> {
        LineCounter { text: text.as_bytes(), at: 0, line: first_line }
    }

    pub(crate) fn line_of(&mut self, byte: usize) -> u32 {
        let mut byte = byte.min(self.text.len());
        while byte < self.text.len() && matches!(self.text[byte], b'\n' | b'\r') {
            byte += 1;
        }
        if byte >= self.at {
            self.line += self.text[self.at..byte].iter().filter(|b| **b == b'\n').count() as u32;
            self.at = byte;
        }
        self.line
    }
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the statement readers (Alipay, WeChat Pay, profiles).

/// Collects a reader's output and diagnostics, stopping at the limit.
pub(crate) struct Sink<'a> {
    pub(crate) file: &'a str,
    pub(crate) out: StatementFile,
    pub(crate) stopped: bool,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(file: &'a str) -> Sink<'a> {
        Sink { file, out: StatementFile::default(), stopped: false }
    }

    /// Records a diagnostic; past the limit, says so and stops.
    pub(crate) fn report(&mut self, diagnostic: Diagnostic) {
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

    pub(crate) fn error(&mut self, line: u32, column: u32, message: impl Into<String>) {
        let diagnostic = Diagnostic::error(self.file, line, column, message);
        self.report(diagnostic);
    }

    pub(crate) fn warning(&mut self, line: u32, column: u32, message: impl Into<String>) {
        let diagnostic = Diagnostic::warning(self.file, line, column, message);
        self.report(diagnostic);
    }

    /// An error in a cell: `column` is 0-based, `name` its header.
    pub(crate) fn cell_error(&mut self, line: u32, column: usize, name: &str, message: impl Into<String>) {
        let diagnostic = Diagnostic::error(self.file, line, column as u32 + 1, message).with_column_name(name);
        self.report(diagnostic);
    }
}

/// An entry with the running balance its row states.
pub(crate) struct Booked {
    pub(crate) entry: StatementEntry,
    pub(crate) balance_minor: Option<i64>,
}

/// Adds a statement and its entries: sums them and, when every row states a running
/// balance, derives the opening and closing balances and checks each row's roll
/// (a break is a warning naming the line and the difference). A statement whose first
/// entry is dated after its last is rolled newest-first.
pub(crate) fn settle(sink: &mut Sink, mut statement: Statement, booked: Vec<Booked>) {
    statement.entry_count = booked.len() as u32;
    statement.entries_sum_minor = booked.iter().map(|b| b.entry.amount_minor).sum();
    let with_balance = booked.iter().filter(|b| b.balance_minor.is_some()).count();
    if with_balance > 0 && with_balance < booked.len() {
        let line = booked.iter().find(|b| b.balance_minor.is_none()).map_or(0, |b| b.entry.line);
        sink.warning(
            line,
            0,
            format!(
                "{} of {} rows state no balance; the running balance is not checked",
                booked.len() - with_balance,
                booked.len()
            ),
        );
    } else if with_balance > 0 {
        let newest_first = booked.first().map(|b| b.entry.booking_date) > booked.last().map(|b| b.entry.booking_date);
        let order: Vec<&Booked> = if newest_first { booked.iter().rev().collect() } else { booked.iter().collect() };
        let exponent = statement.currency.exponent();
        let first = order[0];
        let mut previous = first.balance_minor.expect("every row has a balance");
        statement.opening_minor = Some(previous - first.entry.amount_minor);
        statement.opening_date.get_or_insert(first.entry.booking_date);
        for row in &order[1..] {
            let balance = row.balance_minor.expect("every row has a balance");
            let expected = previous + row.entry.amount_minor;
            if balance != expected {
                sink.warning(
                    row.entry.line,
                    0,
                    format!(
                        "the running balance breaks here: {} + {} = {}, but the row states {} (difference {} {})",
                        format_minor(previous, exponent),
                        format_minor(row.entry.amount_minor, exponent),
                        format_minor(expected, exponent),
                        format_minor(balance, exponent),
                        format_minor(balance - expected, exponent),
                        statement.currency
                    ),
                );
            }
            previous = balance;
        }
        statement.closing_minor = Some(previous);
        statement.closing_date.get_or_insert(order[order.len() - 1].entry.booking_date);
    }
    sink.out.statements.push(statement);
    sink.out.entries.extend(booked.into_iter().map(|b| b.entry));
}

/// Trims a cell of spaces and of the marks exports add to keep Excel from turning long
/// ids into numbers: a trailing TAB (Alipay), a leading backtick (WeChat Pay), a
/// leading apostrophe or `=` before a quoted text.
pub(crate) fn clean_cell(cell: &str) -> &str {
    let trimmed = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let trimmed = trimmed.strip_prefix('`').or_else(|| trimmed.strip_prefix('\'')).unwrap_or(trimmed);
    trimmed.trim()
}

pub(crate) fn check_size(file: &str, bytes: &[u8]) -> Result<(), Diagnostic> {
    if bytes.len() as u64 > limits::FILE_SIZE_BYTES_MAX {
        return Err(Diagnostic::error(
            file,
            0,
            0,
            format!("the file is larger than {} bytes, the most tieout reads", limits::FILE_SIZE_BYTES_MAX),
        ));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Diagnostic::error(file, 0, 0, "the file is empty"));
    }
    Ok(())
}

pub(crate) fn check_lines(file: &str, text: &str) -> Result<(), Diagnostic> {
    for (line, content) in crate::text::numbered_lines(text) {
        if content.len() > limits::LINE_LENGTH_BYTES_MAX {
            return Err(Diagnostic::error(
                file,
                line,
                0,
                format!(
                    "the line is {} bytes long; tieout reads lines up to {} bytes",
                    content.len(),
                    limits::LINE_LENGTH_BYTES_MAX
                ),
            ));
        }
    }
    Ok(())
}

/// Decodes `bytes` in `encoding`, never replacing a bad byte: the error names the line
/// and column of the first one.
pub(crate) fn decode<'b>(file: &str, bytes: &'b [u8], encoding: TextEncoding) -> Result<Cow<'b, str>, Diagnostic> {
    match encoding {
        TextEncoding::Utf8 => crate::text::decode_utf8(file, bytes).map(Cow::Borrowed),
        TextEncoding::Windows1252 => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            Ok(text)
        }
        TextEncoding::Gbk => decode_gbk(bytes).map_err(|(line, column)| {
            Diagnostic::error(
                file,
                line,
                column,
                "the file is not GBK text (is it UTF-8 or another encoding? check the profile's `source.encoding`)",
            )
        }),
    }
}

/// Decodes GBK without replacement; the error is the (line, column) of the first byte
/// that is not GBK.
pub(crate) fn decode_gbk(bytes: &[u8]) -> Result<Cow<'_, str>, (u32, u32)> {
    if let Some(text) = encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(text);
    }
    // Locate the first bad byte for the message.
    let mut decoder = encoding_rs::GBK.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 16);
    // `out` holds the text before the first bad byte.
    let _ = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    let line = out.matches('\n').count() as u32 + 1;
    let column = out.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) as u32 + 1;
    Err((line, column))
}

/// ISO-like forms read after a profile's own format.
const DATE_TIMES: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
];

/// A calendar date as written (a time of day, and an offset, are dropped: the files
/// these readers take write local time, Asia/Shanghai for the Chinese tools).
pub(crate) fn parse_date(text: &str, format: Option<&str>) -> Result<NaiveDate, String> {
    if text.is_empty() {
        return Err("empty date".to_owned());
    }
    parse_local_date(text, format, &PROFILE_DATE_FORMS)
}

const PROFILE_DATE_FORMS: DateForms = DateForms {
    dates: &["%Y-%m-%d", "%Y/%m/%d"],
    with_offset: &[],
    date_times: DATE_TIMES,
    examples: "2024-03-01 or 2024-03-01 09:15:00",
};

#[cfg(test)]
mod tests {
    use super::*;
    use tieout_core::diag::Severity;

    fn profile(text: &str) -> StatementProfile {
        parse_profile("profile.toml", text).unwrap_or_else(|error| panic!("{error}"))
    }

    /// One line per entry: `line date amount currency ref|reference|counterparty|description fee original`.
    fn show(file: &StatementFile) -> Vec<String> {
        file.entries
            .iter()
            .map(|e| {
                let mut text = format!(
                    "{} s{} {} {} {} {}|{}|{}|{}",
                    e.line,
                    e.statement,
                    e.booking_date,
                    format_minor(e.amount_minor, e.currency.exponent()),
                    e.currency,
                    e.entry_ref,
                    e.reference,
                    e.counterparty,
                    e.description
                );
                if let Some(fee) = e.fee_minor {
                    text.push_str(&format!(" fee={}", format_minor(fee, e.currency.exponent())));
                }
                if let Some(original) = e.original_amount {
                    text.push_str(&format!(" original={original}"));
                }
                text
            })
            .collect()
    }

    fn messages(file: &StatementFile) -> Vec<String> {
        file.diagnostics.iter().map(ToString::to_string).collect()
    }

    fn check(profile_text: &str, bytes: &[u8], expect_entries: &[&str], expect_diagnostics: &[&str]) -> StatementFile {
        let file = read_with_profile("in.csv", bytes, &profile(profile_text));
        assert_eq!(show(&file), expect_entries, "diagnostics: {:#?}", messages(&file));
        assert_eq!(messages(&file), expect_diagnostics);
        file
    }

    const PAYONEER_LIKE: &str = r#"
[source]
name = "payoneer"
date_format = "%m/%d/%Y"
account = "payoneer-usd"
[columns]
booking_date = ["Date", "Transaction Date"]
amount = "Amount"
currency = "Currency"
entry_ref = "Transaction ID"
description = "Description"
fee = "Fee"
balance = "Balance"
"#;

    #[test]
    fn payoneer_like_csv_with_balance() {
        let csv = "Transaction Date,Description,Amount,Currency,Fee,Transaction ID,Balance\n\
                   03/01/2026,Payment from Amazon,\"1,250.00\",USD,,T1,1250.00\n\
                   03/02/2026,Withdrawal to bank,-1000.00,USD,-3.00,T2,250.00\n\
                   \n\
                   03/05/2026,Card,-50.00,usd,,T3,200.00\n";
        let file = check(
            PAYONEER_LIKE,
            csv.as_bytes(),
            &[
                "2 s0 2026-03-01 1250.00 USD T1|||Payment from Amazon",
                "3 s0 2026-03-02 -1000.00 USD T2|||Withdrawal to bank fee=3.00",
                "5 s0 2026-03-05 -50.00 USD T3|||Card",
            ],
            &[],
        );
        let statement = &file.statements[0];
        assert_eq!((statement.opening_minor, statement.closing_minor), (Some(0), Some(20_000)));
        assert_eq!(statement.balance_difference_minor(), Some(0));
        assert_eq!((statement.entry_count, statement.entries_sum_minor), (3, 20_000));
        assert_eq!(statement.account, "payoneer-usd");
    }

    #[test]
    fn newest_first_balance_and_a_break() {
        let csv = "Date,Amount,Currency,Balance\n2026-03-03,-5.00,USD,95.00\n2026-03-02,10.00,USD,110.00\n2026-03-01,100.00,USD,100.00\n";
        let file = check(
            "[source]\n[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\ncurrency = \"Currency\"\nbalance = \"Balance\"\n",
            csv.as_bytes(),
            &["2 s0 2026-03-03 -5.00 USD |||", "3 s0 2026-03-02 10.00 USD |||", "4 s0 2026-03-01 100.00 USD |||"],
            &["in.csv:2: warning: the running balance breaks here: 110.00 + -5.00 = 105.00, but the row states 95.00 (difference -10.00 USD)"],
        );
        let statement = &file.statements[0];
        assert_eq!((statement.opening_minor, statement.closing_minor), (Some(0), Some(9_500)));
        assert_eq!(statement.balance_difference_minor(), Some(-1_000));
    }

    #[test]
    fn credit_and_debit_columns_semicolons_decimal_comma() {
        let profile_text = "[source]\ndelimiter = \";\"\nnumber_style = \"comma\"\ndate_format = \"%d.%m.%Y\"\ncurrency = \"EUR\"\n[columns]\nbooking_date = \"Buchungstag\"\ncredit = \"Haben\"\ndebit = \"Soll\"\ncounterparty = \"Empfänger\"\n";
        let csv = "Buchungstag;Empfänger;Soll;Haben\n01.03.2026;ACME;;1.234,56\n02.03.2026;Bank;-12,00;\n03.03.2026;X;;\n04.03.2026;Y;abc;\n";
        check(
            profile_text,
            csv.as_bytes(),
            &["2 s0 2026-03-01 1234.56 EUR ||ACME|", "3 s0 2026-03-02 -12.00 EUR ||Bank|"],
            &[
                "in.csv:4:4: error: column 'Haben': both the credit and the debit are empty",
                "in.csv:5:3: error: column 'Soll': 'abc' is not a number (unexpected 'a')",
            ],
        );
    }

    #[test]
    fn sign_column_gbk_preamble_and_footer() {
        let profile_text = r#"
[source]
name = "icbc"
encoding = "gbk"
header_contains = "交易日期"
footer_lines = 2
currency = "CNY"
[columns]
booking_date = "交易日期"
amount = "金额"
description = "摘要"
[sign]
column = "收/支"
credit = ["收入"]
debit = ["支出"]
"#;
        let text = "中国工商银行明细\n账号：6222\n交易日期,摘要,收/支,金额\n2026-03-01,货款,收入,100.00\n2026-03-02,手续费,支出,2.50\n2026-03-03,?,其他,1.00\n合计,,,\n导出时间：2026-03-04\n";
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        check(
            profile_text,
            &bytes,
            &["4 s0 2026-03-01 100.00 CNY |||货款", "5 s0 2026-03-02 -2.50 CNY |||手续费"],
            &["in.csv:6:3: error: column '收/支': '其他' is neither a credit (收入) nor a debit (支出) per `[sign]`"],
        );
        // The same bytes read as UTF-8 are refused with the position of the first bad byte.
        let utf8 = profile(&profile_text.replace("\"gbk\"", "\"utf-8\""));
        let file = read_with_profile("in.csv", &bytes, &utf8);
        assert_eq!(file.diagnostics.len(), 1);
        assert!(messages(&file)[0].starts_with("in.csv:1:1: error: the file is not UTF-8"), "{:?}", messages(&file));
    }

    #[test]
    fn preamble_lines_and_currency_conversion() {
        let profile_text = "[source]\npreamble_lines = 2\ncurrency = \"USD\"\n[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\noriginal_amount = \"Original Amount\"\noriginal_currency = \"Original Currency\"\nreference = \"Ref\"\n";
        let csv = "Account statement\nPeriod: March\nDate,Amount,Original Amount,Original Currency,Ref\n2026-03-01T10:00:00+08:00,108.00,100.00,EUR,PO-1\n2026-03-02,50.00,,,PO-2\n2026-03-03,5.00,500,JPY,PO-3\n2026-03-04,5.00,1.5,JPY,PO-4\n";
        check(
            profile_text,
            csv.as_bytes(),
            &[
                "4 s0 2026-03-01 108.00 USD |PO-1|| original=100.00 EUR",
                "5 s0 2026-03-02 50.00 USD |PO-2||",
                "6 s0 2026-03-03 5.00 USD |PO-3|| original=500 JPY",
            ],
            &["in.csv:7:3: error: column 'Original Amount': '1.5' has more decimal places than 0, the currency's"],
        );
    }

    #[test]
    fn several_currencies_give_several_statements() {
        let csv = "Date,Amount,Currency\n2026-03-01,1.00,USD\n2026-03-01,2.00,EUR\n2026-03-02,3.00,USD\n";
        let file = check(
            "[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\ncurrency = \"Currency\"\n",
            csv.as_bytes(),
            &["2 s0 2026-03-01 1.00 USD |||", "4 s0 2026-03-02 3.00 USD |||", "3 s1 2026-03-01 2.00 EUR |||"],
            &[],
        );
        assert_eq!(file.statements.len(), 2);
        assert_eq!((file.statements[0].currency, file.statements[0].entries_sum_minor), (Currency::USD, 400));
        assert_eq!((file.statements[1].currency, file.statements[1].entries_sum_minor), (Currency::EUR, 200));
    }

    #[test]
    fn bad_values_name_line_column_and_header() {
        let csv = "Date,Amount\n2026-02-30,1.00\nyesterday,1.234\n2026-03-01,1\n2026-03-02\n";
        check(
            "[source]\ncurrency = \"USD\"\n[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\n",
            csv.as_bytes(),
            &["4 s0 2026-03-01 1.00 USD |||"],
            &[
                "in.csv:2:1: error: column 'Date': '2026-02-30' is not a calendar date (no such day or month)",
                "in.csv:3:1: error: column 'Date': 'yesterday' is not a date (expected ISO 8601, e.g. 2024-03-01 or 2024-03-01 09:15:00)",
                "in.csv:3:2: error: column 'Amount': '1.234' has more decimal places than 2, the currency's",
                "in.csv:5:2: error: this line has 1 fields, the header has 2",
            ],
        );
    }

    #[test]
    fn missing_header_names_aliases_and_headers_found() {
        let file = read_with_profile("in.csv", b"When,Amount\n2026-03-01,1\n", &profile(PAYONEER_LIKE));
        assert_eq!(
            messages(&file),
            ["in.csv:1: error: the header lacks `columns.booking_date` ('Date' or 'Transaction Date'), `columns.currency` ('Currency'), `columns.entry_ref` ('Transaction ID'), `columns.description` ('Description'), `columns.fee` ('Fee'), `columns.balance` ('Balance'); headers found: 'When', 'Amount'"]
        );
    }

    #[test]
    fn stops_at_the_diagnostics_limit() {
        let mut csv = String::from("Date,Amount\n");
        for _ in 0..500 {
            csv.push_str("bad,1.00\n");
        }
        let file = read_with_profile(
            "in.csv",
            csv.as_bytes(),
            &profile("[source]\ncurrency = \"USD\"\n[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\n"),
        );
        assert_eq!(file.diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        assert!(file.diagnostics.last().unwrap().message.starts_with("stopped reading"));
    }

    fn check_profile_error(text: &str, expect: &str) {
        match parse_profile("p.toml", text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(error) => assert_eq!(error.to_string(), expect),
        }
    }

    #[test]
    fn profile_errors_name_the_key() {
        check_profile_error(
            "[source]\ncurency = \"USD\"\n[columns]\nbooking_date = \"D\"\namount = \"A\"\n",
            "p.toml:2:1: error: `source.curency`: unknown field `curency`, expected one of `name`, `format`, `sheet`, `encoding`, `delimiter`, `preamble_lines`, `header_contains`, `footer_lines`, `number_style`, `date_format`, `currency`, `account`",
        );
        check_profile_error(
            "[source]\nencoding = \"latin-9\"\ncurrency = \"USD\"\n[columns]\nbooking_date = \"D\"\namount = \"A\"\n",
            "p.toml:2:12: error: `source.encoding`: 'latin-9' is not one of \"utf-8\", \"gbk\", \"windows-1252\"",
        );
        check_profile_error(
            "[source]\ncurrency = \"USD\"\n[columns]\nbooking_date = \"D\"\namount = \"A\"\ncredit = \"C\"\n",
            "p.toml:5:10: error: `columns.amount`: give either `amount` or `credit` + `debit`, not both",
        );
        check_profile_error(
            "[columns]\nbooking_date = \"D\"\namount = \"A\"\n",
            "p.toml:1:1: error: `source.currency`: a currency is required: `source.currency` or `columns.currency`",
        );
        check_profile_error(
            "[source]\ncurrency = \"XXX\"\n[columns]\nbooking_date = \"D\"\namount = \"A\"\n",
            "p.toml:2:12: error: `source.currency`: unknown currency code 'XXX'",
        );
        check_profile_error(
            "[source]\ncurrency = \"USD\"\n[columns]\nbooking_date = \"D\"\ncredit = \"C\"\ndebit = \"D\"\n[sign]\ncolumn = \"T\"\ncredit = [\"in\"]\ndebit = [\"out\"]\n",
            "p.toml:8:10: error: `sign.column`: `[sign]` is for one unsigned `amount` column, not `credit` + `debit`",
        );
        check_profile_error(
            "[source]\ncurrency = \"USD\"\npreamble_lines = -1\n[columns]\nbooking_date = \"D\"\namount = \"A\"\n",
            "p.toml:3:18: error: `source.preamble_lines`: -1 is not a line count (0 or more)",
        );
    }

    #[test]
    fn builtin_profiles_parse_and_read() {
        let builtins = builtin_profiles();
        let names: Vec<&str> = builtins.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["payoneer", "airwallex"]);
        let payoneer = &builtins[0].1;
        let csv = "Date,Description,Amount,Currency,Status,Transaction ID\n2026-03-01,Payment from Amazon,100.00,USD,Completed,P1\n";
        let file = read_with_profile("p.csv", csv.as_bytes(), payoneer);
        assert_eq!(show(&file), ["2 s0 2026-03-01 100.00 USD P1|||Payment from Amazon"]);
        let airwallex = &builtins[1].1;
        let csv = "id,amount,currency,fee,net,source_id,source_type,status,created_at,settled_at,batch_id\nA1,100.00,USD,1.20,98.80,S1,PAYMENT,SETTLED,2026-03-01T10:00:00Z,2026-03-02T00:00:00Z,B1\n";
        let file = read_with_profile("a.csv", csv.as_bytes(), airwallex);
        assert_eq!(show(&file), ["2 s0 2026-03-02 100.00 USD A1|S1||PAYMENT fee=1.20"]);
        assert!(!file.diagnostics.iter().any(|d| d.severity == Severity::Error));
    }

    // -- XLSX -----------------------------------------------------------------------------

    /// A workbook with a "Summary" sheet first and the statement on "Transactions".
    fn workbook(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        workbook.add_worksheet().set_name("Summary").unwrap().write_string(0, 0, "not this sheet").unwrap();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Transactions").unwrap();
        build(sheet);
        workbook.save_to_buffer().unwrap()
    }

    const PAYONEER_XLSX: &str = r#"
[source]
name = "payoneer"
sheet = "transactions"
header_contains = "Transaction ID"
footer_lines = 3
account = "payoneer-usd"
[columns]
booking_date = "Date"
amount = "Amount"
currency = "Currency"
entry_ref = "Transaction ID"
description = "Description"
original_amount = "Original Amount"
original_currency = "Original Currency"
"#;

    fn header(sheet: &mut rust_xlsxwriter::Worksheet, row: u32, names: &[&str]) {
        for (column, name) in names.iter().enumerate() {
            sheet.write_string(row, column as u16, *name).unwrap();
        }
    }

    #[test]
    fn payoneer_like_xlsx() {
        let date_format = rust_xlsxwriter::Format::new().set_num_format("mm/dd/yyyy");
        let date = |y, m, d| rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d).unwrap();
        let bytes = workbook(|sheet| {
            sheet.write_string(0, 0, "Payoneer account statement, March 2026").unwrap();
            header(
                sheet,
                2,
                &[
                    "Date",
                    "Description",
                    "Amount",
                    "Currency",
                    "Original Amount",
                    "Original Currency",
                    "Transaction ID",
                ],
            );
            sheet.write_date_with_format(3, 0, date(2026, 3, 1), &date_format).unwrap();
            sheet.write_string(3, 1, "Payment from Amazon").unwrap();
            sheet.write_number(3, 2, 1250.0).unwrap();
            sheet.write_string(3, 3, "USD").unwrap();
            sheet.write_number(3, 6, 1001.0).unwrap();
            sheet.write_date_with_format(4, 0, date(2026, 3, 2), &date_format).unwrap();
            sheet.write_string(4, 1, "Withdrawal to bank").unwrap();
            sheet.write_number(4, 2, -1000.0).unwrap();
            sheet.write_string(4, 3, "USD").unwrap();
            sheet.write_string(4, 6, "T2").unwrap();
            // Row 7 (row 6 empty): a date serial without a date format, a converted payment.
            sheet.write_number(6, 0, 46084.0).unwrap();
            sheet.write_string(6, 1, "Payment EUR").unwrap();
            sheet.write_number(6, 2, 108.0).unwrap();
            sheet.write_string(6, 3, "USD").unwrap();
            sheet.write_number(6, 4, 100.0).unwrap();
            sheet.write_string(6, 5, "EUR").unwrap();
            sheet.write_string(6, 6, "T3").unwrap();
            // A float sum and a text date and amount.
            sheet.write_string(7, 0, "2026-03-04").unwrap();
            sheet.write_number(7, 2, 0.1 + 0.2).unwrap();
            sheet.write_string(7, 3, "USD").unwrap();
            sheet.write_string(7, 6, "T4").unwrap();
            sheet.write_string(8, 0, "2026-03-05").unwrap();
            sheet.write_string(8, 2, "-1,000.50").unwrap();
            sheet.write_string(8, 3, "USD").unwrap();
            sheet.write_string(8, 6, "T5").unwrap();
            // The totals footer: skipped (a label, and an amount without a date).
            sheet.write_string(9, 0, "Total").unwrap();
            sheet.write_formula(9, 2, rust_xlsxwriter::Formula::new("=SUM(C4:C9)").set_result("-642.2")).unwrap();
            sheet.write_formula(10, 2, rust_xlsxwriter::Formula::new("=C10").set_result("-642.2")).unwrap();
        });
        let file = read_with_profile("payoneer.xlsx", &bytes, &profile(PAYONEER_XLSX));
        assert_eq!(
            show(&file),
            [
                "4 s0 2026-03-01 1250.00 USD 1001|||Payment from Amazon",
                "5 s0 2026-03-02 -1000.00 USD T2|||Withdrawal to bank",
                "7 s0 2026-03-03 108.00 USD T3|||Payment EUR original=100.00 EUR",
                "8 s0 2026-03-04 0.30 USD T4|||",
                "9 s0 2026-03-05 -1000.50 USD T5|||",
            ],
            "diagnostics: {:#?}",
            messages(&file)
        );
        assert_eq!(messages(&file), Vec::<String>::new());
        let statement = &file.statements[0];
        assert_eq!(
            (statement.entry_count, statement.entries_sum_minor, statement.currency),
            (5, -64_220, Currency::USD)
        );
        assert_eq!(statement.account, "payoneer-usd");
        // The same profile with `format = "xlsx"` and the first sheet by default.
        let first = profile(&PAYONEER_XLSX.replace("sheet = \"transactions\"", "format = \"xlsx\""));
        let file = read_with_profile("payoneer.xlsx", &bytes, &first);
        assert_eq!(
            messages(&file),
            ["payoneer.xlsx: error: no header: no row of sheet 'Summary' contains 'Transaction ID' (`source.header_contains`)"]
        );
    }

    #[test]
    fn xlsx_preamble_rows_and_a_totals_row_in_the_middle() {
        let bytes = workbook(|sheet| {
            sheet.write_string(0, 0, "Statement").unwrap();
            header(sheet, 1, &["Date", "Amount"]);
            sheet.write_string(2, 0, "2026-03-01").unwrap();
            sheet.write_number(2, 1, 5.0).unwrap();
            sheet.write_string(3, 0, "Subtotal").unwrap();
            sheet.write_number(3, 1, 5.0).unwrap();
            sheet.write_string(4, 0, "2026-03-02").unwrap();
            sheet.write_number(4, 1, 7.0).unwrap();
        });
        let text = "[source]\npreamble_lines = 1\ncurrency = \"EUR\"\n[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\n";
        let file = read_with_profile(
            "s.xlsx",
            &bytes,
            &profile(&text.replace("[source]", "[source]\nsheet = \"Transactions\"")),
        );
        assert_eq!(show(&file), ["3 s0 2026-03-01 5.00 EUR |||", "5 s0 2026-03-02 7.00 EUR |||"]);
        // A totals-like row followed by a regular row is read, and fails visibly.
        assert_eq!(
            messages(&file),
            ["s.xlsx:4:1: error: column 'Date': 'Subtotal' is not a date (expected ISO 8601, e.g. 2024-03-01 or 2024-03-01 09:15:00)"]
        );
        // The header row is empty: row 2 of the first sheet.
        let file = read_with_profile("s.xlsx", &bytes, &profile(text));
        assert_eq!(messages(&file), ["s.xlsx: error: no header: row 2 (after `source.preamble_lines` = 1) of sheet 'Summary' is empty or missing"]);
    }

    #[test]
    fn xlsx_bad_cells_name_row_column_and_header() {
        let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let bytes = workbook(|sheet| {
            header(sheet, 0, &["Date", "Description", "Amount", "Currency"]);
            sheet.write_number(1, 0, -3.0).unwrap();
            sheet.write_number(1, 2, 1.0).unwrap();
            sheet.write_string(1, 3, "USD").unwrap();
            sheet.write_string(2, 0, "2026-02-30").unwrap();
            sheet.write_string(2, 2, "n/a").unwrap();
            sheet.write_string(2, 3, "USD").unwrap();
            sheet.write_boolean(3, 0, true).unwrap();
            sheet.write_number(3, 2, 12.345).unwrap();
            sheet.write_string(3, 3, "USD").unwrap();
            let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 3, 1).unwrap();
            sheet.write_date_with_format(4, 0, &date, &date_format).unwrap();
            sheet.write_date_with_format(4, 2, &date, &date_format).unwrap();
            sheet.write_string(4, 3, "USD").unwrap();
            // A number where a currency code is expected is its text.
            sheet.write_date_with_format(5, 0, &date, &date_format).unwrap();
            sheet.write_number(5, 2, 1.0).unwrap();
            sheet.write_number(5, 3, 840.0).unwrap();
        });
        let text = "[source]\nsheet = \"Transactions\"\n[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\ncurrency = \"Currency\"\ndescription = \"Description\"\n";
        let file = read_with_profile("s.xlsx", &bytes, &profile(text));
        assert!(file.entries.is_empty());
        let found: Vec<(u32, u32, &str)> =
            file.diagnostics.iter().map(|d| (d.line, d.column, d.column_name.as_deref().unwrap_or(""))).collect();
        assert_eq!(
            found,
            [
                (2, 1, "Date"),
                (3, 1, "Date"),
                (3, 3, "Amount"),
                (4, 1, "Date"),
                (4, 3, "Amount"),
                (5, 3, "Amount"),
                (6, 4, "Currency")
            ]
        );
        assert_eq!(
            messages(&file),
            [
                "s.xlsx:2:1: error: column 'Date': the number -3 is not a date (an Excel date serial is 1 to 2958465)",
                "s.xlsx:3:1: error: column 'Date': '2026-02-30' is not a calendar date (no such day or month)",
                "s.xlsx:3:3: error: column 'Amount': 'n/a' is not a number (unexpected 'n')",
                "s.xlsx:4:1: error: column 'Date': TRUE/FALSE where a date was expected",
                "s.xlsx:4:3: error: column 'Amount': '12.345' has more decimal places than 2, the currency's",
                "s.xlsx:5:3: error: column 'Amount': a date where an amount was expected",
                "s.xlsx:6:4: error: column 'Currency': unknown currency code '840'",
            ]
        );
    }

    #[test]
    fn xlsx_format_contradictions_and_missing_sheet() {
        let columns = "[columns]\nbooking_date = \"Date\"\namount = \"Amount\"\n";
        let xlsx = profile(&format!("[source]\nformat = \"xlsx\"\ncurrency = \"USD\"\n{columns}"));
        let file = read_with_profile("in.csv", b"Date,Amount\n2026-03-01,1.00\n", &xlsx);
        assert_eq!(
            messages(&file),
            ["in.csv: error: the profile says `source.format = \"xlsx\"`, but this file is not an XLSX workbook (no zip signature `PK`); is it a CSV file?"]
        );
        let bytes = workbook(|sheet| header(sheet, 0, &["Date", "Amount"]));
        let csv = profile(&format!("[source]\nformat = \"csv\"\ncurrency = \"USD\"\n{columns}"));
        let file = read_with_profile("in.xlsx", &bytes, &csv);
        assert!(messages(&file)[0]
            .contains("this file is an XLSX workbook, but the profile says `source.format = \"csv\"`"));
        let missing = profile(&format!("[source]\nsheet = \"Umsätze\"\ncurrency = \"USD\"\n{columns}"));
        let file = read_with_profile("in.xlsx", &bytes, &missing);
        assert_eq!(
            messages(&file),
            ["in.xlsx: error: no sheet 'Umsätze' (`source.sheet`); the workbook has: Summary, Transactions"]
        );
        let file = read_with_profile("in.xlsx", b"PK\x03\x04junk", &xlsx);
        assert!(
            messages(&file)[0].starts_with("in.xlsx: error: not a readable XLSX workbook"),
            "{:?}",
            messages(&file)
        );
        let file = read_with_profile("in.xls", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest", &csv);
        assert!(messages(&file)[0].contains("legacy Excel .xls"));
        check_profile_error(
            &format!("[source]\nformat = \"ods\"\ncurrency = \"USD\"\n{columns}"),
            "p.toml:2:10: error: `source.format`: 'ods' is not one of \"csv\", \"xlsx\"",
        );
        check_profile_error(
            &format!("[source]\nformat = \"csv\"\nsheet = \"S\"\ncurrency = \"USD\"\n{columns}"),
            "p.toml:3:9: error: `source.sheet`: is for XLSX workbooks, and `source.format` is \"csv\"",
        );
    }
}
