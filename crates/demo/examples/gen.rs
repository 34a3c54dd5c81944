//! Generates a demo month: `cargo run --release -p tieout-demo --example gen -- SEED ORDERS OUT_DIR [YEAR MONTH]`.

use std::path::PathBuf;
use std::time::Instant;

use tieout_demo::{generate, DemoConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 && args.len() != 5 {
        eprintln!("usage: gen SEED ORDERS OUT_DIR [YEAR MONTH]");
        std::process::exit(2);
    }
    let number = |index: usize| -> u64 {
        args[index].parse().unwrap_or_else(|_| {
            eprintln!("'{}' is not a number", args[index]);
            std::process::exit(2)
        })
    };
    let (year, month) = if args.len() == 5 { (number(3) as i32, number(4) as u32) } else { (2026, 6) };
    let config = DemoConfig { seed: number(0), orders: number(1), year, month };
    let started = Instant::now();
    match generate(&config, &PathBuf::from(&args[2])) {
        Ok(manifest) => {
            let files: usize = manifest.stores.iter().map(|s| s.settlement_files.len()).sum();
            println!(
                "{} orders, {} settlement lines in {} files, as of {}, inconsistent {:?}, {} ms",
                manifest.order_count,
                manifest.settlement_line_count,
                files,
                manifest.as_of,
                manifest.inconsistent_settlements,
                started.elapsed().as_millis()
            );
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    }
}
