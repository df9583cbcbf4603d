//! Fixed-point arithmetic for the epoch formulas: [`WAD`] = 10^18 is 1.0.
//!
//! Token amounts already are integers of 10^-18 token, so a WAD ratio multiplies an amount with
//! one [`mul_div`] and one rounding. Every function here rounds down (towards zero) unless it says
//! otherwise, and reports a result that does not fit as [`EconError::Overflow`] instead of
//! wrapping or panicking.
//!
//! [`pow_wad`] is `x^y = 2^(y · log2 x)` in binary fixed point with 63 fractional bits (Q.63):
//! `log2` by repeated squaring (one bit per squaring), `2^f` for the fractional part by its
//! Taylor series `e^(f ln 2)`, whose terms are all positive. Every step is a floor of a product of
//! non-negative numbers, so the result is monotone in `x` and in `y` by construction (not just up
//! to rounding), and the whole computation is a fixed sequence of integer operations: the same
//! bits on every machine. (The other classic `2^f`, a product of constants `2^(2^-i)` for the
//! bits of `f`, is as accurate but not monotone: `f + 1` can carry through many bits and multiply
//! a different set of rounded constants, landing a unit below `2^f`.)

use crate::EconError;

/// 1.0 in fixed point: 10^18 (the token's base units per token).
pub const WAD: u128 = 1_000_000_000_000_000_000;

/// floor(a * b / d) with a 256-bit intermediate. Err(EconError::DivByZero) if d == 0,
/// Err(EconError::Overflow) if the result does not fit u128.
pub fn mul_div(a: u128, b: u128, d: u128) -> Result<u128, EconError> {
    mul_div_rem(a, b, d).map(|(q, _)| q)
}

/// ceil(a * b / d), with the same errors as [`mul_div`]: for the few places where rounding up is
/// the conservative side (a price decrease, so the new price is the exact one rounded down).
pub fn mul_div_ceil(a: u128, b: u128, d: u128) -> Result<u128, EconError> {
    let (q, r) = mul_div_rem(a, b, d)?;
    if r == 0 {
        Ok(q)
    } else {
        q.checked_add(1).ok_or(EconError::Overflow)
    }
}

/// `(floor(a·b/d), a·b mod d)`.
fn mul_div_rem(a: u128, b: u128, d: u128) -> Result<(u128, u128), EconError> {
    if d == 0 {
        return Err(EconError::DivByZero);
    }
    let (hi, lo) = wide_mul(a, b);
    if hi == 0 {
        return Ok(div_narrow(lo, d));
    }
    // The quotient fits in 128 bits exactly when hi < d.
    if hi >= d {
        return Err(EconError::Overflow);
    }
    Ok(div_wide(hi, lo, d))
}

/// `(n / d, n % d)`. A divisor of more than 64 bits takes the slow path of a 128-bit division;
/// one that is a 64-bit number times a power of two (as `WAD · BPS` = 5^22 · 2^22 is) divides
/// `n` shifted by that power instead, with the same quotient: with n = q·d + r and d = e·2^z,
/// n >> z = q·e + (r >> z) and r >> z < e; the remainder is r >> z shifted back, with the bits
/// shifted out.
fn div_narrow(n: u128, d: u128) -> (u128, u128) {
    let z = d.trailing_zeros();
    if d >> 64 != 0 && d >> z >> 64 == 0 {
        let e = d >> z;
        let m = n >> z;
        let low = n & ((1u128 << z) - 1);
        (m / e, ((m % e) << z) | low)
    } else {
        (n / d, n % d)
    }
}

