//! Amazon "Date Range Reports" transaction report (Seller Central > Payments > Reports
//! Repository > Transaction; also the "Monthly Unified Transaction" report), read into a
//! [`TransactionReport`]: one [`TransactionRow`] per report row, and for each non-zero
//! amount column of a row one [`SettlementLine`] (the record the settlement V2 reader
//! produces), marked released or deferred. The format is described in
//! `../shared/formats/amazon-transaction-range.md`.
//!
//! # Quirks handled
//!
//! * **CSV, every field quoted** (`""` escapes a quote; a description may hold commas).
//!   UTF-8 with or without a BOM; LF or CRLF. A file that is not UTF-8 is read as
//!   Windows-1252 (how Excel re-saves the EU reports; public parsers show `Ums?tze`), with
//!   a warning, when its header is then recognised; otherwise the UTF-8 error is reported.
//! * **Preamble lines before the header** (3 to 9 in real files: "Includes Amazon
//!   Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions", "All
//!   amounts in USD, unless specified", definitions, blank lines, in the report's language).
//!   The header is the first row whose first cell is a `date/time` label of a known locale
//!   (`date/time`, `Datum/Uhrzeit`, `date/heure`, `Data/Ora:`, `fecha y hora`, `日付/時間`),
//!   within [`PREAMBLE_ROWS_MAX`] rows; never a fixed number of skipped lines.
//! * **Currency**: only the preamble states it ("All amounts in EUR, …" or its
//!   translation): the first three-letter code there that tieout knows. A Japanese report
//!   without one is JPY (Amazon.co.jp pays only yen); any other report without one is
//!   refused, since the currency decides how many decimals its amounts have.
//! * **Columns are found by name**, never by position: the column set changed over the
//!   years (23 columns in 2017 with `sales tax collected` and `Marketplace Facilitator
//!   Tax`, about 30 now with `product sales tax`, `Regulatory Fee`, `marketplace withheld
//!   tax`, then `transaction status` / `transaction release date`), UK files write
//!   `fulfilment` and `postage credits`, AU files `low value goods` and `fulfilment by
//!   amazon fees`, Japanese files have an extra `Amazonポイントの費用` column (positional
//!   mappings from the English layout are off by one after it), Spanish files leave some
//!   names untranslated. Names compare case-, accent-, apostrophe- (`d’expédition`) and
//!   space-insensitively, a trailing `:` ignored (`Data/Ora:`); English names are
//!   accepted in every locale. A column tieout does not know is an error naming it: it
//!   could hold money that the row's lines would then leave out.
//! * **Numbers in the locale's notation**: English `-1,052.64`, German, French, Italian
//!   and Spanish `-1.052,64` (French also `1 052,64` with a (no-break) space grouping),
//!   Japanese `1,234` (yen, no decimals); `0` for zero, an empty cell is zero (an empty
//!   `total` is an error). Read by
//!   [`parse_amount_minor`] with the locale's [`NumberStyle`] (`Dot` / `Comma`), so a
//!   value in the other notation is refused, never misread.
//! * **Dates** in the locale's words (`Oct 1, 2026 12:03:45 AM PDT`, `1 Oct 2026 15:22:08
//!   GMT`, `01.10.2026 00:03:45 UTC`, `1 oct. 2026 00:03:45 UTC`, `1 ott 2026 00.03.45
//!   UTC`, `2026/10/01 0:03:45 JST`), read by [`dates::parse_report_instant`]: the zone is
//!   required, named zones are mapped explicitly (PST −8, PDT −7, BST +1, CET +1, CEST +2,
//!   JST +9, `GMT+9`). A numeric `01/10/2026` is day first in the EU locales; in an English
//!   report it is read only when unambiguous, until a date of the file reveals the order.
//! * **Each row's total is checked**: the row's amount columns must sum to its `total`
//!   column to the cent; a difference is an error naming the line (a column read wrong,
//!   or one tieout does not know, would otherwise pass unnoticed).
//! * **Released and deferred**: a report lists transactions already in a settlement
//!   (released) and ones Amazon still holds (deferred, 7 days after delivery by default).
//!   Newer reports say which in `transaction status` (`Released` / `Deferred`, German
//!   `Veröffentlicht`; see [`STATUS_WORDS`]; an unknown word is an error). Without that
//!   column (or with it empty) a row is released when it carries a settlement id and
//!   deferred when not. A deferred row keeps the settlement id it may already name (the
//!   settlement it will be paid in); a released row without one is an error.
//! * **Transfers**: a `Transfer` row is the payout to the bank (negative). Its line has
//!   transaction type `Transfer` (class [`TransactionClass::Transfer`]): a caller summing
//!   a settlement's lines to compare them with its payout leaves these out.
//! * Any error and the report returns no rows and no lines (its diagnostics say why);
//!   reading stops after [`limits::FILE_DIAGNOSTICS_MAX`] diagnostics. A report without
//!   transactions is read, with a warning.
//!
//! # Rows become settlement lines
//!
//! Each non-zero amount column of a row becomes one line, in this order, named as the V2
//! settlement file names the same component. "Order rows" are those whose type is an
//! order, refund, chargeback or retrocharge; for the other rows (service fees,
//! adjustments, transfers, inventory fees …) the fee and `other` columns carry the row's
//! `description` (`Cost of Advertising`, `FBA storage fee`), or its type when empty, as
//! the V2 file's `other-transaction` lines do.
//!
//! | column (English names) | amount-type | amount-description (order rows) | (other rows) |
//! |---|---|---|---|
//! | product sales | `ItemPrice` | `Principal` | same |
//! | product sales tax; sales tax collected (2017) | `ItemPrice` | `Tax` | same |
//! | shipping credits, postage credits | `ItemPrice` | `Shipping` | same |
//! | shipping credits tax | `ItemPrice` | `ShippingTax` | same |
//! | gift wrap credits | `ItemPrice` | `GiftWrap` | same |
//! | giftwrap credits tax | `ItemPrice` | `GiftWrapTax` | same |
//! | Regulatory Fee | `ItemPrice` | `RegulatoryFee` | same |
//! | Tax On Regulatory Fee | `ItemPrice` | `RegulatoryFeeTax` | same |
//! | promotional rebates | `Promotion` | `Principal` | same |
//! | promotional rebates tax | `Promotion` | `TaxDiscount` | same |
//! | Amazonポイントの費用 (JP points cost) | `ItemFees` | `PointsCost` | same |
//! | marketplace withheld tax; Marketplace Facilitator Tax (2017) | `ItemWithheldTax` | `MarketplaceFacilitatorTax` | same |
//! | low value goods (AU) | `ItemWithheldTax` | `LowValueGoodsTax` | same |
//! | selling fees | `ItemFees` | `Commission` | description |
//! | fba fees, fulfilment by amazon fees | `ItemFees` | `FBAPerUnitFulfillmentFee` | description |
//! | other transaction fees | `ItemFees` | `OtherTransactionFees` | description |
//! | other | `other-transaction` | `Other` | description |
//!
//! The transaction type is the V2 name of the row's (possibly localised) `type`
//! ([`TYPE_NAMES`]: `Bestellung` → `Order`, `Service Fee` → `ServiceFee`,
//! `Bestellung_Wiedereinzug` → `Order_Retrocharge` …); a type not in the table is kept as
//! written (its class is then `Other`). The other fields: order-id ← `order id`, sku,
//! quantity, marketplace-name ← `marketplace`, fulfillment-id ← `fulfillment` (`Amazon`
//! → `AFN`, the seller in any language → `MFN`), posted time ← `date/time`,
//! settlement-id ← `settlement id` (0 for a deferred row without one). The report has no
//! order-item-code, shipment, adjustment or promotion ids, nor merchant order ids: those
//! are empty.
//!
//! Each row's selling fees are net (a refund's commission returned minus the refund
//! commission), and its withheld tax covers principal, shipping and gift wrap at once:
//! the report does not split them, so neither do these lines.
//!
//! # What the core would need (not changed here)
//!
//! * `SettlementLine::settlement_id` is a `u64`: a deferred transaction without a
//!   settlement yet is written as 0 (an `Option<u64>` would say it).
//! * The released / deferred mark, the release date, the row's type as written and its
//!   description have no field in `SettlementLine`: they are in [`TransactionLine`] and
//!   [`TransactionRow`] beside it.
//! * `SourceFormat` has no variant for this report, so [`crate::detect::detect`] cannot
//!   name it (it answers `Tabular`, and the import use case does not read it yet);
//!   [`crate::detect::detect_amazon_transactions`] recognises it.
//! * `classify_component` counts `Promotion / TaxDiscount` as a promotion (as for V2
//!   files), and knows neither `RegulatoryFee(Tax)`, `LowValueGoodsTax` nor `PointsCost`
//!   (they are `Other`, or `OtherFee` under `ItemFees`); `classify_transaction` knows no
//!   localised type (hence the translation here).
//! * [`PREAMBLE_ROWS_MAX`] belongs with the named limits in `core::limits`.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use tieout_core::diag::{has_errors, Diagnostic};
use tieout_core::ids::OrderId;
use tieout_core::intern::{Interner, Sym};
use tieout_core::limits;
use tieout_core::money::{format_minor, parse_amount_minor, Currency, NumberStyle};
use tieout_core::records::{classify_line, classify_transaction, SettlementLine, TransactionClass};

use crate::amazon_settlement::parse_settlement_id;
use crate::dates::{self, DateOrder};
use crate::statement_profile::{check_lines, decode, LineCounter, TextEncoding};

/// Most rows read before the header (the preamble is 3 to 9 rows in real files).
pub const PREAMBLE_ROWS_MAX: usize = 30;
const _: () = assert!(PREAMBLE_ROWS_MAX < limits::FILE_ROWS_MAX as usize);

/// The language a report's header is written in; it decides the notation of its numbers
/// and dates. English covers the US, CA, UK and AU reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportLocale {
    English,
    German,
    French,
    Italian,
    Spanish,
    Japanese,
}

