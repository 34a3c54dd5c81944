//! Column mappings for counterparty documents (往来单据): how an ERP's CSV or XLSX export
//! of invoices, refunds, receipts, purchases … whose headers are not tieout's own maps onto
//! a [`Document`](tieout_core::counterparty::Document), written by the user as a small TOML
//! file. Without a mapping, [`crate::ledger`] reads files whose header uses tieout's names
//! ([`DocumentMapping::built_in`]); with one, [`crate::ledger::read_documents_with_mapping`]
//! reads any layout.
//!
//! # The mapping file
//!
//! ```toml
//! [source]
//! kind = "documents"        # required: tells a documents mapping from an order mapping
//! format = "csv"            # "csv" | "xlsx"; optional, detected from content
//! encoding = "gbk"          # csv only: "utf-8" | "gbk" | "windows-1252"; default: UTF-8, else GBK
//! delimiter = ","           # csv only, one ASCII character; default: detected from the header line
//! sheet = "单据"             # xlsx only; default: the first sheet
//! header_row = 1            # 1-based line (csv) or row (xlsx) of the header
//! number_style = "dot"      # "dot" (1,234.56) | "comma" (1.234,56) | "per-value"; default "dot"
//! date_format = "%d/%m/%Y"  # chrono strftime; ISO 8601 is always accepted too
//! negative = "refuse"       # "refuse" | "reverse": what a negative amount means (below)
//! counterparty = "D-001"    # constants, for fields without a column (or empty cells)
//! currency = "CNY"
//! type = "invoice"          # when the whole export is one kind of document
//!
//! [columns]                 # tieout field = header in the file, or a list of aliases
//! counterparty = "客户编码"   # column or source.counterparty
//! counterparty_name = "客户名称"
//! type = "单据类型"           # column or source.type
//! number = "单据号"           # required
//! date = "业务日期"           # required
//! amount = "价税合计"         # required
//! currency = "币别"           # column or source.currency
//! description = "摘要"
//!
//! [types]                   # value in the file = tieout type
//! "销售出库单" = "invoice"
//! "收款单" = "receipt"
//! ```
//!
//! # Rules
//!
//! * `source.kind = "documents"` is required; an order mapping ([`crate::mapping`]) has no
//!   `kind` or `kind = "orders"`. [`crate::mapping::parse_mapping`] reads either into an
//!   [`ImportMapping`](crate::mapping::ImportMapping).
//! * Unknown keys are refused (a typo would otherwise silently drop a column); every error
//!   names the key (`source.negative`) with its line and column in the mapping file.
//! * `number`, `date` and `amount` need a column. `counterparty`, `type` and `currency`
//!   need a column or a constant in `[source]`; with both, a cell wins and an empty cell
//!   takes the constant. Every mapped column must be in the file's header (a list of
//!   aliases: the first one present); headers are matched case-insensitively and trimmed,
//!   and a mapped header found twice is an error.
//! * `source.sheet` is for XLSX and `source.delimiter` / `source.encoding` for CSV: giving
//!   one with the other `format` is refused as a contradiction.
//! * Type aliases (`[types]`) are matched case-insensitively and trimmed, before tieout's
//!   own names ([`DocType::parse`]: `invoice`, `refund` …, or 发票, 退款 …); an alias must
//!   name a tieout type.
//! * Dates: `source.date_format` first, then ISO 8601 (`2026-10-03`,
//!   `2026-10-03 09:15:00`, `2026-10-03T09:15:00+08:00`). Without a date format, the forms
//!   of tieout's own files are read too (`2026/10/03`, `03.10.2026`). A time of day is
//!   dropped: the document's date is the one written.
//! * **Negative amounts.** The type carries the sign: a document's amount is positive, and
//!   an invoice raises what the customer owes while a refund lowers it. ERPs write credit
//!   notes as negative invoices (红字发票) or negative purchases (红字采购单), so a mapping
//!   chooses:
//!   - `negative = "refuse"` (the default): a negative amount is an error, as in tieout's
//!     own files;
//!   - `negative = "reverse"`: a negative invoice is a refund and a negative purchase a
//!     purchase return, of the amount's absolute value. A negative amount of any other
//!     type (a refund, a discount, a receipt, a payment …) is still an error: such a
//!     type already lowers the balance, so its minus sign may be the export's way of
//!     saying so or a reversal of it, and tieout does not guess which.

