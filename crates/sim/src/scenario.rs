//! What a run simulates: population, catalogue, demand, churn, adversaries' parameters, modelled
//! costs and the genesis overrides. TOML-loadable; every field has a default, so a file only says
//! what it changes.

use serde::{Deserialize, Serialize};

use crate::SimError;

/// One simulated collective. `Scenario::default()` is the "default" scenario of the report
/// (1,000 nodes × 200 torrents × 100 epochs); `Scenario::default_small()` runs in a second or two
/// with every signature made and checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    /// Epochs simulated (each one a `Sim::step`).
    pub epochs: u64,
    /// Seconds per epoch (also the genesis' `epoch_secs`).
    pub epoch_secs: u64,
    /// Sign every transaction with the account's real key and apply with signature checks on
    /// (the hub's path). Off: one dummy signature everywhere and `check_signatures = false` — the
    /// same state transitions, without the secp256k1 cost (large runs). Unless `keep_log`, an unsigned
    /// run also hashes empty entry bodies: its log hash is not a real hub's (see `Sim::apply`).
    pub sign: bool,
    /// Keep every applied entry and its body (for replays); costs memory on large runs.
    pub keep_log: bool,
    /// Check `State::recount()` and the supply identity after every epoch (walks every account).
    pub check_conservation: bool,
    pub nodes: NodeCounts,
    pub torrents: TorrentSpec,
    pub demand: DemandSpec,
    pub churn: ChurnSpec,
    pub disk: DiskSpec,
    pub adversary: AdversarySpec,
    pub costs: CostSpec,
    pub funds: FundSpec,
    pub genesis: GenesisOverrides,
    /// How many of the most demanded torrents each CSV row details.
    pub hottest: usize,
}

/// Agents per strategy. Sybils and wash traders are one agent each, with several identities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeCounts {
    pub honest: u32,
    pub speculator: u32,
    pub downloader: u32,
    pub lazy: u32,
    pub offline: u32,
    pub outsourcer: u32,
    pub sybil: u32,
    pub wash: u32,
    pub free_rider: u32,
}

/// The catalogue at genesis: `count` torrents, sizes log-uniform in [min_mb, max_mb].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TorrentSpec {
    pub count: u32,
    pub min_mb: u64,
    pub max_mb: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemandSpec {
    /// Zipf exponent of popularity by rank (1.0: the classic long tail).
    pub zipf_s: f64,
    /// Mean downloads per downloading agent and epoch.
    pub downloads_per_epoch: f64,
    /// New torrents released with a burst of demand.
    pub hot: Vec<HotRelease>,
    /// Epochs over which a hot release's extra demand halves.
    pub hot_half_life: u64,
}

/// At `epoch` (0-based step), `count` new torrents are registered; each starts with `multiplier`
/// times the demand of the most popular catalogue torrent, decaying with `hot_half_life`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotRelease {
    pub epoch: u64,
    pub count: u32,
    pub multiplier: f64,
}

/// Per epoch, in basis points: an active agent leaves (reports nothing for the next epoch), a
/// departed one returns, and the share of honest hosts that are not members at genesis and join
/// later (Stake + Join) when they first "return".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnSpec {
    pub leave_bps: u32,
    pub return_bps: u32,
    pub late_join_bps: u32,
}

/// Disk budgets of hosting agents, uniform in [min_gb, max_gb] (at least 5 GB: the design's floor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskSpec {
    pub min_gb: u64,
    pub max_gb: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdversarySpec {
    /// Share of its claimed bytes a lazy host really keeps (whole torrents).
    pub lazy_keep_bps: u32,
    /// Chance an offline-prone host misses one challenge.
    pub offline_miss_bps: u32,
    /// Chance an outsourcer's on-demand fetch of a challenged block misses the deadline.
    pub outsource_timeout_bps: u32,
    /// Identities a sybil claims its one copy under.
    pub sybil_identities: u32,
    /// GB a wash trader downloads from itself per epoch.
    pub wash_gb_per_epoch: u64,
    /// Share of honest hosts' catalogue choices taken from popularity (the rest uniform: taste).
    pub honest_popular_bps: u32,
    /// Chance an honest host adds a hot release it has room for.
    pub honest_hot_bps: u32,
    /// Epochs of income a speculator weighs against the cost of fetching a torrent.
    pub speculator_horizon: u64,
    /// Epochs between a speculator's re-plans (staggered across speculators): moving data has a
    /// cost, and nobody rebalances a disk every hour.
    pub speculator_replan_epochs: u64,
}

