//! `seedbank chain deploy` (the collective's contracts on an EVM chain, written into its genesis) and
//! `seedbank chain status` (what the contracts hold). Also the chain file that `seedbank wallet
//! --chain` and `chain status` read: a TOML with `rpc_url`, `chain_id` and a `[chain]` table
//! (`token`, `vault`, `distributor`, `deploy_block`); a genesis written by `chain deploy` is one, but
//! for its `rpc_url` (give `--rpc-url` or `$SEEDBANK_RPC_URL`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ledger::ChainContracts;
use settlement::evm::{DeployParams, EvmConfig, InitialHolder};
use token::{Address, Amount};

/// The RPC endpoint when no `--rpc-url` is given.
pub const RPC_URL_ENV: &str = "SEEDBANK_RPC_URL";

#[derive(Args)]
pub struct ChainArgs {
    #[command(subcommand)]
    action: ChainAction,
}

#[derive(Subcommand)]
enum ChainAction {
    /// Deploy the collective's token (ERC-20), staking vault and Merkle distributor, owned by the
    /// hub's operator key; with --genesis, make that genesis settle on them.
    Deploy(Box<DeployArgs>),
    /// The chain's head and what the contracts hold (supply, stakes, the distributor's balance, the
    /// next epoch it expects).
    Status(ChainSource),
    /// Write an embedded collective's holdings at a closed epoch as the genesis of one that settles
    /// on a chain (then `chain deploy --genesis` it); see docs/operations.md.
    Migrate(crate::chain_migrate::MigrateArgs),
}

#[derive(Args)]
pub struct DeployArgs {
    /// The chain's JSON-RPC endpoint (http or https).
    #[arg(long, env = RPC_URL_ENV)]
    rpc_url: String,
    /// The chain id (default: the one the RPC reports).
    #[arg(long)]
    chain_id: Option<u64>,
    /// The hub's data directory: its operator key (operator.json, password in
    /// $SEEDBANK_OPERATOR_PASSWORD or a prompt) deploys and owns the contracts. Made if missing, as
    /// `hub init` would; it must hold gas on the chain.
    #[arg(long, default_value = "seedbank-data")]
    data_dir: PathBuf,
    /// Encrypt a new operator key with a cheap scrypt cost (tests and demos only).
    #[arg(long, hide = true)]
    light_key: bool,
    /// A genesis TOML to make settle on the new contracts: `settlement = "evm"`, `chain_id` and
    /// `[chain]` are written into it, the rest kept. Its allocations (`seedbank chain migrate`
    /// writes them) are minted into the distributor, claimable once the hub has started. Made from
    /// the template, without allocations, if it does not exist. Then `seedbank hub init --genesis
    /// FILE` founds the collective.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// The token's name (default the genesis' `name`).
    #[arg(long)]
    name: Option<String>,
    /// The token's symbol (default the genesis' `symbol`).
    #[arg(long)]
    symbol: Option<String>,
    /// The most tokens there may ever be, whole tokens.
    #[arg(long)]
    cap: Amount,
    /// The yearly inflation budget, basis points (default the genesis' `[economy] inflation_bps`;
    /// written into it).
    #[arg(long)]
    inflation_bps: Option<u32>,
    /// Who receives the initial supply (default the operator). Not with genesis allocations.
    #[arg(long)]
    initial_holder: Option<Address>,
    /// Tokens minted at deployment to --initial-holder, whole tokens. Not with genesis
    /// allocations (then their sum is minted, into the distributor).
    #[arg(long, default_value = "0")]
    initial_supply: Amount,
    /// The longest stake lock, days (default the genesis' `max_lock_days`; written into it).
    #[arg(long)]
    max_lock_days: Option<u64>,
    /// The stake lock-weight exponent, e.g. 1.5 (a multiple of 0.5, at most 8; default the
    /// genesis' `[economy] staker_alpha_wad`; written into it).
    #[arg(long)]
    alpha: Option<Amount>,
}

