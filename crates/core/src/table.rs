//! Report tables: what every report is before a writer turns it into CSV, XLSX, JSON or
//! a terminal table. Cells are typed, so money stays exact to the writer.

use chrono::NaiveDate;

use crate::money::{format_minor, Currency};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Empty,
    Text(String),
    Integer(i64),
    Money { amount_minor: i64, currency: Currency },
    Date(NaiveDate),
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    pub fn money(amount_minor: i64, currency: Currency) -> Cell {
        Cell::Money { amount_minor, currency }
    }

    pub fn optional_money(amount_minor: Option<i64>, currency: Currency) -> Cell {
        amount_minor.map_or(Cell::Empty, |amount| Cell::money(amount, currency))
    }

    /// The plain text of the cell: amounts as `-1234.56` (dot, no grouping, the
    /// currency's decimals), dates as ISO 8601.
    pub fn plain(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) => text.clone(),
            Cell::Integer(value) => value.to_string(),
            Cell::Money { amount_minor, currency } => format_minor(*amount_minor, currency.exponent()),
            Cell::Date(date) => date.format("%Y-%m-%d").to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Sheet / section name.
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Footnotes every output carries: the rounding and conversion rule, the period and
    /// time zone, the source files.
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(row.len(), self.columns.len(), "row width matches the columns");
        self.rows.push(row);
    }
}
