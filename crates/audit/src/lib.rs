//! Availability audits, the pure part: what a node claims to host, which blocks it is asked for,
//! and how an answer is judged. The hub's auditor (sockets, deadlines, scheduling) and the ledger
//! (penalties, reputation through `economics::reputation`) sit on top.
//!
//! - [`commitment`]: the hub commits to a 32-byte secret before each epoch and reveals it after.
//! - [`report`]: a node's [`HostingReport`] for an epoch (torrents, whole or a piece bitfield), its
//!   canonical encoding and hash, validation, and the bytes it claims.
//! - [`layout`]: the [`Layout`] trait that tells this crate how many pieces and blocks a torrent
//!   has, with implementations for plain shapes and for parsed [`metainfo::Torrent`]s.
//! - [`challenge`]: derives an epoch's [`Challenge`]s (torrent, piece, 16 KiB block) from the
//!   revealed secret and the report, uniformly over the claimed blocks.
//! - [`verify`]: checks an answer: a v2 block against its file's pieces root with its Merkle proof,
//!   a v1 piece against its SHA-1; [`Target`] says which check a challenge needs.
//! - [`outcome`]: what an audit ended in, the containment key for re-asking, and the
//!   [`Evidence`] that lets anyone re-check a wrong answer.
//!
//! Invariants:
//! - pure and deterministic: no I/O, no clock, no randomness but the secret passed in, no floating
//!   point; the same inputs give the same challenges and verdicts on every machine, so the ledger
//!   can replay them and a third party can recompute an epoch after the reveal;
//! - challenges are unpredictable before the reveal: every one depends on the secret through
//!   keccak-256, and the commitment binds the hub to that secret before the node reports;
//! - sampling is uniform over claimed blocks (no modulo bias, short pieces weighted by their real
//!   blocks), so a node missing a fraction `f` of its claim passes each challenge with
//!   probability `1 - f` (`economics::sampling` turns that into sample counts);
//! - untrusted input (reports, answers, deserialised evidence) gives typed errors, never a panic;
//!   work and memory per call are bounded by the documented limits.

pub mod challenge;
pub mod commitment;
pub mod layout;
pub mod outcome;
pub mod report;
pub mod verify;

mod hexser;

pub use challenge::{Challenge, ChallengeError, derive};
pub use commitment::{CommitmentError, check_reveal, commit};
pub use layout::{Layout, LayoutError, Shape, TorrentLayouts, torrent_key};
pub use outcome::{Containment, Evidence, Mark, Outcome, answer_message};
pub use report::{Claim, HostingReport, PieceSet, ReportError};
pub use verify::{Answer, AnswerError, Target, TargetError, check_v1_answer, check_v2_answer};

/// A torrent as audits name it: its v2 info-hash, or a v1-only torrent's SHA-1 info-hash padded
/// with zeros (`token::torrent_id`, the same id receipts use).
pub type TorrentId = [u8; 32];

/// The audited unit: BEP 52's block, the peer wire's request size.
pub const BLOCK_SIZE: u64 = metainfo::BLOCK_SIZE as u64;
