//! The import use case on real files in a temporary directory: detection, refusal of bad
//! files (and only those), progress, ERP exports through a mapping (XLSX), Amazon's All
//! Orders report, and the demo month reconciled to its ground truth in any import order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use tieout_core::diag::Severity;
use tieout_core::ids::OrderId;
use tieout_core::money::Currency;
use tieout_core::reconcile::{Category, ReconcileConfig};
use tieout_core::records::{OrderStatus, SourceFormat};
use tieout_formats::mapping::{parse_mapping, ImportMapping, Mapping};
use tieout_service::config::Settings;
use tieout_service::import::{import_files, FileReport, ImportOptions, Outcome, Progress};
use tieout_service::reconcile::reconcile;
use tieout_service::SqliteStore;

const V2_SAMPLE: &str = "amazon-settlement-v2_us_settlement-sample.txt";
const V1_SAMPLE: &str = "amazon-settlement-flatfile-v1_amazon-ca_50018020314.txt";
const IMPORTED_AT: &str = "2026-11-01T09:00:00Z";

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn options(store: Option<&str>, mapping: Option<Mapping>) -> ImportOptions {
    let mapping = mapping.map(ImportMapping::Orders);
    ImportOptions { store: store.map(str::to_owned), mapping, profile: None, imported_at: IMPORTED_AT.to_owned() }
}

/// Imports `paths`, failing the test on a store error; returns the reports and every
/// progress event.
fn import(store: &mut SqliteStore, paths: &[PathBuf], options: &ImportOptions) -> (Vec<FileReport>, Vec<Progress>) {
    let mut events = Vec::new();
    let reports = import_files(store, paths, options, &mut |progress, _| events.push(progress)).unwrap();
    (reports, events)
}

/// Imports `paths`, which must all be imported.
fn import_all(store: &mut SqliteStore, paths: &[PathBuf], options: &ImportOptions) {
    let (reports, _) = import(store, paths, options);
    for report in &reports {
        assert!(matches!(report.outcome, Outcome::Imported { .. }), "{}: {:?}", report.path.display(), report.outcome);
    }
}

fn counts(store: &SqliteStore) -> HashMap<&'static str, i64> {
    store.counts().unwrap().into_iter().collect()
}

fn refusal(report: &FileReport) -> (Option<SourceFormat>, &[tieout_core::Diagnostic]) {
    match &report.outcome {
        Outcome::Refused { format, diagnostics } => (*format, diagnostics),
        other => panic!("{}: expected a refusal, got {other:?}", report.path.display()),
    }
}

