//! Calendar dates as tabular exports write them (order exports, payment-tool and wallet
//! statements): the file's own format first (it may hold a time and an offset, which are
//! dropped: the date is the one written), then the ISO-like forms each reader accepts.
//! A well-formed date that does not exist (`2026-02-30`) is named as such.

use chrono::format::ParseErrorKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// The forms a reader accepts after its file's own format.
pub(crate) struct DateForms {
    pub dates: &'static [&'static str],
    /// Date-times with an offset (besides RFC 3339, always accepted).
    pub with_offset: &'static [&'static str],
    pub date_times: &'static [&'static str],
    /// Shown in the error, e.g. `2024-03-01 or 2024-03-01T09:15:00+00:00`.
    pub examples: &'static str,
}

pub(crate) fn parse_local_date(text: &str, format: Option<&str>, forms: &DateForms) -> Result<NaiveDate, String> {
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
    for pattern in forms.dates {
        match NaiveDate::parse_from_str(text, pattern) {
            Ok(date) => return Ok(date),
            Err(error) => note(error.kind()),
        }
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(date_time) => return Ok(date_time.date_naive()),
        Err(error) => note(error.kind()),
    }
    for pattern in forms.with_offset {
        match DateTime::parse_from_str(text, pattern) {
            Ok(date_time) => return Ok(date_time.date_naive()),
            Err(error) => note(error.kind()),
        }
    }
    for pattern in forms.date_times {
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
    Err(format!("'{text}' is not a date (expected {expected}, e.g. {})", forms.examples))
}
