//! The hosting policy: what a node should host in the coming epoch, within its disk budget.
//!
//! The seed asks for two reasons to keep data: (a) the member is interested in it, (b) it is
//! expected to pay. [`plan`] is a pure function of the hub's market (`GET /api/v1/market`), the
//! member's [`Interests`], the budget and what the node holds now; the daemon (`Node`) applies it
//! once per epoch and `seedbank node plan` prints it, so what the node does can always be read
//! before it does it.
//!
//! # What a torrent is worth
//!
//! The value of hosting one more replica, per byte and per epoch, is the sum of three terms
//! ([`value`]), all in tokens (18-decimal amounts turned into `f64`):
//!
//! ```text
//! hosting = minted / weighted_bytes × weight × share      share = min(1, target / (replicas + 1))
//! pool    = min(pool, pool_per_epoch) / ((replicas + 1) × size)
//! demand  = price_per_byte × saturation × DEMAND_SHARE / (replicas + 1)
//! value/GiB/epoch = (hosting + pool + demand) × 2³⁰
//! ```
//!
//! - **hosting**: at the last close one weighted byte earned `minted / weighted_bytes`; a byte of
//!   this torrent is worth `weight` weighted bytes. A copy below the target replica count adds
//!   what the collective asked for and earns a full share; above it the copy dilutes, and
//!   `target / (replicas + 1)` is the share it would have if the rewards of `target` copies were
//!   spread over all of them once ours joins. (The weights already rise for under-replicated
//!   torrents; the share only keeps the node from piling onto torrents that have enough copies.)
//! - **pool**: a sponsored pool pays its per-epoch amount to the torrent's hosters; ours would be
//!   one of `replicas + 1` copies of `size` bytes.
//! - **demand**: uploads earn the download price (less the fee). How many bytes a replica sells
//!   is not measured, and the weight already rises with saturation, so this is a tie-breaker,
//!   not a forecast: it counts as if each unit of saturation sold [`DEMAND_SHARE`] (a
//!   ten-thousandth) of a copy per epoch, split over the copies. At the template's figures
//!   (1 token/GiB, 5 %/year inflation of a million tokens, ~10 TB hosted: hosting pays about
//!   6·10⁻⁴ tokens/GiB/epoch) a saturated torrent with one copy gets about 5·10⁻⁵: enough to
//!   separate near-equals, not to outrank the weight.
//!
//! Before any close measured weighted bytes (`weighted_bytes = 0`) the hosting rate is unknown:
//! the value is then *relative*, `weight × share`, and the token terms (pool, demand) only break
//! ties. [`Plan::relative`] says which, and `node plan` prints it.
//!
//! This is local advice, not consensus: floating point is fine here (nothing the ledger replays
//! depends on it), and every ordering is total (`f64::total_cmp`, then size, then the torrent id),
//! so the same input always gives the same plan.
//!
//! # How the budget is filled
//!
//! 1. Torrents registered by hand are kept and counted against the budget; the policy never
//!    evicts them (nor deletes anything it did not add itself).
//! 2. Interests come next, even if they pay nothing: pinned torrents in the order they are
//!    pinned, then categories, then name patterns (within one, the best paying first). Interests
//!    held already are never evicted; new ones are added while they fit, and the ones that do not
//!    fit are reported in [`Plan::skipped`].
//! 3. What the policy holds for pay must fit the rest of the budget, else the least valuable goes.
//! 4. With `fill` (the default; `auto_host` in the daemon), the rest is filled greedily by value
//!    per byte: a torrent that does not fit is skipped and smaller ones are tried. When something
//!    better does not fit, the least valuable holdings are evicted for it — but only those it
//!    beats by [`SWAP_MARGIN`] (10 %) per byte, so that small moves in the market do not make the
//!    node download and delete data every epoch.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use hubapi::{Market, MarketEntry};
use serde::{Deserialize, Serialize};

use crate::size::format_size;

/// Bytes per GiB: values are quoted per GiB per epoch.
pub const GIB: f64 = (1u64 << 30) as f64;

/// How much more per byte a newcomer must be worth than a holding it evicts (10 %).
pub const SWAP_MARGIN: f64 = 0.10;

/// The share of a copy the demand term counts as sold per epoch per unit of saturation.
pub const DEMAND_SHARE: f64 = 0.0001;

const WAD: f64 = 1e18;

/// What the member wants hosted whatever it pays (`[interests]` in `node.toml`, `--pin`,
/// `--category`, `--pattern`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interests {
    /// Torrent names (as in the hub's index, or the torrent's own name), or info-hashes in hex:
    /// the v2 hash (64 digits) or the v1 hash (40 digits).
    #[serde(default)]
    pub pinned: Vec<String>,
    /// Index categories, case-insensitive.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Name patterns where `*` matches any run of characters, case-insensitive (`doom*`).
    #[serde(default)]
    pub patterns: Vec<String>,
}

impl Interests {
    pub fn is_empty(&self) -> bool {
        self.pinned.is_empty() && self.categories.is_empty() && self.patterns.is_empty()
    }

