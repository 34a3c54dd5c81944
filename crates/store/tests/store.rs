//! The SQLite store through its public interface: migrations, imports (one transaction
//! per file), what reads back, and the latest reconciliation. Records are built by hand
//! (the store never depends on the readers).

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use tieout_core::ids::OrderId;
use tieout_core::intern::{Interner, Sym};
use tieout_core::money::Currency;
use tieout_core::reconcile::{reconcile, Category, ReconcileConfig};
use tieout_core::records::{
    classify_line, LineKind, OrderFile, OrderItem, OrderStatus, SettlementFile, SettlementHeader, SettlementLine,
    SourceFormat,
};
use tieout_store::{FileMeta, SqliteStore, StoreError};

// ---------------------------------------------------------------------------------------
// Helpers: records by hand.

const START: i64 = 1_790_812_800; // 2026-10-01 00:00:00 UTC
const DAY: i64 = 86_400;

/// One amount line of a hand-built settlement file.
#[derive(Clone)]
struct Line {
    settlement_id: u64,
    order: Option<&'static str>,
    transaction_type: &'static str,
    amount_type: &'static str,
    description: &'static str,
    amount_minor: i64,
    marketplace: &'static str,
    sku: &'static str,
    item_code: &'static str,
    day: i64,
}

fn sale(settlement_id: u64, order: &'static str, amount_minor: i64, sku: &'static str) -> Line {
    Line {
        settlement_id,
        order: Some(order),
        transaction_type: "Order",
        amount_type: "ItemPrice",
        description: "Principal",
        amount_minor,
        marketplace: "Amazon.com",
        sku,
        item_code: "",
        day: 3,
    }
}

fn commission(settlement_id: u64, order: &'static str, amount_minor: i64, sku: &'static str) -> Line {
    Line { amount_type: "ItemFees", description: "Commission", ..sale(settlement_id, order, amount_minor, sku) }
}

fn storage_fee(settlement_id: u64, amount_minor: i64) -> Line {
    Line {
        settlement_id,
        order: None,
        transaction_type: "ServiceFee",
        amount_type: "other-transaction",
        description: "Storage Fee",
        amount_minor,
        marketplace: "Amazon.com",
        sku: "",
        item_code: "",
        day: 13,
    }
}

/// A settlement file as a reader would return it: each settlement's summary row first,
/// then its lines, line numbers counted from 2 (line 1 is the column header); each total
/// is the sum of its lines. Every settlement covers the first 14 days of October 2026.
fn settlement_file(settlements: &[(u64, Currency)], lines: &[Line]) -> SettlementFile {
    let mut file = SettlementFile { strings: Interner::new(), ..SettlementFile::default() };
    let mut next_line = 2u32;
    for (index, (settlement_id, currency)) in settlements.iter().enumerate() {
        let own: Vec<&Line> = lines.iter().filter(|l| l.settlement_id == *settlement_id).collect();
        // The same settlement twice in one file gets its lines once, under the first.
        let own = if settlements[..index].iter().any(|(id, _)| id == settlement_id) { Vec::new() } else { own };
        let lines_sum_minor: i64 = own.iter().map(|l| l.amount_minor).sum();
        let offset = 0;
        file.settlements.push(SettlementHeader {
            settlement_id: *settlement_id,
            line: next_line,
            start_utc_seconds: START + offset,
            end_utc_seconds: START + offset + 14 * DAY - 1,
            deposit_utc_seconds: Some(START + offset + 16 * DAY),
            total_minor: lines_sum_minor,
            currency: *currency,
            lines_sum_minor,
            line_count: own.len() as u32,
        });
        next_line += 1;
        for line in own {
            let strings = &mut file.strings;
            let (transaction, component, kind) =
                classify_line(line.transaction_type, line.amount_type, line.description);
            file.lines.push(SettlementLine {
                settlement_id: line.settlement_id,
                line: next_line,
                transaction_type: strings.intern(line.transaction_type),
                order_id: line.order.and_then(OrderId::parse),
                merchant_order_id: strings.intern(""),
                adjustment_id: strings.intern(""),
                shipment_id: strings.intern(if line.order.is_some() { "SHIP-1" } else { "" }),
                marketplace: strings.intern(line.marketplace),
                amount_type: strings.intern(line.amount_type),
                amount_description: strings.intern(line.description),
                amount_minor: line.amount_minor,
                currency: *currency,
                fulfillment: strings.intern(if line.order.is_some() { "AFN" } else { "" }),
                posted_utc_seconds: START + offset + line.day * DAY + 3_600,
                order_item_code: strings.intern(line.item_code),
                sku: strings.intern(line.sku),
                quantity: u32::from(line.order.is_some()),
                promotion_id: strings.intern(""),
                transaction,
                component,
                kind,
            });
            next_line += 1;
        }
    }
    file
}

