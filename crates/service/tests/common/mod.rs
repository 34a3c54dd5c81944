//! Shared by the service's tests: a generated demo month and its import jobs.

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