use crate::mapping::FileKind;
use crate::mapping_common::{file_kind, number_style, Aliases, ConfigFile, RawFormat, RawNumberStyle};
use crate::statement_profile::TextEncoding;
use crate::toml_position::parse_toml;
use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use tieout_core::counterparty::DocType;
use tieout_core::money::Currency;
use tieout_core::{Diagnostic, NumberStyle};
use toml::Spanned;

/// A field of a [`Document`](tieout_core::counterparty::Document) a column can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Counterparty,
    CounterpartyName,
    Type,
    Number,
    Date,
    Amount,
    Currency,
    Description,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Counterparty,
        Field::CounterpartyName,
        Field::Type,
        Field::Number,
        Field::Date,
        Field::Amount,
        Field::Currency,
        Field::Description,
    ];

    /// The field's name: its key under `[columns]`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Counterparty => "counterparty",
            Field::CounterpartyName => "counterparty_name",
            Field::Type => "type",
            Field::Number => "number",
            Field::Date => "date",
            Field::Amount => "amount",
            Field::Currency => "currency",
            Field::Description => "description",
        }
    }

    /// Fields a document cannot do without (from a column or a constant).
    pub fn is_required(self) -> bool {
        !matches!(self, Field::CounterpartyName | Field::Description)
    }
}

/// What a negative amount means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegativeAmounts {
    /// An error: the type carries the sign.
    Refuse,
    /// A negative invoice is a refund, a negative purchase a purchase return; other
    /// negative types are errors.
    Reverse,
}

/// The header names (aliases, the first present wins) of each field; an empty list: the
/// field has no column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentColumns([Vec<String>; 8]);

impl DocumentColumns {
    pub fn headers(&self, field: Field) -> &[String] {
        &self.0[field as usize]
    }

    pub fn set(&mut self, field: Field, headers: Vec<String>) {
        self.0[field as usize] = headers;
    }
}

/// A validated documents mapping (see the module documentation for the rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentMapping {
    /// The mapping file's name, or `built-in:documents`.
    pub name: String,
    /// `None`: detected (an XLSX workbook starts with `PK\x03\x04`).
    pub format: Option<FileKind>,
    /// `None`: UTF-8 when the file is UTF-8, else GBK.
    pub encoding: Option<TextEncoding>,
    /// `None`: the one of tab, `;` and `,` the header line holds most of (`,` on a tie).
    pub delimiter: Option<u8>,
    /// XLSX sheet name; `None`: the first sheet.
    pub sheet: Option<String>,
    /// 1-based line (CSV) or row (XLSX) of the header; rows before it are a preamble.
    pub header_row: u32,
    pub number_style: NumberStyle,
    /// chrono strftime format of dates, tried before ISO 8601.
    pub date_format: Option<String>,
    pub negative: NegativeAmounts,
    pub counterparty: Option<String>,
    pub currency: Option<Currency>,
    pub doc_type: Option<DocType>,
    pub columns: DocumentColumns,
    /// (text in the file, type), matched case-insensitively before [`DocType::parse`].
    pub type_aliases: Vec<(String, DocType)>,
    /// tieout's own files: a missing optional column reads as empty, and the header's
    /// aliases are tieout's. Off for mapping files: there every mapped column must exist.
    pub built_in: bool,
}

/// Name of the built-in mapping (tieout's own documents files).
pub const BUILT_IN_NAME: &str = "built-in:documents";

