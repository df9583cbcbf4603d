//! The hub's JSON API under `/api/v1`: the types both sides serialise, and [`HubClient`], which the
//! CLI and the node use to talk to a hub. Kept apart from the hub so a node never links the server.
//!
//! Errors have one stable shape: `{"error": {"code": "not_found", "message": "..."}}` with a matching
//! HTTP status; `code` is for programs, `message` for people.

mod client;

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
