//! The fixed 68-byte BEP 3 handshake and the reserved-bit feature flags it carries.

use crate::WireError;

/// Size of the handshake on the wire: 1 + 19 + 8 + 20 + 20.
pub const HANDSHAKE_LEN: usize = 68;

/// The BEP 3 protocol string, preceded on the wire by its length byte (19).
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// Reserved byte 5, bit 0x10: BEP 10 extension protocol.
const EXTENDED_BYTE: usize = 5;
const EXTENDED_BIT: u8 = 0x10;
/// Reserved byte 7, bit 0x04: BEP 6 fast extension.
const FAST_BYTE: usize = 7;
const FAST_BIT: u8 = 0x04;
/// Reserved byte 7, bit 0x10: BEP 52 "also speaks v2" upgrade bit.
const V2_BYTE: usize = 7;
const V2_BIT: u8 = 0x10;

/// The eight reserved handshake bytes, where each side advertises protocol extensions.
///
/// A feature is in use on a connection only when both sides set its bit; the engine combines
/// its own and the peer's value with [`Reserved::supports_fast`] and friends on each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reserved(pub [u8; 8]);

impl Reserved {
    /// The bits a seedbank node sends: fast extension, extension protocol, v2 upgrade.
    ///
    /// The DHT bit stays clear: seedbank swarms are private (BEP 27), so peers come only from the
    /// tracker.
    pub fn seedbank() -> Reserved {
        let mut bytes = [0u8; 8];
        bytes[FAST_BYTE] |= FAST_BIT;
        bytes[EXTENDED_BYTE] |= EXTENDED_BIT;
        bytes[V2_BYTE] |= V2_BIT;
        Reserved(bytes)
    }

    /// BEP 6: the peer understands have-all/have-none, suggest, reject and allowed-fast.
    pub fn supports_fast(&self) -> bool {
        self.0[FAST_BYTE] & FAST_BIT != 0
    }

    /// BEP 10: the peer accepts extended messages (id 20).
    pub fn supports_extended(&self) -> bool {
        self.0[EXTENDED_BYTE] & EXTENDED_BIT != 0
    }

    /// BEP 52: the peer can switch a hybrid torrent's connection to the v2 info-hash.
    pub fn supports_v2(&self) -> bool {
        self.0[V2_BYTE] & V2_BIT != 0
    }

    /// The features both sides advertised: what a connection may actually use.
    pub fn intersect(&self, other: &Reserved) -> Reserved {
        let mut bytes = self.0;
        for (mine, theirs) in bytes.iter_mut().zip(other.0) {
            *mine &= theirs;
        }
        Reserved(bytes)
    }
}

/// The first 68 bytes each side sends on a new connection.
///
/// For a v2 or hybrid torrent joined through its v2 info-hash, `info_hash` holds the SHA-256
/// info-hash truncated to 20 bytes, as BEP 52 prescribes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// Feature bits.
    pub reserved: Reserved,
    /// Which torrent this connection is about.
    pub info_hash: [u8; 20],
    /// The sender's peer id.
    pub peer_id: [u8; 20],
}

impl Handshake {
    /// The handshake as it goes on the wire.
    pub fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[0] = 19;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved.0);
        out[28..48].copy_from_slice(&self.info_hash);
        out[48..68].copy_from_slice(&self.peer_id);
        out
    }

    /// Parses a peer's handshake.
    ///
    /// Only the protocol string is checked here; whether the info-hash names a torrent we serve
    /// and whether the peer id is acceptable are the engine's decisions.
    pub fn decode(buf: &[u8; HANDSHAKE_LEN]) -> Result<Handshake, WireError> {
        if buf[0] != 19 || &buf[1..20] != PROTOCOL {
            return Err(WireError::BadProtocol { pstrlen: buf[0] });
        }
        let mut reserved = [0u8; 8];
        reserved.copy_from_slice(&buf[20..28]);
        let mut info_hash = [0u8; 20];
        info_hash.copy_from_slice(&buf[28..48]);
        let mut peer_id = [0u8; 20];
        peer_id.copy_from_slice(&buf[48..68]);
        Ok(Handshake {
            reserved: Reserved(reserved),
            info_hash,
            peer_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seedbank_reserved_bits_are_exactly_fast_extended_v2() {
        let r = Reserved::seedbank();
        assert_eq!(r.0, [0, 0, 0, 0, 0, 0x10, 0, 0x14]);
        assert!(r.supports_fast());
        assert!(r.supports_extended());
        assert!(r.supports_v2());
        let none = Reserved::default();
        assert!(!none.supports_fast() && !none.supports_extended() && !none.supports_v2());
    }

    #[test]
    fn intersect_keeps_only_common_bits() {
        // libtorrent 2.0 sends extended + fast + DHT (+ v2 on hybrid torrents).
        let theirs = Reserved([0, 0, 0, 0, 0, 0x10, 0, 0x05]);
        let both = Reserved::seedbank().intersect(&theirs);
        assert_eq!(both.0, [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
        assert!(both.supports_fast() && both.supports_extended() && !both.supports_v2());
    }

    #[test]
    fn handshake_byte_layout() {
        let hs = Handshake {
            reserved: Reserved::seedbank(),
            info_hash: [0xAA; 20],
            peer_id: *b"-SB0100-abcdefghijkl",
        };
        let bytes = hs.encode();
        let mut expected = Vec::new();
        expected.push(19u8);
        expected.extend_from_slice(b"BitTorrent protocol");
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0x14]);
        expected.extend_from_slice(&[0xAA; 20]);
        expected.extend_from_slice(b"-SB0100-abcdefghijkl");
        assert_eq!(&bytes[..], &expected[..]);
        assert_eq!(Handshake::decode(&bytes), Ok(hs));
    }

    #[test]
    fn handshake_with_other_protocol_is_refused() {
        let mut bytes = Handshake {
            reserved: Reserved::default(),
            info_hash: [1; 20],
            peer_id: [2; 20],
        }
        .encode();
        bytes[0] = 18;
        assert_eq!(
            Handshake::decode(&bytes),
            Err(WireError::BadProtocol { pstrlen: 18 })
        );
        bytes[0] = 19;
        bytes[5] = b'X';
        assert_eq!(
            Handshake::decode(&bytes),
            Err(WireError::BadProtocol { pstrlen: 19 })
        );
    }
}
