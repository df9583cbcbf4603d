//! Settling on an EVM chain (`ledger::chain`): tokens enter the hub's books only through confirmed
//! chain events, leave by withdrawal, unstake or burn, and every close queues what the chain must do.
//! Each test ends by replaying its log to the same root; the supply invariant (minted + entered −
//! burned − left = held) is asserted by the state machine after every entry.

mod support;

use ledger::chain::slash_evidence;
use ledger::genesis::{ChainContracts, SettlementMode};
use ledger::{AuditMark, ChainCursor, ChainEvent, EpochCloseTx, SystemTx, TxError};
use support::*;
use token::distributor::{EarningsTree, leaf, verify};
use token::{Address, Amount, Join, SecretKey, Stake, Transfer, UserTx, Withdraw};

/// A collective on a chain: alice and bob are founders by name with nothing staked yet (tokens
/// live on the chain), carol is not a member.
fn on_chain() -> World {
    World::with(|g| {
        g.settlement = SettlementMode::Evm;
        g.chain = Some(ChainContracts {
            token: Address([0x70; 20]),
            vault: Address([0x71; 20]),
            distributor: Address([0x72; 20]),
            deploy_block: 1,
        });
        for a in &mut g.allocations {
            a.liquid = Amount::ZERO;
            a.staked = Amount::ZERO;
        }
    })
}

fn cursor(block: u64) -> ChainCursor {
    ChainCursor {
        block,
        hash: [block as u8; 32],
    }
}

fn chain(
    w: &mut World,
    block: u64,
    events: Vec<ChainEvent>,
) -> Result<ledger::state::Effects, TxError> {
    w.system(SystemTx::Chain {
        to: cursor(block),
        events,
    })
}

fn staked(k: &SecretKey, tokens: u64, lock_end: u64) -> ChainEvent {
    ChainEvent::Staked {
        account: k.address(),
        amount: Amount::tokens(tokens),
        lock_end,
    }
}

fn deposited(k: &SecretKey, tokens: u64) -> ChainEvent {
    ChainEvent::Deposited {
        account: k.address(),
        amount: Amount::tokens(tokens),
    }
}

fn withdraw(w: &mut World, k: &SecretKey, tokens: u64) -> Result<ledger::state::Effects, TxError> {
    let nonce = w.nonce(k);
    w.user(
        k,
        UserTx::Withdraw(Withdraw {
            account: k.address(),
            amount: Amount::tokens(tokens),
            nonce,
        }),
    )
}

fn close(w: &mut World, epoch: u64) {
    w.system(SystemTx::EpochClose(EpochCloseTx {
        epoch,
        markets: Vec::new(),
        hosted: Vec::new(),
        rtts: Vec::new(),
        auditor_location: String::new(),
    }))
    .unwrap();
}

#[test]
fn staking_on_the_chain_makes_a_founder_active_and_deposits_are_spendable() {
    let mut w = on_chain();
    let (alice, bob, carol) = (w.alice.clone(), w.bob.clone(), w.carol.clone());
    assert!(!w.state.is_active(&alice.address()), "no stake yet");
    let effects = chain(
        &mut w,
        5,
        vec![
            staked(&alice, 100, T0 + 86_400),
            deposited(&alice, 50),
            deposited(&carol, 7),
        ],
    )
    .unwrap();
    assert!(w.state.is_active(&alice.address()));
    assert!(
        effects
            .members
            .iter()
            .any(|m| m.account == alice.address() && m.active),
        "the tracker learns the new member"
    );
    let a = w.state.account(&alice.address());
    assert_eq!(
        (a.stake, a.lock_until, a.balance),
        (Amount::tokens(100), T0 + 86_400, Amount::tokens(50))
    );
    let supply = w.state.supply();
    assert_eq!(supply.entered, Amount::tokens(157));
    assert_eq!(supply.minted, Amount::ZERO);
    // Deposits are the hub's liquid tokens: they transfer like any balance.
    let nonce = w.nonce(&alice);
    w.user(
        &alice,
        UserTx::Transfer(Transfer {
            from: alice.address(),
            to: bob.address(),
            amount: Amount::tokens(20),
            nonce,
        }),
    )
    .unwrap();
    assert_eq!(w.state.account(&bob.address()).balance, Amount::tokens(20));
    assert_eq!(w.state.chain().unwrap().cursor, Some(cursor(5)));
    w.replays_agree();
}

