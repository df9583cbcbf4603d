//! A test-only node that speaks just enough of the peer wire for the hub's auditor (BEP 3
//! handshake, BEP 10 handshake naming `sb_audit`, then answers to challenges) and answers by its
//! [`Behaviour`], with the content it is made to hold.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use audit::{Answer, Challenge, Target, torrent_key};
use metainfo::merkle::{block_hashes, prove_block};
use metainfo::{CreateOptions, Torrent, Version};
use peerwire::bytes::Bytes;
use peerwire::sb_audit::{self, AuditMessage};
use peerwire::{
    ExtensionHandshake, FrameDecoder, HANDSHAKE_LEN, Handshake, Limits, Message, Reserved,
};
use token::audit_answer::{AuditAnswer, answer_hash_missing};
use token::{Domain, SecretKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const BLOCK: usize = 16 * 1024;
/// The id the fake node receives `sb_audit` under (the auditor uses 1: a different one shows
/// each side sends on the other's id).
pub const NODE_AUDIT_ID: u8 = 3;

// ---- content: torrents the test makes, and what a node holding them answers ----

/// A torrent made by the test, its `.torrent` bytes, and its files' bytes by file index.
pub struct Content {
    pub torrent: Torrent,
    pub bytes: Vec<u8>,
    pub files: HashMap<usize, Vec<u8>>,
}

pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A private torrent of `files` (one file: a single-file torrent).
pub fn make_content(
    dir: &Path,
    name: &str,
    version: Version,
    piece_length: u64,
    files: &[(&str, usize)],
    seed: u64,
) -> Content {
    let root = dir.join(name);
    let mut by_path = HashMap::new();
    for (i, (file, size)) in files.iter().enumerate() {
        let data = pseudo_random(seed + i as u64, *size);
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &data).unwrap();
        by_path.insert(file.to_string(), data);
    }
    let source = if files.len() == 1 {
        root.join(files[0].0)
    } else {
        root
    };
    let opts = CreateOptions {
        version,
        piece_length: Some(piece_length),
        private: true,
        announce: vec!["http://placeholder/announce".into()],
        ..CreateOptions::default()
    };
    let made = metainfo::create_torrent(&source, &opts, &mut |_, _| {}).unwrap();
    let bytes = made.to_bytes();
    // What a third party holds: the torrent parsed from the bytes, not the hub's copy.
    let torrent = Torrent::from_bytes(&bytes).unwrap();
    let files = torrent
        .info
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.pad)
        .map(|(i, f)| (i, by_path[&f.path.join("/")].clone()))
        .collect();
    Content {
        torrent,
        bytes,
        files,
    }
}

impl Content {
    pub fn id(&self) -> [u8; 32] {
        torrent_key(&self.torrent)
    }

    /// What an honest node answers: the block and its proof (v2, hybrid), the whole piece (v1).
    pub fn answer(&self, challenge: &Challenge) -> Option<Answer> {
        let t = &self.torrent;
        Some(match Target::for_challenge(t, challenge).ok()? {
            Target::V2 {
                file_block_index, ..
            } => {
                let (file, _, _) = t.piece_files(challenge.piece)[0];
                let data = &self.files[&file];
                let at = file_block_index as usize * BLOCK;
                Answer::Block {
                    data: data[at..(at + BLOCK).min(data.len())].to_vec(),
                    proof: prove_block(&block_hashes(data), file_block_index).uncles,
                }
            }
            Target::V1 { .. } => {
                let start = u64::from(challenge.piece) * t.info.piece_length;
                let mut piece = vec![0u8; t.piece_size(challenge.piece) as usize];
                for (file, off, len) in t.piece_files(challenge.piece) {
                    let f = &t.info.files[file];
                    let at = (f.offset + off - start) as usize;
                    piece[at..at + len as usize].copy_from_slice(
                        &self.files[&file][off as usize..(off + u64::from(len)) as usize],
                    );
                }
                Answer::Piece { data: piece }
            }
        })
    }
}

// ---- the fake node ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// The right bytes, signed.
    Honest,
    /// The right bytes with one bit flipped, signed: provably wrong data.
    Corrupt,
    /// A signed "I do not have it".
    Missing,
}

struct NodeState {
    key: SecretKey,
    domain: Domain,
    behaviour: Behaviour,
    contents: Arc<Vec<Content>>,
    answered: Arc<AtomicUsize>,
}

/// A node listening on a loopback port until dropped.
pub struct FakeNode {
    pub addr: SocketAddr,
    /// Challenges answered.
    pub answered: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn fake_node(
    key: SecretKey,
    domain: Domain,
    behaviour: Behaviour,
    contents: Arc<Vec<Content>>,
) -> FakeNode {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let node = Arc::new(NodeState {
        key,
        domain,
        behaviour,
        contents,
        answered: Arc::clone(&answered),
    });
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let node = Arc::clone(&node);
            tokio::spawn(async move {
                if let Err(e) = node.serve(stream).await {
                    eprintln!("fake node: connection ended: {e}");
                }
            });
        }
    });
    FakeNode {
        addr,
        answered,
        task,
    }
}

