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
//! connections come from a small pool and go back to it when the handle is dropped), so
//! the server's request handlers and job workers each hold their own.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tieout_store::control::{ControlStore, SqliteControl};
use tieout_store::pool::{PgPool, PooledControl, PooledStore};
use tieout_store::{PgSchemaOptions, SqliteStore, Store, StoreError};

/// Idle PostgreSQL connections a server keeps.
pub const POSTGRES_IDLE_CONNECTIONS_MAX: usize = 32;

pub struct Backend {
    engine: Engine,
    /// Scratch space for jobs (uploaded files are written here while they are imported).
    work_dir: PathBuf,
}

/// Idle SQLite connections kept per database file: opening one reads the file's schema,
/// which costs more than most requests' queries.
pub const SQLITE_IDLE_CONNECTIONS_MAX: usize = 16;

/// Idle SQLite connections, given back when their handle is dropped.
#[derive(Default)]
struct SqlitePool {
    control: std::sync::Mutex<Vec<SqliteControl>>,
    tenants: std::sync::Mutex<std::collections::HashMap<i64, Vec<SqliteStore>>>,
}

/// A tenant's SQLite store that goes back to the pool when dropped.
pub struct PooledSqliteStore {
    store: Option<SqliteStore>,
    tenant: i64,
    pool: Arc<SqlitePool>,
}

impl Drop for PooledSqliteStore {
    fn drop(&mut self) {
        if let Some(mut store) = self.store.take() {
            store.forget_caches();
            if let Ok(mut tenants) = self.pool.tenants.lock() {
                let idle = tenants.entry(self.tenant).or_default();
                if idle.len() < SQLITE_IDLE_CONNECTIONS_MAX {
                    idle.push(store);
                }
            }
        }
    }
}

/// The SQLite control plane, back to the pool when dropped.
pub struct PooledSqliteControl {
    control: Option<SqliteControl>,
    pool: Arc<SqlitePool>,
}

impl Drop for PooledSqliteControl {
    fn drop(&mut self) {
        if let Some(control) = self.control.take() {
            if let Ok(mut idle) = self.pool.control.lock() {
                if idle.len() < SQLITE_IDLE_CONNECTIONS_MAX {
                    idle.push(control);
                }
            }
        }
    }
}

enum Engine {
    Sqlite { dir: PathBuf, pool: Arc<SqlitePool> },
    Postgres { pool: Arc<PgPool> },
}

/// One tenant's data, on whichever engine: use it as `&dyn Store`.
pub enum TenantStore {
    Sqlite(PooledSqliteStore),
    Postgres(PooledStore),
}

impl AsRef<dyn Store> for TenantStore {
    fn as_ref(&self) -> &(dyn Store + 'static) {
        &**self
    }
}

impl AsMut<dyn Store> for TenantStore {
    fn as_mut(&mut self) -> &mut (dyn Store + 'static) {
        &mut **self
    }
}

impl Deref for TenantStore {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        match self {
            TenantStore::Sqlite(store) => store.store.as_ref().expect("present until dropped"),
            TenantStore::Postgres(store) => &**store,
        }
    }
}

impl DerefMut for TenantStore {
    fn deref_mut(&mut self) -> &mut (dyn Store + 'static) {
        match self {
            TenantStore::Sqlite(store) => store.store.as_mut().expect("present until dropped"),
            TenantStore::Postgres(store) => &mut **store,
        }
    }
}

/// The control plane, on whichever engine: use it as `&mut dyn ControlStore`.
pub enum Control {
    Sqlite(PooledSqliteControl),
    Postgres(PooledControl),
}

impl AsMut<dyn ControlStore> for Control {
    fn as_mut(&mut self) -> &mut (dyn ControlStore + 'static) {
        &mut **self
    }
}

impl Deref for Control {
    type Target = dyn ControlStore;
    fn deref(&self) -> &(dyn ControlStore + 'static) {
        match self {
            Control::Sqlite(control) => control.control.as_ref().expect("present until dropped"),
            Control::Postgres(control) => &**control,
        }
    }
}

impl DerefMut for Control {
    fn deref_mut(&mut self) -> &mut (dyn ControlStore + 'static) {
        match self {
            Control::Sqlite(control) => control.control.as_mut().expect("present until dropped"),
            Control::Postgres(control) => &mut **control,
        }
    }
}

fn create(path: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(path).map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display())))
}

impl Backend {
    /// The SQLite deployment in `dir` (created if needed, schema brought up to date).
    pub fn sqlite(dir: &Path) -> Result<Backend, StoreError> {
        create(&dir.join("tenants"))?;
        create(&dir.join("work"))?;
        SqliteControl::open(&dir.join("control.sqlite"))?;
        let pool = Arc::new(SqlitePool::default());
        Ok(Backend { engine: Engine::Sqlite { dir: dir.to_owned(), pool }, work_dir: dir.join("work") })
    }

    /// The PostgreSQL deployment at `url` (schemas brought up to date); jobs write their
    /// scratch files under `work_dir`.
    pub fn postgres(url: &str, options: &PgSchemaOptions, work_dir: &Path) -> Result<Backend, StoreError> {
        create(work_dir)?;
        let pool = PgPool::connect(url, options, POSTGRES_IDLE_CONNECTIONS_MAX)?;
        Ok(Backend { engine: Engine::Postgres { pool }, work_dir: work_dir.to_owned() })
    }

    pub fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite { .. } => "sqlite",
            Engine::Postgres { .. } => "postgres",
        }
    }

    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    pub fn control(&self) -> Result<Control, StoreError> {
        match &self.engine {
            Engine::Sqlite { dir, pool } => {
                let idle = pool.control.lock().ok().and_then(|mut idle| idle.pop());
                let control = match idle {
                    Some(control) => control,
                    None => SqliteControl::open(&dir.join("control.sqlite"))?,
                };
                Ok(Control::Sqlite(PooledSqliteControl { control: Some(control), pool: pool.clone() }))
            }
            Engine::Postgres { pool } => Ok(Control::Postgres(pool.control()?)),
        }
    }

    /// One tenant's data. The caller has checked that the request may see this tenant.
    pub fn tenant_store(&self, tenant: i64) -> Result<TenantStore, StoreError> {
        match &self.engine {
            Engine::Sqlite { dir, pool } => {
                let idle = pool.tenants.lock().ok().and_then(|mut tenants| tenants.get_mut(&tenant).and_then(Vec::pop));
                let store = match idle {
                    Some(store) => store,
                    None => SqliteStore::open_concurrent(&dir.join("tenants").join(format!("{tenant}.sqlite")))?,
                };
                Ok(TenantStore::Sqlite(PooledSqliteStore { store: Some(store), tenant, pool: pool.clone() }))
            }
            Engine::Postgres { pool } => Ok(TenantStore::Postgres(pool.tenant_store(tenant)?)),
        }
    }

    /// Whether the databases answer (the readiness probe).
    pub fn ready(&self) -> Result<(), StoreError> {
        self.control()?.tenants().map(|_| ())
    }
}
