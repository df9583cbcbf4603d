//! The epoch economy in the ledger (`docs/economics.md`, "Closing an epoch"): every test drives a
//! `State` through epochs at chosen times, closes them with `EpochClose`, and ends by replaying
//! what it logged (with and without signature checks) to the same root. The supply invariant is
//! asserted by the state machine after every entry.

mod support;

use economics::fixed::WAD;
use economics::geo::GeoVerdict;
use ledger::{AuditMark, EpochCloseTx, HostedBytes, MarketObservation, NodeRtt, SystemTx};
use support::*;
use token::distributor::{EarningsTree, leaf, verify};
use token::{Amount, Receipt, SecretKey, Signed, Sponsor, Stake, UserTx};

const TORRENT: [u8; 32] = [0xAA; 32];
const OTHER: [u8; 32] = [0xBB; 32];
const BERLIN: &str = "52.52,13.405";
const PARIS: &str = "48.8566,2.3522";

/// A world with dave as a third member and two registered torrents of one GB each.
fn world() -> (World, SecretKey) {
    let dave = key(5);
    let mut w = World::with(|g| {
        g.allocations.push(ledger::genesis::Allocation {
            account: dave.address(),
            liquid: Amount::tokens(1000),
            staked: Amount::tokens(100),
            lock_until: 0,
            member: Some("dave".into()),
        });
    });
    let price = w.genesis.price_per_byte();
    for torrent in [TORRENT, OTHER] {
        w.system(SystemTx::RegisterTorrent {
            torrent,
            size: GB,
            price_per_byte: price,
        })
        .unwrap();
    }
    (w, dave)
}

fn close(w: &mut World, c: EpochCloseTx) -> ledger::CloseSummary {
    w.system(SystemTx::EpochClose(c)).unwrap();
    w.state.economy().last.clone().unwrap()
}

fn empty_close(epoch: u64) -> EpochCloseTx {
    EpochCloseTx {
        epoch,
        markets: Vec::new(),
        hosted: Vec::new(),
        rtts: Vec::new(),
        auditor_location: String::new(),
    }
}

fn hosted(nodes: &[(&SecretKey, [u8; 32])]) -> Vec<HostedBytes> {
    let mut v: Vec<HostedBytes> = nodes
        .iter()
        .map(|(k, torrent)| HostedBytes {
            node: k.address(),
            torrent: *torrent,
            bytes: GB,
        })
        .collect();
    v.sort_by_key(|h| (h.node, h.torrent));
    v
}

/// One audited epoch: `hosts` report one GB (of `torrent`) for it, pass (or fail with `marks`),
/// and the epoch is closed with the given hosted list.
fn audited_epoch(
    w: &mut World,
    hosts: &[(&SecretKey, [u8; 32], &str, Vec<AuditMark>)],
    rtts: Vec<NodeRtt>,
    auditor_location: &str,
) -> ledger::CloseSummary {
    let epoch = w.epoch() + 1;
    w.go_to(epoch - 1);
    w.commit(epoch).unwrap();
    for (k, _, location, _) in hosts {
        let k = (*k).clone();
        w.report_with(&k, epoch, GB, "127.0.0.1:6881", location)
            .unwrap();
    }
    w.go_to(epoch + 1);
    w.reveal(epoch).unwrap();
    let nodes = ascending(
        hosts
            .iter()
            .map(|(k, _, _, marks)| audit(k, marks.clone()))
            .collect(),
    );
    w.results(epoch, nodes).unwrap();
    let list: Vec<(&SecretKey, [u8; 32])> = hosts.iter().map(|(k, t, _, _)| (*k, *t)).collect();
    close(
        w,
        EpochCloseTx {
            epoch,
            markets: Vec::new(),
            hosted: hosted(&list),
            rtts,
            auditor_location: auditor_location.into(),
        },
    )
}

fn passes() -> Vec<AuditMark> {
    vec![AuditMark::Pass; 44]
}

fn host<'a>(s: &'a ledger::CloseSummary, k: &SecretKey) -> &'a ledger::economy::HostOutcome {
    s.hosts.iter().find(|h| h.node == k.address()).unwrap()
}