#[test]
fn chain_entries_apply_each_block_once_in_order() {
    let mut w = on_chain();
    let alice = w.alice.clone();
    chain(&mut w, 5, vec![deposited(&alice, 1)]).unwrap();
    for block in [5, 4] {
        let err = chain(&mut w, block, vec![deposited(&alice, 1)]).unwrap_err();
        assert!(matches!(err, TxError::BadChain(_)), "{err}");
    }
    let err = chain(&mut w, 6, vec![deposited(&alice, 0)]).unwrap_err();
    assert!(matches!(err, TxError::BadChain(_)), "{err}");
    // An event with nothing in it is fine: the cursor moves past empty blocks.
    chain(&mut w, 9, Vec::new()).unwrap();
    assert_eq!(w.state.account(&alice.address()).balance, Amount::tokens(1));
    w.replays_agree();
}

#[test]
fn the_vault_not_the_hub_holds_stakes() {
    let mut w = on_chain();
    let alice = w.alice.clone();
    chain(&mut w, 2, vec![deposited(&alice, 100)]).unwrap();
    let nonce = w.nonce(&alice);
    let err = w
        .user(
            &alice,
            UserTx::Stake(Stake {
                account: alice.address(),
                amount: Amount::tokens(10),
                lock_until: T0 + 100,
                nonce,
            }),
        )
        .unwrap_err();
    assert_eq!(err.code(), "on_chain");
    let err = w.unstake(&alice, 1).unwrap_err();
    assert_eq!(err.code(), "on_chain");
    let err = w
        .system(SystemTx::Admit {
            account: w.carol.address(),
            name: "carol".into(),
            stake: Amount::tokens(100),
            lock_until: T0 + 100,
        })
        .unwrap_err();
    assert_eq!(err.code(), "on_chain");
    w.replays_agree();
}

#[test]
fn an_embedded_collective_has_no_chain() {
    let mut w = World::new();
    let alice = w.alice.clone();
    assert_eq!(
        withdraw(&mut w, &alice, 1).unwrap_err(),
        TxError::NotOnChain
    );
    assert_eq!(
        chain(&mut w, 1, vec![deposited(&alice, 1)]).unwrap_err(),
        TxError::NotOnChain
    );
    assert!(w.state.chain().is_none());
}

#[test]
fn withdrawals_are_the_distributors_leaves_and_a_close_queues_them() {
    let mut w = on_chain();
    let (alice, bob) = (w.alice.clone(), w.bob.clone());
    chain(&mut w, 3, vec![deposited(&alice, 100), deposited(&bob, 10)]).unwrap();
    withdraw(&mut w, &alice, 30).unwrap();
    withdraw(&mut w, &alice, 10).unwrap();
    withdraw(&mut w, &bob, 10).unwrap();
    let err = withdraw(&mut w, &bob, 1).unwrap_err();
    assert_eq!(err.code(), "insufficient_balance");
    assert_eq!(
        withdraw(&mut w, &alice, 0).unwrap_err(),
        TxError::ZeroAmount
    );
    assert_eq!(
        w.state.account(&alice.address()).balance,
        Amount::tokens(60)
    );
    assert_eq!(w.state.supply().left, Amount::tokens(50));
    // Claimable only after the close: the leaves are those of the root on the chain.
    assert!(w.state.chain().unwrap().leaves().is_empty());

    let epoch = w.epoch();
    w.go_to(epoch + 1);
    close(&mut w, epoch);
    let book = w.state.chain().unwrap();
    let settlement = book.last_settlement.clone().unwrap();
    let tree = EarningsTree::build(&[
        (alice.address(), Amount::tokens(40).0),
        (bob.address(), Amount::tokens(10).0),
    ]);
    assert_eq!(settlement.epoch, epoch);
    assert_eq!(settlement.root, tree.root());
    assert_eq!(w.state.economy().earnings_root, tree.root());
    let proof = tree.proof(&alice.address()).unwrap();
    assert!(verify(
        &settlement.root,
        &leaf(&alice.address(), Amount::tokens(40).0),
        &proof
    ));
    assert!(settlement.slashes.is_empty());
    w.replays_agree();
}

