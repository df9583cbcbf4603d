//! `kill -9` of a hub with a ledger while clients submit signed transfers and receipt settlements
//! to it over HTTP. Proven, after every kill:
//!
//! - the ledger file verifies (every signature, the hash chain, checkpoints, tables: `verify`) and
//!   its log has no gap;
//! - every transfer whose `POST /api/v1/transactions` was answered is in the log at the `seq` and
//!   with the `hash` it was answered with, and every receipt whose `POST /api/v1/receipts` was
//!   answered `settled` is in a logged settlement;
//! - nothing else is: each sender's logged transfers are exactly its acknowledged ones plus, at
//!   most, the one request it had in flight when the hub died (a settlement in flight is in the log
//!   whole or not at all).
//!
//! And after each restart, over HTTP: the hub reports the same number of entries and head hash as
//! the file, every sender's `nonce` is its acknowledged transfers plus those in flight that made it
//! (so a client re-reads it rather than assuming), the acknowledged transfers show in the account's
//! history at their `seq`, and replaying the acknowledged receipts settles nothing again (`stale`).
//! At the end the supply still adds up: nothing minted since genesis, `minted − burned` equals
//! balances, stakes, vesting and the stakers' pool (also recounted account by account), and what
//! the genesis accounts hold, the pool and the burned tokens sum to what genesis minted.
//!
//! How: the hub runs in a child process — this test binary re-executed with
//! `SEEDBANK_HUB_LEDGER_CRASH_CHILD` set to the data directory, running the ignored
//! `child_ledger_hub` test, which opens the hub on `127.0.0.1:0`, prints the address it got, and
//! serves until killed. The parent creates the ledger once (genesis with funded accounts, keys
//! derived from fixed seeds so both processes agree, and one torrent registered for receipts),
//! then runs rounds: start the child, check what the previous round left, start one client thread
//! per sender account (so nonces never race), `kill -9` the child after a random delay, join the
//! threads (a request failing then was in flight: unacknowledged, in the log or not), and check
//! the file.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hubapi::{ClientError, HubClient};
use ledger::genesis::Allocation;
use ledger::{Genesis, Ledger, SystemTx, Tx};
use rand::Rng;
use token::{
    Address, Amount, Domain, Receipt, ReceiptOutcome, SecretKey, Signed, Transfer, UserTx,
    keccak256,
};

const CHILD_ENV: &str = "SEEDBANK_HUB_LEDGER_CRASH_CHILD";
/// Kills; one more start checks the last of them.
const ROUNDS: usize = 5;
/// Accounts that submit, one client thread each.
const SENDERS: usize = 4;
/// Accounts that only receive transfers and upload (are paid for) in receipts, so a sender's
/// history holds only its own transactions.
const SINKS: usize = 3;
/// One settlement in this many requests.
const SETTLE_ONE_IN: u32 = 8;
const TORRENT: [u8; 32] = [0xcd; 32];
const TORRENT_SIZE: u64 = 1 << 40;
/// The longest history page the hub serves.
const HISTORY_PAGE: usize = 1000;
/// How long anything the parent waits for may take on a loaded machine before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

fn key(seed: &str) -> SecretKey {
    SecretKey::from_bytes(&keccak256(seed.as_bytes())).expect("a valid secp256k1 key")
}

fn operator() -> SecretKey {
    key("hub ledger crash operator")
}

fn senders() -> Vec<SecretKey> {
    (0..SENDERS)
        .map(|i| key(&format!("hub ledger crash sender {i}")))
        .collect()
}

fn sinks() -> Vec<Address> {
    (0..SINKS)
        .map(|i| key(&format!("hub ledger crash sink {i}")).address())
        .collect()
}

fn genesis() -> Genesis {
    let mut g = Genesis::from_toml(&Genesis::template(operator().address())).unwrap();
    let senders = senders();
    let funded = senders
        .iter()
        .map(|k| (k.address(), Amount::tokens(1_000_000_000)))
        .chain(sinks().into_iter().map(|a| (a, Amount::tokens(1))));
    for (account, liquid) in funded {
        g.allocations.push(Allocation {
            account,
            liquid,
            staked: Amount::ZERO,
            lock_until: 0,
            member: None,
        });
    }
    g
}

