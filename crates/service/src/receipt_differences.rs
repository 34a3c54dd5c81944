//! Payout ↔ receipt differences: resolving and reopening them, and each result's
//! resolution state — the same three ways as order differences ([`crate::differences`]).
//!
//! # Which results, and how they are named
//! A result of the payout ↔ receipt reconciliation ([`tieout_core::receipts`]) is a
//! difference when its status is one (`ReceiptStatus::is_difference`): `received_short`,
//! `received_late`, `missing` and `unexpected_receipt`. A payout received in full on time,
//! one received converted (its difference is an FX difference, reported as such) and one
//! not due yet (`pending`) are not.
//!
//! Result ids change with every run, so a result is named by a [`key`] that survives
//! re-runs: `payout:<settlement id>` (the smallest, when one transfer paid several
//! settlements), `withdrawal:<statement entry id>` (the smallest withdrawal entry) or
//! `receipt:<statement entry id>` (an unexpected receipt). Statement entries keep their id
//! (a statement imported again is skipped), and a settlement id is Amazon's.
//!
//! # Resolving
//! Actions are appended to the store (`receipt_action`), never changed; a result's state is
//! its latest `resolve` or `reopen` (none: open). Amounts are in the expected currency
//! (for an unexpected receipt: the received one): ours = expected, theirs = received, the
//! amount in question = |theirs − ours| (a missing payout: all of it; an unexpected
//! receipt: all of it).
//! * **accept** — explained, it stands (a late payout that arrived, a timing difference).
//! * **adjust** — an adjustment record keeping ours and theirs, and the adjustment
//!   (default theirs − ours, or the amount the person gives).
//! * **write off** — the amount in question, held to the acting role's `[write_off]`
//!   limit in that currency (at the limit allowed, one minor unit over refused); reasons as
//!   for orders ([`crate::differences::WRITE_OFF_REASONS`], e.g. `bank_charges` for a
//!   payout short by an intermediary bank's charges).
//!
//! After each reconciliation [`auto_write_off`] writes off, under the system identity
//! (reason `small_difference`), every open difference whose amount in question is above
//! zero and within `[write_off].auto` of its currency, unless a person has acted on it.
//!
//! # Who sees what
//! A payout belongs to its settlements' stores; a withdrawal or an unexpected receipt to
//! no store. `visible` is asked about each store of a payout, and about `""` for a result
//! of no store (a principal limited to some stores does not see those, as in the receipts
//! report filtered by store).

use std::collections::{HashMap, HashSet};

use tieout_core::Currency;
pub use tieout_store::ReceiptAction;
use tieout_store::{ReceiptRow, Store, StoreError};

use crate::differences::{check, Act, ActError, Checked, Kind, Resolution, ORDERS_PER_ACTION_MAX, SYSTEM_USER};

/// The key of a result, stable across runs: `payout:<settlement id>`,
/// `withdrawal:<statement entry id>` or `receipt:<statement entry id>`.
pub fn key(row: &ReceiptRow) -> String {
    if let Some(id) = row.withdrawals.iter().map(|w| w.entry_id).min() {
        format!("withdrawal:{id}")
    } else if let Some(id) = row.settlements.iter().map(|s| s.settlement_id).min() {
        format!("payout:{id}")
    } else if let Some(id) = row.receipts.iter().map(|r| r.entry_id).min() {
        format!("receipt:{id}")
    } else {
        // Every result is about a payout, a withdrawal or a receipt; never reached.
        format!("result:{}", row.id)
    }
}

/// Whether finance has to look at the result (see the module's documentation).
pub fn is_difference(row: &ReceiptRow) -> bool {
    row.status.is_difference()
}

/// Whether `visible` lets the caller see the result: every store of a payout, `""` for a
/// withdrawal or an unexpected receipt.
pub fn visible_to(row: &ReceiptRow, visible: &dyn Fn(&str) -> bool) -> bool {
    if row.settlements.is_empty() || !row.withdrawals.is_empty() {
        visible("")
    } else {
        row.settlements.iter().all(|s| visible(&s.store))
    }
}

