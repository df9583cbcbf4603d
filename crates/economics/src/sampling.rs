//! Availability sampling odds.
//!
//! A node that lacks a fraction `f` of the blocks it claims passes one uniformly drawn challenge
//! with probability `1 - f`, and `n` independent ones with `(1 - f)^n`; it is caught by at least one
//! with probability `1 - (1 - f)^n`. The anchors (`../shared/design/anchors.md`): 7 samples catch a
//! node missing 50 % with at least 99 %, 44 samples one missing 10 %, 459 one missing 1 %.
//!
//! Everything is integer: probabilities in parts per billion ([`PPB`]), `(1 - f)^n` by
//! exponentiation by squaring in units of 10^-18. Rounding always favours the node being *missed*
//! (every product is rounded up, so the computed pass probability is never below the exact one),
//! so a detection probability computed here is never above the exact one: it is the exact value
//! rounded down to a whole ppb, or in rare cases one ppb less. Why at most one: the relative error
//! of a rounded power grows by about one unit (10^-18) per factor of `n`, so the absolute error of
//! `(1 - f)^n` is at most about `n (1 - f)^n · 10^-18` plus a few units; `n (1 - f)^n` peaks at
//! `1 / (e f)`, at most 3.7 × 10^8 for `f ≥ 1` ppb, so the error stays below 0.4 ppb (and below
//! 10^-7 ppb at 44 samples).

use crate::PPB;

/// Units of the intermediate probabilities: 10^-18. A product of two of them (at most 10^36) fits
/// in a `u128` (about 3.4 × 10^38).
const SCALE: u128 = 1_000_000_000_000_000_000;

/// SCALE / PPB: converts between the two units.
const PPB_TO_SCALE: u128 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    #[error("{what} is {value} ppb; a probability is at most 1,000,000,000 ppb")]
    OutOfRange { what: &'static str, value: u32 },
    #[error(
        "no number of samples up to {max} catches a node missing {missing_ppb} ppb of its claim with {confidence_ppb} ppb confidence"
    )]
    Unreachable {
        missing_ppb: u32,
        confidence_ppb: u32,
        max: u32,
    },
}

/// Probability, in ppb, that `samples` uniform challenges catch a node that lacks `missing_ppb`
/// of its claimed blocks: `1 - (1 - f)^n`, rounded down (see the module documentation).
///
/// No samples catch nothing (0); a node missing everything is caught by one sample (`PPB`).
pub fn detection_probability(missing_ppb: u32, samples: u32) -> Result<u32, SamplingError> {
    check_ppb("missing fraction", missing_ppb)?;
    Ok(detection(missing_ppb, samples))
}