#[test]
fn a_burned_stake_is_queued_for_the_vault_not_the_distributor() {
    let mut w = on_chain();
    let alice = w.alice.clone();
    chain(&mut w, 2, vec![staked(&alice, 100, T0 + 30 * 86_400)]).unwrap();
    let epoch = w.epoch() + 1;
    w.epoch_reported_and_revealed(epoch, &[&alice]);
    let mut marks = vec![AuditMark::Pass; 43];
    marks.push(AuditMark::Wrong);
    w.results(epoch, vec![audit(&alice, marks)]).unwrap();
    // 10 % of the collateral (no vesting: all stake) is burned by the ledger now ...
    assert_eq!(w.state.account(&alice.address()).stake, Amount::tokens(90));
    let pending = &w.state.chain().unwrap().pending_slashes;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].amount, Amount::tokens(10));
    assert_eq!(pending[0].evidence, slash_evidence(&alice.address(), epoch));
    // ... and by the vault after the close.
    w.go_to(epoch + 1);
    close(&mut w, epoch);
    let book = w.state.chain().unwrap();
    assert!(book.pending_slashes.is_empty());
    let settlement = book.last_settlement.clone().unwrap();
    assert_eq!(settlement.slashes.len(), 1);
    assert_eq!(settlement.slashes[0].amount, Amount::tokens(10));
    // No vesting was burned and no fee paid: nothing leaves the distributor's custody.
    assert_eq!(settlement.burned, Amount::ZERO);
    w.replays_agree();
}

#[test]
fn stake_that_leaves_the_vault_before_its_slash_is_published_is_unburned() {
    let mut w = on_chain();
    let alice = w.alice.clone();
    chain(&mut w, 2, vec![staked(&alice, 100, T0 + 3 * 3600)]).unwrap();
    let epoch = w.epoch() + 1;
    w.epoch_reported_and_revealed(epoch, &[&alice]);
    let mut marks = vec![AuditMark::Pass; 43];
    marks.push(AuditMark::Wrong);
    w.results(epoch, vec![audit(&alice, marks)]).unwrap();
    let burned = w.state.supply().burned;
    // The lock ended and the member took all 100 out of the vault before the slash reached it.
    chain(
        &mut w,
        3,
        vec![ChainEvent::Unstaked {
            account: alice.address(),
            amount: Amount::tokens(100),
        }],
    )
    .unwrap();
    let supply = w.state.supply();
    assert_eq!(w.state.account(&alice.address()).stake, Amount::ZERO);
    assert_eq!(supply.left, Amount::tokens(100));
    assert_eq!(supply.burned, Amount(burned.0 - Amount::tokens(10).0));
    assert!(w.state.chain().unwrap().pending_slashes.is_empty());
    assert!(!w.state.is_active(&alice.address()));
    w.replays_agree();
}

#[test]
fn joining_needs_the_chain_stake() {
    let mut w = World::with(|g| {
        g.join = ledger::JoinPolicy::BuyIn;
        g.settlement = SettlementMode::Evm;
        g.chain = Some(ChainContracts {
            token: Address([0x70; 20]),
            vault: Address([0x71; 20]),
            distributor: Address([0x72; 20]),
            deploy_block: 1,
        });
        for a in &mut g.allocations {
            a.liquid = Amount::ZERO;
            a.staked = Amount::ZERO;
        }
    });
    let carol = w.carol.clone();
    let join = |w: &mut World| {
        let nonce = w.nonce(&carol);
        w.user(
            &carol,
            UserTx::Join(Join {
                account: carol.address(),
                name: "carol".into(),
                nonce,
            }),
        )
    };
    assert_eq!(join(&mut w).unwrap_err().code(), "insufficient_stake");
    chain(&mut w, 2, vec![staked(&carol, 100, T0 + 86_400)]).unwrap();
    join(&mut w).unwrap();
    assert!(w.state.is_active(&carol.address()));
    w.replays_agree();
}

