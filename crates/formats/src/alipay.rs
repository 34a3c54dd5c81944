//! Alipay (支付宝) bills as statements: the merchant account statement 账务明细 and the
//! personal bill (电子客户回单 交易明细) that small sellers often send instead. One
//! [`Statement`] per file, in CNY; entries are signed (income +, expense −).
//!
//! # Quirks of the files, and the rules tieout applies
//!
//! * **Which file.** Both are called "支付宝账单"; the header decides. A line whose first
//!   cell is `账务流水号` is the merchant 账务明细; a line starting `交易时间` and holding
//!   `交易订单号` is the personal bill. Anything else (the 业务明细 trade detail, the older
//!   personal layout `交易号,商家订单号,交易创建时间,…`) is refused as not found.
//! * **Encoding.** The files are GBK. GBK is decoded without replacement: a byte that is
//!   not GBK is an error with its line and column. A file that is valid UTF-8 *and*
//!   holds the expected Chinese header (re-saved by a spreadsheet) is read as UTF-8. A
//!   file in which neither decoding finds the header is refused, naming the encodings
//!   tried; a GBK file once decoded as Latin-1 and saved as UTF-8 ("mojibake": `Õ˺Å`)
//!   is recognised and refused with that explanation: the original download is needed.
//! * **Cells** are trimmed of spaces (the personal bill pads its header and cells) and of
//!   the TAB appended to long ids (`2019…315453\t`) so Excel keeps them as text. Header
//!   names are matched after trimming, with half-width `()` read as the full-width `（）`
//!   Alipay writes.
//! * **Merchant 账务明细** (spec part A): `#` preamble with `#账号：[…]` (the account) and
//!   `#起始日期：[yyyy年MM月dd日 HH:mm:ss]   终止日期：[…]` (the period; an end at 00:00:00
//!   closes the day before); rows up to the `#…账务明细列表结束…` line; `#` footer with
//!   `#支出合计：N笔，共X元` and `#收入合计：N笔，共X元`. Columns are found by name (12- and
//!   16-column variants). `收入金额（+元）` and `支出金额（-元）` are both non-negative (a
//!   `支出` written with a leading `-` is the same expense): amount = 收入 − |支出|; both
//!   filled, or both empty, is an error. entry_ref = 账务流水号, reference = 商户订单号,
//!   counterparty = 对方账号, description = 商品名称, 业务类型 and 备注 joined by a space.
//!   `账户余额（元）` is the balance after the row: opening = first balance − first amount,
//!   closing = last balance, and each row must roll (`balance[i] = balance[i-1] +
//!   amount[i]`); a break is a warning naming the line and difference. The footer totals
//!   (count and sum of expense rows, of income rows) are checked against the rows; a
//!   difference is a warning. A footer that is missing is not an error (web exports
//!   differ).
//! * **Personal bill** (spec part C): ~24 preamble lines (`支付宝账户：…`, `起始时间：[…]
//!   终止时间：[…]`, `共N笔记录`, `收入：N笔 X元`, `支出：N笔 X元`, `不计收支：N笔 X元`), a
//!   dashed title line, a header padded with spaces and ending in a comma (an empty last
//!   column). The amount `金额` is unsigned; `收/支` gives the direction: `收入` +,
//!   `支出` −, `不计收支` (transfers between the user's own funds, refunds to a card) is
//!   **not an entry**; a row whose `交易状态` is `交易关闭` (closed, no money moved) is not
//!   an entry either. entry_ref = 交易订单号, reference = 商家订单号, counterparty =
//!   交易对方, description = 商品说明, 交易分类 and 备注. The bill has no balance: opening
//!   and closing are unknown. The preamble's counts and sums (共N笔记录 against all rows;
//!   收入, 支出 and 不计收支 against the rows with that direction, whatever their status)
//!   are checked, each difference a warning; Alipay itself warns (特别提示 6) that its
//!   statistics may differ from the rows' sum.
//! * **Dates** are Asia/Shanghai local times as written (`yyyy-MM-dd HH:mm:ss`, some
//!   exports `yyyy/MM/dd HH:mm`); the booking date is their calendar date. Entries
//!   dated outside the stated period give one warning.
//! * **Limits** as in `tieout_core::limits`; reading stops after `FILE_DIAGNOSTICS_MAX`
//!   diagnostics.

