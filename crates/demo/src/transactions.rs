//! Amazon Date Range transaction reports (Seller Central > Payments > Reports Repository >
//! Transaction: the unified transaction CSV), one per store, covering every settlement of
//! the store, in the store's language: `acme-us` English as Amazon.com writes it (Pacific
//! time, `PDT` / `PST`, 12-hour clock), `acme-uk` English as Amazon.co.uk writes it
//! (`fulfilment`, `postage credits`, London time, `BST` / `GMT`), `acme-de` German
//! (`Bestellung`, decimal comma, `01.10.2026 00:03:45 UTC`). The format is described in
//! `../shared/formats/amazon-transaction-range.md`; `tieout_formats::amazon_transactions`
//! reads it (the demo's tests read every report with it).
//!
//! # The same money as the settlement files
//!
//! The report mirrors the V2 files line for line, so that importing either (or both) gives
//! the same settlements:
//!
//! * one row per `Order` or `Refund` event of one item (type `Order` / `Bestellung`,
//!   `Refund` / `Erstattung`), posted at the event's time, with the settlement id of the
//!   period its lines went to. Its V2 lines become columns: `ItemPrice/Principal` →
//!   product sales, `ItemPrice/Shipping` → shipping (postage) credits, `ItemPrice/Tax` →
//!   product sales tax, `Promotion/*` → promotional rebates, `ItemFees/Commission` and
//!   `ItemFees/RefundCommission` → selling fees (net, as Amazon's reports write them),
//!   `ItemFees/FBAPerUnitFulfillmentFee` → fba fees, `ItemFees/MarketplaceFacilitatorTax-*`
//!   → marketplace withheld tax; `other` is 0 and `total` the row's sum;
//! * the duplicated line of a `duplicate_settlement_line` order is a row of its own, in
//!   the settlement it was written to;
//! * each account line the V2 file has is a row whose `other` column holds its amount and
//!   whose description is the V2 file's amount-description (`Storage Fee`, `Previous
//!   Reserve Amount Balance`), so the reader's line is the V2 line: storage and
//!   subscription fees as `Service Fee` (`Servicegebühr`) rows, reserve movements as
//!   `Transfer` (`Übertrag`) rows. The storage fee a settlement file leaves out is left out
//!   here too;
//! * each settlement has one transfer row: type `Transfer`, `other` and `total` =
//!   −(settlement total); with a deposit date, `To account ending in: 123` posted at the
//!   deposit time; a settlement with a negative total (no deposit date: Amazon charges the
//!   seller's card) `Charge to credit card`, posted at the settlement's end.
//!
//! Every row is `Released` (`Veröffentlicht`) with its settlement id: the generator has no
//! deferred transactions. Amounts are in the locale's notation with thousands grouped
//! (`1,052.64`, `1.052,64`), zero as `0`; every field is quoted. Rows come in the order
//! the generator makes them (orders in purchase order, each order's shipment then its
//! refund), then each settlement's account rows and payout: not sorted by date/time, which
//! would need the whole month in memory.

use std::path::Path;

use chrono::{Datelike, NaiveDate};

use crate::model::{StoreSpec, CATALOGUE};
use crate::settlement::{AccountLine, Event, Line, Output, Settlement, Sink};
use crate::text::{civil_from_days, push_datetime, push_order_id, push_padded, push_u64, DateStyle, SECONDS_PER_DAY};
use crate::DemoError;

/// Which Amazon marketplace's report a store gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReportStyle {
    /// Amazon.com: English, Pacific time.
    Us,
    /// Amazon.co.uk: British English words, London time.
    Uk,
    /// Amazon.de: German words, decimal comma, UTC.
    De,
}

impl ReportStyle {
    fn words(self) -> &'static Words {
        match self {
            ReportStyle::Us => &US,
            ReportStyle::Uk => &UK,
            ReportStyle::De => &DE,
        }
    }
}

/// Amount columns; the index into a row's amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Amount {
    ProductSales,
    ProductSalesTax,
    ShippingCredits,
    ShippingCreditsTax,
    GiftWrapCredits,
    GiftWrapCreditsTax,
    RegulatoryFee,
    RegulatoryFeeTax,
    PromotionalRebates,
    PromotionalRebatesTax,
    MarketplaceWithheldTax,
    SellingFees,
    FbaFees,
    OtherTransactionFees,
    Other,
}

