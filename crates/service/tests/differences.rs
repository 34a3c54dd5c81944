//! Resolving order differences: accept, adjust (both amounts kept), write off within the
//! role's limit (at the limit allowed, one cent over refused), and the automatic write-off
//! of small differences under the system identity — on the demo month's real results.

use std::collections::HashMap;

use tieout_core::ids::OrderId;
use tieout_core::reconcile::Category;
use tieout_core::Currency;
use tieout_service::config::Settings;
use tieout_service::differences::{self, Act, ActError, Kind, SYSTEM_USER};
use tieout_service::import::{import_files, Outcome};
use tieout_service::reconcile::reconcile;
use tieout_service::SqliteStore;
use tieout_store::OrderResultRow;

const AT: i64 = 1_793_000_000;

mod common;

/// A store holding the reconciled demo month (2 000 orders, three stores).
fn reconciled_demo(dir: &std::path::Path) -> SqliteStore {
    let month = common::demo_month(&dir.join("demo"), 7, 2_000);
    let settings_text = std::fs::read_to_string(&month.manifest.config_file).unwrap();
    let settings = Settings::parse("tieout.toml", &settings_text).unwrap();
    let mut store = SqliteStore::open(&dir.join("store.db")).unwrap();
    for (path, options) in &month.jobs {
        let reports = import_files(&mut store, std::slice::from_ref(path), options, &mut |_, _| {}).unwrap();
        assert!(matches!(reports[0].outcome, Outcome::Imported { .. }), "{:?}", reports[0].outcome);
    }
    reconcile(&mut store, &settings.reconcile_config(month.manifest.as_of), &settings_text, "2026-11-05T00:00:00Z")
        .unwrap();
    store
}

fn differences_of(store: &SqliteStore, category: Category) -> Vec<OrderResultRow> {
    let mut rows: Vec<OrderResultRow> =
        store.order_results(None).unwrap().into_iter().filter(|r| r.category == category).collect();
    rows.sort_by_key(|r| r.order_id.to_string());
    rows
}

/// |settled − order amount|: an amount mismatch's amount in question, worked out here.
fn mismatch(row: &OrderResultRow) -> i64 {
    (row.settled_amount_minor - row.order_amount_minor.unwrap()).abs()
}

fn resolve(kind: Kind, reason: &str, adjustment: Option<&str>) -> Act {
    Act::Resolve { kind, reason: reason.to_owned(), comment: String::new(), adjustment: adjustment.map(str::to_owned) }
}

