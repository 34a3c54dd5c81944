//! `tieout statement`: statements with counterparties (往来对账单) from the command line,
//! on the team server's data (`--data-dir` or `--database`), acting as a user of a tenant
//! (whose role decides what is allowed; every change goes to the audit log).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use tieout_core::counterparty::{Side, State};
use tieout_core::money::Currency;
use tieout_service::statements;
use tieout_service::team::Role;

use crate::team::{backend, now, tenant_id, ServerArgs};

#[derive(Args, Debug)]
pub struct StatementArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The tenant (its slug).
    #[arg(long, global = true, default_value = "")]
    tenant: String,
    /// The user acting (e-mail); their role decides what is allowed.
    #[arg(long = "user", global = true, default_value = "")]
    user: String,
    #[command(subcommand)]
    action: StatementAction,
}

#[derive(Subcommand, Debug)]
pub enum StatementAction {
    /// Import documents (invoices, refunds, payments, purchases …: a documents CSV or XLSX);
    /// payments among them pay the reviewed statements they belong to.
    ImportDocuments {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Documents mapping (TOML, `[source] kind = "documents"`) for an ERP export whose
        /// headers are not tieout's.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
    },
    /// Draw up a statement (a draft) from the counterparty's documents of a period.
    DrawUp {
        #[arg(long)]
        counterparty: String,
        /// receivable (a customer) or payable (a supplier).
        #[arg(long)]
        side: String,
        #[arg(long)]
        currency: String,
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
    },
    /// Every statement with its state and totals.
    List,
    /// One statement: lines, totals, differences with the counterparty's statement.
    Show { id: i64 },
    /// Move a statement: pending_review, draft, reviewed, closed, void.
    Transition { id: i64, to: String },
    /// Import the counterparty's own statement (a documents CSV) and match it line by line.
    ImportTheirs { id: i64, file: PathBuf },
    /// Accept, adjust or write off the difference on one document.
    Resolve {
        id: i64,
        number: String,
        /// accept, adjust or write_off.
        kind: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Write a statement as XLSX, CSV or a printable page (html).
    Export {
        id: i64,
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long, short)]
        output: PathBuf,
    },
}

