//! Speaks the wire format to a real libtorrent 2.0 seed on loopback: handshake and reserved
//! bits, BEP 10 handshake both ways, BEP 6 availability, block transfer, and BEP 52 hash
//! requests (including the uncle-hash count that BEP 52's prose gets wrong).
//!
//! Needs Debian's `/usr/bin/python3` with `python3-libtorrent`. Missing it fails under `CI` and
//! skips (with the install command) elsewhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use peerwire::{
    Bitfield, BlockRef, ExtensionHandshake, ExtensionRegistry, FrameDecoder, HANDSHAKE_LEN,
    Handshake, HashRequest, Limits, Message, PeerExtensions, Reserved,
};

const PYTHON: &str = "/usr/bin/python3";
const INSTALL: &str = "apt-get install -y python3-libtorrent";
const WAIT: Duration = Duration::from_secs(30);

/// Whether the test can run; panics under CI when it cannot.
fn libtorrent_available() -> bool {
    let found = Command::new(PYTHON)
        .args(["-c", "import libtorrent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        return true;
    }
    let message = format!("libtorrent for {PYTHON} is not installed; run: {INSTALL}");
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipping libtorrent interop test: {message}");
    false
}

/// A libtorrent process seeding a 5-piece hybrid torrent.
struct Seed {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    v2: [u8; 32],
    root: [u8; 32],
    piece_layer: Vec<[u8; 32]>,
    /// Every layer of the file's Merkle tree, leaves first, computed by the script with hashlib.
    tree: Vec<Vec<[u8; 32]>>,
    piece_count: u32,
    piece_length: u32,
    content: Vec<u8>,
    version: String,
}

impl Drop for Seed {
    fn drop(&mut self) {
        // Closing stdin asks the script to exit; kill in case it is stuck.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    let bytes = unhex_vec(text);
    bytes
        .try_into()
        .unwrap_or_else(|_| panic!("{text} is not {N} bytes"))
}

fn unhex_vec(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
        .collect()
}

fn start_seed(workdir: &std::path::Path) -> Seed {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/lt_seed.py");
    let mut child = Command::new(PYTHON)
        .arg(script)
        .arg(workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start libtorrent seed");
    let stdin = child.stdin.take();
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read seed announcement");
    assert!(!line.is_empty(), "libtorrent seed exited before seeding");
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("seed did not report {key}: {line}"))
            .to_owned()
    };
    let hashes = |hex: &str| -> Vec<[u8; 32]> {
        unhex_vec(hex)
            .chunks_exact(32)
            .map(|hash| hash.try_into().expect("32 bytes"))
            .collect()
    };
    let tree = field("tree").split(',').map(hashes).collect();
    let content = std::fs::read(field("file")).expect("read seeded content");
    Seed {
        port: field("port").parse().expect("port"),
        v2: unhex(&field("v2")),
        root: unhex(&field("root")),
        piece_layer: hashes(&field("piece_layer")),
        tree,
        piece_count: field("piece_count").parse().expect("piece_count"),
        piece_length: field("piece_length").parse().expect("piece_length"),
        content,
        version: field("version"),
        child,
        stdin,
    }
}

/// Our side of one connection, decoding through the same FrameDecoder the engine uses.
struct Peer {
    stream: TcpStream,
    decoder: FrameDecoder,
}

impl Peer {
    fn send(&mut self, message: &Message) {
        let mut frame = Vec::new();
        message.encode(&mut frame);
        self.stream.write_all(&frame).expect("send");
    }

    /// Reads until `pick` accepts a message, skipping the ones it returns `None` for.
    fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Message) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            while let Some(message) = self
                .decoder
                .next_frame()
                .unwrap_or_else(|err| panic!("libtorrent sent something we refuse: {err}"))
            {
                if let Some(found) = pick(&message) {
                    return found;
                }
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            let read = self.stream.read(&mut chunk).expect("read");
            assert!(
                read > 0,
                "libtorrent closed the connection waiting for {what}"
            );
            self.decoder.buffer_mut().extend_from_slice(&chunk[..read]);
        }
    }
}