/// One row of a hand-built order export.
#[derive(Clone)]
struct Item {
    order: &'static str,
    store: &'static str,
    marketplace: &'static str,
    status: OrderStatus,
    purchase: (i32, u32, u32),
    ship: Option<(i32, u32, u32)>,
    currency: Currency,
    amount_minor: i64,
    refunded_minor: Option<i64>,
    quantity: u32,
    sku: &'static str,
}

fn item(order: &'static str, amount_minor: i64, sku: &'static str) -> Item {
    Item {
        order,
        store: "acme-us",
        marketplace: "Amazon.com",
        status: OrderStatus::Shipped,
        purchase: (2026, 10, 2),
        ship: Some((2026, 10, 3)),
        currency: Currency::USD,
        amount_minor,
        refunded_minor: None,
        quantity: 1,
        sku,
    }
}

fn date((year, month, day): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

/// An order export as a reader would return it: one row per item from line 2.
fn order_file(items: &[Item]) -> OrderFile {
    let mut file = OrderFile { strings: Interner::new(), ..OrderFile::default() };
    for (index, spec) in items.iter().enumerate() {
        let strings = &mut file.strings;
        file.items.push(OrderItem {
            line: index as u32 + 2,
            order_id: OrderId::parse(spec.order).expect("an order id"),
            store: strings.intern(spec.store),
            marketplace: strings.intern(spec.marketplace),
            status: spec.status,
            purchase_date: date(spec.purchase),
            ship_date: spec.ship.map(date),
            currency: spec.currency,
            amount_minor: spec.amount_minor,
            refunded_minor: spec.refunded_minor,
            quantity: spec.quantity,
            sku: strings.intern(spec.sku),
        });
    }
    file
}

fn meta(name: &str, format: SourceFormat, store: Option<&str>) -> FileMeta {
    // Any unique text does for the store: the service computes the real SHA-256.
    let sha256: String = name.bytes().map(|b| format!("{b:02x}")).collect::<String>() + "-sha256";
    FileMeta {
        sha256,
        name: name.to_owned(),
        format,
        store: store.map(str::to_owned),
        size_bytes: 1_000,
        imported_at: "2026-11-01T09:00:00Z".to_owned(),
    }
}

fn settlement_meta(name: &str) -> FileMeta {
    meta(name, SourceFormat::AmazonSettlementV2, Some("acme-us"))
}

fn orders_meta(name: &str) -> FileMeta {
    meta(name, SourceFormat::ErpOrders, None)
}

fn counts(store: &SqliteStore) -> HashMap<&'static str, i64> {
    store.counts().expect("counts").into_iter().collect()
}

fn all_zero(store: &SqliteStore) -> bool {
    store.counts().expect("counts").iter().all(|(_, count)| *count == 0)
}

fn id(text: &str) -> OrderId {
    OrderId::parse(text).expect("an order id")
}

fn open(path: &Path) -> SqliteStore {
    match SqliteStore::open(path) {
        Ok(store) => store,
        Err(error) => panic!("cannot open {}: {error}", path.display()),
    }
}

const A: &str = "111-0000001-0000001";
const B: &str = "111-0000002-0000002";
const C: &str = "111-0000003-0000003";

/// Two orders in settlement 10, plus an account line without an order id.
fn month_one() -> SettlementFile {
    settlement_file(
        &[(10, Currency::USD)],
        &[
            sale(10, A, 10_000, "SKU-A"),
            commission(10, A, -1_500, "SKU-A"),
            sale(10, B, 2_550, "SKU-B"),
            storage_fee(10, -640),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Migrations.

#[test]
fn a_fresh_file_is_migrated_and_opens_again() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("tieout.db");
    {
        let mut store = open(&path);
        assert!(all_zero(&store));
        store.import_settlements(&settlement_meta("a.txt"), &month_one(), "acme-us").unwrap();
    }
    let versions = |path: &Path| -> Vec<i64> {
        let connection = rusqlite::Connection::open(path).unwrap();
        let mut statement = connection.prepare("SELECT version FROM schema_migration ORDER BY version").unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    let all: Vec<i64> = (1..=tieout_store::SCHEMA_VERSION).collect();
    assert_eq!(versions(&path), all);

    // Opening again neither re-runs the migration nor loses data.
    let store = open(&path);
    assert_eq!(versions(&path), all);
    assert_eq!(counts(&store)["settlement"], 1);
    assert_eq!(counts(&store)["settlement_line"], 4);
    assert_eq!(store.files().unwrap().len(), 1);
}

#[test]
fn a_database_from_a_newer_tieout_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("tieout.db");
    drop(open(&path));
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute("INSERT INTO schema_migration (version) VALUES (?1)", [tieout_store::SCHEMA_VERSION + 1])
            .unwrap();
    }
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (tieout_store::SCHEMA_VERSION + 1, tieout_store::SCHEMA_VERSION));
            let message = StoreError::SchemaTooNew { found, supported }.to_string();
            assert!(message.contains("upgrade tieout"), "{message}");
        }
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("a schema newer than supported was opened"),
    }
    // The refused database is left as it was.
    let connection = rusqlite::Connection::open(&path).unwrap();
    let newest: i64 = connection.query_row("SELECT MAX(version) FROM schema_migration", [], |r| r.get(0)).unwrap();
    assert_eq!(newest, tieout_store::SCHEMA_VERSION + 1);
}

