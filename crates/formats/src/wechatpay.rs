//! WeChat Pay (微信支付) merchant bills as statements: the trade bill 交易账单 (`downloadbill`
//! / `tradebill`) and the fund flow bill 资金账单 (`downloadfundflow` / `fundflowbill`).
//! One [`Statement`] per file; entries are signed (income +, expense −).
//!
//! # Quirks of the files, and the rules tieout applies
//!
//! * **Encoding**: UTF-8, usually with a BOM; some v2 downloads start with a `?` where the
//!   BOM was lost: dropped before the header. Other encodings are refused with the line
//!   and column of the first bad byte.
//! * **Layout**: line 1 is the header (names without backticks); data rows follow; then a
//!   summary header (`总交易单数,…` or `资金流水总笔数,…`) and one summary row. Every data
//!   and summary cell starts with a backtick (`` ` ``) that keeps Excel from converting
//!   numbers: it is removed. WeChat does not quote cells, so a row written with
//!   backticks is split on `` ,` `` (a comma inside 商品名称 stays in its cell); a row
//!   without them on `,`. A row with more cells than the header is an error unless the
//!   extra cells are empty (a trailing comma).
//! * **Columns are found by name**: their order differs per bill type (`ALL`, `SUCCESS`,
//!   `REFUND`) and merchant vintage; `()` and `（）` are the same.
//! * **Trade bill**: `交易状态` decides the entry: `SUCCESS` is a payment, `+应结订单金额`
//!   (`订单金额` where the bill has no 应结订单金额); `REFUND` is a refund, `−退款金额`;
//!   `REVOKED` (a revoked order, no money moved) is not an entry; anything else is an
//!   error. entry_ref = 微信订单号 (a refund's = 微信退款单号 when present, so each entry's
//!   ref is its own), reference = 商户订单号, counterparty = 用户标识, description =
//!   商品名称 (and a refund's 商户退款单号). fee_minor = 手续费 as written (positive =
//!   charged; a refund row's negative fee is a fee returned). 手续费 is written with 5
//!   decimals (`0.60000`); digits beyond the fen that are not zero are refused, never
//!   rounded. Currency = 货币种类 (CNY when the column is absent or empty). The bill has
//!   no balance. Account = the first row's 商户号.
//! * **Fund flow bill**: `收支类型` (`收入`/`支出`) gives the direction of the unsigned
//!   `收支金额(元)`; `账户结余(元)` is the balance after the row (opening, closing and the
//!   roll check, a break a warning). entry_ref = 资金流水单号, reference = 微信支付业务单号,
//!   description = 业务名称, 业务类型 and 备注. CNY.
//! * **Summary**: the summary row's counts and totals (`总交易单数`, `应结订单总金额`,
//!   `退款总金额`, `充值券退款总金额`, `手续费总金额`, `订单总金额`, `申请退款总金额`; fund flow:
//!   `资金流水总笔数`, `收入笔数`, `收入金额`, `支出笔数`, `支出金额`) are compared with the
//!   rows' (all rows, whatever their status); each difference is a warning. A bill
//!   without a summary is read without the check.
//! * **Dates**: `交易时间` / `记账时间` are Asia/Shanghai local times as written; the
//!   booking date is their calendar date.
//! * **Limits** as in `tieout_core::limits`; reading stops after `FILE_DIAGNOSTICS_MAX`
//!   diagnostics.

use tieout_core::limits;
use tieout_core::money::{format_minor, parse_amount_minor, Currency};
use tieout_core::statement::{Statement, StatementEntry, StatementFile};
use tieout_core::NumberStyle;

use crate::statement_profile::{check_lines, check_size, clean_cell, parse_date, settle, Booked, Sink};

