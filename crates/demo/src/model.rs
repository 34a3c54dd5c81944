//! The demo month's business: three stores, a product catalogue, and every order as a
//! pure function of (seed, store, order index) — so the generator can walk the orders
//! twice (once to total each settlement, once to write) without keeping them in memory.
//!
//! Each order gets its intended [`Category`] first, then the facts that make
//! `tieout_core::reconcile` classify it exactly so (see [`Plan::order`]).

use tieout_core::money::div_round_half_away;
use tieout_core::reconcile::Category;

use crate::rng::{hash2, Permutation, SplitMix64};
use crate::text::{DateStyle, SECONDS_PER_DAY};
use crate::transactions::ReportStyle;

/// Length of a settlement period: Amazon's usual 14 days.
const PERIOD_DAYS: i64 = 14;
/// Stores with more orders than this in the month settle weekly instead (Amazon closes a
/// settlement early when the seller requests a transfer), so that no settlement file
/// passes tieout's file size limit (`limits::FILE_SIZE_BYTES_MAX`, 2 GiB): a 14-day
/// file holds about 0.55 KB per order of the store's month.
const STORE_ORDERS_MAX_FOR_14_DAY_PERIODS: u64 = 3_000_000;
const SHORT_PERIOD_DAYS: i64 = 7;

/// Notation of a store's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Locale {
    /// Dot decimals, ISO dates, comma-separated ERP export with English statuses.
    English,
    /// Decimal comma, dd.mm.yyyy dates, semicolon-separated ERP export (BOM, preamble,
    /// CRLF, as Excel writes) with German statuses.
    German,
}

impl Locale {
    pub(crate) fn decimal(self) -> u8 {
        match self {
            Locale::English => b'.',
            Locale::German => b',',
        }
    }

    pub(crate) fn date_style(self) -> DateStyle {
        match self {
            Locale::English => DateStyle::Iso,
            Locale::German => DateStyle::German,
        }
    }
}

