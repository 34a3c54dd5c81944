//! The control plane of the team server: tenants, organisations, stores, users and their
//! roles, sessions, API tokens, login attempts, uploads, jobs and each tenant's audit log.
//!
//! Reconciliation data lives in a tenant's [`crate::Store`]; this is what says who may
//! see which tenant's data and what work is queued. Two engines implement
//! [`ControlStore`] with the same meaning: [`SqliteControl`] (the server's `control.sqlite`
//! beside one SQLite file per tenant) and, with the `postgres` feature, `PgControl` in the
//! same database as the tenants' data. Every table but `tenant` carries
//! `tenant_id`, leading every key, so a distributed PostgreSQL can place each tenant's
//! rows together.
//!
//! Times are Unix seconds (the caller's clock); secrets are stored only as hashes (the
//! service hashes passwords with Argon2 and tokens with SHA-256 before they get here).
//!
//! Each tenant's audit log (`audit_entry`) is append-only: the trait has no method that
//! changes or removes an entry, and a trigger refuses UPDATE and DELETE of its rows on both
//! engines. The store numbers and chains entries inside one transaction; the hash itself is
//! computed by the caller ([`AuditHasher`], the service's SHA-256), so the store crate
//! carries no hashing dependency and the chain's format is defined in one place.

#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgControl;
pub use sqlite::SqliteControl;

use crate::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    /// The headquarters a branch belongs to; `None` for a headquarters.
    pub parent_id: Option<i64>,
}

/// A seller's store (a marketplace account or shop), as named in imports (`--store`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreEntry {
    pub id: i64,
    pub organisation_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub tenant_id: i64,
    pub id: i64,
    pub email: String,
    pub display_name: String,
    /// `viewer`, `clerk`, `accountant`, `approver` or `admin` (the service gives meaning).
    pub role: String,
    /// The PHC string of the password's Argon2 hash.
    pub password_hash: String,
    pub disabled: bool,
}

/// Where a user's role applies. Both empty: the whole tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub organisations: Vec<i64>,
    pub stores: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub tenant_id: i64,
    pub user_id: i64,
    /// The synchronizer token browser forms must send back.
    pub csrf_token: String,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub tenant_id: i64,
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// SHA-256 (hex) of the token's secret part.
    pub secret_hash: String,
    pub created_at: i64,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub tenant_id: i64,
    pub id: i64,
    pub name: String,
    pub sha256: String,
    pub size_bytes: i64,
    /// The store the file's records belong to, when the uploader said.
    pub store: Option<String>,
    pub created_by: i64,
    pub created_at: i64,
}

/// Work queued in the database: any server process may claim it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub tenant_id: i64,
    pub id: i64,
    /// `import` or `reconcile`.
    pub kind: String,
    /// What to do, as JSON (the service's own shape).
    pub payload: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub progress_done: i64,
    pub progress_total: i64,
    pub message: String,
    /// The outcome, as JSON, once finished.
    pub result: Option<String>,
    pub error: Option<String>,
    pub created_by: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// What an audit entry says, before the store numbers and chains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// The acting user; `None`: the system identity (automatic actions).
    pub actor_user: Option<i64>,
    pub actor_name: String,
    /// What was done: `user.add`, `rules.replace`, `difference.resolve` …
    pub action: String,
    /// What it was done to (`user`, `setting`, `order` …) and its id.
    pub object_kind: String,
    pub object_id: String,
    /// The object before and after, as JSON text.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One entry of a tenant's audit log: numbered 1, 2, 3 … per tenant, each carrying the
/// hash of the one before (`prev_hash`; the first carries [`AUDIT_GENESIS_HASH`]) and its
/// own `hash`, which the service computes over all the other fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub tenant_id: i64,
    pub seq: i64,
    pub at: i64,
    pub actor_user: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The fields the entry was appended with.
    pub fn content(&self) -> NewAuditEntry {
        NewAuditEntry {
            at: self.at,
            actor_user: self.actor_user,
            actor_name: self.actor_name.clone(),
            action: self.action.clone(),
            object_kind: self.object_kind.clone(),
            object_id: self.object_id.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
        }
    }
}

/// The `prev_hash` of a tenant's first audit entry: 64 zeros.
pub const AUDIT_GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Computes an audit entry's hash from the previous entry's hash, the entry and its seq
/// (the service's SHA-256; the store only stores what it returns).
pub type AuditHasher<'a> = &'a dyn Fn(&str, &NewAuditEntry, i64) -> String;

/// How many times a job is tried before it is failed (a crash mid-job counts as a try).
pub const JOB_ATTEMPTS_MAX: i64 = 3;

