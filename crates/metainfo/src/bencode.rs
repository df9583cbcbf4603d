//! Strict bencode (BEP 3): a decoder that accepts only the canonical encoding, and an encoder
//! that only produces it.
//!
//! Strictness is what makes info-hashes trustworthy: if two different byte strings could decode
//! to the same dictionary, a torrent could be re-encoded by a peer or a tool into bytes with a
//! different hash while "meaning" the same thing. Because the decoder refuses every
//! non-canonical form (leading zeros, `-0`, unsorted or duplicate keys, trailing bytes),
//! `encode(decode(b)) == b` for every accepted `b`.
//!
//! Two ways in:
//! - [`decode`] builds a [`Value`] tree, convenient for small messages (tracker responses,
//!   extension handshakes).
//! - [`parse_raw`] validates the whole input without allocating and returns a [`Raw`] cursor to
//!   walk it lazily. The torrent parser uses this so that a 64 MiB hostile input cannot make us
//!   allocate gigabytes of tree nodes, and so that exact byte spans (the info dict) come for free.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// Deepest nesting of lists and dictionaries we accept. Real torrents need about 3 + the depth of
/// their deepest path; the limit keeps recursion (and stack use) bounded on hostile input.
pub const MAX_DEPTH: usize = 64;

/// A decoded bencode value borrowing its strings from the input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value<'a> {
    /// `i<digits>e`, within `i64`.
    Int(i64),
    /// `<len>:<bytes>`; not necessarily UTF-8.
    Bytes(&'a [u8]),
    /// `l...e`.
    List(Vec<Value<'a>>),
    /// `d...e` with keys in strictly increasing byte order.
    Dict(BTreeMap<&'a [u8], Value<'a>>),
}

impl<'a> Value<'a> {
    /// Looks up `key` if this is a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Dict(map) => map.get(key.as_bytes()),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The byte string as UTF-8, if this is a byte string and valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&BTreeMap<&'a [u8], Value<'a>>> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
}

/// Why bytes are not canonical bencode. Every variant carries the byte offset where the
/// problem was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BencodeError {
    /// Input ended inside a value.
    #[error("truncated input: value at byte {at} runs past the end")]
    Truncated {
        /// Offset of the incomplete value or token.
        at: usize,
    },
    /// A byte that cannot start or continue a value here.
    #[error("unexpected byte 0x{byte:02x} at byte {at}")]
    UnexpectedByte {
        /// Offset of the byte.
        at: usize,
        /// The byte.
        byte: u8,
    },
    /// An integer or length with a superfluous leading zero.
    #[error("leading zero in number at byte {at}")]
    LeadingZero {
        /// Offset of the number.
        at: usize,
    },
    /// `i-0e`.
    #[error("negative zero at byte {at}")]
    NegativeZero {
        /// Offset of the integer.
        at: usize,
    },
    /// `ie`, `i-e` or `:` without digits.
    #[error("number without digits at byte {at}")]
    EmptyNumber {
        /// Offset of the number.
        at: usize,
    },
    /// An integer outside `i64`, or a string length outside `usize`.
    #[error("number out of range at byte {at}")]
    Overflow {
        /// Offset of the number.
        at: usize,
    },
    /// A dictionary key that is not a byte string.
    #[error("dictionary key at byte {at} is not a byte string")]
    NonStringKey {
        /// Offset of the key.
        at: usize,
    },
    /// A dictionary key not greater than the previous one.
    #[error("dictionary keys out of order at byte {at} (keys must be sorted as raw bytes)")]
    UnsortedKeys {
        /// Offset of the offending key.
        at: usize,
    },
    /// The same key twice in one dictionary.
    #[error("duplicate dictionary key at byte {at}")]
    DuplicateKey {
        /// Offset of the second occurrence.
        at: usize,
    },
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} at byte {at}")]
    TooDeep {
        /// Offset of the list or dictionary that went too deep.
        at: usize,
    },
    /// Bytes left after the top-level value.
    #[error("trailing data after the value, starting at byte {at}")]
    TrailingData {
        /// Offset of the first extra byte.
        at: usize,
    },
}

/// Decodes exactly one value that must span the whole input.
pub fn decode(bytes: &[u8]) -> Result<Value<'_>, BencodeError> {
    let (value, used) = decode_prefix(bytes)?;
    if used != bytes.len() {
        return Err(BencodeError::TrailingData { at: used });
    }
    Ok(value)
}

