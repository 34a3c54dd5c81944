//! `tieout difference`: the differences workbench from the command line (order
//! differences by order id, payout ↔ receipt differences by key), on the team server's data (`--data-dir` or `--database`), acting as a user of a tenant (whose role
//! and store scope decide what is allowed; every action goes to the audit log, like the
//! API's).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use tieout_service::differences::{self, Act, ActError, Kind};
use tieout_service::team::Action;

use crate::output::{emit, Format};
use crate::team::{backend, now, tenant_id, ServerArgs};

#[derive(Args, Debug)]
pub struct DifferenceArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The tenant (its slug).
    #[arg(long, global = true, default_value = "")]
    tenant: String,
    /// The user acting (e-mail); their role decides what is allowed.
    #[arg(long = "user", global = true, default_value = "")]
    user: String,
    #[command(subcommand)]
    action: DifferenceAction,
}

#[derive(Subcommand, Debug)]
pub enum DifferenceAction {
    /// Resolve differences: accept (explained, it stands), adjust (book an adjustment,
    /// keeping ours and theirs) or write-off (the amount in question, within your role's
    /// [write_off] limit in the order's currency).
    Resolve {
        /// Order ids (differences of the latest reconciliation).
        #[arg(required = true)]
        orders: Vec<String>,
        /// accept, adjust or write_off.
        #[arg(long = "as", default_value = "accept")]
        kind: String,
        /// accept / adjust: timing, fee_dispute, duplicate_confirmed, data_error, other;
        /// write_off: small_difference, rounding, bank_charges, goodwill, other.
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "")]
        comment: String,
        /// adjust of one order: the adjustment to book (default: settled − order amount).
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
    },
    /// Reopen resolved differences.
    Reopen {
        #[arg(required = true)]
        orders: Vec<String>,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Resolve payout ↔ receipt differences (short, late, missing, unexpected) by their key
    /// (`tieout report receipts`, column `key`): accept, adjust (expected and received
    /// kept) or write-off (|received − expected|, within your role's [write_off] limit).
    ResolveReceipt {
        /// Keys: payout:SETTLEMENT_ID, withdrawal:ENTRY_ID or receipt:ENTRY_ID.
        #[arg(required = true)]
        keys: Vec<String>,
        /// accept, adjust or write_off.
        #[arg(long = "as", default_value = "accept")]
        kind: String,
        /// accept / adjust: timing, fee_dispute, duplicate_confirmed, data_error, other;
        /// write_off: small_difference, rounding, bank_charges, goodwill, other.
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "")]
        comment: String,
        /// adjust of one difference: the adjustment to book (default: received − expected).
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
    },
    /// Reopen resolved payout ↔ receipt differences.
    ReopenReceipt {
        #[arg(required = true)]
        keys: Vec<String>,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Every resolved difference (accepted, adjusted, written off by a person or by the
    /// system) with its amounts, who and when, and totals.
    Resolutions {
        /// table (terminal), csv, xlsx or json.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub fn run(args: &DifferenceArgs, settings: &tieout_service::config::Settings) -> Result<ExitCode> {
    if args.tenant.is_empty() || args.user.is_empty() {
        bail!("name the tenant and the acting user: tieout difference --tenant SLUG --user EMAIL ...");
    }
    let backend = backend(&args.server)?;
    let tenant = tenant_id(&backend, &args.tenant)?;
    let mut control = backend.control()?;
    let Some(user) = control.user_by_email(tenant, &args.user.trim().to_lowercase())? else {
        bail!("no user {} in tenant {}", args.user, args.tenant);
    };
    let Some(principal) = tieout_service::team::principal(control.as_mut(), tenant, user.id, None)? else {
        bail!("user {} may not act (disabled, or an unknown role)", user.email);
    };
    let mut store = backend.tenant_store(tenant)?;
    let (orders, act) = match &args.action {
        DifferenceAction::Resolutions { format, output } => {
            if !principal.may(Action::Read) {
                bail!("the role {} may not read", principal.role.name());
            }
            let names: std::collections::HashMap<i64, String> =
                control.users(tenant)?.into_iter().map(|u| (u.id, u.display_name)).collect();
            let table = differences::resolutions_table(store.as_ref(), &|s| principal.sees_store(s), &|id| {
                names.get(&id).cloned()
            })?;
            let sources = tieout_service::views::sources(store.as_ref())?;
            emit(std::slice::from_ref(&table), *format, output.as_deref(), "resolutions", &sources)?;
            return Ok(ExitCode::SUCCESS);
        }
        DifferenceAction::Resolve { orders, kind, reason, comment, amount } => {
            let kind = Kind::for_reason(Some(kind.replace('-', "_").as_str()), reason)?;
            (
                orders,
                Act::Resolve { kind, reason: reason.clone(), comment: comment.clone(), adjustment: amount.clone() },
            )
        }
        DifferenceAction::Reopen { orders, comment } => (orders, Act::Reopen { comment: comment.clone() }),
        DifferenceAction::ResolveReceipt { keys, kind, reason, comment, amount } => {
            let kind = Kind::for_reason(Some(kind.replace('-', "_").as_str()), reason)?;
            let act =
                Act::Resolve { kind, reason: reason.clone(), comment: comment.clone(), adjustment: amount.clone() };
            return act_on_receipts(store.as_mut(), control.as_mut(), tenant, &principal, &user, keys, &act, settings);
        }
        DifferenceAction::ReopenReceipt { keys, comment } => {
            let act = Act::Reopen { comment: comment.clone() };
            return act_on_receipts(store.as_mut(), control.as_mut(), tenant, &principal, &user, keys, &act, settings);
        }
    };
    may_resolve(&principal)?;
    let at = now();
    let before = differences::resolutions(store.as_ref())?;
    let limits = &settings.write_off;
    let role = principal.role.name();
    let count =
        differences::act(store.as_mut(), orders, &act, user.id, at, &|s| principal.sees_store(s), &|currency| {
            limits.limit_minor(role, currency)
        })
        .map_err(|error| match error {
            ActError::Store(error) => anyhow::Error::from(error),
            other => anyhow::anyhow!("{other}"),
        })?;
    let after = differences::resolutions(store.as_ref())?;
    tieout_service::audit::record_difference_act(
        control.as_mut(),
        tenant,
        Some((user.id, &user.display_name)),
        &act,
        orders,
        &before,
        &after,
        at,
    )?;
    let what = match &act {
        Act::Resolve { kind, .. } => kind.name(),
        _ => "reopened",
    };
    println!("{count} difference(s): {what}");
    for id in orders.iter().filter_map(|o| tieout_core::ids::OrderId::parse(o)) {
        if let Some(r) = after.get(&id) {
            print_resolution(&id.to_string(), r);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn may_resolve(principal: &tieout_service::team::Principal) -> Result<()> {
    if !principal.may(Action::Resolve) {
        bail!(
            "the role {} may not resolve differences ({} or above)",
            principal.role.name(),
            tieout_service::team::Role::least_for(Action::Resolve).name()
        );
    }
    Ok(())
}

/// Resolves or reopens payout ↔ receipt differences as `user`, with one audit entry per key.
#[allow(clippy::too_many_arguments)]
fn act_on_receipts(
    store: &mut dyn tieout_service::Store,
    control: &mut dyn tieout_service::control::ControlStore,
    tenant: i64,
    principal: &tieout_service::team::Principal,
    user: &tieout_service::control::User,
    keys: &[String],
    act: &Act,
    settings: &tieout_service::config::Settings,
) -> Result<ExitCode> {
    use tieout_service::receipt_differences as receipts;
    may_resolve(principal)?;
    let at = now();
    let before = receipts::resolutions(store)?;
    let limits = &settings.write_off;
    let role = principal.role.name();
    let count = receipts::act(store, keys, act, user.id, at, &|s| principal.sees_store(s), &|currency| {
        limits.limit_minor(role, currency)
    })
    .map_err(|error| match error {
        ActError::Store(error) => anyhow::Error::from(error),
        other => anyhow::anyhow!("{other}"),
    })?;
    let after = receipts::resolutions(store)?;
    tieout_service::audit::record_receipt_act(
        control,
        tenant,
        Some((user.id, &user.display_name)),
        act,
        keys,
        &before,
        &after,
        at,
    )?;
    let what = match act {
        Act::Resolve { kind, .. } => kind.name(),
        _ => "reopened",
    };
    println!("{count} payout/receipt difference(s): {what}");
    for key in keys.iter().map(|k| k.trim()) {
        if let Some(r) = after.get(key) {
            print_resolution(key, r);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per resolution: state, kind, ours, theirs and the amount booked.
fn print_resolution(object: &str, r: &differences::Resolution) {
    let currency = r.currency.as_deref().and_then(|c| tieout_core::Currency::from_code(c).ok());
    let shown = |minor: Option<i64>| match (minor, currency) {
        (Some(m), Some(c)) => tieout_service::views::amount(m, c),
        _ => "—".to_owned(),
    };
    println!(
        "  {object}: {} {}  ours {}  theirs {}  amount {} {}",
        r.state,
        r.kind.as_deref().unwrap_or(""),
        shown(r.ours_minor),
        shown(r.theirs_minor),
        shown(r.amount_minor),
        r.currency.as_deref().unwrap_or("")
    );
}
