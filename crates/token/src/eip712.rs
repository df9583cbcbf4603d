//! EIP-712 typed-data hashing: `keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))`.
//!
//! Our messages are flat structs of `address`, `uint256`, `bytes32` and `string` fields, so each
//! encodes to one 32-byte word per field; no nested types are needed.

use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

use crate::address::Address;

pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// The signing domain: binds every signature to one collective (its name, the chain it settles on,
/// and the contract — or, embedded, the collective's own address), so a message signed for one
/// collective is worthless in another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub name: String,
    pub version: String,
    pub chain_id: u64,
    pub verifying_contract: Address,
}

const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

impl Domain {
    pub fn separator(&self) -> [u8; 32] {
        hash_words(&[
            keccak256(DOMAIN_TYPE.as_bytes()),
            keccak256(self.name.as_bytes()),
            keccak256(self.version.as_bytes()),
            word_u64(self.chain_id),
            word_address(&self.verifying_contract),
        ])
    }

    /// The digest a wallet signs for `message` in this domain.
    pub fn digest<M: TypedMessage>(&self, message: &M) -> [u8; 32] {
        self.digest_with(&self.separator(), message)
    }

    /// As [`Domain::digest`], with the separator computed once by the caller (hot paths).
    pub fn digest_with<M: TypedMessage>(&self, separator: &[u8; 32], message: &M) -> [u8; 32] {
        let mut buf = [0u8; 66];
        buf[0] = 0x19;
        buf[1] = 0x01;
        buf[2..34].copy_from_slice(separator);
        buf[34..].copy_from_slice(&message.hash_struct());
        keccak256(&buf)
    }
}

/// A flat EIP-712 struct.
pub trait TypedMessage {
    /// The type's encoding, e.g. `Transfer(address from,address to,uint256 amount,uint256 nonce)`.
    const TYPE: &'static str;

    /// One word per field, in the order of [`TypedMessage::TYPE`].
    fn words(&self) -> Vec<[u8; 32]>;

    fn hash_struct(&self) -> [u8; 32] {
        let mut words = Vec::with_capacity(8);
        words.push(keccak256(Self::TYPE.as_bytes()));
        words.extend(self.words());
        hash_words(&words)
    }
}

pub fn hash_words(words: &[[u8; 32]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for w in words {
        hasher.update(w);
    }
    hasher.finalize().into()
}

pub fn word_u64(n: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&n.to_be_bytes());
    w
}

pub fn word_address(a: &Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(&a.0);
    w
}

pub fn word_string(s: &str) -> [u8; 32] {
    keccak256(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SecretKey;

    /// The example of the EIP-712 text (`Mail` between two `Person`s), whose nested structs are
    /// hashed by hand here: it pins the domain separator and the final digest to the standard.
    #[test]
    fn eip712_reference_example() {
        let domain = Domain {
            name: "Ether Mail".into(),
            version: "1".into(),
            chain_id: 1,
            verifying_contract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
                .parse()
                .unwrap(),
        };
        assert_eq!(
            hex::encode(domain.separator()),
            "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
        );
        let person_type = keccak256(b"Person(string name,address wallet)");
        let person = |name: &str, wallet: &str| {
            hash_words(&[
                person_type,
                word_string(name),
                word_address(&wallet.parse().unwrap()),
            ])
        };
        struct Mail([u8; 32], [u8; 32], &'static str);
        impl TypedMessage for Mail {
            const TYPE: &'static str =
                "Mail(Person from,Person to,string contents)Person(string name,address wallet)";
            fn words(&self) -> Vec<[u8; 32]> {
                vec![self.0, self.1, word_string(self.2)]
            }
        }
        let mail = Mail(
            person("Cow", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"),
            person("Bob", "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"),
            "Hello, Bob!",
        );
        assert_eq!(
            hex::encode(mail.hash_struct()),
            "c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"
        );
        let digest = domain.digest(&mail);
        assert_eq!(
            hex::encode(digest),
            "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
        );
        let sig = SecretKey::from_bytes(&keccak256(b"cow"))
            .unwrap()
            .sign_digest(&digest);
        assert_eq!(
            hex::encode(&sig.0[..]),
            "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d\
             07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562\
             1c"
        );
    }
}