    /// The first interest `t` matches, in precedence order: (kind, position in its list, reason).
    fn first_match(&self, t: &Item) -> Option<(u8, usize, String)> {
        if let Some(i) = self.pinned.iter().position(|p| pin_matches(p, t)) {
            return Some((0, i, "pinned".to_owned()));
        }
        if let Some(category) = &t.category
            && let Some(i) = self
                .categories
                .iter()
                .position(|c| c.eq_ignore_ascii_case(category))
        {
            return Some((1, i, format!("category {}", self.categories[i])));
        }
        let i = self
            .patterns
            .iter()
            .position(|p| t.names().any(|n| glob_matches(p, n)))?;
        Some((2, i, format!("pattern {}", self.patterns[i])))
    }
}

fn pin_matches(pin: &str, t: &Item) -> bool {
    if t.names().any(|n| n == pin) {
        return true;
    }
    let hex = pin.to_ascii_lowercase();
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    match hex.len() {
        64 => t.torrent == hex,
        // The ledger id of a v1-only torrent is its v1 hash padded with zeros; a hybrid's v1 hash
        // is known only for torrents held here.
        40 => {
            t.v1.as_deref() == Some(hex.as_str())
                || (t.torrent.starts_with(&hex) && t.torrent[40..].bytes().all(|b| b == b'0'))
        }
        _ => false,
    }
}

/// `*` matches any run of characters (also none); everything else matches itself, ignoring case.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let n: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    // Greedy match with backtracking to the last star: linear in practice, never exponential.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A torrent the node holds now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentHolding {
    /// The ledger's torrent id (`token::torrent_id`), hex: how holdings meet the market.
    pub torrent: String,
    /// The v1 info-hash, hex, if any (so a hybrid can be pinned by it).
    pub v1: Option<String>,
    pub name: String,
    /// Bytes of content.
    pub size: u64,
    /// Added by the policy (and so the policy's to evict); `false`: registered by hand, never
    /// evicted.
    pub by_policy: bool,
}

/// What hosting a torrent is worth in the coming epoch (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Value {
    /// The figure torrents are ranked by: tokens per GiB per epoch, or `weight × share` when the
    /// market has no hosting rate yet ([`Plan::relative`]).
    pub per_gib: f64,
    /// The three terms, tokens per GiB per epoch (`hosting` is `weight × share` when relative).
    pub hosting: f64,
    pub pool: f64,
    pub demand: f64,
    /// The replica's share of the hosting reward, 0 to 1.
    pub share: f64,
}

impl Value {
    /// Ranking: `per_gib`, then (relative only) the token terms.
    fn cmp(&self, other: &Value) -> Ordering {
        self.per_gib
            .total_cmp(&other.per_gib)
            .then((self.pool + self.demand).total_cmp(&(other.pool + other.demand)))
    }

    fn pays(&self) -> bool {
        self.per_gib > 0.0 || self.pool + self.demand > 0.0
    }

    /// Whether hosting `self` instead of `held` is worth the churn.
    fn beats(&self, held: &Value, margin: f64) -> bool {
        if held.per_gib > 0.0 {
            self.per_gib > held.per_gib * (1.0 + margin)
        } else {
            self.pays() && !held.pays()
        }
    }
}

/// Whether the market measured a hosting rate: `None` before any close did (relative values).
fn hosting_rate(market: &Market) -> Option<f64> {
    (market.weighted_bytes.0 > 0)
        .then(|| market.minted.0 as f64 / WAD / market.weighted_bytes.0 as f64)
}

/// What hosting `entry` pays per GiB in the coming epoch (see the module doc for the formula).
pub fn value(market: &Market, entry: &MarketEntry) -> Value {
    let copies = entry.replicas_milli as f64 / 1000.0 + 1.0;
    let target = f64::from(entry.target_replicas.max(1));
    let share = (target / copies).min(1.0);
    let weight = entry.weight_wad.0 as f64 / WAD;
    let pool_payout = entry.pool.min(entry.pool_per_epoch).0 as f64 / WAD;
    let pool = if entry.size == 0 {
        0.0
    } else {
        pool_payout / (copies * entry.size as f64) * GIB
    };
    let demand =
        entry.price_per_byte.0 as f64 / WAD * (entry.saturation_wad.0 as f64 / WAD) * DEMAND_SHARE
            / copies
            * GIB;
    match hosting_rate(market) {
        Some(rate) => {
            let hosting = rate * weight * share * GIB;
            Value {
                per_gib: hosting + pool + demand,
                hosting,
                pool,
                demand,
                share,
            }
        }
        None => Value {
            per_gib: weight * share,
            hosting: weight * share,
            pool,
            demand,
            share,
        },
    }
}

/// A value as `node plan` and the log print it.
pub fn describe(value: f64, relative: bool) -> String {
    if relative {
        format!("{} (relative)", significant(value))
    } else {
        format!("{} tokens/GiB/epoch", significant(value))
    }
}

/// Four significant digits, without an exponent: values span many orders of magnitude.
pub fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 20) as usize;
    format!("{v:.decimals$}")
}

