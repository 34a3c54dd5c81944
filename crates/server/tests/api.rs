//! The team server over a real socket: two tenants side by side from upload to report;
//! the wall between tenants and between roles on every route; bad input answered with
//! problem details and nothing stored; jobs retried after a crash.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::*;
use tieout_server::{Access, ROUTES};
use tieout_service::team::{Role, LOGIN_FAILURES_MAX, SESSION_SECONDS};

/// Documents of a distributor and a supplier (invoices, a refund, a purchase).
const DOCUMENTS: &str = "\
counterparty,name,type,number,date,amount,currency,description
D-001,Distributor One,invoice,INV-099,2026-09-28,300.00,USD,September order
D-001,Distributor One,invoice,INV-101,2026-10-03,1200.00,USD,40 chargers
D-001,Distributor One,invoice,INV-102,2026-10-22,800.50,USD,20 cables
D-001,Distributor One,refund,CN-7,2026-10-25,100.50,USD,damaged cables
S-01,Shenzhen Supplier,purchase,PO-55,2026-10-05,5000.00,CNY,batch 55
";

struct Fixture {
    server: TestServer,
    months: HashMap<&'static str, (tieout_demo::DemoManifest, tempfile::TempDir)>,
    /// Objects only tenant "bolt" has: path parameter → value.
    bolt_only: HashMap<&'static str, String>,
}

/// Two tenants, each with its own demo month uploaded by its clerk and reconciled.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| two_tenants(TestServer::start))
}

fn two_tenants(start: fn(tieout_service::config::Settings, &str, usize) -> TestServer) -> Fixture {
    {
        let acme_dir = tempfile::tempdir().unwrap();
        let bolt_dir = tempfile::tempdir().unwrap();
        let acme = demo_month(acme_dir.path(), 7);
        let bolt = demo_month(bolt_dir.path(), 8);
        let (settings, text) = settings_of(&acme);
        let server = start(settings, &text, 64 * 1024 * 1024);
        for (slug, manifest) in [("acme", &acme), ("bolt", &bolt)] {
            server.tenant(slug);
            let clerk = server.signed_in(slug, "clerk");
            for id in upload_month(&clerk, manifest) {
                let job = clerk.wait_job(id);
                assert_eq!(job["state"], "succeeded", "{job}");
                assert_eq!(job["result"]["refused"], 0, "{job}");
            }
            let run = clerk.post_json("/api/reconcile", &json!({ "as_of": manifest.as_of.to_string() }));
            assert_eq!(run.status, 202, "{}", run.text());
            let job = clerk.wait_job(run.json()["id"].as_i64().unwrap());
            assert_eq!(job["state"], "succeeded", "{job}");
        }
        // Objects that exist for bolt only (ids are per tenant, so give bolt one more of each).
        let bolt_admin = server.signed_in("bolt", "admin");
        let mut bolt_only = HashMap::new();
        let extra_job = bolt_admin.post_json("/api/reconcile", &json!({ "as_of": bolt.as_of.to_string() }));
        let extra_job = extra_job.json()["id"].as_i64().unwrap();
        bolt_admin.wait_job(extra_job);
        bolt_only.insert("/api/jobs/{id}", extra_job.to_string());
        let user = bolt_admin.post_json(
            "/api/users",
            &json!({ "email": "extra@bolt.test", "display_name": "Extra", "role": "viewer", "password": PASSWORD }),
        );
        assert_eq!(user.status, 201, "{}", user.text());
        bolt_only.insert("/api/users/{id}", user.json()["id"].to_string());
        let token = bolt_admin.post_json("/api/tokens", &json!({ "name": "bolt script" }));
        assert_eq!(token.status, 201, "{}", token.text());
        bolt_only.insert("/api/tokens/{id}", token.json()["id"].to_string());
        let order = support::truth(&bolt).into_keys().next().unwrap();
        bolt_only.insert("/api/orders/{order_id}/explain", order);
        let settlement = bolt.stores[0].settlement_files[0].file_stem().unwrap().to_string_lossy().into_owned();
        bolt_only.insert("/api/settlements/{id}/explain", settlement);
        // Statements: bolt draws up three; acme has none.
        let documents = bolt_dir.path().join("documents.csv");
        std::fs::write(&documents, DOCUMENTS).unwrap();
        let job = bolt_admin.upload(&[], &[("file", &documents)]).json()["id"].as_i64().unwrap();
        assert_eq!(bolt_admin.wait_job(job)["result"]["refused"], 0);
        let mut statement = 0;
        for (from, to) in [("2026-09-01", "2026-09-30"), ("2026-10-01", "2026-10-15"), ("2026-10-16", "2026-10-31")] {
            let drawn = bolt_admin.post_json(
                "/api/statements",
                &json!({ "counterparty": "D-001", "side": "receivable", "currency": "USD", "from": from, "to": to }),
            );
            assert_eq!(drawn.status, 201, "{}", drawn.text());
            statement = drawn.json()["id"].as_i64().unwrap();
        }
        for path in [
            "/api/statements/{id}",
            "/api/statements/{id}/transition",
            "/api/statements/{id}/counterparty",
            "/api/statements/{id}/resolve",
            "/api/statements/{id}/export",
        ] {
            bolt_only.insert(path, statement.to_string());
        }
        let mut months = HashMap::new();
        months.insert("acme", (acme, acme_dir));
        months.insert("bolt", (bolt, bolt_dir));
        Fixture { server, months, bolt_only }
    }
}

#[test]
fn two_tenants_side_by_side_upload_reconcile_page_explain_and_report() {
    side_by_side(fixture());
}

/// The same on PostgreSQL: the API means the same on both engines.
#[test]
fn two_tenants_side_by_side_on_postgresql() {
    let fixture = two_tenants(TestServer::start_postgres);
    side_by_side(&fixture);
    assert_eq!(fixture.server.client().get("/api/ready").json()["database"], "postgres");
}