/// A result's amounts in one currency: what was expected, what was received, and the
/// amount in question (|received − expected|).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amounts {
    pub currency: Currency,
    pub ours_minor: Option<i64>,
    pub theirs_minor: Option<i64>,
    pub in_question_minor: i64,
}

/// The amounts of `row` in its expected currency (an unexpected receipt: the received
/// one). A receipt in another currency counts as expected + its stated difference.
pub fn amounts(row: &ReceiptRow) -> Option<Amounts> {
    let currency = row.expected.or(row.received)?.currency;
    let ours = row.expected.map(|m| m.amount_minor);
    let theirs = match row.received {
        Some(money) if money.currency == currency => Some(money.amount_minor),
        Some(_) => ours.zip(row.difference_minor).map(|(o, d)| o.saturating_add(d)),
        None => None,
    };
    let in_question = theirs.unwrap_or(0).saturating_sub(ours.unwrap_or(0)).saturating_abs();
    Some(Amounts { currency, ours_minor: ours, theirs_minor: theirs, in_question_minor: in_question })
}

/// The resolution of every result something was done about, by key.
pub fn resolutions(store: &dyn Store) -> Result<HashMap<String, Resolution>, StoreError> {
    let mut out: HashMap<String, Resolution> = HashMap::new();
    for action in store.receipt_actions(None)? {
        let entry = out.entry(action.key.clone()).or_insert(Resolution { state: "open", ..Resolution::default() });
        let resolved = action.action == "resolve";
        *entry = Resolution {
            state: if resolved { "resolved" } else { "open" },
            reason: action.reason,
            comment: action.comment,
            assignee: None,
            by_user: action.by_user,
            at: action.at,
            kind: action.kind,
            currency: action.currency,
            ours_minor: action.ours_minor,
            theirs_minor: action.theirs_minor,
            amount_minor: action.amount_minor,
        };
    }
    Ok(out)
}

/// Applies `act` (resolve or reopen) to the results named by `keys` (all of them or none),
/// by `user` at `at`. Every key must name a difference of the latest run that `visible`
/// lets the caller see. A write-off writes off the amount in question, each within
/// `write_off_limit` of its currency (the acting role's `[write_off]` limit; `None`: may
/// not write off in it).
#[allow(clippy::too_many_arguments)]
pub fn act(
    store: &mut dyn Store,
    keys: &[String],
    act: &Act,
    user: i64,
    at: i64,
    visible: &dyn Fn(&str) -> bool,
    write_off_limit: &dyn Fn(Currency) -> Option<i64>,
) -> Result<usize, ActError> {
    if keys.is_empty() || keys.len() > ORDERS_PER_ACTION_MAX {
        return Err(ActError::KeyCount);
    }
    if matches!(act, Act::Assign { .. }) {
        return Err(ActError::NotAssignable);
    }
    let Checked { action, reason, comment, .. } = check(act, keys.len())?;
    let results = store.receipt_results()?;
    let by_key: HashMap<String, &ReceiptRow> = results.iter().map(|r| (key(r), r)).collect();
    let (mut actions, mut refused, mut over_limit) = (Vec::with_capacity(keys.len()), Vec::new(), Vec::new());
    for text in keys {
        let Some(row) = by_key.get(text.trim()).filter(|r| is_difference(r) && visible_to(r, visible)) else {
            refused.push(text.clone());
            continue;
        };
        let mut record = ReceiptAction {
            key: text.trim().to_owned(),
            action: action.to_owned(),
            kind: None,
            reason: reason.clone(),
            comment: comment.clone().filter(|c| !c.is_empty()),
            currency: None,
            ours_minor: None,
            theirs_minor: None,
            amount_minor: None,
            by_user: user,
            at,
        };
        if let Act::Resolve { kind, adjustment, .. } = act {
            let amounts = resolution_amounts(&mut record, *kind, row, adjustment.as_deref())?;
            if *kind == Kind::WriteOff {
                let amount = record.amount_minor.unwrap_or(0);
                if !tieout_core::counterparty::write_off_allowed(write_off_limit(amounts.currency), amount) {
                    over_limit.push(format!(
                        "{text} ({} {})",
                        crate::views::amount(amount, amounts.currency),
                        amounts.currency
                    ));
                }
            }
        }
        actions.push(record);
    }
    crate::differences::refusal(&refused, &over_limit)?;
    store.add_receipt_actions(&actions)?;
    Ok(actions.len())
}

