//! What one epoch leaves: the state variables the report plots.

use serde::Serialize;

use crate::agents::Strategy;

/// One torrent among the epoch's most demanded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TorrentRow {
    /// Index in the catalogue (hot releases follow the catalogue).
    pub index: u32,
    /// Bytes requested this epoch (downloads, fetches, wash trades).
    pub demand_bytes: u64,
    /// Verified replicas, thousandths (the ledger's close).
    pub replicas_milli: u64,
    /// Price after the close, base units per GiB.
    pub price_per_gib: u128,
    pub saturation_wad: u128,
    pub weight_wad: u128,
}

/// One strategy's cumulative figures over all its agents (base units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StrategyPnl {
    pub strategy: Strategy,
    pub agents: u32,
    pub profit: i128,
    pub penalties: i128,
    pub costs: i128,
}

impl Default for StrategyPnl {
    fn default() -> Self {
        StrategyPnl {
            strategy: Strategy::Honest,
            agents: 0,
            profit: 0,
            penalties: 0,
            costs: 0,
        }
    }
}

impl StrategyPnl {
    /// Mean profit per agent (0 without agents).
    pub fn mean(&self) -> i128 {
        if self.agents == 0 {
            0
        } else {
            self.profit / i128::from(self.agents)
        }
    }
}

/// The state after one epoch. Amounts in base units (10^18 per token).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EpochRow {
    /// 1-based step (cadCAD's timestep).
    pub timestep: u64,
    /// The ledger epoch closed.
    pub epoch: u64,
    /// minted − burned.
    pub supply: u128,
    pub minted: u128,
    pub burned: u128,
    pub minted_epoch: u128,
    pub burned_epoch: u128,
    pub balances: u128,
    pub staked: u128,
    pub vesting: u128,
    pub stakers_pool: u128,
    /// Sponsored pools and the close's carried rounding.
    pub pools: u128,
    pub active_agents: u32,
    /// Identities audited this epoch.
    pub audited: u32,
    pub frozen: u32,
    pub disqualified: u32,
    /// Registered torrents.
    pub torrents: u32,
    /// Share of registered torrents with at least one full verified replica, bps.
    pub availability_bps: u32,
    pub mean_replicas_milli: u64,
    pub target_replicas: u32,
    pub hottest: Vec<TorrentRow>,
    /// Per strategy, in `Strategy::ALL` order.
    pub pnl: Vec<StrategyPnl>,
    /// Each honest member's profit over its stake, bps.
    pub honest_roi_bps: Vec<i64>,
    pub refused_user_txs: u32,
    pub receipts_settled: u32,
    pub receipts_refused: u32,
}