fn side_by_side(fixture: &Fixture) {
    let mut seen_orders: HashMap<&str, HashSet<String>> = HashMap::new();
    for slug in ["acme", "bolt"] {
        let (manifest, _) = &fixture.months[slug];
        let truth = support::truth(manifest);
        let viewer = fixture.server.signed_in(slug, "viewer");

        // Every order, page by page, carries the generator's category.
        let orders = viewer.all_pages("/api/orders", 300);
        assert_eq!(orders.len(), truth.len(), "one result per order");
        for order in &orders {
            let id = order["order_id"].as_str().unwrap();
            assert_eq!(order["category"].as_str(), truth.get(id).map(String::as_str), "order {id}");
        }
        seen_orders.insert(slug, orders.iter().map(|o| o["order_id"].as_str().unwrap().to_owned()).collect());

        // Differences are exactly the orders whose category is a difference.
        let differences = viewer.all_pages("/api/differences", 7);
        let expected: Vec<&Value> = orders.iter().filter(|o| o["is_difference"] == true).collect();
        assert_eq!(differences.len(), expected.len());
        assert!(!differences.is_empty());
        let filtered = viewer.all_pages("/api/differences?category=shipped_not_settled", 50);
        assert!(filtered.iter().all(|o| o["category"] == "shipped_not_settled"));
        assert_eq!(filtered.len(), truth.values().filter(|c| *c == "shipped_not_settled").count());

        // Explain: a settled difference down to its source lines.
        let settled = differences.iter().find(|d| d["line_count"].as_u64().unwrap() > 0).unwrap();
        let id = settled["order_id"].as_str().unwrap();
        let explained = viewer.get(&format!("/api/orders/{id}/explain"));
        assert_eq!(explained.status, 200, "{}", explained.text());
        let explained = explained.json();
        let lines = explained["lines"].as_array().unwrap();
        assert_eq!(lines.len() as u64, settled["line_count"].as_u64().unwrap());
        assert!(lines
            .iter()
            .all(|l| l["line"].as_u64().unwrap() > 1 && l["file_name"].as_str().unwrap().ends_with(".txt")));
        assert_eq!(explained["result"]["category"], settled["category"]);

        let settlements = viewer.all_pages("/api/settlements", 2);
        let files: usize = manifest.stores.iter().map(|s| s.settlement_files.len()).sum();
        assert_eq!(settlements.len(), files);
        let first = settlements[0]["settlement_id"].as_str().unwrap();
        let chain = viewer.get(&format!("/api/settlements/{first}/explain"));
        assert_eq!(chain.status, 200, "{}", chain.text());
        assert!(chain.json()["text"].as_str().unwrap().contains(first));

        // Receipts: pages of the receipts report, one row per payout, withdrawal or receipt.
        let receipts = viewer.all_pages("/api/receipts", 5);
        let report = viewer.get("/api/reports/receipts").json();
        assert_eq!(receipts.len(), report["tables"][0]["rows"].as_array().unwrap().len());
        assert!(receipts.iter().any(|r| r["status"] == "received"), "{receipts:?}");

        // Reports in the three formats.
        let csv = viewer.get("/api/reports/receivables?format=csv&month=2026-10");
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert!(csv.text().starts_with("store,currency,month,opening,sales,refunds,fees,other,transfers,closing"));
        assert!(csv.text().lines().skip(1).all(|l| l.contains(",2026-10,")), "{}", csv.text());
        let xlsx = viewer.get("/api/reports/receivables?format=xlsx");
        assert_eq!(xlsx.status, 200);
        assert!(xlsx.body.starts_with(b"PK"), "an XLSX is a zip");
        assert!(xlsx.header("content-disposition").unwrap().contains("receivables.xlsx"));
        let summary = viewer.get("/api/reports/summary").json();
        assert!(!summary["tables"][0]["rows"].as_array().unwrap().is_empty());
    }
    assert!(seen_orders["acme"].is_disjoint(&seen_orders["bolt"]), "the two months share no order");
}

#[test]
fn a_tenant_never_reaches_another_tenants_objects_on_any_route() {
    let fixture = fixture();
    // Ids are per tenant, and the other tests running beside this one add users, tokens
    // and jobs to acme, so acme may come to hold an id that bolt's extra object has (CI
    // saw acme's "UK clerk" get bolt's extra user's id). The objects are asked for by a
    // tenant no other test touches, whose ids therefore stay below bolt's.
    fixture.server.tenant("carol");
    let carol = fixture.server.signed_in("carol", "admin");
    let acme = fixture.server.signed_in("acme", "admin");
    let anonymous = fixture.server.client();
    for route in ROUTES {
        let path = route.path;
        // Without a session or token, every signed route answers 401.
        if let Access::Signed(_) = route.access {
            let concrete = concrete(path, &fixture.bolt_only);
            anonymous.request(route.method, &concrete, Some("application/json"), b"{}").assert_problem(401);
        }
        if !path.contains('{') || path == "/api/reports/{name}" {
            continue;
        }
        let value = fixture
            .bolt_only
            .get(path)
            .unwrap_or_else(|| panic!("the tenancy test knows no object of tenant bolt for {path}: add one"));
        let url = concrete(path, &fixture.bolt_only);
        // A well-formed request, so that only the object decides the answer.
        let (content_type, body) = match (route.method, path) {
            ("PATCH", "/api/users/{id}") => ("application/json", json!({ "role": "admin" }).to_string()),
            ("POST", "/api/statements/{id}/transition") => {
                ("application/json", json!({ "to": "pending_review" }).to_string())
            }
            ("POST", "/api/statements/{id}/resolve") => {
                ("application/json", json!({ "number": "INV-101", "kind": "accept" }).to_string())
            }
            ("POST", "/api/statements/{id}/counterparty") => (
                "text/csv",
                "counterparty,type,number,date,amount,currency\nD-001,invoice,INV-101,2026-10-03,1.00,USD\n".to_owned(),
            ),
            _ => ("application/json", String::new()),
        };
        let response = carol.request(route.method, &url, Some(content_type), body.as_bytes());
        assert!(
            response.status == 404 || response.status == 403,
            "{} {url} ({value}) as carol's admin answered {}: {}",
            route.method,
            response.status,
            response.text()
        );
        response.assert_problem(response.status);
    }
    // Lists hold only the caller's own records.
    let bolt_orders: HashSet<String> = support::truth(&fixture.months["bolt"].0).into_keys().collect();
    let acme_orders = acme.all_pages("/api/orders", 1000);
    assert!(acme_orders.iter().all(|o| !bolt_orders.contains(o["order_id"].as_str().unwrap())));
    let bolt_settlement = &fixture.bolt_only["/api/settlements/{id}/explain"];
    assert!(acme.all_pages("/api/settlements", 100).iter().all(|s| s["settlement_id"] != bolt_settlement.as_str()));
    let users = acme.get("/api/users").json();
    assert!(users["items"].as_array().unwrap().iter().all(|u| u["email"].as_str().unwrap().ends_with("@acme.test")));
    // bolt's user was not changed by carol's PATCH.
    let bolt_admin = fixture.server.signed_in("bolt", "admin");
    let bolt_users = bolt_admin.get("/api/users").json();
    let extra = bolt_users["items"].as_array().unwrap().iter().find(|u| u["email"] == "extra@bolt.test").unwrap();
    assert_eq!(extra["role"], "viewer");
}