/// One demo store (one marketplace, one currency).
pub(crate) struct StoreSpec {
    pub(crate) name: &'static str,
    /// As settlement files write it (case differs from the ERP's for the UK, as in real files).
    pub(crate) settlement_marketplace: &'static str,
    /// As the ERP export and the fee schedule write it.
    pub(crate) marketplace: &'static str,
    pub(crate) currency: &'static str,
    pub(crate) share_percent: u64,
    pub(crate) referral_rate_basis_points: i64,
    pub(crate) fba_fee_per_unit_minor: i64,
    /// US: marketplace facilitator tax pairs (`Tax` +x, `MarketplaceFacilitatorTax-Principal` −x).
    pub(crate) facilitator_tax: bool,
    pub(crate) locale: Locale,
    /// Whether component rows repeat the currency (real files do both).
    pub(crate) repeat_currency: bool,
    pub(crate) order_id_prefixes: &'static [u64],
    /// Periods start this many days before the month (a different weekday per store;
    /// taken modulo the period length).
    pub(crate) anchor_days_before: i64,
    pub(crate) period_start_second_of_day: i64,
    pub(crate) subscription_fee_minor: i64,
    pub(crate) mfn_shipping_minor: i64,
    pub(crate) expedited_shipping_minor: i64,
    /// Index into [`Product::prices`].
    pub(crate) price_column: usize,
    /// Leading digit of the store's 11-digit settlement ids (keeps them unique).
    pub(crate) settlement_id_lead: u64,
    pub(crate) promotion_ids: [&'static str; 4],
    /// The words and notation of the store's Date Range transaction report.
    pub(crate) transaction_report: ReportStyle,
    /// How a transaction report's payout row names the bank account it goes to.
    pub(crate) payout_description: &'static str,
}

pub(crate) static STORES: [StoreSpec; 3] = [
    StoreSpec {
        name: "acme-us",
        settlement_marketplace: "Amazon.com",
        marketplace: "Amazon.com",
        currency: "USD",
        share_percent: 50,
        referral_rate_basis_points: 1500,
        fba_fee_per_unit_minor: 322,
        facilitator_tax: true,
        locale: Locale::English,
        repeat_currency: true,
        order_id_prefixes: &[111, 112, 113, 114],
        anchor_days_before: 3,
        period_start_second_of_day: 6 * 3600 + 13 * 60 + 41,
        subscription_fee_minor: 3999,
        mfn_shipping_minor: 499,
        expedited_shipping_minor: 599,
        price_column: 0,
        settlement_id_lead: 2,
        promotion_ids: ["A2QX7K9LMN3PZ8", "US-SPRING-SAVE-15", "A1VT8W2RHC4J6E", "FREESHIP-US-25"],
        transaction_report: ReportStyle::Us,
        payout_description: "To account ending in: 123",
    },
    StoreSpec {
        name: "acme-de",
        settlement_marketplace: "Amazon.de",
        marketplace: "Amazon.de",
        currency: "EUR",
        share_percent: 30,
        referral_rate_basis_points: 1500,
        fba_fee_per_unit_minor: 270,
        facilitator_tax: false,
        locale: Locale::German,
        repeat_currency: false,
        order_id_prefixes: &[302, 303, 304, 305, 306],
        anchor_days_before: 8,
        period_start_second_of_day: 7 * 3600 + 49 * 60 + 55,
        subscription_fee_minor: 3900,
        mfn_shipping_minor: 399,
        expedited_shipping_minor: 499,
        price_column: 1,
        settlement_id_lead: 3,
        promotion_ids: ["A3DE5FRUEHLING10", "A17QZ0PLM4XK2T", "DE-VERSANDFREI", "A2B9NWK3ST7YQ1"],
        transaction_report: ReportStyle::De,
        payout_description: "To account ending in: 000",
    },
    StoreSpec {
        name: "acme-uk",
        settlement_marketplace: "amazon.co.uk",
        marketplace: "Amazon.co.uk",
        currency: "GBP",
        share_percent: 20,
        referral_rate_basis_points: 1530,
        fba_fee_per_unit_minor: 251,
        facilitator_tax: false,
        locale: Locale::English,
        repeat_currency: false,
        order_id_prefixes: &[202, 203, 204, 205, 206],
        anchor_days_before: 12,
        period_start_second_of_day: 4 * 3600 + 2 * 60 + 18,
        subscription_fee_minor: 2500,
        mfn_shipping_minor: 299,
        expedited_shipping_minor: 399,
        price_column: 2,
        settlement_id_lead: 4,
        promotion_ids: ["UK-BANKHOL-20", "A9KD2LQ7ZX4MPV", "A3TTR8Y1WQ5NBE", "UK-FREEDEL-10"],
        transaction_report: ReportStyle::Uk,
        payout_description: "To account ending in: 819",
    },
];

/// A Japanese store for tests only: [`generate`](crate::generate) never writes it. It
/// exists so that a transaction report in Japanese carries honest money: yen prices and
/// fees of a yen store, not another store's events written with yen notation. Only its
/// transaction report is written (see `transactions::write_report_as`): its `locale`
/// would write the V2 files and the ERP export with two decimals, wrong for yen, so
/// neither is written for it. Its money is in yen (JPY has no decimals: one minor unit is
/// one yen): yen prices, a referral fee of 10 %, an FBA fee of ¥318 a unit, a ¥4,900
/// monthly subscription; the generator's other amounts, in minor units, are yen here:
/// reserves of 3 % of sales (at least ¥1,000), storage fees of ¥1,000–3,000 plus ¥2 a
/// line, a refund administration fee of at most ¥500.
#[cfg(test)]
pub(crate) static JP_STORE: StoreSpec = StoreSpec {
    name: "acme-jp",
    settlement_marketplace: "Amazon.co.jp",
    marketplace: "Amazon.co.jp",
    currency: "JPY",
    share_percent: 10,
    referral_rate_basis_points: 1000,
    fba_fee_per_unit_minor: 318,
    facilitator_tax: false,
    locale: Locale::English,
    repeat_currency: false,
    order_id_prefixes: &[249, 250, 503],
    anchor_days_before: 5,
    period_start_second_of_day: 2 * 3600 + 31 * 60 + 7,
    subscription_fee_minor: 4900,
    mfn_shipping_minor: 500,
    expedited_shipping_minor: 600,
    price_column: 3,
    settlement_id_lead: 5,
    promotion_ids: ["A3JP8HARU10", "A1KX7Q2ZP9MW4R", "JP-SORYOMURYO", "A2N5TC8VDL3YB6"],
    transaction_report: ReportStyle::Jp,
    payout_description: "To account ending in: 456",
};

pub(crate) struct Product {
    pub(crate) sku: &'static str,
    /// Unit price in minor units: USD, EUR, GBP, JPY (the test-only `JP_STORE`).
    pub(crate) prices: [i64; 4],
    /// Relative popularity.
    pub(crate) weight: u64,
}

pub(crate) static CATALOGUE: [Product; 16] = [
    Product { sku: "NX-HD-1200", prices: [12_999, 11_999, 10_999, 17_980], weight: 6 },
    Product { sku: "NX-CB-0450", prices: [4_450, 3_995, 3_499, 1_980], weight: 9 },
    Product { sku: "NX-AC-0071", prices: [4_550, 4_290, 3_850, 5_480], weight: 8 },
    Product { sku: "NX-LT-0032", prices: [1_999, 1_899, 1_599, 2_980], weight: 10 },
    Product { sku: "NX-PW-0210", prices: [2_999, 2_799, 2_499, 3_980], weight: 9 },
    Product { sku: "NX-KB-0880", prices: [8_999, 8_499, 7_499, 11_800], weight: 5 },
    Product { sku: "NX-MS-0140", prices: [2_499, 2_299, 1_999, 2_980], weight: 8 },
    Product { sku: "NX-ST-0605", prices: [5_999, 5_499, 4_999, 6_980], weight: 6 },
    Product { sku: "NX-CL-0019", prices: [799, 749, 649, 980], weight: 10 },
    Product { sku: "NX-BG-0330", prices: [3_499, 3_295, 2_795, 3_980], weight: 6 },
    Product { sku: "NX-HP-2100", prices: [21_000, 19_900, 17_900, 29_800], weight: 3 },
    Product { sku: "NX-TV-5500", prices: [129_999, 114_118, 99_999, 159_800], weight: 1 },
    Product { sku: "NX-FL-0075", prices: [1_299, 1_199, 999, 1_680], weight: 7 },
    Product { sku: "NX-SP-0950", prices: [9_500, 8_990, 7_900, 12_800], weight: 4 },
    Product { sku: "NX-CH-0024", prices: [2_450, 2_290, 1_990, 2_480], weight: 8 },
    Product { sku: "NX-WT-0410", prices: [4_199, 3_999, 3_499, 3_280], weight: 5 },
];

/// US sales tax rates by ship-to state, in basis points (0: a state without sales tax).
const US_TAX_BASIS_POINTS: [i64; 8] = [0, 400, 600, 625, 725, 825, 887, 950];

/// Intended categories, per 10 000 orders, in the order they are drawn.
const CATEGORY_RATES_PER_10_000: [(Category, u64); 8] = [
    (Category::NotDue, 300),
    (Category::ShippedNotSettled, 100),
    (Category::SettledNotInOrders, 50),
    (Category::CancelledButSettled, 30),
    (Category::DuplicateSettlementLine, 20),
    (Category::RefundedNotWrittenOff, 100),
    (Category::AmountMismatch, 50),
    (Category::FeeAnomaly, 50),
];

/// Share of matched orders refunded (and written off in the ERP), per 10 000: with the
/// refunded-not-written-off ones, about 4 % of all orders are refunded.
const MATCHED_REFUND_RATE_PER_10_000: u64 = 323;

/// Order status as the ERP writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErpStatus {
    Pending,
    Unshipped,
    Shipped,
    Cancelled,
    Refunded,
}

