//! The swarm's rules driven message by message, with scripted peers and no sockets: what we send
//! is read straight from each peer's outbox, so every step is deterministic.

use std::sync::Arc;
use std::time::Duration;

use metainfo::{CreateOptions, Torrent, Version};
use peerwire::bitfield::Bitfield;
use peerwire::extension::ExtensionHandshake;
use peerwire::{BlockRef, Message};

use crate::EngineConfig;
use crate::hashpool::HashPool;
use crate::picker::{BLOCK, PeerKey};
use crate::storage::Storage;
use crate::swarm::{EngineParts, PeerLink, Swarm};

struct Fixture {
    _dir: tempfile::TempDir,
    data: Vec<u8>,
    swarm: Arc<Swarm>,
}

/// A leecher for one 32 KiB piece (two blocks), with nothing on disk yet.
fn leecher() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..2 * BLOCK).map(|i| (i % 251) as u8).collect();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f.bin"), &data).unwrap();
    let opts = CreateOptions {
        version: Version::V1,
        piece_length: Some(u64::from(2 * BLOCK)),
        ..CreateOptions::default()
    };
    let torrent: Torrent =
        metainfo::create_torrent(&src.join("f.bin"), &opts, &mut |_, _| {}).unwrap();
    let storage = Arc::new(Storage::new(&dir.path().join("out"), &torrent.info, true));
    let have = Bitfield::new(torrent.piece_count());
    let swarm = Swarm::new(
        Arc::new(torrent),
        storage,
        have,
        EngineParts {
            config: EngineConfig::default(),
            peer_id: *b"-SB0100-testtesttest",
            pool: HashPool::new(1),
            listen_port: 6881,
        },
        None,
    );
    Fixture {
        _dir: dir,
        data,
        swarm,
    }
}

/// A peer that has everything and lets us queue one request at a time (BEP 10 `reqq` = 1).
fn connect(f: &Fixture, last_octet: u8) -> (PeerKey, Arc<PeerLink>) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, last_octet], 7000));
    let (key, link) = f
        .swarm
        .register(addr, [last_octet; 20], false, true, false)
        .unwrap();
    let hs = ExtensionHandshake {
        reqq: Some(1),
        ..ExtensionHandshake::default()
    };
    let opening = vec![
        Message::Extended {
            id: 0,
            payload: hs.encode().into(),
        },
        Message::Bitfield(Bitfield::full(1).to_bytes()),
        Message::Unchoke,
    ];
    f.swarm.handle_messages(key, opening).unwrap();
    (key, link)
}

fn drain(link: &PeerLink) -> Vec<Message> {
    std::mem::take(&mut link.outbox().messages)
}

fn requests(messages: &[Message]) -> Vec<BlockRef> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(*r),
            _ => None,
        })
        .collect()
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Regression: a piece that fails its check after we told every peer "not interested" (nothing else
/// was left) must make us interested again, or the download stalls one piece short forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interest_returns_after_a_failed_piece() {
    let f = leecher();
    let (a, link_a) = connect(&f, 2);
    let first = drain(&link_a);
    assert!(first.contains(&Message::Interested));
    let asked_a = requests(&first);
    assert_eq!(
        asked_a.len(),
        1,
        "reqq 1 means one request in flight: {first:?}"
    );
    let (b, link_b) = connect(&f, 3);
    let asked_b = requests(&drain(&link_b));
    assert_eq!(asked_b.len(), 1);
    assert_ne!(
        asked_a[0].begin, asked_b[0].begin,
        "the two peers split the piece"
    );

    // A sends garbage, B the truth: the piece has two senders, so it fails without a ban.
    let block = |r: BlockRef, good: bool| {
        let start = r.begin as usize;
        let mut bytes = f.data[start..start + r.length as usize].to_vec();
        if !good {
            bytes.iter_mut().for_each(|x| *x = !*x);
        }
        Message::Piece {
            index: r.index,
            begin: r.begin,
            data: bytes.into(),
        }
    };
    f.swarm
        .handle_messages(a, vec![block(asked_a[0], false)])
        .unwrap();
    f.swarm
        .handle_messages(b, vec![block(asked_b[0], true)])
        .unwrap();
    wait_until("the hash check to fail", || {
        f.swarm.stats().hash_failures == 1
    })
    .await;
    let stats = f.swarm.stats();
    assert_eq!(
        f.swarm.transfer_totals().1,
        0,
        "a failed piece is taken back out of what we tell the tracker"
    );
    assert!(stats.banned.is_empty(), "two senders: suspicion, not a ban");
    assert_eq!(stats.pieces_have, 0);

    // Whatever we told them while the piece was being checked, we want it again now.
    for link in [&link_a, &link_b] {
        let said: Vec<Message> = drain(link)
            .into_iter()
            .filter(|m| matches!(m, Message::Interested | Message::NotInterested))
            .collect();
        if let Some(last) = said.last() {
            assert_eq!(
                last,
                &Message::Interested,
                "interest must come back: {said:?}"
            );
        }
    }
    // The next clock tick asks for the piece again, from one peer only.
    f.swarm.tick();
    let again: Vec<BlockRef> = requests(&drain(&link_a))
        .into_iter()
        .chain(requests(&drain(&link_b)))
        .collect();
    assert!(
        !again.is_empty(),
        "the failed piece must be requested again"
    );
    assert!(again.iter().all(|r| r.index == 0));
}

