//! The control plane on PostgreSQL ([`PgControl`]): the team server's tenants, users,
//! sessions, tokens, uploads and job queue, with the meaning of [`super::SqliteControl`]
//! for every method of [`ControlStore`].
//!
//! # Schema
//! `migrations/control/postgres.sql`, applied by [`PgControl::migrate`] in one transaction
//! under a transaction-scoped advisory lock (per schema), so server processes starting at
//! once do not race; the version is recorded in `control_schema_version` (beside the
//! tenant data's `schema_version` when both live in one schema). Every table but `tenant`
//! leads its keys with `tenant_id`, and with [`PgSchemaOptions::hash_partitions`] is
//! hash-partitioned by it, as the tenant data's tables are; `tenant` is the one table all
//! tenants share (a reference table under Citus).
//!
//! # The job queue
//! Several server processes claim from one table. [`ControlStore::claim_job`] locks the
//! rows it changes with `FOR UPDATE SKIP LOCKED`, both the jobs it fails (out of tries)
//! and the job it takes: a claimer never waits for another and two never take the same
//! job (a row another transaction holds is skipped; a row changed since the statement
//! began is checked again against the claim's conditions before it is locked). The rules
//! are SQLite's: fail what ran out of tries, then take the oldest job that is queued or
//! whose lease expired.
//!
//! Alert deliveries ([`ControlStore::claim_delivery`]) are a second queue, claimed the
//! same way: deliveries out of attempts whose lease ran out are failed, then the one due
//! first is locked `FOR UPDATE SKIP LOCKED` and taken; a claimer never waits and no two
//! send the same delivery at once.
//!
//! # Where it differs from SQLite
//! * Ids come from sequences shared by all tenants: a tenant's ids grow in insertion
//!   order, with gaps, where SQLite numbers each tenant's rows 1, 2, …
//! * A claim skips jobs another transaction holds at that moment where SQLite, with one
//!   writer, would wait for it. A job out of tries that is held is neither failed nor
//!   taken by that claim; the next claim fails it.
//! * Disabling a user and deleting the user's sessions is one transaction (two
//!   statements on SQLite).
//! * Failed sign-ins by address are counted across tenants, as on SQLite, but the index
//!   leads with `tenant_id` (as every key here does), so that count reads the index of
//!   every tenant rather than one range of it.
//! * Text cannot hold U+0000 in PostgreSQL: such a name or e-mail is a database error.
//!
//! # The audit log
//! An entry's seq is not taken from a sequence (that would leave gaps): each append holds
//! a transaction-scoped advisory lock on (schema, tenant) while it reads the last entry
//! and inserts the next, so appends from any number of connections take turns per tenant
//! and never wait for another tenant's.

use postgres::{Client, NoTls, Row, Transaction};

use super::JOB_ATTEMPTS_MAX;
use super::{AlertDelivery, AttemptOutcome, NewDelivery, DELIVERY_ATTEMPTS_MAX};
use super::{
    ApiToken, AuditEntry, AuditHasher, ControlStore, Job, NewAuditEntry, Organisation, Scope, Session, StoreEntry,
    Tenant, Upload, User, AUDIT_GENESIS_HASH,
};
use crate::postgres::{render_migration, PgSchemaOptions};
use crate::StoreError;

/// The control plane's PostgreSQL migrations, in order.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/control/postgres.sql"))];

/// First key of the migration's advisory lock (the second is the schema's hash); not the
/// tenant data's key, so the two migrations do not wait for each other.
const MIGRATION_LOCK: i32 = 0x7469_6f63;

const USER_COLUMNS: &str = "tenant_id, id, email, display_name, role, password_hash, disabled";
const TOKEN_COLUMNS: &str = "tenant_id, id, user_id, name, secret_hash, created_at, revoked_at IS NOT NULL";
const UPLOAD_COLUMNS: &str = "tenant_id, id, name, sha256, size_bytes, store, created_by, created_at";
const JOB_COLUMNS: &str = "tenant_id, id, kind, payload, state, attempts, progress_done, progress_total, message, \
                           result, error, created_by, created_at, started_at, finished_at";
