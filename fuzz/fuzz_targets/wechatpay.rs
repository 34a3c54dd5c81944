//! WeChat Pay trade and fund flow bills (`wechatpay::read_wechatpay`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::wechatpay::read_wechatpay;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    let file = read_wechatpay(FILE, data);
    check_diagnostics(&file.diagnostics);
});
