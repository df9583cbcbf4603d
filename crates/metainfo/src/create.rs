//! Creating torrents from files on disk, with the same layout (and so the same info-hashes) as
//! libtorrent 2.0's `create_torrent`:
//!
//! - files are sorted by path, comparing component by component as raw bytes;
//! - hybrid torrents with more than one file get a BEP 47 pad file (`.pad/<size>`, attr `p`)
//!   after every non-empty file that does not end on a piece boundary, the last one included;
//!   single-file hybrids are never padded;
//! - v1-only torrents are not padded; v2-only torrents need no pad files (the piece space is
//!   virtually aligned per file);
//! - a directory always gives the multi-file layout, even when it holds one file;
//! - executable files get `attr: "x"`; no `mtime`, no symlink entries (links are followed).
//!
//! Hashing streams: one thread reads the files in order in large chunks into a small pool of
//! reusable buffers; worker threads hash whole pieces (SHA-1 and the piece's Merkle subtree) in
//! parallel. Memory stays at a few buffers of max(4 MiB, one piece) whatever the data size.

mod hasher;
mod scan;

use std::collections::HashMap;
use std::path::Path;

use crate::{
    BLOCK_SIZE, FileEntry, Info, MAX_LENGTH, MAX_PIECES, MetainfoError, Torrent, Version, build,
    merkle, parse,
};
use scan::{Source, scan};

type Result<T> = std::result::Result<T, MetainfoError>;

/// How to create a torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateOptions {
    /// v1, v2 or hybrid (the default: v2 trees for audits, v1 for old clients).
    pub version: Version,
    /// Bytes per piece; `None` picks [`auto_piece_length`].
    pub piece_length: Option<u64>,
    /// BEP 27 private flag (no DHT/PEX; trackers only).
    pub private: bool,
    /// Tracker URLs, each its own tier (the first is also `announce`).
    pub announce: Vec<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            version: Version::Hybrid,
            piece_length: None,
            private: false,
            announce: Vec::new(),
            comment: None,
            created_by: Some(format!("seedbank {}", env!("CARGO_PKG_VERSION"))),
            creation_date: None,
        }
    }
}

/// libtorrent 2.0's automatic piece size: it targets a v1 hash list of about
/// `2 * sqrt(total)` bytes, from 16 KiB up to 16 MiB. Always a power of two >= 16 KiB.
pub fn auto_piece_length(total: u64) -> u64 {
    const TABLE: [u64; 10] = [
        2_684_355,
        10_737_418,
        42_949_673,
        171_798_692,
        687_194_767,
        2_748_779_069,
        10_995_116_278,
        43_980_465_111,
        175_921_860_444,
        703_687_441_777,
    ];
    let step = TABLE.iter().take_while(|&&limit| limit < total).count();
    u64::from(BLOCK_SIZE) << step
}

