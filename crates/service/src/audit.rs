//! The audit log: every state change, resolution, rule change and user change of a tenant,
//! appended with who, when, what before and after, and hash-chained so that altering or
//! removing a row is found by [`verify`].
//!
//! # The chain
//! Entry `n` carries `prev_hash` (entry `n − 1`'s hash; the first carries
//! [`GENESIS_HASH`], 64 zeros) and `hash`, the SHA-256 (hex) of a canonical serialisation
//! of the tenant id, seq, time, actor, action, object, before, after and prev_hash
//! ([`entry_hash`]). Each field is written with a presence tag and its length before its
//! bytes, so no two different entries serialise alike (a field cannot absorb its
//! neighbour, and an absent `before` differs from an empty one). The store numbers and
//! chains entries in one transaction per append (appends of a tenant take turns).
//!
//! # What verification finds, and what it cannot
//! [`verify`] walks the whole log in seq order and reports the first broken link:
//! * an **edited** row (any field, the stored hash left as it was): its hash does not
//!   match its content;
//! * an edited row whose hash was recomputed too: the next entry's `prev_hash` no longer
//!   matches;
//! * a **deleted** row in the middle: a gap in seq;
//! * **reordered** rows (seq values swapped), or a row inserted: a `prev_hash` that is not
//!   the previous entry's hash.
//!
//! The chain has no secret key: someone who can write the database *and* recompute every
//! hash after the change (or who deletes the last entries) leaves a chain that is valid on
//! its own. Such a rewrite is found only against a head recorded elsewhere before it
//! happened: [`Verification::head`] is the last seq and hash, to be recorded outside the
//! database (a ticket, an e-mail, a printed report), and [`verify_against`] checks that
//! the log still holds that entry with that hash.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tieout_core::ids::OrderId;
use tieout_store::control::{AuditEntry, ControlStore, NewAuditEntry, User};
use tieout_store::StoreError;

use crate::differences::{Act, Kind, Resolution};
use tieout_store::{DifferenceAction, ReceiptAction};

pub use tieout_store::control::AUDIT_GENESIS_HASH as GENESIS_HASH;

/// The actor name of automatic actions (`actor_user` is none).
pub const SYSTEM_ACTOR: &str = "system";
/// Entries read per page while verifying.
pub const VERIFY_PAGE_ENTRIES: i64 = 1000;
/// Most entries one `GET /api/audit` page returns.
pub const LIST_ENTRIES_MAX: i64 = 1000;

/// The actions tieout records (`object_kind` in brackets).
pub mod actions {
    /// The tenant created (`tenant`): the first entry of its log.
    pub const TENANT_ADD: &str = "tenant.add";
    /// An organisation (`organisation`) or a store (`store`) added.
    pub const ORGANISATION_ADD: &str = "organisation.add";
    pub const STORE_ADD: &str = "store.add";
    /// The alert configuration replaced (`setting`, id `alerts`; secrets masked).
    pub const ALERTS_CONFIG_REPLACE: &str = "alerts.config_replace";
    /// A user added (`user`).
    pub const USER_ADD: &str = "user.add";
    /// A user's role, disabled flag or scope changed (`user`).
    pub const USER_CHANGE: &str = "user.change";
    /// An API token created (`token`); the token itself is never recorded.
    pub const TOKEN_CREATE: &str = "token.create";
    /// An API token revoked (`token`).
    pub const TOKEN_REVOKE: &str = "token.revoke";
    /// The tenant's matching rules replaced (`setting`, id `rules`).
    pub const RULES_REPLACE: &str = "rules.replace";
    /// A difference resolved, reopened or assigned (`order`), one entry per order; a
    /// payout ↔ receipt difference resolved or reopened (`receipt`, its key as the id).
    pub const DIFFERENCE_RESOLVE: &str = "difference.resolve";
    pub const DIFFERENCE_REOPEN: &str = "difference.reopen";
    pub const DIFFERENCE_ASSIGN: &str = "difference.assign";
    /// A difference written off (`order`, `receipt`): by a person within their limit, or
    /// by the system identity within `[write_off].auto`.
    pub const DIFFERENCE_WRITE_OFF: &str = "difference.write_off";
    /// A statement moved from one state to another (`statement`).
    pub const STATEMENT_TRANSITION: &str = "statement.transition";
    /// A difference or statement amount written off (`statement`, `order`).
    pub const STATEMENT_WRITE_OFF: &str = "statement.write_off";
}

