//! Command-line parsing and the commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::{Local, NaiveDate, SecondsFormat, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use tieout_core::diag::Severity;
use tieout_core::ids::OrderId;
use tieout_core::reconcile::Category;
use tieout_formats::mapping::parse_mapping;
use tieout_service::config::Settings;
use tieout_service::import::{import_jobs_in_parts, ImportOptions, Outcome};
use tieout_service::report::{self, Filter};
use tieout_service::rules::{parse_rules, ReceiptRules};
use tieout_service::SqliteStore;

use crate::output::{emit, Format};

/// tieout ties out e-commerce money: orders from your ERP, marketplace settlements
/// (Amazon settles every 14 days), and what was paid out. It imports the files as
/// marketplaces produce them, classifies every order, and explains every difference down
/// to the file and line.
///
/// Start with `tieout demo` to see a month reconciled end to end.
#[derive(Parser, Debug)]
#[command(name = "tieout", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// The tieout database file (SQLite). Created if it does not exist.
    #[arg(long, global = true, env = "TIEOUT_DB", default_value = "tieout.db", value_name = "PATH")]
    db: PathBuf,

    /// Settings file (fee schedules, tolerances). Default: ./tieout.toml if present.
    #[arg(long, global = true, env = "TIEOUT_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    /// Print only errors (no progress, no summaries on stderr).
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import files: Amazon settlement reports (V2 and legacy V1 flat files), Amazon Date
    /// Range transaction reports (any locale), Amazon order reports, ERP order exports
    /// (CSV/XLSX with --mapping), bank statements (camt.053, MT940), Alipay and WeChat Pay
    /// bills, and payment-tool statements (--profile). The format is detected from each
    /// file's content. Each file is imported whole or not at all; a file imported before is
    /// recognised and skipped.
    Import {
        /// Files to import.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The store (seller account) these settlement files belong to; also the store of
        /// order rows that name none.
        #[arg(long, value_name = "NAME")]
        store: Option<String>,
        /// Column mapping (TOML) for CSV/XLSX order exports, or for counterparty documents
        /// (`[source] kind = "documents"`) whose headers are not tieout's.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Statement profile (TOML) for a payment-tool or bank statement in CSV/XLSX
        /// (Payoneer, PingPong, LianLian, Airwallex, a bank's CSV), or the name of a
        /// built-in profile.
        #[arg(long, value_name = "FILE|NAME", conflicts_with = "mapping")]
        profile: Option<String>,
    },
    /// Tie every order to its settlement lines and classify it (matched, shipped but not
    /// settled, amount mismatch, duplicate line …). Exit code 0: everything tied out;
    /// 1: differences found.
    Reconcile {
        /// Count "days since ship" to this date (YYYY-MM-DD); payouts due before it and not
        /// received are missing. Default: today.
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// Payout ↔ receipt matching rules (TOML); default: the built-in rules
        /// (`tieout rules show` prints them).
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Show what the receipt rules would match, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Reference exchange rates (CSV: date,from,to,rate) to check conversions against.
        #[arg(long, value_name = "FILE")]
        rates: Option<PathBuf>,
    },
    /// Matching rules: `check FILE` validates a rules file; `show` prints the built-in rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Write a report of the latest reconciliation.
    Report {
        #[arg(value_enum)]
        kind: ReportKind,
        /// table (terminal), csv, xlsx (Excel workbook) or json.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Write to this file instead of standard output (required for xlsx unless the
        /// default name <report>.xlsx in the current directory is fine).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Only this store.
        #[arg(long, value_name = "NAME")]
        store: Option<String>,
        /// Only this marketplace (e.g. Amazon.de).
        #[arg(long, value_name = "NAME")]
        marketplace: Option<String>,
        /// Only this calendar month (YYYY-MM); `--month` is the same.
        #[arg(long, visible_alias = "month", value_name = "YYYY-MM", value_parser = parse_month)]
        period: Option<(i32, u32)>,
        /// The date aging is counted to (YYYY-MM-DD); default: the last reconcile's as-of date.
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// Only this category (e.g. shipped_not_settled).
        #[arg(long, value_name = "CATEGORY", value_parser = parse_category)]
        category: Option<Category>,
    },
    /// Show one order's whole chain (its order export rows, its settlement lines with
    /// file and line, its classification and why), or one settlement's: its payout and
    /// the receipt(s) that paid it, with file and line.
    Explain {
        /// Amazon order id (e.g. 114-8829371-4410258), your ERP's order number, or a
        /// settlement id.
        order_id: String,
    },
    /// Generate a realistic demo month (3 stores, US/DE/UK), import it into a fresh
    /// database, reconcile, and write the reports.
    Demo {
        /// Where to write the demo files, database and reports.
        #[arg(long, default_value = "tieout-demo", value_name = "DIR")]
        dir: PathBuf,
        /// Number of orders in the month.
        #[arg(long, default_value_t = 10_000)]
        orders: u64,
        /// Random seed (the same seed gives the same files).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The month to generate (YYYY-MM).
        #[arg(long, default_value = "2026-10", value_parser = parse_month)]
        month: (i32, u32),
    },
    /// What the database holds: imported files and record counts.
    Status,
    /// Verify the database's own invariants: every file's lines stored exactly once,
    /// every settlement's lines sum to what was recorded, one result per order, and the
    /// latest results equal a fresh recomputation. Exit code 0: all hold; 1: the results
    /// are out of date (files imported since the last reconcile); 2: an invariant is
    /// broken (the findings say which).
    Check,
    /// Run the team server: the HTTP API (and job workers) on --listen. Data lives in
    /// --data-dir (SQLite: control.sqlite and one file per tenant) unless --database names
    /// a PostgreSQL server.
    Serve {
        #[command(flatten)]
        server: crate::team::ServerArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS")]
        listen: String,
        /// Job workers in this process (imports and reconciliations run one per worker).
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Largest upload of one request, in MiB.
        #[arg(long, default_value_t = 256, value_name = "MIB")]
        upload_max_mib: usize,
        /// Mark session cookies Secure (serve behind HTTPS).
        #[arg(long)]
        secure_cookies: bool,
        /// Payout ↔ receipt matching rules (TOML) for reconciliations; default: built in.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Run job workers only (imports, reconciliations, alert deliveries) on the team
    /// server's data, beside `tieout serve --workers 0`: several processes share the queue,
    /// and a worker started with `nice` leaves the processor to requests during a large import.
    Work {
        #[command(flatten)]
        server: crate::team::ServerArgs,
        /// Job workers in this process.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Payout ↔ receipt matching rules (TOML) for reconciliations; default: built in.
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
    },
    /// Tenants of the team server: `tenant add SLUG NAME`, `tenant list`.
    Tenant {
        #[command(flatten)]
        server: crate::team::ServerArgs,
        #[command(subcommand)]
        action: crate::team::TenantAction,
    },
    /// Users of a tenant: `user add --tenant SLUG --email E --role R` (password from
    /// standard input or TIEOUT_PASSWORD), `user list --tenant SLUG`.
    User {
        #[command(flatten)]
        server: crate::team::ServerArgs,
        #[command(subcommand)]
        action: crate::team::UserAction,
    },
    /// Statements with counterparties (往来对账单): `statement --tenant SLUG --user EMAIL
    /// draw-up | list | show | transition | import-theirs | resolve | export`.
    Statement(crate::statements::StatementArgs),
    /// Differences of the latest reconciliation on the team server's data: `difference
    /// --tenant SLUG --user EMAIL resolve ORDER… --as accept|adjust|write_off --reason R`,
    /// `reopen ORDER…`, `resolve-receipt KEY…` / `reopen-receipt KEY…` (payout ↔ receipt
    /// differences by key), `resolutions` (every resolution, with automatic write-offs).
    Difference(crate::differences::DifferenceArgs),
    /// API tokens: `token create --tenant SLUG --email E --name N` prints a token once.
    Token {
        #[command(flatten)]
        server: crate::team::ServerArgs,
        #[command(subcommand)]
        action: crate::team::TokenAction,
    },
    /// A tenant's audit log: `audit verify --tenant SLUG` checks its hash chain (exit 0
    /// intact, 2 broken: the first broken link is printed), `audit list --tenant SLUG`.
    Audit {
        #[command(flatten)]
        server: crate::team::ServerArgs,
        #[command(subcommand)]
        action: crate::team::AuditAction,
    },
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// Validate a rules file; errors name the line and column.
    Check { file: PathBuf },
    /// Print the built-in rules (a starting point for your own file).
    Show,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ReportKind {
    /// Orders that need attention, and settlements that do not add up.
    Differences,
    /// Every order with its category (the CSV is a stable contract for scripts).
    Orders,
    /// Every settlement with its total, lines sum and consistency.
    Settlements,
    /// Orders per category per store, marketplace and currency.
    Summary,
    /// Every expected payout and unexpected receipt: received, short, late, converted,
    /// missing (the CSV is a stable contract for scripts).
    Receipts,
    /// The receivables roll-forward (应收滚动) per store, currency and calendar month:
    /// opening, sales, refunds, fees, other, transfers, closing (the CSV is a contract).
    /// With --month, that month (its opening carried from every earlier month).
    Receivables,
    /// Aging as of --as-of: orders shipped and not settled, settlements posted and not
    /// transferred, in buckets of 0-14, 15-30, 31-60, 61-90 and over 90 days, with alerts.
    Aging,
    /// Every resolved difference: accepted, adjusted (ours, theirs and the adjustment) or
    /// written off (by a person, or automatically within [write_off].auto: by `system`),
    /// with totals per resolution and currency.
    Resolutions,
}

fn parse_month(text: &str) -> Result<(i32, u32), String> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map(|d| (chrono::Datelike::year(&d), chrono::Datelike::month(&d)))
        .map_err(|_| format!("'{text}' is not a month; write YYYY-MM, e.g. 2026-10"))
}