const AMOUNT_COUNT: usize = Amount::Other as usize + 1;
/// The transfer row of a settlement with a negative total: the seller's card is charged.
const CARD_CHARGE_DESCRIPTION: &str = "Charge to credit card";

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    DateTime,
    SettlementId,
    Type,
    OrderId,
    Sku,
    Description,
    Quantity,
    Marketplace,
    AccountType,
    Fulfillment,
    /// The demo knows no buyer addresses: city, state and postal code stay empty.
    Address,
    TaxCollectionModel,
    Amount(Amount),
    Total,
    Status,
}

/// How a report writes its dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
    /// `Oct 1, 2026 12:03:45 AM PDT`: Pacific time (PDT / PST), 12-hour clock.
    Pacific,
    /// `1 Oct 2026 15:22:08 BST`: London time (BST / GMT).
    London,
    /// `01.10.2026 00:03:45 UTC`.
    GermanUtc,
}

/// The words and notation of one marketplace's report.
struct Words {
    /// Whether the download starts with a UTF-8 byte order mark (Amazon's do, sometimes).
    bom: bool,
    preamble: &'static [&'static str],
    columns: &'static [(Field, &'static str)],
    order: &'static str,
    refund: &'static str,
    service_fee: &'static str,
    transfer: &'static str,
    seller: &'static str,
    released: &'static str,
    /// `account type` of order rows (US only).
    account_type: &'static str,
    /// `tax collection model` of order rows (US: Amazon collects the sales tax).
    tax_collection_model: &'static str,
    decimal: u8,
    grouping: u8,
    clock: Clock,
    /// Index into a product's [`TITLES`].
    title: usize,
}

use Amount as A;
use Field as F;

static US: Words = Words {
    bom: true,
    preamble: &[
        "Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions",
        "All amounts in USD, unless specified",
        "Definitions:",
        "Sales tax collected: Includes sales tax collected from buyers for product sales, shipping, and gift wrap.",
        "Selling fees: Includes variable closing fees and referral fees.",
        "Other transaction fees: Includes shipping chargebacks, shipping holdbacks, per-item fees  and sales tax collection fees.",
        "Other: Includes non-order transaction amounts. For more details, see the \"Type\" and \"Description\" columns for each order ID.",
    ],
    columns: &[
        (F::DateTime, "date/time"),
        (F::SettlementId, "settlement id"),
        (F::Type, "type"),
        (F::OrderId, "order id"),
        (F::Sku, "sku"),
        (F::Description, "description"),
        (F::Quantity, "quantity"),
        (F::Marketplace, "marketplace"),
        (F::AccountType, "account type"),
        (F::Fulfillment, "fulfillment"),
        (F::Address, "order city"),
        (F::Address, "order state"),
        (F::Address, "order postal"),
        (F::TaxCollectionModel, "tax collection model"),
        (F::Amount(A::ProductSales), "product sales"),
        (F::Amount(A::ProductSalesTax), "product sales tax"),
        (F::Amount(A::ShippingCredits), "shipping credits"),
        (F::Amount(A::ShippingCreditsTax), "shipping credits tax"),
        (F::Amount(A::GiftWrapCredits), "gift wrap credits"),
        (F::Amount(A::GiftWrapCreditsTax), "giftwrap credits tax"),
        (F::Amount(A::RegulatoryFee), "Regulatory Fee"),
        (F::Amount(A::RegulatoryFeeTax), "Tax On Regulatory Fee"),
        (F::Amount(A::PromotionalRebates), "promotional rebates"),
        (F::Amount(A::PromotionalRebatesTax), "promotional rebates tax"),
        (F::Amount(A::MarketplaceWithheldTax), "marketplace withheld tax"),
        (F::Amount(A::SellingFees), "selling fees"),
        (F::Amount(A::FbaFees), "fba fees"),
        (F::Amount(A::OtherTransactionFees), "other transaction fees"),
        (F::Amount(A::Other), "other"),
        (F::Total, "total"),
        (F::Status, "transaction status"),
    ],
    order: "Order",
    refund: "Refund",
    service_fee: "Service Fee",
    transfer: "Transfer",
    seller: "Seller",
    released: "Released",
    account_type: "Standard Orders",
    tax_collection_model: "MarketplaceFacilitator",
    decimal: b'.',
    grouping: b',',
    clock: Clock::Pacific,
    title: 0,
};

