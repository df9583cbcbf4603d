//! `seedbank`: the one binary. This file only parses arguments and wires crates together; each
//! subcommand lives in its own module.

mod audit_cmd;
mod chain_cmd;
mod chain_migrate;
mod demo;
mod hub_cmd;
mod index_cmd;
mod pay;
mod progress;
mod secret;
mod sim_cmd;
mod swarm_cmd;
mod torrent_cmd;
mod wallet_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

/// mimalloc rather than the system's malloc: the ledger makes and drops millions of small B-tree
/// nodes and per-host lists each epoch, and at the simulation's scale glibc's malloc spent about a
/// sixth of the run in its own bookkeeping (see `crates/sim/README.md`, "Scale").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "seedbank",
    version,
    about = "A tokenised private BitTorrent collective"
)]
struct Cli {
    /// More logging (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect .torrent files.
    #[command(subcommand)]
    Torrent(TorrentCommand),
    /// Seed a torrent from existing data (re-checked first).
    Seed(SeedArgs),
    /// Download a torrent, then exit (or keep seeding with --seed).
    Fetch(FetchArgs),
    /// Run the long-lived member node, or register torrents with it.
    Node(NodeArgs),
    /// Run the collective's hub (tracker, index, accounting), or manage its members.
    Hub(hub_cmd::HubArgs),
    /// Hash a file or directory into a private torrent, add it to the hub's index, and register it
    /// with the local node.
    Publish(index_cmd::PublishArgs),
    /// Your key and tokens: balance, transfers, stake, membership; on the collective's chain with
    /// --chain FILE.
    Wallet(wallet_cmd::WalletArgs),
    /// The collective's contracts on an EVM chain: deploy them (into a genesis), or show their state.
    Chain(chain_cmd::ChainArgs),
    /// Check the hub's availability audits: re-derive an epoch's challenges, check evidence.
    Audit(audit_cmd::AuditArgs),
    /// Run a whole collective on loopback: a dataset, a seeder and two members fetching it.
    Demo(demo::DemoArgs),
    /// Simulate a collective at scale (the real ledger, modelled agents and adversaries) and
    /// write its economic report; or sweep one parameter.
    Sim(sim_cmd::SimArgs),
}

#[derive(Subcommand)]
pub enum TorrentCommand {
    /// Hash files into a .torrent (hybrid v1+v2 by default).
    Create(torrent_cmd::CreateArgs),
    /// Print a torrent's info-hashes, files and piece size.
    Show(torrent_cmd::ShowArgs),
}

/// Options shared by everything that joins a swarm.
#[derive(Args, Clone)]
pub struct SwarmArgs {
    /// Address to accept peers on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Connect to this peer directly (repeatable), besides the torrent's tracker.
    #[arg(long = "peer", value_name = "IP:PORT")]
    pub peers: Vec<SocketAddr>,
    /// Peers to upload to at once.
    #[arg(long, default_value_t = 8)]
    pub upload_slots: usize,
}

#[derive(Args)]
pub struct SeedArgs {
    /// The .torrent file.
    pub torrent: PathBuf,
    /// Directory holding the content (like a save path: DIR/<name>).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    #[command(flatten)]
    pub swarm: SwarmArgs,
    #[command(flatten)]
    pub access: index_cmd::HubAccess,
    #[command(flatten)]
    pub pay: pay::PayArgs,
}

