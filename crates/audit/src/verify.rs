//! Judging an answer.
//!
//! Torrents with v2 hashes (v2 and hybrid) are audited block by block: the node sends the
//! challenged block's bytes and the sibling hashes from its leaf up to its file's `pieces root`
//! (BEP 52), which the torrent's metadata fixes; [`check_v2_answer`] recomputes the path. v1-only
//! torrents have nothing finer than a piece's SHA-1, so the node sends the whole piece and
//! [`check_v1_answer`] hashes it.
//!
//! [`Target`] is what a challenge is checked against, derived from the torrent
//! ([`Target::for_challenge`]) and stored with any evidence, so the check can be redone from the
//! evidence alone.

use metainfo::merkle::{self, BlockProof};
use metainfo::{Torrent, Version};
use serde::{Deserialize, Serialize};

use crate::challenge::Challenge;
use crate::layout::torrent_key;
use crate::{BLOCK_SIZE, TorrentId};

/// Longest proof any file can need: a file of at most [`metainfo::MAX_LENGTH`] (2^50) bytes has at
/// most 2^36 blocks, a tree 36 levels deep.
pub const MAX_PROOF_HASHES: usize = 36;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("block {index} is beyond the file's {blocks} blocks")]
    BlockOutOfRange { index: u32, blocks: u64 },
    #[error("the block has {got} bytes; block {index} of this file has {expected}")]
    BlockLength { index: u32, expected: u64, got: u64 },
    #[error("the proof has {got} hashes; a file of {blocks} blocks needs {expected}")]
    ProofLength {
        blocks: u64,
        expected: usize,
        got: usize,
    },
    #[error("the block and its proof do not lead to the file's pieces root")]
    RootMismatch,
    #[error("the piece has {got} bytes, {expected} expected")]
    PieceLength { expected: u64, got: u64 },
    #[error("the piece's SHA-1 is not the torrent's")]
    PieceHashMismatch,
    #[error("a {got} answer to a challenge that needs a {expected}")]
    WrongKind {
        expected: &'static str,
        got: &'static str,
    },
}

/// Checks a v2 answer: `data` must be exactly block `file_block_index` of a file of `file_length`
/// bytes (16 KiB, or the remainder for the file's last block), and `proof` its uncles, lowest
/// level first, up to `pieces_root`.
pub fn check_v2_answer(
    pieces_root: &[u8; 32],
    file_length: u64,
    file_block_index: u32,
    data: &[u8],
    proof: &[[u8; 32]],
) -> Result<(), AnswerError> {
    let blocks = merkle::block_count(file_length);
    let index = u64::from(file_block_index);
    if index >= blocks {
        return Err(AnswerError::BlockOutOfRange {
            index: file_block_index,
            blocks,
        });
    }
    let expected_len = if index + 1 == blocks {
        file_length - index * BLOCK_SIZE
    } else {
        BLOCK_SIZE
    };
    if data.len() as u64 != expected_len {
        return Err(AnswerError::BlockLength {
            index: file_block_index,
            expected: expected_len,
            got: data.len() as u64,
        });
    }
    // The tree is as wide as the next power of two of the block count. blocks <= 2^64/2^14, so
    // the power of two fits in u64.
    let depth = blocks.next_power_of_two().trailing_zeros() as usize;
    if proof.len() != depth {
        return Err(AnswerError::ProofLength {
            blocks,
            expected: depth,
            got: proof.len(),
        });
    }
    let p = BlockProof {
        block_index: file_block_index,
        uncles: proof.to_vec(),
    };
    if merkle::verify_block(pieces_root, file_length, data, &p) {
        Ok(())
    } else {
        Err(AnswerError::RootMismatch)
    }
}

/// Checks a v1 answer: the whole piece, against its SHA-1 from the torrent.
pub fn check_v1_answer(piece_hash_sha1: &[u8; 20], piece_data: &[u8]) -> Result<(), AnswerError> {
    if metainfo::hash::sha1(piece_data) == *piece_hash_sha1 {
        Ok(())
    } else {
        Err(AnswerError::PieceHashMismatch)
    }
}

/// What a node sent back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Answer {
    /// v2/hybrid: the block and its proof up to the file's pieces root.
    Block {
        #[serde(with = "crate::hexser::bytes")]
        data: Vec<u8>,
        #[serde(with = "token::hexser::hex32_list")]
        proof: Vec<[u8; 32]>,
    },
    /// v1: the whole piece.
    Piece {
        #[serde(with = "crate::hexser::bytes")]
        data: Vec<u8>,
    },
}

