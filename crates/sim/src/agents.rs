//! The agents: plain structs indexed by dense `u32`s (no maps in the hot loop), and the choices
//! they make (what to keep). Which ledger transactions these choices become is `crate::engine`'s.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use token::{Address, SecretKey};

use crate::pnl::Pnl;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Keeps what it likes (popular or to its taste), never changes its mind.
    Honest,
    /// Keeps what the market pays most per byte, re-planned every epoch from the ledger.
    Speculator,
    /// Downloads with Zipf demand, buys tokens when low, never hosts.
    Downloader,
    /// Claims a full disk, keeps only part of it.
    Lazy,
    /// Holds its claim but misses challenges with some probability.
    Offline,
    /// Holds nothing, fetches each challenged block from a peer that has it.
    Outsourcer,
    /// One copy, several identities claiming it.
    Sybil,
    /// A host identity plus a second identity that downloads from it.
    Wash,
    /// Downloads, never hosts, never buys tokens.
    FreeRider,
}

impl Strategy {
    pub const ALL: [Strategy; 9] = [
        Strategy::Honest,
        Strategy::Speculator,
        Strategy::Downloader,
        Strategy::Lazy,
        Strategy::Offline,
        Strategy::Outsourcer,
        Strategy::Sybil,
        Strategy::Wash,
        Strategy::FreeRider,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Honest => "honest",
            Strategy::Speculator => "speculator",
            Strategy::Downloader => "downloader",
            Strategy::Lazy => "lazy",
            Strategy::Offline => "offline",
            Strategy::Outsourcer => "outsourcer",
            Strategy::Sybil => "sybil",
            Strategy::Wash => "wash",
            Strategy::FreeRider => "free_rider",
        }
    }

    /// Whether it claims hosting.
    pub fn hosts(self) -> bool {
        !matches!(self, Strategy::Downloader | Strategy::FreeRider)
    }

    /// Whether it downloads with the demand model.
    pub fn downloads(self) -> bool {
        matches!(self, Strategy::Downloader | Strategy::FreeRider)
    }
}

/// One ledger account an agent controls.
#[derive(Clone, Debug)]
pub struct Identity {
    pub address: Address,
    /// `None` in unsigned runs (the address is then derived from the seed directly).
    pub key: Option<SecretKey>,
    pub agent: u32,
    pub name: String,
    /// Torrents its report in force claims for the current epoch (sorted torrent indices).
    pub current: Vec<u32>,
    /// What it reported for the next epoch, if it reported.
    pub next: Option<Vec<u32>>,
    /// `current` came from a report no close has described to the ledger yet (the next close
    /// lists its per-torrent bytes once).
    pub undescribed: bool,
    /// Gone: disqualified, or below the minimum stake: it reports no more.
    pub dead: bool,
}

#[derive(Clone, Debug)]
pub struct Agent {
    pub strategy: Strategy,
    /// Identities, the hosting one first (a wash trader's second one downloads).
    pub ids: Vec<u32>,
    pub disk: u64,
    /// Torrents it physically keeps (sorted).
    pub stored: Vec<u32>,
    /// Torrents its identities claim (sorted).
    pub claim: Vec<u32>,
    /// Taking part this epoch (serving, downloading, reporting).
    pub active: bool,
    /// Decided to leave: reports nothing for the next epoch.
    pub leaving: bool,
    /// Its identities are members (late joiners are not until they join).
    pub member: bool,
    pub pnl: Pnl,
}

#[derive(Clone, Debug)]
pub struct Torrent {
    pub id: [u8; 32],
    pub size: u64,
    /// Demand weight from its Zipf rank.
    pub popularity: f64,
    /// A hot release: (step released, multiplier of the top popularity).
    pub hot: Option<(u64, f64)>,
}

impl Torrent {
    /// Demand weight at step `k`: popularity, plus a hot release's burst halving every
    /// `half_life` steps.
    pub fn demand_weight(&self, k: u64, top: f64, half_life: u64) -> f64 {
        match self.hot {
            Some((start, mult)) if k >= start => {
                let age = (k - start) as f64 / half_life.max(1) as f64;
                self.popularity + top * mult * 0.5f64.powf(age)
            }
            Some(_) => 0.0,
            None => self.popularity,
        }
    }
}

/// Cumulative weights for weighted draws by binary search.
pub struct Cumulative(Vec<f64>);

impl Cumulative {
    pub fn new(weights: impl Iterator<Item = f64>) -> Cumulative {
        let mut acc = 0.0;
        Cumulative(
            weights
                .map(|w| {
                    acc += w.max(0.0);
                    acc
                })
                .collect(),
        )
    }

    pub fn total(&self) -> f64 {
        self.0.last().copied().unwrap_or(0.0)
    }

    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Option<usize> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let x = rng.random::<f64>() * total;
        let i = self.0.partition_point(|c| *c <= x);
        Some(i.min(self.0.len() - 1))
    }
}

