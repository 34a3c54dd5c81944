//! Alerts delivered for real, on loopback sockets: a webhook receiver that fails twice
//! and then answers 200 (three signed attempts, the waits of the backoff schedule, driven
//! by the clock the test passes), and an SMTP sink that receives the e-mail.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use tieout_core::{Currency, Money};
use tieout_service::alerts::{self, webhook, Alert, AlertKind, AlertPayload, ALERTS_SETTING};
use tieout_service::backend::Backend;
use tieout_service::team;

const T0: i64 = 1_790_000_000;
const SECRET: &str = "s3cret-for-the-receiver-only";

/// A backend with tenant `acme` (one admin) whose alert configuration is `config`.
fn tenant_with_config(config: &str) -> (tempfile::TempDir, Backend, i64) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::sqlite(dir.path()).unwrap();
    let mut control = backend.control().unwrap();
    let tenant = team::create_tenant(control.as_mut(), "acme", "Acme", T0).unwrap().id;
    let admin =
        team::add_user(control.as_mut(), tenant, "admin@acme.test", "Admin", "admin", "correct horse battery", T0);
    let (text, _) = alerts::replace_config(None, config).unwrap();
    control.set_tenant_setting(tenant, ALERTS_SETTING, &text, admin.unwrap().id, T0).unwrap();
    (dir, backend, tenant)
}

/// One request as the receiver saw it.
struct Received {
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A webhook receiver answering the statuses in `answers`, one per connection, in
/// order; every request it reads is sent on the channel.
fn webhook_receiver(answers: Vec<u16>) -> (SocketAddr, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for status in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
            let mut headers = HashMap::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
            }
            let length: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let reason = if status == 200 { "OK" } else { "Internal Server Error" };
            let mut stream = reader.into_inner();
            write!(stream, "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
            sender.send(Received { target, headers, body }).unwrap();
        }
    });
    (address, receiver)
}

fn webhook_config(address: SocketAddr) -> String {
    format!("[[webhook]]\nurl = \"http://{address}/hooks/tieout\"\nsecret = \"{SECRET}\"\n")
}