/// Where the collective's contracts are: a chain file and an RPC endpoint.
#[derive(Args, Clone, Default)]
pub struct ChainSource {
    /// A TOML with a `[chain]` table (token, vault, distributor, deploy_block), `chain_id` and
    /// optionally `rpc_url`: the genesis `chain deploy` wrote will do.
    #[arg(
        long = "chain",
        value_name = "FILE",
        env = "SEEDBANK_CHAIN",
        global = true
    )]
    pub file: Option<PathBuf>,
    /// The chain's JSON-RPC endpoint (overrides the chain file's `rpc_url`).
    #[arg(long, env = RPC_URL_ENV, global = true)]
    pub rpc_url: Option<String>,
}

impl ChainSource {
    /// The contracts' configuration, or None when no chain file is given.
    pub fn config(&self) -> Result<Option<EvmConfig>> {
        let Some(path) = &self.file else {
            if self.rpc_url.is_some() {
                bail!("--rpc-url needs --chain FILE (the contracts' addresses)");
            }
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the chain file {}", path.display()))?;
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("chain file {}", path.display()))?;
        let contracts: ChainContracts = table
            .get("chain")
            .with_context(|| {
                format!(
                    "{} has no [chain] table (seedbank chain deploy --genesis writes one)",
                    path.display()
                )
            })?
            .clone()
            .try_into()
            .with_context(|| format!("the [chain] table of {}", path.display()))?;
        let chain_id = match table.get("chain_id") {
            Some(toml::Value::Integer(id)) if *id >= 0 => *id as u64,
            Some(_) => bail!("chain_id in {} must be a number", path.display()),
            None => bail!("{} has no chain_id", path.display()),
        };
        let rpc_url = match (&self.rpc_url, table.get("rpc_url")) {
            (Some(url), _) => url.clone(),
            (None, Some(toml::Value::String(url))) => url.clone(),
            _ => bail!(
                "no RPC endpoint: give --rpc-url, set ${RPC_URL_ENV}, or put rpc_url in {}",
                path.display()
            ),
        };
        Ok(Some(EvmConfig::new(
            rpc_url,
            chain_id,
            contracts.token,
            contracts.vault,
            contracts.distributor,
            contracts.deploy_block,
        )))
    }
}

pub fn run(args: ChainArgs) -> Result<()> {
    if let ChainAction::Migrate(args) = args.action {
        return crate::chain_migrate::migrate(args);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.action {
        ChainAction::Deploy(args) => runtime.block_on(deploy(*args)),
        ChainAction::Status(source) => runtime.block_on(status(&source)),
        ChainAction::Migrate(_) => unreachable!("handled above"),
    }
}

/// What the genesis file holds before the deployment, and its defaults for the contracts.
struct GenesisFile {
    path: PathBuf,
    table: toml::Table,
    genesis: ledger::Genesis,
}

/// Flags that set the genesis too: the contracts and the ledger must agree on them.
struct Overrides {
    max_lock_days: Option<u64>,
    inflation_bps: Option<u32>,
    alpha: Option<Amount>,
}

/// Reads (or makes from the template) the genesis to write the contracts into, and checks that it
/// will found an EVM collective once they are in, whose operator is the deployer.
fn genesis_file(
    path: Option<&Path>,
    operator: Address,
    chain_id: u64,
    overrides: &Overrides,
) -> Result<GenesisFile> {
    let (path, mut table) = match path {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let table: toml::Table = text
                .parse()
                .with_context(|| format!("genesis file {}", path.display()))?;
            (path.to_path_buf(), table)
        }
        path => {
            let mut table: toml::Table = ledger::Genesis::template(operator)
                .parse()
                .context("the genesis template")?;
            table.remove("allocations");
            (path.map(Path::to_path_buf).unwrap_or_default(), table)
        }
    };
    table
        .entry("operator")
        .or_insert_with(|| toml::Value::String(operator.to_string()));
    if let Some(days) = overrides.max_lock_days {
        table.insert("max_lock_days".into(), toml::Value::Integer(days as i64));
    }
    if overrides.inflation_bps.is_some() || overrides.alpha.is_some() {
        let economy = table
            .entry("economy")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .context("the genesis' economy must be a table")?;
        if let Some(bps) = overrides.inflation_bps {
            economy.insert("inflation_bps".into(), toml::Value::Integer(bps.into()));
        }
        if let Some(alpha) = overrides.alpha {
            economy.insert(
                "staker_alpha_wad".into(),
                toml::Value::String(alpha.to_string()),
            );
        }
    }
    set_chain(&mut table, chain_id, &placeholder_contracts());
    let genesis = ledger::Genesis::from_toml(&table.to_string())
        .with_context(|| format!("{} with the contracts in", path.display()))?;
    if genesis.operator != operator {
        bail!(
            "{} names operator {}, but the operator key deploying is {operator}: the operator \
             must own the contracts",
            path.display(),
            genesis.operator
        );
    }
    Ok(GenesisFile {
        path,
        table,
        genesis,
    })
}

