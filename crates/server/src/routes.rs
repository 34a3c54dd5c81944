//! The handlers. Each reads the principal ([`Auth`]), checks the action its route needs,
//! and touches only the principal's tenant: control rows by `principal.tenant.id`, data
//! through that tenant's store. Store work runs on blocking threads.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tieout_core::reconcile::Category;
use tieout_service::audit::actions;
use tieout_service::differences::{Act, ActError, Resolution};
use tieout_service::jobs::{JobSpec, NamedText, ProfileChoice};
use tieout_service::report::Filter;
use tieout_service::team::{self, Action, LoginError, Principal, Role, TeamError};
use tieout_service::views::{self, OrderResultView, RenderFormat, ReportName, SettlementView};
use tieout_service::{ResultFilter, Store};

use crate::audit;
use crate::auth::{Auth, SESSION_COOKIE};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    let router = Router::new()
        .route("/api/health", get(health))
        .route("/api/ready", get(ready))
        .route("/api/openapi.json", get(openapi))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/tokens", get(tokens).post(create_token))
        .route("/api/tokens/{id}", delete(revoke_token))
        .route("/api/users", get(users).post(add_user))
        .route("/api/users/{id}", patch(change_user))
        .route("/api/organisations", get(organisations).post(add_organisation))
        .route("/api/stores", get(stores).post(add_store))
        .route("/api/uploads", get(uploads).post(upload))
        .route("/api/reconcile", post(reconcile))
        .route("/api/jobs", get(jobs))
        .route("/api/jobs/{id}", get(job))
        .route("/api/orders", get(orders))
        .route("/api/differences", get(differences))
        .route("/api/orders/{order_id}/explain", get(explain_order))
        .route("/api/settlements", get(settlements))
        .route("/api/settlements/{id}/explain", get(explain_settlement))
        .route("/api/receipts", get(receipts))
        .route("/api/receipts/resolve", post(resolve_receipts))
        .route("/api/receipts/reopen", post(reopen_receipts))
        .route("/api/reports/{name}", get(report))
        .route("/api/dashboard", get(dashboard))
        .route("/api/differences/resolve", post(resolve))
        .route("/api/differences/reopen", post(reopen))
        .route("/api/differences/assign", post(assign))
        .route("/api/rules", get(rules).put(replace_rules));
    router.fallback(|| async { Problem::not_found("no such route") })
}

/// Runs store work on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work).await?
}

fn team_problem(error: TeamError) -> Problem {
    match error {
        TeamError::Store(error) => Problem::internal(error),
        TeamError::Hash(error) => Problem::internal(error),
        TeamError::Exists(what) => Problem::conflict(format!("{what} already exists")),
        other => Problem::bad_request(other.to_string()),
    }
}

/// The request body as JSON: 415 unless it says application/json, 400 when it does not parse.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|error| Problem::bad_request(format!("the JSON body is not right: {error}")))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let backend = state.backend.clone();
    let engine = backend.engine();
    blocking(move || {
        backend.ready().map_err(|error| {
            tracing::warn!(%error, "not ready");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Not ready", "the database does not answer")
        })
    })
    .await?;
    Ok(Json(json!({ "status": "ready", "database": engine })))
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub tenant: String,
    pub email: String,
    pub password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let request: LoginRequest = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let now = (state.clock)();
    let address = peer.ip().to_string();
    let signed = blocking(move || {
        let mut control = backend.control()?;
        team::login(control.as_mut(), &request.tenant, &request.email, &request.password, &address, now).map_err(
            |error| match error {
                LoginError::Invalid => {
                    Problem::new(StatusCode::UNAUTHORIZED, "sign-in-failed", "Sign-in failed", error.to_string())
                }
                LoginError::Throttled { retry_after_seconds } => {
                    let mut problem = Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "throttled",
                        "Too many attempts",
                        error.to_string(),
                    );
                    problem.retry_after_seconds = Some(retry_after_seconds);
                    problem
                }
                LoginError::Store(error) => Problem::internal(error),
            },
        )
    })
    .await?;
    let max_age = signed.expires_at - now;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
        signed.cookie_value
    );
    let body = json!({
        "tenant": { "id": signed.tenant.id, "slug": signed.tenant.slug, "name": signed.tenant.name },
        "user": { "id": signed.user.id, "email": signed.user.email, "display_name": signed.user.display_name, "role": signed.user.role },
        "csrf_token": signed.csrf_token,
        "expires_at": signed.expires_at,
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(Problem::internal)?);
    Ok(response)
}

async fn logout(State(state): State<AppState>, auth: Auth, headers: HeaderMap) -> ApiResult<Response> {
    let _ = auth;
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(str::to_owned));
    let backend = state.backend.clone();
    if let Some(cookie) = cookie {
        blocking(move || Ok(team::logout(backend.control()?.as_mut(), &cookie)?)).await?;
    }
    crate::auth::forget_principals();
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("tieout_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

fn principal_json(principal: &Principal) -> Value {
    json!({
        "tenant": { "id": principal.tenant.id, "slug": principal.tenant.slug, "name": principal.tenant.name },
        "user": { "id": principal.user.id, "email": principal.user.email, "display_name": principal.user.display_name },
        "role": principal.role.name(),
        "stores": principal.stores,
        "csrf_token": principal.csrf_token,
    })
}

async fn me(auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    Ok(Json(principal_json(&auth.0)))
}

async fn tokens(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let (tenant, user) = (auth.0.tenant.id, auth.0.user.id);
    let tokens = blocking(move || Ok(backend.control()?.api_tokens(tenant, user)?)).await?;
    let items: Vec<Value> = tokens
        .iter()
        .map(|t| json!({ "id": t.id, "name": t.name, "created_at": t.created_at, "revoked": t.revoked }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub name: String,
}

async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    auth.require(Action::Read)?;
    let request: TokenRequest = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let (tenant, user, now) = (principal.tenant.id, principal.user.id, (state.clock)());
    let (id, token) = blocking(move || {
        let (id, token) = team::create_token(backend.control()?.as_mut(), tenant, user, &request.name, now)?;
        // The token itself is never recorded.
        let after = json!({ "name": request.name, "user_id": user });
        audit::record(&backend, &principal, actions::TOKEN_CREATE, "token", &id.to_string(), None, Some(after), now)?;
        Ok((id, token))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "token": token, "note": "shown once: store it now" })))
        .into_response())
}

