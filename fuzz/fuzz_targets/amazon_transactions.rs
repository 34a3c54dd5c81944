//! Amazon Date Range transaction reports (`amazon_transactions::read_transaction_report`),
//! and their detection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::amazon_transactions::read_transaction_report;
use tieout_formats::detect_amazon_transactions;
use tieout_fuzz::{check_diagnostics, FILE};

fuzz_target!(|data: &[u8]| {
    let _ = detect_amazon_transactions(data);
    let report = read_transaction_report(FILE, data);
    check_diagnostics(&report.diagnostics);
    for row in &report.rows {
        assert!(row.lines.end <= report.lines.len(), "a row's lines are past the report's");
    }
});