fn earned(w: &World, k: &SecretKey) -> u128 {
    w.state
        .economy()
        .earned
        .get(&k.address())
        .map_or(0, |a| a.0)
}

#[test]
fn a_hot_torrents_price_rises_while_saturated_and_falls_after_seeders_join() {
    let (mut w, _) = world();
    let start = w.state.torrent(&TORRENT).unwrap().price_per_byte.0;
    let mut prices = vec![start];
    // Three epochs with three times the demand the swarm can serve, then capacity arrives.
    for (demand, capacity) in [(3, 1), (3, 1), (3, 1), (1, 4), (1, 4)] {
        let epoch = w.epoch();
        w.go_to(epoch + 1);
        let mut c = empty_close(epoch);
        c.markets = vec![MarketObservation {
            torrent: TORRENT,
            demand_bytes: demand * GB,
            capacity_bytes: capacity * GB,
        }];
        let s = close(&mut w, c);
        let t = s.torrents.iter().find(|t| t.torrent == TORRENT).unwrap();
        prices.push(t.price_after.0);
        assert_eq!(
            w.state.torrent(&TORRENT).unwrap().price_per_byte.0,
            t.price_after.0
        );
    }
    // +12.5 % a step while saturated (the EIP-1559 bound), then down.
    for i in 0..3 {
        assert_eq!(prices[i + 1], prices[i] * 9 / 8, "step {i}: {prices:?}");
    }
    assert!(prices[4] < prices[3] && prices[5] < prices[4], "{prices:?}");
    // A torrent nobody observed kept its price.
    assert_eq!(
        w.state.torrent(&OTHER).unwrap().price_per_byte.0,
        start,
        "no observation, no move"
    );
    w.replays_agree();
}

#[test]
fn an_under_replicated_torrents_weight_rises_until_replicas_reach_target() {
    let (mut w, dave) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let mut weights = vec![WAD];
    // Two replicas of a target of three: the weight climbs toward 3/2 by at most 1/8 a step.
    for _ in 0..5 {
        let s = audited_epoch(
            &mut w,
            &[
                (&alice, TORRENT, "", passes()),
                (&bob, TORRENT, "", passes()),
            ],
            Vec::new(),
            "",
        );
        let t = s.torrents.iter().find(|t| t.torrent == TORRENT).unwrap();
        assert_eq!(t.replicas_milli, 2000);
        weights.push(t.weight_after);
    }
    for pair in weights.windows(2) {
        assert!(pair[1] > pair[0] || pair[1] == 3 * WAD / 2, "{weights:?}");
        assert!(
            pair[1] <= pair[0] + pair[0] / 8,
            "bounded step: {weights:?}"
        );
    }
    assert_eq!(
        *weights.last().unwrap(),
        3 * WAD / 2,
        "reached 3/2: {weights:?}"
    );
    // A third replica reaches the target: the weight heads back to 1.
    let s = audited_epoch(
        &mut w,
        &[
            (&alice, TORRENT, "", passes()),
            (&bob, TORRENT, "", passes()),
            (&dave, TORRENT, "", passes()),
        ],
        Vec::new(),
        "",
    );
    let t = s.torrents.iter().find(|t| t.torrent == TORRENT).unwrap();
    assert_eq!(t.replicas_milli, 3000);
    assert!(t.weight_after < t.weight_before);
    // The unhosted torrent's weight rose toward the most a torrent may weigh.
    let other = w.state.market(&OTHER).unwrap();
    assert!(other.weight_wad > 3 * WAD / 2, "{}", other.weight_wad);
    w.replays_agree();
}

