//! A node with a wallet answers `sb_audit` challenges over loopback: a test auditor that speaks
//! BEP 3, BEP 10 and `sb_audit` challenges it for blocks of a v2 and a v1 torrent it seeds, checks
//! every answer as the hub's auditor does (`audit::Target::check`) and recovers every signature to
//! the node's address. Missing and corrupted data is answered `missing`, never with wrong bytes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use audit::{Answer, Challenge, Target, torrent_key};
use metainfo::{CreateOptions, Torrent, Version};
use node::{Node, NodeConfig, Payments, Terms};
use peerwire::sb_audit::{self, AuditMessage};
use peerwire::{
    ExtensionHandshake, ExtensionRegistry, FrameDecoder, HANDSHAKE_LEN, Handshake, Limits, Message,
    Reserved,
};
use token::audit_answer::answer_hash_missing;
use token::{Address, Amount, AuditAnswer, Domain, SecretKey, Signature};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BLOCK: u32 = 16 * 1024;
const EPOCH: u64 = 42;
const WAIT: Duration = Duration::from_secs(10);
/// Challenges the test auditor sends on one connection before opening another: the node allows 64.
const PER_CONNECTION: u32 = 60;

fn terms() -> Terms {
    Terms {
        domain: Domain {
            name: "test collective".into(),
            version: "1".into(),
            chain_id: 31337,
            verifying_contract: Address([9; 20]),
        },
        price_per_byte: Amount(1_000),
        debt_threshold: 1 << 20,
    }
}

fn bytes(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// Writes `files` under `content/<name>/` and makes a torrent of them.
fn make(
    content: &Path,
    name: &str,
    files: &[(&str, usize)],
    version: Version,
    piece: u64,
) -> Torrent {
    let dir = content.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (file, len)) in files.iter().enumerate() {
        std::fs::write(dir.join(file), bytes(*len, i as u32)).unwrap();
    }
    let opts = CreateOptions {
        version,
        piece_length: Some(piece),
        ..CreateOptions::default()
    };
    metainfo::create_torrent(&dir, &opts, &mut |_, _| {}).unwrap()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    content: PathBuf,
    node: Node,
    account: Address,
    /// v2: a file of several pieces (proofs reach the piece layer), one of a few blocks, one of
    /// five bytes (no proof at all). v1: two files, pieces across both, a short last piece.
    v2: Torrent,
    v1: Torrent,
}

