//! What the collective's web pages show, as JSON: each page of the site renders one of these, and
//! the same value is served under `/api/v1` (see `docs/hub.md` and `/api/v1/openapi.json`). Token
//! amounts are base units as decimal strings ([`token::Amount`]); fractions ×10^18 end in `_wad`;
//! basis points end in `_bps`; times are Unix seconds.

use serde::{Deserialize, Serialize};
use token::{Address, Amount};

use crate::{MarketEntry, MemberStats, TorrentSummary};

/// `GET /api/v1/overview`: the home page's vital signs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The collective's name (its token's name), or "seedbank" for a ratio-only tracker.
    pub name: String,
    /// The token's symbol and decimals; `None` for a ratio-only tracker.
    pub token: Option<TokenInfo>,
    pub members: u64,
    pub torrents: u64,
    /// Bytes of content in the index.
    pub indexed_bytes: u64,
    pub peers: u64,
    pub seeders: u64,
    pub leechers: u64,
    /// The epoch now under way, and the last closed one.
    pub epoch: Option<EpochClock>,
    pub closed_epoch: Option<u64>,
    pub supply: Option<SupplyView>,
    /// Torrents whose verified replicas meet the target at the last close, of all payable ones.
    pub torrents_at_target: u64,
    pub payable_torrents: u64,
    /// The newest torrents, newest first (at most 6).
    pub recent: Vec<TorrentSummary>,
    /// The most saturated torrents, hottest first (at most 6).
    pub hot: Vec<MarketEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub symbol: String,
    pub decimals: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochClock {
    pub epoch: u64,
    pub start: u64,
    pub end: u64,
}

/// Where every token is. `minted - burned = balances + staked + vesting + stakers_pool + pools`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyView {
    pub minted: Amount,
    pub burned: Amount,
    /// `minted - burned`: every token that exists.
    pub total: Amount,
    pub balances: Amount,
    pub staked: Amount,
    pub vesting: Amount,
    /// Fees waiting for the next close's staker payout.
    pub stakers_pool: Amount,
    /// Sponsored hosting pools and minted rewards not yet paid out.
    pub pools: Amount,
}

/// `GET /api/v1/categories`: the index's categories with how many torrents each holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub name: String,
    pub torrents: u64,
}

/// One epoch of a torrent's market, from that epoch's close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentEpoch {
    pub epoch: u64,
    /// When the epoch closed.
    pub time: u64,
    /// Download price set by this close, base units per byte.
    pub price_per_byte: Amount,
    /// Hosting weight set by this close, ×10^18.
    pub weight_wad: Amount,
    /// Demand over capacity measured at this close, ×10^18.
    pub saturation_wad: Amount,
    /// Verified replicas, in thousandths.
    pub replicas_milli: u64,
    /// Paid from the torrent's sponsored pool by this close.
    pub pool_paid: Amount,
}

/// A node that held a verified replica of the torrent at the last close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaHolder {
    pub node: Address,
    pub member: Option<String>,
    pub verified_bytes: u64,
    pub claimed_bytes: u64,
}

/// `GET /api/v1/torrents/{id}/market`: the torrent's market now and over the closed epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TorrentMarket {
    pub id: u32,
    /// `None` when the torrent is not payable (a ratio-only hub, or no ledger id yet).
    pub market: Option<MarketEntry>,
    /// Base units per GiB at the current price (what a leecher pays for 2^30 bytes).
    pub price_per_gib: Option<Amount>,
    pub holders: Vec<ReplicaHolder>,
    /// Oldest first.
    pub history: Vec<TorrentEpoch>,
}

/// One vesting grant: `amount` vests linearly from `start` to `end`; `released` is already liquid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub start: u64,
    pub end: u64,
    pub amount: Amount,
    pub released: Amount,
}

/// What an account earned at one close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarningEpoch {
    pub epoch: u64,
    pub time: u64,
    /// From inflation, for verified hosting.
    pub hosting: Amount,
    /// From sponsored pools.
    pub sponsored: Amount,
    /// The stakers' share of download fees.
    pub fees: Amount,
    pub verified_bytes: u64,
}

/// A node's audit standing, for a member page and the leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Parts per billion: 1e9 is a perfect record.
    pub reputation_ppb: u32,
    /// `good`, `frozen`, `disqualified`, ...
    pub standing: String,
    pub last_audited_epoch: Option<u64>,
    pub location: Option<String>,
}

