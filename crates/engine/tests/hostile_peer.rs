//! Peers that lie: one sends corrupt pieces, one sends garbage frames. Both must be cut off, the
//! corrupt one banned, and the download must still complete byte-exact from an honest seeder.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use engine::{Engine, EngineConfig, TorrentHandle};
use metainfo::{CreateOptions, Torrent, Version};
use peerwire::{FrameDecoder, Handshake, Limits, Message, Reserved};
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn dataset(dir: &Path, len: usize) -> Torrent {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut data);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let opts = CreateOptions {
        version: Version::Hybrid,
        piece_length: Some(64 * 1024),
        ..CreateOptions::default()
    };
    metainfo::create_torrent(&dir.join("data.bin"), &opts, &mut |_, _| {}).unwrap()
}

fn local(ip: [u8; 4]) -> EngineConfig {
    EngineConfig {
        listen: SocketAddr::from((ip, 0)),
        ..EngineConfig::default()
    }
}

#[derive(Clone, Copy)]
enum Lie {
    /// Answers every request with random bytes.
    CorruptPieces,
    /// Sends a frame whose length prefix claims 4 GiB.
    HugeFrame,
}

/// A fake seeder that completes the handshake like a real client and then lies.
async fn hostile_peer(torrent: &Torrent, ip: [u8; 4], lie: Lie) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(SocketAddr::from((ip, 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    let pieces = torrent.piece_count();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve_lies(stream, pieces, lie));
        }
    });
    (addr, connections)
}

async fn serve_lies(mut stream: TcpStream, pieces: u32, lie: Lie) -> Option<()> {
    let mut hs = [0u8; 68];
    stream.read_exact(&mut hs).await.ok()?;
    let theirs = Handshake::decode(&hs).ok()?;
    let ours = Handshake {
        reserved: Reserved([0; 8]),
        info_hash: theirs.info_hash,
        peer_id: *b"-XX0001-liarliarliar",
    };
    stream.write_all(&ours.encode()).await.ok()?;
    let mut out = Vec::new();
    let all = peerwire::bitfield::Bitfield::full(pieces);
    Message::Bitfield(all.to_bytes()).encode(&mut out);
    Message::Unchoke.encode(&mut out);
    if let Lie::HugeFrame = lie {
        out.extend_from_slice(&u32::MAX.to_be_bytes());
        out.extend_from_slice(&[7; 64]);
    }
    stream.write_all(&out).await.ok()?;
    let mut decoder = FrameDecoder::new(Limits::for_torrent(pieces));
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    loop {
        let buf = decoder.buffer_mut();
        buf.reserve(64 * 1024);
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
        while let Ok(Some(message)) = decoder.next_frame() {
            if let Message::Request(r) = message {
                let mut junk = vec![0u8; r.length as usize];
                rng.fill_bytes(&mut junk);
                let mut frame = Vec::new();
                Message::Piece {
                    index: r.index,
                    begin: r.begin,
                    data: junk.into(),
                }
                .encode(&mut frame);
                stream.write_all(&frame).await.ok()?;
            }
        }
    }
}

async fn complete_within(handle: &TorrentHandle, secs: u64) {
    match tokio::time::timeout(Duration::from_secs(secs), handle.wait_complete()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("download failed: {e}"),
        Err(_) => panic!(
            "download did not complete in {secs} s: {:?}",
            handle.stats()
        ),
    }
}

async fn wait_for(
    what: &str,
    handle: &TorrentHandle,
    cond: impl Fn(&engine::TorrentStats) -> bool,
) {
    for _ in 0..300 {
        if cond(&handle.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}: {:?}", handle.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_peer_is_banned_and_download_completes_from_honest_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    let torrent = dataset(&origin, 2 * 1024 * 1024 + 12345);

    let seeder = Engine::start(local([127, 0, 0, 1])).await.unwrap();
    let seeding = seeder
        .add_torrent(torrent.clone(), origin.clone(), |_| {})
        .await
        .unwrap();
    assert!(
        seeding.stats().complete,
        "the honest seeder's data must check out"
    );

    let (liar, liar_connections) = hostile_peer(&torrent, [127, 0, 0, 2], Lie::CorruptPieces).await;
    let leecher = Engine::start(local([127, 0, 0, 1])).await.unwrap();
    let fetching = leecher
        .add_torrent(torrent.clone(), tmp.path().join("out"), |_| {})
        .await
        .unwrap();

    // The liar alone first, so the corrupt pieces are provably its own.
    fetching.add_peers([liar]);
    wait_for("the liar to be banned", &fetching, |s| !s.banned.is_empty()).await;
    let stats = fetching.stats();
    assert_eq!(stats.banned, vec![liar.ip()]);
    assert!(stats.hash_failures >= 1);
    assert_eq!(stats.pieces_have, 0, "nothing from the liar may be kept");

    fetching.add_peers([seeder.listen_addr(), liar]);
    complete_within(&fetching, 15).await;
    let got = std::fs::read(tmp.path().join("out/data.bin")).unwrap();
    assert_eq!(
        got,
        std::fs::read(origin.join("data.bin")).unwrap(),
        "download must be byte-exact"
    );
    assert_eq!(
        liar_connections.load(Ordering::SeqCst),
        1,
        "a banned peer is never dialled again"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_sending_a_huge_frame_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    let torrent = dataset(&origin, 300 * 1024);
    let (liar, liar_connections) = hostile_peer(&torrent, [127, 0, 0, 3], Lie::HugeFrame).await;
    let seeder = Engine::start(local([127, 0, 0, 1])).await.unwrap();
    seeder
        .add_torrent(torrent.clone(), origin.clone(), |_| {})
        .await
        .unwrap();
    let leecher = Engine::start(local([127, 0, 0, 1])).await.unwrap();
    let fetching = leecher
        .add_torrent(torrent.clone(), tmp.path().join("out"), |_| {})
        .await
        .unwrap();
    fetching.add_peers([liar]);
    wait_for("a connection to the liar", &fetching, |_| {
        liar_connections.load(Ordering::SeqCst) >= 1
    })
    .await;
    // The liar's connection is dropped as soon as the 4 GiB length prefix arrives.
    for _ in 0..50 {
        if fetching.peer_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        fetching.peer_count(),
        0,
        "the peer that sent a 4 GiB frame must be disconnected"
    );
    fetching.add_peers([seeder.listen_addr()]);
    complete_within(&fetching, 15).await;
    assert_eq!(
        std::fs::read(tmp.path().join("out/data.bin")).unwrap(),
        std::fs::read(origin.join("data.bin")).unwrap()
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}
