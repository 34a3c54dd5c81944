//! Tests read the generated files back with small readers of their own (independent of
//! tieout-formats) and run `tieout_core::reconcile` on them: the truth file must be
//! exactly what the rules produce. The transaction reports are the exception: they are
//! written for `tieout_formats::amazon_transactions`, and read with it (a dev-dependency).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use chrono::NaiveDate;
use tieout_core::money::{parse_amount_minor, AmountError, NumberStyle};
use tieout_core::reconcile::{
    reconcile, Category, FeeSchedule, FeeScheduleRule, LineFacts, OrderFacts, ReconcileConfig, ReconcileInput,
};
use tieout_core::records::{
    classify_line, fnv1a, line_fingerprint, Component, LineKind, OrderStatus, SettlementLine, TransactionClass,
};
use tieout_core::{Currency, Interner, OrderId, Sym};
use tieout_formats::amazon_transactions::{read_transaction_report, ReportLocale, TransactionReport};

use super::*;
use crate::transactions::ReportStyle;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tieout-demo-{name}-{}-{unique}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn config(seed: u64, orders: u64) -> DemoConfig {
    DemoConfig { seed, orders, year: 2026, month: 6 }
}

/// Every file under `root`, by relative path, with its bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, directory: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                files.insert(path.strip_prefix(root).unwrap().to_owned(), fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

/// One 20 000-order month shared by the tests that only read it.
struct Month {
    _dir: TempDir,
    manifest: DemoManifest,
}

fn month() -> &'static Month {
    static MONTH: OnceLock<Month> = OnceLock::new();
    MONTH.get_or_init(|| {
        let dir = TempDir::new("month");
        let manifest = generate(&config(42, 20_000), &dir.0).unwrap();
        Month { _dir: dir, manifest }
    })
}

#[test]
fn same_config_gives_identical_bytes() {
    let (a, b) = (TempDir::new("a"), TempDir::new("b"));
    let manifest_a = generate(&config(7, 2_000), &a.0).unwrap();
    let manifest_b = generate(&config(7, 2_000), &b.0).unwrap();
    let (files_a, files_b) = (tree(&a.0), tree(&b.0));
    assert_eq!(files_a.keys().collect::<Vec<_>>(), files_b.keys().collect::<Vec<_>>());
    for (path, bytes) in &files_a {
        assert!(bytes == &files_b[path], "{} differs between runs", path.display());
    }
    assert_eq!(manifest_a.inconsistent_settlements, manifest_b.inconsistent_settlements);
    assert_eq!(manifest_a.settlement_line_count, manifest_b.settlement_line_count);
    assert_eq!(manifest_a.as_of, manifest_b.as_of);
    // Settlement files, ERP exports, mappings, transaction reports, config, truth, README,
    // receivables truth; receipt files, the LianLian profile and the receipts truth; the
    // counterparty documents and the distributor's statement.
    assert_eq!(
        files_a.len(),
        manifest_a.stores.iter().map(|s| s.settlement_files.len() + 3).sum::<usize>()
            + 4
            + manifest_a.receipt_files.len()
            + 2
            + 2
    );
    assert_eq!(manifest_a.receipt_files.len(), manifest_b.receipt_files.len());
    for (file_a, file_b) in manifest_a.receipt_files.iter().zip(&manifest_b.receipt_files) {
        assert_eq!((&file_a.format, &file_a.store), (&file_b.format, &file_b.store));
        let relative = file_a.path.strip_prefix(&a.0).unwrap();
        assert_eq!(relative, file_b.path.strip_prefix(&b.0).unwrap());
        assert!(files_a.contains_key(relative), "{} is written", relative.display());
    }
    let truth = manifest_a.receipts_truth_file.strip_prefix(&a.0).unwrap();
    assert!(files_a[truth] == files_b[truth]);
}

#[test]
fn regenerating_into_the_same_directory_replaces_the_month() {
    let dir = TempDir::new("again");
    generate(&config(1, 1_000), &dir.0).unwrap();
    let manifest = generate(&config(2, 1_000), &dir.0).unwrap();
    let listed: usize = manifest.stores.iter().map(|s| s.settlement_files.len()).sum();
    let on_disk: usize =
        manifest.stores.iter().map(|s| fs::read_dir(s.settlement_files[0].parent().unwrap()).unwrap().count()).sum();
    assert_eq!(listed, on_disk);
}

#[test]
fn different_seeds_give_different_months() {
    let (a, b) = (TempDir::new("seed1"), TempDir::new("seed2"));
    let manifest_a = generate(&config(1, 2_000), &a.0).unwrap();
    let manifest_b = generate(&config(2, 2_000), &b.0).unwrap();
    assert_ne!(fs::read(&manifest_a.truth_file).unwrap(), fs::read(&manifest_b.truth_file).unwrap());
    assert_ne!(
        fs::read(&manifest_a.stores[0].orders_file).unwrap(),
        fs::read(&manifest_b.stores[0].orders_file).unwrap()
    );
    assert_ne!(manifest_a.stores[0].settlement_files, manifest_b.stores[0].settlement_files);
}

#[test]
fn invalid_configs_are_refused() {
    let dir = TempDir::new("invalid");
    for bad in [config(1, 999), config(1, 10_000_001), DemoConfig { month: 13, ..config(1, 1_000) }] {
        assert!(matches!(generate(&bad, &dir.0), Err(DemoError::InvalidConfig(_))), "{bad:?}");
    }
    assert!(!dir.0.exists());
}

#[test]
fn every_category_appears_near_its_rate() {
    let month = month();
    let truth = read_truth(&month.manifest.truth_file).unwrap();
    assert_eq!(truth.len() as u64, month.manifest.order_count);
    let ids: HashSet<&str> = truth.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids.len(), truth.len(), "order ids are unique");
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for (_, _, category) in &truth {
        *counts.entry(category).or_default() += 1;
    }
    // Expected per 20 000 orders; allowed: 25 % of the expectation plus 10.
    let expected = [
        ("not_due", 600),
        ("shipped_not_settled", 200),
        ("settled_not_in_orders", 100),
        ("cancelled_but_settled", 60),
        ("duplicate_settlement_line", 40),
        ("refunded_not_written_off", 200),
        ("amount_mismatch", 100),
        ("fee_anomaly", 100),
        ("matched", 18_600),
    ];
    for (category, want) in expected {
        let got = counts.get(category).copied().unwrap_or(0);
        assert!((got - want).abs() <= want / 4 + 10, "{category}: {got}, expected about {want}");
    }
    let stores: HashMap<&str, usize> = truth.iter().fold(HashMap::new(), |mut m, (_, s, _)| {
        *m.entry(s.as_str()).or_default() += 1;
        m
    });
    assert_eq!(stores["acme-us"], 10_000);
    assert_eq!(stores["acme-de"], 6_000);
    assert_eq!(stores["acme-uk"], 4_000);
}

#[test]
fn very_large_stores_settle_weekly_so_files_stay_under_the_size_limit() {
    let plan = Plan::new(1, ORDERS_MAX, 0, 30 * SECONDS_PER_DAY);
    let days: Vec<i64> = plan.stores.iter().map(|s| s.period_seconds / SECONDS_PER_DAY).collect();
    assert_eq!(days, [7, 14, 14]);
    for store in &plan.stores {
        assert!(store.anchor < 0 && store.anchor + store.period_seconds > 0, "period 0 holds the month start");
    }
    let plan = Plan::new(1, 1_000_000, 0, 30 * SECONDS_PER_DAY);
    assert!(plan.stores.iter().all(|s| s.period_seconds == 14 * SECONDS_PER_DAY));
}

#[test]
fn read_truth_reports_bad_rows() {
    let dir = TempDir::new("truth");
    fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("truth.csv");
    fs::write(
        &path,
        "order_id,store,category\n111-0000001-0000001,acme-us,matched\n111-0000001-0000002,acme-us,lost\n",
    )
    .unwrap();
    let error = read_truth(&path).unwrap_err();
    assert!(matches!(error, DemoError::Truth { line: 3, .. }), "{error}");
    fs::write(&path, "id,store\n").unwrap();
    assert!(matches!(read_truth(&path), Err(DemoError::Truth { line: 1, .. })));
}

/// A settlement file read back.
struct ParsedSettlement {
    id: u64,
    start: NaiveDate,
    end: NaiveDate,
    deposit: Option<NaiveDate>,
    total_minor: i64,
    currency: String,
    /// (1-based line, fields) of each component row.
    rows: Vec<(u32, Vec<String>)>,
    columns: HashMap<String, usize>,
}

