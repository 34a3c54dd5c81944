//! The records readers produce, with their provenance, and the pure functions that give
//! marketplace text its accounting meaning (which transaction types are orders, which
//! amount descriptions are fees, which lines are reserves or carry-overs).
//!
//! Text fields are [`Sym`]s of the [`Interner`] that travels with the records, so a
//! settlement line is a fixed-size record (see `intern`). Provenance is the file (known
//! to the caller, who hashed it) plus the 1-based `line` on every record.

use chrono::NaiveDate;

use crate::diag::Diagnostic;
use crate::ids::OrderId;
use crate::intern::{Interner, Sym};
use crate::money::Currency;

/// The formats tieout reads, as detected from a file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// Amazon settlement flat file V2 (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`).
    AmazonSettlementV2,
    /// Amazon settlement flat file "V1" (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE`), 33 or 36 columns.
    AmazonSettlementV1,
    /// Amazon "All Orders" order report (tab-separated).
    AmazonOrdersReport,
    /// An ERP order export (CSV or XLSX) read through a column mapping.
    ErpOrders,
    /// ISO 20022 camt.053 bank statement (XML; camt.052/054 read alike).
    Camt053,
    /// SWIFT MT940 bank statement.
    Mt940,
    /// Alipay account statement (账务明细) or personal bill, GBK.
    AlipayStatement,
    /// WeChat Pay merchant bill.
    WechatPayBill,
    /// Any tabular statement (payment tool, bank CSV) read through a statement profile.
    ProfileStatement,
    /// Amazon Date Range transaction report (CSV, every locale): released rows become
    /// settlement lines, deferred rows are kept apart.
    AmazonTransactionReport,
    /// Counterparty documents (invoices, refunds, payments; purchases …) for statements.
    LedgerDocuments,
    /// A counterparty's own statement, matched line by line against ours.
    CounterpartyStatement,
}

impl SourceFormat {
    pub const ALL: [SourceFormat; 12] = [
        SourceFormat::AmazonSettlementV2,
        SourceFormat::AmazonSettlementV1,
        SourceFormat::AmazonOrdersReport,
        SourceFormat::ErpOrders,
        SourceFormat::Camt053,
        SourceFormat::Mt940,
        SourceFormat::AlipayStatement,
        SourceFormat::WechatPayBill,
        SourceFormat::ProfileStatement,
        SourceFormat::AmazonTransactionReport,
        SourceFormat::LedgerDocuments,
        SourceFormat::CounterpartyStatement,
    ];

    /// Stable name, used in the store and in output.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::AmazonSettlementV2 => "amazon-settlement-v2",
            SourceFormat::AmazonSettlementV1 => "amazon-settlement-v1",
            SourceFormat::AmazonOrdersReport => "amazon-orders-report",
            SourceFormat::ErpOrders => "erp-orders",
            SourceFormat::Camt053 => "camt053",
            SourceFormat::Mt940 => "mt940",
            SourceFormat::AlipayStatement => "alipay",
            SourceFormat::WechatPayBill => "wechatpay",
            SourceFormat::ProfileStatement => "statement-profile",
            SourceFormat::AmazonTransactionReport => "amazon-transactions",
            SourceFormat::LedgerDocuments => "ledger-documents",
            SourceFormat::CounterpartyStatement => "counterparty-statement",
        }
    }

    /// What a user would call it.
    pub fn description(self) -> &'static str {
        match self {
            SourceFormat::AmazonSettlementV2 => "Amazon settlement report, flat file V2 (tab-separated)",
            SourceFormat::AmazonSettlementV1 => "Amazon settlement report, legacy flat file V1 (33/36 columns)",
            SourceFormat::AmazonOrdersReport => "Amazon All Orders report (tab-separated)",
            SourceFormat::ErpOrders => "ERP order export (CSV or XLSX, with a column mapping)",
            SourceFormat::Camt053 => "bank statement, ISO 20022 camt.053 (XML)",
            SourceFormat::Mt940 => "bank statement, SWIFT MT940",
            SourceFormat::AlipayStatement => "Alipay statement 支付宝账务明细 (GBK CSV)",
            SourceFormat::WechatPayBill => "WeChat Pay merchant bill 微信支付账单",
            SourceFormat::ProfileStatement => "payment-tool or bank statement (CSV/XLSX, with a statement profile)",
            SourceFormat::AmazonTransactionReport => {
                "Amazon Date Range transaction report (CSV; English, German, French, Italian, Spanish, Japanese)"
            }
            SourceFormat::LedgerDocuments => {
                "counterparty documents 往来单据 (CSV or XLSX: counterparty, type, number, date, amount, currency; other headers through a documents mapping)"
            }
            SourceFormat::CounterpartyStatement => "a counterparty's own statement (CSV, as counterparty documents)",
        }
    }

    pub fn from_name(name: &str) -> Option<SourceFormat> {
        SourceFormat::ALL.into_iter().find(|format| format.name() == name)
    }
}

