//! Running the node scripts of `contracts/`: they need node and `contracts/node_modules`. Missing
//! either, a test fails under CI (env `CI` set) with the install command, and is skipped otherwise.

use std::path::PathBuf;
use std::process::{Command, Output};

/// What installs the scripts' packages.
pub const INSTALL: &str = "cd contracts && npm ci";

/// The workspace root (contracts/ is under it).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `node contracts/<script> <args>` from the workspace root, once `package` is installed under
/// contracts/node_modules. None (after saying why) if node or the package is missing outside CI;
/// a panic with the install command under CI.
pub fn run_node(script: &str, args: &[&str], package: &str) -> Option<Output> {
    let root = workspace_root();
    let missing = if !root
        .join("contracts/node_modules")
        .join(package)
        .join("package.json")
        .is_file()
    {
        Some(format!("contracts/node_modules/{package} is not installed"))
    } else {
        match Command::new("node").arg("--version").output() {
            Ok(out) if out.status.success() => None,
            _ => Some("node is not on PATH".to_owned()),
        }
    };
    if let Some(why) = missing {
        if std::env::var_os("CI").is_some() {
            panic!("{why}: install it with `{INSTALL}` (Node.js on PATH); CI must run this test");
        }
        eprintln!("skipped: {why}; install it with `{INSTALL}` (Node.js on PATH)");
        return None;
    }
    let output = Command::new("node")
        .arg(format!("contracts/{script}"))
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("running node contracts/{script}: {e}"));
    Some(output)
}
