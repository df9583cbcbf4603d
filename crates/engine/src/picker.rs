//! Piece picking: which blocks to request from which peer.
//!
//! Rarest first: pieces sit in buckets by availability (how many connected peers have them), and a new
//! piece is taken from the lowest bucket that the peer can serve. Ties are broken by random placement
//! within a bucket, so a swarm of fresh downloaders does not all chase the same piece. Pieces already
//! under way are finished before new ones are started, which keeps the number of half-filled piece
//! buffers small. When every missing block has been requested at least once, the picker enters
//! *endgame* and hands out blocks already requested from other peers, so one slow peer cannot stall the
//! last piece; the caller cancels the duplicates when a copy arrives.
//!
//! After a piece fails its hash check, it is re-downloaded from a single peer (`exclusive`), so that a
//! second failure names the culprit exactly.
//!
//! Invariants (checked by `debug_assert` and the tests):
//! - a piece is in exactly one of: had, partial, or a bucket (wanted and not started);
//! - `bucket_pos[p]` is the index of `p` in `buckets[availability[p]]` when `p` is in a bucket.

use std::collections::HashMap;

use peerwire::bitfield::Bitfield;
use rand::Rng;

/// Identifies a connection for the picker (the swarm hands out unique keys).
pub type PeerKey = u64;

/// Blocks are 16 KiB, the size every client requests (BEP 3 practice, BEP 52 leaf size).
pub const BLOCK: u32 = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Block {
    Free,
    /// Requested from these peers (more than one only in endgame).
    Requested(Vec<PeerKey>),
    Received(PeerKey),
}

#[derive(Debug)]
struct Partial {
    blocks: Vec<Block>,
    received: u32,
    /// After a hash failure: the one peer allowed to serve this piece.
    exclusive: Option<PeerKey>,
    /// Set after a failure, until some peer claims the piece.
    wants_exclusive: bool,
}

/// A block to request: piece index, offset and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockReq {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

/// What happened when a block arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Not requested, already received, or the piece is already complete: drop the data.
    Unwanted,
    /// Stored; these other peers had the same block requested (endgame) and should get a cancel.
    Accepted {
        cancel: Vec<PeerKey>,
        piece_complete: bool,
    },
}

pub struct Picker {
    piece_sizes: PieceSizes,
    have: Bitfield,
    availability: Vec<u32>,
    buckets: Vec<Vec<u32>>,
    bucket_pos: Vec<u32>,
    in_bucket: Vec<bool>,
    partial: HashMap<u32, Partial>,
    /// Pieces whose data is complete and waiting for the hash check.
    verifying: Vec<bool>,
    wanted: Vec<bool>,
}

/// Sizes of pieces: all `piece_length` but those given in `short` (last piece of a file or torrent).
#[derive(Clone, Debug)]
pub struct PieceSizes {
    pub sizes: Vec<u32>,
    /// Blocks of a piece that need no transfer (they lie wholly in BEP 47 pad files) — zero-filled locally.
    pub pad_blocks: HashMap<u32, Vec<u32>>,
}

impl Picker {
    /// `have` is what the resume check found on disk.
    pub fn new(piece_sizes: PieceSizes, have: Bitfield) -> Picker {
        let n = piece_sizes.sizes.len();
        assert_eq!(
            have.len() as usize,
            n,
            "bitfield length must match the piece count"
        );
        let mut picker = Picker {
            piece_sizes,
            have,
            availability: vec![0; n],
            buckets: vec![Vec::new()],
            bucket_pos: vec![0; n],
            in_bucket: vec![false; n],
            partial: HashMap::new(),
            verifying: vec![false; n],
            wanted: vec![true; n],
        };
        for p in 0..n as u32 {
            if !picker.have.get(p) {
                picker.bucket_insert(p);
            }
        }
        picker
    }

    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    pub fn is_complete(&self) -> bool {
        self.have.is_complete()
    }

    pub fn piece_size(&self, index: u32) -> u32 {
        self.piece_sizes.sizes[index as usize]
    }

    fn block_count(&self, index: u32) -> u32 {
        self.piece_size(index).div_ceil(BLOCK)
    }

