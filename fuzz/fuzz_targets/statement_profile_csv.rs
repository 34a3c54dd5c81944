//! Tabular statements (CSV) read through statement profiles
//! (`statement_profile::read_with_profile`): every input is read with each fixed
//! profile (the built-in ones, UTF-8 / GBK / Windows-1252, header by position or by
//! text, footers, signed / credit-debit / sign-column amounts, balances).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::statement_profile::read_with_profile;
use tieout_fuzz::{check_diagnostics, csv_profiles, let_contained_parser_panics_unwind, FILE};

fuzz_target!(|data: &[u8]| {
    let_contained_parser_panics_unwind();
    for profile in csv_profiles() {
        let file = read_with_profile(FILE, data, profile);
        check_diagnostics(&file.diagnostics);
    }
});
