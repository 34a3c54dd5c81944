//! ERP order exports (CSV) read through column mappings (`orders::read_orders`): every
//! input is read with each fixed mapping (comma / semicolon with a preamble and comma
//! decimals / tab with one amount column and per-value numbers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::orders::read_orders;
use tieout_fuzz::{check_diagnostics, let_contained_parser_panics_unwind, order_mappings, FILE};

fuzz_target!(|data: &[u8]| {
    let_contained_parser_panics_unwind();
    for mapping in order_mappings() {
        let file = read_orders(FILE, data, mapping, None);
        check_diagnostics(&file.diagnostics);
    }
});