    fn block_len(&self, index: u32, block: u32) -> u32 {
        let size = self.piece_size(index);
        (size - block * BLOCK).min(BLOCK)
    }

    /// True if the peer has a piece we still want (so we are interested in it).
    pub fn is_interesting(&self, peer_has: &Bitfield) -> bool {
        peer_has
            .iter_ones()
            .any(|p| !self.have.get(p) && !self.verifying[p as usize] && self.wanted[p as usize])
    }

    // ---- availability ----

    pub fn peer_has_piece(&mut self, index: u32) {
        self.set_availability(index, self.availability[index as usize] + 1);
    }

    pub fn peer_lost_piece(&mut self, index: u32) {
        let a = self.availability[index as usize];
        debug_assert!(a > 0, "availability underflow for piece {index}");
        self.set_availability(index, a.saturating_sub(1));
    }

    pub fn peer_has_bitfield(&mut self, has: &Bitfield) {
        for p in has.iter_ones() {
            self.peer_has_piece(p);
        }
    }

    pub fn peer_lost_bitfield(&mut self, has: &Bitfield) {
        for p in has.iter_ones() {
            self.peer_lost_piece(p);
        }
    }

    fn set_availability(&mut self, index: u32, a: u32) {
        let was_in = self.in_bucket[index as usize];
        if was_in {
            self.bucket_remove(index);
        }
        self.availability[index as usize] = a;
        if was_in {
            self.bucket_insert(index);
        }
    }

    fn bucket_insert(&mut self, index: u32) {
        let a = self.availability[index as usize] as usize;
        if self.buckets.len() <= a {
            self.buckets.resize_with(a + 1, Vec::new);
        }
        let bucket = &mut self.buckets[a];
        bucket.push(index);
        // Random position within the bucket: swap the new entry with a random one.
        let last = bucket.len() - 1;
        let j = rand::rng().random_range(0..=last);
        bucket.swap(j, last);
        let moved = bucket[last];
        self.bucket_pos[moved as usize] = last as u32;
        self.bucket_pos[index as usize] = j as u32;
        self.in_bucket[index as usize] = true;
    }

    fn bucket_remove(&mut self, index: u32) {
        debug_assert!(self.in_bucket[index as usize]);
        let a = self.availability[index as usize] as usize;
        let pos = self.bucket_pos[index as usize] as usize;
        let bucket = &mut self.buckets[a];
        debug_assert_eq!(bucket[pos], index, "bucket_pos out of sync");
        bucket.swap_remove(pos);
        if pos < bucket.len() {
            let moved = bucket[pos];
            self.bucket_pos[moved as usize] = pos as u32;
        }
        self.in_bucket[index as usize] = false;
    }

    // ---- picking ----

    /// Up to `max` blocks for `peer` to request. Order: blocks of pieces already under way, then the
    /// rarest new pieces the peer has, then (endgame) blocks already requested from other peers.
    pub fn pick(&mut self, peer: PeerKey, peer_has: &Bitfield, max: usize) -> Vec<BlockReq> {
        let mut out = Vec::new();
        if max == 0 {
            return out;
        }
        // 1. Pieces under way.
        let mut under_way: Vec<u32> = self
            .partial
            .iter()
            .filter(|(p, part)| {
                peer_has.get(**p)
                    && match part.exclusive {
                        Some(owner) => owner == peer,
                        None => true,
                    }
            })
            .map(|(p, _)| *p)
            .collect();
        under_way.sort_unstable();
        for p in under_way {
            self.take_free_blocks(p, peer, max, &mut out);
            if out.len() >= max {
                return out;
            }
        }
        // 2. New pieces, rarest first.
        while out.len() < max {
            let Some(p) = self.rarest_new_piece(peer_has) else {
                break;
            };
            self.start_piece(p);
            self.take_free_blocks(p, peer, max, &mut out);
        }
        if out.len() >= max {
            return out;
        }
        // 3. Endgame: nothing new is left anywhere for this peer; duplicate requests still in flight.
        if self
            .buckets
            .iter()
            .all(|b| b.iter().all(|p| !peer_has.get(*p)))
        {
            self.endgame_blocks(peer, peer_has, max, &mut out);
        }
        out
    }

