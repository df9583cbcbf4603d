//! One audit over the peer wire: connect to the node like any peer (BEP 3 handshake on the
//! torrent's info-hash, BEP 10 handshake naming `sb_audit`), send one challenge, and read the
//! answer, all within the deadline. Judging the answer is the caller's (it knows the torrent and
//! the node); this module only moves bytes, bounded by the same limits the engine uses.

use std::net::SocketAddr;
use std::time::Duration;

use peerwire::sb_audit::{self, AuditMessage};
use peerwire::{
    ExtensionHandshake, ExtensionRegistry, FrameDecoder, HANDSHAKE_LEN, Handshake, Limits, Message,
    Reserved,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where and what to ask.
#[derive(Clone, Debug)]
pub struct Ask {
    pub addr: SocketAddr,
    /// The 20-byte info-hash the node knows the torrent by (v1, or v2 truncated).
    pub info_hash: [u8; 20],
    /// The torrent's other 20-byte info-hash, if hybrid: a node may answer with either (BEP 52).
    pub other_hash: Option<[u8; 20]>,
    pub piece_count: u32,
    /// The challenged piece's size on the wire: a v1 answer is exactly this long.
    pub piece_size: u32,
    pub epoch: u64,
    pub piece: u32,
    pub offset: u32,
    pub deadline: Duration,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
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

/// Why there is no reply. All of these are "no answer" (containment), never evidence: the bytes
/// of a misbehaving connection are not signed by anyone.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("connection: {0}")]
    Io(std::io::Error),
    #[error("the node closed the connection")]
    Closed,
    #[error("the node's handshake names another torrent")]
    WrongTorrent,
    #[error("the node does not speak sb_audit")]
    NoAudit,
    #[error("protocol: {0}")]
    Protocol(String),
}

/// The id we receive `sb_audit` under: one extension, id 1.
const OUR_AUDIT_ID: u8 = 1;
/// Most messages of other kinds (bitfield, have, ...) read while waiting: a node that floods us
/// instead of answering is not answering.
const MAX_OTHER_MESSAGES: usize = 10_000;

/// A reply and what the exchange cost on the wire (both directions, handshakes included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub reply: Reply,
    pub bytes: u64,
    /// How long the TCP connect took: one round trip (SYN, SYN-ACK), the geographic check's
    /// measurement. A node can lengthen it but never shorten it.
    pub connect_us: u64,
}

/// Asks once; the whole exchange is bounded by `ask.deadline`.
pub async fn ask(ask: &Ask, peer_id: [u8; 20], challenge_id: u32) -> Result<Exchange, ProbeError> {
    let mut bytes = 0u64;
    let mut connect_us = 0u64;
    match tokio::time::timeout(
        ask.deadline,
        exchange(ask, peer_id, challenge_id, &mut bytes, &mut connect_us),
    )
    .await
    {
        Ok(result) => result.map(|reply| Exchange {
            reply,
            bytes,
            connect_us,
        }),
        Err(_) => Err(ProbeError::Timeout(ask.deadline)),
    }
}

