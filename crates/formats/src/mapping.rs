//! Column mappings for order exports: which header of an ERP's CSV or XLSX export holds
//! which field of an [`OrderItem`](tieout_core::records::OrderItem), written by the user
//! as a small TOML file, plus the built-in mapping of Amazon's "All Orders" report.
//!
//! A mapping file may instead describe counterparty documents (`[source] kind =
//! "documents"`, see [`crate::ledger_mapping`]); [`parse_mapping`] reads either kind when
//! the caller asks for an [`ImportMapping`], and only an order mapping when it asks for a
//! [`Mapping`].
//!
//! # The mapping file
//!
//! ```toml
//! [source]
//! kind = "orders"           # optional: "orders" (the default) | "documents"
//! format = "csv"            # "csv" | "xlsx"; optional, detected from content
//! delimiter = ","           # csv only, one ASCII character; default ","
//! sheet = "Orders"          # xlsx only; default: the first sheet
//! header_row = 1            # 1-based line (csv) or row (xlsx) of the header
//! number_style = "dot"      # "dot" | "comma" | "per-value"; default "dot"
//! date_format = "%Y-%m-%d"  # chrono strftime; ISO 8601 is always accepted too
//! store = "acme-us"         # constant store (no store column)
//! marketplace = "Amazon.com"# constant marketplace (no marketplace column)
//! currency = "USD"          # constant currency (no currency column)
//!
//! [columns]                 # tieout field = header in the file
//! order_id = "order_no"     # required
//! purchase_date = "date"    # required
//! status = "status"         # required
//! amount = "item_amount"    # the item's total, OR the components:
//! item_price = "price"      #   amount = item_price + shipping_price + gift_wrap_price - discount
//! shipping_price = "shipping"
//! gift_wrap_price = "gift_wrap"
//! discount = "discount"     # or a list: ["item_discount", "ship_discount"]
//! # optional: store, marketplace, ship_date, currency, sku, quantity, refunded_amount
//!
//! [status]                  # optional aliases: value in the file = tieout status
//! "Done" = "Shipped"
//! ```
//!
//! # Rules
//!
//! * Unknown keys are refused (a typo would otherwise silently drop a column); every
//!   error names the key (`source.number_style`) with its line and column in the file.
//! * The amount is either one `amount` column or the components, never both;
//!   `item_price` is required with the components. `discount` may name several columns
//!   (Amazon has an item and a shipping promotion discount); each is subtracted as an
//!   absolute value, so a discount written positive (`1.50`) or already signed (`-1.50`)
//!   reduces the amount alike.
//! * A currency is required: a `currency` column or a constant `source.currency`. The
//!   store may come from a column, `source.store`, or the caller's default store (in
//!   that order of precedence); the marketplace is optional (empty when absent).
//! * `source.sheet` is for XLSX and `source.delimiter` for CSV: giving either with the
//!   other `format` is refused as a contradiction.
//! * Status aliases are matched case-insensitively before tieout's own names
//!   ([`OrderStatus::parse`]); an alias must name a tieout status.
//! * Header names are matched case-insensitively and trimmed (see `orders`).

use crate::ledger_mapping::{parse_document_mapping, DocumentMapping};
use crate::mapping_common::{file_kind, number_style, ConfigFile, RawFormat, RawNumberStyle};
use crate::toml_position::parse_toml;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use tieout_core::money::Currency;
use tieout_core::records::OrderStatus;
use tieout_core::{Diagnostic, NumberStyle};
use toml::Spanned;

/// The container of an order export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Delimited text (CSV, TSV, `;`-separated …).
    Csv,
    /// An Office Open XML workbook.
    Xlsx,
}

