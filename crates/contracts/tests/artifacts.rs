//! The committed artifacts are what the sources compile to: `node contracts/build.mjs --check`
//! recompiles with the pinned solc and fails if any `contracts/artifacts/*.json` differs.
//! Needs `cd contracts && npm ci` (under CI a missing install fails; elsewhere the test is skipped).

mod common;

#[test]
fn committed_artifacts_match_the_sources() {
    let Some(output) = common::run_node("build.mjs", &["--check"], "solc") else {
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node contracts/build.mjs --check failed ({}):\n{stdout}{stderr}",
        output.status
    );
    eprint!("{stdout}");
}
