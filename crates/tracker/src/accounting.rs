//! The accounting rules, as pure functions, and the queues that carry their results to the store.
//!
//! A client reports cumulative counters for its session. What the collective credits is the
//! difference between two announces of the same peer, where a peer is (member, torrent, peer_id, key)
//! — never an address, so a dual-stack client announcing over IPv4 and IPv6 with the same counters is
//! one peer and is credited once.
//!
//! Rules (architecture.md, "Tracker and accounting"):
//! - the first announce of a peer sets the baseline and credits nothing;
//! - a counter that went down (the client restarted its session) resets that counter's baseline and
//!   credits nothing for it;
//! - `stopped` credits the final delta and removes the peer; a peer that stops announcing expires and
//!   keeps what its last announce credited;
//! - a snatch is `left` going from non-zero to zero (or `completed` from a peer that had bytes left);
//! - seeding time is the time between two announces of a peer that was a seeder at the first of them,
//!   capped by the peer timeout so a client that vanished for a day is not paid for that day;
//! - a peer is never credited more than `max_rate` × its lifetime (since its first announce, plus one
//!   second) in each direction; the excess is clamped. Without the clamp one forged counter could
//!   overflow a member's totals; and because the budget spans the peer's whole life, neither rapid
//!   announces nor counters that oscillate (down, which resets the baseline, then up again) can
//!   credit more than a real link could have carried.
//!
//! Deltas are summed per (member, torrent) until the store takes them. Queues **sum**; a failed flush
//! merges its batch back in, so nothing is lost and nothing is overwritten.

use std::collections::HashMap;

use crate::swarm::{PeerKey, PeerRecord};
use crate::{MemberId, TorrentId};

/// What one (member, torrent) pair earned since the last flush.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub uploaded: u64,
    pub downloaded: u64,
    pub seed_secs: u64,
    /// Unix time of the first snatch in this batch; the store decides whether it is the member's first.
    pub completed_at: Option<u64>,
    /// Bytes the clamp refused: a cheat signal the store keeps per member.
    pub clamped: u64,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        *self == Delta::default()
    }

    /// Adds `other` into `self`. Saturating: the clamp keeps real sums far below `u64::MAX`, and a
    /// saturated counter is still the safest answer if that ever failed.
    pub fn merge(&mut self, other: &Delta) {
        self.uploaded = self.uploaded.saturating_add(other.uploaded);
        self.downloaded = self.downloaded.saturating_add(other.downloaded);
        self.seed_secs = self.seed_secs.saturating_add(other.seed_secs);
        self.clamped = self.clamped.saturating_add(other.clamped);
        self.completed_at = match (self.completed_at, other.completed_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A peer's reported state at one announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub completed_event: bool,
    pub now: u64,
}

/// Limits the rules need.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Seconds after which a silent peer is gone; also the cap on one seeding-time credit.
    pub peer_timeout: u64,
    /// Bytes per second a peer can plausibly move in one direction.
    pub max_rate: u64,
}

/// The credit for an announce from a known peer, given its record (the baseline: the counters last
/// credited, and what its life so far allows). The caller then moves the record to the report.
pub fn credit(base: &PeerRecord, report: &Report, limits: &Limits) -> Delta {
    let elapsed = report.now.saturating_sub(base.last_announce);
    // One second of slack: announces carry whole seconds, a fast transfer can finish inside one.
    let lifetime = report.now.saturating_sub(base.first_seen).saturating_add(1);
    let ceiling = limits.max_rate.saturating_mul(lifetime);
    let mut delta = Delta::default();
    for (now, before, already, credited) in [
        (
            report.uploaded,
            base.uploaded,
            base.credited_up,
            &mut delta.uploaded,
        ),
        (
            report.downloaded,
            base.downloaded,
            base.credited_down,
            &mut delta.downloaded,
        ),
    ] {
        let diff = now.saturating_sub(before);
        *credited = diff.min(ceiling.saturating_sub(already));
        delta.clamped = delta.clamped.saturating_add(diff - *credited);
    }
    if base.left == 0 {
        delta.seed_secs = elapsed.min(limits.peer_timeout);
    }
    if base.left > 0 && (report.left == 0 || report.completed_event) {
        delta.completed_at = Some(report.now);
    }
    delta
}

/// Everything the store must write in one transaction: summed deltas and the peers whose baseline
/// moved (`None`: the peer left). Writing baselines with the deltas they produced is what lets a
/// restarted hub carry on from the stored baselines without counting a byte twice.
#[derive(Debug, Default)]
pub struct Batch {
    pub deltas: Vec<((MemberId, TorrentId), Delta)>,
    pub peers: Vec<(PeerKey, Option<PeerRecord>)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty() && self.peers.is_empty()
    }
}

/// Pending work of one shard.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub deltas: HashMap<(MemberId, TorrentId), Delta>,
    pub peers: HashMap<PeerKey, Option<PeerRecord>>,
}

impl Pending {
    pub fn add(&mut self, member: MemberId, torrent: TorrentId, delta: &Delta) {
        if !delta.is_empty() {
            self.deltas
                .entry((member, torrent))
                .or_default()
                .merge(delta);
        }
    }

    pub fn drain_into(&mut self, batch: &mut Batch) {
        batch.deltas.extend(self.deltas.drain());
        batch.peers.extend(self.peers.drain());
    }

