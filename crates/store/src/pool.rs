//! A small pool of PostgreSQL connections for the team server: each request or job takes
//! a connection, uses it as a tenant's [`PgStore`] or as the [`PgControl`], and gives it
//! back when the handle is dropped. Connections that broke are not given back.
//!
//! Why not a pool crate: the store is synchronous and its users hold a connection for one
//! request or one job; a mutex around idle connections is all that needs, with no async
//! runtime or extra dependency.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use postgres::{Client, NoTls};

use crate::control::PgControl;
use crate::postgres::{migrate, PgSchemaOptions, PgStore};
use crate::StoreError;

pub struct PgPool {
    config: String,
    idle: Mutex<Vec<Client>>,
    idle_max: usize,
}

impl PgPool {
    /// Connects to `config` (a `postgres://` URL), brings the data and control schemas up
    /// to date, and keeps up to `idle_max` idle connections.
    pub fn connect(config: &str, options: &PgSchemaOptions, idle_max: usize) -> Result<Arc<PgPool>, StoreError> {
        let mut client = Client::connect(config, NoTls)?;
        migrate(&mut client, options)?;
        PgControl::migrate(&mut client, options)?;
        Ok(Arc::new(PgPool { config: config.to_owned(), idle: Mutex::new(vec![client]), idle_max }))
    }

    fn take(&self) -> Result<Client, StoreError> {
        let idle = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        match idle {
            Some(client) if !client.is_closed() => Ok(client),
            _ => Ok(Client::connect(&self.config, NoTls)?),
        }
    }

    fn give(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.idle_max {
                idle.push(client);
            }
        }
    }

    /// One tenant's data on a pooled connection.
    pub fn tenant_store(self: &Arc<PgPool>, tenant: i64) -> Result<PooledStore, StoreError> {
        Ok(PooledStore { store: Some(PgStore::from_client(self.take()?, tenant)), pool: self.clone() })
    }

    /// The control plane on a pooled connection.
    pub fn control(self: &Arc<PgPool>) -> Result<PooledControl, StoreError> {
        Ok(PooledControl { control: Some(PgControl::from_client(self.take()?)), pool: self.clone() })
    }
}

impl Drop for PgPool {
    /// A synchronous client closes its connection on a runtime of its own, which panics on
    /// a thread that drives an async runtime (the server's last handle on the pool may be
    /// dropped there at shutdown): the idle connections are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = self.idle.get_mut().map(std::mem::take).unwrap_or_default();
        if !idle.is_empty() {
            let _ = std::thread::Builder::new().name("tieout-pg-close".to_owned()).spawn(move || drop(idle));
        }
    }
}

/// A [`PgStore`] whose connection goes back to the pool when dropped.
pub struct PooledStore {
    store: Option<PgStore>,
    pool: Arc<PgPool>,
}

impl Deref for PooledStore {
    type Target = PgStore;
    fn deref(&self) -> &PgStore {
        self.store.as_ref().expect("present until dropped")
    }
}

impl DerefMut for PooledStore {
    fn deref_mut(&mut self) -> &mut PgStore {
        self.store.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledStore {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool.give(store.into_client());
        }
    }
}

/// A [`PgControl`] whose connection goes back to the pool when dropped.
pub struct PooledControl {
    control: Option<PgControl>,
    pool: Arc<PgPool>,
}

impl Deref for PooledControl {
    type Target = PgControl;
    fn deref(&self) -> &PgControl {
        self.control.as_ref().expect("present until dropped")
    }
}

impl DerefMut for PooledControl {
    fn deref_mut(&mut self) -> &mut PgControl {
        self.control.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledControl {
    fn drop(&mut self) {
        if let Some(control) = self.control.take() {
            self.pool.give(control.into_client());
        }
    }
}
