//! Receipts (到账): where the money of each settlement arrives, in the bank and wallet
//! statement formats tieout reads, with known outcomes and their ground truth.
//!
//! # Expected payouts
//!
//! Every settlement with a total above zero is an expected payout of that total, in the
//! settlement's currency, on the UTC date of its deposit date. A settlement with a total
//! of zero or less expects none.
//!
//! # Where the money arrives (`bank/`)
//!
//! * `acme-de` (EUR): `de-camt053.xml`, camt.053.001.02, one `Stmt` per calendar month
//!   from the first to the last booking, balances `OPBD`/`CLBD` that roll from month to
//!   month. A payout is a booked `CRDT` entry from `AMAZON PAYMENTS EUROPE S.C.A.` whose
//!   `Ustrd` names the settlement id — except every third one, where the id is left out
//!   (banks truncate remittance text). Not payouts: the monthly warehouse rent, the
//!   account fee and one supplier refund.
//! * `acme-uk` (GBP): `uk-mt940.sta`, one MT940 message per calendar month, `:86:`
//!   `AMAZON EU SARL <settlement id>`, `:62F:` rolling into the next `:60F:`; the monthly
//!   account fee is the one entry that is not a payout.
//! * `acme-us` (USD): `us-payoneer.csv` in the columns of tieout's built-in `payoneer`
//!   profile (USD payouts arriving in USD, and each withdrawn 1–2 days later with
//!   `Withdrawal to bank account HSBC ****6838`, a negative amount), and `us-lianlian-cny.csv` with one payout received in CNY: the built-in
//!   profile has no original-amount columns, so the file comes with its own profile,
//!   `lianlian-profile.toml`, whose `Original Amount` / `Original Currency` carry the
//!   USD amount. The CNY amount is the USD amount × 7.1234, rounded half away from zero
//!   to the fen.
//! * The withdrawals arrive in `us-hsbc-usd-mt940.sta`, the MT940 of a Hong Kong USD
//!   account (`:86:PAYONEER INC /CUSTOMER WITHDRAWAL`), 0–2 days after the withdrawal,
//!   with a monthly account fee at each month end up to the month 8 days past the first
//!   withdrawal (so the statement shows what did not arrive). Outcomes, in date order: the
//!   first withdrawal is `missing`, the second `received_short` (15.00–25.00 of bank
//!   charges deducted), the others `received`.
//! * `alipay-cny.csv`: the merchant 账务明细 (GBK) of a CNY Alipay account, with two or
//!   three 转账 incomes from LianLian. No payout expects CNY there: they are unexpected
//!   receipts.
//!
//! # Outcomes (a fixed rule, so every outcome appears in every month with ≥ 4 payouts)
//!
//! * The US store's first payout (lowest settlement id) is `received_converted`.
//! * The other payouts are taken round-robin over the stores — DE's first, UK's first,
//!   US's next, DE's second, … (each store's in settlement-id order) — and the first
//!   three of that order are `missing`, `received_short` (1.00–50.00 less, at most 4 % of it: a bank fee or
//!   a withholding, booked 0–2 days after the deposit date) and `received_late` (exactly
//!   the amount, 6–15 days after); so the camt.053, the MT940 and the Payoneer file each
//!   hold one of them. Every other payout is `received`: exactly the amount, 0–2 days
//!   after the deposit date.
//! * `unexpected_receipt`: one Amazon credit in the camt.053 with a settlement id no
//!   settlement has and an amount no payout has, and the Alipay incomes.
//!
//! # Ground truth (`receipts-truth.csv`)
//!
//! `kind,id,store,currency,expected_amount,deposit_date,status,receipt_file,receipt_line`:
//! one `payout` row per expected payout (id = settlement id, in id order), then one
//! `withdrawal` row per withdrawal (id = its Payoneer `Transaction ID`, `expected_amount`
//! and `deposit_date` the amount and date withdrawn, `receipt_file`/`receipt_line` the
//! bank credit; both empty when missing), then one
//! `receipt` row per unexpected receipt (id = the receipt's own reference: camt
//! `AcctSvcrRef`, MT940 bank reference, `Transaction ID`, 账务流水号; `expected_amount`
//! is the amount received, `deposit_date` its booking date; `store` is empty for the
//! Alipay account, which no store pays into). `receipt_file` is the path from the demo
//! directory (`bank/de-camt053.xml`), `receipt_line` the 1-based line of the credit (the
//! camt `<Ntry>` start tag, the MT940 `:61:` line, the CSV row); both empty for a
//! missing payout. Statement entries in no row (rent, fees, the supplier refund) are
//! not payouts and must not be matched to one.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tieout_core::money::{div_round_half_away, parse_amount_minor, Currency, NumberStyle};

use crate::model::{Plan, StoreSpec};
use crate::rng::{hash2, SplitMix64};
use crate::settlement::Settlement;
use crate::text::{civil_from_days, push_amount, SECONDS_PER_DAY};
use crate::DemoError;

/// The ground truth file's header.
pub const RECEIPTS_TRUTH_HEADER: &str =
    "kind,id,store,currency,expected_amount,deposit_date,status,receipt_file,receipt_line";

/// One statement file of received money, and how to import it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptFile {
    pub path: PathBuf,
    /// `camt053`, `mt940`, `payoneer-profile`, `lianlian-profile` or `alipay`.
    pub format: String,
    /// The statement profile to import the file with (`tieout import --profile`): a
    /// built-in profile's name (`payoneer`) or a profile file's path; none for formats
    /// tieout detects by themselves.
    pub profile: Option<String>,
    /// The store whose payouts arrive in this account; none for the Alipay account.
    pub store: Option<String>,
}

/// What a truth row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptTruthKind {
    /// An expected payout (id = settlement id).
    Payout,
    /// A receipt that matches no expected payout (id = the receipt's own reference).
    Receipt,
    /// A withdrawal from Payoneer to the bank (id = its Payoneer `Transaction ID`).
    Withdrawal,
}

impl ReceiptTruthKind {
    pub fn name(self) -> &'static str {
        match self {
            ReceiptTruthKind::Payout => "payout",
            ReceiptTruthKind::Receipt => "receipt",
            ReceiptTruthKind::Withdrawal => "withdrawal",
        }
    }

    pub fn from_name(name: &str) -> Option<ReceiptTruthKind> {
        [ReceiptTruthKind::Payout, ReceiptTruthKind::Receipt, ReceiptTruthKind::Withdrawal]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// How an expected payout arrived (or that a receipt matches none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReceiptStatus {
    /// Exactly the amount, same currency, 0–2 days after the deposit date.
    Received,
    /// Same currency, 1.00–50.00 less, 0–2 days after the deposit date.
    ReceivedShort,
    /// Exactly the amount, 6–15 days after the deposit date.
    ReceivedLate,
    /// No credit at all.
    Missing,
    /// In another currency, the original amount stated.
    ReceivedConverted,
    /// A receipt row: a credit that matches no expected payout.
    UnexpectedReceipt,
}

