//! `tieout demo`: generate a month, import it into a fresh database, reconcile, report,
//! and check the classification against the generator's ground truth.
//!
//! Exit code: 0 when the run completed and every order's category equals the ground
//! truth (the demo month has differences by design, so "differences found" is not 1
//! here); 2 on an error or a disagreement.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tieout_core::reconcile::Category;
use tieout_demo::{generate, read_truth, DemoConfig};
use tieout_service::import::ImportOptions;
use tieout_service::report::{self, Filter};

use crate::cli::{import_with_progress, load_settings, now_rfc3339, open_store, read_mapping, read_profile};
use crate::output::{emit, render_summary, Format};

pub fn run(dir: &Path, orders: u64, seed: u64, (year, month): (i32, u32), quiet: bool) -> Result<ExitCode> {
    let say = |text: String| {
        if !quiet {
            eprintln!("{text}");
        }
    };
    let started = Instant::now();
    say(format!("Generating {orders} orders for {year}-{month:02} (seed {seed}) in {} ...", dir.display()));
    let manifest = generate(&DemoConfig { seed, orders, year, month }, dir)
        .map_err(|e| anyhow::anyhow!("cannot generate the demo: {e}"))?;
    say(format!(
        "  {} orders, {} settlement lines in {} settlement files, {:.1} s",
        manifest.order_count,
        manifest.settlement_line_count,
        manifest.stores.iter().map(|s| s.settlement_files.len()).sum::<usize>(),
        started.elapsed().as_secs_f32()
    ));

    let db = dir.join("tieout.db");
    for stale in [db.clone(), dir.join("tieout.db-journal")] {
        if stale.exists() {
            std::fs::remove_file(&stale).with_context(|| format!("cannot remove {}", stale.display()))?;
        }
    }
    let mut store = open_store(&db)?;
    let import_started = Instant::now();
    // One pipeline for every store's files: parsing one file overlaps storing another.
    let imported_at = now_rfc3339();
    let mut options = Vec::new();
    for files in &manifest.stores {
        let orders = ImportOptions {
            store: Some(files.store.clone()),
            mapping: Some(read_mapping(&files.mapping_file)?),
            imported_at: imported_at.clone(),
            profile: None,
        };
        let settlements = ImportOptions { mapping: None, ..orders.clone() };
        options.push((orders, settlements));
    }
    // Where the payouts arrive: bank statements, payment tools, the Alipay account.
    let mut receipt_options = Vec::new();
    for file in &manifest.receipt_files {
        let profile = file.profile.as_deref().map(read_profile).transpose()?;
        receipt_options.push(ImportOptions {
            store: file.store.clone(),
            mapping: None,
            profile,
            imported_at: imported_at.clone(),
        });
    }
    let mut jobs: Vec<(PathBuf, &ImportOptions)> = Vec::new();
    for (file, options) in manifest.receipt_files.iter().zip(&receipt_options) {
        jobs.push((file.path.clone(), options));
    }
    say(format!("Bank, payment-tool and wallet statements: {} files", manifest.receipt_files.len()));
    for (files, (orders, settlements)) in manifest.stores.iter().zip(&options) {
        say(format!(
            "Store {} ({}, {}): an ERP order export and {} settlement files",
            files.store,
            files.marketplace,
            files.currency,
            files.settlement_files.len()
        ));
        jobs.push((files.orders_file.clone(), orders));
        jobs.extend(files.settlement_files.iter().map(|path| (path.clone(), settlements)));
    }
    // The distributor's and the supplier's documents (statements, below), imported with the
    // rest so that the reconciliation run has seen every file.
    let documents_options =
        ImportOptions { store: None, mapping: None, profile: None, imported_at: imported_at.clone() };
    jobs.push((manifest.counterparty_files.documents.clone(), &documents_options));
    // The order exports first (read whole: the store waits for each until it is parsed,
    // so they are best parsed two at a time while nothing else is queued), then the
    // smallest files first: the store starts writing as soon as the first is parsed.
    jobs.sort_by_key(|(path, options)| (options.mapping.is_none(), std::fs::metadata(path).map_or(0, |m| m.len())));
    if !import_with_progress(&mut store, &jobs, quiet)? {
        bail!("demo files were refused (a bug: please report it)");
    }
    say(format!("  imported in {:.1} s", import_started.elapsed().as_secs_f32()));

    let (settings, text) = load_settings(Some(&manifest.config_file))?;
    let config = settings.reconcile_config(manifest.as_of);
    let reconcile_started = Instant::now();
    let spinner = crate::output::spinner(quiet, "reconciling");
    let receipt_rules = tieout_service::rules::ReceiptRules::built_in();
    let setup = tieout_service::reconcile::ReceiptSetup { rules: &receipt_rules, rates: &[] };
    let (summary, receipts) =
        tieout_service::reconcile::reconcile_run(&mut store, &config, &text, &now_rfc3339(), Some(setup))?;
    let receipts = receipts.expect("receipts were reconciled");
    let written = crate::cli::auto_write_off(&mut store, &settings)?;
    spinner.finish_and_clear();
    say(format!("  reconciled in {:.1} s", reconcile_started.elapsed().as_secs_f32()));
    print!("{}", render_summary(&summary));
    print!("{}", crate::output::render_receipts(&receipts));
    print!("{}", crate::output::render_auto_write_offs(&written));

    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).with_context(|| format!("cannot create {}", reports.display()))?;
    let filter = Filter::default();
    let sources = report::sources(&store)?;
    let differences = report::differences_tables(&store, &filter)?;
    let orders_table = report::orders_table(&store, &filter)?;
    let settlements = report::settlements_table(&store, &filter)?;
    let summary_table = report::summary_table(&store, &filter)?;
    emit(&differences, Format::Csv, Some(&reports.join("differences.csv")), "differences", &sources)?;
    let receipts_table = report::receipts_table(&store, &filter)?;
    emit(
        std::slice::from_ref(&receipts_table),
        Format::Csv,
        Some(&reports.join("receipts.csv")),
        "receipts",
        &sources,
    )?;
    emit(std::slice::from_ref(&orders_table), Format::Csv, Some(&reports.join("orders.csv")), "orders", &sources)?;
    emit(
        std::slice::from_ref(&settlements),
        Format::Csv,
        Some(&reports.join("settlements.csv")),
        "settlements",
        &sources,
    )?;
    let receivables = tieout_service::month_end::receivables_table(&store, None, None)?;
    emit(
        std::slice::from_ref(&receivables),
        Format::Csv,
        Some(&reports.join("receivables.csv")),
        "receivables",
        &sources,
    )?;
    let aging = tieout_service::month_end::aging_tables(&store, manifest.as_of, settings.aging.alert_after_days, None)?;
    emit(&aging, Format::Csv, Some(&reports.join("aging.csv")), "aging", &sources)?;
    let resolutions = tieout_service::differences::resolutions_table(&store, &|_| true, &|_| None)?;
    emit(
        std::slice::from_ref(&resolutions),
        Format::Csv,
        Some(&reports.join("resolutions.csv")),
        "resolutions",
        &sources,
    )?;
    // Each automatic write-off is within the limit of its currency.
    let written_off = written.orders.iter().map(|a| (a.order_id.to_string(), &a.currency, a.amount_minor));
    let written_off = written_off.chain(written.receipts.iter().map(|a| (a.key.clone(), &a.currency, a.amount_minor)));
    for (object, currency, amount) in written_off {
        let currency = tieout_core::Currency::from_code(currency.as_deref().unwrap_or(""))?;
        let limit = settings.write_off.limit_minor("auto", currency);
        if !limit.is_some_and(|l| amount.is_some_and(|a| a > 0 && a <= l)) {
            bail!("{object} was written off automatically beyond [write_off].auto (a bug)");
        }
    }
    let mut workbook = vec![summary_table.clone()];
    workbook.extend(differences.iter().cloned());
    workbook.push(receipts_table.clone());
    workbook.push(receivables.clone());
    workbook.extend(aging.iter().cloned());
    workbook.push(settlements);
    emit(&workbook, Format::Xlsx, Some(&reports.join("tieout-demo.xlsx")), "tieout-demo", &sources)?;
    emit(std::slice::from_ref(&summary_table), Format::Table, None, "summary", &sources)?;
    // The month's roll-forward, in the terminal.
    let month_table = tieout_service::month_end::receivables_table(&store, Some((year, month)), None)?;
    let mut brief = tieout_core::table::Table::new(
        format!("Receivables roll-forward {year:04}-{month:02}"),
        &month_table.columns[..10].iter().map(String::as_str).collect::<Vec<_>>(),
    );
    brief.rows = month_table.rows.iter().map(|r| r[..10].to_vec()).collect();
    brief.notes = month_table.notes.clone();
    emit(std::slice::from_ref(&brief), Format::Table, None, "receivables", &sources)?;

    // The generator knows what every order is; the classification must agree exactly.
    let truth = read_truth(&manifest.truth_file).map_err(|e| anyhow::anyhow!("cannot read the ground truth: {e}"))?;
    let expected: HashMap<String, String> = truth.into_iter().map(|(id, _, category)| (id, category)).collect();
    let results = store.order_results(None)?;
    let mut disagreements = Vec::new();
    for result in &results {
        let id = result.order_id.to_string();
        match expected.get(&id) {
            Some(category) if category == result.category.name() => {}
            other => disagreements.push(format!(
                "{id}: tieout says {}, the generator says {}",
                result.category.name(),
                other.map_or("(unknown order)", String::as_str)
            )),
        }
    }
    if results.len() != expected.len() {
        disagreements.push(format!(
            "tieout classified {} orders, the generator made {}",
            results.len(),
            expected.len()
        ));
    }
    disagreements.extend(check_receipts(&store, &manifest.receipts_truth_file)?);
    disagreements.extend(check_receivables(&receivables, &manifest.receivables_truth_file)?);
    disagreements.extend(demo_statements(&mut store, &manifest, &settings, &reports, quiet)?);
    let example = results
        .iter()
        .find(|r| r.category == Category::AmountMismatch)
        .or_else(|| results.iter().find(|r| r.category.is_difference()));
    println!();
    println!("Reports written to {}:", reports.display());
    println!(
        "  differences.csv (+ differences.inconsistent_settlements.csv), orders.csv, settlements.csv, receipts.csv, resolutions.csv, receivables.csv, aging.csv (+ aging.not_transferred.csv), tieout-demo.xlsx, statement-*.xlsx and statement-*.html (往来对账单)"
    );
    if let Some(example) = example {
        println!("Explain one difference:  tieout --db {} explain {}", db.display(), example.order_id);
    }
    println!("Total time {:.1} s.", started.elapsed().as_secs_f32());
    if disagreements.is_empty() {
        println!(
            "Check: all {} orders, every payout and receipt, and the roll-forward of every store and month agree with the generator's ground truth.",
            results.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for line in disagreements.iter().take(20) {
            eprintln!("  {line}");
        }
        eprintln!("Check FAILED: {} result(s) disagree with the ground truth.", disagreements.len());
        Ok(ExitCode::from(2))
    }
}

