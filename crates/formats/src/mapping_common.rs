//! What the two kinds of mapping file share, the order export's ([`crate::mapping`], read
//! by [`crate::orders`]) and the counterparty documents' ([`crate::ledger_mapping`], read
//! by [`crate::ledger`]): the checks of the `[source]` keys they have in common, with
//! errors that name the key at its line and column (statement profiles,
//! [`crate::statement_profile`], use some of them too), and the first steps of reading
//! the CSV or XLSX file a mapping describes.

use std::fmt;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Deserialize;
use tieout_core::limits;
use tieout_core::money::Currency;
use tieout_core::{Diagnostic, NumberStyle};
use toml::Spanned;

use crate::mapping::FileKind;
use crate::statement_profile::TextEncoding;
use crate::toml_position::line_column;
use crate::xlsx::{text_of, Raw, XLSX_SIGNATURE, XLS_SIGNATURE};

// ---------------------------------------------------------------------------------------
// The mapping file.

/// `source.format` as written.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawFormat {
    Csv,
    Xlsx,
}

/// The container `source.format` names; `None`: not given (detected from the content).
pub(crate) fn file_kind(format: &Option<Spanned<RawFormat>>) -> Option<FileKind> {
    format.as_ref().map(|format| match format.get_ref() {
        RawFormat::Csv => FileKind::Csv,
        RawFormat::Xlsx => FileKind::Xlsx,
    })
}

/// `source.number_style` as written.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawNumberStyle {
    Dot,
    Comma,
    PerValue,
}

/// The number style `source.number_style` names; the default is "dot".
pub(crate) fn number_style(raw: Option<RawNumberStyle>) -> NumberStyle {
    match raw {
        None | Some(RawNumberStyle::Dot) => NumberStyle::Dot,
        Some(RawNumberStyle::Comma) => NumberStyle::Comma,
        Some(RawNumberStyle::PerValue) => NumberStyle::PerValue,
    }
}

/// One header name or a list of aliases.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Aliases {
    One(String),
    Many(Vec<String>),
}

/// A mapping (or profile) file being validated: each check returns the value, or an
/// error naming the key with its line and column in the file.
pub(crate) struct ConfigFile<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
}

