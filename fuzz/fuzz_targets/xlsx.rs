//! XLSX workbooks, read as an order export (`orders::read_orders`, mapping with
//! `format = "xlsx"`) and as a statement (`statement_profile::read_with_profile`,
//! profile with `format = "xlsx"`).
//!
//! An input starting with the zip signature is the workbook itself. Any other input is
//! `[1904]SHEET_XML[\0SHARED_STRINGS_XML]`: the target stores it in a workbook of one
//! sheet with fixed styles (a leading `1904` selects that date system), so mutations
//! reach the sheet's cells rather than the zip's checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::orders::read_orders;
use tieout_formats::statement_profile::read_with_profile;
use tieout_fuzz::{check_diagnostics, let_contained_parser_panics_unwind, split_at_nul, workbook, xlsx_readers, FILE};

fuzz_target!(|data: &[u8]| {
    let_contained_parser_panics_unwind();
    let built;
    let bytes = if data.starts_with(b"PK\x03\x04") {
        data
    } else {
        let (date_1904, data) = match data.strip_prefix(b"1904") {
            Some(rest) => (true, rest),
            None => (false, data),
        };
        let (sheet, shared_strings) = split_at_nul(data);
        built = workbook(sheet, shared_strings.unwrap_or_default(), date_1904);
        &built[..]
    };
    let (mapping, profile) = xlsx_readers();
    let orders = read_orders(FILE, bytes, mapping, None);
    check_diagnostics(&orders.diagnostics);
    let statements = read_with_profile(FILE, bytes, profile);
    check_diagnostics(&statements.diagnostics);
});
