//! Alipay bills, merchant and personal, GBK or UTF-8 (`alipay::read_alipay`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::alipay::read_alipay;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    let file = read_alipay(FILE, data);
    check_diagnostics(&file.diagnostics);
});
