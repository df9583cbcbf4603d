//! The economy's genesis parameters: every number the epoch formulas read, with its default.
//!
//! A genesis file holds them as a TOML table; an empty table is the defaults and an unknown key is
//! an error (a misspelt parameter must not silently fall back to its default). The fractional
//! parameters are WAD integers in the program and decimal text in the file (`"0.25"`, `"4"`,
//! `"1.5"`), see [`wad_text`]: TOML integers stop at 2^63 - 1, and a float would let the
//! platform's float parsing decide a consensus parameter.

use serde::{Deserialize, Serialize};

use crate::fixed::WAD;
use crate::{BPS, EconError};

/// Which of the seed's two routes the collective runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// Fixed membership gate (`min_stake`), per-torrent prices that follow saturation.
    #[default]
    DynamicPrice,
    /// Fixed prices, a minimum stake that follows members / `target_members`.
    DynamicGate,
}

/// The economy's genesis parameters. `Default` is the documented defaults (`docs/economics.md`,
/// "Epoch formulas"); [`EconomyParams::validate`] refuses values the formulas make no sense for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EconomyParams {
    /// Default [`Route::DynamicPrice`].
    pub route: Route,
    /// Annual inflation, bps: 500 = 5 %/year, compounded per epoch. At most 10,000.
    pub inflation_bps: u32,
    /// The most a price, weight or gate moves per epoch, bps of its current value: 1250 = 12.5 %,
    /// EIP-1559's 1/8. At most 10,000.
    pub max_step_bps: u32,
    /// Replicas a torrent should have: 3. At least 1.
    pub target_replicas: u32,
    /// The lowest torrent weight: 0.25. Above 0 (a multiplicative step cannot leave 0).
    #[serde(with = "wad_text")]
    pub weight_min_wad: u128,
    /// The highest torrent weight: 4.0. At least `weight_min_wad`.
    #[serde(with = "wad_text")]
    pub weight_max_wad: u128,
    /// The most demand multiplies a torrent's target weight by: 2.0. From 1.0 to 10.0 (the
    /// saturation cap).
    #[serde(with = "wad_text")]
    pub hot_max_wad: u128,
    /// The geographic boost, bps: 1500 = +15 %. At most 10,000.
    pub geo_boost_bps: u32,
    /// A boosted replica has no other replica within this many km: 100. 1 to 20,000.
    pub geo_separation_km: u32,
    /// km of distance one ms of round trip allows: 100 (light in fibre goes ~200 km/ms one way,
    /// so a round trip of 1 ms covers at most ~100 km each way). 1 to 150 (light in vacuum).
    pub km_per_rtt_ms: u32,
    /// Share of a reward liquid at once, bps: 2500 (Filecoin's 25 %). At most 10,000.
    pub liquid_bps: u32,
    /// The rest vests linearly over this many days: 180 (Filecoin's). At least 1.
    pub vesting_days: u32,
    /// A staker's weight is amount × (remaining lock / max lock)^alpha: 1.5. At most 8.0.
    #[serde(with = "wad_text")]
    pub staker_alpha_wad: u128,
    /// The dynamic gate's capacity target, members (route `dynamic-gate`): 1000. At least 1.
    pub target_members: u32,
}

impl Default for EconomyParams {
    fn default() -> Self {
        EconomyParams {
            route: Route::DynamicPrice,
            inflation_bps: 500,
            max_step_bps: 1250,
            target_replicas: 3,
            weight_min_wad: WAD / 4,
            weight_max_wad: 4 * WAD,
            hot_max_wad: 2 * WAD,
            geo_boost_bps: 1500,
            geo_separation_km: 100,
            km_per_rtt_ms: 100,
            liquid_bps: 2500,
            vesting_days: 180,
            staker_alpha_wad: 3 * WAD / 2,
            target_members: 1000,
        }
    }
}

/// The largest staker alpha: 8.0 (beyond it the weight of any lock but the longest is ~0).
pub const MAX_STAKER_ALPHA_WAD: u128 = 8 * WAD;

/// km per ms of round trip light in vacuum allows (299,792 km/s, there and back): 149.9, so a
/// `km_per_rtt_ms` above 150 would accept locations no signal could have come from.
pub const MAX_KM_PER_RTT_MS: u32 = 150;

