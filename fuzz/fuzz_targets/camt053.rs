//! ISO 20022 camt.053 bank statements (`camt053::read_camt053`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::camt053::read_camt053;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    let file = read_camt053(FILE, data);
    check_diagnostics(&file.diagnostics);
});
