//! Reconciliation v1: ties each order to its settlement lines and classifies every order
//! (and, through its order, every settlement line).
//!
//! # Categories and precedence
//! An order can have several findings; all are kept as [`Flags`], and one primary
//! [`Category`] is chosen by this precedence (first wins): `settled_not_in_orders`,
//! `cancelled_but_settled`, `duplicate_settlement_line`, `shipped_not_settled`,
//! `refunded_not_written_off`, `amount_mismatch`, `fee_anomaly`, `not_due`, `matched`.
//!
//! # Rules (each a definition, stated once)
//! * **settled**: the order has at least one line of transaction class `Order`.
//! * **settled amount**: the sum of its `Order` lines that count toward the order amount
//!   (principal, shipping, gift wrap, promotions); taxes are excluded, as marketplaces
//!   collect and remit them.
//! * **settled_not_in_orders**: lines carry an order id that no imported order export has.
//! * **cancelled_but_settled**: the order is `Cancelled` and settled.
//! * **duplicate_settlement_line**: one of its lines has the same fingerprint
//!   ([`crate::records::line_fingerprint`], which includes the order id) as an earlier
//!   line of the order; "earlier" is by (settlement id, line), so the result does not
//!   depend on import order.
//! * **shipped_not_settled**: shipped (status `Shipped`/`PartiallyShipped`, or a ship date,
//!   and not cancelled) and not settled; `days_since_ship` counts to the as-of date.
//! * **refunded_not_written_off**: refunds settled for the order (principal, shipping,
//!   gift wrap, promotions of `Refund` lines, as a positive amount) exceed what the ERP wrote
//!   off: its refunded amount if the export has one, else the whole order amount if its
//!   status is `Refunded`, else nothing.
//! * **amount_mismatch**: settled, and the settled amount differs from the order amount by
//!   more than `amount_tolerance_minor`, or is in another currency.
//! * **fee_anomaly**: per order item (order-item-code), the commission charged on `Order`
//!   lines exceeds `referral_rate × item sales` (rounded half away from zero) by more than
//!   the tolerance, or the FBA per-unit fee exceeds `quantity × fee per unit` by more than
//!   the tolerance. Checked only where a fee schedule is configured.
//! * **not_due**: not shipped (pending, unshipped or cancelled) and no line at all.
//! * **matched**: none of the above.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::ids::OrderId;
use crate::intern::{Interner, Sym};
use crate::money::{div_round_half_away, Currency};
use crate::records::{Component, OrderStatus, TransactionClass};

/// Primary category of an order, declared in precedence order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Category {
    SettledNotInOrders = 0,
    CancelledButSettled = 1,
    DuplicateSettlementLine = 2,
    ShippedNotSettled = 3,
    RefundedNotWrittenOff = 4,
    AmountMismatch = 5,
    FeeAnomaly = 6,
    NotDue = 7,
    Matched = 8,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::SettledNotInOrders,
        Category::CancelledButSettled,
        Category::DuplicateSettlementLine,
        Category::ShippedNotSettled,
        Category::RefundedNotWrittenOff,
        Category::AmountMismatch,
        Category::FeeAnomaly,
        Category::NotDue,
        Category::Matched,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::SettledNotInOrders => "settled_not_in_orders",
            Category::CancelledButSettled => "cancelled_but_settled",
            Category::DuplicateSettlementLine => "duplicate_settlement_line",
            Category::ShippedNotSettled => "shipped_not_settled",
            Category::RefundedNotWrittenOff => "refunded_not_written_off",
            Category::AmountMismatch => "amount_mismatch",
            Category::FeeAnomaly => "fee_anomaly",
            Category::NotDue => "not_due",
            Category::Matched => "matched",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Category> {
        Category::ALL.get(code as usize).copied()
    }

    /// Whether the category is a difference finance has to look at.
    pub fn is_difference(self) -> bool {
        !matches!(self, Category::Matched | Category::NotDue)
    }

    /// 中文 name, for reports read by Chinese-speaking finance staff.
    pub fn chinese(self) -> &'static str {
        match self {
            Category::SettledNotInOrders => "有结算无订单",
            Category::CancelledButSettled => "已取消但已结算",
            Category::DuplicateSettlementLine => "重复结算行",
            Category::ShippedNotSettled => "已发货未结算",
            Category::RefundedNotWrittenOff => "已退款未核销",
            Category::AmountMismatch => "金额不符",
            Category::FeeAnomaly => "费用异常",
            Category::NotDue => "未到期",
            Category::Matched => "已核对",
        }
    }
}