/// Compares the roll-forward with the generator's, to the cent, for every store, currency
/// and month.
fn check_receivables(table: &tieout_core::table::Table, truth_file: &Path) -> Result<Vec<String>> {
    use tieout_core::table::Cell;
    let truth = tieout_demo::read_receivables_truth(truth_file)
        .map_err(|e| anyhow::anyhow!("cannot read the receivables truth: {e}"))?;
    let mut got: HashMap<(String, String, String), [i64; 7]> = HashMap::new();
    for row in &table.rows {
        let mut amounts = [0i64; 7];
        for (slot, cell) in amounts.iter_mut().zip(&row[3..10]) {
            *slot = match cell {
                Cell::Money { amount_minor, .. } => *amount_minor,
                _ => 0,
            };
        }
        got.insert((row[0].plain(), row[1].plain(), row[2].plain()), amounts);
    }
    let mut disagreements = Vec::new();
    for expected in &truth {
        let key = (expected.store.clone(), expected.currency.clone(), expected.month.clone());
        match got.remove(&key) {
            Some(amounts) if amounts == expected.amounts_minor => {}
            found => disagreements.push(format!(
                "roll-forward {} {} {}: tieout says {:?}, the generator says {:?} (opening, sales, refunds, fees, other, transfers, closing)",
                key.0, key.1, key.2, found, expected.amounts_minor
            )),
        }
    }
    for key in got.keys() {
        disagreements
            .push(format!("roll-forward {} {} {}: tieout has a row the generator has not", key.0, key.1, key.2));
    }
    disagreements.sort();
    Ok(disagreements)
}

