//! The `seedbank` binary under test, driven only through its command line.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::libtorrent::path_str;
use super::meta::{Format, TorrentSummary};
use super::netns::Place;
use super::process::{Proc, STEP_TIMEOUT};

pub const BIN: &str = env!("CARGO_BIN_EXE_seedbank");

/// A `seedbank seed` process that has reported its listening address.
pub struct Seeder {
    pub proc: Proc,
    pub addr: SocketAddr,
}

fn command(place: &Place) -> Command {
    let mut cmd = place.command(BIN);
    // Logs make a failing run explain itself; a caller's RUST_LOG wins.
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "info");
    }
    cmd
}

/// Options of `seedbank torrent create` beyond path and format.
#[derive(Default)]
pub struct CreateOptions<'a> {
    pub piece_size: Option<u32>,
    pub private: bool,
    pub announce: Option<&'a str>,
}

/// Runs `seedbank torrent create` and returns what `seedbank torrent show --json` reports for the result.
#[track_caller]
pub fn create(path: &Path, out: &Path, format: Format, opts: &CreateOptions<'_>) -> TorrentSummary {
    let mut cmd = command(&Place::Host);
    cmd.args(["torrent", "create", path_str(path), format.flag()]);
    if let Some(size) = opts.piece_size {
        cmd.args(["--piece-size", &size.to_string()]);
    }
    if opts.private {
        cmd.arg("--private");
    }
    if let Some(url) = opts.announce {
        cmd.args(["--announce", url]);
    }
    cmd.args(["-o", path_str(out)]);
    let mut proc = Proc::spawn("seedbank torrent create", cmd);
    proc.expect_success(STEP_TIMEOUT);
    show(out)
}

/// `seedbank torrent show --json`.
#[track_caller]
pub fn show(torrent: &Path) -> TorrentSummary {
    let mut cmd = command(&Place::Host);
    cmd.args(["torrent", "show", path_str(torrent), "--json"]);
    let mut proc = Proc::spawn("seedbank torrent show", cmd);
    proc.expect_success(STEP_TIMEOUT);
    // stdout is the JSON document; stderr may carry logs.
    let json: String = proc
        .output()
        .lines()
        .filter_map(|l| l.strip_prefix("[out] "))
        .collect::<Vec<_>>()
        .join("\n");
    TorrentSummary::from_json("seedbank torrent show", &json)
}

/// Starts `seedbank seed` in `place`, listening on `listen` (port 0 picks one), and waits for its
/// `listening on IP:PORT` line and then for `seeding <name>`, which it prints once the data check passed.
#[track_caller]
pub fn seed(
    place: &Place,
    torrent: &Path,
    data: &Path,
    listen: SocketAddr,
    peers: &[SocketAddr],
) -> Seeder {
    let mut cmd = command(place);
    cmd.args(["seed", path_str(torrent), "--data", path_str(data)])
        .args(["--listen", &listen.to_string()]);
    for peer in peers {
        cmd.args(["--peer", &peer.to_string()]);
    }
    let mut proc = Proc::spawn("seedbank seed", cmd);
    let addr = proc.wait_for("`listening on IP:PORT`", STEP_TIMEOUT, parse_listening);
    proc.wait_for("`seeding <name>` (data checked)", STEP_TIMEOUT, |line| {
        line.starts_with("seeding ").then_some(())
    });
    Seeder { proc, addr }
}

/// Starts `seedbank fetch` on loopback; it exits 0 once every piece is verified.
pub fn fetch(torrent: &Path, out: &Path, peers: &[SocketAddr]) -> Proc {
    fetch_with(torrent, out, peers, false)
}

fn fetch_with(torrent: &Path, out: &Path, peers: &[SocketAddr], keep_seeding: bool) -> Proc {
    let mut cmd = command(&Place::Host);
    cmd.args(["fetch", path_str(torrent), "-o", path_str(out)])
        .args(["--listen", "127.0.0.1:0"]);
    for peer in peers {
        cmd.args(["--peer", &peer.to_string()]);
    }
    if keep_seeding {
        cmd.arg("--seed");
    }
    Proc::spawn("seedbank fetch", cmd)
}