impl ConfigFile<'_> {
    /// The error "`key`: message" at `span`.
    pub(crate) fn error<T>(&self, span: Range<usize>, key: &str, message: impl fmt::Display) -> Result<T, Diagnostic> {
        let (line, column) = line_column(self.text, span.start);
        Err(Diagnostic::error(self.name, line, column, format!("`{key}`: {message}")))
    }

    /// A constant for a field without a column (trimmed, not empty).
    pub(crate) fn constant(&self, value: Option<Spanned<String>>, key: &str) -> Result<Option<String>, Diagnostic> {
        match value {
            Some(value) if value.get_ref().trim().is_empty() => self.error(value.span(), key, "the value is empty"),
            Some(value) => Ok(Some(value.into_inner().trim().to_owned())),
            None => Ok(None),
        }
    }

    /// Header names (trimmed), at least one and none empty; `empty_name` is the message
    /// for an empty one.
    pub(crate) fn aliases(
        &self,
        value: Spanned<Aliases>,
        key: &str,
        empty_name: &str,
    ) -> Result<Vec<String>, Diagnostic> {
        let span = value.span();
        let list = match value.into_inner() {
            Aliases::One(one) => vec![one],
            Aliases::Many(many) => many,
        };
        if list.is_empty() {
            return self.error(span, key, "the list of header names is empty");
        }
        if list.iter().any(|name| name.trim().is_empty()) {
            return self.error(span, key, empty_name);
        }
        Ok(list.into_iter().map(|name| name.trim().to_owned()).collect())
    }

    /// A key of CSV files (`source.delimiter`, `source.encoding`) is refused with
    /// `source.format = "xlsx"`.
    pub(crate) fn csv_only(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
        format: Option<FileKind>,
    ) -> Result<(), Diagnostic> {
        match value {
            Some(value) if format == Some(FileKind::Xlsx) => {
                self.error(value.span(), key, "is for CSV files, and `source.format` is \"xlsx\"")
            }
            _ => Ok(()),
        }
    }

    /// `source.sheet`: a constant, refused with `source.format = "csv"`.
    pub(crate) fn sheet(
        &self,
        value: Option<Spanned<String>>,
        format: Option<FileKind>,
    ) -> Result<Option<String>, Diagnostic> {
        match value {
            Some(value) if format == Some(FileKind::Csv) => {
                self.error(value.span(), "source.sheet", "is for XLSX files, and `source.format` is \"csv\"")
            }
            other => self.constant(other, "source.sheet"),
        }
    }

    /// `source.encoding`; `None`: not given.
    pub(crate) fn encoding(&self, value: Option<Spanned<String>>) -> Result<Option<TextEncoding>, Diagnostic> {
        let Some(value) = value else { return Ok(None) };
        match value.get_ref().trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Some(TextEncoding::Utf8)),
            "gbk" | "gb2312" | "gb18030" => Ok(Some(TextEncoding::Gbk)),
            "windows-1252" | "cp1252" | "latin-1" | "latin1" | "iso-8859-1" => Ok(Some(TextEncoding::Windows1252)),
            other => self.error(
                value.span(),
                "source.encoding",
                format!("'{other}' is not one of \"utf-8\", \"gbk\", \"windows-1252\""),
            ),
        }
    }

    /// `source.delimiter`: one ASCII character other than a quote or a line break;
    /// `None`: not given.
    pub(crate) fn delimiter(&self, value: Option<Spanned<String>>) -> Result<Option<u8>, Diagnostic> {
        let Some(value) = value else { return Ok(None) };
        let mut chars = value.get_ref().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => Ok(Some(c as u8)),
            _ => self.error(
                value.span(),
                "source.delimiter",
                format!(
                    "'{}' is not one ASCII character other than a quote or line break (e.g. \",\", \";\", \"\\t\")",
                    value.get_ref().escape_debug()
                ),
            ),
        }
    }

    /// `source.header_row`: a 1-based row number; the default is 1.
    pub(crate) fn header_row(&self, value: Option<Spanned<i64>>) -> Result<u32, Diagnostic> {
        let Some(value) = value else { return Ok(1) };
        match u32::try_from(*value.get_ref()) {
            Ok(row) if (1..=limits::FILE_ROWS_MAX).contains(&row) => Ok(row),
            _ => self.error(
                value.span(),
                "source.header_row",
                format!("{} is not a row number (1-based, at most {})", value.get_ref(), limits::FILE_ROWS_MAX),
            ),
        }
    }

    /// `source.date_format`: a chrono strftime format; `examples` are shown in the error
    /// (`"%d.%m.%Y", …`).
    pub(crate) fn date_format(
        &self,
        value: Option<Spanned<String>>,
        examples: &str,
    ) -> Result<Option<String>, Diagnostic> {
        let Some(value) = value else { return Ok(None) };
        let has_error =
            chrono::format::StrftimeItems::new(value.get_ref()).any(|item| matches!(item, chrono::format::Item::Error));
        if has_error || value.get_ref().trim().is_empty() {
            return self.error(
                value.span(),
                "source.date_format",
                format!("'{}' is not a chrono strftime format (e.g. {examples})", value.get_ref()),
            );
        }
        Ok(Some(value.into_inner()))
    }

    /// `source.currency`: a currency code.
    pub(crate) fn currency(&self, value: Option<Spanned<String>>) -> Result<Option<Currency>, Diagnostic> {
        let Some(value) = value else { return Ok(None) };
        match Currency::from_code(value.get_ref()) {
            Ok(currency) => Ok(Some(currency)),
            Err(error) => self.error(value.span(), "source.currency", error),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading the file a mapping describes.

/// Which reader a file needs, from its first bytes and the mapping's `source.format`
/// (`None`: detected). A legacy `.xls` workbook, or a file whose content contradicts
/// `source.format`, is refused with the message to report.
pub(crate) fn container(bytes: &[u8], format: Option<FileKind>) -> Result<FileKind, &'static str> {
    if bytes.starts_with(XLS_SIGNATURE) {
        return Err(
            "this is a legacy Excel .xls workbook: open it in Excel or LibreOffice and save it as .xlsx (or CSV UTF-8)",
        );
    }
    let is_xlsx = bytes.starts_with(XLSX_SIGNATURE);
    match (format, is_xlsx) {
        (Some(FileKind::Xlsx), false) => {
            Err("the mapping says `source.format = \"xlsx\"`, but this file is not an XLSX workbook")
        }
        (Some(FileKind::Csv), true) => Err(
            "this file is an XLSX workbook, but the mapping says `source.format = \"csv\"` (set it to \"xlsx\", or leave it out to detect)",
        ),
        (_, true) => Ok(FileKind::Xlsx),
        (_, false) => Ok(FileKind::Csv),
    }
}

/// Runs a reader of an XLSX workbook; a panic in the zip or XML parser (a malformed
/// workbook) becomes an error like the reader's own.
pub(crate) fn catch_workbook_panic(read: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(read)).unwrap_or_else(|_| {
        Err("the XLSX reader failed on this workbook (it is malformed); re-save it in Excel or LibreOffice".to_owned())
    })
}

/// The text from line `header_row` (1-based) on: the header and the rows; the lines
/// before it are a preamble. Past the end, the message to report.
pub(crate) fn table_from(text: &str, header_row: u32) -> Result<&str, String> {
    match line_start(text, header_row) {
        Some(start) => Ok(&text[start..]),
        None => {
            let lines = text.split_terminator('\n').count();
            Err(format!("the header row is line {header_row} (`source.header_row`), but the file has {lines} lines"))
        }
    }
}

/// The byte offset where 1-based `line` starts; `None` past the end.
fn line_start(text: &str, line: u32) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    (start < text.len()).then_some(start)
}

/// The text of a cell for a text field; `None` when empty.
pub(crate) fn text_field(raw: Raw<'_>) -> Result<Option<std::borrow::Cow<'_, str>>, String> {
    match raw {
        Raw::Error(error) => Err(format!("the cell holds the spreadsheet error {error}")),
        // A text cell is borrowed: most cells are, and a row reads several.
        Raw::Text(text) => Ok(Some(std::borrow::Cow::Borrowed(text))),
        other => Ok(text_of(other).map(std::borrow::Cow::Owned)),
    }
}
