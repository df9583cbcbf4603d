//! The cumulative Merkle distributor tree: each account's cumulative earnings as one leaf, the root
//! published per close, and a proof per account that a distributor contract checks with
//! OpenZeppelin's `MerkleProof.verify` before paying out the difference to what it already paid.
//!
//! Byte-compatible with OpenZeppelin's `@openzeppelin/merkle-tree`
//! `StandardMerkleTree.of(values, ["address", "uint256"])` (default options):
//! - leaf = `keccak256(bytes.concat(keccak256(abi.encode(account, amount))))`, the double hash that
//!   keeps a 64-byte internal node from passing for a leaf;
//! - internal node = `keccak256` of its two children, the smaller 32-byte hash first;
//! - layout of OZ's `makeMerkleTree`: the leaves sorted by hash, laid in reverse order at the end of
//!   an array of `2n − 1` nodes, each node `i` the parent of `2i + 1` and `2i + 2`, the root at 0.
//!
//! So the root equals OZ's for the same values (in any order), and each proof equals OZ's `getProof`.

use std::cmp::Ordering;

use crate::address::Address;
use crate::eip712::{keccak256, word_address};
use crate::keccak_many::keccak256_each_par;

/// An account's leaf: `keccak256(keccak256(abi.encode(account, amount)))`, the amount a big-endian
/// `uint256`.
pub fn leaf(account: &Address, amount: u128) -> [u8; 32] {
    keccak256(&keccak256(&encode(account, amount)))
}

/// `abi.encode(account, amount)`.
fn encode(account: &Address, amount: u128) -> [u8; 64] {
    let mut encoded = [0u8; 64];
    encoded[..32].copy_from_slice(&word_address(account));
    encoded[48..].copy_from_slice(&amount.to_be_bytes());
    encoded
}

/// The sorted pair, as `hash_pair` hashes it.
fn pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 64] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo);
    buf[32..].copy_from_slice(hi);
    buf
}

/// OZ's `standardNodeHash` and `MerkleProof`'s `_hashPair`: the sorted pair, hashed.
fn hash_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    keccak256(&pair(a, b))
}

/// Byte order of two hashes (as `[u8; 32]` compares), by two 128-bit big-endian halves: cheaper
/// than the byte comparison when sorting many leaves.
fn hash_order(a: &[u8; 32], b: &[u8; 32]) -> Ordering {
    let halves = |h: &[u8; 32]| {
        let [x @ .., _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _] = *h;
        let [_, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, y @ ..] = *h;
        (u128::from_be_bytes(x), u128::from_be_bytes(y))
    };
    halves(a).cmp(&halves(b))
}

/// One close's tree over `(account, cumulative amount)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarningsTree {
    /// OZ's node array: `2n − 1` hashes, the root first, the leaves last; empty for no values.
    nodes: Vec<[u8; 32]>,
    /// Each account's leaf as an index into `nodes`, sorted by account.
    index: Vec<(Address, usize)>,
}

