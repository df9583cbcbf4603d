//! BEP 10 extension protocol: the extension handshake, our registry of extension names, and the
//! ids a peer assigned to them.
//!
//! BEP 10 ids are per direction: each side announces, in its handshake's `m` dictionary, the id
//! it wants to *receive* each extension under. So an incoming `Extended { id, .. }` is resolved
//! with [`ExtensionRegistry::name_of_local`], and an outgoing one is addressed with
//! [`PeerExtensions::remote_id`].

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::bencode::{self, KeySet, Kind, Reader};
use crate::{Message, WireError};

/// Extended message id of the extension handshake itself.
pub const EXTENSION_HANDSHAKE_ID: u8 = 0;

/// The payload of an extended message with id 0.
///
/// Only the keys seedbank uses are kept; BEP 10 says unknown keys must be ignored, and they are
/// (after checking they are well-formed bencode).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionHandshake {
    /// Extension name -> the id the *sender* wants to receive it under; 0 disables it.
    pub m: BTreeMap<String, u8>,
    /// Client name and version. BEP 10 says UTF-8; invalid sequences are replaced rather than
    /// refused, because the name is only ever displayed and some old clients sent Latin-1.
    pub v: Option<String>,
    /// The sender's TCP listen port, so an incoming connection's peer can be dialled back.
    pub p: Option<u16>,
    /// How many outstanding requests the sender queues without dropping any.
    pub reqq: Option<u32>,
    /// Our address as the sender sees it: 4 bytes (IPv4) or 16 bytes (IPv6).
    pub yourip: Option<Vec<u8>>,
    /// BEP 9: size of the info dictionary, for peers fetching metadata.
    pub metadata_size: Option<u64>,
}

impl ExtensionHandshake {
    /// The bencoded dictionary, keys in canonical (sorted) order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 16 * self.m.len());
        out.push(b'd');
        bencode::put_bytes(&mut out, b"m");
        out.push(b'd');
        // BTreeMap<String, _> iterates in byte order of the UTF-8 keys, which is bencode order.
        for (name, id) in &self.m {
            bencode::put_bytes(&mut out, name.as_bytes());
            bencode::put_int(&mut out, i64::from(*id));
        }
        out.push(b'e');
        if let Some(size) = self.metadata_size {
            bencode::put_bytes(&mut out, b"metadata_size");
            // Sizes above i64::MAX cannot be expressed in bencode; no info dict comes close.
            bencode::put_int(&mut out, i64::try_from(size).unwrap_or(i64::MAX));
        }
        if let Some(port) = self.p {
            bencode::put_bytes(&mut out, b"p");
            bencode::put_int(&mut out, i64::from(port));
        }
        if let Some(reqq) = self.reqq {
            bencode::put_bytes(&mut out, b"reqq");
            bencode::put_int(&mut out, i64::from(reqq));
        }
        if let Some(client) = &self.v {
            bencode::put_bytes(&mut out, b"v");
            bencode::put_bytes(&mut out, client.as_bytes());
        }
        if let Some(ip) = &self.yourip {
            bencode::put_bytes(&mut out, b"yourip");
            bencode::put_bytes(&mut out, ip);
        }
        out.push(b'e');
        out
    }

    /// Parses a peer's handshake payload.
    ///
    /// Refused: invalid bencode, a non-dictionary, a known key with the wrong type or an
    /// out-of-range value (an `m` id above 255, a port above 65535, ...). `m` entries whose names
    /// are not UTF-8 are skipped: no extension seedbank speaks has such a name.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        let mut reader = Reader::new(payload);
        if reader.kind()? != Kind::Dict {
            return Err(WireError::ExtensionHandshakeNotDict);
        }
        reader.begin_dict()?;
        let mut seen = KeySet::default();
        let mut handshake = ExtensionHandshake::default();
        while !reader.at_end()? {
            let key = reader.key(&mut seen)?;
            match key {
                b"m" => handshake.m = decode_m(&mut reader)?,
                b"v" => {
                    let client = field_bytes(&mut reader, "v")?;
                    handshake.v = Some(String::from_utf8_lossy(client).into_owned());
                }
                b"p" => handshake.p = Some(field_int(&mut reader, "p", u16::MAX.into())?),
                b"reqq" => handshake.reqq = Some(field_int(&mut reader, "reqq", u32::MAX.into())?),
                b"metadata_size" => {
                    handshake.metadata_size =
                        Some(field_int(&mut reader, "metadata_size", i64::MAX)?)
                }
                b"yourip" => {
                    let ip = field_bytes(&mut reader, "yourip")?;
                    if ip.len() != 4 && ip.len() != 16 {
                        return Err(WireError::YourIpLength { len: ip.len() });
                    }
                    handshake.yourip = Some(ip.to_vec());
                }
                _ => reader.skip(1)?,
            }
        }
        reader.finish()?;
        Ok(handshake)
    }

    /// This handshake as the extended message that carries it.
    pub fn to_message(&self) -> Message {
        Message::Extended {
            id: EXTENSION_HANDSHAKE_ID,
            payload: Bytes::from(self.encode()),
        }
    }
}