/// SHA-256 (hex) of the entry's canonical serialisation.
pub fn entry_hash(tenant: i64, seq: i64, entry: &NewAuditEntry, prev_hash: &str) -> String {
    let bytes = canonical(tenant, seq, entry, prev_hash);
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `tieout-audit-v1`, then each field in a fixed order as `N` (absent) or `S`, its length
/// as 8 bytes big-endian, and its UTF-8 bytes; integers as decimal text.
fn canonical(tenant: i64, seq: i64, entry: &NewAuditEntry, prev_hash: &str) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            None => out.push(b'N'),
            Some(text) => {
                out.push(b'S');
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"tieout-audit-v1");
    field(&mut out, Some(&tenant.to_string()));
    field(&mut out, Some(&seq.to_string()));
    field(&mut out, Some(&entry.at.to_string()));
    field(&mut out, entry.actor_user.map(|user| user.to_string()).as_deref());
    field(&mut out, Some(&entry.actor_name));
    field(&mut out, Some(&entry.action));
    field(&mut out, Some(&entry.object_kind));
    field(&mut out, Some(&entry.object_id));
    field(&mut out, entry.before.as_deref());
    field(&mut out, entry.after.as_deref());
    field(&mut out, Some(prev_hash));
    out
}

/// Appends an entry to the tenant's log. `actor`: the signed-in user (id, display name);
/// `None`: the system identity. `before` / `after`: the object as JSON (none when it did
/// not exist before, or does not after).
#[allow(clippy::too_many_arguments)]
pub fn record(
    control: &mut dyn ControlStore,
    tenant: i64,
    actor: Option<(i64, &str)>,
    action: &str,
    object_kind: &str,
    object_id: &str,
    before: Option<Value>,
    after: Option<Value>,
    at: i64,
) -> Result<AuditEntry, StoreError> {
    let entry = NewAuditEntry {
        at,
        actor_user: actor.map(|(id, _)| id),
        actor_name: actor.map_or(SYSTEM_ACTOR, |(_, name)| name).to_owned(),
        action: action.to_owned(),
        object_kind: object_kind.to_owned(),
        object_id: object_id.to_owned(),
        before: before.map(|value| value.to_string()),
        after: after.map(|value| value.to_string()),
    };
    control.append_audit(tenant, &entry, &|prev_hash, entry, seq| entry_hash(tenant, seq, entry, prev_hash))
}

/// A user as the audit log shows it: never the password hash.
pub fn user_state(user: &User, organisations: &[i64], stores: &[i64]) -> Value {
    json!({
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
        "organisations": organisations,
        "stores": stores,
    })
}

/// The audit action of a difference act (the same for orders and payout ↔ receipt results).
fn act_action(act: &Act) -> &'static str {
    match act {
        Act::Resolve { kind: Kind::WriteOff, .. } => actions::DIFFERENCE_WRITE_OFF,
        Act::Resolve { .. } => actions::DIFFERENCE_RESOLVE,
        Act::Reopen { .. } => actions::DIFFERENCE_REOPEN,
        Act::Assign { .. } => actions::DIFFERENCE_ASSIGN,
    }
}

/// Records what [`crate::differences::act`] did, one entry per order: before and after
/// are the order's resolution (state, kind, reason, amounts, comment, assignee) as read
/// from the store before and after the act. `actor`: `None` is the system identity.
#[allow(clippy::too_many_arguments)]
pub fn record_difference_act(
    control: &mut dyn ControlStore,
    tenant: i64,
    actor: Option<(i64, &str)>,
    act: &Act,
    orders: &[String],
    before: &HashMap<OrderId, Resolution>,
    after: &HashMap<OrderId, Resolution>,
    at: i64,
) -> Result<(), StoreError> {
    for id in orders.iter().filter_map(|text| OrderId::parse(text)) {
        let (old, new) = (resolution_state(before.get(&id)), resolution_state(after.get(&id)));
        record(control, tenant, actor, act_action(act), "order", &id.to_string(), Some(old), Some(new), at)?;
    }
    Ok(())
}

