//! The EVM back end against a real anvil: deploy, follow (confirmations, cursors, reorgs), publish
//! (roots, slashes, idempotency) and the member's wallet (stake, deposit, claim, unstake).
//!
//! anvil is found as `settlement::anvil` says; without it the tests skip, or fail when `CI` is set.

use serde_json::json;
use settlement::anvil::{Anvil, CHAIN_ID, key};
use settlement::evm::{
    DeployParams, Deployment, EvmConfig, EvmSettlement, InitialHolder, Wallet, deploy,
};
use settlement::{ChainEvent, Cursor, EpochSettlement, Settlement, SettlementError, Slash};
use token::distributor::EarningsTree;
use token::{Address, Amount};

fn tokens(n: u64) -> Amount {
    Amount::tokens(n)
}

fn params(holder: Address) -> DeployParams {
    DeployParams {
        name: "Seed".into(),
        symbol: "SEED".into(),
        cap: tokens(10_000_000).0,
        annual_bps: 500,
        initial_holder: InitialHolder::Account(holder),
        initial_supply: tokens(1_000_000).0,
        max_lock_secs: 365 * 24 * 3600,
        alpha_wad: 1_000_000_000_000_000_000,
    }
}

/// anvil started, the contracts deployed by the operator (key 0), the hub connected.
async fn setup() -> Option<(Anvil, Deployment, EvmSettlement)> {
    let anvil = Anvil::start_or_skip(3).await?;
    let accounts: Vec<String> =
        serde_json::from_value(anvil.call("eth_accounts", json!([])).await).unwrap();
    for (i, account) in accounts.iter().enumerate() {
        assert_eq!(
            key(i).address(),
            account.parse::<Address>().unwrap(),
            "anvil's account {i}"
        );
    }
    let operator = key(0);
    let deployment = deploy(&anvil.url, CHAIN_ID, &operator, &params(operator.address()))
        .await
        .unwrap();
    for contract in ["SeedToken", "CumulativeDistributor", "StakingVault"] {
        eprintln!(
            "gas: deploy {contract}: {}",
            deployment.gas_of(contract).unwrap()
        );
    }
    let config = deployment.config(&anvil.url, CHAIN_ID);
    let hub = EvmSettlement::connect(config, operator).await.unwrap();
    Some((anvil, deployment, hub))
}

/// Polls until the chain's confirmed head, asserting each batch starts right after the cursor.
async fn poll_all(hub: &EvmSettlement, cursor: &mut Option<Cursor>) -> Vec<ChainEvent> {
    let mut events = Vec::new();
    while let Some(batch) = hub.poll(*cursor).await.unwrap() {
        let from = cursor.map_or(hub.config().deploy_block, |c| c.block + 1);
        assert!(batch.to.block >= from);
        assert!(
            batch
                .events
                .iter()
                .all(|e| (from..=batch.to.block).contains(&e.block))
        );
        assert!(
            batch
                .events
                .windows(2)
                .all(|w| (w[0].block, w[0].log_index) < (w[1].block, w[1].log_index))
        );
        events.extend(batch.events.into_iter().map(|o| o.event));
        *cursor = Some(batch.to);
    }
    events
}

fn last_gas(sent: &[settlement::SentTx]) -> u64 {
    sent.last().unwrap().gas_used
}