async fn revoke_token(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let now = (state.clock)();
    blocking(move || {
        let mut control = backend.control()?;
        let token =
            control.api_token(principal.tenant.id, id)?.ok_or_else(|| Problem::not_found(format!("token {id}")))?;
        if token.user_id != principal.user.id && !principal.may(Action::Administer) {
            return Err(Problem::not_found(format!("token {id}")));
        }
        let revoked = control.revoke_api_token(principal.tenant.id, id, now)?;
        crate::auth::forget_principals();
        if revoked {
            let state = |revoked: bool| json!({ "name": token.name, "user_id": token.user_id, "revoked": revoked });
            let (before, after) = (Some(state(false)), Some(state(true)));
            audit::record(&backend, &principal, actions::TOKEN_REVOKE, "token", &id.to_string(), before, after, now)?;
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

fn user_json(user: &tieout_service::control::User) -> Value {
    json!({ "id": user.id, "email": user.email, "display_name": user.display_name, "role": user.role, "disabled": user.disabled })
}

async fn users(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Administer)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let users = blocking(move || Ok(backend.control()?.users(tenant)?)).await?;
    Ok(Json(json!({ "items": users.iter().map(user_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserRequest {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password: String,
}

async fn add_user(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    auth.require(Action::Administer)?;
    let request: UserRequest = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let (tenant, now) = (principal.tenant.id, (state.clock)());
    let user = blocking(move || {
        let user = team::add_user(
            backend.control()?.as_mut(),
            tenant,
            &request.email,
            &request.display_name,
            &request.role,
            &request.password,
            now,
        )
        .map_err(team_problem)?;
        let after = Some(tieout_service::audit::user_state(&user, &[], &[]));
        audit::record(&backend, &principal, actions::USER_ADD, "user", &user.id.to_string(), None, after, now)?;
        Ok(user)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    pub role: Option<String>,
    pub disabled: Option<bool>,
    /// Organisation ids and store ids the role is limited to; both empty: the whole tenant.
    pub organisations: Option<Vec<i64>>,
    pub stores: Option<Vec<i64>>,
}

async fn change_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Administer)?;
    let change: UserChange = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let (tenant, now) = (principal.tenant.id, (state.clock)());
    let user = blocking(move || {
        let mut control = backend.control()?;
        let user_state = |control: &mut tieout_service::backend::Control, user: &tieout_service::control::User| {
            let scope = control.user_scope(tenant, user.id)?;
            ApiResult::Ok(tieout_service::audit::user_state(user, &scope.organisations, &scope.stores))
        };
        let old = control.user(tenant, id)?.ok_or_else(|| Problem::not_found(format!("user {id}")))?;
        let before = user_state(&mut control, &old)?;
        if let Some(role) = &change.role {
            let role = Role::parse(role).ok_or_else(|| team_problem(TeamError::UnknownRole(role.clone())))?;
            control.set_user_role(tenant, id, role.name())?;
        }
        if let Some(disabled) = change.disabled {
            control.set_user_disabled(tenant, id, disabled)?;
        }
        if change.organisations.is_some() || change.stores.is_some() {
            let scope = tieout_service::control::Scope {
                organisations: change.organisations.unwrap_or_default(),
                stores: change.stores.unwrap_or_default(),
            };
            let known_organisations: Vec<i64> = control.organisations(tenant)?.iter().map(|o| o.id).collect();
            let known_stores: Vec<i64> = control.stores(tenant)?.iter().map(|s| s.id).collect();
            if !scope.organisations.iter().all(|o| known_organisations.contains(o))
                || !scope.stores.iter().all(|s| known_stores.contains(s))
            {
                return Err(Problem::bad_request("the scope names an organisation or store this tenant does not have"));
            }
            control.set_user_scope(tenant, id, &scope)?;
        }
        let user = control.user(tenant, id)?.ok_or_else(|| Problem::not_found(format!("user {id}")))?;
        let after = user_state(&mut control, &user)?;
        drop(control);
        if after != before {
            let (before, after) = (Some(before), Some(after));
            audit::record(&backend, &principal, actions::USER_CHANGE, "user", &id.to_string(), before, after, now)?;
        }
        Ok(user)
    })
    .await?;
    crate::auth::forget_principals();
    Ok(Json(user_json(&user)))
}

async fn organisations(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let items = blocking(move || Ok(backend.control()?.organisations(tenant)?)).await?;
    let items: Vec<Value> =
        items.iter().map(|o| json!({ "id": o.id, "name": o.name, "parent_id": o.parent_id })).collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OrganisationRequest {
    pub name: String,
    pub parent_id: Option<i64>,
}

async fn add_organisation(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    auth.require(Action::Administer)?;
    let request: OrganisationRequest = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let principal = auth.0;
    let now = (state.clock)();
    let organisation = blocking(move || {
        let mut control = backend.control()?;
        let existing = control.organisations(tenant)?;
        if request.parent_id.is_some_and(|p| !existing.iter().any(|o| o.id == p)) {
            return Err(Problem::bad_request("parent_id names no organisation of this tenant"));
        }
        if existing.iter().any(|o| o.name == request.name) {
            return Err(Problem::conflict(format!("organisation '{}' already exists", request.name)));
        }
        let organisation = control.create_organisation(tenant, &request.name, request.parent_id)?;
        let after = json!({ "name": organisation.name, "parent_id": organisation.parent_id });
        let id = organisation.id.to_string();
        audit::record(&backend, &principal, actions::ORGANISATION_ADD, "organisation", &id, None, Some(after), now)?;
        Ok(organisation)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": organisation.id, "name": organisation.name, "parent_id": organisation.parent_id })),
    )
        .into_response())
}

async fn stores(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let items = blocking(move || Ok(backend.control()?.stores(principal.tenant.id)?)).await?;
    let items: Vec<Value> = items
        .iter()
        .filter(|s| principal_sees(&principal, &s.name))
        .map(|s| json!({ "id": s.id, "organisation_id": s.organisation_id, "name": s.name }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

fn principal_sees(principal: &Principal, store: &str) -> bool {
    principal.sees_store(store)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StoreRequest {
    pub organisation_id: i64,
    pub name: String,
}

async fn add_store(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    auth.require(Action::Administer)?;
    let request: StoreRequest = json_body(&headers, &body)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let principal = auth.0;
    let now = (state.clock)();
    let store = blocking(move || {
        let mut control = backend.control()?;
        if !control.organisations(tenant)?.iter().any(|o| o.id == request.organisation_id) {
            return Err(Problem::bad_request("organisation_id names no organisation of this tenant"));
        }
        if control.stores(tenant)?.iter().any(|s| s.name == request.name) {
            return Err(Problem::conflict(format!("store '{}' already exists", request.name)));
        }
        let store = control.create_store(tenant, request.organisation_id, &request.name)?;
        let after = json!({ "name": store.name, "organisation_id": store.organisation_id });
        audit::record(
            &backend,
            &principal,
            actions::STORE_ADD,
            "store",
            &store.id.to_string(),
            None,
            Some(after),
            now,
        )?;
        Ok(store)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": store.id, "organisation_id": store.organisation_id, "name": store.name })),
    )
        .into_response())
}

fn job_json(job: &tieout_service::control::Job) -> Value {
    json!({
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "attempts": job.attempts,
        "progress": { "done": job.progress_done, "total": job.progress_total, "message": job.message },
        "result": job.result.as_deref().and_then(|r| serde_json::from_str::<Value>(r).ok()),
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    })
}

/// Multipart: optional `store` (text) first, then one or more `file` parts. Each file is
/// read in chunks and refused as soon as the request passes the upload limit.
async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    auth.require(Action::Import)?;
    let mut multipart = multipart.map_err(|rejection| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("send the files as multipart/form-data ({rejection})"),
        )
    })?;
    let mut store_name: Option<String> = None;
    let mut mapping: Option<NamedText> = None;
    let mut profile: Option<ProfileChoice> = None;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0usize;
    let too_large = |limit: usize| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Upload too large",
            format!("an upload may hold up to {limit} bytes; nothing was stored"),
        )
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large(state.upload_bytes_max))
            }
            Err(error) => return Err(Problem::bad_request(format!("the multipart body cannot be read: {error}"))),
        };
        match field.name().unwrap_or("") {
            "store" => {
                let text = field.text().await.map_err(|e| Problem::bad_request(format!("store: {e}")))?;
                let text = text.trim().to_owned();
                store_name = (!text.is_empty()).then_some(text);
            }
            "mapping" | "profile" => {
                let field_name = field.name().unwrap_or("").to_owned();
                let file_name = field.file_name().map(str::to_owned);
                let text = field.text().await.map_err(|e| Problem::bad_request(format!("{field_name}: {e}")))?;
                if text.len() > 1024 * 1024 {
                    return Err(Problem::bad_request(format!("{field_name}: a mapping or profile is at most 1 MiB")));
                }
                match (field_name.as_str(), file_name) {
                    ("mapping", Some(name)) => mapping = Some(NamedText { name, text }),
                    ("mapping", None) => mapping = Some(NamedText { name: "mapping.toml".to_owned(), text }),
                    (_, Some(name)) => profile = Some(ProfileChoice::File(NamedText { name, text })),
                    (_, None) => profile = Some(ProfileChoice::BuiltIn(text.trim().to_owned())),
                }
            }
            "file" => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let mut field = field;
                let mut content = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            total += chunk.len();
                            if total > state.upload_bytes_max {
                                return Err(too_large(state.upload_bytes_max));
                            }
                            content.extend_from_slice(&chunk);
                        }
                        Ok(None) => break,
                        Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                            return Err(too_large(state.upload_bytes_max))
                        }
                        Err(error) => return Err(Problem::bad_request(format!("file {name}: {error}"))),
                    }
                }
                files.push((name, content));
            }
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown form field '{other}': send 'store', 'mapping', 'profile' and 'file' parts"
                )))
            }
        }
    }
    if files.is_empty() {
        return Err(Problem::bad_request("no 'file' part in the upload"));
    }
    // A mapping or profile that cannot be read is refused now, before anything is stored.
    tieout_service::jobs::import_settings(mapping.as_ref(), profile.as_ref()).map_err(Problem::bad_request)?;
    let principal = auth.0;
    match &store_name {
        Some(name) if !principal.sees_store(name) => {
            return Err(Problem::forbidden(format!("your role does not cover the store '{name}'")))
        }
        None if principal.stores.is_some() => {
            return Err(Problem::forbidden("your role covers some stores only: name the store of the upload"))
        }
        _ => {}
    }
    let backend = state.backend.clone();
    let now = (state.clock)();
    let job = blocking(move || {
        let mut control = backend.control()?;
        let mut ids = Vec::new();
        for (name, content) in &files {
            let sha256: String = Sha256::digest(content).iter().map(|b| format!("{b:02x}")).collect();
            let upload = control.create_upload(
                principal.tenant.id,
                &tieout_service::jobs::safe_name(name),
                &sha256,
                store_name.as_deref(),
                content,
                principal.user.id,
                now,
            )?;
            ids.push(upload.id);
        }
        let spec = JobSpec::Import { uploads: ids, mapping, profile };
        let payload = serde_json::to_string(&spec).map_err(Problem::internal)?;
        Ok(control.enqueue_job(principal.tenant.id, spec.kind(), &payload, principal.user.id, now)?)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response())
}