impl ReceiptStatus {
    pub const ALL: [ReceiptStatus; 6] = [
        ReceiptStatus::Received,
        ReceiptStatus::ReceivedShort,
        ReceiptStatus::ReceivedLate,
        ReceiptStatus::Missing,
        ReceiptStatus::ReceivedConverted,
        ReceiptStatus::UnexpectedReceipt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReceiptStatus::Received => "received",
            ReceiptStatus::ReceivedShort => "received_short",
            ReceiptStatus::ReceivedLate => "received_late",
            ReceiptStatus::Missing => "missing",
            ReceiptStatus::ReceivedConverted => "received_converted",
            ReceiptStatus::UnexpectedReceipt => "unexpected_receipt",
        }
    }

    pub fn from_name(name: &str) -> Option<ReceiptStatus> {
        ReceiptStatus::ALL.into_iter().find(|status| status.name() == name)
    }
}

/// One row of `receipts-truth.csv` (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptTruth {
    pub kind: ReceiptTruthKind,
    pub id: String,
    /// Empty for a receipt in an account no store pays into (Alipay).
    pub store: String,
    pub currency: String,
    /// The payout's amount; for a receipt row, the amount received.
    pub expected_amount_minor: i64,
    /// The payout's deposit date; for a receipt row, its booking date.
    pub deposit_date: NaiveDate,
    pub status: ReceiptStatus,
    /// Path from the demo directory, `/`-separated; empty for a missing payout.
    pub receipt_file: String,
    /// 1-based line of the credit; none for a missing payout.
    pub receipt_line: Option<u32>,
}

/// The files written, and the truth file.
pub(crate) struct Written {
    pub(crate) files: Vec<ReceiptFile>,
    pub(crate) truth_file: PathBuf,
}

const BANK_DIRECTORY: &str = "bank";
const CAMT_FILE: &str = "de-camt053.xml";
const MT940_FILE: &str = "uk-mt940.sta";
const PAYONEER_FILE: &str = "us-payoneer.csv";
const LIANLIAN_FILE: &str = "us-lianlian-cny.csv";
const LIANLIAN_PROFILE_FILE: &str = "lianlian-profile.toml";
const ALIPAY_FILE: &str = "alipay-cny.csv";
const HSBC_FILE: &str = "us-hsbc-usd-mt940.sta";
const HSBC_ACCOUNT: &str = "HK-004-848-123456-838";
const HSBC_MASKED: &str = "HSBC ****6838";
const HSBC_PAYONEER: &str = "PAYONEER INC /CUSTOMER WITHDRAWAL";
const HSBC_FEE_MINOR: i64 = 5_000;
const PAYONEER_WITHDRAWAL: &str = "Withdrawal to bank account";
/// Charges an intermediary bank deducts from a withdrawal's wire: 15.00–25.00.
const CHARGES_MINOR_MIN: i64 = 1_500;
const CHARGES_MINOR_MAX: i64 = 2_500;
/// The bank statement runs at least this long past the first (missing) withdrawal (longer
/// than the built-in rules' missing_after_days).
const WITHDRAWAL_SEEN_DAYS: i64 = 8;
const TRUTH_FILE: &str = "receipts-truth.csv";

/// CNY per USD in ten-thousandths: 7.1234.
const CNY_PER_USD_TEN_THOUSANDTHS: i64 = 71_234;
const RECEIVED_DAYS_MAX: i64 = 2;
const LATE_DAYS_MIN: i64 = 6;
const LATE_DAYS_MAX: i64 = 15;
const SHORT_MINOR_MIN: i64 = 100;
const SHORT_MINOR_MAX: i64 = 5_000;
/// A short payout lacks at most 1/25 (4 %) of its amount.
const SHORT_SHARE_DIVISOR: i64 = 25;
/// Of the DE Amazon credits, every this-many-th leaves the settlement id out.
const CAMT_TRUNCATED_EVERY: usize = 3;

const CAMT_AMAZON: &str = "AMAZON PAYMENTS EUROPE S.C.A.";
const MT940_AMAZON: &str = "AMAZON EU SARL";
const PAYONEER_AMAZON: &str = "Payment from AMAZON.COM SERVICES LLC settlement";
const CAMT_IBAN: &str = "DE89370400440532013000";
const MT940_ACCOUNT: &str = "GB29NWBK60161331926819";
const ALIPAY_COUNTERPARTY: &str = "lianlianpay@lianlianpay.com";

/// Where a store's payouts arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    Camt,
    Mt940,
    Payoneer,
}

fn channel(spec: &StoreSpec) -> Channel {
    match spec.name {
        "acme-de" => Channel::Camt,
        "acme-uk" => Channel::Mt940,
        "acme-us" => Channel::Payoneer,
        other => panic!("no receiving account for store {other}"),
    }
}

struct Payout {
    spec: &'static StoreSpec,
    settlement_id: u64,
    amount_minor: i64,
    deposit_day: i64,
    status: ReceiptStatus,
    /// Index of its truth row.
    truth: usize,
}

/// One statement entry before it is written.
struct Entry {
    /// Days since 1970-01-01.
    day: i64,
    amount_minor: i64,
    /// The USD amount of a converted receipt.
    original_minor: Option<i64>,
    counterparty: &'static str,
    text: String,
    /// The truth row this entry is the receipt of.
    truth: Option<usize>,
    /// The truth row this entry is the withdrawal of (its id is this entry's reference).
    withdrawal_of: Option<usize>,
}

impl Entry {
    fn new(day: i64, amount_minor: i64, counterparty: &'static str, text: String) -> Entry {
        Entry { day, amount_minor, original_minor: None, counterparty, text, truth: None, withdrawal_of: None }
    }
}

/// Where a written entry ended up.
struct Placed {
    reference: String,
    line: u32,
}