/// The largest `geo_separation_km`: about half the Earth's circumference (20,015 km), rounded
/// down; at or beyond it no two replicas are ever apart.
pub const MAX_GEO_SEPARATION_KM: u32 = 20_000;

impl EconomyParams {
    /// Refuses parameters the formulas make no sense for (the message names the field).
    pub fn validate(&self) -> Result<(), EconError> {
        let bad = |msg: String| Err(EconError::BadParam(msg));
        for (name, value) in [
            ("inflation_bps", self.inflation_bps),
            ("max_step_bps", self.max_step_bps),
            ("geo_boost_bps", self.geo_boost_bps),
            ("liquid_bps", self.liquid_bps),
        ] {
            if value > BPS {
                return bad(format!("{name} = {value}: at most 10000 (100 %)"));
            }
        }
        for (name, value) in [
            ("target_replicas", self.target_replicas),
            ("vesting_days", self.vesting_days),
            ("target_members", self.target_members),
            ("geo_separation_km", self.geo_separation_km),
            ("km_per_rtt_ms", self.km_per_rtt_ms),
        ] {
            if value == 0 {
                return bad(format!("{name} = 0: it must be at least 1"));
            }
        }
        if self.geo_separation_km > MAX_GEO_SEPARATION_KM {
            return bad(format!(
                "geo_separation_km = {}: at most {MAX_GEO_SEPARATION_KM} (half the Earth's circumference)",
                self.geo_separation_km
            ));
        }
        if self.km_per_rtt_ms > MAX_KM_PER_RTT_MS {
            return bad(format!(
                "km_per_rtt_ms = {}: at most {MAX_KM_PER_RTT_MS} (light in vacuum covers 150 km per ms of round trip)",
                self.km_per_rtt_ms
            ));
        }
        if self.weight_min_wad == 0 {
            return bad("weight_min_wad = 0: a weight of 0 could never grow again".into());
        }
        if self.weight_min_wad > self.weight_max_wad {
            return bad(format!(
                "weight_min_wad ({}) is above weight_max_wad ({})",
                wad_text::format(self.weight_min_wad),
                wad_text::format(self.weight_max_wad)
            ));
        }
        if self.hot_max_wad < WAD || self.hot_max_wad > crate::market::SATURATION_CAP_WAD {
            return bad(format!(
                "hot_max_wad = {}: between 1 and 10 (the saturation cap)",
                wad_text::format(self.hot_max_wad)
            ));
        }
        if self.staker_alpha_wad > MAX_STAKER_ALPHA_WAD {
            return bad(format!(
                "staker_alpha_wad = {}: at most 8",
                wad_text::format(self.staker_alpha_wad)
            ));
        }
        Ok(())
    }

    /// `vesting_days` in seconds.
    pub fn vesting_secs(&self) -> u64 {
        u64::from(self.vesting_days) * 86_400
    }
}

/// Serde for WAD fixed-point fields as exact decimal text: `"0.25"` is `WAD / 4`.
///
/// Writes the shortest exact decimal (`"4"`, `"0.25"`, `"1.000000000000000001"`). Reads a string
/// of digits with an optional fraction of 1 to 18 digits (`"4"`, `"0.25"`, `"1.5"`, `"00.50"`),
/// or a plain non-negative integer, read as whole units like the string of the same digits
/// (`4` = `"4"` = 4.0, not 4 × 10^-18). Anything else is refused, floats included: `0.25` as a
/// TOML float would let float parsing decide a consensus parameter, so write `"0.25"`.
pub mod wad_text {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    use crate::fixed::WAD;

    /// Digits of the fraction: WAD = 10^18.
    const DECIMALS: usize = 18;

