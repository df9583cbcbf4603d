//! Which pieces a peer (or we) have, in the BEP 3 wire layout.
//!
//! The bits are kept exactly as they travel (high bit of byte 0 = piece 0, spare bits zero), so
//! sending our own bitfield or storing a peer's is a copy, not a conversion.

use bytes::Bytes;

use crate::WireError;

/// A set of piece indices below a fixed piece count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
    /// Number of set bits, maintained on every change so piece pickers and "is this peer a
    /// seed?" checks do not rescan the whole field.
    ones: u32,
}

impl Bitfield {
    /// `len` pieces, none set.
    pub fn new(len: u32) -> Bitfield {
        Bitfield {
            bytes: vec![0; byte_len(len)],
            len,
            ones: 0,
        }
    }

    /// `len` pieces, all set: a seed, or a peer that sent `have all`.
    pub fn full(len: u32) -> Bitfield {
        let mut bytes = vec![0xFF; byte_len(len)];
        if let Some(last) = bytes.last_mut() {
            *last &= !spare_mask(len);
        }
        Bitfield {
            bytes,
            len,
            ones: len,
        }
    }

    /// A bitfield received from a peer, checked like a `bitfield` message: exactly
    /// `ceil(len / 8)` bytes with the spare bits zero.
    pub fn from_bytes(bytes: &[u8], len: u32) -> Result<Bitfield, WireError> {
        let expected = byte_len(len);
        if bytes.len() != expected {
            return Err(WireError::BitfieldLength {
                expected,
                found: bytes.len(),
                piece_count: len,
            });
        }
        if bytes.last().is_some_and(|last| last & spare_mask(len) != 0) {
            return Err(WireError::BitfieldSpareBits { piece_count: len });
        }
        let ones = bytes.iter().map(|byte| byte.count_ones()).sum();
        Ok(Bitfield {
            bytes: bytes.to_vec(),
            len,
            ones,
        })
    }

    /// Number of pieces the field covers.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the field covers no piece at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether piece `index` is set; indices past the end are never set.
    pub fn get(&self, index: u32) -> bool {
        if index >= self.len {
            return false;
        }
        let (byte, mask) = position(index);
        self.bytes[byte] & mask != 0
    }

    /// Sets or clears piece `index` and returns its previous value.
    ///
    /// An index past the end is an error rather than a panic because indices usually come from
    /// peers; decoded messages have already been range-checked, so the engine may treat the error
    /// as a bug.
    pub fn set(&mut self, index: u32, value: bool) -> Result<bool, WireError> {
        if index >= self.len {
            return Err(WireError::PieceIndexOutOfRange {
                index,
                piece_count: self.len,
            });
        }
        let (byte, mask) = position(index);
        let was = self.bytes[byte] & mask != 0;
        match (was, value) {
            (false, true) => {
                self.bytes[byte] |= mask;
                self.ones += 1;
            }
            (true, false) => {
                self.bytes[byte] &= !mask;
                self.ones -= 1;
            }
            _ => {}
        }
        Ok(was)
    }

    /// Number of pieces set.
    pub fn count_ones(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is set (vacuously true for an empty field).
    pub fn is_complete(&self) -> bool {
        self.ones == self.len
    }

    /// The set piece indices in ascending order.
    pub fn iter_ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte != 0)
            .flat_map(|(at, &byte)| {
                // `at < byte_len(len) <= 2^29`, so the base index fits u32.
                let base = (at as u32) * 8;
                (0..8u32)
                    .filter(move |bit| byte & (0x80 >> bit) != 0)
                    .map(move |bit| base + bit)
            })
    }

    /// The field as it travels in a `bitfield` message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The field as a `bitfield` message payload.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(&self.bytes)
    }
}

fn byte_len(len: u32) -> usize {
    // Widening u32 -> usize.
    (len as usize).div_ceil(8)
}

/// Mask of the bits in the last byte that lie past piece `len - 1`.
fn spare_mask(len: u32) -> u8 {
    match len % 8 {
        0 => 0,
        used => 0xFF >> used,
    }
}

fn position(index: u32) -> (usize, u8) {
    ((index / 8) as usize, 0x80 >> (index % 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bep3_bit_order_high_bit_of_byte_zero_is_piece_zero() {
        let mut field = Bitfield::new(10);
        assert_eq!(field.set(0, true), Ok(false));
        assert_eq!(field.set(9, true), Ok(false));
        assert_eq!(field.as_bytes(), &[0b1000_0000, 0b0100_0000]);
        assert_eq!(field.count_ones(), 2);
        assert!(field.get(0) && field.get(9) && !field.get(1) && !field.get(8));
        assert_eq!(field.iter_ones().collect::<Vec<_>>(), vec![0, 9]);
    }

    #[test]
    fn set_reports_previous_value_and_keeps_count() {
        let mut field = Bitfield::new(3);
        assert_eq!(field.set(1, true), Ok(false));
        assert_eq!(field.set(1, true), Ok(true));
        assert_eq!(field.count_ones(), 1);
        assert_eq!(field.set(1, false), Ok(true));
        assert_eq!(field.set(1, false), Ok(false));
        assert_eq!(field.count_ones(), 0);
        assert_eq!(
            field.set(3, true),
            Err(WireError::PieceIndexOutOfRange {
                index: 3,
                piece_count: 3
            })
        );
        assert!(!field.get(3));
        assert!(!field.get(u32::MAX));
    }

    #[test]
    fn full_clears_spare_bits_and_is_complete() {
        let field = Bitfield::full(11);
        assert_eq!(field.as_bytes(), &[0xFF, 0b1110_0000]);
        assert!(field.is_complete());
        assert_eq!(field.count_ones(), 11);
        assert_eq!(Bitfield::from_bytes(field.as_bytes(), 11), Ok(field));
        let aligned = Bitfield::full(16);
        assert_eq!(aligned.as_bytes(), &[0xFF, 0xFF]);
        assert!(Bitfield::new(0).is_complete() && Bitfield::new(0).is_empty());
    }

    #[test]
    fn from_bytes_refuses_wrong_length_and_spare_bits() {
        assert_eq!(
            Bitfield::from_bytes(&[0xFF], 9),
            Err(WireError::BitfieldLength {
                expected: 2,
                found: 1,
                piece_count: 9
            })
        );
        assert_eq!(
            Bitfield::from_bytes(&[0xFF, 0xC0], 9),
            Err(WireError::BitfieldSpareBits { piece_count: 9 })
        );
        let ok = Bitfield::from_bytes(&[0x0F, 0x80], 9).unwrap();
        assert_eq!(ok.count_ones(), 5);
        assert!(!ok.is_complete());
        assert_eq!(ok.iter_ones().collect::<Vec<_>>(), vec![4, 5, 6, 7, 8]);
        assert_eq!(&ok.to_bytes()[..], &[0x0F, 0x80]);
    }
}