/// Writes the receipt files and their truth into `out_dir/bank` and `out_dir`.
pub(crate) fn write(plan: &Plan, settlements: &[Vec<Settlement>], out_dir: &Path) -> Result<Written, DemoError> {
    let bank_dir = out_dir.join(BANK_DIRECTORY);
    fs::create_dir_all(&bank_dir).map_err(|source| DemoError::io(&bank_dir, source))?;
    let mut rng = SplitMix64::new(hash2(plan.seed, 0x7ece_1975));
    let month_first_day = plan.month_start.div_euclid(SECONDS_PER_DAY);
    let month_next_day = plan.next_month_start.div_euclid(SECONDS_PER_DAY);

    let mut truth = Vec::new();
    let mut payouts = expected_payouts(plan, settlements, &mut truth);
    assign_outcomes(&mut payouts);
    for payout in &payouts {
        truth[payout.truth].status = payout.status;
    }
    // Every amount a payout has or arrives as: no unrelated entry may look like one.
    let mut taken: HashSet<i64> = payouts.iter().map(|p| p.amount_minor).collect();

    let mut camt = Vec::new();
    let mut mt940 = Vec::new();
    let mut payoneer = Vec::new();
    let mut lianlian = Vec::new();
    let mut camt_amazon_count = 0;
    for payout in &payouts {
        let lag = match payout.status {
            ReceiptStatus::ReceivedLate => rng.between(LATE_DAYS_MIN, LATE_DAYS_MAX),
            _ => rng.between(0, RECEIVED_DAYS_MAX),
        };
        // At most 4 % of the payout (the built-in short-amount rule accepts up to 5 %), at least 0.01.
        let fee = rng.between(SHORT_MINOR_MIN, SHORT_MINOR_MAX).min(payout.amount_minor / SHORT_SHARE_DIVISOR).max(1);
        let amount_minor = match payout.status {
            ReceiptStatus::Missing => continue,
            ReceiptStatus::ReceivedShort => payout.amount_minor - fee,
            _ => payout.amount_minor,
        };
        taken.insert(amount_minor);
        let day = payout.deposit_day + lag;
        let id = payout.settlement_id;
        let (target, mut entry) = match (payout.status, channel(payout.spec)) {
            (ReceiptStatus::ReceivedConverted, _) => {
                let cny_minor =
                    div_round_half_away(amount_minor as i128 * CNY_PER_USD_TEN_THOUSANDTHS as i128, 10_000) as i64;
                taken.insert(cny_minor);
                let text = format!("Amazon.com payout settlement {id} USD to CNY");
                let mut entry = Entry::new(day, cny_minor, "AMAZON.COM SERVICES LLC", text);
                entry.original_minor = Some(amount_minor);
                (&mut lianlian, entry)
            }
            (_, Channel::Camt) => {
                camt_amazon_count += 1;
                let text = if camt_amazon_count % CAMT_TRUNCATED_EVERY == 0 {
                    CAMT_AMAZON.to_owned()
                } else {
                    format!("{CAMT_AMAZON} {id}")
                };
                (&mut camt, Entry::new(day, amount_minor, CAMT_AMAZON, text))
            }
            (_, Channel::Mt940) => {
                (&mut mt940, Entry::new(day, amount_minor, MT940_AMAZON, format!("{MT940_AMAZON} {id}")))
            }
            (_, Channel::Payoneer) => {
                let text = format!("{PAYONEER_AMAZON} {id}");
                (&mut payoneer, Entry::new(day, amount_minor, "AMAZON.COM SERVICES LLC", text))
            }
        };
        entry.truth = Some(payout.truth);
        target.push(entry);
    }

    // The camt.053's unexpected Amazon credit: an id no settlement has (real DE ids stay
    // below 36 100 000 000) and an amount no payout has.
    let unknown_id = 37_000_000_000 + rng.below(1_000_000_000);
    let unexpected_minor = draw_untaken(&mut rng, &mut taken, 50_000, 900_000);
    let day = month_first_day + rng.between(5, 25);
    let mut entry = Entry::new(day, unexpected_minor, CAMT_AMAZON, format!("{CAMT_AMAZON} {unknown_id}"));
    entry.truth = Some(receipt_truth(&mut truth, "acme-de", "EUR", unexpected_minor, day));
    camt.push(entry);
    // Not payouts: a supplier's refund, rent and fees (one each month, below).
    let refund_minor = draw_untaken(&mut rng, &mut taken, 8_500, 64_000);
    camt.push(Entry::new(
        month_first_day + rng.between(8, 20),
        refund_minor,
        "VERPACKUNG MUELLER GMBH",
        format!("GUTSCHRIFT ZU RECHNUNG RE-{}-{}", civil_from_days(month_first_day).0, rng.between(40_000, 49_999)),
    ));

    let camt_months = months_covering(&camt, month_first_day, month_next_day - 1);
    for &(first, next) in &camt_months {
        let (year, month, _) = civil_from_days(first);
        camt.push(Entry::new(
            first + 2,
            -245_000,
            "LOGISTIKPARK NORD GMBH",
            format!("MIETE LAGER HALLE 3 {month:02}/{year}"),
        ));
        camt.push(Entry::new(next - 1, -1_290, "", format!("ENTGELT KONTOFUEHRUNG {month:02}/{year}")));
    }
    let mt940_months = months_covering(&mt940, month_first_day, month_next_day - 1);
    for &(_, next) in &mt940_months {
        mt940.push(Entry::new(next - 1, -1_500, "", "ACCOUNT FEE".to_owned()));
    }

    // Withdrawals: each payout that reached Payoneer leaves for the Hong Kong USD account
    // 1–2 days later; the first never arrives, the second arrives less bank charges.
    let mut hsbc = Vec::new();
    let mut arrived: Vec<(i64, i64)> =
        payoneer.iter().filter(|e| e.truth.is_some()).map(|e| (e.day, e.amount_minor)).collect();
    arrived.sort_unstable();
    let mut first_withdrawal_day = None;
    for (index, (day, amount_minor)) in arrived.into_iter().enumerate() {
        let status = match index {
            0 => ReceiptStatus::Missing,
            1 => ReceiptStatus::ReceivedShort,
            _ => ReceiptStatus::Received,
        };
        let withdrawal_day = day + rng.between(1, 2);
        first_withdrawal_day.get_or_insert(withdrawal_day);
        let row = truth.len();
        truth.push(ReceiptTruth {
            kind: ReceiptTruthKind::Withdrawal,
            id: String::new(),
            store: "acme-us".to_owned(),
            currency: "USD".to_owned(),
            expected_amount_minor: amount_minor,
            deposit_date: date_of_day(withdrawal_day),
            status,
            receipt_file: String::new(),
            receipt_line: None,
        });
        let mut withdrawal =
            Entry::new(withdrawal_day, -amount_minor, "", format!("{PAYONEER_WITHDRAWAL} {HSBC_MASKED}"));
        withdrawal.withdrawal_of = Some(row);
        payoneer.push(withdrawal);
        let received_minor = match status {
            ReceiptStatus::Missing => continue,
            ReceiptStatus::ReceivedShort => amount_minor - rng.between(CHARGES_MINOR_MIN, CHARGES_MINOR_MAX),
            _ => amount_minor,
        };
        taken.insert(received_minor);
        let mut credit = Entry::new(
            withdrawal_day + rng.between(0, RECEIVED_DAYS_MAX),
            received_minor,
            "",
            HSBC_PAYONEER.to_owned(),
        );
        credit.truth = Some(row);
        hsbc.push(credit);
    }
    // The bank's monthly fee, in every month up to the one past the missing withdrawal's
    // due date, so the statement shows that it did not arrive.
    let seen_until =
        first_withdrawal_day.map_or(month_next_day - 1, |d| (d + WITHDRAWAL_SEEN_DAYS).max(month_next_day - 1));
    let hsbc_months = months_covering(&hsbc, month_first_day, seen_until);
    for &(_, next) in &hsbc_months {
        hsbc.push(Entry::new(next - 1, -HSBC_FEE_MINOR, "", "ACCOUNT MAINTENANCE FEE".to_owned()));
    }

    // The Alipay account: two or three transfers from LianLian in the month.
    let mut alipay = Vec::new();
    let mut days: Vec<i64> =
        (0..2 + rng.below(2)).map(|_| month_first_day + rng.between(3, month_next_day - month_first_day - 3)).collect();
    days.sort_unstable();
    for day in days {
        let amount_minor = draw_untaken(&mut rng, &mut taken, 500_000, 6_000_000);
        let mut entry = Entry::new(day, amount_minor, ALIPAY_COUNTERPARTY, String::new());
        entry.truth = Some(receipt_truth(&mut truth, "", "CNY", amount_minor, day));
        alipay.push(entry);
    }

    for entries in [&mut camt, &mut mt940, &mut payoneer, &mut lianlian, &mut alipay, &mut hsbc] {
        entries.sort_by_key(|e| e.day);
    }
    let mut files = Vec::new();
    let mut output = |name: &str, bytes: Vec<u8>, entries: &[Entry], placed: Vec<Placed>| {
        let relative = format!("{BANK_DIRECTORY}/{name}");
        for (entry, placed) in entries.iter().zip(placed) {
            if let Some(index) = entry.truth {
                let row = &mut truth[index];
                row.receipt_file = relative.clone();
                row.receipt_line = Some(placed.line);
                if row.kind == ReceiptTruthKind::Receipt {
                    row.id = placed.reference.clone();
                }
            }
            if let Some(index) = entry.withdrawal_of {
                truth[index].id = placed.reference;
            }
        }
        let path = bank_dir.join(name);
        fs::write(&path, bytes).map_err(|source| DemoError::io(&path, source))?;
        Ok::<PathBuf, DemoError>(path)
    };
    let opening = rng.between(2_500_000, 6_000_000);
    let (bytes, placed) = write_camt(&camt, &camt_months, opening, &mut rng);
    files.push(receipt_file(output(CAMT_FILE, bytes, &camt, placed)?, "camt053", None, Some("acme-de")));
    let opening = rng.between(800_000, 3_000_000);
    let (bytes, placed) = write_mt940((MT940_ACCOUNT, "GBP"), &mt940, &mt940_months, opening, &mut rng);
    files.push(receipt_file(output(MT940_FILE, bytes, &mt940, placed)?, "mt940", None, Some("acme-uk")));
    let (bytes, placed) = write_payoneer(&payoneer, &mut rng);
    let path = output(PAYONEER_FILE, bytes, &payoneer, placed)?;
    files.push(receipt_file(path, "payoneer-profile", Some("payoneer".to_owned()), Some("acme-us")));
    let opening = rng.between(50_000, 500_000);
    let (bytes, placed) = write_mt940((HSBC_ACCOUNT, "USD"), &hsbc, &hsbc_months, opening, &mut rng);
    files.push(receipt_file(output(HSBC_FILE, bytes, &hsbc, placed)?, "mt940", None, Some("acme-us")));
    let profile_path = bank_dir.join(LIANLIAN_PROFILE_FILE);
    fs::write(&profile_path, LIANLIAN_PROFILE).map_err(|source| DemoError::io(&profile_path, source))?;
    let (bytes, placed) = write_lianlian(&lianlian, &mut rng);
    let path = output(LIANLIAN_FILE, bytes, &lianlian, placed)?;
    let profile = Some(profile_path.to_string_lossy().into_owned());
    files.push(receipt_file(path, "lianlian-profile", profile, Some("acme-us")));
    let opening = rng.between(100_000, 2_000_000);
    let (bytes, placed) = write_alipay(&alipay, (month_first_day, month_next_day), opening, &mut rng);
    files.push(receipt_file(output(ALIPAY_FILE, bytes, &alipay, placed)?, "alipay", None, None));

    let truth_file = out_dir.join(TRUTH_FILE);
    let text = truth_text(&truth);
    fs::write(&truth_file, text).map_err(|source| DemoError::io(&truth_file, source))?;
    Ok(Written { files, truth_file })
}

