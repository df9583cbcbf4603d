//! Hosting reports: what a node says it holds for an epoch.
//!
//! A report lists claims, one per torrent: the whole torrent ([`PieceSet::All`]) or some of its
//! pieces ([`PieceSet::Bitfield`], BEP 3 order: the high bit of byte 0 is piece 0). Both forms are
//! canonical, so one set of pieces has exactly one report and one hash:
//! - a bitfield has exactly `ceil(pieces / 8)` bytes, its spare bits are zero, at least one bit is
//!   set and not all are (every piece is [`PieceSet::All`]);
//! - a torrent appears once; the order of the claims in the list does not matter (the encoding
//!   sorts them).
//!
//! **Canonical encoding** (what [`HostingReport::hash`] hashes with keccak-256):
//!
//! ```text
//! "seedbank hosting report v1"        26 bytes, the domain tag
//! node                                20 bytes
//! epoch                               u64, big-endian
//! number of claims                    u32, big-endian
//! for each claim, by ascending torrent id:
//!     torrent id                      32 bytes
//!     0x00                            all pieces
//!   | 0x01, length u32 big-endian, the bitfield bytes
//! ```
//!
//! The encoding is a prefix-free concatenation of fixed-size fields and length-prefixed strings,
//! so two different reports never encode alike. The hash is what challenges are derived from and
//! what a node's signature will cover.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use token::{Address, keccak256};

use crate::TorrentId;
use crate::layout::{Layout, LayoutError, Shape, checked_piece_bytes};

/// Domain tag of the report encoding.
pub const REPORT_TAG: &[u8] = b"seedbank hosting report v1";

/// Most claims one report may hold: far above any real node, low enough that a report's
/// validation and encoding stay cheap and its count fits the u32 of the encoding.
pub const MAX_CLAIMS: usize = 1 << 20;

/// Longest bitfield: one bit per piece of the largest torrent [`metainfo`] accepts.
pub const MAX_BITFIELD_BYTES: usize = (metainfo::MAX_PIECES / 8) as usize;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("a report holds at most {max} claims, this one {count}")]
    TooManyClaims { count: usize, max: usize },
    #[error("torrent 0x{} is claimed twice", hex::encode(.0))]
    DuplicateTorrent(TorrentId),
    #[error("the claim on torrent 0x{} names no piece", hex::encode(.0))]
    EmptyClaim(TorrentId),
    #[error("the bitfield for torrent 0x{} has {len} bytes, above the limit", hex::encode(.torrent))]
    BitfieldTooLong { torrent: TorrentId, len: usize },
    #[error("torrent 0x{} is not one the collective knows", hex::encode(.0))]
    UnknownTorrent(TorrentId),
    #[error("the bitfield for torrent 0x{} has {got} bytes; its {pieces} pieces need {expected}", hex::encode(.torrent))]
    BitfieldLength {
        torrent: TorrentId,
        pieces: u32,
        expected: usize,
        got: usize,
    },
    #[error("the bitfield for torrent 0x{} sets bits beyond its last piece", hex::encode(.0))]
    SpareBits(TorrentId),
    #[error("the bitfield for torrent 0x{} has every piece: claim it as \"all\"", hex::encode(.0))]
    WholeAsBitfield(TorrentId),
    #[error("a piece set names at least one piece")]
    NoPieces,
    #[error("piece {piece} is out of range: the torrent has {pieces}")]
    PieceOutOfRange { piece: u32, pieces: u32 },
    #[error("torrent 0x{}: {error}", hex::encode(.torrent))]
    Layout {
        torrent: TorrentId,
        error: LayoutError,
    },
    #[error("claimed bytes overflow")]
    Overflow,
}

/// A node's claims for one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostingReport {
    pub node: Address,
    pub epoch: u64,
    pub claims: Vec<Claim>,
}

/// The pieces of one torrent a node claims.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    #[serde(with = "token::hex32")]
    pub torrent: TorrentId,
    pub pieces: PieceSet,
}

/// Which pieces: all, or a bitfield (canonical rules in the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PieceSet {
    All,
    Bitfield(#[serde(with = "crate::hexser::bytes")] Vec<u8>),
}