/// One decision about one torrent.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The index id, for the personal `.torrent`; `None` for a holding the market does not list.
    pub id: Option<u32>,
    /// The ledger's torrent id, hex.
    pub torrent: String,
    pub name: String,
    pub size: u64,
    /// See [`Value::per_gib`].
    pub value_per_gib: f64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Held now and kept.
    pub keep: Vec<Choice>,
    /// To fetch (the interests first, then the best paying).
    pub add: Vec<Choice>,
    /// Held by the policy and to be let go, least valuable first.
    pub evict: Vec<Choice>,
    /// Not taken: (name, why). Pins that match nothing are listed under the pin.
    pub skipped: Vec<(String, String)>,
    pub budget: u64,
    /// Content bytes once the plan is applied (keep + add). At most `budget`, unless what the
    /// policy may not evict (hand-added torrents and held interests) is over it already.
    pub planned_bytes: u64,
    /// Values are `weight × share`, not tokens: no close has measured a hosting rate yet.
    pub relative: bool,
}

/// Knobs of [`plan_with`]; [`plan`] uses the defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Fill the budget with the best paying torrents (step 4); `false`: interests only.
    pub fill: bool,
    /// See [`SWAP_MARGIN`].
    pub margin: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            fill: true,
            margin: SWAP_MARGIN,
        }
    }
}

/// One torrent as the planner sees it: the market's view and ours joined by ledger id.
#[derive(Clone, Debug)]
struct Item {
    torrent: String,
    id: Option<u32>,
    /// The index's name, else the torrent's own.
    name: String,
    /// The torrent's own name, when held and different.
    held_name: Option<String>,
    category: Option<String>,
    v1: Option<String>,
    size: u64,
    value: Value,
    in_market: bool,
    /// `Some(by_policy)` when held.
    held: Option<bool>,
}

impl Item {
    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.held_name.as_deref())
    }

    fn choice(&self, reason: String) -> Choice {
        Choice {
            id: self.id,
            torrent: self.torrent.clone(),
            name: self.name.clone(),
            size: self.size,
            value_per_gib: self.value.per_gib,
            reason,
        }
    }
}

/// Best first: value, then the smaller (more fit in the budget), then the id.
fn best_first(a: &Item, b: &Item) -> Ordering {
    b.value
        .cmp(&a.value)
        .then(a.size.cmp(&b.size))
        .then(a.torrent.cmp(&b.torrent))
}

/// The plan for the coming epoch with the default [`Options`] (see the module doc).
pub fn plan(
    market: &Market,
    interests: &Interests,
    budget: u64,
    current: &[CurrentHolding],
) -> Plan {
    plan_with(market, interests, budget, current, &Options::default())
}

