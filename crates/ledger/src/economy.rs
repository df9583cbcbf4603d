//! The ledger's side of the epoch economy: the one entry that closes an epoch (`EpochClose`), the
//! sponsored hosting pools, vesting grants, and every account's cumulative earnings with their
//! Merkle root. The formulas are the `economics` crate's; the rules and their order are in
//! `docs/economics.md` ("Closing an epoch").
//!
//! What the hub observes and the ledger cannot (so the entry carries it, and anyone can compare it
//! with the hub's public data): each torrent's download demand and upload capacity for the next 15
//! minutes, the per-torrent bytes of each report the first time a close counts it (the hub keeps
//! the full reports by the hash the ledger holds; the ledger checks that they add up to the signed
//! claim, and keeps them in `Economy::holdings` for later closes), the
//! round-trip times its auditor measured, and where that auditor measures from. Everything else is
//! derived here, deterministically, from the state.
//!
//! Invariants:
//! - conservation: every token minted by a close is paid out or kept in `reward_carry`; every token
//!   a close pays from a pool or the stakers' pool leaves that pool; the supply identity
//!   (`Supply::held`) holds after every entry;
//! - an account's `vesting` equals the unreleased part of its grants (`State::recount` checks);
//! - epochs close in order, each once, only after they ended; a close either applies whole or
//!   changes nothing (all fallible arithmetic runs before the first write).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use economics::EconError;
use economics::fixed::WAD;
use economics::geo::{GeoVerdict, Location};
use economics::params::{EconomyParams, Route};
use economics::{inflation, market, rewards, stakers, vesting};
use serde::{Deserialize, Serialize};
use token::{Address, Amount, Sponsor};

use crate::hosting::Host;
use crate::state::{Effects, State};
use crate::tx::{MarketObservation, TxError};
use crate::walk::{Walk, merged, update_each};

/// Most epochs a sponsorship may be spread over (10 years of hourly epochs).
pub const MAX_SPONSOR_EPOCHS: u64 = 87_600;

/// Most sponsorships one torrent's pool may hold at once (each close walks them).
pub const MAX_POOL_SPONSORSHIPS: usize = 256;

/// The economy's state: what epoch closes carry from one to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Economy {
    /// The last epoch closed; the next close must be for a later, ended epoch.
    pub last_closed: Option<u64>,
    /// Minted for hosting but not paid (the rounding of the split); paid with the next close.
    pub reward_carry: Amount,
    /// The minimum stake to join under the dynamic gate (`Route::DynamicGate`); `None` is the
    /// genesis minimum.
    pub min_stake: Option<Amount>,
    /// Per registered torrent: weight and market figures.
    #[serde(with = "pairs")]
    pub markets: BTreeMap<[u8; 32], Market>,
    /// Per torrent: the sponsorships still paying out, in deposit order.
    #[serde(with = "pairs")]
    pub pools: BTreeMap<[u8; 32], Vec<Sponsorship>>,
    /// Per account: rewards still vesting, one grant per UTC day, oldest first.
    #[serde(with = "pairs")]
    pub grants: BTreeMap<Address, Vec<Grant>>,
    /// Per account: everything ever paid to it by closes (hosting rewards, vested or not, sponsored
    /// pools, staker fees): the leaves of the distributor's Merkle tree.
    #[serde(with = "pairs")]
    pub earned: BTreeMap<Address, Amount>,
    /// Per node: its latest epoch's audit tally, from `AuditResults`, used by that epoch's close.
    #[serde(with = "pairs")]
    pub tallies: BTreeMap<Address, Tally>,
    /// Per node: the per-torrent bytes of the latest of its reports that a close described. A
    /// close's `hosted` describes each report once, at a close it is in force for; later closes
    /// use this record, so the log does not repeat every replica every epoch.
    #[serde(with = "pairs")]
    pub holdings: BTreeMap<Address, Holdings>,
    /// Root of the OpenZeppelin `StandardMerkleTree` over `earned` at the last close.
    #[serde(with = "token::hexser::hex32")]
    pub earnings_root: [u8; 32],
    /// What the last close did, for the API and the demo's report.
    pub last: Option<CloseSummary>,
    /// The chain's book, exactly when the collective settles on an EVM chain (`crate::chain`);
    /// absent from an embedded economy's JSON, so its state roots are what they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<crate::chain::ChainBook>,
}

/// A torrent's market, as the last close left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Market {
    /// Hosting weight in force (WAD: 10^18 is 1.0).
    pub weight_wad: u128,
    /// Saturation measured at the last close (WAD).
    pub saturation_wad: u128,
    /// Verified replicas at the last close, in thousandths.
    pub replicas_milli: u64,
    /// The price the torrent was registered at; the floor is a share of it.
    pub base_price: Amount,
    pub demand_bytes: u64,
    pub capacity_bytes: u64,
}

impl Market {
    pub fn new(price: Amount) -> Market {
        Market {
            weight_wad: WAD,
            saturation_wad: WAD,
            replicas_milli: 0,
            base_price: price,
            demand_bytes: 0,
            capacity_bytes: 0,
        }
    }
}

/// One deposit into a torrent's hosting pool: `left` still to pay, at most `per_epoch` per close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sponsorship {
    pub sponsor: Address,
    pub left: Amount,
    pub per_epoch: Amount,
}

/// Rewards granted on one UTC day, vesting linearly from `start` (the next midnight) over the
/// genesis' vesting days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub start: u64,
    pub amount: Amount,
    pub released: Amount,
}

/// What one report holds, torrent by torrent (ascending, each once, bytes above 0); the bytes
/// add up to the report's `claimed_bytes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// The epoch the described report was made for (its key with the node).
    pub report_epoch: u64,
    pub torrents: Vec<TorrentBytes>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentBytes {
    #[serde(with = "token::hexser::hex32")]
    pub torrent: [u8; 32],
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub epoch: u64,
    pub passes: u32,
    pub total: u32,
}

