//! The EVM back end: the token is an ERC-20 (`SeedToken`), stakes sit in a `StakingVault` and earnings
//! are paid by a `CumulativeDistributor`; the hub talks to them over JSON-RPC (alloy, HTTP).
//!
//! - [`EvmSettlement`] is the hub's [`Settlement`]: it follows the vault's `Staked`/`Unstaked` and the
//!   distributor's `Deposited` events in confirmed blocks ([`Settlement::poll`]) and, at each epoch
//!   close, sends the epoch's slashes and its Merkle root with the amounts minted and burned
//!   ([`Settlement::publish`]), signing with the operator's key (the owner of vault and distributor).
//! - [`deploy`] deploys the three contracts (the token's minter is the distributor, whose address is
//!   predicted from the deployer's nonce).
//! - [`Wallet`] is the member's side: balances, stake, unstake, deposit, claim, transfer.
//!
//! Every transaction is sent one at a time per key and waited for: a revert (at gas estimation or in
//! the mined receipt) is [`SettlementError::Reverted`] with the contract's decoded error.

mod bindings;
mod deploy;
mod wallet;

use std::fmt::{Debug, Display};
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address as EvmAddress, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::{BlockId, BlockNumberOrTag, Filter, Log, TransactionReceipt};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{ContractError, SolEvent, SolInterface};
use alloy::transports::http::reqwest;
use serde::{Deserialize, Serialize};
use token::{Amount, SecretKey, hash_hex};

use crate::{
    Batch, BoxFuture, ChainEvent, Cursor, EpochSettlement, Kind, Observed, Published, SentTx,
    Settlement, SettlementError,
};
use bindings::{CumulativeDistributor, SeedToken, StakingVault};

pub use deploy::{DeployParams, Deployment, InitialHolder, deploy};
pub use wallet::{OnChainBalance, Wallet};

/// How long one JSON-RPC request may take before it fails.
const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a sent transaction may take to be mined before the send fails (it may still be mined
/// later: publishing is idempotent, so the next attempt finds it).
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the collective's contracts are and how the hub follows them (a `[settlement.evm]` table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmConfig {
    /// The chain's JSON-RPC endpoint (http or https).
    pub rpc_url: String,
    /// The chain id the RPC must report (31337 for anvil).
    pub chain_id: u64,
    pub token: token::Address,
    pub vault: token::Address,
    pub distributor: token::Address,
    /// The block the contracts were deployed in: following starts there.
    pub deploy_block: u64,
    /// How deep a block must be before its events are applied.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// The most blocks one [`Settlement::poll`] reads logs for.
    #[serde(default = "default_max_blocks_per_poll")]
    pub max_blocks_per_poll: u64,
}

fn default_confirmations() -> u64 {
    2
}

fn default_max_blocks_per_poll() -> u64 {
    2000
}

impl EvmConfig {
    /// A configuration with the default `confirmations` and `max_blocks_per_poll`.
    pub fn new(
        rpc_url: impl Into<String>,
        chain_id: u64,
        token: token::Address,
        vault: token::Address,
        distributor: token::Address,
        deploy_block: u64,
    ) -> EvmConfig {
        EvmConfig {
            rpc_url: rpc_url.into(),
            chain_id,
            token,
            vault,
            distributor,
            deploy_block,
            confirmations: default_confirmations(),
            max_blocks_per_poll: default_max_blocks_per_poll(),
        }
    }
}

/// The hub's settlement on an EVM chain.
pub struct EvmSettlement {
    chain: Chain,
    config: EvmConfig,
    token: EvmAddress,
    vault: EvmAddress,
    distributor: EvmAddress,
}

impl Debug for EvmSettlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmSettlement")
            .field("rpc", &self.chain.url)
            .field("operator", &self.chain.from)
            .field("token", &self.token)
            .field("vault", &self.vault)
            .field("distributor", &self.distributor)
            .finish()
    }
}

impl EvmSettlement {
    /// Connects to the chain: checks that the RPC serves `config.chain_id` and that the three
    /// contracts have code. The operator signs slashes and roots: it must own vault and distributor.
    pub async fn connect(
        config: EvmConfig,
        operator: SecretKey,
    ) -> Result<EvmSettlement, SettlementError> {
        if config.max_blocks_per_poll == 0 {
            return Err(SettlementError::Config(
                "max_blocks_per_poll must be at least 1".into(),
            ));
        }
        let chain = Chain::connect(&config.rpc_url, config.chain_id, &operator).await?;
        chain
            .check_code(&[
                ("token", config.token),
                ("vault", config.vault),
                ("distributor", config.distributor),
            ])
            .await?;
        Ok(EvmSettlement {
            token: evm_address(config.token),
            vault: evm_address(config.vault),
            distributor: evm_address(config.distributor),
            chain,
            config,
        })
    }

