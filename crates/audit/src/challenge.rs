//! Deriving an epoch's challenges.
//!
//! A challenge names one 16 KiB block of one claimed piece. An epoch's `n` challenges for a node
//! are a pure function of public data and the revealed secret:
//!
//! ```text
//! draw(i) = keccak256(secret ‖ epoch (u64 BE) ‖ node (20 bytes) ‖ report_hash ‖ i (u64 BE))
//! ```
//!
//! for `i = 0, 1, 2, …`, consumed in order until `n` challenges are accepted:
//!
//! 1. The claims, by ascending torrent id, are laid end to end as *slots*: each claimed piece
//!    gets `piece_length / 16 KiB` slots (a full piece's blocks), so a claim has
//!    `claimed pieces × blocks per piece` slots and the report `total` of them.
//! 2. `x` = the first 16 bytes of `draw(i)` as a big-endian `u128`. If
//!    `x ≥ floor(2^128 / total) · total`, the draw is rejected (this removes modulo bias);
//!    otherwise the slot is `x mod total`.
//! 3. The slot gives the claim, the rank of the piece among the claim's pieces (ascending piece
//!    index) and the block `slot mod blocks per piece`. If the piece holds fewer blocks than that
//!    (a short last piece), the draw is rejected too.
//!
//! Every accepted draw is uniform over the claimed blocks: each real block has exactly one slot,
//! and rejection only discards draws. Hence a node missing a fraction `f` of its claimed blocks
//! passes each challenge with probability exactly `1 - f`, independently (draws are with
//! replacement: a block may be asked twice in an epoch), which is the model of
//! `economics::sampling`.
//!
//! *Unpredictable before the reveal*: every draw hashes the secret, which only the hub knows until
//! it reveals it after the epoch; a node that reports, and even a node that knows all other
//! inputs, sees nothing of its challenges (keccak-256 as a random oracle). The hub committed to the
//! secret before the epoch ([`crate::commitment`]), so it cannot choose challenges after seeing a
//! report either. *Reproducible after*: the inputs are the revealed secret, the epoch, the node,
//! and the signed report with its hash, so anyone with the torrents' metadata recomputes the same
//! list, bit for bit.
//!
//! Rejection of short-piece slots is bounded: a challenge that needs more than
//! [`MAX_DRAWS_PER_CHALLENGE`] draws fails with [`ChallengeError::TooSparse`] (only a layout whose
//! pieces are nearly all padding comes close; the worst real torrent, one 16 KiB file per 256 MiB
//! piece, accepts one draw in 16,384).

use serde::{Deserialize, Serialize};
use token::{Address, keccak256};

use crate::layout::{Layout, LayoutError, blocks_in_piece};
use crate::report::{HostingReport, PieceSet, ReportError, claim_shape};
use crate::{BLOCK_SIZE, TorrentId};

/// Most challenges one call derives (the output is allocated up front).
pub const MAX_CHALLENGES: u32 = 1 << 16;

/// Draws one challenge may take before derivation gives up (see the module documentation).
pub const MAX_DRAWS_PER_CHALLENGE: u64 = 1 << 20;

/// One block to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    #[serde(with = "token::hex32")]
    pub torrent: TorrentId,
    /// Piece index in the torrent.
    pub piece: u32,
    /// Block index within the piece (the block starts `block × 16 KiB` into the piece).
    pub block: u32,
}

impl Challenge {
    /// Byte offset of the block within its piece: what the `sb_audit` challenge message carries.
    pub fn offset(&self) -> u64 {
        u64::from(self.block) * BLOCK_SIZE
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("the report starts at epoch {report}, after the audited epoch {given}")]
    EpochMismatch { report: u64, given: u64 },
    #[error("the report is node {report}'s, the challenges are for {given}")]
    NodeMismatch { report: Address, given: Address },
    #[error("the report hash given is not the report's")]
    HashMismatch,
    #[error("at most {max} challenges per derivation, asked for {n}")]
    TooMany { n: u32, max: u32 },
    #[error("challenge {index} found no real block in {MAX_DRAWS_PER_CHALLENGE} draws")]
    TooSparse { index: u32 },
    #[error("the report claims more blocks than can be counted")]
    Overflow,
}

