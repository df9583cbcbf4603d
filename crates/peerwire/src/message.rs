//! Peer wire messages (BEP 3, 6, 10, 52): their encoding and strict decoding.
//!
//! Decoding is pure: a frame body and the torrent's [`Limits`] in, a [`Message`] or a
//! [`WireError`] out. It checks everything the bytes alone can prove wrong (lengths, ranges, spare
//! bits, hash-range shape). Whether a message is allowed *now* (a bitfield after other messages,
//! fast-extension messages from a peer that did not negotiate BEP 6, a piece nobody requested)
//! depends on connection state and is the engine's to judge.

use bytes::Bytes;

use crate::WireError;
use crate::limits::{HASH_REQUEST_LEN, Limits, MAX_BLOCK_LEN, MAX_TREE_LAYER};

/// Message ids as they appear in the first byte of a frame body.
pub mod id {
    /// BEP 3 `choke`.
    pub const CHOKE: u8 = 0;
    /// BEP 3 `unchoke`.
    pub const UNCHOKE: u8 = 1;
    /// BEP 3 `interested`.
    pub const INTERESTED: u8 = 2;
    /// BEP 3 `not interested`.
    pub const NOT_INTERESTED: u8 = 3;
    /// BEP 3 `have`.
    pub const HAVE: u8 = 4;
    /// BEP 3 `bitfield`.
    pub const BITFIELD: u8 = 5;
    /// BEP 3 `request`.
    pub const REQUEST: u8 = 6;
    /// BEP 3 `piece`.
    pub const PIECE: u8 = 7;
    /// BEP 3 `cancel`.
    pub const CANCEL: u8 = 8;
    /// BEP 5 `port` (DHT listen port).
    pub const PORT: u8 = 9;
    /// BEP 6 `suggest piece`.
    pub const SUGGEST_PIECE: u8 = 13;
    /// BEP 6 `have all`.
    pub const HAVE_ALL: u8 = 14;
    /// BEP 6 `have none`.
    pub const HAVE_NONE: u8 = 15;
    /// BEP 6 `reject request`.
    pub const REJECT_REQUEST: u8 = 16;
    /// BEP 6 `allowed fast`.
    pub const ALLOWED_FAST: u8 = 17;
    /// BEP 10 `extended`.
    pub const EXTENDED: u8 = 20;
    /// BEP 52 `hash request`.
    pub const HASH_REQUEST: u8 = 21;
    /// BEP 52 `hashes`.
    pub const HASHES: u8 = 22;
    /// BEP 52 `hash reject`.
    pub const HASH_REJECT: u8 = 23;
}

/// One block of one piece, as named by `request`, `cancel` and `reject request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// Piece index.
    pub index: u32,
    /// Byte offset inside the piece.
    pub begin: u32,
    /// Block length in bytes, 1..=16 KiB.
    pub length: u32,
}

/// A range of hashes in one file's Merkle tree (BEP 52), as named by `hash request`, `hashes` and
/// `hash reject`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HashRequest {
    /// Root of the file's Merkle tree (its `pieces root`).
    pub pieces_root: [u8; 32],
    /// Layer of the requested hashes, counted from the 16 KiB leaves (0).
    pub base_layer: u32,
    /// Offset of the first requested hash within the base layer; a multiple of `length`.
    pub index: u32,
    /// Number of base-layer hashes, a power of two.
    pub length: u32,
    /// Number of ancestor layers whose uncle hashes prove the range against the root.
    pub proof_layers: u32,
}

impl HashRequest {
    /// How many hashes a `hashes` reply to this request carries: the `length` base-layer hashes
    /// followed by the uncle hashes.
    ///
    /// With `length = 2^k`, the range determines its own subtree root at layer `base_layer + k`.
    /// The uncles are the siblings on the path from there up, one per layer from
    /// `base_layer + k` to `base_layer + proof_layers`, which proves the range up to layer
    /// `base_layer + proof_layers + 1`: `proof_layers + 1 - k` uncles, never negative. This is
    /// BEP 52's "the first log2(length) - 1 proof layers are omitted" and exactly the count
    /// libtorrent 2.0 demands of a reply (it refuses any other size).
    ///
    /// For `length = 1` (which BEP 52 forbids but libtorrent sends) the rule gives
    /// `proof_layers + 1` uncles, the first being the hash's own sibling; libtorrent 2.0.8
    /// agrees when receiving but *sends* one fewer. Requests we send always have `length >= 2`,
    /// where both directions agree.
    pub fn reply_hash_count(&self) -> u64 {
        let implied = self.length.checked_ilog2().unwrap_or(0);
        let uncles = (u64::from(self.proof_layers) + 1).saturating_sub(u64::from(implied));
        u64::from(self.length) + uncles
    }
}

