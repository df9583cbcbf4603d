//! One torrent's swarm in memory: its peers, with the counters last credited for each.

use std::net::{SocketAddrV4, SocketAddrV6};

use indexmap::IndexMap;
use rand::Rng;

use crate::{MemberId, TorrentId};

/// A peer as the accounting sees it. Never an address: the same client reaches us over IPv4 and
/// IPv6, and many members share one NAT address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey {
    pub torrent: TorrentId,
    pub member: MemberId,
    pub peer_id: [u8; 20],
    /// FNV-1a of the client's BEP 7 `key`.
    pub key: u64,
}

/// What the tracker knows about a peer; also what the store keeps so a restarted hub carries on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    pub v4: Option<SocketAddrV4>,
    pub v6: Option<SocketAddrV6>,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub last_announce: u64,
    pub first_seen: u64,
    /// Credited over the peer's life, per direction (the ceiling in [`crate::accounting`]).
    pub credited_up: u64,
    pub credited_down: u64,
}

impl PeerRecord {
    pub fn is_seeder(&self) -> bool {
        self.left == 0
    }
}

/// Key of a peer within its swarm (the torrent is implied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Slot {
    pub member: MemberId,
    pub peer_id: [u8; 20],
    pub key: u64,
}

impl Slot {
    pub fn of(key: &PeerKey) -> Slot {
        Slot {
            member: key.member,
            peer_id: key.peer_id,
            key: key.key,
        }
    }

    pub fn key(&self, torrent: TorrentId) -> PeerKey {
        PeerKey {
            torrent,
            member: self.member,
            peer_id: self.peer_id,
            key: self.key,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Swarm {
    /// Insertion-ordered so a random window of peers is cheap to hand out.
    peers: IndexMap<Slot, PeerRecord>,
    seeders: u32,
    /// Distinct members that completed the torrent, as last counted by the store.
    pub snatches: u64,
}

impl Swarm {
    pub fn get(&self, slot: &Slot) -> Option<&PeerRecord> {
        self.peers.get(slot)
    }

    pub fn seeders(&self) -> u32 {
        self.seeders
    }

    pub fn leechers(&self) -> u32 {
        self.peers.len() as u32 - self.seeders
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn records(&self) -> impl Iterator<Item = &PeerRecord> {
        self.peers.values()
    }

    pub fn upsert(&mut self, slot: Slot, record: PeerRecord) {
        let now_seeder = record.is_seeder();
        match self.peers.insert(slot, record) {
            Some(old) if old.is_seeder() == now_seeder => {}
            Some(old) if old.is_seeder() => self.seeders -= 1,
            _ if now_seeder => self.seeders += 1,
            _ => {}
        }
    }

    pub fn remove(&mut self, slot: &Slot) -> Option<PeerRecord> {
        let old = self.peers.swap_remove(slot)?;
        if old.is_seeder() {
            self.seeders -= 1;
        }
        Some(old)
    }

    /// Removes peers silent since before `deadline`, and returns them.
    pub fn expire(&mut self, deadline: u64) -> Vec<Slot> {
        let gone: Vec<Slot> = self
            .peers
            .iter()
            .filter(|(_, p)| p.last_announce < deadline)
            .map(|(s, _)| *s)
            .collect();
        for slot in &gone {
            self.remove(slot);
        }
        gone
    }

    /// Removes every peer of `member` (suspended), and returns them.
    pub fn remove_member(&mut self, member: MemberId) -> Vec<Slot> {
        let gone: Vec<Slot> = self
            .peers
            .keys()
            .filter(|s| s.member == member)
            .copied()
            .collect();
        for slot in &gone {
            self.remove(slot);
        }
        gone
    }

    /// Up to `want` peers other than `me`, from a random starting point. A seeder gets only leechers:
    /// it has nothing to fetch from other seeders.
    pub fn select(
        &self,
        me: &Slot,
        me_seeder: bool,
        want: usize,
        mut take: impl FnMut(&Slot, &PeerRecord),
    ) {
        let n = self.peers.len();
        if n == 0 || want == 0 {
            return;
        }
        let start = rand::rng().random_range(0..n);
        let mut given = 0;
        for i in 0..n {
            let Some((slot, peer)) = self.peers.get_index((start + i) % n) else {
                break;
            };
            if slot == me || (me_seeder && peer.is_seeder()) {
                continue;
            }
            take(slot, peer);
            given += 1;
            if given == want {
                break;
            }
        }
    }
}
