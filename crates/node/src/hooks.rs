//! The node's hooks on a swarm: with a wallet, every connection speaks `sb_receipt`
//! ([`crate::payments`]) and `sb_audit` ([`crate::audits`]); messages are routed by extension name.

use std::net::SocketAddr;
use std::sync::Arc;

use engine::{Outgoing, PeerHooks, SwarmHooks};
use metainfo::Torrent;
use peerwire::{sb_audit, sb_receipt};

use crate::audits::{Audits, PeerAudits, TorrentAudits};
use crate::payments::Payments;

/// The hooks for one torrent of a node with a wallet: what [`crate::Node`] plugs into each swarm,
/// and what a tool that drives an engine itself should plug in to answer audits too.
pub fn for_torrent(
    payments: &Arc<Payments>,
    audits: &Arc<Audits>,
    torrent: &Arc<Torrent>,
) -> Arc<dyn SwarmHooks> {
    Arc::new(NodeHooks {
        payments: payments.hooks_for(torrent),
        audits: audits.for_torrent(Arc::clone(torrent)),
    })
}

struct NodeHooks {
    payments: Arc<dyn SwarmHooks>,
    audits: Arc<TorrentAudits>,
}

impl SwarmHooks for NodeHooks {
    fn extensions(&self) -> &'static [&'static str] {
        &[sb_receipt::NAME, sb_audit::NAME]
    }

    fn connect(&self, addr: SocketAddr) -> Box<dyn PeerHooks> {
        Box::new(NodePeer {
            payments: self.payments.connect(addr),
            audits: self.audits.connect(addr),
        })
    }
}

struct NodePeer {
    payments: Box<dyn PeerHooks>,
    audits: PeerAudits,
}

impl PeerHooks for NodePeer {
    fn handshake(&mut self, speaks: &[&'static str], out: &mut Outgoing) {
        // The audit side has nothing to say until it is challenged.
        self.payments.handshake(speaks, out);
    }

    fn message(
        &mut self,
        extension: &'static str,
        payload: &[u8],
        out: &mut Outgoing,
    ) -> Result<(), String> {
        if extension == sb_audit::NAME {
            self.audits.message(payload, out)
        } else {
            self.payments.message(extension, payload, out)
        }
    }

    fn downloaded(&mut self, bytes: u64, out: &mut Outgoing) {
        self.payments.downloaded(bytes, out);
    }

    /// Audit answers are not payload: the allowance is the payments' alone.
    fn upload_allowance(&self) -> Option<u64> {
        self.payments.upload_allowance()
    }
}
