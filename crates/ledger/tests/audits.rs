//! Availability audits in the ledger: hosting reports, the epoch secret's commitment and reveal,
//! audit results and their penalties (`docs/economics.md`, "Hosting reports, audits and
//! penalties").
//!
//! Most tests apply entries to a `State` at times they choose (epochs pass without waiting), and
//! end by replaying what they logged, with and without signature checks. The last ones run a real
//! `Ledger` on one-second epochs: the tables, `verify` and a reopen must agree with the live root.

mod support;

use economics::PPB;
use economics::reputation::Standing;
use ledger::state::Effects;
use ledger::{AuditMark, Ledger, SystemTx, Tx, TxError, verify};
use support::*;
use token::{Address, Amount, Report, SecretKey, Signed, Transfer, Unstake, UserTx};

#[test]
fn reports_are_fixed_before_their_epoch_and_bounded_by_collateral() {
    let mut w = World::new();
    let (alice, carol) = (w.alice.clone(), w.carol.clone());
    let e = w.epoch();
    // 5 GB free + 10 GB per token of the 100 staked.
    let bound = 5 * GB + 100 * 10 * GB;
    assert_eq!(w.state.host_bound(&alice.address()), bound);
    assert_eq!(w.state.host_bound(&carol.address()), 5 * GB);

    let code = |r: Result<Effects, TxError>| r.unwrap_err().code();
    // Before the hub committed to the epoch's secret, no report is taken.
    assert_eq!(
        code(w.report_uncommitted(&alice, e + 1, GB, "127.0.0.1:6881", "")),
        "bad_epoch",
        "an uncommitted epoch"
    );
    assert_eq!(
        code(w.report(&alice, e, GB)),
        "bad_report",
        "the current epoch"
    );
    assert_eq!(
        code(w.report(&alice, e - 1, GB)),
        "bad_report",
        "a past epoch"
    );
    assert_eq!(
        code(w.report(&alice, e + 3, GB)),
        "bad_report",
        "too far ahead"
    );
    assert_eq!(
        w.report(&alice, e + 1, bound + 1).unwrap_err(),
        TxError::OverCollateral {
            claimed: bound + 1,
            bound
        }
    );
    for endpoint in ["localhost:6881", "127.0.0.1", "0.0.0.0:6881", ""] {
        let r = w.report_with(&alice, e + 1, GB, endpoint, "");
        assert_eq!(code(r), "bad_report", "{endpoint}");
    }
    let long = format!("127.0.0.1:{}", "1".repeat(250));
    assert_eq!(
        code(w.report_with(&alice, e + 1, GB, &long, "")),
        "bad_report"
    );
    for location in ["52.52", "91,0", "0,181", "1.1234567,0", "north"] {
        let r = w.report_with(&alice, e + 1, GB, "127.0.0.1:6881", location);
        assert_eq!(code(r), "bad_report", "{location}");
    }
    assert_eq!(
        w.report(&carol, e + 1, GB).unwrap_err(),
        TxError::NotMember(carol.address())
    );
    assert_eq!(
        w.state.host(&alice.address()),
        None,
        "refusals made no host"
    );

    let effects = w.report(&alice, e + 1, bound).unwrap();
    assert!(effects.accounts.contains(&alice.address()));
    let host = w.state.host(&alice.address()).unwrap();
    assert_eq!(host.reputation.score_ppb(), PPB);
    assert!(!host.frozen && !host.disqualified && host.last_epoch.is_none());
    assert_eq!(
        w.report(&alice, e + 1, GB).unwrap_err(),
        TxError::ReportExists {
            node: alice.address(),
            epoch: e + 1
        }
    );
    w.report_with(&alice, e + 2, GB, "[::1]:6881", "").unwrap();

    // The bound follows the collateral.
    w.stake(&alice, 50).unwrap();
    assert_eq!(w.state.host_bound(&alice.address()), bound + 50 * 10 * GB);
    assert_eq!(w.state.collateral(&alice.address()), Amount::tokens(150));
    w.go_to(e + 1);
    w.report(&alice, e + 3, bound + 50 * 10 * GB).unwrap();
    w.replays_agree();
}