fn id(text: &str) -> OrderId {
    OrderId::parse(text).unwrap()
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

// ---------------------------------------------------------------------------------------

#[test]
fn a_bad_file_between_good_ones_is_refused_alone_and_progress_counts_all_three() {
    let temp = tempfile::tempdir().unwrap();
    let sample = fixture_bytes(V2_SAMPLE);
    let paths = [
        write(temp.path(), "first.txt", &sample),
        // Cut inside the last line: that line has too few fields.
        write(temp.path(), "truncated.txt", &sample[..sample.len() - 40]),
        write(temp.path(), "third.txt", fixture_bytes(V1_SAMPLE)),
    ];
    let sizes: Vec<u64> = paths.iter().map(|p| std::fs::metadata(p).unwrap().len()).collect();
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut events: Vec<(Progress, PathBuf)> = Vec::new();
    let reports = import_files(&mut store, &paths, &options(Some("acme"), None), &mut |progress, report| {
        events.push((progress, report.path.clone()))
    })
    .unwrap();

    assert_eq!(reports.len(), 3);
    assert!(
        matches!(reports[0].outcome, Outcome::Imported { format: SourceFormat::AmazonSettlementV2, .. }),
        "{:?}",
        reports[0].outcome
    );
    assert!(
        matches!(reports[2].outcome, Outcome::Imported { format: SourceFormat::AmazonSettlementV1, .. }),
        "{:?}",
        reports[2].outcome
    );
    assert!(!reports[0].is_refused() && reports[1].is_refused() && !reports[2].is_refused());
    let (format, diagnostics) = refusal(&reports[1]);
    assert_eq!(format, Some(SourceFormat::AmazonSettlementV2));
    assert!(
        diagnostics.iter().any(|d| d.severity == Severity::Error && d.file == "truncated.txt" && d.line == 25),
        "{diagnostics:#?}"
    );
    assert!(diagnostics.iter().any(|d| d.to_string().starts_with("truncated.txt:25")), "{diagnostics:#?}");
    assert_eq!(reports.iter().map(|r| r.path.clone()).collect::<Vec<_>>(), paths);
    assert!(reports.iter().all(|r| r.sha256.as_ref().is_some_and(|s| s.len() == 64)));

    // Progress after every file, refused or not, in order.
    assert_eq!(events.iter().map(|(p, _)| p.files_done).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(events.iter().all(|(p, _)| p.files_total == 3));
    let total: u64 = sizes.iter().sum();
    assert!(events.iter().all(|(p, _)| p.bytes_total == total));
    let done: Vec<u64> = events.iter().map(|(p, _)| p.bytes_done).collect();
    assert_eq!(done, [sizes[0], sizes[0] + sizes[1], total]);
    assert_eq!(events.iter().map(|(_, path)| path.clone()).collect::<Vec<_>>(), paths);

    // Nothing of the refused file is stored; the other two are.
    let names: Vec<String> = store.files().unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(names, ["first.txt", "third.txt"]);
    let stored = counts(&store);
    assert_eq!((stored["settlement"], stored["settlement_line"]), (2, 23 + 15));
    assert!(store.verify_settlement_sums().unwrap().is_empty());
    assert!(store.settlements().unwrap().iter().all(|s| s.store == "acme"));

    // The same bytes again are recognised by their SHA-256 and add nothing.
    let again = write(temp.path(), "copy-of-first.txt", &sample);
    let (reports, _) = import(&mut store, &[again], &options(Some("acme"), None));
    match &reports[0].outcome {
        Outcome::AlreadyImported { format, previous } => {
            assert_eq!((*format, previous.name.as_str()), (SourceFormat::AmazonSettlementV2, "first.txt"));
        }
        other => panic!("expected already imported, got {other:?}"),
    }
    assert_eq!(counts(&store), stored);
}

// ---------------------------------------------------------------------------------------
// An ERP export (XLSX) and a small settlement file, reconciled.

const V2_HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

/// `12345` → `123.45`, `-5` → `-0.05`.
fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// One amount line of a V2 settlement: (order id or "", transaction type, amount type,
/// description, amount in cents, order-item-code, sku, day of October).
type V2Line = (&'static str, &'static str, &'static str, &'static str, i64, &'static str, &'static str, u32);

/// A V2 settlement file whose total is the sum of its lines.
fn v2_settlement(settlement_id: u64, lines: &[V2Line]) -> String {
    let total: i64 = lines.iter().map(|l| l.4).sum();
    let mut text = format!("{V2_HEADER}\n");
    text.push_str(&format!(
        "{settlement_id}\t2026-10-01 00:00:00 UTC\t2026-10-14 23:59:59 UTC\t2026-10-16 00:00:00 UTC\t{}\tUSD{}\n",
        decimal(total),
        "\t".repeat(18)
    ));
    for (order, transaction, amount_type, description, amount, item_code, sku, day) in lines {
        let quantity = if order.is_empty() { "" } else { "1" };
        let fulfillment = if order.is_empty() { "" } else { "AFN" };
        text.push_str(&format!(
            "{settlement_id}\t\t\t\t\tUSD\t{transaction}\t{order}\t\t\t\tAmazon.com\t{amount_type}\t{description}\t{}\t{fulfillment}\t2026-10-{day:02}\t2026-10-{day:02} 10:00:00 UTC\t{item_code}\t\t\t{sku}\t{quantity}\t\n",
            decimal(*amount)
        ));
    }
    text
}

const ERP_MAPPING: &str = r#"
[source]
format = "xlsx"
sheet = "Orders"
header_row = 2                 # row 1 is the ERP's title
date_format = "%d.%m.%Y"

[columns]
order_id = "Order No"
store = "Shop"
marketplace = "Marketplace"
purchase_date = "Order Date"
ship_date = "Ship Date"
status = "Status"
currency = "Currency"
sku = "SKU"
quantity = "Qty"
item_price = "Price"
shipping_price = "Shipping"
discount = "Discount"
refunded_amount = "Refunded"

[status]
"Versendet" = "Shipped"
"Storniert" = "Cancelled"
"Offen" = "Unshipped"
"#;

/// One ERP row: order id, status, purchase day and ship day of October, SKU, price,
/// shipping, discount, refunded (in cents; `None` is an empty cell).
type ErpRow = (&'static str, &'static str, u8, Option<u32>, &'static str, i64, i64, i64, Option<i64>);

/// Writes the ERP export as Excel does: purchase dates as date cells, ship dates as
/// text, amounts as numbers.
fn erp_workbook(rows: &[ErpRow]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Orders").unwrap();
    sheet.write_string(0, 0, "Auftragsexport Oktober 2026").unwrap();
    let header = [
        "Order No",
        "Shop",
        "Marketplace",
        "Order Date",
        "Ship Date",
        "Status",
        "Currency",
        "SKU",
        "Qty",
        "Price",
        "Shipping",
        "Discount",
        "Refunded",
    ];
    for (column, name) in header.iter().enumerate() {
        sheet.write_string(1, column as u16, *name).unwrap();
    }
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    // Excel keeps money as binary floating point; the reader turns it back into decimals.
    let money = |minor: i64| decimal(minor).parse::<f64>().unwrap();
    for (index, (order, status, purchase_day, ship_day, sku, price, shipping, discount, refunded)) in
        rows.iter().enumerate()
    {
        let row = index as u32 + 2;
        sheet.write_string(row, 0, *order).unwrap();
        sheet.write_string(row, 1, "acme-us").unwrap();
        sheet.write_string(row, 2, "Amazon.com").unwrap();
        let purchase = ExcelDateTime::from_ymd(2026, 10, *purchase_day).unwrap();
        sheet.write_datetime_with_format(row, 3, &purchase, &date_format).unwrap();
        if let Some(day) = ship_day {
            sheet.write_string(row, 4, format!("{day:02}.10.2026")).unwrap();
        }
        sheet.write_string(row, 5, *status).unwrap();
        sheet.write_string(row, 6, "USD").unwrap();
        sheet.write_string(row, 7, *sku).unwrap();
        sheet.write_number(row, 8, 1).unwrap();
        sheet.write_number(row, 9, money(*price)).unwrap();
        sheet.write_number(row, 10, money(*shipping)).unwrap();
        sheet.write_number(row, 11, money(*discount)).unwrap();
        if let Some(refunded) = refunded {
            sheet.write_number(row, 12, money(*refunded)).unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

#[test]
fn an_xlsx_erp_export_and_a_settlement_reconcile_to_the_expected_categories() {
    let temp = tempfile::tempdir().unwrap();
    let rows: &[ErpRow] = &[
        ("111-0000001-0000001", "Versendet", 4, Some(5), "SKU-A", 10_000, 0, 0, None),
        ("111-0000002-0000002", "Offen", 30, None, "SKU-B", 2_000, 0, 0, None),
        ("111-0000003-0000003", "Versendet", 2, Some(3), "SKU-C", 4_000, 0, 0, None),
        ("111-0000004-0000004", "Versendet", 4, Some(5), "SKU-D", 5_000, 0, 0, None),
        ("111-0000005-0000005", "Storniert", 4, None, "SKU-E", 3_000, 0, 0, None),
        ("111-0000007-0000007", "Versendet", 4, Some(5), "SKU-G", 8_000, 0, 0, None),
        // Two items of one order: 60.00 + 4.99 shipping, and 40.00 − 5.00 discount.
        ("111-0000008-0000008", "Versendet", 4, Some(5), "SKU-H1", 6_000, 499, 0, None),
        ("111-0000008-0000008", "Versendet", 4, Some(5), "SKU-H2", 4_000, 0, 500, None),
        ("111-0000009-0000009", "Versendet", 4, Some(5), "SKU-I", 2_500, 0, 0, None),
        ("111-0000010-0000010", "Versendet", 4, Some(5), "SKU-J", 10_000, 0, 0, None),
        // Refunded by Amazon and written off in the ERP.
        ("111-0000011-0000011", "Versendet", 4, Some(5), "SKU-K", 8_000, 0, 0, Some(8_000)),
    ];
    let orders = write(temp.path(), "orders.xlsx", erp_workbook(rows));
    let settlement = write(
        temp.path(),
        "11111111111.txt",
        v2_settlement(
            11_111_111_111,
            &[
                ("111-0000001-0000001", "Order", "ItemPrice", "Principal", 10_000, "1001", "SKU-A", 5),
                ("111-0000001-0000001", "Order", "ItemFees", "Commission", -1_500, "1001", "SKU-A", 5),
                ("111-0000004-0000004", "Order", "ItemPrice", "Principal", 4_500, "1004", "SKU-D", 5),
                ("111-0000005-0000005", "Order", "ItemPrice", "Principal", 3_000, "1005", "SKU-E", 5),
                ("111-0000006-0000006", "Order", "ItemPrice", "Principal", 2_000, "1006", "SKU-F", 6),
                ("111-0000007-0000007", "Order", "ItemPrice", "Principal", 8_000, "1007", "SKU-G", 5),
                ("111-0000007-0000007", "Refund", "ItemPrice", "Principal", -8_000, "1007", "SKU-G", 9),
                ("111-0000008-0000008", "Order", "ItemPrice", "Principal", 6_000, "1081", "SKU-H1", 5),
                ("111-0000008-0000008", "Order", "ItemPrice", "Shipping", 499, "1081", "SKU-H1", 5),
                ("111-0000008-0000008", "Order", "ItemPrice", "Principal", 4_000, "1082", "SKU-H2", 5),
                ("111-0000008-0000008", "Order", "Promotion", "Principal", -500, "1082", "SKU-H2", 5),
                ("111-0000009-0000009", "Order", "ItemPrice", "Principal", 2_500, "1009", "SKU-I", 5),
                ("111-0000009-0000009", "Order", "ItemPrice", "Principal", 2_500, "1009", "SKU-I", 5),
                ("111-0000010-0000010", "Order", "ItemPrice", "Principal", 10_000, "1010", "SKU-J", 5),
                ("111-0000010-0000010", "Order", "ItemFees", "Commission", -3_000, "1010", "SKU-J", 5),
                ("111-0000011-0000011", "Order", "ItemPrice", "Principal", 8_000, "1011", "SKU-K", 5),
                ("111-0000011-0000011", "Refund", "ItemPrice", "Principal", -8_000, "1011", "SKU-K", 8),
                ("", "ServiceFee", "other-transaction", "Storage Fee", -1_234, "", "", 14),
            ],
        ),
    );
    let mapping = parse_mapping("erp-mapping.toml", ERP_MAPPING).unwrap();
    let mut store = SqliteStore::open_in_memory().unwrap();
    let (reports, _) = import(&mut store, &[orders], &options(None, Some(mapping)));
    match &reports[0].outcome {
        Outcome::Imported { format, summary, warnings } => {
            assert_eq!(*format, SourceFormat::ErpOrders);
            assert!(summary.contains("10 order(s) in 11 row(s)"), "{summary}");
            assert!(warnings.is_empty(), "{warnings:#?}");
        }
        other => panic!("the XLSX export was not imported: {other:?}"),
    }
    let (reports, _) = import(&mut store, &[settlement], &options(Some("acme-us"), None));
    match &reports[0].outcome {
        Outcome::Imported { format, warnings, .. } => {
            assert_eq!(*format, SourceFormat::AmazonSettlementV2);
            assert!(warnings.is_empty(), "a consistent settlement: {warnings:#?}");
        }
        other => panic!("the settlement was not imported: {other:?}"),
    }

    // What the XLSX cells became.
    let h = store.order_rows(&id("111-0000008-0000008")).unwrap();
    assert_eq!(h.iter().map(|r| r.amount_minor).collect::<Vec<_>>(), [6_499, 3_500]);
    assert_eq!((h[0].line, h[1].line), (9, 10), "spreadsheet rows");
    assert_eq!((h[0].purchase_date, h[0].ship_date), (date(2026, 10, 4), Some(date(2026, 10, 5))));
    assert_eq!((h[0].status, h[0].currency, h[0].sku.as_str()), (OrderStatus::Shipped, Currency::USD, "SKU-H1"));
    assert_eq!(store.order_rows(&id("111-0000011-0000011")).unwrap()[0].refunded_minor, Some(8_000));
    assert_eq!(store.order_rows(&id("111-0000005-0000005")).unwrap()[0].status, OrderStatus::Cancelled);

    let settings = Settings::parse(
        "tieout.toml",
        "[[fees]]\nstore = \"acme-us\"\nmarketplace = \"Amazon.com\"\nreferral_rate_basis_points = 1500\n",
    )
    .unwrap();
    let config: ReconcileConfig = settings.reconcile_config(date(2026, 10, 31));
    let summary = reconcile(&mut store, &config, "# test", "2026-11-01T10:00:00Z").unwrap();
    assert_eq!(summary.order_count, 11);
    assert_eq!(summary.line_count, 17, "every line with an order id");
    assert_eq!(summary.duplicate_lines, 1);
    assert!(summary.inconsistent_settlements.is_empty());

    let expected = [
        ("111-0000001-0000001", Category::Matched),
        ("111-0000002-0000002", Category::NotDue),
        ("111-0000003-0000003", Category::ShippedNotSettled),
        ("111-0000004-0000004", Category::AmountMismatch),
        ("111-0000005-0000005", Category::CancelledButSettled),
        ("111-0000006-0000006", Category::SettledNotInOrders),
        ("111-0000007-0000007", Category::RefundedNotWrittenOff),
        ("111-0000008-0000008", Category::Matched),
        ("111-0000009-0000009", Category::DuplicateSettlementLine),
        ("111-0000010-0000010", Category::FeeAnomaly),
        ("111-0000011-0000011", Category::Matched),
    ];
    let results = store.order_results(None).unwrap();
    let got: Vec<(String, Category)> = results.iter().map(|r| (r.order_id.to_string(), r.category)).collect();
    let want: Vec<(String, Category)> = expected.iter().map(|(o, c)| ((*o).to_owned(), *c)).collect();
    assert_eq!(got, want);
    for (category, count) in &summary.by_category {
        assert_eq!(*count, expected.iter().filter(|(_, c)| c == category).count(), "{category:?}");
    }
    assert_eq!(summary.difference_count(), 7);
    assert!(!summary.is_clean());

    let by_id: HashMap<String, _> = results.into_iter().map(|r| (r.order_id.to_string(), r)).collect();
    let c = &by_id["111-0000003-0000003"];
    assert_eq!(c.days_since_ship, Some(28));
    let h = &by_id["111-0000008-0000008"];
    assert_eq!((h.order_amount_minor, h.settled_amount_minor, h.line_count), (Some(9_999), 9_999, 4));
    let j = &by_id["111-0000010-0000010"];
    assert_eq!((j.fees_charged_minor, j.fees_expected_minor), (3_000, Some(1_500)));
    let d = &by_id["111-0000004-0000004"];
    assert_eq!((d.order_amount_minor, d.settled_amount_minor), (Some(5_000), 4_500));
    let g = &by_id["111-0000007-0000007"];
    assert_eq!((g.refunds_settled_minor, g.written_off_minor), (8_000, 0));
    let f = &by_id["111-0000006-0000006"];
    assert_eq!((f.store.as_str(), f.status, f.order_amount_minor), ("acme-us", None, None));
}

// ---------------------------------------------------------------------------------------
// Amazon's All Orders report.

const ALL_ORDERS_HEADER: [&str; 32] = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "url",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
];

/// One report row from (column, value) pairs; other columns empty.
fn all_orders_row(values: &[(&str, &str)]) -> String {
    let fields: Vec<&str> = ALL_ORDERS_HEADER
        .iter()
        .map(|column| values.iter().find(|(name, _)| name == column).map_or("", |(_, value)| *value))
        .collect();
    for (name, _) in values {
        assert!(ALL_ORDERS_HEADER.contains(name), "unknown column {name}");
    }
    fields.join("\t") + "\n"
}

#[test]
fn an_amazon_all_orders_report_is_detected_and_imported_without_a_mapping() {
    let temp = tempfile::tempdir().unwrap();
    let common = [
        ("purchase-date", "2026-10-03T09:15:00+00:00"),
        ("last-updated-date", "2026-10-04T10:00:00+00:00"),
        ("fulfillment-channel", "Amazon"),
        ("sales-channel", "Amazon.com"),
        ("ship-country", "US"),
    ];
    let row = |extra: &[(&'static str, &'static str)]| {
        let mut values = common.to_vec();
        values.extend_from_slice(extra);
        all_orders_row(&values)
    };
    let mut text = ALL_ORDERS_HEADER.join("\t") + "\n";
    text += &row(&[
        ("amazon-order-id", "114-1111111-2222222"),
        ("order-status", "shipped"),
        ("product-name", "Widget \"Pro\" 12\""),
        ("sku", "SKU-W"),
        ("item-status", "Shipped"),
        ("quantity", "2"),
        ("currency", "USD"),
        ("item-price", "39.98"),
        ("item-tax", "3.20"),
        ("shipping-price", "4.99"),
        ("item-promotion-discount", "-2.00"),
        ("ship-promotion-discount", "-4.99"),
    ]);
    text += &row(&[
        ("amazon-order-id", "114-1111111-2222222"),
        ("order-status", "shipped"),
        ("sku", "SKU-V"),
        ("quantity", "1"),
        ("currency", "USD"),
        ("item-price", "10.00"),
    ]);
    // A cancelled item: no price and no currency (the marketplace's is used).
    text += &row(&[
        ("amazon-order-id", "114-3333333-4444444"),
        ("order-status", "Cancelled"),
        ("sku", "SKU-X"),
        ("quantity", "1"),
    ]);
    let path = write(temp.path(), "all-orders.txt", text);
    let mut store = SqliteStore::open_in_memory().unwrap();
    let (reports, _) = import(&mut store, &[path], &options(Some("acme-us"), None));
    match &reports[0].outcome {
        Outcome::Imported { format, summary, .. } => {
            assert_eq!(*format, SourceFormat::AmazonOrdersReport);
            assert!(summary.contains("2 order(s) in 3 row(s)"), "{summary}");
        }
        other => panic!("the report was not imported: {other:?}"),
    }
    let file = &store.files().unwrap()[0];
    assert_eq!((file.format.as_str(), file.store.as_deref()), ("amazon-orders-report", Some("acme-us")));

    let rows = store.order_rows(&id("114-1111111-2222222")).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.store == "acme-us" && r.marketplace == "Amazon.com"));
    assert!(rows.iter().all(|r| r.status == OrderStatus::Shipped && r.ship_date.is_none()));
    assert_eq!(rows.iter().map(|r| r.amount_minor).collect::<Vec<_>>(), [3_798, 1_000], "taxes excluded");
    assert_eq!((rows[0].line, rows[0].quantity, rows[0].sku.as_str()), (2, 2, "SKU-W"));
    assert_eq!(rows[0].purchase_date, date(2026, 10, 3));
    let cancelled = store.order_rows(&id("114-3333333-4444444")).unwrap();
    assert_eq!(
        (cancelled[0].status, cancelled[0].currency, cancelled[0].amount_minor),
        (OrderStatus::Cancelled, Currency::USD, 0)
    );
}

// ---------------------------------------------------------------------------------------
// Files tieout cannot read.

#[test]
fn an_unknown_format_and_a_csv_without_mapping_are_refused_with_what_to_do() {
    let temp = tempfile::tempdir().unwrap();
    let pdf = write(temp.path(), "statement.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    let csv = write(temp.path(), "orders.csv", "order_no,date,amount\n1001,2026-10-01,5.00\n");
    let mut store = SqliteStore::open_in_memory().unwrap();
    let (reports, events) = import(&mut store, &[pdf, csv], &options(Some("acme-us"), None));
    assert_eq!(events.len(), 2);

    let (format, diagnostics) = refusal(&reports[0]);
    assert_eq!(format, None);
    let message = &diagnostics[0].message;
    assert!(message.contains("unknown format"), "{message}");
    for known in SourceFormat::ALL {
        assert!(message.contains(known.name()), "{message} lacks {}", known.name());
    }
    assert_eq!(diagnostics[0].file, "statement.pdf");

    let (format, diagnostics) = refusal(&reports[1]);
    assert_eq!(format, None);
    assert!(diagnostics.iter().any(|d| d.message.contains("--mapping")), "{diagnostics:#?}");
    assert_eq!((diagnostics[0].file.as_str(), diagnostics[0].line), ("orders.csv", 1));

    assert!(store.counts().unwrap().iter().all(|(_, n)| *n == 0), "{:?}", store.counts().unwrap());
}

// ---------------------------------------------------------------------------------------
// Counterparty documents from an ERP's workbook, through a documents mapping.

const DOCUMENTS_MAPPING: &str = r#"
[source]
kind = "documents"
sheet = "单据"
header_row = 2
currency = "CNY"
negative = "reverse"
[columns]
counterparty = "客户编码"
counterparty_name = "客户名称"
type = "单据类型"
number = "单据号"
date = "业务日期"
amount = "价税合计"
description = "摘要"
[types]
"销售出库单" = "invoice"
"收款单" = "receipt"
"#;

/// (number, type, day of October 2026 as a date cell, amount as a number cell)
fn documents_workbook(rows: &[(&str, &str, u8, f64)]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet().set_name("单据").unwrap();
    sheet.write_string(0, 0, "销售单据 2026年10月").unwrap();
    for (column, name) in
        ["单据号", "业务日期", "客户编码", "客户名称", "单据类型", "价税合计", "摘要"].iter().enumerate()
    {
        sheet.write_string(1, column as u16, *name).unwrap();
    }
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (index, (number, doc_type, day, amount)) in rows.iter().enumerate() {
        let row = index as u32 + 2;
        sheet.write_string(row, 0, *number).unwrap();
        let date = ExcelDateTime::from_ymd(2026, 10, *day).unwrap();
        sheet.write_date_with_format(row, 1, date, &date_format).unwrap();
        sheet.write_string(row, 2, "C-001").unwrap();
        sheet.write_string(row, 3, "华东经销").unwrap();
        sheet.write_string(row, 4, *doc_type).unwrap();
        sheet.write_number(row, 5, *amount).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

fn documents_options() -> ImportOptions {
    // Read as the server's import job reads the mapping sent with an upload.
    let text = tieout_service::jobs::NamedText { name: "docs.toml".into(), text: DOCUMENTS_MAPPING.into() };
    let (mapping, _) = tieout_service::jobs::import_settings(Some(&text), None).unwrap();
    assert!(matches!(mapping, Some(ImportMapping::Documents(_))));
    ImportOptions { store: None, mapping, profile: None, imported_at: IMPORTED_AT.to_owned() }
}

#[test]
fn a_mapped_xlsx_of_documents_is_imported_once_with_its_rows() {
    let temp = tempfile::tempdir().unwrap();
    let rows = [
        ("XS-001", "销售出库单", 3, 1200.5),
        ("SK-001", "收款单", 20, 800.0),
        ("XS-002", "销售出库单", 21, -150.0),
        ("XS-003", "invoice", 22, 0.1 + 0.2),
    ];
    let path = write(temp.path(), "销售单据.xlsx", documents_workbook(&rows));
    let mut store = SqliteStore::open_in_memory().unwrap();
    let options = documents_options();
    let (reports, _) = import(&mut store, std::slice::from_ref(&path), &options);
    let Outcome::Imported { format, summary, warnings } = &reports[0].outcome else {
        panic!("{:?}", reports[0].outcome);
    };
    assert_eq!(*format, SourceFormat::LedgerDocuments);
    assert!(summary.contains("4 document(s) of 1 counterparty"), "{summary}");
    assert!(warnings.is_empty(), "{warnings:?}");

    // Provenance: the file (SHA-256) and each document's sheet row.
    let files = store.files().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(Some(&files[0].sha256), reports[0].sha256.as_ref());
    assert_eq!(files[0].name, "销售单据.xlsx");
    let mut stored: Vec<String> = store
        .documents(None)
        .unwrap()
        .iter()
        .map(|d| {
            let doc = &d.document;
            format!(
                "{} {} {} {} {} {} {} {}",
                d.file_name,
                doc.line,
                doc.counterparty,
                doc.doc_type.name(),
                doc.number,
                doc.date,
                doc.amount_minor,
                doc.currency
            )
        })
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            "销售单据.xlsx 3 C-001 invoice XS-001 2026-10-03 120050 CNY",
            "销售单据.xlsx 4 C-001 receipt SK-001 2026-10-20 80000 CNY",
            "销售单据.xlsx 5 C-001 refund XS-002 2026-10-21 15000 CNY",
            "销售单据.xlsx 6 C-001 invoice XS-003 2026-10-22 30 CNY",
        ]
    );

    // The same file again, and the same documents in another file: nothing added.
    let (reports, _) = import(&mut store, &[path], &options);
    assert!(matches!(reports[0].outcome, Outcome::AlreadyImported { .. }), "{:?}", reports[0].outcome);
    let copy = write(temp.path(), "again.xlsx", documents_workbook(&rows[..2]));
    let (reports, _) = import(&mut store, &[copy], &options);
    let Outcome::Imported { warnings, .. } = &reports[0].outcome else { panic!("{:?}", reports[0].outcome) };
    assert!(warnings[0].message.contains("2 document(s) already imported"), "{warnings:?}");
    assert_eq!(store.documents(None).unwrap().len(), 4);
}

#[test]
fn a_mapped_documents_file_with_a_bad_row_stores_nothing() {
    let temp = tempfile::tempdir().unwrap();
    // Row 4: a negative receipt (only invoices and purchases are reversed); row 5: a
    // type the mapping does not know.
    let rows = [
        ("XS-001", "销售出库单", 3, 1200.5),
        ("SK-001", "收款单", 20, -800.0),
        ("DB-001", "调拨单", 21, 5.0),
        ("XS-003", "invoice", 22, 12.0),
    ];
    let path = write(temp.path(), "bad.xlsx", documents_workbook(&rows));
    let mut store = SqliteStore::open_in_memory().unwrap();
    let (reports, _) = import(&mut store, &[path], &documents_options());
    let (format, diagnostics) = refusal(&reports[0]);
    assert_eq!(format, Some(SourceFormat::LedgerDocuments));
    let places: Vec<(&str, u32, u32, Option<&str>)> =
        diagnostics.iter().map(|d| (d.file.as_str(), d.line, d.column, d.column_name.as_deref())).collect();
    assert_eq!(
        places,
        [("bad.xlsx", 4, 6, Some("价税合计")), ("bad.xlsx", 5, 5, Some("单据类型"))],
        "{diagnostics:#?}"
    );
    assert!(store.documents(None).unwrap().is_empty());
    assert!(store.files().unwrap().is_empty());
}

#[test]
fn a_documents_workbook_with_tieouts_headers_is_detected_without_a_mapping() {
    let temp = tempfile::tempdir().unwrap();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, name) in ["客户", "类型", "单号", "日期", "金额", "币种"].iter().enumerate() {
        sheet.write_string(0, column as u16, *name).unwrap();
    }
    for (column, text) in ["C-9", "发票", "FP-9", "2026-10-09"].iter().enumerate() {
        sheet.write_string(1, column as u16, *text).unwrap();
    }
    sheet.write_number(1, 4, 99.9).unwrap();
    sheet.write_string(1, 5, "CNY").unwrap();
    let path = write(temp.path(), "单据.xlsx", workbook.save_to_buffer().unwrap());
    let mut store = SqliteStore::open_in_memory().unwrap();
    import_all(&mut store, &[path], &options(None, None));
    let documents = store.documents(None).unwrap();
    assert_eq!(documents.len(), 1);
    assert_eq!((documents[0].document.line, documents[0].document.amount_minor), (2, 9990));
}

// ---------------------------------------------------------------------------------------
// The demo month, in two import orders.

fn import_demo_orders(store: &mut SqliteStore, files: &tieout_demo::StoreFiles) {
    let mapping_text = std::fs::read_to_string(&files.mapping_file).unwrap();
    let mapping = parse_mapping(&files.mapping_file.display().to_string(), &mapping_text).unwrap();
    import_all(store, std::slice::from_ref(&files.orders_file), &options(Some(&files.store), Some(mapping)));
}

/// One store's settlement files, in period order or last period first.
fn import_demo_settlements(store: &mut SqliteStore, files: &tieout_demo::StoreFiles, reversed: bool) {
    let mut settlements = files.settlement_files.clone();
    if reversed {
        settlements.reverse();
    }
    import_all(store, &settlements, &options(Some(&files.store), None));
}

#[test]
fn the_demo_month_equals_its_ground_truth_in_any_import_order() {
    let temp = tempfile::tempdir().unwrap();
    let demo = temp.path().join("demo");
    let config = tieout_demo::DemoConfig { seed: 11, orders: 2_000, year: 2026, month: 10 };
    let manifest = tieout_demo::generate(&config, &demo).unwrap();
    let settings_text = std::fs::read_to_string(&manifest.config_file).unwrap();
    let settings = Settings::parse("tieout.toml", &settings_text).unwrap();
    let reconcile_config = settings.reconcile_config(manifest.as_of);

    // As the demo command does: store by store, orders then settlements.
    let mut first = SqliteStore::open(&temp.path().join("first.db")).unwrap();
    for files in &manifest.stores {
        import_demo_orders(&mut first, files);
        import_demo_settlements(&mut first, files, false);
    }
    let summary = reconcile(&mut first, &reconcile_config, &settings_text, "2026-11-05T00:00:00Z").unwrap();
    let truth = tieout_demo::read_truth(&manifest.truth_file).unwrap();
    assert_eq!(summary.order_count, truth.len());
    let results = first.order_results(None).unwrap();
    let got: HashMap<String, (String, Category)> =
        results.iter().map(|r| (r.order_id.to_string(), (r.store.clone(), r.category))).collect();
    assert_eq!(got.len(), truth.len(), "one result per order id");
    let wrong: Vec<String> = truth
        .iter()
        .filter(|(order, store, category)| {
            got.get(order).map(|(s, c)| (s.as_str(), c.name())) != Some((store.as_str(), category.as_str()))
        })
        .take(10)
        .map(|(order, store, category)| format!("{order} ({store}): truth {category}, tieout {:?}", got.get(order)))
        .collect();
    assert!(wrong.is_empty(), "orders that disagree with the ground truth:\n{}", wrong.join("\n"));
    assert_eq!(
        summary
            .inconsistent_settlements
            .iter()
            .map(|s| (s.settlement_id, s.total_minor - s.lines_sum_minor))
            .collect::<Vec<_>>(),
        manifest.inconsistent_settlements
    );

    // Another database, another order: settlements before orders, stores reversed,
    // settlement periods reversed.
    let mut second = SqliteStore::open(&temp.path().join("second.db")).unwrap();
    for files in manifest.stores.iter().rev() {
        import_demo_settlements(&mut second, files, true);
    }
    for files in manifest.stores.iter().rev() {
        import_demo_orders(&mut second, files);
    }
    let again = reconcile(&mut second, &reconcile_config, &settings_text, "2026-11-05T00:00:00Z").unwrap();
    assert_eq!(again.by_category, summary.by_category);
    assert_eq!(
        (again.order_count, again.line_count, again.duplicate_lines),
        (summary.order_count, summary.line_count, summary.duplicate_lines)
    );
    let shuffled = second.order_results(None).unwrap();
    assert_eq!(shuffled.len(), results.len());
    if let Some((a, b)) = results.iter().zip(&shuffled).find(|(a, b)| a != b) {
        panic!("the import order changed a result:\n{a:#?}\n{b:#?}");
    }
    assert_eq!(counts(&second), counts(&first));
}
