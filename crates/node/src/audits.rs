//! Availability audits on the wire: the node's side of the `sb_audit` extension
//! (`docs/protocol.md`, section 5.5).
//!
//! The hub's auditor connects like any peer and challenges the node for one 16 KiB block of a
//! torrent it claims to host. The node reads the piece off the swarm's lock
//! ([`engine::Outgoing::read_piece`]) and answers on the hashing pool: for a torrent with v2 hashes
//! the block and its Merkle proof up to the file's `pieces root`, for a v1-only torrent the whole
//! piece in parts, and `missing` when it does not have it. Every answer is signed with the wallet
//! key (EIP-712 `AuditAnswer`, `token::audit_answer`), so a wrong answer is evidence against the
//! node: before sending data the node checks it exactly as the auditor will
//! ([`audit::Target::check`]), and data of its own that fails (bit rot, a file changed under it) is
//! answered with `missing`, an honest failure, never with bytes it knows are wrong.
//!
//! Only a node with a wallet answers (it must sign). A connection may carry at most
//! [`MAX_CHALLENGES`] challenges; answers sent to us (the auditor's business) are ignored.

use std::net::SocketAddr;
use std::sync::Arc;

use audit::{Answer, Target};
use engine::{Messages, Outgoing, PieceReadError};
use metainfo::Torrent;
use metainfo::merkle;
use peerwire::bytes::Bytes;
use peerwire::sb_audit::{self, AuditMessage};
use token::audit_answer::{answer_hash_block, answer_hash_missing, answer_hash_piece};
use token::{Address, AuditAnswer, Domain, SecretKey};

/// Challenges one connection may send. An auditor asks a handful per connection; past this a
/// peer only wants our disk reads and signatures.
pub const MAX_CHALLENGES: u32 = 64;

/// Bytes per block, and per part of a v1 answer.
const BLOCK: usize = audit::BLOCK_SIZE as usize;

/// The node's wallet as it answers audits. One per node, shared by all torrents.
pub struct Audits {
    key: SecretKey,
    account: Address,
    domain: Domain,
    /// The domain's separator, computed once: every answer is signed in it.
    separator: [u8; 32],
}

impl Audits {
    /// Answers signed with `key` in the collective's `domain` (the one receipts use,
    /// [`crate::Terms::domain`]).
    pub fn new(key: SecretKey, domain: Domain) -> Audits {
        Audits {
            account: key.address(),
            separator: domain.separator(),
            key,
            domain,
        }
    }

    /// The address answers recover to.
    pub fn account(&self) -> Address {
        self.account
    }

    /// One torrent's side of the extension; its connections come from [`TorrentAudits::connect`].
    pub fn for_torrent(self: &Arc<Self>, torrent: Arc<Torrent>) -> Arc<TorrentAudits> {
        Arc::new(TorrentAudits {
            audits: Arc::clone(self),
            id: token::torrent_id(torrent.hashes.v1, torrent.hashes.v2),
            torrent,
        })
    }

    fn sign(&self, answer: &AuditAnswer) -> [u8; 65] {
        let digest = self.domain.digest_with(&self.separator, answer);
        self.key.sign_digest(&digest).0
    }
}

/// Why a v2 answer could not be built from the piece read (each a reason to answer `missing`).
#[derive(Debug, thiserror::Error)]
enum ProofError {
    #[error("read {read} bytes; the piece holds {data} bytes of file data")]
    ShortPiece { read: usize, data: usize },
    #[error("the torrent has no piece layer for the file")]
    NoPieceLayer,
    #[error("offset {offset} is beyond the piece's {data} bytes of file data")]
    BeyondData { offset: u32, data: usize },
}

/// What a challenge asked, as the signature will repeat it.
#[derive(Clone, Copy, Debug)]
struct Question {
    id: u32,
    epoch: u64,
    piece: u32,
    offset: u32,
}

/// One torrent's `sb_audit`.
pub struct TorrentAudits {
    audits: Arc<Audits>,
    torrent: Arc<Torrent>,
    /// The id answers are signed for (`token::torrent_id`, as in `sb_receipt`).
    id: [u8; 32],
}

impl TorrentAudits {
    /// A connection's side of the extension.
    pub fn connect(self: &Arc<Self>, addr: SocketAddr) -> PeerAudits {
        PeerAudits {
            torrent: Arc::clone(self),
            addr,
            challenges: 0,
        }
    }

    fn signed(&self, q: &Question, answer: [u8; 32]) -> [u8; 65] {
        self.audits.sign(&AuditAnswer {
            epoch: q.epoch,
            torrent: self.id,
            piece: q.piece,
            offset: q.offset,
            answer,
        })
    }

    fn missing(&self, q: &Question) -> Messages {
        let sig = self.signed(q, answer_hash_missing());
        vec![(
            sb_audit::NAME,
            AuditMessage::Missing { id: q.id, sig }.encode(),
        )]
    }