fn concrete(path: &str, values: &HashMap<&'static str, String>) -> String {
    match values.get(path) {
        Some(value) => {
            let start = path.find('{').unwrap();
            let end = path.find('}').unwrap();
            format!("{}{}{}", &path[..start], value, &path[end + 1..])
        }
        None => path.replace("{name}", "summary").replace("{id}", "1").replace("{order_id}", "1"),
    }
}

#[test]
fn every_role_is_refused_what_it_may_not_do_and_nothing_happens() {
    let fixture = fixture();
    // A tenant of its own: the tests beside this one add users to acme, and the counts
    // below must change only by what this test does.
    fixture.server.tenant("dave");
    let admin = fixture.server.signed_in("dave", "admin");
    let jobs_before = admin.get("/api/jobs").json()["items"].as_array().unwrap().len();
    let users_before = admin.get("/api/users").json()["items"].as_array().unwrap().len();
    for role in Role::ALL {
        let client = fixture.server.signed_in("dave", role.name());
        for route in ROUTES {
            let Access::Signed(action) = route.access else { continue };
            if role.allows(action) {
                continue;
            }
            let url = concrete(route.path, &HashMap::new());
            let body = json!({ "email": "x@dave.test", "display_name": "x", "role": "admin", "password": PASSWORD, "name": "x", "organisation_id": 1 });
            let response = client.request(route.method, &url, Some("application/json"), body.to_string().as_bytes());
            let problem = response.assert_problem(403);
            assert!(problem["detail"].as_str().unwrap().contains(role.name()), "{problem}");
        }
    }
    // A viewer sees no way to act, and the server refuses anyway: nothing was queued or added.
    let viewer = fixture.server.signed_in("dave", "viewer");
    viewer.post_json("/api/reconcile", &json!({})).assert_problem(403);
    assert_eq!(admin.get("/api/jobs").json()["items"].as_array().unwrap().len(), jobs_before);
    assert_eq!(admin.get("/api/users").json()["items"].as_array().unwrap().len(), users_before);
}

#[test]
fn a_role_limited_to_some_stores_sees_only_those() {
    let fixture = fixture();
    let admin = fixture.server.signed_in("acme", "admin");
    let organisation = admin.post_json("/api/organisations", &json!({ "name": "Shenzhen branch" }));
    assert_eq!(organisation.status, 201, "{}", organisation.text());
    let organisation = organisation.json()["id"].as_i64().unwrap();
    let store = admin.post_json("/api/stores", &json!({ "organisation_id": organisation, "name": "acme-uk" }));
    assert_eq!(store.status, 201, "{}", store.text());
    let user = admin.post_json(
        "/api/users",
        &json!({ "email": "uk-clerk@acme.test", "display_name": "UK clerk", "role": "clerk", "password": PASSWORD }),
    );
    let user = user.json()["id"].as_i64().unwrap();
    let scoped = admin.request(
        "PATCH",
        &format!("/api/users/{user}"),
        Some("application/json"),
        json!({ "organisations": [organisation] }).to_string().as_bytes(),
    );
    assert_eq!(scoped.status, 200, "{}", scoped.text());

    let mut clerk = fixture.server.client();
    assert_eq!(clerk.login("acme", "uk-clerk@acme.test", PASSWORD).status, 200);
    assert_eq!(clerk.get("/api/me").json()["stores"], json!(["acme-uk"]));
    let orders = clerk.all_pages("/api/orders", 1000);
    assert!(!orders.is_empty());
    assert!(orders.iter().all(|o| o["store"] == "acme-uk"));
    clerk.get("/api/orders?store=acme-us").assert_problem(403);
    clerk.get("/api/reports/summary").assert_problem(403);
    assert_eq!(clerk.get("/api/reports/summary?store=acme-uk").status, 200);
    let us_order = admin.all_pages("/api/orders?store=acme-us", 1000)[0]["order_id"].as_str().unwrap().to_owned();
    clerk.get(&format!("/api/orders/{us_order}/explain")).assert_problem(404);
    let (manifest, _) = &fixture.months["acme"];
    let us = &manifest.stores.iter().find(|s| s.store == "acme-us").unwrap().orders_file;
    clerk.upload(&[("store", "acme-us")], &[("file", us)]).assert_problem(403);
}