static UK: Words = Words {
    bom: false,
    preamble: &[
        "Includes Amazon Marketplace, Fulfilment by Amazon (FBA), and Amazon Webstore transactions",
        "All amounts in GBP, unless specified",
        "Definitions:",
        "Selling fees: Includes variable closing fees and referral fees.",
        "Other transaction fees: Includes postage chargebacks, postage holdbacks and per-item fees.",
        "Other: Includes non-order transaction amounts. For more details, see the \"Type\" and \"Description\" columns for each order ID.",
    ],
    columns: &[
        (F::DateTime, "date/time"),
        (F::SettlementId, "settlement id"),
        (F::Type, "type"),
        (F::OrderId, "order id"),
        (F::Sku, "sku"),
        (F::Description, "description"),
        (F::Quantity, "quantity"),
        (F::Marketplace, "marketplace"),
        (F::Fulfillment, "fulfilment"),
        (F::Address, "order city"),
        (F::Address, "order state"),
        (F::Address, "order postal"),
        (F::TaxCollectionModel, "tax collection model"),
        (F::Amount(A::ProductSales), "product sales"),
        (F::Amount(A::ProductSalesTax), "product sales tax"),
        (F::Amount(A::ShippingCredits), "postage credits"),
        (F::Amount(A::ShippingCreditsTax), "shipping credits tax"),
        (F::Amount(A::GiftWrapCredits), "gift wrap credits"),
        (F::Amount(A::GiftWrapCreditsTax), "giftwrap credits tax"),
        (F::Amount(A::PromotionalRebates), "promotional rebates"),
        (F::Amount(A::PromotionalRebatesTax), "promotional rebates tax"),
        (F::Amount(A::MarketplaceWithheldTax), "marketplace withheld tax"),
        (F::Amount(A::SellingFees), "selling fees"),
        (F::Amount(A::FbaFees), "fba fees"),
        (F::Amount(A::OtherTransactionFees), "other transaction fees"),
        (F::Amount(A::Other), "other"),
        (F::Total, "total"),
        (F::Status, "transaction status"),
    ],
    order: "Order",
    refund: "Refund",
    service_fee: "Service Fee",
    transfer: "Transfer",
    seller: "Seller",
    released: "Released",
    account_type: "",
    tax_collection_model: "",
    decimal: b'.',
    grouping: b',',
    clock: Clock::London,
    title: 0,
};

static DE: Words = Words {
    bom: true,
    preamble: &[
        "Enthält Transaktionen von Amazon Marketplace, Versand durch Amazon (FBA) und Amazon Webstore",
        "Alle Beträge in EUR, sofern nicht anders angegeben",
        "Definitionen:",
        "Verkaufsgebühren: Enthält variable Abschlussgebühren und Verkaufsgebühren.",
        "Andere Transaktionsgebühren: Enthält Rückbelastungen und Einbehaltungen für Versandkosten sowie Gebühren pro Artikel.",
        "Andere: Enthält Beträge, die keine Bestellungen betreffen. Einzelheiten stehen in den Spalten \"Typ\" und \"Beschreibung\".",
    ],
    columns: &[
        (F::DateTime, "Datum/Uhrzeit"),
        (F::SettlementId, "Abrechnungsnummer"),
        (F::Type, "Typ"),
        (F::OrderId, "Bestellnummer"),
        (F::Sku, "SKU"),
        (F::Description, "Beschreibung"),
        (F::Quantity, "Menge"),
        (F::Marketplace, "Marketplace"),
        (F::Fulfillment, "Versand"),
        (F::Address, "Ort der Bestellung"),
        (F::Address, "Bundesland"),
        (F::Address, "Postleitzahl"),
        (F::TaxCollectionModel, "Steuererhebungsmodell"),
        (F::Amount(A::ProductSales), "Umsätze"),
        (F::Amount(A::ProductSalesTax), "Produktumsatzsteuer"),
        (F::Amount(A::ShippingCredits), "Gutschrift für Versandkosten"),
        (F::Amount(A::ShippingCreditsTax), "Steuer auf Versandgutschrift"),
        (F::Amount(A::GiftWrapCredits), "Gutschrift für Geschenkverpackung"),
        (F::Amount(A::GiftWrapCreditsTax), "Steuer auf Geschenkverpackungsgutschriften"),
        (F::Amount(A::PromotionalRebates), "Rabatte aus Werbeaktionen"),
        (F::Amount(A::PromotionalRebatesTax), "Steuer auf Aktionsrabatte"),
        (F::Amount(A::MarketplaceWithheldTax), "Einbehaltene Steuer auf Marketplace"),
        (F::Amount(A::SellingFees), "Verkaufsgebühren"),
        (F::Amount(A::FbaFees), "Gebühren zu Versand durch Amazon"),
        (F::Amount(A::OtherTransactionFees), "Andere Transaktionsgebühren"),
        (F::Amount(A::Other), "Andere"),
        (F::Total, "Gesamt"),
        (F::Status, "Transaktionsstatus"),
    ],
    order: "Bestellung",
    refund: "Erstattung",
    service_fee: "Servicegebühr",
    transfer: "Übertrag",
    seller: "Verkäufer",
    released: "Veröffentlicht",
    account_type: "",
    tax_collection_model: "",
    decimal: b',',
    grouping: b'.',
    clock: Clock::GermanUtc,
    title: 1,
};