    /// The shortest exact decimal text of a WAD value.
    pub fn format(value: u128) -> String {
        let whole = value / WAD;
        let frac = value % WAD;
        if frac == 0 {
            return whole.to_string();
        }
        let digits = format!("{frac:018}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    /// Parses decimal text exactly into WAD (see the module documentation for the accepted form).
    pub fn parse(text: &str) -> Result<u128, String> {
        let bad = |why: &str| Err(format!("{text:?}: {why}"));
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (text, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) {
            return bad("expected a decimal number like \"0.25\" or \"4\"");
        }
        let mut value = 0u128;
        for b in whole.bytes() {
            value = match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(b - b'0')))
            {
                Some(v) => v,
                None => return bad("too large"),
            };
        }
        let Some(mut value) = value.checked_mul(WAD) else {
            return bad("too large");
        };
        if let Some(f) = frac {
            if !all_digits(f) {
                return bad("expected digits after the decimal point");
            }
            if f.len() > DECIMALS {
                return bad("at most 18 decimals");
            }
            // At most 18 digits: below 10^18, and times the padding below 10^18 as well.
            let mut units = 0u128;
            for b in f.bytes() {
                units = units * 10 + u128::from(b - b'0');
            }
            units *= 10u128.pow((DECIMALS - f.len()) as u32);
            value = match value.checked_add(units) {
                Some(v) => v,
                None => return bad("too large"),
            };
        }
        Ok(value)
    }

