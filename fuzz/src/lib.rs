//! Helpers shared by the fuzz targets: the fixed column mappings and statement profiles
//! the targets read fuzzed files with, the checks every reader's output must pass, and a
//! workbook builder for the XLSX target.
//!
//! What it is not: not a test of the readers' answers (their unit tests do that). A
//! target fails only when a reader panics (overflow included: targets are built with
//! debug assertions), allocates past libFuzzer's limits, or breaks a promise every
//! reader makes (at most `FILE_DIAGNOSTICS_MAX` diagnostics, each naming the file).

use std::collections::HashSet;
use std::io::{Cursor, Write};
use std::sync::{Mutex, Once, OnceLock};

use tieout_core::{limits, Diagnostic};
use tieout_formats::mapping::{parse_mapping, Mapping};
use tieout_formats::statement_profile::{builtin_profiles, parse_profile, StatementProfile};

/// The name every target gives the file it reads.
pub const FILE: &str = "fuzz.in";

/// The promises every reader keeps whatever the bytes: diagnostics are bounded and each
/// names the file it is about. Each is also formatted, as the CLI would print it.
pub fn check_diagnostics(diagnostics: &[Diagnostic]) {
    assert!(
        diagnostics.len() <= limits::FILE_DIAGNOSTICS_MAX,
        "{} diagnostics, more than FILE_DIAGNOSTICS_MAX ({})",
        diagnostics.len(),
        limits::FILE_DIAGNOSTICS_MAX
    );
    for diagnostic in diagnostics {
        assert_eq!(diagnostic.file, FILE, "a diagnostic names another file: {diagnostic}");
        let shown = diagnostic.to_string();
        assert!(!shown.is_empty());
    }
    if std::env::var_os("TIEOUT_FUZZ_SHOW").is_some() {
        for diagnostic in diagnostics {
            eprintln!("{diagnostic}");
        }
    }
}

/// Splits `data` at its first NUL byte: (before, after). `None` after when there is none.
pub fn split_at_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|byte| *byte == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    }
}

// ---------------------------------------------------------------------------------------
// Fixed mappings and profiles: the demo's (one per layout it writes) and a few that turn
// on the options the demo does not use.

const ERP_COMMA: &str = r#"
[source]
format = "csv"
delimiter = ","
header_row = 1
number_style = "dot"
date_format = "%Y-%m-%d"
[columns]
order_id = "order_no"
store = "store"
marketplace = "marketplace"
purchase_date = "order_date"
ship_date = "ship_date"
status = "status"
currency = "currency"
sku = "sku"
quantity = "qty"
item_price = "price"
shipping_price = "shipping"
discount = "discount"
refunded_amount = "refunded"
"#;

const ERP_SEMICOLON: &str = r#"
[source]
format = "csv"
delimiter = ";"
header_row = 3
number_style = "comma"
date_format = "%d.%m.%Y"
[columns]
order_id = "Bestellnummer"
store = "Shop"
marketplace = "Marktplatz"
purchase_date = "Bestelldatum"
ship_date = "Versanddatum"
status = "Status"
currency = "Währung"
sku = "Artikel"
quantity = "Menge"
item_price = "Preis"
shipping_price = "Versand"
discount = ["Rabatt", "Versandrabatt"]
refunded_amount = "Erstattet"
[status]
"Versendet" = "Shipped"
"Storniert" = "Cancelled"
"Offen" = "Unshipped"
"#;

const ERP_ONE_AMOUNT: &str = r#"
[source]
delimiter = "\t"
number_style = "per-value"
date_format = "%m/%d/%Y %H:%M"
store = "acme-us"
marketplace = "Amazon.com"
currency = "USD"
[columns]
order_id = "Order"
purchase_date = "Date"
status = "Status"
quantity = "Qty"
amount = "Amount"
[status]
"Done" = "Shipped"
"#;

/// Order mappings of CSV exports, each with other options.
pub fn order_mappings() -> &'static [Mapping] {
    static MAPPINGS: OnceLock<Vec<Mapping>> = OnceLock::new();
    MAPPINGS.get_or_init(|| {
        [ERP_COMMA, ERP_SEMICOLON, ERP_ONE_AMOUNT]
            .into_iter()
            .map(|text| parse_mapping("fixed.toml", text).expect("the fixed mappings are valid"))
            .collect()
    })
}

/// A documents mapping of a Chinese ERP's export: headers, type aliases, decimal commas,
/// a date format, negative amounts reversed.
const DOCUMENTS: &str = r#"
[source]
kind = "documents"
format = "csv"
number_style = "comma"
date_format = "%d.%m.%Y"
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
"退货单" = "refund"
"#;

/// The fixed documents mapping the `ledger_documents` target reads with.
pub fn document_mapping() -> &'static tieout_formats::ledger_mapping::DocumentMapping {
    static MAPPING: OnceLock<tieout_formats::ledger_mapping::DocumentMapping> = OnceLock::new();
    MAPPING.get_or_init(|| parse_mapping("fixed.toml", DOCUMENTS).expect("the fixed documents mapping is valid"))
}

const LIANLIAN: &str = r#"
[source]
name = "lianlian"
encoding = "utf-8"
delimiter = ","
number_style = "dot"
account = "lianlian-cny"
[columns]
booking_date = "Date"
amount = "Amount"
currency = "Currency"
entry_ref = "Transaction ID"
counterparty = "Payer"
description = "Description"
original_amount = "Original Amount"
original_currency = "Original Currency"
"#;

