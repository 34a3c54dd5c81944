//! Dates and times as Amazon files write them, read as unix seconds (UTC).
//!
//! Forms accepted (surrounding spaces ignored):
//!
//! * `2026-06-17 08:14:22 UTC`: the documented settlement form (`GMT` is read the same);
//! * `2025-07-31T22:07:18+00:00`, `…Z`, `…+02:00`, `…+0200`: ISO 8601 with an offset
//!   (V1 files from Amazon.com/.ca); fractional seconds are accepted and dropped;
//! * `14.03.2023 07:49:55 UTC`: day.month.year, as EU files write it;
//! * `2026-06-17`, `14.03.2023`: a date alone is midnight UTC;
//! * `09/06/25`, `06/09/2025`: slash dates, whose order (day/month or month/day) differs
//!   between marketplaces, contrary to Amazon's documentation (see the format spec).
//!   [`parse_instant`] reads one only when a single order gives a real date (`25/06/2025`)
//!   or both agree (`06/06/25`) and otherwise returns [`DateError::Ambiguous`] with both
//!   readings; [`parse_instant_ordered`] reads it in a given order; and
//!   [`parse_instant_near`] picks the reading closest to a settlement window.
//!   A two-digit year is 20yy.
//!
//! A time of day must carry its zone (`UTC`, `GMT`, `Z`, a numeric offset, or Amazon
//! US's `PST`/`PDT`): a bare `2026-06-17 08:14:22` is refused rather than guessed. A date
//! that does not exist (`2026-02-30`, `31.04.2026`) is refused, never rolled over.
//!
//! # Transaction reports
//!
//! Amazon's Date Range (transaction) reports write `date/time` in their locale's words;
//! [`parse_report_instant`] reads those forms, and every form above:
//!
//! * `Oct 1, 2026 12:03:45 AM PDT`, `Jan. 5, 2026 11:03:05 a.m. PST` (US, CA): month name
//!   first, 12-hour clock;
//! * `1 Oct 2026 15:22:08 GMT`, `17 July 2026 4:26:32 pm GMT+9` (UK, AU),
//!   `1 oct. 2026 00:03:45 UTC` (FR, ES), `1 ott 2026 00.03.45 UTC` (IT, with dots in the
//!   time), `1. Okt. 2026 00:03:45 UTC` (DE): day, month name, year; month names and
//!   their abbreviations in English, German, French, Italian and Spanish, with or without
//!   the abbreviation's dot;
//! * `01.10.2026 00:03:45 UTC` (DE), `2026/10/01 0:03:45 JST` (JP: year first), and
//!   `01/10/2026 …` in the order the report's locale gives (see [`DateOrder`]);
//! * zones: those above, plus `BST` (+1), `CET` (+1), `CEST` (+2), `JST` (+9), and
//!   `GMT+9`, `GMT+09:00`, `UTC-7` offsets. A 12-hour time (`AM`/`PM`, `am`/`pm`,
//!   `a.m.`/`p.m.`) has hours 1 to 12. Other zone names are refused, never guessed.

use std::fmt;

use thiserror::Error;

/// The order of day and month in a slash date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    /// `09/06/25` is 9 June 2025.
    DayFirst,
    /// `09/06/25` is 6 September 2025.
    MonthFirst,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DateError {
    #[error("empty date")]
    Empty,
    #[error("'{0}' is not a date (expected e.g. 2026-06-17 08:14:22 UTC, 2026-06-17T08:14:22+00:00, 14.03.2023 07:49:55 UTC, 2026-06-17 or 06/09/2025)")]
    Unrecognized(String),
    #[error("'{text}' is not a real date: {reason}")]
    NonExistent { text: String, reason: String },
    #[error("'{0}' has an invalid time of day (hours 00-23, minutes and seconds 00-59)")]
    InvalidTime(String),
    #[error("'{0}' has a time but no time zone (expected UTC, Z or an offset such as +02:00)")]
    MissingZone(String),
    #[error("'{text}' has an unknown time zone '{zone}' (expected UTC, GMT, Z or an offset such as +02:00)")]
    UnknownZone { text: String, zone: String },
    #[error("'{text}' is ambiguous: {} (day first) or {} (month first)", Instant(*day_first), Instant(*month_first))]
    Ambiguous { text: String, day_first: i64, month_first: i64 },
    /// A transaction report's date in none of the forms [`parse_report_instant`] reads.
    #[error("'{0}' is not a date (expected e.g. Oct 1, 2026 12:03:45 AM PDT, 1 Oct 2026 15:22:08 GMT, 01.10.2026 00:03:45 UTC, 1 oct. 2026 00:03:45 UTC or 2026/10/01 0:03:45 JST)")]
    UnrecognizedReport(String),
    #[error("'{text}' has an unknown time zone '{zone}' (expected UTC, GMT, PST, PDT, BST, CET, CEST, JST, or an offset such as GMT+9 or +02:00)")]
    UnknownReportZone { text: String, zone: String },
}

