//! Counterparties beside the marketplaces: a distributor the seller invoices (receivable)
//! and a supplier it buys from (payable), with their documents over the month before the
//! demo month and the demo month itself, and the distributor's own statement of the demo
//! month — which differs from ours on purpose: a few cents on one invoice (small enough to
//! write off automatically), an invoice it booked short, and a credit note it has not
//! booked yet.
//!
//! Written to `counterparties/documents.csv` and `counterparties/distributor-statement.csv`
//! in the documents format (`tieout-formats` `ledger`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use crate::rng::{hash2, SplitMix64};
use crate::DemoError;

pub const DISTRIBUTOR: &str = "D-001";
pub const SUPPLIER: &str = "S-01";

/// Where the counterparty files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterpartyFiles {
    pub documents: PathBuf,
    /// The distributor's own statement of the demo month.
    pub distributor_statement: PathBuf,
    /// The first day of the month before the demo month, and of the demo month.
    pub previous_month: NaiveDate,
    pub month: NaiveDate,
}

fn cents(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

pub(crate) fn write(seed: u64, month: NaiveDate, out_dir: &Path) -> Result<CounterpartyFiles, DemoError> {
    let previous = month.checked_sub_months(chrono::Months::new(1)).expect("in range");
    let last_day = month.checked_add_months(chrono::Months::new(1)).expect("in range").pred_opt().expect("in range");
    let mut rng = SplitMix64::new(hash2(seed, 0x434f_554e_5445_5250));
    let day =
        |first: NaiveDate, d: u32| NaiveDate::from_ymd_opt(first.year(), first.month(), d).expect("a day of the month");
    let mut documents = String::from("counterparty,name,type,number,date,amount,currency,description\n");
    let mut theirs = String::from("counterparty,name,type,number,date,amount,currency,description\n");
    let add = |text: &mut String,
               counterparty: &str,
               name: &str,
               kind: &str,
               number: &str,
               date: NaiveDate,
               minor: i64,
               currency: &str,
               what: &str| {
        let _ = writeln!(text, "{counterparty},{name},{kind},{number},{date},{},{currency},{what}", cents(minor));
    };
    let distributor = "Nordic Gadgets Distribution AB";
    let supplier = "深圳市恒达电子有限公司";
    // The previous month: two invoices, paid in full early in the demo month.
    let mut previous_total = 0;
    for (index, d) in [(1, 6u32), (2, 19)] {
        let minor = 150_000 + rng.below(200_000) as i64;
        previous_total += minor;
        add(
            &mut documents,
            DISTRIBUTOR,
            distributor,
            "invoice",
            &format!("INV-{}{:02}-{index:02}", previous.year(), previous.month()),
            day(previous, d),
            minor,
            "USD",
            "chargers and cables",
        );
    }
    add(
        &mut documents,
        DISTRIBUTOR,
        distributor,
        "receipt",
        &format!("RC-{}{:02}-01", month.year(), month.month()),
        day(month, 4),
        previous_total,
        "USD",
        "wire transfer",
    );
    // The demo month: four invoices and a credit note.
    let mut month_total = 0;
    for (index, d) in [(1, 3u32), (2, 10), (3, 17), (4, 24)] {
        let minor = 100_000 + rng.below(300_000) as i64;
        month_total += minor;
        let number = format!("INV-{}{:02}-{index:02}", month.year(), month.month());
        add(
            &mut documents,
            DISTRIBUTOR,
            distributor,
            "invoice",
            &number,
            day(month, d),
            minor,
            "USD",
            "chargers and cables",
        );
        // Their statement: the same invoices, one off by a few cents, one booked short.
        let theirs_minor = match index {
            2 => minor - 37,
            3 => minor - 2_500,
            _ => minor,
        };
        add(&mut theirs, DISTRIBUTOR, "", "invoice", &number, day(month, d), theirs_minor, "USD", "");
    }
    let credit = 4_000 + rng.below(6_000) as i64;
    month_total -= credit;
    add(
        &mut documents,
        DISTRIBUTOR,
        distributor,
        "refund",
        &format!("CN-{}{:02}-01", month.year(), month.month()),
        day(month, 26),
        credit,
        "USD",
        "damaged units",
    );
    // Part of the month paid at its end: the statement is partially paid once reviewed.
    add(
        &mut documents,
        DISTRIBUTOR,
        distributor,
        "receipt",
        &format!("RC-{}{:02}-02", month.year(), month.month()),
        last_day,
        month_total / 2,
        "USD",
        "wire transfer",
    );
    // The supplier: two purchases and a return, in yuan.
    for (index, d) in [(1, 5u32), (2, 20)] {
        let minor = 2_000_000 + rng.below(3_000_000) as i64;
        add(
            &mut documents,
            SUPPLIER,
            supplier,
            "purchase",
            &format!("PO-{}{:02}-{index:02}", month.year(), month.month()),
            day(month, d),
            minor,
            "CNY",
            "采购 充电器",
        );
    }
    add(
        &mut documents,
        SUPPLIER,
        supplier,
        "purchase_return",
        &format!("RT-{}{:02}-01", month.year(), month.month()),
        day(month, 22),
        120_000,
        "CNY",
        "退货 不良品",
    );
    let dir = out_dir.join("counterparties");
    std::fs::create_dir_all(&dir).map_err(|source| DemoError::io(&dir, source))?;
    let files = CounterpartyFiles {
        documents: dir.join("documents.csv"),
        distributor_statement: dir.join("distributor-statement.csv"),
        previous_month: previous,
        month,
    };
    std::fs::write(&files.documents, documents).map_err(|source| DemoError::io(&files.documents, source))?;
    std::fs::write(&files.distributor_statement, theirs)
        .map_err(|source| DemoError::io(&files.distributor_statement, source))?;
    Ok(files)
}
