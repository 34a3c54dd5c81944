//! SWIFT MT940 customer statements, read into a [`StatementFile`]: one [`Statement`] per
//! message (`:20:` … `:62F:`), one [`StatementEntry`] per `:61:` with its `:86:`, and
//! diagnostics with line and column. The format is described in
//! `../shared/formats/mt940.md`.
//!
//! # Quirks handled
//!
//! * **Encoding**: UTF-8 (with or without a BOM), else the file is read as Windows-1252
//!   (a superset of ISO-8859-1, which real German and Dutch exports use); reading never
//!   fails on encoding. LF or CRLF; a missing final line end. Control characters in text
//!   become spaces.
//! * **Wrappers and preambles** are skipped: lines outside a message that are not fields
//!   (ING `0000 01INGBNL2AXXXX00001` / `940 00`, ABN AMRO `ABNANL2A` / `940`, SWIFT blocks
//!   `{1:…}{2:…}{4:`, trailers `{5:…}`). A message ends at `-`, `-XXX`, `-}` or `}`, or
//!   where the next `:20:` starts; blank lines are skipped.
//! * A field runs from its `:TAG:` to the next tag; continuation lines belong to it. A tag
//!   broken after its first colon (`:` then `86:` on the next line) is joined.
//! * `:61:` statement line: value date `YYMMDD`; optional entry date `MMDD`, whose year is
//!   the one nearest the value date (a December value date with a January entry date is
//!   booked in the next year); mark `C`, `D`, `RC`, `RD` (reversals); an optional funds
//!   code letter (`CR` is credit, funds code R); the amount with a decimal comma (`9,`
//!   and `30,00` alike), in the exponent of the statement's currency; the transaction
//!   type (`N`/`F`/`S` + 3); the customer reference (`NONREF` = none); `//` the bank's
//!   reference; supplementary details on the next line. A `:61:` whose first line ends
//!   before the amount (Sparkasse: `:61:1811261126CR` / `30,00N062NONREF`) continues on
//!   the next line. Two-digit years are 20yy below 80, else 19yy.
//! * `:86:` belongs to the `:61:` before it; a `:86:` after `:62F:` (ING's totals) or
//!   before any `:61:` is about the statement and is not read. Three layouts:
//!   - German `?NN` subfields (`166?00GUTSCHRIFT?20EREF+…?21SVWZ+…?32Name`): the
//!     description is `?20`–`?29` and `?60`–`?63` joined as written (they wrap mid-word at
//!     27 characters, so no space is added), the counterparty `?32` + `?33`, the
//!     reference the `EREF+` value. Lines are joined before splitting, so a subfield
//!     wrapped mid-tag (`?2` / `0…`) is read whole.
//!   - Dutch SEPA `/TRTP/…/NAME/…/REMI/…/EREF/…` (and ING's `/CNTP/iban/bic/name/city/`):
//!     description `REMI` (without `USTD//`), counterparty `NAME` or the `CNTP` name,
//!     reference `EREF`.
//!   - Anything else: the lines, trimmed, joined by a space.
//!
//!   The reference is the `:61:` customer reference when `:86:` has none; `NOTPROVIDED`
//!   and `NONREF` are no reference. A `:61:` supplementary line comes first in the
//!   description.
//! * Balances `:60F:`/`:60M:` (opening) and `:62F:`/`:62M:` (closing): mark, `YYMMDD`,
//!   currency, amount; the statement's currency is the opening balance's. A message
//!   without either is an error naming the line where the message starts; a closing
//!   balance in another currency is left out with a warning. `:64:` and `:65:` are not
//!   read. Each message (page) is one statement; the reference is `:20:` and `:28C:`
//!   (`:28:`) joined by a space.
//! * Balance check per message: opening + Σ `:61:` = closing; a difference is a warning
//!   naming the statement and the amounts.
//! * A date that does not exist (`February 30`) is an error at its line and column.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};
use tieout_core::diag::Diagnostic;
use tieout_core::limits;
use tieout_core::money::{parse_amount_minor, Currency, Money, NumberStyle};
use tieout_core::statement::{Statement, StatementEntry, StatementFile};

use crate::text::numbered_lines;

/// Reads an MT940 file from its bytes. Problems are in the returned diagnostics; any error
/// means the file must not be imported.
pub fn read_mt940(file_name: &str, bytes: &[u8]) -> StatementFile {
    let mut reader = Reader { file: file_name, out: StatementFile::default(), stopped: false };
    if let Err(diagnostic) = crate::text::check_size(file_name, bytes, "statement") {
        reader.push(diagnostic);
        return reader.out;
    }
    let text = decode(bytes);
    if text.trim().is_empty() {
        reader.push(Diagnostic::error(file_name, 0, 0, "the file is empty"));
        return reader.out;
    }
    let messages = reader.split_messages(&text);
    for message in &messages {
        if reader.stopped {
            break;
        }
        reader.message(message);
    }
    if messages.is_empty() && !reader.stopped {
        let message = "no MT940 statement found (a statement starts with :20: and has :60F:, :61: and :62F: fields)";
        reader.push(Diagnostic::error(file_name, 0, 0, message));
    }
    reader.out
}

