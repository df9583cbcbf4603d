//! BEP 52 Merkle trees.
//!
//! Each file has its own binary SHA-256 tree. Leaves are the hashes of the file's 16 KiB blocks
//! (the last block may be shorter), padded with all-zero leaves up to a power of two. The root is
//! the file's `pieces root`. The layer whose nodes each cover one piece is the `piece layer`
//! stored in the .torrent for files larger than one piece; below it, a piece's subtree always has
//! `piece_length / 16 KiB` leaves, so the padding beyond the end of the file is made of "zero
//! subtrees" whose roots [`pad_hash`] computes without materialising them.
//!
//! Audits ask for one block and a proof: the sibling hashes ("uncles") from the block's leaf up
//! to the pieces root (or up to a piece-layer hash, for a verifier that already trusts the layer).

use crate::BLOCK_SIZE;
use crate::hash::{sha256, sha256_pair};

/// A leaf beyond the end of the file.
pub const ZERO: [u8; 32] = [0u8; 32];

const BLOCK: usize = BLOCK_SIZE as usize;

/// SHA-256 of each 16 KiB block of `data`; the last block may be short. Empty data has no blocks.
pub fn block_hashes(data: &[u8]) -> Vec<[u8; 32]> {
    data.chunks(BLOCK).map(sha256).collect()
}

/// Number of 16 KiB blocks in `length` bytes.
pub fn block_count(length: u64) -> u64 {
    length.div_ceil(u64::from(BLOCK_SIZE))
}

/// Root of the all-zero subtree with `leaves` leaves (rounded up to a power of two).
pub fn pad_hash(leaves: usize) -> [u8; 32] {
    let mut h = ZERO;
    let mut width = 1usize;
    while width < leaves {
        h = sha256_pair(&h, &h);
        width = width.saturating_mul(2);
    }
    h
}

/// Root over `leaves` padded with zero leaves to `leaf_count_pow2` (rounded up to a power of two
/// no smaller than `leaves.len()`). No leaves at all gives the zero hash.
pub fn root(leaves: &[[u8; 32]], leaf_count_pow2: usize) -> [u8; 32] {
    root_padded(leaves, leaf_count_pow2, ZERO)
}

/// Root over `nodes` that sit at a level where a missing node equals `pad`, padded to `width`
/// (rounded up to a power of two no smaller than `nodes.len()`).
pub fn root_padded(nodes: &[[u8; 32]], width: usize, pad: [u8; 32]) -> [u8; 32] {
    if nodes.is_empty() {
        return pad_up(pad, width);
    }
    let mut width = width.max(nodes.len()).next_power_of_two();
    let mut level: Vec<[u8; 32]> = nodes.to_vec();
    let mut pad = pad;
    while width > 1 {
        level = level
            .chunks(2)
            .map(|pair| sha256_pair(&pair[0], pair.get(1).unwrap_or(&pad)))
            .collect();
        pad = sha256_pair(&pad, &pad);
        width /= 2;
    }
    level[0]
}

fn pad_up(mut pad: [u8; 32], width: usize) -> [u8; 32] {
    let mut w = 1usize;
    while w < width {
        pad = sha256_pair(&pad, &pad);
        w = w.saturating_mul(2);
    }
    pad
}

/// Leaves of one piece's subtree: `piece_length / 16 KiB`.
fn leaves_per_piece(piece_length: u64) -> usize {
    usize::try_from(piece_length / u64::from(BLOCK_SIZE))
        .unwrap_or(usize::MAX)
        .max(1)
}

/// One piece-layer entry: the root of the piece's subtree over its blocks, padded with zero
/// leaves to `piece_length / 16 KiB` leaves (only the last piece of a file needs padding).
pub fn piece_hash(piece_data: &[u8], piece_length: u64) -> [u8; 32] {
    root(&block_hashes(piece_data), leaves_per_piece(piece_length))
}

/// The pieces root of a file larger than one piece, from its piece layer. Missing pieces at the
/// end of the layer are zero subtrees.
pub fn pieces_root(piece_layer: &[[u8; 32]], piece_length: u64) -> [u8; 32] {
    root_padded(
        piece_layer,
        piece_layer.len(),
        pad_hash(leaves_per_piece(piece_length)),
    )
}

/// The pieces root of a file of any size, from all its block hashes. For a file of at most one
/// piece this is also the only "piece hash" there is (the tree is then only as wide as the next
/// power of two of its block count, not a whole piece).
pub fn file_root(file_block_hashes: &[[u8; 32]]) -> [u8; 32] {
    root(file_block_hashes, file_block_hashes.len())
}