async fn fixture(wallet: bool) -> Fixture {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let content = dir.join("content");
    let v2 = make(
        &content,
        "v2set",
        &[("big.bin", 1_000_000), ("mid.bin", 40_000), ("tiny.bin", 5)],
        Version::V2,
        64 * 1024,
    );
    let v1 = make(
        &content,
        "v1set",
        &[("a.bin", 100_000), ("b.bin", 70_000)],
        Version::V1,
        32 * 1024,
    );
    let mut config = NodeConfig::defaults(&dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    node::register(&config, &v2).unwrap();
    node::register(&config, &v1).unwrap();
    let mut node = Node::start(config).await.unwrap();
    let key = SecretKey::generate();
    if wallet {
        let payments = Arc::new(Payments::open(&dir, key.clone(), terms(), true).unwrap());
        // Never contacted: the test does not run the settlement loop.
        let hub = hubapi::HubClient::new("http://127.0.0.1:9").unwrap();
        node.enable_payments(payments, hub);
    }
    assert_eq!(node.scan().await.unwrap(), 2);
    assert!(node.torrents().all(|t| t.stats().complete));
    Fixture {
        _tmp: tmp,
        content,
        node,
        account: key.address(),
        v2,
        v1,
    }
}

/// What came back for one challenge.
#[derive(Debug)]
enum Reply {
    Block {
        data: Vec<u8>,
        proof: Vec<[u8; 32]>,
        sig: [u8; 65],
    },
    Piece {
        data: Vec<u8>,
        sig: [u8; 65],
    },
    Missing {
        sig: [u8; 65],
    },
}

/// A test auditor on one connection: BEP 3 handshake, BEP 10 handshake naming `sb_audit` (id 1),
/// then challenges.
struct Auditor {
    stream: TcpStream,
    decoder: FrameDecoder,
    /// The id the node receives `sb_audit` under; `None` if it did not announce it.
    their_id: Option<u8>,
    /// v1 answers being put together, by challenge id.
    parts: HashMap<u32, Vec<u8>>,
}

impl Auditor {
    async fn connect(addr: SocketAddr, torrent: &Torrent) -> Auditor {
        // A fresh peer id each time: the node refuses a second connection from a peer id it is
        // still connected to, and the last connection may not have been torn down yet.
        static CONNECTIONS: AtomicU32 = AtomicU32::new(0);
        let mut peer_id = *b"-AU0001-auditor-0000";
        let n = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        peer_id[16..].copy_from_slice(&n.to_be_bytes());
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let ours = Handshake {
            reserved: Reserved::seedbank(),
            info_hash: torrent.hashes.wire_id(),
            peer_id,
        };
        stream.write_all(&ours.encode()).await.unwrap();
        let mut theirs = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut theirs).await.unwrap();
        let theirs = Handshake::decode(&theirs).unwrap();
        assert!(torrent.hashes.matches(&theirs.info_hash));
        assert!(theirs.reserved.supports_extended());
        let mut registry = ExtensionRegistry::new();
        assert_eq!(registry.register(sb_audit::NAME), 1);
        let mut auditor = Auditor {
            stream,
            decoder: FrameDecoder::new(Limits::for_torrent(torrent.piece_count())),
            their_id: None,
            parts: HashMap::new(),
        };
        auditor
            .send(&registry.handshake("test auditor", None, 1).to_message())
            .await;
        // The node's extension handshake follows its bitfield.
        loop {
            if let Message::Extended { id: 0, payload } = auditor.next().await.unwrap() {
                let hs = ExtensionHandshake::decode(&payload).unwrap();
                auditor.their_id = hs.m.get(sb_audit::NAME).copied().filter(|id| *id != 0);
                return auditor;
            }
        }
    }

    async fn send(&mut self, message: &Message) {
        let mut out = Vec::new();
        message.encode(&mut out);
        self.stream.write_all(&out).await.unwrap();
    }

    /// The next message, or `None` once the node closed the connection.
    async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(message) = self.decoder.next_frame().unwrap() {
                return Some(message);
            }
            let read = tokio::time::timeout(WAIT, self.stream.read_buf(self.decoder.buffer_mut()))
                .await
                .expect("the node answers in time");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    async fn challenge(&mut self, id: u32, piece: u32, offset: u32) {
        let message = AuditMessage::Challenge {
            id,
            epoch: EPOCH,
            piece,
            offset,
        };
        let their_id = self.their_id.expect("the node speaks sb_audit");
        self.send(&Message::Extended {
            id: their_id,
            payload: message.encode().into(),
        })
        .await;
    }

    /// The next complete answer, with its challenge id.
    async fn answer(&mut self) -> (u32, Reply) {
        loop {
            let message = self.next().await.expect("the node keeps the connection");
            let Message::Extended { id: 1, payload } = message else {
                continue;
            };
            match AuditMessage::decode(&payload).unwrap() {
                AuditMessage::Block {
                    id,
                    data,
                    proof,
                    sig,
                } => {
                    let data = data.to_vec();
                    return (id, Reply::Block { data, proof, sig });
                }
                AuditMessage::Missing { id, sig } => return (id, Reply::Missing { sig }),
                AuditMessage::PiecePart {
                    id,
                    offset,
                    data,
                    sig,
                } => {
                    let parts = self.parts.entry(id).or_default();
                    assert_eq!(offset as usize, parts.len(), "parts are consecutive");
                    parts.extend_from_slice(&data);
                    if let Some(sig) = sig {
                        let data = self.parts.remove(&id).unwrap_or_default();
                        return (id, Reply::Piece { data, sig });
                    }
                }
                other => panic!("not an answer: {other:?}"),
            }
        }
    }

    async fn ask(&mut self, id: u32, piece: u32, offset: u32) -> Reply {
        self.challenge(id, piece, offset).await;
        let (answered, reply) = self.answer().await;
        assert_eq!(answered, id);
        reply
    }
}

/// How an answer judged.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Missing,
}

