//! `seedbank demo --exit`, the README's first command, on this machine: it must finish within three
//! minutes, exit 0, and its report (`report.json`, printed as tables) must reconcile with the
//! ledger it leaves behind: every member's balance, stake, vesting and cumulative earnings, the
//! supply, the log head, and the epochs' figures against the supply's growth.

use std::process::Command;
use std::time::{Duration, Instant};

use token::{Address, Amount};

fn amount(v: &serde_json::Value) -> u128 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an amount: {v}"))
}

#[test]
fn the_demo_runs_a_collective_and_its_report_reconciles_with_the_ledger() {
    let dir = tempfile::Builder::new()
        .prefix("sb-demo-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let work = dir.path().join("work");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_seedbank"))
        .args(["demo", "--exit", "--dir"])
        .arg(&work)
        .output()
        .expect("run seedbank demo");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(180), "took {took:?}");
    for section in ["== members", "== torrents", "== epochs", "== ledger"] {
        assert!(stdout.contains(section), "no {section}:\n{stdout}");
    }

    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(work.join("report.json")).unwrap_or_else(|e| panic!("report.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("report.json: {e}"));

    // The ledger as the demo left it, replayed and checked from its log.
    let hub = work.join("hub");
    let config = hub::HubConfig::defaults(&hub);
    let verified =
        ledger::verify(&config.ledger_path(), |_| {}).unwrap_or_else(|e| panic!("verify: {e}"));
    let json =
        std::fs::read_to_string(config.operator_key_path()).unwrap_or_else(|e| panic!("{e}"));
    let operator = token::keystore::decrypt(&json, seedbank_demo_password().as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let (ledger, replay) = ledger::Ledger::open(&config.ledger_path(), operator)
        .unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(replay.state_root, verified.state_root);
    let state = ledger.state();

    assert_eq!(report["entries"].as_u64(), Some(replay.entries));
    assert_eq!(
        report["log_hash"].as_str(),
        Some(hex::encode(replay.log_hash).as_str())
    );
    let supply = state.supply();
    assert_eq!(amount(&report["minted"]), supply.minted.0);
    assert_eq!(amount(&report["burned"]), supply.burned.0);
    assert_eq!(amount(&report["stakers_pool"]), supply.stakers_pool.0);
    assert_eq!(supply.held(), supply.minted.checked_sub(supply.burned));

    let members = report["members"].as_array().expect("members");
    assert_eq!(members.len(), 5);
    let mut earned_total = 0;
    for m in members {
        let address: Address = m["address"].as_str().unwrap().parse().unwrap();
        let a = state.account(&address);
        let name = m["name"].as_str().unwrap();
        assert_eq!(a.member.as_deref(), Some(name));
        assert_eq!(amount(&m["balance"]), a.balance.0, "{name}'s balance");
        assert_eq!(amount(&m["stake"]), a.stake.0, "{name}'s stake");
        assert_eq!(amount(&m["vesting"]), a.vesting.0, "{name}'s vesting");
        let earned = state
            .economy()
            .earned
            .get(&address)
            .copied()
            .unwrap_or(Amount::ZERO);
        assert_eq!(amount(&m["earned"]), earned.0, "{name}'s earnings");
        earned_total += earned.0;
    }
    // The lazy member's audits found missing data: frozen, and paid nothing for hosting.
    let lazy = members.iter().find(|m| m["name"] == "lazy").unwrap();
    assert!(
        lazy["standing"].as_str().unwrap().contains("frozen"),
        "{lazy}"
    );
    assert_eq!(amount(&lazy["hosting"]), 0);
    // Everyone else hosted and was paid.
    for m in members.iter().filter(|m| m["name"] != "lazy") {
        assert!(amount(&m["hosting"]) > 0, "{m}");
    }
    // Cat's Lisbon contradicts its loopback round trip: no boost, and the report says why.
    let cat = members.iter().find(|m| m["name"] == "cat").unwrap();
    assert_eq!(cat["geo_bps"].as_u64(), Some(10_000));
    assert!(cat["geo"].as_str().unwrap().contains("km"), "{cat}");

    // Each watched epoch: what it paid came from what it minted, the sponsored pool, the fees.
    let epochs = report["epochs"].as_array().expect("epochs");
    assert_eq!(epochs.len(), 3);
    let mut paid_total = 0;
    for e in epochs {
        let (minted, hosting) = (amount(&e["minted"]), amount(&e["hosting_paid"]));
        assert!(hosting <= minted + state.economy().reward_carry.0, "{e}");
        paid_total += hosting + amount(&e["sponsored_paid"]) + amount(&e["fees_paid"]);
    }
    assert!(
        paid_total <= earned_total,
        "the report's epochs are part of all earnings"
    );
    // The cumulative earnings root is the tree over the ledger's earnings.
    let values: Vec<(Address, u128)> = state
        .economy()
        .earned
        .iter()
        .map(|(a, x)| (*a, x.0))
        .collect();
    let root = token::distributor::EarningsTree::build(&values).root();
    assert_eq!(
        report["earnings_root"].as_str(),
        Some(token::hash_hex(&root).as_str())
    );
}

fn seedbank_demo_password() -> &'static str {
    // `seedbank demo` writes its operator key with this password (crates/cli/src/demo).
    "vidya-demo"
}