/// UTF-8 when the bytes are UTF-8, else Windows-1252 (which decodes any byte).
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// One field: its tag (`61`, `60F`), the line it starts on, and its lines (the first
/// without the tag).
#[derive(Debug)]
struct Field {
    tag: String,
    line: u32,
    /// Column of the first character of the value on the tag's line.
    column: u32,
    lines: Vec<String>,
}

#[derive(Debug)]
struct Message {
    line: u32,
    fields: Vec<Field>,
}

/// `:61:` read.
#[derive(Debug, PartialEq, Eq)]
struct StatementLine {
    value_date: NaiveDate,
    booking_date: NaiveDate,
    credit: bool,
    reversal: bool,
    amount_minor: i64,
    customer_ref: String,
    bank_ref: String,
    supplementary: String,
}

/// `:86:` read.
#[derive(Debug, Default, PartialEq, Eq)]
struct Information {
    description: String,
    counterparty: String,
    reference: String,
}

struct Reader<'a> {
    file: &'a str,
    out: StatementFile,
    stopped: bool,
}

/// Splits `:TAG:value` into (`TAG`, value) when the line starts with a tag.
fn split_tag(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(':')?;
    let bytes = rest.as_bytes();
    if bytes.len() < 3 || !bytes[0].is_ascii_digit() || !bytes[1].is_ascii_digit() {
        return None;
    }
    let tag_length = if bytes[2] == b':' {
        2
    } else if bytes[2].is_ascii_uppercase() && bytes.get(3) == Some(&b':') {
        3
    } else {
        return None;
    };
    Some((&rest[..tag_length], &rest[tag_length + 1..]))
}

fn is_separator(line: &str) -> bool {
    matches!(line, "-" | "-XXX" | "}" | "-}") || line.starts_with("-}")
}

