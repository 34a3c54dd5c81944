//! Statements with counterparties (往来对账单): drawing them up from documents, moving
//! them through their lifecycle within role permissions, applying payments, matching the
//! counterparty's own statement line by line, and resolving the differences (accept,
//! adjust, write off within role limits; small ones written off automatically by the
//! system). The rules are `tieout_core::counterparty`'s; this is where they meet the store.

use chrono::NaiveDate;
use serde::Serialize;
use tieout_core::counterparty::{
    self, apply_payments, match_lines, state_after_payments, DocType, Line, LineDifference, Payable, Permission, Side,
    State,
};
use tieout_core::money::Currency;
use tieout_store::{FileMeta, NewStatement, StatementRecord, StatementResolution, Store, StoreError, TheirLine};

use crate::config::WriteOffSection;
use crate::team::{Action, Role};
use crate::views::amount;

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("no statement {0}")]
    Missing(i64),
    #[error("nothing to state: {0} has no {1} documents in {2} from {3} to {4} that are not on another statement")]
    Empty(String, String, String, NaiveDate, NaiveDate),
    #[error(transparent)]
    Transition(#[from] counterparty::TransitionError),
    #[error("the role {role} may not {what} (it needs {needed} or above)")]
    Forbidden { role: &'static str, what: String, needed: &'static str },
    #[error("the statement changed meanwhile (it is {0} now); reload and try again")]
    Changed(String),
    #[error("the statement is {0}: its counterparty's statement can be matched once it is pending review or later")]
    NotLocked(String),
    #[error("no difference on document {0}")]
    NoDifference(String),
    #[error("writing off {amount} {currency} is over your limit ({limit}); an approver or admin may")]
    OverLimit { amount: String, currency: String, limit: String },
    #[error("the role {0} may not write off in {1} (no [write_off] limit)")]
    NoLimit(&'static str, String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn day(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date)
}

fn date(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or_default()
}

/// The role a permission needs.
pub fn role_for(permission: Permission) -> Role {
    match permission {
        Permission::Prepare => Role::least_for(Action::Import),
        Permission::Review => Role::least_for(Action::Resolve),
        Permission::SignOff => Role::least_for(Action::SignOff),
    }
}

/// Draws up a statement (a draft) for `counterparty` on `side` in `currency` for the days
/// `from..=to`: its lines are the counterparty's documents of the period (but payments)
/// not on another statement that is not void; its opening is what earlier statements
/// still have unpaid.
#[allow(clippy::too_many_arguments)]
pub fn draw_up(
    store: &mut dyn Store,
    counterparty: &str,
    side: Side,
    currency: Currency,
    from: NaiveDate,
    to: NaiveDate,
    role: Role,
    user: Option<i64>,
    at: i64,
) -> Result<i64, StatementError> {
    if !role.allows(Action::Import) {
        return Err(StatementError::Forbidden {
            role: role.name(),
            what: "draw up statements".to_owned(),
            needed: role_for(Permission::Prepare).name(),
        });
    }
    if from > to {
        return Err(StatementError::Invalid(format!("the period {from} – {to} ends before it starts")));
    }
    let statements = store.counterparty_statements()?;
    let same = |s: &&StatementRecord| {
        s.counterparty == counterparty
            && s.side == side.name()
            && s.currency == currency.code()
            && s.state != State::Void.name()
    };
    let mut stated = std::collections::HashSet::new();
    for statement in statements.iter().filter(same) {
        stated.extend(store.statement_documents(statement.id)?);
    }
    let documents = store.documents(Some(counterparty))?;
    let lines: Vec<&tieout_store::StoredDocument> = documents
        .iter()
        .filter(|d| {
            d.document.doc_type.side() == side
                && d.document.currency == currency
                && !d.document.doc_type.is_payment()
                && d.document.date >= from
                && d.document.date <= to
                && !stated.contains(&d.id)
        })
        .collect();
    if lines.is_empty() {
        return Err(StatementError::Empty(
            counterparty.to_owned(),
            side.name().to_owned(),
            currency.to_string(),
            from,
            to,
        ));
    }
    let due_minor: i64 = lines.iter().map(|d| d.document.doc_type.sign() * d.document.amount_minor).sum();
    let opening_minor: i64 = statements
        .iter()
        .filter(same)
        .filter(|s| s.period_start_day < day(from))
        .map(|s| s.due_minor - s.paid_minor)
        .sum();
    let id = store.create_statement(&NewStatement {
        counterparty: counterparty.to_owned(),
        side: side.name().to_owned(),
        currency: currency.code().to_owned(),
        period_start_day: day(from),
        period_end_day: day(to),
        opening_minor,
        due_minor,
        document_ids: lines.iter().map(|d| d.id).collect(),
        created_by: user,
        at,
    })?;
    Ok(id)
}

/// Moves a statement to `to` if the lifecycle allows it and `role` has the permission it
/// needs; a statement reviewed takes the payments waiting for it. Returns the state it is
/// in afterwards (reviewing may settle it at once).
pub fn transition(store: &mut dyn Store, id: i64, to: State, role: Role, at: i64) -> Result<State, StatementError> {
    let statement = find(store, id)?;
    let from = State::parse(&statement.state).ok_or_else(|| StatementError::Invalid(statement.state.clone()))?;
    let permission = counterparty::transition(from, to)?;
    let needed = role_for(permission);
    if role < needed {
        return Err(StatementError::Forbidden {
            role: role.name(),
            what: format!("move a statement from {} to {}", from.name(), to.name()),
            needed: needed.name(),
        });
    }
    if !store.set_statement_state(id, from.name(), to.name(), at)? {
        return Err(StatementError::Changed(find(store, id)?.state));
    }
    if to == State::Reviewed {
        apply_waiting_payments(store, at)?;
    }
    Ok(State::parse(&find(store, id)?.state).unwrap_or(to))
}

fn find(store: &dyn Store, id: i64) -> Result<StatementRecord, StatementError> {
    store.counterparty_statements()?.into_iter().find(|s| s.id == id).ok_or(StatementError::Missing(id))
}

/// Applies every payment not yet applied in full to the reviewed statements of its
/// counterparty, side and currency, oldest statement first; statements move to partially
/// paid or settled by themselves. Returns how many statements changed.
pub fn apply_waiting_payments(store: &mut dyn Store, at: i64) -> Result<usize, StoreError> {
    let statements = store.counterparty_statements()?;
    let documents = store.documents(None)?;
    let applied = store.statement_payments()?;
    let mut applications = Vec::new();
    let mut states = Vec::new();
    let mut groups: Vec<(String, String, String)> =
        statements.iter().map(|s| (s.counterparty.clone(), s.side.clone(), s.currency.clone())).collect();
    groups.sort();
    groups.dedup();
    for (counterparty, side, currency) in groups {
        let mut open: Vec<(StatementRecord, Payable)> = statements
            .iter()
            .filter(|s| s.counterparty == counterparty && s.side == side && s.currency == currency)
            .filter(|s| State::parse(&s.state).is_some_and(State::takes_payments))
            .map(|s| (s.clone(), Payable { statement_id: s.id, due_minor: s.due_minor, paid_minor: s.paid_minor }))
            .collect();
        if open.is_empty() {
            continue;
        }
        open.sort_by_key(|(s, _)| (s.period_start_day, s.id));
        let payments: Vec<(i64, i64)> = documents
            .iter()
            .filter(|d| {
                d.document.counterparty == counterparty
                    && d.document.doc_type.is_payment()
                    && d.document.doc_type.side().name() == side
                    && d.document.currency.code() == currency
            })
            .map(|d| {
                let used: i64 = applied.iter().filter(|(_, doc, _)| *doc == d.id).map(|(_, _, a)| a).sum();
                (d.id, d.document.amount_minor - used)
            })
            .filter(|(_, left)| *left > 0)
            .collect();
        if payments.is_empty() {
            continue;
        }
        let mut payables: Vec<Payable> = open.iter().map(|(_, p)| p.clone()).collect();
        let amounts: Vec<i64> = payments.iter().map(|(_, left)| *left).collect();
        let (done, _) = apply_payments(&mut payables, &amounts);
        for application in &done {
            applications.push((
                application.statement_id,
                payments[application.payment_index].0,
                application.amount_minor,
            ));
        }
        for ((statement, _), payable) in open.iter().zip(&payables) {
            if payable.paid_minor != statement.paid_minor {
                let state = State::parse(&statement.state).unwrap_or(State::Reviewed);
                let next = state_after_payments(state, statement.due_minor, payable.paid_minor);
                states.push((statement.id, payable.paid_minor, next.name().to_owned()));
            }
        }
    }
    if !applications.is_empty() {
        store.apply_statement_payments(&applications, &states, at)?;
    }
    Ok(states.len())
}

/// One line of a statement, as shown and exported.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LineView {
    pub number: String,
    pub date: NaiveDate,
    pub doc_type: String,
    pub description: String,
    pub amount: String,
    pub file_name: String,
    pub line: u32,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DifferenceView {
    pub number: String,
    /// `ours_only`, `theirs_only` or `amount`.
    pub kind: &'static str,
    pub ours: Option<String>,
    pub theirs: Option<String>,
    /// Ours − theirs.
    pub difference: String,
    pub their_line: Option<u32>,
    /// `accept`, `adjust` or `write_off` once resolved.
    pub resolution: Option<String>,
    pub resolved_by_system: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StatementView {
    pub id: i64,
    pub counterparty: String,
    pub counterparty_name: Option<String>,
    pub side: String,
    pub currency: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub state: String,
    /// Unpaid on earlier statements (brought forward; not part of `due`).
    pub opening: String,
    /// This statement's lines summed.
    pub due: String,
    pub paid: String,
    /// Everything the counterparty owes (or is owed): opening + due − paid.
    pub balance: String,
    pub lines: Vec<LineView>,
    /// The counterparty's own statement, when imported: its lines summed.
    pub their_total: Option<String>,
    pub differences: Vec<DifferenceView>,
}

/// A statement with its lines, totals and (when the counterparty's statement is in) the
/// differences.
pub fn view(store: &dyn Store, id: i64) -> Result<StatementView, StatementError> {
    let statement = find(store, id)?;
    let currency =
        Currency::from_code(&statement.currency).map_err(|_| StatementError::Invalid(statement.currency.clone()))?;
    let money = |minor: i64| amount(minor, currency);
    let documents = store.documents(Some(&statement.counterparty))?;
    let ids = store.statement_documents(id)?;
    let lines: Vec<&tieout_store::StoredDocument> =
        ids.iter().filter_map(|doc| documents.iter().find(|d| d.id == *doc)).collect();
    let ours: Vec<Line> = lines
        .iter()
        .map(|d| Line {
            number: d.document.number.clone(),
            amount_minor: d.document.doc_type.sign() * d.document.amount_minor,
        })
        .collect();
    let theirs_stored = store.counterparty_lines(id)?;
    let theirs: Vec<Line> =
        theirs_stored.iter().map(|t| Line { number: t.number.clone(), amount_minor: t.amount_minor }).collect();
    let resolutions = store.statement_resolutions(id)?;
    let differences = if theirs_stored.is_empty() {
        Vec::new()
    } else {
        match_lines(&ours, &theirs)
            .iter()
            .map(|d| {
                let (number, kind, our, their, their_line) = match d {
                    LineDifference::OursOnly { ours: i } => {
                        (&ours[*i].number, "ours_only", Some(ours[*i].amount_minor), None, None)
                    }
                    LineDifference::TheirsOnly { theirs: i } => (
                        &theirs[*i].number,
                        "theirs_only",
                        None,
                        Some(theirs[*i].amount_minor),
                        Some(theirs_stored[*i].line),
                    ),
                    LineDifference::Amount { ours: i, theirs: j, .. } => (
                        &ours[*i].number,
                        "amount",
                        Some(ours[*i].amount_minor),
                        Some(theirs[*j].amount_minor),
                        Some(theirs_stored[*j].line),
                    ),
                };
                let resolution = resolutions.iter().rev().find(|r| r.number == *number);
                DifferenceView {
                    number: number.clone(),
                    kind,
                    ours: our.map(money),
                    theirs: their.map(money),
                    difference: money(d.amount_minor(&ours, &theirs)),
                    their_line,
                    resolution: resolution.map(|r| r.kind.clone()),
                    resolved_by_system: resolution.is_some_and(|r| r.by_user.is_none()),
                }
            })
            .collect()
    };
    Ok(StatementView {
        id,
        counterparty: statement.counterparty.clone(),
        counterparty_name: lines.iter().find_map(|d| d.document.counterparty_name.clone()),
        side: statement.side.clone(),
        currency: statement.currency.clone(),
        period_start: date(statement.period_start_day),
        period_end: date(statement.period_end_day),
        state: statement.state.clone(),
        opening: money(statement.opening_minor),
        due: money(statement.due_minor),
        paid: money(statement.paid_minor),
        balance: money(statement.opening_minor + statement.due_minor - statement.paid_minor),
        lines: lines
            .iter()
            .zip(&ours)
            .map(|(d, line)| LineView {
                number: d.document.number.clone(),
                date: d.document.date,
                doc_type: d.document.doc_type.name().to_owned(),
                description: d.document.description.clone(),
                amount: money(line.amount_minor),
                file_name: d.file_name.clone(),
                line: d.document.line,
            })
            .collect(),
        their_total: (!theirs_stored.is_empty()).then(|| money(theirs.iter().map(|t| t.amount_minor).sum())),
        differences,
    })
}

/// Stores the counterparty's own statement of `id` (a document file of its lines; payments
/// in it are left out, as our statement lists none), then writes off by the system every
/// difference within the `auto` limit. Returns the number written off automatically.
pub fn import_theirs(
    store: &mut dyn Store,
    id: i64,
    meta: &FileMeta,
    bytes: &[u8],
    limits: &WriteOffSection,
    at: i64,
) -> Result<Result<usize, Vec<tieout_core::Diagnostic>>, StatementError> {
    let statement = find(store, id)?;
    if statement.state == State::Draft.name() || statement.state == State::Void.name() {
        return Err(StatementError::NotLocked(statement.state));
    }
    if let Some(earlier) = store.file_by_sha256(&meta.sha256)? {
        return Err(StatementError::Invalid(format!("this file was imported already (as {})", earlier.name)));
    }
    let file = tieout_formats::ledger::read_documents(&meta.name, bytes);
    if !file.diagnostics.is_empty() {
        return Ok(Err(file.diagnostics));
    }
    let lines: Vec<TheirLine> = file
        .documents
        .iter()
        .filter(|d| !d.doc_type.is_payment())
        .map(|d| TheirLine {
            line: d.line,
            number: d.number.clone(),
            day: day(d.date),
            amount_minor: d.doc_type.sign() * d.amount_minor,
            description: d.description.clone(),
        })
        .collect();
    store.import_counterparty_lines(meta, id, &lines)?;
    let currency =
        Currency::from_code(&statement.currency).map_err(|_| StatementError::Invalid(statement.currency.clone()))?;
    let auto = limits.limit_minor("auto", currency);
    let view = view(store, id)?;
    let mut written = Vec::new();
    for difference in view.differences.iter().filter(|d| d.resolution.is_none()) {
        let minor = parse(&difference.difference, currency)?;
        if counterparty::write_off_allowed(auto, minor) {
            written.push(resolution(id, difference, "write_off", Some("small_difference"), None, None, at, currency)?);
        }
    }
    let count = written.len();
    store.add_statement_resolutions(&written)?;
    Ok(Ok(count))
}

fn parse(text: &str, currency: Currency) -> Result<i64, StatementError> {
    tieout_core::money::parse_amount_minor(text, tieout_core::NumberStyle::Dot, currency.exponent())
        .map_err(|e| StatementError::Invalid(format!("{text}: {e}")))
}

#[allow(clippy::too_many_arguments)]
fn resolution(
    id: i64,
    difference: &DifferenceView,
    kind: &str,
    reason: Option<&str>,
    comment: Option<&str>,
    user: Option<i64>,
    at: i64,
    currency: Currency,
) -> Result<StatementResolution, StatementError> {
    Ok(StatementResolution {
        statement_id: id,
        number: difference.number.clone(),
        kind: kind.to_owned(),
        ours_minor: difference.ours.as_deref().map(|t| parse(t, currency)).transpose()?,
        theirs_minor: difference.theirs.as_deref().map(|t| parse(t, currency)).transpose()?,
        amount_minor: parse(&difference.difference, currency)?,
        reason: reason.map(str::to_owned),
        comment: comment.filter(|c| !c.is_empty()).map(str::to_owned),
        by_user: user,
        at,
    })
}

/// Reason codes of a write-off.
pub const WRITE_OFF_REASONS: [&str; 5] = ["small_difference", "rounding", "bank_charges", "goodwill", "other"];

/// Resolves the difference on document `number`: `accept` (theirs is right, ours is
/// corrected in the books), `adjust` (an adjustment keeps both amounts) or `write_off`
/// (with a reason code, within the role's limit in the statement's currency).
#[allow(clippy::too_many_arguments)]
pub fn resolve(
    store: &mut dyn Store,
    id: i64,
    number: &str,
    kind: &str,
    reason: Option<&str>,
    comment: Option<&str>,
    role: Role,
    user: i64,
    limits: &WriteOffSection,
    at: i64,
) -> Result<StatementResolution, StatementError> {
    if !role.allows(Action::Resolve) {
        return Err(StatementError::Forbidden {
            role: role.name(),
            what: "resolve statement differences".to_owned(),
            needed: Role::least_for(Action::Resolve).name(),
        });
    }
    let view = view(store, id)?;
    let currency = Currency::from_code(&view.currency).map_err(|_| StatementError::Invalid(view.currency.clone()))?;
    let difference = view
        .differences
        .iter()
        .find(|d| d.number.trim().eq_ignore_ascii_case(number.trim()))
        .ok_or_else(|| StatementError::NoDifference(number.to_owned()))?;
    match kind {
        "accept" | "adjust" => {}
        "write_off" => {
            let reason = reason.unwrap_or("");
            if !WRITE_OFF_REASONS.contains(&reason) {
                return Err(StatementError::Invalid(format!(
                    "a write-off needs a reason code: one of {}",
                    WRITE_OFF_REASONS.join(", ")
                )));
            }
            let minor = parse(&difference.difference, currency)?;
            let limit = limits
                .limit_minor(role.name(), currency)
                .ok_or(StatementError::NoLimit(role.name(), view.currency.clone()))?;
            if !counterparty::write_off_allowed(Some(limit), minor) {
                return Err(StatementError::OverLimit {
                    amount: difference.difference.trim_start_matches('-').to_owned(),
                    currency: view.currency.clone(),
                    limit: amount(limit, currency),
                });
            }
        }
        other => return Err(StatementError::Invalid(format!("'{other}': accept, adjust or write_off"))),
    }
    let record = resolution(id, difference, kind, reason, comment, Some(user), at, currency)?;
    store.add_statement_resolutions(std::slice::from_ref(&record))?;
    Ok(record)
}

/// A statement as a report table: its lines, then the totals of both sides.
pub fn table(view: &StatementView) -> tieout_core::table::Table {
    use tieout_core::table::{Cell, Table};
    let currency = Currency::from_code(&view.currency).unwrap_or(Currency::from_code("USD").expect("USD is known"));
    let money = |text: &str| {
        let minor = tieout_core::money::parse_amount_minor(text, tieout_core::NumberStyle::Dot, currency.exponent())
            .unwrap_or(0);
        Cell::money(minor, currency)
    };
    let mut rows: Vec<Vec<Cell>> = view
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::text(&l.number),
                Cell::text(l.date.to_string()),
                Cell::text(&l.doc_type),
                Cell::text(&l.description),
                money(&l.amount),
            ]
        })
        .collect();
    rows.push(vec![
        Cell::text("Opening (brought forward) 期初"),
        Cell::text(""),
        Cell::text(""),
        Cell::text(""),
        money(&view.opening),
    ]);
    rows.push(vec![
        Cell::text("This statement 本期"),
        Cell::text(""),
        Cell::text(""),
        Cell::text(""),
        money(&view.due),
    ]);
    rows.push(vec![Cell::text("Paid 已付"), Cell::text(""), Cell::text(""), Cell::text(""), money(&view.paid)]);
    rows.push(vec![Cell::text("Balance 余额"), Cell::text(""), Cell::text(""), Cell::text(""), money(&view.balance)]);
    if let Some(theirs) = &view.their_total {
        rows.push(vec![
            Cell::text("Counterparty's total 对方合计"),
            Cell::text(""),
            Cell::text(""),
            Cell::text(""),
            money(theirs),
        ]);
    }
    Table {
        title: format!("Statement {} {}", view.id, view.counterparty),
        columns: ["number", "date", "type", "description", "amount"].iter().map(|c| (*c).to_owned()).collect(),
        rows,
        notes: vec![format!(
            "{} statement of {} for {} – {}, state {}; amounts in {} minor units summed exactly, no conversion.",
            view.side, view.counterparty, view.period_start, view.period_end, view.state, view.currency
        )],
    }
}

