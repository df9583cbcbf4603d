//! How big a torrent is, as audits count it: pieces, and the 16 KiB blocks of file data in each.
//!
//! A torrent's piece space is cut into pieces of `piece_length` bytes (a multiple of 16 KiB).
//! Most pieces hold `piece_length / 16 KiB` blocks; some hold fewer: the torrent's last piece,
//! and in v2 and hybrid torrents the last piece of every file (BEP 52 aligns each file to a
//! piece; the rest of that piece is padding, which no Merkle tree covers and no disk stores).
//! A piece's blocks are `ceil(bytes of file data in the piece / 16 KiB)`; padding never counts,
//! so a node is neither audited on nor credited for bytes it does not store.
//!
//! [`Layout`] is what [`crate::challenge::derive`] and [`crate::report::HostingReport`] ask;
//! a map of [`Shape`]s covers torrents whose pieces are all full but the last (v1, single-file
//! v2), [`TorrentLayouts`] covers any parsed [`Torrent`].

use std::collections::BTreeMap;

use metainfo::Torrent;

use crate::{BLOCK_SIZE, TorrentId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("a torrent has at least one piece")]
    NoPieces,
    #[error("piece length {0} is not a positive multiple of 16 KiB up to 256 MiB")]
    PieceLength(u64),
    #[error("{data} bytes of data do not fit in {pieces} pieces of {piece_length} bytes")]
    DataLength {
        data: u64,
        pieces: u32,
        piece_length: u64,
    },
    #[error("piece {piece} holds {bytes} bytes of data, more than a piece ({piece_length})")]
    PieceBytes {
        piece: u32,
        bytes: u64,
        piece_length: u64,
    },
}

/// The outline of one torrent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Number of pieces (at least 1).
    pub pieces: u32,
    /// Bytes per full piece: a positive multiple of 16 KiB, at most [`metainfo::MAX_PIECE_LENGTH`].
    pub piece_length: u64,
    /// Bytes of file data in the whole torrent, padding excluded (what a full copy stores).
    pub data_length: u64,
}

impl Shape {
    /// Checks the bounds every computation here relies on.
    pub fn check(&self) -> Result<(), LayoutError> {
        if self.pieces == 0 {
            return Err(LayoutError::NoPieces);
        }
        if self.piece_length == 0
            || !self.piece_length.is_multiple_of(BLOCK_SIZE)
            || self.piece_length > metainfo::MAX_PIECE_LENGTH
        {
            return Err(LayoutError::PieceLength(self.piece_length));
        }
        // pieces < 2^32 and piece_length <= 2^28: the product fits u64.
        if self.data_length == 0 || self.data_length > u64::from(self.pieces) * self.piece_length {
            return Err(LayoutError::DataLength {
                data: self.data_length,
                pieces: self.pieces,
                piece_length: self.piece_length,
            });
        }
        Ok(())
    }

    /// Blocks in a full piece (at most 16,384).
    pub fn blocks_per_piece(&self) -> u64 {
        self.piece_length / BLOCK_SIZE
    }

    /// Bytes of data in `piece` when every piece is full but the last: `piece_length`, and the
    /// remainder for the last. 0 out of range.
    pub fn uniform_piece_bytes(&self, piece: u32) -> u64 {
        if piece >= self.pieces {
            return 0;
        }
        let start = u64::from(piece) * self.piece_length;
        self.data_length
            .saturating_sub(start)
            .min(self.piece_length)
    }
}

/// What audits need to know of the torrents a report names.
pub trait Layout {
    /// The torrent's shape, `None` if it is not one the collective knows.
    fn shape(&self, torrent: &TorrentId) -> Option<Shape>;

    /// Bytes of file data (padding excluded) in `piece`, at most the piece length; 0 out of range.
    /// The default suits torrents whose pieces are all full but the last.
    fn piece_bytes(&self, torrent: &TorrentId, piece: u32) -> u64 {
        self.shape(torrent)
            .map_or(0, |s| s.uniform_piece_bytes(piece))
    }
}

impl<L: Layout + ?Sized> Layout for &L {
    fn shape(&self, torrent: &TorrentId) -> Option<Shape> {
        (**self).shape(torrent)
    }

