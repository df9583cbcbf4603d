//! The geographic boost: +15 % for a replica far from every other replica, but only where the
//! node's declared location agrees with the round trip the auditor measured.
//!
//! Helium's lesson: hotspots claimed locations they were not at, through cloud servers, to farm
//! coverage rewards. A declared location is cheap; a round-trip time is not: no signal travels
//! faster than light, about 200 km per ms one way in fibre, so a round trip of `t` ms puts the
//! node within about `t × 100` km of the auditor. A node that claims to be in Sydney but answers
//! a Frankfurt auditor in 2 ms is lying about one of them, and gets no boost. The check can only
//! refute (a slow answer from nearby is consistent), which is the safe direction: it denies a
//! boost, it never takes anything.
//!
//! Geometry is integer-only, so the verdict is the same bits everywhere: angles are integers of
//! micro-degrees (exact range reduction modulo 360°), `sin` is a Taylor series in fixed point
//! (10^18 = 1.0, `i128`), and "within `d` km" compares the haversine `h = sin²(Δφ/2) + cos φ1
//! cos φ2 sin²(Δλ/2)` (the squared half-chord of the unit sphere) with `sin²(d / 2R)`, R = 6371 km.
//! Both sides are accurate to a few units of 10^-18, so a comparison can only differ from exact
//! arithmetic for distances within a few centimetres of the bound (near 0 and near the antipode,
//! where the haversine is flat; well under a millimetre at the distances that matter), finer than
//! the micro-degree (11 cm) coordinates themselves.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::params::EconomyParams;
use crate::{BPS, EconError};

/// The Earth's mean radius, metres.
pub const EARTH_RADIUS_M: u64 = 6_371_000;

/// 1.0 in the trigonometric fixed point.
const S: i128 = 1_000_000_000_000_000_000;
/// floor(π · 10^18) (π = 3.14159265358979323846…).
const PI_S: i128 = 3_141_592_653_589_793_238;
/// floor(π/2 · 10^18).
const HALF_PI_S: i128 = 1_570_796_326_794_896_619;
/// Angles inside the trigonometry are in half micro-degrees, so that half of any difference of
/// micro-degree coordinates is an integer: 90° = 180,000,000 units.
const QUARTER_TURN: i128 = 180_000_000;
const HALF_TURN: i128 = 2 * QUARTER_TURN;
const FULL_TURN: i128 = 4 * QUARTER_TURN;
/// Half the Earth's circumference, whole km, rounded up: no two points are farther apart.
const MAX_DISTANCE_KM: u64 = 20_016;

/// A declared location, in integer micro-degrees. [`Location::parse`] accepts exactly what the
/// ledger accepts in a report (`ledger::check_location`); the fields are public, and every
/// function here is total on any values in them (latitudes beyond ±90° give meaningless but
/// deterministic distances).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub lat_micro: i64,
    pub lon_micro: i64,
}

impl Location {
    /// "lat,lon" in decimal degrees, latitude in −90..=90, longitude in −180..=180, at most 6
    /// decimals, no spaces, signs or exponents beyond a leading `-` on either number: the same
    /// rules as `ledger::check_location` (crates/ledger/src/hosting.rs). The empty string, which
    /// the ledger accepts as "no location", is an error here: see [`Location::parse_optional`].
    pub fn parse(s: &str) -> Result<Location, EconError> {
        let bad = || {
            Err(EconError::BadLocation(format!(
                "{s:?}: expected \"lat,lon\" in decimal degrees (at most 6 decimals)"
            )))
        };
        let Some((lat, lon)) = s.split_once(',') else {
            return bad();
        };
        match (micro_degrees(lat), micro_degrees(lon)) {
            (Some(lat_micro), Some(lon_micro))
                if lat_micro.abs() <= 90_000_000 && lon_micro.abs() <= 180_000_000 =>
            {
                Ok(Location {
                    lat_micro,
                    lon_micro,
                })
            }
            _ => bad(),
        }
    }

    /// A report's location field: `""` is `None`, anything else as [`Location::parse`].
    pub fn parse_optional(s: &str) -> Result<Option<Location>, EconError> {
        if s.is_empty() {
            Ok(None)
        } else {
            Location::parse(s).map(Some)
        }
    }
}

