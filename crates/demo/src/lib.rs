//! tieout-demo: a seeded generator of a realistic e-commerce month, in the real file
//! formats tieout reads, with the ground truth of how tieout must classify every order.
//!
//! What it is: [`generate`] writes, for three stores (Amazon US, DE and UK), an ERP
//! order export with its column mapping, Amazon settlement flat files (V2) for every
//! settlement period (14 days; 7 for a store of more than 3 million orders, so no file
//! passes tieout's 2 GiB limit) from the one holding the month start to the last one
//! with a posted date, the same settlements as an Amazon Date Range transaction report
//! (`<store>/transactions/<store>-transactions.csv`, in the store's language: one row per
//! item's order or refund, per account line and per payout; see the `transactions`
//! module), the fee schedule (`tieout.toml`), and `truth.csv` — the category each order
//! must get under the rules of `tieout_core::reconcile`, anomalies injected at known
//! rates — with `receivables-truth.csv`, the roll-forward per store and month. It also
//! writes where each settlement's payout arrives — bank and wallet statements in `bank/`
//! (camt.053, MT940, Payoneer and LianLian CSV, an Alipay 账务明细) — with
//! `receipts-truth.csv`, each payout's known outcome (see the `receipts` module). The
//! same [`DemoConfig`] gives byte-identical files, forever: randomness is a hand-written
//! SplitMix64, and every order is a pure function of (seed, store, index).
//!
//! What it is not: not a reader or a reconciler (it never parses what it writes, except
//! in its tests), and not a model of Amazon's fee tables; rates are flat per store.
//!
//! Memory stays flat at any size: orders are regenerated rather than kept, in two passes
//! (one to total each settlement, whose total precedes its lines, one to write).

pub mod counterparties;
mod erp;
mod model;
mod receipts;
mod receivables;
mod rng;
mod settlement;
mod text;
mod transactions;

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use thiserror::Error;
use tieout_core::reconcile::Category;

use crate::erp::{mapping_toml, ErpWriter};
use crate::model::{Plan, StorePlan, STORES};
use crate::receivables::Tee;
use crate::settlement::{emit_order, plan_settlements, Output, PeriodTotals, Settlement, SettlementWriter, Totals};
use crate::text::SECONDS_PER_DAY;
use crate::transactions::TransactionReportWriter;

pub use crate::receipts::{
    read_receipts_truth, ReceiptFile, ReceiptStatus, ReceiptTruth, ReceiptTruthKind, RECEIPTS_TRUTH_HEADER,
};
pub use crate::receivables::{read_receivables_truth, ReceivablesTruth, RECEIVABLES_TRUTH_HEADER};

/// Fewest and most orders a demo month may have.
pub const ORDERS_MIN: u64 = 1_000;
pub const ORDERS_MAX: u64 = 10_000_000;

/// What to generate: a month of `orders` orders (all stores together).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    pub seed: u64,
    /// `ORDERS_MIN..=ORDERS_MAX`.
    pub orders: u64,
    pub year: i32,
    pub month: u32,
}

