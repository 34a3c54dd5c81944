//! The team server's commands: `serve`, `tenant`, `user`, `token`, `audit`. This module
//! owns the clock and the environment for them (TIEOUT_DATABASE_URL, TIEOUT_PASSWORD).
//!
//! Users added and tokens created here are recorded in the tenant's audit log under the
//! system identity (the command runs with the server's own access, not as a user).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use tieout_service::backend::Backend;
use tieout_service::config::Settings;
use tieout_service::jobs::JobSettings;
use tieout_service::rules::ReceiptRules;
use tieout_service::{audit, team};

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// The server's data directory (SQLite: control.sqlite and tenants/<id>.sqlite).
    #[arg(long, default_value = "tieout-data", value_name = "DIR", global = true)]
    data_dir: PathBuf,
    /// A PostgreSQL URL (postgres://user@host/db) instead of the SQLite files; also read
    /// from TIEOUT_DATABASE_URL.
    #[arg(long, env = "TIEOUT_DATABASE_URL", value_name = "URL", hide_env_values = true, global = true)]
    database: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TenantAction {
    /// Add a tenant (a seller, or a group of sellers an operator hosts).
    Add {
        slug: String,
        name: String,
    },
    List,
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Add a user. The password is read from standard input (one line) or TIEOUT_PASSWORD.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// viewer, clerk, accountant, approver or admin.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenAction {
    /// Create an API token for a user; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditAction {
    /// Verify the tenant's audit log (its hash chain). Exit code 0: intact; 2: broken (the
    /// first broken link is printed) or an error. Prints the head (last seq and hash):
    /// record it elsewhere, and pass it back with --head to find later deletions of the
    /// last entries or a rewritten chain.
    Verify {
        #[arg(long)]
        tenant: String,
        /// A head recorded earlier, SEQ:HASH: the log must still hold it.
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<String>,
    },
    /// Print the tenant's audit entries in seq order.
    List {
        #[arg(long)]
        tenant: String,
        /// Entries after this seq.
        #[arg(long, default_value_t = 0, value_name = "SEQ")]
        after: i64,
        /// At most this many entries.
        #[arg(long)]
        limit: Option<i64>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn backend(args: &ServerArgs) -> Result<Backend> {
    match &args.database {
        // Jobs write their scratch files under the data directory's work/ folder.
        Some(url) => Backend::postgres(url, &tieout_service::PgSchemaOptions::default(), &args.data_dir.join("work"))
            .context("cannot open the PostgreSQL database"),
        None => Backend::sqlite(&args.data_dir)
            .with_context(|| format!("cannot open the data directory {}", args.data_dir.display())),
    }
}

pub fn tenant_id(backend: &Backend, slug: &str) -> Result<i64> {
    match backend.control()?.tenant_by_slug(slug)? {
        Some(tenant) => Ok(tenant.id),
        None => bail!("no tenant '{slug}' (tieout tenant list)"),
    }
}

pub fn tenant(args: &ServerArgs, action: &TenantAction) -> Result<ExitCode> {
    let backend = backend(args)?;
    let mut control = backend.control()?;
    match action {
        TenantAction::Add { slug, name } => {
            let tenant = team::create_tenant(control.as_mut(), slug, name, now())?;
            println!("tenant {} ({}) added with id {}", tenant.slug, tenant.name, tenant.id);
        }
        TenantAction::List => {
            for tenant in control.tenants()? {
                println!("{:>5}  {:<20} {}", tenant.id, tenant.slug, tenant.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> Result<String> {
    if let Ok(password) = std::env::var("TIEOUT_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password: give it on standard input or in TIEOUT_PASSWORD");
    }
    Ok(password)
}

pub fn user(args: &ServerArgs, action: &UserAction) -> Result<ExitCode> {
    let backend = backend(args)?;
    match action {
        UserAction::Add { tenant, email, role, name } => {
            let tenant = tenant_id(&backend, tenant)?;
            let password = read_password()?;
            let display = if name.is_empty() { email.clone() } else { name.clone() };
            let mut control = backend.control()?;
            let at = now();
            let user = team::add_user(control.as_mut(), tenant, email, &display, role, &password, at)?;
            let after = Some(audit::user_state(&user, &[], &[]));
            let id = user.id.to_string();
            audit::record(control.as_mut(), tenant, None, audit::actions::USER_ADD, "user", &id, None, after, at)?;
            println!("user {} ({}) added with id {}", user.email, user.role, user.id);
        }
        UserAction::List { tenant } => {
            let tenant = tenant_id(&backend, tenant)?;
            for user in backend.control()?.users(tenant)? {
                let disabled = if user.disabled { "  (disabled)" } else { "" };
                println!("{:>5}  {:<32} {:<10}{disabled}", user.id, user.email, user.role);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn token(args: &ServerArgs, action: &TokenAction) -> Result<ExitCode> {
    let backend = backend(args)?;
    let TokenAction::Create { tenant, email, name } = action;
    let tenant = tenant_id(&backend, tenant)?;
    let mut control = backend.control()?;
    let Some(user) = control.user_by_email(tenant, &email.trim().to_lowercase())? else {
        bail!("no user {email} in that tenant");
    };
    let at = now();
    let (id, token) = team::create_token(control.as_mut(), tenant, user.id, name, at)?;
    // The token itself is never recorded.
    let after = Some(serde_json::json!({ "name": name, "user_id": user.id }));
    let token_id = id.to_string();
    audit::record(control.as_mut(), tenant, None, audit::actions::TOKEN_CREATE, "token", &token_id, None, after, at)?;
    eprintln!("token {id} for {} — shown once, store it now:", user.email);
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub fn audit(args: &ServerArgs, action: &AuditAction) -> Result<ExitCode> {
    let backend = backend(args)?;
    match action {
        AuditAction::Verify { tenant: slug, head } => {
            let tenant = tenant_id(&backend, slug)?;
            let known = head.as_deref().map(parse_head).transpose()?;
            let verification = audit::verify_against(backend.control()?.as_mut(), tenant, known.as_ref())?;
            let head = match &verification.head {
                Some(head) => format!("head {}:{}", head.seq, head.hash),
                None => "no head".to_owned(),
            };
            match &verification.first_broken {
                None => {
                    println!("audit log of {slug}: intact, {} entries; {head}", verification.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    println!("audit log of {slug}: BROKEN at {broken}");
                    println!("({} entries; {head})", verification.entries);
                    Ok(ExitCode::from(2))
                }
            }
        }
        AuditAction::List { tenant: slug, after, limit, json } => {
            let tenant = tenant_id(&backend, slug)?;
            let entries = backend.control()?.audit_entries(tenant, *after, limit.unwrap_or(-1))?;
            for entry in &entries {
                let shown = audit::entry_json(entry);
                if *json {
                    println!("{shown}");
                    continue;
                }
                let at = chrono::DateTime::from_timestamp(entry.at, 0).map_or(entry.at.to_string(), |t| t.to_rfc3339());
                let actor = match entry.actor_user {
                    Some(id) => format!("{} (user {id})", entry.actor_name),
                    None => entry.actor_name.clone(),
                };
                println!(
                    "{:>6}  {at}  {actor}  {}  {} {}  before {}  after {}",
                    entry.seq, entry.action, entry.object_kind, entry.object_id, shown["before"], shown["after"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_head(text: &str) -> Result<audit::Head> {
    let parsed = text.split_once(':').and_then(|(seq, hash)| Some((seq.parse().ok()?, hash)));
    match parsed {
        Some((seq, hash)) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(audit::Head { seq, hash: hash.to_ascii_lowercase() })
        }
        _ => bail!("--head is SEQ:HASH (the seq and the 64 hex digits `tieout audit verify` printed): '{text}'"),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn serve(
    args: &ServerArgs,
    listen: &str,
    workers: usize,
    upload_max_mib: usize,
    secure_cookies: bool,
    settings: Settings,
    settings_text: String,
    rules: ReceiptRules,
) -> Result<ExitCode> {
    let backend = backend(args)?;
    let engine = backend.engine();
    let state = tieout_server::AppState {
        backend: Arc::new(backend),
        clock: Arc::new(now),
        settings: Arc::new(JobSettings { settings, settings_text, rules }),
        upload_bytes_max: upload_max_mib.saturating_mul(1024 * 1024),
        secure_cookies,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        // Scripts and tests read this line to learn the port (with --listen 127.0.0.1:0).
        println!("tieout serving on http://{address} (database: {engine}, {workers} job worker(s))");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tieout_server::serve(listener, state, workers, shutdown).await.context("the server stopped")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `tieout work`: job workers without the HTTP API, until interrupted.
pub fn work(
    args: &ServerArgs,
    workers: usize,
    settings: Settings,
    settings_text: String,
    rules: ReceiptRules,
) -> Result<ExitCode> {
    let backend = backend(args)?;
    let engine = backend.engine();
    let state = tieout_server::AppState {
        backend: Arc::new(backend),
        clock: Arc::new(now),
        settings: Arc::new(JobSettings { settings, settings_text, rules }),
        upload_bytes_max: 0,
        secure_cookies: false,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        tieout_server::spawn_workers(&state, workers, stop);
        println!("tieout working: {workers} job worker(s) on {engine}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_sender.send(true);
    });
    Ok(ExitCode::SUCCESS)
}
