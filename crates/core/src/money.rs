//! Money: an exact count of minor units with its ISO 4217 currency.
//!
//! Amounts are `i64` minor units (cents, pence, yen); the currency says how many decimal
//! places a minor unit is (`exponent`: USD 2, JPY 0, KWD 3). Arithmetic is checked and
//! refuses to mix currencies. There is no floating point anywhere in tieout's money.
//!
//! # Reading amounts from text: the rule
//!
//! Files write amounts in their locale's notation, and real Amazon EU files mix `5,05` and
//! `5.05` inside one report. [`parse_amount_minor`] takes a [`NumberStyle`]:
//!
//! * `Dot` (US, UK, CN, JP): `.` is the decimal separator, `,` groups thousands.
//! * `Comma` (DE, FR, IT, ES, NL …): `,` is the decimal separator, `.` groups thousands.
//! * `PerValue` (a source known to mix both): each value decides for itself:
//!   1. with both `.` and `,` present, the one written last is the decimal separator
//!      and the other groups thousands (`1.234,56`, `1,234.56`);
//!   2. one separator written more than once groups thousands (`1.234.567`);
//!   3. one separator written once, followed by other than exactly three digits, is the
//!      decimal separator (`5,05`, `5.05`, `12,5`, `7.`);
//!   4. one separator written once and followed by exactly three digits (`1,234`,
//!      `1.234`) could be either; it is **refused as ambiguous**, never guessed — unless
//!      the integer part is `0` or empty (`0,125`), which cannot be a grouping.
//!
//! In every style: surrounding spaces (including no-break spaces) and one pair of
//! double quotes are removed; a sign may lead (`-12.00`, `+3`), trail (`12.00-`), or be
//! parentheses (`(12.00)` is negative); thousands groups must be three digits; more
//! decimal places than the currency has are accepted only when the extra digits are zeros
//! (`12.500` USD is 1250 cents; `12.505` USD is refused, not rounded).

use std::cmp::Ordering;
use std::fmt;

use thiserror::Error;

use crate::limits;

/// An ISO 4217 currency known to tieout, with its number of decimal places.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// ISO 4217 codes tieout knows, with their minor-unit exponent. The marketplaces, payment
/// tools and banks tieout reads use these; a code outside the table is refused, because
/// guessing its exponent would misstate every amount in it.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNH", 2),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RUB", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

impl Currency {
    pub const USD: Currency = Currency { code: *b"USD", exponent: 2 };
    pub const EUR: Currency = Currency { code: *b"EUR", exponent: 2 };
    pub const GBP: Currency = Currency { code: *b"GBP", exponent: 2 };
    pub const CAD: Currency = Currency { code: *b"CAD", exponent: 2 };
    pub const CNY: Currency = Currency { code: *b"CNY", exponent: 2 };
    pub const JPY: Currency = Currency { code: *b"JPY", exponent: 0 };

    /// Looks a code up (case-insensitive, surrounding spaces ignored).
    pub fn from_code(text: &str) -> Result<Currency, MoneyError> {
        let trimmed = text.trim();
        // Three bytes compared as an array, no allocation: readers call this per row.
        let wanted: Option<[u8; 3]> =
            trimmed.as_bytes().try_into().ok().map(|c: [u8; 3]| c.map(|b| b.to_ascii_uppercase()));
        wanted
            .and_then(|wanted| {
                CURRENCIES.iter().find(|(code, _)| {
                    let code = code.as_bytes();
                    code[0] == wanted[0] && code[1] == wanted[1] && code[2] == wanted[2]
                })
            })
            .map(|(code, exponent)| Currency {
                code: code.as_bytes().try_into().expect("three-letter codes"),
                exponent: *exponent,
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(trimmed.to_owned()))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("codes are ASCII")
    }

    /// Decimal places of one minor unit: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An exact amount of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("cannot combine {left} and {right}: convert explicitly first")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount overflow")]
    Overflow,
    #[error("unknown currency code '{0}'")]
    UnknownCurrency(String),
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money { amount_minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money { amount_minor: 0, currency }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_minor = self.amount_minor.checked_add(other.amount_minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount_minor, currency: self.currency })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(other.checked_neg()?)
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let amount_minor = self.amount_minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money { amount_minor, currency: self.currency })
    }

    /// Compares two amounts of the same currency; different currencies do not compare.
    pub fn checked_cmp(self, other: Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount_minor.cmp(&other.amount_minor))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", format_minor(self.amount_minor, self.currency.exponent()), self.currency)
    }
}