/// How the file is laid out, and the constants for fields without a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// `None`: detected from the content (XLSX starts with `PK\x03\x04`).
    pub format: Option<FileKind>,
    /// CSV field separator (one ASCII byte).
    pub delimiter: u8,
    /// CSV fields may be quoted (`"a,b"`). Off for Amazon's tab-separated reports, which
    /// never quote and may contain a lone `"` inside a product name.
    pub quoting: bool,
    /// XLSX sheet name; `None`: the first sheet.
    pub sheet: Option<String>,
    /// 1-based line (CSV) or row (XLSX) of the header; rows before it are a preamble.
    pub header_row: u32,
    pub number_style: NumberStyle,
    /// chrono strftime format of dates, tried before ISO 8601.
    pub date_format: Option<String>,
    pub store: Option<String>,
    pub marketplace: Option<String>,
    pub currency: Option<Currency>,
    /// Amazon's report variants differ in their trailing columns: when set, a mapped
    /// optional column missing from the header reads as empty, a row may lack trailing
    /// fields (empty) or carry extra empty ones. Off for mapping files: there a mapped
    /// column must exist and every row must have the header's field count.
    pub lenient_layout: bool,
}

/// Where an item's amount comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountColumns {
    /// One column holds the item's total.
    Total(String),
    /// `item_price + shipping_price + gift_wrap_price - Σ|discount|`.
    Components {
        item_price: String,
        shipping_price: Option<String>,
        gift_wrap_price: Option<String>,
        discounts: Vec<String>,
    },
}

impl AmountColumns {
    /// Every header the amount is read from, with its mapping key.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        match self {
            AmountColumns::Total(header) => vec![("columns.amount", header.as_str())],
            AmountColumns::Components { item_price, shipping_price, gift_wrap_price, discounts } => {
                let mut headers = vec![("columns.item_price", item_price.as_str())];
                if let Some(header) = shipping_price {
                    headers.push(("columns.shipping_price", header));
                }
                if let Some(header) = gift_wrap_price {
                    headers.push(("columns.gift_wrap_price", header));
                }
                headers.extend(discounts.iter().map(|header| ("columns.discount", header.as_str())));
                headers
            }
        }
    }
}

/// Header names in the file, per tieout field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    pub order_id: String,
    pub store: Option<String>,
    pub marketplace: Option<String>,
    pub purchase_date: String,
    pub ship_date: Option<String>,
    pub status: String,
    pub currency: Option<String>,
    pub sku: Option<String>,
    pub quantity: Option<String>,
    pub amount: AmountColumns,
    pub refunded_amount: Option<String>,
}

/// A status as one export writes it, and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusAlias {
    pub text: String,
    pub status: OrderStatus,
}

/// A validated column mapping (see the module documentation for the rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The mapping file's name, or `built-in:…` for a built-in mapping.
    pub name: String,
    pub source: Source,
    pub columns: Columns,
    pub status_aliases: Vec<StatusAlias>,
}

impl Mapping {
    /// Amazon's "All Orders" flat-file report (`GET_FLAT_FILE_ALL_ORDERS_DATA_BY_*`):
    /// tab-separated without quoting, header on line 1, ISO dates with offset, amounts
    /// with a dot. The amount is `item-price + shipping-price + gift-wrap-price −
    /// |item-promotion-discount| − |ship-promotion-discount|` (taxes excluded: the
    /// marketplace collects them); `sales-channel` is the marketplace. The report has no
    /// ship date (a `Shipped` item has `ship_date: None`) and no store: the caller's
    /// default store is used.
    pub fn amazon_all_orders() -> Mapping {
        let header = |name: &str| Some(name.to_owned());
        Mapping {
            name: "built-in:amazon-all-orders".to_owned(),
            source: Source {
                format: Some(FileKind::Csv),
                delimiter: b'\t',
                quoting: false,
                sheet: None,
                header_row: 1,
                number_style: NumberStyle::Dot,
                date_format: None,
                store: None,
                marketplace: None,
                currency: None,
                lenient_layout: true,
            },
            columns: Columns {
                order_id: "amazon-order-id".to_owned(),
                store: None,
                marketplace: header("sales-channel"),
                purchase_date: "purchase-date".to_owned(),
                ship_date: None,
                status: "order-status".to_owned(),
                currency: header("currency"),
                sku: header("sku"),
                quantity: header("quantity"),
                amount: AmountColumns::Components {
                    item_price: "item-price".to_owned(),
                    shipping_price: header("shipping-price"),
                    gift_wrap_price: header("gift-wrap-price"),
                    discounts: vec!["item-promotion-discount".to_owned(), "ship-promotion-discount".to_owned()],
                },
                refunded_amount: None,
            },
            status_aliases: Vec::new(),
        }
    }

