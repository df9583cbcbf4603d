//! secp256k1 keys and 65-byte recoverable signatures `r ‖ s ‖ v`, as Ethereum writes them.

use std::fmt;

use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::address::Address;
use crate::eip712::keccak256;

/// A private key. Its bytes are wiped when it is dropped.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("a signature is 65 bytes (r, s, v) in hex, got {0} bytes")]
    Length(usize),
    #[error("signature is not hex")]
    NotHex,
    #[error("signature v must be 27 or 28 (or 0/1), got {0}")]
    BadV(u8),
    #[error(
        "signature s is in the upper half of the curve order (EIP-2 forbids malleable signatures)"
    )]
    HighS,
    #[error("signature does not recover to any key")]
    Unrecoverable,
    #[error("not a valid secp256k1 private key")]
    BadKey,
}

impl SecretKey {
    pub fn generate() -> SecretKey {
        loop {
            let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
            if let Ok(key) = SecretKey::from_bytes(&bytes) {
                return key;
            }
        }
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<SecretKey, SignatureError> {
        SigningKey::from_slice(bytes)
            .map(SecretKey)
            .map_err(|_| SignatureError::BadKey)
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    pub fn address(&self) -> Address {
        address_of(self.0.verifying_key())
    }

    /// Signs a 32-byte digest (an EIP-712 hash). The signature has a low `s`, as EIP-2 requires.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Signature {
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(digest)
            // Only fails for a zero digest scalar in the nonce derivation, which RFC 6979 rules out.
            .expect("RFC 6979 signing of a 32-byte prehash cannot fail");
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        Signature(out)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.address())
    }
}

fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&hash[12..]);
    Address(a)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 65]);

impl Signature {
    /// The address whose key made this signature over `digest`. Refuses malleable (high-s)
    /// signatures so that one signed message has exactly one signature.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<Address, SignatureError> {
        let v = match self.0[64] {
            27 | 28 => self.0[64] - 27,
            0 | 1 => self.0[64],
            other => return Err(SignatureError::BadV(other)),
        };
        let sig =
            EcdsaSignature::from_slice(&self.0[..64]).map_err(|_| SignatureError::Unrecoverable)?;
        if sig.normalize_s().is_some() {
            return Err(SignatureError::HighS);
        }
        let recid = RecoveryId::from_byte(v).ok_or(SignatureError::BadV(v))?;
        let key = VerifyingKey::recover_from_prehash(digest, &sig, recid)
            .map_err(|_| SignatureError::Unrecoverable)?;
        Ok(address_of(&key))
    }

    pub fn from_hex(s: &str) -> Result<Signature, SignatureError> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(digits).map_err(|_| SignatureError::NotHex)?;
        let bytes: [u8; 65] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SignatureError::Length(b.len()))?;
        Ok(Signature(bytes))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Signature::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_key_has_known_address() {
        // keccak256("cow"), the EIP-712 example's signer.
        let key = SecretKey::from_bytes(&keccak256(b"cow")).unwrap();
        assert_eq!(
            key.address().to_string(),
            "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
        );
    }

    #[test]
    fn sign_then_recover() {
        let key = SecretKey::generate();
        let digest = keccak256(b"message");
        let sig = key.sign_digest(&digest);
        assert_eq!(sig.recover(&digest).unwrap(), key.address());
        assert_ne!(sig.recover(&keccak256(b"other")).unwrap(), key.address());
    }

    #[test]
    fn malleable_and_malformed_signatures_are_refused() {
        let key = SecretKey::generate();
        let digest = keccak256(b"message");
        let sig = key.sign_digest(&digest);
        // s' = n - s with v flipped recovers the same key on a naive verifier: EIP-2 forbids it.
        let parsed = EcdsaSignature::from_slice(&sig.0[..64]).unwrap();
        let (r, s) = parsed.split_scalars();
        let high = EcdsaSignature::from_scalars(r, -*s).unwrap();
        let mut flipped = [0u8; 65];
        flipped[..64].copy_from_slice(&high.to_bytes());
        flipped[64] = if sig.0[64] == 27 { 28 } else { 27 };
        assert_eq!(
            Signature(flipped).recover(&digest),
            Err(SignatureError::HighS)
        );
        let mut bad_v = sig;
        bad_v.0[64] = 29;
        assert_eq!(bad_v.recover(&digest), Err(SignatureError::BadV(29)));
        assert_eq!(
            Signature([0; 65]).recover(&digest),
            Err(SignatureError::Unrecoverable)
        );
        assert_eq!(Signature::from_hex("0x00"), Err(SignatureError::Length(1)));
        assert!(SecretKey::from_bytes(&[0; 32]).is_err());
    }
}