/// One peer wire message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Empty frame; keeps idle connections open.
    KeepAlive,
    /// The sender will not serve requests.
    Choke,
    /// The sender will serve requests.
    Unchoke,
    /// The sender wants pieces the receiver has.
    Interested,
    /// The sender wants nothing from the receiver.
    NotInterested,
    /// The sender completed and verified a piece.
    Have {
        /// Piece index.
        index: u32,
    },
    /// The sender's pieces, BEP 3 bit order; exactly `ceil(piece_count / 8)` bytes, spare bits
    /// zero. See [`Bitfield`](crate::bitfield::Bitfield) to work with it.
    Bitfield(Bytes),
    /// Ask for a block.
    Request(BlockRef),
    /// A block of data.
    Piece {
        /// Piece index.
        index: u32,
        /// Byte offset inside the piece.
        begin: u32,
        /// The block, 1..=16 KiB.
        data: Bytes,
    },
    /// Withdraw a request.
    Cancel(BlockRef),
    /// BEP 5: the sender's DHT port. Private swarms ignore it, but legacy peers may send it.
    Port(u16),
    /// BEP 6: the sender recommends downloading this piece.
    SuggestPiece {
        /// Piece index.
        index: u32,
    },
    /// BEP 6: the sender has every piece (replaces a full bitfield).
    HaveAll,
    /// BEP 6: the sender has no piece (replaces an empty bitfield).
    HaveNone,
    /// BEP 6: the sender will not serve this request.
    RejectRequest(BlockRef),
    /// BEP 6: the sender will serve this piece even while choking the receiver.
    AllowedFast {
        /// Piece index.
        index: u32,
    },
    /// BEP 10: extension message. Id 0 is the extension handshake; any other id is one the
    /// *receiver* assigned in its own handshake (see
    /// [`ExtensionRegistry`](crate::extension::ExtensionRegistry)).
    Extended {
        /// Extended message id.
        id: u8,
        /// Extension-specific payload.
        payload: Bytes,
    },
    /// BEP 52: ask for a range of Merkle tree hashes.
    HashRequest(HashRequest),
    /// BEP 52: the answer to a hash request.
    Hashes {
        /// The request being answered.
        request: HashRequest,
        /// `request.length` base-layer hashes followed by the uncle hashes, lowest layer first;
        /// exactly [`HashRequest::reply_hash_count`] entries.
        hashes: Vec<[u8; 32]>,
    },
    /// BEP 52: the sender will not serve this hash request.
    HashReject(HashRequest),
}

