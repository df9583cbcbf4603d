//! `seedbank hub` (run the collective's server), `hub init` (create its ledger), `hub verify`
//! (replay the ledger) and `hub member ...` (operator commands that write the hub's store directly;
//! a running hub picks the change up within a second).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hub::{Hub, HubConfig};
use node::size::format_size;
use token::keystore::Strength;

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
    /// Where the hub's auditor measures round trips from, "lat,lon" (overrides hub.toml): without
    /// it no node gets the geographic boost.
    #[arg(long, value_name = "LAT,LON")]
    pub location: Option<String>,
    /// The chain's JSON-RPC endpoint, for a collective whose genesis says `settlement = "evm"`
    /// (overrides `rpc_url` in hub.toml's `[chain]`).
    #[arg(long, env = crate::chain_cmd::RPC_URL_ENV)]
    pub rpc_url: Option<String>,
    /// Blocks a chain event must be deep before the hub applies it (overrides `[chain]
    /// confirmations`; default 2).
    #[arg(long, value_name = "BLOCKS")]
    pub confirmations: Option<u64>,
    /// The most blocks one poll of the chain reads (overrides `[chain] max_blocks_per_poll`;
    /// default 2000).
    #[arg(long, value_name = "BLOCKS")]
    pub max_blocks_per_poll: Option<u64>,
}

/// The operator key's password, when not typed at a prompt.
pub const OPERATOR_PASSWORD_ENV: &str = "SEEDBANK_OPERATOR_PASSWORD";

#[derive(Subcommand)]
pub enum HubAction {
    /// Create the collective's ledger: an operator key, then the genesis (token, allocations,
    /// stake, prices) as the log's first entry.
    Init {
        /// The genesis TOML (see `docs/economics.md`); without it, the template's defaults. Its
        /// `operator` may be left out: the new operator key is filled in.
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Encrypt the operator key with a cheap scrypt cost (tests and demos only).
        #[arg(long, hide = true)]
        light_key: bool,
    },
    /// Replay the whole ledger, checking every signature, hash link and checkpoint.
    Verify,
    /// Manage members. With a ledger, members are accounts with stake: `add` grants the minimum
    /// stake from the operator's treasury; members who join by themselves use `seedbank wallet join`.
    #[command(subcommand)]
    Member(MemberAction),
}

