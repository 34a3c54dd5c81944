//! The matching-rule engine: pairs records of two sides (e.g. expected payouts and bank
//! receipts) by declarative rules, explains every match, and never guesses between equals.
//!
//! # Semantics
//! * Rules run in priority order (lower number first; ties by rule id). A record matched
//!   by an earlier rule is not offered to a later one.
//! * A rule pairs a *left* unit with a *right* unit. With cardinality 1:1 a unit is one
//!   record; with n:1 the left records sharing a group key form one unit whose amount is
//!   their sum (and 1:n, n:m alike on the right, or on both sides).
//! * Candidates must: be in the same currency (or, with `allow_conversion`, state an
//!   original amount in the left currency); have equal values for the rule's equality keys;
//!   differ in amount by at most the tolerance (the larger of an absolute amount, per
//!   currency, and a share of the left amount); have a right date within the window around
//!   the left date (calendar or business days); and pass the reference test, if any. The
//!   amount check is never skipped because a reference agreed.
//! * `unique_only`: a unit is matched only when exactly one candidate qualifies; otherwise
//!   its candidates are proposed, ranked, for a person to choose. Without it, the best
//!   candidate wins (highest score, then nearest date, then smallest amount difference,
//!   then lowest id): a deterministic choice.
//! * Left units are visited in (date, amount, first id) order, so the result does not
//!   depend on the order records are given in.
//! * Matching is not quadratic: right units are indexed by (currency, amount); each left
//!   unit looks only at the amount range its tolerance allows.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Weekday};

use crate::money::{div_round_half_away, Currency, Money};

/// One record offered to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The caller's id (unique per side).
    pub id: i64,
    pub amount_minor: i64,
    pub currency: Currency,
    pub date: NaiveDate,
    /// Text a reference test looks in (remittance information, description, refs).
    pub text: String,
    /// The reference a `contains` test looks for on the other side (e.g. a settlement id).
    pub reference: String,
    /// Named values for equality keys and grouping (e.g. `store`, `account`).
    pub keys: Vec<(String, String)>,
    /// The amount before a conversion, when the record states it.
    pub original: Option<Money>,
}

