//! Counterparty documents (往来单据): the invoices, refunds, discounts and payments of
//! customers, and the purchases, returns, discounts and payments of suppliers, as an ERP
//! exports them to CSV — or a counterparty's own statement of the same.
//!
//! # The file
//! A CSV (comma, semicolon or tab, detected from the header line), UTF-8 (with or
//! without BOM) or, when it is not UTF-8, GBK. The header names the columns,
//! case-insensitively, in English or Chinese:
//!
//! | field | headers |
//! |---|---|
//! | counterparty (required) | `counterparty`, `customer`, `supplier`, `往来单位`, `客户`, `供应商` |
//! | counterparty name | `counterparty_name`, `name`, `名称`, `单位名称` |
//! | type (required) | `type`, `document_type`, `类型`, `单据类型` — see [`DocType::parse`] |
//! | number (required) | `number`, `document`, `document_number`, `单号`, `单据编号` |
//! | date (required) | `date`, `日期`, `单据日期` — `YYYY-MM-DD`, `YYYY/MM/DD` or `DD.MM.YYYY` |
//! | amount (required) | `amount`, `金额` — positive, `.` decimal point; thousands commas allowed (`1,234.50`) |
//! | currency (required) | `currency`, `币种` |
//! | description | `description`, `items`, `摘要`, `商品`, `备注` |
//!
//! A negative amount is refused (the type carries the sign), as are an unknown type, a
//! bad date or amount, a currency tieout does not know and a line with the wrong number
//! of fields — each naming its line and column. A trailing totals line (first field
//! `Total`, `合计`, `总计`) is skipped.