/// One store's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFiles {
    pub store: String,
    /// The marketplace as the ERP export and the fee schedule write it (`Amazon.co.uk`;
    /// settlement files may differ in case: `amazon.co.uk`).
    pub marketplace: String,
    pub currency: String,
    pub orders_file: PathBuf,
    pub mapping_file: PathBuf,
    /// One V2 flat file per settlement period, in period order.
    pub settlement_files: Vec<PathBuf>,
    /// `<store>/transactions/<store>-transactions.csv`: the Amazon Date Range transaction
    /// report of every settlement in `settlement_files`, in the store's language (US and
    /// UK English, German), with the same lines and one payout (`Transfer`) row per
    /// settlement with a deposit date. See the `transactions` module for the row mapping.
    pub transaction_report: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoManifest {
    /// Per store: its ERP export and mapping, its settlement files and its transaction
    /// report (the same settlements in two formats: import either, or both).
    pub stores: Vec<StoreFiles>,
    /// `tieout.toml`: the fee schedules to reconcile with.
    pub config_file: PathBuf,
    /// `truth.csv`: `order_id,store,category`, one row per order id.
    pub truth_file: PathBuf,
    /// The as-of date to reconcile at: 3 days after the last settlement period ends.
    pub as_of: NaiveDate,
    /// Settlements whose lines do not sum to their total: (settlement id, total − sum of
    /// lines, in minor units).
    pub inconsistent_settlements: Vec<(u64, i64)>,
    /// Orders generated (including those only the settlements know).
    pub order_count: u64,
    /// Amount lines written in all settlement files (not counting headers and summary rows).
    pub settlement_line_count: u64,
    /// The bank and wallet statements the payouts arrive in (`bank/`), in this order:
    /// camt.053 (acme-de), MT940 (acme-uk), Payoneer CSV and LianLian CSV (acme-us),
    /// Alipay 账务明细 (no store). See the `receipts` module for what is in them.
    pub receipt_files: Vec<ReceiptFile>,
    /// `receipts-truth.csv`: every expected payout's outcome and every unexpected
    /// receipt, with the file and line of its credit (read with [`read_receipts_truth`]).
    pub receipts_truth_file: PathBuf,
    /// `receivables-truth.csv`: the roll-forward per store and month (read with
    /// [`read_receivables_truth`]; see the `receivables` module for its rule).
    pub receivables_truth_file: PathBuf,
    /// A distributor's and a supplier's documents, and the distributor's own statement
    /// (see the `counterparties` module).
    pub counterparty_files: counterparties::CounterpartyFiles,
}

#[derive(Debug, Error)]
pub enum DemoError {
    #[error("invalid demo configuration: {0}")]
    InvalidConfig(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Truth { path: PathBuf, line: usize, message: String },
}

impl DemoError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> DemoError {
        DemoError::Io { path: path.to_owned(), source }
    }
}

pub(crate) fn days_since_epoch(date: NaiveDate) -> i64 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")).num_days()
}

/// The as-of date is this many days after the last settlement period ends.
const AS_OF_DAYS_AFTER_LAST_PERIOD: i64 = 3;

/// Generates the demo month into `out_dir` (created if missing). Settlement files left
/// in `<store>/settlements/` by an earlier run (names of 11 digits + `.txt`) are removed
/// first, so the directory holds exactly this month.
pub fn generate(config: &DemoConfig, out_dir: &Path) -> Result<DemoManifest, DemoError> {
    let PlannedMonth { plan, settlements, inconsistent_settlements } = plan_month(config)?;

    let mut stores = Vec::with_capacity(plan.stores.len());
    let truth_file = out_dir.join("truth.csv");
    create_dir(out_dir)?;
    let mut truth = Output::create(&truth_file)?;
    truth.buffer.extend_from_slice(b"order_id,store,category\n");
    let mut settlement_line_count = 0;
    let mut movements = Vec::new();
    for (store, store_settlements) in plan.stores.iter().zip(&settlements) {
        let (files, lines, store_movements) = write_store(&plan, store, store_settlements, out_dir, &mut truth)?;
        stores.push(files);
        settlement_line_count += lines;
        movements.push((store.spec.name, store.spec.currency, store_movements));
    }
    let receivables_truth_file = out_dir.join("receivables-truth.csv");
    receivables::write_truth(&receivables_truth_file, &movements)?;
    truth.finish()?;

    let receipts = receipts::write(&plan, &settlements, out_dir)?;
    let first_day = NaiveDate::from_ymd_opt(config.year, config.month, 1).expect("checked by month_bounds");
    let counterparty_files = counterparties::write(config.seed, first_day, out_dir)?;

    let config_file = out_dir.join("tieout.toml");
    write_text(&config_file, &fee_config(config))?;
    write_text(&out_dir.join("README.txt"), &readme(config, &plan, &settlements))?;
    let last_end = settlements.iter().flatten().map(|s| s.end).max().expect("settlements");
    let as_of = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")
        + chrono::Duration::days(last_end.div_euclid(SECONDS_PER_DAY) + AS_OF_DAYS_AFTER_LAST_PERIOD);
    Ok(DemoManifest {
        stores,
        config_file,
        truth_file,
        as_of,
        inconsistent_settlements,
        order_count: config.orders,
        settlement_line_count,
        receipt_files: receipts.files,
        receipts_truth_file: receipts.truth_file,
        receivables_truth_file,
        counterparty_files,
    })
}

