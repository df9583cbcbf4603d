//! Vesting: a reward is part liquid at once, the rest vests linearly.
//!
//! Filecoin's rule: 25 % of a block reward is available at once and 75 % vests linearly over 180
//! days. The vesting part is collateral the node has already earned, and the first thing a
//! penalty takes (`docs/economics.md`): a host that turns bad loses the rewards it has not
//! received yet before it loses its stake, so cheating costs months of income, while an honest
//! host still gets a quarter of every reward at once.

use crate::BPS;
use crate::fixed::mul_div;

/// (liquid, vesting) of a reward: liquid = floor(amount × liquid_bps / 10000), vesting = the rest.
///
/// `liquid_bps` above 10,000 counts as 10,000 (all liquid). `liquid + vesting == amount` exactly;
/// the rounding puts the odd base unit in vesting.
pub fn split_reward(amount: u128, liquid_bps: u32) -> (u128, u128) {
    let bps = liquid_bps.min(BPS);
    // bps <= 10^4: the quotient is at most `amount`, so it always fits.
    let liquid = mul_div(amount, u128::from(bps), u128::from(BPS)).unwrap_or(amount);
    (liquid, amount - liquid)
}

/// How much of a grant of `amount` that started at `start` has vested by `now`, linearly over
/// `duration_secs`: floor(amount × (now − start) / duration), = amount once now ≥ start + duration,
/// 0 before start; duration 0 = amount.
///
/// Order of the cases: before `start` nothing has vested, whatever the duration; from `start`
/// on, a duration of 0 has vested everything. Monotone in `now`; the caller keeps
/// `amount − vested` locked.
pub fn vested(amount: u128, start: u64, now: u64, duration_secs: u64) -> u128 {
    if now < start {
        return 0;
    }
    let elapsed = now - start;
    if elapsed >= duration_secs {
        return amount;
    }
    // elapsed < duration: the quotient is below `amount`, so it fits (and duration > 0).
    mul_div(amount, u128::from(elapsed), u128::from(duration_secs)).unwrap_or(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::WAD;
    use proptest::prelude::*;

    const DAY: u64 = 86_400;

    #[test]
    fn filecoin_split() {
        assert_eq!(split_reward(100 * WAD, 2500), (25 * WAD, 75 * WAD));
        assert_eq!(split_reward(3, 2500), (0, 3));
        assert_eq!(split_reward(7, 10_000), (7, 0));
        assert_eq!(split_reward(7, 0), (0, 7));
        assert_eq!(split_reward(7, u32::MAX), (7, 0));
        assert_eq!(
            split_reward(u128::MAX, 2500),
            (u128::MAX / 4, u128::MAX - u128::MAX / 4)
        );
    }

    #[test]
    fn linear_vesting() {
        let (amount, start, d) = (75 * WAD, 1_000_000, 180 * DAY);
        assert_eq!(vested(amount, start, start - 1, d), 0);
        assert_eq!(vested(amount, start, start, d), 0);
        assert_eq!(vested(amount, start, start + d / 2, d), amount / 2);
        assert_eq!(vested(amount, start, start + 18 * DAY, d), amount / 10);
        assert_eq!(vested(amount, start, start + d, d), amount);
        assert_eq!(vested(amount, start, u64::MAX, d), amount);
        assert_eq!(vested(amount, start, start, 0), amount);
        assert_eq!(vested(amount, start, start - 1, 0), 0);
        assert_eq!(
            vested(u128::MAX, 0, u64::MAX - 1, u64::MAX),
            u128::MAX - u128::MAX / u128::from(u64::MAX)
        );
        assert_eq!(vested(amount, u64::MAX, u64::MAX, u64::MAX), 0);
    }

    proptest! {
        #[test]
        fn split_conserves(amount in any::<u128>(), bps in any::<u32>()) {
            let (liquid, vesting) = split_reward(amount, bps);
            prop_assert_eq!(liquid + vesting, amount);
            prop_assert!(liquid <= amount);
        }

        #[test]
        fn vested_is_monotone_and_complete(amount in any::<u128>(), start in any::<u64>(), now in any::<u64>(),
                                           dt in any::<u64>(), d in any::<u64>()) {
            let v = vested(amount, start, now, d);
            prop_assert!(v <= amount);
            prop_assert!(vested(amount, start, now.saturating_add(dt), d) >= v);
            if let Some(end) = start.checked_add(d) {
                prop_assert_eq!(vested(amount, start, end, d), amount);
            }
        }
    }
}