fn placeholder_contracts() -> ChainContracts {
    ChainContracts {
        token: Address([1; 20]),
        vault: Address([2; 20]),
        distributor: Address([3; 20]),
        deploy_block: 0,
    }
}

/// Makes `table` settle on `contracts` on chain `chain_id`.
fn set_chain(table: &mut toml::Table, chain_id: u64, contracts: &ChainContracts) {
    table.insert("settlement".into(), toml::Value::String("evm".into()));
    table.insert("chain_id".into(), toml::Value::Integer(chain_id as i64));
    let chain = toml::Table::try_from(contracts).expect("contracts serialize");
    table.insert("chain".into(), toml::Value::Table(chain));
}

async fn deploy(args: DeployArgs) -> Result<()> {
    let operator = crate::hub_cmd::operator_key(&args.data_dir, args.light_key)?;
    let me = operator.address();
    eprintln!("connecting to {} ...", args.rpc_url);
    let rpc = ProviderBuilder::new()
        .connect_http(args.rpc_url.parse().context("--rpc-url")?)
        .erased();
    let reported = rpc
        .get_chain_id()
        .await
        .with_context(|| format!("asking {} for its chain id", args.rpc_url))?;
    let chain_id = args.chain_id.unwrap_or(reported);
    if chain_id != reported {
        bail!(
            "{} serves chain {reported}, not --chain-id {chain_id}",
            args.rpc_url
        );
    }
    let head = rpc.get_block_number().await.context("eth_blockNumber")?;
    let gas = rpc
        .get_balance(alloy::primitives::Address::from(me.0))
        .await
        .context("eth_getBalance")?;
    eprintln!("chain {chain_id} at block {head}; operator {me} holds {gas} wei for gas");
    if gas.is_zero() {
        bail!(
            "the operator {me} has no funds for gas on chain {chain_id}: fund it, then run again"
        );
    }

    // Defaults from the genesis (or the template), overridden by the flags that the ledger must
    // agree on, and the genesis checked before any gas is spent.
    let overrides = Overrides {
        max_lock_days: args.max_lock_days,
        inflation_bps: args.inflation_bps,
        alpha: args.alpha,
    };
    let file = genesis_file(args.genesis.as_deref(), me, chain_id, &overrides)?;
    let g = &file.genesis;
    // A migrated collective's holdings: minted into the distributor; the hub posts their root.
    let allocated = ledger::ChainBook::at_genesis(g)
        .context("the genesis' allocations")?
        .left;
    let (initial_holder, initial_supply) = if allocated > Amount::ZERO {
        if args.initial_holder.is_some() || args.initial_supply > Amount::ZERO {
            bail!(
                "{} allocates {allocated} {}: the deployment mints exactly that into the \
                 distributor; drop --initial-holder and --initial-supply",
                file.path.display(),
                g.symbol
            );
        }
        (InitialHolder::Distributor, allocated)
    } else {
        let holder = args.initial_holder.unwrap_or(me);
        (InitialHolder::Account(holder), args.initial_supply)
    };
    let params = DeployParams {
        name: args.name.clone().unwrap_or_else(|| g.name.clone()),
        symbol: args.symbol.clone().unwrap_or_else(|| g.symbol.clone()),
        cap: args.cap.0,
        annual_bps: g.economy.inflation_bps,
        initial_holder,
        initial_supply: initial_supply.0,
        max_lock_secs: g.max_lock_secs(),
        alpha_wad: g.economy.staker_alpha_wad,
    };
    if initial_supply > args.cap {
        bail!(
            "the initial supply {initial_supply} exceeds --cap {}",
            args.cap
        );
    }
    let holder = match initial_holder {
        InitialHolder::Account(a) => a.to_string(),
        InitialHolder::Distributor => "the distributor (the genesis allocations)".into(),
    };
    eprintln!(
        "deploying {} ({}): cap {}, inflation {} bps/year, {} to {}, locks up to {} days, alpha {}",
        params.name,
        params.symbol,
        args.cap,
        params.annual_bps,
        initial_supply,
        holder,
        g.max_lock_days,
        Amount(params.alpha_wad),
    );
    eprintln!(
        "sending SeedToken, CumulativeDistributor, StakingVault; waiting for each receipt ..."
    );
    let started = Instant::now();
    let sent = settlement::evm::deploy(&args.rpc_url, chain_id, &operator, &params);
    tokio::pin!(sent);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(5),
        Duration::from_secs(5),
    );
    let deployment = loop {
        tokio::select! {
            result = &mut sent => break result.context("deploying the contracts")?,
            _ = tick.tick() => eprintln!(
                "  still waiting for the deployment ({}s)",
                started.elapsed().as_secs()
            ),
        }
    };
    eprintln!("deployed in {:.1?}", started.elapsed());
    for (what, address, contract) in [
        ("token", deployment.token, "SeedToken"),
        (
            "distributor",
            deployment.distributor,
            "CumulativeDistributor",
        ),
        ("vault", deployment.vault, "StakingVault"),
    ] {
        println!(
            "{what:<12} {address}  gas {}",
            deployment.gas_of(contract).unwrap_or_default()
        );
    }
    println!("{:<12} {}", "deploy_block", deployment.block);
    if let Some(path) = &args.genesis {
        let mut table = file.table;
        set_chain(
            &mut table,
            chain_id,
            &ChainContracts {
                token: deployment.token,
                vault: deployment.vault,
                distributor: deployment.distributor,
                deploy_block: deployment.block,
            },
        );
        ledger::Genesis::from_toml(&table.to_string()).context("the genesis with the contracts")?;
        std::fs::write(path, table.to_string())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "{} now settles on chain {chain_id}; found the collective with `seedbank hub init --data-dir {} --genesis {}` \
             and set rpc_url in [chain] of its hub.toml",
            file.path.display(),
            args.data_dir.display(),
            path.display()
        );
    }
    Ok(())
}

