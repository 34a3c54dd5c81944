//! Amazon Date Range transaction reports (Seller Central > Payments > Reports Repository >
//! Transaction: the unified transaction CSV), one per store, covering every settlement of
//! the store, in the store's language: `acme-us` English as Amazon.com writes it (Pacific
//! time, `PDT` / `PST`, 12-hour clock), `acme-uk` English as Amazon.co.uk writes it
//! (`fulfilment`, `postage credits`, London time, `BST` / `GMT`), `acme-de` German
//! (`Bestellung`, decimal comma, `01.10.2026 00:03:45 UTC`). The format is described in
//! `../shared/formats/amazon-transaction-range.md`; `tieout_formats::amazon_transactions`
//! reads it (the demo's tests read every report with it).
//!
//! # Other languages (tests only)
//!
//! `write_report_as` writes a store's report in a language no demo store uses, so that
//! the reader is tested on generated files in every locale it reads (issue 5);
//! [`crate::generate`] never calls it, and its files are unchanged by it. The words are
//! those of the reader's tables (the authority for what it accepts) and the format
//! description; none of these four was checked against a real report:
//!
//! | | French | Italian | Spanish | Japanese |
//! |---|---|---|---|---|
//! | header | `date/heure` … `taxe sur les crédits d’expédition` (typographic apostrophe) … `Statut de la transaction` | `Data/Ora:` (with its colon) … `Stato della transazione` | `fecha y hora` …, `product sales tax` and `giftwrap credits tax` left in English … `Estado de la transacción` | `日付/時間` …, the extra `Amazonポイントの費用` column (always 0), no status column |
//! | order, refund, transfer | `Commande`, `Remboursement`, `Transfert` | `Ordine`, `Rimborso`, `Trasferimento` | `Pedido`, `Reembolso`, `Transferir` | `注文`, `返金`, `振込み` |
//! | seller-fulfilled | `Vendeur` | `Venditore` | `Vendedor` | `出品者` |
//! | released | `Publié` | `Rilasciato` | `Liberado` | (no column: a row with a settlement id is released) |
//! | currency | `Tous les montants sont en EUR, …` | `Tutti gli importi sono in EUR, …` | `Todos los importes en EUR, …` | `すべての金額は円で表示されています…` (in words: the reader's JPY default) |
//! | date/time | `1 oct. 2026 00:03:45 UTC` | `1 ott 2026 00.03.45 UTC` | `1 oct. 2026 0:03:45 UTC` | `2026/10/01 0:03:45 JST` (UTC+9) |
//! | amounts | `-1 052,64` (no-break space) | `-1.052,64` | `-1.052,64` | `-1,052` (yen, no decimals) |
//!
//! Service fee rows keep the English type `Service Fee` in all four: the reader knows no
//! French, Italian, Spanish or Japanese word for it (it reads English types in every
//! language), and a guessed translation would be kept as written and not read as a fee.
//! As in the German report, the descriptions of account rows and payouts stay the V2
//! file's (`Storage Fee`, `Previous Reserve Amount Balance`, `To account ending in: …`),
//! and product titles are translated.
//!
//! The tests write `acme-de`'s month as Amazon.fr, .it and .es (EUR; the preamble states
//! the store's currency, whatever the language) and compare it with the German report of
//! the same month. Japanese is written only for the yen store `model::JP_STORE`, an extra
//! store of the month that only tests use (its prices and fees are in yen), rather than
//! another store's events written in yen notation, which would not be honest money; it
//! writes no V2 files, so its report is compared with the lines the generator gives its
//! events. A style stating its currency in words (Japanese) is refused for a store in
//! another currency.
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
//! Every row is `Released` (`Veröffentlicht`, …; a Japanese report has no status column)
//! with its settlement id: the generator has no deferred transactions. Amounts are in the
//! locale's notation with thousands grouped (`1,052.64`, `1.052,64`), with the currency's
//! decimals (yen: none), zero as `0`; every field is quoted; lines end with LF. Rows come
//! in the order the generator makes them (orders in purchase order, each order's shipment
//! then its refund), then each settlement's account rows and payout: not sorted by
//! date/time, which would need the whole month in memory.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use tieout_core::Currency;

use crate::model::{StoreSpec, CATALOGUE};
use crate::settlement::{AccountLine, Event, Line, Output, Settlement, Sink};
use crate::text::{civil_from_days, push_datetime, push_order_id, push_padded, push_u64, DateStyle, SECONDS_PER_DAY};
use crate::DemoError;

/// Which Amazon marketplace's report a store gets: its language and notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the French, Italian, Spanish and Japanese reports are written only by tests")
)]
pub(crate) enum ReportStyle {
    /// Amazon.com: English, Pacific time.
    Us,
    /// Amazon.co.uk: British English words, London time.
    Uk,
    /// Amazon.de: German words, decimal comma, UTC.
    De,
    /// Amazon.fr: French words, decimal comma with no-break-space grouping, UTC.
    Fr,
    /// Amazon.it: Italian words, decimal comma, UTC with dots in the time.
    It,
    /// Amazon.es: Spanish words (two column names left in English), decimal comma, UTC.
    Es,
    /// Amazon.co.jp: Japanese words, yen without decimals, Japan time (`JST`), no status
    /// column; only for a JPY store.
    Jp,
}

