//! Sign-In with Ethereum (EIP-4361): the plain-text message a member's key signs to sign in to the
//! hub's web site, its strict parser and printer, and the EIP-191 `personal_sign` digest that
//! wallets sign it under.
//!
//! The flow: the site hands out a nonce, the client writes a [`SiweMessage`] naming the site's
//! domain, the member's address and that nonce, the key signs the exact text with
//! [`sign_personal`] (what a wallet's `personal_sign` does), and the hub calls
//! [`SiweMessage::verify_signature`] on the text it received, then [`SiweMessage::check_time`],
//! then compares `domain`, `uri`, `chain_id` and `nonce` with what it expects. Those comparisons
//! are the caller's: this module knows no site and no clock.
//!
//! Parsing follows the ABNF of EIP-4361 and refuses everything outside it, with an error naming
//! the line and the field. Where this module is stricter or looser than the ABNF, on purpose:
//! - the optional `scheme://` that the current EIP-4361 text allows before the domain
//!   (`https://hub.example wants you …`) is refused with its own error. The message has no field
//!   for it, and dropping it would lose part of the origin a relying party must compare (`http`
//!   and `https` are different origins); the bare form, which EIP-4361 reads as `https`, is what
//!   seedbank's clients write;
//! - the address may be EIP-55 checksummed or all lower-case (browser wallets often hand out the
//!   lower-case form, and the signature binds the address either way); an address with upper-case
//!   digits must carry a correct checksum, and the prefix must be `0x`;
//! - a text over [`MAX_MESSAGE_BYTES`] is refused before any parsing;
//! - times are unix seconds: fractional seconds are accepted and dropped (rounded down), offsets
//!   are folded into UTC, a leap second `:60` counts as the next minute's `:00`, and an instant
//!   before 1970 or a date after year 9999 is refused.
//!
//! Round trip: `parse(m.to_text()) == m` for every message [`SiweMessage::validate`] accepts, but
//! not `parse(t).to_text() == t` for every text: fractional seconds, offsets, a lower-case address
//! and an empty `Resources:` list are printed in their canonical form. That is why the signature
//! is always checked over the text as received, never over a reprint.

use std::fmt;
use std::net::Ipv6Addr;

use crate::address::{Address, AddressError};
use crate::eip712::keccak256;
use crate::key::{SecretKey, Signature, SignatureError};

/// The longest message text accepted. Real sign-in messages are a few hundred bytes; the bound
/// keeps a hostile request from making the parser (or an error message) large.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// 9999-12-31T23:59:59Z, the last instant RFC 3339's four-digit year can write.
pub const MAX_TIME: u64 = 253_402_300_799;

const HEADER_SUFFIX: &str = " wants you to sign in with your Ethereum account:";
const URI_TAG: &str = "URI: ";
const VERSION_TAG: &str = "Version: ";
const CHAIN_TAG: &str = "Chain ID: ";
const NONCE_TAG: &str = "Nonce: ";
const ISSUED_TAG: &str = "Issued At: ";
const EXPIRATION_TAG: &str = "Expiration Time: ";
const NOT_BEFORE_TAG: &str = "Not Before: ";
const REQUEST_ID_TAG: &str = "Request ID: ";
const RESOURCES_LINE: &str = "Resources:";
const RESOURCE_PREFIX: &str = "- ";
/// What `Lines::unexpected` is told is expected after the last field.
const END: &str = "the end of the message";

/// The field lines in the one order EIP-4361 allows, with the names errors use. Knowing every tag
/// lets a misplaced field be reported as such rather than as unreadable text.
const FIELDS: [(&str, &str); 9] = [
    (URI_TAG, "URI"),
    (VERSION_TAG, "Version"),
    (CHAIN_TAG, "Chain ID"),
    (NONCE_TAG, "Nonce"),
    (ISSUED_TAG, "Issued At"),
    (EXPIRATION_TAG, "Expiration Time"),
    (NOT_BEFORE_TAG, "Not Before"),
    (REQUEST_ID_TAG, "Request ID"),
    (RESOURCES_LINE, "Resources"),
];

/// An EIP-4361 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiweMessage {
    /// The RFC 3986 authority asking for the signature: `host[:port]`, possibly with `userinfo@`
    /// (the ABNF allows it; a caller comparing `domain` with its own exactly refuses it anyway).
    pub domain: String,
    pub address: Address,
    /// A line for the human, without `\n`; printable ASCII from RFC 3986's reserved and unreserved
    /// sets and spaces only (so no `%`, quotes, `<>`, non-ASCII).
    pub statement: Option<String>,
    /// The RFC 3986 URI the sign-in is about.
    pub uri: String,
    /// Must be `"1"`.
    pub version: String,
    pub chain_id: u64,
    /// At least 8 ASCII letters or digits.
    pub nonce: String,
    /// Unix seconds; RFC 3339 in the text.
    pub issued_at: u64,
    pub expiration_time: Option<u64>,
    pub not_before: Option<u64>,
    /// RFC 3986 `pchar`s; may be empty (the line is then `Request ID: `).
    pub request_id: Option<String>,
    /// RFC 3986 URIs.
    pub resources: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SiweError {
    #[error("a sign-in message is at most {max} bytes, this one is {len}")]
    TooLong { len: usize, max: usize },
    #[error("line {line}: carriage return; sign-in message lines end with \\n alone")]
    CarriageReturn { line: usize },
    #[error(
        "line 1 must be `<domain> wants you to sign in with your Ethereum account:`, got {found:?}"
    )]
    Header { found: String },
    #[error(
        "line 1: the header starts with a scheme ({scheme:?}://); write the bare `<domain> wants you to sign in …`"
    )]
    Scheme { scheme: String },
    #[error("line 1: domain {domain:?} is not an RFC 3986 authority: {reason}")]
    Domain {
        domain: String,
        reason: &'static str,
    },
    #[error("line {line}: {source}")]
    Address { line: usize, source: AddressError },
    #[error("line {line}: expected {expected}, found {found:?}")]
    Expected {
        line: usize,
        expected: &'static str,
        found: String,
    },
    #[error("line {line}: the message ends where {expected} was expected")]
    Truncated { line: usize, expected: &'static str },
    #[error(
        "line {line}: the {field} field is out of place (EIP-4361 fixes the field order); expected {expected}"
    )]
    OutOfOrder {
        line: usize,
        field: &'static str,
        expected: &'static str,
    },
    #[error(
        "line {line}: the statement contains {ch:?}; EIP-4361 allows only ASCII letters, digits, spaces and -._~:/?#[]@!$&'()*+,;="
    )]
    Statement { line: usize, ch: char },
    #[error("line {line}: {field} {value:?} is not an RFC 3986 URI: {reason}")]
    Uri {
        line: usize,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("line {line}: Version must be 1, got {found:?}")]
    Version { line: usize, found: String },
    #[error("line {line}: Chain ID {found:?} is not a decimal number below 2^64")]
    ChainId { line: usize, found: String },
    #[error("line {line}: Nonce {found:?} must be at least 8 ASCII letters or digits")]
    Nonce { line: usize, found: String },
    #[error("line {line}: {field} {value:?} is not an RFC 3339 date-time: {reason}")]
    Time {
        line: usize,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("line {line}: Request ID {found:?} has characters outside RFC 3986 pchar")]
    RequestId { line: usize, found: String },
    #[error("line {line}: the message must end with its last field, not a line break")]
    TrailingNewline { line: usize },
    #[error("line {line}: unexpected text after the last field: {found:?}")]
    Trailing { line: usize, found: String },
    #[error("{value:?} is not an RFC 3339 date-time: {reason}")]
    BadTime { value: String, reason: &'static str },
    #[error(
        "this message does not print to a text that parses back to it (a field holds a line break or text its field does not allow)"
    )]
    Unprintable,
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("the message is signed by {recovered}, not by its address {claimed}")]
    WrongSigner {
        claimed: Address,
        recovered: Address,
    },
    #[error(
        "the message is issued at {issued_at}, in the future (now {now}, allowed skew {skew}s)"
    )]
    IssuedInFuture {
        issued_at: String,
        now: String,
        skew: u64,
    },
    #[error("the message expired at {at} (now {now})")]
    Expired { at: String, now: String },
    #[error("the message is not valid before {at} (now {now})")]
    NotYetValid { at: String, now: String },
}