/// Like [`decode`], but dictionary keys may come in any order. For replies from programs we do not
/// control (HTTP trackers) whose meaning, not whose bytes, we need; never for anything that is hashed
/// or signed. Duplicate keys are still refused: which one would count is ambiguous.
pub fn decode_unordered(bytes: &[u8]) -> Result<Value<'_>, BencodeError> {
    let mut p = Parser {
        buf: bytes,
        pos: 0,
        unordered: true,
    };
    let value = p.value(0)?;
    if p.pos != bytes.len() {
        return Err(BencodeError::TrailingData { at: p.pos });
    }
    Ok(value)
}

/// Decodes one value at the start of `bytes` and returns it with the number of bytes it used.
/// For messages that carry a bencoded header followed by raw data (BEP 9 `ut_metadata`).
pub fn decode_prefix(bytes: &[u8]) -> Result<(Value<'_>, usize), BencodeError> {
    let mut p = Parser {
        buf: bytes,
        pos: 0,
        unordered: false,
    };
    let v = p.value(0)?;
    Ok((v, p.pos))
}

/// Validates that `bytes` is exactly one canonical value, without building a tree.
pub fn validate(bytes: &[u8]) -> Result<(), BencodeError> {
    parse_raw(bytes).map(|_| ())
}

/// Validates the whole input (one value, nothing after it) and returns a lazy cursor over it.
pub fn parse_raw(bytes: &[u8]) -> Result<Raw<'_>, BencodeError> {
    let mut p = Parser {
        buf: bytes,
        pos: 0,
        unordered: false,
    };
    p.skip(0)?;
    if p.pos != bytes.len() {
        return Err(BencodeError::TrailingData { at: p.pos });
    }
    Ok(Raw {
        src: bytes,
        start: 0,
        end: bytes.len(),
    })
}

/// The byte range, within `bytes`, of the value stored under `key` in the top-level dictionary.
/// This is how the exact `info` bytes are found for hashing. `Ok(None)` if the key is absent.
pub fn dict_value_span(bytes: &[u8], key: &[u8]) -> Result<Option<Range<usize>>, BencodeError> {
    let raw = parse_raw(bytes)?;
    Ok(raw
        .dict()
        .and_then(|mut d| d.find(|(k, _)| *k == key))
        .map(|(_, v)| v.span()))
}

/// Canonical encoding of `value` (dictionary keys come out sorted because the map is sorted).
pub fn encode(value: &Value<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Int(i) => write_int(out, *i),
        Value::Bytes(b) => write_bytes(out, b),
        Value::List(items) => {
            out.push(b'l');
            for item in items {
                encode_into(item, out);
            }
            out.push(b'e');
        }
        Value::Dict(map) => {
            out.push(b'd');
            for (k, v) in map {
                write_bytes(out, k);
                encode_into(v, out);
            }
            out.push(b'e');
        }
    }
}

/// Appends `i<n>e`.
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    out.extend_from_slice(n.to_string().as_bytes());
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}

/// A validated value inside a larger input: cheap to copy, walks its children lazily.
#[derive(Clone, Copy)]
pub struct Raw<'a> {
    src: &'a [u8],
    start: usize,
    end: usize,
}

impl fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Raw({}..{})", self.start, self.end)
    }
}

/// The kind of a [`Raw`] value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `i...e`
    Int,
    /// `<len>:...`
    Bytes,
    /// `l...e`
    List,
    /// `d...e`
    Dict,
}

impl<'a> Raw<'a> {
    /// The encoded bytes of this value (exactly as in the input).
    pub fn encoded(&self) -> &'a [u8] {
        self.src.get(self.start..self.end).unwrap_or_default()
    }

    /// Where this value sits in the input given to [`parse_raw`].
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }

    /// What kind of value this is.
    pub fn kind(&self) -> Kind {
        match self.encoded().first() {
            Some(b'i') => Kind::Int,
            Some(b'l') => Kind::List,
            Some(b'd') => Kind::Dict,
            _ => Kind::Bytes,
        }
    }

    /// The integer, if this is one.
    pub fn int(&self) -> Option<i64> {
        if self.kind() != Kind::Int {
            return None;
        }
        let mut p = Parser {
            buf: self.src,
            pos: self.start,
            unordered: false,
        };
        p.int().ok()
    }

    /// The byte string, if this is one.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        if self.kind() != Kind::Bytes {
            return None;
        }
        let mut p = Parser {
            buf: self.src,
            pos: self.start,
            unordered: false,
        };
        p.string().ok()
    }

    /// The list's items, if this is a list.
    pub fn list(&self) -> Option<RawList<'a>> {
        (self.kind() == Kind::List).then_some(RawList {
            parser: Parser {
                buf: self.src,
                pos: self.start + 1,
                unordered: false,
            },
        })
    }

    /// The dictionary's entries in key order, if this is a dictionary.
    pub fn dict(&self) -> Option<RawDict<'a>> {
        (self.kind() == Kind::Dict).then_some(RawDict {
            parser: Parser {
                buf: self.src,
                pos: self.start + 1,
                unordered: false,
            },
        })
    }

    /// Value of `key` if this is a dictionary that has it.
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        let key = key.as_bytes();
        self.dict()?
            .take_while(|(k, _)| *k <= key)
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// Builds the owned tree for this value (for small sub-values only).
    pub fn to_value(&self) -> Option<Value<'a>> {
        let mut p = Parser {
            buf: self.src,
            pos: self.start,
            unordered: false,
        };
        p.value(0).ok()
    }
}