impl ParsedSettlement {
    fn field<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        &row[self.columns[name]]
    }

    fn amount(&self, row: &[String]) -> i64 {
        parse_amount_minor(self.field(row, "amount"), NumberStyle::PerValue, 2).unwrap()
    }
}

fn parse_datetime(text: &str) -> NaiveDate {
    let date = text.split(' ').next().unwrap();
    NaiveDate::parse_from_str(date, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(date, "%d.%m.%Y")).unwrap()
}

fn parse_settlement(path: &Path) -> ParsedSettlement {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(header.len(), 24, "{}", path.display());
    let columns: HashMap<String, usize> = header.iter().enumerate().map(|(i, h)| (h.to_string(), i)).collect();
    let summary: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(summary.len(), 24);
    assert!(summary[6..].iter().all(|f| f.is_empty()), "the summary row has only the summary fields");
    let total_minor = parse_amount_minor(summary[4], NumberStyle::PerValue, 2).unwrap();
    assert_eq!(summary[3].is_empty(), total_minor < 0, "a deposit date exactly when something is paid out");
    let mut rows = Vec::new();
    for (index, line) in lines.enumerate() {
        let fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
        assert_eq!(fields.len(), 24, "{}:{}", path.display(), index + 3);
        assert_eq!(fields[0], summary[0]);
        rows.push((index as u32 + 3, fields));
    }
    ParsedSettlement {
        id: summary[0].parse().unwrap(),
        start: parse_datetime(summary[1]),
        end: parse_datetime(summary[2]),
        deposit: (!summary[3].is_empty()).then(|| parse_datetime(summary[3])),
        total_minor,
        currency: summary[5].to_owned(),
        rows,
        columns,
    }
}

#[test]
fn lines_sum_to_totals_except_the_recorded_settlement() {
    let manifest = &month().manifest;
    assert_eq!(manifest.inconsistent_settlements.len(), 1);
    let mut line_count = 0;
    let mut ids = HashSet::new();
    for store in &manifest.stores {
        for path in &store.settlement_files {
            let settlement = parse_settlement(path);
            assert_eq!(settlement.id.to_string().len(), 11);
            assert!(ids.insert(settlement.id), "settlement ids are unique");
            assert_eq!(path.file_name().unwrap().to_str().unwrap(), format!("{}.txt", settlement.id));
            let sum: i64 = settlement.rows.iter().map(|(_, row)| settlement.amount(row)).sum();
            let difference = settlement.total_minor - sum;
            let recorded = manifest.inconsistent_settlements.iter().find(|(id, _)| *id == settlement.id);
            match recorded {
                Some((_, recorded_difference)) => {
                    assert_ne!(difference, 0);
                    assert_eq!(difference, *recorded_difference);
                }
                None => assert_eq!(difference, 0, "{}", path.display()),
            }
            line_count += settlement.rows.len() as u64;
        }
    }
    assert_eq!(line_count, manifest.settlement_line_count);
}

#[test]
fn settlement_periods_cross_the_month_start_and_end() {
    let manifest = &month().manifest;
    let (first, next) = (NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
    let mut starts = HashSet::new();
    for store in &manifest.stores {
        let settlements: Vec<ParsedSettlement> = store.settlement_files.iter().map(|p| parse_settlement(p)).collect();
        assert!(
            settlements[0].start < first && settlements[0].end > first,
            "{}: the first period crosses the month start",
            store.store
        );
        assert!(
            settlements.iter().any(|s| s.start < next && s.end >= next),
            "{}: a period crosses the month end",
            store.store
        );
        for pair in settlements.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "periods follow each other");
            assert!(pair[0].id < pair[1].id);
        }
        assert!(manifest.as_of > settlements.last().unwrap().end);
        starts.insert(settlements[0].start);
    }
    assert_eq!(starts.len(), 3, "each store's periods start on another day");
}

#[test]
fn no_amount_is_ambiguous_and_de_mixes_notations() {
    let manifest = &month().manifest;
    let mut de_dot = 0;
    let mut de_comma = 0;
    for store in &manifest.stores {
        for path in &store.settlement_files {
            let settlement = parse_settlement(path);
            for (_, row) in &settlement.rows {
                let amount = settlement.field(row, "amount");
                assert!(!matches!(
                    parse_amount_minor(amount, NumberStyle::PerValue, 2),
                    Err(AmountError::Ambiguous(_))
                ));
                if store.store == "acme-de" {
                    if amount.contains('.') {
                        de_dot += 1;
                    } else {
                        de_comma += 1;
                    }
                } else {
                    assert!(!amount.contains(','), "{amount}");
                }
            }
        }
        let text = fs::read_to_string(&store.orders_file).unwrap();
        let delimiter = if store.store == "acme-de" { ';' } else { ',' };
        for line in text.lines().skip(3) {
            for field in line.split(delimiter).skip(9) {
                assert!(
                    !matches!(parse_amount_minor(field, NumberStyle::PerValue, 2), Err(AmountError::Ambiguous(_))),
                    "{field}"
                );
            }
        }
    }
    assert!(de_dot > 0 && de_comma > 10 * de_dot, "DE: {de_dot} dot amounts, {de_comma} comma amounts");
}

#[test]
fn files_look_like_their_sources() {
    let manifest = &month().manifest;
    let de = &manifest.stores[1];
    let bytes = fs::read(&de.orders_file).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFExport Auftragsverwaltung;"));
    let text = std::str::from_utf8(&bytes).unwrap();
    assert_eq!(
        text.lines().nth(2).unwrap().trim_end(),
        "Bestellnummer;Shop;Marktplatz;Bestelldatum;Versanddatum;Status;Währung;Artikel;Menge;Preis;Versand;Rabatt;Erstattet"
    );
    let us = fs::read_to_string(&manifest.stores[0].orders_file).unwrap();
    assert!(us.starts_with(
        "order_no,store,marketplace,order_date,ship_date,status,currency,sku,qty,price,shipping,discount,refunded\n"
    ));
    let settlement = fs::read_to_string(&manifest.stores[2].settlement_files[1]).unwrap();
    assert!(settlement.starts_with(settlement::V2_HEADER));
    assert!(settlement.contains("\tamazon.co.uk\t"));
    let config = fs::read_to_string(&manifest.config_file).unwrap();
    assert!(config.contains("store = \"acme-uk\"\nmarketplace = \"Amazon.co.uk\"\nreferral_rate_basis_points = 1530\n"));
}

/// The subset of a mapping file the test reader needs.
struct Mapping {
    delimiter: char,
    header_row: usize,
    number_style: NumberStyle,
    date_format: String,
    columns: HashMap<String, String>,
    status: HashMap<String, String>,
}

fn read_mapping(path: &Path) -> Mapping {
    let text = fs::read_to_string(path).unwrap();
    let mut section = String::new();
    let mut values: HashMap<(String, String), String> = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line.split_once(" = ").unwrap();
        values.insert((section.clone(), key.trim_matches('"').to_owned()), value.trim_matches('"').to_owned());
    }
    let get = |key: &str| values[&("source".to_owned(), key.to_owned())].clone();
    let pick = |wanted: &str| {
        values.iter().filter(|((s, _), _)| s == wanted).map(|((_, k), v)| (k.clone(), v.clone())).collect()
    };
    Mapping {
        delimiter: get("delimiter").chars().next().unwrap(),
        header_row: get("header_row").parse().unwrap(),
        number_style: match get("number_style").as_str() {
            "dot" => NumberStyle::Dot,
            "comma" => NumberStyle::Comma,
            _ => NumberStyle::PerValue,
        },
        date_format: get("date_format"),
        columns: pick("columns"),
        status: pick("status"),
    }
}