/// Fills in the kind and amounts of a resolution of `row`: an adjustment is `adjustment`
/// (decimal text) or theirs − ours; a write-off (and an acceptance, for the record) is the
/// amount in question.
fn resolution_amounts(
    record: &mut ReceiptAction,
    kind: Kind,
    row: &ReceiptRow,
    adjustment: Option<&str>,
) -> Result<Amounts, ActError> {
    let amounts = amounts(row).ok_or_else(|| ActError::NotDifferences(record.key.clone()))?;
    record.kind = Some(kind.name().to_owned());
    record.currency = Some(amounts.currency.code().to_owned());
    record.ours_minor = amounts.ours_minor;
    record.theirs_minor = amounts.theirs_minor;
    record.amount_minor = Some(match (kind, adjustment) {
        (Kind::Adjust, Some(text)) => tieout_core::money::parse_amount_minor(
            text.trim(),
            tieout_core::NumberStyle::Dot,
            amounts.currency.exponent(),
        )
        .map_err(|e| ActError::Adjustment(format!("'{text}' is not an amount in {}: {e}", amounts.currency.code())))?,
        (Kind::Adjust, None) => amounts.theirs_minor.unwrap_or(0).saturating_sub(amounts.ours_minor.unwrap_or(0)),
        _ => amounts.in_question_minor,
    });
    Ok(amounts)
}

/// An action of the system identity on the result `key`, without amounts (yet).
fn system_action(key: String, action: &str, reason: Option<&str>, comment: Option<String>, at: i64) -> ReceiptAction {
    ReceiptAction {
        key,
        action: action.to_owned(),
        kind: None,
        reason: reason.map(str::to_owned),
        comment,
        currency: None,
        ours_minor: None,
        theirs_minor: None,
        amount_minor: None,
        by_user: SYSTEM_USER,
        at,
    }
}

/// Reopens, under the system identity, every resolved difference of the latest run whose
/// figures changed since it was resolved (expected, received, or — for an acceptance or a
/// write-off — the amount in question), as [`crate::differences::reopen_changed`] does for
/// orders. Returns the reopens recorded.
pub fn reopen_changed(store: &mut dyn Store, at: i64) -> Result<Vec<ReceiptAction>, StoreError> {
    if store.latest_run()?.is_none() {
        return Ok(Vec::new());
    }
    let resolved: HashMap<String, Resolution> =
        resolutions(store)?.into_iter().filter(|(_, r)| r.state == "resolved" && r.kind.is_some()).collect();
    let mut reopened = Vec::new();
    for row in store.receipt_results()?.iter().filter(|r| is_difference(r)) {
        let key = key(row);
        let (Some(resolution), Some(now)) = (resolved.get(&key), amounts(row)) else { continue };
        let same = resolution.ours_minor == now.ours_minor
            && resolution.theirs_minor == now.theirs_minor
            && (resolution.kind.as_deref() == Some("adjust") || resolution.amount_minor == Some(now.in_question_minor));
        if same {
            continue;
        }
        let money =
            |minor: Option<i64>| minor.map_or_else(|| "none".to_owned(), |m| crate::views::amount(m, now.currency));
        let comment = format!(
            "reopened by the system: the figures changed since it was resolved (expected {} → {}, received {} → {}, in question {} → {} {})",
            money(resolution.ours_minor),
            money(now.ours_minor),
            money(resolution.theirs_minor),
            money(now.theirs_minor),
            money(resolution.amount_minor),
            money(Some(now.in_question_minor)),
            now.currency.code(),
        );
        reopened.push(system_action(key, "reopen", None, Some(comment), at));
    }
    if !reopened.is_empty() {
        store.add_receipt_actions(&reopened)?;
    }
    Ok(reopened)
}