#[test]
fn a_report_stays_in_force_until_a_later_one() {
    let mut w = World::new();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let e = w.epoch();
    assert!(w.state.report_in_force(&alice.address(), e + 1).is_none());
    w.report(&alice, e + 1, GB).unwrap();
    w.report(&bob, e + 2, 2 * GB).unwrap();
    assert!(w.state.report_in_force(&alice.address(), e).is_none());
    for epoch in [e + 1, e + 2, e + 40] {
        let (from, r) = w.state.report_in_force(&alice.address(), epoch).unwrap();
        assert_eq!((from, r.claimed_bytes), (e + 1, GB));
    }
    let who = |w: &World, epoch| -> Vec<Address> {
        w.state
            .reports_in_force(epoch)
            .into_iter()
            .map(|(a, _, _)| a)
            .collect()
    };
    assert_eq!(who(&w, e + 1), vec![alice.address()]);
    let mut both = vec![alice.address(), bob.address()];
    both.sort();
    assert_eq!(who(&w, e + 2), both);
    // Ten epochs later alice reports anew: the old report holds until the new one's epoch.
    w.go_to(e + 10);
    w.report_with(&alice, e + 12, 3 * GB, "192.0.2.7:51413", "")
        .unwrap();
    let (from, r) = w.state.report_in_force(&alice.address(), e + 11).unwrap();
    assert_eq!((from, r.claimed_bytes), (e + 1, GB));
    let (from, r) = w.state.report_in_force(&alice.address(), e + 12).unwrap();
    assert_eq!((from, r.claimed_bytes), (e + 12, 3 * GB));
    assert_eq!(r.endpoint, "192.0.2.7:51413");
    // A member whose stake falls under the minimum is not audited.
    w.unstake(&bob, 1).unwrap();
    assert_eq!(who(&w, e + 12), vec![alice.address()]);
    w.replays_agree();
}

#[test]
fn the_secret_is_committed_before_and_revealed_after_its_epoch() {
    let mut w = World::new();
    let e = w.epoch();
    let code = |r: Result<Effects, TxError>| r.unwrap_err().code();
    assert_eq!(code(w.commit(e)), "bad_epoch", "the epoch has begun");
    w.commit(e + 1).unwrap();
    w.commit(e + 3).unwrap();
    assert_eq!(w.state.unrevealed_epochs(), vec![e + 1, e + 3]);
    assert_eq!(code(w.commit(e + 1)), "bad_epoch", "committed twice");
    let info = w.state.epoch_info(e + 1).unwrap();
    assert_eq!(info.commitment, audit::commit(e + 1, &secret(e + 1)));
    assert!(info.secret.is_none() && !info.audited);
    // Not during the epoch, not before.
    assert_eq!(code(w.reveal(e + 1)), "bad_epoch");
    w.go_to(e + 1);
    assert_eq!(code(w.reveal(e + 1)), "bad_epoch");
    assert_eq!(code(w.reveal(e + 7)), "bad_epoch", "never committed");
    w.go_to(e + 2);
    let mut wrong = secret(e + 1);
    wrong[31] ^= 1;
    let refused = w.system(SystemTx::EpochReveal {
        epoch: e + 1,
        secret: wrong,
    });
    assert_eq!(refused.unwrap_err(), TxError::BadReveal(e + 1));
    // Another epoch's secret does not open it either.
    let refused = w.system(SystemTx::EpochReveal {
        epoch: e + 1,
        secret: secret(e + 2),
    });
    assert_eq!(code(refused), "bad_reveal");
    w.reveal(e + 1).unwrap();
    assert_eq!(
        w.state.epoch_info(e + 1).unwrap().secret,
        Some(secret(e + 1))
    );
    assert_eq!(code(w.reveal(e + 1)), "bad_epoch", "revealed twice");
    assert_eq!(w.state.unrevealed_epochs(), vec![e + 3]);
    let epochs: Vec<u64> = w.state.epochs_from(e + 2).iter().map(|(e, _)| *e).collect();
    assert_eq!(epochs, vec![e + 3]);
    assert_eq!(w.state.epochs_from(e).len(), 2);
    w.replays_agree();
}

