//! The collective's ledger.
//!
//! - [`state`]: the deterministic state machine (accounts, stakes, members, receipt lanes, supply).
//! - [`tx`]: what the log holds (user and system transactions) and how applying one can fail.
//! - [`genesis`]: the collective's founding parameters (TOML).
//! - [`hosting`]: availability audits as the ledger sees them: hosting reports, the epoch secret's
//!   commitment and reveal, audit results, penalties and the collateral bound.
//! - [`economy`]: closing an epoch: hosting rewards, sponsored pools, staker fees, vesting,
//!   prices, weights and the earnings Merkle root.
//! - [`chain`]: settling on an EVM chain: the chain's events mirrored, withdrawals, and what each
//!   close asks the chain to do.
//! - `store`: the SQLite file: log, materialised tables, checkpoints.
//! - `replay`: rebuilding the state from the log (start-up, `verify`).
//! - [`Ledger`]: the running ledger: a writer thread that applies submitted transactions in groups
//!   and commits each group with one fsync (group commit), and queries for the hub's API.
//!
//! The log is the truth: every table can be rebuilt from it, and start-up checks that they agree.

pub mod chain;
pub mod economy;
pub mod genesis;
pub mod hosting;
mod ledger;
mod replay;
pub mod state;
mod store;
pub mod tx;
mod walk;

pub use chain::{ChainBook, ChainCursor, ChainEvent, ChainSettlement, ChainSlash};
pub use economy::{CloseSummary, Economy, Market};
pub use genesis::{ChainContracts, Genesis, GenesisError, JoinPolicy, SettlementMode};
pub use hosting::{EpochInfo, Host, ReportInfo, check_endpoint, check_location};
pub use ledger::{Clock, Committed, HistoryItem, Ledger, Summary, verify};
pub use replay::ReplayReport;
pub use state::{Account, MemberChange, Supply, TorrentTerms};
pub use store::StoreError;
pub use tx::{
    AuditMark, EpochCloseTx, HostedBytes, MarketObservation, NodeAudit, NodeRtt, ReceiptOutcome,
    SystemTx, Tx, TxError,
};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ledger entry {seq}: {reason}")]
    BadEntry { seq: u64, reason: String },
    #[error("ledger diverged: {0}")]
    Diverged(String),
    #[error("the ledger has no genesis: run `seedbank hub init` first")]
    NoGenesis,
    #[error("the ledger already has a genesis; a collective is created once")]
    Exists,
    #[error("ledger is busy: {0}")]
    Busy(String),
    #[error("genesis: {0}")]
    Genesis(String),
    #[error("the operator key is {given}, but this collective's operator is {expected}")]
    OperatorMismatch {
        given: token::Address,
        expected: token::Address,
    },
}