impl SiweMessage {
    /// Parses a message, strictly per the EIP-4361 ABNF (see the module notes for the few
    /// deliberate differences). Every refusal names the line and what was wrong with it.
    pub fn parse(text: &str) -> Result<SiweMessage, SiweError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(SiweError::TooLong {
                len: text.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        // A CRLF text is the likeliest way for a client to sign something that looks right and
        // hashes differently from what it shows; say so instead of reporting some field as bad.
        if let Some(at) = text.find('\r') {
            return Err(SiweError::CarriageReturn {
                line: text[..at].matches('\n').count() + 1,
            });
        }
        let mut lines = Lines::new(text);

        let header = lines.take("the header line")?.1;
        let domain = header
            .strip_suffix(HEADER_SUFFIX)
            .ok_or_else(|| SiweError::Header {
                found: excerpt(header),
            })?;
        // An authority holds no `/`, so a `://` can only end a scheme.
        if let Some((scheme, _)) = domain.split_once("://") {
            return Err(SiweError::Scheme {
                scheme: excerpt(scheme),
            });
        }
        check_authority(domain, true).map_err(|reason| SiweError::Domain {
            domain: excerpt(domain),
            reason,
        })?;

        let (line, text_address) = lines.take("the address `0x…`")?;
        let address =
            parse_address(text_address).map_err(|source| SiweError::Address { line, source })?;
        lines.blank("an empty line after the address")?;

        let (line, first) = lines.take("the statement or an empty line")?;
        let statement = if first.is_empty() {
            // The ABNF's `[ statement LF ] LF`: one empty line is no statement, two are an empty
            // statement (which `to_text` writes that way, so it has to read back).
            if lines.peek() == Some("") {
                lines.skip();
                Some(String::new())
            } else {
                None
            }
        } else {
            // A client that forgot the empty line before `URI:` would otherwise be told its
            // `Version:` line should be empty.
            if first.starts_with(URI_TAG)
                && lines.peek().is_some_and(|l| l.starts_with(VERSION_TAG))
            {
                return Err(SiweError::Expected {
                    line,
                    expected: "an empty line before `URI: `",
                    found: excerpt(first),
                });
            }
            check_statement(first).map_err(|ch| SiweError::Statement { line, ch })?;
            lines.blank("an empty line after the statement")?;
            Some(first.to_owned())
        };

        let (line, uri) = lines.field(URI_TAG, "`URI: <uri>`")?;
        check_uri(uri).map_err(|reason| SiweError::Uri {
            line,
            field: "URI",
            value: excerpt(uri),
            reason,
        })?;

        let (line, version) = lines.field(VERSION_TAG, "`Version: 1`")?;
        if version != "1" {
            return Err(SiweError::Version {
                line,
                found: excerpt(version),
            });
        }

        let (line, chain) = lines.field(CHAIN_TAG, "`Chain ID: <number>`")?;
        let chain_id = parse_chain_id(chain).ok_or_else(|| SiweError::ChainId {
            line,
            found: excerpt(chain),
        })?;

        let (line, nonce) = lines.field(NONCE_TAG, "`Nonce: <8+ letters or digits>`")?;
        if !is_nonce(nonce) {
            return Err(SiweError::Nonce {
                line,
                found: excerpt(nonce),
            });
        }

        let (line, issued) = lines.field(ISSUED_TAG, "`Issued At: <RFC 3339 date-time>`")?;
        let issued_at = field_time(line, "Issued At", issued)?;

        let expiration_time = match lines.optional(EXPIRATION_TAG) {
            Some((line, value)) => Some(field_time(line, "Expiration Time", value)?),
            None => None,
        };
        let not_before = match lines.optional(NOT_BEFORE_TAG) {
            Some((line, value)) => Some(field_time(line, "Not Before", value)?),
            None => None,
        };
        let request_id = match lines.optional(REQUEST_ID_TAG) {
            Some((line, value)) => {
                if !all_allowed(value, is_pchar) {
                    return Err(SiweError::RequestId {
                        line,
                        found: excerpt(value),
                    });
                }
                Some(value.to_owned())
            }
            None => None,
        };

        let mut resources = Vec::new();
        if lines.peek() == Some(RESOURCES_LINE) {
            lines.skip();
            while let Some((line, text)) = lines.next_line() {
                let Some(uri) = text.strip_prefix(RESOURCE_PREFIX) else {
                    return Err(lines.unexpected(line, text, "a resource line `- <uri>`"));
                };
                check_uri(uri).map_err(|reason| SiweError::Uri {
                    line,
                    field: "resource",
                    value: excerpt(uri),
                    reason,
                })?;
                resources.push(uri.to_owned());
            }
        }
        if let Some((line, text)) = lines.next_line() {
            return Err(lines.unexpected(line, text, END));
        }

        Ok(SiweMessage {
            domain: domain.to_owned(),
            address,
            statement,
            uri: uri.to_owned(),
            version: version.to_owned(),
            chain_id,
            nonce: nonce.to_owned(),
            issued_at,
            expiration_time,
            not_before,
            request_id,
            resources,
        })
    }

    /// The message as text, fields in EIP-4361 order, the address checksummed, times as
    /// `YYYY-MM-DDTHH:MM:SSZ`, no final line break. Same as `Display`.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Checks that a message built in code is one `parse` would return from its own text: every
    /// field within its grammar, no line break smuggled into a field, times within year 9999.
    /// A client should call this before asking a key to sign `to_text()`.
    pub fn validate(&self) -> Result<(), SiweError> {
        if SiweMessage::parse(&self.to_text())? == *self {
            Ok(())
        } else {
            Err(SiweError::Unprintable)
        }
    }

    /// Parses `text` and checks that `signature` is its owner's EIP-191 `personal_sign` over the
    /// exact bytes of `text` (never a reprint: see the module notes). `v` may be 27/28 or 0/1;
    /// high-`s` (malleable) signatures are refused. Returns the message; the caller still checks
    /// times, domain, nonce and the rest against what it expects.
    pub fn verify_signature(text: &str, signature: &Signature) -> Result<SiweMessage, SiweError> {
        // Parse first: it is cheap and bounded, and refuses junk before any curve arithmetic.
        let message = SiweMessage::parse(text)?;
        let recovered = signature.recover(&personal_digest(text.as_bytes()))?;
        if recovered != message.address {
            return Err(SiweError::WrongSigner {
                claimed: message.address,
                recovered,
            });
        }
        Ok(message)
    }

    /// Checks the message's times against `now` (unix seconds). `skew` is the clock difference
    /// tolerated between the signer and this host: a message may be issued, or become valid, up
    /// to `skew` seconds ahead of `now` (the client stamped it with a fast clock). Expiry gets no
    /// grace: a message is expired from its `Expiration Time` on. A message without an expiry does
    /// not expire here; bound its age with `issued_at` if that matters.
    pub fn check_time(&self, now: u64, skew: u64) -> Result<(), SiweError> {
        let horizon = now.saturating_add(skew);
        if self.issued_at > horizon {
            return Err(SiweError::IssuedInFuture {
                issued_at: rfc3339(self.issued_at),
                now: rfc3339(now),
                skew,
            });
        }
        if let Some(expiration) = self.expiration_time
            && now >= expiration
        {
            return Err(SiweError::Expired {
                at: rfc3339(expiration),
                now: rfc3339(now),
            });
        }
        if let Some(not_before) = self.not_before
            && horizon < not_before
        {
            return Err(SiweError::NotYetValid {
                at: rfc3339(not_before),
                now: rfc3339(now),
            });
        }
        Ok(())
    }
}

impl fmt::Display for SiweMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}{HEADER_SUFFIX}", self.domain)?;
        writeln!(f, "{}", self.address.to_checksum())?;
        writeln!(f)?;
        if let Some(statement) = &self.statement {
            writeln!(f, "{statement}")?;
        }
        writeln!(f)?;
        writeln!(f, "{URI_TAG}{}", self.uri)?;
        writeln!(f, "{VERSION_TAG}{}", self.version)?;
        writeln!(f, "{CHAIN_TAG}{}", self.chain_id)?;
        writeln!(f, "{NONCE_TAG}{}", self.nonce)?;
        write!(f, "{ISSUED_TAG}{}", rfc3339(self.issued_at))?;
        if let Some(t) = self.expiration_time {
            write!(f, "\n{EXPIRATION_TAG}{}", rfc3339(t))?;
        }
        if let Some(t) = self.not_before {
            write!(f, "\n{NOT_BEFORE_TAG}{}", rfc3339(t))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, "\n{REQUEST_ID_TAG}{id}")?;
        }
        // An empty list is written as no `Resources:` line at all; both parse to an empty list.
        if !self.resources.is_empty() {
            write!(f, "\n{RESOURCES_LINE}")?;
            for resource in &self.resources {
                write!(f, "\n{RESOURCE_PREFIX}{resource}")?;
            }
        }
        Ok(())
    }
}

