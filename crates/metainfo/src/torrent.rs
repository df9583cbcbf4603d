//! A whole torrent: the parsed info dictionary with its exact bytes and hashes, tracker and
//! descriptive fields, and the BEP 52 piece layers; plus the piece geometry the engine needs.

use std::collections::{BTreeMap, HashMap};

use crate::bencode::{self, Value};
use crate::magnet::Magnet;
use crate::{Info, InfoHashes, MetainfoError, Version, hash, merkle, parse};

/// A parsed or freshly created torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Torrent {
    /// The parsed info dictionary.
    pub info: Info,
    /// Exact bencoded info dict (as parsed, or as created): hashes are over this.
    pub info_bytes: Vec<u8>,
    /// Info-hashes of `info_bytes`.
    pub hashes: InfoHashes,
    /// `announce`.
    pub announce: Option<String>,
    /// `announce-list` (BEP 12), tiers of tracker URLs.
    pub announce_list: Vec<Vec<String>>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// pieces_root -> layer, for files larger than one piece (validated against the root).
    pub piece_layers: HashMap<[u8; 32], Vec<[u8; 32]>>,
}

impl Torrent {
    /// Parses and validates a .torrent file (see `docs/metainfo.md` for what is refused).
    pub fn from_bytes(bytes: &[u8]) -> Result<Torrent, MetainfoError> {
        parse::parse_torrent(bytes)
    }

    /// Builds a torrent from a bare info dictionary, e.g. one fetched from peers with BEP 9 after
    /// opening a magnet link. The caller must check the hashes against the ones it asked for.
    /// Piece layers are empty until added with [`Torrent::add_piece_layer`].
    pub fn from_info_bytes(info_bytes: &[u8]) -> Result<Torrent, MetainfoError> {
        let info = parse::parse_info_bytes(info_bytes)?;
        let hashes = parse::info_hashes(info_bytes, info.version);
        Ok(Torrent {
            info,
            info_bytes: info_bytes.to_vec(),
            hashes,
            announce: None,
            announce_list: Vec::new(),
            comment: None,
            created_by: None,
            creation_date: None,
            piece_layers: HashMap::new(),
        })
    }

    /// Adds the piece layer of the file whose pieces root is `root` (received through BEP 52
    /// hash requests), after checking its size and that it hashes to the root.
    pub fn add_piece_layer(
        &mut self,
        root: [u8; 32],
        layer_bytes: &[u8],
    ) -> Result<(), MetainfoError> {
        let file = self
            .info
            .files
            .iter()
            .find(|f| f.pieces_root == Some(root))
            .ok_or_else(|| {
                MetainfoError::invalid("piece layers", "no file has this pieces root")
            })?;
        let err = |reason| MetainfoError::PieceLayer {
            file: file.path.join("/"),
            root: hex::encode(root),
            reason,
        };
        if file.length <= self.info.piece_length {
            return Err(err("files of at most one piece have no piece layer"));
        }
        let layer = parse::layer_from_bytes(layer_bytes, file.length, self.info.piece_length)
            .ok_or_else(|| err("wrong number of hashes for the file's length"))?;
        if merkle::pieces_root(&layer, self.info.piece_length) != root {
            return Err(err("does not hash to the file's pieces root"));
        }
        self.piece_layers.insert(root, layer);
        Ok(())
    }

    /// The full .torrent: tracker fields, the info dict byte-identical to `info_bytes`, and the
    /// piece layers (always present, possibly empty, for v2 and hybrid torrents).
    pub fn to_bytes(&self) -> Vec<u8> {
        let layer_bytes: Vec<([u8; 32], Vec<u8>)> = self
            .piece_layers
            .iter()
            .map(|(root, layer)| (*root, layer.concat()))
            .collect();
        let mut dict: BTreeMap<&[u8], Value<'_>> = BTreeMap::new();
        if let Some(a) = &self.announce {
            dict.insert(b"announce", Value::Bytes(a.as_bytes()));
        }
        if !self.announce_list.is_empty() {
            let tiers = self
                .announce_list
                .iter()
                .map(|tier| Value::List(tier.iter().map(|u| Value::Bytes(u.as_bytes())).collect()))
                .collect();
            dict.insert(b"announce-list", Value::List(tiers));
        }
        if let Some(c) = &self.comment {
            dict.insert(b"comment", Value::Bytes(c.as_bytes()));
        }
        if let Some(c) = &self.created_by {
            dict.insert(b"created by", Value::Bytes(c.as_bytes()));
        }
        if let Some(d) = self.creation_date {
            dict.insert(b"creation date", Value::Int(d));
        }
        if self.info.version != Version::V1 {
            let layers = layer_bytes
                .iter()
                .map(|(root, bytes)| (&root[..], Value::Bytes(bytes)))
                .collect();
            dict.insert(b"piece layers", Value::Dict(layers));
        }

        // Splice the info dict in verbatim at its sorted position.
        let mut out = Vec::with_capacity(self.info_bytes.len() + 1024);
        out.push(b'd');
        let mut info_written = false;
        for (k, v) in &dict {
            if !info_written && *k > &b"info"[..] {
                bencode::write_bytes(&mut out, b"info");
                out.extend_from_slice(&self.info_bytes);
                info_written = true;
            }
            bencode::write_bytes(&mut out, k);
            bencode::encode_into(v, &mut out);
        }
        if !info_written {
            bencode::write_bytes(&mut out, b"info");
            out.extend_from_slice(&self.info_bytes);
        }
        out.push(b'e');
        out
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.info.piece_count()
    }