impl Message {
    /// The message id byte, or `None` for a keep-alive (which has no body).
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => id::CHOKE,
            Message::Unchoke => id::UNCHOKE,
            Message::Interested => id::INTERESTED,
            Message::NotInterested => id::NOT_INTERESTED,
            Message::Have { .. } => id::HAVE,
            Message::Bitfield(_) => id::BITFIELD,
            Message::Request(_) => id::REQUEST,
            Message::Piece { .. } => id::PIECE,
            Message::Cancel(_) => id::CANCEL,
            Message::Port(_) => id::PORT,
            Message::SuggestPiece { .. } => id::SUGGEST_PIECE,
            Message::HaveAll => id::HAVE_ALL,
            Message::HaveNone => id::HAVE_NONE,
            Message::RejectRequest(_) => id::REJECT_REQUEST,
            Message::AllowedFast { .. } => id::ALLOWED_FAST,
            Message::Extended { .. } => id::EXTENDED,
            Message::HashRequest(_) => id::HASH_REQUEST,
            Message::Hashes { .. } => id::HASHES,
            Message::HashReject(_) => id::HASH_REJECT,
        })
    }

    /// Size of the frame body (without the 4-byte length prefix).
    pub fn body_len(&self) -> usize {
        let payload = match self {
            Message::KeepAlive => return 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 0,
            Message::Have { .. } | Message::SuggestPiece { .. } | Message::AllowedFast { .. } => 4,
            Message::Bitfield(bits) => bits.len(),
            Message::Request(_) | Message::Cancel(_) | Message::RejectRequest(_) => 12,
            Message::Piece { data, .. } => 8 + data.len(),
            Message::Port(_) => 2,
            Message::Extended { payload, .. } => 1 + payload.len(),
            Message::HashRequest(_) | Message::HashReject(_) => HASH_REQUEST_LEN,
            Message::Hashes { hashes, .. } => HASH_REQUEST_LEN + 32 * hashes.len(),
        };
        1 + payload
    }

    /// Appends the length-prefixed frame to `out`.
    ///
    /// Encoding trusts the caller: it writes what the message holds without applying
    /// [`Limits`], so the engine must not build messages it would refuse to receive.
    ///
    /// # Panics
    ///
    /// If the body exceeds `u32::MAX` bytes, which no frame can express. Only a local bug can
    /// produce such a message; data from peers is bounded far below this by decoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let body_len = self.body_len();
        let prefix = u32::try_from(body_len)
            .unwrap_or_else(|_| panic!("peer wire frame body of {body_len} bytes exceeds u32"));
        out.reserve(4 + body_len);
        out.extend_from_slice(&prefix.to_be_bytes());
        let Some(message_id) = self.id() else {
            return;
        };
        out.push(message_id);
        match self {
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => {}
            Message::Have { index }
            | Message::SuggestPiece { index }
            | Message::AllowedFast { index } => out.extend_from_slice(&index.to_be_bytes()),
            Message::Bitfield(bits) => out.extend_from_slice(bits),
            Message::Request(block) | Message::Cancel(block) | Message::RejectRequest(block) => {
                put_block(out, block)
            }
            Message::Piece { index, begin, data } => {
                out.extend_from_slice(&index.to_be_bytes());
                out.extend_from_slice(&begin.to_be_bytes());
                out.extend_from_slice(data);
            }
            Message::Port(port) => out.extend_from_slice(&port.to_be_bytes()),
            Message::Extended { id, payload } => {
                out.push(*id);
                out.extend_from_slice(payload);
            }
            Message::HashRequest(request) | Message::HashReject(request) => {
                put_hash_request(out, request)
            }
            Message::Hashes { request, hashes } => {
                put_hash_request(out, request);
                for hash in hashes {
                    out.extend_from_slice(hash);
                }
            }
        }
    }

    /// Decodes one frame body: the bytes after the 4-byte length prefix, where an empty body is a
    /// keep-alive. Every check of the module documentation is applied; the first one that fails
    /// is the error.
    ///
    /// `Bitfield`, `Piece` and `Extended` keep slices of `body` rather than copying, so a block
    /// read off the socket reaches storage without another copy.
    pub fn decode(body: Bytes, limits: &Limits) -> Result<Message, WireError> {
        let Some(&message_id) = body.first() else {
            return Ok(Message::KeepAlive);
        };
        let payload = body.slice(1..);
        let p = &payload[..];
        match message_id {
            id::CHOKE => exact(p, "choke", 0).map(|_| Message::Choke),
            id::UNCHOKE => exact(p, "unchoke", 0).map(|_| Message::Unchoke),
            id::INTERESTED => exact(p, "interested", 0).map(|_| Message::Interested),
            id::NOT_INTERESTED => exact(p, "not interested", 0).map(|_| Message::NotInterested),
            id::HAVE => piece_index(p, "have", limits).map(|index| Message::Have { index }),
            id::BITFIELD => {
                check_bitfield(p, limits)?;
                Ok(Message::Bitfield(payload))
            }
            id::REQUEST => block_ref(p, "request", limits).map(Message::Request),
            id::PIECE => decode_piece(&payload, limits),
            id::CANCEL => block_ref(p, "cancel", limits).map(Message::Cancel),
            id::PORT => {
                exact(p, "port", 2)?;
                Ok(Message::Port(u16::from_be_bytes([p[0], p[1]])))
            }
            id::SUGGEST_PIECE => {
                piece_index(p, "suggest piece", limits).map(|index| Message::SuggestPiece { index })
            }
            id::HAVE_ALL => exact(p, "have all", 0).map(|_| Message::HaveAll),
            id::HAVE_NONE => exact(p, "have none", 0).map(|_| Message::HaveNone),
            id::REJECT_REQUEST => {
                block_ref(p, "reject request", limits).map(Message::RejectRequest)
            }
            id::ALLOWED_FAST => {
                piece_index(p, "allowed fast", limits).map(|index| Message::AllowedFast { index })
            }
            id::EXTENDED => decode_extended(&payload, limits),
            id::HASH_REQUEST => {
                exact(p, "hash request", HASH_REQUEST_LEN)?;
                hash_request(p, limits).map(Message::HashRequest)
            }
            id::HASHES => decode_hashes(p, limits),
            id::HASH_REJECT => {
                exact(p, "hash reject", HASH_REQUEST_LEN)?;
                hash_request(p, limits).map(Message::HashReject)
            }
            other => Err(WireError::UnknownMessageId { id: other }),
        }
    }
}

