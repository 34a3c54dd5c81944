//! Rule files (TOML) for the payout ↔ receipt matching, and the built-in defaults
//! (`default-rules.toml`, compiled in). Errors name the file, line and column.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;
use tieout_core::matching::{validate, Cardinality, Filter, ReferenceTest, Rule};
use tieout_core::receipts::ReceiptConfig;

pub const DEFAULT_RULES: &str = include_str!("default-rules.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    receipts: ReceiptsSection,
    #[serde(default)]
    rule: Vec<RuleEntry>,
    /// Rules for withdrawals (payment tool → bank): left = withdrawals, right = credits of
    /// the other accounts.
    #[serde(default)]
    withdrawal_rule: Vec<RuleEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptsSection {
    #[serde(default = "default_on_time_days")]
    on_time_days: i64,
    #[serde(default = "default_missing_after_days")]
    missing_after_days: i64,
    #[serde(default = "default_payer_pattern")]
    payer_pattern: String,
    #[serde(default = "default_rate_band_basis_points")]
    rate_band_basis_points: u32,
    #[serde(default)]
    withdrawal_pattern: String,
}

fn default_rate_band_basis_points() -> u32 {
    200
}

fn default_on_time_days() -> i64 {
    3
}
fn default_missing_after_days() -> i64 {
    7
}
fn default_payer_pattern() -> String {
    "amazon".to_owned()
}

impl Default for ReceiptsSection {
    fn default() -> Self {
        ReceiptsSection {
            on_time_days: default_on_time_days(),
            missing_after_days: default_missing_after_days(),
            payer_pattern: default_payer_pattern(),
            rate_band_basis_points: default_rate_band_basis_points(),
            withdrawal_pattern: String::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterEntry {
    #[serde(default)]
    currencies: Vec<String>,
    #[serde(default)]
    keys: BTreeMap<String, String>,
    text: Option<String>,
}

impl FilterEntry {
    fn filter(&self) -> Filter {
        Filter {
            currencies: self.currencies.iter().map(|c| c.trim().to_ascii_uppercase()).collect(),
            keys: self.keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            text_pattern: self.text.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: toml::Spanned<String>,
    #[serde(default)]
    priority: i32,
    /// Which payouts the rule considers (keys: `store`, `deposit_date`).
    #[serde(default)]
    left: FilterEntry,
    /// Which receipts the rule considers (keys: `account`; `text` is matched against the
    /// reference, counterparty and description).
    #[serde(default)]
    right: FilterEntry,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    tolerance_minor: BTreeMap<String, i64>,
    #[serde(default)]
    tolerance_basis_points: u32,
    #[serde(default)]
    days_before: u32,
    #[serde(default = "default_days_after")]
    days_after: u32,
    #[serde(default)]
    business_days: bool,
    /// "contains", "regex:PATTERN" or "similarity:PERCENT".
    reference: Option<String>,
    #[serde(default = "default_cardinality")]
    cardinality: String,
    left_group: Option<String>,
    right_group: Option<String>,
    #[serde(default = "default_unique_only")]
    unique_only: bool,
    #[serde(default)]
    allow_conversion: bool,
}

fn default_days_after() -> u32 {
    3
}
fn default_cardinality() -> String {
    "1:1".to_owned()
}
fn default_unique_only() -> bool {
    true
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}:{column}: error: {message}")]
pub struct RulesError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A checked rule set with its receipt settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRules {
    pub rules: Vec<Rule>,
    pub withdrawal_rules: Vec<Rule>,
    /// Debits whose text matches this (case-insensitive) are withdrawals; empty: none.
    pub withdrawal_pattern: String,
    pub on_time_days: i64,
    pub missing_after_days: i64,
    pub payer_pattern: String,
    /// How far an implied conversion rate may be from the reference rate (basis points).
    pub rate_band_basis_points: u32,
}

impl ReceiptRules {
    pub fn built_in() -> ReceiptRules {
        parse_rules("default-rules.toml", DEFAULT_RULES).expect("the built-in rules are valid")
    }

    pub fn config(&self, as_of: NaiveDate) -> ReceiptConfig {
        self.config_with_rates(as_of, Vec::new())
    }

    pub fn config_with_rates(
        &self,
        as_of: NaiveDate,
        rates: Vec<tieout_core::receipts::ReferenceRate>,
    ) -> ReceiptConfig {
        ReceiptConfig {
            rates,
            rate_band_basis_points: self.rate_band_basis_points,
            rules: self.rules.clone(),
            withdrawal_rules: self.withdrawal_rules.clone(),
            withdrawal_pattern: self.withdrawal_pattern.clone(),
            on_time_days: self.on_time_days,
            missing_after_days: self.missing_after_days,
            payer_pattern: self.payer_pattern.clone(),
            as_of,
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Checks and converts one array of rules (`[[rule]]` or `[[withdrawal_rule]]`).
fn rules_of(file: &str, text: &str, entries: &[RuleEntry]) -> Result<Vec<Rule>, RulesError> {
    let mut rules = Vec::new();
    for entry in entries {
        let (line, column) = line_column(text, entry.id.span().start);
        let error = |message: String| RulesError { file: file.to_owned(), line, column, message };
        let reference = match entry.reference.as_deref() {
            None => None,
            Some("contains") => Some(ReferenceTest::Contains),
            Some(other) => match other.split_once(':') {
                Some(("regex", pattern)) => Some(ReferenceTest::Regex(pattern.to_owned())),
                Some(("similarity", percent)) => Some(ReferenceTest::Similarity {
                    threshold_percent: percent
                        .trim()
                        .parse()
                        .map_err(|_| error(format!("similarity needs a percentage, not '{percent}'")))?,
                }),
                _ => {
                    return Err(error(format!(
                        "reference is \"contains\", \"regex:PATTERN\" or \"similarity:PERCENT\", not '{other}'"
                    )))
                }
            },
        };
        let group = |name: &str, value: &Option<String>| {
            value.clone().ok_or_else(|| error(format!("cardinality {} needs {name}", entry.cardinality)))
        };
        let cardinality = match entry.cardinality.as_str() {
            "1:1" => Cardinality::OneToOne,
            "n:1" => Cardinality::ManyToOne { left_group: group("left_group", &entry.left_group)? },
            "1:n" => Cardinality::OneToMany { right_group: group("right_group", &entry.right_group)? },
            "n:m" => Cardinality::ManyToMany {
                left_group: group("left_group", &entry.left_group)?,
                right_group: group("right_group", &entry.right_group)?,
            },
            other => return Err(error(format!("cardinality is 1:1, n:1, 1:n or n:m, not '{other}'"))),
        };
        let rule = Rule {
            id: entry.id.get_ref().clone(),
            priority: entry.priority,
            left_filter: entry.left.filter(),
            right_filter: entry.right.filter(),
            keys: entry.keys.clone(),
            distinct_keys: Vec::new(),
            tolerance_minor: entry.tolerance_minor.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            tolerance_basis_points: entry.tolerance_basis_points,
            days_before: entry.days_before,
            days_after: entry.days_after,
            business_days: entry.business_days,
            reference,
            cardinality,
            unique_only: entry.unique_only,
            allow_conversion: entry.allow_conversion,
        };
        validate(std::slice::from_ref(&rule)).map_err(|e| error(e.message))?;
        if rules.iter().any(|r: &Rule| r.id == rule.id) {
            return Err(error(format!("rule id '{}' is used twice", rule.id)));
        }
        rules.push(rule);
    }
    Ok(rules)
}

pub fn parse_rules(file: &str, text: &str) -> Result<ReceiptRules, RulesError> {
    let parsed: RulesFile = toml::from_str(text).map_err(|error| {
        let (line, column) = error.span().map_or((0, 0), |span| line_column(text, span.start));
        RulesError { file: file.to_owned(), line, column, message: error.message().to_owned() }
    })?;
    let rules = rules_of(file, text, &parsed.rule)?;
    let withdrawal_rules = rules_of(file, text, &parsed.withdrawal_rule)?;
    if regex::Regex::new(&parsed.receipts.withdrawal_pattern).is_err() {
        return Err(RulesError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: "receipts.withdrawal_pattern is not a valid pattern".to_owned(),
        });
    }
    if regex::Regex::new(&parsed.receipts.payer_pattern).is_err() {
        return Err(RulesError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: "receipts.payer_pattern is not a valid pattern".to_owned(),
        });
    }
    Ok(ReceiptRules {
        rules,
        withdrawal_rules,
        withdrawal_pattern: parsed.receipts.withdrawal_pattern,
        on_time_days: parsed.receipts.on_time_days,
        missing_after_days: parsed.receipts.missing_after_days,
        payer_pattern: parsed.receipts.payer_pattern,
        rate_band_basis_points: parsed.receipts.rate_band_basis_points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_rules_parse() {
        let rules = ReceiptRules::built_in();
        assert_eq!(rules.rules.len(), 6);
        assert_eq!(rules.withdrawal_rules.len(), 4);
        assert!(regex::Regex::new(&rules.withdrawal_pattern).unwrap().is_match("Withdrawal to bank account ****4821"));
        assert_eq!(rules.rules[0].reference, Some(ReferenceTest::Contains));
        assert!(matches!(rules.rules[5].cardinality, Cardinality::ManyToOne { .. }));
    }

    fn error_of(text: &str) -> String {
        parse_rules("rules.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        assert_eq!(
            error_of("[[rule]]\nid = \"a\"\nwindow = 3\n"),
            "rules.toml:3:1: error: unknown field `window`, expected one of `id`, `priority`, `left`, `right`, `keys`, `tolerance_minor`, `tolerance_basis_points`, `days_before`, `days_after`, `business_days`, `reference`, `cardinality`, `left_group`, `right_group`, `unique_only`, `allow_conversion`"
        );
        assert_eq!(
            error_of("[[rule]]\nid = \"a\"\n\n[[rule]]\nid = \"b\"\nreference = \"regex:(open\"\n"),
            "rules.toml:5:6: error: invalid pattern: regex parse error:\n    (open\n    ^\nerror: unclosed group"
        );
        assert!(error_of("[[rule]]\nid = \"a\"\ncardinality = \"n:1\"\n")
            .starts_with("rules.toml:2:6: error: cardinality n:1 needs left_group"));
        assert!(error_of("[[rule]]\nid = \"a\"\n[[rule]]\nid = \"a\"\n").contains("used twice"));
        assert!(error_of("[[rule]]\nid = \"a\"\nreference = \"similarity:lots\"\n").contains("needs a percentage"));
        assert!(error_of("[[rule]]\nid = \"a\"\n[rule.right]\ntext = \"(\"\n").contains("invalid text pattern"));
        let rules = parse_rules(
            "r.toml",
            "[[rule]]\nid = \"de\"\n[rule.left]\ncurrencies = [\"eur\"]\nkeys = { store = \"acme-de\" }\n[rule.right]\ntext = \"amazon\"\n",
        )
        .unwrap();
        assert_eq!(rules.rules[0].left_filter.currencies, ["EUR"]);
        assert_eq!(rules.rules[0].left_filter.keys, [("store".to_owned(), "acme-de".to_owned())]);
        assert_eq!(rules.rules[0].right_filter.text_pattern.as_deref(), Some("amazon"));
    }
}
