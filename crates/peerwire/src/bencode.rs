//! Just enough bencode for BEP 10 handshakes: a bounded pull reader and a few writers.
//!
//! The reader never builds a tree. The handshake decoder pulls the keys it knows and skips the
//! rest, so memory use is independent of what a peer stuffs into unknown keys, and nesting is
//! capped so a payload of `llll…` cannot exhaust the stack.
//!
//! Syntax is strict (canonical integers and lengths, no duplicate keys, nothing after the
//! top-level value); key *order* is not checked, because the dictionary is never hashed and
//! refusing an unsorted but unambiguous handshake would only lose peers.

use std::collections::HashSet;

use crate::BencodeError;

/// Deepest nesting of lists and dictionaries accepted; real handshakes use two levels.
pub(crate) const MAX_DEPTH: usize = 32;

/// The bencode type of the next value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Bytes,
    List,
    Dict,
}

/// Cursor over one bencoded input.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { input, pos: 0 }
    }

    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::UnexpectedEnd { offset: self.pos })
    }

    /// The type of the next value, without consuming it.
    pub(crate) fn kind(&self) -> Result<Kind, BencodeError> {
        match self.peek()? {
            b'i' => Ok(Kind::Int),
            b'0'..=b'9' => Ok(Kind::Bytes),
            b'l' => Ok(Kind::List),
            b'd' => Ok(Kind::Dict),
            byte => Err(BencodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            }),
        }
    }

    fn expect(&mut self, wanted: u8) -> Result<(), BencodeError> {
        let byte = self.peek()?;
        if byte != wanted {
            return Err(BencodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            });
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes the `d` opening a dictionary.
    pub(crate) fn begin_dict(&mut self) -> Result<(), BencodeError> {
        self.expect(b'd')
    }

    /// Whether the current list or dictionary ends here; consumes the `e` if so.
    pub(crate) fn at_end(&mut self) -> Result<bool, BencodeError> {
        if self.peek()? == b'e' {
            self.pos += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Fails unless the whole input has been consumed.
    pub(crate) fn finish(&self) -> Result<(), BencodeError> {
        let count = self.input.len() - self.pos;
        if count == 0 {
            Ok(())
        } else {
            Err(BencodeError::TrailingBytes {
                offset: self.pos,
                count,
            })
        }
    }

    /// Digits up to `terminator`, canonical (no leading zero unless the number is 0, no `-0`).
    fn number(&mut self, terminator: u8, allow_negative: bool) -> Result<i64, BencodeError> {
        let start = self.pos;
        let bad = BencodeError::BadNumber { offset: start };
        let negative = allow_negative && self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        let mut magnitude: i64 = 0;
        loop {
            let byte = self.peek()?;
            match byte {
                b'0'..=b'9' => {
                    magnitude = magnitude
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(i64::from(byte - b'0')))
                        .ok_or_else(|| bad.clone())?;
                    self.pos += 1;
                }
                _ if byte == terminator => break,
                _ => {
                    return Err(BencodeError::UnexpectedByte {
                        offset: self.pos,
                        byte,
                    });
                }
            }
        }
        let digits = &self.input[digits_start..self.pos];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if digits.is_empty() || leading_zero || (negative && magnitude == 0) {
            return Err(bad);
        }
        self.pos += 1; // terminator
        // i64::MIN is not reachable this way; refusing it costs nothing real.
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// An integer value `i…e`.
    pub(crate) fn int(&mut self) -> Result<i64, BencodeError> {
        self.expect(b'i')?;
        self.number(b'e', true)
    }

    /// A byte string value `<len>:<bytes>`, borrowed from the input.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], BencodeError> {
        let offset = self.pos;
        match self.peek()? {
            b'0'..=b'9' => {}
            byte => return Err(BencodeError::UnexpectedByte { offset, byte }),
        }
        let declared = self.number(b':', false)?;
        let remaining = self.input.len() - self.pos;
        // `number` without a sign never returns a negative value.
        let len = u64::try_from(declared).unwrap_or(u64::MAX);
        let take = usize::try_from(len)
            .ok()
            .filter(|take| *take <= remaining)
            .ok_or(BencodeError::StringTooLong { offset, len })?;
        let value = &self.input[self.pos..self.pos + take];
        self.pos += take;
        Ok(value)
    }

    /// Reads a dictionary key and records it for duplicate detection.
    pub(crate) fn key(&mut self, seen: &mut KeySet<'a>) -> Result<&'a [u8], BencodeError> {
        let offset = self.pos;
        let key = self.bytes()?;
        seen.insert(key, offset)?;
        Ok(key)
    }

    /// Validates and steps over one value of any type. `depth` is the nesting level of the
    /// container holding it (the top-level value is at depth 0).
    pub(crate) fn skip(&mut self, depth: usize) -> Result<(), BencodeError> {
        match self.kind()? {
            Kind::Int => self.int().map(drop),
            Kind::Bytes => self.bytes().map(drop),
            Kind::List | Kind::Dict => {
                let offset = self.pos;
                if depth >= MAX_DEPTH {
                    return Err(BencodeError::TooDeep {
                        offset,
                        max: MAX_DEPTH,
                    });
                }
                let is_dict = self.kind()? == Kind::Dict;
                self.pos += 1;
                let mut seen = KeySet::default();
                while !self.at_end()? {
                    if is_dict {
                        self.key(&mut seen)?;
                    }
                    self.skip(depth + 1)?;
                }
                Ok(())
            }
        }
    }
}

/// The keys of one dictionary, to refuse duplicates in any order.
///
/// A hash set keeps this linear for a hostile dictionary of hundreds of thousands of keys in
/// reverse order, where keeping a sorted list would be quadratic.
#[derive(Default)]
pub(crate) struct KeySet<'a> {
    keys: HashSet<&'a [u8]>,
}

impl<'a> KeySet<'a> {
    fn insert(&mut self, key: &'a [u8], offset: usize) -> Result<(), BencodeError> {
        if self.keys.insert(key) {
            Ok(())
        } else {
            Err(BencodeError::DuplicateKey { offset })
        }
    }
}

/// Appends `i<value>e`.
pub(crate) fn put_int(out: &mut Vec<u8>, value: i64) {
    out.push(b'i');
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(input: &[u8]) -> Result<(), BencodeError> {
        let mut reader = Reader::new(input);
        reader.skip(0)?;
        reader.finish()
    }

    #[test]
    fn accepts_canonical_values() {
        for input in [
            &b"i0e"[..],
            b"i-42e",
            b"i9223372036854775807e",
            b"0:",
            b"4:spam",
            b"le",
            b"li1e3:abce",
            b"d1:ai1e1:bli2eee",
            b"d1:bi1e1:ai2ee", // unsorted keys are tolerated
        ] {
            assert_eq!(
                skip_all(input),
                Ok(()),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn refuses_non_canonical_numbers() {
        // Integers report the offset after `i`, string lengths their first digit.
        for (input, offset) in [
            (&b"i-0e"[..], 1),
            (b"i03e", 1),
            (b"ie", 1),
            (b"i-e", 1),
            (b"i9223372036854775808e", 1),
            (b"01:a", 0),
        ] {
            assert_eq!(
                skip_all(input),
                Err(BencodeError::BadNumber { offset }),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            skip_all(b"i1x"),
            Err(BencodeError::UnexpectedByte {
                offset: 2,
                byte: b'x'
            })
        );
    }

    #[test]
    fn refuses_truncation_overlong_strings_and_trailing_bytes() {
        assert_eq!(
            skip_all(b"d1:a"),
            Err(BencodeError::UnexpectedEnd { offset: 4 })
        );
        assert_eq!(
            skip_all(b"5:abc"),
            Err(BencodeError::StringTooLong { offset: 0, len: 5 })
        );
        assert_eq!(
            skip_all(b"99999999999999999999:"),
            Err(BencodeError::BadNumber { offset: 0 })
        );
        assert_eq!(
            skip_all(b"i1ei2e"),
            Err(BencodeError::TrailingBytes {
                offset: 3,
                count: 3
            })
        );
    }

    #[test]
    fn refuses_duplicate_keys_and_non_string_keys() {
        assert_eq!(
            skip_all(b"d1:ai1e1:bi2e1:ai3ee"),
            Err(BencodeError::DuplicateKey { offset: 13 })
        );
        assert_eq!(
            skip_all(b"di1ei2ee"),
            Err(BencodeError::UnexpectedByte {
                offset: 1,
                byte: b'i'
            })
        );
    }

    #[test]
    fn nesting_is_capped() {
        let ok = [b"l".repeat(MAX_DEPTH), b"e".repeat(MAX_DEPTH)].concat();
        assert_eq!(skip_all(&ok), Ok(()));
        let deep = [b"l".repeat(MAX_DEPTH + 1), b"e".repeat(MAX_DEPTH + 1)].concat();
        assert_eq!(
            skip_all(&deep),
            Err(BencodeError::TooDeep {
                offset: MAX_DEPTH,
                max: MAX_DEPTH
            })
        );
        // A megabyte of openers fails fast instead of recursing a million times.
        let hostile = b"l".repeat(1 << 20);
        assert!(matches!(
            skip_all(&hostile),
            Err(BencodeError::TooDeep { .. })
        ));
    }

    #[test]
    fn writers_produce_canonical_forms() {
        let mut out = Vec::new();
        put_int(&mut out, -7);
        put_int(&mut out, 0);
        put_bytes(&mut out, b"");
        put_bytes(&mut out, b"spam");
        assert_eq!(out, b"i-7ei0e0:4:spam");
    }
}