#[test]
fn audit_results_come_after_the_reveal_once_for_reported_nodes() {
    let mut w = World::new();
    let (alice, bob, carol) = (w.alice.clone(), w.bob.clone(), w.carol.clone());
    let e = w.epoch() + 1;
    w.commit(e).unwrap();
    w.report(&alice, e, GB).unwrap();
    w.report(&bob, e, GB).unwrap();
    let pass = |k: &SecretKey| audit(k, vec![AuditMark::Pass]);
    let code = |r: Result<Effects, TxError>| r.unwrap_err().code();
    w.go_to(e + 1);
    assert_eq!(
        code(w.results(e, vec![pass(&alice)])),
        "bad_epoch",
        "before the reveal"
    );
    w.reveal(e).unwrap();
    // Nodes in ascending order, each once.
    let mut desc = ascending(vec![pass(&alice), pass(&bob)]);
    desc.reverse();
    assert_eq!(code(w.results(e, desc)), "bad_audit");
    assert_eq!(
        code(w.results(e, vec![pass(&alice), pass(&alice)])),
        "bad_audit"
    );
    // Only nodes with a report in force.
    let with_carol = ascending(vec![pass(&alice), pass(&carol)]);
    assert_eq!(code(w.results(e, with_carol)), "bad_audit");
    // Evidence: one hash per wrong answer.
    let mut missing = audit(&alice, vec![AuditMark::Wrong, AuditMark::Wrong]);
    missing.evidence.pop();
    assert_eq!(code(w.results(e, vec![missing])), "bad_audit");
    let mut extra = audit(&alice, vec![AuditMark::Pass]);
    extra.evidence.push([1; 32]);
    assert_eq!(code(w.results(e, vec![extra])), "bad_audit");
    // At least one outcome, at most 4 × audit_samples.
    assert_eq!(code(w.results(e, vec![audit(&alice, vec![])])), "bad_audit");
    let too_many = audit(&alice, vec![AuditMark::Pass; 4 * 44 + 1]);
    assert_eq!(code(w.results(e, vec![too_many])), "bad_audit");
    assert_eq!(w.state.host(&alice.address()).unwrap().last_epoch, None);

    let most = audit(&alice, vec![AuditMark::Pass; 4 * 44]);
    w.results(e, ascending(vec![most, pass(&bob)])).unwrap();
    assert!(w.state.epoch_info(e).unwrap().audited);
    assert_eq!(
        code(w.results(e, vec![pass(&bob)])),
        "bad_epoch",
        "audited once"
    );
    // A report stays in force: the next epoch audits alice's report of epoch e.
    w.commit(e + 2).unwrap();
    w.go_to(e + 3);
    w.reveal(e + 2).unwrap();
    w.results(e + 2, vec![pass(&alice)]).unwrap();
    assert_eq!(
        w.state.host(&alice.address()).unwrap().last_epoch,
        Some(e + 2)
    );
    assert_eq!(w.state.host(&bob.address()).unwrap().last_epoch, Some(e));
    w.replays_agree();
}

