//! Surge pricing, torrent hosting weights and the dynamic membership gate.
//!
//! All three move by the same rule, the one EIP-1559 uses for Ethereum's base fee: each epoch a
//! value moves toward where demand says it should be, by at most `max_step_bps` of itself
//! (default 12.5 %, EIP-1559's 1/8). A bounded multiplicative step cannot be jerked around by
//! one epoch's noise, doubles or halves only over several epochs (1.125^6 ≈ 2), and needs no
//! oracle: the state it reacts to is the ledger's own.
//!
//! Units: prices and stakes are base units (any integer unit: the rule is scale-free),
//! saturations and weights are [`WAD`] (10^18 = 1.0). Every result is rounded down.

use crate::fixed::{WAD, mul_div, mul_div_ceil};
use crate::params::EconomyParams;
use crate::{BPS, EconError};

/// Saturation is capped at 10.0: beyond it a torrent is simply "hot", and the cap keeps a tiny
/// capacity from producing absurd numbers.
pub const SATURATION_CAP_WAD: u128 = 10 * WAD;

/// Saturation = demand / capacity in WAD, capped at SATURATION_CAP_WAD (10.0). 0/0 = 1.0 (no
/// signal, nothing moves); demand > 0 with capacity 0 = the cap; demand 0 = 0.
///
/// Rounded down. For a torrent: bytes wanted in the next window / bytes its hosts can upload in
/// it; for the gate: members / target members.
pub fn saturation_wad(demand_bytes: u64, capacity_bytes: u64) -> u128 {
    match (demand_bytes, capacity_bytes) {
        (0, 0) => WAD,
        (0, _) => 0,
        (_, 0) => SATURATION_CAP_WAD,
        // u64::MAX · WAD < 2^124: no overflow; the divisor is not 0.
        (d, c) => (u128::from(d) * WAD / u128::from(c)).min(SATURATION_CAP_WAD),
    }
}

/// EIP-1559 shaped step: value × (1 + (saturation − 1) × max_step), the change clamped to
/// ±max_step_bps of value, then raised to `floor`. Rounded down. (sat 2.0 → +12.5 %, 0 → −12.5 %,
/// 1.5 → +6.25 %, 1.0 → unchanged.)
///
/// Exactly: `d = min(|saturation − WAD|, WAD)`, `change = price · d · max_step_bps / (WAD · 10^4)`;
/// the new price is `floor(price + change)` or `floor(price − change)` (the decrease rounded up,
/// so the result is the exact one rounded down), never below 0, then `max(·, floor)`.
/// Monotone in `saturation` and in `price`; at most one base unit per epoch of drift from
/// rounding. `Err(Overflow)` only when the raised price does not fit in a `u128`.
pub fn next_price(
    price: u128,
    saturation_wad: u128,
    max_step_bps: u32,
    floor: u128,
) -> Result<u128, EconError> {
    let (up, deviation) = if saturation_wad >= WAD {
        (true, saturation_wad - WAD)
    } else {
        (false, WAD - saturation_wad)
    };
    // Clamp the change to one full step: |saturation − 1| counts up to 1.0.
    let deviation = deviation.min(WAD);
    // deviation <= 10^18 < 2^60 and max_step_bps < 2^32: below 2^92.
    let num = deviation * u128::from(max_step_bps);
    let den = WAD * u128::from(BPS);
    let next = if up {
        let change = mul_div(price, num, den)?;
        price.checked_add(change).ok_or(EconError::Overflow)?
    } else {
        // A change above the price (max_step_bps > 10^4, which validate refuses) stops at 0.
        match mul_div_ceil(price, num, den) {
            Ok(change) => price.saturating_sub(change),
            Err(_) => 0,
        }
    };
    Ok(next.max(floor))
}