/// Builds the piece layer of a file from its block hashes.
pub fn piece_layer(file_block_hashes: &[[u8; 32]], piece_length: u64) -> Vec<[u8; 32]> {
    let per = leaves_per_piece(piece_length);
    file_block_hashes
        .chunks(per)
        .map(|c| root(c, per))
        .collect()
}

/// A block's path to a root: the sibling hashes from the leaf upwards.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BlockProof {
    /// Index of the block within its file (not within the piece).
    pub block_index: u32,
    /// Sibling hashes, lowest level first.
    pub uncles: Vec<[u8; 32]>,
}

/// Proof from block `block_index` up to the file's pieces root, given all block hashes of the
/// file. An out-of-range index yields an empty proof, which never verifies.
pub fn prove_block(file_block_hashes: &[[u8; 32]], block_index: u32) -> BlockProof {
    let idx = block_index as usize;
    if idx >= file_block_hashes.len() {
        return BlockProof {
            block_index,
            uncles: Vec::new(),
        };
    }
    BlockProof {
        block_index,
        uncles: uncles(file_block_hashes, file_block_hashes.len(), ZERO, idx),
    }
}

/// Proof from block `block_index` (index within the file) up to the hash of the piece that holds
/// it, given only that piece's block hashes. This is what a node can build after reading a single
/// piece; see [`extend_proof_with_layer`] to reach the pieces root.
pub fn prove_block_in_piece(
    piece_block_hashes: &[[u8; 32]],
    piece_length: u64,
    file_length: u64,
    block_index: u32,
) -> BlockProof {
    let Some(width) = piece_tree_width(piece_length, file_length) else {
        return BlockProof {
            block_index,
            uncles: Vec::new(),
        };
    };
    let in_piece = block_index as usize % width;
    if in_piece >= piece_block_hashes.len() {
        return BlockProof {
            block_index,
            uncles: Vec::new(),
        };
    }
    BlockProof {
        block_index,
        uncles: uncles(piece_block_hashes, width, ZERO, in_piece),
    }
}

/// Extends a proof made by [`prove_block_in_piece`] with the uncles from the file's piece layer,
/// so that it verifies against the pieces root with [`verify_block`]. Files of at most one piece
/// need nothing more.
pub fn extend_proof_with_layer(
    proof: &mut BlockProof,
    piece_layer: &[[u8; 32]],
    piece_length: u64,
    file_length: u64,
) {
    if file_length <= piece_length {
        return;
    }
    let per = leaves_per_piece(piece_length);
    let piece = proof.block_index as usize / per;
    if piece >= piece_layer.len() {
        proof.uncles.clear();
        return;
    }
    proof
        .uncles
        .extend(uncles(piece_layer, piece_layer.len(), pad_hash(per), piece));
}

/// Checks a block against its file's pieces root. `block` must be exactly the block's bytes
/// (16 KiB, or the remainder for the file's last block) and the proof must be complete.
pub fn verify_block(
    pieces_root: &[u8; 32],
    file_length: u64,
    block: &[u8],
    proof: &BlockProof,
) -> bool {
    let blocks = block_count(file_length);
    if !block_fits(file_length, block, proof.block_index) {
        return false;
    }
    let Ok(width) = usize::try_from(blocks) else {
        return false;
    };
    let depth = width.next_power_of_two().trailing_zeros() as usize;
    proof.uncles.len() == depth
        && fold(sha256(block), proof.block_index as usize, &proof.uncles) == *pieces_root
}

/// Checks a block against the hash of the piece holding it (a piece-layer entry, or the pieces
/// root for a file of at most one piece). The proof holds only the uncles inside the piece.
pub fn verify_block_in_piece(
    piece_hash: &[u8; 32],
    piece_length: u64,
    file_length: u64,
    block: &[u8],
    proof: &BlockProof,
) -> bool {
    let Some(width) = piece_tree_width(piece_length, file_length) else {
        return false;
    };
    if !block_fits(file_length, block, proof.block_index) {
        return false;
    }
    let depth = width.trailing_zeros() as usize;
    proof.uncles.len() == depth
        && fold(
            sha256(block),
            proof.block_index as usize % width,
            &proof.uncles,
        ) == *piece_hash
}

/// Leaves under one piece hash: a whole piece, or for a file of at most one piece the next power
/// of two of its block count. `None` for an empty file or an unusable piece length.
fn piece_tree_width(piece_length: u64, file_length: u64) -> Option<usize> {
    if file_length == 0 || piece_length < u64::from(BLOCK_SIZE) || !piece_length.is_power_of_two() {
        return None;
    }
    if file_length <= piece_length {
        usize::try_from(block_count(file_length))
            .ok()
            .map(usize::next_power_of_two)
    } else {
        Some(leaves_per_piece(piece_length))
    }
}