/// Writes minor units as a plain decimal with a dot and no grouping: `-1234.50`.
pub fn format_minor(amount_minor: i64, exponent: u8) -> String {
    let negative = amount_minor < 0;
    let digits = amount_minor.unsigned_abs().to_string();
    let exponent = exponent as usize;
    let mut out = String::with_capacity(digits.len() + 3);
    if negative {
        out.push('-');
    }
    if exponent == 0 {
        out.push_str(&digits);
        return out;
    }
    if digits.len() <= exponent {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', exponent - digits.len()));
        out.push_str(&digits);
    } else {
        let split = digits.len() - exponent;
        out.push_str(&digits[..split]);
        out.push('.');
        out.push_str(&digits[split..]);
    }
    out
}

/// Rounds `numerator / denominator` to the nearest integer, halves away from zero (the
/// rule marketplaces use for fees). `denominator` must be positive.
pub fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator > 0, "denominator must be positive");
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// How a source writes its decimal separator. See the module documentation for the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberStyle {
    Dot,
    Comma,
    PerValue,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("empty amount")]
    Empty,
    #[error("amount text is longer than {} characters", limits::AMOUNT_TEXT_LENGTH_MAX)]
    TooLong,
    #[error("'{text}' is not a number (unexpected '{character}')")]
    InvalidCharacter { text: String, character: char },
    #[error("'{0}' is not a number")]
    Malformed(String),
    #[error(
        "'{0}' is ambiguous: one separator followed by three digits may be a decimal point or a thousands separator"
    )]
    Ambiguous(String),
    #[error("'{text}' does not use this file's notation (decimal separator '{decimal}')")]
    WrongNotation { text: String, decimal: char },
    #[error("'{text}' has more decimal places than {exponent}, the currency's")]
    TooPrecise { text: String, exponent: u8 },
    #[error("'{0}' is out of range")]
    OutOfRange(String),
}

/// Parses an amount written in `style` into minor units of a currency with `exponent`
/// decimal places. See the module documentation for the rule.
pub fn parse_amount_minor(text: &str, style: NumberStyle, exponent: u8) -> Result<i64, AmountError> {
    let trimmed = trim_amount(text);
    if trimmed.is_empty() {
        return Err(AmountError::Empty);
    }
    if trimmed.len() > limits::AMOUNT_TEXT_LENGTH_MAX {
        return Err(AmountError::TooLong);
    }
    let (negative, body) = split_sign(trimmed).ok_or_else(|| AmountError::Malformed(trimmed.to_owned()))?;
    if body.is_empty() {
        return Err(AmountError::Malformed(trimmed.to_owned()));
    }
    if let Some(character) = body.chars().find(|c| !c.is_ascii_digit() && *c != '.' && *c != ',') {
        return Err(AmountError::InvalidCharacter { text: trimmed.to_owned(), character });
    }
    let decimal = decimal_separator(body, style, trimmed)?;
    let (integer_part, fraction_part) = match decimal {
        Some(separator) => {
            let at = body.rfind(separator).expect("separator is present");
            (&body[..at], &body[at + 1..])
        }
        None => (body, ""),
    };
    let grouping = match decimal {
        Some('.') => ',',
        Some(_) => '.',
        None => {
            if body.contains(',') {
                ','
            } else {
                '.'
            }
        }
    };
    let integer_digits = ungroup(integer_part, grouping).ok_or_else(|| AmountError::Malformed(trimmed.to_owned()))?;
    if integer_digits.is_empty() && fraction_part.is_empty() {
        return Err(AmountError::Malformed(trimmed.to_owned()));
    }
    if fraction_part.contains(['.', ',']) {
        return Err(AmountError::Malformed(trimmed.to_owned()));
    }
    let exponent_digits = exponent as usize;
    let (kept_fraction, dropped) = if fraction_part.len() > exponent_digits {
        fraction_part.split_at(exponent_digits)
    } else {
        (fraction_part, "")
    };
    if dropped.bytes().any(|b| b != b'0') {
        return Err(AmountError::TooPrecise { text: trimmed.to_owned(), exponent });
    }
    let out_of_range = || AmountError::OutOfRange(trimmed.to_owned());
    let mut value: i64 = 0;
    for digit in integer_digits.bytes().chain(kept_fraction.bytes()) {
        value = value.checked_mul(10).and_then(|v| v.checked_add((digit - b'0') as i64)).ok_or_else(out_of_range)?;
    }
    for _ in kept_fraction.len()..exponent_digits {
        value = value.checked_mul(10).ok_or_else(out_of_range)?;
    }
    if value > limits::AMOUNT_MINOR_ABS_MAX {
        return Err(out_of_range());
    }
    Ok(if negative { -value } else { value })
}