/// Every finding of an order, as a bit set of categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    pub fn set(&mut self, category: Category) {
        self.0 |= 1 << category.code();
    }

    pub fn contains(self, category: Category) -> bool {
        self.0 & (1 << category.code()) != 0
    }

    /// The primary category: the first flag by precedence; `Matched` when none is set.
    pub fn primary(self) -> Category {
        Category::ALL.into_iter().find(|c| self.contains(*c)).unwrap_or(Category::Matched)
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// Flag names joined with `|`, e.g. `duplicate_settlement_line|amount_mismatch`.
    pub fn names(self) -> String {
        self.iter().map(Category::name).collect::<Vec<_>>().join("|")
    }
}

/// Expected fees of one store on one marketplace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeSchedule {
    /// Referral fee as a share of item sales, in basis points (1500 = 15 %).
    pub referral_rate_basis_points: u32,
    /// FBA fulfilment fee per unit, in the marketplace currency's minor units; `None`
    /// skips the fulfilment-fee check.
    pub fba_fee_per_unit_minor: Option<i64>,
    /// How much a fee may exceed its expectation, per item, before it is an anomaly.
    pub tolerance_minor: i64,
}

/// A schedule for a store and/or marketplace; `None` matches any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeScheduleRule {
    pub store: Option<String>,
    /// Compared normalised (lower case).
    pub marketplace: Option<String>,
    pub schedule: FeeSchedule,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// The most specific rule wins (store and marketplace > marketplace > store > any).
    pub fee_schedules: Vec<FeeScheduleRule>,
    pub amount_tolerance_minor: i64,
    /// Day counts (days since ship) are measured to this date.
    pub as_of: NaiveDate,
}

impl ReconcileConfig {
    pub fn schedule_for(&self, store: &str, marketplace: &str) -> Option<FeeSchedule> {
        let marketplace = marketplace.trim().to_ascii_lowercase();
        self.fee_schedules
            .iter()
            .filter(|rule| rule.store.as_deref().is_none_or(|s| s == store))
            .filter(|rule| rule.marketplace.as_deref().is_none_or(|m| m.trim().eq_ignore_ascii_case(&marketplace)))
            .max_by_key(|rule| {
                (rule.store.is_some() && rule.marketplace.is_some(), rule.marketplace.is_some(), rule.store.is_some())
            })
            .map(|rule| rule.schedule)
    }
}

/// One order as the ERP knows it (its items summed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub store: Sym,
    pub marketplace: Sym,
    pub status: OrderStatus,
    pub purchase_date: NaiveDate,
    pub ship_date: Option<NaiveDate>,
    pub currency: Currency,
    pub amount_minor: i64,
    pub refunded_minor: Option<i64>,
}

/// One settlement line with an order id, as reconciliation needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFacts {
    /// The store's id for the line (returned in duplicates).
    pub line_id: i64,
    pub settlement_id: u64,
    pub line: u32,
    pub order_id: OrderId,
    /// The store the settlement was imported for.
    pub store: Sym,
    pub marketplace: Sym,
    pub currency: Currency,
    pub transaction: TransactionClass,
    pub component: Component,
    pub amount_minor: i64,
    pub quantity: u32,
    /// Identifies the order item (a hash of order-item-code, or of the SKU without one).
    pub item: u64,
    /// [`crate::records::line_fingerprint`]; 0 for a line that is not fingerprinted (from a
    /// source that cannot tell two items apart, e.g. a transaction report): never a
    /// duplicate.
    pub fingerprint: u64,
    /// The day the line was posted (UTC).
    pub posted_date: NaiveDate,
}

#[derive(Clone, Debug, Default)]
pub struct ReconcileInput {
    /// Resolves the `store` and `marketplace` symbols of orders and lines.
    pub strings: Interner,
    pub orders: Vec<OrderFacts>,
    pub lines: Vec<LineFacts>,
    /// Further lines, in parts read on their own (e.g. each on its own thread, which may
    /// also sort its part with [`sort_lines`]): reconciled as if appended to `lines`, without
    /// copying them into one vector.
    pub more_lines: Vec<Vec<LineFacts>>,
}

impl ReconcileInput {
    /// How many lines there are, in every part.
    pub fn line_count(&self) -> usize {
        self.lines.len() + self.more_lines.iter().map(Vec::len).sum::<usize>()
    }