/// `(hi·2^128 + lo) / d` and its remainder, for `hi < d` (so the quotient fits in 128 bits).
///
/// Long division in base 2^64 (Knuth's algorithm D, the dividend's two or four digits by the
/// divisor's one or two): a handful of hardware divisions where one quotient bit per step took
/// 128 steps, with the same exact result (`mul_div_big` in the tests checks it against the
/// product, and `div_wide_matches_bitwise` against the bit-by-bit division it replaced).
fn div_wide(hi: u128, lo: u128, d: u128) -> (u128, u128) {
    debug_assert!(hi < d, "the quotient fits in 128 bits");
    const HALF: u32 = 64;
    if d >> HALF == 0 {
        // A one-digit divisor: each step divides a remainder below d, with the next digit, by d;
        // each quotient digit fits in 64 bits because the remainder is below d.
        let mut rem = hi;
        let mut q = 0u128;
        for digit in [(lo >> HALF) as u64, lo as u64] {
            let n = (rem << HALF) | u128::from(digit);
            q = (q << HALF) | (n / d);
            rem = n % d;
        }
        return (q, rem);
    }
    // Normalise: shift the divisor's top bit to bit 127 (and the dividend with it, which cannot
    // overflow: hi < d, so hi·2^s plus the bits shifted in stays below d·2^s < 2^128). The
    // quotient is unchanged; the remainder comes out shifted by s.
    let s = d.leading_zeros(); // < 64: d ≥ 2^64.
    let d = d << s;
    let (mut rem, lo) = if s == 0 {
        (hi, lo)
    } else {
        ((hi << s) | (lo >> (128 - s)), lo << s)
    };
    let mut q = 0u128;
    for digit in [(lo >> HALF) as u64, lo as u64] {
        let (qd, r) = div_3by2(rem, digit, d);
        q = (q << HALF) | u128::from(qd);
        rem = r;
    }
    (q, rem >> s)
}

/// `(u·2^64 + u0) / d` for a normalised `d` (bit 127 set) and `u < d`: one 64-bit quotient digit
/// and the remainder (below `d`).
fn div_3by2(u: u128, u0: u64, d: u128) -> (u64, u128) {
    const HALF: u32 = 64;
    let (d1, d0) = ((d >> HALF) as u64, d as u64);
    // The estimate from the top digits, at most b − 1 (u < d, so the true digit is): with the
    // divisor normalised it exceeds the true digit by at most 2 (Knuth, Theorem 4.3.1 B).
    let mut qd = (u / u128::from(d1)).min(u128::from(u64::MAX)) as u64;
    // qd·d as a 192-bit number (top: the high 128 bits, bottom: the low 64).
    let low = u128::from(qd) * u128::from(d0);
    let mut bottom = low as u64;
    // qd·d1 ≤ (2^64 − 1)^2 and low >> 64 < 2^64: the sum fits.
    let mut top = u128::from(qd) * u128::from(d1) + (low >> HALF);
    // Take d away while the product exceeds the dividend: at most twice.
    while (top, bottom) > (u, u0) {
        qd -= 1;
        let (b, borrow) = bottom.overflowing_sub(d0);
        bottom = b;
        top = top - u128::from(d1) - u128::from(borrow);
    }
    // The true remainder is below d < 2^128, so arithmetic modulo 2^128 gives it exactly.
    let rem = (u.wrapping_sub(top) << HALF)
        .wrapping_add(u128::from(u0))
        .wrapping_sub(u128::from(bottom));
    (qd, rem)
}

/// The 256-bit product `a·b` as `(high, low)` 128-bit halves.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    // Each partial product of two 64-bit halves fits in 128 bits.
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // The middle column: at most 3 · (2^64 - 1) < 2^66, no overflow.
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// Fractional bits of the internal binary fixed point.
const FRAC_BITS: u32 = 63;
/// 1.0 in Q.63.
const ONE: u128 = 1 << FRAC_BITS;
/// floor(ln 2 · 2^63): ln 2 = 0.693147180559945309417232121458…
/// (checked against a series in the tests).
const LN2_Q63: u128 = 6_393_154_322_601_327_829;
/// log2(WAD) in Q.63, computed by the same routine as every other logarithm, so that
/// `log2(x) - LOG2_WAD` is exactly 0 at `x = WAD` and `1^y = 1` holds to the bit.
const LOG2_WAD: u128 = log2_q63(WAD);

