//! Paid downloads between two seedbank nodes over loopback, settled by a real hub with its ledger:
//! the downloader signs `sb_receipt` receipts as pieces verify, the uploader checks them, keeps
//! serving while unpaid data stays within the debt threshold, and settles with the hub.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::TorrentHandle;
use hubapi::HubClient;
use ledger::Genesis;
use ledger::genesis::Allocation;
use metainfo::Torrent;
use node::{Node, NodeConfig, Payments, Terms};
use token::{Amount, SecretKey, Signed, Transfer, UserTx};

const PIECE: u64 = 64 * 1024;
const THRESHOLD: u64 = 1 << 20;
const WAIT: Duration = Duration::from_secs(60);

/// A hub with its ledger on a loopback port, a published torrent, and the members' keys.
struct Collective {
    dir: tempfile::TempDir,
    client: HubClient,
    terms: Terms,
    torrent: Vec<u8>,
    data: Vec<u8>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Alice hosts, Bob can pay, Carol is a member with nothing to pay with.
struct Members {
    alice: SecretKey,
    bob: SecretKey,
    carol: SecretKey,
}

fn member(key: &SecretKey, name: &str, liquid: u64) -> Allocation {
    Allocation {
        account: key.address(),
        liquid: Amount::tokens(liquid),
        staked: Amount::tokens(100),
        lock_until: 0,
        member: Some(name.into()),
    }
}

async fn collective(members: &Members, size: usize) -> Collective {
    // RUST_LOG=info shows what the nodes and the hub did, when a run needs explaining.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let operator = SecretKey::generate();
    let mut genesis = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
    genesis.debt_threshold_bytes = THRESHOLD;
    genesis.allocations.push(member(&members.alice, "alice", 0));
    genesis.allocations.push(member(&members.bob, "bob", 10));
    genesis.allocations.push(member(&members.carol, "carol", 0));
    let mut config = hub::HubConfig::defaults(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    ledger::Ledger::create(&config.ledger_path(), &genesis, operator.clone()).unwrap();
    let hub = hub::Hub::open_with_ledger(config, operator).unwrap();
    let listener = hub.bind().await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(hub.serve(listener, async move {
        let _ = stopped.await;
    }));

    // Alice publishes the torrent, which registers it with the ledger at the genesis price.
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("ledger.bin"), &data).unwrap();
    let opts = metainfo::CreateOptions {
        private: true,
        version: metainfo::Version::V1,
        piece_length: Some(PIECE),
        announce: vec![format!("{url}/announce")],
        ..metainfo::CreateOptions::default()
    };
    let torrent = metainfo::create_torrent(&src.join("ledger.bin"), &opts, &mut |_, _| {})
        .unwrap()
        .to_bytes();
    let store = hub::open_store(dir.path()).unwrap();
    let alice = store
        .members_since(0)
        .unwrap()
        .into_iter()
        .find(|m| m.name == "alice")
        .unwrap();
    let client = HubClient::new(&url).unwrap();
    let as_alice = client
        .clone()
        .with_passkey(Some(tracker::request::passkey_to_string(&alice.passkey)));
    as_alice
        .publish(torrent.clone(), "Ledger", "data", "")
        .await
        .unwrap();
    let terms = Terms::from_ledger(&client.ledger().await.unwrap());
    Collective {
        dir,
        client,
        terms,
        torrent,
        data,
        stop,
    }
}

struct RunningNode {
    payments: Arc<Payments>,
    handle: TorrentHandle,
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

async fn start_node(c: &Collective, name: &str, key: &SecretKey, seed: bool) -> RunningNode {
    let dir = c.dir.path().join(name);
    let mut config = NodeConfig::defaults(&dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let torrent = Torrent::from_bytes(&c.torrent).unwrap();
    if seed {
        let content = dir.join("content");
        std::fs::create_dir_all(&content).unwrap();
        std::fs::write(content.join(&torrent.info.name), &c.data).unwrap();
    }
    node::register(&config, &torrent).unwrap();
    let mut node = Node::start(config).await.unwrap();
    let payments = Arc::new(Payments::open(&dir, key.clone(), c.terms.clone(), true).unwrap());
    node.enable_payments(Arc::clone(&payments), c.client.clone());
    node.scan().await.unwrap();
    let handle = node.torrents().next().unwrap().clone();
    let addr = node.engine().listen_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        node.run(async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    RunningNode {
        payments,
        handle,
        addr,
        stop,
        task,
    }
}

async fn balance(c: &Collective, key: &SecretKey) -> Amount {
    c.client.account(&key.address()).await.unwrap().balance
}

fn members() -> Members {
    Members {
        alice: SecretKey::generate(),
        bob: SecretKey::generate(),
        carol: SecretKey::generate(),
    }
}

/// Settles until `key`'s balance reaches `at_least` (what the ledger pays for the whole download
/// in one settlement) and returns it. The fee is floored once per settled receipt, so the
/// uploader may keep up to one base unit more per settlement than `charge − fee` computed on the
/// whole (the downloader pays exactly price × bytes either way); at most one receipt per piece
/// bounds the excess.
async fn settle_until_paid(
    c: &Collective,
    seeder: &RunningNode,
    key: &SecretKey,
    at_least: Amount,
    size: usize,
) -> Amount {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = balance(c, key).await;
        if got.0 >= at_least.0 {
            let excess = got.0 - at_least.0;
            let receipts = (size as u128).div_ceil(u128::from(PIECE));
            assert!(
                excess <= receipts,
                "the uploader got {excess} base units more than price × bytes − fee"
            );
            return got;
        }
        assert!(Instant::now() < deadline, "receipts never settled");
        seeder.payments.settle(&c.client).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The exact amounts the ledger moves for `bytes` at the collective's price and fee.
fn expected(c: &Collective, bytes: u64) -> (Amount, Amount) {
    let charge = Amount(c.terms.price_per_byte.0 * u128::from(bytes));
    let fee = Amount(charge.0 * 500 / 10_000); // the template's fee_bps
    (charge, Amount(charge.0 - fee.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_between_nodes_moves_price_times_bytes_minus_the_fee() {
    let m = members();
    let size = 5 * THRESHOLD as usize + 12_345;
    let c = collective(&m, size).await;
    let (bob_before, alice_before) = (balance(&c, &m.bob).await, balance(&c, &m.alice).await);
    let seeder = start_node(&c, "alice", &m.alice, true).await;
    let fetcher = start_node(&c, "bob", &m.bob, false).await;
    fetcher.handle.add_peers([seeder.addr]);
    tokio::time::timeout(WAIT, fetcher.handle.wait_complete())
        .await
        .expect("download finished in time")
        .unwrap();
    let got = std::fs::read(c.dir.path().join("bob/content/ledger.bin")).unwrap();
    assert!(got == c.data, "downloaded data differs");

    // The last receipts reach the seeder right after the last piece verifies; settle until the
    // ledger shows them (each round also runs on its own every few seconds).
    let (charge, paid) = expected(&c, size as u64);
    let alice_after = alice_before.checked_add(paid).unwrap();
    let alice_after = settle_until_paid(&c, &seeder, &m.alice, alice_after, size).await;
    assert_eq!(seeder.payments.unsettled(), (0, 0));
    fetcher.stop().await;
    seeder.stop().await;
    assert_eq!(
        balance(&c, &m.bob).await,
        bob_before.checked_sub(charge).unwrap()
    );
    assert_eq!(balance(&c, &m.alice).await, alice_after);
    // Nothing was left to settle at shutdown, and nothing is kept on disk.
    let kept = std::fs::read_to_string(c.dir.path().join("alice/receipts.json")).unwrap();
    assert_eq!(kept.trim(), "[]");
    let _ = c.stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downloader_without_balance_is_cut_off_at_the_debt_threshold_until_it_pays() {
    let m = members();
    let size = 6 * THRESHOLD as usize;
    let c = collective(&m, size).await;
    let seeder = start_node(&c, "alice", &m.alice, true).await;
    let fetcher = start_node(&c, "carol", &m.carol, false).await;
    fetcher.handle.add_peers([seeder.addr]);

    // Served on credit up to the threshold, then held and choked: no byte beyond it.
    let deadline = Instant::now() + WAIT;
    let mut last = (0, Instant::now());
    loop {
        let sent = seeder.handle.stats().uploaded;
        assert!(sent <= THRESHOLD, "sent {sent} bytes, over the threshold");
        if sent != last.0 {
            last = (sent, Instant::now());
        } else if sent > 0 && last.1.elapsed() > Duration::from_secs(8) {
            break;
        }
        assert!(Instant::now() < deadline, "the upload never stopped");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let cut_at = seeder.handle.stats().uploaded;
    assert!(
        cut_at > THRESHOLD - 2 * PIECE,
        "stopped at {cut_at}, well before the threshold"
    );
    assert!(!fetcher.handle.stats().complete);
    // Carol's receipts are real but cannot be paid: the uploader loses what it sent on credit.
    seeder.payments.settle(&c.client).await.unwrap();
    assert_eq!(balance(&c, &m.alice).await, Amount::ZERO);
    let (_, unpaid) = seeder.payments.unsettled();
    assert!(unpaid <= THRESHOLD, "{unpaid} bytes unpaid");

    // Bob funds Carol; the next round sees her balance and the download resumes and completes.
    let transfer = UserTx::Transfer(Transfer {
        from: m.bob.address(),
        to: m.carol.address(),
        amount: Amount::tokens(1),
        nonce: 0,
    });
    c.client
        .submit(&Signed::<UserTx>::sign(&c.terms.domain, &m.bob, transfer))
        .await
        .unwrap();
    seeder.payments.settle(&c.client).await.unwrap();
    tokio::time::timeout(WAIT, fetcher.handle.wait_complete())
        .await
        .expect("download resumed once paid")
        .unwrap();
    let (charge, paid) = expected(&c, size as u64);
    settle_until_paid(&c, &seeder, &m.alice, paid, size).await;
    assert_eq!(
        balance(&c, &m.carol).await,
        Amount::tokens(1).checked_sub(charge).unwrap()
    );
    fetcher.stop().await;
    seeder.stop().await;
    let _ = c.stop.send(());
}

/// A peer without `sb_receipt` (here seedbank's engine without a wallet; libtorrent, aria2 and
/// Transmission look the same on the wire) downloads for ratio only from a paying node, or not at
/// all when the node refuses legacy peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_peers_are_served_for_ratio_only_or_refused() {
    let m = members();
    let size = 3 * THRESHOLD as usize;
    let c = collective(&m, size).await;
    let seeder = start_node(&c, "alice", &m.alice, true).await;
    let engine = engine::Engine::start(engine::EngineConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..engine::EngineConfig::default()
    })
    .await
    .unwrap();
    let torrent = Torrent::from_bytes(&c.torrent).unwrap();
    let legacy = engine
        .add_torrent(torrent.clone(), c.dir.path().join("legacy"), |_| {})
        .await
        .unwrap();
    legacy.add_peers([seeder.addr]);
    tokio::time::timeout(WAIT, legacy.wait_complete())
        .await
        .expect("a legacy peer is served")
        .unwrap();
    assert_eq!(seeder.payments.unsettled(), (0, 0), "no receipts from it");
    legacy.remove(&engine).await;
    seeder.stop().await;

    // The same node with `serve_legacy = false`: the legacy peer gets nothing.
    let dir = c.dir.path().join("strict");
    let mut config = NodeConfig::defaults(&dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::write(content.join(&torrent.info.name), &c.data).unwrap();
    node::register(&config, &torrent).unwrap();
    let mut strict = Node::start(config).await.unwrap();
    let payments = Payments::open(&dir, m.alice.clone(), c.terms.clone(), false).unwrap();
    strict.enable_payments(Arc::new(payments), c.client.clone());
    strict.scan().await.unwrap();
    let refused = engine
        .add_torrent(torrent, c.dir.path().join("refused"), |_| {})
        .await
        .unwrap();
    refused.add_peers([strict.engine().listen_addr()]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let stats = refused.stats();
    assert_eq!(stats.pieces_have, 0, "a refused legacy peer got data");
    let served = strict.torrents().next().unwrap().stats();
    assert_eq!(
        served.peers, 1,
        "the legacy peer is connected, just never served"
    );
    assert_eq!(served.uploaded, 0);
    engine.shutdown().await;
    strict.engine().shutdown().await;
    let _ = c.stop.send(());
}