impl ReportStyle {
    fn words(self) -> &'static Words {
        match self {
            ReportStyle::Us => &US,
            ReportStyle::Uk => &UK,
            ReportStyle::De => &DE,
            ReportStyle::Fr => &FR,
            ReportStyle::It => &IT,
            ReportStyle::Es => &ES,
            ReportStyle::Jp => &JP,
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
    /// `Amazonポイントの費用` (Japan only): the demo gives no Amazon points, so always 0.
    PointsCost,
    MarketplaceWithheldTax,
    SellingFees,
    FbaFees,
    OtherTransactionFees,
    Other,
}

const AMOUNT_COUNT: usize = Amount::Other as usize + 1;
/// The transfer row of a settlement with a negative total: the seller's card is charged.
pub(crate) const CARD_CHARGE_DESCRIPTION: &str = "Charge to credit card";

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
    /// `1 oct. 2026 00:03:45 UTC`: French month abbreviations (`janv.`, `mars`, `août`).
    FrenchUtc,
    /// `1 ott 2026 00.03.45 UTC`: Italian month abbreviations, dots in the time.
    ItalianUtc,
    /// `1 oct. 2026 0:03:45 UTC`: Spanish month abbreviations, the hour not padded.
    SpanishUtc,
    /// `2026/10/01 0:03:45 JST`: Japan time (UTC+9, no summer time), year first.
    Tokyo,
}

/// Stands for the store's currency code in a preamble line (`All amounts in USD`).
const CURRENCY: &str = "{currency}";

/// The words and notation of one marketplace's report.
struct Words {
    /// Whether the download starts with a UTF-8 byte order mark (Amazon's do, sometimes).
    bom: bool,
    /// Lines before the header; [`CURRENCY`] is replaced by the store's currency code.
    preamble: &'static [&'static str],
    /// The currency a preamble without [`CURRENCY`] names in words (Japanese: 円, yen).
    currency_in_words: Option<&'static str>,
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
    /// Between groups of three digits (French: a no-break space).
    grouping: &'static str,
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
        "All amounts in {currency}, unless specified",
        "Definitions:",
        "Sales tax collected: Includes sales tax collected from buyers for product sales, shipping, and gift wrap.",
        "Selling fees: Includes variable closing fees and referral fees.",
        "Other transaction fees: Includes shipping chargebacks, shipping holdbacks, per-item fees  and sales tax collection fees.",
        "Other: Includes non-order transaction amounts. For more details, see the \"Type\" and \"Description\" columns for each order ID.",
    ],
    currency_in_words: None,
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
    grouping: ",",
    clock: Clock::Pacific,
    title: 0,
};

static UK: Words = Words {
    bom: false,
    preamble: &[
        "Includes Amazon Marketplace, Fulfilment by Amazon (FBA), and Amazon Webstore transactions",
        "All amounts in {currency}, unless specified",
        "Definitions:",
        "Selling fees: Includes variable closing fees and referral fees.",
        "Other transaction fees: Includes postage chargebacks, postage holdbacks and per-item fees.",
        "Other: Includes non-order transaction amounts. For more details, see the \"Type\" and \"Description\" columns for each order ID.",
    ],
    currency_in_words: None,
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
    grouping: ",",
    clock: Clock::London,
    title: 0,
};

static DE: Words = Words {
    bom: true,
    preamble: &[
        "Enthält Transaktionen von Amazon Marketplace, Versand durch Amazon (FBA) und Amazon Webstore",
        "Alle Beträge in {currency}, sofern nicht anders angegeben",
        "Definitionen:",
        "Verkaufsgebühren: Enthält variable Abschlussgebühren und Verkaufsgebühren.",
        "Andere Transaktionsgebühren: Enthält Rückbelastungen und Einbehaltungen für Versandkosten sowie Gebühren pro Artikel.",
        "Andere: Enthält Beträge, die keine Bestellungen betreffen. Einzelheiten stehen in den Spalten \"Typ\" und \"Beschreibung\".",
    ],
    currency_in_words: None,
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
    grouping: ".",
    clock: Clock::GermanUtc,
    title: 1,
};