/// log2 of an integer `x >= 1` in Q.63, rounded down (the integer part is at most 127, so the
/// value is below 2^70). `x = 0` gives 0 (callers never pass it).
///
/// `x = 2^n · m` with `m` in [1, 2) held in Q.63 (exact when `x` has at most 64 significant
/// bits, truncated otherwise); squaring `m` doubles its logarithm, so each squaring yields the
/// next bit of `log2 m`: 1 when the square reaches 2 (then halve it). Each step is a floor of a
/// product of non-negative numbers, which keeps the result monotone in `x`.
const fn log2_q63(x: u128) -> u128 {
    if x == 0 {
        return 0;
    }
    let n = 127 - x.leading_zeros();
    let mut m = if n >= FRAC_BITS {
        x >> (n - FRAC_BITS)
    } else {
        x << (FRAC_BITS - n)
    };
    let mut frac = 0u128;
    let mut i = 0;
    while i < FRAC_BITS {
        // m < 2^64, so m·m < 2^128; after the shift m < 2^65, and after halving m < 2^64 again.
        m = (m * m) >> FRAC_BITS;
        frac <<= 1;
        if m >= 2 * ONE {
            m >>= 1;
            frac |= 1;
        }
        i += 1;
    }
    ((n as u128) << FRAC_BITS) | frac
}

/// 2^(f / 2^63) in Q.63 for `0 <= f < 2^63`: a value in [2^63, 2^64).
///
/// `e^u` with `u = f · ln 2` by its Taylor series: every term `u^k / k!` is positive and computed
/// from the previous one with one floor, so each term (and the sum) is monotone in `f`, and the
/// sum never exceeds the exact value (every rounding and `LN2_Q63` are rounded down): it stays
/// below 2^64. With `u < 0.7` the terms fall under 2^-63 after about 19 of them.
fn exp2_frac_q63(f: u128) -> u128 {
    // f < 2^63 and LN2_Q63 < 2^63: the product is below 2^126.
    let u = (f * LN2_Q63) >> FRAC_BITS;
    let mut sum = ONE;
    let mut term = ONE;
    let mut k: u128 = 1;
    while k <= 40 {
        // term <= 2^63 and u < 2^63: the product is below 2^126; k · 2^63 < 2^69.
        term = term * u / (k << FRAC_BITS);
        if term == 0 {
            break;
        }
        sum += term;
        k += 1;
    }
    sum
}

/// floor(WAD · p · 2^(k − 63)) for `p` in Q.63 (below 2^64) and a power-of-two exponent `k`.
fn scale_wad(p: u128, k: i128) -> Result<u128, EconError> {
    // WAD < 2^60 and p < 2^64: below 2^124.
    let v = WAD * p;
    let shift = k - i128::from(FRAC_BITS);
    if shift >= 0 {
        // v > 0 (p >= 2^63): shifting left by up to its leading zeros loses nothing, further
        // would drop its top bit.
        if shift > i128::from(v.leading_zeros()) {
            return Err(EconError::Overflow);
        }
        Ok(v << shift)
    } else {
        let right = shift.unsigned_abs();
        Ok(if right >= 128 { 0 } else { v >> right })
    }
}

