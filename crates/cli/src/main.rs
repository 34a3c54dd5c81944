//! `tieout`: settlement reconciliation from the command line.
//!
//! The binary is the only place that reads the environment, configuration files and the
//! wall clock; it turns them into explicit inputs for `tieout-service`.
//!
//! Exit codes: 0 everything tied out (or the command succeeded), 1 differences found,
//! 2 error (bad input, refused file, unusable database).

mod cli;
mod demo;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