    pub fn config(&self) -> &EvmConfig {
        &self.config
    }

    /// The operator's account (the one that signs).
    pub fn operator(&self) -> token::Address {
        token_address(self.chain.from)
    }

    async fn poll_inner(&self, after: Option<Cursor>) -> Result<Option<Batch>, SettlementError> {
        let chain = &self.chain;
        let head = chain
            .provider
            .get_block_number()
            .await
            .map_err(|e| chain.rpc_error("eth_blockNumber", e))?;
        if let Some(cursor) = after
            && chain.block_hash(cursor.block).await? != Some(B256::from(cursor.hash))
        {
            return Err(SettlementError::Reorg {
                block: cursor.block,
            });
        }
        let Some(confirmed) = head.checked_sub(self.config.confirmations) else {
            return Ok(None);
        };
        let from = after.map_or(self.config.deploy_block, |c| c.block + 1);
        let to = confirmed.min(from.saturating_add(self.config.max_blocks_per_poll - 1));
        if from > to {
            return Ok(None);
        }
        let to_hash = chain
            .block_hash(to)
            .await?
            .ok_or_else(|| SettlementError::Rpc {
                url: chain.url.clone(),
                message: format!("block {to} (head {head}) is missing"),
            })?;
        let filter = Filter::new()
            .address(vec![self.vault, self.distributor])
            .event_signature(vec![
                StakingVault::Staked::SIGNATURE_HASH,
                StakingVault::Unstaked::SIGNATURE_HASH,
                CumulativeDistributor::Deposited::SIGNATURE_HASH,
            ])
            .from_block(from)
            .to_block(to);
        let mut logs = chain
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| chain.rpc_error(format!("eth_getLogs [{from}, {to}]"), e))?;
        // The logs must be of the block whose hash the cursor will carry.
        if chain.block_hash(to).await? != Some(to_hash) {
            return Err(SettlementError::Rpc {
                url: chain.url.clone(),
                message: format!(
                    "block {to} changed while its logs were read (a reorg deeper than {} confirmations?); poll again",
                    self.config.confirmations
                ),
            });
        }
        logs.retain(|log| !log.removed);
        logs.sort_by_key(|log| (log.block_number, log.log_index));
        let mut events = Vec::with_capacity(logs.len());
        for log in &logs {
            if let Some(observed) = self.observe(log)? {
                events.push(observed);
            }
        }
        Ok(Some(Batch {
            to: Cursor {
                block: to,
                hash: to_hash.0,
            },
            events,
        }))
    }

    /// One log as the event the ledger applies; None for a log the filter should not have matched.
    fn observe(&self, log: &Log) -> Result<Option<Observed>, SettlementError> {
        let missing = |field: &str| SettlementError::Rpc {
            url: self.chain.url.clone(),
            message: format!("eth_getLogs returned a log without its {field}"),
        };
        let block = log.block_number.ok_or_else(|| missing("block number"))?;
        let log_index = log.log_index.ok_or_else(|| missing("log index"))?;
        let tx = log
            .transaction_hash
            .ok_or_else(|| missing("transaction hash"))?;
        let emitter = log.address();
        let malformed = |e: alloy::sol_types::Error| SettlementError::Unrepresentable {
            what: format!("a log of {emitter} in block {block}, index {log_index}"),
            why: e.to_string(),
        };
        let event = match log.topic0() {
            Some(&StakingVault::Staked::SIGNATURE_HASH) if emitter == self.vault => {
                let e = log
                    .log_decode::<StakingVault::Staked>()
                    .map_err(malformed)?
                    .inner
                    .data;
                ChainEvent::Staked {
                    account: token_address(e.account),
                    amount: amount(format_args!("Staked amount in block {block}"), e.amount)?,
                    lock_end: e.lockEnd,
                }
            }
            Some(&StakingVault::Unstaked::SIGNATURE_HASH) if emitter == self.vault => {
                let e = log
                    .log_decode::<StakingVault::Unstaked>()
                    .map_err(malformed)?
                    .inner
                    .data;
                ChainEvent::Unstaked {
                    account: token_address(e.account),
                    amount: amount(format_args!("Unstaked amount in block {block}"), e.amount)?,
                }
            }
            Some(&CumulativeDistributor::Deposited::SIGNATURE_HASH)
                if emitter == self.distributor =>
            {
                let e = log
                    .log_decode::<CumulativeDistributor::Deposited>()
                    .map_err(malformed)?
                    .inner
                    .data;
                ChainEvent::Deposited {
                    account: token_address(e.account),
                    amount: amount(format_args!("Deposited amount in block {block}"), e.amount)?,
                }
            }
            _ => {
                tracing::warn!(%emitter, block, log_index, "ignoring a log the filter should not have returned");
                return Ok(None);
            }
        };
        Ok(Some(Observed {
            block,
            tx: tx.0,
            log_index,
            event,
        }))
    }

    async fn publish_inner(&self, epoch: &EpochSettlement) -> Result<Published, SettlementError> {
        let chain = &self.chain;
        let vault = StakingVault::new(self.vault, &chain.provider);
        let distributor = CumulativeDistributor::new(self.distributor, &chain.provider);
        let next = chain
            .read("CumulativeDistributor.nextEpoch", distributor.nextEpoch())
            .await?;
        let already_published = next > epoch.epoch;
        let mut transactions = Vec::new();

        // Slashes first: each evidence is used once, so one that reached the chain before a crash is
        // skipped on the next attempt.
        for slash in &epoch.slashes {
            if slash.amount == Amount::ZERO {
                continue;
            }
            let account = evm_address(slash.account);
            let evidence = B256::from(slash.evidence);
            if chain
                .read("StakingVault.slashed", vault.slashed(evidence))
                .await?
            {
                tracing::debug!(%account, %evidence, "slash already on the chain");
                continue;
            }
            let staked = chain
                .read("StakingVault.positions", vault.positions(account))
                .await?
                .amount;
            let wanted = U256::from(slash.amount.0);
            let slashed = if wanted > staked {
                tracing::warn!(
                    %account, %evidence, wanted = %slash.amount, staked = %staked,
                    "slash is larger than the account's stake on the chain: clamped to the stake"
                );
                staked
            } else {
                wanted
            };
            if slashed.is_zero() {
                tracing::warn!(%account, %evidence, "nothing staked on the chain to slash");
                continue;
            }
            let what = format!(
                "slash of {} base units from {} (evidence {})",
                slashed,
                slash.account,
                hash_hex(&slash.evidence)
            );
            transactions.push(
                chain
                    .send(what, vault.slash(account, slashed, evidence))
                    .await?,
            );
        }

        if already_published {
            tracing::info!(
                epoch = epoch.epoch,
                next_epoch = next,
                "epoch already on the chain"
            );
        } else {
            let what = format!(
                "postRoot of epoch {} (root {}, minted {}, burned {})",
                epoch.epoch,
                hash_hex(&epoch.root),
                epoch.minted,
                epoch.burned
            );
            let call = distributor.postRoot(
                epoch.epoch,
                B256::from(epoch.root),
                U256::from(epoch.minted.0),
                U256::from(epoch.burned.0),
            );
            transactions.push(chain.send(what, call).await?);
        }
        Ok(Published {
            transactions,
            already_published,
        })
    }
}