async fn uploads(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let items = blocking(move || Ok(backend.control()?.uploads(principal.tenant.id)?)).await?;
    let items: Vec<Value> = items
        .iter()
        .map(|u| json!({ "id": u.id, "name": u.name, "sha256": u.sha256, "size_bytes": u.size_bytes, "store": u.store, "created_at": u.created_at }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct ReconcileRequest {
    /// The day to reconcile as of (ISO date); default: today (UTC).
    pub as_of: Option<String>,
}

async fn reconcile(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    auth.require(Action::Import)?;
    let request: ReconcileRequest =
        if body.is_empty() { ReconcileRequest::default() } else { json_body(&headers, &body)? };
    let now = (state.clock)();
    let as_of = match request.as_of {
        Some(text) => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| Problem::bad_request(format!("as_of '{text}' is not a date like 2026-10-31")))?,
        None => chrono::DateTime::from_timestamp(now, 0).map(|t| t.date_naive()).unwrap_or_default(),
    };
    let backend = state.backend.clone();
    let principal = auth.0;
    let job = blocking(move || {
        let spec = JobSpec::Reconcile { as_of };
        let payload = serde_json::to_string(&spec).map_err(Problem::internal)?;
        Ok(backend.control()?.enqueue_job(principal.tenant.id, spec.kind(), &payload, principal.user.id, now)?)
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job_json(&job))).into_response())
}

async fn jobs(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let jobs = blocking(move || Ok(backend.control()?.jobs(tenant, 100)?)).await?;
    Ok(Json(json!({ "items": jobs.iter().map(job_json).collect::<Vec<_>>() })))
}

async fn job(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let job =
        blocking(move || backend.control()?.job(tenant, id)?.ok_or_else(|| Problem::not_found(format!("job {id}"))))
            .await?;
    Ok(Json(job_json(&job)))
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<usize>,
    pub category: Option<String>,
    pub store: Option<String>,
    pub marketplace: Option<String>,
    /// First and last day of the period (ISO dates).
    pub from: Option<String>,
    pub to: Option<String>,
    /// `open` or `resolved` (differences).
    pub state: Option<String>,
}

pub const PAGE_LIMIT_DEFAULT: usize = 100;
pub const PAGE_LIMIT_MAX: usize = 1000;

/// A cursor is the run it was read from and the last position seen: `RUN.POSITION`.
/// Opaque to clients; a cursor from an earlier run is refused (the pages would mix runs).
fn parse_cursor(cursor: &str) -> ApiResult<(i64, i64)> {
    let bad = || Problem::bad_request(format!("cursor '{cursor}' is not one this server gave"));
    let (run, position) = cursor.split_once('.').ok_or_else(bad)?;
    Ok((run.parse().map_err(|_| bad())?, position.parse().map_err(|_| bad())?))
}

fn page_limit(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(PAGE_LIMIT_DEFAULT),
        Some(0) => Err(Problem::bad_request("limit must be at least 1")),
        Some(n) if n > PAGE_LIMIT_MAX => Err(Problem::bad_request(format!("limit may be at most {PAGE_LIMIT_MAX}"))),
        Some(n) => Ok(n),
    }
}