/// Each catalogue product's title (English, German), in catalogue order: order rows write
/// it in their `description` column.
const TITLES: [(&str, [&str; 2]); CATALOGUE.len()] = [
    ("NX-HD-1200", ["Nexo external hard drive, 2 TB", "Nexo externe Festplatte, 2 TB"]),
    ("NX-CB-0450", ["Nexo USB-C cable, braided, 2 m", "Nexo USB-C-Kabel, geflochten, 2 m"]),
    ("NX-AC-0071", ["Nexo 65 W USB-C power adapter", "Nexo USB-C-Netzteil, 65 W"]),
    ("NX-LT-0032", ["Nexo LED desk lamp", "Nexo LED-Schreibtischlampe"]),
    ("NX-PW-0210", ["Nexo power bank, 10000 mAh", "Nexo Powerbank, 10000 mAh"]),
    ("NX-KB-0880", ["Nexo wireless keyboard", "Nexo kabellose Tastatur"]),
    ("NX-MS-0140", ["Nexo wireless mouse", "Nexo kabellose Maus"]),
    ("NX-ST-0605", ["Nexo laptop stand, adjustable", "Nexo Laptopständer, verstellbar"]),
    ("NX-CL-0019", ["Nexo cable clips (6 pack)", "Nexo Kabelclips (6 Stück)"]),
    ("NX-BG-0330", ["Nexo laptop sleeve, 14\"", "Nexo Laptophülle, 14 Zoll"]),
    ("NX-HP-2100", ["Nexo noise-cancelling headphones", "Nexo Kopfhörer mit Geräuschunterdrückung"]),
    ("NX-TV-5500", ["Nexo 55\" 4K television", "Nexo 4K-Fernseher, 55 Zoll"]),
    ("NX-FL-0075", ["Nexo LED flashlight", "Nexo LED-Taschenlampe"]),
    ("NX-SP-0950", ["Nexo Bluetooth speaker", "Nexo Bluetooth-Lautsprecher"]),
    ("NX-CH-0024", ["Nexo USB wall charger, 2 ports", "Nexo USB-Ladegerät, 2 Anschlüsse"]),
    ("NX-WT-0410", ["Nexo insulated water bottle, 750 ml", "Nexo Isolierflasche, 750 ml"]),
];