/// What one close did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseSummary {
    pub epoch: u64,
    pub time: u64,
    /// Inflation minted by this close (0 when no replica was verified: nothing to pay for).
    pub minted: Amount,
    pub hosting_paid: Amount,
    pub sponsored_paid: Amount,
    pub fees_paid: Amount,
    /// Vesting released to balances by this close.
    pub released: Amount,
    /// Σ of every replica's score (verified bytes × weight × geo), the denominator of the split.
    pub weighted_bytes: u128,
    pub hosts: Vec<HostOutcome>,
    pub stakers: Vec<StakerShare>,
    /// Per torrent: price and weight before and after, replicas and saturation.
    pub torrents: Vec<TorrentOutcome>,
    /// The minimum stake to join after this close.
    pub min_stake: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOutcome {
    pub node: Address,
    pub verified_bytes: u64,
    pub score: u128,
    /// From inflation.
    pub reward: Amount,
    /// From sponsored pools.
    pub sponsored: Amount,
    /// Of `reward + sponsored`: liquid now, and granted to vest.
    pub liquid: Amount,
    pub vesting: Amount,
    /// Why the node earned nothing from hosting, if so (the ledger's own reasons are fixed texts:
    /// a close of most nodes copies none).
    pub excluded: Option<Cow<'static, str>>,
    pub replicas: Vec<ReplicaOutcome>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaOutcome {
    #[serde(with = "token::hexser::hex32")]
    pub torrent: [u8; 32],
    pub claimed_bytes: u64,
    pub verified_bytes: u64,
    pub geo: GeoVerdict,
    pub geo_bps: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakerShare {
    pub account: Address,
    pub weight: u128,
    pub paid: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentOutcome {
    #[serde(with = "token::hexser::hex32")]
    pub torrent: [u8; 32],
    pub price_before: Amount,
    pub price_after: Amount,
    pub weight_before: u128,
    pub weight_after: u128,
    pub replicas_milli: u64,
    pub saturation_wad: u128,
    pub pool_paid: Amount,
}

/// Serialises a map as a list of `[key, value]` pairs: JSON objects only take string keys.
pub(crate) mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

fn econ(e: EconError) -> TxError {
    match e {
        EconError::Overflow => TxError::Overflow,
        other => TxError::BadClose(other.to_string()),
    }
}

fn add(a: Amount, b: u128) -> Result<Amount, TxError> {
    a.0.checked_add(b).map(Amount).ok_or(TxError::Overflow)
}

/// When a reward earned at `t` starts vesting: the next UTC midnight. Grants of one day then
/// vest as one (one grant per account and day, however short the epochs), and none vests early.
fn vesting_start(t: u64) -> u64 {
    (t - t % 86_400).saturating_add(86_400)
}

impl Economy {
    /// The unreleased part of `account`'s grants.
    pub fn unvested(&self, account: &Address) -> u128 {
        self.grants
            .get(account)
            .map_or(0, |gs| gs.iter().map(|g| g.amount.0 - g.released.0).sum())
    }

    /// Takes `amount` of `account`'s unreleased grants, newest first (a penalty burns what would
    /// have vested last). The caller has checked that the account's vesting covers it.
    pub(crate) fn take_vesting(&mut self, account: &Address, mut amount: u128) {
        if amount == 0 {
            return;
        }
        let grants = self.grants.entry(*account).or_default();
        for g in grants.iter_mut().rev() {
            let unreleased = g.amount.0 - g.released.0;
            let take = unreleased.min(amount);
            g.amount = Amount(g.amount.0 - take);
            amount -= take;
            if amount == 0 {
                break;
            }
        }
        assert_eq!(amount, 0, "vesting equals the unreleased grants");
        grants.retain(|g| g.amount != g.released);
        if grants.is_empty() {
            self.grants.remove(account);
        }
    }
}

/// Adds a grant of `amount` made at `now` to an account's grants: to the last one if it starts
/// vesting at the same time (one grant per account and day), else as a new one.
fn add_grant(grants: &mut Vec<Grant>, amount: u128, now: u64) {
    if amount == 0 {
        return;
    }
    let start = vesting_start(now);
    match grants.last_mut() {
        Some(g) if g.start == start => g.amount = Amount(g.amount.0 + amount),
        _ => grants.push(Grant {
            start,
            amount: Amount(amount),
            released: Amount::ZERO,
        }),
    }
}

/// Everything a close will write, computed before the first write.
struct Plan {
    minted: u128,
    reward_carry: Amount,
    /// Per account, ascending and each once: (liquid to balance, to vest, released from vesting,
    /// earned).
    credits: Vec<(Address, Credit)>,
    pools: BTreeMap<[u8; 32], Vec<Sponsorship>>,
    stakers_pool_left: Amount,
    prices: BTreeMap<[u8; 32], Amount>,
    markets: BTreeMap<[u8; 32], Market>,
    min_stake: Option<Amount>,
    /// Reports this close describes, to keep on record.
    described: BTreeMap<Address, Holdings>,
    summary: CloseSummary,
}

#[derive(Clone, Copy, Debug, Default)]
struct Credit {
    liquid: u128,
    vest: u128,
    released: u128,
    earned: u128,
}

impl Credit {
    /// Both credits to one account. Each part is at most what the close pays or releases, which
    /// the supply bounds, so the sums fit.
    fn and(self, o: Credit) -> Credit {
        Credit {
            liquid: self.liquid + o.liquid,
            vest: self.vest + o.vest,
            released: self.released + o.released,
            earned: self.earned + o.earned,
        }
    }
}

/// Lists of credits, each ascending by account and each account once, as one such list (an
/// account in several gets them all).
fn merge_credits(lists: Vec<Vec<(Address, Credit)>>) -> Vec<(Address, Credit)> {
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    let mut lists: Vec<_> = lists
        .into_iter()
        .map(|l| l.into_iter().peekable())
        .collect();
    loop {
        let next = lists
            .iter_mut()
            .filter_map(|l| l.peek().map(|(account, _)| *account))
            .min();
        let Some(account) = next else {
            return out;
        };
        let mut credit = Credit::default();
        for list in &mut lists {
            if let Some((_, c)) = list.next_if(|(a, _)| *a == account) {
                credit = credit.and(c);
            }
        }
        out.push((account, credit));
    }
}

/// The torrents a close counts replicas of, by position: the registered ones in id order (as
/// `State::torrents` holds them), then any other a holding names (none should: `check_close`
/// refuses unregistered torrents, and none is ever removed). The per-replica lookup of a position
/// is the close's hottest step, so it avoids hashing: torrent ids are hashes, so their leading
/// bits spread them evenly over buckets, a table of where each bucket starts narrows a lookup to
/// about one id, and a binary search within the bucket bounds the worst case.
#[derive(Clone)]
struct Torrents {
    /// Per position: the id and the figures each verified replica reads and adds to.
    list: Vec<TorrentFigures>,
    /// How many of `list` are registered (the first).
    registered: usize,
    /// Where each bucket of `bucket_bits` leading bits starts among the registered, then their
    /// count.
    starts: Vec<u32>,
    bucket_bits: u32,
    /// Positions of the others (only looked up, never walked: the close stays deterministic).
    others: HashMap<[u8; 32], usize>,
    /// Per position: whether it has a sponsored pool, the one step that pays per replica.
    pooled: Vec<bool>,
    /// Per position: (index in the hosts, verified bytes) of each verified replica, in node order;
    /// kept only for a pooled torrent.
    holders: Vec<Vec<(usize, u64)>>,
    /// Per position: (node, declared location) of each verified replica of a located node, in
    /// node order; kept only when the close names where its auditor is (only then can a node be
    /// measured), else empty.
    located: Vec<Vec<(Address, Location)>>,
    with_locations: bool,
}

/// Fewest accounts for which a close works out steps 6 and 7 on a thread of their own.
const SIDE_THREAD_ACCOUNTS: usize = 1024;

/// What the close's first pass gathers from a run of nodes (see `State::gather`).
struct Gathered {
    hosts: Vec<HostOutcome>,
    /// The measured hosts: (index in `hosts`, declared location, round trip).
    measured: Vec<(usize, Location, u64)>,
    torrents: Torrents,
}

/// One torrent's id and figures, in one cache line: a replica's lookup and count touch only it.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct TorrentFigures {
    id: [u8; 32],
    /// The hosting weight in force during the epoch (WAD).
    weight: u128,
    /// Σ verified bytes of its replicas: a sum of u64s, one per replica, far below u128::MAX.
    verified: u128,
}

impl Torrents {
    fn new(state: &State, with_locations: bool) -> Self {
        let n = state.torrents.len();
        assert!(u32::try_from(n).is_ok(), "fewer than 2^32 torrents");
        // About one id per bucket: at least 1 bit (so the shift below stays under 64), at most
        // 2^20 buckets.
        let bucket_bits = n.next_power_of_two().trailing_zeros().clamp(1, 20);
        let mut starts = Vec::with_capacity((1 << bucket_bits) + 1);
        let mut markets = Walk::new(&state.economy.markets, n);
        let mut pools = Walk::new(&state.economy.pools, n);
        let mut list = Vec::with_capacity(n);
        let mut pooled = Vec::with_capacity(n);
        for (i, id) in state.torrents.keys().enumerate() {
            // Ids ascend, so buckets do: every bucket up to this id's starts at or before it.
            while starts.len() <= Self::bucket(bucket_bits, id) {
                starts.push(i as u32);
            }
            list.push(TorrentFigures {
                id: *id,
                weight: markets.at(id).map_or(WAD, |m| m.weight_wad),
                verified: 0,
            });
            pooled.push(pools.at(id).is_some());
        }
        starts.resize((1 << bucket_bits) + 1, n as u32);
        Torrents {
            list,
            registered: n,
            starts,
            bucket_bits,
            others: HashMap::new(),
            pooled,
            holders: (0..n).map(|_| Vec::new()).collect(),
            located: (0..n).map(|_| Vec::new()).collect(),
            with_locations,
        }
    }

    /// Adds what `later` counted over the hosts after this one's (their indices shifted by
    /// `host_offset`; both started from the same registered torrents): the sums add up, and the
    /// lists stay in node order.
    fn absorb(&mut self, later: Torrents, host_offset: usize) {
        let Torrents {
            list,
            pooled,
            holders,
            located,
            ..
        } = later;
        let each = list.into_iter().zip(pooled).zip(holders).zip(located);
        for (at, (((figures, pooled), holders), located)) in each.enumerate() {
            let to = if at < self.registered {
                at
            } else {
                match self.others.get(&figures.id) {
                    Some(to) => *to,
                    None => {
                        let to = self.list.len();
                        self.others.insert(figures.id, to);
                        self.list.push(TorrentFigures {
                            verified: 0,
                            ..figures
                        });
                        self.pooled.push(pooled);
                        self.holders.push(Vec::new());
                        self.located.push(Vec::new());
                        to
                    }
                }
            };
            self.list[to].verified += figures.verified;
            let shifted = holders.into_iter().map(|(h, v)| (h + host_offset, v));
            self.holders[to].extend(shifted);
            self.located[to].extend(located);
        }
    }

    fn bucket(bits: u32, id: &[u8; 32]) -> usize {
        let [a, b, c, d, e, f, g, h, ..] = *id;
        (u64::from_be_bytes([a, b, c, d, e, f, g, h]) >> (64 - bits)) as usize
    }

    /// The position of `torrent`, if a close counted it.
    fn find(&self, torrent: &[u8; 32]) -> Option<usize> {
        let b = Self::bucket(self.bucket_bits, torrent);
        let (from, to) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        // The ids' byte order, compared as big-endian words (a memcmp call costs more than the
        // comparison).
        let words = crate::state::id_words;
        let key = words(torrent);
        match self.list[from..to].binary_search_by(|t| words(&t.id).cmp(&key)) {
            Ok(i) => Some(from + i),
            Err(_) => self.others.get(torrent).copied(),
        }
    }

    /// Counts a verified replica of `torrent` held by `node`, the host at index `host` (hosts come
    /// in node order), declared at `location`; returns the torrent's position.
    fn add(
        &mut self,
        economy: &Economy,
        torrent: &[u8; 32],
        host: usize,
        node: Address,
        verified: u64,
        location: Option<Location>,
    ) -> usize {
        let at = match self.find(torrent) {
            Some(at) => at,
            None => {
                let at = self.list.len();
                self.others.insert(*torrent, at);
                self.list.push(TorrentFigures {
                    id: *torrent,
                    weight: economy.markets.get(torrent).map_or(WAD, |m| m.weight_wad),
                    verified: 0,
                });
                self.pooled.push(economy.pools.contains_key(torrent));
                self.holders.push(Vec::new());
                self.located.push(Vec::new());
                at
            }
        };
        self.list[at].verified += u128::from(verified);
        if self.pooled[at] {
            self.holders[at].push((host, verified));
        }
        if let Some(l) = location.filter(|_| self.with_locations) {
            self.located[at].push((node, l));
        }
        at
    }
}

impl State {
    pub fn economy(&self) -> &Economy {
        &self.economy
    }

    /// The stake an account needs to join now (the dynamic gate moves it; see `Route`).
    pub fn join_stake(&self) -> Amount {
        self.economy
            .min_stake
            .unwrap_or_else(|| self.params().min_stake)
    }

    /// A torrent's market figures (defaults for one registered before any close).
    pub fn market(&self, torrent: &[u8; 32]) -> Option<Market> {
        let terms = self.torrents.get(torrent)?;
        Some(
            self.economy
                .markets
                .get(torrent)
                .copied()
                .unwrap_or_else(|| Market::new(terms.price_per_byte)),
        )
    }

    /// Whether a close described `node`'s report for `report_epoch` already (the hub then leaves
    /// it out of the next close's `hosted`).
    pub fn is_described(&self, node: &Address, report_epoch: u64) -> bool {
        self.economy
            .holdings
            .get(node)
            .is_some_and(|h| h.report_epoch == report_epoch)
    }

    /// Tokens a torrent's pool holds, and what it pays per close.
    pub fn pool(&self, torrent: &[u8; 32]) -> (Amount, Amount) {
        self.economy
            .pools
            .get(torrent)
            .map_or((Amount::ZERO, Amount::ZERO), |ss| {
                let left = ss.iter().map(|s| s.left.0).sum();
                let per = ss.iter().map(|s| s.per_epoch.0.min(s.left.0)).sum();
                (Amount(left), Amount(per))
            })
    }

    /// Σ of every pool and the undistributed rewards: part of the supply.
    pub(crate) fn pooled(&self) -> Amount {
        let pools: u128 = self
            .economy
            .pools
            .values()
            .flatten()
            .map(|s| s.left.0)
            .sum();
        Amount(pools + self.economy.reward_carry.0)
    }

    /// A new torrent's market, at its registered price and weight 1.
    pub(crate) fn open_market(&mut self, torrent: [u8; 32], price: Amount) {
        self.economy.markets.insert(torrent, Market::new(price));
        self.dirty.economy = true;
    }

    /// Takes part of a node's vesting (a penalty): the account's `vesting` and its grants move
    /// together.
    pub(crate) fn burn_vesting(&mut self, node: &Address, amount: u128) {
        self.economy.take_vesting(node, amount);
        self.dirty.economy = true;
    }

    /// `UserTx::Sponsor`, checked; moves the deposit from `me`'s balance into the pool.
    pub(crate) fn sponsor(
        &mut self,
        s: &Sponsor,
        me: &mut crate::state::Account,
    ) -> Result<(), TxError> {
        if s.amount == Amount::ZERO {
            return Err(TxError::ZeroAmount);
        }
        if s.epochs == 0 || s.epochs > MAX_SPONSOR_EPOCHS {
            return Err(TxError::BadSponsor(format!(
                "epochs must be 1 to {MAX_SPONSOR_EPOCHS}, not {}",
                s.epochs
            )));
        }
        if !self.torrents.contains_key(&s.torrent) {
            return Err(TxError::BadSponsor(format!(
                "torrent 0x{} is not registered",
                hex::encode(s.torrent)
            )));
        }
        let pool = self.economy.pools.get(&s.torrent).map_or(0, Vec::len);
        if pool >= MAX_POOL_SPONSORSHIPS {
            return Err(TxError::BadSponsor(format!(
                "this torrent's pool already holds {MAX_POOL_SPONSORSHIPS} sponsorships"
            )));
        }
        me.debit(s.amount)?;
        // Rounded up, so the deposit is paid out within `epochs` closes that have hosts.
        let per_epoch = s.amount.0.div_ceil(u128::from(s.epochs));
        self.economy
            .pools
            .entry(s.torrent)
            .or_default()
            .push(Sponsorship {
                sponsor: s.sponsor,
                left: s.amount,
                per_epoch: Amount(per_epoch),
            });
        self.dirty.economy = true;
        Ok(())
    }

    /// Closes `epoch` (see the module documentation and `docs/economics.md`).
    pub(crate) fn epoch_close(
        &mut self,
        close: &crate::tx::EpochCloseTx,
        now: u64,
        effects: &mut Effects,
    ) -> Result<(), TxError> {
        let described = self.check_close(close, now)?;
        let plan = self.plan_close(close, described, now)?;
        self.write_close(plan, effects);
        Ok(())
    }

    /// Checks a close against the state; returns the reports it describes, by node.
    fn check_close(
        &self,
        c: &crate::tx::EpochCloseTx,
        now: u64,
    ) -> Result<BTreeMap<Address, Holdings>, TxError> {
        let epoch = c.epoch;
        let refuse = |why: String| Err(TxError::Epoch { epoch, why });
        if let Some(last) = self.economy.last_closed
            && epoch <= last
        {
            return refuse(format!(
                "closes come in order: epoch {last} is closed already"
            ));
        }
        let end = self.params().epoch_start(epoch.saturating_add(1));
        if now < end {
            return refuse(format!("it ends at {end}; it is {now}"));
        }
        let bad = |why: String| Err(TxError::BadClose(why));
        if let Some(w) = c.markets.windows(2).find(|w| w[0].torrent >= w[1].torrent) {
            return bad(format!(
                "markets must be in ascending torrent order, each once (0x{})",
                hex::encode(w[1].torrent)
            ));
        }
        for m in &c.markets {
            if !self.torrents.contains_key(&m.torrent) {
                return bad(format!(
                    "market for unregistered torrent 0x{}",
                    hex::encode(m.torrent)
                ));
            }
        }
        if let Some(w) = c
            .hosted
            .windows(2)
            .find(|w| (w[0].node, w[0].torrent) >= (w[1].node, w[1].torrent))
        {
            return bad(format!(
                "hosted bytes must be in ascending (node, torrent) order, each once ({})",
                w[1].node
            ));
        }
        // Group the described reports by node (the list is in (node, torrent) order).
        let mut described: BTreeMap<Address, Holdings> = BTreeMap::new();
        let mut sums: BTreeMap<Address, u64> = BTreeMap::new();
        for h in &c.hosted {
            let Some(terms) = self.torrents.get(&h.torrent) else {
                return bad(format!(
                    "{} hosts unregistered torrent 0x{}",
                    h.node,
                    hex::encode(h.torrent)
                ));
            };
            if h.bytes == 0 || h.bytes > terms.size {
                return bad(format!(
                    "{} hosts {} bytes of a {}-byte torrent",
                    h.node, h.bytes, terms.size
                ));
            }
            let sum = sums.entry(h.node).or_default();
            *sum = sum.checked_add(h.bytes).ok_or(TxError::Overflow)?;
            described
                .entry(h.node)
                .or_insert_with(|| Holdings {
                    report_epoch: 0,
                    torrents: Vec::new(),
                })
                .torrents
                .push(TorrentBytes {
                    torrent: h.torrent,
                    bytes: h.bytes,
                });
        }
        for (node, holdings) in described.iter_mut() {
            let Some((report_epoch, report)) = self.report_ref(node, epoch) else {
                return bad(format!("{node} had no report in force at epoch {epoch}"));
            };
            if self.is_described(node, report_epoch) {
                return bad(format!(
                    "{node}'s report for epoch {report_epoch} is described already"
                ));
            }
            if sums[node] != report.claimed_bytes {
                return bad(format!(
                    "{node}'s hosted bytes add up to {}; its report claims {}",
                    sums[node], report.claimed_bytes
                ));
            }
            holdings.report_epoch = report_epoch;
        }
        if let Some(w) = c.rtts.windows(2).find(|w| w[0].node >= w[1].node) {
            return bad(format!(
                "round trips must be in ascending node order, each once ({})",
                w[1].node
            ));
        }
        if !c.auditor_location.is_empty() {
            Location::parse(&c.auditor_location)
                .map_err(|e| TxError::BadClose(format!("auditor location: {e}")))?;
        }
        Ok(described)
    }

    /// Why a host (its audit record, and its tally from `AuditResults` if any) earns nothing from
    /// hosting for `epoch`, if so.
    fn exclusion(
        &self,
        host: &Host,
        tally: Option<&Tally>,
        epoch: u64,
    ) -> Option<Cow<'static, str>> {
        let rules = self.params().reputation;
        if host.disqualified {
            return Some(Cow::Borrowed("disqualified"));
        }
        if host.frozen {
            return Some(Cow::Borrowed(
                "frozen: an audit this epoch went unanswered or found data missing",
            ));
        }
        if rules.standing(host.reputation.score_ppb()) != economics::reputation::Standing::Good {
            return Some(Cow::Borrowed(
                "suspended: audit reputation below the reward threshold",
            ));
        }
        match tally {
            Some(t) if t.epoch == epoch && t.total > 0 => None,
            _ => Some(Cow::Borrowed("not audited this epoch")),
        }
    }

    /// The close's first two steps over the nodes `range` (see `plan_close`): each host's
    /// outcome, the scores of those not measured, and the torrents' figures.
    #[allow(clippy::too_many_arguments)]
    fn gather(
        &self,
        c: &crate::tx::EpochCloseTx,
        described: &BTreeMap<Address, Holdings>,
        range: (Bound<Address>, Bound<Address>),
        nodes: usize,
        auditor: Option<Location>,
        p: &EconomyParams,
        mut torrents: Torrents,
    ) -> Result<Gathered, TxError> {
        let epoch = c.epoch;
        let from = range.0;
        let mut accounts = Walk::from(&self.accounts, from, nodes);
        let mut records = Walk::from(&self.hosts, from, nodes);
        let mut tallies = Walk::from(&self.economy.tallies, from, nodes);
        // Round trips come in node order (`check_close`), as the nodes do.
        let first_rtt = match from {
            Bound::Included(k) => c.rtts.partition_point(|r| r.node < k),
            Bound::Excluded(k) => c.rtts.partition_point(|r| r.node <= k),
            Bound::Unbounded => 0,
        };
        let mut rtts = c.rtts[first_rtt..].iter().peekable();
        // At most one per node: reserved once (pages never written cost nothing), not regrown.
        let mut hosts: Vec<HostOutcome> = Vec::with_capacity(nodes);
        let mut measured: Vec<(usize, Location, u64)> = Vec::new();
        let all = merged(described.range(range), self.economy.holdings.range(range));
        for (node, fresh, kept) in all {
            let Some((report_epoch, report)) = self.report_ref(&node, epoch) else {
                continue;
            };
            let holdings = match (fresh, kept) {
                (Some(h), _) => h,
                (None, Some(h)) if h.report_epoch == report_epoch => h,
                // Its report in force is not described yet: nothing is counted for it.
                _ => continue,
            };
            let active = accounts
                .at(&node)
                .is_some_and(|a| self.is_active_account(a));
            let record = records.at(&node);
            let tally = tallies.at(&node);
            let Some(record) = record.filter(|h| active && !h.disqualified) else {
                continue;
            };
            let excluded = self.exclusion(record, tally, epoch);
            // An empty or unreadable location is none (`parse` would format an error for it).
            let location = Location::parse_optional(&report.location).ok().flatten();
            while rtts.next_if(|r| r.node < node).is_some() {}
            let rtt = rtts.next_if(|r| r.node == node).map(|r| r.rtt_us);
            let host = hosts.len();
            // The other replicas matter only for a located, measured node: gathering them for
            // every replica regardless made a close quadratic in replicas per torrent.
            let geo = match (location, auditor, rtt) {
                (Some(l), Some(_), Some(rtt)) => {
                    measured.push((host, l, rtt));
                    None
                }
                _ => Some(economics::geo::verdict(location, auditor, rtt, &[], p)),
            };
            let mut out = HostOutcome {
                node,
                verified_bytes: 0,
                score: 0,
                reward: Amount::ZERO,
                sponsored: Amount::ZERO,
                liquid: Amount::ZERO,
                vesting: Amount::ZERO,
                excluded,
                replicas: Vec::with_capacity(holdings.torrents.len()),
            };
            for h in &holdings.torrents {
                let verified = match (&out.excluded, tally) {
                    (None, Some(t)) => rewards::verified_bytes(h.bytes, t.passes, t.total),
                    _ => 0,
                };
                out.verified_bytes = out.verified_bytes.saturating_add(verified);
                let mut replica = ReplicaOutcome {
                    torrent: h.torrent,
                    claimed_bytes: h.bytes,
                    verified_bytes: verified,
                    geo: GeoVerdict::NoLocation,
                    geo_bps: 10_000,
                };
                if verified > 0 {
                    let at =
                        torrents.add(&self.economy, &h.torrent, host, node, verified, location);
                    if let Some(geo) = &geo {
                        replica.geo = geo.clone();
                        replica.geo_bps = geo.factor_bps(p);
                        let weight = torrents.list[at].weight;
                        let s = rewards::score(verified, weight, replica.geo_bps).map_err(econ)?;
                        out.score = out.score.checked_add(s).ok_or(TxError::Overflow)?;
                    }
                }
                out.replicas.push(replica);
            }
            hosts.push(out);
        }
        Ok(Gathered {
            hosts,
            measured,
            torrents,
        })
    }

    /// [`State::gather`] over every node, in parts of the node order on the CPU's threads (at most
    /// 4) when there are many: each part reads only the state, and the parts are joined in node
    /// order (hosts and lists one after another, sums added), so the result is the one pass's.
    /// The scores' only failure is an overflow, whichever part meets it.
    fn gather_all(
        &self,
        c: &crate::tx::EpochCloseTx,
        described: &BTreeMap<Address, Holdings>,
        auditor: Option<Location>,
        p: &EconomyParams,
    ) -> Result<Gathered, TxError> {
        /// Fewest nodes worth a thread of their own.
        const PER_PART: usize = 512;
        let nodes = described.len() + self.economy.holdings.len();
        let torrents = Torrents::new(self, auditor.is_some());
        let parts = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4)
            .min(nodes / PER_PART)
            .max(1);
        // Where each part after the first starts: the keys of the larger map at even intervals.
        let keyed = if self.economy.holdings.len() >= described.len() {
            self.economy.holdings.keys().collect::<Vec<_>>()
        } else {
            described.keys().collect()
        };
        let starts: Vec<Address> = (1..parts)
            .map(|i| *keyed[keyed.len() * i / parts])
            .collect();
        drop(keyed);
        if starts.is_empty() {
            let all = (Bound::Unbounded, Bound::Unbounded);
            return self.gather(c, described, all, nodes, auditor, p, torrents);
        }
        let mut ranges = Vec::with_capacity(parts);
        let mut from = Bound::Unbounded;
        for start in &starts {
            ranges.push((from, Bound::Excluded(*start)));
            from = Bound::Included(*start);
        }
        ranges.push((from, Bound::Unbounded));
        let share = nodes / parts + 1;
        let mut results: Vec<Result<Gathered, TxError>> = std::thread::scope(|s| {
            let mut rest = ranges.iter().copied();
            let first = rest.next().expect("at least one part");
            let spawned: Vec<_> = rest
                .map(|range| {
                    let torrents = torrents.clone();
                    s.spawn(move || self.gather(c, described, range, share, auditor, p, torrents))
                })
                .collect();
            let mut results = vec![self.gather(c, described, first, share, auditor, p, torrents)];
            for handle in spawned {
                // A part that panicked (an invariant broke) panics the close, as one pass would.
                results.push(
                    handle
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
            }
            results
        });
        let mut all = results.remove(0)?;
        for part in results {
            let part = part?;
            let offset = all.hosts.len();
            all.measured.extend(
                part.measured
                    .into_iter()
                    .map(|(i, l, rtt)| (i + offset, l, rtt)),
            );
            all.torrents.absorb(part.torrents, offset);
            all.hosts.extend(part.hosts);
        }
        Ok(all)
    }

    /// Step 6's costly part: each staker's lock-weighted stake at `now`, in account order (those
    /// of weight 0 left out).
    fn staker_weights(&self, now: u64) -> Result<Vec<(Address, u128)>, TxError> {
        let g = self.params();
        let (max_lock, alpha) = (g.max_lock_secs(), g.economy.staker_alpha_wad);
        let mut weights = Vec::new();
        // The lock's factor (a fixed-point power, the costly part) per remaining time: stakers
        // often share a lock end. Only looked up, never walked.
        let mut factors: HashMap<u64, u128> = HashMap::new();
        // The last staker's (stake, remaining lock, weight): the next one often stakes and
        // locks alike.
        let mut last: Option<(Amount, u64, u128)> = None;
        for (address, a) in &self.accounts {
            if a.stake == Amount::ZERO || a.lock_until <= now {
                continue;
            }
            let remaining = a.lock_until - now;
            let w = match last {
                Some((stake, r, w)) if stake == a.stake && r == remaining => w,
                _ => {
                    let factor = match factors.get(&remaining) {
                        Some(f) => *f,
                        None => {
                            let f =
                                stakers::lock_factor(remaining, max_lock, alpha).map_err(econ)?;
                            factors.insert(remaining, f);
                            f
                        }
                    };
                    // `lock_weight` is exactly `weigh(stake, lock_factor(..))`.
                    stakers::weigh(a.stake.0, factor).map_err(econ)?
                }
            };
            last = Some((a.stake, remaining, w));
            if w > 0 {
                weights.push((*address, w));
            }
        }
        Ok(weights)
    }

    /// Step 7: what each account's grants release by `now` (grants made by this close start
    /// vesting now), in account order, those releasing nothing left out.
    fn releases(&self, now: u64) -> Vec<(Address, Credit)> {
        let duration = self.params().economy.vesting_secs();
        let mut releases = Vec::new();
        for (account, grants) in &self.economy.grants {
            let released: u128 = grants
                .iter()
                .map(|g| {
                    vesting::vested(g.amount.0, g.start, now, duration).saturating_sub(g.released.0)
                })
                .sum();
            if released > 0 {
                releases.push((
                    *account,
                    Credit {
                        released,
                        ..Credit::default()
                    },
                ));
            }
        }
        releases
    }

    fn plan_close(
        &self,
        c: &crate::tx::EpochCloseTx,
        described: BTreeMap<Address, Holdings>,
        now: u64,
    ) -> Result<Plan, TxError> {
        let g = self.params();
        let p = g.economy;
        let epoch = c.epoch;
        let auditor = (!c.auditor_location.is_empty())
            .then(|| Location::parse(&c.auditor_location).ok())
            .flatten();
        // 1. Who hosted what: every node the hub audits (an active member, not disqualified) whose
        //    report in force is described (on record, or by this close), and the verified bytes of
        //    each replica.
        //    The nodes come from the two sorted maps merged, and every map keyed by node is read
        //    in the same order alongside (`Walk`): one pass over each instead of a tree search per
        //    node and map.
        // 2. Geography and scores, with the weights in force during the epoch, in the same pass
        //    for each node that is not measured (its verdict is the same for all its replicas);
        //    a measured node's verdicts need every other located replica of its torrents, so they
        //    wait for the pass to end. (The scores' only failure is an overflow, which the order
        //    of the sums does not change.)
        // Steps 6 and 7 read only the state too: on a thread of their own beside the first
        // pass's, when there are enough accounts to pay for one.
        let side = || {
            let weights = if self.stakers_pool > Amount::ZERO {
                self.staker_weights(now)
            } else {
                Ok(Vec::new())
            };
            (weights, self.releases(now))
        };
        let (gathered, (weights, releases)) = if self.accounts.len() >= SIDE_THREAD_ACCOUNTS {
            std::thread::scope(|s| {
                let side = s.spawn(side);
                let gathered = self.gather_all(c, &described, auditor, &p);
                let side = side.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                (gathered, side)
            })
        } else {
            (self.gather_all(c, &described, auditor, &p), side())
        };
        let Gathered {
            mut hosts,
            measured,
            torrents,
        } = gathered?;

        // 2, for the measured nodes: every located replica is known now.
        for (i, location, rtt) in measured {
            let out = &mut hosts[i];
            let node = out.node;
            for r in &mut out.replicas {
                if r.verified_bytes == 0 {
                    continue;
                }
                let at = torrents
                    .find(&r.torrent)
                    .expect("counted in the first step");
                let others: Vec<Location> = torrents.located[at]
                    .iter()
                    .filter(|(other, _)| *other != node)
                    .map(|(_, l)| *l)
                    .collect();
                r.geo = economics::geo::verdict(Some(location), auditor, Some(rtt), &others, &p);
                r.geo_bps = r.geo.factor_bps(&p);
                let weight = torrents.list[at].weight;
                let s = rewards::score(r.verified_bytes, weight, r.geo_bps).map_err(econ)?;
                out.score = out.score.checked_add(s).ok_or(TxError::Overflow)?;
            }
        }
        let mut scores: Vec<(usize, u128)> = Vec::new();
        let mut weighted: u128 = 0;
        for (i, out) in hosts.iter().enumerate() {
            if out.score > 0 {
                scores.push((i, out.score));
                weighted = weighted.checked_add(out.score).ok_or(TxError::Overflow)?;
            }
        }

        // 3. Inflation: minted only when some replica was verified, split by score.
        // What the hub's books hold. Settling on a chain that is less than the token's total supply
        // (wallets hold the rest), so the close never mints beyond the token's own budget.
        let supply = self
            .supply()
            .outstanding()
            .expect("the supply invariant holds between entries")
            .0;
        let mut minted = 0;
        let mut reward_carry = self.economy.reward_carry;
        if weighted > 0 {
            minted = inflation::per_epoch(supply, p.inflation_bps, g.epoch_secs).map_err(econ)?;
            self.minted.0.checked_add(minted).ok_or(TxError::Overflow)?;
            let pot = reward_carry
                .0
                .checked_add(minted)
                .ok_or(TxError::Overflow)?;
            let shares: Vec<u128> = scores.iter().map(|(_, s)| *s).collect();
            let (parts, rest) = rewards::split(pot, &shares).map_err(econ)?;
            reward_carry = Amount(rest);
            for ((i, _), part) in scores.iter().zip(parts) {
                hosts[*i].reward = Amount(part);
            }
        }

        // 4. Sponsored pools: to the torrent's verified replicas by verified bytes.
        let mut pools = self.economy.pools.clone();
        let mut pool_paid: BTreeMap<[u8; 32], u128> = BTreeMap::new();
        for (torrent, sponsorships) in pools.iter_mut() {
            // Every pooled torrent keeps its holders.
            let Some(holders) = torrents
                .find(torrent)
                .map(|at| &torrents.holders[at])
                .filter(|h| !h.is_empty())
            else {
                continue; // No verified host: the pool waits.
            };
            let due: u128 = sponsorships
                .iter()
                .map(|s| s.per_epoch.0.min(s.left.0))
                .sum();
            let shares: Vec<u128> = holders.iter().map(|(_, v)| u128::from(*v)).collect();
            let (parts, _) = rewards::split(due, &shares).map_err(econ)?;
            let mut paid: u128 = 0;
            for ((i, _), part) in holders.iter().zip(parts) {
                let out = &mut hosts[*i];
                out.sponsored = add(out.sponsored, part)?;
                paid += part;
            }
            // Take what was paid from the sponsorships in deposit order; the rounding stays.
            let mut owed = paid;
            for s in sponsorships.iter_mut() {
                let take = s.per_epoch.0.min(s.left.0).min(owed);
                s.left = Amount(s.left.0 - take);
                owed -= take;
            }
            assert_eq!(owed, 0, "paid ≤ due = Σ min(per_epoch, left)");
            sponsorships.retain(|s| s.left != Amount::ZERO);
            pool_paid.insert(*torrent, paid);
        }
        pools.retain(|_, s| !s.is_empty());

        // 5. Rewards: a quarter liquid, the rest vests.
        let mut summary = CloseSummary {
            epoch,
            time: now,
            minted: Amount(minted),
            weighted_bytes: weighted,
            ..CloseSummary::default()
        };
        // Hosts come in node order, so their credits do.
        let mut credits: Vec<(Address, Credit)> = Vec::with_capacity(hosts.len());
        for out in hosts.iter_mut() {
            let total = out
                .reward
                .0
                .checked_add(out.sponsored.0)
                .ok_or(TxError::Overflow)?;
            let (liquid, vest) = vesting::split_reward(total, p.liquid_bps);
            out.liquid = Amount(liquid);
            out.vesting = Amount(vest);
            summary.hosting_paid = add(summary.hosting_paid, out.reward.0)?;
            summary.sponsored_paid = add(summary.sponsored_paid, out.sponsored.0)?;
            credits.push((
                out.node,
                Credit {
                    liquid,
                    vest,
                    released: 0,
                    earned: total,
                },
            ));
        }

        // 6. The stakers' pool, by lock-weighted stake (the weights came with the first pass).
        let mut staker_credits = Vec::new();
        let mut stakers_pool_left = self.stakers_pool;
        if self.stakers_pool > Amount::ZERO {
            let weights = weights?;
            let shares: Vec<u128> = weights.iter().map(|(_, w)| *w).collect();
            let (parts, rest) = rewards::split(self.stakers_pool.0, &shares).map_err(econ)?;
            stakers_pool_left = Amount(rest);
            // Stakers come in account order, so their credits do.
            let mut fees = Vec::with_capacity(weights.len());
            for ((account, weight), part) in weights.into_iter().zip(parts) {
                summary.fees_paid = add(summary.fees_paid, part)?;
                summary.stakers.push(StakerShare {
                    account,
                    weight,
                    paid: Amount(part),
                });
                fees.push((
                    account,
                    Credit {
                        liquid: part,
                        earned: part,
                        ..Credit::default()
                    },
                ));
            }
            staker_credits = fees;
        }

        // 7. Vesting released by time (worked out with the first pass).
        for (_, c) in &releases {
            summary.released = add(summary.released, c.released)?;
        }
        let credits = merge_credits(vec![credits, staker_credits, releases]);

        // 8. Prices or the gate, and weights, for the next epoch.
        let observed: BTreeMap<[u8; 32], &MarketObservation> =
            c.markets.iter().map(|m| (m.torrent, m)).collect();
        let mut prices = BTreeMap::new();
        // In torrent order: built into a map in one bulk step at the end.
        let mut markets = Vec::with_capacity(self.torrents.len());
        let mut in_force = Walk::new(&self.economy.markets, self.torrents.len());
        for (at, (torrent, terms)) in self.torrents.iter().enumerate() {
            // `State::market`, read in the same order.
            let mut m = in_force
                .at(torrent)
                .copied()
                .unwrap_or_else(|| Market::new(terms.price_per_byte));
            let (demand, capacity) = observed
                .get(torrent)
                .map_or((0, 0), |o| (o.demand_bytes, o.capacity_bytes));
            let saturation = market::saturation_wad(demand, capacity);
            // The registered torrents come first among the positions, in this order.
            debug_assert_eq!(torrents.list[at].id, *torrent);
            let verified = torrents.list[at].verified;
            let replicas_milli = if terms.size == 0 {
                0
            } else {
                u64::try_from(verified * 1000 / u128::from(terms.size)).unwrap_or(u64::MAX)
            };
            let price_after = match p.route {
                Route::DynamicPrice => {
                    let floor = crate::state::basis_points(m.base_price.0, g.price_floor_bps);
                    Amount(
                        market::next_price(
                            terms.price_per_byte.0,
                            saturation,
                            p.max_step_bps,
                            floor,
                        )
                        .map_err(econ)?,
                    )
                }
                Route::DynamicGate => terms.price_per_byte,
            };
            let target = market::target_weight(replicas_milli, saturation, &p).map_err(econ)?;
            let weight_after = market::next_weight(m.weight_wad, target, &p).map_err(econ)?;
            summary.torrents.push(TorrentOutcome {
                torrent: *torrent,
                price_before: terms.price_per_byte,
                price_after,
                weight_before: m.weight_wad,
                weight_after,
                replicas_milli,
                saturation_wad: saturation,
                pool_paid: Amount(pool_paid.get(torrent).copied().unwrap_or(0)),
            });
            m.weight_wad = weight_after;
            m.saturation_wad = saturation;
            m.replicas_milli = replicas_milli;
            m.demand_bytes = demand;
            m.capacity_bytes = capacity;
            markets.push((*torrent, m));
            if price_after != terms.price_per_byte {
                prices.insert(*torrent, price_after);
            }
        }
        let min_stake = match p.route {
            Route::DynamicPrice => self.economy.min_stake,
            Route::DynamicGate => {
                let members = self.members.values().filter(|a| self.is_active(a)).count() as u64;
                Some(Amount(
                    market::next_min_stake(self.join_stake().0, members, &p, g.min_stake.0)
                        .map_err(econ)?,
                ))
            }
        };
        summary.min_stake = min_stake.unwrap_or(g.min_stake);
        summary.hosts = hosts;
        Ok(Plan {
            minted,
            reward_carry,
            credits,
            pools,
            stakers_pool_left,
            prices,
            markets: markets.into_iter().collect(),
            min_stake,
            described,
            summary,
        })
    }

    /// Applies a computed close. Cannot fail: every sum was checked while planning, and each
    /// credit is part of a supply that fits.
    fn write_close(&mut self, plan: Plan, effects: &mut Effects) {
        let now = plan.summary.time;
        let duration = self.params().economy.vesting_secs();
        self.minted = Amount(self.minted.0 + plan.minted);
        self.stakers_pool = plan.stakers_pool_left;
        self.economy.reward_carry = plan.reward_carry;
        self.economy.pools = plan.pools;
        // Each map is walked once beside the credits (ascending by account), not searched per
        // credit. Release before granting: a grant made now has vested nothing yet.
        let credits = &plan.credits;
        let vesting = credits
            .iter()
            .filter(|(_, c)| c.released > 0 || c.vest > 0)
            .map(|(account, c)| (*account, c));
        let mut emptied = Vec::new();
        update_each(
            &mut self.economy.grants,
            vesting,
            credits.len(),
            |account, grants, c| {
                if c.released > 0 {
                    assert!(!grants.is_empty(), "released from grants");
                    for g in grants.iter_mut() {
                        g.released = Amount(
                            vesting::vested(g.amount.0, g.start, now, duration).max(g.released.0),
                        );
                    }
                    grants.retain(|g| g.released != g.amount);
                }
                add_grant(grants, c.vest, now);
                if grants.is_empty() {
                    emptied.push(account);
                }
            },
        );
        for account in emptied {
            self.economy.grants.remove(&account);
        }
        let earned = credits
            .iter()
            .filter(|(_, c)| c.earned > 0)
            .map(|(account, c)| (*account, c.earned));
        update_each(
            &mut self.economy.earned,
            earned,
            credits.len(),
            |_, e, earned| *e = Amount(e.0 + earned),
        );
        // Settling on a chain, the distributor pays withdrawals, so its root is over them
        // (`chain_close`); otherwise the root is over everyone's earnings, hashed on a thread of
        // its own while the rest of the close is written (it reads only these leaves).
        let epoch = plan.summary.epoch;
        let leaves: Option<Vec<(Address, u128)>> = self
            .economy
            .chain
            .is_none()
            .then(|| self.economy.earned.iter().map(|(a, e)| (*a, e.0)).collect());
        std::thread::scope(|s| {
            let tree = leaves.as_deref().map(|leaves| {
                s.spawn(move || token::distributor::EarningsTree::build(leaves).root())
            });
            self.put_each(credits, effects, |a, c| {
                a.vesting = Amount(a.vesting.0 - c.released);
                a.balance = Amount(a.balance.0 + c.liquid + c.released);
                a.vesting = Amount(a.vesting.0 + c.vest);
            });
            for (torrent, price) in plan.prices {
                if let Some(t) = self.torrents.get_mut(&torrent) {
                    t.price_per_byte = price;
                    self.dirty.torrents.insert(torrent);
                }
            }
            self.economy.markets = plan.markets;
            self.economy.min_stake = plan.min_stake;
            // A newer description replaces the node's older one: that report is no longer in
            // force.
            let described = plan.described.len();
            update_each(
                &mut self.economy.holdings,
                plan.described,
                described,
                |_, held, new| *held = new,
            );
            // Most tallies go (those of the closed epoch): rebuilt from the rest in one bulk
            // step rather than removed one by one.
            self.economy.tallies = std::mem::take(&mut self.economy.tallies)
                .into_iter()
                .filter(|(_, t)| t.epoch > epoch)
                .collect();
            self.economy.last_closed = Some(epoch);
            self.economy.earnings_root = match tree {
                Some(tree) => tree.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                None => self
                    .chain_close(epoch, plan.summary.minted)
                    .expect("no earnings tree only when settling on a chain"),
            };
        });
        self.economy.last = Some(plan.summary);
        self.dirty.economy = true;
    }

    /// The accounts the economy names, for `recount`: each one's unreleased grants must equal its
    /// `vesting`.
    pub(crate) fn check_grants(&self) -> Result<(), String> {
        let mut with_vesting: BTreeSet<Address> = self
            .accounts
            .iter()
            .filter(|(_, a)| a.vesting > Amount::ZERO)
            .map(|(k, _)| *k)
            .collect();
        with_vesting.extend(self.economy.grants.keys().copied());
        for account in with_vesting {
            let grants = self.economy.unvested(&account);
            let vesting = self.account(&account).vesting.0;
            if grants != vesting {
                return Err(format!(
                    "{account} has {vesting} vesting but {grants} in unreleased grants"
                ));
            }
        }
        Ok(())
    }
}