use chrono::NaiveDate;
use tieout_core::counterparty::{DocType, Document};
use tieout_core::diag::Diagnostic;
use tieout_core::limits;
use tieout_core::money::{parse_amount_minor, Currency, NumberStyle};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFile {
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

const FIELDS: [(&str, &[&str], bool); 8] = [
    ("counterparty", &["counterparty", "customer", "supplier", "往来单位", "客户", "供应商"], true),
    ("counterparty_name", &["counterparty_name", "name", "名称", "单位名称"], false),
    ("type", &["type", "document_type", "类型", "单据类型"], true),
    ("number", &["number", "document", "document_number", "单号", "单据编号"], true),
    ("date", &["date", "日期", "单据日期"], true),
    ("amount", &["amount", "金额"], true),
    ("currency", &["currency", "币种"], true),
    ("description", &["description", "items", "摘要", "商品", "备注"], false),
];

/// Whether `bytes` look like a document file: its header names a type, a number and an
/// amount column.
pub fn looks_like(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_lowercase();
    let first = text.trim_start_matches('\u{feff}').lines().next().unwrap_or("");
    let cells: Vec<String> = first.split([',', ';', '\t']).map(|c| c.trim().trim_matches('"').to_owned()).collect();
    ["type", "number", "amount"].iter().all(|field| {
        let (_, aliases, _) = FIELDS.iter().find(|(name, _, _)| name == field).expect("a known field");
        cells.iter().any(|cell| aliases.contains(&cell.as_str()))
    })
}

pub fn read_documents(file_name: &str, bytes: &[u8]) -> DocumentFile {
    let mut out = DocumentFile::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => match crate::statement_profile::decode_gbk(bytes) {
            Ok(text) => text,
            Err((line, column)) => {
                out.diagnostics.push(Diagnostic::error(
                    file_name,
                    line,
                    column,
                    "the file is neither UTF-8 nor GBK text",
                ));
                return out;
            }
        },
    };
    let text = text.trim_start_matches('\u{feff}');
    let header_line = text.lines().next().unwrap_or("");
    let delimiter =
        [b'\t', b';', b','].into_iter().max_by_key(|d| header_line.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(record)) => record.iter().map(|c| c.trim().to_lowercase()).collect(),
        _ => {
            out.diagnostics.push(Diagnostic::error(file_name, 1, 1, "the file is empty: a header line is expected"));
            return out;
        }
    };
    let mut columns = [None; 8];
    for (index, (field, aliases, required)) in FIELDS.iter().enumerate() {
        columns[index] = header.iter().position(|h| aliases.contains(&h.as_str()));
        if *required && columns[index].is_none() {
            out.diagnostics.push(Diagnostic::error(
                file_name,
                1,
                1,
                format!("no {field} column (headers accepted: {}); found: {}", aliases.join(", "), header.join(", ")),
            ));
        }
    }
    if !out.diagnostics.is_empty() {
        return out;
    }
    let column = |index: usize| columns[index].expect("required columns were found");
    for record in records {
        if out.diagnostics.len() >= limits::FILE_DIAGNOSTICS_MAX {
            break;
        }
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line() as u32);
                out.diagnostics.push(Diagnostic::error(file_name, line, 1, format!("not a CSV line: {error}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as u32);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let first = record.get(0).unwrap_or("").trim().to_lowercase();
        if ["total", "totals", "合计", "总计"].contains(&first.as_str()) {
            continue;
        }
        if record.len() != header.len() {
            out.diagnostics.push(Diagnostic::error(
                file_name,
                line,
                1,
                format!("{} fields, the header has {}", record.len(), header.len()),
            ));
            continue;
        }
        let cell = |index: usize| record.get(index).unwrap_or("").trim();
        let error = |index: usize, message: String| {
            let mut d = Diagnostic::error(file_name, line, index as u32 + 1, message);
            d.column_name = header.get(index).cloned();
            d
        };
        match read_row(&cell, &column, &columns) {
            Ok(mut document) => {
                document.line = line;
                out.documents.push(document);
            }
            Err((index, message)) => out.diagnostics.push(error(index, message)),
        }
    }
    out
}

type RowResult = Result<Document, (usize, String)>;

fn read_row<'r>(
    cell: &dyn Fn(usize) -> &'r str,
    column: &dyn Fn(usize) -> usize,
    columns: &[Option<usize>; 8],
) -> RowResult {
    let required = |field: usize, what: &str| -> Result<String, (usize, String)> {
        let text = cell(column(field));
        if text.is_empty() {
            Err((column(field), format!("the {what} is empty")))
        } else {
            Ok(text.to_owned())
        }
    };
    let counterparty = required(0, "counterparty")?;
    let type_text = required(2, "type")?;
    let doc_type = DocType::parse(&type_text).ok_or_else(|| {
        let names: Vec<&str> = DocType::ALL.iter().map(|t| t.name()).collect();
        (column(2), format!("unknown type '{type_text}': one of {}", names.join(", ")))
    })?;
    let number = required(3, "document number")?;
    let date_text = required(4, "date")?;
    let date = ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(&date_text, format).ok())
        .ok_or_else(|| (column(4), format!("'{date_text}' is not a date like 2026-10-31")))?;
    let currency_text = required(6, "currency")?;
    let currency = Currency::from_code(&currency_text.to_uppercase())
        .map_err(|_| (column(6), format!("'{currency_text}' is not a currency tieout knows")))?;
    let amount_text = required(5, "amount")?;
    if amount_text.starts_with('-') || amount_text.starts_with('(') {
        return Err((
            column(5),
            format!("'{amount_text}' is negative: write amounts positive, the type gives the sign"),
        ));
    }
    let plain = amount_text.replace(',', "");
    let amount_minor = parse_amount_minor(&plain, NumberStyle::Dot, currency.exponent())
        .map_err(|e| (column(5), format!("'{amount_text}' is not an amount in {currency}: {e}")))?;
    let optional = |index: usize| columns[index].map(|c| cell(c).to_owned()).filter(|t| !t.is_empty());
    Ok(Document {
        line: 0,
        counterparty,
        counterparty_name: optional(1),
        doc_type,
        number,
        date,
        amount_minor,
        currency,
        description: optional(7).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_english_and_chinese_headers_and_refuses_bad_rows_by_line_and_column() {
        let file = "counterparty,name,type,number,date,amount,currency,description\n\
                    D-001,Distributor One,invoice,INV-1,2026-10-03,\"1,234.50\",USD,20 chargers\n\
                    D-001,Distributor One,receipt,RC-1,2026-10-20,1000.00,USD,wire\n\
                    Total,,,,,2234.50,,\n";
        let read = read_documents("docs.csv", file.as_bytes());
        assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
        assert_eq!(read.documents.len(), 2);
        assert_eq!(read.documents[0].amount_minor, 123_450);
        assert_eq!(read.documents[0].line, 2);
        assert_eq!(read.documents[1].doc_type, DocType::Receipt);
        assert!(looks_like(file.as_bytes()));

        let chinese = "供应商;类型;单号;日期;金额;币种\nS-9;采购;PO-1;2026/10/05;88.00;CNY\n";
        let read = read_documents("采购.csv", chinese.as_bytes());
        assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
        assert_eq!(read.documents[0].doc_type, DocType::Purchase);

        let bad = "counterparty,type,number,date,amount,currency\nD-1,invoice,I-1,2026-13-01,5.00,USD\nD-1,gift,I-2,2026-10-01,5.00,USD\nD-1,invoice,I-3,2026-10-01,-5.00,USD\n";
        let read = read_documents("bad.csv", bad.as_bytes());
        let places: Vec<(u32, u32)> = read.diagnostics.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(places, [(2, 4), (3, 2), (4, 5)], "{:?}", read.diagnostics);
        let missing = read_documents("x.csv", b"counterparty,number,amount\n");
        assert!(missing.diagnostics[0].message.contains("no type column"));
    }
}
