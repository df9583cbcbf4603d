//! `sb_audit`: the BEP 10 extension over which the hub's auditor checks that a node really holds
//! the data it claims to host.
//!
//! Nodes are rewarded for hosting a subset of the collective's torrents, which they report
//! themselves; audits keep the reports honest by random sampling. The auditor connects to a node
//! like any peer, names one 16 KiB block of a torrent the node claims ([`AuditMessage::Challenge`])
//! and waits a bounded time for the answer: for torrents with v2 hashes the block with its Merkle
//! proof up to the file's `pieces root` ([`AuditMessage::Block`]), for v1-only torrents, where only
//! a whole piece's SHA-1 can be checked, the whole piece in parts ([`AuditMessage::PiecePart`]).
//! A node that does not have the block says so ([`AuditMessage::Missing`]): an honest failure,
//! unlike a wrong answer or none at all.
//!
//! This module is a pure codec: it moves bytes, bounded so that every message fits well within
//! the extension payload limit. It does not verify proofs or hashes (`metainfo::merkle` does, for
//! the auditor, which knows the torrent), nor match answers to challenges. See
//! `docs/protocol.md`, section 5.5.

use bytes::Bytes;

use crate::bencode::{self, Reader};
use crate::sb_dict::{Dialect, put_msg_type, read_fields, saturate};
use crate::{BLOCK_SIZE, MAX_BLOCK_LEN, WireError};

/// The extension name announced in the BEP 10 handshake's `m` dictionary.
pub const NAME: &str = "sb_audit";

/// Most hashes a [`AuditMessage::Block`] proof may carry. A file of 2^64 bytes has 2^50 blocks, so
/// no real proof is longer than 50 hashes.
pub const MAX_PROOF_HASHES: usize = 64;

const CHALLENGE: u64 = 0;
const BLOCK: u64 = 1;
const PIECE_PART: u64 = 2;
const MISSING: u64 = 3;

/// One `sb_audit` message: the payload of a BEP 10 extended message whose id the peer assigned to
/// [`NAME`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditMessage {
    /// `msg_type` 0, auditor to node: send block `offset` of piece `piece`.
    Challenge {
        /// Chosen by the auditor; every answer repeats it.
        id: u32,
        /// The epoch being audited; the node signs it into its answer, so an answer cannot be
        /// replayed into another epoch.
        epoch: u64,
        /// The piece index, as in `request`.
        piece: u32,
        /// Byte offset of the block within the piece; a multiple of 16 KiB.
        offset: u32,
    },
    /// `msg_type` 1, node to auditor, for torrents with v2 hashes (v2 or hybrid): the challenged
    /// block and its path to the file's `pieces root`.
    Block {
        /// The challenge's id.
        id: u32,
        /// The block's file bytes: 16 KiB, or fewer for a file's last block. Padding is not file
        /// data and is never sent.
        data: Bytes,
        /// The sibling hashes from the block's leaf up to the pieces root, lowest level first (the
        /// uncles of BEP 52's hash messages); empty for a file of one block.
        proof: Vec<[u8; 32]>,
        /// The node's signature over the EIP-712 `AuditAnswer` for this answer
        /// (`token::audit_answer`): what makes a wrong answer evidence against the node.
        sig: [u8; 65],
    },
    /// `msg_type` 2, node to auditor, for v1-only torrents: one part of the challenged piece. The
    /// node sends the whole piece as consecutive parts, and the auditor checks the piece's SHA-1.
    PiecePart {
        /// The challenge's id.
        id: u32,
        /// Byte offset of the part within the piece.
        offset: u32,
        /// At most 16 KiB of the piece, so that a part fits one message whatever the piece size.
        data: Bytes,
        /// On the piece's last part only: the node's signature over the `AuditAnswer` for the
        /// whole piece.
        sig: Option<[u8; 65]>,
    },
    /// `msg_type` 3, node to auditor: the node does not have the challenged block.
    Missing {
        /// The challenge's id.
        id: u32,
        /// The node's signature over the `AuditAnswer` saying so.
        sig: [u8; 65],
    },
    /// Any other `msg_type`: a later version's message, which receivers ignore (BEP 10 practice,
    /// as with `ut_metadata`). Its other keys are checked to be well-formed and then dropped.
    Unknown {
        /// The type received; at most `i64::MAX` when decoded.
        msg_type: u64,
    },
}

impl AuditMessage {
    /// The message's `msg_type` on the wire.
    pub fn msg_type(&self) -> u64 {
        match self {
            AuditMessage::Challenge { .. } => CHALLENGE,
            AuditMessage::Block { .. } => BLOCK,
            AuditMessage::PiecePart { .. } => PIECE_PART,
            AuditMessage::Missing { .. } => MISSING,
            AuditMessage::Unknown { msg_type } => *msg_type,
        }
    }

