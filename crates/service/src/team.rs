//! The team server's people and keys: roles and what each may do, users with
//! Argon2-hashed passwords, sign-in with throttling, sessions, API tokens, and the
//! principal a request acts as (its tenant, user, role and the stores it may see).
//!
//! Decisions:
//! - **Roles are a ladder**: viewer < clerk < accountant < approver < admin; each may do
//!   what the one below may, and more (see [`Role::allows`]). Finance teams describe
//!   their people this way, and a ladder cannot grant an approver something a clerk has
//!   but the approver lacks.
//! - **Sign-in names the tenant** (its slug) with the e-mail: users belong to a tenant,
//!   and an e-mail is unique within one (a distributed database cannot enforce a global
//!   unique key that does not lead with the tenant).
//! - **Secrets carry their tenant**: a session cookie is `TENANT.SECRET`, an API token
//!   `tieout_TENANT_ID_SECRET`; only the SHA-256 of the secret is stored (the secret is
//!   256 random bits, so a fast hash is enough; passwords, which are not, get Argon2id).
//! - **Throttling is in the database**, so it holds across server processes: more than
//!   [`LOGIN_FAILURES_MAX`] failures in [`LOGIN_WINDOW_SECONDS`] for one (tenant,
//!   e-mail), or 4× that from one address, refuse further attempts until the window
//!   passes, whether or not the password is right.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use tieout_store::control::{ControlStore, Scope, Tenant, User};
use tieout_store::StoreError;

pub const LOGIN_FAILURES_MAX: i64 = 5;
pub const LOGIN_WINDOW_SECONDS: i64 = 15 * 60;
pub const SESSION_SECONDS: i64 = 12 * 3600;
pub const PASSWORD_LENGTH_MIN: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Clerk,
    Accountant,
    Approver,
    Admin,
}

/// What a request may want to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See records, results and reports.
    Read,
    /// Upload and import files, run reconciliations.
    Import,
    /// Resolve differences.
    Resolve,
    /// Sign off statements and months.
    SignOff,
    /// Users, tokens of others, rules, organisations and stores.
    Administer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Viewer, Role::Clerk, Role::Accountant, Role::Approver, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Clerk => "clerk",
            Role::Accountant => "accountant",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }

    /// The least role that may do `action`.
    pub fn least_for(action: Action) -> Role {
        match action {
            Action::Read => Role::Viewer,
            Action::Import => Role::Clerk,
            Action::Resolve => Role::Accountant,
            Action::SignOff => Role::Approver,
            Action::Administer => Role::Admin,
        }
    }

    pub fn allows(self, action: Action) -> bool {
        self >= Role::least_for(action)
    }
}

/// Who a request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant: Tenant,
    pub user: User,
    pub role: Role,
    /// The store names this user may see; `None`: all of the tenant's.
    pub stores: Option<Vec<String>>,
    /// The session's CSRF token (browser sessions only).
    pub csrf_token: Option<String>,
}

impl Principal {
    pub fn may(&self, action: Action) -> bool {
        self.role.allows(action)
    }