#[test]
fn bad_input_gets_problem_details_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 9);
    let (settings, text) = settings_of(&manifest);
    let server = TestServer::start(settings, &text, 64 * 1024);
    server.tenant("acme");
    let clerk = server.signed_in("acme", "clerk");

    // Over the upload limit: 413, and nothing stored or queued.
    let big = manifest.stores[0].settlement_files.iter().max_by_key(|p| std::fs::metadata(p).unwrap().len()).unwrap();
    assert!(std::fs::metadata(big).unwrap().len() > 64 * 1024);
    clerk.upload(&[("store", "acme-us")], &[("file", big)]).assert_problem(413);
    // Not multipart; unknown field; no file.
    clerk.request("POST", "/api/uploads", Some("application/json"), b"{}").assert_problem(415);
    clerk.upload(&[("colour", "blue")], &[]).assert_problem(400);
    clerk.upload(&[("store", "acme-us")], &[]).assert_problem(400);
    // A mapping that cannot be read is refused before anything is stored.
    let bad_mapping = dir.path().join("bad-mapping.toml");
    std::fs::write(&bad_mapping, "this is = = not toml").unwrap();
    let small_orders = dir.path().join("orders-head.csv");
    let head: Vec<String> =
        std::fs::read_to_string(&manifest.stores[0].orders_file).unwrap().lines().take(20).map(str::to_owned).collect();
    std::fs::write(&small_orders, head.join("\n")).unwrap();
    let problem = clerk
        .upload(&[("store", "acme-us")], &[("mapping", &bad_mapping), ("file", &small_orders)])
        .assert_problem(400);
    assert!(problem["detail"].as_str().unwrap().contains("bad-mapping.toml"), "{problem}");
    assert!(clerk.get("/api/uploads").json()["items"].as_array().unwrap().is_empty());
    assert!(clerk.get("/api/jobs").json()["items"].as_array().unwrap().is_empty());

    // A file tieout cannot read: the job reports it by line, and nothing is stored.
    let garbage = dir.path().join("garbage.csv");
    std::fs::write(&garbage, "settlement-id\tnothing\n1\t2\t3\n").unwrap();
    let job = clerk.upload(&[("store", "acme-us")], &[("file", &garbage)]).json()["id"].as_i64().unwrap();
    let job = clerk.wait_job(job);
    assert_eq!(job["state"], "succeeded");
    assert_eq!(job["result"]["refused"], 1, "{job}");
    assert_eq!(job["result"]["files"][0]["outcome"], "refused");
    assert!(!job["result"]["files"][0]["diagnostics"].as_array().unwrap().is_empty());
    assert!(clerk.get("/api/settlements").json()["items"].as_array().unwrap().is_empty());

    // Malformed JSON, wrong content type, bad parameters, unknown route and method.
    let anonymous = server.client();
    anonymous.request("POST", "/api/login", Some("application/json"), b"{\"tenant\": ").assert_problem(400);
    anonymous.request("POST", "/api/login", Some("text/plain"), b"tenant=acme").assert_problem(415);
    clerk.get("/api/orders?cursor=not-a-cursor").assert_problem(400);
    clerk.get("/api/orders?limit=0").assert_problem(400);
    clerk.get("/api/orders?limit=many").assert_problem(400);
    clerk.get("/api/orders?category=lost").assert_problem(400);
    clerk.get("/api/jobs/abc").assert_problem(400);
    clerk.get("/api/jobs/999").assert_problem(404);
    clerk.get("/api/reports/nonsense").assert_problem(404);
    clerk.get("/api/reports/summary?format=pdf").assert_problem(400);
    clerk.get("/api/nowhere").assert_problem(404);
    clerk.request("PUT", "/api/jobs", None, b"").assert_problem(405);
    clerk.post_json("/api/reconcile", &json!({ "as_of": "31/10/2026" })).assert_problem(400);

    // A session's browser requests need the CSRF token; a token's requests do not.
    let mut no_csrf = clerk.clone();
    no_csrf.csrf = None;
    no_csrf.post_json("/api/reconcile", &json!({})).assert_problem(403);
    let created = clerk.post_json("/api/tokens", &json!({ "name": "nightly import" }));
    assert_eq!(created.status, 201);
    let created = created.json();
    let token = created["token"].as_str().unwrap().to_owned();
    let script = support::Client { address: server.address, cookie: None, csrf: None, bearer: Some(token.clone()) };
    assert_eq!(script.get("/api/me").json()["user"]["email"], "clerk@acme.test");
    assert_eq!(script.post_json("/api/reconcile", &json!({})).status, 202);
    // The token list never shows the token again.
    assert!(!clerk.get("/api/tokens").text().contains(&token[token.len() - 20..]));
    let revoked = clerk.request("DELETE", &format!("/api/tokens/{}", created["id"]), None, b"");
    assert_eq!(revoked.status, 204);
    script.get("/api/me").assert_problem(401);

    // Expired session.
    server.advance(SESSION_SECONDS + 1);
    clerk.get("/api/me").assert_problem(401);

    // Sign-in throttling: after the limit even the right password waits.
    let mut guesser = server.client();
    for _ in 0..LOGIN_FAILURES_MAX {
        guesser.login("acme", "viewer@acme.test", "wrong password").assert_problem(401);
    }
    let throttled = guesser.login("acme", "viewer@acme.test", PASSWORD);
    throttled.assert_problem(429);
    assert!(throttled.header("retry-after").is_some());
    // Unknown tenant and unknown user answer like a wrong password.
    server.client().login("nobody", "viewer@acme.test", PASSWORD).assert_problem(401);
}