/// The hash of draw `i` (module documentation): exposed so that a third party's implementation
/// can be checked against this one.
pub fn draw(
    secret: &[u8; 32],
    epoch: u64,
    node: &Address,
    report_hash: &[u8; 32],
    i: u64,
) -> [u8; 32] {
    let mut buf = [0u8; 32 + 8 + 20 + 32 + 8];
    buf[..32].copy_from_slice(secret);
    buf[32..40].copy_from_slice(&epoch.to_be_bytes());
    buf[40..60].copy_from_slice(&node.0);
    buf[60..92].copy_from_slice(report_hash);
    buf[92..].copy_from_slice(&i.to_be_bytes());
    keccak256(&buf)
}

/// The `n` challenges of `node` for `epoch` (module documentation).
///
/// `epoch` is the audited epoch: the report's own or a later one (a report stays in force until the
/// node replaces it). `node` and `report_hash` must be the report's own (they are what was signed;
/// a mismatch is refused rather than silently preferring one), and the report must pass
/// [`HostingReport::check_layout`]. A report without claims gets no challenges.
pub fn derive(
    secret: &[u8; 32],
    epoch: u64,
    node: &Address,
    report_hash: &[u8; 32],
    report: &HostingReport,
    layout: &impl Layout,
    n: u32,
) -> Result<Vec<Challenge>, ChallengeError> {
    if report.epoch > epoch {
        return Err(ChallengeError::EpochMismatch {
            report: report.epoch,
            given: epoch,
        });
    }
    if report.node != *node {
        return Err(ChallengeError::NodeMismatch {
            report: report.node,
            given: *node,
        });
    }
    if report.hash() != *report_hash {
        return Err(ChallengeError::HashMismatch);
    }
    report.check_layout(layout)?;
    sample(
        &|i| draw(secret, epoch, node, report_hash, i),
        report,
        layout,
        n,
    )
}

/// One claim laid out as slots.
struct Span<'a> {
    torrent: TorrentId,
    pieces: &'a PieceSet,
    piece_count: u32,
    piece_length: u64,
    blocks_per_piece: u64,
    /// This claim's first slot and one past its last, counting from the report's first.
    start: u128,
    end: u128,
}