fn receipt_file(path: PathBuf, format: &str, profile: Option<String>, store: Option<&str>) -> ReceiptFile {
    ReceiptFile { path, format: format.to_owned(), profile, store: store.map(str::to_owned) }
}

/// The payouts of every settlement with a positive total, in settlement-id order, each
/// with its truth row (status still to be decided).
fn expected_payouts(plan: &Plan, settlements: &[Vec<Settlement>], truth: &mut Vec<ReceiptTruth>) -> Vec<Payout> {
    let mut payouts = Vec::new();
    for (store, store_settlements) in plan.stores.iter().zip(settlements) {
        for settlement in store_settlements.iter().filter(|s| s.total_minor > 0) {
            let deposit = settlement.deposit().expect("a positive total has a deposit date");
            payouts.push(Payout {
                spec: store.spec,
                settlement_id: settlement.id,
                amount_minor: settlement.total_minor,
                deposit_day: deposit.div_euclid(SECONDS_PER_DAY),
                status: ReceiptStatus::Received,
                truth: 0,
            });
        }
    }
    payouts.sort_by_key(|p| p.settlement_id);
    for payout in &mut payouts {
        payout.truth = truth.len();
        truth.push(ReceiptTruth {
            kind: ReceiptTruthKind::Payout,
            id: payout.settlement_id.to_string(),
            store: payout.spec.name.to_owned(),
            currency: payout.spec.currency.to_owned(),
            expected_amount_minor: payout.amount_minor,
            deposit_date: date_of_day(payout.deposit_day),
            status: ReceiptStatus::Received,
            receipt_file: String::new(),
            receipt_line: None,
        });
    }
    payouts
}

