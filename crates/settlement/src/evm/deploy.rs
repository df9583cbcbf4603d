//! Deploying the three contracts: `SeedToken` (its immutable minter the distributor's predicted
//! address), then `CumulativeDistributor` at that address, then `StakingVault`.

use alloy::contract::RawCallBuilder;
use alloy::primitives::{Bytes, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolConstructor;
use contracts::Contract;
use serde::{Deserialize, Serialize};
use token::{Address, SecretKey};

use super::bindings::{CumulativeDistributor, SeedToken, StakingVault};
use super::{Chain, EvmConfig, evm_address, token_address};
use crate::{SentTx, SettlementError};

/// The genesis parameters the contracts are deployed with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployParams {
    pub name: String,
    pub symbol: String,
    /// The most the supply may ever be, base units.
    pub cap: u128,
    /// The inflation budget's rate, basis points per 365-day year.
    pub annual_bps: u32,
    /// Who receives the genesis supply.
    pub initial_holder: InitialHolder,
    /// The genesis supply, base units (at most `cap`).
    pub initial_supply: u128,
    /// The longest stake lock, seconds.
    pub max_lock_secs: u64,
    /// The lock-weight exponent in WAD (a multiple of 0.5e18, at most 8e18).
    pub alpha_wad: u128,
}

/// Who the token's constructor mints the genesis supply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialHolder {
    Account(Address),
    /// The distributor: a chain genesis's allocations (a migrated collective's holdings), claimable
    /// once the hub posts their root, which it does on its first start.
    Distributor,
}

/// Where the contracts landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub token: Address,
    pub vault: Address,
    pub distributor: Address,
    /// The block of the first deployment (the token): following starts there.
    pub block: u64,
    /// The three deployments in order (token, distributor, vault) with their gas.
    pub transactions: Vec<SentTx>,
}

impl Deployment {
    /// The hub's configuration for this deployment (default confirmations and poll size).
    pub fn config(&self, rpc_url: impl Into<String>, chain_id: u64) -> EvmConfig {
        EvmConfig::new(
            rpc_url,
            chain_id,
            self.token,
            self.vault,
            self.distributor,
            self.block,
        )
    }

    /// The gas the deployment of `contract` ("SeedToken", "CumulativeDistributor", "StakingVault")
    /// used.
    pub fn gas_of(&self, contract: &str) -> Option<u64> {
        let what = format!("deploy {contract}");
        self.transactions
            .iter()
            .find(|tx| tx.what == what)
            .map(|tx| tx.gas_used)
    }
}

/// Deploys the three contracts from `operator_key`'s account, which becomes the owner (operator) of
/// vault and distributor. The account must be funded for gas and must send nothing else meanwhile
/// (the distributor's address is predicted from its nonce).
pub async fn deploy(
    rpc_url: &str,
    chain_id: u64,
    operator_key: &SecretKey,
    params: &DeployParams,
) -> Result<Deployment, SettlementError> {
    let chain = Chain::connect(rpc_url, chain_id, operator_key).await?;
    let operator = chain.from;
    let nonce = chain
        .provider
        .get_transaction_count(operator)
        .pending()
        .await
        .map_err(|e| chain.rpc_error("eth_getTransactionCount", e))?;
    let token_at = operator.create(nonce);
    let distributor_at = operator.create(nonce + 1);
    let vault_at = operator.create(nonce + 2);

    let token_args = SeedToken::constructorCall {
        name_: params.name.clone(),
        symbol_: params.symbol.clone(),
        cap_: U256::from(params.cap),
        annualBps_: U256::from(params.annual_bps),
        minter_: distributor_at,
        initialHolder: match params.initial_holder {
            InitialHolder::Account(holder) => evm_address(holder),
            InitialHolder::Distributor => distributor_at,
        },
        initialSupply: U256::from(params.initial_supply),
    }
    .abi_encode();
    let distributor_args = CumulativeDistributor::constructorCall {
        token_: token_at,
        operator,
    }
    .abi_encode();
    let vault_args = StakingVault::constructorCall {
        token_: token_at,
        operator,
        maxLockSecs_: params.max_lock_secs,
        alphaWad_: U256::from(params.alpha_wad),
    }
    .abi_encode();

    let mut transactions = Vec::with_capacity(3);
    let mut block = 0;
    for (i, (contract, args, expected)) in [
        (Contract::SeedToken, token_args, token_at),
        (
            Contract::CumulativeDistributor,
            distributor_args,
            distributor_at,
        ),
        (Contract::StakingVault, vault_args, vault_at),
    ]
    .into_iter()
    .enumerate()
    {
        let input = deploy_data(contract, &args)?;
        let call = RawCallBuilder::new_raw_deploy(&chain.provider, input).nonce(nonce + i as u64);
        let name = contract.name();
        let (sent, receipt) = chain
            .send_receipt(format!("deploy {name}"), call)
            .await
            .map_err(|e| match (i, e) {
                (0, e) => e,
                (_, SettlementError::Reverted { what, reason }) => SettlementError::Reverted {
                    what,
                    reason: format!(
                        "{reason}; the contracts deployed before it are unusable: deploy again"
                    ),
                },
                (_, e) => e,
            })?;
        if receipt.contract_address != Some(expected) {
            return Err(SettlementError::Config(format!(
                "{name} landed at {:?}, not at the predicted {expected}: did the account send something else meanwhile? deploy again",
                receipt.contract_address
            )));
        }
        if i == 0 {
            block = receipt.block_number.unwrap_or_default();
        }
        transactions.push(sent);
    }
    Ok(Deployment {
        token: token_address(token_at),
        vault: token_address(vault_at),
        distributor: token_address(distributor_at),
        block,
        transactions,
    })
}

/// A contract's creation bytecode with its constructor arguments, from the committed artifacts.
fn deploy_data(contract: Contract, args: &[u8]) -> Result<Bytes, SettlementError> {
    contract
        .deploy_data(args)
        .map_err(|e| SettlementError::Config(format!("the {} artifact: {e}", contract.name())))
}