fn parse_day(name: &str, text: Option<&str>) -> ApiResult<Option<chrono::NaiveDate>> {
    text.map(|t| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| Problem::bad_request(format!("{name} '{t}' is not a date like 2026-10-31")))
    })
    .transpose()
}

async fn orders(state: State<AppState>, auth: Auth, Query(query): Query<PageQuery>) -> ApiResult<Json<Value>> {
    result_page(state, auth, query, false).await
}

async fn differences(state: State<AppState>, auth: Auth, Query(query): Query<PageQuery>) -> ApiResult<Json<Value>> {
    result_page(state, auth, query, true).await
}

async fn result_page(
    State(state): State<AppState>,
    auth: Auth,
    query: PageQuery,
    differences_only: bool,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let limit = page_limit(query.limit)?;
    let category = query
        .category
        .as_deref()
        .map(|name| Category::from_name(name).ok_or_else(|| Problem::bad_request(format!("unknown category '{name}'"))))
        .transpose()?;
    let stores = scoped_stores(&auth.0, query.store.as_deref())?;
    let filter = ResultFilter {
        stores,
        marketplace: query.marketplace.clone(),
        category,
        differences_only,
        period_from: parse_day("from", query.from.as_deref())?,
        period_to: parse_day("to", query.to.as_deref())?,
    };
    let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let state_filter = match query.state.as_deref() {
        None => None,
        Some(state @ ("open" | "resolved")) => Some(state.to_owned()),
        Some(other) => return Err(Problem::bad_request(format!("state '{other}': open or resolved"))),
    };
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    blocking(move || {
        let store = backend.tenant_store(tenant)?;
        let Some(run) = store.latest_run()? else {
            return Ok(Json(json!({ "items": [], "next_cursor": null, "run_id": null })));
        };
        let after = match cursor {
            Some((run_id, _)) if run_id != run.id => {
                return Err(Problem::conflict(
                    "the cursor is from an earlier reconciliation run: start from the first page",
                ))
            }
            Some((_, position)) => Some(position),
            None => None,
        };
        let resolutions = tieout_service::differences::resolutions(store.as_ref())?;
        let names = user_names(&backend, tenant)?;
        // With a state filter, read on until the page is full (the state is not a column
        // of the results; actions on differences are few beside them).
        let mut items: Vec<Value> = Vec::with_capacity(limit);
        let mut position = after;
        let mut last_taken = None;
        let mut next = None;
        'pages: loop {
            let rows = store.order_results_page(&filter, position, limit + 1)?;
            for (at, row) in &rows {
                if items.len() == limit {
                    // A row remains after a full page: the next page starts after the last taken.
                    next = last_taken.map(|p: i64| format!("{}.{p}", run.id));
                    break 'pages;
                }
                position = Some(*at);
                let resolution = resolutions.get(&row.order_id);
                let state = resolution.map_or("open", |r| r.state);
                if state_filter.as_deref().is_some_and(|wanted| wanted != state) {
                    continue;
                }
                let mut item = serde_json::to_value(OrderResultView::from(row)).map_err(Problem::internal)?;
                item["resolution"] = resolution_json(resolution, &names);
                items.push(item);
                last_taken = Some(*at);
            }
            if rows.len() <= limit {
                break;
            }
        }
        Ok(Json(json!({ "items": items, "next_cursor": next, "run_id": run.id })))
    })
    .await
}