#[derive(Args)]
pub struct FetchArgs {
    /// The .torrent file, or with --hub the torrent's name in the hub's index (an existing file
    /// wins, so `--hub` can also serve `--wallet` for a local .torrent).
    pub torrent: String,
    /// Directory to download into (DIR/<name>).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Keep seeding after the download completes, until interrupted.
    #[arg(long)]
    pub seed: bool,
    #[command(flatten)]
    pub swarm: SwarmArgs,
    #[command(flatten)]
    pub access: index_cmd::HubAccess,
    #[command(flatten)]
    pub pay: pay::PayArgs,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub action: Option<NodeAction>,
    /// The node's data directory.
    #[arg(long, default_value = "seedbank-node", global = true)]
    pub data_dir: PathBuf,
    /// Most disk the node may fill with hosted content, e.g. 5GB or 500GiB (overrides node.toml).
    #[arg(long)]
    pub disk_budget: Option<String>,
    /// Address to accept peers on (overrides node.toml).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The collective's hub, e.g. http://hub.example:7800 (overrides node.toml).
    #[arg(long)]
    pub hub: Option<String>,
    /// The address auditors reach this node at, in its hosting reports (overrides node.toml;
    /// default the listen address).
    #[arg(long, value_name = "IP:PORT")]
    pub advertise: Option<SocketAddr>,
    /// Where this node is, "lat,lon" in decimal degrees, for the geographic boost (overrides
    /// node.toml).
    #[arg(long, value_name = "LAT,LON")]
    pub location: Option<String>,
    /// Pin a torrent, by name or info-hash: hosted whatever it pays, never evicted (repeatable;
    /// adds to `pinned` in node.toml's `[interests]`).
    #[arg(long = "pin", value_name = "NAME", global = true)]
    pub pins: Vec<String>,
    /// Host the torrents of this index category (repeatable; adds to `categories`).
    #[arg(long = "category", value_name = "CATEGORY", global = true)]
    pub categories: Vec<String>,
    /// Host torrents whose name matches, `*` as wildcard, case-insensitive (repeatable; adds to
    /// `patterns`).
    #[arg(long = "pattern", value_name = "GLOB", global = true)]
    pub patterns: Vec<String>,
    /// Also fill the rest of the disk budget with what pays best per byte (needs a wallet; sets
    /// `auto_host = true`).
    #[arg(long, global = true)]
    pub auto_host: bool,
    #[command(flatten)]
    pub pay: pay::PayArgs,
}

#[derive(Subcommand)]
pub enum NodeAction {
    /// Register a .torrent with the node (checked against the disk budget); a running node picks it up.
    Add {
        torrent: PathBuf,
        /// Disk budget to check against (overrides node.toml).
        #[arg(long)]
        disk_budget: Option<String>,
    },
    /// List the torrents registered with the node.
    List,
    /// Show what the hosting policy would keep, add and evict this epoch, and why (asks the hub's
    /// market; changes nothing).
    Plan {
        /// Disk budget to plan with (overrides node.toml).
        #[arg(long)]
        disk_budget: Option<String>,
        /// The collective's hub (overrides node.toml).
        #[arg(long)]
        hub: Option<String>,
    },
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match verbose {
        // The demo narrates what its parts warn about (a node's missing data, say) in its report.
        0 if quiet => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: logs captured to files must stay plain text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logging(cli.verbose, matches!(cli.command, Command::Demo(_)));
    match cli.command {
        Command::Torrent(TorrentCommand::Create(args)) => torrent_cmd::create(args),
        Command::Torrent(TorrentCommand::Show(args)) => torrent_cmd::show(args),
        Command::Hub(args) => hub_cmd::run(args),
        Command::Wallet(args) => wallet_cmd::run(args),
        Command::Chain(args) => chain_cmd::run(args),
        Command::Sim(args) => sim_cmd::run(args),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                match command {
                    Command::Seed(args) => swarm_cmd::seed(args).await,
                    Command::Fetch(args) => swarm_cmd::fetch(args).await,
                    Command::Node(args) => swarm_cmd::node(args).await,
                    Command::Publish(args) => index_cmd::publish(args).await,
                    Command::Demo(args) => demo::run(args).await,
                    Command::Audit(args) => audit_cmd::run(args).await,
                    Command::Torrent(_)
                    | Command::Hub(_)
                    | Command::Wallet(_)
                    | Command::Chain(_)
                    | Command::Sim(_) => {
                        unreachable!("handled above")
                    }
                }
            })
        }
    }
}