fn put_block(out: &mut Vec<u8>, block: &BlockRef) {
    out.extend_from_slice(&block.index.to_be_bytes());
    out.extend_from_slice(&block.begin.to_be_bytes());
    out.extend_from_slice(&block.length.to_be_bytes());
}

fn put_hash_request(out: &mut Vec<u8>, request: &HashRequest) {
    out.extend_from_slice(&request.pieces_root);
    out.extend_from_slice(&request.base_layer.to_be_bytes());
    out.extend_from_slice(&request.index.to_be_bytes());
    out.extend_from_slice(&request.length.to_be_bytes());
    out.extend_from_slice(&request.proof_layers.to_be_bytes());
}

fn exact(payload: &[u8], message: &'static str, expected: usize) -> Result<(), WireError> {
    if payload.len() == expected {
        Ok(())
    } else {
        Err(WireError::PayloadLength {
            message,
            expected,
            found: payload.len(),
        })
    }
}

fn at_least(payload: &[u8], message: &'static str, min: usize) -> Result<(), WireError> {
    if payload.len() >= min {
        Ok(())
    } else {
        Err(WireError::PayloadTooShort {
            message,
            min,
            found: payload.len(),
        })
    }
}

/// Big-endian u32 at `at`; callers have checked the payload length beforehand.
fn be_u32(payload: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&payload[at..at + 4]);
    u32::from_be_bytes(word)
}

fn check_index(index: u32, limits: &Limits) -> Result<u32, WireError> {
    if index < limits.piece_count {
        Ok(index)
    } else {
        Err(WireError::PieceIndexOutOfRange {
            index,
            piece_count: limits.piece_count,
        })
    }
}

fn piece_index(payload: &[u8], message: &'static str, limits: &Limits) -> Result<u32, WireError> {
    exact(payload, message, 4)?;
    check_index(be_u32(payload, 0), limits)
}

/// Checks a block's extent; shared by request-like messages and piece data.
fn check_block(begin: u32, length: u32) -> Result<(), WireError> {
    if length == 0 || length > MAX_BLOCK_LEN {
        return Err(WireError::BlockLength {
            length,
            max: MAX_BLOCK_LEN,
        });
    }
    if begin.checked_add(length).is_none() {
        return Err(WireError::BlockRangeOverflow { begin, length });
    }
    Ok(())
}

fn block_ref(
    payload: &[u8],
    message: &'static str,
    limits: &Limits,
) -> Result<BlockRef, WireError> {
    exact(payload, message, 12)?;
    let block = BlockRef {
        index: check_index(be_u32(payload, 0), limits)?,
        begin: be_u32(payload, 4),
        length: be_u32(payload, 8),
    };
    check_block(block.begin, block.length)?;
    Ok(block)
}