#[test]
fn a_webhook_is_signed_and_retried_with_backoff_until_it_answers_2xx() {
    let (address, requests) = webhook_receiver(vec![500, 500, 200]);
    let (_dir, backend, tenant) = tenant_with_config(&webhook_config(address));
    let alert = alerts::statement_awaiting_review("acme", 42, "Distributor GmbH", Money::new(123_456, Currency::EUR));
    let mut control = backend.control().unwrap();
    let raised =
        alerts::raise(control.as_mut(), tenant, std::slice::from_ref(&alert), "statement-42-review-1", T0).unwrap();
    assert_eq!((raised.alerts, raised.deliveries, raised.config_error), (1, 1, None));
    // The same alert in the same scope is not queued again.
    let again = alerts::raise(control.as_mut(), tenant, &[alert], "statement-42-review-1", T0 + 5).unwrap();
    assert_eq!(again.deliveries, 0);
    let id = control.deliveries(tenant, 10).unwrap()[0].id;

    // Attempt 1 at T0: 500, tried again 30 s later.
    assert!(alerts::deliver_next(&backend, "w1", &|| T0).unwrap().is_some());
    let log = control.delivery(tenant, id).unwrap().unwrap();
    assert_eq!((log.state.as_str(), log.attempts, log.next_attempt_at), ("pending", 1, T0 + 30));
    assert_eq!(log.last_error.as_deref(), Some("HTTP 500 Internal Server Error"));
    assert!(alerts::deliver_next(&backend, "w1", &|| T0 + 29).unwrap().is_none(), "not due before the backoff");
    // Attempt 2 at T0 + 30: 500 again, tried again 2 min later.
    assert!(alerts::deliver_next(&backend, "w1", &|| T0 + 30).unwrap().is_some());
    let log = control.delivery(tenant, id).unwrap().unwrap();
    assert_eq!((log.state.as_str(), log.attempts, log.next_attempt_at), ("pending", 2, T0 + 30 + 120));
    assert!(alerts::deliver_next(&backend, "w1", &|| T0 + 149).unwrap().is_none());
    // Attempt 3 at T0 + 150: 200, delivered.
    assert!(alerts::deliver_next(&backend, "w1", &|| T0 + 150).unwrap().is_some());
    let log = control.delivery(tenant, id).unwrap().unwrap();
    assert_eq!((log.state.as_str(), log.attempts, log.delivered_at), ("delivered", 3, Some(T0 + 150)));
    assert!(alerts::deliver_next(&backend, "w1", &|| T0 + 100_000).unwrap().is_none(), "delivered once");

    // The receiver saw three signed requests, one per attempt, each stamped with its time.
    let seen: Vec<Received> = requests.iter().take(3).collect();
    for (request, timestamp) in seen.iter().zip([T0, T0 + 30, T0 + 150]) {
        assert_eq!(request.target, "/hooks/tieout");
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(request.headers["x-tieout-event"], "statement_awaiting_review");
        assert_eq!(request.headers["x-tieout-delivery"], id.to_string());
        assert_eq!(request.headers["x-tieout-timestamp"], timestamp.to_string());
        let signature = &request.headers["x-tieout-signature"];
        assert!(webhook::verify(SECRET, timestamp, &request.body, signature), "signed with the secret");
        assert!(!webhook::verify("a wrong secret, same length!", timestamp, &request.body, signature));
        assert!(!webhook::verify(SECRET, timestamp + 1, &request.body, signature), "the timestamp is signed");
        // The receiver's own HMAC, written out: sha256=hex(HMAC(secret, "TIMESTAMP.BODY")).
        let mut message = format!("{timestamp}.").into_bytes();
        message.extend_from_slice(&request.body);
        let expected: String =
            webhook::hmac_sha256(SECRET.as_bytes(), &message).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(signature, &format!("sha256={expected}"));
        let payload: AlertPayload = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(payload.id, "statement-42-review-1/statement_awaiting_review/statement:42");
        assert_eq!((payload.tenant.as_str(), payload.object.as_str()), ("acme", "statement:42"));
        assert_eq!(payload.title, "Statement 42 for Distributor GmbH awaits review");
        assert_eq!(payload.created_at, "2026-09-21T14:13:20Z");
    }
    assert_eq!(seen[0].body, seen[2].body, "every attempt sends the same alert");
}

#[test]
fn a_webhook_that_never_answers_2xx_is_failed_after_the_last_attempt() {
    let attempts = alerts::DELIVERY_ATTEMPTS_MAX as usize;
    let (address, requests) = webhook_receiver(vec![503; attempts]);
    let (_dir, backend, tenant) = tenant_with_config(&webhook_config(address));
    let mut control = backend.control().unwrap();
    let alert = alerts::statement_awaiting_review("acme", 7, "Supplier Ltd", Money::new(500, Currency::USD));
    alerts::raise(control.as_mut(), tenant, &[alert], "statement-7-review-1", T0).unwrap();
    let mut now = T0;
    let mut waits = Vec::new();
    for attempt in 1..=alerts::DELIVERY_ATTEMPTS_MAX {
        assert!(alerts::deliver_next(&backend, "w1", &|| now).unwrap().is_some(), "attempt {attempt}");
        let log = &control.deliveries(tenant, 1).unwrap()[0];
        assert_eq!(log.attempts, attempt);
        if log.state == "pending" {
            waits.push(log.next_attempt_at - now);
            now = log.next_attempt_at;
        }
    }
    assert_eq!(waits, [30, 120, 480, 1920, 7680]);
    let log = &control.deliveries(tenant, 1).unwrap()[0];
    assert_eq!((log.state.as_str(), log.last_error.as_deref()), ("failed", Some("HTTP 503 Internal Server Error")));
    assert!(alerts::deliver_next(&backend, "w1", &|| now + 1_000_000).unwrap().is_none());
    assert_eq!(requests.iter().take(attempts).count(), attempts);
}

