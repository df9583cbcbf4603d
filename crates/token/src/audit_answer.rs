//! What a node signs when it answers an availability audit (`sb_audit`, `docs/protocol.md` §5.5).
//!
//! An answer's bytes alone prove only that *someone* sent wrong data; the hub could have made them
//! up. Signed with the node's account key, a wrong answer becomes evidence anyone can check: the
//! signature binds the node to exactly those bytes for exactly that challenge, and a correct
//! answer cannot be turned into a wrong one. The digest is EIP-712 in the collective's domain, so
//! a contract could check the same evidence before slashing.

use crate::eip712::{TypedMessage, word_u64};
use crate::keccak256;

/// The node's statement: for challenge (`epoch`, `torrent`, `piece`, `offset`) it answered
/// `answer` (one of the `answer_hash_*` digests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditAnswer {
    pub epoch: u64,
    pub torrent: [u8; 32],
    pub piece: u32,
    pub offset: u32,
    pub answer: [u8; 32],
}

impl TypedMessage for AuditAnswer {
    const TYPE: &'static str =
        "AuditAnswer(uint256 epoch,bytes32 torrent,uint256 piece,uint256 offset,bytes32 answer)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_u64(self.epoch),
            self.torrent,
            word_u64(self.piece.into()),
            word_u64(self.offset.into()),
            self.answer,
        ]
    }
}

/// The kind tags keep the three answers' digests apart: a block can never pass for a piece.
const BLOCK: u8 = 1;
const PIECE: u8 = 2;
const MISSING: u8 = 3;

/// A v2 answer: `keccak256(0x01 ‖ keccak256(data) ‖ proof hashes, lowest first)`. The data is
/// hashed on its own so that no byte can move between data and proof.
pub fn answer_hash_block(data: &[u8], proof: &[[u8; 32]]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(33 + 32 * proof.len());
    bytes.push(BLOCK);
    bytes.extend_from_slice(&keccak256(data));
    bytes.extend_from_slice(proof.as_flattened());
    keccak256(&bytes)
}

/// A v1 answer: `keccak256(0x02 ‖ keccak256(piece))`, the whole piece as sent in its parts.
pub fn answer_hash_piece(piece: &[u8]) -> [u8; 32] {
    let mut bytes = [0; 33];
    bytes[0] = PIECE;
    bytes[1..].copy_from_slice(&keccak256(piece));
    keccak256(&bytes)
}

/// "I do not have it": `keccak256(0x03)`.
pub fn answer_hash_missing() -> [u8; 32] {
    keccak256(&[MISSING])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Domain, SecretKey};

    fn domain() -> Domain {
        Domain {
            name: "test".into(),
            version: "1".into(),
            chain_id: 31337,
            verifying_contract: Address([7; 20]),
        }
    }

    #[test]
    fn a_signed_answer_recovers_to_its_node_and_only_for_its_challenge() {
        let key = SecretKey::from_bytes(&[0x11; 32]).expect("valid key");
        let answer = AuditAnswer {
            epoch: 9,
            torrent: [3; 32],
            piece: 4,
            offset: 16_384,
            answer: answer_hash_block(b"data", &[[1; 32]]),
        };
        let sig = key.sign_digest(&domain().digest(&answer));
        assert_eq!(sig.recover(&domain().digest(&answer)), Ok(key.address()));
        for other in [
            AuditAnswer {
                epoch: 10,
                ..answer
            },
            AuditAnswer { piece: 5, ..answer },
            AuditAnswer {
                offset: 0,
                ..answer
            },
            AuditAnswer {
                answer: answer_hash_piece(b"data"),
                ..answer
            },
        ] {
            assert_ne!(sig.recover(&domain().digest(&other)), Ok(key.address()));
        }
    }

    #[test]
    fn answer_kinds_never_collide() {
        // The same bytes as a block with no proof and as a piece: different digests.
        assert_ne!(answer_hash_block(b"x", &[]), answer_hash_piece(b"x"));
        assert_ne!(answer_hash_block(&[], &[]), answer_hash_missing());
        // Proof bytes are not data bytes moved around.
        assert_ne!(
            answer_hash_block(&[0; 32], &[]),
            answer_hash_block(&[], &[[0; 32]])
        );
    }
}
