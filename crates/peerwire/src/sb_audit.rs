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
use crate::sb_dict::{Dialect, put_msg_type, read_fields};
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
    },
    /// `msg_type` 3, node to auditor: the node does not have the challenged block.
    Missing {
        /// The challenge's id.
        id: u32,
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
            AuditMessage::Challenge { id, piece, offset } => {
                put_id(&mut out, *id);
                put_msg_type(&mut out, CHALLENGE);
                put_u32(&mut out, b"offset", *offset);
                put_u32(&mut out, b"piece", *piece);
            }
            AuditMessage::Block { id, data, proof } => {
                out.reserve(data.len() + 32 * proof.len() + 64);
                put_data(&mut out, data);
                put_id(&mut out, *id);
                put_msg_type(&mut out, BLOCK);
                bencode::put_bytes(&mut out, b"proof");
                bencode::put_bytes(&mut out, proof.as_flattened());
            }
            AuditMessage::PiecePart { id, offset, data } => {
                out.reserve(data.len() + 64);
                put_data(&mut out, data);
                put_id(&mut out, *id);
                put_msg_type(&mut out, PIECE_PART);
                put_u32(&mut out, b"offset", *offset);
            }
            AuditMessage::Missing { id } => {
                put_id(&mut out, *id);
                put_msg_type(&mut out, MISSING);
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
                (CHALLENGE, b"piece") => piece = Some(u32_field(reader, "piece")?),
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
                id: DIALECT.required(id, CHALLENGE, "id")?,
                offset: DIALECT.required(offset, CHALLENGE, "offset")?,
                piece: DIALECT.required(piece, CHALLENGE, "piece")?,
            }),
            BLOCK => Ok(AuditMessage::Block {
                data: DIALECT.required(data, BLOCK, "data")?,
                id: DIALECT.required(id, BLOCK, "id")?,
                proof: DIALECT.required(proof, BLOCK, "proof")?,
            }),
            PIECE_PART => Ok(AuditMessage::PiecePart {
                data: DIALECT.required(data, PIECE_PART, "data")?,
                id: DIALECT.required(id, PIECE_PART, "id")?,
                offset: DIALECT.required(offset, PIECE_PART, "offset")?,
            }),
            MISSING => Ok(AuditMessage::Missing {
                id: DIALECT.required(id, MISSING, "id")?,
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

    fn challenge() -> AuditMessage {
        AuditMessage::Challenge {
            id: 7,
            piece: 3,
            offset: 32_768,
        }
    }

    /// A block answer carrying `data` and `proof`, written out by hand.
    fn block_bytes(data: &[u8], proof: &[u8]) -> Vec<u8> {
        [
            format!("d4:data{}:", data.len()).as_bytes(),
            data,
            format!("2:idi7e8:msg_typei1e5:proof{}:", proof.len()).as_bytes(),
            proof,
            b"e",
        ]
        .concat()
    }

    fn piece_part_bytes(data: &[u8], offset: &[u8]) -> Vec<u8> {
        [
            format!("d4:data{}:", data.len()).as_bytes(),
            data,
            b"2:idi7e8:msg_typei2e6:offseti",
            offset,
            b"ee",
        ]
        .concat()
    }

    fn challenge_bytes(id: &[u8], offset: &[u8], piece: &[u8]) -> Vec<u8> {
        [
            &b"d2:idi"[..],
            id,
            b"e8:msg_typei0e6:offseti",
            offset,
            b"e5:piecei",
            piece,
            b"ee",
        ]
        .concat()
    }

    fn block(data: &[u8], proof: &[[u8; 32]]) -> AuditMessage {
        AuditMessage::Block {
            id: 7,
            data: Bytes::copy_from_slice(data),
            proof: proof.to_vec(),
        }
    }

    #[test]
    fn challenge_encodes_to_the_documented_bytes() {
        let expected: &[u8] = b"d2:idi7e8:msg_typei0e6:offseti32768e5:piecei3ee";
        assert_eq!(challenge().encode(), expected);
        assert_eq!(AuditMessage::decode(expected), Ok(challenge()));

        let extreme = AuditMessage::Challenge {
            id: u32::MAX,
            piece: u32::MAX,
            offset: u32::MAX - (BLOCK_SIZE - 1),
        };
        let bytes = challenge_bytes(b"4294967295", b"4294950912", b"4294967295");
        assert_eq!(extreme.encode(), bytes);
        assert_eq!(AuditMessage::decode(&bytes), Ok(extreme));

        let zero = AuditMessage::Challenge {
            id: 0,
            piece: 0,
            offset: 0,
        };
        assert_eq!(zero.encode(), challenge_bytes(b"0", b"0", b"0"));
        assert_eq!(AuditMessage::decode(&zero.encode()), Ok(zero));
    }

    #[test]
    fn block_encodes_to_the_documented_bytes() {
        // A file of one block: the leaf is the root, so there is nothing to prove.
        let small: &[u8] = b"d4:data5:hello2:idi7e8:msg_typei1e5:proof0:e";
        assert_eq!(block(b"hello", &[]).encode(), small);
        assert_eq!(AuditMessage::decode(small), Ok(block(b"hello", &[])));

        let two: &[u8] = b"d4:data3:abc2:idi7e8:msg_typei1e5:proof64:\
            AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBe";
        assert_eq!(block(b"abc", &[HASH_A, HASH_B]).encode(), two);
        assert_eq!(
            AuditMessage::decode(two),
            Ok(block(b"abc", &[HASH_A, HASH_B]))
        );

        // The largest answer: a whole block and the longest proof.
        let data = vec![0xD7; MAX_BLOCK_LEN as usize];
        let proof = vec![HASH_A; MAX_PROOF_HASHES];
        let bytes = block_bytes(&data, proof.as_flattened());
        assert_eq!(bytes.len(), 13 + 16_384 + 32 + 2_048 + 1);
        assert_eq!(block(&data, &proof).encode(), bytes);
        assert_eq!(AuditMessage::decode(&bytes), Ok(block(&data, &proof)));
        // With the longest id too: the size docs/protocol.md gives as the largest message.
        let largest = AuditMessage::Block {
            id: u32::MAX,
            data: Bytes::from(data),
            proof,
        };
        assert_eq!(largest.encode().len(), 18_487);

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
        };
        let expected: &[u8] = b"d4:data3:abc2:idi7e8:msg_typei2e6:offseti16384ee";
        assert_eq!(part.encode(), expected);
        assert_eq!(AuditMessage::decode(expected), Ok(part));

        // Parts need not start at a block boundary, and may be as long as a block.
        let data = vec![0x33; MAX_BLOCK_LEN as usize];
        let odd = AuditMessage::PiecePart {
            id: 7,
            offset: u32::MAX,
            data: Bytes::from(data.clone()),
        };
        let bytes = piece_part_bytes(&data, b"4294967295");
        assert_eq!(odd.encode(), bytes);
        assert_eq!(AuditMessage::decode(&bytes), Ok(odd));
    }

    #[test]
    fn missing_encodes_to_the_documented_bytes() {
        let missing = AuditMessage::Missing { id: 7 };
        assert_eq!(missing.encode(), b"d2:idi7e8:msg_typei3ee");
        assert_eq!(AuditMessage::decode(b"d2:idi7e8:msg_typei3ee"), Ok(missing));
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
                b"d4:datai1e2:id2:xx8:msg_typei5e6:offseti1e5:piecei-1e5:proof1:xe",
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
        let payload =
            b"d1:ad1:bl1:cee2:idi7e3:idxi-1e8:msg_typei0e6:offseti32768e5:piecei3e2:zzli1eee";
        assert_eq!(AuditMessage::decode(payload), Ok(challenge()));
        // Other types' fields, even with values those types would refuse.
        let payload = b"d4:data2:xx2:idi7e8:msg_typei0e6:offseti32768e5:piecei3e5:proof1:xe";
        assert_eq!(AuditMessage::decode(payload), Ok(challenge()));
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e8:msg_typei3e6:offseti1e5:piecei-5ee"),
            Ok(AuditMessage::Missing { id: 7 })
        );
        let mut block = block_bytes(b"abc", &HASH_A);
        let at = block.len() - (b"5:proof32:".len() + 32 + 1);
        block.splice(at..at, b"6:offseti1e5:piece0:".iter().copied());
        assert_eq!(
            AuditMessage::decode(&block),
            Ok(self::block(b"abc", &[HASH_A]))
        );
        assert_eq!(
            AuditMessage::decode(b"d4:data1:x2:idi7e8:msg_typei2e6:offseti0e5:piecei1e5:proof1:xe"),
            Ok(AuditMessage::PiecePart {
                id: 7,
                offset: 0,
                data: Bytes::from_static(b"x")
            })
        );
    }

    #[test]
    fn every_missing_field_is_named() {
        // Each type's keys and their encodings, in order.
        type Parts = &'static [(&'static str, &'static [u8])];
        let cases: [(u64, Parts); 4] = [
            (
                CHALLENGE,
                &[
                    ("id", b"2:idi7e"),
                    ("msg_type", b"8:msg_typei0e"),
                    ("offset", b"6:offseti0e"),
                    ("piece", b"5:piecei3e"),
                ],
            ),
            (
                BLOCK,
                &[
                    ("data", b"4:data1:x"),
                    ("id", b"2:idi7e"),
                    ("msg_type", b"8:msg_typei1e"),
                    ("proof", b"5:proof0:"),
                ],
            ),
            (
                PIECE_PART,
                &[
                    ("data", b"4:data1:x"),
                    ("id", b"2:idi7e"),
                    ("msg_type", b"8:msg_typei2e"),
                    ("offset", b"6:offseti0e"),
                ],
            ),
            (
                MISSING,
                &[("id", b"2:idi7e"), ("msg_type", b"8:msg_typei3e")],
            ),
        ];
        for (msg_type, parts) in cases {
            let whole = [
                &b"d"[..],
                &parts.iter().map(|(_, p)| *p).collect::<Vec<_>>().concat(),
                b"e",
            ]
            .concat();
            assert_eq!(
                AuditMessage::decode(&whole).map(|m| m.msg_type()),
                Ok(msg_type)
            );
            for (field, _) in parts.iter().filter(|(name, _)| *name != "msg_type") {
                let mut payload = b"d".to_vec();
                for (name, part) in parts {
                    if name != field {
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
        assert_eq!(
            AuditMessage::decode(b"d8:msg_typei1ee"),
            Err(WireError::SbAuditMissing {
                msg_type: BLOCK,
                field: "data"
            })
        );
    }

    #[test]
    fn wrong_types_are_refused() {
        let integer = "an integer";
        let string = "a byte string";
        for (payload, key, expected) in [
            (&b"d2:id1:78:msg_typei3ee"[..], "id", integer),
            (
                b"d2:idi7e8:msg_typei0e6:offset1:05:piecei3ee",
                "offset",
                integer,
            ),
            (
                b"d2:idi7e8:msg_typei0e6:offseti0e5:pieceli3eee",
                "piece",
                integer,
            ),
            (b"d4:datai1e2:idi7e8:msg_typei1e5:proof0:e", "data", string),
            (b"d4:data0:2:idi7e8:msg_typei1e5:proofdee", "proof", string),
            (b"d4:datale2:idi7e8:msg_typei2e6:offseti0ee", "data", string),
            (
                b"d4:data0:2:idi7e8:msg_typei2e6:offset0:e",
                "offset",
                integer,
            ),
            (b"d8:msg_type1:3e", "msg_type", integer),
        ] {
            assert_eq!(
                AuditMessage::decode(payload),
                Err(WireError::ExtensionFieldType {
                    key: format!("sb_audit.{key}"),
                    expected
                }),
                "{}",
                String::from_utf8_lossy(payload)
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
                AuditMessage::decode(&challenge_bytes(text, b"0", b"0")),
                Err(range("id", value))
            );
            assert_eq!(
                AuditMessage::decode(&challenge_bytes(b"0", b"0", text)),
                Err(range("piece", value))
            );
            assert_eq!(
                AuditMessage::decode(&piece_part_bytes(b"x", text)),
                Err(range("offset", value))
            );
            let missing = format!("d2:idi{value}e8:msg_typei3ee");
            assert_eq!(
                AuditMessage::decode(missing.as_bytes()),
                Err(range("id", value))
            );
        }
        // A challenge offset beyond 32 bits is refused as such even when block-aligned.
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"0", b"4294967296", b"0")),
            Err(range("offset", 1 << 32))
        );
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"0", b"-16384", b"0")),
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
            AuditMessage::decode(&challenge_bytes(b"9223372036854775808", b"0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 6 }))
        );
    }

    #[test]
    fn challenge_offsets_must_be_block_aligned() {
        for offset in [1u32, 16_383, 16_385, 32_767, u32::MAX] {
            assert_eq!(
                AuditMessage::decode(&challenge_bytes(b"7", offset.to_string().as_bytes(), b"3")),
                Err(WireError::SbAuditOffsetMisaligned { offset }),
                "{offset}"
            );
        }
        for offset in [0u32, 16_384, 1 << 30, u32::MAX - (BLOCK_SIZE - 1)] {
            let message = AuditMessage::Challenge {
                id: 7,
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
            AuditMessage::decode(&piece_part_bytes(&long, b"0")),
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
            AuditMessage::decode(&challenge_bytes(b"07", b"0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 6 }))
        );
        assert_eq!(
            AuditMessage::decode(&challenge_bytes(b"7", b"-0", b"0")),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 30 }))
        );
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e2:idi7e8:msg_typei3ee"),
            Err(WireError::Bencode(BencodeError::DuplicateKey { offset: 8 }))
        );
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e8:msg_typei0e5:piecei3e6:offseti0ee"),
            Err(WireError::SbAuditKeyOrder {
                key: "offset".to_owned(),
                previous: "piece".to_owned()
            })
        );
        assert_eq!(
            AuditMessage::decode(b"d8:msg_typei3e2:idi7ee"),
            Err(WireError::SbAuditKeyOrder {
                key: "id".to_owned(),
                previous: "msg_type".to_owned()
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
        let mut payload = challenge().encode();
        let end = payload.len();
        payload.extend_from_slice(b"de");
        assert_eq!(
            AuditMessage::decode(&payload),
            Err(WireError::Bencode(BencodeError::TrailingBytes {
                offset: end,
                count: 2
            }))
        );
        assert_eq!(
            AuditMessage::decode(b"d2:idi7e8:msg_typei3ee\0"),
            Err(WireError::Bencode(BencodeError::TrailingBytes {
                offset: 22,
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
        for whole in [challenge().encode(), block(b"abc", &[HASH_A]).encode()] {
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
            },
            AuditMessage::Missing { id: 1 },
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