// ---------------------------------------------------------------------------------------
// Settlement imports.

#[test]
fn imported_settlements_read_back_as_they_went_in() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    // A text (non-Amazon) order id and a second settlement in another currency, too.
    let file = settlement_file(
        &[(10, Currency::USD), (11, Currency::EUR)],
        &[
            sale(10, A, 10_000, "SKU-A"),
            commission(10, A, -1_500, "SKU-A"),
            sale(10, B, 2_550, "SKU-B"),
            storage_fee(10, -640),
            Line { marketplace: "Amazon.de", ..sale(11, "SO-1001", 4_999, "SKU-Ä") },
        ],
    );
    let meta = settlement_meta("settlements-october.txt");
    let outcome = store.import_settlements(&meta, &file, "acme-us").unwrap();
    assert_eq!(outcome.settlements_added, [10, 11]);
    assert!(outcome.settlements_skipped.is_empty());
    assert_eq!(outcome.lines_added, 5);

    let files = store.files().unwrap();
    assert_eq!(files.len(), 1);
    let stored_file = &files[0];
    assert_eq!(stored_file.id, outcome.file_id);
    assert_eq!(
        (stored_file.name.as_str(), stored_file.format.as_str(), stored_file.store.as_deref()),
        ("settlements-october.txt", "amazon-settlement-v2", Some("acme-us"))
    );
    assert_eq!((stored_file.size_bytes, stored_file.record_count), (1_000, 5));
    assert_eq!(stored_file.imported_at, meta.imported_at);
    assert_eq!(store.file_by_sha256(&meta.sha256).unwrap().as_ref(), Some(stored_file));
    assert_eq!(store.file_by_sha256("no-such-sha").unwrap(), None);

    let settlements = store.settlements().unwrap();
    assert_eq!(settlements.len(), 2);
    for (row, header) in settlements.iter().zip(&file.settlements) {
        assert_eq!(row.settlement_id, header.settlement_id);
        assert_eq!(row.store, "acme-us");
        assert_eq!(row.file_name, "settlements-october.txt");
        assert_eq!(row.line, header.line);
        assert_eq!(row.start_utc_seconds, header.start_utc_seconds);
        assert_eq!(row.end_utc_seconds, header.end_utc_seconds);
        assert_eq!(row.deposit_utc_seconds, header.deposit_utc_seconds);
        assert_eq!(row.total_minor, header.total_minor);
        assert_eq!(row.currency, header.currency);
        assert_eq!(row.lines_sum_minor, header.lines_sum_minor);
        assert_eq!(row.line_count, header.line_count);
    }
    assert_eq!((settlements[0].total_minor, settlements[0].currency), (10_000 - 1_500 + 2_550 - 640, Currency::USD));
    assert_eq!((settlements[1].total_minor, settlements[1].currency), (4_999, Currency::EUR));

    let lines = store.order_lines(&id(A)).unwrap();
    assert_eq!(lines.len(), 2);
    let (principal, fee) = (&lines[0], &lines[1]);
    assert_eq!(principal.settlement_id, 10);
    assert_eq!(principal.file_name, "settlements-october.txt");
    assert_eq!((principal.line, fee.line), (3, 4));
    assert_eq!(
        (principal.transaction_type.as_str(), principal.amount_type.as_str(), principal.description.as_str()),
        ("Order", "ItemPrice", "Principal")
    );
    assert_eq!((fee.amount_type.as_str(), fee.description.as_str()), ("ItemFees", "Commission"));
    assert_eq!((principal.marketplace.as_str(), principal.sku.as_str()), ("Amazon.com", "SKU-A"));
    assert_eq!((principal.amount_minor, fee.amount_minor), (10_000, -1_500));
    assert_eq!(principal.currency, Currency::USD);
    assert_eq!(principal.posted_utc_seconds, START + 3 * DAY + 3_600);
    assert_eq!(principal.quantity, 1);
    assert_eq!(principal.kind, LineKind::Transaction);
    assert_eq!((principal.duplicate_of, fee.duplicate_of), (None, None));
    assert_ne!(principal.id, fee.id);

    let text_order = store.order_lines(&id("SO-1001")).unwrap();
    assert_eq!(text_order.len(), 1);
    assert_eq!((text_order[0].settlement_id, text_order[0].line), (11, 8));
    assert_eq!((text_order[0].currency, text_order[0].amount_minor), (Currency::EUR, 4_999));
    assert_eq!((text_order[0].marketplace.as_str(), text_order[0].sku.as_str()), ("Amazon.de", "SKU-Ä"));
    assert!(store.order_lines(&id(C)).unwrap().is_empty());

    let stored = counts(&store);
    assert_eq!(stored["source_file"], 1);
    assert_eq!(stored["settlement"], 2);
    assert_eq!(stored["settlement_line"], 5);
    assert_eq!(stored["order_item"], 0);
    assert_eq!(stored["order_result"], 0);
    assert_eq!(stored["duplicate_line"], 0);
    assert!(store.verify_settlement_sums().unwrap().is_empty());
}