/// Where a torrent's hosting weight is headed: supply × demand, clamped to [weight_min, weight_max]:
/// supply = target_replicas / max(replicas, 0.5) (replicas in thousandths), demand = saturation
/// clamped to [1.0, hot_max] (a hot torrent pays more to host; a cold one is not punished twice).
///
/// Exactly: `floor(target_replicas · 1000 · demand_wad / max(replicas_milli, 500))`, clamped.
/// Replicas in thousandths let the caller count partial replicas (a node holding 40 % of the
/// pieces is 400); the floor of 0.5 makes a torrent with no replica at all worth twice one with a
/// single replica, not infinitely more. With the defaults (target 3, weights 0.25 to 4): 0 or 0.5
/// replicas → 4 (the cap), 1 → 3, 3 → 1, 6 → 0.5, 12 or more → 0.25, before demand.
/// `Err(BadParam)` if `weight_min > weight_max`.
pub fn target_weight(
    replicas_milli: u64,
    saturation_wad: u128,
    p: &EconomyParams,
) -> Result<u128, EconError> {
    check_weights(p)?;
    let demand = saturation_wad.min(p.hot_max_wad).max(WAD);
    let replicas = u128::from(replicas_milli.max(500));
    // target · 1000 < 2^42; the divisor is at least 500.
    let weight = match mul_div(u128::from(p.target_replicas) * 1000, demand, replicas) {
        Ok(w) => w,
        // Beyond 2^128 is beyond any weight_max.
        Err(_) => p.weight_max_wad,
    };
    Ok(weight.clamp(p.weight_min_wad, p.weight_max_wad))
}

/// One epoch's move of a weight toward `target`: at most max_step_bps of `current` either way,
/// then clamped to [weight_min, weight_max].
///
/// The step is `floor(current · max_step_bps / 10^4)`; the move stops at `target` rather than
/// overshooting it. A weight outside the bounds (after a parameter change) is brought inside at
/// once. `Err(BadParam)` if `weight_min > weight_max`.
pub fn next_weight(
    current_wad: u128,
    target_wad: u128,
    p: &EconomyParams,
) -> Result<u128, EconError> {
    check_weights(p)?;
    let step =
        mul_div(current_wad, u128::from(p.max_step_bps), u128::from(BPS)).unwrap_or(u128::MAX);
    let moved = if target_wad >= current_wad {
        target_wad.min(current_wad.saturating_add(step))
    } else {
        target_wad.max(current_wad.saturating_sub(step))
    };
    Ok(moved.clamp(p.weight_min_wad, p.weight_max_wad))
}

/// Route DynamicGate: the minimum stake follows members / target_members like a price follows
/// saturation (same step and clamp), never below `floor` (the genesis minimum).
///
/// That is `next_price(current, saturation_wad(members, target_members), max_step_bps, floor)`:
/// more members than the target raise the entry stake by up to 12.5 % an epoch, fewer lower it
/// back toward the genesis minimum. `Err(BadParam)` if `target_members` is 0.
pub fn next_min_stake(
    current: u128,
    members: u64,
    p: &EconomyParams,
    floor: u128,
) -> Result<u128, EconError> {
    if p.target_members == 0 {
        return Err(EconError::BadParam("target_members = 0".into()));
    }
    let saturation = saturation_wad(members, u64::from(p.target_members));
    next_price(current, saturation, p.max_step_bps, floor)
}