/// Amazon.fr. Words from `tieout_formats::amazon_transactions`' tables: the header (with
/// the typographic apostrophe of `d’expédition`, as real files have it), `Commande`,
/// `Remboursement`, `Transfert`, `Vendeur`, `Publié`. The reader knows no French word for
/// a service fee, so those rows keep the English `Service Fee` (which it reads in every
/// language): a guessed translation would be kept as written and not read as a fee.
static FR: Words = Words {
    bom: false,
    preamble: &[
        "Inclut les transactions Amazon Marketplace, Expédié par Amazon (FBA) et Amazon Webstore",
        "Tous les montants sont en {currency}, sauf indication contraire",
        "Définitions :",
        "Frais de vente : incluent les frais de clôture variables et les frais de vente.",
        "Autre : inclut les montants des transactions hors commande. Pour plus de détails, consultez les colonnes \"type\" et \"description\".",
    ],
    currency_in_words: None,
    columns: &[
        (F::DateTime, "date/heure"),
        (F::SettlementId, "numéro de versement"),
        (F::Type, "type"),
        (F::OrderId, "numéro de la commande"),
        (F::Sku, "sku"),
        (F::Description, "description"),
        (F::Quantity, "quantité"),
        (F::Marketplace, "Marketplace"),
        (F::Fulfillment, "traitement"),
        (F::Address, "ville d'où provient la commande"),
        (F::Address, "Région d'où provient la commande"),
        (F::Address, "code postal de la commande"),
        (F::TaxCollectionModel, "Modèle de perception des taxes"),
        (F::Amount(A::ProductSales), "ventes de produits"),
        (F::Amount(A::ProductSalesTax), "Taxes sur la vente des produits"),
        (F::Amount(A::ShippingCredits), "crédits d'expédition"),
        (F::Amount(A::ShippingCreditsTax), "taxe sur les crédits d’expédition"),
        (F::Amount(A::GiftWrapCredits), "crédits sur l'emballage cadeau"),
        (F::Amount(A::GiftWrapCreditsTax), "Taxes sur les crédits cadeaux"),
        (F::Amount(A::PromotionalRebates), "Rabais promotionnels"),
        (F::Amount(A::PromotionalRebatesTax), "Taxes sur les remises promotionnelles"),
        (F::Amount(A::MarketplaceWithheldTax), "Taxes retenues sur le site de vente"),
        (F::Amount(A::SellingFees), "frais de vente"),
        (F::Amount(A::FbaFees), "Frais Expédié par Amazon"),
        (F::Amount(A::OtherTransactionFees), "autres frais de transaction"),
        (F::Amount(A::Other), "autre"),
        (F::Total, "total"),
        (F::Status, "Statut de la transaction"),
    ],
    order: "Commande",
    refund: "Remboursement",
    service_fee: "Service Fee",
    transfer: "Transfert",
    seller: "Vendeur",
    released: "Publié",
    account_type: "",
    tax_collection_model: "",
    decimal: b',',
    grouping: "\u{a0}",
    clock: Clock::FrenchUtc,
    title: 2,
};

/// Amazon.it: `Data/Ora:` (with its colon), `Ordine`, `Rimborso`, `Trasferimento`,
/// `Venditore`, `Rilasciato`; `Service Fee` in English, as in [`FR`].
static IT: Words = Words {
    bom: false,
    preamble: &[
        "Include le transazioni di Amazon Marketplace, Logistica di Amazon (FBA) e Amazon Webstore",
        "Tutti gli importi sono in {currency}, salvo diversa indicazione",
        "Definizioni:",
        "Commissioni di vendita: include le commissioni di chiusura variabili e le commissioni per segnalazione.",
    ],
    currency_in_words: None,
    columns: &[
        (F::DateTime, "Data/Ora:"),
        (F::SettlementId, "Numero pagamento"),
        (F::Type, "Tipo"),
        (F::OrderId, "Numero ordine"),
        (F::Sku, "SKU"),
        (F::Description, "Descrizione"),
        (F::Quantity, "Quantità"),
        (F::Marketplace, "Marketplace"),
        (F::Fulfillment, "Gestione"),
        (F::Address, "Città di provenienza dell'ordine"),
        (F::Address, "Provincia di provenienza dell'ordine"),
        (F::Address, "CAP dell'ordine"),
        (F::TaxCollectionModel, "modello di riscossione delle imposte"),
        (F::Amount(A::ProductSales), "Vendite"),
        (F::Amount(A::ProductSalesTax), "imposta sulle vendite dei prodotti"),
        (F::Amount(A::ShippingCredits), "Accrediti per le spedizioni"),
        (F::Amount(A::ShippingCreditsTax), "imposta accrediti per le spedizioni"),
        (F::Amount(A::GiftWrapCredits), "Accrediti per confezioni regalo"),
        (F::Amount(A::GiftWrapCreditsTax), "imposta sui crediti confezione regalo"),
        (F::Amount(A::PromotionalRebates), "Sconti promozionali"),
        (F::Amount(A::PromotionalRebatesTax), "imposta sugli sconti promozionali"),
        (F::Amount(A::MarketplaceWithheldTax), "trattenuta IVA del marketplace"),
        (F::Amount(A::SellingFees), "Commissioni di vendita"),
        (F::Amount(A::FbaFees), "Costi del servizio Logistica di Amazon"),
        (F::Amount(A::OtherTransactionFees), "Altri costi relativi alle transazioni"),
        (F::Amount(A::Other), "Altro"),
        (F::Total, "totale"),
        (F::Status, "Stato della transazione"),
    ],
    order: "Ordine",
    refund: "Rimborso",
    service_fee: "Service Fee",
    transfer: "Trasferimento",
    seller: "Venditore",
    released: "Rilasciato",
    account_type: "",
    tax_collection_model: "",
    decimal: b',',
    grouping: ".",
    clock: Clock::ItalianUtc,
    title: 3,
};

