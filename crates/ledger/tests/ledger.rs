//! The ledger through its public API, on a real SQLite file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ledger::{
    Clock, EpochCloseTx, Genesis, JoinPolicy, Ledger, ReceiptOutcome, SystemTx, TxError, verify,
};
use token::{
    Address, Amount, Invite, Join, Receipt, SecretKey, Signed, Stake, Transfer, Unstake, UserTx,
};

struct Collective {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    ledger: Ledger,
    operator: SecretKey,
    alice: SecretKey,
    bob: SecretKey,
}

const TORRENT: [u8; 32] = [0xab; 32];
const TORRENT_SIZE: u64 = 100 << 20;

/// A receipt session opened now (the ledger stamps entries with the clock).
fn fresh_session(n: u8) -> [u8; 32] {
    token::session_at(token::unix_now(), [n; 24])
}

fn genesis(operator: &SecretKey, alice: &SecretKey, bob: &SecretKey) -> Genesis {
    let mut g = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
    g.join = JoinPolicy::Invite;
    for (key, name) in [(alice, "alice"), (bob, "bob")] {
        g.allocations.push(ledger::genesis::Allocation {
            account: key.address(),
            liquid: Amount::tokens(1000),
            staked: Amount::tokens(100),
            lock_until: 0,
            member: Some(name.into()),
        });
    }
    g
}

fn collective() -> Collective {
    collective_with(|_| {}, Clock::system(), Amount(1_000_000_000))
}

/// A collective whose genesis `tweak` adjusts, with `clock`, and `TORRENT` registered at `price`.
fn collective_with(tweak: impl FnOnce(&mut Genesis), clock: Clock, price: Amount) -> Collective {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let (operator, alice, bob) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    let mut g = genesis(&operator, &alice, &bob);
    tweak(&mut g);
    let ledger = Ledger::create_with_clock(&path, &g, operator.clone(), clock).unwrap();
    ledger
        .system(SystemTx::RegisterTorrent {
            torrent: TORRENT,
            size: TORRENT_SIZE,
            price_per_byte: price,
        })
        .unwrap();
    Collective {
        _dir: dir,
        path,
        ledger,
        operator,
        alice,
        bob,
    }
}

impl Collective {
    fn sign(&self, key: &SecretKey, tx: UserTx) -> Signed<UserTx> {
        Signed::<UserTx>::sign(self.ledger.domain(), key, tx)
    }

    fn transfer(
        &self,
        from: &SecretKey,
        to: Address,
        tokens: u64,
    ) -> Result<ledger::Committed, TxError> {
        let nonce = self.ledger.account(&from.address()).nonce;
        self.ledger.submit(self.sign(
            from,
            UserTx::Transfer(Transfer {
                from: from.address(),
                to,
                amount: Amount::tokens(tokens),
                nonce,
            }),
        ))
    }

    fn receipt(
        &self,
        downloader: &SecretKey,
        uploader: Address,
        session: [u8; 32],
        bytes: u64,
    ) -> Signed<Receipt> {
        Signed::<Receipt>::sign(
            self.ledger.domain(),
            downloader,
            Receipt {
                collective: self.ledger.domain().verifying_contract,
                torrent: TORRENT,
                uploader,
                downloader: downloader.address(),
                session,
                bytes,
            },
        )
    }

    fn balance(&self, key: &SecretKey) -> Amount {
        self.ledger.account(&key.address()).balance
    }
}

#[test]
fn transfers_move_tokens_and_survive_a_reopen() {
    let c = collective();
    let carol = SecretKey::generate().address();
    let committed = c.transfer(&c.alice, carol, 250).unwrap();
    assert_eq!(committed.seq, 2);
    assert_eq!(c.balance(&c.alice), Amount::tokens(750));
    assert_eq!(c.ledger.account(&carol).balance, Amount::tokens(250));
    let history = c.ledger.history(&carol, 10).unwrap();
    assert_eq!(history.len(), 1);
    let root = c.ledger.state().root();
    c.ledger.close();
    drop(c.ledger);
    let (reopened, report) = Ledger::open(&c.path, c.operator.clone()).unwrap();
    assert_eq!(report.entries, 3);
    assert_eq!(reopened.state().root(), root);
    assert_eq!(reopened.account(&carol).balance, Amount::tokens(250));
    let verified = verify(&c.path, |_| {}).unwrap();
    assert!(verified.signatures_checked);
    assert_eq!(verified.state_root, root);
}