#[test]
fn offline_freezes_without_burning_and_a_clean_epoch_unfreezes() {
    let mut w = World::new();
    let alice = w.alice.clone();
    let e = w.epoch() + 1;
    w.epoch_reported_and_revealed(e, &[&alice]);
    let supply = w.state.supply();
    let before = w.state.account(&alice.address());
    let outcomes = vec![
        AuditMark::Pass,
        AuditMark::Offline,
        AuditMark::Pass,
        AuditMark::Missing,
    ];
    let effects = w.results(e, vec![audit(&alice, outcomes)]).unwrap();
    assert!(
        effects.accounts.contains(&alice.address()),
        "in alice's history"
    );
    assert!(effects.members.is_empty());
    let host = w.state.host(&alice.address()).unwrap();
    assert!(host.frozen && !host.disqualified);
    assert!(
        host.reputation.score_ppb() < PPB,
        "failures lower the score"
    );
    let params = w.genesis.reputation;
    assert_eq!(params.standing(host.reputation.score_ppb()), Standing::Good);
    assert_eq!(w.state.supply(), supply, "nothing burned");
    assert_eq!(w.state.account(&alice.address()), before);

    // Frozen: no unstaking; liquid tokens still move.
    assert_eq!(w.unstake(&alice, 1).unwrap_err(), TxError::Frozen);
    let bob = w.bob.address();
    w.user(
        &alice,
        UserTx::Transfer(Transfer {
            from: alice.address(),
            to: bob,
            amount: Amount::tokens(1),
            nonce: w.nonce(&alice),
        }),
    )
    .unwrap();

    // An epoch of passes only, and the stake is free again.
    w.go_to(e + 1);
    w.commit(e + 2).unwrap();
    w.go_to(e + 3);
    w.reveal(e + 2).unwrap();
    w.results(e + 2, vec![audit(&alice, vec![AuditMark::Pass; 3])])
        .unwrap();
    let host = w.state.host(&alice.address()).unwrap();
    assert!(!host.frozen);
    w.unstake(&alice, 1).unwrap();
    w.replays_agree();
}

#[test]
fn wrong_data_burns_collateral_and_suspends_a_member_under_the_minimum() {
    let mut w = World::new();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    let e = w.epoch() + 1;
    w.epoch_reported_and_revealed(e, &[&alice, &bob]);
    let before = w.state.supply();
    let nodes = ascending(vec![
        audit(
            &alice,
            vec![AuditMark::Pass, AuditMark::Wrong, AuditMark::Offline],
        ),
        audit(&bob, vec![AuditMark::Pass]),
    ]);
    let effects = w.results(e, nodes).unwrap();
    // 10 % of alice's 100 staked (no vesting here; see the unit test for vesting first).
    let alice_now = w.state.account(&alice.address());
    assert_eq!(alice_now.stake, Amount::tokens(90));
    assert_eq!(alice_now.balance, Amount::tokens(1000));
    let after = w.state.supply();
    assert_eq!(
        after.burned.checked_sub(before.burned),
        Some(Amount::tokens(10))
    );
    assert_eq!(
        after.stakes.checked_add(Amount::tokens(10)),
        Some(before.stakes)
    );
    // Under min_stake: the member is suspended in the same entry.
    assert!(!w.state.is_active(&alice.address()));
    assert_eq!(effects.members.len(), 1);
    assert_eq!(effects.members[0].account, alice.address());
    assert!(!effects.members[0].active);
    let host = w.state.host(&alice.address()).unwrap();
    assert!(
        !host.frozen,
        "a wrong answer is punished by the burn, not a freeze"
    );
    assert!(!host.disqualified);
    assert_eq!(w.state.account(&bob.address()).stake, Amount::tokens(100));
    // An inactive member is neither audited nor allowed to report.
    let next = w.epoch() + 1;
    let refused = w.report(&alice, next, GB).unwrap_err();
    assert_eq!(refused, TxError::NotMember(alice.address()));
    let audited: Vec<Address> = w
        .state
        .reports_in_force(next)
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert_eq!(audited, vec![bob.address()]);
    // Topping the stake up reinstates her.
    w.stake(&alice, 10).unwrap();
    assert!(w.state.is_active(&alice.address()));
    w.replays_agree();
}