fn read_orders(store: &StoreFiles, strings: &mut Interner) -> Vec<OrderFacts> {
    let mapping = read_mapping(&store.mapping_file);
    let text = fs::read_to_string(&store.orders_file).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.lines().skip(mapping.header_row - 1);
    let header: Vec<&str> = lines.next().unwrap().split(mapping.delimiter).collect();
    let column = |field: &str| header.iter().position(|h| *h == mapping.columns[field]).unwrap();
    let amount =
        |text: &str| if text.is_empty() { 0 } else { parse_amount_minor(text, mapping.number_style, 2).unwrap() };
    let date = |text: &str| NaiveDate::parse_from_str(text, &mapping.date_format).unwrap();
    let mut orders: Vec<OrderFacts> = Vec::new();
    for line in lines {
        let row: Vec<&str> = line.split(mapping.delimiter).collect();
        assert_eq!(row.len(), header.len());
        let order_id = OrderId::parse(row[column("order_id")]).unwrap();
        let status_text = row[column("status")];
        let status = OrderStatus::parse(mapping.status.get(status_text).map_or(status_text, String::as_str)).unwrap();
        let item_amount =
            amount(row[column("item_price")]) + amount(row[column("shipping_price")]) - amount(row[column("discount")]);
        let refunded = row[column("refunded_amount")];
        let refunded = (!refunded.is_empty()).then(|| amount(refunded));
        match orders.last_mut() {
            Some(order) if order.order_id == order_id => {
                order.amount_minor += item_amount;
                assert_eq!(refunded, None, "refunded is on the first row only");
            }
            _ => orders.push(OrderFacts {
                order_id,
                store: strings.intern(row[column("store")]),
                marketplace: strings.intern(row[column("marketplace")]),
                status,
                purchase_date: date(row[column("purchase_date")]),
                ship_date: Some(row[column("ship_date")]).filter(|d| !d.is_empty()).map(date),
                currency: Currency::from_code(row[column("currency")]).unwrap(),
                amount_minor: item_amount,
                refunded_minor: refunded,
            }),
        }
    }
    orders
}

fn read_lines(store: &StoreFiles, strings: &mut Interner, lines: &mut Vec<LineFacts>) {
    let store_sym = strings.intern(&store.store);
    for path in &store.settlement_files {
        let settlement = parse_settlement(path);
        for (line, row) in &settlement.rows {
            let field = |name: &str| settlement.field(row, name);
            let Some(order_id) = OrderId::parse(field("order-id")) else {
                continue;
            };
            let currency = Currency::from_code(if field("currency").is_empty() {
                &settlement.currency
            } else {
                field("currency")
            })
            .unwrap();
            let (transaction, component, kind) =
                classify_line(field("transaction-type"), field("amount-type"), field("amount-description"));
            let mut intern = |name: &str| strings.intern(field(name));
            let record = SettlementLine {
                settlement_id: settlement.id,
                line: *line,
                transaction_type: intern("transaction-type"),
                order_id: Some(order_id.clone()),
                merchant_order_id: intern("merchant-order-id"),
                adjustment_id: intern("adjustment-id"),
                shipment_id: intern("shipment-id"),
                marketplace: intern("marketplace-name"),
                amount_type: intern("amount-type"),
                amount_description: intern("amount-description"),
                amount_minor: settlement.amount(row),
                currency,
                fulfillment: intern("fulfillment-id"),
                posted_utc_seconds: 0,
                order_item_code: intern("order-item-code"),
                sku: intern("sku"),
                quantity: field("quantity-purchased").parse().unwrap_or(0),
                promotion_id: intern("promotion-id"),
                transaction,
                component,
                kind,
            };
            let item_key = if record.order_item_code == Sym::EMPTY { record.sku } else { record.order_item_code };
            lines.push(LineFacts {
                line_id: lines.len() as i64 + 1,
                settlement_id: record.settlement_id,
                line: record.line,
                order_id,
                store: store_sym,
                marketplace: record.marketplace,
                currency,
                transaction,
                component,
                amount_minor: record.amount_minor,
                quantity: record.quantity,
                item: fnv1a(&[strings.resolve(item_key).as_bytes()]),
                fingerprint: line_fingerprint(&record, strings).unwrap(),
                posted_date: parse_datetime(field("posted-date-time")),
            });
        }
    }
}

#[test]
fn reconciling_the_files_reproduces_the_truth() {
    let manifest = &month().manifest;
    let mut input = ReconcileInput::default();
    for store in &manifest.stores {
        let orders = read_orders(store, &mut input.strings);
        input.orders.extend(orders);
        read_lines(store, &mut input.strings, &mut input.lines);
    }
    let fee_schedules = model::STORES
        .iter()
        .map(|spec| FeeScheduleRule {
            store: Some(spec.name.to_owned()),
            marketplace: Some(spec.marketplace.to_owned()),
            schedule: FeeSchedule {
                referral_rate_basis_points: spec.referral_rate_basis_points as u32,
                fba_fee_per_unit_minor: Some(spec.fba_fee_per_unit_minor),
                tolerance_minor: 0,
            },
        })
        .collect();
    let config = ReconcileConfig { fee_schedules, amount_tolerance_minor: 0, as_of: manifest.as_of };
    let result = reconcile(&mut input, &config);

    let truth = read_truth(&manifest.truth_file).unwrap();
    assert_eq!(result.orders.len(), truth.len());
    let got: HashMap<String, (String, &'static str)> = result
        .orders
        .iter()
        .map(|o| (o.order_id.to_string(), (input.strings.resolve(o.store).to_owned(), o.category.name())))
        .collect();
    let mut wrong = Vec::new();
    for (order_id, store, category) in &truth {
        let (got_store, got_category) = &got[order_id];
        if got_store != store || got_category != category {
            wrong.push(format!("{order_id}: truth {store}/{category}, reconcile {got_store}/{got_category}"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} differ, e.g. {:?}", wrong.len(), truth.len(), &wrong[..wrong.len().min(5)]);
    for category in Category::ALL {
        assert!(result.count(category) > 0, "{} present", category.name());
    }
    // Matched includes refunds the ERP wrote off, in full and in part.
    let written_off: Vec<_> =
        result.orders.iter().filter(|o| o.category == Category::Matched && o.refunds_settled_minor > 0).collect();
    assert!(written_off.len() > 300, "{} matched refunds", written_off.len());
    assert!(written_off.iter().any(|o| o.status == Some(OrderStatus::Refunded)));
    assert!(written_off.iter().any(|o| o.status == Some(OrderStatus::Shipped)));
}

#[test]
fn amazon_ids_have_their_real_shapes() {
    let manifest = &month().manifest;
    let settlement = parse_settlement(&manifest.stores[0].settlement_files[1]);
    let (_, row) = settlement.rows.iter().find(|(_, r)| settlement.field(r, "transaction-type") == "Order").unwrap();
    let order_id = settlement.field(row, "order-id");
    assert!(OrderId::parse(order_id).unwrap().packed().is_some(), "{order_id}");
    let code = settlement.field(row, "order-item-code");
    assert!(code.len() == 14 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(settlement.field(row, "shipment-id").len(), 9);
    let refund = settlement.rows.iter().find(|(_, r)| settlement.field(r, "transaction-type") == "Refund");
    if let Some((_, row)) = refund {
        assert!(settlement.field(row, "adjustment-id").starts_with("amzn1:crow:"));
    }
}

// ---------------------------------------------------------------------------------------
// Receipts: the bank and wallet statements, read back with small readers of their own.

fn receipt_file<'a>(manifest: &'a DemoManifest, format: &str) -> &'a ReceiptFile {
    manifest.receipt_files.iter().find(|f| f.format == format).unwrap()
}

/// A file's lines as bytes (1-based line `n` is `lines[n - 1]`), without line ends.
fn byte_lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).unwrap();
    let mut lines: Vec<Vec<u8>> =
        bytes.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec()).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

fn dot_amount(text: &str) -> i64 {
    parse_amount_minor(text, NumberStyle::Dot, 2).unwrap()
}

/// The XML element's text on a line like `<Amt Ccy="EUR">12.00</Amt>`.
fn element<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("<{name}"))?;
    let open_end = start + line[start..].find('>')? + 1;
    let close = line.find(&format!("</{name}>"))?;
    Some(&line[open_end..close])
}

/// One credit (or debit) as a statement states it.
#[derive(Debug)]
struct StatedEntry {
    date: NaiveDate,
    amount_minor: i64,
    currency: String,
    reference: String,
    text: String,
    original: Option<(i64, String)>,
}

