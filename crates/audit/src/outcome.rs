//! How an audit ended, and what is kept of it.
//!
//! The outcomes are graded, because they mean different things (`../shared/design/architecture.md`
//! item 6): a [`Outcome::Pass`] is a pass; a [`Outcome::Timeout`] or [`Outcome::Refused`]
//! connection may be the network's fault, so the same block is asked again later (containment,
//! keyed by [`Containment`]) before it costs anything; [`Outcome::Missing`] is an honest "I do not
//! have it"; [`Outcome::Wrong`] is an answer that fails the torrent's own hashes, the only outcome
//! that can burn collateral, and so the only one that carries [`Evidence`].

use metainfo::Torrent;
use serde::{Deserialize, Serialize};
use token::Address;

use crate::TorrentId;
use crate::challenge::Challenge;
use crate::verify::{Answer, AnswerError, Target};

/// The result of one challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase", deny_unknown_fields)]
pub enum Outcome {
    /// The answer checked out.
    Pass,
    /// No complete answer within the deadline.
    Timeout,
    /// The node could not be reached, or closed the connection.
    Refused,
    /// The node said it does not have the block.
    Missing,
    /// The answer fails the torrent's hashes; `evidence` proves it to anyone.
    Wrong { evidence: Box<Evidence> },
}

impl Outcome {
    /// Judges an answer the node gave: [`Outcome::Pass`] if it checks against `target`, else
    /// [`Outcome::Wrong`] with the evidence.
    pub fn judge(
        node: Address,
        epoch: u64,
        challenge: Challenge,
        target: Target,
        answer: Answer,
    ) -> Outcome {
        if target.check(&answer).is_ok() {
            return Outcome::Pass;
        }
        Outcome::Wrong {
            evidence: Box::new(Evidence {
                node,
                epoch,
                challenge,
                target,
                answer,
            }),
        }
    }

    /// Does this outcome put the block in containment (ask the same block again later)?
    pub fn enters_containment(&self) -> bool {
        matches!(self, Outcome::Timeout | Outcome::Refused)
    }
}

/// The containment key: a block a node owes an answer for. A node that timed out is asked for the
/// *same* block again (Storj keys containment by node and piece), so going offline when a
/// challenge arrives, to fetch the block from elsewhere or to hope for an easier one, gains nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Containment {
    pub node: Address,
    #[serde(with = "token::hex32")]
    pub torrent: TorrentId,
    pub piece: u32,
    pub block: u32,
}

impl Containment {
    pub fn new(node: Address, challenge: &Challenge) -> Self {
        Containment {
            node,
            torrent: challenge.torrent,
            piece: challenge.piece,
            block: challenge.block,
        }
    }

    /// The challenge to ask again.
    pub fn challenge(&self) -> Challenge {
        Challenge {
            torrent: self.torrent,
            piece: self.piece,
            block: self.block,
        }
    }
}

/// Everything a third party needs to re-check a wrong answer: who was asked what, in which epoch
/// (so the challenge can be re-derived from the revealed secret and the node's report), what the
/// torrent says the answer must match, and the bytes and proof that came back.
///
/// What it cannot show on its own: that the node really sent these bytes. Answers are not signed
/// by the node, so evidence is the auditor's word for the answer; the torrent's hashes make the
/// *wrongness* checkable, not the authorship (see `docs/threat-model.md`, malicious hub).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub node: Address,
    pub epoch: u64,
    pub challenge: Challenge,
    pub target: Target,
    pub answer: Answer,
}

impl Evidence {
    /// Why the answer fails its target; `None` if it does not fail (then this is no evidence).
    pub fn failure(&self) -> Option<AnswerError> {
        self.target.check(&self.answer).err()
    }

    /// Does the evidence hold, i.e. does the answer fail its recorded target?
    pub fn check(&self) -> bool {
        self.failure().is_some()
    }

    /// [`check`](Self::check), and the recorded target is what `torrent` (the challenged one)
    /// really says for the challenge, so the evidence did not pick its own yardstick.
    pub fn check_with_torrent(&self, torrent: &Torrent) -> bool {
        Target::for_challenge(torrent, &self.challenge).is_ok_and(|t| t == self.target)
            && self.check()
    }
}
