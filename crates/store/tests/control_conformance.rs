//! The control plane's conformance suite: one set of scenarios, each taking a
//! `&mut dyn ControlStore`, run on SQLite (in memory) and on PostgreSQL (a fresh schema of
//! the test database, plain and hash-partitioned), asserting what each method means. The
//! scenarios never assume an id's value: SQLite numbers each tenant's rows from 1,
//! PostgreSQL takes them from sequences all tenants share. PostgreSQL alone: claimers on
//! several connections sharing the queue, the partitioned schema (every tenant table
//! partitioned, every key led by `tenant_id`) and the migration's lock.
//!
//! The database is `TIEOUT_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each PostgreSQL run works in a schema of
//! its own (`tieout_control_test_<random>`, dropped at its end). An unreachable database
//! fails the tests: CI starts PostgreSQL (`.ci/run`).

use tieout_store::control::{AlertDelivery, AttemptOutcome, NewDelivery, DELIVERY_ATTEMPTS_MAX};
use tieout_store::control::{AuditEntry, NewAuditEntry, AUDIT_GENESIS_HASH};
use tieout_store::control::{ControlStore, Job, Scope, SqliteControl, JOB_ATTEMPTS_MAX};

#[cfg(feature = "postgres")]
use pg::on_postgres;

// ---------------------------------------------------------------------------------------
// Engines.