impl Reader<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        if self.stopped {
            return;
        }
        self.stopped = !crate::text::push_limited(&mut self.out.diagnostics, self.file, diagnostic);
    }

    fn error(&mut self, line: u32, column: u32, message: impl Into<String>) {
        self.push(Diagnostic::error(self.file, line, column, message));
    }

    fn split_messages(&mut self, text: &str) -> Vec<Message> {
        let lines: Vec<(u32, &str)> = numbered_lines(text).collect();
        let mut messages = Vec::new();
        let mut current: Option<Message> = None;
        // Whether non-tag lines continue the last field (not after a blank line).
        let mut field_open = false;
        let mut index = 0;
        while index < lines.len() {
            let (number, raw) = lines[index];
            index += 1;
            if raw.len() > limits::LINE_LENGTH_BYTES_MAX {
                self.error(number, 0, format!("line is longer than {} bytes", limits::LINE_LENGTH_BYTES_MAX));
                self.stopped = true;
                break;
            }
            let mut line = raw.trim_end();
            let mut column_offset = 0;
            if let Some(at) = line.find("{4:") {
                column_offset = at + 3;
                line = &line[at + 3..];
                if line.is_empty() {
                    continue;
                }
            }
            if is_separator(line.trim_start()) {
                messages.extend(current.take());
                field_open = false;
                continue;
            }
            if line.trim().is_empty() {
                field_open = false;
                continue;
            }
            let joined;
            if line == ":" {
                if let Some(&(_, next)) = lines.get(index) {
                    if split_tag(&format!(":{}", next.trim_end())).is_some() {
                        joined = format!(":{}", next.trim_end());
                        line = &joined;
                        index += 1;
                    }
                }
            }
            if let Some((tag, value)) = split_tag(line) {
                let starts_new = tag == "20" && current.as_ref().is_some_and(|message| !message.fields.is_empty());
                if starts_new {
                    messages.extend(current.take());
                }
                let message = current.get_or_insert_with(|| Message { line: number, fields: Vec::new() });
                message.fields.push(Field {
                    tag: tag.to_owned(),
                    line: number,
                    column: (column_offset + tag.len() + 3) as u32,
                    lines: vec![value.to_owned()],
                });
                field_open = true;
            } else if field_open {
                if let Some(field) = current.as_mut().and_then(|message| message.fields.last_mut()) {
                    field.lines.push(line.to_owned());
                }
            }
            // Other lines outside a field are preambles and wrappers.
        }
        messages.extend(current);
        messages
    }

    fn message(&mut self, message: &Message) {
        let first = |tags: &[&str]| message.fields.iter().find(|field| tags.contains(&field.tag.as_str()));
        let value = |tags: &[&str]| first(tags).map_or(String::new(), |field| field.lines[0].trim().to_owned());
        let reference = value(&["20"]);
        let sequence = value(&["28C", "28"]);
        let statement_ref = [reference.as_str(), sequence.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let name = if statement_ref.is_empty() { format!("at line {}", message.line) } else { statement_ref.clone() };
        let opening_field = first(&["60F", "60M"]);
        let closing_field = first(&["62F", "62M"]);
        if opening_field.is_none() {
            let text =
                format!("MT940 statement starting at line {} has no opening balance :60F: (or :60M:)", message.line);
            self.error(message.line, 0, text);
        }
        if closing_field.is_none() {
            let text =
                format!("MT940 statement starting at line {} has no closing balance :62F: (or :62M:)", message.line);
            self.error(message.line, 0, text);
        }
        let opening = opening_field.and_then(|field| self.balance(field));
        let closing = closing_field.and_then(|field| self.balance(field));
        let Some(currency) = opening.as_ref().or(closing.as_ref()).map(|balance| balance.currency) else {
            // No balance read: no currency to read the amounts in (errors said why).
            return;
        };
        let closing = match closing {
            Some(balance) if balance.currency != currency => {
                let field = closing_field.expect("a balance comes from a field");
                let text = format!(
                    "statement {name}: the closing balance is in {}, the statement in {currency}; it is not converted, so the balance check cannot be made",
                    balance.currency
                );
                self.push(Diagnostic::warning(self.file, field.line, field.column, text));
                None
            }
            other => other,
        };
        let index = self.out.statements.len() as u32;
        let mut statement = Statement {
            statement_ref,
            account: account(&value(&["25"])),
            currency,
            line: message.line,
            opening_minor: opening.as_ref().map(|balance| balance.amount_minor),
            opening_date: opening.as_ref().map(|balance| balance.date),
            closing_minor: closing.as_ref().map(|balance| balance.amount_minor),
            closing_date: closing.as_ref().map(|balance| balance.date),
            entries_sum_minor: 0,
            entry_count: 0,
        };
        // Entries: each :61: with the :86: right after it.
        let mut pending: Option<StatementEntry> = None;
        for field in &message.fields {
            match field.tag.as_str() {
                "61" => {
                    self.flush(&mut pending, &mut statement);
                    pending = self.entry(field, index, currency);
                }
                "86" => {
                    if let Some(entry) = pending.as_mut() {
                        attach(entry, &information(&field.lines));
                    }
                }
                _ => self.flush(&mut pending, &mut statement),
            }
        }
        self.flush(&mut pending, &mut statement);
        if let Some(difference) = statement.balance_difference_minor() {
            if difference != 0 {
                let money = |minor| Money::new(minor, currency);
                let text = format!(
                    "statement {name} does not roll: opening {} + entries {} ≠ closing {} (difference {})",
                    money(statement.opening_minor.unwrap_or(0)),
                    money(statement.entries_sum_minor),
                    money(statement.closing_minor.unwrap_or(0)),
                    money(difference)
                );
                self.push(Diagnostic::warning(self.file, message.line, 0, text));
            }
        }
        self.out.statements.push(statement);
    }

    fn flush(&mut self, pending: &mut Option<StatementEntry>, statement: &mut Statement) {
        if let Some(entry) = pending.take() {
            statement.entries_sum_minor += entry.amount_minor;
            statement.entry_count += 1;
            if self.out.entries.len() >= limits::FILE_ROWS_MAX as usize {
                self.error(entry.line, 0, format!("the file has more than {} entries", limits::FILE_ROWS_MAX));
                self.stopped = true;
                return;
            }
            self.out.entries.push(entry);
        }
    }

    fn balance(&mut self, field: &Field) -> Option<Balance> {
        let text = field.lines[0].trim_end();
        match parse_balance(text) {
            Ok(balance) => Some(balance),
            Err((offset, reason)) => {
                let message = format!(":{}: balance '{text}': {reason}", field.tag);
                self.error(field.line, field.column + offset as u32, message);
                None
            }
        }
    }

    fn entry(&mut self, field: &Field, index: u32, currency: Currency) -> Option<StatementEntry> {
        let first = field.lines[0].trim_end();
        let mut rest: &[String] = &field.lines[1..];
        let mut parsed = parse_statement_line(first, currency);
        let mut merged = false;
        // Sparkasse: the first line ends before the amount; it goes on on the next line.
        if let (Err((offset, _)), Some(next)) = (&parsed, rest.first()) {
            if *offset >= first.len() {
                parsed = parse_statement_line(&format!("{first}{}", next.trim_end()), currency);
                rest = &rest[1..];
                merged = true;
            }
        }
        match parsed {
            Ok(mut line) => {
                line.supplementary = rest
                    .iter()
                    .map(|part| clean(part.trim()))
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let reference = match line.customer_ref.as_str() {
                    "NONREF" | "NOTPROVIDED" => String::new(),
                    other => other.to_owned(),
                };
                Some(StatementEntry {
                    statement: index,
                    line: field.line,
                    booking_date: line.booking_date,
                    value_date: Some(line.value_date),
                    amount_minor: if line.credit { line.amount_minor } else { -line.amount_minor },
                    currency,
                    entry_ref: line.bank_ref,
                    reference,
                    counterparty: String::new(),
                    description: line.supplementary,
                    original_amount: None,
                    fee_minor: None,
                    reversal: line.reversal,
                })
            }
            Err((offset, reason)) => {
                let (line, column) = if merged && offset >= first.len() {
                    (field.line + 1, (offset - first.len()) as u32 + 1)
                } else {
                    (field.line, field.column + offset as u32)
                };
                self.error(line, column, format!(":61: statement line: {reason}"));
                None
            }
        }
    }
}