impl Item {
    fn key(&self, name: &str) -> &str {
        self.keys.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cardinality {
    OneToOne,
    /// Many left records (grouped by the key) to one right record.
    ManyToOne {
        left_group: String,
    },
    /// One left record to many right records (grouped by the key).
    OneToMany {
        right_group: String,
    },
    ManyToMany {
        left_group: String,
        right_group: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceTest {
    /// The right text contains the left reference (case-insensitive, spaces ignored).
    Contains,
    /// The right text matches the pattern, with `{reference}` replaced by the escaped left
    /// reference.
    Regex(String),
    /// Similarity of the left reference and the right text, in percent (0–100), at least.
    Similarity { threshold_percent: u32 },
}

/// Which records of a side a rule considers: all of them unless restricted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// ISO codes; empty: any currency.
    pub currencies: Vec<String>,
    /// Required key values (e.g. `store = "acme-us"`, `account = "DE89…"`).
    pub keys: Vec<(String, String)>,
    /// A case-insensitive pattern the record's text must match.
    pub text_pattern: Option<String>,
}

impl Filter {
    fn compile(&self) -> Option<regex::Regex> {
        self.text_pattern
            .as_ref()
            .map(|p| regex::RegexBuilder::new(p).case_insensitive(true).build().expect("validated patterns compile"))
    }

    fn keeps(&self, item: &Item, pattern: Option<&regex::Regex>) -> bool {
        (self.currencies.is_empty() || self.currencies.iter().any(|c| c == item.currency.code()))
            && self.keys.iter().all(|(name, value)| item.key(name) == value)
            && pattern.is_none_or(|p| p.is_match(&item.text))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub priority: i32,
    /// The records of each side this rule considers.
    pub left_filter: Filter,
    pub right_filter: Filter,
    pub keys: Vec<String>,
    /// Keys whose values must differ between the sides (a withdrawal never arrives in the
    /// account it left).
    pub distinct_keys: Vec<String>,
    /// Absolute tolerance per currency code; `*` applies to any currency not listed.
    pub tolerance_minor: Vec<(String, i64)>,
    /// Relative tolerance, in basis points of the left amount.
    pub tolerance_basis_points: u32,
    /// Right date may be this many days before the left date …
    pub days_before: u32,
    /// … and this many days after.
    pub days_after: u32,
    pub business_days: bool,
    pub reference: Option<ReferenceTest>,
    pub cardinality: Cardinality,
    pub unique_only: bool,
    /// Accept a right record in another currency when its stated original amount is in
    /// the left currency (the tolerance then applies to that original amount).
    pub allow_conversion: bool,
}

/// Why a match was made: what agreed and by how much things differed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Right amount − left amount (in the left currency; for a conversion, the original).
    pub amount_difference_minor: i64,
    /// Right date − left date, in calendar days.
    pub date_difference_days: i64,
    pub reference_agreed: bool,
    pub converted: bool,
    pub keys: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub rule_id: String,
    pub left: Vec<i64>,
    pub right: Vec<i64>,
    /// 0–100: 100 is exact amount, same day, reference agreed.
    pub score: u32,
    pub evidence: Evidence,
}

/// Candidates for a person to choose from, when a `unique_only` rule found several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub rule_id: String,
    pub left: Vec<i64>,
    /// (right ids, score), best first.
    pub candidates: Vec<(Vec<i64>, u32)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchResult {
    pub matches: Vec<Match>,
    pub proposals: Vec<Proposal>,
    pub unmatched_left: Vec<i64>,
    pub unmatched_right: Vec<i64>,
}

/// A unit: one record, or a group summed.
#[derive(Clone, Debug)]
/// Borrows its record's text and keys (no copy per rule); a group owns its joined text.
struct Unit<'a> {
    ids: Vec<i64>,
    amount_minor: i64,
    currency: Currency,
    date: NaiveDate,
    text: std::borrow::Cow<'a, str>,
    /// `text` without spaces, lower case (for `contains`), computed once per record.
    folded_text: std::borrow::Cow<'a, str>,
    reference: &'a str,
    folded_reference: &'a str,
    keys: &'a [(String, String)],
    original: Option<Money>,
}

fn units<'a>(items: &[(&'a Item, &'a Folded)], group: Option<&str>) -> Vec<Unit<'a>> {
    let single = |(item, folded): (&'a Item, &'a Folded)| Unit {
        ids: vec![item.id],
        amount_minor: item.amount_minor,
        currency: item.currency,
        date: item.date,
        text: std::borrow::Cow::Borrowed(item.text.as_str()),
        folded_text: std::borrow::Cow::Borrowed(folded.text.as_str()),
        reference: item.reference.as_str(),
        folded_reference: folded.reference.as_str(),
        keys: item.keys.as_slice(),
        original: item.original,
    };
    let Some(group) = group else {
        return items.iter().map(|pair| single(*pair)).collect();
    };
    let mut groups: BTreeMap<(String, Currency), Vec<(&Item, &Folded)>> = BTreeMap::new();
    for (item, folded) in items {
        groups.entry((item.key(group).to_owned(), item.currency)).or_default().push((item, folded));
    }
    groups
        .into_values()
        .map(|mut members| {
            members.sort_by_key(|(i, _)| (i.date, i.id));
            let mut unit = single(members[0]);
            for (member, folded) in &members[1..] {
                unit.ids.push(member.id);
                unit.amount_minor += member.amount_minor;
                unit.date = unit.date.max(member.date);
                let text = unit.text.to_mut();
                text.push(' ');
                text.push_str(&member.text);
                unit.folded_text.to_mut().push_str(&folded.text);
                unit.original = None;
            }
            unit.ids.sort_unstable();
            unit
        })
        .collect()
}

/// A record's text and reference folded for comparison, once per run.
struct Folded {
    text: String,
    reference: String,
}

fn fold(item: &Item) -> Folded {
    Folded { text: normalise(&item.text), reference: normalise(&item.reference) }
}

fn tolerance(rule: &Rule, currency: Currency, amount_minor: i64) -> i64 {
    let absolute = rule
        .tolerance_minor
        .iter()
        .find(|(code, _)| code == currency.code())
        .or_else(|| rule.tolerance_minor.iter().find(|(code, _)| code == "*"))
        .map_or(0, |(_, minor)| *minor);
    let relative =
        div_round_half_away(amount_minor.unsigned_abs() as i128 * rule.tolerance_basis_points as i128, 10_000) as i64;
    absolute.max(relative)
}

/// Business days (Mon–Fri) from `from` to `to` (negative when `to` is earlier).
fn business_days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let (start, end, sign) = if to >= from { (from, to, 1) } else { (to, from, -1) };
    let mut days = 0;
    let mut day = start;
    while day < end {
        day = day.succ_opt().expect("in range");
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            days += 1;
        }
    }
    days * sign
}

