//! Parsers for the query strings of announces and scrapes (BEP 3, 7, 23, 48) and for the passkey in
//! `/announce/<passkey>`.
//!
//! Everything here reads untrusted bytes straight off the network, so every input yields either a
//! value or a typed [`RequestError`] (whose Display text is sent back as the `failure reason`),
//! never a panic. The announce path runs tens of thousands of times a second, so a query is read in
//! one pass and percent-escapes are decoded into fixed arrays: an announce allocates nothing.
//!
//! The rules, in the order they are applied:
//! - a query longer than [`MAX_QUERY_LEN`] bytes is refused before anything else is looked at;
//! - pairs are separated by `&`, and empty pairs are skipped; a pair without `=` has an empty value;
//! - names are matched on their raw bytes, case-sensitively (clients never encode them), and unknown
//!   names are ignored without their values being looked at;
//! - values are percent-decoded strictly (`%` needs two hex digits of either case), `+` is a space,
//!   any other byte stands for itself;
//! - a known announce parameter given twice is refused; `info_hash` and `peer_id` must decode to
//!   exactly 20 bytes; numbers are 1 to 20 ASCII digits that fit their type; the port is not 0;
//! - a scrape only reads `info_hash`, which may repeat (BEP 48); repeated hashes count once.
//!
//! When a query breaks several rules, the first break met reading left to right is reported, and
//! missing parameters are reported only once the whole query has been read.

use thiserror::Error;

/// Longer query strings are refused outright: no client sends one, and it bounds the work per request.
pub const MAX_QUERY_LEN: usize = 2048;
/// Longest decoded `key` accepted; clients send 4 to 8 bytes, anything much longer is not a client.
pub const MAX_KEY_LEN: usize = 64;
/// Most info-hashes in one scrape.
///
/// With the `info_hash=` name and at least 20 bytes per value, no query within [`MAX_QUERY_LEN`]
/// holds more than 66 hashes, so today the length limit is what a client meets first; this cap
/// still bounds the reply should the length limit ever be raised.
pub const MAX_SCRAPE_HASHES: usize = 100;
/// Bytes in a passkey; its text form is twice as many lowercase hex digits.
pub const PASSKEY_LEN: usize = 16;

/// Most digits of a number; `u64::MAX` has 20, so more digits can only be leading zeros or overflow.
const MAX_DIGITS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    None,
    Started,
    Completed,
    Stopped,
    /// BEP 21: a partial seed that stopped downloading but still uploads.
    Paused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    /// Never 0: a peer that cannot be connected to must not be handed out.
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub event: Event,
    /// True unless the client asked for `compact=0` (BEP 23).
    pub compact: bool,
    pub no_peer_id: bool,
    pub numwant: Option<u32>,
    /// FNV-1a 64 of the decoded `key` (FNV-1a of nothing when absent): the key only needs to be
    /// compared, so a hash keeps the request free of heap data.
    pub key: u64,
}

