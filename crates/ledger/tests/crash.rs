//! `kill -9` of a process committing to the ledger as fast as it can: every transaction whose
//! `submit` returned is in the log afterwards, at the place and with the hash it was acknowledged
//! with, the log has no gap, and the whole file still verifies (signatures, hash chain,
//! checkpoints, tables).
//!
//! The ledger runs in a child process: this test binary re-executes itself with
//! `SEEDBANK_LEDGER_CRASH_CHILD` set to the ledger's path, and the ignored `child_ledger` test then
//! commits transfers and settlements until it is killed, printing one `ACK` line per commit.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger::genesis::Allocation;
use ledger::{Genesis, Ledger, LedgerError, ReceiptOutcome, SystemTx, TxError, verify};
use token::{Amount, Receipt, SecretKey, Signed, Transfer, UserTx, keccak256};

const CHILD_ENV: &str = "SEEDBANK_LEDGER_CRASH_CHILD";
const ACCOUNTS: usize = 32;
const SUBMITTERS: usize = 16;
const TORRENT: [u8; 32] = [0xcd; 32];
const TORRENT_SIZE: u64 = 1 << 40;
/// How long anything the parent waits for may take on a loaded machine before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

fn key(seed: &str) -> SecretKey {
    SecretKey::from_bytes(&keccak256(seed.as_bytes())).expect("a valid secp256k1 key")
}

fn operator() -> SecretKey {
    key("crash operator")
}

fn accounts() -> Vec<SecretKey> {
    (0..ACCOUNTS).map(|i| key(&format!("acct{i}"))).collect()
}

fn genesis() -> Genesis {
    let mut g = Genesis::from_toml(&Genesis::template(operator().address())).unwrap();
    for a in accounts() {
        g.allocations.push(Allocation {
            account: a.address(),
            liquid: Amount::tokens(1_000_000_000),
            staked: Amount::ZERO,
            lock_until: 0,
            member: None,
        });
    }
    g
}

/// A random number below `below` (not cryptographic; each call draws fresh hasher keys).
fn random(below: u64) -> u64 {
    RandomState::new().hash_one(Instant::now()) % below
}

/// xorshift64*: the child's submitters draw many numbers each.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        Rng(RandomState::new().hash_one(salt) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One line to stdout in one write, flushed: a line the parent reads whole was printed after the
/// commit it reports. If the parent has gone, so does the child.
fn say(line: String) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

/// The child process of the tests below: opens (or creates) the ledger and commits transfers and
/// settlements from several threads until it is killed. Ignored, so a normal test run never counts
/// it as a test that passed.
#[test]
#[ignore = "a child process of the kill_9 tests below, not a test"]
fn child_ledger() {
    let path = PathBuf::from(std::env::var(CHILD_ENV).expect("spawned by the crash tests"));
    let operator = operator();
    // The test harness has printed `test child_ledger ... ` with no line end: end its line first.
    say("\nOPEN".into());
    let opening = Instant::now();
    let ledger = match Ledger::open(&path, operator.clone()) {
        Ok((ledger, _)) => ledger,
        // A first run, or one killed before the genesis was committed.
        Err(LedgerError::NoGenesis) => Ledger::create(&path, &genesis(), operator).expect("create"),
        Err(e) => panic!("open: {e}"),
    };
    if ledger.torrent(&TORRENT).is_none() {
        let c = ledger
            .system(SystemTx::RegisterTorrent {
                torrent: TORRENT,
                size: TORRENT_SIZE,
                price_per_byte: Amount(1_000),
            })
            .expect("register the torrent");
        say(format!("ACK {} {} register -", c.seq, hex::encode(c.hash)));
    }
    say(format!("READY {}", opening.elapsed().as_millis()));
    let keys = accounts();
    std::thread::scope(|s| {
        for t in 0..SUBMITTERS {
            let (ledger, keys) = (&ledger, &keys);
            s.spawn(move || submit_forever(ledger, keys, t as u64));
        }
    });
}

