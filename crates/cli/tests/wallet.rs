//! The ledger through the command line: `hub init` (with a genesis file or the template), a
//! running hub, wallets made and funded, stake locked, a member joining by buy-in and getting a
//! passkey the tracker takes, withdrawals refused while locked, `hub verify` on the live ledger,
//! and operator admissions (which need the hub stopped: one process writes the ledger).

mod support;

use std::path::Path;

use support::libtorrent::path_str;
use support::seedbank::{OPERATOR_PASSWORD, ok, refused, start_hub, write_genesis};

fn wallet(dir: &Path, name: &str) -> String {
    dir.join(format!("{name}.json")).display().to_string()
}

#[test]
fn a_genesis_holder_buys_in_and_gets_a_passkey() {
    let dir = tempfile::Builder::new()
        .prefix("sb-wallet-")
        .tempdir()
        .unwrap();
    let dir = dir.path();
    let data = dir.join("hub");
    let data = path_str(&data);
    // The wallet exists before the collective, so the genesis can allocate to it.
    let alice_wallet = wallet(dir, "alice");
    let alice_pw = ("SEEDBANK_PASSWORD", "alice pw");
    let alice = ok(
        &["wallet", "new", "--light", "--wallet", &alice_wallet],
        &[alice_pw],
    )[0]
    .clone();
    refused(
        &["wallet", "new", "--light", "--wallet", &alice_wallet],
        &[alice_pw],
        "refusing to overwrite",
    );
    let address = ok(&["wallet", "address", "--wallet", &alice_wallet], &[]);
    assert_eq!(address, std::slice::from_ref(&alice));
    let genesis = dir.join("genesis.toml");
    write_genesis(
        &genesis,
        "Wallet test collective",
        &format!(
            r#"
[[allocations]]
account = "{alice}"
liquid = "500"
"#
        ),
    );
    let init = [
        "hub",
        "init",
        "--data-dir",
        data,
        "--genesis",
        path_str(&genesis),
        "--light-key",
    ];
    ok(&init, &[OPERATOR_PASSWORD]);
    refused(&init, &[OPERATOR_PASSWORD], "already exists");
    let (hub, base) = start_hub(Path::new(data), &[OPERATOR_PASSWORD]);
    let env = [alice_pw, ("SEEDBANK_HUB", base.as_str())];
    let with_wallet = |args: &[&'static str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(["--wallet".into(), alice_wallet.clone()])
            .collect()
    };

    refused(
        &strs(&with_wallet(&["wallet", "join", "alice"])),
        &env,
        "insufficient_stake",
    );
    refused(
        &strs(&with_wallet(&["wallet", "stake", "600", "--days", "10"])),
        &env,
        "insufficient_balance",
    );
    refused(
        &strs(&with_wallet(&["wallet", "stake", "100", "--days", "31"])),
        &env,
        "bad_lock",
    );
    ok(
        &strs(&with_wallet(&["wallet", "stake", "100", "--days", "10"])),
        &env,
    );
    refused(
        &strs(&with_wallet(&["wallet", "join", "Alice!"])),
        &env,
        "bad_name",
    );
    let passkey = ok(&strs(&with_wallet(&["wallet", "join", "alice"])), &env);
    assert_eq!(passkey.len(), 1, "one passkey on stdout: {passkey:?}");
    refused(
        &strs(&with_wallet(&["wallet", "join", "alice"])),
        &env,
        "already",
    );
    refused(
        &strs(&with_wallet(&["wallet", "unstake", "100"])),
        &env,
        "locked",
    );

    let (client, runtime) = member_api(&base, &passkey[0]);
    let me = runtime.block_on(client.me()).unwrap();
    assert_eq!(me.name, "alice");
    assert!(!me.suspended);
    let shown = ok(&strs(&with_wallet(&["wallet", "balance"])), &env);
    assert!(shown.iter().any(|l| l == "balance  400 VIDYA"), "{shown:?}");
    assert!(
        shown.iter().any(|l| l == "member   alice (active)"),
        "{shown:?}"
    );
    // Verify replays the live ledger from a consistent snapshot while the hub runs. Besides the
    // genesis, the join and the stake, the hub has logged its epoch commitments and the close of
    // the last ended epoch (how many depends on the clock: one more of each if an epoch ended
    // during the test).
    let verified = ok(&["hub", "verify", "--data-dir", data], &[]);
    let entries: u64 = verified
        .iter()
        .find_map(|l| {
            l.strip_prefix("ledger OK: ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{verified:?}"));
    assert!((3..=8).contains(&entries), "{verified:?}");
    // The ledger has one writer: operator commands wait for the hub to stop.
    refused(
        &[
            "hub",
            "member",
            "add",
            "bob",
            "--account",
            &alice,
            "--data-dir",
            data,
        ],
        &[OPERATOR_PASSWORD],
        "stop it first",
    );
    stop(hub);
    refused(
        &["hub", "member", "add", "bob", "--data-dir", data],
        &[OPERATOR_PASSWORD],
        "--account",
    );
}

#[test]
fn an_invite_only_collective_refuses_strangers_and_admits_by_operator() {
    let dir = tempfile::Builder::new()
        .prefix("sb-wallet-join-")
        .tempdir()
        .unwrap();
    let dir = dir.path();
    let data = dir.join("hub");
    let data = path_str(&data);
    // The template genesis: invite-only, min stake 100, the operator's treasury of 1,000,000.
    ok(
        &["hub", "init", "--data-dir", data, "--light-key"],
        &[OPERATOR_PASSWORD],
    );
    let (hub, base) = start_hub(Path::new(data), &[OPERATOR_PASSWORD]);
    let operator_wallet = Path::new(data).join("operator.json");
    let operator_env = [
        ("SEEDBANK_PASSWORD", OPERATOR_PASSWORD.1),
        ("SEEDBANK_HUB", base.as_str()),
    ];
    let carol_wallet = wallet(dir, "carol");
    let carol_env = [
        ("SEEDBANK_PASSWORD", "carol pw"),
        ("SEEDBANK_HUB", base.as_str()),
    ];
    let carol = ok(
        &["wallet", "new", "--light", "--wallet", &carol_wallet],
        &carol_env,
    )[0]
    .clone();
    ok(
        &[
            "wallet",
            "transfer",
            &carol,
            "250.5",
            "--wallet",
            path_str(&operator_wallet),
        ],
        &operator_env,
    );
    ok(
        &[
            "wallet",
            "stake",
            "150",
            "--days",
            "1",
            "--wallet",
            &carol_wallet,
        ],
        &carol_env,
    );
    // Invite-only, and nobody invited carol.
    refused(
        &["wallet", "join", "carol", "--wallet", &carol_wallet],
        &carol_env,
        "not_invited",
    );
    let shown = ok(
        &["wallet", "balance", "--wallet", &carol_wallet],
        &carol_env,
    );
    assert!(
        shown.iter().any(|l| l.contains("balance  100.5 VIDYA")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.contains("staked   150 VIDYA (locked for 1 more days)")),
        "{shown:?}"
    );
    refused(
        &["wallet", "unstake", "150", "--wallet", &carol_wallet],
        &carol_env,
        "locked",
    );
    let history = ok(
        &["wallet", "history", "--wallet", &carol_wallet],
        &carol_env,
    );
    assert_eq!(history.len(), 2, "{history:?}");
    let verified = ok(&["hub", "verify", "--data-dir", data], &[]);
    assert!(
        verified.iter().any(|l| l.starts_with("ledger OK")),
        "{verified:?}"
    );
    stop(hub);

    // The operator admits dave; the passkey comes back, and the restarted hub's tracker knows it.
    let dave = token_address(dir, "dave");
    let passkey = ok(
        &[
            "hub",
            "member",
            "add",
            "dave",
            "--account",
            &dave,
            "--data-dir",
            data,
        ],
        &[OPERATOR_PASSWORD],
    );
    assert_eq!(passkey.len(), 1);
    assert_eq!(passkey[0].len(), 32, "{passkey:?}");
    let (hub, base) = start_hub(Path::new(data), &[OPERATOR_PASSWORD]);
    let (client, runtime) = member_api(&base, &passkey[0]);
    let me = runtime.block_on(client.me()).unwrap();
    assert_eq!(me.name, "dave");
    assert!(!me.suspended);
    let account = runtime
        .block_on(client.account(&dave.parse().unwrap()))
        .unwrap();
    assert!(account.active);
    assert_eq!(account.stake, token::Amount::tokens(100));
    stop(hub);
}

/// A fresh account address, by way of `seedbank wallet new`.
fn token_address(dir: &Path, name: &str) -> String {
    let w = wallet(dir, name);
    ok(
        &["wallet", "new", "--light", "--wallet", &w],
        &[("SEEDBANK_PASSWORD", "x")],
    )[0]
    .clone()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A member's API client, and a runtime to drive it from these synchronous tests.
fn member_api(base: &str, passkey: &str) -> (hubapi::HubClient, tokio::runtime::Runtime) {
    let client = hubapi::HubClient::new(base)
        .unwrap()
        .with_passkey(Some(passkey.to_owned()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (client, runtime)
}

/// Interrupts the hub and requires a clean exit (its final flush and ledger checkpoint done).
fn stop(mut hub: support::process::Proc) {
    hub.signal("INT");
    assert!(
        hub.wait_exit(support::process::STEP_TIMEOUT).success(),
        "{}",
        hub.output()
    );
}
