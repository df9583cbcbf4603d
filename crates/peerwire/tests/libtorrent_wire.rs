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
    HashRequest, Handshake, Limits, Message, PeerExtensions, Reserved,
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
    bytes.try_into().unwrap_or_else(|_| panic!("{text} is not {N} bytes"))
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
    let piece_layer = unhex_vec(&field("piece_layer"))
        .chunks_exact(32)
        .map(|hash| hash.try_into().expect("32 bytes"))
        .collect();
    let content = std::fs::read(field("file")).expect("read seeded content");
    Seed {
        port: field("port").parse().expect("port"),
        v2: unhex(&field("v2")),
        root: unhex(&field("root")),
        piece_layer,
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
            assert!(read > 0, "libtorrent closed the connection waiting for {what}");
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
    peer.stream.write_all(&ours.encode()).expect("send handshake");
    let mut theirs = [0u8; HANDSHAKE_LEN];
    peer.stream
        .read_exact(&mut theirs)
        .expect("read handshake");
    let theirs = Handshake::decode(&theirs).expect("libtorrent handshake");
    assert_eq!(theirs.info_hash, info_hash);
    let common = ours.reserved.intersect(&theirs.reserved);
    assert!(common.supports_extended(), "reserved {:02x?}", theirs.reserved.0);
    assert!(common.supports_fast(), "reserved {:02x?}", theirs.reserved.0);

    let mut registry = ExtensionRegistry::new();
    registry.register("sb_receipt");
    registry.register("sb_audit");
    peer.send(&registry.handshake("seedbank-peerwire-test", None, 250).to_message());
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
    assert_eq!(handshake.p, None, "libtorrent sends p only on connections it made");
    assert!(handshake.reqq.is_some_and(|reqq| reqq > 0));
    assert!(handshake.v.as_deref().is_some_and(|v| v.contains("libtorrent")));
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
    peer.wait_for("unchoke", |message| (*message == Message::Unchoke).then_some(()));

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

    // BEP 52. The file has 10 leaf blocks (padded to 16, so 5 layers); 32 KiB pieces put the
    // piece layer at layer 1, padded to 8 hashes.
    let piece_layer = |index, length, proof_layers| HashRequest {
        pieces_root: seed.root,
        base_layer: 1,
        index,
        length,
        proof_layers,
    };
    let mut ask = |request: HashRequest| {
        peer.send(&Message::HashRequest(request));
        peer.wait_for("hash reply", |message| match message {
            Message::Hashes { request: r, hashes } if *r == request => Some(Some(hashes.clone())),
            Message::HashReject(r) if *r == request => Some(None),
            _ => None,
        })
    };

    // The whole piece layer, no proof.
    let hashes = ask(piece_layer(0, 8, 0)).expect("piece layer served");
    assert_eq!(hashes.len(), 8);
    assert_eq!(&hashes[..5], &seed.piece_layer[..]);

    // Two hashes with three proof layers: 2 + (3 - log2 2) = 4 hashes, as libtorrent counts.
    // (BEP 52's "log2(length) - 1" would make it 5, and our decoder would have refused it.)
    let request = piece_layer(2, 2, 3);
    let hashes = ask(request).expect("proof served");
    assert_eq!(hashes.len() as u64, request.reply_hash_count());
    assert_eq!(hashes.len(), 4);
    assert_eq!(&hashes[..2], &seed.piece_layer[2..4]);

    // A range past the end of the layer is rejected, echoing the request.
    assert_eq!(ask(piece_layer(8, 8, 0)), None);
}