fn block_fits(file_length: u64, block: &[u8], block_index: u32) -> bool {
    let blocks = block_count(file_length);
    let idx = u64::from(block_index);
    if idx >= blocks {
        return false;
    }
    let expected = if idx + 1 == blocks {
        file_length - idx * u64::from(BLOCK_SIZE)
    } else {
        u64::from(BLOCK_SIZE)
    };
    block.len() as u64 == expected
}

fn fold(mut h: [u8; 32], mut index: usize, uncles: &[[u8; 32]]) -> [u8; 32] {
    for u in uncles {
        h = if index & 1 == 0 {
            sha256_pair(&h, u)
        } else {
            sha256_pair(u, &h)
        };
        index >>= 1;
    }
    h
}

/// Sibling hashes of `index` in the tree over `nodes` padded with `pad` to `width`.
fn uncles(nodes: &[[u8; 32]], width: usize, pad: [u8; 32], index: usize) -> Vec<[u8; 32]> {
    let mut width = width.max(nodes.len()).next_power_of_two();
    let mut level: Vec<[u8; 32]> = nodes.to_vec();
    let mut pad = pad;
    let mut index = index;
    let mut out = Vec::new();
    while width > 1 {
        out.push(level.get(index ^ 1).copied().unwrap_or(pad));
        level = level
            .chunks(2)
            .map(|pair| sha256_pair(&pair[0], pair.get(1).unwrap_or(&pad)))
            .collect();
        pad = sha256_pair(&pad, &pad);
        width /= 2;
        index /= 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn tiny_trees() {
        let a = sha256(b"a");
        let b = sha256(b"b");
        assert_eq!(root(&[a], 1), a);
        assert_eq!(root(&[a, b], 2), sha256_pair(&a, &b));
        assert_eq!(root(&[a], 2), sha256_pair(&a, &ZERO));
        assert_eq!(root(&[], 1), ZERO);
        assert_eq!(pad_hash(4), root(&[ZERO; 4], 4));
        let p2 = pad_hash(2);
        assert_eq!(
            root_padded(&[a], 4, p2),
            sha256_pair(&sha256_pair(&a, &p2), &sha256_pair(&p2, &p2))
        );
        assert_eq!(root(&[a, b], 4), root(&[a, b, ZERO, ZERO], 4));
    }

    #[test]
    fn piece_layer_root_equals_block_root() {
        let piece_length = 4 * u64::from(BLOCK_SIZE);
        for len in [
            BLOCK + 1,
            4 * BLOCK,
            4 * BLOCK + 1,
            9 * BLOCK + 77,
            17 * BLOCK,
        ] {
            let d = data(len, 3);
            let blocks = block_hashes(&d);
            let layer = piece_layer(&blocks, piece_length);
            let by_pieces: Vec<[u8; 32]> = d
                .chunks(piece_length as usize)
                .map(|p| piece_hash(p, piece_length))
                .collect();
            assert_eq!(layer, by_pieces);
            if len as u64 > piece_length {
                assert_eq!(
                    pieces_root(&layer, piece_length),
                    file_root(&blocks),
                    "{len}"
                );
            }
        }
    }

    #[test]
    fn proofs_verify_and_detect_tampering() {
        let piece_length = 2 * u64::from(BLOCK_SIZE);
        for len in [1usize, BLOCK, BLOCK + 5, 2 * BLOCK, 5 * BLOCK + 100] {
            let d = data(len, 9);
            let file_length = len as u64;
            let blocks = block_hashes(&d);
            let root = file_root(&blocks);
            let layer = piece_layer(&blocks, piece_length);
            for (i, block) in d.chunks(BLOCK).enumerate() {
                let proof = prove_block(&blocks, i as u32);
                assert!(verify_block(&root, file_length, block, &proof), "{len} {i}");
                let mut flipped = block.to_vec();
                flipped[0] ^= 1;
                assert!(!verify_block(&root, file_length, &flipped, &proof));

                let per = (piece_length as usize) / BLOCK;
                let piece = i / per;
                let piece_blocks = &blocks[piece * per..((piece + 1) * per).min(blocks.len())];
                let mut p = prove_block_in_piece(piece_blocks, piece_length, file_length, i as u32);
                let piece_root = if file_length > piece_length {
                    layer[piece]
                } else {
                    root
                };
                assert!(verify_block_in_piece(
                    &piece_root,
                    piece_length,
                    file_length,
                    block,
                    &p
                ));
                extend_proof_with_layer(&mut p, &layer, piece_length, file_length);
                assert_eq!(p, proof);
            }
        }
    }
}