/// The account of `:25:`, without a currency some banks append (`NL69INGB0123456789EUR`).
fn account(text: &str) -> String {
    if text.len() > 18 && text.is_ascii() {
        let (head, tail) = text.split_at(text.len() - 3);
        let iban_like = head.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
            && head.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
        if iban_like && Currency::from_code(tail).is_ok() && tail.bytes().all(|b| b.is_ascii_uppercase()) {
            return head.to_owned();
        }
    }
    text.to_owned()
}

fn attach(entry: &mut StatementEntry, information: &Information) {
    let mut parts: Vec<&str> = Vec::new();
    if !entry.description.is_empty() {
        parts.push(&entry.description);
    }
    if !information.description.is_empty() {
        parts.push(&information.description);
    }
    entry.description = parts.join(" ");
    if !information.counterparty.is_empty() {
        entry.counterparty = information.counterparty.clone();
    }
    if !information.reference.is_empty() {
        entry.reference = information.reference.clone();
    }
}

#[derive(Debug)]
struct Balance {
    date: NaiveDate,
    currency: Currency,
    amount_minor: i64,
}

type ParseError = (usize, String);

/// `C100722EUR0,00`: mark, date, currency, amount. Errors carry the offset in `text`.
fn parse_balance(text: &str) -> Result<Balance, ParseError> {
    let sign = match text.as_bytes().first() {
        Some(b'C') => 1,
        Some(b'D') => -1,
        _ => return Err((0, "expected the mark C or D".to_owned())),
    };
    let date = parse_yymmdd(text, 1)?;
    let code = text.get(7..10).ok_or((7, "expected a currency code".to_owned()))?;
    let currency = Currency::from_code(code).map_err(|error| (7, error.to_string()))?;
    let amount = &text[10..];
    let amount_minor = parse_amount(amount, currency).map_err(|reason| (10, reason))?;
    Ok(Balance { date, currency, amount_minor: sign * amount_minor })
}

fn parse_amount(text: &str, currency: Currency) -> Result<i64, String> {
    if text.starts_with(['-', '+']) {
        return Err(format!("amount '{text}' has a sign; the mark C/D is the sign"));
    }
    match parse_amount_minor(text, NumberStyle::Comma, currency.exponent()) {
        Ok(minor) if minor > limits::AMOUNT_MINOR_ABS_MAX => Err(format!("amount '{text}' is out of range")),
        Ok(minor) => Ok(minor),
        Err(error) => Err(format!("amount in {currency}: {error}")),
    }
}

fn two_digits(text: &str, at: usize) -> Option<u32> {
    let part = text.get(at..at + 2)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// `YYMMDD` at `at`: 20yy below 80, else 19yy.
fn parse_yymmdd(text: &str, at: usize) -> Result<NaiveDate, ParseError> {
    let (Some(yy), Some(month), Some(day)) = (two_digits(text, at), two_digits(text, at + 2), two_digits(text, at + 4))
    else {
        return Err((at, "expected a date YYMMDD".to_owned()));
    };
    let year = if yy < 80 { 2000 + yy as i32 } else { 1900 + yy as i32 };
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| (at, format!("'{}' is not a real date", &text[at..at + 6])))
}

