//! ISO 20022 bank-to-customer statements: camt.053 (`BkToCstmrStmt/Stmt`), and with the
//! same code camt.052 (`BkToCstmrAcctRpt/Rpt`) and camt.054 (`BkToCstmrDbtCdtNtfctn/Ntfctn`),
//! read into a [`StatementFile`]: one [`Statement`] per `Stmt` (`Rpt`, `Ntfctn`), one
//! [`StatementEntry`] per booked `Ntry`, and diagnostics with line and column. The format is
//! described in `../shared/formats/camt053.md`.
//!
//! # Quirks handled
//!
//! * **Any version, any namespace**: elements are matched by local name (`camt.053.001.02`
//!   to `.001.10+`, prefixed or not); unknown elements are ignored.
//! * The XML is read with a streaming reader (no tree in memory). A file that is not
//!   well-formed (mismatched or unclosed tags, a truncated file) is an error at the line and
//!   column where the XML breaks; a file that ends with elements still open is truncated
//!   (error at the end of the file, naming the open element and its line).
//! * **Amounts are positive**; the sign is `CdtDbtInd` (`DBIT` negative), for entries and
//!   balances alike (a `DBIT` `CLBD` is an overdrawn account). Amounts use a decimal point
//!   and the currency's exponent (`2700` JPY); extra decimals are accepted only when they are
//!   zeros (`18.150` EUR, as in genkgo's five-decimals stub), never rounded.
//! * The statement's currency is `Acct/Ccy`, else the first entry's `Amt@Ccy`, else the
//!   first balance's. An entry in another currency is an error (a statement is one currency).
//! * Opening balance: `OPBD`, else `PRCD` (previously closed booked); closing: `CLBD`. Other
//!   balance types (`OPAV`, `CLAV`, `ITBD`, `FWAV` …) are not read. A balance in a currency
//!   other than the statement's is **not converted**: it is left out (`None`) with a
//!   warning, so the balance check cannot be made (genkgo's stub deliberately puts `OPBD`
//!   in EUR and `CLBD` in SEK).
//! * Only `BOOK` entries are read (`Sts` as text up to v06, `Sts/Cd` from v08); `PDNG`,
//!   `INFO` and other statuses are skipped and counted in one warning per statement. An
//!   entry without `Sts` is taken as booked.
//! * Dates are `Dt` or `DtTm` (the date as written, in the bank's offset: never moved to
//!   UTC); a `DtTm` written inside `Dt` is accepted. Booking date `BookgDt`, else `ValDt`.
//! * A batch (`NtryDtls/Btch`, many `TxDtls`) is one entry, as booked: the reference is the
//!   first `EndToEndId` that is not `NOTPROVIDED`, the counterparty the first name found,
//!   the description every `Ustrd` of every transaction joined by a space, then
//!   `AddtlNtryInf`. The counterparty is the other party: the debtor (`Dbtr/Nm` or
//!   `Dbtr/Pty/Nm`) of money received, the creditor of money paid; for a reversal, the
//!   party of the original booking.
//! * `AmtDtls/InstdAmt` (of the entry, or of its only transaction) is the original amount
//!   when its currency differs from the entry's.
//! * Balance check per statement: opening + Σ booked entries = closing; a difference is a
//!   warning naming the statement and the amounts (the statement is still imported).
//! * Character and predefined entity references (`&amp;`, `&#228;`) are resolved.

use tieout_core::diag::Diagnostic;
use tieout_core::limits;
use tieout_core::money::{parse_amount_minor, Currency, Money, NumberStyle};
use tieout_core::statement::{Statement, StatementEntry, StatementFile};

use chrono::NaiveDate;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;

/// Reads a camt.053 (or camt.052 / camt.054) file from its bytes. Problems are in the
/// returned diagnostics; any error means the file must not be imported.
pub fn read_camt053(file_name: &str, bytes: &[u8]) -> StatementFile {
    let mut out = StatementFile::default();
    let text = match crate::text::nonblank_utf8(file_name, bytes, "statement") {
        Ok(text) => text,
        Err(diagnostic) => {
            out.diagnostics.push(diagnostic);
            return out;
        }
    };
    let mut parser = Parser::new(file_name, text, out);
    parser.run();
    parser.finish()
}

/// Element names that hold one statement, under their document's root element.
const STATEMENT_CONTAINERS: &[(&str, &str)] =
    &[("BkToCstmrStmt", "Stmt"), ("BkToCstmrAcctRpt", "Rpt"), ("BkToCstmrDbtCdtNtfctn", "Ntfctn")];

/// A text value with the byte offset of its element's start tag (for diagnostics).
#[derive(Clone, Debug, Default)]
struct Value {
    text: String,
    offset: usize,
}

#[derive(Debug, Default)]
struct RawBalance {
    code: String,
    amount: Option<Value>,
    currency: String,
    indicator: String,
    date: Option<Value>,
}