/// Runs `scenario` on SQLite and (with the `postgres` feature) on PostgreSQL, plain and
/// hash-partitioned, each time on an empty control plane.
fn on_every_engine(scenario: fn(&mut dyn ControlStore)) {
    let mut sqlite = SqliteControl::open_in_memory().unwrap();
    assert_eq!(sqlite.engine(), "sqlite");
    eprintln!("-- on sqlite");
    scenario(&mut sqlite);
    #[cfg(feature = "postgres")]
    {
        eprintln!("-- on postgres");
        on_postgres(None, scenario);
        eprintln!("-- on postgres, hash-partitioned");
        on_postgres(Some(3), scenario);
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios.

const AT: i64 = 1_790_000_000;

/// A tenant with one user (the `created_by` of uploads and jobs): (tenant, user).
fn tenant_with_user(control: &mut dyn ControlStore, slug: &str) -> (i64, i64) {
    let tenant = control.create_tenant(slug, &format!("{slug} Ltd"), AT).unwrap();
    let user = control.create_user(tenant.id, &format!("owner@{slug}.example"), "Owner", "admin", "$argon2id$x", AT);
    (tenant.id, user.unwrap().id)
}

fn scenario_tenants(control: &mut dyn ControlStore) {
    assert!(control.tenants().unwrap().is_empty());
    let acme = control.create_tenant("acme", "Acme GmbH", AT).unwrap();
    let globex = control.create_tenant("globex", "Globex 有限公司", AT + 1).unwrap();
    assert_eq!((acme.slug.as_str(), acme.name.as_str()), ("acme", "Acme GmbH"));
    assert!(globex.id > acme.id, "tenant ids grow in creation order");
    assert_eq!(control.tenant(acme.id).unwrap(), Some(acme.clone()));
    assert_eq!(control.tenant_by_slug("globex").unwrap(), Some(globex.clone()));
    assert_eq!(control.tenant_by_slug("GLOBEX").unwrap(), None, "slugs are compared exactly");
    assert_eq!(control.tenant_by_slug("initech").unwrap(), None);
    assert_eq!(control.tenant(globex.id + 1000).unwrap(), None);
    // A slug names one tenant: a second one is refused and nothing is stored.
    assert!(control.create_tenant("acme", "Another Acme", AT + 2).is_err());
    assert_eq!(control.tenants().unwrap(), vec![acme.clone(), globex.clone()]);
    // The store keeps working after a refused write.
    let initech = control.create_tenant("initech", "Initech", AT + 3).unwrap();
    assert_eq!(control.tenants().unwrap(), vec![acme, globex, initech]);
}

fn scenario_organisations_and_stores(control: &mut dyn ControlStore) {
    let (tenant, _) = tenant_with_user(control, "acme");
    let (other, _) = tenant_with_user(control, "globex");
    assert!(control.organisations(tenant).unwrap().is_empty());
    assert!(control.stores(tenant).unwrap().is_empty());

    let headquarters = control.create_organisation(tenant, "Acme HQ", None).unwrap();
    let branch = control.create_organisation(tenant, "Acme Shenzhen", Some(headquarters.id)).unwrap();
    assert_eq!(headquarters.parent_id, None);
    assert_eq!((branch.name.as_str(), branch.parent_id), ("Acme Shenzhen", Some(headquarters.id)));
    assert!(branch.id > headquarters.id);
    assert_eq!(control.organisations(tenant).unwrap(), vec![headquarters.clone(), branch.clone()]);
    // A name is unique within a tenant; another tenant may use it.
    assert!(control.create_organisation(tenant, "Acme HQ", None).is_err());
    let other_headquarters = control.create_organisation(other, "Acme HQ", None).unwrap();
    // A parent must be an organisation of the same tenant.
    assert!(control.create_organisation(tenant, "Nowhere", Some(branch.id + 1000)).is_err());
    let (lonely, _) = tenant_with_user(control, "initech");
    // (The branch: on SQLite the headquarters' id would be the new row's own id, 1.)
    assert!(control.create_organisation(lonely, "Initech HQ", Some(branch.id)).is_err());
    assert!(control.organisations(lonely).unwrap().is_empty());
    assert_eq!(control.organisations(tenant).unwrap().len(), 2);

    let germany = control.create_store(tenant, branch.id, "Amazon DE").unwrap();
    let japan = control.create_store(tenant, headquarters.id, "Amazon JP").unwrap();
    assert_eq!((germany.organisation_id, germany.name.as_str()), (branch.id, "Amazon DE"));
    assert_eq!(control.stores(tenant).unwrap(), vec![germany.clone(), japan.clone()]);
    assert!(control.create_store(tenant, branch.id, "Amazon DE").is_err(), "a store name is unique per tenant");
    assert!(control.create_store(tenant, branch.id + 1000, "Amazon FR").is_err(), "an unknown organisation");
    assert!(control.create_store(lonely, headquarters.id, "Amazon FR").is_err(), "another tenant's organisation");
    let other_store = control.create_store(other, other_headquarters.id, "Amazon DE").unwrap();
    assert_eq!(control.stores(other).unwrap(), vec![other_store]);
    assert_eq!(control.stores(tenant).unwrap(), vec![germany, japan]);
    assert!(control.stores(lonely).unwrap().is_empty());
}

fn scenario_users_roles_and_scopes(control: &mut dyn ControlStore) {
    let acme = control.create_tenant("acme", "Acme", AT).unwrap().id;
    let globex = control.create_tenant("globex", "Globex", AT).unwrap().id;
    assert!(control.users(acme).unwrap().is_empty());
    let anna = control.create_user(acme, "anna@acme.example", "Anna", "accountant", "$argon2id$anna", AT).unwrap();
    let ben = control.create_user(acme, "ben@acme.example", "Ben", "viewer", "$argon2id$ben", AT).unwrap();
    assert_eq!(
        (anna.tenant_id, anna.email.as_str(), anna.display_name.as_str(), anna.role.as_str()),
        (acme, "anna@acme.example", "Anna", "accountant")
    );
    assert_eq!((anna.password_hash.as_str(), anna.disabled), ("$argon2id$anna", false));
    assert!(ben.id > anna.id);
    assert_eq!(control.user(acme, anna.id).unwrap(), Some(anna.clone()));
    assert_eq!(control.user_by_email(acme, "ben@acme.example").unwrap(), Some(ben.clone()));
    assert_eq!(control.user_by_email(acme, "nobody@acme.example").unwrap(), None);
    assert_eq!(control.user(acme, ben.id + 1000).unwrap(), None);
    assert_eq!(control.users(acme).unwrap(), vec![anna.clone(), ben.clone()]);

    // An e-mail is unique within a tenant, not across tenants.
    assert!(control.create_user(acme, "anna@acme.example", "Anna 2", "admin", "$x", AT).is_err());
    let anna_at_globex =
        control.create_user(globex, "anna@acme.example", "Anna (Globex)", "admin", "$argon2id$g", AT).unwrap();
    assert_eq!(control.user_by_email(globex, "anna@acme.example").unwrap(), Some(anna_at_globex.clone()));
    assert_eq!(control.user_by_email(acme, "anna@acme.example").unwrap(), Some(anna.clone()));
    assert_eq!(control.users(acme).unwrap().len(), 2);

    // Role.
    assert!(control.set_user_role(acme, ben.id, "clerk").unwrap());
    assert_eq!(control.user(acme, ben.id).unwrap().unwrap().role, "clerk");
    assert!(!control.set_user_role(acme, ben.id + 1000, "admin").unwrap());
    assert_eq!(control.user(globex, anna_at_globex.id).unwrap().unwrap().role, "admin");

    // Disabling a user ends the user's sessions (only theirs); enabling gives none back.
    control.create_session(acme, "hash-anna-1", anna.id, "csrf-1", AT, AT + 3600).unwrap();
    control.create_session(acme, "hash-anna-2", anna.id, "csrf-2", AT, AT + 3600).unwrap();
    control.create_session(acme, "hash-ben", ben.id, "csrf-3", AT, AT + 3600).unwrap();
    assert!(control.set_user_disabled(acme, anna.id, true).unwrap());
    assert!(control.user(acme, anna.id).unwrap().unwrap().disabled);
    assert_eq!(control.session(acme, "hash-anna-1").unwrap(), None);
    assert_eq!(control.session(acme, "hash-anna-2").unwrap(), None);
    assert!(control.session(acme, "hash-ben").unwrap().is_some());
    assert!(!control.user(globex, anna_at_globex.id).unwrap().unwrap().disabled);
    assert!(control.set_user_disabled(acme, anna.id, false).unwrap());
    assert!(!control.user(acme, anna.id).unwrap().unwrap().disabled);
    assert_eq!(control.session(acme, "hash-anna-1").unwrap(), None);
    assert!(!control.set_user_disabled(acme, ben.id + 1000, true).unwrap());
    assert!(control.session(acme, "hash-ben").unwrap().is_some());

    // Scope: empty (the whole tenant) until set; kept in the order given; replaced whole.
    let headquarters = control.create_organisation(acme, "HQ", None).unwrap();
    let branch = control.create_organisation(acme, "Branch", Some(headquarters.id)).unwrap();
    let shop = control.create_store(acme, branch.id, "Shop").unwrap();
    let outlet = control.create_store(acme, headquarters.id, "Outlet").unwrap();
    assert_eq!(control.user_scope(acme, ben.id).unwrap(), Scope::default());
    let scope = Scope { organisations: vec![branch.id, headquarters.id], stores: vec![outlet.id, shop.id] };
    control.set_user_scope(acme, ben.id, &scope).unwrap();
    assert_eq!(control.user_scope(acme, ben.id).unwrap(), scope);
    assert_eq!(control.user_scope(acme, anna.id).unwrap(), Scope::default());
    let narrower = Scope { organisations: vec![], stores: vec![shop.id] };
    control.set_user_scope(acme, ben.id, &narrower).unwrap();
    assert_eq!(control.user_scope(acme, ben.id).unwrap(), narrower);
    // A scope naming an unknown store is refused whole: the previous scope stays.
    let unknown = Scope { organisations: vec![branch.id], stores: vec![outlet.id + 1000] };
    assert!(control.set_user_scope(acme, ben.id, &unknown).is_err());
    assert_eq!(control.user_scope(acme, ben.id).unwrap(), narrower);
    control.set_user_scope(acme, ben.id, &Scope::default()).unwrap();
    assert_eq!(control.user_scope(acme, ben.id).unwrap(), Scope::default());
}

fn scenario_sessions(control: &mut dyn ControlStore) {
    let (tenant, user) = tenant_with_user(control, "acme");
    let (other, other_user) = tenant_with_user(control, "globex");
    assert_eq!(control.session(tenant, "hash-1").unwrap(), None);
    control.create_session(tenant, "hash-1", user, "csrf-one", AT, AT + 43_200).unwrap();
    let session = control.session(tenant, "hash-1").unwrap().unwrap();
    assert_eq!((session.tenant_id, session.user_id), (tenant, user));
    assert_eq!((session.csrf_token.as_str(), session.expires_at), ("csrf-one", AT + 43_200));
    // A token hash names one session of a tenant; another tenant may hold the same hash.
    assert!(control.create_session(tenant, "hash-1", user, "csrf-two", AT, AT + 60).is_err());
    assert_eq!(control.session(other, "hash-1").unwrap(), None);
    control.create_session(other, "hash-1", other_user, "csrf-other", AT, AT + 60).unwrap();
    assert_eq!(control.session(other, "hash-1").unwrap().unwrap().csrf_token, "csrf-other");
    assert_eq!(control.session(tenant, "hash-1").unwrap().unwrap().csrf_token, "csrf-one");
    // A session belongs to a user of its tenant.
    assert!(control.create_session(tenant, "hash-2", user.max(other_user) + 1000, "csrf", AT, AT + 60).is_err());
    // Deleting is per tenant, and deleting what is gone is no error.
    control.delete_session(tenant, "hash-1").unwrap();
    assert_eq!(control.session(tenant, "hash-1").unwrap(), None);
    assert!(control.session(other, "hash-1").unwrap().is_some());
    control.delete_session(tenant, "hash-1").unwrap();
    control.delete_session(tenant, "never-existed").unwrap();
}

fn scenario_api_tokens(control: &mut dyn ControlStore) {
    let (tenant, user) = tenant_with_user(control, "acme");
    let clerk = control.create_user(tenant, "clerk@acme.example", "Clerk", "clerk", "$x", AT).unwrap().id;
    assert!(control.api_tokens(tenant, user).unwrap().is_empty());
    let first = control.create_api_token(tenant, user, "ci", "sha-ci", AT).unwrap();
    let second = control.create_api_token(tenant, user, "laptop", "sha-laptop", AT + 5).unwrap();
    let clerks = control.create_api_token(tenant, clerk, "erp export", "sha-erp", AT + 9).unwrap();
    assert!(first < second && second < clerks);
    let token = control.api_token(tenant, first).unwrap().unwrap();
    assert_eq!((token.tenant_id, token.id, token.user_id), (tenant, first, user));
    assert_eq!((token.name.as_str(), token.secret_hash.as_str()), ("ci", "sha-ci"));
    assert_eq!((token.created_at, token.revoked), (AT, false));
    let listed = control.api_tokens(tenant, user).unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![first, second]);
    assert_eq!(listed[0], token);
    assert_eq!(control.api_tokens(tenant, clerk).unwrap().len(), 1);
    assert_eq!(control.api_token(tenant, clerks + 1000).unwrap(), None);
    // A token belongs to a user of its tenant.
    assert!(control.create_api_token(tenant, clerk + 1000, "ghost", "sha", AT).is_err());
    // Revoking: once; the token stays listed, marked.
    assert!(control.revoke_api_token(tenant, second, AT + 60).unwrap());
    assert!(!control.revoke_api_token(tenant, second, AT + 70).unwrap());
    assert!(!control.revoke_api_token(tenant, clerks + 1000, AT + 70).unwrap());
    assert!(control.api_token(tenant, second).unwrap().unwrap().revoked);
    assert!(!control.api_token(tenant, first).unwrap().unwrap().revoked);
    let listed = control.api_tokens(tenant, user).unwrap();
    assert_eq!(listed.iter().map(|t| (t.id, t.revoked)).collect::<Vec<_>>(), vec![(first, false), (second, true)]);
}

fn scenario_login_attempts(control: &mut dyn ControlStore) {
    let (acme, _) = tenant_with_user(control, "acme");
    let (globex, _) = tenant_with_user(control, "globex");
    let email = "anna@acme.example";
    let address = "203.0.113.7";
    assert_eq!(control.failed_logins_since(acme, email, address, 0).unwrap(), (0, 0));
    for at in [100, 200, 300] {
        control.record_login_attempt(acme, email, address, at, false).unwrap();
    }
    control.record_login_attempt(acme, email, address, 250, true).unwrap();
    // The same e-mail from another address, in another tenant, and on no tenant (0).
    control.record_login_attempt(acme, email, "198.51.100.1", 260, false).unwrap();
    control.record_login_attempt(globex, email, address, 270, false).unwrap();
    control.record_login_attempt(0, email, address, 280, false).unwrap();
    control.record_login_attempt(acme, "ben@acme.example", address, 290, false).unwrap();
    control.record_login_attempt(acme, "ben@acme.example", address, 295, true).unwrap();

    // By (tenant, e-mail): any address; by address: any tenant or e-mail; failures only,
    // at or after `since`.
    assert_eq!(control.failed_logins_since(acme, email, address, 0).unwrap(), (4, 6));
    assert_eq!(control.failed_logins_since(acme, email, address, 200).unwrap(), (3, 5));
    assert_eq!(control.failed_logins_since(acme, email, address, 261).unwrap(), (1, 4));
    assert_eq!(control.failed_logins_since(acme, email, address, 301).unwrap(), (0, 0));
    assert_eq!(control.failed_logins_since(globex, email, "198.51.100.1", 0).unwrap(), (1, 1));
    assert_eq!(control.failed_logins_since(0, email, "192.0.2.1", 0).unwrap(), (1, 0));
    assert_eq!(control.failed_logins_since(acme, "ANNA@acme.example", address, 0).unwrap(), (0, 6));
}

fn scenario_uploads(control: &mut dyn ControlStore) {
    let (tenant, user) = tenant_with_user(control, "acme");
    assert!(control.uploads(tenant).unwrap().is_empty());
    // Bytes as they came: not UTF-8, NUL bytes, every byte value.
    let content: Vec<u8> = (0..=255u8).chain([0xff, 0xfe, 0, 0, b'\n', 0x80]).collect();
    let first =
        control.create_upload(tenant, "settlement 2026-10.txt", "ab12", Some("Amazon DE"), &content, user, AT).unwrap();
    assert_eq!(
        (first.tenant_id, first.name.as_str(), first.sha256.as_str()),
        (tenant, "settlement 2026-10.txt", "ab12")
    );
    assert_eq!((first.size_bytes, first.store.as_deref()), (content.len() as i64, Some("Amazon DE")));
    assert_eq!((first.created_by, first.created_at), (user, AT));
    let empty = control.create_upload(tenant, "empty.csv", "e3b0", None, &[], user, AT + 1).unwrap();
    assert_eq!((empty.size_bytes, empty.store.as_deref()), (0, None));
    let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let third = control.create_upload(tenant, "订单.xlsx", "cd34", None, &big, user, AT + 2).unwrap();

    assert_eq!(control.upload(tenant, first.id).unwrap(), Some(first.clone()));
    assert_eq!(control.upload_content(tenant, first.id).unwrap(), Some(content));
    assert_eq!(control.upload_content(tenant, empty.id).unwrap(), Some(Vec::new()));
    assert_eq!(control.upload_content(tenant, third.id).unwrap(), Some(big));
    assert_eq!(control.upload(tenant, third.id + 1000).unwrap(), None);
    assert_eq!(control.upload_content(tenant, third.id + 1000).unwrap(), None);
    // Newest first.
    assert_eq!(control.uploads(tenant).unwrap(), vec![third, empty, first]);
    // An upload is made by a user of its tenant.
    assert!(control.create_upload(tenant, "x", "00", None, b"x", user + 1000, AT).is_err());
    assert_eq!(control.uploads(tenant).unwrap().len(), 3);
}

fn assert_queued(job: &Job, tenant: i64, kind: &str, payload: &str, user: i64, created_at: i64) {
    assert_eq!((job.tenant_id, job.kind.as_str(), job.payload.as_str()), (tenant, kind, payload));
    assert_eq!((job.state.as_str(), job.attempts, job.progress_done, job.progress_total), ("queued", 0, 0, 0));
    assert_eq!((job.message.as_str(), job.result.as_deref(), job.error.as_deref()), ("", None, None));
    assert_eq!((job.created_by, job.created_at, job.started_at, job.finished_at), (user, created_at, None, None));
}

fn scenario_tenant_settings(control: &mut dyn ControlStore) {
    let acme = control.create_tenant("acme", "Acme", 0).unwrap().id;
    let bolt = control.create_tenant("bolt", "Bolt", 0).unwrap().id;
    assert_eq!(control.tenant_setting(acme, "rules").unwrap(), None);
    control.set_tenant_setting(acme, "rules", "first", 1, 10).unwrap();
    control.set_tenant_setting(acme, "rules", "second", 1, 11).unwrap();
    assert_eq!(control.tenant_setting(acme, "rules").unwrap().as_deref(), Some("second"));
    assert_eq!(control.tenant_setting(bolt, "rules").unwrap(), None, "a tenant's setting is its own");
    control.set_tenant_setting(bolt, "rules", "bolt's", 1, 12).unwrap();
    assert_eq!(control.tenant_setting(acme, "rules").unwrap().as_deref(), Some("second"));
}

fn scenario_jobs_are_claimed_oldest_first(control: &mut dyn ControlStore) {
    let (acme, anna) = tenant_with_user(control, "acme");
    let (globex, george) = tenant_with_user(control, "globex");
    assert_eq!(control.claim_job("w1", AT, AT + 60).unwrap(), None);
    // Claim order: created_at, then tenant, then id.
    let late = control.enqueue_job(acme, "reconcile", r#"{"as_of":"2026-10-31"}"#, anna, 200).unwrap();
    let globex_job = control.enqueue_job(globex, "import", r#"{"uploads":[1]}"#, george, 100).unwrap();
    let acme_second = control.enqueue_job(acme, "import", r#"{"uploads":[2]}"#, anna, 100).unwrap();
    let acme_first = control.enqueue_job(acme, "import", r#"{"uploads":[3]}"#, anna, 50).unwrap();
    assert_queued(&late, acme, "reconcile", r#"{"as_of":"2026-10-31"}"#, anna, 200);
    assert_queued(&globex_job, globex, "import", r#"{"uploads":[1]}"#, george, 100);
    assert_eq!(control.job(acme, late.id).unwrap(), Some(late.clone()));
    let acme_third = control.enqueue_job(acme, "import", "{}", anna, 100).unwrap();

    let expected = [&acme_first, &acme_second, &acme_third, &globex_job, &late];
    for (index, queued) in expected.iter().enumerate() {
        let now = AT + index as i64;
        let claimed = control.claim_job("w1", now, now + 60).unwrap().unwrap();
        assert_eq!((claimed.tenant_id, claimed.id), (queued.tenant_id, queued.id), "claim {index}");
        assert_eq!((claimed.state.as_str(), claimed.attempts, claimed.started_at), ("running", 1, Some(now)));
        assert_eq!((claimed.kind.as_str(), claimed.payload.as_str()), (queued.kind.as_str(), queued.payload.as_str()));
        assert_eq!(control.job(queued.tenant_id, queued.id).unwrap(), Some(claimed));
    }
    // Every job is held under a lease: nothing is left to claim.
    assert_eq!(control.claim_job("w2", AT + 10, AT + 70).unwrap(), None);

    // Newest first (by id), limited; a negative limit is none.
    let ids = |jobs: Vec<Job>| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(control.jobs(acme, 10).unwrap()), vec![acme_third.id, acme_first.id, acme_second.id, late.id]);
    assert_eq!(ids(control.jobs(acme, 2).unwrap()), vec![acme_third.id, acme_first.id]);
    assert_eq!(ids(control.jobs(acme, 0).unwrap()), Vec::<i64>::new());
    assert_eq!(control.jobs(acme, -1).unwrap().len(), 4);
    assert_eq!(ids(control.jobs(globex, 10).unwrap()), vec![globex_job.id]);
}

fn scenario_job_leases_retries_and_the_attempts_limit(control: &mut dyn ControlStore) {
    let (tenant, user) = tenant_with_user(control, "acme");
    let job = control.enqueue_job(tenant, "import", "{}", user, 10).unwrap();
    let claimed = control.claim_job("w1", 100, 160).unwrap().unwrap();
    assert_eq!((claimed.id, claimed.attempts, claimed.started_at), (job.id, 1, Some(100)));
    // While the lease holds, no one else takes it.
    assert_eq!(control.claim_job("w2", 150, 210).unwrap(), None);
    assert_eq!(control.claim_job("w2", 160, 220).unwrap(), None, "a lease holds until its last second");
    // Progress is the owner's alone, and renews the lease.
    assert!(!control.job_progress(tenant, job.id, "w2", 1, 2, "not mine", 900).unwrap());
    assert!(control.job_progress(tenant, job.id, "w1", 5, 10, "5 of 10 files", 200).unwrap());
    let progressed = control.job(tenant, job.id).unwrap().unwrap();
    assert_eq!((progressed.progress_done, progressed.progress_total), (5, 10));
    assert_eq!((progressed.message.as_str(), progressed.state.as_str()), ("5 of 10 files", "running"));
    assert_eq!(control.claim_job("w2", 190, 250).unwrap(), None, "the renewed lease holds");

    // The lease runs out (w1 died): w2 takes the job over, a second try.
    let retried = control.claim_job("w2", 201, 260).unwrap().unwrap();
    assert_eq!((retried.id, retried.attempts, retried.state.as_str()), (job.id, 2, "running"));
    assert_eq!(retried.started_at, Some(100), "started when first claimed");
    assert_eq!((retried.progress_done, retried.message.as_str()), (5, "5 of 10 files"));
    // w1 has lost it.
    assert!(!control.job_progress(tenant, job.id, "w1", 6, 10, "still here", 300).unwrap());
    assert!(!control.finish_job(tenant, job.id, "w1", true, Some("{}"), None, 210).unwrap());
    assert_eq!(control.job(tenant, job.id).unwrap().unwrap().state, "running");

    // A third try, the last.
    let third = control.claim_job("w3", 300, 360).unwrap().unwrap();
    assert_eq!(third.attempts, JOB_ATTEMPTS_MAX);
    // Its lease runs out too: the job is failed, not tried a fourth time; the queued job
    // behind it is claimed in the same call.
    let behind = control.enqueue_job(tenant, "reconcile", "{}", user, 20).unwrap();
    let next = control.claim_job("w4", 400, 460).unwrap().unwrap();
    assert_eq!((next.id, next.attempts), (behind.id, 1));
    let failed = control.job(tenant, job.id).unwrap().unwrap();
    assert_eq!((failed.state.as_str(), failed.attempts, failed.finished_at), ("failed", JOB_ATTEMPTS_MAX, Some(400)));
    let error = failed.error.unwrap_or_default();
    assert!(error.starts_with("interrupted 3 times"), "{error}");
    assert_eq!(failed.result, None);
    assert!(!control.finish_job(tenant, job.id, "w3", true, Some("{}"), None, 410).unwrap());
    assert!(!control.job_progress(tenant, job.id, "w3", 1, 1, "late", 900).unwrap());
    assert_eq!(control.job(tenant, job.id).unwrap().unwrap().state, "failed");
    // Failed alone (no queued job behind it): the claim finds nothing.
    assert!(control.finish_job(tenant, behind.id, "w4", true, Some("{}"), None, 401).unwrap());
    let lone = control.enqueue_job(tenant, "import", "{}", user, 30).unwrap();
    for (try_number, now) in (1..=JOB_ATTEMPTS_MAX).zip([500, 600, 700]) {
        let claimed = control.claim_job("w5", now, now + 10).unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempts), (lone.id, try_number));
    }
    assert_eq!(control.claim_job("w6", 800, 900).unwrap(), None);
    assert_eq!(control.job(tenant, lone.id).unwrap().unwrap().state, "failed");
}

fn scenario_finishing_jobs(control: &mut dyn ControlStore) {
    let (tenant, user) = tenant_with_user(control, "acme");
    let good = control.enqueue_job(tenant, "reconcile", "{}", user, 10).unwrap();
    let bad = control.enqueue_job(tenant, "import", "{}", user, 11).unwrap();
    // A queued job cannot be finished or progressed: no one holds it.
    assert!(!control.finish_job(tenant, good.id, "w1", true, Some("{}"), None, 50).unwrap());
    assert!(!control.job_progress(tenant, good.id, "w1", 1, 1, "", 90).unwrap());
    assert_eq!(control.job(tenant, good.id).unwrap().unwrap().state, "queued");

    assert_eq!(control.claim_job("w1", 100, 200).unwrap().unwrap().id, good.id);
    assert_eq!(control.claim_job("w2", 100, 200).unwrap().unwrap().id, bad.id);
    assert!(!control.finish_job(tenant, good.id, "w2", true, Some("{}"), None, 150).unwrap(), "not w2's");
    assert!(control.finish_job(tenant, good.id, "w1", true, Some(r#"{"run_id":7}"#), None, 150).unwrap());
    let finished = control.job(tenant, good.id).unwrap().unwrap();
    assert_eq!((finished.state.as_str(), finished.result.as_deref()), ("succeeded", Some(r#"{"run_id":7}"#)));
    assert_eq!((finished.error, finished.finished_at, finished.attempts), (None, Some(150), 1));
    assert!(!control.finish_job(tenant, good.id, "w1", false, None, Some("again"), 160).unwrap(), "finished once");
    assert!(!control.job_progress(tenant, good.id, "w1", 1, 1, "", 300).unwrap());

    assert!(control.finish_job(tenant, bad.id, "w2", false, None, Some("upload 9 does not exist"), 170).unwrap());
    let failed = control.job(tenant, bad.id).unwrap().unwrap();
    assert_eq!((failed.state.as_str(), failed.error.as_deref()), ("failed", Some("upload 9 does not exist")));
    assert_eq!((failed.result, failed.finished_at), (None, Some(170)));
    // Finished jobs are never claimed again, however late.
    assert_eq!(control.claim_job("w3", 10_000, 10_060).unwrap(), None);
    assert_eq!(control.job(tenant, bad.id + good.id + 1000).unwrap(), None);
}

/// Every read that names tenant B returns none of tenant A's rows, and every write that
/// names B changes none of them, though B's own rows may carry the same ids (SQLite
/// numbers each tenant's rows from 1).
fn scenario_tenant_isolation(control: &mut dyn ControlStore) {
    let a = control.create_tenant("acme", "Acme", AT).unwrap().id;
    let b = control.create_tenant("globex", "Globex", AT).unwrap().id;
    // A: everything, with two users so that A's second user's id is not one of B's.
    let a_first = control.create_user(a, "first@acme.example", "First", "admin", "$a1", AT).unwrap();
    let a_user = control.create_user(a, "anna@acme.example", "Anna", "clerk", "$a2", AT).unwrap();
    let a_org = control.create_organisation(a, "Acme HQ", None).unwrap();
    let a_store = control.create_store(a, a_org.id, "Acme DE").unwrap();
    let a_scope = Scope { organisations: vec![a_org.id], stores: vec![a_store.id] };
    control.set_user_scope(a, a_user.id, &a_scope).unwrap();
    control.create_session(a, "a-session", a_user.id, "a-csrf", AT, AT + 60).unwrap();
    let a_token = control.create_api_token(a, a_user.id, "a token", "a-sha", AT).unwrap();
    control.record_login_attempt(a, &a_user.email, "203.0.113.1", AT, false).unwrap();
    let a_upload = control.create_upload(a, "a.csv", "a-sha", None, b"a,b\n", a_user.id, AT).unwrap();
    let a_job = control.enqueue_job(a, "import", "{}", a_user.id, AT).unwrap();
    // B: one user (whose id may equal A's first user's), nothing else.
    let b_user = control.create_user(b, "bert@globex.example", "Bert", "admin", "$b", AT).unwrap();

    assert!(control.organisations(b).unwrap().is_empty());
    assert!(control.stores(b).unwrap().is_empty());
    assert_eq!(control.users(b).unwrap(), vec![b_user.clone()]);
    for id in [a_first.id, a_user.id] {
        let seen = control.user(b, id).unwrap();
        assert!(seen.is_none() || seen == Some(b_user.clone()), "{seen:?}");
    }
    assert_eq!(control.user(b, a_user.id).unwrap(), None);
    assert_eq!(control.user_by_email(b, &a_user.email).unwrap(), None);
    assert_eq!(control.user_scope(b, a_user.id).unwrap(), Scope::default());
    assert_eq!(control.user_scope(b, b_user.id).unwrap(), Scope::default());
    assert_eq!(control.session(b, "a-session").unwrap(), None);
    assert_eq!(control.api_token(b, a_token).unwrap(), None);
    assert!(control.api_tokens(b, a_user.id).unwrap().is_empty());
    assert!(control.api_tokens(b, b_user.id).unwrap().is_empty());
    assert_eq!(control.failed_logins_since(b, &a_user.email, "192.0.2.9", 0).unwrap(), (0, 0));
    assert_eq!(control.upload(b, a_upload.id).unwrap(), None);
    assert_eq!(control.upload_content(b, a_upload.id).unwrap(), None);
    assert!(control.uploads(b).unwrap().is_empty());
    assert_eq!(control.job(b, a_job.id).unwrap(), None);
    assert!(control.jobs(b, 100).unwrap().is_empty());

    // Writes naming B leave A's rows as they were.
    assert!(!control.set_user_role(b, a_user.id, "admin").unwrap());
    assert!(!control.set_user_disabled(b, a_user.id, true).unwrap());
    control.delete_session(b, "a-session").unwrap();
    assert!(!control.revoke_api_token(b, a_token, AT + 1).unwrap());
    assert!(!control.job_progress(b, a_job.id, "w1", 1, 1, "", AT + 60).unwrap());
    assert!(!control.finish_job(b, a_job.id, "w1", true, None, None, AT + 1).unwrap());
    assert!(control.set_user_scope(b, a_user.id, &a_scope).is_err(), "A's user, organisation and store are not B's");
    assert_eq!(control.user(a, a_user.id).unwrap(), Some(a_user.clone()));
    assert!(control.session(a, "a-session").unwrap().is_some());
    assert!(!control.api_token(a, a_token).unwrap().unwrap().revoked);
    assert_eq!(control.user_scope(a, a_user.id).unwrap(), a_scope);
    assert_eq!(control.job(a, a_job.id).unwrap(), Some(a_job.clone()));
    // The queue is shared: a claim takes A's job, and it stays A's.
    let claimed = control.claim_job("w1", AT, AT + 60).unwrap().unwrap();
    assert_eq!((claimed.tenant_id, claimed.id), (a, a_job.id));
    assert!(!control.finish_job(b, a_job.id, "w1", true, None, None, AT + 1).unwrap());
    assert!(control.finish_job(a, a_job.id, "w1", true, None, None, AT + 1).unwrap());
    assert!(control.jobs(b, 100).unwrap().is_empty());
    // A's rows: all still there, all A's.
    assert_eq!(control.users(a).unwrap().len(), 2);
    assert_eq!(control.organisations(a).unwrap(), vec![a_org]);
    assert_eq!(control.stores(a).unwrap(), vec![a_store]);
    assert_eq!(control.uploads(a).unwrap(), vec![a_upload]);
    assert_eq!(control.failed_logins_since(a, &a_user.email, "192.0.2.9", 0).unwrap(), (1, 0));
}

fn new_delivery(key: &str, channel: &str, target: &str) -> NewDelivery {
    NewDelivery {
        dedup_key: key.to_owned(),
        kind: "payout_missing".to_owned(),
        channel: channel.to_owned(),
        target: target.to_owned(),
        payload: format!(r#"{{"id":"{key}","kind":"payout_missing"}}"#),
    }
}

fn scenario_alert_deliveries_are_queued_once_and_claimed_when_due(control: &mut dyn ControlStore) {
    let acme = control.create_tenant("acme", "Acme", AT).unwrap().id;
    let globex = control.create_tenant("globex", "Globex", AT).unwrap().id;
    assert!(control.deliveries(acme, 10).unwrap().is_empty());
    assert_eq!(control.claim_delivery("w1", 1000, 1060).unwrap(), None);

    // Queued in the order given; a key the tenant has (or that repeats in the batch) is
    // skipped; another tenant may use the same key.
    let hook = new_delivery("run-1/payout_missing/payout:7/webhook", "webhook", "http://127.0.0.1:9/hook");
    let mail = new_delivery("run-1/payout_missing/payout:7/email", "email", "ops@acme.example, 财务@acme.example");
    let queued = control.enqueue_deliveries(acme, &[hook.clone(), mail.clone(), hook.clone()], 100).unwrap();
    assert_eq!(queued.len(), 2);
    let (first, second) = (queued[0].clone(), queued[1].clone());
    assert!(second.id > first.id);
    assert_eq!((first.tenant_id, first.kind.as_str(), first.channel.as_str()), (acme, "payout_missing", "webhook"));
    assert_eq!((first.target.as_str(), first.payload.as_str()), (hook.target.as_str(), hook.payload.as_str()));
    assert_eq!((first.state.as_str(), first.attempts, first.next_attempt_at), ("pending", 0, 100));
    assert_eq!((first.last_error.as_deref(), first.created_at, first.delivered_at), (None, 100, None));
    assert_eq!(second.target, "ops@acme.example, 财务@acme.example");
    assert!(
        control.enqueue_deliveries(acme, std::slice::from_ref(&mail), 150).unwrap().is_empty(),
        "sent once per key"
    );
    let theirs = control.enqueue_deliveries(globex, std::slice::from_ref(&hook), 100).unwrap();
    assert_eq!(theirs.len(), 1);
    let theirs = theirs[0].clone();
    let ids = |list: Vec<AlertDelivery>| list.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(control.deliveries(acme, 10).unwrap()), vec![second.id, first.id], "newest first");
    assert_eq!(ids(control.deliveries(acme, 1).unwrap()), vec![second.id]);
    assert_eq!(control.deliveries(acme, -1).unwrap().len(), 2);
    assert_eq!(control.delivery(acme, first.id).unwrap(), Some(first.clone()));
    assert_eq!(control.delivery(globex, second.id).unwrap(), None, "another tenant's delivery");
    assert_eq!(ids(control.deliveries(globex, 10).unwrap()), vec![theirs.id]);

    // Due first, then tenant, then id; a claim counts an attempt and holds a lease.
    assert_eq!(control.claim_delivery("w1", 99, 159).unwrap(), None, "not due yet");
    let claimed = control.claim_delivery("w1", 100, 160).unwrap().unwrap();
    assert_eq!((claimed.tenant_id, claimed.id, claimed.attempts), (acme, first.id, 1));
    assert_eq!(control.claim_delivery("w1", 100, 160).unwrap().unwrap().id, second.id);
    let claimed_theirs = control.claim_delivery("w2", 100, 160).unwrap().unwrap();
    assert_eq!((claimed_theirs.tenant_id, claimed_theirs.id), (globex, theirs.id));
    assert_eq!(control.claim_delivery("w2", 150, 210).unwrap(), None, "all held");

    // Outcomes: only the holder records one, once; a retry is due again later.
    let retry = AttemptOutcome::Retry { error: "HTTP 500 Internal Server Error", next_attempt_at: 130 };
    assert!(!control.finish_delivery_attempt(acme, first.id, "w2", retry, 101).unwrap(), "not w2's");
    assert!(!control.finish_delivery_attempt(globex, second.id, "w1", AttemptOutcome::Delivered, 101).unwrap());
    assert!(control.finish_delivery_attempt(acme, first.id, "w1", retry, 101).unwrap());
    let retried = control.delivery(acme, first.id).unwrap().unwrap();
    assert_eq!((retried.state.as_str(), retried.attempts, retried.next_attempt_at), ("pending", 1, 130));
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 500 Internal Server Error"));
    assert!(control.finish_delivery_attempt(acme, second.id, "w1", AttemptOutcome::Delivered, 102).unwrap());
    assert!(!control.finish_delivery_attempt(acme, second.id, "w1", AttemptOutcome::Delivered, 103).unwrap());
    let delivered = control.delivery(acme, second.id).unwrap().unwrap();
    assert_eq!((delivered.state.as_str(), delivered.delivered_at, delivered.attempts), ("delivered", Some(102), 1));
    let refused = AttemptOutcome::Failed { error: "https:// is not supported" };
    assert!(control.finish_delivery_attempt(globex, theirs.id, "w2", refused, 104).unwrap());
    let failed = control.delivery(globex, theirs.id).unwrap().unwrap();
    assert_eq!((failed.state.as_str(), failed.last_error.as_deref()), ("failed", Some("https:// is not supported")));
    // Neither delivered nor failed deliveries are claimed again, however late.
    assert_eq!(control.claim_delivery("w3", 129, 189).unwrap(), None);

    // The retry is due at 130; its holder dies, and the lease running out frees it.
    assert_eq!(control.claim_delivery("w3", 130, 190).unwrap().unwrap().attempts, 2);
    assert_eq!(control.claim_delivery("w4", 190, 250).unwrap(), None, "a lease holds until its last second");
    let again = control.claim_delivery("w4", 191, 251).unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 3));
    assert!(!control.finish_delivery_attempt(acme, first.id, "w3", AttemptOutcome::Delivered, 192).unwrap());
    // Retried up to the last attempt, then failed for good.
    let mut now = 200;
    for attempt in 3..DELIVERY_ATTEMPTS_MAX {
        let retry = AttemptOutcome::Retry { error: "timed out", next_attempt_at: now + 10 };
        assert!(control.finish_delivery_attempt(acme, first.id, "w4", retry, now).unwrap());
        now += 10;
        let claimed = control.claim_delivery("w4", now, now + 60).unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempts), (first.id, attempt + 1));
    }
    let last = AttemptOutcome::Retry { error: "timed out", next_attempt_at: now + 10 };
    assert!(control.finish_delivery_attempt(acme, first.id, "w4", last, now).unwrap());
    let exhausted = control.delivery(acme, first.id).unwrap().unwrap();
    assert_eq!((exhausted.state.as_str(), exhausted.attempts), ("failed", DELIVERY_ATTEMPTS_MAX));
    assert_eq!(control.claim_delivery("w4", now + 1000, now + 1060).unwrap(), None);

    // A delivery whose process keeps dying is failed once out of attempts.
    let doomed = control.enqueue_deliveries(acme, &[new_delivery("doomed", "webhook", "http://x/")], now).unwrap();
    let doomed = doomed[0].clone();
    for attempt in 1..=DELIVERY_ATTEMPTS_MAX {
        now += 100;
        let claimed = control.claim_delivery("dying", now, now + 60).unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempts), (doomed.id, attempt));
    }
    assert_eq!(control.claim_delivery("w5", now + 61, now + 121).unwrap(), None);
    let doomed = control.delivery(acme, doomed.id).unwrap().unwrap();
    assert_eq!(doomed.state, "failed");
    assert!(doomed.last_error.unwrap_or_default().starts_with("interrupted"));
    assert!(!control.finish_delivery_attempt(acme, doomed.id, "dying", AttemptOutcome::Delivered, now + 200).unwrap());
}

/// A stand-in for the service's SHA-256 (the store only stores what the hasher returns):
/// any deterministic function of (prev_hash, entry, seq) shows the chaining.
fn toy_hash(prev_hash: &str, entry: &NewAuditEntry, seq: i64) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (prev_hash, seq, entry.at, entry.actor_user, &entry.actor_name, &entry.action).hash(&mut hasher);
    (&entry.object_kind, &entry.object_id, &entry.before, &entry.after).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn audit(action: &str, object_id: &str, actor: Option<i64>, at: i64) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor_user: actor,
        actor_name: if actor.is_some() { "Anna 安娜".to_owned() } else { "system".to_owned() },
        action: action.to_owned(),
        object_kind: "user".to_owned(),
        object_id: object_id.to_owned(),
        before: (action != "user.add").then(|| r#"{"role":"viewer"}"#.to_owned()),
        after: Some(format!(r#"{{"role":"clerk","n":{at}}}"#)),
    }
}

/// Each entry follows the one before: seq 1, 2, 3 …, prev_hash the previous hash (the
/// first: 64 zeros), hash what the hasher gave for it.
fn assert_chained(entries: &[AuditEntry]) {
    let mut previous = AUDIT_GENESIS_HASH.to_owned();
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, index as i64 + 1, "seq without gaps");
        assert_eq!(entry.prev_hash, previous, "seq {}", entry.seq);
        assert_eq!(entry.hash, toy_hash(&entry.prev_hash, &entry.content(), entry.seq), "seq {}", entry.seq);
        previous = entry.hash.clone();
    }
}

fn scenario_audit_log_is_numbered_and_chained_per_tenant(control: &mut dyn ControlStore) {
    let (acme, anna) = tenant_with_user(control, "acme");
    let (globex, _) = tenant_with_user(control, "globex");
    assert_eq!(AUDIT_GENESIS_HASH, "0".repeat(64));
    assert!(control.audit_entries(acme, 0, -1).unwrap().is_empty());

    // Appends of two tenants interleaved: each tenant's log counts from 1 on its own.
    let first = control.append_audit(acme, &audit("user.add", "7", Some(anna), AT), &toy_hash).unwrap();
    let theirs = control.append_audit(globex, &audit("user.add", "7", None, AT), &toy_hash).unwrap();
    let second = control.append_audit(acme, &audit("user.change", "7", None, AT + 1), &toy_hash).unwrap();
    let third = control.append_audit(acme, &audit("rules.replace", "rules", Some(anna), AT + 1), &toy_hash).unwrap();
    let theirs_second = control.append_audit(globex, &audit("user.change", "8", None, AT + 2), &toy_hash).unwrap();
    assert_eq!((first.tenant_id, first.seq, second.seq, third.seq), (acme, 1, 2, 3));
    assert_eq!((theirs.tenant_id, theirs.seq, theirs_second.seq), (globex, 1, 2));
    assert_eq!(first.prev_hash, AUDIT_GENESIS_HASH);
    assert_eq!(theirs.prev_hash, AUDIT_GENESIS_HASH, "each tenant's chain starts anew");
    assert_eq!((second.prev_hash.as_str(), third.prev_hash.as_str()), (first.hash.as_str(), second.hash.as_str()));
    assert_eq!(theirs_second.prev_hash, theirs.hash);

    // What was appended is what is read, field by field, in seq order.
    assert_eq!(first.content(), audit("user.add", "7", Some(anna), AT));
    assert_eq!(first.before, None, "no before: NULL, not empty text");
    assert_eq!(second.actor_user, None, "the system identity");
    let all = control.audit_entries(acme, 0, -1).unwrap();
    assert_eq!(all, vec![first.clone(), second.clone(), third.clone()]);
    assert_chained(&all);
    assert_chained(&control.audit_entries(globex, 0, 100).unwrap());
    assert_eq!(control.audit_entries(globex, 0, 100).unwrap(), vec![theirs, theirs_second]);

    // Pages: after a seq, at most a limit.
    assert_eq!(control.audit_entries(acme, 1, 1).unwrap(), vec![second.clone()]);
    assert_eq!(control.audit_entries(acme, 1, 10).unwrap(), vec![second, third.clone()]);
    assert_eq!(control.audit_entries(acme, 2, -1).unwrap(), vec![third]);
    assert!(control.audit_entries(acme, 3, 10).unwrap().is_empty());
    assert!(control.audit_entries(acme, 0, 0).unwrap().is_empty());

    // A tenant that does not exist has no log to append to; nothing is stored.
    assert!(control.append_audit(globex + acme + 1000, &audit("user.add", "1", None, AT), &toy_hash).is_err());
    assert_eq!(control.audit_entries(acme, 0, -1).unwrap().len(), 3);
    // The store keeps counting after a refused append.
    assert_eq!(control.append_audit(acme, &audit("user.add", "9", None, AT + 3), &toy_hash).unwrap().seq, 4);
    assert_chained(&control.audit_entries(acme, 0, -1).unwrap());
}

// ---------------------------------------------------------------------------------------
// The scenarios on every engine.

#[test]
fn tenants_have_unique_slugs() {
    on_every_engine(scenario_tenants);
}

#[test]
fn organisations_have_parents_and_stores_belong_to_organisations() {
    on_every_engine(scenario_organisations_and_stores);
}

#[test]
fn users_roles_disabling_and_scopes() {
    on_every_engine(scenario_users_roles_and_scopes);
}

#[test]
fn sessions_are_created_read_and_deleted() {
    on_every_engine(scenario_sessions);
}

#[test]
fn api_tokens_are_listed_and_revoked_once() {
    on_every_engine(scenario_api_tokens);
}

#[test]
fn failed_logins_are_counted_by_email_and_by_address() {
    on_every_engine(scenario_login_attempts);
}

#[test]
fn uploads_keep_their_bytes_and_list_newest_first() {
    on_every_engine(scenario_uploads);
}

#[test]
fn tenant_settings_are_kept_per_tenant_and_replaced() {
    on_every_engine(scenario_tenant_settings);
}

#[test]
fn jobs_are_claimed_oldest_first() {
    on_every_engine(scenario_jobs_are_claimed_oldest_first);
}

#[test]
fn an_expired_lease_is_retried_until_the_attempts_limit() {
    on_every_engine(scenario_job_leases_retries_and_the_attempts_limit);
}

#[test]
fn only_the_owner_progresses_or_finishes_a_job() {
    on_every_engine(scenario_finishing_jobs);
}

#[test]
fn a_tenant_never_reads_or_writes_another_tenants_rows() {
    on_every_engine(scenario_tenant_isolation);
}

#[test]
fn alert_deliveries_are_queued_once_claimed_when_due_and_retried_until_the_attempts_limit() {
    on_every_engine(scenario_alert_deliveries_are_queued_once_and_claimed_when_due);
}

#[test]
fn the_audit_log_is_numbered_without_gaps_and_chained_per_tenant() {
    on_every_engine(scenario_audit_log_is_numbered_and_chained_per_tenant);
}

/// The SQLite control file refuses to change or remove an audit entry (triggers), like
/// PostgreSQL; tampering means dropping the triggers first.
#[test]
fn sqlite_refuses_to_update_or_delete_an_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sqlite");
    let mut control = SqliteControl::open(&path).unwrap();
    let (acme, _) = tenant_with_user(&mut control, "acme");
    control.append_audit(acme, &audit("user.add", "1", None, AT), &toy_hash).unwrap();
    let connection = rusqlite::Connection::open(&path).unwrap();
    for sql in ["UPDATE audit_entry SET actor_name = 'mallory'", "DELETE FROM audit_entry"] {
        let error = connection.execute(sql, []).unwrap_err().to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    assert_eq!(control.audit_entries(acme, 0, -1).unwrap()[0].actor_name, "system");
}

// ---------------------------------------------------------------------------------------
// PostgreSQL alone.

#[cfg(feature = "postgres")]
mod pg {
    use std::collections::{HashMap, HashSet};
    use std::hash::{BuildHasher, Hasher};
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use postgres::{Client, NoTls};
    use tieout_store::control::PgControl;
    use tieout_store::{PgSchemaOptions, PgStore, Store, StoreError};

    use super::*;

    const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    fn database_url() -> String {
        std::env::var("TIEOUT_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
    }

    fn random_u64() -> u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        hasher.finish()
    }

    fn connect(url: &str) -> Client {
        Client::connect(url, NoTls).unwrap_or_else(|e| {
            panic!("PostgreSQL (TIEOUT_TEST_DATABASE_URL, default {DEFAULT_DATABASE_URL}) is not reachable: {e}. The storage tests need it; CI starts it")
        })
    }

    /// A fresh schema of the test database, dropped (with everything in it) when dropped.
    pub(super) struct PgSchema {
        pub(super) name: String,
        /// The database URL with the schema as its search path.
        pub(super) url: String,
    }

    impl PgSchema {
        pub(super) fn new() -> PgSchema {
            let base = database_url();
            let name = format!("tieout_control_test_{:016x}", random_u64());
            connect(&base).batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
            let separator = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{separator}options=-csearch_path%3D{name}");
            PgSchema { name, url }
        }

        fn control(&self, options: &PgSchemaOptions) -> PgControl {
            PgControl::connect(&self.url, options).unwrap()
        }

        fn client(&self) -> Client {
            connect(&self.url)
        }
    }

    impl Drop for PgSchema {
        fn drop(&mut self) {
            if let Ok(mut client) = Client::connect(&database_url(), NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        }
    }

    /// Runs `scenario` on a PgControl in a fresh schema.
    pub(super) fn on_postgres(hash_partitions: Option<u32>, scenario: fn(&mut dyn ControlStore)) {
        let schema = PgSchema::new();
        let mut control = schema.control(&PgSchemaOptions { hash_partitions });
        assert_eq!(control.engine(), "postgres");
        scenario(&mut control);
    }

    fn enqueue_twenty(control: &mut dyn ControlStore) -> HashSet<(i64, i64)> {
        let (acme, anna) = tenant_with_user(control, "acme");
        let (globex, george) = tenant_with_user(control, "globex");
        (0..20)
            .map(|i| {
                let (tenant, user) = if i % 3 == 0 { (globex, george) } else { (acme, anna) };
                let job = control.enqueue_job(tenant, "import", &format!("{{\"n\":{i}}}"), user, 100 + i / 4).unwrap();
                (job.tenant_id, job.id)
            })
            .collect()
    }

    #[test]
    fn two_connections_claiming_at_once_never_take_the_same_job() {
        let schema = PgSchema::new();
        let options = PgSchemaOptions::default();
        let queued = enqueue_twenty(&mut schema.control(&options));
        assert_eq!(queued.len(), 20);
        let start = Arc::new(Barrier::new(2));
        let claimers: Vec<_> = (0..2)
            .map(|worker| {
                let mut control = schema.control(&options);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    let owner = format!("worker-{worker}");
                    start.wait();
                    let mut claimed = Vec::new();
                    while let Some(job) = control.claim_job(&owner, AT, AT + 600).unwrap() {
                        assert_eq!((job.state.as_str(), job.attempts), ("running", 1));
                        claimed.push((job.tenant_id, job.id, owner.clone()));
                    }
                    claimed
                })
            })
            .collect();
        let claims: Vec<(i64, i64, String)> = claimers.into_iter().flat_map(|c| c.join().unwrap()).collect();
        let mut times: HashMap<(i64, i64), usize> = HashMap::new();
        for (tenant, id, _) in &claims {
            *times.entry((*tenant, *id)).or_default() += 1;
        }
        assert_eq!(claims.len(), 20, "{claims:?}");
        assert!(times.values().all(|n| *n == 1), "a job claimed twice: {claims:?}");
        assert_eq!(times.keys().copied().collect::<HashSet<_>>(), queued);
        // Each job is held by the worker that claimed it, tried once.
        let mut client = schema.client();
        for (tenant, id, owner) in &claims {
            let row = client
                .query_one("SELECT lease_owner, attempts FROM job WHERE tenant_id = $1 AND id = $2", &[tenant, id])
                .unwrap();
            assert_eq!((row.get::<_, String>(0), row.get::<_, i64>(1)), (owner.clone(), 1));
        }
    }

    #[test]
    fn two_connections_claiming_deliveries_at_once_never_take_the_same_one() {
        let schema = PgSchema::new();
        let options = PgSchemaOptions { hash_partitions: Some(2) };
        let queued: HashSet<(i64, i64)> = {
            let mut control = schema.control(&options);
            let (acme, _) = tenant_with_user(&mut control, "acme");
            let (globex, _) = tenant_with_user(&mut control, "globex");
            (0..20)
                .flat_map(|i| {
                    let tenant = if i % 3 == 0 { globex } else { acme };
                    let delivery = new_delivery(&format!("key-{i}"), "webhook", "http://127.0.0.1:9/");
                    control.enqueue_deliveries(tenant, &[delivery], 100 + i / 4).unwrap()
                })
                .map(|d| (d.tenant_id, d.id))
                .collect()
        };
        assert_eq!(queued.len(), 20);
        let start = Arc::new(Barrier::new(2));
        let claimers: Vec<_> = (0..2)
            .map(|worker| {
                let mut control = schema.control(&options);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    let owner = format!("worker-{worker}");
                    start.wait();
                    let mut claimed = Vec::new();
                    while let Some(delivery) = control.claim_delivery(&owner, AT, AT + 120).unwrap() {
                        assert_eq!(delivery.attempts, 1);
                        claimed.push((delivery.tenant_id, delivery.id));
                    }
                    claimed
                })
            })
            .collect();
        let claims: Vec<(i64, i64)> = claimers.into_iter().flat_map(|c| c.join().unwrap()).collect();
        assert_eq!(claims.len(), 20, "{claims:?}");
        assert_eq!(claims.iter().copied().collect::<HashSet<_>>(), queued, "each claimed once");
    }

    #[test]
    fn a_job_another_claimer_holds_is_skipped_not_waited_for() {
        let schema = PgSchema::new();
        let options = PgSchemaOptions { hash_partitions: Some(2) };
        let mut setup = schema.control(&options);
        let (tenant, user) = tenant_with_user(&mut setup, "acme");
        let oldest = setup.enqueue_job(tenant, "import", "{}", user, 10).unwrap();
        let next = setup.enqueue_job(tenant, "import", "{}", user, 20).unwrap();
        // The claimer gives up on any statement that waits, rather than hanging the test.
        let mut client = setup.into_client();
        client.batch_execute("SET statement_timeout = '10s'").unwrap();
        let mut control = PgControl::from_client(client);

        // Another process's claim holds the oldest job (its transaction is still open).
        let mut other = schema.client();
        let mut holding = other.transaction().unwrap();
        holding.query("SELECT 1 FROM job WHERE tenant_id = $1 AND id = $2 FOR UPDATE", &[&tenant, &oldest.id]).unwrap();
        let began = Instant::now();
        let claimed = control.claim_job("w1", 100, 160).unwrap().unwrap();
        assert_eq!(claimed.id, next.id, "the held job is skipped");
        assert_eq!(control.claim_job("w1", 100, 160).unwrap(), None, "and not waited for");
        assert!(began.elapsed() < Duration::from_secs(10));
        holding.rollback().unwrap();
        assert_eq!(control.claim_job("w1", 100, 160).unwrap().unwrap().id, oldest.id);

        // A job out of tries that another claimer holds is neither failed nor run: the
        // claim after the holder lets go fails it.
        for now in [200, 300] {
            assert_eq!(control.claim_job("w1", now, now + 10).unwrap().unwrap().id, oldest.id);
        }
        assert!(control.finish_job(tenant, next.id, "w1", true, None, None, 310).unwrap());
        let mut holding = other.transaction().unwrap();
        holding.query("SELECT 1 FROM job WHERE tenant_id = $1 AND id = $2 FOR UPDATE", &[&tenant, &oldest.id]).unwrap();
        assert_eq!(control.claim_job("w2", 400, 460).unwrap(), None);
        let held = control.job(tenant, oldest.id).unwrap().unwrap();
        assert_eq!((held.state.as_str(), held.attempts), ("running", JOB_ATTEMPTS_MAX));
        holding.commit().unwrap();
        assert_eq!(control.claim_job("w2", 400, 460).unwrap(), None);
        let failed = control.job(tenant, oldest.id).unwrap().unwrap();
        assert_eq!((failed.state.as_str(), failed.attempts), ("failed", JOB_ATTEMPTS_MAX));
        assert!(failed.error.unwrap_or_default().starts_with("interrupted"));
    }

    const CONTROL_TABLES: [&str; 12] = [
        "alert_delivery",
        "api_token",
        "app_user",
        "audit_entry",
        "job",
        "login_attempt",
        "organisation",
        "session",
        "store",
        "tenant_setting",
        "upload",
        "user_scope",
    ];

    #[test]
    fn a_hash_partitioned_control_schema_is_ready_to_distribute() {
        let schema = PgSchema::new();
        let mut control = schema.control(&PgSchemaOptions { hash_partitions: Some(4) });
        scenario_tenant_isolation(&mut control);
        let mut client = schema.client();
        // Every table with a tenant_id is partitioned by hash of it, four ways.
        let tables: Vec<(String, i8)> = client
            .query(
                "SELECT c.relname::TEXT, c.relkind FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
                &[&schema.name],
            )
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        assert_eq!(tables.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), CONTROL_TABLES);
        let unpartitioned: Vec<&String> =
            tables.iter().filter(|(_, kind)| *kind != b'p' as i8).map(|(t, _)| t).collect();
        assert!(unpartitioned.is_empty(), "tables with a tenant_id that are not partitioned: {unpartitioned:?}");
        let partitioning: Vec<(String, String, String, i64)> = client
            .query(
                "SELECT c.relname::TEXT, p.partstrat::TEXT, a.attname::TEXT,
                        (SELECT COUNT(*) FROM pg_inherits i WHERE i.inhparent = c.oid)
                 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
                 WHERE n.nspname = $1 ORDER BY 1",
                &[&schema.name],
            )
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            .collect();
        assert_eq!(partitioning.len(), tables.len());
        for (table, strategy, column, partitions) in &partitioning {
            assert_eq!((strategy.as_str(), column.as_str(), *partitions), ("h", "tenant_id", 4), "{table}");
        }
        // The tenant table is the one shared (reference) table, not partitioned.
        let tenant_kind: i8 = client
            .query_one(
                "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = 'tenant'",
                &[&schema.name],
            )
            .unwrap()
            .get(0);
        assert_eq!(tenant_kind, b'r' as i8);
        // Rows land in the partitions.
        let placed: i64 = client
            .query_one(
                "SELECT COUNT(DISTINCT tableoid) FROM app_user WHERE tableoid::regclass::TEXT LIKE 'app_user_p%'",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(placed >= 1);
        assert_every_key_leads_with_tenant(&schema);
    }

    #[test]
    fn every_key_of_the_plain_control_schema_leads_with_tenant() {
        let schema = PgSchema::new();
        schema.control(&PgSchemaOptions::default());
        assert_every_key_leads_with_tenant(&schema);
    }

    /// Every primary key, unique constraint, foreign key and index of the control tables
    /// (all but `tenant`) starts with tenant_id, and every foreign key references a key
    /// starting with it or the tenant table's id: what a distributed (Citus) table needs,
    /// beside `tenant` as a reference table.
    fn assert_every_key_leads_with_tenant(schema: &PgSchema) {
        let mut client = schema.client();
        let constraints: Vec<(String, String, String, String, Option<String>)> = client
            .query(
                "SELECT c.relname::TEXT, con.conname::TEXT, con.contype::TEXT, a.attname::TEXT,
                        fc.relname || '.' || fa.attname
                 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
                 LEFT JOIN pg_class fc ON fc.oid = con.confrelid
                 LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[1]
                 WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f') AND NOT c.relispartition
                   AND c.relname NOT IN ('tenant', 'control_schema_version')",
                &[&schema.name],
            )
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
            .collect();
        let kinds: HashSet<&str> = constraints.iter().map(|c| c.2.as_str()).collect();
        assert_eq!(kinds, HashSet::from(["p", "u", "f"]));
        let with_primary_key: HashSet<&str> = constraints.iter().filter(|c| c.2 == "p").map(|c| c.0.as_str()).collect();
        assert_eq!(with_primary_key, HashSet::from(CONTROL_TABLES));
        for (table, name, kind, first, referenced) in &constraints {
            assert_eq!(first, "tenant_id", "{table}.{name} ({kind}) does not start with tenant_id");
            if kind == "f" {
                let target = referenced.as_deref().unwrap_or_default();
                assert!(
                    target == "tenant.id" || target.ends_with(".tenant_id"),
                    "{table}.{name} references {target}, a key without tenant_id first"
                );
            }
        }
        let indexes: Vec<(String, String)> = client
            .query(
                "SELECT i.relname::TEXT, a.attname::TEXT FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                 JOIN pg_namespace n ON n.oid = t.relnamespace
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
                 WHERE n.nspname = $1 AND t.relname NOT IN ('tenant', 'control_schema_version')",
                &[&schema.name],
            )
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        assert!(indexes.len() >= 17, "{indexes:?}");
        for (index, first) in &indexes {
            assert_eq!(first, "tenant_id", "index {index} does not start with tenant_id");
        }
        // No identity columns: ids come from sequences.
        let identities: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = $1 AND is_identity = 'YES'",
                &[&schema.name],
            )
            .unwrap()
            .get(0);
        assert_eq!(identities, 0);
    }

    #[test]
    fn servers_starting_at_once_migrate_the_control_plane_once_and_a_newer_one_is_refused() {
        let schema = PgSchema::new();
        let url = schema.url.clone();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || PgControl::connect(&url, &PgSchemaOptions::default()).map(|_| ()))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
        let mut client = schema.client();
        let versions: Vec<i64> = client
            .query("SELECT version FROM control_schema_version ORDER BY 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, [1]);
        // Migrating again changes nothing.
        PgControl::migrate(&mut client, &PgSchemaOptions::default()).unwrap();
        let count: i64 = client.query_one("SELECT COUNT(*) FROM control_schema_version", &[]).unwrap().get(0);
        assert_eq!(count, 1);
        // The tenant data's store lives beside it in the same schema.
        let mut control = PgControl::from_client(client);
        let (tenant, _) = tenant_with_user(&mut control, "acme");
        let store = PgStore::connect(&url, tenant, &PgSchemaOptions::default()).unwrap();
        assert!(store.files().unwrap().is_empty());
        assert_eq!(control.tenant_by_slug("acme").unwrap().map(|t| t.id), Some(tenant));
        // A schema from a newer tieout is refused.
        let mut client = control.into_client();
        client.batch_execute("INSERT INTO control_schema_version (version) VALUES (99)").unwrap();
        match PgControl::connect(&url, &PgSchemaOptions::default()) {
            Err(StoreError::SchemaTooNew { found: 99, supported: 1 }) => {}
            Err(other) => panic!("expected SchemaTooNew, got {other}"),
            Ok(_) => panic!("expected SchemaTooNew, got a control plane"),
        }
    }

    #[test]
    fn an_unreachable_control_database_is_an_error() {
        match PgControl::connect("postgres://postgres@127.0.0.1:9/test?connect_timeout=2", &PgSchemaOptions::default())
        {
            Err(StoreError::Postgres(_)) => {}
            Err(other) => panic!("expected a PostgreSQL error, got {other}"),
            Ok(_) => panic!("connected to a port nothing listens on"),
        }
    }
    #[test]
    fn concurrent_audit_appends_from_two_connections_keep_seq_gapless_and_the_chain_valid() {
        for hash_partitions in [None, Some(2)] {
            let schema = PgSchema::new();
            let options = PgSchemaOptions { hash_partitions };
            let mut setup = schema.control(&options);
            let (acme, _) = tenant_with_user(&mut setup, "acme");
            let (globex, _) = tenant_with_user(&mut setup, "globex");
            const EACH: i64 = 40;
            let start = Arc::new(Barrier::new(3));
            let appenders: Vec<_> = (0..3)
                .map(|worker| {
                    let mut control = schema.control(&options);
                    let start = Arc::clone(&start);
                    // Two connections on acme's log, one on globex's beside them.
                    let tenant = if worker < 2 { acme } else { globex };
                    std::thread::spawn(move || {
                        start.wait();
                        (0..EACH)
                            .map(|i| {
                                let entry = audit("user.change", &format!("w{worker}-{i}"), None, AT + i);
                                control.append_audit(tenant, &entry, &toy_hash).unwrap().seq
                            })
                            .collect::<Vec<i64>>()
                    })
                })
                .collect();
            let seqs: Vec<Vec<i64>> = appenders.into_iter().map(|a| a.join().unwrap()).collect();
            for own in &seqs {
                assert!(own.windows(2).all(|w| w[0] < w[1]), "one connection's appends are in order: {own:?}");
            }
            let mut acme_seqs: Vec<i64> = seqs[0].iter().chain(&seqs[1]).copied().collect();
            acme_seqs.sort_unstable();
            assert_eq!(acme_seqs, (1..=2 * EACH).collect::<Vec<_>>(), "no seq twice, none skipped");
            assert_eq!(seqs[2], (1..=EACH).collect::<Vec<_>>());
            let stored = setup.audit_entries(acme, 0, -1).unwrap();
            assert_eq!(stored.len() as i64, 2 * EACH);
            assert_chained(&stored);
            assert_chained(&setup.audit_entries(globex, 0, -1).unwrap());
        }
    }

    /// Nothing in tieout changes an audit entry, and the database refuses it to anyone
    /// else (on every partition, and TRUNCATE too) unless triggers are disabled first.
    #[test]
    fn postgresql_refuses_to_update_delete_or_truncate_an_audit_entry() {
        for hash_partitions in [None, Some(2)] {
            let schema = PgSchema::new();
            let mut control = schema.control(&PgSchemaOptions { hash_partitions });
            let (acme, _) = tenant_with_user(&mut control, "acme");
            control.append_audit(acme, &audit("user.add", "1", None, AT), &toy_hash).unwrap();
            let mut client = schema.client();
            let mut refused = vec![
                "UPDATE audit_entry SET actor_name = 'mallory'".to_owned(),
                "DELETE FROM audit_entry".to_owned(),
                "TRUNCATE audit_entry".to_owned(),
            ];
            if hash_partitions.is_some() {
                // The partition holding the row, reached directly.
                let partition: String =
                    client.query_one("SELECT tableoid::regclass::TEXT FROM audit_entry", &[]).unwrap().get(0);
                assert!(partition.starts_with("audit_entry_p"), "{partition}");
                refused.push(format!("UPDATE {partition} SET actor_name = 'mallory'"));
                refused.push(format!("DELETE FROM {partition}"));
            }
            for sql in &refused {
                let error = client.batch_execute(sql).unwrap_err();
                let message = error.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
                assert!(message.contains("append-only"), "{sql}: {error}");
            }
            assert_eq!(control.audit_entries(acme, 0, -1).unwrap()[0].actor_name, "system");
            // With the triggers disabled (what the tamper tests do) a row can be changed.
            client.batch_execute("ALTER TABLE audit_entry DISABLE TRIGGER ALL").unwrap();
            client.batch_execute("UPDATE audit_entry SET actor_name = 'mallory'").unwrap();
            assert_eq!(control.audit_entries(acme, 0, -1).unwrap()[0].actor_name, "mallory");
        }
    }
}