/// The summary row of one settlement (the first data row of a settlement file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementHeader {
    pub settlement_id: u64,
    /// Line of the summary row in its file.
    pub line: u32,
    pub start_utc_seconds: i64,
    pub end_utc_seconds: i64,
    /// Empty in some files (e.g. a settlement with a negative total is not deposited).
    pub deposit_utc_seconds: Option<i64>,
    /// Net amount paid out (negative: owed to Amazon).
    pub total_minor: i64,
    pub currency: Currency,
    /// Sum of every component line's amount, computed by the reader.
    pub lines_sum_minor: i64,
    pub line_count: u32,
}

impl SettlementHeader {
    /// `total - sum(lines)`; non-zero means the settlement is inconsistent (Amazon omitted
    /// lines, or the file is incomplete). Reported, never silently accepted.
    pub fn difference_minor(&self) -> i64 {
        self.total_minor - self.lines_sum_minor
    }

    pub fn is_consistent(&self) -> bool {
        self.difference_minor() == 0
    }
}

/// One amount component of a settlement (one V2 row; V1 rows are converted to these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementLine {
    pub settlement_id: u64,
    /// 1-based line in the file.
    pub line: u32,
    pub transaction_type: Sym,
    pub order_id: Option<OrderId>,
    pub merchant_order_id: Sym,
    pub adjustment_id: Sym,
    pub shipment_id: Sym,
    /// As written in the file; compare with [`normalize_marketplace`].
    pub marketplace: Sym,
    pub amount_type: Sym,
    pub amount_description: Sym,
    pub amount_minor: i64,
    pub currency: Currency,
    /// `AFN` (fulfilled by Amazon) or `MFN` (by the merchant), or empty.
    pub fulfillment: Sym,
    pub posted_utc_seconds: i64,
    pub order_item_code: Sym,
    pub sku: Sym,
    pub quantity: u32,
    pub promotion_id: Sym,
    /// Derived from the text fields by [`classify_line`].
    pub transaction: TransactionClass,
    pub component: Component,
    pub kind: LineKind,
}

/// What a reader of settlement files returns.
#[derive(Clone, Debug, Default)]
pub struct SettlementFile {
    pub strings: Interner,
    pub settlements: Vec<SettlementHeader>,
    pub lines: Vec<SettlementLine>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The accounting meaning of a transaction type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TransactionClass {
    Order = 1,
    Refund = 2,
    Chargeback = 3,
    Retrocharge = 4,
    ServiceFee = 5,
    Adjustment = 6,
    Transfer = 7,
    CarryOver = 8,
    Other = 9,
}

/// The accounting meaning of an amount line (amount type + description).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Component {
    Principal = 1,
    Shipping = 2,
    GiftWrap = 3,
    Tax = 4,
    /// Tax collected and remitted by the marketplace (nets the `Tax` line to zero).
    FacilitatorTax = 5,
    Promotion = 6,
    Commission = 7,
    FbaPerUnitFee = 8,
    RefundCommission = 9,
    OtherFee = 10,
    Reserve = 11,
    Other = 12,
}

/// Lines that are not transactions of this period but move money between periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LineKind {
    Transaction = 1,
    /// `Previous Reserve Amount Balance` (+) and `Current Reserve Amount` (−).
    Reserve = 2,
    /// V1 `Payable to Amazon` (a negative previous settlement carried over) and
    /// `Successful charge` (the card charge that covered it).
    CarryOver = 3,
}

