//! Statistical properties of challenge derivation: uniform over claimed blocks, and the detection
//! rates the design promises (a node missing 10 % of its claim is caught in one epoch of 44
//! challenges with probability >= 99 %).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use audit::{Claim, HostingReport, PieceSet, Shape};
use common::{Irregular, Rng, challenges, claimed_blocks, secret, tid};
use proptest::prelude::*;
use token::Address;

const KIB: u64 = 1024;

/// Three torrents with everything that makes uniform sampling tricky: short last pieces, short
/// pieces in the middle (a v2 file's tail), different piece lengths, bitfield claims.
fn tricky() -> (Irregular, HostingReport) {
    let mut torrents = BTreeMap::new();
    // 64 KiB pieces (4 blocks): 4 + 4 + 2 + 4 + 1 = 15 blocks.
    torrents.insert(
        tid(1),
        (64 * KIB, vec![64 * KIB, 64 * KIB, 20_000, 64 * KIB, 1]),
    );
    // 16 KiB pieces (1 block each), 4 of the 9 claimed.
    torrents.insert(tid(2), (16 * KIB, vec![16 * KIB; 9]));
    // 256 KiB pieces (16 blocks): 16 + 2 + 1 = 19 blocks.
    torrents.insert(tid(3), (256 * KIB, vec![256 * KIB, 16 * KIB + 1, 100]));
    let report = HostingReport {
        node: Address([0xab; 20]),
        epoch: 0,
        claims: vec![
            Claim {
                torrent: tid(3),
                pieces: PieceSet::All,
            },
            Claim {
                torrent: tid(1),
                pieces: PieceSet::All,
            },
            Claim {
                torrent: tid(2),
                pieces: PieceSet::from_pieces([1, 4, 5, 8], 9).unwrap(),
            },
        ],
    };
    (Irregular { torrents }, report)
}

/// Every claimed block is drawn about equally often, and nothing else is ever drawn. Pearson's
/// chi-square over the 38 blocks (37 degrees of freedom: mean 37, standard deviation 8.6) must stay
/// below 37 + 6 × 8.6.
#[test]
fn challenges_are_uniform_over_claimed_blocks() {
    let (layout, base) = tricky();
    let blocks = claimed_blocks(&base, &layout);
    assert_eq!(blocks.len(), 15 + 4 + 19);
    let mut counts: HashMap<_, u64> = blocks.iter().map(|b| (*b, 0)).collect();
    let seeds = 5000u64;
    let n = 44u32;
    for seed in 0..seeds {
        let report = HostingReport {
            epoch: seed,
            ..base.clone()
        };
        for c in challenges(&secret(seed), &report, &layout, n) {
            *counts
                .get_mut(&c)
                .unwrap_or_else(|| panic!("{c:?} is not a claimed block")) += 1;
        }
    }
    let samples = seeds * u64::from(n);
    let expected = samples as f64 / blocks.len() as f64;
    let chi2: f64 = counts
        .values()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    let dof = (blocks.len() - 1) as f64;
    let bound = dof + 6.0 * (2.0 * dof).sqrt();
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    eprintln!(
        "uniformity: {samples} challenges over {} blocks, {expected:.0} expected each, min {min}, max {max}, chi-square {chi2:.1} (bound {bound:.1})",
        blocks.len()
    );
    assert!(chi2 < bound, "chi-square {chi2} >= {bound}");
}

/// A layout of some 3,000 blocks over several torrents, with whole and partial claims.
fn hosting() -> (BTreeMap<[u8; 32], Shape>, HostingReport) {
    let mut layout = BTreeMap::new();
    let mut claims = Vec::new();
    let shapes = [
        (40u32, 256 * KIB, 39 * 256 * KIB + 70_000),
        (300, 64 * KIB, 300 * 64 * KIB),
        (77, 1024 * KIB, 76 * 1024 * KIB + 1),
        (1000, 16 * KIB, 999 * 16 * KIB + 5),
    ];
    for (i, (pieces, piece_length, data_length)) in shapes.into_iter().enumerate() {
        let t = tid(i as u8 + 10);
        layout.insert(
            t,
            Shape {
                pieces,
                piece_length,
                data_length,
            },
        );
        let set = if i % 2 == 0 {
            PieceSet::All
        } else {
            // Every third piece.
            PieceSet::from_pieces((0..pieces).step_by(3), pieces).unwrap()
        };
        claims.push(Claim {
            torrent: t,
            pieces: set,
        });
    }
    let report = HostingReport {
        node: Address([0x42; 20]),
        epoch: 0,
        claims,
    };
    (layout, report)
}

/// Deletes `per_mille` of the claimed blocks (rounded up) (a fixed random subset: the same for every epoch,
/// as a node that threw data away) and measures how often `n` challenges catch it, over `seeds`
/// epochs with different secrets. Returns (measured rate, exact theory for the deleted fraction).
fn detection_rate(per_mille: u64, n: u32, seeds: u64) -> (f64, f64, usize, usize) {
    let (layout, base) = hosting();
    let mut blocks = claimed_blocks(&base, &layout);
    let total = blocks.len();
    // Rounded up: at least the fraction named is gone.
    let deleted_count = (total * per_mille as usize).div_ceil(1000);
    // Fisher–Yates with a fixed seed; the first `deleted_count` are gone.
    let mut rng = Rng(0xdead_beef);
    for i in (1..blocks.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        blocks.swap(i, j);
    }
    let deleted: HashSet<_> = blocks[..deleted_count].iter().copied().collect();
    let mut caught = 0u64;
    for seed in 0..seeds {
        let report = HostingReport {
            epoch: 1000 + seed,
            ..base.clone()
        };
        if challenges(&secret(seed), &report, &layout, n)
            .iter()
            .any(|c| deleted.contains(c))
        {
            caught += 1;
        }
    }
    let f = deleted_count as f64 / total as f64;
    let theory = 1.0 - (1.0 - f).powi(n as i32);
    (caught as f64 / seeds as f64, theory, deleted_count, total)
}