/// Reads a date or date-time. Slash dates are read only when unambiguous.
pub fn parse_instant(text: &str) -> Result<i64, DateError> {
    parse(text, SlashRule::Unambiguous)
}

/// Reads a date or date-time, slash dates in `order`.
pub fn parse_instant_ordered(text: &str, order: DateOrder) -> Result<i64, DateError> {
    parse(text, SlashRule::Ordered(order))
}

/// Reads a date or date-time; of the two readings of an ambiguous slash date, takes the
/// one inside (or nearer to) the window `[window_start, window_end]` (unix seconds).
/// Equally near readings are [`DateError::Ambiguous`].
pub fn parse_instant_near(text: &str, window_start: i64, window_end: i64) -> Result<i64, DateError> {
    parse(text, SlashRule::Near { window_start, window_end })
}

/// The order a slash date reveals: `Some` when exactly one order gives a real date
/// (`25/06/2025` is day first), `None` for anything else.
pub fn slash_date_order(text: &str) -> Option<DateOrder> {
    let mut cursor = Cursor { bytes: text.trim().as_bytes(), at: 0 };
    match read_date(&mut cursor)? {
        DatePart::Slash { first, second, year } => {
            match (check_date(year, second, first).is_ok(), check_date(year, first, second).is_ok()) {
                (true, false) => Some(DateOrder::DayFirst),
                (false, true) => Some(DateOrder::MonthFirst),
                _ => None,
            }
        }
        DatePart::Ymd { .. } => None,
    }
}

/// Writes unix seconds as `2026-06-17 08:14:22 UTC`, or `2026-06-17` at midnight.
pub fn format_instant(seconds: i64) -> String {
    Instant(seconds).to_string()
}

struct Instant(i64);

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match chrono::DateTime::from_timestamp(self.0, 0) {
            Some(time) if self.0.rem_euclid(SECONDS_PER_DAY) == 0 => write!(f, "{}", time.date_naive()),
            Some(time) => write!(f, "{time}"),
            None => write!(f, "{} seconds", self.0),
        }
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Clone, Copy)]
enum SlashRule {
    Unambiguous,
    Ordered(DateOrder),
    Near { window_start: i64, window_end: i64 },
}

#[derive(Clone, Copy)]
enum DatePart {
    Ymd {
        year: i64,
        month: u32,
        day: u32,
    },
    /// `first/second/year`, order unknown.
    Slash {
        first: u32,
        second: u32,
        year: i64,
    },
}

fn parse(text: &str, rule: SlashRule) -> Result<i64, DateError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DateError::Empty);
    }
    let unrecognized = || DateError::Unrecognized(trimmed.to_owned());
    let mut cursor = Cursor { bytes: trimmed.as_bytes(), at: 0 };
    let date = read_date(&mut cursor).ok_or_else(unrecognized)?;
    let seconds_of_day = read_time_and_zone(&mut cursor, trimmed, Form::Settlement)?;
    resolve(trimmed, date, seconds_of_day, rule)
}

/// Reads a date or date-time as an Amazon transaction report writes it (see the module
/// documentation). `slash_order` is how the report's locale orders a numeric
/// `01/10/2026`; without one, such a date is read only when unambiguous.
pub fn parse_report_instant(text: &str, slash_order: Option<DateOrder>) -> Result<i64, DateError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DateError::Empty);
    }
    let mut cursor = Cursor { bytes: trimmed.as_bytes(), at: 0 };
    let date = read_report_date(&mut cursor).ok_or_else(|| DateError::UnrecognizedReport(trimmed.to_owned()))?;
    let seconds_of_day = read_time_and_zone(&mut cursor, trimmed, Form::Report)?;
    let rule = slash_order.map_or(SlashRule::Unambiguous, SlashRule::Ordered);
    resolve(trimmed, date, seconds_of_day, rule)
}

