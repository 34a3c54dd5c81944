//! The differences workbench: resolving, reopening and assigning differences, and each
//! order's resolution state.
//!
//! Actions are appended to the tenant's store, never changed: an order's state is its
//! latest `resolve` or `reopen` (none: open), its assignee its latest `assign`. Only an
//! order whose latest result is a difference can be acted on.
//!
//! # Resolving: accept, adjust, write off
//! A difference is resolved in one of three ways ([`Kind`]), each with a reason code:
//! * **accept** — the difference is explained and stands (a timing difference, a fee
//!   dispute settled); nothing is booked. Reason: one of [`REASONS`].
//! * **adjust** — an adjustment is booked; the record keeps both amounts: ours (the order
//!   amount we expected) and theirs (the sales settled), and the adjustment (by default
//!   theirs − ours; or the amount the person gives). Reason: one of [`REASONS`].
//! * **write off** — the order's amount in question
//!   ([`crate::alerts::amount_in_question_minor`]) is written off, held to the acting
//!   role's `[write_off]` limit in the order's currency (at the limit allowed, one minor
//!   unit over refused). Reason: one of [`WRITE_OFF_REASONS`].
//!
//! Small differences are written off automatically ([`auto_write_off`], after each
//! reconciliation): an open difference whose amount in question is above zero and within
//! `[write_off].auto` of its currency, never acted on by a person, is written off under the
//! system identity (`by_user` [`SYSTEM_USER`], reason `small_difference`). Before that,
//! [`reopen_changed`] reopens (by the system) every resolution whose figures a later
//! settlement changed: a resolution holds for the amounts it was made on. The report
//! `resolutions` lists every resolution with its kind, amounts and who. The audit log
//! records every action (`crate::audit::record_difference_act`).

use std::collections::HashMap;

use tieout_core::ids::OrderId;
use tieout_core::Currency;
pub use tieout_store::DifferenceAction;
use tieout_store::{OrderResultRow, ResultFilter, Store, StoreError};

/// Reason codes a difference is accepted or adjusted with (`written_off`, from before
/// resolutions had kinds, means a write-off: see [`Kind::for_reason`]).
pub const REASONS: [&str; 6] = ["timing", "fee_dispute", "written_off", "duplicate_confirmed", "data_error", "other"];

/// Reason codes of a write-off (the same as a statement difference's), and the older
/// `written_off`.
pub const WRITE_OFF_REASONS: [&str; 6] =
    ["small_difference", "rounding", "bank_charges", "goodwill", "written_off", "other"];

/// The user id of the system identity (automatic write-offs).
pub const SYSTEM_USER: i64 = 0;

/// Longest comment kept.
pub const COMMENT_CHARS_MAX: usize = 2000;
/// Most orders one request may act on.
pub const ORDERS_PER_ACTION_MAX: usize = 1000;