/// Records what [`crate::receipt_differences::act`] did, one entry per result (object
/// kind `receipt`, id its key): before and after are its resolution as read from the
/// store before and after the act. `actor`: `None` is the system identity.
#[allow(clippy::too_many_arguments)]
pub fn record_receipt_act(
    control: &mut dyn ControlStore,
    tenant: i64,
    actor: Option<(i64, &str)>,
    act: &Act,
    keys: &[String],
    before: &HashMap<String, Resolution>,
    after: &HashMap<String, Resolution>,
    at: i64,
) -> Result<(), StoreError> {
    for key in keys.iter().map(|k| k.trim()) {
        let (old, new) = (resolution_state(before.get(key)), resolution_state(after.get(key)));
        record(control, tenant, actor, act_action(act), "receipt", key, Some(old), Some(new), at)?;
    }
    Ok(())
}

/// Records the resolutions [`crate::differences::reopen_changed`] reopened because their
/// figures changed, one entry per order under the system identity.
pub fn record_auto_reopens(
    control: &mut dyn ControlStore,
    tenant: i64,
    before: &HashMap<OrderId, Resolution>,
    reopened: &[DifferenceAction],
    at: i64,
) -> Result<(), StoreError> {
    for action in reopened {
        let before = before.get(&action.order_id);
        record_auto_reopen(control, tenant, "order", &action.order_id.to_string(), before, &action.comment, at)?;
    }
    Ok(())
}

/// Records the payout ↔ receipt resolutions [`crate::receipt_differences::reopen_changed`]
/// reopened, one entry per result under the system identity.
pub fn record_auto_receipt_reopens(
    control: &mut dyn ControlStore,
    tenant: i64,
    before: &HashMap<String, Resolution>,
    reopened: &[ReceiptAction],
    at: i64,
) -> Result<(), StoreError> {
    for action in reopened {
        record_auto_reopen(control, tenant, "receipt", &action.key, before.get(&action.key), &action.comment, at)?;
    }
    Ok(())
}

fn record_auto_reopen(
    control: &mut dyn ControlStore,
    tenant: i64,
    object_kind: &str,
    object_id: &str,
    before: Option<&Resolution>,
    comment: &Option<String>,
    at: i64,
) -> Result<(), StoreError> {
    let (old, new) = (resolution_state(before), json!({ "state": "open", "comment": comment }));
    record(control, tenant, None, actions::DIFFERENCE_REOPEN, object_kind, object_id, Some(old), Some(new), at)?;
    Ok(())
}

/// One automatic write-off as the log records it: by the system identity, open before.
fn record_auto_write_off(
    control: &mut dyn ControlStore,
    tenant: i64,
    object_kind: &str,
    object_id: &str,
    after: Resolution,
    at: i64,
) -> Result<(), StoreError> {
    let (old, new) = (resolution_state(None), resolution_state(Some(&after)));
    record(control, tenant, None, actions::DIFFERENCE_WRITE_OFF, object_kind, object_id, Some(old), Some(new), at)?;
    Ok(())
}

/// A resolution made of an action's fields.
macro_rules! resolved {
    ($action:expr) => {
        Resolution {
            state: "resolved",
            reason: $action.reason.clone(),
            kind: $action.kind.clone(),
            currency: $action.currency.clone(),
            ours_minor: $action.ours_minor,
            theirs_minor: $action.theirs_minor,
            amount_minor: $action.amount_minor,
            by_user: $action.by_user,
            at: $action.at,
            ..Resolution::default()
        }
    };
}