use chrono::{NaiveDate, NaiveDateTime};
use tieout_core::limits;
use tieout_core::money::{format_minor, parse_amount_minor, Currency};
use tieout_core::statement::{Statement, StatementEntry, StatementFile};
use tieout_core::NumberStyle;

use crate::statement_profile::{
    check_lines, check_size, clean_cell, decode_gbk, parse_date, settle, Booked, LineCounter, Sink,
};

/// Reads an Alipay 账务明细 (merchant) or personal bill.
pub fn read_alipay(file_name: &str, bytes: &[u8]) -> StatementFile {
    let mut sink = Sink::new(file_name);
    if let Err(diagnostic) = check_size(file_name, bytes) {
        sink.report(diagnostic);
        return sink.out;
    }
    let (text, kind, header_index) = match decode(bytes) {
        Ok(found) => found,
        Err((line, column, message)) => {
            sink.error(line, column, message);
            return sink.out;
        }
    };
    if let Err(diagnostic) = check_lines(file_name, &text) {
        sink.report(diagnostic);
        return sink.out;
    }
    let lines: Vec<(u32, &str)> = crate::text::numbered_lines(&text).collect();
    Reader { sink, kind }.read(&lines, header_index)
}

/// Which of the two bills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Merchant,
    Personal,
}

const MERCHANT_HEADER: &str = "账务流水号";
const PERSONAL_HEADER: &str = "交易时间";
const PERSONAL_ID: &str = "交易订单号";

/// The header's line index and kind, when the text holds one.
fn find_header(text: &str) -> Option<(usize, Kind)> {
    text.split('\n').enumerate().find_map(|(index, line)| {
        let cells: Vec<&str> = line.split(',').map(clean_cell).collect();
        if cells[0] == MERCHANT_HEADER {
            Some((index, Kind::Merchant))
        } else if cells[0] == PERSONAL_HEADER && cells.contains(&PERSONAL_ID) {
            Some((index, Kind::Personal))
        } else {
            None
        }
    })
}

/// Decodes the file: UTF-8 when it is valid UTF-8 holding the header, else GBK. The
/// error is (line, column, message).
fn decode(bytes: &[u8]) -> Result<(String, Kind, usize), (u32, u32, String)> {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = std::str::from_utf8(without_bom).ok();
    if let Some(text) = utf8 {
        if let Some((index, kind)) = find_header(text) {
            return Ok((text.to_owned(), kind, index));
        }
    }
    let gbk = decode_gbk(bytes);
    if let Ok(text) = &gbk {
        if let Some((index, kind)) = find_header(text) {
            return Ok((text.clone().into_owned(), kind, index));
        }
    }
    let looked_for = "no Alipay bill header found (a line starting 账务流水号 for the merchant 账务明细, or 交易时间,…,交易订单号 for the personal bill)";
    let utf8_tried = match utf8 {
        Some(_) => "UTF-8 (valid, but no such header)",
        None => "UTF-8 (not valid UTF-8)",
    };
    let (line, column, gbk_tried) = match &gbk {
        Ok(_) => (0, 0, "GBK (decodes, but no such header)".to_owned()),
        Err((line, column)) => (0, 0, format!("GBK (not GBK text: line {line}, column {column})")),
    };
    let mut message = format!("{looked_for}; encodings tried: {utf8_tried}, {gbk_tried}");
    if utf8.is_some_and(looks_like_mojibake) {
        message.push_str(
            ". The text looks like a GBK file that was opened as Latin-1/Windows-1252 and saved as UTF-8 (mojibake such as 'Õ˺Å'); that cannot be undone reliably: import the bill as downloaded from Alipay",
        );
    }
    Err((line, column, message))
}