#[test]
fn libtorrent_seed_speaks_our_wire_format() {
    if !libtorrent_available() {
        return;
    }
    let workdir = tempfile::tempdir().expect("tempdir");
    let seed = start_seed(workdir.path());
    assert_eq!(seed.piece_count, 5);
    assert_eq!(seed.piece_layer.len(), 5);
    eprintln!("libtorrent {} seeding on port {}", seed.version, seed.port);

    let stream = TcpStream::connect(("127.0.0.1", seed.port)).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut peer = Peer {
        stream,
        decoder: FrameDecoder::new(Limits::for_torrent(seed.piece_count)),
    };

    // Handshake on the truncated v2 info-hash, so BEP 52 hash messages are allowed.
    let info_hash: [u8; 20] = seed.v2[..20].try_into().expect("20 bytes");
    let ours = Handshake {
        reserved: Reserved::seedbank(),
        info_hash,
        peer_id: *b"-SB0001-peerwiretest",
    };
    peer.stream
        .write_all(&ours.encode())
        .expect("send handshake");
    let mut theirs = [0u8; HANDSHAKE_LEN];
    peer.stream.read_exact(&mut theirs).expect("read handshake");
    let theirs = Handshake::decode(&theirs).expect("libtorrent handshake");
    assert_eq!(theirs.info_hash, info_hash);
    let common = ours.reserved.intersect(&theirs.reserved);
    assert!(
        common.supports_extended(),
        "reserved {:02x?}",
        theirs.reserved.0
    );
    assert!(
        common.supports_fast(),
        "reserved {:02x?}",
        theirs.reserved.0
    );

    let mut registry = ExtensionRegistry::new();
    registry.register("sb_receipt");
    registry.register("sb_audit");
    peer.send(
        &registry
            .handshake("seedbank-peerwire-test", None, 250)
            .to_message(),
    );
    peer.send(&Message::HaveNone);
    peer.send(&Message::Interested);

    // BEP 10 handshake from libtorrent: real bytes through our decoder.
    let handshake = peer.wait_for("extension handshake", |message| match message {
        Message::Extended { id: 0, payload } => Some(payload.clone()),
        _ => None,
    });
    let handshake = ExtensionHandshake::decode(&handshake).expect("libtorrent's handshake");
    eprintln!("libtorrent extension handshake: {handshake:?}");
    assert_eq!(handshake.yourip.as_deref(), Some(&[127, 0, 0, 1][..]));
    assert_eq!(
        handshake.p, None,
        "libtorrent sends p only on connections it made"
    );
    assert!(handshake.reqq.is_some_and(|reqq| reqq > 0));
    assert!(
        handshake
            .v
            .as_deref()
            .is_some_and(|v| v.contains("libtorrent"))
    );
    let extensions = PeerExtensions::from_handshake(&handshake);
    assert!(extensions.supports("lt_donthave") && extensions.supports("upload_only"));
    assert!(!extensions.supports("sb_receipt"));

    // A seed announces everything: have-all (BEP 6) or a full bitfield.
    let complete = peer.wait_for("availability", |message| match message {
        Message::HaveAll => Some(true),
        Message::Bitfield(bits) => Some(
            Bitfield::from_bytes(bits, seed.piece_count)
                .expect("valid bitfield")
                .is_complete(),
        ),
        _ => None,
    });
    assert!(complete);
    peer.wait_for("unchoke", |message| {
        (*message == Message::Unchoke).then_some(())
    });

    // The first block of the torrent and the short last block of the short last piece.
    let last_piece = seed.piece_count - 1;
    let last_piece_len = seed.content.len() as u32 - last_piece * seed.piece_length;
    let blocks = [
        BlockRef {
            index: 0,
            begin: 0,
            length: 16384,
        },
        BlockRef {
            index: last_piece,
            begin: 16384,
            length: last_piece_len - 16384,
        },
    ];
    for block in blocks {
        peer.send(&Message::Request(block));
        let data = peer.wait_for("piece", |message| match message {
            Message::Piece { index, begin, data }
                if *index == block.index && *begin == block.begin =>
            {
                Some(data.clone())
            }
            _ => None,
        });
        let start = (block.index * seed.piece_length + block.begin) as usize;
        assert_eq!(
            data,
            Bytes::copy_from_slice(&seed.content[start..start + block.length as usize])
        );
    }

    // BEP 52. The file has 10 leaf blocks, padded to 16: layers 0 (leaves) to 4 (root). 32 KiB
    // pieces put the piece layer at layer 1, padded to 8 hashes.
    assert_eq!(seed.tree.len(), 5);
    assert_eq!(seed.tree[4], vec![seed.root]);
    assert_eq!(&seed.tree[1][..5], &seed.piece_layer[..]);
    let request = |base_layer, index, length, proof_layers| HashRequest {
        pieces_root: seed.root,
        base_layer,
        index,
        length,
        proof_layers,
    };
    // What a correct reply holds: the range, then one sibling per layer from the range's own
    // subtree root (base + log2 length) up to base + proof_layers.
    let expected = |r: HashRequest| -> Vec<[u8; 32]> {
        let base = r.base_layer as usize;
        let start = r.index as usize;
        let mut out = seed.tree[base][start..start + r.length as usize].to_vec();
        let first = base + r.length.ilog2() as usize;
        for layer in first..=base + r.proof_layers as usize {
            let node = start >> (layer - base);
            out.push(seed.tree[layer][node ^ 1]);
        }
        out
    };
    let mut ask = |request: HashRequest| {
        peer.send(&Message::HashRequest(request));
        peer.wait_for("hash reply", |message| match message {
            Message::Hashes { request: r, hashes } if *r == request => Some(Some(hashes.clone())),
            Message::HashReject(r) if *r == request => Some(None),
            _ => None,
        })
    };

    // (base, index, length, proof layers, hashes in the reply)
    for (base, index, length, proof, count) in [
        (1, 0, 8, 0, 8), // the whole piece layer, no proof
        (1, 0, 8, 2, 8), // its subtree root is the file root: nothing to prove
        (1, 0, 4, 2, 5), // 4 + (2 + 1 - 2): the other half's root
        (1, 2, 2, 2, 4), // 2 + (2 + 1 - 1): siblings at layers 2 and 3
        (1, 6, 2, 1, 3), // 2 + (1 + 1 - 1): a range that is all padding still has a proof
    ] {
        let r = request(base, index, length, proof);
        let hashes = ask(r).unwrap_or_else(|| panic!("libtorrent rejected {r:?}"));
        assert_eq!(hashes.len(), count, "{r:?}");
        assert_eq!(r.reply_hash_count(), count as u64);
        assert_eq!(hashes, expected(r), "{r:?}");
    }

    // A range past the end of the layer, and one asking for more proof than the tree has, are
    // rejected with the request echoed back.
    assert_eq!(ask(request(1, 8, 8, 0)), None);
    assert_eq!(ask(request(1, 0, 2, 3)), None);
}
