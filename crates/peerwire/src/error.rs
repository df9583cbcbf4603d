//! The one error type of this crate.
//!
//! Every variant describes a protocol violation by the remote peer (or, for the registry variants,
//! a local misconfiguration) precisely enough to be logged as the reason a connection was dropped.
//! The engine's policy is simple: any `WireError` from decoding ends the connection, so the
//! variants carry the offending numbers rather than recovery hints.

use thiserror::Error;

/// Why bytes from a peer (or a local registration) were refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WireError {
    /// The handshake did not start with `\x13BitTorrent protocol`; the peer speaks something else
    /// (or an obfuscated stream, which seedbank does not negotiate).
    #[error(
        "handshake protocol string mismatch: length byte {pstrlen}, expected 19 + \"BitTorrent protocol\""
    )]
    BadProtocol {
        /// The first byte the peer sent.
        pstrlen: u8,
    },

    /// A length prefix announced a frame larger than anything this torrent can legitimately carry.
    /// Raised before the body is buffered, so a hostile prefix never causes an allocation.
    #[error("frame length {len} exceeds the limit of {max} bytes")]
    FrameTooLong {
        /// The announced body length.
        len: u32,
        /// The largest body accepted under the current [`Limits`](crate::Limits).
        max: u32,
    },

    /// A message id outside BEP 3, 6, 10 and 52.
    #[error("unknown message id {id}")]
    UnknownMessageId {
        /// The id byte.
        id: u8,
    },

    /// A fixed-size message arrived with a different payload size.
    #[error("{message} payload is {found} bytes, expected exactly {expected}")]
    PayloadLength {
        /// The message name.
        message: &'static str,
        /// The payload size the message requires (without the id byte).
        expected: usize,
        /// The payload size received.
        found: usize,
    },

    /// A variable-size message arrived shorter than its fixed header.
    #[error("{message} payload is {found} bytes, shorter than the minimum of {min}")]
    PayloadTooShort {
        /// The message name.
        message: &'static str,
        /// The smallest acceptable payload size (without the id byte).
        min: usize,
        /// The payload size received.
        found: usize,
    },

    /// A piece index at or beyond the torrent's piece count.
    #[error("piece index {index} out of range: the torrent has {piece_count} pieces")]
    PieceIndexOutOfRange {
        /// The index the peer named.
        index: u32,
        /// The torrent's piece count.
        piece_count: u32,
    },

    /// A request, reject or cancel for an empty block or one larger than 16 KiB, or a piece
    /// message carrying such a block.
    #[error("block length {length} outside 1..={max}")]
    BlockLength {
        /// The length the peer named (or the size of the data it sent).
        length: u32,
        /// [`MAX_BLOCK_LEN`](crate::MAX_BLOCK_LEN).
        max: u32,
    },

    /// A block whose end offset does not fit in 32 bits; no piece can be that long.
    #[error("block at offset {begin} with length {length} overflows a 32-bit offset")]
    BlockRangeOverflow {
        /// The block's offset inside its piece.
        begin: u32,
        /// The block's length.
        length: u32,
    },

    /// A bitfield whose size does not match `ceil(piece_count / 8)`.
    #[error("bitfield is {found} bytes, expected {expected} for {piece_count} pieces")]
    BitfieldLength {
        /// The size the torrent requires.
        expected: usize,
        /// The size received.
        found: usize,
        /// The torrent's piece count.
        piece_count: u32,
    },

    /// A bitfield with bits set past the last piece (BEP 3: spare bits must be zero).
    #[error("bitfield has spare bits set after piece {piece_count}")]
    BitfieldSpareBits {
        /// The torrent's piece count.
        piece_count: u32,
    },

    /// An extended (BEP 10) message payload above the configured cap.
    #[error("extended message payload of {len} bytes exceeds the limit of {max}")]
    ExtendedTooLong {
        /// The payload size (after the extended id byte).
        len: usize,
        /// [`Limits::max_extended_payload`](crate::Limits::max_extended_payload).
        max: u32,
    },

    /// A BEP 52 hash range whose length is not a power of two.
    #[error("hash request length {length} is not a power of two")]
    HashLengthNotPowerOfTwo {
        /// The requested number of base-layer hashes.
        length: u32,
    },

    /// A BEP 52 hash range longer than the configured cap.
    #[error("hash request length {length} exceeds the limit of {max}")]
    TooManyHashes {
        /// The requested number of base-layer hashes.
        length: u32,
        /// [`Limits::max_hashes`](crate::Limits::max_hashes).
        max: u32,
    },

    /// A BEP 52 hash range whose start is not aligned to its length (BEP 52: MUST).
    #[error("hash request index {index} is not a multiple of its length {length}")]
    HashIndexMisaligned {
        /// The first requested hash in the base layer.
        index: u32,
        /// The requested number of base-layer hashes.
        length: u32,
    },

    /// A BEP 52 hash range whose end does not fit in 32 bits.
    #[error("hash request range {index} + {length} overflows a 32-bit index")]
    HashRangeOverflow {
        /// The first requested hash in the base layer.
        index: u32,
        /// The requested number of base-layer hashes.
        length: u32,
    },

    /// A BEP 52 request with `base_layer + proof_layers` above 63: no SHA-256 tree over 16 KiB
    /// blocks of a 64-bit-sized file has that many layers.
    #[error("hash request base layer {base_layer} + proof layers {proof_layers} exceeds 63")]
    HashLayers {
        /// The lowest requested layer.
        base_layer: u32,
        /// The number of ancestor layers requested.
        proof_layers: u32,
    },

    /// A BEP 52 `hashes` message whose hash list is not a whole number of SHA-256 digests.
    #[error("hashes message carries {len} bytes of hashes, not a multiple of 32")]
    HashesNotWhole {
        /// The size of the hash list in bytes.
        len: usize,
    },

    /// A BEP 52 `hashes` message with a different number of hashes than its request implies.
    #[error("hashes message carries {found} hashes, expected {expected}")]
    HashCount {
        /// Base-layer length plus the uncle hashes for the requested proof layers.
        expected: u64,
        /// The number of hashes received.
        found: usize,
    },

    /// A bencoded BEP 10 payload (the extension handshake, or an `sb_receipt` or `sb_audit`
    /// message) is not valid bencode.
    #[error("malformed bencode in an extended message: {0}")]
    Bencode(#[from] BencodeError),

    /// The BEP 10 handshake payload is valid bencode but not a dictionary.
    #[error("extension handshake is not a bencoded dictionary")]
    ExtensionHandshakeNotDict,

    /// A field seedbank reads from a BEP 10 payload (the extension handshake, or an `sb_receipt`
    /// or `sb_audit` message) has the wrong bencode type.
    #[error("extended message field {key:?} must be {expected}")]
    ExtensionFieldType {
        /// The dictionary key (`sb_receipt.<key>` and `sb_audit.<key>` for fields of those
        /// extensions' messages).
        key: String,
        /// The bencode type required.
        expected: &'static str,
    },

    /// An integer field of a BEP 10 payload (the extension handshake, an `m` entry, or an
    /// `sb_receipt` or `sb_audit` message) outside its range.
    #[error("extended message field {key:?} = {value} outside {min}..={max}")]
    ExtensionFieldRange {
        /// The dictionary key (`m.<name>` for entries of `m`, `sb_receipt.<key>` and
        /// `sb_audit.<key>` for fields of those extensions' messages).
        key: String,
        /// The value received.
        value: i64,
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },

    /// The `yourip` field of the BEP 10 handshake is neither an IPv4 nor an IPv6 address.
    #[error("extension handshake yourip is {len} bytes, expected 4 or 16")]
    YourIpLength {
        /// The size of the field.
        len: usize,
    },

    /// An `sb_receipt` payload is valid bencode but not a dictionary: the message cannot be
    /// read at all, not even its type, so it cannot be ignored as a later version's message.
    #[error("sb_receipt message is not a bencoded dictionary")]
    SbReceiptNotDict,

    /// An `sb_receipt` dictionary whose keys are not in ascending byte order. bencode requires
    /// sorted keys, and only seedbank nodes speak `sb_receipt`, so unlike the extension handshake
    /// nothing is lost by insisting: each message then has exactly one encoding.
    #[error("sb_receipt key {key:?} follows {previous:?}, out of bencode order")]
    SbReceiptKeyOrder {
        /// The key that came too late (lossily decoded as UTF-8).
        key: String,
        /// The key before it.
        previous: String,
    },

    /// An `sb_receipt` message without `msg_type`: it cannot be dispatched, nor ignored as a later
    /// version's message, because every version carries the type.
    #[error("sb_receipt message has no msg_type")]
    SbReceiptNoMsgType,

    /// An `sb_receipt` message of a type seedbank reads lacks one of that type's fields; a
    /// receipt or hello with a guessed field would be worse than none.
    #[error("sb_receipt message of type {msg_type} lacks the {field:?} field")]
    SbReceiptMissing {
        /// The message's `msg_type`.
        msg_type: u64,
        /// The missing dictionary key.
        field: &'static str,
    },

    /// An `sb_receipt` byte-string field of the wrong length: addresses, session ids and
    /// signatures have fixed sizes, and a short one cannot be padded into the signed struct.
    #[error("sb_receipt field {field:?} is {found} bytes, expected {expected}")]
    SbReceiptFieldLength {
        /// The dictionary key.
        field: &'static str,
        /// The size the field requires.
        expected: usize,
        /// The size received.
        found: usize,
    },

    /// An `sb_audit` payload is valid bencode but not a dictionary: the message cannot be read at
    /// all, not even its type, so it cannot be ignored as a later version's message.
    #[error("sb_audit message is not a bencoded dictionary")]
    SbAuditNotDict,

    /// An `sb_audit` dictionary whose keys are not in ascending byte order; as for
    /// [`SbReceiptKeyOrder`](WireError::SbReceiptKeyOrder), insisting costs nothing and gives
    /// each message exactly one encoding.
    #[error("sb_audit key {key:?} follows {previous:?}, out of bencode order")]
    SbAuditKeyOrder {
        /// The key that came too late (lossily decoded as UTF-8).
        key: String,
        /// The key before it.
        previous: String,
    },

    /// An `sb_audit` message without `msg_type`: it cannot be dispatched, nor ignored as a later
    /// version's message, because every version carries the type.
    #[error("sb_audit message has no msg_type")]
    SbAuditNoMsgType,

    /// An `sb_audit` message of a type seedbank reads lacks one of that type's fields: a
    /// challenge or answer with a guessed id, piece or offset would be judged against the wrong
    /// block.
    #[error("sb_audit message of type {msg_type} lacks the {field:?} field")]
    SbAuditMissing {
        /// The message's `msg_type`.
        msg_type: u64,
        /// The missing dictionary key.
        field: &'static str,
    },

    /// An `sb_audit` challenge whose offset is not at a 16 KiB block boundary: audits name whole
    /// blocks, the leaves of the BEP 52 tree.
    #[error("sb_audit challenge offset {offset} is not a multiple of 16384")]
    SbAuditOffsetMisaligned {
        /// The offset within the piece.
        offset: u32,
    },

    /// An `sb_audit` byte string longer than any honest answer carries: `data` above one 16 KiB
    /// block, or `proof` above 64 hashes (no file has a tree that deep).
    #[error("sb_audit field {field:?} is {found} bytes, more than the {max} allowed")]
    SbAuditTooLong {
        /// The dictionary key.
        field: &'static str,
        /// The largest size accepted, in bytes.
        max: usize,
        /// The size received.
        found: usize,
    },

    /// An `sb_audit` proof that is not a whole number of 32-byte SHA-256 hashes.
    #[error("sb_audit proof is {len} bytes, not a multiple of 32")]
    SbAuditProofNotWhole {
        /// The size of the proof in bytes.
        len: usize,
    },

    /// An `sb_audit` signature that is not 65 bytes (`r ‖ s ‖ v`).
    #[error("sb_audit sig is {found} bytes, not 65")]
    SbAuditSigLength {
        /// The size received.
        found: usize,
    },

    /// A local extension registration used an empty name, which BEP 10 cannot express.
    #[error("extension names must not be empty")]
    EmptyExtensionName,

    /// A local extension registration beyond the 255 ids that fit in a BEP 10 extended id byte.
    #[error("cannot register extension {name:?}: all 255 extended message ids are taken")]
    TooManyExtensions {
        /// The name that did not fit.
        name: String,
    },
}

