//! The hosting policy at work in a node, against a stand-in for the hub's API: it adds what the
//! plan adds, lets go of what it added itself when something better needs the room (the `.torrent`,
//! and the content unless it was there before), and never touches what was registered by hand.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hubapi::{EpochView, Market, MarketEntry};
use metainfo::{CreateOptions, Torrent, Version};
use node::{Node, NodeConfig, policy};
use token::Amount;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(31).wrapping_add(seed * 7) % 251) as u8)
        .collect()
}

fn make(dir: &Path, name: &str, len: usize, seed: u32) -> Torrent {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), data(len, seed)).unwrap();
    let opts = CreateOptions {
        version: Version::Hybrid,
        piece_length: Some(32 * 1024),
        ..CreateOptions::default()
    };
    metainfo::create_torrent(&dir.join(name), &opts, &mut |_, _| {}).unwrap()
}

fn entry(id: u32, t: &Torrent, weight: u128) -> MarketEntry {
    MarketEntry {
        id,
        name: t.info.name.clone(),
        category: "general".to_owned(),
        size: t.info.data_length(),
        torrent: node::ledger_id(t),
        weight_wad: Amount(weight * 1_000_000_000_000_000_000),
        price_per_byte: Amount(0),
        replicas_milli: 0,
        target_replicas: 3,
        saturation_wad: Amount(0),
        pool: Amount(0),
        pool_per_epoch: Amount(0),
    }
}

/// What the stand-in hub answers.
struct Hub {
    epoch: u64,
    market: Market,
    torrents: HashMap<u32, Vec<u8>>,
}

fn epoch_view(epoch: u64) -> EpochView {
    EpochView {
        epoch,
        start: 0,
        end: 0,
        current: epoch,
        commitment: None,
        secret: None,
        audited: false,
        audits: 0,
        pass: 0,
        offline: 0,
        missing: 0,
        wrong: 0,
        wire_bytes: 0,
    }
}

/// A minimal HTTP/1.1 server on loopback for the three routes the policy uses.
async fn serve(hub: Arc<Mutex<Hub>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let hub = hub.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                let (status, body) = {
                    let hub = hub.lock().unwrap();
                    let id = path
                        .strip_prefix("/api/v1/torrents/")
                        .and_then(|p| p.strip_suffix("/torrent"))
                        .and_then(|id| id.parse::<u32>().ok());
                    match (path.as_str(), id) {
                        ("/api/v1/epochs/current", _) => (
                            "200 OK",
                            serde_json::to_vec(&epoch_view(hub.epoch)).unwrap(),
                        ),
                        ("/api/v1/market", _) => {
                            ("200 OK", serde_json::to_vec(&hub.market).unwrap())
                        }
                        (_, Some(id)) if hub.torrents.contains_key(&id) => {
                            ("200 OK", hub.torrents[&id].clone())
                        }
                        _ => (
                            "404 Not Found",
                            br#"{"error":{"code":"not_found","message":"no such route"}}"#.to_vec(),
                        ),
                    }
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    addr
}

fn registered_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = node::registered(dir)
        .unwrap()
        .into_iter()
        .map(|(_, t)| t.info.name)
        .collect();
    names.sort();
    names
}

fn hosted_names(node: &Node) -> Vec<String> {
    let mut names: Vec<String> = node
        .torrents()
        .map(|h| h.torrent().info.name.clone())
        .collect();
    names.sort();
    names
}

