//! The simulation loop: every epoch becomes the ledger entries a real hub would write (user
//! transactions signed by their accounts, system transactions signed by the operator), applied
//! with `State::apply`. Nothing economic is computed here: rewards, prices, weights, vesting,
//! fees and penalties come out of the ledger's close and the `economics` crate; the sim only
//! decides what agents do and observes what the ledger did to them.
//!
//! One step, for ledger epoch `e` (the hub's order, with times inside the epoch):
//! 1. `start(e) + 1`: hot releases are registered; agents decide to leave or return.
//! 2. `start(e) + secs/2`: the hub commits to `e + 1`; late joiners stake and join; downloaders
//!    low on tokens buy some from the treasury; agents plan what to keep in `e + 1` (speculators
//!    from the ledger's markets); this epoch's audits are sampled from what each agent really
//!    holds; every download of the epoch (demand, fetches for new holdings, wash trades, an
//!    outsourcer's block fetches) is settled through receipts in one `Settle`; hosts whose
//!    holdings changed report for `e + 1`.
//! 3. `start(e + 1)`: the hub reveals `e`'s secret, logs the audit results and closes `e`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use ledger::economy::CloseSummary;
use ledger::genesis::Allocation;
use ledger::state::{Effects, State, system_digest};
use ledger::tx::Entry;
use ledger::{
    AuditMark, EpochCloseTx, Genesis, HostedBytes, JoinPolicy, MarketObservation, NodeAudit,
    SystemTx, Tx, TxError,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use token::{
    Address, Amount, Domain, Join, Receipt, ReceiptOutcome, Report, SecretKey, Signature, Signed,
    Stake, Transfer, UserTx, keccak256, session_at,
};

use crate::SimError;
use crate::agents::{Agent, Cumulative, Identity, Speculation, Strategy, Torrent, pick_interests};
use crate::pnl::{Pnl, add};
use crate::row::{EpochRow, StrategyPnl, TorrentRow};
use crate::scenario::Scenario;

/// 10^18 base units per token.
const TOKEN: u128 = 1_000_000_000_000_000_000;
/// Base units per millionth of a token.
const MICRO: u128 = 1_000_000_000_000;
/// The hub's saturation window (15 minutes).
const WINDOW_SECS: u64 = 900;
/// A v2 block: what one challenge asks for.
const BLOCK: u64 = 16 * 1024;
/// Genesis near this unix time (any fixed time: the sim has no clock).
const T0: u64 = 1_700_000_000;
/// Receipts per `Settle` entry.
const SETTLE_CHUNK: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Demand,
    Acquire,
    Wash,
    Outsource,
}

/// How an identity answers this epoch's challenges, as far as is known before they are drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Claims nothing: not audited.
    Unclaimed,
    /// Keeps all it claims: passes every challenge, whichever block is drawn.
    Passes,
    /// Keeps all it claims but is offline-prone: each challenge draws whether it answers.
    MayMiss,
    /// Keeps part of its claim or none of it: each challenge draws a torrent of the claim.
    Draws,
}

impl Answer {
    fn of(id: &Identity, agent: &Agent) -> Answer {
        if id.current.is_empty() {
            Answer::Unclaimed
        } else if agent.strategy == Strategy::Outsourcer
            || !(id.current.iter()).all(|t| agent.stored.binary_search(t).is_ok())
        {
            Answer::Draws
        } else if agent.strategy == Strategy::Offline {
            Answer::MayMiss
        } else {
            Answer::Passes
        }
    }
}

/// An agent's claim for the next epoch.
#[derive(Clone)]
enum Plan {
    /// The claim it has (most agents in most epochs: no copy).
    Same,
    New(Vec<u32>),
}

struct Pending {
    down: u32,
    /// Uploading identity (`None`: the publisher, off the ledger).
    up: Option<u32>,
    torrent: u32,
    bytes: u64,
    kind: Kind,
}

pub struct Sim {
    pub scenario: Scenario,
    rng: ChaCha8Rng,
    state: State,
    genesis: Genesis,
    domain: Domain,
    /// The genesis' collective address (hashing the genesis: computed once).
    collective: Address,
    operator: SecretKey,
    dummy: Signature,
    pub agents: Vec<Agent>,
    /// Each agent's hosting identity (its first): the uploader of what it keeps.
    host_id: Vec<u32>,
    pub ids: Vec<Identity>,
    /// (address, identity), sorted: the one lookup from ledger outputs back to agents.
    by_address: Vec<(Address, u32)>,
    pub torrents: Vec<Torrent>,
    /// Each torrent's size, by index (sizes never change).
    sizes: Vec<u64>,
    registered: Vec<bool>,
    /// (torrent id, index), sorted.
    by_id: Vec<([u8; 32], u32)>,
    /// Index by the id's first 8 bytes (`id_prefix`): the close's replicas name torrents by id.
    by_prefix: HashMap<u64, u32, BuildHasherDefault<PrefixHasher>>,
    top_popularity: f64,
    /// Each torrent's holders (their hosting identities), rebuilt every epoch in the last
    /// epoch's buffers.
    holders: Vec<Vec<u32>>,
    /// The bytes each agent keeps, kept up to date by `set_stored`.
    stored_bytes: Vec<u64>,
    /// How each identity answers challenges, from its report in force and its agent's holdings;
    /// `None` once either changed (`set_stored`, `reports_take_force`): few do in an epoch.
    answers: Vec<Option<Answer>>,
    first_epoch: u64,
    step: u64,
    now: u64,
    log: Vec<(Entry, String)>,
    sessions: u64,
    refused: u32,
    receipts_settled: u32,
    receipts_refused: u32,
    last_supply: (u128, u128),
}

fn derive(seed: u64, what: &str, i: u64) -> [u8; 32] {
    keccak256(&[what.as_bytes(), &seed.to_be_bytes(), &i.to_be_bytes()].concat())
}

fn key_for(seed: u64, what: &str, i: u64) -> Result<SecretKey, SimError> {
    // A keccak output is a valid secp256k1 scalar with overwhelming odds; retry otherwise.
    for attempt in 0..16u64 {
        let bytes = derive(seed, what, i.wrapping_mul(16).wrapping_add(attempt));
        if let Ok(k) = SecretKey::from_bytes(&bytes) {
            return Ok(k);
        }
    }
    Err(SimError::Key(format!("{what} {i}")))
}

fn bps(rng: &mut ChaCha8Rng, p: u32) -> bool {
    rng.random_range(0..10_000u32) < p
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    let l = (-mean).exp();
    let mut k = 0u32;
    let mut p = 1.0f64;
    loop {
        p *= rng.random::<f64>();
        if p <= l || k >= 1000 {
            return k;
        }
        k += 1;
    }
}

/// A torrent id's first 8 bytes: ids are keccak hashes, so these are already well spread.
fn id_prefix(id: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&id[..8]);
    u64::from_le_bytes(b)
}

/// Hashes an `id_prefix` as itself (it is a hash already).
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A uniformly drawn holder other than `me` (holders are distinct): draws until it is not `me`,
/// so popular torrents cost O(1) however many hold them.
fn pick_holder(rng: &mut ChaCha8Rng, holders: &[u32], me: u32) -> Option<u32> {
    if holders.is_empty() || holders == [me] {
        return None;
    }
    loop {
        let holder = holders[rng.random_range(0..holders.len())];
        if holder != me {
            return Some(holder);
        }
    }
}

fn mul(a: u128, b: u128) -> Result<u128, SimError> {
    a.checked_mul(b).ok_or(SimError::Overflow("cost"))
}