impl Settlement for EvmSettlement {
    fn kind(&self) -> Kind {
        Kind::Evm
    }

    fn poll<'a>(
        &'a self,
        after: Option<Cursor>,
    ) -> BoxFuture<'a, Result<Option<Batch>, SettlementError>> {
        Box::pin(self.poll_inner(after))
    }

    fn publish<'a>(
        &'a self,
        epoch: &'a EpochSettlement,
    ) -> BoxFuture<'a, Result<Published, SettlementError>> {
        Box::pin(self.publish_inner(epoch))
    }
}

/// One signing account on one chain: the provider (HTTP, gas estimation, nonces read from the chain
/// for each transaction, the chain id fixed), and a lock that sends its transactions one at a time.
struct Chain {
    provider: DynProvider,
    /// The RPC URL without its path or query (which may hold an API key), for errors and logs.
    url: String,
    from: EvmAddress,
    sends: tokio::sync::Mutex<()>,
}

impl Chain {
    async fn connect(
        rpc_url: &str,
        chain_id: u64,
        key: &SecretKey,
    ) -> Result<Chain, SettlementError> {
        let parsed: reqwest::Url = rpc_url
            .parse()
            .map_err(|e| SettlementError::Config(format!("the RPC URL {rpc_url:?}: {e}")))?;
        let url = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", parsed.scheme()),
            (Some(host), None) => format!("{}://{host}", parsed.scheme()),
            _ => {
                return Err(SettlementError::Config(format!(
                    "the RPC URL {rpc_url:?} has no host"
                )));
            }
        };
        let http = reqwest::Client::builder()
            .timeout(RPC_TIMEOUT)
            .build()
            .map_err(|e| SettlementError::Config(format!("HTTP client: {e}")))?;
        let signer = PrivateKeySigner::from_bytes(&B256::from(*key.to_bytes()))
            .map_err(|e| SettlementError::Config(format!("the signing key: {e}")))?;
        let from = signer.address();
        // Not the recommended fillers: their cached nonce manager counts a nonce for a transaction
        // that failed gas estimation (a revert) and then leaves a gap the chain waits on forever.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .with_chain_id(chain_id)
            .wallet(EthereumWallet::from(signer))
            .connect_client(RpcClient::new_http_with_client(http, parsed))
            .erased();
        let chain = Chain {
            provider,
            url,
            from,
            sends: tokio::sync::Mutex::new(()),
        };
        let served = chain
            .provider
            .get_chain_id()
            .await
            .map_err(|e| chain.rpc_error("eth_chainId", e))?;
        if served != chain_id {
            return Err(SettlementError::Config(format!(
                "the RPC at {} serves chain {served}, but the configuration says chain {chain_id}: wrong RPC URL or chain id",
                chain.url
            )));
        }
        Ok(chain)
    }

    /// Every named contract has code (a wrong address or chain shows here, not at the first call).
    async fn check_code(
        &self,
        contracts: &[(&str, token::Address)],
    ) -> Result<(), SettlementError> {
        for &(name, address) in contracts {
            let code = self
                .provider
                .get_code_at(evm_address(address))
                .await
                .map_err(|e| self.rpc_error(format!("eth_getCode of the {name}"), e))?;
            if code.is_empty() {
                return Err(SettlementError::Config(format!(
                    "no contract at the {name} address {address} on the chain at {}: wrong address, chain or deploy?",
                    self.url
                )));
            }
        }
        Ok(())
    }

    fn rpc_error(&self, what: impl Display, e: impl Display) -> SettlementError {
        SettlementError::Rpc {
            url: self.url.clone(),
            message: format!("{what}: {e}"),
        }
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, SettlementError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|e| self.rpc_error(format_args!("eth_getBlockByNumber {number}"), e))?;
        Ok(block.map(|b| b.header.hash))
    }

    /// A view call's result.
    async fn read<P: Provider, D: CallDecoder>(
        &self,
        what: &str,
        call: CallBuilder<P, D>,
    ) -> Result<D::CallOutput, SettlementError> {
        call.call().await.map_err(|e| self.call_error(what, e))
    }

    /// Sends a transaction, waits for its receipt and fails with the revert reason if it reverted.
    async fn send<P: Provider, D: CallDecoder>(
        &self,
        what: String,
        call: CallBuilder<P, D>,
    ) -> Result<SentTx, SettlementError> {
        self.send_receipt(what, call).await.map(|(sent, _)| sent)
    }

    async fn send_receipt<P: Provider, D: CallDecoder>(
        &self,
        what: String,
        call: CallBuilder<P, D>,
    ) -> Result<(SentTx, TransactionReceipt), SettlementError> {
        let _one_at_a_time = self.sends.lock().await;
        let pending = call.send().await.map_err(|e| self.call_error(&what, e))?;
        let hash = *pending.tx_hash();
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(|e| self.rpc_error(format_args!("waiting for {what} (tx {hash})"), e))?;
        if !receipt.status() {
            let reason = self.replay(call.into_transaction_request(), &receipt).await;
            return Err(SettlementError::Reverted {
                what,
                reason: format!("{reason} (tx {hash}, block {:?})", receipt.block_number),
            });
        }
        tracing::info!(%hash, gas_used = receipt.gas_used, "{what}");
        Ok((
            SentTx {
                hash: hash.0,
                what,
                gas_used: receipt.gas_used,
            },
            receipt,
        ))
    }

    /// Why a mined transaction failed: the same call replayed on the state before its block (best
    /// effort: transactions before it in the block are not replayed).
    async fn replay(
        &self,
        request: alloy::rpc::types::TransactionRequest,
        receipt: &TransactionReceipt,
    ) -> String {
        let gas = format!("status 0, gas used {}", receipt.gas_used);
        let Some(block) = receipt.block_number.and_then(|b| b.checked_sub(1)) else {
            return gas;
        };
        let request = request.with_from(self.from);
        match self
            .provider
            .call(request)
            .block(BlockId::number(block))
            .await
        {
            Ok(_) => format!("{gas} (out of gas? the call succeeds on the state before its block)"),
            Err(e) => match e.as_error_resp().and_then(|p| p.as_revert_data()) {
                Some(data) => format!("{} ({gas})", revert_reason(&data)),
                None => format!("{gas}; replaying it: {e}"),
            },
        }
    }

    /// A failed call or send: a revert with its decoded reason, else an RPC failure.
    fn call_error(&self, what: &str, e: alloy::contract::Error) -> SettlementError {
        if let Some(data) = e.as_revert_data() {
            return SettlementError::Reverted {
                what: what.to_owned(),
                reason: revert_reason(&data),
            };
        }
        if let alloy::contract::Error::TransportError(t) = &e
            && let Some(payload) = t.as_error_resp()
            && payload.message.contains("revert")
        {
            return SettlementError::Reverted {
                what: what.to_owned(),
                reason: payload.message.to_string(),
            };
        }
        self.rpc_error(what, e)
    }
}

