//! The audit chain against tampering, on both engines: entries are recorded through the
//! service, then changed behind tieout's back directly in the database (SQLite: the
//! control file with rusqlite, its triggers dropped first; PostgreSQL: the table's
//! triggers disabled first), and `verify` must name the first broken link: an edited row,
//! an edited row whose hash was recomputed, a deleted row in the middle, a reordered pair,
//! and — only against a head recorded before — a deleted last row.
//!
//! PostgreSQL is `TIEOUT_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), a fresh schema per run, dropped at its end.

use serde_json::json;
use tieout_service::audit::{self, entry_hash, Head, Problem, Verification};
use tieout_service::control::{ControlStore, PgControl, SqliteControl};
use tieout_service::PgSchemaOptions;

#[allow(dead_code)] // its demo month is not used here
mod common;

const AT: i64 = 1_790_000_000;

/// A control plane and a way to run SQL on its database behind its back.
trait Engine {
    fn control(&mut self) -> &mut dyn ControlStore;
    fn tamper(&mut self, sql: &str);
    /// The refusal a plain UPDATE meets before the triggers are out of the way.
    fn try_update(&mut self, sql: &str) -> Result<(), String>;
}

struct Sqlite {
    control: SqliteControl,
    connection: rusqlite::Connection,
    _dir: tempfile::TempDir,
}

impl Sqlite {
    fn new() -> Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sqlite");
        let control = SqliteControl::open(&path).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        Sqlite { control, connection, _dir: dir }
    }
}

impl Engine for Sqlite {
    fn control(&mut self) -> &mut dyn ControlStore {
        &mut self.control
    }
    fn tamper(&mut self, sql: &str) {
        self.connection
            .execute_batch(&format!(
                "DROP TRIGGER IF EXISTS audit_entry_no_update; DROP TRIGGER IF EXISTS audit_entry_no_delete; {sql}"
            ))
            .unwrap();
    }
    fn try_update(&mut self, sql: &str) -> Result<(), String> {
        self.connection.execute_batch(sql).map_err(|e| e.to_string())
    }
}

struct Postgres {
    control: PgControl,
    client: postgres::Client,
    /// Dropped last, after the connections.
    _schema: common::PgSchema,
}

impl Postgres {
    fn new(hash_partitions: Option<u32>) -> Postgres {
        let schema = common::PgSchema::new("tieout_audit_test");
        let control = PgControl::connect(&schema.url, &PgSchemaOptions { hash_partitions }).unwrap();
        let client = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
        Postgres { control, client, _schema: schema }
    }
}

impl Engine for Postgres {
    fn control(&mut self) -> &mut dyn ControlStore {
        &mut self.control
    }
    fn tamper(&mut self, sql: &str) {
        self.client.batch_execute(&format!("ALTER TABLE audit_entry DISABLE TRIGGER ALL; {sql}")).unwrap();
    }
    fn try_update(&mut self, sql: &str) -> Result<(), String> {
        self.client.batch_execute(sql).map_err(|e| e.as_db_error().map_or(e.to_string(), |d| d.message().to_owned()))
    }
}

/// A tenant with five entries recorded through the service (users, the system, rules);
/// a second tenant with two, which no tampering of the first touches.
fn recorded(engine: &mut dyn Engine) -> (i64, i64) {
    let control = engine.control();
    let acme = control.create_tenant("acme", "Acme", AT).unwrap().id;
    let globex = control.create_tenant("globex", "Globex", AT).unwrap().id;
    let anna = Some((7, "Anna 安娜"));
    let user = json!({ "email": "ben@acme.test", "role": "viewer", "disabled": false });
    let changed = json!({ "email": "ben@acme.test", "role": "clerk", "disabled": false });
    audit::record(control, acme, anna, "user.add", "user", "2", None, Some(user.clone()), AT).unwrap();
    audit::record(control, globex, None, "user.add", "user", "1", None, Some(user.clone()), AT).unwrap();
    audit::record(control, acme, anna, "user.change", "user", "2", Some(user), Some(changed), AT + 60).unwrap();
    let rules = (None, Some(json!("[[rule]]\nid = \"same-day\"\n")));
    audit::record(control, acme, anna, "rules.replace", "setting", "rules", rules.0, rules.1, AT + 120).unwrap();
    audit::record(control, globex, None, "token.create", "token", "1", None, Some(json!({ "name": "ci" })), AT)
        .unwrap();
    let resolved = json!({ "state": "resolved", "reason": "timing", "comment": "paid in the next settlement" });
    let open = json!({ "state": "open", "reason": null, "comment": null });
    audit::record(control, acme, None, "difference.resolve", "order", "1001", Some(open), Some(resolved), AT + 180)
        .unwrap();
    audit::record(control, acme, anna, "token.revoke", "token", "3", None, None, AT + 240).unwrap();
    let verification = audit::verify(control, acme).unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.entries, 5);
    (acme, globex)
}

