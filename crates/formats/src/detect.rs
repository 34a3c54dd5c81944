//! Format detection from a file's content (never from its name alone): the header line
//! of the tab-separated Amazon reports names them; a CSV or XLSX order export is
//! recognised when a column mapping is given. Amazon's Date Range transaction reports are
//! recognised by [`detect_amazon_transactions`] (their header follows a preamble).
//! Counterparty documents are recognised by their header (a type, a number and an amount
//! column, see [`crate::ledger`]), in a CSV or in the first row of an XLSX workbook's
//! first sheet: for a workbook, detection opens it and reads that one row (the shared
//! strings are read too; the import skips detection when a mapping or profile already
//! says how to read a workbook).

use tieout_core::records::SourceFormat;

use crate::amazon_transactions::{sniff_locale, ReportLocale};
use crate::text::first_line;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Known(SourceFormat),
    /// A spreadsheet (XLSX) or delimited text that needs a column mapping.
    Tabular,
    Unknown,
}

/// Detects the format of a file from its first bytes.
pub fn detect(bytes: &[u8]) -> Detected {
    if bytes.starts_with(b"PK\x03\x04") {
        if crate::ledger::looks_like_xlsx(bytes) {
            return Detected::Known(SourceFormat::LedgerDocuments);
        }
        return Detected::Tabular;
    }
    if detect_amazon_transactions(bytes).is_some() || looks_like_transaction_report(bytes) {
        return Detected::Known(SourceFormat::AmazonTransactionReport);
    }
    let head = &bytes[..bytes.len().min(4096)];
    if contains(head, b"<Document") && contains(head, b"camt.05") {
        return Detected::Known(SourceFormat::Camt053);
    }
    // MT940 tags start a line (a CSV's times, 10:20:25, must not look like tags).
    let tag = |name: &[u8]| head.starts_with(name) || contains(head, &[b"\n", name].concat());
    if tag(b":20:") && (tag(b":25:") || tag(b":60F:")) {
        return Detected::Known(SourceFormat::Mt940);
    }
    // Chinese bills: UTF-8 (re-saved, or WeChat's own) or GBK (Alipay's).
    let (text, _, _) = encoding_rs::GBK.decode(head);
    let utf8 = String::from_utf8_lossy(head);
    for text in [utf8.as_ref(), text.as_ref()] {
        if text.contains("交易时间") && (text.contains("微信订单号") || text.contains("微信支付业务单号"))
        {
            return Detected::Known(SourceFormat::WechatPayBill);
        }
        if text.contains("账务流水号") || text.contains("支付宝") {
            return Detected::Known(SourceFormat::AlipayStatement);
        }
    }
    let header = first_line(bytes);
    // Split on tabs, and also on commas and semicolons: an Amazon report re-saved with
    // another delimiter is still recognised, so its reader can say what is wrong with it.
    let fields: Vec<&[u8]> = header.split(|b| matches!(*b, b'\t' | b',' | b';')).map(trim_ascii).collect();
    let has = |name: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(name.as_bytes()));
    if has("settlement-id") && has("transaction-type") {
        // V1 has typed amount columns; anything else is read as V2, whose reader names
        // the columns that are missing or unknown.
        if has("price-type") || has("item-related-fee-type") {
            return Detected::Known(SourceFormat::AmazonSettlementV1);
        }
        return Detected::Known(SourceFormat::AmazonSettlementV2);
    }
    if has("amazon-order-id") && has("purchase-date") && has("order-status") {
        return Detected::Known(SourceFormat::AmazonOrdersReport);
    }
    if crate::ledger::looks_like(bytes) {
        return Detected::Known(SourceFormat::LedgerDocuments);
    }
    if header.contains(&b',') || header.contains(&b';') || header.contains(&b'\t') {
        return Detected::Tabular;
    }
    Detected::Unknown
}

/// How much of a file [`detect_amazon_transactions`] looks at: the preamble (up to nine
/// lines of definitions) and the header fit in a few KiB.
const TRANSACTION_REPORT_HEAD_BYTES: usize = 16 * 1024;

