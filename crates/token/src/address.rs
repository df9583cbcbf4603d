//! 20-byte EVM addresses, written with the EIP-55 mixed-case checksum.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::eip712::keccak256;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Address(pub [u8; 20]);

/// The order of the bytes (what a derived `Ord` gives), compared as two big-endian integers: the
/// derived comparison calls `memcmp` for 20 bytes, and the ledger's maps keyed by address compare
/// millions of times per epoch close.
impl Ord for Address {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("an address is 0x and 40 hex digits, got {0:?}")]
    Malformed(String),
    #[error("address {0} fails its EIP-55 checksum (mistyped?)")]
    Checksum(String),
}

impl Address {
    pub const ZERO: Address = Address([0; 20]);

    /// The first 16 and the last 4 bytes as big-endian integers: ordered as the bytes are.
    fn order_key(&self) -> (u128, u32) {
        let [head @ .., a, b, c, d] = self.0;
        let head: [u8; 16] = head;
        (u128::from_be_bytes(head), u32::from_be_bytes([a, b, c, d]))
    }

    /// The EIP-55 form: hex digits upper-cased where the keccak of the lower-case form has a high nibble.
    pub fn to_checksum(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            out.push(if nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        out
    }
}

impl FromStr for Address {
    type Err = AddressError;

    /// Accepts all-lower or all-upper hex, or mixed case only with a valid checksum.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .filter(|d| d.len() == 40)
            .ok_or_else(|| AddressError::Malformed(s.to_owned()))?;
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| AddressError::Malformed(s.to_owned()))?;
        let address = Address(bytes);
        let mixed = digits.chars().any(|c| c.is_ascii_lowercase())
            && digits.chars().any(|c| c.is_ascii_uppercase());
        if mixed && address.to_checksum()[2..] != *digits {
            return Err(AddressError::Checksum(s.to_owned()));
        }
        Ok(address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_checksum())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eip55_examples() {
        // From the EIP-55 text.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_checksum(), s);
            assert_eq!(s.to_lowercase().parse::<Address>().unwrap(), a);
        }
    }

    proptest::proptest! {
        /// Ordered as their bytes are, like the derived order it replaces.
        #[test]
        fn ordered_as_bytes(a in proptest::prelude::any::<[u8; 20]>(), b in proptest::prelude::any::<[u8; 20]>(), prefix in 0usize..20) {
            // A shared prefix of any length, so every byte position decides some comparisons.
            let mut b = b;
            b[..prefix].copy_from_slice(&a[..prefix]);
            let (x, y) = (Address(a), Address(b));
            proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            proptest::prop_assert_eq!(x.partial_cmp(&y), Some(a.cmp(&b)));
            proptest::prop_assert_eq!(x.cmp(&x), std::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        assert!(matches!(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD".parse::<Address>(),
            Err(AddressError::Checksum(_))
        ));
        for s in [
            "",
            "0x",
            "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae",
            "0xzzaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ] {
            assert!(
                matches!(s.parse::<Address>(), Err(AddressError::Malformed(_))),
                "{s}"
            );
        }
    }
}