/// The rule of the module documentation.
fn assign_outcomes(payouts: &mut [Payout]) {
    if let Some(first_us) = payouts.iter_mut().find(|p| channel(p.spec) == Channel::Payoneer) {
        first_us.status = ReceiptStatus::ReceivedConverted;
    }
    let queues: Vec<Vec<usize>> = [Channel::Camt, Channel::Mt940, Channel::Payoneer]
        .into_iter()
        .map(|c| {
            (0..payouts.len())
                .filter(|&i| channel(payouts[i].spec) == c && payouts[i].status == ReceiptStatus::Received)
                .collect()
        })
        .collect();
    let rounds = queues.iter().map(Vec::len).max().unwrap_or(0);
    let order = (0..rounds).flat_map(|k| queues.iter().filter_map(move |q| q.get(k).copied()));
    let anomalies = [ReceiptStatus::Missing, ReceiptStatus::ReceivedShort, ReceiptStatus::ReceivedLate];
    for (index, status) in order.zip(anomalies) {
        payouts[index].status = status;
    }
}

fn receipt_truth(truth: &mut Vec<ReceiptTruth>, store: &str, currency: &str, amount_minor: i64, day: i64) -> usize {
    truth.push(ReceiptTruth {
        kind: ReceiptTruthKind::Receipt,
        id: String::new(),
        store: store.to_owned(),
        currency: currency.to_owned(),
        expected_amount_minor: amount_minor,
        deposit_date: date_of_day(day),
        status: ReceiptStatus::UnexpectedReceipt,
        receipt_file: String::new(),
        receipt_line: None,
    });
    truth.len() - 1
}

/// An amount in `low..=high` that no payout or receipt has yet (then taken).
fn draw_untaken(rng: &mut SplitMix64, taken: &mut HashSet<i64>, low: i64, high: i64) -> i64 {
    loop {
        let amount = rng.between(low, high);
        if taken.insert(amount) {
            return amount;
        }
    }
}

/// The calendar months (first day, next month's first day) from the earliest to the
/// latest of the entries' days and `first_day..=last_day`.
fn months_covering(entries: &[Entry], first_day: i64, last_day: i64) -> Vec<(i64, i64)> {
    let low = entries.iter().map(|e| e.day).min().unwrap_or(first_day).min(first_day);
    let high = entries.iter().map(|e| e.day).max().unwrap_or(last_day).max(last_day);
    let mut months = Vec::new();
    let mut first = month_first(low);
    while first <= high {
        let next = month_first(first + 31);
        months.push((first, next));
        first = next;
    }
    months
}

fn month_first(day: i64) -> i64 {
    let (_, _, day_of_month) = civil_from_days(day);
    day - (day_of_month as i64 - 1)
}

fn date_of_day(day: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch") + chrono::Duration::days(day)
}

/// `2026-06-17` (or `20260617` without the separator).
fn iso_date(day: i64, separator: &str) -> String {
    let (year, month, day) = civil_from_days(day);
    format!("{year:04}{separator}{month:02}{separator}{day:02}")
}

/// MT940's `YYMMDD`.
fn yymmdd(day: i64) -> String {
    let (year, month, day) = civil_from_days(day);
    format!("{:02}{month:02}{day:02}", year % 100)
}

fn amount_text(amount_minor: i64, decimal: u8) -> String {
    let mut out = Vec::with_capacity(16);
    push_amount(&mut out, amount_minor, decimal);
    String::from_utf8(out).expect("digits")
}

/// Text written line by line, counting lines (1-based).
struct Lines {
    bytes: Vec<u8>,
    count: u32,
    end: &'static [u8],
}

impl Lines {
    fn new(end: &'static [u8]) -> Lines {
        Lines { bytes: Vec::with_capacity(16 * 1024), count: 0, end }
    }

    /// The number the next line will have.
    fn next_line(&self) -> u32 {
        self.count + 1
    }

    fn push(&mut self, text: &str) {
        self.push_bytes(&[text.as_bytes()]);
    }

    fn push_bytes(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.bytes.extend_from_slice(self.end);
        self.count += 1;
    }
}

fn balance_lines(out: &mut Lines, code: &str, amount_minor: i64, day: i64) {
    out.push("      <Bal>");
    out.push(&format!("        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"));
    out.push(&format!("        <Amt Ccy=\"EUR\">{}</Amt>", amount_text(amount_minor.abs(), b'.')));
    out.push(&format!("        <CdtDbtInd>{}</CdtDbtInd>", if amount_minor < 0 { "DBIT" } else { "CRDT" }));
    out.push(&format!("        <Dt><Dt>{}</Dt></Dt>", iso_date(day, "-")));
    out.push("      </Bal>");
}