/// A month before its files are written.
struct PlannedMonth {
    plan: Plan,
    /// Per store, in [`STORES`] order.
    settlements: Vec<Vec<Settlement>>,
    /// The settlement that leaves out a line: (settlement id, total − sum of lines).
    inconsistent_settlements: Vec<(u64, i64)>,
}

/// The month `config` describes: its plan and every store's settlements (pass 1 totals
/// them: the summary row comes before the lines), one of them leaving out a line.
fn plan_month(config: &DemoConfig) -> Result<PlannedMonth, DemoError> {
    let (month_start, next_month_start) = month_bounds(config)?;
    let plan = Plan::new(config.seed, config.orders, month_start, next_month_start);
    let mut settlements: Vec<Vec<Settlement>> =
        plan.stores.iter().map(|store| plan_settlements(&plan, store, &first_pass(&plan, store))).collect();
    let inconsistent_settlements = omit_one_account_line(&plan, &mut settlements);
    Ok(PlannedMonth { plan, settlements, inconsistent_settlements })
}

/// One store's part of a month, apart from the files [`generate`] writes.
#[cfg(test)]
pub(crate) struct StoreMonth {
    pub(crate) plan: Plan,
    pub(crate) store: StorePlan,
    pub(crate) settlements: Vec<Settlement>,
}

/// `spec`'s part of the month `config` describes. For a store of [`STORES`], exactly what
/// [`generate`] makes of it (the same orders and settlements, the one omitted line
/// included). A store outside them (the test-only `model::JP_STORE`) is an extra store
/// after them, with its share of `config.orders` as orders of its own, numbered after
/// every other store's (so no order id or item code repeats one of theirs); its
/// settlements are planned as any store's, and leave out no line.
#[cfg(test)]
pub(crate) fn store_month(config: &DemoConfig, spec: &'static model::StoreSpec) -> Result<StoreMonth, DemoError> {
    let PlannedMonth { plan, settlements, .. } = plan_month(config)?;
    match plan.stores.iter().position(|store| std::ptr::eq(store.spec, spec)) {
        Some(index) => {
            let store = plan.stores[index].clone();
            let settlements = settlements.into_iter().nth(index).expect("settlements per store");
            Ok(StoreMonth { plan, store, settlements })
        }
        None => {
            let store = plan.extra_store(spec);
            let settlements = plan_settlements(&plan, &store, &first_pass(&plan, &store));
            Ok(StoreMonth { plan, store, settlements })
        }
    }
}

/// Unix seconds of the month's first instant and of the next month's.
fn month_bounds(config: &DemoConfig) -> Result<(i64, i64), DemoError> {
    if !(ORDERS_MIN..=ORDERS_MAX).contains(&config.orders) {
        return Err(DemoError::InvalidConfig(format!(
            "orders must be {ORDERS_MIN}..={ORDERS_MAX}, not {}",
            config.orders
        )));
    }
    if !(2000..=2100).contains(&config.year) {
        return Err(DemoError::InvalidConfig(format!("year must be 2000..=2100, not {}", config.year)));
    }
    let first = NaiveDate::from_ymd_opt(config.year, config.month, 1)
        .ok_or_else(|| DemoError::InvalidConfig(format!("month must be 1..=12, not {}", config.month)))?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .expect("a valid month");
    Ok((days_since_epoch(first) * SECONDS_PER_DAY, days_since_epoch(next) * SECONDS_PER_DAY))
}