#[test]
fn an_inconsistent_settlement_is_stored_as_read() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut file = month_one();
    // Amazon left a line out: the total counts 12.34 more than the lines.
    file.settlements[0].total_minor += 1_234;
    store.import_settlements(&settlement_meta("short.txt"), &file, "acme-us").unwrap();
    let row = &store.settlements().unwrap()[0];
    assert_eq!(row.total_minor - row.lines_sum_minor, 1_234);
    // The lines stored still add up to what the reader summed.
    assert!(store.verify_settlement_sums().unwrap().is_empty());
}

#[test]
fn a_failed_import_leaves_nothing_and_the_dictionary_forgets_its_words() {
    let mut store = SqliteStore::open_in_memory().unwrap();

    // Settlement 20 twice: its first summary row is inserted (with the file row and the
    // new store word) before the second violates the primary key.
    let twice = settlement_file(&[(20, Currency::USD), (20, Currency::USD)], &[sale(20, A, 10_000, "SKU-A")]);
    let result = store.import_settlements(&settlement_meta("twice.txt"), &twice, "ghost-store");
    assert!(matches!(result, Err(StoreError::Sqlite(_))), "{result:?}");
    assert!(all_zero(&store), "{:?}", store.counts().unwrap());
    assert!(store.files().unwrap().is_empty());
    assert!(store.settlements().unwrap().is_empty());

    // A good import afterwards, reusing the rolled-back store name among new words.
    store.import_settlements(&settlement_meta("good.txt"), &month_one(), "ghost-store").unwrap();
    let settlements = store.settlements().unwrap();
    assert_eq!(settlements.len(), 1);
    assert_eq!((settlements[0].store.as_str(), settlements[0].file_name.as_str()), ("ghost-store", "good.txt"));
    let lines = store.order_lines(&id(A)).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0].transaction_type.as_str(), lines[0].amount_type.as_str(), lines[0].description.as_str()),
        ("Order", "ItemPrice", "Principal")
    );
    assert_eq!((lines[0].marketplace.as_str(), lines[0].sku.as_str()), ("Amazon.com", "SKU-A"));
    assert_eq!(lines[0].file_name, "good.txt");

    // Now with words already in the database: the rolled-back word's id would be the
    // next new word's id, so a stale cache would read one text as another.
    let twice = settlement_file(&[(21, Currency::USD), (21, Currency::USD)], &[sale(21, C, 500, "SKU-C")]);
    let result = store.import_settlements(&settlement_meta("twice-again.txt"), &twice, "phantom-store");
    assert!(result.is_err());
    let after_failure = counts(&store);
    assert_eq!((after_failure["source_file"], after_failure["settlement"]), (1, 1));
    assert_eq!(after_failure["settlement_line"], 4);

    let fresh = settlement_file(
        &[(22, Currency::USD)],
        &[Line {
            transaction_type: "Adjustment",
            amount_type: "FBA Inventory Reimbursement",
            description: "WAREHOUSE_DAMAGE",
            marketplace: "Amazon.ca",
            ..sale(22, C, 777, "SKU-NEW")
        }],
    );
    store.import_settlements(&settlement_meta("fresh.txt"), &fresh, "phantom-store").unwrap();
    let by_id: HashMap<u64, String> =
        store.settlements().unwrap().into_iter().map(|s| (s.settlement_id, s.store)).collect();
    assert_eq!(by_id[&10], "ghost-store");
    assert_eq!(by_id[&22], "phantom-store");
    let lines = store.order_lines(&id(C)).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (
            lines[0].transaction_type.as_str(),
            lines[0].amount_type.as_str(),
            lines[0].description.as_str(),
            lines[0].marketplace.as_str(),
            lines[0].sku.as_str()
        ),
        ("Adjustment", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", "Amazon.ca", "SKU-NEW")
    );
    let input = store.load_reconcile_input().unwrap();
    let stores: Vec<&str> = input.all_lines().map(|l| input.strings.resolve(l.store)).collect();
    assert!(stores.contains(&"phantom-store") && stores.contains(&"ghost-store"), "{stores:?}");
    assert!(store.verify_settlement_sums().unwrap().is_empty());
}

