//! SWIFT MT940 bank statements (`mt940::read_mt940`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::mt940::read_mt940;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    let file = read_mt940(FILE, data);
    check_diagnostics(&file.diagnostics);
});