fn broken_at(verification: &Verification) -> (i64, Problem) {
    assert!(!verification.ok, "{verification:?}");
    let broken = verification.first_broken.clone().expect("a broken link");
    (broken.seq, broken.problem)
}

/// Runs one tampering on a fresh log of `engine`, checks what verify says, and that the
/// other tenant's log is intact.
fn check(make: &dyn Fn() -> Box<dyn Engine>, tamper: &str, expect: (i64, Problem)) {
    let mut engine = make();
    let (acme, globex) = recorded(engine.as_mut());
    engine.tamper(&tamper.replace("TENANT", &acme.to_string()));
    let verification = audit::verify(engine.control(), acme).unwrap();
    assert_eq!(broken_at(&verification), expect, "{tamper}");
    let json = verification.to_json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["first_broken"]["seq"], expect.0);
    assert!(json["first_broken"]["problem"].as_str().unwrap().len() > 20, "{json}");
    assert!(audit::verify(engine.control(), globex).unwrap().ok, "the other tenant's log is its own");
}

fn tampering_is_found(make: &dyn Fn() -> Box<dyn Engine>) {
    // The database itself refuses changes until its triggers are out of the way.
    {
        let mut engine = make();
        recorded(engine.as_mut());
        let refused = engine.try_update("UPDATE audit_entry SET actor_name = 'mallory' WHERE seq = 2");
        assert!(refused.unwrap_err().contains("append-only"));
        let refused = engine.try_update("DELETE FROM audit_entry WHERE seq = 2");
        assert!(refused.unwrap_err().contains("append-only"));
    }

    // An edited row, whatever the field: its own hash no longer matches.
    let edits = [
        "after = '{\"email\":\"ben@acme.test\",\"role\":\"admin\",\"disabled\":false}'",
        "actor_name = 'Mallory'",
        "actor_user = NULL",
        "at = at + 1",
        "action = 'user.add'",
        "object_id = '3'",
        "before = NULL",
    ];
    for edit in edits {
        check(
            make,
            &format!("UPDATE audit_entry SET {edit} WHERE tenant_id = TENANT AND seq = 2"),
            (2, Problem::ContentChanged),
        );
    }
    check(
        make,
        "UPDATE audit_entry SET object_kind = 'store' WHERE tenant_id = TENANT AND seq = 5",
        (5, Problem::ContentChanged),
    );
    // An edit of the chain fields themselves.
    check(
        make,
        "UPDATE audit_entry SET prev_hash = hash WHERE tenant_id = TENANT AND seq = 3",
        (3, Problem::LinkBroken),
    );
    check(
        make,
        "UPDATE audit_entry SET hash = prev_hash WHERE tenant_id = TENANT AND seq = 3",
        (3, Problem::ContentChanged),
    );
    // A row deleted in the middle: a gap in seq, named at the entry after it.
    check(make, "DELETE FROM audit_entry WHERE tenant_id = TENANT AND seq = 3", (4, Problem::Missing { previous: 2 }));
    check(make, "DELETE FROM audit_entry WHERE tenant_id = TENANT AND seq = 1", (2, Problem::Missing { previous: 0 }));
    // A reordered pair (their seq values swapped): the first of them no longer follows
    // the entry before it.
    let swap = "UPDATE audit_entry SET seq = -1 WHERE tenant_id = TENANT AND seq = 2;
                UPDATE audit_entry SET seq = 2 WHERE tenant_id = TENANT AND seq = 3;
                UPDATE audit_entry SET seq = 3 WHERE tenant_id = TENANT AND seq = -1;";
    check(make, swap, (2, Problem::LinkBroken));
    let swap_first = swap.replace("seq = 2", "seq = 1").replace("seq = 3", "seq = 2");
    check(make, &swap_first, (1, Problem::LinkBroken));

    // An edited row whose hash was recomputed as tieout would: the next link breaks.
    {
        let mut engine = make();
        let (acme, _) = recorded(engine.as_mut());
        let mut entry = engine.control().audit_entries(acme, 1, 1).unwrap().remove(0);
        entry.after = Some("{\"role\":\"admin\"}".to_owned());
        let forged = entry_hash(acme, entry.seq, &entry.content(), &entry.prev_hash);
        engine.tamper(&format!(
            "UPDATE audit_entry SET after = '{{\"role\":\"admin\"}}', hash = '{forged}' WHERE tenant_id = {acme} AND seq = 2"
        ));
        let verification = audit::verify(engine.control(), acme).unwrap();
        assert_eq!(broken_at(&verification), (3, Problem::LinkBroken));
    }

    // The last row deleted: the rest is a valid chain on its own (the documented limit);
    // against the head recorded before, the deletion shows.
    {
        let mut engine = make();
        let (acme, _) = recorded(engine.as_mut());
        let before = audit::verify(engine.control(), acme).unwrap();
        let recorded_head = before.head.clone().unwrap();
        assert_eq!(recorded_head.seq, 5);
        assert!(audit::verify_against(engine.control(), acme, Some(&recorded_head)).unwrap().ok);
        engine.tamper(&format!("DELETE FROM audit_entry WHERE tenant_id = {acme} AND seq = 5"));
        let after = audit::verify(engine.control(), acme).unwrap();
        assert!(after.ok, "a deleted last row alone is not detectable: {after:?}");
        assert_eq!((after.entries, after.head.as_ref().map(|h| h.seq)), (4, Some(4)));
        assert_ne!(after.head, before.head, "but the head differs from the one recorded");
        let against = audit::verify_against(engine.control(), acme, Some(&recorded_head)).unwrap();
        assert_eq!(broken_at(&against), (5, Problem::HeadNotFound { expected: recorded_head.clone() }));
        // And a head that was never there is not found either.
        let made_up = Head { seq: 2, hash: "f".repeat(64) };
        let against = audit::verify_against(engine.control(), acme, Some(&made_up)).unwrap();
        assert_eq!(broken_at(&against).0, 2);
    }
}

