//! Resolving payout ↔ receipt differences: keys that survive a re-run, accept, adjust
//! (both amounts kept), write off within the role's limit (at the limit allowed, one cent
//! over refused), and the automatic write-off of small ones under the system identity —
//! on the demo month's real payouts, withdrawals and bank statements.

use std::collections::HashMap;

use tieout_core::receipts::ReceiptStatus;
use tieout_core::Currency;
use tieout_formats::mapping::parse_mapping;
use tieout_service::config::Settings;
use tieout_service::differences::{Act, ActError, Kind, SYSTEM_USER};
use tieout_service::import::{import_files, ImportOptions, Outcome};
use tieout_service::receipt_differences::{self as receipts, key};
use tieout_service::reconcile::{reconcile_run, ReceiptSetup};
use tieout_service::SqliteStore;
use tieout_store::ReceiptRow;

const AT: i64 = 1_793_000_000;

/// A store holding the demo month (orders, settlements, bank and wallet statements),
/// reconciled with the built-in receipt rules.
fn reconciled_demo(dir: &std::path::Path) -> (SqliteStore, tieout_demo::DemoManifest) {
    let config = tieout_demo::DemoConfig { seed: 7, orders: 2_000, year: 2026, month: 10 };
    let manifest = tieout_demo::generate(&config, &dir.join("demo")).unwrap();
    let mut store = SqliteStore::open(&dir.join("store.db")).unwrap();
    let options = |store: Option<&str>, mapping, profile| ImportOptions {
        store: store.map(str::to_owned),
        mapping,
        profile,
        imported_at: "2026-11-05T00:00:00Z".to_owned(),
    };
    let mut jobs = Vec::new();
    for file in &manifest.receipt_files {
        let profile = file.profile.as_deref().map(|name| {
            let builtin = tieout_formats::statement_profile::builtin_profiles();
            match builtin.into_iter().find(|(n, _)| *n == name) {
                Some((_, profile)) => profile,
                None => {
                    let text = std::fs::read_to_string(name).unwrap();
                    tieout_formats::statement_profile::parse_profile(name, &text).unwrap()
                }
            }
        });
        jobs.push((file.path.clone(), options(file.store.as_deref(), None, profile)));
    }
    for files in &manifest.stores {
        let mapping = parse_mapping("mapping.toml", &std::fs::read_to_string(&files.mapping_file).unwrap()).unwrap();
        jobs.push((files.orders_file.clone(), options(Some(&files.store), Some(mapping), None)));
        for path in &files.settlement_files {
            jobs.push((path.clone(), options(Some(&files.store), None, None)));
        }
    }
    for (path, options) in &jobs {
        let reports = import_files(&mut store, std::slice::from_ref(path), options, &mut |_, _| {}).unwrap();
        assert!(matches!(reports[0].outcome, Outcome::Imported { .. }), "{path:?}: {:?}", reports[0].outcome);
    }
    run(&mut store, &manifest.config_file, manifest.as_of);
    (store, manifest)
}

fn run(store: &mut SqliteStore, config_file: &std::path::Path, as_of: chrono::NaiveDate) {
    let text = std::fs::read_to_string(config_file).unwrap();
    let settings = Settings::parse("tieout.toml", &text).unwrap();
    let rules = tieout_service::rules::ReceiptRules::built_in();
    let setup = ReceiptSetup { rules: &rules, rates: &[] };
    reconcile_run(store, &settings.reconcile_config(as_of), &text, "2026-11-05T00:00:00Z", Some(setup)).unwrap();
}

fn results_of(store: &SqliteStore, status: ReceiptStatus) -> Vec<ReceiptRow> {
    let mut rows: Vec<ReceiptRow> =
        store.receipt_results().unwrap().into_iter().filter(|r| r.status == status).collect();
    rows.sort_by_key(key);
    rows
}

/// |received − expected| in the expected currency, worked out here.
fn shortfall(row: &ReceiptRow) -> i64 {
    let (expected, received) = (row.expected.unwrap(), row.received.unwrap());
    assert_eq!(expected.currency, received.currency, "{row:?}");
    (expected.amount_minor - received.amount_minor).abs()
}

fn resolve(kind: Kind, reason: &str, adjustment: Option<&str>) -> Act {
    Act::Resolve { kind, reason: reason.to_owned(), comment: String::new(), adjustment: adjustment.map(str::to_owned) }
}