/// Reads the entry whose first line is `line` (1-based), by the file's format.
fn stated_entry(file: &ReceiptFile, lines: &[Vec<u8>], line: usize) -> StatedEntry {
    let text = |index: usize| String::from_utf8_lossy(&lines[index]).into_owned();
    match file.format.as_str() {
        "camt053" => {
            assert_eq!(text(line - 1).trim(), "<Ntry>", "line {line}");
            let block: Vec<String> = (line..).map(text).take_while(|l| l.trim() != "</Ntry>").collect();
            let find = |name: &str| block.iter().find_map(|l| element(l, name).map(str::to_owned)).unwrap();
            let amount = dot_amount(&find("Amt"));
            StatedEntry {
                date: NaiveDate::parse_from_str(&find("Dt"), "%Y-%m-%d").unwrap(),
                amount_minor: if find("CdtDbtInd") == "DBIT" { -amount } else { amount },
                currency: "EUR".to_owned(),
                reference: find("AcctSvcrRef"),
                text: find("Ustrd"),
                original: None,
            }
        }
        "mt940" => {
            let field = text(line - 1);
            let rest = field.strip_prefix(":61:").unwrap();
            let date = NaiveDate::parse_from_str(&rest[..6], "%y%m%d").unwrap();
            let mark = &rest[10..11];
            let amount_end = rest.find('N').unwrap();
            let amount = parse_amount_minor(&rest[11..amount_end], NumberStyle::Comma, 2).unwrap();
            // The currency of the message's opening balance.
            let opening = (0..line).rev().map(text).find(|l| l.starts_with(":60F:")).unwrap();
            StatedEntry {
                date,
                amount_minor: if mark == "D" { -amount } else { amount },
                currency: opening[12..15].to_owned(),
                reference: rest.split_once("//").unwrap().1.to_owned(),
                text: text(line).strip_prefix(":86:").unwrap().to_owned(),
                original: None,
            }
        }
        "payoneer-profile" => {
            let row = text(line - 1);
            let cells: Vec<&str> = row.split(',').collect();
            assert_eq!(cells.len(), 5, "{row}");
            StatedEntry {
                date: NaiveDate::parse_from_str(cells[0], "%Y-%m-%d").unwrap(),
                amount_minor: dot_amount(cells[2]),
                currency: cells[3].to_owned(),
                reference: cells[4].to_owned(),
                text: cells[1].to_owned(),
                original: None,
            }
        }
        "lianlian-profile" => {
            let row = text(line - 1);
            let cells: Vec<&str> = row.split(',').collect();
            assert_eq!(cells.len(), 9, "{row}");
            assert_eq!(cells[8], "7.1234");
            StatedEntry {
                date: NaiveDate::parse_from_str(cells[0], "%Y-%m-%d").unwrap(),
                amount_minor: dot_amount(cells[4]),
                currency: cells[5].to_owned(),
                reference: cells[1].to_owned(),
                text: cells[3].to_owned(),
                original: Some((dot_amount(cells[6]), cells[7].to_owned())),
            }
        }
        "alipay" => {
            // GBK: only the ASCII cells are read.
            let cells: Vec<String> =
                lines[line - 1].split(|&b| b == b',').map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            assert_eq!(cells.len(), 12);
            assert!(cells[7].is_empty(), "no expense");
            StatedEntry {
                date: NaiveDate::parse_from_str(&cells[4][..10], "%Y-%m-%d").unwrap(),
                amount_minor: dot_amount(&cells[6]),
                currency: "CNY".to_owned(),
                reference: cells[0].trim_end_matches('\t').to_owned(),
                text: cells[5].clone(),
                original: None,
            }
        }
        other => panic!("unknown format {other}"),
    }
}

#[test]
fn every_receipt_status_appears_and_every_payout_has_a_row() {
    let manifest = &month().manifest;
    let truth = read_receipts_truth(&manifest.receipts_truth_file).unwrap();
    for status in ReceiptStatus::ALL {
        assert!(truth.iter().any(|row| row.status == status), "{} present", status.name());
    }
    // One payout row per settlement with a positive total, with its total and deposit date.
    let mut expected = BTreeMap::new();
    for store in &manifest.stores {
        for path in &store.settlement_files {
            let settlement = parse_settlement(path);
            if settlement.total_minor > 0 {
                let row =
                    (store.store.clone(), settlement.currency.clone(), settlement.total_minor, settlement.deposit);
                expected.insert(settlement.id.to_string(), row);
            }
        }
    }
    let payouts: BTreeMap<String, (String, String, i64, Option<NaiveDate>)> = truth
        .iter()
        .filter(|row| row.kind == ReceiptTruthKind::Payout)
        .map(|row| {
            (
                row.id.clone(),
                (row.store.clone(), row.currency.clone(), row.expected_amount_minor, Some(row.deposit_date)),
            )
        })
        .collect();
    assert!(expected.len() >= 6, "{} payouts", expected.len());
    assert_eq!(payouts, expected);
    assert_eq!(payouts.len(), truth.iter().filter(|row| row.kind == ReceiptTruthKind::Payout).count());
    let receipts: Vec<&ReceiptTruth> = truth.iter().filter(|row| row.kind == ReceiptTruthKind::Receipt).collect();
    assert!(receipts.iter().all(|row| row.status == ReceiptStatus::UnexpectedReceipt));
    let alipay = receipts.iter().filter(|row| row.receipt_file.ends_with("alipay-cny.csv")).count();
    assert!((2..=3).contains(&alipay), "{alipay} Alipay transfers");
    let references: HashSet<&str> = receipts.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(references.len(), receipts.len());
}

#[test]
fn receipt_truth_points_at_credits_that_carry_the_stated_amount() {
    let manifest = &month().manifest;
    let root = manifest.receipts_truth_file.parent().unwrap();
    let truth = read_receipts_truth(&manifest.receipts_truth_file).unwrap();
    let payout_amounts: HashSet<i64> =
        truth.iter().filter(|r| r.kind == ReceiptTruthKind::Payout).map(|r| r.expected_amount_minor).collect();
    let mut pointed = HashSet::new();
    for row in &truth {
        if row.kind == ReceiptTruthKind::Withdrawal {
            // The withdrawal is a Payoneer debit of its amount, on its date, under its id.
            let payoneer = receipt_file(manifest, "payoneer-profile");
            let lines = byte_lines(&payoneer.path);
            let debit = (2..=lines.len())
                .map(|line| stated_entry(payoneer, &lines, line))
                .find(|entry| entry.reference == row.id)
                .unwrap_or_else(|| panic!("{row:?}: no Payoneer entry"));
            assert_eq!((debit.amount_minor, debit.date), (-row.expected_amount_minor, row.deposit_date), "{row:?}");
            assert!(debit.text.starts_with("Withdrawal to bank account"), "{}", debit.text);
        }
        let (Some(line), false) = (row.receipt_line, row.receipt_file.is_empty()) else {
            assert_eq!(row.status, ReceiptStatus::Missing, "{row:?}");
            if row.kind == ReceiptTruthKind::Withdrawal {
                let bank = manifest.receipt_files.iter().find(|f| f.path.ends_with("us-hsbc-usd-mt940.sta")).unwrap();
                let lines = byte_lines(&bank.path);
                let credits: Vec<StatedEntry> = (1..=lines.len())
                    .filter(|&line| lines[line - 1].starts_with(b":61:"))
                    .map(|line| stated_entry(bank, &lines, line))
                    .filter(|entry| entry.amount_minor > 0)
                    .collect();
                assert!(
                    !credits.iter().any(|c| (c.amount_minor - row.expected_amount_minor).abs() <= 5_000),
                    "{row:?}: no credit near its amount"
                );
                assert!(credits.iter().all(|c| c.text.contains("PAYONEER")));
                continue;
            }
            // No statement names a missing payout.
            for file in &manifest.receipt_files {
                let text = String::from_utf8_lossy(&fs::read(&file.path).unwrap()).into_owned();
                assert!(!text.contains(&row.id), "{} names the missing payout {}", file.path.display(), row.id);
            }
            continue;
        };
        let path = root.join(&row.receipt_file);
        let file = manifest.receipt_files.iter().find(|f| f.path == path).unwrap();
        let lines = byte_lines(&path);
        assert!((1..=lines.len()).contains(&(line as usize)), "{row:?}: {} lines", lines.len());
        assert!(pointed.insert((row.receipt_file.clone(), line)), "one credit per row");
        let entry = stated_entry(file, &lines, line as usize);
        let lag = (entry.date - row.deposit_date).num_days();
        match row.status {
            ReceiptStatus::Received => {
                assert_eq!((entry.amount_minor, &entry.currency), (row.expected_amount_minor, &row.currency));
                assert!((0..=2).contains(&lag), "{row:?}: {lag} days");
            }
            ReceiptStatus::ReceivedShort => {
                assert_eq!(entry.currency, row.currency);
                let short = row.expected_amount_minor - entry.amount_minor;
                assert!((1..=5_000).contains(&short), "{row:?}: {short} short");
                assert!(short * 25 <= row.expected_amount_minor.max(25), "{row:?}: at most 4 % short");
                assert!((0..=2).contains(&lag), "{row:?}: {lag} days");
            }
            ReceiptStatus::ReceivedLate => {
                assert_eq!((entry.amount_minor, &entry.currency), (row.expected_amount_minor, &row.currency));
                assert!((6..=15).contains(&lag), "{row:?}: {lag} days");
            }
            ReceiptStatus::ReceivedConverted => {
                assert_eq!(row.currency, "USD");
                assert_eq!(entry.currency, "CNY");
                assert_eq!(entry.original, Some((row.expected_amount_minor, "USD".to_owned())));
                let cny = tieout_core::money::div_round_half_away(row.expected_amount_minor as i128 * 71_234, 10_000);
                assert_eq!(entry.amount_minor as i128, cny);
                assert!((0..=2).contains(&lag), "{row:?}: {lag} days");
            }
            ReceiptStatus::UnexpectedReceipt => {
                assert_eq!((entry.amount_minor, &entry.currency), (row.expected_amount_minor, &row.currency));
                assert_eq!((entry.date, &entry.reference), (row.deposit_date, &row.id));
                assert!(!payout_amounts.contains(&entry.amount_minor), "{row:?}");
                assert!(!truth.iter().any(|p| p.kind == ReceiptTruthKind::Payout && entry.text.contains(&p.id)));
            }
            ReceiptStatus::Missing => panic!("{row:?}: a missing payout with a line"),
        }
        if row.kind == ReceiptTruthKind::Payout && file.format != "camt053" {
            assert!(entry.text.contains(&row.id), "{row:?}: {}", entry.text);
        }
        if file.format == "camt053" {
            assert!(entry.text.starts_with("AMAZON PAYMENTS EUROPE S.C.A."), "{}", entry.text);
        }
    }
    // Banks truncate: one DE payout's remittance text leaves the settlement id out.
    let camt = receipt_file(manifest, "camt053");
    let lines = byte_lines(&camt.path);
    let ustrd: Vec<String> =
        lines.iter().filter_map(|l| element(&String::from_utf8_lossy(l), "Ustrd").map(str::to_owned)).collect();
    assert!(ustrd.iter().any(|u| u == "AMAZON PAYMENTS EUROPE S.C.A."), "{ustrd:?}");
}