    pub fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        deserializer.deserialize_any(WadVisitor)
    }

    struct WadVisitor;

    impl Visitor<'_> for WadVisitor {
        type Value = u128;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a decimal number as a string, like \"0.25\" (at most 18 decimals)")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u128, E> {
            parse(v).map_err(E::custom)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u128, E> {
            // u64::MAX · 10^18 < 2^124: cannot overflow.
            Ok(u128::from(v) * WAD)
        }

        fn visit_u128<E: de::Error>(self, v: u128) -> Result<u128, E> {
            v.checked_mul(WAD)
                .ok_or_else(|| E::custom(format!("{v}: too large")))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u128, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::custom(format!("{v}: must not be negative"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every WAD value prints as text that reads back exactly, in a valid parameter table too.
        #[test]
        fn wad_text_round_trips_any_value(v in any::<u128>(), alpha in 0u128..=8 * WAD) {
            let text = wad_text::format(v);
            prop_assert_eq!(wad_text::parse(&text), Ok(v));
            let p = EconomyParams { staker_alpha_wad: alpha, weight_max_wad: v.max(WAD), ..EconomyParams::default() };
            let back: EconomyParams = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
            prop_assert_eq!(back, p);
        }
    }

    #[test]
    fn defaults_are_valid_and_documented() {
        let p = EconomyParams::default();
        p.validate().unwrap();
        assert_eq!(p.route, Route::DynamicPrice);
        assert_eq!(p.weight_min_wad, 250_000_000_000_000_000);
        assert_eq!(p.staker_alpha_wad, 1_500_000_000_000_000_000);
        assert_eq!(p.vesting_secs(), 180 * 86_400);
    }

    #[test]
    fn defaults_round_trip_through_toml() {
        let p = EconomyParams::default();
        let text = toml::to_string(&p).unwrap();
        assert!(text.contains("weight_min_wad = \"0.25\""), "{text}");
        assert!(text.contains("staker_alpha_wad = \"1.5\""), "{text}");
        assert!(text.contains("weight_max_wad = \"4\""), "{text}");
        assert!(text.contains("route = \"dynamic-price\""), "{text}");
        assert_eq!(toml::from_str::<EconomyParams>(&text).unwrap(), p);
        // An empty table is the defaults.
        assert_eq!(toml::from_str::<EconomyParams>("").unwrap(), p);
        // And through JSON.
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<EconomyParams>(&json).unwrap(), p);
        assert_eq!(serde_json::from_str::<EconomyParams>("{}").unwrap(), p);
    }

    #[test]
    fn partial_tables_and_refusals() {
        let p: EconomyParams = toml::from_str(
            "route = \"dynamic-gate\"\nweight_max_wad = 8\nhot_max_wad = \"1.75\"\nstaker_alpha_wad = \"0.000000000000000001\"\n",
        )
        .unwrap();
        assert_eq!(p.route, Route::DynamicGate);
        assert_eq!(p.weight_max_wad, 8 * WAD);
        assert_eq!(p.hot_max_wad, 7 * WAD / 4);
        assert_eq!(p.staker_alpha_wad, 1);
        assert_eq!(p.inflation_bps, 500);
        for bad in [
            "inflation = 5",                              // unknown key
            "weight_min_wad = 0.25",                      // a float
            "weight_min_wad = -1",                        // negative
            "weight_min_wad = \"-1\"",                    // negative text
            "weight_min_wad = \"0.1234567890123456789\"", // 19 decimals
            "weight_min_wad = \"1e3\"",                   // exponent
            "weight_min_wad = \".5\"",                    // no whole part
            "weight_min_wad = \"5.\"",                    // no fraction digits
            "weight_min_wad = \" 1\"",                    // space
            "weight_min_wad = \"340282366920938463464\"", // beyond u128 once scaled
            "route = \"dynamic_price\"",                  // not kebab-case
        ] {
            assert!(toml::from_str::<EconomyParams>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wad_text_round_trips() {
        for (text, value) in [
            ("0", 0),
            ("0.25", WAD / 4),
            ("4", 4 * WAD),
            ("1.5", 3 * WAD / 2),
            ("0.000000000000000001", 1),
            ("1.000000000000000001", WAD + 1),
            (
                "123456789.123456789",
                123_456_789 * WAD + 123_456_789_000_000_000,
            ),
            ("340282366920938463463.374607431768211455", u128::MAX),
        ] {
            assert_eq!(wad_text::parse(text), Ok(value), "{text}");
            assert_eq!(wad_text::format(value), text);
        }
        // Accepted but not the shortest form.
        assert_eq!(wad_text::parse("00.50"), Ok(WAD / 2));
        assert_eq!(wad_text::parse("2.0"), Ok(2 * WAD));
        assert!(wad_text::parse("340282366920938463463.374607431768211456").is_err());
        assert!(wad_text::parse("").is_err());
        assert!(wad_text::parse("+1").is_err());
    }

    #[test]
    fn validate_refuses_nonsense() {
        let d = EconomyParams::default();
        let bads = [
            EconomyParams {
                inflation_bps: 10_001,
                ..d
            },
            EconomyParams {
                max_step_bps: 10_001,
                ..d
            },
            EconomyParams {
                geo_boost_bps: 10_001,
                ..d
            },
            EconomyParams {
                liquid_bps: 10_001,
                ..d
            },
            EconomyParams {
                target_replicas: 0,
                ..d
            },
            EconomyParams {
                vesting_days: 0,
                ..d
            },
            EconomyParams {
                target_members: 0,
                ..d
            },
            EconomyParams {
                geo_separation_km: 0,
                ..d
            },
            EconomyParams {
                geo_separation_km: 20_001,
                ..d
            },
            EconomyParams {
                km_per_rtt_ms: 0,
                ..d
            },
            EconomyParams {
                km_per_rtt_ms: 151,
                ..d
            },
            EconomyParams {
                weight_min_wad: 0,
                ..d
            },
            EconomyParams {
                weight_min_wad: 5 * WAD,
                ..d
            },
            EconomyParams {
                hot_max_wad: WAD - 1,
                ..d
            },
            EconomyParams {
                hot_max_wad: 10 * WAD + 1,
                ..d
            },
            EconomyParams {
                staker_alpha_wad: 8 * WAD + 1,
                ..d
            },
        ];
        for bad in bads {
            assert!(
                matches!(bad.validate(), Err(EconError::BadParam(_))),
                "{bad:?}"
            );
        }
        // The edges are fine.
        for good in [
            EconomyParams {
                inflation_bps: 0,
                max_step_bps: 0,
                ..d
            },
            EconomyParams {
                liquid_bps: 10_000,
                max_step_bps: 10_000,
                ..d
            },
            EconomyParams {
                weight_min_wad: 1,
                weight_max_wad: 1,
                ..d
            },
            EconomyParams {
                hot_max_wad: WAD,
                staker_alpha_wad: 0,
                ..d
            },
            EconomyParams {
                staker_alpha_wad: 8 * WAD,
                km_per_rtt_ms: 150,
                ..d
            },
        ] {
            good.validate().unwrap();
        }
        let msg = EconomyParams {
            weight_min_wad: 5 * WAD,
            ..d
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            msg.to_string(),
            "bad economy parameter: weight_min_wad (5) is above weight_max_wad (4)"
        );
    }
}