/// The V2 line an amount column takes, and a bit naming the line (a second line of the
/// same name in one event is the duplicate, which gets a row of its own).
fn column_of(line: &Line) -> (Amount, u16) {
    match (line.amount_type, line.description) {
        ("ItemPrice", "Principal") => (A::ProductSales, 1),
        ("ItemPrice", "Shipping") => (A::ShippingCredits, 1 << 1),
        ("ItemPrice", "Tax") => (A::ProductSalesTax, 1 << 2),
        ("Promotion", "Principal") => (A::PromotionalRebates, 1 << 3),
        ("Promotion", "Shipping") => (A::PromotionalRebates, 1 << 4),
        ("ItemFees", "Commission") => (A::SellingFees, 1 << 5),
        ("ItemFees", "RefundCommission") => (A::SellingFees, 1 << 6),
        ("ItemFees", "FBAPerUnitFulfillmentFee") => (A::FbaFees, 1 << 7),
        ("ItemFees", description) if description.starts_with("MarketplaceFacilitatorTax") => {
            (A::MarketplaceWithheldTax, 1 << 8)
        }
        (amount_type, description) => {
            unreachable!("the generator writes no {amount_type}/{description} order line")
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Order,
    Refund,
    ServiceFee,
    Transfer,
}

/// One report row.
#[derive(Clone, Copy)]
struct Row {
    /// Settlement period (index into the store's settlements).
    period: usize,
    posted: i64,
    kind: Kind,
    order_id: Option<u64>,
    sku: &'static str,
    description: &'static str,
    quantity: u32,
    /// `Some(afn)` on order rows.
    afn: Option<bool>,
    amounts: [i64; AMOUNT_COUNT],
}

/// `period` of an event's row before its first line names it.
const NO_PERIOD: usize = usize::MAX;

/// Writes one store's transaction report, fed every event and line (a [`Sink`]) while
/// the settlement files are written, then [`TransactionReportWriter::finish`]ed with the
/// account lines and payouts.
pub(crate) struct TransactionReportWriter<'a> {
    spec: &'static StoreSpec,
    words: &'static Words,
    settlements: &'a [Settlement],
    ids: Vec<Vec<u8>>,
    out: Output,
    /// The current event's row, written when the next event starts.
    row: Option<Row>,
    /// V2 lines already in `row` (bits from [`column_of`]).
    seen: u16,
    clock: ReportClock,
}

impl<'a> TransactionReportWriter<'a> {
    /// Creates the report and writes its preamble and header.
    pub(crate) fn create(
        spec: &'static StoreSpec,
        settlements: &'a [Settlement],
        path: &Path,
    ) -> Result<TransactionReportWriter<'a>, DemoError> {
        let words = spec.transaction_report.words();
        let mut out = Output::create(path)?;
        if words.bom {
            out.buffer.extend_from_slice("\u{feff}".as_bytes());
        }
        for line in words.preamble {
            push_quoted(&mut out.buffer, line.as_bytes());
            out.buffer.push(b'\n');
        }
        for (index, (_, name)) in words.columns.iter().enumerate() {
            if index > 0 {
                out.buffer.push(b',');
            }
            push_quoted(&mut out.buffer, name.as_bytes());
        }
        out.buffer.push(b'\n');
        let ids = settlements
            .iter()
            .map(|s| {
                let mut text = Vec::with_capacity(11);
                push_u64(&mut text, s.id);
                text
            })
            .collect();
        let clock = ReportClock::new(words.clock);
        Ok(TransactionReportWriter { spec, words, settlements, ids, out, row: None, seen: 0, clock })
    }

    /// Writes the last event's row, every settlement's account rows (those its V2 file
    /// has) and its payout, and closes the file.
    pub(crate) fn finish(mut self) -> Result<(), DemoError> {
        self.write_pending();
        for (period, settlement) in self.settlements.iter().enumerate() {
            let mut account_lines: Vec<&AccountLine> = settlement.account_lines.iter().filter(|l| !l.omitted).collect();
            account_lines.sort_by_key(|l| l.posted);
            for line in account_lines {
                let kind = if line.transaction == "ServiceFee" { Kind::ServiceFee } else { Kind::Transfer };
                let mut amounts = [0; AMOUNT_COUNT];
                amounts[A::Other as usize] = line.amount_minor;
                let row = account_row(period, line.posted, kind, line.description, amounts);
                self.write_row(&row);
                self.out.line_done()?;
            }
            // The payout; a negative total is charged to the seller's card at the end of
            // the period (the V2 file has no deposit date for it).
            let (at, description) = match settlement.deposit() {
                Some(deposit) => (deposit, self.spec.payout_description),
                None => (settlement.end, CARD_CHARGE_DESCRIPTION),
            };
            let mut amounts = [0; AMOUNT_COUNT];
            amounts[A::Other as usize] = -settlement.total_minor;
            let row = account_row(period, at, Kind::Transfer, description, amounts);
            self.write_row(&row);
            self.out.line_done()?;
        }
        self.out.finish()
    }

    fn write_pending(&mut self) {
        if let Some(row) = self.row.take() {
            if row.period != NO_PERIOD {
                self.write_row(&row);
            }
        }
    }

    fn write_row(&mut self, row: &Row) {
        let words = self.words;
        let total: i64 = row.amounts.iter().sum();
        let order_row = row.afn.is_some();
        for (index, (field, _)) in words.columns.iter().enumerate() {
            if index > 0 {
                self.out.buffer.push(b',');
            }
            self.out.buffer.push(b'"');
            match *field {
                F::DateTime => self.clock.push(&mut self.out.buffer, row.posted),
                F::SettlementId => self.out.buffer.extend_from_slice(&self.ids[row.period]),
                F::Type => {
                    let name = match row.kind {
                        Kind::Order => words.order,
                        Kind::Refund => words.refund,
                        Kind::ServiceFee => words.service_fee,
                        Kind::Transfer => words.transfer,
                    };
                    self.out.buffer.extend_from_slice(name.as_bytes());
                }
                F::OrderId => {
                    if let Some(order_id) = row.order_id {
                        push_order_id(&mut self.out.buffer, order_id);
                    }
                }
                F::Sku => self.out.buffer.extend_from_slice(row.sku.as_bytes()),
                F::Description => push_escaped(&mut self.out.buffer, row.description.as_bytes()),
                F::Quantity => {
                    if order_row {
                        push_u64(&mut self.out.buffer, u64::from(row.quantity));
                    }
                }
                F::Marketplace => {
                    if order_row {
                        self.out.buffer.extend_from_slice(self.spec.settlement_marketplace.as_bytes());
                    }
                }
                F::AccountType => {
                    if order_row {
                        self.out.buffer.extend_from_slice(words.account_type.as_bytes());
                    }
                }
                F::Fulfillment => match row.afn {
                    Some(true) => self.out.buffer.extend_from_slice(b"Amazon"),
                    Some(false) => self.out.buffer.extend_from_slice(words.seller.as_bytes()),
                    None => {}
                },
                F::Address => {}
                F::TaxCollectionModel => {
                    if order_row {
                        self.out.buffer.extend_from_slice(words.tax_collection_model.as_bytes());
                    }
                }
                F::Amount(amount) => {
                    push_amount(&mut self.out.buffer, row.amounts[amount as usize], words.decimal, words.grouping)
                }
                F::Total => push_amount(&mut self.out.buffer, total, words.decimal, words.grouping),
                F::Status => self.out.buffer.extend_from_slice(words.released.as_bytes()),
            }
            self.out.buffer.push(b'"');
        }
        self.out.buffer.push(b'\n');
    }
}