fn submit_forever(ledger: &Ledger, keys: &[SecretKey], salt: u64) -> ! {
    let mut rng = Rng::new(salt);
    let domain = ledger.domain().clone();
    loop {
        let from = rng.below(ACCOUNTS as u64) as usize;
        let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
        if rng.below(8) == 0 {
            // A settlement of a few receipts, each on a fresh session so none is stale.
            let receipts: Vec<Signed<Receipt>> = (0..1 + rng.below(4))
                .map(|_| {
                    Signed::<Receipt>::sign(
                        &domain,
                        &keys[from],
                        Receipt {
                            collective: domain.verifying_contract,
                            torrent: TORRENT,
                            uploader: keys[to].address(),
                            downloader: keys[from].address(),
                            session: token::session_id(token::unix_now()),
                            bytes: 1 + rng.below(1 << 20),
                        },
                    )
                })
                .collect();
            let n = receipts.len();
            match ledger.system(SystemTx::Settle { receipts }) {
                Ok(c) => {
                    say(format!("ACK {} {} settle {n}", c.seq, hex::encode(c.hash)));
                    for outcome in &c.receipts {
                        if let ReceiptOutcome::Rejected { code, reason } = outcome {
                            say(format!("ERR receipt at {}: {code}: {reason}", c.seq));
                        }
                    }
                }
                Err(e) => say(format!("ERR settle: {e}")),
            }
        } else {
            let sender = keys[from].address();
            let nonce = ledger.account(&sender).nonce;
            let tx = Signed::<UserTx>::sign(
                &domain,
                &keys[from],
                UserTx::Transfer(Transfer {
                    from: sender,
                    to: keys[to].address(),
                    amount: Amount(1 + u128::from(rng.next())),
                    nonce,
                }),
            );
            match ledger.submit(tx) {
                Ok(c) => say(format!(
                    "ACK {} {} {sender} {nonce}",
                    c.seq,
                    hex::encode(c.hash)
                )),
                // Another submitter used this account's nonce first.
                Err(TxError::Nonce { .. }) => {}
                Err(e) => say(format!("ERR transfer {sender} {nonce}: {e}")),
            }
        }
    }
}

/// Kills the child if the test fails before it does.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

enum Kill {
    /// This long after the child's ledger is open and its submitters start, and not before its
    /// first acknowledgement (so every such round makes progress).
    Running(Duration),
    /// This long after the child starts opening (or creating) the ledger.
    Opening(Duration),
}

struct Ack {
    seq: u64,
    hash: [u8; 32],
    /// `<from> <nonce>` of a transfer, `settle <n>`, or `register -`.
    what: String,
}

struct Round {
    acks: Vec<Ack>,
    errors: Vec<String>,
    /// How long opening the ledger took, if the child got that far before it was killed.
    open_ms: Option<u64>,
}

fn lines(from: impl Read + Send + 'static) -> (Receiver<String>, JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut from = BufReader::new(from);
        loop {
            let mut line = String::new();
            match from.read_line(&mut line) {
                // A line cut short by the kill was never acknowledged: drop it.
                Ok(_) if line.ends_with('\n') => {
                    if sender.send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
    });
    (receiver, reader)
}

/// Reads lines into `seen` until one starts with `what`.
fn wait_for(stdout: &Receiver<String>, seen: &mut Vec<String>, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    while !seen.iter().any(|l| l.starts_with(what)) {
        match stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout) => return Err(format!("never printed {what}")),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!("stopped before printing {what}"));
            }
        }
    }
    Ok(())
}

/// Runs one child until it is killed as `kill` says, and returns what it acknowledged.
fn round(path: &Path, kill: Kill) -> Round {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_ledger",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let mut child = Guard(child);
    let (stdout, stdout_reader) = lines(child.0.stdout.take().unwrap());
    let mut stderr = child.0.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut seen = Vec::new();
    let waited = match kill {
        Kill::Running(after) => wait_for(&stdout, &mut seen, "READY").and_then(|()| {
            std::thread::sleep(after);
            seen.extend(stdout.try_iter());
            wait_for(&stdout, &mut seen, "ACK")
        }),
        Kill::Opening(after) => {
            wait_for(&stdout, &mut seen, "OPEN").map(|()| std::thread::sleep(after))
        }
    };
    if let Err(why) = waited {
        let _ = child.0.kill();
        let status = child.0.wait();
        panic!(
            "the child {why} ({status:?}):\n{}",
            stderr_reader.join().unwrap()
        );
    }
    if let Ok(Some(status)) = child.0.try_wait() {
        panic!(
            "the child exited on its own ({status}):\n{}",
            stderr_reader.join().unwrap()
        );
    }
    child.0.kill().unwrap(); // SIGKILL
    let status = child.0.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the child died of the kill");
    stdout_reader.join().unwrap();
    seen.extend(stdout.try_iter());
    let stderr = stderr_reader.join().unwrap();
    let mut round = Round {
        acks: Vec::new(),
        errors: Vec::new(),
        open_ms: None,
    };
    for line in seen {
        if let Some(rest) = line.strip_prefix("ACK ") {
            let mut fields = rest.splitn(3, ' ');
            let (Some(seq), Some(hash), Some(what)) = (fields.next(), fields.next(), fields.next())
            else {
                panic!("malformed line {line:?}");
            };
            round.acks.push(Ack {
                seq: seq.parse().expect("seq"),
                hash: hex::decode(hash)
                    .expect("hex")
                    .try_into()
                    .expect("32 bytes"),
                what: what.to_owned(),
            });
        } else if line.starts_with("ERR") {
            round.errors.push(line);
        } else if let Some(ms) = line.strip_prefix("READY ") {
            round.open_ms = Some(ms.parse().expect("READY <ms>"));
        }
    }
    assert!(
        round.errors.is_empty(),
        "the child reported errors: {:?}\n{stderr}",
        &round.errors[..round.errors.len().min(10)]
    );
    round
}