/// Amazon.es: `product sales tax` and `giftwrap credits tax` left in English, as the
/// format description has seen them; `Pedido`, `Reembolso`, `Transferir`, `Vendedor`,
/// `Liberado`; `Service Fee` in English, as in [`FR`].
static ES: Words = Words {
    bom: true,
    preamble: &[
        "Incluye transacciones de Amazon Marketplace, Logística de Amazon (FBA) y Amazon Webstore",
        "Todos los importes en {currency}, a menos que se especifique lo contrario",
        "Definiciones:",
        "Tarifas de venta: incluye las tarifas de cierre variables y las tarifas por referencia.",
    ],
    currency_in_words: None,
    columns: &[
        (F::DateTime, "fecha y hora"),
        (F::SettlementId, "identificador de pago"),
        (F::Type, "tipo"),
        (F::OrderId, "número de pedido"),
        (F::Sku, "sku"),
        (F::Description, "descripción"),
        (F::Quantity, "cantidad"),
        (F::Marketplace, "web de Amazon"),
        (F::Fulfillment, "gestión logística"),
        (F::Address, "ciudad de procedencia del pedido"),
        (F::Address, "comunidad autónoma de procedencia del pedido"),
        (F::Address, "código postal de procedencia del pedido"),
        (F::TaxCollectionModel, "Formulario de recaudación de impuestos"),
        (F::Amount(A::ProductSales), "ventas de productos"),
        (F::Amount(A::ProductSalesTax), "product sales tax"),
        (F::Amount(A::ShippingCredits), "abonos de envío"),
        (F::Amount(A::ShippingCreditsTax), "impuestos por abonos de envío"),
        (F::Amount(A::GiftWrapCredits), "abonos de envoltorio para regalo"),
        (F::Amount(A::GiftWrapCreditsTax), "giftwrap credits tax"),
        (F::Amount(A::PromotionalRebates), "devoluciones promocionales"),
        (F::Amount(A::PromotionalRebatesTax), "impuestos de descuentos por promociones"),
        (F::Amount(A::MarketplaceWithheldTax), "impuesto retenido en el sitio web"),
        (F::Amount(A::SellingFees), "tarifas de venta"),
        (F::Amount(A::FbaFees), "tarifas de Logística de Amazon"),
        (F::Amount(A::OtherTransactionFees), "tarifas de otras transacciones"),
        (F::Amount(A::Other), "otro"),
        (F::Total, "total"),
        (F::Status, "Estado de la transacción"),
    ],
    order: "Pedido",
    refund: "Reembolso",
    service_fee: "Service Fee",
    transfer: "Transferir",
    seller: "Vendedor",
    released: "Liberado",
    account_type: "",
    tax_collection_model: "",
    decimal: b',',
    grouping: ".",
    clock: Clock::SpanishUtc,
    title: 4,
};

/// Amazon.co.jp: the extra `Amazonポイントの費用` column after the gift-wrap tax (always 0
/// here), `注文`, `返金`, `振込み`, `出品者`; `Service Fee` in English, as in [`FR`]. The
/// preamble states the currency in words only (円), which the reader takes as JPY. No
/// `transaction status` column: the reader has no Japanese status word, and without the
/// column a row with a settlement id is released.
static JP: Words = Words {
    bom: true,
    preamble: &[
        "Amazonマーケットプレイス、フルフィルメント by Amazon（FBA）、Amazon Webストアのトランザクションを含みます",
        "すべての金額は円で表示されています（特に記載のない場合）",
        "定義:",
    ],
    currency_in_words: Some("JPY"),
    columns: &[
        (F::DateTime, "日付/時間"),
        (F::SettlementId, "決済番号"),
        (F::Type, "トランザクションの種類"),
        (F::OrderId, "注文番号"),
        (F::Sku, "SKU"),
        (F::Description, "説明"),
        (F::Quantity, "数量"),
        (F::Marketplace, "Amazon 出品サービス"),
        (F::Fulfillment, "フルフィルメント"),
        (F::Address, "市町村"),
        (F::Address, "都道府県"),
        (F::Address, "郵便番号"),
        (F::TaxCollectionModel, "税金徴収型"),
        (F::Amount(A::ProductSales), "商品売上"),
        (F::Amount(A::ProductSalesTax), "商品の売上税"),
        (F::Amount(A::ShippingCredits), "配送料"),
        (F::Amount(A::ShippingCreditsTax), "配送料の税金"),
        (F::Amount(A::GiftWrapCredits), "ギフト包装手数料"),
        (F::Amount(A::GiftWrapCreditsTax), "ギフト包装クレジットの税金"),
        (F::Amount(A::PointsCost), "Amazonポイントの費用"),
        (F::Amount(A::PromotionalRebates), "プロモーション割引額"),
        (F::Amount(A::PromotionalRebatesTax), "プロモーション割引の税金"),
        (F::Amount(A::MarketplaceWithheldTax), "源泉徴収税を伴うマーケットプレイス"),
        (F::Amount(A::SellingFees), "手数料"),
        (F::Amount(A::FbaFees), "FBA 手数料"),
        (F::Amount(A::OtherTransactionFees), "トランザクションに関するその他の手数料"),
        (F::Amount(A::Other), "その他"),
        (F::Total, "合計"),
    ],
    order: "注文",
    refund: "返金",
    service_fee: "Service Fee",
    transfer: "振込み",
    seller: "出品者",
    // No status column (see above).
    released: "",
    account_type: "",
    tax_collection_model: "",
    decimal: b'.',
    grouping: ",",
    clock: Clock::Tokyo,
    title: 5,
};