fn check_bitfield(bits: &[u8], limits: &Limits) -> Result<(), WireError> {
    let expected = limits.bitfield_len();
    if bits.len() != expected {
        return Err(WireError::BitfieldLength {
            expected,
            found: bits.len(),
            piece_count: limits.piece_count,
        });
    }
    let used_in_last = limits.piece_count % 8;
    if let (Some(&last), true) = (bits.last(), used_in_last != 0) {
        let spare_mask = 0xFFu8 >> used_in_last;
        if last & spare_mask != 0 {
            return Err(WireError::BitfieldSpareBits {
                piece_count: limits.piece_count,
            });
        }
    }
    Ok(())
}

fn decode_piece(payload: &Bytes, limits: &Limits) -> Result<Message, WireError> {
    at_least(payload, "piece", 8)?;
    let index = check_index(be_u32(payload, 0), limits)?;
    let begin = be_u32(payload, 4);
    let data_len = payload.len() - 8;
    // A length that does not even fit u32 is certainly above MAX_BLOCK_LEN.
    let length = u32::try_from(data_len).unwrap_or(u32::MAX);
    check_block(begin, length)?;
    Ok(Message::Piece {
        index,
        begin,
        data: payload.slice(8..),
    })
}

fn decode_extended(payload: &Bytes, limits: &Limits) -> Result<Message, WireError> {
    at_least(payload, "extended", 1)?;
    let len = payload.len() - 1;
    if u64::try_from(len).unwrap_or(u64::MAX) > u64::from(limits.max_extended_payload) {
        return Err(WireError::ExtendedTooLong {
            len,
            max: limits.max_extended_payload,
        });
    }
    Ok(Message::Extended {
        id: payload[0],
        payload: payload.slice(1..),
    })
}

/// Parses and validates the five BEP 52 request fields at the start of `payload`.
fn hash_request(payload: &[u8], limits: &Limits) -> Result<HashRequest, WireError> {
    let mut pieces_root = [0u8; 32];
    pieces_root.copy_from_slice(&payload[..32]);
    let request = HashRequest {
        pieces_root,
        base_layer: be_u32(payload, 32),
        index: be_u32(payload, 36),
        length: be_u32(payload, 40),
        proof_layers: be_u32(payload, 44),
    };
    check_hash_request(&request, limits)?;
    Ok(request)
}

/// The shape checks BEP 52 and libtorrent impose on every hash range.
///
/// BEP 52 also says `length >= 2`, but libtorrent 2.0 asks for a single piece-layer hash when a
/// file's last 512-piece chunk holds one piece, so a length of 1 is accepted.
fn check_hash_request(request: &HashRequest, limits: &Limits) -> Result<(), WireError> {
    let HashRequest {
        base_layer,
        index,
        length,
        proof_layers,
        ..
    } = *request;
    if !length.is_power_of_two() {
        return Err(WireError::HashLengthNotPowerOfTwo { length });
    }
    if length > limits.max_hashes {
        return Err(WireError::TooManyHashes {
            length,
            max: limits.max_hashes,
        });
    }
    if !index.is_multiple_of(length) {
        return Err(WireError::HashIndexMisaligned { index, length });
    }
    if index.checked_add(length).is_none() {
        return Err(WireError::HashRangeOverflow { index, length });
    }
    let top = u64::from(base_layer) + u64::from(proof_layers);
    if top > u64::from(MAX_TREE_LAYER) {
        return Err(WireError::HashLayers {
            base_layer,
            proof_layers,
        });
    }
    Ok(())
}

fn decode_hashes(payload: &[u8], limits: &Limits) -> Result<Message, WireError> {
    at_least(payload, "hashes", HASH_REQUEST_LEN)?;
    let request = hash_request(payload, limits)?;
    let list = &payload[HASH_REQUEST_LEN..];
    if !list.len().is_multiple_of(32) {
        return Err(WireError::HashesNotWhole { len: list.len() });
    }
    let found = list.len() / 32;
    let expected = request.reply_hash_count();
    if u64::try_from(found).unwrap_or(u64::MAX) != expected {
        return Err(WireError::HashCount { expected, found });
    }
    let hashes = list
        .chunks_exact(32)
        .map(|chunk| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect();
    Ok(Message::Hashes { request, hashes })
}