/// Compares the stored payout ↔ receipt results with the generator's receipts truth:
/// every payout's status (by settlement id), every withdrawal's (by the withdrawal's ref)
/// and every unexpected receipt (by its ref).
fn check_receipts(store: &tieout_service::SqliteStore, truth_file: &Path) -> Result<Vec<String>> {
    use tieout_demo::ReceiptTruthKind;
    let truth = tieout_demo::read_receipts_truth(truth_file)
        .map_err(|e| anyhow::anyhow!("cannot read the receipts truth: {e}"))?;
    let mut got: HashMap<String, String> = HashMap::new();
    for row in store.receipt_results()? {
        for settlement in &row.settlements {
            got.insert(format!("payout {}", settlement.settlement_id), row.status.name().to_owned());
        }
        for withdrawal in &row.withdrawals {
            got.insert(format!("withdrawal {}", withdrawal.entry_ref), row.status.name().to_owned());
        }
        if row.settlements.is_empty() && row.withdrawals.is_empty() {
            for receipt in &row.receipts {
                got.insert(format!("receipt {}", receipt.entry_ref), row.status.name().to_owned());
            }
        }
    }
    let mut disagreements = Vec::new();
    for expected in &truth {
        let key = match expected.kind {
            ReceiptTruthKind::Payout => format!("payout {}", expected.id),
            ReceiptTruthKind::Receipt => format!("receipt {}", expected.id),
            ReceiptTruthKind::Withdrawal => format!("withdrawal {}", expected.id),
        };
        let status = expected.status.name();
        match got.remove(&key) {
            Some(found) if found == status => {}
            found => disagreements.push(format!(
                "{key}: tieout says {}, the generator says {status}",
                found.as_deref().unwrap_or("(nothing)")
            )),
        }
    }
    for (key, status) in got {
        disagreements.push(format!("{key}: tieout says {status}, the generator has no such row"));
    }
    disagreements.sort();
    Ok(disagreements)
}

