//! The hub's JSON API under `/api/v1`: the types both sides serialise, and [`HubClient`], which the
//! CLI and the node use to talk to a hub. Kept apart from the hub so a node never links the server.
//!
//! Errors have one stable shape: `{"error": {"code": "not_found", "message": "..."}}` with a matching
//! HTTP status; `code` is for programs, `message` for people.

mod client;
pub mod views;

pub use client::{ClientError, HubClient};
use serde::{Deserialize, Serialize};

/// Media type of a `.torrent` body.
pub const TORRENT_MEDIA_TYPE: &str = "application/x-bittorrent";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TorrentSummary {
    pub id: u32,
    pub name: String,
    pub category: String,
    pub description: String,
    /// Bytes of content (pad files excluded).
    pub size: u64,
    pub file_count: u32,
    pub piece_length: u64,
    /// Hex; absent for a v2-only torrent.
    pub info_hash_v1: Option<String>,
    /// Hex, full 32 bytes; absent for a v1-only torrent.
    pub info_hash_v2: Option<String>,
    pub uploader: String,
    /// Unix seconds.
    pub created_at: u64,
    pub seeders: u32,
    pub leechers: u32,
    /// Distinct members that completed it.
    pub snatches: u64,
}

impl TorrentSummary {
    /// The ledger's id of the torrent (`token::torrent_id`): its v2 info-hash, or its v1 hash
    /// padded with zeros; `None` if neither hash reads.
    pub fn ledger_id(&self) -> Option<[u8; 32]> {
        let decode = |h: &Option<String>| h.as_deref().and_then(|h| hex::decode(h).ok());
        let v2 = decode(&self.info_hash_v2).and_then(|b| <[u8; 32]>::try_from(b).ok());
        let v1 = decode(&self.info_hash_v1).and_then(|b| <[u8; 20]>::try_from(b).ok());
        (v1.is_some() || v2.is_some()).then(|| token::torrent_id(v1, v2))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TorrentFile {
    pub path: String,
    pub length: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TorrentDetail {
    #[serde(flatten)]
    pub summary: TorrentSummary,
    pub files: Vec<TorrentFile>,
    /// Sum of what members reported uploading in this swarm.
    pub uploaded: u64,
    /// Sum of what members reported downloading in this swarm.
    pub downloaded: u64,
    /// `uploaded - downloaded`. Honest swarms stay near zero (minus what non-members moved); a large
    /// positive balance means someone reports uploads that nobody received.
    pub balance: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TorrentList {
    /// Matches in all, beyond this page.
    pub total: u64,
    pub torrents: Vec<TorrentSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberStats {
    pub name: String,
    pub created_at: u64,
    pub suspended: bool,
    pub uploaded: u64,
    pub downloaded: u64,
    /// `uploaded / downloaded`; absent while nothing was downloaded.
    pub ratio: Option<f64>,
    /// Distinct torrents completed.
    pub snatches: u64,
    pub seed_secs: u64,
    /// Bytes reported beyond what any link could carry, refused by the tracker.
    pub clamped: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HubStats {
    pub members: u64,
    pub torrents: u64,
    pub peers: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Filters of `GET /api/v1/torrents`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Words to search for in names and descriptions (prefix match).
    pub q: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    pub category: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// `POST /api/v1/torrents?name=&category=&description=` with the `.torrent` as the body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishQuery {
    pub name: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
}

// ---- the ledger ----

/// `GET /api/v1/ledger`: the collective's token, its parameters and the ledger's head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerInfo {
    pub name: String,
    pub symbol: String,
    pub decimals: u32,
    /// The EIP-712 domain every signature must be made in.
    pub domain: token::Domain,
    pub operator: token::Address,
    /// `invite` or `buy-in`.
    pub join: String,
    pub min_stake: token::Amount,
    pub max_lock_days: u64,
    pub price_per_gib: token::Amount,
    pub fee_bps: u32,
    pub fee_burn_bps: u32,
    pub debt_threshold_bytes: u64,
    pub free_bytes_per_day: u64,
    /// Audit epochs: their length, the samples per node in each, the answer deadline.
    #[serde(default)]
    pub epoch_secs: u64,
    #[serde(default)]
    pub audit_samples: u32,
    #[serde(default)]
    pub audit_deadline_secs: u64,
    /// What a node may claim to host: `free_host_bytes` plus `host_bytes_per_token` per whole
    /// token of collateral (stake and unvested rewards).
    #[serde(default)]
    pub free_host_bytes: u64,
    #[serde(default)]
    pub host_bytes_per_token: u64,
    /// Entries in the log, and the hash of the last one (hex).
    pub entries: u64,
    pub log_hash: String,
    pub minted: token::Amount,
    pub burned: token::Amount,
    pub stakers_pool: token::Amount,
    pub accounts: usize,
    pub members: usize,
}

/// `GET /api/v1/accounts/{address}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub address: token::Address,
    pub balance: token::Amount,
    pub stake: token::Amount,
    /// Unix seconds; the stake cannot be withdrawn before.
    pub lock_until: u64,
    pub vesting: token::Amount,
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
    pub member: Option<String>,
    /// A member with at least `min_stake` staked; others are suspended at the tracker.
    pub active: bool,
    pub invited_by: Option<token::Address>,
    /// What is left today of the member's free allowance (bytes not charged, see `free_bytes_per_day`).
    #[serde(default)]
    pub free_bytes_left: u64,
    /// The most bytes this account may claim to host now: the free quota plus its collateral
    /// (stake and unvested rewards) at the collective's ratio.
    #[serde(default)]
    pub host_bound_bytes: u64,
}

/// The answer to `POST /api/v1/transactions`: the entry is durable in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submitted {
    pub seq: u64,
    pub hash: String,
    pub time: u64,
    /// For a `join`: the new member's passkey (shown once; the tracker URL embeds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<String>,
}

/// One entry of `GET /api/v1/accounts/{address}/history`: the logged transaction as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub seq: u64,
    pub time: u64,
    pub tx: serde_json::Value,
}

/// `POST /api/v1/receipts` body and answer: outcomes in the order of the receipts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptBatch {
    pub receipts: Vec<token::Signed<token::Receipt>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptResults {
    pub outcomes: Vec<token::ReceiptOutcome>,
}

/// Most receipts one `POST /api/v1/receipts` may carry.
pub const MAX_RECEIPTS_PER_BATCH: usize = 1024;

// ---- availability audits ----

/// `POST /api/v1/reports` body: a node's signed `Report` transaction and the full report it binds
/// by hash. The hub checks the two agree and the claims against its index, keeps the report for
/// auditors and verifiers, and logs the transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSubmission {
    pub tx: token::Signed<token::UserTx>,
    pub report: audit::HostingReport,
}

/// `GET /api/v1/epochs/{epoch}` (and `/api/v1/epochs/current`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochView {
    pub epoch: u64,
    /// Unix seconds: the epoch runs from `start` up to (not including) `end`.
    pub start: u64,
    pub end: u64,
    /// The epoch the hub's clock is in now.
    pub current: u64,
    /// keccak-256 commitment to the secret, logged before the epoch began (hex), if committed.
    pub commitment: Option<String>,
    /// The secret, once revealed after the epoch (hex).
    pub secret: Option<String>,
    /// Whether the epoch's results are in the ledger.
    pub audited: bool,
    /// Audits recorded so far in this epoch, and how they ended.
    pub audits: u64,
    pub pass: u64,
    pub offline: u64,
    pub missing: u64,
    pub wrong: u64,
    /// Bytes the epoch's audits cost on the wire so far, both directions, all nodes.
    #[serde(default)]
    pub wire_bytes: u64,
}