impl Sim {
    pub fn new(scenario: Scenario) -> Result<Sim, SimError> {
        scenario.validate()?;
        let seed = scenario.seed;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let operator = key_for(seed, "sim operator", 0)?;
        let dummy = key_for(seed, "sim dummy", 0)?.sign_digest(&[0; 32]);

        // The catalogue, then the hot releases (registered at their step).
        let mut torrents = Vec::new();
        let (lo, hi) = (
            (scenario.torrents.min_mb as f64).ln(),
            (scenario.torrents.max_mb as f64).ln(),
        );
        let hot: Vec<(u64, f64)> = scenario
            .demand
            .hot
            .iter()
            .flat_map(|h| (0..h.count).map(move |_| (h.epoch, h.multiplier)))
            .collect();
        let total = scenario.torrents.count as usize + hot.len();
        for i in 0..total {
            let mb = (lo + rng.random::<f64>() * (hi - lo)).exp();
            let size = ((mb * 1e6) as u64).clamp(
                scenario.torrents.min_mb * 1_000_000,
                scenario.torrents.max_mb * 1_000_000,
            );
            let rank = (i + 1) as f64;
            let catalogue = i < scenario.torrents.count as usize;
            torrents.push(Torrent {
                id: derive(seed, "sim torrent", i as u64),
                size,
                popularity: if catalogue {
                    1.0 / rank.powf(scenario.demand.zipf_s)
                } else {
                    0.0
                },
                hot: (!catalogue).then(|| hot[i - scenario.torrents.count as usize]),
            });
        }
        let registered: Vec<bool> = torrents.iter().map(|t| t.hot.is_none()).collect();
        let mut by_id: Vec<([u8; 32], u32)> = torrents
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i as u32))
            .collect();
        by_id.sort_unstable();
        let by_prefix = by_id.iter().map(|(id, i)| (id_prefix(id), *i)).collect();

        // Agents and their identities.
        let n = &scenario.nodes;
        let counts = [
            (Strategy::Honest, n.honest),
            (Strategy::Speculator, n.speculator),
            (Strategy::Downloader, n.downloader),
            (Strategy::Lazy, n.lazy),
            (Strategy::Offline, n.offline),
            (Strategy::Outsourcer, n.outsourcer),
            (Strategy::Sybil, n.sybil),
            (Strategy::Wash, n.wash),
            (Strategy::FreeRider, n.free_rider),
        ];
        let mut agents = Vec::new();
        let mut ids: Vec<Identity> = Vec::new();
        for (strategy, count) in counts {
            for _ in 0..count {
                let agent = agents.len() as u32;
                let n_ids = match strategy {
                    Strategy::Sybil => scenario.adversary.sybil_identities,
                    Strategy::Wash => 2,
                    _ => 1,
                };
                let mut mine = Vec::new();
                for _ in 0..n_ids {
                    let i = ids.len() as u64;
                    let (key, address) = if scenario.sign {
                        let k = key_for(seed, "sim node", i)?;
                        let a = k.address();
                        (Some(k), a)
                    } else {
                        let h = derive(seed, "sim address", i);
                        let mut a = [0u8; 20];
                        a.copy_from_slice(&h[12..]);
                        (None, Address(a))
                    };
                    mine.push(ids.len() as u32);
                    ids.push(Identity {
                        address,
                        key,
                        agent,
                        name: format!("n{i}"),
                        current: Vec::new(),
                        next: None,
                        undescribed: false,
                        dead: false,
                    });
                }
                let disk = if strategy.hosts() {
                    rng.random_range(scenario.disk.min_gb..=scenario.disk.max_gb) * 1_000_000_000
                } else {
                    0
                };
                let late =
                    strategy == Strategy::Honest && bps(&mut rng, scenario.churn.late_join_bps);
                agents.push(Agent {
                    strategy,
                    ids: mine,
                    disk,
                    stored: Vec::new(),
                    claim: Vec::new(),
                    active: !late,
                    leaving: false,
                    member: !late,
                    pnl: Pnl::default(),
                });
            }
        }
        let mut by_address: Vec<(Address, u32)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.address, i as u32))
            .collect();
        by_address.sort_unstable();
        if by_address.windows(2).any(|w| w[0].0 == w[1].0)
            || by_address.iter().any(|(a, _)| *a == operator.address())
        {
            return Err(SimError::Key("two identities share an address".into()));
        }

        // The genesis: the `hub init` template, buy-in, the scenario's overrides, every founder.
        let mut genesis = Genesis::from_toml(&Genesis::template(operator.address()))
            .map_err(|e| SimError::Scenario(format!("genesis template: {e}")))?;
        genesis.join = JoinPolicy::BuyIn;
        genesis.epoch_secs = scenario.epoch_secs;
        let o = &scenario.genesis;
        if let Some(v) = o.inflation_bps {
            genesis.economy.inflation_bps = v;
        }
        if let Some(v) = o.audit_samples {
            genesis.audit_samples = v;
        }
        if let Some(v) = o.fee_bps {
            genesis.fee_bps = v;
        }
        if let Some(v) = o.fee_burn_bps {
            genesis.fee_burn_bps = v;
        }
        if let Some(v) = o.target_replicas {
            genesis.economy.target_replicas = v;
        }
        if let Some(v) = o.min_stake {
            genesis.min_stake = Amount::tokens(v);
        }
        if let Some(v) = o.price_per_gib {
            genesis.price_per_gib = Amount::tokens(v);
        }
        if let Some(v) = o.free_bytes_per_day {
            genesis.free_bytes_per_day = v;
        }
        if let Some(v) = o.host_bytes_per_token {
            genesis.host_bytes_per_token = v;
        }
        if let Some(v) = o.wrong_data_burn_bps {
            genesis.wrong_data_burn_bps = v;
        }
        let e0 = T0 / scenario.epoch_secs;
        let t_genesis = e0 * scenario.epoch_secs + 1;
        let lock_until = t_genesis + genesis.max_lock_secs();
        // The template funds the operator; the scenario says how much.
        genesis
            .allocations
            .retain(|a| a.account != operator.address());
        genesis.allocations.push(Allocation {
            account: operator.address(),
            liquid: Amount::tokens(scenario.funds.treasury),
            staked: Amount::ZERO,
            lock_until: 0,
            member: None,
        });
        let liquid = Amount::tokens(scenario.funds.liquid);
        for id in &ids {
            let member = agents[id.agent as usize].member;
            genesis.allocations.push(Allocation {
                account: id.address,
                liquid: if member {
                    liquid
                } else {
                    liquid
                        .checked_add(genesis.min_stake)
                        .ok_or(SimError::Overflow("genesis"))?
                },
                staked: if member {
                    genesis.min_stake
                } else {
                    Amount::ZERO
                },
                lock_until: if member { lock_until } else { 0 },
                member: member.then(|| id.name.clone()),
            });
        }
        genesis
            .validate()
            .map_err(|e| SimError::Scenario(format!("genesis: {e}")))?;
        let domain = genesis.domain();
        let (n_agents, n_ids) = (agents.len(), ids.len());
        let top_popularity = torrents.first().map_or(0.0, |t| t.popularity);
        let sizes = torrents.iter().map(|t| t.size).collect();
        let mut sim = Sim {
            rng,
            state: State::default(),
            genesis: genesis.clone(),
            collective: domain.verifying_contract,
            domain,
            operator,
            dummy,
            host_id: agents.iter().map(|a| a.ids[0]).collect(),
            agents,
            ids,
            by_address,
            torrents,
            registered,
            by_id,
            by_prefix,
            sizes,
            top_popularity,
            holders: Vec::new(),
            stored_bytes: vec![0; n_agents],
            answers: vec![None; n_ids],
            first_epoch: e0 + 1,
            step: 0,
            now: t_genesis,
            log: Vec::new(),
            sessions: 0,
            refused: 0,
            receipts_settled: 0,
            receipts_refused: 0,
            last_supply: (0, 0),
            scenario,
        };
        sim.system(SystemTx::Genesis(Box::new(genesis)))?;
        let price = sim.genesis.price_per_byte();
        for i in 0..sim.torrents.len() {
            if sim.registered[i] {
                sim.register(i, price)?;
            }
        }
        sim.initial_holdings();
        let wealth = sim.wealths()?;
        for (agent, w) in sim.agents.iter_mut().zip(wealth) {
            agent.pnl.wealth0 = w;
        }
        // Reports for the first simulated epoch, after the hub's commitment to it.
        let first = sim.first_epoch;
        sim.commit(first)?;
        let none = vec![false; sim.agents.len()];
        sim.report_all(first, &none)?;
        sim.reports_take_force();
        let s = sim.state.supply();
        sim.last_supply = (s.minted.0, s.burned.0);
        Ok(sim)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Every applied entry with its JSON body (empty unless `keep_log`).
    pub fn log(&self) -> &[(Entry, String)] {
        &self.log
    }

    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Checks the conservation identities: the recount of every account equals the running
    /// supply, and what is held equals minted − burned.
    pub fn check_conservation(&self) -> Result<(), SimError> {
        let recount = self.state.recount().map_err(SimError::Conservation)?;
        let supply = self.state.supply();
        if recount != supply {
            return Err(SimError::Conservation(format!(
                "recount {recount:?} != supply {supply:?}"
            )));
        }
        if supply.held() != supply.minted.checked_sub(supply.burned) {
            return Err(SimError::Conservation(format!(
                "held {:?} != minted - burned",
                supply.held()
            )));
        }
        Ok(())
    }

    /// Runs the remaining epochs, handing each row to `each`.
    pub fn run(&mut self, mut each: impl FnMut(&EpochRow)) -> Result<Vec<EpochRow>, SimError> {
        let mut rows = Vec::new();
        while self.step < self.scenario.epochs {
            let row = self.step()?;
            each(&row);
            rows.push(row);
        }
        Ok(rows)
    }

    // ---- ledger plumbing ----

    fn apply(&mut self, tx: Tx) -> Result<Effects, TxError> {
        let entry = Entry {
            seq: self.state.next_seq(),
            time: self.now,
            tx,
        };
        // The body is what the log hash covers. An unsigned run's bodies carry dummy signatures, so
        // its log hash is no real hub's anyway: unless the log is kept, it hashes an empty body and
        // saves serialising every entry (a large run's bodies are tens of MB per epoch).
        let body = if self.scenario.sign || self.scenario.keep_log {
            serde_json::to_string(&entry.tx).map_err(|e| TxError::Storage(e.to_string()))?
        } else {
            String::new()
        };
        let effects = self
            .state
            .apply(&entry, body.as_bytes(), self.scenario.sign)?;
        self.state.forget_changes();
        if self.scenario.keep_log {
            self.log.push((entry, body));
        }
        Ok(effects)
    }

    fn system(&mut self, tx: SystemTx) -> Result<Effects, SimError> {
        let signature = if self.scenario.sign {
            let seq = self.state.next_seq();
            self.operator
                .sign_digest(&system_digest(&self.domain, seq, &tx))
        } else {
            self.dummy
        };
        let what = system_name(&tx);
        self.apply(Tx::System { tx, signature })
            .map_err(|error| SimError::Ledger { what, error })
    }

    /// A user transaction; a refusal is an event of the simulation (counted), not an error.
    fn user(&mut self, id: Option<u32>, tx: UserTx) -> Result<Effects, TxError> {
        let key = match id {
            None => Some(&self.operator),
            Some(i) => self.ids[i as usize].key.as_ref(),
        };
        let signed = match (self.scenario.sign, key) {
            (true, Some(k)) => Signed::<UserTx>::sign(&self.domain, k, tx),
            _ => Signed {
                message: tx,
                signature: self.dummy,
            },
        };
        let r = self.apply(Tx::User { tx: signed });
        if r.is_err() {
            self.refused += 1;
        }
        r
    }

    fn nonce(&self, a: &Address) -> u64 {
        self.state.account(a).nonce
    }

    fn register(&mut self, i: usize, price: Amount) -> Result<(), SimError> {
        let t = &self.torrents[i];
        self.system(SystemTx::RegisterTorrent {
            torrent: t.id,
            size: t.size,
            price_per_byte: price,
        })?;
        self.registered[i] = true;
        Ok(())
    }

    fn commit(&mut self, epoch: u64) -> Result<(), SimError> {
        let commitment = audit::commit(epoch, &self.secret(epoch));
        self.system(SystemTx::EpochCommit { epoch, commitment })?;
        Ok(())
    }

    fn secret(&self, epoch: u64) -> [u8; 32] {
        derive(self.scenario.seed, "sim epoch secret", epoch)
    }

    /// Every agent's wealth (balance, stake and vesting over its identities). The ledger's
    /// accounts are walked in address order beside the identities (no lookups, no copies) into a
    /// table by identity, then summed in agent order.
    fn wealths(&self) -> Result<Vec<u128>, SimError> {
        let mut of_id = vec![0u128; self.ids.len()];
        let mut accounts = self.state.accounts().peekable();
        for (address, i) in &self.by_address {
            while accounts.next_if(|(a, _)| *a < address).is_some() {}
            if let Some((_, a)) = accounts.next_if(|(a, _)| *a == address) {
                of_id[*i as usize] = add(add(a.balance.0, a.stake.0)?, a.vesting.0)?;
            }
        }
        self.agents
            .iter()
            .map(|agent| (agent.ids.iter()).try_fold(0u128, |w, &i| add(w, of_id[i as usize])))
            .collect()
    }

    /// A torrent's index from its id.
    fn torrent_index(&self, id: &[u8; 32]) -> Option<usize> {
        let i = *self.by_prefix.get(&id_prefix(id))? as usize;
        if self.torrents[i].id == *id {
            return Some(i);
        }
        // Two ids with the same first 8 bytes: the map keeps one of them.
        self.by_id
            .binary_search_by_key(id, |(x, _)| *x)
            .ok()
            .map(|p| self.by_id[p].1 as usize)
    }

    fn bytes_of(&self, set: &[u32]) -> u64 {
        set.iter().map(|&t| self.sizes[t as usize]).sum()
    }

    // ---- agents' choices ----

    /// What every host keeps before genesis (fetched for free: the collective's seeding).
    fn initial_holdings(&mut self) {
        let popular = Cumulative::new(self.torrents.iter().map(|t| t.popularity));
        let registered = self.registered.clone();
        // No market yet: speculators take the most popular per byte.
        let first_pick = Speculation::new(
            self.torrents
                .iter()
                .enumerate()
                .map(|(i, t)| registered[i].then_some((t.popularity * t.size as f64, 0.0, 0, 0.0)))
                .collect(),
            &self.sizes,
            1.0,
        );
        for a in 0..self.agents.len() {
            let agent = &self.agents[a];
            if !agent.strategy.hosts() {
                continue;
            }
            let disk = agent.disk;
            let claim = match agent.strategy {
                Strategy::Speculator => first_pick.plan(&[], &self.sizes, false, disk),
                _ => pick_interests(
                    &mut self.rng,
                    &self.torrents,
                    &popular,
                    self.scenario.adversary.honest_popular_bps,
                    disk,
                    |i| registered[i as usize],
                ),
            };
            let stored = self.stored_for(a, &claim);
            self.agents[a].claim = claim;
            self.set_stored(a, stored);
        }
    }

    /// Replaces what agent `a` keeps; its bytes and its identities' answers follow.
    fn set_stored(&mut self, a: usize, stored: Vec<u32>) {
        self.stored_bytes[a] = self.bytes_of(&stored);
        for &i in &self.agents[a].ids {
            self.answers[i as usize] = None;
        }
        self.agents[a].stored = stored;
    }

    /// What an agent physically keeps of a claim.
    fn stored_for(&mut self, a: usize, claim: &[u32]) -> Vec<u32> {
        match self.agents[a].strategy {
            Strategy::Outsourcer => Vec::new(),
            Strategy::Lazy => {
                // Whole torrents, in a random order, up to the kept share of the claimed bytes.
                let total = self.bytes_of(claim);
                let keep =
                    u128::from(total) * u128::from(self.scenario.adversary.lazy_keep_bps) / 10_000;
                let mut order: Vec<u32> = claim.to_vec();
                for i in (1..order.len()).rev() {
                    let j = self.rng.random_range(0..=i);
                    order.swap(i, j);
                }
                let mut kept = Vec::new();
                let mut used = 0u128;
                for t in order {
                    let size = u128::from(self.torrents[t as usize].size);
                    if used + size <= keep {
                        used += size;
                        kept.push(t);
                    }
                }
                kept.sort_unstable();
                kept
            }
            _ => claim.to_vec(),
        }
    }

    /// What speculators weigh this epoch, from the ledger's markets and the last close.
    fn speculation(&self, holders: &[Vec<u32>]) -> Speculation {
        let s = &self.scenario;
        let last = self.state.economy().last.as_ref();
        // Inflation paid per weighted byte at the last close.
        let per_weighted = last
            .filter(|l| l.weighted_bytes > 0)
            .map_or(0.0, |l| l.minted.0 as f64 / l.weighted_bytes as f64);
        let fee_keep = 1.0 - f64::from(self.genesis.fee_bps) / 10_000.0;
        let bw = s.costs.bandwidth_micro_per_gb as f64 * 1e-9 * MICRO as f64;
        let disk = s.costs.disk_micro_per_gb_epoch as f64 * 1e-9 * MICRO as f64;
        let windows = s.epoch_secs as f64 / WINDOW_SECS as f64;
        let term = |i: usize, id: &[u8; 32]| {
            let market = self.state.market(id)?;
            let price = self.state.torrent(id)?.price_per_byte.0 as f64;
            let size = self.sizes[i] as f64;
            let weight = market.weight_wad as f64 / 1e18;
            let inflation = size * weight * per_weighted;
            let uploads = price * market.demand_bytes as f64 * windows * fee_keep;
            Some((
                inflation - size * disk,
                uploads,
                holders[i].len() as u32,
                size * (price + bw),
            ))
        };
        // Asked of the ledger in id order (its maps are by id), placed by index.
        let mut terms = vec![None; self.torrents.len()];
        for (id, i) in &self.by_id {
            let i = *i as usize;
            if self.registered[i] {
                terms[i] = term(i, id);
            }
        }
        Speculation::new(
            terms,
            &self.sizes,
            s.adversary.speculator_horizon.max(1) as f64,
        )
    }

    // ---- one epoch ----

    pub fn step(&mut self) -> Result<EpochRow, SimError> {
        if self.step >= self.scenario.epochs {
            return Err(SimError::Finished);
        }
        let k = self.step;
        let e = self.first_epoch + k;
        let secs = self.scenario.epoch_secs;
        let start = e * secs;
        self.refused = 0;
        self.receipts_settled = 0;
        self.receipts_refused = 0;

        // 1. Releases and churn.
        self.now = start + 1;
        let price = self.genesis.price_per_byte();
        let mut released = Vec::new();
        for i in 0..self.torrents.len() {
            if !self.registered[i] && self.torrents[i].hot.is_some_and(|(at, _)| at <= k) {
                self.register(i, price)?;
                released.push(i as u32);
            }
        }
        let mut returning = vec![false; self.agents.len()];
        for (a, agent) in self.agents.iter_mut().enumerate() {
            if agent.active {
                agent.leaving = bps(&mut self.rng, self.scenario.churn.leave_bps);
            } else {
                returning[a] = bps(&mut self.rng, self.scenario.churn.return_bps);
            }
        }

        // 2. Mid-epoch.
        self.now = start + secs / 2;
        self.commit(e + 1)?;
        self.joins(&mut returning)?;
        self.topups()?;
        // Who keeps what now, by torrent: the agents' hosting identities, in agent order (holders
        // are drawn by position), in last epoch's buffers. With it, the upload capacity the close
        // observes: each holder's rate shared among all it keeps.
        let mut holders = std::mem::take(&mut self.holders);
        holders.resize_with(self.torrents.len(), Vec::new);
        holders.iter_mut().for_each(Vec::clear);
        let rate =
            u128::from(self.scenario.costs.upload_mb_per_sec) * 1_000_000 * u128::from(WINDOW_SECS);
        let mut capacity = vec![0u128; self.torrents.len()];
        for (a, agent) in self.agents.iter().enumerate() {
            if agent.active {
                let share = rate / (agent.stored.len().max(1) as u128);
                for &t in &agent.stored {
                    holders[t as usize].push(self.host_id[a]);
                    capacity[t as usize] += share;
                }
            }
        }
        // Plans for e + 1. Speculators re-plan in turns.
        let replan = self.scenario.adversary.speculator_replan_epochs.max(1);
        let due = |a: usize| (k + a as u64).is_multiple_of(replan);
        let speculation = (0..self.agents.len())
            .any(|a| self.agents[a].strategy == Strategy::Speculator && due(a))
            .then(|| self.speculation(&holders));
        let hot_bps = self.scenario.adversary.honest_hot_bps;
        let mut plans: Vec<Option<Plan>> = vec![None; self.agents.len()];
        for a in 0..self.agents.len() {
            let agent = &self.agents[a];
            if !agent.strategy.hosts() || !(agent.active || returning[a]) {
                continue;
            }
            if agent.leaving {
                plans[a] = Some(Plan::New(Vec::new()));
                continue;
            }
            let plan = match agent.strategy {
                Strategy::Speculator => match &speculation {
                    Some(sp) if due(a) => {
                        Plan::New(sp.plan(&agent.stored, &self.sizes, agent.active, agent.disk))
                    }
                    _ => Plan::Same,
                },
                Strategy::Honest if !released.is_empty() => {
                    let mut free = agent.disk.saturating_sub(self.bytes_of(&agent.claim));
                    let mut picked = Vec::new();
                    for &t in &released {
                        let size = self.sizes[t as usize];
                        if size <= free && bps(&mut self.rng, hot_bps) {
                            free -= size;
                            picked.push(t);
                        }
                    }
                    if picked.is_empty() {
                        Plan::Same
                    } else {
                        let mut claim = [&agent.claim[..], &picked].concat();
                        claim.sort_unstable();
                        Plan::New(claim)
                    }
                }
                _ => Plan::Same,
            };
            plans[a] = Some(plan);
        }

        let mut pending: Vec<Pending> = Vec::new();
        let mut demand = vec![0u64; self.torrents.len()];
        // Fetches of new holdings.
        for (a, plan) in plans.iter().enumerate() {
            let Some(plan) = plan else { continue };
            let agent = &self.agents[a];
            if matches!(agent.strategy, Strategy::Outsourcer | Strategy::Lazy) {
                continue;
            }
            let plan = match plan {
                Plan::Same if agent.stored == agent.claim => continue,
                Plan::Same => &agent.claim,
                Plan::New(plan) => plan,
            };
            for &t in plan {
                if agent.stored.binary_search(&t).is_ok() {
                    continue;
                }
                let size = self.sizes[t as usize];
                demand[t as usize] += size;
                let up = pick_holder(&mut self.rng, &holders[t as usize], self.host_id[a]);
                pending.push(Pending {
                    down: self.host_id[a],
                    up,
                    torrent: t,
                    bytes: size,
                    kind: Kind::Acquire,
                });
            }
        }
        // Demand.
        let top = self.top_popularity;
        let half = self.scenario.demand.hot_half_life;
        let weights = Cumulative::new(self.torrents.iter().enumerate().map(|(i, t)| {
            if self.registered[i] {
                t.demand_weight(k, top, half)
            } else {
                0.0
            }
        }));
        for a in 0..self.agents.len() {
            let agent = &self.agents[a];
            if !agent.active || !agent.strategy.downloads() {
                continue;
            }
            let down = agent.ids[0];
            let n = poisson(&mut self.rng, self.scenario.demand.downloads_per_epoch);
            for _ in 0..n {
                let Some(t) = weights.draw(&mut self.rng) else {
                    break;
                };
                let size = self.torrents[t].size;
                demand[t] += size;
                if let Some(up) = pick_holder(&mut self.rng, &holders[t], down) {
                    pending.push(Pending {
                        down,
                        up: Some(up),
                        torrent: t as u32,
                        bytes: size,
                        kind: Kind::Demand,
                    });
                }
            }
        }
        // Wash trades: the second identity "downloads" from the first.
        let wash_bytes = self.scenario.adversary.wash_gb_per_epoch * 1_000_000_000;
        for a in 0..self.agents.len() {
            let agent = &self.agents[a];
            if agent.strategy != Strategy::Wash || !agent.active || agent.stored.is_empty() {
                continue;
            }
            let (host, other) = (agent.ids[0], agent.ids[1]);
            let mut done = 0u64;
            let mut guard = 0;
            while done < wash_bytes && guard < 1000 {
                guard += 1;
                let t = agent.stored[self.rng.random_range(0..agent.stored.len())];
                let size = self.torrents[t as usize].size;
                demand[t as usize] += size;
                done += size;
                pending.push(Pending {
                    down: other,
                    up: Some(host),
                    torrent: t,
                    bytes: size,
                    kind: Kind::Wash,
                });
            }
        }
        // This epoch's audits, sampled from what each agent holds now.
        let audits = self.sample_audits(e, &holders, &mut pending)?;

        // Settle every receipt of the epoch.
        let mut failed = self.settle(pending)?;

        // New holdings are what was fetched; report them for e + 1.
        // By agent: what each plan loses.
        failed.sort_unstable();
        for (a, plan) in plans.into_iter().enumerate() {
            let Some(plan) = plan else { continue };
            let lost = {
                let from = failed.partition_point(|f| f.0 < a as u32);
                let to = failed.partition_point(|f| f.0 <= a as u32);
                &failed[from..to]
            };
            let mut plan = match plan {
                Plan::Same if lost.is_empty() => {
                    self.keep_claim(a);
                    continue;
                }
                Plan::Same => self.agents[a].claim.clone(),
                Plan::New(plan) => plan,
            };
            plan.retain(|t| lost.binary_search(&(a as u32, *t)).is_err());
            let stored = match self.agents[a].strategy {
                Strategy::Lazy if plan == self.agents[a].claim => self.agents[a].stored.clone(),
                _ => self.stored_for(a, &plan),
            };
            if !plan.is_empty() || self.agents[a].leaving {
                self.agents[a].claim = plan;
                self.set_stored(a, stored);
            }
        }
        self.report_all(e + 1, &returning)?;

        // 3. The end of the epoch: reveal, results, close.
        self.now = (e + 1) * secs;
        let secret = self.secret(e);
        self.system(SystemTx::EpochReveal { epoch: e, secret })?;
        let audited = audits.len() as u32;
        if !audits.is_empty() {
            self.system(SystemTx::AuditResults {
                epoch: e,
                nodes: audits,
            })?;
        }
        let mut markets: Vec<MarketObservation> = Vec::new();
        for &(id, t) in &self.by_id {
            if !self.registered[t as usize] {
                continue;
            }
            let to_window = |b: u128| -> u64 {
                u64::try_from(b * u128::from(WINDOW_SECS) / u128::from(secs)).unwrap_or(u64::MAX)
            };
            markets.push(MarketObservation {
                torrent: id,
                demand_bytes: to_window(u128::from(demand[t as usize])),
                capacity_bytes: u64::try_from(capacity[t as usize]).unwrap_or(u64::MAX),
            });
        }
        self.holders = holders;
        // Each report's per-torrent bytes go to the ledger once, at the first close it is in
        // force for (the ledger keeps them), as the hub does. By node, then torrent: the nodes
        // sorted, then each node's few torrents.
        let mut undescribed: Vec<u32> = (0..self.ids.len() as u32)
            .filter(|&i| self.ids[i as usize].undescribed)
            .collect();
        undescribed.sort_unstable_by_key(|&i| self.ids[i as usize].address);
        let mut hosted: Vec<HostedBytes> = Vec::new();
        for i in undescribed {
            let id = &mut self.ids[i as usize];
            id.undescribed = false;
            let first = hosted.len();
            hosted.extend(id.current.iter().map(|&t| HostedBytes {
                node: id.address,
                torrent: self.torrents[t as usize].id,
                bytes: self.sizes[t as usize],
            }));
            hosted[first..].sort_unstable_by_key(|h| h.torrent);
        }
        self.system(SystemTx::EpochClose(EpochCloseTx {
            epoch: e,
            markets,
            hosted,
            rtts: Vec::new(),
            auditor_location: String::new(),
        }))?;
        // Borrowed, not cloned: the summary lists every host with its replicas.
        let summary = self.state.economy().last.as_ref().ok_or(no_summary())?;
        credit_close(&mut self.agents, &self.by_address, summary)?;

        // Costs of the epoch, then the switch to e + 1.
        let disk_rate = u128::from(self.scenario.costs.disk_micro_per_gb_epoch) * MICRO;
        for a in 0..self.agents.len() {
            if !self.agents[a].active {
                continue;
            }
            debug_assert_eq!(self.stored_bytes[a], self.bytes_of(&self.agents[a].stored));
            let bytes = u128::from(self.stored_bytes[a]);
            let cost = mul(bytes, disk_rate)? / 1_000_000_000;
            let p = &mut self.agents[a].pnl;
            p.disk_cost = add(p.disk_cost, cost)?;
        }
        self.reports_take_force();
        for (a, agent) in self.agents.iter_mut().enumerate() {
            agent.active = (agent.active && !agent.leaving) || (returning[a] && agent.member);
            agent.leaving = false;
        }
        if self.scenario.check_conservation {
            self.check_conservation()?;
        }
        let row = self.row(k, e, &demand, audited)?;
        self.step += 1;
        Ok(row)
    }

    /// The reports made for the next epoch come into force.
    fn reports_take_force(&mut self) {
        for (id, answer) in self.ids.iter_mut().zip(&mut self.answers) {
            if let Some(next) = id.next.take() {
                id.current = next;
                id.undescribed = true;
                *answer = None;
            }
        }
    }

    /// Keeps an agent's claim for the next epoch: what it keeps follows as for a new claim
    /// (`stored_for`), without copying the claim.
    fn keep_claim(&mut self, a: usize) {
        let agent = &self.agents[a];
        if agent.claim.is_empty() && !agent.leaving {
            return;
        }
        match agent.strategy {
            // The same claim, the same part of it kept (`stored_for` would draw anew).
            Strategy::Lazy => {}
            Strategy::Outsourcer if !agent.stored.is_empty() => self.set_stored(a, Vec::new()),
            Strategy::Outsourcer => {}
            _ if agent.stored != agent.claim => self.set_stored(a, agent.claim.clone()),
            _ => {}
        }
    }

    /// Late joiners that return stake the minimum and join.
    #[allow(clippy::needless_range_loop)] // `a` indexes agents, whose methods borrow `self`.
    fn joins(&mut self, returning: &mut [bool]) -> Result<(), SimError> {
        let min = self.state.join_stake();
        let lock = self.now + self.genesis.max_lock_secs();
        for a in 0..self.agents.len() {
            if !returning[a] || self.agents[a].member {
                continue;
            }
            let mut ok = true;
            for i in self.agents[a].ids.clone() {
                let addr = self.ids[i as usize].address;
                let stake = UserTx::Stake(Stake {
                    account: addr,
                    amount: min,
                    lock_until: lock,
                    nonce: self.nonce(&addr),
                });
                ok &= self.user(Some(i), stake).is_ok();
                let join = UserTx::Join(Join {
                    account: addr,
                    name: self.ids[i as usize].name.clone(),
                    nonce: self.nonce(&addr),
                });
                ok &= self.user(Some(i), join).is_ok();
            }
            self.agents[a].member = ok;
            returning[a] = ok;
        }
        Ok(())
    }

    /// Downloaders (and a wash trader's paying identity) buy tokens from the treasury when low.
    fn topups(&mut self) -> Result<(), SimError> {
        let below = Amount::tokens(self.scenario.funds.topup_below);
        let amount = Amount::tokens(self.scenario.funds.topup);
        let op = self.operator.address();
        if amount == Amount::ZERO {
            return Ok(());
        }
        // (agent, address that buys), in agent order.
        let buyers: Vec<(usize, Address)> = (self.agents.iter().enumerate())
            .filter(|(_, agent)| agent.active)
            .filter_map(|(a, agent)| {
                let id = match agent.strategy {
                    Strategy::Downloader => agent.ids[0],
                    Strategy::Wash => agent.ids[1],
                    _ => return None,
                };
                Some((a, self.ids[id as usize].address))
            })
            .collect();
        // Who is low, read in address order (far cheaper from the ledger's map by address) before
        // any transfer: a transfer from the treasury changes no balance but its recipient's, so
        // each read is what it would be just before that buyer's turn.
        let mut low = vec![false; buyers.len()];
        let mut order: Vec<usize> = (0..buyers.len()).collect();
        order.sort_unstable_by_key(|&b| buyers[b].1);
        for b in order {
            low[b] = self.state.account(&buyers[b].1).balance < below;
        }
        for (&(a, to), low) in buyers.iter().zip(low) {
            if !low {
                continue;
            }
            let tx = UserTx::Transfer(Transfer {
                from: op,
                to,
                amount,
                nonce: self.nonce(&op),
            });
            if self.user(None, tx).is_ok() {
                let p = &mut self.agents[a].pnl;
                p.capital_in = add(p.capital_in, amount.0)?;
            }
        }
        Ok(())
    }

    /// Audits of epoch `e` for every identity with a report in force that the hub audits (active
    /// member, not disqualified, claiming something): each challenge lands on a torrent with
    /// probability proportional to its bytes (a uniformly drawn block of the claim, as
    /// `audit::draw` does) and passes if the agent really holds it — or, for the adversaries, as
    /// their model says. Returns the results in ascending address order.
    fn sample_audits(
        &mut self,
        e: u64,
        holders: &[Vec<u32>],
        pending: &mut Vec<Pending>,
    ) -> Result<Vec<NodeAudit>, SimError> {
        let samples = self.genesis.audit_samples;
        let miss_bps = self.scenario.adversary.offline_miss_bps;
        // Worked out anew only where a report or holdings changed, in identity order, before the
        // walk in address order, which then touches neither for most identities.
        for (id, answer) in self.ids.iter().zip(&mut self.answers) {
            if answer.is_none() {
                *answer = Some(Answer::of(id, &self.agents[id.agent as usize]));
            }
        }
        debug_assert!(
            (self.ids.iter().zip(&self.answers))
                .all(|(id, a)| *a == Some(Answer::of(id, &self.agents[id.agent as usize])))
        );
        // The ledger's hosts and accounts by address, walked alongside: cheaper than a lookup per
        // identity.
        let hosts = self.state.hosts();
        let mut host = AddressWalk::new(&hosts);
        let mut active = vec![false; self.by_address.len()];
        {
            let mut accounts = self.state.accounts().peekable();
            for (is, (address, _)) in active.iter_mut().zip(&self.by_address) {
                while accounts.next_if(|(a, _)| *a < address).is_some() {}
                *is = (accounts.next_if(|(a, _)| *a == address))
                    .is_some_and(|(_, a)| self.state.is_active_account(a));
            }
        }
        let mut out = Vec::new();
        for (idx, &is_active) in active.iter().enumerate() {
            let (address, i) = self.by_address[idx];
            let answer = self.answers[i as usize].unwrap_or_else(|| {
                let id = &self.ids[i as usize];
                Answer::of(id, &self.agents[id.agent as usize])
            });
            if answer == Answer::Unclaimed || !is_active {
                continue;
            }
            if host.find(&address).is_none_or(|h| h.disqualified) {
                continue;
            }
            let outcomes = match answer {
                Answer::Unclaimed => continue,
                Answer::Passes => vec![AuditMark::Pass; samples as usize],
                Answer::MayMiss => (0..samples)
                    .map(|_| {
                        if bps(&mut self.rng, miss_bps) {
                            AuditMark::Offline
                        } else {
                            AuditMark::Pass
                        }
                    })
                    .collect(),
                Answer::Draws => match self.drawn_audit(i, holders, pending) {
                    Some(marks) => marks,
                    None => continue,
                },
            };
            out.push(NodeAudit {
                node: address,
                outcomes,
                evidence: Vec::new(),
            });
        }
        let _ = e;
        Ok(out)
    }

    /// The challenges of an identity that keeps only part of its claim, or none of it: each lands
    /// on a torrent of the claim with probability proportional to its bytes, and passes if the
    /// agent keeps it, or as the adversary's model says. `None` if the claim has no bytes.
    fn drawn_audit(
        &mut self,
        i: u32,
        holders: &[Vec<u32>],
        pending: &mut Vec<Pending>,
    ) -> Option<Vec<AuditMark>> {
        let samples = self.genesis.audit_samples;
        let a = self.ids[i as usize].agent as usize;
        let strategy = self.agents[a].strategy;
        let claim = self.ids[i as usize].current.clone();
        let cumulative =
            Cumulative::new(claim.iter().map(|&t| self.torrents[t as usize].size as f64));
        let mut marks = Vec::with_capacity(samples as usize);
        // Outsourced fetches per torrent: (uploader, bytes).
        let mut fetched: BTreeMap<u32, (u32, u64)> = BTreeMap::new();
        for _ in 0..samples {
            let Some(j) = cumulative.draw(&mut self.rng) else {
                break;
            };
            let t = claim[j];
            let holds = self.agents[a].stored.binary_search(&t).is_ok();
            let mark = match strategy {
                Strategy::Offline => {
                    if bps(&mut self.rng, self.scenario.adversary.offline_miss_bps) {
                        AuditMark::Offline
                    } else if holds {
                        AuditMark::Pass
                    } else {
                        AuditMark::Missing
                    }
                }
                Strategy::Outsourcer => {
                    match pick_holder(&mut self.rng, &holders[t as usize], self.host_id[a]) {
                        None => AuditMark::Missing,
                        Some(up) => {
                            let f = fetched.entry(t).or_insert((up, 0));
                            f.1 += BLOCK;
                            if bps(&mut self.rng, self.scenario.adversary.outsource_timeout_bps) {
                                AuditMark::Offline
                            } else {
                                AuditMark::Pass
                            }
                        }
                    }
                }
                _ if holds => AuditMark::Pass,
                _ => AuditMark::Missing,
            };
            marks.push(mark);
        }
        if marks.is_empty() {
            return None;
        }
        for (t, (up, bytes)) in fetched {
            pending.push(Pending {
                down: i,
                up: Some(up),
                torrent: t,
                bytes: bytes.min(self.torrents[t as usize].size),
                kind: Kind::Outsource,
            });
        }
        Some(marks)
    }

    /// Settles the epoch's receipts through the ledger; returns the (agent, torrent) fetches of new
    /// holdings that did not settle in full (the uploader stops serving an unpaid downloader).
    fn settle(&mut self, pending: Vec<Pending>) -> Result<Vec<(u32, u32)>, SimError> {
        let collective = self.collective;
        let bw_rate = u128::from(self.scenario.costs.bandwidth_micro_per_gb) * MICRO;
        let mut failed = Vec::new();
        // The receipts for the ledger, in `Settle` entries' chunks, and what each one settles.
        let mut sent: Vec<&Pending> = Vec::new();
        let mut chunks: Vec<Vec<Signed<Receipt>>> = Vec::new();
        for p in &pending {
            let down = &self.ids[p.down as usize];
            let Some(up) = p.up else {
                // From the publisher, off the ledger: only the transfer costs.
                let cost = mul(u128::from(p.bytes), bw_rate)? / 1_000_000_000;
                let pnl = &mut self.agents[down.agent as usize].pnl;
                pnl.bandwidth_cost = add(pnl.bandwidth_cost, cost)?;
                continue;
            };
            self.sessions += 1;
            let receipt = Receipt {
                collective,
                torrent: self.torrents[p.torrent as usize].id,
                uploader: self.ids[up as usize].address,
                downloader: down.address,
                // Unique is all a session id must be: the run's seed and a counter.
                session: session_at(self.now, {
                    let mut unique = [0u8; 24];
                    unique[..8].copy_from_slice(&self.scenario.seed.to_be_bytes());
                    unique[8..16].copy_from_slice(&self.sessions.to_be_bytes());
                    unique
                }),
                bytes: p.bytes,
            };
            let signed = match (&down.key, self.scenario.sign) {
                (Some(k), true) => Signed::<Receipt>::sign(&self.domain, k, receipt),
                _ => Signed {
                    message: receipt,
                    signature: self.dummy,
                },
            };
            if chunks.last().is_none_or(|c| c.len() == SETTLE_CHUNK) {
                chunks.push(Vec::with_capacity(SETTLE_CHUNK));
            }
            if let Some(chunk) = chunks.last_mut() {
                chunk.push(signed);
            }
            sent.push(p);
        }
        for (chunk, receipts) in sent.chunks(SETTLE_CHUNK).zip(chunks) {
            let effects = self.system(SystemTx::Settle { receipts })?;
            for (p, outcome) in chunk.iter().zip(effects.receipts) {
                let down_agent = self.ids[p.down as usize].agent;
                let up_agent = p.up.map(|u| self.ids[u as usize].agent);
                let settled = match outcome {
                    ReceiptOutcome::Settled {
                        bytes,
                        charged,
                        paid,
                        ..
                    } => {
                        self.receipts_settled += 1;
                        let d = &mut self.agents[down_agent as usize].pnl;
                        d.downloads = add(d.downloads, charged.0)?;
                        if let Some(u) = up_agent {
                            let u = &mut self.agents[u as usize].pnl;
                            u.uploads = add(u.uploads, paid.0)?;
                        }
                        bytes
                    }
                    ReceiptOutcome::Rejected { .. } => {
                        self.receipts_refused += 1;
                        0
                    }
                };
                // A wash trade moves no data: its receipts are signatures only.
                if p.kind != Kind::Wash && settled > 0 {
                    let cost = mul(u128::from(settled), bw_rate)? / 1_000_000_000;
                    let d = &mut self.agents[down_agent as usize].pnl;
                    d.bandwidth_cost = add(d.bandwidth_cost, cost)?;
                    if let Some(u) = up_agent {
                        let u = &mut self.agents[u as usize].pnl;
                        u.bandwidth_cost = add(u.bandwidth_cost, cost)?;
                    }
                }
                if p.kind == Kind::Acquire && settled < p.bytes {
                    failed.push((down_agent, p.torrent));
                }
            }
        }
        Ok(failed)
    }

    /// Reports for `epoch` by every identity whose agent's claim differs from its report in force.
    #[allow(clippy::needless_range_loop)] // `a` indexes agents, whose methods borrow `self`.
    fn report_all(&mut self, epoch: u64, returning: &[bool]) -> Result<(), SimError> {
        for a in 0..self.agents.len() {
            let agent = &self.agents[a];
            if !agent.strategy.hosts() || !agent.member || !(agent.active || returning[a]) {
                continue;
            }
            for k in 0..agent.ids.len() {
                let agent = &self.agents[a];
                let i = agent.ids[k];
                // A leaver reports an empty claim: nothing to audit, nothing to pay, no penalty.
                let claim: &[u32] = if agent.leaving { &[] } else { &agent.claim };
                let id = &self.ids[i as usize];
                if id.dead || id.current == claim {
                    continue;
                }
                if agent.strategy == Strategy::Wash && i != agent.ids[0] {
                    continue;
                }
                // Copied only for the few identities that report.
                let claim = claim.to_vec();
                let addr = id.address;
                let claimed = self.bytes_of(&claim);
                let mut hashed = Vec::with_capacity(28 + 4 * claim.len());
                hashed.extend_from_slice(&addr.0);
                hashed.extend_from_slice(&epoch.to_be_bytes());
                for t in &claim {
                    hashed.extend_from_slice(&self.torrents[*t as usize].id);
                }
                let tx = UserTx::Report(Report {
                    node: addr,
                    epoch,
                    report_hash: keccak256(&hashed),
                    claimed_bytes: claimed,
                    endpoint: "192.0.2.1:6881".into(),
                    location: String::new(),
                    nonce: self.nonce(&addr),
                });
                match self.user(Some(i), tx) {
                    Ok(_) => self.ids[i as usize].next = Some(claim),
                    Err(TxError::Disqualified(_) | TxError::NotMember(_)) => {
                        self.ids[i as usize].dead = true;
                    }
                    Err(_) => {}
                }
            }
        }
        Ok(())
    }

    fn row(&mut self, k: u64, e: u64, demand: &[u64], audited: u32) -> Result<EpochRow, SimError> {
        let supply = self.state.supply();
        let minted_epoch = supply.minted.0 - self.last_supply.0;
        let burned_epoch = supply.burned.0 - self.last_supply.1;
        self.last_supply = (supply.minted.0, supply.burned.0);
        let s = self.state.economy().last.as_ref().ok_or(no_summary())?;
        // A full verified replica: some host's verified bytes of it equal its size (agents claim
        // whole torrents: the claimed bytes are the size). The walk stops once every registered
        // torrent has one.
        let registered = self.registered.iter().filter(|r| **r).count() as u32;
        let mut full = vec![false; self.torrents.len()];
        let mut without = registered;
        'hosts: for h in &s.hosts {
            for r in &h.replicas {
                if r.verified_bytes == 0 || r.verified_bytes < r.claimed_bytes {
                    continue;
                }
                let Some(t) = self.torrent_index(&r.torrent) else {
                    continue;
                };
                if self.registered[t] && !full[t] {
                    full[t] = true;
                    without -= 1;
                    if without == 0 {
                        break 'hosts;
                    }
                }
            }
        }
        let available = registered - without;
        let replicas_total: u128 = s
            .torrents
            .iter()
            .map(|t| u128::from(t.replicas_milli))
            .sum();
        let mean_replicas_milli = if s.torrents.is_empty() {
            0
        } else {
            (replicas_total / s.torrents.len() as u128) as u64
        };
        // The most demanded first, ties by index: only the first `hottest` are needed in order.
        let by_demand =
            |a: &u32, b: &u32| demand[*b as usize].cmp(&demand[*a as usize]).then(a.cmp(b));
        let mut order: Vec<u32> = (0..self.torrents.len() as u32)
            .filter(|&t| self.registered[t as usize])
            .collect();
        if self.scenario.hottest < order.len() {
            order.select_nth_unstable_by(self.scenario.hottest, by_demand);
            order.truncate(self.scenario.hottest);
        }
        order.sort_by(by_demand);
        let mut hottest = Vec::new();
        for &t in &order {
            let id = self.torrents[t as usize].id;
            let Ok(pos) = s.torrents.binary_search_by_key(&id, |o| o.torrent) else {
                continue;
            };
            let o = &s.torrents[pos];
            hottest.push(TorrentRow {
                index: t,
                demand_bytes: demand[t as usize],
                replicas_milli: o.replicas_milli,
                price_per_gib: o.price_after.0 * ledger::genesis::GIB,
                saturation_wad: o.saturation_wad,
                weight_wad: o.weight_after,
            });
        }
        let mut pnl: Vec<StrategyPnl> = Strategy::ALL
            .iter()
            .map(|&strategy| StrategyPnl {
                strategy,
                ..StrategyPnl::default()
            })
            .collect();
        let mut honest_roi_bps = Vec::new();
        let stake = self.genesis.min_stake.0.max(1);
        let wealth = self.wealths()?;
        for (agent, w) in self.agents.iter().zip(wealth) {
            let v = agent.pnl.view(w)?;
            let Some(sp) = pnl.iter_mut().find(|sp| sp.strategy == agent.strategy) else {
                continue;
            };
            sp.agents += 1;
            sp.profit = sp
                .profit
                .checked_add(v.profit)
                .ok_or(SimError::Overflow("row"))?;
            sp.penalties = sp
                .penalties
                .checked_add(v.penalties)
                .ok_or(SimError::Overflow("row"))?;
            sp.costs = sp
                .costs
                .checked_add(v.costs)
                .ok_or(SimError::Overflow("row"))?;
            if agent.strategy == Strategy::Honest && agent.member {
                let capital = stake * agent.ids.len() as u128;
                honest_roi_bps.push((v.profit * 10_000 / capital as i128) as i64);
            }
        }
        let hosts = self.state.hosts();
        Ok(EpochRow {
            timestep: k + 1,
            epoch: e,
            supply: supply.minted.0 - supply.burned.0,
            minted: supply.minted.0,
            burned: supply.burned.0,
            minted_epoch,
            burned_epoch,
            balances: supply.balances.0,
            staked: supply.stakes.0,
            vesting: supply.vesting.0,
            stakers_pool: supply.stakers_pool.0,
            pools: supply.pools.0,
            active_agents: self.agents.iter().filter(|a| a.active).count() as u32,
            audited,
            frozen: hosts
                .iter()
                .filter(|(_, h)| h.frozen && !h.disqualified)
                .count() as u32,
            disqualified: hosts.iter().filter(|(_, h)| h.disqualified).count() as u32,
            torrents: registered,
            availability_bps: (available * 10_000).checked_div(registered).unwrap_or(0),
            mean_replicas_milli,
            target_replicas: self.genesis.economy.target_replicas,
            hottest,
            pnl,
            honest_roi_bps,
            refused_user_txs: self.refused,
            receipts_settled: self.receipts_settled,
            receipts_refused: self.receipts_refused,
        })
    }

    /// Each agent's P&L now: (strategy, identities, disk bytes, figures).
    pub fn agent_pnls(&self) -> Result<Vec<(Strategy, usize, u64, crate::pnl::PnlView)>, SimError> {
        self.agents
            .iter()
            .zip(self.wealths()?)
            .map(|(ag, w)| Ok((ag.strategy, ag.ids.len(), ag.disk, ag.pnl.view(w)?)))
            .collect()
    }

    /// The token's base units per whole token (for callers formatting amounts).
    pub const TOKEN: u128 = TOKEN;

    /// The operator's key (derived from the seed): what signs the system entries, so a real
    /// hub (`ledger::Ledger`) can be founded from the same genesis and write the same log.
    pub fn operator(&self) -> &SecretKey {
        &self.operator
    }
}