fn user_names(backend: &tieout_service::backend::Backend, tenant: i64) -> ApiResult<HashMap<i64, String>> {
    Ok(backend.control()?.users(tenant)?.into_iter().map(|u| (u.id, u.display_name)).collect())
}

fn user_ref(id: i64, names: &HashMap<i64, String>) -> Value {
    if id == tieout_service::differences::SYSTEM_USER {
        return json!({ "id": id, "display_name": tieout_service::audit::SYSTEM_ACTOR });
    }
    json!({ "id": id, "display_name": names.get(&id).cloned().unwrap_or_else(|| format!("user {id}")) })
}

fn resolution_json(resolution: Option<&Resolution>, names: &HashMap<i64, String>) -> Value {
    match resolution {
        None => Value::Null,
        Some(r) => json!({
            "state": r.state,
            "kind": r.kind,
            "reason": r.reason,
            "currency": r.currency,
            "ours": resolution_amount(r, r.ours_minor),
            "theirs": resolution_amount(r, r.theirs_minor),
            "amount": resolution_amount(r, r.amount_minor),
            "comment": r.comment,
            "assignee": r.assignee.map(|id| user_ref(id, names)),
            "by": user_ref(r.by_user, names),
            "at": r.at,
        }),
    }
}

/// An amount of a resolution as decimal text in its currency.
fn resolution_amount(resolution: &Resolution, minor: Option<i64>) -> Option<String> {
    let currency = tieout_core::Currency::from_code(resolution.currency.as_deref()?).ok()?;
    Some(views::amount(minor?, currency))
}

/// The stores a query may read: the one asked for (if the principal sees it), else all the
/// principal sees (`None`: every store).
fn scoped_stores(principal: &Principal, asked: Option<&str>) -> ApiResult<Option<Vec<String>>> {
    match asked {
        Some(store) if !principal.sees_store(store) => {
            Err(Problem::forbidden(format!("your role does not cover the store '{store}'")))
        }
        Some(store) => Ok(Some(vec![store.to_owned()])),
        None => Ok(principal.stores.clone()),
    }
}

async fn explain_order(
    State(state): State<AppState>,
    auth: Auth,
    Path(order_id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    blocking(move || {
        let store = backend.tenant_store(principal.tenant.id)?;
        let view = views::explain_order(store.as_ref(), &order_id, &|s| principal.sees_store(s))?
            .ok_or_else(|| Problem::not_found(format!("order {order_id}")))?;
        let names = user_names(&backend, principal.tenant.id)?;
        let id = tieout_core::ids::OrderId::parse(&order_id)
            .ok_or_else(|| Problem::not_found(format!("order {order_id}")))?;
        let history: Vec<Value> = store
            .difference_actions(Some(&id))?
            .into_iter()
            .map(|a| {
                let currency = a.currency.as_deref().and_then(|c| tieout_core::Currency::from_code(c).ok());
                let amount = |minor: Option<i64>| Some(views::amount(minor?, currency?));
                json!({
                    "action": a.action,
                    "kind": a.kind,
                    "reason": a.reason,
                    "currency": a.currency,
                    "ours": amount(a.ours_minor),
                    "theirs": amount(a.theirs_minor),
                    "amount": amount(a.amount_minor),
                    "comment": a.comment,
                    "assignee": a.assignee.map(|u| user_ref(u, &names)),
                    "by": user_ref(a.by_user, &names),
                    "at": a.at,
                })
            })
            .collect();
        let mut body = serde_json::to_value(view).map_err(Problem::internal)?;
        body["history"] = Value::Array(history);
        Ok(Json(body))
    })
    .await
}

async fn settlements(
    State(state): State<AppState>,
    auth: Auth,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let limit = page_limit(query.limit)?;
    let stores = scoped_stores(&auth.0, query.store.as_deref())?;
    // Settlements are keyed by Amazon's id: the cursor is the last id seen (run 0: they do
    // not depend on a run).
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?.map(|(_, id)| id as u64);
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    blocking(move || {
        let store = backend.tenant_store(tenant)?;
        let mut rows = store.settlements()?;
        rows.retain(|s| {
            stores.as_ref().is_none_or(|list| list.contains(&s.store)) && after.is_none_or(|a| s.settlement_id > a)
        });
        rows.sort_by_key(|s| s.settlement_id);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(|s| format!("0.{}", s.settlement_id)) } else { None };
        let items: Vec<SettlementView> = rows.iter().map(SettlementView::from).collect();
        Ok(Json(json!({ "items": items, "next_cursor": next })))
    })
    .await
}