/// Sums each period's order lines. Periods run from the one holding the month start to
/// the later of the last one with a line and the one holding the month's end.
fn first_pass(plan: &Plan, store: &StorePlan) -> Vec<PeriodTotals> {
    let mut totals = Totals { periods: vec![PeriodTotals::default(); store.last_possible_period + 1] };
    for k in 0..store.orders {
        let order = plan.order(store, k);
        emit_order(store, &order, &mut totals).expect("totals never fail");
    }
    let last_with_lines = totals.periods.iter().rposition(|t| t.lines > 0).unwrap_or(0);
    let last = last_with_lines.max(store.period_of(plan.next_month_start - 1));
    totals.periods.truncate(last + 1);
    totals.periods
}

/// Amazon sometimes omits a line from a settlement file while the total still counts it.
/// Exactly one settlement of the month (chosen by the seed) leaves out its storage fee.
fn omit_one_account_line(plan: &Plan, settlements: &mut [Vec<Settlement>]) -> Vec<(u64, i64)> {
    let count: usize = settlements.iter().map(Vec::len).sum();
    if count < 2 {
        return Vec::new();
    }
    let mut chosen = (rng::hash2(plan.seed, 0x0bad_5e77) % count as u64) as usize;
    for store_settlements in settlements.iter_mut() {
        if chosen < store_settlements.len() {
            let settlement = &mut store_settlements[chosen];
            let storage_fee = settlement
                .account_lines
                .iter_mut()
                .find(|l| l.description == "Storage Fee")
                .expect("every settlement has a storage fee");
            storage_fee.omitted = true;
            return vec![(settlement.id, settlement.difference_minor())];
        }
        chosen -= store_settlements.len();
    }
    unreachable!("chosen below the count")
}

/// Pass 2 for one store: its settlement files, transaction report, ERP export, mapping,
/// and truth rows.
fn write_store(
    plan: &Plan,
    store: &StorePlan,
    settlements: &[Settlement],
    out_dir: &Path,
    truth: &mut Output,
) -> Result<(StoreFiles, u64, receivables::Months), DemoError> {
    let spec = store.spec;
    let store_dir = out_dir.join(spec.name);
    let settlement_dir = store_dir.join("settlements");
    create_dir(&settlement_dir)?;
    remove_stale_settlements(&settlement_dir)?;
    let orders_file = store_dir.join("orders.csv");
    let mapping_file = store_dir.join("orders-mapping.toml");

    let transaction_dir = store_dir.join("transactions");
    create_dir(&transaction_dir)?;
    let transaction_report = transaction_dir.join(format!("{}-transactions.csv", spec.name));

    let mut writer = SettlementWriter::create(spec, settlements, &settlement_dir)?;
    let mut report = TransactionReportWriter::create(
        spec,
        spec.transaction_report,
        spec.settlement_marketplace,
        settlements,
        &transaction_report,
    )?;
    let month_end = plan.next_month_start - SECONDS_PER_DAY;
    let mut erp = ErpWriter::create(spec, Output::create(&orders_file)?, plan.month_start, month_end)?;
    let mut movements = receivables::Movements::new();
    for k in 0..store.orders {
        let order = plan.order(store, k);
        emit_order(store, &order, &mut Tee(&mut writer, &mut Tee(&mut movements, &mut report)))?;
        erp.write_order(store, &order)?;
        text::push_order_id(&mut truth.buffer, order.id);
        truth.buffer.push(b',');
        truth.buffer.extend_from_slice(spec.name.as_bytes());
        truth.buffer.push(b',');
        truth.buffer.extend_from_slice(order.category.name().as_bytes());
        truth.buffer.push(b'\n');
        truth.line_done()?;
    }
    erp.out.finish()?;
    let lines = writer.finish(settlements)?;
    report.finish()?;
    write_text(&mapping_file, &mapping_toml(spec))?;

    let files = StoreFiles {
        store: spec.name.to_owned(),
        marketplace: spec.marketplace.to_owned(),
        currency: spec.currency.to_owned(),
        orders_file,
        mapping_file,
        settlement_files: settlements.iter().map(|s| settlement_dir.join(format!("{}.txt", s.id))).collect(),
        transaction_report,
    };
    movements.add_settlements(settlements);
    Ok((files, lines, movements.months))
}

