//! Alerts end to end: an admin configures a webhook (secret masked when read back), a
//! clerk's demo month is reconciled, and the alerts the run raises — a payout missing
//! among them — reach a webhook receiver on a real socket, signed; the delivery log
//! lists each alert once.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tieout_service::alerts::webhook;

const SECRET: &str = "the receiver's shared secret";

struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A webhook receiver answering 200 to every request, each sent on the channel.
fn receiver() -> (SocketAddr, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, requests) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut headers = HashMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(':') else { break };
                headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
            }
            let mut body = vec![0; headers["content-length"].parse().unwrap()];
            reader.read_exact(&mut body).unwrap();
            let mut stream = reader.into_inner();
            stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").unwrap();
            if sender.send(Received { headers, body }).is_err() {
                break;
            }
        }
    });
    (address, requests)
}

fn put_config(client: &Client, text: &str) -> Response {
    client.request(
        "PUT",
        "/api/alerts/config",
        Some("application/json"),
        json!({ "text": text }).to_string().as_bytes(),
    )
}

#[test]
fn a_reconciled_month_raises_a_missing_payout_that_reaches_the_webhook_signed() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo_month(dir.path(), 21);
    let (settings, text) = settings_of(&manifest);
    let server = TestServer::start(settings, &text, 64 * 1024 * 1024);
    server.tenant("acme");
    let admin = server.signed_in("acme", "admin");
    let (address, requests) = receiver();

    // Nothing configured: the format, commented out.
    let empty = admin.get("/api/alerts/config").json();
    assert_eq!(empty["configured"], false);
    assert!(empty["text"].as_str().unwrap().contains("# [[webhook]]"));

    // Refused with the line and column, and nothing stored.
    let https = format!("[[webhook]]\nurl = \"https://{address}/hook\"\nsecret = \"{SECRET}\"\n");
    let problem = put_config(&admin, &https).assert_problem(400);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.starts_with("alerts.toml:2:7: error: ") && detail.contains("relay"), "{detail}");
    assert_eq!(admin.get("/api/alerts/config").json()["configured"], false);

    let config = format!(
        "[[webhook]]\nurl = \"http://{address}/hooks/tieout\"\nsecret = \"{SECRET}\"\n\n[thresholds]\n\
         difference_above = {{ USD = \"20.00\", EUR = \"20.00\", GBP = \"20.00\" }}\naging_days = 0\naging_orders_max = 0\n"
    );
    let saved = put_config(&admin, &config);
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert!(!saved.text().contains(SECRET), "a secret is never shown back");
    // Read back masked; sent back masked (one threshold changed), the secret stays.
    let shown = admin.get("/api/alerts/config").json();
    assert_eq!(shown["configured"], true);
    assert_eq!(shown["webhooks"][0]["secret"], "********");
    assert_eq!(shown["thresholds"]["difference_above"]["USD"], "20.00");
    let masked = shown["text"].as_str().unwrap().to_owned();
    assert!(masked.contains("secret = \"********\"") && !masked.contains(SECRET), "{masked}");
    let resent = put_config(&admin, &masked.replace("aging_days = 0", "aging_days = 1"));
    assert_eq!(resent.status, 200, "{}", resent.text());
    assert_eq!(resent.json()["thresholds"]["aging_days"], 1);

    // A clerk's month, reconciled.
    let clerk = server.signed_in("acme", "clerk");
    for id in upload_month(&clerk, &manifest) {
        assert_eq!(clerk.wait_job(id)["state"], "succeeded");
    }
    let run = clerk.post_json("/api/reconcile", &json!({ "as_of": manifest.as_of.to_string() }));
    let job_id = run.json()["id"].as_i64().unwrap();
    let job = clerk.wait_job(job_id);
    assert_eq!(job["state"], "succeeded", "{job}");
    let raised = job["result"]["alerts"].as_u64().unwrap();
    assert_eq!(job["result"]["alert_deliveries"].as_u64(), Some(raised), "{job}");
    assert!(raised > 0, "{job}");

    // Every alert reaches the receiver once, signed with the secret kept through the mask.
    let mut received: Vec<Value> = Vec::new();
    while received.len() < raised as usize {
        let request = requests.recv_timeout(Duration::from_secs(60)).expect("the alerts reach the webhook");
        let timestamp: i64 = request.headers["x-tieout-timestamp"].parse().unwrap();
        assert_eq!(timestamp, START, "the server's clock");
        let signature = &request.headers["x-tieout-signature"];
        assert!(webhook::verify(SECRET, timestamp, &request.body, signature), "signed");
        assert!(!webhook::verify("not the receiver's secret", timestamp, &request.body, signature));
        let alert: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(request.headers["x-tieout-event"], alert["kind"].as_str().unwrap());
        received.push(alert);
    }
    let ids: HashSet<&str> = received.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), received.len(), "each alert once");
    let kinds: HashSet<&str> = received.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    for kind in ["payout_missing", "difference_above_threshold", "aging_over_limit"] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
    let missing = received.iter().find(|a| a["kind"] == "payout_missing").unwrap();
    assert_eq!(missing["tenant"], "acme");
    assert!(missing["id"].as_str().unwrap().starts_with(&format!("job-{job_id}/payout_missing/")), "{missing}");
    assert!(missing["title"].as_str().unwrap().contains("missing"), "{missing}");
    assert!(missing["title_zh"].as_str().unwrap().contains("未到账"), "{missing}");
    assert_eq!(missing["created_at"], "2026-09-21T14:13:20Z");

    // The delivery log (approvers and admins): every delivery delivered, on the first try.
    let approver = server.signed_in("acme", "approver");
    let mut log = approver.get("/api/alerts/deliveries?limit=1000").json()["items"].as_array().unwrap().clone();
    for _ in 0..100 {
        if log.iter().all(|d| d["state"] == "delivered") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        log = approver.get("/api/alerts/deliveries?limit=1000").json()["items"].as_array().unwrap().clone();
    }
    assert_eq!(log.len(), received.len());
    for delivery in &log {
        assert_eq!(
            (delivery["state"].as_str(), delivery["attempts"].as_i64()),
            (Some("delivered"), Some(1)),
            "{delivery}"
        );
        assert_eq!(delivery["channel"], "webhook");
        assert_eq!(delivery["delivered_at"], START);
        assert!(ids.contains(delivery["alert"]["id"].as_str().unwrap()));
    }
    // The job evaluated again (as a retry after a crash would): nothing is queued twice.
    let tenant = server.backend.control().unwrap().tenant_by_slug("acme").unwrap().unwrap().id;
    let store = server.backend.tenant_store(tenant).unwrap();
    let mut control = server.backend.control().unwrap();
    let again = tieout_service::alerts::after_reconcile(
        control.as_mut(),
        store.as_ref(),
        tenant,
        &format!("job-{job_id}"),
        manifest.as_of,
        30,
        START + 60,
    )
    .unwrap();
    assert_eq!((again.alerts, again.deliveries), (raised as usize, 0));
    assert_eq!(approver.get("/api/alerts/deliveries?limit=1000").json()["items"].as_array().unwrap().len(), log.len());

    server.signed_in("acme", "accountant").get("/api/alerts/deliveries").assert_problem(403);
    approver.get("/api/alerts/config").assert_problem(403);
}