#[test]
fn a_settlement_already_stored_is_skipped_and_its_lines_not_added_twice() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.import_settlements(&settlement_meta("first.txt"), &month_one(), "acme-us").unwrap();

    // The same settlement 10 again (as in a re-saved file), beside a new settlement 12.
    let mut lines = vec![
        sale(10, A, 10_000, "SKU-A"),
        commission(10, A, -1_500, "SKU-A"),
        sale(10, B, 2_550, "SKU-B"),
        storage_fee(10, -640),
    ];
    lines.extend([sale(12, C, 3_000, "SKU-C"), storage_fee(12, -100)]);
    let second = settlement_file(&[(10, Currency::USD), (12, Currency::USD)], &lines);
    let outcome = store.import_settlements(&settlement_meta("second.txt"), &second, "acme-us").unwrap();
    assert_eq!(outcome.settlements_skipped, [(10, "first.txt".to_owned())]);
    assert_eq!(outcome.settlements_added, [12]);
    assert_eq!(outcome.lines_added, 2);

    let stored = counts(&store);
    assert_eq!(stored["source_file"], 2);
    assert_eq!(stored["settlement"], 2);
    assert_eq!(stored["settlement_line"], 4 + 2);
    let lines_of_a = store.order_lines(&id(A)).unwrap();
    assert_eq!(lines_of_a.len(), 2);
    assert!(lines_of_a.iter().all(|l| l.file_name == "first.txt"));
    let names: Vec<(u64, String)> =
        store.settlements().unwrap().into_iter().map(|s| (s.settlement_id, s.file_name)).collect();
    assert!(names.contains(&(10, "first.txt".to_owned())) && names.contains(&(12, "second.txt".to_owned())));
    let second_file = store.files().unwrap().into_iter().find(|f| f.name == "second.txt").unwrap();
    assert_eq!(second_file.record_count, 2);
    assert!(store.verify_settlement_sums().unwrap().is_empty());

    // Nothing new at all: the file is recorded, no settlement or line is added.
    let outcome = store.import_settlements(&settlement_meta("third.txt"), &month_one(), "acme-us").unwrap();
    assert_eq!(outcome.settlements_skipped, [(10, "first.txt".to_owned())]);
    assert!(outcome.settlements_added.is_empty());
    assert_eq!(outcome.lines_added, 0);
    assert_eq!(store.order_lines(&id(A)).unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------
// Order imports.

#[test]
fn a_later_order_export_replaces_the_earlier_rows_of_its_orders() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let first = order_file(&[
        item(A, 6_000, "SKU-A1"),
        item(A, 4_000, "SKU-A2"),
        Item { status: OrderStatus::Unshipped, ship: None, ..item(B, 2_550, "SKU-B") },
        item("SO-1001", 1_000, "SKU-S"),
    ]);
    let outcome = store.import_orders(&orders_meta("orders-1.csv"), &first).unwrap();
    assert_eq!((outcome.orders_added, outcome.orders_replaced, outcome.items_added), (3, 0, 4));

    let rows = store.order_rows(&id(A)).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].file_name.as_str(), rows[0].line, rows[1].line), ("orders-1.csv", 2, 3));
    assert_eq!((rows[0].store.as_str(), rows[0].marketplace.as_str()), ("acme-us", "Amazon.com"));
    assert_eq!((rows[0].status, rows[0].currency, rows[0].amount_minor), (OrderStatus::Shipped, Currency::USD, 6_000));
    assert_eq!((rows[0].purchase_date, rows[0].ship_date), (date((2026, 10, 2)), Some(date((2026, 10, 3)))));
    assert_eq!((rows[1].sku.as_str(), rows[1].quantity, rows[1].refunded_minor), ("SKU-A2", 1, None));

    // B shipped and one item of A was refunded: the later snapshot has one row for A.
    let second = order_file(&[
        Item { refunded_minor: Some(4_000), status: OrderStatus::Refunded, ..item(A, 4_000, "SKU-A2") },
        item(B, 2_550, "SKU-B"),
        item(C, 700, "SKU-C"),
    ]);
    let outcome = store.import_orders(&orders_meta("orders-2.csv"), &second).unwrap();
    assert_eq!((outcome.orders_added, outcome.orders_replaced, outcome.items_added), (1, 2, 3));
    assert_ne!(outcome.file_id, store.files().unwrap()[0].id);

    let rows = store.order_rows(&id(A)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].file_name.as_str(), rows[0].line), ("orders-2.csv", 2));
    assert_eq!((rows[0].status, rows[0].refunded_minor), (OrderStatus::Refunded, Some(4_000)));
    let rows = store.order_rows(&id(B)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].file_name.as_str(), rows[0].status), ("orders-2.csv", OrderStatus::Shipped));
    // Orders the later export does not have keep their rows.
    let rows = store.order_rows(&id("SO-1001")).unwrap();
    assert_eq!((rows.len(), rows[0].file_name.as_str()), (1, "orders-1.csv"));
    assert_eq!(counts(&store)["order_item"], 4, "A, B, C from the later export and SO-1001 from the first");

    // One order replaced, with its one new row.
    let third = order_file(&[item(C, 800, "SKU-C")]);
    let outcome = store.import_orders(&orders_meta("orders-3.csv"), &third).unwrap();
    assert_eq!((outcome.orders_added, outcome.orders_replaced, outcome.items_added), (0, 1, 1));
    let rows = store.order_rows(&id(C)).unwrap();
    assert_eq!((rows.len(), rows[0].file_name.as_str(), rows[0].amount_minor), (1, "orders-3.csv", 800));
    assert_eq!(counts(&store)["order_item"], 4);
    assert_eq!(counts(&store)["source_file"], 3);
}