#[test]
fn tampering_with_the_sqlite_control_file_is_found_at_the_first_broken_link() {
    tampering_is_found(&|| Box::new(Sqlite::new()));
}

#[test]
fn tampering_with_the_postgresql_audit_table_is_found_at_the_first_broken_link() {
    tampering_is_found(&|| Box::new(Postgres::new(None)));
}

#[test]
fn an_empty_log_verifies_with_no_head_and_the_first_entry_chains_from_zeros() {
    let mut engine = Sqlite::new();
    let control = engine.control();
    let tenant = control.create_tenant("acme", "Acme", AT).unwrap().id;
    let empty = audit::verify(control, tenant).unwrap();
    assert_eq!(empty.to_json()["head"], serde_json::Value::Null);
    assert_eq!((empty.ok, empty.entries, empty.head, empty.first_broken), (true, 0, None, None));
    let first = audit::record(control, tenant, None, "user.add", "user", "1", None, None, AT).unwrap();
    assert_eq!((first.seq, first.prev_hash.as_str(), first.actor_name.as_str()), (1, audit::GENESIS_HASH, "system"));
    assert_eq!(first.hash, entry_hash(tenant, 1, &first.content(), audit::GENESIS_HASH));
    let verification = audit::verify(control, tenant).unwrap();
    assert_eq!(verification.head, Some(Head { seq: 1, hash: first.hash }));
}