fn no_summary() -> SimError {
    SimError::Conservation("a close left no summary".into())
}

/// Credits the close's hosting rewards and staker shares to the agents. A function of the fields
/// it needs, not of `Sim`: the summary stays borrowed from the state. The close lists accounts by
/// address: the credits go to a table by identity first, then to the agents in their order, as
/// crediting each agent directly would jump around all of them.
fn credit_close(
    agents: &mut [Agent],
    by_address: &[(Address, u32)],
    s: &CloseSummary,
) -> Result<(), SimError> {
    // By identity (`by_address` lists each once).
    let n = by_address.len();
    let (mut hosting, mut fees) = (vec![0u128; n], vec![0u128; n]);
    let mut hosts = AddressWalk::new(by_address);
    for h in &s.hosts {
        if let Some(&i) = hosts.find(&h.node) {
            hosting[i as usize] = add(hosting[i as usize], add(h.reward.0, h.sponsored.0)?)?;
        }
    }
    let mut stakers = AddressWalk::new(by_address);
    for st in &s.stakers {
        if let Some(&i) = stakers.find(&st.account) {
            fees[i as usize] = add(fees[i as usize], st.paid.0)?;
        }
    }
    for agent in agents {
        for &i in &agent.ids {
            let p = &mut agent.pnl;
            p.hosting = add(p.hosting, hosting[i as usize])?;
            p.fees = add(p.fees, fees[i as usize])?;
        }
    }
    Ok(())
}