/// Fills `disk` bytes with torrents drawn from `weights` (without repeats), as a host that keeps
/// what it likes: draws until it has tried `4 × count` times or nothing more fits.
pub fn pick_interests(
    rng: &mut ChaCha8Rng,
    torrents: &[Torrent],
    popular: &Cumulative,
    popular_bps: u32,
    disk: u64,
    eligible: impl Fn(u32) -> bool,
) -> Vec<u32> {
    let mut chosen: Vec<u32> = Vec::new();
    let mut used = 0u64;
    let n = torrents.len();
    let smallest = torrents.iter().map(|t| t.size).min().unwrap_or(0);
    for _ in 0..4 * n {
        let i = if rng.random_range(0..10_000u32) < popular_bps {
            match popular.draw(rng) {
                Some(i) => i,
                None => continue,
            }
        } else {
            rng.random_range(0..n)
        } as u32;
        if !eligible(i) || chosen.contains(&i) {
            continue;
        }
        let size = torrents[i as usize].size;
        if used + size <= disk {
            used += size;
            chosen.push(i);
        }
        if disk - used < smallest {
            break;
        }
    }
    chosen.sort_unstable();
    chosen
}

/// What every speculator weighs, worked out once per epoch: per registered torrent, its value
/// over the horizon to a host that does not hold it yet (income minus disk, minus the fetch), and
/// the same income to one that holds it (no fetch, one holder fewer to share uploads with).
pub struct Speculation {
    /// (torrent, size, value if fetched), value > 0 only, best per byte first.
    ranked: Vec<(u32, u64, f64)>,
    /// Per torrent: holding it is worth a + b / (others + 1) per epoch, as (a, b, holders now);
    /// `None` if it cannot be held.
    terms: Vec<Option<(f64, f64, u32)>>,
    horizon: f64,
    smallest: u64,
}

/// Best per byte first; ties by index, so the order never depends on anything else.
fn by_value_per_byte(a: &(u32, u64, f64), b: &(u32, u64, f64)) -> std::cmp::Ordering {
    let (da, db) = (a.2 / a.1 as f64, b.2 / b.1 as f64);
    db.total_cmp(&da).then(a.0.cmp(&b.0))
}

impl Speculation {
    /// `terms[i]`: (income per epoch independent of holders − disk cost, upload income shared by
    /// holders, holders now, fetch cost) of torrent `i`, `None` if it cannot be held.
    pub fn new(
        terms: Vec<Option<(f64, f64, u32, f64)>>,
        sizes: &[u64],
        horizon: f64,
    ) -> Speculation {
        let mut ranked: Vec<(u32, u64, f64)> = terms
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let (a, b, holders, fetch) = (*t)?;
                let value = (a + b / (f64::from(holders) + 1.0)) * horizon - fetch;
                (value > 0.0).then_some((i as u32, sizes[i], value))
            })
            .collect();
        ranked.sort_by(by_value_per_byte);
        let smallest = sizes.iter().copied().min().unwrap_or(0);
        Speculation {
            ranked,
            terms: terms
                .iter()
                .map(|t| t.map(|(a, b, h, _)| (a, b, h)))
                .collect(),
            horizon,
            smallest,
        }
    }

    /// A speculator's plan: greedily by value per byte within `disk`, over the torrents it holds
    /// (`stored`, sorted; valued without a fetch, itself not counted among the other holders if
    /// `counted`) and the shared ranking of the rest.
    pub fn plan(&self, stored: &[u32], sizes: &[u64], counted: bool, disk: u64) -> Vec<u32> {
        let mut own: Vec<(u32, u64, f64)> = stored
            .iter()
            .filter_map(|&i| {
                let (a, b, holders) = self.terms.get(i as usize).copied().flatten()?;
                let others = if counted {
                    holders.saturating_sub(1)
                } else {
                    holders
                };
                let value = (a + b / (f64::from(others) + 1.0)) * self.horizon;
                (value > 0.0).then_some((i, sizes[i as usize], value))
            })
            .collect();
        own.sort_by(by_value_per_byte);
        let rest = self
            .ranked
            .iter()
            .filter(|(i, _, _)| stored.binary_search(i).is_err());
        let mut own = own.iter().peekable();
        let mut rest = rest.peekable();
        let mut used = 0u64;
        let mut out = Vec::new();
        loop {
            let next = match (own.peek(), rest.peek()) {
                (Some(o), Some(r)) if by_value_per_byte(o, r).is_le() => own.next(),
                (Some(_), None) => own.next(),
                (_, Some(_)) => rest.next(),
                (None, None) => break,
            };
            let Some(&(i, size, _)) = next else { break };
            if used + size <= disk {
                used += size;
                out.push(i);
            }
            if disk - used < self.smallest {
                break;
            }
        }
        out.sort_unstable();
        out
    }
}
