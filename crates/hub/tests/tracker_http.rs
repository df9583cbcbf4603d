//! The tracker over real HTTP: hostile requests get bencoded failures and change nothing; accounting
//! reaches the store on flush and on graceful shutdown.

mod common;

use std::net::SocketAddr;

use common::{announce_target, http_get, is_failure};
use hubapi::HubClient;
use metainfo::Torrent;

struct Setup {
    _dir: tempfile::TempDir,
    hub: common::RunningHub,
    alice: String,
    bob: String,
    hashes: metainfo::InfoHashes,
}

async fn setup() -> Setup {
    setup_on("127.0.0.1:0").await
}

/// A hub on `listen` with members alice and bob, and one torrent published by alice.
async fn setup_on(listen: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key = |p| tracker::request::passkey_to_string(&p);
    let (alice, bob) = {
        let mut store = hub::open_store(dir.path()).unwrap();
        (
            key(store.add_member("alice", 1).unwrap().1),
            key(store.add_member("bob", 1).unwrap().1),
        )
    };
    let mut config = common::config(dir.path());
    config.listen = listen.parse().unwrap();
    let hub = common::start(config).await;
    let bytes = common::private_torrent(dir.path(), "data.bin", 100_000);
    let hashes = Torrent::from_bytes(&bytes).unwrap().hashes;
    HubClient::new(&hub.url())
        .unwrap()
        .with_passkey(Some(alice.clone()))
        .publish(bytes, "data", "test", "")
        .await
        .unwrap();
    Setup {
        _dir: dir,
        hub,
        alice,
        bob,
        hashes,
    }
}

async fn get(addr: SocketAddr, target: String) -> (u16, Vec<u8>) {
    tokio::task::spawn_blocking(move || http_get(addr, &target))
        .await
        .unwrap()
}

