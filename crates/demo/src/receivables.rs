//! Ground truth of the receivables roll-forward (`receivables-truth.csv`), from the
//! generator's own model: every line it writes (with its posted time), the account lines,
//! the omitted line and every settlement's total and deposit date. It does not use
//! tieout's classification: it sorts lines by the generator's own vocabulary.
//!
//! # The rule it follows (the one tieout documents)
//! A line counts in the calendar month (UTC) of its posted time; a settlement's transfer
//! is its total, in the month of its deposit date (or, with none, of its end). The amount a
//! settlement's file leaves out (its omitted storage fee) is `other` in its transfer month.
//! Per store, months run from its first movement through the last month any store has a
//! movement in. `closing = opening + sales + refunds + fees + other − transfers`.
//!
//! # Columns
//! `store,currency,month,opening,sales,refunds,fees,other,transfers,closing`, amounts with
//! a dot and the currency's two decimals, one row per store and month, stores in plan order.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::settlement::{Event, Line, Settlement, Sink};
use crate::text::{civil_from_days, push_amount, SECONDS_PER_DAY};
use crate::DemoError;

pub const RECEIVABLES_TRUTH_HEADER: &str = "store,currency,month,opening,sales,refunds,fees,other,transfers,closing";

const SALES: usize = 0;
const REFUNDS: usize = 1;
const FEES: usize = 2;
const OTHER: usize = 3;
const TRANSFERS: usize = 4;

/// (year, month) → sales, refunds, fees, other, transfers.
pub(crate) type Months = BTreeMap<(i64, u32), [i64; 5]>;

fn month_of(seconds: i64) -> (i64, u32) {
    let (year, month, _) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    (year, month)
}

/// Collects one store's order lines by month and group.
pub(crate) struct Movements {
    pub(crate) months: Months,
    transaction: &'static str,
    posted: i64,
}

impl Movements {
    pub(crate) fn new() -> Movements {
        Movements { months: Months::new(), transaction: "", posted: 0 }
    }

    fn add(&mut self, seconds: i64, group: usize, amount_minor: i64) {
        self.months.entry(month_of(seconds)).or_default()[group] += amount_minor;
    }

    /// The account lines (written or omitted) and the transfers of the store's settlements.
    pub(crate) fn add_settlements(&mut self, settlements: &[Settlement]) {
        for settlement in settlements {
            let transfer = settlement.deposit().unwrap_or(settlement.end);
            for line in &settlement.account_lines {
                let (at, group) = if line.omitted {
                    (transfer, OTHER) // not in the file: the settlement's difference
                } else if line.transaction == "ServiceFee" {
                    (line.posted, FEES)
                } else {
                    (line.posted, OTHER) // reserve held and released
                };
                self.add(at, group, line.amount_minor);
            }
            self.add(transfer, TRANSFERS, settlement.total_minor);
        }
    }
}

impl Sink for Movements {
    fn event(&mut self, event: &Event) {
        self.transaction = event.transaction;
        self.posted = event.posted;
    }

    fn line(&mut self, _period: usize, line: &Line) -> Result<(), DemoError> {
        let fee = line.amount_type == "ItemFees" && !line.description.starts_with("MarketplaceFacilitatorTax");
        let group = match (self.transaction, fee) {
            (_, true) => FEES,
            ("Order", false) => SALES,
            ("Refund", false) => REFUNDS,
            _ => OTHER,
        };
        self.add(self.posted, group, line.amount_minor);
        Ok(())
    }
}

/// Sends every event and line to two sinks.
pub(crate) struct Tee<'a, A, B>(pub(crate) &'a mut A, pub(crate) &'a mut B);

impl<A: Sink, B: Sink> Sink for Tee<'_, A, B> {
    fn event(&mut self, event: &Event) {
        self.0.event(event);
        self.1.event(event);
    }

    fn line(&mut self, period: usize, line: &Line) -> Result<(), DemoError> {
        self.0.line(period, line)?;
        self.1.line(period, line)
    }
}

/// Writes the truth file: per store (name, currency, movements), months from its first
/// through the last month of any store.
pub(crate) fn write_truth(path: &Path, stores: &[(&str, &str, Months)]) -> Result<(), DemoError> {
    let last = stores.iter().filter_map(|(_, _, months)| months.keys().next_back().copied()).max();
    let mut out = Vec::new();
    out.extend_from_slice(RECEIVABLES_TRUTH_HEADER.as_bytes());
    out.push(b'\n');
    for (store, currency, months) in stores {
        let (Some(&first), Some(last)) = (months.keys().next(), last) else { continue };
        let mut month = first;
        let mut opening = 0i64;
        loop {
            let m = months.get(&month).copied().unwrap_or_default();
            let closing = opening + m[SALES] + m[REFUNDS] + m[FEES] + m[OTHER] - m[TRANSFERS];
            out.extend_from_slice(format!("{store},{currency},{:04}-{:02}", month.0, month.1).as_bytes());
            for amount in [opening, m[SALES], m[REFUNDS], m[FEES], m[OTHER], m[TRANSFERS], closing] {
                out.push(b',');
                push_amount(&mut out, amount, b'.');
            }
            out.push(b'\n');
            opening = closing;
            if month == last {
                break;
            }
            month = if month.1 == 12 { (month.0 + 1, 1) } else { (month.0, month.1 + 1) };
        }
    }
    fs::write(path, out).map_err(|source| DemoError::io(path, source))
}

/// One row of `receivables-truth.csv`, amounts in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivablesTruth {
    pub store: String,
    pub currency: String,
    /// `YYYY-MM`.
    pub month: String,
    /// opening, sales, refunds, fees, other, transfers, closing.
    pub amounts_minor: [i64; 7],
}

pub fn read_receivables_truth(path: &Path) -> Result<Vec<ReceivablesTruth>, DemoError> {
    let text = fs::read_to_string(path).map_err(|source| DemoError::io(path, source))?;
    let bad = |line: usize, message: String| DemoError::Truth { path: path.to_owned(), line, message };
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != 10 {
            return Err(bad(index + 1, format!("{} cells, not 10", cells.len())));
        }
        let mut amounts_minor = [0i64; 7];
        for (slot, cell) in amounts_minor.iter_mut().zip(&cells[3..]) {
            *slot = tieout_core::money::parse_amount_minor(cell, tieout_core::NumberStyle::Dot, 2)
                .map_err(|e| bad(index + 1, format!("'{cell}': {e}")))?;
        }
        rows.push(ReceivablesTruth {
            store: cells[0].to_owned(),
            currency: cells[1].to_owned(),
            month: cells[2].to_owned(),
            amounts_minor,
        });
    }
    Ok(rows)
}