/// Finds entries by address in a list sorted by address (`by_address`, the ledger's hosts) for
/// addresses that come in ascending order, as the close lists hosts and stakers: one forward walk
/// instead of a binary search over the whole list per address. It gallops, so sparse lookups stay
/// cheap, and it stays correct (only slower) if the order is not ascending after all.
struct AddressWalk<'a, T> {
    items: &'a [(Address, T)],
    /// Every entry before it is below the last address looked up.
    at: usize,
}

impl<'a, T> AddressWalk<'a, T> {
    fn new(items: &'a [(Address, T)]) -> Self {
        AddressWalk { items, at: 0 }
    }

    fn find(&mut self, a: &Address) -> Option<&'a T> {
        let v = self.items;
        if self.at > 0 && v[self.at - 1].0 >= *a {
            self.at = 0;
        }
        // Steps of 1, 2, 4, … while still below `a`, then a binary search in the last step.
        let (mut end, mut step) = (self.at, 1);
        while end < v.len() && v[end].0 < *a {
            self.at = end + 1;
            end += step;
            step *= 2;
        }
        let end = end.min(v.len());
        self.at += v[self.at..end].partition_point(|(x, _)| x < a);
        v.get(self.at).filter(|(x, _)| x == a).map(|(_, t)| t)
    }
}

