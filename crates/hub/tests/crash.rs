//! `kill -9` of the hub between and during flushes: no credited byte is counted twice, and for peers
//! the store already knew, none is lost — the baselines are written with the deltas they produced.
//!
//! The hub runs in a child process: this test binary re-executes itself with `SEEDBANK_CRASH_CHILD`
//! set, and the `child_hub` test then serves until it is killed.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{announce_target, http_get, is_failure};
use rand::Rng;

const CHILD_ENV: &str = "SEEDBANK_CRASH_CHILD";

/// The child process of `kill_9_loses_nothing_the_store_had`: serves a hub until killed. Ignored,
/// so a normal test run never counts it as a test that passed.
#[test]
#[ignore = "a child process of kill_9_loses_nothing_the_store_had, not a test"]
fn child_hub() {
    let spec = std::env::var(CHILD_ENV).expect("spawned by kill_9_loses_nothing_the_store_had");
    let (dir, listen) = spec.split_once('|').expect("dir|addr");
    let mut config = common::config(Path::new(dir));
    config.listen = listen.parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let hub = hub::Hub::open(config).expect("open");
        let listener = hub.bind().await.expect("bind");
        hub.serve(listener, std::future::pending()).await.unwrap();
    });
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn spawn_hub(dir: &Path, addr: SocketAddr) -> Child {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_hub",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{}|{addr}", dir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child hub");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "child hub did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn stored_uploaded(dir: &Path) -> Vec<(String, u64)> {
    let store = hub::open_store(dir).unwrap();
    store
        .members_since(0)
        .unwrap()
        .into_iter()
        .map(|m| {
            let s = store.member_stats(&m.name).unwrap().unwrap();
            (m.name, s.uploaded)
        })
        .collect()
}

#[test]
fn kill_9_loses_nothing_the_store_had() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["ann", "ben", "cat"];
    let (keys, info_hash) = {
        let mut store = hub::open_store(dir.path()).unwrap();
        let keys: Vec<String> = names
            .iter()
            .map(|n| tracker::request::passkey_to_string(&store.add_member(n, 1).unwrap().1))
            .collect();
        let bytes = common::private_torrent(dir.path(), "set.bin", 50_000);
        let (_, tracked) = store
            .add_torrent(&hub::store::NewTorrent {
                metainfo: &bytes,
                name: "set",
                category: "test",
                description: "",
                uploader: 1,
                now: 1,
            })
            .unwrap();
        (keys, tracked.wire_ids[0])
    };
    let addr = free_port();
    let mut child = spawn_hub(dir.path(), addr);
    let peer_id = |i: usize| [b'a' + i as u8; 20];
    let mut uploaded = [0u64; 3];
    let announce = |i: usize, up: u64, event: &str| {
        let (status, body) = http_get(
            addr,
            &announce_target(&keys[i], &info_hash, &peer_id(i), (up, 0, 0), event),
        );
        assert_eq!(status, 200);
        assert!(!is_failure(&body), "{}", String::from_utf8_lossy(&body));
    };
    for i in 0..3 {
        announce(i, 0, "started");
    }
    // Wait for the baselines to reach the store.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let peers = hub::open_store(dir.path()).unwrap().peers().unwrap().len();
        if peers == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "baselines never flushed");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut rng = rand::rng();
    let mut kills = 0;
    for round in 0..12 {
        for (i, up) in uploaded.iter_mut().enumerate() {
            *up += rng.random_range(1..1_000_000);
            announce(i, *up, "");
        }
        // Kill at a random point of the 1 s flush cycle: before, during or after a flush.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..1500)));
        if round % 3 != 2 {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            child = spawn_hub(dir.path(), addr);
        }
    }
    for (i, up) in uploaded.iter().enumerate() {
        announce(i, *up, "stopped");
    }
    // Graceful stop: SIGTERM is not wired in the child, so wait for a periodic flush instead.
    let deadline = Instant::now() + Duration::from_secs(10);
    let want: Vec<(String, u64)> = names
        .iter()
        .zip(uploaded)
        .map(|(n, u)| (n.to_string(), u))
        .collect();
    loop {
        // Both: the final deltas may be zero (the last round's counters), so the totals can match
        // before the batch that forgets the stopped peers is written.
        let peers_left = hub::open_store(dir.path()).unwrap().peers().unwrap().len();
        if stored_uploaded(dir.path()) == want && peers_left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {kills} kills: stored {:?}, clients reported {want:?}",
            stored_uploaded(dir.path())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let store = hub::open_store(dir.path()).unwrap();
    assert!(
        store.peers().unwrap().is_empty(),
        "stopped peers are forgotten"
    );
    assert!(kills >= 8);
}