/// Steps 1–3 of the module documentation over any source of draws. The report must have passed
/// `check_layout`.
fn sample(
    draw: &dyn Fn(u64) -> [u8; 32],
    report: &HostingReport,
    layout: &impl Layout,
    n: u32,
) -> Result<Vec<Challenge>, ChallengeError> {
    if n > MAX_CHALLENGES {
        return Err(ChallengeError::TooMany {
            n,
            max: MAX_CHALLENGES,
        });
    }
    let mut spans = Vec::with_capacity(report.claims.len());
    let mut total: u128 = 0;
    for claim in report.sorted_claims() {
        let shape = claim_shape(layout, &claim.torrent)?;
        let blocks_per_piece = shape.blocks_per_piece();
        // count < 2^32, blocks_per_piece <= 2^14: the product fits easily; the sum over at most
        // MAX_CLAIMS claims too, but checked all the same.
        let slots = u128::from(claim.pieces.count(shape.pieces)) * u128::from(blocks_per_piece);
        let start = total;
        total = total.checked_add(slots).ok_or(ChallengeError::Overflow)?;
        spans.push(Span {
            torrent: claim.torrent,
            pieces: &claim.pieces,
            piece_count: shape.pieces,
            piece_length: shape.piece_length,
            blocks_per_piece,
            start,
            end: total,
        });
    }
    if total == 0 || n == 0 {
        return Ok(Vec::new());
    }
    // Accept x < zone: zone is the largest multiple of `total` that u128 draws can reach.
    let zone = u128::MAX / total * total;
    let mut out = Vec::with_capacity(n as usize);
    let mut i: u64 = 0;
    for index in 0..n {
        let mut tries = 0;
        let challenge = loop {
            if tries == MAX_DRAWS_PER_CHALLENGE {
                return Err(ChallengeError::TooSparse { index });
            }
            tries += 1;
            let h = draw(i);
            // i < MAX_CHALLENGES × MAX_DRAWS_PER_CHALLENGE = 2^36: no overflow.
            i += 1;
            let mut head = [0u8; 16];
            head.copy_from_slice(&h[..16]);
            let x = u128::from_be_bytes(head);
            if x >= zone {
                continue;
            }
            let slot = x % total;
            let at = spans.partition_point(|s| s.end <= slot);
            let Some(span) = spans.get(at) else {
                continue; // unreachable: slot < total = the last span's end
            };
            let k = slot - span.start;
            let bpp = u128::from(span.blocks_per_piece);
            let (rank, block) = ((k / bpp) as u64, (k % bpp) as u64);
            let Some(piece) = span.pieces.nth(rank, span.piece_count) else {
                continue; // unreachable: rank < the claim's piece count
            };
            let blocks = blocks_in_piece(layout, &span.torrent, span.piece_length, piece).map_err(
                |error: LayoutError| ReportError::Layout {
                    torrent: span.torrent,
                    error,
                },
            )?;
            if block >= blocks {
                continue;
            }
            // block < blocks_per_piece <= 2^14.
            break Challenge {
                torrent: span.torrent,
                piece,
                block: block as u32,
            };
        };
        out.push(challenge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::layout::Shape;
    use crate::report::Claim;

    fn id(b: u8) -> TorrentId {
        let mut t = [0u8; 32];
        t[0] = b;
        t
    }

    fn setup() -> (BTreeMap<TorrentId, Shape>, HostingReport) {
        let mut layout = BTreeMap::new();
        let mut claims = Vec::new();
        for t in 0..8u8 {
            layout.insert(
                id(t),
                Shape {
                    pieces: 1000,
                    piece_length: 256 * 1024,
                    data_length: 999 * 256 * 1024 + 5000,
                },
            );
            claims.push(Claim {
                torrent: id(t),
                pieces: PieceSet::All,
            });
        }
        let report = HostingReport {
            node: Address([0x11; 20]),
            epoch: 3,
            claims,
        };
        (layout, report)
    }

    /// Flipping any single bit of the secret, the epoch, the node or the report hash changes the
    /// challenges (each feeds every draw).
    #[test]
    fn every_input_bit_matters() {
        let (layout, report) = setup();
        let secret = [0x5a; 32];
        let node = report.node;
        let hash = report.hash();
        let run = |secret: [u8; 32], epoch: u64, node: Address, hash: [u8; 32]| {
            sample(
                &|i| draw(&secret, epoch, &node, &hash, i),
                &report,
                &layout,
                44,
            )
            .unwrap()
        };
        let base = run(secret, 3, node, hash);
        assert_eq!(base, run(secret, 3, node, hash));
        assert_eq!(base.len(), 44);
        for bit in 0..256 {
            let mut s = secret;
            s[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(run(s, 3, node, hash), base, "secret bit {bit}");
            let mut h = hash;
            h[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(run(secret, 3, node, h), base, "report hash bit {bit}");
        }
        for bit in 0..64 {
            assert_ne!(
                run(secret, 3 ^ (1 << bit), node, hash),
                base,
                "epoch bit {bit}"
            );
        }
        for bit in 0..160 {
            let mut a = node;
            a.0[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(run(secret, 3, a, hash), base, "node bit {bit}");
        }
    }

    #[test]
    fn draw_input_is_pinned() {
        let node = Address([0x22; 20]);
        let mut input = vec![0x01; 32];
        input.extend_from_slice(&9u64.to_be_bytes());
        input.extend_from_slice(&[0x22; 20]);
        input.extend_from_slice(&[0x33; 32]);
        input.extend_from_slice(&5u64.to_be_bytes());
        assert_eq!(input.len(), 100);
        assert_eq!(
            draw(&[0x01; 32], 9, &node, &[0x33; 32], 5),
            keccak256(&input)
        );
        assert_eq!(
            hex::encode(draw(&[0x01; 32], 9, &node, &[0x33; 32], 5)),
            "ec56c32b8e9191a7e28230139555954b7f5e49d793807cae31e7a552ce768ae6"
        );
    }

    /// A fixed vector for other implementations (and against accidental changes).
    #[test]
    fn derivation_is_pinned() {
        let (layout, report) = setup();
        let got = derive(
            &[0x5a; 32],
            3,
            &report.node,
            &report.hash(),
            &report,
            &layout,
            4,
        )
        .unwrap();
        let c = |t, piece, block| Challenge {
            torrent: id(t),
            piece,
            block,
        };
        assert_eq!(
            got,
            vec![c(2, 13, 15), c(4, 953, 10), c(2, 337, 8), c(6, 90, 11)]
        );
    }

    #[test]
    fn refuses_mismatched_inputs() {
        let (layout, report) = setup();
        let s = [1u8; 32];
        let h = report.hash();
        let node = report.node;
        assert!(matches!(
            derive(&s, 2, &node, &h, &report, &layout, 4),
            Err(ChallengeError::EpochMismatch { .. })
        ));
        // A report stays in force: a later epoch derives from it, and differently.
        let later = derive(&s, 4, &node, &h, &report, &layout, 4).unwrap();
        assert_ne!(
            later,
            derive(&s, 3, &node, &h, &report, &layout, 4).unwrap()
        );
        assert!(matches!(
            derive(&s, 3, &Address([1; 20]), &h, &report, &layout, 4),
            Err(ChallengeError::NodeMismatch { .. })
        ));
        assert_eq!(
            derive(&s, 3, &node, &[0; 32], &report, &layout, 4),
            Err(ChallengeError::HashMismatch)
        );
        assert_eq!(
            derive(&s, 3, &node, &h, &report, &layout, MAX_CHALLENGES + 1),
            Err(ChallengeError::TooMany {
                n: MAX_CHALLENGES + 1,
                max: MAX_CHALLENGES
            })
        );
        let mut dup = report.clone();
        dup.claims.push(dup.claims[0].clone());
        let dh = dup.hash();
        assert!(matches!(
            derive(&s, 3, &node, &dh, &dup, &layout, 4),
            Err(ChallengeError::Report(ReportError::DuplicateTorrent(_)))
        ));
        let empty = HostingReport {
            claims: vec![],
            ..report
        };
        assert_eq!(
            derive(&s, 3, &node, &empty.hash(), &empty, &layout, 44),
            Ok(vec![])
        );
    }

    /// A layout whose pieces hold no data at all: derivation stops at the draw bound instead of
    /// looping forever.
    #[test]
    fn a_layout_without_blocks_is_refused() {
        struct Hollow;
        impl Layout for Hollow {
            fn shape(&self, _: &TorrentId) -> Option<Shape> {
                Some(Shape {
                    pieces: 4,
                    piece_length: 16384,
                    data_length: 4 * 16384,
                })
            }
            fn piece_bytes(&self, _: &TorrentId, _: u32) -> u64 {
                0
            }
        }
        let report = whole_of_one();
        let h = report.hash();
        assert_eq!(
            derive(&[0; 32], 0, &report.node, &h, &report, &Hollow, 2),
            Err(ChallengeError::TooSparse { index: 0 })
        );
    }

    /// Node 1's epoch-0 report claiming all of torrent 1.
    fn whole_of_one() -> HostingReport {
        HostingReport {
            node: Address([1; 20]),
            epoch: 0,
            claims: vec![Claim {
                torrent: id(1),
                pieces: PieceSet::All,
            }],
        }
    }

    /// A layout that claims more data in a piece than the piece holds is refused.
    #[test]
    fn an_inconsistent_layout_is_refused() {
        struct Bloated;
        impl Layout for Bloated {
            fn shape(&self, _: &TorrentId) -> Option<Shape> {
                Some(Shape {
                    pieces: 4,
                    piece_length: 16384,
                    data_length: 4 * 16384,
                })
            }
            fn piece_bytes(&self, _: &TorrentId, _: u32) -> u64 {
                16385
            }
        }
        let report = whole_of_one();
        let h = report.hash();
        assert!(matches!(
            derive(&[0; 32], 0, &report.node, &h, &report, &Bloated, 2),
            Err(ChallengeError::Report(ReportError::Layout { .. }))
        ));
    }
}
