//! The user's TOML files: order mappings (`mapping::parse_mapping`) and statement
//! profiles (`statement_profile::parse_profile`). The input is `TOML[\0FILE]`: the text
//! before the first NUL is parsed as both; whichever is valid then reads FILE (or, when
//! there is none, a small CSV).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::mapping::parse_mapping;
use tieout_formats::orders::read_orders;
use tieout_formats::statement_profile::{parse_profile, read_with_profile};
use tieout_fuzz::{check_diagnostics, let_contained_parser_panics_unwind, split_at_nul, FILE};

const DEFAULT_FILE: &[u8] =
    b"order_no,order_date,status,currency,amount,Date,Amount\n1001,2026-03-01,Shipped,USD,12.50,2026-03-01,12.50\n";

fuzz_target!(|data: &[u8]| {
    let_contained_parser_panics_unwind();
    let (toml, file) = split_at_nul(data);
    let Ok(toml) = std::str::from_utf8(toml) else { return };
    let file = file.unwrap_or(DEFAULT_FILE);
    match parse_mapping("fuzz.toml", toml) {
        Ok(mapping) => check_diagnostics(&read_orders(FILE, file, &mapping, Some("acme")).diagnostics),
        Err(diagnostic) => assert_eq!(diagnostic.file, "fuzz.toml"),
    }
    match parse_profile("fuzz.toml", toml) {
        Ok(profile) => check_diagnostics(&read_with_profile(FILE, file, &profile).diagnostics),
        Err(diagnostic) => assert_eq!(diagnostic.file, "fuzz.toml"),
    }
});