impl EarningsTree {
    /// Builds from (account, cumulative amount) pairs; accounts unique (caller guarantees; debug_assert).
    pub fn build(values: &[(Address, u128)]) -> EarningsTree {
        // The leaves, `leaf` for each value: all first hashes, then all second ones, so that
        // `keccak256_each` hashes many at once.
        let encoded: Vec<[u8; 64]> = values.iter().map(|(a, v)| encode(a, *v)).collect();
        let mut inner = vec![[0u8; 32]; values.len()];
        keccak256_each_par(&encoded, &mut inner);
        drop(encoded);
        let mut hashes = vec![[0u8; 32]; values.len()];
        keccak256_each_par(&inner, &mut hashes);
        drop(inner);
        let mut leaves: Vec<([u8; 32], usize)> = hashes.into_iter().zip(0..).collect();
        // OZ's `sortLeaves: true`; stable like JavaScript's sort, though unique accounts never tie
        // (equal hashes keep the values' order: the position breaks ties).
        leaves.sort_unstable_by(|(a, i), (b, j)| hash_order(a, b).then(i.cmp(j)));
        let n = leaves.len();
        let len = (2 * n).saturating_sub(1);
        let mut nodes = vec![[0u8; 32]; len];
        // Each value's leaf, in the values' order (which is the accounts' order when they come
        // sorted, as from a map: then the sort below has nothing to do).
        let mut index: Vec<(Address, usize)> = values.iter().map(|(a, _)| (*a, 0)).collect();
        for (i, (hash, at)) in leaves.into_iter().enumerate() {
            nodes[len - 1 - i] = hash;
            index[at].1 = len - 1 - i;
        }
        // Inner node i is `hash_pair` of nodes 2i + 1 and 2i + 2, all above it. Nodes `from..to`
        // with from ≥ to / 2 have all their children at `to` or above: hashed already, so the range
        // is hashed at once, from the last inner node (len − n − 1) up to the root.
        let mut pairs: Vec<[u8; 64]> = Vec::with_capacity(n / 2 + 1);
        let mut to = len - n;
        while to > 0 {
            let from = to / 2;
            pairs.clear();
            pairs.extend((from..to).map(|i| pair(&nodes[2 * i + 1], &nodes[2 * i + 2])));
            keccak256_each_par(&pairs, &mut nodes[from..to]);
            to = from;
        }
        if !index.is_sorted_by_key(|&(account, _)| account) {
            index.sort_unstable_by_key(|&(account, _)| account);
        }
        debug_assert!(
            index.windows(2).all(|w| w[0].0 != w[1].0),
            "EarningsTree::build: duplicate account"
        );
        EarningsTree { nodes, index }
    }

    /// The root; for zero values, [0u8; 32].
    pub fn root(&self) -> [u8; 32] {
        self.nodes.first().copied().unwrap_or([0u8; 32])
    }

    /// The proof for an account, or None if it has no leaf.
    pub fn proof(&self, account: &Address) -> Option<Vec<[u8; 32]>> {
        let at = self.index.binary_search_by_key(account, |&(a, _)| a).ok()?;
        let mut i = self.index[at].1;
        let mut proof = Vec::new();
        while i > 0 {
            let sibling = if i % 2 == 1 { i + 1 } else { i - 1 };
            proof.push(self.nodes[sibling]);
            i = (i - 1) / 2;
        }
        Some(proof)
    }
}