#[test]
fn keys_survive_a_rerun_and_accept_adjust_write_off_keep_their_amounts_within_the_limit() {
    let temp = tempfile::tempdir().unwrap();
    let (mut store, manifest) = reconciled_demo(temp.path());
    let everyone = |_: &str| true;
    let no_limit = |_: Currency| None;
    let all = store.receipt_results().unwrap();
    // Keys: one per result (its kind first), and the same after a second run.
    let keys: Vec<String> = all.iter().map(key).collect();
    assert_eq!(keys.iter().collect::<std::collections::HashSet<_>>().len(), keys.len(), "{keys:?}");
    for (row, key) in all.iter().zip(&keys) {
        let prefix = key.split(':').next().unwrap();
        assert_eq!(prefix, row.kind(), "{key}");
    }
    // The demo month: short payouts and withdrawals (bank charges), a late payout, missing
    // ones and unexpected receipts.
    let shorts = results_of(&store, ReceiptStatus::ReceivedShort);
    let missing = results_of(&store, ReceiptStatus::Missing);
    let late = results_of(&store, ReceiptStatus::ReceivedLate);
    let unexpected = results_of(&store, ReceiptStatus::UnexpectedReceipt);
    assert!(shorts.len() >= 2 && !missing.is_empty() && !late.is_empty() && unexpected.len() >= 2);
    let payout = shorts.iter().find(|r| r.kind() == "payout").expect("a short payout");
    let withdrawal = shorts.iter().find(|r| r.kind() == "withdrawal").expect("a short withdrawal");
    let (a, b, c, d) = (&late[0], &unexpected[0], &unexpected[1], payout);

    // Accept: nothing booked; the record keeps expected (ours) and received (theirs).
    receipts::act(&mut store, &[key(a)], &resolve(Kind::Accept, "timing", None), 5, AT, &everyone, &no_limit).unwrap();
    // Adjust with the default adjustment (received − expected: nothing was expected of an
    // unexpected receipt) and with one given.
    receipts::act(&mut store, &[key(b)], &resolve(Kind::Adjust, "data_error", None), 5, AT, &everyone, &no_limit)
        .unwrap();
    receipts::act(
        &mut store,
        &[key(c)],
        &resolve(Kind::Adjust, "fee_dispute", Some("-1.25")),
        5,
        AT,
        &everyone,
        &no_limit,
    )
    .unwrap();
    let resolutions = receipts::resolutions(&store).unwrap();
    let of = |row: &ReceiptRow| resolutions[&key(row)].clone();
    assert_eq!((of(a).state, of(a).kind.as_deref()), ("resolved", Some("accept")));
    assert_eq!(
        (of(a).ours_minor, of(a).theirs_minor),
        (Some(a.expected.unwrap().amount_minor), Some(a.received.unwrap().amount_minor))
    );
    assert_eq!(of(a).currency.as_deref(), Some(a.expected.unwrap().currency.code()));
    let received_b = b.received.unwrap();
    assert_eq!(of(b).kind.as_deref(), Some("adjust"));
    assert_eq!(
        (of(b).ours_minor, of(b).theirs_minor, of(b).amount_minor, of(b).currency.as_deref()),
        (None, Some(received_b.amount_minor), Some(received_b.amount_minor), Some(received_b.currency.code()))
    );
    assert_eq!(of(c).amount_minor, Some(-125));

    // Refused, recording nothing: one adjustment amount for two, a result that is no
    // difference, an unknown key, a store the caller does not see, assigning.
    let before = store.receipt_actions(None).unwrap().len();
    let two = [key(d), key(withdrawal)];
    let error =
        receipts::act(&mut store, &two, &resolve(Kind::Adjust, "other", Some("1.00")), 5, AT, &everyone, &no_limit)
            .unwrap_err();
    assert!(matches!(error, ActError::Adjustment(_)), "{error}");
    let received = results_of(&store, ReceiptStatus::Received);
    let not_one = [key(d), key(&received[0]), "payout:1".to_owned()];
    let error =
        receipts::act(&mut store, &not_one, &resolve(Kind::Accept, "timing", None), 5, AT, &everyone, &no_limit)
            .unwrap_err();
    match &error {
        ActError::NotDifferences(list) => {
            assert!(list.contains(&key(&received[0])) && list.contains("payout:1") && !list.contains(&key(d)), "{list}")
        }
        other => panic!("{other}"),
    }
    let elsewhere = |s: &str| s == "another-store";
    for row in [payout, withdrawal] {
        let error = receipts::act(
            &mut store,
            &[key(row)],
            &resolve(Kind::Accept, "timing", None),
            5,
            AT,
            &elsewhere,
            &no_limit,
        )
        .unwrap_err();
        assert!(matches!(error, ActError::NotDifferences(_)), "{error}");
    }
    let error =
        receipts::act(&mut store, &[key(d)], &Act::Assign { user: Some(5) }, 5, AT, &everyone, &no_limit).unwrap_err();
    assert!(matches!(error, ActError::NotAssignable), "{error}");
    let error = receipts::act(&mut store, &[], &resolve(Kind::Accept, "timing", None), 5, AT, &everyone, &no_limit)
        .unwrap_err();
    assert!(matches!(error, ActError::KeyCount), "{error}");

    // Write-off of the shortfall: one cent over the limit refused, no limit in the
    // currency refused, an acceptance's reason refused; at the limit allowed.
    let amount = shortfall(d);
    let currency = d.expected.unwrap().currency;
    let limit = |value: i64| move |c: Currency| (c == currency).then_some(value);
    let write_off = resolve(Kind::WriteOff, "bank_charges", None);
    let over = receipts::act(&mut store, &[key(d)], &write_off, 5, AT, &everyone, &limit(amount - 1)).unwrap_err();
    assert!(matches!(over, ActError::OverLimit(_)), "{over}");
    let none = receipts::act(&mut store, &[key(d)], &write_off, 5, AT, &everyone, &no_limit).unwrap_err();
    assert!(matches!(none, ActError::OverLimit(_)), "{none}");
    let reason = receipts::act(
        &mut store,
        &[key(d)],
        &resolve(Kind::WriteOff, "timing", None),
        5,
        AT,
        &everyone,
        &limit(amount),
    )
    .unwrap_err();
    assert!(matches!(reason, ActError::UnknownWriteOffReason(_)), "{reason}");
    assert_eq!(store.receipt_actions(None).unwrap().len(), before, "refused acts record nothing");
    receipts::act(&mut store, &[key(d)], &write_off, 5, AT, &everyone, &limit(amount)).unwrap();
    let written = receipts::resolutions(&store).unwrap()[&key(d)].clone();
    assert_eq!((written.kind.as_deref(), written.amount_minor), (Some("write_off"), Some(amount)));
    assert_eq!(written.reason.as_deref(), Some("bank_charges"));
    // A missing payout's amount in question is all of it.
    let gone = &missing[0];
    let expected = gone.expected.unwrap();
    receipts::act(&mut store, &[key(gone)], &resolve(Kind::WriteOff, "other", None), 5, AT, &everyone, &|c| {
        (c == expected.currency).then_some(expected.amount_minor)
    })
    .unwrap();
    let written = receipts::resolutions(&store).unwrap()[&key(gone)].clone();
    assert_eq!(
        (written.ours_minor, written.theirs_minor, written.amount_minor),
        (Some(expected.amount_minor), None, Some(expected.amount_minor))
    );

    // Reopen: open again, the comment kept.
    receipts::act(
        &mut store,
        &[key(a)],
        &Act::Reopen { comment: "not timing".to_owned() },
        6,
        AT + 1,
        &everyone,
        &no_limit,
    )
    .unwrap();
    let reopened = receipts::resolutions(&store).unwrap()[&key(a)].clone();
    assert_eq!((reopened.state, reopened.kind, reopened.comment.as_deref()), ("open", None, Some("not timing")));

    // The resolutions report lists the four resolved (key in the order_id column, the
    // result's status as category) beside the order resolutions, with totals.
    let table =
        tieout_service::differences::resolutions_table(&store, &|_| true, &|id| (id == 5).then(|| "Ann".to_owned()))
            .unwrap();
    let rows: Vec<&Vec<tieout_core::table::Cell>> =
        table.rows.iter().filter(|r| !r[0].plain().starts_with("Total")).collect();
    let listed: HashMap<String, (String, String, String)> =
        rows.iter().map(|r| (r[0].plain(), (r[2].plain(), r[3].plain(), r[9].plain()))).collect();
    assert_eq!(rows.len(), 4, "{listed:?}");
    assert_eq!(listed[&key(b)], ("unexpected_receipt".to_owned(), "adjust".to_owned(), "Ann".to_owned()));
    assert_eq!(listed[&key(d)].0, "received_short");
    assert_eq!(listed[&key(gone)].0, "missing");
    assert!(!listed.contains_key(&key(a)), "reopened");
    let write_offs: Vec<String> = table
        .rows
        .iter()
        .filter(|r| r[0].plain().starts_with("Total") && r[3].plain() == "write_off")
        .map(|r| format!("{} {} {}", r[0].plain(), r[5].plain(), r[8].plain()))
        .collect();
    let shown = |minor: i64, currency: Currency| tieout_service::views::amount(minor, currency);
    let mut expected_totals = vec![
        format!("Total (1) {} {}", currency.code(), shown(amount, currency)),
        format!("Total (1) {} {}", expected.currency.code(), shown(expected.amount_minor, expected.currency)),
    ];
    expected_totals.sort();
    assert_eq!(write_offs, expected_totals);
    // A store-limited reader sees a payout of its store only, never a withdrawal.
    let store_name = payout.settlements[0].store.clone();
    let limited = tieout_service::differences::resolutions_table(&store, &|s| s == store_name, &|_| None).unwrap();
    let limited_rows: Vec<String> =
        limited.rows.iter().filter(|r| !r[0].plain().starts_with("Total")).map(|r| r[0].plain()).collect();
    assert!(limited_rows.contains(&key(d)), "{limited_rows:?}");
    for row in limited.rows.iter().filter(|r| !r[0].plain().starts_with("Total")) {
        assert_eq!(row[1].plain(), store_name, "{row:?}");
    }

    // A second run replaces the results: the same keys, the resolutions still theirs.
    let first_run = store.latest_run().unwrap().unwrap().id;
    run(&mut store, &manifest.config_file, manifest.as_of);
    assert_ne!(store.latest_run().unwrap().unwrap().id, first_run);
    let again = store.receipt_results().unwrap();
    let mut again_keys: Vec<String> = again.iter().map(key).collect();
    let mut first_keys = keys.clone();
    again_keys.sort();
    first_keys.sort();
    assert_eq!(again_keys, first_keys);
    let resolutions = receipts::resolutions(&store).unwrap();
    assert_eq!(resolutions[&key(d)].state, "resolved");
}