    /// The status a cell means: an alias of this mapping (case-insensitive), else one of
    /// tieout's names.
    pub fn status(&self, text: &str) -> Option<OrderStatus> {
        let trimmed = text.trim();
        // Compared without allocating when both are ASCII (every row reads a status).
        let same = |alias: &str| match alias.is_ascii() && trimmed.is_ascii() {
            true => alias.eq_ignore_ascii_case(trimmed),
            false => alias.to_lowercase() == trimmed.to_lowercase(),
        };
        self.status_aliases
            .iter()
            .find(|alias| same(alias.text.trim()))
            .map(|alias| alias.status)
            .or_else(|| OrderStatus::parse(trimmed))
    }

    /// The statuses a user may write, for error messages.
    pub fn known_statuses(&self) -> String {
        if self.status_aliases.is_empty() {
            return OrderStatus::NAMES.to_owned();
        }
        let aliases: Vec<&str> = self.status_aliases.iter().map(|alias| alias.text.as_str()).collect();
        format!("{}; aliases in the mapping: {}", OrderStatus::NAMES, aliases.join(", "))
    }
}

/// A mapping file of either kind, as the import takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportMapping {
    /// An order export's columns (`kind = "orders"`, or no `kind`).
    Orders(Mapping),
    /// Counterparty documents' columns (`kind = "documents"`).
    Documents(DocumentMapping),
}

impl ImportMapping {
    /// The mapping file's name.
    pub fn name(&self) -> &str {
        match self {
            ImportMapping::Orders(mapping) => &mapping.name,
            ImportMapping::Documents(mapping) => &mapping.name,
        }
    }
}

impl From<Mapping> for ImportMapping {
    fn from(mapping: Mapping) -> ImportMapping {
        ImportMapping::Orders(mapping)
    }
}

impl From<DocumentMapping> for ImportMapping {
    fn from(mapping: DocumentMapping) -> ImportMapping {
        ImportMapping::Documents(mapping)
    }
}

/// What a mapping file can be read into: an order [`Mapping`], a [`DocumentMapping`], or
/// either ([`ImportMapping`]).
pub trait FromMappingFile: Sized {
    /// Reads and validates `text`; the error names the key, line and column.
    fn from_mapping_file(file_name: &str, text: &str) -> Result<Self, Diagnostic>;
}

/// Reads and validates a mapping file into what the caller needs (an order [`Mapping`],
/// a [`DocumentMapping`] or either as an [`ImportMapping`], decided by `[source] kind`).
/// The error names the key, with the line and column of the mapping file; a mapping of
/// the other kind than the one asked for is refused at its `source.kind`.
pub fn parse_mapping<M: FromMappingFile>(file_name: &str, text: &str) -> Result<M, Diagnostic> {
    M::from_mapping_file(file_name, text)
}

impl FromMappingFile for Mapping {
    fn from_mapping_file(file_name: &str, text: &str) -> Result<Mapping, Diagnostic> {
        one_kind(
            file_name,
            text,
            MappingKind::Orders,
            parse_order_mapping,
            "this is a documents mapping (counterparty documents); an order export's mapping is needed here",
        )
    }
}

impl FromMappingFile for DocumentMapping {
    fn from_mapping_file(file_name: &str, text: &str) -> Result<DocumentMapping, Diagnostic> {
        one_kind(
            file_name,
            text,
            MappingKind::Documents,
            parse_document_mapping,
            "this is an order export's mapping; a documents mapping (`[source] kind = \"documents\"`) is needed here",
        )
    }
}

impl FromMappingFile for ImportMapping {
    fn from_mapping_file(file_name: &str, text: &str) -> Result<ImportMapping, Diagnostic> {
        match mapping_kind(file_name, text)? {
            (MappingKind::Orders, _) => parse_order_mapping(file_name, text).map(ImportMapping::Orders),
            (MappingKind::Documents, _) => parse_document_mapping(file_name, text).map(ImportMapping::Documents),
        }
    }
}