async fn explain_settlement(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let settlement_id: u64 = id.parse().map_err(|_| Problem::not_found(format!("settlement {id}")))?;
    let backend = state.backend.clone();
    let principal = auth.0;
    blocking(move || {
        let store = backend.tenant_store(principal.tenant.id)?;
        let (view, text) = views::explain_settlement(store.as_ref(), settlement_id, &|s| principal.sees_store(s))?
            .ok_or_else(|| Problem::not_found(format!("settlement {settlement_id}")))?;
        Ok(Json(json!({ "settlement": view, "text": text })))
    })
    .await
}

async fn receipts(State(state): State<AppState>, auth: Auth, Query(query): Query<PageQuery>) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let limit = page_limit(query.limit)?;
    let store_filter = single_store(&auth.0, query.store.as_deref())?;
    let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let settings = state.settings.clone();
    blocking(move || {
        let store = backend.tenant_store(tenant)?;
        let Some(run) = store.latest_run()? else {
            return Ok(Json(json!({ "items": [], "next_cursor": null, "run_id": null })));
        };
        let after = match cursor {
            Some((run_id, _)) if run_id != run.id => {
                return Err(Problem::conflict(
                    "the cursor is from an earlier reconciliation run: start from the first page",
                ))
            }
            Some((_, position)) => position.max(0) as usize,
            None => 0,
        };
        let filter = Filter { store: store_filter, ..Filter::default() };
        let tables = views::report_tables(store.as_ref(), ReportName::Receipts, &filter, None, &settings.settings)
            .map_err(report_problem)?;
        let (_, bytes) = views::render(&tables, RenderFormat::Json, &[]).map_err(Problem::internal)?;
        let parsed: Value = serde_json::from_slice(&bytes).map_err(Problem::internal)?;
        let rows = parsed["tables"][0]["rows"].as_array().cloned().unwrap_or_default();
        let end = (after + limit).min(rows.len());
        let mut items = rows.get(after..end).map(<[Value]>::to_vec).unwrap_or_default();
        // Each row carries its key (a report column) and, by it, its resolution.
        let resolutions = tieout_service::receipt_differences::resolutions(store.as_ref())?;
        let names = user_names(&backend, tenant)?;
        for item in &mut items {
            let status = item["status"].as_str().and_then(tieout_core::receipts::ReceiptStatus::from_name);
            item["is_difference"] = json!(status.is_some_and(|s| s.is_difference()));
            let resolution = item["key"].as_str().and_then(|key| resolutions.get(key));
            item["resolution"] = resolution_json(resolution, &names);
        }
        let next = (end < rows.len()).then(|| format!("{}.{end}", run.id));
        Ok(Json(json!({ "items": items, "next_cursor": next, "run_id": run.id })))
    })
    .await
}

/// Reports take one store: a principal limited to some stores must name one of them.
fn single_store(principal: &Principal, asked: Option<&str>) -> ApiResult<Option<String>> {
    match (asked, &principal.stores) {
        (Some(store), _) if !principal.sees_store(store) => {
            Err(Problem::forbidden(format!("your role does not cover the store '{store}'")))
        }
        (Some(store), _) => Ok(Some(store.to_owned())),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Problem::forbidden("your role covers some stores only: name one with ?store=")),
    }
}

fn report_problem(error: views::ReportError) -> Problem {
    match error {
        views::ReportError::NotReconciled => Problem::conflict(error.to_string()),
        views::ReportError::Store(error) => Problem::internal(error),
    }
}

