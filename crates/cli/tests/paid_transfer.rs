//! A paid download through the `seedbank` binary, end to end on loopback: a collective whose genesis
//! gives the downloader liquid tokens, its hub running, the uploader a member (buy-in: staked in the
//! genesis, then `wallet join`) who publishes a hybrid private torrent; `seedbank seed --wallet A
//! --hub URL` serves it to `seedbank fetch FILE.torrent --wallet B --hub URL --peer ADDR`, both
//! speaking `sb_receipt`. The data is about five debt thresholds long, so the seeder can only finish
//! the transfer by accepting the downloader's receipts as it goes. The seeder is then killed
//! (`kill -9`) with receipts it has not settled, restarted (it submits what it kept on disk) and
//! stopped politely (its last settlement round runs on stop), and the ledger must show: downloader
//! −charge exactly, the charge split between the uploader, the burn and the stakers' pool, where
//! charge = ⌊price_per_gib × 10¹⁸ / 2³⁰⌋ × file bytes and the fee ⌊charge × fee_bps / 10⁴⌋ (less
//! at most one base unit per settled receipt, each floored on its own), all computed here from the
//! genesis numbers.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::fixture::{self, mkdir};
use support::libtorrent::path_str;
use support::meta::Format;
use support::process::Proc;
use support::seedbank::{
    self, CreateOptions, OPERATOR_PASSWORD, PASSWORD, new_wallet, ok, start_hub,
};
use token::Amount;

/// About 5.5 MB over several files: the hybrid torrent carries pad files, which are not file data
/// and must not be charged.
const FILES: &[(&str, u64)] = &[
    ("paid/a.bin", 3_000_017),
    ("paid/b/odd.bin", 2_500_011),
    ("paid/c/tiny", 17),
    ("paid/readme.txt", 1_337),
];
const ROOT: &str = "paid";
const PIECE: u32 = 256 * 1024;

// The genesis, as text and as the numbers the expected amounts are computed from.
const SYMBOL: &str = "SEED";
/// 1.5 tokens per GiB: not a multiple of 2³⁰ base units, so the per-byte price is rounded down.
const PRICE_PER_GIB: &str = "1.5";
const PRICE_PER_GIB_UNITS: u128 = 1_500_000_000_000_000_000;
const FEE_BPS: u128 = 500;
const FEE_BURN_BPS: u128 = 5000;
/// Four pieces: the uploader serves at most this much beyond what is receipted.
const THRESHOLD: u64 = 1 << 20;
const DOWNLOADER_TOKENS: u64 = 10;
const MIN_STAKE: u64 = 100;

/// Bound for each wait on a process (the whole test takes a few seconds).
const WAIT: Duration = Duration::from_secs(60);

/// `seedbank wallet balance`'s `balance` line for `wallet`.
fn balance_line(wallet: &str, hub: &str) -> String {
    let shown = ok(
        &["wallet", "balance", "--wallet", wallet, "--hub", hub],
        &[PASSWORD],
    );
    shown
        .iter()
        .find(|l| l.starts_with("balance "))
        .unwrap_or_else(|| panic!("no balance line in {shown:?}"))
        .clone()
}

