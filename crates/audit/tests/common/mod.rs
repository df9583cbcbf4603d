//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use audit::layout::blocks_in_piece;
use audit::{Challenge, HostingReport, Layout, TorrentId};
use token::keccak256;

/// splitmix64: a small deterministic generator, so every test run sees the same "random" data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n small: the bias of a plain modulo is below 2^-40 here, fine for tests).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The epoch secret a test uses for `seed`.
pub fn secret(seed: u64) -> [u8; 32] {
    let mut input = b"audit test secret".to_vec();
    input.extend_from_slice(&seed.to_be_bytes());
    keccak256(&input)
}

/// Every block a report claims, in the order derivation lays them out.
pub fn claimed_blocks(report: &HostingReport, layout: &impl Layout) -> Vec<Challenge> {
    let mut out = Vec::new();
    for claim in report.sorted_claims() {
        let shape = layout.shape(&claim.torrent).unwrap();
        for piece in claim.pieces.pieces(shape.pieces) {
            let blocks =
                blocks_in_piece(layout, &claim.torrent, shape.piece_length, piece).unwrap();
            for block in 0..blocks as u32 {
                out.push(Challenge {
                    torrent: claim.torrent,
                    piece,
                    block,
                });
            }
        }
    }
    out
}

/// Derives the challenges of `report` (for its own node and epoch) under `secret`.
pub fn challenges(
    secret: &[u8; 32],
    report: &HostingReport,
    layout: &impl Layout,
    n: u32,
) -> Vec<Challenge> {
    audit::derive(
        secret,
        report.epoch,
        &report.node,
        &report.hash(),
        report,
        layout,
        n,
    )
    .unwrap()
}

/// A torrent id for tests.
pub fn tid(n: u8) -> TorrentId {
    let mut t = [0u8; 32];
    t[31] = n;
    t
}

/// A layout whose pieces vary like a multi-file v2 torrent's: per piece, the data bytes given.
#[derive(Clone, Debug)]
pub struct Irregular {
    pub torrents: BTreeMap<TorrentId, (u64, Vec<u64>)>,
}

impl Layout for Irregular {
    fn shape(&self, torrent: &TorrentId) -> Option<audit::Shape> {
        let (piece_length, pieces) = self.torrents.get(torrent)?;
        Some(audit::Shape {
            pieces: pieces.len() as u32,
            piece_length: *piece_length,
            data_length: pieces.iter().sum(),
        })
    }

    fn piece_bytes(&self, torrent: &TorrentId, piece: u32) -> u64 {
        self.torrents
            .get(torrent)
            .and_then(|(_, p)| p.get(piece as usize).copied())
            .unwrap_or(0)
    }
}
