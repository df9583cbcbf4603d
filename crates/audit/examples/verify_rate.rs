//! How many audit answers the hub can check per second, on one core: a v2 answer (the node's
//! signature recovered, the 16 KiB block hashed up its proof to the file's pieces root) and a v1
//! answer (signature, then the SHA-1 of a whole piece). Printed beside the raw cost of its parts,
//! so a change in either shows.
//!
//! `cargo run --release -p audit --example verify_rate [answers]` — medians of 5 runs.

use std::time::Instant;

use audit::{Answer, Challenge, Target, answer_message};
use metainfo::merkle::{block_hashes, file_root, prove_block};
use token::{Address, Domain, SecretKey};

const BLOCK: usize = 16 * 1024;
const V1_PIECE: usize = 256 * 1024;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000);
    let mut rng = Rng(0x5eed_5eed);
    let key = SecretKey::from_bytes(&[0x42; 32]).expect("valid key");
    let domain = Domain {
        name: "bench".into(),
        version: "1".into(),
        chain_id: 31337,
        verifying_contract: Address([0xcc; 20]),
    };
    // A 64 MiB file: proofs of 12 hashes, as for a large dataset file.
    let data = rng.bytes(64 << 20);
    let hashes = block_hashes(&data);
    let root = file_root(&hashes);
    let answers: Vec<(Challenge, Target, Answer, token::Signature)> = (0..n)
        .map(|i| {
            let index = (rng.next() % hashes.len() as u64) as u32;
            let start = index as usize * BLOCK;
            let challenge = Challenge {
                torrent: [1; 32],
                piece: index,
                block: 0,
            };
            let answer = Answer::Block {
                data: data[start..start + BLOCK].to_vec(),
                proof: prove_block(&hashes, index).uncles,
            };
            let sig =
                key.sign_digest(&domain.digest(&answer_message(i as u64, &challenge, &answer)));
            let target = Target::V2 {
                pieces_root: root,
                file_length: data.len() as u64,
                file_block_index: index,
            };
            (challenge, target, answer, sig)
        })
        .collect();
    let v1_piece = data[..V1_PIECE].to_vec();
    let v1_target = Target::V1 {
        piece_sha1: metainfo::hash::sha1(&v1_piece),
        piece_length: V1_PIECE as u32,
    };
    let v1_answer = Answer::Piece { data: v1_piece };

    let rate = |f: &dyn Fn() -> usize| {
        median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let done = f();
                    done as f64 / t.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let signer = key.address();
    let full_v2 = rate(&|| {
        let mut ok = 0;
        for (i, (c, t, a, sig)) in answers.iter().enumerate() {
            let digest = domain.digest(&answer_message(i as u64, c, a));
            if sig.recover(&digest) == Ok(signer) && t.check(a).is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, answers.len());
        ok
    });
    let proofs_only = rate(&|| {
        answers
            .iter()
            .filter(|(_, t, a, _)| t.check(a).is_ok())
            .count()
    });
    let sigs_only = rate(&|| {
        answers
            .iter()
            .enumerate()
            .filter(|(i, (c, _, a, sig))| {
                sig.recover(&domain.digest(&answer_message(*i as u64, c, a))) == Ok(signer)
            })
            .count()
    });
    let v1_rounds = n / 16;
    let full_v1 = rate(&|| {
        let (c, _, _, _) = &answers[0];
        let sig = key.sign_digest(&domain.digest(&answer_message(0, c, &v1_answer)));
        (0..v1_rounds)
            .filter(|_| {
                sig.recover(&domain.digest(&answer_message(0, c, &v1_answer))) == Ok(signer)
                    && v1_target.check(&v1_answer).is_ok()
            })
            .count()
    });
    println!("audit answers checked per second, one core, median of 5 runs ({n} answers):");
    println!("  v2 block (16 KiB + 12-hash proof + signature): {full_v2:>9.0}/s");
    println!("    of which Merkle proof alone:                 {proofs_only:>9.0}/s");
    println!("    of which signature recovery alone:           {sigs_only:>9.0}/s");
    println!("  v1 piece (256 KiB SHA-1 + signature):          {full_v1:>9.0}/s");
    println!(
        "  at 44 samples per node per epoch, one core checks the v2 audits of {:.0} nodes per \
         second",
        full_v2 / 44.0
    );
}