    /// The bencoded dictionary, keys in canonical (sorted) order.
    ///
    /// Values are written as given: a challenge offset off a block boundary, more than 16 KiB of
    /// `data` or more than [`MAX_PROOF_HASHES`] hashes encode into a message that
    /// [`AuditMessage::decode`] refuses, as does `Unknown` with a type from 0 to 3 (which encodes
    /// as its type alone, lacking that type's fields).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"d".to_vec();
        match self {
            AuditMessage::Challenge {
                id,
                epoch,
                piece,
                offset,
            } => {
                bencode::put_bytes(&mut out, b"epoch");
                bencode::put_int(&mut out, saturate(*epoch));
                put_id(&mut out, *id);
                put_msg_type(&mut out, CHALLENGE);
                put_u32(&mut out, b"offset", *offset);
                put_u32(&mut out, b"piece", *piece);
            }
            AuditMessage::Block {
                id,
                data,
                proof,
                sig,
            } => {
                out.reserve(data.len() + 32 * proof.len() + 160);
                put_data(&mut out, data);
                put_id(&mut out, *id);
                put_msg_type(&mut out, BLOCK);
                bencode::put_bytes(&mut out, b"proof");
                bencode::put_bytes(&mut out, proof.as_flattened());
                put_sig(&mut out, sig);
            }
            AuditMessage::PiecePart {
                id,
                offset,
                data,
                sig,
            } => {
                out.reserve(data.len() + 160);
                put_data(&mut out, data);
                put_id(&mut out, *id);
                put_msg_type(&mut out, PIECE_PART);
                put_u32(&mut out, b"offset", *offset);
                if let Some(sig) = sig {
                    put_sig(&mut out, sig);
                }
            }
            AuditMessage::Missing { id, sig } => {
                put_id(&mut out, *id);
                put_msg_type(&mut out, MISSING);
                put_sig(&mut out, sig);
            }
            AuditMessage::Unknown { msg_type } => put_msg_type(&mut out, *msg_type),
        }
        out.push(b'e');
        out
    }

    /// Parses a peer's `sb_audit` payload.
    ///
    /// Refused: invalid or non-canonical bencode (including unsorted keys and trailing bytes), a
    /// non-dictionary, a missing or negative `msg_type`, and for types 0 to 3 a missing field, a
    /// field of the wrong type, an `id`, `piece` or `offset` outside `0..=u32::MAX`, a challenge
    /// offset that is not a multiple of 16 KiB, `data` over 16 KiB, or a `proof` that is not whole
    /// 32-byte hashes or has more than [`MAX_PROOF_HASHES`]. Keys the message's type does not use
    /// are skipped once checked to be well-formed, so a later version can add fields; for any
    /// other type, every key but `msg_type` is such a key.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        // `msg_type` sorts after `data` and `id`, hence two passes (see `Dialect::scan`).
        let msg_type = DIALECT.scan(payload)?;
        let mut id = None;
        let mut epoch = None;
        let mut sig = None;
        let mut piece = None;
        let mut offset = None;
        let mut data = None;
        let mut proof = None;
        // Each type reads only its own keys, and skips the others like any unknown key.
        read_fields(payload, |key, reader| {
            match (msg_type, key) {
                (CHALLENGE | BLOCK | PIECE_PART | MISSING, b"id") => {
                    id = Some(u32_field(reader, "id")?)
                }
                (CHALLENGE, b"epoch") => {
                    epoch = Some(DIALECT.int::<u64>(reader, "epoch", i64::MAX)?)
                }
                (CHALLENGE, b"piece") => piece = Some(u32_field(reader, "piece")?),
                (BLOCK | PIECE_PART | MISSING, b"sig") => sig = Some(signature(reader)?),
                (CHALLENGE, b"offset") => offset = Some(block_offset(reader)?),
                (PIECE_PART, b"offset") => offset = Some(u32_field(reader, "offset")?),
                (BLOCK | PIECE_PART, b"data") => data = Some(block_data(reader)?),
                (BLOCK, b"proof") => proof = Some(proof_hashes(reader)?),
                _ => reader.skip(1)?,
            }
            Ok(())
        })?;
        // Missing fields are reported in key order.
        match msg_type {
            CHALLENGE => Ok(AuditMessage::Challenge {
                epoch: DIALECT.required(epoch, CHALLENGE, "epoch")?,
                id: DIALECT.required(id, CHALLENGE, "id")?,
                offset: DIALECT.required(offset, CHALLENGE, "offset")?,
                piece: DIALECT.required(piece, CHALLENGE, "piece")?,
            }),
            BLOCK => Ok(AuditMessage::Block {
                data: DIALECT.required(data, BLOCK, "data")?,
                id: DIALECT.required(id, BLOCK, "id")?,
                proof: DIALECT.required(proof, BLOCK, "proof")?,
                sig: DIALECT.required(sig, BLOCK, "sig")?,
            }),
            PIECE_PART => Ok(AuditMessage::PiecePart {
                data: DIALECT.required(data, PIECE_PART, "data")?,
                id: DIALECT.required(id, PIECE_PART, "id")?,
                offset: DIALECT.required(offset, PIECE_PART, "offset")?,
                sig,
            }),
            MISSING => Ok(AuditMessage::Missing {
                id: DIALECT.required(id, MISSING, "id")?,
                sig: DIALECT.required(sig, MISSING, "sig")?,
            }),
            msg_type => Ok(AuditMessage::Unknown { msg_type }),
        }
    }
}

/// `sb_audit`'s name and error variants for the shared dictionary helpers.
const DIALECT: Dialect = Dialect {
    name: NAME,
    not_dict: || WireError::SbAuditNotDict,
    key_order: |key, previous| WireError::SbAuditKeyOrder { key, previous },
    no_msg_type: || WireError::SbAuditNoMsgType,
    missing: |msg_type, field| WireError::SbAuditMissing { msg_type, field },
};

fn put_id(out: &mut Vec<u8>, id: u32) {
    put_u32(out, b"id", id);
}

fn put_sig(out: &mut Vec<u8>, sig: &[u8; 65]) {
    bencode::put_bytes(out, b"sig");
    bencode::put_bytes(out, sig);
}