    /// Bytes in piece `index` as transferred on the wire. Pad bytes count: BEP 47 pad files in
    /// v1/hybrid, and in v2 the gap between a file's end and the next piece boundary. libtorrent 2.0
    /// lays a v2 torrent out with a pad after *every* file, the last one included, so every v2 piece
    /// is `piece_length` on the wire and it requests whole blocks across the gap (serving zeros for
    /// it). The gap is never hashed by v2, never written, and reads as zeros. v1/hybrid: every piece
    /// but the last is `piece_length`. 0 for an index out of range.
    pub fn piece_size(&self, index: u32) -> u32 {
        let Some(start) = self.piece_start(index) else {
            return 0;
        };
        let end = match self.info.version {
            Version::V2 => start + self.info.piece_length,
            Version::V1 | Version::Hybrid => self.info.total_length,
        };
        let size = end.saturating_sub(start).min(self.info.piece_length);
        u32::try_from(size).unwrap_or(0)
    }

    /// The non-pad file ranges a piece covers, in order: (file index, offset in file, length).
    pub fn piece_files(&self, index: u32) -> Vec<(usize, u64, u32)> {
        let size = self.piece_size(index);
        let Some(start) = self.piece_start(index) else {
            return Vec::new();
        };
        let end = start + u64::from(size);
        let files = &self.info.files;
        let first = files.partition_point(|f| f.end() <= start);
        let mut out = Vec::new();
        for (i, f) in files.iter().enumerate().skip(first) {
            if f.offset >= end {
                break;
            }
            if f.pad || f.length == 0 {
                continue;
            }
            let from = start.max(f.offset);
            let to = end.min(f.end());
            if to > from {
                // `to - from` is at most one piece, which fits in u32 (MAX_PIECE_LENGTH).
                out.push((i, from - f.offset, (to - from) as u32));
            }
        }
        out
    }

    /// Checks `data` (exactly `piece_size(index)` bytes) against every hash the torrent has for
    /// that piece: SHA-1 (v1/hybrid) and the v2 Merkle piece hash (v2/hybrid; for a file of at
    /// most one piece, the file's pieces root). Pad bytes in a hybrid piece are not part of the v2
    /// hash. A v2-only piece whose piece layer is unknown (see [`Torrent::from_info_bytes`]) does
    /// not verify; for a hybrid the SHA-1 alone then decides.
    pub fn verify_piece(&self, index: u32, data: &[u8]) -> bool {
        if index >= self.piece_count() || data.len() != self.piece_size(index) as usize {
            return false;
        }
        if self.info.version != Version::V2 {
            match self.info.pieces_v1.get(index as usize) {
                Some(h) if hash::sha1(data) == *h => {}
                _ => return false,
            }
        }
        if self.info.version == Version::V1 {
            return true;
        }
        self.verify_piece_v2(index, data)
    }

    fn verify_piece_v2(&self, index: u32, data: &[u8]) -> bool {
        let Some(start) = self.piece_start(index) else {
            return false;
        };
        let end = start + data.len() as u64;
        let files = &self.info.files;
        let first = files.partition_point(|f| f.end() <= start);
        let Some(f) = files[first..]
            .iter()
            .take_while(|f| f.offset < end)
            .find(|f| !f.pad && f.length > 0)
        else {
            // Nothing but padding in this piece: the SHA-1 already covered it.
            return self.info.version == Version::Hybrid;
        };
        let Some(root) = f.pieces_root else {
            return false;
        };
        if f.offset > start {
            // Hybrid files are checked to start on piece boundaries when parsed.
            return false;
        }
        let in_file = (f.end() - start).min(data.len() as u64) as usize;
        let part = &data[..in_file];
        let pl = self.info.piece_length;
        if f.length <= pl {
            return merkle::file_root(&merkle::block_hashes(part)) == root;
        }
        let piece_in_file = ((start - f.offset) / pl) as usize;
        match self.piece_layers.get(&root) {
            Some(layer) => layer
                .get(piece_in_file)
                .is_some_and(|h| *h == merkle::piece_hash(part, pl)),
            None => self.info.version == Version::Hybrid,
        }
    }

    /// A magnet link for this torrent (both hashes, name, trackers).
    pub fn magnet(&self) -> Magnet {
        let mut trackers: Vec<String> = Vec::new();
        for url in self
            .announce
            .iter()
            .chain(self.announce_list.iter().flatten())
        {
            if !trackers.contains(url) {
                trackers.push(url.clone());
            }
        }
        Magnet {
            hashes: self.hashes,
            name: Some(self.info.name.clone()),
            trackers,
            peers: Vec::new(),
        }
    }

    /// Same info dict, new announce URL (and an announce-list holding only it), e.g. to give a
    /// member a copy carrying their own passkey.
    pub fn with_announce(&self, url: &str) -> Torrent {
        let mut t = self.clone();
        t.announce = Some(url.to_string());
        t.announce_list = vec![vec![url.to_string()]];
        t
    }

    fn piece_start(&self, index: u32) -> Option<u64> {
        (index < self.piece_count()).then(|| u64::from(index) * self.info.piece_length)
    }
}
