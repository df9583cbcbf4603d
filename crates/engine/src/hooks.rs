//! What a node plugs into a swarm: BEP 10 extensions of its own, the upload allowance they control,
//! and piece reads off the swarm's lock. The engine stays a BitTorrent engine: it does not know what
//! the extensions' messages mean (for seedbank's node they carry signed receipts and audit answers,
//! see `node::payments` and `node::audits`), it only routes them by name, tells the hooks which of a
//! peer's bytes passed their hash check, reads pieces for them, and never sends a peer more payload
//! than the hooks allow.
//!
//! Every method runs under the swarm's lock, so implementations must be quick and must not block
//! (no I/O). Work that needs a piece's bytes asks for them with [`Outgoing::read_piece`]: the engine
//! reads the piece and runs the job on its hashing pool, off the lock, and sends what the job
//! returns. Anything else slow: spawn a task.

use std::net::SocketAddr;

use crate::EngineError;

/// Most piece reads one peer may have under way at once; further reads wait in the peer's queue.
/// Two keep an auditor's back-to-back challenges flowing without letting one peer occupy the
/// hashing pool.
pub const MAX_READS_IN_FLIGHT: usize = 2;

/// Most piece reads one peer may have waiting behind those under way; one more drops the peer.
/// Reads are only ever asked for by our own hooks, which bound what a peer can make them ask for
/// (the node's audit side allows 64 challenges per connection), so this is a backstop.
pub const MAX_READS_QUEUED: usize = 64;

/// Why a piece could not be read for a [`PieceJob`].
#[derive(Debug, thiserror::Error)]
pub enum PieceReadError {
    /// The piece is out of range or not verified yet: we never announced it.
    #[error("we do not have piece {piece}")]
    NotHad { piece: u32 },
    /// A file of the piece is missing, shorter than the torrent says, or unreadable.
    #[error("cannot read piece {piece}: {source}")]
    Io {
        piece: u32,
        #[source]
        source: EngineError,
    },
}

/// Extension messages, as `(extension name, payload)`, to send to the peer in order.
pub type Messages = Vec<(&'static str, Vec<u8>)>;

/// Work on a piece's bytes: gets the piece as on the wire (v1 piece space: padding included, the
/// last piece short) or why it could not be read, and returns the messages to send to the peer.
/// Runs on the hashing pool, never under the swarm's lock.
pub type PieceJob = Box<dyn FnOnce(Result<Vec<u8>, PieceReadError>) -> Messages + Send>;

/// What a hook call asks of the engine: messages to send now, and piece reads whose jobs send
/// theirs later.
#[derive(Default)]
pub struct Outgoing {
    pub(crate) messages: Messages,
    pub(crate) reads: Vec<(u32, PieceJob)>,
}

impl Outgoing {
    pub fn new() -> Outgoing {
        Outgoing::default()
    }

    /// Queues a message of `extension` (one of [`SwarmHooks::extensions`]). It is sent under the id
    /// the peer announced for that name, and dropped if the peer did not announce it (BEP 10).
    pub fn send(&mut self, extension: &'static str, payload: Vec<u8>) {
        self.messages.push((extension, payload));
    }

    /// Asks for `piece`'s bytes: once read off the lock, `job` runs on the hashing pool, and the
    /// messages it returns are sent to this peer in order, if it is still connected (otherwise the
    /// job may not run at all). Messages queued with [`Outgoing::send`] go out at once, so before
    /// the job's. At most [`MAX_READS_IN_FLIGHT`] reads per peer run at a time; the rest wait their
    /// turn in order, at most [`MAX_READS_QUEUED`] of them, and a read is done once the writer has
    /// taken its job's messages, so a peer that does not read its answers gets no more.
    pub fn read_piece(&mut self, piece: u32, job: PieceJob) {
        self.reads.push((piece, job));
    }

    /// The messages queued so far (for the hooks' own tests).
    pub fn messages(&self) -> &[(&'static str, Vec<u8>)] {
        &self.messages
    }

    /// Takes the queued piece reads (for the hooks' own tests, which run the jobs themselves).
    pub fn take_reads(&mut self) -> Vec<(u32, PieceJob)> {
        std::mem::take(&mut self.reads)
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.reads.is_empty()
    }
}

/// One torrent's extensions, shared by its connections.
pub trait SwarmHooks: Send + Sync + 'static {
    /// The names announced in our BEP 10 handshake's `m` dictionary, in the order their local ids
    /// are assigned.
    fn extensions(&self) -> &'static [&'static str];

    /// A peer completed the BitTorrent handshake: its per-connection state.
    fn connect(&self, addr: SocketAddr) -> Box<dyn PeerHooks>;
}

/// One connection's side of the extensions.
pub trait PeerHooks: Send {
    /// Called once: with the subset of our extensions the peer's extension handshake named, empty
    /// when it named none of them or does not speak BEP 10 at all (a legacy client).
    fn handshake(&mut self, speaks: &[&'static str], out: &mut Outgoing);

    /// A message of one of our extensions from the peer. An `Err` drops the peer for that reason.
    fn message(
        &mut self,
        extension: &'static str,
        payload: &[u8],
        out: &mut Outgoing,
    ) -> Result<(), String>;

    /// A piece passed its hash check and `bytes` of its file data (padding excluded) came from
    /// this peer.
    fn downloaded(&mut self, bytes: u64, out: &mut Outgoing);

    /// The most payload bytes we may have sent this peer in all, on this connection; `None` for no
    /// limit. Requests beyond it wait; a peer that stays at its limit is choked. Extension messages
    /// (a job's included) are not payload and are not counted.
    fn upload_allowance(&self) -> Option<u64>;
}