/// The EIP-191 (version 0x45) digest a wallet's `personal_sign` signs:
/// `keccak256("\x19Ethereum Signed Message:\n" ‖ decimal byte length ‖ message)`.
pub fn personal_digest(message: &[u8]) -> [u8; 32] {
    let prefix = format!("\x19Ethereum Signed Message:\n{}", message.len());
    let mut data = Vec::with_capacity(prefix.len() + message.len());
    data.extend_from_slice(prefix.as_bytes());
    data.extend_from_slice(message);
    keccak256(&data)
}

/// Signs `message` the way a wallet's `personal_sign` does (EIP-191 digest, low `s`, `v` = 27/28).
pub fn sign_personal(key: &SecretKey, message: &[u8]) -> Signature {
    key.sign_digest(&personal_digest(message))
}

/// Unix seconds as RFC 3339 UTC, `YYYY-MM-DDTHH:MM:SSZ`. Past [`MAX_TIME`] the year takes more
/// than four digits, which no RFC 3339 parser (this one included) reads back.
pub fn rfc3339(t: u64) -> String {
    // u64 seconds / 86400 is below 2^48, so the day count fits an i64 with room to spare.
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Reads an RFC 3339 `date-time` as unix seconds: `YYYY-MM-DDTHH:MM:SS`, optional fractional
/// seconds (dropped), then `Z` or `±HH:MM` (`T` and `Z` may be lower case, as RFC 3339 allows).
/// Refuses out-of-range parts (month 13, Feb 30 outside leap years, hour 24, minute 60), an
/// instant before 1970-01-01T00:00:00Z, and anything else outside the grammar. A leap second
/// (`:60`) is read as the next minute's `:00`, as POSIX time has no leap seconds.
pub fn parse_rfc3339(s: &str) -> Result<u64, SiweError> {
    parse_time(s).map_err(|reason| SiweError::BadTime {
        value: excerpt(s),
        reason,
    })
}

/// The lines of a message, with 1-based line numbers for errors.
struct Lines<'a> {
    lines: Vec<&'a str>,
    next: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            lines: text.split('\n').collect(),
            next: 0,
        }
    }

    fn peek(&self) -> Option<&'a str> {
        self.lines.get(self.next).copied()
    }

    fn skip(&mut self) {
        self.next += 1;
    }

    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        let line = self.peek()?;
        self.next += 1;
        Some((self.next, line))
    }

    fn take(&mut self, expected: &'static str) -> Result<(usize, &'a str), SiweError> {
        self.next_line().ok_or(SiweError::Truncated {
            line: self.next + 1,
            expected,
        })
    }

    fn blank(&mut self, expected: &'static str) -> Result<(), SiweError> {
        let (line, text) = self.take(expected)?;
        if text.is_empty() {
            Ok(())
        } else {
            Err(SiweError::Expected {
                line,
                expected,
                found: excerpt(text),
            })
        }
    }

    /// A required `Tag: value` line; returns the value.
    fn field(
        &mut self,
        tag: &'static str,
        expected: &'static str,
    ) -> Result<(usize, &'a str), SiweError> {
        let (line, text) = self.take(expected)?;
        match text.strip_prefix(tag) {
            Some(value) => Ok((line, value)),
            // An empty last line here means the text stopped after a line break.
            None if text.is_empty() && line == self.lines.len() => {
                Err(SiweError::Truncated { line, expected })
            }
            None => Err(self.unexpected(line, text, expected)),
        }
    }

    /// An optional `Tag: value` line, taken only if it is next.
    fn optional(&mut self, tag: &str) -> Option<(usize, &'a str)> {
        let value = self.peek()?.strip_prefix(tag)?;
        self.next += 1;
        Some((self.next, value))
    }

    /// The error for a line that is not what the grammar wants at this point, as specific as the
    /// line allows.
    fn unexpected(&self, line: usize, text: &str, expected: &'static str) -> SiweError {
        if text.is_empty() && line == self.lines.len() {
            return SiweError::TrailingNewline { line };
        }
        if let Some(&(_, field)) = FIELDS.iter().find(|(tag, _)| text.starts_with(tag)) {
            return SiweError::OutOfOrder {
                line,
                field,
                expected,
            };
        }
        if expected == END {
            return SiweError::Trailing {
                line,
                found: excerpt(text),
            };
        }
        SiweError::Expected {
            line,
            expected,
            found: excerpt(text),
        }
    }
}

/// At most 80 bytes of untrusted text for an error message, cut at a character boundary.
fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn field_time(line: usize, field: &'static str, value: &str) -> Result<u64, SiweError> {
    parse_time(value).map_err(|reason| SiweError::Time {
        line,
        field,
        value: excerpt(value),
        reason,
    })
}

/// EIP-55 checksummed or all lower-case, `0x` only. `Address::from_str` also takes `0X` and
/// all upper-case digits (neither is what a wallet shows), so those are refused here.
fn parse_address(s: &str) -> Result<Address, AddressError> {
    let Some(digits) = s.strip_prefix("0x") else {
        return Err(AddressError::Malformed(excerpt(s)));
    };
    let address: Address = s.parse()?;
    if digits.bytes().any(|b| b.is_ascii_uppercase()) && address.to_checksum() != s {
        return Err(AddressError::Checksum(s.to_owned()));
    }
    Ok(address)
}

