//! Order ids. Amazon's `NNN-NNNNNNN-NNNNNNN` ids (the vast majority of rows) pack into a
//! 64-bit integer, which keeps settlement lines narrow in memory and in the store; any
//! other id (an ERP's own order number, a Shopify name) is kept as text.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum OrderId {
    /// An Amazon order id, its 17 digits as one number (fits: 10^17 < 2^63).
    Amazon(u64),
    /// Any other order id, as written (trimmed).
    Text(Box<str>),
}

impl OrderId {
    /// Reads an order id; `None` for an empty field.
    pub fn parse(text: &str) -> Option<OrderId> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match pack_amazon(text.as_bytes()) {
            Some(packed) => OrderId::Amazon(packed),
            None => OrderId::Text(text.into()),
        })
    }

    /// The packed integer form, when this is an Amazon id.
    pub fn packed(&self) -> Option<u64> {
        match self {
            OrderId::Amazon(packed) => Some(*packed),
            OrderId::Text(_) => None,
        }
    }

    /// The text form, when this is not an Amazon id.
    pub fn text(&self) -> Option<&str> {
        match self {
            OrderId::Amazon(_) => None,
            OrderId::Text(text) => Some(text),
        }
    }

    /// Rebuilds an id from its stored parts (packed integer or text).
    pub fn from_parts(packed: Option<u64>, text: Option<&str>) -> Option<OrderId> {
        match (packed, text) {
            (Some(packed), _) if packed < AMAZON_PACKED_LIMIT => Some(OrderId::Amazon(packed)),
            (_, Some(text)) => OrderId::parse(text),
            _ => None,
        }
    }
}

const AMAZON_PACKED_LIMIT: u64 = 100_000_000_000_000_000;

/// Packs `DDD-DDDDDDD-DDDDDDD` into its 17 digits as a number.
fn pack_amazon(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != 19 || bytes[3] != b'-' || bytes[11] != b'-' {
        return None;
    }
    let mut value: u64 = 0;
    for (index, byte) in bytes.iter().enumerate() {
        if index == 3 || index == 11 {
            continue;
        }
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + (byte - b'0') as u64;
    }
    Some(value)
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderId::Amazon(packed) => {
                let digits = format!("{packed:017}");
                write!(f, "{}-{}-{}", &digits[..3], &digits[3..10], &digits[10..])
            }
            OrderId::Text(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amazon_ids_pack_and_print_back() {
        let id = OrderId::parse(" 114-8829371-4410258 ").unwrap();
        assert_eq!(id, OrderId::Amazon(11488293714410258));
        assert_eq!(id.to_string(), "114-8829371-4410258");
        let leading_zero = OrderId::parse("002-0000001-0000002").unwrap();
        assert_eq!(leading_zero.to_string(), "002-0000001-0000002");
    }

    #[test]
    fn other_ids_stay_text() {
        assert_eq!(OrderId::parse("SO-1001"), Some(OrderId::Text("SO-1001".into())));
        assert_eq!(OrderId::parse("114-8829371-441025X"), Some(OrderId::Text("114-8829371-441025X".into())));
        assert_eq!(OrderId::parse("  "), None);
    }

    proptest! {
        #[test]
        fn parse_display_round_trip(a in 0u32..1000, b in 0u32..10_000_000, c in 0u32..10_000_000) {
            let text = format!("{a:03}-{b:07}-{c:07}");
            let id = OrderId::parse(&text).unwrap();
            prop_assert!(id.packed().is_some());
            prop_assert_eq!(OrderId::from_parts(id.packed(), None), Some(id.clone()));
            prop_assert_eq!(id.to_string(), text);
        }
    }
}
