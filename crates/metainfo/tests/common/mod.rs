//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use metainfo::Torrent;

/// Deterministic, incompressible-looking bytes (xorshift), different per `seed`.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn write_file(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, data).unwrap();
}

/// Where file `index` of `torrent` lives when the torrent's data sits at `data_root` (the file
/// itself for single-file torrents, the top directory otherwise).
pub fn file_on_disk(torrent: &Torrent, data_root: &Path, index: usize) -> PathBuf {
    if torrent.info.single_file {
        data_root.to_path_buf()
    } else {
        let mut p = data_root.to_path_buf();
        for c in &torrent.info.files[index].path {
            p.push(c);
        }
        p
    }
}

/// Reads piece `index` from disk the way a client would: file ranges from `piece_files`, pad
/// bytes as zeros.
pub fn read_piece(torrent: &Torrent, data_root: &Path, index: u32) -> Vec<u8> {
    let size = torrent.piece_size(index) as usize;
    let mut buf = vec![0u8; size];
    let start = u64::from(index) * torrent.info.piece_length;
    for (fi, off, len) in torrent.piece_files(index) {
        let f = &torrent.info.files[fi];
        let at = (f.offset + off - start) as usize;
        let mut file = fs::File::open(file_on_disk(torrent, data_root, fi)).unwrap();
        file.seek(SeekFrom::Start(off)).unwrap();
        file.read_exact(&mut buf[at..at + len as usize]).unwrap();
    }
    buf
}

/// Checks every piece of `torrent` against the data at `data_root`, and that a flipped byte is
/// caught. Returns the number of pieces checked.
pub fn verify_all_pieces(torrent: &Torrent, data_root: &Path) -> u32 {
    let count = torrent.piece_count();
    assert!(count > 0);
    for i in 0..count {
        let mut data = read_piece(torrent, data_root, i);
        assert!(
            torrent.verify_piece(i, &data),
            "piece {i} of {count} does not verify ({:?})",
            torrent.info.version
        );
        // Flip a bit in the piece's file data (not in padding, which v2 does not cover).
        if let Some(&(fi, off, _)) = torrent.piece_files(i).first() {
            let at = (torrent.info.files[fi].offset + off
                - u64::from(i) * torrent.info.piece_length) as usize;
            data[at] ^= 0x01;
            assert!(
                !torrent.verify_piece(i, &data),
                "flipped piece {i} verified"
            );
            data[at] ^= 0x01;
        }
        assert!(!torrent.verify_piece(i, &data[..data.len() - 1]));
    }
    assert!(!torrent.verify_piece(count, &[]));
    count
}