/// Why a request was refused. The Display text is sent to the client as the `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("query string longer than {MAX_QUERY_LEN} bytes")]
    QueryTooLong,
    #[error("malformed percent-escape in query string")]
    BadEscape,
    #[error("missing parameter {0}")]
    Missing(&'static str),
    #[error("parameter {0} given twice")]
    Duplicate(&'static str),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("{name} must be 20 bytes, got {len}")]
    BadLength { name: &'static str, len: usize },
    #[error("full scrape is not offered by a private tracker")]
    FullScrapeRefused,
    #[error("too many info_hash values in one scrape (at most {MAX_SCRAPE_HASHES})")]
    TooManyHashes,
    #[error("unknown passkey")]
    BadPasskey,
}

/// Parses the query string of an announce (the bytes after `?`).
pub fn parse_announce(query: &[u8]) -> Result<AnnounceRequest, RequestError> {
    check_len(query)?;

    let mut info_hash = None;
    let mut peer_id = None;
    let mut port = None;
    let mut uploaded = None;
    let mut downloaded = None;
    let mut left = None;
    let mut event = None;
    let mut compact = None;
    let mut no_peer_id = None;
    let mut numwant = None;
    let mut key = None;

    for (name, value) in pairs(query) {
        match name {
            b"info_hash" => set(&mut info_hash, "info_hash", || {
                decode_20("info_hash", value)
            })?,
            b"peer_id" => set(&mut peer_id, "peer_id", || decode_20("peer_id", value))?,
            b"port" => set(&mut port, "port", || {
                match u16::try_from(decode_number("port", value)?) {
                    Ok(0) | Err(_) => Err(RequestError::Invalid("port")),
                    Ok(port) => Ok(port),
                }
            })?,
            b"uploaded" => set(&mut uploaded, "uploaded", || {
                decode_number("uploaded", value)
            })?,
            b"downloaded" => set(&mut downloaded, "downloaded", || {
                decode_number("downloaded", value)
            })?,
            b"left" => set(&mut left, "left", || decode_number("left", value))?,
            b"numwant" => set(&mut numwant, "numwant", || {
                u32::try_from(decode_number("numwant", value)?)
                    .map_err(|_| RequestError::Invalid("numwant"))
            })?,
            b"event" => set(&mut event, "event", || decode_event(value))?,
            b"compact" => set(&mut compact, "compact", || decode_flag("compact", value))?,
            b"no_peer_id" => set(&mut no_peer_id, "no_peer_id", || {
                decode_flag("no_peer_id", value)
            })?,
            b"key" => set(&mut key, "key", || decode_key(value))?,
            _ => {}
        }
    }

    Ok(AnnounceRequest {
        info_hash: info_hash.ok_or(RequestError::Missing("info_hash"))?,
        peer_id: peer_id.ok_or(RequestError::Missing("peer_id"))?,
        port: port.ok_or(RequestError::Missing("port"))?,
        uploaded: uploaded.ok_or(RequestError::Missing("uploaded"))?,
        downloaded: downloaded.ok_or(RequestError::Missing("downloaded"))?,
        left: left.ok_or(RequestError::Missing("left"))?,
        event: event.unwrap_or(Event::None),
        compact: compact.unwrap_or(true),
        no_peer_id: no_peer_id.unwrap_or(false),
        numwant,
        key: key.unwrap_or(FNV_OFFSET),
    })
}

/// Info-hashes of a scrape: `info_hash` may repeat (BEP 48). None at all => FullScrapeRefused
/// (a private tracker never lists its swarms). Duplicated hashes are kept once (first order kept).
pub fn parse_scrape(query: &[u8]) -> Result<Vec<[u8; 20]>, RequestError> {
    check_len(query)?;
    scrape_hashes(query)
}

/// The body of [`parse_scrape`] without the length limit, which alone makes the hash cap
/// unreachable (see [`MAX_SCRAPE_HASHES`]); kept apart so the cap can be tested.
fn scrape_hashes(query: &[u8]) -> Result<Vec<[u8; 20]>, RequestError> {
    let mut hashes: Vec<[u8; 20]> = Vec::new();
    for (name, value) in pairs(query) {
        if name != b"info_hash" {
            continue;
        }
        let hash = decode_20("info_hash", value)?;
        // A linear search beats hashing for at most a hundred 20-byte keys.
        if hashes.contains(&hash) {
            continue;
        }
        if hashes.len() == MAX_SCRAPE_HASHES {
            return Err(RequestError::TooManyHashes);
        }
        hashes.push(hash);
    }
    if hashes.is_empty() {
        return Err(RequestError::FullScrapeRefused);
    }
    Ok(hashes)
}

/// `/announce/<passkey>`: the passkey text is exactly 32 lowercase hex digits => 16 bytes, else BadPasskey.
///
/// Only the one spelling is accepted so that a passkey has a single text form, the one
/// [`passkey_to_string`] writes and users copy.
pub fn parse_passkey(text: &str) -> Result<[u8; PASSKEY_LEN], RequestError> {
    let text = text.as_bytes();
    if text.len() != 2 * PASSKEY_LEN {
        return Err(RequestError::BadPasskey);
    }
    let mut passkey = [0u8; PASSKEY_LEN];
    for (byte, digits) in passkey.iter_mut().zip(text.chunks_exact(2)) {
        let (Some(high), Some(low)) = (lower_hex(digits[0]), lower_hex(digits[1])) else {
            return Err(RequestError::BadPasskey);
        };
        *byte = high << 4 | low;
    }
    Ok(passkey)
}

/// Lowercase hex, the only form [`parse_passkey`] accepts.
pub fn passkey_to_string(p: &[u8; PASSKEY_LEN]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(2 * PASSKEY_LEN);
    for &byte in p {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn check_len(query: &[u8]) -> Result<(), RequestError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(RequestError::QueryTooLong);
    }
    Ok(())
}

/// The non-empty `name=value` pairs of a query, values still encoded.
fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &[][..]),
        })
}

