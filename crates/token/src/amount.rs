//! Token amounts: integers in the base unit (10^-18 of a token), as on an ERC-20 with 18 decimals.
//!
//! `u128` holds 3.4 × 10^20 whole tokens, far beyond any supply a collective will mint; every
//! operation is checked so an overflow is an error, never a wrap. On the wire (JSON) an amount is a
//! decimal string of base units, because JSON numbers lose precision past 2^53.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const DECIMALS: u32 = 18;
const ONE: u128 = 10u128.pow(DECIMALS);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Amount(pub u128);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("{0:?} is not an amount: write whole tokens with at most 18 decimals, like 12.5")]
    Malformed(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub fn tokens(whole: u64) -> Amount {
        Amount(u128::from(whole) * ONE)
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn checked_mul(self, n: u128) -> Option<Amount> {
        self.0.checked_mul(n).map(Amount)
    }

    /// `self × numerator / denominator`, rounded down; `None` if the product overflows or the
    /// denominator is zero.
    pub fn mul_div(self, numerator: u128, denominator: u128) -> Option<Amount> {
        if denominator == 0 {
            return None;
        }
        self.0
            .checked_mul(numerator)
            .map(|p| Amount(p / denominator))
    }

    /// Parses whole tokens with an optional fraction (`"12"`, `"0.5"`), as people write them.
    pub fn parse_tokens(s: &str) -> Result<Amount, AmountError> {
        let malformed = || AmountError::Malformed(s.to_owned());
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (s.contains('.') && !digits(frac)) || frac.len() > DECIMALS as usize {
            return Err(malformed());
        }
        let whole: u128 = whole
            .parse()
            .map_err(|_| AmountError::TooLarge(s.to_owned()))?;
        let frac_units: u128 = if frac.is_empty() {
            0
        } else {
            let scale = 10u128.pow(DECIMALS - frac.len() as u32);
            frac.parse::<u128>().map_err(|_| malformed())? * scale
        };
        whole
            .checked_mul(ONE)
            .and_then(|w| w.checked_add(frac_units))
            .map(Amount)
            .ok_or_else(|| AmountError::TooLarge(s.to_owned()))
    }

    /// Base units as a decimal string, the JSON form.
    pub fn parse_units(s: &str) -> Result<Amount, AmountError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Malformed(s.to_owned()));
        }
        s.parse()
            .map(Amount)
            .map_err(|_| AmountError::TooLarge(s.to_owned()))
    }

    /// The 32-byte big-endian word EIP-712 and the EVM use for a `uint256`.
    pub fn to_word(self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[16..].copy_from_slice(&self.0.to_be_bytes());
        w
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Whole tokens, as a user types them (see [`Amount::parse_tokens`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse_tokens(s)
    }
}

/// Whole tokens with the fraction's trailing zeros trimmed: `12.5`, `0.000000000000000001`.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / ONE;
        let frac = self.0 % ONE;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let frac = format!("{frac:018}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Amount::parse_units(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_tokens() {
        assert_eq!(
            Amount::parse_tokens("12.5").unwrap(),
            Amount(12_500_000_000_000_000_000)
        );
        assert_eq!(
            Amount::parse_tokens("0.000000000000000001").unwrap(),
            Amount(1)
        );
        assert_eq!(Amount(12_500_000_000_000_000_000).to_string(), "12.5");
        assert_eq!(Amount::tokens(3).to_string(), "3");
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1e3",
            "0.0000000000000000001",
            " 1",
            "1,5",
        ] {
            assert!(Amount::parse_tokens(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            Amount::parse_tokens("340282366920938463464"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(Amount::parse_units("-5").is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Amount(u128::MAX).checked_add(Amount(1)), None);
        assert_eq!(Amount(0).checked_sub(Amount(1)), None);
        assert_eq!(Amount(10).mul_div(3, 4), Some(Amount(7)));
        assert_eq!(Amount(10).mul_div(3, 0), None);
    }

    proptest! {
        #[test]
        fn display_round_trips(units in any::<u128>()) {
            let a = Amount(units);
            prop_assert_eq!(Amount::parse_tokens(&a.to_string()).unwrap(), a);
            prop_assert_eq!(serde_json::from_str::<Amount>(&serde_json::to_string(&a).unwrap()).unwrap(), a);
        }
    }
}