/// The statement as a printable page (HTML): both sides' totals and a signature block.
pub fn print_view(view: &StatementView, company: &str) -> String {
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }
    let mut rows = String::new();
    for l in &view.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&l.number),
            l.date,
            escape(&l.doc_type),
            escape(&l.description),
            escape(&l.amount)
        ));
    }
    let theirs = view.their_total.as_deref().map_or_else(|| "—".to_owned(), escape);
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>对账单 Statement {id}</title>\
<style>body{{font:12pt sans-serif;margin:2cm}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #444;padding:4px}}\
.n{{text-align:right;font-variant-numeric:tabular-nums}}.sign{{display:flex;gap:4cm;margin-top:2cm}}.sign div{{border-top:1px solid #000;padding-top:4px;width:6cm}}\
@media print{{body{{margin:1cm}}}}</style></head><body>\
<h1>对账单 Statement #{id}</h1>\
<p>{company} — {counterparty} ({side}) · {start} – {end} · {currency} · 状态 state: {state}</p>\
<table><thead><tr><th>单号 Number</th><th>日期 Date</th><th>类型 Type</th><th>摘要 Description</th><th>金额 Amount</th></tr></thead><tbody>\n{rows}</tbody></table>\
<table style=\"margin-top:1em;width:50%\"><tbody>\
<tr><th>期初 Opening</th><td class=\"n\">{opening}</td></tr><tr><th>本期 This statement</th><td class=\"n\">{due}</td></tr>\
<tr><th>已付 Paid</th><td class=\"n\">{paid}</td></tr><tr><th>余额 Balance (ours)</th><td class=\"n\">{balance}</td></tr>\
<tr><th>对方合计 Counterparty's total</th><td class=\"n\">{theirs}</td></tr></tbody></table>\
<div class=\"sign\"><div>{company}<br>签字盖章 Signature &amp; seal<br>日期 Date</div><div>{counterparty}<br>签字盖章 Signature &amp; seal<br>日期 Date</div></div>\
</body></html>",
        id = view.id,
        company = escape(company),
        counterparty = escape(view.counterparty_name.as_deref().unwrap_or(&view.counterparty)),
        side = view.side,
        start = view.period_start,
        end = view.period_end,
        currency = view.currency,
        state = view.state,
        opening = escape(&view.opening),
        due = escape(&view.due),
        paid = escape(&view.paid),
        balance = escape(&view.balance),
    )
}

/// The statement's document type list (for pages and the CLI).
pub fn doc_types() -> Vec<&'static str> {
    DocType::ALL.iter().map(|t| t.name()).collect()
}

