//! Ledger benchmark: durable signed transfers a second through `Ledger::submit` (group commit),
//! beside plain SQLite doing one INSERT + COMMIT per transfer on the same disk; receipt signature
//! checks a second; `Ledger::settle` throughput; and `ledger::verify` (a replay checking every
//! signature) and `Ledger::open` (a replay trusting them) on the log the run wrote.
//!
//! `cargo run --release -p ledger --example ledger_bench -- [flags]`; `bench/ledger.sh` runs it
//! three times and prints medians. Flags (numbers may contain `_`):
//!
//! ```text
//!   --transfers N        signed transfers to submit (default 50_000)
//!   --threads C          concurrent submitters (default 64); each account is sent from one thread
//!   --accounts A         funded accounts in the genesis (default 1024)
//!   --receipts R         signed receipts to check and settle (default 16_384)
//!   --batch B            receipts per `Ledger::settle` call (default 256)
//!   --settle-threads T   concurrent settle callers (default: the number of cores)
//!   --baseline N         plain SQLite commits (default: as many as transfers; 0 skips it)
//!   --dir PATH           where the temporary ledger lives (default $BENCH_DIR or /var/tmp; a disk)
//! ```
//!
//! Signing is the client's cost and happens before any timing (reported on its own as signs/s).
//! Output: a table, then one `key=value` line per figure for scripts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ledger::genesis::Allocation;
use ledger::{Genesis, Ledger, ReceiptOutcome, SystemTx};
use token::{Amount, Receipt, SecretKey, Signed, Transfer, UserTx, keccak256};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TORRENT: [u8; 32] = [0x5b; 32];
/// Bytes each receipt claims: a fresh session per receipt, so every one settles in full.
const RECEIPT_BYTES: u64 = 1 << 20;

struct Args {
    transfers: usize,
    threads: usize,
    accounts: usize,
    receipts: usize,
    batch: usize,
    settle_threads: usize,
    baseline: Option<usize>,
    dir: PathBuf,
}

fn usage() -> ! {
    eprintln!(
        "usage: ledger_bench [--transfers N] [--threads C] [--accounts A] [--receipts R] \
         [--batch B] [--settle-threads T] [--baseline N] [--dir PATH]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut a = Args {
        transfers: 50_000,
        threads: 64,
        accounts: 1024,
        receipts: 16_384,
        batch: 256,
        settle_threads: cores,
        baseline: None,
        dir: std::env::var_os("BENCH_DIR").map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else { usage() };
        if flag == "--dir" {
            a.dir = PathBuf::from(value);
            continue;
        }
        let Ok(n) = value.replace('_', "").parse::<usize>() else {
            eprintln!("{flag}: {value:?} is not a number");
            usage()
        };
        match flag.as_str() {
            "--transfers" => a.transfers = n,
            "--threads" => a.threads = n,
            "--accounts" => a.accounts = n,
            "--receipts" => a.receipts = n,
            "--batch" => a.batch = n,
            "--settle-threads" => a.settle_threads = n,
            "--baseline" => a.baseline = Some(n),
            _ => usage(),
        }
    }
    if [
        a.transfers,
        a.threads,
        a.receipts,
        a.batch,
        a.settle_threads,
    ]
    .contains(&0)
        || a.accounts < 2
    {
        eprintln!(
            "--transfers, --threads, --receipts, --batch and --settle-threads must be above 0, \
             --accounts above 1"
        );
        usage()
    }
    a
}

/// Runs `f` on `items` split into `threads` contiguous chunks, one scoped thread each; the
/// results come back in order.
fn parallel_map<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}

/// CPU seconds (user + system) of this process, and of the ledger's writer thread if it runs.
fn cpu_secs() -> (f64, f64) {
    fn ticks(stat: &str) -> Option<f64> {
        let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        // USER_HZ is 100 on every Linux this runs on.
        Some((utime + stime) / 100.0)
    }
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| ticks(&s))
        .unwrap_or(0.0);
    let mut writer = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == "ledger-writer" {
                writer = std::fs::read_to_string(task.path().join("stat"))
                    .ok()
                    .and_then(|s| ticks(&s))
                    .unwrap_or(0.0);
            }
        }
    }
    (process, writer)
}