macro_rules! u8_codes {
    ($name:ident { $($variant:ident),* $(,)? }) => {
        impl $name {
            pub fn code(self) -> u8 { self as u8 }
            pub fn from_code(code: u8) -> Option<$name> {
                [$($name::$variant),*].into_iter().find(|value| *value as u8 == code)
            }
        }
    };
}
u8_codes!(TransactionClass {
    Order,
    Refund,
    Chargeback,
    Retrocharge,
    ServiceFee,
    Adjustment,
    Transfer,
    CarryOver,
    Other
});
u8_codes!(Component {
    Principal,
    Shipping,
    GiftWrap,
    Tax,
    FacilitatorTax,
    Promotion,
    Commission,
    FbaPerUnitFee,
    RefundCommission,
    OtherFee,
    Reserve,
    Other
});
u8_codes!(LineKind { Transaction, Reserve, CarryOver });

impl Component {
    /// Sales credited for goods: principal, shipping and gift wrap charged to the buyer.
    pub fn is_sale(self) -> bool {
        matches!(self, Component::Principal | Component::Shipping | Component::GiftWrap)
    }

    /// What an order's amount is compared with: sales net of promotions.
    pub fn counts_toward_order_amount(self) -> bool {
        self.is_sale() || self == Component::Promotion
    }

    pub fn is_fee(self) -> bool {
        matches!(
            self,
            Component::Commission | Component::FbaPerUnitFee | Component::RefundCommission | Component::OtherFee
        )
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b)
}

/// Classifies a transaction type (case-insensitive; unknown types are `Other`).
pub fn classify_transaction(transaction_type: &str) -> TransactionClass {
    let t = transaction_type.trim();
    if eq(t, "Order") {
        TransactionClass::Order
    } else if eq(t, "Refund") {
        TransactionClass::Refund
    } else if eq(t, "Chargeback Refund") || eq(t, "Chargeback") || eq(t, "A-to-z Guarantee Claim") {
        TransactionClass::Chargeback
    } else if eq(t, "Order_Retrocharge") || eq(t, "Refund_Retrocharge") {
        TransactionClass::Retrocharge
    } else if eq(t, "ServiceFee")
        || eq(t, "Subscription Fee")
        || eq(t, "Vine Enrollment Fee")
        || eq(t, "CouponRedemptionFee")
    {
        TransactionClass::ServiceFee
    } else if eq(t, "Adjustment") || eq(t, "Liquidations") {
        TransactionClass::Adjustment
    } else if eq(t, "Transfer") || eq(t, "Previous Reserve Amount Balance") {
        TransactionClass::Transfer
    } else if eq(t, "Payable to Amazon") || eq(t, "Successful charge") || eq(t, "Unsuccessful charge") {
        TransactionClass::CarryOver
    } else {
        TransactionClass::Other
    }
}

/// Classifies an amount line by its amount type and description.
pub fn classify_component(amount_type: &str, description: &str) -> Component {
    let d = description.trim();
    if eq(d, "Current Reserve Amount") || eq(d, "Previous Reserve Amount Balance") {
        return Component::Reserve;
    }
    if eq(amount_type, "Promotion") || eq(amount_type, "ItemPromotion") {
        return Component::Promotion;
    }
    if d.to_ascii_lowercase().starts_with("marketplacefacilitator") {
        return Component::FacilitatorTax;
    }
    let is_price = eq(amount_type, "ItemPrice");
    if is_price && eq(d, "Principal") {
        Component::Principal
    } else if is_price && eq(d, "Shipping") {
        Component::Shipping
    } else if is_price && eq(d, "GiftWrap") {
        Component::GiftWrap
    } else if is_price && (eq(d, "Tax") || eq(d, "ShippingTax") || eq(d, "GiftWrapTax")) {
        Component::Tax
    } else if eq(d, "Commission") {
        Component::Commission
    } else if eq(d, "FBAPerUnitFulfillmentFee") {
        Component::FbaPerUnitFee
    } else if eq(d, "RefundCommission") {
        Component::RefundCommission
    } else if eq(amount_type, "ItemFees")
        || eq(amount_type, "ItemRelatedFees")
        || eq(amount_type, "Shipment-Fees")
        || eq(amount_type, "Order-Fees")
    {
        Component::OtherFee
    } else {
        Component::Other
    }
}

