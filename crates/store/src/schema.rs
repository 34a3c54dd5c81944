//! Versioned migrations. Each migration runs once, in order, inside a transaction, and
//! records its version; a database from a newer tieout is refused rather than misread.

use rusqlite::Connection;

use crate::StoreError;

pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_statements.sql")),
    (3, include_str!("migrations/0003_receipt_results.sql")),
    (4, include_str!("migrations/0004_reference_rates.sql")),
    (5, include_str!("migrations/0005_withdrawals.sql")),
    (6, include_str!("migrations/0006_transaction_reports.sql")),
    (7, include_str!("migrations/0007_difference_actions.sql")),
    (8, include_str!("migrations/0008_counterparty_statements.sql")),
    (9, include_str!("migrations/0009_difference_resolutions.sql")),
    (10, include_str!("migrations/0010_receipt_actions.sql")),
    (11, include_str!("migrations/0011_line_blocks.sql")),
    (12, include_str!("migrations/0012_result_blocks.sql")),
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    // Up to date (the usual case when a server opens a tenant's file per request): only read.
    let exists: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migration')",
        [],
        |row| row.get(0),
    )?;
    if exists {
        let current: i64 =
            connection.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
    }
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )?;
    let current: i64 =
        connection.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migration", [], |row| row.get(0))?;
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > supported {
        return Err(StoreError::SchemaTooNew { found: current, supported });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        // Version 11 moves existing settlement lines into blocks: code, not SQL.
        if *version == 11 {
            crate::blocks::move_rows_into_blocks(&transaction)?;
        }
        // Version 12 moves the order results into blocks.
        if *version == 12 {
            crate::result_blocks::move_rows_into_blocks(&transaction)?;
        }
        transaction.execute("INSERT INTO schema_migration (version) VALUES (?1)", [version])?;
        transaction.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::blocks::{decode, line_id};

    /// A database of schema version 11 (order results as rows, stored in any order) moves
    /// its results into blocks in order-id order, numbered from 1, every field kept.
    #[test]
    fn version_12_moves_order_results_into_blocks() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
            .unwrap();
        for (version, sql) in &MIGRATIONS[..11] {
            connection.execute_batch(sql).unwrap();
            connection.execute("INSERT INTO schema_migration (version) VALUES (?1)", [version]).unwrap();
        }
        connection
            .execute_batch(
                "INSERT INTO dictionary (id, text) VALUES (1, ''), (2, 'acme-us'), (3, 'amazon.com');
                 INSERT INTO reconcile_run (id, created_at, as_of_day, order_count, difference_count, config)
                 VALUES (4, 'now', 739900, 3, 1, '');",
            )
            .unwrap();
        // Stored out of order: a text id, then two Amazon ids descending.
        for (id, key, text, category, ship) in [
            (1, None, Some("SHOP-9"), 8, None),
            (2, Some(222_i64), None, 0, Some(739_890)),
            (3, Some(111), None, 2, None),
        ] {
            connection
                .execute(
                    "INSERT INTO order_result (id, run_id, order_key, order_text, store, marketplace, currency, category,
                        flags, status, ship_day, order_amount_minor, settled_amount_minor, refunds_settled_minor,
                        written_off_minor, fees_charged_minor, fees_expected_minor, net_settled_minor, days_since_ship,
                        line_count, duplicate_line_count, period_day)
                     VALUES (?1, 4, ?2, ?3, 2, 3, 'USD', ?4, 5, 4, ?5, 1000, 990, -5, 0, 150, NULL, 840, 7, 3, 0, 739880)",
                    params![id, key, text, category, ship],
                )
                .unwrap();
        }
        migrate(&mut connection).unwrap();
        let dropped: bool = connection
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'order_result')", [], |row| row.get(0))
            .unwrap();
        assert!(!dropped, "the rows' table is dropped");
        let blocks = crate::result_blocks::result_blocks(&connection).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].first_position, blocks[0].count), (1, 3));
        assert_eq!(blocks[0].last_order, tieout_core::ids::OrderId::parse("SHOP-9").unwrap());
        let mut seen = Vec::new();
        crate::result_blocks::with_block(&connection, blocks[0].id, 3, &mut |result| {
            seen.push((
                result.order_key,
                result.category,
                result.ship_day,
                result.order_amount_minor,
                result.fees_expected_minor,
            ));
            Ok(true)
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (Some(111), 2, None, Some(1000), None),
                (Some(222), 0, Some(739_890), Some(1000), None),
                (None, 8, None, Some(1000), None)
            ]
        );
        assert!(crate::result_blocks::result_block_findings(&connection, 4).unwrap().is_empty());
    }

    /// A database of schema version 10 (lines as rows) moves its lines into blocks, keeping
    /// every field, each file's order, and the latest run's duplicate lines.
    #[test]
    #[allow(clippy::type_complexity)]
    fn version_11_moves_settlement_lines_into_blocks() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
            .unwrap();
        for (version, sql) in &MIGRATIONS[..10] {
            connection.execute_batch(sql).unwrap();
            connection.execute("INSERT INTO schema_migration (version) VALUES (?1)", [version]).unwrap();
        }
        connection
            .execute_batch(
                "INSERT INTO dictionary (id, text) VALUES (1, ''), (2, 'Order'), (3, 'amazon.de'), (4, 'amazon.com');
                 INSERT INTO source_file (id, sha256, name, format, size_bytes, imported_at, record_count)
                 VALUES (1, 'a', 'a.txt', 'amazon-settlement-v2', 1, 'now', 3), (2, 'b', 'b.txt', 'amazon-settlement-v2', 1, 'now', 2);",
            )
            .unwrap();
        // Rows of two files, of two settlements interleaved in the first; ids with gaps.
        let rows: [(i64, i64, i64, i64, Option<i64>, Option<&str>, i64, i64); 5] = [
            (10, 100, 1, 5, Some(1234), None, 3, 250),
            (11, 200, 1, 6, None, Some("S01-1"), 4, -40),
            (13, 100, 1, 7, Some(1234), None, 1, 250),
            (20, 300, 2, 5, None, None, 3, 9),
            (21, 300, 2, 6, Some(77), None, 4, 1),
        ];
        for (id, settlement, file, line, key, text, marketplace, amount) in rows {
            connection
                .execute(
                    "INSERT INTO settlement_line (id, settlement_id, file_id, line, order_key, order_text, transaction_type,
                        amount_type, description, marketplace, fulfillment, sku, shipment_id, amount_minor, posted_utc,
                        quantity, transaction_class, component, kind, item_key, fingerprint)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 2, 2, 2, ?7, 1, 1, 'SH', ?8, 1790000000, 1, 1, 1, 0, ?1 * 3, ?1)",
                    params![id, settlement, file, line, key, text, marketplace, amount],
                )
                .unwrap();
        }
        connection.execute("INSERT INTO duplicate_line (line_id, first_line_id) VALUES (13, 10)", []).unwrap();

        migrate(&mut connection).unwrap();

        let exists: bool = connection
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'settlement_line')", [], |r| r.get(0))
            .unwrap();
        assert!(!exists, "the old table is gone");
        let mut statement = connection
            .prepare("SELECT settlement_id, file_id, line_count, amount_sum_minor, marketplace, data FROM line_block ORDER BY id")
            .unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut blocks = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let data: Vec<u8> = row.get(5).unwrap();
            let lines: Vec<(i64, i64, Option<i64>, Option<String>, i64, i64, i64, Option<i64>)> =
                decode(&data, row.get(2).unwrap())
                    .unwrap()
                    .iter()
                    .map(|l| {
                        assert_eq!(l.shipment_id, Some(&b"SH"[..]));
                        (
                            l.ordinal,
                            l.line,
                            l.order_key,
                            l.order_text.map(|t| String::from_utf8(t.to_vec()).unwrap()),
                            l.marketplace,
                            l.amount_minor,
                            l.item_key,
                            l.fingerprint,
                        )
                    })
                    .collect();
            let (settlement, file, sum, marketplace): (i64, i64, i64, Option<i64>) =
                (row.get(0).unwrap(), row.get(1).unwrap(), row.get(3).unwrap(), row.get(4).unwrap());
            blocks.push((settlement, file, sum, marketplace, lines));
        }
        assert_eq!(
            blocks,
            vec![
                // Ordinals are places in the file's stored order (by old id), whatever the block;
                // the marketplace is the greatest non-empty name ('amazon.de' > 'amazon.com').
                (
                    100,
                    1,
                    500,
                    Some(3),
                    vec![
                        (0, 5, Some(1234), None, 3, 250, 30, Some(10)),
                        (2, 7, Some(1234), None, 1, 250, 39, Some(13)),
                    ]
                ),
                (200, 1, -40, Some(4), vec![(1, 6, None, Some("S01-1".to_owned()), 4, -40, 33, Some(11))]),
                (
                    300,
                    2,
                    10,
                    Some(3),
                    vec![(0, 5, None, None, 3, 9, 60, Some(20)), (1, 6, Some(77), None, 4, 1, 63, Some(21))]
                ),
            ]
        );
        let duplicate: (i64, i64) = connection
            .query_row("SELECT line_id, first_line_id FROM duplicate_line", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(duplicate, (line_id(1, 2), line_id(1, 0)));
        let version: i64 = connection.query_row("SELECT MAX(version) FROM schema_migration", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