fn parse_category(text: &str) -> Result<Category, String> {
    Category::from_name(text)
        .ok_or_else(|| format!("unknown category '{text}'; one of: {}", Category::ALL.map(|c| c.name()).join(", ")))
}

pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    init_logging(cli.quiet);
    match &cli.command {
        Command::Import { files, store, mapping, profile } => {
            import(&cli, files, store.clone(), mapping.as_deref(), profile.as_deref())
        }
        Command::Reconcile { as_of, rules, dry_run, rates } => {
            let as_of = as_of.unwrap_or_else(|| Local::now().date_naive());
            let rates = load_rates(rates.as_deref())?;
            if *dry_run {
                dry_run_receipts(&cli, as_of, rules.as_deref(), &rates)
            } else {
                reconcile(&cli, as_of, rules.as_deref(), &rates)
            }
        }
        Command::Rules { action } => rules_command(action),
        Command::Report { kind, format, output, store, marketplace, period, category, as_of } => {
            let filter =
                Filter { store: store.clone(), marketplace: marketplace.clone(), period: *period, category: *category };
            write_report(&cli, *kind, *format, output.as_deref(), &filter, *as_of)
        }
        Command::Explain { order_id } => explain(&cli, order_id),
        Command::Demo { dir, orders, seed, month } => crate::demo::run(dir, *orders, *seed, *month, cli.quiet),
        Command::Status => status(&cli),
        Command::Check => check(&cli),
        Command::Serve { server, listen, workers, upload_max_mib, secure_cookies, rules } => {
            let rules = load_rules(rules.as_deref())?;
            let (settings, text) = load_settings(cli.config.as_deref())?;
            crate::team::serve(server, listen, *workers, *upload_max_mib, *secure_cookies, settings, text, rules)
        }
        Command::Work { server, workers, rules } => {
            let rules = load_rules(rules.as_deref())?;
            let (settings, text) = load_settings(cli.config.as_deref())?;
            crate::team::work(server, (*workers).max(1), settings, text, rules)
        }
        Command::Tenant { server, action } => crate::team::tenant(server, action),
        Command::User { server, action } => crate::team::user(server, action),
        Command::Token { server, action } => crate::team::token(server, action),
        Command::Audit { server, action } => crate::team::audit(server, action),
        Command::Statement(args) => {
            let (settings, _) = load_settings(cli.config.as_deref())?;
            crate::statements::run(args, &settings)
        }
        Command::Difference(args) => {
            let (settings, _) = load_settings(cli.config.as_deref())?;
            crate::differences::run(args, &settings)
        }
    }
}

