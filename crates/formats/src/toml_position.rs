//! Positions in TOML configuration texts (mappings, profiles): where an error is, and the
//! dotted key written there, so a message can say `source.delimiter` at line 4, column 13.

use tieout_core::Diagnostic;

/// Reads a TOML configuration into `T`; a syntax or shape error names the file, line,
/// column and dotted key (`source.delimiter`: …).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(file_name: &str, text: &str) -> Result<T, Diagnostic> {
    toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_column(text, offset);
        let message = match key_at(text, offset) {
            Some(key) => format!("`{key}`: {}", error.message().trim_end()),
            None => error.message().trim_end().to_owned(),
        };
        Diagnostic::error(file_name, line, column, message)
    })
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    (line as u32, column as u32)
}

/// The dotted key (`source.number_style`) written on the line holding `offset`, or the
/// table of that line when it holds no key.
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
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