impl ErpStatus {
    pub(crate) fn text(self, locale: Locale) -> &'static str {
        match (locale, self) {
            (Locale::English, ErpStatus::Pending) => "Pending",
            (Locale::English, ErpStatus::Unshipped) => "Unshipped",
            (Locale::English, ErpStatus::Shipped) => "Shipped",
            (Locale::English, ErpStatus::Cancelled) => "Cancelled",
            (Locale::English, ErpStatus::Refunded) => "Refunded",
            (Locale::German, ErpStatus::Pending) => "Ausstehend",
            (Locale::German, ErpStatus::Unshipped) => "Offen",
            (Locale::German, ErpStatus::Shipped) => "Versendet",
            (Locale::German, ErpStatus::Cancelled) => "Storniert",
            (Locale::German, ErpStatus::Refunded) => "Erstattet",
        }
    }

    /// Whether the ERP export gives a ship date.
    pub(crate) fn has_ship_date(self) -> bool {
        matches!(self, ErpStatus::Shipped | ErpStatus::Refunded)
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Item {
    pub(crate) product: usize,
    pub(crate) quantity: u32,
    /// 14-digit order-item-code, unique in the month.
    pub(crate) code: u64,
    /// Fulfilled by Amazon (FBA) rather than by the merchant.
    pub(crate) afn: bool,
    /// Line total: unit price × quantity.
    pub(crate) principal_minor: i64,
    pub(crate) shipping_minor: i64,
    /// Discount (positive; settled as a negative `Promotion` line).
    pub(crate) promotion_minor: i64,
    pub(crate) promotion_on_shipping: bool,
    pub(crate) promotion_id: usize,
    /// US sales tax rate of the ship-to state (0 elsewhere).
    pub(crate) tax_basis_points: i64,
    /// US sales tax (0 elsewhere).
    pub(crate) tax_minor: i64,
    /// Referral fee charged (positive).
    pub(crate) commission_minor: i64,
    /// FBA fulfilment fee charged (positive; 0 for MFN items).
    pub(crate) fba_fee_minor: i64,
}

impl Item {
    /// What the item adds to the order amount (and to the settled amount).
    pub(crate) fn amount_minor(&self) -> i64 {
        self.principal_minor + self.shipping_minor - self.promotion_minor
    }

    pub(crate) fn sku(&self) -> &'static str {
        CATALOGUE[self.product].sku
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Refund {
    pub(crate) posted: i64,
    /// Random word behind the adjustment id.
    pub(crate) adjustment: u64,
    /// All items in full, or one item's principal in part.
    pub(crate) full: bool,
    pub(crate) item: usize,
    pub(crate) partial_principal_minor: i64,
}

/// Which Order line of an item a duplicate repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DuplicatedLine {
    Principal,
    Commission,
    FbaFee,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Duplicate {
    pub(crate) item: usize,
    pub(crate) line: DuplicatedLine,
    /// Settlement period (of the same store) the copy is written to.
    pub(crate) period: usize,
}

/// One order, everything both sides say about it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Order {
    /// Packed 17-digit Amazon order id.
    pub(crate) id: u64,
    pub(crate) category: Category,
    pub(crate) status: ErpStatus,
    /// Whether the ERP export has the order.
    pub(crate) in_erp: bool,
    /// Whether Amazon settled (shipped and paid) it.
    pub(crate) settled: bool,
    pub(crate) purchased: i64,
    /// When Amazon shipped it; `None` when it never shipped.
    pub(crate) shipped: Option<i64>,
    pub(crate) shipment: u64,
    pub(crate) items: [Item; 3],
    pub(crate) item_count: usize,
    pub(crate) refund: Option<Refund>,
    pub(crate) duplicate: Option<Duplicate>,
    /// What the ERP wrote off for refunds.
    pub(crate) written_off_minor: i64,
    /// Added to the first item's price in the ERP export (amount mismatches).
    pub(crate) erp_price_delta_minor: i64,
}

impl Order {
    pub(crate) fn items(&self) -> &[Item] {
        &self.items[..self.item_count]
    }

    /// The order amount both sides agree on when nothing is wrong.
    pub(crate) fn amount_minor(&self) -> i64 {
        self.items().iter().map(Item::amount_minor).sum()
    }

    /// Refunds settled, as reconciliation counts them (principal, shipping, promotions).
    pub(crate) fn refunded_minor(&self) -> i64 {
        match self.refund {
            None => 0,
            Some(refund) if refund.full => self.amount_minor(),
            Some(refund) => refund.partial_principal_minor,
        }
    }
}

/// A store's part of the month.
#[derive(Clone)]
pub(crate) struct StorePlan {
    pub(crate) spec: &'static StoreSpec,
    pub(crate) index: usize,
    pub(crate) orders: u64,
    /// Index of the store's first order among all orders (keeps ids unique).
    pub(crate) first_global: u64,
    /// Start of period 0 (before the month start).
    pub(crate) anchor: i64,
    pub(crate) period_seconds: i64,
    /// The last period any line can fall into.
    pub(crate) last_possible_period: usize,
}

impl StorePlan {
    pub(crate) fn period_of(&self, seconds: i64) -> usize {
        let period = (seconds - self.anchor).div_euclid(self.period_seconds);
        assert!((0..=self.last_possible_period as i64).contains(&period), "a posted time inside the planned periods");
        period as usize
    }

    pub(crate) fn period_start(&self, period: usize) -> i64 {
        self.anchor + period as i64 * self.period_seconds
    }
}

/// Longest delays: shipping after purchase, refund after shipping (whole days, plus
/// the time-of-day jitter below).
const SHIP_DAYS_MAX: i64 = 3;
const SHIP_JITTER_SECONDS_MAX: i64 = 8 * 3600;
/// Unsettled orders purchased in the month's last days are pending or unshipped.
const OPEN_ORDER_DAYS: i64 = 4;
const REFUND_DAYS_MIN: i64 = 3;
const REFUND_DAYS_MAX: i64 = 20;

/// The generated month: stores, calendar and id permutations.
pub(crate) struct Plan {
    pub(crate) seed: u64,
    pub(crate) month_start: i64,
    pub(crate) next_month_start: i64,
    pub(crate) stores: Vec<StorePlan>,
    order_numbers: Permutation,
    item_codes: Permutation,
}

const ORDER_NUMBER_SPACE: u64 = 100_000_000_000_000;
const ITEM_CODE_FIRST: u64 = 10_000_000_000_000;
const ITEM_CODE_SPACE: u64 = 90_000_000_000_000;
const ITEMS_PER_ORDER_MAX: u64 = 3;

impl Plan {
    pub(crate) fn new(seed: u64, orders: u64, month_start: i64, next_month_start: i64) -> Plan {
        let mut stores = Vec::with_capacity(STORES.len());
        let mut first_global = 0;
        for (index, spec) in STORES.iter().enumerate() {
            let count =
                if index + 1 == STORES.len() { orders - first_global } else { orders * spec.share_percent / 100 };
            stores.push(store_plan(spec, index, count, first_global, month_start, next_month_start));
            first_global += count;
        }
        Plan {
            seed,
            month_start,
            next_month_start,
            stores,
            order_numbers: Permutation::new(seed, 1, ORDER_NUMBER_SPACE),
            item_codes: Permutation::new(seed, 2, ITEM_CODE_SPACE),
        }
    }

    /// A store outside [`STORES`] (the test-only [`JP_STORE`]) as one more store of the
    /// month: its share of the month's orders in addition to them, numbered after them.
    #[cfg(test)]
    pub(crate) fn extra_store(&self, spec: &'static StoreSpec) -> StorePlan {
        let first_global: u64 = self.stores.iter().map(|store| store.orders).sum();
        let count = (first_global * spec.share_percent / 100).max(1);
        store_plan(spec, self.stores.len(), count, first_global, self.month_start, self.next_month_start)
    }

    /// Order `k` of a store (orders are in purchase order). A pure function of the seed.
    ///
    /// How each intended category is made to come out of `reconcile` (and nothing
    /// earlier in its precedence):
    /// * every settled order's `Order` lines carry exactly the ERP's price, shipping and
    ///   discount, its commission is exactly the schedule's, its FBA fee exactly
    ///   quantity × fee per unit, and each item has its own order-item-code, so no line
    ///   repeats another's fingerprint;
    /// * refunds of matched orders are written off in full (ERP refunded amount = refunds
    ///   settled; status `Refunded` or `Shipped`);
    /// * each anomaly breaks exactly one of these facts (see the match below).
    pub(crate) fn order(&self, store: &StorePlan, k: u64) -> Order {
        let spec = store.spec;
        let global = store.first_global + k;
        let mut rng = SplitMix64::new(hash2(self.seed, global));
        let category = draw_category(rng.below(10_000));
        let purchased = self.purchase_time(store, k, &mut rng);
        let prefix = spec.order_id_prefixes[rng.below(spec.order_id_prefixes.len() as u64) as usize];
        let id = prefix * ORDER_NUMBER_SPACE + self.order_numbers.apply(global);
        let tax_basis_points = if spec.facilitator_tax {
            US_TAX_BASIS_POINTS[rng.below(US_TAX_BASIS_POINTS.len() as u64) as usize]
        } else {
            0
        };
        let item_count = match rng.below(100) {
            0..78 => 1,
            78..95 => 2,
            _ => 3,
        };
        let mut items = [Item::default(); 3];
        for (index, item) in items.iter_mut().take(item_count).enumerate() {
            let code = ITEM_CODE_FIRST + self.item_codes.apply(global * ITEMS_PER_ORDER_MAX + index as u64);
            *item = draw_item(spec, code, tax_basis_points, &mut rng);
        }
        let ship_days = match rng.below(100) {
            0..30 => 0,
            30..70 => 1,
            70..90 => 2,
            _ => SHIP_DAYS_MAX,
        };
        let shipped = purchased + ship_days * SECONDS_PER_DAY + rng.between(600, SHIP_JITTER_SECONDS_MAX);
        let mut order = Order {
            id,
            category,
            status: ErpStatus::Shipped,
            in_erp: true,
            settled: true,
            purchased,
            shipped: Some(shipped),
            shipment: rng.next_u64(),
            items,
            item_count,
            refund: None,
            duplicate: None,
            written_off_minor: 0,
            erp_price_delta_minor: 0,
        };
        match category {
            // Never shipped, never settled: nothing is owed yet. Orders of the month's last
            // days are still open; older ones were mostly cancelled.
            Category::NotDue => {
                let late = purchased >= self.next_month_start - OPEN_ORDER_DAYS * SECONDS_PER_DAY;
                order.status = match (late, rng.below(100)) {
                    (true, 0..50) => ErpStatus::Pending,
                    (true, _) => ErpStatus::Unshipped,
                    (false, 0..70) => ErpStatus::Cancelled,
                    (false, _) => ErpStatus::Unshipped,
                };
                order.shipped = None;
                order.settled = false;
            }
            // Shipped per the ERP, but Amazon's lines are simply missing.
            Category::ShippedNotSettled => order.settled = false,
            // Shipped (and first posted) inside the month, so the order belongs to the
            // month by its first posting as well as by its purchase.
            Category::SettledNotInOrders => {
                order.in_erp = false;
                if shipped >= self.next_month_start {
                    order.shipped = Some(purchased + (self.next_month_start - purchased) / 2);
                }
            }
            // Amazon shipped and settled it; the ERP says cancelled (and gives no ship date).
            Category::CancelledButSettled => order.status = ErpStatus::Cancelled,
            Category::DuplicateSettlementLine => {
                let item = rng.below(item_count as u64) as usize;
                let line = match rng.below(if order.items[item].afn { 3 } else { 2 }) {
                    0 => DuplicatedLine::Principal,
                    1 => DuplicatedLine::Commission,
                    _ => DuplicatedLine::FbaFee,
                };
                let period = (store.period_of(shipped) + rng.below(2) as usize).min(store.last_possible_period);
                order.duplicate = Some(Duplicate { item, line, period });
            }
            // Refund settled; the ERP still says Shipped and wrote off nothing.
            Category::RefundedNotWrittenOff => order.refund = Some(draw_refund(&order, shipped, 40, &mut rng)),
            Category::AmountMismatch => {
                let magnitude = rng.between(1, 500);
                let negative = rng.percent(50) && order.items[0].principal_minor > magnitude;
                order.erp_price_delta_minor = if negative { -magnitude } else { magnitude };
            }
            // Overcharged: a commission above the schedule, or an FBA fee for one unit too many.
            Category::FeeAnomaly => {
                let item = &mut order.items[0];
                if item.afn && rng.percent(40) {
                    item.fba_fee_minor += spec.fba_fee_per_unit_minor;
                } else {
                    item.commission_minor += rng.between(1, 300);
                }
            }
            Category::Matched => {
                if rng.below(10_000) < MATCHED_REFUND_RATE_PER_10_000 {
                    let refund = draw_refund(&order, shipped, 40, &mut rng);
                    order.refund = Some(refund);
                    order.written_off_minor = order.refunded_minor();
                    order.status =
                        if refund.full || rng.percent(30) { ErpStatus::Refunded } else { ErpStatus::Shipped };
                }
            }
        }
        order
    }

    /// Purchase times are spread evenly over the month and non-decreasing in `k`, so
    /// every file comes out in purchase order without sorting.
    fn purchase_time(&self, store: &StorePlan, k: u64, rng: &mut SplitMix64) -> i64 {
        let month_seconds = (self.next_month_start - self.month_start) as u64;
        let low = k * month_seconds / store.orders;
        let high = (k + 1) * month_seconds / store.orders;
        self.month_start + (low + rng.below((high - low).max(1))) as i64
    }
}

/// A store's periods: 14 days (7 above [`STORE_ORDERS_MAX_FOR_14_DAY_PERIODS`] orders),
/// from the one holding the month start to the last one a line can fall into.
fn store_plan(
    spec: &'static StoreSpec,
    index: usize,
    orders: u64,
    first_global: u64,
    month_start: i64,
    next_month_start: i64,
) -> StorePlan {
    let period_days = if orders > STORE_ORDERS_MAX_FOR_14_DAY_PERIODS { SHORT_PERIOD_DAYS } else { PERIOD_DAYS };
    let period_seconds = period_days * SECONDS_PER_DAY;
    // Period 0 holds the month start and begins before it, at a time of day that is not
    // midnight: so periods always cross the month's start and end.
    let anchor =
        month_start - (spec.anchor_days_before % period_days) * SECONDS_PER_DAY + spec.period_start_second_of_day;
    let latest_posting = next_month_start
        + SHIP_DAYS_MAX * SECONDS_PER_DAY
        + SHIP_JITTER_SECONDS_MAX
        + (REFUND_DAYS_MAX + 1) * SECONDS_PER_DAY;
    let last_possible_period = ((latest_posting - anchor) / period_seconds) as usize;
    StorePlan { spec, index, orders, first_global, anchor, period_seconds, last_possible_period }
}

fn draw_category(roll: u64) -> Category {
    let mut threshold = 0;
    for (category, rate) in CATEGORY_RATES_PER_10_000 {
        threshold += rate;
        if roll < threshold {
            return category;
        }
    }
    Category::Matched
}

fn draw_product(rng: &mut SplitMix64) -> usize {
    let total: u64 = CATALOGUE.iter().map(|p| p.weight).sum();
    let mut roll = rng.below(total);
    for (index, product) in CATALOGUE.iter().enumerate() {
        if roll < product.weight {
            return index;
        }
        roll -= product.weight;
    }
    unreachable!("roll below the total weight")
}

fn draw_item(spec: &StoreSpec, code: u64, tax_basis_points: i64, rng: &mut SplitMix64) -> Item {
    let product = draw_product(rng);
    let quantity = match rng.below(100) {
        0..85 => 1,
        85..96 => 2,
        _ => 3,
    };
    let principal_minor = CATALOGUE[product].prices[spec.price_column] * quantity as i64;
    let afn = rng.percent(80);
    let shipping_minor = if !afn && rng.percent(70) {
        spec.mfn_shipping_minor
    } else if afn && rng.percent(8) {
        spec.expedited_shipping_minor
    } else {
        0
    };
    let mut promotion_minor = 0;
    let mut promotion_on_shipping = false;
    if rng.percent(8) {
        if shipping_minor > 0 && rng.percent(50) {
            promotion_minor = shipping_minor;
            promotion_on_shipping = true;
        } else {
            promotion_minor = (principal_minor * rng.between(10, 25) / 100).max(1);
        }
    }
    let promotion_id = rng.below(spec.promotion_ids.len() as u64) as usize;
    let sales_minor = principal_minor + shipping_minor;
    Item {
        product,
        quantity,
        code,
        afn,
        principal_minor,
        shipping_minor,
        promotion_minor,
        promotion_on_shipping,
        promotion_id,
        tax_basis_points,
        tax_minor: rate_of(principal_minor, tax_basis_points),
        // Exactly the schedule's referral fee: reconciliation rounds the same way.
        commission_minor: rate_of(sales_minor, spec.referral_rate_basis_points),
        fba_fee_minor: if afn { spec.fba_fee_per_unit_minor * quantity as i64 } else { 0 },
    }
}

/// `amount × basis points / 10 000`, rounded half away from zero (tieout's fee rule).
pub(crate) fn rate_of(amount_minor: i64, basis_points: i64) -> i64 {
    div_round_half_away(amount_minor as i128 * basis_points as i128, 10_000) as i64
}

fn draw_refund(order: &Order, shipped: i64, full_percent: u64, rng: &mut SplitMix64) -> Refund {
    let posted =
        shipped + rng.between(REFUND_DAYS_MIN, REFUND_DAYS_MAX) * SECONDS_PER_DAY + rng.between(0, SECONDS_PER_DAY - 1);
    let full = rng.percent(full_percent);
    let item = rng.below(order.item_count as u64) as usize;
    let principal = order.items[item].principal_minor;
    let partial_principal_minor = (principal * rng.between(20, 80) / 100).max(1);
    Refund { posted, adjustment: rng.next_u64(), full, item, partial_principal_minor }
}