/// Starts `seedbank fetch --seed` on loopback and waits for its `listening on IP:PORT` line; it keeps
/// seeding after the download completes.
#[track_caller]
pub fn fetch_and_seed(torrent: &Path, out: &Path, peers: &[SocketAddr]) -> Seeder {
    let mut proc = fetch_with(torrent, out, peers, true);
    let addr = proc.wait_for("`listening on IP:PORT`", STEP_TIMEOUT, parse_listening);
    Seeder { proc, addr }
}

/// The address in a `listening on IP:PORT` line.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    let token = rest.split_whitespace().next()?;
    token
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// Asks a seeder to stop with SIGTERM and asserts that it exits cleanly and promptly.
#[track_caller]
pub fn stop_cleanly(seeder: &mut Seeder) {
    seeder.proc.signal("TERM");
    let status = seeder.proc.wait_exit(Duration::from_secs(15));
    assert!(
        status.success(),
        "seedbank seed should exit 0 on SIGTERM, got {status}; output:\n{}",
        seeder.proc.tail()
    );
}

/// The hash-failure count from `seedbank fetch`'s final `complete: ..., N hash failures, ...` line.
#[track_caller]
pub fn hash_failures(fetch: &Proc) -> u64 {
    fetch
        .lines()
        .iter()
        .filter(|l| l.starts_with("complete:"))
        .find_map(|l| {
            let before = l.split(" hash failures").next()?;
            before.rsplit([' ', ',']).next()?.parse().ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "seedbank fetch printed no `complete: ..., N hash failures` line:\n{}",
                fetch.tail()
            )
        })
}

/// Writes to `path` a buy-in genesis named `name` with the terms the CLI tests share (100-token
/// minimum stake, 1 token per GiB, 5 % fee half burned), then `rest`: more settings and the
/// allocations.
pub fn write_genesis(path: &Path, name: &str, rest: &str) {
    let text = format!(
        r#"name = "{name}"
symbol = "VIDYA"
join = "buy-in"
min_stake = "100"
max_lock_days = 30
price_per_gib = "1"
fee_bps = 500
fee_burn_bps = 5000
debt_threshold_bytes = 4194304
{rest}"#
    );
    std::fs::write(path, text).unwrap();
}

/// Starts `seedbank hub` on a port of its choosing with short intervals (and `envs`), and returns
/// it with its base URL once it serves.
#[track_caller]
pub fn start_hub(hub_dir: &Path, envs: &[(&str, &str)]) -> (Proc, String) {
    let mut cmd = command(&Place::Host);
    cmd.args(["hub", "--data-dir", path_str(hub_dir)])
        .args(["--listen", "127.0.0.1:0"])
        .args(["--flush-interval", "1", "--announce-interval", "2"])
        .envs(envs.iter().copied());
    let mut hub = Proc::spawn("seedbank hub", cmd);
    let url = hub.wait_for("`hub serving on http://ADDR`", STEP_TIMEOUT, |line| {
        let (_, rest) = line.split_once("serving on ")?;
        let url = rest.split_whitespace().next()?;
        let addr: SocketAddr = url.strip_prefix("http://")?.parse().ok()?;
        Some(format!("http://{addr}"))
    });
    (hub, url)
}

/// Runs `seedbank ARGS` to its end with `envs`; returns (success, stdout lines, whole output).
pub fn run(args: &[&str], envs: &[(&str, &str)]) -> (bool, Vec<String>, String) {
    let mut cmd = command(&Place::Host);
    cmd.args(args).envs(envs.iter().copied());
    let mut proc = Proc::spawn(&format!("seedbank {}", args.join(" ")), cmd);
    let ok = proc.wait_exit(STEP_TIMEOUT).success();
    let output = proc.output();
    let stdout = output
        .lines()
        .filter_map(|l| l.strip_prefix("[out] "))
        .map(|l| l.trim().to_owned())
        .collect();
    (ok, stdout, output)
}

