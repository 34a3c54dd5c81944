//! Amazon's "All Orders" report, read with the built-in mapping
//! (`orders::read_orders` with `Mapping::amazon_all_orders`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tieout_formats::mapping::Mapping;
use tieout_formats::orders::read_orders;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    let mapping = MAPPING.get_or_init(Mapping::amazon_all_orders);
    let file = read_orders(FILE, data, mapping, Some("acme-us"));
    check_diagnostics(&file.diagnostics);
});