fn check_weights(p: &EconomyParams) -> Result<(), EconError> {
    if p.weight_min_wad > p.weight_max_wad {
        return Err(EconError::BadParam(format!(
            "weight_min_wad {} is above weight_max_wad {}",
            p.weight_min_wad, p.weight_max_wad
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STEP: u32 = 1250;

    #[test]
    fn saturation_edges() {
        assert_eq!(saturation_wad(0, 0), WAD);
        assert_eq!(saturation_wad(0, 5), 0);
        assert_eq!(saturation_wad(5, 0), SATURATION_CAP_WAD);
        assert_eq!(saturation_wad(3, 2), 3 * WAD / 2);
        assert_eq!(saturation_wad(1, 3), WAD / 3);
        assert_eq!(saturation_wad(1000, 1), SATURATION_CAP_WAD);
        assert_eq!(saturation_wad(u64::MAX, u64::MAX), WAD);
        assert_eq!(saturation_wad(u64::MAX, 1), SATURATION_CAP_WAD);
    }

    #[test]
    fn price_steps_like_eip_1559() {
        let p = 1_000_000 * WAD;
        assert_eq!(next_price(p, 2 * WAD, STEP, 0), Ok(p + p / 8));
        assert_eq!(next_price(p, 0, STEP, 0), Ok(p - p / 8));
        assert_eq!(next_price(p, 3 * WAD / 2, STEP, 0), Ok(p + p / 16));
        assert_eq!(next_price(p, WAD, STEP, 0), Ok(p));
        assert_eq!(next_price(p, WAD / 2, STEP, 0), Ok(p - p / 16));
        assert_eq!(next_price(p, SATURATION_CAP_WAD, STEP, 0), Ok(p + p / 8));
        // The floor holds.
        assert_eq!(next_price(p, 0, STEP, p), Ok(p));
        assert_eq!(next_price(p, 0, STEP, 2 * p), Ok(2 * p));
        // Rounding: a decrease rounds the price down, an increase too.
        assert_eq!(next_price(7, 0, STEP, 0), Ok(6)); // 7 · 0.875 = 6.125
        assert_eq!(next_price(7, 2 * WAD, STEP, 0), Ok(7)); // 7 · 1.125 = 7.875
        assert_eq!(next_price(0, 2 * WAD, STEP, 0), Ok(0));
        // Extremes.
        assert_eq!(
            next_price(u128::MAX, 2 * WAD, STEP, 0),
            Err(EconError::Overflow)
        );
        assert_eq!(next_price(u128::MAX, WAD, STEP, 0), Ok(u128::MAX));
        assert_eq!(next_price(u128::MAX, 0, u32::MAX, 5), Ok(5));
        assert_eq!(next_price(u128::MAX, u128::MAX, 0, 0), Ok(u128::MAX));
    }

    /// Demand three times capacity for 5 epochs: the price rises the full 12.5 % each epoch, to
    /// price × 1.125^5; then demand at half the capacity brings it down again.
    #[test]
    fn surge_scenario() {
        let start = 931_322_574u128 << 15; // divisible by 8^5: every step is exact
        let mut price = start;
        for _ in 0..5 {
            price = next_price(price, saturation_wad(3000, 1000), STEP, start).unwrap();
        }
        assert_eq!(price, start / 32_768 * 59_049); // 1.125^5 = 59049 / 32768
        // Any starting price: within one unit per epoch of the exact value.
        let odd = 1_000_000_007u128;
        let mut q = odd;
        for _ in 0..5 {
            q = next_price(q, 3 * WAD, STEP, 0).unwrap();
        }
        let exact = odd as f64 * 1.125f64.powi(5);
        assert!(
            q as f64 <= exact && q as f64 >= exact - 5.0,
            "{q} vs {exact}"
        );
        // Then half-saturated: falls 6.25 % an epoch, back to the floor after enough epochs.
        let peak = price;
        let mut falls = Vec::new();
        for _ in 0..20 {
            price = next_price(price, saturation_wad(500, 1000), STEP, start).unwrap();
            falls.push(price);
        }
        assert_eq!(falls[0], peak * 15 / 16); // the exact value rounded down
        assert!(falls.windows(2).all(|w| w[1] <= w[0]));
        assert_eq!(*falls.last().unwrap(), start);
    }

    fn defaults() -> EconomyParams {
        EconomyParams::default()
    }

    #[test]
    fn target_weights() {
        let p = defaults();
        let w = |replicas_milli, sat| target_weight(replicas_milli, sat, &p).unwrap();
        assert_eq!(w(0, WAD), 4 * WAD);
        assert_eq!(w(500, WAD), 4 * WAD);
        assert_eq!(w(1000, WAD), 3 * WAD);
        assert_eq!(w(2000, WAD), 3 * WAD / 2);
        assert_eq!(w(3000, WAD), WAD);
        assert_eq!(w(6000, WAD), WAD / 2);
        assert_eq!(w(12_000, WAD), WAD / 4);
        assert_eq!(w(100_000, WAD), WAD / 4);
        // Demand: cold (below 1) is not punished, hot multiplies up to hot_max.
        assert_eq!(w(3000, 0), WAD);
        assert_eq!(w(3000, 3 * WAD / 2), 3 * WAD / 2);
        assert_eq!(w(3000, 5 * WAD), 2 * WAD);
        assert_eq!(w(6000, SATURATION_CAP_WAD), WAD);
        assert_eq!(w(1000, 2 * WAD), 4 * WAD);
        let bad = EconomyParams {
            weight_min_wad: 5 * WAD,
            ..p
        };
        assert!(matches!(
            target_weight(1000, WAD, &bad),
            Err(EconError::BadParam(_))
        ));
        assert!(matches!(
            next_weight(WAD, WAD, &bad),
            Err(EconError::BadParam(_))
        ));
        let huge = EconomyParams {
            target_replicas: u32::MAX,
            hot_max_wad: u128::MAX,
            weight_max_wad: u128::MAX,
            ..p
        };
        assert!(target_weight(0, u128::MAX, &huge).is_ok());
    }

    /// Under-replicated torrents (0 or 1 replica of 3) gain weight every epoch until they reach
    /// their target; over-replicated ones lose it; every step is bounded.
    #[test]
    fn weights_converge_by_bounded_steps() {
        let p = defaults();
        for (replicas_milli, target) in [
            (0, 4 * WAD),
            (1000, 3 * WAD),
            (6000, WAD / 2),
            (12_000, WAD / 4),
        ] {
            let goal = target_weight(replicas_milli, WAD, &p).unwrap();
            assert_eq!(goal, target);
            let mut w = WAD;
            let mut epochs = 0;
            while w != goal {
                let next = next_weight(w, goal, &p).unwrap();
                if goal > w {
                    assert!(next > w);
                } else {
                    assert!(next < w);
                }
                assert!(next.abs_diff(w) <= w / 8);
                w = next;
                epochs += 1;
                assert!(epochs < 100);
            }
            eprintln!(
                "{replicas_milli} milli-replicas: weight 1 → {} in {epochs} epochs",
                goal as f64 / 1e18
            );
        }
        // Out of bounds is brought inside; zero cannot stick.
        assert_eq!(next_weight(0, 0, &p), Ok(WAD / 4));
        assert_eq!(next_weight(100 * WAD, 100 * WAD, &p), Ok(4 * WAD));
    }

    #[test]
    fn dynamic_gate() {
        let p = defaults();
        let floor = 100 * WAD;
        // Twice the target membership: +12.5 %; at the target: unchanged; empty: back to the floor.
        assert_eq!(
            next_min_stake(floor, 2000, &p, floor),
            Ok(floor + floor / 8)
        );
        assert_eq!(next_min_stake(200 * WAD, 1000, &p, floor), Ok(200 * WAD));
        assert_eq!(next_min_stake(200 * WAD, 0, &p, floor), Ok(175 * WAD));
        assert_eq!(next_min_stake(floor, 0, &p, floor), Ok(floor));
        let bad = EconomyParams {
            target_members: 0,
            ..p
        };
        assert!(matches!(
            next_min_stake(floor, 5, &bad, floor),
            Err(EconError::BadParam(_))
        ));
    }

    proptest! {
        #[test]
        fn price_moves_at_most_one_step_and_never_below_floor(
            price in 0u128..(1u128 << 120), sat in 0u128..=2 * SATURATION_CAP_WAD,
            step in 0u32..=10_000, floor in 0u128..(1u128 << 120),
        ) {
            let next = next_price(price, sat, step, floor).unwrap();
            prop_assert!(next >= floor);
            let bound = mul_div(price, u128::from(step), 10_000).unwrap() + 1;
            if next > floor {
                prop_assert!(next.abs_diff(price) <= bound, "{price} → {next}");
            }
            // The fixed point.
            prop_assert_eq!(next_price(price, WAD, step, 0).unwrap(), price);
        }

        #[test]
        fn price_is_monotone_in_saturation(
            price in 0u128..(1u128 << 120), sat in 0u128..=SATURATION_CAP_WAD,
            dsat in 0u128..=WAD, step in 0u32..=10_000,
        ) {
            prop_assert!(next_price(price, sat, step, 0).unwrap() <= next_price(price, sat + dsat, step, 0).unwrap());
        }

        #[test]
        fn weights_stay_in_bounds(
            current in 0u128..(100 * WAD), replicas in 0u64..50_000, sat in 0u128..=SATURATION_CAP_WAD,
        ) {
            let p = defaults();
            let target = target_weight(replicas, sat, &p).unwrap();
            prop_assert!((p.weight_min_wad..=p.weight_max_wad).contains(&target));
            let next = next_weight(current, target, &p).unwrap();
            prop_assert!((p.weight_min_wad..=p.weight_max_wad).contains(&next));
            if (p.weight_min_wad..=p.weight_max_wad).contains(&current) {
                prop_assert!(next.abs_diff(current) <= current / 8);
                // Toward the target, never past it.
                prop_assert!(next.abs_diff(target) <= current.abs_diff(target));
            }
            // More replicas never raise the target; more demand never lowers it.
            prop_assert!(target_weight(replicas + 1, sat, &p).unwrap() <= target);
            prop_assert!(target_weight(replicas, sat + 1, &p).unwrap() >= target);
        }
    }
}