/// What a counterparty's statement file is stored as.
pub fn counterparty_meta(name: &str, sha256: &str, size_bytes: u64, at: i64) -> FileMeta {
    FileMeta {
        sha256: sha256.to_owned(),
        name: name.to_owned(),
        format: tieout_core::records::SourceFormat::CounterpartyStatement,
        store: None,
        size_bytes,
        imported_at: chrono::DateTime::from_timestamp(at, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Queues the "statement awaiting review" alert for a statement just submitted (to the
/// tenant's webhooks and e-mail, when it has an alert configuration).
pub fn alert_awaiting_review(
    control: &mut dyn tieout_store::control::ControlStore,
    tenant: i64,
    tenant_slug: &str,
    statement: &StatementRecord,
    at: i64,
) -> Result<(), StoreError> {
    let Ok(currency) = Currency::from_code(&statement.currency) else { return Ok(()) };
    let total = tieout_core::Money { amount_minor: statement.due_minor, currency };
    let alert = crate::alerts::statement_awaiting_review(tenant_slug, statement.id, &statement.counterparty, total);
    // One alert per submission (a statement sent back and submitted again alerts again).
    crate::alerts::raise(control, tenant, &[alert], &format!("statement-{}-review-{at}", statement.id), at)?;
    Ok(())
}