fn normalise(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Similarity of two texts in percent: the share of the shorter's character bigrams found
/// in the longer (order-insensitive, robust to truncation and extra words).
pub fn similarity_percent(a: &str, b: &str) -> u32 {
    let (a, b) = (normalise(a), normalise(b));
    let bigrams = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = s.chars().collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (x, y) = (bigrams(&a), bigrams(&b));
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    if short.is_empty() {
        return if a == b { 100 } else { 0 };
    }
    let mut pool: HashMap<(char, char), u32> = HashMap::new();
    for bigram in long {
        *pool.entry(bigram).or_default() += 1;
    }
    let mut found = 0u32;
    for bigram in &short {
        if let Some(count) = pool.get_mut(bigram) {
            if *count > 0 {
                *count -= 1;
                found += 1;
            }
        }
    }
    found * 100 / short.len() as u32
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rule {rule}: {message}")]
pub struct RuleError {
    pub rule: String,
    pub message: String,
}

/// Checks a rule set: ids unique, patterns valid, windows and thresholds in range.
pub fn validate(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = HashSet::new();
    for rule in rules {
        let error = |message: String| RuleError { rule: rule.id.clone(), message };
        if rule.id.trim().is_empty() {
            return Err(error("a rule needs an id".into()));
        }
        if !seen.insert(rule.id.as_str()) {
            return Err(error("the id is used by another rule".into()));
        }
        if let Some(ReferenceTest::Regex(pattern)) = &rule.reference {
            let probe = pattern.replace("{reference}", "x");
            regex::Regex::new(&probe).map_err(|e| error(format!("invalid pattern: {e}")))?;
        }
        if let Some(ReferenceTest::Similarity { threshold_percent }) = &rule.reference {
            if *threshold_percent > 100 {
                return Err(error("a similarity threshold is a percentage, 0 to 100".into()));
            }
        }
        if rule.tolerance_basis_points > 10_000 || rule.tolerance_minor.iter().any(|(_, m)| *m < 0) {
            return Err(error("tolerances are not negative and at most 100 %".into()));
        }
        if rule.days_before > 366 || rule.days_after > 366 {
            return Err(error("a date window is at most 366 days each way".into()));
        }
        for filter in [&rule.left_filter, &rule.right_filter] {
            if let Some(pattern) = &filter.text_pattern {
                regex::Regex::new(pattern).map_err(|e| error(format!("invalid text pattern: {e}")))?;
            }
        }
    }
    Ok(())
}

/// Runs `rules` over the two sides. Pure: same input, in any order, same result.
///
/// # Panics
/// When the rules do not pass [`validate`].
pub fn run(rules: &[Rule], left: &[Item], right: &[Item]) -> MatchResult {
    validate(rules).expect("rules are validated before they run");
    let mut ordered: Vec<&Rule> = rules.iter().collect();
    ordered.sort_by(|a, b| (a.priority, &a.id).cmp(&(b.priority, &b.id)));
    let mut used_left: HashSet<i64> = HashSet::new();
    let mut used_right: HashSet<i64> = HashSet::new();
    let mut result = MatchResult::default();
    let mut proposed_left: HashSet<i64> = HashSet::new();
    let left_folded: Vec<Folded> = left.iter().map(fold).collect();
    let right_folded: Vec<Folded> = right.iter().map(fold).collect();
    for rule in ordered {
        let (left_pattern, right_pattern) = (rule.left_filter.compile(), rule.right_filter.compile());
        let free_left: Vec<(&Item, &Folded)> = left
            .iter()
            .zip(&left_folded)
            .filter(|(i, _)| !used_left.contains(&i.id) && rule.left_filter.keeps(i, left_pattern.as_ref()))
            .collect();
        let free_right: Vec<(&Item, &Folded)> = right
            .iter()
            .zip(&right_folded)
            .filter(|(i, _)| !used_right.contains(&i.id) && rule.right_filter.keeps(i, right_pattern.as_ref()))
            .collect();
        let (left_group, right_group) = match &rule.cardinality {
            Cardinality::OneToOne => (None, None),
            Cardinality::ManyToOne { left_group } => (Some(left_group.as_str()), None),
            Cardinality::OneToMany { right_group } => (None, Some(right_group.as_str())),
            Cardinality::ManyToMany { left_group, right_group } => {
                (Some(left_group.as_str()), Some(right_group.as_str()))
            }
        };
        let mut left_units = units(&free_left, left_group);
        let right_units = units(&free_right, right_group);
        left_units.sort_by(|a, b| (a.date, a.amount_minor, &a.ids).cmp(&(b.date, b.amount_minor, &b.ids)));
        // Index right units by (currency, day), each day's units sorted by amount (a
        // conversion under its original amount): a left unit looks at the days of its
        // window and, in each, at the amounts its tolerance allows.
        let mut by_day: HashMap<(Currency, NaiveDate), Vec<(i64, usize)>> = HashMap::new();
        for (index, unit) in right_units.iter().enumerate() {
            by_day.entry((unit.currency, unit.date)).or_default().push((unit.amount_minor, index));
            if rule.allow_conversion {
                if let Some(original) = unit.original.filter(|o| o.currency != unit.currency) {
                    by_day.entry((original.currency, unit.date)).or_default().push((original.amount_minor, index));
                }
            }
        }
        for bucket in by_day.values_mut() {
            bucket.sort_unstable();
        }
        // Business days span more calendar days: widen the calendar scan (qualify checks).
        let (scan_before, scan_after) = if rule.business_days {
            (rule.days_before as i64 * 7 / 5 + 3, rule.days_after as i64 * 7 / 5 + 3)
        } else {
            (rule.days_before as i64, rule.days_after as i64)
        };
        let mut taken: HashSet<usize> = HashSet::new();
        for unit in &left_units {
            let tolerance = tolerance(rule, unit.currency, unit.amount_minor);
            let (low, high) = (unit.amount_minor - tolerance, unit.amount_minor + tolerance);
            // A pattern is compiled once per left unit (it embeds the unit's reference).
            let regex = match &rule.reference {
                Some(ReferenceTest::Regex(pattern)) => {
                    let pattern = pattern.replace("{reference}", &regex::escape(unit.reference));
                    Some(regex::Regex::new(&pattern).expect("validated patterns stay valid with an escaped reference"))
                }
                _ => None,
            };
            let mut candidates: Vec<(usize, u32, Evidence)> = Vec::new();
            for offset in -scan_before..=scan_after {
                let Some(bucket) = unit
                    .date
                    .checked_add_signed(chrono::Duration::days(offset))
                    .and_then(|day| by_day.get(&(unit.currency, day)))
                else {
                    continue;
                };
                let first = bucket.partition_point(|(amount, _)| *amount < low);
                for &(amount, index) in &bucket[first..] {
                    if amount > high {
                        break;
                    }
                    if taken.contains(&index) || candidates.iter().any(|(i, _, _)| *i == index) {
                        continue;
                    }
                    if let Some((score, evidence)) = qualify(rule, regex.as_ref(), unit, &right_units[index], tolerance)
                    {
                        candidates.push((index, score, evidence));
                    }
                }
            }
            candidates.sort_by(|a, b| {
                (b.1, a.2.date_difference_days.abs(), a.2.amount_difference_minor.abs(), &right_units[a.0].ids).cmp(&(
                    a.1,
                    b.2.date_difference_days.abs(),
                    b.2.amount_difference_minor.abs(),
                    &right_units[b.0].ids,
                ))
            });
            let chosen = match candidates.len() {
                0 => continue,
                1 => 0,
                _ if rule.unique_only => {
                    if unit.ids.iter().all(|id| proposed_left.insert(*id)) {
                        result.proposals.push(Proposal {
                            rule_id: rule.id.clone(),
                            left: unit.ids.clone(),
                            candidates: candidates.iter().map(|(i, s, _)| (right_units[*i].ids.clone(), *s)).collect(),
                        });
                    }
                    continue;
                }
                _ => 0,
            };
            let (index, score, evidence) = candidates.swap_remove(chosen);
            taken.insert(index);
            used_left.extend(&unit.ids);
            used_right.extend(&right_units[index].ids);
            result.matches.push(Match {
                rule_id: rule.id.clone(),
                left: unit.ids.clone(),
                right: right_units[index].ids.clone(),
                score,
                evidence,
            });
        }
    }
    result.proposals.retain(|p| p.left.iter().all(|id| !used_left.contains(id)));
    let mut unmatched_left: Vec<i64> = left.iter().map(|i| i.id).filter(|id| !used_left.contains(id)).collect();
    let mut unmatched_right: Vec<i64> = right.iter().map(|i| i.id).filter(|id| !used_right.contains(id)).collect();
    unmatched_left.sort_unstable();
    unmatched_right.sort_unstable();
    result.unmatched_left = unmatched_left;
    result.unmatched_right = unmatched_right;
    result.matches.sort_by(|a, b| a.left.cmp(&b.left));
    result.proposals.sort_by(|a, b| a.left.cmp(&b.left));
    result
}

fn qualify(
    rule: &Rule,
    regex: Option<&regex::Regex>,
    left: &Unit,
    right: &Unit,
    tolerance: i64,
) -> Option<(u32, Evidence)> {
    let (right_amount, converted) = if right.currency == left.currency {
        (right.amount_minor, false)
    } else {
        match right.original {
            Some(original) if rule.allow_conversion && original.currency == left.currency => {
                (original.amount_minor, true)
            }
            _ => return None,
        }
    };
    let amount_difference_minor = right_amount - left.amount_minor;
    if amount_difference_minor.abs() > tolerance {
        return None;
    }
    let mut keys = Vec::new();
    for key in &rule.keys {
        let value = left.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
        let other = right.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
        if value != other {
            return None;
        }
        keys.push((key.clone(), value.to_owned()));
    }
    for key in &rule.distinct_keys {
        let value = left.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
        let other = right.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
        if value == other {
            return None;
        }
    }
    let date_difference_days = (right.date - left.date).num_days();
    let window_difference =
        if rule.business_days { business_days_between(left.date, right.date) } else { date_difference_days };
    if window_difference < -(rule.days_before as i64) || window_difference > rule.days_after as i64 {
        return None;
    }
    let reference_agreed = match &rule.reference {
        None => !left.folded_reference.is_empty() && right.folded_text.contains(left.folded_reference),
        Some(ReferenceTest::Contains) => {
            let agreed = !left.folded_reference.is_empty() && right.folded_text.contains(left.folded_reference);
            if !agreed {
                return None;
            }
            true
        }
        Some(ReferenceTest::Regex(_)) => {
            if !regex.expect("a regex rule has its pattern").is_match(&right.text) {
                return None;
            }
            true
        }
        Some(ReferenceTest::Similarity { threshold_percent }) => {
            if similarity_percent(left.reference, &right.text) < *threshold_percent {
                return None;
            }
            true
        }
    };
    // Score: start at 100; lose up to 40 for the amount (share of the tolerance used), up
    // to 40 for the date (share of the window used), 20 without a reference agreement.
    let amount_penalty = if tolerance == 0 {
        0
    } else {
        (amount_difference_minor.unsigned_abs() * 40 / tolerance.unsigned_abs()) as u32
    };
    let window = (rule.days_before + rule.days_after).max(1) as i64;
    let date_penalty = (window_difference.unsigned_abs() * 40 / window.unsigned_abs()).min(40) as u32;
    let reference_penalty = if reference_agreed { 0 } else { 20 };
    let score = 100u32.saturating_sub(amount_penalty + date_penalty + reference_penalty);
    Some((score, Evidence { amount_difference_minor, date_difference_days, reference_agreed, converted, keys }))
}

#[cfg(test)]
// Rules are cloned into one-element slices on purpose: each check states its rule inline.
#[allow(clippy::cloned_ref_to_slice_refs)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn item(id: i64, amount_minor: i64, d: u32) -> Item {
        Item {
            id,
            amount_minor,
            currency: Currency::EUR,
            date: day(d),
            text: String::new(),
            reference: String::new(),
            keys: vec![("store".into(), "acme-de".into())],
            original: None,
        }
    }

    fn payout(id: i64, amount_minor: i64, d: u32) -> Item {
        Item { reference: format!("{id}"), ..item(id, amount_minor, d) }
    }

    fn receipt(id: i64, amount_minor: i64, d: u32, text: &str) -> Item {
        Item { text: text.into(), ..item(id, amount_minor, d) }
    }

    fn rule(id: &str) -> Rule {
        Rule {
            id: id.into(),
            priority: 10,
            left_filter: Filter::default(),
            right_filter: Filter::default(),
            keys: vec!["store".into()],
            distinct_keys: vec![],
            tolerance_minor: vec![],
            tolerance_basis_points: 0,
            days_before: 0,
            days_after: 3,
            business_days: false,
            reference: None,
            cardinality: Cardinality::OneToOne,
            unique_only: false,
            allow_conversion: false,
        }
    }

    fn pairs(result: &MatchResult) -> Vec<(Vec<i64>, Vec<i64>, String)> {
        result.matches.iter().map(|m| (m.left.clone(), m.right.clone(), m.rule_id.clone())).collect()
    }

    #[test]
    fn exact_one_to_one_with_evidence() {
        let result = run(&[rule("exact")], &[payout(1, 10_000, 1)], &[receipt(101, 10_000, 3, "AMAZON 1")]);
        assert_eq!(pairs(&result), vec![(vec![1], vec![101], "exact".into())]);
        let evidence = &result.matches[0].evidence;
        assert_eq!(
            (evidence.amount_difference_minor, evidence.date_difference_days, evidence.reference_agreed),
            (0, 2, true)
        );
        assert!(result.unmatched_left.is_empty() && result.unmatched_right.is_empty());
    }

    #[test]
    fn tolerance_edges_absolute_and_percent() {
        let mut r = rule("tolerant");
        r.tolerance_minor = vec![("EUR".into(), 100), ("*".into(), 1)];
        // Exactly at the bound matches; one cent over does not.
        assert_eq!(run(&[r.clone()], &[payout(1, 10_000, 1)], &[receipt(2, 9_900, 1, "")]).matches.len(), 1);
        assert_eq!(run(&[r.clone()], &[payout(1, 10_000, 1)], &[receipt(2, 9_899, 1, "")]).matches.len(), 0);
        // Percent: 1 % of 100 000 = 1 000, larger than the absolute 100.
        r.tolerance_basis_points = 100;
        assert_eq!(run(&[r.clone()], &[payout(1, 100_000, 1)], &[receipt(2, 99_000, 1, "")]).matches.len(), 1);
        assert_eq!(run(&[r.clone()], &[payout(1, 100_000, 1)], &[receipt(2, 98_999, 1, "")]).matches.len(), 0);
        // Another currency uses the `*` tolerance.
        let usd = |mut i: Item| {
            i.currency = Currency::USD;
            i
        };
        r.tolerance_basis_points = 0;
        assert_eq!(run(&[r.clone()], &[usd(payout(1, 10_000, 1))], &[usd(receipt(2, 9_999, 1, ""))]).matches.len(), 1);
        assert_eq!(run(&[r], &[usd(payout(1, 10_000, 1))], &[usd(receipt(2, 9_998, 1, ""))]).matches.len(), 0);
    }

    #[test]
    fn window_edges_calendar_and_business_days() {
        let r = rule("window");
        assert_eq!(
            run(&[r.clone()], &[payout(1, 500, 1)], &[receipt(2, 500, 4, "")]).matches.len(),
            1,
            "exactly 3 days after"
        );
        assert_eq!(run(&[r.clone()], &[payout(1, 500, 1)], &[receipt(2, 500, 5, "")]).matches.len(), 0, "one day over");
        assert_eq!(
            run(&[r.clone()], &[payout(1, 500, 2)], &[receipt(2, 500, 1, "")]).matches.len(),
            0,
            "before is not allowed"
        );
        // 2026-10-02 is a Friday: three business days later is Wednesday the 7th.
        let mut business = r;
        business.business_days = true;
        assert_eq!(run(&[business.clone()], &[payout(1, 500, 2)], &[receipt(2, 500, 7, "")]).matches.len(), 1);
        assert_eq!(run(&[business], &[payout(1, 500, 2)], &[receipt(2, 500, 8, "")]).matches.len(), 0);
    }

    #[test]
    fn references_contains_regex_similarity_and_never_instead_of_the_amount() {
        let mut contains = rule("contains");
        contains.reference = Some(ReferenceTest::Contains);
        let left = [payout(23874397121, 500, 1)];
        assert_eq!(run(&[contains.clone()], &left, &[receipt(2, 500, 1, "AMAZON 2387 4397 121")]).matches.len(), 1);
        assert_eq!(run(&[contains.clone()], &left, &[receipt(2, 500, 1, "AMAZON 2387")]).matches.len(), 0);
        // The reference agrees but the amount is a cent off: no match.
        assert_eq!(run(&[contains], &left, &[receipt(2, 501, 1, "AMAZON 23874397121")]).matches.len(), 0);
        let mut pattern = rule("regex");
        pattern.reference = Some(ReferenceTest::Regex(r"(?i)amazon.*\b{reference}\b".into()));
        assert_eq!(
            run(&[pattern.clone()], &left, &[receipt(2, 500, 1, "Amazon Payments 23874397121 EU")]).matches.len(),
            1
        );
        assert_eq!(run(&[pattern], &left, &[receipt(2, 500, 1, "23874397121 amazon")]).matches.len(), 0);
        let mut similar = rule("similar");
        similar.reference = Some(ReferenceTest::Similarity { threshold_percent: 80 });
        let truncated = [Item { reference: "AMAZON PAYMENTS EUROPE SCA".into(), ..payout(1, 500, 1) }];
        assert_eq!(run(&[similar.clone()], &truncated, &[receipt(2, 500, 1, "AMAZON PAYMENTS EUR")]).matches.len(), 1);
        assert_eq!(run(&[similar], &truncated, &[receipt(2, 500, 1, "PAYPAL EUROPE")]).matches.len(), 0);
        assert_eq!(similarity_percent("abc", "ABC"), 100);
    }

    #[test]
    fn priority_and_exclusivity() {
        let mut exact = rule("exact");
        exact.priority = 1;
        let mut loose = rule("loose");
        loose.priority = 2;
        loose.tolerance_minor = vec![("*".into(), 1_000)];
        loose.days_after = 30;
        let left = [payout(1, 10_000, 1), payout(2, 10_000, 1)];
        let right = [receipt(11, 10_000, 2, ""), receipt(12, 9_500, 20, "")];
        let result = run(&[loose.clone(), exact.clone()], &left, &right);
        assert_eq!(pairs(&result), vec![(vec![1], vec![11], "exact".into()), (vec![2], vec![12], "loose".into())]);
        // Receipt 11, taken by the exact rule, is not offered to the loose one.
        assert!(result.matches.iter().filter(|m| m.right == vec![11]).count() == 1);
    }

    #[test]
    fn unique_only_proposes_instead_of_guessing() {
        let mut r = rule("unique");
        r.unique_only = true;
        let left = [payout(1, 500, 1)];
        let right = [receipt(11, 500, 2, ""), receipt(12, 500, 3, "")];
        let result = run(&[r.clone()], &left, &right);
        assert!(result.matches.is_empty());
        assert_eq!(result.proposals.len(), 1);
        assert_eq!(
            result.proposals[0].candidates.iter().map(|(ids, _)| ids[0]).collect::<Vec<_>>(),
            vec![11, 12],
            "nearest date ranks first"
        );
        assert_eq!(result.unmatched_left, vec![1]);
        // Without the guard the best candidate is taken, deterministically.
        r.unique_only = false;
        assert_eq!(pairs(&run(&[r], &left, &right)), vec![(vec![1], vec![11], "unique".into())]);
    }

    #[test]
    fn cardinalities_by_group_sum() {
        // n:1: two settlements of one deposit day paid in one bank transfer.
        let mut many_to_one = rule("n:1");
        many_to_one.cardinality = Cardinality::ManyToOne { left_group: "deposit".into() };
        let grouped = |mut i: Item, g: &str| {
            i.keys.push(("deposit".into(), g.into()));
            i
        };
        let left =
            [grouped(payout(1, 300, 1), "d1"), grouped(payout(2, 200, 1), "d1"), grouped(payout(3, 999, 1), "d2")];
        let result = run(&[many_to_one], &left, &[receipt(11, 500, 2, "")]);
        assert_eq!(pairs(&result), vec![(vec![1, 2], vec![11], "n:1".into())]);
        assert_eq!(result.unmatched_left, vec![3]);
        // 1:n: one payout arriving in two parts with the same bank reference.
        let mut one_to_many = rule("1:n");
        one_to_many.cardinality = Cardinality::OneToMany { right_group: "bank_ref".into() };
        let right = [grouped(receipt(11, 400, 2, ""), "T9"), grouped(receipt(12, 100, 3, ""), "T9")];
        assert_eq!(
            pairs(&run(&[one_to_many], &[payout(1, 500, 1)], &right)),
            vec![(vec![1], vec![11, 12], "1:n".into())]
        );
        // n:m: both sides grouped by a batch key.
        let mut many_to_many = rule("n:m");
        many_to_many.cardinality = Cardinality::ManyToMany { left_group: "batch".into(), right_group: "batch".into() };
        let batch = |mut i: Item| {
            i.keys.push(("batch".into(), "B1".into()));
            i
        };
        let result = run(
            &[many_to_many],
            &[batch(payout(1, 300, 1)), batch(payout(2, 300, 1))],
            &[batch(receipt(11, 250, 2, "")), batch(receipt(12, 350, 2, ""))],
        );
        assert_eq!(pairs(&result), vec![(vec![1, 2], vec![11, 12], "n:m".into())]);
    }

    #[test]
    fn conversion_uses_the_stated_original_amount() {
        let mut r = rule("converted");
        r.allow_conversion = true;
        r.tolerance_basis_points = 50;
        let left = [Item { currency: Currency::USD, ..payout(1, 100_000, 1) }];
        let cny = Item {
            currency: Currency::CNY,
            amount_minor: 712_340,
            original: Some(Money::new(99_700, Currency::USD)),
            ..receipt(11, 0, 2, "")
        };
        let result = run(&[r.clone()], &left, &[cny.clone()]);
        assert_eq!(result.matches.len(), 1);
        assert!(result.matches[0].evidence.converted);
        assert_eq!(result.matches[0].evidence.amount_difference_minor, -300);
        r.allow_conversion = false;
        assert!(run(&[r], &left, &[cny]).matches.is_empty());
    }

    #[test]
    fn filters_restrict_each_side() {
        let mut r = rule("amazon-only");
        r.right_filter.text_pattern = Some("amazon".into());
        let left = [payout(1, 500, 1)];
        assert_eq!(run(&[r.clone()], &left, &[receipt(2, 500, 1, "AMAZON EU")]).matches.len(), 1);
        assert_eq!(run(&[r.clone()], &left, &[receipt(2, 500, 1, "rent")]).matches.len(), 0);
        r.left_filter.currencies = vec!["USD".into()];
        assert_eq!(run(&[r.clone()], &left, &[receipt(2, 500, 1, "AMAZON EU")]).matches.len(), 0, "the payout is EUR");
        r.left_filter.currencies.clear();
        r.left_filter.keys = vec![("store".into(), "acme-us".into())];
        assert_eq!(run(&[r], &left, &[receipt(2, 500, 1, "AMAZON EU")]).matches.len(), 0, "the payout is acme-de's");
    }

    #[test]
    fn invalid_rules_are_named() {
        let mut bad = rule("bad");
        bad.reference = Some(ReferenceTest::Regex("(unclosed".into()));
        assert!(validate(&[bad]).unwrap_err().to_string().starts_with("rule bad: invalid pattern"));
        assert_eq!(validate(&[rule("a"), rule("a")]).unwrap_err().message, "the id is used by another rule");
    }

    proptest! {
        #[test]
        fn the_same_records_in_any_order_match_the_same(
            amounts in prop::collection::vec((1i64..50, 1u32..20), 1..40),
            receipts in prop::collection::vec((1i64..50, 1u32..25), 1..40),
            seed in any::<u64>(),
        ) {
            let left: Vec<Item> = amounts.iter().enumerate().map(|(i, (a, d))| payout(i as i64, a * 100, *d)).collect();
            let right: Vec<Item> = receipts.iter().enumerate().map(|(i, (a, d))| receipt(1000 + i as i64, a * 100, *d, "")).collect();
            let mut loose = rule("loose");
            loose.tolerance_minor = vec![("*".into(), 200)];
            let rules = [rule("exact"), loose];
            let expected = run(&rules, &left, &right);
            let mut state = seed | 1;
            let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let (mut l, mut r) = (left.clone(), right.clone());
            for i in (1..l.len()).rev() { let j = (next() % (i as u64 + 1)) as usize; l.swap(i, j); }
            for i in (1..r.len()).rev() { let j = (next() % (i as u64 + 1)) as usize; r.swap(i, j); }
            prop_assert_eq!(run(&rules, &l, &r), expected.clone());
            // Every record is matched once or listed unmatched.
            let matched_left: usize = expected.matches.iter().map(|m| m.left.len()).sum();
            prop_assert_eq!(matched_left + expected.unmatched_left.len(), left.len());
            let matched_right: usize = expected.matches.iter().map(|m| m.right.len()).sum();
            prop_assert_eq!(matched_right + expected.unmatched_right.len(), right.len());
        }
    }
}
