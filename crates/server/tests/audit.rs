//! The audit log over HTTP: what the handlers that change state record (who, when, before
//! and after), who may read and verify it, and that nothing in the API changes it.

mod support;

use serde_json::{json, Value};
use support::*;
use tieout_server::{Access, ROUTES};
use tieout_service::team::Action;

/// Every entry of the tenant's log, page by page (`after`, `limit`, `next_after`).
fn all_entries(client: &Client, limit: usize) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = client.get(&format!("/api/audit?after={after}&limit={limit}"));
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        entries.extend(items.iter().cloned());
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    entries
}

#[test]
fn state_changes_are_recorded_with_before_and_after_and_only_approvers_and_admins_read_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 13);
    let (settings, text) = settings_of(&manifest);
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    server.tenant("acme");
    let clerk = server.signed_in("acme", "clerk");
    for id in upload_month(&clerk, &manifest) {
        assert_eq!(clerk.wait_job(id)["state"], "succeeded");
    }
    let run = clerk.post_json("/api/reconcile", &json!({ "as_of": manifest.as_of.to_string() }));
    clerk.wait_job(run.json()["id"].as_i64().unwrap());
    let approver = server.signed_in("acme", "approver");
    // The log starts with the tenant's creation, then the run's automatic write-offs of
    // small differences, each by the system identity.
    let start = all_entries(&approver, 1000);
    assert_eq!(start[0]["action"], "tenant.add");
    assert_eq!(start[0]["actor"], json!({ "user_id": null, "name": "system" }));
    assert_eq!(start[0]["after"], json!({ "slug": "acme", "name": "Tenant acme" }));
    let resolved = approver.all_pages("/api/differences?state=resolved", 1000);
    assert_eq!(start.len() - 1, resolved.len(), "one entry per automatic write-off");
    for entry in &start[1..] {
        assert_eq!(
            (entry["action"].as_str(), entry["actor"]["name"].as_str()),
            (Some("difference.write_off"), Some("system"))
        );
        assert_eq!(entry["after"]["kind"], "write_off");
        assert!(resolved.iter().any(|d| d["order_id"] == entry["object"]["id"]), "{entry}");
    }
    let base = start.len() as i64;
    let verified = approver.get("/api/audit/verify").json();
    assert_eq!((verified["ok"].as_bool(), verified["entries"].as_i64()), (Some(true), Some(base)));

    // An accountant resolves two differences, assigns one and reopens one.
    let accountant = server.signed_in("acme", "accountant");
    let open = accountant.all_pages("/api/differences?state=open", 100);
    let ids: Vec<&str> = open.iter().take(3).map(|d| d["order_id"].as_str().unwrap()).collect();
    let resolve = json!({ "order_ids": ids[..2], "reason": "timing", "comment": "paid in the next settlement" });
    assert_eq!(accountant.post_json("/api/differences/resolve", &resolve).status, 200);
    let admin = server.signed_in("acme", "admin");
    let users = admin.get("/api/users").json()["items"].as_array().unwrap().clone();
    let id_of = |role: &str| users.iter().find(|u| u["role"] == role).unwrap()["id"].as_i64().unwrap();
    let (viewer, accountant_id) = (id_of("viewer"), id_of("accountant"));
    let assign = json!({ "order_ids": [ids[2]], "user_id": viewer });
    assert_eq!(accountant.post_json("/api/differences/assign", &assign).status, 200);
    let reopen = json!({ "order_ids": [ids[0]], "comment": "not paid after all" });
    assert_eq!(accountant.post_json("/api/differences/reopen", &reopen).status, 200);
    // Refused actions record nothing.
    let refused = json!({ "order_ids": [ids[1]], "reason": "because" });
    accountant.post_json("/api/differences/resolve", &refused).assert_problem(400);

    // An admin changes the viewer's role, adds a user, replaces the rules, creates and
    // revokes a token; a change that changes nothing records nothing.
    let patch = |id: i64, body: Value| {
        admin.request("PATCH", &format!("/api/users/{id}"), Some("application/json"), body.to_string().as_bytes())
    };
    assert_eq!(patch(viewer, json!({ "role": "clerk" })).status, 200);
    assert_eq!(patch(viewer, json!({ "role": "clerk" })).status, 200);
    let added = admin.post_json(
        "/api/users",
        &json!({ "email": "dora@acme.test", "display_name": "Dora", "role": "viewer", "password": PASSWORD }),
    );
    assert_eq!(added.status, 201, "{}", added.text());
    let rules = admin.get("/api/rules").json()["text"].as_str().unwrap().to_owned();
    let put = |text: &str| {
        admin.request("PUT", "/api/rules", Some("application/json"), json!({ "text": text }).to_string().as_bytes())
    };
    assert_eq!(put(&rules).status, 200);
    let created = admin.post_json("/api/tokens", &json!({ "name": "nightly" })).json();
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(admin.request("DELETE", &format!("/api/tokens/{}", created["id"]), None, b"").status, 204);
    // An organisation and a store added; the alert configuration replaced (its secret never
    // in the log).
    let organisation =
        admin.post_json("/api/organisations", &json!({ "name": "Shenzhen branch" })).json()["id"].clone();
    let store = admin.post_json("/api/stores", &json!({ "organisation_id": organisation, "name": "acme-jp" }));
    assert_eq!(store.status, 201, "{}", store.text());
    let alert_config = "[[webhook]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"hook-secret-never-logged\"\n";
    let replaced = admin.request(
        "PUT",
        "/api/alerts/config",
        Some("application/json"),
        json!({ "text": alert_config }).to_string().as_bytes(),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.text());

    let everything = all_entries(&approver, 2);
    assert_eq!(everything[..start.len()], start[..], "the earlier entries are unchanged");
    let entries = everything[start.len()..].to_vec();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "difference.resolve",
            "difference.resolve",
            "difference.assign",
            "difference.reopen",
            "user.change",
            "user.add",
            "rules.replace",
            "token.create",
            "token.revoke",
            "organisation.add",
            "store.add",
            "alerts.config_replace"
        ]
    );
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (base + 1..=base + 12).collect::<Vec<_>>());
    assert_eq!(all_entries(&admin, 1000), everything, "pages of any size list the same entries");

    // One entry per order, by the accountant, with the reason and comment.
    for (entry, id) in entries[..2].iter().zip(&ids) {
        assert_eq!(entry["object"], json!({ "kind": "order", "id": id }));
        assert_eq!(entry["actor"], json!({ "user_id": accountant_id, "name": "accountant" }));
        assert_eq!((entry["before"]["state"].as_str(), entry["before"]["kind"].as_str()), (Some("open"), None));
        let after = &entry["after"];
        assert_eq!(
            (after["state"].as_str(), after["kind"].as_str(), after["reason"].as_str()),
            (Some("resolved"), Some("accept"), Some("timing"))
        );
        assert_eq!(after["comment"], "paid in the next settlement");
        let order = open.iter().find(|d| d["order_id"] == *id).unwrap();
        assert_eq!(after["currency"], order["currency"]);
        assert!(after["theirs_minor"].is_i64(), "{after}");
    }
    assert_eq!(entries[2]["after"]["assignee"], viewer);
    assert_eq!(entries[3]["before"]["state"], "resolved");
    let reopened = &entries[3]["after"];
    assert_eq!((reopened["state"].as_str(), reopened["kind"].as_str()), (Some("open"), None));
    assert_eq!(reopened["comment"], "not paid after all");
    // The role change: before and after, by the admin.
    let change = &entries[4];
    assert_eq!(change["object"], json!({ "kind": "user", "id": viewer.to_string() }));
    assert_eq!(change["actor"]["name"], "admin");
    assert_eq!((change["before"]["role"].as_str(), change["after"]["role"].as_str()), (Some("viewer"), Some("clerk")));
    assert_eq!(change["before"]["email"], "viewer@acme.test");
    assert_eq!(
        (change["before"]["disabled"].as_bool(), change["after"]["disabled"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(entries[5]["before"], Value::Null);
    assert_eq!(entries[5]["after"]["email"], "dora@acme.test");
    // Rules: none of its own before (null), the text after.
    assert_eq!((entries[6]["before"].clone(), entries[6]["after"].as_str()), (Value::Null, Some(rules.as_str())));
    // Tokens: never the token or its hash.
    let secret = token.rsplit('_').next().unwrap();
    let log = serde_json::to_string(&entries).unwrap();
    assert!(!log.contains(secret) && !log.contains(&tieout_service::team::sha256_hex(secret)));
    assert_eq!(entries[7]["after"], json!({ "name": "nightly", "user_id": id_of("admin") }));
    assert_eq!(
        (entries[8]["before"]["revoked"].as_bool(), entries[8]["after"]["revoked"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(entries[9]["after"], json!({ "name": "Shenzhen branch", "parent_id": null }));
    assert_eq!(entries[10]["after"], json!({ "name": "acme-jp", "organisation_id": organisation }));
    assert_eq!(entries[11]["object"], json!({ "kind": "setting", "id": "alerts" }));
    assert_eq!(entries[11]["before"], Value::Null);
    let logged = entries[11]["after"]["text"].as_str().unwrap();
    assert!(logged.contains("http://127.0.0.1:9/hook") && logged.contains("********"), "{logged}");
    assert!(!serde_json::to_string(&everything).unwrap().contains("hook-secret-never-logged"));
    // And never a password hash.
    assert!(!log.contains("argon2"), "{log}");
    // Chained: each entry's prev_hash is the previous entry's hash.
    assert_eq!(everything[0]["prev_hash"], "0".repeat(64));
    for pair in everything.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }

    // Verify: intact, with the head; against that head, and against one never there.
    let verified = approver.get("/api/audit/verify").json();
    let last = base + 12;
    let head = json!({ "seq": last, "hash": entries[11]["hash"] });
    assert_eq!(verified, json!({ "ok": true, "entries": last, "head": head, "first_broken": null }));
    let hash = entries[11]["hash"].as_str().unwrap();
    assert_eq!(approver.get(&format!("/api/audit/verify?seq={last}&hash={hash}")).json()["ok"], true);
    let wrong = approver.get(&format!("/api/audit/verify?seq={}&hash={hash}", last - 1)).json();
    assert_eq!((wrong["ok"].as_bool(), wrong["first_broken"]["seq"].as_i64()), (Some(false), Some(last - 1)));
    assert_eq!(wrong["first_broken"]["kind"], "head_not_found");
    approver.get(&format!("/api/audit/verify?seq={last}")).assert_problem(400);
    approver.get("/api/audit?limit=0").assert_problem(400);
    approver.get("/api/audit?after=-1").assert_problem(400);

    // Viewer, clerk and accountant may not read or verify the log; approver and admin may.
    for role in ["viewer", "clerk", "accountant"] {
        let client = server.signed_in("acme", role);
        for path in ["/api/audit", "/api/audit/verify"] {
            client.get(path).assert_problem(403);
        }
    }
    assert_eq!(admin.get("/api/audit/verify").json()["ok"], true);
    // The other tenant's log is its own.
    server.tenant("bolt");
    let bolt = server.signed_in("bolt", "admin");
    assert_eq!(bolt.get("/api/audit/verify").json()["entries"], 1, "its own creation only");

    // No route changes or removes an entry: the audit paths answer GET only, and the
    // table of routes has no other method for them.
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let response = admin.request(method, "/api/audit", Some("application/json"), b"{}");
        assert_eq!(response.status, 405, "{method}: {}", response.text());
    }
    let audit_routes: Vec<(&str, &str, Access)> =
        ROUTES.iter().filter(|r| r.path.starts_with("/api/audit")).map(|r| (r.method, r.path, r.access)).collect();
    assert_eq!(
        audit_routes,
        [
            ("GET", "/api/audit", Access::Signed(Action::SignOff)),
            ("GET", "/api/audit/verify", Access::Signed(Action::SignOff))
        ]
    );
    assert_eq!(approver.get("/api/audit/verify").json()["entries"], last);
}
