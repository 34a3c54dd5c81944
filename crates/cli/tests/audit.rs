//! `tieout audit verify` and `tieout audit list` on a data directory: intact (exit 0),
//! then tampered with behind tieout's back (exit 2, the first broken link printed), and
//! the last entry deleted: found only against the head printed before.

use std::io::Write;
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

/// Runs SQL on the control file, its append-only triggers dropped first (tieout itself
/// has no way to change an entry).
fn tamper(dir: &Path, sql: &str) {
    let connection = rusqlite::Connection::open(dir.join("tieout-data/control.sqlite")).unwrap();
    connection
        .execute_batch(&format!(
            "DROP TRIGGER IF EXISTS audit_entry_no_update; DROP TRIGGER IF EXISTS audit_entry_no_delete; {sql}"
        ))
        .unwrap();
}

/// A data directory with tenant acme (its creation is the first entry), two users and a
/// token: four audit entries.
fn recorded(dir: &Path) -> String {
    assert_eq!(tieout(dir, &["tenant", "add", "acme", "Acme Trading"], "").0, 0);
    let password = "a long enough password\n";
    for (email, role) in [("ann@acme.test", "admin"), ("ben@acme.test", "viewer")] {
        let (code, _, err) =
            tieout(dir, &["user", "add", "--tenant", "acme", "--email", email, "--role", role], password);
        assert_eq!(code, 0, "{err}");
    }
    let (code, token, err) =
        tieout(dir, &["token", "create", "--tenant", "acme", "--email", "ann@acme.test", "--name", "nightly"], "");
    assert_eq!(code, 0, "{err}");
    token.trim().to_owned()
}

#[test]
fn audit_verify_exits_0_when_intact_and_2_at_the_first_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let token = recorded(dir);

    let (code, out, err) = tieout(dir, &["audit", "verify", "--tenant", "acme"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit log of acme: intact, 4 entries; head 4:"), "{out}");
    let head = out.split("head ").nth(1).unwrap().trim().to_owned();

    let (code, out, err) = tieout(dir, &["audit", "list", "--tenant", "acme"], "");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].contains("system") && lines[0].contains("tenant.add") && lines[0].contains("Acme Trading"));
    assert!(lines[1].contains("system") && lines[1].contains("user.add") && lines[1].contains("ann@acme.test"));
    assert!(lines[2].contains("user.add") && lines[2].contains("\"role\":\"viewer\""), "{out}");
    assert!(lines[3].contains("token.create") && lines[3].contains("nightly"), "{out}");
    assert!(!out.contains(token.rsplit('_').next().unwrap()), "the token is never recorded");
    let (code, out, _) =
        tieout(dir, &["audit", "list", "--tenant", "acme", "--after", "2", "--limit", "1", "--json"], "");
    assert_eq!(code, 0);
    let entry: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((entry["seq"].as_i64(), entry["actor"]["user_id"].is_null()), (Some(3), true));
    assert_eq!(entry["after"]["email"], "ben@acme.test");

    // Verified against the head printed before: intact.
    let (code, out, _) = tieout(dir, &["audit", "verify", "--tenant", "acme", "--head", &head], "");
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = tieout(dir, &["audit", "verify", "--tenant", "acme", "--head", "3"], "");
    assert_eq!(code, 2);
    assert!(err.contains("SEQ:HASH"), "{err}");

    // The control file refuses changes until its triggers are dropped.
    let connection = rusqlite::Connection::open(dir.join("tieout-data/control.sqlite")).unwrap();
    for sql in ["UPDATE audit_entry SET actor_name = 'mallory'", "DELETE FROM audit_entry WHERE seq = 3"] {
        assert!(connection.execute(sql, []).unwrap_err().to_string().contains("append-only"), "{sql}");
    }
    drop(connection);

    // The last entry deleted: a valid chain on its own, but not the head recorded.
    tamper(dir, "DELETE FROM audit_entry WHERE seq = 4");
    let (code, out, _) = tieout(dir, &["audit", "verify", "--tenant", "acme"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact, 3 entries; head 3:"), "{out}");
    let (code, out, _) = tieout(dir, &["audit", "verify", "--tenant", "acme", "--head", &head], "");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("BROKEN at seq 4: the recorded head"), "{out}");

    // An edited row: exit 2, the first broken link named.
    tamper(dir, "UPDATE audit_entry SET after = replace(after, 'viewer', 'admin') WHERE seq = 3");
    let (code, out, err) = tieout(dir, &["audit", "verify", "--tenant", "acme"], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("audit log of acme: BROKEN at seq 3: its hash does not match its content"), "{out}");
    assert!(out.contains("(3 entries; head 3:"), "{out}");
    // A row deleted before it is now the first broken link.
    tamper(dir, "DELETE FROM audit_entry WHERE seq = 2");
    let (code, out, _) = tieout(dir, &["audit", "verify", "--tenant", "acme"], "");
    assert_eq!(code, 2);
    assert!(out.contains("BROKEN at seq 3: entries before it are missing"), "{out}");

    let (code, _, err) = tieout(dir, &["audit", "verify", "--tenant", "nobody"], "");
    assert_eq!(code, 2);
    assert!(err.contains("no tenant 'nobody'"), "{err}");
}