fn put_u32(out: &mut Vec<u8>, key: &[u8], value: u32) {
    bencode::put_bytes(out, key);
    bencode::put_int(out, value.into());
}

fn put_data(out: &mut Vec<u8>, data: &[u8]) {
    bencode::put_bytes(out, b"data");
    bencode::put_bytes(out, data);
}

/// An integer field that must fit 32 bits, as piece indices and offsets do on the wire.
fn u32_field(reader: &mut Reader<'_>, field: &str) -> Result<u32, WireError> {
    DIALECT.int(reader, field, u32::MAX.into())
}

/// A challenge's `offset`: the start of a 16 KiB block.
fn block_offset(reader: &mut Reader<'_>) -> Result<u32, WireError> {
    let offset = u32_field(reader, "offset")?;
    if offset % BLOCK_SIZE == 0 {
        Ok(offset)
    } else {
        Err(WireError::SbAuditOffsetMisaligned { offset })
    }
}

/// `sig`: a 65-byte secp256k1 signature; the node checks nothing more (the auditor recovers it).
fn signature(reader: &mut Reader<'_>) -> Result<[u8; 65], WireError> {
    let sig = DIALECT.bytes(reader, "sig")?;
    <[u8; 65]>::try_from(sig).map_err(|_| WireError::SbAuditSigLength { found: sig.len() })
}

/// `data`: at most one 16 KiB block.
fn block_data(reader: &mut Reader<'_>) -> Result<Bytes, WireError> {
    let data = DIALECT.bytes(reader, "data")?;
    let max = MAX_BLOCK_LEN as usize;
    if data.len() > max {
        return Err(WireError::SbAuditTooLong {
            field: "data",
            max,
            found: data.len(),
        });
    }
    Ok(Bytes::copy_from_slice(data))
}