/// The plan for the coming epoch (see the module doc).
pub fn plan_with(
    market: &Market,
    interests: &Interests,
    budget: u64,
    current: &[CurrentHolding],
    options: &Options,
) -> Plan {
    let relative = hosting_rate(market).is_none();
    let mut plan = Plan {
        budget,
        relative,
        ..Plan::default()
    };
    let show = |v: f64| describe(v, relative);

    // Join market and holdings by ledger id; a hub listing a torrent twice counts its lowest id.
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    for entry in &market.torrents {
        let key = entry.torrent.to_ascii_lowercase();
        let item = Item {
            torrent: key.clone(),
            id: Some(entry.id),
            name: entry.name.clone(),
            held_name: None,
            category: Some(entry.category.clone()),
            v1: None,
            size: entry.size,
            value: value(market, entry),
            in_market: true,
            held: None,
        };
        match items.get(&key) {
            Some(existing) if existing.id <= item.id => {}
            _ => {
                items.insert(key, item);
            }
        }
    }
    for h in current {
        let key = h.torrent.to_ascii_lowercase();
        let item = items.entry(key.clone()).or_insert_with(|| Item {
            torrent: key,
            id: None,
            name: h.name.clone(),
            held_name: None,
            category: None,
            v1: None,
            size: h.size,
            value: Value::default(),
            in_market: false,
            held: None,
        });
        // What is on disk counts, whatever the market says the size is.
        item.size = h.size;
        item.v1 = h.v1.as_ref().map(|v| v.to_ascii_lowercase());
        if item.name != h.name {
            item.held_name = Some(h.name.clone());
        }
        item.held = Some(item.held.unwrap_or(false) || h.by_policy);
        // Hand-added wins if the same torrent is listed both ways.
        if !h.by_policy {
            item.held = Some(false);
        }
    }
    let interest: BTreeMap<&str, (u8, usize, String)> = items
        .values()
        .filter_map(|t| Some((t.torrent.as_str(), interests.first_match(t)?)))
        .collect();
    let mut used: u64 = 0;

    // 1. Registered by hand: kept, counted, never evicted.
    for t in items.values().filter(|t| t.held == Some(false)) {
        let reason = match interest.get(t.torrent.as_str()) {
            Some((_, _, why)) => format!("{why}; added by hand"),
            None => "added by hand (never evicted by the policy)".to_owned(),
        };
        plan.keep.push(t.choice(reason));
        used = used.saturating_add(t.size);
    }

    // 2. Interests: held ones first (never evicted), then new ones while they fit.
    let mut wanted: Vec<&Item> = items
        .values()
        .filter(|t| t.held != Some(false) && interest.contains_key(t.torrent.as_str()))
        .collect();
    wanted.sort_by(|a, b| {
        let (ka, ia, _) = &interest[a.torrent.as_str()];
        let (kb, ib, _) = &interest[b.torrent.as_str()];
        (ka, ia).cmp(&(kb, ib)).then(best_first(a, b))
    });
    for t in wanted.iter().filter(|t| t.held == Some(true)) {
        plan.keep
            .push(t.choice(interest[t.torrent.as_str()].2.clone()));
        used = used.saturating_add(t.size);
    }
    let mut interests_added = Vec::new();
    for t in wanted.iter().filter(|t| t.held.is_none()) {
        let why = &interest[t.torrent.as_str()].2;
        let free = budget.saturating_sub(used);
        if t.size <= free {
            plan.add.push(t.choice(why.clone()));
            interests_added.push(t.name.clone());
            used = used.saturating_add(t.size);
        } else {
            plan.skipped.push((
                t.name.clone(),
                format!(
                    "{why}, but does not fit: needs {}, {} free",
                    format_size(t.size),
                    format_size(free)
                ),
            ));
        }
    }
    for pin in &interests.pinned {
        if !items.values().any(|t| pin_matches(pin, t)) {
            plan.skipped.push((
                pin.clone(),
                "pinned, but neither in the hub's market nor held here".to_owned(),
            ));
        }
    }

    // 3. What the policy holds for pay must fit what is left; the least valuable goes first.
    let mut held: Vec<&Item> = items
        .values()
        .filter(|t| t.held == Some(true) && !interest.contains_key(t.torrent.as_str()))
        .collect();
    held.sort_by(|a, b| best_first(a, b));
    let free = budget.saturating_sub(used);
    let mut held_bytes = held.iter().fold(0u64, |s, t| s.saturating_add(t.size));
    while held_bytes > free {
        let Some(t) = held.pop() else { break };
        held_bytes -= t.size;
        let reason = if interests_added.is_empty() {
            "evicted: over the disk budget".to_owned()
        } else {
            format!("evicted: room for {}", interests_added.join(", "))
        };
        plan.evict.push(t.choice(reason));
    }
    used = used.saturating_add(held_bytes);

    // 4. Fill the rest by value per byte, swapping only for a clear gain.
    if options.fill {
        let mut candidates: Vec<&Item> = items
            .values()
            .filter(|t| {
                t.held.is_none() && t.in_market && !interest.contains_key(t.torrent.as_str())
            })
            .collect();
        candidates.sort_by(|a, b| best_first(a, b));
        for c in candidates {
            if !c.value.pays() {
                plan.skipped
                    .push((c.name.clone(), "pays nothing this epoch".to_owned()));
                continue;
            }
            let free = budget.saturating_sub(used);
            if c.size <= free {
                plan.add
                    .push(c.choice(format!("best pay per byte: {}", show(c.value.per_gib))));
                used = used.saturating_add(c.size);
                continue;
            }
            // The least valuable holdings it beats by the margin, until it fits.
            let mut freed = 0u64;
            let mut out = 0;
            for e in held.iter().rev() {
                if free.saturating_add(freed) >= c.size || !c.value.beats(&e.value, options.margin)
                {
                    break;
                }
                freed = freed.saturating_add(e.size);
                out += 1;
            }
            if free.saturating_add(freed) < c.size {
                plan.skipped.push((
                    c.name.clone(),
                    format!(
                        "does not fit: needs {}, {} free{}",
                        format_size(c.size),
                        format_size(free),
                        if c.size > budget {
                            " (larger than the whole budget)"
                        } else {
                            ""
                        }
                    ),
                ));
                continue;
            }
            for _ in 0..out {
                let Some(e) = held.pop() else { break };
                let reason = if e.value.per_gib > 0.0 {
                    format!(
                        "evicted: worth {:.1}x less than {}",
                        c.value.per_gib / e.value.per_gib,
                        c.name
                    )
                } else {
                    format!(
                        "evicted: pays nothing, {} pays {}",
                        c.name,
                        show(c.value.per_gib)
                    )
                };
                plan.evict.push(e.choice(reason));
            }
            used = used.saturating_sub(freed).saturating_add(c.size);
            plan.add
                .push(c.choice(format!("best pay per byte: {}", show(c.value.per_gib))));
        }
    }
    for t in held {
        let reason = if t.in_market {
            format!("pays {}", show(t.value.per_gib))
        } else {
            "not in the hub's market: pays nothing, kept until something better fits".to_owned()
        };
        plan.keep.push(t.choice(reason));
    }
    plan.planned_bytes = used;
    plan
}

/// What the daemon added and what it is letting go: `<data-dir>/policy.json`. Only torrents
/// listed here are ever deleted by the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub torrents: Vec<Added>,
}

