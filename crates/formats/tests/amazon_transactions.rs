//! Golden tests of the Amazon Date Range transaction report reader: one fixture per
//! locale (`fixtures/amazon-transactions-<locale>.csv`, written for tieout from the layout
//! in `../shared/formats/amazon-transaction-range.md`: there is no real report among the
//! shared samples), every line asserted.

use tieout_core::money::Currency;
use tieout_core::records::{SourceFormat, TransactionClass};
use tieout_formats::amazon_transactions::{read_transaction_report, ReportLocale, TransactionReport};
use tieout_formats::dates::format_instant;
use tieout_formats::{detect, detect_amazon_transactions, Detected};

const LOCALES: [(&str, ReportLocale); 7] = [
    ("us", ReportLocale::English),
    ("uk", ReportLocale::English),
    ("de", ReportLocale::German),
    ("fr", ReportLocale::French),
    ("it", ReportLocale::Italian),
    ("es", ReportLocale::Spanish),
    ("jp", ReportLocale::Japanese),
];

fn fixture(locale: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/amazon-transactions-{locale}.csv", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// One line per settlement line: file line, settlement id, released (R) or deferred (D),
/// transaction type, [order id], amount type / description, amount in minor units,
/// fulfillment, quantity, posted time (UTC), and the core's classification.
fn shown(report: &TransactionReport) -> Vec<String> {
    let text = |sym| report.strings.resolve(sym).to_owned();
    report
        .lines
        .iter()
        .map(|entry| {
            let line = &entry.line;
            format!(
                "{} {} {} {} [{}] {}/{} {} {} q{} {} {:?}/{:?}",
                line.line,
                line.settlement_id,
                if entry.released { "R" } else { "D" },
                text(line.transaction_type),
                line.order_id.as_ref().map(ToString::to_string).unwrap_or_default(),
                text(line.amount_type),
                text(line.amount_description),
                line.amount_minor,
                text(line.fulfillment),
                line.quantity,
                format_instant(line.posted_utc_seconds),
                line.transaction,
                line.component,
            )
        })
        .collect()
}

/// Reads a fixture, which must have no diagnostics, and checks what holds for every
/// report: the locale, the currency, one currency on every line, and each row's lines
/// summing to its total.
fn read(locale: &str, currency: Currency, marketplace: &str) -> TransactionReport {
    let name = format!("amazon-transactions-{locale}.csv");
    let report = read_transaction_report(&name, &fixture(locale));
    let diagnostics: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(diagnostics, Vec::<String>::new(), "{name}");
    let expected_locale = LOCALES.iter().find(|(l, _)| *l == locale).map(|(_, l)| *l);
    assert_eq!(report.locale, expected_locale, "{name}");
    assert_eq!(report.currency, Some(currency), "{name}");
    assert_eq!(report.marketplace.as_deref(), Some(marketplace), "{name}");
    for (index, row) in report.rows.iter().enumerate() {
        let lines = &report.lines[row.lines.clone()];
        assert_eq!(lines.iter().map(|l| l.line.amount_minor).sum::<i64>(), row.total_minor, "{name} row {}", row.line);
        assert!(lines.iter().all(|l| l.row == index && l.released == row.released && l.line.line == row.line));
        assert!(lines.iter().all(|l| l.line.currency == currency));
    }
    report
}

fn rows(report: &TransactionReport) -> Vec<String> {
    report
        .rows
        .iter()
        .map(|row| {
            format!(
                "{} {:?} {} {} released {}",
                row.line,
                row.settlement_id,
                report.strings.resolve(row.report_type),
                row.total_minor,
                row.release_utc_seconds.map(format_instant).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn us_report_with_bom_crlf_preamble_and_deferred_rows() {
    let report = read("us", Currency::USD, "amazon.com");
    assert_eq!(
        shown(&report),
        [
            "9 24681357901 R Order [113-0013318-7697855] ItemPrice/Principal 105264 AFN q1 2026-10-01 07:03:45 UTC Order/Principal",
            "9 24681357901 R Order [113-0013318-7697855] ItemPrice/Tax 9474 AFN q1 2026-10-01 07:03:45 UTC Order/Tax",
            "9 24681357901 R Order [113-0013318-7697855] ItemPrice/Shipping 599 AFN q1 2026-10-01 07:03:45 UTC Order/Shipping",
            "9 24681357901 R Order [113-0013318-7697855] ItemPrice/ShippingTax 54 AFN q1 2026-10-01 07:03:45 UTC Order/Tax",
            "9 24681357901 R Order [113-0013318-7697855] Promotion/Principal -1000 AFN q1 2026-10-01 07:03:45 UTC Order/Promotion",
            "9 24681357901 R Order [113-0013318-7697855] Promotion/TaxDiscount -90 AFN q1 2026-10-01 07:03:45 UTC Order/Promotion",
            "9 24681357901 R Order [113-0013318-7697855] ItemWithheldTax/MarketplaceFacilitatorTax -9438 AFN q1 2026-10-01 07:03:45 UTC Order/FacilitatorTax",
            "9 24681357901 R Order [113-0013318-7697855] ItemFees/Commission -15790 AFN q1 2026-10-01 07:03:45 UTC Order/Commission",
            "9 24681357901 R Order [113-0013318-7697855] ItemFees/FBAPerUnitFulfillmentFee -612 AFN q1 2026-10-01 07:03:45 UTC Order/FbaPerUnitFee",
            "10 24681357901 R Order [114-2222222-3333333] ItemPrice/Principal 3998 MFN q2 2026-10-02 16:30:12 UTC Order/Principal",
            "10 24681357901 R Order [114-2222222-3333333] ItemPrice/Tax 330 MFN q2 2026-10-02 16:30:12 UTC Order/Tax",
            "10 24681357901 R Order [114-2222222-3333333] ItemPrice/Shipping 499 MFN q2 2026-10-02 16:30:12 UTC Order/Shipping",
            "10 24681357901 R Order [114-2222222-3333333] ItemPrice/ShippingTax 41 MFN q2 2026-10-02 16:30:12 UTC Order/Tax",
            "10 24681357901 R Order [114-2222222-3333333] ItemPrice/GiftWrap 200 MFN q2 2026-10-02 16:30:12 UTC Order/GiftWrap",
            "10 24681357901 R Order [114-2222222-3333333] ItemPrice/GiftWrapTax 17 MFN q2 2026-10-02 16:30:12 UTC Order/Tax",
            "10 24681357901 R Order [114-2222222-3333333] Promotion/Principal -500 MFN q2 2026-10-02 16:30:12 UTC Order/Promotion",
            "10 24681357901 R Order [114-2222222-3333333] Promotion/TaxDiscount -41 MFN q2 2026-10-02 16:30:12 UTC Order/Promotion",
            "10 24681357901 R Order [114-2222222-3333333] ItemWithheldTax/MarketplaceFacilitatorTax -347 MFN q2 2026-10-02 16:30:12 UTC Order/FacilitatorTax",
            "10 24681357901 R Order [114-2222222-3333333] ItemFees/Commission -675 MFN q2 2026-10-02 16:30:12 UTC Order/Commission",
            "10 24681357901 R Order [114-2222222-3333333] ItemFees/OtherTransactionFees -30 MFN q2 2026-10-02 16:30:12 UTC Order/OtherFee",
            "11 24681357901 R Refund [113-0013318-7697855] ItemPrice/Principal -10000 AFN q1 2026-10-03 23:15:00 UTC Refund/Principal",
            "11 24681357901 R Refund [113-0013318-7697855] ItemPrice/Tax -900 AFN q1 2026-10-03 23:15:00 UTC Refund/Tax",
            "11 24681357901 R Refund [113-0013318-7697855] ItemWithheldTax/MarketplaceFacilitatorTax 900 AFN q1 2026-10-03 23:15:00 UTC Refund/FacilitatorTax",
            "11 24681357901 R Refund [113-0013318-7697855] ItemFees/Commission 1200 AFN q1 2026-10-03 23:15:00 UTC Refund/Commission",
            "12 24681357901 R ServiceFee [] ItemFees/Cost of Advertising -2500  q0 2026-10-05 08:00:00 UTC ServiceFee/OtherFee",
            "13 24681357901 R Transfer [] other-transaction/To account ending in: 123 -80653  q0 2026-10-15 00:10:02 UTC Transfer/Other",
            "14 0 D Order [112-9999999-0000001] ItemPrice/Principal 105264 AFN q1 2026-10-15 06:59:59 UTC Order/Principal",
            "14 0 D Order [112-9999999-0000001] ItemPrice/RegulatoryFee 28 AFN q1 2026-10-15 06:59:59 UTC Order/Other",
            "14 0 D Order [112-9999999-0000001] ItemPrice/RegulatoryFeeTax 2 AFN q1 2026-10-15 06:59:59 UTC Order/Other",
            "14 0 D Order [112-9999999-0000001] ItemWithheldTax/MarketplaceFacilitatorTax -2 AFN q1 2026-10-15 06:59:59 UTC Order/FacilitatorTax",
            "14 0 D Order [112-9999999-0000001] ItemFees/Commission -15790 AFN q1 2026-10-15 06:59:59 UTC Order/Commission",
            "14 0 D Order [112-9999999-0000001] ItemFees/FBAPerUnitFulfillmentFee -612 AFN q1 2026-10-15 06:59:59 UTC Order/FbaPerUnitFee",
            "15 24699999999 D Refund [114-2222222-3333333] ItemPrice/Principal -1999 MFN q1 2026-11-02 21:05:00 UTC Refund/Principal",
            "15 24699999999 D Refund [114-2222222-3333333] ItemPrice/Tax -165 MFN q1 2026-11-02 21:05:00 UTC Refund/Tax",
            "15 24699999999 D Refund [114-2222222-3333333] ItemWithheldTax/MarketplaceFacilitatorTax 165 MFN q1 2026-11-02 21:05:00 UTC Refund/FacilitatorTax",
            "15 24699999999 D Refund [114-2222222-3333333] ItemFees/Commission 240 MFN q1 2026-11-02 21:05:00 UTC Refund/Commission",
        ]
    );
    assert_eq!(
        rows(&report),
        [
            "9 Some(24681357901) Order 88461 released 2026-10-08",
            "10 Some(24681357901) Order 3492 released 2026-10-09",
            "11 Some(24681357901) Refund -8800 released 2026-10-10",
            "12 Some(24681357901) Service Fee -2500 released 2026-10-05",
            "13 Some(24681357901) Transfer -80653 released 2026-10-14",
            "14 None Order 88890 released ",
            "15 Some(24699999999) Refund -1759 released 2026-11-09",
        ]
    );
    // The settlement's released transactions add up to its transfer to the bank.
    let settled: i64 = report
        .released()
        .filter(|l| l.line.settlement_id == 24681357901 && l.line.transaction != TransactionClass::Transfer)
        .map(|l| l.line.amount_minor)
        .sum();
    let transferred: i64 = report
        .released()
        .filter(|l| l.line.transaction == TransactionClass::Transfer)
        .map(|l| l.line.amount_minor)
        .sum();
    assert_eq!((settled, transferred), (80653, -80653));
    // Deferred: not in a settlement yet (line 14), or in the next one (line 15).
    let deferred: i64 = report.deferred().map(|l| l.line.amount_minor).sum();
    assert_eq!(deferred, 88890 - 1759);
}

#[test]
fn uk_report_without_status_columns() {
    let report = read("uk", Currency::GBP, "amazon.co.uk");
    assert_eq!(
        shown(&report),
        [
            "8 13572468024 R Order [202-1234567-7654321] ItemPrice/Principal 2997 AFN q3 2026-10-01 07:03:45 UTC Order/Principal",
            "8 13572468024 R Order [202-1234567-7654321] ItemPrice/Shipping 299 AFN q3 2026-10-01 07:03:45 UTC Order/Shipping",
            "8 13572468024 R Order [202-1234567-7654321] Promotion/Principal -150 AFN q3 2026-10-01 07:03:45 UTC Order/Promotion",
            "8 13572468024 R Order [202-1234567-7654321] ItemFees/Commission -450 AFN q3 2026-10-01 07:03:45 UTC Order/Commission",
            "8 13572468024 R Order [202-1234567-7654321] ItemFees/FBAPerUnitFulfillmentFee -636 AFN q3 2026-10-01 07:03:45 UTC Order/FbaPerUnitFee",
            "9 13572468024 R Adjustment [] other-transaction/FBA Inventory Reimbursement - Lost:Warehouse 745  q1 2026-10-02 13:10:00 UTC Adjustment/Other",
            "10 0 D Order [202-7654321-1234567] ItemPrice/Principal 125000 MFN q1 2026-10-31 23:30:00 UTC Order/Principal",
            "10 0 D Order [202-7654321-1234567] ItemFees/Commission -18750 MFN q1 2026-10-31 23:30:00 UTC Order/Commission",
        ]
    );
}

#[test]
fn german_report() {
    let report = read("de", Currency::EUR, "amazon.de");
    assert_eq!(
        shown(&report),
        [
            "8 27205273901 R Order [028-1111111-2222222] ItemPrice/Principal 123456 AFN q1 2026-10-01 00:03:45 UTC Order/Principal",
            "8 27205273901 R Order [028-1111111-2222222] ItemPrice/Tax 23457 AFN q1 2026-10-01 00:03:45 UTC Order/Tax",
            "8 27205273901 R Order [028-1111111-2222222] ItemPrice/Shipping 499 AFN q1 2026-10-01 00:03:45 UTC Order/Shipping",
            "8 27205273901 R Order [028-1111111-2222222] ItemPrice/ShippingTax 95 AFN q1 2026-10-01 00:03:45 UTC Order/Tax",
            "8 27205273901 R Order [028-1111111-2222222] Promotion/Principal -5000 AFN q1 2026-10-01 00:03:45 UTC Order/Promotion",
            "8 27205273901 R Order [028-1111111-2222222] Promotion/TaxDiscount -950 AFN q1 2026-10-01 00:03:45 UTC Order/Promotion",
            "8 27205273901 R Order [028-1111111-2222222] ItemFees/Commission -18518 AFN q1 2026-10-01 00:03:45 UTC Order/Commission",
            "8 27205273901 R Order [028-1111111-2222222] ItemFees/FBAPerUnitFulfillmentFee -743 AFN q1 2026-10-01 00:03:45 UTC Order/FbaPerUnitFee",
            "9 27205273901 R Refund [028-1111111-2222222] ItemPrice/Principal -123456 AFN q1 2026-10-02 13:45:00 UTC Refund/Principal",
            "9 27205273901 R Refund [028-1111111-2222222] ItemPrice/Tax -23457 AFN q1 2026-10-02 13:45:00 UTC Refund/Tax",
            "9 27205273901 R Refund [028-1111111-2222222] Promotion/Principal 5000 AFN q1 2026-10-02 13:45:00 UTC Refund/Promotion",
            "9 27205273901 R Refund [028-1111111-2222222] Promotion/TaxDiscount 950 AFN q1 2026-10-02 13:45:00 UTC Refund/Promotion",
            "9 27205273901 R Refund [028-1111111-2222222] ItemFees/Commission 14814 AFN q1 2026-10-02 13:45:00 UTC Refund/Commission",
            "10 27205273901 R Adjustment [] other-transaction/Erstattung Lagerbestand - Im Lager verloren 241  q1 2026-10-03 05:33:54 UTC Adjustment/Other",
            "11 27205273901 R ServiceFee [] ItemFees/Werbekosten -1200  q0 2026-10-04 15:39:22 UTC ServiceFee/OtherFee",
            "12 0 D Order [028-3333333-4444444] ItemPrice/Principal 19998 AFN q2 2026-10-14 22:10:00 UTC Order/Principal",
            "12 0 D Order [028-3333333-4444444] ItemPrice/Tax 3800 AFN q2 2026-10-14 22:10:00 UTC Order/Tax",
            "12 0 D Order [028-3333333-4444444] ItemFees/Commission -3000 AFN q2 2026-10-14 22:10:00 UTC Order/Commission",
            "12 0 D Order [028-3333333-4444444] ItemFees/FBAPerUnitFulfillmentFee -1086 AFN q2 2026-10-14 22:10:00 UTC Order/FbaPerUnitFee",
        ]
    );
    assert_eq!(
        rows(&report),
        [
            "8 Some(27205273901) Bestellung 122296 released 2026-10-08 00:03:45 UTC",
            "9 Some(27205273901) Erstattung -126149 released 2026-10-09 13:45:00 UTC",
            "10 Some(27205273901) Anpassung 241 released 2026-10-03 05:33:54 UTC",
            "11 Some(27205273901) Servicegebühr -1200 released 2026-10-04 15:39:22 UTC",
            "12 None Bestellung 19712 released ",
        ]
    );
    assert_eq!(report.strings.resolve(report.rows[4].description), "Stehlampe \"Bauhaus\"");
}

#[test]
fn french_report_with_space_grouped_thousands() {
    let report = read("fr", Currency::EUR, "amazon.fr");
    assert_eq!(
        shown(&report),
        [
            "7 27205273902 R Order [171-5555555-6666666] ItemPrice/Principal 123456 AFN q4 2026-10-01 00:03:45 UTC Order/Principal",
            "7 27205273902 R Order [171-5555555-6666666] ItemPrice/Tax 24691 AFN q4 2026-10-01 00:03:45 UTC Order/Tax",
            "7 27205273902 R Order [171-5555555-6666666] ItemFees/Commission -18518 AFN q4 2026-10-01 00:03:45 UTC Order/Commission",
            "7 27205273902 R Order [171-5555555-6666666] ItemFees/FBAPerUnitFulfillmentFee -1488 AFN q4 2026-10-01 00:03:45 UTC Order/FbaPerUnitFee",
            "8 27205273902 R Refund [171-5555555-6666666] ItemPrice/Principal -30864 AFN q1 2026-10-02 14:10:00 UTC Refund/Principal",
            "8 27205273902 R Refund [171-5555555-6666666] ItemPrice/Tax -6173 AFN q1 2026-10-02 14:10:00 UTC Refund/Tax",
            "8 27205273902 R Refund [171-5555555-6666666] ItemFees/Commission 3704 AFN q1 2026-10-02 14:10:00 UTC Refund/Commission",
            "9 0 D Order [171-7777777-8888888] ItemPrice/Principal 2000 MFN q1 2026-10-31 23:59:59 UTC Order/Principal",
            "9 0 D Order [171-7777777-8888888] ItemPrice/Tax 400 MFN q1 2026-10-31 23:59:59 UTC Order/Tax",
            "9 0 D Order [171-7777777-8888888] ItemPrice/Shipping 350 MFN q1 2026-10-31 23:59:59 UTC Order/Shipping",
            "9 0 D Order [171-7777777-8888888] ItemPrice/ShippingTax 70 MFN q1 2026-10-31 23:59:59 UTC Order/Tax",
            "9 0 D Order [171-7777777-8888888] ItemFees/Commission -353 MFN q1 2026-10-31 23:59:59 UTC Order/Commission",
        ]
    );
}

#[test]
fn italian_report_with_dotted_times() {
    let report = read("it", Currency::EUR, "amazon.it");
    assert_eq!(
        shown(&report),
        [
            "6 27205273903 R Order [402-1111111-0000001] ItemPrice/Principal 3980 AFN q2 2026-10-01 00:03:45 UTC Order/Principal",
            "6 27205273903 R Order [402-1111111-0000001] ItemPrice/Tax 876 AFN q2 2026-10-01 00:03:45 UTC Order/Tax",
            "6 27205273903 R Order [402-1111111-0000001] Promotion/Principal -200 AFN q2 2026-10-01 00:03:45 UTC Order/Promotion",
            "6 27205273903 R Order [402-1111111-0000001] Promotion/TaxDiscount -44 AFN q2 2026-10-01 00:03:45 UTC Order/Promotion",
            "6 27205273903 R Order [402-1111111-0000001] ItemFees/Commission -597 AFN q2 2026-10-01 00:03:45 UTC Order/Commission",
            "6 27205273903 R Order [402-1111111-0000001] ItemFees/FBAPerUnitFulfillmentFee -432 AFN q2 2026-10-01 00:03:45 UTC Order/FbaPerUnitFee",
            "7 27205273903 R Transfer [] other-transaction/Al conto che termina con: 456 -3583  q0 2026-10-15 14:10:00 UTC Transfer/Other",
            "8 0 D Order [402-2222222-0000002] ItemPrice/Principal 1990 AFN q1 2026-10-20 07:00:00 UTC Order/Principal",
            "8 0 D Order [402-2222222-0000002] ItemPrice/Tax 438 AFN q1 2026-10-20 07:00:00 UTC Order/Tax",
            "8 0 D Order [402-2222222-0000002] ItemFees/Commission -299 AFN q1 2026-10-20 07:00:00 UTC Order/Commission",
            "8 0 D Order [402-2222222-0000002] ItemFees/FBAPerUnitFulfillmentFee -216 AFN q1 2026-10-20 07:00:00 UTC Order/FbaPerUnitFee",
        ]
    );
}

#[test]
fn spanish_report_with_untranslated_columns_and_day_first_dates() {
    let report = read("es", Currency::EUR, "amazon.es");
    assert_eq!(
        shown(&report),
        [
            "6 27205273904 R Order [405-1111111-0000001] ItemPrice/Principal 4500 AFN q1 2026-10-01 00:03:45 UTC Order/Principal",
            "6 27205273904 R Order [405-1111111-0000001] ItemPrice/Tax 945 AFN q1 2026-10-01 00:03:45 UTC Order/Tax",
            "6 27205273904 R Order [405-1111111-0000001] ItemFees/Commission -675 AFN q1 2026-10-01 00:03:45 UTC Order/Commission",
            "6 27205273904 R Order [405-1111111-0000001] ItemFees/FBAPerUnitFulfillmentFee -512 AFN q1 2026-10-01 00:03:45 UTC Order/FbaPerUnitFee",
            "7 27205273904 R Order [405-2222222-0000002] ItemPrice/Principal 105000 MFN q3 2026-10-09 18:00:00 UTC Order/Principal",
            "7 27205273904 R Order [405-2222222-0000002] ItemPrice/Tax 22050 MFN q3 2026-10-09 18:00:00 UTC Order/Tax",
            "7 27205273904 R Order [405-2222222-0000002] ItemPrice/Shipping 1500 MFN q3 2026-10-09 18:00:00 UTC Order/Shipping",
            "7 27205273904 R Order [405-2222222-0000002] ItemPrice/ShippingTax 315 MFN q3 2026-10-09 18:00:00 UTC Order/Tax",
            "7 27205273904 R Order [405-2222222-0000002] ItemFees/Commission -15750 MFN q3 2026-10-09 18:00:00 UTC Order/Commission",
            "7 27205273904 R Order [405-2222222-0000002] ItemFees/OtherTransactionFees -120 MFN q3 2026-10-09 18:00:00 UTC Order/OtherFee",
            "8 27205273904 R Refund [405-1111111-0000001] ItemPrice/Principal -4500 AFN q1 2026-10-15 10:00:00 UTC Refund/Principal",
            "8 27205273904 R Refund [405-1111111-0000001] ItemPrice/Tax -945 AFN q1 2026-10-15 10:00:00 UTC Refund/Tax",
            "8 27205273904 R Refund [405-1111111-0000001] ItemFees/Commission 540 AFN q1 2026-10-15 10:00:00 UTC Refund/Commission",
        ]
    );
}

#[test]
fn japanese_report_in_yen_with_points_column() {
    let report = read("jp", Currency::JPY, "amazon.co.jp");
    assert_eq!(
        shown(&report),
        [
            "5 27205273905 R Order [249-1111111-0000001] ItemPrice/Principal 3000 AFN q2 2026-09-30 15:03:45 UTC Order/Principal",
            "5 27205273905 R Order [249-1111111-0000001] ItemPrice/Tax 240 AFN q2 2026-09-30 15:03:45 UTC Order/Tax",
            "5 27205273905 R Order [249-1111111-0000001] ItemFees/PointsCost -30 AFN q2 2026-09-30 15:03:45 UTC Order/OtherFee",
            "5 27205273905 R Order [249-1111111-0000001] ItemFees/Commission -450 AFN q2 2026-09-30 15:03:45 UTC Order/Commission",
            "5 27205273905 R Order [249-1111111-0000001] ItemFees/FBAPerUnitFulfillmentFee -318 AFN q2 2026-09-30 15:03:45 UTC Order/FbaPerUnitFee",
            "6 27205273905 R Refund [249-1111111-0000001] ItemPrice/Principal -1500 AFN q1 2026-10-05 03:00:00 UTC Refund/Principal",
            "6 27205273905 R Refund [249-1111111-0000001] ItemPrice/Tax -120 AFN q1 2026-10-05 03:00:00 UTC Refund/Tax",
            "6 27205273905 R Refund [249-1111111-0000001] ItemFees/Commission 180 AFN q1 2026-10-05 03:00:00 UTC Refund/Commission",
            "7 27205273905 R Transfer [] other-transaction/口座への振込 -1002  q0 2026-10-15 Transfer/Other",
            "8 0 D Order [249-2222222-0000002] ItemPrice/Principal 1200 MFN q1 2026-10-31 14:59:59 UTC Order/Principal",
            "8 0 D Order [249-2222222-0000002] ItemPrice/Tax 96 MFN q1 2026-10-31 14:59:59 UTC Order/Tax",
            "8 0 D Order [249-2222222-0000002] ItemPrice/Shipping 500 MFN q1 2026-10-31 14:59:59 UTC Order/Shipping",
            "8 0 D Order [249-2222222-0000002] ItemPrice/ShippingTax 40 MFN q1 2026-10-31 14:59:59 UTC Order/Tax",
            "8 0 D Order [249-2222222-0000002] ItemFees/PointsCost -12 MFN q1 2026-10-31 14:59:59 UTC Order/OtherFee",
            "8 0 D Order [249-2222222-0000002] ItemFees/Commission -180 MFN q1 2026-10-31 14:59:59 UTC Order/Commission",
        ]
    );
}

#[test]
fn detected_by_content_in_every_locale() {
    for (locale, expected) in LOCALES {
        let bytes = fixture(locale);
        assert_eq!(detect_amazon_transactions(&bytes), Some(expected), "{locale}");
        assert_eq!(detect(&bytes), Detected::Known(SourceFormat::AmazonTransactionReport), "{locale}");
    }
    let settlement = b"settlement-id\tsettlement-start-date\ttotal-amount\tcurrency\ttransaction-type\tamount\n";
    assert_eq!(detect_amazon_transactions(settlement), None);
    // A date/time column alone is not enough.
    assert_eq!(detect_amazon_transactions(b"date/time,amount,total\n2026-10-01,1,1\n"), None);
    assert_eq!(detect_amazon_transactions(b""), None);
}

#[test]
fn line_endings_and_bom_do_not_matter() {
    let bytes = fixture("us");
    let plain = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8").replace("\r\n", "\n");
    let crlf = read_transaction_report("us.csv", &bytes);
    let lf = read_transaction_report("us.csv", plain.as_bytes());
    assert!(lf.diagnostics.is_empty());
    assert_eq!(shown(&lf), shown(&crlf));
}

#[test]
fn german_report_saved_as_windows_1252_is_read_with_a_warning() {
    let text = String::from_utf8(fixture("de")[3..].to_vec()).expect("UTF-8");
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    let report = read_transaction_report("de-1252.csv", &bytes);
    let diagnostics: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        diagnostics,
        ["de-1252.csv:1:6: warning: the file is not UTF-8 text (is it GBK, Latin-1 or a spreadsheet saved in another encoding? save it as UTF-8, or use its format's own export); read as Windows-1252, as Excel saves it"]
    );
    assert_eq!(shown(&report), shown(&read("de", Currency::EUR, "amazon.de")));
    // Not UTF-8 and no header either: the encoding is what is reported.
    let report = read_transaction_report("bin.csv", b"\x00\xff\xfe garbage\n");
    assert_eq!(report.diagnostics.len(), 1);
    assert!(report.diagnostics[0].to_string().starts_with("bin.csv:1:2: error: the file is not UTF-8 text"));
}