/// Iterator over a [`Raw`] list.
pub struct RawList<'a> {
    parser: Parser<'a>,
}

impl<'a> Iterator for RawList<'a> {
    type Item = Raw<'a>;

    fn next(&mut self) -> Option<Raw<'a>> {
        let p = &mut self.parser;
        if p.peek()? == b'e' {
            return None;
        }
        let start = p.pos;
        // The input was validated as a whole, so this cannot fail; if it somehow did, ending
        // the iteration is the safe answer.
        p.skip(0).ok()?;
        Some(Raw {
            src: p.buf,
            start,
            end: p.pos,
        })
    }
}

/// Iterator over a [`Raw`] dictionary's `(key, value)` pairs, in key order.
pub struct RawDict<'a> {
    parser: Parser<'a>,
}

impl<'a> Iterator for RawDict<'a> {
    type Item = (&'a [u8], Raw<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let p = &mut self.parser;
        if p.peek()? == b'e' {
            return None;
        }
        let key = p.string().ok()?;
        let start = p.pos;
        p.skip(0).ok()?;
        Some((
            key,
            Raw {
                src: p.buf,
                start,
                end: p.pos,
            },
        ))
    }
}

#[derive(Clone)]
struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Accept dictionary keys in any order (still no duplicates). Only for [`decode_unordered`].
    unordered: bool,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Result<u8, BencodeError> {
        let b = self
            .peek()
            .ok_or(BencodeError::Truncated { at: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        match self.peek() {
            None => Err(BencodeError::Truncated { at: self.pos }),
            Some(b'i') => self.int().map(Value::Int),
            Some(b'0'..=b'9') => self.string().map(Value::Bytes),
            Some(b'l') => {
                let at = self.pos;
                let depth = enter(depth, at)?;
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek_or_truncated(at)? != b'e' {
                    items.push(self.value(depth)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            Some(b'd') => {
                let at = self.pos;
                let depth = enter(depth, at)?;
                self.pos += 1;
                let mut map = BTreeMap::new();
                let mut prev: Option<&[u8]> = None;
                while self.peek_or_truncated(at)? != b'e' {
                    let key_at = self.pos;
                    let key = self.key(if self.unordered { None } else { prev })?;
                    let v = self.value(depth)?;
                    if map.insert(key, v).is_some() {
                        return Err(BencodeError::DuplicateKey { at: key_at });
                    }
                    prev = Some(key);
                }
                self.pos += 1;
                Ok(Value::Dict(map))
            }
            Some(byte) => Err(BencodeError::UnexpectedByte { at: self.pos, byte }),
        }
    }

    /// Same grammar as [`Self::value`] without building anything.
    fn skip(&mut self, depth: usize) -> Result<(), BencodeError> {
        match self.peek() {
            None => Err(BencodeError::Truncated { at: self.pos }),
            Some(b'i') => self.int().map(drop),
            Some(b'0'..=b'9') => self.string().map(drop),
            Some(b'l') => {
                let at = self.pos;
                let depth = enter(depth, at)?;
                self.pos += 1;
                while self.peek_or_truncated(at)? != b'e' {
                    self.skip(depth)?;
                }
                self.pos += 1;
                Ok(())
            }
            Some(b'd') => {
                let at = self.pos;
                let depth = enter(depth, at)?;
                self.pos += 1;
                let mut prev: Option<&[u8]> = None;
                while self.peek_or_truncated(at)? != b'e' {
                    let key = self.key(prev)?;
                    self.skip(depth)?;
                    prev = Some(key);
                }
                self.pos += 1;
                Ok(())
            }
            Some(byte) => Err(BencodeError::UnexpectedByte { at: self.pos, byte }),
        }
    }

    fn peek_or_truncated(&self, container_at: usize) -> Result<u8, BencodeError> {
        self.peek()
            .ok_or(BencodeError::Truncated { at: container_at })
    }

    fn key(&mut self, prev: Option<&[u8]>) -> Result<&'a [u8], BencodeError> {
        let at = self.pos;
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(BencodeError::NonStringKey { at });
        }
        let key = self.string()?;
        if let Some(prev) = prev {
            match prev.cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Err(BencodeError::DuplicateKey { at }),
                std::cmp::Ordering::Greater => return Err(BencodeError::UnsortedKeys { at }),
            }
        }
        Ok(key)
    }

    fn int(&mut self) -> Result<i64, BencodeError> {
        let at = self.pos;
        if self.next_byte()? != b'i' {
            return Err(BencodeError::UnexpectedByte {
                at,
                byte: self.buf.get(at).copied().unwrap_or_default(),
            });
        }
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits_at = self.pos;
        // Accumulate as a negative number so that i64::MIN parses.
        let mut acc: i64 = 0;
        loop {
            let pos = self.pos;
            match self.next_byte()? {
                b'e' => break,
                d @ b'0'..=b'9' => {
                    if pos > digits_at && self.buf.get(digits_at) == Some(&b'0') {
                        return Err(BencodeError::LeadingZero { at });
                    }
                    acc = acc
                        .checked_mul(10)
                        .and_then(|a| a.checked_sub(i64::from(d - b'0')))
                        .ok_or(BencodeError::Overflow { at })?;
                }
                byte => return Err(BencodeError::UnexpectedByte { at: pos, byte }),
            }
        }
        if self.pos - 1 == digits_at {
            return Err(BencodeError::EmptyNumber { at });
        }
        if negative {
            if acc == 0 {
                return Err(BencodeError::NegativeZero { at });
            }
            Ok(acc)
        } else {
            acc.checked_neg().ok_or(BencodeError::Overflow { at })
        }
    }

    fn string(&mut self) -> Result<&'a [u8], BencodeError> {
        let at = self.pos;
        let mut len: usize = 0;
        loop {
            let pos = self.pos;
            match self.next_byte()? {
                b':' => break,
                d @ b'0'..=b'9' => {
                    if pos > at && self.buf.get(at) == Some(&b'0') {
                        return Err(BencodeError::LeadingZero { at });
                    }
                    len = len
                        .checked_mul(10)
                        .and_then(|l| l.checked_add(usize::from(d - b'0')))
                        .ok_or(BencodeError::Overflow { at })?;
                }
                byte => return Err(BencodeError::UnexpectedByte { at: pos, byte }),
            }
        }
        if self.pos - 1 == at {
            return Err(BencodeError::EmptyNumber { at });
        }
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.buf.len())
            .ok_or(BencodeError::Truncated { at })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

fn enter(depth: usize, at: usize) -> Result<usize, BencodeError> {
    let depth = depth + 1;
    if depth > MAX_DEPTH {
        Err(BencodeError::TooDeep { at })
    } else {
        Ok(depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> BencodeError {
        decode(input).expect_err("must be rejected")
    }

    #[test]
    fn decodes_all_types() {
        let v = decode(b"d1:ai-42e1:bl3:xyzi0eee").unwrap();
        assert_eq!(v.get("a").and_then(Value::as_int), Some(-42));
        let list = v.get("b").and_then(Value::as_list).unwrap();
        assert_eq!(list[0].as_bytes(), Some(&b"xyz"[..]));
        assert_eq!(list[1].as_int(), Some(0));
    }

    #[test]
    fn integer_limits() {
        assert_eq!(
            decode(b"i9223372036854775807e").unwrap(),
            Value::Int(i64::MAX)
        );
        assert_eq!(
            decode(b"i-9223372036854775808e").unwrap(),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            err(b"i9223372036854775808e"),
            BencodeError::Overflow { at: 0 }
        );
        assert_eq!(
            err(b"i-9223372036854775809e"),
            BencodeError::Overflow { at: 0 }
        );
    }

    #[test]
    fn rejects_non_canonical_numbers() {
        assert_eq!(err(b"i01e"), BencodeError::LeadingZero { at: 0 });
        assert_eq!(err(b"i-01e"), BencodeError::LeadingZero { at: 0 });
        assert_eq!(err(b"i-0e"), BencodeError::NegativeZero { at: 0 });
        assert_eq!(err(b"ie"), BencodeError::EmptyNumber { at: 0 });
        assert_eq!(err(b"i-e"), BencodeError::EmptyNumber { at: 0 });
        assert_eq!(err(b"01:a"), BencodeError::LeadingZero { at: 0 });
        assert_eq!(
            err(b":a"),
            BencodeError::UnexpectedByte { at: 0, byte: b':' }
        );
        assert!(decode(b"0:").is_ok());
        assert!(decode(b"i0e").is_ok());
    }

    #[test]
    fn rejects_bad_dicts() {
        assert_eq!(err(b"d1:bi1e1:ai2ee"), BencodeError::UnsortedKeys { at: 7 });
        assert_eq!(err(b"d1:ai1e1:ai2ee"), BencodeError::DuplicateKey { at: 7 });
        assert_eq!(err(b"di1ei2ee"), BencodeError::NonStringKey { at: 1 });
        // Keys sort as raw bytes: "B" (0x42) < "a" (0x61).
        assert!(decode(b"d1:Bi1e1:ai2ee").is_ok());
    }

    #[test]
    fn rejects_truncation_and_trailing_data() {
        assert!(matches!(err(b"l"), BencodeError::Truncated { .. }));
        assert!(matches!(err(b"5:abc"), BencodeError::Truncated { .. }));
        assert!(matches!(err(b"i12"), BencodeError::Truncated { .. }));
        assert!(matches!(err(b"d1:a"), BencodeError::Truncated { .. }));
        assert!(matches!(err(b""), BencodeError::Truncated { .. }));
        assert_eq!(err(b"i1ei2e"), BencodeError::TrailingData { at: 3 });
        assert!(matches!(
            err(b"99999999999999999999999:"),
            BencodeError::Overflow { .. }
        ));
    }

    #[test]
    fn depth_limit() {
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert!(decode(&ok).is_ok());
        assert!(validate(&ok).is_ok());
        let deep = [vec![b'l'; MAX_DEPTH + 1], vec![b'e'; MAX_DEPTH + 1]].concat();
        assert_eq!(
            decode(&deep).unwrap_err(),
            BencodeError::TooDeep { at: MAX_DEPTH }
        );
        assert_eq!(
            validate(&deep).unwrap_err(),
            BencodeError::TooDeep { at: MAX_DEPTH }
        );
    }

    #[test]
    fn raw_navigation_and_spans() {
        let input = b"d8:announce3:url4:infod4:name1:xe5:otheri7ee";
        let span = dict_value_span(input, b"info").unwrap().unwrap();
        assert_eq!(&input[span], b"d4:name1:xe");
        let raw = parse_raw(input).unwrap();
        assert_eq!(raw.get("other").and_then(|r| r.int()), Some(7));
        assert_eq!(
            raw.get("info")
                .and_then(|i| i.get("name"))
                .and_then(|n| n.bytes()),
            Some(&b"x"[..])
        );
        assert!(raw.get("missing").is_none());
        assert_eq!(dict_value_span(input, b"nope").unwrap(), None);
        let list = parse_raw(b"li1e3:abcle0:e").unwrap();
        let kinds: Vec<Kind> = list.list().unwrap().map(|r| r.kind()).collect();
        assert_eq!(kinds, [Kind::Int, Kind::Bytes, Kind::List, Kind::Bytes]);
    }

    #[test]
    fn prefix_decoding_reports_length() {
        let (v, used) = decode_prefix(b"d1:ai1eeRAWDATA").unwrap();
        assert_eq!(used, 8);
        assert_eq!(v.get("a").and_then(Value::as_int), Some(1));
    }

    #[test]
    fn unordered_decoding_accepts_any_key_order_but_not_duplicates() {
        let v = decode_unordered(b"d1:bi2e1:ai1ee").unwrap();
        assert_eq!(v.get("a").and_then(Value::as_int), Some(1));
        assert!(
            decode(b"d1:bi2e1:ai1ee").is_err(),
            "the strict decoder still refuses it"
        );
        assert!(matches!(
            decode_unordered(b"d1:ai1e1:ai2ee"),
            Err(BencodeError::DuplicateKey { .. })
        ));
        assert!(decode_unordered(b"d1:bi2e1:ai1eex").is_err());
    }

    #[test]
    fn encode_is_canonical() {
        let mut map = BTreeMap::new();
        map.insert(&b"zeta"[..], Value::Int(-3));
        map.insert(&b"alpha"[..], Value::List(vec![Value::Bytes(b"")]));
        let bytes = encode(&Value::Dict(map));
        assert_eq!(bytes, b"d5:alphal0:e4:zetai-3ee");
        assert_eq!(encode(&decode(&bytes).unwrap()), bytes);
    }
}