#[test]
fn bank_statement_balances_roll() {
    let manifest = &month().manifest;
    // camt.053: per Stmt, OPBD + entries = CLBD, and each OPBD is the previous CLBD.
    let camt = receipt_file(manifest, "camt053");
    let mut statements: Vec<[i64; 3]> = Vec::new();
    let mut target = 0;
    let mut amount = 0;
    let mut references = HashSet::new();
    for line in byte_lines(&camt.path) {
        let line = String::from_utf8(line).unwrap();
        let line = line.trim();
        if line == "<Stmt>" {
            statements.push([0; 3]);
        } else if line.contains("<Cd>OPBD</Cd>") {
            target = 0;
        } else if line.contains("<Cd>CLBD</Cd>") {
            target = 2;
        } else if line == "<Ntry>" {
            target = 1;
        } else if let Some(text) = element(line, "Amt") {
            assert!(line.contains("Ccy=\"EUR\""));
            amount = dot_amount(text);
        } else if let Some(indicator) = element(line, "CdtDbtInd") {
            let signed = if indicator == "DBIT" { -amount } else { amount };
            statements.last_mut().unwrap()[target] += signed;
        } else if let Some(reference) = element(line, "AcctSvcrRef") {
            assert!(references.insert(reference.to_owned()), "AcctSvcrRef {reference} is unique");
        }
    }
    assert!(!statements.is_empty());
    for [opening, sum, closing] in &statements {
        assert_eq!(opening + sum, *closing);
    }
    for pair in statements.windows(2) {
        assert_eq!(pair[0][2], pair[1][0], "the closing balance rolls into the next opening");
    }
    // MT940: per message, :60F: + :61: = :62F:, and each :60F: is the previous :62F:.
    let mt940 = receipt_file(manifest, "mt940");
    let balance = |field: &str| {
        let mark = &field[5..6];
        let amount = parse_amount_minor(&field[15..], NumberStyle::Comma, 2).unwrap();
        assert_eq!(&field[12..15], "GBP");
        if mark == "D" {
            -amount
        } else {
            amount
        }
    };
    let lines = byte_lines(&mt940.path);
    let mut messages: Vec<[i64; 3]> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let line = std::str::from_utf8(line).unwrap();
        if line.starts_with(":60F:") {
            messages.push([balance(line), 0, 0]);
        } else if line.starts_with(":61:") {
            let entry = stated_entry(mt940, &lines, index + 1);
            messages.last_mut().unwrap()[1] += entry.amount_minor;
        } else if line.starts_with(":62F:") {
            messages.last_mut().unwrap()[2] = balance(line);
        }
    }
    assert!(!messages.is_empty());
    for [opening, sum, closing] in &messages {
        assert_eq!(opening + sum, *closing);
    }
    for pair in messages.windows(2) {
        assert_eq!(pair[0][2], pair[1][0]);
    }
    // Alipay: GBK, and the running balance rolls row by row.
    let alipay = receipt_file(manifest, "alipay");
    let bytes = fs::read(&alipay.path).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "GBK, not UTF-8");
    assert!(bytes.starts_with(b"#\xD6\xA7\xB8\xB6\xB1\xA6"), "#支付宝 in GBK");
    let lines = byte_lines(&alipay.path);
    let mut previous: Option<i64> = None;
    for line in lines.iter().filter(|l| l.first().is_some_and(u8::is_ascii_digit)) {
        let cells: Vec<&[u8]> = line.split(|&b| b == b',').collect();
        let cell = |index: usize| std::str::from_utf8(cells[index]).unwrap();
        let (income, balance) = (dot_amount(cell(6)), dot_amount(cell(8)));
        if let Some(previous) = previous {
            assert_eq!(previous + income, balance);
        }
        previous = Some(balance);
    }
    assert!(previous.is_some());
}

#[test]
fn receipt_files_name_their_import() {
    let manifest = &month().manifest;
    let formats: Vec<&str> = manifest.receipt_files.iter().map(|f| f.format.as_str()).collect();
    assert_eq!(formats, ["camt053", "mt940", "payoneer-profile", "mt940", "lianlian-profile", "alipay"]);
    assert_eq!(receipt_file(manifest, "payoneer-profile").profile.as_deref(), Some("payoneer"));
    let profile = receipt_file(manifest, "lianlian-profile").profile.clone().unwrap();
    let text = fs::read_to_string(&profile).unwrap();
    assert!(text.contains("original_amount = \"Original Amount\""));
    assert_eq!(receipt_file(manifest, "camt053").store.as_deref(), Some("acme-de"));
    assert_eq!(receipt_file(manifest, "alipay").store, None);
    let payoneer = fs::read_to_string(&receipt_file(manifest, "payoneer-profile").path).unwrap();
    assert!(payoneer.starts_with("Date,Description,Amount,Currency,Transaction ID\n"));
}

#[test]
fn read_receipts_truth_reports_bad_rows() {
    let dir = TempDir::new("receipts-truth");
    fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("receipts-truth.csv");
    let good = format!(
        "{RECEIPTS_TRUTH_HEADER}\n\
         payout,31234567890,acme-de,EUR,1234.50,2026-06-09,missing,,\n\
         payout,31234567891,acme-de,EUR,99.00,2026-06-23,received,bank/de-camt053.xml,79\n"
    );
    fs::write(&path, &good).unwrap();
    let rows = read_receipts_truth(&path).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].expected_amount_minor, rows[0].receipt_line), (123_450, None));
    assert_eq!(rows[1].receipt_line, Some(79));
    for (bad, line) in [
        (good.replace(",missing,,", ",missing,bank/x.csv,3"), 2),
        (good.replace(",received,", ",lost,"), 3),
        (good.replace("payout,31234567891", "receipt,31234567891"), 3),
        (good.replace(",99.00,", ",9.9.9,"), 3),
        (good.replace(",79\n", ",\n"), 3),
        (good.replace(",2026-06-09,", ",2026-06-31,"), 2),
        ("kind,id\n".to_owned(), 1),
    ] {
        fs::write(&path, &bad).unwrap();
        let error = read_receipts_truth(&path).unwrap_err();
        assert!(matches!(error, DemoError::Truth { line: l, .. } if l == line), "{error} for\n{bad}");
    }
}