fn create_dir(path: &Path) -> Result<(), DemoError> {
    fs::create_dir_all(path).map_err(|source| DemoError::io(path, source))
}

fn remove_stale_settlements(directory: &Path) -> Result<(), DemoError> {
    let entries = fs::read_dir(directory).map_err(|source| DemoError::io(directory, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| DemoError::io(directory, source))?;
        let name = entry.file_name();
        let stale = name
            .to_str()
            .and_then(|n| n.strip_suffix(".txt"))
            .is_some_and(|stem| stem.len() == 11 && stem.bytes().all(|b| b.is_ascii_digit()));
        if stale {
            fs::remove_file(entry.path()).map_err(|source| DemoError::io(&entry.path(), source))?;
        }
    }
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<(), DemoError> {
    fs::write(path, text).map_err(|source| DemoError::io(path, source))
}

fn fee_config(config: &DemoConfig) -> String {
    let mut text = format!(
        "# tieout configuration for the demo month {:04}-{:02} (tieout-demo, seed {}).\n\
         # Fee schedules the settlements were generated with; tolerances are zero, so every\n\
         # overcharge the generator injected is a fee anomaly.\n\
         [reconcile]\n\
         amount_tolerance_minor = 0\n",
        config.year, config.month, config.seed
    );
    for spec in &STORES {
        text.push_str(&format!(
            "\n[[fees]]\n\
             store = \"{}\"\n\
             marketplace = \"{}\"\n\
             referral_rate_basis_points = {}\n\
             fba_fee_per_unit_minor = {}\n\
             tolerance_minor = 0\n",
            spec.name, spec.marketplace, spec.referral_rate_basis_points, spec.fba_fee_per_unit_minor
        ));
    }
    text.push_str(
        "\n# The largest statement difference each role may write off, per currency; differences\n\
         # up to `auto` are written off by the system when a counterparty's statement is imported.\n\
         [write_off]\n\
         accountant = { USD = \"10.00\", CNY = \"50.00\" }\n\
         approver = { USD = \"100.00\", CNY = \"500.00\" }\n\
         admin = { USD = \"1000.00\", CNY = \"5000.00\" }\n\
         auto = { USD = \"0.50\", CNY = \"2.00\" }\n",
    );
    text
}

fn readme(config: &DemoConfig, plan: &Plan, settlements: &[Vec<Settlement>]) -> String {
    let mut text = format!(
        "tieout demo month {:04}-{:02}: {} orders, seed {} (generated by tieout-demo; the same\n\
         seed and size always give the same bytes).\n\n\
         Files\n\
         -----\n\
         tieout.toml                      fee schedules (referral rate, FBA fee per unit) per store\n\
         truth.csv                        order_id,store,category: how tieout must classify each order\n\
         <store>/orders.csv               the ERP's order export, one row per order item\n\
         <store>/orders-mapping.toml      how to read that export (columns, delimiter, notation)\n\
         <store>/settlements/<id>.txt     Amazon settlement reports, flat file V2, one per settlement period\n\
         <store>/transactions/<store>-transactions.csv\n\
         \x20                                the same settlements as an Amazon Date Range transaction report\n\
         \x20                                (CSV, the store's language; a Transfer row per payout)\n\
         receipts-truth.csv               each payout's outcome (received, short, late, missing, converted) and\n\
         \x20                                the unexpected receipts, with the file and line of each credit\n\
         bank/de-camt053.xml              acme-de's bank statement, camt.053.001.02, one Stmt per month\n\
         bank/uk-mt940.sta                acme-uk's bank statement, MT940, one message per month\n\
         bank/us-payoneer.csv             acme-us's Payoneer USD receipts (import with --profile payoneer)\n\
         bank/us-lianlian-cny.csv         one acme-us payout received in CNY (--profile bank/lianlian-profile.toml)\n\
         bank/alipay-cny.csv              an Alipay merchant statement (GBK): transfers from LianLian\n\
         counterparties/documents.csv     a distributor's invoices, refund and payments, a supplier's purchases\n\
         counterparties/distributor-statement.csv  the distributor's own statement of the month (往来对账单)\n\n\
         Stores\n\
         ------\n",
        config.year, config.month, config.orders, config.seed
    );
    for (store, store_settlements) in plan.stores.iter().zip(settlements) {
        let spec = store.spec;
        let style = spec.locale.date_style();
        text.push_str(&format!(
            "{:<8} {:>9} orders, {} {}, {} settlements of {} days ({} to {}){}\n",
            spec.name,
            store.orders,
            spec.settlement_marketplace,
            spec.currency,
            store_settlements.len(),
            store.period_seconds / SECONDS_PER_DAY,
            settlement::date_text(store_settlements[0].start, style),
            settlement::date_text(store_settlements[store_settlements.len() - 1].end, style),
            match spec.locale {
                model::Locale::German =>
                    "; decimal comma (a few amounts with a dot), dd.mm.yyyy dates; ERP export with BOM, title rows, ';' and German statuses",
                model::Locale::English => "",
            }
        ));
    }
    text.push_str(
        "\nWhat is in it\n\
         -------------\n\
         Orders are purchased through the month and shipped 0-3 days later; each item settles in\n\
         the period of its shipment (Principal, sometimes Shipping and a Promotion, Commission,\n\
         FBA fee for Amazon-fulfilled items, and in the US the facilitator tax pair). About 4 % of\n\
         orders are refunded 3-20 days after shipping. Every settlement also has account lines\n\
         (storage fee, subscription fee at a month's start, reserve held and released), and\n\
         periods cross the month's start and end.\n\n\
         Injected, per order, at most one anomaly: not_due ~3 %, shipped_not_settled ~1 %,\n\
         settled_not_in_orders ~0.5 %, cancelled_but_settled ~0.3 %, duplicate_settlement_line\n\
         ~0.2 %, refunded_not_written_off ~1 %, amount_mismatch ~0.5 %, fee_anomaly ~0.5 %; the\n\
         rest are matched (including refunds the ERP wrote off). One settlement leaves out its\n\
         storage fee line while its total still counts it, as Amazon's files sometimes do.\n\n\
         Every settlement with a positive total is a payout of its total on its deposit date. The US\n\
         store's first payout arrives converted to CNY (LianLian, at 7.1234); of the others, taken\n\
         round-robin over DE, UK and US, the first is missing, the second arrives short (a fee of\n\
         1.00-50.00), the third 6-15 days late; the rest arrive in full 0-2 days after the deposit date.\n\
         The camt.053 also holds rent, fees, a supplier refund (not payouts) and one Amazon credit for a\n\
         settlement that does not exist; the Alipay transfers match no payout either.\n",
    );
    text
}

/// Reads a truth file: (order id as printed, store, category name) per row.
pub fn read_truth(path: &Path) -> Result<Vec<(String, String, String)>, DemoError> {
    let text = fs::read_to_string(path).map_err(|source| DemoError::io(path, source))?;
    let error = |line: usize, message: String| DemoError::Truth { path: path.to_owned(), line, message };
    let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line));
    match lines.next() {
        Some((_, "order_id,store,category")) => {}
        Some((line, other)) => {
            return Err(error(line, format!("expected the header 'order_id,store,category', found '{other}'")))
        }
        None => return Err(error(1, "empty file: expected the header 'order_id,store,category'".to_owned())),
    }
    let mut rows = Vec::new();
    for (line, row) in lines {
        if row.is_empty() {
            continue;
        }
        let mut fields = row.split(',');
        let (Some(order_id), Some(store), Some(category), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(error(line, format!("expected 3 fields, found '{row}'")));
        };
        if Category::from_name(category).is_none() {
            return Err(error(line, format!("unknown category '{category}'")));
        }
        rows.push((order_id.to_owned(), store.to_owned(), category.to_owned()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
