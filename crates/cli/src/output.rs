//! Output: report tables in the format asked, progress bars, the reconcile summary.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tieout_core::table::Table;
use tieout_formats::write;
use tieout_service::reconcile::ReconcileSummary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Xlsx,
    Json,
}

fn snake(title: &str) -> String {
    title.to_lowercase().replace(' ', "_")
}

/// Writes `tables` (the first is the main one) to `output` or standard output.
/// CSV holds one table: with a file, further tables go to sibling files named
/// `<stem>.<table>.csv`; on standard output only the main table is written.
pub fn emit(
    tables: &[Table],
    format: Format,
    output: Option<&Path>,
    name: &str,
    sources: &[(String, String)],
) -> Result<()> {
    match format {
        Format::Xlsx => {
            let bytes =
                write::write_xlsx(tables, sources).map_err(|e| anyhow::anyhow!("cannot write the workbook: {e}"))?;
            let path = output.map_or_else(|| PathBuf::from(format!("{name}.xlsx")), Path::to_path_buf);
            std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        Format::Csv => {
            let main = &tables[0];
            write_to(output, |out| write::write_csv(main, out))?;
            if let Some(path) = output {
                for table in &tables[1..] {
                    let sibling = path.with_extension(format!("{}.csv", snake(&table.title)));
                    write_to(Some(&sibling), |out| write::write_csv(table, out))?;
                }
            }
        }
        Format::Json => write_to(output, |out| {
            if tables.len() == 1 {
                write::write_json(&tables[0], out)
            } else {
                write!(out, "{{")?;
                for (index, table) in tables.iter().enumerate() {
                    if index > 0 {
                        write!(out, ",")?;
                    }
                    write!(out, "\"{}\":", snake(&table.title))?;
                    write::write_json(table, out)?;
                }
                writeln!(out, "}}")
            }
        })?,
        Format::Table => write_to(output, |out| {
            for table in tables {
                writeln!(out, "== {} ({} rows)", table.title, table.rows.len())?;
                write::write_text_table(table, out)?;
                for note in &table.notes {
                    writeln!(out, "  note: {note}")?;
                }
                writeln!(out)?;
            }
            Ok(())
        })?,
    }
    Ok(())
}

fn write_to(output: Option<&Path>, body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    match output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            body(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
            out.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match body(&mut out).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(())
}

/// A progress bar over bytes on stderr; hidden when quiet or when stderr is not a terminal.
pub fn byte_progress(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() },
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} importing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A spinner with a message on stderr, for work without a measurable length; hidden when
/// quiet or when stderr is not a terminal.
pub fn spinner(quiet: bool, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        None,
        if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() },
    );
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"));
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// The small differences written off automatically after a reconciliation, per currency.
pub fn render_auto_write_offs(written: &crate::cli::AutoWriteOffs) -> String {
    let mut out = String::new();
    if written.reopened > 0 {
        out.push_str(&format!(
            "reopened: {} resolved difference(s) whose amounts this run changed (`tieout report resolutions` no longer lists them)\n",
            written.reopened
        ));
    }
    if written.orders.is_empty() && written.receipts.is_empty() {
        return out;
    }
    out.push_str("written off automatically (within [write_off].auto, by the system identity):\n");
    let orders = tieout_service::differences::totals(&written.orders);
    let receipts = tieout_service::receipt_differences::totals(&written.receipts);
    for (what, totals) in [("differences", orders), ("payout/receipt differences", receipts)] {
        for (code, count, amount) in totals {
            let shown = tieout_core::Currency::from_code(&code)
                .map(|c| tieout_service::views::amount(amount, c))
                .unwrap_or_else(|_| amount.to_string());
            out.push_str(&format!("  {code}: {count} {what}, {shown} {code}\n"));
        }
    }
    out.push_str("  (`tieout report resolutions` lists them)\n");
    out
}

pub fn render_receipts(summary: &tieout_service::reconcile::ReceiptSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if summary.payouts == 0 && summary.receipts == 0 {
        return out;
    }
    let _ =
        writeln!(out, "Payouts: {} expected, {} credits in imported statements.", summary.payouts, summary.receipts);
    for (status, count) in &summary.by_status {
        if *count > 0 {
            let _ = writeln!(out, "  {:<28} {:<12} {:>10}", status.name(), status.chinese(), count);
        }
    }
    if summary.rates_outside_band > 0 {
        let _ = writeln!(out, "  conversions outside the reference-rate band: {}", summary.rates_outside_band);
    }
    if summary.difference_count() > 0 {
        let _ = writeln!(
            out,
            "{} payout(s) or receipt(s) need attention: `tieout report receipts`.",
            summary.difference_count()
        );
    }
    out
}

pub fn render_summary(summary: &ReconcileSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Reconciled {} orders and {} settlement lines with an order id, as of {}{}.",
        summary.order_count,
        summary.line_count,
        summary.as_of,
        if summary.ranges > 1 {
            format!(" (in {} ranges of order id, one in memory at a time)", summary.ranges)
        } else {
            String::new()
        }
    );
    for (category, count) in &summary.by_category {
        let _ = writeln!(out, "  {:<28} {:<10} {:>10}", category.name(), category.chinese(), count);
    }
    if summary.duplicate_lines > 0 {
        let _ = writeln!(out, "  duplicate settlement lines: {}", summary.duplicate_lines);
    }
    for s in &summary.inconsistent_settlements {
        let exponent = s.currency.exponent();
        let _ = writeln!(
            out,
            "  settlement {} ({}) is INCONSISTENT: total {} {}, lines sum to {}, difference {}",
            s.settlement_id,
            s.store,
            tieout_core::money::format_minor(s.total_minor, exponent),
            s.currency,
            tieout_core::money::format_minor(s.lines_sum_minor, exponent),
            tieout_core::money::format_minor(s.total_minor - s.lines_sum_minor, exponent),
        );
    }
    if summary.is_clean() {
        let _ = writeln!(out, "Everything tied out.");
    } else {
        let _ = writeln!(
            out,
            "{} order(s) and {} settlement(s) need attention: `tieout report differences`.",
            summary.difference_count(),
            summary.inconsistent_settlements.len()
        );
    }
    out
}