/// Stores the value of a parameter seen for the first time; a second sighting is refused before
/// its value is decoded, so the client learns about the real mistake rather than a symptom.
fn set<T>(
    slot: &mut Option<T>,
    name: &'static str,
    decode: impl FnOnce() -> Result<T, RequestError>,
) -> Result<(), RequestError> {
    if slot.is_some() {
        return Err(RequestError::Duplicate(name));
    }
    *slot = Some(decode()?);
    Ok(())
}

/// Percent-decodes a value byte by byte, so callers can put the bytes straight where they belong.
struct Decoded<'a>(&'a [u8]);

impl Iterator for Decoded<'_> {
    type Item = Result<u8, RequestError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&first, rest) = self.0.split_first()?;
        let (byte, rest) = match (first, rest) {
            (b'%', [high, low, rest @ ..]) => match (any_hex(*high), any_hex(*low)) {
                (Some(high), Some(low)) => (high << 4 | low, rest),
                _ => return self.fail(),
            },
            (b'%', _) => return self.fail(),
            (b'+', _) => (b' ', rest),
            (byte, _) => (byte, rest),
        };
        self.0 = rest;
        Some(Ok(byte))
    }
}

impl Decoded<'_> {
    /// Reports a bad escape once and ends the iteration.
    fn fail(&mut self) -> Option<Result<u8, RequestError>> {
        self.0 = &[];
        Some(Err(RequestError::BadEscape))
    }
}

/// A 20-byte `info_hash` or `peer_id`; the full decoded length is counted so the error can say it.
fn decode_20(name: &'static str, value: &[u8]) -> Result<[u8; 20], RequestError> {
    let mut out = [0u8; 20];
    let mut len = 0usize;
    for byte in Decoded(value) {
        let byte = byte?;
        if let Some(slot) = out.get_mut(len) {
            *slot = byte;
        }
        len += 1;
    }
    if len != out.len() {
        return Err(RequestError::BadLength { name, len });
    }
    Ok(out)
}

fn decode_number(name: &'static str, value: &[u8]) -> Result<u64, RequestError> {
    let mut number = 0u64;
    let mut digits = 0usize;
    for byte in Decoded(value) {
        let byte = byte?;
        if !byte.is_ascii_digit() || digits == MAX_DIGITS {
            return Err(RequestError::Invalid(name));
        }
        digits += 1;
        number = number
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(byte - b'0')))
            .ok_or(RequestError::Invalid(name))?;
    }
    if digits == 0 {
        return Err(RequestError::Invalid(name));
    }
    Ok(number)
}

/// Decodes a short word into a fixed buffer; anything longer than the buffer is no valid word.
fn decode_word<const N: usize>(
    name: &'static str,
    value: &[u8],
) -> Result<([u8; N], usize), RequestError> {
    let mut out = [0u8; N];
    let mut len = 0usize;
    for byte in Decoded(value) {
        let byte = byte?;
        let slot = out.get_mut(len).ok_or(RequestError::Invalid(name))?;
        *slot = byte;
        len += 1;
    }
    Ok((out, len))
}

fn decode_event(value: &[u8]) -> Result<Event, RequestError> {
    // "completed" is the longest event name.
    let (word, len) = decode_word::<9>("event", value)?;
    match &word[..len] {
        b"" => Ok(Event::None),
        b"started" => Ok(Event::Started),
        b"completed" => Ok(Event::Completed),
        b"stopped" => Ok(Event::Stopped),
        b"paused" => Ok(Event::Paused),
        _ => Err(RequestError::Invalid("event")),
    }
}

