//! Format detection from a file's content (never from its name alone): the header line
//! of the tab-separated Amazon reports names them; a CSV or XLSX order export is
//! recognised when a column mapping is given.

use tieout_core::records::SourceFormat;

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
        return Detected::Tabular;
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
    if header.contains(&b',') || header.contains(&b';') || header.contains(&b'\t') {
        return Detected::Tabular;
    }
    Detected::Unknown
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
        assert_eq!(detect(b""), Detected::Unknown);
    }
}
