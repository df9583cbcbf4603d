//! `seedbank hub` (run the collective's server) and `seedbank hub member ...` (operator commands that
//! write the hub's store directly; a running hub picks the change up within a second).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hub::{Hub, HubConfig};
use node::size::format_size;

use crate::swarm_cmd::interrupted;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HubArgs {
    #[command(subcommand)]
    pub action: Option<HubAction>,
    /// The hub's data directory (store and hub.toml).
    #[arg(long, default_value = "seedbank-data", global = true)]
    pub data_dir: PathBuf,
    /// Address to serve on (overrides hub.toml; default 127.0.0.1:7800).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Base URL written into members' .torrent files (default http://<listen>).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Seconds between accounting flushes to the store (default 3).
    #[arg(long, value_name = "SECS")]
    pub flush_interval: Option<u64>,
    /// Seconds between announces, as told to clients (default 1800).
    #[arg(long, value_name = "SECS")]
    pub announce_interval: Option<u32>,
    /// Seconds of silence before a peer is dropped (default 2 × interval + 300).
    #[arg(long, value_name = "SECS")]
    pub peer_timeout: Option<u32>,
    /// Tokio worker threads (default: one per core). 1 pins the hub to a single core's worth.
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Subcommand)]
pub enum HubAction {
    /// Manage members (until the ledger ties membership to stake, the operator creates them).
    #[command(subcommand)]
    Member(MemberAction),
}

#[derive(Subcommand)]
pub enum MemberAction {
    /// Create a member and print its passkey.
    Add { name: String },
    /// List members with their totals.
    List,
    /// Refuse the member's announces and API calls until reinstated.
    Suspend { name: String },
    /// Lift a suspension.
    Reinstate { name: String },
}

fn config(args: &HubArgs) -> Result<HubConfig> {
    let mut config = HubConfig::load(&args.data_dir)?;
    config.listen = args.listen.unwrap_or(config.listen);
    if args.public_url.is_some() {
        config.public_url = args.public_url.clone();
    }
    if let Some(s) = args.flush_interval {
        config.flush_interval = Duration::from_secs(s);
    }
    let t = &mut config.tracker;
    if let Some(i) = args.announce_interval {
        t.interval = i;
        t.min_interval = t.min_interval.min(i);
        if args.peer_timeout.is_none() {
            t.peer_timeout = t.peer_timeout.max(2 * i + 300);
        }
    }
    if let Some(p) = args.peer_timeout {
        t.peer_timeout = p;
    }
    config
        .validate()
        .map_err(anyhow::Error::msg)
        .context("hub options")?;
    Ok(config)
}

/// Runs the hub in its own runtime so `--threads` can size it.
pub fn run(args: HubArgs) -> Result<()> {
    if let Some(HubAction::Member(action)) = args.action {
        return member(&args.data_dir, action);
    }
    let config = config(&args)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    runtime.enable_all().build()?.block_on(async move {
        let hub = Hub::open(config)?;
        let listener = hub.bind().await?;
        eprintln!(
            "hub serving on http://{} (data in {})",
            listener.local_addr()?,
            hub.config().data_dir.display(),
        );
        hub.serve(listener, interrupted()).await?;
        eprintln!("hub stopped; accounting flushed");
        Ok(())
    })
}

fn member(data_dir: &std::path::Path, action: MemberAction) -> Result<()> {
    let mut store = hub::open_store(data_dir)?;
    match action {
        MemberAction::Add { name } => {
            let (_, passkey) = store.add_member(&name, hub::unix_now())?;
            println!("{}", tracker::request::passkey_to_string(&passkey));
            eprintln!(
                "member {name:?} created; give them this passkey (it is their login and announce key)"
            );
        }
        MemberAction::List => {
            println!(
                "{:<24} {:>10} {:>10} {:>7} {:>8}  status",
                "name", "uploaded", "downloaded", "ratio", "snatches"
            );
            for m in store.members_since(0)? {
                let Some(s) = store.member_stats(&m.name)? else {
                    continue;
                };
                println!(
                    "{:<24} {:>10} {:>10} {:>7} {:>8}  {}",
                    s.name,
                    format_size(s.uploaded),
                    format_size(s.downloaded),
                    s.ratio.map_or("-".to_owned(), |r| format!("{r:.2}")),
                    s.snatches,
                    if s.suspended { "suspended" } else { "active" }
                );
            }
        }
        MemberAction::Suspend { name } => {
            store.set_suspended(&name, true)?;
            eprintln!("member {name:?} suspended");
        }
        MemberAction::Reinstate { name } => {
            store.set_suspended(&name, false)?;
            eprintln!("member {name:?} reinstated");
        }
    }
    Ok(())
}