/// One finished audit (`GET /api/v1/epochs/{epoch}/audits`, `GET /api/v1/nodes/{address}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub epoch: u64,
    pub node: token::Address,
    /// The challenge's position among the epoch's derived challenges of this node, or
    /// [`CONTAINED_FROM`] + k for a block owed from an earlier epoch.
    pub idx: u32,
    pub challenge: audit::Challenge,
    pub mark: audit::Mark,
    /// Connections it took (re-asks within the epoch count).
    pub attempts: u32,
    /// Bytes the answered attempt cost on the wire, both directions, handshakes included.
    #[serde(default)]
    pub bytes: u64,
    /// The last failure, or what was wrong, in words.
    pub detail: String,
    /// Unix seconds when it ended.
    pub time: u64,
    /// keccak-256 of the evidence JSON (`GET /api/v1/evidence/{hash}`), for wrong answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// Index of the first re-asked (contained) challenge among a node's audits in an epoch.
pub const CONTAINED_FROM: u32 = 1_000_000;

/// `GET /api/v1/nodes/{address}`: a hosting node's standing and its latest audits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub address: token::Address,
    /// The beta reputation as a fraction of 10^9, and what it means: `good`, `suspended`
    /// (no hosting rewards) or `disqualified`.
    pub reputation_ppb: u32,
    pub standing: String,
    /// Stake cannot be withdrawn while frozen (after an epoch with unanswered audits).
    pub frozen: bool,
    pub disqualified: bool,
    pub last_audited_epoch: Option<u64>,
    /// Bytes this node may claim now: free quota + collateral × ratio.
    pub host_bound_bytes: u64,
    pub report: Option<ReportView>,
    pub audits: Vec<AuditRecord>,
    /// What the node's hosting earned at the last close it took part in.
    #[serde(default)]
    pub hosting: Option<HostingView>,
}