/// How a difference is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Accept,
    Adjust,
    WriteOff,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Accept, Kind::Adjust, Kind::WriteOff];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Accept => "accept",
            Kind::Adjust => "adjust",
            Kind::WriteOff => "write_off",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == text)
    }

    /// The kind a request names, or when it names none, the one its reason implies: the
    /// reason `written_off` is a write-off, any other an acceptance.
    pub fn for_reason(kind: Option<&str>, reason: &str) -> Result<Kind, ActError> {
        match kind {
            Some(text) => Kind::parse(text).ok_or_else(|| ActError::UnknownKind(text.to_owned())),
            None if reason == "written_off" => Ok(Kind::WriteOff),
            None => Ok(Kind::Accept),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// `adjustment`: the adjustment to book (decimal text in the order's currency) for an
    /// `adjust` of one order; `None`: theirs − ours.
    Resolve {
        kind: Kind,
        reason: String,
        comment: String,
        adjustment: Option<String>,
    },
    Reopen {
        comment: String,
    },
    Assign {
        user: Option<i64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("unknown reason '{0}': one of timing, fee_dispute, written_off, duplicate_confirmed, data_error, other")]
    UnknownReason(String),
    #[error(
        "unknown write-off reason '{0}': one of small_difference, rounding, bank_charges, goodwill, written_off, other"
    )]
    UnknownWriteOffReason(String),
    #[error("unknown resolution '{0}': one of accept, adjust, write_off")]
    UnknownKind(String),
    #[error("{0}")]
    Adjustment(String),
    #[error("a comment may hold up to {COMMENT_CHARS_MAX} characters")]
    CommentTooLong,
    #[error("name between 1 and {ORDERS_PER_ACTION_MAX} orders")]
    OrderCount,
    #[error("name between 1 and {ORDERS_PER_ACTION_MAX} payout, withdrawal or receipt keys")]
    KeyCount,
    #[error("payout ↔ receipt differences are resolved or reopened, not assigned")]
    NotAssignable,
    #[error("not differences of the latest reconciliation (or not visible to you): {0}")]
    NotDifferences(String),
    #[error("writing these off is over your limit (the [write_off] limit of your role in their currency): {0}")]
    OverLimit(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An order's resolution as of its latest actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// `open` or `resolved`.
    pub state: &'static str,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub assignee: Option<i64>,
    pub by_user: i64,
    pub at: i64,
    /// How it was resolved (`accept`, `adjust`, `write_off`; none before kinds existed).
    pub kind: Option<String>,
    pub currency: Option<String>,
    pub ours_minor: Option<i64>,
    pub theirs_minor: Option<i64>,
    /// The adjustment, or the amount written off.
    pub amount_minor: Option<i64>,
}

/// The resolution of every order something was done about.
pub fn resolutions(store: &dyn Store) -> Result<HashMap<OrderId, Resolution>, StoreError> {
    let mut out: HashMap<OrderId, Resolution> = HashMap::new();
    for action in store.difference_actions(None)? {
        let entry = out.entry(action.order_id.clone()).or_insert(Resolution { state: "open", ..Resolution::default() });
        match action.action.as_str() {
            "resolve" => {
                entry.state = "resolved";
                entry.reason = action.reason;
                entry.comment = action.comment;
                entry.kind = action.kind;
                entry.currency = action.currency;
                entry.ours_minor = action.ours_minor;
                entry.theirs_minor = action.theirs_minor;
                entry.amount_minor = action.amount_minor;
            }
            "reopen" => {
                entry.state = "open";
                entry.reason = None;
                entry.comment = action.comment;
                entry.kind = None;
                entry.currency = None;
                entry.ours_minor = None;
                entry.theirs_minor = None;
                entry.amount_minor = None;
            }
            "assign" => entry.assignee = action.assignee,
            _ => {}
        }
        entry.by_user = action.by_user;
        entry.at = action.at;
    }
    Ok(out)
}