#[derive(Deserialize, Default)]
pub struct ReportQuery {
    pub format: Option<String>,
    /// A calendar month, `2026-10`.
    pub month: Option<String>,
    pub store: Option<String>,
    pub marketplace: Option<String>,
    pub category: Option<String>,
    pub as_of: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    auth.require(Action::Read)?;
    let report = ReportName::parse(&name).ok_or_else(|| Problem::not_found(format!("report '{name}'")))?;
    let format = match query.format.as_deref().unwrap_or("json") {
        "json" => RenderFormat::Json,
        "csv" => RenderFormat::Csv,
        "xlsx" => RenderFormat::Xlsx,
        other => return Err(Problem::bad_request(format!("format '{other}': one of json, csv, xlsx"))),
    };
    let period = query
        .month
        .as_deref()
        .map(|m| {
            let bad = || Problem::bad_request(format!("month '{m}' is not like 2026-10"));
            let (year, month) = m.split_once('-').ok_or_else(bad)?;
            let (year, month): (i32, u32) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
            if (1..=12).contains(&month) {
                Ok((year, month))
            } else {
                Err(bad())
            }
        })
        .transpose()?;
    let category = query
        .category
        .as_deref()
        .map(|c| Category::from_name(c).ok_or_else(|| Problem::bad_request(format!("unknown category '{c}'"))))
        .transpose()?;
    let store_filter = single_store(&auth.0, query.store.as_deref())?;
    let as_of = parse_day("as_of", query.as_of.as_deref())?;
    let filter = Filter { store: store_filter, marketplace: query.marketplace.clone(), period, category };
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let settings = state.settings.clone();
    let (content_type, bytes) = blocking(move || {
        let store = backend.tenant_store(tenant)?;
        let tables = if report == ReportName::Resolutions {
            // With the users' names (the store knows only their ids).
            let names = user_names(&backend, tenant)?;
            let visible = |s: &str| filter.store.as_deref().is_none_or(|wanted| wanted == s);
            vec![tieout_service::differences::resolutions_table(store.as_ref(), &visible, &|id| {
                names.get(&id).cloned()
            })?]
        } else {
            views::report_tables(store.as_ref(), report, &filter, as_of, &settings.settings).map_err(report_problem)?
        };
        let sources = views::sources(store.as_ref())?;
        views::render(&tables, format, &sources).map_err(Problem::internal)
    })
    .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if format != RenderFormat::Json {
        let extension = if format == RenderFormat::Csv { "csv" } else { "xlsx" };
        let disposition = format!("attachment; filename=\"{}.{extension}\"", report.name());
        headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(Problem::internal)?);
    }
    Ok(response)
}

#[allow(dead_code)]
fn _uses(_: &dyn Store) {}