#[test]
fn accept_adjust_and_write_off_keep_their_amounts_and_write_offs_are_held_to_the_limit() {
    let temp = tempfile::tempdir().unwrap();
    let mut store = reconciled_demo(temp.path());
    // Orders whose only difference is the amount: the amount in question is |settled − ours|.
    let mismatches: Vec<OrderResultRow> = differences_of(&store, Category::AmountMismatch)
        .into_iter()
        .filter(|r| r.flags.iter().filter(|c| c.is_difference()).count() == 1 && mismatch(r) > 0)
        .collect();
    assert!(mismatches.len() >= 4, "the demo month has amount mismatches");
    let everyone = |_: &str| true;
    let no_limit = |_: Currency| None;
    let text = |row: &OrderResultRow| row.order_id.to_string();

    // Accept: nothing booked, the record keeps ours and theirs.
    let a = &mismatches[0];
    differences::act(&mut store, &[text(a)], &resolve(Kind::Accept, "timing", None), 5, AT, &everyone, &no_limit)
        .unwrap();
    // Adjust with the default adjustment (theirs − ours), and with one the person gives.
    let (b, c) = (&mismatches[1], &mismatches[2]);
    differences::act(&mut store, &[text(b)], &resolve(Kind::Adjust, "data_error", None), 5, AT, &everyone, &no_limit)
        .unwrap();
    differences::act(
        &mut store,
        &[text(c)],
        &resolve(Kind::Adjust, "fee_dispute", Some("-1.25")),
        5,
        AT,
        &everyone,
        &no_limit,
    )
    .unwrap();
    // One adjustment amount for two orders is refused.
    let two = [text(&mismatches[3]), text(a)];
    let error =
        differences::act(&mut store, &two, &resolve(Kind::Adjust, "other", Some("1.00")), 5, AT, &everyone, &no_limit)
            .unwrap_err();
    assert!(matches!(error, ActError::Adjustment(_)), "{error}");

    let resolutions = differences::resolutions(&store).unwrap();
    let of = |row: &OrderResultRow| resolutions[&row.order_id].clone();
    assert_eq!(of(a).kind.as_deref(), Some("accept"));
    assert_eq!((of(a).ours_minor, of(a).theirs_minor), (a.order_amount_minor, Some(a.settled_amount_minor)));
    assert_eq!(of(b).kind.as_deref(), Some("adjust"));
    assert_eq!(of(b).amount_minor, Some(b.settled_amount_minor - b.order_amount_minor.unwrap()));
    assert_eq!((of(b).ours_minor, of(b).theirs_minor), (b.order_amount_minor, Some(b.settled_amount_minor)));
    assert_eq!(of(c).amount_minor, Some(-125));
    assert_eq!(of(c).currency.as_deref(), Some(c.currency.code()));

    // Write-off: at the limit allowed, one cent over refused (nothing recorded), no limit
    // in the currency refused, and an accept reason is not a write-off reason.
    let d = &mismatches[3];
    let amount = mismatch(d);
    let currency = d.currency;
    let limit = |value: i64| move |c: Currency| (c == currency).then_some(value);
    let before = store.difference_actions(None).unwrap().len();
    let over = differences::act(
        &mut store,
        &[text(d)],
        &resolve(Kind::WriteOff, "rounding", None),
        5,
        AT,
        &everyone,
        &limit(amount - 1),
    )
    .unwrap_err();
    assert!(matches!(over, ActError::OverLimit(_)), "{over}");
    let none = differences::act(
        &mut store,
        &[text(d)],
        &resolve(Kind::WriteOff, "rounding", None),
        5,
        AT,
        &everyone,
        &no_limit,
    )
    .unwrap_err();
    assert!(matches!(none, ActError::OverLimit(_)), "{none}");
    let reason = differences::act(
        &mut store,
        &[text(d)],
        &resolve(Kind::WriteOff, "timing", None),
        5,
        AT,
        &everyone,
        &limit(amount),
    )
    .unwrap_err();
    assert!(matches!(reason, ActError::UnknownWriteOffReason(_)), "{reason}");
    assert_eq!(store.difference_actions(None).unwrap().len(), before, "refused acts record nothing");
    differences::act(
        &mut store,
        &[text(d)],
        &resolve(Kind::WriteOff, "rounding", None),
        5,
        AT,
        &everyone,
        &limit(amount),
    )
    .unwrap();
    let written = differences::resolutions(&store).unwrap()[&d.order_id].clone();
    assert_eq!((written.kind.as_deref(), written.amount_minor), (Some("write_off"), Some(amount)));

    // The resolutions report lists the four, and its totals sum each kind per currency.
    let table = differences::resolutions_table(&store, &|_| true, &|id| (id == 5).then(|| "Ann".to_owned())).unwrap();
    let listed: Vec<&tieout_core::table::Cell> =
        table.rows.iter().filter(|r| !r[0].plain().starts_with("Total")).map(|r| &r[9]).collect();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|by| by.plain() == "Ann"));
    let mut sums: HashMap<(String, String), i64> = HashMap::new();
    for row in table.rows.iter().filter(|r| !r[0].plain().starts_with("Total")) {
        let minor = match &row[8] {
            tieout_core::table::Cell::Money { amount_minor, .. } => *amount_minor,
            _ => 0,
        };
        *sums.entry((row[3].plain(), row[5].plain())).or_default() += minor;
    }
    for row in table.rows.iter().filter(|r| r[0].plain().starts_with("Total")) {
        let total = match &row[8] {
            tieout_core::table::Cell::Money { amount_minor, .. } => *amount_minor,
            other => panic!("a total is money: {other:?}"),
        };
        assert_eq!(Some(&total), sums.get(&(row[3].plain(), row[5].plain())), "{row:?}");
    }
}