/// Judges `reply` as the hub's auditor does: the signature must recover to `node`, and data must
/// check against the torrent. Panics on anything else: a wrong or unsigned answer is a failure.
fn judge(torrent: &Torrent, node: Address, piece: u32, offset: u32, reply: Reply) -> Verdict {
    let challenge = Challenge {
        torrent: torrent_key(torrent),
        piece,
        block: offset / BLOCK,
    };
    let domain = terms().domain;
    let signer = |message: AuditAnswer, sig: [u8; 65]| {
        Signature(sig).recover(&domain.digest(&message)).unwrap()
    };
    let (answer, sig) = match reply {
        Reply::Missing { sig } => {
            let message = AuditAnswer {
                epoch: EPOCH,
                torrent: challenge.torrent,
                piece,
                offset,
                answer: answer_hash_missing(),
            };
            assert_eq!(signer(message, sig), node, "missing signed by the node");
            return Verdict::Missing;
        }
        Reply::Block { data, proof, sig } => (Answer::Block { data, proof }, sig),
        Reply::Piece { data, sig } => (Answer::Piece { data }, sig),
    };
    let target = Target::for_challenge(torrent, &challenge).unwrap();
    if let Err(e) = target.check(&answer) {
        panic!("piece {piece} offset {offset}: a wrong answer: {e}");
    }
    let message = audit::answer_message(EPOCH, &challenge, &answer);
    assert_eq!(message.offset, offset);
    assert_eq!(signer(message, sig), node, "answer signed by the node");
    Verdict::Pass
}

/// Every block of every piece's data: (piece, offset).
fn all_blocks(torrent: &Torrent) -> Vec<(u32, u32)> {
    (0..torrent.piece_count())
        .flat_map(|piece| {
            let data: u32 = torrent.piece_files(piece).iter().map(|f| f.2).sum();
            (0..data.div_ceil(BLOCK)).map(move |b| (piece, b * BLOCK))
        })
        .collect()
}

/// Asks for each of `blocks` in turn, a fresh connection every `PER_CONNECTION`, and judges each.
/// Returns the verdicts and the time spent waiting for answers (challenge sent to answer
/// complete, summed).
async fn audit_all(
    f: &Fixture,
    torrent: &Torrent,
    blocks: &[(u32, u32)],
) -> (Vec<Verdict>, Duration) {
    let addr = f.node.engine().listen_addr();
    let mut verdicts = Vec::with_capacity(blocks.len());
    let mut waited = Duration::ZERO;
    let mut auditor = None;
    for (i, &(piece, offset)) in blocks.iter().enumerate() {
        if (i as u32).is_multiple_of(PER_CONNECTION) {
            auditor = Some(Auditor::connect(addr, torrent).await);
        }
        let Some(auditor) = auditor.as_mut() else {
            unreachable!()
        };
        let asked = Instant::now();
        let reply = auditor.ask(i as u32, piece, offset).await;
        waited += asked.elapsed();
        verdicts.push(judge(torrent, f.account, piece, offset, reply));
    }
    (verdicts, waited)
}