/// camt.053.001.02, one `Stmt` per month; entries sorted by day.
fn write_camt(
    entries: &[Entry],
    months: &[(i64, i64)],
    opening_minor: i64,
    rng: &mut SplitMix64,
) -> (Vec<u8>, Vec<Placed>) {
    let mut out = Lines::new(b"\n");
    let (_, last_next) = *months.last().expect("at least the demo month");
    let created = format!("{}T06:12:40+00:00", iso_date(last_next, "-"));
    out.push("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">");
    out.push("  <BkToCstmrStmt>");
    out.push("    <GrpHdr>");
    out.push(&format!("      <MsgId>STMT{}ACMEDE{:06}</MsgId>", iso_date(last_next, ""), rng.below(1_000_000)));
    out.push(&format!("      <CreDtTm>{created}</CreDtTm>"));
    out.push("    </GrpHdr>");
    let reference_base = rng.below(80_000_000);
    let mut placed = Vec::with_capacity(entries.len());
    let mut balance = opening_minor;
    let mut at = 0;
    for (sequence, &(first, next)) in months.iter().enumerate() {
        let (year, month, _) = civil_from_days(first);
        let month_entries: Vec<&Entry> = entries[at..].iter().take_while(|e| e.day < next).collect();
        at += month_entries.len();
        let closing = balance + month_entries.iter().map(|e| e.amount_minor).sum::<i64>();
        out.push("    <Stmt>");
        out.push(&format!("      <Id>ACMEDE-{year:04}-{month:02}</Id>"));
        out.push(&format!("      <ElctrncSeqNb>{}</ElctrncSeqNb>", sequence + 1));
        out.push(&format!("      <CreDtTm>{}T06:12:40+00:00</CreDtTm>", iso_date(next, "-")));
        out.push(&format!(
            "      <FrToDt><FrDtTm>{}T00:00:00+00:00</FrDtTm><ToDtTm>{}T23:59:59+00:00</ToDtTm></FrToDt>",
            iso_date(first, "-"),
            iso_date(next - 1, "-")
        ));
        out.push("      <Acct>");
        out.push(&format!("        <Id><IBAN>{CAMT_IBAN}</IBAN></Id>"));
        out.push("        <Ccy>EUR</Ccy>");
        out.push("        <Ownr><Nm>ACME Handels GmbH</Nm></Ownr>");
        out.push("        <Svcr><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></Svcr>");
        out.push("      </Acct>");
        balance_lines(&mut out, "OPBD", balance, first);
        balance_lines(&mut out, "CLBD", closing, next - 1);
        for entry in month_entries {
            let reference = format!("{}{:08}", iso_date(entry.day, ""), reference_base + placed.len() as u64);
            placed.push(Placed { reference: reference.clone(), line: out.next_line() });
            let credit = entry.amount_minor >= 0;
            let date = iso_date(entry.day, "-");
            out.push("      <Ntry>");
            out.push(&format!("        <Amt Ccy=\"EUR\">{}</Amt>", amount_text(entry.amount_minor.abs(), b'.')));
            out.push(&format!("        <CdtDbtInd>{}</CdtDbtInd>", if credit { "CRDT" } else { "DBIT" }));
            out.push("        <Sts>BOOK</Sts>");
            out.push(&format!("        <BookgDt><Dt>{date}</Dt></BookgDt>"));
            out.push(&format!("        <ValDt><Dt>{date}</Dt></ValDt>"));
            out.push(&format!("        <AcctSvcrRef>{reference}</AcctSvcrRef>"));
            let (family, sub_family) = match (credit, entry.counterparty.is_empty()) {
                (_, true) => ("CCRD", "CHRG"),
                (true, false) => ("RCDT", "ESCT"),
                (false, false) => ("ICDT", "ESCT"),
            };
            out.push(&format!(
                "        <BkTxCd><Domn><Cd>{}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>",
                if entry.counterparty.is_empty() { "ACMT" } else { "PMNT" }
            ));
            out.push("        <NtryDtls>");
            out.push("          <TxDtls>");
            out.push("            <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>");
            if !entry.counterparty.is_empty() {
                let party = if credit { "Dbtr" } else { "Cdtr" };
                out.push(&format!(
                    "            <RltdPties><{party}><Nm>{}</Nm></{party}></RltdPties>",
                    entry.counterparty
                ));
            }
            out.push(&format!("            <RmtInf><Ustrd>{}</Ustrd></RmtInf>", entry.text));
            out.push("          </TxDtls>");
            out.push("        </NtryDtls>");
            out.push("      </Ntry>");
        }
        out.push("    </Stmt>");
        balance = closing;
    }
    out.push("  </BkToCstmrStmt>");
    out.push("</Document>");
    (out.bytes, placed)
}

/// MT940, one message per month; entries sorted by day.
fn write_mt940(
    (account, currency): (&str, &str),
    entries: &[Entry],
    months: &[(i64, i64)],
    opening_minor: i64,
    rng: &mut SplitMix64,
) -> (Vec<u8>, Vec<Placed>) {
    let mut out = Lines::new(b"\r\n");
    let reference_base = rng.below(9_000_000_000);
    let statement_base = rng.between(100, 400);
    let balance_field = |tag: &str, amount_minor: i64, day: i64| {
        let mark = if amount_minor < 0 { 'D' } else { 'C' };
        format!(":{tag}:{mark}{}{currency}{}", yymmdd(day), amount_text(amount_minor.abs(), b','))
    };
    let mut placed = Vec::with_capacity(entries.len());
    let mut balance = opening_minor;
    let mut at = 0;
    for (sequence, &(first, next)) in months.iter().enumerate() {
        let month_entries: Vec<&Entry> = entries[at..].iter().take_while(|e| e.day < next).collect();
        at += month_entries.len();
        let closing = balance + month_entries.iter().map(|e| e.amount_minor).sum::<i64>();
        out.push(&format!(":20:STMT{}", iso_date(first, "")));
        out.push(&format!(":25:{account}"));
        out.push(&format!(":28C:{:05}/001", statement_base + sequence as i64));
        out.push(&balance_field("60F", balance, first - 1));
        for entry in month_entries {
            let reference = format!("{}{:010}", yymmdd(entry.day), reference_base + placed.len() as u64);
            placed.push(Placed { reference: reference.clone(), line: out.next_line() });
            let (mark, kind) = if entry.amount_minor < 0 { ('D', "NCHG") } else { ('C', "NTRF") };
            out.push(&format!(
                ":61:{}{}{mark}{}{kind}NONREF//{reference}",
                yymmdd(entry.day),
                &yymmdd(entry.day)[2..],
                amount_text(entry.amount_minor.abs(), b',')
            ));
            out.push(&format!(":86:{}", entry.text));
        }
        out.push(&balance_field("62F", closing, next - 1));
        out.push("-");
        balance = closing;
    }
    (out.bytes, placed)
}

/// The columns of tieout's built-in `payoneer` profile.
fn write_payoneer(entries: &[Entry], rng: &mut SplitMix64) -> (Vec<u8>, Vec<Placed>) {
    let mut out = Lines::new(b"\n");
    out.push("Date,Description,Amount,Currency,Transaction ID");
    let base = 1_000_000_000 + rng.below(8_000_000_000);
    let mut placed = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let reference = (base + index as u64 * 7_919).to_string();
        placed.push(Placed { reference: reference.clone(), line: out.next_line() });
        out.push(&format!(
            "{},{},{},USD,{reference}",
            iso_date(entry.day, "-"),
            entry.text,
            amount_text(entry.amount_minor, b'.')
        ));
    }
    (out.bytes, placed)
}

/// The profile of `us-lianlian-cny.csv`.
const LIANLIAN_PROFILE: &str = "\
# Statement profile of the LianLian Global CNY account statement that tieout-demo writes
# (us-lianlian-cny.csv): a payout received in USD and converted to CNY states its USD
# amount in Original Amount / Original Currency.
[source]
name = \"lianlian\"
encoding = \"utf-8\"
delimiter = \",\"
number_style = \"dot\"
account = \"lianlian-cny\"