#[test]
fn small_differences_are_written_off_automatically_once_and_never_over_a_persons_action() {
    let temp = tempfile::tempdir().unwrap();
    let mut store = reconciled_demo(temp.path());
    // An automatic limit just above some amount mismatches of each currency.
    let results = store.order_results(None).unwrap();
    let mut limits: HashMap<Currency, i64> = HashMap::new();
    for row in results.iter().filter(|r| r.category == Category::AmountMismatch) {
        let amount = mismatch(row);
        if amount > 0 {
            let entry = limits.entry(row.currency).or_insert(amount);
            *entry = (*entry).max(amount.min(100));
        }
    }
    assert!(!limits.is_empty());
    // A person acted on one small difference first: the system leaves it alone.
    let small: Vec<&OrderResultRow> = results
        .iter()
        .filter(|r| {
            r.category == Category::AmountMismatch && limits.get(&r.currency).is_some_and(|l| mismatch(r) <= *l)
        })
        .filter(|r| mismatch(r) > 0)
        .collect();
    assert!(small.len() >= 2, "{}", small.len());
    let taken = small[0].order_id.to_string();
    differences::act(
        &mut store,
        std::slice::from_ref(&taken),
        &Act::Assign { user: Some(9) },
        9,
        AT,
        &|_| true,
        &|_| None,
    )
    .unwrap();

    let written = differences::auto_write_off(&mut store, &|c| limits.get(&c).copied(), AT).unwrap();
    assert!(!written.is_empty());
    let by_order: HashMap<OrderId, &tieout_store::DifferenceAction> =
        written.iter().map(|w| (w.order_id.clone(), w)).collect();
    assert!(!by_order.contains_key(&small[0].order_id), "a difference a person acted on stays theirs");
    for row in &small[1..] {
        let w = by_order.get(&row.order_id).unwrap_or_else(|| panic!("{} is small and open", row.order_id));
        assert_eq!(w.amount_minor, Some(mismatch(row)), "{}", row.order_id);
    }
    for w in &written {
        let currency = Currency::from_code(w.currency.as_deref().unwrap()).unwrap();
        let amount = w.amount_minor.unwrap();
        assert!(amount > 0 && amount <= limits[&currency], "{} written off {amount}", w.order_id);
        assert_eq!(
            (w.by_user, w.kind.as_deref(), w.reason.as_deref()),
            (SYSTEM_USER, Some("write_off"), Some("small_difference"))
        );
    }
    // Every difference left open is either over the limit, without an amount, or a person's.
    let resolutions = differences::resolutions(&store).unwrap();
    for row in results.iter().filter(|r| r.category.is_difference()) {
        if resolutions.get(&row.order_id).is_some_and(|r| r.state == "resolved") {
            continue;
        }
        let amount = tieout_service::alerts::amount_in_question_minor(row).unwrap_or(0);
        let within = amount > 0 && limits.get(&row.currency).is_some_and(|l| amount <= *l);
        assert!(!within || row.order_id == small[0].order_id, "{} ({amount}) was left open", row.order_id);
    }
    // Run again: nothing more. Reopened by a person: not written off again.
    assert!(differences::auto_write_off(&mut store, &|c| limits.get(&c).copied(), AT + 1).unwrap().is_empty());
    let reopened = written[0].order_id.to_string();
    differences::act(
        &mut store,
        std::slice::from_ref(&reopened),
        &Act::Reopen { comment: "look again".to_owned() },
        9,
        AT + 2,
        &|_| true,
        &|_| None,
    )
    .unwrap();
    assert!(differences::auto_write_off(&mut store, &|c| limits.get(&c).copied(), AT + 3).unwrap().is_empty());
    // The report names the system as who wrote them off.
    let table = differences::resolutions_table(&store, &|_| true, &|_| None).unwrap();
    let system_rows = table.rows.iter().filter(|r| r[9].plain() == "system").count();
    assert_eq!(system_rows, written.len() - 1);
}

#[test]
fn a_resolution_whose_figures_a_later_run_changed_is_reopened_by_the_system() {
    let temp = tempfile::tempdir().unwrap();
    let mut store = reconciled_demo(temp.path());
    let mismatches: Vec<OrderResultRow> =
        differences_of(&store, Category::AmountMismatch).into_iter().filter(|r| mismatch(r) > 0).collect();
    assert!(mismatches.len() >= 3);
    let (kept, changed, old_style) = (&mismatches[0], &mismatches[1], &mismatches[2]);
    let person = 5;
    for row in [kept, changed] {
        differences::act(
            &mut store,
            &[row.order_id.to_string()],
            &resolve(Kind::Accept, "timing", None),
            person,
            AT,
            &|_| true,
            &|_| None,
        )
        .unwrap();
    }
    // As if `changed` had been resolved on other figures (a later settlement changed them),
    // and `old_style` before resolutions had amounts.
    let mut stale = store.difference_actions(Some(&changed.order_id)).unwrap().pop().unwrap();
    stale.theirs_minor = Some(changed.settled_amount_minor - 100);
    stale.amount_minor = Some(mismatch(changed) + 100);
    stale.at = AT + 1;
    let mut before_kinds = stale.clone();
    before_kinds.order_id = old_style.order_id.clone();
    (before_kinds.kind, before_kinds.currency, before_kinds.ours_minor, before_kinds.theirs_minor) =
        (None, None, None, None);
    before_kinds.amount_minor = None;
    store.add_difference_actions(&[stale, before_kinds]).unwrap();

    let reopened = differences::reopen_changed(&mut store, AT + 2).unwrap();
    assert_eq!(reopened.iter().map(|a| &a.order_id).collect::<Vec<_>>(), [&changed.order_id]);
    assert_eq!((reopened[0].action.as_str(), reopened[0].by_user), ("reopen", SYSTEM_USER));
    assert!(reopened[0].comment.as_deref().unwrap().contains("figures changed"), "{:?}", reopened[0].comment);
    let now = differences::resolutions(&store).unwrap();
    assert_eq!(now[&changed.order_id].state, "open");
    assert_eq!(now[&kept.order_id].state, "resolved");
    assert_eq!(now[&old_style.order_id].state, "resolved", "no amounts to compare: left as it was");
    // Nothing changed since: nothing more. A person acted on it: the system does not write it off.
    assert!(differences::reopen_changed(&mut store, AT + 3).unwrap().is_empty());
    let written = differences::auto_write_off(&mut store, &|_| Some(i64::MAX), AT + 4).unwrap();
    assert!(written.iter().all(|w| w.order_id != changed.order_id && w.order_id != kept.order_id));
}
