//! The epoch secret's commitment.
//!
//! Before epoch `e` starts, the hub draws a 32-byte secret (from a CSPRNG; this crate never makes
//! one) and publishes
//!
//! ```text
//! commit(e, secret) = keccak256("seedbank audit v1" ‖ e as u64 big-endian ‖ secret)
//! ```
//!
//! and reveals `secret` after the epoch. Nodes report before the reveal, so they cannot tune their
//! reports to the challenges; the hub cannot pick a secret after seeing the reports (to single a
//! node out), because only the committed one passes [`check_reveal`]. The epoch inside the hash
//! keeps one secret from being re-used as another epoch's. What remains: the hub knows the secret
//! all along, so it could tip off a colluding node (see `docs/threat-model.md`).

use token::keccak256;

/// Domain tag of the commitment hash.
pub const COMMIT_TAG: &[u8] = b"seedbank audit v1";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    #[error("the revealed secret for epoch {epoch} does not match the hub's commitment")]
    Mismatch { epoch: u64 },
}

/// The commitment to `secret` for `epoch`.
pub fn commit(epoch: u64, secret: &[u8; 32]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(COMMIT_TAG.len() + 8 + 32);
    buf.extend_from_slice(COMMIT_TAG);
    buf.extend_from_slice(&epoch.to_be_bytes());
    buf.extend_from_slice(secret);
    keccak256(&buf)
}

/// Does `secret` open `commitment` for `epoch`?
pub fn check_reveal(
    commitment: &[u8; 32],
    epoch: u64,
    secret: &[u8; 32],
) -> Result<(), CommitmentError> {
    // Plain comparison: both values are public once revealed, there is nothing to time.
    if commit(epoch, secret) == *commitment {
        Ok(())
    } else {
        Err(CommitmentError::Mismatch { epoch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reveal_opens_only_its_own_commitment() {
        let secret = [7u8; 32];
        let c = commit(42, &secret);
        assert_eq!(check_reveal(&c, 42, &secret), Ok(()));
        assert_eq!(
            check_reveal(&c, 43, &secret),
            Err(CommitmentError::Mismatch { epoch: 43 })
        );
        for bit in 0..256 {
            let mut other = secret;
            other[bit / 8] ^= 1 << (bit % 8);
            assert!(check_reveal(&c, 42, &other).is_err());
        }
    }

    #[test]
    fn encoding_is_pinned() {
        // keccak256("seedbank audit v1" ‖ 00..01 ‖ 32 zero bytes), written out so a change to the
        // encoding shows up here and in docs/protocol.md together.
        let mut input = b"seedbank audit v1".to_vec();
        input.extend_from_slice(&1u64.to_be_bytes());
        input.extend_from_slice(&[0u8; 32]);
        assert_eq!(input.len(), 57);
        assert_eq!(commit(1, &[0u8; 32]), keccak256(&input));
        assert_eq!(
            hex::encode(commit(1, &[0u8; 32])),
            "a7a22aed02714021cbb476162f7baa304e77c17b0498a269a20c1a761af9bb70"
        );
    }
}
