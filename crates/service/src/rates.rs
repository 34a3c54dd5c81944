//! Reference exchange rates (e.g. a central bank's daily rates) as CSV:
//!
//! ```text
//! date,from,to,rate
//! 2026-10-15,USD,CNY,7.1230
//! ```
//! A rate says how many `to` one `from` buys, with up to 6 decimals. Conversions found by
//! the receipt rules are checked against the latest rate on or before the booking date.

use chrono::NaiveDate;
use tieout_core::diag::Diagnostic;
use tieout_core::money::{parse_amount_minor, Currency, NumberStyle};
use tieout_core::receipts::ReferenceRate;

pub fn parse_rates(file: &str, text: &str) -> Result<Vec<ReferenceRate>, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rates = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if index == 0 {
            if fields != ["date", "from", "to", "rate"] {
                return Err(Diagnostic::error(file, 1, 1, "the header must be: date,from,to,rate"));
            }
            continue;
        }
        if fields.len() != 4 {
            return Err(Diagnostic::error(
                file,
                number,
                1,
                format!("expected 4 comma-separated fields, found {}", fields.len()),
            ));
        }
        let date = NaiveDate::parse_from_str(fields[0], "%Y-%m-%d")
            .map_err(|_| Diagnostic::error(file, number, 1, format!("'{}' is not a date (YYYY-MM-DD)", fields[0])))?;
        let currency = |column: u32, text: &str| {
            Currency::from_code(text).map_err(|e| Diagnostic::error(file, number, column, e.to_string()))
        };
        let (from, to) = (currency(2, fields[1])?, currency(3, fields[2])?);
        let rate_micro = parse_amount_minor(fields[3], NumberStyle::Dot, 6)
            .map_err(|e| Diagnostic::error(file, number, 4, e.to_string()))?;
        if rate_micro <= 0 {
            return Err(Diagnostic::error(file, number, 4, "a rate is positive"));
        }
        rates.push(ReferenceRate { date, from, to, rate_micro });
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rates_and_names_bad_cells() {
        let rates = parse_rates("r.csv", "date,from,to,rate\n2026-10-15,USD,CNY,7.1230\n\n").unwrap();
        assert_eq!(rates.len(), 1);
        assert_eq!(rates[0].rate_micro, 7_123_000);
        let error = |text: &str| parse_rates("r.csv", text).unwrap_err().to_string();
        assert_eq!(
            error("date,from,to,rate\n2026-02-30,USD,CNY,7\n"),
            "r.csv:2:1: error: '2026-02-30' is not a date (YYYY-MM-DD)"
        );
        assert!(error("date,from,to,rate\n2026-10-15,USD,XXX,7\n").starts_with("r.csv:2:3: error: unknown currency"));
        assert!(error("date,from,to,rate\n2026-10-15,USD,CNY,7.1234567\n").starts_with("r.csv:2:4: error:"));
        assert!(error("when,what\n").contains("header"));
    }
}
