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

/// `Vec<[u8; 32]>` (a Merkle proof) as a list of hex strings.
pub mod hashes {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(hashes: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hashes.len()))?;
        for h in hashes {
            seq.serialize_element(&format!("0x{}", hex::encode(h)))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                let v = decode(s).map_err(D::Error::custom)?;
                <[u8; 32]>::try_from(v.as_slice())
                    .map_err(|_| D::Error::custom("expected 32 bytes of hex"))
            })
            .collect()
    }
}