/// Classifies a line: (transaction class, component, kind).
pub fn classify_line(
    transaction_type: &str,
    amount_type: &str,
    description: &str,
) -> (TransactionClass, Component, LineKind) {
    let transaction = classify_transaction(transaction_type);
    let component = classify_component(amount_type, description);
    let kind = if component == Component::Reserve || eq(transaction_type, "Previous Reserve Amount Balance") {
        LineKind::Reserve
    } else if transaction == TransactionClass::CarryOver {
        LineKind::CarryOver
    } else {
        LineKind::Transaction
    };
    (transaction, component, kind)
}

/// Marketplace names differ in case between files (`Amazon.co.uk`, `amazon.co.uk`):
/// compare them lower-cased and trimmed.
pub fn normalize_marketplace(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// A stable 64-bit FNV-1a hash, used for duplicate-line fingerprints. Stable across runs,
/// platforms and versions (unlike `std`'s hasher), so stored fingerprints stay valid.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= *byte as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator so that ("ab","c") and ("a","bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A stable 64-bit hash of bytes (word-at-a-time multiply-rotate with a final avalanche).
/// Stable across runs, platforms and versions (unlike `std`'s hasher), so stored
/// fingerprints and item keys stay valid.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = bytes.len() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let mut tail = 0u64;
    for (i, byte) in chunks.remainder().iter().enumerate() {
        tail |= (*byte as u64) << (8 * i);
    }
    h = (h.rotate_left(5) ^ tail).wrapping_mul(K);
    avalanche(h)
}

fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Combines part hashes in order (order matters).
fn combine(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for part in parts {
        h = avalanche(h.rotate_left(23) ^ *part);
    }
    h
}

fn order_hash(order_id: &OrderId) -> u64 {
    match order_id {
        OrderId::Amazon(packed) => avalanche(*packed ^ 0x5a5a_5a5a_0000_0001),
        OrderId::Text(text) => stable_hash(text.as_bytes()) ^ 0x0000_0002_a5a5_a5a5,
    }
}

/// Keys derived from a settlement line's text, computed once at import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineKeys {
    /// See [`line_fingerprint`].
    pub fingerprint: Option<u64>,
    /// Identifies the order item: the hash of order-item-code, or of the SKU without one.
    pub item_key: u64,
}

fn keys_with(line: &SettlementLine, hash_of: &mut impl FnMut(Sym) -> u64) -> LineKeys {
    let item_key = if line.order_item_code.is_empty() { hash_of(line.sku) } else { hash_of(line.order_item_code) };
    let fingerprint = line.order_id.as_ref().map(|order_id| {
        combine(&[
            hash_of(line.transaction_type),
            order_hash(order_id),
            hash_of(line.adjustment_id),
            hash_of(line.shipment_id),
            hash_of(line.order_item_code),
            hash_of(line.sku),
            hash_of(line.amount_type),
            hash_of(line.amount_description),
            hash_of(line.promotion_id),
            line.amount_minor as u64,
        ])
    });
    LineKeys { fingerprint, item_key }
}

/// The fingerprint of a settlement line for duplicate detection: the same charge or
/// credit for the same order item (transaction type, order id, adjustment and shipment
/// ids, order-item-code, SKU, amount type, description, promotion id and amount),
/// whatever settlement or date it was posted in. Lines without an order id (account fees
/// that recur every period) get none.
pub fn line_fingerprint(line: &SettlementLine, strings: &Interner) -> Option<u64> {
    keys_with(line, &mut |sym| stable_hash(strings.resolve(sym).as_bytes())).fingerprint
}

/// [`LineKeys`] of every line of a file, hashing each distinct text once.
pub fn line_keys(file: &SettlementFile) -> Vec<LineKeys> {
    line_keys_of(&file.strings, &file.lines)
}

/// [`LineKeys`] of `lines`, whose symbols `strings` resolves, hashing each distinct text once.
pub fn line_keys_of(strings: &Interner, lines: &[SettlementLine]) -> Vec<LineKeys> {
    LineKeyHasher::default().keys(strings, lines)
}

