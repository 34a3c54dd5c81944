//! Settlement files (Amazon flat file V2): which lines an order produces, the account
//! lines of each period, and the writer.
//!
//! An order's lines come from one function, [`emit_order`], called twice through a
//! [`Sink`]: first into [`Totals`] (the summary row needs `total-amount` before the
//! lines), then into [`SettlementWriter`]. One code path, so totals and lines agree.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::{DuplicatedLine, Item, Locale, Order, Plan, StorePlan, StoreSpec};
use crate::rng::{finalize, hash2, SplitMix64};
use crate::text::{
    push_adjustment_id, push_amount, push_date, push_datetime, push_day_start, push_order_id, push_padded,
    push_shipment_id, push_u64, SECONDS_PER_DAY,
};
use crate::DemoError;

pub(crate) const V2_HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";

/// The fields shared by every line of one item in one transaction.
pub(crate) struct Event {
    pub(crate) transaction: &'static str,
    pub(crate) order_id: u64,
    pub(crate) adjustment: Option<u64>,
    pub(crate) shipment: Option<u64>,
    pub(crate) afn: bool,
    pub(crate) posted: i64,
    pub(crate) item_code: u64,
    pub(crate) sku: &'static str,
    /// Index into the catalogue (the product's title, for transaction reports).
    pub(crate) product: usize,
    pub(crate) quantity: u32,
    /// DE only: write this event's amounts with a dot, as some real EU files do.
    pub(crate) dot_amounts: bool,
}

/// One amount line of the current event.
#[derive(Clone, Copy)]
pub(crate) struct Line {
    pub(crate) amount_type: &'static str,
    pub(crate) description: &'static str,
    pub(crate) amount_minor: i64,
    pub(crate) promotion_id: &'static str,
}

/// Receives an order's lines: `event` sets the shared fields, `line` adds one amount
/// line to a period's settlement.
pub(crate) trait Sink {
    fn event(&mut self, event: &Event);
    fn line(&mut self, period: usize, line: &Line) -> Result<(), DemoError>;
}

/// The lines of one event, without allocating.
pub(crate) struct Lines {
    lines: [Line; 8],
    len: usize,
}

impl Lines {
    fn new() -> Lines {
        Lines { lines: [line("", "", 0); 8], len: 0 }
    }

    fn push(&mut self, line: Line) {
        self.lines[self.len] = line;
        self.len += 1;
    }

    fn as_slice(&self) -> &[Line] {
        &self.lines[..self.len]
    }
}

const fn line(amount_type: &'static str, description: &'static str, amount_minor: i64) -> Line {
    Line { amount_type, description, amount_minor, promotion_id: "" }
}

/// Share of DE events written with dot decimals.
const DE_DOT_PERCENT: u64 = 6;

/// Writes every settlement line of an order: the `Order` lines of each item in the period
/// of the shipment, a duplicate if the order has one, and the `Refund` lines in the period
/// of the refund.
pub(crate) fn emit_order(store: &StorePlan, order: &Order, sink: &mut impl Sink) -> Result<(), DemoError> {
    if !order.settled {
        return Ok(());
    }
    let spec = store.spec;
    let shipped = order.shipped.expect("a settled order shipped");
    let period = store.period_of(shipped);
    for (index, item) in order.items().iter().enumerate() {
        sink.event(&event(spec, order, item, "Order", shipped, None));
        let lines = order_lines(spec, item);
        for line in lines.as_slice() {
            sink.line(period, line)?;
        }
        if let Some(duplicate) = order.duplicate.filter(|d| d.item == index) {
            let description = match duplicate.line {
                DuplicatedLine::Principal => "Principal",
                DuplicatedLine::Commission => "Commission",
                DuplicatedLine::FbaFee => "FBAPerUnitFulfillmentFee",
            };
            let original = lines
                .as_slice()
                .iter()
                .find(|l| l.description == description && l.amount_type != "Promotion")
                .expect("the duplicated line exists");
            sink.line(duplicate.period, original)?;
        }
    }
    if let Some(refund) = order.refund {
        let period = store.period_of(refund.posted);
        for (index, item) in order.items().iter().enumerate() {
            if !refund.full && index != refund.item {
                continue;
            }
            sink.event(&event(spec, order, item, "Refund", refund.posted, Some(refund.adjustment)));
            let principal = if refund.full { item.principal_minor } else { refund.partial_principal_minor };
            for line in refund_lines(spec, item, principal, refund.full).as_slice() {
                sink.line(period, line)?;
            }
        }
    }
    Ok(())
}

