//! tieout-server: the team server — an HTTP API over the use cases, with sign-in,
//! tenants and roles, and background jobs.
//!
//! What it is: the axum router ([`router`]), authentication ([`auth`]), RFC 9457 errors
//! ([`problem`]), the OpenAPI document ([`openapi`]), the job workers ([`spawn_workers`])
//! and the web UI's files ([`ui`]: a single-page app over the same API, compiled in).
//! Every route is declared once in [`ROUTES`] with the action it needs, so the router,
//! the OpenAPI document and the tenancy tests all enumerate the same list.
//!
//! What it is not: it stores nothing itself and decides nothing — storage is reached
//! through `tieout-service` (which owns the engines), and it reads no clock or
//! environment (the binary passes a clock and the settings).

mod alerts;
mod audit;
pub mod auth;
pub mod openapi;
pub mod problem;
mod routes;
mod statements;
pub mod ui;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request};
use axum::Router;
use tieout_service::backend::Backend;
use tieout_service::jobs::JobSettings;
use tieout_service::team::Action;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The wall clock as Unix seconds, passed in by the binary (tests pass their own).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Largest upload of one request, all files together.
pub const UPLOAD_BYTES_MAX_DEFAULT: usize = 256 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<Backend>,
    pub clock: Clock,
    pub settings: Arc<JobSettings>,
    pub upload_bytes_max: usize,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

/// Who may call a route: nobody needs to be signed in, or the action it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    Signed(Action),
}

/// One route: method, path (axum syntax), the access it needs, and a summary for the
/// OpenAPI document.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

const fn route(method: &'static str, path: &'static str, access: Access, summary: &'static str) -> RouteSpec {
    RouteSpec { method, path, access, summary }
}

use Access::{Public, Signed};
use Action::{Administer, Import, Read, Resolve, SignOff};

/// Every route of the API.
pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/api/health", Public, "Liveness: the process answers"),
    route("GET", "/api/ready", Public, "Readiness: the databases answer"),
    route("GET", "/api/openapi.json", Public, "This document"),
    route("POST", "/api/login", Public, "Sign in (tenant, e-mail, password): sets the session cookie"),
    route("POST", "/api/logout", Signed(Read), "Sign out"),
    route("GET", "/api/me", Signed(Read), "The signed-in user, role, visible stores and CSRF token"),
    route("GET", "/api/tokens", Signed(Read), "The caller's API tokens"),
    route("POST", "/api/tokens", Signed(Read), "Create an API token for the caller (shown once)"),
    route("DELETE", "/api/tokens/{id}", Signed(Read), "Revoke one of the caller's tokens (admins: any)"),
    route("GET", "/api/users", Signed(Administer), "The tenant's users"),
    route("POST", "/api/users", Signed(Administer), "Add a user"),
    route("PATCH", "/api/users/{id}", Signed(Administer), "Change a user's role, scope or disabled flag"),
    route("GET", "/api/organisations", Signed(Read), "Organisations (headquarters and branches)"),
    route("POST", "/api/organisations", Signed(Administer), "Add an organisation"),
    route("GET", "/api/stores", Signed(Read), "The stores the caller may see"),
    route("POST", "/api/stores", Signed(Administer), "Add a store to an organisation"),
    route("POST", "/api/uploads", Signed(Import), "Upload files (multipart) and queue their import"),
    route("GET", "/api/uploads", Signed(Read), "Uploaded files"),
    route("POST", "/api/reconcile", Signed(Import), "Queue a reconciliation run"),
    route("GET", "/api/jobs", Signed(Read), "Latest jobs with progress"),
    route("GET", "/api/jobs/{id}", Signed(Read), "One job: state, progress, result"),
    route("GET", "/api/orders", Signed(Read), "Order results of the latest run (keyset pages)"),
    route("GET", "/api/differences", Signed(Read), "Orders with a difference (keyset pages)"),
    route("GET", "/api/orders/{order_id}/explain", Signed(Read), "One order's chain down to the source lines"),
    route("GET", "/api/settlements", Signed(Read), "Settlements (keyset pages)"),
    route("GET", "/api/settlements/{id}/explain", Signed(Read), "A settlement's chain: payout, receipt, bank"),
    route(
        "GET",
        "/api/receipts",
        Signed(Read),
        "Payout, withdrawal and receipt results with their key and resolution (pages)",
    ),
    route(
        "POST",
        "/api/receipts/resolve",
        Signed(Resolve),
        "Accept, adjust or write off payout ↔ receipt differences by key (write-offs within limits)",
    ),
    route("POST", "/api/receipts/reopen", Signed(Resolve), "Reopen resolved payout ↔ receipt differences"),
    route("GET", "/api/reports/{name}", Signed(Read), "A report as JSON, CSV or XLSX"),
    route(
        "GET",
        "/api/dashboard",
        Signed(Read),
        "Per store and marketplace: settled, pending, unsettled, not transferred, missing; 12 months",
    ),
    route("POST", "/api/differences/resolve", Signed(Resolve), "Resolve differences with a reason and a comment"),
    route("POST", "/api/differences/reopen", Signed(Resolve), "Reopen resolved differences"),
    route("POST", "/api/differences/assign", Signed(Resolve), "Assign differences to a user (or unassign)"),
    route("GET", "/api/rules", Signed(Administer), "The tenant's matching rules (TOML)"),
    route(
        "PUT",
        "/api/rules",
        Signed(Administer),
        "Replace the tenant's matching rules (validated; errors name line and column)",
    ),
    route("GET", "/api/audit", Signed(SignOff), "The tenant's audit log in seq order (pages: after=SEQ, limit)"),
    route("GET", "/api/audit/verify", Signed(SignOff), "Verify the audit log's hash chain: first broken link, head"),
    route("GET", "/api/statements", Signed(Read), "Statements with counterparties (往来对账单)"),
    route("POST", "/api/statements", Signed(Import), "Draw up a statement for a counterparty and period"),
    route(
        "GET",
        "/api/statements/{id}",
        Signed(Read),
        "A statement: lines, totals, differences with the counterparty's",
    ),
    route(
        "POST",
        "/api/statements/{id}/transition",
        Signed(Read),
        "Move a statement (each transition needs its own role)",
    ),
    route(
        "POST",
        "/api/statements/{id}/counterparty",
        Signed(Import),
        "Import the counterparty's own statement (text/csv)",
    ),
    route(
        "POST",
        "/api/statements/{id}/resolve",
        Signed(Resolve),
        "Accept, adjust or write off a difference (within limits)",
    ),
    route("GET", "/api/statements/{id}/export", Signed(Read), "A statement as XLSX, CSV or a printable page (html)"),
    route("GET", "/api/alerts/config", Signed(Administer), "The tenant's alert configuration (TOML; secrets masked)"),
    route(
        "PUT",
        "/api/alerts/config",
        Signed(Administer),
        "Replace the alert configuration (validated; errors name line and column; a masked secret keeps the stored one)",
    ),
    route("GET", "/api/alerts/deliveries", Signed(SignOff), "The alert delivery log: webhooks and e-mails, attempts, errors"),
];