/// Hash the file or directory at `path` into a torrent. `progress(bytes_done, bytes_total)` is
/// called on the calling thread as pieces complete (bytes of file data, pad files excluded).
pub fn create_torrent(
    path: &Path,
    opts: &CreateOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Torrent> {
    let source = scan(path)?;
    let data_total = source
        .files
        .iter()
        .try_fold(0u64, |acc, f| {
            acc.checked_add(f.length).filter(|&t| t <= MAX_LENGTH)
        })
        .ok_or(MetainfoError::TooLarge {
            what: "total data",
            size: u64::MAX,
            limit: MAX_LENGTH,
        })?;
    if data_total == 0 {
        return Err(MetainfoError::Create(format!(
            "{} holds no data (no files, or only empty files)",
            path.display()
        )));
    }
    let piece_length = opts
        .piece_length
        .unwrap_or_else(|| auto_piece_length(data_total));
    parse::check_piece_length(piece_length, opts.version)?;

    let layout = lay_out(&source, piece_length, opts.version)?;
    let piece_count = layout.total.div_ceil(piece_length);
    if piece_count > MAX_PIECES {
        return Err(MetainfoError::Create(format!(
            "{piece_count} pieces of {piece_length} bytes; at most {MAX_PIECES} are supported, \
             choose a larger piece length"
        )));
    }

    let hashed = hasher::hash_pieces(
        &source,
        &layout,
        piece_length,
        opts.version,
        data_total,
        progress,
    )?;

    let mut files = layout.entries;
    let mut piece_layers = HashMap::new();
    if opts.version != Version::V1 {
        for (i, f) in files.iter_mut().enumerate() {
            if f.pad || f.length == 0 {
                continue;
            }
            let hashes = &hashed.v2[i];
            if f.length <= piece_length {
                f.pieces_root = hashes.first().copied();
            } else {
                let root = merkle::pieces_root(hashes, piece_length);
                f.pieces_root = Some(root);
                piece_layers.insert(root, hashes.clone());
            }
        }
    }

    let info = Info {
        name: source.name,
        piece_length,
        private: opts.private,
        version: opts.version,
        files,
        pieces_v1: hashed.v1,
        total_length: layout.total,
        single_file: source.single_file,
    };
    let info_bytes = build::encode_info(&info);
    let hashes = parse::info_hashes(&info_bytes, info.version);
    let announce_list = if opts.announce.len() > 1 {
        opts.announce.iter().map(|u| vec![u.clone()]).collect()
    } else {
        Vec::new()
    };
    Ok(Torrent {
        info,
        info_bytes,
        hashes,
        announce: opts.announce.first().cloned(),
        announce_list,
        comment: opts.comment.clone(),
        created_by: opts.created_by.clone(),
        creation_date: opts.creation_date,
        piece_layers,
    })
}

pub(crate) struct Layout {
    /// Files in piece-space order, pad files included.
    entries: Vec<FileEntry>,
    /// For each entry, the index into `Source::files` (None for pad files).
    source: Vec<Option<usize>>,
    total: u64,
}

fn lay_out(src: &Source, piece_length: u64, version: Version) -> Result<Layout> {
    let mut entries = Vec::with_capacity(src.files.len() * 2);
    let mut source = Vec::with_capacity(src.files.len() * 2);
    let mut off = 0u64;
    let pad_files = version == Version::Hybrid && src.files.len() > 1;
    for (i, f) in src.files.iter().enumerate() {
        if version == Version::V2 && f.length > 0 && !off.is_multiple_of(piece_length) {
            off = off.saturating_add(piece_length - off % piece_length);
        }
        entries.push(FileEntry {
            path: f.rel.clone(),
            length: f.length,
            offset: off,
            pad: false,
            executable: f.executable,
            hidden: false,
            pieces_root: None,
        });
        source.push(Some(i));
        // Saturating: the sum is checked against MAX_LENGTH below, far from u64::MAX.
        off = off.saturating_add(f.length);
        if pad_files && f.length > 0 && !off.is_multiple_of(piece_length) {
            let pad = piece_length - off % piece_length;
            entries.push(FileEntry {
                path: vec![".pad".to_string(), pad.to_string()],
                length: pad,
                offset: off,
                pad: true,
                executable: false,
                hidden: false,
                pieces_root: None,
            });
            source.push(None);
            off = off.saturating_add(pad);
        }
    }
    if off > MAX_LENGTH {
        return Err(MetainfoError::TooLarge {
            what: "piece space",
            size: off,
            limit: MAX_LENGTH,
        });
    }
    Ok(Layout {
        entries,
        source,
        total: off,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_piece_length_matches_libtorrent_table() {
        assert_eq!(auto_piece_length(1), 16 * 1024);
        assert_eq!(auto_piece_length(2_684_355), 16 * 1024);
        assert_eq!(auto_piece_length(2_684_356), 32 * 1024);
        assert_eq!(auto_piece_length(1 << 30), 512 * 1024);
        assert_eq!(auto_piece_length(u64::MAX), 16 * 1024 * 1024);
    }

    #[test]
    fn piece_length_rules() {
        let check = parse::check_piece_length;
        assert!(check(16 * 1024, Version::Hybrid).is_ok());
        assert!(check(48 * 1024, Version::V1).is_ok());
        assert!(check(48 * 1024, Version::V2).is_err());
        assert!(check(8 * 1024, Version::V1).is_err());
        assert!(check(512 * 1024 * 1024, Version::V1).is_err());
    }
}
