//! Magnet links: BEP 9 (`xt=urn:btih:`) and BEP 52 (`xt=urn:btmh:` with a SHA-256 multihash).
//!
//! Parsing is strict about the BitTorrent hashes, because a wrong hash silently joins the wrong
//! swarm: hex or base32 `btih` only, `btmh` only with the sha2-256 multihash code, no two
//! different hashes of the same kind. URNs of other systems (`urn:sha1:`, `urn:ed2k:`, ...) that
//! some generators add next to a BitTorrent hash are ignored; a link with only such URNs is
//! refused, naming them.

use std::fmt;

use crate::{InfoHashes, MetainfoError};

/// Longest magnet link we parse; real ones with dozens of trackers stay well under this.
const MAX_MAGNET_LEN: usize = 64 * 1024;

/// sha2-256 in the multihash table, followed by its digest length.
const MULTIHASH_SHA256: u8 = 0x12;

/// A parsed magnet link.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Magnet {
    /// `xt=urn:btih:` (v1) and/or `xt=urn:btmh:` (v2).
    pub hashes: InfoHashes,
    /// `dn`: display name.
    pub name: Option<String>,
    /// `tr`: tracker URLs, in order.
    pub trackers: Vec<String>,
    /// `x.pe`: peer addresses (`host:port`).
    pub peers: Vec<String>,
}

impl Magnet {
    /// Parses `magnet:?xt=...&dn=...&tr=...`.
    pub fn parse(s: &str) -> Result<Magnet, MetainfoError> {
        let bad = |msg: String| MetainfoError::Magnet(msg);
        if s.len() > MAX_MAGNET_LEN {
            return Err(bad(format!(
                "{} bytes long, more than the limit of {MAX_MAGNET_LEN}",
                s.len()
            )));
        }
        let query = s
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("magnet:?"))
            .map(|_| &s[8..])
            .ok_or_else(|| bad("does not start with `magnet:?`".into()))?;

        let mut m = Magnet::default();
        let mut foreign: Vec<String> = Vec::new();
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = param.split_once('=').unwrap_or((param, ""));
            let value = percent_decode(raw).map_err(|e| bad(format!("parameter `{key}`: {e}")))?;
            let base = key.split_once('.').map_or(key, |(b, n)| {
                // `xt.1`, `tr.2`: numbered variants of a parameter.
                if n.bytes().all(|c| c.is_ascii_digit()) {
                    b
                } else {
                    key
                }
            });
            match base {
                "xt" => {
                    let value = String::from_utf8(value)
                        .map_err(|_| bad("`xt` is not valid UTF-8".into()))?;
                    parse_xt(&value, &mut m.hashes, &mut foreign)?;
                }
                "dn" => m.name = Some(String::from_utf8_lossy(&value).into_owned()),
                "tr" => {
                    let url = String::from_utf8(value)
                        .map_err(|_| bad("`tr` is not valid UTF-8".into()))?;
                    if !url.is_empty() && !m.trackers.contains(&url) {
                        m.trackers.push(url);
                    }
                }
                "x.pe" => {
                    let peer = String::from_utf8(value)
                        .map_err(|_| bad("`x.pe` is not valid UTF-8".into()))?;
                    if !peer.is_empty() {
                        m.peers.push(peer);
                    }
                }
                _ => {}
            }
        }
        if m.hashes.v1.is_none() && m.hashes.v2.is_none() {
            return Err(if foreign.is_empty() {
                bad("no `xt=urn:btih:` or `xt=urn:btmh:` parameter".into())
            } else {
                bad(format!(
                    "no BitTorrent hash; unsupported exact topic(s): {}",
                    foreign.join(", ")
                ))
            });
        }
        Ok(m)
    }
}

fn parse_xt(
    value: &str,
    hashes: &mut InfoHashes,
    foreign: &mut Vec<String>,
) -> Result<(), MetainfoError> {
    let bad = |msg: String| MetainfoError::Magnet(msg);
    let prefix = |p: &str| {
        value
            .get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .map(|_| &value[p.len()..])
    };
    if let Some(h) = prefix("urn:btih:") {
        let hash: [u8; 20] = match h.len() {
            40 => hex_array(h).ok_or_else(|| bad(format!("btih `{h}` is not valid hex")))?,
            32 => base32_20(h).ok_or_else(|| bad(format!("btih `{h}` is not valid base32")))?,
            n => {
                return Err(bad(format!(
                    "btih must be 40 hex or 32 base32 characters, got {n}"
                )));
            }
        };
        if hashes.v1.is_some_and(|old| old != hash) {
            return Err(bad("two different `urn:btih` hashes".into()));
        }
        hashes.v1 = Some(hash);
    } else if let Some(h) = prefix("urn:btmh:") {
        let bytes = hex::decode(h).map_err(|_| bad(format!("btmh `{h}` is not valid hex")))?;
        let (code, rest) = bytes
            .split_first()
            .ok_or_else(|| bad("empty btmh".into()))?;
        if *code != MULTIHASH_SHA256 {
            return Err(bad(format!(
                "unsupported multihash function 0x{code:02x} in btmh (BEP 52 uses sha2-256, 0x12)"
            )));
        }
        let hash: [u8; 32] = match rest.split_first() {
            Some((32, digest)) if digest.len() == 32 => {
                let mut out = [0u8; 32];
                out.copy_from_slice(digest);
                out
            }
            _ => {
                return Err(bad(
                    "btmh sha2-256 digest must be 32 bytes (prefix 1220 + 64 hex)".into(),
                ));
            }
        };
        if hashes.v2.is_some_and(|old| old != hash) {
            return Err(bad("two different `urn:btmh` hashes".into()));
        }
        hashes.v2 = Some(hash);
    } else {
        foreign.push(value.split(':').take(2).collect::<Vec<_>>().join(":"));
    }
    Ok(())
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// RFC 4648 base32 without padding, 32 characters -> 20 bytes.
fn base32_20(s: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    let mut n = 0usize;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
            acc &= (1u64 << bits) - 1;
        }
    }
    (n == 20 && bits == 0).then_some(out)
}

