//! Torrent metainfo for seedbank: strict bencode, v1 (BEP 3), v2 (BEP 52) and hybrid torrents
//! with BEP 47 pad files, private torrents (BEP 27), exact info-hashes, BEP 52 Merkle trees and
//! block proofs, and magnet links (BEP 9, plus `btmh` from BEP 52).
//!
//! Torrents created here have the same info-hashes as libtorrent 2.0 creates for the same files
//! and piece length (see `docs/metainfo.md` for the canonical layout and what the parser
//! refuses). Everything that reads untrusted bytes returns [`MetainfoError`]; nothing panics on
//! input.

pub mod bencode;
mod build;
mod create;
mod error;
pub mod hash;
pub mod magnet;
pub mod merkle;
mod parse;
mod path;
mod torrent;

pub use create::{CreateOptions, auto_piece_length, create_torrent};
pub use error::MetainfoError;
pub use torrent::Torrent;

/// BEP 52 block size, and the request size of the peer wire.
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// Largest .torrent file [`Torrent::from_bytes`] reads. Real torrents of very large data sets stay
/// far below this (a 1 TiB torrent with 1 MiB pieces has 20 MiB of v1 hashes).
pub const MAX_TORRENT_BYTES: usize = 64 * 1024 * 1024;

/// Largest file, and largest total, we accept (1 PiB); above this, sums of lengths get close to
/// the range where mistakes in 64-bit arithmetic stop being theoretical.
pub const MAX_LENGTH: u64 = 1 << 50;

/// Largest piece length we accept. libtorrent refuses more than 128 MiB when creating; a little
/// headroom avoids rejecting torrents from more permissive tools, and bounds per-piece buffers.
pub const MAX_PIECE_LENGTH: u64 = 256 * 1024 * 1024;

/// Most pieces one torrent may have. Bounds bitfields and per-piece state, and keeps piece
/// indices comfortably inside `u32`.
pub const MAX_PIECES: u64 = 1 << 22;

/// Which hash trees a torrent carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// BEP 3 only: SHA-1 per piece over the concatenation of all files.
    V1,
    /// BEP 52 only: per-file SHA-256 Merkle trees.
    V2,
    /// Both, over the same bytes, with BEP 47 pad files aligning every file to a piece.
    Hybrid,
}

/// The info-hashes of a torrent: SHA-1 of the info dict (v1) and/or its SHA-256 (v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct InfoHashes {
    /// SHA-1 info-hash, for v1 and hybrid torrents.
    pub v1: Option<[u8; 20]>,
    /// SHA-256 info-hash, for v2 and hybrid torrents.
    pub v2: Option<[u8; 32]>,
}

impl InfoHashes {
    /// The v2 hash cut to 20 bytes, as BEP 52 uses it in 20-byte protocol fields.
    pub fn v2_truncated(&self) -> Option<[u8; 20]> {
        self.v2.map(|h| {
            let mut out = [0u8; 20];
            out.copy_from_slice(&h[..20]);
            out
        })
    }

    /// The 20-byte id used in the peer handshake and tracker announces: v1 if present, else
    /// truncated v2. All zeros if neither is known.
    pub fn wire_id(&self) -> [u8; 20] {
        self.v1.or_else(|| self.v2_truncated()).unwrap_or_default()
    }

    /// Does this 20-byte id (from a handshake / announce) name this torrent? (v1 or truncated v2)
    pub fn matches(&self, id: &[u8; 20]) -> bool {
        self.v1.as_ref() == Some(id) || self.v2_truncated().as_ref() == Some(id)
    }
}

/// One file of the torrent, in piece-space order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Validated path components (see `docs/metainfo.md`); for single-file torrents `[name]`.
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Byte offset of the file in the torrent's piece space. v1/hybrid: the concatenation of all
    /// files including pad files. v2-only: each non-empty file starts at a piece boundary (virtual
    /// alignment, as libtorrent does), so a piece never spans two files.
    pub offset: u64,
    /// BEP 47 pad file: never written to disk, reads as zeros.
    pub pad: bool,
    /// `attr` contains `x`.
    pub executable: bool,
    /// `attr` contains `h`.
    pub hidden: bool,
    /// v2/hybrid non-empty, non-pad files: root of the file's Merkle tree.
    pub pieces_root: Option<[u8; 32]>,
}

impl FileEntry {
    /// One past the file's last byte in piece space.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

/// The parsed info dictionary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// Suggested name of the file (single-file) or top directory (multi-file); a safe path
    /// component.
    pub name: String,
    /// Bytes per piece: a power of two >= 16 KiB for v2/hybrid; v1: >= 16 KiB, multiple of 16 KiB.
    pub piece_length: u64,
    /// BEP 27 `private` flag.
    pub private: bool,
    /// Which hashes the torrent has.
    pub version: Version,
    /// In piece-space order, pad files included (v1/hybrid).
    pub files: Vec<FileEntry>,
    /// SHA-1 per piece; empty for v2-only.
    pub pieces_v1: Vec<[u8; 20]>,
    /// Size of the piece space (end of the last file, pad files included).
    pub total_length: u64,
    /// Single-file layout: the data is one file called `name`, not a directory.
    pub single_file: bool,
}

impl Info {
    /// Number of pieces in the piece space.
    pub fn piece_count(&self) -> u32 {
        if self.piece_length == 0 {
            return 0;
        }
        u32::try_from(self.total_length.div_ceil(self.piece_length)).unwrap_or(u32::MAX)
    }

    /// Sum of the lengths of the real (non-pad) files: what ends up on disk.
    pub fn data_length(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| !f.pad)
            .fold(0u64, |acc, f| acc.saturating_add(f.length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_hash_ids() {
        let v1 = [1u8; 20];
        let mut v2 = [2u8; 32];
        v2[0] = 9;
        let hybrid = InfoHashes {
            v1: Some(v1),
            v2: Some(v2),
        };
        assert_eq!(hybrid.wire_id(), v1);
        let trunc = hybrid.v2_truncated().unwrap();
        assert_eq!(trunc[0], 9);
        assert!(hybrid.matches(&v1));
        assert!(hybrid.matches(&trunc));
        assert!(!hybrid.matches(&[3u8; 20]));
        let only_v2 = InfoHashes {
            v1: None,
            v2: Some(v2),
        };
        assert_eq!(only_v2.wire_id(), trunc);
        assert!(!only_v2.matches(&v1));
        assert_eq!(InfoHashes::default().wire_id(), [0u8; 20]);
        assert!(!InfoHashes::default().matches(&[0u8; 20]));
    }
}