/// Applies `act` to `orders` (all of them or none), by `user` at `at`. Every order must be
/// a difference of the latest run in a store `visible` accepts. A write-off writes off the
/// order's amount in question (see [`crate::alerts::amount_in_question_minor`]): each
/// must be within `write_off_limit` of its currency (the acting role's `[write_off]`
/// limit; `None`: may not write off).
#[allow(clippy::too_many_arguments)]
pub fn act(
    store: &mut dyn Store,
    orders: &[String],
    act: &Act,
    user: i64,
    at: i64,
    visible: &dyn Fn(&str) -> bool,
    write_off_limit: &dyn Fn(Currency) -> Option<i64>,
) -> Result<usize, ActError> {
    if orders.is_empty() || orders.len() > ORDERS_PER_ACTION_MAX {
        return Err(ActError::OrderCount);
    }
    let Checked { action, reason, comment, assignee } = check(act, orders.len())?;
    let mut over_limit = Vec::new();
    let mut actions = Vec::with_capacity(orders.len());
    let mut refused = Vec::new();
    for text in orders {
        let result = OrderId::parse(text).map(|id| store.order_results(Some(&id)).map(|r| (id, r))).transpose()?;
        match result {
            Some((id, results)) if results.first().is_some_and(|r| r.category.is_difference() && visible(&r.store)) => {
                let row = &results[0];
                let mut record = DifferenceAction {
                    order_id: id,
                    action: action.to_owned(),
                    reason: reason.clone(),
                    comment: comment.clone().filter(|c| !c.is_empty()),
                    assignee,
                    by_user: user,
                    at,
                    kind: None,
                    currency: None,
                    ours_minor: None,
                    theirs_minor: None,
                    amount_minor: None,
                };
                if let Act::Resolve { kind, adjustment, .. } = act {
                    resolution_amounts(&mut record, *kind, row, adjustment.as_deref())?;
                    if *kind == Kind::WriteOff {
                        let amount = record.amount_minor.unwrap_or(0);
                        if !tieout_core::counterparty::write_off_allowed(write_off_limit(row.currency), amount) {
                            over_limit.push(format!(
                                "{text} ({} {})",
                                crate::views::amount(amount, row.currency),
                                row.currency
                            ));
                        }
                    }
                }
                actions.push(record);
            }
            _ => refused.push(text.clone()),
        }
    }
    refusal(&refused, &over_limit)?;
    store.add_difference_actions(&actions)?;
    Ok(actions.len())
}

/// What an [`Act`] records, once its reason, adjustment and comment are checked.
pub(crate) struct Checked {
    pub action: &'static str,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub assignee: Option<i64>,
}

/// Checks an act on `count` differences: the reason is one its kind takes, an adjustment
/// amount is given for an adjust of one difference only, the comment is not too long.
pub(crate) fn check(act: &Act, count: usize) -> Result<Checked, ActError> {
    let checked = match act {
        Act::Resolve { kind, reason, comment, adjustment } => {
            let known = if *kind == Kind::WriteOff { &WRITE_OFF_REASONS[..] } else { &REASONS[..] };
            if !known.contains(&reason.as_str()) {
                return Err(if *kind == Kind::WriteOff {
                    ActError::UnknownWriteOffReason(reason.clone())
                } else {
                    ActError::UnknownReason(reason.clone())
                });
            }
            if adjustment.is_some() && (*kind != Kind::Adjust || count != 1) {
                return Err(ActError::Adjustment(
                    "an adjustment amount is given for an adjust of one difference only".to_owned(),
                ));
            }
            Checked { action: "resolve", reason: Some(reason.clone()), comment: Some(comment.clone()), assignee: None }
        }
        Act::Reopen { comment } => {
            Checked { action: "reopen", reason: None, comment: Some(comment.clone()), assignee: None }
        }
        Act::Assign { user } => Checked { action: "assign", reason: None, comment: None, assignee: *user },
    };
    if checked.comment.as_ref().is_some_and(|c| c.chars().count() > COMMENT_CHARS_MAX) {
        return Err(ActError::CommentTooLong);
    }
    Ok(checked)
}

/// Fills in the kind and amounts of a resolution of `row`: ours is the order amount, theirs
/// the sales settled; an adjustment is `adjustment` (decimal text) or theirs − ours; a
/// write-off (and an acceptance, for the record) is the amount in question.
fn resolution_amounts(
    record: &mut DifferenceAction,
    kind: Kind,
    row: &OrderResultRow,
    adjustment: Option<&str>,
) -> Result<(), ActError> {
    record.kind = Some(kind.name().to_owned());
    record.currency = Some(row.currency.code().to_owned());
    record.ours_minor = row.order_amount_minor;
    record.theirs_minor = Some(row.settled_amount_minor);
    record.amount_minor = match (kind, adjustment) {
        (Kind::Adjust, Some(text)) => Some(
            tieout_core::money::parse_amount_minor(text.trim(), tieout_core::NumberStyle::Dot, row.currency.exponent())
                .map_err(|e| {
                    ActError::Adjustment(format!("'{text}' is not an amount in {}: {e}", row.currency.code()))
                })?,
        ),
        (Kind::Adjust, None) => Some(row.settled_amount_minor.saturating_sub(row.order_amount_minor.unwrap_or(0))),
        _ => Some(crate::alerts::amount_in_question_minor(row).unwrap_or(0)),
    };
    Ok(())
}

