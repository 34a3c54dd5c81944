//! Alerts (提醒): what raises one, a tenant's alert configuration, and the delivery of
//! each alert by webhook and by e-mail through a queue in the control database.
//!
//! # What raises an alert
//! After each successful reconciliation job ([`after_reconcile`], called by
//! [`crate::jobs`]), on the run just saved:
//! * `difference_above_threshold` — an order with a difference whose **amount in
//!   question** is above the tenant's `difference_above` for its currency. The amount in
//!   question ([`amount_in_question_minor`]) adds what each finding puts in doubt:
//!   settled sales that should not exist (a cancelled order, an order no export has) in
//!   full, otherwise |settled sales − order amount|; refunds settled beyond what the ERP
//!   wrote off; and |fees charged − the schedule's expectation| when a schedule gave one.
//!   It is what would have to be claimed back or written off. Orders shipped and not
//!   settled are left to the aging alert: they are a timing item, not a disagreement.
//! * `payout_missing` — a payout (or a withdrawal) not received past its expected date: a
//!   receipt result `missing`.
//! * `aging_over_limit` — per store, marketplace and currency, the orders shipped and not
//!   settled for more than `aging_days` (the aging report's alert columns,
//!   [`crate::month_end::aging_tables`]), when there are more than `aging_orders_max` of
//!   them or they add up to more than `aging_amount_above`.
//! * `statement_awaiting_review` — raised by the statements use case, which builds the
//!   alert with [`statement_awaiting_review`] and queues it with [`raise`].
//!
//! At most [`ALERTS_PER_KIND_MAX`] alerts of a kind per run name one object each (the
//! largest amounts first); the others are summed up in one more alert, so that a bad
//! month sends a few messages, not a thousand.
//!
//! # Sent once per run
//! An alert's id is its scope, kind and object; the scope of a reconciliation's alerts is
//! its job (`job-12`: one job saves one run, and a job run again after a crash replaces
//! its run). One delivery is queued per alert and target (each webhook; the e-mail's
//! recipients) under a key made of the three, and the control plane queues a key once: the
//! same alert is not sent twice for the same run, even when its job runs twice. The next
//! reconciliation raises it again while its cause lasts (a reminder, under a new id).
//!
//! # Delivery
//! Any server process claims due deliveries ([`deliver_due`]) under a lease, as jobs are
//! claimed. A webhook's 2xx answer, or the relay accepting the e-mail, is delivered;
//! anything else (another status, a refusal, a timeout) is a failed attempt, tried again
//! after 30 s, 2 min, 8 min, 32 min and 2 h 8 min ([`backoff_seconds`]), and failed for
//! good after [`DELIVERY_ATTEMPTS_MAX`] attempts. A delivery whose webhook or e-mail
//! section was removed from the configuration meanwhile is failed at once. Times are the
//! caller's clock.
//!
//! # Configuration
//! The tenant setting `alerts` (TOML, [`parse_config`]; errors name line and column):
//! ```toml
//! [[webhook]]
//! url = "http://127.0.0.1:8080/hooks/tieout"   # http:// only: see `webhook`
//! secret = "at least 16 characters"            # signs each request (HMAC-SHA256)
//!
//! [email]
//! smtp = "127.0.0.1:25"                        # a relay: no TLS, no AUTH (see `smtp`)
//! from = "tieout@acme.example"
//! to = ["finance@acme.example"]
//!
//! [thresholds]
//! difference_above = { USD = "100.00", EUR = "80.00" }
//! aging_days = 30                              # default: tieout.toml's [aging] alert_after_days
//! aging_orders_max = 0                         # more orders than this over aging_days: an alert
//! aging_amount_above = { USD = "5000.00" }     # or more than this amount
//! ```
//! Without `difference_above` for a currency, no difference alert in it; without
//! `aging_orders_max` and `aging_amount_above`, no aging alert; payouts missing are always
//! alerted. Secrets are never shown back: [`masked_text`] puts `"********"` in their place,
//! and a configuration sent back with the mask keeps the stored secret of the same URL
//! ([`replace_config`]).
//!
//! Plain HTTP and SMTP only, to a relay: tieout has no TLS stack yet (see [`webhook`] and
//! [`smtp`]).

pub mod smtp;
pub mod webhook;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tieout_core::money::parse_amount_minor;
use tieout_core::receipts::ReceiptStatus;
use tieout_core::reconcile::Category;
use tieout_core::table::{Cell, Table};
use tieout_core::{Currency, Money, NumberStyle};
use tieout_store::control::{AlertDelivery, AttemptOutcome, ControlStore, NewDelivery};
use tieout_store::{OrderResultRow, ReceiptRow, Store, StoreError};

use crate::backend::Backend;
use crate::views::amount;

pub use tieout_store::control::DELIVERY_ATTEMPTS_MAX;

/// The control-plane setting holding a tenant's alert configuration (TOML).
pub const ALERTS_SETTING: &str = "alerts";
/// The name the configuration is reported under (errors name it with line and column).
pub const ALERTS_FILE_NAME: &str = "alerts.toml";
/// What a secret reads as when the configuration is shown.
pub const SECRET_MASK: &str = "********";
pub const SECRET_LENGTH_MIN: usize = 16;
pub const CONFIG_BYTES_MAX: usize = 64 * 1024;
pub const URL_LENGTH_MAX: usize = 2000;
pub const WEBHOOKS_MAX: usize = 10;
pub const RECIPIENTS_MAX: usize = 20;
pub const ADDRESS_LENGTH_MAX: usize = 254;
pub const AGING_DAYS_MAX: i64 = 3650;
/// Alerts of one kind per run that name one object each; the rest are summed up in one.
pub const ALERTS_PER_KIND_MAX: usize = 20;
/// How long a claimed delivery is held without news (longer than an attempt can take:
/// an SMTP session is a few exchanges of at most [`DELIVERY_TIMEOUT`] each).
pub const DELIVERY_LEASE_SECONDS: i64 = 120;
/// Connecting, and each read or write, gives up after this long.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The wait before the second attempt; each later wait is [`BACKOFF_FACTOR`] times the
/// one before.
pub const BACKOFF_FIRST_SECONDS: i64 = 30;
pub const BACKOFF_FACTOR: i64 = 4;
/// A recorded error is cut to this many characters.
const ERROR_CHARS_MAX: usize = 500;

const _: () = assert!(DELIVERY_TIMEOUT.as_secs() * 6 < DELIVERY_LEASE_SECONDS as u64);
const _: () = assert!(URL_LENGTH_MAX < CONFIG_BYTES_MAX);

// ---------------------------------------------------------------------------------------
// Configuration.

/// A webhook: where to POST, and the secret that signs each request. Its `Debug` never
/// shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).field("secret", &SECRET_MASK).finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSettings {
    /// The relay, `host:port`.
    pub smtp: String,
    pub from: String,
    pub to: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// An order's amount in question above this (per currency) is an alert.
    pub difference_above_minor: BTreeMap<Currency, i64>,
    /// Orders shipped more than this many days ago and not settled are aging alerts;
    /// `None`: tieout.toml's `[aging] alert_after_days`.
    pub aging_days: Option<i64>,
    pub aging_orders_max: Option<i64>,
    pub aging_amount_above_minor: BTreeMap<Currency, i64>,
}

/// A tenant's alert configuration, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertConfig {
    pub webhooks: Vec<Webhook>,
    pub email: Option<EmailSettings>,
    pub thresholds: Thresholds,
}