impl ReportLocale {
    pub const ALL: [ReportLocale; 6] = [
        ReportLocale::English,
        ReportLocale::German,
        ReportLocale::French,
        ReportLocale::Italian,
        ReportLocale::Spanish,
        ReportLocale::Japanese,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportLocale::English => "English",
            ReportLocale::German => "German",
            ReportLocale::French => "French",
            ReportLocale::Italian => "Italian",
            ReportLocale::Spanish => "Spanish",
            ReportLocale::Japanese => "Japanese",
        }
    }

    /// `1,234.56` (English, Japanese) or `1.234,56` (German, French, Italian, Spanish).
    pub fn number_style(self) -> NumberStyle {
        match self {
            ReportLocale::English | ReportLocale::Japanese => NumberStyle::Dot,
            _ => NumberStyle::Comma,
        }
    }

    /// The order of a numeric `01/10/2026`: day first in the EU languages; English
    /// reports differ by marketplace (US month first, UK and AU day first) and Japanese
    /// ones write the year first, so `None`: read only when unambiguous.
    pub fn slash_order(self) -> Option<DateOrder> {
        match self {
            ReportLocale::English | ReportLocale::Japanese => None,
            _ => Some(DateOrder::DayFirst),
        }
    }

    fn amount_example(self) -> &'static str {
        match self {
            ReportLocale::English => "1,234.56",
            ReportLocale::Japanese => "1,234",
            _ => "1.234,56",
        }
    }
}

/// What a reader of transaction reports returns. On any error, `rows` and `lines` are
/// empty and `diagnostics` say why.
#[derive(Clone, Debug, Default)]
pub struct TransactionReport {
    /// The header's language; `None` when no header was found.
    pub locale: Option<ReportLocale>,
    /// Stated in the preamble (JPY for a Japanese report that states none).
    pub currency: Option<Currency>,
    /// The `marketplace` every row that names one names (`amazon.com`, compared
    /// case-insensitively), as first written; `None` when they name several or none.
    pub marketplace: Option<String>,
    pub strings: Interner,
    pub rows: Vec<TransactionRow>,
    /// The rows' amount components, in row order.
    pub lines: Vec<TransactionLine>,
    pub diagnostics: Vec<Diagnostic>,
}

impl TransactionReport {
    /// Lines of transactions in a settlement already.
    pub fn released(&self) -> impl Iterator<Item = &TransactionLine> {
        self.lines.iter().filter(|line| line.released)
    }

    /// Lines of transactions Amazon still holds.
    pub fn deferred(&self) -> impl Iterator<Item = &TransactionLine> {
        self.lines.iter().filter(|line| !line.released)
    }
}

/// One row of the report: one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRow {
    /// 1-based line of the file where the row starts.
    pub line: u32,
    /// `None` when the row names no settlement (a deferred transaction).
    pub settlement_id: Option<u64>,
    pub released: bool,
    pub posted_utc_seconds: i64,
    /// `transaction release date`, when the report has it and the row fills it.
    pub release_utc_seconds: Option<i64>,
    /// `type` as written (`Bestellung`).
    pub report_type: Sym,
    /// Its V2 name (`Order`), the lines' transaction type.
    pub transaction_type: Sym,
    /// `description` as written (a product title on order rows).
    pub description: Sym,
    pub total_minor: i64,
    /// The row's lines in [`TransactionReport::lines`] (empty when every amount is 0).
    pub lines: Range<usize>,
}

/// One amount component of a row, as a settlement line, with what the line cannot say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionLine {
    pub line: SettlementLine,
    /// In a settlement already (`false`: deferred).
    pub released: bool,
    /// Index of its row in [`TransactionReport::rows`].
    pub row: usize,
}

/// Reads an Amazon Date Range transaction report from its bytes. Problems are in the
/// returned diagnostics; with any error, no rows and no lines are returned.
pub fn read_transaction_report(file_name: &str, bytes: &[u8]) -> TransactionReport {
    let mut reader = Reader { file: file_name, out: TransactionReport::default(), error_count: 0, stopped: false };
    reader.read(bytes);
    reader.finish()
}

/// The locale of a report whose header is among the first rows of `text` (a header with
/// a `date/time` label first, a settlement id and a total column), for detection.
/// Whether the text looks like a transaction report even when tieout cannot read it: a
/// header with a `date/time` label of a language tieout does not read yet, or a first
/// preamble line naming Amazon followed by a row of at least
/// [`UNKNOWN_LOCALE_COLUMNS_MIN`] columns. Such a file goes to the reader, whose error
/// names the language (or says which ones it reads), rather than being called unknown.
pub(crate) fn looks_like_report(text: &str) -> bool {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut names_amazon = false;
    for index in 0..=PREAMBLE_ROWS_MAX {
        if !matches!(csv.read_record(&mut record), Ok(true)) {
            return false;
        }
        if header_locale(&record).is_some() {
            return true;
        }
        if index == 0 {
            names_amazon = record.iter().any(|cell| cell.to_lowercase().contains("amazon"));
        } else if names_amazon && record.len() >= UNKNOWN_LOCALE_COLUMNS_MIN {
            return true;
        }
    }
    false
}

/// Columns of a transaction report's header in any language (23 in 2017, about 30 now).
const UNKNOWN_LOCALE_COLUMNS_MIN: usize = 20;

