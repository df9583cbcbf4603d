//! The EVM settlement through the command line, against a real anvil: `chain deploy` refuses an
//! operator without gas, then deploys and writes the genesis (which parses as an EVM collective
//! whose contracts have code); `chain status` reads them; `hub init` founds the collective; the hub
//! refuses to serve it without an RPC endpoint and serves it with one; `wallet balance --chain`
//! reads the operator's tokens on the chain. And a migration: an embedded collective's holdings
//! at its last close (`chain migrate`) become the chain's initial distribution (`chain deploy`),
//! the new hub posts their root, and a member claims exactly their holding on the chain.
//!
//! anvil is found as `settlement::anvil` says; without it the test skips, or fails when `CI` is set.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use settlement::anvil::{Anvil, CHAIN_ID};
use support::libtorrent::path_str;
use support::seedbank::{
    OPERATOR_PASSWORD, PASSWORD, new_wallet, ok, refused, run, start_hub, write_genesis,
};

/// Runs `seedbank ARGS` until it succeeds with a line `done` accepts, for at most `limit`.
#[track_caller]
fn eventually(args: &[&str], envs: &[(&str, &str)], limit: Duration, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        let (success, stdout, output) = run(args, envs);
        if success && stdout.iter().any(|l| done(l)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "seedbank {} did not get there in {limit:?}:\n{output}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_writes_an_evm_genesis_that_founds_a_collective() {
    let Some(anvil) = Anvil::start_or_skip(1).await else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("sb-chain-")
        .tempdir()
        .unwrap();
    let dir = dir.path();
    let data = dir.join("hub");
    let data = path_str(&data).to_owned();
    let genesis = dir.join("g.toml");
    let genesis = path_str(&genesis).to_owned();
    let url = anvil.url.clone();
    let deploy = [
        "chain",
        "deploy",
        "--rpc-url",
        &url,
        "--data-dir",
        &data,
        "--light-key",
        "--genesis",
        &genesis,
        "--cap",
        "1000000",
        "--initial-supply",
        "1000",
        "--max-lock-days",
        "30",
    ];

    // The blocking CLI runs off the runtime's threads.
    let args: Vec<String> = deploy.iter().map(|s| s.to_string()).collect();
    let (data2, genesis2) = (data.clone(), genesis.clone());
    let operator = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // A new operator key has no gas: refused before anything is sent, the genesis untouched.
        refused(&args, &[OPERATOR_PASSWORD], "no funds for gas");
        assert!(!Path::new(&genesis2).exists());
        let key = format!("{data2}/operator.json");
        ok(&["wallet", "address", "--wallet", &key], &[])[0].clone()
    })
    .await
    .unwrap();
    anvil.fund(operator.parse().unwrap()).await;

    let args: Vec<String> = deploy.iter().map(|s| s.to_string()).collect();
    let printed = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&args, &[OPERATOR_PASSWORD])
    })
    .await
    .unwrap();

    let text = std::fs::read_to_string(&genesis).unwrap();
    let g = ledger::Genesis::from_toml(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    assert_eq!(g.settlement, ledger::SettlementMode::Evm);
    assert_eq!(g.chain_id, CHAIN_ID);
    assert_eq!(g.operator.to_string(), operator);
    assert_eq!(g.max_lock_days, 30);
    assert!(g.allocations.is_empty());
    let chain = g.chain.clone().expect("[chain] written");
    for (what, address) in [
        ("token", chain.token),
        ("vault", chain.vault),
        ("distributor", chain.distributor),
    ] {
        let code = anvil
            .rpc
            .get_code_at(alloy::primitives::Address::from(address.0))
            .await
            .unwrap();
        assert!(!code.is_empty(), "the {what} at {address} has no code");
        assert!(
            printed.iter().any(|l| l.starts_with(what)
                && l.contains(&address.to_string())
                && l.contains("gas ")),
            "{what} {address} with its gas in {printed:?}"
        );
    }

    let hub_url = tokio::task::spawn_blocking(move || {
        let status = ok(
            &["chain", "status", "--chain", &genesis, "--rpc-url", &url],
            &[],
        );
        assert!(
            status.iter().any(|l| l.contains("1000 of cap 1000000")),
            "{status:?}"
        );
        assert!(status.iter().any(|l| l == "next epoch   0"), "{status:?}");

        ok(
            &["hub", "init", "--data-dir", &data, "--genesis", &genesis],
            &[OPERATOR_PASSWORD],
        );
        // An EVM collective needs the hub's RPC endpoint.
        refused(
            &["hub", "--data-dir", &data, "--listen", "127.0.0.1:0"],
            &[OPERATOR_PASSWORD],
            "rpc_url",
        );
        let (hub, hub_url) = start_hub(
            Path::new(&data),
            &[OPERATOR_PASSWORD, ("SEEDBANK_RPC_URL", url.as_str())],
        );
        // The operator holds the initial supply on the chain.
        let key = format!("{data}/operator.json");
        let balance = ok(
            &[
                "wallet",
                "balance",
                "--wallet",
                &key,
                "--hub",
                &hub_url,
                "--chain",
                &genesis,
                "--rpc-url",
                &url,
            ],
            &[],
        );
        assert!(
            balance.iter().any(|l| l == "wallet   1000 VIDYA"),
            "{balance:?}"
        );
        assert!(
            balance.iter().any(|l| l == "staked   0 VIDYA"),
            "{balance:?}"
        );
        drop(hub);
        hub_url
    })
    .await
    .unwrap();
    assert!(hub_url.starts_with("http://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_collective_migrates_and_its_members_claim_their_holdings() {
    let Some(anvil) = Anvil::start_or_skip(1).await else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("sb-migrate-")
        .tempdir()
        .unwrap();
    let dir = dir.path().to_owned();
    let url = anvil.url.clone();
    let (old, new) = (dir.join("old"), dir.join("new"));
    let (old, new) = (path_str(&old).to_owned(), path_str(&new).to_owned());
    let migrated = path_str(&dir.join("migrated.toml")).to_owned();

    // An embedded collective with one member, closing an epoch every 2 s.
    let (wallet, member) = tokio::task::spawn_blocking({
        let (dir, old) = (dir.clone(), old.clone());
        move || {
            let (wallet, member) = new_wallet(&dir.join("member"));
            let genesis = dir.join("embedded.toml");
            write_genesis(
                &genesis,
                "Migrating collective",
                &format!(
                    r#"epoch_secs = 2
audit_deadline_secs = 1

[[allocations]]
account = "{member}"
liquid = "250"
staked = "100"
member = "alice"
"#
                ),
            );
            let init = [
                "hub",
                "init",
                "--data-dir",
                &old,
                "--light-key",
                "--genesis",
            ];
            ok(
                &[&init[..], &[path_str(&genesis)]].concat(),
                &[OPERATOR_PASSWORD],
            );
            let (hub, hub_url) = start_hub(Path::new(&old), &[OPERATOR_PASSWORD]);
            // An epoch has closed once the hub serves earnings proofs.
            eventually(
                &["wallet", "proof", &member, "--hub", &hub_url],
                &[],
                Duration::from_secs(30),
                |l| l.starts_with("epoch "),
            );
            drop(hub);
            (wallet, member)
        }
    })
    .await
    .unwrap();

    // Its holdings at the last close become the new genesis; the same operator deploys it.
    let operator = tokio::task::spawn_blocking({
        let (old, new, migrated) = (old.clone(), new.clone(), migrated.clone());
        move || {
            ok(
                &[
                    "chain",
                    "migrate",
                    "--data-dir",
                    &old,
                    "--genesis",
                    &migrated,
                ],
                &[OPERATOR_PASSWORD],
            );
            // Never over an existing file.
            refused(
                &[
                    "chain",
                    "migrate",
                    "--data-dir",
                    &old,
                    "--genesis",
                    &migrated,
                ],
                &[OPERATOR_PASSWORD],
                "exists",
            );
            std::fs::create_dir_all(&new).unwrap();
            std::fs::copy(
                format!("{old}/operator.json"),
                format!("{new}/operator.json"),
            )
            .unwrap();
            let key = format!("{new}/operator.json");
            ok(&["wallet", "address", "--wallet", &key], &[])[0].clone()
        }
    })
    .await
    .unwrap();
    anvil.fund(operator.parse().unwrap()).await;
    anvil.fund(member.parse().unwrap()).await;

    let deploy = [
        "chain",
        "deploy",
        "--rpc-url",
        &url,
        "--data-dir",
        &new,
        "--genesis",
        &migrated,
        "--cap",
        "10000000",
    ]
    .map(String::from);
    tokio::task::spawn_blocking(move || {
        let deploy: Vec<&str> = deploy.iter().map(String::as_str).collect();
        // The allocations are the whole initial supply: no other may be minted beside them.
        refused(
            &[&deploy[..], &["--initial-supply", "5"]].concat(),
            &[OPERATOR_PASSWORD],
            "drop --initial-holder and --initial-supply",
        );
        ok(&deploy, &[OPERATOR_PASSWORD]);
    })
    .await
    .unwrap();

    let text = std::fs::read_to_string(&migrated).unwrap();
    let g = ledger::Genesis::from_toml(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    assert_eq!(
        (g.settlement, g.chain_id),
        (ledger::SettlementMode::Evm, CHAIN_ID)
    );
    let mine = g
        .allocations
        .iter()
        .find(|a| a.account.to_string() == member)
        .expect("the member's holding is allocated");
    assert_eq!(mine.member.as_deref(), Some("alice"), "names are kept");
    // Balance and stake, with what the closes paid it (it staked, so it earned).
    assert!(mine.liquid >= token::Amount::tokens(350), "{mine:?}");
    let total = token::Amount(g.allocations.iter().map(|a| a.liquid.0).sum());
    let (holding, total) = (mine.liquid.to_string(), total.to_string());

    tokio::task::spawn_blocking(move || {
        let status = ["chain", "status", "--chain", &migrated, "--rpc-url", &url];
        let printed = ok(&status, &[]);
        let supply = format!("supply       {total} of cap 10000000");
        let held = format!("distributor  {total} held");
        assert!(
            printed.contains(&supply) && printed.contains(&held),
            "{printed:?}"
        );
        assert!(printed.iter().any(|l| l == "next epoch   0"), "{printed:?}");

        // The new hub posts the allocations' root when it starts.
        ok(
            &["hub", "init", "--data-dir", &new, "--genesis", &migrated],
            &[OPERATOR_PASSWORD],
        );
        let (hub, hub_url) = start_hub(
            Path::new(&new),
            &[OPERATOR_PASSWORD, ("SEEDBANK_RPC_URL", url.as_str())],
        );
        eventually(&status, &[], Duration::from_secs(30), |l| {
            l.starts_with("next epoch") && l != "next epoch   0"
        });

        let on_chain = ["--hub", &hub_url, "--chain", &migrated, "--rpc-url", &url];
        let claim = [&["wallet", "claim", "--wallet", &wallet][..], &on_chain].concat();
        let claimed = ok(&claim, &[PASSWORD]);
        assert!(
            claimed
                .iter()
                .any(|l| l.starts_with(&format!("claimed {holding} "))),
            "{claimed:?}"
        );
        let again = ok(&claim, &[PASSWORD]);
        assert!(
            again.iter().any(|l| l.starts_with("nothing to claim")),
            "{again:?}"
        );
        let balance = [&["wallet", "balance", "--wallet", &wallet][..], &on_chain].concat();
        let printed = ok(&balance, &[]);
        assert!(
            printed.contains(&format!("wallet   {holding} VIDYA")),
            "{printed:?}"
        );
        drop(hub);
    })
    .await
    .unwrap();
}