fn init_logging(quiet: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIEOUT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if quiet { "error" } else { "warn" }));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn open_store(path: &Path) -> Result<SqliteStore> {
    SqliteStore::open(path).with_context(|| format!("cannot open the database {}", path.display()))
}

/// Settings from --config, else ./tieout.toml if present, else defaults. Returns the
/// settings and their text (stored with each reconciliation run).
pub fn load_settings(path: Option<&Path>) -> Result<(Settings, String)> {
    let default = Path::new("tieout.toml");
    let path = match path {
        Some(path) => path,
        None if default.exists() => default,
        None => return Ok((Settings::default(), String::new())),
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings {}", path.display()))?;
    let settings = Settings::parse(&path.display().to_string(), &text)?;
    Ok((settings, text))
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A statement profile: a built-in one by name, else a TOML file.
pub fn read_profile(name_or_path: &str) -> Result<tieout_formats::statement_profile::StatementProfile> {
    let builtin = tieout_formats::statement_profile::builtin_profiles();
    if let Some((_, profile)) = builtin.iter().find(|(name, _)| *name == name_or_path) {
        return Ok(profile.clone());
    }
    let path = Path::new(name_or_path);
    let text = std::fs::read_to_string(path).with_context(|| {
        let names: Vec<&str> = builtin.iter().map(|(name, _)| *name).collect();
        format!("cannot read profile {} (built-in profiles: {})", path.display(), names.join(", "))
    })?;
    tieout_formats::statement_profile::parse_profile(&path.display().to_string(), &text)
        .map_err(|d| anyhow::anyhow!("{d}"))
}

/// A mapping file: an order export's, or counterparty documents' (`[source] kind`).
pub fn read_mapping(path: &Path) -> Result<tieout_formats::mapping::ImportMapping> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read mapping {}", path.display()))?;
    parse_mapping(&path.display().to_string(), &text).map_err(|d| anyhow::anyhow!("{d}"))
}

/// A tuning knob from the environment: `TIEOUT_IMPORT_PART_LINES` (lines per part of a
/// settlement file on its way to the store) and `TIEOUT_RECONCILE_PARTITION_LINES` (lines
/// per range of order ids of a reconciliation) trade memory for speed; results do not
/// depend on them (tests hold both to that), and the defaults suit any month.
fn tuning(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(lines) if lines > 0 => Ok(lines),
            _ => anyhow::bail!("{name}={value}: expected a number of lines above 0"),
        },
        Err(_) => Ok(default),
    }
}

