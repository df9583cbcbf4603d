//! Private-tracker logic, free of I/O: parse announces and scrapes, keep swarms in memory, account
//! exactly, and hand accounting deltas to whoever stores them (the hub).
//!
//! - [`request`]: parsers of the untrusted query strings.
//! - [`accounting`]: the crediting rules and the summing queues.
//! - [`swarm`]: one torrent's peers.
//! - [`Tracker`]: members, registered torrents and sharded swarms behind `&self` methods, so an HTTP
//!   server can call it from many tasks at once.
//!
//! Invariants:
//! - only registered torrents have swarms; an announce for anything else changes nothing;
//! - every change to a peer's baseline and the delta it produced are recorded under the same shard
//!   lock, so a batch taken at any moment pairs each credited delta with the baseline after it;
//! - time is passed in (`now`, unix seconds): the tracker never reads a clock, so tests are exact.

pub mod accounting;
pub mod request;
mod response;
pub mod swarm;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use accounting::{Batch, Limits, Pending, Report};
use request::{Event, RequestError};
use response::{Counts, PeerLists};
use swarm::{PeerKey, PeerRecord, Slot, Swarm};

pub use response::failure;

pub type MemberId = u32;
pub type TorrentId = u32;
pub type Passkey = [u8; request::PASSKEY_LEN];

#[derive(Clone, Debug)]
pub struct Config {
    /// Seconds between regular announces, as told to clients.
    pub interval: u32,
    /// Seconds a client must wait at least between announces.
    pub min_interval: u32,
    /// Seconds of silence after which a peer is dropped (clients that never sent `stopped`).
    pub peer_timeout: u32,
    pub default_numwant: u32,
    /// Larger requests are served this many peers.
    pub max_numwant: u32,
    /// Requests above this are refused as malformed rather than clamped.
    pub numwant_limit: u32,
    /// Bytes per second one peer can plausibly move in one direction, averaged over its life (see
    /// [`accounting`]).
    pub max_rate: u64,
    pub shards: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            interval: 1800,
            min_interval: 300,
            peer_timeout: 2 * 1800 + 300,
            default_numwant: 50,
            max_numwant: 100,
            numwant_limit: 10_000,
            // 100 Gbit/s.
            max_rate: 12_500_000_000,
            shards: 16,
        }
    }
}

/// Why an announce or scrape was refused. The `Display` text is the bencoded `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("unknown passkey")]
    UnknownPasskey,
    #[error("membership suspended")]
    Suspended,
    #[error("torrent not registered with this collective")]
    Unregistered,
    #[error("numwant above {0}")]
    NumwantTooLarge(u32),
}

#[derive(Clone, Debug)]
struct Member {
    id: MemberId,
    suspended: bool,
    budget: Arc<Mutex<Budget>>,
}

/// A member's credit allowance per direction: refills at `max_rate` bytes a second up to
/// `max_rate × peer_timeout`. Whatever peers a member invents, it is credited at most what one
/// `max_rate` link carries over wall-clock time (plus one full bucket).
#[derive(Debug)]
struct Budget {
    up: u64,
    down: u64,
    at: u64,
}

impl Budget {
    fn full(capacity: u64, now: u64) -> Budget {
        Budget {
            up: capacity,
            down: capacity,
            at: now,
        }
    }

    /// Takes what it can of `delta` from the allowance; the rest moves to `clamped`.
    fn charge(&mut self, delta: &mut accounting::Delta, rate: u64, capacity: u64, now: u64) {
        let refill = rate.saturating_mul(now.saturating_sub(self.at));
        self.at = self.at.max(now);
        for (tokens, amount) in [
            (&mut self.up, &mut delta.uploaded),
            (&mut self.down, &mut delta.downloaded),
        ] {
            *tokens = tokens.saturating_add(refill).min(capacity);
            let granted = (*amount).min(*tokens);
            *tokens -= granted;
            delta.clamped = delta.clamped.saturating_add(*amount - granted);
            *amount = granted;
        }
    }
}

