//! Keccak-256 of many short messages of one length at once, for the earnings tree: an epoch close
//! hashes three times per account (two for its leaf, one for an inner node).
//!
//! Where the CPU has AVX-512, eight messages go through one Keccak-f[1600] permutation side by side,
//! one message per 64-bit element of each of the state's 25 vector registers: the same
//! permutation, bit for bit, as [`crate::keccak256`] computes one message at a time (the tests
//! compare them). Elsewhere, and for the last few messages, it is [`crate::keccak256`] itself.

use crate::eip712::keccak256;

/// Fewest messages worth a thread of their own (a thread costs tens of microseconds to start, about
/// a hundred hashes).
const PER_THREAD: usize = 8192;

/// [`keccak256_each`], split over the CPU's threads (at most 4) when there are many messages: each
/// hash is independent of the others, so the result is the same however they are split.
pub(crate) fn keccak256_each_par<const N: usize>(inputs: &[[u8; N]], out: &mut [[u8; 32]]) {
    assert_eq!(inputs.len(), out.len(), "one hash per input");
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(inputs.len() / PER_THREAD);
    if threads <= 1 {
        return keccak256_each(inputs, out);
    }
    // Whole groups of 8 per thread.
    let chunk = inputs.len().div_ceil(threads).next_multiple_of(8);
    std::thread::scope(|s| {
        let mut ins = inputs.chunks(chunk);
        let mut outs = out.chunks_mut(chunk);
        let first = ins.next().zip(outs.next());
        for (i, o) in ins.zip(outs) {
            s.spawn(move || keccak256_each(i, o));
        }
        if let Some((i, o)) = first {
            keccak256_each(i, o);
        }
    });
}