fn wire_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

async fn send(stream: &mut TcpStream, message: &Message) -> std::io::Result<()> {
    let mut out = Vec::new();
    message.encode(&mut out);
    stream.write_all(&out).await
}

/// The next message, `None` once the auditor hangs up.
async fn next(
    stream: &mut TcpStream,
    decoder: &mut FrameDecoder,
) -> std::io::Result<Option<Message>> {
    loop {
        if let Some(m) = decoder.next_frame().map_err(wire_err)? {
            return Ok(Some(m));
        }
        if stream.read_buf(decoder.buffer_mut()).await? == 0 {
            return Ok(None);
        }
    }
}

impl NodeState {
    async fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut hs = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut hs).await?;
        let theirs = Handshake::decode(&hs).map_err(wire_err)?;
        let Some(content) = self.contents.iter().find(|c| {
            c.torrent.hashes.v1 == Some(theirs.info_hash)
                || c.torrent.hashes.v2_truncated() == Some(theirs.info_hash)
        }) else {
            return Err(wire_err(
                "a handshake for a torrent this node does not have",
            ));
        };
        let ours = Handshake {
            reserved: Reserved::seedbank(),
            info_hash: theirs.info_hash,
            peer_id: *b"-FK0001-fakenode0000",
        };
        stream.write_all(&ours.encode()).await?;
        let hello = ExtensionHandshake {
            m: BTreeMap::from([(sb_audit::NAME.to_owned(), NODE_AUDIT_ID)]),
            v: Some("fake node".into()),
            ..ExtensionHandshake::default()
        };
        send(&mut stream, &hello.to_message()).await?;
        let mut decoder = FrameDecoder::new(Limits::for_torrent(content.torrent.piece_count()));
        let mut auditor_id = None;
        while let Some(message) = next(&mut stream, &mut decoder).await? {
            let Message::Extended { id, payload } = message else {
                continue;
            };
            if id == peerwire::extension::EXTENSION_HANDSHAKE_ID {
                let hs = ExtensionHandshake::decode(&payload).map_err(wire_err)?;
                auditor_id = hs.m.get(sb_audit::NAME).copied();
                continue;
            }
            if id != NODE_AUDIT_ID {
                continue;
            }
            let AuditMessage::Challenge {
                id,
                epoch,
                piece,
                offset,
            } = AuditMessage::decode(&payload).map_err(wire_err)?
            else {
                continue;
            };
            let to = auditor_id.ok_or_else(|| wire_err("a challenge before a handshake"))?;
            for reply in self.answer(content, id, epoch, piece, offset) {
                let message = Message::Extended {
                    id: to,
                    payload: reply.encode().into(),
                };
                send(&mut stream, &message).await?;
            }
            self.answered.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// The messages answering one challenge, signed as `docs/protocol.md` §5.5 says.
    fn answer(
        &self,
        content: &Content,
        id: u32,
        epoch: u64,
        piece: u32,
        offset: u32,
    ) -> Vec<AuditMessage> {
        let challenge = Challenge {
            torrent: content.id(),
            piece,
            block: offset / BLOCK as u32,
        };
        let held = match self.behaviour {
            Behaviour::Missing => None,
            Behaviour::Honest | Behaviour::Corrupt => content.answer(&challenge),
        };
        let Some(mut answer) = held else {
            let said = AuditAnswer {
                epoch,
                torrent: challenge.torrent,
                piece,
                offset,
                answer: answer_hash_missing(),
            };
            let sig = self.key.sign_digest(&self.domain.digest(&said)).0;
            return vec![AuditMessage::Missing { id, sig }];
        };
        if self.behaviour == Behaviour::Corrupt {
            let (Answer::Block { data, .. } | Answer::Piece { data }) = &mut answer;
            let at = data.len() / 2;
            data[at] ^= 0x10;
        }
        let said = audit::answer_message(epoch, &challenge, &answer);
        let sig = self.key.sign_digest(&self.domain.digest(&said)).0;
        match answer {
            Answer::Block { data, proof } => vec![AuditMessage::Block {
                id,
                data: Bytes::from(data),
                proof,
                sig,
            }],
            Answer::Piece { data } => {
                let parts = data.chunks(BLOCK).count();
                data.chunks(BLOCK)
                    .enumerate()
                    .map(|(i, part)| AuditMessage::PiecePart {
                        id,
                        offset: (i * BLOCK) as u32,
                        data: Bytes::copy_from_slice(part),
                        sig: (i + 1 == parts).then_some(sig),
                    })
                    .collect()
            }
        }
    }
}