impl PieceSet {
    /// The canonical set of `pieces` out of `piece_count`: [`PieceSet::All`] when every piece is
    /// named. Duplicates are fine; an empty set or a piece out of range is refused.
    pub fn from_pieces(
        pieces: impl IntoIterator<Item = u32>,
        piece_count: u32,
    ) -> Result<PieceSet, ReportError> {
        let mut bits = vec![0u8; bitfield_len(piece_count)];
        let mut any = false;
        for piece in pieces {
            if piece >= piece_count {
                return Err(ReportError::PieceOutOfRange {
                    piece,
                    pieces: piece_count,
                });
            }
            bits[(piece / 8) as usize] |= 0x80 >> (piece % 8);
            any = true;
        }
        if !any {
            return Err(ReportError::NoPieces);
        }
        Ok(if count_ones(&bits) == u64::from(piece_count) {
            PieceSet::All
        } else {
            PieceSet::Bitfield(bits)
        })
    }

    /// Is `piece` claimed? (`piece_count` bounds [`PieceSet::All`].)
    pub fn contains(&self, piece: u32, piece_count: u32) -> bool {
        match self {
            PieceSet::All => piece < piece_count,
            PieceSet::Bitfield(bits) => bits
                .get((piece / 8) as usize)
                .is_some_and(|b| b & (0x80 >> (piece % 8)) != 0),
        }
    }

    /// Number of claimed pieces.
    pub fn count(&self, piece_count: u32) -> u64 {
        match self {
            PieceSet::All => u64::from(piece_count),
            PieceSet::Bitfield(bits) => count_ones(bits),
        }
    }

    /// The claimed piece of rank `rank` (0-based, ascending).
    pub fn nth(&self, rank: u64, piece_count: u32) -> Option<u32> {
        match self {
            PieceSet::All => u32::try_from(rank).ok().filter(|&p| p < piece_count),
            PieceSet::Bitfield(bits) => nth_one(bits, rank),
        }
    }

    /// The claimed pieces, ascending.
    pub fn pieces(&self, piece_count: u32) -> impl Iterator<Item = u32> + '_ {
        (0..piece_count).filter(move |&p| self.contains(p, piece_count))
    }
}

fn bitfield_len(piece_count: u32) -> usize {
    piece_count.div_ceil(8) as usize
}

fn count_ones(bits: &[u8]) -> u64 {
    bits.iter().map(|b| u64::from(b.count_ones())).sum()
}

/// Index of the `rank`-th set bit, high bit of byte 0 first.
fn nth_one(bits: &[u8], mut rank: u64) -> Option<u32> {
    for (i, &b) in bits.iter().enumerate() {
        let ones = u64::from(b.count_ones());
        if rank >= ones {
            rank -= ones;
            continue;
        }
        let mut b = b;
        for bit in 0..8u32 {
            if b & 0x80 != 0 {
                if rank == 0 {
                    return u32::try_from(i).ok()?.checked_mul(8)?.checked_add(bit);
                }
                rank -= 1;
            }
            b <<= 1;
        }
    }
    None
}