#[test]
fn a_lazy_nodes_earnings_fall_and_it_is_penalised_while_an_honest_one_earns() {
    let (mut w, _) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    // Both honest: equal claims, equal pay.
    let s = audited_epoch(
        &mut w,
        &[
            (&alice, TORRENT, "", passes()),
            (&bob, TORRENT, "", passes()),
        ],
        Vec::new(),
        "",
    );
    let (a1, b1) = (host(&s, &alice).reward, host(&s, &bob).reward);
    assert!(a1 > Amount::ZERO);
    assert_eq!(a1, b1);
    // Bob deletes a tenth of his data: some answers are `missing`.
    let mut lazy = passes();
    for m in lazy.iter_mut().take(5) {
        *m = AuditMark::Missing;
    }
    let carry = w.state.economy().reward_carry.0;
    let s = audited_epoch(
        &mut w,
        &[(&alice, TORRENT, "", passes()), (&bob, TORRENT, "", lazy)],
        Vec::new(),
        "",
    );
    let b = host(&s, &bob);
    assert_eq!(b.reward, Amount::ZERO);
    assert!(
        b.excluded.as_deref().unwrap().starts_with("frozen"),
        "{b:?}"
    );
    assert!(
        w.state.host(&bob.address()).unwrap().frozen,
        "penalised: frozen"
    );
    // Alice took the whole epoch's inflation, less the rounding carried to the next close.
    let a = host(&s, &alice);
    assert_eq!(
        a.reward.0 + w.state.economy().reward_carry.0,
        s.minted.0 + carry,
        "minted = paid + carried"
    );
    assert!(
        a.reward > a1,
        "the honest node earns more when the lazy one is out"
    );
    w.replays_agree();
}

#[test]
fn rewards_vest_three_quarters_over_180_days_and_penalties_take_vesting_first() {
    let (mut w, _) = world();
    let alice = w.alice.clone();
    let s = audited_epoch(&mut w, &[(&alice, TORRENT, "", passes())], Vec::new(), "");
    let a = host(&s, &alice);
    let total = a.reward.0;
    assert_eq!(a.liquid.0, total / 4);
    assert_eq!(a.vesting.0, total - total / 4);
    assert_eq!(w.state.account(&alice.address()).vesting, a.vesting);
    assert_eq!(w.state.economy().unvested(&alice.address()), a.vesting.0);

    // Nothing vests before the next UTC midnight; 90 days after it, a close releases half.
    let epoch = w.epoch();
    let ended = w.epoch();
    w.go_to(epoch + 1);
    let s = close(&mut w, empty_close(ended));
    assert_eq!(
        s.released,
        Amount::ZERO,
        "vesting starts at the next midnight"
    );
    let midnight = (w.now / 86_400 + 1) * 86_400;
    w.go_to(w.genesis.epoch_at(midnight + 90 * 86_400));
    let before = w.state.account(&alice.address());
    let ended = w.epoch() - 1;
    let s = close(&mut w, empty_close(ended));
    let after = w.state.account(&alice.address());
    let released = after.balance.0 - before.balance.0;
    assert_eq!(s.released.0, released);
    let half = a.vesting.0 / 2;
    assert!(
        released.abs_diff(half) <= a.vesting.0 / 180,
        "{released} vs {half}"
    );
    assert_eq!(after.vesting.0, a.vesting.0 - released);

    // Wrong data burns vesting before stake.
    let stake = after.stake;
    let epoch = w.epoch() + 1;
    w.go_to(epoch - 1);
    w.commit(epoch).unwrap();
    w.report(&alice, epoch, GB).unwrap();
    w.go_to(epoch + 1);
    w.reveal(epoch).unwrap();
    let mut marks = passes();
    marks[0] = AuditMark::Wrong;
    w.results(epoch, vec![audit(&alice, marks)]).unwrap();
    let burned = w.state.account(&alice.address());
    assert!(burned.vesting < after.vesting);
    assert_eq!(
        w.state.economy().unvested(&alice.address()),
        burned.vesting.0
    );
    assert!(burned.stake == stake || burned.vesting == Amount::ZERO);
    w.replays_agree();
}

fn settle_fee(w: &mut World, gib: u64) {
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let receipt = Receipt {
        collective: w.genesis.collective_address(),
        torrent: TORRENT,
        uploader: alice.address(),
        downloader: bob.address(),
        session: token::session_at(w.now, [gib as u8; 24]),
        bytes: gib << 30,
    };
    let signed = Signed::<Receipt>::sign(&w.domain, &bob, receipt);
    let effects = w
        .system(SystemTx::Settle {
            receipts: vec![signed],
        })
        .unwrap();
    assert!(
        matches!(effects.receipts[0], token::ReceiptOutcome::Settled { .. }),
        "{:?}",
        effects.receipts
    );
}