pub(crate) fn sniff_locale(text: &str) -> Option<ReportLocale> {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    for _ in 0..=PREAMBLE_ROWS_MAX {
        if !matches!(csv.read_record(&mut record), Ok(true)) {
            return None;
        }
        if let Some(Ok(locale)) = header_locale(&record) {
            let columns: Vec<Option<Col>> = record.iter().map(column_of).collect();
            let has = |col: Col| columns.contains(&Some(col));
            return (has(Col::SettlementId) && has(Col::Total)).then_some(locale);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Columns and the words of each locale.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
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
    OrderCity,
    OrderState,
    OrderPostal,
    TaxCollectionModel,
    ProductSales,
    ProductSalesTax,
    SalesTaxCollected,
    ShippingCredits,
    ShippingCreditsTax,
    GiftWrapCredits,
    GiftWrapCreditsTax,
    RegulatoryFee,
    RegulatoryFeeTax,
    PromotionalRebates,
    PromotionalRebatesTax,
    PointsCost,
    MarketplaceWithheldTax,
    MarketplaceFacilitatorTax,
    LowValueGoods,
    SellingFees,
    FbaFees,
    OtherTransactionFees,
    Other,
    Total,
    TransactionStatus,
    ReleaseDate,
}

const COLUMN_COUNT: usize = Col::ReleaseDate as usize + 1;

/// Columns every report has.
const REQUIRED: &[Col] = &[Col::DateTime, Col::SettlementId, Col::Type, Col::OrderId, Col::Description, Col::Total];

use ReportLocale as L;

/// Header names, as Amazon writes them (compared through [`fold`]). The first name of a
/// column in a locale is the one diagnostics use.
const HEADER_NAMES: &[(Col, L, &str)] = &[
    (Col::DateTime, L::English, "date/time"),
    (Col::SettlementId, L::English, "settlement id"),
    (Col::Type, L::English, "type"),
    (Col::OrderId, L::English, "order id"),
    (Col::Sku, L::English, "sku"),
    (Col::Description, L::English, "description"),
    (Col::Quantity, L::English, "quantity"),
    (Col::Marketplace, L::English, "marketplace"),
    (Col::AccountType, L::English, "account type"),
    (Col::Fulfillment, L::English, "fulfillment"),
    (Col::Fulfillment, L::English, "fulfilment"),
    (Col::OrderCity, L::English, "order city"),
    (Col::OrderState, L::English, "order state"),
    (Col::OrderPostal, L::English, "order postal"),
    (Col::TaxCollectionModel, L::English, "tax collection model"),
    (Col::ProductSales, L::English, "product sales"),
    (Col::ProductSalesTax, L::English, "product sales tax"),
    (Col::SalesTaxCollected, L::English, "sales tax collected"),
    (Col::ShippingCredits, L::English, "shipping credits"),
    (Col::ShippingCredits, L::English, "postage credits"),
    (Col::ShippingCreditsTax, L::English, "shipping credits tax"),
    (Col::ShippingCreditsTax, L::English, "postage credits tax"),
    (Col::GiftWrapCredits, L::English, "gift wrap credits"),
    (Col::GiftWrapCreditsTax, L::English, "giftwrap credits tax"),
    (Col::RegulatoryFee, L::English, "Regulatory Fee"),
    (Col::RegulatoryFeeTax, L::English, "Tax On Regulatory Fee"),
    (Col::PromotionalRebates, L::English, "promotional rebates"),
    (Col::PromotionalRebatesTax, L::English, "promotional rebates tax"),
    (Col::MarketplaceWithheldTax, L::English, "marketplace withheld tax"),
    (Col::MarketplaceFacilitatorTax, L::English, "Marketplace Facilitator Tax"),
    (Col::LowValueGoods, L::English, "low value goods"),
    (Col::SellingFees, L::English, "selling fees"),
    (Col::FbaFees, L::English, "fba fees"),
    (Col::FbaFees, L::English, "fulfilment by amazon fees"),
    (Col::FbaFees, L::English, "fulfillment by amazon fees"),
    (Col::OtherTransactionFees, L::English, "other transaction fees"),
    (Col::Other, L::English, "other"),
    (Col::Total, L::English, "total"),
    (Col::TransactionStatus, L::English, "transaction status"),
    (Col::ReleaseDate, L::English, "transaction release date"),
    (Col::DateTime, L::German, "Datum/Uhrzeit"),
    (Col::SettlementId, L::German, "Abrechnungsnummer"),
    (Col::Type, L::German, "Typ"),
    (Col::OrderId, L::German, "Bestellnummer"),
    (Col::Sku, L::German, "SKU"),
    (Col::Description, L::German, "Beschreibung"),
    (Col::Quantity, L::German, "Menge"),
    (Col::Marketplace, L::German, "Marketplace"),
    (Col::Fulfillment, L::German, "Versand"),
    (Col::OrderCity, L::German, "Ort der Bestellung"),
    (Col::OrderState, L::German, "Bundesland"),
    (Col::OrderPostal, L::German, "Postleitzahl"),
    (Col::TaxCollectionModel, L::German, "Steuererhebungsmodell"),
    (Col::ProductSales, L::German, "Umsätze"),
    (Col::ProductSalesTax, L::German, "Produktumsatzsteuer"),
    (Col::ShippingCredits, L::German, "Gutschrift für Versandkosten"),
    (Col::ShippingCreditsTax, L::German, "Steuer auf Versandgutschrift"),
    (Col::GiftWrapCredits, L::German, "Gutschrift für Geschenkverpackung"),
    (Col::GiftWrapCreditsTax, L::German, "Steuer auf Geschenkverpackungsgutschriften"),
    (Col::PromotionalRebates, L::German, "Rabatte aus Werbeaktionen"),
    (Col::PromotionalRebatesTax, L::German, "Steuer auf Aktionsrabatte"),
    (Col::MarketplaceWithheldTax, L::German, "Einbehaltene Steuer auf Marketplace"),
    (Col::SellingFees, L::German, "Verkaufsgebühren"),
    (Col::FbaFees, L::German, "Gebühren zu Versand durch Amazon"),
    (Col::OtherTransactionFees, L::German, "Andere Transaktionsgebühren"),
    (Col::Other, L::German, "Andere"),
    (Col::Total, L::German, "Gesamt"),
    (Col::TransactionStatus, L::German, "Transaktionsstatus"),
    (Col::ReleaseDate, L::German, "Freigabedatum der Transaktion"),
    (Col::DateTime, L::French, "date/heure"),
    (Col::SettlementId, L::French, "numéro de versement"),
    (Col::SettlementId, L::French, "Identifiant du paiement"),
    (Col::Type, L::French, "type"),
    (Col::OrderId, L::French, "numéro de la commande"),
    (Col::Sku, L::French, "sku"),
    (Col::Description, L::French, "description"),
    (Col::Quantity, L::French, "quantité"),
    (Col::Marketplace, L::French, "Marketplace"),
    (Col::Marketplace, L::French, "site de vente"),
    (Col::Fulfillment, L::French, "traitement"),
    (Col::Fulfillment, L::French, "expédition"),
    (Col::OrderCity, L::French, "ville d'où provient la commande"),
    (Col::OrderCity, L::French, "ville de la commande"),
    (Col::OrderState, L::French, "Région d'où provient la commande"),
    (Col::OrderState, L::French, "état de la commande"),
    (Col::OrderPostal, L::French, "code postal de la commande"),
    (Col::OrderPostal, L::French, "commande postale"),
    (Col::TaxCollectionModel, L::French, "Modèle de perception des taxes"),
    (Col::ProductSales, L::French, "ventes de produits"),
    (Col::ProductSalesTax, L::French, "Taxes sur la vente des produits"),
    (Col::SalesTaxCollected, L::French, "taxe de ventes prélevée"),
    (Col::ShippingCredits, L::French, "crédits d'expédition"),
    (Col::ShippingCreditsTax, L::French, "taxe sur les crédits d'expédition"),
    (Col::GiftWrapCredits, L::French, "crédits sur l'emballage cadeau"),
    (Col::GiftWrapCredits, L::French, "crédits d'emballage-cadeau"),
    (Col::GiftWrapCreditsTax, L::French, "Taxes sur les crédits cadeaux"),
    (Col::PromotionalRebates, L::French, "Rabais promotionnels"),
    (Col::PromotionalRebates, L::French, "Total des réductions"),
    (Col::PromotionalRebatesTax, L::French, "Taxes sur les remises promotionnelles"),
    (Col::MarketplaceWithheldTax, L::French, "Taxes retenues sur le site de vente"),
    (Col::MarketplaceFacilitatorTax, L::French, "Taxe Marketplace Facilitator"),
    (Col::SellingFees, L::French, "frais de vente"),
    (Col::FbaFees, L::French, "Frais Expédié par Amazon"),
    (Col::FbaFees, L::French, "Frais pour le service Expédié par Amazon"),
    (Col::OtherTransactionFees, L::French, "autres frais de transaction"),
    (Col::Other, L::French, "autre"),
    (Col::Other, L::French, "autres"),
    (Col::Total, L::French, "total"),
    (Col::TransactionStatus, L::French, "Statut de la transaction"),
    (Col::ReleaseDate, L::French, "Date de sortie de la transaction"),
    (Col::ReleaseDate, L::French, "Date de délivrance de la transaction"),
    (Col::DateTime, L::Italian, "Data/Ora:"),
    (Col::SettlementId, L::Italian, "Numero pagamento"),
    (Col::Type, L::Italian, "Tipo"),
    (Col::OrderId, L::Italian, "Numero ordine"),
    (Col::Sku, L::Italian, "SKU"),
    (Col::Description, L::Italian, "Descrizione"),
    (Col::Quantity, L::Italian, "Quantità"),
    (Col::Marketplace, L::Italian, "Marketplace"),
    (Col::Fulfillment, L::Italian, "Gestione"),
    (Col::OrderCity, L::Italian, "Città di provenienza dell'ordine"),
    (Col::OrderState, L::Italian, "Provincia di provenienza dell'ordine"),
    (Col::OrderPostal, L::Italian, "CAP dell'ordine"),
    (Col::TaxCollectionModel, L::Italian, "modello di riscossione delle imposte"),
    (Col::ProductSales, L::Italian, "Vendite"),
    (Col::ProductSalesTax, L::Italian, "imposta sulle vendite dei prodotti"),
    (Col::ShippingCredits, L::Italian, "Accrediti per le spedizioni"),
    (Col::ShippingCreditsTax, L::Italian, "imposta accrediti per le spedizioni"),
    (Col::GiftWrapCredits, L::Italian, "Accrediti per confezioni regalo"),
    (Col::GiftWrapCreditsTax, L::Italian, "imposta sui crediti confezione regalo"),
    (Col::PromotionalRebates, L::Italian, "Sconti promozionali"),
    (Col::PromotionalRebatesTax, L::Italian, "imposta sugli sconti promozionali"),
    (Col::MarketplaceWithheldTax, L::Italian, "trattenuta IVA del marketplace"),
    (Col::SellingFees, L::Italian, "Commissioni di vendita"),
    (Col::FbaFees, L::Italian, "Costi del servizio Logistica di Amazon"),
    (Col::OtherTransactionFees, L::Italian, "Altri costi relativi alle transazioni"),
    (Col::Other, L::Italian, "Altro"),
    (Col::Total, L::Italian, "totale"),
    (Col::TransactionStatus, L::Italian, "Stato della transazione"),
    (Col::ReleaseDate, L::Italian, "Data di rilascio della transazione"),
    (Col::DateTime, L::Spanish, "fecha y hora"),
    (Col::SettlementId, L::Spanish, "identificador de pago"),
    (Col::Type, L::Spanish, "tipo"),
    (Col::OrderId, L::Spanish, "número de pedido"),
    (Col::Sku, L::Spanish, "sku"),
    (Col::Description, L::Spanish, "descripción"),
    (Col::Quantity, L::Spanish, "cantidad"),
    (Col::Marketplace, L::Spanish, "web de Amazon"),
    (Col::Fulfillment, L::Spanish, "gestión logística"),
    (Col::OrderCity, L::Spanish, "ciudad de procedencia del pedido"),
    (Col::OrderState, L::Spanish, "comunidad autónoma de procedencia del pedido"),
    (Col::OrderPostal, L::Spanish, "código postal de procedencia del pedido"),
    (Col::TaxCollectionModel, L::Spanish, "Formulario de recaudación de impuestos"),
    (Col::ProductSales, L::Spanish, "ventas de productos"),
    (Col::ProductSalesTax, L::Spanish, "impuesto de ventas de productos"),
    (Col::ShippingCredits, L::Spanish, "abonos de envío"),
    (Col::ShippingCreditsTax, L::Spanish, "impuestos por abonos de envío"),
    (Col::GiftWrapCredits, L::Spanish, "abonos de envoltorio para regalo"),
    (Col::GiftWrapCreditsTax, L::Spanish, "impuestos por abonos de envoltorio para regalo"),
    (Col::PromotionalRebates, L::Spanish, "devoluciones promocionales"),
    (Col::PromotionalRebatesTax, L::Spanish, "impuestos de descuentos por promociones"),
    (Col::MarketplaceWithheldTax, L::Spanish, "impuesto retenido en el sitio web"),
    (Col::SellingFees, L::Spanish, "tarifas de venta"),
    (Col::FbaFees, L::Spanish, "tarifas de Logística de Amazon"),
    (Col::OtherTransactionFees, L::Spanish, "tarifas de otras transacciones"),
    (Col::Other, L::Spanish, "otro"),
    (Col::Total, L::Spanish, "total"),
    (Col::TransactionStatus, L::Spanish, "Estado de la transacción"),
    (Col::ReleaseDate, L::Spanish, "Fecha de liberación de la transacción"),
    (Col::DateTime, L::Japanese, "日付/時間"),
    (Col::SettlementId, L::Japanese, "決済番号"),
    (Col::Type, L::Japanese, "トランザクションの種類"),
    (Col::OrderId, L::Japanese, "注文番号"),
    (Col::Sku, L::Japanese, "SKU"),
    (Col::Description, L::Japanese, "説明"),
    (Col::Quantity, L::Japanese, "数量"),
    (Col::Marketplace, L::Japanese, "Amazon 出品サービス"),
    (Col::Fulfillment, L::Japanese, "フルフィルメント"),
    (Col::OrderCity, L::Japanese, "市町村"),
    (Col::OrderState, L::Japanese, "都道府県"),
    (Col::OrderPostal, L::Japanese, "郵便番号"),
    (Col::TaxCollectionModel, L::Japanese, "税金徴収型"),
    (Col::ProductSales, L::Japanese, "商品売上"),
    (Col::ProductSalesTax, L::Japanese, "商品の売上税"),
    (Col::ShippingCredits, L::Japanese, "配送料"),
    (Col::ShippingCreditsTax, L::Japanese, "配送料の税金"),
    (Col::GiftWrapCredits, L::Japanese, "ギフト包装手数料"),
    (Col::GiftWrapCreditsTax, L::Japanese, "ギフト包装クレジットの税金"),
    (Col::PointsCost, L::Japanese, "Amazonポイントの費用"),
    (Col::PromotionalRebates, L::Japanese, "プロモーション割引額"),
    (Col::PromotionalRebatesTax, L::Japanese, "プロモーション割引の税金"),
    (Col::MarketplaceWithheldTax, L::Japanese, "源泉徴収税を伴うマーケットプレイス"),
    (Col::SellingFees, L::Japanese, "手数料"),
    (Col::FbaFees, L::Japanese, "FBA 手数料"),
    (Col::OtherTransactionFees, L::Japanese, "トランザクションに関するその他の手数料"),
    (Col::Other, L::Japanese, "その他"),
    (Col::Total, L::Japanese, "合計"),
    (Col::TransactionStatus, L::Japanese, "トランザクションのステータス"),
    // Seen in a public mapping of a Japanese report; taken to be the release date.
    (Col::ReleaseDate, L::Japanese, "トランザクション開始日"),
];

/// `date/time` labels of reports in languages tieout does not read yet.
const UNSUPPORTED_DATE_LABELS: &[(&str, &str)] =
    &[("datum/tijd", "Dutch"), ("fecha/hora", "Mexican Spanish"), ("datum/tid", "Swedish")];

/// `type` as the reports write it → the V2 settlement file's transaction type. Only
/// names seen in real reports or in public code that reads them.
pub const TYPE_NAMES: &[(&str, &str)] = &[
    ("Order", "Order"),
    ("Refund", "Refund"),
    ("Service Fee", "ServiceFee"),
    ("Adjustment", "Adjustment"),
    ("Transfer", "Transfer"),
    ("Chargeback Refund", "Chargeback Refund"),
    ("A-to-z Guarantee Claim", "A-to-z Guarantee Claim"),
    ("Order_Retrocharge", "Order_Retrocharge"),
    ("Refund_Retrocharge", "Refund_Retrocharge"),
    ("Liquidations", "Liquidations"),
    ("Bestellung", "Order"),
    ("Erstattung", "Refund"),
    ("Servicegebühr", "ServiceFee"),
    ("Anpassung", "Adjustment"),
    ("Übertrag", "Transfer"),
    ("Bestellung_Wiedereinzug", "Order_Retrocharge"),
    ("Erstattung_Wiedereinzug", "Refund_Retrocharge"),
    ("Erstattung durch Rückbuchung", "Chargeback Refund"),
    ("Commande", "Order"),
    ("Remboursement", "Refund"),
    ("Transfert", "Transfer"),
    ("Ordine", "Order"),
    ("Rimborso", "Refund"),
    ("Trasferimento", "Transfer"),
    ("Pedido", "Order"),
    ("Reembolso", "Refund"),
    ("Transferir", "Transfer"),
    ("注文", "Order"),
    ("返金", "Refund"),
    ("振込み", "Transfer"),
    ("調整", "Adjustment"),
];

/// `transaction status` words: `true` released, `false` deferred. Verified on real
/// reports: `Released`, `Deferred` (English) and `Veröffentlicht` (German); the other
/// words are the languages' usual ones for Amazon's two states, accepted because none can
/// be mistaken for the other state. Any other word is refused.
pub const STATUS_WORDS: &[(&str, bool)] = &[
    ("Released", true),
    ("Deferred", false),
    ("Veröffentlicht", true),
    ("Freigegeben", true),
    ("Zurückgestellt", false),
    ("Aufgeschoben", false),
    ("Publié", true),
    ("Libéré", true),
    ("Différé", false),
    ("Reporté", false),
    ("Rilasciato", true),
    ("Pubblicato", true),
    ("Differito", false),
    ("Liberado", true),
    ("Publicado", true),
    ("Diferido", false),
    ("Aplazado", false),
];

/// `fulfillment` → the V2 `fulfillment-id`.
const FULFILLMENT_WORDS: &[(&str, &str)] = &[
    ("Amazon", "AFN"),
    ("Seller", "MFN"),
    ("Merchant", "MFN"),
    ("Verkäufer", "MFN"),
    ("Vendeur", "MFN"),
    ("Venditore", "MFN"),
    ("Vendedor", "MFN"),
    ("出品者", "MFN"),
];

/// An amount column and the line it becomes (see the table in the module documentation).
struct Component {
    col: Col,
    amount_type: &'static str,
    description: &'static str,
    /// On rows other than order rows, the line carries the row's description instead.
    named_by_row: bool,
}

const fn component(col: Col, amount_type: &'static str, description: &'static str) -> Component {
    Component { col, amount_type, description, named_by_row: false }
}

const fn charge(col: Col, amount_type: &'static str, description: &'static str) -> Component {
    Component { col, amount_type, description, named_by_row: true }
}

const COMPONENTS: &[Component] = &[
    component(Col::ProductSales, "ItemPrice", "Principal"),
    component(Col::ProductSalesTax, "ItemPrice", "Tax"),
    component(Col::SalesTaxCollected, "ItemPrice", "Tax"),
    component(Col::ShippingCredits, "ItemPrice", "Shipping"),
    component(Col::ShippingCreditsTax, "ItemPrice", "ShippingTax"),
    component(Col::GiftWrapCredits, "ItemPrice", "GiftWrap"),
    component(Col::GiftWrapCreditsTax, "ItemPrice", "GiftWrapTax"),
    component(Col::RegulatoryFee, "ItemPrice", "RegulatoryFee"),
    component(Col::RegulatoryFeeTax, "ItemPrice", "RegulatoryFeeTax"),
    component(Col::PromotionalRebates, "Promotion", "Principal"),
    component(Col::PromotionalRebatesTax, "Promotion", "TaxDiscount"),
    component(Col::PointsCost, "ItemFees", "PointsCost"),
    component(Col::MarketplaceWithheldTax, "ItemWithheldTax", "MarketplaceFacilitatorTax"),
    component(Col::MarketplaceFacilitatorTax, "ItemWithheldTax", "MarketplaceFacilitatorTax"),
    component(Col::LowValueGoods, "ItemWithheldTax", "LowValueGoodsTax"),
    charge(Col::SellingFees, "ItemFees", "Commission"),
    charge(Col::FbaFees, "ItemFees", "FBAPerUnitFulfillmentFee"),
    charge(Col::OtherTransactionFees, "ItemFees", "OtherTransactionFees"),
    charge(Col::Other, "other-transaction", "Other"),
];

// A row's amounts are each within `AMOUNT_MINOR_ABS_MAX`, so their sum cannot overflow.
const _: () = assert!((COMPONENTS.len() as i128 + 1) * (limits::AMOUNT_MINOR_ABS_MAX as i128) < i64::MAX as i128);

/// Text as compared with the tables: lower case, without accents, spaces or a trailing
/// `:`, typographic apostrophes as `'`.
fn fold(text: &str) -> String {
    let text = text.trim().trim_end_matches(':');
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            '’' | '‘' | '`' | '´' => '\'',
            other => other,
        })
        .collect()
}