    /// Every line, part after part.
    pub fn all_lines(&self) -> impl Iterator<Item = &LineFacts> {
        self.lines.iter().chain(self.more_lines.iter().flatten())
    }
}

/// Sorts lines in the order [`reconcile`] walks them: by order id, then settlement, line
/// and line id (a total order, so the unstable sort is deterministic). Sorting lines
/// already sorted this way takes one pass.
pub fn sort_lines(lines: &mut [LineFacts]) {
    lines.sort_unstable_by(line_order);
}

fn line_order(a: &LineFacts, b: &LineFacts) -> std::cmp::Ordering {
    (&a.order_id, a.settlement_id, a.line, a.line_id).cmp(&(&b.order_id, b.settlement_id, b.line, b.line_id))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderResult {
    pub order_id: OrderId,
    pub store: Sym,
    pub marketplace: Sym,
    pub currency: Currency,
    pub category: Category,
    pub flags: Flags,
    /// `None` for an order only the settlements know.
    pub status: Option<OrderStatus>,
    pub ship_date: Option<NaiveDate>,
    pub order_amount_minor: Option<i64>,
    pub settled_amount_minor: i64,
    pub refunds_settled_minor: i64,
    pub written_off_minor: i64,
    pub fees_charged_minor: i64,
    pub fees_expected_minor: Option<i64>,
    /// Sum of every line of the order, whatever its kind.
    pub net_settled_minor: i64,
    pub days_since_ship: Option<i64>,
    pub line_count: u32,
    pub duplicate_line_count: u32,
    /// The period an order belongs to: its purchase date, or for an order only the
    /// settlements know, the first day one of its lines was posted.
    pub period_date: NaiveDate,
}

/// A line whose fingerprint repeats an earlier line's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duplicate {
    pub line_id: i64,
    pub first_line_id: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Reconciliation {
    /// Sorted by order id.
    pub orders: Vec<OrderResult>,
    /// Sorted by line id.
    pub duplicates: Vec<Duplicate>,
}

impl Reconciliation {
    pub fn count(&self, category: Category) -> usize {
        self.orders.iter().filter(|o| o.category == category).count()
    }
}

/// Classifies every order and every order's lines. Pure: the same input, in any order and
/// cut into parts in any way, gives the same result.
pub fn reconcile(input: &mut ReconcileInput, config: &ReconcileConfig) -> Reconciliation {
    let mut whole = Reconciliation::default();
    reconcile_in_chunks(input, config, usize::MAX, &mut |chunk| {
        whole.orders.extend(chunk.orders);
        whole.duplicates.extend(chunk.duplicates);
        true
    });
    whole.duplicates.sort_unstable();
    whole
}

/// [`reconcile`], handing the results to `each` as they are made, `chunk_orders` orders at
/// a time (so that a caller can store one chunk while the next is classified): chunks in
/// order-id order, each chunk's duplicates sorted by line id (a duplicate belongs to the
/// chunk of its order). Stops early when `each` returns `false`.
pub fn reconcile_in_chunks(
    input: &mut ReconcileInput,
    config: &ReconcileConfig,
    chunk_orders: usize,
    each: &mut dyn FnMut(Reconciliation) -> bool,
) {
    let chunk_orders = chunk_orders.max(1);
    input.orders.sort_unstable_by(|a, b| a.order_id.cmp(&b.order_id));
    sort_lines(&mut input.lines);
    for part in &mut input.more_lines {
        sort_lines(part);
    }
    let mut fingerprints: Vec<(u64, usize)> = Vec::new();

    let strings = &input.strings;
    let mut schedules: HashMap<(Sym, Sym), Option<FeeSchedule>> = HashMap::new();
    let mut schedule_for = |store: Sym, marketplace: Sym| {
        *schedules
            .entry((store, marketplace))
            .or_insert_with(|| config.schedule_for(strings.resolve(store), strings.resolve(marketplace)))
    };

    let capacity = chunk_orders.min(input.orders.len());
    let mut chunk = Reconciliation { orders: Vec::with_capacity(capacity), duplicates: Vec::new() };
    let mut orders = input.orders.iter().peekable();
    // Each sorted part with how far it has been walked; an order's lines are gathered from
    // every part and put in line order.
    let mut parts: Vec<(&[LineFacts], usize)> = std::iter::once(input.lines.as_slice())
        .chain(input.more_lines.iter().map(Vec::as_slice))
        .filter(|part| !part.is_empty())
        .map(|part| (part, 0))
        .collect();
    let mut order_lines: Vec<&LineFacts> = Vec::new();
    loop {
        let next_line_order = parts.iter().filter_map(|(part, at)| part.get(*at)).map(|line| &line.order_id).min();
        let next_order = orders.peek().map(|o| &o.order_id);
        let (order, order_id) = match (next_order, next_line_order) {
            (None, None) => break,
            (Some(o), Some(l)) if l < o => (None, l.clone()),
            (None, Some(l)) => (None, l.clone()),
            (Some(_), _) => {
                let order = orders.next().expect("peeked");
                (Some(order), order.order_id.clone())
            }
        };
        order_lines.clear();
        let mut from_parts = 0;
        for (part, at) in &mut parts {
            let start = *at;
            while *at < part.len() && part[*at].order_id == order_id {
                order_lines.push(&part[*at]);
                *at += 1;
            }
            from_parts += usize::from(*at > start);
        }
        if from_parts > 1 {
            order_lines.sort_unstable_by(|a, b| line_order(a, b));
        }
        let duplicate_line_count = find_duplicates(&order_lines, &mut fingerprints, &mut chunk.duplicates);
        let schedule = match (order, order_lines.first()) {
            (Some(o), _) => schedule_for(o.store, o.marketplace),
            (None, Some(l)) => schedule_for(l.store, l.marketplace),
            (None, None) => None,
        };
        chunk.orders.push(classify_order(order_id, order, &order_lines, duplicate_line_count, schedule, config));
        if chunk.orders.len() >= chunk_orders {
            let full = std::mem::replace(
                &mut chunk,
                Reconciliation { orders: Vec::with_capacity(capacity), duplicates: Vec::new() },
            );
            if !hand_over(full, each) {
                return;
            }
        }
    }
    debug_assert!(parts.iter().all(|(part, at)| *at == part.len()), "every line belongs to one order");
    if !chunk.orders.is_empty() {
        hand_over(chunk, each);
    }
}

fn hand_over(mut chunk: Reconciliation, each: &mut dyn FnMut(Reconciliation) -> bool) -> bool {
    chunk.duplicates.sort_unstable();
    each(chunk)
}

/// Finds the lines of one order whose fingerprint repeats an earlier line's, appends them
/// to `duplicates` and returns how many there are. A fingerprint includes the order id,
/// so duplicates are always lines of one order; `lines` are sorted by (settlement, line,
/// line id), which makes "earlier" independent of import order. `scratch` is reused
/// between orders to avoid an allocation per order.
fn find_duplicates(lines: &[&LineFacts], scratch: &mut Vec<(u64, usize)>, duplicates: &mut Vec<Duplicate>) -> u32 {
    scratch.clear();
    scratch.extend(
        lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.fingerprint != 0)
            .map(|(position, line)| (line.fingerprint, position)),
    );
    scratch.sort_unstable();
    let mut count = 0;
    for group in scratch.chunk_by(|a, b| a.0 == b.0) {
        let first = lines[group[0].1].line_id;
        for &(_, position) in &group[1..] {
            duplicates.push(Duplicate { line_id: lines[position].line_id, first_line_id: first });
            count += 1;
        }
    }
    count
}