/// Writes off, under the system identity, every difference of the latest run whose amount
/// in question is above zero and within `auto` of its currency (`None`: no automatic
/// write-off in it), unless someone acted on it before (a difference a person reopened
/// stays theirs). Returns the write-offs recorded.
pub fn auto_write_off(
    store: &mut dyn Store,
    auto: &dyn Fn(Currency) -> Option<i64>,
    at: i64,
) -> Result<Vec<ReceiptAction>, StoreError> {
    if store.latest_run()?.is_none() {
        return Ok(Vec::new());
    }
    // Left alone: what a person acted on, and what is resolved (by the system too).
    let mut touched: HashSet<String> =
        store.receipt_actions(None)?.into_iter().filter(|a| a.by_user != SYSTEM_USER).map(|a| a.key).collect();
    touched.extend(resolutions(store)?.into_iter().filter(|(_, r)| r.state == "resolved").map(|(key, _)| key));
    let mut written = Vec::new();
    for row in store.receipt_results()?.iter().filter(|r| is_difference(r)) {
        let key = key(row);
        if touched.contains(&key) {
            continue;
        }
        let Some(amounts) = amounts(row).filter(|a| a.in_question_minor > 0) else { continue };
        if auto(amounts.currency).is_none_or(|limit| amounts.in_question_minor > limit) {
            continue;
        }
        let mut record = system_action(key, "resolve", Some("small_difference"), None, at);
        resolution_amounts(&mut record, Kind::WriteOff, row, None).expect("a row with amounts, no text to parse");
        written.push(record);
    }
    if !written.is_empty() {
        store.add_receipt_actions(&written)?;
    }
    Ok(written)
}

/// Write-offs summed per currency: (currency code, count, amount in minor units).
pub fn totals(written: &[ReceiptAction]) -> Vec<(String, u64, i64)> {
    crate::differences::sum_per_currency(written.iter().map(|a| (a.currency.as_deref(), a.amount_minor)))
}

/// A resolved receipt difference as the resolutions report lists it: its key, the store
/// of a payout (empty for a withdrawal or a receipt), and the status of its result in the
/// latest run (empty when the latest run has no result with that key any more, e.g. an
/// unexpected receipt a later import matched to a payout).
pub(crate) struct Listed {
    pub key: String,
    pub store: String,
    pub status: String,
    pub resolution: Resolution,
}

/// Every receipt difference resolved as of now that `visible` lets the caller see.
pub(crate) fn resolved(store: &dyn Store, visible: &dyn Fn(&str) -> bool) -> Result<Vec<Listed>, StoreError> {
    let resolutions = resolutions(store)?;
    if resolutions.values().all(|r| r.state != "resolved") {
        return Ok(Vec::new());
    }
    let results = store.receipt_results()?;
    let by_key: HashMap<String, &ReceiptRow> = results.iter().map(|r| (key(r), r)).collect();
    let settlement_stores: HashMap<u64, String> =
        store.settlements()?.into_iter().map(|s| (s.settlement_id, s.store)).collect();
    let mut out = Vec::new();
    for (key, resolution) in resolutions.into_iter().filter(|(_, r)| r.state == "resolved") {
        let (store_name, status, seen) = match by_key.get(&key) {
            Some(row) => {
                let stores: Vec<&str> = row.settlements.iter().map(|s| s.store.as_str()).collect();
                (
                    stores.first().copied().unwrap_or("").to_owned(),
                    row.status.name().to_owned(),
                    visible_to(row, visible),
                )
            }
            None => {
                let store_name = key
                    .strip_prefix("payout:")
                    .and_then(|id| id.parse::<u64>().ok())
                    .and_then(|id| settlement_stores.get(&id).cloned())
                    .unwrap_or_default();
                let seen = visible(&store_name);
                (store_name, String::new(), seen)
            }
        };
        if seen {
            out.push(Listed { key, store: store_name, status, resolution });
        }
    }
    Ok(out)
}