#[test]
fn the_receivables_truth_rolls_and_transfers_every_settlement_total() {
    let manifest = &month().manifest;
    let truth = read_receivables_truth(&manifest.receivables_truth_file).unwrap();
    assert!(!truth.is_empty());
    for store in &manifest.stores {
        let rows: Vec<&ReceivablesTruth> = truth.iter().filter(|r| r.store == store.store).collect();
        assert!(rows.len() >= 2, "{}: the month and its neighbours", store.store);
        assert!(rows.iter().all(|r| r.currency == store.currency));
        assert_eq!(rows[0].amounts_minor[0], 0, "the first month opens at zero");
        for row in &rows {
            let [opening, sales, refunds, fees, other, transfers, closing] = row.amounts_minor;
            assert_eq!(closing, opening + sales + refunds + fees + other - transfers, "{row:?}");
        }
        for pair in rows.windows(2) {
            assert_eq!(pair[0].amounts_minor[6], pair[1].amounts_minor[0], "closing rolls into the next opening");
        }
        // Every settlement's total is transferred once.
        let totals: i64 = store.settlement_files.iter().map(|path| parse_settlement(path).total_minor).sum();
        assert_eq!(rows.iter().map(|r| r.amounts_minor[5]).sum::<i64>(), totals, "{}", store.store);
        // Settlement periods straddle the month's end: the month after has movements too.
        assert!(rows.iter().any(|r| r.month == "2026-07" && r.amounts_minor[1..5].iter().any(|a| *a != 0)));
    }
}

/// A store's transaction report, read by the reader it is written for.
fn read_report(store: &StoreFiles) -> TransactionReport {
    let bytes = fs::read(&store.transaction_report).unwrap();
    let name = store.transaction_report.file_name().unwrap().to_str().unwrap();
    read_transaction_report(name, &bytes)
}

/// Whether a report line is a payout (a `Transfer` row that is not a reserve movement).
fn is_payout(line: &SettlementLine) -> bool {
    line.transaction == TransactionClass::Transfer && line.kind == LineKind::Transaction
}

#[test]
fn transaction_reports_are_read_without_diagnostics_in_each_locale() {
    let manifest = &month().manifest;
    for store in &manifest.stores {
        let relative = format!("{0}/transactions/{0}-transactions.csv", store.store);
        assert!(store.transaction_report.ends_with(&relative), "{}", store.transaction_report.display());
        let report = read_report(store);
        let diagnostics: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(diagnostics, Vec::<String>::new(), "{}", store.store);
        let locale = if store.store == "acme-de" { ReportLocale::German } else { ReportLocale::English };
        assert_eq!(report.locale, Some(locale));
        assert_eq!(report.currency.map(|c| c.to_string()), Some(store.currency.clone()));
        assert!(report.marketplace.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(&store.marketplace)));
        assert!(report.rows.len() > 1_000, "{}: {} rows", store.store, report.rows.len());
        assert!(report.rows.iter().all(|row| row.released && row.settlement_id.is_some()), "no deferred rows");

        let text = fs::read_to_string(&store.transaction_report).unwrap();
        let header =
            text.lines().find(|line| line.starts_with("\"date/time\"") || line.starts_with("\"Datum")).unwrap();
        let types: HashSet<&str> = report.rows.iter().map(|row| report.strings.resolve(row.report_type)).collect();
        match store.store.as_str() {
            "acme-us" => {
                assert!(header.contains("\"shipping credits\"") && header.contains("\"fulfillment\""));
                assert!(text.contains(" AM PDT\",") && text.contains(" PM PDT\","), "Pacific summer time, 12-hour");
                assert_eq!(types, HashSet::from(["Order", "Refund", "Service Fee", "Transfer"]));
            }
            "acme-uk" => {
                assert!(header.contains("\"postage credits\"") && header.contains("\"fulfilment\""));
                assert!(text.contains(" 2026 23:") && text.contains(" BST\","), "London summer time, 24-hour");
                assert_eq!(types, HashSet::from(["Order", "Refund", "Service Fee", "Transfer"]));
            }
            _ => {
                assert!(header.contains("\"Umsätze\"") && header.contains("\"Gesamt\""));
                assert!(text.contains(".2026 ") && text.contains(" UTC\","));
                assert!(text.contains(",\"Verkäufer\","), "MFN items");
                assert_eq!(types, HashSet::from(["Bestellung", "Erstattung", "Servicegebühr", "Übertrag"]));
            }
        }
        // Amounts of a thousand or more are grouped, in the locale's notation.
        let (decimal, grouping) = if store.store == "acme-de" { (',', '.') } else { ('.', ',') };
        let grouped = |cell: &str| {
            let Some((integer, fraction)) = cell.trim_start_matches('-').split_once(decimal) else { return false };
            let groups: Vec<&str> = integer.split(grouping).collect();
            groups.len() > 1
                && fraction.len() == 2
                && (1..=3).contains(&groups[0].len())
                && groups[1..].iter().all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
        };
        assert!(text.split("\",\"").any(grouped), "{}: a grouped amount", store.store);
    }
}

#[test]
fn transaction_reports_carry_the_settlement_files_money_and_one_payout_per_deposit() {
    let manifest = &month().manifest;
    let mut duplicates_seen = 0;
    for store in &manifest.stores {
        let report = read_report(store);
        let text = |sym| report.strings.resolve(sym).to_owned();
        // (settlement, order id, posted, component) → amount; refund commissions are netted
        // into the commission, as the report's selling fees are.
        type Key = (u64, Option<OrderId>, i64, Component, String);
        let key = |line: &SettlementLine, description: String| -> Key {
            let component =
                if line.component == Component::RefundCommission { Component::Commission } else { line.component };
            let named = if line.order_id.is_none() { description } else { String::new() };
            (line.settlement_id, line.order_id.clone(), line.posted_utc_seconds, component, named)
        };
        let mut from_report: BTreeMap<Key, i64> = BTreeMap::new();
        let mut row_sums: HashMap<u64, i64> = HashMap::new();
        let mut payouts: HashMap<u64, Vec<(i64, i64)>> = HashMap::new();
        for row in &report.rows {
            let lines = &report.lines[row.lines.clone()];
            let settlement = row.settlement_id.unwrap();
            if lines.iter().any(|l| is_payout(&l.line)) {
                assert_eq!(lines.len(), 1, "a payout row has one amount");
                payouts.entry(settlement).or_default().push((row.total_minor, row.posted_utc_seconds));
                continue;
            }
            *row_sums.entry(settlement).or_default() += row.total_minor;
            for line in lines {
                *from_report.entry(key(&line.line, text(line.line.amount_description))).or_default() +=
                    line.line.amount_minor;
            }
        }

        let mut from_settlements: BTreeMap<Key, i64> = BTreeMap::new();
        let mut settlement_ids = HashSet::new();
        for path in &store.settlement_files {
            let settlement = parse_settlement(path);
            settlement_ids.insert(settlement.id);
            let mut sum = 0;
            let mut strings = Interner::new();
            for (line_number, row) in &settlement.rows {
                let field = |name| settlement.field(row, name);
                let (transaction, component, kind) =
                    classify_line(field("transaction-type"), field("amount-type"), field("amount-description"));
                let posted = tieout_formats::dates::parse_instant(field("posted-date-time")).unwrap();
                let line = SettlementLine {
                    settlement_id: settlement.id,
                    line: *line_number,
                    transaction_type: strings.intern(field("transaction-type")),
                    order_id: OrderId::parse(field("order-id")),
                    merchant_order_id: Sym::EMPTY,
                    adjustment_id: Sym::EMPTY,
                    shipment_id: Sym::EMPTY,
                    marketplace: Sym::EMPTY,
                    amount_type: Sym::EMPTY,
                    amount_description: Sym::EMPTY,
                    amount_minor: settlement.amount(row),
                    currency: Currency::from_code(&settlement.currency).unwrap(),
                    fulfillment: Sym::EMPTY,
                    posted_utc_seconds: posted,
                    order_item_code: Sym::EMPTY,
                    sku: Sym::EMPTY,
                    quantity: 0,
                    promotion_id: Sym::EMPTY,
                    transaction,
                    component,
                    kind,
                };
                sum += line.amount_minor;
                *from_settlements.entry(key(&line, field("amount-description").to_owned())).or_default() +=
                    line.amount_minor;
            }
            // The report's rows of the settlement (its payout aside) sum to its file's lines.
            assert_eq!(row_sums.get(&settlement.id).copied().unwrap_or(0), sum, "{}", path.display());
            let payout = payouts.get(&settlement.id).cloned().unwrap_or_default();
            match settlement.deposit {
                Some(deposit) => {
                    assert_eq!(payout.len(), 1, "{}: one payout row", settlement.id);
                    let (amount, posted) = payout[0];
                    assert_eq!(amount, -settlement.total_minor, "{}", settlement.id);
                    let posted_date = chrono::DateTime::from_timestamp(posted, 0).unwrap().date_naive();
                    assert_eq!(posted_date, deposit, "{}: paid out on the deposit date", settlement.id);
                }
                None => {
                    // A negative total: the card charge, at the settlement's end.
                    assert_eq!(payout.len(), 1, "{}: one card-charge row", settlement.id);
                    let (amount, posted) = payout[0];
                    assert_eq!(amount, -settlement.total_minor, "{}", settlement.id);
                    assert!(amount > 0, "{}: charged to the card", settlement.id);
                    let posted_date = chrono::DateTime::from_timestamp(posted, 0).unwrap().date_naive();
                    assert_eq!(posted_date, settlement.end, "{}: at the end of the period", settlement.id);
                }
            }
        }
        assert!(row_sums.keys().chain(payouts.keys()).all(|id| settlement_ids.contains(id)));
        from_report.retain(|_, amount| *amount != 0);
        from_settlements.retain(|_, amount| *amount != 0);
        assert_eq!(from_report.len(), from_settlements.len(), "{}", store.store);
        for (key, amount) in &from_settlements {
            assert_eq!(from_report.get(key), Some(amount), "{}: {key:?}", store.store);
        }

        // A duplicated line is a row of its own: an order row with one amount that repeats
        // another row's of the same order.
        let mut amounts_by_order: HashMap<(OrderId, i64), Vec<i64>> = HashMap::new();
        for row in report.rows.iter().filter(|r| text(r.transaction_type) == "Order") {
            let lines = &report.lines[row.lines.clone()];
            let Some(order_id) = lines.first().and_then(|l| l.line.order_id.clone()) else { continue };
            for line in lines {
                amounts_by_order.entry((order_id.clone(), line.line.amount_minor)).or_default().push(row.total_minor);
            }
        }
        duplicates_seen += report
            .rows
            .iter()
            .filter(|row| row.lines.len() == 1 && text(row.transaction_type) == "Order")
            .filter(|row| {
                let line = &report.lines[row.lines.start].line;
                let order_id = line.order_id.clone().unwrap();
                amounts_by_order[&(order_id, line.amount_minor)].len() > 1
            })
            .count();
    }
    let expected: usize = truth_count(Category::DuplicateSettlementLine);
    assert_eq!(duplicates_seen, expected, "one row per duplicated line");
}