impl AlertConfig {
    /// Whether alerts go anywhere.
    pub fn has_channels(&self) -> bool {
        !self.webhooks.is_empty() || self.email.is_some()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}:{column}: error: {message}")]
pub struct AlertConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

// The file as written. No `Debug`: it holds secrets.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    webhook: Vec<WebhookEntry>,
    email: Option<EmailEntry>,
    #[serde(default)]
    thresholds: ThresholdsEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookEntry {
    url: toml::Spanned<String>,
    secret: toml::Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailEntry {
    smtp: toml::Spanned<String>,
    from: toml::Spanned<String>,
    to: toml::Spanned<Vec<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsEntry {
    #[serde(default)]
    difference_above: BTreeMap<String, toml::Spanned<String>>,
    aging_days: Option<toml::Spanned<i64>>,
    aging_orders_max: Option<toml::Spanned<i64>>,
    #[serde(default)]
    aging_amount_above: BTreeMap<String, toml::Spanned<String>>,
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn read_file(file: &str, text: &str) -> Result<ConfigFile, AlertConfigError> {
    if text.len() > CONFIG_BYTES_MAX {
        return Err(AlertConfigError {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: format!("the alert configuration has at most {CONFIG_BYTES_MAX} bytes"),
        });
    }
    toml::from_str(text).map_err(|error| {
        let (line, column) = error.span().map_or((0, 0), |span| line_column(text, span.start));
        AlertConfigError { file: file.to_owned(), line, column, message: error.message().trim().to_owned() }
    })
}

/// Whether `text` is one plain e-mail address (`local@domain`, nothing a header or an
/// SMTP command could be bent with).
pub fn valid_address(text: &str) -> bool {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c);
    match text.split_once('@') {
        Some((local, domain)) => {
            text.len() <= ADDRESS_LENGTH_MAX
                && !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !text.chars().any(forbidden)
        }
        None => false,
    }
}

/// Checks and reads a configuration; the first error names the line and column.
pub fn parse_config(file: &str, text: &str) -> Result<AlertConfig, AlertConfigError> {
    let parsed = read_file(file, text)?;
    let at = |span: Range<usize>, message: String| {
        let (line, column) = line_column(text, span.start);
        AlertConfigError { file: file.to_owned(), line, column, message }
    };
    if parsed.webhook.len() > WEBHOOKS_MAX {
        let span = parsed.webhook[WEBHOOKS_MAX].url.span();
        return Err(at(span, format!("at most {WEBHOOKS_MAX} webhooks")));
    }
    let mut webhooks: Vec<Webhook> = Vec::new();
    for entry in &parsed.webhook {
        let url = entry.url.get_ref();
        webhook::Url::parse(url).map_err(|message| at(entry.url.span(), message))?;
        if webhooks.iter().any(|w| w.url == *url) {
            return Err(at(entry.url.span(), format!("the webhook '{url}' is listed twice")));
        }
        let secret = entry.secret.get_ref();
        if secret == SECRET_MASK {
            return Err(at(
                entry.secret.span(),
                format!(
                    "the secret of '{url}' is masked as shown, and no stored webhook has this URL: write the secret"
                ),
            ));
        }
        if secret.chars().count() < SECRET_LENGTH_MIN || secret.chars().any(char::is_control) {
            return Err(at(
                entry.secret.span(),
                format!("a webhook secret has at least {SECRET_LENGTH_MIN} characters and no control characters"),
            ));
        }
        webhooks.push(Webhook { url: url.clone(), secret: secret.clone() });
    }
    let email = match &parsed.email {
        None => None,
        Some(entry) => Some(email_settings(entry, &at)?),
    };
    let thresholds = thresholds(&parsed.thresholds, &at)?;
    Ok(AlertConfig { webhooks, email, thresholds })
}

fn email_settings(
    entry: &EmailEntry,
    at: &dyn Fn(Range<usize>, String) -> AlertConfigError,
) -> Result<EmailSettings, AlertConfigError> {
    let smtp = entry.smtp.get_ref();
    let relay_error = || {
        at(
            entry.smtp.span(),
            format!(
                "smtp is the relay's host:port, like \"127.0.0.1:25\", not '{smtp}' (plain SMTP to a relay: tieout \
                 has no TLS stack yet)"
            ),
        )
    };
    let (host, port) = smtp.rsplit_once(':').ok_or_else(relay_error)?;
    if host.is_empty()
        || host.contains(['/', '@'])
        || host.chars().any(|c| c.is_whitespace() || c.is_control())
        || port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(relay_error());
    }
    let from = entry.from.get_ref();
    if !valid_address(from) {
        return Err(at(entry.from.span(), format!("from: '{from}' is not a plain e-mail address")));
    }
    let to = entry.to.get_ref();
    if to.is_empty() || to.len() > RECIPIENTS_MAX {
        return Err(at(entry.to.span(), format!("to lists 1 to {RECIPIENTS_MAX} recipients")));
    }
    for (index, address) in to.iter().enumerate() {
        if !valid_address(address) {
            return Err(at(entry.to.span(), format!("to: '{address}' is not a plain e-mail address")));
        }
        if to[..index].contains(address) {
            return Err(at(entry.to.span(), format!("to: '{address}' is listed twice")));
        }
    }
    Ok(EmailSettings { smtp: smtp.clone(), from: from.clone(), to: to.clone() })
}

fn amounts_by_currency(
    name: &str,
    entries: &BTreeMap<String, toml::Spanned<String>>,
    at: &dyn Fn(Range<usize>, String) -> AlertConfigError,
) -> Result<BTreeMap<Currency, i64>, AlertConfigError> {
    let mut amounts = BTreeMap::new();
    for (code, text) in entries {
        let currency = Currency::from_code(code)
            .map_err(|_| at(text.span(), format!("{name}: '{code}' is not a currency tieout knows")))?;
        let minor = parse_amount_minor(text.get_ref(), NumberStyle::Dot, currency.exponent())
            .ok()
            .filter(|minor| *minor >= 0)
            .ok_or_else(|| {
                at(
                    text.span(),
                    format!("{name}.{code}: '{}' is not an amount like \"100.00\" (not negative)", text.get_ref()),
                )
            })?;
        amounts.insert(currency, minor);
    }
    Ok(amounts)
}

fn thresholds(
    entry: &ThresholdsEntry,
    at: &dyn Fn(Range<usize>, String) -> AlertConfigError,
) -> Result<Thresholds, AlertConfigError> {
    if let Some(days) = &entry.aging_days {
        if !(0..=AGING_DAYS_MAX).contains(days.get_ref()) {
            return Err(at(days.span(), format!("aging_days is 0 to {AGING_DAYS_MAX}")));
        }
    }
    if let Some(count) = &entry.aging_orders_max {
        if *count.get_ref() < 0 {
            return Err(at(count.span(), "aging_orders_max is not negative".to_owned()));
        }
    }
    Ok(Thresholds {
        difference_above_minor: amounts_by_currency("difference_above", &entry.difference_above, at)?,
        aging_days: entry.aging_days.as_ref().map(|d| *d.get_ref()),
        aging_orders_max: entry.aging_orders_max.as_ref().map(|c| *c.get_ref()),
        aging_amount_above_minor: amounts_by_currency("aging_amount_above", &entry.aging_amount_above, at)?,
    })
}

/// The span of a string value's literal, quotes included.
fn literal_span(text: &str, span: Range<usize>) -> Range<usize> {
    let quoted = |at: usize| matches!(text.as_bytes().get(at), Some(b'"' | b'\''));
    if quoted(span.start) || span.start == 0 || !quoted(span.start - 1) {
        span
    } else {
        span.start - 1..span.end + 1
    }
}

/// A TOML basic string holding `value`.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` with each span replaced (spans do not overlap).
fn splice(text: &str, mut replacements: Vec<(Range<usize>, String)>) -> String {
    replacements.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (span, replacement) in replacements {
        out.push_str(&text[from..span.start]);
        out.push_str(&replacement);
        from = span.end;
    }
    out.push_str(&text[from..]);
    out
}

/// The configuration as it may be shown: every webhook secret replaced by
/// `"********"`, the rest as written. A text that cannot be read (never stored: it is
/// checked first) is not shown at all.
pub fn masked_text(text: &str) -> String {
    match read_file(ALERTS_FILE_NAME, text) {
        Ok(parsed) => splice(
            text,
            parsed
                .webhook
                .iter()
                .map(|entry| (literal_span(text, entry.secret.span()), toml_string(SECRET_MASK)))
                .collect(),
        ),
        Err(_) => "# The stored alert configuration cannot be read: write it again.\n".to_owned(),
    }
}

/// What to store for a new configuration `text`: each secret given as the mask
/// (`"********"`, as [`masked_text`] shows it) is the secret `stored` has for the same
/// URL; then the whole is checked. Returns the text to store and the configuration.
pub fn replace_config(stored: Option<&str>, text: &str) -> Result<(String, AlertConfig), AlertConfigError> {
    let parsed = read_file(ALERTS_FILE_NAME, text)?;
    let stored = stored.and_then(|s| parse_config(ALERTS_FILE_NAME, s).ok()).unwrap_or_default();
    let replacements: Vec<(Range<usize>, String)> = parsed
        .webhook
        .iter()
        .filter(|entry| entry.secret.get_ref() == SECRET_MASK)
        .filter_map(|entry| {
            let known = stored.webhooks.iter().find(|w| w.url == *entry.url.get_ref())?;
            Some((literal_span(text, entry.secret.span()), toml_string(&known.secret)))
        })
        .collect();
    let merged = splice(text, replacements);
    let config = parse_config(ALERTS_FILE_NAME, &merged)?;
    Ok((merged, config))
}

/// The tenant's configuration: `None` when it has none; an error when the stored text
/// cannot be read (it was checked when stored, so a newer tieout wrote it).
pub fn load_config(control: &mut dyn ControlStore, tenant: i64) -> Result<Option<AlertConfig>, AlertError> {
    match control.tenant_setting(tenant, ALERTS_SETTING)? {
        None => Ok(None),
        Some(text) => Ok(Some(parse_config(ALERTS_FILE_NAME, &text)?)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Config(#[from] AlertConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

// ---------------------------------------------------------------------------------------
// Alerts.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    DifferenceAboveThreshold,
    PayoutMissing,
    AgingOverLimit,
    StatementAwaitingReview,
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        AlertKind::DifferenceAboveThreshold,
        AlertKind::PayoutMissing,
        AlertKind::AgingOverLimit,
        AlertKind::StatementAwaitingReview,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AlertKind::DifferenceAboveThreshold => "difference_above_threshold",
            AlertKind::PayoutMissing => "payout_missing",
            AlertKind::AgingOverLimit => "aging_over_limit",
            AlertKind::StatementAwaitingReview => "statement_awaiting_review",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            AlertKind::DifferenceAboveThreshold => "差异超过阈值",
            AlertKind::PayoutMissing => "转账未到账",
            AlertKind::AgingOverLimit => "账龄超限",
            AlertKind::StatementAwaitingReview => "对账单待审核",
        }
    }

    pub fn parse(name: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Something a person should look at, in English and in Chinese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The tenant's slug.
    pub tenant: String,
    pub kind: AlertKind,
    /// What it is about: `order:ID`, `payout:SETTLEMENT`, `withdrawal:REF`,
    /// `aging:STORE/MARKETPLACE/CURRENCY`, `statement:ID`, or `KIND:others` for the sum
    /// of those over [`ALERTS_PER_KIND_MAX`].
    pub object: String,
    pub title: String,
    pub detail: String,
    pub title_zh: String,
    pub detail_zh: String,
}

impl Alert {
    /// The alert's id within `scope` (`job-12`): scope, kind and object.
    pub fn id(&self, scope: &str) -> String {
        format!("{scope}/{}/{}", self.kind.name(), self.object)
    }
}

/// What a webhook receives (and what the delivery log keeps): the alert with its id,
/// tenant and time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPayload {
    pub id: String,
    pub tenant: String,
    pub kind: String,
    pub title: String,
    pub detail: String,
    pub object: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub title_zh: String,
    pub detail_zh: String,
}

fn rfc3339(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn money(minor: i64, currency: Currency) -> String {
    format!("{} {}", amount(minor, currency), currency.code())
}

/// What an order's difference puts in question, in its currency (see the module
/// documentation); `None` when it has no difference, or is only shipped and not settled
/// (the aging alert's part).
pub fn amount_in_question_minor(order: &OrderResultRow) -> Option<i64> {
    let differences: Vec<Category> = order.flags.iter().filter(|c| c.is_difference()).collect();
    if differences.iter().all(|c| *c == Category::ShippedNotSettled) {
        return None;
    }
    let has = |category: Category| differences.contains(&category);
    let sales = if has(Category::CancelledButSettled) || order.order_amount_minor.is_none() {
        order.settled_amount_minor.saturating_abs()
    } else if has(Category::AmountMismatch) || has(Category::DuplicateSettlementLine) {
        order.settled_amount_minor.saturating_sub(order.order_amount_minor.unwrap_or(0)).saturating_abs()
    } else {
        0
    };
    let refunds = if has(Category::RefundedNotWrittenOff) {
        order.refunds_settled_minor.saturating_abs().saturating_sub(order.written_off_minor.saturating_abs()).max(0)
    } else {
        0
    };
    let fees = match (has(Category::FeeAnomaly), order.fees_expected_minor) {
        (true, Some(expected)) => order.fees_charged_minor.saturating_sub(expected).saturating_abs(),
        _ => 0,
    };
    Some(sales.saturating_add(refunds).saturating_add(fees))
}

/// Keeps the first [`ALERTS_PER_KIND_MAX`] of `alerts` (sorted by weight, largest
/// first) and sums up the others in one alert made by `others`.
fn capped(mut alerts: Vec<(i64, Alert)>, others: impl Fn(&[Alert]) -> Alert) -> Vec<Alert> {
    alerts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.object.cmp(&b.1.object)));
    let mut alerts: Vec<Alert> = alerts.into_iter().map(|(_, alert)| alert).collect();
    if alerts.len() > ALERTS_PER_KIND_MAX {
        let rest = alerts.split_off(ALERTS_PER_KIND_MAX);
        alerts.push(others(&rest));
    }
    alerts
}

fn listed(alerts: &[Alert]) -> String {
    let mut names: Vec<&str> =
        alerts.iter().take(10).map(|a| a.object.split_once(':').map_or("", |(_, o)| o)).collect();
    if alerts.len() > 10 {
        names.push("…");
    }
    names.join(", ")
}

/// Orders whose amount in question is above the threshold of their currency.
pub fn difference_alerts(tenant: &str, orders: &[OrderResultRow], thresholds: &Thresholds) -> Vec<Alert> {
    let mut found = Vec::new();
    for order in orders {
        let Some(limit) = thresholds.difference_above_minor.get(&order.currency) else { continue };
        let Some(question) = amount_in_question_minor(order).filter(|q| q > limit) else { continue };
        let (id, currency) = (order.order_id.to_string(), order.currency);
        let ordered = order.order_amount_minor.map_or_else(|| "none".to_owned(), |m| money(m, currency));
        let fees = match order.fees_expected_minor {
            Some(expected) => format!(
                ", fees charged {} against {} expected",
                money(order.fees_charged_minor, currency),
                money(expected, currency)
            ),
            None => String::new(),
        };
        let alert = Alert {
            tenant: tenant.to_owned(),
            kind: AlertKind::DifferenceAboveThreshold,
            object: format!("order:{id}"),
            title: format!("Order {id}: difference {} above {}", money(question, currency), money(*limit, currency)),
            detail: format!(
                "Order {id} of {} ({}) is {}: {}. The amount in question is {} (ordered {ordered}, settled sales {}, \
                 refunds settled {}{fees}), above the threshold of {}.",
                order.store,
                order.marketplace,
                order.category.name(),
                crate::report::explanation_text(order),
                money(question, currency),
                money(order.settled_amount_minor, currency),
                money(order.refunds_settled_minor, currency),
                money(*limit, currency),
            ),
            title_zh: format!("订单 {id} 差异 {} 超过阈值 {}", money(question, currency), money(*limit, currency)),
            detail_zh: format!(
                "订单 {id}（{}，{}）为「{}」：待核差额 {}（订单金额 {ordered}，已结算销售 {}，已结算退款 {}），超过阈值 {}。",
                order.store,
                order.marketplace,
                order.category.chinese(),
                money(question, currency),
                money(order.settled_amount_minor, currency),
                money(order.refunds_settled_minor, currency),
                money(*limit, currency),
            ),
        };
        found.push((question, alert));
    }
    capped(found, |rest| Alert {
        tenant: tenant.to_owned(),
        kind: AlertKind::DifferenceAboveThreshold,
        object: "order:others".to_owned(),
        title: format!("{} more orders with a difference above the threshold", rest.len()),
        detail: format!(
            "Besides the {ALERTS_PER_KIND_MAX} largest, {} more orders have a difference above the threshold: {}. The \
             differences list has them all.",
            rest.len(),
            listed(rest)
        ),
        title_zh: format!("另有 {} 笔订单差异超过阈值", rest.len()),
        detail_zh: format!(
            "除差额最大的 {ALERTS_PER_KIND_MAX} 笔外，另有 {} 笔订单差异超过阈值：{}。差异列表中有全部明细。",
            rest.len(),
            listed(rest)
        ),
    })
}

/// Payouts and withdrawals whose receipt is missing past its expected date.
pub fn payout_alerts(tenant: &str, receipts: &[ReceiptRow]) -> Vec<Alert> {
    let mut found = Vec::new();
    for result in receipts.iter().filter(|r| r.status == ReceiptStatus::Missing) {
        let expected =
            result.expected.map_or_else(|| "an unknown amount".to_owned(), |m| money(m.amount_minor, m.currency));
        let weight = result.expected.map_or(0, |m| m.amount_minor.saturating_abs());
        let alert = if let Some(withdrawal) = result.withdrawals.first() {
            let reference = if withdrawal.entry_ref.is_empty() {
                withdrawal.entry_id.to_string()
            } else {
                withdrawal.entry_ref.clone()
            };
            let booked = withdrawal.booking_date.map_or_else(String::new, |d| format!(", booked {d}"));
            let booked_zh = withdrawal.booking_date.map_or_else(String::new, |d| format!("，记账日 {d}"));
            Alert {
                tenant: tenant.to_owned(),
                kind: AlertKind::PayoutMissing,
                object: format!("withdrawal:{reference}"),
                title: format!("Withdrawal missing: {reference}, {expected}"),
                detail: format!(
                    "The withdrawal {reference} of {expected} ({}, line {}{booked}) has not arrived in any imported \
                     statement of the receiving account, past the days the receipt rules allow: it is missing. Check \
                     the bank statement, or ask the payment provider.",
                    withdrawal.file_name, withdrawal.line
                ),
                title_zh: format!("提现未到账：{reference}，{expected}"),
                detail_zh: format!(
                    "提现 {reference}（{expected}，{} 第 {} 行{booked_zh}）在已导入的收款账户流水中未到账，已超过到账规则允许的天数。请核对银行流水或联系支付服务商。",
                    withdrawal.file_name, withdrawal.line
                ),
            }
        } else if let Some(first) = result.settlements.first() {
            let ids: Vec<String> = result.settlements.iter().map(|s| s.settlement_id.to_string()).collect();
            let ids = ids.join("+");
            let deposit = first.deposit_date.map_or_else(String::new, |d| format!(", deposit date {d}"));
            let deposit_zh = first.deposit_date.map_or_else(String::new, |d| format!("，转账日 {d}"));
            Alert {
                tenant: tenant.to_owned(),
                kind: AlertKind::PayoutMissing,
                object: format!("payout:{ids}"),
                title: format!("Payout missing: settlement {ids} of {}, {expected}", first.store),
                detail: format!(
                    "The payout of settlement {ids} ({}, {expected}{deposit}) has not arrived in any imported bank or \
                     wallet statement, past the days the receipt rules allow: it is missing. Check the bank \
                     statement, or ask the marketplace.",
                    first.store
                ),
                title_zh: format!("转账未到账：店铺 {} 结算 {ids}，{expected}", first.store),
                detail_zh: format!(
                    "结算 {ids}（{}，{expected}{deposit_zh}）的转账在已导入的银行或钱包流水中未到账，已超过到账规则允许的天数。请核对银行流水或联系平台。",
                    first.store
                ),
            }
        } else {
            continue;
        };
        found.push((weight, alert));
    }
    capped(found, |rest| Alert {
        tenant: tenant.to_owned(),
        kind: AlertKind::PayoutMissing,
        object: "payout:others".to_owned(),
        title: format!("{} more payouts missing", rest.len()),
        detail: format!(
            "Besides the {ALERTS_PER_KIND_MAX} largest, {} more payouts or withdrawals are missing: {}. The receipts \
             report lists them all.",
            rest.len(),
            listed(rest)
        ),
        title_zh: format!("另有 {} 笔转账未到账", rest.len()),
        detail_zh: format!(
            "除金额最大的 {ALERTS_PER_KIND_MAX} 笔外，另有 {} 笔转账或提现未到账：{}。到账报表中有全部明细。",
            rest.len(),
            listed(rest)
        ),
    })
}

/// Groups of the aging summary (`aging_tables`' first table) whose orders shipped and
/// not settled for more than `days` are over the limits.
pub fn aging_alerts(tenant: &str, summary: &Table, thresholds: &Thresholds, days: i64, as_of: NaiveDate) -> Vec<Alert> {
    let column = |name: &str| summary.columns.iter().position(|c| c == name);
    let (Some(what), Some(count), Some(total)) = (column("what"), column("alert_count"), column("alert_amount")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for row in &summary.rows {
        if row[what].plain() != "shipped_not_settled" {
            continue;
        }
        let (Cell::Integer(orders), Cell::Money { amount_minor, currency }) = (&row[count], &row[total]) else {
            continue;
        };
        let (orders, amount_minor, currency) = (*orders, *amount_minor, *currency);
        let over_count = thresholds.aging_orders_max.filter(|max| orders > *max);
        let over_amount = thresholds.aging_amount_above_minor.get(&currency).filter(|limit| amount_minor > **limit);
        if orders == 0 || (over_count.is_none() && over_amount.is_none()) {
            continue;
        }
        // Columns: store, marketplace, currency, what, … (see `aging_tables`).
        let (store, marketplace) = (row[0].plain(), row[1].plain());
        let limit = match (over_count, over_amount) {
            (Some(max), _) => format!("more than {max} orders"),
            (None, Some(limit)) => format!("more than {}", money(*limit, currency)),
            (None, None) => unreachable!("one limit is passed"),
        };
        let limit_zh = match (over_count, over_amount) {
            (Some(max), _) => format!("超过 {max} 笔"),
            (None, Some(limit)) => format!("超过 {}", money(*limit, currency)),
            (None, None) => unreachable!("one limit is passed"),
        };
        let total = money(amount_minor, currency);
        found.push((
            amount_minor,
            Alert {
                tenant: tenant.to_owned(),
                kind: AlertKind::AgingOverLimit,
                object: format!("aging:{store}/{marketplace}/{}", currency.code()),
                title: format!("Aging over limit: {orders} orders of {store} {marketplace} unsettled over {days} days ({total})"),
                detail: format!(
                    "{orders} orders of {store} on {marketplace} were shipped more than {days} days before {as_of} and \
                     are not settled, {total} together; the limit is {limit}. The aging report lists them."
                ),
                title_zh: format!("账龄超限：{store} {marketplace} 有 {orders} 笔订单发货超过 {days} 天未结算（{total}）"),
                detail_zh: format!(
                    "{store} 在 {marketplace} 有 {orders} 笔订单于 {as_of} 前超过 {days} 天发货且尚未结算，合计 {total}；限额为{limit_zh}。账龄报表中有明细。"
                ),
            },
        ));
    }
    capped(found, |rest| Alert {
        tenant: tenant.to_owned(),
        kind: AlertKind::AgingOverLimit,
        object: "aging:others".to_owned(),
        title: format!("{} more stores and marketplaces with aging over the limit", rest.len()),
        detail: format!("Also over the aging limit: {}. The aging report lists them.", listed(rest)),
        title_zh: format!("另有 {} 个店铺和站点账龄超限", rest.len()),
        detail_zh: format!("账龄同样超限的还有：{}。账龄报表中有明细。", listed(rest)),
    })
}

/// The alert for a statement (对账单) submitted for review: built by the statements use
/// case, queued with [`raise`] (scope: the statement's submission, e.g.
/// `statement-42-review-1`).
pub fn statement_awaiting_review(tenant: &str, statement_id: i64, counterparty: &str, total: Money) -> Alert {
    let total = money(total.amount_minor, total.currency);
    Alert {
        tenant: tenant.to_owned(),
        kind: AlertKind::StatementAwaitingReview,
        object: format!("statement:{statement_id}"),
        title: format!("Statement {statement_id} for {counterparty} awaits review"),
        detail: format!(
            "Statement {statement_id} for {counterparty}, total {total}, is pending review: its lines are locked. Review \
             it and mark it reviewed, or void it."
        ),
        title_zh: format!("对账单 {statement_id}（{counterparty}）待审核"),
        detail_zh: format!(
            "对账单 {statement_id}（{counterparty}，合计 {total}）已提交审核，明细已锁定。请审核后标记为已审核，或作废。"
        ),
    }
}

/// Every alert of a run, in the order kinds are listed (differences, payouts, aging).
pub fn evaluate(
    store: &dyn Store,
    tenant: &str,
    thresholds: &Thresholds,
    as_of: NaiveDate,
    aging_days_default: i64,
) -> Result<Vec<Alert>, StoreError> {
    let mut alerts = Vec::new();
    if !thresholds.difference_above_minor.is_empty() {
        alerts.extend(difference_alerts(tenant, &store.order_results(None)?, thresholds));
    }
    alerts.extend(payout_alerts(tenant, &store.receipt_results()?));
    if thresholds.aging_orders_max.is_some() || !thresholds.aging_amount_above_minor.is_empty() {
        let days = thresholds.aging_days.unwrap_or(aging_days_default);
        let tables = crate::month_end::aging_tables(store, as_of, days, None)?;
        if let Some(summary) = tables.first() {
            alerts.extend(aging_alerts(tenant, summary, thresholds, days, as_of));
        }
    }
    Ok(alerts)
}

// ---------------------------------------------------------------------------------------
// Queueing.

/// What raising alerts did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Raised {
    pub alerts: usize,
    /// Deliveries queued (one per alert and target; fewer when queued before).
    pub deliveries: usize,
    /// The stored configuration could not be read: nothing was raised.
    pub config_error: Option<String>,
}

fn dedup_key(id: &str, channel: &str, target: &str) -> String {
    let digest = Sha256::digest(format!("{id}\n{channel}\n{target}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The deliveries of `alerts` (within `scope`) to every target of `config`; an alert
/// listed twice is delivered once.
pub fn deliveries_for(config: &AlertConfig, alerts: &[Alert], scope: &str, now: i64) -> Vec<NewDelivery> {
    let mut targets: Vec<(&str, String)> = config.webhooks.iter().map(|w| ("webhook", w.url.clone())).collect();
    if let Some(email) = &config.email {
        targets.push(("email", email.to.join(", ")));
    }
    let mut seen = HashSet::new();
    let mut deliveries = Vec::new();
    for alert in alerts {
        let id = alert.id(scope);
        if !seen.insert(id.clone()) {
            continue;
        }
        let payload = AlertPayload {
            id: id.clone(),
            tenant: alert.tenant.clone(),
            kind: alert.kind.name().to_owned(),
            title: alert.title.clone(),
            detail: alert.detail.clone(),
            object: alert.object.clone(),
            created_at: rfc3339(now),
            title_zh: alert.title_zh.clone(),
            detail_zh: alert.detail_zh.clone(),
        };
        let payload = serde_json::to_string(&payload).expect("a payload is plain strings");
        for (channel, target) in &targets {
            deliveries.push(NewDelivery {
                dedup_key: dedup_key(&id, channel, target),
                kind: alert.kind.name().to_owned(),
                channel: (*channel).to_owned(),
                target: target.clone(),
                payload: payload.clone(),
            });
        }
    }
    deliveries
}

/// Queues `alerts` (ids within `scope`) for every target of the tenant's configuration,
/// due now. Nothing is queued for a tenant without one. What the statements use case
/// calls with [`statement_awaiting_review`].
pub fn raise(
    control: &mut dyn ControlStore,
    tenant: i64,
    alerts: &[Alert],
    scope: &str,
    now: i64,
) -> Result<Raised, StoreError> {
    match load_config(control, tenant) {
        Ok(Some(config)) => raise_with(control, tenant, &config, alerts, scope, now),
        Ok(None) => Ok(Raised::default()),
        Err(AlertError::Store(error)) => Err(error),
        Err(AlertError::Config(error)) => Ok(Raised { config_error: Some(error.to_string()), ..Raised::default() }),
    }
}

fn raise_with(
    control: &mut dyn ControlStore,
    tenant: i64,
    config: &AlertConfig,
    alerts: &[Alert],
    scope: &str,
    now: i64,
) -> Result<Raised, StoreError> {
    let deliveries = deliveries_for(config, alerts, scope, now);
    let queued =
        if deliveries.is_empty() { Vec::new() } else { control.enqueue_deliveries(tenant, &deliveries, now)? };
    tracing::info!(alerts = alerts.len(), queued = queued.len(), scope, "alerts raised");
    Ok(Raised { alerts: alerts.len(), deliveries: queued.len(), config_error: None })
}

/// After a reconciliation run of `tenant` (as of `as_of`, by the job `scope` names:
/// `job-12`): evaluates the run against the tenant's thresholds and queues what it
/// raises. Nothing is read for a tenant without alert channels.
pub fn after_reconcile(
    control: &mut dyn ControlStore,
    store: &dyn Store,
    tenant: i64,
    scope: &str,
    as_of: NaiveDate,
    aging_days_default: i64,
    now: i64,
) -> Result<Raised, StoreError> {
    let config = match load_config(control, tenant) {
        Ok(Some(config)) if config.has_channels() => config,
        Ok(_) => return Ok(Raised::default()),
        Err(AlertError::Store(error)) => return Err(error),
        Err(AlertError::Config(error)) => {
            tracing::warn!(%error, "alert configuration unreadable: no alerts raised");
            return Ok(Raised { config_error: Some(error.to_string()), ..Raised::default() });
        }
    };
    let _span = tracing::info_span!("alerts", tenant, scope).entered();
    let slug = control.tenant(tenant)?.map(|t| t.slug).unwrap_or_default();
    let alerts = evaluate(store, &slug, &config.thresholds, as_of, aging_days_default)?;
    raise_with(control, tenant, &config, &alerts, scope, now)
}

// ---------------------------------------------------------------------------------------
// Delivery.

/// The wait after a failed attempt `attempts` (1 for the first) before the next:
/// 30 s, 2 min, 8 min, 32 min, 2 h 8 min, …
pub fn backoff_seconds(attempts: i64) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 12)).unwrap_or(0);
    BACKOFF_FIRST_SECONDS.saturating_mul(BACKOFF_FACTOR.saturating_pow(exponent))
}

/// Why an attempt did not deliver.
enum Failure {
    /// The target refused or did not answer: try again later.
    Transient(String),
    /// The configuration no longer allows it: failed for good.
    Permanent(String),
}

fn permanent(message: impl Into<String>) -> Failure {
    Failure::Permanent(message.into())
}

/// One attempt of `delivery` with the tenant's stored configuration `text`, at `now`.
fn attempt(delivery: &AlertDelivery, text: Option<&str>, now: i64, timeout: Duration) -> Result<(), Failure> {
    let text = text.ok_or_else(|| permanent("the tenant has no alert configuration any more"))?;
    let config = parse_config(ALERTS_FILE_NAME, text)
        .map_err(|error| permanent(format!("the alert configuration cannot be read: {error}")))?;
    let payload: AlertPayload = serde_json::from_str(&delivery.payload)
        .map_err(|error| permanent(format!("the delivery's payload cannot be read: {error}")))?;
    match delivery.channel.as_str() {
        "webhook" => {
            let hook = config
                .webhooks
                .iter()
                .find(|w| w.url == delivery.target)
                .ok_or_else(|| permanent("the webhook is no longer in the alert configuration"))?;
            let url = webhook::Url::parse(&hook.url).map_err(permanent)?;
            webhook::post(&url, &hook.secret, &payload.kind, delivery.id, now, delivery.payload.as_bytes(), timeout)
                .map_err(Failure::Transient)
        }
        "email" => {
            let email = config.email.ok_or_else(|| permanent("the alert configuration has no [email] any more"))?;
            let message = email_message(&payload, &email, delivery, now);
            smtp::send(&email.smtp, &message, timeout).map_err(Failure::Transient)
        }
        other => Err(permanent(format!("unknown channel '{other}'"))),
    }
}

/// The e-mail of an alert: subject `[tieout] TITLE`, the text in English, then in
/// Chinese.
pub fn email_message(
    payload: &AlertPayload,
    email: &EmailSettings,
    delivery: &AlertDelivery,
    now: i64,
) -> smtp::Message {
    let kind_zh: &str = match AlertKind::parse(&payload.kind) {
        Some(kind) => kind.chinese(),
        None => &payload.kind,
    };
    let body = format!(
        "{title}\n\n{detail}\n\nTenant: {tenant}\nKind: {kind}\nAbout: {object}\nRaised: {created}\nAlert: {id}\n\n\
         ——\n\n{title_zh}\n\n{detail_zh}\n\n租户：{tenant}\n类型：{kind_zh}\n对象：{object}\n时间：{created}\n提醒编号：{id}\n\n\
         -- \ntieout, delivery {delivery} (attempt {attempt})\n",
        title = payload.title,
        detail = payload.detail,
        tenant = payload.tenant,
        kind = payload.kind,
        object = payload.object,
        created = payload.created_at,
        id = payload.id,
        title_zh = payload.title_zh,
        detail_zh = payload.detail_zh,
        delivery = delivery.id,
        attempt = delivery.attempts,
    );
    let domain = email.from.rsplit_once('@').map_or("tieout.invalid", |(_, domain)| domain);
    smtp::Message {
        from: email.from.clone(),
        to: delivery.target.split(", ").map(str::to_owned).collect(),
        subject: format!("[tieout] {}", payload.title),
        date: now,
        message_id: format!("<tieout.{}.{}.{}@{domain}>", delivery.tenant_id, delivery.id, delivery.attempts),
        headers: vec![
            ("X-Tieout-Event".to_owned(), payload.kind.clone()),
            ("X-Tieout-Delivery".to_owned(), delivery.id.to_string()),
        ],
        body,
    }
}

/// Claims one due delivery, attempts it and records the outcome. `now` is the caller's
/// clock (Unix seconds). Returns the delivery as claimed, or `None` when nothing is due.
pub fn deliver_next(
    backend: &Backend,
    owner: &str,
    now: &dyn Fn() -> i64,
) -> Result<Option<AlertDelivery>, StoreError> {
    let mut control = backend.control()?;
    let started = now();
    let Some(delivery) = control.claim_delivery(owner, started, started + DELIVERY_LEASE_SECONDS)? else {
        return Ok(None);
    };
    let _span = tracing::info_span!(
        "alert_delivery",
        tenant = delivery.tenant_id,
        id = delivery.id,
        channel = %delivery.channel,
        attempt = delivery.attempts
    )
    .entered();
    let text = control.tenant_setting(delivery.tenant_id, ALERTS_SETTING)?;
    let result = attempt(&delivery, text.as_deref(), now(), DELIVERY_TIMEOUT);
    let at = now();
    let cut = |error: String| error.chars().take(ERROR_CHARS_MAX).collect::<String>();
    let (error, retry) = match result {
        Ok(()) => (None, false),
        Err(Failure::Transient(error)) => (Some(cut(error)), true),
        Err(Failure::Permanent(error)) => (Some(cut(error)), false),
    };
    let outcome = match (&error, retry) {
        (None, _) => AttemptOutcome::Delivered,
        (Some(error), true) => {
            AttemptOutcome::Retry { error, next_attempt_at: at + backoff_seconds(delivery.attempts) }
        }
        (Some(error), false) => AttemptOutcome::Failed { error },
    };
    match &outcome {
        AttemptOutcome::Delivered => tracing::info!("alert delivered"),
        AttemptOutcome::Retry { error, next_attempt_at } => {
            tracing::warn!(%error, next_attempt_at, "alert delivery failed; retried later")
        }
        AttemptOutcome::Failed { error } => tracing::warn!(%error, "alert delivery failed for good"),
    }
    control.finish_delivery_attempt(delivery.tenant_id, delivery.id, owner, outcome, at)?;
    Ok(Some(delivery))
}

/// Attempts due deliveries until none is left or `max` were attempted; returns how many.
pub fn deliver_due(backend: &Backend, owner: &str, now: &dyn Fn() -> i64, max: usize) -> Result<usize, StoreError> {
    let mut attempted = 0;
    while attempted < max && deliver_next(backend, owner, now)?.is_some() {
        attempted += 1;
    }
    Ok(attempted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[webhook]]
url = "http://127.0.0.1:8080/hooks/tieout"
secret = "0123456789abcdef-secret"

[[webhook]]
url = "http://relay.internal/ops"
secret = 'literal "quoted" secret!'

[email]
smtp = "127.0.0.1:25"
from = "tieout@acme.example"
to = ["finance@acme.example", "财务@acme.example"]

[thresholds]
difference_above = { USD = "100.00", JPY = "10000" }
aging_days = 45
aging_orders_max = 0
"#;

    #[test]
    fn a_configuration_is_read_and_checked() {
        let config = parse_config(ALERTS_FILE_NAME, EXAMPLE).unwrap();
        assert_eq!(config.webhooks.len(), 2);
        assert_eq!(config.webhooks[1].secret, r#"literal "quoted" secret!"#);
        assert!(!format!("{config:?}").contains("0123456789abcdef"), "Debug never shows a secret");
        let email = config.email.as_ref().unwrap();
        assert_eq!((email.smtp.as_str(), email.to.len()), ("127.0.0.1:25", 2));
        let thresholds = &config.thresholds;
        assert_eq!(thresholds.difference_above_minor.get(&Currency::USD), Some(&10_000));
        assert_eq!(thresholds.difference_above_minor.get(&Currency::JPY), Some(&10_000));
        assert_eq!((thresholds.aging_days, thresholds.aging_orders_max), (Some(45), Some(0)));
        assert!(parse_config(ALERTS_FILE_NAME, "").unwrap() == AlertConfig::default());
    }

    fn error_of(text: &str) -> AlertConfigError {
        parse_config(ALERTS_FILE_NAME, text).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let https = error_of("[[webhook]]\nurl = \"https://hooks.example.com/x\"\nsecret = \"0123456789abcdef\"\n");
        assert_eq!((https.line, https.column), (2, 7), "{https}");
        assert!(https.to_string().starts_with("alerts.toml:2:7: error: "), "{https}");
        assert!(https.message.contains("no TLS stack") && https.message.contains("relay"), "{https}");
        let short = error_of("[[webhook]]\nurl = \"http://x/\"\nsecret = \"short\"\n");
        assert_eq!((short.line, short.column), (3, 10), "{short}");
        let unknown = error_of("[thresholds]\ndifference_above = { USD = \"100.00\" }\nagingdays = 3\n");
        assert_eq!(unknown.line, 3, "{unknown}");
        assert!(unknown.message.contains("unknown field"), "{unknown}");
        let currency = error_of("[thresholds]\ndifference_above = { XYZ = \"1.00\" }\n");
        assert_eq!((currency.line, currency.message.contains("XYZ")), (2, true), "{currency}");
        let precise = error_of("[thresholds]\ndifference_above = { USD = \"1.005\" }\n");
        assert!(precise.message.contains("1.005"), "{precise}");
        let negative = error_of("[thresholds]\ndifference_above = { USD = \"-1.00\" }\n");
        assert_eq!(negative.line, 2, "{negative}");
        for (text, line) in [
            ("[email]\nsmtp = \"smtp://relay:25\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n", 2),
            ("[email]\nsmtp = \"relay\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n", 2),
            ("[email]\nsmtp = \"relay:25\"\nfrom = \"a@b.c\\r\\nBcc: x@y.z\"\nto = [\"d@e.f\"]\n", 3),
            ("[email]\nsmtp = \"relay:25\"\nfrom = \"a@b.c\"\nto = []\n", 4),
            ("[email]\nsmtp = \"relay:25\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\", \"<x>@y\"]\n", 4),
            ("[thresholds]\naging_days = -1\n", 2),
            ("[thresholds]\naging_orders_max = -1\n", 2),
        ] {
            assert_eq!(error_of(text).line, line, "{text}: {}", error_of(text));
        }
    }

    #[test]
    fn secrets_are_masked_and_a_masked_secret_sent_back_keeps_the_stored_one() {
        let masked = masked_text(EXAMPLE);
        assert!(!masked.contains("0123456789abcdef") && !masked.contains("quoted"), "{masked}");
        assert_eq!(masked.matches("secret = \"********\"").count(), 2, "{masked}");
        assert!(masked.contains("[thresholds]\ndifference_above"));
        // Sent back as shown, with a threshold changed: the stored secrets stay.
        let edited = masked.replace("aging_days = 45", "aging_days = 60");
        let (text, config) = replace_config(Some(EXAMPLE), &edited).unwrap();
        assert_eq!(config.thresholds.aging_days, Some(60));
        assert_eq!(config.webhooks, parse_config(ALERTS_FILE_NAME, EXAMPLE).unwrap().webhooks);
        assert_eq!(parse_config(ALERTS_FILE_NAME, &text).unwrap(), config);
        // A masked secret for a URL nothing stored has: refused, naming the place.
        let moved = masked.replace("relay.internal/ops", "relay.internal/elsewhere");
        let error = replace_config(Some(EXAMPLE), &moved).unwrap_err();
        assert!(error.message.contains("masked") && error.line == 8, "{error}");
        assert!(replace_config(None, &masked).is_err());
        // A new secret replaces the stored one.
        let changed = masked.replacen("\"********\"", "\"a brand new secret value\"", 1);
        let (_, config) = replace_config(Some(EXAMPLE), &changed).unwrap();
        assert_eq!(config.webhooks[0].secret, "a brand new secret value");
        assert!(masked_text("not = [toml").starts_with("# The stored"));
    }

    fn order(id: &str, flags: &[Category], ordered: Option<i64>, settled: i64) -> OrderResultRow {
        let mut set = tieout_core::reconcile::Flags::default();
        for flag in flags {
            set.set(*flag);
        }
        OrderResultRow {
            order_id: tieout_core::OrderId::parse(id).unwrap(),
            store: "acme-us".to_owned(),
            marketplace: "amazon.com".to_owned(),
            currency: Currency::USD,
            category: set.primary(),
            flags: set,
            status: None,
            ship_date: None,
            order_amount_minor: ordered,
            settled_amount_minor: settled,
            refunds_settled_minor: 0,
            written_off_minor: 0,
            fees_charged_minor: 0,
            fees_expected_minor: None,
            net_settled_minor: settled,
            days_since_ship: None,
            line_count: 1,
            duplicate_line_count: 0,
            period_date: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        }
    }

    #[test]
    fn the_amount_in_question_adds_what_each_finding_puts_in_doubt() {
        use Category::*;
        let check = |row: OrderResultRow, expected: Option<i64>| {
            assert_eq!(
                amount_in_question_minor(&row),
                expected,
                "{:?} {:?}",
                row.flags.names(),
                row.order_amount_minor
            );
        };
        check(order("111-0000001-0000001", &[], Some(5000), 5000), None);
        check(order("111-0000001-0000002", &[NotDue], Some(5000), 0), None);
        check(order("111-0000001-0000003", &[ShippedNotSettled], Some(5000), 0), None);
        check(order("111-0000001-0000004", &[AmountMismatch], Some(5000), 4200), Some(800));
        check(order("111-0000001-0000005", &[AmountMismatch], Some(5000), 5900), Some(900));
        check(order("111-0000001-0000006", &[DuplicateSettlementLine, AmountMismatch], Some(5000), 10_000), Some(5000));
        check(order("111-0000001-0000007", &[CancelledButSettled], Some(5000), 5000), Some(5000));
        check(order("111-0000001-0000008", &[SettledNotInOrders], None, 3000), Some(3000));
        let mut refunded = order("111-0000001-0000009", &[RefundedNotWrittenOff], Some(5000), 5000);
        (refunded.refunds_settled_minor, refunded.written_off_minor) = (-2000, 500);
        check(refunded, Some(1500));
        let mut fees = order("111-0000001-0000010", &[FeeAnomaly, AmountMismatch], Some(5000), 4900);
        (fees.fees_charged_minor, fees.fees_expected_minor) = (-900, Some(-750));
        check(fees, Some(100 + 150));
        let mut unknown_schedule = order("111-0000001-0000011", &[FeeAnomaly], Some(5000), 5000);
        unknown_schedule.fees_charged_minor = -900;
        check(unknown_schedule, Some(0));
    }

    #[test]
    fn differences_above_the_threshold_of_their_currency_are_alerts_the_largest_first_and_capped() {
        let thresholds =
            Thresholds { difference_above_minor: BTreeMap::from([(Currency::USD, 10_000)]), ..Thresholds::default() };
        let mut orders: Vec<OrderResultRow> = (0..30)
            .map(|i| order(&format!("111-0000002-{i:07}"), &[Category::AmountMismatch], Some(50_000), 39_999 - i * 10))
            .collect();
        orders.push(order("111-0000003-0000001", &[Category::AmountMismatch], Some(50_000), 40_000)); // at the limit
        let mut euro = order("111-0000003-0000002", &[Category::AmountMismatch], Some(50_000), 0);
        euro.currency = Currency::EUR; // no threshold in EUR
        orders.push(euro);
        let alerts = difference_alerts("acme", &orders, &thresholds);
        assert_eq!(alerts.len(), ALERTS_PER_KIND_MAX + 1);
        assert_eq!(alerts[0].object, "order:111-0000002-0000029", "the largest first");
        assert_eq!(alerts[0].title, "Order 111-0000002-0000029: difference 102.91 USD above 100.00 USD");
        assert!(alerts[0].detail.contains("is amount_mismatch: settled sales"), "{}", alerts[0].detail);
        assert!(alerts[0].title_zh.starts_with("订单 111-0000002-0000029 差异 102.91 USD 超过阈值"));
        let others = alerts.last().unwrap();
        assert_eq!(
            (others.object.as_str(), others.title.as_str()),
            ("order:others", "10 more orders with a difference above the threshold")
        );
        assert!(others.detail.contains("111-0000002-0000009, 111-0000002-0000008"), "{}", others.detail);
        assert!(alerts.iter().all(|a| a.kind == AlertKind::DifferenceAboveThreshold && a.tenant == "acme"));
        assert!(difference_alerts("acme", &orders, &Thresholds::default()).is_empty());
    }

    #[test]
    fn aging_groups_over_a_count_or_an_amount_are_alerts() {
        let mut summary =
            Table::new("Aging", &["store", "marketplace", "currency", "what", "alert_count", "alert_amount"]);
        let row = |store: &str, what: &str, count: i64, minor: i64| {
            vec![
                Cell::text(store),
                Cell::text("amazon.com"),
                Cell::text("USD"),
                Cell::text(what),
                Cell::Integer(count),
                Cell::money(minor, Currency::USD),
            ]
        };
        summary.push(row("acme-us", "shipped_not_settled", 3, 45_000));
        summary.push(row("acme-ca", "shipped_not_settled", 0, 0));
        summary.push(row("acme-mx", "shipped_not_settled", 1, 900_000));
        summary.push(row("acme-us", "posted_not_transferred", 9, 99_999_999));
        let as_of = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        let by_count = Thresholds { aging_orders_max: Some(2), ..Thresholds::default() };
        let alerts = aging_alerts("acme", &summary, &by_count, 30, as_of);
        assert_eq!(alerts.iter().map(|a| a.object.as_str()).collect::<Vec<_>>(), ["aging:acme-us/amazon.com/USD"]);
        assert_eq!(
            alerts[0].title,
            "Aging over limit: 3 orders of acme-us amazon.com unsettled over 30 days (450.00 USD)"
        );
        assert!(alerts[0].detail.contains("before 2026-10-31") && alerts[0].detail.contains("more than 2 orders"));
        let by_amount = Thresholds {
            aging_amount_above_minor: BTreeMap::from([(Currency::USD, 100_000)]),
            ..Thresholds::default()
        };
        let alerts = aging_alerts("acme", &summary, &by_amount, 30, as_of);
        assert_eq!(alerts.iter().map(|a| a.object.as_str()).collect::<Vec<_>>(), ["aging:acme-mx/amazon.com/USD"]);
        assert!(aging_alerts("acme", &summary, &Thresholds::default(), 30, as_of).is_empty());
    }

    #[test]
    fn backoff_grows_fourfold_from_thirty_seconds() {
        let waits: Vec<i64> = (1..=6).map(backoff_seconds).collect();
        assert_eq!(waits, [30, 120, 480, 1920, 7680, 30720]);
        assert_eq!(backoff_seconds(0), 30);
        assert!(backoff_seconds(i64::MAX) > 0);
    }

    #[test]
    fn addresses_are_plain() {
        for good in ["a@b", "finance@acme.example", "财务@acme.example", "first.last+tag@x.y"] {
            assert!(valid_address(good), "{good}");
        }
        for bad in ["", "a", "@b", "a@", "a@b@c", "a b@c", "<a@b>", "a@b\r\n", "a,b@c", "a@b;c"] {
            assert!(!valid_address(bad), "{bad}");
        }
    }

    #[test]
    fn the_same_alert_is_delivered_once_per_target_and_scope() {
        let config = parse_config(ALERTS_FILE_NAME, EXAMPLE).unwrap();
        let alert = statement_awaiting_review("acme", 42, "Distributor GmbH", Money::new(123_456, Currency::EUR));
        let deliveries = deliveries_for(&config, &[alert.clone(), alert.clone()], "statement-42-review-1", 100);
        assert_eq!(deliveries.len(), 3, "two webhooks and the e-mail, once");
        assert_eq!(deliveries.iter().map(|d| d.channel.as_str()).collect::<Vec<_>>(), ["webhook", "webhook", "email"]);
        assert_eq!(deliveries[2].target, "finance@acme.example, 财务@acme.example");
        let keys: HashSet<&str> = deliveries.iter().map(|d| d.dedup_key.as_str()).collect();
        assert_eq!(keys.len(), 3);
        let again = deliveries_for(&config, std::slice::from_ref(&alert), "statement-42-review-1", 999);
        assert_eq!(
            again.iter().map(|d| &d.dedup_key).collect::<Vec<_>>(),
            deliveries.iter().map(|d| &d.dedup_key).collect::<Vec<_>>()
        );
        let next = deliveries_for(&config, &[alert], "statement-42-review-2", 999);
        assert!(next.iter().all(|d| !keys.contains(d.dedup_key.as_str())), "another scope is another alert");
        let payload: AlertPayload = serde_json::from_str(&deliveries[0].payload).unwrap();
        assert_eq!(payload.id, "statement-42-review-1/statement_awaiting_review/statement:42");
        assert_eq!((payload.tenant.as_str(), payload.kind.as_str()), ("acme", "statement_awaiting_review"));
        assert_eq!(payload.title, "Statement 42 for Distributor GmbH awaits review");
        assert!(payload.detail.contains("1234.56 EUR"), "{}", payload.detail);
        assert_eq!(payload.title_zh, "对账单 42（Distributor GmbH）待审核");
        assert_eq!(payload.created_at, "1970-01-01T00:01:40Z");
        let json: serde_json::Value = serde_json::from_str(&deliveries[0].payload).unwrap();
        for field in ["id", "tenant", "kind", "title", "detail", "object", "created_at"] {
            assert!(json[field].is_string(), "{field}");
        }
    }
}