/// A torrent the policy added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    /// The ledger's torrent id, hex.
    pub torrent: String,
    pub id: u32,
    pub name: String,
    /// The `.torrent` file's name in `torrents/`.
    pub file: String,
    /// The torrent's own name: its data is `content/<content>`.
    pub content: String,
    /// `content/<name>` existed before the policy added the torrent: it is not the policy's to
    /// delete.
    pub content_existed: bool,
    pub added_epoch: u64,
    /// Set once the plan evicted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaving: Option<Leaving>,
}

/// An evicted torrent is still claimed by the reports already logged (the one in force, and
/// perhaps the next epoch's), and deleting it would fail their audits: the node stops claiming it
/// and deletes it from the first epoch that no report of its claims it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaving {
    pub reason: String,
    /// The first epoch free of claims; `None` until a report that leaves it out is logged.
    pub free_from: Option<u64>,
}

impl Record {
    pub fn load(path: &std::path::Path) -> std::io::Result<Record> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes durably (write, fsync, rename, directory fsync): a crash must not forget what the
    /// policy added, or it would never be evicted, nor list what it did not, or it could be deleted.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        {
            let mut file = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut file, &bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    pub fn get(&self, torrent: &str) -> Option<&Added> {
        self.torrents.iter().find(|a| a.torrent == torrent)
    }