#[derive(Subcommand)]
pub enum MemberAction {
    /// Create a member and print its passkey.
    Add {
        name: String,
        /// The member's ledger account (required when the collective has a ledger).
        #[arg(long)]
        account: Option<token::Address>,
    },
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
    if args.location.is_some() {
        config.location = args.location.clone();
    }
    if let Some(s) = args.flush_interval {
        config.flush_interval = Duration::from_secs(s);
    }
    if args.rpc_url.is_some() {
        config.chain.rpc_url = args.rpc_url.clone();
    }
    if let Some(c) = args.confirmations {
        config.chain.confirmations = c;
    }
    if let Some(m) = args.max_blocks_per_poll {
        config.chain.max_blocks_per_poll = m;
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
    match args.action {
        Some(HubAction::Member(action)) => return member(&args.data_dir, action),
        Some(HubAction::Init { genesis, light_key }) => {
            return init(&args.data_dir, genesis.as_deref(), light_key);
        }
        Some(HubAction::Verify) => return verify(&args.data_dir),
        None => {}
    }
    let config = config(&args)?;
    let operator = if config.ledger_path().exists() {
        Some(crate::secret::load_key(
            &config.operator_key_path(),
            OPERATOR_PASSWORD_ENV,
        )?)
    } else {
        None
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    runtime.enable_all().build()?.block_on(async move {
        let hub = match operator {
            Some(key) => {
                let hub = Hub::open_with_ledger(config, key.clone())?;
                let settlement = settlement(hub.config(), hub.genesis(), &key).await?;
                hub.with_settlement(settlement)?
            }
            None => Hub::open(config)?,
        };
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

/// Where the collective's tokens live: the ledger itself, or the chain its genesis names (reached
/// through hub.toml's `[chain]`, signing with the operator key).
async fn settlement(
    config: &HubConfig,
    genesis: Option<ledger::Genesis>,
    operator: &token::SecretKey,
) -> Result<std::sync::Arc<dyn settlement::Settlement>> {
    let Some((genesis, contracts)) = genesis.and_then(|g| {
        let contracts = g.chain.clone()?;
        (!g.settlement.is_embedded()).then_some((g, contracts))
    }) else {
        return Ok(std::sync::Arc::new(settlement::Embedded));
    };
    let rpc_url = config.chain.rpc_url.clone().with_context(|| {
        format!(
            "the collective settles on chain {}: set rpc_url in the [chain] table of {} (or give --rpc-url)",
            genesis.chain_id,
            config.data_dir.join("hub.toml").display()
        )
    })?;
    let mut evm = settlement::evm::EvmConfig::new(
        rpc_url,
        genesis.chain_id,
        contracts.token,
        contracts.vault,
        contracts.distributor,
        contracts.deploy_block,
    );
    evm.confirmations = config.chain.confirmations;
    evm.max_blocks_per_poll = config.chain.max_blocks_per_poll;
    eprintln!(
        "connecting to chain {} at {} (token {}, {} confirmations)",
        evm.chain_id, evm.rpc_url, evm.token, evm.confirmations
    );
    let chain = settlement::evm::EvmSettlement::connect(evm, operator.clone())
        .await
        .context("connecting to the collective's chain")?;
    Ok(std::sync::Arc::new(chain))
}

/// The operator key in `data_dir` (password from $SEEDBANK_OPERATOR_PASSWORD or a prompt), made and
/// saved there first if there is none.
pub fn operator_key(data_dir: &Path, light_key: bool) -> Result<token::SecretKey> {
    let key_path = HubConfig::defaults(data_dir).operator_key_path();
    if key_path.exists() {
        return crate::secret::load_key(&key_path, OPERATOR_PASSWORD_ENV);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let key = token::SecretKey::generate();
    let password = crate::secret::password(
        OPERATOR_PASSWORD_ENV,
        "new password for the operator key",
        true,
    )?;
    let strength = if light_key {
        Strength::Light
    } else {
        Strength::Standard
    };
    crate::secret::save_key(&key_path, &key, &password, strength)?;
    eprintln!(
        "operator key {} written to {}",
        key.address(),
        key_path.display()
    );
    Ok(key)
}

/// Writes the operator key and the ledger's genesis into `data_dir`.
pub fn init(data_dir: &Path, genesis: Option<&Path>, light_key: bool) -> Result<()> {
    let config = HubConfig::defaults(data_dir);
    let ledger_path = config.ledger_path();
    if ledger_path.exists() {
        bail!(
            "{} already exists: this collective has its genesis",
            ledger_path.display()
        );
    }
    let operator = operator_key(data_dir, light_key)?;
    let text = match genesis {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => ledger::Genesis::template(operator.address()),
    };
    let mut table: toml::Table = text.parse().context("genesis file")?;
    table
        .entry("operator")
        .or_insert_with(|| toml::Value::String(operator.address().to_string()));
    let genesis = ledger::Genesis::from_toml(&table.to_string())?;
    ledger::Ledger::create(&ledger_path, &genesis, operator)?;
    std::fs::write(data_dir.join("genesis.toml"), &text)?;
    eprintln!(
        "collective {:?} created: {} {} minted; ledger at {}",
        genesis.name,
        genesis
            .allocations
            .iter()
            .try_fold(token::Amount::ZERO, |t, a| t
                .checked_add(a.liquid)?
                .checked_add(a.staked))
            .unwrap_or_default(),
        genesis.symbol,
        ledger_path.display()
    );
    Ok(())
}

fn verify(data_dir: &Path) -> Result<()> {
    let path = HubConfig::defaults(data_dir).ledger_path();
    let bar = indicatif::ProgressBar::new_spinner();
    let report = ledger::verify(&path, |n| bar.set_message(format!("{n} entries replayed")))
        .with_context(|| format!("verifying {}", path.display()))?;
    bar.finish_and_clear();
    println!(
        "ledger OK: {} entries, every signature checked, {} checkpoints match, tables match\n\
         log hash   0x{}\nstate root 0x{}\nsupply     minted {} burned {} (balances {} + stakes {} + pool {})\n\
         replayed in {:.2?}",
        report.entries,
        report.checkpoints,
        hex::encode(report.log_hash),
        hex::encode(report.state_root),
        report.supply.minted,
        report.supply.burned,
        report.supply.balances,
        report.supply.stakes,
        report.supply.stakers_pool,
        report.elapsed,
    );
    Ok(())
}

fn member(data_dir: &Path, action: MemberAction) -> Result<()> {
    let mut store = hub::open_store(data_dir)?;
    let config = HubConfig::defaults(data_dir);
    match action {
        MemberAction::Add { name, account } if config.ledger_path().exists() => {
            let account = account.context(
                "this collective has a ledger: give the member's account with --account",
            )?;
            let key = crate::secret::load_key(&config.operator_key_path(), OPERATOR_PASSWORD_ENV)?;
            let (ledger, _) = ledger::Ledger::open(&config.ledger_path(), key)?;
            let genesis = ledger.summary().genesis;
            // The granted stake stays locked as long as the collective allows, so a member
            // admitted for free cannot cash the grant out at once.
            let lock_until = hub::unix_now() + genesis.max_lock_secs() - 60;
            ledger.system(ledger::SystemTx::Admit {
                account,
                name: name.clone(),
                stake: genesis.min_stake,
                lock_until,
            })?;
            let granted = format!("{} {}", genesis.min_stake, genesis.symbol);
            match store.link_member(&name, account.0, false, hub::unix_now())? {
                Some(passkey) => {
                    println!("{}", tracker::request::passkey_to_string(&passkey));
                    eprintln!(
                        "member {name:?} admitted with {granted} staked from the treasury; give them this passkey"
                    );
                }
                // A ratio-only member from before the ledger: now linked to the account.
                None => eprintln!(
                    "member {name:?} admitted with {granted} staked from the treasury; their passkey is unchanged"
                ),
            }
        }
        MemberAction::Add { name, .. } => {
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