/// Each catalogue product's title (English, German, French, Italian, Spanish, Japanese:
/// [`Words::title`] indexes them), in catalogue order: order rows write it in their
/// `description` column.
const TITLES: [(&str, [&str; 6]); CATALOGUE.len()] = [
    (
        "NX-HD-1200",
        [
            "Nexo external hard drive, 2 TB",
            "Nexo externe Festplatte, 2 TB",
            "Nexo disque dur externe, 2 To",
            "Nexo hard disk esterno, 2 TB",
            "Nexo disco duro externo, 2 TB",
            "Nexo 外付けハードディスク 2TB",
        ],
    ),
    (
        "NX-CB-0450",
        [
            "Nexo USB-C cable, braided, 2 m",
            "Nexo USB-C-Kabel, geflochten, 2 m",
            "Nexo câble USB-C tressé, 2 m",
            "Nexo cavo USB-C intrecciato, 2 m",
            "Nexo cable USB-C trenzado, 2 m",
            "Nexo USB-Cケーブル 編組 2m",
        ],
    ),
    (
        "NX-AC-0071",
        [
            "Nexo 65 W USB-C power adapter",
            "Nexo USB-C-Netzteil, 65 W",
            "Nexo adaptateur secteur USB-C, 65 W",
            "Nexo alimentatore USB-C da 65 W",
            "Nexo adaptador de corriente USB-C de 65 W",
            "Nexo USB-C 電源アダプター 65W",
        ],
    ),
    (
        "NX-LT-0032",
        [
            "Nexo LED desk lamp",
            "Nexo LED-Schreibtischlampe",
            "Nexo lampe de bureau LED",
            "Nexo lampada da scrivania LED",
            "Nexo lámpara de escritorio LED",
            "Nexo LEDデスクライト",
        ],
    ),
    (
        "NX-PW-0210",
        [
            "Nexo power bank, 10000 mAh",
            "Nexo Powerbank, 10000 mAh",
            "Nexo batterie externe, 10000 mAh",
            "Nexo power bank, 10000 mAh",
            "Nexo batería externa, 10000 mAh",
            "Nexo モバイルバッテリー 10000mAh",
        ],
    ),
    (
        "NX-KB-0880",
        [
            "Nexo wireless keyboard",
            "Nexo kabellose Tastatur",
            "Nexo clavier sans fil",
            "Nexo tastiera wireless",
            "Nexo teclado inalámbrico",
            "Nexo ワイヤレスキーボード",
        ],
    ),
    (
        "NX-MS-0140",
        [
            "Nexo wireless mouse",
            "Nexo kabellose Maus",
            "Nexo souris sans fil",
            "Nexo mouse wireless",
            "Nexo ratón inalámbrico",
            "Nexo ワイヤレスマウス",
        ],
    ),
    (
        "NX-ST-0605",
        [
            "Nexo laptop stand, adjustable",
            "Nexo Laptopständer, verstellbar",
            "Nexo support pour ordinateur portable, réglable",
            "Nexo supporto per laptop, regolabile",
            "Nexo soporte para portátil, ajustable",
            "Nexo ノートPCスタンド 高さ調節可能",
        ],
    ),
    (
        "NX-CL-0019",
        [
            "Nexo cable clips (6 pack)",
            "Nexo Kabelclips (6 Stück)",
            "Nexo clips de câble (lot de 6)",
            "Nexo fermacavi (confezione da 6)",
            "Nexo clips para cables (pack de 6)",
            "Nexo ケーブルクリップ（6個入り）",
        ],
    ),
    (
        "NX-BG-0330",
        [
            "Nexo laptop sleeve, 14\"",
            "Nexo Laptophülle, 14 Zoll",
            "Nexo housse pour ordinateur portable, 14\"",
            "Nexo custodia per laptop, 14\"",
            "Nexo funda para portátil, 14\"",
            "Nexo ノートPCスリーブ 14インチ",
        ],
    ),
    (
        "NX-HP-2100",
        [
            "Nexo noise-cancelling headphones",
            "Nexo Kopfhörer mit Geräuschunterdrückung",
            "Nexo casque à réduction de bruit",
            "Nexo cuffie con cancellazione del rumore",
            "Nexo auriculares con cancelación de ruido",
            "Nexo ノイズキャンセリングヘッドホン",
        ],
    ),
    (
        "NX-TV-5500",
        [
            "Nexo 55\" 4K television",
            "Nexo 4K-Fernseher, 55 Zoll",
            "Nexo téléviseur 4K, 55\"",
            "Nexo televisore 4K da 55\"",
            "Nexo televisor 4K de 55\"",
            "Nexo 55インチ 4Kテレビ",
        ],
    ),
    (
        "NX-FL-0075",
        [
            "Nexo LED flashlight",
            "Nexo LED-Taschenlampe",
            "Nexo lampe torche LED",
            "Nexo torcia LED",
            "Nexo linterna LED",
            "Nexo LED懐中電灯",
        ],
    ),
    (
        "NX-SP-0950",
        [
            "Nexo Bluetooth speaker",
            "Nexo Bluetooth-Lautsprecher",
            "Nexo enceinte Bluetooth",
            "Nexo altoparlante Bluetooth",
            "Nexo altavoz Bluetooth",
            "Nexo Bluetoothスピーカー",
        ],
    ),
    (
        "NX-CH-0024",
        [
            "Nexo USB wall charger, 2 ports",
            "Nexo USB-Ladegerät, 2 Anschlüsse",
            "Nexo chargeur secteur USB, 2 ports",
            "Nexo caricatore da parete USB, 2 porte",
            "Nexo cargador de pared USB, 2 puertos",
            "Nexo USB充電器 2ポート",
        ],
    ),
    (
        "NX-WT-0410",
        [
            "Nexo insulated water bottle, 750 ml",
            "Nexo Isolierflasche, 750 ml",
            "Nexo gourde isotherme, 750 ml",
            "Nexo borraccia termica, 750 ml",
            "Nexo botella térmica, 750 ml",
            "Nexo 真空断熱ボトル 750ml",
        ],
    ),
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
    /// What order rows write in `marketplace`.
    marketplace: &'a str,
    /// Decimal places of the store's currency (2; JPY 0).
    exponent: u32,
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
    /// Creates the report of `spec`'s settlements in `style`, its order rows naming
    /// `marketplace`, and writes its preamble and header. A style whose preamble names
    /// its currency in words is refused for a store in another currency.
    pub(crate) fn create(
        spec: &'static StoreSpec,
        style: ReportStyle,
        marketplace: &'a str,
        settlements: &'a [Settlement],
        path: &Path,
    ) -> Result<TransactionReportWriter<'a>, DemoError> {
        let words = style.words();
        if let Some(currency) = words.currency_in_words.filter(|currency| *currency != spec.currency) {
            return Err(DemoError::InvalidConfig(format!(
                "a {style:?} transaction report states its amounts in {currency}; store {} is in {}",
                spec.name, spec.currency
            )));
        }
        let exponent = Currency::from_code(spec.currency)
            .map_err(|error| DemoError::InvalidConfig(format!("store {}: {error}", spec.name)))?
            .exponent();
        let mut out = Output::create(path)?;
        if words.bom {
            out.buffer.extend_from_slice("\u{feff}".as_bytes());
        }
        for line in words.preamble {
            push_quoted(&mut out.buffer, line.replace(CURRENCY, spec.currency).as_bytes());
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
        Ok(TransactionReportWriter {
            spec,
            words,
            marketplace,
            exponent: u32::from(exponent),
            settlements,
            ids,
            out,
            row: None,
            seen: 0,
            clock,
        })
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
                        self.out.buffer.extend_from_slice(self.marketplace.as_bytes());
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
                    push_amount(&mut self.out.buffer, row.amounts[amount as usize], self.exponent, words)
                }
                F::Total => push_amount(&mut self.out.buffer, total, self.exponent, words),
                F::Status => self.out.buffer.extend_from_slice(words.released.as_bytes()),
            }
            self.out.buffer.push(b'"');
        }
        self.out.buffer.push(b'\n');
    }
}

