//! Tests read the generated files back with small readers of their own (independent of
//! tieout-formats) and run `tieout_core::reconcile` on them: the truth file must be
//! exactly what the rules produce.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use chrono::NaiveDate;
use tieout_core::money::{parse_amount_minor, AmountError, NumberStyle};
use tieout_core::reconcile::{
    reconcile, Category, FeeSchedule, FeeScheduleRule, LineFacts, OrderFacts, ReconcileConfig, ReconcileInput,
};
use tieout_core::records::{classify_line, fnv1a, line_fingerprint, OrderStatus, SettlementLine};
use tieout_core::{Currency, Interner, OrderId, Sym};

use super::*;

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
    // Settlement files, ERP exports, mappings, config, truth, README.
    assert_eq!(files_a.len(), manifest_a.stores.iter().map(|s| s.settlement_files.len() + 2).sum::<usize>() + 3);
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