/// Modelled off-ledger costs, in millionths of a token (the token is priced like the download
/// price: `price_per_gib` tokens per GiB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostSpec {
    /// Keeping one GB on disk for one epoch.
    pub disk_micro_per_gb_epoch: u64,
    /// Moving one GB over the network (charged to both ends).
    pub bandwidth_micro_per_gb: u64,
    /// Each host's upload rate, MB/s: its capacity in the market observation.
    pub upload_mb_per_sec: u64,
}

/// Token endowments, whole tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FundSpec {
    /// The operator's treasury (pays top-ups).
    pub treasury: u64,
    /// Liquid tokens each identity starts with.
    pub liquid: u64,
    /// A downloader whose balance falls below this buys `topup` tokens from the treasury.
    pub topup_below: u64,
    pub topup: u64,
}

/// Genesis fields a scenario may change (everything else is the `hub init` template).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenesisOverrides {
    pub inflation_bps: Option<u32>,
    pub audit_samples: Option<u32>,
    pub fee_bps: Option<u32>,
    pub fee_burn_bps: Option<u32>,
    pub target_replicas: Option<u32>,
    pub min_stake: Option<u64>,
    pub price_per_gib: Option<u64>,
    pub free_bytes_per_day: Option<u64>,
    pub host_bytes_per_token: Option<u64>,
    pub wrong_data_burn_bps: Option<u32>,
}

impl Default for NodeCounts {
    fn default() -> Self {
        NodeCounts {
            honest: 600,
            speculator: 150,
            downloader: 150,
            lazy: 20,
            offline: 20,
            outsourcer: 20,
            sybil: 10,
            wash: 10,
            free_rider: 20,
        }
    }
}

impl Default for TorrentSpec {
    fn default() -> Self {
        TorrentSpec {
            count: 200,
            min_mb: 100,
            max_mb: 4_000,
        }
    }
}

impl Default for DemandSpec {
    fn default() -> Self {
        DemandSpec {
            zipf_s: 1.0,
            downloads_per_epoch: 0.5,
            hot: vec![HotRelease {
                epoch: 20,
                count: 3,
                multiplier: 20.0,
            }],
            hot_half_life: 12,
        }
    }
}

impl Default for ChurnSpec {
    fn default() -> Self {
        ChurnSpec {
            leave_bps: 50,
            return_bps: 500,
            late_join_bps: 1000,
        }
    }
}

impl Default for DiskSpec {
    fn default() -> Self {
        DiskSpec {
            min_gb: 5,
            max_gb: 200,
        }
    }
}

impl Default for AdversarySpec {
    fn default() -> Self {
        AdversarySpec {
            lazy_keep_bps: 7000,
            offline_miss_bps: 500,
            outsource_timeout_bps: 200,
            sybil_identities: 3,
            wash_gb_per_epoch: 10,
            honest_popular_bps: 5000,
            honest_hot_bps: 3000,
            speculator_horizon: 24,
            speculator_replan_epochs: 12,
        }
    }
}

impl Default for CostSpec {
    fn default() -> Self {
        CostSpec {
            // ~0.02 token per GB-month of SSD at hourly epochs.
            disk_micro_per_gb_epoch: 30,
            // ~0.005 token per GB of transit.
            bandwidth_micro_per_gb: 5_000,
            upload_mb_per_sec: 10,
        }
    }
}