/// `:61:` (first line, or the first two joined when the first ends before the amount).
fn parse_statement_line(text: &str, currency: Currency) -> Result<StatementLine, ParseError> {
    let bytes = text.as_bytes();
    let value_date = parse_yymmdd(text, 0)?;
    let mut at = 6;
    let mut booking_date = value_date;
    if let (Some(month), Some(day)) = (two_digits(text, 6), two_digits(text, 8)) {
        booking_date = entry_date(value_date, month, day)
            .ok_or_else(|| (6, format!("entry date '{}' is not a real date", &text[6..10])))?;
        at = 10;
    }
    let (credit, reversal, mark_length) = match bytes.get(at..at + 2) {
        Some(b"RC") => (true, true, 2),
        Some(b"RD") => (false, true, 2),
        _ => match bytes.get(at) {
            Some(b'C') => (true, false, 1),
            Some(b'D') => (false, false, 1),
            _ => return Err((at, "expected the mark C, D, RC or RD".to_owned())),
        },
    };
    at += mark_length;
    if bytes.get(at).is_some_and(u8::is_ascii_uppercase) {
        at += 1; // funds code
    }
    let amount_length = bytes[at..].iter().take_while(|b| b.is_ascii_digit() || **b == b',').count();
    if amount_length == 0 {
        return Err((at, "expected the amount".to_owned()));
    }
    let amount_minor = parse_amount(&text[at..at + amount_length], currency).map_err(|reason| (at, reason))?;
    at += amount_length;
    let kind = bytes.get(at..at + 4);
    let valid_kind = kind
        .is_some_and(|kind| matches!(kind[0], b'N' | b'F' | b'S') && kind[1..].iter().all(u8::is_ascii_alphanumeric));
    if !valid_kind {
        return Err((at, "expected the transaction type (N, F or S and three characters, e.g. NTRF)".to_owned()));
    }
    at += 4;
    let references = &text[at..];
    let (customer_ref, bank_ref) = match references.split_once("//") {
        Some((customer, bank)) => (customer.trim(), bank.trim()),
        None => (references.trim(), ""),
    };
    Ok(StatementLine {
        value_date,
        booking_date,
        credit,
        reversal,
        amount_minor,
        customer_ref: clean(customer_ref),
        bank_ref: clean(bank_ref),
        supplementary: String::new(),
    })
}

/// The entry date `MMDD` in the year that puts it nearest the value date.
fn entry_date(value_date: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let year = value_date.year();
    [year, year - 1, year + 1]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .min_by_key(|date| (*date - value_date).num_days().abs())
}