/// GBK read as Latin-1 turns every Chinese character into two characters of
/// U+0080–U+00FF; real bills have none of those.
fn looks_like_mojibake(text: &str) -> bool {
    let latin = text.chars().filter(|c| ('\u{80}'..='\u{ff}').contains(c)).count();
    latin >= 8 && latin * 2 >= text.chars().filter(|c| !c.is_ascii()).count()
}

/// Column indexes of one bill's layout.
#[derive(Default)]
struct Layout {
    header: Vec<String>,
    entry_ref: usize,
    time: usize,
    /// Merchant: 收入金额, 支出金额, 账户余额. Personal: 金额, 收/支.
    income: usize,
    expense: usize,
    balance: usize,
    amount: usize,
    direction: usize,
    status: Option<usize>,
    reference: Option<usize>,
    counterparty: Option<usize>,
    description: Vec<usize>,
}

/// What the preamble and footer state.
#[derive(Default)]
struct Stated {
    account: String,
    period: Option<(NaiveDate, NaiveDate)>,
    /// (line, label, count, sum in fen)
    totals: Vec<(u32, String, u32, Option<i64>)>,
    record_count: Option<(u32, u32)>,
}

struct Reader<'a> {
    sink: Sink<'a>,
    kind: Kind,
}

/// Per direction: (count, sum of absolute amounts in fen).
#[derive(Default, Clone, Copy)]
struct Tally {
    count: u32,
    sum: i64,
}