/// Records the automatic write-offs [`crate::differences::auto_write_off`] made, one entry
/// per order under the system identity (before: open).
pub fn record_auto_write_offs(
    control: &mut dyn ControlStore,
    tenant: i64,
    written: &[DifferenceAction],
    at: i64,
) -> Result<(), StoreError> {
    for action in written {
        record_auto_write_off(control, tenant, "order", &action.order_id.to_string(), resolved!(action), at)?;
    }
    Ok(())
}

/// Records the automatic write-offs [`crate::receipt_differences::auto_write_off`] made,
/// one entry per result under the system identity (before: open).
pub fn record_auto_receipt_write_offs(
    control: &mut dyn ControlStore,
    tenant: i64,
    written: &[ReceiptAction],
    at: i64,
) -> Result<(), StoreError> {
    for action in written {
        record_auto_write_off(control, tenant, "receipt", &action.key, resolved!(action), at)?;
    }
    Ok(())
}

/// An order's resolution as the audit log shows it; amounts as minor units.
fn resolution_state(resolution: Option<&Resolution>) -> Value {
    let open = Resolution { state: "open", ..Resolution::default() };
    let resolution = resolution.unwrap_or(&open);
    json!({
        "state": resolution.state,
        "kind": resolution.kind,
        "reason": resolution.reason,
        "currency": resolution.currency,
        "ours_minor": resolution.ours_minor,
        "theirs_minor": resolution.theirs_minor,
        "amount_minor": resolution.amount_minor,
        "comment": resolution.comment,
        "assignee": resolution.assignee,
    })
}

/// The last entry of a log: what a caller records elsewhere to check the log against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// What is wrong at the first broken link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Entries before this one are missing: seq jumps from `previous` (0: the start).
    Missing { previous: i64 },
    /// `prev_hash` is not the previous entry's hash.
    LinkBroken,
    /// `hash` does not match the entry's content.
    ContentChanged,
    /// The log no longer holds the recorded head (this seq with this hash).
    HeadNotFound { expected: Head },
}

impl Problem {
    /// A short name for scripts: `missing`, `link_broken`, `content_changed`,
    /// `head_not_found`.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Missing { .. } => "missing",
            Problem::LinkBroken => "link_broken",
            Problem::ContentChanged => "content_changed",
            Problem::HeadNotFound { .. } => "head_not_found",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing { previous } => {
                write!(f, "entries before it are missing (seq jumps from {previous}): rows were deleted")
            }
            Problem::LinkBroken => f.write_str(
                "its prev_hash is not the hash of the entry before it: rows were deleted, inserted or reordered \
                 (or its prev_hash was edited)",
            ),
            Problem::ContentChanged => f.write_str("its hash does not match its content: the row was edited"),
            Problem::HeadNotFound { expected } => write!(
                f,
                "the recorded head (seq {}, hash {}) is not in the log: entries were removed or rewritten",
                expected.seq, expected.hash
            ),
        }
    }
}

/// The first broken link: the seq it was found at and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub problem: Problem,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seq {}: {}", self.seq, self.problem)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    /// Entries the log holds.
    pub entries: i64,
    /// The log's last entry as stored (none for an empty log). Deleting the last entries
    /// leaves a valid chain: compare this with a head recorded elsewhere
    /// ([`verify_against`]).
    pub head: Option<Head>,
    pub first_broken: Option<Broken>,
}

impl Verification {
    /// `{ok, entries, head: {seq, hash} | null, first_broken: null | {seq, kind, problem}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head,
            "first_broken": self.first_broken.as_ref().map(|broken| json!({
                "seq": broken.seq,
                "kind": broken.problem.kind(),
                "problem": broken.problem.to_string(),
            })),
        })
    }
}

/// Walks the tenant's whole log and reports the first broken link, if any.
pub fn verify(control: &mut dyn ControlStore, tenant: i64) -> Result<Verification, StoreError> {
    verify_against(control, tenant, None)
}

