//! Detection by content (`detect`, `detect_amazon_transactions`), then the reader the
//! import use case would pick for what was detected (a table with no format of its own
//! is read with the built-in Payoneer profile, as with `--profile`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_core::records::SourceFormat;
use tieout_formats::mapping::Mapping;
use tieout_formats::statement_profile::read_with_profile;
use tieout_formats::{
    alipay, amazon_settlement, amazon_transactions, camt053, detect, detect_amazon_transactions, mt940, orders,
    wechatpay, Detected,
};
use tieout_fuzz::{check_diagnostics, csv_profiles, let_contained_parser_panics_unwind, FILE};

fuzz_target!(|data: &[u8]| {
    let_contained_parser_panics_unwind();
    let diagnostics = match detect(data) {
        Detected::Known(SourceFormat::AmazonSettlementV1 | SourceFormat::AmazonSettlementV2) => {
            amazon_settlement::read_settlement(FILE, data).diagnostics
        }
        Detected::Known(SourceFormat::AmazonOrdersReport) => {
            orders::read_orders(FILE, data, &Mapping::amazon_all_orders(), Some("acme")).diagnostics
        }
        Detected::Known(SourceFormat::Camt053) => camt053::read_camt053(FILE, data).diagnostics,
        Detected::Known(SourceFormat::Mt940) => mt940::read_mt940(FILE, data).diagnostics,
        Detected::Known(SourceFormat::AlipayStatement) => alipay::read_alipay(FILE, data).diagnostics,
        Detected::Known(SourceFormat::WechatPayBill) => wechatpay::read_wechatpay(FILE, data).diagnostics,
        Detected::Known(_) | Detected::Tabular => match detect_amazon_transactions(data) {
            Some(_) => amazon_transactions::read_transaction_report(FILE, data).diagnostics,
            None => read_with_profile(FILE, data, &csv_profiles()[0]).diagnostics,
        },
        Detected::Unknown => Vec::new(),
    };
    check_diagnostics(&diagnostics);
});