/// Reads a WeChat Pay trade bill or fund flow bill.
pub fn read_wechatpay(file_name: &str, bytes: &[u8]) -> StatementFile {
    let mut sink = Sink::new(file_name);
    if let Err(diagnostic) = check_size(file_name, bytes) {
        sink.report(diagnostic);
        return sink.out;
    }
    let text = match crate::text::decode_utf8(file_name, bytes) {
        Ok(text) => text,
        Err(diagnostic) => {
            sink.report(diagnostic);
            return sink.out;
        }
    };
    if let Err(diagnostic) = check_lines(file_name, text) {
        sink.report(diagnostic);
        return sink.out;
    }
    let lines: Vec<(u32, &str)> =
        crate::text::numbered_lines(text).filter(|(_, line)| !line.trim().is_empty()).collect();
    Reader { sink }.read(&lines)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trade,
    FundFlow,
}

/// Summary column → the data column it totals (`None`: the row count), for each bill.
const TRADE_SUMMARY: &[(&str, Option<&str>)] = &[
    ("总交易单数", None),
    ("应结订单总金额", Some("应结订单金额")),
    ("退款总金额", Some("退款金额")),
    ("充值券退款总金额", Some("充值券退款金额")),
    ("手续费总金额", Some("手续费")),
    ("订单总金额", Some("订单金额")),
    ("申请退款总金额", Some("申请退款金额")),
];

/// Splits a line into cells: on `` ,` `` when the cells carry backticks, else on `,`.
fn split(line: &str) -> Vec<&str> {
    match line.trim_start().strip_prefix('`') {
        Some(rest) => rest.split(",`").map(|cell| cell.trim_end_matches(',').trim()).collect(),
        None => line.split(',').map(clean_cell).collect(),
    }
}

fn normalize(name: &str) -> String {
    clean_cell(name).trim_start_matches('?').replace('（', "(").replace('）', ")")
}

struct Reader<'a> {
    sink: Sink<'a>,
}

struct Layout {
    header: Vec<String>,
    kind: Kind,
}

