//! `seedbank publish` and the hub side of `seedbank fetch NAME --hub URL`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use hubapi::HubClient;
use metainfo::{CreateOptions, Torrent, Version};
use node::NodeConfig;
use node::size::format_size;

use crate::torrent_cmd::hash;

/// Where to reach the hub and as whom: flags first, then the node's `node.toml`.
#[derive(Args, Clone)]
pub struct HubAccess {
    /// The collective's hub, e.g. http://127.0.0.1:7800 (default: `hub` in node.toml).
    #[arg(long)]
    pub hub: Option<String>,
    /// Your member passkey (default: `passkey` in node.toml, or SEEDBANK_PASSKEY).
    #[arg(long)]
    pub passkey: Option<String>,
}

impl HubAccess {
    pub fn client(&self, node: Option<&NodeConfig>) -> Result<HubClient> {
        let url = self
            .hub
            .clone()
            .or_else(|| node.and_then(|n| n.hub.clone()))
            .context("no hub given: pass --hub URL or set `hub` in node.toml")?;
        let passkey = self
            .passkey
            .clone()
            .or_else(|| std::env::var("SEEDBANK_PASSKEY").ok())
            .or_else(|| node.and_then(|n| n.passkey.clone()));
        Ok(HubClient::new(&url)?.with_passkey(passkey))
    }
}

#[derive(Args)]
pub struct PublishArgs {
    /// File or directory to publish.
    pub path: PathBuf,
    /// Name in the index (default: the file or directory name).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "general")]
    pub category: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// Piece size in bytes (a power of two ≥ 16384); chosen from the size if omitted.
    #[arg(long)]
    pub piece_size: Option<u64>,
    /// The local node's data directory: the torrent is registered there and its data linked in.
    #[arg(long, default_value = "seedbank-node")]
    pub data_dir: PathBuf,
    /// Also seed it from this process until interrupted (when no `seedbank node` is running).
    #[arg(long)]
    pub seed: bool,
    #[command(flatten)]
    pub access: HubAccess,
}

/// Makes `content/<name>` in the node's data dir point at the published data, so the node seeds it
/// where it is instead of copying it.
fn link_content(node: &NodeConfig, source: &Path, name: &str) -> Result<PathBuf> {
    let content = node.data_dir.join("content");
    std::fs::create_dir_all(&content).with_context(|| format!("creating {}", content.display()))?;
    let target = content.join(name);
    let source = source
        .canonicalize()
        .with_context(|| format!("reading {}", source.display()))?;
    if target.exists() || target.is_symlink() {
        if target.canonicalize().ok().as_deref() == Some(source.as_path()) {
            return Ok(target);
        }
        bail!(
            "{} already exists and is not {}; move it away or publish from there",
            target.display(),
            source.display()
        );
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(&source, &target)
        .with_context(|| format!("linking {} to {}", target.display(), source.display()))?;
    #[cfg(not(unix))]
    bail!("publishing needs symlinks (unix)");
    Ok(target)
}

pub async fn publish(args: PublishArgs) -> Result<()> {
    let node = NodeConfig::load(&args.data_dir)?;
    let client = args.access.client(Some(&node))?;
    let me = client
        .me()
        .await
        .context("checking your membership at the hub")?;
    if let Some(size) = args.piece_size
        && (size < 16 * 1024 || !size.is_power_of_two())
    {
        bail!("--piece-size must be a power of two of at least 16384 (got {size})");
    }
    let passkey = args
        .access
        .passkey
        .clone()
        .or_else(|| std::env::var("SEEDBANK_PASSKEY").ok())
        .or(node.passkey.clone())
        .unwrap_or_default();
    let opts = CreateOptions {
        version: Version::Hybrid,
        piece_length: args.piece_size,
        private: true,
        announce: vec![format!("{}/announce/{passkey}", client.base_url())],
        ..CreateOptions::default()
    };
    let torrent = hash(&args.path, &opts)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| torrent.info.name.clone());
    let summary = client
        .publish(torrent.to_bytes(), &name, &args.category, &args.description)
        .await
        .context("publishing to the hub")?;
    println!(
        "published {:?} (id {}, {}, {} files) as {}",
        summary.name,
        summary.id,
        format_size(summary.size),
        summary.file_count,
        me.name
    );
    link_content(&node, &args.path, &torrent.info.name)?;
    let path = node::register(&node, &torrent)?;
    eprintln!(
        "registered with the node in {} ({}); a running `seedbank node --data-dir {}` seeds it",
        args.data_dir.display(),
        path.display(),
        args.data_dir.display()
    );
    if args.seed {
        crate::swarm_cmd::seed_torrent(torrent, &node.data_dir.join("content"), &[], node.listen)
            .await?;
    }
    Ok(())
}

/// The member's personal `.torrent` for the index entry called `name`.
pub async fn resolve(access: &HubAccess, name: &str) -> Result<Torrent> {
    let client = access.client(None)?;
    let summary = client.torrent_named(name).await?;
    let bytes = client
        .personal_torrent(summary.id)
        .await
        .with_context(|| format!("downloading the .torrent of {name:?}"))?;
    Torrent::from_bytes(&bytes).with_context(|| format!("the hub's .torrent for {name:?}"))
}
