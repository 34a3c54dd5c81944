//! The differences workbench: resolving, reopening and assigning differences, and each
//! order's resolution state.
//!
//! Actions are appended to the tenant's store, never changed: an order's state is its
//! latest `resolve` or `reopen` (none: open), its assignee its latest `assign`. Only an
//! order whose latest result is a difference can be acted on. Resolving with the reason
//! `written_off` is held to the acting role's `[write_off]` limit (see [`act`]); the audit
//! log records every action (`crate::audit::record_difference_act`).

use std::collections::HashMap;

use tieout_core::ids::OrderId;
use tieout_store::{DifferenceAction, Store, StoreError};

/// Reason codes a difference is resolved with.
pub const REASONS: [&str; 6] = ["timing", "fee_dispute", "written_off", "duplicate_confirmed", "data_error", "other"];

/// Longest comment kept.
pub const COMMENT_CHARS_MAX: usize = 2000;
/// Most orders one request may act on.
pub const ORDERS_PER_ACTION_MAX: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    Resolve { reason: String, comment: String },
    Reopen { comment: String },
    Assign { user: Option<i64> },
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("unknown reason '{0}': one of timing, fee_dispute, written_off, duplicate_confirmed, data_error, other")]
    UnknownReason(String),
    #[error("a comment may hold up to {COMMENT_CHARS_MAX} characters")]
    CommentTooLong,
    #[error("name between 1 and {ORDERS_PER_ACTION_MAX} orders")]
    OrderCount,
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
            }
            "reopen" => {
                entry.state = "open";
                entry.reason = None;
                entry.comment = action.comment;
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
/// a difference of the latest run in a store `visible` accepts. Resolving with the reason
/// `written_off` writes off the order's amount in question (see
/// [`crate::alerts::amount_in_question_minor`]): each must be within `write_off_limit` of
/// its currency (the acting role's `[write_off]` limit; `None`: may not write off).
#[allow(clippy::too_many_arguments)]
pub fn act(
    store: &mut dyn Store,
    orders: &[String],
    act: &Act,
    user: i64,
    at: i64,
    visible: &dyn Fn(&str) -> bool,
    write_off_limit: &dyn Fn(tieout_core::Currency) -> Option<i64>,
) -> Result<usize, ActError> {
    if orders.is_empty() || orders.len() > ORDERS_PER_ACTION_MAX {
        return Err(ActError::OrderCount);
    }
    let (action, reason, comment, assignee) = match act {
        Act::Resolve { reason, comment } => {
            if !REASONS.contains(&reason.as_str()) {
                return Err(ActError::UnknownReason(reason.clone()));
            }
            ("resolve", Some(reason.clone()), Some(comment.clone()), None)
        }
        Act::Reopen { comment } => ("reopen", None, Some(comment.clone()), None),
        Act::Assign { user } => ("assign", None, None, *user),
    };
    if comment.as_ref().is_some_and(|c| c.chars().count() > COMMENT_CHARS_MAX) {
        return Err(ActError::CommentTooLong);
    }
    let writing_off = matches!(act, Act::Resolve { reason, .. } if reason == "written_off");
    let mut over_limit = Vec::new();
    let mut actions = Vec::with_capacity(orders.len());
    let mut refused = Vec::new();
    for text in orders {
        let result = OrderId::parse(text).map(|id| store.order_results(Some(&id)).map(|r| (id, r))).transpose()?;
        match result {
            Some((id, results)) if results.first().is_some_and(|r| r.category.is_difference() && visible(&r.store)) => {
                if writing_off {
                    let row = &results[0];
                    let amount = crate::alerts::amount_in_question_minor(row).unwrap_or(0);
                    if !tieout_core::counterparty::write_off_allowed(write_off_limit(row.currency), amount) {
                        over_limit.push(format!(
                            "{text} ({} {})",
                            crate::views::amount(amount, row.currency),
                            row.currency
                        ));
                    }
                }
                actions.push(DifferenceAction {
                    order_id: id,
                    action: action.to_owned(),
                    reason: reason.clone(),
                    comment: comment.clone().filter(|c| !c.is_empty()),
                    assignee,
                    by_user: user,
                    at,
                });
            }
            _ => refused.push(text.clone()),
        }
    }
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
    store.add_difference_actions(&actions)?;
    Ok(actions.len())
}