/// Everything acknowledged so far, across rounds: each sequence number with the hash it was
/// acknowledged with, and each transfer's (sender, nonce) once.
#[derive(Default)]
struct Acked {
    entries: BTreeMap<u64, [u8; 32]>,
    transfers: BTreeSet<String>,
}

impl Acked {
    fn add(&mut self, acks: &[Ack]) {
        for ack in acks {
            if let Some(earlier) = self.entries.insert(ack.seq, ack.hash) {
                assert_eq!(
                    earlier, ack.hash,
                    "entry {} was acknowledged twice with different hashes: an acknowledged entry was lost and its place reused",
                    ack.seq
                );
            }
            if !ack.what.starts_with("settle") && !ack.what.starts_with("register") {
                assert!(
                    self.transfers.insert(ack.what.clone()),
                    "transfer {} acknowledged twice",
                    ack.what
                );
            }
        }
    }
}

/// After a kill: the file verifies, its log is exactly `0..n`, and holds every acknowledged entry
/// with its acknowledged hash. Returns (entries, state root).
fn check(path: &Path, acked: &Acked) -> (u64, [u8; 32]) {
    let report = verify(path, |_| {}).unwrap_or_else(|e| panic!("verify after kill -9: {e}"));
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = db
        .prepare("SELECT seq, hash FROM log ORDER BY seq")
        .unwrap();
    let log: Vec<(u64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (i, (seq, _)) in log.iter().enumerate() {
        assert_eq!(*seq, i as u64, "the log's sequence numbers have a gap");
    }
    assert_eq!(log.len() as u64, report.entries);
    for (seq, hash) in &acked.entries {
        let Some((_, stored)) = log.get(*seq as usize) else {
            panic!(
                "acknowledged entry {seq} is missing: the log ends at {}",
                log.len()
            );
        };
        assert_eq!(
            stored[..],
            hash[..],
            "entry {seq} differs from what was acknowledged"
        );
    }
    (report.entries, report.state_root)
}

#[test]
fn kill_9_loses_no_acknowledged_transaction() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut acked = Acked::default();
    let mut per_round = Vec::new();
    let mut entries = 0;
    let mut root = [0; 32];
    for _ in 0..8 {
        let delay = Duration::from_millis(100 + random(600));
        let round = round(&path, Kill::Running(delay));
        acked.add(&round.acks);
        let (now, now_root) = check(&path, &acked);
        assert!(
            now > entries,
            "no progress: {now} entries after {entries} ({} acks this round)",
            round.acks.len()
        );
        let open_ms = round.open_ms.expect("killed after opening");
        per_round.push((open_ms, delay.as_millis(), round.acks.len(), now));
        (entries, root) = (now, now_root);
    }
    let total: usize = per_round.iter().map(|(_, _, acks, _)| acks).sum();
    assert_eq!(total, acked.entries.len());
    println!(
        "{} rounds (opened in ms, killed after ms more, acks, entries): {per_round:?}; {total} acks, {entries} entries, {:.1} s",
        per_round.len(),
        started.elapsed().as_secs_f64()
    );
    let (reopened, report) = Ledger::open(&path, operator()).expect("open after the kills");
    assert_eq!(report.entries, entries);
    assert_eq!(reopened.state().root(), root);
}

#[test]
fn kill_9_while_opening_leaves_a_ledger_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut acked = Acked::default();
    // Killed while creating the ledger: either nothing was committed, or a whole genesis was.
    let create = round(&path, Kill::Opening(Duration::from_millis(random(60))));
    acked.add(&create.acks);
    let created = match verify(&path, |_| {}) {
        Ok(_) => {
            check(&path, &acked);
            true
        }
        Err(LedgerError::NoGenesis) => {
            assert!(acked.entries.is_empty());
            false
        }
        Err(e) => panic!("verify after a kill during create: {e}"),
    };
    let first = round(&path, Kill::Running(Duration::from_millis(600)));
    acked.add(&first.acks);
    let (mut entries, _) = check(&path, &acked);
    // Killed while replaying the log on open.
    let mut opened = Vec::new();
    for _ in 0..3 {
        let r = round(&path, Kill::Opening(Duration::from_millis(random(5))));
        opened.push(r.open_ms);
        acked.add(&r.acks);
        let (now, _) = check(&path, &acked);
        assert!(now >= entries);
        entries = now;
    }
    let last = round(&path, Kill::Running(Duration::from_millis(100)));
    acked.add(&last.acks);
    let (now, _) = check(&path, &acked);
    assert!(now > entries, "the ledger takes transactions again");
    println!(
        "killed while creating (genesis committed: {created}), then 3 times while opening a log of \
         {entries} entries (open finished first, in ms: {opened:?}); {now} entries after"
    );
}
