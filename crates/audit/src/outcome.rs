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
use token::audit_answer::{AuditAnswer, answer_hash_block, answer_hash_piece};
use token::{Address, Domain, Signature};

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
    /// Judges an answer the node gave and signed: [`Outcome::Pass`] if it checks against
    /// `target`, else [`Outcome::Wrong`] with the evidence. The caller has checked that `sig` is
    /// the node's ([`Evidence::signed_by_node`]); an answer it cannot attribute is no answer.
    pub fn judge(
        node: Address,
        epoch: u64,
        challenge: Challenge,
        target: Target,
        answer: Answer,
        sig: Signature,
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
                sig,
            }),
        }
    }

    /// Does this outcome put the block in containment (ask the same block again later)?
    pub fn enters_containment(&self) -> bool {
        matches!(self, Outcome::Timeout | Outcome::Refused)
    }
}

/// How an audit counts once it is over: what an [`Outcome`] became after containment's re-asks.
/// The ledger takes these, in the order the audits ended, to move reputation and stakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// A correct answer, signed by the node.
    Pass,
    /// No answer the node signed, on every attempt within the epoch.
    Offline,
    /// The node signed that it does not have the block.
    Missing,
    /// The node signed an answer that fails the torrent's hashes (there is evidence).
    Wrong,
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
/// torrent says the answer must match, the bytes and proof that came back, and the node's
/// signature over them (`token::audit_answer`), which shows the node sent exactly these bytes: the
/// hub cannot make evidence up, and cannot turn a right answer into a wrong one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub node: Address,
    pub epoch: u64,
    pub challenge: Challenge,
    pub target: Target,
    pub answer: Answer,
    pub sig: Signature,
}

impl Evidence {
    /// Why the answer fails its target; `None` if it does not fail (then this is no evidence).
    pub fn failure(&self) -> Option<AnswerError> {
        self.target.check(&self.answer).err()
    }

    /// The message the node signed for this answer.
    pub fn signed_message(&self) -> AuditAnswer {
        answer_message(self.epoch, &self.challenge, &self.answer)
    }

    /// Did the node sign this answer, in the collective `domain`?
    pub fn signed_by_node(&self, domain: &Domain) -> bool {
        self.sig
            .recover(&domain.digest(&self.signed_message()))
            .is_ok_and(|signer| signer == self.node)
    }

    /// Does the evidence hold: the node signed the answer, and the answer fails its recorded
    /// target?
    pub fn check(&self, domain: &Domain) -> bool {
        self.signed_by_node(domain) && self.failure().is_some()
    }

    /// [`check`](Self::check), and the recorded target is what `torrent` (the challenged one)
    /// really says for the challenge, so the evidence did not pick its own yardstick.
    pub fn check_with_torrent(&self, torrent: &Torrent, domain: &Domain) -> bool {
        Target::for_challenge(torrent, &self.challenge).is_ok_and(|t| t == self.target)
            && self.check(domain)
    }
}

/// The `AuditAnswer` a node signs for `answer` to `challenge` in `epoch`.
pub fn answer_message(epoch: u64, challenge: &Challenge, answer: &Answer) -> AuditAnswer {
    let answer = match answer {
        Answer::Block { data, proof } => answer_hash_block(data, proof),
        Answer::Piece { data } => answer_hash_piece(data),
    };
    AuditAnswer {
        epoch,
        torrent: challenge.torrent,
        piece: challenge.piece,
        // Challenges only ever name blocks of a piece, which starts below 2^32 on the wire.
        offset: u32::try_from(challenge.offset()).unwrap_or(u32::MAX),
        answer,
    }
}