    /// Merges a batch that failed to reach the store back in. Deltas sum; for peers, whatever was
    /// recorded since the batch was taken is newer and wins.
    pub fn restore(
        &mut self,
        deltas: Vec<((MemberId, TorrentId), Delta)>,
        peers: Vec<(PeerKey, Option<PeerRecord>)>,
    ) {
        for (k, d) in deltas {
            self.deltas.entry(k).or_default().merge(&d);
        }
        for (k, p) in peers {
            self.peers.entry(k).or_insert(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        peer_timeout: 3600,
        max_rate: 1_000_000,
    };

    fn base(up: u64, down: u64, left: u64, at: u64) -> PeerRecord {
        PeerRecord {
            v4: None,
            v6: None,
            uploaded: up,
            downloaded: down,
            left,
            last_announce: at,
            first_seen: 0,
            credited_up: 0,
            credited_down: 0,
        }
    }

    fn report(up: u64, down: u64, left: u64, now: u64) -> Report {
        Report {
            uploaded: up,
            downloaded: down,
            left,
            completed_event: false,
            now,
        }
    }

    #[test]
    fn credits_the_difference() {
        let d = credit(&base(100, 50, 10, 0), &report(300, 60, 10, 10), &LIMITS);
        assert_eq!((d.uploaded, d.downloaded, d.seed_secs), (200, 10, 0));
        assert_eq!(d.completed_at, None);
    }

    #[test]
    fn counter_that_went_down_credits_nothing_for_it() {
        let d = credit(&base(1000, 500, 10, 0), &report(20, 700, 10, 10), &LIMITS);
        assert_eq!((d.uploaded, d.downloaded), (0, 200));
    }

    #[test]
    fn snatch_when_left_reaches_zero_or_completed_arrives() {
        let d = credit(&base(0, 0, 10, 0), &report(0, 10, 0, 5), &LIMITS);
        assert_eq!(d.completed_at, Some(5));
        let mut r = report(0, 10, 3, 5);
        r.completed_event = true;
        assert_eq!(
            credit(&base(0, 0, 10, 0), &r, &LIMITS).completed_at,
            Some(5)
        );
        // Already a seeder: `completed` again is not a second snatch.
        r.left = 0;
        assert_eq!(credit(&base(0, 0, 0, 0), &r, &LIMITS).completed_at, None);
    }

    #[test]
    fn seeding_time_counts_from_a_seeder_baseline_and_is_capped() {
        let d = credit(&base(0, 0, 0, 100), &report(0, 0, 0, 1900), &LIMITS);
        assert_eq!(d.seed_secs, 1800);
        let d = credit(&base(0, 0, 0, 0), &report(0, 0, 0, 86_400), &LIMITS);
        assert_eq!(d.seed_secs, 3600);
        let d = credit(&base(0, 0, 5, 0), &report(0, 5, 0, 100), &LIMITS);
        assert_eq!(
            d.seed_secs, 0,
            "a leecher that just finished was not seeding"
        );
    }

    #[test]
    fn impossible_deltas_are_clamped() {
        let d = credit(&base(0, 0, 0, 0), &report(u64::MAX, 5, 0, 9), &LIMITS);
        assert_eq!(d.uploaded, 10 * LIMITS.max_rate);
        assert_eq!(d.clamped, u64::MAX - 10 * LIMITS.max_rate);
        assert_eq!(d.downloaded, 5);
    }

    #[test]
    fn the_ceiling_spans_the_peer_life_not_one_announce() {
        // Already credited its whole allowance for 10 s of life: a second announce in the same
        // second gets nothing more, however large its step.
        let mut b = base(0, 0, 0, 9);
        b.credited_up = 10 * LIMITS.max_rate;
        let d = credit(&b, &report(5 * LIMITS.max_rate, 0, 0, 9), &LIMITS);
        assert_eq!((d.uploaded, d.clamped), (0, 5 * LIMITS.max_rate));
        // A second later, one more second's worth.
        let d = credit(&b, &report(5 * LIMITS.max_rate, 0, 0, 10), &LIMITS);
        assert_eq!(d.uploaded, LIMITS.max_rate);
    }

    #[test]
    fn merge_sums_and_keeps_the_first_snatch() {
        let mut a = Delta {
            uploaded: 1,
            downloaded: 2,
            seed_secs: 3,
            completed_at: Some(50),
            clamped: 0,
        };
        a.merge(&Delta {
            uploaded: 10,
            downloaded: 20,
            seed_secs: 30,
            completed_at: Some(40),
            clamped: 7,
        });
        assert_eq!(
            a,
            Delta {
                uploaded: 11,
                downloaded: 22,
                seed_secs: 33,
                completed_at: Some(40),
                clamped: 7
            }
        );
    }

    #[test]
    fn restore_sums_deltas_and_lets_newer_peers_win() {
        let mut p = Pending::default();
        let d = Delta {
            uploaded: 5,
            ..Delta::default()
        };
        p.add(1, 1, &d);
        let mut batch = Batch::default();
        p.drain_into(&mut batch);
        p.add(1, 1, &d);
        p.restore(batch.deltas, batch.peers);
        assert_eq!(p.deltas[&(1, 1)].uploaded, 10);
    }
}