const BANK_GBK: &str = r#"
[source]
name = "bank-gbk"
encoding = "gbk"
delimiter = ";"
header_contains = "交易日期"
footer_lines = 2
number_style = "comma"
date_format = "%Y%m%d"
currency = "CNY"
account = "bank-cny"
[columns]
booking_date = "交易日期"
value_date = "起息日"
credit = "贷方金额"
debit = "借方金额"
balance = "余额"
entry_ref = "流水号"
counterparty = "对方户名"
description = "摘要"
"#;

const SIGNED_1252: &str = r#"
[source]
name = "signed"
encoding = "windows-1252"
delimiter = "\t"
preamble_lines = 1
number_style = "per-value"
account = "signed"
[columns]
booking_date = ["Datum", "Date"]
amount = "Betrag"
currency = "Währung"
fee = "Gebühr"
balance = "Saldo"
entry_ref = "Referenz"
[sign]
column = "Typ"
credit = ["Gutschrift", "Credit"]
debit = ["Lastschrift", "Debit"]
"#;

/// Statement profiles of CSV exports: the built-in ones and a few with the options they
/// do not use (GBK, a header found by its text, footers, credit/debit, a sign column).
pub fn csv_profiles() -> &'static [StatementProfile] {
    static PROFILES: OnceLock<Vec<StatementProfile>> = OnceLock::new();
    PROFILES.get_or_init(|| {
        let mut profiles: Vec<StatementProfile> = builtin_profiles().into_iter().map(|(_, profile)| profile).collect();
        for text in [LIANLIAN, BANK_GBK, SIGNED_1252] {
            profiles.push(parse_profile("fixed.toml", text).expect("the fixed profiles are valid"));
        }
        profiles
    })
}

const XLSX_MAPPING: &str = r#"
[source]
format = "xlsx"
header_row = 1
store = "acme-us"
[columns]
order_id = "Order"
purchase_date = "Date"
status = "Status"
currency = "Currency"
quantity = "Qty"
amount = "Amount"
"#;

const XLSX_PROFILE: &str = r#"
[source]
name = "xlsx"
format = "xlsx"
header_contains = "Transaction ID"
date_format = "%m/%d/%Y"
account = "xlsx-usd"
[columns]
booking_date = "Date"
amount = "Amount"
currency = "Currency"
entry_ref = "Transaction ID"
description = "Description"
balance = "Balance"
"#;

/// The order mapping and the statement profile the XLSX target reads its workbooks
/// with (one sheet, whose header holds both's columns).
pub fn xlsx_readers() -> &'static (Mapping, StatementProfile) {
    static READERS: OnceLock<(Mapping, StatementProfile)> = OnceLock::new();
    READERS.get_or_init(|| {
        (
            parse_mapping("fixed.toml", XLSX_MAPPING).expect("the fixed mapping is valid"),
            parse_profile("fixed.toml", XLSX_PROFILE).expect("the fixed profile is valid"),
        )
    })
}

// ---------------------------------------------------------------------------------------
// Workbooks.

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// Cell styles: 0 general, 1 a custom date format, 2 the built-in date format 14.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#;

/// A workbook of one sheet ("Transactions") whose XML and shared strings are given, with
/// fixed styles; `date_1904` selects the workbook's date system. Entries are stored, not
/// compressed, so the fuzzer's mutations of a seed workbook land in the XML.
pub fn workbook(sheet_xml: &[u8], shared_strings_xml: &[u8], date_1904: bool) -> Vec<u8> {
    let workbook_xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr{}/><sheets><sheet name="Transactions" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        if date_1904 { r#" date1904="1""# } else { "" }
    );
    let parts: [(&str, &[u8]); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", workbook_xml.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/styles.xml", STYLES.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in parts.into_iter().chain([("xl/sharedStrings.xml", shared_strings_xml)]) {
        zip.start_file(name, options).expect("a new entry");
        zip.write_all(bytes).expect("writing to memory");
    }
    zip.finish().expect("writing to memory").into_inner()
}

// ---------------------------------------------------------------------------------------
// Panics the readers contain.

/// Crates whose panics the XLSX readers contain by design: `orders` and
/// `statement_profile` run the workbook parser under `catch_unwind` and turn a panic in
/// it into a diagnostic ("the XLSX reader failed on this workbook"). libFuzzer's panic
/// hook would abort on such a caught panic; [`let_contained_parser_panics_unwind`] lets
/// it unwind to the reader instead (and names each place once on stderr). A panic
/// anywhere else still aborts at once, and one of these that escapes a reader aborts
/// when it reaches the harness (libfuzzer-sys aborts on any unwinding panic).
const CONTAINED_PANIC_CRATES: &[&str] = &["/calamine-", "/zip-", "/quick-xml-", "/flate2-", "/miniz_oxide-"];

/// Installs the hook described at [`CONTAINED_PANIC_CRATES`]; for every target that may
/// reach an XLSX reader (a workbook is recognised by content when the format is not set).
pub fn let_contained_parser_panics_unwind() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location().map(|location| location.to_string()).unwrap_or_default();
            if CONTAINED_PANIC_CRATES.iter().any(|name| location.contains(name)) {
                static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
                let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if seen.get_or_insert_with(HashSet::new).insert(location.clone()) {
                    let message = info
                        .payload()
                        .downcast_ref::<&str>()
                        .map(|text| text.to_string())
                        .or_else(|| info.payload().downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    eprintln!("tieout-fuzz: a panic in a workbook parser crate, left to the reader's catch_unwind: {location}: {message}");
                }
                return;
            }
            abort_hook(info);
        }));
    });
}