/// Busy jiffies (1/100 s) of the whole machine, all cores, from /proc/stat.
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    // cpu  user nice system idle iowait irq softirq steal ...
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if f.len() < 8 {
        return 0.0;
    }
    (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100.0
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Plain SQLite on the same disk: one INSERT + COMMIT per transfer, WAL, synchronous=FULL, the
/// settings the ledger's store uses. The body is a real signed transfer's JSON.
fn baseline(path: &Path, commits: usize, body: &str) -> Result<f64, BoxError> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, hash BLOB NOT NULL)",
    )?;
    let start = Instant::now();
    for seq in 0..commits {
        let hash = keccak256(&seq.to_be_bytes());
        let tx = conn.transaction()?;
        tx.prepare_cached("INSERT INTO log (seq, body, hash) VALUES (?1, ?2, ?3)")?
            .execute(rusqlite::params![seq as i64, body, &hash[..]])?;
        tx.commit()?;
    }
    Ok(commits as f64 / start.elapsed().as_secs_f64())
}

struct Figures(Vec<(&'static str, String)>);

impl Figures {
    fn put(&mut self, key: &'static str, value: impl ToString) {
        self.0.push((key, value.to_string()));
    }
}

fn main() -> Result<(), BoxError> {
    let args = parse_args();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.min(args.accounts);
    let mut out = Figures(Vec::new());

    let dir = tempfile::Builder::new()
        .prefix("ledger-bench.")
        .tempdir_in(&args.dir)?;
    let path = dir.path().join("ledger.db");
    println!(
        "== ledger bench: {} transfers from {} accounts on {} submitter threads, {} receipts \
         ({} per settle, {} settle threads), {} cores, work dir {}",
        args.transfers,
        args.accounts,
        threads,
        args.receipts,
        args.batch,
        args.settle_threads,
        cores,
        dir.path().display()
    );

    // The collective: the template's genesis plus `accounts` funded accounts.
    let operator = SecretKey::generate();
    let keys: Vec<SecretKey> = (0..args.accounts).map(|_| SecretKey::generate()).collect();
    let mut genesis = Genesis::from_toml(&Genesis::template(operator.address()))?;
    for key in &keys {
        genesis.allocations.push(Allocation {
            account: key.address(),
            liquid: Amount::tokens(1_000_000),
            staked: Amount::ZERO,
            lock_until: 0,
            member: None,
        });
    }
    let ledger = Ledger::create(&path, &genesis, operator.clone())?;
    ledger
        .system(SystemTx::RegisterTorrent {
            torrent: TORRENT,
            size: 1 << 50,
            price_per_byte: genesis.price_per_byte(),
        })
        .map_err(|e| format!("registering the torrent: {e}"))?;
    let domain = ledger.domain().clone();
    let separator = domain.separator();

    // Pre-signed transfers: the k-th goes from account k % A with nonce k / A to the next account.
    // Account a is sent from thread a % C, so each thread submits its accounts' nonces in order.
    let jobs: Vec<usize> = (0..args.transfers).collect();
    let start = Instant::now();
    let signed = parallel_map(&jobs, cores, |&k| {
        let from = k % args.accounts;
        let to = (from + 1) % args.accounts;
        let tx = UserTx::Transfer(Transfer {
            from: keys[from].address(),
            to: keys[to].address(),
            amount: Amount::tokens(1),
            nonce: (k / args.accounts) as u64,
        });
        Signed::<UserTx>::sign(&domain, &keys[from], tx)
    });
    let sign_secs = start.elapsed().as_secs_f64();
    let signs_per_s = args.transfers as f64 / sign_secs;
    let mut per_thread: Vec<Vec<Signed<UserTx>>> = vec![Vec::new(); threads];
    for (k, tx) in signed.into_iter().enumerate() {
        per_thread[(k % args.accounts) % threads].push(tx);
    }

    // Pre-signed receipts: downloader j % A, uploader the next account, a fresh session each.
    let jobs: Vec<usize> = (0..args.receipts).collect();
    let receipts = parallel_map(&jobs, cores, |&j| {
        let down = j % args.accounts;
        let up = (down + 1) % args.accounts;
        let receipt = Receipt {
            collective: domain.verifying_contract,
            torrent: TORRENT,
            uploader: keys[up].address(),
            downloader: keys[down].address(),
            session: keccak256(&(j as u64).to_be_bytes()),
            bytes: RECEIPT_BYTES,
        };
        Signed::<Receipt>::sign(&domain, &keys[down], receipt)
    });

    // Baseline first, on the same disk, with a real transfer's JSON as the row.
    let baseline_commits = args.baseline.unwrap_or(args.transfers);
    let baseline_rate = if baseline_commits > 0 {
        let body = serde_json::to_string(&per_thread[0][0])?;
        Some(baseline(
            &dir.path().join("baseline.db"),
            baseline_commits,
            &body,
        )?)
    } else {
        None
    };

    // Transfers: C threads, each blocking in `submit` until its transaction is durable.
    let failures = AtomicUsize::new(0);
    let (cpu0, writer0) = cpu_secs();
    let busy0 = machine_busy();
    let start = Instant::now();
    let mut latencies: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = per_thread
            .into_iter()
            .map(|txs| {
                let (ledger, failures) = (&ledger, &failures);
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(txs.len());
                    for tx in txs {
                        let t = Instant::now();
                        if let Err(e) = ledger.submit(tx)
                            && failures.fetch_add(1, Ordering::Relaxed) == 0
                        {
                            eprintln!("transfer refused: {e}");
                        }
                        lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("submitter panicked"))
            .collect()
    });
    let transfer_secs = start.elapsed().as_secs_f64();
    let (cpu1, writer1) = cpu_secs();
    // Cores other processes kept busy meanwhile: the noise on a shared machine.
    let others = ((machine_busy() - busy0) - (cpu1 - cpu0)).max(0.0) / transfer_secs;
    let failures = failures.into_inner();
    if failures > 0 {
        return Err(format!("{failures} transfers were refused").into());
    }
    latencies.sort_unstable();
    let transfers_per_s = args.transfers as f64 / transfer_secs;

    // Receipt checks: the pool on one thread, then split over every core.
    let start = Instant::now();
    let ok = receipts
        .iter()
        .filter(|r| matches!(r.check(&domain, &separator), Ok(true)))
        .count();
    let check1 = args.receipts as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let ok_all = parallel_map(&receipts, cores, |r| {
        matches!(r.check(&domain, &separator), Ok(true))
    })
    .into_iter()
    .filter(|&b| b)
    .count();
    let check_all = args.receipts as f64 / start.elapsed().as_secs_f64();
    if ok != args.receipts || ok_all != args.receipts {
        return Err("a pre-signed receipt did not check".into());
    }

    // Settlement: batches of B receipts from T threads; every receipt must settle in full.
    let batches: Vec<Vec<Signed<Receipt>>> =
        receipts.chunks(args.batch).map(<[_]>::to_vec).collect();
    let mut lanes: Vec<Vec<Vec<Signed<Receipt>>>> = vec![Vec::new(); args.settle_threads];
    for (i, b) in batches.into_iter().enumerate() {
        lanes[i % args.settle_threads].push(b);
    }
    let (scpu0, swriter0) = cpu_secs();
    let start = Instant::now();
    let settled: usize = std::thread::scope(|s| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|batches| {
                let ledger = &ledger;
                s.spawn(move || -> Result<usize, String> {
                    let mut n = 0;
                    for batch in batches {
                        let outcomes = ledger.settle(batch).map_err(|e| e.to_string())?;
                        for o in outcomes {
                            match o {
                                ReceiptOutcome::Settled { bytes, .. } if bytes == RECEIPT_BYTES => {
                                    n += 1
                                }
                                other => return Err(format!("receipt not settled: {other:?}")),
                            }
                        }
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("settler panicked"))
            .sum::<Result<usize, String>>()
    })?;
    let settle_secs = start.elapsed().as_secs_f64();
    let (scpu1, swriter1) = cpu_secs();
    let settle_per_s = settled as f64 / settle_secs;

    // Verify: close, then replay checking every signature; then open (replay trusting them).
    let entries = ledger.summary().entries;
    ledger.close();
    drop(ledger);
    let db_mib = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / (1 << 20) as f64);
    let start = Instant::now();
    let report = ledger::verify(&path, |_| {})?;
    let verify_secs = start.elapsed().as_secs_f64();
    if report.entries != entries {
        return Err(format!(
            "verify saw {} entries, the ledger wrote {entries}",
            report.entries
        )
        .into());
    }
    // Signatures verify checks: one per transfer, one per receipt, the operator's on every system
    // entry but the genesis (registration and settlements).
    let system_entries = entries - 1 - args.transfers as u64;
    let signatures = args.transfers as u64 + settled as u64 + system_entries;
    let start = Instant::now();
    let (reopened, _) = Ledger::open(&path, operator)?;
    let open_secs = start.elapsed().as_secs_f64();
    drop(reopened);

    let transfer_cpu = cpu1 - cpu0;
    let writer_cpu = writer1 - writer0;
    let settle_cpu = scpu1 - scpu0;
    let settle_writer_cpu = swriter1 - swriter0;

    println!();
    println!("{:<52} {:>14}", "figure", "value");
    let row = |what: &str, value: String| println!("{what:<52} {value:>14}");
    row(
        "transfer signs/s (client side, all cores)",
        format!("{signs_per_s:.0}"),
    );
    row(
        &format!("durable transfers/s (ledger, {threads} submitters)"),
        format!("{transfers_per_s:.0}"),
    );
    row(
        "  submit latency p50 / p99 (ms)",
        format!(
            "{:.2} / {:.2}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        ),
    );
    row(
        "  CPU per transfer: all / writer thread (µs)",
        format!(
            "{:.0} / {:.0}",
            transfer_cpu * 1e6 / args.transfers as f64,
            writer_cpu * 1e6 / args.transfers as f64
        ),
    );
    row(
        "  cores busy with other processes meanwhile",
        format!("{others:.2}"),
    );
    if let Some(b) = baseline_rate {
        row(
            "SQLite commits/s (1 INSERT + COMMIT, WAL, FULL)",
            format!("{b:.0}"),
        );
        row("ledger / SQLite", format!("{:.2}", transfers_per_s / b));
    }
    row("receipt checks/s, 1 thread", format!("{check1:.0}"));
    row(
        &format!("receipt checks/s, {cores} threads"),
        format!("{check_all:.0}"),
    );
    row(
        &format!(
            "settled receipts/s ({} per call, {} callers)",
            args.batch, args.settle_threads
        ),
        format!("{settle_per_s:.0}"),
    );
    row(
        "  CPU per receipt: all / writer thread (µs)",
        format!(
            "{:.0} / {:.0}",
            settle_cpu * 1e6 / settled as f64,
            settle_writer_cpu * 1e6 / settled as f64
        ),
    );
    row(
        &format!("verify: {entries} entries, {signatures} signatures (s)"),
        format!("{verify_secs:.2}"),
    );
    row(
        "  verify entries/s",
        format!("{:.0}", entries as f64 / verify_secs),
    );
    row(
        "  verify signatures/s",
        format!("{:.0}", signatures as f64 / verify_secs),
    );
    row(
        "open (replay, signatures trusted) (s)",
        format!("{open_secs:.2}"),
    );
    row("ledger file (MiB)", format!("{db_mib:.1}"));
    println!();

    out.put("transfers", args.transfers);
    out.put("threads", threads);
    out.put("accounts", args.accounts);
    out.put("receipts", args.receipts);
    out.put("cores", cores);
    out.put("signs_per_s", format!("{signs_per_s:.0}"));
    out.put("transfers_per_s", format!("{transfers_per_s:.0}"));
    out.put(
        "submit_p50_ms",
        format!("{:.2}", percentile(&latencies, 0.5)),
    );
    out.put(
        "submit_p99_ms",
        format!("{:.2}", percentile(&latencies, 0.99)),
    );
    out.put(
        "transfer_cpu_us",
        format!("{:.1}", transfer_cpu * 1e6 / args.transfers as f64),
    );
    out.put(
        "transfer_writer_cpu_us",
        format!("{:.1}", writer_cpu * 1e6 / args.transfers as f64),
    );
    out.put("other_cores_busy", format!("{others:.2}"));
    if let Some(b) = baseline_rate {
        out.put("baseline_commits_per_s", format!("{b:.0}"));
        out.put("ratio", format!("{:.2}", transfers_per_s / b));
    }
    out.put("receipt_checks_per_s_1", format!("{check1:.0}"));
    out.put("receipt_checks_per_s_all", format!("{check_all:.0}"));
    out.put("settled_per_s", format!("{settle_per_s:.0}"));
    out.put(
        "settle_cpu_us",
        format!("{:.1}", settle_cpu * 1e6 / settled as f64),
    );
    out.put(
        "settle_writer_cpu_us",
        format!("{:.1}", settle_writer_cpu * 1e6 / settled as f64),
    );
    out.put("verify_entries", entries);
    out.put("verify_signatures", signatures);
    out.put("verify_secs", format!("{verify_secs:.2}"));
    out.put(
        "verify_entries_per_s",
        format!("{:.0}", entries as f64 / verify_secs),
    );
    out.put(
        "verify_signatures_per_s",
        format!("{:.0}", signatures as f64 / verify_secs),
    );
    out.put("open_secs", format!("{open_secs:.2}"));
    out.put("db_mib", format!("{db_mib:.1}"));
    for (k, v) in &out.0 {
        println!("{k}={v}");
    }
    Ok(())
}