async fn member(url: &str, passkey: &str) -> hubapi::MemberStats {
    HubClient::new(url)
        .unwrap()
        .with_passkey(Some(passkey.to_owned()))
        .me()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_bencoded_failures_and_change_nothing() {
    let s = setup().await;
    let v1 = s.hashes.v1.unwrap();
    let me = [b'A'; 20];
    // One honest peer so there is state to disturb.
    let ok = announce_target(&s.alice, &v1, &me, (0, 0, 0), "started");
    let (status, body) = get(s.hub.addr, ok).await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with(b"d8:complete"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    let good = announce_target(&s.bob, &v1, &[b'B'; 20], (500, 0, 10), "");
    let long_value = "9".repeat(5000);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown passkey",
            announce_target(&"c".repeat(32), &v1, &me, (1, 1, 1), ""),
            "unknown passkey",
        ),
        (
            "malformed passkey",
            announce_target("nothex", &v1, &me, (1, 1, 1), ""),
            "unknown passkey",
        ),
        (
            "no passkey",
            "/announce/?info_hash=x".into(),
            "missing passkey",
        ),
        (
            "public tracker path",
            "/announce?info_hash=x".into(),
            "missing passkey",
        ),
        ("truncated query", good[..good.len() / 2].to_owned(), ""),
        (
            "truncated escape",
            format!("{}%4", &good[..good.find("&port").unwrap()]),
            "percent-escape",
        ),
        (
            "oversized query",
            format!("{good}&pad={long_value}"),
            "longer than",
        ),
        (
            "19-byte info_hash",
            good.replace(&common::enc(&v1), &common::enc(&v1[..19])),
            "must be 20 bytes",
        ),
        (
            "21-byte info_hash",
            good.replace(&common::enc(&v1), &format!("{}%00", common::enc(&v1))),
            "must be 20 bytes",
        ),
        (
            "non-numeric counter",
            good.replace("uploaded=500", "uploaded=5e2"),
            "invalid uploaded",
        ),
        (
            "negative counter",
            good.replace("uploaded=500", "uploaded=-500"),
            "invalid uploaded",
        ),
        (
            "overflowing counter",
            good.replace("uploaded=500", "uploaded=18446744073709551616"),
            "invalid uploaded",
        ),
        (
            "absurd numwant",
            format!("{good}&numwant=100000000"),
            "numwant above",
        ),
        (
            "negative numwant",
            format!("{good}&numwant=-1"),
            "invalid numwant",
        ),
        (
            "unregistered torrent",
            good.replace(&common::enc(&v1), &common::enc(&[0x42; 20])),
            "not registered",
        ),
        ("full scrape", format!("/scrape/{}", s.bob), "full scrape"),
        (
            "scrape, unknown passkey",
            format!("/scrape/{}?info_hash={}", "d".repeat(32), common::enc(&v1)),
            "unknown passkey",
        ),
    ];
    for (what, target, reason) in cases {
        let (status, body) = get(s.hub.addr, target).await;
        assert_eq!(status, 200, "{what}");
        let text = String::from_utf8_lossy(&body);
        assert!(is_failure(&body), "{what}: {text}");
        assert!(text.contains(reason), "{what}: {text}");
    }
    // Nothing moved: still one peer, and after a flush no member was credited anything.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let stats = HubClient::new(&s.hub.url()).unwrap().stats().await.unwrap();
    assert_eq!(stats.peers, 1);
    for key in [&s.alice, &s.bob] {
        let m = member(&s.hub.url(), key).await;
        assert_eq!(
            (m.uploaded, m.downloaded, m.snatches),
            (0, 0, 0),
            "{}",
            m.name
        );
    }
    s.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounting_reaches_the_store_and_survives_graceful_restart() {
    let s = setup().await;
    let url = s.hub.url();
    let addr = s.hub.addr;
    let v1 = s.hashes.v1.unwrap();
    let v2_wire = s.hashes.v2_truncated().unwrap();
    let (seed, leech) = ([b'S'; 20], [b'L'; 20]);
    for target in [
        announce_target(&s.alice, &v1, &seed, (0, 0, 0), "started"),
        // Bob's client uses the v2 id of the hybrid: the same swarm.
        announce_target(&s.bob, &v2_wire, &leech, (0, 0, 100_000), "started"),
        announce_target(&s.bob, &v2_wire, &leech, (0, 60_000, 40_000), ""),
        announce_target(&s.alice, &v1, &seed, (60_000, 0, 0), ""),
    ] {
        let (_, body) = get(addr, target).await;
        assert!(!is_failure(&body), "{}", String::from_utf8_lossy(&body));
    }
    // Written by the periodic flush.
    let mut alice = member(&url, &s.alice).await;
    for _ in 0..50 {
        if alice.uploaded == 60_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        alice = member(&url, &s.alice).await;
    }
    assert_eq!(alice.uploaded, 60_000);
    // Then more traffic, and a graceful stop before the next periodic flush.
    get(
        addr,
        announce_target(&s.bob, &v2_wire, &leech, (0, 100_000, 0), "completed"),
    )
    .await;
    get(
        addr,
        announce_target(&s.alice, &v1, &seed, (100_000, 0, 0), "stopped"),
    )
    .await;
    let dir = s._dir;
    s.hub.stop().await;

    let hub = common::start(common::config(dir.path())).await;
    let alice = member(&hub.url(), &s.alice).await;
    let bob = member(&hub.url(), &s.bob).await;
    assert_eq!((alice.uploaded, alice.downloaded), (100_000, 0));
    assert_eq!(
        (bob.uploaded, bob.downloaded, bob.snatches),
        (0, 100_000, 1)
    );
    // Bob's peer was restored with its baseline: the next announce is a zero delta, not a new
    // first announce.
    let stats = HubClient::new(&hub.url()).unwrap().stats().await.unwrap();
    assert_eq!(stats.peers, 1);
    let torrent = HubClient::new(&hub.url())
        .unwrap()
        .torrent(1)
        .await
        .unwrap();
    assert_eq!((torrent.summary.seeders, torrent.summary.snatches), (1, 1));
    assert_eq!(torrent.balance, 0, "every byte uploaded was downloaded");
    hub.stop().await;
}

/// A hub listening on IPv6 hands out IPv6 peers in `peers6` (BEP 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_peers_come_back_in_peers6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    }
    let s = setup_on("[::1]:0").await;
    let (hub, alice, bob) = (s.hub, s.alice, s.bob);
    let v1 = s.hashes.v1.unwrap();
    get(
        hub.addr,
        announce_target(&alice, &v1, &[b'S'; 20], (0, 0, 0), "started"),
    )
    .await;
    let (_, body) = get(
        hub.addr,
        announce_target(&bob, &v1, &[b'L'; 20], (0, 0, 10), "started"),
    )
    .await;
    let mut want = b"5:peers0:6:peers618:".to_vec();
    want.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    want.extend_from_slice(&6881u16.to_be_bytes());
    assert!(
        body.windows(want.len()).any(|w| w == want.as_slice()),
        "{}",
        String::from_utf8_lossy(&body)
    );
    hub.stop().await;
}