const AUDIT_COLUMNS: &str =
    "tenant_id, seq, at, actor_user, actor_name, action, object_kind, object_id, before, after, prev_hash, hash";

/// The control plane in a PostgreSQL database (the schema first in the connection's
/// `search_path`).
pub struct PgControl {
    client: Client,
}

impl PgControl {
    /// Brings the control plane's schema (the first schema of the connection's
    /// `search_path`) up to date. Runs in one transaction under an advisory lock: processes
    /// migrating at once wait for each other, and the second finds the work done.
    pub fn migrate(client: &mut Client, options: &PgSchemaOptions) -> Result<(), StoreError> {
        let mut transaction = client.transaction()?;
        transaction.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(COALESCE(current_schema(), '')))",
            &[&MIGRATION_LOCK],
        )?;
        transaction.batch_execute(
            "CREATE TABLE IF NOT EXISTS control_schema_version (
                version         BIGINT PRIMARY KEY,
                applied_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
                hash_partitions BIGINT
            )",
        )?;
        let current: i64 =
            transaction.query_one("SELECT COALESCE(MAX(version), 0) FROM control_schema_version", &[])?.try_get(0)?;
        let supported = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > supported {
            return Err(StoreError::SchemaTooNew { found: current, supported });
        }
        let partitions = options.hash_partitions.map(i64::from);
        for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
            transaction.batch_execute(&render_migration(sql, options.hash_partitions)?)?;
            transaction.execute(
                "INSERT INTO control_schema_version (version, hash_partitions) VALUES ($1, $2)",
                &[version, &partitions],
            )?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Connects to `config` (a `postgres://` URL or key=value string; a schema can be
    /// chosen with `options=-csearch_path%3Dname`) and brings the schema up to date.
    pub fn connect(config: &str, options: &PgSchemaOptions) -> Result<PgControl, StoreError> {
        let mut client = Client::connect(config, NoTls)?;
        PgControl::migrate(&mut client, options)?;
        Ok(PgControl::from_client(client))
    }

    /// The control plane on a connection whose schema is already migrated.
    pub fn from_client(client: Client) -> PgControl {
        PgControl { client }
    }

    pub fn into_client(self) -> Client {
        self.client
    }
}

fn tenant_row(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant { id: row.try_get(0)?, slug: row.try_get(1)?, name: row.try_get(2)? })
}

fn user_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        tenant_id: row.try_get(0)?,
        id: row.try_get(1)?,
        email: row.try_get(2)?,
        display_name: row.try_get(3)?,
        role: row.try_get(4)?,
        password_hash: row.try_get(5)?,
        disabled: row.try_get(6)?,
    })
}

fn token_row(row: &Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        tenant_id: row.try_get(0)?,
        id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        name: row.try_get(3)?,
        secret_hash: row.try_get(4)?,
        created_at: row.try_get(5)?,
        revoked: row.try_get(6)?,
    })
}

fn upload_row(row: &Row) -> Result<Upload, StoreError> {
    Ok(Upload {
        tenant_id: row.try_get(0)?,
        id: row.try_get(1)?,
        name: row.try_get(2)?,
        sha256: row.try_get(3)?,
        size_bytes: row.try_get(4)?,
        store: row.try_get(5)?,
        created_by: row.try_get(6)?,
        created_at: row.try_get(7)?,
    })
}

fn job_row(row: &Row) -> Result<Job, StoreError> {
    Ok(Job {
        tenant_id: row.try_get(0)?,
        id: row.try_get(1)?,
        kind: row.try_get(2)?,
        payload: row.try_get(3)?,
        state: row.try_get(4)?,
        attempts: row.try_get(5)?,
        progress_done: row.try_get(6)?,
        progress_total: row.try_get(7)?,
        message: row.try_get(8)?,
        result: row.try_get(9)?,
        error: row.try_get(10)?,
        created_by: row.try_get(11)?,
        created_at: row.try_get(12)?,
        started_at: row.try_get(13)?,
        finished_at: row.try_get(14)?,
    })
}