/// [`LineKeys`] of the parts of a file read in parts: the hash of each distinct text is
/// kept from part to part (the file's one interner grows as it is read).
#[derive(Default)]
pub struct LineKeyHasher {
    hashes: Vec<Option<u64>>,
}

impl LineKeyHasher {
    pub fn keys(&mut self, strings: &Interner, lines: &[SettlementLine]) -> Vec<LineKeys> {
        self.hashes.resize(strings.len(), None);
        let hashes = &mut self.hashes;
        let mut hash_of =
            |sym: Sym| *hashes[sym.0 as usize].get_or_insert_with(|| stable_hash(strings.resolve(sym).as_bytes()));
        lines.iter().map(|line| keys_with(line, &mut hash_of)).collect()
    }
}

/// Order status, as ERP and Amazon exports write it (case-insensitive; common Chinese ERP
/// terms accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum OrderStatus {
    Pending = 1,
    Unshipped = 2,
    PartiallyShipped = 3,
    Shipped = 4,
    Cancelled = 5,
    /// Refunded in the ERP: the refund is written off there.
    Refunded = 6,
}
u8_codes!(OrderStatus { Pending, Unshipped, PartiallyShipped, Shipped, Cancelled, Refunded });

impl OrderStatus {
    pub const NAMES: &'static str = "Pending, Unshipped, PartiallyShipped, Shipped, Shipping, Cancelled, Refunded (or 待付款, 待发货, 部分发货, 已发货, 已取消, 已退款)";

    pub fn parse(text: &str) -> Option<OrderStatus> {
        let t = text.trim();
        let status = match t.to_ascii_lowercase().replace(['_', ' ', '-'], "").as_str() {
            "pending" | "pendingavailability" | "invoiceunconfirmed" => OrderStatus::Pending,
            "unshipped" | "unfulfilled" => OrderStatus::Unshipped,
            "partiallyshipped" => OrderStatus::PartiallyShipped,
            "shipped" | "shipping" | "delivered" | "fulfilled" | "complete" | "completed" => OrderStatus::Shipped,
            "cancelled" | "canceled" => OrderStatus::Cancelled,
            "refunded" | "returned" => OrderStatus::Refunded,
            _ => match t {
                "待付款" => OrderStatus::Pending,
                "待发货" => OrderStatus::Unshipped,
                "部分发货" => OrderStatus::PartiallyShipped,
                "已发货" | "已完成" | "已签收" => OrderStatus::Shipped,
                "已取消" => OrderStatus::Cancelled,
                "已退款" | "已退货" => OrderStatus::Refunded,
                _ => return None,
            },
        };
        Some(status)
    }

    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Pending",
            OrderStatus::Unshipped => "Unshipped",
            OrderStatus::PartiallyShipped => "PartiallyShipped",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Refunded => "Refunded",
        }
    }
}

/// One row of an order export: one item of an order (Amazon's reports and most ERPs
/// write one row per item; an ERP with one row per order is a one-item order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderItem {
    /// 1-based line (or spreadsheet row) in the file.
    pub line: u32,
    pub order_id: OrderId,
    pub store: Sym,
    pub marketplace: Sym,
    pub status: OrderStatus,
    pub purchase_date: NaiveDate,
    pub ship_date: Option<NaiveDate>,
    pub currency: Currency,
    /// This item's part of the order amount: item price + shipping + gift wrap −
    /// promotion discounts (taxes excluded: marketplaces collect them).
    pub amount_minor: i64,
    /// Amount refunded and written off in the ERP, when the export says.
    pub refunded_minor: Option<i64>,
    pub quantity: u32,
    pub sku: Sym,
}