#[test]
fn the_openapi_document_lists_every_route() {
    let fixture = fixture();
    let document = fixture.server.client().get("/api/openapi.json");
    assert_eq!(document.status, 200);
    let document = document.json();
    assert_eq!(document["openapi"], "3.1.0");
    for route in ROUTES {
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        assert!(operation.is_object(), "{} {} missing from the OpenAPI document", route.method, route.path);
        assert_eq!(operation["summary"], route.summary);
    }
    let login = &document["paths"]["/api/login"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(login["properties"]["password"].is_object(), "{login}");
    let health = fixture.server.client().get("/api/health");
    assert_eq!(health.json()["status"], "ok");
    assert!(health.header("x-request-id").is_some());
    assert_eq!(fixture.server.client().get("/api/ready").json()["status"], "ready");
}

#[test]
fn the_dashboard_adds_up_to_the_order_lists() {
    let fixture = fixture();
    let viewer = fixture.server.signed_in("acme", "viewer");
    let dashboard = viewer.get("/api/dashboard");
    assert_eq!(dashboard.status, 200, "{}", dashboard.text());
    let dashboard = dashboard.json();
    assert_eq!(dashboard["as_of"], fixture.months["acme"].0.as_of.to_string());
    let orders = viewer.all_pages("/api/orders", 1000);
    let rows = dashboard["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["orders"].as_u64().unwrap()).sum::<u64>(), orders.len() as u64);
    let minor = |text: &str| -> i64 { text.replace('.', "").parse().unwrap() };
    for row in rows {
        let of_row: Vec<&Value> = orders
            .iter()
            .filter(|o| {
                o["store"] == row["store"] && o["marketplace"] == row["marketplace"] && o["currency"] == row["currency"]
            })
            .collect();
        let count = |category: &str| of_row.iter().filter(|o| o["category"] == category).count() as u64;
        assert_eq!(row["settled"]["count"].as_u64().unwrap(), count("matched"));
        let settled: i64 = of_row
            .iter()
            .filter(|o| o["category"] == "matched")
            .map(|o| minor(o["net_settled"].as_str().unwrap()))
            .sum();
        assert_eq!(minor(row["settled"]["amount"].as_str().unwrap()), settled);
        assert_eq!(row["pending_settlement"]["count"].as_u64().unwrap(), count("not_due"));
        assert_eq!(row["unsettled"]["count"].as_u64().unwrap(), count("shipped_not_settled"));
        let buckets = row["unsettled"]["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 5);
        assert_eq!(buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(), count("shipped_not_settled"));
        let differences = of_row.iter().filter(|o| o["is_difference"] == true).count() as u64;
        assert_eq!(row["differences"]["count"].as_u64().unwrap(), differences);
    }
    // The months are the roll-forward's: sales of October equal the receivables report's.
    let months = dashboard["months"].as_array().unwrap();
    assert!(months.iter().any(|m| m["month"] == "2026-10"));
    let report = viewer.get("/api/reports/receivables?format=csv&month=2026-10").text();
    for line in report.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let month = months.iter().find(|m| m["store"] == cells[0] && m["month"] == "2026-10").unwrap();
        assert_eq!(month["sales"], cells[4], "{line}");
        assert_eq!(month["transfers"], cells[8], "{line}");
    }
    let stores = dashboard["stores"].as_array().unwrap();
    assert_eq!(stores.len(), 3, "{stores:?}");
    let missing: u64 = stores.iter().map(|s| s["missing_receipts"]["count"].as_u64().unwrap()).sum();
    let receipts = viewer.all_pages("/api/receipts", 1000);
    // Payouts whose receipt is missing (a missing withdrawal is money already received).
    assert_eq!(missing, receipts.iter().filter(|r| r["status"] == "missing" && r["kind"] == "payout").count() as u64);
}

#[test]
fn an_accountant_resolves_assigns_and_reopens_differences_and_the_history_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 11);
    let (_, text) = settings_of(&manifest);
    // Automatic write-offs up to 2.00 in each of the month's currencies.
    let auto = "auto = { USD = \"0.50\", CNY = \"2.00\" }";
    assert!(text.contains(auto), "{text}");
    let text = text.replace(auto, "auto = { USD = \"2.00\", EUR = \"2.00\", GBP = \"2.00\" }");
    let settings = tieout_service::config::Settings::parse("tieout.toml", &text).unwrap();
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    server.tenant("acme");
    let clerk = server.signed_in("acme", "clerk");
    for id in upload_month(&clerk, &manifest) {
        assert_eq!(clerk.wait_job(id)["state"], "succeeded");
    }
    let run = clerk.post_json("/api/reconcile", &json!({ "as_of": manifest.as_of.to_string() }));
    let job = clerk.wait_job(run.json()["id"].as_i64().unwrap());
    let accountant = server.signed_in("acme", "accountant");
    // Small differences (up to [write_off] auto: 2.00) were written off by the
    // system identity when the run was saved: resolved, by "system", within the limit.
    let automatic = job["result"]["written_off_automatically"].as_u64().unwrap();
    assert!(automatic > 0, "the demo month has differences under 2.00: {job}");
    let by_system: Vec<Value> = accountant
        .all_pages("/api/differences?state=resolved", 100)
        .into_iter()
        .filter(|d| d["resolution"]["by"]["display_name"] == "system")
        .collect();
    assert_eq!(by_system.len() as u64, automatic, "{job}");
    for d in &by_system {
        let r = &d["resolution"];
        assert_eq!((r["kind"].as_str(), r["reason"].as_str()), (Some("write_off"), Some("small_difference")), "{d}");
        let amount: i64 = r["amount"].as_str().unwrap().replace('.', "").parse().unwrap();
        assert!(amount > 0 && amount <= 200, "{d}");
    }
    let open = accountant.all_pages("/api/differences?state=open", 100);
    assert!(open.len() >= 3, "{}", open.len());
    assert!(open.iter().all(|d| d["resolution"].is_null()));
    let ids: Vec<&str> = open.iter().take(3).map(|d| d["order_id"].as_str().unwrap()).collect();

    let resolved = accountant.post_json(
        "/api/differences/resolve",
        &json!({ "order_ids": ids[..2], "reason": "timing", "comment": "paid in the next settlement" }),
    );
    assert_eq!(resolved.status, 200, "{}", resolved.text());
    assert_eq!(resolved.json()["resolved"], 2);
    let users = server.signed_in("acme", "admin").get("/api/users").json();
    let viewer_id = users["items"].as_array().unwrap().iter().find(|u| u["role"] == "viewer").unwrap()["id"].clone();
    let assigned =
        accountant.post_json("/api/differences/assign", &json!({ "order_ids": [ids[2]], "user_id": viewer_id }));
    assert_eq!(assigned.json()["assigned"], 1);

    let resolved_list: Vec<Value> = accountant
        .all_pages("/api/differences?state=resolved", 1)
        .into_iter()
        .filter(|d| d["resolution"]["by"]["display_name"] != "system")
        .collect();
    let mut resolved_ids: Vec<&str> = resolved_list.iter().map(|d| d["order_id"].as_str().unwrap()).collect();
    resolved_ids.sort_unstable();
    let mut expected = ids[..2].to_vec();
    expected.sort_unstable();
    assert_eq!(resolved_ids, expected);
    assert_eq!(resolved_list[0]["resolution"]["reason"], "timing");
    assert_eq!(resolved_list[0]["resolution"]["by"]["display_name"], "accountant");
    assert_eq!(accountant.all_pages("/api/differences?state=open", 7).len(), open.len() - 2);
    let assigned_row = accountant
        .all_pages("/api/differences?state=open", 1000)
        .into_iter()
        .find(|d| d["order_id"] == ids[2])
        .unwrap();
    assert_eq!(assigned_row["resolution"]["assignee"]["id"], viewer_id);

    let reopened = accountant
        .post_json("/api/differences/reopen", &json!({ "order_ids": [ids[0]], "comment": "not paid after all" }));
    assert_eq!(reopened.json()["reopened"], 1);
    let history = accountant.get(&format!("/api/orders/{}/explain", ids[0])).json()["history"].clone();
    let actions: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["resolve", "reopen"]);

    // Writing off is held to the role's [write_off] limit (the demo's: accountant 10.00 USD,
    // admin 1000.00 USD) on the order's amount in question (for an order no export has:
    // everything settled).
    let unknown: Vec<Value> =
        open.iter().filter(|d| d["category"] == "settled_not_in_orders" && d["currency"] == "USD").cloned().collect();
    assert!(!unknown.is_empty());
    let minor = |d: &Value| -> i64 { d["settled_amount"].as_str().unwrap().replace(['.', '-'], "").parse().unwrap() };
    let admin = server.signed_in("acme", "admin");
    for order in &unknown {
        let id = order["order_id"].as_str().unwrap();
        let body = json!({ "order_ids": [id], "reason": "written_off", "comment": "not ours" });
        let by_accountant = accountant.post_json("/api/differences/resolve", &body);
        if minor(order) <= 1000 {
            assert_eq!(by_accountant.status, 200, "{}", by_accountant.text());
        } else {
            let problem = by_accountant.assert_problem(403);
            assert!(problem["detail"].as_str().unwrap().contains("over your limit"), "{problem}");
            assert_eq!(admin.post_json("/api/differences/resolve", &body).status, 200);
        }
    }

    // Adjust: the resolution keeps ours, theirs and the adjustment (default theirs − ours).
    let mismatch = accountant
        .all_pages("/api/differences?state=open&category=amount_mismatch", 100)
        .into_iter()
        .next()
        .expect("an open amount mismatch");
    let adjusted = accountant.post_json(
        "/api/differences/resolve",
        &json!({ "order_ids": [mismatch["order_id"]], "resolution": "adjust", "reason": "data_error", "adjustment": "-0.75" }),
    );
    assert_eq!(adjusted.status, 200, "{}", adjusted.text());
    let row = accountant
        .all_pages("/api/differences?state=resolved", 1000)
        .into_iter()
        .find(|d| d["order_id"] == mismatch["order_id"])
        .unwrap();
    let r = &row["resolution"];
    assert_eq!((r["kind"].as_str(), r["amount"].as_str()), (Some("adjust"), Some("-0.75")), "{row}");
    assert_eq!(r["ours"], mismatch["order_amount"], "{row}");
    assert_eq!(r["theirs"], mismatch["settled_amount"], "{row}");
    accountant
        .post_json(
            "/api/differences/resolve",
            &json!({ "order_ids": [ids[1]], "resolution": "write_off", "reason": "timing" }),
        )
        .assert_problem(400);
    // The audit log holds each automatic write-off under the system identity.
    let audit = server.signed_in("acme", "admin").get("/api/audit?limit=1000").json();
    let system_write_offs = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "difference.write_off" && e["actor"]["name"] == "system" && e["object"]["kind"] == "order"
        })
        .count() as u64;
    assert_eq!(system_write_offs, automatic);
    // The resolutions report lists every resolution, the system's and the people's.
    let report = accountant.get("/api/reports/resolutions?format=csv");
    assert_eq!(report.status, 200, "{}", report.text());
    let text = report.text();
    // (Payout ↔ receipt differences are listed by their key, `payout:…`, `withdrawal:…`.)
    let order_lines = text.lines().filter(|l| !l.split(',').next().unwrap_or("").contains(':'));
    assert_eq!(order_lines.filter(|l| l.contains(",system,")).count() as u64, automatic, "{text}");
    assert!(text.lines().any(|l| l.starts_with(mismatch["order_id"].as_str().unwrap()) && l.contains(",adjust,")));

    // Refused: a matched order, an unknown reason, a user of nobody; nothing recorded.
    let matched = accountant.all_pages("/api/orders?category=matched", 1)[0]["order_id"].as_str().unwrap().to_owned();
    accountant
        .post_json("/api/differences/resolve", &json!({ "order_ids": [ids[1], matched], "reason": "timing" }))
        .assert_problem(409);
    accountant
        .post_json("/api/differences/resolve", &json!({ "order_ids": [ids[1]], "reason": "because" }))
        .assert_problem(400);
    accountant
        .post_json("/api/differences/assign", &json!({ "order_ids": [ids[1]], "user_id": 999 }))
        .assert_problem(400);
    accountant
        .post_json("/api/differences/resolve", &json!({ "order_ids": [], "reason": "timing" }))
        .assert_problem(400);
    let history = accountant.get(&format!("/api/orders/{}/explain", ids[1])).json()["history"].clone();
    assert_eq!(history.as_array().unwrap().len(), 1);
}

