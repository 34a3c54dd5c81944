//! The team server as a new user starts it: `tieout tenant add`, `tieout user add`,
//! `tieout token create`, then `tieout serve`, called over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

fn tieout(dir: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tieout"))
        .args(args)
        .current_dir(dir)
        .env_remove("TIEOUT_DATABASE_URL")
        .env_remove("TIEOUT_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn get(address: &str, path: &str, token: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw.split("\r\n\r\n").nth(1).unwrap_or("").to_owned())
}

#[test]
fn a_new_user_adds_a_tenant_a_user_and_a_token_then_calls_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (code, out, err) = tieout(dir, &["tenant", "add", "acme", "Acme Trading"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tenant acme"), "{out}");
    let (code, _, err) = tieout(dir, &["tenant", "add", "acme", "Again"], "");
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");

    let add = ["user", "add", "--tenant", "acme", "--email", "Ann@Acme.test", "--role", "accountant"];
    let (code, out, err) = tieout(dir, &add, "short\n");
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("at least"), "a short password is refused: {err}");
    let (code, out, err) = tieout(dir, &add, "a long enough password\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ann@acme.test (accountant)"), "{out}");
    let (code, _, err) = tieout(
        dir,
        &["user", "add", "--tenant", "acme", "--email", "b@acme.test", "--role", "boss"],
        "a long enough password\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown role 'boss'"), "{err}");
    let (code, out, _) = tieout(dir, &["user", "list", "--tenant", "acme"], "");
    assert_eq!(code, 0);
    assert!(out.contains("ann@acme.test") && out.contains("accountant"), "{out}");

    let (code, token, err) =
        tieout(dir, &["token", "create", "--tenant", "acme", "--email", "ann@acme.test", "--name", "nightly"], "");
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("tieout_"), "{token}");
    assert!(err.contains("shown once"), "{err}");
    // The database holds only a hash of the token.
    let control = std::fs::read(dir.join("tieout-data/control.sqlite")).unwrap();
    let secret = token.rsplit('_').next().unwrap();
    assert!(!control.windows(secret.len()).any(|w| w == secret.as_bytes()));

    let mut server = Command::new(env!("CARGO_BIN_EXE_tieout"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("TIEOUT_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned();
    let result = std::panic::catch_unwind(|| {
        let (status, body) = get(&address, "/api/me", &token);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"role\":\"accountant\""), "{body}");
        let (status, _) = get(&address, "/api/me", "tieout_1_1_wrong");
        assert_eq!(status, 401);
        let (status, body) = get(&address, "/api/ready", "");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("sqlite"));
    });
    server.kill().unwrap();
    server.wait().unwrap();
    result.unwrap();
}