/// The requirement. Over 10,000 epochs (fixed seeds) the measured rate must be at least
/// 0.985. The exact rate for a uniform sampler is 1 - 0.9^44 = 0.9903; with 10,000 independent
/// epochs the measured rate has a standard deviation of sqrt(0.9903 × 0.0097 / 10,000) = 0.001, so
/// 0.985 is more than 5 standard deviations below the expectation: the test fails only if the
/// sampler is biased (e.g. away from the deleted blocks, or towards a few blocks), not by chance.
#[test]
fn a_node_missing_10_percent_is_caught_in_one_epoch_of_44() {
    let (rate, theory, deleted, total) = detection_rate(100, 44, 10_000);
    eprintln!(
        "detection: {deleted} of {total} claimed blocks deleted, 44 challenges per epoch, caught in {rate:.4} of 10000 epochs (theory {theory:.4})"
    );
    assert!(rate >= 0.985, "caught in only {rate} of the epochs");
}

/// The other two anchors (50 % missing, 7 challenges; 1 % missing, 459 challenges), each within
/// 5 standard deviations of the theory.
#[test]
fn the_other_anchors_hold() {
    for (per_mille, n, seeds) in [(500u64, 7u32, 10_000u64), (10, 459, 2_000)] {
        let (rate, theory, deleted, total) = detection_rate(per_mille, n, seeds);
        let sd = (theory * (1.0 - theory) / seeds as f64).sqrt();
        eprintln!(
            "detection: {deleted} of {total} blocks deleted, {n} challenges: caught in {rate:.4} of {seeds} epochs (theory {theory:.4}, sd {sd:.4})"
        );
        assert!(theory >= 0.99);
        assert!(rate >= theory - 5.0 * sd, "{rate} vs {theory}");
    }
}

fn arb_layout_and_report() -> impl Strategy<Value = (Irregular, HostingReport)> {
    let torrent = (
        0u32..5,
        proptest::collection::vec(0u64..=4, 1..12),
        any::<u64>(),
    );
    proptest::collection::vec(torrent, 1..5).prop_map(|ts| {
        let mut torrents = BTreeMap::new();
        let mut claims = Vec::new();
        for (i, (shift, fills, seed)) in ts.into_iter().enumerate() {
            // Piece length 16 KiB << shift; each piece holds a fraction fills/4 of it (at least
            // one byte, so every piece has a block).
            let piece_length = (16 * KIB) << shift;
            let pieces: Vec<u64> = fills
                .iter()
                .map(|&q| (piece_length * q / 4).max(1))
                .collect();
            let count = pieces.len() as u32;
            let t = tid(i as u8);
            torrents.insert(t, (piece_length, pieces));
            let mut rng = Rng(seed);
            let chosen: Vec<u32> = (0..count).filter(|_| rng.below(2) == 0).collect();
            let set = PieceSet::from_pieces(chosen, count).unwrap_or(PieceSet::All);
            claims.push(Claim {
                torrent: t,
                pieces: set,
            });
        }
        let report = HostingReport {
            node: Address([7; 20]),
            epoch: 9,
            claims,
        };
        (Irregular { torrents }, report)
    })
}

proptest! {
    /// Whatever the layout, every challenge is a claimed block holding data, and the same inputs
    /// give the same challenges.
    #[test]
    fn challenges_land_on_claimed_blocks((layout, report) in arb_layout_and_report(), seed in any::<u64>()) {
        let claimed: HashSet<_> = claimed_blocks(&report, &layout).into_iter().collect();
        let got = challenges(&secret(seed), &report, &layout, 64);
        prop_assert_eq!(got.len(), 64);
        for c in &got {
            prop_assert!(claimed.contains(c), "{:?}", c);
        }
        prop_assert_eq!(&got, &challenges(&secret(seed), &report, &layout, 64));
        // A prefix property: asking for fewer gives the first ones.
        prop_assert_eq!(&got[..10], &challenges(&secret(seed), &report, &layout, 10)[..]);
    }
}

proptest! {
    /// Arbitrary (mostly invalid) reports: validation, claimed bytes and derivation answer with a
    /// typed error or a result, never a panic; whatever they derive lies inside the claims.
    #[test]
    fn arbitrary_reports_never_panic(
        claims in proptest::collection::vec(
            (0u8..6, proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4))),
            0..6,
        ),
        seed in any::<u64>(),
    ) {
        let (layout, _) = tricky();
        let report = HostingReport {
            node: Address([3; 20]),
            epoch: 1,
            claims: claims
                .into_iter()
                .map(|(t, bits)| Claim {
                    torrent: tid(t),
                    pieces: bits.map_or(PieceSet::All, PieceSet::Bitfield),
                })
                .collect(),
        };
        let valid = report.check_layout(&layout).is_ok();
        prop_assert_eq!(report.claimed_bytes(&layout).is_ok(), valid);
        let derived = audit::derive(
            &secret(seed), 1, &report.node, &report.hash(), &report, &layout, 16,
        );
        prop_assert_eq!(derived.is_ok(), valid);
        if let Ok(got) = derived {
            let claimed: HashSet<_> = claimed_blocks(&report, &layout).into_iter().collect();
            prop_assert!(got.iter().all(|c| claimed.contains(c)));
        }
    }
}