fn trim_amount(text: &str) -> &str {
    let is_space = |c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}';
    let trimmed = text.trim_matches(is_space);
    match trimmed.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.trim_matches(is_space),
        None => trimmed,
    }
}

/// Returns (negative, digits-and-separators) or None when signs are malformed.
fn split_sign(text: &str) -> Option<(bool, &str)> {
    if let Some(inner) = text.strip_prefix('(') {
        let inner = inner.strip_suffix(')')?;
        return Some((true, inner.trim()));
    }
    let (negative, rest) = if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix('+') {
        (false, rest)
    } else {
        (false, text)
    };
    if let Some(rest2) = rest.strip_suffix('-') {
        if negative {
            return None;
        }
        return Some((true, rest2.trim_end()));
    }
    Some((negative, rest))
}

fn decimal_separator(body: &str, style: NumberStyle, text: &str) -> Result<Option<char>, AmountError> {
    let dots = body.matches('.').count();
    let commas = body.matches(',').count();
    let last_dot = body.rfind('.');
    let last_comma = body.rfind(',');
    let wrong = |decimal: char| AmountError::WrongNotation { text: text.to_owned(), decimal };
    let chosen = match (dots, commas) {
        (0, 0) => None,
        (_, 0) | (0, _) => {
            let separator = if dots > 0 { '.' } else { ',' };
            let count = dots.max(commas);
            let at = body.rfind(separator).expect("present");
            let after = body.len() - at - 1;
            let before = &body[..at];
            match style {
                NumberStyle::Dot if separator == '.' => {
                    (count == 1).then_some('.').ok_or_else(|| wrong('.')).map(Some)?
                }
                NumberStyle::Comma if separator == ',' => {
                    (count == 1).then_some(',').ok_or_else(|| wrong(',')).map(Some)?
                }
                // The other style's separator may only group thousands.
                NumberStyle::Dot | NumberStyle::Comma => None,
                NumberStyle::PerValue => {
                    if count > 1 {
                        None
                    } else if after != 3 || before.is_empty() || before.bytes().all(|b| b == b'0') {
                        Some(separator)
                    } else {
                        return Err(AmountError::Ambiguous(text.to_owned()));
                    }
                }
            }
        }
        _ => {
            let separator = if last_dot > last_comma { '.' } else { ',' };
            if body.matches(separator).count() != 1 {
                return Err(AmountError::Malformed(text.to_owned()));
            }
            match style {
                NumberStyle::Dot if separator != '.' => return Err(wrong('.')),
                NumberStyle::Comma if separator != ',' => return Err(wrong(',')),
                _ => Some(separator),
            }
        }
    };
    Ok(chosen)
}