#[tokio::test]
async fn follows_publishes_and_pays() {
    let Some((anvil, deployment, hub)) = setup().await else {
        return;
    };
    let config = hub.config().clone();
    let operator = Wallet::connect(&config, &key(0)).await.unwrap();
    let member = Wallet::connect(&config, &key(1)).await.unwrap();
    let other = Wallet::connect(&config, &key(2)).await.unwrap();
    let (m, o) = (member.address(), other.address());

    // Nothing to follow yet: the deployment's own logs are not ours.
    let mut cursor = None;
    assert!(poll_all(&hub, &mut cursor).await.is_empty());
    let head = anvil.head().await;
    assert_eq!(cursor.unwrap().block, head - 2);

    // Tokens for the members (transfers are not followed).
    operator.transfer(m, tokens(10_000)).await.unwrap();
    operator.transfer(o, tokens(100)).await.unwrap();
    assert_eq!(member.balance(m).await.unwrap().wallet, tokens(10_000));

    // The member approves and stakes: seen only once the stake's block is 2 deep (confirmations).
    let lock_end = anvil.now().await + 3600;
    let staked = member.stake(tokens(1_000), lock_end).await.unwrap();
    assert_eq!(staked.len(), 2, "approve, then stake");
    eprintln!(
        "gas: approve {}, stake {}",
        staked[0].gas_used,
        last_gas(&staked)
    );
    let stake_block = anvil.head().await;
    assert!(poll_all(&hub, &mut cursor).await.is_empty());
    assert_eq!(cursor.unwrap().block, stake_block - 2);
    anvil.mine(1).await;
    assert!(poll_all(&hub, &mut cursor).await.is_empty());
    anvil.mine(1).await;
    let stake = ChainEvent::Staked {
        account: m,
        amount: tokens(1_000),
        lock_end,
    };
    assert_eq!(poll_all(&hub, &mut cursor).await, vec![stake.clone()]);
    assert_eq!(cursor.unwrap().block, stake_block);

    // Unstaking is refused while the stake is locked (and the refusal costs the wallet no nonce).
    let err = member.unstake(tokens(1)).await.unwrap_err();
    assert!(
        matches!(&err, SettlementError::Reverted { reason, .. } if reason.contains("StillLocked")),
        "{err}"
    );
    anvil.increase_time(1800).await;
    anvil.mine(1).await;
    let err = member.unstake(tokens(1)).await.unwrap_err();
    assert!(
        matches!(&err, SettlementError::Reverted { reason, .. } if reason.contains("StillLocked")),
        "{err}"
    );

    // The member deposits and the other stakes a little (approve skipped: none needed twice).
    let deposited = member.deposit(tokens(200)).await.unwrap();
    eprintln!("gas: deposit {}", last_gas(&deposited));
    other.stake(tokens(5), lock_end).await.unwrap();
    let head = anvil.head().await;
    let shallow = poll_all(&hub, &mut cursor).await;
    assert_eq!(
        shallow,
        vec![ChainEvent::Deposited {
            account: m,
            amount: tokens(200)
        }],
        "the deposit has 2 blocks on top, the other's stake not yet"
    );
    anvil.mine(2).await;
    let mut events = vec![stake];
    events.extend(shallow);
    let rest = poll_all(&hub, &mut cursor).await;
    assert_eq!(
        rest,
        vec![ChainEvent::Staked {
            account: o,
            amount: tokens(5),
            lock_end
        }]
    );
    events.extend(rest);
    assert_eq!(cursor.unwrap().block, head);
    // Each event once: nothing more until something happens.
    anvil.mine(3).await;
    assert!(poll_all(&hub, &mut cursor).await.is_empty());

    // Small batches cover the same ground: from the start, one block per poll.
    let narrow = EvmSettlement::connect(
        EvmConfig {
            max_blocks_per_poll: 1,
            ..config.clone()
        },
        key(0),
    )
    .await
    .unwrap();
    let mut narrow_cursor = None;
    let mut polls = 0;
    let mut narrow_events = Vec::new();
    while let Some(batch) = narrow.poll(narrow_cursor).await.unwrap() {
        assert_eq!(
            batch.to.block,
            narrow_cursor.map_or(deployment.block, |c: Cursor| c.block + 1)
        );
        narrow_events.extend(batch.events.into_iter().map(|o| o.event));
        narrow_cursor = Some(batch.to);
        polls += 1;
    }
    assert_eq!(narrow_events, events);
    assert_eq!(narrow_cursor, cursor);
    assert!(polls > 5);

    // Let the inflation budget accrue (500 bps a year of 1,000,000 tokens: ~4,100 in 30 days).
    anvil.increase_time(30 * 24 * 3600).await;
    anvil.mine(1).await;

    // Epoch 1: earnings for the two members, minted 150 and burned 1 (of the deposits the distributor
    // holds), a slash of the member and one of the other larger than its stake (clamped to 5).
    let values = [(m, tokens(120).0), (o, tokens(30).0)];
    let tree = EarningsTree::build(&values);
    let slash_member = Slash {
        account: m,
        amount: tokens(10),
        evidence: [0x11; 32],
    };
    let slash_other = Slash {
        account: o,
        amount: tokens(50),
        evidence: [0x22; 32],
    };
    let epoch = EpochSettlement {
        epoch: 1,
        root: tree.root(),
        minted: tokens(150),
        burned: tokens(1),
        slashes: vec![slash_member.clone(), slash_other.clone()],
    };
    let supply_before = total_supply(&anvil, &deployment).await;
    let published = hub.publish(&epoch).await.unwrap();
    assert!(!published.already_published);
    let whats: Vec<&str> = published
        .transactions
        .iter()
        .map(|t| t.what.as_str())
        .collect();
    assert_eq!(whats.len(), 3, "{whats:?}");
    assert!(whats[0].starts_with("slash") && whats[1].starts_with("slash"));
    assert!(whats[2].starts_with("postRoot of epoch 1"));
    eprintln!("gas: slash {}", published.transactions[0].gas_used);
    eprintln!(
        "gas: slash (clamped) {}",
        published.transactions[1].gas_used
    );
    eprintln!("gas: postRoot {}", published.transactions[2].gas_used);
    assert_eq!(member.balance(m).await.unwrap().staked, tokens(990));
    assert_eq!(other.balance(o).await.unwrap().staked, Amount::ZERO);
    // Supply: +150 minted, −1 burned, −10 −5 slashed.
    assert_eq!(
        total_supply(&anvil, &deployment).await,
        supply_before + tokens(150).0 - tokens(1).0 - tokens(15).0
    );

    // The same epoch again: nothing sent.
    let again = hub.publish(&epoch).await.unwrap();
    assert!(again.already_published);
    assert!(again.transactions.is_empty(), "{:?}", again.transactions);

    // A crash between the slashes and the root: the used evidence is skipped, the root posted.
    let epoch2 = EpochSettlement {
        epoch: 2,
        slashes: vec![slash_member.clone()],
        minted: Amount::ZERO,
        burned: Amount::ZERO,
        ..epoch.clone()
    };
    let published2 = hub.publish(&epoch2).await.unwrap();
    assert_eq!(published2.transactions.len(), 1);
    assert!(
        published2.transactions[0]
            .what
            .starts_with("postRoot of epoch 2")
    );
    // An epoch already posted, with a new slash still to send: the slash only.
    let late = EpochSettlement {
        slashes: vec![Slash {
            evidence: [0x33; 32],
            amount: tokens(1),
            ..slash_member.clone()
        }],
        ..epoch.clone()
    };
    let published_late = hub.publish(&late).await.unwrap();
    assert!(published_late.already_published);
    assert_eq!(published_late.transactions.len(), 1);
    assert!(published_late.transactions[0].what.starts_with("slash"));
    assert_eq!(member.balance(m).await.unwrap().staked, tokens(989));

    // The member claims (through anyone's wallet the tokens go to the member).
    let proof = tree.proof(&m).unwrap();
    let wallet_before = member.balance(m).await.unwrap().wallet;
    let claimed = other.claim(m, tokens(120), &proof).await.unwrap();
    eprintln!("gas: claim {}", claimed.gas_used);
    let after = member.balance(m).await.unwrap();
    assert_eq!(
        after.wallet,
        wallet_before.checked_add(tokens(120)).unwrap()
    );
    assert_eq!(after.claimed, tokens(120));
    // Twice: nothing left to claim.
    let err = member.claim(m, tokens(120), &proof).await.unwrap_err();
    assert!(
        matches!(&err, SettlementError::Reverted { reason, .. } if reason.contains("NothingToClaim")),
        "{err}"
    );
    // A wrong amount: the proof fails.
    let err = member.claim(m, tokens(121), &proof).await.unwrap_err();
    assert!(
        matches!(&err, SettlementError::Reverted { reason, .. } if reason.contains("InvalidProof")),
        "{err}"
    );

    // Unstake: the lock ended (30 days passed), so accepted now.
    assert!(anvil.now().await >= lock_end);
    let unstaked = member.unstake(tokens(989)).await.unwrap();
    eprintln!("gas: unstake {}", unstaked.gas_used);
    let after = member.balance(m).await.unwrap();
    assert_eq!(after.staked, Amount::ZERO);
    anvil.mine(2).await;
    assert_eq!(
        poll_all(&hub, &mut cursor).await,
        vec![ChainEvent::Unstaked {
            account: m,
            amount: tokens(989)
        }]
    );

    // Only the operator posts roots and slashes: a member's hub is refused.
    let impostor = EvmSettlement::connect(config.clone(), key(1))
        .await
        .unwrap();
    let err = impostor
        .publish(&EpochSettlement {
            epoch: 9,
            slashes: Vec::new(),
            ..epoch.clone()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SettlementError::Reverted { reason, .. } if reason.contains("OwnableUnauthorizedAccount")),
        "{err}"
    );
    // The member's nonce is not lost to the refused transactions.
    member.transfer(o, tokens(1)).await.unwrap();
}

