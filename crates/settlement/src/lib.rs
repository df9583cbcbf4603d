//! Where the collective's tokens live, behind one trait.
//!
//! - **Embedded** (the default): the hub's ledger *is* the settlement. Nothing leaves the hub, so
//!   [`Settlement::poll`] sees no chain and [`Settlement::publish`] has nothing to do.
//! - **EVM** ([`evm`]): the token is an ERC-20, stakes sit in a staking vault and earnings are paid by a
//!   cumulative Merkle distributor (`contracts/`). The hub follows the chain's deposits, stakes and
//!   unstakes ([`Settlement::poll`], confirmed blocks only, reorg-checked) and writes them into its ledger
//!   as system transactions, so membership and balances at the hub reflect the chain; at each epoch close
//!   it publishes the epoch's Merkle root, what the epoch minted and burned, and its slashes
//!   ([`Settlement::publish`]).
//!
//! Members sign the same EIP-712 messages in both modes; only the custody of tokens differs.
//!
//! Invariants:
//! - `poll` returns events of confirmed blocks only (at least `confirmations` deep), in chain order, and
//!   each batch starts right after the cursor it was given: applying batches in order applies every
//!   event exactly once. A cursor whose block is no longer canonical is [`SettlementError::Reorg`]:
//!   the hub stops following rather than guess.
//! - `publish` is idempotent per epoch: an epoch the chain already has is skipped, so a hub that crashed
//!   between its ledger commit and the chain transaction publishes it again on restart, never twice.

pub mod anvil;
pub mod evm;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use token::{Address, Amount};

/// A boxed future, so that the trait can be used as `dyn Settlement`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The last block a follower applied: its number and hash (the hash detects a reorg beneath it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub block: u64,
    #[serde(with = "token::hexser::hex32")]
    pub hash: [u8; 32],
}

/// Something the chain did that the hub's ledger must reflect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainEvent {
    /// `amount` was deposited into the distributor for `account`: spendable at the hub.
    Deposited { account: Address, amount: Amount },
    /// `account` staked `amount` more in the vault, its lock now ending at `lock_end` (unix seconds).
    Staked {
        account: Address,
        amount: Amount,
        lock_end: u64,
    },
    /// `account` took `amount` out of the vault after its lock ended.
    Unstaked { account: Address, amount: Amount },
}

/// One event with where it happened (for logs and reconciliation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub block: u64,
    #[serde(with = "token::hexser::hex32")]
    pub tx: [u8; 32],
    pub log_index: u64,
    pub event: ChainEvent,
}

/// What [`Settlement::poll`] found: the events of the confirmed blocks after the cursor, up to `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub to: Cursor,
    pub events: Vec<Observed>,
}

/// A stake to burn on the chain: the ledger already took it at the epoch's close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slash {
    pub account: Address,
    pub amount: Amount,
    /// What proves it (the hash of the audit results that disqualified the node).
    #[serde(with = "token::hexser::hex32")]
    pub evidence: [u8; 32],
}

/// A closed epoch as the chain must learn it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSettlement {
    pub epoch: u64,
    /// The cumulative Merkle root over `(account, cumulative withdrawn)` after the close.
    #[serde(with = "token::hexser::hex32")]
    pub root: [u8; 32],
    /// Tokens the close minted (inflation): the distributor mints them to fund claims.
    pub minted: Amount,
    /// Tokens the close burned from balances the distributor holds (fees, vesting).
    pub burned: Amount,
    /// Stakes burned at the close: the vault burns them.
    pub slashes: Vec<Slash>,
}

/// What [`Settlement::publish`] did, for the log and the operator's report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Transactions sent (hash, what it was for, gas used).
    pub transactions: Vec<SentTx>,
    /// True when the chain already had this epoch and nothing was sent.
    pub already_published: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentTx {
    #[serde(with = "token::hexser::hex32")]
    pub hash: [u8; 32],
    pub what: String,
    pub gas_used: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("the chain's RPC at {url} failed: {message}")]
    Rpc { url: String, message: String },
    #[error(
        "block {block} the hub applied is no longer on the chain (reorg deeper than the configured confirmations); \
         stop the hub and re-sync from an earlier block"
    )]
    Reorg { block: u64 },
    #[error("the chain reports {what} that does not fit the ledger: {why}")]
    Unrepresentable { what: String, why: String },
    #[error("transaction {what} reverted: {reason}")]
    Reverted { what: String, reason: String },
    #[error("settlement configuration: {0}")]
    Config(String),
}

/// Which back end a collective settles on (from its genesis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Embedded,
    Evm,
}

/// The hub's settlement back end.
pub trait Settlement: Send + Sync {
    fn kind(&self) -> Kind;

    /// Confirmed chain events after `after` (from the deployment block when `None`), at most a bounded
    /// number of blocks per call; `Ok(None)` when no new block is confirmed.
    fn poll<'a>(
        &'a self,
        after: Option<Cursor>,
    ) -> BoxFuture<'a, Result<Option<Batch>, SettlementError>>;

    /// Makes a closed epoch known where the tokens live; idempotent per epoch.
    fn publish<'a>(
        &'a self,
        epoch: &'a EpochSettlement,
    ) -> BoxFuture<'a, Result<Published, SettlementError>>;
}

/// The ledger is the settlement: no chain to follow, nothing to publish.
#[derive(Clone, Copy, Debug, Default)]
pub struct Embedded;

impl Settlement for Embedded {
    fn kind(&self) -> Kind {
        Kind::Embedded
    }

    fn poll<'a>(
        &'a self,
        _after: Option<Cursor>,
    ) -> BoxFuture<'a, Result<Option<Batch>, SettlementError>> {
        Box::pin(async { Ok(None) })
    }

    fn publish<'a>(
        &'a self,
        _epoch: &'a EpochSettlement,
    ) -> BoxFuture<'a, Result<Published, SettlementError>> {
        Box::pin(async {
            Ok(Published {
                transactions: Vec::new(),
                already_published: true,
            })
        })
    }
}