fn account_row(period: usize, posted: i64, kind: Kind, description: &'static str, amounts: [i64; AMOUNT_COUNT]) -> Row {
    Row { period, posted, kind, order_id: None, sku: "", description, quantity: 0, afn: None, amounts }
}

impl Sink for TransactionReportWriter<'_> {
    fn event(&mut self, event: &Event) {
        self.write_pending();
        let kind = match event.transaction {
            "Order" => Kind::Order,
            "Refund" => Kind::Refund,
            other => unreachable!("the generator makes no {other} events"),
        };
        self.seen = 0;
        self.row = Some(Row {
            period: NO_PERIOD,
            posted: event.posted,
            kind,
            order_id: Some(event.order_id),
            sku: event.sku,
            description: TITLES[event.product].1[self.words.title],
            quantity: event.quantity,
            afn: Some(event.afn),
            amounts: [0; AMOUNT_COUNT],
        });
    }

    fn line(&mut self, period: usize, line: &Line) -> Result<(), DemoError> {
        let (amount, bit) = column_of(line);
        let mut row = self.row.take().expect("an event comes before its lines");
        if row.period != NO_PERIOD && (row.period != period || self.seen & bit != 0) {
            // The duplicated line: a row of its own (possibly in another settlement).
            self.write_row(&row);
            row = Row { period: NO_PERIOD, amounts: [0; AMOUNT_COUNT], ..row };
            self.seen = 0;
        }
        row.period = period;
        row.amounts[amount as usize] += line.amount_minor;
        self.seen |= bit;
        self.row = Some(row);
        self.out.line_done()
    }
}

/// Writes a report's dates, remembering the summer time of the last year it wrote.
struct ReportClock {
    clock: Clock,
    /// (year, start, end) of the last year whose summer time was computed.
    summer: (i64, i64, i64),
}

impl ReportClock {
    fn new(clock: Clock) -> ReportClock {
        ReportClock { clock, summer: (i64::MIN, 0, 0) }
    }

