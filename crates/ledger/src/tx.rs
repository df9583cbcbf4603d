//! What the log holds: entries of user transactions (signed by their account) and system
//! transactions (signed by the operator), and what applying one can say.

use serde::{Deserialize, Serialize};
pub use token::ReceiptOutcome;
use token::{Address, Amount, Receipt, Signature, Signed, UserTx, hex32};

use crate::genesis::Genesis;

/// Transactions only the hub (the operator key) may write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemTx {
    /// The first entry, and only there.
    Genesis(Genesis),
    /// A torrent becomes payable: its id (see `token::torrent_id`), data bytes and price.
    RegisterTorrent {
        #[serde(with = "hex32")]
        torrent: [u8; 32],
        size: u64,
        price_per_byte: Amount,
    },
    /// An operator-created member: `stake` moves from the operator's balance into the account's
    /// stake, locked until `lock_until`, and the account becomes the member `name`.
    Admit {
        account: Address,
        name: String,
        stake: Amount,
        lock_until: u64,
    },
    /// Receipts an uploader submitted, whose signatures the hub checked before logging them.
    Settle { receipts: Vec<Signed<Receipt>> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Tx {
    User {
        tx: Signed<UserTx>,
    },
    /// `signature` is the operator's, over the transaction and its place in the log (see
    /// [`system_digest`](crate::state::system_digest)).
    System {
        tx: SystemTx,
        signature: Signature,
    },
}

/// One logged transaction with its place and time. The time is the hub's clock when it was
/// committed (never earlier than the entry before), and is what lock ends are compared against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub time: u64,
    pub tx: Tx,
}

/// Why a transaction was refused. Nothing was logged and nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("signature is not {0}'s (forged, or signed for another collective)")]
    BadSignature(Address),
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    #[error("nonce {got} is not the account's next ({expected}): replayed, or sent out of order")]
    Nonce { expected: u64, got: u64 },
    #[error("insufficient balance: need {need}, have {have}")]
    InsufficientBalance { need: Amount, have: Amount },
    #[error("insufficient stake: need {need}, have {have}")]
    InsufficientStake { need: Amount, have: Amount },
    #[error("stake is locked until {until} (unix time); it is {now}")]
    Locked { until: u64, now: u64 },
    #[error("amount must be above zero")]
    ZeroAmount,
    #[error("amount overflows")]
    Overflow,
    #[error("cannot send to yourself")]
    SelfTransfer,
    #[error("lock end {lock_until} is {why}")]
    BadLock { lock_until: u64, why: String },
    #[error("{0} is not a member")]
    NotMember(Address),
    #[error("{0} is already a member")]
    AlreadyMember(Address),
    #[error("{0} has no invitation (this collective admits by invite)")]
    NotInvited(Address),
    #[error("member name {0:?} is taken")]
    NameTaken(String),
    #[error("member name {0:?}: {1}")]
    BadName(String, String),
    #[error("a torrent may be registered once: {0}")]
    TorrentExists(String),
    #[error("genesis must be the first entry and only the first")]
    Genesis,
    #[error("the ledger could not store it: {0}")]
    Storage(String),
    #[error("the ledger is shutting down")]
    Closed,
}

impl TxError {
    /// A stable machine-readable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::BadSignature(_) => "bad_signature",
            TxError::MalformedSignature(_) => "malformed_signature",
            TxError::Nonce { .. } => "bad_nonce",
            TxError::InsufficientBalance { .. } => "insufficient_balance",
            TxError::InsufficientStake { .. } => "insufficient_stake",
            TxError::Locked { .. } => "locked",
            TxError::ZeroAmount => "zero_amount",
            TxError::Overflow => "overflow",
            TxError::SelfTransfer => "self_transfer",
            TxError::BadLock { .. } => "bad_lock",
            TxError::NotMember(_) => "not_member",
            TxError::AlreadyMember(_) => "already_member",
            TxError::NotInvited(_) => "not_invited",
            TxError::NameTaken(_) => "name_taken",
            TxError::BadName(..) => "bad_name",
            TxError::TorrentExists(_) => "torrent_exists",
            TxError::Genesis => "genesis",
            TxError::Storage(_) => "storage",
            TxError::Closed => "closed",
        }
    }
}
