//! Statement profiles: the user's way to onboard any tabular statement (Payoneer,
//! PingPong, LianLian, Airwallex, a bank's CSV) without code. A small TOML file says how
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
//! encoding = "utf-8"             # "utf-8" (default) | "gbk" | "windows-1252"
//! delimiter = ","                # one ASCII character; default ","
//! preamble_lines = 0             # lines before the header, OR:
//! # header_contains = "Transaction ID"   # the header is the first line containing this
//! footer_lines = 0               # trailing lines to ignore (totals)
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

use std::borrow::Cow;
use std::fmt;

use chrono::format::ParseErrorKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use tieout_core::limits;
use tieout_core::money::{format_minor, parse_amount_minor, Currency, Money};
use tieout_core::statement::{Statement, StatementEntry, StatementFile};
use tieout_core::{Diagnostic, NumberStyle};
use toml::Spanned;

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
    let raw: RawProfile = toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        let message = match key_at(text, offset) {
            Some(key) => format!("`{key}`: {}", error.message().trim_end()),
            None => error.message().trim_end().to_owned(),
        };
        Diagnostic::error(file_name, line, column, message)
    })?;
    Validator { file_name, text }.profile(raw)
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

/// One header name or a list of aliases.
#[derive(Deserialize)]
#[serde(untagged)]
enum Aliases {
    One(String),
    Many(Vec<String>),
}

struct Validator<'a> {
    file_name: &'a str,
    text: &'a str,
}