/// The child process of `kill_9_hub_loses_no_acknowledged_transaction`: opens the hub with its
/// ledger on a free loopback port, prints `LISTEN <addr> <ms to open>`, and serves until killed.
/// Ignored, so a normal test run never counts it as a test that passed.
#[test]
#[ignore = "a child process of kill_9_hub_loses_no_acknowledged_transaction, not a test"]
fn child_ledger_hub() {
    let dir = PathBuf::from(std::env::var(CHILD_ENV).expect("spawned by the crash test"));
    let config = common::config(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let opening = Instant::now();
        let hub = hub::Hub::open_with_ledger(config, operator()).expect("open the hub");
        let listener = hub.bind().await.expect("bind");
        let addr = listener.local_addr().unwrap();
        // The test harness has printed `test child_ledger_hub ... ` with no line end.
        // Its own line: the test harness may have printed `test child_ledger_hub ... ` unended.
        println!("\nLISTEN {addr} {}", opening.elapsed().as_millis());
        hub.serve(listener, std::future::pending()).await.unwrap();
    });
}

/// The child hub; killed when dropped, so a failing test leaves no process behind.
struct ChildHub {
    child: Child,
    addr: SocketAddr,
    open_ms: u64,
    stderr: Option<JoinHandle<String>>,
}

impl Drop for ChildHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildHub {
    fn start(dir: &Path) -> ChildHub {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_ledger_hub",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child hub");
        let mut hub = ChildHub {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            open_ms: 0,
            stderr: None,
        };
        let mut stderr = hub.child.stderr.take().unwrap();
        hub.stderr = Some(std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        }));
        let stdout = lines(hub.child.stdout.take().unwrap());
        let deadline = Instant::now() + PATIENCE;
        let listen = loop {
            match stdout.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("LISTEN ") {
                        break rest.to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    hub.fail(&format!("did not listen within {PATIENCE:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => hub.fail("exited before listening"),
            }
        };
        let (addr, ms) = listen.split_once(' ').expect("LISTEN <addr> <ms>");
        hub.addr = addr.parse().expect("a socket address");
        hub.open_ms = ms.parse().expect("milliseconds");
        hub
    }

    /// Kills the child and fails the test with what it printed to stderr.
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let status = self.child.wait();
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default());
        panic!(
            "the child hub {why} ({status:?}); its stderr:\n{}",
            stderr.unwrap_or_default()
        );
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `kill -9`, after checking the child is still running (it must not die on its own).
    fn kill_9(mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.fail(&format!("exited on its own ({status}) before the kill"));
        }
        self.child.kill().expect("kill the child hub"); // SIGKILL
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "the child hub died of the kill");
    }
}