/// The router with every route of [`ROUTES`] and the web UI, request ids, tracing and
/// body limits.
pub fn router(state: AppState) -> Router {
    let upload_limit = state.upload_bytes_max + 64 * 1024;
    routes::routes()
        .merge(statements::routes())
        .merge(audit::routes())
        .merge(alerts::routes())
        .merge(ui::routes())
        .layer(axum::middleware::map_response(problem::as_problem))
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-")
                .to_owned();
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(Sequential::default()))
        .with_state(state)
}

/// Request ids: the process's start and a counter (unique per process, cheap, sortable).
#[derive(Clone, Default)]
struct Sequential {
    next: Arc<AtomicU64>,
}

impl MakeRequestId for Sequential {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", std::process::id())).ok().map(RequestId::new)
    }
}

/// Starts `count` job workers: each claims a job from the database, runs it on a blocking
/// thread, and sleeps a moment when the queue is empty. With any worker, one more loop
/// delivers due alerts ([`spawn_alert_deliverer`]). They stop when `stop` is set.
pub fn spawn_workers(state: &AppState, count: usize, stop: tokio::sync::watch::Receiver<bool>) {
    if count > 0 {
        spawn_alert_deliverer(state, stop.clone());
    }
    for index in 0..count {
        let state = state.clone();
        let mut stop = stop.clone();
        let owner = format!("{}-{index}", std::process::id());
        tokio::spawn(async move {
            loop {
                if *stop.borrow() {
                    break;
                }
                let backend = state.backend.clone();
                let settings = state.settings.clone();
                let clock = state.clock.clone();
                let owner = owner.clone();
                let ran = tokio::task::spawn_blocking(move || {
                    tieout_service::jobs::run_next_job(&backend, &settings, &owner, &*clock)
                })
                .await;
                let idle = match ran {
                    Ok(Ok(Some(_))) => false,
                    Ok(Ok(None)) => true,
                    Ok(Err(error)) => {
                        tracing::error!(%error, "job worker: store error");
                        true
                    }
                    Err(error) => {
                        tracing::error!(%error, "job worker panicked");
                        true
                    }
                };
                if idle {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        });
    }
}

/// Alert deliveries attempted per turn of the deliverer before it looks at `stop` again.
const DELIVERIES_PER_TURN: usize = 20;

/// Starts the loop that delivers due alerts (webhooks and e-mails) on a blocking thread,
/// a turn at a time, sleeping a moment when nothing is due; deliveries are claimed in the
/// database, so the loops of several server processes share the work.
pub fn spawn_alert_deliverer(state: &AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let state = state.clone();
    let owner = format!("{}-alerts", std::process::id());
    tokio::spawn(async move {
        loop {
            if *stop.borrow() {
                break;
            }
            let backend = state.backend.clone();
            let clock = state.clock.clone();
            let owner = owner.clone();
            let ran = tokio::task::spawn_blocking(move || {
                tieout_service::alerts::deliver_due(&backend, &owner, &*clock, DELIVERIES_PER_TURN)
            })
            .await;
            let idle = match ran {
                Ok(Ok(attempted)) => attempted < DELIVERIES_PER_TURN,
                Ok(Err(error)) => {
                    tracing::error!(%error, "alert deliverer: store error");
                    true
                }
                Err(error) => {
                    tracing::error!(%error, "alert deliverer panicked");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    });
}

/// Serves until `shutdown` completes, with `workers` job workers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    workers: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_sender, stop) = tokio::sync::watch::channel(false);
    spawn_workers(&state, workers, stop);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    let _ = stop_sender.send(true);
    result
}