fn path(f: &Fixture, torrent: &Torrent, file: &str) -> PathBuf {
    f.content.join(&torrent.info.name).join(file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_node_passes_every_audit_of_every_block() {
    let f = fixture(true).await;
    for torrent in [&f.v2, &f.v1] {
        let blocks = all_blocks(torrent);
        let (verdicts, _) = audit_all(&f, torrent, &blocks).await;
        assert!(
            verdicts.iter().all(|v| *v == Verdict::Pass),
            "{:?}: {verdicts:?}",
            torrent.info.version
        );
    }
    // What the v2 torrent covered: proofs through the piece layer, and a one-block file.
    let big = &f.v2.info.files[0];
    assert!(big.length > f.v2.info.piece_length);
    assert!(f.v2.info.files.iter().any(|f| f.length == 5));

    // Challenges for blocks that do not exist are answered missing, signed.
    let mut auditor = Auditor::connect(f.node.engine().listen_addr(), &f.v2).await;
    let tiny_piece = f.v2.piece_count() - 1;
    for (piece, offset) in [(f.v2.piece_count(), 0), (tiny_piece, BLOCK)] {
        let reply = auditor.ask(7, piece, offset).await;
        let Reply::Missing { sig } = reply else {
            panic!("expected missing, got {reply:?}");
        };
        let message = AuditAnswer {
            epoch: EPOCH,
            torrent: torrent_key(&f.v2),
            piece,
            offset,
            answer: answer_hash_missing(),
        };
        let signer = Signature(sig)
            .recover(&terms().domain.digest(&message))
            .unwrap();
        assert_eq!(signer, f.account);
    }
}

/// Index of the file called `name` in `torrent`'s file list.
fn file_index(torrent: &Torrent, name: &str) -> usize {
    torrent
        .info
        .files
        .iter()
        .position(|f| f.path.last().is_some_and(|p| p == name))
        .unwrap()
}

/// Challenges sent back to back are all answered: two reads at a time, the rest queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_challenges_are_all_answered() {
    let f = fixture(true).await;
    for torrent in [&f.v2, &f.v1] {
        let blocks: Vec<(u32, u32)> = all_blocks(torrent).into_iter().take(20).collect();
        let mut auditor = Auditor::connect(f.node.engine().listen_addr(), torrent).await;
        for (i, &(piece, offset)) in blocks.iter().enumerate() {
            auditor.challenge(i as u32, piece, offset).await;
        }
        let mut seen = vec![false; blocks.len()];
        for _ in 0..blocks.len() {
            let (id, reply) = auditor.answer().await;
            let (piece, offset) = blocks[id as usize];
            assert_eq!(
                judge(torrent, f.account, piece, offset, reply),
                Verdict::Pass
            );
            assert!(!seen[id as usize], "one answer per challenge");
            seen[id as usize] = true;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_and_corrupted_data_is_answered_missing_not_wrong() {
    let f = fixture(true).await;

    // v2: mid.bin deleted; one byte of big.bin flipped in its third piece.
    std::fs::remove_file(path(&f, &f.v2, "mid.bin")).unwrap();
    let pl = f.v2.info.piece_length;
    let flipped = 2 * pl + 20_000;
    let big = path(&f, &f.v2, "big.bin");
    let mut data = std::fs::read(&big).unwrap();
    data[flipped as usize] ^= 0x80;
    std::fs::write(&big, &data).unwrap();
    let (big_index, mid_index) = (file_index(&f.v2, "big.bin"), file_index(&f.v2, "mid.bin"));
    let blocks = all_blocks(&f.v2);
    let (verdicts, _) = audit_all(&f, &f.v2, &blocks).await;
    for ((piece, offset), verdict) in blocks.iter().zip(&verdicts) {
        let files = f.v2.piece_files(*piece);
        let file = files[0].0;
        let expected = if file == mid_index || (file == big_index && u64::from(*piece) == 2) {
            // The whole piece fails: its other blocks' hashes are the proof's siblings.
            Verdict::Missing
        } else {
            Verdict::Pass
        };
        assert_eq!(*verdict, expected, "piece {piece} offset {offset}");
    }

    // v1: b.bin cut short, one byte of a.bin flipped in piece 1.
    let a = path(&f, &f.v1, "a.bin");
    let mut data = std::fs::read(&a).unwrap();
    data[40_000] ^= 1;
    std::fs::write(&a, &data).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path(&f, &f.v1, "b.bin"))
        .unwrap()
        .set_len(10)
        .unwrap();
    let pieces: Vec<(u32, u32)> = (0..f.v1.piece_count()).map(|p| (p, 0)).collect();
    let (verdicts, _) = audit_all(&f, &f.v1, &pieces).await;
    let expected: Vec<Verdict> = (0..f.v1.piece_count())
        .map(|p| {
            // Piece 0 is all a.bin and intact; piece 1 holds the flipped byte; from piece 3 on
            // (a.bin ends at 100,000, in piece 3) the pieces need b.bin.
            if p == 0 || p == 2 {
                Verdict::Pass
            } else {
                Verdict::Missing
            }
        })
        .collect();
    assert_eq!(verdicts, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_a_wallet_does_not_speak_sb_audit() {
    let f = fixture(false).await;
    let auditor = Auditor::connect(f.node.engine().listen_addr(), &f.v2).await;
    assert_eq!(auditor.their_id, None);
}

/// The node-side cost of an audit: 1,000 consecutive challenges, each answered before the next
/// is sent, over blocks spread through the torrent. The time that matters is challenge to
/// complete answer (read, hash, prove, self-check, sign, send); the total adds the test auditor's
/// own checks and a fresh connection every 60 challenges. Both ends share this process's two
/// worker threads, so this is an upper bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_consecutive_audits_pass() {
    let f = fixture(true).await;
    for torrent in [&f.v2, &f.v1] {
        let every = all_blocks(torrent);
        // A fixed stride through the blocks: spread, repeatable, no RNG needed.
        let blocks: Vec<(u32, u32)> = (0..1_000usize)
            .map(|i| every[(i * 7_919) % every.len()])
            .collect();
        let started = Instant::now();
        let (verdicts, waited) = audit_all(&f, torrent, &blocks).await;
        let took = started.elapsed();
        assert!(verdicts.iter().all(|v| *v == Verdict::Pass));
        println!(
            "{:?} torrent, {} KiB pieces: 1,000 audits passed; {:.0} µs per answer (challenge to \
             answer), {:.2?} in all with the auditor's checks and reconnections",
            torrent.info.version,
            torrent.info.piece_length / 1024,
            waited.as_secs_f64() * 1e6 / 1_000.0,
            took,
        );
    }
}