fn expect_kind(
    reader: &Reader<'_>,
    key: &str,
    kind: Kind,
    expected: &'static str,
) -> Result<(), WireError> {
    if reader.kind()? == kind {
        Ok(())
    } else {
        Err(WireError::ExtensionFieldType {
            key: key.to_owned(),
            expected,
        })
    }
}

pub(crate) fn field_bytes<'a>(reader: &mut Reader<'a>, key: &str) -> Result<&'a [u8], WireError> {
    expect_kind(reader, key, Kind::Bytes, "a byte string")?;
    Ok(reader.bytes()?)
}

/// An integer field that must lie in `0..=max` and fit `T`.
pub(crate) fn field_int<T: TryFrom<i64>>(
    reader: &mut Reader<'_>,
    key: &str,
    max: i64,
) -> Result<T, WireError> {
    expect_kind(reader, key, Kind::Int, "an integer")?;
    let value = reader.int()?;
    let out_of_range = || WireError::ExtensionFieldRange {
        key: key.to_owned(),
        value,
        min: 0,
        max,
    };
    if !(0..=max).contains(&value) {
        return Err(out_of_range());
    }
    T::try_from(value).map_err(|_| out_of_range())
}

fn decode_m(reader: &mut Reader<'_>) -> Result<BTreeMap<String, u8>, WireError> {
    expect_kind(reader, "m", Kind::Dict, "a dictionary")?;
    reader.begin_dict()?;
    let mut seen = KeySet::default();
    let mut ids = BTreeMap::new();
    while !reader.at_end()? {
        let name = reader.key(&mut seen)?;
        let key = format!("m.{}", String::from_utf8_lossy(name));
        let id: u8 = field_int(reader, &key, u8::MAX.into())?;
        if let Ok(name) = std::str::from_utf8(name) {
            ids.insert(name.to_owned(), id);
        }
    }
    Ok(ids)
}

/// The extensions we speak, each with the id we want to receive it under.
///
/// Ids are handed out in registration order from 1 and never change for the life of the
/// registry, so one registry can serve every connection and ids can be matched as constants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionRegistry {
    /// `names[i]` has local id `i + 1`.
    names: Vec<String>,
}

impl ExtensionRegistry {
    /// A registry with no extensions.
    pub fn new() -> Self {
        ExtensionRegistry::default()
    }

    /// Registers `name` (or finds it) and returns its local id, 1 to 255.
    ///
    /// # Panics
    ///
    /// If `name` is empty or 255 other names are already registered. Registrations are fixed
    /// at start-up by our own code, so either is a bug; use
    /// [`ExtensionRegistry::try_register`] for names that come from configuration.
    pub fn register(&mut self, name: &str) -> u8 {
        match self.try_register(name) {
            Ok(id) => id,
            Err(err) => panic!("{err}"),
        }
    }

