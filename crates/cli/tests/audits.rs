//! Availability audits end to end with real processes: a hub (`seedbank hub`) and three member
//! nodes (`seedbank node --wallet`), each hosting a hybrid and a v1-only torrent from disk. The
//! nodes report what they host for the next epoch; the hub commits to each epoch's secret before,
//! audits every node over the peer wire during it (44 samples), reveals the secret after, and logs
//! the results in the ledger. Mid-run one node's data loses a file: its audits turn `missing`,
//! and the ledger freezes its stake (not burned, it said so honestly) while the others stay in
//! good standing. `seedbank audit verify` re-derives both epochs from the revealed secrets.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audit::Mark;
use support::fixture::{self, mkdir};
use support::libtorrent::path_str;
use support::meta::Format;
use support::process::Proc;
use support::seedbank::{
    self, CreateOptions, OPERATOR_PASSWORD, PASSWORD, new_wallet, ok, start_hub, start_node,
};
use token::{Address, Amount};

const EPOCH_SECS: u64 = 8;
const DEADLINE_SECS: u64 = 2;
const MIN_STAKE: u64 = 100;
const SHARED: &[(&str, u64)] = &[("shared/a.bin", 1_500_007), ("shared/b.bin", 700_001)];
const OLD: &[(&str, u64)] = &[("old/only.bin", 400_009)];
const NODES: [&str; 3] = ["ann", "bob", "cat"];

fn copy_tree(from: &Path, to: &Path) {
    mkdir(to);
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{from:?}: {e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{from:?}: {e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {:?}: {e}", entry.path()));
        }
    }
}

/// Polls `f` every 250 ms until it returns `Some`, or panics after `timeout` saying `what`.
#[track_caller]
fn wait<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Marks per node in one epoch.
fn marks(records: &[hubapi::AuditRecord]) -> BTreeMap<Address, BTreeMap<&'static str, u32>> {
    let mut out: BTreeMap<Address, BTreeMap<&'static str, u32>> = BTreeMap::new();
    for r in records {
        let name = match r.mark {
            Mark::Pass => "pass",
            Mark::Offline => "offline",
            Mark::Missing => "missing",
            Mark::Wrong => "wrong",
        };
        *out.entry(r.node).or_default().entry(name).or_default() += 1;
    }
    out
}

