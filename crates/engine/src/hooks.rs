//! What a node plugs into a swarm: one BEP 10 extension of its own and the upload allowance that
//! extension controls. The engine stays a BitTorrent engine: it does not know what the extension's
//! messages mean (for seedbank's node they carry signed receipts, see `node::payments`), it only
//! routes them, tells the extension which of a peer's bytes passed their hash check, and never sends
//! a peer more payload than the extension allows.
//!
//! Every method runs under the swarm's lock, so implementations must be quick and must not block
//! (no I/O; spawn a task for that).

use std::net::SocketAddr;

/// Extension payloads to send to the peer, in order.
pub type Outgoing = Vec<Vec<u8>>;

/// One torrent's extension, shared by its connections.
pub trait SwarmHooks: Send + Sync + 'static {
    /// The name announced in our BEP 10 handshake's `m` dictionary.
    fn extension(&self) -> &'static str;

    /// A peer completed the BitTorrent handshake: its per-connection state.
    fn connect(&self, addr: SocketAddr) -> Box<dyn PeerHooks>;
}

/// One connection's side of the extension.
pub trait PeerHooks: Send {
    /// Called once: with `true` when the peer's extension handshake named our extension, with
    /// `false` when it did not or when the peer does not speak BEP 10 at all (a legacy client).
    fn handshake(&mut self, speaks: bool, out: &mut Outgoing);

    /// A message of our extension from the peer. An `Err` drops the peer for that reason.
    fn message(&mut self, payload: &[u8], out: &mut Outgoing) -> Result<(), String>;

    /// A piece passed its hash check and `bytes` of its file data (padding excluded) came from
    /// this peer.
    fn downloaded(&mut self, bytes: u64, out: &mut Outgoing);

    /// The most payload bytes we may have sent this peer in all, on this connection; `None` for no
    /// limit. Requests beyond it wait; a peer that stays at its limit is choked.
    fn upload_allowance(&self) -> Option<u64>;
}