/// `GET /api/v1/profiles/{name}`: a member's public page. Never holds the passkey (that is only
/// in `GET /api/v1/session`, for the member signed in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// Transfer totals and ratio, as the tracker counted them.
    pub stats: MemberStats,
    /// `None` for a ratio-only member (no ledger account).
    pub address: Option<Address>,
    pub balance: Amount,
    pub stake: Amount,
    /// When the stake may be withdrawn (0: not locked).
    pub lock_until: u64,
    /// Still vesting, in total, and the grants that make it up.
    pub vesting: Amount,
    pub grants: Vec<GrantView>,
    /// Everything earned as of the last close (hosting, sponsored, fees), as in the Merkle root.
    pub earned: Amount,
    /// Oldest first: every close from the first that paid the account to the last (at most 720),
    /// zeros where it earned nothing.
    pub earnings: Vec<EarningEpoch>,
    /// `None` if the member runs no audited node.
    pub node: Option<Standing>,
}

impl Profile {
    /// A member with no ledger account yet: nothing but its tracker figures.
    pub fn without_account(name: String, stats: MemberStats) -> Profile {
        Profile {
            name,
            stats,
            address: None,
            balance: Amount::ZERO,
            stake: Amount::ZERO,
            lock_until: 0,
            vesting: Amount::ZERO,
            grants: Vec::new(),
            earned: Amount::ZERO,
            earnings: Vec::new(),
            node: None,
        }
    }
}

/// One row of the node leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    pub address: Address,
    pub member: Option<String>,
    /// Verified at the last close.
    pub verified_bytes: u64,
    /// Claimed in the node's latest report.
    pub claimed_bytes: u64,
    pub standing: Standing,
    /// Paid at the last close (hosting + sponsored).
    pub last_reward: Amount,
    /// Everything earned so far.
    pub earned: Amount,
}

/// `GET /api/v1/nodes`: every node that reported hosting, most verified bytes first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeBoard {
    pub closed_epoch: Option<u64>,
    pub nodes: Vec<NodeRow>,
}

/// One closed epoch of the whole economy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EconomyEpoch {
    pub epoch: u64,
    pub time: u64,
    /// Inflation minted by the close.
    pub minted: Amount,
    pub hosting_paid: Amount,
    pub sponsored_paid: Amount,
    /// Download fees paid to stakers.
    pub fees_paid: Amount,
    /// Vesting released to balances.
    pub released: Amount,
    pub verified_bytes: u64,
    pub hosts_paid: u32,
    /// The supply right after the close (`None` for closes recorded before the hub kept it).
    pub supply: Option<SupplyView>,
}

/// `GET /api/v1/economy`: the token's supply and what every epoch did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EconomyView {
    pub token: TokenInfo,
    pub supply: SupplyView,
    /// Staked of all tokens that exist, in basis points.
    pub staked_bps: u32,
    /// The last close's fees to stakers over what is staked, annualised, in basis points.
    pub staker_yield_bps: Option<u64>,
    /// The genesis cap on inflation per year, in basis points.
    pub inflation_bps: u32,
    pub epoch_secs: u64,
    pub min_stake: Amount,
    pub price_per_gib: Amount,
    /// Oldest first.
    pub epochs: Vec<EconomyEpoch>,
}

/// `GET /api/v1/auth/nonce`: what a Sign-In with Ethereum (EIP-4361) message for this hub must
/// carry. The client writes the message, has the member's key sign it (EIP-191), and posts both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInChallenge {
    /// The message's `domain` (this hub's host and port).
    pub domain: String,
    /// The message's `URI`.
    pub uri: String,
    pub chain_id: u64,
    /// Single use; valid until `expires`.
    pub nonce: String,
    pub expires: u64,
    /// The statement the hub expects, word for word.
    pub statement: String,
}

/// `POST /api/v1/auth/session` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    /// The EIP-4361 message, exactly as signed.
    pub message: String,
    /// 65 bytes `r ‖ s ‖ v`, `0x…` hex (what `personal_sign` returns).
    pub signature: String,
}

/// `POST /api/v1/auth/session` answer (the session cookie comes with it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    pub address: Address,
    pub expires: u64,
    /// Opens a session in another browser once, within a few minutes (the CLI prints it).
    pub link: String,
}

/// `GET /api/v1/session`: the member signed in. Only ever shown to that member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub name: String,
    pub address: Address,
    /// The member's tracker passkey, and the announce URL built from it.
    pub passkey: String,
    pub announce_url: String,
    pub expires: u64,
}