#[derive(Default, Clone, Copy)]
struct ItemFees {
    item: u64,
    sales_minor: i64,
    quantity: u32,
    commission_minor: i64,
    fba_fee_minor: i64,
}

fn classify_order(
    order_id: OrderId,
    order: Option<&OrderFacts>,
    lines: &[&LineFacts],
    duplicate_line_count: u32,
    schedule: Option<FeeSchedule>,
    config: &ReconcileConfig,
) -> OrderResult {
    let mut settled = false;
    let mut settled_amount_minor = 0i64;
    let mut refunds_settled_minor = 0i64;
    let mut net_settled_minor = 0i64;
    let mut fees_charged_minor = 0i64;
    let mut foreign_currency = false;
    let mut items: Vec<ItemFees> = Vec::new();
    let currency = order.map(|o| o.currency).or(lines.first().map(|l| l.currency)).expect("an order or a line");
    for line in lines {
        net_settled_minor += line.amount_minor;
        foreign_currency |= line.currency != currency;
        match line.transaction {
            TransactionClass::Order => {
                settled = true;
                if line.component.counts_toward_order_amount() {
                    settled_amount_minor += line.amount_minor;
                }
                if line.component.is_fee() {
                    fees_charged_minor -= line.amount_minor;
                }
                let index = match items.iter().position(|i| i.item == line.item) {
                    Some(index) => index,
                    None => {
                        items.push(ItemFees { item: line.item, ..ItemFees::default() });
                        items.len() - 1
                    }
                };
                let item = &mut items[index];
                match line.component {
                    Component::Principal => {
                        item.sales_minor += line.amount_minor;
                        item.quantity = item.quantity.max(line.quantity);
                    }
                    Component::Shipping | Component::GiftWrap => item.sales_minor += line.amount_minor,
                    Component::Commission => item.commission_minor -= line.amount_minor,
                    Component::FbaPerUnitFee => item.fba_fee_minor -= line.amount_minor,
                    _ => {}
                }
            }
            TransactionClass::Refund if line.component.counts_toward_order_amount() => {
                refunds_settled_minor -= line.amount_minor;
            }
            _ => {}
        }
    }

    let mut flags = Flags::default();
    let mut fees_expected_minor = None;
    if let Some(schedule) = schedule {
        let mut expected_total = 0i64;
        let mut anomaly = false;
        for item in &items {
            let expected_commission =
                div_round_half_away(item.sales_minor as i128 * schedule.referral_rate_basis_points as i128, 10_000)
                    as i64;
            expected_total += expected_commission;
            anomaly |= item.commission_minor > expected_commission + schedule.tolerance_minor;
            if let Some(per_unit) = schedule.fba_fee_per_unit_minor {
                let expected_fba = per_unit * item.quantity.max(1) as i64;
                expected_total += expected_fba;
                anomaly |= item.fba_fee_minor > expected_fba + schedule.tolerance_minor;
            }
        }
        if anomaly {
            flags.set(Category::FeeAnomaly);
        }
        if settled {
            fees_expected_minor = Some(expected_total);
        }
    }
    if duplicate_line_count > 0 {
        flags.set(Category::DuplicateSettlementLine);
    }

    let (store, marketplace) = match (order, lines.first()) {
        (Some(o), _) => (o.store, o.marketplace),
        (None, Some(l)) => (l.store, l.marketplace),
        (None, None) => unreachable!("an order or a line"),
    };
    let Some(order) = order else {
        flags.set(Category::SettledNotInOrders);
        return OrderResult {
            order_id,
            store,
            marketplace,
            currency,
            category: flags.primary(),
            flags,
            status: None,
            ship_date: None,
            order_amount_minor: None,
            settled_amount_minor,
            refunds_settled_minor,
            written_off_minor: 0,
            fees_charged_minor,
            fees_expected_minor,
            net_settled_minor,
            days_since_ship: None,
            line_count: lines.len() as u32,
            duplicate_line_count,
            period_date: lines.iter().map(|l| l.posted_date).min().expect("an order only settlements know has lines"),
        };
    };

    let cancelled = order.status == OrderStatus::Cancelled;
    let shipped = !cancelled
        && (matches!(order.status, OrderStatus::Shipped | OrderStatus::PartiallyShipped | OrderStatus::Refunded)
            || order.ship_date.is_some());
    if cancelled && settled {
        flags.set(Category::CancelledButSettled);
    }
    let mut days_since_ship = None;
    if shipped && !settled {
        flags.set(Category::ShippedNotSettled);
        days_since_ship = order.ship_date.map(|d| (config.as_of - d).num_days());
    }
    let written_off_minor = match (order.refunded_minor, order.status) {
        (Some(refunded), _) => refunded,
        (None, OrderStatus::Refunded) => order.amount_minor,
        (None, _) => 0,
    };
    if refunds_settled_minor > written_off_minor {
        flags.set(Category::RefundedNotWrittenOff);
    }
    if settled
        && (foreign_currency || (settled_amount_minor - order.amount_minor).abs() > config.amount_tolerance_minor)
    {
        flags.set(Category::AmountMismatch);
    }
    if !shipped && lines.is_empty() {
        flags.set(Category::NotDue);
    }
    OrderResult {
        order_id,
        store,
        marketplace,
        currency,
        category: flags.primary(),
        flags,
        status: Some(order.status),
        ship_date: order.ship_date,
        order_amount_minor: Some(order.amount_minor),
        settled_amount_minor,
        refunds_settled_minor,
        written_off_minor,
        fees_charged_minor,
        fees_expected_minor,
        net_settled_minor,
        days_since_ship,
        line_count: lines.len() as u32,
        duplicate_line_count,
        period_date: order.purchase_date,
    }
}