#[test]
fn small_receipt_differences_are_written_off_automatically_once_and_never_over_a_persons_action() {
    let temp = tempfile::tempdir().unwrap();
    let (mut store, _) = reconciled_demo(temp.path());
    let shorts = results_of(&store, ReceiptStatus::ReceivedShort);
    // An automatic limit at the second smallest shortfall of each currency.
    let mut by_currency: HashMap<Currency, Vec<i64>> = HashMap::new();
    for row in &shorts {
        by_currency.entry(row.expected.unwrap().currency).or_default().push(shortfall(row));
    }
    let limits: HashMap<Currency, i64> = by_currency
        .into_iter()
        .map(|(currency, mut amounts)| {
            amounts.sort_unstable();
            (currency, amounts[amounts.len().min(2) - 1])
        })
        .collect();
    let small: Vec<&ReceiptRow> =
        shorts.iter().filter(|r| shortfall(r) <= limits[&r.expected.unwrap().currency]).collect();
    assert!(small.len() >= 2, "{}", small.len());
    // A person resolved one and reopened it: it stays theirs.
    let taken = key(small[0]);
    for act in [resolve(Kind::Accept, "timing", None), Act::Reopen { comment: "look again".to_owned() }] {
        receipts::act(&mut store, std::slice::from_ref(&taken), &act, 9, AT, &|_| true, &|_| None).unwrap();
    }

    let written = receipts::auto_write_off(&mut store, &|c| limits.get(&c).copied(), AT).unwrap();
    let by_key: HashMap<&str, &tieout_store::ReceiptAction> = written.iter().map(|w| (w.key.as_str(), w)).collect();
    assert!(!by_key.contains_key(taken.as_str()), "a difference a person acted on stays theirs");
    for row in &small[1..] {
        let w = by_key.get(key(row).as_str()).unwrap_or_else(|| panic!("{} is small and open", key(row)));
        assert_eq!(w.amount_minor, Some(shortfall(row)), "{}", key(row));
        assert_eq!(w.ours_minor, Some(row.expected.unwrap().amount_minor));
        assert_eq!(w.theirs_minor, Some(row.received.unwrap().amount_minor));
    }
    for w in &written {
        let currency = Currency::from_code(w.currency.as_deref().unwrap()).unwrap();
        let amount = w.amount_minor.unwrap();
        assert!(amount > 0 && amount <= limits[&currency], "{} written off {amount}", w.key);
        assert_eq!(
            (w.by_user, w.kind.as_deref(), w.reason.as_deref(), w.action.as_str()),
            (SYSTEM_USER, Some("write_off"), Some("small_difference"), "resolve")
        );
    }
    // Every difference left open is over the limit, without an amount, or the person's.
    let resolutions = receipts::resolutions(&store).unwrap();
    for row in store.receipt_results().unwrap().iter().filter(|r| r.status.is_difference()) {
        if resolutions.get(&key(row)).is_some_and(|r| r.state == "resolved") {
            continue;
        }
        let amounts = receipts::amounts(row).unwrap();
        let within = amounts.in_question_minor > 0
            && limits.get(&amounts.currency).is_some_and(|l| amounts.in_question_minor <= *l);
        assert!(!within || key(row) == taken, "{} ({}) was left open", key(row), amounts.in_question_minor);
    }
    // Run again: nothing more. Reopened by a person: not written off again.
    assert!(receipts::auto_write_off(&mut store, &|c| limits.get(&c).copied(), AT + 1).unwrap().is_empty());
    let reopened = written[0].key.clone();
    receipts::act(
        &mut store,
        std::slice::from_ref(&reopened),
        &Act::Reopen { comment: String::new() },
        9,
        AT + 2,
        &|_| true,
        &|_| None,
    )
    .unwrap();
    assert!(receipts::auto_write_off(&mut store, &|c| limits.get(&c).copied(), AT + 3).unwrap().is_empty());
    assert_eq!(receipts::resolutions(&store).unwrap()[&reopened].state, "open");
    // The report names the system as who wrote them off.
    let table = tieout_service::differences::resolutions_table(&store, &|_| true, &|_| None).unwrap();
    let system_rows = table.rows.iter().filter(|r| r[9].plain() == "system" && r[0].plain().contains(':')).count();
    assert_eq!(system_rows, written.len() - 1);
}