async fn dashboard(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Read)?;
    let backend = state.backend.clone();
    let principal = auth.0;
    blocking(move || {
        let store = backend.tenant_store(principal.tenant.id)?;
        let dashboard = views::dashboard(store.as_ref(), &|s| principal.sees_store(s))?;
        Ok(Json(serde_json::to_value(dashboard).map_err(Problem::internal)?))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResolveRequest {
    pub order_ids: Vec<String>,
    /// accept (the difference stands, explained), adjust (an adjustment is booked, keeping
    /// ours and theirs) or write_off (the amount in question, within the role's
    /// `[write_off]` limit). Default: write_off when the reason is `written_off`, else accept.
    #[serde(default)]
    pub resolution: Option<String>,
    /// accept / adjust: timing, fee_dispute, duplicate_confirmed, data_error or other;
    /// write_off: small_difference, rounding, bank_charges, goodwill, written_off or other.
    pub reason: String,
    #[serde(default)]
    pub comment: String,
    /// adjust of one order: the adjustment to book (decimal, the order's currency);
    /// default: settled − order amount.
    #[serde(default)]
    pub adjustment: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReopenRequest {
    pub order_ids: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    pub order_ids: Vec<String>,
    /// A user of the tenant, or null to unassign.
    pub user_id: Option<i64>,
}

async fn act_on_differences(state: AppState, principal: Principal, orders: Vec<String>, act: Act) -> ApiResult<usize> {
    let backend = state.backend.clone();
    let now = (state.clock)();
    blocking(move || {
        if let Act::Assign { user: Some(user) } = &act {
            if backend.control()?.user(principal.tenant.id, *user)?.is_none() {
                return Err(Problem::bad_request(format!("user {user} is not a user of this tenant")));
            }
        }
        let mut store = backend.tenant_store(principal.tenant.id)?;
        let before = tieout_service::differences::resolutions(store.as_ref())?;
        let limits = &state.settings.settings.write_off;
        let role = principal.role.name();
        let count = tieout_service::differences::act(
            store.as_mut(),
            &orders,
            &act,
            principal.user.id,
            now,
            &|s| principal.sees_store(s),
            &|currency| limits.limit_minor(role, currency),
        )
        .map_err(act_problem)?;
        let after = tieout_service::differences::resolutions(store.as_ref())?;
        let actor = (principal.user.id, principal.user.display_name.as_str());
        let mut control = backend.control()?;
        let tenant = principal.tenant.id;
        tieout_service::audit::record_difference_act(
            control.as_mut(),
            tenant,
            Some(actor),
            &act,
            &orders,
            &before,
            &after,
            now,
        )?;
        Ok(count)
    })
    .await
}

async fn resolve(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    auth.require(Action::Resolve)?;
    let request: ResolveRequest = json_body(&headers, &body)?;
    let act = resolve_act(request.resolution.as_deref(), request.reason, request.comment, request.adjustment)?;
    let count = act_on_differences(state, auth.0, request.order_ids, act).await?;
    Ok(Json(json!({ "resolved": count })))
}

async fn reopen(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    auth.require(Action::Resolve)?;
    let request: ReopenRequest = json_body(&headers, &body)?;
    let count = act_on_differences(state, auth.0, request.order_ids, Act::Reopen { comment: request.comment }).await?;
    Ok(Json(json!({ "reopened": count })))
}

async fn assign(State(state): State<AppState>, auth: Auth, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Value>> {
    auth.require(Action::Resolve)?;
    let request: AssignRequest = json_body(&headers, &body)?;
    let count = act_on_differences(state, auth.0, request.order_ids, Act::Assign { user: request.user_id }).await?;
    Ok(Json(json!({ "assigned": count })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReceiptResolveRequest {
    /// Keys of payout ↔ receipt differences of the latest run, as `GET /api/receipts`
    /// gives them: `payout:<settlement id>`, `withdrawal:<entry id>`, `receipt:<entry id>`.
    pub keys: Vec<String>,
    /// accept (the difference stands, explained), adjust (an adjustment is booked, keeping
    /// expected and received) or write_off (|received − expected|, within the role's
    /// `[write_off]` limit). Default: write_off when the reason is `written_off`, else accept.
    #[serde(default)]
    pub resolution: Option<String>,
    /// accept / adjust: timing, fee_dispute, duplicate_confirmed, data_error or other;
    /// write_off: small_difference, rounding, bank_charges, goodwill, written_off or other.
    pub reason: String,
    #[serde(default)]
    pub comment: String,
    /// adjust of one difference: the adjustment to book (decimal, the expected currency);
    /// default: received − expected.
    #[serde(default)]
    pub adjustment: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReceiptReopenRequest {
    pub keys: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

/// The resolve act a request asks for (its kind named, or implied by its reason).
fn resolve_act(kind: Option<&str>, reason: String, comment: String, adjustment: Option<String>) -> ApiResult<Act> {
    let kind = tieout_service::differences::Kind::for_reason(kind, &reason)
        .map_err(|error| Problem::bad_request(error.to_string()))?;
    Ok(Act::Resolve { kind, reason, comment, adjustment })
}

fn act_problem(error: ActError) -> Problem {
    match error {
        ActError::Store(error) => Problem::internal(error),
        ActError::NotDifferences(_) => Problem::conflict(error.to_string()),
        ActError::OverLimit(_) => Problem::forbidden(error.to_string()),
        other => Problem::bad_request(other.to_string()),
    }
}

/// Resolves or reopens payout ↔ receipt differences (all or none) and records one audit
/// entry per difference.
async fn act_on_receipts(state: AppState, principal: Principal, keys: Vec<String>, act: Act) -> ApiResult<usize> {
    use tieout_service::receipt_differences as receipts;
    let backend = state.backend.clone();
    let now = (state.clock)();
    blocking(move || {
        let mut store = backend.tenant_store(principal.tenant.id)?;
        let before = receipts::resolutions(store.as_ref())?;
        let limits = &state.settings.settings.write_off;
        let role = principal.role.name();
        let count = receipts::act(
            store.as_mut(),
            &keys,
            &act,
            principal.user.id,
            now,
            &|s| principal.sees_store(s),
            &|currency| limits.limit_minor(role, currency),
        )
        .map_err(act_problem)?;
        let after = receipts::resolutions(store.as_ref())?;
        let actor = (principal.user.id, principal.user.display_name.as_str());
        let mut control = backend.control()?;
        tieout_service::audit::record_receipt_act(
            control.as_mut(),
            principal.tenant.id,
            Some(actor),
            &act,
            &keys,
            &before,
            &after,
            now,
        )?;
        Ok(count)
    })
    .await
}

async fn resolve_receipts(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Resolve)?;
    let request: ReceiptResolveRequest = json_body(&headers, &body)?;
    let act = resolve_act(request.resolution.as_deref(), request.reason, request.comment, request.adjustment)?;
    let count = act_on_receipts(state, auth.0, request.keys, act).await?;
    Ok(Json(json!({ "resolved": count })))
}

async fn reopen_receipts(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Resolve)?;
    let request: ReceiptReopenRequest = json_body(&headers, &body)?;
    let count = act_on_receipts(state, auth.0, request.keys, Act::Reopen { comment: request.comment }).await?;
    Ok(Json(json!({ "reopened": count })))
}

async fn rules(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require(Action::Administer)?;
    let backend = state.backend.clone();
    let tenant = auth.0.tenant.id;
    let own =
        blocking(move || Ok(backend.control()?.tenant_setting(tenant, tieout_service::jobs::RULES_SETTING)?)).await?;
    Ok(Json(match own {
        Some(text) => json!({ "text": text, "built_in": false }),
        None => json!({ "text": tieout_service::rules::DEFAULT_RULES, "built_in": true }),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RulesRequest {
    /// The rules as TOML (`tieout rules show` prints the built-in ones).
    pub text: String,
}

async fn replace_rules(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    auth.require(Action::Administer)?;
    let request: RulesRequest = json_body(&headers, &body)?;
    if request.text.len() > 256 * 1024 {
        return Err(Problem::bad_request("rules may hold up to 256 KiB"));
    }
    // Refused with the file, line and column of the first error; nothing stored.
    let rules = tieout_service::rules::parse_rules(tieout_service::jobs::RULES_FILE_NAME, &request.text)
        .map_err(|error| Problem::bad_request(error.to_string()))?;
    let backend = state.backend.clone();
    let principal = auth.0;
    let (tenant, user, now) = (principal.tenant.id, principal.user.id, (state.clock)());
    let text = request.text.clone();
    blocking(move || {
        let key = tieout_service::jobs::RULES_SETTING;
        let mut control = backend.control()?;
        let old = control.tenant_setting(tenant, key)?;
        control.set_tenant_setting(tenant, key, &text, user, now)?;
        drop(control);
        let (before, after) = (old.map(Value::String), Some(Value::String(text)));
        audit::record(&backend, &principal, actions::RULES_REPLACE, "setting", key, before, after, now)
    })
    .await?;
    Ok(Json(json!({
        "text": request.text,
        "built_in": false,
        "receipt_rules": rules.rules.len(),
        "withdrawal_rules": rules.withdrawal_rules.len(),
    })))
}