#[test]
fn forged_replayed_and_bad_transactions_change_nothing() {
    let c = collective();
    let carol = SecretKey::generate().address();
    let root = c.ledger.state().root();
    // Signed by bob, claiming to be from alice.
    let forged = c.sign(
        &c.bob,
        UserTx::Transfer(Transfer {
            from: c.alice.address(),
            to: carol,
            amount: Amount::tokens(1),
            nonce: 0,
        }),
    );
    assert_eq!(
        c.ledger.submit(forged).unwrap_err(),
        (TxError::BadSignature(c.alice.address()))
    );
    let good = c.sign(
        &c.alice,
        UserTx::Transfer(Transfer {
            from: c.alice.address(),
            to: carol,
            amount: Amount::tokens(1),
            nonce: 0,
        }),
    );
    c.ledger.submit(good.clone()).unwrap();
    let after = c.ledger.state().root();
    assert_ne!(after, root);
    assert_eq!(
        c.ledger.submit(good).unwrap_err(),
        (TxError::Nonce {
            expected: 1,
            got: 0
        })
    );
    let too_much = c.transfer(&c.alice, carol, 5000).unwrap_err();
    assert!(
        matches!(too_much, TxError::InsufficientBalance { .. }),
        "{too_much}"
    );
    assert_eq!(
        c.transfer(&c.alice, carol, 0).unwrap_err(),
        TxError::ZeroAmount
    );
    assert_eq!(
        c.transfer(&c.alice, c.alice.address(), 1).unwrap_err(),
        TxError::SelfTransfer
    );
    // Signed for another collective: same fields, different domain.
    let other = Genesis::from_toml(&Genesis::template(c.operator.address())).unwrap();
    let mut other_domain = other.domain();
    other_domain.name = "another".into();
    let elsewhere = Signed::<UserTx>::sign(
        &other_domain,
        &c.alice,
        UserTx::Transfer(Transfer {
            from: c.alice.address(),
            to: carol,
            amount: Amount::tokens(1),
            nonce: 1,
        }),
    );
    assert!(matches!(
        c.ledger.submit(elsewhere),
        Err(TxError::BadSignature(_))
    ));
    assert_eq!(c.ledger.state().root(), after);
}

#[test]
fn stake_locks_and_membership_follows_the_minimum() {
    let c = collective();
    let dave = SecretKey::generate();
    c.transfer(&c.alice, dave.address(), 300).unwrap();
    let now = c.ledger.state().time();
    let stake = |amount: u64, lock_until: u64, nonce: u64| {
        c.sign(
            &dave,
            UserTx::Stake(Stake {
                account: dave.address(),
                amount: Amount::tokens(amount),
                lock_until,
                nonce,
            }),
        )
    };
    let join = |nonce| {
        c.sign(
            &dave,
            UserTx::Join(Join {
                account: dave.address(),
                name: "dave".into(),
                nonce,
            }),
        )
    };
    let too_long = c
        .ledger
        .submit(stake(150, now + 400 * 86_400, 0))
        .unwrap_err();
    assert!(matches!(too_long, TxError::BadLock { .. }));
    c.ledger.submit(stake(150, now + 2, 0)).unwrap();
    // Invite-only: stake alone is not enough.
    assert_eq!(
        c.ledger.submit(join(1)).unwrap_err(),
        (TxError::NotInvited(dave.address()))
    );
    let invite = c.sign(
        &c.alice,
        UserTx::Invite(Invite {
            inviter: c.alice.address(),
            invitee: dave.address(),
            nonce: c.ledger.account(&c.alice.address()).nonce,
        }),
    );
    c.ledger.submit(invite).unwrap();
    let joined = c.ledger.submit(join(1)).unwrap();
    assert_eq!(joined.members[0].name, "dave");
    assert!(joined.members[0].active);
    assert!(c.ledger.is_active(&dave.address()));
    let unstake = |amount: u64, nonce| {
        c.sign(
            &dave,
            UserTx::Unstake(Unstake {
                account: dave.address(),
                amount: Amount::tokens(amount),
                nonce,
            }),
        )
    };
    let locked = c.ledger.submit(unstake(100, 2)).unwrap_err();
    assert!(matches!(locked, TxError::Locked { .. }), "{locked}");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let below = c.ledger.submit(unstake(100, 2)).unwrap();
    assert_eq!(below.members.len(), 1);
    assert!(!below.members[0].active, "stake under the minimum suspends");
    assert!(!c.ledger.is_active(&dave.address()));
    assert_eq!(
        c.ledger.account(&dave.address()).balance,
        Amount::tokens(250)
    );
}