fn percent_decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape at character {i}"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn percent_encode(s: &str, out: &mut fmt::Formatter<'_>) -> fmt::Result {
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            write!(out, "{}", c as char)?;
        } else {
            write!(out, "%{c:02X}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Magnet {
    /// `magnet:?xt=urn:btih:<hex>&xt=urn:btmh:1220<hex>&dn=..&tr=..&x.pe=..`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("magnet:?")?;
        let mut sep = "";
        if let Some(v1) = self.hashes.v1 {
            write!(f, "xt=urn:btih:{}", hex::encode(v1))?;
            sep = "&";
        }
        if let Some(v2) = self.hashes.v2 {
            write!(f, "{sep}xt=urn:btmh:1220{}", hex::encode(v2))?;
            sep = "&";
        }
        if let Some(name) = &self.name {
            write!(f, "{sep}dn=")?;
            percent_encode(name, f)?;
            sep = "&";
        }
        for t in &self.trackers {
            write!(f, "{sep}tr=")?;
            percent_encode(t, f)?;
            sep = "&";
        }
        for p in &self.peers {
            write!(f, "{sep}x.pe=")?;
            percent_encode(p, f)?;
            sep = "&";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    #[test]
    fn parses_hex_and_base32_btih() {
        let m = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&dn=Some+Name%21")).unwrap();
        assert_eq!(hex::encode(m.hashes.v1.unwrap()), HEX);
        assert_eq!(m.name.as_deref(), Some("Some Name!"));
        // Same hash in base32.
        let m32 = Magnet::parse("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK").unwrap();
        assert_eq!(m32.hashes.v1, m.hashes.v1);
        let lower = Magnet::parse("MAGNET:?xt=URN:BTIH:yex6dqdlxisuvhoj6um3gnnkpqjwpkek").unwrap();
        assert_eq!(lower.hashes.v1, m.hashes.v1);
    }

    #[test]
    fn parses_btmh_and_round_trips() {
        let v2 = [0xabu8; 32];
        let m = Magnet {
            hashes: InfoHashes {
                v1: Some([7u8; 20]),
                v2: Some(v2),
            },
            name: Some("a b&c=d/é".into()),
            trackers: vec!["http://127.0.0.1:6969/announce?passkey=x&y=1".into()],
            peers: vec!["127.0.0.1:6881".into(), "[::1]:6881".into()],
        };
        let s = m.to_string();
        assert!(s.contains("xt=urn:btmh:1220abab"), "{s}");
        assert_eq!(Magnet::parse(&s).unwrap(), m);
    }

    #[test]
    fn rejects_bad_links() {
        let cases = [
            ("http://x", "magnet:?"),
            ("magnet:?dn=x", "no `xt"),
            ("magnet:?xt=urn:btih:1234", "40 hex or 32 base32"),
            (
                "magnet:?xt=urn:btih:zz2fe1c06bba254a9dc9f519b335aa7c1367a88a",
                "not valid hex",
            ),
            (
                "magnet:?xt=urn:btmh:1114aaaa",
                "unsupported multihash function 0x11",
            ),
            ("magnet:?xt=urn:btmh:1220abcd", "32 bytes"),
            (
                "magnet:?xt=urn:sha1:ABCDEF",
                "unsupported exact topic(s): urn:sha1",
            ),
            ("magnet:?xt=urn:btih:%zz", "percent escape"),
            ("magnet:?xt=urn:btih:%+1", "percent escape"),
        ];
        for (input, needle) in cases {
            let err = Magnet::parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
        let two = format!("magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{}", "0".repeat(40));
        assert!(
            Magnet::parse(&two)
                .unwrap_err()
                .to_string()
                .contains("two different")
        );
    }

    #[test]
    fn ignores_foreign_urns_next_to_a_bittorrent_hash() {
        let m = Magnet::parse(&format!("magnet:?xt=urn:ed2k:abc&xt.1=urn:btih:{HEX}")).unwrap();
        assert!(m.hashes.v1.is_some());
    }
}