impl Reader<'_> {
    fn read(mut self, lines: &[(u32, &str)], header_index: usize) -> StatementFile {
        let mut stated = Stated::default();
        for (line, text) in &lines[..header_index] {
            self.preamble_line(*line, text, &mut stated);
        }
        let header_line = lines[header_index].0;
        let header: Vec<String> =
            lines[header_index].1.split(',').map(|cell| normalize_header(clean_cell(cell))).collect();
        let Some(layout) = self.layout(header_line, header) else { return self.sink.out };
        // The rows run to the first `#` (merchant) or dashed (personal) line.
        let end = lines[header_index + 1..]
            .iter()
            .position(|(_, text)| text.starts_with('#') || text.starts_with("---"))
            .map_or(lines.len(), |at| header_index + 1 + at);
        for (line, text) in &lines[end..] {
            self.footer_line(*line, text, &mut stated);
        }
        let table: String = lines[header_index + 1..end].iter().map(|(_, text)| *text).collect::<Vec<_>>().join("\n");
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(table.as_bytes());
        let mut counter = LineCounter::new(&table, header_line + 1);
        let mut record = csv::StringRecord::new();
        let mut booked: Vec<Booked> = Vec::new();
        let mut tallies: [Tally; 3] = [Tally::default(); 3];
        let mut rows: u32 = 0;
        loop {
            if self.sink.stopped {
                break;
            }
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = counter.line_of(record.position().map_or(0, |p| p.byte() as usize));
                    if record.iter().all(|cell| clean_cell(cell).is_empty()) {
                        continue;
                    }
                    rows += 1;
                    if rows > limits::FILE_ROWS_MAX || record.len() > limits::ROW_COLUMNS_MAX {
                        self.sink.error(line, 0, "the file exceeds tieout's limits on rows or columns");
                        break;
                    }
                    let width = layout.header.len();
                    let extra = (width..record.len()).any(|i| !clean_cell(&record[i]).is_empty());
                    if record.len() < width || extra {
                        let column = record.len().min(width) as u32 + 1;
                        self.sink.error(
                            line,
                            column,
                            format!("this line has {} fields, the header has {width}", record.len()),
                        );
                        continue;
                    }
                    let cells: Vec<&str> = record.iter().map(clean_cell).collect();
                    if let Some(entry) = self.row(line, &layout, &cells, &mut tallies) {
                        booked.push(entry);
                    }
                }
                Err(error) => {
                    let line = counter.line_of(error.position().map_or(0, |p| p.byte() as usize));
                    self.sink.error(line, 0, format!("unreadable CSV: {error}"));
                }
            }
        }
        // With a row refused, the totals cannot agree; its error says enough.
        if !self.sink.out.diagnostics.iter().any(|d| d.is_error()) {
            self.check_stated(&stated, &tallies, rows);
            self.check_period(&stated, &booked);
        }
        let statement = Statement {
            statement_ref: String::new(),
            account: stated.account.clone(),
            currency: Currency::CNY,
            line: 1,
            opening_minor: None,
            opening_date: stated.period.map(|(start, _)| start),
            closing_minor: None,
            closing_date: stated.period.map(|(_, end)| end),
            entries_sum_minor: 0,
            entry_count: 0,
        };
        settle(&mut self.sink, statement, booked);
        self.sink.out
    }

    fn preamble_line(&mut self, line: u32, text: &str, stated: &mut Stated) {
        let text = text.trim().trim_start_matches('#').trim();
        if let Some(rest) = text.strip_prefix("账号：").or_else(|| text.strip_prefix("支付宝账户：")) {
            stated.account = rest.trim().trim_start_matches('[').trim_end_matches(']').trim().to_owned();
        } else if text.starts_with("起始日期：") || text.starts_with("起始时间：") {
            let bracketed: Vec<&str> = text.split('[').skip(1).filter_map(|part| part.split(']').next()).collect();
            let parsed: Vec<Option<NaiveDateTime>> = bracketed.iter().map(|t| parse_period_time(t)).collect();
            match parsed.as_slice() {
                [Some(start), Some(end)] => {
                    // An end at midnight closes the day before (账务明细: 00:00:00 of the next day).
                    let end_date = if end.time() == chrono::NaiveTime::MIN && end.date() > start.date() {
                        end.date().pred_opt().unwrap_or(end.date())
                    } else {
                        end.date()
                    };
                    stated.period = Some((start.date(), end_date));
                }
                _ => self.sink.warning(line, 0, format!("the statement period '{text}' is not readable; not checked")),
            }
        } else if let Some(count) = text.strip_prefix('共').and_then(|rest| rest.strip_suffix("笔记录")) {
            if let Ok(count) = count.trim().parse() {
                stated.record_count = Some((line, count));
            }
        } else {
            for label in ["收入", "支出", "不计收支"] {
                if let Some(rest) = text.strip_prefix(label).and_then(|rest| rest.strip_prefix('：')) {
                    self.total(line, label, rest, stated);
                }
            }
        }
    }

    fn footer_line(&mut self, line: u32, text: &str, stated: &mut Stated) {
        let text = text.trim().trim_start_matches('#').trim();
        for (label, key) in [("支出合计：", "支出"), ("收入合计：", "收入")] {
            if let Some(rest) = text.strip_prefix(label) {
                self.total(line, key, rest, stated);
            }
        }
    }

    /// `N笔，共X元` (merchant footer) or `N笔 X元` (personal preamble).
    fn total(&mut self, line: u32, label: &str, text: &str, stated: &mut Stated) {
        let parsed = text.split_once('笔').and_then(|(count, rest)| {
            let count: u32 = count.trim().parse().ok()?;
            let amount =
                rest.trim_start_matches(['，', ',', ' ']).trim_start_matches('共').trim().strip_suffix('元')?;
            let sum = parse_amount_minor(amount, NumberStyle::Dot, 2).ok();
            Some((count, sum))
        });
        match parsed {
            Some((count, sum)) => stated.totals.push((line, label.to_owned(), count, sum)),
            None => self.sink.warning(line, 0, format!("the total '{label}：{text}' is not readable; not checked")),
        }
    }

    fn layout(&mut self, line: u32, header: Vec<String>) -> Option<Layout> {
        let find = |name: &str| header.iter().position(|h| h == name);
        let mut missing = Vec::new();
        let mut required = |name: &'static str| {
            let found = find(name);
            if found.is_none() {
                missing.push(name);
            }
            found.unwrap_or(0)
        };
        let mut layout = match self.kind {
            Kind::Merchant => Layout {
                entry_ref: required("账务流水号"),
                time: required("发生时间"),
                income: required("收入金额（+元）"),
                expense: required("支出金额（-元）"),
                balance: required("账户余额（元）"),
                reference: find("商户订单号"),
                counterparty: find("对方账号"),
                description: ["商品名称", "业务类型", "备注"].iter().filter_map(|n| find(n)).collect(),
                ..Layout::default()
            },
            Kind::Personal => Layout {
                entry_ref: required("交易订单号"),
                time: required("交易时间"),
                amount: required("金额"),
                direction: required("收/支"),
                status: find("交易状态"),
                reference: find("商家订单号"),
                counterparty: find("交易对方"),
                description: ["商品说明", "交易分类", "备注"].iter().filter_map(|n| find(n)).collect(),
                ..Layout::default()
            },
        };
        if !missing.is_empty() {
            self.sink.error(
                line,
                0,
                format!("the header lacks {}; headers found: {}", missing.join(", "), header.join(", ")),
            );
            return None;
        }
        layout.header = header;
        Some(layout)
    }

    fn row(&mut self, line: u32, layout: &Layout, cells: &[&str], tallies: &mut [Tally; 3]) -> Option<Booked> {
        let errors_before = self.sink.out.diagnostics.len();
        let name = |index: usize| layout.header[index].as_str();
        let amount = |sink: &mut Sink, index: usize, allow_empty: bool| -> Option<i64> {
            if allow_empty && cells[index].is_empty() {
                return Some(0);
            }
            match parse_amount_minor(cells[index], NumberStyle::Dot, 2) {
                Ok(value) => Some(value),
                Err(error) => {
                    sink.cell_error(line, index, name(index), error.to_string());
                    None
                }
            }
        };
        let date = match parse_date(cells[layout.time], None) {
            Ok(date) => Some(date),
            Err(message) => {
                self.sink.cell_error(line, layout.time, name(layout.time), message);
                None
            }
        };
        let (amount_minor, balance_minor) = match self.kind {
            Kind::Merchant => {
                let income = amount(&mut self.sink, layout.income, true);
                let expense = amount(&mut self.sink, layout.expense, true);
                let balance = amount(&mut self.sink, layout.balance, false);
                let signed = match (income, expense) {
                    (Some(income), Some(expense)) => {
                        if cells[layout.income].is_empty() && cells[layout.expense].is_empty() {
                            self.sink.cell_error(
                                line,
                                layout.income,
                                name(layout.income),
                                "both 收入 and 支出 are empty",
                            );
                            None
                        } else if income != 0 && expense != 0 {
                            self.sink.cell_error(
                                line,
                                layout.income,
                                name(layout.income),
                                "both 收入 and 支出 are filled",
                            );
                            None
                        } else if income < 0 {
                            self.sink.cell_error(line, layout.income, name(layout.income), "收入 is negative");
                            None
                        } else {
                            if income != 0 {
                                tallies[0].count += 1;
                                tallies[0].sum += income;
                            }
                            if expense != 0 {
                                tallies[1].count += 1;
                                tallies[1].sum += expense.abs();
                            }
                            Some(income - expense.abs())
                        }
                    }
                    _ => None,
                };
                (signed, balance)
            }
            Kind::Personal => {
                let value = amount(&mut self.sink, layout.amount, false);
                let direction = cells[layout.direction];
                let slot = match direction {
                    "收入" => 0,
                    "支出" => 1,
                    "不计收支" => 2,
                    other => {
                        let message = format!("'{other}' is not 收入, 支出 or 不计收支");
                        self.sink.cell_error(line, layout.direction, name(layout.direction), message);
                        return None;
                    }
                };
                let value = value?;
                if value < 0 {
                    self.sink.cell_error(
                        line,
                        layout.amount,
                        name(layout.amount),
                        "金额 is negative (收/支 gives the direction)",
                    );
                    return None;
                }
                tallies[slot].count += 1;
                tallies[slot].sum += value;
                let closed = layout.status.is_some_and(|index| cells[index] == "交易关闭");
                if slot == 2 || closed || self.sink.out.diagnostics.len() != errors_before {
                    return None;
                }
                (Some(if slot == 0 { value } else { -value }), None)
            }
        };
        if self.sink.out.diagnostics.len() != errors_before {
            return None;
        }
        let text = |index: Option<usize>| index.map(|i| cells[i].to_owned()).unwrap_or_default();
        let description: Vec<&str> =
            layout.description.iter().map(|i| cells[*i]).filter(|t| !t.is_empty() && *t != "/").collect();
        let counterparty = text(layout.counterparty);
        Some(Booked {
            entry: StatementEntry {
                statement: 0,
                line,
                booking_date: date?,
                value_date: None,
                amount_minor: amount_minor?,
                currency: Currency::CNY,
                entry_ref: cells[layout.entry_ref].to_owned(),
                reference: text(layout.reference),
                counterparty: if counterparty == "/" { String::new() } else { counterparty },
                description: description.join(" "),
                original_amount: None,
                fee_minor: None,
                reversal: false,
            },
            balance_minor,
        })
    }

    /// Compares the preamble's / footer's counts and sums with the rows.
    fn check_stated(&mut self, stated: &Stated, tallies: &[Tally; 3], rows: u32) {
        if let Some((line, count)) = stated.record_count {
            if count != rows {
                self.sink.warning(line, 0, format!("the bill states 共{count}笔记录, the file has {rows} rows"));
            }
        }
        for (line, label, count, sum) in &stated.totals {
            let tally = match label.as_str() {
                "收入" => tallies[0],
                "支出" => tallies[1],
                _ => tallies[2],
            };
            let mut differences = Vec::new();
            if *count != tally.count {
                differences.push(format!("{count} rows stated, {} in the file", tally.count));
            }
            if let Some(sum) = sum {
                if *sum != tally.sum {
                    differences.push(format!(
                        "{} CNY stated, {} CNY in the file (difference {})",
                        format_minor(*sum, 2),
                        format_minor(tally.sum, 2),
                        format_minor(tally.sum - sum, 2)
                    ));
                }
            }
            if !differences.is_empty() {
                self.sink.warning(*line, 0, format!("{label} total differs from the rows: {}", differences.join("; ")));
            }
        }
    }

    fn check_period(&mut self, stated: &Stated, booked: &[Booked]) {
        let Some((start, end)) = stated.period else { return };
        let outside: Vec<&Booked> =
            booked.iter().filter(|b| b.entry.booking_date < start || b.entry.booking_date > end).collect();
        if let Some(first) = outside.first() {
            self.sink.warning(
                first.entry.line,
                0,
                format!(
                    "{} of {} entries are dated outside the stated period {start} – {end} (first: {} on this line)",
                    outside.len(),
                    booked.len(),
                    first.entry.booking_date
                ),
            );
        }
    }
}

