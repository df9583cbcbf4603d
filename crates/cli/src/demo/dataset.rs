//! The demo's collection: a few "game archives" of deterministic random bytes, each its own
//! torrent, with uneven file sizes (none a multiple of a piece: the awkward case on purpose).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::{RngCore, SeedableRng};

/// One archive: its directory name (the torrent's name), category, description, and its files as
/// (relative path, share of the archive's bytes).
pub struct Archive {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    /// Share of the whole collection, in percent.
    pub share: u64,
    files: &'static [(&'static str, u64)],
}

pub const COLLECTION: [Archive; 4] = [
    Archive {
        name: "lost-in-the-maze-1991",
        category: "games",
        description: "Lost in the Maze (1991): disk image and manual",
        share: 40,
        files: &[("lost-in-the-maze.iso", 95), ("manual.txt", 5)],
    },
    Archive {
        name: "pixel-racer",
        category: "games",
        description: "Pixel Racer: the shareware release",
        share: 30,
        files: &[("pixel-racer.zip", 90), ("tracks/bonus.dat", 10)],
    },
    Archive {
        name: "space-trader-1989",
        category: "games",
        description: "Space Trader (1989): floppy images",
        share: 20,
        files: &[("disk1.img", 50), ("disk2.img", 50)],
    },
    Archive {
        name: "dungeon-manuals",
        category: "books",
        description: "Scanned manuals and maps",
        share: 10,
        files: &[("maps.pdf", 70), ("manual.pdf", 30)],
    },
];

/// Writes every archive under `root` (`root/<name>/...`), `total` bytes in all; returns each
/// archive's directory.
pub fn write(root: &Path, total: u64) -> Result<Vec<PathBuf>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1989);
    let mut dirs = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    for archive in &COLLECTION {
        let dir = root.join(archive.name);
        let bytes = total * archive.share / 100;
        for (file, share) in archive.files {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let len = (bytes * share / 100).saturating_sub(777).max(1);
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                rng.fill_bytes(&mut chunk[..n]);
                std::io::Write::write_all(&mut out, &chunk[..n])?;
                left -= n as u64;
            }
            std::io::Write::flush(&mut out)?;
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

/// The largest file of an archive directory: what the demo's lazy node deletes.
pub fn largest_file(dir: &Path) -> Result<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let len = std::fs::metadata(&path)?.len();
                if best.as_ref().is_none_or(|(l, _)| len > *l) {
                    best = Some((len, path));
                }
            }
        }
    }
    best.map(|(_, p)| p)
        .with_context(|| format!("{} holds no file", dir.display()))
}