fn truth_count(category: Category) -> usize {
    read_truth(&month().manifest.truth_file).unwrap().iter().filter(|(_, _, c)| c == category.name()).count()
}

#[test]
fn transaction_reports_stay_under_the_size_limit_at_the_largest_month() {
    // A report grows with its store's orders (one row per item event): the bytes per order
    // of the shared month, times the most orders a store can have, must stay under the
    // reader's file size limit. The small month's fixed rows (account lines, payouts)
    // make its bytes per order an overestimate.
    let manifest = &month().manifest;
    let small = Plan::new(42, 20_000, 0, 30 * SECONDS_PER_DAY);
    let largest = Plan::new(42, ORDERS_MAX, 0, 30 * SECONDS_PER_DAY);
    for ((store, small), largest) in manifest.stores.iter().zip(&small.stores).zip(&largest.stores) {
        let bytes = fs::metadata(&store.transaction_report).unwrap().len();
        let estimate = bytes * largest.orders / small.orders;
        assert!(
            estimate < tieout_core::limits::FILE_SIZE_BYTES_MAX * 9 / 10,
            "{}: about {estimate} bytes at {} orders",
            store.store,
            largest.orders
        );
    }
}

/// Money as a report's lines carry it: (settlement, order id, posted instant, component,
/// and for a line without an order its description) → amount. Refund commissions are
/// netted into the commission, as the report's selling fees are.
type MoneyKey = (u64, Option<OrderId>, i64, Component, String);

fn money_key(
    settlement_id: u64,
    order_id: Option<OrderId>,
    posted: i64,
    component: Component,
    description: &str,
) -> MoneyKey {
    let component = if component == Component::RefundCommission { Component::Commission } else { component };
    let named = if order_id.is_none() { description.to_owned() } else { String::new() };
    (settlement_id, order_id, posted, component, named)
}

/// Every line of a report (payouts included) by [`MoneyKey`], zero sums left out.
fn report_money(report: &TransactionReport) -> BTreeMap<MoneyKey, i64> {
    let mut money = BTreeMap::new();
    for entry in &report.lines {
        let line = &entry.line;
        let description = report.strings.resolve(line.amount_description);
        let key =
            money_key(line.settlement_id, line.order_id.clone(), line.posted_utc_seconds, line.component, description);
        *money.entry(key).or_default() += line.amount_minor;
    }
    money.retain(|_, amount| *amount != 0);
    money
}

/// A report in another language (`transactions::write_report_as`), read back.
struct WrittenReport {
    _dir: TempDir,
    text: String,
    report: TransactionReport,
    month: StoreMonth,
}

fn write_report(name: &str, spec: &'static model::StoreSpec, style: ReportStyle, marketplace: &str) -> WrittenReport {
    let dir = TempDir::new(name);
    fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join(format!("{}-transactions-{name}.csv", spec.name));
    let month = transactions::write_report_as(&config(42, 20_000), spec, style, marketplace, &path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let report = read_transaction_report(path.file_name().unwrap().to_str().unwrap(), &bytes);
    let text = String::from_utf8(bytes).unwrap();
    WrittenReport { _dir: dir, text, report, month }
}

/// The cells of the first row after the header (the header starts with `date_label`).
fn first_row(text: &str, date_label: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|line| !line.starts_with(&format!("\"{date_label}\"")));
    lines.next().expect("a header");
    let row = lines.next().expect("a row");
    row.trim_matches('"').split("\",\"").map(str::to_owned).collect()
}

/// Whether some quoted cell is an amount of a thousand or more, grouped in the notation.
fn has_grouped_amount(text: &str, decimal: Option<char>, grouping: &str) -> bool {
    let grouped = |cell: &str| {
        let cell = cell.trim_start_matches('-');
        let (integer, fraction_ok) = match decimal {
            Some(decimal) => match cell.split_once(decimal) {
                Some((integer, fraction)) => (integer, fraction.len() == 2),
                None => return false,
            },
            None => (cell, true),
        };
        let groups: Vec<&str> = integer.split(grouping).collect();
        groups.len() > 1
            && fraction_ok
            && (1..=3).contains(&groups[0].len())
            && groups.iter().all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
            && groups[1..].iter().all(|g| g.len() == 3)
    };
    text.split("\",\"").any(grouped)
}

fn diagnostics_of(report: &TransactionReport) -> Vec<String> {
    report.diagnostics.iter().map(ToString::to_string).collect()
}

/// The types rows write, and the V2 names the reader gives them.
fn row_types(report: &TransactionReport) -> (HashSet<&str>, HashSet<&str>) {
    let text = |sym| report.strings.resolve(sym);
    (
        report.rows.iter().map(|row| text(row.report_type)).collect(),
        report.rows.iter().map(|row| text(row.transaction_type)).collect(),
    )
}