fn event(
    spec: &StoreSpec,
    order: &Order,
    item: &Item,
    transaction: &'static str,
    posted: i64,
    adjustment: Option<u64>,
) -> Event {
    let dot_amounts = spec.locale == Locale::German && finalize(item.code ^ posted as u64) % 100 < DE_DOT_PERCENT;
    Event {
        transaction,
        order_id: order.id,
        adjustment,
        shipment: adjustment.is_none().then_some(order.shipment),
        afn: item.afn,
        posted,
        item_code: item.code,
        sku: item.sku(),
        product: item.product,
        quantity: item.quantity,
        dot_amounts,
    }
}

fn order_lines(spec: &StoreSpec, item: &Item) -> Lines {
    let mut lines = Lines::new();
    lines.push(line("ItemPrice", "Principal", item.principal_minor));
    if item.shipping_minor > 0 {
        lines.push(line("ItemPrice", "Shipping", item.shipping_minor));
    }
    let taxed = spec.facilitator_tax && item.tax_minor > 0;
    if taxed {
        lines.push(line("ItemPrice", "Tax", item.tax_minor));
    }
    if item.promotion_minor > 0 {
        lines.push(Line {
            amount_type: "Promotion",
            description: if item.promotion_on_shipping { "Shipping" } else { "Principal" },
            amount_minor: -item.promotion_minor,
            promotion_id: spec.promotion_ids[item.promotion_id],
        });
    }
    lines.push(line("ItemFees", "Commission", -item.commission_minor));
    if item.afn {
        lines.push(line("ItemFees", "FBAPerUnitFulfillmentFee", -item.fba_fee_minor));
    }
    if taxed {
        lines.push(line("ItemFees", "MarketplaceFacilitatorTax-Principal", -item.tax_minor));
    }
    lines
}

/// Amazon keeps a refund administration fee: 20 % of the referral fee refunded, at most
/// 5.00 in the marketplace currency.
const REFUND_ADMINISTRATION_BASIS_POINTS: i64 = 2_000;
const REFUND_ADMINISTRATION_MAX_MINOR: i64 = 500;

fn refund_lines(spec: &StoreSpec, item: &Item, principal_minor: i64, full: bool) -> Lines {
    let mut lines = Lines::new();
    lines.push(line("ItemPrice", "Principal", -principal_minor));
    let tax_minor = if full { item.tax_minor } else { crate::model::rate_of(principal_minor, item.tax_basis_points) };
    let taxed = spec.facilitator_tax && tax_minor > 0;
    if taxed {
        lines.push(line("ItemPrice", "Tax", -tax_minor));
    }
    if full && item.shipping_minor > 0 {
        lines.push(line("ItemPrice", "Shipping", -item.shipping_minor));
    }
    if full && item.promotion_minor > 0 {
        lines.push(Line {
            amount_type: "Promotion",
            description: if item.promotion_on_shipping { "Shipping" } else { "Principal" },
            amount_minor: item.promotion_minor,
            promotion_id: spec.promotion_ids[item.promotion_id],
        });
    }
    let commission_refunded = if full {
        item.commission_minor
    } else {
        crate::model::rate_of(principal_minor, spec.referral_rate_basis_points)
    };
    if commission_refunded > 0 {
        lines.push(line("ItemFees", "Commission", commission_refunded));
        let administration = crate::model::rate_of(commission_refunded, REFUND_ADMINISTRATION_BASIS_POINTS)
            .min(REFUND_ADMINISTRATION_MAX_MINOR);
        if administration > 0 {
            lines.push(line("ItemFees", "RefundCommission", -administration));
        }
    }
    if taxed {
        lines.push(line("ItemFees", "MarketplaceFacilitatorTax-Principal", tax_minor));
    }
    lines
}

/// Per-period sums of one store's order lines (the first pass).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PeriodTotals {
    pub(crate) sum_minor: i64,
    pub(crate) lines: u64,
    /// Sum of the positive lines: the sales a reserve is held against.
    pub(crate) credits_minor: i64,
}

pub(crate) struct Totals {
    pub(crate) periods: Vec<PeriodTotals>,
}

