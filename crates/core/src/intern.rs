//! A string interner: repeated text fields (transaction types, descriptions, SKUs,
//! marketplaces) become small integer symbols, so a settlement line is a fixed-size
//! record without per-field allocations. Each reader output carries its own interner.
//!
//! Strings live in one growing buffer (no allocation per string); look-up is by a 64-bit
//! hash with the text compared on a hit, and a second map for the (rare) texts whose hash
//! collides with another's.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A symbol in one [`Interner`]. `Sym::EMPTY` is the empty string in every interner.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Sym(pub u32);

impl Sym {
    pub const EMPTY: Sym = Sym(0);

    pub fn is_empty(self) -> bool {
        self == Sym::EMPTY
    }
}

/// Keys are already hashes: pass them through.
#[derive(Default, Clone, Debug)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | *byte as u64;
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type ByHash = HashMap<u64, Sym, BuildHasherDefault<IdentityHasher>>;

#[derive(Clone, Debug, Default)]
pub struct Interner {
    buffer: String,
    /// (start, end) of each symbol's text in `buffer`; index 0 is the empty string.
    spans: Vec<(u32, u32)>,
    by_hash: ByHash,
    /// Texts whose hash is taken by another text.
    collisions: HashMap<Box<str>, Sym>,
}

fn hash(text: &str) -> u64 {
    crate::records::stable_hash(text.as_bytes())
}

impl Interner {
    pub fn new() -> Interner {
        let mut interner = Interner::default();
        interner.spans.push((0, 0));
        interner.by_hash.insert(hash(""), Sym::EMPTY);
        interner
    }

    fn text_of(&self, sym: Sym) -> &str {
        let (start, end) = self.spans[sym.0 as usize];
        &self.buffer[start as usize..end as usize]
    }

    /// Returns the symbol for `text`, adding it when new.
    ///
    /// # Panics
    /// Past [`crate::limits::INTERNED_STRINGS_MAX`] strings or 4 GiB of text; readers
    /// bound their input far below both.
    pub fn intern(&mut self, text: &str) -> Sym {
        if self.spans.is_empty() {
            *self = Interner::new();
        }
        let key = hash(text);
        if let Some(&sym) = self.by_hash.get(&key) {
            if self.text_of(sym) == text {
                return sym;
            }
            if let Some(&sym) = self.collisions.get(text) {
                return sym;
            }
            let sym = self.push(text);
            self.collisions.insert(text.into(), sym);
            return sym;
        }
        let sym = self.push(text);
        self.by_hash.insert(key, sym);
        sym
    }

    fn push(&mut self, text: &str) -> Sym {
        assert!(self.spans.len() < crate::limits::INTERNED_STRINGS_MAX, "interner full");
        let start = self.buffer.len();
        self.buffer.push_str(text);
        let end = self.buffer.len();
        assert!(end <= u32::MAX as usize, "interner text over 4 GiB");
        let sym = Sym(self.spans.len() as u32);
        self.spans.push((start as u32, end as u32));
        sym
    }

    /// The text of a symbol of this interner.
    pub fn resolve(&self, sym: Sym) -> &str {
        if self.spans.is_empty() && sym == Sym::EMPTY {
            return "";
        }
        self.text_of(sym)
    }

    /// The symbol of `text` if it was interned.
    pub fn get(&self, text: &str) -> Option<Sym> {
        if text.is_empty() {
            return Some(Sym::EMPTY);
        }
        match self.by_hash.get(&hash(text)) {
            Some(&sym) if self.text_of(sym) == text => Some(sym),
            Some(_) => self.collisions.get(text).copied(),
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.spans.len().max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.spans.len() <= 1
    }

    /// Every (symbol, text) pair, in symbol order.
    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> {
        (0..self.len()).map(|index| (Sym(index as u32), self.resolve(Sym(index as u32))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn interning_is_stable() {
        let mut interner = Interner::new();
        let a = interner.intern("Order");
        let b = interner.intern("Refund");
        assert_eq!(interner.intern("Order"), a);
        assert_ne!(a, b);
        assert_eq!(interner.resolve(b), "Refund");
        assert_eq!(interner.intern(""), Sym::EMPTY);
        assert_eq!(interner.get("missing"), None);
        assert_eq!(interner.get("Refund"), Some(b));
    }

    #[test]
    fn default_interner_knows_the_empty_string() {
        let mut interner = Interner::default();
        assert_eq!(interner.resolve(Sym::EMPTY), "");
        assert_eq!(interner.intern(""), Sym::EMPTY);
        let x = interner.intern("x");
        assert_eq!(interner.resolve(x), "x");
    }

    #[test]
    fn colliding_hashes_keep_texts_apart() {
        let mut interner = Interner::new();
        let a = interner.intern("alpha");
        // Force a collision: file "beta" under alpha's hash.
        let beta = interner.push("beta");
        interner.collisions.insert("beta".into(), beta);
        interner.by_hash.insert(hash("beta"), a);
        assert_eq!(interner.intern("beta"), beta);
        assert_eq!(interner.get("beta"), Some(beta));
        let gamma = interner.intern("gamma");
        assert_eq!(interner.resolve(gamma), "gamma");
    }

    proptest! {
        #[test]
        fn every_text_resolves_to_itself(texts in prop::collection::vec("\\PC{0,12}", 0..50)) {
            let mut interner = Interner::new();
            let syms: Vec<Sym> = texts.iter().map(|t| interner.intern(t)).collect();
            for (text, sym) in texts.iter().zip(&syms) {
                prop_assert_eq!(interner.resolve(*sym), text.as_str());
                prop_assert_eq!(interner.intern(text), *sym);
            }
        }
    }
}