/// The instant of a date read from `trimmed` plus `seconds_of_day` (already moved to
/// UTC), a slash date read by `rule`.
fn resolve(trimmed: &str, date: DatePart, seconds_of_day: i64, rule: SlashRule) -> Result<i64, DateError> {
    let instant = |year: i64, month: u32, day: u32| -> Result<i64, DateError> {
        check_date(year, month, day).map_err(|reason| DateError::NonExistent { text: trimmed.to_owned(), reason })?;
        Ok(days_from_civil(year, month, day) * SECONDS_PER_DAY + seconds_of_day)
    };
    let (first, second, year) = match date {
        DatePart::Ymd { year, month, day } => return instant(year, month, day),
        DatePart::Slash { first, second, year } => (first, second, year),
    };
    let day_first = instant(year, second, first);
    let month_first = instant(year, first, second);
    let ambiguous =
        |day_first: i64, month_first: i64| DateError::Ambiguous { text: trimmed.to_owned(), day_first, month_first };
    match rule {
        SlashRule::Ordered(DateOrder::DayFirst) => day_first,
        SlashRule::Ordered(DateOrder::MonthFirst) => month_first,
        SlashRule::Unambiguous | SlashRule::Near { .. } => match (day_first, month_first) {
            (Ok(a), Ok(b)) if a == b => Ok(a),
            (Ok(a), Ok(b)) => match rule {
                SlashRule::Near { window_start, window_end } => {
                    let distance = |t: i64| (window_start - t).max(t - window_end).max(0);
                    match distance(a).cmp(&distance(b)) {
                        std::cmp::Ordering::Less => Ok(a),
                        std::cmp::Ordering::Greater => Ok(b),
                        std::cmp::Ordering::Equal => Err(ambiguous(a, b)),
                    }
                }
                _ => Err(ambiguous(a, b)),
            },
            (Ok(a), Err(_)) => Ok(a),
            (Err(_), Ok(b)) => Ok(b),
            (Err(_), Err(_)) => Err(DateError::NonExistent {
                text: trimmed.to_owned(),
                reason: "neither day/month nor month/day order gives a real date".to_owned(),
            }),
        },
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Reads `min..=max` ASCII digits; returns (value, count).
    fn digits(&mut self, min: usize, max: usize) -> Option<(u32, usize)> {
        let start = self.at;
        let mut value: u32 = 0;
        while self.at - start < max {
            match self.peek() {
                Some(byte @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(byte - b'0');
                    self.at += 1;
                }
                _ => break,
            }
        }
        let count = self.at - start;
        (count >= min).then_some((value, count))
    }

    fn rest(&self) -> &[u8] {
        &self.bytes[self.at..]
    }
}

fn read_date(cursor: &mut Cursor) -> Option<DatePart> {
    let (first, count) = cursor.digits(1, 4)?;
    if count == 4 {
        if !cursor.eat(b'-') {
            return None;
        }
        let (month, _) = cursor.digits(2, 2)?;
        if !cursor.eat(b'-') {
            return None;
        }
        let (day, _) = cursor.digits(2, 2)?;
        return Some(DatePart::Ymd { year: i64::from(first), month, day });
    }
    if count > 2 {
        return None;
    }
    let separator = cursor.peek()?;
    if separator != b'.' && separator != b'/' {
        return None;
    }
    cursor.at += 1;
    let (second, _) = cursor.digits(1, 2)?;
    if !cursor.eat(separator) {
        return None;
    }
    let (year, year_digits) = cursor.digits(2, 4)?;
    let year = match (separator, year_digits) {
        (b'.', 4) => return Some(DatePart::Ymd { year: i64::from(year), month: second, day: first }),
        (b'/', 2) => 2000 + i64::from(year),
        (b'/', 4) => i64::from(year),
        _ => return None,
    };
    Some(DatePart::Slash { first, second, year })
}

/// Reads what follows the date: nothing, or a time of day and a zone. Returns the
/// seconds to add to the date's midnight to get UTC (time of day minus zone offset).
fn read_time_and_zone(cursor: &mut Cursor, text: &str, form: Form) -> Result<i64, DateError> {
    if cursor.peek().is_none() {
        return Ok(0);
    }
    if !(cursor.eat(b'T') || cursor.eat(b' ')) {
        return Err(form.unrecognized(text));
    }
    while cursor.eat(b' ') {}
    let time_of_day = read_clock(cursor, text, form)?;
    while cursor.eat(b' ') {}
    let offset = match form {
        Form::Settlement => read_zone(cursor.rest(), text)?,
        Form::Report => read_report_zone(cursor.rest(), text)?,
    };
    Ok(time_of_day - offset)
}

/// Which forms a reader accepts: a transaction report's clock may use dots (`00.03.45`)
/// and a 12-hour clock, its zones are more; its errors list its own examples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Settlement,
    Report,
}

impl Form {
    fn unrecognized(self, text: &str) -> DateError {
        match self {
            Form::Settlement => DateError::Unrecognized(text.to_owned()),
            Form::Report => DateError::UnrecognizedReport(text.to_owned()),
        }
    }
}

