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
    Genesis(Box<Genesis>),
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
    /// The hub's commitment to epoch `epoch`'s audit secret (`audit::commit`), before the epoch.
    EpochCommit {
        epoch: u64,
        #[serde(with = "hex32")]
        commitment: [u8; 32],
    },
    /// The secret itself, after the epoch: anyone can now re-derive its challenges.
    EpochReveal {
        epoch: u64,
        #[serde(with = "hex32")]
        secret: [u8; 32],
    },
    /// How the audits of epoch `epoch` ended, per node (ascending), with their penalties.
    AuditResults { epoch: u64, nodes: Vec<NodeAudit> },
    /// Confirmed events of the collective's contracts (settling on an EVM chain), in chain order,
    /// from the block after the last such entry's up to block `to`.
    Chain {
        to: crate::chain::ChainCursor,
        events: Vec<crate::chain::ChainEvent>,
    },
    /// Closes epoch `epoch`: hosting rewards, sponsored pools, staker fees, vesting, prices and
    /// weights (see `crate::economy`), from the hub's observations.
    EpochClose(EpochCloseTx),
}

/// What the hub observed of an epoch, for its close. Lists are in ascending key order, each key
/// once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochCloseTx {
    pub epoch: u64,
    /// Per torrent: download demand and upload capacity over the next 15 minutes, in bytes.
    pub markets: Vec<MarketObservation>,
    /// Per node and torrent: the bytes its report in force claims (they add up to the report's
    /// `claimed_bytes`; the full report is the hub's, by hash), for reports no close described
    /// yet. Each report is described once; the ledger keeps it (`Economy::holdings`), so an
    /// epoch's entry grows with what changed, not with every replica of the collective.
    pub hosted: Vec<HostedBytes>,
    /// Per node: the shortest round trip the auditor measured to it during the epoch.
    pub rtts: Vec<NodeRtt>,
    /// Where the auditor measured from (`"lat,lon"`), or `""` if the hub does not say.
    #[serde(default)]
    pub auditor_location: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketObservation {
    #[serde(with = "hex32")]
    pub torrent: [u8; 32],
    pub demand_bytes: u64,
    pub capacity_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedBytes {
    pub node: Address,
    #[serde(with = "hex32")]
    pub torrent: [u8; 32],
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRtt {
    pub node: Address,
    pub rtt_us: u64,
}

/// One node's audits in one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAudit {
    pub node: Address,
    /// In the order the audits ended. In JSON one letter each (`p` pass, `o` offline, `m`
    /// missing, `w` wrong): an epoch's entry names every audited node, so its size matters.
    #[serde(with = "marks")]
    pub outcomes: Vec<AuditMark>,
    /// One per [`AuditMark::Wrong`], in order: keccak-256 of the evidence JSON the hub keeps
    /// (`audit::Evidence`), so the ledger binds what anyone can ask the hub to show.
    #[serde(with = "token::hexser::hex32_list")]
    pub evidence: Vec<[u8; 32]>,
}

/// How one audit ended, as the ledger counts it (`pass`, `offline`, `missing`, `wrong` in JSON):
/// the `audit` crate's [`audit::Mark`], one type for the auditor that produces it and the ledger
/// that applies it. A timeout or refused connection that containment did not clear is `Offline`.
pub use audit::Mark as AuditMark;

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
    #[error("report: {0}")]
    BadReport(String),
    #[error("{node} already reported for epoch {epoch}; a report is fixed once made")]
    ReportExists { node: Address, epoch: u64 },
    #[error("the report claims {claimed} bytes; the node's collateral covers {bound}")]
    OverCollateral { claimed: u64, bound: u64 },
    #[error("{0} is disqualified from hosting")]
    Disqualified(Address),
    #[error(
        "the stake is frozen: the node failed an audit (offline or missing data) and has not passed one since"
    )]
    Frozen,
    #[error("epoch {epoch}: {why}")]
    Epoch { epoch: u64, why: String },
    #[error("the revealed secret does not open epoch {0}'s commitment")]
    BadReveal(u64),
    #[error("audit results: {0}")]
    BadAudit(String),
    #[error("epoch close: {0}")]
    BadClose(String),
    #[error("sponsorship: {0}")]
    BadSponsor(String),
    #[error("this collective settles embedded: there is no chain for that")]
    NotOnChain,
    #[error("this collective settles on an EVM chain: {0}")]
    OnChain(&'static str),
    #[error("chain events: {0}")]
    BadChain(String),
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
            TxError::BadReport(_) => "bad_report",
            TxError::ReportExists { .. } => "report_exists",
            TxError::OverCollateral { .. } => "over_collateral",
            TxError::Disqualified(_) => "disqualified",
            TxError::Frozen => "frozen",
            TxError::Epoch { .. } => "bad_epoch",
            TxError::BadReveal(_) => "bad_reveal",
            TxError::BadAudit(_) => "bad_audit",
            TxError::BadClose(_) => "bad_close",
            TxError::BadSponsor(_) => "bad_sponsor",
            TxError::NotOnChain => "not_on_chain",
            TxError::OnChain(_) => "on_chain",
            TxError::BadChain(_) => "bad_chain",
            TxError::Storage(_) => "storage",
            TxError::Closed => "closed",
        }
    }
}

/// Audit marks as a string of letters, `"ppom"`; an unknown letter is refused.
mod marks {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::AuditMark;

    fn letter(m: &AuditMark) -> char {
        match m {
            AuditMark::Pass => 'p',
            AuditMark::Offline => 'o',
            AuditMark::Missing => 'm',
            AuditMark::Wrong => 'w',
        }
    }

    pub fn serialize<S: Serializer>(marks: &[AuditMark], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&marks.iter().map(letter).collect::<String>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AuditMark>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.chars()
            .map(|c| match c {
                'p' => Ok(AuditMark::Pass),
                'o' => Ok(AuditMark::Offline),
                'm' => Ok(AuditMark::Missing),
                'w' => Ok(AuditMark::Wrong),
                other => Err(D::Error::custom(format!(
                    "audit mark {other:?}: expected p (pass), o (offline), m (missing) or w (wrong)"
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_marks_are_one_letter_each_and_unknown_letters_are_refused() {
        let audit = NodeAudit {
            node: Address([7; 20]),
            outcomes: vec![
                AuditMark::Pass,
                AuditMark::Offline,
                AuditMark::Missing,
                AuditMark::Wrong,
            ],
            evidence: vec![[1; 32]],
        };
        let json = serde_json::to_string(&audit).unwrap();
        assert!(json.contains(r#""outcomes":"pomw""#), "{json}");
        assert_eq!(serde_json::from_str::<NodeAudit>(&json).unwrap(), audit);
        let bad = json.replace("pomw", "pox");
        let err = serde_json::from_str::<NodeAudit>(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("audit mark 'x'"), "{err}");
    }
}
