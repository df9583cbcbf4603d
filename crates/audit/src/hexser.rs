//! Serde helpers: byte strings as `0x` hex, as the rest of the project writes hashes in JSON.

use serde::{Deserialize, Deserializer, Serializer, de::Error};

fn decode(s: &str) -> Result<Vec<u8>, hex::FromHexError> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
}

/// `Vec<u8>` as one hex string.
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s).map_err(D::Error::custom)
    }
}

/// `[u8; 20]` (a SHA-1) as a hex string.
pub mod hex20 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8; 20], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 20], D::Error> {
        let s = String::deserialize(d)?;
        let v = decode(&s).map_err(D::Error::custom)?;
        <[u8; 20]>::try_from(v.as_slice()).map_err(|_| D::Error::custom("expected 20 bytes of hex"))
    }
}