/// Writes `spec`'s transaction report of the month `config` describes in `style`, its
/// order rows naming `marketplace`, to `path`: the same events and settlements as
/// [`crate::generate`] gives the store (see [`crate::store_month`]), so its money is the
/// store's own report's, in another language. Returns the month it was written from.
/// Tests use it to read generated reports in the languages no demo store writes
/// (French, Italian, Spanish: `acme-de` as Amazon.fr, .it, .es; Japanese: the JPY
/// `model::JP_STORE`).
#[cfg(test)]
pub(crate) fn write_report_as(
    config: &crate::DemoConfig,
    spec: &'static StoreSpec,
    style: ReportStyle,
    marketplace: &str,
    path: &Path,
) -> Result<crate::StoreMonth, DemoError> {
    let month = crate::store_month(config, spec)?;
    let mut writer = TransactionReportWriter::create(spec, style, marketplace, &month.settlements, path)?;
    for k in 0..month.store.orders {
        let order = month.plan.order(&month.store, k);
        crate::settlement::emit_order(&month.store, &order, &mut writer)?;
    }
    writer.finish()?;
    Ok(month)
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
            Clock::FrenchUtc => push_day_month_name(out, seconds, &FRENCH_MONTHS, 2, b':'),
            Clock::ItalianUtc => push_day_month_name(out, seconds, &ITALIAN_MONTHS, 2, b'.'),
            Clock::SpanishUtc => push_day_month_name(out, seconds, &SPANISH_MONTHS, 1, b':'),
            Clock::Tokyo => push_tokyo(out, seconds + JAPAN_OFFSET_SECONDS),
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
/// Sunday of March to the last Sunday of October, 1:00 UTC; none in UTC nor in Japan.
fn summer_time(clock: Clock, year: i64) -> (i64, i64) {
    let sunday = |month: u32, day: u32| {
        let date = NaiveDate::from_ymd_opt(year as i32, month, day).expect("a real date");
        sunday_on_or_after(date) * SECONDS_PER_DAY
    };
    match clock {
        Clock::Pacific => (sunday(3, 8) + 10 * 3600, sunday(11, 1) + 9 * 3600),
        Clock::London => (sunday(3, 25) + 3600, sunday(10, 25) + 3600),
        Clock::GermanUtc | Clock::FrenchUtc | Clock::ItalianUtc | Clock::SpanishUtc | Clock::Tokyo => (0, 0),
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

/// Minor units of a currency with `exponent` decimals, thousands grouped, in the words'
/// notation: `-1,052.64`, `1.234.567,89`, `1 052,64` (French, a no-break space), `1,234`
/// (yen); zero as `0`, as Amazon's reports write it.
fn push_amount(out: &mut Vec<u8>, amount_minor: i64, exponent: u32, words: &Words) {
    if amount_minor == 0 {
        out.push(b'0');
        return;
    }
    if amount_minor < 0 {
        out.push(b'-');
    }
    let units = amount_minor.unsigned_abs();
    let scale = 10u64.pow(exponent);
    let mut digits = Vec::with_capacity(20);
    push_u64(&mut digits, units / scale);
    for (index, digit) in digits.iter().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.extend_from_slice(words.grouping.as_bytes());
        }
        out.push(*digit);
    }
    if exponent > 0 {
        out.push(words.decimal);
        push_padded(out, units % scale, exponent as usize);
    }
}

const FRENCH_MONTHS: [&str; 12] =
    ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];
