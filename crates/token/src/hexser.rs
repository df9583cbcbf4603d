//! 32-byte hashes as text: `0x` and 64 hex digits, the one form the project writes them in (JSON,
//! API paths, logs). Serde modules for a hash, a list and an optional one, and the two plain
//! conversions.

use serde::{Deserialize, Deserializer, Serializer};

/// `0x` and 64 lowercase hex digits.
pub fn hash_hex(hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(hash))
}

/// A hash from 64 hex digits, with or without `0x`.
pub fn parse_hash(text: &str) -> Result<[u8; 32], String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|_| format!("{text:?} is not 0x and 64 hex digits"))?;
    Ok(out)
}

/// `[u8; 32]` as one hex string.
pub mod hex32 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hash_hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        parse_hash(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// `Vec<[u8; 32]>` as a list of hex strings.
pub mod hex32_list {
    use serde::ser::SerializeSeq;

    use super::*;

    pub fn serialize<S: Serializer>(list: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for hash in list {
            seq.serialize_element(&hash_hex(hash))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| parse_hash(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// `Option<[u8; 32]>` as a hex string or `null`.
pub mod hex32_option {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(hash) => s.serialize_some(&hash_hex(hash)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse_hash(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_bad_text_is_refused() {
        let h = [0xab; 32];
        assert_eq!(parse_hash(&hash_hex(&h)), Ok(h));
        assert_eq!(parse_hash(&hex::encode(h)), Ok(h), "0x is optional");
        for bad in [
            "",
            "0x",
            "0xab",
            &"0".repeat(66),
            &format!("0x{}", "g".repeat(64)),
        ] {
            assert!(parse_hash(bad).is_err(), "{bad:?}");
        }
    }
}