pub fn run(args: &StatementArgs, settings: &tieout_service::config::Settings) -> Result<ExitCode> {
    if args.tenant.is_empty() || args.user.is_empty() {
        bail!("name the tenant and the acting user: tieout statement --tenant SLUG --user EMAIL ...");
    }
    let backend = backend(&args.server)?;
    let tenant = tenant_id(&backend, &args.tenant)?;
    let mut control = backend.control()?;
    let Some(user) = control.user_by_email(tenant, &args.user.trim().to_lowercase())? else {
        bail!("no user {} in tenant {}", args.user, args.tenant);
    };
    let role = Role::parse(&user.role).with_context(|| format!("user {} has an unknown role", user.email))?;
    let tenant_name = control.tenant(tenant)?.map(|t| t.name).unwrap_or_default();
    let mut store = backend.tenant_store(tenant)?;
    let at = now();
    let mut audit = |action: &str, id: i64, after: serde_json::Value| -> Result<()> {
        tieout_service::audit::record(
            control.as_mut(),
            tenant,
            Some((user.id, &user.display_name)),
            action,
            "statement",
            &id.to_string(),
            None,
            Some(after),
            at,
        )?;
        Ok(())
    };
    match &args.action {
        StatementAction::ImportDocuments { files, mapping } => {
            if !role.allows(tieout_service::team::Action::Import) {
                bail!("the role {} may not import (clerk or above)", role.name());
            }
            let mapping = match mapping {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read mapping {}", path.display()))?;
                    let mapping: tieout_formats::ledger_mapping::DocumentMapping =
                        tieout_formats::mapping::parse_mapping(&path.display().to_string(), &text)
                            .map_err(|d| anyhow::anyhow!("{d}"))?;
                    Some(mapping.into())
                }
            };
            let options = tieout_service::import::ImportOptions {
                store: None,
                mapping,
                profile: None,
                imported_at: crate::cli::now_rfc3339(),
            };
            let reports = tieout_service::import::import_files(store.as_mut(), files, &options, &mut |_, _| {})?;
            let mut refused = false;
            for report in &reports {
                match &report.outcome {
                    tieout_service::import::Outcome::Imported { summary, warnings, .. } => {
                        println!("{}: {summary}", report.path.display());
                        for warning in warnings {
                            eprintln!("  {warning}");
                        }
                    }
                    tieout_service::import::Outcome::AlreadyImported { previous, .. } => {
                        println!("{}: already imported as {}", report.path.display(), previous.name);
                    }
                    tieout_service::import::Outcome::Refused { diagnostics, .. } => {
                        refused = true;
                        for diagnostic in diagnostics {
                            eprintln!("{diagnostic}");
                        }
                    }
                }
            }
            let changed = statements::apply_waiting_payments(store.as_mut(), at)?;
            if changed > 0 {
                println!("payments applied: {changed} statement(s) changed state");
            }
            if refused {
                return Ok(ExitCode::from(2));
            }
        }
        StatementAction::DrawUp { counterparty, side, currency, from, to } => {
            let side = Side::parse(side).context("--side: receivable or payable")?;
            let currency = Currency::from_code(&currency.to_uppercase())
                .map_err(|_| anyhow::anyhow!("unknown currency {currency}"))?;
            let id =
                statements::draw_up(store.as_mut(), counterparty, side, currency, *from, *to, role, Some(user.id), at)?;
            let view = statements::view(store.as_ref(), id)?;
            audit("statement.draw_up", id, serde_json::json!({ "due": view.due, "lines": view.lines.len() }))?;
            println!(
                "statement {id} drawn up: {} {} lines, due {} {}, opening {}",
                view.counterparty,
                view.lines.len(),
                view.due,
                view.currency,
                view.opening
            );
        }
        StatementAction::List => {
            for record in store.counterparty_statements()? {
                let view = statements::view(store.as_ref(), record.id)?;
                println!(
                    "{:>5}  {:<12} {:<10} {} – {}  {:<15} due {:>12} {}  paid {:>12}  balance {:>12}",
                    view.id,
                    view.counterparty,
                    view.side,
                    view.period_start,
                    view.period_end,
                    view.state,
                    view.due,
                    view.currency,
                    view.paid,
                    view.balance
                );
            }
        }
        StatementAction::Show { id } => {
            let view = statements::view(store.as_ref(), *id)?;
            let table = statements::table(&view);
            let mut out = std::io::stdout();
            tieout_service::views::render(&[table], tieout_service::views::RenderFormat::Csv, &[])
                .map(|(_, bytes)| std::io::Write::write_all(&mut out, &bytes))??;
            for difference in &view.differences {
                println!(
                    "difference {} ({}): ours {} theirs {} = {}{}",
                    difference.number,
                    difference.kind,
                    difference.ours.as_deref().unwrap_or("—"),
                    difference.theirs.as_deref().unwrap_or("—"),
                    difference.difference,
                    difference.resolution.as_deref().map(|r| format!(" [{r}]")).unwrap_or_default()
                );
            }
        }
        StatementAction::Transition { id, to } => {
            let to = State::parse(to).with_context(|| format!("unknown state {to}"))?;
            let after = statements::transition(store.as_mut(), *id, to, role, at)?;
            audit("statement.transition", *id, serde_json::json!({ "state": after.name() }))?;
            if after == State::PendingReview {
                if let Some(record) = store.counterparty_statements()?.into_iter().find(|s| s.id == *id) {
                    let mut control = backend.control()?;
                    statements::alert_awaiting_review(control.as_mut(), tenant, &args.tenant, &record, at)?;
                }
            }
            println!("statement {id} is {}", after.name());
        }
        StatementAction::ImportTheirs { id, file } => {
            let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let sha256 = {
                use sha2::{Digest, Sha256};
                Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>()
            };
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let meta = statements::counterparty_meta(&name, &sha256, bytes.len() as u64, at);
            match statements::import_theirs(store.as_mut(), *id, &meta, &bytes, &settings.write_off, at)? {
                Ok(count) => {
                    audit(
                        "statement.import_counterparty",
                        *id,
                        serde_json::json!({ "file": name, "written_off": count }),
                    )?;
                    let view = statements::view(store.as_ref(), *id)?;
                    println!("{name}: {} difference(s), {count} written off automatically", view.differences.len());
                }
                Err(diagnostics) => {
                    for diagnostic in &diagnostics {
                        eprintln!("{diagnostic}");
                    }
                    bail!("{name} was refused: nothing stored");
                }
            }
        }
        StatementAction::Resolve { id, number, kind, reason, comment } => {
            let record = statements::resolve(
                store.as_mut(),
                *id,
                number,
                kind,
                reason.as_deref(),
                comment.as_deref(),
                role,
                user.id,
                &settings.write_off,
                at,
            )?;
            let action = if record.kind == "write_off" { "statement.write_off" } else { "statement.resolve" };
            audit(
                action,
                *id,
                serde_json::json!({ "number": record.number, "kind": record.kind, "amount_minor": record.amount_minor }),
            )?;
            println!("{} on {}: {}", record.kind, record.number, record.amount_minor);
        }
        StatementAction::Export { id, format, output } => {
            let view = statements::view(store.as_ref(), *id)?;
            let bytes = match format.as_str() {
                "html" => statements::print_view(&view, &tenant_name).into_bytes(),
                "csv" => {
                    tieout_service::views::render(
                        &[statements::table(&view)],
                        tieout_service::views::RenderFormat::Csv,
                        &[],
                    )?
                    .1
                }
                "xlsx" => {
                    tieout_service::views::render(
                        &[statements::table(&view)],
                        tieout_service::views::RenderFormat::Xlsx,
                        &[],
                    )?
                    .1
                }
                other => bail!("--format {other}: xlsx, csv or html"),
            };
            std::fs::write(output, bytes).with_context(|| format!("cannot write {}", output.display()))?;
            println!("statement {id} written to {}", output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