#[test]
fn generated_french_italian_and_spanish_reports_carry_the_german_reports_money() {
    let manifest = &month().manifest;
    let german_store = manifest.stores.iter().find(|store| store.store == "acme-de").unwrap();
    let german = read_report(german_store);
    let german_money = report_money(&german);
    let spec = STORES.iter().find(|spec| spec.name == "acme-de").unwrap();
    struct Expected {
        style: ReportStyle,
        locale: ReportLocale,
        marketplace: &'static str,
        /// Order, refund, service fee, transfer, as rows write them.
        types: [&'static str; 4],
        date_label: &'static str,
        /// A June date of the month, and the form of its time.
        june: &'static str,
        time_separator: char,
        header_names: [&'static str; 2],
        seller: &'static str,
        status: &'static str,
        grouping: &'static str,
    }
    let expected = [
        Expected {
            style: ReportStyle::Fr,
            locale: ReportLocale::French,
            marketplace: "amazon.fr",
            types: ["Commande", "Remboursement", "Service Fee", "Transfert"],
            date_label: "date/heure",
            june: " juin 2026 ",
            time_separator: ':',
            header_names: ["\"taxe sur les crédits d’expédition\"", "\"Statut de la transaction\""],
            seller: ",\"Vendeur\",",
            status: ",\"Publié\"\n",
            grouping: "\u{a0}",
        },
        Expected {
            style: ReportStyle::It,
            locale: ReportLocale::Italian,
            marketplace: "amazon.it",
            types: ["Ordine", "Rimborso", "Service Fee", "Trasferimento"],
            date_label: "Data/Ora:",
            june: " giu 2026 ",
            time_separator: '.',
            header_names: ["\"Vendite\"", "\"Stato della transazione\""],
            seller: ",\"Venditore\",",
            status: ",\"Rilasciato\"\n",
            grouping: ".",
        },
        Expected {
            style: ReportStyle::Es,
            locale: ReportLocale::Spanish,
            marketplace: "amazon.es",
            types: ["Pedido", "Reembolso", "Service Fee", "Transferir"],
            date_label: "fecha y hora",
            june: " jun. 2026 ",
            time_separator: ':',
            header_names: ["\"product sales tax\"", "\"Estado de la transacción\""],
            seller: ",\"Vendedor\",",
            status: ",\"Liberado\"\n",
            grouping: ".",
        },
    ];
    for expected in expected {
        let name = expected.locale.name();
        let written = write_report(name, spec, expected.style, expected.marketplace);
        let report = &written.report;
        assert_eq!(diagnostics_of(report), Vec::<String>::new(), "{name}");
        assert_eq!(report.locale, Some(expected.locale));
        assert_eq!(report.currency, Some(Currency::EUR), "{name}");
        assert_eq!(report.marketplace.as_deref(), Some(expected.marketplace), "{name}");
        assert!(report.rows.iter().all(|row| row.released && row.settlement_id.is_some()), "{name}");
        let (types, transaction_types) = row_types(report);
        assert_eq!(types, HashSet::from(expected.types), "{name}");
        assert_eq!(transaction_types, HashSet::from(["Order", "Refund", "ServiceFee", "Transfer"]), "{name}");

        // The same rows as the German report, in the same order, and the same money.
        assert_eq!(report.rows.len(), german.rows.len(), "{name}");
        let shown = |report: &TransactionReport, row: &tieout_formats::amazon_transactions::TransactionRow| {
            let transaction_type = report.strings.resolve(row.transaction_type).to_owned();
            (row.settlement_id, row.posted_utc_seconds, transaction_type, row.total_minor, row.lines.len())
        };
        for (row, german_row) in report.rows.iter().zip(&german.rows) {
            assert_eq!(shown(report, row), shown(&german, german_row), "{name}: line {}", row.line);
        }
        assert_eq!(report_money(report), german_money, "{name}");

        // The locale's words and notation, as written.
        let text = &written.text;
        assert!(text.lines().any(|line| line.contains("EUR")), "{name}: the preamble states the currency");
        assert!(expected.header_names.iter().all(|header| text.contains(header)), "{name}");
        assert!(text.contains(expected.seller), "{name}: MFN items");
        assert!(text.contains(expected.status), "{name}: released");
        assert!(text.contains(expected.june) && text.contains(" UTC\","), "{name}");
        let row = first_row(text, expected.date_label);
        let time = row[0].split(' ').nth(3).unwrap();
        assert_eq!(time.matches(expected.time_separator).count(), 2, "{name}: {}", row[0]);
        assert!(has_grouped_amount(text, Some(','), expected.grouping), "{name}: a grouped amount");
    }
}

/// Collects the money of the lines the generator gives a store's events (what its
/// settlement files would hold), by [`MoneyKey`].
struct Recorder<'a> {
    settlements: &'a [Settlement],
    event: Option<(&'static str, OrderId, i64)>,
    money: BTreeMap<MoneyKey, i64>,
}

impl settlement::Sink for Recorder<'_> {
    fn event(&mut self, event: &settlement::Event) {
        let order_id = OrderId::parse(&text::order_id_text(event.order_id)).unwrap();
        self.event = Some((event.transaction, order_id, event.posted));
    }

    fn line(&mut self, period: usize, line: &settlement::Line) -> Result<(), DemoError> {
        let (transaction, order_id, posted) = self.event.clone().unwrap();
        let (_, component, _) = classify_line(transaction, line.amount_type, line.description);
        let key = money_key(self.settlements[period].id, Some(order_id), posted, component, "");
        *self.money.entry(key).or_default() += line.amount_minor;
        Ok(())
    }
}

/// A month's money as the generator made it: every order line, every account line a
/// settlement file would have, and each settlement's payout (or card charge).
fn generated_money(month: &StoreMonth) -> BTreeMap<MoneyKey, i64> {
    let mut recorder = Recorder { settlements: &month.settlements, event: None, money: BTreeMap::new() };
    for k in 0..month.store.orders {
        let order = month.plan.order(&month.store, k);
        settlement::emit_order(&month.store, &order, &mut recorder).unwrap();
    }
    let mut money = recorder.money;
    for settlement in &month.settlements {
        let mut add = |transaction: &str, description: &str, posted: i64, amount_minor: i64| {
            let (_, component, _) = classify_line(transaction, "other-transaction", description);
            *money.entry(money_key(settlement.id, None, posted, component, description)).or_default() += amount_minor;
        };
        for line in settlement.account_lines.iter().filter(|line| !line.omitted) {
            add(line.transaction, line.description, line.posted, line.amount_minor);
        }
        match settlement.deposit() {
            Some(deposit) => add("Transfer", month.store.spec.payout_description, deposit, -settlement.total_minor),
            None => add("Transfer", transactions::CARD_CHARGE_DESCRIPTION, settlement.end, -settlement.total_minor),
        }
    }
    money.retain(|_, amount| *amount != 0);
    money
}

#[test]
fn a_generated_japanese_report_carries_the_yen_stores_money() {
    let written = write_report("Japanese", &model::JP_STORE, ReportStyle::Jp, "amazon.co.jp");
    let report = &written.report;
    assert_eq!(diagnostics_of(report), Vec::<String>::new());
    assert_eq!(report.locale, Some(ReportLocale::Japanese));
    // The preamble says 円 (yen) in words, with no code: the reader's Japanese default.
    assert_eq!(report.currency, Some(Currency::JPY));
    assert!(!written.text.contains("JPY") && written.text.contains("すべての金額は円で表示されています"));
    assert_eq!(report.marketplace.as_deref(), Some("amazon.co.jp"));
    assert!(report.rows.len() > 1_000, "{} rows", report.rows.len());
    // No status column: a row with a settlement id is released.
    assert!(report.rows.iter().all(|row| row.released && row.settlement_id.is_some()));
    let (types, transaction_types) = row_types(report);
    assert_eq!(types, HashSet::from(["注文", "返金", "Service Fee", "振込み"]));
    assert_eq!(transaction_types, HashSet::from(["Order", "Refund", "ServiceFee", "Transfer"]));

    // Every yen of the generator's lines, account lines and payouts, and nothing else.
    let expected = generated_money(&written.month);
    assert!(expected.len() > 1_000);
    assert_eq!(report_money(report), expected);

    let text = &written.text;
    assert!(text.starts_with('\u{feff}'));
    assert!(text.contains("\"Amazonポイントの費用\"") && !text.contains("トランザクションのステータス"));
    assert!(text.contains(",\"出品者\","), "MFN items");
    let row = first_row(text, "日付/時間");
    assert!(row[0].ends_with(" JST") && row[0].as_bytes()[4] == b'/', "{}", row[0]);
    // Yen: grouped thousands, no decimals anywhere.
    assert!(has_grouped_amount(text, None, ","), "a grouped yen amount");
    assert!(report.rows.iter().any(|row| row.total_minor >= 10_000));
}

#[test]
fn a_japanese_report_is_refused_for_a_store_not_in_yen() {
    let dir = TempDir::new("jp-usd");
    fs::create_dir_all(&dir.0).unwrap();
    let error = transactions::write_report_as(
        &config(42, 1_000),
        &STORES[0],
        ReportStyle::Jp,
        "amazon.co.jp",
        &dir.0.join("r.csv"),
    );
    assert!(
        matches!(&error, Err(DemoError::InvalidConfig(message)) if message.contains("JPY") && message.contains("USD")),
        "{:?}",
        error.err()
    );
}