#[test]
fn a_long_lock_earns_more_fee_share_than_a_short_one_of_equal_amount() {
    let (mut w, _) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    // Genesis stakes are unlocked (lock 0): they earn nothing. Both lock 100 more.
    for (k, days) in [(&alice, 300), (&bob, 30)] {
        let tx = UserTx::Stake(Stake {
            account: k.address(),
            amount: Amount::tokens(100),
            lock_until: w.now + days * 86_400,
            nonce: w.nonce(k),
        });
        w.user(k, tx).unwrap();
    }
    settle_fee(&mut w, 10);
    let pool = w.state.supply().stakers_pool;
    assert!(pool > Amount::ZERO);
    let epoch = w.epoch();
    w.go_to(epoch + 1);
    let s = close(&mut w, empty_close(epoch));
    let share = |k: &SecretKey| {
        s.stakers
            .iter()
            .find(|x| x.account == k.address())
            .map_or(0, |x| x.paid.0)
    };
    let (a, b) = (share(&alice), share(&bob));
    assert!(a > 10 * b, "300-day lock {a} vs 30-day lock {b}");
    // Conserved: paid + what stays in the pool = the pool.
    assert_eq!(s.fees_paid.0 + w.state.supply().stakers_pool.0, pool.0);
    assert_eq!(earned(&w, &alice), a);
    w.replays_agree();
}

#[test]
fn a_sponsored_pool_pays_only_its_torrents_verified_hosts_and_is_conserved() {
    let (mut w, _) = world();
    let (alice, bob, carol) = (w.alice.clone(), w.bob.clone(), w.carol.clone());
    let deposit = Amount::tokens(10);
    let tx = UserTx::Sponsor(Sponsor {
        sponsor: carol.address(),
        torrent: TORRENT,
        amount: deposit,
        epochs: 4,
        nonce: w.nonce(&carol),
    });
    w.user(&carol, tx).unwrap();
    assert_eq!(w.state.pool(&TORRENT).0, deposit);
    let mut paid = 0;
    for round in 0..5 {
        let s = audited_epoch(
            &mut w,
            &[(&alice, TORRENT, "", passes()), (&bob, OTHER, "", passes())],
            Vec::new(),
            "",
        );
        assert_eq!(
            host(&s, &bob).sponsored,
            Amount::ZERO,
            "bob hosts the other torrent"
        );
        let a = host(&s, &alice).sponsored.0;
        if round < 4 {
            assert_eq!(a, deposit.0 / 4, "round {round}");
        } else {
            assert_eq!(a, 0, "the pool is spent");
        }
        paid += a;
        assert_eq!(paid + w.state.pool(&TORRENT).0.0, deposit.0, "conserved");
    }
    assert_eq!(paid, deposit.0);
    // Refusals change nothing.
    let bad = |amount: Amount, epochs: u64, torrent: [u8; 32], w: &mut World| {
        let tx = UserTx::Sponsor(Sponsor {
            sponsor: carol.address(),
            torrent,
            amount,
            epochs,
            nonce: w.nonce(&carol),
        });
        w.user(&carol, tx).unwrap_err().code()
    };
    assert_eq!(bad(Amount::ZERO, 4, TORRENT, &mut w), "zero_amount");
    assert_eq!(bad(deposit, 0, TORRENT, &mut w), "bad_sponsor");
    assert_eq!(bad(deposit, 4, [7; 32], &mut w), "bad_sponsor");
    assert_eq!(
        bad(Amount::tokens(1_000_000), 4, TORRENT, &mut w),
        "insufficient_balance"
    );
    w.replays_agree();
}