    fn piece_bytes(&self, torrent: &TorrentId, piece: u32) -> u64 {
        (**self).piece_bytes(torrent, piece)
    }
}

/// Torrents whose pieces are all full but the last.
impl Layout for BTreeMap<TorrentId, Shape> {
    fn shape(&self, torrent: &TorrentId) -> Option<Shape> {
        self.get(torrent).copied()
    }
}

/// Bytes of data in `piece` of `torrent`, checked against the piece length (a layout that says
/// more is refused rather than trusted).
pub fn checked_piece_bytes(
    layout: &impl Layout,
    torrent: &TorrentId,
    piece_length: u64,
    piece: u32,
) -> Result<u64, LayoutError> {
    let bytes = layout.piece_bytes(torrent, piece);
    if bytes > piece_length {
        return Err(LayoutError::PieceBytes {
            piece,
            bytes,
            piece_length,
        });
    }
    Ok(bytes)
}

/// Blocks of data in `piece` of `torrent`: `ceil(piece_bytes / 16 KiB)`, checked as
/// [`checked_piece_bytes`] does.
pub fn blocks_in_piece(
    layout: &impl Layout,
    torrent: &TorrentId,
    piece_length: u64,
    piece: u32,
) -> Result<u64, LayoutError> {
    Ok(checked_piece_bytes(layout, torrent, piece_length, piece)?.div_ceil(BLOCK_SIZE))
}

/// The id audits and receipts use for a parsed torrent.
pub fn torrent_key(torrent: &Torrent) -> TorrentId {
    token::torrent_id(torrent.hashes.v1, torrent.hashes.v2)
}

/// A [`Layout`] over parsed torrents, keyed by [`torrent_key`]. Piece data is counted from the
/// torrent's file list, so v2 and hybrid files' short last pieces and pad files come out right.
#[derive(Clone, Debug, Default)]
pub struct TorrentLayouts<'a> {
    torrents: BTreeMap<TorrentId, &'a Torrent>,
}

impl<'a> TorrentLayouts<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a torrent; returns its id.
    pub fn insert(&mut self, torrent: &'a Torrent) -> TorrentId {
        let id = torrent_key(torrent);
        self.torrents.insert(id, torrent);
        id
    }

    pub fn get(&self, id: &TorrentId) -> Option<&'a Torrent> {
        self.torrents.get(id).copied()
    }
}

impl<'a> FromIterator<&'a Torrent> for TorrentLayouts<'a> {
    fn from_iter<I: IntoIterator<Item = &'a Torrent>>(iter: I) -> Self {
        let mut l = TorrentLayouts::new();
        for t in iter {
            l.insert(t);
        }
        l
    }
}

impl Layout for TorrentLayouts<'_> {
    fn shape(&self, torrent: &TorrentId) -> Option<Shape> {
        let t = self.get(torrent)?;
        Some(Shape {
            pieces: t.piece_count(),
            piece_length: t.info.piece_length,
            data_length: t.info.data_length(),
        })
    }

    fn piece_bytes(&self, torrent: &TorrentId, piece: u32) -> u64 {
        self.get(torrent).map_or(0, |t| {
            t.piece_files(piece)
                .iter()
                .map(|&(_, _, len)| u64::from(len))
                .sum()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked() {
        let ok = Shape {
            pieces: 3,
            piece_length: 32 * 1024,
            data_length: 2 * 32 * 1024 + 1,
        };
        assert_eq!(ok.check(), Ok(()));
        assert_eq!(ok.blocks_per_piece(), 2);
        assert_eq!(ok.uniform_piece_bytes(0), 32 * 1024);
        assert_eq!(ok.uniform_piece_bytes(2), 1);
        assert_eq!(ok.uniform_piece_bytes(3), 0);
        for bad in [
            Shape { pieces: 0, ..ok },
            Shape {
                piece_length: 0,
                ..ok
            },
            Shape {
                piece_length: 20_000,
                ..ok
            },
            Shape {
                piece_length: 512 << 20,
                ..ok
            },
            Shape {
                data_length: 0,
                ..ok
            },
            Shape {
                data_length: 3 * 32 * 1024 + 1,
                ..ok
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