/// [`verify`], and also that the log still holds `known` (a head recorded earlier) with
/// its hash: what finds the last entries deleted, or the chain rewritten after a change.
pub fn verify_against(
    control: &mut dyn ControlStore,
    tenant: i64,
    known: Option<&Head>,
) -> Result<Verification, StoreError> {
    let mut previous: Option<AuditEntry> = None;
    let mut entries = 0;
    let mut first_broken: Option<Broken> = None;
    let mut known_seen = false;
    let mut after = 0;
    loop {
        let page = control.audit_entries(tenant, after, VERIFY_PAGE_ENTRIES)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in page {
            entries += 1;
            if first_broken.is_none() {
                first_broken =
                    link_problem(tenant, previous.as_ref(), &entry).map(|problem| Broken { seq: entry.seq, problem });
            }
            if let Some(known) = known.filter(|k| k.seq == entry.seq) {
                known_seen = known.hash == entry.hash;
            }
            previous = Some(entry);
        }
    }
    let head = previous.as_ref().map(|entry| Head { seq: entry.seq, hash: entry.hash.clone() });
    if let Some(known) = known.filter(|_| first_broken.is_none() && !known_seen) {
        first_broken = Some(Broken { seq: known.seq, problem: Problem::HeadNotFound { expected: known.clone() } });
    }
    Ok(Verification { ok: first_broken.is_none(), entries, head, first_broken })
}

fn link_problem(tenant: i64, previous: Option<&AuditEntry>, entry: &AuditEntry) -> Option<Problem> {
    let (previous_seq, previous_hash) = previous.map_or((0, GENESIS_HASH), |p| (p.seq, p.hash.as_str()));
    if entry.seq > previous_seq + 1 {
        return Some(Problem::Missing { previous: previous_seq });
    }
    // (A seq below 1 is a row inserted before the first entry.)
    if entry.seq != previous_seq + 1 || entry.prev_hash != previous_hash {
        return Some(Problem::LinkBroken);
    }
    if entry.hash != entry_hash(tenant, entry.seq, &entry.content(), &entry.prev_hash) {
        return Some(Problem::ContentChanged);
    }
    None
}

/// An entry as the API and the CLI show it (before and after parsed back into JSON).
pub fn entry_json(entry: &AuditEntry) -> Value {
    let parse = |text: &Option<String>| -> Value {
        text.as_deref().map_or(Value::Null, |t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.into())))
    };
    json!({
        "seq": entry.seq,
        "at": entry.at,
        "actor": { "user_id": entry.actor_user, "name": entry.actor_name },
        "action": entry.action,
        "object": { "kind": entry.object_kind, "id": entry.object_id },
        "before": parse(&entry.before),
        "after": parse(&entry.after),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(before: Option<&str>, after: Option<&str>) -> NewAuditEntry {
        NewAuditEntry {
            at: 1,
            actor_user: Some(2),
            actor_name: "Ann".into(),
            action: "user.add".into(),
            object_kind: "user".into(),
            object_id: "7".into(),
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
        }
    }

    #[test]
    fn fields_cannot_absorb_their_neighbours_and_absent_differs_from_empty() {
        let base = entry(None, Some("{}"));
        let hash = entry_hash(1, 1, &base, GENESIS_HASH);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, entry_hash(1, 1, &base.clone(), GENESIS_HASH), "deterministic");
        let mut shifted = base.clone();
        shifted.actor_name = "Annuser.add".into();
        shifted.action = String::new();
        assert_ne!(entry_hash(1, 1, &shifted, GENESIS_HASH), hash);
        assert_ne!(entry_hash(1, 1, &entry(Some(""), Some("{}")), GENESIS_HASH), hash, "absent before ≠ empty");
        assert_ne!(
            entry_hash(1, 1, &entry(Some("{}"), None), GENESIS_HASH),
            hash,
            "before and after are not swappable"
        );
        let mut system = base.clone();
        system.actor_user = None;
        assert_ne!(entry_hash(1, 1, &system, GENESIS_HASH), hash);
        assert_ne!(entry_hash(2, 1, &base, GENESIS_HASH), hash, "the tenant counts");
        assert_ne!(entry_hash(1, 2, &base, GENESIS_HASH), hash, "the seq counts");
        assert_ne!(entry_hash(11, 1, &base, GENESIS_HASH), entry_hash(1, 11, &base, GENESIS_HASH));
    }
}