/// The number of samples `n` at which a node missing `missing_ppb` of its claim is caught with at
/// least `confidence_ppb`, as [`detection_probability`] computes it: `detection(n) >= confidence`
/// and `detection(n - 1) < confidence` (so, the detection odds growing with `n`, the smallest such
/// `n`). A confidence of 0 needs no samples.
///
/// Fails when no `n` up to `u32::MAX` reaches the confidence: a node missing nothing can never be
/// caught, and certainty (`PPB`) is reached only when everything is missing.
pub fn samples_needed(missing_ppb: u32, confidence_ppb: u32) -> Result<u32, SamplingError> {
    check_ppb("missing fraction", missing_ppb)?;
    check_ppb("confidence", confidence_ppb)?;
    if confidence_ppb == 0 {
        return Ok(0);
    }
    if detection(missing_ppb, u32::MAX) < confidence_ppb {
        return Err(SamplingError::Unreachable {
            missing_ppb,
            confidence_ppb,
            max: u32::MAX,
        });
    }
    // Invariant: detection(lo) < confidence <= detection(hi). detection(0) = 0 < confidence.
    // Bisection keeps it without assuming more than that, so the answer satisfies the documented
    // pair of inequalities even if rounding ever made the odds dip by a ppb somewhere.
    let (mut lo, mut hi) = (0u32, u32::MAX);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if detection(missing_ppb, mid) >= confidence_ppb {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

fn check_ppb(what: &'static str, value: u32) -> Result<(), SamplingError> {
    if value > PPB {
        return Err(SamplingError::OutOfRange { what, value });
    }
    Ok(())
}

/// `1 - (1 - f)^n` in ppb for an in-range `missing_ppb`.
fn detection(missing_ppb: u32, samples: u32) -> u32 {
    let pass = pass_probability(missing_ppb, samples);
    // Round the pass probability up to whole ppb, so the detection odds round down.
    let pass_ppb = pass.div_ceil(PPB_TO_SCALE);
    // pass <= SCALE, so pass_ppb <= PPB and the subtraction cannot underflow; the value fits u32.
    PPB - u32::try_from(pass_ppb).unwrap_or(PPB)
}

/// `(1 - f)^n` in units of 10^-18, each product rounded up.
fn pass_probability(missing_ppb: u32, samples: u32) -> u128 {
    // Exact: (PPB - missing) ppb is (PPB - missing) * 10^9 units.
    let mut base = u128::from(PPB - missing_ppb) * PPB_TO_SCALE;
    let mut result = SCALE;
    let mut n = samples;
    while n > 0 {
        if n & 1 == 1 {
            result = mul_ceil(result, base);
        }
        n >>= 1;
        if n > 0 {
            base = mul_ceil(base, base);
        }
    }
    result
}

/// `ceil(a * b / SCALE)` for `a, b <= SCALE`: the product is at most 10^36 (no overflow) and the
/// result stays at most `SCALE`.
fn mul_ceil(a: u128, b: u128) -> u128 {
    (a * b).div_ceil(SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PERCENT: u32 = PPB / 100;

    #[test]
    fn anchors_7_44_459() {
        // anchors.md: n = 7 catches 50 % missing with >= 99 %; n = 44 catches 10 %; n = 459 catches 1 %.
        for (missing, n) in [(50 * PERCENT, 7), (10 * PERCENT, 44), (PERCENT, 459)] {
            assert!(detection_probability(missing, n).unwrap() >= 99 * PERCENT);
            assert!(detection_probability(missing, n - 1).unwrap() < 99 * PERCENT);
            assert_eq!(samples_needed(missing, 99 * PERCENT).unwrap(), n);
        }
        // The figure the audit test measures against: 1 - 0.9^44 = 0.9903022627... (floor).
        assert_eq!(
            detection_probability(10 * PERCENT, 44).unwrap(),
            990_302_262
        );
    }

    #[test]
    fn edges() {
        assert_eq!(detection_probability(0, 1000).unwrap(), 0);
        assert_eq!(detection_probability(PPB, 1).unwrap(), PPB);
        assert_eq!(detection_probability(PPB, 0).unwrap(), 0);
        assert_eq!(detection_probability(PPB / 2, 1).unwrap(), PPB / 2);
        assert_eq!(detection_probability(PPB / 2, 2).unwrap(), 750_000_000);
        // 1 - (1 - 1e-9)^(2^32 - 1) = 0.98636298234... (floor).
        assert_eq!(detection_probability(1, u32::MAX).unwrap(), 986_362_982);
        assert_eq!(samples_needed(PPB, PPB).unwrap(), 1);
        assert_eq!(samples_needed(1, 0).unwrap(), 0);
        assert_eq!(samples_needed(0, 0).unwrap(), 0);
        assert!(matches!(
            samples_needed(0, 1),
            Err(SamplingError::Unreachable { .. })
        ));
        // Certainty is out of reach unless everything is missing.
        assert!(matches!(
            samples_needed(PPB - 1, PPB),
            Err(SamplingError::Unreachable { .. })
        ));
        // One ppb missing needs more than u32::MAX samples for 99 %.
        assert!(matches!(
            samples_needed(1, 99 * PERCENT),
            Err(SamplingError::Unreachable { .. })
        ));
        assert!(matches!(
            detection_probability(PPB + 1, 3),
            Err(SamplingError::OutOfRange { .. })
        ));
        assert!(matches!(
            samples_needed(5, PPB + 1),
            Err(SamplingError::OutOfRange { .. })
        ));
    }

    proptest! {
        /// Within 2 ppb of the floating-point value (which is itself accurate to about 1e-12 here),
        /// and never above it by more than float noise.
        #[test]
        fn matches_floating_point(missing in 0..=PPB, n in 0u32..200_000) {
            let got = detection_probability(missing, n).unwrap();
            let f = f64::from(missing) / f64::from(PPB);
            let exact = (1.0 - (1.0 - f).powf(f64::from(n))) * f64::from(PPB);
            prop_assert!((f64::from(got) - exact).abs() <= 2.0, "{got} vs {exact}");
            prop_assert!(f64::from(got) <= exact + 1e-3, "{got} above {exact}");
        }

        #[test]
        fn more_samples_never_catch_less(missing in 0..=PPB, n in 0u32..u32::MAX) {
            prop_assert!(
                detection_probability(missing, n + 1).unwrap()
                    >= detection_probability(missing, n).unwrap()
            );
        }

        #[test]
        fn samples_needed_is_the_threshold(missing in 1..=PPB, confidence in 1..=999_999_999u32) {
            match samples_needed(missing, confidence) {
                Ok(n) => {
                    prop_assert!(detection_probability(missing, n).unwrap() >= confidence);
                    prop_assert!(detection_probability(missing, n - 1).unwrap() < confidence);
                }
                Err(SamplingError::Unreachable { .. }) => {
                    prop_assert!(detection_probability(missing, u32::MAX).unwrap() < confidence);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}