#[test]
fn a_migrated_distribution_is_claimable_from_genesis_and_stays_in_every_root() {
    let mut w = World::with(|g| {
        g.settlement = SettlementMode::Evm;
        g.chain = Some(ChainContracts {
            token: Address([0x70; 20]),
            vault: Address([0x71; 20]),
            distributor: Address([0x72; 20]),
            deploy_block: 1,
        });
        for a in &mut g.allocations {
            a.liquid = Amount(a.staked.0 + Amount::tokens(5).0);
            a.staked = Amount::ZERO;
        }
    });
    let (alice, bob, carol) = (w.alice.clone(), w.bob.clone(), w.carol.clone());
    let operator = w.genesis.operator;
    let mut leaves = vec![
        (alice.address(), Amount::tokens(105).0),
        (bob.address(), Amount::tokens(105).0),
        (carol.address(), Amount::tokens(5).0),
        (operator, Amount::tokens(5).0),
    ];
    leaves.sort();
    assert_eq!(w.state.chain().unwrap().leaves(), leaves);
    let at_genesis = EarningsTree::build(&leaves).root();
    assert_eq!(w.state.economy().earnings_root, at_genesis);
    assert_eq!(w.state.account(&alice.address()).balance, Amount::ZERO);
    let supply = w.state.supply();
    assert_eq!(
        (supply.minted, supply.left),
        (Amount::tokens(220), Amount::tokens(220))
    );
    // A later withdrawal adds to the migrated amount: the leaf is cumulative.
    chain(&mut w, 2, vec![deposited(&alice, 10)]).unwrap();
    withdraw(&mut w, &alice, 10).unwrap();
    let epoch = w.epoch();
    w.go_to(epoch + 1);
    close(&mut w, epoch);
    let mut after = leaves.clone();
    let at = after
        .iter()
        .position(|(a, _)| *a == alice.address())
        .unwrap();
    after[at].1 = Amount::tokens(115).0;
    assert_eq!(
        w.state
            .chain()
            .unwrap()
            .last_settlement
            .as_ref()
            .unwrap()
            .root,
        EarningsTree::build(&after).root()
    );
    w.replays_agree();
}

#[test]
fn a_chain_genesis_stakes_nothing() {
    let mut g = ledger::Genesis::from_toml(&ledger::Genesis::template(key(1).address())).unwrap();
    g.settlement = SettlementMode::Evm;
    assert!(g.validate().unwrap_err().to_string().contains("[chain]"));
    g.chain = Some(ChainContracts {
        token: Address([0x70; 20]),
        vault: Address([0x71; 20]),
        distributor: Address([0x72; 20]),
        deploy_block: 1,
    });
    g.validate().unwrap();
    g.allocations.push(ledger::genesis::Allocation {
        account: key(2).address(),
        liquid: Amount::ZERO,
        staked: Amount::tokens(1),
        lock_until: 0,
        member: None,
    });
    assert!(g.validate().unwrap_err().to_string().contains("vault"));
    g.settlement = SettlementMode::Embedded;
    assert!(g.validate().unwrap_err().to_string().contains("only for"));
}

#[test]
fn a_migration_distributes_every_token_and_keeps_the_members() {
    let mut w = World::new();
    let epoch = w.epoch();
    assert!(matches!(
        ledger::chain::migration_allocations(&w.state, epoch),
        Err(ledger::chain::MigrationError::NotAtEpoch { .. })
    ));
    w.go_to(epoch + 1);
    close(&mut w, epoch);
    let allocations = ledger::chain::migration_allocations(&w.state, epoch).unwrap();
    let total: u128 = allocations.iter().map(|a| a.liquid.0).sum();
    assert_eq!(Some(Amount(total)), w.state.supply().outstanding());
    let alice = allocations
        .iter()
        .find(|a| a.account == w.alice.address())
        .unwrap();
    assert_eq!(
        (alice.liquid, alice.member.as_deref()),
        (Amount::tokens(1100), Some("alice"))
    );
    // The allocations found a chain collective whose genesis root pays each of them.
    let mut g = w.genesis.clone();
    g.settlement = SettlementMode::Evm;
    g.chain = Some(ChainContracts {
        token: Address([0x70; 20]),
        vault: Address([0x71; 20]),
        distributor: Address([0x72; 20]),
        deploy_block: 1,
    });
    g.allocations = allocations;
    g.validate().unwrap();
    // `seedbank chain migrate` writes it as TOML: it reads back the same.
    let text = toml::to_string(&g).unwrap();
    assert_eq!(ledger::Genesis::from_toml(&text).unwrap(), g);
}