/// Imports files, each with its options, printing what happened to each on stderr with a
/// progress bar. Returns whether every file was imported (or already was).
pub fn import_with_progress(store: &mut SqliteStore, jobs: &[(PathBuf, &ImportOptions)], quiet: bool) -> Result<bool> {
    let part_lines = tuning("TIEOUT_IMPORT_PART_LINES", tieout_service::import::SETTLEMENT_PART_LINES)?;
    let bar = crate::output::byte_progress(quiet);
    let reports = import_jobs_in_parts(
        store,
        jobs,
        &mut |progress, report| {
            bar.set_length(progress.bytes_total);
            bar.set_position(progress.bytes_done);
            let name = report.path.display();
            let line = match &report.outcome {
                Outcome::Imported { summary, .. } => format!("imported {name}: {summary}"),
                Outcome::AlreadyImported { previous, .. } => format!(
                    "skipped {name}: already imported ({} on {}, same SHA-256); nothing added",
                    previous.name, previous.imported_at
                ),
                Outcome::Refused { format, .. } => format!(
                    "REFUSED {name}{}: nothing of this file was stored",
                    format.map_or_else(String::new, |f| format!(" ({})", f.description()))
                ),
            };
            if !quiet || report.is_refused() {
                bar.suspend(|| eprintln!("{line}"));
            }
            let diagnostics = match &report.outcome {
                Outcome::Imported { warnings, .. } => warnings.as_slice(),
                Outcome::Refused { diagnostics, .. } => diagnostics.as_slice(),
                Outcome::AlreadyImported { .. } => &[],
            };
            for diagnostic in diagnostics {
                if diagnostic.severity == Severity::Error || !quiet {
                    bar.suspend(|| eprintln!("  {diagnostic}"));
                }
            }
        },
        part_lines,
    )?;
    bar.finish_and_clear();
    Ok(reports.iter().all(|r| !r.is_refused()))
}