impl HostingReport {
    /// Structural checks that need no knowledge of the torrents: at most [`MAX_CLAIMS`] claims,
    /// no torrent twice, no empty or oversized bitfield.
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.claims.len() > MAX_CLAIMS {
            return Err(ReportError::TooManyClaims {
                count: self.claims.len(),
                max: MAX_CLAIMS,
            });
        }
        for c in &self.claims {
            if let PieceSet::Bitfield(bits) = &c.pieces {
                if bits.len() > MAX_BITFIELD_BYTES {
                    return Err(ReportError::BitfieldTooLong {
                        torrent: c.torrent,
                        len: bits.len(),
                    });
                }
                if bits.iter().all(|&b| b == 0) {
                    return Err(ReportError::EmptyClaim(c.torrent));
                }
            }
        }
        let sorted = self.sorted_claims();
        if let Some(w) = sorted.windows(2).find(|w| w[0].torrent == w[1].torrent) {
            return Err(ReportError::DuplicateTorrent(w[0].torrent));
        }
        Ok(())
    }

    /// [`validate`](Self::validate), then checks every claim against the torrents: known, with a
    /// sane shape, and a bitfield in canonical form for the torrent's piece count.
    pub fn check_layout(&self, layout: &impl Layout) -> Result<(), ReportError> {
        self.validate()?;
        for c in &self.claims {
            let shape = claim_shape(layout, &c.torrent)?;
            if let PieceSet::Bitfield(bits) = &c.pieces {
                let expected = bitfield_len(shape.pieces);
                if bits.len() != expected {
                    return Err(ReportError::BitfieldLength {
                        torrent: c.torrent,
                        pieces: shape.pieces,
                        expected,
                        got: bits.len(),
                    });
                }
                let spare = (expected * 8) as u64 - u64::from(shape.pieces);
                // spare < 8; the last byte's low `spare` bits must be zero.
                let mask = ((1u16 << spare) - 1) as u8;
                if bits.last().is_some_and(|b| b & mask != 0) {
                    return Err(ReportError::SpareBits(c.torrent));
                }
                if count_ones(bits) == u64::from(shape.pieces) {
                    return Err(ReportError::WholeAsBitfield(c.torrent));
                }
            }
        }
        Ok(())
    }

    /// Bytes of file data the report claims (padding excluded): whole torrents count their data
    /// length, bitfields the data in each claimed piece. Checks the report first
    /// ([`check_layout`](Self::check_layout)). This is what collateral must cover.
    pub fn claimed_bytes(&self, layout: &impl Layout) -> Result<u64, ReportError> {
        self.check_layout(layout)?;
        let mut total = 0u64;
        for c in &self.claims {
            let shape = claim_shape(layout, &c.torrent)?;
            let bytes = match &c.pieces {
                PieceSet::All => shape.data_length,
                PieceSet::Bitfield(_) => {
                    let mut sum = 0u64;
                    for p in c.pieces.pieces(shape.pieces) {
                        let b = checked_piece_bytes(layout, &c.torrent, shape.piece_length, p)
                            .map_err(|error| ReportError::Layout {
                                torrent: c.torrent,
                                error,
                            })?;
                        sum = sum.checked_add(b).ok_or(ReportError::Overflow)?;
                    }
                    sum
                }
            };
            total = total.checked_add(bytes).ok_or(ReportError::Overflow)?;
        }
        Ok(total)
    }

    /// Claims by ascending torrent id (then by piece set, so even an invalid report with a
    /// duplicate torrent has one order).
    pub fn sorted_claims(&self) -> Vec<&Claim> {
        let mut v: Vec<&Claim> = self.claims.iter().collect();
        v.sort_by(|a, b| match a.torrent.cmp(&b.torrent) {
            Ordering::Equal => a.pieces.cmp(&b.pieces),
            o => o,
        });
        v
    }

    /// The canonical encoding (module documentation). Canonical for valid reports; defined for
    /// any.
    pub fn encode(&self) -> Vec<u8> {
        let claims = self.sorted_claims();
        let mut out = Vec::with_capacity(REPORT_TAG.len() + 32 + claims.len() * 33);
        out.extend_from_slice(REPORT_TAG);
        out.extend_from_slice(&self.node.0);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(
            &u32::try_from(claims.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for c in claims {
            out.extend_from_slice(&c.torrent);
            match &c.pieces {
                PieceSet::All => out.push(0),
                PieceSet::Bitfield(bits) => {
                    out.push(1);
                    out.extend_from_slice(
                        &u32::try_from(bits.len()).unwrap_or(u32::MAX).to_be_bytes(),
                    );
                    out.extend_from_slice(bits);
                }
            }
        }
        out
    }

    /// keccak-256 of [`encode`](Self::encode).
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.encode())
    }
}