#[test]
fn a_webhook_removed_from_the_configuration_fails_its_deliveries_at_once() {
    let (address, _requests) = webhook_receiver(vec![]);
    let (_dir, backend, tenant) = tenant_with_config(&webhook_config(address));
    let mut control = backend.control().unwrap();
    let alert = alerts::statement_awaiting_review("acme", 8, "Supplier Ltd", Money::new(500, Currency::USD));
    alerts::raise(control.as_mut(), tenant, &[alert], "statement-8-review-1", T0).unwrap();
    control.set_tenant_setting(tenant, ALERTS_SETTING, "", 1, T0 + 1).unwrap();
    assert!(alerts::deliver_next(&backend, "w1", &|| T0 + 2).unwrap().is_some());
    let log = &control.deliveries(tenant, 1).unwrap()[0];
    assert_eq!((log.state.as_str(), log.attempts), ("failed", 1));
    assert_eq!(log.last_error.as_deref(), Some("the webhook is no longer in the alert configuration"));
}

/// What the SMTP sink received in one session.
#[derive(Debug, Default)]
struct Mail {
    ehlo: String,
    from: String,
    recipients: Vec<String>,
    /// The message as DATA carried it, dot-stuffing undone, lines joined by CRLF.
    data: String,
}

/// An SMTP sink that accepts one message and sends what it received on the channel.
fn smtp_sink() -> (SocketAddr, mpsc::Receiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer: TcpStream = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut mail = Mail::default();
        let mut reply = |text: &str| writer.write_all(text.as_bytes()).unwrap();
        reply("220 sink.test ESMTP ready\r\n");
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            assert!(line.ends_with("\r\n"), "commands end with CRLF: {line:?}");
            let command = line.trim_end().to_owned();
            let verb = command.split([' ', ':']).next().unwrap_or("").to_uppercase();
            match verb.as_str() {
                "EHLO" => {
                    mail.ehlo = command.clone();
                    reply("250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n");
                }
                "MAIL" => {
                    mail.from = command.clone();
                    reply("250 2.1.0 OK\r\n");
                }
                "RCPT" => {
                    mail.recipients.push(command.trim_start_matches("RCPT TO:").to_owned());
                    reply("250 2.1.5 OK\r\n");
                }
                "DATA" => {
                    reply("354 End data with <CR><LF>.<CR><LF>\r\n");
                    let mut lines = Vec::new();
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        assert!(line.ends_with("\r\n"), "message lines end with CRLF: {line:?}");
                        let line = line.trim_end_matches("\r\n");
                        if line == "." {
                            break;
                        }
                        lines.push(line.strip_prefix('.').unwrap_or(line).to_owned());
                    }
                    mail.data = lines.join("\r\n");
                    reply("250 2.0.0 queued as 1\r\n");
                }
                "QUIT" => {
                    reply("221 2.0.0 bye\r\n");
                    break;
                }
                _ => reply("502 5.5.2 not implemented\r\n"),
            }
        }
        sender.send(mail).unwrap();
    });
    (address, receiver)
}

