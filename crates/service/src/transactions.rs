//! An Amazon Date Range transaction report, turned into what the store keeps: its released
//! lines as settlements (one per settlement id), its deferred lines apart.
//!
//! # The rule
//! * A `Transfer` row that is not a reserve movement is the settlement's payout: its
//!   (negative) amount is the settlement's total, paid out at its date (the deposit date).
//!   It is not a line of the settlement (the settlement file has no such line either).
//! * A settlement without a payout row in the report is **open**: posted and not paid out
//!   yet; its total is the sum of its lines so far.
//! * A settlement's start and end are its earliest and latest line's posted time (the
//!   report has no period columns).
//! * Deferred rows (Amazon holds the money; not released into a settlement) are kept
//!   apart, with their release date: not settled, not in the roll-forward, reported beside
//!   it. A report replaces the store's deferred lines posted within its rows' dates.
//! * What the store then does with them (skip a settlement a settlement file already
//!   gave, merge overlapping reports, let a settlement file replace a report's
//!   settlement) is `tieout-store`'s `import_transaction_report`.

use std::collections::BTreeMap;

use tieout_core::records::{LineKind, SettlementFile, SettlementHeader, TransactionClass};
use tieout_formats::amazon_transactions::TransactionReport;
use tieout_store::DeferredLine;

/// A report as settlements, open settlements and deferred lines.
pub struct ReportParts {
    pub file: SettlementFile,
    pub open: Vec<u64>,
    pub deferred: Vec<DeferredLine>,
    /// Earliest and latest posted time of its rows.
    pub posted_range: (i64, i64),
}

pub fn report_parts(report: TransactionReport) -> ReportParts {
    struct Acc {
        header: SettlementHeader,
        payout: Option<i64>,
    }
    let posted_range = report.rows.iter().fold((i64::MAX, i64::MIN), |(low, high), row| {
        (low.min(row.posted_utc_seconds), high.max(row.posted_utc_seconds))
    });
    let mut settlements: BTreeMap<u64, Acc> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut deferred = Vec::new();
    for transaction_line in report.lines {
        let line = transaction_line.line;
        if !transaction_line.released {
            deferred.push(DeferredLine {
                line: line.line,
                settlement_id: (line.settlement_id != 0).then_some(line.settlement_id),
                order_id: line.order_id,
                transaction_type: line.transaction_type,
                amount_type: line.amount_type,
                description: line.amount_description,
                amount_minor: line.amount_minor,
                currency: line.currency,
                posted_utc_seconds: line.posted_utc_seconds,
                release_utc_seconds: report.rows[transaction_line.row].release_utc_seconds,
            });
            continue;
        }
        let acc = settlements.entry(line.settlement_id).or_insert_with(|| Acc {
            header: SettlementHeader {
                settlement_id: line.settlement_id,
                line: line.line,
                start_utc_seconds: line.posted_utc_seconds,
                end_utc_seconds: line.posted_utc_seconds,
                deposit_utc_seconds: None,
                total_minor: 0,
                currency: line.currency,
                lines_sum_minor: 0,
                line_count: 0,
            },
            payout: None,
        });
        if line.transaction == TransactionClass::Transfer && line.kind == LineKind::Transaction {
            *acc.payout.get_or_insert(0) += line.amount_minor;
            acc.header.deposit_utc_seconds = acc.header.deposit_utc_seconds.max(Some(line.posted_utc_seconds));
            continue;
        }
        let header = &mut acc.header;
        header.start_utc_seconds = header.start_utc_seconds.min(line.posted_utc_seconds);
        header.end_utc_seconds = header.end_utc_seconds.max(line.posted_utc_seconds);
        header.lines_sum_minor += line.amount_minor;
        header.line_count += 1;
        lines.push(line);
    }
    let mut open = Vec::new();
    let headers = settlements
        .into_values()
        .map(|mut acc| {
            match acc.payout {
                Some(payout) => acc.header.total_minor = -payout,
                None => {
                    acc.header.total_minor = acc.header.lines_sum_minor;
                    open.push(acc.header.settlement_id);
                }
            }
            acc.header
        })
        .collect();
    ReportParts {
        file: SettlementFile { strings: report.strings, settlements: headers, lines, diagnostics: report.diagnostics },
        open,
        deferred,
        posted_range,
    }
}
