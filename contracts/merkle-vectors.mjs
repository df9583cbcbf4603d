// Prints test vectors from the reference implementation, @openzeppelin/merkle-tree's
// StandardMerkleTree.of(values, ["address", "uint256"]), as JSON:
//
//   [{ "values": [[address, amountDecimalString], ...], "root": "0x..", "proofs": [[ "0x..", ...], ...] }, ...]
//
// proofs[k] is getProof(k), the proof of values[k]. crates/contracts/tests/oz_merkle.rs checks that
// token::distributor::EarningsTree gives the same root and the same proofs, byte for byte.
// Needs `cd contracts && npm ci` first. Deterministic: the random set comes from a fixed seed.

import { createRequire } from "node:module";

let StandardMerkleTree;
try {
  ({ StandardMerkleTree } = createRequire(import.meta.url)("@openzeppelin/merkle-tree"));
} catch (e) {
  console.error(`merkle-vectors.mjs: cannot load @openzeppelin/merkle-tree (${e.code ?? e.message}); install it with: cd contracts && npm ci`);
  process.exit(1);
}

const U128_MAX = (1n << 128n) - 1n;
const MASK64 = (1n << 64n) - 1n;

// SplitMix64 with a fixed seed: the same 100 values on every run.
let state = 0x5eedba4c5eedba4cn;
function next64() {
  state = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

function randomAddress() {
  const hex = ((next64() << 96n) | (next64() << 32n) | (next64() >> 32n)).toString(16).padStart(40, "0");
  return `0x${hex}`;
}

// Amounts of every size: up to 2^128 - 1, many of them small.
function randomAmount() {
  const wide = (next64() << 64n) | next64();
  const bits = next64() % 129n;
  return bits === 128n ? wide : wide & ((1n << bits) - 1n);
}

const SEVEN = [
  ["0x1111111111111111111111111111111111111111", 1_000_000_000_000_000_000n],
  ["0x2222222222222222222222222222222222222222", 1n << 64n],
  ["0x3333333333333333333333333333333333333333", 0n],
  ["0x4444444444444444444444444444444444444444", U128_MAX],
  ["0x5555555555555555555555555555555555555555", 1n],
  ["0x6666666666666666666666666666666666666666", 1_000_000_000_000_000_000_000_007n],
  ["0x7777777777777777777777777777777777777777", 123_456_789n],
];

function randomSet(n) {
  const seen = new Set();
  const values = [];
  while (values.length < n) {
    const address = randomAddress();
    if (seen.has(address)) continue;
    seen.add(address);
    values.push([address, randomAmount()]);
  }
  return values;
}

const sets = [SEVEN.slice(0, 1), SEVEN.slice(0, 2), SEVEN.slice(0, 3), SEVEN, randomSet(100)];

const vectors = sets.map((set) => {
  const values = set.map(([address, amount]) => [address, amount.toString()]);
  const tree = StandardMerkleTree.of(values, ["address", "uint256"]);
  return {
    values,
    root: tree.root,
    proofs: values.map((_, k) => tree.getProof(k)),
  };
});

process.stdout.write(`${JSON.stringify(vectors, null, 2)}\n`);
