//! Work run in the background by the team server: imports of uploaded files and
//! reconciliation runs, queued in the control database so that any server process can
//! claim them (see [`tieout_store::control::ControlStore::claim_job`]). A reconciliation
//! run that succeeds queues the alerts it raises ([`crate::alerts::after_reconcile`]).
//!
//! A job is safe to run twice: an import stores each file in one transaction and skips a
//! file already stored (same SHA-256), and a reconciliation run replaces the previous run
//! in one transaction. So a job whose process died is simply claimed again once its lease
//! expires: it is retried, never half-applied.

use chrono::{DateTime, NaiveDate, SecondsFormat};
use serde::{Deserialize, Serialize};
use tieout_store::control::Job;
use tieout_store::StoreError;

use tieout_formats::mapping::{parse_mapping, ImportMapping};
use tieout_formats::statement_profile::{builtin_profiles, parse_profile, StatementProfile};

use crate::backend::Backend;
use crate::config::Settings;
use crate::import::{import_jobs, ImportOptions, Outcome};
use crate::reconcile::{reconcile_run, ReceiptSetup};
use crate::rules::ReceiptRules;

/// The control-plane setting holding a tenant's matching rules (TOML).
pub const RULES_SETTING: &str = "rules";
/// The name a tenant's rules are reported under (errors name it with line and column).
pub const RULES_FILE_NAME: &str = "rules.toml";

/// How long a claim holds without news from its worker (renewed with every progress).
pub const LEASE_SECONDS: i64 = 120;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    /// Import these uploads, in this order, with a mapping (of an order export or of
    /// counterparty documents) or a statement profile when the files need one.
    Import {
        uploads: Vec<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mapping: Option<NamedText>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<ProfileChoice>,
    },
    /// Reconcile the tenant's data as of a day.
    Reconcile { as_of: NaiveDate },
}

impl JobSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Import { .. } => "import",
            JobSpec::Reconcile { .. } => "reconcile",
        }
    }
}

/// A small text file sent with an upload (a mapping or a profile), with its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedText {
    pub name: String,
    pub text: String,
}

/// A statement profile: a built-in one by name, or a TOML file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileChoice {
    BuiltIn(String),
    File(NamedText),
}

/// The mapping (of an order export or of counterparty documents, as its `[source] kind`
/// says) and profile of an import, read; an error names the file, line and column.
pub fn import_settings(
    mapping: Option<&NamedText>,
    profile: Option<&ProfileChoice>,
) -> Result<(Option<ImportMapping>, Option<StatementProfile>), String> {
    let mapping = mapping.map(|m| parse_mapping(&m.name, &m.text).map_err(|d| d.to_string())).transpose()?;
    let profile = match profile {
        None => None,
        Some(ProfileChoice::BuiltIn(name)) => {
            let builtin = builtin_profiles();
            let found = builtin.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone());
            let names: Vec<&str> = builtin.iter().map(|(n, _)| *n).collect();
            Some(found.ok_or_else(|| format!("no built-in profile '{name}' (built in: {})", names.join(", ")))?)
        }
        Some(ProfileChoice::File(file)) => Some(parse_profile(&file.name, &file.text).map_err(|d| d.to_string())?),
    };
    Ok((mapping, profile))
}

/// What every job of a server uses: the settings (`tieout.toml`) and the receipt rules.
pub struct JobSettings {
    pub settings: Settings,
    pub settings_text: String,
    pub rules: ReceiptRules,
}

/// One imported file's outcome, as a job's result lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileOutcome {
    pub upload_id: i64,
    pub name: String,
    /// `imported`, `already_imported` or `refused`.
    pub outcome: String,
    pub summary: String,
    pub diagnostics: Vec<DiagnosticView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiagnosticView {
    pub severity: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub column_name: Option<String>,
    pub message: String,
}

impl From<&tieout_core::diag::Diagnostic> for DiagnosticView {
    fn from(d: &tieout_core::diag::Diagnostic) -> DiagnosticView {
        DiagnosticView {
            severity: format!("{:?}", d.severity).to_lowercase(),
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            column_name: d.column_name.clone(),
            message: d.message.clone(),
        }
    }
}