#[test]
fn a_failed_order_import_keeps_the_rows_it_would_have_replaced() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store.import_orders(&orders_meta("orders-1.csv"), &order_file(&[item(A, 10_000, "SKU-A")])).unwrap();
    // The same SHA-256 again violates source_file's unique key after A's earlier rows
    // were deleted for replacement: the deletion must be rolled back with the rest.
    let replacement = order_file(&[Item { store: "new-store", ..item(A, 1, "SKU-NEW") }]);
    let result = store.import_orders(&orders_meta("orders-1.csv"), &replacement);
    assert!(matches!(result, Err(StoreError::Sqlite(_))), "{result:?}");
    let rows = store.order_rows(&id(A)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].file_name.as_str(), rows[0].amount_minor, rows[0].sku.as_str()),
        ("orders-1.csv", 10_000, "SKU-A")
    );
    assert_eq!(counts(&store)["source_file"], 1);

    let outcome = store.import_orders(&orders_meta("orders-2.csv"), &replacement).unwrap();
    assert_eq!(outcome.orders_replaced, 1);
    let rows = store.order_rows(&id(A)).unwrap();
    assert_eq!((rows[0].store.as_str(), rows[0].sku.as_str(), rows[0].amount_minor), ("new-store", "SKU-NEW", 1));
}

// ---------------------------------------------------------------------------------------
// What reconciliation reads, and what it writes.

#[test]
fn reconcile_input_sums_items_and_normalises_marketplaces() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let orders = order_file(&[
        Item { marketplace: "Amazon.COM", refunded_minor: Some(500), ..item(A, 6_000, "SKU-A1") },
        Item {
            marketplace: "Amazon.COM",
            ship: Some((2026, 10, 5)),
            refunded_minor: Some(250),
            ..item(A, 4_000, "SKU-A2")
        },
        // Only one item of C says what was refunded.
        item(C, 1_000, "SKU-C1"),
        Item { refunded_minor: Some(300), ..item(C, 200, "SKU-C2") },
        Item {
            store: "acme-uk",
            marketplace: " Amazon.co.uk ",
            currency: Currency::GBP,
            status: OrderStatus::Pending,
            ship: None,
            ..item(B, 2_550, "SKU-B")
        },
    ]);
    store.import_orders(&orders_meta("orders.csv"), &orders).unwrap();
    let settlements = settlement_file(
        &[(10, Currency::USD), (11, Currency::GBP)],
        &[
            sale(10, A, 10_000, "SKU-A1"),
            storage_fee(10, -640),
            Line { marketplace: "amazon.co.uk", ..sale(11, C, 1_200, "SKU-C") },
        ],
    );
    // Both settlements imported for one store: lines carry the settlement's store.
    store.import_settlements(&settlement_meta("s.txt"), &settlements, "acme-settled").unwrap();

    let input = store.load_reconcile_input().unwrap();
    let text = |sym| input.strings.resolve(sym);
    assert_eq!(input.orders.len(), 3);
    let a = input.orders.iter().find(|o| o.order_id == id(A)).unwrap();
    assert_eq!(a.amount_minor, 10_000);
    assert_eq!(a.refunded_minor, Some(750));
    assert_eq!(a.ship_date, Some(date((2026, 10, 5))), "the latest item's ship date");
    assert_eq!((text(a.store), text(a.marketplace)), ("acme-us", "amazon.com"));
    assert_eq!((a.status, a.currency, a.purchase_date), (OrderStatus::Shipped, Currency::USD, date((2026, 10, 2))));
    let b = input.orders.iter().find(|o| o.order_id == id(B)).unwrap();
    assert_eq!((b.amount_minor, b.refunded_minor, b.ship_date), (2_550, None, None));
    assert_eq!((text(b.store), text(b.marketplace), b.currency), ("acme-uk", "amazon.co.uk", Currency::GBP));
    let c = input.orders.iter().find(|o| o.order_id == id(C)).unwrap();
    assert_eq!((c.amount_minor, c.refunded_minor), (1_200, Some(300)));

    // Only lines with an order id; each with its settlement's store and currency.
    assert_eq!(input.line_count(), 2);
    let line_a = input.all_lines().find(|l| l.order_id == id(A)).unwrap();
    assert_eq!((text(line_a.store), text(line_a.marketplace)), ("acme-settled", "amazon.com"));
    assert_eq!(
        (line_a.currency, line_a.amount_minor, line_a.settlement_id, line_a.line),
        (Currency::USD, 10_000, 10, 3)
    );
    assert_eq!(line_a.posted_date, date((2026, 10, 4)));
    let line_c = input.all_lines().find(|l| l.order_id == id(C)).unwrap();
    assert_eq!((text(line_c.store), text(line_c.marketplace)), ("acme-settled", "amazon.co.uk"));
    assert_eq!(line_c.currency, Currency::GBP);
    // One marketplace, however each file wrote it, is one symbol.
    let uk_order = input.orders.iter().find(|o| o.order_id == id(B)).unwrap().marketplace;
    assert_eq!(uk_order, line_c.marketplace);
}