#[derive(Default)]
struct Shard {
    swarms: HashMap<TorrentId, Swarm>,
    pending: Pending,
}

pub struct Tracker {
    config: Config,
    members: RwLock<HashMap<Passkey, Member>>,
    /// v1 info-hash and truncated v2 info-hash alike.
    hashes: RwLock<HashMap<[u8; 20], TorrentId>>,
    shards: Box<[Mutex<Shard>]>,
}

/// See [`Tracker::flow`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flow {
    pub demand: u64,
    pub capacity: u64,
}

/// Swarm size as scrape reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwarmCounts {
    pub seeders: u32,
    pub leechers: u32,
    pub snatches: u64,
}

impl Tracker {
    pub fn new(config: Config) -> Tracker {
        assert!(config.shards > 0, "a tracker needs at least one shard");
        assert!(config.min_interval <= config.interval);
        assert!(config.max_numwant <= config.numwant_limit);
        let shards = (0..config.shards).map(|_| Mutex::default()).collect();
        Tracker {
            config,
            members: RwLock::default(),
            hashes: RwLock::default(),
            shards,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn shard(&self, torrent: TorrentId) -> MutexGuard<'_, Shard> {
        let i = torrent as usize % self.shards.len();
        // A panic while holding a shard cannot leave it half-updated in a way later announces would
        // misread (each announce rewrites whole records), so a poisoned lock is taken as is.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or updates a member. Suspending one drops its peers at once, so other members stop
    /// being sent to it.
    pub fn set_member(&self, passkey: Passkey, id: MemberId, suspended: bool, now: u64) {
        let capacity = self.budget_capacity();
        self.members
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(passkey)
            .and_modify(|m| m.suspended = suspended)
            .or_insert_with(|| Member {
                id,
                suspended,
                budget: Arc::new(Mutex::new(Budget::full(capacity, now))),
            });
        if suspended {
            for shard in self.shards.iter() {
                let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
                let Shard { swarms, pending } = &mut *shard;
                for (&torrent, swarm) in swarms.iter_mut() {
                    for slot in swarm.remove_member(id) {
                        pending.peers.insert(slot.key(torrent), None);
                    }
                }
            }
        }
    }

    /// Registers a torrent under all its 20-byte wire ids (v1 and truncated v2 for a hybrid).
    pub fn add_torrent(&self, id: TorrentId, wire_ids: &[[u8; 20]], snatches: u64) {
        let mut hashes = self.hashes.write().unwrap_or_else(|e| e.into_inner());
        for h in wire_ids {
            hashes.insert(*h, id);
        }
        drop(hashes);
        self.shard(id).swarms.entry(id).or_default().snatches = snatches;
    }

    /// The store's count of distinct members that completed `torrent`.
    pub fn set_snatches(&self, torrent: TorrentId, snatches: u64) {
        if let Some(swarm) = self.shard(torrent).swarms.get_mut(&torrent) {
            swarm.snatches = snatches;
        }
    }

    /// Puts back peers a previous run stored, with their baselines, so their next announce is
    /// credited from where the store left off. Peers of unregistered torrents are ignored.
    pub fn restore_peers(&self, peers: impl IntoIterator<Item = (PeerKey, PeerRecord)>) -> usize {
        let mut n = 0;
        for (key, record) in peers {
            if let Some(swarm) = self.shard(key.torrent).swarms.get_mut(&key.torrent) {
                swarm.upsert(Slot::of(&key), record);
                n += 1;
            }
        }
        n
    }

    fn budget_capacity(&self) -> u64 {
        self.config
            .max_rate
            .saturating_mul(u64::from(self.config.peer_timeout))
    }

    fn member(&self, passkey: &Passkey) -> Result<Member, Refusal> {
        let members = self.members.read().unwrap_or_else(|e| e.into_inner());
        let member = members.get(passkey).ok_or(Refusal::UnknownPasskey)?;
        if member.suspended {
            return Err(Refusal::Suspended);
        }
        Ok(member.clone())
    }

    fn torrent_id(&self, hash: &[u8; 20]) -> Option<TorrentId> {
        self.hashes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .copied()
    }

    /// Handles `/announce/<passkey>?<query>` from `remote`. Returns the bencoded reply, or why it is
    /// refused (the caller sends [`failure`] of it). A refusal changes nothing.
    pub fn announce(
        &self,
        passkey: &str,
        query: &[u8],
        remote: IpAddr,
        now: u64,
    ) -> Result<Vec<u8>, Refusal> {
        let passkey = request::parse_passkey(passkey).map_err(|_| Refusal::UnknownPasskey)?;
        let member = self.member(&passkey)?;
        let req = request::parse_announce(query)?;
        if req.numwant.is_some_and(|n| n > self.config.numwant_limit) {
            return Err(Refusal::NumwantTooLarge(self.config.numwant_limit));
        }
        let torrent = self
            .torrent_id(&req.info_hash)
            .ok_or(Refusal::Unregistered)?;
        let slot = Slot {
            member: member.id,
            peer_id: req.peer_id,
            key: req.key,
        };
        let limits = Limits {
            peer_timeout: u64::from(self.config.peer_timeout),
            max_rate: self.config.max_rate,
        };

        let mut shard = self.shard(torrent);
        // Again under the shard lock: a suspension that swept this shard while we parsed must not
        // be undone by this announce.
        self.member(&passkey)?;
        let Shard { swarms, pending } = &mut *shard;
        let swarm = swarms.get_mut(&torrent).ok_or(Refusal::Unregistered)?;
        let previous = swarm.get(&slot).copied();
        let mut record = previous.unwrap_or(PeerRecord {
            v4: None,
            v6: None,
            uploaded: req.uploaded,
            downloaded: req.downloaded,
            left: req.left,
            last_announce: now,
            first_seen: now,
            credited_up: 0,
            credited_down: 0,
        });
        if let Some(prev) = &previous {
            let report = Report {
                uploaded: req.uploaded,
                downloaded: req.downloaded,
                left: req.left,
                completed_event: req.event == Event::Completed,
                now,
            };
            let mut delta = accounting::credit(prev, &report, &limits);
            member
                .budget
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .charge(&mut delta, limits.max_rate, self.budget_capacity(), now);
            record.credited_up = record.credited_up.saturating_add(delta.uploaded);
            record.credited_down = record.credited_down.saturating_add(delta.downloaded);
            pending.add(member.id, torrent, &delta);
        }
        record.uploaded = req.uploaded;
        record.downloaded = req.downloaded;
        record.left = req.left;
        record.last_announce = now.max(record.last_announce);
        match remote.to_canonical() {
            IpAddr::V4(ip) => record.v4 = Some(SocketAddrV4::new(ip, req.port)),
            IpAddr::V6(ip) => record.v6 = Some(SocketAddrV6::new(ip, req.port, 0, 0)),
        }

        let key = slot.key(torrent);
        let want = if req.event == Event::Stopped {
            if previous.is_some() {
                swarm.remove(&slot);
                pending.peers.insert(key, None);
            }
            0
        } else {
            swarm.upsert(slot, record);
            pending.peers.insert(key, Some(record));
            req.numwant
                .unwrap_or(self.config.default_numwant)
                .min(self.config.max_numwant) as usize
        };

        let mut peers = PeerLists {
            compact: req.compact,
            no_peer_id: req.no_peer_id,
            ..PeerLists::default()
        };
        swarm.select(&slot, record.is_seeder(), want, |s, p| {
            if let Some(a) = p.v4 {
                peers.v4.push((a, s.peer_id));
            }
            if let Some(a) = p.v6 {
                peers.v6.push((a, s.peer_id));
            }
        });
        let counts = Counts {
            complete: u64::from(swarm.seeders()),
            incomplete: u64::from(swarm.leechers()),
            downloaded: swarm.snatches,
        };
        Ok(response::announce(
            &counts,
            self.config.interval,
            self.config.min_interval,
            &peers,
        ))
    }

    /// Handles `/scrape/<passkey>?info_hash=...` (BEP 48). Unregistered hashes are left out.
    pub fn scrape(&self, passkey: &str, query: &[u8]) -> Result<Vec<u8>, Refusal> {
        let passkey = request::parse_passkey(passkey).map_err(|_| Refusal::UnknownPasskey)?;
        self.member(&passkey)?;
        let hashes = request::parse_scrape(query)?;
        let mut files = Vec::with_capacity(hashes.len());
        for hash in hashes {
            if let Some(id) = self.torrent_id(&hash)
                && let Some(c) = self.counts(id)
            {
                let counts = Counts {
                    complete: u64::from(c.seeders),
                    incomplete: u64::from(c.leechers),
                    downloaded: c.snatches,
                };
                files.push((hash, counts));
            }
        }
        Ok(response::scrape(&files))
    }

    pub fn counts(&self, torrent: TorrentId) -> Option<SwarmCounts> {
        let shard = self.shard(torrent);
        let swarm = shard.swarms.get(&torrent)?;
        Some(SwarmCounts {
            seeders: swarm.seeders(),
            leechers: swarm.leechers(),
            snatches: swarm.snatches,
        })
    }

    /// A swarm's expected download demand and upload capacity over the next `window` seconds, in
    /// bytes: the surge-pricing saturation's two sides (`docs/economics.md`). Each peer's rate is
    /// what it was credited over its time in the swarm; a peer too new (or too idle) to have a
    /// rate counts at `assumed_rate` bytes/s, so a fresh swarm reads as peers wanting against
    /// peers offering:
    /// - demand: per leecher, what it still lacks, at most `max(down rate, assumed) × window`;
    /// - capacity: per seeder `max(up rate, assumed) × window`, per leecher its measured up rate
    ///   × window (a leecher shares only what it has).
    pub fn flow(&self, torrent: TorrentId, window: u64, assumed_rate: u64) -> Option<Flow> {
        let shard = self.shard(torrent);
        let swarm = shard.swarms.get(&torrent)?;
        let mut flow = Flow::default();
        for p in swarm.records() {
            let age = p.last_announce.saturating_sub(p.first_seen).max(1);
            let up = p.credited_up / age;
            let down = p.credited_down / age;
            if p.is_seeder() {
                flow.capacity = flow
                    .capacity
                    .saturating_add(up.max(assumed_rate).saturating_mul(window));
            } else {
                let want = down.max(assumed_rate).saturating_mul(window).min(p.left);
                flow.demand = flow.demand.saturating_add(want);
                flow.capacity = flow.capacity.saturating_add(up.saturating_mul(window));
            }
        }
        Some(flow)
    }

    /// Peers in all swarms.
    pub fn peer_count(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.swarms.values().map(Swarm::len).sum::<usize>()
            })
            .sum()
    }