/// Recognises an Amazon Date Range transaction report from its first bytes: among its
/// first rows, a header whose first cell is a `date/time` label of a locale tieout reads
/// and which has a settlement id and a total column. Returns the header's locale.
pub fn detect_amazon_transactions(bytes: &[u8]) -> Option<ReportLocale> {
    let head = &bytes[..bytes.len().min(TRANSACTION_REPORT_HEAD_BYTES)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // Lossy: a Windows-1252 German report still has its ASCII `Datum/Uhrzeit` label, and
    // a character cut at the end of the head does not matter.
    sniff_locale(&String::from_utf8_lossy(head))
}

/// A transaction report tieout cannot read (a language it does not know): still routed
/// to the transaction report reader, whose error says so.
fn looks_like_transaction_report(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(TRANSACTION_REPORT_HEAD_BYTES)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    crate::amazon_transactions::looks_like_report(&String::from_utf8_lossy(head))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn trim_ascii(field: &[u8]) -> &[u8] {
    field.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_header() {
        let v2 =
            b"settlement-id\tsettlement-start-date\ttotal-amount\tcurrency\ttransaction-type\tamount-type\tamount\n";
        assert_eq!(detect(v2), Detected::Known(SourceFormat::AmazonSettlementV2));
        let v1 = b"settlement-id\ttotal-amount\ttransaction-type\tprice-type\tprice-amount\r\n";
        assert_eq!(detect(v1), Detected::Known(SourceFormat::AmazonSettlementV1));
        let orders = b"\xEF\xBB\xBFamazon-order-id\tmerchant-order-id\tpurchase-date\torder-status\n";
        assert_eq!(detect(orders), Detected::Known(SourceFormat::AmazonOrdersReport));
        assert_eq!(detect(b"order_no,date,amount\n"), Detected::Tabular);
        // Re-saved with commas, or with a misspelt column: still routed to the reader,
        // which names the problem.
        let commas = b"settlement-id,total-amount,transaction-type,amount-type,amount\n";
        assert_eq!(detect(commas), Detected::Known(SourceFormat::AmazonSettlementV2));
        let misspelt = b"settlement-id\ttotal-amount\ttransaction-type\tamount-typ\tamuont\n";
        assert_eq!(detect(misspelt), Detected::Known(SourceFormat::AmazonSettlementV2));
        assert_eq!(detect(b"PK\x03\x04rest"), Detected::Tabular);
        assert_eq!(detect(b"%PDF-1.7"), Detected::Unknown);
        let camt = b"<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">";
        assert_eq!(detect(camt), Detected::Known(SourceFormat::Camt053));
        assert_eq!(
            detect(b"0000 01INGBNL2AXXXX00001\n940 00\n:20:MPBZ\n:25:0001234567\n"),
            Detected::Known(SourceFormat::Mt940)
        );
        let (alipay, _, _) = encoding_rs::GBK.encode("#支付宝账务明细查询\n账务流水号,业务流水号\n");
        assert_eq!(detect(&alipay), Detected::Known(SourceFormat::AlipayStatement));
        let wechat = "\u{feff}交易时间,公众账号ID,商户号,微信订单号,商户订单号\n".as_bytes();
        assert_eq!(detect(wechat), Detected::Known(SourceFormat::WechatPayBill));
        assert_eq!(detect(b"order,time\n1,10:20:25\n2,11:25:30\n"), Detected::Tabular, "times are not MT940 tags");
        assert_eq!(detect(b""), Detected::Unknown);
    }

    #[test]
    fn detects_transaction_reports_after_their_preamble() {
        let report = "\u{feff}\"Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions\"\r\n\"All amounts in USD, unless specified\"\r\n\"date/time\",\"settlement id\",\"type\",\"total\"\r\n";
        assert_eq!(detect_amazon_transactions(report.as_bytes()), Some(ReportLocale::English));
        let german = "\"Datum/Uhrzeit\",\"Abrechnungsnummer\",\"Typ\",\"Gesamt\"\n";
        assert_eq!(detect_amazon_transactions(german.as_bytes()), Some(ReportLocale::German));
        // A date/time column without a settlement id and a total is some other table.
        assert_eq!(detect_amazon_transactions(b"\"date/time\",\"amount\"\n"), None);
        assert_eq!(detect_amazon_transactions(b"settlement-id\ttransaction-type\n"), None);
    }
}
