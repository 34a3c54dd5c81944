//! Byte-level formatting of numbers, amounts, dates and ids, straight into an output
//! buffer: the generator writes hundreds of MiB, so no `String` per field or line.

/// Date notation of a store's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateStyle {
    /// `2026-06-17` (US, UK).
    Iso,
    /// `17.06.2026` (DE).
    German,
}

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

pub(crate) fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Writes `value` with at least `width` digits, zero-padded.
pub(crate) fn push_padded(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut rest = value;
    while rest > 0 {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let start = at.min(digits.len() - width);
    out.extend_from_slice(&digits[start..]);
}

/// Writes minor units of a two-decimal currency: `-4.75`, `1141,18`. Always exactly two
/// decimals and never a thousands separator, so no amount is ambiguous under tieout's
/// per-value rule (one separator followed by exactly three digits).
pub(crate) fn push_amount(out: &mut Vec<u8>, amount_minor: i64, decimal: u8) {
    if amount_minor < 0 {
        out.push(b'-');
    }
    let units = amount_minor.unsigned_abs();
    push_u64(out, units / 100);
    out.push(decimal);
    push_padded(out, units % 100, 2);
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes the UTC date of a Unix timestamp.
pub(crate) fn push_date(out: &mut Vec<u8>, seconds: i64, style: DateStyle) {
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    match style {
        DateStyle::Iso => {
            push_padded(out, year as u64, 4);
            out.push(b'-');
            push_padded(out, month as u64, 2);
            out.push(b'-');
            push_padded(out, day as u64, 2);
        }
        DateStyle::German => {
            push_padded(out, day as u64, 2);
            out.push(b'.');
            push_padded(out, month as u64, 2);
            out.push(b'.');
            push_padded(out, year as u64, 4);
        }
    }
}

/// Writes `<date> HH:MM:SS UTC`, the settlement files' datetime notation.
pub(crate) fn push_datetime(out: &mut Vec<u8>, seconds: i64, style: DateStyle) {
    push_date(out, seconds, style);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY) as u64;
    out.push(b' ');
    push_padded(out, of_day / 3_600, 2);
    out.push(b':');
    push_padded(out, of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, of_day % 60, 2);
    out.extend_from_slice(b" UTC");
}

/// Writes the midnight of a timestamp's day, as real files write `posted-date`.
pub(crate) fn push_day_start(out: &mut Vec<u8>, seconds: i64, style: DateStyle) {
    push_datetime(out, seconds - seconds.rem_euclid(SECONDS_PER_DAY), style);
}

/// Writes a packed Amazon order id (17 digits) as `NNN-NNNNNNN-NNNNNNN`.
pub(crate) fn push_order_id(out: &mut Vec<u8>, packed: u64) {
    push_padded(out, packed / 100_000_000_000_000, 3);
    out.push(b'-');
    push_padded(out, packed / 10_000_000 % 10_000_000, 7);
    out.push(b'-');
    push_padded(out, packed % 10_000_000, 7);
}

#[cfg(test)]
pub(crate) fn order_id_text(packed: u64) -> String {
    let mut out = Vec::with_capacity(19);
    push_order_id(&mut out, packed);
    String::from_utf8(out).expect("digits and dashes")
}

const BASE36: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A shipment id like `DS7K9LM2P` from a random word.
pub(crate) fn push_shipment_id(out: &mut Vec<u8>, mut random: u64) {
    for _ in 0..9 {
        out.push(BASE36[(random % 36) as usize]);
        random /= 36;
    }
}

/// An adjustment id like `amzn1:crow:0UcGz5LNTCm+rGIQEkAv5g` from a random word.
pub(crate) fn push_adjustment_id(out: &mut Vec<u8>, random: u64) {
    out.extend_from_slice(b"amzn1:crow:");
    let mut word = random;
    for index in 0..22 {
        if index == 11 {
            word = crate::rng::finalize(random ^ 0xa5a5_a5a5_a5a5_a5a5);
        }
        out.push(BASE64[(word % 64) as usize]);
        word /= 64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn amounts() {
        assert_eq!(text(|o| push_amount(o, 114_118, b',')), "1141,18");
        assert_eq!(text(|o| push_amount(o, -475, b',')), "-4,75");
        assert_eq!(text(|o| push_amount(o, 505, b'.')), "5.05");
        assert_eq!(text(|o| push_amount(o, -5, b'.')), "-0.05");
        assert_eq!(text(|o| push_amount(o, 0, b'.')), "0.00");
        assert_eq!(text(|o| push_amount(o, 123_456_789, b'.')), "1234567.89");
    }

    #[test]
    fn dates_agree_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-800..40_000).step_by(7) {
            let date = epoch + chrono::Duration::days(days);
            assert_eq!(civil_from_days(days), (date.year() as i64, date.month(), date.day()), "{date}");
        }
        let seconds = (NaiveDate::from_ymd_opt(2023, 3, 14).unwrap() - epoch).num_seconds() + 7 * 3600 + 49 * 60 + 55;
        assert_eq!(text(|o| push_datetime(o, seconds, DateStyle::German)), "14.03.2023 07:49:55 UTC");
        assert_eq!(text(|o| push_datetime(o, seconds, DateStyle::Iso)), "2023-03-14 07:49:55 UTC");
        assert_eq!(text(|o| push_day_start(o, seconds, DateStyle::Iso)), "2023-03-14 00:00:00 UTC");
    }

    #[test]
    fn ids() {
        assert_eq!(order_id_text(11_488_293_714_410_258), "114-8829371-4410258");
        assert_eq!(order_id_text(200_000_010_000_002), "002-0000001-0000002");
        assert_eq!(text(|o| push_shipment_id(o, 12345)).len(), 9);
        let adjustment = text(|o| push_adjustment_id(o, 987_654_321));
        assert!(adjustment.starts_with("amzn1:crow:") && adjustment.len() == 33, "{adjustment}");
    }
}
