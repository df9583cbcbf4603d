//! Test support: a real local chain, Foundry's `anvil`, started on a free loopback port and killed
//! on drop. The workspace's EVM tests (this crate's, the hub's end-to-end one, the CLI's) share it.
//!
//! anvil is found through `$SEEDBANK_ANVIL`, else `contracts/node_modules/.bin/anvil` (npm
//! `@foundry-rs/anvil-linux-amd64`, installed by `cd contracts && npm ci`), else `PATH`. Without one,
//! [`Anvil::start_or_skip`] skips, or panics when `CI` is set, so that a broken install cannot pass.
//! The helpers panic on RPC errors: they are for tests, where a panic is the report.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use serde_json::{Value, json};

/// How to install anvil where the tests look for it.
pub const INSTALL: &str = "cd contracts && npm ci";

/// anvil's default chain id.
pub const CHAIN_ID: u64 = 31337;

/// The private keys of anvil's first accounts (mnemonic "test test test test test test test test
/// test test test junk"), each funded with 10,000 ETH at start.
pub const KEYS: [&str; 3] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// The key of anvil's funded account `i` (< 3).
pub fn key(i: usize) -> token::SecretKey {
    let bytes = token::parse_hash(KEYS[i]).expect("a constant key");
    token::SecretKey::from_bytes(&bytes).expect("a constant key")
}

/// The anvil binary to run, if any. npm's `.bin/anvil` is a node wrapper that spawns the platform
/// package's binary: that binary is run directly when found, so that killing the child kills anvil.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SEEDBANK_ANVIL") {
        let path = PathBuf::from(path);
        return Some(native(&path).unwrap_or(path));
    }
    let npm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/node_modules/.bin/anvil");
    if npm.exists() {
        return Some(native(&npm).unwrap_or(npm));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("anvil"))
        .find(|candidate| candidate.is_file())
}

/// `node_modules/@foundry-rs/anvil*/bin.mjs` → `node_modules/@foundry-rs/anvil-<platform>/bin/anvil`.
fn native(wrapper: &Path) -> Option<PathBuf> {
    let real = wrapper.canonicalize().ok()?;
    if real.extension().is_none_or(|e| e != "mjs") {
        return None;
    }
    let scope = real.parent()?.parent()?;
    std::fs::read_dir(scope)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("anvil-"))
        .map(|entry| entry.path().join("bin/anvil"))
        .find(|binary| binary.is_file())
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub url: String,
    /// A provider without a wallet, for reads and anvil's own methods (mine, time, snapshots).
    pub rpc: DynProvider,
}

impl Anvil {
    /// Starts anvil with chain id [`CHAIN_ID`] and `accounts` funded accounts (at most 3 are
    /// named in [`KEYS`]); None (after printing SKIPPED) when there is none and `CI` is unset.
    pub async fn start_or_skip(accounts: usize) -> Option<Anvil> {
        let Some(binary) = binary() else {
            let message = format!(
                "anvil not found (SEEDBANK_ANVIL, contracts/node_modules/.bin/anvil, PATH): \
                 install it with `{INSTALL}`"
            );
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("SKIPPED: {message}");
            return None;
        };
        for _ in 0..5 {
            // A free port: bind, read it, drop; anvil may lose a race for it, so retry.
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let mut child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--chain-id", &CHAIN_ID.to_string()])
                .args(["--accounts", &accounts.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
            let url = format!("http://127.0.0.1:{port}");
            let rpc = ProviderBuilder::new()
                .connect_http(url.parse().expect("a loopback URL"))
                .erased();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(id) = rpc.get_chain_id().await {
                    assert_eq!(id, CHAIN_ID, "anvil serves another chain");
                    return Some(Anvil { child, url, rpc });
                }
                let exited = child.try_wait().ok().flatten().is_some();
                if exited || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!("anvil ({}) did not start", binary.display());
    }

    /// A raw JSON-RPC call.
    pub async fn call(&self, method: &'static str, params: Value) -> Value {
        self.rpc
            .raw_request::<_, Value>(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) {
        self.call("anvil_mine", json!([format!("{blocks:#x}")]))
            .await;
    }

    /// Moves the next block's time `seconds` ahead.
    pub async fn increase_time(&self, seconds: u64) {
        self.call("evm_increaseTime", json!([seconds])).await;
    }

    /// Gives `account` 100 ETH for gas.
    pub async fn fund(&self, account: token::Address) {
        self.call(
            "anvil_setBalance",
            json!([account.to_string(), "0x56bc75e2d63100000"]),
        )
        .await;
    }

    /// The latest block's number.
    pub async fn head(&self) -> u64 {
        self.rpc.get_block_number().await.expect("eth_blockNumber")
    }

    /// The latest block's timestamp.
    pub async fn now(&self) -> u64 {
        self.rpc
            .get_block_by_number(alloy::rpc::types::BlockNumberOrTag::Latest)
            .await
            .expect("eth_getBlockByNumber")
            .expect("a latest block")
            .header
            .timestamp
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
