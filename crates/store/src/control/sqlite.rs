//! The control plane on SQLite: the team server's `control.sqlite`.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::JOB_ATTEMPTS_MAX;
use super::{AlertDelivery, AttemptOutcome, NewDelivery, DELIVERY_ATTEMPTS_MAX};
use super::{
    ApiToken, AuditEntry, AuditHasher, ControlStore, Job, NewAuditEntry, Organisation, Scope, Session, StoreEntry,
    Tenant, Upload, User, AUDIT_GENESIS_HASH,
};
use crate::StoreError;

const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/control/sqlite.sql"))];

pub struct SqliteControl {
    connection: Connection,
}

const USER_COLUMNS: &str = "tenant_id, id, email, display_name, role, password_hash, disabled";
const UPLOAD_COLUMNS: &str = "tenant_id, id, name, sha256, size_bytes, store, created_by, created_at";
const JOB_COLUMNS: &str = "tenant_id, id, kind, payload, state, attempts, progress_done, progress_total, message, \
                           result, error, created_by, created_at, started_at, finished_at";

fn user_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        tenant_id: row.get(0)?,
        id: row.get(1)?,
        email: row.get(2)?,
        display_name: row.get(3)?,
        role: row.get(4)?,
        password_hash: row.get(5)?,
        disabled: row.get(6)?,
    })
}

fn upload_row(row: &Row<'_>) -> rusqlite::Result<Upload> {
    Ok(Upload {
        tenant_id: row.get(0)?,
        id: row.get(1)?,
        name: row.get(2)?,
        sha256: row.get(3)?,
        size_bytes: row.get(4)?,
        store: row.get(5)?,
        created_by: row.get(6)?,
        created_at: row.get(7)?,
    })
}

fn job_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        tenant_id: row.get(0)?,
        id: row.get(1)?,
        kind: row.get(2)?,
        payload: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        progress_done: row.get(6)?,
        progress_total: row.get(7)?,
        message: row.get(8)?,
        result: row.get(9)?,
        error: row.get(10)?,
        created_by: row.get(11)?,
        created_at: row.get(12)?,
        started_at: row.get(13)?,
        finished_at: row.get(14)?,
    })
}

const AUDIT_COLUMNS: &str =
    "tenant_id, seq, at, actor_user, actor_name, action, object_kind, object_id, before, after, prev_hash, hash";

fn audit_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        tenant_id: row.get(0)?,
        seq: row.get(1)?,
        at: row.get(2)?,
        actor_user: row.get(3)?,
        actor_name: row.get(4)?,
        action: row.get(5)?,
        object_kind: row.get(6)?,
        object_id: row.get(7)?,
        before: row.get(8)?,
        after: row.get(9)?,
        prev_hash: row.get(10)?,
        hash: row.get(11)?,
    })
}

const DELIVERY_COLUMNS: &str = "tenant_id, id, kind, channel, target, payload, state, attempts, next_attempt_at, \
                                last_error, created_at, delivered_at";

fn delivery_row(row: &Row<'_>) -> rusqlite::Result<AlertDelivery> {
    Ok(AlertDelivery {
        tenant_id: row.get(0)?,
        id: row.get(1)?,
        kind: row.get(2)?,
        channel: row.get(3)?,
        target: row.get(4)?,
        payload: row.get(5)?,
        state: row.get(6)?,
        attempts: row.get(7)?,
        next_attempt_at: row.get(8)?,
        last_error: row.get(9)?,
        created_at: row.get(10)?,
        delivered_at: row.get(11)?,
    })
}

fn next_id(connection: &Connection, table: &str, tenant: i64) -> rusqlite::Result<i64> {
    connection.query_row(
        &format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table} WHERE tenant_id = ?1"),
        [tenant],
        |row| row.get(0),
    )
}

