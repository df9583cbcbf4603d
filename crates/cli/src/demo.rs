//! `seedbank demo`: a small collective on loopback, end to end, with nothing to set up.
//!
//! It makes a dataset (a few "game archives" of random bytes), starts the collective's hub with three
//! members, publishes a hybrid private torrent to the hub's index, starts one seeding node and two
//! member nodes that find each other through the hub's tracker and fetch over real TCP connections,
//! checks every byte, and shows the hub's accounting. Later parts of the collective (ledger, audits)
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

const MEMBERS: [&str; 3] = ["uploader", "member-1", "member-2"];

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
        "1/5 making a {} dataset in {}",
        format_size(size),
        origin.display()
    );
    make_dataset(&origin, size)?;

    eprintln!("2/5 starting the hub with three members; publishing a hybrid private torrent");
    let hub_dir = work.join("hub");
    let mut passkeys = Vec::new();
    {
        let mut store = hub::open_store(&hub_dir)?;
        for name in MEMBERS {
            let (_, key) = store.add_member(name, hub::unix_now())?;
            passkeys.push(tracker::request::passkey_to_string(&key));
        }
    }
    let mut hub_config = hub::HubConfig::defaults(&hub_dir);
    hub_config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    hub_config.flush_interval = Duration::from_secs(1);
    // Short announce interval so late joiners find each other within seconds.
    hub_config.tracker.interval = 2;
    hub_config.tracker.min_interval = 1;
    let hub = hub::Hub::open(hub_config)?;
    let listener = hub.bind().await?;
    let hub_url = format!("http://{}", listener.local_addr()?);
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let hub_task = tokio::spawn(hub.serve(listener, async move {
        let _ = hub_stopped.await;
    }));
    println!("  hub at {hub_url}");
    let client = |i: usize| -> Result<hubapi::HubClient> {
        Ok(hubapi::HubClient::new(&hub_url)?.with_passkey(Some(passkeys[i].clone())))
    };

    let opts = CreateOptions {
        version: Version::Hybrid,
        private: true,
        announce: vec![format!("{hub_url}/announce/{}", passkeys[0])],
        ..CreateOptions::default()
    };
    let torrent = metainfo::create_torrent(&origin.join("vidya-archive"), &opts, &mut |_, _| {})?;
    let published = client(0)?
        .publish(
            torrent.to_bytes(),
            "Vidya archive, volume 1",
            "games",
            "demo dataset",
        )
        .await?;
    println!(
        "  published {:?} (id {}) by {}",
        published.name, published.id, published.uploader
    );
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

    eprintln!("3/5 starting the uploader's node and two member nodes on 127.0.0.1");
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
        // Each member resolves the torrent by name and gets a .torrent with its own passkey: peers
        // come from the hub's tracker, nothing is wired by hand.
        let c = client(i + 1)?;
        let entry = c.torrent_named(&published.name).await?;
        let personal = metainfo::Torrent::from_bytes(&c.personal_torrent(entry.id).await?)?;
        let dir = work.join(format!("member-{}", i + 1));
        handles.push(member.add_torrent(personal, dir, |_| {}).await?);
    }

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

    eprintln!("4/5 verifying every byte");
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
    // Leaving announces `stopped` with final counters; stopping the hub flushes them.
    for engine in members.iter().chain([&seeder]) {
        engine.shutdown().await;
    }
    eprintln!("5/5 the hub's accounting");
    let _ = stop_hub.send(());
    hub_task.await??;
    let store = hub::open_store(&hub_dir)?;
    println!(
        "  {:<10} {:>10} {:>10} {:>7} {:>8}",
        "member", "uploaded", "downloaded", "ratio", "snatches"
    );
    let (mut up, mut down) = (0, 0);
    for name in MEMBERS {
        let m = store
            .member_stats(name)?
            .context("member missing from the hub")?;
        up += m.uploaded;
        down += m.downloaded;
        println!(
            "  {:<10} {:>10} {:>10} {:>7} {:>8}",
            m.name,
            format_size(m.uploaded),
            format_size(m.downloaded),
            m.ratio.map_or("-".to_owned(), |r| format!("{r:.2}")),
            m.snatches
        );
    }
    println!(
        "  swarm balance (uploaded - downloaded): {} bytes",
        up as i128 - down as i128
    );
    Ok(())
}