/// [`HEADER_NAMES`] folded, once per process: every cell of a header (and of the
/// preamble rows detection looks at) is compared with every name, and folding the table
/// again for each cell was most of the time spent on a small report.
fn folded_header_names() -> &'static [(Col, ReportLocale, String)] {
    static FOLDED: OnceLock<Vec<(Col, ReportLocale, String)>> = OnceLock::new();
    FOLDED.get_or_init(|| HEADER_NAMES.iter().map(|(col, locale, name)| (*col, *locale, fold(name))).collect())
}

fn column_of(name: &str) -> Option<Col> {
    let folded = fold(name);
    folded_header_names().iter().find(|(_, _, known)| *known == folded).map(|(col, _, _)| *col)
}

/// The name diagnostics give a column in a locale.
fn display_name(col: Col, locale: ReportLocale) -> &'static str {
    let named = |wanted: ReportLocale| {
        HEADER_NAMES.iter().find(|(c, l, _)| *c == col && *l == wanted).map(|(_, _, name)| *name)
    };
    named(locale).or_else(|| named(ReportLocale::English)).unwrap_or("?")
}

/// `Some(Ok(locale))` when the record's first cell is a known `date/time` label,
/// `Some(Err(language))` when it is one of a language tieout does not read.
fn header_locale(record: &csv::StringRecord) -> Option<Result<ReportLocale, &'static str>> {
    let first = fold(record.get(0)?);
    if let Some((_, locale, _)) =
        folded_header_names().iter().find(|(col, _, name)| *col == Col::DateTime && *name == first)
    {
        return Some(Ok(*locale));
    }
    UNSUPPORTED_DATE_LABELS.iter().find(|(label, _)| fold(label) == first).map(|(_, language)| Err(*language))
}

/// A word table ([`TYPE_NAMES`], [`STATUS_WORDS`] …) folded once per report, so a row
/// folds only its own cell.
struct Words<T> {
    folded: Vec<(String, T)>,
}

impl<T: Copy> Words<T> {
    fn new(table: &[(&str, T)]) -> Words<T> {
        Words { folded: table.iter().map(|(word, value)| (fold(word), *value)).collect() }
    }

    fn get(&self, text: &str) -> Option<T> {
        let folded = fold(text);
        self.folded.iter().find(|(word, _)| *word == folded).map(|(_, value)| *value)
    }
}