#[test]
fn an_email_reaches_the_smtp_sink_with_its_recipients_subject_and_text_in_english_and_chinese() {
    let (address, mails) = smtp_sink();
    let config = format!(
        "[email]\nsmtp = \"{address}\"\nfrom = \"tieout@acme.example\"\nto = [\"finance@acme.example\", \"cfo@acme.example\"]\n"
    );
    let (_dir, backend, tenant) = tenant_with_config(&config);
    let mut control = backend.control().unwrap();
    // A detail with a line starting with a dot: sent stuffed, received as written.
    let alert = Alert {
        tenant: "acme".to_owned(),
        kind: AlertKind::PayoutMissing,
        object: "payout:1234567890".to_owned(),
        title: "Payout missing: settlement 1234567890 of acme-de, 1500.00 EUR".to_owned(),
        detail: "The payout has not arrived.\n.A line that starts with a dot.\n.".to_owned(),
        title_zh: "转账未到账：店铺 acme-de 结算 1234567890，1500.00 EUR".to_owned(),
        detail_zh: "结算 1234567890 的转账逾期未到账。".to_owned(),
    };
    let raised = alerts::raise(control.as_mut(), tenant, &[alert], "run-3", T0).unwrap();
    assert_eq!(raised.deliveries, 1);
    assert!(alerts::deliver_next(&backend, "w1", &|| T0).unwrap().is_some());
    let log = &control.deliveries(tenant, 1).unwrap()[0];
    assert_eq!((log.channel.as_str(), log.target.as_str()), ("email", "finance@acme.example, cfo@acme.example"));
    assert_eq!((log.state.as_str(), log.attempts, log.delivered_at), ("delivered", 1, Some(T0)), "{log:?}");

    let mail = mails.recv().unwrap();
    assert!(mail.ehlo.starts_with("EHLO [127.0.0.1]"), "{}", mail.ehlo);
    assert_eq!(mail.from, "MAIL FROM:<tieout@acme.example> BODY=8BITMIME");
    assert_eq!(mail.recipients, ["<finance@acme.example>", "<cfo@acme.example>"]);
    let (head, body) = mail.data.split_once("\r\n\r\n").unwrap();
    let headers: HashMap<&str, &str> = head.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(headers["Subject"], "[tieout] Payout missing: settlement 1234567890 of acme-de, 1500.00 EUR");
    assert_eq!(headers["From"], "tieout@acme.example");
    assert_eq!(headers["To"], "finance@acme.example, cfo@acme.example");
    assert_eq!(headers["Content-Type"], "text/plain; charset=utf-8");
    assert_eq!(headers["X-Tieout-Event"], "payout_missing");
    assert_eq!(headers["X-Tieout-Delivery"], log.id.to_string());
    assert_eq!(headers["Date"], "Mon, 21 Sep 2026 14:13:20 +0000");
    assert!(headers["Message-ID"].ends_with("@acme.example>"), "{head}");
    // English first, then Chinese, in one text.
    let english = body.find("The payout has not arrived.").unwrap();
    let chinese = body.find("结算 1234567890 的转账逾期未到账。").unwrap();
    assert!(english < chinese, "{body}");
    assert!(body.contains("\r\n.A line that starts with a dot.\r\n.\r\n"), "{body}");
    assert!(body.contains("转账未到账：店铺 acme-de 结算 1234567890，1500.00 EUR"));
    assert!(body.contains("Kind: payout_missing") && body.contains("类型：转账未到账"), "{body}");
    assert!(body.contains("Alert: run-3/payout_missing/payout:1234567890"), "{body}");
}

#[test]
fn an_smtp_relay_that_is_not_there_is_a_failed_attempt_retried_later() {
    // A port nothing listens on (bound, then released).
    let address = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config =
        format!("[email]\nsmtp = \"{address}\"\nfrom = \"tieout@acme.example\"\nto = [\"ops@acme.example\"]\n");
    let (_dir, backend, tenant) = tenant_with_config(&config);
    let mut control = backend.control().unwrap();
    let alert = alerts::statement_awaiting_review("acme", 9, "Supplier Ltd", Money::new(500, Currency::USD));
    alerts::raise(control.as_mut(), tenant, &[alert], "statement-9-review-1", T0).unwrap();
    assert!(alerts::deliver_next(&backend, "w1", &|| T0).unwrap().is_some());
    let log = &control.deliveries(tenant, 1).unwrap()[0];
    assert_eq!((log.state.as_str(), log.attempts, log.next_attempt_at), ("pending", 1, T0 + 30));
    assert!(log.last_error.as_deref().unwrap_or_default().starts_with("connecting to 127.0.0.1:"), "{log:?}");
}
