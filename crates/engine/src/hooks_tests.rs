//! The hooks seam driven message by message, with scripted peers and no sockets (as in
//! `swarm_tests`): several extensions routed by name, and piece reads run off the swarm's lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metainfo::{CreateOptions, Torrent, Version};
use peerwire::Message;
use peerwire::bitfield::Bitfield;
use peerwire::extension::ExtensionHandshake;

use crate::EngineConfig;
use crate::hashpool::HashPool;
use crate::hooks::{
    MAX_READS_IN_FLIGHT, MAX_READS_QUEUED, Outgoing, PeerHooks, PieceReadError, SwarmHooks,
};
use crate::picker::PeerKey;
use crate::storage::Storage;
use crate::swarm::{EngineParts, PeerLink, Swarm};

const ALPHA: &str = "x_alpha";
const BETA: &str = "x_beta";

/// What the hooks were told, in order.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Handshake(Vec<&'static str>),
    Message(&'static str, Vec<u8>),
    JobRan(u32),
}

type Log = Arc<Mutex<Vec<Event>>>;

struct TestHooks {
    log: Log,
}

impl SwarmHooks for TestHooks {
    fn extensions(&self) -> &'static [&'static str] {
        &[ALPHA, BETA]
    }

    fn connect(&self, _addr: std::net::SocketAddr) -> Box<dyn PeerHooks> {
        Box::new(TestPeer {
            log: Arc::clone(&self.log),
        })
    }
}

struct TestPeer {
    log: Log,
}

/// The answer a read job sends, on `BETA`: `ok` and the bytes, `not had`, or `io: ` and the error.
fn answer(read: Result<Vec<u8>, PieceReadError>) -> Vec<u8> {
    match read {
        Ok(bytes) => [&b"ok"[..], &bytes].concat(),
        Err(PieceReadError::NotHad { .. }) => b"not had".to_vec(),
        Err(e @ PieceReadError::Io { .. }) => format!("io: {e}").into_bytes(),
    }
}

impl PeerHooks for TestPeer {
    fn handshake(&mut self, speaks: &[&'static str], out: &mut Outgoing) {
        self.log
            .lock()
            .unwrap()
            .push(Event::Handshake(speaks.to_vec()));
        out.send(ALPHA, b"hello alpha".to_vec());
        out.send(BETA, b"hello beta".to_vec());
    }

    /// `read <n>` asks for piece n; anything else is echoed on the other extension.
    fn message(
        &mut self,
        extension: &'static str,
        payload: &[u8],
        out: &mut Outgoing,
    ) -> Result<(), String> {
        self.log
            .lock()
            .unwrap()
            .push(Event::Message(extension, payload.to_vec()));
        if let Some(n) = payload.strip_prefix(b"read ") {
            let piece: u32 = std::str::from_utf8(n).unwrap().parse().unwrap();
            let log = Arc::clone(&self.log);
            out.read_piece(
                piece,
                Box::new(move |read| {
                    log.lock().unwrap().push(Event::JobRan(piece));
                    vec![(BETA, answer(read))]
                }),
            );
            return Ok(());
        }
        let other = if extension == ALPHA { BETA } else { ALPHA };
        out.send(other, [b"echo ", payload].concat());
        Ok(())
    }

    fn downloaded(&mut self, _bytes: u64, _out: &mut Outgoing) {}

    fn upload_allowance(&self) -> Option<u64> {
        None
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    /// The piece space: files laid end to end, pad files as zeros.
    space: Vec<u8>,
    torrent: Arc<Torrent>,
    swarm: Arc<Swarm>,
    log: Log,
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Two files with 32 KiB pieces, `a` (40,000 bytes) and `b` (70,000 bytes). In a hybrid each file
/// is padded to a piece boundary, so piece 1 ends in padding; in a v1 torrent piece 1 spans both
/// files and the last piece is short. With `seeding`, the data is on disk and every piece is had.
fn fixture(version: Version, seeding: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("content").join("two");
    std::fs::create_dir_all(&src).unwrap();
    let (a, b) = (bytes(40_000, 1), bytes(70_000, 2));
    std::fs::write(src.join("a.bin"), &a).unwrap();
    std::fs::write(src.join("b.bin"), &b).unwrap();
    let opts = CreateOptions {
        version,
        piece_length: Some(32 * 1024),
        ..CreateOptions::default()
    };
    let torrent = metainfo::create_torrent(&src, &opts, &mut |_, _| {}).unwrap();
    let space: Vec<u8> = torrent
        .info
        .files
        .iter()
        .flat_map(|f| match (f.pad, f.path.last().map(String::as_str)) {
            (true, _) => vec![0; f.length as usize],
            (false, Some("a.bin")) => a.clone(),
            (false, _) => b.clone(),
        })
        .collect();
    assert_eq!(space.len() as u64, torrent.info.total_length);
    let root = if seeding {
        dir.path().join("content")
    } else {
        dir.path().join("empty")
    };
    let storage = Arc::new(Storage::new(&root, &torrent.info, !seeding));
    let n = torrent.piece_count();
    let have = if seeding {
        Bitfield::full(n)
    } else {
        Bitfield::new(n)
    };
    let log = Log::default();
    let torrent = Arc::new(torrent);
    let swarm = Swarm::new(
        Arc::clone(&torrent),
        storage,
        have,
        EngineParts {
            config: EngineConfig::default(),
            peer_id: *b"-SB0100-testtesttest",
            pool: HashPool::new(1),
            listen_port: 6881,
        },
        Some(Arc::new(TestHooks {
            log: Arc::clone(&log),
        })),
    );
    Fixture {
        dir,
        space,
        torrent,
        swarm,
        log,
    }
}

fn data_path(f: &Fixture, file: &str) -> std::path::PathBuf {
    f.dir.path().join("content").join("two").join(file)
}

/// A peer whose extension handshake names `m`; returns its key, link, and what we sent it first.
fn connect(f: &Fixture, m: &[(&str, u8)]) -> (PeerKey, Arc<PeerLink>, Vec<Message>) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 2], 7000));
    let (key, link) = f.swarm.register(addr, [2; 20], false, true, false).unwrap();
    let hs = ExtensionHandshake {
        m: m.iter().map(|(n, id)| (n.to_string(), *id)).collect(),
        ..ExtensionHandshake::default()
    };
    f.swarm
        .handle_messages(
            key,
            vec![Message::Extended {
                id: 0,
                payload: hs.encode().into(),
            }],
        )
        .unwrap();
    let opening = drain(&link);
    (key, link, opening)
}