    /// Whether this user may see or write the records of `store`.
    pub fn sees_store(&self, store: &str) -> bool {
        self.stores.as_ref().is_none_or(|stores| stores.iter().any(|s| s == store))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("unknown role '{0}': one of viewer, clerk, accountant, approver, admin")]
    UnknownRole(String),
    #[error("a password needs at least {PASSWORD_LENGTH_MIN} characters")]
    PasswordTooShort,
    #[error("'{0}' is not an e-mail address")]
    BadEmail(String),
    #[error("a tenant slug is 2–40 lower-case letters, digits and '-': '{0}'")]
    BadSlug(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0} does not exist")]
    Missing(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn hash_password(password: &str) -> Result<String, TeamError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| TeamError::Hash(error.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash nobody's password matches, verified against when the user does not exist so
/// that a wrong e-mail costs as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

/// 256 random bits as 64 hex digits.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_slug(slug: &str) -> bool {
    (2..=40).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

/// Creates a tenant; its audit log starts with the creation (by the system identity).
pub fn create_tenant(control: &mut dyn ControlStore, slug: &str, name: &str, now: i64) -> Result<Tenant, TeamError> {
    if !valid_slug(slug) {
        return Err(TeamError::BadSlug(slug.to_owned()));
    }
    if control.tenant_by_slug(slug)?.is_some() {
        return Err(TeamError::Exists(format!("tenant '{slug}'")));
    }
    let tenant = control.create_tenant(slug, name, now)?;
    let after = serde_json::json!({ "slug": tenant.slug, "name": tenant.name });
    let id = tenant.id.to_string();
    crate::audit::record(
        control,
        tenant.id,
        None,
        crate::audit::actions::TENANT_ADD,
        "tenant",
        &id,
        None,
        Some(after),
        now,
    )?;
    Ok(tenant)
}

/// Adds a user to a tenant, with the password hashed by Argon2id.
pub fn add_user(
    control: &mut dyn ControlStore,
    tenant: i64,
    email: &str,
    display_name: &str,
    role: &str,
    password: &str,
    now: i64,
) -> Result<User, TeamError> {
    let role = Role::parse(role).ok_or_else(|| TeamError::UnknownRole(role.to_owned()))?;
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 || email.starts_with('@') || email.ends_with('@') {
        return Err(TeamError::BadEmail(email));
    }
    if password.chars().count() < PASSWORD_LENGTH_MIN {
        return Err(TeamError::PasswordTooShort);
    }
    if control.user_by_email(tenant, &email)?.is_some() {
        return Err(TeamError::Exists(format!("user {email}")));
    }
    let hash = hash_password(password)?;
    Ok(control.create_user(tenant, &email, display_name, role.name(), &hash, now)?)
}

/// A sign-in that worked: the cookie value to set, and the CSRF token for forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub cookie_value: String,
    pub csrf_token: String,
    pub expires_at: i64,
    pub user: User,
    pub tenant: Tenant,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong tenant, e-mail or password, or a disabled user: one answer for all.
    #[error("the tenant, e-mail or password is not right")]
    Invalid,
    #[error("too many failed sign-ins; try again in {retry_after_seconds} s")]
    Throttled { retry_after_seconds: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn login(
    control: &mut dyn ControlStore,
    tenant_slug: &str,
    email: &str,
    password: &str,
    address: &str,
    now: i64,
) -> Result<SignedIn, LoginError> {
    let email = email.trim().to_lowercase();
    let tenant = control.tenant_by_slug(tenant_slug)?;
    let tenant_id = tenant.as_ref().map_or(0, |t| t.id);
    let (by_email, by_address) = control.failed_logins_since(tenant_id, &email, address, now - LOGIN_WINDOW_SECONDS)?;
    if by_email >= LOGIN_FAILURES_MAX || by_address >= 4 * LOGIN_FAILURES_MAX {
        return Err(LoginError::Throttled { retry_after_seconds: LOGIN_WINDOW_SECONDS });
    }
    let user = match &tenant {
        Some(tenant) => control.user_by_email(tenant.id, &email)?,
        None => None,
    };
    let verified = match &user {
        Some(user) => verify_password(password, &user.password_hash) && !user.disabled,
        None => {
            verify_password(password, decoy_hash());
            false
        }
    };
    control.record_login_attempt(tenant_id, &email, address, now, verified)?;
    let (Some(tenant), Some(user), true) = (tenant, user, verified) else {
        return Err(LoginError::Invalid);
    };
    let secret = new_secret();
    let csrf_token = new_secret();
    let expires_at = now + SESSION_SECONDS;
    control.create_session(tenant.id, &sha256_hex(&secret), user.id, &csrf_token, now, expires_at)?;
    Ok(SignedIn { cookie_value: format!("{}.{secret}", tenant.id), csrf_token, expires_at, user, tenant })
}

pub fn logout(control: &mut dyn ControlStore, cookie_value: &str) -> Result<(), StoreError> {
    if let Some((tenant, secret)) = split_cookie(cookie_value) {
        control.delete_session(tenant, &sha256_hex(secret))?;
    }
    Ok(())
}

fn split_cookie(value: &str) -> Option<(i64, &str)> {
    let (tenant, secret) = value.split_once('.')?;
    Some((tenant.parse().ok()?, secret))
}

/// The principal of a session cookie, if the session exists, has not expired and its user
/// is enabled.
pub fn principal_of_session(
    control: &mut dyn ControlStore,
    cookie_value: &str,
    now: i64,
) -> Result<Option<Principal>, StoreError> {
    let Some((tenant, secret)) = split_cookie(cookie_value) else { return Ok(None) };
    let Some(session) = control.session(tenant, &sha256_hex(secret))? else { return Ok(None) };
    if session.expires_at <= now {
        control.delete_session(tenant, &sha256_hex(secret))?;
        return Ok(None);
    }
    principal(control, tenant, session.user_id, Some(session.csrf_token))
}

/// The principal of an API token (`tieout_TENANT_ID_SECRET`), if it exists, is not
/// revoked and its user is enabled.
pub fn principal_of_token(control: &mut dyn ControlStore, token: &str) -> Result<Option<Principal>, StoreError> {
    let Some(rest) = token.strip_prefix("tieout_") else { return Ok(None) };
    let mut parts = rest.splitn(3, '_');
    let (Some(tenant), Some(id), Some(secret)) = (parts.next(), parts.next(), parts.next()) else { return Ok(None) };
    let (Ok(tenant), Ok(id)) = (tenant.parse::<i64>(), id.parse::<i64>()) else { return Ok(None) };
    let Some(stored) = control.api_token(tenant, id)? else { return Ok(None) };
    if stored.revoked || !constant_time_eq(stored.secret_hash.as_bytes(), sha256_hex(secret).as_bytes()) {
        return Ok(None);
    }
    principal(control, tenant, stored.user_id, None)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The principal of user `user` of `tenant` (none: no such tenant or user, disabled, or an
/// unknown role) — for the command line, which acts as a named user.
pub fn principal(
    control: &mut dyn ControlStore,
    tenant: i64,
    user: i64,
    csrf_token: Option<String>,
) -> Result<Option<Principal>, StoreError> {
    let (Some(tenant), Some(user)) = (control.tenant(tenant)?, control.user(tenant, user)?) else { return Ok(None) };
    if user.disabled {
        return Ok(None);
    }
    let Some(role) = Role::parse(&user.role) else { return Ok(None) };
    let scope = control.user_scope(tenant.id, user.id)?;
    let stores = visible_stores(control, tenant.id, &scope)?;
    Ok(Some(Principal { tenant, user, role, stores, csrf_token }))
}

/// The store names a scope covers: its stores and every store of its organisations and
/// their branches. `None` for an empty scope (the whole tenant).
pub fn visible_stores(
    control: &mut dyn ControlStore,
    tenant: i64,
    scope: &Scope,
) -> Result<Option<Vec<String>>, StoreError> {
    if scope.organisations.is_empty() && scope.stores.is_empty() {
        return Ok(None);
    }
    let organisations = control.organisations(tenant)?;
    let mut covered: Vec<i64> = scope.organisations.clone();
    // Branches of covered organisations are covered (a headquarters sees its branches).
    loop {
        let before = covered.len();
        for organisation in &organisations {
            if organisation.parent_id.is_some_and(|p| covered.contains(&p)) && !covered.contains(&organisation.id) {
                covered.push(organisation.id);
            }
        }
        if covered.len() == before {
            break;
        }
    }
    let names = control
        .stores(tenant)?
        .into_iter()
        .filter(|store| scope.stores.contains(&store.id) || covered.contains(&store.organisation_id))
        .map(|store| store.name)
        .collect();
    Ok(Some(names))
}

/// A new API token for `user`: returns its id and the token, which is shown once and
/// stored only as a hash.
pub fn create_token(
    control: &mut dyn ControlStore,
    tenant: i64,
    user: i64,
    name: &str,
    now: i64,
) -> Result<(i64, String), StoreError> {
    let secret = new_secret();
    let id = control.create_api_token(tenant, user, name, &sha256_hex(&secret), now)?;
    Ok((id, format!("tieout_{tenant}_{id}_{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tieout_store::control::SqliteControl;

    #[test]
    fn roles_form_a_ladder() {
        assert!(Role::Viewer.allows(Action::Read));
        assert!(!Role::Viewer.allows(Action::Import));
        assert!(Role::Clerk.allows(Action::Import));
        assert!(!Role::Clerk.allows(Action::Resolve));
        assert!(Role::Accountant.allows(Action::Resolve));
        assert!(!Role::Accountant.allows(Action::SignOff));
        assert!(Role::Approver.allows(Action::SignOff));
        assert!(!Role::Approver.allows(Action::Administer));
        assert!(Role::Admin.allows(Action::Administer));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
    }

    #[test]
    fn login_checks_the_password_throttles_and_tokens_resolve_to_their_user() {
        let mut control = SqliteControl::open_in_memory().unwrap();
        let tenant = create_tenant(&mut control, "acme", "Acme", 0).unwrap();
        let user = add_user(&mut control, tenant.id, "Ann@Example.com", "Ann", "clerk", "correct horse", 0).unwrap();
        assert_eq!(user.email, "ann@example.com");
        assert!(user.password_hash.starts_with("$argon2id$"));

        let signed = login(&mut control, "acme", "ann@example.com", "correct horse", "1.2.3.4", 100).unwrap();
        let principal = principal_of_session(&mut control, &signed.cookie_value, 101).unwrap().unwrap();
        assert_eq!((principal.user.id, principal.role), (user.id, Role::Clerk));
        // Expired: gone.
        assert!(principal_of_session(&mut control, &signed.cookie_value, 100 + SESSION_SECONDS).unwrap().is_none());
        // Another tenant's id in the cookie does not find the session.
        let forged = signed.cookie_value.replacen(&format!("{}.", tenant.id), "99.", 1);
        assert!(principal_of_session(&mut control, &forged, 101).unwrap().is_none());

        for _ in 0..LOGIN_FAILURES_MAX {
            assert!(matches!(
                login(&mut control, "acme", "ann@example.com", "wrong", "1.2.3.4", 200),
                Err(LoginError::Invalid)
            ));
        }
        assert!(matches!(
            login(&mut control, "acme", "ann@example.com", "correct horse", "1.2.3.4", 201),
            Err(LoginError::Throttled { .. })
        ));
        // After the window, the right password works again.
        assert!(login(&mut control, "acme", "ann@example.com", "correct horse", "1.2.3.4", 201 + LOGIN_WINDOW_SECONDS)
            .is_ok());

        let (id, token) = create_token(&mut control, tenant.id, user.id, "script", 300).unwrap();
        assert_eq!(principal_of_token(&mut control, &token).unwrap().unwrap().user.id, user.id);
        let last = if token.ends_with('0') { '1' } else { '0' };
        let tampered = format!("{}{last}", &token[..token.len() - 1]);
        assert!(principal_of_token(&mut control, &tampered).unwrap().is_none());
        control.revoke_api_token(tenant.id, id, 301).unwrap();
        assert!(principal_of_token(&mut control, &token).unwrap().is_none());
    }

    #[test]
    fn a_scope_covers_its_stores_and_the_branches_of_its_organisations() {
        let mut control = SqliteControl::open_in_memory().unwrap();
        let tenant = create_tenant(&mut control, "acme", "Acme", 0).unwrap();
        let hq = control.create_organisation(tenant.id, "HQ", None).unwrap();
        let branch = control.create_organisation(tenant.id, "Shenzhen", Some(hq.id)).unwrap();
        let other = control.create_organisation(tenant.id, "Other", None).unwrap();
        control.create_store(tenant.id, branch.id, "acme-us").unwrap();
        let uk = control.create_store(tenant.id, other.id, "acme-uk").unwrap();
        control.create_store(tenant.id, other.id, "acme-de").unwrap();
        let seen = |control: &mut SqliteControl, scope: Scope| visible_stores(control, tenant.id, &scope).unwrap();
        assert_eq!(seen(&mut control, Scope::default()), None);
        assert_eq!(
            seen(&mut control, Scope { organisations: vec![hq.id], stores: vec![] }),
            Some(vec!["acme-us".to_owned()])
        );
        assert_eq!(
            seen(&mut control, Scope { organisations: vec![], stores: vec![uk.id] }),
            Some(vec!["acme-uk".to_owned()])
        );
    }
}