/// x^y for x and y in WAD (x > 0; x = 0 gives 0 for y > 0 and WAD for y = 0), rounded down.
/// Err(Overflow) if the result does not fit.
///
/// `2^(y · log2 x)` in Q.63: `log2` by repeated squaring, `2^f` by a positive Taylor series (see
/// the module documentation). For x in [1e-9, 1e9] and y in [0, 8] the relative error is about
/// 10^-18 (10^-12 is the promise; the logarithm's error grows with `y`), plus the final floor to
/// a whole unit of 10^-18, which dominates for results below about 10^-6.
/// Exact: `x^0 = 1`, `0^y = 0` (y > 0), `1^y = 1`; `x^1` is `x` within that error, not always
/// to the unit. Monotone (non-decreasing) in `x`, and in `y` in the direction the exact power
/// moves (up for `x >= 1`, down for `x < 1`), by construction.
pub fn pow_wad(x: u128, y: u128) -> Result<u128, EconError> {
    if y == 0 {
        return Ok(WAD);
    }
    if x == 0 {
        return Ok(0);
    }
    // Both logarithms are below 2^70: the casts are exact and the difference fits.
    let l = log2_q63(x) as i128 - LOG2_WAD as i128;
    let magnitude = l.unsigned_abs();
    if l >= 0 {
        // z = floor(y · log2(x / WAD)) in Q.63; beyond 128 bits the power is beyond 2^(2^65).
        let z = mul_div(y, magnitude, WAD)?;
        let k = (z >> FRAC_BITS) as i128; // < 2^65
        scale_wad(exp2_frac_q63(z & (ONE - 1)), k)
    } else {
        // z = -m with m = floor(y · |log2(x / WAD)|): rounded towards zero, monotone in y and x.
        // An m beyond 128 bits is a power below 2^-(2^65): zero.
        let Ok(m) = mul_div(y, magnitude, WAD) else {
            return Ok(0);
        };
        let whole = (m >> FRAC_BITS) as i128; // < 2^65
        let frac = m & (ONE - 1);
        if frac == 0 {
            scale_wad(ONE, -whole)
        } else {
            // 2^(-whole - frac) = 2^(-whole - 1) · 2^(1 - frac).
            scale_wad(exp2_frac_q63(ONE - frac), -whole - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The division `div_wide` replaced: one quotient bit per step. Invariant: rem < d before each
    /// step, so 2·rem + bit < 2d: one subtraction brings it back under d, and when the doubling
    /// carries out of 128 bits the true value (2^128 + rem) is certainly >= d and the wrapping
    /// subtraction gives the right remainder.
    fn div_bitwise(hi: u128, lo: u128, d: u128) -> (u128, u128) {
        let mut rem = hi;
        let mut q = 0u128;
        for i in (0..128).rev() {
            let carry = rem >> 127;
            rem = (rem << 1) | ((lo >> i) & 1);
            q <<= 1;
            if carry == 1 || rem >= d {
                rem = rem.wrapping_sub(d);
                q |= 1;
            }
        }
        (q, rem)
    }

    #[test]
    fn div_narrow_equals_division() {
        let divisors = [
            1,
            3,
            WAD,
            WAD * 10_000,
            1 << 64,
            3 << 64,
            u128::from(u64::MAX) << 60,
            1 << 127,
            u128::MAX,
            (1 << 64) + 2,
        ];
        let numbers = [
            0,
            1,
            u128::MAX,
            u128::MAX - 1,
            1 << 100,
            WAD * 10_000 * 7 + 5,
        ];
        for d in divisors {
            for n in numbers.into_iter().chain([
                d,
                d - 1,
                d.wrapping_add(1),
                d.wrapping_mul(3).wrapping_add(1),
            ]) {
                assert_eq!(div_narrow(n, d), (n / d, n % d), "{n} / {d}");
            }
        }
    }

    #[test]
    fn div_wide_edges() {
        let max = u128::MAX;
        let divisors = [
            1,
            2,
            3,
            u128::from(u64::MAX),
            1 << 64,
            (1 << 64) + 1,
            (1 << 127) - 1,
            1 << 127,
            (1 << 127) + 1,
            max - 1,
            max,
            WAD,
            WAD * 10_000,
            0xffff_ffff_ffff_ffff_0000_0000_0000_0001,
            0x8000_0000_0000_0000_ffff_ffff_ffff_ffff,
        ];
        for d in divisors {
            for hi in [0, 1, d / 2, d - 1] {
                for lo in [
                    0,
                    1,
                    max,
                    max - 1,
                    1 << 64,
                    (1 << 64) - 1,
                    d,
                    d.wrapping_mul(3),
                ] {
                    let hi = hi.min(d - 1);
                    assert_eq!(div_wide(hi, lo, d), div_bitwise(hi, lo, d), "{hi} {lo} {d}");
                }
            }
        }
    }

    #[test]
    fn mul_div_small_and_big() {
        assert_eq!(mul_div(6, 7, 4), Ok(10));
        assert_eq!(mul_div(0, 7, 4), Ok(0));
        assert_eq!(mul_div(7, 0, 1), Ok(0));
        assert_eq!(mul_div(1, 1, 0), Err(EconError::DivByZero));
        assert_eq!(mul_div(0, 0, 0), Err(EconError::DivByZero));
        let p127 = 1u128 << 127;
        assert_eq!(mul_div(p127, p127, p127), Ok(p127));
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), Ok(u128::MAX));
        assert_eq!(
            mul_div(u128::MAX, u128::MAX - 1, u128::MAX),
            Ok(u128::MAX - 1)
        );
        // (2^128 - 1)^2 / 2^127 = 2^129 - 4 + 2^-127: overflow.
        assert_eq!(
            mul_div(u128::MAX, u128::MAX, p127),
            Err(EconError::Overflow)
        );
        assert_eq!(mul_div(p127, 2, 1), Err(EconError::Overflow));
        assert_eq!(mul_div(p127, 4, 2), Err(EconError::Overflow));
        assert_eq!(mul_div(p127, 4, 4), Ok(p127));
        // 10^30 · 10^30 / 10^24 = 10^36.
        let e = |n: u32| 10u128.pow(n);
        assert_eq!(mul_div(e(30), e(30), e(24)), Ok(e(36)));
        assert_eq!(mul_div(e(30), e(30) + 1, e(24)), Ok(e(36) + e(6)));
        assert_eq!(mul_div_ceil(7, 3, 2), Ok(11));
        assert_eq!(mul_div_ceil(8, 3, 2), Ok(12));
        assert_eq!(mul_div_ceil(u128::MAX, 3, 3), Ok(u128::MAX));
    }

    #[test]
    fn ln2_constant() {
        // ln 2 = Σ 1 / (k · 2^k), in units of 2^-120 (rounding error below 200 units), then
        // rounded down to Q.63.
        let mut sum = 0u128;
        for k in 1..200u32 {
            let shift = 120u32.saturating_sub(k);
            if shift == 0 {
                break;
            }
            sum += (1u128 << shift) / u128::from(k);
        }
        assert_eq!(sum >> 57, LN2_Q63);
        assert_eq!((sum + 200) >> 57, LN2_Q63);
    }

    #[test]
    fn pow_identities() {
        for x in [
            1,
            2,
            3,
            WAD / 2,
            WAD,
            WAD + 1,
            7 * WAD,
            10u128.pow(27),
            u128::MAX,
        ] {
            assert_eq!(pow_wad(x, 0), Ok(WAD), "{x}^0");
        }
        assert_eq!(pow_wad(0, 0), Ok(WAD));
        assert_eq!(pow_wad(0, 1), Ok(0));
        assert_eq!(pow_wad(0, 8 * WAD), Ok(0));
        for y in [1, WAD / 3, WAD, 3 * WAD / 2, 8 * WAD, u128::MAX] {
            assert_eq!(pow_wad(WAD, y), Ok(WAD), "1^{y}");
        }
        // x^1 = x within the error bound (a few units in 10^17 of x, plus the last unit).
        for x in [
            1u128,
            999,
            WAD / 1_000_000_000,
            WAD / 3,
            WAD / 2,
            WAD - 1,
            WAD + 1,
            3 * WAD / 2,
            2 * WAD,
            12_345 * WAD + 678,
            WAD * 1_000_000_000,
        ] {
            let got = pow_wad(x, WAD).unwrap();
            assert!(got.abs_diff(x) <= 1 + x / 10u128.pow(16), "{x}^1 = {got}");
        }
        // Exact powers of two and simple roots.
        assert_eq!(pow_wad(2 * WAD, 3 * WAD), Ok(8 * WAD));
        assert_eq!(pow_wad(4 * WAD, WAD / 2).unwrap().abs_diff(2 * WAD), 0);
        assert_eq!(pow_wad(WAD / 2, 2 * WAD), Ok(WAD / 4));
        // Overflow and underflow.
        assert_eq!(pow_wad(10u128.pow(27), 8 * WAD), Err(EconError::Overflow));
        assert_eq!(pow_wad(u128::MAX, u128::MAX), Err(EconError::Overflow));
        assert_eq!(pow_wad(2 * WAD, 200 * WAD), Err(EconError::Overflow));
        assert_eq!(pow_wad(1, 8 * WAD), Ok(0));
        assert_eq!(pow_wad(WAD / 2, u128::MAX), Ok(0));
        assert_eq!(pow_wad(WAD - 1, u128::MAX), Ok(0));
        // The largest power that fits: 2^68 (in WAD, 2^68 · 10^18 < 2^128).
        assert!(pow_wad(2 * WAD, 68 * WAD).is_ok());
        assert_eq!(pow_wad(2 * WAD, 69 * WAD), Err(EconError::Overflow));
    }

    /// Against values computed to 60 digits (Python's decimal): the error is a few units of
    /// 10^-18 relative, far below f64's own resolution, which the other tests are limited by.
    #[test]
    fn pow_matches_high_precision_values() {
        for (x, y, exact) in [
            (2 * WAD, WAD / 2, 1_414_213_562_373_095_048u128),
            (10 * WAD, 3 * WAD / 2, 31_622_776_601_683_793_319),
            (
                105 * WAD / 100,
                114_155_251_141_552,
                1_000_005_569_668_954_547,
            ), // 1.05^(1/8760)
            (WAD / 2, 3 * WAD / 2, 353_553_390_593_273_762),
            (
                725 * WAD / 100,
                7_125 * WAD / 1000,
                1_348_678_073_242_189_002_695_626,
            ),
            (1_000_000_000, 3 * WAD / 10, 1_995_262_314_968_879),
            (10u128.pow(27), 2 * WAD, 10u128.pow(36)),
            (123_456_789, 8 * WAD, 0),
            (WAD - 1, 8 * WAD, 999_999_999_999_999_992),
            (WAD + 1, 8 * WAD, 1_000_000_000_000_000_008),
        ] {
            let got = pow_wad(x, y).unwrap();
            let tolerance = exact / 10u128.pow(17) + 2;
            assert!(
                got.abs_diff(exact) <= tolerance,
                "{x}^{y}: {got} vs {exact}"
            );
        }
    }

    /// x^y against f64 on a grid spanning the promised domain.
    #[test]
    fn pow_matches_f64_on_a_grid() {
        let mut worst = 0f64;
        for xe in -9i32..=9 {
            for xm in [1.0, 1.5, 2.0, 3.7, 7.25] {
                let xf = xm * 10f64.powi(xe);
                let x = (xf * 1e18) as u128;
                for y in (0..=64).map(|i| i as u128 * WAD / 8) {
                    let (rel, _) = compare(x, y);
                    worst = worst.max(rel);
                }
            }
        }
        eprintln!("pow_wad worst relative error on the grid: {worst:e}");
    }

    /// Relative error of pow_wad(x, y) against f64, asserting the documented bound: 1e-12
    /// relative, or 2 units of 10^-18 where the result is that small. Returns the error.
    fn compare(x: u128, y: u128) -> (f64, Option<u128>) {
        let xf = x as f64 / 1e18;
        let yf = y as f64 / 1e18;
        let exact = xf.powf(yf) * 1e18;
        match pow_wad(x, y) {
            Ok(got) => {
                let diff = (got as f64 - exact).abs();
                assert!(
                    diff <= exact * 1e-12 + 2.0,
                    "{x}^{y}: {got} vs {exact} ({:e})",
                    diff / exact
                );
                // Measured where the last unit's floor is negligible (results of at least 0.01).
                (if exact >= 1e16 { diff / exact } else { 0.0 }, Some(got))
            }
            Err(EconError::Overflow) => {
                assert!(
                    exact > u128::MAX as f64 * (1.0 - 1e-12),
                    "{x}^{y}: overflow"
                );
                (0.0, None)
            }
            Err(e) => panic!("{x}^{y}: {e}"),
        }
    }

    fn in_domain() -> impl Strategy<Value = u128> {
        // 10^-9 to 10^9 in WAD, log-uniform-ish: a mantissa and a power of ten.
        (1u128..10_000_000, 0u32..=18).prop_map(|(m, e)| m * 10u128.pow(e) * 100)
    }

    proptest! {
        #[test]
        fn pow_within_1e_12_of_f64(x in in_domain(), y in 0u128..=8 * WAD) {
            compare(x, y);
        }

        #[test]
        fn pow_is_monotone_in_x(x in in_domain(), dx in 0u128..1_000_000, y in 0u128..=8 * WAD) {
            // Neighbours (where rounding would show) and far apart.
            for x2 in [x + dx, x + 1, x * 2] {
                match (pow_wad(x, y), pow_wad(x2, y)) {
                    (Ok(a), Ok(b)) => prop_assert!(a <= b, "{x}^{y} = {a} > {x2}^{y} = {b}"),
                    (Ok(_), Err(EconError::Overflow)) | (Err(EconError::Overflow), Err(EconError::Overflow)) => {}
                    other => prop_assert!(false, "{other:?}"),
                }
            }
        }

        #[test]
        fn pow_is_monotone_in_y(x in in_domain(), y in 0u128..=8 * WAD, dy in 0u128..1000) {
            match (pow_wad(x, y), pow_wad(x, y + dy)) {
                (Ok(a), Ok(b)) if x >= WAD => prop_assert!(a <= b),
                (Ok(a), Ok(b)) => prop_assert!(a >= b),
                (Ok(_), Err(EconError::Overflow)) | (Err(EconError::Overflow), Err(EconError::Overflow)) => {}
                other => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn pow_never_panics(x in any::<u128>(), y in any::<u128>()) {
            let _ = pow_wad(x, y);
        }

        #[test]
        fn mul_div_matches_u128_where_it_fits(a in any::<u64>(), b in any::<u64>(), d in 1u128..) {
            let exact = u128::from(a) * u128::from(b);
            prop_assert_eq!(mul_div(u128::from(a), u128::from(b), d), Ok(exact / d));
        }

        /// Big operands: check q·d + r = a·b through the 256-bit product itself, and r < d.
        #[test]
        fn mul_div_big(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
            match mul_div_rem(a, b, d) {
                Ok((q, r)) => {
                    prop_assert!(r < d);
                    let (qh, ql) = wide_mul(q, d);
                    let (sum_lo, carry) = ql.overflowing_add(r);
                    prop_assert_eq!((qh + u128::from(carry), sum_lo), wide_mul(a, b));
                }
                Err(EconError::Overflow) => {
                    let (hi, _) = wide_mul(a, b);
                    prop_assert!(hi >= d);
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        /// The base-2^64 division gives what the bit-by-bit one did, across divisor sizes (one
        /// and two digits, every normalising shift) and dividends up to the largest allowed.
        #[test]
        fn div_wide_matches_bitwise(d in 1u128.., shift in 0u32..128, hi_seed in any::<u128>(), lo in any::<u128>()) {
            let d = (d >> shift).max(1);
            for hi in [hi_seed % d, d - 1, 0] {
                prop_assert_eq!(div_wide(hi, lo, d), div_bitwise(hi, lo, d));
            }
        }

        #[test]
        fn div_narrow_matches(n in any::<u128>(), e in 1u128..=u128::from(u64::MAX), z in 0u32..64) {
            let d = (e << z).max(1);
            prop_assert_eq!(div_narrow(n, d), (n / d, n % d));
        }

        /// Factors of a common scale cancel exactly: (a·k)(b)/(d·k) = ab/d.
        #[test]
        fn mul_div_scales(a in any::<u64>(), b in any::<u64>(), d in 1u64.., k in 1u64..) {
            let (a, b, d, k) = (u128::from(a), u128::from(b), u128::from(d), u128::from(k));
            prop_assert_eq!(mul_div(a * k, b, d * k), Ok(a * b / d));
        }
    }
}