    fn rarest_new_piece(&self, peer_has: &Bitfield) -> Option<u32> {
        // Bucket 0 holds pieces nobody connected has; skip it.
        self.buckets
            .iter()
            .skip(1)
            .find_map(|bucket| bucket.iter().copied().find(|p| peer_has.get(*p)))
    }

    fn start_piece(&mut self, index: u32) {
        self.bucket_remove(index);
        let blocks = self.block_count(index);
        let mut part = Partial {
            blocks: vec![Block::Free; blocks as usize],
            received: 0,
            exclusive: None,
            wants_exclusive: false,
        };
        if let Some(pads) = self.piece_sizes.pad_blocks.get(&index) {
            for &b in pads {
                part.blocks[b as usize] = Block::Received(PeerKey::MAX);
                part.received += 1;
            }
        }
        self.partial.insert(index, part);
    }

    fn take_free_blocks(&mut self, index: u32, peer: PeerKey, max: usize, out: &mut Vec<BlockReq>) {
        let sizes: Vec<u32> = (0..self.block_count(index))
            .map(|b| self.block_len(index, b))
            .collect();
        let Some(part) = self.partial.get_mut(&index) else {
            return;
        };
        if part.wants_exclusive && part.exclusive.is_none() {
            part.exclusive = Some(peer);
        }
        for (b, block) in part.blocks.iter_mut().enumerate() {
            if out.len() >= max {
                break;
            }
            if *block == Block::Free {
                *block = Block::Requested(vec![peer]);
                out.push(BlockReq {
                    index,
                    begin: b as u32 * BLOCK,
                    length: sizes[b],
                });
            }
        }
    }

    fn endgame_blocks(
        &mut self,
        peer: PeerKey,
        peer_has: &Bitfield,
        max: usize,
        out: &mut Vec<BlockReq>,
    ) {
        let mut pieces: Vec<u32> = self
            .partial
            .keys()
            .copied()
            .filter(|p| peer_has.get(*p))
            .collect();
        pieces.sort_unstable();
        for index in pieces {
            let size = self.piece_size(index);
            let Some(part) = self.partial.get_mut(&index) else {
                continue;
            };
            if part.exclusive.is_some_and(|owner| owner != peer) {
                continue;
            }
            for (b, block) in part.blocks.iter_mut().enumerate() {
                if out.len() >= max {
                    return;
                }
                if let Block::Requested(peers) = block {
                    // At most two copies of a block in flight: enough to route around one slow peer.
                    if !peers.contains(&peer) && peers.len() < 2 {
                        peers.push(peer);
                        let begin = b as u32 * BLOCK;
                        out.push(BlockReq {
                            index,
                            begin,
                            length: (size - begin).min(BLOCK),
                        });
                    }
                }
            }
        }
    }

    /// True while every wanted block has been requested at least once.
    pub fn in_endgame(&self) -> bool {
        self.buckets.iter().all(|b| b.is_empty())
            && self
                .partial
                .values()
                .all(|p| p.blocks.iter().all(|b| *b != Block::Free))
    }

    // ---- arrivals and failures ----

    /// Records a received block. The caller stores the bytes only on `Accepted`.
    pub fn block_received(&mut self, peer: PeerKey, req: BlockReq) -> Arrival {
        let Some(part) = self.partial.get_mut(&req.index) else {
            return Arrival::Unwanted;
        };
        if !req.begin.is_multiple_of(BLOCK) {
            return Arrival::Unwanted;
        }
        let b = (req.begin / BLOCK) as usize;
        let Some(block) = part.blocks.get_mut(b) else {
            return Arrival::Unwanted;
        };
        let cancel = match block {
            Block::Requested(peers) if peers.contains(&peer) => {
                peers.iter().copied().filter(|p| *p != peer).collect()
            }
            // A block we asked someone else for, or never asked for: do not trust unsolicited data.
            _ => return Arrival::Unwanted,
        };
        *block = Block::Received(peer);
        part.received += 1;
        let piece_complete = part.received as usize == part.blocks.len();
        if piece_complete {
            self.verifying[req.index as usize] = true;
        }
        Arrival::Accepted {
            cancel,
            piece_complete,
        }
    }