    /// [`ExtensionRegistry::register`] that reports the two failure cases as errors.
    pub fn try_register(&mut self, name: &str) -> Result<u8, WireError> {
        if name.is_empty() {
            return Err(WireError::EmptyExtensionName);
        }
        if let Some(id) = self.local_id(name) {
            return Ok(id);
        }
        // Ids 1..=255; `len() + 1` fits u8 exactly while fewer than 255 names exist.
        let id = u8::try_from(self.names.len() + 1).map_err(|_| WireError::TooManyExtensions {
            name: name.to_owned(),
        })?;
        self.names.push(name.to_owned());
        Ok(id)
    }

    /// The id we receive `name` under, if registered.
    pub fn local_id(&self, name: &str) -> Option<u8> {
        let at = self.names.iter().position(|known| known == name)?;
        u8::try_from(at + 1).ok()
    }

    /// The extension an incoming `Extended { id, .. }` belongs to; `None` for id 0 (the
    /// handshake) and for ids we never announced, which a well-behaved peer does not send.
    pub fn name_of_local(&self, id: u8) -> Option<&str> {
        let at = usize::from(id).checked_sub(1)?;
        self.names.get(at).map(String::as_str)
    }

    /// Registered `(name, local id)` pairs in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u8)> + '_ {
        self.names
            .iter()
            .zip(1u8..=u8::MAX)
            .map(|(name, id)| (name.as_str(), id))
    }

    /// The handshake we send: every registered extension, our client name, listen port (if we
    /// accept incoming connections) and request queue depth.
    pub fn handshake(
        &self,
        client: &str,
        listen_port: Option<u16>,
        reqq: u32,
    ) -> ExtensionHandshake {
        ExtensionHandshake {
            m: self
                .iter()
                .map(|(name, id)| (name.to_owned(), id))
                .collect(),
            v: Some(client.to_owned()),
            p: listen_port,
            reqq: Some(reqq),
            yourip: None,
            metadata_size: None,
        }
    }
}

/// The extension ids one peer announced: where to send each extension we want to use with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerExtensions {
    /// Enabled extensions only; an id of 0 is never stored.
    ids: BTreeMap<String, u8>,
}

impl PeerExtensions {
    /// A peer that has announced nothing (yet).
    pub fn new() -> Self {
        PeerExtensions::default()
    }

    /// The extensions a peer announced in its first handshake.
    pub fn from_handshake(handshake: &ExtensionHandshake) -> Self {
        let mut peer = PeerExtensions::new();
        peer.update(handshake);
        peer
    }

    /// Applies a later handshake. BEP 10 makes `m` additive: names not mentioned keep their id,
    /// a new id replaces the old one, and id 0 disables the extension.
    pub fn update(&mut self, handshake: &ExtensionHandshake) {
        for (name, &id) in &handshake.m {
            if id == 0 {
                self.ids.remove(name);
            } else {
                self.ids.insert(name.clone(), id);
            }
        }
    }

    /// The id to send extension `name` to this peer under; `None` if the peer does not support
    /// it or disabled it (announced it as 0, per BEP 10).
    pub fn remote_id(&self, name: &str) -> Option<u8> {
        self.ids.get(name).copied()
    }