#[test]
fn enough_failures_disqualify_and_burn_the_stake() {
    let mut w = World::new();
    let alice = w.alice.clone();
    let e = w.epoch() + 1;
    w.epoch_reported_and_revealed(e, &[&alice]);
    // One bad epoch is one observation: a fresh record stays good.
    w.results(e, vec![audit(&alice, vec![AuditMark::Offline; 44])])
        .unwrap();
    let params = w.genesis.reputation;
    let standing = |w: &World| {
        params.standing(
            w.state
                .host(&alice.address())
                .unwrap()
                .reputation
                .score_ppb(),
        )
    };
    assert_eq!(standing(&w), Standing::Good);
    // 40 bad epochs in a row: suspended from rewards, not disqualified (0.999^40 > 0.96).
    let mut last = e;
    for _ in 1..40 {
        last = w.epoch() + 1;
        w.commit(last).unwrap();
        w.go_to(last + 1);
        w.reveal(last).unwrap();
        w.results(last, vec![audit(&alice, vec![AuditMark::Missing; 44])])
            .unwrap();
    }
    let host = w.state.host(&alice.address()).unwrap();
    assert_eq!(standing(&w), Standing::Suspended);
    assert!(host.frozen && !host.disqualified);
    assert_eq!(w.state.account(&alice.address()).stake, Amount::tokens(100));

    // The 41st disqualifies: the whole stake burns (disqualify_burn_bps = 10000).
    let e = last + 1;
    w.commit(e + 2).unwrap();
    w.go_to(e + 3);
    w.reveal(e + 2).unwrap();
    let burned = w.state.supply().burned;
    let effects = w
        .results(e + 2, vec![audit(&alice, vec![AuditMark::Missing])])
        .unwrap();
    let host = w.state.host(&alice.address()).unwrap();
    assert!(host.disqualified);
    assert_eq!(
        params.standing(host.reputation.score_ppb()),
        Standing::Disqualified
    );
    assert_eq!(w.state.account(&alice.address()).stake, Amount::ZERO);
    assert_eq!(
        w.state.supply().burned.checked_sub(burned),
        Some(Amount::tokens(100))
    );
    assert_eq!(effects.members.len(), 1);
    assert!(
        !effects.members[0].active,
        "the member is suspended at once"
    );
    assert!(!w.state.is_active(&alice.address()));
    // Disqualified for good: staking again makes her a member, not a host.
    w.stake(&alice, 100).unwrap();
    assert!(w.state.is_active(&alice.address()));
    let next = w.epoch() + 1;
    assert_eq!(
        w.report(&alice, next, GB).unwrap_err(),
        TxError::Disqualified(alice.address())
    );
    assert!(w.state.reports_in_force(next).is_empty());
    // The penalty is paid: what she staked since is hers to take back once its lock ends,
    // frozen or not.
    w.now += 86_400;
    w.unstake(&alice, 100).unwrap();
    w.replays_agree();
}

#[test]
fn a_partial_disqualification_burn_takes_its_share_once() {
    // A collective that trusts newcomers little and forgets fast: one bad epoch disqualifies
    // (alpha 0.5, beta 1: a score of 1/3).
    let mut w = World::with(|g| {
        g.disqualify_burn_bps = 2500;
        g.wrong_data_burn_bps = 0;
        g.reputation.lambda_ppb = 500_000_000;
        g.reputation.initial_alpha = economics::reputation::UNIT;
    });
    let alice = w.alice.clone();
    let e = w.epoch() + 1;
    w.epoch_reported_and_revealed(e, &[&alice]);
    w.results(e, vec![audit(&alice, vec![AuditMark::Wrong; 50])])
        .unwrap();
    assert!(w.state.host(&alice.address()).unwrap().disqualified);
    assert_eq!(w.state.account(&alice.address()).stake, Amount::tokens(75));
    // Results for an already disqualified host (audited before the news reached the auditor)
    // record its reputation but take nothing more.
    w.go_to(e + 1);
    w.commit(e + 2).unwrap();
    w.go_to(e + 3);
    w.reveal(e + 2).unwrap();
    w.results(e + 2, vec![audit(&alice, vec![AuditMark::Offline; 5])])
        .unwrap();
    assert_eq!(w.state.account(&alice.address()).stake, Amount::tokens(75));
    w.replays_agree();
}