/// The shortest text [`Location::parse`] reads back as the same location: `"52.52,13.405"`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fn degrees(v: i64) -> String {
            let sign = if v < 0 { "-" } else { "" };
            let v = v.unsigned_abs();
            let (whole, frac) = (v / 1_000_000, v % 1_000_000);
            if frac == 0 {
                format!("{sign}{whole}")
            } else {
                let digits = format!("{frac:06}");
                format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
            }
        }
        write!(f, "{},{}", degrees(self.lat_micro), degrees(self.lon_micro))
    }
}

/// `-?d{1,3}(.d{1,6})?` as millionths of a degree (the ledger's rule).
fn micro_degrees(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 3 || !all_digits(whole) {
        return None;
    }
    // At most 999 and 999,999: every step stays far inside i64.
    let mut value: i64 = whole.parse::<i64>().ok()? * 1_000_000;
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 6 || !all_digits(f) {
            return None;
        }
        value += f.parse::<i64>().ok()? * 10i64.pow(6 - f.len() as u32);
    }
    Some(if negative { -value } else { value })
}

/// sin x for `0 <= x <= π/2` in fixed point (10^18): the Taylor series, terms computed from the
/// previous one (`t · x² / ((2k)(2k+1))`), until a term rounds to 0 (at most about 25 terms).
/// Bounds: x < 1.6 · 10^18, x² / S < 2.5 · 10^18, a term times that below 4 · 10^36 < 2^127.
fn sin_first_quadrant(x: i128) -> i128 {
    let x = x.clamp(0, HALF_PI_S);
    let x2 = x * x / S;
    let mut term = x;
    let mut sum = x;
    let mut k: i128 = 1;
    while k < 40 {
        term = term * x2 / S / ((2 * k) * (2 * k + 1));
        if term == 0 {
            break;
        }
        if k % 2 == 1 {
            sum -= term;
        } else {
            sum += term;
        }
        k += 1;
    }
    sum.clamp(0, S)
}

/// sin of an angle in half micro-degrees (any value), fixed point 10^18. The reduction to the
/// first quadrant is exact (integer degrees), so no error grows with the angle.
fn sin_half_micro(angle: i128) -> i128 {
    let mut a = angle.rem_euclid(FULL_TURN);
    let negative = a >= HALF_TURN;
    if negative {
        a -= HALF_TURN;
    }
    if a > QUARTER_TURN {
        a = HALF_TURN - a;
    }
    // a <= 1.8 · 10^8 and PI_S < 3.2 · 10^18: the product is below 6 · 10^26.
    let s = sin_first_quadrant(a * PI_S / HALF_TURN);
    if negative { -s } else { s }
}

fn cos_half_micro(angle: i128) -> i128 {
    sin_half_micro(angle.rem_euclid(FULL_TURN) + QUARTER_TURN)
}

/// The haversine of the central angle between two locations, in [0, 10^18]:
/// `sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2)`.
fn haversine(a: Location, b: Location) -> i128 {
    // Half of a difference of micro-degrees, in half micro-degrees, is the difference itself.
    let dlat = i128::from(b.lat_micro) - i128::from(a.lat_micro);
    let dlon = i128::from(b.lon_micro) - i128::from(a.lon_micro);
    let s_lat = sin_half_micro(dlat);
    let s_lon = sin_half_micro(dlon);
    let c1 = cos_half_micro(2 * i128::from(a.lat_micro));
    let c2 = cos_half_micro(2 * i128::from(b.lat_micro));
    // Every factor is within ±10^18: each product below 10^36.
    let h = s_lat * s_lat / S + (c1 * c2 / S) * (s_lon * s_lon / S) / S;
    h.clamp(0, S)
}

/// The haversine of `metres` of great circle: sin²(d / 2R), or `None` when `d` reaches half the
/// circumference (every pair of points is that close).
fn haversine_of_distance(metres: u128) -> Option<i128> {
    // Half the circumference is below 20,016 km: anything at or beyond that is `None`, and the
    // cap keeps the product below (2 · 10^7) · 10^18 < 2^127.
    if metres >= u128::from(MAX_DISTANCE_KM) * 1000 {
        return None;
    }
    let angle = (metres as i128) * S / (2 * i128::from(EARTH_RADIUS_M));
    if angle >= HALF_PI_S {
        return None;
    }
    let s = sin_first_quadrant(angle);
    Some(s * s / S)
}

/// Great-circle distance between `a` and `b` at most `metres`?
fn within_m(a: Location, b: Location, metres: u128) -> bool {
    match haversine_of_distance(metres) {
        None => true,
        Some(bound) => haversine(a, b) <= bound,
    }
}