    /// The answer to `q`, from what reading its piece gave. Runs on the hashing pool.
    fn answer(
        &self,
        q: &Question,
        target: &Target,
        read: Result<Vec<u8>, PieceReadError>,
    ) -> Messages {
        let piece = match read {
            Ok(piece) => piece,
            Err(e @ PieceReadError::NotHad { .. }) => {
                tracing::info!(name = %self.torrent.info.name, "audit answered missing: {e}");
                return self.missing(q);
            }
            Err(e) => {
                tracing::warn!(name = %self.torrent.info.name, "audit answered missing: {e}");
                return self.missing(q);
            }
        };
        let answer = match target {
            Target::V1 { .. } => Answer::Piece { data: piece },
            Target::V2 {
                pieces_root,
                file_length,
                file_block_index,
            } => match self.block(q, &piece, pieces_root, *file_length, *file_block_index) {
                Ok(answer) => answer,
                Err(why) => {
                    tracing::warn!(name = %self.torrent.info.name, piece = q.piece, "audit answered missing: {why}");
                    return self.missing(q);
                }
            },
        };
        // Exactly the auditor's check: our own bytes that fail it are not ours to vouch for.
        if let Err(e) = target.check(&answer) {
            tracing::warn!(
                name = %self.torrent.info.name,
                piece = q.piece,
                "audit answered missing: our copy of the piece is damaged ({e})"
            );
            return self.missing(q);
        }
        match answer {
            Answer::Block { data, proof } => {
                let sig = self.signed(q, answer_hash_block(&data, &proof));
                vec![(
                    sb_audit::NAME,
                    AuditMessage::Block {
                        id: q.id,
                        data: Bytes::from(data),
                        proof,
                        sig,
                    }
                    .encode(),
                )]
            }
            Answer::Piece { data } => self.piece_parts(q, data),
        }
    }

    /// The challenged block and its proof up to the file's pieces root, built from the piece alone:
    /// the piece's own blocks below the piece layer, the torrent's piece layer above it.
    fn block(
        &self,
        q: &Question,
        piece: &[u8],
        pieces_root: &[u8; 32],
        file_length: u64,
        file_block_index: u32,
    ) -> Result<Answer, ProofError> {
        // v2 files start on piece boundaries, so the piece's file data is its beginning; what
        // follows (a hybrid's pad, a v2 gap) is not file data and never sent.
        let in_file: usize = self
            .torrent
            .piece_files(q.piece)
            .iter()
            .map(|&(_, _, len)| len as usize)
            .sum();
        let data = piece.get(..in_file).ok_or(ProofError::ShortPiece {
            read: piece.len(),
            data: in_file,
        })?;
        let piece_length = self.torrent.info.piece_length;
        let mut proof = merkle::prove_block_in_piece(
            &merkle::block_hashes(data),
            piece_length,
            file_length,
            file_block_index,
        );
        if file_length > piece_length {
            let layer = self
                .torrent
                .piece_layers
                .get(pieces_root)
                .ok_or(ProofError::NoPieceLayer)?;
            merkle::extend_proof_with_layer(&mut proof, layer, piece_length, file_length);
        }
        let start = q.offset as usize;
        let block =
            data.get(start..(start + BLOCK).min(data.len()))
                .ok_or(ProofError::BeyondData {
                    offset: q.offset,
                    data: data.len(),
                })?;
        Ok(Answer::Block {
            data: block.to_vec(),
            proof: proof.uncles,
        })
    }

    /// A v1 piece as consecutive parts of at most 16 KiB; the last carries the signature over the
    /// whole piece.
    fn piece_parts(&self, q: &Question, piece: Vec<u8>) -> Messages {
        let sig = self.signed(q, answer_hash_piece(&piece));
        let piece = Bytes::from(piece);
        let parts = piece.len().div_ceil(BLOCK);
        (0..parts)
            .map(|i| {
                let start = i * BLOCK;
                let end = (start + BLOCK).min(piece.len());
                let part = AuditMessage::PiecePart {
                    id: q.id,
                    // Parts lie within one piece, whose size fits u32.
                    offset: start as u32,
                    data: piece.slice(start..end),
                    sig: (i + 1 == parts).then_some(sig),
                };
                (sb_audit::NAME, part.encode())
            })
            .collect()
    }
}

/// One connection's `sb_audit`.
pub struct PeerAudits {
    torrent: Arc<TorrentAudits>,
    addr: SocketAddr,
    challenges: u32,
}

impl PeerAudits {
    /// A message of `sb_audit` from the peer. An `Err` drops the peer for that reason.
    pub fn message(&mut self, payload: &[u8], out: &mut Outgoing) -> Result<(), String> {
        match AuditMessage::decode(payload).map_err(|e| format!("sb_audit: {e}"))? {
            AuditMessage::Challenge {
                id,
                epoch,
                piece,
                offset,
            } => self.challenge(
                Question {
                    id,
                    epoch,
                    piece,
                    offset,
                },
                out,
            ),
            AuditMessage::Block { id, .. }
            | AuditMessage::PiecePart { id, .. }
            | AuditMessage::Missing { id, .. } => {
                tracing::debug!(addr = %self.addr, id, "sb_audit: ignoring an answer; answers are for the auditor");
                Ok(())
            }
            AuditMessage::Unknown { .. } => Ok(()),
        }
    }