/// Takes the outbox's messages as the writer does (counted, waiters woken).
fn drain(link: &PeerLink) -> Vec<Message> {
    let mut outbox = link.outbox();
    let messages = std::mem::take(&mut outbox.messages);
    outbox.taken += messages.len() as u64;
    drop(outbox);
    link.drained.notify_waiters();
    messages
}

/// The extended messages among `messages`, as (remote id, payload).
fn extended(messages: &[Message]) -> Vec<(u8, Vec<u8>)> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Extended { id, payload } if *id != 0 => Some((*id, payload.to_vec())),
            _ => None,
        })
        .collect()
}

/// Our local id for each extension, from the handshake we sent.
fn our_ids(opening: &[Message]) -> BTreeMap<String, u8> {
    let hs = opening
        .iter()
        .find_map(|m| match m {
            Message::Extended { id: 0, payload } => ExtensionHandshake::decode(payload).ok(),
            _ => None,
        })
        .expect("our extension handshake");
    hs.m
}

fn ask(f: &Fixture, key: PeerKey, local_id: u8, payload: &[u8]) {
    f.swarm
        .handle_messages(
            key,
            vec![Message::Extended {
                id: local_id,
                payload: payload.to_vec().into(),
            }],
        )
        .unwrap();
}

/// Waits for `count` extended messages to reach the outbox, without taking them.
async fn wait_for_messages(link: &PeerLink, count: usize) {
    for _ in 0..500 {
        if extended(&link.outbox().messages).len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {count} messages");
}

/// The answer to `read <piece>`, sent to a peer that announced `BETA` as 9.
async fn read(f: &Fixture, key: PeerKey, link: &PeerLink, alpha: u8, piece: u32) -> Vec<u8> {
    ask(f, key, alpha, format!("read {piece}").as_bytes());
    wait_for_messages(link, 1).await;
    let got = extended(&drain(link));
    assert_eq!(got.len(), 1, "one answer per read");
    assert_eq!(got[0].0, 9, "answers go out under the peer's id for BETA");
    got[0].1.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_extensions_are_announced_and_routed_by_name() {
    let f = fixture(Version::Hybrid, true);
    // The peer names both of ours (under its own ids) and one we do not speak.
    let (key, link, opening) = connect(&f, &[(BETA, 9), ("ut_other", 4), (ALPHA, 3)]);
    let ours = our_ids(&opening);
    assert_eq!(
        ours,
        BTreeMap::from([(ALPHA.to_owned(), 1), (BETA.to_owned(), 2)])
    );
    assert_eq!(
        f.log.lock().unwrap()[..],
        [Event::Handshake(vec![ALPHA, BETA])]
    );
    // The hooks' hellos went out under the ids the peer chose.
    assert_eq!(
        extended(&opening),
        [(3, b"hello alpha".to_vec()), (9, b"hello beta".to_vec())]
    );

    // Each incoming message reaches the hooks under the name of the id it came with.
    ask(&f, key, ours[BETA], b"one");
    ask(&f, key, ours[ALPHA], b"two");
    // An id we never announced is ignored.
    ask(&f, key, 7, b"three");
    let log = f.log.lock().unwrap();
    assert_eq!(
        log[1..],
        [
            Event::Message(BETA, b"one".to_vec()),
            Event::Message(ALPHA, b"two".to_vec())
        ]
    );
    drop(log);
    assert_eq!(
        extended(&drain(&link)),
        [(3, b"echo one".to_vec()), (9, b"echo two".to_vec())]
    );

    // A later handshake disables ALPHA (BEP 10: `m` is additive, 0 disables): nothing more is
    // sent on it, and the hooks are not told a second time.
    let hs = ExtensionHandshake {
        m: BTreeMap::from([(ALPHA.to_owned(), 0)]),
        ..ExtensionHandshake::default()
    };
    f.swarm
        .handle_messages(
            key,
            vec![Message::Extended {
                id: 0,
                payload: hs.encode().into(),
            }],
        )
        .unwrap();
    ask(&f, key, ours[BETA], b"four");
    assert_eq!(extended(&drain(&link)), []);
    ask(&f, key, ours[ALPHA], b"five");
    assert_eq!(extended(&drain(&link)), [(9, b"echo five".to_vec())]);
    assert_eq!(
        f.log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Handshake(_)))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_names_some_or_none_of_ours_is_told_so() {
    let f = fixture(Version::Hybrid, true);
    let (_, _, opening) = connect(&f, &[(BETA, 9)]);
    assert_eq!(extended(&opening), [(9, b"hello beta".to_vec())]);
    // A legacy peer (no BEP 10) is told at once that it speaks nothing.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 3], 7000));
    f.swarm
        .register(addr, [3; 20], false, false, false)
        .unwrap();
    let log = f.log.lock().unwrap();
    assert_eq!(
        log[..],
        [Event::Handshake(vec![BETA]), Event::Handshake(vec![])]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_piece_gives_the_piece_as_on_the_wire() {
    for version in [Version::Hybrid, Version::V1] {
        let f = fixture(version, true);
        let (key, link, opening) = connect(&f, &[(ALPHA, 3), (BETA, 9)]);
        let alpha = our_ids(&opening)[ALPHA];
        let pl = f.torrent.info.piece_length as usize;
        for piece in 0..f.torrent.piece_count() {
            let start = piece as usize * pl;
            let expected = &f.space[start..(start + pl).min(f.space.len())];
            assert_eq!(expected.len(), f.torrent.piece_size(piece) as usize);
            let got = read(&f, key, &link, alpha, piece).await;
            assert_eq!(
                got,
                [&b"ok"[..], expected].concat(),
                "{version:?} piece {piece}"
            );
        }
        // What was covered: padding in the hybrid, pieces across files and a short last piece
        // in the v1 torrent.
        match version {
            Version::V1 => {
                assert_eq!(f.torrent.piece_files(1).len(), 2);
                assert_eq!(f.torrent.piece_size(3), 110_000 - 3 * 32_768);
            }
            _ => assert_eq!(f.torrent.piece_files(1), [(0, 32_768, 40_000 - 32_768)]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_piece_we_do_not_have_is_an_error() {
    let f = fixture(Version::Hybrid, false);
    let (key, link, opening) = connect(&f, &[(ALPHA, 3), (BETA, 9)]);
    let alpha = our_ids(&opening)[ALPHA];
    assert_eq!(read(&f, key, &link, alpha, 0).await, b"not had");
    assert_eq!(
        read(&f, key, &link, alpha, 4_000_000).await,
        b"not had",
        "out of range"
    );
    assert!(
        !f.dir.path().join("empty").exists(),
        "a failed read creates no file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_or_truncated_under_the_engine_is_an_io_error() {
    let f = fixture(Version::Hybrid, true);
    let (key, link, opening) = connect(&f, &[(ALPHA, 3), (BETA, 9)]);
    let alpha = our_ids(&opening)[ALPHA];
    // Read once first, so a cached handle would still see the data after the deletion.
    assert!(read(&f, key, &link, alpha, 0).await.starts_with(b"ok"));
    std::fs::remove_file(data_path(&f, "a.bin")).unwrap();
    let got = String::from_utf8(read(&f, key, &link, alpha, 0).await).unwrap();
    assert!(got.starts_with("io: cannot read piece 0: "), "{got}");
    assert!(got.contains("a.bin"), "{got}");
    assert!(
        !data_path(&f, "a.bin").exists(),
        "the file is not recreated"
    );
    // b.bin cut short: it is not the torrent's file any more, so none of it is read (and no
    // zeros stand in for what is gone).
    let b = std::fs::OpenOptions::new()
        .write(true)
        .open(data_path(&f, "b.bin"))
        .unwrap();
    b.set_len(60_000).unwrap();
    for piece in [2, 4] {
        let got = String::from_utf8(read(&f, key, &link, alpha, piece).await).unwrap();
        assert!(
            got.contains("file has 60000 bytes, the torrent says 70000"),
            "{got}"
        );
    }
    assert_eq!(
        std::fs::metadata(data_path(&f, "b.bin")).unwrap().len(),
        60_000
    );
}

/// At most `MAX_READS_IN_FLIGHT` reads per peer until the writer takes their answers; the rest
/// wait in order; past `MAX_READS_QUEUED` waiting the peer is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piece_reads_per_peer_are_bounded() {
    let f = fixture(Version::Hybrid, true);
    let (key, link, opening) = connect(&f, &[(ALPHA, 3), (BETA, 9)]);
    let alpha = our_ids(&opening)[ALPHA];
    let jobs_ran = || {
        f.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::JobRan(p) => Some(*p),
                _ => None,
            })
            .collect::<Vec<u32>>()
    };
    for piece in [0, 1, 2, 3] {
        ask(&f, key, alpha, format!("read {piece}").as_bytes());
    }
    wait_for_messages(&link, MAX_READS_IN_FLIGHT).await;
    // Nobody takes the answers: the other reads wait.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(jobs_ran().len(), MAX_READS_IN_FLIGHT);
    assert_eq!(f.swarm.reads_of(key), (MAX_READS_IN_FLIGHT, 2));
    let mut answers = extended(&drain(&link));
    wait_for_messages(&link, 2).await;
    answers.extend(extended(&drain(&link)));
    assert_eq!(answers.len(), 4);
    let mut ran = jobs_ran();
    ran.sort_unstable();
    assert_eq!(ran, [0, 1, 2, 3]);
    for _ in 0..500 {
        if f.swarm.reads_of(key) == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(f.swarm.reads_of(key), (0, 0), "every slot is freed");
    assert!(!link.closed.load(std::sync::atomic::Ordering::SeqCst));

    // Two under way (answers not taken), 64 waiting, and one more is too many.
    for _ in 0..MAX_READS_IN_FLIGHT + MAX_READS_QUEUED {
        ask(&f, key, alpha, b"read 0");
    }
    assert!(!link.closed.load(std::sync::atomic::Ordering::SeqCst));
    ask(&f, key, alpha, b"read 0");
    assert!(link.closed.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        link.outbox().close_reason.as_deref(),
        Some("too many piece reads queued")
    );
}

/// A read whose peer left before the read began is dropped: no read, no job, nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_for_a_departed_peer_is_dropped() {
    let f = fixture(Version::Hybrid, true);
    let (key, link, opening) = connect(&f, &[(ALPHA, 3), (BETA, 9)]);
    let alpha = our_ids(&opening)[ALPHA];
    // Hold the single hashing thread so the peer is gone before the read runs.
    let pool = Arc::clone(&f.swarm.pool);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let busy = tokio::spawn(async move { pool.run(move || release_rx.recv()).await });
    ask(&f, key, alpha, b"read 0");
    f.swarm.peer_disconnected(key, "left");
    release_tx.send(()).unwrap();
    busy.await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(extended(&drain(&link)).is_empty());
    assert!(
        !f.log
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::JobRan(_))),
        "no work for a peer that is gone"
    );
}