/// Reads `H:MM[:SS[.fraction]]` (and, in a report, `H.MM.SS` and an `AM`/`PM` marker);
/// returns the seconds since midnight.
fn read_clock(cursor: &mut Cursor, text: &str, form: Form) -> Result<i64, DateError> {
    let unrecognized = || form.unrecognized(text);
    let (mut hour, _) = cursor.digits(1, 2).ok_or_else(unrecognized)?;
    let separator = match cursor.peek() {
        Some(b':') => b':',
        Some(b'.') if form == Form::Report => b'.',
        _ => return Err(unrecognized()),
    };
    cursor.at += 1;
    let (minute, _) = cursor.digits(2, 2).ok_or_else(unrecognized)?;
    let mut second = 0;
    if cursor.eat(separator) {
        second = cursor.digits(2, 2).ok_or_else(unrecognized)?.0;
        if separator == b':' && (cursor.eat(b'.') || cursor.eat(b',')) {
            cursor.digits(1, 9).ok_or_else(unrecognized)?;
        }
    }
    if form == Form::Report {
        if let Some(afternoon) = read_meridiem(cursor) {
            if !(1..=12).contains(&hour) {
                return Err(DateError::InvalidTime(text.to_owned()));
            }
            hour = hour % 12 + if afternoon { 12 } else { 0 };
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(DateError::InvalidTime(text.to_owned()));
    }
    Ok(i64::from(hour * 3600 + minute * 60 + second))
}

/// Reads ` AM`, ` pm`, ` a.m.` …: `Some(true)` for the afternoon. Leaves the cursor where
/// it was when there is none.
fn read_meridiem(cursor: &mut Cursor) -> Option<bool> {
    let start = cursor.at;
    while cursor.eat(b' ') {}
    let rest = cursor.rest();
    for (marker, afternoon) in [(&b"a.m."[..], false), (b"p.m.", true), (b"am", false), (b"pm", true)] {
        let Some(head) = rest.get(..marker.len()) else { continue };
        let ends = rest.get(marker.len()).is_none_or(|byte| *byte == b' ');
        if head.eq_ignore_ascii_case(marker) && ends {
            cursor.at += marker.len();
            return Some(afternoon);
        }
    }
    cursor.at = start;
    None
}

/// Reads the date of a transaction report's `date/time` (see the module documentation).
fn read_report_date(cursor: &mut Cursor) -> Option<DatePart> {
    if !cursor.peek()?.is_ascii_digit() {
        // `Oct 1, 2026`
        let month = read_month(cursor)?;
        if !cursor.eat(b' ') {
            return None;
        }
        while cursor.eat(b' ') {}
        let (day, _) = cursor.digits(1, 2)?;
        cursor.eat(b',');
        return read_year_after_space(cursor).map(|year| DatePart::Ymd { year, month, day });
    }
    let start = cursor.at;
    let (first, count) = cursor.digits(1, 4)?;
    let after = cursor.rest();
    match (count, after) {
        // `2026/10/01` (JP): year first.
        (4, [b'/', ..]) => {
            cursor.at += 1;
            let (month, _) = cursor.digits(1, 2)?;
            if !cursor.eat(b'/') {
                return None;
            }
            let (day, _) = cursor.digits(1, 2)?;
            Some(DatePart::Ymd { year: i64::from(first), month, day })
        }
        // `1 Oct 2026`, `1. Okt. 2026`
        (1 | 2, [b' ', ..] | [b'.', b' ', ..]) => {
            cursor.eat(b'.');
            while cursor.eat(b' ') {}
            let month = read_month(cursor)?;
            read_year_after_space(cursor).map(|year| DatePart::Ymd { year, month, day: first })
        }
        _ => {
            cursor.at = start;
            read_date(cursor)
        }
    }
}

/// ` 2026` after a month name (and its optional dot).
fn read_year_after_space(cursor: &mut Cursor) -> Option<i64> {
    if !cursor.eat(b' ') {
        return None;
    }
    while cursor.eat(b' ') {}
    cursor.digits(4, 4).map(|(year, _)| i64::from(year))
}

/// A month name or abbreviation (see [`MONTH_WORDS`]) and the dot that may end it.
fn read_month(cursor: &mut Cursor) -> Option<u32> {
    let start = cursor.at;
    while cursor.peek().is_some_and(|byte| !matches!(byte, b' ' | b'.' | b',') && !byte.is_ascii_digit()) {
        cursor.at += 1;
    }
    // The word ends at an ASCII byte (or the end), so it is whole UTF-8.
    let word = std::str::from_utf8(&cursor.bytes[start..cursor.at]).ok()?.to_lowercase();
    cursor.eat(b'.');
    MONTH_WORDS.iter().find(|(name, _)| *name == word).map(|(_, month)| *month)
}

/// Month names and abbreviations of the transaction reports' locales (English, German,
/// French, Italian, Spanish), lower case. No word names two different months.
const MONTH_WORDS: &[(&str, u32)] = &[
    ("jan", 1),
    ("january", 1),
    ("januar", 1),
    ("janv", 1),
    ("janvier", 1),
    ("gen", 1),
    ("gennaio", 1),
    ("ene", 1),
    ("enero", 1),
    ("feb", 2),
    ("february", 2),
    ("februar", 2),
    ("févr", 2),
    ("fevr", 2),
    ("février", 2),
    ("febbraio", 2),
    ("febrero", 2),
    ("mar", 3),
    ("march", 3),
    ("mär", 3),
    ("märz", 3),
    ("mrz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("apr", 4),
    ("april", 4),
    ("avr", 4),
    ("avril", 4),
    ("aprile", 4),
    ("abr", 4),
    ("abril", 4),
    ("may", 5),
    ("mai", 5),
    ("mag", 5),
    ("maggio", 5),
    ("mayo", 5),
    ("jun", 6),
    ("june", 6),
    ("juni", 6),
    ("juin", 6),
    ("giu", 6),
    ("giugno", 6),
    ("junio", 6),
    ("jul", 7),
    ("july", 7),
    ("juli", 7),
    ("juil", 7),
    ("juillet", 7),
    ("lug", 7),
    ("luglio", 7),
    ("julio", 7),
    ("aug", 8),
    ("august", 8),
    ("août", 8),
    ("aout", 8),
    ("ago", 8),
    ("agosto", 8),
    ("sep", 9),
    ("sept", 9),
    ("september", 9),
    ("septembre", 9),
    ("set", 9),
    ("settembre", 9),
    ("septiembre", 9),
    ("oct", 10),
    ("october", 10),
    ("okt", 10),
    ("oktober", 10),
    ("octobre", 10),
    ("ott", 10),
    ("ottobre", 10),
    ("octubre", 10),
    ("nov", 11),
    ("november", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("dec", 12),
    ("december", 12),
    ("dez", 12),
    ("dezember", 12),
    ("déc", 12),
    ("décembre", 12),
    ("dic", 12),
    ("dicembre", 12),
    ("diciembre", 12),
];

/// A report's zone: the settlement zones ([`read_zone`]), the abbreviations Amazon's EU
/// and JP reports write, and `GMT+9` / `UTC-07:00` offsets.
fn read_report_zone(zone: &[u8], text: &str) -> Result<i64, DateError> {
    let named = [(&b"BST"[..], 1), (b"CET", 1), (b"CEST", 2), (b"JST", 9)];
    if let Some((_, hours)) = named.iter().find(|(name, _)| zone.eq_ignore_ascii_case(name)) {
        return Ok(hours * 3600);
    }
    // `GMT+9`, `UTC-07:00`: the offset after the name (a bare `GMT` is `read_zone`'s).
    let offset = match zone {
        [a, b, c, b'+' | b'-', ..]
            if [*a, *b, *c].eq_ignore_ascii_case(b"GMT") || [*a, *b, *c].eq_ignore_ascii_case(b"UTC") =>
        {
            &zone[3..]
        }
        _ => zone,
    };
    // A one-digit hour (`+9`, `-7:00`) is written with two for `read_zone`.
    let padded;
    let offset = match offset {
        [sign @ (b'+' | b'-'), hour, rest @ ..]
            if hour.is_ascii_digit() && !rest.first().is_some_and(u8::is_ascii_digit) =>
        {
            padded = [&[*sign, b'0', *hour][..], rest].concat();
            &padded[..]
        }
        _ => offset,
    };
    match read_zone(offset, text) {
        Err(DateError::UnknownZone { .. }) | Err(DateError::MissingZone(_)) if !zone.is_empty() => {
            Err(DateError::UnknownReportZone {
                text: text.to_owned(),
                zone: String::from_utf8_lossy(zone).into_owned(),
            })
        }
        Err(DateError::Unrecognized(_)) => Err(DateError::UnrecognizedReport(text.to_owned())),
        other => other,
    }
}

/// The zone's offset from UTC in seconds.
fn read_zone(zone: &[u8], text: &str) -> Result<i64, DateError> {
    let hours = |h: i64| Ok(h * 3600);
    match zone {
        [] => Err(DateError::MissingZone(text.to_owned())),
        [b'Z' | b'z'] => hours(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let mut cursor = Cursor { bytes: rest, at: 0 };
            let (offset_hours, _) = cursor.digits(2, 2).ok_or_else(|| DateError::Unrecognized(text.to_owned()))?;
            let offset_minutes = if cursor.peek().is_none() {
                0
            } else {
                cursor.eat(b':');
                cursor.digits(2, 2).ok_or_else(|| DateError::Unrecognized(text.to_owned()))?.0
            };
            if cursor.peek().is_some() {
                return Err(DateError::Unrecognized(text.to_owned()));
            }
            if offset_hours > 14 || offset_minutes > 59 {
                return Err(DateError::InvalidTime(text.to_owned()));
            }
            let magnitude = i64::from(offset_hours * 3600 + offset_minutes * 60);
            Ok(if *sign == b'-' { -magnitude } else { magnitude })
        }
        _ if zone.eq_ignore_ascii_case(b"UTC") || zone.eq_ignore_ascii_case(b"GMT") => hours(0),
        _ if zone.eq_ignore_ascii_case(b"PST") => hours(-8),
        _ if zone.eq_ignore_ascii_case(b"PDT") => hours(-7),
        _ => Err(DateError::UnknownZone { text: text.to_owned(), zone: String::from_utf8_lossy(zone).into_owned() }),
    }
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn check_date(year: i64, month: u32, day: u32) -> Result<(), String> {
    if !(1..=12).contains(&month) {
        return Err(format!("there is no month {month}"));
    }
    let days = days_in_month(year, month);
    if day == 0 {
        return Err("there is no day 0".to_owned());
    }
    if day > days {
        return Err(format!("{} {year} has {days} days", MONTH_NAMES[month as usize - 1]));
    }
    Ok(())
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|date| date.and_hms_opt(hour, minute, second))
            .expect("valid test date")
            .and_utc()
            .timestamp()
    }

    fn check(text: &str, expect: Result<i64, &str>) {
        match (parse_instant(text), expect) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{text:?}: got {}, want {}", format_instant(got), format_instant(want))
            }
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{text:?}: error {message:?} lacks {fragment:?}");
            }
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn accepted_forms() {
        check("2026-06-17 08:14:22 UTC", Ok(utc(2026, 6, 17, 8, 14, 22)));
        check("2026-06-17 00:00:00 UTC", Ok(utc(2026, 6, 17, 0, 0, 0)));
        check(" 2026-06-17 08:14:22 GMT ", Ok(utc(2026, 6, 17, 8, 14, 22)));
        check("14.03.2023 07:49:55 UTC", Ok(utc(2023, 3, 14, 7, 49, 55)));
        check("2025-07-31T22:07:18+00:00", Ok(utc(2025, 7, 31, 22, 7, 18)));
        check("2025-07-31T22:07:18Z", Ok(utc(2025, 7, 31, 22, 7, 18)));
        check("2025-07-31T22:07:18.123Z", Ok(utc(2025, 7, 31, 22, 7, 18)));
        check("2025-07-31T22:07:18+02:00", Ok(utc(2025, 7, 31, 20, 7, 18)));
        check("2025-07-31T22:07:18+0200", Ok(utc(2025, 7, 31, 20, 7, 18)));
        check("2025-07-31T01:07:18-05:00", Ok(utc(2025, 7, 31, 6, 7, 18)));
        check("2025-07-31T22:07+00:00", Ok(utc(2025, 7, 31, 22, 7, 0)));
        check("2025-06-01 02:00:00 PDT", Ok(utc(2025, 6, 1, 9, 0, 0)));
        check("2026-06-17", Ok(utc(2026, 6, 17, 0, 0, 0)));
        check("14.03.2023", Ok(utc(2023, 3, 14, 0, 0, 0)));
        check("4.3.2023", Ok(utc(2023, 3, 4, 0, 0, 0)));
        check("2024-02-29", Ok(utc(2024, 2, 29, 0, 0, 0)));
        check("2000-02-29", Ok(utc(2000, 2, 29, 0, 0, 0)));
        check("1969-12-31 23:59:59 UTC", Ok(-1));
        // Slash dates with only one real reading, or whose readings agree.
        check("25/06/2025", Ok(utc(2025, 6, 25, 0, 0, 0)));
        check("06/25/25", Ok(utc(2025, 6, 25, 0, 0, 0)));
        check("06/06/25", Ok(utc(2025, 6, 6, 0, 0, 0)));
        check("25/06/2025 10:00:00 UTC", Ok(utc(2025, 6, 25, 10, 0, 0)));
    }

    #[test]
    fn refusals() {
        check("", Err("empty date"));
        check("2026-02-30", Err("'2026-02-30' is not a real date: February 2026 has 28 days"));
        check("31.04.2026", Err("April 2026 has 30 days"));
        check("2023-02-29 10:00:00 UTC", Err("February 2023 has 28 days"));
        check("2026-13-01", Err("there is no month 13"));
        check("2026-06-00", Err("there is no day 0"));
        check("09/06/25", Err("'09/06/25' is ambiguous: 2025-06-09 (day first) or 2025-09-06 (month first)"));
        check("13/13/25", Err("neither day/month nor month/day"));
        check("2026-06-17 08:14:22", Err("no time zone"));
        check("2026-06-17 24:00:00 UTC", Err("invalid time of day"));
        check("2026-06-17 08:60:00 UTC", Err("invalid time of day"));
        check("2026-06-17 08:14:22 CEST", Err("unknown time zone 'CEST'"));
        check("2026-06-17T08:14:22+2", Err("not a date"));
        check("20260617", Err("not a date"));
        check("17.06.26", Err("not a date"));
        check("June 17, 2026", Err("not a date"));
        check("2026-06-17x", Err("not a date"));
        check("2026/06/17", Err("not a date"));
    }

    #[test]
    fn slash_dates_with_an_order_or_a_window() {
        let june_9 = utc(2025, 6, 9, 0, 0, 0);
        let september_6 = utc(2025, 9, 6, 0, 0, 0);
        assert_eq!(parse_instant_ordered("09/06/25", DateOrder::DayFirst), Ok(june_9));
        assert_eq!(parse_instant_ordered("09/06/25", DateOrder::MonthFirst), Ok(september_6));
        let error = parse_instant_ordered("25/06/25", DateOrder::MonthFirst).unwrap_err();
        assert!(error.to_string().contains("there is no month 25"), "{error}");
        assert_eq!(parse_instant_ordered("2025-06-09", DateOrder::MonthFirst), Ok(june_9));

        let (start, end) = (utc(2025, 6, 1, 0, 0, 0), utc(2025, 6, 14, 23, 59, 59));
        assert_eq!(parse_instant_near("09/06/25", start, end), Ok(june_9));
        // A date posted before the window still takes the nearer reading.
        assert_eq!(parse_instant_near("05/28/2025", start, end), Ok(utc(2025, 5, 28, 0, 0, 0)));
        let (start, end) = (utc(2025, 8, 30, 0, 0, 0), utc(2025, 9, 12, 0, 0, 0));
        assert_eq!(parse_instant_near("09/06/25", start, end), Ok(september_6));
        // Readings equally far from the window stay ambiguous.
        let middle = (june_9 + september_6) / 2;
        assert_eq!(
            parse_instant_near("09/06/25", middle, middle),
            Err(DateError::Ambiguous { text: "09/06/25".to_owned(), day_first: june_9, month_first: september_6 })
        );

        assert_eq!(slash_date_order("25/06/2025"), Some(DateOrder::DayFirst));
        assert_eq!(slash_date_order("06/25/2025 10:00:00 UTC"), Some(DateOrder::MonthFirst));
        assert_eq!(slash_date_order("09/06/25"), None);
        assert_eq!(slash_date_order("2025-06-25"), None);
    }

    #[test]
    fn civil_days_match_chrono_over_four_centuries() {
        let mut date = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let end = chrono::NaiveDate::from_ymd_opt(2300, 1, 1).unwrap();
        use chrono::Datelike;
        while date < end {
            let expected = date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() / SECONDS_PER_DAY;
            assert_eq!(days_from_civil(i64::from(date.year()), date.month(), date.day()), expected, "{date}");
            date = date.succ_opt().unwrap();
        }
    }

    fn check_report(text: &str, order: Option<DateOrder>, expect: Result<i64, &str>) {
        match (parse_report_instant(text, order), expect) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{text:?}: got {}, want {}", format_instant(got), format_instant(want))
            }
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{text:?}: error {message:?} lacks {fragment:?}");
            }
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn report_forms() {
        let day_first = Some(DateOrder::DayFirst);
        // US and CA: month first, 12-hour clock, Pacific time that switches PDT / PST.
        check_report("Oct 1, 2026 12:03:45 AM PDT", None, Ok(utc(2026, 10, 1, 7, 3, 45)));
        check_report("Oct 1, 2026 12:03:45 PM PDT", None, Ok(utc(2026, 10, 1, 19, 3, 45)));
        check_report("Dec 1, 2017 12:38:23 AM PST", None, Ok(utc(2017, 12, 1, 8, 38, 23)));
        check_report("Jan. 5, 2026 11:03:05 a.m. PST", None, Ok(utc(2026, 1, 5, 19, 3, 5)));
        check_report("Nov 2, 2026 1:05:00 pm PST", None, Ok(utc(2026, 11, 2, 21, 5, 0)));
        check_report("2017-05-01 1:23:45 AM PDT", None, Ok(utc(2017, 5, 1, 8, 23, 45)));
        check_report("Jan 20, 2026", None, Ok(utc(2026, 1, 20, 0, 0, 0)));
        // UK, AU: day first; names in full or abbreviated; named zones and GMT offsets.
        check_report("1 Oct 2026 15:22:08 GMT", None, Ok(utc(2026, 10, 1, 15, 22, 8)));
        check_report("1 Oct 2026 08:03:45 BST", None, Ok(utc(2026, 10, 1, 7, 3, 45)));
        check_report("01 May 2017 00:38:23 GMT+00:00", None, Ok(utc(2017, 5, 1, 0, 38, 23)));
        check_report("17 July 2026 4:26:32 pm GMT+9", None, Ok(utc(2026, 7, 17, 7, 26, 32)));
        check_report("17 July 2026 4:26:32 pm UTC-07:00", None, Ok(utc(2026, 7, 17, 23, 26, 32)));
        check_report("1 Jan 2026", None, Ok(utc(2026, 1, 1, 0, 0, 0)));
        // DE, FR, IT, ES.
        check_report("01.10.2026 00:03:45 UTC", day_first, Ok(utc(2026, 10, 1, 0, 3, 45)));
        check_report("01.10.2026 02:03:45 CEST", day_first, Ok(utc(2026, 10, 1, 0, 3, 45)));
        check_report("1. Okt. 2026 00:03:45 CET", day_first, Ok(utc(2026, 9, 30, 23, 3, 45)));
        check_report("1 oct. 2026 00:03:45 UTC", day_first, Ok(utc(2026, 10, 1, 0, 3, 45)));
        check_report("12 févr. 2026 10:00:00 UTC", day_first, Ok(utc(2026, 2, 12, 10, 0, 0)));
        check_report("3 août 2026 10:00:00 UTC", day_first, Ok(utc(2026, 8, 3, 10, 0, 0)));
        check_report("1 ott 2026 00.03.45 UTC", day_first, Ok(utc(2026, 10, 1, 0, 3, 45)));
        check_report("01 mag 2017 00.38.23 GMT+00:00", day_first, Ok(utc(2017, 5, 1, 0, 38, 23)));
        check_report("1 ago 2026 10:00:00 CEST", day_first, Ok(utc(2026, 8, 1, 8, 0, 0)));
        check_report("15/10/2026 10:00:00 UTC", day_first, Ok(utc(2026, 10, 15, 10, 0, 0)));
        check_report("09/10/2026 10:00:00 UTC", day_first, Ok(utc(2026, 10, 9, 10, 0, 0)));
        // JP: year first.
        check_report("2026/10/01 0:03:45 JST", None, Ok(utc(2026, 9, 30, 15, 3, 45)));
        check_report("2026/1/5 23:59:59 JST", None, Ok(utc(2026, 1, 5, 14, 59, 59)));
        // The settlement forms still read.
        check_report("2026-06-17T08:14:22Z", None, Ok(utc(2026, 6, 17, 8, 14, 22)));
    }

    #[test]
    fn report_refusals() {
        check_report("", None, Err("empty date"));
        check_report("Okt 1, 2026 12:03:45 AM PDT", None, Ok(utc(2026, 10, 1, 7, 3, 45)));
        check_report(
            "Smarch 1, 2026 12:03:45 AM PDT",
            None,
            Err("'Smarch 1, 2026 12:03:45 AM PDT' is not a date (expected e.g. Oct 1, 2026"),
        );
        check_report("Feb 30, 2026 12:03:45 AM PST", None, Err("February 2026 has 28 days"));
        check_report("Oct 1, 2026 13:03:45 PM PDT", None, Err("invalid time of day"));
        check_report("Oct 1, 2026 0:03:45 AM PDT", None, Err("invalid time of day"));
        check_report("01.10.2026 00:03:45", Some(DateOrder::DayFirst), Err("has a time but no time zone"));
        check_report(
            "01.10.2026 00:03:45 EST",
            Some(DateOrder::DayFirst),
            Err("unknown time zone 'EST' (expected UTC, GMT, PST"),
        );
        check_report("01.10.2026 00:03:45 GMT+15", Some(DateOrder::DayFirst), Err("invalid time of day"));
        check_report("09/10/2026 10:00:00 UTC", None, Err("is ambiguous: 2026-10-09 10:00:00 UTC (day first)"));
        check_report("2026/13/01 0:03:45 JST", None, Err("there is no month 13"));
        check_report("1 Oct 26 00:03:45 UTC", None, Err("is not a date"));
        check_report("Oct 1 2026 12:03:45 AM PDT", None, Ok(utc(2026, 10, 1, 7, 3, 45)));
        // The settlement parser keeps its own, narrower forms.
        assert!(parse_instant("Oct 1, 2026 12:03:45 AM PDT").is_err());
        assert!(parse_instant("2026-06-17 08:14:22 CEST").is_err());
    }

    #[test]
    fn formats_instants() {
        assert_eq!(format_instant(utc(2025, 6, 9, 0, 0, 0)), "2025-06-09");
        assert_eq!(format_instant(utc(2025, 6, 9, 5, 23, 19)), "2025-06-09 05:23:19 UTC");
    }
}
