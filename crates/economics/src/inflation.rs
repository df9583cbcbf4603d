//! Inflation: what to mint each epoch so the supply compounds at a fixed annual rate.
//!
//! Minting `supply × ((1 + r)^(t / year) − 1)` every epoch of `t` seconds grows the supply by
//! exactly `(1 + r)` per year whatever the epoch length, because the per-epoch factors multiply
//! back to `(1 + r)`. Inflation pays for verified hosting only (the caller splits the amount by
//! score, [`crate::rewards`]); never for traffic, which is paid by downloaders.
//!
//! Rounding: the growth factor `(1 + r)^(t / year)` is [`pow_wad`] (relative error about 10^-18)
//! and the mint is floored, so the supply never grows faster than the stated rate by more than
//! that error; the floors cost at most one base unit per epoch.

use crate::fixed::{WAD, mul_div, pow_wad};
use crate::{BPS, EconError};

/// Seconds in the year the annual rate is stated for: 365 days.
pub const YEAR_SECS: u64 = 365 * 86_400;

/// Tokens to mint for one epoch so that supply compounds at `annual_bps` per year (365 days):
/// supply × ((1 + annual)^(epoch_secs / YEAR_SECS) − 1), floored. 0 if annual_bps == 0.
///
/// Exactly: `g = pow_wad(WAD + annual_bps · WAD / 10^4, floor(epoch_secs · WAD / YEAR_SECS)) − WAD`,
/// then `floor(supply · g / WAD)`. Monotone in `supply`, `annual_bps` and `epoch_secs`.
/// `Err(Overflow)` only for absurd inputs (a result beyond 2^128 base units).
pub fn per_epoch(supply: u128, annual_bps: u32, epoch_secs: u64) -> Result<u128, EconError> {
    if annual_bps == 0 || epoch_secs == 0 || supply == 0 {
        return Ok(0);
    }
    // WAD / BPS = 10^14 exactly; u32::MAX · 10^14 < 2^79.
    let base = WAD + u128::from(annual_bps) * (WAD / u128::from(BPS));
    let years = mul_div(u128::from(epoch_secs), WAD, u128::from(YEAR_SECS))?;
    // base >= WAD, so the power is at least WAD (pow_wad is monotone and 1^y = 1 exactly).
    let growth = pow_wad(base, years)?.saturating_sub(WAD);
    mul_div(supply, growth, WAD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: u128 = WAD;

    #[test]
    fn five_percent_compounded_hourly_is_five_percent_a_year() {
        let start = 1_000_000 * TOKEN;
        let mut supply = start;
        for _ in 0..8760 {
            supply += per_epoch(supply, 500, 3600).unwrap();
        }
        let growth = supply as f64 / start as f64 - 1.0;
        assert!((growth - 0.05).abs() < 1e-6, "{growth}");
        eprintln!("5 %/yr minted hourly for 8760 epochs: supply grew by {growth:.12}");
        // One epoch of a year mints exactly 5 % (up to the power's last unit).
        let once = per_epoch(start, 500, YEAR_SECS).unwrap();
        assert!(
            once.abs_diff(start / 20) <= start / 10u128.pow(15),
            "{once}"
        );
        // Daily epochs agree with hourly ones.
        let mut daily = start;
        for _ in 0..365 {
            daily += per_epoch(daily, 500, 86_400).unwrap();
        }
        assert!((daily as f64 / supply as f64 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn zero_rate_supply_or_time_mints_nothing() {
        assert_eq!(per_epoch(1_000_000 * TOKEN, 0, 3600), Ok(0));
        assert_eq!(per_epoch(0, 500, 3600), Ok(0));
        assert_eq!(per_epoch(1_000_000 * TOKEN, 500, 0), Ok(0));
        // A tiny supply rounds to nothing rather than minting from thin air.
        assert_eq!(per_epoch(1, 500, 3600), Ok(0));
    }

    #[test]
    fn extremes_do_not_panic() {
        assert!(per_epoch(u128::MAX, u32::MAX, u64::MAX).is_err());
        assert!(per_epoch(u128::MAX, 500, 3600).is_ok());
        // 100 %/year over one year doubles.
        let s = 1000 * TOKEN;
        assert!(per_epoch(s, 10_000, YEAR_SECS).unwrap().abs_diff(s) <= s / 10u128.pow(15));
    }

    proptest! {
        #[test]
        fn monotone(supply in 0u128..(1u128 << 100), ds in 0u128..(1u128 << 90),
                    bps in 0u32..=10_000, dbps in 0u32..100,
                    secs in 0u64..(10 * YEAR_SECS), dsecs in 0u64..100_000) {
            let base = per_epoch(supply, bps, secs).unwrap();
            prop_assert!(per_epoch(supply + ds, bps, secs).unwrap() >= base);
            prop_assert!(per_epoch(supply, bps + dbps, secs).unwrap() >= base);
            prop_assert!(per_epoch(supply, bps, secs + dsecs).unwrap() >= base);
        }

        #[test]
        fn matches_f64(supply in 1u128..(1u128 << 100), bps in 1u32..=10_000, secs in 1u64..(10 * YEAR_SECS)) {
            let got = per_epoch(supply, bps, secs).unwrap() as f64;
            let r = f64::from(bps) / 1e4;
            let t = secs as f64 / YEAR_SECS as f64;
            let exact = supply as f64 * (t * r.ln_1p()).exp_m1();
            // The growth factor is good to a couple of units of 10^-18, whatever its size.
            let tolerance = exact * 1e-10 + supply as f64 * 1e-17 + 2.0;
            prop_assert!((got - exact).abs() <= tolerance, "{got} vs {exact}");
        }
    }
}