    /// Whether the peer currently accepts extension `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.ids.contains_key(name)
    }

    /// Enabled `(name, remote id)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u8)> + '_ {
        self.ids.iter().map(|(name, id)| (name.as_str(), *id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BencodeError;

    /// The encoded example of BEP 10. Its `µT_PEX` key is 6 bytes long, so the `µ` is the
    /// single Latin-1 byte 0xB5, while `v` holds UTF-8 (`\xc2\xb5`).
    const BEP10_EXAMPLE: &[u8] =
        b"d1:md11:LT_metadatai1e6:\xb5T_PEXi2ee1:pi6881e1:v13:\xc2\xb5Torrent 1.2e";

    #[test]
    fn decodes_the_bep10_example() {
        let hs = ExtensionHandshake::decode(BEP10_EXAMPLE).unwrap();
        // The non-UTF-8 name is skipped; everything else is read.
        assert_eq!(hs.m, BTreeMap::from([("LT_metadata".to_owned(), 1)]));
        assert_eq!(hs.p, Some(6881));
        assert_eq!(hs.v.as_deref(), Some("µTorrent 1.2"));
        assert_eq!(hs.reqq, None);
        assert_eq!(hs.yourip, None);
        assert_eq!(hs.metadata_size, None);
    }

    #[test]
    fn encodes_canonically() {
        let hs = ExtensionHandshake {
            m: BTreeMap::from([("ut_pex".to_owned(), 2), ("LT_metadata".to_owned(), 1)]),
            v: Some("µTorrent 1.2".to_owned()),
            p: Some(6881),
            reqq: Some(250),
            yourip: Some(vec![127, 0, 0, 1]),
            metadata_size: Some(31235),
        };
        let bytes = hs.encode();
        assert_eq!(
            bytes,
            b"d1:md11:LT_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e\
              4:reqqi250e1:v13:\xc2\xb5Torrent 1.26:yourip4:\x7f\x00\x00\x01e"
        );
        assert_eq!(ExtensionHandshake::decode(&bytes), Ok(hs));
        assert_eq!(ExtensionHandshake::default().encode(), b"d1:mdee");
    }

    #[test]
    fn unknown_keys_of_any_shape_are_ignored() {
        let payload =
            b"d8:completei1e1:md6:ut_pexi0e10:sb_receipti3ee4:ipv416:\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\
              4:listli1eli2eee4:reqqi500ee";
        let hs = ExtensionHandshake::decode(payload).unwrap();
        assert_eq!(
            hs.m,
            BTreeMap::from([("sb_receipt".to_owned(), 3), ("ut_pex".to_owned(), 0)])
        );
        assert_eq!(hs.reqq, Some(500));
    }

    #[test]
    fn malformed_handshakes_are_refused() {
        let refused = |payload: &[u8]| ExtensionHandshake::decode(payload).unwrap_err();
        assert_eq!(refused(b"li1ee"), WireError::ExtensionHandshakeNotDict);
        assert_eq!(
            refused(b""),
            WireError::Bencode(BencodeError::UnexpectedEnd { offset: 0 })
        );
        assert_eq!(
            refused(b"d1:mi1ee"),
            WireError::ExtensionFieldType {
                key: "m".into(),
                expected: "a dictionary"
            }
        );
        assert_eq!(
            refused(b"d1:md6:ut_pexi256eee"),
            WireError::ExtensionFieldRange {
                key: "m.ut_pex".into(),
                value: 256,
                min: 0,
                max: 255
            }
        );
        assert_eq!(
            refused(b"d1:md6:ut_pexi-1eee"),
            WireError::ExtensionFieldRange {
                key: "m.ut_pex".into(),
                value: -1,
                min: 0,
                max: 255
            }
        );
        assert_eq!(
            refused(b"d1:md6:ut_pex1:xee"),
            WireError::ExtensionFieldType {
                key: "m.ut_pex".into(),
                expected: "an integer"
            }
        );
        assert_eq!(
            refused(b"d1:pi65536ee"),
            WireError::ExtensionFieldRange {
                key: "p".into(),
                value: 65536,
                min: 0,
                max: 65535
            }
        );
        assert_eq!(
            refused(b"d4:reqqi4294967296ee"),
            WireError::ExtensionFieldRange {
                key: "reqq".into(),
                value: 4_294_967_296,
                min: 0,
                max: u32::MAX.into()
            }
        );
        assert_eq!(
            refused(b"d13:metadata_sizei-5ee"),
            WireError::ExtensionFieldRange {
                key: "metadata_size".into(),
                value: -5,
                min: 0,
                max: i64::MAX
            }
        );
        assert_eq!(
            refused(b"d1:vi1ee"),
            WireError::ExtensionFieldType {
                key: "v".into(),
                expected: "a byte string"
            }
        );
        assert_eq!(
            refused(b"d6:yourip5:abcdee"),
            WireError::YourIpLength { len: 5 }
        );
        assert_eq!(
            refused(b"d1:pi1e1:pi2ee"),
            WireError::Bencode(BencodeError::DuplicateKey { offset: 7 })
        );
        assert_eq!(
            refused(b"d1:md1:ai1e1:ai2eee"),
            WireError::Bencode(BencodeError::DuplicateKey { offset: 11 })
        );
        assert_eq!(
            refused(b"d1:pi1ee!!!!"),
            WireError::Bencode(BencodeError::TrailingBytes {
                offset: 8,
                count: 4
            })
        );
    }

    #[test]
    fn reversed_keys_are_handled_without_quadratic_cost() {
        // 200k distinct keys in descending order, ~1.6 MB: must finish promptly.
        let mut payload = b"d".to_vec();
        for key in (0..200_000u32).rev() {
            bencode::put_bytes(&mut payload, format!("k{key:06}").as_bytes());
            bencode::put_int(&mut payload, 0);
        }
        payload.push(b'e');
        assert_eq!(
            ExtensionHandshake::decode(&payload),
            Ok(ExtensionHandshake::default())
        );
    }

    #[test]
    fn registry_assigns_stable_ids_from_one() {
        let mut registry = ExtensionRegistry::new();
        assert_eq!(registry.register("sb_receipt"), 1);
        assert_eq!(registry.register("sb_audit"), 2);
        assert_eq!(registry.register("sb_receipt"), 1);
        assert_eq!(registry.local_id("sb_audit"), Some(2));
        assert_eq!(registry.local_id("ut_pex"), None);
        assert_eq!(registry.name_of_local(1), Some("sb_receipt"));
        assert_eq!(registry.name_of_local(0), None);
        assert_eq!(registry.name_of_local(3), None);
        assert_eq!(
            registry.iter().collect::<Vec<_>>(),
            vec![("sb_receipt", 1), ("sb_audit", 2)]
        );
        assert_eq!(
            registry.try_register(""),
            Err(WireError::EmptyExtensionName)
        );
    }

    #[test]
    fn registry_stops_at_255_ids() {
        let mut registry = ExtensionRegistry::new();
        for n in 1..=255u32 {
            assert_eq!(u32::from(registry.register(&format!("x_{n}"))), n);
        }
        assert_eq!(
            registry.try_register("one_too_many"),
            Err(WireError::TooManyExtensions {
                name: "one_too_many".into()
            })
        );
        // Existing names still resolve.
        assert_eq!(registry.try_register("x_255"), Ok(255));
        assert_eq!(registry.name_of_local(255), Some("x_255"));
    }

    #[test]
    fn registry_handshake_round_trips() {
        let mut registry = ExtensionRegistry::new();
        registry.register("sb_receipt");
        registry.register("sb_audit");
        let hs = registry.handshake("seedbank 0.1.0", Some(51413), 500);
        assert_eq!(
            hs.encode(),
            b"d1:md8:sb_auditi2e10:sb_receipti1ee1:pi51413e4:reqqi500e1:v14:seedbank 0.1.0e"
        );
        let Message::Extended { id, payload } = hs.to_message() else {
            panic!("handshake must be an extended message");
        };
        assert_eq!(id, EXTENSION_HANDSHAKE_ID);
        assert_eq!(ExtensionHandshake::decode(&payload), Ok(hs));
    }

    #[test]
    fn peer_extensions_follow_bep10_additive_updates() {
        let first =
            ExtensionHandshake::decode(b"d1:md8:sb_auditi7e10:sb_receipti3e6:ut_pexi0eee").unwrap();
        let mut peer = PeerExtensions::from_handshake(&first);
        assert_eq!(peer.remote_id("sb_receipt"), Some(3));
        assert_eq!(peer.remote_id("sb_audit"), Some(7));
        assert_eq!(peer.remote_id("ut_pex"), None, "id 0 means disabled");
        assert!(!peer.supports("ut_pex"));

        // Later handshake: disable sb_audit, move sb_receipt, leave the rest alone.
        let later = ExtensionHandshake::decode(b"d1:md8:sb_auditi0e10:sb_receipti9eee").unwrap();
        peer.update(&later);
        assert_eq!(peer.remote_id("sb_audit"), None);
        assert_eq!(peer.remote_id("sb_receipt"), Some(9));
        assert_eq!(peer.iter().collect::<Vec<_>>(), vec![("sb_receipt", 9)]);

        // A handshake without `m` changes nothing.
        peer.update(&ExtensionHandshake::decode(b"d1:pi1ee").unwrap());
        assert_eq!(peer.remote_id("sb_receipt"), Some(9));
    }
}
