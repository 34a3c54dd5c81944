//! `tieout.toml`: the settings a finance team keeps beside its data. Parsed here (the
//! binary reads the file and passes its text), so the rules are one place.
//!
//! ```toml
//! [reconcile]
//! amount_tolerance_minor = 0      # settled sales may differ from the order by this much
//!
//! [[fees]]                        # expected fee schedule; the most specific entry wins
//! store = "acme-us"               # optional
//! marketplace = "Amazon.com"      # optional (compared case-insensitively)
//! referral_rate_basis_points = 1500
//! fba_fee_per_unit_minor = 322    # optional: no FBA fee check without it
//! tolerance_minor = 0             # per order item
//!
//! [aging]
//! alert_after_days = 30           # aging items older than this are alerts
//!
//! [write_off]                     # the largest difference each role may write off, per currency
//! accountant = { USD = "10.00", CNY = "50.00" }
//! approver = { USD = "100.00" }
//! admin = { USD = "1000.00" }
//! auto = { USD = "1.00" }         # written off by the system when a counterparty statement is imported
//! ```
//! A role without an entry for a currency may not write off in it (a viewer or a clerk
//! never may). The limit is inclusive: at the limit is allowed, one cent over is not.
//! Without any `[[fees]]` entry no fee check is made: the referral rates of real
//! categories differ too much (8 % to 45 %) for a built-in guess to be useful.

use chrono::NaiveDate;
use serde::Deserialize;
use tieout_core::reconcile::{FeeSchedule, FeeScheduleRule, ReconcileConfig};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub reconcile: ReconcileSection,
    #[serde(default)]
    pub fees: Vec<FeeEntry>,
    #[serde(default)]
    pub import: ImportSection,
    #[serde(default)]
    pub aging: AgingSection,
    #[serde(default)]
    pub write_off: WriteOffSection,
}

/// Write-off limits per role and currency, as decimal text (`"10.00"`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteOffSection {
    #[serde(default)]
    pub accountant: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub approver: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub admin: std::collections::BTreeMap<String, String>,
    /// Differences this small are written off automatically, under the system identity.
    #[serde(default)]
    pub auto: std::collections::BTreeMap<String, String>,
}

impl WriteOffSection {
    /// The limit in minor units of `who` (`accountant`, `approver`, `admin`, `auto`) in
    /// `currency`; `None`: may not write off in it.
    pub fn limit_minor(&self, who: &str, currency: tieout_core::Currency) -> Option<i64> {
        let table = match who {
            "accountant" => &self.accountant,
            "approver" => &self.approver,
            "admin" => &self.admin,
            "auto" => &self.auto,
            _ => return None,
        };
        let text = table.get(currency.code())?;
        tieout_core::money::parse_amount_minor(text, tieout_core::NumberStyle::Dot, currency.exponent()).ok()
    }

    fn check(&self, file: &str) -> Result<(), SettingsError> {
        for (who, table) in [
            ("accountant", &self.accountant),
            ("approver", &self.approver),
            ("admin", &self.admin),
            ("auto", &self.auto),
        ] {
            for (code, text) in table {
                let currency = tieout_core::Currency::from_code(code).map_err(|_| SettingsError {
                    file: file.to_owned(),
                    message: format!("[write_off] {who}: '{code}' is not a currency tieout knows"),
                })?;
                let amount =
                    tieout_core::money::parse_amount_minor(text, tieout_core::NumberStyle::Dot, currency.exponent());
                if amount.map_or(true, |a| a < 0) {
                    return Err(SettingsError {
                        file: file.to_owned(),
                        message: format!("[write_off] {who}.{code}: '{text}' is not a non-negative amount in {code}"),
                    });
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgingSection {
    /// Aging items older than this many days are alerts.
    #[serde(default = "default_alert_after_days")]
    pub alert_after_days: i64,
}

fn default_alert_after_days() -> i64 {
    crate::month_end::ALERT_AFTER_DAYS_DEFAULT
}

impl Default for AgingSection {
    fn default() -> Self {
        AgingSection { alert_after_days: default_alert_after_days() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSection {
    #[serde(default)]
    pub amount_tolerance_minor: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSection {
    /// Store that settlement files are imported for when `--store` is not given.
    pub store: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeEntry {
    pub store: Option<String>,
    pub marketplace: Option<String>,
    pub referral_rate_basis_points: u32,
    pub fba_fee_per_unit_minor: Option<i64>,
    #[serde(default)]
    pub tolerance_minor: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct SettingsError {
    pub file: String,
    pub message: String,
}

impl Settings {
    pub fn parse(file: &str, text: &str) -> Result<Settings, SettingsError> {
        let settings: Settings = toml::from_str(text)
            .map_err(|error| SettingsError { file: file.to_owned(), message: error.to_string() })?;
        settings.write_off.check(file)?;
        for (index, fee) in settings.fees.iter().enumerate() {
            if fee.referral_rate_basis_points > 10_000
                || fee.tolerance_minor < 0
                || fee.fba_fee_per_unit_minor.is_some_and(|f| f < 0)
            {
                return Err(SettingsError {
                    file: file.to_owned(),
                    message: format!(
                        "[[fees]] entry {}: rates are 0..=10000 basis points, fees and tolerances not negative",
                        index + 1
                    ),
                });
            }
        }
        Ok(settings)
    }

    pub fn reconcile_config(&self, as_of: NaiveDate) -> ReconcileConfig {
        ReconcileConfig {
            fee_schedules: self
                .fees
                .iter()
                .map(|fee| FeeScheduleRule {
                    store: fee.store.clone(),
                    marketplace: fee.marketplace.clone(),
                    schedule: FeeSchedule {
                        referral_rate_basis_points: fee.referral_rate_basis_points,
                        fba_fee_per_unit_minor: fee.fba_fee_per_unit_minor,
                        tolerance_minor: fee.tolerance_minor,
                    },
                })
                .collect(),
            amount_tolerance_minor: self.reconcile.amount_tolerance_minor,
            as_of,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_picks_the_most_specific_schedule() {
        let settings = Settings::parse(
            "tieout.toml",
            r#"
            [reconcile]
            amount_tolerance_minor = 2
            [[fees]]
            referral_rate_basis_points = 1500
            [[fees]]
            store = "acme-us"
            marketplace = "Amazon.com"
            referral_rate_basis_points = 800
            fba_fee_per_unit_minor = 322
            "#,
        )
        .unwrap();
        let config = settings.reconcile_config(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
        assert_eq!(config.amount_tolerance_minor, 2);
        assert_eq!(config.schedule_for("acme-us", "amazon.com").unwrap().referral_rate_basis_points, 800);
        assert_eq!(config.schedule_for("acme-de", "amazon.de").unwrap().referral_rate_basis_points, 1500);
    }

    #[test]
    fn refuses_unknown_keys_and_bad_rates() {
        let error = Settings::parse("tieout.toml", "[reconcile]\ntolerance = 1\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `tolerance`"), "{error}");
        let error = Settings::parse("t.toml", "[[fees]]\nreferral_rate_basis_points = 20000\n").unwrap_err();
        assert!(error.to_string().contains("basis points"), "{error}");
    }
}