/// `1*DIGIT` that fits a u64. Leading zeros are in the ABNF, so they are accepted.
fn parse_chain_id(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `8*( ALPHA / DIGIT )`.
fn is_nonce(s: &str) -> bool {
    s.len() >= 8 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `*( reserved / unreserved / " " )`; returns the first character outside it.
fn check_statement(s: &str) -> Result<(), char> {
    match s.chars().find(|&c| {
        !(c == ' ' || (c.is_ascii() && (is_reserved(c as u8) || is_unreserved(c as u8))))
    }) {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

// RFC 3986 character classes, on bytes: everything accepted is ASCII.

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn is_reserved(b: u8) -> bool {
    is_sub_delim(b) || matches!(b, b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@')
}

/// `pchar` minus `pct-encoded`, which `all_allowed` handles.
fn is_pchar(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || matches!(b, b':' | b'@')
}

/// Every byte of `s` is `allowed` or part of a `%XX` escape.
fn all_allowed(s: &str, allowed: fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match b.get(i + 1..i + 3) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => i += 3,
                _ => return false,
            }
        } else if allowed(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `authority = [ userinfo "@" ] host [ ":" port ]`. An empty host is valid in a URI
/// (`file:///x`) but not as the domain asking for a signature.
fn check_authority(s: &str, require_host: bool) -> Result<(), &'static str> {
    let host_port = match s.split_once('@') {
        Some((userinfo, rest)) => {
            if !all_allowed(userinfo, |b| {
                is_unreserved(b) || is_sub_delim(b) || b == b':'
            }) {
                return Err("the userinfo has a character RFC 3986 does not allow");
            }
            rest
        }
        None => s,
    };
    let port = if let Some(rest) = host_port.strip_prefix('[') {
        let (literal, after) = rest
            .split_once(']')
            .ok_or("an IP literal `[` has no closing `]`")?;
        check_ip_literal(literal)?;
        if after.is_empty() {
            None
        } else {
            Some(
                after
                    .strip_prefix(':')
                    .ok_or("only `:port` may follow an IP literal")?,
            )
        }
    } else {
        // A reg-name (which covers IPv4 addresses) holds no `:`, so the first one starts the port.
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if host.is_empty() && require_host {
            return Err("no host");
        }
        if !all_allowed(host, |b| is_unreserved(b) || is_sub_delim(b)) {
            return Err("the host has a character RFC 3986 does not allow");
        }
        port
    };
    match port {
        Some(port) if !port.bytes().all(|b| b.is_ascii_digit()) => Err("the port must be digits"),
        _ => Ok(()),
    }
}

/// `IP-literal` without its brackets: an IPv6 address or `IPvFuture`.
fn check_ip_literal(s: &str) -> Result<(), &'static str> {
    if let Some(future) = s.strip_prefix(['v', 'V']) {
        // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        let (version, address) = future.split_once('.').ok_or("bad IPvFuture literal")?;
        let good = !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_hexdigit())
            && !address.is_empty()
            && address
                .bytes()
                .all(|b| is_unreserved(b) || is_sub_delim(b) || b == b':');
        return if good {
            Ok(())
        } else {
            Err("bad IPvFuture literal")
        };
    }
    // The standard library's IPv6 grammar is RFC 4291's, which RFC 3986's IPv6address follows
    // (zone identifiers are in neither).
    s.parse::<Ipv6Addr>()
        .map(|_| ())
        .map_err(|_| "bad IPv6 address")
}

/// RFC 3986 `URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ]`.
fn check_uri(s: &str) -> Result<(), &'static str> {
    let (scheme, rest) = s.split_once(':').ok_or("no `scheme:`")?;
    if !is_scheme(scheme) {
        return Err("the scheme must be a letter, then letters, digits, `+`, `-` or `.`");
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (rest, None),
    };
    if let Some(fragment) = fragment
        && !all_allowed(fragment, |b| is_pchar(b) || b == b'/' || b == b'?')
    {
        return Err("the fragment has a character RFC 3986 does not allow");
    }
    let (hier, query) = match rest.split_once('?') {
        Some((hier, query)) => (hier, Some(query)),
        None => (rest, None),
    };
    if let Some(query) = query
        && !all_allowed(query, |b| is_pchar(b) || b == b'/' || b == b'?')
    {
        return Err("the query has a character RFC 3986 does not allow");
    }
    // hier-part = "//" authority path-abempty / path-absolute / path-rootless / path-empty. Past
    // the authority, and in the forms without one (which cannot start with "//" since that
    // would be an authority), every one of them is a run of pchars and slashes.
    let path = match hier.strip_prefix("//") {
        Some(after) => {
            let split = after.find('/').unwrap_or(after.len());
            check_authority(&after[..split], false)?;
            &after[split..]
        }
        None => hier,
    };
    if !all_allowed(path, |b| is_pchar(b) || b == b'/') {
        return Err("the path has a character RFC 3986 does not allow");
    }
    Ok(())
}

/// The value of an all-digit byte string (at most 4 digits here, so no overflow).
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12, day valid for it).
///
/// Counts in eras of 400 years (146,097 days, the Gregorian cycle) with the year starting on
/// March 1, so the leap day is the last day of its year and month lengths from March on follow
/// the pattern `(153 * m + 2) / 5`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let march_month = if month > 2 { month - 3 } else { month + 9 }; // March = 0
    let day_of_year = (153 * march_month + 2) / 5 + day - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days from 0000-03-01 (era 0, day 0) to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097); // 0..=146096
    // Undo the 365-day years, the 4-year leap days, the 100-year exceptions and the last day of
    // the 400-year cycle to find the year within the era.
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (1..=12, 1..=31).
    (year, month as u32, day as u32)
}

