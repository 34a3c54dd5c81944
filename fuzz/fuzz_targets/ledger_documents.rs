//! Counterparty documents (`ledger::read_documents`: CSV or XLSX with tieout's own
//! headers, UTF-8 or GBK) and the same bytes through a fixed documents mapping (Chinese
//! headers, type aliases, decimal commas, a date format, negative amounts reversed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tieout_formats::ledger::{read_documents, read_documents_with_mapping};
use tieout_fuzz::{check_diagnostics, document_mapping, let_contained_parser_panics_unwind, FILE};

fuzz_target!(|data: &[u8]| {
    let_contained_parser_panics_unwind();
    check_diagnostics(&read_documents(FILE, data).diagnostics);
    check_diagnostics(&read_documents_with_mapping(FILE, data, document_mapping()).diagnostics);
});