/// Why a bencoded BEP 10 payload (the handshake, or an `sb_receipt` or `sb_audit` message) is not
/// acceptable.
///
/// The reader is strict about syntax (canonical integers, no trailing bytes, no duplicate keys)
/// and bounded (nesting depth, string lengths checked against the input) because the payload comes
/// from an untrusted peer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BencodeError {
    /// The input ended inside a value.
    #[error("unexpected end of input at offset {offset}")]
    UnexpectedEnd {
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// A byte that cannot start or continue a value here.
    #[error("unexpected byte 0x{byte:02x} at offset {offset}")]
    UnexpectedByte {
        /// Byte offset of the offending byte.
        offset: usize,
        /// The byte itself.
        byte: u8,
    },
    /// An integer or string length with a leading zero, `-0`, no digits, or beyond 64 bits.
    #[error("malformed number at offset {offset}")]
    BadNumber {
        /// Byte offset where the number starts.
        offset: usize,
    },
    /// A string whose declared length runs past the end of the input.
    #[error("string of {len} bytes at offset {offset} runs past the end of the input")]
    StringTooLong {
        /// Byte offset of the length prefix.
        offset: usize,
        /// The declared length.
        len: u64,
    },
    /// Lists and dictionaries nested deeper than the reader allows.
    #[error("nesting deeper than {max} levels at offset {offset}")]
    TooDeep {
        /// Byte offset of the container that crossed the limit.
        offset: usize,
        /// The nesting limit.
        max: usize,
    },
    /// A dictionary key that appears twice; which one wins would be ambiguous.
    #[error("duplicate dictionary key at offset {offset}")]
    DuplicateKey {
        /// Byte offset of the repeated key.
        offset: usize,
    },
    /// Bytes after the top-level value.
    #[error("{count} trailing bytes after the value at offset {offset}")]
    TrailingBytes {
        /// Byte offset where the trailing bytes start.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
}