#[test]
fn a_location_its_round_trip_contradicts_gets_no_boost() {
    let (mut w, dave) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let rtts = |w: &World| {
        let mut v: Vec<NodeRtt> = [&alice, &bob, &dave]
            .iter()
            .map(|k| NodeRtt {
                node: k.address(),
                rtt_us: if k.address() == dave.address() {
                    30_000
                } else {
                    200
                },
            })
            .collect();
        v.sort_by_key(|r| r.node);
        let _ = w;
        v
    };
    // The auditor is in Berlin. Alice is there too (0.2 ms: within 20 km, consistent); bob says
    // Paris with the same 0.2 ms round trip (878 km away: impossible); dave says Paris with 30 ms
    // (up to 3,000 km: consistent, and far from alice).
    let r = rtts(&w);
    let s = audited_epoch(
        &mut w,
        &[
            (&alice, TORRENT, BERLIN, passes()),
            (&bob, TORRENT, PARIS, passes()),
            (&dave, TORRENT, PARIS, passes()),
        ],
        r,
        BERLIN,
    );
    let geo = |k: &SecretKey| host(&s, k).replicas[0].clone();
    assert!(
        matches!(geo(&bob).geo, GeoVerdict::Contradicted { .. }),
        "{:?}",
        geo(&bob)
    );
    assert_eq!(geo(&bob).geo_bps, 10_000);
    assert!(!geo(&bob).geo.reason().is_empty());
    // Dave is consistent but bob declares the same city: no boost for being near a replica.
    assert!(
        matches!(geo(&dave).geo, GeoVerdict::NearReplica { .. }),
        "{:?}",
        geo(&dave)
    );
    // Alice is far from both Paris replicas: boosted.
    assert!(
        matches!(geo(&alice).geo, GeoVerdict::Boosted { .. }),
        "{:?}",
        geo(&alice)
    );
    assert_eq!(geo(&alice).geo_bps, 11_500);
    assert!(host(&s, &alice).reward > host(&s, &bob).reward);
    // Without the auditor's location nothing can be checked: no boost, and it says so.
    let r = rtts(&w);
    let s = audited_epoch(&mut w, &[(&alice, TORRENT, BERLIN, passes())], r, "");
    assert_eq!(
        host(&s, &alice).replicas[0].geo,
        GeoVerdict::NoAuditorLocation
    );
    w.replays_agree();
}

#[test]
fn minted_is_paid_or_carried_and_the_earnings_root_proves_every_account() {
    let (mut w, dave) = world();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let minted_before = w.state.supply().minted.0;
    let mut minted = 0;
    let mut paid = 0;
    for _ in 0..3 {
        let s = audited_epoch(
            &mut w,
            &[
                (&alice, TORRENT, "", passes()),
                (&bob, OTHER, "", passes()),
                (&dave, TORRENT, "", passes()),
            ],
            Vec::new(),
            "",
        );
        assert!(s.minted > Amount::ZERO);
        minted += s.minted.0;
        paid += s.hosting_paid.0;
    }
    assert_eq!(w.state.supply().minted.0 - minted_before, minted);
    assert_eq!(
        minted,
        paid + w.state.economy().reward_carry.0,
        "minted = paid + carried"
    );
    // An epoch with nothing verified mints nothing.
    let epoch = w.epoch();
    w.go_to(epoch + 1);
    let s = close(&mut w, empty_close(epoch));
    assert_eq!(s.minted, Amount::ZERO);

    let e = w.state.economy();
    let values: Vec<(token::Address, u128)> = e.earned.iter().map(|(a, x)| (*a, x.0)).collect();
    let tree = EarningsTree::build(&values);
    assert_eq!(tree.root(), e.earnings_root);
    for (account, amount) in &values {
        let proof = tree.proof(account).unwrap();
        assert!(verify(&e.earnings_root, &leaf(account, *amount), &proof));
        assert!(!verify(
            &e.earnings_root,
            &leaf(account, amount + 1),
            &proof
        ));
    }
    w.replays_agree();
}