/// Why an order is in its categories, one sentence per finding, amounts exact.
pub fn explain(result: &OrderResult) -> Vec<String> {
    use crate::money::format_minor;
    let exponent = result.currency.exponent();
    let money = |minor: i64| format!("{} {}", format_minor(minor, exponent), result.currency);
    let mut reasons = Vec::new();
    for category in result.flags.iter() {
        reasons.push(match category {
            Category::SettledNotInOrders => format!(
                "settlement lines carry this order id ({} lines, net {}), but no imported order export has the order",
                result.line_count,
                money(result.net_settled_minor)
            ),
            Category::CancelledButSettled => format!(
                "the order is Cancelled, yet {} of sales were settled for it",
                money(result.settled_amount_minor)
            ),
            Category::DuplicateSettlementLine => format!(
                "{} settlement line(s) repeat an earlier line exactly (same transaction, item, amount type, description and amount)",
                result.duplicate_line_count
            ),
            Category::ShippedNotSettled => match result.days_since_ship {
                Some(days) => format!("shipped {days} day(s) before the as-of date and not yet settled"),
                None => "shipped (per its status) and not yet settled".to_owned(),
            },
            Category::RefundedNotWrittenOff => format!(
                "refunds of {} were settled, but the ERP wrote off only {}",
                money(result.refunds_settled_minor),
                money(result.written_off_minor)
            ),
            Category::AmountMismatch => {
                let order_amount = result.order_amount_minor.unwrap_or(0);
                format!(
                    "settled sales {} differ from the order amount {} by {}",
                    money(result.settled_amount_minor),
                    money(order_amount),
                    money(result.settled_amount_minor - order_amount)
                )
            }
            Category::FeeAnomaly => format!(
                "fees charged {} exceed the schedule's expectation {}",
                money(result.fees_charged_minor),
                money(result.fees_expected_minor.unwrap_or(0))
            ),
            Category::NotDue => "not shipped and nothing settled: nothing is owed yet".to_owned(),
            Category::Matched => unreachable!("matched is never a flag"),
        });
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "settled sales {} equal the order amount; fees within the schedule",
            money(result.settled_amount_minor)
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Component::*;
    use crate::records::TransactionClass::{Order as Sale, Refund};
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn id(n: u64) -> OrderId {
        OrderId::Amazon(11_100_000_000_000_000 + n)
    }

    #[derive(Debug)]
    struct World {
        input: ReconcileInput,
        store: Sym,
        marketplace: Sym,
        next_line: i64,
    }

    impl World {
        fn new() -> World {
            let mut input = ReconcileInput::default();
            let store = input.strings.intern("acme-us");
            let marketplace = input.strings.intern("amazon.com");
            World { input, store, marketplace, next_line: 1 }
        }

        fn order(&mut self, n: u64, status: OrderStatus, ship: Option<u32>, amount: i64, refunded: Option<i64>) {
            self.input.orders.push(OrderFacts {
                order_id: id(n),
                store: self.store,
                marketplace: self.marketplace,
                status,
                purchase_date: day(1),
                ship_date: ship.map(day),
                currency: Currency::USD,
                amount_minor: amount,
                refunded_minor: refunded,
            });
        }

        fn line(&mut self, n: u64, transaction: TransactionClass, component: Component, amount: i64) {
            let line_id = self.next_line;
            self.next_line += 1;
            self.input.lines.push(LineFacts {
                line_id,
                settlement_id: 1,
                line: line_id as u32 + 1,
                order_id: id(n),
                store: self.store,
                marketplace: self.marketplace,
                currency: Currency::USD,
                transaction,
                component,
                amount_minor: amount,
                quantity: 1,
                item: n,
                // Distinct unless a test repeats a line on purpose.
                fingerprint: (n << 20) ^ (line_id as u64),
                posted_date: day(5),
            });
        }

        /// A normally settled sale: principal, 15 % commission, FBA fee 3.22.
        fn settled(&mut self, n: u64, principal: i64) {
            self.line(n, Sale, Principal, principal);
            self.line(n, Sale, Commission, -div_round_half_away(principal as i128 * 1500, 10_000) as i64);
            self.line(n, Sale, FbaPerUnitFee, -322);
        }
    }

    fn config() -> ReconcileConfig {
        ReconcileConfig {
            fee_schedules: vec![FeeScheduleRule {
                store: None,
                marketplace: Some("Amazon.com".into()),
                schedule: FeeSchedule {
                    referral_rate_basis_points: 1500,
                    fba_fee_per_unit_minor: Some(322),
                    tolerance_minor: 0,
                },
            }],
            amount_tolerance_minor: 0,
            as_of: day(31),
        }
    }

    fn check(world: World, expect: &[(u64, Category, &str)]) {
        let mut input = world.input;
        let result = reconcile(&mut input, &config());
        let got: Vec<(OrderId, Category, String)> =
            result.orders.iter().map(|o| (o.order_id.clone(), o.category, o.flags.names())).collect();
        let want: Vec<(OrderId, Category, String)> =
            expect.iter().map(|(n, c, flags)| (id(*n), *c, (*flags).to_owned())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn every_category() {
        let mut w = World::new();
        w.order(1, OrderStatus::Shipped, Some(3), 10_000, None);
        w.settled(1, 10_000);
        w.order(2, OrderStatus::Unshipped, None, 5_000, None);
        w.order(3, OrderStatus::Shipped, Some(10), 5_000, None);
        w.settled(4, 7_000); // order 4 unknown to the ERP
        w.order(5, OrderStatus::Cancelled, None, 2_000, None);
        w.settled(5, 2_000);
        w.order(6, OrderStatus::Shipped, Some(3), 3_000, None);
        w.settled(6, 3_000);
        let duplicate = w.input.lines.last().unwrap().clone();
        w.input.lines.push(LineFacts { line_id: 999, line: 999, settlement_id: 2, ..duplicate });
        w.order(7, OrderStatus::Shipped, Some(3), 4_000, None);
        w.settled(7, 4_000);
        w.line(7, Refund, Principal, -4_000);
        w.order(8, OrderStatus::Shipped, Some(3), 4_000, None);
        w.settled(8, 3_900);
        w.order(9, OrderStatus::Shipped, Some(3), 4_000, None);
        w.line(9, Sale, Principal, 4_000);
        w.line(9, Sale, Commission, -601); // 600 expected
        w.order(10, OrderStatus::Refunded, Some(3), 4_000, None);
        w.settled(10, 4_000);
        w.line(10, Refund, Principal, -4_000);
        w.order(11, OrderStatus::Shipped, Some(3), 4_000, Some(1_000));
        w.settled(11, 4_000);
        w.line(11, Refund, Principal, -1_000);
        w.order(12, OrderStatus::Cancelled, None, 4_000, None);
        check(
            w,
            &[
                (1, Category::Matched, ""),
                (2, Category::NotDue, "not_due"),
                (3, Category::ShippedNotSettled, "shipped_not_settled"),
                (4, Category::SettledNotInOrders, "settled_not_in_orders"),
                (5, Category::CancelledButSettled, "cancelled_but_settled"),
                (6, Category::DuplicateSettlementLine, "duplicate_settlement_line|fee_anomaly"),
                (7, Category::RefundedNotWrittenOff, "refunded_not_written_off"),
                (8, Category::AmountMismatch, "amount_mismatch"),
                (9, Category::FeeAnomaly, "fee_anomaly"),
                (10, Category::Matched, ""),
                (11, Category::Matched, ""),
                (12, Category::NotDue, "not_due"),
            ],
        );
    }

    #[test]
    fn days_since_ship_and_explanations() {
        let mut w = World::new();
        w.order(3, OrderStatus::Shipped, Some(10), 5_000, None);
        w.order(8, OrderStatus::Shipped, Some(3), 4_000, None);
        w.settled(8, 3_900);
        let mut input = w.input;
        let result = reconcile(&mut input, &config());
        assert_eq!(result.orders[0].days_since_ship, Some(21));
        assert_eq!(explain(&result.orders[0]), vec!["shipped 21 day(s) before the as-of date and not yet settled"]);
        assert_eq!(
            explain(&result.orders[1]),
            vec!["settled sales 39.00 USD differ from the order amount 40.00 USD by -1.00 USD"]
        );
    }

    #[test]
    fn no_schedule_no_fee_check() {
        let mut w = World::new();
        w.order(9, OrderStatus::Shipped, Some(3), 4_000, None);
        w.line(9, Sale, Principal, 4_000);
        w.line(9, Sale, Commission, -3_000);
        let mut input = w.input;
        let mut config = config();
        config.fee_schedules.clear();
        assert_eq!(reconcile(&mut input, &config).orders[0].category, Category::Matched);
    }

    #[test]
    fn precedence_is_the_declared_order() {
        let mut flags = Flags::default();
        flags.set(Category::FeeAnomaly);
        flags.set(Category::AmountMismatch);
        assert_eq!(flags.primary(), Category::AmountMismatch);
        flags.set(Category::SettledNotInOrders);
        assert_eq!(flags.primary(), Category::SettledNotInOrders);
        assert_eq!(Flags::default().primary(), Category::Matched);
        for category in Category::ALL {
            assert_eq!(Category::from_name(category.name()), Some(category));
            assert_eq!(Category::from_code(category.code()), Some(category));
        }
    }

    /// Builds a random world: orders with random statuses and random settled lines,
    /// including repeated fingerprints.
    fn arbitrary_world() -> impl Strategy<Value = World> {
        let order = (0u64..40, 0u8..6, proptest::option::of(1u32..28), 0i64..20_000, proptest::option::of(0i64..5_000));
        let line = (0u64..45, prop::bool::ANY, 0u8..4, -20_000i64..20_000, 0u64..6);
        (prop::collection::vec(order, 0..30), prop::collection::vec(line, 0..80)).prop_map(|(orders, lines)| {
            let mut w = World::new();
            let mut seen = std::collections::HashSet::new();
            for (n, status, ship, amount, refunded) in orders {
                if seen.insert(n) {
                    w.order(n, OrderStatus::from_code(status + 1).unwrap(), ship, amount, refunded);
                }
            }
            for (n, refund, component, amount, fingerprint) in lines {
                let component = [Principal, Commission, FbaPerUnitFee, Shipping][component as usize];
                w.line(n, if refund { Refund } else { Sale }, component, amount);
                w.input.lines.last_mut().unwrap().fingerprint = fingerprint;
                w.input.lines.last_mut().unwrap().settlement_id = fingerprint % 3;
            }
            w
        })
    }

    proptest! {
        #[test]
        fn same_input_in_any_order_gives_the_same_result(world in arbitrary_world(), seed in any::<u64>()) {
            let mut input = world.input;
            let expected = reconcile(&mut input.clone(), &config());
            // A deterministic shuffle of both orders and lines.
            let mut state = seed | 1;
            let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            for i in (1..input.orders.len()).rev() { let j = (next() % (i as u64 + 1)) as usize; input.orders.swap(i, j); }
            for i in (1..input.lines.len()).rev() { let j = (next() % (i as u64 + 1)) as usize; input.lines.swap(i, j); }
            let lines = input.lines.len();
            let shuffled = reconcile(&mut input.clone(), &config());
            prop_assert_eq!(&shuffled, &expected);
            // Matched plus unmatched is the whole: every line counted once.
            prop_assert_eq!(expected.orders.iter().map(|o| o.line_count as usize).sum::<usize>(), lines);
            // The same lines cut into parts anywhere (an order's lines in several parts,
            // parts empty, the first part empty) give the same result.
            let mut rest = std::mem::take(&mut input.lines);
            for _ in 0..(next() % 4) {
                let cut = (next() % (rest.len() as u64 + 1)) as usize;
                input.more_lines.push(rest.split_off(cut));
            }
            input.lines = rest;
            prop_assert_eq!(input.line_count(), lines);
            prop_assert_eq!(&reconcile(&mut input.clone(), &config()), &expected);
            // In chunks of any size: the chunks in order are the whole, each chunk's
            // duplicates its own orders' and sorted.
            let chunk_orders = (next() % 7 + 1) as usize;
            let mut chunks = Vec::new();
            reconcile_in_chunks(&mut input, &config(), chunk_orders, &mut |chunk| { chunks.push(chunk); true });
            prop_assert!(chunks.iter().all(|c| !c.orders.is_empty() && c.orders.len() <= chunk_orders));
            prop_assert!(chunks.iter().all(|c| c.duplicates.windows(2).all(|w| w[0] < w[1])));
            let mut joined = Reconciliation::default();
            for chunk in chunks {
                joined.orders.extend(chunk.orders);
                joined.duplicates.extend(chunk.duplicates);
            }
            joined.duplicates.sort_unstable();
            prop_assert_eq!(&joined, &expected);
        }
    }
}
