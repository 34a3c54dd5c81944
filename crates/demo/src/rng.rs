//! Deterministic randomness, fixed forever: SplitMix64 and a keyed permutation.
//!
//! Both are written out here (no crate) because the demo month must stay byte-identical
//! for a seed across versions, platforms and dependency upgrades.

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 output function: a bijective mixer of 64 bits.
pub(crate) fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes two words into one (order matters).
pub(crate) fn hash2(a: u64, b: u64) -> u64 {
    finalize(finalize(a ^ 0x5851_f42d_4c95_7f2d) ^ b.wrapping_mul(GAMMA))
}

/// SplitMix64 (Steele, Lea, Flood 2014): one word of state, good enough statistics for
/// demo data, and trivially reproducible.
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        finalize(self.state)
    }

    /// A value in `0..n` by multiply-shift; the bias (below 2^-40 for the `n` used here)
    /// does not matter for demo data, and there is no rejection loop.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A value in `low..=high`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A keyed bijection of `0..size` (size at most 2^62): a four-round Feistel network on
/// the smallest even number of bits holding `size`, cycle-walked into the range. Turns
/// sequential indexes into unique, random-looking ids without remembering which ids
/// were used.
pub(crate) struct Permutation {
    keys: [u64; 4],
    size: u64,
    half_bits: u32,
}

impl Permutation {
    pub(crate) fn new(seed: u64, salt: u64, size: u64) -> Permutation {
        assert!(size > 1 && size <= 1 << 62, "permutation domain of 2..=2^62 values");
        let bits = u64::BITS - (size - 1).leading_zeros();
        let keys = [0, 1, 2, 3].map(|round| hash2(seed, salt.wrapping_mul(4).wrapping_add(round)));
        Permutation { keys, size, half_bits: bits.div_ceil(2) }
    }

    pub(crate) fn apply(&self, index: u64) -> u64 {
        assert!(index < self.size, "index inside the permutation's domain");
        // Cycle walking: the orbit of an in-range value returns into the range, so this
        // ends, and the result is a bijection of 0..size (under 4 rounds on average).
        let mut value = index;
        loop {
            value = self.feistel(value);
            if value < self.size {
                return value;
            }
        }
    }

    fn feistel(&self, value: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let mut left = value >> self.half_bits;
        let mut right = value & mask;
        for key in self.keys {
            let mixed = finalize(right ^ key) & mask;
            (left, right) = (right, left ^ mixed);
        }
        (left << self.half_bits) | right
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_fixed_forever() {
        // Published SplitMix64 reference values for seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn permutation_is_a_bijection() {
        for size in [2, 3, 5_000, 65_536, 100_003] {
            let permutation = Permutation::new(7, 1, size);
            let mut seen = vec![false; size as usize];
            for index in 0..size {
                let value = permutation.apply(index) as usize;
                assert!(!seen[value], "{value} twice");
                seen[value] = true;
            }
        }
    }
}