/// The receipts' rows of one key (a payout of several settlements has a row for each).
fn receipt_rows<'a>(items: &'a [Value], key: &str) -> Vec<&'a Value> {
    items.iter().filter(|r| r["key"] == key).collect()
}

#[test]
fn payout_and_receipt_differences_are_resolved_by_key_within_limits_and_small_ones_by_the_system() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 14);
    let (_, text) = settings_of(&manifest);
    // The demo month short-pays one payout by 1.00–50.00 (GBP, EUR or USD) and one withdrawal
    // by 15.00–25.00 USD of bank charges: both within these automatic limits.
    let auto = "auto = { USD = \"0.50\", CNY = \"2.00\" }";
    assert!(text.contains(auto), "{text}");
    let text = text.replace(auto, "auto = { USD = \"50.00\", EUR = \"50.00\", GBP = \"50.00\" }");
    let settings = tieout_service::config::Settings::parse("tieout.toml", &text).unwrap();
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    server.tenant("acme");
    let clerk = server.signed_in("acme", "clerk");
    for id in upload_month(&clerk, &manifest) {
        assert_eq!(clerk.wait_job(id)["state"], "succeeded");
    }
    let run = clerk.post_json("/api/reconcile", &json!({ "as_of": manifest.as_of.to_string() }));
    let job = clerk.wait_job(run.json()["id"].as_i64().unwrap());
    assert_eq!(job["state"], "succeeded", "{job}");
    let accountant = server.signed_in("acme", "accountant");
    let items = accountant.all_pages("/api/receipts", 7);
    assert!(items
        .iter()
        .all(|r| r["key"].as_str().is_some_and(|k| k.starts_with(&format!("{}:", r["kind"].as_str().unwrap())))));
    for r in &items {
        let difference = !["received", "received_converted", "pending"].contains(&r["status"].as_str().unwrap());
        assert_eq!(r["is_difference"], difference, "{r}");
    }

    // The short ones were written off by the system identity when the run was saved.
    let automatic = job["result"]["receipts_written_off_automatically"].as_u64().unwrap();
    let mut by_system: Vec<&str> = items
        .iter()
        .filter(|r| r["resolution"]["by"]["display_name"] == "system")
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    by_system.dedup();
    assert_eq!(by_system.len() as u64, automatic, "{job}");
    let shorts: Vec<&Value> = items.iter().filter(|r| r["status"] == "received_short").collect();
    assert!(shorts.len() >= 2 && shorts.iter().all(|r| by_system.contains(&r["key"].as_str().unwrap())), "{shorts:?}");
    let minor = |text: &Value| -> i64 { text.as_str().unwrap().replace(['.', '-'], "").parse().unwrap() };
    for r in &shorts {
        let resolution = &r["resolution"];
        assert_eq!(
            (resolution["state"].as_str(), resolution["kind"].as_str(), resolution["reason"].as_str()),
            (Some("resolved"), Some("write_off"), Some("small_difference")),
            "{r}"
        );
        assert_eq!(minor(&resolution["amount"]), minor(&r["difference"]), "the shortfall: {r}");
        assert_eq!((&resolution["ours"], &resolution["theirs"]), (&r["expected_amount"], &r["received_amount"]), "{r}");
    }
    let admin = server.signed_in("acme", "admin");
    let system_entries = admin.get("/api/audit?limit=1000").json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "difference.write_off" && e["object"]["kind"] == "receipt")
        .filter(|e| e["actor"]["name"] == "system")
        .count() as u64;
    assert_eq!(system_entries, automatic);

    // The accountant reopens the withdrawal's: open again, by them; then writing it off is
    // held to their limit (10.00 USD in the demo) and the approver's (100.00 USD) allows it.
    let withdrawal = *shorts.iter().find(|r| r["kind"] == "withdrawal").expect("a short withdrawal");
    let key = withdrawal["key"].as_str().unwrap();
    let reopened =
        accountant.post_json("/api/receipts/reopen", &json!({ "keys": [key], "comment": "the bank will refund it" }));
    assert_eq!(reopened.status, 200, "{}", reopened.text());
    assert_eq!(reopened.json()["reopened"], 1);
    let now = accountant.all_pages("/api/receipts", 1000);
    let resolution = receipt_rows(&now, key)[0]["resolution"].clone();
    assert_eq!(
        (resolution["state"].as_str(), resolution["by"]["display_name"].as_str(), resolution["comment"].as_str()),
        (Some("open"), Some("accountant"), Some("the bank will refund it"))
    );
    let write_off = json!({ "keys": [key], "resolution": "write_off", "reason": "bank_charges" });
    let problem = accountant.post_json("/api/receipts/resolve", &write_off).assert_problem(403);
    assert!(problem["detail"].as_str().unwrap().contains("over your limit"), "{problem}");
    let approver = server.signed_in("acme", "approver");
    assert_eq!(approver.post_json("/api/receipts/resolve", &write_off).json()["resolved"], 1);
    let now = accountant.all_pages("/api/receipts", 1000);
    let resolution = receipt_rows(&now, key)[0]["resolution"].clone();
    assert_eq!(
        (resolution["kind"].as_str(), resolution["reason"].as_str(), resolution["by"]["display_name"].as_str()),
        (Some("write_off"), Some("bank_charges"), Some("approver"))
    );
    assert_eq!(minor(&resolution["amount"]), minor(&withdrawal["difference"]));

    // A missing payout accepted (it stands: expected, nothing received); an unexpected
    // receipt adjusted (default: received − nothing expected).
    let missing = items.iter().find(|r| r["status"] == "missing" && r["kind"] == "payout").expect("a missing payout");
    let unexpected = items.iter().find(|r| r["status"] == "unexpected_receipt").expect("an unexpected receipt");
    let accepted = accountant.post_json(
        "/api/receipts/resolve",
        &json!({ "keys": [missing["key"]], "reason": "timing", "comment": "Amazon re-sends it" }),
    );
    assert_eq!(accepted.json()["resolved"], 1, "{}", accepted.text());
    let adjusted = accountant.post_json(
        "/api/receipts/resolve",
        &json!({ "keys": [unexpected["key"]], "resolution": "adjust", "reason": "data_error" }),
    );
    assert_eq!(adjusted.status, 200, "{}", adjusted.text());
    let now = accountant.all_pages("/api/receipts", 1000);
    let r = &receipt_rows(&now, missing["key"].as_str().unwrap())[0]["resolution"];
    assert_eq!(
        (r["kind"].as_str(), &r["ours"], &r["theirs"]),
        (Some("accept"), &missing["expected_amount"], &Value::Null)
    );
    let r = &receipt_rows(&now, unexpected["key"].as_str().unwrap())[0]["resolution"];
    assert_eq!(
        (r["kind"].as_str(), &r["ours"], &r["amount"]),
        (Some("adjust"), &Value::Null, &unexpected["received_amount"])
    );

    // Refused, recording nothing: a result that is no difference, an unknown key, an unknown
    // reason, no keys, assigning is not a receipt route, a viewer.
    let received = items.iter().find(|r| r["status"] == "received").unwrap()["key"].clone();
    let open_key = items
        .iter()
        .find(|r| {
            r["is_difference"] == true
                && r["resolution"].is_null()
                && r["key"] != missing["key"]
                && r["key"] != unexpected["key"]
        })
        .expect("an open difference")["key"]
        .clone();
    accountant
        .post_json("/api/receipts/resolve", &json!({ "keys": [open_key, received], "reason": "timing" }))
        .assert_problem(409);
    accountant
        .post_json("/api/receipts/resolve", &json!({ "keys": ["payout:1"], "reason": "timing" }))
        .assert_problem(409);
    accountant
        .post_json("/api/receipts/resolve", &json!({ "keys": [open_key], "reason": "because" }))
        .assert_problem(400);
    accountant.post_json("/api/receipts/resolve", &json!({ "keys": [], "reason": "timing" })).assert_problem(400);
    server
        .signed_in("acme", "viewer")
        .post_json("/api/receipts/resolve", &json!({ "keys": [open_key], "reason": "timing" }))
        .assert_problem(403);
    let now = accountant.all_pages("/api/receipts", 1000);
    assert!(receipt_rows(&now, open_key.as_str().unwrap())[0]["resolution"].is_null());

    // The audit log: one entry per act and key, object kind receipt.
    let entries: Vec<Value> = admin.get("/api/audit?limit=1000").json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object"]["kind"] == "receipt" && e["actor"]["name"] != "system")
        .cloned()
        .collect();
    let logged: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (e["action"].as_str().unwrap(), e["object"]["id"].as_str().unwrap(), e["actor"]["name"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        logged,
        [
            ("difference.reopen", key, "accountant"),
            ("difference.write_off", key, "approver"),
            ("difference.resolve", missing["key"].as_str().unwrap(), "accountant"),
            ("difference.resolve", unexpected["key"].as_str().unwrap(), "accountant"),
        ]
    );
    assert_eq!(
        (entries[1]["before"]["state"].as_str(), entries[1]["after"]["kind"].as_str()),
        (Some("open"), Some("write_off"))
    );

    // The resolutions report lists them by key beside the orders'.
    let report = accountant.get("/api/reports/resolutions?format=csv");
    assert_eq!(report.status, 200, "{}", report.text());
    let text = report.text();
    assert!(
        text.lines().any(|l| l.starts_with(&format!("{key},,received_short,write_off,bank_charges,USD,"))),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with(missing["key"].as_str().unwrap()) && l.contains(",missing,accept,timing,")),
        "{text}"
    );
}