    pub fn is_leaving(&self, torrent: &str) -> bool {
        self.get(torrent).is_some_and(|a| a.leaving.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use token::Amount;

    const WAD_U: u128 = 1_000_000_000_000_000_000;
    const MB: u64 = 1_000_000;

    fn market(entries: Vec<MarketEntry>) -> Market {
        Market {
            closed_epoch: Some(7),
            // One token per 10^12 weighted bytes.
            minted: Amount(1000 * WAD_U),
            weighted_bytes: Amount(1_000_000_000_000_000),
            torrents: entries,
        }
    }

    /// A torrent at target with no pool and no demand: its value is its weight alone.
    fn entry(id: u32, name: &str, size: u64, weight: f64) -> MarketEntry {
        MarketEntry {
            id,
            name: name.to_owned(),
            category: "general".to_owned(),
            size,
            torrent: format!("{id:064x}"),
            weight_wad: Amount((weight * 1e18) as u128),
            price_per_byte: Amount(0),
            replicas_milli: 0,
            target_replicas: 3,
            saturation_wad: Amount(0),
            pool: Amount(0),
            pool_per_epoch: Amount(0),
        }
    }

    fn holding(e: &MarketEntry, by_policy: bool) -> CurrentHolding {
        CurrentHolding {
            torrent: e.torrent.clone(),
            v1: None,
            name: e.name.clone(),
            size: e.size,
            by_policy,
        }
    }

    fn names(choices: &[Choice]) -> Vec<&str> {
        choices.iter().map(|c| c.name.as_str()).collect()
    }

    fn pins(pinned: &[&str]) -> Interests {
        Interests {
            pinned: pinned.iter().map(|s| s.to_string()).collect(),
            ..Interests::default()
        }
    }

    #[test]
    fn the_value_follows_the_documented_formula() {
        let mut e = entry(1, "x", 2 << 30, 1.5);
        e.replicas_milli = 4000;
        e.target_replicas = 3;
        e.pool = Amount(100 * WAD_U);
        e.pool_per_epoch = Amount(10 * WAD_U);
        e.price_per_byte = Amount(931_322_574); // 1 token/GiB
        e.saturation_wad = Amount(2 * WAD_U);
        let m = market(vec![e.clone()]);
        let v = value(&m, &e);
        let rate = 1e-12; // tokens per weighted byte
        let share = 3.0 / 5.0;
        let hosting = rate * 1.5 * share * GIB;
        let pool = 10.0 / (5.0 * 2.0 * GIB) * GIB;
        let demand = 931_322_574e-18 * 2.0 * DEMAND_SHARE / 5.0 * GIB;
        assert!((v.share - share).abs() < 1e-12);
        assert!((v.hosting - hosting).abs() < 1e-12 * hosting);
        assert!((v.pool - pool).abs() < 1e-12);
        assert!((v.demand - demand).abs() < 1e-9 * demand);
        assert!((v.per_gib - (hosting + pool + demand)).abs() < 1e-9);

        // Below target: a full share.
        e.replicas_milli = 1500;
        assert_eq!(value(&m, &e).share, 1.0);
        // The pool pays out at most what it holds.
        e.pool = Amount(WAD_U);
        assert!((value(&m, &e).pool - 1.0 / 2.5 / 2.0).abs() < 1e-12);
        // No rate measured yet: relative, weight × share.
        let rel = Market {
            weighted_bytes: Amount(0),
            ..m
        };
        let v = value(&rel, &e);
        assert_eq!(v.per_gib, 1.5);
        assert!(plan(&rel, &Interests::default(), 1 << 40, &[]).relative);
    }

    /// The issue's first scenario: a small budget, no interests: the best pay per byte is taken.
    #[test]
    fn a_small_budget_without_interests_takes_the_best_pay_per_byte() {
        let m = market(vec![
            entry(1, "big-rich", 800 * MB, 2.0), // best per byte, too big after the next
            entry(2, "small-rich", 300 * MB, 3.0), // the best per byte
            entry(3, "mid", 400 * MB, 1.0),
            entry(4, "small-poor", 200 * MB, 0.5),
            entry(5, "tiny-poor", 100 * MB, 0.25),
        ]);
        let p = plan(&m, &Interests::default(), 950 * MB, &[]);
        // 300 (3.0) + 800 does not fit, 400 (1.0) + 200 (0.5) = 900, then 100 does not fit.
        assert_eq!(names(&p.add), ["small-rich", "mid", "small-poor"]);
        assert_eq!(p.planned_bytes, 900 * MB);
        assert!(p.keep.is_empty() && p.evict.is_empty());
        let skipped: Vec<&str> = p.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(skipped, ["big-rich", "tiny-poor"]);
        assert!(
            p.skipped[0].1.starts_with("does not fit"),
            "{:?}",
            p.skipped
        );
        assert!(
            p.add[0].reason.starts_with("best pay per byte: ")
                && p.add[0].reason.ends_with("tokens/GiB/epoch"),
            "{}",
            p.add[0].reason
        );
        // Per byte, not per torrent: a torrent paying more in total but less per byte loses.
        let m = market(vec![
            entry(1, "whole", 1000 * MB, 1.0),
            entry(2, "dense", 500 * MB, 1.5),
        ]);
        assert_eq!(
            names(&plan(&m, &Interests::default(), 1000 * MB, &[]).add),
            ["dense"]
        );
    }

    /// The issue's second scenario: a pinned torrent is kept even when it pays nothing.
    #[test]
    fn a_pinned_torrent_is_kept_even_when_it_pays_nothing() {
        let free = entry(1, "linux-iso", 400 * MB, 0.0);
        let rich = entry(2, "rich", 800 * MB, 4.0);
        let m = market(vec![free.clone(), rich.clone()]);
        assert!(!value(&m, &free).pays());

        // Not yet held: pinned is added first, the rich one no longer fits.
        let p = plan(&m, &pins(&["linux-iso"]), 1000 * MB, &[]);
        assert_eq!(names(&p.add), ["linux-iso"]);
        assert_eq!(p.add[0].reason, "pinned");
        assert_eq!(p.skipped[0].0, "rich");

        // Held by the policy: kept, never evicted, whatever pays better.
        let p = plan(
            &m,
            &pins(&["linux-iso"]),
            1000 * MB,
            &[holding(&free, true)],
        );
        assert_eq!(names(&p.keep), ["linux-iso"]);
        assert!(p.evict.is_empty() && p.add.is_empty());

        // Without the pin, the same holding pays nothing and makes way.
        let p = plan(
            &m,
            &Interests::default(),
            1000 * MB,
            &[holding(&free, true)],
        );
        assert_eq!(names(&p.evict), ["linux-iso"]);
        assert_eq!(names(&p.add), ["rich"]);
        assert!(
            p.evict[0].reason.contains("pays nothing"),
            "{}",
            p.evict[0].reason
        );
    }

    #[test]
    fn pins_by_hash_categories_and_patterns_in_a_stable_order() {
        let mut a = entry(1, "Doom II", 100 * MB, 0.5);
        a.category = "games".to_owned();
        let mut b = entry(2, "quake", 100 * MB, 2.0);
        b.category = "Games".to_owned();
        let c = entry(3, "DOOM 64", 100 * MB, 1.0);
        let d = entry(4, "other", 100 * MB, 9.0);
        // A v1-only torrent: the ledger id is the v1 hash padded with zeros.
        let mut e = entry(5, "v1-only", 100 * MB, 0.0);
        e.torrent = format!("{}{}", "ab".repeat(20), "0".repeat(24));
        let m = market(vec![a, b, c, d, e]);
        let interests = Interests {
            pinned: vec!["AB".repeat(20), format!("{:064x}", 4), "missing".to_owned()],
            categories: vec!["GAMES".to_owned()],
            patterns: vec!["doom*".to_owned()],
        };
        let p = plan_with(
            &m,
            &interests,
            1000 * MB,
            &[],
            &Options {
                fill: false,
                ..Options::default()
            },
        );
        // Pins in their order, then the category (best paying first), then the pattern.
        assert_eq!(
            names(&p.add),
            ["v1-only", "other", "quake", "Doom II", "DOOM 64"]
        );
        let reasons: Vec<&str> = p.add.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "pinned",
                "pinned",
                "category GAMES",
                "category GAMES",
                "pattern doom*"
            ]
        );
        assert_eq!(
            p.skipped,
            vec![(
                "missing".to_owned(),
                "pinned, but neither in the hub's market nor held here".to_owned()
            )]
        );

        // Interests beyond the budget: taken in that order, the rest reported.
        let p = plan(&m, &interests, 250 * MB, &[]);
        assert_eq!(names(&p.add), ["v1-only", "other"]);
        assert!(p.planned_bytes <= 250 * MB);
        let skipped: Vec<&str> = p.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(skipped, ["quake", "Doom II", "DOOM 64", "missing"]);
        assert!(
            p.skipped[0]
                .1
                .starts_with("category GAMES, but does not fit")
        );
    }

