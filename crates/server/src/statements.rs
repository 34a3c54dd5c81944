//! Statements with counterparties (往来对账单) over HTTP: draw up, list, show (lines,
//! totals, differences with the counterparty's statement), move through the lifecycle
//! (the service checks the role each transition needs), import the counterparty's
//! statement, resolve differences within write-off limits, export (XLSX, CSV, a printable
//! page). Every change is written to the tenant's audit log.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tieout_core::counterparty::{Side, State as StatementState};
use tieout_core::money::Currency;
use tieout_service::statements::{self, StatementError};
use tieout_service::team::{Action, Principal};
use tieout_service::views::{self, RenderFormat};

use crate::auth::Auth;
use crate::problem::{ApiResult, Problem};
use crate::routes::{blocking, json_body};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/statements", get(list).post(draw_up))
        .route("/api/statements/{id}", get(show))
        .route("/api/statements/{id}/transition", post(transition))
        .route("/api/statements/{id}/counterparty", post(import_theirs))
        .route("/api/statements/{id}/resolve", post(resolve))
        .route("/api/statements/{id}/export", get(export))
}

fn problem(error: StatementError) -> Problem {
    match error {
        StatementError::Missing(id) => Problem::not_found(format!("statement {id}")),
        StatementError::Forbidden { .. } | StatementError::OverLimit { .. } | StatementError::NoLimit(..) => {
            Problem::forbidden(error.to_string())
        }
        StatementError::Changed(_) | StatementError::NotLocked(_) | StatementError::Transition(_) => {
            Problem::conflict(error.to_string())
        }
        StatementError::Store(error) => Problem::internal(error),
        other => Problem::bad_request(other.to_string()),
    }
}

/// A statement change in the tenant's audit log, by the signed-in user.
fn audit(
    backend: &tieout_service::backend::Backend,
    principal: &Principal,
    action: &str,
    id: i64,
    before: Option<Value>,
    after: Option<Value>,
    at: i64,
) -> ApiResult<()> {
    crate::audit::record(backend, principal, action, "statement", &id.to_string(), before, after, at)
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    blocking(move || {
        let store = backend.tenant_store(tenant)?;
        let mut items = Vec::new();
        for record in store.counterparty_statements()? {
            let view = statements::view(store.as_ref(), record.id).map_err(problem)?;
            let mut item = serde_json::to_value(&view).map_err(Problem::internal)?;
            if let Some(object) = item.as_object_mut() {
                object.remove("lines");
            }
            items.push(item);
        }
        Ok(Json(json!({ "items": items })))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DrawUpRequest {
    pub counterparty: String,
    /// `receivable` (a customer) or `payable` (a supplier).
    pub side: String,
    pub currency: String,
    /// First and last day of the period, `2026-10-01`.
    pub from: String,
    pub to: String,
}

async fn draw_up(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    auth.require(Action::Import)?;
    let request: DrawUpRequest = json_body(&headers, &body)?;
    let side = Side::parse(&request.side).ok_or_else(|| Problem::bad_request("side: receivable or payable"))?;
    let currency = Currency::from_code(&request.currency.to_uppercase())
        .map_err(|_| Problem::bad_request(format!("'{}' is not a currency tieout knows", request.currency)))?;
    let day = |name: &str, text: &str| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| Problem::bad_request(format!("{name} '{text}' is not a date like 2026-10-31")))
    };
    let (from, to) = (day("from", &request.from)?, day("to", &request.to)?);
    let backend = state.backend.clone();
    let principal = auth.0;
    let now = (state.clock)();
    let view = blocking(move || {
        let mut store = backend.tenant_store(principal.tenant.id)?;
        let id = statements::draw_up(
            store.as_mut(),
            &request.counterparty,
            side,
            currency,
            from,
            to,
            principal.role,
            Some(principal.user.id),
            now,
        )
        .map_err(problem)?;
        let view = statements::view(store.as_ref(), id).map_err(problem)?;
        let after = json!({ "state": view.state, "due": view.due, "opening": view.opening, "lines": view.lines.len() });
        audit(&backend, &principal, "statement.draw_up", id, None, Some(after), now)?;
        Ok(view)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(view).map_err(Problem::internal)?)).into_response())
}

fn statement_id(text: &str) -> ApiResult<i64> {
    text.parse().map_err(|_| Problem::not_found(format!("statement {text}")))
}

