//! The byte packing shared by the SQLite store's blocks (settlement lines in `blocks.rs`,
//! order results in `result_blocks.rs`): LEB128 varints, zigzag for signed numbers,
//! length-prefixed bytes; and a cursor that reads them back, checking every length.

use crate::StoreError;

pub(crate) fn put_varint(data: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        data.push(value as u8 | 0x80);
        value >>= 7;
    }
    data.push(value as u8);
}

pub(crate) fn put_signed(data: &mut Vec<u8>, value: i64) {
    put_varint(data, ((value << 1) ^ (value >> 63)) as u64);
}

pub(crate) fn put_bytes(data: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(data, bytes.len() as u64);
    data.extend_from_slice(bytes);
}

/// Reads packed values from `data`; a value cut short or malformed is a
/// [`StoreError::Corrupt`] naming `what` was being read.
pub(crate) struct Cursor<'b> {
    data: &'b [u8],
    at: usize,
    what: &'static str,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(data: &'b [u8], at: usize, what: &'static str) -> Cursor<'b> {
        Cursor { data, at, what }
    }

    pub(crate) fn corrupt(&self, message: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("{}: {message}", self.what))
    }

    /// Bytes not read yet.
    pub(crate) fn left(&self) -> usize {
        self.data.len() - self.at
    }

    pub(crate) fn byte(&mut self) -> Result<u8, StoreError> {
        let byte = *self.data.get(self.at).ok_or_else(|| self.corrupt("cut short"))?;
        self.at += 1;
        Ok(byte)
    }

    pub(crate) fn take<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let bytes = self.data.get(self.at..self.at + N).ok_or_else(|| self.corrupt("cut short"))?;
        self.at += N;
        Ok(bytes.try_into().expect("N bytes"))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, StoreError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt("a number longer than 64 bits"))
    }

    pub(crate) fn signed(&mut self) -> Result<i64, StoreError> {
        let raw = self.varint()?;
        Ok((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'b [u8], StoreError> {
        let length = usize::try_from(self.varint()?).map_err(|_| self.corrupt("a length beyond memory"))?;
        let end = self.at.checked_add(length).filter(|end| *end <= self.data.len());
        let end = end.ok_or_else(|| self.corrupt("a text longer than the block"))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }
}