#[test]
fn operator_admits_members_from_the_treasury() {
    let c = collective();
    let erin = SecretKey::generate().address();
    let treasury = c.balance(&c.operator);
    let admitted = c
        .ledger
        .system(SystemTx::Admit {
            account: erin,
            name: "erin".into(),
            stake: Amount::tokens(100),
            lock_until: 0,
        })
        .unwrap();
    assert!(admitted.members[0].active);
    assert_eq!(
        c.balance(&c.operator),
        treasury.checked_sub(Amount::tokens(100)).unwrap()
    );
    assert_eq!(c.ledger.account(&erin).stake, Amount::tokens(100));
    let again = c.ledger.system(SystemTx::Admit {
        account: SecretKey::generate().address(),
        name: "erin".into(),
        stake: Amount::tokens(100),
        lock_until: 0,
    });
    assert_eq!(again.unwrap_err(), TxError::NameTaken("erin".into()));
}

fn settled(outcome: &ReceiptOutcome) -> (u64, Amount, Amount, Amount, Amount) {
    match outcome {
        ReceiptOutcome::Settled {
            bytes,
            charged,
            paid,
            fee,
            burned,
            ..
        } => (*bytes, *charged, *paid, *fee, *burned),
        ReceiptOutcome::Rejected { code, reason } => panic!("rejected: {code}: {reason}"),
    }
}

fn code(outcome: &ReceiptOutcome) -> &str {
    match outcome {
        ReceiptOutcome::Rejected { code, .. } => code,
        ReceiptOutcome::Settled { .. } => "settled",
    }
}

#[test]
fn receipts_move_price_times_bytes_minus_the_fee() {
    let c = collective();
    let price = Amount(1_000_000_000);
    let (a0, b0) = (c.balance(&c.alice), c.balance(&c.bob));
    let session = fresh_session(1);
    let out = c
        .ledger
        .settle(vec![
            c.receipt(&c.alice, c.bob.address(), session, 1 << 20),
            c.receipt(&c.alice, c.bob.address(), session, 3 << 20),
        ])
        .unwrap();
    let (bytes, charged, paid, fee, burned) = settled(&out[0]);
    assert_eq!(bytes, 1 << 20);
    assert_eq!(charged, price.checked_mul(1 << 20).unwrap());
    assert_eq!(fee, charged.mul_div(500, 10_000).unwrap());
    assert_eq!(burned, fee.mul_div(5_000, 10_000).unwrap());
    assert_eq!(paid, charged.checked_sub(fee).unwrap());
    let (bytes, ..) = settled(&out[1]);
    assert_eq!(bytes, 2 << 20, "cumulative: only the increase is settled");
    let total = price.checked_mul(3 << 20).unwrap();
    let total_fee = total.mul_div(500, 10_000).unwrap();
    assert_eq!(c.balance(&c.alice), a0.checked_sub(total).unwrap());
    assert_eq!(
        c.balance(&c.bob),
        b0.checked_add(total.checked_sub(total_fee).unwrap())
            .unwrap()
    );
    let supply = c.ledger.summary().supply;
    assert_eq!(supply.burned, total_fee.mul_div(5_000, 10_000).unwrap());
    assert_eq!(
        supply.stakers_pool,
        total_fee.checked_sub(supply.burned).unwrap()
    );
}