impl Answer {
    fn kind(&self) -> &'static str {
        match self {
            Answer::Block { .. } => "block",
            Answer::Piece { .. } => "piece",
        }
    }
}

/// What a challenge is checked against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Target {
    /// A block of a v2 file.
    V2 {
        #[serde(with = "token::hex32")]
        pieces_root: [u8; 32],
        file_length: u64,
        /// The block's index within its file (not within the piece).
        file_block_index: u32,
    },
    /// A v1 piece.
    V1 {
        #[serde(with = "crate::hexser::hex20")]
        piece_sha1: [u8; 20],
        /// The piece's size on the wire.
        piece_length: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the challenge is for torrent 0x{}, not this one", hex::encode(.0))]
    WrongTorrent(TorrentId),
    #[error("piece {piece} is out of range: the torrent has {pieces}")]
    PieceOutOfRange { piece: u32, pieces: u32 },
    #[error("piece {piece} holds {blocks} blocks of data; block {block} does not exist")]
    BlockOutOfRange { piece: u32, block: u32, blocks: u64 },
    #[error("the torrent has no hash for piece {0}")]
    NoHash(u32),
    #[error("block {0} of its file is beyond what a proof can index")]
    IndexTooLarge(u64),
}

impl Target {
    /// What `challenge` is checked against in `torrent`: a v2 block for v2 and hybrid torrents,
    /// the v1 piece otherwise. The block must hold file data (padding is never challenged).
    pub fn for_challenge(torrent: &Torrent, challenge: &Challenge) -> Result<Target, TargetError> {
        if torrent_key(torrent) != challenge.torrent {
            return Err(TargetError::WrongTorrent(challenge.torrent));
        }
        let pieces = torrent.piece_count();
        if challenge.piece >= pieces {
            return Err(TargetError::PieceOutOfRange {
                piece: challenge.piece,
                pieces,
            });
        }
        let files = torrent.piece_files(challenge.piece);
        let data: u64 = files.iter().map(|&(_, _, len)| u64::from(len)).sum();
        let blocks = data.div_ceil(BLOCK_SIZE);
        if u64::from(challenge.block) >= blocks {
            return Err(TargetError::BlockOutOfRange {
                piece: challenge.piece,
                block: challenge.block,
                blocks,
            });
        }
        if torrent.info.version == Version::V1 {
            let piece_sha1 = *torrent
                .info
                .pieces_v1
                .get(challenge.piece as usize)
                .ok_or(TargetError::NoHash(challenge.piece))?;
            return Ok(Target::V1 {
                piece_sha1,
                piece_length: torrent.piece_size(challenge.piece),
            });
        }
        // v2 and hybrid: files start on piece boundaries, so a piece's data is one file's.
        let &[(file, offset_in_file, _)] = files.as_slice() else {
            return Err(TargetError::NoHash(challenge.piece));
        };
        let f = &torrent.info.files[file];
        let pieces_root = f.pieces_root.ok_or(TargetError::NoHash(challenge.piece))?;
        let index = offset_in_file / BLOCK_SIZE + u64::from(challenge.block);
        let file_block_index =
            u32::try_from(index).map_err(|_| TargetError::IndexTooLarge(index))?;
        Ok(Target::V2 {
            pieces_root,
            file_length: f.length,
            file_block_index,
        })
    }

    /// Checks `answer` against this target.
    pub fn check(&self, answer: &Answer) -> Result<(), AnswerError> {
        match (self, answer) {
            (
                Target::V2 {
                    pieces_root,
                    file_length,
                    file_block_index,
                },
                Answer::Block { data, proof },
            ) => check_v2_answer(pieces_root, *file_length, *file_block_index, data, proof),
            (
                Target::V1 {
                    piece_sha1,
                    piece_length,
                },
                Answer::Piece { data },
            ) => {
                // The length first: cheaper than hashing, and a clearer reason.
                if data.len() as u64 != u64::from(*piece_length) {
                    return Err(AnswerError::PieceLength {
                        expected: u64::from(*piece_length),
                        got: data.len() as u64,
                    });
                }
                check_v1_answer(piece_sha1, data)
            }
            (Target::V2 { .. }, a) => Err(AnswerError::WrongKind {
                expected: "block",
                got: a.kind(),
            }),
            (Target::V1 { .. }, a) => Err(AnswerError::WrongKind {
                expected: "piece",
                got: a.kind(),
            }),
        }
    }
}