/// The headers of tieout's own documents files, per field (compared lower-cased).
pub(crate) const BUILT_IN_HEADERS: [(Field, &[&str]); 8] = [
    (Field::Counterparty, &["counterparty", "customer", "supplier", "往来单位", "客户", "供应商"]),
    (Field::CounterpartyName, &["counterparty_name", "name", "名称", "单位名称"]),
    (Field::Type, &["type", "document_type", "类型", "单据类型"]),
    (Field::Number, &["number", "document", "document_number", "单号", "单据编号"]),
    (Field::Date, &["date", "日期", "单据日期"]),
    (Field::Amount, &["amount", "金额"]),
    (Field::Currency, &["currency", "币种"]),
    (Field::Description, &["description", "items", "摘要", "商品", "备注"]),
];

impl DocumentMapping {
    /// tieout's own documents files: the English and Chinese headers of [`crate::ledger`],
    /// UTF-8 or GBK, the delimiter detected, dots for decimals, positive amounts.
    pub fn built_in() -> DocumentMapping {
        let mut columns = DocumentColumns::default();
        for (field, names) in BUILT_IN_HEADERS {
            columns.set(field, names.iter().map(|name| (*name).to_owned()).collect());
        }
        DocumentMapping {
            name: BUILT_IN_NAME.to_owned(),
            format: None,
            encoding: None,
            delimiter: None,
            sheet: None,
            header_row: 1,
            number_style: NumberStyle::Dot,
            date_format: None,
            negative: NegativeAmounts::Refuse,
            counterparty: None,
            currency: None,
            doc_type: None,
            columns,
            type_aliases: Vec::new(),
            built_in: true,
        }
    }

    /// The type a cell means: an alias of this mapping (case-insensitive), else one of
    /// tieout's names.
    pub fn doc_type(&self, text: &str) -> Option<DocType> {
        let wanted = text.trim().to_lowercase();
        self.type_aliases
            .iter()
            .find(|(alias, _)| alias.to_lowercase() == wanted)
            .map(|(_, doc_type)| *doc_type)
            .or_else(|| DocType::parse(text))
    }

    /// The types a user may write, for error messages.
    pub fn known_types(&self) -> String {
        let names: Vec<&str> = DocType::ALL.iter().map(|t| t.name()).collect();
        if self.type_aliases.is_empty() {
            return names.join(", ");
        }
        let aliases: Vec<&str> = self.type_aliases.iter().map(|(alias, _)| alias.as_str()).collect();
        format!("{}; aliases in the mapping: {}", names.join(", "), aliases.join(", "))
    }

    /// Whether a field has a constant (the "column or constant" rule).
    pub(crate) fn has_constant(&self, field: Field) -> bool {
        match field {
            Field::Counterparty => self.counterparty.is_some(),
            Field::Type => self.doc_type.is_some(),
            Field::Currency => self.currency.is_some(),
            _ => false,
        }
    }
}

/// Reads and validates a documents mapping whose `source.kind` was checked (callers use
/// [`crate::mapping::parse_mapping`]). The error names the key, with the line and column
/// of the mapping file.
pub(crate) fn parse_document_mapping(file_name: &str, text: &str) -> Result<DocumentMapping, Diagnostic> {
    let raw: RawMapping = parse_toml(file_name, text)?;
    Validator { file: ConfigFile { name: file_name, text } }.mapping(raw)
}

