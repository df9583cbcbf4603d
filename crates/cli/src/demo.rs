//! `seedbank demo`: a small collective on loopback, end to end, with nothing to set up.
//!
//! It makes a dataset (a few "game archives" of random bytes), creates a hybrid private torrent, starts
//! one seeding node and two member nodes that fetch from it and from each other over real TCP
//! connections, and checks every byte at the end. Later parts of the collective (hub, ledger, audits)
//! join this demo as they are built.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use engine::{Engine, EngineConfig};
use metainfo::{CreateOptions, Version};
use node::size::{format_size, parse_size};
use rand::{RngCore, SeedableRng};

use crate::progress::Progress;

#[derive(Args)]
pub struct DemoArgs {
    /// Size of the demo dataset.
    #[arg(long, default_value = "64MiB")]
    pub size: String,
    /// Work directory (a temporary one, removed afterwards, if omitted).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

const GAMES: [&str; 4] = [
    "lost-in-the-maze.iso",
    "pixel-racer.zip",
    "space-trader-1989.img",
    "manual.pdf",
];

fn make_dataset(root: &Path, total: u64) -> Result<()> {
    let dir = root.join("vidya-archive");
    std::fs::create_dir_all(dir.join("manuals"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1989);
    // Uneven sizes, none a multiple of a piece: the awkward case on purpose.
    let shares = [0.45, 0.30, 0.2, 0.05];
    for (name, share) in GAMES.iter().zip(shares) {
        let path = if name.ends_with(".pdf") {
            dir.join("manuals").join(name)
        } else {
            dir.join(name)
        };
        let len = ((total as f64 * share) as u64).saturating_sub(777).max(1);
        let mut remaining = len;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut chunk = vec![0u8; 1 << 20];
        while remaining > 0 {
            let n = remaining.min(chunk.len() as u64) as usize;
            rng.fill_bytes(&mut chunk[..n]);
            std::io::Write::write_all(&mut file, &chunk[..n])?;
            remaining -= n as u64;
        }
        std::io::Write::flush(&mut file)?;
    }
    Ok(())
}

fn same_files(a: &Path, b: &Path) -> Result<bool> {
    for entry in walk(a)? {
        let rel = entry.strip_prefix(a)?;
        let other = b.join(rel);
        if std::fs::read(&entry)?
            != std::fs::read(&other).with_context(|| format!("reading {}", other.display()))?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?)
        } else {
            out.push(p)
        }
    }
    Ok(out)
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let size = parse_size(&args.size)
        .map_err(anyhow::Error::msg)
        .context("--size")?;
    if size < 4096 {
        bail!("--size must be at least 4096 bytes");
    }
    let tmp;
    let work = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a work directory")?;
            tmp.path().to_path_buf()
        }
    };
    let origin = work.join("origin");
    eprintln!(
        "1/4 making a {} dataset in {}",
        format_size(size),
        origin.display()
    );
    make_dataset(&origin, size)?;

    eprintln!("2/4 creating a hybrid (v1+v2) private torrent");
    let opts = CreateOptions {
        version: Version::Hybrid,
        private: true,
        ..CreateOptions::default()
    };
    let torrent = metainfo::create_torrent(&origin.join("vidya-archive"), &opts, &mut |_, _| {})?;
    println!(
        "  info-hash v1: {}",
        torrent.hashes.v1.map(hex::encode).unwrap_or_default()
    );
    println!(
        "  info-hash v2: {}",
        torrent.hashes.v2.map(hex::encode).unwrap_or_default()
    );
    println!(
        "  {} pieces of {}",
        torrent.piece_count(),
        format_size(torrent.info.piece_length)
    );

    eprintln!("3/4 starting a seeding node and two member nodes on 127.0.0.1");
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = EngineConfig {
        listen: loopback,
        ..EngineConfig::default()
    };
    let seeder = Engine::start(config.clone()).await?;
    let seed_handle = seeder
        .add_torrent(torrent.clone(), origin.clone(), |_| {})
        .await?;
    if !seed_handle.stats().complete {
        bail!("the seeder's check failed: the dataset does not match its torrent");
    }
    let members = [
        Engine::start(config.clone()).await?,
        Engine::start(config).await?,
    ];
    let mut handles = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let dir = work.join(format!("member-{}", i + 1));
        let handle = member.add_torrent(torrent.clone(), dir, |_| {}).await?;
        handle.add_peers([seeder.listen_addr()]);
        handles.push(handle);
    }
    // Members also trade with each other, as they would in a real swarm.
    handles[1].add_peers([members[0].listen_addr()]);

    let started = Instant::now();
    let total = seed_handle.stats().bytes_total * 2;
    let mut bar = Progress::new("members fetching", total);
    loop {
        let done: u64 = handles.iter().map(|h| h.stats().bytes_have).sum();
        bar.update(done, "");
        if handles.iter().all(|h| h.stats().complete) {
            break;
        }
        if let Some(e) = handles.iter().find_map(|h| h.stats().error) {
            bail!("a member failed: {e}");
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the demo did not finish within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for h in &handles {
        h.wait_complete().await.map_err(anyhow::Error::msg)?;
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish("done");

    eprintln!("4/4 verifying every byte");
    for i in 1..=2 {
        let got = work.join(format!("member-{i}")).join("vidya-archive");
        if !same_files(&origin.join("vidya-archive"), &got)? {
            bail!("member {i}'s copy differs from the origin");
        }
    }
    let seed_stats = seed_handle.stats();
    let member_up: u64 = handles.iter().map(|h| h.stats().uploaded).sum();
    println!("both members hold a verified copy after {secs:.2} s");
    println!(
        "  seeder uploaded {}, members uploaded {} to each other",
        format_size(seed_stats.uploaded),
        format_size(member_up)
    );
    for engine in members.iter().chain([&seeder]) {
        engine.shutdown().await;
    }
    Ok(())
}
