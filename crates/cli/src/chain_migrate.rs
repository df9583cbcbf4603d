//! `seedbank chain migrate`: an embedded collective's holdings at a closed epoch, written as the
//! genesis of a collective that settles on a chain (`docs/operations.md`, "Moving to EVM
//! settlement"). `seedbank chain deploy --genesis` then deploys the contracts, mints the allocations'
//! sum into the distributor and posts their root.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use hub::HubConfig;
use ledger::genesis::SettlementMode;

use crate::hub_cmd::OPERATOR_PASSWORD_ENV;

#[derive(Args)]
pub struct MigrateArgs {
    /// The embedded collective's hub data directory (its ledger and operator key).
    #[arg(long, default_value = "seedbank-data")]
    data_dir: PathBuf,
    /// The epoch to migrate at: the ledger's last close must be this one (default: whatever its
    /// last close is). Stop the hub first.
    #[arg(long)]
    epoch: Option<u64>,
    /// Where to write the new collective's genesis (refused if it exists).
    #[arg(long, value_name = "FILE")]
    genesis: PathBuf,
}

pub fn migrate(args: MigrateArgs) -> Result<()> {
    if args.genesis.exists() {
        bail!(
            "{} exists; choose a new file for the new collective's genesis",
            args.genesis.display()
        );
    }
    let config = HubConfig::defaults(&args.data_dir);
    if !config.ledger_path().exists() {
        bail!("no ledger in {}", args.data_dir.display());
    }
    let key = crate::secret::load_key(&config.operator_key_path(), OPERATOR_PASSWORD_ENV)?;
    let (ledger, report) = ledger::Ledger::open(&config.ledger_path(), key)
        .with_context(|| format!("opening the ledger in {}", args.data_dir.display()))?;
    eprintln!(
        "ledger replayed: {} entries, state root 0x{}",
        report.entries,
        hex::encode(report.state_root)
    );
    let (mut genesis, allocations, epoch) = {
        let state = ledger.state();
        let genesis = state
            .genesis()
            .context("the ledger has no genesis")?
            .clone();
        let epoch = match args.epoch {
            Some(epoch) => epoch,
            None => state
                .economy()
                .last_closed
                .context("no epoch has closed yet: a migration moves the holdings at a close")?,
        };
        let allocations = ledger::chain::migration_allocations(&state, epoch)?;
        (genesis, allocations, epoch)
    };
    let total = allocations
        .iter()
        .try_fold(token::Amount::ZERO, |t, a| t.checked_add(a.liquid))
        .context("allocations overflow")?;
    genesis.settlement = SettlementMode::Evm;
    genesis.allocations = allocations;
    genesis.chain = None;
    let text = toml::to_string(&genesis).context("writing the genesis as TOML")?;
    let header = format!(
        "# Migrated from {} at the close of epoch {}: {} accounts hold {} {} in all, claimable from the\n\
         # distributor. Next: seedbank chain deploy --genesis {} (fills [chain]), then seedbank hub init.\n",
        args.data_dir.display(),
        epoch,
        genesis.allocations.len(),
        total,
        genesis.symbol,
        args.genesis.display()
    );
    std::fs::write(&args.genesis, header + &text)
        .with_context(|| format!("writing {}", args.genesis.display()))?;
    println!(
        "{}: {} allocations, {} {} in all",
        args.genesis.display(),
        genesis.allocations.len(),
        total,
        genesis.symbol
    );
    Ok(())
}