/// Keccak-256 of each of `inputs` into the same place of `out` (as long as `inputs`). `N` is at most
/// 135 bytes, so each message pads into one 136-byte block, and a multiple of 8, so it fills whole
/// 64-bit lanes.
pub(crate) fn keccak256_each<const N: usize>(inputs: &[[u8; N]], out: &mut [[u8; 32]]) {
    const { assert!(N < 136 && N.is_multiple_of(8), "one block of whole lanes") };
    assert_eq!(inputs.len(), out.len(), "one hash per input");
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        for (ins, outs) in inputs.chunks_exact(8).zip(out.chunks_exact_mut(8)) {
            let ins: &[[u8; N]; 8] = ins.try_into().expect("chunks of 8");
            // SAFETY: the CPU has AVX-512F (detected just above), the one feature the function
            // enables.
            let hashes = unsafe { x86::keccak256_x8(ins) };
            outs.copy_from_slice(&hashes);
        }
        done = inputs.len() / 8 * 8;
    }
    for (input, hash) in inputs[done..].iter().zip(&mut out[done..]) {
        *hash = keccak256(input);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m512i, _mm256_extract_epi64, _mm512_castsi512_si256, _mm512_extracti64x4_epi64,
        _mm512_rolv_epi64, _mm512_set_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
        _mm512_ternarylogic_epi64, _mm512_xor_si512,
    };

    /// The round constants of Keccak-f[1600] (FIPS 202, ι).
    const RC: [u64; 24] = [
        0x0000_0000_0000_0001,
        0x0000_0000_0000_8082,
        0x8000_0000_0000_808a,
        0x8000_0000_8000_8000,
        0x0000_0000_0000_808b,
        0x0000_0000_8000_0001,
        0x8000_0000_8000_8081,
        0x8000_0000_0000_8009,
        0x0000_0000_0000_008a,
        0x0000_0000_0000_0088,
        0x0000_0000_8000_8009,
        0x0000_0000_8000_000a,
        0x0000_0000_8000_808b,
        0x8000_0000_0000_008b,
        0x8000_0000_0000_8089,
        0x8000_0000_0000_8003,
        0x8000_0000_0000_8002,
        0x8000_0000_0000_0080,
        0x0000_0000_0000_800a,
        0x8000_0000_8000_000a,
        0x8000_0000_8000_8081,
        0x8000_0000_0000_8080,
        0x0000_0000_8000_0001,
        0x8000_0000_8000_8008,
    ];

    /// The rotation of lane (x, y), at index x + 5y (FIPS 202, ρ).
    const RHO: [i64; 25] = [
        0, 1, 62, 28, 27, //
        36, 44, 6, 55, 20, //
        3, 10, 43, 25, 39, //
        41, 45, 15, 21, 8, //
        18, 2, 61, 56, 14,
    ];

    /// `a ^ b ^ c`, as `_mm512_ternarylogic_epi64`'s truth table (a = 0xf0, b = 0xcc, c = 0xaa).
    const XOR3: i32 = 0x96;
    /// `a ^ (!b & c)`, the χ step.
    const CHI: i32 = 0xd2;

    /// Keccak-256 of eight messages of `N` bytes (`N < 136`, a multiple of 8).
    #[target_feature(enable = "avx512f")]
    pub(super) fn keccak256_x8<const N: usize>(inputs: &[[u8; N]; 8]) -> [[u8; 32]; 8] {
        let mut a = [_mm512_setzero_si512(); 25];
        for (j, lane) in a.iter_mut().enumerate().take(N / 8) {
            let word = |k: usize| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&inputs[k][8 * j..8 * j + 8]);
                i64::from_le_bytes(w)
            };
            *lane = _mm512_set_epi64(
                word(7),
                word(6),
                word(5),
                word(4),
                word(3),
                word(2),
                word(1),
                word(0),
            );
        }
        // Keccak's padding (pad10*1 with the domain bit 0x01 of the original Keccak): 0x01 after
        // the message, 0x80 in the block's last byte (byte 135, the top of lane 16).
        a[N / 8] = _mm512_xor_si512(a[N / 8], _mm512_set1_epi64(0x01));
        a[16] = _mm512_xor_si512(a[16], _mm512_set1_epi64(i64::MIN));
        keccak_f(&mut a);
        let mut out = [[0u8; 32]; 8];
        for (j, lane) in a.iter().take(4).enumerate() {
            for (k, word) in words(*lane).into_iter().enumerate() {
                out[k][8 * j..8 * j + 8].copy_from_slice(&word.to_le_bytes());
            }
        }
        out
    }

    /// The eight 64-bit elements of `v`, the first first.
    #[target_feature(enable = "avx512f")]
    fn words(v: __m512i) -> [u64; 8] {
        let lo = _mm512_castsi512_si256(v);
        let hi = _mm512_extracti64x4_epi64::<1>(v);
        [
            _mm256_extract_epi64::<0>(lo),
            _mm256_extract_epi64::<1>(lo),
            _mm256_extract_epi64::<2>(lo),
            _mm256_extract_epi64::<3>(lo),
            _mm256_extract_epi64::<0>(hi),
            _mm256_extract_epi64::<1>(hi),
            _mm256_extract_epi64::<2>(hi),
            _mm256_extract_epi64::<3>(hi),
        ]
        .map(|w| w as u64)
    }

    /// Keccak-f[1600] on eight states at once, lane (x, y) of each at index x + 5y.
    #[target_feature(enable = "avx512f")]
    fn keccak_f(a: &mut [__m512i; 25]) {
        for rc in RC {
            // θ: each lane takes the parities of two neighbouring columns.
            let mut c = [_mm512_setzero_si512(); 5];
            for (x, c) in c.iter_mut().enumerate() {
                let three = _mm512_ternarylogic_epi64::<XOR3>(a[x], a[x + 5], a[x + 10]);
                *c = _mm512_ternarylogic_epi64::<XOR3>(three, a[x + 15], a[x + 20]);
            }
            for x in 0..5 {
                let d = _mm512_xor_si512(
                    c[(x + 4) % 5],
                    _mm512_rolv_epi64(c[(x + 1) % 5], _mm512_set1_epi64(1)),
                );
                for y in 0..5 {
                    a[x + 5 * y] = _mm512_xor_si512(a[x + 5 * y], d);
                }
            }
            // ρ and π: lane (x, y), rotated, moves to (y, 2x + 3y).
            let mut b = [_mm512_setzero_si512(); 25];
            for x in 0..5 {
                for y in 0..5 {
                    b[y + 5 * ((2 * x + 3 * y) % 5)] =
                        _mm512_rolv_epi64(a[x + 5 * y], _mm512_set1_epi64(RHO[x + 5 * y]));
                }
            }
            // χ, then ι.
            for y in 0..5 {
                for x in 0..5 {
                    a[x + 5 * y] = _mm512_ternarylogic_epi64::<CHI>(
                        b[x + 5 * y],
                        b[(x + 1) % 5 + 5 * y],
                        b[(x + 2) % 5 + 5 * y],
                    );
                }
            }
            a[0] = _mm512_xor_si512(a[0], _mm512_set1_epi64(rc as i64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check<const N: usize>(inputs: &[[u8; N]]) {
        let mut out = vec![[0u8; 32]; inputs.len()];
        keccak256_each(inputs, &mut out);
        for (input, hash) in inputs.iter().zip(&out) {
            assert_eq!(*hash, keccak256(input));
        }
    }

    /// Split over threads: the same hashes in the same places.
    #[test]
    fn in_parallel_too() {
        let inputs: Vec<[u8; 64]> = (0..(3 * PER_THREAD + 13) as u32)
            .map(|i| {
                let mut m = [0u8; 64];
                m[..4].copy_from_slice(&i.to_le_bytes());
                m
            })
            .collect();
        let mut one = vec![[0u8; 32]; inputs.len()];
        let mut many = vec![[0u8; 32]; inputs.len()];
        keccak256_each(&inputs, &mut one);
        keccak256_each_par(&inputs, &mut many);
        assert_eq!(one, many);
        assert_eq!(one[inputs.len() - 1], keccak256(&inputs[inputs.len() - 1]));
    }

    #[test]
    fn known_values() {
        // keccak256 of 32 and 64 zero bytes.
        let mut out = [[0u8; 32]; 9];
        keccak256_each(&[[0u8; 32]; 9], &mut out);
        let zero32 = "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563";
        assert!(out.iter().all(|h| hex::encode(h) == zero32));
        keccak256_each(&[[0u8; 64]; 9], &mut out);
        let zero64 = "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5";
        assert!(out.iter().all(|h| hex::encode(h) == zero64));
    }

    proptest! {
        /// Every length the tree uses and the extremes, any count (whole groups of 8 and a rest).
        #[test]
        fn equals_one_at_a_time(
            bytes in proptest::collection::vec(any::<u8>(), 0..(136 * 20)),
        ) {
            fn split<const N: usize>(bytes: &[u8]) -> Vec<[u8; N]> {
                bytes.chunks_exact(N).map(|c| c.try_into().unwrap()).collect()
            }
            check::<8>(&split(&bytes));
            check::<32>(&split(&bytes));
            check::<64>(&split(&bytes));
            check::<128>(&split(&bytes));
        }
    }
}