/// A revert's data as a reason: `Error(string)`, `Panic(uint256)`, or one of the contracts' custom
/// errors with its arguments; else the raw selector.
fn revert_reason(data: &[u8]) -> String {
    if data.is_empty() {
        return "reverted without data".into();
    }
    fn describe<T: Debug>(error: ContractError<T>) -> String {
        match error {
            ContractError::CustomError(custom) => {
                // `Variant(Variant { .. })` → `Variant { .. }`.
                let text = format!("{custom:?}");
                match text.split_once('(') {
                    Some((name, inner)) if inner.starts_with(name) && inner.ends_with(')') => {
                        inner[..inner.len() - 1].to_owned()
                    }
                    _ => text,
                }
            }
            ContractError::Revert(revert) => revert.reason().to_owned(),
            ContractError::Panic(panic) => panic.to_string(),
        }
    }
    if let Ok(e) = ContractError::<StakingVault::StakingVaultErrors>::abi_decode(data) {
        return describe(e);
    }
    if let Ok(e) =
        ContractError::<CumulativeDistributor::CumulativeDistributorErrors>::abi_decode(data)
    {
        return describe(e);
    }
    if let Ok(e) = ContractError::<SeedToken::SeedTokenErrors>::abi_decode(data) {
        return describe(e);
    }
    format!(
        "unknown error 0x{} ({} bytes of data)",
        alloy::primitives::hex::encode(&data[..data.len().min(4)]),
        data.len()
    )
}

