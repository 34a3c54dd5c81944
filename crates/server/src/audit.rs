//! The tenant's audit log over HTTP: read it page by page, and verify its hash chain.
//! Approvers and admins only ([`Action::SignOff`]). There is no route that changes or
//! removes an entry: entries are appended by the handlers that change state
//! ([`record`]), nowhere else.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tieout_service::audit::{self, Head, LIST_ENTRIES_MAX};
use tieout_service::backend::Backend;
use tieout_service::team::{Action, Principal};

use crate::auth::Auth;
use crate::problem::{ApiResult, Problem};
use crate::routes::blocking;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/audit", get(list)).route("/api/audit/verify", get(verify))
}

/// Appends an entry acted by the signed-in user (on a blocking thread already).
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    backend: &Backend,
    principal: &Principal,
    action: &str,
    object_kind: &str,
    object_id: &str,
    before: Option<Value>,
    after: Option<Value>,
    at: i64,
) -> ApiResult<()> {
    let mut control = backend.control()?;
    let actor = Some((principal.user.id, principal.user.display_name.as_str()));
    audit::record(control.as_mut(), principal.tenant.id, actor, action, object_kind, object_id, before, after, at)?;
    Ok(())
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// Entries after this seq (0: from the first).
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(query): Query<ListQuery>) -> ApiResult<Json<Value>> {
    auth.require(Action::SignOff)?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(100);
    if after < 0 {
        return Err(Problem::bad_request("after is a seq, 0 or more"));
    }
    if !(1..=LIST_ENTRIES_MAX).contains(&limit) {
        return Err(Problem::bad_request(format!("limit is between 1 and {LIST_ENTRIES_MAX}")));
    }
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let entries = blocking(move || Ok(backend.control()?.audit_entries(tenant, after, limit + 1)?)).await?;
    let more = entries.len() as i64 > limit;
    let items: Vec<Value> = entries.iter().take(limit as usize).map(audit::entry_json).collect();
    let next = if more { items.last().map(|entry| entry["seq"].clone()) } else { None };
    Ok(Json(json!({ "items": items, "next_after": next })))
}

#[derive(Deserialize, Default)]
pub struct VerifyQuery {
    /// A head recorded earlier (seq and hash): the log must still hold it.
    pub seq: Option<i64>,
    pub hash: Option<String>,
}

async fn verify(State(state): State<AppState>, auth: Auth, Query(query): Query<VerifyQuery>) -> ApiResult<Json<Value>> {
    auth.require(Action::SignOff)?;
    let known = match (query.seq, query.hash) {
        (Some(seq), Some(hash)) => Some(Head { seq, hash }),
        (None, None) => None,
        _ => return Err(Problem::bad_request("give both seq and hash of a recorded head, or neither")),
    };
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let verification =
        blocking(move || Ok(audit::verify_against(backend.control()?.as_mut(), tenant, known.as_ref())?)).await?;
    Ok(Json(verification.to_json()))
}