#[test]
fn forged_replayed_out_of_order_and_impossible_receipts_are_rejected() {
    let c = collective();
    let session = fresh_session(2);
    let up = c.bob.address();
    let first = c.receipt(&c.alice, up, session, 2 << 20);
    assert_eq!(
        code(&c.ledger.settle(vec![first.clone()]).unwrap()[0]),
        "settled"
    );
    let before = (
        c.balance(&c.alice),
        c.balance(&c.bob),
        c.ledger.summary().supply,
    );
    // The uploader signs a receipt for the downloader: forged.
    let mut forged = c.receipt(&c.bob, up, session, 4 << 20);
    forged.message.downloader = c.alice.address();
    // A receipt for another collective.
    let mut foreign = c.receipt(&c.alice, up, session, 5 << 20);
    foreign.message.collective = Address([9; 20]);
    let outcomes = c
        .ledger
        .settle(vec![
            forged,
            foreign,
            first.clone(),
            c.receipt(&c.alice, up, session, 1 << 20),
            c.receipt(&c.alice, c.alice.address(), session, 1 << 20),
        ])
        .unwrap();
    let codes: Vec<&str> = outcomes.iter().map(code).collect();
    assert_eq!(
        codes,
        [
            "bad_signature",
            "bad_signature",
            "stale",
            "stale",
            "self_dealing"
        ]
    );
    let after = (
        c.balance(&c.alice),
        c.balance(&c.bob),
        c.ledger.summary().supply,
    );
    assert_eq!(after, before, "rejected receipts move nothing");
    // Nor do they reach the log: replaying old receipts cannot grow it.
    let entries = c.ledger.summary().entries;
    let replayed = c.ledger.settle(vec![first.clone(), first.clone()]).unwrap();
    assert_eq!(
        replayed.iter().map(code).collect::<Vec<_>>(),
        ["stale", "stale"]
    );
    assert_eq!(c.ledger.summary().entries, entries);
    // More than the torrent holds, in one session across two uploaders: capped, then impossible.
    let carol = SecretKey::generate().address();
    let big = c
        .ledger
        .settle(vec![c.receipt(&c.alice, carol, session, TORRENT_SIZE)])
        .unwrap();
    let (bytes, ..) = settled(&big[0]);
    assert_eq!(
        bytes,
        TORRENT_SIZE - (2 << 20),
        "capped at what the torrent holds"
    );
    let more = c
        .ledger
        .settle(vec![c.receipt(&c.alice, up, session, 3 << 20)])
        .unwrap();
    assert_eq!(code(&more[0]), "impossible");
}

#[test]
fn an_unfunded_downloader_pays_what_it_has_and_the_rest_waits() {
    let c = collective();
    let poor = SecretKey::generate();
    // 1 token at 10^9 base units per byte buys 10^9 bytes... give it 0.001 token: 10^6 bytes.
    let nonce = c.ledger.account(&c.alice.address()).nonce;
    c.ledger
        .submit(c.sign(
            &c.alice,
            UserTx::Transfer(Transfer {
                from: c.alice.address(),
                to: poor.address(),
                amount: Amount(1_000_000_000_000_000),
                nonce,
            }),
        ))
        .unwrap();
    let session = fresh_session(3);
    let out = c
        .ledger
        .settle(vec![c.receipt(&poor, c.bob.address(), session, 5_000_000)])
        .unwrap();
    let (bytes, charged, ..) = settled(&out[0]);
    assert_eq!(bytes, 1_000_000);
    assert_eq!(charged, Amount(1_000_000_000_000_000));
    assert_eq!(c.ledger.account(&poor.address()).balance, Amount::ZERO);
    let again = c
        .ledger
        .settle(vec![c.receipt(&poor, c.bob.address(), session, 5_000_000)])
        .unwrap();
    assert_eq!(code(&again[0]), "insufficient_balance");
}

#[test]
fn wash_trading_between_ones_own_accounts_loses_the_fee() {
    let c = collective();
    // One owner, two accounts (alice, bob): "download" from each other to farm volume.
    let before = c.balance(&c.alice).checked_add(c.balance(&c.bob)).unwrap();
    for round in 0..10u8 {
        c.ledger
            .settle(vec![
                c.receipt(&c.alice, c.bob.address(), fresh_session(round), 8 << 20),
                c.receipt(&c.bob, c.alice.address(), fresh_session(round), 8 << 20),
            ])
            .unwrap();
    }
    let after = c.balance(&c.alice).checked_add(c.balance(&c.bob)).unwrap();
    assert!(
        after < before,
        "the pair must end with less: {after} vs {before}"
    );
    let volume = Amount(1_000_000_000)
        .checked_mul(2 * 10 * (8 << 20))
        .unwrap();
    assert_eq!(
        before.checked_sub(after).unwrap(),
        volume.mul_div(500, 10_000).unwrap()
    );
}