async fn total_supply(anvil: &Anvil, deployment: &Deployment) -> u128 {
    // totalSupply() = 0x18160ddd
    let out: String = serde_json::from_value(
        anvil
            .call(
                "eth_call",
                json!([{"to": deployment.token.to_string(), "data": "0x18160ddd"}, "latest"]),
            )
            .await,
    )
    .unwrap();
    u128::from_str_radix(out.trim_start_matches("0x").trim_start_matches('0'), 16).unwrap_or(0)
}

#[tokio::test]
async fn detects_reorgs() {
    let Some((anvil, _deployment, hub)) = setup().await else {
        return;
    };
    let member = Wallet::connect(hub.config(), &key(1)).await.unwrap();
    let snapshot = anvil.call("evm_snapshot", json!([])).await;
    Wallet::connect(hub.config(), &key(0))
        .await
        .unwrap()
        .transfer(member.address(), tokens(10))
        .await
        .unwrap();
    member.deposit(tokens(1)).await.unwrap();
    anvil.mine(4).await;
    let mut cursor = None;
    let events = poll_all(&hub, &mut cursor).await;
    assert_eq!(events.len(), 1);
    let old = cursor.unwrap();

    // Back to before the deposit, then a different history of the same length and more.
    assert_eq!(
        anvil.call("evm_revert", json!([snapshot])).await,
        json!(true)
    );
    anvil.increase_time(7).await;
    anvil.mine(8).await;
    assert!(anvil.head().await >= old.block + 2);
    let err = hub.poll(Some(old)).await.unwrap_err();
    assert!(
        matches!(err, SettlementError::Reorg { block } if block == old.block),
        "{err}"
    );
    // The chain's new history is followed from scratch without the reverted deposit.
    let mut fresh = None;
    assert!(poll_all(&hub, &mut fresh).await.is_empty());

    // A cursor beyond a shortened chain is a reorg too.
    let snapshot = anvil.call("evm_snapshot", json!([])).await;
    anvil.mine(5).await;
    let mut ahead = fresh;
    poll_all(&hub, &mut ahead).await;
    anvil.call("evm_revert", json!([snapshot])).await;
    assert!(matches!(
        hub.poll(ahead).await,
        Err(SettlementError::Reorg { .. })
    ));
}

#[tokio::test]
async fn connect_checks_chain_and_code() {
    let Some(anvil) = Anvil::start_or_skip(3).await else {
        return;
    };
    let nowhere = Address([0x42; 20]);
    let config = EvmConfig::new(&anvil.url, CHAIN_ID, nowhere, nowhere, nowhere, 0);
    let err = EvmSettlement::connect(config.clone(), key(0))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SettlementError::Config(m) if m.contains("no contract at the token")),
        "{err}"
    );
    let err = EvmSettlement::connect(
        EvmConfig {
            chain_id: 1,
            ..config.clone()
        },
        key(0),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, SettlementError::Config(m) if m.contains("serves chain 31337")),
        "{err}"
    );
    drop(anvil);
    let err = EvmSettlement::connect(config, key(0)).await.unwrap_err();
    assert!(matches!(err, SettlementError::Rpc { .. }), "{err}");
}
