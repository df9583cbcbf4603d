//! The simulated hub and the real one reach the same ledger: a signed run of
//! `Scenario::default_small()` is replayed, entry by entry, through `ledger::Ledger` (SQLite, the
//! writer thread, group commit) by the hub's own entry points — user transactions via `submit`
//! (signature checked), receipts via `settle`, system transactions via `system` (signed by the
//! writer with the operator key) — with the ledger's clock set to each entry's simulated time.
//! Every entry must land at the sim's seq and time with the sim's hash chain, and the state root
//! must equal the sim's after every epoch close and after closing and re-opening the file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ledger::state::State;
use ledger::tx::Entry;
use ledger::{Clock, Ledger, ReceiptOutcome, SystemTx, Tx};
use sim::{Scenario, Sim};
use token::{Receipt, Signed};

/// Epochs simulated: the whole small scenario (about 280 entries, a few seconds), past its hot
/// release (step 12), so a registration mid-run, joins, top-ups, reports, settlements, audits
/// and closes are all in the log.
const EPOCHS: u64 = 48;

/// The sim's state when an epoch (or the set-up, first) is done.
struct Close {
    /// Log entries so far (the last one is the epoch's `EpochClose`).
    entries: usize,
    root: [u8; 32],
    log_hash: [u8; 32],
}

fn simulate() -> (Sim, Vec<Close>) {
    let scenario = Scenario {
        epochs: EPOCHS,
        ..Scenario::default_small()
    };
    assert!(scenario.sign && scenario.keep_log, "a signed run, logged");
    let mut sim = Sim::new(scenario).unwrap();
    let mut closes = Vec::new();
    let mark = |sim: &Sim| Close {
        entries: sim.log().len(),
        root: sim.state().root(),
        log_hash: sim.state().log_hash(),
    };
    closes.push(mark(&sim));
    for _ in 0..EPOCHS {
        sim.step().unwrap();
        let (last, _) = sim.log().last().unwrap();
        assert!(
            matches!(
                last.tx,
                Tx::System {
                    tx: SystemTx::EpochClose(_),
                    ..
                }
            ),
            "an epoch ends with its close"
        );
        closes.push(mark(&sim));
    }
    (sim, closes)
}

/// A clock the test sets: the ledger stamps what it reads (never going back).
fn scripted_clock() -> (Arc<AtomicU64>, Clock) {
    let now = Arc::new(AtomicU64::new(0));
    let read = Arc::clone(&now);
    (now, Clock::new(move || read.load(Ordering::SeqCst)))
}

/// Founds a real hub from the sim's genesis entry and operator key.
fn found(path: &Path, sim: &Sim, now: &AtomicU64, clock: Clock) -> Ledger {
    let (genesis, _) = &sim.log()[0];
    assert!(matches!(
        genesis.tx,
        Tx::System {
            tx: SystemTx::Genesis(_),
            ..
        }
    ));
    now.store(genesis.time, Ordering::SeqCst);
    let ledger =
        Ledger::create_with_clock(path, sim.genesis(), sim.operator().clone(), clock).unwrap();
    let state = ledger.state();
    assert_eq!(state.next_seq(), 1);
    assert_eq!(state.time(), genesis.time);
    drop(state);
    ledger
}

/// Hands one logged entry to the hub the way the hub's callers do, at the entry's time, and
/// checks it became the hub's entry `entry.seq` at `entry.time`. Returns the receipts' outcomes
/// for a settlement.
fn drive(ledger: &Ledger, now: &AtomicU64, entry: &Entry) -> Result<Vec<ReceiptOutcome>, String> {
    now.store(entry.time, Ordering::SeqCst);
    let seq = entry.seq;
    let landed = |what: &str, c: ledger::Committed| {
        if (c.seq, c.time) == (seq, entry.time) {
            Ok(c.receipts)
        } else {
            Err(format!(
                "{what} {seq} landed at seq {} time {} (sim: time {})",
                c.seq, c.time, entry.time
            ))
        }
    };
    let outcomes = match &entry.tx {
        Tx::User { tx } => landed(
            "user tx",
            ledger
                .submit(tx.clone())
                .map_err(|e| format!("user tx {seq} refused by the hub: {e}"))?,
        )?,
        Tx::System {
            tx: SystemTx::Genesis(_),
            ..
        } => return Err(format!("a second genesis at {seq}")),
        Tx::System {
            tx: SystemTx::Settle { receipts },
            ..
        } => ledger
            .settle(receipts.clone())
            .map_err(|e| format!("settlement {seq} refused by the hub: {e}"))?,
        Tx::System { tx, .. } => landed(
            "system tx",
            ledger
                .system(tx.clone())
                .map_err(|e| format!("system tx {seq} refused by the hub: {e}"))?,
        )?,
    };
    // `settle` answers outcomes only: the entry's place is the hub's head.
    let state = ledger.state();
    if (state.next_seq(), state.time()) != (seq + 1, entry.time) {
        return Err(format!(
            "after entry {seq} the hub's head is seq {} time {} (sim: time {})",
            state.next_seq() - 1,
            state.time(),
            entry.time
        ));
    }
    Ok(outcomes)
}