impl Layout {
    fn find(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

impl Reader<'_> {
    fn read(mut self, lines: &[(u32, &str)]) -> StatementFile {
        let Some(&(header_line, header_text)) = lines.first() else {
            self.sink.error(0, 0, "the file is empty");
            return self.sink.out;
        };
        let header: Vec<String> = header_text.split(',').map(normalize).collect();
        let kind = if header.iter().any(|h| h == "微信订单号") {
            Kind::Trade
        } else if header.iter().any(|h| h == "资金流水单号") {
            Kind::FundFlow
        } else {
            self.sink.error(
                header_line,
                0,
                "no WeChat Pay bill header: line 1 holds neither 微信订单号 (trade bill) nor 资金流水单号 (fund flow bill)",
            );
            return self.sink.out;
        };
        let layout = Layout { header, kind };
        let required: &[&str] = match kind {
            Kind::Trade => &["交易时间", "交易状态", "商户订单号"],
            Kind::FundFlow => &["记账时间", "资金流水单号", "收支类型", "收支金额(元)", "账户结余(元)"],
        };
        let missing: Vec<&str> = required.iter().copied().filter(|name| layout.find(name).is_none()).collect();
        let lacks_amount = kind == Kind::Trade
            && (layout.find("退款金额").is_none()
                || (layout.find("应结订单金额").is_none() && layout.find("订单金额").is_none()));
        if !missing.is_empty() || lacks_amount {
            let mut lacking = missing.join(", ");
            if lacks_amount {
                lacking = [lacking.as_str(), "应结订单金额 or 订单金额, 退款金额"]
                    .iter()
                    .filter(|t| !t.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
            }
            self.sink.error(
                header_line,
                0,
                format!("the header lacks {lacking}; headers found: {}", layout.header.join(", ")),
            );
            return self.sink.out;
        }
        let summary_at = lines[1..]
            .iter()
            .position(|(_, line)| {
                let first = normalize(line.split(',').next().unwrap_or(""));
                first == "总交易单数" || first == "资金流水总笔数"
            })
            .map(|at| at + 1);
        let rows = &lines[1..summary_at.unwrap_or(lines.len())];
        if rows.len() as u64 > u64::from(limits::FILE_ROWS_MAX) {
            self.sink.error(0, 0, format!("more than {} rows; tieout reads up to that many", limits::FILE_ROWS_MAX));
            return self.sink.out;
        }
        let mut booked = Vec::new();
        let mut account = String::new();
        let mut sums: Vec<(String, i64)> = Vec::new();
        for &(line, text) in rows {
            if self.sink.stopped {
                break;
            }
            let cells = split(text);
            let width = layout.header.len();
            if cells.len() > limits::ROW_COLUMNS_MAX
                || cells.len() < width
                || cells[width..].iter().any(|cell| !cell.is_empty())
            {
                let column = cells.len().min(width) as u32 + 1;
                self.sink.error(line, column, format!("this line has {} fields, the header has {width}", cells.len()));
                continue;
            }
            if account.is_empty() {
                if let Some(index) = layout.find("商户号") {
                    account = cells[index].to_owned();
                }
            }
            self.tally(&layout, &cells, &mut sums);
            if let Some(entry) = self.row(line, &layout, &cells) {
                booked.push(entry);
            }
        }
        let has_errors = self.sink.out.diagnostics.iter().any(|d| d.is_error());
        if let (Some(at), false) = (summary_at, has_errors) {
            self.check_summary(&layout, lines, at, rows.len() as u32, &sums);
        }
        let currency = booked.first().map_or(Currency::CNY, |b: &Booked| b.entry.currency);
        if let Some(other) = booked.iter().find(|b| b.entry.currency != currency) {
            let line = other.entry.line;
            self.sink.error(line, 0, format!("a second currency {} in a bill in {currency}", other.entry.currency));
        }
        let statement = Statement {
            statement_ref: String::new(),
            account,
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
        self.sink.out
    }

    fn amount(&mut self, line: u32, layout: &Layout, cells: &[&str], index: usize) -> Option<i64> {
        match parse_amount_minor(cells[index], NumberStyle::Dot, 2) {
            Ok(value) => Some(value),
            Err(error) => {
                self.sink.cell_error(line, index, &layout.header[index], error.to_string());
                None
            }
        }
    }

    /// Adds the row's values to the sums the summary states (trade bill) or its counts
    /// and totals per direction (fund flow).
    fn tally(&mut self, layout: &Layout, cells: &[&str], sums: &mut Vec<(String, i64)>) {
        let mut add = |name: &str, value: i64| match sums.iter_mut().find(|(n, _)| n == name) {
            Some((_, sum)) => *sum += value,
            None => sums.push((name.to_owned(), value)),
        };
        match layout.kind {
            Kind::Trade => {
                for (_, column) in TRADE_SUMMARY {
                    if let Some(index) = column.and_then(|c| layout.find(c)) {
                        if let Ok(value) = parse_amount_minor(cells[index], NumberStyle::Dot, 2) {
                            add(column.expect("named"), value);
                        }
                    }
                }
            }
            Kind::FundFlow => {
                let direction = layout.find("收支类型").map_or("", |i| cells[i]);
                let amount = layout
                    .find("收支金额(元)")
                    .and_then(|i| parse_amount_minor(cells[i], NumberStyle::Dot, 2).ok())
                    .unwrap_or(0);
                match direction {
                    "收入" => {
                        add("收入笔数", 1);
                        add("收入金额", amount.abs());
                    }
                    "支出" => {
                        add("支出笔数", 1);
                        add("支出金额", amount.abs());
                    }
                    _ => {}
                }
            }
        }
    }

    fn row(&mut self, line: u32, layout: &Layout, cells: &[&str]) -> Option<Booked> {
        let errors_before = self.sink.out.diagnostics.len();
        let text = |name: &str| layout.find(name).map(|i| cells[i].to_owned()).unwrap_or_default();
        let time_column = if layout.kind == Kind::Trade { "交易时间" } else { "记账时间" };
        let time_index = layout.find(time_column).expect("checked in the header");
        let date = match parse_date(cells[time_index], None) {
            Ok(date) => Some(date),
            Err(message) => {
                self.sink.cell_error(line, time_index, time_column, message);
                None
            }
        };
        let currency = match layout.find("货币种类").map(|i| (i, cells[i])).filter(|(_, c)| !c.is_empty()) {
            None => Some(Currency::CNY),
            Some((index, code)) => match Currency::from_code(code) {
                Ok(currency) => Some(currency),
                Err(error) => {
                    self.sink.cell_error(line, index, "货币种类", error.to_string());
                    None
                }
            },
        };
        let mut fee_minor = None;
        let mut balance_minor = None;
        let (amount_minor, entry_ref, reference, counterparty, description) = match layout.kind {
            Kind::Trade => {
                let status_index = layout.find("交易状态").expect("checked in the header");
                if let Some(index) = layout.find("手续费").filter(|i| !cells[*i].is_empty()) {
                    fee_minor = self.amount(line, layout, cells, index);
                }
                let order_id = text("微信订单号");
                let refund_id = text("微信退款单号");
                let mut description = text("商品名称");
                let amount = match cells[status_index] {
                    "SUCCESS" => {
                        let index = layout.find("应结订单金额").or_else(|| layout.find("订单金额")).expect("checked");
                        self.amount(line, layout, cells, index)
                    }
                    "REFUND" => {
                        let index = layout.find("退款金额").expect("checked in the header");
                        let merchant_refund = text("商户退款单号");
                        if !merchant_refund.is_empty() {
                            description = format!("{description} {merchant_refund}").trim().to_owned();
                        }
                        self.amount(line, layout, cells, index).map(|value| -value.abs())
                    }
                    "REVOKED" => return None,
                    other => {
                        let message = format!("'{other}' is not SUCCESS, REFUND or REVOKED");
                        self.sink.cell_error(line, status_index, "交易状态", message);
                        None
                    }
                };
                let entry_ref =
                    if cells[status_index] == "REFUND" && !refund_id.is_empty() { refund_id } else { order_id };
                (amount, entry_ref, text("商户订单号"), text("用户标识"), description)
            }
            Kind::FundFlow => {
                let direction_index = layout.find("收支类型").expect("checked in the header");
                let amount_index = layout.find("收支金额(元)").expect("checked in the header");
                let balance_index = layout.find("账户结余(元)").expect("checked in the header");
                let value = self.amount(line, layout, cells, amount_index);
                balance_minor = self.amount(line, layout, cells, balance_index);
                let amount = match cells[direction_index] {
                    "收入" => value.map(i64::abs),
                    "支出" => value.map(|v| -v.abs()),
                    other => {
                        let message = format!("'{other}' is not 收入 or 支出");
                        self.sink.cell_error(line, direction_index, "收支类型", message);
                        None
                    }
                };
                let parts = [text("业务名称"), text("业务类型"), text("备注")];
                let description = parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(" ");
                (amount, text("资金流水单号"), text("微信支付业务单号"), String::new(), description)
            }
        };
        if self.sink.out.diagnostics.len() != errors_before {
            return None;
        }
        Some(Booked {
            entry: StatementEntry {
                statement: 0,
                line,
                booking_date: date?,
                value_date: None,
                amount_minor: amount_minor?,
                currency: currency?,
                entry_ref,
                reference,
                counterparty,
                description,
                original_amount: None,
                fee_minor,
                reversal: false,
            },
            balance_minor,
        })
    }

    fn check_summary(&mut self, layout: &Layout, lines: &[(u32, &str)], at: usize, rows: u32, sums: &[(String, i64)]) {
        let (header_line, header_text) = lines[at];
        let names: Vec<String> = header_text.split(',').map(normalize).collect();
        let Some(&(line, values_text)) = lines.get(at + 1) else {
            self.sink.warning(header_line, 0, "the summary header has no summary row; totals not checked");
            return;
        };
        let values = split(values_text);
        let summed = |name: &str| sums.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v);
        for (index, name) in names.iter().enumerate() {
            let Some(stated) = values.get(index).copied() else { continue };
            // (what the rows give, is it a count)
            let from_rows: Option<(i64, bool)> = match layout.kind {
                Kind::Trade => TRADE_SUMMARY.iter().find(|(n, _)| n == name).and_then(|(_, column)| match column {
                    None => Some((i64::from(rows), true)),
                    Some(column) => layout.find(column).map(|_| (summed(column), false)),
                }),
                Kind::FundFlow => match name.as_str() {
                    "资金流水总笔数" => Some((i64::from(rows), true)),
                    "收入笔数" | "支出笔数" => Some((summed(name), true)),
                    "收入金额" | "支出金额" => Some((summed(name), false)),
                    _ => None,
                },
            };
            let Some((actual, is_count)) = from_rows else { continue };
            let parsed = if is_count {
                stated.parse::<i64>().map_err(|_| format!("'{stated}' is not a count"))
            } else {
                parse_amount_minor(stated, NumberStyle::Dot, 2).map_err(|error| error.to_string())
            };
            match parsed {
                Ok(value) if value == actual => {}
                Ok(value) => {
                    let show = |v: i64| if is_count { v.to_string() } else { format_minor(v, 2) };
                    self.sink.warning(
                        line,
                        index as u32 + 1,
                        format!(
                            "the summary's {name} is {}, the rows give {} (difference {})",
                            show(value),
                            show(actual),
                            show(actual - value)
                        ),
                    );
                }
                Err(message) => {
                    self.sink.warning(line, index as u32 + 1, format!("summary {name}: {message}; not checked"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(file: &StatementFile) -> Vec<String> {
        file.entries
            .iter()
            .map(|e| {
                let fee = e.fee_minor.map(|f| format!(" fee={}", format_minor(f, 2))).unwrap_or_default();
                format!(
                    "{} {} {} {} {}|{}|{}|{}{fee}",
                    e.line,
                    e.booking_date,
                    format_minor(e.amount_minor, 2),
                    e.currency,
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

    const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";

    fn bill(summary: &str) -> String {
        format!(
            "\u{feff}{HEADER}\r\n\
`2021-01-28 17:07:11,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714292,`S20210128170702357723,`ofyak5q1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`1000.00,`0.00,`0,`0,`0.00,`0.00,`,`,`T恤, 白色,`cipher code,`6.00000,`0.60%,`1000.00,`0.00,`\r\n\
`2021-01-28 18:00:00,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714293,`S20210128180000000001,`ofyak5q2,`JSAPI,`SUCCESS,`OTHERS,`CNY,`299.02,`0.00,`0,`0,`0.00,`0.00,`,`,`帽子,`,`1.79000,`0.60%,`299.02,`0.00,`\r\n\
`2021-01-29 09:00:00,`wx81be3101902f7cb2,`1601959334,`0,`,`4200000925202101284997714292,`S20210128170702357723,`ofyak5q1,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000000112021012906543210,`R1,`100.00,`0.00,`ORIGINAL,`SUCCESS,`T恤, 白色,`,`-0.60000,`0.60%,`0.00,`100.00,`\r\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n\
{summary}\r\n"
        )
    }

    const ENTRIES: [&str; 3] = [
        "2 2021-01-28 1000.00 CNY 4200000925202101284997714292|S20210128170702357723|ofyak5q1|T恤, 白色 fee=6.00",
        "3 2021-01-28 299.02 CNY 4200000925202101284997714293|S20210128180000000001|ofyak5q2|帽子 fee=1.79",
        "4 2021-01-29 -100.00 CNY 50000000112021012906543210|S20210128170702357723|ofyak5q1|T恤, 白色 R1 fee=-0.60",
    ];

    #[test]
    fn trade_bill_with_backticks_and_matching_summary() {
        let file = read_wechatpay("wx.csv", bill("`3,`1299.02,`100.00,`0.00,`7.19000,`1299.02,`100.00").as_bytes());
        assert_eq!(show(&file), ENTRIES, "{:#?}", messages(&file));
        assert_eq!(messages(&file), Vec::<String>::new());
        let statement = &file.statements[0];
        assert_eq!((statement.entry_count, statement.entries_sum_minor), (3, 119_902));
        assert_eq!(statement.account, "1601959334");
        assert_eq!((statement.opening_minor, statement.closing_minor), (None, None));
    }

    #[test]
    fn trade_bill_summary_mismatch() {
        let file = read_wechatpay("wx.csv", bill("`4,`1299.02,`0.00,`0.00,`7.79000,`1299.02,`100.00").as_bytes());
        assert_eq!(show(&file), ENTRIES);
        assert_eq!(
            messages(&file),
            [
                "wx.csv:6:1: warning: the summary's 总交易单数 is 4, the rows give 3 (difference -1)",
                "wx.csv:6:3: warning: the summary's 退款总金额 is 0.00, the rows give 100.00 (difference 100.00)",
                "wx.csv:6:5: warning: the summary's 手续费总金额 is 7.79, the rows give 7.19 (difference -0.60)",
            ]
        );
    }

    #[test]
    fn bad_values_and_fractional_fees_are_errors() {
        let text = bill("`3,`1299.02,`100.00,`0.00,`7.19000,`1299.02,`100.00")
            .replace("`6.00000,", "`6.00500,")
            .replace("`JSAPI,`SUCCESS,", "`JSAPI,`PAID,")
            .replace("2021-01-29 09:00:00", "2021-02-30 09:00:00");
        let file = read_wechatpay("wx.csv", text.as_bytes());
        assert_eq!(
            messages(&file),
            [
                "wx.csv:2:23: error: column '手续费': '6.00500' has more decimal places than 2, the currency's",
                "wx.csv:3:10: error: column '交易状态': 'PAID' is not SUCCESS, REFUND or REVOKED",
                "wx.csv:4:1: error: column '交易时间': '2021-02-30 09:00:00' is not a calendar date (no such day or month)",
            ]
        );
    }

    #[test]
    fn not_a_wechat_bill() {
        let file = read_wechatpay("x.csv", "Date,Amount\n2021-01-01,1\n".as_bytes());
        assert_eq!(
            messages(&file),
            ["x.csv:1: error: no WeChat Pay bill header: line 1 holds neither 微信订单号 (trade bill) nor 资金流水单号 (fund flow bill)"]
        );
    }

    #[test]
    fn fund_flow_bill_with_running_balance() {
        let text = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n\
`2021-01-28 17:07:11,`4200000925202101284997714292,`F1,`退款,`交易,`收入,`1000.00,`1000.00,`system,`,`\n\
`2021-01-28 17:07:12,`4200000925202101284997714292,`F2,`手续费,`扣除手续费,`支出,`6.00,`994.00,`system,`,`\n\
`2021-01-29 10:00:00,`W1,`F3,`提现,`提现,`支出,`900.00,`84.00,`admin,`到银行,`\n\
资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n\
`3,`1,`1000.00,`2,`906.00\n";
        let file = read_wechatpay("fund.csv", text.as_bytes());
        assert_eq!(
            show(&file),
            [
                "2 2021-01-28 1000.00 CNY F1|4200000925202101284997714292||退款 交易",
                "3 2021-01-28 -6.00 CNY F2|4200000925202101284997714292||手续费 扣除手续费",
                "4 2021-01-29 -900.00 CNY F3|W1||提现 提现 到银行",
            ]
        );
        assert_eq!(
            messages(&file),
            ["fund.csv:4: warning: the running balance breaks here: 994.00 + -900.00 = 94.00, but the row states 84.00 (difference -10.00 CNY)"]
        );
        let statement = &file.statements[0];
        assert_eq!((statement.opening_minor, statement.closing_minor), (Some(0), Some(8_400)));
    }
}