#[test]
fn three_nodes_are_audited_and_the_one_that_lost_data_is_frozen() {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("sb-audits-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let src = mkdir(&dir.join("src"));
    fixture::write_files(&src, SHARED, 5);
    fixture::write_files(&src, OLD, 6);

    // 1. Wallets, then a collective whose genesis stakes each node's minimum, with short epochs.
    let wallets: Vec<(String, String)> = NODES
        .iter()
        .map(|name| new_wallet(&dir.join("wallets").join(name)))
        .collect();
    let mut genesis = format!(
        r#"name = "Audit test"
symbol = "AUDT"
join = "buy-in"
min_stake = "{MIN_STAKE}"
max_lock_days = 30
price_per_gib = "1"
fee_bps = 500
fee_burn_bps = 5000
debt_threshold_bytes = 1048576
epoch_secs = {EPOCH_SECS}
audit_deadline_secs = {DEADLINE_SECS}
"#
    );
    for (_, address) in &wallets {
        genesis.push_str(&format!(
            "\n[[allocations]]\naccount = \"{address}\"\nstaked = \"{MIN_STAKE}\"\nliquid = \"5\"\n"
        ));
    }
    let genesis_path = dir.join("genesis.toml");
    std::fs::write(&genesis_path, genesis).unwrap_or_else(|e| panic!("genesis: {e}"));
    let hub_dir = dir.join("hub");
    ok(
        &[
            "hub",
            "init",
            "--data-dir",
            path_str(&hub_dir),
            "--genesis",
            path_str(&genesis_path),
            "--light-key",
        ],
        &[OPERATOR_PASSWORD],
    );
    let (mut hub, base) = start_hub(&hub_dir, &[OPERATOR_PASSWORD, ("RUST_LOG", "info")]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let api = hubapi::HubClient::new(&base).unwrap_or_else(|e| panic!("hub URL {base}: {e}"));

    // 2. The members join; the first publishes both torrents.
    let mut passkeys = Vec::new();
    for (name, (wallet, _)) in NODES.iter().zip(&wallets) {
        let out = ok(
            &["wallet", "join", name, "--wallet", wallet, "--hub", &base],
            &[PASSWORD],
        );
        passkeys.push(out[0].clone());
    }
    let mut torrents = Vec::new();
    for (root, format, piece) in [
        ("shared", Format::Hybrid, 256 * 1024),
        ("old", Format::V1, 64 * 1024),
    ] {
        let path = dir.join(format!("{root}.torrent"));
        let opts = CreateOptions {
            piece_size: Some(piece),
            private: true,
            announce: None,
        };
        seedbank::create(&src.join(root), &path, format, &opts);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        runtime
            .block_on(
                api.clone()
                    .with_passkey(Some(passkeys[0].clone()))
                    .publish(bytes, root, "test", "audited"),
            )
            .unwrap_or_else(|e| panic!("publish {root}: {e}"));
        torrents.push(path);
    }

    // 3. Each node holds both torrents on disk and runs with its wallet.
    let mut nodes: Vec<(Proc, PathBuf, Address)> = Vec::new();
    for (name, (wallet, address)) in NODES.iter().zip(&wallets) {
        let data = mkdir(&dir.join("nodes").join(name));
        copy_tree(&src, &data.join("content"));
        for t in &torrents {
            ok(
                &["node", "add", path_str(t), "--data-dir", path_str(&data)],
                &[],
            );
        }
        let (proc, _) = start_node(
            &data,
            &["--wallet", wallet, "--hub", &base],
            &[PASSWORD, ("RUST_LOG", "info,engine=debug")],
        );
        let address: Address = address.parse().unwrap_or_else(|e| panic!("{address}: {e}"));
        nodes.push((proc, data, address));
    }
    // The first epoch every node reported for.
    let mut first = 0;
    for (proc, _, _) in &mut nodes {
        let epoch = proc.wait_for("`hosting report logged`", Duration::from_secs(60), |l| {
            if !l.contains("hosting report logged") {
                return None;
            }
            let (_, rest) = l.split_once("epoch=")?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        });
        first = first.max(epoch);
    }
    let audited = |epoch: u64| {
        wait(
            &format!("epoch {epoch} to be audited"),
            Duration::from_secs(6 * EPOCH_SECS),
            || {
                let view = runtime.block_on(api.epoch(epoch)).ok()?;
                view.audited.then_some(view)
            },
        )
    };
    let view = audited(first);
    let records = runtime
        .block_on(api.epoch_audits(first))
        .unwrap_or_else(|e| panic!("audits: {e}"));
    let by_node = marks(&records);
    eprintln!("epoch {first}: {by_node:?}");
    for r in records.iter().filter(|r| r.mark != Mark::Pass).take(5) {
        eprintln!(
            "  not passed: {} #{}: {:?} {}",
            r.node, r.idx, r.mark, r.detail
        );
    }
    for (_, _, address) in &nodes {
        assert_eq!(
            by_node.get(address).and_then(|m| m.get("pass")),
            Some(&44),
            "every node passes its 44 audits in epoch {first}: {by_node:?}"
        );
    }
    assert_eq!(view.audits, 3 * 44, "{view:?}");

    // 4. Cat loses a file of the shared torrent. It keeps claiming it (its engine still counts the
    // pieces), answers `missing` for those blocks, and is frozen; nobody is burned.
    let burned_before = runtime
        .block_on(api.ledger())
        .unwrap_or_else(|e| panic!("ledger: {e}"))
        .burned;
    let (_, cat_dir, cat) = &nodes[2];
    let cat = *cat;
    std::fs::remove_file(cat_dir.join("content/shared/a.bin"))
        .unwrap_or_else(|e| panic!("delete: {e}"));
    let deleted_in = runtime
        .block_on(api.current_epoch())
        .unwrap_or_else(|e| panic!("epoch: {e}"))
        .current;
    let after = deleted_in + 1;
    audited(after);
    let records = runtime
        .block_on(api.epoch_audits(after))
        .unwrap_or_else(|e| panic!("audits: {e}"));
    let by_node = marks(&records);
    eprintln!("epoch {after} (after the deletion): {by_node:?}");
    let cat_marks = &by_node[&cat];
    assert!(
        cat_marks.get("missing").copied().unwrap_or(0) > 0,
        "the lost file shows as missing: {cat_marks:?}"
    );
    assert_eq!(
        cat_marks.get("wrong"),
        None,
        "an honest node never sends wrong data"
    );
    for (_, _, address) in &nodes[..2] {
        assert_eq!(
            by_node[address].get("pass"),
            Some(&44),
            "the others still pass: {by_node:?}"
        );
    }
    let cat_view = runtime
        .block_on(api.node(&cat))
        .unwrap_or_else(|e| panic!("node: {e}"));
    assert!(cat_view.frozen, "{cat_view:?}");
    assert!(cat_view.reputation_ppb < 1_000_000_000, "{cat_view:?}");
    let cat_account = runtime
        .block_on(api.account(&cat))
        .unwrap_or_else(|e| panic!("account: {e}"));
    assert_eq!(
        cat_account.stake,
        Amount::tokens(MIN_STAKE),
        "frozen, not burned"
    );
    for (_, _, address) in &nodes[..2] {
        let v = runtime
            .block_on(api.node(address))
            .unwrap_or_else(|e| panic!("node: {e}"));
        assert!(!v.frozen && v.standing == "good", "{v:?}");
    }
    let ledger = runtime
        .block_on(api.ledger())
        .unwrap_or_else(|e| panic!("ledger: {e}"));
    assert_eq!(
        ledger.burned, burned_before,
        "nothing burned for missing data"
    );

    // 5. A third party re-derives both epochs from the revealed secrets, with its own .torrents.
    for epoch in [first, after] {
        let mut args = vec![
            "audit".to_owned(),
            "verify".to_owned(),
            epoch.to_string(),
            "--hub".to_owned(),
            base.clone(),
        ];
        for t in &torrents {
            args.extend(["--torrent".to_owned(), path_str(t).to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ok(&args, &[]);
        assert!(
            out.iter().any(|l| l == &format!("epoch {epoch} verifies")),
            "{out:?}"
        );
    }

    // 6. What an epoch of audits costs on the wire: per node, and per audit.
    let all_passed = runtime
        .block_on(api.epoch(first))
        .unwrap_or_else(|e| panic!("epoch: {e}"));
    eprintln!(
        "audit traffic in epoch {first}: {} bytes for {} audits of 3 nodes: {} bytes per node per \
         epoch, {} per audit",
        all_passed.wire_bytes,
        all_passed.audits,
        all_passed.wire_bytes / 3,
        all_passed.wire_bytes / all_passed.audits.max(1)
    );
    for (mut proc, _, _) in nodes {
        proc.signal("TERM");
        proc.wait_exit(Duration::from_secs(30));
    }
    hub.signal("TERM");
    hub.wait_exit(Duration::from_secs(30));
    eprintln!("audits end to end took {:?}", started.elapsed());
}
