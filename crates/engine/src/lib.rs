//! The swarm engine: everything between a parsed torrent and bytes on disk.
//!
//! Map of the crate:
//! - [`session`]: the [`Engine`] — listener, hashing pool, torrents; routes incoming peers by info-hash.
//! - `swarm`: one torrent's peers and the rules (interest, choking, requests, blame and bans).
//! - `peer`: a connection's handshake, reader and writer; moves bytes, decides nothing.
//! - `choker`: who we upload to (tit-for-tat, optimistic slot), a pure function.
//! - [`picker`]: rarest-first piece picking with endgame, pure and unit-tested.
//! - `storage`: the piece space mapped onto files; pad files never touch the disk.
//! - `hashpool`: threads that verify pieces (and write them) off the async workers.
//! - [`tracker`]: HTTP announce client.
//! - [`hooks`]: what a node plugs in: its own BEP 10 extensions, the upload allowance they set, and
//!   piece reads off the swarm's lock.
//!
//! Invariants: a piece is written to disk only after it verified against every hash the torrent has
//! (SHA-1 and/or the v2 Merkle piece hash); a block is accepted only from a peer we requested it from;
//! a peer that alone sent a corrupt piece is banned by IP for the life of the swarm; no peer is sent
//! more payload than its [`PeerHooks::upload_allowance`]; nothing under a swarm's lock blocks (piece
//! reads the hooks ask for run on the hashing pool, at most [`hooks::MAX_READS_IN_FLIGHT`] per peer).

mod choker;
mod config;
mod error;
mod hashpool;
pub mod hooks;
#[cfg(test)]
mod hooks_tests;
mod peer;
pub mod picker;
mod rate;
mod session;
mod storage;
mod swarm;
#[cfg(test)]
mod swarm_tests;
pub mod tracker;

pub use config::EngineConfig;
pub use error::EngineError;
pub use hooks::{Messages, Outgoing, PeerHooks, PieceJob, PieceReadError, SwarmHooks};
pub use session::{CheckProgress, Engine, TorrentHandle};
pub use swarm::TorrentStats;