impl Validator<'_> {
    fn error<T>(&self, span: std::ops::Range<usize>, key: &str, message: impl fmt::Display) -> Result<T, Diagnostic> {
        let (line, column) = line_column(self.text, span.start);
        Err(Diagnostic::error(self.file_name, line, column, format!("`{key}`: {message}")))
    }

    fn aliases(&self, value: Spanned<Aliases>, key: &str) -> Result<Vec<String>, Diagnostic> {
        let span = value.span();
        let list = match value.into_inner() {
            Aliases::One(one) => vec![one],
            Aliases::Many(many) => many,
        };
        if list.is_empty() {
            return self.error(span, key, "the list of header names is empty");
        }
        if list.iter().any(|name| name.trim().is_empty()) {
            return self.error(span, key, "a header name is empty");
        }
        Ok(list.into_iter().map(|name| name.trim().to_owned()).collect())
    }

    fn optional(&self, value: Option<Spanned<Aliases>>, key: &str) -> Result<Vec<String>, Diagnostic> {
        value.map_or(Ok(Vec::new()), |value| self.aliases(value, key))
    }

    fn count(&self, value: Option<Spanned<i64>>, key: &str) -> Result<u32, Diagnostic> {
        match value {
            None => Ok(0),
            Some(value) => match u32::try_from(*value.get_ref()) {
                Ok(count) if count < limits::FILE_ROWS_MAX => Ok(count),
                _ => self.error(value.span(), key, format!("{} is not a line count (0 or more)", value.get_ref())),
            },
        }
    }

    fn profile(&self, raw: RawProfile) -> Result<StatementProfile, Diagnostic> {
        let source = raw.source;
        let name = match source.name {
            Some(name) if name.get_ref().trim().is_empty() => {
                return self.error(name.span(), "source.name", "is empty")
            }
            Some(name) => name.into_inner().trim().to_owned(),
            None => self.file_name.to_owned(),
        };
        let encoding = match source.encoding {
            None => TextEncoding::Utf8,
            Some(value) => match value.get_ref().trim().to_ascii_lowercase().as_str() {
                "utf-8" | "utf8" => TextEncoding::Utf8,
                "gbk" | "gb2312" | "gb18030" => TextEncoding::Gbk,
                "windows-1252" | "cp1252" | "latin-1" | "latin1" | "iso-8859-1" => TextEncoding::Windows1252,
                other => {
                    return self.error(
                        value.span(),
                        "source.encoding",
                        format!("'{other}' is not one of \"utf-8\", \"gbk\", \"windows-1252\""),
                    )
                }
            },
        };
        let delimiter = match source.delimiter {
            None => b',',
            Some(value) => {
                let mut chars = value.get_ref().chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => c as u8,
                    _ => {
                        return self.error(
                            value.span(),
                            "source.delimiter",
                            format!(
                                "'{}' is not one ASCII character other than a quote or line break (e.g. \",\", \";\", \"\\t\")",
                                value.get_ref().escape_debug()
                            ),
                        )
                    }
                }
            }
        };
        let header = match (source.preamble_lines, source.header_contains) {
            (Some(lines), Some(_)) => {
                return self.error(
                    lines.span(),
                    "source.preamble_lines",
                    "give either `source.preamble_lines` or `source.header_contains`, not both",
                )
            }
            (None, Some(text)) if text.get_ref().trim().is_empty() => {
                return self.error(text.span(), "source.header_contains", "is empty")
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
                    return self.error(
                        value.span(),
                        "source.number_style",
                        format!("'{other}' is not one of \"dot\", \"comma\", \"per-value\""),
                    )
                }
            },
        };
        let date_format = match source.date_format {
            Some(value) if value.get_ref().trim().is_empty() => {
                return self.error(value.span(), "source.date_format", "is empty")
            }
            Some(value) => {
                let format = value.get_ref().trim().to_owned();
                if chrono::format::StrftimeItems::new(&format).any(|item| item == chrono::format::Item::Error) {
                    return self.error(
                        value.span(),
                        "source.date_format",
                        format!("'{format}' is not a chrono strftime format"),
                    );
                }
                Some(format)
            }
            None => None,
        };
        let currency = match source.currency {
            Some(value) => match Currency::from_code(value.get_ref()) {
                Ok(currency) => Some(currency),
                Err(error) => return self.error(value.span(), "source.currency", error),
            },
            None => None,
        };
        let account = source.account.map(|value| value.into_inner().trim().to_owned()).unwrap_or_default();

        let columns = raw.columns;
        let amount = match (columns.amount, columns.credit, columns.debit) {
            (Some(amount), None, None) => ProfileAmount::Signed(self.aliases(amount, "columns.amount")?),
            (None, Some(credit), Some(debit)) => ProfileAmount::CreditDebit {
                credit: self.aliases(credit, "columns.credit")?,
                debit: self.aliases(debit, "columns.debit")?,
            },
            (Some(amount), _, _) => {
                return self.error(
                    amount.span(),
                    "columns.amount",
                    "give either `amount` or `credit` + `debit`, not both",
                )
            }
            (None, Some(only), None) => return self.error(only.span(), "columns.credit", "`credit` needs `debit` too"),
            (None, None, Some(only)) => return self.error(only.span(), "columns.debit", "`debit` needs `credit` too"),
            (None, None, None) => {
                return self.error(0..0, "columns", "an amount is required: `amount`, or `credit` and `debit`")
            }
        };
        let currency_columns = self.optional(columns.currency, "columns.currency")?;
        if currency.is_none() && currency_columns.is_empty() {
            return self.error(
                0..0,
                "source.currency",
                "a currency is required: `source.currency` or `columns.currency`",
            );
        }
        let original_amount = self.optional(columns.original_amount, "columns.original_amount")?;
        let original_currency = self.optional(columns.original_currency, "columns.original_currency")?;
        if !original_amount.is_empty() && original_currency.is_empty() {
            return self.error(
                0..0,
                "columns.original_currency",
                "`columns.original_amount` needs `columns.original_currency`",
            );
        }
        let sign = match raw.sign {
            None => None,
            Some(sign) => {
                if matches!(amount, ProfileAmount::CreditDebit { .. }) {
                    return self.error(
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

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    (line as u32, column as u32)
}

/// The dotted key (`source.encoding`) written at a byte offset of a TOML text.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |at| offset + at);
    let line = text[line_start..line_end].trim();
    let table_of = |header: &str| header.trim().trim_start_matches('[').trim_end_matches(']').trim().to_owned();
    if line.starts_with('[') {
        return Some(table_of(line));
    }
    let table = text[..line_start].lines().rev().map(str::trim).find(|l| l.starts_with('[')).map(table_of);
    let key = line.split_once('=').map(|(key, _)| key.trim().to_owned()).filter(|key| !key.is_empty());
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table}.{key}")),
        (None, Some(key)) => Some(key),
        (Some(table), None) => Some(table),
        (None, None) => None,
    }
}

