//! `token::distributor::EarningsTree` against the reference implementation: the vectors that
//! `node contracts/merkle-vectors.mjs` prints from `@openzeppelin/merkle-tree`'s
//! `StandardMerkleTree.of(values, ["address", "uint256"])` (1, 2, 3 and 7 values, with amounts 0 and
//! 2^128 − 1, and 100 seeded random ones), root and every proof byte for byte. The distributor
//! contract verifies these proofs with OZ's `MerkleProof`, so the hub's trees must be OZ's.
//! Needs `cd contracts && npm ci` (under CI a missing install fails; elsewhere the test is skipped).

mod common;

use serde_json::Value;
use token::distributor::{EarningsTree, leaf, verify};

fn hash(value: &Value) -> [u8; 32] {
    let text = value.as_str().expect("a hex string");
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.strip_prefix("0x").expect("0x"), &mut out).expect("32 bytes of hex");
    out
}

#[test]
fn earnings_tree_matches_openzeppelin_merkle_tree() {
    let Some(output) = common::run_node("merkle-vectors.mjs", &[], "@openzeppelin/merkle-tree")
    else {
        return;
    };
    assert!(
        output.status.success(),
        "node contracts/merkle-vectors.mjs failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let vectors: Value = serde_json::from_slice(&output.stdout).expect("JSON vectors");
    let vectors = vectors.as_array().expect("an array of vectors");
    let sizes: Vec<usize> = vectors
        .iter()
        .map(|v| v["values"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1, 2, 3, 7, 100]);

    let mut proofs_checked = 0;
    for vector in vectors {
        let values: Vec<(token::Address, u128)> = vector["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let address = pair[0].as_str().unwrap().parse().expect("an address");
                let amount = pair[1].as_str().unwrap().parse().expect("a u128 amount");
                (address, amount)
            })
            .collect();
        let n = values.len();
        let tree = EarningsTree::build(&values);
        let root = hash(&vector["root"]);
        assert_eq!(tree.root(), root, "root of the {n}-value tree");
        let proofs = vector["proofs"].as_array().unwrap();
        assert_eq!(proofs.len(), n);
        for ((account, amount), expected) in values.iter().zip(proofs) {
            let expected: Vec<[u8; 32]> = expected.as_array().unwrap().iter().map(hash).collect();
            let proof = tree.proof(account).expect("a leaf for every value");
            assert_eq!(proof, expected, "proof of {account} in the {n}-value tree");
            assert!(verify(&root, &leaf(account, *amount), &proof));
            proofs_checked += 1;
        }
    }
    assert_eq!(proofs_checked, 1 + 2 + 3 + 7 + 100);
    // The vectors include both extreme amounts.
    let seven = &vectors[3]["values"];
    let amounts: Vec<&str> = seven
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap())
        .collect();
    assert!(amounts.contains(&"0"));
    assert!(amounts.contains(&u128::MAX.to_string().as_str()));
}
