//! The web UI: a small single-page app in plain JavaScript (ES modules, no framework, no
//! build step) over the JSON API. Every asset is compiled into the binary, so `tieout
//! serve` stays one file and needs no CDN.
//!
//! Routes: `GET /assets/{file}` serves an asset; `GET /` and any other path outside
//! `/api/` without a dot in its last segment answer `index.html`, and the app routes in
//! the browser (`/differences?category=…` can be bookmarked and reloaded). Unknown
//! `/api/…` paths keep the API's 404 problem. The HTML carries a strict
//! Content-Security-Policy: scripts and styles come from the server's own files only.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;

use crate::problem::Problem;
use crate::AppState;

/// No inline script or style, nothing from another origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

/// One file of the app, compiled in.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("../assets/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `assets/` (the test `every_asset_is_served` checks the list is whole).
pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("i18n.js", JS),
    asset!("table.js", JS),
    asset!("chart.js", JS),
    asset!("editor.js", JS),
    asset!("reasons.js", JS),
    asset!("pages/signin.js", JS),
    asset!("pages/dashboard.js", JS),
    asset!("pages/imports.js", JS),
    asset!("pages/differences.js", JS),
    asset!("pages/explain.js", JS),
    asset!("pages/settlements.js", JS),
    asset!("pages/reports.js", JS),
    asset!("pages/settings.js", JS),
    asset!("pages/statements.js", JS),
    asset!("pages/audit.js", JS),
    asset!("pages/alerts.js", JS),
];

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/assets/{*file}", get(serve_asset)).route("/{*path}", any(page))
}

async fn index() -> Response {
    let asset = find("index.html").expect("index.html is an asset");
    let mut response = respond(asset);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

async fn serve_asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match find(&file) {
        Some(asset) => respond(asset),
        None => Problem::not_found(format!("no asset '{file}'")).into_response(),
    }
}

/// A path the app routes itself, or a miss: `/api/…` keeps the API's answer, a file name
/// (a dot in the last segment: `favicon.ico`) is not a page.
async fn page(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return Problem::not_found("no such route").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "pages are read with GET",
        )
        .into_response();
    }
    if path.rsplit('/').next().is_some_and(|last| last.contains('.')) {
        return Problem::not_found(format!("no file '{path}'")).into_response();
    }
    index().await
}

fn respond(asset: &'static Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Assets change with the binary: the browser asks again each time (a 304 is cheap
    // enough on a team server, and a stale app.js after an upgrade is not).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `assets/` is in [`ASSETS`], and every module an asset imports is one.
    #[test]
    fn every_asset_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "ASSETS lists every file under assets/");

        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).unwrap();
            let base = asset.name.rsplit_once('/').map_or("", |(dir, _)| dir);
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .rsplit_once("from '")
                    .map(|(_, rest)| rest.trim_end_matches("';"))
                    .unwrap_or_else(|| panic!("{}: an import names its module in single quotes: {line}", asset.name));
                let resolved = resolve(base, target);
                assert!(
                    find(&resolved).is_some(),
                    "{} imports {target} ({resolved}), which is not an asset",
                    asset.name
                );
            }
        }
    }

    fn resolve(base: &str, target: &str) -> String {
        let mut parts: Vec<&str> = if target.starts_with("/assets/") {
            Vec::new()
        } else {
            base.split('/').filter(|p| !p.is_empty()).collect()
        };
        for part in target.trim_start_matches("/assets/").split('/') {
            match part {
                "." | "" => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts.join("/")
    }
}