/// The first currency code tieout knows among the preamble's words (`All amounts in USD,
/// unless specified`).
fn stated_currency(preamble: &[String]) -> Option<Currency> {
    preamble.iter().flat_map(|line| line.split(|c: char| !c.is_ascii_alphabetic())).find_map(|word| {
        let code = word.len() == 3 && word.bytes().all(|b| b.is_ascii_uppercase());
        code.then(|| Currency::from_code(word).ok()).flatten()
    })
}

// ---------------------------------------------------------------------------------------
// Reading.

const ABSENT: usize = usize::MAX;

/// Where each known column is in this report.
struct Layout {
    locale: ReportLocale,
    /// Fields per row (the header's).
    width: usize,
    index: [usize; COLUMN_COUNT],
    /// Header names as written, for diagnostics.
    names: Vec<String>,
}

impl Layout {
    fn read(file: &str, line: u32, locale: ReportLocale, header: &csv::StringRecord) -> Result<Layout, Diagnostic> {
        if header.len() > limits::ROW_COLUMNS_MAX {
            let message =
                format!("the header has {} columns; at most {} are read", header.len(), limits::ROW_COLUMNS_MAX);
            return Err(Diagnostic::error(file, line, 0, message));
        }
        let names: Vec<String> =
            header.iter().map(|name| name.trim().trim_start_matches('\u{feff}').to_owned()).collect();
        let mut index = [ABSENT; COLUMN_COUNT];
        for (position, name) in names.iter().enumerate() {
            let column = position as u32 + 1;
            let Some(col) = column_of(name) else {
                let message = format!(
                    "unknown column '{name}' in the header of this {} transaction report: tieout does not know what it holds (an amount column it left out would make rows not add up to their total)",
                    locale.name()
                );
                return Err(Diagnostic::error(file, line, column, message).with_column_name(name.as_str()));
            };
            if index[col as usize] != ABSENT {
                let message =
                    format!("column '{name}' appears twice (columns {} and {column})", index[col as usize] + 1);
                return Err(Diagnostic::error(file, line, column, message));
            }
            index[col as usize] = position;
        }
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|col| index[**col as usize] == ABSENT)
            .map(|col| format!("'{}'", display_name(*col, locale)))
            .collect();
        if !missing.is_empty() {
            let noun = if missing.len() == 1 { "column" } else { "columns" };
            let message = format!(
                "the {} transaction report's header lacks the required {noun} {}",
                locale.name(),
                missing.join(", ")
            );
            return Err(Diagnostic::error(file, line, 0, message));
        }
        Ok(Layout { locale, width: names.len(), index, names })
    }

    /// The trimmed cell of `col`, empty when the report has no such column.
    fn cell<'r>(&self, record: &'r csv::StringRecord, col: Col) -> &'r str {
        record.get(self.index[col as usize]).map_or("", str::trim)
    }

    fn column_number(&self, col: Col) -> u32 {
        match self.index[col as usize] {
            ABSENT => 0,
            position => position as u32 + 1,
        }
    }

    fn column_name(&self, col: Col) -> &str {
        match self.index[col as usize] {
            ABSENT => display_name(col, self.locale),
            position => &self.names[position],
        }
    }
}

struct Reader<'a> {
    file: &'a str,
    out: TransactionReport,
    error_count: usize,
    stopped: bool,
}

/// What the rows of one report share.
struct Rows {
    layout: Layout,
    currency: Currency,
    /// The order of numeric slash dates: the locale's, else the first date that shows it.
    slash_order: Option<DateOrder>,
    /// The marketplace rows name, as first written, and whether they name several.
    marketplace: Option<(String, bool)>,
    types: Words<&'static str>,
    statuses: Words<bool>,
    fulfillments: Words<&'static str>,
}

impl<'a> Reader<'a> {
    fn push(&mut self, diagnostic: Diagnostic) {
        if diagnostic.is_error() {
            self.error_count += 1;
        }
        if self.stopped {
            return;
        }
        self.stopped = !crate::text::push_limited(&mut self.out.diagnostics, self.file, diagnostic);
    }

    fn error(&mut self, line: u32, column: u32, message: impl Into<String>) {
        self.push(Diagnostic::error(self.file, line, column, message));
    }

    fn cell_error(&mut self, line: u32, layout: &Layout, col: Col, message: impl Into<String>) {
        let diagnostic = Diagnostic::error(self.file, line, layout.column_number(col), message)
            .with_column_name(layout.column_name(col));
        self.push(diagnostic);
    }

