//! Who we upload to: a pure choice, applied by the swarm every ten seconds.
//!
//! The interested peers are ranked by rate — what they give us while we download (tit-for-tat), what
//! they take while we seed (so the fastest takers spread pieces onwards). The best `slots - 1` are
//! unchoked, and one more slot is *optimistic*: it rotates through the rest so that a newcomer with
//! nothing to offer yet can show what it can do.

use std::collections::HashSet;

use crate::picker::PeerKey;

#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    pub key: PeerKey,
    /// Bytes per second that counts for ranking (see the module doc).
    pub rate: u64,
    /// Holds the optimistic slot now.
    pub optimistic: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    pub unchoke: HashSet<PeerKey>,
    pub optimistic: Option<PeerKey>,
}

/// `round` counts optimistic rotations, so successive rotations visit different peers.
pub fn choose(candidates: &[Candidate], slots: usize, rotate: bool, round: u64) -> Choice {
    let mut ranked: Vec<&Candidate> = candidates.iter().collect();
    ranked.sort_by(|a, b| b.rate.cmp(&a.rate).then(a.key.cmp(&b.key)));
    let regular = slots.saturating_sub(1).max(1);
    let mut unchoke: HashSet<PeerKey> = ranked.iter().take(regular).map(|c| c.key).collect();
    let rest: Vec<&Candidate> = ranked.into_iter().skip(regular).collect();
    let current = rest.iter().find(|c| c.optimistic).map(|c| c.key);
    let optimistic = match current {
        Some(k) if !rotate => Some(k),
        _ if rest.is_empty() => None,
        _ => Some(rest[(round % rest.len() as u64) as usize].key),
    };
    if let Some(k) = optimistic {
        unchoke.insert(k);
    }
    Choice {
        unchoke,
        optimistic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers(rates: &[u64]) -> Vec<Candidate> {
        rates
            .iter()
            .enumerate()
            .map(|(i, r)| Candidate {
                key: i as u64,
                rate: *r,
                optimistic: false,
            })
            .collect()
    }

    #[test]
    fn fastest_get_regular_slots_and_one_more_is_optimistic() {
        let c = choose(&peers(&[10, 50, 30, 0, 5]), 3, true, 0);
        assert!(c.unchoke.contains(&1) && c.unchoke.contains(&2), "{c:?}");
        assert_eq!(c.unchoke.len(), 3);
        let o = c.optimistic.unwrap();
        assert!([0, 3, 4].contains(&o));
    }

    #[test]
    fn few_peers_are_all_unchoked() {
        let c = choose(&peers(&[1, 2]), 8, true, 0);
        assert_eq!(c.unchoke, [0, 1].into_iter().collect());
        assert_eq!(c.optimistic, None);
    }

    #[test]
    fn optimistic_slot_stays_until_rotation_then_moves() {
        let mut p = peers(&[100, 0, 0, 0]);
        let first = choose(&p, 2, true, 0).optimistic.unwrap();
        p[first as usize].optimistic = true;
        assert_eq!(
            choose(&p, 2, false, 0).optimistic,
            Some(first),
            "kept between rotations"
        );
        let visited: HashSet<PeerKey> = (0..3)
            .map(|round| choose(&p, 2, true, round).optimistic.unwrap())
            .collect();
        assert_eq!(
            visited,
            [1, 2, 3].into_iter().collect(),
            "rotation visits every other peer"
        );
    }
}