fn parse_time(s: &str) -> Result<u64, &'static str> {
    let b = s.as_bytes();
    // full-date "T" partial-time, the shortest being `YYYY-MM-DDTHH:MM:SSZ`.
    if b.len() < 20 {
        return Err("too short for YYYY-MM-DDTHH:MM:SSZ");
    }
    let layout = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':';
    let field = |from: usize, to: usize| digits(&b[from..to]);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        field(0, 4),
        field(5, 7),
        field(8, 10),
        field(11, 13),
        field(14, 16),
        field(17, 19),
    ) else {
        return Err("not of the form YYYY-MM-DDTHH:MM:SS");
    };
    if !layout {
        return Err("not of the form YYYY-MM-DDTHH:MM:SS");
    }
    let year = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("no such day in that month");
    }
    if hour > 23 {
        return Err("hour out of range");
    }
    if minute > 59 {
        return Err("minute out of range");
    }
    if second > 60 {
        return Err("second out of range");
    }

    let mut rest = &b[19..];
    if let Some(after_point) = rest.strip_prefix(b".") {
        let n = after_point
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if n == 0 {
            return Err("a decimal point needs digits after it");
        }
        // Fractional seconds are dropped: times are whole unix seconds.
        rest = &after_point[n..];
    }
    let offset: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (Some(off_hour), Some(off_minute)) = (digits(&[*h1, *h2]), digits(&[*m1, *m2]))
            else {
                return Err("bad offset, expected Z or ±HH:MM");
            };
            if off_hour > 23 || off_minute > 59 {
                return Err("offset out of range");
            }
            let magnitude = i64::from(off_hour) * 3600 + i64::from(off_minute) * 60;
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        _ => return Err("bad offset, expected Z or ±HH:MM"),
    };

    let local = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    // Local time is UTC plus the offset.
    u64::try_from(local - offset).map_err(|_| "before 1970-01-01T00:00:00Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example of the EIP-4361 text (`service.org`), with every optional field added.
    const FULL: &str = "service.org wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ServiceOrg Terms of Service: https://service.org/tos

URI: https://service.org/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Expiration Time: 2021-10-30T16:25:24Z
Not Before: 2021-09-30T16:25:24Z
Request ID: some_id
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json";

    fn full() -> SiweMessage {
        SiweMessage {
            domain: "service.org".into(),
            address: "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
                .parse()
                .unwrap(),
            statement: Some(
                "I accept the ServiceOrg Terms of Service: https://service.org/tos".into(),
            ),
            uri: "https://service.org/login".into(),
            version: "1".into(),
            chain_id: 1,
            nonce: "32891756".into(),
            issued_at: 1_633_019_124,
            expiration_time: Some(1_633_019_124 + 30 * 86_400),
            not_before: Some(1_633_019_124),
            request_id: Some("some_id".into()),
            resources: vec![
                "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/".into(),
                "https://example.com/my-web2-claim.json".into(),
            ],
        }
    }

    /// `FULL` with one line replaced (1-based), or removed when `with` is `None`.
    fn edit(line: usize, with: Option<&str>) -> String {
        let mut lines: Vec<&str> = FULL.split('\n').collect();
        match with {
            Some(text) => lines[line - 1] = text,
            None => {
                lines.remove(line - 1);
            }
        }
        lines.join("\n")
    }

    fn err(text: &str) -> SiweError {
        SiweMessage::parse(text).expect_err(text)
    }

    #[test]
    fn parses_and_prints_the_full_example() {
        let m = SiweMessage::parse(FULL).unwrap();
        assert_eq!(m, full());
        assert_eq!(m.to_text(), FULL);
        assert_eq!(m.to_string(), FULL);
        m.validate().unwrap();
    }

    #[test]
    fn parses_the_eip_examples_and_upstream_positive_vectors() {
        // Two of the three examples of the current EIP-4361 text (the third names a scheme, see
        // `malformed_messages_get_specific_errors`), and cases from spruceid/siwe's
        // test/parsing_positive.json (userinfo, IP literals, offsets, fractional seconds).
        let base = edit(11, None).replace("\nNot Before: 2021-09-30T16:25:24Z", "");
        let base = base.replace("\nRequest ID: some_id", "");
        type Check = fn(&SiweMessage) -> bool;
        let cases: [(&str, &str, Check); 11] = [
            ("service.org", "example.com", |m| m.domain == "example.com"),
            ("service.org", "example.com:3388", |m| {
                m.domain == "example.com:3388"
            }),
            ("service.org wants", "test@127.0.0.1:8080 wants", |m| {
                m.domain == "test@127.0.0.1:8080"
            }),
            ("service.org wants", "[::cafe] wants", |m| {
                m.domain == "[::cafe]"
            }),
            (
                "URI: https://service.org/login",
                "URI: https://127.0.0.1/?query=one#begin",
                |m| m.uri == "https://127.0.0.1/?query=one#begin",
            ),
            (
                "URI: https://service.org/login",
                "URI: https://[::cafe]:4361",
                |m| m.uri == "https://[::cafe]:4361",
            ),
            (
                "URI: https://service.org/login",
                "URI: did:key:z6Mktud6LcDFb3heS7FFWoJhiCafmUPkCAgpvJLv5E6fgBJg#z6Mktud6LcDFb3heS7FFWoJhiCafmUPkCAgpvJLv5E6fgBJg",
                |m| m.uri.starts_with("did:key:"),
            ),
            ("16:25:24Z", "16:25:24.000Z", |m| {
                m.issued_at == 1_633_019_124
            }),
            ("16:25:24Z", "16:25:24-02:00", |m| {
                m.issued_at == 1_633_026_324
            }),
            ("Chain ID: 1", "Chain ID: 4", |m| m.chain_id == 4),
            (
                "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
                |m| m.address.to_checksum() == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            ),
        ];
        for (from, to, check) in cases {
            let text = base.replacen(from, to, 1);
            assert_ne!(text, base, "{from}");
            let m = SiweMessage::parse(&text).unwrap_or_else(|e| panic!("{to}: {e}"));
            assert!(check(&m), "{to}: {m:?}");
            assert_eq!(SiweMessage::parse(&m.to_text()).unwrap(), m);
        }
    }

    #[test]
    fn statement_forms() {
        // No statement: two empty lines between the address and `URI:`.
        let none = FULL.replace(
            "\nI accept the ServiceOrg Terms of Service: https://service.org/tos\n",
            "\n",
        );
        let m = SiweMessage::parse(&none).unwrap();
        assert_eq!(m.statement, None);
        assert_eq!(m.to_text(), none);
        // An empty statement: three, and it prints back the same way.
        let empty = none.replace("Cc2\n\n\n", "Cc2\n\n\n\n");
        let m = SiweMessage::parse(&empty).unwrap();
        assert_eq!(m.statement.as_deref(), Some(""));
        assert_eq!(m.to_text(), empty);
        // Four is one too many.
        let four = none.replace("Cc2\n\n\n", "Cc2\n\n\n\n\n");
        assert!(matches!(
            err(&four),
            SiweError::Expected {
                line: 6,
                expected: "`URI: <uri>`",
                ..
            }
        ));
    }

    #[test]
    fn optional_fields_may_each_be_absent() {
        for drop in [11, 12, 13] {
            let m = SiweMessage::parse(&edit(drop, None)).unwrap();
            assert_eq!(m.expiration_time.is_none(), drop == 11);
            assert_eq!(m.not_before.is_none(), drop == 12);
            assert_eq!(m.request_id.is_none(), drop == 13);
        }
        // `Resources:` with no entries reads as no resources (the JS library writes it so).
        let text = FULL.split("\n- ").next().unwrap();
        assert!(SiweMessage::parse(text).unwrap().resources.is_empty());
        // An empty request id is `*pchar`.
        let m = SiweMessage::parse(&edit(13, Some("Request ID: "))).unwrap();
        assert_eq!(m.request_id.as_deref(), Some(""));
        assert_eq!(SiweMessage::parse(&m.to_text()).unwrap(), m);
    }

    #[test]
    fn malformed_messages_get_specific_errors() {
        use SiweError as E;
        // Header.
        assert!(matches!(
            err(&FULL.replace("sign in with", "sign into")),
            E::Header { .. }
        ));
        assert!(matches!(
            err(&FULL.replacen("service.org", "", 1)),
            E::Domain {
                reason: "no host",
                ..
            }
        ));
        assert!(matches!(
            err(&FULL.replacen("service.org", "#notrfc4501", 1)),
            E::Domain { .. }
        ));
        assert!(matches!(
            err(&FULL.replacen("service.org", "service org", 1)),
            E::Domain { .. }
        ));
        assert!(matches!(
            err(&FULL.replacen("service.org", "service.org:80a", 1)),
            E::Domain {
                reason: "the port must be digits",
                ..
            }
        ));
        assert!(matches!(
            err(&FULL.replacen("service.org", "[::zz]", 1)),
            E::Domain { .. }
        ));
        for origin in [
            "https://service.org",
            "1https://service.org",
            "://service.org",
        ] {
            assert!(
                matches!(
                    err(&FULL.replacen("service.org", origin, 1)),
                    E::Scheme { .. }
                ),
                "{origin}"
            );
        }
        // Address.
        assert!(matches!(
            err(&FULL.replace("0xC02aaA", "0xc02aaA")),
            E::Address {
                line: 2,
                source: AddressError::Checksum(_)
            }
        ));
        assert!(matches!(
            err(&FULL.replace(
                "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                "0xC02AAA39B223FE8D0A0E5C4F27EAD9083C756CC2"
            )),
            E::Address {
                source: AddressError::Checksum(_),
                ..
            }
        ));
        assert!(matches!(
            err(&FULL.replace("0xC02aaA", "0XC02aaA")),
            E::Address {
                source: AddressError::Malformed(_),
                ..
            }
        ));
        assert!(matches!(
            err(&edit(2, Some(""))),
            E::Address {
                source: AddressError::Malformed(_),
                ..
            }
        ));
        // Blank lines and the statement.
        assert!(matches!(
            err(&edit(3, Some("x"))),
            E::Expected { line: 3, .. }
        ));
        assert!(matches!(
            err(&FULL.replace("Service: https", "Service: \nhttps")),
            E::Expected { line: 5, .. }
        ));
        assert!(matches!(
            err(&FULL.replace("ServiceOrg", "Service\"Org\"")),
            E::Statement { line: 4, ch: '"' }
        ));
        assert!(matches!(
            err(&FULL.replace("ServiceOrg", "ServiceÖrg")),
            E::Statement { ch: 'Ö', .. }
        ));
        assert!(matches!(
            err(&FULL.replace("Service", "100% Service")),
            E::Statement { ch: '%', .. }
        ));
        let no_blank = FULL.replace(
            "I accept the ServiceOrg Terms of Service: https://service.org/tos\n\n",
            "",
        );
        assert!(matches!(
            err(&no_blank),
            E::Expected {
                line: 4,
                expected: "an empty line before `URI: `",
                ..
            }
        ));
        // Missing and misplaced fields.
        assert!(matches!(
            err(&edit(6, None)),
            E::OutOfOrder {
                line: 6,
                field: "Version",
                expected: "`URI: <uri>`"
            }
        ));
        assert!(matches!(
            err(&edit(7, Some(""))),
            E::Expected {
                line: 7,
                expected: "`Version: 1`",
                ..
            }
        ));
        assert!(matches!(
            err(&edit(9, Some("Issued At: 2021-09-30T16:25:24Z"))),
            E::OutOfOrder {
                line: 9,
                field: "Issued At",
                ..
            }
        ));
        assert!(matches!(
            err(FULL.split("\nNonce").next().unwrap()),
            E::Truncated { line: 9, .. }
        ));
        let truncated = format!("{}\n", FULL.split("Nonce").next().unwrap().trim_end());
        assert!(matches!(err(&truncated), E::Truncated { line: 9, .. }));
        let swapped = FULL.replace(
            "Expiration Time: 2021-10-30T16:25:24Z\nNot Before: 2021-09-30T16:25:24Z",
            "Not Before: 2021-09-30T16:25:24Z\nExpiration Time: 2021-10-30T16:25:24Z",
        );
        assert!(matches!(
            err(&swapped),
            E::OutOfOrder {
                line: 12,
                field: "Expiration Time",
                ..
            }
        ));
        assert!(matches!(
            err(&format!("{FULL}\nRequest ID: again")),
            E::OutOfOrder {
                line: 17,
                field: "Request ID",
                ..
            }
        ));
        // Field values.
        assert!(matches!(
            err(&edit(6, Some("URI: :not_a_rfc3986_valid_uri_"))),
            E::Uri {
                line: 6,
                field: "URI",
                ..
            }
        ));
        assert!(matches!(
            err(&edit(6, Some("URI: https://service.org/a b"))),
            E::Uri { line: 6, .. }
        ));
        assert!(matches!(
            err(&edit(6, Some("URI: https://service.org/%zz"))),
            E::Uri { line: 6, .. }
        ));
        assert!(matches!(
            err(&edit(7, Some("Version: 3"))),
            E::Version { line: 7, .. }
        ));
        for bad in ["?", "", "-1", "1.0", "18446744073709551616", " 1"] {
            assert!(
                matches!(
                    err(&edit(8, Some(&format!("Chain ID: {bad}")))),
                    E::ChainId { line: 8, .. }
                ),
                "{bad}"
            );
        }
        assert_eq!(
            SiweMessage::parse(&edit(8, Some("Chain ID: 18446744073709551615")))
                .unwrap()
                .chain_id,
            u64::MAX
        );
        for bad in ["1234567", "1234567!", "12345678 ", "abcdéfghi", ""] {
            assert!(
                matches!(
                    err(&edit(9, Some(&format!("Nonce: {bad}")))),
                    E::Nonce { line: 9, .. }
                ),
                "{bad}"
            );
        }
        for (line, tag, field) in [
            (10, "Issued At: ", "Issued At"),
            (11, "Expiration Time: ", "Expiration Time"),
            (12, "Not Before: ", "Not Before"),
        ] {
            for bad in [
                "Wed Oct 05 2011 16:48:00 GMT+0200 (CEST)",
                "2021-02-29T00:00:00Z",
                "2021-13-01T00:00:00Z",
                "2021-09-30T24:00:00Z",
                "2021-09-30 16:25:24Z",
                "1969-12-31T23:59:59Z",
            ] {
                let e = err(&edit(line, Some(&format!("{tag}{bad}"))));
                assert!(
                    matches!(e, E::Time { line: l, field: f, .. } if l == line && f == field),
                    "{bad}: {e}"
                );
            }
        }
        assert!(matches!(
            err(&edit(13, Some("Request ID: a b"))),
            E::RequestId { line: 13, .. }
        ));
        assert!(matches!(
            err(&edit(
                15,
                Some("- https://service.org/login - https://service.org/login/2")
            )),
            E::Uri {
                line: 15,
                field: "resource",
                ..
            }
        ));
        assert!(matches!(
            err(&edit(16, Some("-https://example.com"))),
            E::Expected { line: 16, .. }
        ));
        // Trailing garbage, a final line break, CRLF, size.
        assert!(matches!(
            err(&format!("{FULL}\n")),
            E::TrailingNewline { line: 17 }
        ));
        assert!(matches!(
            err(&edit(14, None).replace("\n- ipfs", "\nextra\n- ipfs")),
            E::Trailing { line: 14, .. }
        ));
        let no_resources: String = FULL.split("\nResources:").next().unwrap().into();
        assert!(matches!(
            err(&format!("{no_resources}\ngarbage")),
            E::Trailing { line: 14, .. }
        ));
        assert!(matches!(
            err(&format!("{no_resources}\n")),
            E::TrailingNewline { line: 14 }
        ));
        assert!(matches!(
            err(&FULL.replace('\n', "\r\n")),
            E::CarriageReturn { line: 1 }
        ));
        assert!(matches!(
            err(&FULL.replace("Version: 1\n", "Version: 1\r\n")),
            E::CarriageReturn { line: 7 }
        ));
        let long = format!("{FULL}{}", "a".repeat(MAX_MESSAGE_BYTES));
        assert!(matches!(err(&long), E::TooLong { .. }));
        assert!(matches!(err(""), E::Header { .. }));
    }

    #[test]
    fn errors_read_well() {
        let e = err(&edit(9, Some("Nonce: short")));
        assert_eq!(
            e.to_string(),
            "line 9: Nonce \"short\" must be at least 8 ASCII letters or digits"
        );
        let e = err(&FULL.replace("0xC02aaA", "0xc02aaA"));
        assert!(e.to_string().starts_with("line 2: address 0xc02aaA"), "{e}");
        let e = err(&edit(6, Some(&format!("URI: {}", "x".repeat(500)))));
        assert!(e.to_string().len() < 300, "{e}");
    }

    #[test]
    fn eip191_digests_of_hello() {
        // ethers' hashMessage("hello"), web3j's and geth's accounts.TextHash of the same bytes.
        assert_eq!(
            hex::encode(personal_digest(b"hello")),
            "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750"
        );
        // 0x456e9aea… is the digest of the 32-byte keccak256("hello") (what Solidity's
        // `toEthSignedMessageHash(keccak256("hello"))` gives), not of "hello" itself; it is the
        // hash in evm.codes' ecrecover precompile example, whose signature recovers to 0x7156….
        let hashed_hello = keccak256(b"hello");
        let digest = personal_digest(&hashed_hello);
        assert_eq!(
            hex::encode(digest),
            "456e9aea5e197a1f1af7a3e85a3212fa4049a3ba34c2289b4c860fc0b0c64ef3"
        );
        let signature = Signature::from_hex(concat!(
            "9242685bf161793cc25603c231bc2f568eb630ea16aa137d2664ac8038825608",
            "4f8ae3bd7535248d0bd448298cc2e2071e56992d0774dc340c368ae950852ada",
            "1c"
        ))
        .unwrap();
        assert_eq!(
            signature
                .recover(&digest)
                .unwrap()
                .to_checksum()
                .to_lowercase(),
            "0x7156526fbd7a3c72969b54f64e42c10fbb768c8a"
        );
    }

    #[test]
    fn personal_sign_matches_web3js() {
        // The web3.js documentation's example (web3.eth.accounts.sign, v1.2.2 docs):
        // sign("Some data", 0x4c0883a6…3f362318) gives this message hash and signature.
        let key = SecretKey::from_bytes(
            &hex::decode("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            key.address().to_checksum(),
            "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
        );
        assert_eq!(
            hex::encode(personal_digest(b"Some data")),
            "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655"
        );
        let signature = sign_personal(&key, b"Some data");
        assert_eq!(
            signature.to_string(),
            "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c"
        );
    }

    /// Messages and signatures made by real wallets, from spruceid/siwe-rs (src/lib.rs tests) and
    /// spruceid/siwe (test/verification_positive.json, whose fields are laid out here the way
    /// its `toMessage` writes them).
    const WALLET_VECTORS: [(&str, &str, &str); 6] = [
        (
            "localhost:4361 wants you to sign in with your Ethereum account:
0x6Da01670d8fc844e736095918bbE11fE8D564163

SIWE Notepad Example

URI: http://localhost:4361
Version: 1
Chain ID: 1
Nonce: kEWepMt9knR6lWJ6A
Issued At: 2021-12-07T18:28:18.807Z",
            "0x6228b3ecd7bf2df018183aeab6b6f1db1e9f4e3cbe24560404112e25363540eb679934908143224d746bbb5e1aa65ab435684081f4dbb74a0fec57f98f40f5051c",
            "0x6Da01670d8fc844e736095918bbE11fE8D564163",
        ),
        (
            "localhost wants you to sign in with your Ethereum account:
0x4b60ffAf6fD681AbcC270Faf4472011A4A14724C

Allow localhost to access your orbit using their temporary session key: did:key:z6Mktud6LcDFb3heS7FFWoJhiCafmUPkCAgpvJLv5E6fgBJg#z6Mktud6LcDFb3heS7FFWoJhiCafmUPkCAgpvJLv5E6fgBJg

URI: did:key:z6Mktud6LcDFb3heS7FFWoJhiCafmUPkCAgpvJLv5E6fgBJg#z6Mktud6LcDFb3heS7FFWoJhiCafmUPkCAgpvJLv5E6fgBJg
Version: 1
Chain ID: 1
Nonce: PPrtjztx2lYqWbqNs
Issued At: 2021-12-20T12:29:25.907Z
Expiration Time: 2021-12-20T12:44:25.906Z
Resources:
- kepler://bafk2bzacecn2cdbtzho72x4c62fcxvcqj23padh47s5jyyrv42mtca3yrhlpa#put
- kepler://bafk2bzacecn2cdbtzho72x4c62fcxvcqj23padh47s5jyyrv42mtca3yrhlpa#del
- kepler://bafk2bzacecn2cdbtzho72x4c62fcxvcqj23padh47s5jyyrv42mtca3yrhlpa#get
- kepler://bafk2bzacecn2cdbtzho72x4c62fcxvcqj23padh47s5jyyrv42mtca3yrhlpa#list",
            "0x20c0da863b3dbfbb2acc0fb3b9ec6daefa38f3f20c997c283c4818ebeca96878787f84fccc25c4087ccb31ebd782ae1d2f74be076a49c0a8604419e41507e9381c",
            "0x4b60ffAf6fD681AbcC270Faf4472011A4A14724C",
        ),
        (
            "login.xyz wants you to sign in with your Ethereum account:
0x9D85ca56217D2bb651b00f15e694EB7E713637D4

Sign-In With Ethereum Example Statement

URI: https://login.xyz
Version: 1
Chain ID: 1
Nonce: bTyXgcQxn2htgkjJn
Issued At: 2022-01-27T17:09:38.578Z
Expiration Time: 2100-01-07T14:31:43.952Z",
            "0xdc35c7f8ba2720df052e0092556456127f00f7707eaa8e3bbff7e56774e7f2e05a093cfc9e02964c33d86e8e066e221b7d153d27e5a2e97ccd5ca7d3f2ce06cb1b",
            "0x9D85ca56217D2bb651b00f15e694EB7E713637D4",
        ),
        (
            "login.xyz wants you to sign in with your Ethereum account:
0xE6D3Aa1F561A215E5eb1f02Ba8705385F03fCaFB

Sign-In With Ethereum Example Statement

URI: https://login.xyz
Version: 1
Chain ID: 1
Nonce: lx2nx4so
Issued At: 2022-01-05T14:27:30.883Z
Not Before: 2100-01-07T14:31:43.952Z",
            "0xc2539ace78f13c7eb8c0852d38d269a6f97bebd9f7872097d2e3137b541f8bf50176062a46eeea83086bd2721423fb5755a932ff6ccc046ed482d14e4576042f1c",
            "0xE6D3Aa1F561A215E5eb1f02Ba8705385F03fCaFB",
        ),
        (
            "login.xyz wants you to sign in with your Ethereum account:
0x2ecA0068307e706741445764A3D6A4402aC2A5a9

Sign-In With Ethereum Example Statement

URI: https://login.xyz
Version: 1
Chain ID: 1
Nonce: lx2nx4so
Issued At: 2022-01-05T14:27:30.883Z
Expiration Time: 2021-01-05T00:00:00Z",
            "0x7337bc2826c7678cd6bc84f5b3b236efc969b0451f9feca2328b1d3401b030c113f19bdba359ba3f52762c66e9147311fa95fe598a1a4ec9bb383a7b4e3874241b",
            "0x2ecA0068307e706741445764A3D6A4402aC2A5a9",
        ),
        (
            // Its signature ends in v = 0x01, as some wallets (Ledger) write it.
            "www.tally.xyz wants you to sign in with your Ethereum account:
0xc95EB884FE852e241D409234bfC7045CB9E31BD7

Sign in with Ethereum to Tally

URI: https://tally.xyz
Version: 1
Chain ID: 1
Nonce: 15050747
Issued At: 2022-06-30T14:08:51.382Z",
            "0x8c46b6eb8505939892d8e9b075f89f8277321b17b993151f37810cdda38cce6f4a85909d2b53e6a14629c74c0ac38bf4becde78ee5b2529812bf6cceaf7b2a2501",
            "0xc95EB884FE852e241D409234bfC7045CB9E31BD7",
        ),
    ];

    #[test]
    fn wallet_signatures_verify() {
        for (text, signature, signer) in WALLET_VECTORS {
            let signature = Signature::from_hex(signature).unwrap();
            let m = SiweMessage::verify_signature(text, &signature)
                .unwrap_or_else(|e| panic!("{signer}: {e}"));
            assert_eq!(m.address.to_checksum(), signer);
            // One byte of r changed: some other key, or none.
            let mut tampered = signature;
            tampered.0[0] ^= 0x10;
            assert!(SiweMessage::verify_signature(text, &tampered).is_err());
            // The signature binds the exact text: the same fields reprinted (no milliseconds)
            // are a different message.
            let reprint = m.to_text();
            assert_ne!(reprint, text);
            assert!(matches!(
                SiweMessage::verify_signature(&reprint, &signature),
                Err(SiweError::WrongSigner { .. })
            ));
        }
    }

    #[test]
    fn wallet_vectors_times() {
        let [_, _, example, not_yet, expired, _] =
            WALLET_VECTORS.map(|(text, _, _)| SiweMessage::parse(text).unwrap());
        let t = |s| parse_rfc3339(s).unwrap();
        assert_eq!(example.issued_at, 1_643_303_378);
        assert_eq!(example.check_time(t("2022-06-01T00:00:00Z"), 60), Ok(()));
        assert!(matches!(
            example.check_time(t("2022-01-27T17:07:00Z"), 60),
            Err(SiweError::IssuedInFuture { .. })
        ));
        assert_eq!(not_yet.check_time(t("2101-01-07T14:31:43.952Z"), 0), Ok(()));
        assert!(matches!(
            not_yet.check_time(t("2022-06-01T00:00:00Z"), 60),
            Err(SiweError::NotYetValid { .. })
        ));
        assert!(matches!(
            expired.check_time(t("2022-06-01T00:00:00Z"), 60),
            Err(SiweError::Expired { .. })
        ));
    }

    #[test]
    fn sign_then_verify() {
        let key = SecretKey::from_bytes(&keccak256(b"cow")).unwrap();
        let mut m = full();
        m.address = key.address();
        m.validate().unwrap();
        let text = m.to_text();
        let signature = sign_personal(&key, text.as_bytes());
        assert_eq!(
            SiweMessage::verify_signature(&text, &signature),
            Ok(m.clone())
        );
        // v as 0/1 is the same signature.
        let mut zero_based = signature;
        zero_based.0[64] -= 27;
        assert_eq!(
            SiweMessage::verify_signature(&text, &zero_based),
            Ok(m.clone())
        );
        // Someone else's key over a message naming this address.
        let other = sign_personal(
            &SecretKey::from_bytes(&keccak256(b"dog")).unwrap(),
            text.as_bytes(),
        );
        assert!(matches!(
            SiweMessage::verify_signature(&text, &other),
            Err(SiweError::WrongSigner { .. })
        ));
        // A bad v is the signature's error, after the message parsed.
        let mut bad_v = signature;
        bad_v.0[64] = 29;
        assert_eq!(
            SiweMessage::verify_signature(&text, &bad_v),
            Err(SiweError::Signature(SignatureError::BadV(29)))
        );
        // An unparsable text is refused before the signature is looked at.
        assert!(matches!(
            SiweMessage::verify_signature("hello", &signature),
            Err(SiweError::Header { .. })
        ));
        // The lower-case address form verifies too: the signature covers what was shown.
        let lower = text.replace(
            &m.address.to_checksum(),
            &m.address.to_checksum().to_lowercase(),
        );
        let signature = sign_personal(&key, lower.as_bytes());
        assert_eq!(SiweMessage::verify_signature(&lower, &signature), Ok(m));
    }

    #[test]
    fn check_time_bounds() {
        let mut m = full();
        m.issued_at = 1000;
        m.not_before = Some(1100);
        m.expiration_time = Some(2000);
        assert!(matches!(
            m.check_time(900, 50),
            Err(SiweError::IssuedInFuture { .. })
        ));
        assert!(matches!(
            m.check_time(1000, 0),
            Err(SiweError::NotYetValid { .. })
        ));
        assert_eq!(m.check_time(1050, 50), Ok(()));
        assert_eq!(m.check_time(1100, 0), Ok(()));
        assert_eq!(m.check_time(1999, 0), Ok(()));
        assert!(matches!(
            m.check_time(2000, 1000),
            Err(SiweError::Expired { .. })
        ));
        m.not_before = None;
        m.expiration_time = None;
        assert_eq!(m.check_time(u64::MAX, u64::MAX), Ok(()));
        assert_eq!(m.check_time(950, 50), Ok(()));
    }

    #[test]
    fn validate_catches_unprintable_fields() {
        // A line break smuggled into a field can make the text parse as another message.
        let mut m = full();
        m.resources.clear();
        m.request_id = Some("x\nResources:\n- https://evil.example".into());
        assert_eq!(m.validate(), Err(SiweError::Unprintable));
        let mut m = full();
        m.request_id = Some("x\nResources:\n- https://evil.example".into());
        assert!(matches!(m.validate(), Err(SiweError::OutOfOrder { .. })));
        let mut m = full();
        m.statement = Some("two\nlines".into());
        assert!(m.validate().is_err());
        let mut m = full();
        m.nonce = "short".into();
        assert!(matches!(m.validate(), Err(SiweError::Nonce { .. })));
        let mut m = full();
        m.issued_at = MAX_TIME + 1;
        assert!(matches!(m.validate(), Err(SiweError::Time { .. })));
    }

    #[test]
    fn rfc3339_known_values() {
        // Values from Python's datetime.fromisoformat(…).timestamp().
        for (text, t) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("2001-09-09T01:46:40Z", 1_000_000_000),
            ("2021-09-30T16:25:24Z", 1_633_019_124),
            ("2100-02-28T23:59:59Z", 4_107_542_399),
            ("9999-12-31T23:59:59Z", MAX_TIME),
        ] {
            assert_eq!(rfc3339(t), text);
            assert_eq!(parse_rfc3339(text), Ok(t));
        }
        for (text, t) in [
            ("2021-09-30T16:25:24-02:00", 1_633_026_324),
            ("2024-02-29T12:00:00+05:30", 1_709_188_200),
            ("1969-12-31T23:30:00-01:00", 1800),
            ("2021-09-30t16:25:24.999999999z", 1_633_019_124),
            ("2021-09-30T16:25:24.5-00:00", 1_633_019_124),
            ("2016-12-31T23:59:60Z", 1_483_228_800),
        ] {
            assert_eq!(parse_rfc3339(text), Ok(t), "{text}");
        }
        for bad in [
            "",
            "2021-09-30T16:25:24",
            "2021-09-30T16:25:24ZZ",
            "2021-09-30T16:25:24.Z",
            "2021-09-30T16:25:24+0200",
            "2021-09-30T16:25:24+24:00",
            "2021-09-30T16:25:24+02:60",
            "2021-09-30T16:25:61Z",
            "2021-09-30T16:60:00Z",
            "2021-09-30T24:00:00Z",
            "2021-09-31T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2021-00-10T00:00:00Z",
            "2021-13-10T00:00:00Z",
            "2021-09-00T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "21-09-30T16:25:24Z",
            "2021-9-30T16:25:24Z",
            "+021-09-30T16:25:24Z",
            "2021-09-30T16:25:24Zé",
            "2021-09-30é16:25:24Z",
        ] {
            assert!(
                matches!(parse_rfc3339(bad), Err(SiweError::BadTime { .. })),
                "{bad}"
            );
        }
        // Past year 9999 the text has a fifth digit, which no RFC 3339 reader takes.
        assert_eq!(rfc3339(MAX_TIME + 1), "10000-01-01T00:00:00Z");
        assert!(rfc3339(u64::MAX).ends_with('Z'));
    }

    #[test]
    fn civil_day_conversions_agree_for_every_day() {
        // Walk every day from 1970 through 9999, checking the pair of conversions against each
        // other and against a plain day-by-day calendar.
        let (mut year, mut month, mut day) = (1970, 1, 1);
        for days in 0..=days_from_civil(9999, 12, 31) {
            assert_eq!(days_from_civil(year, month, day), days);
            assert_eq!(civil_from_days(days), (year, month, day));
            day += 1;
            if day > days_in_month(year, month) {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
        assert_eq!(year, 10000);
        // And before the epoch, which `civil_from_days` must get right for the algorithm's
        // negative eras even though no parsed time lands there.
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(1600, 2, 29)), (1600, 2, 29));
    }

    fn uri() -> impl Strategy<Value = String> {
        prop_oneof![
            "https://[a-z]{1,10}\\.example(:[0-9]{1,5})?(/[a-zA-Z0-9._~-]{0,8}){0,3}(\\?[a-z=&]{0,8})?(#[a-z]{0,6})?",
            "did:key:z[1-9A-Za-z]{8,40}(#z[1-9A-Za-z]{4,10})?",
            "urn:[a-z]{1,8}:[a-zA-Z0-9:@!$&'()*+,;=-]{0,20}(%[0-9a-fA-F]{2})?",
            "ipfs://[a-z2-7]{10,40}/?",
            "http://\\[::[0-9a-f]{1,4}\\]:[0-9]{0,4}/x",
        ]
        .prop_filter("valid uri", |s| check_uri(s).is_ok())
    }

    fn time() -> impl Strategy<Value = u64> {
        prop_oneof![0..=MAX_TIME, 1_600_000_000u64..2_000_000_000]
    }

    fn message() -> impl Strategy<Value = SiweMessage> {
        (
            (
                prop_oneof![
                    "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,12}){0,3}(:[0-9]{1,5})?",
                    "[a-z]{1,6}@[a-z]{1,8}\\.example",
                    "\\[::1\\](:[0-9]{2,5})?",
                    "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
                ],
                any::<[u8; 20]>(),
                proptest::option::of("[A-Za-z0-9 :/?#\\[\\]@!$&'()*+,;=._~-]{0,80}"),
                uri(),
            ),
            (
                any::<u64>(),
                "[A-Za-z0-9]{8,24}",
                time(),
                proptest::option::of(time()),
                proptest::option::of(time()),
                proptest::option::of("[A-Za-z0-9._~:@!$&'()*+,;=-]{0,20}"),
                proptest::collection::vec(uri(), 0..4),
            ),
        )
            .prop_map(
                |(
                    (domain, address, statement, uri),
                    (
                        chain_id,
                        nonce,
                        issued_at,
                        expiration_time,
                        not_before,
                        request_id,
                        resources,
                    ),
                )| SiweMessage {
                    domain,
                    address: Address(address),
                    statement,
                    uri,
                    version: "1".into(),
                    chain_id,
                    nonce,
                    issued_at,
                    expiration_time,
                    not_before,
                    request_id,
                    resources,
                },
            )
    }

    /// Byte-level and line-level damage to a valid text.
    #[derive(Debug, Clone)]
    enum Mutation {
        Insert(usize, u8),
        Delete(usize),
        Replace(usize, u8),
        DropLine(usize),
        DuplicateLine(usize),
        SwapLines(usize, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let byte = prop_oneof![
            Just(b'\n'),
            Just(b'\r'),
            Just(b' '),
            Just(b':'),
            Just(b'-'),
            Just(b'0'),
            any::<u8>()
        ];
        prop_oneof![
            (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Insert(i, b)),
            any::<usize>().prop_map(Mutation::Delete),
            (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Replace(i, b)),
            any::<usize>().prop_map(Mutation::DropLine),
            any::<usize>().prop_map(Mutation::DuplicateLine),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        ]
    }

    fn mutate(text: &str, mutations: &[Mutation]) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        for m in mutations {
            let n = bytes.len().max(1);
            match *m {
                Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
                Mutation::Delete(i) if !bytes.is_empty() => {
                    bytes.remove(i % n);
                }
                Mutation::Replace(i, b) if !bytes.is_empty() => bytes[i % n] = b,
                Mutation::DropLine(i) | Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
                    let mut lines: Vec<Vec<u8>> =
                        bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                    let k = lines.len();
                    match *m {
                        Mutation::DropLine(_) => {
                            lines.remove(i % k);
                        }
                        Mutation::DuplicateLine(_) => {
                            let line = lines[i % k].clone();
                            lines.insert(i % k, line);
                        }
                        Mutation::SwapLines(_, j) => lines.swap(i % k, j % k),
                        _ => {}
                    }
                    bytes = lines.join(&b'\n');
                }
                _ => {}
            }
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn round_trip(m in message()) {
            let text = m.to_text();
            prop_assert_eq!(SiweMessage::parse(&text), Ok(m.clone()));
            prop_assert_eq!(m.validate(), Ok(()));
        }

        #[test]
        fn time_round_trip(t in 0..=MAX_TIME) {
            prop_assert_eq!(parse_rfc3339(&rfc3339(t)), Ok(t));
        }

        #[test]
        fn arbitrary_strings_do_not_panic(s in any::<String>(), t in "\\PC*") {
            let _ = SiweMessage::parse(&s);
            let _ = SiweMessage::parse(&t);
            let _ = parse_rfc3339(&s);
            let _ = parse_rfc3339(&t);
            let _ = SiweMessage::parse(&format!("{}{}", &FULL[..FULL.len() / 2], s));
        }

        #[test]
        fn mutations_do_not_panic_and_what_parses_round_trips(
            m in message(),
            mutations in proptest::collection::vec(mutation(), 1..4),
        ) {
            let bytes = mutate(&m.to_text(), &mutations);
            if let Ok(text) = std::str::from_utf8(&bytes)
                && let Ok(parsed) = SiweMessage::parse(text)
            {
                prop_assert_eq!(SiweMessage::parse(&parsed.to_text()), Ok(parsed.clone()));
            }
        }
    }
}