/// MerkleProof.verify: fold the proof with sorted-pair hashing from the leaf; equal to root?
pub fn verify(root: &[u8; 32], leaf: &[u8; 32], proof: &[[u8; 32]]) -> bool {
    proof.iter().fold(*leaf, |acc, p| hash_pair(&acc, p)) == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hexser::parse_hash;
    use proptest::prelude::*;

    /// The seven values of the vectors below, in the order they were given to OZ.
    const VALUES: [(&str, u128); 7] = [
        (
            "0x1111111111111111111111111111111111111111",
            1_000_000_000_000_000_000,
        ),
        ("0x2222222222222222222222222222222222222222", 1 << 64),
        ("0x3333333333333333333333333333333333333333", 0),
        ("0x4444444444444444444444444444444444444444", u128::MAX),
        ("0x5555555555555555555555555555555555555555", 1),
        (
            "0x6666666666666666666666666666666666666666",
            1_000_000_000_000_000_000_000_007,
        ),
        ("0x7777777777777777777777777777777777777777", 123_456_789),
    ];

    fn values(n: usize) -> Vec<(Address, u128)> {
        VALUES[..n]
            .iter()
            .map(|(a, amount)| (a.parse().unwrap(), *amount))
            .collect()
    }

    fn h(text: &str) -> [u8; 32] {
        parse_hash(text).unwrap()
    }

    // The vectors were produced by the reference library itself, @openzeppelin/merkle-tree 1.0.8
    // (npm, run under Node 20.20.2), with this script; `values` are `VALUES[..n]` above:
    //
    //   const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
    //   const { standardLeafHash } = require("@openzeppelin/merkle-tree/dist/hashes");
    //   const all = [
    //     ["0x1111111111111111111111111111111111111111", "1000000000000000000"],
    //     ["0x2222222222222222222222222222222222222222", "18446744073709551616"],
    //     ["0x3333333333333333333333333333333333333333", "0"],
    //     ["0x4444444444444444444444444444444444444444", "340282366920938463463374607431768211455"],
    //     ["0x5555555555555555555555555555555555555555", "1"],
    //     ["0x6666666666666666666666666666666666666666", "1000000000000000000000007"],
    //     ["0x7777777777777777777777777777777777777777", "123456789"],
    //   ];
    //   for (const v of all) console.log(`leaf ${v[0]} ${v[1]} ${standardLeafHash(["address", "uint256"], v)}`);
    //   for (const n of [1, 2, 3, 7]) {
    //     const values = all.slice(0, n);
    //     const tree = StandardMerkleTree.of(values, ["address", "uint256"]);
    //     console.log(`n=${n} root=${tree.root}`);
    //     for (const [i, v] of tree.entries()) {
    //       console.log(`  ${v[0]} ${v[1]} proof=${JSON.stringify(tree.getProof(i))}`);
    //     }
    //   }

    const LEAF_1: &str = "0xb38ec842db1cd54e5e5ce48491f1a404551e9726ebda349d0478e189e0996dd4";
    const LEAF_2: &str = "0xd2b32a5486f7cf0a412205d6fc3e07d2ba562586ff916c7572d46a1d03c7f6f7";
    const LEAF_3: &str = "0xdd05ddd79adc5569806124d3c5d8151b75bc81032a0ea21d4cd74fd964947bf5";
    const LEAF_4: &str = "0x59ed74aaebfd5b34b64517acbc199c775b4cde727d832589fa1b6392507c8d44";
    const LEAF_5: &str = "0x93295d0cc4b1f2338236c6d8909f0ee632bd0e2a8a1c4237539f42cf6d8e42c8";
    const LEAF_6: &str = "0x2d38d79cc6e89e250886bd13b715496912409133fe5155b91876673fe05e4284";
    const LEAF_7: &str = "0x25f8c03f545add5e72bf0788e7b1699e9690ce94685b77535491370313856dae";
    const ROOT_2: &str = "0xa1f5c6325e3d608d8a64e7d7f8f8b636b9b615c9a2ab053040b32924e9c2c322";
    const ROOT_3: &str = "0x864d69da43a6e26f116b175eed68771a32dd233fa73181c223b94f9a0a53434e";
    const ROOT_7: &str = "0x794e81a0f6f678428f4a65aacc2c25acb766cb3f748bf04e0e326bc1d1f78d31";
    // Internal nodes of the 7-value tree, as they appear in OZ's proofs.
    const NODE_7A: &str = "0x7f6bce12aa3c687415e2eaa91ac67e363fb73cbbcf73b14d4389a34afa2c8798";
    const NODE_7B: &str = "0xf20a8978cf4cf65bd312e14e3045575f911248aea00372fbb1b2ef28c7b3437f";
    const NODE_7C: &str = "0x2e5222d0812040c2170d8a0c9cb3c2e1d68b916fe596a391c3cf12156fff2dc8";
    const NODE_7D: &str = "0x2cadbab654d8c3c40128711df348bb21cf506dd34a3ee59d2991ad0011d51833";

    /// Checks a tree of `VALUES[..n]` against OZ's root and OZ's proof of every value (`proofs[k]`
    /// for `VALUES[k]`), and that each proof verifies.
    fn check(n: usize, root: &str, proofs: &[&[&str]]) {
        let values = values(n);
        let tree = EarningsTree::build(&values);
        assert_eq!(tree.root(), h(root), "root of {n}");
        for ((account, amount), expected) in values.iter().zip(proofs) {
            let proof = tree.proof(account).unwrap();
            let expected: Vec<[u8; 32]> = expected.iter().map(|p| h(p)).collect();
            assert_eq!(proof, expected, "proof of {account} in {n}");
            assert!(verify(&tree.root(), &leaf(account, *amount), &proof));
        }
    }

    #[test]
    fn leaves_match_openzeppelin() {
        let expected = [LEAF_1, LEAF_2, LEAF_3, LEAF_4, LEAF_5, LEAF_6, LEAF_7];
        for ((account, amount), hash) in values(7).iter().zip(expected) {
            assert_eq!(leaf(account, *amount), h(hash), "{account} {amount}");
        }
    }

    #[test]
    fn one_value_matches_openzeppelin() {
        check(1, LEAF_1, &[&[]]);
    }

    #[test]
    fn two_values_match_openzeppelin() {
        check(2, ROOT_2, &[&[LEAF_2], &[LEAF_1]]);
    }

    #[test]
    fn three_values_match_openzeppelin() {
        check(
            3,
            ROOT_3,
            &[&[LEAF_2, LEAF_3], &[LEAF_1, LEAF_3], &[ROOT_2]],
        );
    }

    #[test]
    fn seven_values_match_openzeppelin() {
        check(
            7,
            ROOT_7,
            &[
                &[LEAF_2, NODE_7A, NODE_7B],
                &[LEAF_1, NODE_7A, NODE_7B],
                &[NODE_7C, NODE_7D],
                &[LEAF_5, ROOT_2, NODE_7B],
                &[LEAF_4, ROOT_2, NODE_7B],
                &[LEAF_7, LEAF_3, NODE_7D],
                &[LEAF_6, LEAF_3, NODE_7D],
            ],
        );
    }

    #[test]
    fn empty_tree_and_strangers() {
        let empty = EarningsTree::build(&[]);
        assert_eq!(empty.root(), [0u8; 32]);
        assert_eq!(empty.proof(&Address::ZERO), None);
        let tree = EarningsTree::build(&values(3));
        assert_eq!(tree.proof(&Address([0x44; 20])), None);
        assert!(!verify(&tree.root(), &h(LEAF_4), &[]));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "duplicate account")]
    fn duplicate_accounts_are_refused_in_debug() {
        let a = Address([1; 20]);
        EarningsTree::build(&[(a, 1), (a, 2)]);
    }

    fn distinct_values() -> impl Strategy<Value = Vec<(Address, u128)>> {
        proptest::collection::btree_map(any::<[u8; 20]>(), any::<u128>(), 1..40)
            .prop_map(|m| m.into_iter().map(|(a, v)| (Address(a), v)).collect())
    }

    proptest! {
        #[test]
        fn every_proof_verifies(values in distinct_values()) {
            let tree = EarningsTree::build(&values);
            let root = tree.root();
            for (account, amount) in &values {
                let proof = tree.proof(account).unwrap();
                // A leaf sits at depth ⌊log2(2n − 1 − index)⌋: never deeper than ⌈log2 n⌉.
                prop_assert!(proof.len() <= (values.len() as f64).log2().ceil() as usize);
                prop_assert!(verify(&root, &leaf(account, *amount), &proof));
            }
        }

        #[test]
        fn root_ignores_input_order(values in distinct_values(), seed in any::<u64>()) {
            let mut shuffled = values.clone();
            let len = shuffled.len();
            shuffled.rotate_left(seed as usize % len);
            if seed % 2 == 1 {
                shuffled.reverse();
            }
            let a = EarningsTree::build(&values);
            let b = EarningsTree::build(&shuffled);
            prop_assert_eq!(a.root(), b.root());
            for (account, _) in &values {
                prop_assert_eq!(a.proof(account), b.proof(account));
            }
        }

        #[test]
        fn tampering_fails(
            values in distinct_values(),
            pick in any::<prop::sample::Index>(),
            delta in 1..=u128::MAX,
            byte in 0..32usize,
            bit in 0..8u32,
            element in any::<prop::sample::Index>(),
        ) {
            let tree = EarningsTree::build(&values);
            let root = tree.root();
            let (account, amount) = values[pick.index(values.len())];
            let proof = tree.proof(&account).unwrap();
            let good = leaf(&account, amount);
            prop_assert!(verify(&root, &good, &proof));

            // A changed amount.
            prop_assert!(!verify(&root, &leaf(&account, amount ^ delta), &proof));
            // A changed proof element.
            if !proof.is_empty() {
                let mut bad = proof.clone();
                bad[element.index(proof.len())][byte] ^= 1 << bit;
                prop_assert!(!verify(&root, &good, &bad));
            }
            // A wrong root.
            let mut wrong = root;
            wrong[byte] ^= 1 << bit;
            prop_assert!(!verify(&wrong, &good, &proof));
        }
    }
}