#[test]
fn the_real_hub_reaches_the_simulated_root_after_every_close_and_after_reopening() {
    let started = Instant::now();
    let (sim, closes) = simulate();
    let simulated = started.elapsed();
    let log = sim.log();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let (now, clock) = scripted_clock();
    let ledger = found(&path, &sim, &now, clock);

    // A shadow replay of the sim's log (no signature checks: the hub checks them) gives the
    // hash chain and each settlement's outcomes entry by entry, to name the first difference.
    let mut shadow = State::default();
    let (genesis, body) = &log[0];
    shadow.apply(genesis, body.as_bytes(), false).unwrap();
    assert_eq!(
        ledger.state().log_hash(),
        shadow.log_hash(),
        "genesis entry"
    );

    let (mut users, mut settles, mut systems, mut refused) = (0u32, 0u32, 0u32, 0usize);
    let mut next_close = closes.iter().peekable();
    for (i, (entry, body)) in log.iter().enumerate() {
        assert_eq!(entry.seq, i as u64);
        if i > 0 {
            let outcomes = drive(&ledger, &now, entry).unwrap();
            let effects = shadow.apply(entry, body.as_bytes(), false).unwrap();
            match &entry.tx {
                Tx::User { .. } => users += 1,
                Tx::System {
                    tx: SystemTx::Settle { .. },
                    ..
                } => {
                    settles += 1;
                    refused += outcomes
                        .iter()
                        .filter(|o| matches!(o, ReceiptOutcome::Rejected { .. }))
                        .count();
                    assert_eq!(outcomes, effects.receipts, "settlement {i}'s outcomes");
                }
                Tx::System { .. } => systems += 1,
            }
            assert_eq!(
                ledger.state().log_hash(),
                shadow.log_hash(),
                "the hub's entry {i} differs from the sim's"
            );
        }
        while let Some(close) = next_close.next_if(|c| c.entries == i + 1) {
            let state = ledger.state();
            assert_eq!(state.log_hash(), close.log_hash, "log hash after entry {i}");
            assert_eq!(state.root(), close.root, "state root after entry {i}");
        }
    }
    assert!(next_close.next().is_none(), "every close compared");
    assert!(users > 0 && settles > 0 && systems > 0, "every path used");
    let last = closes.last().unwrap();
    assert_eq!(last.entries, log.len());
    assert_eq!(ledger.state().root(), sim.state().root());
    let summary = ledger.summary();
    assert_eq!(summary.entries, log.len() as u64);
    assert_eq!(summary.supply, sim.state().supply());

    // Closed and re-opened: the log replayed from SQLite, checked against its checkpoints and
    // tables, ends at the same root; so does a replay checking every signature again.
    ledger.close();
    drop(ledger);
    let (reopened, report) = Ledger::open(&path, sim.operator().clone()).unwrap();
    assert_eq!(report.entries, log.len() as u64);
    assert_eq!(report.state_root, last.root);
    assert_eq!(report.log_hash, last.log_hash);
    assert_eq!(reopened.state().root(), last.root);
    assert_eq!(reopened.state().log_hash(), last.log_hash);
    reopened.close();
    drop(reopened);
    let verified = ledger::verify(&path, |_| {}).unwrap();
    assert!(verified.signatures_checked);
    assert_eq!(
        (verified.state_root, verified.log_hash),
        (last.root, last.log_hash)
    );
    eprintln!(
        "{} entries ({users} user, {settles} settlements with {refused} receipts refused, \
         {systems} other system) over {EPOCHS} epochs: simulated in {simulated:?}, whole test {:?}",
        log.len(),
        started.elapsed()
    );
}

/// The comparison can fail: the same script with one receipt's byte count changed (and signed
/// again by its downloader, so the hub accepts it) ends its epoch at another root.
#[test]
fn one_changed_receipt_gives_another_root() {
    let (sim, closes) = simulate();
    let log = sim.log();
    // The first settlement after the set-up with a receipt for more than one byte.
    let setup = closes[0].entries;
    let (at, mut receipts) = log[setup..]
        .iter()
        .find_map(|(e, _)| match &e.tx {
            Tx::System {
                tx: SystemTx::Settle { receipts },
                ..
            } if receipts.iter().any(|r| r.message.bytes > 1) => {
                Some((e.seq as usize, receipts.clone()))
            }
            _ => None,
        })
        .expect("a settlement in the run");
    let r = receipts.iter_mut().find(|r| r.message.bytes > 1).unwrap();
    let key = sim
        .ids
        .iter()
        .find(|id| id.address == r.message.downloader)
        .and_then(|id| id.key.clone())
        .expect("the downloader is a simulated identity with a key");
    let changed = Receipt {
        bytes: r.message.bytes - 1,
        ..r.message.clone()
    };
    *r = Signed::<Receipt>::sign(&sim.genesis().domain(), &key, changed);
    let close = closes.iter().find(|c| c.entries > at).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let (now, clock) = scripted_clock();
    let ledger = found(&path, &sim, &now, clock);
    for (entry, _) in &log[1..close.entries] {
        let mut entry = entry.clone();
        if entry.seq as usize == at
            && let Tx::System {
                tx: SystemTx::Settle { receipts: original },
                ..
            } = &mut entry.tx
        {
            *original = receipts.clone();
        }
        let outcomes = drive(&ledger, &now, &entry).unwrap();
        if entry.seq as usize == at {
            assert!(
                outcomes
                    .iter()
                    .any(|o| matches!(o, ReceiptOutcome::Settled { .. })),
                "the changed settlement is logged"
            );
        }
    }
    // Every entry still landed where the sim's did: only the content differs.
    let state = ledger.state();
    assert_eq!(state.next_seq(), close.entries as u64);
    assert_ne!(state.log_hash(), close.log_hash);
    assert_ne!(state.root(), close.root);
}