#[derive(Debug, Default)]
struct RawEntry {
    line: u32,
    offset: usize,
    amount: Option<Value>,
    currency: String,
    indicator: Option<Value>,
    reversal: bool,
    status: String,
    booking_date: Option<Value>,
    value_date: Option<Value>,
    entry_ref: String,
    transaction_entry_ref: String,
    reference: String,
    debtor: String,
    creditor: String,
    remittance: Vec<String>,
    additional: String,
    instructed: Option<Value>,
    instructed_currency: String,
    transaction_instructed: Option<Value>,
    transaction_instructed_currency: String,
    transactions: u32,
}

#[derive(Debug, Default)]
struct RawStatement {
    line: u32,
    id: String,
    iban: String,
    other_id: String,
    currency: Option<Value>,
    balances: Vec<RawBalance>,
    entries: Vec<RawEntry>,
}

/// Turns byte offsets into 1-based lines and columns; fast for increasing offsets.
struct Locator<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u32,
    line_start: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Locator<'a> {
        Locator { bytes: text.as_bytes(), offset: 0, line: 1, line_start: 0 }
    }

    fn locate(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            *self = Locator { bytes: self.bytes, offset: 0, line: 1, line_start: 0 };
        }
        for (index, byte) in self.bytes[self.offset..offset].iter().enumerate() {
            if *byte == b'\n' {
                self.line += 1;
                self.line_start = self.offset + index + 1;
            }
        }
        self.offset = offset;
        // Columns count characters: skip UTF-8 continuation bytes.
        let column = self.bytes[self.line_start..offset].iter().filter(|b| (**b & 0xC0) != 0x80).count() as u32 + 1;
        (self.line, column)
    }
}

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
    locator: Locator<'a>,
    out: StatementFile,
    /// Open elements: local name and the offset of the start tag.
    stack: Vec<(String, usize)>,
    /// Character data of the innermost element (cleared at every tag).
    characters: String,
    /// `Ccy` of the last `Amt`-like start tag.
    attribute_currency: String,
    /// Depth (index in `stack`) of the open statement element and entry element.
    statement_depth: Option<usize>,
    entry_depth: Option<usize>,
    statement: RawStatement,
    balance: RawBalance,
    entry: RawEntry,
    statements_seen: u32,
    stopped: bool,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, text: &'a str, out: StatementFile) -> Parser<'a> {
        Parser {
            file,
            text,
            locator: Locator::new(text),
            out,
            stack: Vec::new(),
            characters: String::new(),
            attribute_currency: String::new(),
            statement_depth: None,
            entry_depth: None,
            statement: RawStatement::default(),
            balance: RawBalance::default(),
            entry: RawEntry::default(),
            statements_seen: 0,
            stopped: false,
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        if self.stopped {
            return;
        }
        self.stopped = !crate::text::push_limited(&mut self.out.diagnostics, self.file, diagnostic);
    }

    fn error_at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = self.locator.locate(offset);
        self.push(Diagnostic::error(self.file, line, column, message));
    }

    fn warning_at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = self.locator.locate(offset);
        self.push(Diagnostic::warning(self.file, line, column, message));
    }

    fn run(&mut self) {
        let mut reader = Reader::from_str(self.text);
        while !self.stopped {
            let offset = reader.buffer_position() as usize;
            match reader.read_event() {
                Err(error) => {
                    let at = reader.error_position() as usize;
                    self.error_at(at, format!("the file is not well-formed XML: {error}"));
                    return;
                }
                Ok(Event::Start(start)) => self.start(start.local_name().as_ref(), offset, currency_attribute(&start)),
                Ok(Event::Empty(start)) => {
                    self.start(start.local_name().as_ref(), offset, currency_attribute(&start));
                    self.end();
                }
                Ok(Event::End(_)) => self.end(),
                Ok(Event::Text(text)) => self.characters.push_str(&text.xml10_content()),
                Ok(Event::CData(data)) => self.characters.push_str(&data.xml10_content()),
                Ok(Event::GeneralRef(reference)) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(character)) => Some(character),
                        Ok(None) => match &*reference {
                            "amp" => Some('&'),
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "quot" => Some('"'),
                            "apos" => Some('\''),
                            _ => None,
                        },
                        Err(_) => None,
                    };
                    match resolved {
                        Some(character) => self.characters.push(character),
                        None => {
                            let name = reference.to_string();
                            self.error_at(
                                offset,
                                format!("the file is not well-formed XML: unknown reference '&{name};'"),
                            );
                            return;
                        }
                    }
                }
                Ok(Event::Eof) => {
                    if let Some((name, start)) = self.stack.last().cloned() {
                        let (line, _) = self.locator.locate(start);
                        let message = format!(
                            "the file ends inside <{name}> (opened at line {line}): the XML is truncated or not well-formed"
                        );
                        self.error_at(self.text.len(), message);
                    }
                    return;
                }
                Ok(_) => {}
            }
        }
    }

    fn start(&mut self, name: &str, offset: usize, currency: String) {
        self.characters.clear();
        self.attribute_currency = currency;
        let depth = self.stack.len();
        let parent = self.stack.last().map(|(name, _)| name.as_str());
        if self.statement_depth.is_none()
            && STATEMENT_CONTAINERS.iter().any(|(root, element)| Some(*root) == parent && *element == name)
        {
            let (line, _) = self.locator.locate(offset);
            self.statement = RawStatement { line, ..RawStatement::default() };
            self.statement_depth = Some(depth);
        } else if let Some(statement_depth) = self.statement_depth {
            if depth == statement_depth + 1 && name == "Bal" {
                self.balance = RawBalance::default();
            } else if depth == statement_depth + 1 && name == "Ntry" && self.entry_depth.is_none() {
                let (line, _) = self.locator.locate(offset);
                self.entry = RawEntry { line, offset, ..RawEntry::default() };
                self.entry_depth = Some(depth);
            } else if name == "TxDtls" && self.entry_depth.is_some() {
                self.entry.transactions += 1;
            }
        }
        self.stack.push((name.to_owned(), offset));
    }

    fn end(&mut self) {
        let text = std::mem::take(&mut self.characters);
        let Some(&(_, offset)) = self.stack.last() else {
            return;
        };
        let depth = self.stack.len() - 1;
        if let Some(statement_depth) = self.statement_depth {
            let stack = std::mem::take(&mut self.stack);
            let path: Vec<&str> = stack[statement_depth + 1..].iter().map(|(name, _)| name.as_str()).collect();
            let value = Value { text: text.trim().to_owned(), offset };
            if self.entry_depth.is_some() {
                self.entry_field(&path, value);
            } else {
                self.statement_field(&path, value);
            }
            let at_statement_end = depth == statement_depth && path.is_empty();
            drop(path);
            self.stack = stack;
            if Some(depth) == self.entry_depth {
                self.entry_depth = None;
                let entry = std::mem::take(&mut self.entry);
                if self.out.entries.len() + self.statement.entries.len() >= limits::FILE_ROWS_MAX as usize {
                    self.error_at(offset, format!("the file has more than {} entries", limits::FILE_ROWS_MAX));
                    self.stopped = true;
                }
                self.statement.entries.push(entry);
            } else if at_statement_end {
                self.statement_depth = None;
                let statement = std::mem::take(&mut self.statement);
                self.finish_statement(statement);
            }
        }
        self.stack.pop();
    }

    fn statement_field(&mut self, path: &[&str], value: Value) {
        let statement = &mut self.statement;
        match path {
            ["Id"] => statement.id = value.text,
            ["Acct", "Id", "IBAN"] => statement.iban = value.text,
            ["Acct", "Id", "Othr", "Id"] => statement.other_id = value.text,
            ["Acct", "Ccy"] => statement.currency = Some(value),
            ["Bal", "Tp", "CdOrPrtry", "Cd"] => self.balance.code = value.text,
            ["Bal", "Amt"] => {
                self.balance.currency = std::mem::take(&mut self.attribute_currency);
                self.balance.amount = Some(value);
            }
            ["Bal", "CdtDbtInd"] => self.balance.indicator = value.text,
            ["Bal", "Dt", "Dt" | "DtTm"] => self.balance.date = Some(value),
            ["Bal"] => statement.balances.push(std::mem::take(&mut self.balance)),
            _ => {}
        }
    }

    fn entry_field(&mut self, path: &[&str], value: Value) {
        let entry = &mut self.entry;
        let Some((_, path)) = path.split_first() else {
            return;
        };
        let non_empty = !value.text.is_empty();
        match path {
            ["Amt"] => {
                entry.currency = std::mem::take(&mut self.attribute_currency);
                entry.amount = Some(value);
            }
            ["CdtDbtInd"] => entry.indicator = Some(value),
            ["RvslInd"] => entry.reversal = matches!(value.text.as_str(), "true" | "1"),
            ["Sts"] | ["Sts", "Cd" | "Prtry"] if non_empty => entry.status = value.text,
            ["BookgDt", "Dt" | "DtTm"] => entry.booking_date = Some(value),
            ["ValDt", "Dt" | "DtTm"] => entry.value_date = Some(value),
            ["AcctSvcrRef"] => entry.entry_ref = value.text,
            ["AddtlNtryInf"] => entry.additional = value.text,
            ["AmtDtls", "InstdAmt", "Amt"] => {
                entry.instructed_currency = std::mem::take(&mut self.attribute_currency);
                entry.instructed = Some(value);
            }
            ["NtryDtls", "TxDtls", rest @ ..] => match rest {
                ["Refs", "EndToEndId"] if entry.reference.is_empty() && non_empty && value.text != "NOTPROVIDED" => {
                    entry.reference = value.text
                }
                ["Refs", "AcctSvcrRef"] if entry.transaction_entry_ref.is_empty() => {
                    entry.transaction_entry_ref = value.text
                }
                ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] if entry.debtor.is_empty() => {
                    entry.debtor = value.text
                }
                ["RltdPties", "Cdtr", "Nm"] | ["RltdPties", "Cdtr", "Pty", "Nm"] if entry.creditor.is_empty() => {
                    entry.creditor = value.text
                }
                ["RmtInf", "Ustrd"] if non_empty => entry.remittance.push(value.text),
                ["AmtDtls", "InstdAmt", "Amt"] if entry.transaction_instructed.is_none() => {
                    entry.transaction_instructed_currency = std::mem::take(&mut self.attribute_currency);
                    entry.transaction_instructed = Some(value);
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn finish_statement(&mut self, raw: RawStatement) {
        self.statements_seen += 1;
        let id = if raw.id.is_empty() { format!("#{}", self.statements_seen) } else { raw.id.clone() };
        let statement_offset = self.stack.last().map_or(0, |(_, offset)| *offset);
        let currency_value = raw
            .currency
            .clone()
            .filter(|value| !value.text.is_empty())
            .or_else(|| {
                raw.entries.iter().find(|entry| !entry.currency.is_empty()).map(|entry| Value {
                    text: entry.currency.clone(),
                    offset: entry.amount.as_ref().map_or(entry.offset, |amount| amount.offset),
                })
            })
            .or_else(|| {
                raw.balances.iter().find(|balance| !balance.currency.is_empty()).map(|balance| Value {
                    text: balance.currency.clone(),
                    offset: balance.amount.as_ref().map_or(statement_offset, |amount| amount.offset),
                })
            });
        let Some(currency_value) = currency_value else {
            self.error_at(statement_offset, format!("statement {id} states no currency (Acct/Ccy or Amt@Ccy)"));
            return;
        };
        let currency = match Currency::from_code(&currency_value.text) {
            Ok(currency) => currency,
            Err(error) => {
                self.error_at(currency_value.offset, format!("statement {id}: {error}"));
                return;
            }
        };
        let opening = raw
            .balances
            .iter()
            .find(|balance| balance.code == "OPBD")
            .or_else(|| raw.balances.iter().find(|balance| balance.code == "PRCD"));
        let closing = raw.balances.iter().find(|balance| balance.code == "CLBD");
        let (opening_minor, opening_date) = self.balance(&id, currency, opening, "opening");
        let (closing_minor, closing_date) = self.balance(&id, currency, closing, "closing");
        let index = self.out.statements.len() as u32;
        let mut statement = Statement {
            statement_ref: raw.id.clone(),
            account: if raw.iban.is_empty() { raw.other_id.clone() } else { raw.iban.clone() },
            currency,
            line: raw.line,
            opening_minor,
            opening_date,
            closing_minor,
            closing_date,
            entries_sum_minor: 0,
            entry_count: 0,
        };
        let mut not_booked = 0u32;
        for entry in &raw.entries {
            if !entry.status.is_empty() && entry.status != "BOOK" {
                not_booked += 1;
                continue;
            }
            if let Some(entry) = self.entry(&id, index, currency, entry) {
                statement.entries_sum_minor += entry.amount_minor;
                statement.entry_count += 1;
                self.out.entries.push(entry);
            }
        }
        if not_booked > 0 {
            let message = format!(
                "statement {id}: {not_booked} entries not booked (status PDNG, INFO or other than BOOK) were skipped"
            );
            self.push(Diagnostic::warning(self.file, raw.line, 0, message));
        }
        if let Some(difference) = statement.balance_difference_minor() {
            if difference != 0 {
                let money = |minor| Money::new(minor, currency);
                let message = format!(
                    "statement {id} does not roll: opening {} + entries {} ≠ closing {} (difference {})",
                    money(statement.opening_minor.unwrap_or(0)),
                    money(statement.entries_sum_minor),
                    money(statement.closing_minor.unwrap_or(0)),
                    money(difference)
                );
                self.push(Diagnostic::warning(self.file, raw.line, 0, message));
            }
        }
        self.out.statements.push(statement);
    }

    /// Reads a balance in the statement's currency; `(None, date)` with a warning when it is
    /// in another currency.
    fn balance(
        &mut self,
        id: &str,
        currency: Currency,
        balance: Option<&RawBalance>,
        which: &str,
    ) -> (Option<i64>, Option<NaiveDate>) {
        let Some(balance) = balance else {
            return (None, None);
        };
        let date = match &balance.date {
            Some(value) => match parse_date(&value.text) {
                Ok(date) => Some(date),
                Err(message) => {
                    self.error_at(value.offset, format!("statement {id}: {which} balance {}: {message}", balance.code));
                    None
                }
            },
            None => None,
        };
        let Some(amount) = &balance.amount else {
            return (None, date);
        };
        if !balance.currency.is_empty() && !balance.currency.eq_ignore_ascii_case(currency.code()) {
            let message = format!(
                "statement {id}: the {which} balance {} is in {}, the statement in {currency}; it is not converted, so the balance check cannot be made",
                balance.code, balance.currency
            );
            self.warning_at(amount.offset, message);
            return (None, None);
        }
        let sign = match balance.indicator.as_str() {
            "CRDT" => 1,
            "DBIT" => -1,
            other => {
                let message = format!(
                    "statement {id}: {which} balance {}: CdtDbtInd is '{other}', not CRDT or DBIT",
                    balance.code
                );
                self.error_at(amount.offset, message);
                return (None, date);
            }
        };
        match self.amount(amount, currency) {
            Some(minor) => (Some(sign * minor), date),
            None => (None, date),
        }
    }

    /// Parses a positive amount; an error diagnostic when it is not one.
    fn amount(&mut self, value: &Value, currency: Currency) -> Option<i64> {
        match parse_amount_minor(&value.text, NumberStyle::Dot, currency.exponent()) {
            Ok(minor) if !(0..=limits::AMOUNT_MINOR_ABS_MAX).contains(&minor) => {
                let message = if minor < 0 {
                    format!("amount '{}' is negative; camt amounts are positive, the sign is CdtDbtInd", value.text)
                } else {
                    format!("amount '{}' is out of range", value.text)
                };
                self.error_at(value.offset, message);
                None
            }
            Ok(minor) => Some(minor),
            Err(error) => {
                self.error_at(value.offset, format!("amount in {currency}: {error}"));
                None
            }
        }
    }

    fn entry(&mut self, id: &str, index: u32, currency: Currency, raw: &RawEntry) -> Option<StatementEntry> {
        let Some(amount) = &raw.amount else {
            self.error_at(raw.offset, format!("statement {id}: entry has no Amt"));
            return None;
        };
        if !raw.currency.is_empty() && !raw.currency.eq_ignore_ascii_case(currency.code()) {
            let message = format!("statement {id}: entry amount is in {}, the statement in {currency}", raw.currency);
            self.error_at(amount.offset, message);
            return None;
        }
        let credit = match raw.indicator.as_ref().map(|value| value.text.as_str()) {
            Some("CRDT") => true,
            Some("DBIT") => false,
            other => {
                let message =
                    format!("statement {id}: entry CdtDbtInd is '{}', not CRDT or DBIT", other.unwrap_or("(missing)"));
                let offset = raw.indicator.as_ref().map_or(raw.offset, |value| value.offset);
                self.error_at(offset, message);
                return None;
            }
        };
        let minor = self.amount(amount, currency)?;
        let value_date = match &raw.value_date {
            Some(value) => self.date(id, value, "ValDt")?,
            None => None,
        };
        let booking_date = match &raw.booking_date {
            Some(value) => self.date(id, value, "BookgDt")?,
            None => None,
        };
        let Some(booking_date) = booking_date.or(value_date) else {
            self.error_at(raw.offset, format!("statement {id}: entry has neither BookgDt nor ValDt"));
            return None;
        };
        // The other party: who paid us for money in, whom we paid for money out; a reversal
        // undoes a booking in the other direction.
        let received = credit != raw.reversal;
        let (first, second) = if received { (&raw.debtor, &raw.creditor) } else { (&raw.creditor, &raw.debtor) };
        let counterparty = if first.is_empty() { second.clone() } else { first.clone() };
        let mut description = raw.remittance.join(" ");
        if !raw.additional.is_empty() {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str(&raw.additional);
        }
        let instructed = match (&raw.instructed, &raw.transaction_instructed) {
            (Some(value), _) => Some((value, raw.instructed_currency.as_str())),
            (None, Some(value)) if raw.transactions == 1 => Some((value, raw.transaction_instructed_currency.as_str())),
            _ => None,
        };
        let original_amount = match instructed {
            Some((value, code)) if !code.is_empty() && !code.eq_ignore_ascii_case(currency.code()) => {
                match Currency::from_code(code) {
                    Ok(original) => self.amount(value, original).map(|minor| Money::new(minor, original)),
                    Err(error) => {
                        self.error_at(value.offset, format!("statement {id}: instructed amount: {error}"));
                        None
                    }
                }
            }
            _ => None,
        };
        Some(StatementEntry {
            statement: index,
            line: raw.line,
            booking_date,
            value_date,
            amount_minor: if credit { minor } else { -minor },
            currency,
            entry_ref: if raw.entry_ref.is_empty() { raw.transaction_entry_ref.clone() } else { raw.entry_ref.clone() },
            reference: raw.reference.clone(),
            counterparty,
            description,
            original_amount,
            fee_minor: None,
            reversal: raw.reversal,
        })
    }

    /// `Ok(Some(date))`, or `None` (outer) after an error diagnostic.
    fn date(&mut self, id: &str, value: &Value, what: &str) -> Option<Option<NaiveDate>> {
        match parse_date(&value.text) {
            Ok(date) => Some(Some(date)),
            Err(message) => {
                self.error_at(value.offset, format!("statement {id}: entry {what}: {message}"));
                None
            }
        }
    }

    fn finish(mut self) -> StatementFile {
        if self.statements_seen == 0 && !tieout_core::diag::has_errors(&self.out.diagnostics) {
            self.push(Diagnostic::error(
                self.file,
                0,
                0,
                "no statement found: a camt.053 file has Document/BkToCstmrStmt/Stmt (camt.052 Rpt, camt.054 Ntfctn)",
            ));
        }
        self.out
    }
}

/// The `Ccy` attribute of an amount element, or empty.
fn currency_attribute(start: &BytesStart) -> String {
    match start.try_get_attribute("Ccy") {
        Ok(Some(attribute)) => {
            attribute.normalized_value(XmlVersion::Implicit1_0).map(|value| value.trim().to_owned()).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// `2014-12-31`, or the date part of `2015-03-10T18:43:50+01:00` (as written, not moved
/// to UTC).
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let date_part = match text.split_once('T') {
        Some((date, _)) => date,
        None => text,
    };
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .ok()
        .filter(|_| date_part.len() == 10)
        .ok_or_else(|| format!("'{text}' is not a date (expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss±hh:mm)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tieout_core::diag::Severity;

    const SAMPLE: &[u8] = include_bytes!("../tests/fixtures/camt053.v2.minimal.xml");

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// (severity, line, column, message) of every diagnostic.
    fn findings(file: &StatementFile) -> Vec<(Severity, u32, u32, String)> {
        file.diagnostics.iter().map(|d| (d.severity, d.line, d.column, d.message.clone())).collect()
    }

    #[test]
    fn genkgo_minimal_sample() {
        let file = read_camt053("camt053.v2.minimal.xml", SAMPLE);
        assert_eq!(
            findings(&file),
            vec![(
                Severity::Warning,
                60,
                17,
                "statement 253EURNL26VAYB8060476890: the closing balance CLBD is in SEK, the statement in EUR; it is not converted, so the balance check cannot be made".to_owned()
            )]
        );
        assert_eq!(
            file.statements,
            vec![Statement {
                statement_ref: "253EURNL26VAYB8060476890".into(),
                account: "NL26VAYB8060476890".into(),
                currency: Currency::EUR,
                line: 26,
                opening_minor: Some(1815),
                opening_date: Some(date("2014-12-30")),
                closing_minor: None,
                closing_date: None,
                entries_sum_minor: 885,
                entry_count: 1,
            }]
        );
        // The closing balance is left out, so the statement cannot be checked (not: rolls).
        assert_eq!(file.statements[0].balance_difference_minor(), None);
        assert_eq!(
            file.entries,
            vec![StatementEntry {
                statement: 0,
                line: 90,
                booking_date: date("2014-12-31"),
                value_date: Some(date("2015-01-02")),
                amount_minor: 885,
                currency: Currency::EUR,
                entry_ref: String::new(),
                reference: String::new(),
                counterparty: "NAME NAME".into(),
                description: String::new(),
                original_amount: None,
                fee_minor: None,
                reversal: false,
            }]
        );
    }

    /// A camt.053.001.08 statement with a `c:` prefix: `Sts/Cd`, a DBIT closing balance,
    /// a reversal, a batch, `DtTm` dates, a pending entry and a foreign instructed amount.
    const V08: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <c:BkToCstmrStmt>
  <c:GrpHdr><c:MsgId>M1</c:MsgId></c:GrpHdr>
  <c:Stmt>
   <c:Id>S-2026-06</c:Id>
   <c:Acct><c:Id><c:Othr><c:Id>12345678</c:Id></c:Othr></c:Id><c:Ccy>EUR</c:Ccy></c:Acct>
   <c:Bal><c:Tp><c:CdOrPrtry><c:Cd>PRCD</c:Cd></c:CdOrPrtry></c:Tp><c:Amt Ccy="EUR">100.00</c:Amt>
    <c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Dt><c:DtTm>2026-05-31T23:59:59+02:00</c:DtTm></c:Dt></c:Bal>
   <c:Bal><c:Tp><c:CdOrPrtry><c:Cd>CLBD</c:Cd></c:CdOrPrtry></c:Tp><c:Amt Ccy="EUR">50.000</c:Amt>
    <c:CdtDbtInd>DBIT</c:CdtDbtInd><c:Dt><c:Dt>2026-06-30</c:Dt></c:Dt></c:Bal>
   <c:Ntry>
    <c:Amt Ccy="EUR">120.50</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts>
    <c:BookgDt><c:DtTm>2026-06-02T08:15:00+02:00</c:DtTm></c:BookgDt><c:ValDt><c:Dt>2026-06-03</c:Dt></c:ValDt>
    <c:AcctSvcrRef>BANK-1</c:AcctSvcrRef>
    <c:NtryDtls><c:TxDtls>
     <c:Refs><c:EndToEndId>AMZ-50018020314</c:EndToEndId></c:Refs>
     <c:AmtDtls><c:InstdAmt><c:Amt Ccy="USD">130.00</c:Amt></c:InstdAmt></c:AmtDtls>
     <c:RltdPties><c:Dbtr><c:Pty><c:Nm>AMAZON PAYMENTS EUROPE</c:Nm></c:Pty></c:Dbtr>
      <c:Cdtr><c:Pty><c:Nm>MY SHOP</c:Nm></c:Pty></c:Cdtr></c:RltdPties>
     <c:RmtInf><c:Ustrd>SETTLEMENT 500180</c:Ustrd><c:Ustrd>20314 H&amp;M</c:Ustrd></c:RmtInf>
    </c:TxDtls></c:NtryDtls>
    <c:AddtlNtryInf>SEPA CREDIT</c:AddtlNtryInf>
   </c:Ntry>
   <c:Ntry>
    <c:Amt Ccy="EUR">20.50</c:Amt><c:CdtDbtInd>DBIT</c:CdtDbtInd><c:RvslInd>true</c:RvslInd>
    <c:Sts><c:Cd>BOOK</c:Cd></c:Sts><c:BookgDt><c:Dt>2026-06-04</c:Dt></c:BookgDt>
    <c:NtryDtls><c:TxDtls><c:Refs><c:EndToEndId>NOTPROVIDED</c:EndToEndId></c:Refs>
     <c:RltdPties><c:Dbtr><c:Nm>BUYER GMBH</c:Nm></c:Dbtr></c:RltdPties></c:TxDtls></c:NtryDtls>
   </c:Ntry>
   <c:Ntry>
    <c:Amt Ccy="EUR">250.00</c:Amt><c:CdtDbtInd>DBIT</c:CdtDbtInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts>
    <c:BookgDt><c:Dt>2026-06-05</c:Dt></c:BookgDt>
    <c:NtryDtls><c:Btch><c:NbOfTxs>2</c:NbOfTxs></c:Btch>
     <c:TxDtls><c:Refs><c:EndToEndId>NOTPROVIDED</c:EndToEndId></c:Refs>
      <c:AmtDtls><c:InstdAmt><c:Amt Ccy="USD">1.00</c:Amt></c:InstdAmt></c:AmtDtls>
      <c:RltdPties><c:Cdtr><c:Nm>SUPPLIER A</c:Nm></c:Cdtr></c:RltdPties><c:RmtInf><c:Ustrd>INV 1</c:Ustrd></c:RmtInf></c:TxDtls>
     <c:TxDtls><c:Refs><c:EndToEndId>E2E-B</c:EndToEndId></c:Refs>
      <c:RltdPties><c:Cdtr><c:Nm>SUPPLIER B</c:Nm></c:Cdtr></c:RltdPties><c:RmtInf><c:Ustrd>INV 2</c:Ustrd></c:RmtInf></c:TxDtls>
    </c:NtryDtls>
   </c:Ntry>
   <c:Ntry>
    <c:Amt Ccy="EUR">999.00</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Cd>PDNG</c:Cd></c:Sts>
    <c:BookgDt><c:Dt>2026-06-30</c:Dt></c:BookgDt>
   </c:Ntry>
  </c:Stmt>
 </c:BkToCstmrStmt>
</c:Document>
"#;

    #[test]
    fn version_08_with_reversal_batch_and_pending() {
        let file = read_camt053("v08.xml", V08.as_bytes());
        let statement = &file.statements[0];
        assert_eq!(
            (statement.statement_ref.as_str(), statement.account.as_str(), statement.currency, statement.line),
            ("S-2026-06", "12345678", Currency::EUR, 5)
        );
        assert_eq!(
            (statement.opening_minor, statement.opening_date, statement.closing_minor, statement.closing_date),
            (Some(10_000), Some(date("2026-05-31")), Some(-5_000), Some(date("2026-06-30")))
        );
        assert_eq!((statement.entries_sum_minor, statement.entry_count), (12_050 - 2_050 - 25_000, 3));
        // 100.00 + (120.50 − 20.50 − 250.00) = −50.00: the DBIT closing balance; it rolls.
        assert_eq!(statement.balance_difference_minor(), Some(0));
        assert_eq!(
            findings(&file),
            vec![(
                Severity::Warning,
                5,
                0,
                "statement S-2026-06: 1 entries not booked (status PDNG, INFO or other than BOOK) were skipped"
                    .to_owned()
            )]
        );
        let rows: Vec<_> = file
            .entries
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.booking_date,
                    e.value_date,
                    e.amount_minor,
                    e.reversal,
                    e.entry_ref.as_str(),
                    e.reference.as_str(),
                    e.counterparty.as_str(),
                    e.description.as_str(),
                    e.original_amount,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    12,
                    date("2026-06-02"),
                    Some(date("2026-06-03")),
                    12_050,
                    false,
                    "BANK-1",
                    "AMZ-50018020314",
                    "AMAZON PAYMENTS EUROPE",
                    "SETTLEMENT 500180 20314 H&M SEPA CREDIT",
                    Some(Money::new(13_000, Currency::USD)),
                ),
                // A reversed credit: booked DBIT, the debtor of the original credit.
                (25, date("2026-06-04"), None, -2_050, true, "", "", "BUYER GMBH", "", None),
                // A batch: one entry, the first reference that is provided, the first
                // creditor, every Ustrd; a transaction's InstdAmt is not the batch's.
                (31, date("2026-06-05"), None, -25_000, false, "", "E2E-B", "SUPPLIER A", "INV 1 INV 2", None),
            ]
        );
    }

    #[test]
    fn a_statement_that_does_not_roll_is_imported_with_a_warning() {
        let xml = V08.replace("<c:Amt Ccy=\"EUR\">50.000</c:Amt>", "<c:Amt Ccy=\"EUR\">49.00</c:Amt>");
        let file = read_camt053("v08.xml", xml.as_bytes());
        assert_eq!(file.statements[0].balance_difference_minor(), Some(100));
        let last = file.diagnostics.last().unwrap();
        assert_eq!(
            (last.severity, last.line, last.message.as_str()),
            (
                Severity::Warning,
                5,
                "statement S-2026-06 does not roll: opening 100.00 EUR + entries -150.00 EUR ≠ closing -49.00 EUR (difference 1.00 EUR)"
            )
        );
    }

    fn check_error(xml: &str, expect: (u32, u32, &str)) {
        let file = read_camt053("bad.xml", xml.as_bytes());
        let error = file.diagnostics.iter().find(|d| d.is_error()).unwrap_or_else(|| panic!("no error: {file:?}"));
        assert_eq!((error.line, error.column), (expect.0, expect.1), "{error}");
        assert!(error.message.contains(expect.2), "{error} lacks {:?}", expect.2);
    }

    #[test]
    fn errors_name_line_and_column() {
        let head = "<Document>\n<BkToCstmrStmt>\n<Stmt><Id>S</Id><Acct><Ccy>EUR</Ccy></Acct>\n";
        for (body, expect) in [
            // Mismatched end tag: at the `</`.
            ("<Ntry><Amt Ccy=\"EUR\">1.00</Amt></Ntri>\n", (4, 32, "expected `</Ntry>`, but `</Ntri>` was found")),
            // Truncated inside a tag.
            ("<Ntry><Amt Ccy=\"EUR\">1.00</Am", (4, 26, "not well-formed XML")),
            // Truncated between elements: at the end of the file, naming the open element.
            ("  <Ntry>\n", (5, 1, "the file ends inside <Ntry> (opened at line 4)")),
            // A fifth decimal that is not zero is refused, never rounded.
            (
                "<Ntry><Amt Ccy=\"EUR\">18.155</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-01-01</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>",
                (4, 7, "more decimal places"),
            ),
            (
                "<Ntry><Amt Ccy=\"EUR\">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-02-30</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>",
                (4, 65, "'2026-02-30' is not a date"),
            ),
            (
                "<Ntry><Amt Ccy=\"USD\">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-02-03</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>",
                (4, 7, "entry amount is in USD, the statement in EUR"),
            ),
            (
                "<Ntry><Amt Ccy=\"EUR\">1</Amt><CdtDbtInd>X</CdtDbtInd><BookgDt><Dt>2026-02-03</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>",
                (4, 29, "CdtDbtInd is 'X'"),
            ),
        ] {
            check_error(&format!("{head}{body}"), expect);
        }
        check_error("<Document><Other/></Document>", (0, 0, "no statement found"));
        check_error("", (0, 0, "empty"));
    }

    #[test]
    fn five_decimals_with_trailing_zeros_and_sibling_messages() {
        // camt.054 notification: same entries, no balances.
        let xml = "<Document><BkToCstmrDbtCdtNtfctn><Ntfctn><Id>N1</Id><Acct><Id><IBAN>DE02</IBAN></Id></Acct>\
            <Ntry><Amt Ccy=\"EUR\">18.15000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
            <ValDt><Dt>2026-01-02T00:00:00Z</Dt></ValDt></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>";
        let file = read_camt053("n.xml", xml.as_bytes());
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        assert_eq!(file.statements[0].account, "DE02");
        // Currency from the first entry's Amt@Ccy; booking date from ValDt (a DtTm inside Dt).
        assert_eq!(file.statements[0].currency, Currency::EUR);
        assert_eq!((file.entries[0].amount_minor, file.entries[0].booking_date), (1815, date("2026-01-02")));
        assert_eq!(file.statements[0].balance_difference_minor(), None);
    }

    #[test]
    fn diagnostics_stop_at_the_limit() {
        let bad =
            "<Ntry><Amt Ccy=\"EUR\">x</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-01-01</Dt></BookgDt></Ntry>\n";
        let xml = format!(
            "<Document><BkToCstmrStmt><Stmt><Id>S</Id><Acct><Ccy>EUR</Ccy></Acct>\n{}</Stmt></BkToCstmrStmt></Document>",
            bad.repeat(150)
        );
        let file = read_camt053("many.xml", xml.as_bytes());
        assert_eq!(file.diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        assert!(file.diagnostics.last().unwrap().message.starts_with("too many problems"));
    }

    #[test]
    fn truncated_files_never_panic() {
        // Every truncation before the root's end tag is an error, never a panic.
        let end = SAMPLE.windows(11).position(|w| w == b"</Document>").unwrap() + 11;
        for cut in 0..end {
            let file = read_camt053("cut.xml", &SAMPLE[..cut]);
            assert!(tieout_core::diag::has_errors(&file.diagnostics), "cut at {cut}");
        }
    }
}
