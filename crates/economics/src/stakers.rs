//! The stakers' pool: fees that were not burned go to stakers by lock-weighted stake.
//!
//! A staker's weight is `amount × (remaining lock / max lock)^alpha`, Synthetix-style power-law
//! lock weighting (the `veToken` family is the linear case, alpha = 1): committing longer earns
//! more than proportionally for alpha > 1, so capital that will still be here next year is paid
//! more than capital that can leave tomorrow, and a lock that runs down loses weight smoothly as
//! it approaches its end. The pool itself is shared with [`crate::rewards::split`] over these
//! weights.

use crate::EconError;
use crate::fixed::{WAD, mul_div, pow_wad};

/// A staker's share weight: amount × (min(remaining, max_lock) / max_lock)^alpha (alpha in WAD),
/// floored. 0 if remaining == 0 or max_lock == 0.
///
/// Exactly: `ratio = floor(min(remaining, max_lock) · WAD / max_lock)`, then
/// `floor(amount · pow_wad(ratio, alpha) / WAD)`. A lock at (or beyond) the longest weighs
/// exactly `amount`; alpha = 0 weighs every live lock as its amount. Monotone in `amount` and in
/// `remaining_secs`. The result is at most `amount`, so it cannot overflow.
pub fn lock_weight(
    amount: u128,
    remaining_secs: u64,
    max_lock_secs: u64,
    alpha_wad: u128,
) -> Result<u128, EconError> {
    weigh(
        amount,
        lock_factor(remaining_secs, max_lock_secs, alpha_wad)?,
    )
}

/// The lock's part of [`lock_weight`], which depends on the amount only through [`weigh`]:
/// `pow_wad(ratio, alpha)` (WAD, at most WAD), 0 if remaining == 0 or max_lock == 0. A close
/// weighs every staker, and many share a lock end: it computes the power once per remaining time.
pub fn lock_factor(
    remaining_secs: u64,
    max_lock_secs: u64,
    alpha_wad: u128,
) -> Result<u128, EconError> {
    if remaining_secs == 0 || max_lock_secs == 0 {
        return Ok(0);
    }
    let remaining = remaining_secs.min(max_lock_secs);
    // remaining <= max_lock: the ratio is at most WAD, and so is its power (1^y = 1 exactly).
    let ratio = mul_div(u128::from(remaining), WAD, u128::from(max_lock_secs))?;
    pow_wad(ratio, alpha_wad)
}

/// `floor(amount · factor / WAD)`: a stake weighed by a [`lock_factor`] (a factor of 0 weighs
/// nothing). At most `amount` for a factor of at most WAD.
pub fn weigh(amount: u128, factor: u128) -> Result<u128, EconError> {
    mul_div(amount, factor, WAD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: u64 = 86_400;
    const YEAR: u64 = 365 * DAY;
    const ALPHA: u128 = 3 * WAD / 2;

    #[test]
    fn edges() {
        let amount = 100 * WAD;
        assert_eq!(lock_weight(amount, 0, YEAR, ALPHA), Ok(0));
        assert_eq!(lock_weight(amount, YEAR, 0, ALPHA), Ok(0));
        assert_eq!(lock_weight(amount, YEAR, YEAR, ALPHA), Ok(amount));
        assert_eq!(lock_weight(amount, 10 * YEAR, YEAR, ALPHA), Ok(amount));
        assert_eq!(lock_weight(amount, 1, YEAR, 0), Ok(amount));
        assert_eq!(lock_weight(u128::MAX, YEAR, YEAR, ALPHA), Ok(u128::MAX));
        // Half the longest lock with alpha 1.5: 0.5^1.5 = 0.35355339059327376...
        let half = lock_weight(amount, YEAR / 2, YEAR, ALPHA).unwrap();
        assert!(half.abs_diff(35_355_339_059_327_376_220) < 1000, "{half}");
        // alpha 1: linear.
        let quarter = lock_weight(amount, YEAR / 4, YEAR, WAD).unwrap();
        assert!(quarter.abs_diff(25 * WAD) < 1000, "{quarter}");
        // Any parameters: no panic.
        assert!(lock_weight(u128::MAX, u64::MAX, u64::MAX, u128::MAX).is_ok());
        assert_eq!(lock_weight(u128::MAX, 1, u64::MAX, u128::MAX), Ok(0));
    }

    #[test]
    fn longer_locks_weigh_more() {
        let amount = 1000 * WAD;
        let mut last = 0;
        for days in 0..=365 {
            let w = lock_weight(amount, days * DAY, YEAR, ALPHA).unwrap();
            assert!(w > last || days == 0, "{days} days: {w} <= {last}");
            last = w;
        }
        assert_eq!(last, amount);
    }

    proptest! {
        #[test]
        fn monotone_and_bounded(amount in 0u128..(1u128 << 100), r in 0u64..(2 * YEAR), dr in 0u64..YEAR,
                                alpha in 0u128..=8 * WAD) {
            let w = lock_weight(amount, r, YEAR, alpha).unwrap();
            prop_assert!(w <= amount);
            prop_assert!(lock_weight(amount, r + dr, YEAR, alpha).unwrap() >= w);
            prop_assert!(lock_weight(amount + 1, r, YEAR, alpha).unwrap() >= w);
        }

        /// Strictly more for a longer lock when the difference is visible at the amount's scale.
        #[test]
        fn strictly_more(r in 1u64..YEAR, dr in DAY..YEAR, alpha in 1u128..=8 * WAD) {
            let amount = 1_000_000 * WAD;
            let r2 = (r + dr).min(YEAR);
            prop_assume!(r2 > r + DAY / 2);
            let (a, b) = (lock_weight(amount, r, YEAR, alpha).unwrap(), lock_weight(amount, r2, YEAR, alpha).unwrap());
            // Visible unless both are rounded to nothing (a tiny ratio to a high power).
            prop_assert!(b > a || b == 0, "{a} {b}");
        }

        #[test]
        fn matches_f64(r in 1u64..=YEAR, alpha in 0u128..=8 * WAD) {
            let amount = 1_000_000 * WAD;
            let got = lock_weight(amount, r, YEAR, alpha).unwrap() as f64;
            // Against the ratio as the function rounds it (to 10^-18), so only the power's error shows.
            let ratio = (u128::from(r) * WAD / u128::from(YEAR)) as f64 / 1e18;
            let exact = amount as f64 * ratio.powf(alpha as f64 / 1e18);
            prop_assert!((got - exact).abs() <= exact * 1e-12 + 1e7, "{got} vs {exact}");
        }
    }
}
