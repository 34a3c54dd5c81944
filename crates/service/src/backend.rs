//! Where a deployment keeps its data: the engines behind the team server.
//!
//! - **SQLite** (the default, one machine): a directory holding `control.sqlite` (tenants,
//!   users, sessions, uploads, jobs) and one database file per tenant
//!   (`tenants/<id>.sqlite`): a tenant's data is a file of its own, so no query can reach
//!   another tenant's rows, and one tenant's large import never waits on another's.
//! - **PostgreSQL** (a team, several server processes): one database; every table carries
//!   `tenant_id` leading every key, which is also what a distributed PostgreSQL (Citus)
//!   shards by when one database is not enough.
//!
//! Each call opens what it needs (a SQLite connection is a file open; PostgreSQL
//! connections come from a small pool), so the server's request handlers and job workers
//! each hold their own.

use std::path::{Path, PathBuf};

use tieout_store::control::{ControlStore, SqliteControl};
use tieout_store::{SqliteStore, Store, StoreError};

pub struct Backend {
    engine: Engine,
    /// Scratch space for jobs (uploaded files are written here while they are imported).
    work_dir: PathBuf,
}

enum Engine {
    Sqlite { dir: PathBuf },
}

impl Backend {
    /// The SQLite deployment in `dir` (created if needed, schema brought up to date).
    pub fn sqlite(dir: &Path) -> Result<Backend, StoreError> {
        let create = |path: &Path| {
            std::fs::create_dir_all(path).map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))
        };
        create(&dir.join("tenants"))?;
        create(&dir.join("work"))?;
        SqliteControl::open(&dir.join("control.sqlite"))?;
        Ok(Backend { engine: Engine::Sqlite { dir: dir.to_owned() }, work_dir: dir.join("work") })
    }

    pub fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite { .. } => "sqlite",
        }
    }

    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    pub fn control(&self) -> Result<Box<dyn ControlStore>, StoreError> {
        match &self.engine {
            Engine::Sqlite { dir } => Ok(Box::new(SqliteControl::open(&dir.join("control.sqlite"))?)),
        }
    }

    /// One tenant's data. The caller has checked that the request may see this tenant.
    pub fn tenant_store(&self, tenant: i64) -> Result<Box<dyn Store>, StoreError> {
        match &self.engine {
            Engine::Sqlite { dir } => {
                Ok(Box::new(SqliteStore::open_concurrent(&dir.join("tenants").join(format!("{tenant}.sqlite")))?))
            }
        }
    }

    /// Whether the databases answer (the readiness probe).
    pub fn ready(&self) -> Result<(), StoreError> {
        self.control()?.tenants().map(|_| ())
    }
}
