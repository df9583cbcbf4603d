// Compiles the collective's contracts with the pinned solc-js (standard JSON, imports read from
// node_modules) and writes artifacts/<Name>.json = { contractName, abi, bytecode, deployedBytecode }.
//
//   node contracts/build.mjs           write the artifacts (commit them: cargo never needs node)
//   node contracts/build.mjs --check   recompile and fail if a committed artifact differs
//
// Needs `cd contracts && npm ci` first. The output is reproducible: the optimizer settings and EVM
// version are fixed here, and no metadata hash or CBOR trailer is appended to the bytecode.

import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const ROOT = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(ROOT, "artifacts");
const CONTRACTS = ["SeedToken", "StakingVault", "CumulativeDistributor"];
const SOLC_VERSION = "0.8.37";
const INSTALL = "cd contracts && npm ci";

const check = process.argv.includes("--check");
const unknown = process.argv.slice(2).filter((a) => a !== "--check");
if (unknown.length > 0) {
  fail(`unknown argument(s) ${unknown.join(" ")}; usage: node contracts/build.mjs [--check]`);
}

function fail(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

let solc;
try {
  solc = createRequire(import.meta.url)("solc");
} catch (e) {
  fail(`cannot load solc (${e.code ?? e.message}); install it with: ${INSTALL}`);
}
if (!solc.version().startsWith(`${SOLC_VERSION}+`)) {
  fail(`solc ${solc.version()} is installed, but the artifacts are built with ${SOLC_VERSION}; run: ${INSTALL}`);
}

// Source unit names are paths relative to contracts/ ("src/X.sol", "@openzeppelin/...").
function resolve(unit) {
  if (unit.includes("..")) return null;
  for (const base of [ROOT, join(ROOT, "node_modules")]) {
    const path = join(base, unit);
    if (existsSync(path)) return path;
  }
  return null;
}

function findImports(unit) {
  const path = resolve(unit);
  if (path === null) return { error: `not found: ${unit} (under contracts/ or contracts/node_modules)` };
  return { contents: readFileSync(path, "utf8") };
}

const sources = {};
for (const name of CONTRACTS) {
  const unit = `src/${name}.sol`;
  sources[unit] = { content: readFileSync(join(ROOT, unit), "utf8") };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: {
      "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
    },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
// The one warning allowed: postRoot's parameter is named `root`, like the `root()` getter, because
// the interface the Rust side is written against names it so (the ABI keeps the name).
function allowed(d) {
  const at = d.sourceLocation;
  return (
    d.severity === "warning" &&
    d.message.startsWith("This declaration has the same name as another declaration") &&
    at?.file === "src/CumulativeDistributor.sol" &&
    sources[at.file].content.slice(at.start, at.end) === "bytes32 root"
  );
}
const diagnostics = (output.errors ?? []).filter((d) => !allowed(d));
for (const d of diagnostics) {
  console.error(d.formattedMessage ?? d.message);
}
const errors = diagnostics.filter((d) => d.severity === "error");
if (errors.length > 0) {
  fail(`${errors.length} compilation error(s)`);
}
const warnings = diagnostics.filter((d) => d.severity === "warning");
if (warnings.length > 0) {
  fail(`${warnings.length} compiler warning(s): fix them (the artifacts are built warning-free)`);
}

const artifacts = {};
for (const name of CONTRACTS) {
  const compiled = output.contracts?.[`src/${name}.sol`]?.[name];
  if (!compiled) fail(`no output for ${name}`);
  const bytecode = compiled.evm.bytecode.object;
  const deployed = compiled.evm.deployedBytecode.object;
  if (!bytecode || !deployed || /[^0-9a-f]/.test(bytecode + deployed)) {
    fail(`${name}: empty or unlinked bytecode`);
  }
  const artifact = {
    contractName: name,
    abi: compiled.abi,
    bytecode: `0x${bytecode}`,
    deployedBytecode: `0x${deployed}`,
  };
  artifacts[name] = `${JSON.stringify(artifact, null, 2)}\n`;
}

if (check) {
  const stale = [];
  for (const name of CONTRACTS) {
    const path = join(ARTIFACTS, `${name}.json`);
    const committed = existsSync(path) ? readFileSync(path, "utf8") : null;
    if (committed !== artifacts[name]) {
      stale.push(`${relative(process.cwd(), path) || path}${committed === null ? " (missing)" : ""}`);
    }
  }
  if (stale.length > 0) {
    fail(
      `the committed artifacts differ from the sources compiled with solc ${SOLC_VERSION}:\n  ${stale.join("\n  ")}\n` +
        `rebuild them with \`node contracts/build.mjs\` and commit contracts/artifacts/`,
    );
  }
  console.log(`build.mjs: ${CONTRACTS.length} artifacts match the sources (solc ${solc.version()})`);
} else {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const name of CONTRACTS) {
    writeFileSync(join(ARTIFACTS, `${name}.json`), artifacts[name]);
  }
  console.log(`build.mjs: wrote ${CONTRACTS.length} artifacts to ${relative(process.cwd(), ARTIFACTS) || "."} (solc ${solc.version()})`);
}