    fn challenge(&mut self, q: Question, out: &mut Outgoing) -> Result<(), String> {
        self.challenges += 1;
        if self.challenges > MAX_CHALLENGES {
            return Err(format!(
                "sb_audit: audit flood (more than {MAX_CHALLENGES} challenges on one connection)"
            ));
        }
        let torrent = &self.torrent;
        let named = audit::Challenge {
            torrent: torrent.id,
            piece: q.piece,
            // The codec refuses offsets that are not whole blocks.
            block: q.offset / audit::BLOCK_SIZE as u32,
        };
        match Target::for_challenge(&torrent.torrent, &named) {
            Ok(target) => {
                let torrent = Arc::clone(torrent);
                out.read_piece(
                    q.piece,
                    Box::new(move |read| torrent.answer(&q, &target, read)),
                );
            }
            Err(e) => {
                // Not a block anyone could hold: an honest "missing", signed like any answer.
                tracing::debug!(addr = %self.addr, "sb_audit: challenge for no block: {e}");
                for (name, payload) in torrent.missing(&q) {
                    out.send(name, payload);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audits() -> Arc<Audits> {
        Arc::new(Audits::new(
            SecretKey::generate(),
            Domain {
                name: "test collective".into(),
                version: "1".into(),
                chain_id: 31337,
                verifying_contract: Address([9; 20]),
            },
        ))
    }

    /// A v2 torrent of one 100,000-byte file in 32 KiB pieces, and its data.
    fn torrent() -> (tempfile::TempDir, Arc<Torrent>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(dir.path().join("f.bin"), &data).unwrap();
        let opts = metainfo::CreateOptions {
            version: metainfo::Version::V2,
            piece_length: Some(32 * 1024),
            ..metainfo::CreateOptions::default()
        };
        let torrent =
            metainfo::create_torrent(&dir.path().join("f.bin"), &opts, &mut |_, _| {}).unwrap();
        (dir, Arc::new(torrent), data)
    }

    fn challenge(id: u32, piece: u32, offset: u32) -> Vec<u8> {
        AuditMessage::Challenge {
            id,
            epoch: 5,
            piece,
            offset,
        }
        .encode()
    }

    fn decode_one(messages: &[(&'static str, Vec<u8>)]) -> AuditMessage {
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0].0, sb_audit::NAME);
        AuditMessage::decode(&messages[0].1).unwrap()
    }

    #[test]
    fn a_challenge_for_no_block_is_answered_missing_at_once() {
        let (_dir, torrent, _) = torrent();
        let audits = audits();
        let mut peer = audits
            .for_torrent(torrent)
            .connect("127.0.0.1:1".parse().unwrap());
        // Piece 3 holds 100,000 - 3 × 32,768 = 1,696 bytes: one block; offset 16 KiB is past it.
        for (piece, offset) in [(4, 0), (3, 16_384), (u32::MAX, 0)] {
            let mut out = Outgoing::new();
            peer.message(&challenge(1, piece, offset), &mut out)
                .unwrap();
            assert!(out.take_reads().is_empty());
            assert!(matches!(
                decode_one(out.messages()),
                AuditMessage::Missing { id: 1, .. }
            ));
        }
    }

    #[test]
    fn our_own_bad_data_is_answered_missing() {
        let (_dir, torrent, data) = torrent();
        let audits = audits();
        let mut peer = audits
            .for_torrent(Arc::clone(&torrent))
            .connect("127.0.0.1:1".parse().unwrap());
        let mut out = Outgoing::new();
        peer.message(&challenge(2, 1, 16_384), &mut out).unwrap();
        let (piece, job) = out.take_reads().pop().unwrap();
        assert_eq!(piece, 1);
        let mut bytes = data[32_768..65_536].to_vec();
        bytes[20_000] ^= 1;
        assert!(matches!(
            decode_one(&job(Ok(bytes))),
            AuditMessage::Missing { id: 2, .. }
        ));
    }

    #[test]
    fn answers_sent_to_us_and_unknown_messages_are_ignored_and_floods_dropped() {
        let (_dir, torrent, _) = torrent();
        let mut peer = audits()
            .for_torrent(torrent)
            .connect("127.0.0.1:1".parse().unwrap());
        let mut out = Outgoing::new();
        for message in [
            AuditMessage::Missing {
                id: 1,
                sig: [0; 65],
            },
            AuditMessage::Block {
                id: 1,
                data: Bytes::from_static(b"x"),
                proof: Vec::new(),
                sig: [0; 65],
            },
            AuditMessage::Unknown { msg_type: 9 },
        ] {
            peer.message(&message.encode(), &mut out).unwrap();
        }
        assert!(out.is_empty());
        assert!(peer.message(b"garbage", &mut out).is_err());
        for i in 0..MAX_CHALLENGES {
            peer.message(&challenge(i, 0, 0), &mut out).unwrap();
        }
        let err = peer.message(&challenge(99, 0, 0), &mut out).unwrap_err();
        assert!(err.contains("audit flood"), "{err}");
    }
}