#[test]
fn statements_from_the_command_line_respect_roles_and_write_off_limits() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("tieout.toml"),
        "[write_off]\naccountant = { USD = \"10.00\" }\napprover = { USD = \"100.00\" }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("documents.csv"),
        "counterparty,name,type,number,date,amount,currency\n\
         D-001,Distributor One,invoice,INV-1,2026-10-03,1000.00,USD\n\
         D-001,Distributor One,invoice,INV-2,2026-10-13,500.00,USD\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("theirs.csv"),
        "counterparty,type,number,date,amount,currency\nD-001,invoice,INV-1,2026-10-03,1000.00,USD\nD-001,invoice,INV-2,2026-10-13,450.00,USD\n",
    )
    .unwrap();
    assert_eq!(tieout(dir, &["tenant", "add", "acme", "Acme Trading"], "").0, 0);
    for role in ["clerk", "accountant", "approver"] {
        let email = format!("{role}@acme.test");
        let (code, _, err) = tieout(
            dir,
            &["user", "add", "--tenant", "acme", "--email", &email, "--role", role],
            "a long enough password\n",
        );
        assert_eq!(code, 0, "{err}");
    }
    let statement = |user: &str, args: &[&str]| {
        let email = format!("{user}@acme.test");
        let mut all = vec!["statement", "--tenant", "acme", "--user", email.as_str()];
        all.extend_from_slice(args);
        tieout(dir, &all, "")
    };
    let (code, out, err) = statement("clerk", &["import-documents", "documents.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 document(s)"), "{out}");
    let (code, out, err) = statement(
        "clerk",
        &[
            "draw-up",
            "--counterparty",
            "D-001",
            "--side",
            "receivable",
            "--currency",
            "USD",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("statement 1 drawn up") && out.contains("due 1500.00"), "{out}");
    assert_eq!(statement("clerk", &["transition", "1", "pending_review"]).0, 0);
    let (code, _, err) = statement("clerk", &["transition", "1", "reviewed"]);
    assert_eq!(code, 2);
    assert!(err.contains("may not"), "{err}");
    assert_eq!(statement("accountant", &["transition", "1", "reviewed"]).0, 0);
    let (code, out, err) = statement("clerk", &["import-theirs", "1", "theirs.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 difference(s)"), "{out}");
    let (code, _, err) = statement("accountant", &["resolve", "1", "INV-2", "write_off", "--reason", "goodwill"]);
    assert_eq!(code, 2, "50.00 is over the accountant's 10.00");
    assert!(err.contains("over your limit"), "{err}");
    assert_eq!(statement("approver", &["resolve", "1", "INV-2", "write_off", "--reason", "goodwill"]).0, 0);
    let (code, out, _) = statement("clerk", &["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("reviewed") && out.contains("1500.00"), "{out}");
    assert_eq!(statement("clerk", &["export", "1", "--format", "html", "-o", "statement.html"]).0, 0);
    let page = std::fs::read_to_string(dir.join("statement.html")).unwrap();
    assert!(page.contains("签字盖章") && page.contains("Distributor One"), "{page}");
}

#[test]
fn differences_from_the_command_line_are_accepted_adjusted_and_written_off_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The demo month, reconciled (its small differences written off by the system), as the
    // first tenant's data file.
    let (code, out, err) = tieout(dir, &["demo", "--orders", "3000", "--seed", "5"], "");
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(tieout(dir, &["tenant", "add", "acme", "Acme Trading"], "").0, 0);
    for role in ["viewer", "accountant"] {
        let email = format!("{role}@acme.test");
        let (code, _, err) = tieout(
            dir,
            &["user", "add", "--tenant", "acme", "--email", &email, "--role", role],
            "a long enough password\n",
        );
        assert_eq!(code, 0, "{err}");
    }
    std::fs::copy(dir.join("tieout-demo/tieout.db"), dir.join("tieout-data/tenants/1.sqlite")).unwrap();
    let (code, csv, err) = tieout(
        dir,
        &["--db", "tieout-demo/tieout.db", "report", "differences", "--format", "csv", "--category", "amount_mismatch"],
        "",
    );
    assert_eq!(code, 1, "{err}");
    let mismatches: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .filter(|r: &Vec<String>| r.len() > 6)
        .collect();
    assert!(mismatches.len() >= 2, "{csv}");
    let difference = |user: &str, args: &[&str]| {
        let email = format!("{user}@acme.test");
        let mut all = vec!["--config", "tieout-demo/tieout.toml", "difference", "--tenant", "acme", "--user", &email];
        all.extend_from_slice(args);
        tieout(dir, &all, "")
    };
    let (first, second) = (mismatches[0][0].as_str(), mismatches[1][0].as_str());
    let (code, _, err) = difference("viewer", &["resolve", first, "--reason", "timing"]);
    assert_eq!(code, 2);
    assert!(err.contains("may not resolve"), "{err}");
    let (code, out, err) =
        difference("accountant", &["resolve", first, "--as", "adjust", "--reason", "data_error", "--amount", "-0.10"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resolved adjust") && out.contains("amount -0.10"), "{out}");
    // ours and theirs are the order amount and the sales settled, as the report has them.
    assert!(
        out.contains(&format!("ours {}", mismatches[0][4])) && out.contains(&format!("theirs {}", mismatches[0][5])),
        "{out}"
    );
    // A write-off over the accountant's limit (10.00 USD in the demo) is refused, else done.
    let amount: i64 = {
        let minor = |t: &str| -> i64 { t.replace('.', "").parse().unwrap() };
        (minor(&mismatches[1][5]) - minor(&mismatches[1][4])).abs()
    };
    let (code, out, err) = difference("accountant", &["resolve", second, "--as", "write_off", "--reason", "rounding"]);
    if amount <= 1000 || mismatches[1][3] != "USD" {
        assert_eq!(code, 0, "{out}{err}");
    } else {
        assert_eq!(code, 2, "{out}");
        assert!(err.contains("over your limit"), "{err}");
    }
    let (code, table, err) = difference("viewer", &["resolutions", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(table.lines().any(|l| l.starts_with(first) && l.contains(",adjust,data_error,")), "{table}");
    assert!(table.lines().any(|l| l.contains(",system,")), "the demo's automatic write-offs: {table}");
    let (code, log, _) = tieout(dir, &["audit", "list", "--tenant", "acme"], "");
    assert_eq!(code, 0);
    assert!(log.contains("difference.resolve") && log.contains(first), "{log}");
}

#[test]
fn receipt_differences_from_the_command_line_are_resolved_by_key_within_limits_and_small_ones_by_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (code, out, err) = tieout(dir, &["demo", "--orders", "3000", "--seed", "5"], "");
    assert_eq!(code, 0, "{out}\n{err}");
    let as_of = out.split("Reconciled as of ").nth(1).and_then(|rest| rest.get(..10)).unwrap().to_owned();
    assert_eq!(tieout(dir, &["tenant", "add", "acme", "Acme Trading"], "").0, 0);
    for role in ["viewer", "accountant", "approver"] {
        let email = format!("{role}@acme.test");
        let (code, _, err) = tieout(
            dir,
            &["user", "add", "--tenant", "acme", "--email", &email, "--role", role],
            "a long enough password\n",
        );
        assert_eq!(code, 0, "{err}");
    }
    std::fs::copy(dir.join("tieout-demo/tieout.db"), dir.join("tieout-data/tenants/1.sqlite")).unwrap();
    // The receipts report names each result's key (its last column).
    let db = "tieout-data/tenants/1.sqlite";
    let receipts = || {
        let (code, csv, err) = tieout(dir, &["--db", db, "report", "receipts", "--format", "csv"], "");
        assert_eq!(code, 0, "{err}");
        let mut lines = csv.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_owned).collect();
        lines
            .map(|l| header.iter().cloned().zip(l.split(',').map(str::to_owned)).collect())
            .collect::<Vec<std::collections::HashMap<String, String>>>()
    };
    let rows = receipts();
    let find = |kind: &str, status: &str| {
        rows.iter().find(|r| r["kind"] == kind && r["status"] == status).unwrap_or_else(|| panic!("{rows:?}")).clone()
    };
    // The demo month: a withdrawal short by 15.00–25.00 USD of bank charges, a missing payout.
    let short = find("withdrawal", "received_short");
    let missing = find("payout", "missing");
    let (short_key, missing_key) = (short["key"].clone(), missing["key"].clone());
    assert!(short_key.starts_with("withdrawal:") && missing_key.starts_with("payout:"), "{short:?} {missing:?}");
    let difference = |user: &str, args: &[&str]| {
        let email = format!("{user}@acme.test");
        let mut all = vec!["--config", "tieout-demo/tieout.toml", "difference", "--tenant", "acme", "--user", &email];
        all.extend_from_slice(args);
        tieout(dir, &all, "")
    };
    let write_off = ["resolve-receipt", &short_key, "--as", "write-off", "--reason", "bank_charges"];
    let (code, _, err) = difference("viewer", &write_off);
    assert_eq!(code, 2);
    assert!(err.contains("may not resolve"), "{err}");
    // Over the accountant's limit (10.00 USD in the demo), within the approver's (100.00).
    let (code, out, err) = difference("accountant", &write_off);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("over your limit"), "{err}");
    let (code, out, err) = difference("approver", &write_off);
    assert_eq!(code, 0, "{err}");
    let shortfall = short["difference"].trim_start_matches('-');
    assert!(out.contains(&format!("{short_key}: resolved write_off")), "{out}");
    assert!(
        out.contains(&format!(
            "ours {}  theirs {}  amount {shortfall} USD",
            short["expected_amount"], short["received_amount"]
        )),
        "{out}"
    );
    let (code, out, err) = difference("accountant", &["resolve-receipt", &missing_key, "--reason", "timing"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{missing_key}: resolved accept")), "{out}");
    let (code, _, err) = difference("accountant", &["resolve-receipt", "payout:1", "--reason", "timing"]);
    assert_eq!(code, 2);
    assert!(err.contains("not differences"), "{err}");
    let (code, out, err) = difference("accountant", &["reopen-receipt", &missing_key, "--comment", "still not here"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{missing_key}: open")), "{out}");

    let (code, table, err) = difference("viewer", &["resolutions", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.lines().any(|l| l.starts_with(&format!("{short_key},,received_short,write_off,bank_charges,USD,"))),
        "{table}"
    );
    assert!(!table.lines().any(|l| l.starts_with(&missing_key)), "reopened: {table}");
    let (code, log, _) = tieout(dir, &["audit", "list", "--tenant", "acme"], "");
    assert_eq!(code, 0);
    assert!(log.contains("difference.write_off") && log.contains(&short_key), "{log}");
    assert!(log.contains("difference.reopen") && log.contains(&missing_key), "{log}");

    // `tieout reconcile` writes off the small ones by itself (here within 50.00 of every
    // currency): the short payout, not the withdrawal or payout a person acted on.
    let text = std::fs::read_to_string(dir.join("tieout-demo/tieout.toml")).unwrap();
    let text = text.replace(
        "auto = { USD = \"0.50\", CNY = \"2.00\" }",
        "auto = { USD = \"50.00\", EUR = \"50.00\", GBP = \"50.00\" }",
    );
    std::fs::write(dir.join("generous.toml"), text).unwrap();
    let (code, out, err) = tieout(dir, &["--db", db, "--config", "generous.toml", "reconcile", "--as-of", &as_of], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("payout/receipt differences"), "{out}");
    let rows = receipts();
    let short_payout = rows.iter().find(|r| r["kind"] == "payout" && r["status"] == "received_short").unwrap();
    let (code, table, _) = difference("viewer", &["resolutions", "--format", "csv"]);
    assert_eq!(code, 0);
    let line_of = |key: &str| table.lines().find(|l| l.starts_with(&format!("{key},"))).map(str::to_owned);
    let written = line_of(&short_payout["key"]).unwrap_or_else(|| panic!("{table}"));
    assert!(written.contains(",write_off,small_difference,") && written.contains(",system,"), "{written}");
    assert!(line_of(&short_key).unwrap().contains(",bank_charges,"), "the approver's write-off stands");
    assert!(line_of(&missing_key).is_none(), "a difference a person reopened stays open");
}
