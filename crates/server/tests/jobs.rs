//! Jobs in the database: a job whose worker died is claimed again once its lease runs out
//! and applied once; one that keeps dying is failed, not retried forever.

use tieout_service::backend::Backend;
use tieout_service::config::Settings;
use tieout_service::jobs::{run_next_job, JobSettings, JobSpec, LEASE_SECONDS};
use tieout_service::rules::ReceiptRules;
use tieout_service::team;
use tieout_store::control::JOB_ATTEMPTS_MAX;

#[test]
fn a_job_whose_worker_died_is_claimed_again_and_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::sqlite(&dir.path().join("data")).unwrap();
    let month = tieout_demo::generate(
        &tieout_demo::DemoConfig { seed: 3, orders: 1000, year: 2026, month: 10 },
        &dir.path().join("demo"),
    )
    .unwrap();
    let settings =
        JobSettings { settings: Settings::default(), settings_text: String::new(), rules: ReceiptRules::built_in() };
    let mut control = backend.control().unwrap();
    let tenant = team::create_tenant(control.as_mut(), "acme", "Acme", 0).unwrap().id;
    let user =
        team::add_user(control.as_mut(), tenant, "c@acme.test", "C", "clerk", "correct horse battery", 0).unwrap().id;
    let file = &month.stores[0].settlement_files[1];
    let content = std::fs::read(file).unwrap();
    let upload = control.create_upload(tenant, "s.txt", "sha", Some("acme-us"), &content, user, 0).unwrap();
    let spec =
        serde_json::to_string(&JobSpec::Import { uploads: vec![upload.id], mapping: None, profile: None }).unwrap();
    let job = control.enqueue_job(tenant, "import", &spec, user, 10).unwrap();

    // A worker claims the job and dies.
    let claimed = control.claim_job("dead-worker", 100, 100 + LEASE_SECONDS).unwrap().unwrap();
    assert_eq!((claimed.id, claimed.attempts), (job.id, 1));
    // While its lease holds nobody else takes the job.
    assert!(run_next_job(&backend, &settings, "live-worker", &|| 150).unwrap().is_none());
    // Once the lease has run out, another worker runs it, once.
    let after = 100 + LEASE_SECONDS + 1;
    let rerun = run_next_job(&backend, &settings, "live-worker", &|| after).unwrap().unwrap();
    assert_eq!((rerun.id, rerun.attempts), (job.id, 2));
    let done = control.job(tenant, job.id).unwrap().unwrap();
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert!(done.result.unwrap().contains("\"imported\""));
    assert!(run_next_job(&backend, &settings, "live-worker", &|| after + 1).unwrap().is_none());
    // The dead worker's late word changes nothing.
    assert!(!control.finish_job(tenant, job.id, "dead-worker", false, None, Some("late"), after + 2).unwrap());
    assert_eq!(control.job(tenant, job.id).unwrap().unwrap().state, "succeeded");
    let store = backend.tenant_store(tenant).unwrap();
    assert_eq!(store.files().unwrap().len(), 1);

    // Running the same import again adds nothing (a retry is never applied twice).
    let again = control.enqueue_job(tenant, "import", &spec, user, after + 3).unwrap();
    run_next_job(&backend, &settings, "live-worker", &|| after + 4).unwrap().unwrap();
    let again = control.job(tenant, again.id).unwrap().unwrap();
    assert!(again.result.unwrap().contains("already_imported"));
    assert_eq!(store.files().unwrap().len(), 1);

    // A job that keeps dying is failed after its tries.
    let doomed = control.enqueue_job(tenant, "import", &spec, user, after + 5).unwrap();
    let mut now = after + 10;
    for attempt in 1..=JOB_ATTEMPTS_MAX {
        let claimed = control.claim_job("dying-worker", now, now + LEASE_SECONDS).unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempts), (doomed.id, attempt));
        now += LEASE_SECONDS + 1;
    }
    assert!(run_next_job(&backend, &settings, "live-worker", &|| now).unwrap().is_none());
    let doomed = control.job(tenant, doomed.id).unwrap().unwrap();
    assert_eq!(doomed.state, "failed");
    assert!(doomed.error.unwrap().contains("interrupted"));
}