    #[test]
    fn glob_patterns() {
        assert!(glob_matches("doom*", "DOOM II"));
        assert!(glob_matches("*.iso", "debian-12.iso"));
        assert!(glob_matches("*de*an*", "debian"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXXbYYbc"));
        assert!(!glob_matches("doom*", "the doom"));
        assert!(!glob_matches("a*b", "aXXbY"));
        assert!(!glob_matches("", "x"));
        assert!(glob_matches("ÜBER*", "über alles"));
    }

    #[test]
    fn hand_added_torrents_are_never_evicted_and_count_against_the_budget() {
        let mine = entry(1, "mine", 600 * MB, 0.0);
        let rich = entry(2, "rich", 500 * MB, 5.0);
        let m = market(vec![mine.clone(), rich]);
        let p = plan(
            &m,
            &Interests::default(),
            1000 * MB,
            &[holding(&mine, false)],
        );
        assert_eq!(names(&p.keep), ["mine"]);
        assert!(p.keep[0].reason.starts_with("added by hand"));
        assert!(p.add.is_empty() && p.evict.is_empty());
        // Hand-added data over the budget: kept all the same, nothing added.
        let p = plan(
            &m,
            &Interests::default(),
            100 * MB,
            &[holding(&mine, false)],
        );
        assert_eq!(names(&p.keep), ["mine"]);
        assert!(p.add.is_empty() && p.evict.is_empty());
        assert_eq!(p.planned_bytes, 600 * MB);
        // A hand-added torrent the market does not list is kept too.
        let unknown = CurrentHolding {
            torrent: "ff".repeat(32),
            v1: None,
            name: "home videos".to_owned(),
            size: 10 * MB,
            by_policy: false,
        };
        let p = plan(&m, &Interests::default(), 1000 * MB, &[unknown]);
        assert_eq!(names(&p.keep), ["home videos"]);
        assert_eq!(names(&p.add), ["rich"]);
    }

    #[test]
    fn the_least_valuable_is_evicted_first_when_something_better_does_not_fit() {
        let low = entry(1, "low", 300 * MB, 1.0);
        let lower = entry(2, "lower", 300 * MB, 0.5);
        let good = entry(3, "good", 300 * MB, 2.0);
        let best = entry(4, "best", 500 * MB, 4.0);
        let m = market(vec![low.clone(), lower.clone(), good.clone(), best]);
        let held = [
            holding(&low, true),
            holding(&lower, true),
            holding(&good, true),
        ];
        let p = plan(&m, &Interests::default(), 1000 * MB, &held);
        // 100 MB free; "best" needs 500: "lower" goes first, then "low"; "good" stays.
        assert_eq!(names(&p.evict), ["lower", "low"]);
        assert_eq!(names(&p.add), ["best"]);
        assert_eq!(names(&p.keep), ["good"]);
        assert_eq!(p.evict[0].reason, "evicted: worth 8.0x less than best");
        assert_eq!(p.evict[1].reason, "evicted: worth 4.0x less than best");
        assert_eq!(p.planned_bytes, 800 * MB);
    }

    #[test]
    fn hysteresis_swaps_only_for_a_clear_gain() {
        let held = entry(1, "held", 600 * MB, 1.0);
        let slightly = entry(2, "slightly-better", 600 * MB, 1.05);
        let m = market(vec![held.clone(), slightly.clone()]);
        let p = plan(
            &m,
            &Interests::default(),
            1000 * MB,
            &[holding(&held, true)],
        );
        assert_eq!(names(&p.keep), ["held"]);
        assert!(p.add.is_empty() && p.evict.is_empty());
        assert_eq!(p.skipped[0].0, "slightly-better");

        // 15 % better clears the 10 % margin.
        let clearly = entry(2, "clearly-better", 600 * MB, 1.15);
        let m = market(vec![held.clone(), clearly]);
        let p = plan(
            &m,
            &Interests::default(),
            1000 * MB,
            &[holding(&held, true)],
        );
        assert_eq!(names(&p.evict), ["held"]);
        assert_eq!(names(&p.add), ["clearly-better"]);

        // Without a holding the better one is simply taken: the margin only guards swaps.
        let p = plan(&m, &Interests::default(), 1000 * MB, &[]);
        assert_eq!(names(&p.add), ["clearly-better"]);

        // A swap happens only if all it evicts are beaten: 1.15 beats 1.0 but not 1.1.
        let a = entry(3, "a", 300 * MB, 1.0);
        let b = entry(4, "b", 300 * MB, 1.1);
        let c = entry(5, "c", 700 * MB, 1.15);
        let m = market(vec![a.clone(), b.clone(), c]);
        let p = plan(
            &m,
            &Interests::default(),
            700 * MB,
            &[holding(&a, true), holding(&b, true)],
        );
        assert!(p.evict.is_empty() && p.add.is_empty());
        assert_eq!(names(&p.keep), ["b", "a"]);
    }

    #[test]
    fn new_interests_displace_the_policys_paid_holdings() {
        let paid = entry(1, "paid", 700 * MB, 3.0);
        let wanted = entry(2, "wanted", 500 * MB, 0.0);
        let m = market(vec![paid.clone(), wanted]);
        let p = plan(&m, &pins(&["wanted"]), 1000 * MB, &[holding(&paid, true)]);
        assert_eq!(names(&p.add), ["wanted"]);
        assert_eq!(names(&p.evict), ["paid"]);
        assert_eq!(p.evict[0].reason, "evicted: room for wanted");
        // A smaller budget than what the policy holds: the least valuable goes.
        let cheap = entry(3, "cheap", 200 * MB, 0.1);
        let m = market(vec![paid.clone(), cheap.clone()]);
        let p = plan(
            &m,
            &Interests::default(),
            800 * MB,
            &[holding(&paid, true), holding(&cheap, true)],
        );
        assert_eq!(names(&p.evict), ["cheap"]);
        assert_eq!(p.evict[0].reason, "evicted: over the disk budget");
        assert_eq!(p.planned_bytes, 700 * MB);
    }

    /// A small xorshift: varied inputs without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_case(rng: &mut Rng) -> (Market, Interests, u64, Vec<CurrentHolding>) {
        let n = 1 + rng.below(30) as u32;
        let entries: Vec<MarketEntry> = (0..n)
            .map(|id| {
                let mut e = entry(
                    id,
                    &format!("t{id}"),
                    1 + rng.below(500) * MB,
                    rng.below(5) as f64 * 0.5,
                );
                e.replicas_milli = rng.below(6000);
                e.pool_per_epoch = Amount(u128::from(rng.below(3)) * WAD_U);
                e.pool = Amount(u128::from(rng.below(3)) * WAD_U);
                e.category = ["a", "b", "c"][rng.below(3) as usize].to_owned();
                e
            })
            .collect();
        let mut current = Vec::new();
        for e in &entries {
            if rng.below(4) == 0 {
                current.push(holding(e, true));
            }
        }
        let interests = Interests {
            pinned: (0..rng.below(3))
                .map(|_| format!("t{}", rng.below(u64::from(n))))
                .collect(),
            categories: if rng.below(4) == 0 {
                vec!["a".to_owned()]
            } else {
                vec![]
            },
            patterns: if rng.below(4) == 0 {
                vec!["t1*".to_owned()]
            } else {
                vec![]
            },
        };
        (market(entries), interests, rng.below(3000) * MB, current)
    }

    #[test]
    fn the_budget_is_never_exceeded_beyond_what_may_not_be_evicted() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let (m, interests, budget, current) = random_case(&mut rng);
            let p = plan(&m, &interests, budget, &current);
            let kept: u64 = p.keep.iter().map(|c| c.size).sum();
            let added: u64 = p.add.iter().map(|c| c.size).sum();
            assert_eq!(kept + added, p.planned_bytes);
            // Held interests are the only thing kept over the budget here (nothing is by hand).
            let protected: u64 = p
                .keep
                .iter()
                .filter(|c| !c.reason.starts_with("pays"))
                .map(|c| c.size)
                .sum();
            assert!(
                p.planned_bytes <= budget.max(protected),
                "{} > {budget}: {p:#?}",
                p.planned_bytes
            );
            // Every holding is kept or evicted, exactly once; nothing is added that is held.
            for h in &current {
                let k = p.keep.iter().filter(|c| c.torrent == h.torrent).count();
                let e = p.evict.iter().filter(|c| c.torrent == h.torrent).count();
                assert_eq!(k + e, 1, "{h:?}");
                assert!(!p.add.iter().any(|c| c.torrent == h.torrent));
            }
            // Held interests are never evicted.
            for c in &p.evict {
                assert!(!interests.pinned.contains(&c.name), "{c:?}");
            }
        }
    }

    #[test]
    fn the_same_input_gives_the_same_plan_whatever_the_order() {
        let mut rng = Rng(42);
        for _ in 0..300 {
            let (m, interests, budget, current) = random_case(&mut rng);
            let first = plan(&m, &interests, budget, &current);
            assert_eq!(first, plan(&m, &interests, budget, &current));
            let mut shuffled = m.clone();
            shuffled.torrents.reverse();
            let mut held = current.clone();
            held.reverse();
            assert_eq!(first, plan(&shuffled, &interests, budget, &held));
        }
    }

    #[test]
    fn the_record_round_trips_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        assert_eq!(Record::load(&path).unwrap(), Record::default());
        let record = Record {
            torrents: vec![Added {
                torrent: "ab".repeat(32),
                id: 3,
                name: "x".to_owned(),
                file: "x.torrent".to_owned(),
                content: "x".to_owned(),
                content_existed: false,
                added_epoch: 9,
                leaving: Some(Leaving {
                    reason: "evicted: over the disk budget".to_owned(),
                    free_from: None,
                }),
            }],
        };
        record.save(&path).unwrap();
        assert_eq!(Record::load(&path).unwrap(), record);
        assert!(record.is_leaving(&"ab".repeat(32)));
        std::fs::write(&path, b"{").unwrap();
        assert!(Record::load(&path).is_err());
    }
}