impl Sink for Totals {
    fn event(&mut self, _event: &Event) {}

    fn line(&mut self, period: usize, line: &Line) -> Result<(), DemoError> {
        let totals = &mut self.periods[period];
        totals.sum_minor += line.amount_minor;
        totals.lines += 1;
        totals.credits_minor += line.amount_minor.max(0);
        Ok(())
    }
}

/// A line without an order: fees, reserve transfers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccountLine {
    pub(crate) transaction: &'static str,
    pub(crate) amount_type: &'static str,
    pub(crate) description: &'static str,
    pub(crate) amount_minor: i64,
    pub(crate) posted: i64,
    /// Written before the order lines (else after).
    pub(crate) leading: bool,
    /// Counted in the total but left out of the file (Amazon's omitted lines).
    pub(crate) omitted: bool,
}

/// One settlement (one period of one store), as planned after the first pass.
#[derive(Clone, Debug)]
pub(crate) struct Settlement {
    pub(crate) id: u64,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) total_minor: i64,
    pub(crate) account_lines: Vec<AccountLine>,
}

impl Settlement {
    /// Two days after the end; none when the total is negative (nothing is paid out:
    /// Amazon charges the card on file, and real files leave the deposit date empty).
    pub(crate) fn deposit(&self) -> Option<i64> {
        (self.total_minor >= 0).then_some(self.end + 2 * SECONDS_PER_DAY)
    }

    /// `total − sum(lines written)`: non-zero only when a line is omitted.
    pub(crate) fn difference_minor(&self) -> i64 {
        self.account_lines.iter().filter(|l| l.omitted).map(|l| l.amount_minor).sum()
    }
}

/// Reserve held against a period's sales, in basis points.
const RESERVE_BASIS_POINTS: i64 = 300;
const RESERVE_MIN_MINOR: i64 = 1_000;

/// Plans a store's settlements from the first pass: ids, windows, account lines, totals.
pub(crate) fn plan_settlements(plan: &Plan, store: &StorePlan, totals: &[PeriodTotals]) -> Vec<Settlement> {
    let spec = store.spec;
    let mut rng = SplitMix64::new(hash2(plan.seed, 0x5e77_1e00 + store.index as u64));
    let first_id = spec.settlement_id_lead * 10_000_000_000 + 1_000_000_000 + rng.below(5_000_000_000);
    let id_step = rng.between(200_000, 900_000) as u64;
    let mut previous_reserve_minor =
        rate_of_reserve(totals.first().map_or(0, |t| t.credits_minor)) * rng.between(90, 110) / 100;
    let month_firsts = [plan.month_start, plan.next_month_start, next_month_after(plan.next_month_start)];
    let mut settlements = Vec::with_capacity(totals.len());
    for (period, period_totals) in totals.iter().enumerate() {
        let start = store.period_start(period);
        let end = start + store.period_seconds;
        let mut account_lines = vec![AccountLine {
            transaction: "Transfer",
            amount_type: "other-transaction",
            description: "Previous Reserve Amount Balance",
            amount_minor: previous_reserve_minor,
            posted: start + rng.between(30, 600),
            leading: true,
            omitted: false,
        }];
        for first in month_firsts {
            let posted = first + 2 * 3600 + 17 * 60 + rng.between(0, 59);
            if (start..end).contains(&posted) {
                account_lines.push(AccountLine {
                    transaction: "ServiceFee",
                    amount_type: "other-transaction",
                    description: "Subscription Fee",
                    amount_minor: -spec.subscription_fee_minor,
                    posted,
                    leading: true,
                    omitted: false,
                });
            }
        }
        let storage_fee_minor = 1_000 + period_totals.lines as i64 * 2 + rng.between(0, 2_000);
        account_lines.push(AccountLine {
            transaction: "ServiceFee",
            amount_type: "other-transaction",
            description: "Storage Fee",
            amount_minor: -storage_fee_minor,
            posted: start + 7 * SECONDS_PER_DAY + rng.between(0, 3_600),
            leading: false,
            omitted: false,
        });
        let current_reserve_minor = rate_of_reserve(period_totals.credits_minor);
        account_lines.push(AccountLine {
            transaction: "Transfer",
            amount_type: "other-transaction",
            description: "Current Reserve Amount",
            amount_minor: -current_reserve_minor,
            posted: end - rng.between(60, 900),
            leading: false,
            omitted: false,
        });
        // The next period releases this one's reserve: the roll-forward chain.
        previous_reserve_minor = current_reserve_minor;
        let total_minor = period_totals.sum_minor + account_lines.iter().map(|l| l.amount_minor).sum::<i64>();
        settlements.push(Settlement { id: first_id + period as u64 * id_step, start, end, total_minor, account_lines });
    }
    settlements
}

