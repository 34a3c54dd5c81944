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
    let verified = approver.get("/api/audit/verify").json();
    assert_eq!(verified, json!({ "ok": true, "entries": 0, "head": null, "first_broken": null }));

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

    let entries = all_entries(&approver, 2);
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
            "token.revoke"
        ]
    );
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    assert_eq!(all_entries(&admin, 1000), entries, "pages of any size list the same entries");

    // One entry per order, by the accountant, with the reason and comment.
    for (entry, id) in entries[..2].iter().zip(&ids) {
        assert_eq!(entry["object"], json!({ "kind": "order", "id": id }));
        assert_eq!(entry["actor"], json!({ "user_id": accountant_id, "name": "accountant" }));
        assert_eq!(entry["before"], json!({ "state": "open", "reason": null, "comment": null, "assignee": null }));
        let after = json!({ "state": "resolved", "reason": "timing", "comment": "paid in the next settlement", "assignee": null });
        assert_eq!(entry["after"], after);
    }
    assert_eq!(entries[2]["after"]["assignee"], viewer);
    assert_eq!(entries[3]["before"]["state"], "resolved");
    assert_eq!(
        entries[3]["after"],
        json!({ "state": "open", "reason": null, "comment": "not paid after all", "assignee": null })
    );
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
    // And never a password hash.
    assert!(!log.contains("argon2"), "{log}");
    // Chained: each entry's prev_hash is the previous entry's hash.
    assert_eq!(entries[0]["prev_hash"], "0".repeat(64));
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }

    // Verify: intact, with the head; against that head, and against one never there.
    let verified = approver.get("/api/audit/verify").json();
    let head = json!({ "seq": 9, "hash": entries[8]["hash"] });
    assert_eq!(verified, json!({ "ok": true, "entries": 9, "head": head, "first_broken": null }));
    let hash = entries[8]["hash"].as_str().unwrap();
    assert_eq!(approver.get(&format!("/api/audit/verify?seq=9&hash={hash}")).json()["ok"], true);
    let wrong = approver.get(&format!("/api/audit/verify?seq=8&hash={hash}")).json();
    assert_eq!((wrong["ok"].as_bool(), wrong["first_broken"]["seq"].as_i64()), (Some(false), Some(8)));
    assert_eq!(wrong["first_broken"]["kind"], "head_not_found");
    approver.get("/api/audit/verify?seq=9").assert_problem(400);
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
    assert_eq!(bolt.get("/api/audit/verify").json()["entries"], 0);

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
    assert_eq!(approver.get("/api/audit/verify").json()["entries"], 9);
}