#[test]
fn collateral_behind_a_report_in_force_cannot_leave() {
    let mut w = World::new();
    let alice = w.alice.clone();
    let e = w.epoch();
    w.stake(&alice, 100).unwrap();
    let bound = w.state.host_bound(&alice.address());
    w.report(&alice, e + 1, bound).unwrap();
    w.go_to(e + 30);
    let refused = w.unstake(&alice, 1).unwrap_err();
    assert!(
        matches!(refused, TxError::OverCollateral { claimed, .. } if claimed == bound),
        "{refused}"
    );
    // A smaller report for a later epoch: the larger one still binds until that epoch begins.
    w.report(&alice, e + 31, bound - 10 * 10 * GB).unwrap();
    assert_eq!(w.unstake(&alice, 10).unwrap_err().code(), "over_collateral");
    w.go_to(e + 31);
    w.unstake(&alice, 10).unwrap();
    assert_eq!(w.unstake(&alice, 1).unwrap_err().code(), "over_collateral");
    w.replays_agree();
}

// ---------------------------------------------------------------------------------------------
// Through `Ledger`, on a real file, with one-second epochs (so these tests wait a few seconds).

use token::unix_now;

fn wait_for_epoch_after(ledger: &Ledger, epoch: u64) {
    while ledger.epoch_at(unix_now()) <= epoch {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_real_ledger_keeps_hosts_reports_and_epochs_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let w = World::with(|g| {
        g.epoch_secs = 1;
        g.audit_deadline_secs = 1;
    });
    let ledger = Ledger::create(&path, &w.genesis, w.operator.clone()).unwrap();
    let sign = |key: &SecretKey, tx| Signed::<UserTx>::sign(ledger.domain(), key, tx);
    let report = |key: &SecretKey, epoch: u64, nonce: u64| {
        sign(
            key,
            UserTx::Report(Report {
                node: key.address(),
                epoch,
                report_hash: [epoch as u8; 32],
                claimed_bytes: GB,
                endpoint: "127.0.0.1:6881".into(),
                location: "-33.8688,151.2093".into(),
                nonce,
            }),
        )
    };
    // Two epochs ahead leaves at least a second to commit and report in.
    let e = ledger.epoch_at(unix_now()) + 2;
    ledger
        .system(SystemTx::EpochCommit {
            epoch: e,
            commitment: audit::commit(e, &secret(e)),
        })
        .unwrap();
    ledger.submit(report(&w.alice, e, 0)).unwrap();
    ledger.submit(report(&w.bob, e, 0)).unwrap();
    assert_eq!(ledger.reports_in_force(e).len(), 2);
    assert_eq!(ledger.host_bound(&w.alice.address()), 5 * GB + 1000 * GB);
    wait_for_epoch_after(&ledger, e);
    ledger
        .system(SystemTx::EpochReveal {
            epoch: e,
            secret: secret(e),
        })
        .unwrap();
    let nodes = ascending(vec![
        audit(&w.alice, vec![AuditMark::Pass, AuditMark::Wrong]),
        audit(&w.bob, vec![AuditMark::Offline]),
    ]);
    let committed = ledger
        .system(SystemTx::AuditResults { epoch: e, nodes })
        .unwrap();
    assert!(!committed.members.is_empty(), "alice fell under min_stake");
    assert!(ledger.host(&w.bob.address()).unwrap().frozen);
    assert_eq!(ledger.epochs_from(0).len(), 1);
    assert!(ledger.epoch_info(e).unwrap().audited);
    let history = ledger.history(&w.bob.address(), 10).unwrap();
    assert!(matches!(
        history[0].tx,
        Tx::System {
            tx: SystemTx::AuditResults { .. },
            ..
        }
    ));
    let root = ledger.state().root();
    let host = ledger.host(&w.alice.address());
    let in_force = ledger.report_in_force(&w.alice.address(), e + 5);
    ledger.close();
    drop(ledger);

    // verify checks every signature and compares the tables (hosts, reports, epochs) with the
    // replay; a reopen replays without checks.
    let verified = verify(&path, |_| {}).unwrap();
    assert_eq!(verified.state_root, root);
    let (reopened, report) = Ledger::open(&path, w.operator.clone()).unwrap();
    assert_eq!(report.state_root, root);
    assert_eq!(reopened.host(&w.alice.address()), host);
    assert_eq!(
        reopened.report_in_force(&w.alice.address(), e + 5),
        in_force
    );
    assert_eq!(
        reopened.unstake_refusal(&w.bob),
        Some("frozen"),
        "frozen survives"
    );
}

#[test]
fn edited_audit_tables_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let w = World::new();
    let ledger = Ledger::create(&path, &w.genesis, w.operator.clone()).unwrap();
    let e = ledger.epoch_at(unix_now()) + 1;
    ledger
        .system(SystemTx::EpochCommit {
            epoch: e,
            commitment: audit::commit(e, &secret(e)),
        })
        .unwrap();
    let tx = UserTx::Report(Report {
        node: w.alice.address(),
        epoch: e,
        report_hash: [1; 32],
        claimed_bytes: GB,
        endpoint: "127.0.0.1:6881".into(),
        location: String::new(),
        nonce: 0,
    });
    ledger
        .submit(Signed::<UserTx>::sign(ledger.domain(), &w.alice, tx))
        .unwrap();
    ledger.close();
    drop(ledger);
    verify(&path, |_| {}).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (edit, undo) in [
        (
            "UPDATE reports SET claimed_bytes = claimed_bytes + 1",
            "UPDATE reports SET claimed_bytes = claimed_bytes - 1",
        ),
        (
            "UPDATE reports SET location = '1,1'",
            "UPDATE reports SET location = ''",
        ),
        (
            "UPDATE hosts SET frozen = 1 - frozen",
            "UPDATE hosts SET frozen = 1 - frozen",
        ),
        (
            "UPDATE epochs SET audited = 1 - audited",
            "UPDATE epochs SET audited = 1 - audited",
        ),
        (
            "UPDATE epochs SET secret = zeroblob(32)",
            "UPDATE epochs SET secret = NULL",
        ),
    ] {
        conn.execute(edit, []).unwrap();
        let err = verify(&path, |_| {}).unwrap_err();
        assert!(err.to_string().contains("tables disagree"), "{edit}: {err}");
        conn.execute(undo, []).unwrap();
        verify(&path, |_| {}).unwrap();
    }
}

#[test]
fn a_version_1_ledger_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);
    let err = Ledger::open(&path, key(1)).err().unwrap().to_string();
    assert!(err.contains("schema version 1"), "{err}");
    assert!(err.contains("not migrated"), "{err}");
}

trait UnstakeProbe {
    fn unstake_refusal(&self, key: &SecretKey) -> Option<&'static str>;
}

impl UnstakeProbe for Ledger {
    /// Why unstaking one token would be refused now (it is never applied: refused entries are not).
    fn unstake_refusal(&self, key: &SecretKey) -> Option<&'static str> {
        let tx = UserTx::Unstake(Unstake {
            account: key.address(),
            amount: Amount::tokens(1),
            nonce: self.account(&key.address()).nonce,
        });
        self.submit(Signed::<UserTx>::sign(self.domain(), key, tx))
            .err()
            .map(|e| e.code())
    }
}
