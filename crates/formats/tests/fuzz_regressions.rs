//! Inputs the fuzz targets (`fuzz/`, see its README) found, each run through the readers
//! it reached: every reader must answer with diagnostics, never a panic. The inputs are
//! in `tests/fuzz-regressions/`; a test is named after what broke.

use tieout_core::diag::has_errors;
use tieout_core::Diagnostic;
use tieout_formats::mapping::parse_mapping;
use tieout_formats::orders::read_orders;
use tieout_formats::statement_profile::{parse_profile, read_with_profile};

fn input(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fuzz-regressions/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The order mapping and statement profile the `xlsx` fuzz target reads workbooks with.
const XLSX_MAPPING: &str = r#"
[source]
format = "xlsx"
store = "acme-us"
[columns]
order_id = "Order"
purchase_date = "Date"
status = "Status"
currency = "Currency"
amount = "Amount"
"#;

const XLSX_PROFILE: &str = r#"
[source]
format = "xlsx"
account = "xlsx-usd"
[columns]
booking_date = "Date"
amount = "Amount"
currency = "Currency"
"#;

/// Reads a workbook as an order export and as a statement; each must refuse it with
/// one error for the whole file (line 0) that names the file, and return no records.
fn check_workbook_refused(name: &str, expect_message: &str) {
    let bytes = input(name);
    let check = |what: &str, diagnostics: &[Diagnostic], records: usize| {
        assert!(has_errors(diagnostics), "{what}: {diagnostics:#?}");
        assert_eq!(records, 0, "{what}: records from a refused workbook");
        let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().any(|line| line.starts_with(&format!("{name}: error: ")) && line.contains(expect_message)),
            "{what}: {shown:#?}"
        );
    };
    let mapping = parse_mapping("mapping.toml", XLSX_MAPPING).unwrap();
    let orders = read_orders(name, &bytes, &mapping, None);
    check("orders", &orders.diagnostics, orders.items.len());
    let profile = parse_profile("profile.toml", XLSX_PROFILE).unwrap();
    let statements = read_with_profile(name, &bytes, &profile);
    check("statement", &statements.diagnostics, statements.entries.len());
}

/// calamine multiplies a cell reference's row (`A99999999999`) past `u32`; the overflow
/// panics in calamine, which the readers' `catch_unwind` turns into an error (release
/// builds check calamine's overflows too: see the root Cargo.toml).
#[test]
fn xlsx_cell_reference_past_u32_is_refused() {
    check_workbook_refused("xlsx-cell-reference-overflow.xlsx", "the XLSX reader failed on this workbook");
}

/// calamine subtracts a dimension's start from its end (`B2:A1`) without checking
/// their order; the underflow is contained like the overflow above.
#[test]
fn xlsx_dimension_ending_before_it_starts_is_refused() {
    check_workbook_refused("xlsx-dimension-end-before-start.xlsx", "the XLSX reader failed on this workbook");
}