#[test]
fn an_admin_replaces_the_rules_and_the_next_run_uses_them() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 12);
    let (settings, text) = settings_of(&manifest);
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    server.tenant("acme");
    let admin = server.signed_in("acme", "admin");
    let rules = admin.get("/api/rules").json();
    assert_eq!(rules["built_in"], true);
    let built_in = rules["text"].as_str().unwrap().to_owned();
    assert!(built_in.contains("[[rule]]"));

    let broken = admin.request(
        "PUT",
        "/api/rules",
        Some("application/json"),
        json!({ "text": "[[rule]]\nid = 3\n" }).to_string().as_bytes(),
    );
    let problem = broken.assert_problem(400);
    assert!(problem["detail"].as_str().unwrap().contains("rules.toml:"), "{problem}");
    assert_eq!(admin.get("/api/rules").json()["built_in"], true, "nothing stored");

    // Rules that match nothing: every payout is then missing or pending.
    let none = built_in.split("[[rule]]").next().unwrap().split("[[withdrawal_rule]]").next().unwrap().to_owned();
    let replaced =
        admin.request("PUT", "/api/rules", Some("application/json"), json!({ "text": none }).to_string().as_bytes());
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_eq!(replaced.json()["receipt_rules"], 0);
    assert_eq!(admin.get("/api/rules").json()["built_in"], false);

    for id in upload_month(&admin, &manifest) {
        assert_eq!(admin.wait_job(id)["state"], "succeeded");
    }
    let run = admin.post_json("/api/reconcile", &json!({ "as_of": manifest.as_of.to_string() }));
    let job = admin.wait_job(run.json()["id"].as_i64().unwrap());
    assert_eq!(job["state"], "succeeded", "{job}");
    let receipts = admin.all_pages("/api/receipts", 1000);
    assert!(!receipts.is_empty());
    assert!(receipts.iter().all(|r| !r["status"].as_str().unwrap().starts_with("received")), "{receipts:?}");
}