fn rfc3339(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Claims and runs one job, if any is waiting. `now` is the caller's clock (Unix
/// seconds). Returns the job as it was claimed, or `None` when the queue is empty.
pub fn run_next_job(
    backend: &Backend,
    settings: &JobSettings,
    owner: &str,
    now: &dyn Fn() -> i64,
) -> Result<Option<Job>, StoreError> {
    let mut control = backend.control()?;
    let started = now();
    let Some(job) = control.claim_job(owner, started, started + LEASE_SECONDS)? else { return Ok(None) };
    let _span = tracing::info_span!("job", tenant = job.tenant_id, id = job.id, kind = %job.kind).entered();
    let outcome = match serde_json::from_str::<JobSpec>(&job.payload) {
        Ok(spec) => run(backend, control.as_mut(), settings, &job, &spec, owner, now),
        Err(error) => Ok(Err(format!("the job's payload cannot be read: {error}"))),
    }?;
    match outcome {
        Ok(result) => {
            control.finish_job(job.tenant_id, job.id, owner, true, Some(&result.to_string()), None, now())?;
        }
        Err(error) => {
            tracing::warn!(%error, "job failed");
            control.finish_job(job.tenant_id, job.id, owner, false, None, Some(&error), now())?;
        }
    }
    Ok(Some(job))
}

/// `Err` of the outer result: the store failed (the job stays claimed and is retried when
/// its lease expires); `Err` of the inner one: the job cannot succeed (it is failed).
fn run(
    backend: &Backend,
    control: &mut dyn tieout_store::control::ControlStore,
    settings: &JobSettings,
    job: &Job,
    spec: &JobSpec,
    owner: &str,
    now: &dyn Fn() -> i64,
) -> Result<Result<serde_json::Value, String>, StoreError> {
    let mut store = backend.tenant_store(job.tenant_id)?;
    match spec {
        JobSpec::Reconcile { as_of } => {
            control.job_progress(job.tenant_id, job.id, owner, 0, 1, "reconciling", now() + LEASE_SECONDS)?;
            let config = settings.settings.reconcile_config(*as_of);
            // A tenant's own rules (settings page) replace the server's.
            let own_rules = match control.tenant_setting(job.tenant_id, RULES_SETTING)? {
                Some(text) => match crate::rules::parse_rules(RULES_FILE_NAME, &text) {
                    Ok(rules) => Some(rules),
                    Err(error) => return Ok(Err(error.to_string())),
                },
                None => None,
            };
            let setup = ReceiptSetup { rules: own_rules.as_ref().unwrap_or(&settings.rules), rates: &[] };
            let (summary, receipts) =
                reconcile_run(store.as_mut(), &config, &settings.settings_text, &rfc3339(now()), Some(setup))?;
            // Small differences written off under the system identity (none when the job
            // runs again: those are acted on already).
            // First, resolutions whose figures this run changed are reopened (by the system).
            let limits = &settings.settings.write_off;
            let before = crate::differences::resolutions(store.as_ref())?;
            let reopened = crate::differences::reopen_changed(store.as_mut(), now())?;
            crate::audit::record_auto_reopens(control, job.tenant_id, &before, &reopened, now())?;
            let written =
                crate::differences::auto_write_off(store.as_mut(), &|c| limits.limit_minor("auto", c), now())?;
            crate::audit::record_auto_write_offs(control, job.tenant_id, &written, now())?;
            let receipts_before = crate::receipt_differences::resolutions(store.as_ref())?;
            let receipts_reopened = crate::receipt_differences::reopen_changed(store.as_mut(), now())?;
            crate::audit::record_auto_receipt_reopens(
                control,
                job.tenant_id,
                &receipts_before,
                &receipts_reopened,
                now(),
            )?;
            let receipts_written =
                crate::receipt_differences::auto_write_off(store.as_mut(), &|c| limits.limit_minor("auto", c), now())?;
            crate::audit::record_auto_receipt_write_offs(control, job.tenant_id, &receipts_written, now())?;
            let categories: serde_json::Map<String, serde_json::Value> =
                summary.by_category.iter().map(|(c, n)| (c.name().to_owned(), serde_json::json!(n))).collect();
            // The run is saved: what it raises is queued for delivery, once per job (a job
            // run again after a crash saves its run again and raises the same alerts).
            let raised = crate::alerts::after_reconcile(
                control,
                store.as_ref(),
                job.tenant_id,
                &format!("job-{}", job.id),
                summary.as_of,
                settings.settings.aging.alert_after_days,
                now(),
            )?;
            Ok(Ok(serde_json::json!({
                "run_id": summary.run_id,
                "as_of": summary.as_of.to_string(),
                "orders": summary.order_count,
                "lines": summary.line_count,
                "differences": summary.difference_count(),
                "categories": categories,
                "receipt_differences": receipts.map_or(0, |r| r.difference_count()),
                "written_off_automatically": written.len(),
                "reopened_automatically": reopened.len() + receipts_reopened.len(),
                "receipts_written_off_automatically": receipts_written.len(),
                "alerts": raised.alerts,
                "alert_deliveries": raised.deliveries,
                "alerts_error": raised.config_error,
            })))
        }
        JobSpec::Import { uploads, mapping, profile } => {
            let (mapping, profile) = match import_settings(mapping.as_ref(), profile.as_ref()) {
                Ok(settings) => settings,
                Err(error) => return Ok(Err(error)),
            };
            let dir = backend.work_dir().join(format!("job-{}-{}-{}", job.tenant_id, job.id, job.attempts));
            let options = ImportOptions { store: None, mapping, profile, imported_at: rfc3339(now()) };
            let result = import_uploads(control, store.as_mut(), job, uploads, &options, &dir, owner, now);
            let _ = std::fs::remove_dir_all(&dir);
            // Payments among the documents pay the reviewed statements they belong to.
            if matches!(result, Ok(Ok(_))) {
                crate::statements::apply_waiting_payments(store.as_mut(), now())?;
            }
            result
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn import_uploads(
    control: &mut dyn tieout_store::control::ControlStore,
    store: &mut dyn tieout_store::Store,
    job: &Job,
    uploads: &[i64],
    base: &ImportOptions,
    dir: &std::path::Path,
    owner: &str,
    now: &dyn Fn() -> i64,
) -> Result<Result<serde_json::Value, String>, StoreError> {
    let io = |error: std::io::Error| StoreError::Corrupt(format!("{}: {error}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut files = Vec::new();
    for (index, id) in uploads.iter().enumerate() {
        let (Some(upload), Some(content)) =
            (control.upload(job.tenant_id, *id)?, control.upload_content(job.tenant_id, *id)?)
        else {
            return Ok(Err(format!("upload {id} does not exist")));
        };
        // The original name matters (reports name it); a folder per file keeps equal names apart.
        let folder = dir.join(index.to_string());
        std::fs::create_dir_all(&folder).map_err(io)?;
        let path = folder.join(safe_name(&upload.name));
        std::fs::write(&path, &content).map_err(io)?;
        let options = ImportOptions { store: upload.store.clone(), ..base.clone() };
        files.push((upload.id, path, options));
    }
    let jobs: Vec<(std::path::PathBuf, &ImportOptions)> =
        files.iter().map(|(_, path, options)| (path.clone(), options)).collect();
    let mut progress_error = None;
    let reports = import_jobs(store, &jobs, &mut |progress, report| {
        let name = report.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let message = format!("{} of {} files: {name}", progress.files_done, progress.files_total);
        if let Err(error) = control.job_progress(
            job.tenant_id,
            job.id,
            owner,
            progress.bytes_done as i64,
            progress.bytes_total as i64,
            &message,
            now() + LEASE_SECONDS,
        ) {
            progress_error = Some(error);
        }
    })
    .map_err(|crate::import::ImportError::Store(error)| error)?;
    if let Some(error) = progress_error {
        return Err(error);
    }
    let outcomes: Vec<FileOutcome> = reports
        .iter()
        .zip(&files)
        .map(|(report, (upload_id, path, _))| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let (outcome, summary, diagnostics) = match &report.outcome {
                Outcome::Imported { summary, warnings, .. } => {
                    ("imported", summary.clone(), warnings.iter().map(DiagnosticView::from).collect())
                }
                Outcome::AlreadyImported { previous, .. } => {
                    ("already_imported", format!("already imported as {}", previous.name), Vec::new())
                }
                Outcome::Refused { diagnostics, .. } => (
                    "refused",
                    "refused: nothing stored".to_owned(),
                    diagnostics.iter().map(DiagnosticView::from).collect(),
                ),
            };
            FileOutcome { upload_id: *upload_id, name, outcome: outcome.to_owned(), summary, diagnostics }
        })
        .collect();
    let refused = outcomes.iter().filter(|o| o.outcome == "refused").count();
    Ok(Ok(serde_json::json!({ "files": outcomes, "refused": refused })))
}

/// A file name without directories or characters a file system may refuse.
pub fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().map(|c| if c.is_control() || c == ':' { '_' } else { c }).collect();
    let cleaned = cleaned.trim_matches('.').to_owned();
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned.chars().take(200).collect()
    }
}