#[test]
fn saving_a_reconciliation_replaces_the_previous_one() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    store
        .import_orders(
            &orders_meta("orders.csv"),
            &order_file(&[
                item(A, 10_000, "SKU-A"),
                item(B, 2_550, "SKU-B"),
                Item { status: OrderStatus::Unshipped, ship: None, ..item(C, 100, "SKU-C") },
            ]),
        )
        .unwrap();
    // B's principal appears twice: the second is a duplicate line.
    let file = settlement_file(
        &[(10, Currency::USD)],
        &[sale(10, A, 10_000, "SKU-A"), sale(10, B, 2_550, "SKU-B"), sale(10, B, 2_550, "SKU-B"), storage_fee(10, -1)],
    );
    store.import_settlements(&settlement_meta("s.txt"), &file, "acme-us").unwrap();

    let october_31 = date((2026, 10, 31));
    let config = |as_of| ReconcileConfig { fee_schedules: Vec::new(), amount_tolerance_minor: 0, as_of };
    let mut input = store.load_reconcile_input().unwrap();
    let first = reconcile(&mut input, &config(october_31));
    assert_eq!(first.duplicates.len(), 1);
    let first_run =
        store.save_reconciliation("2026-11-01T10:00:00Z", "# first", october_31, &first, &input.strings, &[]).unwrap();
    let results = store.order_results(None).unwrap();
    assert_eq!(results.len(), 3);
    let category = |order: &str| store.order_results(Some(&id(order))).unwrap()[0].category;
    assert_eq!(category(A), Category::Matched);
    assert_eq!(category(B), Category::DuplicateSettlementLine);
    assert_eq!(category(C), Category::NotDue);
    let b_lines = store.order_lines(&id(B)).unwrap();
    assert_eq!((b_lines[0].duplicate_of, b_lines[1].duplicate_of), (None, Some(b_lines[0].id)));
    assert_eq!(store.latest_run().unwrap().unwrap().id, first_run);

    // A second run: everything is stored again, once.
    let november_15 = date((2026, 11, 15));
    let mut input = store.load_reconcile_input().unwrap();
    let second = reconcile(&mut input, &config(november_15));
    let second_run = store
        .save_reconciliation("2026-11-16T08:00:00Z", "# second", november_15, &second, &input.strings, &[])
        .unwrap();
    assert_ne!(second_run, first_run);
    let run = store.latest_run().unwrap().unwrap();
    assert_eq!(run.id, second_run);
    assert_eq!((run.created_at.as_str(), run.as_of), ("2026-11-16T08:00:00Z", november_15));
    assert_eq!((run.order_count, run.difference_count), (3, 1));
    let stored = counts(&store);
    assert_eq!((stored["order_result"], stored["duplicate_line"]), (3, 1));
    let results = store.order_results(None).unwrap();
    assert_eq!(results.iter().map(|r| &r.order_id).collect::<Vec<_>>(), [&id(A), &id(B), &id(C)]);
    let a = &results[0];
    assert_eq!((a.store.as_str(), a.marketplace.as_str(), a.currency), ("acme-us", "amazon.com", Currency::USD));
    assert_eq!((a.order_amount_minor, a.settled_amount_minor, a.line_count), (Some(10_000), 10_000, 1));
    assert_eq!(
        (a.status, a.ship_date, a.period_date),
        (Some(OrderStatus::Shipped), Some(date((2026, 10, 3))), date((2026, 10, 2)))
    );
    assert_eq!((results[1].line_count, results[1].duplicate_line_count), (2, 1));

    // A third result without the duplicate leaves no trace of the earlier ones.
    let mut third = second.clone();
    third.duplicates.clear();
    third.orders.retain(|o| o.order_id != id(C));
    let third_run =
        store.save_reconciliation("2026-11-17T08:00:00Z", "# third", november_15, &third, &input.strings, &[]).unwrap();
    assert_eq!(store.latest_run().unwrap().unwrap().id, third_run);
    assert_eq!(store.order_results(None).unwrap().len(), 2);
    assert!(store.order_results(Some(&id(C))).unwrap().is_empty());
    assert!(store.order_lines(&id(B)).unwrap().iter().all(|l| l.duplicate_of.is_none()));
    assert_eq!(counts(&store)["duplicate_line"], 0);
}