/// One alert on its way to one channel: a row of the delivery log. Deliveries are queued
/// in the database, like jobs, so that any server process may send them and none is lost
/// when one stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertDelivery {
    pub tenant_id: i64,
    pub id: i64,
    /// What the alert is about (the service's names: `payout_missing`, …).
    pub kind: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// The webhook's URL, or the e-mail's recipients.
    pub target: String,
    /// The alert, as JSON (what a webhook receives).
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made (a claim counts one, so an attempt a crash cut short counts too).
    pub attempts: i64,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A delivery to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// Names the alert, its run and its channel and target: a tenant's second delivery
    /// with the same key is not queued (an alert is sent once per run and target).
    pub dedup_key: String,
    pub kind: String,
    pub channel: String,
    pub target: String,
    pub payload: String,
}

/// How a claimed delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome<'a> {
    Delivered,
    /// Failed; try again at `next_attempt_at` (failed for good when this was the last
    /// attempt, [`DELIVERY_ATTEMPTS_MAX`]).
    Retry {
        error: &'a str,
        next_attempt_at: i64,
    },
    /// Failed for good (the target refuses it whatever the time).
    Failed {
        error: &'a str,
    },
}

/// How many times a delivery is attempted before it is failed.
pub const DELIVERY_ATTEMPTS_MAX: i64 = 6;

/// The control plane's storage. Methods that name a tenant never touch another tenant's
/// rows.
pub trait ControlStore: Send {
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;

    fn create_tenant(&mut self, slug: &str, name: &str, at: i64) -> Result<Tenant, StoreError>;
    fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, StoreError>;
    fn tenant(&mut self, id: i64) -> Result<Option<Tenant>, StoreError>;
    fn tenants(&mut self) -> Result<Vec<Tenant>, StoreError>;

    fn create_organisation(
        &mut self,
        tenant: i64,
        name: &str,
        parent_id: Option<i64>,
    ) -> Result<Organisation, StoreError>;
    fn organisations(&mut self, tenant: i64) -> Result<Vec<Organisation>, StoreError>;
    fn create_store(&mut self, tenant: i64, organisation_id: i64, name: &str) -> Result<StoreEntry, StoreError>;
    fn stores(&mut self, tenant: i64) -> Result<Vec<StoreEntry>, StoreError>;

    fn create_user(
        &mut self,
        tenant: i64,
        email: &str,
        display_name: &str,
        role: &str,
        password_hash: &str,
        at: i64,
    ) -> Result<User, StoreError>;
    fn user(&mut self, tenant: i64, id: i64) -> Result<Option<User>, StoreError>;
    fn user_by_email(&mut self, tenant: i64, email: &str) -> Result<Option<User>, StoreError>;
    fn users(&mut self, tenant: i64) -> Result<Vec<User>, StoreError>;
    fn set_user_role(&mut self, tenant: i64, user: i64, role: &str) -> Result<bool, StoreError>;
    fn set_user_disabled(&mut self, tenant: i64, user: i64, disabled: bool) -> Result<bool, StoreError>;
    fn set_user_scope(&mut self, tenant: i64, user: i64, scope: &Scope) -> Result<(), StoreError>;
    fn user_scope(&mut self, tenant: i64, user: i64) -> Result<Scope, StoreError>;