// ---------------------------------------------------------------------------------------
// The file as serde reads it.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    source: RawSource,
    columns: RawColumns,
    #[serde(default)]
    types: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    /// Checked by [`crate::mapping::mapping_kind`] before this is read.
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    format: Option<Spanned<RawFormat>>,
    encoding: Option<Spanned<String>>,
    delimiter: Option<Spanned<String>>,
    sheet: Option<Spanned<String>>,
    header_row: Option<Spanned<i64>>,
    number_style: Option<RawNumberStyle>,
    date_format: Option<Spanned<String>>,
    negative: Option<RawNegative>,
    counterparty: Option<Spanned<String>>,
    currency: Option<Spanned<String>>,
    #[serde(rename = "type")]
    doc_type: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawNegative {
    Refuse,
    Reverse,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    counterparty: Option<Spanned<Aliases>>,
    counterparty_name: Option<Spanned<Aliases>>,
    #[serde(rename = "type")]
    doc_type: Option<Spanned<Aliases>>,
    number: Spanned<Aliases>,
    date: Spanned<Aliases>,
    amount: Spanned<Aliases>,
    currency: Option<Spanned<Aliases>>,
    description: Option<Spanned<Aliases>>,
}

// ---------------------------------------------------------------------------------------
// Validation: from what serde read to a `DocumentMapping`, with errors that point at the
// key.

struct Validator<'a> {
    file: ConfigFile<'a>,
}

impl Validator<'_> {
    fn aliases(&self, value: Option<Spanned<Aliases>>, key: &str) -> Result<Vec<String>, Diagnostic> {
        value.map_or(Ok(Vec::new()), |value| self.file.aliases(value, key, "the header name is empty"))
    }

    fn mapping(&self, raw: RawMapping) -> Result<DocumentMapping, Diagnostic> {
        let file = &self.file;
        let source = raw.source;
        let format = file_kind(&source.format);
        file.csv_only(&source.delimiter, "source.delimiter", format)?;
        file.csv_only(&source.encoding, "source.encoding", format)?;
        // Checked in this order (the first error is the one reported).
        let mut mapping = DocumentMapping {
            name: file.name.to_owned(),
            format,
            encoding: file.encoding(source.encoding)?,
            delimiter: file.delimiter(source.delimiter)?,
            sheet: file.sheet(source.sheet, format)?,
            header_row: file.header_row(source.header_row)?,
            number_style: number_style(source.number_style),
            date_format: file.date_format(source.date_format, "\"%d/%m/%Y\", \"%Y年%m月%d日\"")?,
            negative: match source.negative {
                None | Some(RawNegative::Refuse) => NegativeAmounts::Refuse,
                Some(RawNegative::Reverse) => NegativeAmounts::Reverse,
            },
            currency: file.currency(source.currency)?,
            doc_type: match source.doc_type {
                None => None,
                Some(value) => match DocType::parse(value.get_ref()) {
                    Some(doc_type) => Some(doc_type),
                    None => return file.error(value.span(), "source.type", not_a_type(value.get_ref())),
                },
            },
            counterparty: file.constant(source.counterparty, "source.counterparty")?,
            columns: DocumentColumns::default(),
            type_aliases: Vec::new(),
            built_in: false,
        };
        let columns = raw.columns;
        let table_span = columns.number.span();
        let given = [
            (Field::Counterparty, columns.counterparty),
            (Field::CounterpartyName, columns.counterparty_name),
            (Field::Type, columns.doc_type),
            (Field::Number, Some(columns.number)),
            (Field::Date, Some(columns.date)),
            (Field::Amount, Some(columns.amount)),
            (Field::Currency, columns.currency),
            (Field::Description, columns.description),
        ];
        for (field, value) in given {
            let key = format!("columns.{}", field.name());
            let headers = self.aliases(value, &key)?;
            if headers.is_empty() && field.is_required() && !mapping.has_constant(field) {
                return self.file.error(
                    table_span.clone(),
                    &key,
                    format!("no {0}: map a {0} column (`{key}`) or give a constant `source.{0}`", field.name()),
                );
            }
            mapping.columns.set(field, headers);
        }
        for (text, target) in raw.types {
            let key = format!("types.\"{text}\"");
            if text.trim().is_empty() {
                return self.file.error(target.span(), &key, "an alias cannot be empty");
            }
            let Some(doc_type) = DocType::parse(target.get_ref()) else {
                return self.file.error(target.span(), &key, not_a_type(target.get_ref()));
            };
            mapping.type_aliases.push((text.trim().to_owned(), doc_type));
        }
        Ok(mapping)
    }
}