    /// A request that will not be answered (peer choked us, rejected it, or disconnected).
    pub fn request_dropped(&mut self, peer: PeerKey, req: BlockReq) {
        let Some(part) = self.partial.get_mut(&req.index) else {
            return;
        };
        let Some(block) = part.blocks.get_mut((req.begin / BLOCK) as usize) else {
            return;
        };
        if let Block::Requested(peers) = block {
            peers.retain(|p| *p != peer);
            if peers.is_empty() {
                *block = Block::Free;
            }
        }
        if part.exclusive == Some(peer) {
            // The one peer allowed to serve this piece will not (choked us, rejected, snubbed):
            // let another peer claim it, from scratch, so blame stays with a single sender.
            part.exclusive = None;
            for block in &mut part.blocks {
                if *block == Block::Received(peer) {
                    *block = Block::Free;
                    part.received -= 1;
                }
            }
        }
    }

    /// Forget everything a disconnected peer had requested, and release pieces it held exclusively.
    pub fn peer_gone(&mut self, peer: PeerKey) {
        for part in self.partial.values_mut() {
            for block in &mut part.blocks {
                if let Block::Requested(peers) = block {
                    peers.retain(|p| *p != peer);
                    if peers.is_empty() {
                        *block = Block::Free;
                    }
                }
            }
            if part.exclusive == Some(peer) {
                part.exclusive = None;
            }
        }
    }

    /// Throws away every block a (banned) peer sent to pieces still being assembled: its data is not to
    /// be mixed with honest blocks.
    pub fn discard_blocks_from(&mut self, peer: PeerKey) {
        for (index, part) in self.partial.iter_mut() {
            if self.verifying[*index as usize] {
                continue; // already complete; the hash check decides
            }
            for block in &mut part.blocks {
                if *block == Block::Received(peer) {
                    *block = Block::Free;
                    part.received -= 1;
                }
            }
        }
    }

    /// Who sent each block of a complete piece, as (peer, begin, length); padding is left out.
    pub fn block_senders(&self, index: u32) -> Vec<(PeerKey, u32, u32)> {
        let Some(part) = self.partial.get(&index) else {
            return Vec::new();
        };
        (0u32..)
            .zip(&part.blocks)
            .filter_map(|(b, block)| match block {
                Block::Received(k) if *k != PeerKey::MAX => {
                    Some((*k, b * BLOCK, self.block_len(index, b)))
                }
                _ => None,
            })
            .collect()
    }