#[test]
fn free_allowance_is_not_charged_nor_paid() {
    let c = collective_with(
        |g| g.free_bytes_per_day = 1 << 20,
        Clock::system(),
        Amount(1),
    );
    let out = c
        .ledger
        .settle(vec![c.receipt(
            &c.alice,
            c.bob.address(),
            fresh_session(4),
            3 << 20,
        )])
        .unwrap();
    match &out[0] {
        ReceiptOutcome::Settled {
            bytes,
            free,
            charged,
            ..
        } => {
            assert_eq!((*bytes, *free), (3 << 20, 1 << 20));
            assert_eq!(*charged, Amount(2 << 20));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_genesis_and_a_wrong_operator_are_refused() {
    let c = collective();
    let busy = Ledger::open(&c.path, c.operator.clone());
    assert!(
        matches!(busy, Err(ledger::LedgerError::Busy(_))),
        "one writer at a time"
    );
    drop(c.ledger);
    let again = Ledger::create(
        &c.path,
        &genesis(&c.operator, &c.alice, &c.bob),
        c.operator.clone(),
    );
    assert!(matches!(again, Err(ledger::LedgerError::Exists)));
    let wrong = Ledger::open(&c.path, SecretKey::generate());
    assert!(matches!(
        wrong,
        Err(ledger::LedgerError::OperatorMismatch { .. })
    ));
}

#[test]
fn verify_catches_an_edited_log_and_edited_tables() {
    let c = collective();
    c.transfer(&c.alice, c.bob.address(), 5).unwrap();
    c.ledger.close();
    let conn = rusqlite::Connection::open(&c.path).unwrap();
    conn.execute("UPDATE accounts SET balance = '1' WHERE member = 'bob'", [])
        .unwrap();
    let err = verify(&c.path, |_| {}).unwrap_err();
    assert!(err.to_string().contains("tables disagree"), "{err}");
    conn.execute(
        "UPDATE log SET body = replace(body, '\"amount\":\"5000000000000000000\"', '\"amount\":\"6000000000000000000\"') WHERE seq = 2",
        [],
    )
    .unwrap();
    let err = verify(&c.path, |_| {}).unwrap_err();
    assert!(err.to_string().contains("entry 2"), "{err}");
}

#[test]
fn expired_sessions_are_refused_and_a_close_forgets_their_lanes_on_disk_too() {
    let now = Arc::new(AtomicU64::new(token::unix_now()));
    let clock = {
        let now = Arc::clone(&now);
        move || {
            let now = Arc::clone(&now);
            Clock::new(move || now.load(Ordering::SeqCst))
        }
    };
    let c = collective_with(|_| {}, clock(), Amount(1));
    let (ledger, alice, bob) = (&c.ledger, &c.alice, &c.bob);
    let receipt = |session: [u8; 32], bytes: u64| c.receipt(alice, bob.address(), session, bytes);
    let old = token::session_at(now.load(Ordering::SeqCst), [1; 24]);
    let lane = (old, TORRENT, bob.address(), alice.address());
    let out = ledger.settle(vec![receipt(old, 1 << 20)]).unwrap();
    assert_eq!(code(&out[0]), "settled");

    // Past its TTL the session's receipts are refused, and nothing is logged for them.
    now.fetch_add(token::SESSION_TTL_SECS + 1, Ordering::SeqCst);
    let entries = ledger.summary().entries;
    let out = ledger.settle(vec![receipt(old, 2 << 20)]).unwrap();
    assert_eq!(code(&out[0]), "expired");
    assert_eq!(ledger.summary().entries, entries);
    let t = now.load(Ordering::SeqCst);
    let ahead = token::session_at(t + token::SESSION_SKEW_SECS + 1, [2; 24]);
    let out = ledger.settle(vec![receipt(ahead, 1 << 20)]).unwrap();
    assert_eq!(code(&out[0]), "session_in_future");
    let fresh = token::session_at(t, [3; 24]);
    let out = ledger.settle(vec![receipt(fresh, 1 << 20)]).unwrap();
    assert_eq!(code(&out[0]), "settled");

    // The lane stays until a close, which drops it (and only it).
    assert_eq!(ledger.state().lane(&lane), 1 << 20);
    ledger
        .system(SystemTx::EpochClose(EpochCloseTx {
            epoch: ledger.epoch_at(t) - 1,
            markets: Vec::new(),
            hosted: Vec::new(),
            rtts: Vec::new(),
            auditor_location: String::new(),
        }))
        .unwrap();
    assert_eq!(ledger.state().lane(&lane), 0);
    assert_eq!(
        ledger
            .state()
            .lane(&(fresh, TORRENT, bob.address(), alice.address())),
        1 << 20
    );
    let root = ledger.state().root();
    ledger.close();
    let Collective {
        _dir,
        path,
        ledger,
        operator,
        ..
    } = c;
    drop(ledger);

    // The tables dropped the same rows: a replay of the log agrees with them.
    let verified = verify(&path, |_| {}).unwrap();
    assert_eq!(verified.state_root, root);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM lanes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "only the fresh session's lane is left");
    let (reopened, _) = Ledger::open_with_clock(&path, operator, clock()).unwrap();
    assert_eq!(reopened.state().root(), root);
}