fn audit_row(row: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        tenant_id: row.try_get(0)?,
        seq: row.try_get(1)?,
        at: row.try_get(2)?,
        actor_user: row.try_get(3)?,
        actor_name: row.try_get(4)?,
        action: row.try_get(5)?,
        object_kind: row.try_get(6)?,
        object_id: row.try_get(7)?,
        before: row.try_get(8)?,
        after: row.try_get(9)?,
        prev_hash: row.try_get(10)?,
        hash: row.try_get(11)?,
    })
}

const DELIVERY_COLUMNS: &str = "tenant_id, id, kind, channel, target, payload, state, attempts, next_attempt_at, \
                                last_error, created_at, delivered_at";

fn delivery_row(row: &Row) -> Result<AlertDelivery, StoreError> {
    Ok(AlertDelivery {
        tenant_id: row.try_get(0)?,
        id: row.try_get(1)?,
        kind: row.try_get(2)?,
        channel: row.try_get(3)?,
        target: row.try_get(4)?,
        payload: row.try_get(5)?,
        state: row.try_get(6)?,
        attempts: row.try_get(7)?,
        next_attempt_at: row.try_get(8)?,
        last_error: row.try_get(9)?,
        created_at: row.try_get(10)?,
        delivered_at: row.try_get(11)?,
    })
}

fn rows<T>(rows: Vec<Row>, each: fn(&Row) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(each).collect()
}

/// A job's lease ran out and it has had its tries: failed, as SQLite fails it. Jobs
/// another claimer holds are skipped (it fails or takes them itself).
fn fail_interrupted_jobs(transaction: &mut Transaction<'_>, now: i64) -> Result<(), StoreError> {
    transaction.execute(
        "UPDATE job SET state = 'failed', finished_at = $1, lease_owner = NULL,
                error = 'interrupted ' || attempts || ' times (the server stopped while running it); not retried'
         WHERE (tenant_id, id) IN (
             SELECT tenant_id, id FROM job
             WHERE state = 'running' AND lease_until < $1 AND attempts >= $2
             FOR UPDATE SKIP LOCKED)",
        &[&now, &JOB_ATTEMPTS_MAX],
    )?;
    Ok(())
}

impl ControlStore for PgControl {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn create_tenant(&mut self, slug: &str, name: &str, at: i64) -> Result<Tenant, StoreError> {
        let row = self.client.query_one(
            "INSERT INTO tenant (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id",
            &[&slug, &name, &at],
        )?;
        Ok(Tenant { id: row.try_get(0)?, slug: slug.to_owned(), name: name.to_owned() })
    }

    fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let row = self.client.query_opt("SELECT id, slug, name FROM tenant WHERE slug = $1", &[&slug])?;
        row.as_ref().map(tenant_row).transpose()
    }

    fn tenant(&mut self, id: i64) -> Result<Option<Tenant>, StoreError> {
        let row = self.client.query_opt("SELECT id, slug, name FROM tenant WHERE id = $1", &[&id])?;
        row.as_ref().map(tenant_row).transpose()
    }

    fn tenants(&mut self) -> Result<Vec<Tenant>, StoreError> {
        rows(self.client.query("SELECT id, slug, name FROM tenant ORDER BY id", &[])?, tenant_row)
    }

    fn create_organisation(
        &mut self,
        tenant: i64,
        name: &str,
        parent_id: Option<i64>,
    ) -> Result<Organisation, StoreError> {
        let row = self.client.query_one(
            "INSERT INTO organisation (tenant_id, name, parent_id) VALUES ($1, $2, $3) RETURNING id",
            &[&tenant, &name, &parent_id],
        )?;
        Ok(Organisation { id: row.try_get(0)?, name: name.to_owned(), parent_id })
    }

    fn organisations(&mut self, tenant: i64) -> Result<Vec<Organisation>, StoreError> {
        let found = self
            .client
            .query("SELECT id, name, parent_id FROM organisation WHERE tenant_id = $1 ORDER BY id", &[&tenant])?;
        rows(found, |row| Ok(Organisation { id: row.try_get(0)?, name: row.try_get(1)?, parent_id: row.try_get(2)? }))
    }

    fn create_store(&mut self, tenant: i64, organisation_id: i64, name: &str) -> Result<StoreEntry, StoreError> {
        let row = self.client.query_one(
            "INSERT INTO store (tenant_id, organisation_id, name) VALUES ($1, $2, $3) RETURNING id",
            &[&tenant, &organisation_id, &name],
        )?;
        Ok(StoreEntry { id: row.try_get(0)?, organisation_id, name: name.to_owned() })
    }

    fn stores(&mut self, tenant: i64) -> Result<Vec<StoreEntry>, StoreError> {
        let found = self
            .client
            .query("SELECT id, organisation_id, name FROM store WHERE tenant_id = $1 ORDER BY id", &[&tenant])?;
        rows(found, |row| {
            Ok(StoreEntry { id: row.try_get(0)?, organisation_id: row.try_get(1)?, name: row.try_get(2)? })
        })
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
        let row = self.client.query_one(
            "INSERT INTO app_user (tenant_id, email, display_name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[&tenant, &email, &display_name, &role, &password_hash, &at],
        )?;
        Ok(User {
            tenant_id: tenant,
            id: row.try_get(0)?,
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            role: role.to_owned(),
            password_hash: password_hash.to_owned(),
            disabled: false,
        })
    }

    fn user(&mut self, tenant: i64, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE tenant_id = $1 AND id = $2");
        self.client.query_opt(&sql, &[&tenant, &id])?.as_ref().map(user_row).transpose()
    }

    fn user_by_email(&mut self, tenant: i64, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE tenant_id = $1 AND email = $2");
        self.client.query_opt(&sql, &[&tenant, &email])?.as_ref().map(user_row).transpose()
    }

    fn users(&mut self, tenant: i64) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE tenant_id = $1 ORDER BY id");
        rows(self.client.query(&sql, &[&tenant])?, user_row)
    }

    fn set_user_role(&mut self, tenant: i64, user: i64, role: &str) -> Result<bool, StoreError> {
        let changed = self
            .client
            .execute("UPDATE app_user SET role = $3 WHERE tenant_id = $1 AND id = $2", &[&tenant, &user, &role])?;
        Ok(changed == 1)
    }

    fn set_user_disabled(&mut self, tenant: i64, user: i64, disabled: bool) -> Result<bool, StoreError> {
        // One transaction: no request sees the user disabled with a session still valid.
        let mut transaction = self.client.transaction()?;
        let changed = transaction.execute(
            "UPDATE app_user SET disabled = $3 WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &user, &disabled],
        )?;
        if disabled {
            transaction.execute("DELETE FROM session WHERE tenant_id = $1 AND user_id = $2", &[&tenant, &user])?;
        }
        transaction.commit()?;
        Ok(changed == 1)
    }

    fn set_user_scope(&mut self, tenant: i64, user: i64, scope: &Scope) -> Result<(), StoreError> {
        let mut transaction = self.client.transaction()?;
        // Two changes of one user's scope at once take turns (SQLite has one writer), so
        // the later replaces the earlier rather than the two mixing or colliding.
        transaction
            .execute("SELECT 1 FROM app_user WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE", &[&tenant, &user])?;
        transaction.execute("DELETE FROM user_scope WHERE tenant_id = $1 AND user_id = $2", &[&tenant, &user])?;
        let insert = transaction.prepare(
            "INSERT INTO user_scope (tenant_id, user_id, position, organisation_id, store_id)
             VALUES ($1, $2, $3, $4, $5)",
        )?;
        let entries = scope
            .organisations
            .iter()
            .map(|organisation| (Some(*organisation), None))
            .chain(scope.stores.iter().map(|store| (None, Some(*store))));
        for (position, (organisation, store)) in (0_i64..).zip(entries) {
            transaction.execute(&insert, &[&tenant, &user, &position, &organisation, &store])?;
        }
        transaction.commit()?;
        Ok(())
    }

    fn user_scope(&mut self, tenant: i64, user: i64) -> Result<Scope, StoreError> {
        let found = self.client.query(
            "SELECT organisation_id, store_id FROM user_scope WHERE tenant_id = $1 AND user_id = $2 ORDER BY position",
            &[&tenant, &user],
        )?;
        let mut scope = Scope::default();
        for row in &found {
            if let Some(organisation) = row.try_get::<_, Option<i64>>(0)? {
                scope.organisations.push(organisation);
            }
            if let Some(store) = row.try_get::<_, Option<i64>>(1)? {
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
        self.client.execute(
            "INSERT INTO session (tenant_id, token_hash, user_id, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&tenant, &token_hash, &user, &csrf_token, &at, &expires_at],
        )?;
        Ok(())
    }

    fn session(&mut self, tenant: i64, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = self.client.query_opt(
            "SELECT tenant_id, user_id, csrf_token, expires_at FROM session WHERE tenant_id = $1 AND token_hash = $2",
            &[&tenant, &token_hash],
        )?;
        row.map(|row| {
            Ok(Session {
                tenant_id: row.try_get(0)?,
                user_id: row.try_get(1)?,
                csrf_token: row.try_get(2)?,
                expires_at: row.try_get(3)?,
            })
        })
        .transpose()
    }

    fn delete_session(&mut self, tenant: i64, token_hash: &str) -> Result<(), StoreError> {
        self.client.execute("DELETE FROM session WHERE tenant_id = $1 AND token_hash = $2", &[&tenant, &token_hash])?;
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
        let row = self.client.query_one(
            "INSERT INTO api_token (tenant_id, user_id, name, secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&tenant, &user, &name, &secret_hash, &at],
        )?;
        Ok(row.try_get(0)?)
    }

    fn api_token(&mut self, tenant: i64, id: i64) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token WHERE tenant_id = $1 AND id = $2");
        self.client.query_opt(&sql, &[&tenant, &id])?.as_ref().map(token_row).transpose()
    }

    fn api_tokens(&mut self, tenant: i64, user: i64) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token WHERE tenant_id = $1 AND user_id = $2 ORDER BY id");
        rows(self.client.query(&sql, &[&tenant, &user])?, token_row)
    }

    fn revoke_api_token(&mut self, tenant: i64, id: i64, at: i64) -> Result<bool, StoreError> {
        let changed = self.client.execute(
            "UPDATE api_token SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
            &[&tenant, &id, &at],
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
        self.client.execute(
            "INSERT INTO login_attempt (tenant_id, email, address, at, succeeded) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant, &email, &address, &at, &succeeded],
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
        // By address across every tenant (and tenant 0), as SQLite counts it.
        let row = self.client.query_one(
            "SELECT
                (SELECT COUNT(*) FROM login_attempt
                 WHERE tenant_id = $1 AND email = $2 AND at >= $4 AND NOT succeeded),
                (SELECT COUNT(*) FROM login_attempt WHERE address = $3 AND at >= $4 AND NOT succeeded)",
            &[&tenant, &email, &address, &since],
        )?;
        Ok((row.try_get(0)?, row.try_get(1)?))
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
        let size = i64::try_from(content.len())
            .map_err(|_| StoreError::Corrupt(format!("an upload of {} bytes", content.len())))?;
        let row = self.client.query_one(
            "INSERT INTO upload (tenant_id, name, sha256, size_bytes, store, content, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[&tenant, &name, &sha256, &size, &store, &content, &user, &at],
        )?;
        Ok(Upload {
            tenant_id: tenant,
            id: row.try_get(0)?,
            name: name.to_owned(),
            sha256: sha256.to_owned(),
            size_bytes: size,
            store: store.map(str::to_owned),
            created_by: user,
            created_at: at,
        })
    }

    fn upload(&mut self, tenant: i64, id: i64) -> Result<Option<Upload>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM upload WHERE tenant_id = $1 AND id = $2");
        self.client.query_opt(&sql, &[&tenant, &id])?.as_ref().map(upload_row).transpose()
    }

    fn upload_content(&mut self, tenant: i64, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row =
            self.client.query_opt("SELECT content FROM upload WHERE tenant_id = $1 AND id = $2", &[&tenant, &id])?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn uploads(&mut self, tenant: i64) -> Result<Vec<Upload>, StoreError> {
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM upload WHERE tenant_id = $1 ORDER BY id DESC");
        rows(self.client.query(&sql, &[&tenant])?, upload_row)
    }

    fn tenant_setting(&mut self, tenant: i64, key: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .client
            .query_opt("SELECT value FROM tenant_setting WHERE tenant_id = $1 AND key = $2", &[&tenant, &key])?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    fn set_tenant_setting(
        &mut self,
        tenant: i64,
        key: &str,
        value: &str,
        user: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        self.client.execute(
            "INSERT INTO tenant_setting (tenant_id, key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,
                 updated_at = excluded.updated_at",
            &[&tenant, &key, &value, &user, &at],
        )?;
        Ok(())
    }

    fn enqueue_job(&mut self, tenant: i64, kind: &str, payload: &str, user: i64, at: i64) -> Result<Job, StoreError> {
        let sql = format!(
            "INSERT INTO job (tenant_id, kind, payload, state, created_by, created_at)
             VALUES ($1, $2, $3, 'queued', $4, $5) RETURNING {JOB_COLUMNS}"
        );
        job_row(&self.client.query_one(&sql, &[&tenant, &kind, &payload, &user, &at])?)
    }

    fn claim_job(&mut self, owner: &str, now: i64, lease_until: i64) -> Result<Option<Job>, StoreError> {
        let mut transaction = self.client.transaction()?;
        fail_interrupted_jobs(&mut transaction, now)?;
        // `attempts < max` for a running job: one out of tries that another claimer held
        // while this one failed the others is left for the next claim to fail, never run.
        let next = transaction.query_opt(
            "SELECT tenant_id, id FROM job
             WHERE state = 'queued' OR (state = 'running' AND lease_until < $1 AND attempts < $2)
             ORDER BY created_at, tenant_id, id LIMIT 1
             FOR UPDATE SKIP LOCKED",
            &[&now, &JOB_ATTEMPTS_MAX],
        )?;
        let Some(next) = next else {
            transaction.commit()?;
            return Ok(None);
        };
        let (tenant, id): (i64, i64) = (next.try_get(0)?, next.try_get(1)?);
        let sql = format!(
            "UPDATE job SET state = 'running', attempts = attempts + 1, lease_owner = $3, lease_until = $4,
                    started_at = COALESCE(started_at, $5)
             WHERE tenant_id = $1 AND id = $2 RETURNING {JOB_COLUMNS}"
        );
        let job = job_row(&transaction.query_one(&sql, &[&tenant, &id, &owner, &lease_until, &now])?)?;
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
        let changed = self.client.execute(
            "UPDATE job SET progress_done = $4, progress_total = $5, message = $6, lease_until = $7
             WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'",
            &[&tenant, &id, &owner, &done, &total, &message, &lease_until],
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
        let changed = self.client.execute(
            "UPDATE job SET state = $4, result = $5, error = $6, finished_at = $7, lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'",
            &[&tenant, &id, &owner, &state, &result, &error, &at],
        )?;
        Ok(changed == 1)
    }

    fn job(&mut self, tenant: i64, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE tenant_id = $1 AND id = $2");
        self.client.query_opt(&sql, &[&tenant, &id])?.as_ref().map(job_row).transpose()
    }

    fn jobs(&mut self, tenant: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        // A negative limit is no limit, as in SQLite (`LIMIT NULL` in PostgreSQL).
        let limit = (limit >= 0).then_some(limit);
        let sql = format!("SELECT {JOB_COLUMNS} FROM job WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2");
        rows(self.client.query(&sql, &[&tenant, &limit])?, job_row)
    }

    fn enqueue_deliveries(
        &mut self,
        tenant: i64,
        deliveries: &[NewDelivery],
        at: i64,
    ) -> Result<Vec<AlertDelivery>, StoreError> {
        let mut transaction = self.client.transaction()?;
        let insert = transaction.prepare(&format!(
            "INSERT INTO alert_delivery
                 (tenant_id, dedup_key, kind, channel, target, payload, state, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)
             ON CONFLICT (tenant_id, dedup_key) DO NOTHING
             RETURNING {DELIVERY_COLUMNS}"
        ))?;
        let mut queued = Vec::new();
        for delivery in deliveries {
            let row = transaction.query_opt(
                &insert,
                &[
                    &tenant,
                    &delivery.dedup_key,
                    &delivery.kind,
                    &delivery.channel,
                    &delivery.target,
                    &delivery.payload,
                    &at,
                ],
            )?;
            if let Some(row) = row {
                queued.push(delivery_row(&row)?);
            }
        }
        transaction.commit()?;
        Ok(queued)
    }

    fn claim_delivery(&mut self, owner: &str, now: i64, lease_until: i64) -> Result<Option<AlertDelivery>, StoreError> {
        let mut transaction = self.client.transaction()?;
        // Out of attempts after a crash: failed (those another claimer holds are skipped;
        // the next claim fails them), as jobs are.
        transaction.execute(
            "UPDATE alert_delivery SET state = 'failed', lease_owner = NULL, lease_until = NULL,
                    last_error = 'interrupted on attempt ' || attempts || ' (the server stopped while delivering); not retried'
             WHERE (tenant_id, id) IN (
                 SELECT tenant_id, id FROM alert_delivery
                 WHERE state = 'pending' AND lease_until < $1 AND attempts >= $2
                 FOR UPDATE SKIP LOCKED)",
            &[&now, &DELIVERY_ATTEMPTS_MAX],
        )?;
        let next = transaction.query_opt(
            "SELECT tenant_id, id FROM alert_delivery
             WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
               AND attempts < $2
             ORDER BY next_attempt_at, tenant_id, id LIMIT 1
             FOR UPDATE SKIP LOCKED",
            &[&now, &DELIVERY_ATTEMPTS_MAX],
        )?;
        let Some(next) = next else {
            transaction.commit()?;
            return Ok(None);
        };
        let (tenant, id): (i64, i64) = (next.try_get(0)?, next.try_get(1)?);
        let sql = format!(
            "UPDATE alert_delivery SET attempts = attempts + 1, lease_owner = $3, lease_until = $4
             WHERE tenant_id = $1 AND id = $2 RETURNING {DELIVERY_COLUMNS}"
        );
        let delivery = delivery_row(&transaction.query_one(&sql, &[&tenant, &id, &owner, &lease_until])?)?;
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
        const HELD: &str = "WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'pending'";
        let changed = match outcome {
            AttemptOutcome::Delivered => self.client.execute(
                &format!(
                    "UPDATE alert_delivery SET state = 'delivered', delivered_at = $4, last_error = NULL,
                            lease_owner = NULL, lease_until = NULL {HELD}"
                ),
                &[&tenant, &id, &owner, &at],
            )?,
            AttemptOutcome::Retry { error, next_attempt_at } => self.client.execute(
                &format!(
                    "UPDATE alert_delivery SET state = CASE WHEN attempts >= $6 THEN 'failed' ELSE 'pending' END,
                            last_error = $4, next_attempt_at = $5, lease_owner = NULL, lease_until = NULL {HELD}"
                ),
                &[&tenant, &id, &owner, &error, &next_attempt_at, &DELIVERY_ATTEMPTS_MAX],
            )?,
            AttemptOutcome::Failed { error } => self.client.execute(
                &format!(
                    "UPDATE alert_delivery SET state = 'failed', last_error = $4, lease_owner = NULL, lease_until = NULL
                     {HELD}"
                ),
                &[&tenant, &id, &owner, &error],
            )?,
        };
        Ok(changed == 1)
    }

    fn delivery(&mut self, tenant: i64, id: i64) -> Result<Option<AlertDelivery>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM alert_delivery WHERE tenant_id = $1 AND id = $2");
        self.client.query_opt(&sql, &[&tenant, &id])?.as_ref().map(delivery_row).transpose()
    }

    fn deliveries(&mut self, tenant: i64, limit: i64) -> Result<Vec<AlertDelivery>, StoreError> {
        // A negative limit is no limit, as in SQLite (`LIMIT NULL` in PostgreSQL).
        let limit = (limit >= 0).then_some(limit);
        let sql =
            format!("SELECT {DELIVERY_COLUMNS} FROM alert_delivery WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2");
        rows(self.client.query(&sql, &[&tenant, &limit])?, delivery_row)
    }

    fn append_audit(
        &mut self,
        tenant: i64,
        entry: &NewAuditEntry,
        hash_of: AuditHasher<'_>,
    ) -> Result<AuditEntry, StoreError> {
        let mut transaction = self.client.transaction()?;
        // The tenant's appends take turns (a lock per tenant and schema, held until
        // commit): each reads the last entry only after the one before it committed, so
        // seq has no gaps or twins and every entry chains from its predecessor. Row locks
        // cannot do this for a tenant's first entry, which has no row to lock.
        transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('tieout audit ' || COALESCE(current_schema(), '') || ' ' || $1::BIGINT, 0))",
            &[&tenant],
        )?;
        let last = transaction.query_opt(
            "SELECT seq, hash FROM audit_entry WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&tenant],
        )?;
        let (seq, prev_hash): (i64, String) = match last {
            Some(row) => (row.try_get::<_, i64>(0)? + 1, row.try_get(1)?),
            None => (1, AUDIT_GENESIS_HASH.to_owned()),
        };
        let hash = hash_of(&prev_hash, entry, seq);
        let sql = format!(
            "INSERT INTO audit_entry (tenant_id, seq, at, actor_user, actor_name, action, object_kind, object_id,
                                      before, after, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {AUDIT_COLUMNS}"
        );
        let row = transaction.query_one(
            &sql,
            &[
                &tenant,
                &seq,
                &entry.at,
                &entry.actor_user,
                &entry.actor_name,
                &entry.action,
                &entry.object_kind,
                &entry.object_id,
                &entry.before,
                &entry.after,
                &prev_hash,
                &hash,
            ],
        )?;
        let appended = audit_row(&row)?;
        transaction.commit()?;
        Ok(appended)
    }

    fn audit_entries(&mut self, tenant: i64, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = (limit >= 0).then_some(limit);
        let sql =
            format!("SELECT {AUDIT_COLUMNS} FROM audit_entry WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        rows(self.client.query(&sql, &[&tenant, &after_seq, &limit])?, audit_row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::PARTITION_MARK;

    #[test]
    fn every_table_but_tenant_is_a_tenant_table() {
        let (_, sql) = MIGRATIONS[0];
        let tables = sql.matches("CREATE TABLE ").count();
        assert_eq!(sql.matches(PARTITION_MARK).count(), tables - 1, "every table but tenant carries the mark");
        let rendered = render_migration(sql, Some(2)).unwrap();
        assert!(!rendered.contains(PARTITION_MARK));
        assert!(!rendered.contains("CREATE TABLE tenant_p0"));
        assert!(rendered.contains("CREATE TABLE job_p1 PARTITION OF job FOR VALUES WITH (MODULUS 2, REMAINDER 1);"));
        assert_eq!(rendered.matches(" PARTITION OF ").count(), (tables - 1) * 2);
    }
}
