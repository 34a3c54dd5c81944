//! Shared by the service's tests: a generated demo month and its import jobs; a fresh
//! PostgreSQL schema.

use std::path::{Path, PathBuf};

use tieout_formats::mapping::parse_mapping;
use tieout_service::import::ImportOptions;

/// A demo month generated into `dir`, and its files as import jobs (each store's order
/// export with its mapping, then its settlement files), all imported at one moment.
pub struct DemoMonth {
    pub manifest: tieout_demo::DemoManifest,
    pub jobs: Vec<(PathBuf, ImportOptions)>,
}

pub fn demo_month(dir: &Path, seed: u64, orders: u64) -> DemoMonth {
    let config = tieout_demo::DemoConfig { seed, orders, year: 2026, month: 10 };
    let manifest = tieout_demo::generate(&config, dir).unwrap();
    let mut jobs = Vec::new();
    for files in &manifest.stores {
        let mapping = parse_mapping("mapping.toml", &std::fs::read_to_string(&files.mapping_file).unwrap()).unwrap();
        let options = |mapping| ImportOptions {
            store: Some(files.store.clone()),
            mapping,
            profile: None,
            imported_at: "2026-11-05T00:00:00Z".to_owned(),
        };
        jobs.push((files.orders_file.clone(), options(Some(mapping))));
        jobs.extend(files.settlement_files.iter().map(|p| (p.clone(), options(None))));
    }
    DemoMonth { manifest, jobs }
}

/// A fresh schema in the PostgreSQL at `TIEOUT_TEST_DATABASE_URL` (default
/// `postgres://postgres@127.0.0.1:5432/test`), dropped at its end; `url` connects to it.
#[allow(dead_code)] // not every test binary uses PostgreSQL
pub struct PgSchema {
    base_url: String,
    name: String,
    pub url: String,
}

#[allow(dead_code)]
impl PgSchema {
    /// A schema named `prefix` and what makes it unique (process, count, time).
    pub fn new(prefix: &str) -> PgSchema {
        let base_url = std::env::var("TIEOUT_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("{prefix}_{}_{next}_{nanos}", std::process::id());
        let mut client = postgres::Client::connect(&base_url, postgres::NoTls)
            .expect("PostgreSQL at TIEOUT_TEST_DATABASE_URL (CI starts it; see .ci/run)");
        client.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-csearch_path%3D{name}");
        PgSchema { base_url, name, url }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.base_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
