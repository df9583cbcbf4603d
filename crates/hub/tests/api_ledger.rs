//! The ledger's API over real HTTP: signed transactions, receipt settlement, and membership
//! following stake at the tracker.

mod common;

use hubapi::{ClientError, HubClient};
use ledger::Genesis;
use ledger::genesis::Allocation;
use token::{Amount, Receipt, ReceiptOutcome, SecretKey, Signed, Unstake, UserTx};

/// The receipt session of these tests' lanes: opened when the test starts (the hub settles a
/// session's receipts for `token::SESSION_TTL_SECS` after it opened).
static SESSION: std::sync::LazyLock<[u8; 32]> =
    std::sync::LazyLock::new(|| token::session_id(token::unix_now()));

fn api_code(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Api { status, code, .. } => (status, code),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_settle_and_stake_gates_the_tracker() {
    let dir = tempfile::tempdir().unwrap();
    let (operator, alice, bob) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    let mut genesis = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
    for (key, name) in [(&alice, "alice"), (&bob, "bob")] {
        genesis.allocations.push(Allocation {
            account: key.address(),
            liquid: Amount::tokens(10),
            staked: Amount::tokens(100),
            lock_until: 0,
            member: Some(name.into()),
        });
    }
    let config = common::config(dir.path());
    ledger::Ledger::create(&config.ledger_path(), &genesis, operator.clone()).unwrap();
    let hub = common::serve(hub::Hub::open_with_ledger(config, operator).unwrap()).await;
    let passkey = |name: &str| {
        let store = hub::open_store(dir.path()).unwrap();
        let row = store
            .members_since(0)
            .unwrap()
            .into_iter()
            .find(|m| m.name == name)
            .unwrap();
        tracker::request::passkey_to_string(&row.passkey)
    };
    let anon = HubClient::new(&hub.url()).unwrap();
    let as_alice = anon.clone().with_passkey(Some(passkey("alice")));
    let as_bob = anon.clone().with_passkey(Some(passkey("bob")));
    assert_eq!(as_bob.me().await.unwrap().name, "bob");

    // Alice publishes; the torrent becomes payable at the genesis price.
    let info = anon.ledger().await.unwrap();
    assert_eq!(info.symbol, "VIDYA");
    let bytes = common::private_torrent(dir.path(), "doom.zip", 300_000);
    let summary = as_alice.publish(bytes, "Doom", "games", "").await.unwrap();
    let torrent = hex::decode(summary.info_hash_v2.unwrap())
        .unwrap()
        .try_into()
        .unwrap();

    let receipt = |by: &SecretKey, uploader: &SecretKey, bytes: u64| {
        Signed::<Receipt>::sign(
            &info.domain,
            by,
            Receipt {
                collective: info.domain.verifying_contract,
                torrent,
                uploader: uploader.address(),
                downloader: by.address(),
                session: *SESSION,
                bytes,
            },
        )
    };
    let results = anon
        .settle(vec![
            receipt(&bob, &alice, 200_000),
            receipt(&alice, &alice, 1),
            receipt(&bob, &alice, 200_000),
            receipt(&bob, &alice, 400_000),
        ])
        .await
        .unwrap();
    let codes: Vec<String> = results
        .outcomes
        .iter()
        .map(|o| match o {
            ReceiptOutcome::Settled { capped, .. } => {
                format!("settled{}", if capped.is_some() { "+capped" } else { "" })
            }
            ReceiptOutcome::Rejected { code, .. } => code.clone(),
        })
        .collect();
    // Alice cannot pay herself; the replay is stale; the last is capped at the torrent's
    // 300,000 bytes. (Forged signatures are the ledger tests' business; here HTTP carries them.)
    assert_eq!(
        codes,
        ["settled", "self_dealing", "stale", "settled+capped"]
    );
    let price = info.price_per_gib.0 / (1 << 30);
    let charged = price * 300_000;
    let fee = charged / 10_000 * 500 + charged % 10_000 * 500 / 10_000;
    let a = anon.account(&alice.address()).await.unwrap();
    let b = anon.account(&bob.address()).await.unwrap();
    assert_eq!(b.balance, Amount(Amount::tokens(10).0 - charged));
    assert_eq!(a.balance, Amount(Amount::tokens(10).0 + charged - fee));

    // Bad input: malformed body, too many receipts, unknown address format.
    let too_many: Vec<_> = (0..=hubapi::MAX_RECEIPTS_PER_BATCH)
        .map(|_| receipt(&bob, &alice, 1))
        .collect();
    assert_eq!(
        api_code(anon.settle(too_many).await.unwrap_err()),
        (413, "too_many_receipts".into())
    );
    let addr = hub.addr;
    let (status, body) =
        tokio::task::spawn_blocking(move || common::http_get(addr, "/api/v1/accounts/0x1234"))
            .await
            .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // Bob unstakes below the minimum: the tracker and API suspend him at once.
    let unstake = Signed::<UserTx>::sign(
        &info.domain,
        &bob,
        UserTx::Unstake(Unstake {
            account: bob.address(),
            amount: Amount::tokens(1),
            nonce: 0,
        }),
    );
    anon.submit(&unstake).await.unwrap();
    assert_eq!(
        api_code(anon.submit(&unstake).await.unwrap_err()),
        (409, "bad_nonce".into())
    );
    assert_eq!(
        api_code(as_bob.me().await.unwrap_err()),
        (403, "suspended".into())
    );
    assert!(!anon.account(&bob.address()).await.unwrap().active);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_without_a_ledger_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let hub = common::start(common::config(dir.path())).await;
    let anon = HubClient::new(&hub.url()).unwrap();
    assert_eq!(
        api_code(anon.ledger().await.unwrap_err()),
        (404, "no_ledger".into())
    );
    hub.stop().await;
}