/// The distance in whole km, rounded (to the nearest; an exact half rounds down), from a
/// haversine: the smallest `n` with `h <= hav((n + 0.5) km)`, by bisection over 0..=20,016.
fn km_of_haversine(h: i128) -> u64 {
    let within = |n: u64| match haversine_of_distance(u128::from(n) * 1000 + 500) {
        None => true,
        Some(bound) => h <= bound,
    };
    // Invariant: !within(lo - 1) (or lo = 0), within(hi).
    let (mut lo, mut hi) = (0u64, MAX_DISTANCE_KM);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if within(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Great-circle distance ≤ km? (Earth radius 6371 km; exact comparison on chord lengths in fixed point.)
pub fn within_km(a: Location, b: Location, km: u64) -> bool {
    within_m(a, b, u128::from(km) * 1000)
}

/// For display only (messages): the distance in whole km, rounded. May use f64.
///
/// As implemented it does not use f64: it is the same integer geometry as [`within_km`], so a
/// distance shown in a [`GeoVerdict`] (which the ledger may store) is the same on every machine
/// and agrees with the comparisons (a replica shown at 100 km is within 100.5 km).
pub fn distance_km(a: Location, b: Location) -> u64 {
    km_of_haversine(haversine(a, b))
}

/// Why a replica does or does not get the geographic boost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum GeoVerdict {
    /// Location consistent with the round trip, and no other replica within the separation.
    /// `nearest_km`: the nearest other replica, `None` if this is the only located replica.
    Boosted { nearest_km: Option<u64> },
    /// The node declared no location.
    NoLocation,
    /// The hub did not say where its auditor measures from.
    NoAuditorLocation,
    /// No round trip measured this epoch.
    NoRtt,
    /// The declared location is farther from the auditor than the round trip allows.
    Contradicted {
        distance_km: u64,
        rtt_us: u64,
        max_km: u64,
    },
    /// Another replica within `geo_separation_km`.
    NearReplica { nearest_km: u64 },
}

impl GeoVerdict {
    /// The factor for [`crate::rewards::score`]: `10000 + geo_boost_bps` if boosted, else 10000.
    pub fn factor_bps(&self, p: &EconomyParams) -> u32 {
        match self {
            GeoVerdict::Boosted { .. } => BPS.saturating_add(p.geo_boost_bps),
            _ => BPS,
        }
    }

    /// One readable sentence.
    pub fn reason(&self) -> String {
        match self {
            GeoVerdict::Boosted { nearest_km: None } => {
                "boosted: the declared location agrees with the measured round trip, and no other replica has a location".into()
            }
            GeoVerdict::Boosted {
                nearest_km: Some(km),
            } => format!(
                "boosted: the declared location agrees with the measured round trip, and the nearest other replica is {km} km away"
            ),
            GeoVerdict::NoLocation => "no boost: the node declared no location".into(),
            GeoVerdict::NoAuditorLocation => {
                "no boost: the hub did not say where its auditor measures from".into()
            }
            GeoVerdict::NoRtt => "no boost: no round trip to the node was measured this epoch".into(),
            GeoVerdict::Contradicted {
                distance_km,
                rtt_us,
                max_km,
            } => format!(
                "no boost: the declared location is {distance_km} km from the auditor, but a round trip of {}.{:03} ms allows at most {max_km} km",
                rtt_us / 1000,
                rtt_us % 1000
            ),
            GeoVerdict::NearReplica { nearest_km } => {
                format!("no boost: another replica is only {nearest_km} km away")
            }
        }
    }
}

/// The boost rule: consistent = distance(auditor, node) ≤ rtt_ms × km_per_rtt_ms (rtt_us / 1000,
/// exact in integers); boosted if consistent and no other replica (`others`: the other replicas'
/// declared locations) within geo_separation_km.
///
/// Exact in integers: `rtt_us × km_per_rtt_ms` is the bound in metres (µs × km/ms = m), compared
/// as is; `max_km` in the verdict is that bound rounded down to whole km, for the message.
/// The checks run in the order of the variants' causes: no location, no auditor location, no
/// round trip, contradiction, a replica nearby.
pub fn verdict(
    node: Option<Location>,
    auditor: Option<Location>,
    rtt_us: Option<u64>,
    others: &[Location],
    p: &EconomyParams,
) -> GeoVerdict {
    let Some(node) = node else {
        return GeoVerdict::NoLocation;
    };
    let Some(auditor) = auditor else {
        return GeoVerdict::NoAuditorLocation;
    };
    let Some(rtt_us) = rtt_us else {
        return GeoVerdict::NoRtt;
    };
    let max_m = u128::from(rtt_us) * u128::from(p.km_per_rtt_ms);
    if !within_m(auditor, node, max_m) {
        return GeoVerdict::Contradicted {
            distance_km: distance_km(auditor, node),
            rtt_us,
            max_km: u64::try_from(max_m / 1000).unwrap_or(u64::MAX),
        };
    }
    // The nearest other replica is the one with the smallest haversine (it grows with distance).
    let nearest = others.iter().map(|o| haversine(node, *o)).min();
    let Some(nearest_h) = nearest else {
        return GeoVerdict::Boosted { nearest_km: None };
    };
    let nearest_km = km_of_haversine(nearest_h);
    let near = match haversine_of_distance(u128::from(p.geo_separation_km) * 1000) {
        None => true,
        Some(bound) => nearest_h <= bound,
    };
    if near {
        GeoVerdict::NearReplica { nearest_km }
    } else {
        GeoVerdict::Boosted {
            nearest_km: Some(nearest_km),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn loc(s: &str) -> Location {
        Location::parse(s).unwrap()
    }

    /// The reference: haversine in f64.
    fn haversine_km(a: Location, b: Location) -> f64 {
        let r = |m: i64| (m as f64 / 1e6).to_radians();
        let (p1, p2) = (r(a.lat_micro), r(b.lat_micro));
        let (dp, dl) = (p2 - p1, r(b.lon_micro) - r(a.lon_micro));
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6371.0 * h.sqrt().min(1.0).asin()
    }

    #[test]
    fn parse_matches_the_ledger() {
        assert_eq!(
            loc("52.52,13.405"),
            Location {
                lat_micro: 52_520_000,
                lon_micro: 13_405_000
            }
        );
        assert_eq!(
            loc("-33.868820,151.209296"),
            Location {
                lat_micro: -33_868_820,
                lon_micro: 151_209_296
            }
        );
        for good in [
            "0,0",
            "-0,-0",
            "90,180",
            "-90,-180",
            "1.5,2",
            "001.000001,2",
        ] {
            assert!(Location::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "52.52",
            "52.52,",
            ",13.4",
            "90.000001,0",
            "0,180.000001",
            "91,0",
            "1.1234567,0",
            "+1,0",
            "1, 2",
            " 1,2",
            "1e1,2",
            "1.,2",
            ".5,2",
            "1000,0",
            "1,2,3",
            "--1,2",
            "0x1,2",
        ] {
            assert!(
                matches!(Location::parse(bad), Err(EconError::BadLocation(_))),
                "{bad}"
            );
        }
        assert_eq!(Location::parse_optional(""), Ok(None));
        assert_eq!(Location::parse_optional("1,2"), Ok(Some(loc("1,2"))));
        assert!(Location::parse_optional("x").is_err());
        for text in ["52.52,13.405", "-33.86882,151.209296", "0,0", "-0.5,180"] {
            assert_eq!(loc(text).to_string(), text);
        }
    }

    #[test]
    fn trig_is_accurate() {
        for deg_micro in (-720_000_000i128..=720_000_000).step_by(7_777_777) {
            let got = sin_half_micro(2 * deg_micro) as f64 / 1e18;
            let exact = (deg_micro as f64 / 1e6).to_radians().sin();
            assert!((got - exact).abs() < 1e-14, "{deg_micro}: {got} vs {exact}");
            let got = cos_half_micro(2 * deg_micro) as f64 / 1e18;
            let exact = (deg_micro as f64 / 1e6).to_radians().cos();
            assert!((got - exact).abs() < 1e-14, "{deg_micro}: {got} vs {exact}");
        }
        assert_eq!(sin_half_micro(0), 0);
        // sin 90° = 1 to within a few units of 10^-18.
        assert!(sin_half_micro(QUARTER_TURN) >= S - 50);
        assert_eq!(sin_half_micro(HALF_TURN), 0);
    }

    #[test]
    fn city_pairs() {
        let berlin = loc("52.52,13.405");
        let potsdam = loc("52.39,13.06");
        let paris = loc("48.8566,2.3522");
        let sydney = loc("-33.8688,151.2093");
        // f64 haversine: 27.4855, 877.4633 (≈ 878 with other city centres), 16,094.49995.
        for (a, b, km) in [
            (berlin, potsdam, 27),
            (berlin, paris, 877),
            (berlin, sydney, 16_094),
        ] {
            let d = distance_km(a, b);
            if km < 1000 {
                assert_eq!(d, km, "{a} – {b}");
            } else {
                // 0.00005 km from a rounding boundary: either side is right.
                assert!(d.abs_diff(km) <= 1, "{a} – {b}: {d}");
            }
            assert_eq!(distance_km(b, a), d);
            assert!((haversine_km(a, b) - d as f64).abs() <= 0.5);
            assert!(within_km(a, b, km + 1));
            assert!(!within_km(a, b, km - 1));
        }
        assert!(within_km(berlin, berlin, 0));
        assert_eq!(distance_km(berlin, berlin), 0);
        // Antipodes: half the circumference, 20,015 km; every distance bound beyond it holds.
        let antipode = loc("-52.52,-166.595");
        assert_eq!(distance_km(berlin, antipode), 20_015);
        assert!(within_km(berlin, antipode, 20_016));
        assert!(!within_km(berlin, antipode, 20_014));
        assert!(within_km(berlin, antipode, u64::MAX));
        assert_eq!(distance_km(loc("90,0"), loc("-90,0")), 20_015);
        // Across the date line and over a pole.
        assert_eq!(distance_km(loc("0,179.5"), loc("0,-179.5")), 111);
        assert_eq!(distance_km(loc("89,0"), loc("89,180")), 222);
        // Nonsense coordinates do not panic.
        let wild = Location {
            lat_micro: i64::MAX,
            lon_micro: i64::MIN,
        };
        let _ = distance_km(wild, berlin);
        let _ = within_km(wild, wild, 5);
    }

    fn params() -> EconomyParams {
        EconomyParams::default()
    }

    #[test]
    fn verdicts() {
        let p = params();
        let berlin = loc("52.52,13.405");
        let frankfurt = loc("50.1109,8.6821"); // auditor, ~424 km from Berlin
        let munich = loc("48.1351,11.582"); // ~504 km from Berlin
        let potsdam = loc("52.39,13.06");
        let hamburg = loc("53.5511,9.9937"); // ~255 km from Berlin
        assert_eq!(
            verdict(None, Some(frankfurt), Some(5000), &[], &p),
            GeoVerdict::NoLocation
        );
        assert_eq!(
            verdict(Some(berlin), None, Some(5000), &[], &p),
            GeoVerdict::NoAuditorLocation
        );
        assert_eq!(
            verdict(Some(berlin), Some(frankfurt), None, &[], &p),
            GeoVerdict::NoRtt
        );
        // An auditor in Berlin, a node declaring Munich (~500 km) that answers in 0.2 ms, which
        // allows 20 km: contradicted.
        let v = verdict(Some(munich), Some(berlin), Some(200), &[], &p);
        assert_eq!(
            v,
            GeoVerdict::Contradicted {
                distance_km: distance_km(berlin, munich),
                rtt_us: 200,
                max_km: 20
            }
        );
        assert!((495..=510).contains(&distance_km(berlin, munich)));
        assert_eq!(v.factor_bps(&p), 10_000);
        assert_eq!(
            v.reason(),
            format!(
                "no boost: the declared location is {} km from the auditor, but a round trip of 0.200 ms allows at most 20 km",
                distance_km(berlin, munich)
            )
        );
        // Consistent (5 ms allows 500 km from Frankfurt) and 255+ km from the others: boosted.
        let v = verdict(
            Some(berlin),
            Some(frankfurt),
            Some(5000),
            &[munich, hamburg],
            &p,
        );
        assert_eq!(
            v,
            GeoVerdict::Boosted {
                nearest_km: Some(distance_km(berlin, hamburg))
            }
        );
        assert_eq!(v.factor_bps(&p), 11_500);
        let v = verdict(Some(berlin), Some(frankfurt), Some(5000), &[], &p);
        assert_eq!(v, GeoVerdict::Boosted { nearest_km: None });
        // 300 km from the only other replica: boosted.
        let three_hundred = loc("55.2163,13.405"); // 2.6963° of latitude north ≈ 299.8 km
        assert_eq!(distance_km(berlin, three_hundred), 300);
        assert_eq!(
            verdict(
                Some(berlin),
                Some(frankfurt),
                Some(5000),
                &[three_hundred],
                &p
            ),
            GeoVerdict::Boosted {
                nearest_km: Some(300)
            }
        );
        // A replica in Potsdam: too near.
        let v = verdict(
            Some(berlin),
            Some(frankfurt),
            Some(5000),
            &[munich, potsdam],
            &p,
        );
        assert_eq!(v, GeoVerdict::NearReplica { nearest_km: 27 });
        assert_eq!(v.factor_bps(&p), 10_000);
        // 4.2 ms is not enough for 424 km at 100 km/ms: 4.3 ms is.
        assert!(matches!(
            verdict(Some(berlin), Some(frankfurt), Some(4200), &[], &p),
            GeoVerdict::Contradicted { .. }
        ));
        assert!(matches!(
            verdict(Some(berlin), Some(frankfurt), Some(4300), &[], &p),
            GeoVerdict::Boosted { .. }
        ));
        // The auditor's own location answering in 0 µs is consistent.
        assert!(matches!(
            verdict(Some(frankfurt), Some(frankfurt), Some(0), &[], &p),
            GeoVerdict::Boosted { .. }
        ));
        for v in [
            GeoVerdict::Boosted {
                nearest_km: Some(300),
            },
            GeoVerdict::Boosted { nearest_km: None },
            GeoVerdict::NoLocation,
            GeoVerdict::NoAuditorLocation,
            GeoVerdict::NoRtt,
            GeoVerdict::NearReplica { nearest_km: 27 },
            GeoVerdict::Contradicted {
                distance_km: 500,
                rtt_us: 200,
                max_km: 20,
            },
        ] {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<GeoVerdict>(&json).unwrap(), v);
            assert!(!v.reason().is_empty());
        }
        assert_eq!(
            serde_json::to_string(&GeoVerdict::NearReplica { nearest_km: 27 }).unwrap(),
            r#"{"verdict":"near_replica","nearest_km":27}"#
        );
        assert_eq!(
            serde_json::to_string(&GeoVerdict::NoRtt).unwrap(),
            r#"{"verdict":"no_rtt"}"#
        );
    }

    fn location() -> impl Strategy<Value = Location> {
        (-90_000_000i64..=90_000_000, -180_000_000i64..=180_000_000).prop_map(
            |(lat_micro, lon_micro)| Location {
                lat_micro,
                lon_micro,
            },
        )
    }

    proptest! {
        /// Within agrees with f64 haversine away from the boundary (1 m either side), and the
        /// rounded distance is within half a km (plus float noise) of it.
        #[test]
        fn agrees_with_f64(a in location(), b in location(), km in 0u64..21_000) {
            let exact = haversine_km(a, b);
            if (exact - km as f64).abs() > 1e-3 {
                prop_assert_eq!(within_km(a, b, km), exact <= km as f64, "{} – {}: {} km vs {}", a, b, exact, km);
            }
            let shown = distance_km(a, b) as f64;
            prop_assert!((shown - exact).abs() <= 0.5 + 1e-6, "{} vs {}", shown, exact);
        }

        #[test]
        fn nearby_points(a in location(), dlat in -2_000_000i64..2_000_000, dlon in -2_000_000i64..2_000_000, km in 0u64..400) {
            let b = Location {
                lat_micro: (a.lat_micro + dlat).clamp(-90_000_000, 90_000_000),
                lon_micro: a.lon_micro + dlon,
            };
            let exact = haversine_km(a, b);
            if (exact - km as f64).abs() > 1e-3 {
                prop_assert_eq!(within_km(a, b, km), exact <= km as f64);
            }
        }

        #[test]
        fn symmetric_and_monotone(a in location(), b in location(), km in 0u64..21_000) {
            prop_assert_eq!(distance_km(a, b), distance_km(b, a));
            if within_km(a, b, km) {
                prop_assert!(within_km(a, b, km + 1));
            }
        }

        #[test]
        fn total_on_any_coordinates(a in any::<i64>(), b in any::<i64>(), c in any::<i64>(), d in any::<i64>(), km in any::<u64>()) {
            let (x, y) = (Location { lat_micro: a, lon_micro: b }, Location { lat_micro: c, lon_micro: d });
            let _ = within_km(x, y, km);
            prop_assert!(distance_km(x, y) <= MAX_DISTANCE_KM);
        }
    }
}