async fn exchange(
    ask: &Ask,
    peer_id: [u8; 20],
    challenge_id: u32,
    bytes: &mut u64,
    connect_us: &mut u64,
) -> Result<Reply, ProbeError> {
    let started = std::time::Instant::now();
    let mut stream = TcpStream::connect(ask.addr)
        .await
        .map_err(ProbeError::Connect)?;
    *connect_us = u64::try_from(started.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let _ = stream.set_nodelay(true);
    let ours = Handshake {
        reserved: Reserved::seedbank(),
        info_hash: ask.info_hash,
        peer_id,
    };
    stream
        .write_all(&ours.encode())
        .await
        .map_err(ProbeError::Io)?;
    *bytes += 2 * HANDSHAKE_LEN as u64;
    let mut theirs = [0u8; HANDSHAKE_LEN];
    stream.read_exact(&mut theirs).await.map_err(eof)?;
    let theirs = Handshake::decode(&theirs).map_err(|e| ProbeError::Protocol(e.to_string()))?;
    if theirs.info_hash != ask.info_hash && Some(theirs.info_hash) != ask.other_hash {
        return Err(ProbeError::WrongTorrent);
    }
    if !theirs.reserved.supports_extended() {
        return Err(ProbeError::NoAudit);
    }
    let mut registry = ExtensionRegistry::new();
    let id = registry.register(sb_audit::NAME);
    debug_assert_eq!(id, OUR_AUDIT_ID);
    let hello = registry.handshake("seedbank-auditor", None, 1).to_message();
    send(&mut stream, &hello, bytes).await?;

    let mut decoder = FrameDecoder::new(Limits::for_torrent(ask.piece_count));
    let mut their_id = None;
    let mut parts: Vec<u8> = Vec::new();
    let mut other = 0usize;
    loop {
        let message = next(&mut stream, &mut decoder, bytes).await?;
        let Message::Extended { id, payload } = message else {
            other += 1;
            if other > MAX_OTHER_MESSAGES {
                return Err(ProbeError::Protocol("too many messages, no answer".into()));
            }
            continue;
        };
        if id == peerwire::extension::EXTENSION_HANDSHAKE_ID {
            let hs = ExtensionHandshake::decode(&payload)
                .map_err(|e| ProbeError::Protocol(e.to_string()))?;
            if their_id.is_some() {
                continue;
            }
            let remote =
                hs.m.get(sb_audit::NAME)
                    .copied()
                    .filter(|id| *id != 0)
                    .ok_or(ProbeError::NoAudit)?;
            their_id = Some(remote);
            let challenge = AuditMessage::Challenge {
                id: challenge_id,
                epoch: ask.epoch,
                piece: ask.piece,
                offset: ask.offset,
            };
            let message = Message::Extended {
                id: remote,
                payload: challenge.encode().into(),
            };
            send(&mut stream, &message, bytes).await?;
            continue;
        }
        if id != OUR_AUDIT_ID {
            continue;
        }
        let answer =
            AuditMessage::decode(&payload).map_err(|e| ProbeError::Protocol(e.to_string()))?;
        match answer {
            AuditMessage::Block {
                id,
                data,
                proof,
                sig,
            } if id == challenge_id => {
                return Ok(Reply::Block {
                    data: data.to_vec(),
                    proof,
                    sig,
                });
            }
            AuditMessage::Missing { id, sig } if id == challenge_id => {
                return Ok(Reply::Missing { sig });
            }
            AuditMessage::PiecePart {
                id,
                offset,
                data,
                sig,
            } if id == challenge_id => {
                if offset as usize != parts.len() {
                    return Err(ProbeError::Protocol(format!(
                        "piece part at {offset}, expected {}",
                        parts.len()
                    )));
                }
                if parts.len() + data.len() > ask.piece_size as usize {
                    return Err(ProbeError::Protocol(format!(
                        "piece parts exceed the piece's {} bytes",
                        ask.piece_size
                    )));
                }
                parts.extend_from_slice(&data);
                if let Some(sig) = sig {
                    return Ok(Reply::Piece { data: parts, sig });
                }
            }
            // Another challenge's answer, or a later version's message.
            _ => {}
        }
    }
}

async fn send(
    stream: &mut TcpStream,
    message: &Message,
    bytes: &mut u64,
) -> Result<(), ProbeError> {
    let mut out = Vec::with_capacity(4 + message.body_len());
    message.encode(&mut out);
    *bytes += out.len() as u64;
    stream.write_all(&out).await.map_err(ProbeError::Io)
}

async fn next(
    stream: &mut TcpStream,
    decoder: &mut FrameDecoder,
    bytes: &mut u64,
) -> Result<Message, ProbeError> {
    loop {
        if let Some(message) = decoder
            .next_frame()
            .map_err(|e| ProbeError::Protocol(e.to_string()))?
        {
            return Ok(message);
        }
        let n = stream
            .read_buf(decoder.buffer_mut())
            .await
            .map_err(ProbeError::Io)?;
        if n == 0 {
            return Err(ProbeError::Closed);
        }
        *bytes += n as u64;
    }
}

fn eof(e: std::io::Error) -> ProbeError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ProbeError::Closed
    } else {
        ProbeError::Io(e)
    }
}