fn import(
    cli: &Cli,
    files: &[PathBuf],
    store_name: Option<String>,
    mapping: Option<&Path>,
    profile: Option<&str>,
) -> Result<ExitCode> {
    let (settings, _) = load_settings(cli.config.as_deref())?;
    let mapping = mapping.map(read_mapping).transpose()?;
    let profile = profile.map(read_profile).transpose()?;
    let options = ImportOptions {
        store: store_name.or(settings.import.store.clone()),
        mapping,
        profile,
        imported_at: now_rfc3339(),
    };
    let mut store = open_store(&cli.db)?;
    let jobs: Vec<(PathBuf, &ImportOptions)> = files.iter().map(|f| (f.clone(), &options)).collect();
    let all_imported = import_with_progress(&mut store, &jobs, cli.quiet)?;
    Ok(if all_imported { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

pub fn load_rules(path: Option<&Path>) -> Result<ReceiptRules> {
    match path {
        None => Ok(ReceiptRules::built_in()),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read rules {}", path.display()))?;
            Ok(parse_rules(&path.display().to_string(), &text)?)
        }
    }
}

fn load_rates(path: Option<&Path>) -> Result<Vec<tieout_core::receipts::ReferenceRate>> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read rates {}", path.display()))?;
    tieout_service::rates::parse_rates(&path.display().to_string(), &text).map_err(|d| anyhow::anyhow!("{d}"))
}

fn dry_run_receipts(
    cli: &Cli,
    as_of: NaiveDate,
    rules: Option<&Path>,
    rates: &[tieout_core::receipts::ReferenceRate],
) -> Result<ExitCode> {
    use tieout_core::table::{Cell, Table};
    let rules = load_rules(rules)?;
    let store = open_store(&cli.db)?;
    let results = tieout_service::reconcile::preview_receipts(&store, &rules, rates, as_of)?;
    let mut table = Table::new(
        "Dry run: what the rules would match (nothing written)",
        &["status", "settlements", "receipt_entries", "rule_id", "score", "difference", "days", "implied_rate"],
    );
    for result in &results {
        let ids = |values: Vec<String>| Cell::text(values.join("+"));
        let currency = result.expected.or(result.received).map(|m| m.currency);
        table.push(vec![
            Cell::text(result.status.name()),
            ids(result.settlement_ids.iter().map(u64::to_string).collect()),
            ids(result.receipt_ids.iter().map(i64::to_string).collect()),
            result.rule_id.clone().map_or(Cell::Empty, Cell::Text),
            result.score.map_or(Cell::Empty, |s| Cell::Integer(s as i64)),
            match (result.difference_minor, currency) {
                (Some(d), Some(c)) => Cell::money(d, c),
                _ => Cell::Empty,
            },
            result.date_difference_days.map_or(Cell::Empty, Cell::Integer),
            result.implied_rate.clone().map_or(Cell::Empty, Cell::Text),
        ]);
    }
    emit(&[table], Format::Table, None, "dry-run", &[])?;
    Ok(ExitCode::SUCCESS)
}

fn rules_command(action: &RulesAction) -> Result<ExitCode> {
    match action {
        RulesAction::Show => print!("{}", tieout_service::rules::DEFAULT_RULES),
        RulesAction::Check { file } => {
            let rules = load_rules(Some(file))?;
            println!("{}: {} rule(s), valid", file.display(), rules.rules.len());
            for rule in &rules.rules {
                println!("  {:>4}  {}", rule.priority, rule.id);
            }
            if !rules.withdrawal_rules.is_empty() {
                println!("  withdrawals (debits matching '{}'):", rules.withdrawal_pattern);
                for rule in &rules.withdrawal_rules {
                    println!("  {:>4}  {}", rule.priority, rule.id);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn reconcile(
    cli: &Cli,
    as_of: NaiveDate,
    rules: Option<&Path>,
    rates: &[tieout_core::receipts::ReferenceRate],
) -> Result<ExitCode> {
    let rules = load_rules(rules)?;
    let (settings, text) = load_settings(cli.config.as_deref())?;
    let mut store = open_store(&cli.db)?;
    let config = settings.reconcile_config(as_of);
    let spinner = crate::output::spinner(cli.quiet, "reconciling: loading, classifying and storing every order");
    let setup = tieout_service::reconcile::ReceiptSetup { rules: &rules, rates };
    let partition_lines = tuning("TIEOUT_RECONCILE_PARTITION_LINES", tieout_service::reconcile::PARTITION_LINES)?;
    let (summary, receipts) = tieout_service::reconcile::reconcile_run_in_parts(
        &mut store,
        &config,
        &text,
        &now_rfc3339(),
        Some(setup),
        partition_lines,
    )?;
    let receipts = receipts.expect("receipts were reconciled");
    let written = auto_write_off(&mut store, &settings)?;
    spinner.finish_and_clear();
    if !cli.quiet {
        print!("{}", crate::output::render_summary(&summary));
        print!("{}", crate::output::render_receipts(&receipts));
        print!("{}", crate::output::render_auto_write_offs(&written));
    }
    let clean = summary.is_clean() && receipts.difference_count() == 0;
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What the system identity wrote off after a run.
pub struct AutoWriteOffs {
    /// Resolutions reopened because the run changed their figures (orders and payouts ↔
    /// receipts).
    pub reopened: usize,
    pub orders: Vec<tieout_service::differences::DifferenceAction>,
    pub receipts: Vec<tieout_service::receipt_differences::ReceiptAction>,
}

/// After a run: reopens resolutions whose figures the run changed, then writes off the small
/// differences (of orders, and of payouts ↔ receipts), under the system identity, within
/// `[write_off].auto` (none configured: none).
pub fn auto_write_off(store: &mut SqliteStore, settings: &tieout_service::config::Settings) -> Result<AutoWriteOffs> {
    let limits = &settings.write_off;
    let auto = |c| limits.limit_minor("auto", c);
    let at = chrono::Utc::now().timestamp();
    let mut reopened = tieout_service::differences::reopen_changed(store, at)?.len();
    reopened += tieout_service::receipt_differences::reopen_changed(store, at)?.len();
    let orders = tieout_service::differences::auto_write_off(store, &auto, at)?;
    let receipts = tieout_service::receipt_differences::auto_write_off(store, &auto, at)?;
    Ok(AutoWriteOffs { reopened, orders, receipts })
}

fn write_report(
    cli: &Cli,
    kind: ReportKind,
    format: Format,
    output: Option<&Path>,
    filter: &Filter,
    as_of: Option<NaiveDate>,
) -> Result<ExitCode> {
    let store = open_store(&cli.db)?;
    if store.latest_run()?.is_none() && !matches!(kind, ReportKind::Settlements) {
        bail!("nothing reconciled yet in {}: run `tieout reconcile` first", cli.db.display());
    }
    let mut alerts = Vec::new();
    let tables = match kind {
        ReportKind::Receivables => {
            let mut tables =
                vec![tieout_service::month_end::receivables_table(&store, filter.period, filter.store.as_deref())?];
            let deferred = tieout_service::month_end::deferred_table(&store, filter.store.as_deref())?;
            if !deferred.rows.is_empty() {
                tables.push(deferred);
            }
            tables
        }
        ReportKind::Aging => {
            let as_of = match as_of {
                Some(date) => date,
                None => store.latest_run()?.map(|r| r.as_of).expect("a run exists (checked above)"),
            };
            let (settings, _) = load_settings(cli.config.as_deref())?;
            let tables = tieout_service::month_end::aging_tables(
                &store,
                as_of,
                settings.aging.alert_after_days,
                filter.store.as_deref(),
            )?;
            alerts = tieout_service::month_end::aging_alerts(&tables[0]);
            tables
        }
        ReportKind::Differences => report::differences_tables(&store, filter)?,
        ReportKind::Orders => vec![report::orders_table(&store, filter)?],
        ReportKind::Settlements => vec![report::settlements_table(&store, filter)?],
        ReportKind::Summary => vec![report::summary_table(&store, filter)?],
        ReportKind::Receipts => vec![report::receipts_table(&store, filter)?],
        ReportKind::Resolutions => {
            let visible = |s: &str| filter.store.as_deref().is_none_or(|wanted| wanted == s);
            vec![tieout_service::differences::resolutions_table(&store, &visible, &|_| None)?]
        }
    };
    let name = format!("{kind:?}").to_lowercase();
    let sources = report::sources(&store)?;
    emit(&tables, format, output, &name, &sources)?;
    if !cli.quiet {
        for alert in &alerts {
            eprintln!("{alert}");
        }
    }
    let differences = matches!(kind, ReportKind::Differences) && tables.iter().any(|t| !t.rows.is_empty());
    Ok(if differences || !alerts.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn explain(cli: &Cli, order_id: &str) -> Result<ExitCode> {
    let store = open_store(&cli.db)?;
    // A settlement id (digits only): its chain settlement → payout → receipt(s).
    if let Ok(settlement_id) = order_id.trim().parse::<u64>() {
        if let Some(text) = report::explain_settlement(&store, settlement_id)? {
            print!("{}", text.0);
            return Ok(if text.1 { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
    }
    let Some(id) = OrderId::parse(order_id) else { bail!("give an order id") };
    let explanation = report::explain(&store, &id)?;
    if explanation.order_rows.is_empty() && explanation.lines.is_empty() {
        bail!("order {id} is in no imported file");
    }
    print!("{}", explanation.render());
    let clean = explanation.result.as_ref().is_some_and(|r| !r.category.is_difference());
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn check(cli: &Cli) -> Result<ExitCode> {
    let store = open_store(&cli.db)?;
    let spinner = crate::output::spinner(cli.quiet, "checking the database's invariants");
    let report = tieout_service::check::check(&store)?;
    spinner.finish_and_clear();
    for finding in &report.findings {
        eprintln!("{}: error: {finding}", cli.db.display());
    }
    if let Some(stale) = &report.stale {
        eprintln!("{}: warning: {stale}", cli.db.display());
    }
    if !cli.quiet {
        for checked in &report.checked {
            println!("checked: {checked}");
        }
        println!(
            "{}",
            if !report.is_ok() {
                format!("{} finding(s): the database is not sound", report.findings.len())
            } else if report.stale.is_some() {
                "sound, but the results are out of date".to_owned()
            } else {
                "all invariants hold".to_owned()
            }
        );
    }
    Ok(if !report.is_ok() {
        ExitCode::from(2)
    } else if report.stale.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn status(cli: &Cli) -> Result<ExitCode> {
    let store = open_store(&cli.db)?;
    println!("database {}", cli.db.display());
    for (table, count) in store.counts()? {
        println!("  {table:<16} {count:>12}");
    }
    for file in store.files()? {
        println!(
            "  file {:>4}  {}  {}  {}  {} records  sha256 {}",
            file.id,
            file.imported_at,
            file.format,
            file.name,
            file.record_count,
            &file.sha256[..16]
        );
    }
    if let Some(run) = store.latest_run()? {
        println!(
            "  last reconcile {} as of {}: {} orders, {} differences",
            run.created_at, run.as_of, run.order_count, run.difference_count
        );
    }
    Ok(ExitCode::SUCCESS)
}