fn evm_address(address: token::Address) -> EvmAddress {
    EvmAddress::from(address.0)
}

fn token_address(address: EvmAddress) -> token::Address {
    token::Address(address.into_array())
}

/// A chain amount as the ledger's: base units that fit a `u128`.
fn amount(what: impl Display, value: U256) -> Result<Amount, SettlementError> {
    u128::try_from(value)
        .map(Amount)
        .map_err(|_| SettlementError::Unrepresentable {
            what: format!("{what} = {value}"),
            why: "more than 2^128 − 1 base units".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn config_toml_defaults() {
        let config: EvmConfig = toml::from_str(
            r#"
            rpc_url = "http://127.0.0.1:8545"
            chain_id = 31337
            token = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
            vault = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
            distributor = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
            deploy_block = 1
            "#,
        )
        .unwrap();
        assert_eq!(config.confirmations, 2);
        assert_eq!(config.max_blocks_per_poll, 2000);
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("token = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\""));
        assert_eq!(toml::from_str::<EvmConfig>(&text).unwrap(), config);
    }

    #[test]
    fn revert_reasons() {
        let still = StakingVault::StillLocked { lockEnd: 42 }.abi_encode();
        assert_eq!(revert_reason(&still), "StillLocked { lockEnd: 42 }");
        let proof = CumulativeDistributor::InvalidProof {}.abi_encode();
        assert_eq!(revert_reason(&proof), "InvalidProof");
        let revert = alloy::sol_types::Revert::from("nope").abi_encode();
        assert_eq!(revert_reason(&revert), "nope");
        assert_eq!(revert_reason(&[]), "reverted without data");
        assert!(revert_reason(&[1, 2, 3, 4, 5]).starts_with("unknown error 0x01020304"));
    }

    #[test]
    fn amounts_beyond_u128_are_refused() {
        assert_eq!(
            amount("x", U256::from(u128::MAX)).unwrap(),
            Amount(u128::MAX)
        );
        assert!(matches!(
            amount("x", U256::from(u128::MAX) + U256::from(1)),
            Err(SettlementError::Unrepresentable { .. })
        ));
    }
}