/// The claimed torrent's shape, known and sane.
pub(crate) fn claim_shape(layout: &impl Layout, torrent: &TorrentId) -> Result<Shape, ReportError> {
    let shape = layout
        .shape(torrent)
        .ok_or(ReportError::UnknownTorrent(*torrent))?;
    shape.check().map_err(|error| ReportError::Layout {
        torrent: *torrent,
        error,
    })?;
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use proptest::prelude::*;

    fn id(b: u8) -> TorrentId {
        [b; 32]
    }

    fn layout() -> BTreeMap<TorrentId, Shape> {
        let mut m = BTreeMap::new();
        // 10 pieces of 64 KiB, the last one 1000 bytes.
        m.insert(
            id(1),
            Shape {
                pieces: 10,
                piece_length: 65536,
                data_length: 9 * 65536 + 1000,
            },
        );
        // 16 pieces of 16 KiB, all full.
        m.insert(
            id(2),
            Shape {
                pieces: 16,
                piece_length: 16384,
                data_length: 16 * 16384,
            },
        );
        m
    }

    fn report(claims: Vec<Claim>) -> HostingReport {
        HostingReport {
            node: Address([9; 20]),
            epoch: 7,
            claims,
        }
    }

    #[test]
    fn bitfields() {
        let s = PieceSet::from_pieces([0, 9, 3, 3], 10).unwrap();
        assert_eq!(s, PieceSet::Bitfield(vec![0b1001_0000, 0b0100_0000]));
        assert_eq!(s.count(10), 3);
        assert_eq!(s.pieces(10).collect::<Vec<_>>(), vec![0, 3, 9]);
        assert_eq!(s.nth(0, 10), Some(0));
        assert_eq!(s.nth(1, 10), Some(3));
        assert_eq!(s.nth(2, 10), Some(9));
        assert_eq!(s.nth(3, 10), None);
        assert!(s.contains(9, 10) && !s.contains(8, 10) && !s.contains(100, 10));
        assert_eq!(PieceSet::from_pieces(0..10, 10).unwrap(), PieceSet::All);
        assert!(PieceSet::from_pieces([10], 10).is_err());
        assert!(PieceSet::from_pieces([], 10).is_err());
        assert_eq!(PieceSet::All.nth(9, 10), Some(9));
        assert_eq!(PieceSet::All.nth(10, 10), None);
    }

    #[test]
    fn refusals() {
        let l = layout();
        let all = |t| Claim {
            torrent: id(t),
            pieces: PieceSet::All,
        };
        let bits = |t, b: Vec<u8>| Claim {
            torrent: id(t),
            pieces: PieceSet::Bitfield(b),
        };
        let cases: Vec<(HostingReport, ReportError)> = vec![
            (
                report(vec![all(1), all(2), all(1)]),
                ReportError::DuplicateTorrent(id(1)),
            ),
            (
                report(vec![bits(1, vec![0, 0])]),
                ReportError::EmptyClaim(id(1)),
            ),
            (report(vec![all(3)]), ReportError::UnknownTorrent(id(3))),
            (
                report(vec![bits(1, vec![0x80])]),
                ReportError::BitfieldLength {
                    torrent: id(1),
                    pieces: 10,
                    expected: 2,
                    got: 1,
                },
            ),
            (
                report(vec![bits(1, vec![0x80, 0x20])]),
                ReportError::SpareBits(id(1)),
            ),
            (
                report(vec![bits(2, vec![0xff, 0xff])]),
                ReportError::WholeAsBitfield(id(2)),
            ),
            (
                report(vec![bits(1, vec![0x80; MAX_BITFIELD_BYTES + 1])]),
                ReportError::BitfieldTooLong {
                    torrent: id(1),
                    len: MAX_BITFIELD_BYTES + 1,
                },
            ),
        ];
        for (r, e) in cases {
            assert_eq!(r.check_layout(&l), Err(e.clone()), "{e}");
            assert_eq!(r.claimed_bytes(&l), Err(e));
        }
        let ok = report(vec![bits(1, vec![0xff, 0x80]), bits(2, vec![0xff, 0xfe])]);
        assert_eq!(ok.check_layout(&l), Ok(()));
    }

    #[test]
    fn claimed_bytes_exclude_what_is_not_there() {
        let l = layout();
        let r = report(vec![
            Claim {
                torrent: id(1),
                // Pieces 0 and 9 (the short last piece).
                pieces: PieceSet::from_pieces([0, 9], 10).unwrap(),
            },
            Claim {
                torrent: id(2),
                pieces: PieceSet::All,
            },
        ]);
        assert_eq!(r.claimed_bytes(&l), Ok(65536 + 1000 + 16 * 16384));
    }

    #[test]
    fn encoding_is_pinned() {
        let r = report(vec![
            Claim {
                torrent: id(2),
                pieces: PieceSet::Bitfield(vec![0xa0, 0x01]),
            },
            Claim {
                torrent: id(1),
                pieces: PieceSet::All,
            },
        ]);
        let mut expected = b"seedbank hosting report v1".to_vec();
        expected.extend_from_slice(&[9; 20]);
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0, 0, 0, 2]);
        expected.extend_from_slice(&[1; 32]);
        expected.push(0);
        expected.extend_from_slice(&[2; 32]);
        expected.extend_from_slice(&[1, 0, 0, 0, 2, 0xa0, 0x01]);
        assert_eq!(r.encode(), expected);
        assert_eq!(r.hash(), keccak256(&expected));
        assert_eq!(
            hex::encode(r.hash()),
            "134adb31088caf18dc9b659f8635f8dad62141a388fc9a8ca693061714e5c56d"
        );
    }

    #[test]
    fn json_form() {
        let r = report(vec![
            Claim {
                torrent: id(1),
                pieces: PieceSet::All,
            },
            Claim {
                torrent: id(2),
                pieces: PieceSet::Bitfield(vec![0xa0, 0x01]),
            },
        ]);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""pieces":"all""#), "{json}");
        assert!(json.contains(r#""pieces":{"bitfield":"0xa001"}"#), "{json}");
        let back: HostingReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert!(serde_json::from_str::<HostingReport>(&json.replace("0xa001", "0xa0z1")).is_err());
    }

    fn arb_claims() -> impl Strategy<Value = Vec<Claim>> {
        proptest::collection::vec(
            (
                any::<[u8; 32]>(),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 1..8)),
            )
                .prop_map(|(torrent, bits)| Claim {
                    torrent,
                    pieces: bits.map_or(PieceSet::All, PieceSet::Bitfield),
                }),
            0..12,
        )
    }

    proptest! {
        /// The hash depends on the set of claims, not their order.
        #[test]
        fn hash_ignores_claim_order(claims in arb_claims(), seed in any::<u64>()) {
            let a = report(claims.clone());
            let mut shuffled = claims;
            // A deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let b = report(shuffled);
            prop_assert_eq!(a.hash(), b.hash());
            prop_assert_eq!(a.validate().is_ok(), b.validate().is_ok());
        }

        /// Different valid reports encode differently (the encoding is injective).
        #[test]
        fn different_reports_hash_differently(a in arb_claims(), b in arb_claims(), ea in 0u64..3, eb in 0u64..3) {
            let ra = HostingReport { epoch: ea, ..report(a) };
            let rb = HostingReport { epoch: eb, ..report(b) };
            prop_assume!(ra.validate().is_ok() && rb.validate().is_ok());
            let same = {
                let (mut x, mut y) = (ra.claims.clone(), rb.claims.clone());
                x.sort();
                y.sort();
                x == y && ra.epoch == rb.epoch
            };
            prop_assert_eq!(ra.encode() == rb.encode(), same);
        }

        /// from_pieces, pieces() and nth agree, and the result passes check_layout.
        #[test]
        fn piece_sets_round_trip(pieces in proptest::collection::btree_set(0u32..16, 1..16)) {
            let s = PieceSet::from_pieces(pieces.iter().copied(), 16).unwrap();
            let listed: Vec<u32> = s.pieces(16).collect();
            prop_assert_eq!(&listed, &pieces.iter().copied().collect::<Vec<_>>());
            for (rank, p) in listed.iter().enumerate() {
                prop_assert_eq!(s.nth(rank as u64, 16), Some(*p));
            }
            let r = report(vec![Claim { torrent: id(2), pieces: s }]);
            prop_assert_eq!(r.check_layout(&layout()), Ok(()));
        }
    }
}