#[test]
fn closes_come_in_order_after_their_epoch_and_must_add_up() {
    let (mut w, _) = world();
    let alice = w.alice.clone();
    let epoch = w.epoch();
    let code =
        |w: &mut World, c: EpochCloseTx| w.system(SystemTx::EpochClose(c)).unwrap_err().code();
    assert_eq!(code(&mut w, empty_close(epoch)), "bad_epoch", "not ended");
    // A report for the next epoch, then its close with hosted bytes that do not add up.
    let next = epoch + 1;
    w.commit(next).unwrap();
    w.report(&alice, next, GB).unwrap();
    w.go_to(next + 1);
    let mut c = empty_close(next);
    c.hosted = vec![HostedBytes {
        node: alice.address(),
        torrent: TORRENT,
        bytes: GB / 2,
    }];
    assert_eq!(code(&mut w, c.clone()), "bad_close");
    c.hosted[0].torrent = [9; 32];
    c.hosted[0].bytes = GB;
    assert_eq!(code(&mut w, c.clone()), "bad_close", "unregistered torrent");
    c.hosted.clear();
    c.markets = vec![
        MarketObservation {
            torrent: OTHER,
            demand_bytes: 1,
            capacity_bytes: 1,
        },
        MarketObservation {
            torrent: TORRENT,
            demand_bytes: 1,
            capacity_bytes: 1,
        },
    ];
    assert_eq!(code(&mut w, c.clone()), "bad_close", "not ascending");
    c.markets.clear();
    c.auditor_location = "north".into();
    assert_eq!(code(&mut w, c.clone()), "bad_close", "bad location");
    c.auditor_location.clear();
    close(&mut w, c.clone());
    assert_eq!(code(&mut w, c), "bad_epoch", "closed already");
    assert_eq!(
        code(&mut w, empty_close(epoch)),
        "bad_epoch",
        "older than the last close"
    );
    w.replays_agree();
}

/// Runs epoch `epoch` for alice: commit, an optional new report (one GB of `report`), reveal,
/// passing audits, then a close that describes `describe` (torrents of her report in force).
fn alice_epoch(
    w: &mut World,
    epoch: u64,
    report: Option<[u8; 32]>,
    describe: Option<[u8; 32]>,
) -> Result<ledger::CloseSummary, String> {
    let alice = w.alice.clone();
    w.go_to(epoch - 1);
    w.commit(epoch).unwrap();
    if report.is_some() {
        w.report(&alice, epoch, GB).unwrap();
    }
    w.go_to(epoch + 1);
    w.reveal(epoch).unwrap();
    w.results(epoch, vec![audit(&alice, passes())]).unwrap();
    let mut c = empty_close(epoch);
    if let Some(t) = describe {
        c.hosted = hosted(&[(&alice, t)]);
    }
    w.system(SystemTx::EpochClose(c))
        .map_err(|e| e.code().to_string())?;
    Ok(w.state.economy().last.clone().unwrap())
}

#[test]
fn a_report_is_described_once_and_counts_until_a_newer_one_is_in_force() {
    let (mut w, _) = world();
    let alice = w.alice.clone();
    let first = w.epoch() + 1;
    let s = alice_epoch(&mut w, first, Some(TORRENT), Some(TORRENT)).unwrap();
    assert!(host(&s, &alice).reward.0 > 0, "described and audited: paid");
    let held = &w.state.economy().holdings[&alice.address()];
    assert_eq!((held.report_epoch, held.torrents.len()), (first, 1));

    // A later epoch, the same report in force: describing it again is refused, whole.
    let second = w.epoch() + 1;
    let refused = alice_epoch(&mut w, second, None, Some(TORRENT));
    assert_eq!(refused.unwrap_err(), "bad_close", "described already");
    let s = close(&mut w, empty_close(second));
    assert!(
        host(&s, &alice).reward.0 > 0,
        "the record counts without a description"
    );
    assert_eq!(host(&s, &alice).replicas[0].torrent, TORRENT);

    // A newer report (of the other torrent) counts only once a close describes it.
    let third = w.epoch() + 1;
    let s = alice_epoch(&mut w, third, Some(OTHER), None).unwrap();
    assert!(
        s.hosts.iter().all(|h| h.node != alice.address()),
        "not described: not counted"
    );
    let fourth = w.epoch() + 1;
    let s = alice_epoch(&mut w, fourth, None, Some(OTHER)).unwrap();
    assert_eq!(host(&s, &alice).replicas[0].torrent, OTHER);
    assert!(host(&s, &alice).reward.0 > 0);
    w.replays_agree();
}