    fn push(&mut self, out: &mut Vec<u8>, seconds: i64) {
        match self.clock {
            Clock::GermanUtc => push_datetime(out, seconds, DateStyle::German),
            Clock::Pacific => {
                let (offset, zone) = if self.in_summer_time(seconds) { (-7, "PDT") } else { (-8, "PST") };
                push_pacific(out, seconds + offset * 3600, zone);
            }
            Clock::London => {
                let (offset, zone) = if self.in_summer_time(seconds) { (1, "BST") } else { (0, "GMT") };
                push_london(out, seconds + offset * 3600, zone);
            }
        }
    }

    fn in_summer_time(&mut self, seconds: i64) -> bool {
        let (year, _, _) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
        if self.summer.0 != year {
            let (start, end) = summer_time(self.clock, year);
            self.summer = (year, start, end);
        }
        (self.summer.1..self.summer.2).contains(&seconds)
    }
}

/// Summer time of a year as UTC seconds `[start, end)`: US Pacific time from the second
/// Sunday of March 2:00 PST to the first Sunday of November 2:00 PDT; UK from the last
/// Sunday of March to the last Sunday of October, 1:00 UTC; none in UTC.
fn summer_time(clock: Clock, year: i64) -> (i64, i64) {
    let sunday = |month: u32, day: u32| {
        let date = NaiveDate::from_ymd_opt(year as i32, month, day).expect("a real date");
        sunday_on_or_after(date) * SECONDS_PER_DAY
    };
    match clock {
        Clock::Pacific => (sunday(3, 8) + 10 * 3600, sunday(11, 1) + 9 * 3600),
        Clock::London => (sunday(3, 25) + 3600, sunday(10, 25) + 3600),
        Clock::GermanUtc => (0, 0),
    }
}

/// Days since the epoch of the first Sunday on or after `date`.
fn sunday_on_or_after(date: NaiveDate) -> i64 {
    let days_to_sunday = 6 - i64::from(date.weekday().num_days_from_monday());
    crate::days_since_epoch(date) + days_to_sunday
}

const MONTHS: [&[u8]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// `Oct 1, 2026 12:03:45 AM PDT` from local seconds.
fn push_pacific(out: &mut Vec<u8>, local: i64, zone: &str) {
    let (year, month, day) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
    let of_day = local.rem_euclid(SECONDS_PER_DAY) as u64;
    let hour = of_day / 3600;
    out.extend_from_slice(MONTHS[month as usize - 1]);
    out.push(b' ');
    push_u64(out, u64::from(day));
    out.extend_from_slice(b", ");
    push_u64(out, year as u64);
    out.push(b' ');
    let hour_of_half = hour % 12;
    push_u64(out, if hour_of_half == 0 { 12 } else { hour_of_half });
    out.push(b':');
    push_padded(out, of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, of_day % 60, 2);
    out.extend_from_slice(if hour < 12 { b" AM " } else { b" PM " });
    out.extend_from_slice(zone.as_bytes());
}

/// `1 Oct 2026 15:22:08 BST` from local seconds.
fn push_london(out: &mut Vec<u8>, local: i64, zone: &str) {
    let (year, month, day) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
    let of_day = local.rem_euclid(SECONDS_PER_DAY) as u64;
    push_u64(out, u64::from(day));
    out.push(b' ');
    out.extend_from_slice(MONTHS[month as usize - 1]);
    out.push(b' ');
    push_u64(out, year as u64);
    out.push(b' ');
    push_padded(out, of_day / 3600, 2);
    out.push(b':');
    push_padded(out, of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, of_day % 60, 2);
    out.push(b' ');
    out.extend_from_slice(zone.as_bytes());
}

/// Minor units of a two-decimal currency with thousands grouped: `-1,052.64`,
/// `1.234.567,89`; zero as `0`, as Amazon's reports write it.
fn push_amount(out: &mut Vec<u8>, amount_minor: i64, decimal: u8, grouping: u8) {
    if amount_minor == 0 {
        out.push(b'0');
        return;
    }
    if amount_minor < 0 {
        out.push(b'-');
    }
    let units = amount_minor.unsigned_abs();
    let mut digits = Vec::with_capacity(20);
    push_u64(&mut digits, units / 100);
    for (index, digit) in digits.iter().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(grouping);
        }
        out.push(*digit);
    }
    out.push(decimal);
    push_padded(out, units % 100, 2);
}

/// A field's text with `"` doubled (the quotes around it are the caller's).
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    for &byte in text {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
}