/// A node's report as the ledger holds it (`GET /api/v1/epochs/{epoch}/reports` lists the ones in
/// force in an epoch; the full report is `GET /api/v1/reports/{report_hash}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub node: token::Address,
    /// The first epoch it applies to.
    pub epoch: u64,
    pub report_hash: String,
    pub claimed_bytes: u64,
    pub endpoint: String,
    pub location: String,
}

// ---- the epoch economy ----

/// One torrent of `GET /api/v1/market`: what hosting and downloading it pays in the coming epoch.
/// A node's hosting policy ranks torrents by these figures (see `docs/economics.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketEntry {
    /// The index id (for `GET /api/v1/torrents/{id}` and the personal `.torrent`).
    pub id: u32,
    pub name: String,
    pub category: String,
    /// Bytes of content.
    pub size: u64,
    /// The ledger's torrent id (`token::torrent_id`), hex.
    pub torrent: String,
    /// Hosting weight in force this epoch, ×10^18 (1.0 = `1000000000000000000`).
    pub weight_wad: token::Amount,
    /// Download price in force, base units per byte.
    pub price_per_byte: token::Amount,
    /// Verified replicas at the last close, in thousandths (1500 = one and a half copies).
    pub replicas_milli: u64,
    pub target_replicas: u32,
    /// Saturation measured at the last close (demand / capacity over the next 15 minutes), ×10^18.
    pub saturation_wad: token::Amount,
    /// Tokens the sponsored hosting pool still holds, and what it pays out per epoch.
    pub pool: token::Amount,
    pub pool_per_epoch: token::Amount,
}

/// `GET /api/v1/market`: every payable torrent, and the collective-wide figures a node needs to
/// value a byte of hosting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Market {
    /// The last closed epoch, if any.
    pub closed_epoch: Option<u64>,
    /// Inflation minted for hosting at the last close, and the weighted verified bytes it was
    /// split over (so one weighted byte earned `minted / weighted_bytes`).
    pub minted: token::Amount,
    pub weighted_bytes: token::Amount,
    pub torrents: Vec<MarketEntry>,
}

/// `GET /api/v1/earnings/{address}`: an account's cumulative earnings (hosting rewards, sponsored
/// pools, staker fees) as of the last close, and its proof in that close's Merkle root
/// (OpenZeppelin `StandardMerkleTree` of `(address, uint256)`), for a distributor contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Earnings {
    pub address: token::Address,
    pub epoch: Option<u64>,
    pub cumulative: token::Amount,
    /// `0x…` hex.
    pub root: String,
    /// Sibling hashes from the leaf up, `0x…` hex; empty if the account earned nothing yet.
    pub proof: Vec<String>,
    /// Liquid at once vs still vesting, of everything earned from hosting.
    pub vesting: token::Amount,
}

/// A node's hosting outcome at the last close, in `GET /api/v1/nodes/{address}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostingView {
    pub epoch: u64,
    pub verified_bytes: u64,
    /// From inflation and from sponsored pools.
    pub reward: token::Amount,
    pub sponsored: token::Amount,
    /// Why the node earned nothing from hosting, if so (frozen, suspended, not audited, ...).
    pub excluded: Option<String>,
    pub replicas: Vec<ReplicaView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaView {
    /// The ledger's torrent id, hex.
    pub torrent: String,
    pub claimed_bytes: u64,
    pub verified_bytes: u64,
    /// The geographic boost: basis points of the score (10000 = none, 11500 = +15 %), and why.
    pub geo_bps: u32,
    pub geo_reason: String,
}