/// Statements with a distributor and a supplier (往来对账单) in different states: the
/// previous month's distributor statement reviewed, paid and closed; this month's submitted,
/// matched against the distributor's own statement (a few cents written off by the system,
/// the rest left to resolve), reviewed and partially paid; the supplier's still a draft.
/// Returns what disagrees with that plan.
fn demo_statements(
    store: &mut tieout_service::SqliteStore,
    manifest: &tieout_demo::DemoManifest,
    settings: &tieout_service::config::Settings,
    reports: &Path,
    quiet: bool,
) -> Result<Vec<String>> {
    use tieout_core::counterparty::{Side, State};
    use tieout_service::statements;
    use tieout_service::team::Role;
    let files = &manifest.counterparty_files;
    let at = chrono::Utc::now().timestamp();
    let last_day = |first: chrono::NaiveDate| {
        first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first)
    };
    let usd = tieout_core::Currency::from_code("USD").expect("USD");
    let cny = tieout_core::Currency::from_code("CNY").expect("CNY");
    let (previous, month) = (files.previous_month, files.month);
    let earlier = statements::draw_up(
        store,
        tieout_demo::counterparties::DISTRIBUTOR,
        Side::Receivable,
        usd,
        previous,
        last_day(previous),
        Role::Clerk,
        None,
        at,
    )?;
    statements::transition(store, earlier, State::PendingReview, Role::Clerk, at)?;
    statements::transition(store, earlier, State::Reviewed, Role::Accountant, at)?;
    statements::transition(store, earlier, State::Closed, Role::Approver, at)?;
    let current = statements::draw_up(
        store,
        tieout_demo::counterparties::DISTRIBUTOR,
        Side::Receivable,
        usd,
        month,
        last_day(month),
        Role::Clerk,
        None,
        at,
    )?;
    statements::transition(store, current, State::PendingReview, Role::Clerk, at)?;
    let bytes = std::fs::read(&files.distributor_statement)?;
    let meta = statements::counterparty_meta(
        "distributor-statement.csv",
        &format!("demo-{}", current),
        bytes.len() as u64,
        at,
    );
    let automatic = match statements::import_theirs(store, current, &meta, &bytes, &settings.write_off, at)? {
        Ok(count) => count,
        Err(diagnostics) => bail!("the demo's distributor statement was refused: {diagnostics:?}"),
    };
    statements::transition(store, current, State::Reviewed, Role::Accountant, at)?;
    let supplier = statements::draw_up(
        store,
        tieout_demo::counterparties::SUPPLIER,
        Side::Payable,
        cny,
        month,
        last_day(month),
        Role::Clerk,
        None,
        at,
    )?;
    let mut disagreements = Vec::new();
    for (id, expected) in [(earlier, "closed"), (current, "partially_paid"), (supplier, "draft")] {
        let view = statements::view(store, id)?;
        if view.state != expected {
            disagreements.push(format!(
                "statement {id} of {} is {}, the demo planned {expected}",
                view.counterparty, view.state
            ));
        }
        let table = statements::table(&view);
        emit(
            std::slice::from_ref(&table),
            Format::Xlsx,
            Some(&reports.join(format!("statement-{id}.xlsx"))),
            "statement",
            &[],
        )?;
        std::fs::write(reports.join(format!("statement-{id}.html")), statements::print_view(&view, "Acme Trading"))?;
        if !quiet {
            println!(
                "Statement {id} {} ({}) {} – {}: {}  due {} {}  paid {}  balance {}{}",
                view.counterparty,
                view.side,
                view.period_start,
                view.period_end,
                view.state,
                view.due,
                view.currency,
                view.paid,
                view.balance,
                if view.differences.is_empty() {
                    String::new()
                } else {
                    format!("  — {} difference(s) with their statement", view.differences.len())
                }
            );
        }
    }
    let open = statements::view(store, current)?.differences.iter().filter(|d| d.resolution.is_none()).count();
    if automatic != 1 || open != 2 {
        disagreements.push(format!(
            "the distributor's statement: {automatic} written off automatically and {open} open, the demo planned 1 and 2"
        ));
    }
    Ok(disagreements)
}