/// The sum of `FIELD=N` over the seeder's `settled` log lines (`bytes`: bytes settled;
/// `receipts`: receipts settled, each of which floors the fee once).
fn settled_sum(seeder: &Proc, field: &str) -> u64 {
    let key = format!(" {field}=");
    seeder
        .lines()
        .iter()
        .filter(|l| l.contains("node::payments") && l.contains(" settled "))
        .filter_map(|l| {
            let (_, rest) = l.split_once(key.as_str())?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

#[test]
fn a_paid_download_moves_price_times_bytes_minus_the_fee_to_the_uploader() {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("sb-paid-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let dir = tmp.path();
    let src = mkdir(&dir.join("src"));
    fixture::write_files(&src, FILES, 91);
    let size = fixture::total_len(FILES);
    let out = mkdir(&dir.join("out"));

    // 1. The wallets exist before the collective, so the genesis can allocate to them: the
    // uploader its minimum stake (to join), the downloader liquid tokens to pay with.
    let (uploader_wallet, uploader) = new_wallet(&dir.join("uploader"));
    let (downloader_wallet, downloader) = new_wallet(&dir.join("downloader"));
    let genesis = dir.join("genesis.toml");
    std::fs::write(
        &genesis,
        format!(
            r#"name = "Paid transfer test"
symbol = "{SYMBOL}"
join = "buy-in"
min_stake = "{MIN_STAKE}"
max_lock_days = 30
price_per_gib = "{PRICE_PER_GIB}"
fee_bps = {FEE_BPS}
fee_burn_bps = {FEE_BURN_BPS}
debt_threshold_bytes = {THRESHOLD}

[[allocations]]
account = "{uploader}"
staked = "{MIN_STAKE}"

[[allocations]]
account = "{downloader}"
liquid = "{DOWNLOADER_TOKENS}"
"#
        ),
    )
    .unwrap_or_else(|e| panic!("write {genesis:?}: {e}"));
    let hub_dir = dir.join("hub");
    ok(
        &[
            "hub",
            "init",
            "--data-dir",
            path_str(&hub_dir),
            "--genesis",
            path_str(&genesis),
            "--light-key",
        ],
        &[OPERATOR_PASSWORD],
    );
    let (mut hub, base) = start_hub(&hub_dir, &[OPERATOR_PASSWORD]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let api = hubapi::HubClient::new(&base).unwrap_or_else(|e| panic!("hub URL {base}: {e}"));
    let terms = runtime
        .block_on(api.ledger())
        .unwrap_or_else(|e| panic!("GET /api/v1/ledger: {e}"));
    assert_eq!(
        terms.price_per_gib,
        Amount(PRICE_PER_GIB_UNITS),
        "{terms:?}"
    );
    assert_eq!(terms.debt_threshold_bytes, THRESHOLD, "{terms:?}");

    // 2. The uploader joins (its genesis stake is enough) and publishes a hybrid private torrent.
    let passkey = ok(
        &[
            "wallet",
            "join",
            "uploader",
            "--wallet",
            &uploader_wallet,
            "--hub",
            &base,
        ],
        &[PASSWORD],
    );
    assert_eq!(passkey.len(), 1, "one passkey on stdout: {passkey:?}");
    let torrent = dir.join("paid.torrent");
    let opts = CreateOptions {
        piece_size: Some(PIECE),
        private: true,
        announce: None,
    };
    seedbank::create(&src.join(ROOT), &torrent, Format::Hybrid, &opts);
    let bytes = std::fs::read(&torrent).unwrap_or_else(|e| panic!("read {torrent:?}: {e}"));
    let published = runtime
        .block_on(api.clone().with_passkey(Some(passkey[0].clone())).publish(
            bytes,
            ROOT,
            "test",
            "paid transfer",
        ))
        .unwrap_or_else(|e| panic!("POST /api/v1/torrents: {e}"));
    assert_eq!(published.size, size, "{published:?}");

    // 3. Seed and fetch, both paying and earning. The seeder logs peer disconnections, so the
    // test knows when it has read everything the downloader sent (its last receipt included).
    let pay = |wallet: &str| -> Vec<String> {
        ["--wallet", wallet, "--hub", &base]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let seed_args = pay(&uploader_wallet);
    let seed_args: Vec<&str> = seed_args.iter().map(String::as_str).collect();
    let mut seeder = seedbank::seed_with_args(
        &torrent,
        &src,
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        &seed_args,
        &[PASSWORD, ("RUST_LOG", "info,engine::swarm=debug")],
    );
    let fetch_args = pay(&downloader_wallet);
    let fetch_args: Vec<&str> = fetch_args.iter().map(String::as_str).collect();
    let mut fetch =
        seedbank::fetch_with_args(&torrent, &out, &[seeder.addr], &fetch_args, &[PASSWORD]);
    let status = fetch.wait_exit(WAIT);
    assert!(
        status.success(),
        "seedbank fetch failed ({status}); output:\n{}\nseeder output:\n{}",
        fetch.tail(),
        seeder.proc.tail()
    );
    let downloaded_in = started.elapsed();
    fixture::assert_same_tree(&src, &out);
    assert!(
        fetch
            .lines()
            .iter()
            .any(|l| l.starts_with(&format!("paying and earning as {downloader}"))),
        "the fetch did not pay with its wallet:\n{}",
        fetch.tail()
    );
    // The downloader closed its connection after sending its last receipt; once the seeder has
    // seen that close, it has handled every message before it.
    seeder.proc.wait_for(
        "the downloader's disconnection (after its last receipt)",
        WAIT,
        |l| l.contains("peer disconnected").then_some(()),
    );

    // 4. Kill the seeder (-9) with receipts not yet settled: they reached its disk within a second
    // of arriving. Restarted, it submits them, and stopped politely, it settles whatever is left.
    std::thread::sleep(Duration::from_millis(1500));
    seeder.proc.signal("KILL");
    seeder.proc.wait_exit(WAIT);
    let killed = seeder;
    assert!(
        settled_sum(&killed.proc, "bytes") < size,
        "the killed seeder had settled everything: nothing left to lose"
    );
    let mut seeder = seedbank::seed_with_args(
        &torrent,
        &src,
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        &seed_args,
        &[PASSWORD, ("RUST_LOG", "info,engine::swarm=debug")],
    );
    seedbank::stop_cleanly(&mut seeder);
    let seeder_output = format!("{}{}", killed.proc.output(), seeder.proc.output());
    assert!(
        !seeder_output.contains("not settled yet"),
        "the seeder kept receipts unsettled:\n{seeder_output}"
    );
    // The downloader's last receipt is sent as its last piece verifies; `seedbank fetch` then shuts
    // its engine down, which writes what is queued for each peer before closing (it once did not,
    // and lost the last receipt about once in 300 fetches).
    assert_eq!(
        settled_sum(&killed.proc, "bytes") + settled_sum(&seeder.proc, "bytes"),
        size,
        "the seeder settled other than the torrent's file bytes:\n{seeder_output}"
    );

    // 5. The ledger, to the base unit. The downloader pays exactly price × bytes however many
    // settlements it took; the fee is floored once per settled receipt, so with k of them the
    // uploader may keep up to k base units more than `charge − fee` computed on the whole.
    let price_per_byte = PRICE_PER_GIB_UNITS >> 30;
    let charge = price_per_byte * u128::from(size);
    let fee = charge * FEE_BPS / 10_000;
    let downloader_left = u128::from(DOWNLOADER_TOKENS) * 10u128.pow(18) - charge;
    let settlements = settled_sum(&killed.proc, "receipts") + settled_sum(&seeder.proc, "receipts");
    eprintln!(
        "-> {size} bytes at {price_per_byte} base units/byte: charge {}, fee {}, uploader gets {} ({settlements} settlement(s))",
        Amount(charge),
        Amount(fee),
        Amount(charge - fee)
    );
    assert_eq!(
        balance_line(&downloader_wallet, &base),
        format!("balance  {} {SYMBOL}", Amount(downloader_left)),
        "downloader: {DOWNLOADER_TOKENS} {SYMBOL} minus the charge {}",
        Amount(charge)
    );
    let uploader_got = runtime
        .block_on(api.account(&uploader.parse().expect("an address")))
        .unwrap_or_else(|e| panic!("GET /api/v1/accounts: {e}"))
        .balance
        .0;
    let after = runtime
        .block_on(api.ledger())
        .unwrap_or_else(|e| panic!("GET /api/v1/ledger: {e}"));
    let (burned, pool) = (after.burned.0, after.stakers_pool.0);
    assert_eq!(
        uploader_got + burned + pool,
        charge,
        "the charge goes to the uploader, the burn and the stakers' pool, nothing else: {after:?}"
    );
    let fee_taken = burned + pool;
    assert!(
        fee_taken <= fee && fee - fee_taken <= settlements as u128,
        "fee {} taken against {} on the whole, over {settlements} settlement(s)",
        Amount(fee_taken),
        Amount(fee)
    );
    let half = fee_taken * FEE_BURN_BPS / 10_000;
    assert!(
        burned <= half && half - burned <= settlements as u128,
        "burned {} of the fee {}",
        Amount(burned),
        Amount(fee_taken)
    );
    // Nothing is left for a next run.
    let receipts = Path::new(&uploader_wallet)
        .parent()
        .map(|p| p.join("receipts"))
        .unwrap_or_default();
    // receipts/<account>/<torrent id>/receipts.json
    let dirs = |dir: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {dir:?}: {e}"))
            .filter_map(|e| Some(e.ok()?.path()))
            .collect()
    };
    let kept: Vec<String> = dirs(&receipts)
        .iter()
        .flat_map(|account| dirs(account))
        .filter_map(|torrent| std::fs::read_to_string(torrent.join("receipts.json")).ok())
        .collect();
    assert!(
        !kept.is_empty() && kept.iter().all(|k| k.trim() == "[]"),
        "unsettled receipts kept in {receipts:?}: {kept:?}"
    );

    hub.signal("INT");
    assert!(hub.wait_exit(WAIT).success(), "{}", hub.output());
    eprintln!(
        "-> downloaded in {downloaded_in:?}; whole test {:?}",
        started.elapsed()
    );
}