fn plan_names(choices: &[policy::Choice]) -> Vec<&str> {
    choices.iter().map(|c| c.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_adds_evicts_after_the_claims_lapse_and_keeps_what_is_not_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let node_dir = tmp.path().join("node");
    let content = node_dir.join("content");
    let src = tmp.path().join("src");
    // Registered by hand, with its data: never the policy's.
    let mine = make(&content, "mine.bin", 300_000, 1);
    let pinned = make(&src, "pinned.bin", 100_000, 2);
    // Its data is in content/ before the policy adds it (copied there by the member).
    let kept_data = make(&src, "a.bin", 200_000, 3);
    std::fs::write(content.join("a.bin"), data(200_000, 3)).unwrap();
    let fetched = make(&src, "c.bin", 200_000, 4);
    let better = make(&src, "b.bin", 600_000, 5);

    let mut config = NodeConfig::defaults(&node_dir);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.disk_budget = 1_000_000;
    config.auto_host = true;
    config.interests.pinned = vec!["pinned.bin".to_owned()];
    assert!(config.hosting_policy());
    node::register(&config, &mine).unwrap();

    let hub = Arc::new(Mutex::new(Hub {
        epoch: 10,
        market: Market {
            closed_epoch: Some(9),
            minted: Amount(1000 * 1_000_000_000_000_000_000),
            weighted_bytes: Amount(1_000_000_000_000_000),
            torrents: vec![
                entry(1, &pinned, 0),
                entry(2, &kept_data, 2),
                entry(3, &fetched, 1),
                entry(4, &better, 1),
            ],
        },
        torrents: [(1, &pinned), (2, &kept_data), (3, &fetched), (4, &better)]
            .into_iter()
            .map(|(id, t)| (id, t.to_bytes()))
            .collect(),
    }));
    let addr = serve(hub.clone()).await;
    let client = hubapi::HubClient::new(&format!("http://{addr}"))
        .unwrap()
        .with_passkey(Some("passkey".to_owned()));
    let mut node = Node::start(config).await.unwrap();
    node.enable_policy(client).unwrap();

    // Epoch 10: the pin (pays nothing), then the best per byte while they fit; "b" does not.
    let plan = node
        .policy_round()
        .await
        .unwrap()
        .expect("a plan for epoch 10");
    assert_eq!(plan_names(&plan.keep), ["mine.bin"]);
    assert_eq!(plan_names(&plan.add), ["pinned.bin", "a.bin", "c.bin"]);
    assert!(plan.evict.is_empty());
    assert_eq!(plan.skipped[0].0, "b.bin");
    assert_eq!(
        registered_names(&node_dir),
        ["a.bin", "c.bin", "mine.bin", "pinned.bin"]
    );
    let record = node.policy_record().unwrap().clone();
    assert_eq!(record.torrents.len(), 3);
    assert!(
        record
            .get(&node::ledger_id(&kept_data))
            .unwrap()
            .content_existed
    );
    assert!(
        !record
            .get(&node::ledger_id(&fetched))
            .unwrap()
            .content_existed
    );
    assert_eq!(
        policy::Record::load(&node::policy_record_path(&node_dir)).unwrap(),
        record,
        "what the policy added is on disk"
    );
    // Once per epoch.
    assert!(node.policy_round().await.unwrap().is_none());
    assert_eq!(
        node.scan().await.unwrap(),
        4,
        "the three added and the hand-added one"
    );
    // "c" downloads.
    std::fs::write(content.join("c.bin"), data(200_000, 4)).unwrap();

    // Epoch 11: "b" pays 8x per byte: the two the policy holds for pay make room, least valuable
    // first; the pinned and the hand-added stay.
    {
        let mut hub = hub.lock().unwrap();
        hub.epoch = 11;
        hub.market.torrents[3].weight_wad = Amount(8 * 1_000_000_000_000_000_000);
    }
    let plan = node
        .policy_round()
        .await
        .unwrap()
        .expect("a plan for epoch 11");
    assert_eq!(plan_names(&plan.evict), ["c.bin", "a.bin"]);
    assert_eq!(plan.evict[0].reason, "evicted: worth 8.0x less than b.bin");
    assert_eq!(plan_names(&plan.add), ["b.bin"]);
    assert_eq!(plan_names(&plan.keep), ["mine.bin", "pinned.bin"]);
    // Nothing is deleted yet: the evicted are still claimed this epoch, so "b" waits for room.
    assert_eq!(
        registered_names(&node_dir),
        ["a.bin", "c.bin", "mine.bin", "pinned.bin"]
    );
    assert!(content.join("c.bin").exists());
    let record = node.policy_record().unwrap();
    assert!(record.is_leaving(&node::ledger_id(&fetched)));
    assert!(!record.is_leaving(&node::ledger_id(&pinned)));

    // Epoch 12: no report claims them any more: they go, and "b" comes.
    hub.lock().unwrap().epoch = 12;
    let plan = node
        .policy_round()
        .await
        .unwrap()
        .expect("a plan for epoch 12");
    assert_eq!(plan_names(&plan.add), ["b.bin"]);
    assert!(plan.evict.is_empty());
    assert_eq!(
        registered_names(&node_dir),
        ["b.bin", "mine.bin", "pinned.bin"]
    );
    assert_eq!(hosted_names(&node), ["mine.bin", "pinned.bin"]);
    assert!(
        !content.join("c.bin").exists(),
        "what the policy fetched is deleted"
    );
    assert_eq!(
        std::fs::read(content.join("a.bin")).unwrap(),
        data(200_000, 3),
        "content that was there before the policy is left alone"
    );
    assert_eq!(
        std::fs::read(content.join("mine.bin")).unwrap(),
        data(300_000, 1),
        "hand-added data is never touched"
    );
    let record = policy::Record::load(&node::policy_record_path(&node_dir)).unwrap();
    let mut names: Vec<&str> = record.torrents.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["b.bin", "pinned.bin"]);
    node.scan().await.unwrap();
    assert_eq!(hosted_names(&node), ["b.bin", "mine.bin", "pinned.bin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_torrent_that_is_not_what_its_market_lists_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let listed = make(&src, "listed.bin", 50_000, 1);
    let other = make(&src, "other.bin", 50_000, 2);
    let mut config = NodeConfig::defaults(&tmp.path().join("node"));
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.auto_host = true;
    let hub = Arc::new(Mutex::new(Hub {
        epoch: 3,
        market: Market {
            closed_epoch: Some(2),
            minted: Amount(1_000_000_000_000_000_000),
            weighted_bytes: Amount(1_000_000),
            torrents: vec![entry(1, &listed, 1)],
        },
        torrents: [(1, other.to_bytes())].into_iter().collect(),
    }));
    let addr = serve(hub).await;
    let client = hubapi::HubClient::new(&format!("http://{addr}"))
        .unwrap()
        .with_passkey(Some("passkey".to_owned()));
    let mut node = Node::start(config.clone()).await.unwrap();
    node.enable_policy(client).unwrap();
    let plan = node.policy_round().await.unwrap().unwrap();
    assert_eq!(plan_names(&plan.add), ["listed.bin"]);
    assert!(node::registered(&config.data_dir).unwrap().is_empty());
    assert!(node.policy_record().unwrap().torrents.is_empty());
}