fn push_quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    push_escaped(out, text);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
        NaiveDate::from_ymd_opt(year, month, day)
            .unwrap()
            .and_hms_opt(hour, minute, second)
            .unwrap()
            .and_utc()
            .timestamp()
    }

    /// A report date as the writer writes it with `clock`.
    fn date(clock: Clock, seconds: i64) -> String {
        text(|out| ReportClock::new(clock).push(out, seconds))
    }

    #[test]
    fn every_product_has_its_titles() {
        for ((sku, _), product) in TITLES.iter().zip(&CATALOGUE) {
            assert_eq!(*sku, product.sku);
        }
    }

    #[test]
    fn amounts_group_thousands_in_the_locale_notation() {
        assert_eq!(text(|o| push_amount(o, 105_264, b'.', b',')), "1,052.64");
        assert_eq!(text(|o| push_amount(o, -105_264, b',', b'.')), "-1.052,64");
        assert_eq!(text(|o| push_amount(o, 123_456_789, b',', b'.')), "1.234.567,89");
        assert_eq!(text(|o| push_amount(o, 99_999, b'.', b',')), "999.99");
        assert_eq!(text(|o| push_amount(o, -5, b'.', b',')), "-0.05");
        assert_eq!(text(|o| push_amount(o, 0, b'.', b',')), "0");
    }

    #[test]
    fn pacific_and_london_time_switch_on_their_own_sundays() {
        use Clock::{GermanUtc as De, London as Uk, Pacific as Us};
        assert_eq!(date(Us, utc(2026, 10, 1, 7, 3, 45)), "Oct 1, 2026 12:03:45 AM PDT");
        assert_eq!(date(Us, utc(2026, 10, 1, 19, 3, 45)), "Oct 1, 2026 12:03:45 PM PDT");
        assert_eq!(date(Us, utc(2026, 12, 1, 8, 38, 23)), "Dec 1, 2026 12:38:23 AM PST");
        // 2026: summer time from 8 March 10:00 UTC to 1 November 09:00 UTC.
        assert_eq!(date(Us, utc(2026, 3, 8, 9, 59, 59)), "Mar 8, 2026 1:59:59 AM PST");
        assert_eq!(date(Us, utc(2026, 3, 8, 10, 0, 0)), "Mar 8, 2026 3:00:00 AM PDT");
        assert_eq!(date(Us, utc(2026, 11, 1, 8, 59, 59)), "Nov 1, 2026 1:59:59 AM PDT");
        assert_eq!(date(Us, utc(2026, 11, 1, 9, 0, 0)), "Nov 1, 2026 1:00:00 AM PST");
        // 2026: British summer time from 29 March to 25 October, 01:00 UTC.
        assert_eq!(date(Uk, utc(2026, 10, 1, 14, 22, 8)), "1 Oct 2026 15:22:08 BST");
        assert_eq!(date(Uk, utc(2026, 3, 29, 0, 59, 59)), "29 Mar 2026 00:59:59 GMT");
        assert_eq!(date(Uk, utc(2026, 3, 29, 1, 0, 0)), "29 Mar 2026 02:00:00 BST");
        assert_eq!(date(Uk, utc(2026, 10, 25, 0, 59, 59)), "25 Oct 2026 01:59:59 BST");
        assert_eq!(date(Uk, utc(2026, 10, 25, 1, 0, 0)), "25 Oct 2026 01:00:00 GMT");
        assert_eq!(date(De, utc(2026, 10, 1, 0, 3, 45)), "01.10.2026 00:03:45 UTC");
    }

    #[test]
    fn report_dates_read_back_to_the_instant() {
        // Every hour of two years, and the seconds around each switch, in each style.
        let mut instants: Vec<i64> = (utc(2025, 1, 1, 0, 0, 0)..utc(2027, 1, 1, 0, 0, 0)).step_by(3_599).collect();
        for year in [2025, 2026] {
            for clock in [Clock::Pacific, Clock::London] {
                let (start, end) = summer_time(clock, year);
                instants.extend([start - 1, start, end - 1, end]);
            }
        }
        for clock in [Clock::Pacific, Clock::London, Clock::GermanUtc] {
            let mut writer = ReportClock::new(clock);
            for &seconds in &instants {
                let written = text(|out| writer.push(out, seconds));
                let read = tieout_formats::dates::parse_report_instant(&written, None);
                assert_eq!(read, Ok(seconds), "{clock:?} {written}");
            }
        }
    }
}