/// `proof`: whole SHA-256 hashes, at most [`MAX_PROOF_HASHES`] of them.
fn proof_hashes(reader: &mut Reader<'_>) -> Result<Vec<[u8; 32]>, WireError> {
    let proof = DIALECT.bytes(reader, "proof")?;
    let (hashes, rest) = proof.as_chunks::<32>();
    if !rest.is_empty() {
        return Err(WireError::SbAuditProofNotWhole { len: proof.len() });
    }
    if hashes.len() > MAX_PROOF_HASHES {
        return Err(WireError::SbAuditTooLong {
            field: "proof",
            max: 32 * MAX_PROOF_HASHES,
            found: proof.len(),
        });
    }
    Ok(hashes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BencodeError;

    const HASH_A: [u8; 32] = [0x41; 32];
    const HASH_B: [u8; 32] = [0x42; 32];
    /// A signature as the codec sees it: 65 bytes carried as they are (recovering the signer is
    /// the auditor's business). `S` on the wire.
    const SIG: [u8; 65] = [0x53; 65];

    fn challenge() -> AuditMessage {
        AuditMessage::Challenge {
            id: 7,
            epoch: 9,
            piece: 3,
            offset: 32_768,
        }
    }

    fn block(data: &[u8], proof: &[[u8; 32]]) -> AuditMessage {
        AuditMessage::Block {
            id: 7,
            data: Bytes::copy_from_slice(data),
            proof: proof.to_vec(),
            sig: SIG,
        }
    }

    fn missing() -> AuditMessage {
        AuditMessage::Missing { id: 7, sig: SIG }
    }

    /// The `sig` key and its value, the last entry of an answer.
    fn sig_entry(sig: &[u8]) -> Vec<u8> {
        [format!("3:sig{}:", sig.len()).as_bytes(), sig].concat()
    }

    /// `head`, a dictionary written up to its `sig`, completed with [`SIG`] and the end.
    fn with_sig(head: &[u8]) -> Vec<u8> {
        [head, &sig_entry(&SIG), b"e"].concat()
    }

    /// A block answer carrying `data`, `proof` and `sig`, written out by hand.
    fn block_bytes_signed(data: &[u8], proof: &[u8], sig: &[u8]) -> Vec<u8> {
        [
            format!("d4:data{}:", data.len()).as_bytes(),
            data,
            format!("2:idi7e8:msg_typei1e5:proof{}:", proof.len()).as_bytes(),
            proof,
            &sig_entry(sig),
            b"e",
        ]
        .concat()
    }

    /// A block answer carrying `data` and `proof`, signed with [`SIG`].
    fn block_bytes(data: &[u8], proof: &[u8]) -> Vec<u8> {
        block_bytes_signed(data, proof, &SIG)
    }

    /// A piece part, with a `sig` when it is the piece's last.
    fn piece_part_bytes(data: &[u8], offset: &[u8], sig: Option<&[u8]>) -> Vec<u8> {
        [
            format!("d4:data{}:", data.len()).as_bytes(),
            data,
            b"2:idi7e8:msg_typei2e6:offseti",
            offset,
            b"e",
            &sig.map(sig_entry).unwrap_or_default(),
            b"e",
        ]
        .concat()
    }

    fn missing_bytes(sig: &[u8]) -> Vec<u8> {
        [&b"d2:idi7e8:msg_typei3e"[..], &sig_entry(sig), b"e"].concat()
    }

    fn challenge_bytes(epoch: &[u8], id: &[u8], offset: &[u8], piece: &[u8]) -> Vec<u8> {
        [
            &b"d5:epochi"[..],
            epoch,
            b"e2:idi",
            id,
            b"e8:msg_typei0e6:offseti",
            offset,
            b"e5:piecei",
            piece,
            b"ee",
        ]
        .concat()
    }

    #[test]
    fn challenge_encodes_to_the_documented_bytes() {
        let expected: &[u8] = b"d5:epochi9e2:idi7e8:msg_typei0e6:offseti32768e5:piecei3ee";
        assert_eq!(challenge().encode(), expected);
        assert_eq!(AuditMessage::decode(expected), Ok(challenge()));

        let extreme = AuditMessage::Challenge {
            id: u32::MAX,
            epoch: i64::MAX as u64,
            piece: u32::MAX,
            offset: u32::MAX - (BLOCK_SIZE - 1),
        };
        let bytes = challenge_bytes(
            b"9223372036854775807",
            b"4294967295",
            b"4294950912",
            b"4294967295",
        );
        assert_eq!(extreme.encode(), bytes);
        assert_eq!(AuditMessage::decode(&bytes), Ok(extreme));

        let zero = AuditMessage::Challenge {
            id: 0,
            epoch: 0,
            piece: 0,
            offset: 0,
        };
        assert_eq!(zero.encode(), challenge_bytes(b"0", b"0", b"0", b"0"));
        assert_eq!(AuditMessage::decode(&zero.encode()), Ok(zero));
    }

    #[test]
    fn block_encodes_to_the_documented_bytes() {
        // A file of one block: the leaf is the root, so there is nothing to prove.
        let small = with_sig(b"d4:data5:hello2:idi7e8:msg_typei1e5:proof0:");
        assert_eq!(block(b"hello", &[]).encode(), small);
        assert_eq!(AuditMessage::decode(&small), Ok(block(b"hello", &[])));

        let two = with_sig(
            b"d4:data3:abc2:idi7e8:msg_typei1e5:proof64:\
            AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        );
        assert_eq!(block(b"abc", &[HASH_A, HASH_B]).encode(), two);
        assert_eq!(
            AuditMessage::decode(&two),
            Ok(block(b"abc", &[HASH_A, HASH_B]))
        );

        // The largest answer: a whole block, the longest proof and the signature.
        let data = vec![0xD7; MAX_BLOCK_LEN as usize];
        let proof = vec![HASH_A; MAX_PROOF_HASHES];
        let bytes = block_bytes(&data, proof.as_flattened());
        assert_eq!(bytes.len(), 13 + 16_384 + 32 + 2_048 + 8 + 65 + 1);
        assert_eq!(block(&data, &proof).encode(), bytes);
        assert_eq!(AuditMessage::decode(&bytes), Ok(block(&data, &proof)));
        // With the longest id too: the size docs/protocol.md gives as the largest message.
        let largest = AuditMessage::Block {
            id: u32::MAX,
            data: Bytes::from(data),
            proof,
            sig: SIG,
        };
        assert_eq!(largest.encode().len(), 18_560);

        // Empty data is never a correct block, but judging that is the auditor's business.
        assert_eq!(block(b"", &[]).encode(), block_bytes(b"", b""));
        assert_eq!(
            AuditMessage::decode(&block_bytes(b"", b"")),
            Ok(block(b"", &[]))
        );
    }

    #[test]
    fn piece_part_encodes_to_the_documented_bytes() {
        let part = AuditMessage::PiecePart {
            id: 7,
            offset: 16_384,
            data: Bytes::from_static(b"abc"),
            sig: None,
        };
        let expected: &[u8] = b"d4:data3:abc2:idi7e8:msg_typei2e6:offseti16384ee";
        assert_eq!(part.encode(), expected);
        assert_eq!(AuditMessage::decode(expected), Ok(part));

        // The piece's last part carries the signature over the whole piece.
        let last = AuditMessage::PiecePart {
            id: 7,
            offset: 16_384,
            data: Bytes::from_static(b"abc"),
            sig: Some(SIG),
        };
        let expected = with_sig(b"d4:data3:abc2:idi7e8:msg_typei2e6:offseti16384e");
        assert_eq!(last.encode(), expected);
        assert_eq!(AuditMessage::decode(&expected), Ok(last));

        // Parts need not start at a block boundary, and may be as long as a block.
        let data = vec![0x33; MAX_BLOCK_LEN as usize];
        let odd = AuditMessage::PiecePart {
            id: 7,
            offset: u32::MAX,
            data: Bytes::from(data.clone()),
            sig: Some(SIG),
        };
        let bytes = piece_part_bytes(&data, b"4294967295", Some(&SIG));
        assert_eq!(odd.encode(), bytes);
        assert_eq!(AuditMessage::decode(&bytes), Ok(odd));
    }

    #[test]
    fn missing_encodes_to_the_documented_bytes() {
        let expected: &[u8] = b"d2:idi7e8:msg_typei3e3:sig65:\
            SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSe";
        assert_eq!(missing().encode(), expected);
        assert_eq!(AuditMessage::decode(expected), Ok(missing()));
    }

    #[test]
    fn unknown_encodes_as_its_type_alone() {
        let unknown = AuditMessage::Unknown { msg_type: 4 };
        assert_eq!(unknown.encode(), b"d8:msg_typei4ee");
        assert_eq!(AuditMessage::decode(b"d8:msg_typei4ee"), Ok(unknown));
        assert_eq!(
            AuditMessage::Unknown { msg_type: u64::MAX }.encode(),
            b"d8:msg_typei9223372036854775807ee"
        );
    }

    #[test]
    fn unknown_msg_types_decode_whatever_else_they_carry() {
        for (payload, msg_type) in [
            (&b"d8:msg_typei4ee"[..], 4),
            (b"d8:msg_typei9223372036854775807ee", i64::MAX as u64),
            // Fields of the known types, with types and values those types would refuse.
            (
                b"d4:datai1e5:epochi-1e2:id2:xx8:msg_typei5e6:offseti1e5:piecei-1e5:proof1:x\
                3:sig1:xe",
                5,
            ),
        ] {
            assert_eq!(
                AuditMessage::decode(payload),
                Ok(AuditMessage::Unknown { msg_type }),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert_eq!(
            AuditMessage::decode(b"d8:msg_typei4e1:xi01ee"),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 18 }))
        );
    }

    #[test]
    fn keys_a_type_does_not_use_are_skipped() {
        // Unknown keys before, between and after the fields, nested values among them.
        let payload = b"d1:ad1:bl1:cee5:epochi9e2:idi7e3:idxi-1e8:msg_typei0e6:offseti32768e\
            5:piecei3e2:zzli1eee";
        assert_eq!(AuditMessage::decode(payload), Ok(challenge()));
        // Other types' fields, even with values those types would refuse.
        let payload = b"d4:data2:xx5:epochi9e2:idi7e8:msg_typei0e6:offseti32768e5:piecei3e\
            5:proof1:x3:sig1:xe";
        assert_eq!(AuditMessage::decode(payload), Ok(challenge()));
        assert_eq!(
            AuditMessage::decode(&with_sig(
                b"d5:epochi-1e2:idi7e8:msg_typei3e6:offseti1e5:piecei-5e"
            )),
            Ok(missing())
        );
        let block = [
            &b"d4:data3:abc5:epochi-1e2:idi7e8:msg_typei1e6:offseti1e5:piece0:5:proof32:"[..],
            &HASH_A,
            &sig_entry(&SIG),
            b"e",
        ]
        .concat();
        assert_eq!(
            AuditMessage::decode(&block),
            Ok(self::block(b"abc", &[HASH_A]))
        );
        let part = |sig| AuditMessage::PiecePart {
            id: 7,
            offset: 0,
            data: Bytes::from_static(b"x"),
            sig,
        };
        assert_eq!(
            AuditMessage::decode(
                b"d4:data1:x5:epochi-1e2:idi7e8:msg_typei2e6:offseti0e5:piecei1e5:proof1:xe"
            ),
            Ok(part(None))
        );
        assert_eq!(
            AuditMessage::decode(&with_sig(
                b"d4:data1:x2:idi7e8:msg_typei2e6:offseti0e5:piecei1e5:proof1:x"
            )),
            Ok(part(Some(SIG)))
        );
    }

    #[test]
    fn every_missing_field_is_named() {
        // Each type's keys and their encodings, in order. A piece part's `sig` is optional.
        let entry = |name: &'static str, bytes: &[u8]| (name, bytes.to_vec());
        let sig = sig_entry(&SIG);
        let cases = [
            (
                CHALLENGE,
                vec![
                    entry("epoch", b"5:epochi9e"),
                    entry("id", b"2:idi7e"),
                    entry("msg_type", b"8:msg_typei0e"),
                    entry("offset", b"6:offseti0e"),
                    entry("piece", b"5:piecei3e"),
                ],
            ),
            (
                BLOCK,
                vec![
                    entry("data", b"4:data1:x"),
                    entry("id", b"2:idi7e"),
                    entry("msg_type", b"8:msg_typei1e"),
                    entry("proof", b"5:proof0:"),
                    entry("sig", &sig),
                ],
            ),
            (
                PIECE_PART,
                vec![
                    entry("data", b"4:data1:x"),
                    entry("id", b"2:idi7e"),
                    entry("msg_type", b"8:msg_typei2e"),
                    entry("offset", b"6:offseti0e"),
                ],
            ),
            (
                MISSING,
                vec![
                    entry("id", b"2:idi7e"),
                    entry("msg_type", b"8:msg_typei3e"),
                    entry("sig", &sig),
                ],
            ),
        ];
        for (msg_type, parts) in &cases {
            let msg_type = *msg_type;
            let whole = [
                &b"d"[..],
                &parts
                    .iter()
                    .map(|(_, p)| &p[..])
                    .collect::<Vec<_>>()
                    .concat(),
                b"e",
            ]
            .concat();
            assert_eq!(
                AuditMessage::decode(&whole).map(|m| m.msg_type()),
                Ok(msg_type)
            );
            for &(field, _) in parts.iter().filter(|(name, _)| *name != "msg_type") {
                let mut payload = b"d".to_vec();
                for (name, part) in parts {
                    if *name != field {
                        payload.extend_from_slice(part);
                    }
                }
                payload.push(b'e');
                assert_eq!(
                    AuditMessage::decode(&payload),
                    Err(WireError::SbAuditMissing { msg_type, field }),
                    "{msg_type} without {field}"
                );
            }
        }
        assert_eq!(
            AuditMessage::decode(b"d2:idi7ee"),
            Err(WireError::SbAuditNoMsgType)
        );
        assert_eq!(
            AuditMessage::decode(b"de"),
            Err(WireError::SbAuditNoMsgType)
        );
        // With several fields missing, the first in key order is named.
        for (payload, msg_type, field) in [
            (&b"d8:msg_typei0ee"[..], CHALLENGE, "epoch"),
            (b"d8:msg_typei1ee", BLOCK, "data"),
            (b"d8:msg_typei3ee", MISSING, "id"),
        ] {
            assert_eq!(
                AuditMessage::decode(payload),
                Err(WireError::SbAuditMissing { msg_type, field })
            );
        }
    }

    #[test]
    fn blocks_and_missings_need_a_sig_and_piece_parts_may_lack_one() {
        // Unsigned answers (this extension's encodings before signatures) are refused, naming
        // the field.
        assert_eq!(
            AuditMessage::decode(b"d4:data5:hello2:idi7e8:msg_typei1e5:proof0:e"),
            Err(WireError::SbAuditMissing {
                msg_type: BLOCK,
                field: "sig"
            })
        );
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e8:msg_typei3ee"),
            Err(WireError::SbAuditMissing {
                msg_type: MISSING,
                field: "sig"
            })
        );
        // A signature under another key is an unknown key, and does not count.
        assert_eq!(
            AuditMessage::decode(
                &[&b"d2:idi7e8:msg_typei3e9:signature65:"[..], &SIG, b"e"].concat()
            ),
            Err(WireError::SbAuditMissing {
                msg_type: MISSING,
                field: "sig"
            })
        );
        // Every part of a piece but the last goes without.
        assert_eq!(
            AuditMessage::decode(&piece_part_bytes(b"x", b"0", None)),
            Ok(AuditMessage::PiecePart {
                id: 7,
                offset: 0,
                data: Bytes::from_static(b"x"),
                sig: None
            })
        );
    }

    #[test]
    fn piece_parts_round_trip_with_and_without_a_sig() {
        let distinct: [u8; 65] = std::array::from_fn(|i| i as u8);
        for sig in [
            None,
            Some(SIG),
            Some(distinct),
            Some([0; 65]),
            Some([0xFF; 65]),
        ] {
            for (offset, data) in [
                (0u32, &b""[..]),
                (0, b"x"),
                (16_384, &[0x33; MAX_BLOCK_LEN as usize][..]),
                (u32::MAX, b"abc"),
            ] {
                let part = AuditMessage::PiecePart {
                    id: 7,
                    offset,
                    data: Bytes::copy_from_slice(data),
                    sig,
                };
                let bytes = piece_part_bytes(
                    data,
                    offset.to_string().as_bytes(),
                    sig.as_ref().map(|s| &s[..]),
                );
                assert_eq!(part.encode(), bytes);
                assert_eq!(AuditMessage::decode(&bytes), Ok(part));
            }
        }
    }

    #[test]
    fn sigs_must_be_65_bytes() {
        for len in [0usize, 1, 64, 66, 130] {
            let sig = vec![0x53; len];
            let refused = Err(WireError::SbAuditSigLength { found: len });
            assert_eq!(
                AuditMessage::decode(&block_bytes_signed(b"x", b"", &sig)),
                refused,
                "block, {len} bytes"
            );
            assert_eq!(
                AuditMessage::decode(&piece_part_bytes(b"x", b"0", Some(&sig))),
                refused,
                "piece part, {len} bytes"
            );
            assert_eq!(
                AuditMessage::decode(&missing_bytes(&sig)),
                refused,
                "missing, {len} bytes"
            );
        }
        // 65 bytes pass through as they are, in order.
        let sig: [u8; 65] = std::array::from_fn(|i| i as u8);
        let block = AuditMessage::Block {
            id: 7,
            data: Bytes::from_static(b"x"),
            proof: vec![],
            sig,
        };
        assert_eq!(block.encode(), block_bytes_signed(b"x", b"", &sig));
        assert_eq!(AuditMessage::decode(&block.encode()), Ok(block));
        let missing = AuditMessage::Missing { id: 7, sig };
        assert_eq!(missing.encode(), missing_bytes(&sig));
        assert_eq!(AuditMessage::decode(&missing.encode()), Ok(missing));
    }

    #[test]
    fn epochs_span_zero_to_i64_max() {
        for value in [-1i64, -9, -i64::MAX] {
            assert_eq!(
                AuditMessage::decode(&challenge_bytes(
                    value.to_string().as_bytes(),
                    b"7",
                    b"0",
                    b"3"
                )),
                Err(WireError::ExtensionFieldRange {
                    key: "sb_audit.epoch".to_owned(),
                    value,
                    min: 0,
                    max: i64::MAX
                }),
                "{value}"
            );
        }
        // Beyond bencode's integers.
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"9223372036854775808", b"7", b"0", b"3")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 9 }))
        );
        for epoch in [0u64, 1, u32::MAX.into(), 1 << 32, i64::MAX as u64] {
            let message = AuditMessage::Challenge {
                id: 7,
                epoch,
                piece: 3,
                offset: 0,
            };
            let bytes = challenge_bytes(epoch.to_string().as_bytes(), b"7", b"0", b"3");
            assert_eq!(message.encode(), bytes);
            assert_eq!(AuditMessage::decode(&bytes), Ok(message));
        }
        // An epoch bencode cannot carry is sent as i64::MAX, as `msg_type` is.
        let beyond = AuditMessage::Challenge {
            id: 7,
            epoch: u64::MAX,
            piece: 3,
            offset: 0,
        };
        assert_eq!(
            beyond.encode(),
            challenge_bytes(b"9223372036854775807", b"7", b"0", b"3")
        );
    }

    #[test]
    fn wrong_types_are_refused() {
        let integer = "an integer";
        let string = "a byte string";
        for (payload, key, expected) in [
            (with_sig(b"d2:id1:78:msg_typei3e"), "id", integer),
            (
                b"d5:epoch1:92:idi7e8:msg_typei0e6:offseti0e5:piecei3ee".to_vec(),
                "epoch",
                integer,
            ),
            (
                b"d5:epochi9e2:idi7e8:msg_typei0e6:offset1:05:piecei3ee".to_vec(),
                "offset",
                integer,
            ),
            (
                b"d5:epochi9e2:idi7e8:msg_typei0e6:offseti0e5:pieceli3eee".to_vec(),
                "piece",
                integer,
            ),
            (
                with_sig(b"d4:datai1e2:idi7e8:msg_typei1e5:proof0:"),
                "data",
                string,
            ),
            (
                with_sig(b"d4:data0:2:idi7e8:msg_typei1e5:proofde"),
                "proof",
                string,
            ),
            (
                b"d4:data0:2:idi7e8:msg_typei1e5:proof0:3:sigi1ee".to_vec(),
                "sig",
                string,
            ),
            (
                b"d4:datale2:idi7e8:msg_typei2e6:offseti0ee".to_vec(),
                "data",
                string,
            ),
            (
                b"d4:data0:2:idi7e8:msg_typei2e6:offset0:e".to_vec(),
                "offset",
                integer,
            ),
            (
                b"d4:data0:2:idi7e8:msg_typei2e6:offseti0e3:siglee".to_vec(),
                "sig",
                string,
            ),
            (b"d2:idi7e8:msg_typei3e3:sigdee".to_vec(), "sig", string),
            (b"d8:msg_type1:3e".to_vec(), "msg_type", integer),
        ] {
            assert_eq!(
                AuditMessage::decode(&payload),
                Err(WireError::ExtensionFieldType {
                    key: format!("sb_audit.{key}"),
                    expected
                }),
                "{}",
                String::from_utf8_lossy(&payload)
            );
        }
    }

    #[test]
    fn integers_outside_u32_are_refused() {
        let range = |key: &str, value: i64| WireError::ExtensionFieldRange {
            key: format!("sb_audit.{key}"),
            value,
            min: 0,
            max: u32::MAX.into(),
        };
        for value in [-1i64, 4_294_967_296, i64::MAX] {
            let text = value.to_string();
            let text = text.as_bytes();
            assert_eq!(
                AuditMessage::decode(&challenge_bytes(b"9", text, b"0", b"0")),
                Err(range("id", value))
            );
            assert_eq!(
                AuditMessage::decode(&challenge_bytes(b"9", b"0", b"0", text)),
                Err(range("piece", value))
            );
            assert_eq!(
                AuditMessage::decode(&piece_part_bytes(b"x", text, None)),
                Err(range("offset", value))
            );
            let missing = with_sig(format!("d2:idi{value}e8:msg_typei3e").as_bytes());
            assert_eq!(AuditMessage::decode(&missing), Err(range("id", value)));
        }
        // A challenge offset beyond 32 bits is refused as such even when block-aligned.
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"9", b"0", b"4294967296", b"0")),
            Err(range("offset", 1 << 32))
        );
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"9", b"0", b"-16384", b"0")),
            Err(range("offset", -16_384))
        );
        assert_eq!(
            AuditMessage::decode(b"d8:msg_typei-1ee"),
            Err(WireError::ExtensionFieldRange {
                key: "sb_audit.msg_type".to_owned(),
                value: -1,
                min: 0,
                max: i64::MAX
            })
        );
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"9", b"9223372036854775808", b"0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 16 }))
        );
    }

    #[test]
    fn challenge_offsets_must_be_block_aligned() {
        for offset in [1u32, 16_383, 16_385, 32_767, u32::MAX] {
            assert_eq!(
                AuditMessage::decode(&challenge_bytes(
                    b"9",
                    b"7",
                    offset.to_string().as_bytes(),
                    b"3"
                )),
                Err(WireError::SbAuditOffsetMisaligned { offset }),
                "{offset}"
            );
        }
        for offset in [0u32, 16_384, 1 << 30, u32::MAX - (BLOCK_SIZE - 1)] {
            let message = AuditMessage::Challenge {
                id: 7,
                epoch: 9,
                piece: 3,
                offset,
            };
            assert_eq!(AuditMessage::decode(&message.encode()), Ok(message));
        }
    }

    #[test]
    fn data_over_one_block_is_refused() {
        let long = vec![b'x'; MAX_BLOCK_LEN as usize + 1];
        let too_long = Err(WireError::SbAuditTooLong {
            field: "data",
            max: 16_384,
            found: 16_385,
        });
        assert_eq!(AuditMessage::decode(&block_bytes(&long, b"")), too_long);
        assert_eq!(
            AuditMessage::decode(&piece_part_bytes(&long, b"0", None)),
            too_long
        );
        assert_eq!(
            AuditMessage::decode(&piece_part_bytes(&long, b"0", Some(&SIG))),
            too_long
        );
        let huge = [&b"d4:data"[..], b"1048576:", &vec![0; 1 << 20], b"e"].concat();
        assert!(matches!(
            AuditMessage::decode(
                &[&huge[..huge.len() - 1], b"2:idi7e8:msg_typei2e6:offseti0ee"].concat()
            ),
            Err(WireError::SbAuditTooLong {
                field: "data",
                found: 1_048_576,
                ..
            })
        ));
    }

    #[test]
    fn proofs_must_be_whole_hashes_and_at_most_64() {
        for len in [1usize, 31, 33, 63, 65, 2_047, 2_049, 2_081] {
            assert_eq!(
                AuditMessage::decode(&block_bytes(b"x", &vec![0; len])),
                Err(WireError::SbAuditProofNotWhole { len }),
                "{len}"
            );
        }
        for hashes in [65usize, 66, 1_000] {
            assert_eq!(
                AuditMessage::decode(&block_bytes(b"x", &vec![0; 32 * hashes])),
                Err(WireError::SbAuditTooLong {
                    field: "proof",
                    max: 2_048,
                    found: 32 * hashes
                }),
                "{hashes} hashes"
            );
        }
        for hashes in [0usize, 1, 50, 64] {
            let proof = vec![HASH_B; hashes];
            assert_eq!(
                AuditMessage::decode(&block_bytes(b"x", proof.as_flattened())),
                Ok(block(b"x", &proof))
            );
        }
    }

    #[test]
    fn non_canonical_bencode_is_refused() {
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"09", b"7", b"0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 9 }))
        );
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"9", b"07", b"0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 16 }))
        );
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"9", b"7", b"-0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 40 }))
        );
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e2:idi7e8:msg_typei3ee"),
            Err(WireError::Bencode(BencodeError::DuplicateKey { offset: 8 }))
        );
        assert_eq!(
            AuditMessage::decode(b"d5:epochi9e2:idi7e8:msg_typei0e5:piecei3e6:offseti0ee"),
            Err(WireError::SbAuditKeyOrder {
                key: "offset".to_owned(),
                previous: "piece".to_owned()
            })
        );
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e5:epochi9e8:msg_typei0e6:offseti0e5:piecei3ee"),
            Err(WireError::SbAuditKeyOrder {
                key: "epoch".to_owned(),
                previous: "id".to_owned()
            })
        );
        assert_eq!(
            AuditMessage::decode(
                &[
                    &b"d4:data0:2:idi7e8:msg_typei1e"[..],
                    &sig_entry(&SIG),
                    b"5:proof0:e"
                ]
                .concat()
            ),
            Err(WireError::SbAuditKeyOrder {
                key: "proof".to_owned(),
                previous: "sig".to_owned()
            })
        );
        assert_eq!(
            AuditMessage::decode(&[&b"d8:msg_typei3e"[..], &sig_entry(&SIG), b"2:idi7ee"].concat()),
            Err(WireError::SbAuditKeyOrder {
                key: "id".to_owned(),
                previous: "sig".to_owned()
            })
        );
        // Unknown keys must sit in order too, also in unknown types.
        assert_eq!(
            AuditMessage::decode(b"d8:msg_typei9e1:ai0ee"),
            Err(WireError::SbAuditKeyOrder {
                key: "a".to_owned(),
                previous: "msg_type".to_owned()
            })
        );
    }

    #[test]
    fn trailing_data_is_refused() {
        for message in [challenge(), missing()] {
            let mut payload = message.encode();
            let end = payload.len();
            payload.extend_from_slice(b"de");
            assert_eq!(
                AuditMessage::decode(&payload),
                Err(WireError::Bencode(BencodeError::TrailingBytes {
                    offset: end,
                    count: 2
                }))
            );
        }
        let mut payload = missing_bytes(&SIG);
        payload.push(0);
        assert_eq!(
            AuditMessage::decode(&payload),
            Err(WireError::Bencode(BencodeError::TrailingBytes {
                offset: 95,
                count: 1
            }))
        );
    }

    #[test]
    fn non_dictionaries_and_truncations_are_refused() {
        for payload in [&b"i0e"[..], b"le", b"8:msg_type", b"ld2:idi7eee"] {
            assert_eq!(
                AuditMessage::decode(payload),
                Err(WireError::SbAuditNotDict),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert_eq!(
            AuditMessage::decode(b""),
            Err(WireError::Bencode(BencodeError::UnexpectedEnd {
                offset: 0
            }))
        );
        let last_part = AuditMessage::PiecePart {
            id: 7,
            offset: 0,
            data: Bytes::from_static(b"abc"),
            sig: Some(SIG),
        };
        for whole in [
            challenge().encode(),
            block(b"abc", &[HASH_A]).encode(),
            last_part.encode(),
            missing().encode(),
        ] {
            for cut in 1..whole.len() {
                assert!(
                    matches!(
                        AuditMessage::decode(&whole[..cut]),
                        Err(WireError::Bencode(_))
                    ),
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn msg_type_matches_the_encoding() {
        for message in [
            challenge(),
            block(b"abc", &[HASH_A]),
            AuditMessage::PiecePart {
                id: 1,
                offset: 2,
                data: Bytes::from_static(b"z"),
                sig: None,
            },
            AuditMessage::PiecePart {
                id: 1,
                offset: 2,
                data: Bytes::from_static(b"z"),
                sig: Some(SIG),
            },
            AuditMessage::Missing { id: 1, sig: SIG },
            AuditMessage::Unknown { msg_type: 9 },
        ] {
            let expected = format!("8:msg_typei{}e", message.msg_type());
            let encoded = message.encode();
            assert!(
                encoded
                    .windows(expected.len())
                    .any(|window| window == expected.as_bytes()),
                "{message:?}"
            );
            assert_eq!(AuditMessage::decode(&encoded), Ok(message));
        }
    }
}