async fn show(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let id = statement_id(&id)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    blocking(move || {
        let store = backend.tenant_store(tenant)?;
        let view = statements::view(store.as_ref(), id).map_err(problem)?;
        let resolutions: Vec<Value> = store
            .statement_resolutions(id)?
            .iter()
            .map(|r| {
                json!({
                    "number": r.number, "kind": r.kind, "reason": r.reason, "comment": r.comment,
                    "by_user": r.by_user, "by_system": r.by_user.is_none(), "at": r.at,
                    "ours_minor": r.ours_minor, "theirs_minor": r.theirs_minor, "amount_minor": r.amount_minor,
                })
            })
            .collect();
        let mut body = serde_json::to_value(view).map_err(Problem::internal)?;
        body["resolutions"] = Value::Array(resolutions);
        Ok(Json(body))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TransitionRequest {
    /// pending_review, draft (sent back), reviewed, closed or void.
    pub to: String,
}

async fn transition(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let id = statement_id(&id)?;
    let request: TransitionRequest = json_body(&headers, &body)?;
    let to = StatementState::parse(&request.to)
        .ok_or_else(|| Problem::bad_request(format!("unknown state '{}'", request.to)))?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let now = (state.clock)();
    blocking(move || {
        let mut store = backend.tenant_store(principal.tenant.id)?;
        let before = statements::view(store.as_ref(), id).map_err(problem)?.state;
        let after = statements::transition(store.as_mut(), id, to, principal.role, now).map_err(problem)?;
        audit(
            &backend,
            &principal,
            "statement.transition",
            id,
            Some(json!({ "state": before })),
            Some(json!({ "state": after.name() })),
            now,
        )?;
        if after == StatementState::PendingReview {
            let record = store
                .counterparty_statements()?
                .into_iter()
                .find(|s| s.id == id)
                .ok_or_else(|| Problem::not_found(format!("statement {id}")))?;
            tieout_service::statements::alert_awaiting_review(
                backend.control()?.as_mut(),
                principal.tenant.id,
                &principal.tenant.slug,
                &record,
                now,
            )?;
        }
        Ok(Json(json!({ "id": id, "state": after.name() })))
    })
    .await
}

/// The counterparty's statement: a document CSV as the request body (`text/csv`).
async fn import_theirs(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Import)?;
    let id = statement_id(&id)?;
    let csv =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/csv"));
    if !csv {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the counterparty's statement as text/csv (columns as for documents)",
        ));
    }
    if body.len() > state.upload_bytes_max {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Upload too large",
            "the statement is too large",
        ));
    }
    let name = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(tieout_service::jobs::safe_name)
        .unwrap_or_else(|| format!("counterparty-statement-{id}.csv"));
    let backend = state.backend.clone();
    let principal = auth.0;
    let now = (state.clock)();
    let limits = state.settings.clone();
    blocking(move || {
        let mut store = backend.tenant_store(principal.tenant.id)?;
        let sha256: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect()
        };
        let meta = tieout_service::statements::counterparty_meta(&name, &sha256, body.len() as u64, now);
        let outcome = statements::import_theirs(store.as_mut(), id, &meta, &body, &limits.settings.write_off, now)
            .map_err(problem)?;
        let written_off = match outcome {
            Ok(count) => count,
            Err(diagnostics) => {
                let lines: Vec<String> = diagnostics.iter().take(20).map(|d| d.to_string()).collect();
                return Err(Problem::bad_request(format!("the statement was refused: {}", lines.join("; "))));
            }
        };
        let view = statements::view(store.as_ref(), id).map_err(problem)?;
        audit(
            &backend,
            &principal,
            "statement.import_counterparty",
            id,
            None,
            Some(json!({ "file": name, "their_total": view.their_total, "differences": view.differences.len() })),
            now,
        )?;
        if written_off > 0 {
            let mut control = backend.control()?;
            tieout_service::audit::record(
                control.as_mut(),
                principal.tenant.id,
                None,
                "statement.write_off",
                "statement",
                &id.to_string(),
                None,
                Some(json!({ "automatic": written_off })),
                now,
            )?;
        }
        Ok(Json(json!({ "id": id, "written_off_automatically": written_off, "statement": view })))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StatementResolveRequest {
    /// The document number of the difference.
    pub number: String,
    /// accept, adjust or write_off.
    pub kind: String,
    /// A write-off's reason code: small_difference, rounding, bank_charges, goodwill, other.
    pub reason: Option<String>,
    pub comment: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Resolve)?;
    let id = statement_id(&id)?;
    let request: StatementResolveRequest = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let now = (state.clock)();
    let settings = state.settings.clone();
    blocking(move || {
        let mut store = backend.tenant_store(principal.tenant.id)?;
        let record = statements::resolve(
            store.as_mut(),
            id,
            &request.number,
            &request.kind,
            request.reason.as_deref(),
            request.comment.as_deref(),
            principal.role,
            principal.user.id,
            &settings.settings.write_off,
            now,
        )
        .map_err(problem)?;
        let after = json!({
            "number": record.number, "kind": record.kind, "reason": record.reason, "comment": record.comment,
            "ours_minor": record.ours_minor, "theirs_minor": record.theirs_minor, "amount_minor": record.amount_minor,
        });
        let action = if record.kind == "write_off" { "statement.write_off" } else { "statement.resolve" };
        audit(&backend, &principal, action, id, None, Some(after.clone()), now)?;
        Ok(Json(after))
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    pub format: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    auth.require(Action::Read)?;
    let id = statement_id(&id)?;
    let format = query.format.unwrap_or_else(|| "xlsx".to_owned());
    if !["xlsx", "csv", "html"].contains(&format.as_str()) {
        return Err(Problem::bad_request(format!("format '{format}': xlsx, csv or html")));
    }
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.clone();
    let (content_type, bytes) = blocking(move || {
        let store = backend.tenant_store(tenant.id)?;
        let view = statements::view(store.as_ref(), id).map_err(problem)?;
        if format == "html" {
            return Ok(("text/html; charset=utf-8", statements::print_view(&view, &tenant.name).into_bytes()));
        }
        let table = statements::table(&view);
        let render = if format == "csv" { RenderFormat::Csv } else { RenderFormat::Xlsx };
        views::render(&[table], render, &[]).map_err(Problem::internal)
    })
    .await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !content_type.starts_with("text/html") {
        let extension = if content_type.starts_with("text/csv") { "csv" } else { "xlsx" };
        let disposition = format!("attachment; filename=\"statement-{id}.{extension}\"");
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(Problem::internal)?);
    }
    Ok(response)
}