/// [`seed`] on the host with `extra` arguments (e.g. `--wallet FILE --hub URL`) and `envs` (e.g.
/// the wallet's password, or a RUST_LOG that wins over the default).
#[track_caller]
pub fn seed_with_args(
    torrent: &Path,
    data: &Path,
    listen: SocketAddr,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Seeder {
    let mut cmd = command(&Place::Host);
    cmd.args(["seed", path_str(torrent), "--data", path_str(data)])
        .args(["--listen", &listen.to_string()])
        .args(extra)
        .envs(envs.iter().copied());
    let mut proc = Proc::spawn("seedbank seed", cmd);
    let addr = proc.wait_for("`listening on IP:PORT`", STEP_TIMEOUT, parse_listening);
    proc.wait_for("`seeding <name>` (data checked)", STEP_TIMEOUT, |line| {
        line.starts_with("seeding ").then_some(())
    });
    Seeder { proc, addr }
}

/// [`fetch`] with `extra` arguments (e.g. `--wallet FILE --hub URL`) and `envs`.
pub fn fetch_with_args(
    torrent: &Path,
    out: &Path,
    peers: &[SocketAddr],
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Proc {
    let mut cmd = command(&Place::Host);
    cmd.args(["fetch", path_str(torrent), "-o", path_str(out)])
        .args(["--listen", "127.0.0.1:0"]);
    for peer in peers {
        cmd.args(["--peer", &peer.to_string()]);
    }
    cmd.args(extra).envs(envs.iter().copied());
    Proc::spawn("seedbank fetch", cmd)
}

/// Starts `seedbank node --data-dir DIR --listen 127.0.0.1:0 EXTRA...` with `envs`; returns it
/// with its listening address once it serves.
#[track_caller]
pub fn start_node(data_dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (Proc, SocketAddr) {
    let mut cmd = command(&Place::Host);
    cmd.args(["node", "--data-dir", path_str(data_dir)])
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(envs.iter().copied());
    let mut proc = Proc::spawn(&format!("seedbank node {}", data_dir.display()), cmd);
    let addr = proc.wait_for("`listening on IP:PORT`", STEP_TIMEOUT, parse_listening);
    (proc, addr)
}

/// The wallet password the ledger tests use (`SEEDBANK_PASSWORD`).
pub const PASSWORD: (&str, &str) = ("SEEDBANK_PASSWORD", "wallet pw");
/// The operator key's password the ledger tests use.
pub const OPERATOR_PASSWORD: (&str, &str) = ("SEEDBANK_OPERATOR_PASSWORD", "operator secret");

/// Runs `seedbank ARGS` to success and returns its stdout lines; panics with its output otherwise.
#[track_caller]
pub fn ok(args: &[&str], envs: &[(&str, &str)]) -> Vec<String> {
    let (success, stdout, output) = run(args, envs);
    assert!(success, "seedbank {} failed:\n{output}", args.join(" "));
    stdout
}

/// Runs `seedbank ARGS` expecting it to fail with `expect` in its output.
#[track_caller]
pub fn refused(args: &[&str], envs: &[(&str, &str)], expect: &str) {
    let (success, _, output) = run(args, envs);
    assert!(
        !success,
        "seedbank {} should have failed:\n{output}",
        args.join(" ")
    );
    assert!(output.contains(expect), "expected {expect:?} in:\n{output}");
}

/// A new wallet (cheap scrypt) in its own directory `dir` (receipts are kept beside it); returns
/// (file, address).
#[track_caller]
pub fn new_wallet(dir: &Path) -> (String, String) {
    let file = super::fixture::mkdir(dir)
        .join("wallet.json")
        .display()
        .to_string();
    let out = ok(
        &["wallet", "new", "--light", "--wallet", &file],
        &[PASSWORD],
    );
    assert_eq!(out.len(), 1, "one address on stdout: {out:?}");
    (file, out[0].clone())
}