#[test]
fn a_receipt_resolution_whose_figures_changed_is_reopened_by_the_system() {
    let temp = tempfile::tempdir().unwrap();
    let (mut store, _) = reconciled_demo(temp.path());
    let short = results_of(&store, ReceiptStatus::ReceivedShort);
    let missing = results_of(&store, ReceiptStatus::Missing);
    assert!(!short.is_empty() && !missing.is_empty());
    let (kept, changed) = (key(&missing[0]), key(&short[0]));
    // Whatever the system wrote off when the demo was reconciled is not in the way: act on
    // both as a person.
    for k in [&kept, &changed] {
        receipts::act(
            &mut store,
            std::slice::from_ref(k),
            &resolve(Kind::Accept, "timing", None),
            5,
            AT,
            &|_| true,
            &|_| None,
        )
        .unwrap();
    }
    // As if `changed` had been accepted when less was missing.
    let mut stale = store.receipt_actions(Some(&changed)).unwrap().pop().unwrap();
    stale.theirs_minor = stale.theirs_minor.map(|t| t + 1);
    stale.amount_minor = stale.amount_minor.map(|a| a - 1);
    stale.at = AT + 1;
    store.add_receipt_actions(&[stale]).unwrap();

    let reopened = receipts::reopen_changed(&mut store, AT + 2).unwrap();
    assert_eq!(reopened.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(), [changed.as_str()]);
    assert_eq!((reopened[0].action.as_str(), reopened[0].by_user), ("reopen", SYSTEM_USER));
    let now = receipts::resolutions(&store).unwrap();
    assert_eq!((now[&changed].state, now[&kept].state), ("open", "resolved"));
    assert!(receipts::reopen_changed(&mut store, AT + 3).unwrap().is_empty(), "nothing changed since");
    // A person acted on it: not written off by the system, whatever the limit.
    let written = receipts::auto_write_off(&mut store, &|_| Some(i64::MAX), AT + 4).unwrap();
    assert!(written.iter().all(|w| w.key != changed && w.key != kept));
}