[columns]
booking_date = \"Date\"
amount = \"Amount\"
currency = \"Currency\"
entry_ref = \"Transaction ID\"
counterparty = \"Payer\"
description = \"Description\"
original_amount = \"Original Amount\"
original_currency = \"Original Currency\"
";

fn write_lianlian(entries: &[Entry], rng: &mut SplitMix64) -> (Vec<u8>, Vec<Placed>) {
    let mut out = Lines::new(b"\n");
    out.push("Date,Transaction ID,Payer,Description,Amount,Currency,Original Amount,Original Currency,Exchange Rate");
    let base = rng.below(90_000_000);
    let rate = format!("{}.{:04}", CNY_PER_USD_TEN_THOUSANDTHS / 10_000, CNY_PER_USD_TEN_THOUSANDTHS % 10_000);
    let mut placed = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let reference = format!("LL{}{:08}", iso_date(entry.day, ""), base + index as u64);
        placed.push(Placed { reference: reference.clone(), line: out.next_line() });
        let original = entry.original_minor.map_or(String::new(), |minor| amount_text(minor, b'.'));
        out.push(&format!(
            "{},{reference},{},{},{},CNY,{original},USD,{rate}",
            iso_date(entry.day, "-"),
            entry.counterparty,
            entry.text,
            amount_text(entry.amount_minor, b'.')
        ));
    }
    (out.bytes, placed)
}

/// `#支付宝账务明细查询`
const GBK_TITLE: &[u8] = b"#\xD6\xA7\xB8\xB6\xB1\xA6\xD5\xCB\xCE\xF1\xC3\xF7\xCF\xB8\xB2\xE9\xD1\xAF";
/// `#账号：[`
const GBK_ACCOUNT: &[u8] = b"#\xD5\xCB\xBA\xC5\xA3\xBA[";
/// `#起始日期：[`
const GBK_PERIOD_START: &[u8] = b"#\xC6\xF0\xCA\xBC\xC8\xD5\xC6\xDA\xA3\xBA[";
/// `]   终止日期：[`
const GBK_PERIOD_END: &[u8] = b"]   \xD6\xD5\xD6\xB9\xC8\xD5\xC6\xDA\xA3\xBA[";
/// `年`
const GBK_YEAR: &[u8] = b"\xC4\xEA";
/// `月`
const GBK_MONTH: &[u8] = b"\xD4\xC2";
/// `日`
const GBK_DAY: &[u8] = b"\xC8\xD5";
/// `#-----------------------------------------账务明细列表----------------------------------------`
const GBK_LIST_START: &[u8] = b"#-----------------------------------------\xD5\xCB\xCE\xF1\xC3\xF7\xCF\xB8\xC1\xD0\xB1\xED----------------------------------------";
/// `账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注`
const GBK_HEADER: &[u8] = b"\xD5\xCB\xCE\xF1\xC1\xF7\xCB\xAE\xBA\xC5,\xD2\xB5\xCE\xF1\xC1\xF7\xCB\xAE\xBA\xC5,\xC9\xCC\xBB\xA7\xB6\xA9\xB5\xA5\xBA\xC5,\xC9\xCC\xC6\xB7\xC3\xFB\xB3\xC6,\xB7\xA2\xC9\xFA\xCA\xB1\xBC\xE4,\xB6\xD4\xB7\xBD\xD5\xCB\xBA\xC5,\xCA\xD5\xC8\xEB\xBD\xF0\xB6\xEE\xA3\xA8+\xD4\xAA\xA3\xA9,\xD6\xA7\xB3\xF6\xBD\xF0\xB6\xEE\xA3\xA8-\xD4\xAA\xA3\xA9,\xD5\xCB\xBB\xA7\xD3\xE0\xB6\xEE\xA3\xA8\xD4\xAA\xA3\xA9,\xBD\xBB\xD2\xD7\xC7\xFE\xB5\xC0,\xD2\xB5\xCE\xF1\xC0\xE0\xD0\xCD,\xB1\xB8\xD7\xA2";
/// `连连国际提现`
const GBK_GOODS: &[u8] = b"\xC1\xAC\xC1\xAC\xB9\xFA\xBC\xCA\xCC\xE1\xCF\xD6";
/// `支付宝`
const GBK_CHANNEL: &[u8] = b"\xD6\xA7\xB8\xB6\xB1\xA6";
/// `转账`
const GBK_TRANSFER: &[u8] = b"\xD7\xAA\xD5\xCB";
/// `#-----------------------------------------账务明细列表结束------------------------------------`
const GBK_LIST_END: &[u8] = b"#-----------------------------------------\xD5\xCB\xCE\xF1\xC3\xF7\xCF\xB8\xC1\xD0\xB1\xED\xBD\xE1\xCA\xF8------------------------------------";
/// `#支出合计：`
const GBK_EXPENSE_TOTAL: &[u8] = b"#\xD6\xA7\xB3\xF6\xBA\xCF\xBC\xC6\xA3\xBA";
/// `#收入合计：`
const GBK_INCOME_TOTAL: &[u8] = b"#\xCA\xD5\xC8\xEB\xBA\xCF\xBC\xC6\xA3\xBA";
/// `笔，共`
const GBK_COUNT_SUM: &[u8] = b"\xB1\xCA\xA3\xAC\xB9\xB2";
/// `元`
const GBK_YUAN: &[u8] = b"\xD4\xAA";
/// `#导出时间：[`
const GBK_EXPORTED: &[u8] = b"#\xB5\xBC\xB3\xF6\xCA\xB1\xBC\xE4\xA3\xBA[";

/// `[2026年06月01日 00:00:00]`'s inside, in GBK.
fn gbk_datetime(day: i64, time: &str) -> Vec<u8> {
    let (year, month, day) = civil_from_days(day);
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(format!("{year:04}").as_bytes());
    out.extend_from_slice(GBK_YEAR);
    out.extend_from_slice(format!("{month:02}").as_bytes());
    out.extend_from_slice(GBK_MONTH);
    out.extend_from_slice(format!("{day:02}").as_bytes());
    out.extend_from_slice(GBK_DAY);
    out.push(b' ');
    out.extend_from_slice(time.as_bytes());
    out
}

