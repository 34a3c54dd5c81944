//! Named limits on every input, related to each other by compile-time asserts.
//!
//! A limit is a promise to the user ("tieout reads settlement files up to 2 GiB") and a
//! guard for the machine (no input can make us allocate without bound).

/// Largest input file tieout reads, in bytes. Amazon settlement files of very large
/// sellers reach a few hundred MiB; bank and ERP exports are smaller.
pub const FILE_SIZE_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;

/// Longest line in a text input, in bytes. Real settlement lines are under 1 KiB.
pub const LINE_LENGTH_BYTES_MAX: usize = 64 * 1024;

/// Most rows read from one file.
pub const FILE_ROWS_MAX: u32 = 50_000_000;

/// Most columns in one row of a tabular file.
pub const ROW_COLUMNS_MAX: usize = 512;

/// Longest amount text (digits, separators, sign, parentheses) after trimming.
pub const AMOUNT_TEXT_LENGTH_MAX: usize = 40;

/// Most diagnostics kept per file; past this the reader stops and says so.
pub const FILE_DIAGNOSTICS_MAX: usize = 100;

/// Largest absolute amount in minor units accepted on one line of a file (10^11 minor
/// units: one billion in a two-decimal currency): far above any real line, and far enough
/// below `i64::MAX` that summing `FILE_ROWS_MAX` such amounts cannot overflow.
pub const AMOUNT_MINOR_ABS_MAX: i64 = 100_000_000_000;

/// Most distinct strings one interner holds (dictionary codes are `u32`).
pub const INTERNED_STRINGS_MAX: usize = 100_000_000;

const _: () = assert!(LINE_LENGTH_BYTES_MAX as u64 <= FILE_SIZE_BYTES_MAX);
const _: () = assert!(AMOUNT_TEXT_LENGTH_MAX < LINE_LENGTH_BYTES_MAX);
const _: () = assert!(ROW_COLUMNS_MAX < LINE_LENGTH_BYTES_MAX);
// Summing every row of a file at the largest amount stays inside i64.
const _: () = assert!((AMOUNT_MINOR_ABS_MAX as i128) * (FILE_ROWS_MAX as i128) < i64::MAX as i128);
const _: () = assert!(INTERNED_STRINGS_MAX < u32::MAX as usize);