/// A month large enough that loading it might be split (threads, a second connection to
/// the file): a database file loads exactly what an in-memory database loads.
#[test]
fn a_large_month_loads_the_same_from_a_file_as_from_memory() {
    const ORDERS: u64 = 60_000;
    let mut settlements = SettlementFile { strings: Interner::new(), ..SettlementFile::default() };
    let mut orders = OrderFile { strings: Interner::new(), ..OrderFile::default() };
    let kinds = [("Order", "ItemPrice", "Principal", 2_000), ("Order", "ItemFees", "Commission", -300)];
    let mut lines_sum_minor = 0;
    for index in 0..ORDERS {
        let order_id = OrderId::parse(&format!("111-{:07}-{:07}", index / 7, index)).unwrap();
        let sku = format!("SKU-{}", index % 97);
        let marketplace = ["Amazon.com", "amazon.com", "Amazon.ca"][(index % 3) as usize];
        for (transaction_type, amount_type, description, amount_minor) in kinds {
            let strings = &mut settlements.strings;
            let (transaction, component, kind) = classify_line(transaction_type, amount_type, description);
            let line = settlements.lines.len() as u32 + 3;
            settlements.lines.push(SettlementLine {
                settlement_id: 30,
                line,
                transaction_type: strings.intern(transaction_type),
                order_id: Some(order_id.clone()),
                merchant_order_id: Sym::EMPTY,
                adjustment_id: Sym::EMPTY,
                shipment_id: Sym::EMPTY,
                marketplace: strings.intern(marketplace),
                amount_type: strings.intern(amount_type),
                amount_description: strings.intern(description),
                amount_minor,
                currency: Currency::USD,
                fulfillment: Sym::EMPTY,
                posted_utc_seconds: START + (index % 14) as i64 * DAY,
                order_item_code: Sym::EMPTY,
                sku: strings.intern(&sku),
                quantity: 1,
                promotion_id: Sym::EMPTY,
                transaction,
                component,
                kind,
            });
            lines_sum_minor += amount_minor;
        }
        if index % 10 != 0 {
            let strings = &mut orders.strings;
            orders.items.push(OrderItem {
                line: orders.items.len() as u32 + 2,
                order_id,
                store: strings.intern("acme-us"),
                marketplace: strings.intern(marketplace),
                status: OrderStatus::Shipped,
                purchase_date: date((2026, 10, 1 + (index % 14) as u32)),
                ship_date: Some(date((2026, 10, 2 + (index % 14) as u32))),
                currency: Currency::USD,
                amount_minor: 2_000,
                refunded_minor: (index % 5 == 0).then_some(100),
                quantity: 1,
                sku: strings.intern(&sku),
            });
        }
    }
    settlements.settlements.push(SettlementHeader {
        settlement_id: 30,
        line: 2,
        start_utc_seconds: START,
        end_utc_seconds: START + 14 * DAY - 1,
        deposit_utc_seconds: None,
        total_minor: lines_sum_minor,
        currency: Currency::USD,
        lines_sum_minor,
        line_count: settlements.lines.len() as u32,
    });

    let temp = tempfile::tempdir().unwrap();
    let mut on_disk = open(&temp.path().join("large.db"));
    let mut in_memory = SqliteStore::open_in_memory().unwrap();
    for store in [&mut on_disk, &mut in_memory] {
        store.import_orders(&orders_meta("orders.csv"), &orders).unwrap();
        store.import_settlements(&settlement_meta("large.txt"), &settlements, "acme-us").unwrap();
    }
    assert!(on_disk.verify_settlement_sums().unwrap().is_empty());

    // Compared with every symbol resolved: each load has its own interner.
    let resolved = |store: &SqliteStore| {
        let input = store.load_reconcile_input().unwrap();
        let text = |sym| input.strings.resolve(sym).to_owned();
        let mut orders: Vec<_> = input
            .orders
            .iter()
            .map(|o| {
                let key = (o.order_id.clone(), text(o.store), text(o.marketplace), o.status, o.purchase_date);
                (key, o.ship_date, o.currency, o.amount_minor, o.refunded_minor)
            })
            .collect();
        orders.sort();
        let mut lines: Vec<_> = input
            .all_lines()
            .map(|l| {
                let key = (l.line_id, l.settlement_id, l.line, l.order_id.clone(), text(l.store), text(l.marketplace));
                (
                    key,
                    l.currency,
                    l.transaction,
                    l.component,
                    l.amount_minor,
                    l.quantity,
                    l.item,
                    l.fingerprint,
                    l.posted_date,
                )
            })
            .collect();
        lines.sort();
        (orders, lines)
    };
    let (disk_orders, disk_lines) = resolved(&on_disk);
    let (memory_orders, memory_lines) = resolved(&in_memory);
    assert_eq!(disk_lines.len(), 2 * ORDERS as usize);
    assert_eq!(disk_orders.len(), orders.items.len());
    assert!(disk_orders == memory_orders, "orders differ between the file and memory");
    assert!(disk_lines == memory_lines, "lines differ between the file and memory");
    assert!(disk_lines.windows(2).all(|w| w[0].0 .0 < w[1].0 .0), "every line once");
    assert!(disk_lines.iter().all(|l| l.0 .4 == "acme-us" && (l.0 .5 == "amazon.com" || l.0 .5 == "amazon.ca")));
}
