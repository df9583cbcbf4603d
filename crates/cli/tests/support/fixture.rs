//! Deterministic test content and byte-exact comparison of downloaded trees.
//!
//! Content comes from a seeded generator so a failure reproduces with the same bytes, and sizes are odd on
//! purpose: files that end mid-piece and mid-block, an empty file, a file smaller than one block, nested
//! directories — the cases where v1 piece spanning, v2 per-file trees and hybrid padding differ.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The multi-file fixture, rooted at a directory named `set`: about 20 MB.
pub const MULTI: &[(&str, u64)] = &[
    ("set/readme.txt", 1_337),
    ("set/a/big.bin", 9_437_189),
    ("set/a/empty.dat", 0),
    ("set/b/odd.bin", 5_000_011),
    ("set/b/c/tiny", 17),
    ("set/mid.bin", 5_555_555),
];

/// A single-file fixture of about 3 MB.
pub const SINGLE: &[(&str, u64)] = &[("x.bin", 3_000_017)];

/// Piece size used for the fixtures: small enough for many pieces, a power of two as v2 requires.
pub const PIECE_SIZE: u32 = 256 * 1024;

/// SplitMix64: tiny, fast and fully determined by its seed, which is all test data needs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// FNV-1a, to derive a per-file seed from its path.
fn path_seed(seed: u64, path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Writes `files` under `root` with content determined by `seed` and each path.
pub fn write_files(root: &Path, files: &[(&str, u64)], seed: u64) {
    for &(rel, len) in files {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {parent:?}: {e}"));
        }
        let file = File::create(&path).unwrap_or_else(|e| panic!("create {path:?}: {e}"));
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut rng = SplitMix64(path_seed(seed, rel));
        let mut left = len;
        while left > 0 {
            let word = rng.next().to_le_bytes();
            let n = usize::try_from(left.min(8)).unwrap_or(8);
            out.write_all(&word[..n])
                .unwrap_or_else(|e| panic!("write {path:?}: {e}"));
            left -= n as u64;
        }
        out.flush()
            .unwrap_or_else(|e| panic!("write {path:?}: {e}"));
    }
}

/// Total size of a fixture.
pub fn total_len(files: &[(&str, u64)]) -> u64 {
    files.iter().map(|&(_, len)| len).sum()
}

/// Every regular file under `root`, by path relative to `root`, with its length.
pub fn list_files(root: &Path) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"));
            let path = entry.path();
            let kind = entry
                .file_type()
                .unwrap_or_else(|e| panic!("stat {path:?}: {e}"));
            if kind.is_dir() {
                stack.push(path);
            } else {
                let len = entry
                    .metadata()
                    .unwrap_or_else(|e| panic!("stat {path:?}: {e}"))
                    .len();
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                found.insert(rel, len);
            }
        }
    }
    found
}

/// Asserts that `actual` holds exactly the files of `expected` (no missing, no extra such as pad or
/// partial files) with identical bytes; the message names the first differing offset.
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    if let Some(difference) = tree_difference(expected, actual, false) {
        panic!("downloaded tree {actual:?} differs from {expected:?}: {difference}");
    }
}

/// [`assert_same_tree`] for clients that never create zero-length files (Transmission 3 does not; it
/// writes a file only when a block of it arrives).
pub fn assert_same_tree_except_empty_files(expected: &Path, actual: &Path) {
    if let Some(difference) = tree_difference(expected, actual, true) {
        panic!("downloaded tree {actual:?} differs from {expected:?}: {difference}");
    }
}

/// Whether `actual` already holds exactly the files of `expected`, byte for byte.
pub fn same_tree(expected: &Path, actual: &Path) -> bool {
    tree_difference(expected, actual, false).is_none()
}

/// The first way in which `actual` differs from `expected`, if any.
fn tree_difference(expected: &Path, actual: &Path, empty_may_be_missing: bool) -> Option<String> {
    let mut want = list_files(expected);
    let got = list_files(actual);
    if empty_may_be_missing {
        want.retain(|path, len| *len > 0 || got.contains_key(path));
    }
    let missing: Vec<_> = want.keys().filter(|p| !got.contains_key(*p)).collect();
    let extra: Vec<_> = got.keys().filter(|p| !want.contains_key(*p)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Some(format!("missing {missing:?}, unexpected {extra:?}"));
    }
    for (rel, &len) in &want {
        let got_len = got[rel];
        if got_len != len {
            return Some(format!("{rel:?}: length {got_len}, expected {len}"));
        }
        if let Some(offset) = first_difference(&expected.join(rel), &actual.join(rel)) {
            return Some(format!("{rel:?}: content differs at byte offset {offset}"));
        }
    }
    None
}

/// Offset of the first differing byte of two equally long files, if any.
fn first_difference(a: &Path, b: &Path) -> Option<u64> {
    let mut fa = File::open(a).unwrap_or_else(|e| panic!("open {a:?}: {e}"));
    let mut fb = File::open(b).unwrap_or_else(|e| panic!("open {b:?}: {e}"));
    let mut ba = vec![0u8; 1 << 16];
    let mut bb = vec![0u8; 1 << 16];
    let mut offset = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba, a);
        let nb = read_full(&mut fb, &mut bb, b);
        if let Some(i) = ba[..na].iter().zip(&bb[..nb]).position(|(x, y)| x != y) {
            return Some(offset + i as u64);
        }
        if na != nb {
            return Some(offset + na.min(nb) as u64);
        }
        if na == 0 {
            return None;
        }
        offset += na as u64;
    }
}

fn read_full(file: &mut File, buf: &mut [u8], path: &Path) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => panic!("read {path:?}: {e}"),
        }
    }
    filled
}

/// Flips one byte of `path` in place, to check that a seeder re-checks its data instead of trusting it.
pub fn corrupt_byte(path: &Path, offset: u64) {
    use std::io::{Seek, SeekFrom};
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path:?}: {e}"));
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut byte))
        .and_then(|_| file.seek(SeekFrom::Start(offset)))
        .and_then(|_| file.write_all(&[byte[0] ^ 0xFF]))
        .unwrap_or_else(|e| panic!("corrupt {path:?} at {offset}: {e}"));
}

/// Creates `path` (and its parents) and returns it.
#[track_caller]
pub fn mkdir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {path:?}: {e}"));
    path.to_path_buf()
}