fn lines(from: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut from = BufReader::new(from);
        loop {
            let mut line = String::new();
            match from.read_line(&mut line) {
                Ok(n) if n > 0 => {
                    if sender.send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
    });
    receiver
}

/// A transfer the hub answered: durable at `seq` with `hash`.
#[derive(Clone, Debug)]
struct AckedTransfer {
    nonce: u64,
    seq: u64,
    hash: [u8; 32],
}

/// The request a sender had unanswered when the hub died: it may or may not be in the log.
#[derive(Clone, Debug)]
enum InFlight {
    Transfer { nonce: u64 },
    Settle { sessions: Vec<[u8; 32]> },
}

/// What one sender's client thread saw in one round.
#[derive(Default)]
struct SenderRound {
    transfers: Vec<AckedTransfer>,
    /// Receipts answered `settled`, with the bytes they settled.
    receipts: Vec<Signed<Receipt>>,
    settlements: usize,
    in_flight: Option<InFlight>,
    /// The request in flight never connected (the hub was gone): it cannot be in the log.
    refused: bool,
    /// When the request that ended the thread failed, and how.
    failed: Option<(Instant, String)>,
    /// Answers that are wrong whatever the kill did (an API error, an unexpected outcome).
    errors: Vec<String>,
}

/// Submits as `key` (starting at `nonce`) until a request fails, which the kill makes happen.
fn submit_until_killed(
    client: HubClient,
    domain: Domain,
    key: SecretKey,
    mut nonce: u64,
    acks: Arc<AtomicUsize>,
) -> SenderRound {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sinks = sinks();
    let sender = key.address();
    let mut rng = rand::rng();
    let mut out = SenderRound::default();
    loop {
        let to = sinks[rng.random_range(0..sinks.len())];
        let (result, in_flight) = if rng.random_range(0..SETTLE_ONE_IN) == 0 {
            // A few receipts, each on a fresh session so none is stale.
            let receipts: Vec<Signed<Receipt>> = (0..rng.random_range(1..=3))
                .map(|_| {
                    Signed::<Receipt>::sign(
                        &domain,
                        &key,
                        Receipt {
                            collective: domain.verifying_contract,
                            torrent: TORRENT,
                            uploader: to,
                            downloader: sender,
                            session: token::session_at(token::unix_now(), rng.random()),
                            bytes: rng.random_range(1..=1 << 20),
                        },
                    )
                })
                .collect();
            let sessions = receipts.iter().map(|r| r.message.session).collect();
            let result = runtime.block_on(client.settle(receipts.clone()));
            let result = result.map(|answer| {
                out.settlements += 1;
                if answer.outcomes.len() != receipts.len() {
                    out.errors.push(format!(
                        "{} outcomes for {} receipts",
                        answer.outcomes.len(),
                        receipts.len()
                    ));
                }
                for (r, o) in receipts.into_iter().zip(answer.outcomes) {
                    match o {
                        ReceiptOutcome::Settled { bytes, .. } if bytes == r.message.bytes => {
                            out.receipts.push(r)
                        }
                        other => out.errors.push(format!(
                            "receipt for {} bytes answered {other:?}",
                            r.message.bytes
                        )),
                    }
                }
            });
            (result, InFlight::Settle { sessions })
        } else {
            let tx = Signed::<UserTx>::sign(
                &domain,
                &key,
                UserTx::Transfer(Transfer {
                    from: sender,
                    to,
                    amount: Amount(rng.random_range(1..=1_000_000)),
                    nonce,
                }),
            );
            let result = runtime.block_on(client.submit(&tx)).map(|answer| {
                let hash = hex::decode(&answer.hash)
                    .ok()
                    .and_then(|h| <[u8; 32]>::try_from(h).ok())
                    .unwrap_or_else(|| panic!("a 32-byte hex hash, not {:?}", answer.hash));
                out.transfers.push(AckedTransfer {
                    nonce,
                    seq: answer.seq,
                    hash,
                });
                nonce += 1;
            });
            (result, InFlight::Transfer { nonce })
        };
        match result {
            Ok(()) => {
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Err(e @ ClientError::Api { .. }) => {
                out.errors.push(format!("{sender}: the hub refused: {e}"));
                out.failed = Some((Instant::now(), e.to_string()));
                return out;
            }
            // The connection broke (or never opened): the hub was killed.
            Err(e) => {
                out.refused = matches!(e, ClientError::Connect { .. });
                out.in_flight = Some(in_flight);
                out.failed = Some((Instant::now(), e.to_string()));
                return out;
            }
        }
    }
}

/// The ledger's log as read from the file of a dead hub.
struct Log {
    hashes: Vec<[u8; 32]>,
    /// (sender, nonce) → seq of every logged transfer.
    transfers: HashMap<(Address, u64), u64>,
    /// (downloader, session) of every logged receipt.
    sessions: HashSet<(Address, [u8; 32])>,
}

fn read_log(path: &Path) -> Log {
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = db
        .prepare("SELECT seq, hash, body FROM log ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    let mut log = Log {
        hashes: Vec::new(),
        transfers: HashMap::new(),
        sessions: HashSet::new(),
    };
    for row in rows {
        let (seq, hash, body) = row.unwrap();
        assert_eq!(
            seq,
            log.hashes.len() as u64,
            "the log's sequence numbers have a gap"
        );
        log.hashes
            .push(hash.try_into().expect("a 32-byte entry hash"));
        match serde_json::from_str::<Tx>(&body)
            .unwrap_or_else(|e| panic!("entry {seq} does not parse: {e}"))
        {
            Tx::User { tx } => {
                if let UserTx::Transfer(t) = tx.message
                    && let Some(earlier) = log.transfers.insert((t.from, t.nonce), seq)
                {
                    panic!(
                        "{} nonce {} is logged twice, at {earlier} and {seq}",
                        t.from, t.nonce
                    );
                }
            }
            Tx::System {
                tx: SystemTx::Settle { receipts },
                ..
            } => log.sessions.extend(
                receipts
                    .iter()
                    .map(|r| (r.message.downloader, r.message.session)),
            ),
            Tx::System { .. } => {}
        }
    }
    log
}

/// Everything acknowledged so far, per sender, across rounds.
#[derive(Default, Clone)]
struct Sender {
    transfers: Vec<AckedTransfer>,
    receipts: Vec<Signed<Receipt>>,
    /// Transfers in flight at a kill that the log holds anyway.
    landed: u64,
}

impl Sender {
    fn logged_nonces(&self) -> u64 {
        self.transfers.len() as u64 + self.landed
    }
}

/// After a kill: checks the file against what was acknowledged (see the module doc) and settles
/// each in-flight request (landed or not). Returns (entries, in-flight requests that landed).
fn check_file(
    path: &Path,
    accounts: &[Address],
    acked: &mut [Sender],
    round: &[SenderRound],
) -> (u64, usize) {
    let report =
        ledger::verify(path, |_| {}).unwrap_or_else(|e| panic!("verify after kill -9 fails: {e}"));
    let log = read_log(path);
    assert_eq!(report.entries, log.hashes.len() as u64);
    let mut landed = 0;
    for ((account, sender), seen) in accounts.iter().zip(acked.iter_mut()).zip(round) {
        let mut previous = None;
        for t in &sender.transfers {
            let Some(&seq) = log.transfers.get(&(*account, t.nonce)) else {
                panic!(
                    "{account} nonce {}, acknowledged at seq {}, is not in the log (of {} entries)",
                    t.nonce,
                    t.seq,
                    log.hashes.len()
                );
            };
            assert_eq!(
                seq, t.seq,
                "{account} nonce {} is logged at another seq than acknowledged",
                t.nonce
            );
            assert_eq!(
                log.hashes[seq as usize], t.hash,
                "entry {seq} has another hash than acknowledged"
            );
            assert!(
                previous < Some(t.seq),
                "{account}: nonce {} acknowledged at seq {}, before the nonce before it",
                t.nonce,
                t.seq
            );
            previous = Some(t.seq);
        }
        for r in &sender.receipts {
            assert!(
                log.sessions.contains(&(*account, r.message.session)),
                "a receipt of {account} answered settled is in no logged settlement (session {})",
                hex::encode(r.message.session)
            );
        }
        let landed_here = match &seen.in_flight {
            Some(InFlight::Transfer { nonce }) => {
                assert_eq!(*nonce, sender.logged_nonces(), "{account}: nonce in flight");
                let here = log.transfers.contains_key(&(*account, *nonce));
                sender.landed += u64::from(here);
                here
            }
            Some(InFlight::Settle { sessions }) => {
                let logged = sessions
                    .iter()
                    .filter(|s| log.sessions.contains(&(*account, **s)))
                    .count();
                assert!(
                    logged == 0 || logged == sessions.len(),
                    "{account}: {logged} of the {} receipts in flight are logged: a settlement was split",
                    sessions.len()
                );
                logged > 0
            }
            None => false,
        };
        assert!(
            !(landed_here && seen.refused),
            "{account}: a request that never connected is in the log"
        );
        landed += usize::from(landed_here);
        let logged = log.transfers.keys().filter(|(a, _)| a == account).count() as u64;
        assert_eq!(
            logged,
            sender.logged_nonces(),
            "{account}: transfers in the log against {} acknowledged and {} in flight that landed",
            sender.transfers.len(),
            sender.landed
        );
    }
    (report.entries, landed)
}

/// After a restart, over HTTP: the hub serves what the file holds. `since` is each sender's count
/// of acknowledged transfers before the last round (those after it are looked up in the history),
/// `receipts_since` likewise for receipts (those after it are replayed and must be stale).
/// Returns each sender's nonce, and how many transfers the history confirmed and receipts were
/// replayed.
fn check_hub(
    client: &HubClient,
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    (entries, head): (u64, [u8; 32]),
    accounts: &[Address],
    acked: &[Sender],
    (since, receipts_since): (&[usize], &[usize]),
) -> (Vec<u64>, usize, usize) {
    runtime.block_on(async {
        let info = client.ledger().await.expect("GET /api/v1/ledger");
        assert_eq!(info.domain, genesis().domain());
        // On start the hub may log entries of its own at once (the auditor's epoch commitments,
        // the epoch engine's close): the file's head must then be where it was in the hub's log.
        assert!(
            info.entries >= entries,
            "after a restart the hub has {} entries, the file had {entries}",
            info.entries
        );
        if info.entries == entries {
            assert_eq!(
                info.log_hash,
                hex::encode(head),
                "after a restart the hub's head is not the file's"
            );
        } else {
            let log = read_log(path);
            assert_eq!(
                log.hashes[entries as usize - 1],
                head,
                "the hub's own entries after a restart replaced the file's head"
            );
        }
        let (mut nonces, mut confirmed, mut replayed) = (Vec::new(), 0, 0);
        for (i, (account, sender)) in accounts.iter().zip(acked).enumerate() {
            let nonce = client.account(account).await.expect("GET account").nonce;
            assert_eq!(
                nonce,
                sender.logged_nonces(),
                "{account}: the hub's nonce against {} acknowledged and {} in flight that landed",
                sender.transfers.len(),
                sender.landed
            );
            nonces.push(nonce);
            let history = client
                .history(account, HISTORY_PAGE)
                .await
                .expect("GET history");
            // A full page may have cut off older entries: look only at what it covers.
            let oldest = match history.last() {
                Some(e) if history.len() == HISTORY_PAGE => e.seq,
                _ => 0,
            };
            let mut listed = BTreeMap::new();
            for e in history {
                if let Tx::User { tx } = serde_json::from_value::<Tx>(e.tx).expect("a logged tx")
                    && let UserTx::Transfer(t) = tx.message
                {
                    assert_eq!(t.from, *account, "another account's transfer in the history");
                    listed.insert(t.nonce, e.seq);
                }
            }
            for t in &sender.transfers[since[i]..] {
                if t.seq >= oldest {
                    confirmed += 1;
                    assert_eq!(
                        listed.get(&t.nonce),
                        Some(&t.seq),
                        "{account} nonce {}: the history disagrees with the acknowledgement",
                        t.nonce
                    );
                }
            }
            for chunk in sender.receipts[receipts_since[i]..].chunks(hubapi::MAX_RECEIPTS_PER_BATCH)
            {
                let again = client.settle(chunk.to_vec()).await.expect("replay receipts");
                replayed += chunk.len();
                for o in again.outcomes {
                    assert!(
                        matches!(&o, ReceiptOutcome::Rejected { code, .. } if code == "stale"),
                        "{account}: an acknowledged receipt replayed after the restart gave {o:?}, not stale"
                    );
                }
            }
        }
        (nonces, confirmed, replayed)
    })
}

#[test]
fn kill_9_hub_loses_no_acknowledged_transaction() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(dir.path());
    let path = config.ledger_path();
    let genesis = genesis();
    let minted: u128 = genesis
        .allocations
        .iter()
        .map(|a| a.liquid.0 + a.staked.0)
        .sum();
    {
        let ledger = Ledger::create(&path, &genesis, operator()).expect("create the ledger");
        ledger
            .system(SystemTx::RegisterTorrent {
                torrent: TORRENT,
                size: TORRENT_SIZE,
                price_per_byte: genesis.price_per_byte(),
            })
            .expect("register the torrent");
    }
    let keys = senders();
    let accounts: Vec<Address> = keys.iter().map(SecretKey::address).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut acked = vec![Sender::default(); SENDERS];
    let mut since = vec![0; SENDERS];
    let mut receipts_since = vec![0; SENDERS];
    // (entries, head) of the file after the last kill.
    let mut head = {
        let log = read_log(&path);
        (log.hashes.len() as u64, *log.hashes.last().unwrap())
    };
    let mut rng = rand::rng();
    // The last round's figures, printed once the restart after it has checked them over HTTP.
    let mut last_round: Option<String> = None;
    for round in 0..=ROUNDS {
        let hub = ChildHub::start(dir.path());
        let client = HubClient::new(&hub.url()).unwrap();
        let (nonces, confirmed, replayed) = check_hub(
            &client,
            &runtime,
            &path,
            head,
            &accounts,
            &acked,
            (&since, &receipts_since),
        );
        if let Some(line) = last_round.take() {
            println!(
                "{line}; after the restart the history confirmed {confirmed} transfers and {replayed} replayed receipts were stale"
            );
        }
        if round == ROUNDS {
            hub.kill_9();
            break;
        }
        since = acked.iter().map(|s| s.transfers.len()).collect();
        receipts_since = acked.iter().map(|s| s.receipts.len()).collect();
        let acks = Arc::new(AtomicUsize::new(0));
        let clients_started = Instant::now();
        let threads: Vec<JoinHandle<SenderRound>> = keys
            .iter()
            .zip(nonces)
            .map(|(key, nonce)| {
                let (client, key, acks) = (client.clone(), key.clone(), Arc::clone(&acks));
                let domain = genesis.domain();
                std::thread::spawn(move || submit_until_killed(client, domain, key, nonce, acks))
            })
            .collect();
        // Short enough that re-verifying the growing log each round stays quick.
        std::thread::sleep(Duration::from_millis(rng.random_range(100..800)));
        let deadline = Instant::now() + PATIENCE;
        while acks.load(Ordering::Relaxed) == 0 {
            assert!(
                Instant::now() < deadline,
                "no request answered in {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let open_ms = hub.open_ms;
        let killed_at = Instant::now();
        hub.kill_9();
        let seen: Vec<SenderRound> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (account, s) in accounts.iter().zip(&seen) {
            assert!(s.errors.is_empty(), "{account}: {:?}", s.errors);
            let (at, why) = s.failed.as_ref().expect("threads end on a failure");
            assert!(
                *at >= killed_at,
                "{account}: a request failed before the kill: {why}"
            );
        }
        for (sender, s) in acked.iter_mut().zip(&seen) {
            sender.transfers.extend(s.transfers.iter().cloned());
            sender.receipts.extend(s.receipts.iter().cloned());
        }
        let checking = Instant::now();
        let (entries, landed) = check_file(&path, &accounts, &mut acked, &seen);
        head = (entries, *read_log(&path).hashes.last().unwrap());
        last_round = Some(format!(
            "round {round}: hub opened in {open_ms} ms, killed {} ms after the clients started; \
             acknowledged {} transfers and {} settlements ({} receipts); in flight {} ({landed} \
             landed, {} refused at connect); log {entries} entries, verified in {} ms",
            (killed_at - clients_started).as_millis(),
            seen.iter().map(|s| s.transfers.len()).sum::<usize>(),
            seen.iter().map(|s| s.settlements).sum::<usize>(),
            seen.iter().map(|s| s.receipts.len()).sum::<usize>(),
            seen.iter().filter(|s| s.in_flight.is_some()).count(),
            seen.iter().filter(|s| s.refused).count(),
            checking.elapsed().as_millis(),
        ));
    }

    // The supply after all the kills: nothing minted, nothing lost.
    let report = ledger::verify(&path, |_| {}).expect("verify after the last kill");
    let (ledger, opened) = Ledger::open(&path, operator()).expect("open after the kills");
    assert_eq!(opened.entries, report.entries);
    let supply = ledger.summary().supply;
    assert_eq!(supply, report.supply);
    assert_eq!(supply.minted.0, minted, "tokens were minted after genesis");
    assert_eq!(
        supply.minted.0 - supply.burned.0,
        supply.balances.0 + supply.stakes.0 + supply.vesting.0 + supply.stakers_pool.0,
        "the supply does not add up: {supply:?}"
    );
    assert_eq!(ledger.state().recount(), Ok(supply));
    let held: u128 = genesis
        .allocations
        .iter()
        .map(|a| {
            let account = ledger.account(&a.account);
            account.balance.0 + account.stake.0 + account.vesting.0
        })
        .sum();
    assert_eq!(
        held + supply.stakers_pool.0 + supply.burned.0,
        minted,
        "the genesis accounts, the pool and the burned tokens do not add up to what was minted"
    );
    let settled: usize = acked.iter().map(|s| s.receipts.len()).sum();
    assert!(
        settled == 0 || supply.burned.0 > 0,
        "settlements burned nothing"
    );
    println!(
        "{ROUNDS} kills: {} transfers and {settled} receipts acknowledged, {} entries, {} tokens burned; {:.1} s",
        acked.iter().map(|s| s.transfers.len()).sum::<usize>(),
        report.entries,
        supply.burned,
        started.elapsed().as_secs_f64()
    );
}
