//! Amazon settlement flat files, V2 and V1 (`amazon_settlement::read_settlement`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::amazon_settlement::read_settlement;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    let file = read_settlement(FILE, data);
    check_diagnostics(&file.diagnostics);
});