#[test]
fn a_statement_goes_from_draft_to_closed_by_role_payments_and_the_counterpartys_statement() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 13);
    let (_, text) = settings_of(&manifest);
    // The demo's tieout.toml sets [write_off]: accountant USD 10.00, approver 100.00, auto 0.50.
    assert!(text.contains("[write_off]"));
    let settings = tieout_service::config::Settings::parse("tieout.toml", &text).unwrap();
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    server.tenant("acme");
    let clerk = server.signed_in("acme", "clerk");
    let accountant = server.signed_in("acme", "accountant");
    let approver = server.signed_in("acme", "approver");
    let viewer = server.signed_in("acme", "viewer");
    let documents = dir.path().join("documents.csv");
    std::fs::write(&documents, DOCUMENTS).unwrap();
    let job = clerk.upload(&[], &[("file", &documents)]).json()["id"].as_i64().unwrap();
    let job = clerk.wait_job(job);
    assert_eq!(job["result"]["files"][0]["outcome"], "imported", "{job}");

    let draw = |client: &support::Client| {
        client.post_json(
            "/api/statements",
            &json!({ "counterparty": "D-001", "side": "receivable", "currency": "USD", "from": "2026-10-01", "to": "2026-10-31" }),
        )
    };
    draw(&viewer).assert_problem(403);
    let drawn = draw(&clerk);
    assert_eq!(drawn.status, 201, "{}", drawn.text());
    let statement = drawn.json();
    let id = statement["id"].as_i64().unwrap();
    assert_eq!(
        (statement["due"].as_str(), statement["opening"].as_str(), statement["state"].as_str()),
        (Some("1900.00"), Some("0.00"), Some("draft"))
    );

    let move_to = |client: &support::Client, to: &str| {
        client.post_json(&format!("/api/statements/{id}/transition"), &json!({ "to": to }))
    };
    move_to(&viewer, "pending_review").assert_problem(403);
    // With an alert configuration, submitting for review queues the alert for reviewers.
    let admin = server.signed_in("acme", "admin");
    let config =
        json!({ "text": "[[webhook]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"a-long-enough-secret\"\n" });
    let configured =
        admin.request("PUT", "/api/alerts/config", Some("application/json"), config.to_string().as_bytes());
    assert_eq!(configured.status, 200, "{}", configured.text());
    assert_eq!(move_to(&clerk, "pending_review").json()["state"], "pending_review");
    let deliveries = approver.get("/api/alerts/deliveries").json();
    let review = deliveries["items"].as_array().unwrap().iter().find(|d| d["kind"] == "statement_awaiting_review");
    assert!(review.is_some(), "{deliveries}");
    move_to(&clerk, "reviewed").assert_problem(403);
    move_to(&accountant, "settled").assert_problem(409);
    assert_eq!(move_to(&accountant, "reviewed").json()["state"], "reviewed");

    // The counterparty's statement: one small difference written off by the system, one over the accountant's limit.
    let theirs = "counterparty,type,number,date,amount,currency\nD-001,invoice,INV-101,2026-10-03,1199.70,USD\nD-001,invoice,INV-102,2026-10-22,780.00,USD\nD-001,refund,CN-7,2026-10-25,100.50,USD\n";
    let imported =
        clerk.request("POST", &format!("/api/statements/{id}/counterparty"), Some("text/csv"), theirs.as_bytes());
    assert_eq!(imported.status, 200, "{}", imported.text());
    assert_eq!(imported.json()["written_off_automatically"], 1);
    let resolve = |client: &support::Client, number: &str| {
        client.post_json(
            &format!("/api/statements/{id}/resolve"),
            &json!({ "number": number, "kind": "write_off", "reason": "rounding" }),
        )
    };
    let over = resolve(&accountant, "INV-102").assert_problem(403);
    assert!(over["detail"].as_str().unwrap().contains("over your limit"), "{over}");
    assert_eq!(resolve(&approver, "INV-102").status, 200);
    let shown = viewer.get(&format!("/api/statements/{id}")).json();
    assert!(shown["differences"].as_array().unwrap().iter().all(|d| !d["resolution"].is_null()), "{shown}");
    assert_eq!(shown["resolutions"].as_array().unwrap().len(), 2);

    // Payments move it by themselves: partially paid, then settled; then an approver closes it.
    let pay = |amount: &str, number: &str| {
        let path = dir.path().join(format!("{number}.csv"));
        std::fs::write(
            &path,
            format!("counterparty,type,number,date,amount,currency\nD-001,receipt,{number},2026-11-10,{amount},USD\n"),
        )
        .unwrap();
        let job = clerk.upload(&[], &[("file", &path)]).json()["id"].as_i64().unwrap();
        clerk.wait_job(job);
    };
    pay("1000.00", "RC-1");
    assert_eq!(viewer.get(&format!("/api/statements/{id}")).json()["state"], "partially_paid");
    pay("900.00", "RC-2");
    assert_eq!(viewer.get(&format!("/api/statements/{id}")).json()["state"], "settled");
    move_to(&accountant, "closed").assert_problem(403);
    assert_eq!(move_to(&approver, "closed").json()["state"], "closed");
    move_to(&approver, "void").assert_problem(409);

    // Exports.
    let xlsx = viewer.get(&format!("/api/statements/{id}/export?format=xlsx"));
    assert!(xlsx.body.starts_with(b"PK"));
    let page = viewer.get(&format!("/api/statements/{id}/export?format=html")).text();
    assert!(page.contains("签字盖章") && page.contains("Distributor One") && page.contains("1900.00"), "{page}");
    let csv = viewer.get(&format!("/api/statements/{id}/export?format=csv")).text();
    assert!(csv.starts_with("number,date,type,description,amount"), "{csv}");
    viewer.get("/api/statements/999").assert_problem(404);

    // The audit log holds every change, by whom.
    let audit = approver.get("/api/audit?limit=1000").json();
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["statement.draw_up", "statement.transition", "statement.import_counterparty", "statement.write_off"]
    {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    assert_eq!(approver.get("/api/audit/verify").json()["ok"], true);
}