    fn create_session(
        &mut self,
        tenant: i64,
        token_hash: &str,
        user: i64,
        csrf_token: &str,
        at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    fn session(&mut self, tenant: i64, token_hash: &str) -> Result<Option<Session>, StoreError>;
    fn delete_session(&mut self, tenant: i64, token_hash: &str) -> Result<(), StoreError>;

    fn create_api_token(
        &mut self,
        tenant: i64,
        user: i64,
        name: &str,
        secret_hash: &str,
        at: i64,
    ) -> Result<i64, StoreError>;
    fn api_token(&mut self, tenant: i64, id: i64) -> Result<Option<ApiToken>, StoreError>;
    fn api_tokens(&mut self, tenant: i64, user: i64) -> Result<Vec<ApiToken>, StoreError>;
    fn revoke_api_token(&mut self, tenant: i64, id: i64, at: i64) -> Result<bool, StoreError>;

    /// `tenant` 0 records an attempt on a tenant that does not exist.
    fn record_login_attempt(
        &mut self,
        tenant: i64,
        email: &str,
        address: &str,
        at: i64,
        succeeded: bool,
    ) -> Result<(), StoreError>;
    /// Failed sign-ins since `since`: for this (tenant, e-mail), and from this address.
    fn failed_logins_since(
        &mut self,
        tenant: i64,
        email: &str,
        address: &str,
        since: i64,
    ) -> Result<(i64, i64), StoreError>;

    #[allow(clippy::too_many_arguments)]
    fn create_upload(
        &mut self,
        tenant: i64,
        name: &str,
        sha256: &str,
        store: Option<&str>,
        content: &[u8],
        user: i64,
        at: i64,
    ) -> Result<Upload, StoreError>;
    fn upload(&mut self, tenant: i64, id: i64) -> Result<Option<Upload>, StoreError>;
    fn upload_content(&mut self, tenant: i64, id: i64) -> Result<Option<Vec<u8>>, StoreError>;
    fn uploads(&mut self, tenant: i64) -> Result<Vec<Upload>, StoreError>;

    /// A tenant's setting (`rules`: its matching rules as TOML), if it has one.
    fn tenant_setting(&mut self, tenant: i64, key: &str) -> Result<Option<String>, StoreError>;
    fn set_tenant_setting(&mut self, tenant: i64, key: &str, value: &str, user: i64, at: i64)
        -> Result<(), StoreError>;

    fn enqueue_job(&mut self, tenant: i64, kind: &str, payload: &str, user: i64, at: i64) -> Result<Job, StoreError>;
    /// Claims the oldest job that is queued, or running under a lease that expired (its
    /// process died) with tries left; a job out of tries is failed instead. The claim
    /// holds until `lease_until`, renewed by [`ControlStore::job_progress`].
    fn claim_job(&mut self, owner: &str, now: i64, lease_until: i64) -> Result<Option<Job>, StoreError>;
    /// Records progress and renews the lease; `false` when the job is no longer this
    /// owner's (another process took it over).
    #[allow(clippy::too_many_arguments)]
    fn job_progress(
        &mut self,
        tenant: i64,
        id: i64,
        owner: &str,
        done: i64,
        total: i64,
        message: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError>;
    /// Finishes a job this owner holds: `succeeded` with a result or `failed` with an error.
    #[allow(clippy::too_many_arguments)]
    fn finish_job(
        &mut self,
        tenant: i64,
        id: i64,
        owner: &str,
        succeeded: bool,
        result: Option<&str>,
        error: Option<&str>,
        at: i64,
    ) -> Result<bool, StoreError>;
    fn job(&mut self, tenant: i64, id: i64) -> Result<Option<Job>, StoreError>;
    /// The tenant's latest jobs, newest first.
    fn jobs(&mut self, tenant: i64, limit: i64) -> Result<Vec<Job>, StoreError>;

    /// Appends `entry` to the tenant's audit log, in one transaction that serialises the
    /// tenant's appends: it numbers the entry one after the last (1 for the first), reads
    /// the last entry's hash (or [`AUDIT_GENESIS_HASH`]), and stores the hash `hash_of`
    /// computes from (that prev_hash, the entry, its seq). The log has no update or delete.
    fn append_audit(
        &mut self,
        tenant: i64,
        entry: &NewAuditEntry,
        hash_of: AuditHasher<'_>,
    ) -> Result<AuditEntry, StoreError>;
    /// The tenant's audit entries with seq > `after_seq`, in seq order, at most `limit` (a
    /// negative limit is none).
    fn audit_entries(&mut self, tenant: i64, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;

    /// Queues deliveries, due at `at`, in the order given; one whose `dedup_key` the
    /// tenant already has (or that repeats one earlier in `deliveries`) is skipped.
    /// Returns the deliveries queued.
    fn enqueue_deliveries(
        &mut self,
        tenant: i64,
        deliveries: &[NewDelivery],
        at: i64,
    ) -> Result<Vec<AlertDelivery>, StoreError>;
    /// Claims the pending delivery due first (`next_attempt_at <= now`, then tenant, then
    /// id) that no live lease holds, counting one attempt; the claim holds until
    /// `lease_until`. A delivery whose lease ran out on its last attempt (its process
    /// died) is failed instead.
    fn claim_delivery(&mut self, owner: &str, now: i64, lease_until: i64) -> Result<Option<AlertDelivery>, StoreError>;
    /// Records how the attempt this owner claimed ended; `false` when the delivery is no
    /// longer this owner's or no longer pending.
    fn finish_delivery_attempt(
        &mut self,
        tenant: i64,
        id: i64,
        owner: &str,
        outcome: AttemptOutcome<'_>,
        at: i64,
    ) -> Result<bool, StoreError>;
    fn delivery(&mut self, tenant: i64, id: i64) -> Result<Option<AlertDelivery>, StoreError>;
    /// The tenant's latest deliveries, newest first (a negative limit is none).
    fn deliveries(&mut self, tenant: i64, limit: i64) -> Result<Vec<AlertDelivery>, StoreError>;
}
