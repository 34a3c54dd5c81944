//! Who a request is: a browser session (cookie `tieout_session`, HttpOnly, SameSite=Strict)
//! or a script's API token (`Authorization: Bearer tieout_…`). Requests that change
//! something on a session must also carry the session's CSRF token in `X-CSRF-Token`
//! (a synchronizer token bound to the session); token requests need none, since a
//! browser never attaches a bearer token by itself.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use tieout_service::team::{self, Action, Principal};

use crate::problem::Problem;
use crate::AppState;

pub const SESSION_COOKIE: &str = "tieout_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in principal of a request.
pub struct Auth(pub Principal);

impl Auth {
    pub fn require(&self, action: Action) -> Result<(), Problem> {
        if self.0.may(action) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "the role {} may not do this (it needs {} or above)",
                self.0.role.name(),
                tieout_service::team::Role::least_for(action).name()
            )))
        }
    }
}

pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_owned())
        })
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, Problem> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let cookie = session_cookie(parts);
        let backend = state.backend.clone();
        let now = (state.clock)();
        let key = bearer.as_deref().or(cookie.as_deref()).map(|credential| cache_key(state, credential));
        let cached = key.as_ref().and_then(|key| cached_principal(key, now));
        let lookup_key = key.clone();
        let principal = if cached.is_some() {
            cached
        } else {
            let found = tokio::task::spawn_blocking(move || -> Result<Option<Principal>, Problem> {
                let mut control = backend.control()?;
                if let Some(token) = bearer {
                    return Ok(team::principal_of_token(control.as_mut(), &token)?);
                }
                match cookie {
                    Some(cookie) => Ok(team::principal_of_session(control.as_mut(), &cookie, now)?),
                    None => Ok(None),
                }
            })
            .await??;
            if let (Some(key), Some(principal)) = (lookup_key, &found) {
                remember_principal(key, principal.clone(), now);
            }
            found
        };
        let principal = principal.ok_or_else(Problem::unauthorized)?;
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if unsafe_method {
            if let Some(expected) = &principal.csrf_token {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if sent.is_empty() || sent != expected {
                    return Err(Problem::forbidden(
                        "missing or wrong X-CSRF-Token header (the token comes with the sign-in answer and from GET /api/me)",
                    ));
                }
            }
        }
        Ok(Auth(principal))
    }
}

/// How long a looked-up principal is reused without asking the database again. Signing out,
/// revoking a token and changing a user forget every cached principal of this process at
/// once ([`forget_principals`]); another server process sharing the database notices such a
/// change within this many seconds.
pub const PRINCIPAL_CACHE_SECONDS: i64 = 5;
const PRINCIPAL_CACHE_ENTRIES_MAX: usize = 10_000;

type PrincipalCache = std::sync::Mutex<std::collections::HashMap<String, (Principal, i64)>>;

fn principal_cache() -> &'static PrincipalCache {
    static CACHE: std::sync::OnceLock<PrincipalCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The credential's SHA-256 (the secret itself is not kept), for this server's backend.
fn cache_key(state: &AppState, credential: &str) -> String {
    use sha2::{Digest, Sha256};
    let backend = std::sync::Arc::as_ptr(&state.backend) as usize;
    let digest: String = Sha256::digest(credential.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("{backend:x}:{digest}")
}

fn cached_principal(key: &str, now: i64) -> Option<Principal> {
    let cache = principal_cache().lock().ok()?;
    let (principal, at) = cache.get(key)?;
    (now >= *at && now < at + PRINCIPAL_CACHE_SECONDS).then(|| principal.clone())
}

fn remember_principal(key: String, principal: Principal, now: i64) {
    if let Ok(mut cache) = principal_cache().lock() {
        if cache.len() >= PRINCIPAL_CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(key, (principal, now));
    }
}

/// Forgets every cached principal: after a sign-out, a token revoked, a user changed.
pub fn forget_principals() {
    if let Ok(mut cache) = principal_cache().lock() {
        cache.clear();
    }
}
