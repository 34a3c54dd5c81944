//! `tieout`: settlement reconciliation from the command line.
//!
//! The binary is the only place that reads the environment, configuration files and the
//! wall clock; it turns them into explicit inputs for `tieout-service`.
//!
//! Exit codes: 0 everything tied out (or the command succeeded), 1 differences found,
//! 2 error (bad input, refused file, unusable database).

mod cli;
mod demo;
mod differences;
mod output;
mod statements;
mod team;

use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    match cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// `tieout report … | head`: when the reader of standard output goes away, stop quietly
/// (exit 0) instead of reporting a panic; any other panic is reported as usual.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