    fn read(&mut self, bytes: &[u8]) {
        if let Err(diagnostic) = crate::text::check_size(self.file, bytes, "transaction report") {
            return self.push(diagnostic);
        }
        let (text, not_utf8) = match crate::text::decode_utf8(self.file, bytes) {
            Ok(text) => (Cow::Borrowed(text), None),
            Err(utf8_error) => match decode(self.file, bytes, TextEncoding::Windows1252) {
                Ok(text) => (text, Some(utf8_error)),
                Err(diagnostic) => return self.push(diagnostic),
            },
        };
        if text.trim().is_empty() {
            return self.error(0, 0, "the file is empty");
        }
        if let Err(diagnostic) = check_lines(self.file, &text) {
            return self.push(diagnostic);
        }
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut lines = LineCounter::new(&text, 1);
        let mut record = csv::StringRecord::new();
        let Some(mut rows) = self.header(&mut csv, &mut lines, &mut record, not_utf8) else { return };
        let mut count: u32 = 0;
        while !self.stopped {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = lines.line_of(record.position().map_or(0, |p| p.byte() as usize));
                    if record.iter().all(|cell| cell.trim().is_empty()) {
                        continue;
                    }
                    count += 1;
                    if count > limits::FILE_ROWS_MAX {
                        self.error(line, 0, format!("the report has more than {} rows", limits::FILE_ROWS_MAX));
                        break;
                    }
                    self.row(&mut rows, line, &record);
                }
                Err(error) => {
                    let line = lines.line_of(error.position().map_or(0, |p| p.byte() as usize));
                    self.error(line, 0, format!("unreadable CSV: {error}"));
                    break;
                }
            }
        }
        if count == 0 {
            self.push(Diagnostic::warning(self.file, 0, 0, "the report has a header but no transactions"));
        }
        self.out.marketplace = rows.marketplace.and_then(|(name, several)| (!several).then_some(name));
    }

    /// Reads the preamble and the header; `None` when the report cannot be read (reported).
    fn header(
        &mut self,
        csv: &mut csv::Reader<&[u8]>,
        lines: &mut LineCounter,
        record: &mut csv::StringRecord,
        not_utf8: Option<Diagnostic>,
    ) -> Option<Rows> {
        let mut preamble: Vec<String> = Vec::new();
        let (line, locale) = loop {
            let problem = match csv.read_record(record) {
                Ok(true) => {
                    let line = lines.line_of(record.position().map_or(0, |p| p.byte() as usize));
                    match header_locale(record) {
                        Some(Ok(locale)) => break (line, locale),
                        Some(Err(language)) => Some(Diagnostic::error(self.file, line, 1, format!(
                            "this is a transaction report in {language}, which tieout does not read yet (it reads English, German, French, Italian, Spanish and Japanese ones)"
                        ))),
                        None if preamble.len() == PREAMBLE_ROWS_MAX => Some(Diagnostic::error(self.file, line, 0, format!(
                            "no transaction report header in the first {PREAMBLE_ROWS_MAX} rows: none starts with a date/time column (date/time, Datum/Uhrzeit, date/heure, Data/Ora:, fecha y hora, 日付/時間)"
                        ))),
                        None => {
                            preamble.push(record.iter().collect::<Vec<_>>().join(","));
                            None
                        }
                    }
                }
                Ok(false) => Some(Diagnostic::error(
                    self.file,
                    0,
                    0,
                    "no transaction report header in a language tieout reads (English, German, French, Italian, Spanish, Japanese): no row starts with a date/time column (date/time, Datum/Uhrzeit, date/heure, Data/Ora:, fecha y hora, 日付/時間)",
                )),
                Err(error) => {
                    let line = lines.line_of(error.position().map_or(0, |p| p.byte() as usize));
                    Some(Diagnostic::error(self.file, line, 0, format!("unreadable CSV: {error}")))
                }
            };
            if let Some(diagnostic) = problem {
                // Read as Windows-1252 and still no header: the encoding is the problem.
                self.push(not_utf8.unwrap_or(diagnostic));
                return None;
            }
        };
        if let Some(utf8_error) = not_utf8 {
            let message = format!("{}; read as Windows-1252, as Excel saves it", utf8_error.message);
            self.push(Diagnostic::warning(self.file, utf8_error.line, utf8_error.column, message));
        }
        self.out.locale = Some(locale);
        let layout = match Layout::read(self.file, line, locale, record) {
            Ok(layout) => layout,
            Err(diagnostic) => {
                self.push(diagnostic);
                return None;
            }
        };
        let currency = match stated_currency(&preamble) {
            Some(currency) => currency,
            None if locale == ReportLocale::Japanese => Currency::JPY,
            None => {
                self.error(line, 0, "the report does not state its currency: Amazon writes it before the header ('All amounts in USD, unless specified'); download the report again rather than a copy without those lines");
                return None;
            }
        };
        self.out.currency = Some(currency);
        Some(Rows {
            slash_order: locale.slash_order(),
            layout,
            currency,
            marketplace: None,
            types: Words::new(TYPE_NAMES),
            statuses: Words::new(STATUS_WORDS),
            fulfillments: Words::new(FULFILLMENT_WORDS),
        })
    }

    /// Reads one row into its lines; a row with any error adds nothing.
    fn row(&mut self, rows: &mut Rows, line: u32, record: &csv::StringRecord) {
        let layout = &rows.layout;
        if !self.width_matches(layout, line, record) {
            return;
        }
        if self.out.strings.len() + 8 >= limits::INTERNED_STRINGS_MAX {
            self.error(line, 0, "too many distinct texts in one file");
            self.stopped = true;
            return;
        }
        let errors_before = self.error_count;
        let cell = |col: Col| layout.cell(record, col);
        let posted = self.instant(line, layout, record, Col::DateTime, &mut rows.slash_order);
        if cell(Col::DateTime).is_empty() {
            self.cell_error(line, layout, Col::DateTime, "empty date/time");
        }
        let release = self.instant(line, layout, record, Col::ReleaseDate, &mut rows.slash_order);
        let settlement_id = match cell(Col::SettlementId) {
            "" => None,
            text => parse_settlement_id(text)
                .map_err(|message| self.cell_error(line, layout, Col::SettlementId, message))
                .ok(),
        };
        let report_type = cell(Col::Type);
        if report_type.is_empty() {
            self.cell_error(line, layout, Col::Type, "empty type");
        }
        let released = match cell(Col::TransactionStatus) {
            "" => settlement_id.is_some(),
            status => rows.statuses.get(status).unwrap_or_else(|| {
                let message = format!(
                    "unknown transaction status '{status}' (tieout reads Released or Deferred, and their translations)"
                );
                self.cell_error(line, layout, Col::TransactionStatus, message);
                false
            }),
        };
        let quantity = match cell(Col::Quantity) {
            "" => 0,
            text => text.parse::<u32>().unwrap_or_else(|_| {
                self.cell_error(line, layout, Col::Quantity, format!("'{text}' is not a whole number of units"));
                0
            }),
        };
        let mut amounts = [0i64; COMPONENTS.len()];
        for (amount, component) in amounts.iter_mut().zip(COMPONENTS) {
            *amount = self.amount(line, layout, record, component.col, rows.currency);
        }
        if cell(Col::Total).is_empty() {
            self.cell_error(line, layout, Col::Total, "empty total");
        }
        let total = self.amount(line, layout, record, Col::Total, rows.currency);
        if self.error_count > errors_before {
            return;
        }
        let sum: i64 = amounts.iter().sum();
        if sum != total {
            let money = |amount: i64| format!("{} {}", format_minor(amount, rows.currency.exponent()), rows.currency);
            let message = format!(
                "the row's amounts sum to {}, but its total is {} (difference {})",
                money(sum),
                money(total),
                money(total - sum)
            );
            return self.cell_error(line, layout, Col::Total, message);
        }
        if released && settlement_id.is_none() {
            return self.cell_error(line, layout, Col::SettlementId, "a released transaction without a settlement id");
        }
        let marketplace = cell(Col::Marketplace);
        if !marketplace.is_empty() {
            match &mut rows.marketplace {
                None => rows.marketplace = Some((marketplace.to_owned(), false)),
                Some((first, several)) => *several |= !first.eq_ignore_ascii_case(marketplace),
            }
        }
        let transaction_type = rows.types.get(report_type).unwrap_or(report_type);
        let order_row = matches!(
            classify_transaction(transaction_type),
            TransactionClass::Order
                | TransactionClass::Refund
                | TransactionClass::Chargeback
                | TransactionClass::Retrocharge
        );
        let description = cell(Col::Description);
        let fulfillment = cell(Col::Fulfillment);
        let strings = &mut self.out.strings;
        let row = TransactionRow {
            line,
            settlement_id,
            released,
            posted_utc_seconds: posted.unwrap_or(0),
            release_utc_seconds: release,
            report_type: strings.intern(report_type),
            transaction_type: strings.intern(transaction_type),
            description: strings.intern(description),
            total_minor: total,
            lines: self.out.lines.len()..self.out.lines.len(),
        };
        let template = SettlementLine {
            settlement_id: settlement_id.unwrap_or(0),
            line,
            transaction_type: row.transaction_type,
            order_id: OrderId::parse(cell(Col::OrderId)),
            merchant_order_id: Sym::EMPTY,
            adjustment_id: Sym::EMPTY,
            shipment_id: Sym::EMPTY,
            marketplace: strings.intern(marketplace),
            amount_type: Sym::EMPTY,
            amount_description: Sym::EMPTY,
            amount_minor: 0,
            currency: rows.currency,
            fulfillment: strings.intern(rows.fulfillments.get(fulfillment).unwrap_or(fulfillment)),
            posted_utc_seconds: row.posted_utc_seconds,
            order_item_code: Sym::EMPTY,
            sku: strings.intern(cell(Col::Sku)),
            quantity,
            promotion_id: Sym::EMPTY,
            transaction: TransactionClass::Other,
            component: tieout_core::records::Component::Other,
            kind: tieout_core::records::LineKind::Transaction,
        };
        let row_index = self.out.rows.len();
        for (amount, component) in amounts.iter().zip(COMPONENTS) {
            if *amount == 0 {
                continue;
            }
            let amount_description = match (component.named_by_row && !order_row, description) {
                (false, _) => component.description,
                (true, "") => transaction_type,
                (true, description) => description,
            };
            let (transaction, class, kind) = classify_line(transaction_type, component.amount_type, amount_description);
            let line = SettlementLine {
                amount_type: strings.intern(component.amount_type),
                amount_description: strings.intern(amount_description),
                amount_minor: *amount,
                transaction,
                component: class,
                kind,
                ..template.clone()
            };
            self.out.lines.push(TransactionLine { line, released, row: row_index });
        }
        self.out.rows.push(TransactionRow { lines: row.lines.start..self.out.lines.len(), ..row });
    }

    /// A row must have the header's number of fields; more are accepted when empty.
    fn width_matches(&mut self, layout: &Layout, line: u32, record: &csv::StringRecord) -> bool {
        let (width, found) = (layout.width, record.len());
        if found < width {
            let message = format!("expected {width} fields, found {found} (a truncated row?)");
            self.error(line, found as u32, message);
            return false;
        }
        if let Some(extra) = (width..found).find(|index| !record[*index].trim().is_empty()) {
            let message = format!("expected {width} fields, found {found} (a comma outside quotes?)");
            self.error(line, extra as u32 + 1, message);
            return false;
        }
        true
    }

    /// A date cell; `None` when empty or refused (reported).
    fn instant(
        &mut self,
        line: u32,
        layout: &Layout,
        record: &csv::StringRecord,
        col: Col,
        slash_order: &mut Option<DateOrder>,
    ) -> Option<i64> {
        let text = layout.cell(record, col);
        if text.is_empty() {
            return None;
        }
        if slash_order.is_none() {
            *slash_order = dates::slash_date_order(text);
        }
        dates::parse_report_instant(text, *slash_order)
            .map_err(|error| self.cell_error(line, layout, col, error.to_string()))
            .ok()
    }

    /// An amount cell in minor units; 0 when empty, absent or refused (reported).
    fn amount(&mut self, line: u32, layout: &Layout, record: &csv::StringRecord, col: Col, currency: Currency) -> i64 {
        let text = layout.cell(record, col);
        if text.is_empty() {
            return 0;
        }
        let style = layout.locale.number_style();
        // French reports group thousands with a (no-break) space: `1 234,56`.
        let grouped;
        let text = if style == NumberStyle::Comma && text.contains([' ', '\u{a0}', '\u{202f}']) {
            grouped = text.replace([' ', '\u{a0}', '\u{202f}'], ".");
            &grouped
        } else {
            text
        };
        parse_amount_minor(text, style, currency.exponent()).unwrap_or_else(|error| {
            let message = format!(
                "{error} ({} reports write amounts as {})",
                layout.locale.name(),
                layout.locale.amount_example()
            );
            self.cell_error(line, layout, col, message);
            0
        })
    }

    fn finish(mut self) -> TransactionReport {
        if has_errors(&self.out.diagnostics) || self.error_count > 0 {
            self.out.rows.clear();
            self.out.lines.clear();
            self.out.marketplace = None;
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PREAMBLE: &[&str] = &[
        "Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions",
        "All amounts in USD, unless specified",
    ];

    const HEADER: &[&str] = &[
        "date/time",
        "settlement id",
        "type",
        "order id",
        "sku",
        "description",
        "quantity",
        "marketplace",
        "fulfillment",
        "product sales",
        "selling fees",
        "fba fees",
        "other",
        "total",
        "transaction status",
    ];

    const ORDER: &[&str] = &[
        "Oct 1, 2026 12:03:45 AM PDT",
        "111",
        "Order",
        "113-0013318-7697855",
        "SKU-1",
        "Widget",
        "1",
        "amazon.com",
        "Amazon",
        "10.00",
        "-1.50",
        "-3.00",
        "0",
        "5.50",
        "Released",
    ];

    fn quoted(cells: &[&str]) -> String {
        cells.iter().map(|cell| format!("\"{}\"", cell.replace('"', "\"\""))).collect::<Vec<_>>().join(",")
    }

    fn csv(preamble: &[&str], header: &[&str], rows: &[Vec<&str>]) -> String {
        let mut lines: Vec<String> = preamble.iter().map(|line| quoted(&[line])).collect();
        lines.push(quoted(header));
        lines.extend(rows.iter().map(|row| quoted(row)));
        lines.join("\n") + "\n"
    }

    /// The order row with some cells changed.
    fn order(changes: &[(&str, &'static str)]) -> Vec<&'static str> {
        let mut row = ORDER.to_vec();
        for (name, value) in changes {
            let at = HEADER.iter().position(|column| column == name).expect("a test column");
            row[at] = value;
        }
        row
    }

    fn read(rows: &[Vec<&str>]) -> TransactionReport {
        read_transaction_report("t.csv", csv(PREAMBLE, HEADER, rows).as_bytes())
    }

    fn diagnostics(report: &TransactionReport) -> Vec<String> {
        report.diagnostics.iter().map(ToString::to_string).collect()
    }

    fn shown(report: &TransactionReport) -> Vec<String> {
        let text = |sym| report.strings.resolve(sym);
        report
            .lines
            .iter()
            .map(|entry| {
                let line = &entry.line;
                format!(
                    "{} {} {} {} {}/{} {} {}",
                    line.line,
                    line.settlement_id,
                    if entry.released { "R" } else { "D" },
                    text(line.transaction_type),
                    text(line.amount_type),
                    text(line.amount_description),
                    format_minor(line.amount_minor, line.currency.exponent()),
                    line.currency,
                )
            })
            .collect()
    }

    #[test]
    fn a_row_becomes_its_non_zero_components() {
        let report = read(&[order(&[])]);
        assert_eq!(diagnostics(&report), Vec::<String>::new());
        assert_eq!(
            shown(&report),
            [
                "4 111 R Order ItemPrice/Principal 10.00 USD",
                "4 111 R Order ItemFees/Commission -1.50 USD",
                "4 111 R Order ItemFees/FBAPerUnitFulfillmentFee -3.00 USD",
            ]
        );
        assert_eq!(report.rows.len(), 1);
        assert_eq!((report.rows[0].total_minor, report.rows[0].lines.clone()), (550, 0..3));
    }

    #[test]
    fn bad_cells_name_file_line_and_column() {
        let report = read(&[
            order(&[("product sales", "10,00")]),
            order(&[("date/time", "Oct 32, 2026 12:03:45 AM PDT")]),
            order(&[("date/time", "yesterday")]),
            order(&[("date/time", "Oct 1, 2026 12:03:45 AM EST")]),
            order(&[("quantity", "-1")]),
            order(&[("settlement id", "S-111")]),
            order(&[("transaction status", "Pending")]),
            order(&[("total", "")]),
        ]);
        assert_eq!(
            diagnostics(&report),
            [
                "t.csv:4:10: error: column 'product sales': '10,00' is not a number (English reports write amounts as 1,234.56)",
                "t.csv:5:1: error: column 'date/time': 'Oct 32, 2026 12:03:45 AM PDT' is not a real date: October 2026 has 31 days",
                "t.csv:6:1: error: column 'date/time': 'yesterday' is not a date (expected e.g. Oct 1, 2026 12:03:45 AM PDT, 1 Oct 2026 15:22:08 GMT, 01.10.2026 00:03:45 UTC, 1 oct. 2026 00:03:45 UTC or 2026/10/01 0:03:45 JST)",
                "t.csv:7:1: error: column 'date/time': 'Oct 1, 2026 12:03:45 AM EST' has an unknown time zone 'EST' (expected UTC, GMT, PST, PDT, BST, CET, CEST, JST, or an offset such as GMT+9 or +02:00)",
                "t.csv:8:7: error: column 'quantity': '-1' is not a whole number of units",
                "t.csv:9:2: error: column 'settlement id': settlement-id 'S-111' is not a number",
                "t.csv:10:15: error: column 'transaction status': unknown transaction status 'Pending' (tieout reads Released or Deferred, and their translations)",
                "t.csv:11:14: error: column 'total': empty total",
            ]
        );
        assert!(report.rows.is_empty() && report.lines.is_empty(), "an error returns nothing");
    }

    #[test]
    fn any_error_returns_no_rows_and_no_lines() {
        let report = read(&[order(&[]), order(&[("fba fees", "abc")]), order(&[])]);
        assert_eq!(
            diagnostics(&report),
            ["t.csv:5:12: error: column 'fba fees': 'abc' is not a number (unexpected 'a') (English reports write amounts as 1,234.56)"]
        );
        assert!(report.rows.is_empty() && report.lines.is_empty() && report.marketplace.is_none());
        assert_eq!((report.locale, report.currency), (Some(ReportLocale::English), Some(Currency::USD)));
    }

    #[test]
    fn a_row_whose_amounts_do_not_add_up_is_refused() {
        let report = read(&[order(&[("total", "5.49")])]);
        assert_eq!(
            diagnostics(&report),
            ["t.csv:4:14: error: column 'total': the row's amounts sum to 5.50 USD, but its total is 5.49 USD (difference -0.01 USD)"]
        );
    }

    #[test]
    fn unknown_duplicate_and_missing_columns() {
        let mut header = HEADER.to_vec();
        header.insert(10, "selling fee credits");
        let mut row = order(&[]);
        row.insert(10, "1.00");
        let report = read_transaction_report("u.csv", csv(PREAMBLE, &header, &[row]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["u.csv:3:11: error: column 'selling fee credits': unknown column 'selling fee credits' in the header of this English transaction report: tieout does not know what it holds (an amount column it left out would make rows not add up to their total)"]
        );
        assert_eq!(report.locale, Some(ReportLocale::English));

        let mut header = HEADER.to_vec();
        header[12] = "Selling Fees";
        let report = read_transaction_report("d.csv", csv(PREAMBLE, &header, &[order(&[])]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["d.csv:3:13: error: column 'Selling Fees' appears twice (columns 11 and 13)"]
        );

        let header: Vec<&str> = HEADER.iter().copied().filter(|name| !["total", "type"].contains(name)).collect();
        let report = read_transaction_report("m.csv", csv(PREAMBLE, &header, &[]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["m.csv:3: error: the English transaction report's header lacks the required columns 'type', 'total'"]
        );
        let german = ["Datum/Uhrzeit", "Abrechnungsnummer", "Typ", "Beschreibung"];
        let report = read_transaction_report("g.csv", csv(&["Alle Beträge in EUR"], &german, &[]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["g.csv:2: error: the German transaction report's header lacks the required columns 'Bestellnummer', 'Gesamt'"]
        );
    }

    #[test]
    fn truncated_and_widened_rows() {
        let text = csv(PREAMBLE, HEADER, &[order(&[]), order(&[])]);
        // The download stopped inside the last row's description.
        let cut = &text[..text.rfind("Widget").expect("row") + 3];
        let report = read_transaction_report("cut.csv", cut.as_bytes());
        assert_eq!(diagnostics(&report), ["cut.csv:5:6: error: expected 15 fields, found 6 (a truncated row?)"]);
        assert!(report.lines.is_empty());

        let mut wide = order(&[]);
        wide.push("");
        let mut wider = order(&[]);
        wider.push("oops");
        let report = read(&[wide, wider]);
        assert_eq!(diagnostics(&report), ["t.csv:5:16: error: expected 15 fields, found 16 (a comma outside quotes?)"]);
    }

    #[test]
    fn no_header_no_currency_and_unsupported_languages() {
        let report = read_transaction_report("n.csv", b"\"hello\"\n\"a\",\"b\"\n");
        assert_eq!(
            diagnostics(&report),
            ["n.csv: error: no transaction report header in a language tieout reads (English, German, French, Italian, Spanish, Japanese): no row starts with a date/time column (date/time, Datum/Uhrzeit, date/heure, Data/Ora:, fecha y hora, 日付/時間)"]
        );
        let long: Vec<&str> = vec!["note"; PREAMBLE_ROWS_MAX + 5];
        let report = read_transaction_report("l.csv", csv(&long, HEADER, &[]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["l.csv:31: error: no transaction report header in the first 30 rows: none starts with a date/time column (date/time, Datum/Uhrzeit, date/heure, Data/Ora:, fecha y hora, 日付/時間)"]
        );
        let report = read_transaction_report("c.csv", csv(&[], HEADER, &[order(&[])]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["c.csv:1: error: the report does not state its currency: Amazon writes it before the header ('All amounts in USD, unless specified'); download the report again rather than a copy without those lines"]
        );
        let report = read_transaction_report("nl.csv", "\"datum/tijd\",\"schikkings-ID\"\n".as_bytes());
        assert_eq!(
            diagnostics(&report),
            ["nl.csv:1:1: error: this is a transaction report in Dutch, which tieout does not read yet (it reads English, German, French, Italian, Spanish and Japanese ones)"]
        );
        assert_eq!(
            diagnostics(&read_transaction_report("e.csv", b"\xEF\xBB\xBF\r\n")),
            ["e.csv: error: the file is empty"]
        );
        let report = read(&[]);
        assert_eq!(diagnostics(&report), ["t.csv: warning: the report has a header but no transactions"]);
        assert_eq!(report.currency, Some(Currency::USD));
    }

    #[test]
    fn released_and_deferred() {
        let report = read(&[
            order(&[("transaction status", "Deferred"), ("settlement id", "")]),
            order(&[("transaction status", "Deferred")]),
            order(&[("transaction status", ""), ("settlement id", "")]),
            order(&[("transaction status", "")]),
        ]);
        assert_eq!(diagnostics(&report), Vec::<String>::new());
        let rows: Vec<_> = report.rows.iter().map(|row| (row.line, row.settlement_id, row.released)).collect();
        assert_eq!(rows, [(4, None, false), (5, Some(111), false), (6, None, false), (7, Some(111), true)]);
        assert_eq!(report.released().count(), 3);
        assert_eq!(report.deferred().count(), 9);
        assert!(report.deferred().all(|line| !line.released && report.rows[line.row].line == line.line.line));

        let report = read(&[order(&[("settlement id", "")])]);
        assert_eq!(
            diagnostics(&report),
            ["t.csv:4:2: error: column 'settlement id': a released transaction without a settlement id"]
        );
    }

    #[test]
    fn other_rows_carry_their_description() {
        let report = read(&[
            order(&[
                ("type", "FBA Inventory Fee"),
                ("order id", ""),
                ("description", "FBA storage fee"),
                ("product sales", "0"),
                ("selling fees", "0"),
                ("fba fees", "-4.50"),
                ("other", "-1.00"),
                ("total", "-5.50"),
            ]),
            order(&[
                ("type", "Service Fee"),
                ("description", ""),
                ("product sales", "0"),
                ("fba fees", "0"),
                ("total", "-1.50"),
            ]),
            order(&[("other", "0.25"), ("total", "5.75")]),
        ]);
        assert_eq!(diagnostics(&report), Vec::<String>::new());
        assert_eq!(
            shown(&report),
            [
                "4 111 R FBA Inventory Fee ItemFees/FBA storage fee -4.50 USD",
                "4 111 R FBA Inventory Fee other-transaction/FBA storage fee -1.00 USD",
                "5 111 R ServiceFee ItemFees/ServiceFee -1.50 USD",
                "6 111 R Order ItemPrice/Principal 10.00 USD",
                "6 111 R Order ItemFees/Commission -1.50 USD",
                "6 111 R Order ItemFees/FBAPerUnitFulfillmentFee -3.00 USD",
                "6 111 R Order other-transaction/Other 0.25 USD",
            ]
        );
        assert_eq!(report.lines[2].line.component, tieout_core::records::Component::OtherFee);
    }

    #[test]
    fn us_2017_layout_with_sales_tax_collected() {
        // The 23 columns of a 2017 report (a Perl importer quotes one of its rows).
        let header = [
            "date/time",
            "settlement id",
            "type",
            "order id",
            "sku",
            "description",
            "quantity",
            "marketplace",
            "fulfillment",
            "order city",
            "order state",
            "order postal",
            "product sales",
            "shipping credits",
            "gift wrap credits",
            "promotional rebates",
            "sales tax collected",
            "Marketplace Facilitator Tax",
            "selling fees",
            "fba fees",
            "other transaction fees",
            "other",
            "total",
        ];
        let row = vec![
            "Dec 1, 2017 12:38:23 AM PST",
            "6503097031",
            "Order",
            "113-0013318-7697855",
            "SKU-9",
            "Widget",
            "1",
            "amazon.com",
            "Amazon",
            "RENO",
            "NV",
            "89501",
            "19.99",
            "0",
            "0",
            "0",
            "1.65",
            "-1.65",
            "-3.00",
            "-2.41",
            "0",
            "0",
            "14.58",
        ];
        let report = read_transaction_report("2017.csv", csv(PREAMBLE, &header, &[row]).as_bytes());
        assert_eq!(diagnostics(&report), Vec::<String>::new());
        assert_eq!(
            shown(&report),
            [
                "4 6503097031 R Order ItemPrice/Principal 19.99 USD",
                "4 6503097031 R Order ItemPrice/Tax 1.65 USD",
                "4 6503097031 R Order ItemWithheldTax/MarketplaceFacilitatorTax -1.65 USD",
                "4 6503097031 R Order ItemFees/Commission -3.00 USD",
                "4 6503097031 R Order ItemFees/FBAPerUnitFulfillmentFee -2.41 USD",
            ]
        );
        assert_eq!(report.rows[0].posted_utc_seconds, 1_512_117_503);
    }

    #[test]
    fn australian_layout() {
        let header = [
            "date/time",
            "settlement id",
            "type",
            "order id",
            "sku",
            "description",
            "quantity",
            "marketplace",
            "fulfilment",
            "order city",
            "order state",
            "order postal",
            "product sales",
            "shipping credits",
            "gift wrap credits",
            "promotional rebates",
            "sales tax collected",
            "low value goods",
            "selling fees",
            "fulfilment by amazon fees",
            "other transaction fees",
            "other",
            "total",
            "Transaction status",
            "Transaction Release Date",
        ];
        let row = vec![
            "17 July 2026 4:26:32 pm GMT+9",
            "12395580393",
            "Order",
            "249-3364825-5895055",
            "SKU-AU",
            "Widget",
            "1",
            "amazon.com.au",
            "Amazon",
            "SYDNEY",
            "NSW",
            "2000",
            "22.00",
            "0",
            "0",
            "0",
            "2.20",
            "-2.20",
            "-3.30",
            "-4.05",
            "0",
            "0",
            "14.65",
            "Released",
            "17 July 2026 4:26:32 pm GMT+9",
        ];
        let preamble = ["All amounts in AUD, unless specified"];
        let report = read_transaction_report("au.csv", csv(&preamble, &header, &[row]).as_bytes());
        assert_eq!(diagnostics(&report), Vec::<String>::new());
        assert_eq!(
            shown(&report),
            [
                "3 12395580393 R Order ItemPrice/Principal 22.00 AUD",
                "3 12395580393 R Order ItemPrice/Tax 2.20 AUD",
                "3 12395580393 R Order ItemWithheldTax/LowValueGoodsTax -2.20 AUD",
                "3 12395580393 R Order ItemFees/Commission -3.30 AUD",
                "3 12395580393 R Order ItemFees/FBAPerUnitFulfillmentFee -4.05 AUD",
            ]
        );
        // 16:26:32 at UTC+9 is 07:26:32 UTC, as the settlement file writes the same line.
        assert_eq!(dates::format_instant(report.rows[0].posted_utc_seconds), "2026-07-17 07:26:32 UTC");
        assert_eq!(report.rows[0].release_utc_seconds, Some(report.rows[0].posted_utc_seconds));
    }

    #[test]
    fn english_slash_dates_are_read_once_the_file_shows_their_order() {
        let report = read(&[
            order(&[("date/time", "25/10/2026 10:00:00 UTC")]),
            order(&[("date/time", "09/10/2026 10:00:00 UTC")]),
        ]);
        assert_eq!(diagnostics(&report), Vec::<String>::new());
        let posted: Vec<String> = report.rows.iter().map(|row| dates::format_instant(row.posted_utc_seconds)).collect();
        assert_eq!(posted, ["2026-10-25 10:00:00 UTC", "2026-10-09 10:00:00 UTC"]);

        let report = read(&[order(&[("date/time", "09/10/2026 10:00:00 UTC")])]);
        assert_eq!(
            diagnostics(&report),
            ["t.csv:4:1: error: column 'date/time': '09/10/2026 10:00:00 UTC' is ambiguous: 2026-10-09 10:00:00 UTC (day first) or 2026-09-10 10:00:00 UTC (month first)"]
        );
    }

    #[test]
    fn german_amounts_in_the_english_notation_are_refused() {
        let header = [
            "Datum/Uhrzeit",
            "Abrechnungsnummer",
            "Typ",
            "Bestellnummer",
            "Beschreibung",
            "Umsätze",
            "Verkaufsgebühren",
            "Gesamt",
        ];
        let row = vec!["01.10.2026 00:03:45 UTC", "1", "Bestellung", "028-1", "Lampe", "1,234.56", "-5.05", "1.229,51"];
        let preamble = ["Alle Beträge in EUR, sofern nicht anders angegeben"];
        let report = read_transaction_report("de.csv", csv(&preamble, &header, &[row]).as_bytes());
        assert_eq!(
            diagnostics(&report),
            [
                "de.csv:3:6: error: column 'Umsätze': '1,234.56' does not use this file's notation (decimal separator ',') (German reports write amounts as 1.234,56)",
                "de.csv:3:7: error: column 'Verkaufsgebühren': '-5.05' is not a number (German reports write amounts as 1.234,56)",
            ]
        );
    }

    #[test]
    fn diagnostics_stop_at_the_limit() {
        let rows: Vec<Vec<&str>> = (0..300).map(|_| order(&[("total", "x")])).collect();
        let report = read(&rows);
        assert_eq!(report.diagnostics.len(), limits::FILE_DIAGNOSTICS_MAX);
        let last = report.diagnostics.last().expect("diagnostics");
        assert!(last.message.starts_with("too many problems: stopped reading at line 103"), "{last}");
    }

    #[test]
    fn header_names_fold_case_accents_apostrophes_and_spaces() {
        assert_eq!(column_of(" Taxe sur les crédits d’expédition "), Some(Col::ShippingCreditsTax));
        assert_eq!(column_of("TAXE SUR LES CREDITS D'EXPEDITION"), Some(Col::ShippingCreditsTax));
        assert_eq!(column_of("Data/Ora"), Some(Col::DateTime));
        assert_eq!(column_of("FBA手数料"), Some(Col::FbaFees));
        assert_eq!(column_of("giftwrap credits"), Some(Col::GiftWrapCredits));
        assert_eq!(column_of("Andere"), Some(Col::Other));
        assert_eq!(column_of("Andere Transaktionsgebühren"), Some(Col::OtherTransactionFees));
        assert_eq!(column_of("tipo "), Some(Col::Type));
        assert_eq!(column_of("amount"), None);
        // No folded name names two columns.
        for (col, _, name) in HEADER_NAMES {
            assert_eq!(column_of(name), Some(*col), "{name}");
        }
        for (word, _) in STATUS_WORDS.iter().chain(&[("Released", true)]) {
            let meanings: Vec<bool> =
                STATUS_WORDS.iter().filter(|(other, _)| fold(other) == fold(word)).map(|(_, m)| *m).collect();
            assert!(meanings.windows(2).all(|pair| pair[0] == pair[1]), "{word}");
        }
    }

    #[test]
    fn currency_is_the_first_known_code_of_the_preamble() {
        let preamble = |lines: &[&str]| lines.iter().map(|line| line.to_string()).collect::<Vec<_>>();
        assert_eq!(stated_currency(&preamble(PREAMBLE)), Some(Currency::USD));
        assert_eq!(
            stated_currency(&preamble(&["Alle Beträge in EUR, sofern nicht anders angegeben"])),
            Some(Currency::EUR)
        );
        assert_eq!(stated_currency(&preamble(&["Fulfillment by Amazon (FBA)", "amounts in usd"])), None);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_rows(cells in proptest::collection::vec("[ -~\"\n]{0,12}", 0..40)) {
            let mut text = csv(PREAMBLE, HEADER, &[]);
            text.push_str(&cells.join(","));
            let report = read_transaction_report("fuzz.csv", text.as_bytes());
            prop_assert!(report.lines.is_empty() || !has_errors(&report.diagnostics));
        }

        #[test]
        fn never_panics_on_any_prefix(cut in 0usize..2000) {
            let text = csv(PREAMBLE, HEADER, &[order(&[]), order(&[("transaction status", "Deferred")])]);
            let cut = cut.min(text.len());
            if text.is_char_boundary(cut) {
                let _ = read_transaction_report("prefix.csv", &text.as_bytes()[..cut]);
            }
        }
    }
}