alloy::sol! {
    #[sol(rpc)]
    interface ChainStatus {
        function totalSupply() external view returns (uint256);
        function cap() external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function totalStaked() external view returns (uint256);
        function nextEpoch() external view returns (uint64);
    }
}

async fn status(source: &ChainSource) -> Result<()> {
    let config = source
        .config()?
        .context("give the chain file with --chain FILE (or $SEEDBANK_CHAIN)")?;
    let rpc = ProviderBuilder::new()
        .connect_http(config.rpc_url.parse().context("rpc_url")?)
        .erased();
    let chain_id = rpc.get_chain_id().await.context("eth_chainId")?;
    if chain_id != config.chain_id {
        bail!(
            "{} serves chain {chain_id}, the chain file says {}",
            config.rpc_url,
            config.chain_id
        );
    }
    let head = rpc.get_block_number().await.context("eth_blockNumber")?;
    let at = |a: Address| alloy::primitives::Address::from(a.0);
    let token = ChainStatus::new(at(config.token), &rpc);
    let vault = ChainStatus::new(at(config.vault), &rpc);
    let distributor = ChainStatus::new(at(config.distributor), &rpc);
    let tokens = |v: U256| -> String {
        u128::try_from(v).map_or_else(|_| format!("{v} base units"), |v| Amount(v).to_string())
    };
    let supply = token.totalSupply().call().await.context("totalSupply")?;
    let cap = token.cap().call().await.context("cap")?;
    let staked = vault.totalStaked().call().await.context("totalStaked")?;
    let held = token
        .balanceOf(at(config.distributor))
        .call()
        .await
        .context("balanceOf(distributor)")?;
    let next = distributor.nextEpoch().call().await.context("nextEpoch")?;
    println!("rpc          {} (chain {chain_id})", config.rpc_url);
    println!("head         block {head}");
    println!("token        {}", config.token);
    println!("supply       {} of cap {}", tokens(supply), tokens(cap));
    println!("vault        {} staked", tokens(staked));
    println!("distributor  {} held", tokens(held));
    println!("next epoch   {next}");
    Ok(())
}
