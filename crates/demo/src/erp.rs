//! The ERP side: one order export per store (one row per order item) and the column
//! mapping that tells tieout how to read it.
//!
//! Amounts per row: `price` is the item's line total (unit price × quantity, as Amazon's
//! own order reports give `item-price`), `shipping` the shipping charged for it,
//! `discount` the promotion discount (positive, subtracted); the row's part of the order
//! amount is `price + shipping − discount`. `refunded` is the order's written-off
//! amount, on its first row only.

use crate::model::{Locale, Order, StorePlan, StoreSpec};
use crate::settlement::Output;
use crate::text::{push_amount, push_date, push_order_id, push_u64};
use crate::DemoError;

const ENGLISH_HEADER: [&str; 13] = [
    "order_no",
    "store",
    "marketplace",
    "order_date",
    "ship_date",
    "status",
    "currency",
    "sku",
    "qty",
    "price",
    "shipping",
    "discount",
    "refunded",
];

const GERMAN_HEADER: [&str; 13] = [
    "Bestellnummer",
    "Shop",
    "Marktplatz",
    "Bestelldatum",
    "Versanddatum",
    "Status",
    "Währung",
    "Artikel",
    "Menge",
    "Preis",
    "Versand",
    "Rabatt",
    "Erstattet",
];

/// tieout field names, in header order.
const FIELDS: [&str; 13] = [
    "order_id",
    "store",
    "marketplace",
    "purchase_date",
    "ship_date",
    "status",
    "currency",
    "sku",
    "quantity",
    "item_price",
    "shipping_price",
    "discount",
    "refunded_amount",
];

struct Layout {
    header: &'static [&'static str; 13],
    delimiter: u8,
    line_end: &'static [u8],
    /// Lines before the header (the German export's title lines).
    preamble: usize,
}

fn layout(locale: Locale) -> Layout {
    match locale {
        Locale::English => Layout { header: &ENGLISH_HEADER, delimiter: b',', line_end: b"\n", preamble: 0 },
        // As Excel saves "CSV UTF-8" in Germany: BOM, semicolons, CRLF, title rows padded
        // with empty cells.
        Locale::German => Layout { header: &GERMAN_HEADER, delimiter: b';', line_end: b"\r\n", preamble: 2 },
    }
}

pub(crate) struct ErpWriter {
    spec: &'static StoreSpec,
    layout: Layout,
    pub(crate) out: Output,
}

impl ErpWriter {
    /// Creates the export and writes everything before the first order.
    pub(crate) fn create(
        spec: &'static StoreSpec,
        out: Output,
        month_start: i64,
        month_end: i64,
    ) -> Result<ErpWriter, DemoError> {
        let layout = layout(spec.locale);
        let mut writer = ErpWriter { spec, layout, out };
        let delimiter = writer.layout.delimiter;
        let line_end = writer.layout.line_end;
        let buffer = &mut writer.out.buffer;
        if spec.locale == Locale::German {
            buffer.extend_from_slice("\u{feff}Export Auftragsverwaltung".as_bytes());
            buffer.extend_from_slice(&[delimiter; 12]);
            buffer.extend_from_slice(line_end);
            buffer.extend_from_slice(b"Zeitraum: ");
            push_date(buffer, month_start, spec.locale.date_style());
            buffer.extend_from_slice(b" - ");
            push_date(buffer, month_end, spec.locale.date_style());
            buffer.extend_from_slice(&[delimiter; 12]);
            buffer.extend_from_slice(line_end);
        }
        for (index, name) in writer.layout.header.iter().enumerate() {
            if index > 0 {
                buffer.push(delimiter);
            }
            buffer.extend_from_slice(name.as_bytes());
        }
        buffer.extend_from_slice(line_end);
        Ok(writer)
    }

    /// Writes an order's item rows (nothing for orders the ERP does not have).
    pub(crate) fn write_order(&mut self, store: &StorePlan, order: &Order) -> Result<(), DemoError> {
        if !order.in_erp {
            return Ok(());
        }
        let spec = self.spec;
        let style = spec.locale.date_style();
        let decimal = spec.locale.decimal();
        let delimiter = self.layout.delimiter;
        for (index, item) in order.items().iter().enumerate() {
            let out = &mut self.out.buffer;
            push_order_id(out, order.id);
            out.push(delimiter);
            out.extend_from_slice(store.spec.name.as_bytes());
            out.push(delimiter);
            out.extend_from_slice(spec.marketplace.as_bytes());
            out.push(delimiter);
            push_date(out, order.purchased, style);
            out.push(delimiter);
            if let (true, Some(shipped)) = (order.status.has_ship_date(), order.shipped) {
                push_date(out, shipped, style);
            }
            out.push(delimiter);
            out.extend_from_slice(order.status.text(spec.locale).as_bytes());
            out.push(delimiter);
            out.extend_from_slice(spec.currency.as_bytes());
            out.push(delimiter);
            out.extend_from_slice(item.sku().as_bytes());
            out.push(delimiter);
            push_u64(out, item.quantity as u64);
            out.push(delimiter);
            let delta = if index == 0 { order.erp_price_delta_minor } else { 0 };
            push_amount(out, item.principal_minor + delta, decimal);
            out.push(delimiter);
            push_amount(out, item.shipping_minor, decimal);
            out.push(delimiter);
            push_amount(out, item.promotion_minor, decimal);
            out.push(delimiter);
            if index == 0 {
                push_amount(out, order.written_off_minor, decimal);
            }
            out.extend_from_slice(self.layout.line_end);
            self.out.line_done()?;
        }
        Ok(())
    }
}

/// The column mapping of a store's export, in the schema the mapping reader expects.
pub(crate) fn mapping_toml(spec: &StoreSpec) -> String {
    let layout = layout(spec.locale);
    let (number_style, date_format) = match spec.locale {
        Locale::English => ("dot", "%Y-%m-%d"),
        Locale::German => ("comma", "%d.%m.%Y"),
    };
    let mut text = format!(
        "# Column mapping of {store}'s ERP order export (orders.csv), generated by tieout-demo.\n\
         # One row per order item; price is the item's line total (unit price x quantity);\n\
         # the order amount is the sum of price + shipping - discount over its rows;\n\
         # refunded (the amount written off) is on the first row of each order.\n\
         [source]\n\
         format = \"csv\"\n\
         delimiter = \"{delimiter}\"\n\
         header_row = {header_row}\n\
         number_style = \"{number_style}\"\n\
         date_format = \"{date_format}\"\n\
         \n\
         [columns]\n",
        store = spec.name,
        delimiter = layout.delimiter as char,
        header_row = layout.preamble + 1,
    );
    for (field, header) in FIELDS.iter().zip(layout.header.iter()) {
        text.push_str(&format!("{field} = \"{header}\"\n"));
    }
    if spec.locale == Locale::German {
        text.push_str(
            "\n[status]\n\
             \"Versendet\" = \"Shipped\"\n\
             \"Storniert\" = \"Cancelled\"\n\
             \"Offen\" = \"Unshipped\"\n\
             \"Ausstehend\" = \"Pending\"\n\
             \"Erstattet\" = \"Refunded\"\n",
        );
    }
    text
}