impl Default for FundSpec {
    fn default() -> Self {
        FundSpec {
            treasury: 1_000_000,
            liquid: 1_000,
            topup_below: 100,
            topup: 1_000,
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".into(),
            seed: 1,
            epochs: 100,
            epoch_secs: 3600,
            sign: false,
            keep_log: false,
            check_conservation: true,
            nodes: NodeCounts::default(),
            torrents: TorrentSpec::default(),
            demand: DemandSpec::default(),
            churn: ChurnSpec::default(),
            disk: DiskSpec::default(),
            adversary: AdversarySpec::default(),
            costs: CostSpec::default(),
            funds: FundSpec::default(),
            genesis: GenesisOverrides::default(),
            hottest: 5,
        }
    }
}

impl Scenario {
    /// A small collective, every signature made and checked: one of each adversary next to
    /// honest hosts of the same disk size, so their profits compare directly.
    pub fn default_small() -> Scenario {
        Scenario {
            name: "small".into(),
            epochs: 48,
            sign: true,
            keep_log: true,
            nodes: NodeCounts {
                honest: 6,
                speculator: 2,
                downloader: 6,
                lazy: 1,
                offline: 1,
                outsourcer: 1,
                sybil: 1,
                wash: 1,
                free_rider: 1,
            },
            torrents: TorrentSpec {
                count: 12,
                min_mb: 500,
                max_mb: 4_000,
            },
            demand: DemandSpec {
                downloads_per_epoch: 1.0,
                hot: vec![HotRelease {
                    epoch: 12,
                    count: 1,
                    multiplier: 10.0,
                }],
                ..DemandSpec::default()
            },
            churn: ChurnSpec {
                leave_bps: 0,
                return_bps: 0,
                late_join_bps: 0,
            },
            disk: DiskSpec {
                min_gb: 10,
                max_gb: 10,
            },
            funds: FundSpec {
                treasury: 100_000,
                ..FundSpec::default()
            },
            hottest: 3,
            ..Scenario::default()
        }
    }

    pub fn from_toml(text: &str) -> Result<Scenario, SimError> {
        let s: Scenario = toml::from_str(text).map_err(|e| SimError::Scenario(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    pub fn to_toml(&self) -> Result<String, SimError> {
        toml::to_string(self).map_err(|e| SimError::Scenario(e.to_string()))
    }

    /// Refuses scenarios the model makes no sense for (the message names the field).
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: &str| Err(SimError::Scenario(m.into()));
        if self.disk.min_gb < 5 || self.disk.max_gb < self.disk.min_gb {
            return bad("disk: 5 <= min_gb <= max_gb (5 GB is the design's floor)");
        }
        if self.torrents.count == 0 || self.torrents.min_mb == 0 {
            return bad("torrents: count and min_mb must be above 0");
        }
        if self.torrents.max_mb < self.torrents.min_mb {
            return bad("torrents: max_mb < min_mb");
        }
        if self.torrents.max_mb > self.disk.min_gb * 1000 {
            return bad("torrents: max_mb must fit the smallest disk (disk.min_gb)");
        }
        if self.epoch_secs < 60 {
            return bad("epoch_secs must be at least 60");
        }
        let ok = |x: f64| x >= 0.0 && x.is_finite();
        if !ok(self.demand.zipf_s) || !ok(self.demand.downloads_per_epoch) {
            return bad("demand: zipf_s and downloads_per_epoch must be finite and >= 0");
        }
        if self
            .demand
            .hot
            .iter()
            .any(|h| !(h.multiplier >= 0.0 && h.multiplier.is_finite()))
        {
            return bad("demand.hot: multiplier must be finite and >= 0");
        }
        let bps = [
            self.churn.leave_bps,
            self.churn.return_bps,
            self.churn.late_join_bps,
            self.adversary.lazy_keep_bps,
            self.adversary.offline_miss_bps,
            self.adversary.outsource_timeout_bps,
            self.adversary.honest_popular_bps,
            self.adversary.honest_hot_bps,
        ];
        if bps.iter().any(|b| *b > 10_000) {
            return bad("basis points are at most 10000");
        }
        if self.adversary.sybil_identities == 0 {
            return bad("adversary.sybil_identities must be at least 1");
        }
        Ok(())
    }
}
