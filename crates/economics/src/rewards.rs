//! Hosting rewards: a replica's score and the exact pro-rata split of an epoch's reward.
//!
//! An epoch's inflation ([`crate::inflation::per_epoch`]) is shared among the replicas audited
//! that epoch in proportion to their score: verified bytes × the torrent's weight × the geographic
//! factor. Verified, not claimed: the bytes a node claimed scaled by the share of its audits it
//! passed, so a node that keeps 90 % of its claim earns on at most about 90 % (and its reputation,
//! [`crate::reputation`], suspends it from rewards well before that).
//!
//! Conservation: [`split`] floors every part and returns the remainder, so the parts and the
//! remainder add up to the total exactly; the caller decides where the remainder goes (the
//! ledger: it is not minted, or it stays in the pool for the next epoch), never lost or created.

use crate::fixed::{WAD, mul_div};
use crate::{BPS, EconError};

/// A replica's hosting score: verified_bytes × weight × geo factor (geo_bps: 10000 = ×1.0,
/// 11500 = ×1.15), computed as `mul_div(verified_bytes × geo_bps, weight_wad, WAD × 10000)`, one
/// rounding (down).
///
/// **Unit: weighted bytes**: a byte verified on a torrent of weight 1.0 with no geographic boost
/// scores 1; the same byte on a torrent of weight 4.0 from a boosted location scores 4.6.
/// Scores are only ever compared with each other ([`split`]), so the unit cancels.
/// `Err(Overflow)` only for weights far beyond any sensible `weight_max` (about 10^19 WAD for a
/// claim of 2^64 bytes).
pub fn score(verified_bytes: u64, weight_wad: u128, geo_bps: u32) -> Result<u128, EconError> {
    // Below 2^64 · 2^32 = 2^96; the divisor is 10^22.
    let bytes_geo = u128::from(verified_bytes) * u128::from(geo_bps);
    mul_div(bytes_geo, weight_wad, WAD * u128::from(BPS))
}

/// Pro-rata split of `total` by `shares`, each floor(total × share / sum); returns (parts,
/// remainder) with sum(parts) + remainder == total exactly. All-zero (or empty) shares: no parts
/// (all zeros) and remainder = total.
///
/// `parts` has one entry per share, in order. The remainder is below the number of nonzero
/// shares (each floor loses less than one unit). Equal shares get equal parts and a larger share
/// never gets less. `Err(Overflow)` if the shares' sum does not fit in a `u128`.
pub fn split(total: u128, shares: &[u128]) -> Result<(Vec<u128>, u128), EconError> {
    let mut sum = 0u128;
    for &s in shares {
        sum = sum.checked_add(s).ok_or(EconError::Overflow)?;
    }
    if sum == 0 {
        return Ok((vec![0; shares.len()], total));
    }
    let mut parts = Vec::with_capacity(shares.len());
    let mut paid = 0u128;
    // Equal shares get equal parts: a share equal to the one before reuses its part (many
    // stakers stake and lock alike), without another wide division.
    let mut last: Option<(u128, u128)> = None;
    for &s in shares {
        // s <= sum, so the part is at most total: no overflow, and the parts sum to at most total.
        let part = match last {
            Some((share, part)) if share == s => part,
            _ => mul_div(total, s, sum)?,
        };
        last = Some((s, part));
        paid += part;
        parts.push(part);
    }
    Ok((parts, total - paid))
}