/// The merchant 账务明细 in GBK (CRLF), incomes only; `period` is (first day, next
/// month's first day).
fn write_alipay(
    entries: &[Entry],
    period: (i64, i64),
    opening_minor: i64,
    rng: &mut SplitMix64,
) -> (Vec<u8>, Vec<Placed>) {
    let mut out = Lines::new(b"\r\n");
    let (first, next) = period;
    out.push_bytes(&[GBK_TITLE]);
    let account = format!("2088{:012}0156", rng.below(1_000_000_000_000));
    out.push_bytes(&[GBK_ACCOUNT, account.as_bytes(), b"]"]);
    out.push_bytes(&[
        GBK_PERIOD_START,
        &gbk_datetime(first, "00:00:00"),
        GBK_PERIOD_END,
        &gbk_datetime(next, "00:00:00"),
        b"]",
    ]);
    out.push_bytes(&[GBK_LIST_START]);
    out.push_bytes(&[GBK_HEADER]);
    let ledger_base = rng.below(9_000_000_000);
    let trade_base = rng.below(9_000_000_000_000_000);
    let mut balance = opening_minor;
    let mut placed = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let date = iso_date(entry.day, "");
        let reference = format!("{date}20004001110015{:010}", ledger_base + index as u64 * 37);
        placed.push(Placed { reference: reference.clone(), line: out.next_line() });
        let trade = format!("{date}1100{:016}", trade_base + index as u64 * 101);
        let seconds = rng.between(9 * 3_600, 18 * 3_600);
        let time =
            format!("{} {:02}:{:02}:{:02}", iso_date(entry.day, "-"), seconds / 3_600, seconds / 60 % 60, seconds % 60);
        balance += entry.amount_minor;
        let remark = format!("LLW{date}{:06}", rng.below(1_000_000));
        out.push_bytes(&[
            reference.as_bytes(),
            b"\t,",
            trade.as_bytes(),
            b"\t,,",
            GBK_GOODS,
            b",",
            time.as_bytes(),
            b",",
            entry.counterparty.as_bytes(),
            b",",
            amount_text(entry.amount_minor, b'.').as_bytes(),
            b",,",
            amount_text(balance, b'.').as_bytes(),
            b",",
            GBK_CHANNEL,
            b",",
            GBK_TRANSFER,
            b",",
            remark.as_bytes(),
        ]);
    }
    out.push_bytes(&[GBK_LIST_END]);
    out.push_bytes(&[GBK_EXPENSE_TOTAL, b"0", GBK_COUNT_SUM, b"0.00", GBK_YUAN]);
    let income: i64 = entries.iter().map(|e| e.amount_minor).sum();
    let count = entries.len().to_string();
    out.push_bytes(&[
        GBK_INCOME_TOTAL,
        count.as_bytes(),
        GBK_COUNT_SUM,
        amount_text(income, b'.').as_bytes(),
        GBK_YUAN,
    ]);
    out.push_bytes(&[GBK_EXPORTED, &gbk_datetime(next, "08:03:11"), b"]"]);
    (out.bytes, placed)
}

fn truth_text(truth: &[ReceiptTruth]) -> String {
    let mut text = String::with_capacity(128 * (truth.len() + 1));
    text.push_str(RECEIPTS_TRUTH_HEADER);
    text.push('\n');
    for row in truth {
        let exponent = Currency::from_code(&row.currency).map_or(2, |c| c.exponent());
        let amount = tieout_core::money::format_minor(row.expected_amount_minor, exponent);
        let line = row.receipt_line.map_or(String::new(), |line| line.to_string());
        text.push_str(&format!(
            "{},{},{},{},{amount},{},{},{},{line}\n",
            row.kind.name(),
            row.id,
            row.store,
            row.currency,
            row.deposit_date.format("%Y-%m-%d"),
            row.status.name(),
            row.receipt_file,
        ));
    }
    text
}

/// Reads `receipts-truth.csv` (see the module documentation).
pub fn read_receipts_truth(path: &Path) -> Result<Vec<ReceiptTruth>, DemoError> {
    let text = fs::read_to_string(path).map_err(|source| DemoError::io(path, source))?;
    let error = |line: usize, message: String| DemoError::Truth { path: path.to_owned(), line, message };
    let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line));
    match lines.next() {
        Some((_, header)) if header == RECEIPTS_TRUTH_HEADER => {}
        Some((line, other)) => {
            return Err(error(line, format!("expected the header '{RECEIPTS_TRUTH_HEADER}', found '{other}'")))
        }
        None => return Err(error(1, format!("empty file: expected the header '{RECEIPTS_TRUTH_HEADER}'"))),
    }
    let mut rows = Vec::new();
    for (line, row) in lines {
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        let [kind, id, store, currency, amount, date, status, file, receipt_line] = fields[..] else {
            return Err(error(line, format!("expected 9 fields, found {} in '{row}'", fields.len())));
        };
        let kind = ReceiptTruthKind::from_name(kind).ok_or_else(|| error(line, format!("unknown kind '{kind}'")))?;
        let status =
            ReceiptStatus::from_name(status).ok_or_else(|| error(line, format!("unknown status '{status}'")))?;
        let exponent =
            Currency::from_code(currency).map_err(|e| error(line, format!("currency '{currency}': {e}")))?.exponent();
        let expected_amount_minor = parse_amount_minor(amount, NumberStyle::Dot, exponent)
            .map_err(|e| error(line, format!("amount '{amount}': {e}")))?;
        let deposit_date =
            NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| error(line, format!("date '{date}': {e}")))?;
        let receipt_line = if receipt_line.is_empty() {
            None
        } else {
            Some(
                receipt_line
                    .parse()
                    .map_err(|_| error(line, format!("receipt line '{receipt_line}' is not a number")))?,
            )
        };
        if id.is_empty() {
            return Err(error(line, "the id is empty".to_owned()));
        }
        if (kind == ReceiptTruthKind::Receipt) != (status == ReceiptStatus::UnexpectedReceipt) {
            return Err(error(line, format!("a {} row cannot have the status {}", kind.name(), status.name())));
        }
        if (status == ReceiptStatus::Missing) != file.is_empty() || file.is_empty() != receipt_line.is_none() {
            return Err(error(
                line,
                "the receipt file and line are given exactly when the status is not missing".to_owned(),
            ));
        }
        rows.push(ReceiptTruth {
            kind,
            id: id.to_owned(),
            store: store.to_owned(),
            currency: currency.to_owned(),
            expected_amount_minor,
            deposit_date,
            status,
            receipt_file: file.to_owned(),
            receipt_line,
        });
    }
    Ok(rows)
}