/// What a reader of order exports returns.
#[derive(Clone, Debug, Default)]
pub struct OrderFile {
    pub strings: Interner,
    pub items: Vec<OrderItem>,
    pub diagnostics: Vec<Diagnostic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_lines() {
        assert_eq!(
            classify_line("Order", "ItemPrice", "Principal"),
            (TransactionClass::Order, Component::Principal, LineKind::Transaction)
        );
        assert_eq!(classify_line("Order", "ItemFees", "Commission").1, Component::Commission);
        assert_eq!(
            classify_line("Order", "ItemFees", "MarketplaceFacilitatorVAT-Principal").1,
            Component::FacilitatorTax
        );
        assert_eq!(
            classify_line("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping").1,
            Component::FacilitatorTax
        );
        assert_eq!(classify_line("Refund", "ItemFees", "RefundCommission").1, Component::RefundCommission);
        assert_eq!(classify_line("Transfer", "other-transaction", "Current Reserve Amount").2, LineKind::Reserve);
        assert_eq!(classify_line("Previous Reserve Amount Balance", "", "").2, LineKind::Reserve);
        assert_eq!(classify_line("Payable to Amazon", "other-transaction", "Payable to Amazon").2, LineKind::CarryOver);
        assert_eq!(classify_line("Successful charge", "other-transaction", "Successful charge").2, LineKind::CarryOver);
        assert_eq!(classify_line("ServiceFee", "other-transaction", "Storage Fee").0, TransactionClass::ServiceFee);
        assert_eq!(classify_line("Bestellung", "x", "y").0, TransactionClass::Other);
    }

    #[test]
    fn codes_round_trip() {
        for code in 1..=12u8 {
            assert_eq!(Component::from_code(code).map(Component::code), Some(code));
        }
        assert_eq!(TransactionClass::from_code(0), None);
        assert_eq!(OrderStatus::from_code(OrderStatus::Refunded.code()), Some(OrderStatus::Refunded));
    }

    #[test]
    fn statuses() {
        assert_eq!(OrderStatus::parse("shipped"), Some(OrderStatus::Shipped));
        assert_eq!(OrderStatus::parse("Canceled"), Some(OrderStatus::Cancelled));
        assert_eq!(OrderStatus::parse("已发货"), Some(OrderStatus::Shipped));
        assert_eq!(OrderStatus::parse("Partially Shipped"), Some(OrderStatus::PartiallyShipped));
        assert_eq!(OrderStatus::parse("lost"), None);
    }

    #[test]
    fn line_keys_agree_with_the_single_line_fingerprint() {
        let mut file = SettlementFile::default();
        let mut line = |order: &str, amount: i64, sku: &str, item: &str| {
            let mut strings = std::mem::take(&mut file.strings);
            let transaction_type = strings.intern("Order");
            let sku = strings.intern(sku);
            let order_item_code = strings.intern(item);
            file.strings = strings;
            file.lines.push(SettlementLine {
                settlement_id: 1,
                line: 2,
                transaction_type,
                order_id: OrderId::parse(order),
                merchant_order_id: Sym::EMPTY,
                adjustment_id: Sym::EMPTY,
                shipment_id: Sym::EMPTY,
                marketplace: Sym::EMPTY,
                amount_type: Sym::EMPTY,
                amount_description: Sym::EMPTY,
                amount_minor: amount,
                currency: crate::money::Currency::USD,
                fulfillment: Sym::EMPTY,
                posted_utc_seconds: 0,
                order_item_code,
                sku,
                quantity: 1,
                promotion_id: Sym::EMPTY,
                transaction: TransactionClass::Order,
                component: Component::Principal,
                kind: LineKind::Transaction,
            });
        };
        line("111-0000001-0000001", 100, "A", "1");
        line("111-0000001-0000001", 100, "A", "1");
        line("111-0000001-0000001", 101, "A", "1");
        line("SO-1", 100, "A", "");
        line("", -5, "", "");
        let keys = line_keys(&file);
        for (line, keys) in file.lines.iter().zip(&keys) {
            assert_eq!(keys.fingerprint, line_fingerprint(line, &file.strings));
        }
        assert_eq!(keys[0], keys[1], "identical lines share a fingerprint");
        assert_ne!(keys[0].fingerprint, keys[2].fingerprint, "the amount is part of it");
        assert_ne!(keys[0].fingerprint, keys[3].fingerprint, "the order id is part of it");
        assert_eq!(keys[4].fingerprint, None, "lines without an order id have none");
        assert_eq!(keys[3].item_key, stable_hash(b"A"), "without an order-item-code, the SKU identifies the item");
    }

    #[test]
    fn fingerprints_differ_by_field_boundaries() {
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
        assert_eq!(fnv1a(&[b"x"]), fnv1a(&[b"x"]));
    }
}
