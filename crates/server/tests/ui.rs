//! The web UI: served pages and assets over a real socket, and the end-to-end test in
//! headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core from
//! `crates/server/ui-tests`), in Chinese and in English, against a server on loopback.
//! The browser test writes a screenshot of every page to `target/ui-screenshots/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use support::*;

fn ui_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui-tests")
}

/// `target/ui-screenshots` (beside `target/tmp`).
fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("ui-screenshots")
}

#[test]
fn pages_are_the_app_with_a_strict_policy_and_the_api_keeps_its_problems() {
    let server = TestServer::start(tieout_service::config::Settings::default(), "", 1024 * 1024);
    let client = server.client();
    for path in ["/", "/differences?category=shipped_not_settled&store=acme-us&cursor=1.5", "/orders/111-1", "/signin"]
    {
        let page = client.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        assert_eq!(page.header("content-security-policy"), Some(tieout_server::ui::CONTENT_SECURITY_POLICY));
        assert_eq!(page.header("cache-control"), Some("no-cache"));
        let html = page.text();
        assert!(html.contains(r#"<script type="module" src="/assets/app.js">"#), "{html}");
        assert!(!html.contains("<style") && !html.contains(" style="), "no inline styles: {html}");
    }
    for asset in tieout_server::ui::ASSETS {
        let response = client.get(&format!("/assets/{}", asset.name));
        assert_eq!(response.status, 200, "{}", asset.name);
        assert_eq!(response.header("content-type"), Some(asset.content_type), "{}", asset.name);
        assert_eq!(response.header("cache-control"), Some("no-cache"));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.body, asset.body, "{}", asset.name);
    }
    client.get("/assets/nothing.js").assert_problem(404);
    client.get("/favicon.ico").assert_problem(404);
    // The API's own answers are untouched: unknown routes, methods, and sign-in first.
    client.get("/api/nowhere").assert_problem(404);
    client.post_json("/api/nowhere", &json!({})).assert_problem(404);
    client.request("PUT", "/api/jobs", None, b"").assert_problem(405);
    client.get("/api/me").assert_problem(401);
    client.post_json("/differences", &json!({})).assert_problem(405);
}

/// The plan the browser follows: who signs in, and the demo month to upload as a clerk
/// would (each store's orders with its mapping, its settlement files, then the bank and
/// wallet statements with their profiles), like `support::upload_month`.
fn plan(manifest: &tieout_demo::DemoManifest, tenants: &[(&str, &str)], refused: &Path) -> Value {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut uploads = Vec::new();
    for store in &manifest.stores {
        uploads.push(
            json!({ "store": store.store, "mapping": path(&store.mapping_file), "files": [path(&store.orders_file)] }),
        );
        let files: Vec<String> = store.settlement_files.iter().map(|p| path(p)).collect();
        uploads.push(json!({ "store": store.store, "files": files }));
    }
    for file in &manifest.receipt_files {
        let (profile, profile_file) = match &file.profile {
            Some(p) if p.ends_with(".toml") => (None, Some(p.clone())),
            other => (other.clone(), None),
        };
        uploads.push(json!({ "store": file.store, "profile": profile, "profile_file": profile_file, "files": [path(&file.path)] }));
    }
    json!({
        "tenants": tenants.iter().map(|(slug, lang)| json!({ "slug": slug, "lang": lang })).collect::<Vec<_>>(),
        "password": PASSWORD,
        "as_of": manifest.as_of.to_string(),
        "month": format!("{}", manifest.as_of.format("%Y-%m")),
        "report_month": "2026-10",
        "uploads": uploads,
        "refused_file": path(refused),
    })
}

#[test]
fn the_web_ui_in_headless_chromium_in_both_languages() {
    let ui_tests = ui_tests_dir();
    assert!(
        ui_tests.join("node_modules/playwright-core/package.json").is_file(),
        "the UI test needs its node packages: run `npm ci --prefix crates/server/ui-tests` (CI runs it in .ci/run)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(node.as_ref().is_ok_and(|o| o.status.success()), "the UI test needs Node.js (`node` on PATH): {node:?}");
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "the UI test needs Debian's Chromium at /usr/bin/chromium: `apt-get install -y chromium` (CI installs it in .ci/run)"
    );

    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(&dir.path().join("demo"), 7);
    let refused = dir.path().join("not-a-report.csv");
    std::fs::write(&refused, "settlement-id\tnothing here\n1\t2\t3\n").unwrap();
    let (settings, text) = settings_of(&manifest);
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    // One tenant per language, so each run starts from an empty tenant.
    let tenants = [("acme", "zh-CN"), ("bolt", "en")];
    for (slug, _) in tenants {
        server.tenant(slug);
    }
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec_pretty(&plan(&manifest, &tenants, &refused)).unwrap()).unwrap();
    let screenshots = screenshot_dir();
    std::fs::create_dir_all(&screenshots).unwrap();

    let output = Command::new("node")
        .arg(ui_tests.join("e2e.mjs"))
        .arg(format!("http://{}", server.address))
        .arg(&screenshots)
        .arg(&plan_file)
        .current_dir(&ui_tests)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("e2e: all passed"), "{stdout}\n{stderr}");
    println!("{stdout}");
}