impl SqliteControl {
    /// Opens (creating if needed) the control database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteControl, StoreError> {
        let connection =
            Connection::open(path).map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        SqliteControl::with_connection(connection)
    }

    pub fn open_in_memory() -> Result<SqliteControl, StoreError> {
        SqliteControl::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut connection: Connection) -> Result<SqliteControl, StoreError> {
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        // WAL: many short reads (sessions) beside short writes from several threads.
        connection.execute_batch("PRAGMA foreign_keys = ON;")?;
        // Every request opens the control database: when it is in WAL and up to date (the
        // usual case), opening only reads, so requests never queue for the write lock.
        let wal: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if wal != "wal" {
            connection.execute_batch("PRAGMA journal_mode = WAL;")?;
        }
        let migrated: Option<i64> = connection
            .query_row(
                "SELECT MAX(version) FROM control_migration WHERE EXISTS
                    (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'control_migration')",
                [],
                |row| row.get(0),
            )
            .optional()
            .unwrap_or(None);
        if migrated == MIGRATIONS.last().map(|m| m.0) {
            return Ok(SqliteControl { connection });
        }
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS control_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        )?;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 =
            transaction.query_row("SELECT COALESCE(MAX(version), 0) FROM control_migration", [], |row| row.get(0))?;
        let supported = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > supported {
            return Err(StoreError::SchemaTooNew { found: current, supported });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
            transaction.execute_batch(sql)?;
            transaction.execute("INSERT INTO control_migration (version) VALUES (?1)", [version])?;
        }
        transaction.commit()?;
        Ok(SqliteControl { connection })
    }

    fn insert_with_id(
        &mut self,
        table: &str,
        tenant: i64,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<i64, StoreError> {
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = next_id(&transaction, table, tenant)?;
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![&tenant, &id];
        all.extend_from_slice(values);
        transaction.execute(sql, all.as_slice())?;
        transaction.commit()?;
        Ok(id)
    }
}

impl ControlStore for SqliteControl {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    fn create_tenant(&mut self, slug: &str, name: &str, at: i64) -> Result<Tenant, StoreError> {
        self.connection
            .execute("INSERT INTO tenant (slug, name, created_at) VALUES (?1, ?2, ?3)", params![slug, name, at])?;
        let id = self.connection.last_insert_rowid();
        Ok(Tenant { id, slug: slug.to_owned(), name: name.to_owned() })
    }

    fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(self
            .connection
            .query_row("SELECT id, slug, name FROM tenant WHERE slug = ?1", [slug], |row| {
                Ok(Tenant { id: row.get(0)?, slug: row.get(1)?, name: row.get(2)? })
            })
            .optional()?)
    }

    fn tenant(&mut self, id: i64) -> Result<Option<Tenant>, StoreError> {
        Ok(self
            .connection
            .query_row("SELECT id, slug, name FROM tenant WHERE id = ?1", [id], |row| {
                Ok(Tenant { id: row.get(0)?, slug: row.get(1)?, name: row.get(2)? })
            })
            .optional()?)
    }

    fn tenants(&mut self) -> Result<Vec<Tenant>, StoreError> {
        let mut statement = self.connection.prepare("SELECT id, slug, name FROM tenant ORDER BY id")?;
        let rows =
            statement.query_map([], |row| Ok(Tenant { id: row.get(0)?, slug: row.get(1)?, name: row.get(2)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn create_organisation(
        &mut self,
        tenant: i64,
        name: &str,
        parent_id: Option<i64>,
    ) -> Result<Organisation, StoreError> {
        let id = self.insert_with_id(
            "organisation",
            tenant,
            "INSERT INTO organisation (tenant_id, id, name, parent_id) VALUES (?1, ?2, ?3, ?4)",
            &[&name, &parent_id],
        )?;
        Ok(Organisation { id, name: name.to_owned(), parent_id })
    }

    fn organisations(&mut self, tenant: i64) -> Result<Vec<Organisation>, StoreError> {
        let mut statement =
            self.connection.prepare("SELECT id, name, parent_id FROM organisation WHERE tenant_id = ?1 ORDER BY id")?;
        let rows = statement.query_map([tenant], |row| {
            Ok(Organisation { id: row.get(0)?, name: row.get(1)?, parent_id: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn create_store(&mut self, tenant: i64, organisation_id: i64, name: &str) -> Result<StoreEntry, StoreError> {
        let id = self.insert_with_id(
            "store",
            tenant,
            "INSERT INTO store (tenant_id, id, organisation_id, name) VALUES (?1, ?2, ?3, ?4)",
            &[&organisation_id, &name],
        )?;
        Ok(StoreEntry { id, organisation_id, name: name.to_owned() })
    }

    fn stores(&mut self, tenant: i64) -> Result<Vec<StoreEntry>, StoreError> {
        let mut statement =
            self.connection.prepare("SELECT id, organisation_id, name FROM store WHERE tenant_id = ?1 ORDER BY id")?;
        let rows = statement.query_map([tenant], |row| {
            Ok(StoreEntry { id: row.get(0)?, organisation_id: row.get(1)?, name: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn create_user(
        &mut self,
        tenant: i64,
        email: &str,
        display_name: &str,
        role: &str,
        password_hash: &str,
        at: i64,
    ) -> Result<User, StoreError> {
        let id = self.insert_with_id(
            "app_user",
            tenant,
            "INSERT INTO app_user (tenant_id, id, email, display_name, role, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[&email, &display_name, &role, &password_hash, &at],
        )?;
        Ok(User {
            tenant_id: tenant,
            id,
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            role: role.to_owned(),
            password_hash: password_hash.to_owned(),
            disabled: false,
        })
    }

    fn user(&mut self, tenant: i64, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE tenant_id = ?1 AND id = ?2");
        Ok(self.connection.query_row(&sql, [tenant, id], user_row).optional()?)
    }

    fn user_by_email(&mut self, tenant: i64, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE tenant_id = ?1 AND email = ?2");
        Ok(self.connection.query_row(&sql, params![tenant, email], user_row).optional()?)
    }

    fn users(&mut self, tenant: i64) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE tenant_id = ?1 ORDER BY id");
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map([tenant], user_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_user_role(&mut self, tenant: i64, user: i64, role: &str) -> Result<bool, StoreError> {
        let changed = self
            .connection
            .execute("UPDATE app_user SET role = ?3 WHERE tenant_id = ?1 AND id = ?2", params![tenant, user, role])?;
        Ok(changed == 1)
    }

    fn set_user_disabled(&mut self, tenant: i64, user: i64, disabled: bool) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE app_user SET disabled = ?3 WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, user, disabled],
        )?;
        if disabled {
            self.connection.execute("DELETE FROM session WHERE tenant_id = ?1 AND user_id = ?2", [tenant, user])?;
        }
        Ok(changed == 1)
    }

    fn set_user_scope(&mut self, tenant: i64, user: i64, scope: &Scope) -> Result<(), StoreError> {
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute("DELETE FROM user_scope WHERE tenant_id = ?1 AND user_id = ?2", [tenant, user])?;
        for organisation in &scope.organisations {
            transaction.execute(
                "INSERT INTO user_scope (tenant_id, user_id, organisation_id) VALUES (?1, ?2, ?3)",
                [tenant, user, *organisation],
            )?;
        }
        for store in &scope.stores {
            transaction.execute(
                "INSERT INTO user_scope (tenant_id, user_id, store_id) VALUES (?1, ?2, ?3)",
                [tenant, user, *store],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    fn user_scope(&mut self, tenant: i64, user: i64) -> Result<Scope, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT organisation_id, store_id FROM user_scope WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY rowid",
        )?;
        let mut scope = Scope::default();
        let mut rows = statement.query([tenant, user])?;
        while let Some(row) = rows.next()? {
            if let Some(organisation) = row.get::<_, Option<i64>>(0)? {
                scope.organisations.push(organisation);
            }
            if let Some(store) = row.get::<_, Option<i64>>(1)? {
                scope.stores.push(store);
            }
        }
        Ok(scope)
    }

    fn create_session(
        &mut self,
        tenant: i64,
        token_hash: &str,
        user: i64,
        csrf_token: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT INTO session (tenant_id, token_hash, user_id, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![tenant, token_hash, user, csrf_token, at, expires_at],
        )?;
        Ok(())
    }

    fn session(&mut self, tenant: i64, token_hash: &str) -> Result<Option<Session>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT tenant_id, user_id, csrf_token, expires_at FROM session WHERE tenant_id = ?1 AND token_hash = ?2",
                params![tenant, token_hash],
                |row| {
                    Ok(Session {
                        tenant_id: row.get(0)?,
                        user_id: row.get(1)?,
                        csrf_token: row.get(2)?,
                        expires_at: row.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn delete_session(&mut self, tenant: i64, token_hash: &str) -> Result<(), StoreError> {
        self.connection
            .execute("DELETE FROM session WHERE tenant_id = ?1 AND token_hash = ?2", params![tenant, token_hash])?;
        Ok(())
    }

    fn create_api_token(
        &mut self,
        tenant: i64,
        user: i64,
        name: &str,
        secret_hash: &str,
        at: i64,
    ) -> Result<i64, StoreError> {
        self.insert_with_id(
            "api_token",
            tenant,
            "INSERT INTO api_token (tenant_id, id, user_id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[&user, &name, &secret_hash, &at],
        )
    }

    fn api_token(&mut self, tenant: i64, id: i64) -> Result<Option<ApiToken>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT tenant_id, id, user_id, name, secret_hash, created_at, revoked_at IS NOT NULL
                 FROM api_token WHERE tenant_id = ?1 AND id = ?2",
                [tenant, id],
                token_row,
            )
            .optional()?)
    }

    fn api_tokens(&mut self, tenant: i64, user: i64) -> Result<Vec<ApiToken>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT tenant_id, id, user_id, name, secret_hash, created_at, revoked_at IS NOT NULL
             FROM api_token WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY id",
        )?;
        let rows = statement.query_map([tenant, user], token_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_api_token(&mut self, tenant: i64, id: i64, at: i64) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE api_token SET revoked_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            [tenant, id, at],
        )?;
        Ok(changed == 1)
    }

    fn record_login_attempt(
        &mut self,
        tenant: i64,
        email: &str,
        address: &str,
        at: i64,
        succeeded: bool,
    ) -> Result<(), StoreError> {
        self.insert_with_id(
            "login_attempt",
            tenant,
            "INSERT INTO login_attempt (tenant_id, id, email, address, at, succeeded) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[&email, &address, &at, &succeeded],
        )?;
        Ok(())
    }

    fn failed_logins_since(
        &mut self,
        tenant: i64,
        email: &str,
        address: &str,
        since: i64,
    ) -> Result<(i64, i64), StoreError> {
        let by_email: i64 = self.connection.query_row(
            "SELECT COUNT(*) FROM login_attempt WHERE tenant_id = ?1 AND email = ?2 AND at >= ?3 AND NOT succeeded",
            params![tenant, email, since],
            |row| row.get(0),
        )?;
        let by_address: i64 = self.connection.query_row(
            "SELECT COUNT(*) FROM login_attempt WHERE address = ?1 AND at >= ?2 AND NOT succeeded",
            params![address, since],
            |row| row.get(0),
        )?;
        Ok((by_email, by_address))
    }

    fn create_upload(
        &mut self,
        tenant: i64,
        name: &str,
        sha256: &str,
        store: Option<&str>,
        content: &[u8],
        user: i64,
        at: i64,
    ) -> Result<Upload, StoreError> {
        let size = content.len() as i64;
        let id = self.insert_with_id(
            "upload",
            tenant,
            "INSERT INTO upload (tenant_id, id, name, sha256, size_bytes, store, content, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[&name, &sha256, &size, &store, &content, &user, &at],
        )?;
        Ok(Upload {
            tenant_id: tenant,
            id,
            name: name.to_owned(),
            sha256: sha256.to_owned(),
            size_bytes: size,
            store: store.map(str::to_owned),
            created_by: user,
            created_at: at,
        })
    }

    fn upload(&mut self, tenant: i64, id: i64) -> Result<Option<Upload>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM upload WHERE tenant_id = ?1 AND id = ?2");
        Ok(self.connection.query_row(&sql, [tenant, id], upload_row).optional()?)
    }

    fn upload_content(&mut self, tenant: i64, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .connection
            .query_row("SELECT content FROM upload WHERE tenant_id = ?1 AND id = ?2", [tenant, id], |row| row.get(0))
            .optional()?)
    }

    fn uploads(&mut self, tenant: i64) -> Result<Vec<Upload>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM upload WHERE tenant_id = ?1 ORDER BY id DESC");
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map([tenant], upload_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn tenant_setting(&mut self, tenant: i64, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT value FROM tenant_setting WHERE tenant_id = ?1 AND key = ?2",
                params![tenant, key],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn set_tenant_setting(
        &mut self,
        tenant: i64,
        key: &str,
        value: &str,
        user: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT INTO tenant_setting (tenant_id, key, value, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,
                 updated_at = excluded.updated_at",
            params![tenant, key, value, user, at],
        )?;
        Ok(())
    }

    fn enqueue_job(&mut self, tenant: i64, kind: &str, payload: &str, user: i64, at: i64) -> Result<Job, StoreError> {
        let id = self.insert_with_id(
            "job",
            tenant,
            "INSERT INTO job (tenant_id, id, kind, payload, state, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)",
            &[&kind, &payload, &user, &at],
        )?;
        self.job(tenant, id)?.ok_or_else(|| StoreError::Corrupt(format!("job {id} vanished")))
    }

    fn claim_job(&mut self, owner: &str, now: i64, lease_until: i64) -> Result<Option<Job>, StoreError> {
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute(
            "UPDATE job SET state = 'failed', finished_at = ?1, lease_owner = NULL,
                    error = 'interrupted ' || attempts || ' times (the server stopped while running it); not retried'
             WHERE state = 'running' AND lease_until < ?1 AND attempts >= ?2",
            params![now, JOB_ATTEMPTS_MAX],
        )?;
        let next: Option<(i64, i64)> = transaction
            .query_row(
                "SELECT tenant_id, id FROM job WHERE state = 'queued' OR (state = 'running' AND lease_until < ?1)
                 ORDER BY created_at, tenant_id, id LIMIT 1",
                [now],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((tenant, id)) = next else {
            transaction.commit()?;
            return Ok(None);
        };
        transaction.execute(
            "UPDATE job SET state = 'running', attempts = attempts + 1, lease_owner = ?3, lease_until = ?4,
                    started_at = COALESCE(started_at, ?5)
             WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, id, owner, lease_until, now],
        )?;
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE tenant_id = ?1 AND id = ?2");
        let job = transaction.query_row(&sql, [tenant, id], job_row)?;
        transaction.commit()?;
        Ok(Some(job))
    }

    fn job_progress(
        &mut self,
        tenant: i64,
        id: i64,
        owner: &str,
        done: i64,
        total: i64,
        message: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE job SET progress_done = ?4, progress_total = ?5, message = ?6, lease_until = ?7
             WHERE tenant_id = ?1 AND id = ?2 AND lease_owner = ?3 AND state = 'running'",
            params![tenant, id, owner, done, total, message, lease_until],
        )?;
        Ok(changed == 1)
    }

    fn finish_job(
        &mut self,
        tenant: i64,
        id: i64,
        owner: &str,
        succeeded: bool,
        result: Option<&str>,
        error: Option<&str>,
        at: i64,
    ) -> Result<bool, StoreError> {
        let state = if succeeded { "succeeded" } else { "failed" };
        let changed = self.connection.execute(
            "UPDATE job SET state = ?4, result = ?5, error = ?6, finished_at = ?7, lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = ?1 AND id = ?2 AND lease_owner = ?3 AND state = 'running'",
            params![tenant, id, owner, state, result, error, at],
        )?;
        Ok(changed == 1)
    }

    fn job(&mut self, tenant: i64, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE tenant_id = ?1 AND id = ?2");
        Ok(self.connection.query_row(&sql, [tenant, id], job_row).optional()?)
    }

    fn jobs(&mut self, tenant: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2");
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map([tenant, limit], job_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn enqueue_deliveries(
        &mut self,
        tenant: i64,
        deliveries: &[NewDelivery],
        at: i64,
    ) -> Result<Vec<AlertDelivery>, StoreError> {
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut queued = Vec::new();
        for delivery in deliveries {
            let id = next_id(&transaction, "alert_delivery", tenant)?;
            let inserted = transaction.execute(
                "INSERT INTO alert_delivery
                     (tenant_id, id, dedup_key, kind, channel, target, payload, state, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)
                 ON CONFLICT (tenant_id, dedup_key) DO NOTHING",
                params![
                    tenant,
                    id,
                    delivery.dedup_key,
                    delivery.kind,
                    delivery.channel,
                    delivery.target,
                    delivery.payload,
                    at
                ],
            )?;
            if inserted == 1 {
                let sql = format!("SELECT {DELIVERY_COLUMNS} FROM alert_delivery WHERE tenant_id = ?1 AND id = ?2");
                queued.push(transaction.query_row(&sql, [tenant, id], delivery_row)?);
            }
        }
        transaction.commit()?;
        Ok(queued)
    }

    fn claim_delivery(&mut self, owner: &str, now: i64, lease_until: i64) -> Result<Option<AlertDelivery>, StoreError> {
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute(
            "UPDATE alert_delivery SET state = 'failed', lease_owner = NULL, lease_until = NULL,
                    last_error = 'interrupted on attempt ' || attempts || ' (the server stopped while delivering); not retried'
             WHERE state = 'pending' AND lease_until < ?1 AND attempts >= ?2",
            params![now, DELIVERY_ATTEMPTS_MAX],
        )?;
        let next: Option<(i64, i64)> = transaction
            .query_row(
                "SELECT tenant_id, id FROM alert_delivery
                 WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until < ?1)
                 ORDER BY next_attempt_at, tenant_id, id LIMIT 1",
                [now],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((tenant, id)) = next else {
            transaction.commit()?;
            return Ok(None);
        };
        transaction.execute(
            "UPDATE alert_delivery SET attempts = attempts + 1, lease_owner = ?3, lease_until = ?4
             WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, id, owner, lease_until],
        )?;
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM alert_delivery WHERE tenant_id = ?1 AND id = ?2");
        let delivery = transaction.query_row(&sql, [tenant, id], delivery_row)?;
        transaction.commit()?;
        Ok(Some(delivery))
    }

    fn finish_delivery_attempt(
        &mut self,
        tenant: i64,
        id: i64,
        owner: &str,
        outcome: AttemptOutcome<'_>,
        at: i64,
    ) -> Result<bool, StoreError> {
        const HELD: &str = "WHERE tenant_id = ?1 AND id = ?2 AND lease_owner = ?3 AND state = 'pending'";
        let changed = match outcome {
            AttemptOutcome::Delivered => self.connection.execute(
                &format!(
                    "UPDATE alert_delivery SET state = 'delivered', delivered_at = ?4, last_error = NULL,
                            lease_owner = NULL, lease_until = NULL {HELD}"
                ),
                params![tenant, id, owner, at],
            )?,
            AttemptOutcome::Retry { error, next_attempt_at } => self.connection.execute(
                &format!(
                    "UPDATE alert_delivery SET state = CASE WHEN attempts >= ?6 THEN 'failed' ELSE 'pending' END,
                            last_error = ?4, next_attempt_at = ?5, lease_owner = NULL, lease_until = NULL {HELD}"
                ),
                params![tenant, id, owner, error, next_attempt_at, DELIVERY_ATTEMPTS_MAX],
            )?,
            AttemptOutcome::Failed { error } => self.connection.execute(
                &format!(
                    "UPDATE alert_delivery SET state = 'failed', last_error = ?4, lease_owner = NULL, lease_until = NULL
                     {HELD}"
                ),
                params![tenant, id, owner, error],
            )?,
        };
        Ok(changed == 1)
    }

    fn delivery(&mut self, tenant: i64, id: i64) -> Result<Option<AlertDelivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM alert_delivery WHERE tenant_id = ?1 AND id = ?2");
        Ok(self.connection.query_row(&sql, [tenant, id], delivery_row).optional()?)
    }

    fn deliveries(&mut self, tenant: i64, limit: i64) -> Result<Vec<AlertDelivery>, StoreError> {
        let sql =
            format!("SELECT {DELIVERY_COLUMNS} FROM alert_delivery WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2");
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map([tenant, limit], delivery_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn append_audit(
        &mut self,
        tenant: i64,
        entry: &NewAuditEntry,
        hash_of: AuditHasher<'_>,
    ) -> Result<AuditEntry, StoreError> {
        // IMMEDIATE: the write lock is taken before the last entry is read, so two appends
        // (from any process) take turns and never number or chain from the same entry.
        let transaction = self.connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = transaction
            .query_row(
                "SELECT seq, hash FROM audit_entry WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT 1",
                [tenant],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let (seq, prev_hash) = match last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, AUDIT_GENESIS_HASH.to_owned()),
        };
        let hash = hash_of(&prev_hash, entry, seq);
        transaction.execute(
            "INSERT INTO audit_entry (tenant_id, seq, at, actor_user, actor_name, action, object_kind, object_id,
                                      before, after, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                tenant,
                seq,
                entry.at,
                entry.actor_user,
                entry.actor_name,
                entry.action,
                entry.object_kind,
                entry.object_id,
                entry.before,
                entry.after,
                prev_hash,
                hash
            ],
        )?;
        transaction.commit()?;
        Ok(AuditEntry {
            tenant_id: tenant,
            seq,
            at: entry.at,
            actor_user: entry.actor_user,
            actor_name: entry.actor_name.clone(),
            action: entry.action.clone(),
            object_kind: entry.object_kind.clone(),
            object_id: entry.object_id.clone(),
            before: entry.before.clone(),
            after: entry.after.clone(),
            prev_hash,
            hash,
        })
    }

    fn audit_entries(&mut self, tenant: i64, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let sql =
            format!("SELECT {AUDIT_COLUMNS} FROM audit_entry WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map([tenant, after_seq, limit], audit_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn token_row(row: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        tenant_id: row.get(0)?,
        id: row.get(1)?,
        user_id: row.get(2)?,
        name: row.get(3)?,
        secret_hash: row.get(4)?,
        created_at: row.get(5)?,
        revoked: row.get(6)?,
    })
}