const ITALIAN_MONTHS: [&str; 12] = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"];
const SPANISH_MONTHS: [&str; 12] =
    ["ene.", "feb.", "mar.", "abr.", "may.", "jun.", "jul.", "ago.", "sept.", "oct.", "nov.", "dic."];

/// `1 oct. 2026 00:03:45 UTC` (French), `1 ott 2026 00.03.45 UTC` (Italian), `1 oct. 2026
/// 0:03:45 UTC` (Spanish) from UTC seconds: the day unpadded, the month's abbreviation,
/// the hour padded to `hour_digits`, the time's parts joined by `separator`.
fn push_day_month_name(out: &mut Vec<u8>, seconds: i64, months: &[&str; 12], hour_digits: usize, separator: u8) {
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY) as u64;
    push_u64(out, u64::from(day));
    out.push(b' ');
    out.extend_from_slice(months[month as usize - 1].as_bytes());
    out.push(b' ');
    push_u64(out, year as u64);
    out.push(b' ');
    push_padded(out, of_day / 3600, hour_digits);
    out.push(separator);
    push_padded(out, of_day / 60 % 60, 2);
    out.push(separator);
    push_padded(out, of_day % 60, 2);
    out.extend_from_slice(b" UTC");
}

/// Japan Standard Time is UTC+9 all year.
const JAPAN_OFFSET_SECONDS: i64 = 9 * 3600;