fn not_a_type(text: &str) -> String {
    let names: Vec<&str> = DocType::ALL.iter().map(|t| t.name()).collect();
    format!("'{text}' is not a tieout document type (one of {})", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{parse_mapping, ImportMapping, Mapping};

    const COLUMNS: &str = "[columns]\nnumber = \"no\"\ndate = \"d\"\namount = \"a\"\n";

    fn documents(source: &str, rest: &str) -> String {
        format!("[source]\nkind = \"documents\"\n{source}{COLUMNS}{rest}")
    }

    /// (mapping text, line, column, message fragment)
    fn check_error(text: &str, line: u32, column: u32, fragment: &str) {
        let error = parse_mapping::<ImportMapping>("docs.toml", text).unwrap_err();
        assert!(error.message.contains(fragment), "{text}\n→ {error}\nlacks {fragment:?}");
        assert_eq!((error.line, error.column), (line, column), "{text}\n→ {error}");
        assert_eq!(error.file, "docs.toml");
    }

    #[test]
    fn a_documents_mapping_with_every_key() {
        let text = r#"
[source]
kind = "documents"
format = "csv"
encoding = "GBK"
delimiter = ";"
header_row = 2
number_style = "comma"
date_format = "%d/%m/%Y"
negative = "reverse"
counterparty = "D-001"
currency = "cny"
type = "发票"
[columns]
counterparty_name = "名称"
type = ["单据类型", "类型"]
number = "单据号"
date = "日期"
amount = "价税合计"
description = "摘要"
[types]
" 销售出库单 " = "invoice"
"红字发票" = "refund"
"#;
        let ImportMapping::Documents(mapping) = parse_mapping("docs.toml", text).unwrap() else {
            panic!("a documents mapping");
        };
        assert_eq!(mapping.format, Some(FileKind::Csv));
        assert_eq!(mapping.encoding, Some(TextEncoding::Gbk));
        assert_eq!((mapping.delimiter, mapping.header_row), (Some(b';'), 2));
        assert_eq!(mapping.number_style, NumberStyle::Comma);
        assert_eq!(mapping.negative, NegativeAmounts::Reverse);
        assert_eq!(mapping.counterparty.as_deref(), Some("D-001"));
        assert_eq!(mapping.currency, Some(Currency::CNY));
        assert_eq!(mapping.doc_type, Some(DocType::Invoice));
        assert_eq!(mapping.columns.headers(Field::Type), ["单据类型", "类型"]);
        assert!(mapping.columns.headers(Field::Counterparty).is_empty());
        assert_eq!(mapping.doc_type("销售出库单"), Some(DocType::Invoice));
        assert_eq!(mapping.doc_type("红字发票"), Some(DocType::Refund));
        assert_eq!(mapping.doc_type("Receipt"), Some(DocType::Receipt));
        assert_eq!(mapping.doc_type("调拨单"), None);
        assert!(!mapping.built_in);

        let minimal: DocumentMapping = parse_mapping(
            "docs.toml",
            &documents("currency = \"USD\"\ntype = \"receipt\"\ncounterparty = \"C\"\n", ""),
        )
        .unwrap();
        assert_eq!((minimal.format, minimal.encoding, minimal.delimiter), (None, None, None));
        assert_eq!((minimal.header_row, minimal.number_style), (1, NumberStyle::Dot));
        assert_eq!(minimal.negative, NegativeAmounts::Refuse);
    }

    #[test]
    fn an_order_mapping_is_still_read_as_an_order_mapping() {
        let order = "[source]\ncurrency = \"USD\"\n[columns]\norder_id = \"no\"\npurchase_date = \"date\"\nstatus = \"st\"\namount = \"total\"\n";
        let plain: Mapping = parse_mapping("orders.toml", order).unwrap();
        assert!(matches!(parse_mapping("orders.toml", order), Ok(ImportMapping::Orders(m)) if m == plain));
        let with_kind = order.replace("[source]\n", "[source]\nkind = \"orders\"\n");
        assert_eq!(parse_mapping::<Mapping>("orders.toml", &with_kind).unwrap(), plain);
        // Each kind refuses the other where a caller needs one.
        let error = parse_mapping::<DocumentMapping>("orders.toml", order).unwrap_err();
        assert_eq!((error.line, error.column), (1, 1));
        assert!(error.message.contains("`source.kind`: this is an order export's mapping"), "{error}");
        let docs = documents("currency = \"USD\"\ntype = \"receipt\"\ncounterparty = \"C\"\n", "");
        let error = parse_mapping::<Mapping>("docs.toml", &docs).unwrap_err();
        assert_eq!((error.line, error.column), (2, 8), "{error}");
        assert!(error.message.contains("this is a documents mapping"), "{error}");
        // An order mapping's keys in a documents mapping are unknown keys.
        check_error(
            &documents("currency = \"USD\"\ncounterparty = \"C\"\nstore = \"x\"\n", ""),
            5,
            1,
            "`source.store`: unknown field `store`",
        );
    }

    #[test]
    fn errors_name_the_key_line_and_column() {
        let constants = "currency = \"USD\"\ntype = \"invoice\"\ncounterparty = \"C\"\n";
        check_error("[source]\nkind = \"ledger\"\n", 2, 8, "`source.kind`: 'ledger' is not a kind of mapping");
        check_error("[source]\nkind = 3\n", 2, 8, "`source.kind`: invalid type: integer `3`");
        check_error(
            &documents(&format!("{constants}negative = \"flip\"\n"), ""),
            6,
            12,
            "`source.negative`: unknown variant `flip`",
        );
        check_error(
            &documents(&format!("{constants}number_stile = \"dot\"\n"), ""),
            6,
            1,
            "`source.number_stile`: unknown field `number_stile`",
        );
        check_error(&documents("currency = \"XYZ\"\n", ""), 3, 12, "`source.currency`: unknown currency code 'XYZ'");
        check_error(
            &documents("currency = \"USD\"\ntype = \"gift\"\n", ""),
            4,
            8,
            "`source.type`: 'gift' is not a tieout document type",
        );
        check_error(
            &documents(&format!("{constants}format = \"xlsx\"\nencoding = \"gbk\"\n"), ""),
            7,
            12,
            "`source.encoding`: is for CSV files",
        );
        check_error(
            &documents(&format!("{constants}encoding = \"big5\"\n"), ""),
            6,
            12,
            "`source.encoding`: 'big5' is not one of",
        );
        check_error(
            &documents(&format!("{constants}date_format = \"%Q\"\n"), ""),
            6,
            15,
            "`source.date_format`: '%Q' is not a chrono strftime format",
        );
        check_error(&documents(&format!("{constants}header_row = 0\n"), ""), 6, 14, "`source.header_row`: 0 is not");
        check_error(
            &documents("type = \"invoice\"\ncounterparty = \"C\"\n", ""),
            6,
            10,
            "`columns.currency`: no currency: map a currency column (`columns.currency`) or give a constant `source.currency`",
        );
        check_error(&documents(constants, "colour = \"x\"\n"), 10, 1, "`columns.colour`: unknown field `colour`");
        check_error(
            &documents(constants, "description = []\n"),
            10,
            15,
            "`columns.description`: the list of header names is empty",
        );
        check_error(
            &documents(constants, "[types]\n\"销售出库单\" = \"sale\"\n"),
            11,
            11,
            "`types.\"销售出库单\"`: 'sale' is not a tieout document type",
        );
        check_error(
            &format!("[source]\nkind = \"documents\"\n{constants}[columns]\nnumber = \"no\"\namount = \"a\"\n"),
            6,
            1,
            "missing field `date`",
        );
    }
}