/// `compact` and `no_peer_id`: "1" or "0", so a typo is refused rather than silently read as one
/// of the two.
fn decode_flag(name: &'static str, value: &[u8]) -> Result<bool, RequestError> {
    let (word, len) = decode_word::<1>(name, value)?;
    match &word[..len] {
        b"1" => Ok(true),
        b"0" => Ok(false),
        _ => Err(RequestError::Invalid(name)),
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn decode_key(value: &[u8]) -> Result<u64, RequestError> {
    let mut hash = FNV_OFFSET;
    let mut len = 0usize;
    for byte in Decoded(value) {
        let byte = byte?;
        len += 1;
        if len > MAX_KEY_LEN {
            return Err(RequestError::Invalid("key"));
        }
        hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
    }
    Ok(hash)
}

/// A hex digit of either case, as percent-escapes allow.
fn any_hex(digit: u8) -> Option<u8> {
    match digit {
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => lower_hex(digit),
    }
}

fn lower_hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a 64, written out separately from the parser so a slip in one is caught by the other.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325, |hash, &b| {
            (hash ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
    }

    const HASH_ESCAPED: &str = "%12%34%56%78%9A%BC%DE%F0%12%34%56%78%9A%BC%DE%F0%12%34%56%78";
    const HASH: [u8; 20] = [
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
        0xf0, 0x12, 0x34, 0x56, 0x78,
    ];

    /// A valid announce with `extra` appended, for tests that break one thing.
    fn with(extra: &str) -> Vec<u8> {
        format!(
            "info_hash={HASH_ESCAPED}&peer_id=-LT2080-abcdefghijkl&port=6881\
             &uploaded=0&downloaded=0&left=1000{extra}"
        )
        .into_bytes()
    }

    /// Valid announce parameters except `name`, which is given as `value`.
    fn replacing(name: &str, value: &str) -> Vec<u8> {
        let mut parts = vec![
            format!("info_hash={HASH_ESCAPED}"),
            "peer_id=-LT2080-abcdefghijkl".to_owned(),
            "port=6881".to_owned(),
            "uploaded=0".to_owned(),
            "downloaded=0".to_owned(),
            "left=1000".to_owned(),
        ];
        parts.retain(|p| !p.starts_with(&format!("{name}=")));
        parts.push(format!("{name}={value}"));
        parts.join("&").into_bytes()
    }

    fn announce_err(query: &[u8]) -> RequestError {
        parse_announce(query).expect_err("query should be refused")
    }

    #[test]
    fn libtorrent_announce() {
        let query = format!(
            "info_hash={HASH_ESCAPED}&peer_id=-LT2080-%8B%C1%D3%0F%2A%7Eab%25%26%3D%2B\
             &port=6881&uploaded=0&downloaded=0&left=1000&corrupt=0&key=5A2B3C4D&numwant=200\
             &compact=1&no_peer_id=1&supportcrypto=1&event=started"
        );
        let request = parse_announce(query.as_bytes()).expect("valid announce");
        assert_eq!(
            request,
            AnnounceRequest {
                info_hash: HASH,
                peer_id: *b"-LT2080-\x8b\xc1\xd3\x0f*~ab%&=+",
                port: 6881,
                uploaded: 0,
                downloaded: 0,
                left: 1000,
                event: Event::Started,
                compact: true,
                no_peer_id: true,
                numwant: Some(200),
                key: fnv1a(b"5A2B3C4D"),
            }
        );
    }

    #[test]
    fn aria2_announce() {
        // aria2 escapes every byte outside the unreserved set in uppercase, and sends `key` as
        // 8 hex digits.
        let query = "info_hash=%AB%CD%EFGHIJKLMNOPQRSTUVW\
                     &peer_id=A2-1-36-0-%00%11%22%33%44%55%66%77%88%99\
                     &uploaded=123456789012&downloaded=987654321098&left=0&compact=1\
                     &key=0a1b2c3d&event=completed&numwant=50&port=6882\
                     &supportcrypto=1&redundant=0";
        let request = parse_announce(query.as_bytes()).expect("valid announce");
        assert_eq!(
            request,
            AnnounceRequest {
                info_hash: *b"\xab\xcd\xefGHIJKLMNOPQRSTUVW",
                peer_id: *b"A2-1-36-0-\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99",
                port: 6882,
                uploaded: 123_456_789_012,
                downloaded: 987_654_321_098,
                left: 0,
                event: Event::Completed,
                compact: true,
                no_peer_id: false,
                numwant: Some(50),
                key: fnv1a(b"0a1b2c3d"),
            }
        );
    }

    #[test]
    fn transmission_announce() {
        // Transmission escapes in lowercase and puts `key` and `numwant` before `compact`.
        let query = "info_hash=%de%ad%be%ef%00%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f\
                     &peer_id=-TR3000-x4z9k2m1q8w7&port=51413&uploaded=0&downloaded=4096\
                     &left=9999999999&numwant=80&key=4b1d0e7a&compact=1&supportcrypto=1\
                     &event=stopped&ipv6=2001%3Adb8%3A%3A1";
        let request = parse_announce(query.as_bytes()).expect("valid announce");
        assert_eq!(request.info_hash[..4], [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(request.info_hash[19], 0x0f);
        assert_eq!(&request.peer_id, b"-TR3000-x4z9k2m1q8w7");
        assert_eq!(request.port, 51413);
        assert_eq!(request.downloaded, 4096);
        assert_eq!(request.left, 9_999_999_999);
        assert_eq!(request.event, Event::Stopped);
        assert_eq!(request.numwant, Some(80));
        assert_eq!(request.key, fnv1a(b"4b1d0e7a"));
    }

    #[test]
    fn defaults_when_optional_parameters_are_absent() {
        let request = parse_announce(&with("")).expect("valid announce");
        assert_eq!(request.event, Event::None);
        assert!(request.compact);
        assert!(!request.no_peer_id);
        assert_eq!(request.numwant, None);
        assert_eq!(request.key, fnv1a(b""));
        assert_eq!(request.key, FNV_OFFSET);
    }

    #[test]
    fn optional_parameter_values() {
        let parse = |extra: &str| parse_announce(&with(extra)).expect("valid announce");
        assert_eq!(parse("&event=").event, Event::None);
        assert_eq!(parse("&event").event, Event::None);
        assert_eq!(parse("&event=paused").event, Event::Paused);
        assert_eq!(parse("&event=%73topped").event, Event::Stopped);
        assert!(!parse("&compact=0").compact);
        assert!(!parse("&no_peer_id=0").no_peer_id);
        assert_eq!(parse("&numwant=0").numwant, Some(0));
        assert_eq!(parse("&numwant=4294967295").numwant, Some(u32::MAX));
        assert_eq!(parse("&key=a+b").key, fnv1a(b"a b"));
        assert_eq!(parse("&key=a%2Bb").key, fnv1a(b"a+b"));
        assert_eq!(parse("&key=").key, fnv1a(b""));
        let longest = "k".repeat(MAX_KEY_LEN);
        assert_eq!(
            parse(&format!("&key={longest}")).key,
            fnv1a(longest.as_bytes())
        );
    }

    #[test]
    fn numbers_at_their_limits() {
        let request =
            parse_announce(&replacing("uploaded", "18446744073709551615")).expect("u64::MAX fits");
        assert_eq!(request.uploaded, u64::MAX);
        let request = parse_announce(&replacing("left", "00000000000000000042"))
            .expect("20 digits with leading zeros");
        assert_eq!(request.left, 42);
        let request = parse_announce(&replacing("port", "65535")).expect("highest port");
        assert_eq!(request.port, 65535);
        let request = parse_announce(&replacing("port", "%31")).expect("escaped digit");
        assert_eq!(request.port, 1);
    }

    #[test]
    fn pairs_are_read_loosely_but_names_exactly() {
        let query = format!(
            "&&{}&&=&corrupt&Port=0&info%5Fhash=x&",
            String::from_utf8_lossy(&with(""))
        );
        let request = parse_announce(query.as_bytes()).expect("noise is ignored");
        assert_eq!(request.port, 6881);
        // An unknown parameter's value is never decoded, so a bad escape there is harmless.
        assert!(parse_announce(&with("&ip=%zz")).is_ok());
    }

    #[test]
    fn query_too_long() {
        let mut query = with("&pad=");
        query.resize(MAX_QUERY_LEN, b'x');
        assert!(
            parse_announce(&query).is_ok(),
            "exactly the limit is accepted"
        );
        query.push(b'x');
        assert_eq!(announce_err(&query), RequestError::QueryTooLong);
        // Checked before anything else, whatever the query holds.
        assert_eq!(
            announce_err(&[b'%'; MAX_QUERY_LEN + 1]),
            RequestError::QueryTooLong
        );
        assert_eq!(
            parse_scrape(&[b'&'; MAX_QUERY_LEN + 1]),
            Err(RequestError::QueryTooLong)
        );
    }

    #[test]
    fn bad_escapes() {
        for bad in ["%4", "%", "%zz", "%4g", "%g4", "abc%"] {
            assert_eq!(
                announce_err(&replacing("peer_id", bad)),
                RequestError::BadEscape,
                "{bad}"
            );
        }
        assert_eq!(
            announce_err(&replacing("info_hash", "%4")),
            RequestError::BadEscape
        );
        assert_eq!(announce_err(&with("&key=%zz")), RequestError::BadEscape);
        assert_eq!(
            announce_err(&replacing("left", "1%2")),
            RequestError::BadEscape
        );
        assert_eq!(parse_scrape(b"info_hash=%zz"), Err(RequestError::BadEscape));
    }

    #[test]
    fn missing_parameters() {
        assert_eq!(announce_err(b""), RequestError::Missing("info_hash"));
        assert_eq!(announce_err(b"&&&"), RequestError::Missing("info_hash"));
        for name in [
            "info_hash",
            "peer_id",
            "port",
            "uploaded",
            "downloaded",
            "left",
        ] {
            let query = String::from_utf8_lossy(&with(""))
                .split('&')
                .filter(|pair| !pair.starts_with(&format!("{name}=")))
                .collect::<Vec<_>>()
                .join("&");
            assert_eq!(
                announce_err(query.as_bytes()),
                RequestError::Missing(name),
                "{name}"
            );
        }
    }

    #[test]
    fn duplicate_parameters() {
        assert_eq!(
            announce_err(&with("&left=1000")),
            RequestError::Duplicate("left")
        );
        assert_eq!(
            announce_err(&with("&left=junk")),
            RequestError::Duplicate("left")
        );
        assert_eq!(
            announce_err(&with("&event=started&event=started")),
            RequestError::Duplicate("event")
        );
        assert_eq!(
            announce_err(&with("&key=1&key=1")),
            RequestError::Duplicate("key")
        );
        assert_eq!(
            announce_err(&with(&format!("&info_hash={HASH_ESCAPED}"))),
            RequestError::Duplicate("info_hash")
        );
    }

    #[test]
    fn hash_lengths() {
        let short = &HASH_ESCAPED[..19 * 3];
        assert_eq!(
            announce_err(&replacing("info_hash", short)),
            RequestError::BadLength {
                name: "info_hash",
                len: 19
            }
        );
        let long = format!("{HASH_ESCAPED}%00");
        assert_eq!(
            announce_err(&replacing("info_hash", &long)),
            RequestError::BadLength {
                name: "info_hash",
                len: 21
            }
        );
        assert_eq!(
            announce_err(&replacing("peer_id", "")),
            RequestError::BadLength {
                name: "peer_id",
                len: 0
            }
        );
        assert_eq!(
            announce_err(&replacing("peer_id", "-TR3000-12345678901")),
            RequestError::BadLength {
                name: "peer_id",
                len: 19
            }
        );
        assert_eq!(
            parse_scrape(b"info_hash=01234567890123456789x"),
            Err(RequestError::BadLength {
                name: "info_hash",
                len: 21
            })
        );
        assert_eq!(
            RequestError::BadLength {
                name: "peer_id",
                len: 19
            }
            .to_string(),
            "peer_id must be 20 bytes, got 19"
        );
    }

    #[test]
    fn invalid_counters() {
        for name in ["uploaded", "downloaded", "left"] {
            for bad in [
                "12a",
                "-1",
                "+1",
                "",
                " 1",
                "1 ",
                "0x10",
                "18446744073709551616",
                "99999999999999999999",
                "000000000000000000001",
            ] {
                assert_eq!(
                    announce_err(&replacing(name, bad)),
                    RequestError::Invalid(name),
                    "{name}={bad}"
                );
            }
        }
        // A pair without `=` has an empty value, which is no number.
        let query =
            String::from_utf8_lossy(&replacing("uploaded", "0")).replace("uploaded=0", "uploaded");
        assert_eq!(
            announce_err(query.as_bytes()),
            RequestError::Invalid("uploaded")
        );
    }

    #[test]
    fn invalid_numwant() {
        for bad in ["4294967296", "18446744073709551616", "-1", "", "ten"] {
            assert_eq!(
                announce_err(&with(&format!("&numwant={bad}"))),
                RequestError::Invalid("numwant"),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_port() {
        for bad in [
            "0",
            "00000",
            "65536",
            "99999",
            "18446744073709551616",
            "",
            "-1",
        ] {
            assert_eq!(
                announce_err(&replacing("port", bad)),
                RequestError::Invalid("port"),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_event() {
        for bad in [
            "start",
            "Started",
            "STOPPED",
            "update",
            "completedx",
            "none",
            "%00",
        ] {
            assert_eq!(
                announce_err(&with(&format!("&event={bad}"))),
                RequestError::Invalid("event"),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_flags_and_key() {
        for bad in ["", "2", "true", "01", "yes"] {
            assert_eq!(
                announce_err(&with(&format!("&compact={bad}"))),
                RequestError::Invalid("compact"),
                "{bad}"
            );
            assert_eq!(
                announce_err(&with(&format!("&no_peer_id={bad}"))),
                RequestError::Invalid("no_peer_id"),
                "{bad}"
            );
        }
        let long = "%41".repeat(MAX_KEY_LEN + 1);
        assert_eq!(
            announce_err(&with(&format!("&key={long}"))),
            RequestError::Invalid("key")
        );
    }

    #[test]
    fn scrape_hashes_repeat_and_deduplicate() {
        let a = "aaaaaaaaaaaaaaaaaaaa";
        let b = "bbbbbbbbbbbbbbbbbbbb";
        let query = format!(
            "info_hash={b}&peer_id=junk&info_hash={HASH_ESCAPED}&info_hash={b}&info_hash={a}"
        );
        assert_eq!(
            parse_scrape(query.as_bytes()),
            Ok(vec![[b'b'; 20], HASH, [b'a'; 20]])
        );
    }

    #[test]
    fn full_scrape_refused() {
        assert_eq!(parse_scrape(b""), Err(RequestError::FullScrapeRefused));
        assert_eq!(
            parse_scrape(b"passkey=1&&"),
            Err(RequestError::FullScrapeRefused)
        );
        assert_eq!(
            parse_scrape(b"Info_hash=aaaaaaaaaaaaaaaaaaaa"),
            Err(RequestError::FullScrapeRefused)
        );
    }

    #[test]
    fn too_many_scrape_hashes() {
        let query = |count: u8| {
            (0..count)
                .map(|i| format!("info_hash=%{i:02x}{}", "x".repeat(19)))
                .collect::<Vec<_>>()
                .join("&")
        };
        // A hundred hashes cannot fit in MAX_QUERY_LEN bytes, so the cap is checked on the
        // unlimited body of parse_scrape.
        assert!(query(101).len() > MAX_QUERY_LEN);
        assert_eq!(
            parse_scrape(query(101).as_bytes()),
            Err(RequestError::QueryTooLong)
        );
        assert_eq!(
            scrape_hashes(query(100).as_bytes()).map(|hashes| hashes.len()),
            Ok(MAX_SCRAPE_HASHES)
        );
        assert_eq!(
            scrape_hashes(query(101).as_bytes()),
            Err(RequestError::TooManyHashes)
        );
        // Repeats of hashes already seen do not count against the cap.
        let repeated = format!("{}&{}", query(100), query(100));
        assert_eq!(
            scrape_hashes(repeated.as_bytes()).map(|hashes| hashes.len()),
            Ok(MAX_SCRAPE_HASHES)
        );
    }

    #[test]
    fn passkeys() {
        let text = "0123456789abcdeffedcba9876543210";
        let passkey = parse_passkey(text).expect("valid passkey");
        assert_eq!(
            passkey,
            [
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54,
                0x32, 0x10
            ]
        );
        assert_eq!(passkey_to_string(&passkey), text);
        assert_eq!(passkey_to_string(&[0; PASSKEY_LEN]), "0".repeat(32));
    }

    #[test]
    fn bad_passkeys() {
        for bad in [
            "",
            "0123456789abcdeffedcba987654321",
            "0123456789abcdeffedcba98765432100",
            "0123456789ABCDEFFEDCBA9876543210",
            "0123456789abcdeFfedcba9876543210",
            "0123456789abcdegfedcba9876543210",
            "0123456789abcdef fedcba987654321",
            "+123456789abcdeffedcba9876543210",
            // 32 bytes, but not 32 characters.
            "0123456789abcdeffedcba98765432é",
        ] {
            assert_eq!(parse_passkey(bad), Err(RequestError::BadPasskey), "{bad:?}");
        }
    }

    #[test]
    fn error_messages_are_the_failure_reasons() {
        assert_eq!(
            RequestError::QueryTooLong.to_string(),
            "query string longer than 2048 bytes"
        );
        assert_eq!(
            RequestError::TooManyHashes.to_string(),
            "too many info_hash values in one scrape (at most 100)"
        );
        assert_eq!(
            RequestError::Missing("port").to_string(),
            "missing parameter port"
        );
        assert_eq!(
            RequestError::Duplicate("left").to_string(),
            "parameter left given twice"
        );
        assert_eq!(RequestError::Invalid("event").to_string(), "invalid event");
    }
}