/// An action of the system identity on `order`, without amounts (yet).
fn system_action(
    order: &OrderId,
    action: &str,
    reason: Option<&str>,
    comment: Option<String>,
    at: i64,
) -> DifferenceAction {
    DifferenceAction {
        order_id: order.clone(),
        action: action.to_owned(),
        reason: reason.map(str::to_owned),
        comment,
        assignee: None,
        by_user: SYSTEM_USER,
        at,
        kind: None,
        currency: None,
        ours_minor: None,
        theirs_minor: None,
        amount_minor: None,
    }
}

/// Reopens, under the system identity, every resolved difference of the latest run whose
/// figures changed since it was resolved: the order amount (ours), the sales settled
/// (theirs) or — for an acceptance or a write-off — the amount in question. A resolution
/// holds for the amounts it was made on; a later settlement that changes them puts the
/// order back in front of a person (or, if it is still small, of [`auto_write_off`]).
/// Resolutions recorded before they had amounts are left as they are. Returns the reopens
/// recorded.
pub fn reopen_changed(store: &mut dyn Store, at: i64) -> Result<Vec<DifferenceAction>, StoreError> {
    if store.latest_run()?.is_none() {
        return Ok(Vec::new());
    }
    let resolved: HashMap<OrderId, Resolution> =
        resolutions(store)?.into_iter().filter(|(_, r)| r.state == "resolved" && r.kind.is_some()).collect();
    let mut reopened = Vec::new();
    if resolved.is_empty() {
        return Ok(reopened);
    }
    let filter = ResultFilter { differences_only: true, ..ResultFilter::default() };
    let mut after = None;
    loop {
        let page = store.order_results_page(&filter, after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        for (_, row) in &page {
            let Some(resolution) = resolved.get(&row.order_id) else { continue };
            let in_question = crate::alerts::amount_in_question_minor(row).unwrap_or(0);
            let same = resolution.ours_minor == row.order_amount_minor
                && resolution.theirs_minor == Some(row.settled_amount_minor)
                && (resolution.kind.as_deref() == Some("adjust") || resolution.amount_minor == Some(in_question));
            if same {
                continue;
            }
            let money =
                |minor: Option<i64>| minor.map_or_else(|| "none".to_owned(), |m| crate::views::amount(m, row.currency));
            let comment = format!(
                "reopened by the system: the figures changed since it was resolved (order amount {} → {}, settled {} → {}, in question {} → {} {})",
                money(resolution.ours_minor),
                money(row.order_amount_minor),
                money(resolution.theirs_minor),
                money(Some(row.settled_amount_minor)),
                money(resolution.amount_minor),
                money(Some(in_question)),
                row.currency.code(),
            );
            reopened.push(system_action(&row.order_id, "reopen", None, Some(comment), at));
        }
    }
    if !reopened.is_empty() {
        store.add_difference_actions(&reopened)?;
    }
    Ok(reopened)
}

/// Writes off, under the system identity, every open difference of the latest run whose
/// amount in question is above zero and within `auto` of its currency (`None`: no automatic
/// write-off in it), unless a person has acted on the order before (a difference someone
/// reopened stays theirs). Returns the write-offs recorded.
pub fn auto_write_off(
    store: &mut dyn Store,
    auto: &dyn Fn(Currency) -> Option<i64>,
    at: i64,
) -> Result<Vec<DifferenceAction>, StoreError> {
    if store.latest_run()?.is_none() {
        return Ok(Vec::new());
    }
    // Left alone: what a person acted on, and what is resolved (by the system too).
    let actions = store.difference_actions(None)?;
    let mut touched: std::collections::HashSet<OrderId> =
        actions.iter().filter(|a| a.by_user != SYSTEM_USER).map(|a| a.order_id.clone()).collect();
    touched.extend(resolutions(store)?.into_iter().filter(|(_, r)| r.state == "resolved").map(|(id, _)| id));
    let filter = ResultFilter { differences_only: true, ..ResultFilter::default() };
    let mut written = Vec::new();
    let mut after = None;
    loop {
        let page = store.order_results_page(&filter, after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        for (_, row) in &page {
            if touched.contains(&row.order_id) {
                continue;
            }
            let Some(amount) = crate::alerts::amount_in_question_minor(row).filter(|a| *a > 0) else { continue };
            if auto(row.currency).is_some_and(|limit| amount <= limit) {
                let mut record = system_action(&row.order_id, "resolve", Some("small_difference"), None, at);
                resolution_amounts(&mut record, Kind::WriteOff, row, None).expect("no adjustment text to parse");
                written.push(record);
            }
        }
    }
    if !written.is_empty() {
        store.add_difference_actions(&written)?;
    }
    Ok(written)
}

/// Write-offs summed per currency: (currency code, count, amount in minor units).
pub fn totals(written: &[DifferenceAction]) -> Vec<(String, u64, i64)> {
    sum_per_currency(written.iter().map(|a| (a.currency.as_deref(), a.amount_minor)))
}

/// (currency, amount) pairs counted and summed per currency code, in code order.
pub(crate) fn sum_per_currency<'a>(
    amounts: impl IntoIterator<Item = (Option<&'a str>, Option<i64>)>,
) -> Vec<(String, u64, i64)> {
    let mut totals: std::collections::BTreeMap<String, (u64, i64)> = Default::default();
    for (currency, amount) in amounts {
        let total = totals.entry(currency.unwrap_or_default().to_owned()).or_default();
        total.0 += 1;
        total.1 = total.1.saturating_add(amount.unwrap_or(0));
    }
    totals.into_iter().map(|(code, (count, amount))| (code, count, amount)).collect()
}

/// Refuses an act that names what is not a difference (the first ten named) or writes
/// off over the limit; nothing is recorded then.
pub(crate) fn refusal(refused: &[String], over_limit: &[String]) -> Result<(), ActError> {
    if !refused.is_empty() {
        let mut shown: Vec<String> = refused.iter().take(10).cloned().collect();
        if refused.len() > 10 {
            shown.push(format!("and {} more", refused.len() - 10));
        }
        return Err(ActError::NotDifferences(shown.join(", ")));
    }
    if !over_limit.is_empty() {
        return Err(ActError::OverLimit(over_limit.join(", ")));
    }
    Ok(())
}

/// Every difference resolved as of now (its latest action is a resolve), of orders and of
/// payouts ↔ receipts: the order (for a payout ↔ receipt difference its key, `payout:…`,
/// `withdrawal:…` or `receipt:…`, in the same column), its store and category (for a
/// payout ↔ receipt difference the status of its result), how it was resolved, the
/// reason, ours / theirs / the adjustment or amount written off, who (user id; `system`
/// for automatic write-offs) and when — in the order they were resolved, then one total
/// row per kind and currency. `visible` limits the stores (a withdrawal or an unexpected
/// receipt has none: `visible("")`); `names` gives a user's display name (none:
/// `user ID`).
pub fn resolutions_table(
    store: &dyn Store,
    visible: &dyn Fn(&str) -> bool,
    names: &dyn Fn(i64) -> Option<String>,
) -> Result<tieout_core::table::Table, StoreError> {
    use tieout_core::table::{Cell, Table};
    let mut table = Table::new(
        "Resolutions",
        &[
            "order_id",
            "store",
            "category",
            "resolution",
            "reason",
            "currency",
            "ours",
            "theirs",
            "amount",
            "by",
            "at_utc",
            "comment",
        ],
    );
    // (object, store, category, resolution, currency when the resolution names none).
    let mut listed: Vec<(String, String, String, Resolution, Option<Currency>)> = Vec::new();
    for (id, resolution) in resolutions(store)?.into_iter().filter(|(_, r)| r.state == "resolved") {
        let Some(result) = store.order_results(Some(&id))?.into_iter().next() else { continue };
        if visible(&result.store) {
            listed.push((
                id.to_string(),
                result.store,
                result.category.name().to_owned(),
                resolution,
                Some(result.currency),
            ));
        }
    }
    for receipt in crate::receipt_differences::resolved(store, visible)? {
        listed.push((receipt.key, receipt.store, receipt.status, receipt.resolution, None));
    }
    listed.sort_by(|a, b| (a.3.at, &a.0).cmp(&(b.3.at, &b.0)));
    let mut totals: std::collections::BTreeMap<(String, String), (u64, i64)> = Default::default();
    for (object, store_name, category, resolution, fallback) in listed {
        let Some(currency) = resolution.currency.as_deref().and_then(|c| Currency::from_code(c).ok()).or(fallback)
        else {
            continue;
        };
        let kind = resolution.kind.clone().unwrap_or_else(|| {
            if resolution.reason.as_deref() == Some("written_off") { "write_off" } else { "accept" }.to_owned()
        });
        let by = if resolution.by_user == SYSTEM_USER {
            crate::audit::SYSTEM_ACTOR.to_owned()
        } else {
            names(resolution.by_user).unwrap_or_else(|| format!("user {}", resolution.by_user))
        };
        let at = chrono::DateTime::from_timestamp(resolution.at, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        if let Some(amount) = resolution.amount_minor {
            let total = totals.entry((kind.clone(), currency.code().to_owned())).or_default();
            total.0 += 1;
            total.1 = total.1.saturating_add(amount);
        }
        table.push(vec![
            Cell::text(object),
            Cell::text(store_name),
            Cell::text(category),
            Cell::text(&kind),
            Cell::text(resolution.reason.clone().unwrap_or_default()),
            Cell::text(currency.code()),
            Cell::optional_money(resolution.ours_minor, currency),
            Cell::optional_money(resolution.theirs_minor, currency),
            Cell::optional_money(resolution.amount_minor, currency),
            Cell::text(by),
            Cell::text(at),
            Cell::text(resolution.comment.clone().unwrap_or_default()),
        ]);
    }
    for ((kind, code), (count, amount)) in &totals {
        let currency = Currency::from_code(code).expect("a stored currency code");
        table.push(vec![
            Cell::text(format!("Total ({count})")),
            Cell::Empty,
            Cell::Empty,
            Cell::text(kind),
            Cell::Empty,
            Cell::text(code),
            Cell::Empty,
            Cell::Empty,
            Cell::money(*amount, currency),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]);
    }
    table.notes.push(
        "resolution: accept (the difference stands, explained), adjust (amount = the adjustment booked; ours = the order amount, theirs = the sales settled) or write_off (amount = the amount in question written off); by 'system': written off automatically within [write_off].auto".to_owned(),
    );
    table.notes.push(
        "Payout ↔ receipt differences are listed too: order_id holds their key (payout:SETTLEMENT_ID, withdrawal:ENTRY_ID or receipt:ENTRY_ID), category the status of their result (received_short, received_late, missing, unexpected_receipt), ours the amount expected and theirs the amount received; a withdrawal or an unexpected receipt has no store.".to_owned(),
    );
    table.notes.push(
        "Amounts are exact in each difference's currency, never converted; rows 'Total (N)' sum the N resolutions of each kind per currency (the amount column).".to_owned(),
    );
    Ok(table)
}