    /// Drops peers silent for longer than the peer timeout. Their last announce was credited; what
    /// they did after it is unknowable. Returns how many went.
    pub fn expire(&self, now: u64) -> usize {
        let deadline = now.saturating_sub(u64::from(self.config.peer_timeout));
        let mut n = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let Shard { swarms, pending } = &mut *shard;
            for (&torrent, swarm) in swarms.iter_mut() {
                for slot in swarm.expire(deadline) {
                    pending.peers.insert(slot.key(torrent), None);
                    n += 1;
                }
            }
        }
        n
    }

    /// Takes everything pending for the store. Give it back with [`Tracker::restore_batch`] if the
    /// store fails.
    pub fn take_batch(&self) -> Batch {
        let mut batch = Batch::default();
        for shard in self.shards.iter() {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pending
                .drain_into(&mut batch);
        }
        batch
    }

    pub fn restore_batch(&self, batch: Batch) {
        let n = self.shards.len();
        let mut deltas: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
        let mut peers: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
        for (k, d) in batch.deltas {
            deltas[k.1 as usize % n].push((k, d));
        }
        for (k, p) in batch.peers {
            peers[k.torrent as usize % n].push((k, p));
        }
        for ((shard, d), p) in self.shards.iter().zip(deltas).zip(peers) {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pending
                .restore(d, p);
        }
    }
}

#[cfg(test)]
mod tests;