/// A peer that sends a whole corrupt piece and leaves before the check ends is banned all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn culprit_that_left_before_the_check_is_banned() {
    let f = leecher();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 9], 7000));
    let (key, link) = f
        .swarm
        .register(addr, [9; 20], false, false, false)
        .unwrap();
    let opening = vec![
        Message::Bitfield(Bitfield::full(1).to_bytes()),
        Message::Unchoke,
    ];
    f.swarm.handle_messages(key, opening).unwrap();
    let asked = requests(&drain(&link));
    assert_eq!(asked.len(), 2, "both blocks from the only peer");
    // Hold the single hashing thread, so the peer is gone before its piece is checked.
    let pool = Arc::clone(&f.swarm.pool);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let busy = tokio::spawn(async move { pool.run(move || release_rx.recv()).await });
    let garbage: Vec<Message> = asked
        .iter()
        .map(|r| Message::Piece {
            index: r.index,
            begin: r.begin,
            data: vec![0xAA; r.length as usize].into(),
        })
        .collect();
    f.swarm.handle_messages(key, garbage).unwrap();
    f.swarm.peer_disconnected(key, "left in a hurry");
    release_tx.send(()).unwrap();
    busy.await.unwrap();
    wait_until("the hash check to fail", || {
        f.swarm.stats().hash_failures == 1
    })
    .await;
    assert_eq!(f.swarm.stats().banned, vec![addr.ip()]);
    assert!(
        f.swarm
            .register(addr, [10; 20], false, false, false)
            .is_err(),
        "a banned IP cannot come back"
    );
}

/// What we report as downloaded is each block once: a late copy of a block we cancelled in endgame is
/// redundant (libtorrent's default leaves it out too), and a block nobody asked for must not let a
/// peer inflate our total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_download_leaves_out_redundant_and_unrequested_blocks() {
    let f = leecher();
    let (a, link_a) = connect(&f, 2);
    let asked_a = requests(&drain(&link_a));
    let (b, link_b) = connect(&f, 3);
    let asked_b = requests(&drain(&link_b));
    let block = |r: BlockRef| {
        let start = r.begin as usize;
        Message::Piece {
            index: r.index,
            begin: r.begin,
            data: f.data[start..start + r.length as usize].to_vec().into(),
        }
    };
    // A delivers its block and, with nothing else left, doubles B's block (endgame).
    f.swarm.handle_messages(a, vec![block(asked_a[0])]).unwrap();
    let doubled = requests(&drain(&link_a));
    assert_eq!(doubled, asked_b, "endgame asks A for B's block too");
    // B answers first: A's copy is cancelled, but arrives anyway.
    f.swarm.handle_messages(b, vec![block(asked_b[0])]).unwrap();
    assert!(drain(&link_a).contains(&Message::Cancel(asked_b[0])));
    f.swarm.handle_messages(a, vec![block(asked_b[0])]).unwrap();
    assert_eq!(f.swarm.transfer_totals().1, 2 * u64::from(BLOCK));
    // The same block again, never asked for this time: dropped and not counted.
    f.swarm.handle_messages(a, vec![block(asked_b[0])]).unwrap();
    assert_eq!(f.swarm.transfer_totals().1, 2 * u64::from(BLOCK));
    wait_until("the piece to verify", || f.swarm.stats().pieces_have == 1).await;
}