/// `2026/10/01 0:03:45 JST` from Japan's local seconds.
fn push_tokyo(out: &mut Vec<u8>, local: i64) {
    let (year, month, day) = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
    let of_day = local.rem_euclid(SECONDS_PER_DAY) as u64;
    push_u64(out, year as u64);
    out.push(b'/');
    push_padded(out, u64::from(month), 2);
    out.push(b'/');
    push_padded(out, u64::from(day), 2);
    out.push(b' ');
    push_u64(out, of_day / 3600);
    out.push(b':');
    push_padded(out, of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, of_day % 60, 2);
    out.extend_from_slice(b" JST");
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
        for ((sku, titles), product) in TITLES.iter().zip(&CATALOGUE) {
            assert_eq!(*sku, product.sku);
            assert!(titles.iter().all(|title| !title.is_empty()), "{sku}");
        }
    }

    #[test]
    fn amounts_group_thousands_in_the_locale_notation() {
        assert_eq!(text(|o| push_amount(o, 105_264, 2, &US)), "1,052.64");
        assert_eq!(text(|o| push_amount(o, -105_264, 2, &DE)), "-1.052,64");
        assert_eq!(text(|o| push_amount(o, 123_456_789, 2, &DE)), "1.234.567,89");
        assert_eq!(text(|o| push_amount(o, 99_999, 2, &US)), "999.99");
        assert_eq!(text(|o| push_amount(o, -5, 2, &US)), "-0.05");
        assert_eq!(text(|o| push_amount(o, 0, 2, &US)), "0");
        assert_eq!(text(|o| push_amount(o, -123_456_789, 2, &FR)), "-1\u{a0}234\u{a0}567,89");
        assert_eq!(text(|o| push_amount(o, 105_264, 2, &IT)), "1.052,64");
        assert_eq!(text(|o| push_amount(o, 105_264, 2, &ES)), "1.052,64");
        // Yen: no decimals.
        assert_eq!(text(|o| push_amount(o, 159_800, 0, &JP)), "159,800");
        assert_eq!(text(|o| push_amount(o, -318, 0, &JP)), "-318");
        assert_eq!(text(|o| push_amount(o, 0, 0, &JP)), "0");
    }

    #[test]
    fn amounts_read_back_in_each_locale() {
        use tieout_core::money::parse_amount_minor;
        use tieout_formats::amazon_transactions::ReportLocale as L;
        let styles = [
            (&US, L::English, 2),
            (&UK, L::English, 2),
            (&DE, L::German, 2),
            (&FR, L::French, 2),
            (&IT, L::Italian, 2),
            (&ES, L::Spanish, 2),
            (&JP, L::Japanese, 0),
        ];
        for (words, locale, exponent) in styles {
            for amount in [0, 1, -5, 999, 1_000, -105_264, 99_999_999, -12_345_678_901] {
                let written = text(|o| push_amount(o, amount, exponent, words));
                // As the reader reads a French amount: its grouping spaces as dots.
                let read = written.replace('\u{a0}', ".");
                let read = parse_amount_minor(&read, locale.number_style(), exponent as u8);
                assert_eq!(read, Ok(amount), "{locale:?} {written}");
            }
        }
    }

    #[test]
    fn every_preamble_states_its_currency() {
        for style in [
            ReportStyle::Us,
            ReportStyle::Uk,
            ReportStyle::De,
            ReportStyle::Fr,
            ReportStyle::It,
            ReportStyle::Es,
            ReportStyle::Jp,
        ] {
            let words = style.words();
            let placeholders = words.preamble.iter().filter(|line| line.contains(CURRENCY)).count();
            match words.currency_in_words {
                None => assert_eq!(placeholders, 1, "{style:?}"),
                Some(_) => assert_eq!(placeholders, 0, "{style:?}"),
            }
        }
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
    fn french_italian_spanish_and_japanese_dates() {
        use Clock::{FrenchUtc as Fr, ItalianUtc as It, SpanishUtc as Es, Tokyo as Jp};
        assert_eq!(date(Fr, utc(2026, 10, 1, 0, 3, 45)), "1 oct. 2026 00:03:45 UTC");
        assert_eq!(date(Fr, utc(2026, 3, 31, 23, 59, 59)), "31 mars 2026 23:59:59 UTC");
        assert_eq!(date(Fr, utc(2026, 8, 15, 9, 0, 0)), "15 août 2026 09:00:00 UTC");
        assert_eq!(date(Fr, utc(2026, 2, 2, 12, 0, 0)), "2 févr. 2026 12:00:00 UTC");
        assert_eq!(date(It, utc(2026, 10, 1, 0, 3, 45)), "1 ott 2026 00.03.45 UTC");
        assert_eq!(date(It, utc(2026, 6, 17, 13, 5, 9)), "17 giu 2026 13.05.09 UTC");
        assert_eq!(date(Es, utc(2026, 10, 1, 0, 3, 45)), "1 oct. 2026 0:03:45 UTC");
        assert_eq!(date(Es, utc(2026, 9, 30, 21, 7, 0)), "30 sept. 2026 21:07:00 UTC");
        // Japan time is UTC+9: the UTC evening is the next Japanese morning.
        assert_eq!(date(Jp, utc(2026, 9, 30, 15, 3, 45)), "2026/10/01 0:03:45 JST");
        assert_eq!(date(Jp, utc(2026, 12, 31, 14, 59, 59)), "2026/12/31 23:59:59 JST");
        assert_eq!(date(Jp, utc(2026, 12, 31, 15, 0, 0)), "2027/01/01 0:00:00 JST");
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
        let clocks = [
            Clock::Pacific,
            Clock::London,
            Clock::GermanUtc,
            Clock::FrenchUtc,
            Clock::ItalianUtc,
            Clock::SpanishUtc,
            Clock::Tokyo,
        ];
        for clock in clocks {
            let mut writer = ReportClock::new(clock);
            for &seconds in &instants {
                let written = text(|out| writer.push(out, seconds));
                let read = tieout_formats::dates::parse_report_instant(&written, None);
                assert_eq!(read, Ok(seconds), "{clock:?} {written}");
            }
        }
    }
}