fn normalize_header(name: &str) -> String {
    name.replace('(', "（").replace(')', "）")
}

fn parse_period_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    ["%Y年%m月%d日 %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            ["%Y年%m月%d日", "%Y-%m-%d"]
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
                .map(|date| date.and_time(chrono::NaiveTime::MIN))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(file: &StatementFile) -> Vec<String> {
        file.entries
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {}|{}|{}|{}",
                    e.line,
                    e.booking_date,
                    format_minor(e.amount_minor, 2),
                    e.entry_ref,
                    e.reference,
                    e.counterparty,
                    e.description
                )
            })
            .collect()
    }

    fn messages(file: &StatementFile) -> Vec<String> {
        file.diagnostics.iter().map(ToString::to_string).collect()
    }

    fn gbk(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable, "test text is GBK");
        bytes.into_owned()
    }

    const SAMPLE: &[u8] = include_bytes!("../tests/fixtures/alipay-personal-bill_gbk_example-alipay-records.csv");

    #[test]
    fn personal_bill_sample_golden() {
        let file = read_alipay("alipay.csv", SAMPLE);
        assert_eq!(
            show(&file),
            [
                "26 2023-02-12 -49.74 202302xxxxxx0011000103xxxxxx|20230xxxxxxx014741014xxxxxx|xxxxxxxxxxxx|亲情卡 亲友代付",
                "27 2023-02-08 -20.00 2xxxxxxxxxxxxxx0|Txxxxxxxxxxxxx0|x4***6|商品示例 日用百货",
                "30 2023-01-18 222228.50 2xxxxxxxxxxxxxxxxxxxxxxxxx9||xxxx|转账 转账红包",
                "34 2023-07-10 -9.90 xxxx|xxxx|xxxx|xxxx 日用百货",
                "35 2023-07-10 -82.00 xxxx|xxxx|xxxx|xxxx 日用百货",
            ],
            "{:#?}",
            messages(&file)
        );
        assert_eq!(
            messages(&file),
            [
                "alipay.csv:8: warning: the bill states 共66笔记录, the file has 10 rows",
                "alipay.csv:9: warning: 收入 total differs from the rows: 28.50 CNY stated, 222228.50 CNY in the file (difference 222200.00)",
                "alipay.csv:10: warning: 支出 total differs from the rows: 63 rows stated, 5 in the file; 16.54 CNY stated, 211.64 CNY in the file (difference 195.10)",
                "alipay.csv:11: warning: 不计收支 total differs from the rows: 2 rows stated, 4 in the file; 16.37 CNY stated, 247.37 CNY in the file (difference 231.00)",
                "alipay.csv:27: warning: 4 of 5 entries are dated outside the stated period 2023-02-10 – 2023-02-13 (first: 2023-02-08 on this line)",
            ]
        );
        assert_eq!(file.statements.len(), 1);
        let statement = &file.statements[0];
        assert_eq!(statement.account, "xx@gmail.com");
        assert_eq!(statement.currency, Currency::CNY);
        assert_eq!((statement.entry_count, statement.entries_sum_minor), (5, 22_206_686));
        assert_eq!((statement.opening_minor, statement.closing_minor), (None, None));
        assert_eq!(statement.opening_date, NaiveDate::from_ymd_opt(2023, 2, 10));
        assert_eq!(statement.closing_date, NaiveDate::from_ymd_opt(2023, 2, 13));
    }

    const MERCHANT: &str = "#支付宝账务明细查询\r\n\
#账号：[20880211096256330156]\r\n\
#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\r\n\
#-----------------------------------------账务明细列表----------------------------------------\r\n\
账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\r\n\
20190916200040011100150000000001\t,2019091622001458860515315453\t,T200P5116032541422009305\t,连衣裙,2019-09-16 10:01:02,buyer@example.com,199.00,,1199.00,支付宝,交易付款,\r\n\
20190916200040011100150000000002\t,2019091622001458860515315453\t,T200P5116032541422009305\t,天猫佣金,2019-09-16 10:01:03,tmall,,-9.95,1189.05,支付宝,收费,佣金\r\n\
20190916200040011100150000000003\t,2019091622001458860515315999\t,,提现,2019/09/16 18:00,招商银行,,1000.00,189.05,支付宝,提现,\r\n\
#-----------------------------------------账务明细列表结束------------------------------------\r\n\
#支出合计：2笔，共1009.95元\r\n\
#收入合计：1笔，共199.00元\r\n\
#导出时间：[2019年09月17日 08:00:00]\r\n";

    #[test]
    fn merchant_statement_in_gbk() {
        let file = read_alipay("zhangwu.csv", &gbk(MERCHANT));
        assert_eq!(
            show(&file),
            [
                "6 2019-09-16 199.00 20190916200040011100150000000001|T200P5116032541422009305|buyer@example.com|连衣裙 交易付款",
                "7 2019-09-16 -9.95 20190916200040011100150000000002|T200P5116032541422009305|tmall|天猫佣金 收费 佣金",
                "8 2019-09-16 -1000.00 20190916200040011100150000000003||招商银行|提现 提现",
            ]
        );
        assert_eq!(messages(&file), Vec::<String>::new());
        let statement = &file.statements[0];
        assert_eq!(statement.account, "20880211096256330156");
        assert_eq!((statement.opening_minor, statement.closing_minor), (Some(100_000), Some(18_905)));
        assert_eq!(statement.balance_difference_minor(), Some(0));
        assert_eq!(statement.opening_date, NaiveDate::from_ymd_opt(2019, 9, 16));
        assert_eq!(statement.closing_date, NaiveDate::from_ymd_opt(2019, 9, 16));
        // The same file re-saved as UTF-8 (correctly) is read the same.
        let utf8 = read_alipay("zhangwu.csv", MERCHANT.as_bytes());
        assert_eq!(show(&utf8), show(&file));
        assert!(utf8.diagnostics.is_empty());
    }

    #[test]
    fn running_balance_break_and_footer_mismatch() {
        let broken = MERCHANT
            .replace(",189.05,", ",179.05,")
            .replace("#支出合计：2笔，共1009.95元", "#支出合计：3笔，共1009.95元")
            .replace("#收入合计：1笔，共199.00元", "#收入合计：1笔，共200.00元");
        let file = read_alipay("zhangwu.csv", &gbk(&broken));
        assert_eq!(file.entries.len(), 3);
        assert_eq!(
            messages(&file),
            [
                "zhangwu.csv:10: warning: 支出 total differs from the rows: 3 rows stated, 2 in the file",
                "zhangwu.csv:11: warning: 收入 total differs from the rows: 200.00 CNY stated, 199.00 CNY in the file (difference -1.00)",
                "zhangwu.csv:8: warning: the running balance breaks here: 1189.05 + -1000.00 = 189.05, but the row states 179.05 (difference -10.00 CNY)",
            ]
        );
        assert_eq!(file.statements[0].balance_difference_minor(), Some(-1_000));
    }

    #[test]
    fn mojibake_is_refused_naming_the_encodings_tried() {
        let latin1: String = gbk(MERCHANT).iter().map(|&byte| byte as char).collect();
        let file = read_alipay("zhangwu.csv", latin1.as_bytes());
        assert!(file.entries.is_empty());
        let all = messages(&file);
        assert_eq!(all.len(), 1, "{all:#?}");
        assert!(all[0].starts_with("zhangwu.csv: error: no Alipay bill header found"), "{}", all[0]);
        assert!(all[0].contains("encodings tried: UTF-8 (valid, but no such header), GBK"), "{}", all[0]);
        assert!(all[0].contains("mojibake"), "{}", all[0]);
    }

    #[test]
    fn not_gbk_names_line_and_column() {
        let mut bytes = gbk("#支付宝账务明细查询\n账务流水号,发生时间\n");
        bytes.extend_from_slice(b"1,\xFF\xFF\n");
        let file = read_alipay("x.csv", &bytes);
        let all = messages(&file);
        assert_eq!(all.len(), 1);
        assert!(all[0].contains("UTF-8 (not valid UTF-8), GBK (not GBK text: line 3, column 3)"), "{}", all[0]);
    }

    #[test]
    fn bad_values_are_errors_with_column_names() {
        let bad = MERCHANT
            .replace("2019-09-16 10:01:02", "2019-09-31 10:01:02")
            .replace(",,-9.95,", ",1.00,-9.95,")
            .replace(",1000.00,189.05,", ",1000.0x,189.05,");
        let file = read_alipay("zhangwu.csv", &gbk(&bad));
        assert_eq!(
            messages(&file),
            [
                "zhangwu.csv:6:5: error: column '发生时间': '2019-09-31 10:01:02' is not a calendar date (no such day or month)",
                "zhangwu.csv:7:7: error: column '收入金额（+元）': both 收入 and 支出 are filled",
                "zhangwu.csv:8:8: error: column '支出金额（-元）': '1000.0x' is not a number (unexpected 'x')",
                ]
        );
    }
}
