//! `seedbank torrent create|show`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use metainfo::{CreateOptions, Torrent, Version};
use serde::Serialize;

use crate::progress::Progress;

#[derive(Args)]
pub struct CreateArgs {
    /// File or directory to share.
    pub path: PathBuf,
    /// v1 only (BEP 3): for old clients.
    #[arg(long, group = "format")]
    pub v1: bool,
    /// v2 only (BEP 52).
    #[arg(long, group = "format")]
    pub v2: bool,
    /// v1 and v2 in one torrent (the default).
    #[arg(long, group = "format")]
    pub hybrid: bool,
    /// Piece size in bytes (a power of two, at least 16384); chosen from the total size if omitted.
    #[arg(long)]
    pub piece_size: Option<u64>,
    /// Mark private (BEP 27): peers only from the tracker.
    #[arg(long)]
    pub private: bool,
    /// Tracker URL (repeatable; the first is `announce`).
    #[arg(long)]
    pub announce: Vec<String>,
    #[arg(long)]
    pub comment: Option<String>,
    /// Where to write the .torrent.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn create(args: CreateArgs) -> Result<()> {
    let version = match (args.v1, args.v2) {
        (true, _) => Version::V1,
        (_, true) => Version::V2,
        _ => Version::Hybrid,
    };
    if let Some(size) = args.piece_size
        && (size < 16 * 1024 || !size.is_power_of_two())
    {
        bail!("--piece-size must be a power of two of at least 16384 (got {size})");
    }
    let opts = CreateOptions {
        version,
        piece_length: args.piece_size,
        private: args.private,
        announce: args.announce,
        comment: args.comment,
        ..CreateOptions::default()
    };
    let torrent = hash(&args.path, &opts)?;
    let tmp = args.output.with_extension("torrent.partial");
    std::fs::write(&tmp, torrent.to_bytes())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print_summary(&torrent);
    Ok(())
}

/// Hashes `path` into a torrent, with a progress bar.
pub fn hash(path: &std::path::Path, opts: &CreateOptions) -> Result<Torrent> {
    let mut progress: Option<Progress> = None;
    let torrent = metainfo::create_torrent(path, opts, &mut |done, total| {
        progress
            .get_or_insert_with(|| Progress::new("hashing", total))
            .update(done, "");
    })
    .with_context(|| format!("creating a torrent from {}", path.display()))?;
    if let Some(p) = progress.as_mut() {
        p.finish("done");
    }
    Ok(torrent)
}

#[derive(Args)]
pub struct ShowArgs {
    /// The .torrent file.
    pub torrent: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct FileJson {
    path: String,
    length: u64,
}

#[derive(Serialize)]
struct TorrentJson {
    name: String,
    version: Version,
    info_hash_v1: Option<String>,
    info_hash_v2: Option<String>,
    info_hash_v2_truncated: Option<String>,
    piece_length: u64,
    piece_count: u32,
    total_length: u64,
    private: bool,
    announce: Option<String>,
    files: Vec<FileJson>,
    magnet: String,
}

pub fn load(path: &std::path::Path) -> Result<Torrent> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Torrent::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid torrent", path.display()))
}

pub fn show(args: ShowArgs) -> Result<()> {
    let torrent = load(&args.torrent)?;
    if args.json {
        let info = &torrent.info;
        let out = TorrentJson {
            name: info.name.clone(),
            version: info.version,
            info_hash_v1: torrent.hashes.v1.map(hex::encode),
            info_hash_v2: torrent.hashes.v2.map(hex::encode),
            info_hash_v2_truncated: torrent.hashes.v2_truncated().map(hex::encode),
            piece_length: info.piece_length,
            piece_count: torrent.piece_count(),
            total_length: torrent.info.data_length(),
            private: info.private,
            announce: torrent.announce.clone(),
            files: info
                .files
                .iter()
                .filter(|f| !f.pad)
                .map(|f| FileJson {
                    path: f.path.join("/"),
                    length: f.length,
                })
                .collect(),
            magnet: torrent.magnet().to_string(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_summary(&torrent);
        println!("files:");
        for f in torrent.info.files.iter().filter(|f| !f.pad) {
            println!("  {:>14}  {}", f.length, f.path.join("/"));
        }
    }
    Ok(())
}

fn print_summary(torrent: &Torrent) {
    let info = &torrent.info;
    println!("name:          {}", info.name);
    println!("version:       {:?}", info.version);
    println!(
        "info-hash v1:  {}",
        torrent
            .hashes
            .v1
            .map(hex::encode)
            .unwrap_or_else(|| "-".into())
    );
    println!(
        "info-hash v2:  {}",
        torrent
            .hashes
            .v2
            .map(hex::encode)
            .unwrap_or_else(|| "-".into())
    );
    println!(
        "piece size:    {} ({} pieces)",
        info.piece_length,
        torrent.piece_count()
    );
    println!(
        "size:          {} bytes in {} files",
        torrent.info.data_length(),
        info.files.iter().filter(|f| !f.pad).count()
    );
    println!("private:       {}", if info.private { "yes" } else { "no" });
    if let Some(a) = &torrent.announce {
        println!("announce:      {a}");
    }
    println!("magnet:        {}", torrent.magnet());
}