/// Verified bytes of a claim: claimed × passes / total audits (floor); 0 if total == 0.
///
/// `passes` above `total` counts as `total` (a claim is never verified beyond itself).
pub fn verified_bytes(claimed: u64, passes: u32, total: u32) -> u64 {
    if total == 0 {
        return 0;
    }
    if passes >= total {
        // Every sample passed: claimed × total / total, without the division.
        return claimed;
    }
    // Below 2^96; the quotient is at most `claimed`, so it fits.
    let v = u128::from(claimed) * u128::from(passes) / u128::from(total);
    u64::try_from(v).unwrap_or(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scores() {
        let gib = 1u64 << 30;
        assert_eq!(score(gib, WAD, 10_000), Ok(u128::from(gib)));
        assert_eq!(score(gib, 4 * WAD, 11_500), Ok(u128::from(gib) * 46 / 10));
        assert_eq!(score(gib, WAD / 4, 10_000), Ok(u128::from(gib) / 4));
        assert_eq!(score(0, 4 * WAD, 11_500), Ok(0));
        assert_eq!(score(3, WAD, 11_500), Ok(3)); // 3.45, floored
        assert_eq!(
            score(u64::MAX, 4 * WAD, 20_000),
            Ok(u128::from(u64::MAX) * 8)
        );
        assert_eq!(
            score(u64::MAX, u128::MAX, u32::MAX),
            Err(EconError::Overflow)
        );
    }

    #[test]
    fn splits() {
        assert_eq!(split(100, &[1, 1, 1]), Ok((vec![33, 33, 33], 1)));
        assert_eq!(split(100, &[1, 3]), Ok((vec![25, 75], 0)));
        assert_eq!(split(100, &[0, 0]), Ok((vec![0, 0], 100)));
        assert_eq!(split(100, &[]), Ok((vec![], 100)));
        assert_eq!(split(0, &[5, 7]), Ok((vec![0, 0], 0)));
        assert_eq!(
            split(u128::MAX, &[u128::MAX, 0]),
            Ok((vec![u128::MAX, 0], 0))
        );
        assert_eq!(split(7, &[u128::MAX, 1]), Err(EconError::Overflow));
        let (parts, rest) = split(u128::MAX, &[u128::MAX / 2, u128::MAX / 2]).unwrap();
        assert_eq!(parts[0], parts[1]);
        assert_eq!(parts[0] * 2 + rest, u128::MAX);
    }

    #[test]
    fn verified() {
        assert_eq!(verified_bytes(1000, 44, 44), 1000);
        assert_eq!(verified_bytes(1000, 40, 44), 909);
        assert_eq!(verified_bytes(1000, 0, 44), 0);
        assert_eq!(verified_bytes(1000, 0, 0), 0);
        assert_eq!(verified_bytes(1000, 50, 44), 1000);
        assert_eq!(
            verified_bytes(u64::MAX, u32::MAX - 1, u32::MAX),
            u64::MAX - u64::MAX / u64::from(u32::MAX)
        );
    }

    proptest! {
        #[test]
        fn split_conserves(total in any::<u128>(), shares in proptest::collection::vec(any::<u64>(), 0..50)) {
            let shares: Vec<u128> = shares.into_iter().map(u128::from).collect();
            let (parts, rest) = split(total, &shares).unwrap();
            prop_assert_eq!(parts.len(), shares.len());
            let paid: u128 = parts.iter().sum();
            prop_assert_eq!(paid + rest, total);
            let nonzero = shares.iter().filter(|&&s| s > 0).count() as u128;
            if nonzero > 0 {
                prop_assert!(rest < nonzero);
            }
            for (i, a) in shares.iter().enumerate() {
                for (j, b) in shares.iter().enumerate() {
                    if a <= b {
                        prop_assert!(parts[i] <= parts[j], "{i}: {a} → {}, {j}: {b} → {}", parts[i], parts[j]);
                    }
                }
            }
        }

        #[test]
        fn split_conserves_big_shares(total in any::<u128>(), shares in proptest::collection::vec(0u128..(u128::MAX / 64), 0..64)) {
            let (parts, rest) = split(total, &shares).unwrap();
            prop_assert_eq!(parts.iter().sum::<u128>() + rest, total);
        }

        #[test]
        fn score_is_monotone(bytes in any::<u64>(), w in 0u128..(1000 * WAD), geo in 10_000u32..=20_000) {
            let s = score(bytes, w, geo).unwrap();
            prop_assert!(score(bytes, w + 1, geo).unwrap() >= s);
            prop_assert!(score(bytes, w, geo + 1).unwrap() >= s);
            prop_assert!(score(bytes.saturating_add(1), w, geo).unwrap() >= s);
        }

        #[test]
        fn verified_is_at_most_claimed(claimed in any::<u64>(), passes in any::<u32>(), total in any::<u32>()) {
            let v = verified_bytes(claimed, passes, total);
            prop_assert!(v <= claimed);
            if total > 0 && passes >= total {
                prop_assert_eq!(v, claimed);
            }
        }
    }
}