// ---------------------------------------------------------------------------------------
// Reading a file with a profile.

/// Reads a tabular statement with a profile.
pub fn read_with_profile(file_name: &str, bytes: &[u8], profile: &StatementProfile) -> StatementFile {
    let mut sink = Sink::new(file_name);
    if let Err(diagnostic) = check_size(file_name, bytes) {
        sink.report(diagnostic);
        return sink.out;
    }
    let text = match decode(file_name, bytes, profile.encoding) {
        Ok(text) => text,
        Err(diagnostic) => {
            sink.report(diagnostic);
            return sink.out;
        }
    };
    if let Err(diagnostic) = check_lines(file_name, &text) {
        sink.report(diagnostic);
        return sink.out;
    }
    ProfileReader { profile, sink }.read(&text)
}

struct ProfileReader<'a> {
    profile: &'a StatementProfile,
    sink: Sink<'a>,
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
    fn read(mut self, text: &str) -> StatementFile {
        let lines: Vec<(u32, &str)> = crate::text::numbered_lines(text).collect();
        let mut end = lines.len();
        while end > 0 && lines[end - 1].1.trim().is_empty() {
            end -= 1;
        }
        let footer = self.profile.footer_lines as usize;
        if footer > end {
            self.sink.error(0, 0, format!("the file has {end} lines, fewer than `source.footer_lines` ({footer})"));
            return self.sink.out;
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
                    return self.sink.out;
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
                        return self.sink.out;
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
                        match self.layout(line, &record) {
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

    fn layout(&mut self, line: u32, record: &csv::StringRecord) -> Option<Layout> {
        let header: Vec<String> =
            record.iter().map(|cell| cell.trim_start_matches('\u{feff}').trim().to_owned()).collect();
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

    fn row(&mut self, line: u32, layout: &Layout, record: &csv::StringRecord) -> Option<Row> {
        let profile = self.profile;
        let cell = |index: usize| clean_cell(record.get(index).unwrap_or(""));
        let errors_before = self.sink.out.diagnostics.len();
        let fail = |sink: &mut Sink, index: usize, message: String| {
            sink.cell_error(line, index, &layout.header[index], message);
        };
        let currency = match layout.currency.map(cell).filter(|text| !text.is_empty()) {
            Some(code) => match Currency::from_code(code) {
                Ok(currency) => Some(currency),
                Err(error) => {
                    fail(&mut self.sink, layout.currency.expect("mapped"), error.to_string());
                    None
                }
            },
            None if profile.currency.is_some() => profile.currency,
            None => {
                fail(
                    &mut self.sink,
                    layout.currency.expect("mapped when no constant"),
                    "empty currency (and no `source.currency`)".to_owned(),
                );
                None
            }
        };
        let booking_date = match parse_date(cell(layout.booking_date), profile.date_format.as_deref()) {
            Ok(date) => Some(date),
            Err(message) => {
                fail(&mut self.sink, layout.booking_date, message);
                None
            }
        };
        let value_date = match layout.value_date {
            Some(index) if !cell(index).is_empty() => match parse_date(cell(index), profile.date_format.as_deref()) {
                Ok(date) => Some(date),
                Err(message) => {
                    fail(&mut self.sink, index, message);
                    None
                }
            },
            _ => None,
        };
        let currency = currency?;
        let exponent = currency.exponent();
        let style = profile.number_style;
        let mut amount_minor: Option<i64> = None;
        if let Some(index) = layout.amount {
            match parse_amount_minor(cell(index), style, exponent) {
                Ok(value) => amount_minor = Some(value),
                Err(error) => fail(&mut self.sink, index, error.to_string()),
            }
            if let (Some(value), Some(sign_index), Some(rule)) = (amount_minor, layout.sign, &profile.sign) {
                let direction = cell(sign_index).to_lowercase();
                if rule.credit.iter().any(|c| c.to_lowercase() == direction) {
                    amount_minor = Some(value.abs());
                } else if rule.debit.iter().any(|d| d.to_lowercase() == direction) {
                    amount_minor = Some(-value.abs());
                } else {
                    amount_minor = None;
                    fail(
                        &mut self.sink,
                        sign_index,
                        format!(
                            "'{}' is neither a credit ({}) nor a debit ({}) per `[sign]`",
                            cell(sign_index),
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
                match parse_amount_minor(cell(index), style, exponent) {
                    Ok(value) => Some(value),
                    Err(error) => {
                        sink.cell_error(line, index, &layout.header[index], error.to_string());
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
            Some(index) if !cell(index).is_empty() => match parse_amount_minor(cell(index), style, exponent) {
                Ok(value) => Some(value.abs()),
                Err(error) => {
                    fail(&mut self.sink, index, error.to_string());
                    None
                }
            },
            _ => None,
        };
        let balance = match layout.balance {
            Some(index) if !cell(index).is_empty() => match parse_amount_minor(cell(index), style, exponent) {
                Ok(value) => Some(value),
                Err(error) => {
                    fail(&mut self.sink, index, error.to_string());
                    None
                }
            },
            _ => None,
        };
        let original_amount = match layout.original {
            Some((amount_index, currency_index))
                if !(cell(amount_index).is_empty() && cell(currency_index).is_empty()) =>
            {
                match Currency::from_code(cell(currency_index)) {
                    Err(error) => {
                        fail(&mut self.sink, currency_index, error.to_string());
                        None
                    }
                    Ok(original) => match parse_amount_minor(cell(amount_index), style, original.exponent()) {
                        Ok(value) => Some(Money::new(value, original)),
                        Err(error) => {
                            fail(&mut self.sink, amount_index, error.to_string());
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
        let text = |index: Option<usize>| index.map(|i| cell(i).to_owned()).unwrap_or_default();
        Some(Row {
            entry: StatementEntry {
                statement: 0,
                line,
                booking_date: booking_date?,
                value_date,
                amount_minor: amount_minor?,
                currency,
                entry_ref: text(layout.entry_ref),
                reference: text(layout.reference),
                counterparty: text(layout.counterparty),
                description: text(layout.description),
                original_amount,
                fee_minor,
                reversal: false,
            },
            balance,
        })
    }
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
    let mut out_of_range = false;
    let mut note = |kind: ParseErrorKind| out_of_range |= kind == ParseErrorKind::OutOfRange;
    if let Some(format) = format {
        match NaiveDate::parse_from_str(text, format) {
            Ok(date) => return Ok(date),
            Err(error) => note(error.kind()),
        }
        match NaiveDateTime::parse_from_str(text, format) {
            Ok(date_time) => return Ok(date_time.date()),
            Err(error) => note(error.kind()),
        }
        match DateTime::parse_from_str(text, format) {
            Ok(date_time) => return Ok(date_time.date_naive()),
            Err(error) => note(error.kind()),
        }
    }
    for pattern in ["%Y-%m-%d", "%Y/%m/%d"] {
        match NaiveDate::parse_from_str(text, pattern) {
            Ok(date) => return Ok(date),
            Err(error) => note(error.kind()),
        }
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(date_time) => return Ok(date_time.date_naive()),
        Err(error) => note(error.kind()),
    }
    for pattern in DATE_TIMES {
        match NaiveDateTime::parse_from_str(text, pattern) {
            Ok(date_time) => return Ok(date_time.date()),
            Err(error) => note(error.kind()),
        }
    }
    if out_of_range {
        return Err(format!("'{text}' is not a calendar date (no such day or month)"));
    }
    let expected = match format {
        Some(format) => format!("{format} or ISO 8601"),
        None => "ISO 8601".to_owned(),
    };
    Err(format!("'{text}' is not a date (expected {expected}, e.g. 2024-03-01 or 2024-03-01 09:15:00)"))
}

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
            "p.toml:2:1: error: `source.curency`: unknown field `curency`, expected one of `name`, `encoding`, `delimiter`, `preamble_lines`, `header_contains`, `footer_lines`, `number_style`, `date_format`, `currency`, `account`",
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
}