    /// The peers that sent blocks of a complete piece (for blame on hash failure).
    pub fn contributors(&self, index: u32) -> Vec<PeerKey> {
        let mut peers: Vec<PeerKey> = self
            .partial
            .get(&index)
            .map(|p| {
                p.blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::Received(k) if *k != PeerKey::MAX => Some(*k),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        peers.sort_unstable();
        peers.dedup();
        peers
    }

    /// The hash check passed (data is on disk).
    pub fn piece_verified(&mut self, index: u32) {
        self.partial.remove(&index);
        self.verifying[index as usize] = false;
        let set = self.have.set(index, true);
        debug_assert!(set.is_ok(), "verified piece {index} out of range");
    }

    /// The hash check failed: start the piece over, from one peer only.
    pub fn piece_failed(&mut self, index: u32) {
        self.verifying[index as usize] = false;
        let blocks = self.block_count(index);
        let pads = self
            .piece_sizes
            .pad_blocks
            .get(&index)
            .cloned()
            .unwrap_or_default();
        if let Some(part) = self.partial.get_mut(&index) {
            part.received = 0;
            for (b, block) in part.blocks.iter_mut().enumerate() {
                if pads.contains(&(b as u32)) {
                    *block = Block::Received(PeerKey::MAX);
                    part.received += 1;
                } else {
                    *block = Block::Free;
                }
            }
            part.exclusive = None;
            part.wants_exclusive = true;
            debug_assert_eq!(part.blocks.len(), blocks as usize);
        }
    }

    pub fn availability(&self, index: u32) -> u32 {
        self.availability[index as usize]
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        for p in 0..self.have.len() {
            let states = [
                self.have.get(p),
                self.partial.contains_key(&p),
                self.in_bucket[p as usize],
            ];
            assert_eq!(
                states.iter().filter(|s| **s).count(),
                1,
                "piece {p} in {states:?}"
            );
            if self.in_bucket[p as usize] {
                let a = self.availability[p as usize] as usize;
                assert_eq!(self.buckets[a][self.bucket_pos[p as usize] as usize], p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(n: usize, size: u32) -> PieceSizes {
        PieceSizes {
            sizes: vec![size; n],
            pad_blocks: HashMap::new(),
        }
    }

    fn full(n: u32) -> Bitfield {
        Bitfield::full(n)
    }

    #[test]
    fn picks_rarest_piece_first() {
        let mut picker = Picker::new(sizes(4, BLOCK), Bitfield::new(4));
        let everything = full(4);
        picker.peer_has_bitfield(&everything);
        picker.peer_has_bitfield(&everything);
        // Piece 2 is now rarer than the others: lost by one peer.
        picker.peer_lost_piece(2);
        picker.check_invariants();
        let reqs = picker.pick(1, &everything, 1);
        assert_eq!(
            reqs,
            vec![BlockReq {
                index: 2,
                begin: 0,
                length: BLOCK
            }]
        );
        picker.check_invariants();
    }

    #[test]
    fn finishes_partial_pieces_before_starting_new_ones() {
        let mut picker = Picker::new(sizes(3, 4 * BLOCK), Bitfield::new(3));
        let all = full(3);
        picker.peer_has_bitfield(&all);
        let first = picker.pick(1, &all, 2);
        assert_eq!(first.len(), 2);
        let p = first[0].index;
        let second = picker.pick(2, &all, 2);
        assert!(
            second.iter().all(|r| r.index == p),
            "peer 2 should continue piece {p}: {second:?}"
        );
        picker.check_invariants();
    }

    #[test]
    fn short_last_block_and_piece() {
        let mut s = sizes(2, 2 * BLOCK);
        s.sizes[1] = BLOCK + 100;
        let mut picker = Picker::new(s, Bitfield::new(2));
        let mut only1 = Bitfield::new(2);
        only1.set(1, true).unwrap();
        picker.peer_has_bitfield(&only1);
        let reqs = picker.pick(7, &only1, 10);
        assert_eq!(
            reqs,
            vec![
                BlockReq {
                    index: 1,
                    begin: 0,
                    length: BLOCK
                },
                BlockReq {
                    index: 1,
                    begin: BLOCK,
                    length: 100
                }
            ]
        );
    }

    #[test]
    fn unsolicited_and_duplicate_blocks_are_unwanted() {
        let mut picker = Picker::new(sizes(1, 2 * BLOCK), Bitfield::new(1));
        let all = full(1);
        picker.peer_has_bitfield(&all);
        let reqs = picker.pick(1, &all, 1);
        assert_eq!(
            picker.block_received(2, reqs[0]),
            Arrival::Unwanted,
            "peer 2 was never asked"
        );
        assert!(matches!(
            picker.block_received(1, reqs[0]),
            Arrival::Accepted { .. }
        ));
        assert_eq!(
            picker.block_received(1, reqs[0]),
            Arrival::Unwanted,
            "second copy"
        );
    }

    #[test]
    fn endgame_duplicates_and_cancels() {
        let mut picker = Picker::new(sizes(1, BLOCK), Bitfield::new(1));
        let all = full(1);
        picker.peer_has_bitfield(&all);
        picker.peer_has_bitfield(&all);
        let a = picker.pick(1, &all, 4);
        assert_eq!(a.len(), 1);
        assert!(picker.in_endgame());
        let b = picker.pick(2, &all, 4);
        assert_eq!(b, a, "endgame hands the same block to a second peer");
        assert!(
            picker.pick(3, &all, 4).is_empty(),
            "at most two copies in flight"
        );
        assert_eq!(
            picker.block_received(2, b[0]),
            Arrival::Accepted {
                cancel: vec![1],
                piece_complete: true
            }
        );
    }

    /// One two-block piece, one block from peer 1 and one from peer 2, failed its check.
    fn failed_with_two_senders() -> (Picker, Bitfield) {
        let mut picker = Picker::new(sizes(1, 2 * BLOCK), Bitfield::new(1));
        let all = full(1);
        picker.peer_has_bitfield(&all);
        picker.peer_has_bitfield(&all);
        let a = picker.pick(1, &all, 1);
        let b = picker.pick(2, &all, 1);
        picker.block_received(1, a[0]);
        picker.block_received(2, b[0]);
        assert_eq!(picker.contributors(0), vec![1, 2]);
        picker.piece_failed(0);
        (picker, all)
    }

    #[test]
    fn failed_piece_goes_to_one_peer_and_names_the_culprit() {
        let (mut picker, all) = failed_with_two_senders();
        let again = picker.pick(2, &all, 8);
        assert_eq!(again.len(), 2, "peer 2 claims the whole piece");
        assert!(
            picker.pick(1, &all, 8).is_empty(),
            "peer 1 may not help with an exclusive piece"
        );
        for r in again {
            picker.block_received(2, r);
        }
        assert_eq!(picker.contributors(0), vec![2]);
        picker.piece_verified(0);
        assert!(picker.is_complete());
        picker.check_invariants();
    }

    #[test]
    fn exclusive_piece_is_released_when_its_owner_stops_serving() {
        let (mut picker, all) = failed_with_two_senders();
        let owned = picker.pick(2, &all, 8);
        assert_eq!(owned.len(), 2);
        picker.block_received(2, owned[0]);
        // Peer 2 chokes us: its outstanding request is dropped.
        picker.request_dropped(2, owned[1]);
        let taken_over = picker.pick(1, &all, 8);
        assert_eq!(
            taken_over.len(),
            2,
            "peer 1 claims the whole piece, peer 2's block discarded"
        );
        for r in taken_over {
            picker.block_received(1, r);
        }
        assert_eq!(picker.contributors(0), vec![1]);
        picker.check_invariants();
    }

    #[test]
    fn dropped_requests_are_picked_again() {
        let mut picker = Picker::new(sizes(1, BLOCK), Bitfield::new(1));
        let all = full(1);
        picker.peer_has_bitfield(&all);
        let a = picker.pick(1, &all, 1);
        picker.peer_gone(1);
        assert_eq!(picker.pick(2, &all, 1), a);
        picker.request_dropped(2, a[0]);
        assert_eq!(picker.pick(3, &all, 1), a);
    }

    #[test]
    fn pad_blocks_are_never_requested() {
        let mut s = sizes(1, 3 * BLOCK);
        s.pad_blocks.insert(0, vec![2]);
        let mut picker = Picker::new(s, Bitfield::new(1));
        let all = full(1);
        picker.peer_has_bitfield(&all);
        let reqs = picker.pick(1, &all, 8);
        assert_eq!(reqs.len(), 2);
        picker.block_received(1, reqs[0]);
        assert_eq!(
            picker.block_received(1, reqs[1]),
            Arrival::Accepted {
                cancel: vec![],
                piece_complete: true
            }
        );
    }

    #[test]
    fn random_operations_keep_invariants() {
        let mut rng = rand::rng();
        let n = 40;
        let mut picker = Picker::new(sizes(n, 3 * BLOCK), Bitfield::new(n as u32));
        let mut peers: Vec<Bitfield> = Vec::new();
        for _ in 0..4 {
            let mut b = Bitfield::new(n as u32);
            for i in 0..n as u32 {
                if rng.random_bool(0.6) {
                    b.set(i, true).unwrap();
                }
            }
            picker.peer_has_bitfield(&b);
            peers.push(b);
        }
        for _ in 0..2000 {
            let k = rng.random_range(0..peers.len());
            let reqs = picker.pick(k as u64, &peers[k], rng.random_range(0..5));
            for r in reqs {
                match rng.random_range(0..3) {
                    0 => picker.request_dropped(k as u64, r),
                    _ => {
                        if let Arrival::Accepted {
                            piece_complete: true,
                            ..
                        } = picker.block_received(k as u64, r)
                        {
                            if rng.random_bool(0.8) {
                                picker.piece_verified(r.index)
                            } else {
                                picker.piece_failed(r.index)
                            }
                        }
                    }
                }
            }
            picker.check_invariants();
        }
    }
}