fn system_name(tx: &SystemTx) -> &'static str {
    match tx {
        SystemTx::Genesis(_) => "genesis",
        SystemTx::RegisterTorrent { .. } => "register_torrent",
        SystemTx::Admit { .. } => "admit",
        SystemTx::Settle { .. } => "settle",
        SystemTx::EpochCommit { .. } => "epoch_commit",
        SystemTx::EpochReveal { .. } => "epoch_reveal",
        SystemTx::AuditResults { .. } => "audit_results",
        SystemTx::EpochClose(_) => "epoch_close",
        SystemTx::Chain { .. } => "chain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_walk_finds_what_a_binary_search_finds_in_any_order() {
        let by_address: Vec<(Address, u32)> = (0..200u32)
            .map(|i| (Address([(i * 3 / 256) as u8; 20]), i))
            .map(|(mut a, i)| {
                a.0[19] = (i * 3 % 256) as u8;
                (a, i)
            })
            .collect();
        assert!(by_address.windows(2).all(|w| w[0].0 < w[1].0));
        let search = |a: &Address| {
            by_address
                .binary_search_by_key(a, |(x, _)| *x)
                .ok()
                .map(|p| by_address[p].1)
        };
        let probe = |n: u32| {
            let mut a = Address([(n / 256) as u8; 20]);
            a.0[19] = (n % 256) as u8;
            a
        };
        let ascending: Vec<Address> = (0..620).step_by(2).map(probe).collect();
        let repeated: Vec<Address> = [3, 3, 4, 300, 300, 301].map(probe).to_vec();
        let shuffled: Vec<Address> = [597, 0, 300, 299, 6, 6, 1000, 3].map(probe).to_vec();
        for addresses in [ascending, repeated, shuffled] {
            let mut walk = AddressWalk::new(&by_address);
            for a in &addresses {
                assert_eq!(walk.find(a).copied(), search(a), "{a:?}");
            }
        }
    }
}
