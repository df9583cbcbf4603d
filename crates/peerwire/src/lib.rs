//! The BitTorrent peer wire protocol as seedbank speaks it: BEP 3 messages, the BEP 6 fast
//! extension, the BEP 10 extension protocol and the BEP 52 hash messages.
//!
//! This crate is a pure, synchronous codec: it never touches a socket. The engine owns the
//! connections, feeds received bytes to a [`FrameDecoder`], and writes what
//! [`Message::encode`] produces. Keeping I/O out makes every rule here testable byte for byte
//! and lets the fuzzer drive the exact code that faces the network.
//!
//! Everything a peer sends is untrusted: each message is checked against [`Limits`] derived from
//! the torrent, and any violation is a [`WireError`] after which the engine drops the peer. The
//! wire format and the limits are specified in `docs/protocol.md`.

/// Re-exported so users name the exact `Bytes`/`BytesMut` types this API takes and returns.
pub use bytes;

mod bencode;
pub mod bitfield;
mod error;
pub mod extension;
mod frame;
mod handshake;
mod limits;
mod message;
pub mod sb_audit;
mod sb_dict;
pub mod sb_receipt;

pub use bitfield::Bitfield;
pub use error::{BencodeError, WireError};
pub use extension::{ExtensionHandshake, ExtensionRegistry, PeerExtensions};
pub use frame::FrameDecoder;
pub use handshake::{HANDSHAKE_LEN, Handshake, PROTOCOL, Reserved};
pub use limits::{
    BLOCK_SIZE, DEFAULT_MAX_EXTENDED_PAYLOAD, DEFAULT_MAX_HASHES, Limits, MAX_BLOCK_LEN,
};
pub use message::{BlockRef, HashRequest, Message, id};