fn rate_of_reserve(credits_minor: i64) -> i64 {
    crate::model::rate_of(credits_minor, RESERVE_BASIS_POINTS).max(RESERVE_MIN_MINOR)
}

/// The first instant of the month after the month starting at `month_start`.
fn next_month_after(month_start: i64) -> i64 {
    let (year, month, _) = crate::text::civil_from_days(month_start.div_euclid(SECONDS_PER_DAY));
    let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, 1).expect("a valid month");
    crate::days_since_epoch(date) * SECONDS_PER_DAY
}

/// A file written through one reusable buffer (flushed in large blocks).
pub(crate) struct Output {
    file: File,
    pub(crate) buffer: Vec<u8>,
    pub(crate) path: PathBuf,
}

const OUTPUT_BLOCK_BYTES: usize = 1 << 20;

impl Output {
    pub(crate) fn create(path: &Path) -> Result<Output, DemoError> {
        let file = File::create(path).map_err(|source| DemoError::io(path, source))?;
        Ok(Output { file, buffer: Vec::with_capacity(OUTPUT_BLOCK_BYTES + 4096), path: path.to_owned() })
    }

    /// Flushes when the buffer is full; call after each line.
    pub(crate) fn line_done(&mut self) -> Result<(), DemoError> {
        if self.buffer.len() >= OUTPUT_BLOCK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DemoError> {
        self.file.write_all(&self.buffer).map_err(|source| DemoError::io(&self.path, source))?;
        self.buffer.clear();
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<(), DemoError> {
        self.flush()
    }
}

struct OpenSettlement {
    id_text: Vec<u8>,
    out: Output,
}

/// Writes one store's settlement files (the second pass).
pub(crate) struct SettlementWriter {
    spec: &'static StoreSpec,
    files: Vec<OpenSettlement>,
    /// Fields between settlement-id and amount-type of the current event.
    middle: Vec<u8>,
    /// Fields between amount and promotion-id of the current event.
    tail: Vec<u8>,
    decimal: u8,
    pub(crate) lines_written: u64,
}

impl SettlementWriter {
    /// Creates the files and writes each header, summary row and leading account lines.
    pub(crate) fn create(
        spec: &'static StoreSpec,
        settlements: &[Settlement],
        directory: &Path,
    ) -> Result<SettlementWriter, DemoError> {
        let mut writer = SettlementWriter {
            spec,
            files: Vec::with_capacity(settlements.len()),
            middle: Vec::with_capacity(128),
            tail: Vec::with_capacity(128),
            decimal: spec.locale.decimal(),
            lines_written: 0,
        };
        for settlement in settlements {
            let mut out = Output::create(&directory.join(format!("{}.txt", settlement.id)))?;
            let mut id_text = Vec::with_capacity(11);
            push_u64(&mut id_text, settlement.id);
            out.buffer.extend_from_slice(V2_HEADER.as_bytes());
            out.buffer.push(b'\n');
            writer.write_summary(&mut out.buffer, &id_text, settlement);
            let mut open = OpenSettlement { id_text, out };
            for account_line in settlement.account_lines.iter().filter(|l| l.leading && !l.omitted) {
                writer.write_account_line(&mut open, account_line)?;
            }
            writer.files.push(open);
        }
        Ok(writer)
    }

    fn write_summary(&self, out: &mut Vec<u8>, id_text: &[u8], settlement: &Settlement) {
        let style = self.spec.locale.date_style();
        out.extend_from_slice(id_text);
        out.push(b'\t');
        push_datetime(out, settlement.start, style);
        out.push(b'\t');
        push_datetime(out, settlement.end, style);
        out.push(b'\t');
        if let Some(deposit) = settlement.deposit() {
            push_datetime(out, deposit, style);
        }
        out.push(b'\t');
        push_amount(out, settlement.total_minor, self.decimal);
        out.push(b'\t');
        out.extend_from_slice(self.spec.currency.as_bytes());
        out.extend_from_slice(&[b'\t'; 18]);
        out.push(b'\n');
    }

    fn write_account_line(&mut self, open: &mut OpenSettlement, line: &AccountLine) -> Result<(), DemoError> {
        let style = self.spec.locale.date_style();
        let out = &mut open.out.buffer;
        out.extend_from_slice(&open.id_text);
        out.extend_from_slice(b"\t\t\t\t\t");
        if self.spec.repeat_currency {
            out.extend_from_slice(self.spec.currency.as_bytes());
        }
        out.push(b'\t');
        out.extend_from_slice(line.transaction.as_bytes());
        out.extend_from_slice(b"\t\t\t\t\t");
        out.extend_from_slice(self.spec.settlement_marketplace.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(line.amount_type.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(line.description.as_bytes());
        out.push(b'\t');
        push_amount(out, line.amount_minor, self.decimal);
        out.extend_from_slice(b"\t\t");
        push_day_start(out, line.posted, style);
        out.push(b'\t');
        push_datetime(out, line.posted, style);
        out.extend_from_slice(b"\t\t\t\t\t\t\n");
        self.lines_written += 1;
        open.out.line_done()
    }

    /// Writes the trailing account lines and closes every file.
    pub(crate) fn finish(mut self, settlements: &[Settlement]) -> Result<u64, DemoError> {
        let files = std::mem::take(&mut self.files);
        for (mut open, settlement) in files.into_iter().zip(settlements) {
            for account_line in settlement.account_lines.iter().filter(|l| !l.leading && !l.omitted) {
                self.write_account_line(&mut open, account_line)?;
            }
            open.out.finish()?;
        }
        Ok(self.lines_written)
    }
}

impl Sink for SettlementWriter {
    fn event(&mut self, event: &Event) {
        let style = self.spec.locale.date_style();
        let middle = &mut self.middle;
        middle.clear();
        middle.extend_from_slice(b"\t\t\t\t\t");
        if self.spec.repeat_currency {
            middle.extend_from_slice(self.spec.currency.as_bytes());
        }
        middle.push(b'\t');
        middle.extend_from_slice(event.transaction.as_bytes());
        middle.push(b'\t');
        push_order_id(middle, event.order_id);
        middle.extend_from_slice(b"\t\t");
        if let Some(adjustment) = event.adjustment {
            push_adjustment_id(middle, adjustment);
        }
        middle.push(b'\t');
        if let Some(shipment) = event.shipment {
            push_shipment_id(middle, shipment);
        }
        middle.push(b'\t');
        middle.extend_from_slice(self.spec.settlement_marketplace.as_bytes());
        middle.push(b'\t');

        let tail = &mut self.tail;
        tail.clear();
        tail.push(b'\t');
        tail.extend_from_slice(if event.afn { b"AFN" } else { b"MFN" });
        tail.push(b'\t');
        push_day_start(tail, event.posted, style);
        tail.push(b'\t');
        push_datetime(tail, event.posted, style);
        tail.push(b'\t');
        push_padded(tail, event.item_code, 14);
        tail.extend_from_slice(b"\t\t\t");
        tail.extend_from_slice(event.sku.as_bytes());
        tail.push(b'\t');
        push_u64(tail, event.quantity as u64);
        tail.push(b'\t');

        self.decimal = if event.dot_amounts { b'.' } else { self.spec.locale.decimal() };
    }

    fn line(&mut self, period: usize, line: &Line) -> Result<(), DemoError> {
        let open = &mut self.files[period];
        let out = &mut open.out.buffer;
        out.extend_from_slice(&open.id_text);
        out.extend_from_slice(&self.middle);
        out.extend_from_slice(line.amount_type.as_bytes());
        out.push(b'\t');
        out.extend_from_slice(line.description.as_bytes());
        out.push(b'\t');
        push_amount(out, line.amount_minor, self.decimal);
        out.extend_from_slice(&self.tail);
        out.extend_from_slice(line.promotion_id.as_bytes());
        out.push(b'\n');
        self.lines_written += 1;
        open.out.line_done()
    }
}

/// Writes a date for file names and README text.
pub(crate) fn date_text(seconds: i64, style: crate::text::DateStyle) -> String {
    let mut out = Vec::with_capacity(10);
    push_date(&mut out, seconds, style);
    String::from_utf8(out).expect("digits")
}
