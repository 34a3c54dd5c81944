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
        let principal = tokio::task::spawn_blocking(move || -> Result<Option<Principal>, Problem> {
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