fn parse_order_mapping(file_name: &str, text: &str) -> Result<Mapping, Diagnostic> {
    let raw: RawMapping = parse_toml(file_name, text)?;
    Validator { file: ConfigFile { name: file_name, text } }.mapping(raw)
}

/// A mapping of the `wanted` kind, read by `parse`; one of the other kind is refused
/// at its `source.kind` with `other_kind`.
fn one_kind<M>(
    file_name: &str,
    text: &str,
    wanted: MappingKind,
    parse: fn(&str, &str) -> Result<M, Diagnostic>,
    other_kind: &str,
) -> Result<M, Diagnostic> {
    match mapping_kind(file_name, text)? {
        (kind, _) if kind == wanted => parse(file_name, text),
        // Not written: at the start of the file.
        (_, span) => ConfigFile { name: file_name, text }.error(span.unwrap_or(0..0), "source.kind", other_kind),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MappingKind {
    Orders,
    Documents,
}

/// `[source] kind`, read before the rest (each kind refuses the other's keys), with where
/// it is written (`None`: not written, an order mapping).
fn mapping_kind(file_name: &str, text: &str) -> Result<(MappingKind, Option<Range<usize>>), Diagnostic> {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(default)]
        source: PeekSource,
    }
    #[derive(Deserialize, Default)]
    struct PeekSource {
        kind: Option<Spanned<String>>,
    }
    let peek: Peek = parse_toml(file_name, text)?;
    let Some(kind) = peek.source.kind else { return Ok((MappingKind::Orders, None)) };
    let span = kind.span();
    match kind.get_ref().trim().to_ascii_lowercase().as_str() {
        "orders" => Ok((MappingKind::Orders, Some(span))),
        "documents" => Ok((MappingKind::Documents, Some(span))),
        other => ConfigFile { name: file_name, text }.error(
            span,
            "source.kind",
            format!("'{other}' is not a kind of mapping: \"orders\" (an order export, the default) or \"documents\" (counterparty documents)"),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// The file as serde reads it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    source: RawSource,
    columns: RawColumns,
    #[serde(default)]
    status: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSource {
    /// Checked by [`mapping_kind`] before this is read.
    #[serde(rename = "kind")]
    _kind: Option<IgnoredAny>,
    format: Option<Spanned<RawFormat>>,
    delimiter: Option<Spanned<String>>,
    sheet: Option<Spanned<String>>,
    header_row: Option<Spanned<i64>>,
    number_style: Option<RawNumberStyle>,
    date_format: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    marketplace: Option<Spanned<String>>,
    currency: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    order_id: Spanned<String>,
    store: Option<Spanned<String>>,
    marketplace: Option<Spanned<String>>,
    purchase_date: Spanned<String>,
    ship_date: Option<Spanned<String>>,
    status: Spanned<String>,
    currency: Option<Spanned<String>>,
    sku: Option<Spanned<String>>,
    quantity: Option<Spanned<String>>,
    amount: Option<Spanned<String>>,
    item_price: Option<Spanned<String>>,
    shipping_price: Option<Spanned<String>>,
    gift_wrap_price: Option<Spanned<String>>,
    discount: Option<Spanned<HeaderList>>,
    refunded_amount: Option<Spanned<String>>,
}

/// One header name or a list of them.
struct HeaderList(Vec<String>);

impl<'de> Deserialize<'de> for HeaderList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HeaderList, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = HeaderList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header name or a list of header names")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<HeaderList, E> {
                Ok(HeaderList(vec![value.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderList, A::Error> {
                let mut headers = Vec::new();
                while let Some(header) = seq.next_element::<String>()? {
                    headers.push(header);
                }
                Ok(HeaderList(headers))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

// ---------------------------------------------------------------------------------------
// Validation: from what serde read to a `Mapping`, with errors that point at the key.

struct Validator<'a> {
    file: ConfigFile<'a>,
}

impl Validator<'_> {
    fn header(&self, value: Spanned<String>, key: &str) -> Result<String, Diagnostic> {
        let span = value.span();
        let header = value.into_inner();
        if header.trim().is_empty() {
            return self.file.error(span, key, "the header name is empty");
        }
        Ok(header.trim().to_owned())
    }

    fn optional_header(&self, value: Option<Spanned<String>>, key: &str) -> Result<Option<String>, Diagnostic> {
        value.map(|value| self.header(value, key)).transpose()
    }

    fn mapping(&self, raw: RawMapping) -> Result<Mapping, Diagnostic> {
        let source = self.source(raw.source)?;
        let columns = self.columns(raw.columns, &source)?;
        let mut status_aliases = Vec::new();
        for (text, target) in raw.status {
            let key = format!("status.\"{text}\"");
            if text.trim().is_empty() {
                return self.file.error(target.span(), &key, "an alias cannot be empty");
            }
            let Some(status) = OrderStatus::parse(target.get_ref()) else {
                return self.file.error(
                    target.span(),
                    &key,
                    format!("'{}' is not a tieout status (known: {})", target.get_ref(), OrderStatus::NAMES),
                );
            };
            status_aliases.push(StatusAlias { text: text.trim().to_owned(), status });
        }
        Ok(Mapping { name: self.file.name.to_owned(), source, columns, status_aliases })
    }

    fn source(&self, raw: RawSource) -> Result<Source, Diagnostic> {
        let file = &self.file;
        let format = file_kind(&raw.format);
        file.csv_only(&raw.delimiter, "source.delimiter", format)?;
        // Checked in this order (the first error is the one reported).
        Ok(Source {
            format,
            delimiter: file.delimiter(raw.delimiter)?.unwrap_or(b','),
            quoting: true,
            sheet: file.sheet(raw.sheet, format)?,
            header_row: file.header_row(raw.header_row)?,
            number_style: number_style(raw.number_style),
            date_format: file.date_format(raw.date_format, "\"%d.%m.%Y\", \"%Y/%m/%d %H:%M\"")?,
            currency: file.currency(raw.currency)?,
            store: file.constant(raw.store, "source.store")?,
            marketplace: file.constant(raw.marketplace, "source.marketplace")?,
            lenient_layout: false,
        })
    }

    fn columns(&self, raw: RawColumns, source: &Source) -> Result<Columns, Diagnostic> {
        let columns_span = raw.order_id.span();
        let amount = self.amount(&raw)?;
        let currency = self.optional_header(raw.currency, "columns.currency")?;
        if currency.is_none() && source.currency.is_none() {
            return self.file.error(
                columns_span,
                "columns.currency",
                "no currency: map a currency column (`columns.currency`) or give a constant `source.currency`",
            );
        }
        Ok(Columns {
            order_id: self.header(raw.order_id, "columns.order_id")?,
            store: self.optional_header(raw.store, "columns.store")?,
            marketplace: self.optional_header(raw.marketplace, "columns.marketplace")?,
            purchase_date: self.header(raw.purchase_date, "columns.purchase_date")?,
            ship_date: self.optional_header(raw.ship_date, "columns.ship_date")?,
            status: self.header(raw.status, "columns.status")?,
            currency,
            sku: self.optional_header(raw.sku, "columns.sku")?,
            quantity: self.optional_header(raw.quantity, "columns.quantity")?,
            amount,
            refunded_amount: self.optional_header(raw.refunded_amount, "columns.refunded_amount")?,
        })
    }

    fn amount(&self, raw: &RawColumns) -> Result<AmountColumns, Diagnostic> {
        let components = [
            ("columns.item_price", raw.item_price.as_ref().map(Spanned::span)),
            ("columns.shipping_price", raw.shipping_price.as_ref().map(Spanned::span)),
            ("columns.gift_wrap_price", raw.gift_wrap_price.as_ref().map(Spanned::span)),
            ("columns.discount", raw.discount.as_ref().map(Spanned::span)),
        ];
        if let Some(amount) = &raw.amount {
            let header = self.header(amount.clone(), "columns.amount")?;
            if let Some((key, Some(span))) = components.iter().find(|(_, span)| span.is_some()) {
                return self.file.error(
                    span.clone(),
                    key,
                    "give either `columns.amount` (the item's total) or its components (`item_price`, `shipping_price`, `gift_wrap_price`, `discount`), not both",
                );
            }
            return Ok(AmountColumns::Total(header));
        }
        let Some(item_price) = &raw.item_price else {
            let span = components.iter().find_map(|(_, span)| span.clone()).unwrap_or_else(|| raw.order_id.span());
            return self.file.error(
                span,
                "columns.amount",
                "no amount: map `columns.amount` (the item's total) or `columns.item_price` (with optional `shipping_price`, `gift_wrap_price`, `discount`)",
            );
        };
        let mut discounts = Vec::new();
        if let Some(list) = &raw.discount {
            if list.get_ref().0.is_empty() {
                return self.file.error(list.span(), "columns.discount", "the list of discount columns is empty");
            }
            for header in &list.get_ref().0 {
                discounts.push(self.header(Spanned::new(list.span(), header.clone()), "columns.discount")?);
            }
        }
        Ok(AmountColumns::Components {
            item_price: self.header(item_price.clone(), "columns.item_price")?,
            shipping_price: self.optional_header(raw.shipping_price.clone(), "columns.shipping_price")?,
            gift_wrap_price: self.optional_header(raw.gift_wrap_price.clone(), "columns.gift_wrap_price")?,
            discounts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[source]
format = "csv"
delimiter = ";"
header_row = 3
number_style = "comma"
date_format = "%d.%m.%Y"
store = "acme-de"
marketplace = "Amazon.de"
currency = "EUR"

[columns]
order_id = "Bestellnummer"
purchase_date = "Datum"
ship_date = "Versanddatum"
status = "Status"
sku = "SKU"
quantity = "Menge"
item_price = "Preis"
shipping_price = "Versand"
discount = ["Rabatt", "Versandrabatt"]
refunded_amount = "Erstattet"

[status]
"Erledigt" = "Shipped"
"Storniert" = "cancelled"
"#;

    #[test]
    fn full_mapping() {
        let mapping: Mapping = parse_mapping("de.toml", FULL).unwrap();
        assert_eq!(mapping.source.format, Some(FileKind::Csv));
        assert_eq!(mapping.source.delimiter, b';');
        assert_eq!(mapping.source.header_row, 3);
        assert_eq!(mapping.source.number_style, NumberStyle::Comma);
        assert_eq!(mapping.source.currency, Some(Currency::EUR));
        assert_eq!(mapping.source.store.as_deref(), Some("acme-de"));
        assert_eq!(
            mapping.columns.amount,
            AmountColumns::Components {
                item_price: "Preis".into(),
                shipping_price: Some("Versand".into()),
                gift_wrap_price: None,
                discounts: vec!["Rabatt".into(), "Versandrabatt".into()],
            }
        );
        assert_eq!(mapping.status(" erledigt "), Some(OrderStatus::Shipped));
        assert_eq!(mapping.status("Storniert"), Some(OrderStatus::Cancelled));
        assert_eq!(mapping.status("pending"), Some(OrderStatus::Pending));
        assert_eq!(mapping.status("verloren"), None);
        assert!(mapping.known_statuses().contains("aliases in the mapping: Erledigt, Storniert"));
    }

    #[test]
    fn minimal_mapping_has_defaults() {
        let text = "[columns]\norder_id = \"no\"\npurchase_date = \"date\"\nstatus = \"st\"\namount = \"total\"\ncurrency = \"cur\"\n";
        let mapping: Mapping = parse_mapping("m.toml", text).unwrap();
        assert_eq!(mapping.source.format, None);
        assert_eq!(mapping.source.delimiter, b',');
        assert!(mapping.source.quoting);
        assert_eq!(mapping.source.header_row, 1);
        assert_eq!(mapping.source.number_style, NumberStyle::Dot);
        assert_eq!(mapping.columns.amount, AmountColumns::Total("total".into()));
    }

    /// (mapping text, line, column, message fragment)
    fn check_error(text: &str, line: u32, column: u32, fragment: &str) {
        let error = parse_mapping::<Mapping>("m.toml", text).unwrap_err();
        assert!(error.message.contains(fragment), "{text}\n→ {error}\nlacks {fragment:?}");
        assert_eq!((error.line, error.column), (line, column), "{text}\n→ {error}");
        assert_eq!(error.file, "m.toml");
    }

    const COLUMNS: &str =
        "[columns]\norder_id = \"no\"\npurchase_date = \"date\"\nstatus = \"st\"\namount = \"total\"\n";

    #[test]
    fn errors_name_the_key() {
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nnumber_stile = \"dot\"\n{COLUMNS}"),
            3,
            1,
            "`source.number_stile`: unknown field `number_stile`",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nnumber_style = \"dots\"\n{COLUMNS}"),
            3,
            16,
            "`source.number_style`: unknown variant `dots`",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nformat = \"xls\"\n{COLUMNS}"),
            3,
            10,
            "`source.format`: unknown variant `xls`",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nheader_row = 0\n{COLUMNS}"),
            3,
            14,
            "`source.header_row`: 0 is not a row number",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nheader_row = \"2\"\n{COLUMNS}"),
            3,
            14,
            "`source.header_row`: invalid type: string",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\ndelimiter = \";;\"\n{COLUMNS}"),
            3,
            13,
            "`source.delimiter`: ';;' is not one ASCII character",
        );
        check_error(
            &format!("[source]\ncurrency = \"XYZ\"\n{COLUMNS}"),
            2,
            12,
            "`source.currency`: unknown currency code 'XYZ'",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\ndate_format = \"%Q\"\n{COLUMNS}"),
            3,
            15,
            "`source.date_format`: '%Q' is not a chrono strftime format",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nformat = \"xlsx\"\ndelimiter = \";\"\n{COLUMNS}"),
            4,
            13,
            "`source.delimiter`: is for CSV files",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\nformat = \"csv\"\nsheet = \"A\"\n{COLUMNS}"),
            4,
            9,
            "`source.sheet`: is for XLSX files",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\n{COLUMNS}colour = \"x\"\n"),
            8,
            1,
            "`columns.colour`: unknown field `colour`",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\n{COLUMNS}discount = 3\n"),
            8,
            12,
            "`columns.discount`: invalid type: integer `3`, expected a header name or a list",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\n{COLUMNS}item_price = \"p\"\n"),
            8,
            14,
            "`columns.item_price`: give either `columns.amount`",
        );
        check_error(
            &format!("[source]\ncurrency = \"USD\"\n{COLUMNS}\n[status]\n\"Done\" = \"Finished\"\n"),
            10,
            10,
            "`status.\"Done\"`: 'Finished' is not a tieout status",
        );
        check_error(&format!("[source]\ncurrency = \"USD\"\n{COLUMNS}\n[extra]\n"), 9, 2, "unknown field `extra`");
        check_error(COLUMNS, 2, 12, "`columns.currency`: no currency");
        check_error(
            "[source]\ncurrency = \"USD\"\n[columns]\norder_id = \"no\"\nstatus = \"st\"\namount = \"t\"\n",
            3,
            1,
            "missing field `purchase_date`",
        );
        check_error(
            "[source]\ncurrency = \"USD\"\n[columns]\norder_id = \"no\"\npurchase_date = \"d\"\nstatus = \"st\"\n",
            4,
            12,
            "`columns.amount`: no amount",
        );
        check_error("[source]\ncurrency = \"USD\"\n[columns]\norder_id = \"  \"\npurchase_date = \"d\"\nstatus = \"st\"\namount = \"t\"\n", 4, 12, "`columns.order_id`: the header name is empty");
        check_error("[columns\n", 1, 9, "");
    }

    #[test]
    fn built_in_amazon_mapping() {
        let mapping = Mapping::amazon_all_orders();
        assert_eq!(mapping.source.delimiter, b'\t');
        assert!(!mapping.source.quoting);
        assert!(mapping.source.lenient_layout);
        let headers: Vec<&str> = mapping.columns.amount.headers().into_iter().map(|(_, h)| h).collect();
        assert_eq!(
            headers,
            ["item-price", "shipping-price", "gift-wrap-price", "item-promotion-discount", "ship-promotion-discount"]
        );
    }
}
