//! A string interner: repeated text fields (transaction types, descriptions, SKUs,
//! marketplaces) become small integer symbols, so a settlement line is a fixed-size
//! record without per-field allocations. Each reader output carries its own interner.

use std::collections::HashMap;

/// A symbol in one [`Interner`]. `Sym::EMPTY` is the empty string in every interner.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Sym(pub u32);

impl Sym {
    pub const EMPTY: Sym = Sym(0);

    pub fn is_empty(self) -> bool {
        self == Sym::EMPTY
    }
}

#[derive(Clone, Debug)]
pub struct Interner {
    strings: Vec<Box<str>>,
    lookup: HashMap<Box<str>, Sym>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner::new()
    }
}

impl Interner {
    pub fn new() -> Interner {
        let mut lookup = HashMap::new();
        lookup.insert(Box::<str>::from(""), Sym::EMPTY);
        Interner { strings: vec!["".into()], lookup }
    }

    /// Returns the symbol for `text`, adding it when new.
    ///
    /// # Panics
    /// Past [`crate::limits::INTERNED_STRINGS_MAX`] strings; readers bound their row
    /// count far below it.
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(sym) = self.lookup.get(text) {
            return *sym;
        }
        assert!(self.strings.len() < crate::limits::INTERNED_STRINGS_MAX, "interner full");
        let sym = Sym(self.strings.len() as u32);
        self.strings.push(text.into());
        self.lookup.insert(text.into(), sym);
        sym
    }

    /// The text of a symbol of this interner.
    pub fn resolve(&self, sym: Sym) -> &str {
        &self.strings[sym.0 as usize]
    }

    /// The symbol of `text` if it was interned.
    pub fn get(&self, text: &str) -> Option<Sym> {
        self.lookup.get(text).copied()
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }

    /// Every (symbol, text) pair, in symbol order.
    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> {
        self.strings.iter().enumerate().map(|(index, text)| (Sym(index as u32), &**text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