/// Removes thousands grouping, checking that groups after the first have three digits.
fn ungroup(integer_part: &str, grouping: char) -> Option<String> {
    if !integer_part.contains(grouping) {
        return Some(integer_part.to_owned());
    }
    let mut groups = integer_part.split(grouping);
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 {
        return None;
    }
    let mut digits = first.to_owned();
    for group in groups {
        if group.len() != 3 {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str, style: NumberStyle, expect: Result<i64, &str>) {
        let got = parse_amount_minor(text, style, 2);
        match (got, expect) {
            (Ok(value), Ok(want)) => assert_eq!(value, want, "{text:?} {style:?}"),
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{text:?}: error {message:?} lacks {fragment:?}")
            }
            (got, want) => panic!("{text:?} {style:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn real_notations() {
        use NumberStyle::*;
        check("1,234.56", Dot, Ok(123456));
        check("1.234,56", Comma, Ok(123456));
        check("-12.00", Dot, Ok(-1200));
        check("(12.00)", Dot, Ok(-1200));
        check("\"12,00\"", Comma, Ok(1200));
        check("32.09    ", Dot, Ok(3209));
        check("1141,18", Comma, Ok(114118));
        check("1141,18", PerValue, Ok(114118));
        check("5,05", PerValue, Ok(505));
        check("5.05", PerValue, Ok(505));
        check("1.234,56", PerValue, Ok(123456));
        check("1,234.56", PerValue, Ok(123456));
        check("1.234.567", PerValue, Ok(123456700));
        check("12,5", PerValue, Ok(1250));
        check("0,125", PerValue, Err("more decimal places"));
        check("0,120", PerValue, Ok(12));
        check("12.00-", Dot, Ok(-1200));
        check("+3", Dot, Ok(300));
        check("7.", Dot, Ok(700));
        check(".5", Dot, Ok(50));
        check("1\u{a0}", Dot, Ok(100));
        check("12.500", Dot, Ok(1250));
    }

    #[test]
    fn refusals() {
        use NumberStyle::*;
        check("1,234", PerValue, Err("ambiguous"));
        check("1.234", PerValue, Err("ambiguous"));
        check("", Dot, Err("empty"));
        check("   ", Dot, Err("empty"));
        check("12.505", Dot, Err("more decimal places"));
        check("1,234.56", Comma, Err("notation"));
        check("12,5", Dot, Err("not a number"));
        check("1.23.4", PerValue, Err("not a number"));
        check("1,2,3.4", Dot, Err("not a number"));
        check("12a", Dot, Err("unexpected 'a'"));
        check("--1", Dot, Err("not a number"));
        check("-1-", Dot, Err("not a number"));
        check("(12", Dot, Err("not a number"));
        check("-", Dot, Err("not a number"));
        check("99999999999999999999", Dot, Err("out of range"));
        check("1e5", Dot, Err("unexpected 'e'"));
    }

    #[test]
    fn exponents() {
        assert_eq!(parse_amount_minor("1,234", NumberStyle::Dot, 0), Ok(1234));
        assert_eq!(parse_amount_minor("1.5", NumberStyle::Dot, 3), Ok(1500));
        assert!(parse_amount_minor("1.5", NumberStyle::Dot, 0).is_err());
    }

    #[test]
    fn currencies() {
        assert_eq!(Currency::from_code(" usd ").unwrap(), Currency::USD);
        assert_eq!(Currency::from_code("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert!(matches!(Currency::from_code("XXX"), Err(MoneyError::UnknownCurrency(_))));
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let usd = Money::new(100, Currency::USD);
        let eur = Money::new(100, Currency::EUR);
        assert_eq!(
            usd.checked_add(eur),
            Err(MoneyError::CurrencyMismatch { left: Currency::USD, right: Currency::EUR })
        );
        assert!(usd.checked_cmp(eur).is_err());
        assert_eq!(usd.checked_add(usd).unwrap().amount_minor, 200);
        assert_eq!(Money::new(i64::MAX, Currency::USD).checked_add(usd), Err(MoneyError::Overflow));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_minor(-123456, 2), "-1234.56");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(-5, 3), "-0.005");
        assert_eq!(format_minor(42, 0), "42");
        assert_eq!(Money::new(1999, Currency::EUR).to_string(), "19.99 EUR");
    }

    #[test]
    fn rounding_half_away_from_zero() {
        assert_eq!(div_round_half_away(25, 10), 3);
        assert_eq!(div_round_half_away(-25, 10), -3);
        assert_eq!(div_round_half_away(24, 10), 2);
        assert_eq!(div_round_half_away(-26, 10), -3);
    }

    fn write_grouped(value: u64, grouping: char) -> String {
        let digits = value.to_string();
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push(grouping);
            }
            out.push(digit);
        }
        out
    }

    proptest! {
        #[test]
        fn round_trips_in_every_style(minor in -(limits::AMOUNT_MINOR_ABS_MAX)..=limits::AMOUNT_MINOR_ABS_MAX, grouped: bool) {
            let negative = minor < 0;
            let units = minor.unsigned_abs() / 100;
            let cents = minor.unsigned_abs() % 100;
            let sign = if negative { "-" } else { "" };
            for (style, decimal, grouping) in [(NumberStyle::Dot, '.', ','), (NumberStyle::Comma, ',', '.'), (NumberStyle::PerValue, ',', '.'), (NumberStyle::PerValue, '.', ',')] {
                let integer = if grouped { write_grouped(units, grouping) } else { units.to_string() };
                let text = format!("{sign}{integer}{decimal}{cents:02}");
                prop_assert_eq!(parse_amount_minor(&text, style, 2), Ok(minor), "{}", text);
            }
            prop_assert_eq!(parse_amount_minor(&format_minor(minor, 2), NumberStyle::Dot, 2), Ok(minor));
        }

        #[test]
        fn addition_is_exact_and_commutative(a in -(limits::AMOUNT_MINOR_ABS_MAX)..limits::AMOUNT_MINOR_ABS_MAX, b in -(limits::AMOUNT_MINOR_ABS_MAX)..limits::AMOUNT_MINOR_ABS_MAX) {
            let x = Money::new(a, Currency::EUR);
            let y = Money::new(b, Currency::EUR);
            prop_assert_eq!(x.checked_add(y), y.checked_add(x));
            prop_assert_eq!(x.checked_add(y).unwrap().checked_sub(y).unwrap(), x);
        }

        #[test]
        fn never_panics(text in "\\PC{0,30}") {
            let _ = parse_amount_minor(&text, NumberStyle::PerValue, 2);
        }
    }
}
