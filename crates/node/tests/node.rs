//! The node hosts what is registered with it, within its disk budget, and serves it to peers.

use std::net::SocketAddr;
use std::time::Duration;

use engine::{Engine, EngineConfig};
use metainfo::{CreateOptions, Torrent, Version};
use node::{Node, NodeConfig, NodeError};

fn make(dir: &std::path::Path, name: &str, len: usize) -> Torrent {
    std::fs::create_dir_all(dir).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.join(name), data).unwrap();
    let opts = CreateOptions {
        version: Version::Hybrid,
        piece_length: Some(32 * 1024),
        ..CreateOptions::default()
    };
    metainfo::create_torrent(&dir.join(name), &opts, &mut |_, _| {}).unwrap()
}

#[test]
fn registration_respects_the_disk_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let a = make(&tmp.path().join("src"), "a.bin", 600_000);
    let b = make(&tmp.path().join("src"), "b.bin", 500_000);
    let mut config = NodeConfig::defaults(&tmp.path().join("node"));
    config.disk_budget = 1_000_000;
    node::register(&config, &a).unwrap();
    // Registering the same torrent twice is a no-op, not a second charge against the budget.
    node::register(&config, &a).unwrap();
    match node::register(&config, &b) {
        Err(NodeError::DiskBudget {
            needed: 500_000,
            available: 400_000,
            ..
        }) => {}
        other => panic!("expected a disk-budget refusal, got {other:?}"),
    }
    let listed = node::registered(&config.data_dir).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1.hashes, a.hashes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_seeds_registered_content_to_a_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let node_dir = tmp.path().join("node");
    let torrent = make(&node_dir.join("content"), "game.iso", 1_234_567);
    let mut config = NodeConfig::defaults(&node_dir);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    node::register(&config, &torrent).unwrap();
    let mut node = Node::start(config).await.unwrap();
    assert_eq!(node.scan().await.unwrap(), 1);
    assert_eq!(
        node.scan().await.unwrap(),
        0,
        "a second scan adds nothing new"
    );
    assert!(node.torrents().all(|t| t.stats().complete));
    let node_addr = node.engine().listen_addr();

    let leecher = Engine::start(EngineConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Default::default()
    })
    .await
    .unwrap();
    let handle = leecher
        .add_torrent(torrent, tmp.path().join("out"), |_| {})
        .await
        .unwrap();
    handle.add_peers([node_addr]);
    tokio::time::timeout(Duration::from_secs(60), handle.wait_complete())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("out/game.iso")).unwrap(),
        std::fs::read(node_dir.join("content/game.iso")).unwrap()
    );
    leecher.shutdown().await;
    node.engine().shutdown().await;
}