/// Control characters (a stray binary byte) become spaces.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// SEPA keywords in German purpose text (`EREF+…`).
const SEPA_KEYWORDS: &[&str] =
    &["EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "IBAN+", "BIC+", "COAM+", "OAMT+"];

/// Dutch structured `:86:` keys.
const DUTCH_KEYS: &[&str] = &[
    "TRTP", "EREF", "NAME", "REMI", "CNTP", "IBAN", "BIC", "ORDP", "BENM", "MARF", "CSID", "PREF", "RTRN", "TRCD",
    "ADDR", "ULTC", "ULTD", "ULTB", "PURP", "SVCL", "ISDT", "EXCH", "OCMT", "CHGS", "ID",
];

fn information(lines: &[String]) -> Information {
    let joined: String = lines.iter().map(|line| line.trim_end_matches(['\r', '\n'])).collect();
    let joined = clean(&joined);
    let trimmed = joined.trim();
    let german = trimmed.contains("?20")
        || (trimmed.len() > 3
            && trimmed.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            && trimmed.as_bytes()[3] == b'?');
    if german {
        return german_information(trimmed);
    }
    if trimmed.starts_with('/')
        && ["/EREF/", "/NAME/", "/REMI/", "/TRTP/", "/CNTP/"].iter().any(|k| trimmed.contains(k))
    {
        return dutch_information(trimmed);
    }
    let description =
        lines.iter().map(|line| clean(line.trim())).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ");
    Information { description, ..Information::default() }
}

/// `166?00GUTSCHRIFT?20EREF+X?21SVWZ+Y?32NAME`.
fn german_information(text: &str) -> Information {
    let mut subfields: Vec<(u32, String)> = Vec::new();
    let mut rest = text;
    // Text before the first `?NN` is the transaction code.
    while let Some(at) = rest.find('?') {
        let after = &rest[at + 1..];
        match two_digits(after, 0) {
            Some(number) => {
                let body = &after[2..];
                let end = next_subfield(body).unwrap_or(body.len());
                subfields.push((number, body[..end].to_owned()));
                rest = &body[end..];
            }
            None => rest = after,
        }
    }
    let join = |range: &dyn Fn(u32) -> bool| {
        subfields.iter().filter(|(number, _)| range(*number)).map(|(_, text)| text.as_str()).collect::<String>()
    };
    let description = join(&|n| (20..=29).contains(&n) || (60..=63).contains(&n)).trim().to_owned();
    let counterparty = join(&|n| n == 32 || n == 33).trim().to_owned();
    let reference = sepa_value(&description, "EREF+").unwrap_or_default();
    Information { description, counterparty, reference }
}

/// Offset of the next `?NN` in `text`.
fn next_subfield(text: &str) -> Option<usize> {
    text.match_indices('?').map(|(at, _)| at).find(|at| two_digits(text, at + 1).is_some())
}

fn sepa_value(text: &str, keyword: &str) -> Option<String> {
    let start = text.find(keyword)? + keyword.len();
    let body = &text[start..];
    let end = SEPA_KEYWORDS.iter().filter_map(|other| body.find(other)).min().unwrap_or(body.len());
    let value = body[..end].trim();
    (!value.is_empty() && value != "NOTPROVIDED").then(|| value.to_owned())
}

/// `/TRTP/SEPA OVERBOEKING/IBAN/NL…/NAME/J JANSEN/REMI/Factuur 1/EREF/NOTPROVIDED`.
fn dutch_information(text: &str) -> Information {
    let mut markers: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let found = DUTCH_KEYS.iter().find(|key| {
            text[at..].starts_with('/')
                && text[at + 1..].starts_with(**key)
                && text[at + 1 + key.len()..].starts_with('/')
        });
        match found {
            Some(key) => {
                markers.push((at, key));
                at += key.len() + 1; // The closing `/` may open the next key.
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    let value = |wanted: &str| {
        markers.iter().enumerate().find(|(_, (_, key))| *key == wanted).map(|(index, (start, key))| {
            let from = start + key.len() + 2;
            let to = markers.get(index + 1).map_or(text.len(), |(next, _)| *next);
            text.get(from..to.max(from)).unwrap_or("").trim_matches('/').trim().to_owned()
        })
    };
    let remittance = value("REMI").unwrap_or_default();
    let description = remittance
        .strip_prefix("USTD//")
        .or_else(|| remittance.strip_prefix("STRD/CUR/"))
        .unwrap_or(&remittance)
        .trim_matches('/')
        .to_owned();
    let counterparty = value("NAME")
        .filter(|name| !name.is_empty())
        .or_else(|| value("CNTP").and_then(|cntp| cntp.split('/').nth(2).map(|name| name.trim().to_owned())));
    let reference = value("EREF").filter(|reference| !reference.is_empty() && reference != "NOTPROVIDED");
    Information {
        description: if description.is_empty() { text.to_owned() } else { description },
        counterparty: counterparty.unwrap_or_default(),
        reference: reference.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tieout_core::diag::Severity;

    const SAMPLE: &[u8] = include_bytes!("../tests/fixtures/mt940_ing.sta");

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn findings(file: &StatementFile) -> Vec<(Severity, u32, u32, String)> {
        file.diagnostics.iter().map(|d| (d.severity, d.line, d.column, d.message.clone())).collect()
    }

    type Row = (u32, u32, NaiveDate, NaiveDate, i64, bool, String, String, String, String);

    fn rows(file: &StatementFile) -> Vec<Row> {
        file.entries
            .iter()
            .map(|e| {
                (
                    e.statement,
                    e.line,
                    e.booking_date,
                    e.value_date.unwrap(),
                    e.amount_minor,
                    e.reversal,
                    e.entry_ref.clone(),
                    e.reference.clone(),
                    e.counterparty.clone(),
                    e.description.clone(),
                )
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        statement: u32,
        line: u32,
        booking: &str,
        value: &str,
        amount_minor: i64,
        reversal: bool,
        entry_ref: &str,
        reference: &str,
        counterparty: &str,
        description: &str,
    ) -> Row {
        (
            statement,
            line,
            date(booking),
            date(value),
            amount_minor,
            reversal,
            entry_ref.into(),
            reference.into(),
            counterparty.into(),
            description.into(),
        )
    }

    #[test]
    fn ing_sample() {
        let file = read_mt940("mt940_ing.sta", SAMPLE);
        // The jejik/wolph test file does not roll: 0.00 − 45.59 is not the stated 3.47.
        assert_eq!(
            findings(&file),
            vec![(
                Severity::Warning,
                4,
                0,
                "statement MPBZ 000 does not roll: opening 0.00 EUR + entries -45.59 EUR ≠ closing 3.47 EUR (difference 49.06 EUR)"
                    .to_owned()
            )]
        );
        assert_eq!(
            file.statements,
            vec![Statement {
                statement_ref: "MPBZ 000".into(),
                account: "0001234567".into(),
                currency: Currency::EUR,
                line: 4,
                opening_minor: Some(0),
                opening_date: Some(date("2010-07-22")),
                closing_minor: Some(347),
                closing_date: Some(date("2010-07-23")),
                entries_sum_minor: -4559,
                entry_count: 7,
            }]
        );
        assert_eq!(file.statements[0].balance_difference_minor(), Some(4906));
        let d = "2010-07-22";
        // The file is UTF-8 with soft hyphens (U+00AD) in dates and tabs, which become spaces.
        assert_eq!(
            rows(&file),
            vec![
                row(0, 8, d, d, -2503, false, "", "", "", "RC AFREKENING BETALINGSVERKEER BETREFT REKENING 4715589 PERIODE: 01-10-2010 / 31-12-2010 ING Bank N.V. tarifering ING"),
                row(0, 12, d, d, -303, false, "", "", "", "0111111111 GPSEOUL SPOEDBETALING MPBZS1016000047 GPSEOUL"),
                row(0, 14, d, d, -111, false, "", "TMG TANGO", "", "0111111111 ING iDEAL KN: TMG TANGO TRANSACTIENR 0050000534527978 10\u{ad}06\u{ad}2010 15:32 TMG TANGO ING Bank inzake GPKyoto"),
                row(0, 16, d, d, -2000, false, "", "", "", "ABN AMRO BANK>AMSTERDAM 22\u{ad}07\u{ad}2010 09:57 002 5595781"),
                row(0, 18, d, d, -110, false, "", "", "", "0111111111 GPPeking 170000001AC"),
                row(0, 20, d, d, 368, false, "", "", "", "0123456789 EJ46GREENP100610T1456 CLIEOP TMG GPHONGKONG AMSTERDAM"),
                row(0, 22, "2010-07-23", "2010-07-23", 100, false, "", "", "", "0111111111 Hr S Marechal ROSMALEN Hr S Marechal ROSMALEN Betaling transactiedatum: 22-07-2010"),
            ]
        );
        assert!(file.entries.iter().all(|e| e.currency == Currency::EUR && e.original_amount.is_none()));
    }

    /// Two messages in SWIFT blocks, CRLF, Windows-1252, `9,`, a year-end entry date, a
    /// German `?NN` `:86:` wrapped mid-tag, a Sparkasse `:61:` split across lines, a Dutch
    /// structured `:86:` and a reversal.
    const MULTI: &[u8] = b"{1:F01BANKDEFFAXXX0000000000}{2:O940}{4:\r\n\
:20:STMT1\r\n\
:25:DE89370400440532013000EUR\r\n\
:28C:1/1\r\n\
:60F:C181231EUR100,00\r\n\
:61:1812311231CR9,NTRFNONREF//B1\r\n\
:86:166?00GUTSCHRIFT?20EREF+E2E-1?21SVWZ+Rechnung 4711 vo?2\r\n\
2m 28.12.?32AMAZON PAYMENTS EU?33ROPE S.A.\r\n\
:61:1812310102D10,00NMSCREF1\r\n\
Gebuehren\r\n\
:86:Kontof\xfchrung M\xe4rz\r\n\
:62F:C190102EUR99,00\r\n\
-}\r\n\
{5:{CHK:123}}\r\n\
\r\n\
ABNANL2A\r\n\
940\r\n\
:20:STMT2\r\n\
:25:NL12ABNA0123456789\r\n\
:28:2\r\n\
:60M:C190102EUR99,00\r\n\
:61:1901020102CR\r\n\
30,00N062NONREF\r\n\
:86:/TRTP/SEPA OVERBOEKING/IBAN/NL12ABNA0123456789/BIC/ABNANL2A/NAME/J JANSEN/REMI/Factuur 1/2/EREF/NOTPROVIDED\r\n\
:61:190103RD5,00NTRFNONREF\r\n\
:\r\n\
86:/EREF/E2E-9//CNTP/NL08INGB0000000555/INGBNL2A/ING Bank N.V./AMSTERDAM//REMI/USTD//Storno/\r\n\
:62M:C190103EUR120,00\r\n\
-";

    #[test]
    fn multi_message_file() {
        let file = read_mt940("multi.sta", MULTI);
        assert_eq!(
            findings(&file),
            vec![(
                Severity::Warning,
                18,
                0,
                "statement STMT2 2 does not roll: opening 99.00 EUR + entries 25.00 EUR ≠ closing 120.00 EUR (difference -4.00 EUR)"
                    .to_owned()
            )]
        );
        let summary: Vec<_> = file
            .statements
            .iter()
            .map(|s| {
                (s.statement_ref.as_str(), s.account.as_str(), s.line, s.opening_minor, s.closing_minor, s.entry_count)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("STMT1 1/1", "DE89370400440532013000", 2, Some(10_000), Some(9_900), 2),
                ("STMT2 2", "NL12ABNA0123456789", 18, Some(9_900), Some(12_000), 2),
            ]
        );
        assert_eq!(file.statements[0].balance_difference_minor(), Some(0));
        assert_eq!(file.statements[1].closing_date, Some(date("2019-01-03")));
        assert_eq!(
            rows(&file),
            vec![
                row(
                    0,
                    6,
                    "2018-12-31",
                    "2018-12-31",
                    900,
                    false,
                    "B1",
                    "E2E-1",
                    "AMAZON PAYMENTS EUROPE S.A.",
                    "EREF+E2E-1SVWZ+Rechnung 4711 vom 28.12."
                ),
                // December value date, January entry date: booked in the next year.
                row(
                    0,
                    9,
                    "2019-01-02",
                    "2018-12-31",
                    -1000,
                    false,
                    "",
                    "REF1",
                    "",
                    "Gebuehren Kontof\u{fc}hrung M\u{e4}rz"
                ),
                row(1, 22, "2019-01-02", "2019-01-02", 3000, false, "", "", "J JANSEN", "Factuur 1/2"),
                row(1, 25, "2019-01-03", "2019-01-03", -500, true, "", "E2E-9", "ING Bank N.V.", "Storno"),
            ]
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = "\
:20:A\n\
:25:X\n\
:60F:C260101EUR0,00\n\
:61:2602300230C1,00NTRFNONREF\n\
:61:260201C1,005NTRFNONREF\n\
:61:260201X1,00NTRFNONREF\n\
:62F:C260102EUR0,00\n\
-\n\
:20:B\n\
:60F:C260101EUR0,00\n\
:61:260101C1,00NTRFNONREF\n\
-\n\
:20:C\n\
:62F:C260230EUR0,00\n\
-\n";
        let file = read_mt940("bad.sta", text.as_bytes());
        let errors: Vec<_> =
            findings(&file).into_iter().filter(|f| f.0 == Severity::Error).map(|f| (f.1, f.2, f.3)).collect();
        assert_eq!(
            errors,
            vec![
                (4, 5, ":61: statement line: '260230' is not a real date".to_owned()),
                (
                    5,
                    12,
                    ":61: statement line: amount in EUR: '1,005' has more decimal places than 2, the currency's"
                        .to_owned()
                ),
                (6, 11, ":61: statement line: expected the mark C, D, RC or RD".to_owned()),
                (9, 0, "MT940 statement starting at line 9 has no closing balance :62F: (or :62M:)".to_owned()),
                (13, 0, "MT940 statement starting at line 13 has no opening balance :60F: (or :60M:)".to_owned()),
                (14, 7, ":62F: balance 'C260230EUR0,00': '260230' is not a real date".to_owned()),
            ]
        );
        // The message without a closing balance is still listed, with its entry.
        assert_eq!(file.statements[1].closing_minor, None);
        assert_eq!(file.statements[1].entry_count, 1);
    }

    #[test]
    fn statement_lines() {
        let eur = Currency::EUR;
        let line = parse_statement_line("1105240524D9,N192NONREF", eur).unwrap();
        assert_eq!(
            (line.value_date, line.booking_date, line.credit, line.amount_minor),
            (date("2011-05-24"), date("2011-05-24"), false, 900)
        );
        let line = parse_statement_line("1901020101RC1234,5FCHK123//BANK 9", eur).unwrap();
        assert_eq!(
            (
                line.booking_date,
                line.credit,
                line.reversal,
                line.amount_minor,
                line.customer_ref.as_str(),
                line.bank_ref.as_str()
            ),
            (date("2019-01-01"), true, true, 123_450, "123", "BANK 9")
        );
        // A January value date, December entry date: the entry is in the year before.
        let line = parse_statement_line("2001021231D1,00NTRFX", eur).unwrap();
        assert_eq!(line.booking_date, date("2019-12-31"));
        assert_eq!(parse_statement_line("2601010230D1,00NTRFX", eur).unwrap_err().0, 6);
        assert_eq!(parse_statement_line("260101D1,00", eur).unwrap_err().0, 11);
        assert_eq!(parse_statement_line("260101D-1,00NTRF", eur).unwrap_err().0, 7);
    }

    #[test]
    fn diagnostics_stop_at_the_limit() {
        let text =
            format!(":20:A\n:60F:C260101EUR0,00\n{}:62F:C260101EUR0,00\n", ":61:260101C1,005NTRFNONREF\n".repeat(150));
        let file = read_mt940("many.sta", text.as_bytes());
        assert_eq!(file.diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        assert!(file.diagnostics.last().unwrap().message.starts_with("too many problems"));
    }

    #[test]
    fn not_mt940() {
        assert_eq!(findings(&read_mt940("e.sta", b"")), vec![(Severity::Error, 0, 0, "the file is empty".to_owned())]);
        let file = read_mt940("x.sta", b"hello\nworld\n");
        assert!(file.diagnostics[0].message.starts_with("no MT940 statement found"));
    }

    #[test]
    fn truncated_files_never_panic() {
        // Every truncation and a stray byte anywhere read without a panic.
        for cut in 0..MULTI.len() {
            let _ = read_mt940("cut.sta", &MULTI[..cut]);
            let mut bytes = MULTI.to_vec();
            bytes[cut] = 0x81;
            let _ = read_mt940("byte.sta", &bytes);
        }
        for cut in 0..SAMPLE.len() {
            let _ = read_mt940("cut.sta", &SAMPLE[..cut]);
        }
    }
}
