//! The running ledger: callers check signatures on their own threads (the expensive part, so it
//! uses every core), then queue the transaction; one writer thread takes everything queued, applies
//! it to the in-memory state, writes the group to SQLite and commits it with one fsync, and only
//! then answers. An answer therefore means "durable". A group whose commit fails is undone by
//! reloading the state from the tables, which the failed commit left as they were.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::Connection;
use serde::Serialize;
use token::{Address, Amount, Domain, Receipt, SecretKey, Signed, UserTx};

use crate::LedgerError;
use crate::genesis::Genesis;
use crate::hosting::{EpochInfo, Host, ReportInfo};
use crate::replay::{ReplayReport, parse_entry, replay};
use crate::state::{Account, MemberChange, State, Supply, TorrentTerms, system_digest};
use crate::store::{self, StoredEntry};
use crate::tx::{Entry, ReceiptOutcome, SystemTx, Tx, TxError};

/// Most transactions one commit takes: bounds the latency of the group's first member.
const MAX_GROUP: usize = 4096;
/// Queue length before submitters wait: back-pressure instead of unbounded memory.
const QUEUE: usize = 16 * 1024;
/// A checkpoint of the state root every this many entries (and at shutdown).
const CHECKPOINT_EVERY: u64 = 10_000;

/// A committed transaction: durable once you hold this.
#[derive(Clone, Debug, Serialize)]
pub struct Committed {
    pub seq: u64,
    #[serde(serialize_with = "token::hex32::serialize")]
    pub hash: [u8; 32],
    pub time: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<ReceiptOutcome>,
    #[serde(skip)]
    pub members: Vec<MemberChange>,
}

/// The ledger's head and parameters, for `GET /api/v1/ledger` and the wallet.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub genesis: Genesis,
    pub domain: Domain,
    pub entries: u64,
    #[serde(serialize_with = "token::hex32::serialize")]
    pub log_hash: [u8; 32],
    pub time: u64,
    pub supply: Supply,
    pub accounts: usize,
    pub members: usize,
    pub price_per_byte: Amount,
}

#[derive(Clone, Debug, Serialize)]
pub struct HistoryItem {
    pub seq: u64,
    pub time: u64,
    pub tx: Tx,
}

enum Pending {
    User(Signed<UserTx>),
    System(SystemTx),
}

type Reply = SyncSender<Result<Committed, TxError>>;

struct Request {
    tx: Pending,
    reply: Reply,
}

struct Shared {
    state: Mutex<State>,
    reader: Mutex<Connection>,
    domain: Domain,
    separator: [u8; 32],
    path: PathBuf,
}

pub struct Ledger {
    shared: Arc<Shared>,
    /// Held while open: a second process writing the same log would fork the state.
    _lock: std::fs::File,
    sender: Mutex<Option<SyncSender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An exclusive lock on `<path>.lock`, released when the file is closed (also by a crash).
fn take_lock(path: &Path) -> Result<std::fs::File, LedgerError> {
    let lock_path = path.with_extension("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| LedgerError::Busy(format!("{}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LedgerError::Busy(format!(
            "{} is open in another process (a running hub?); stop it first",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(LedgerError::Busy(format!("{}: {e}", lock_path.display())))
        }
    }
}

use token::unix_now;

/// Where the ledger's entry times come from, in unix seconds. A hub uses the wall clock
/// ([`Clock::system`], the default). Simulations and tests replay a scripted timeline instead
/// (`sim`'s entries carry simulated times), so they hand [`Ledger::create_with_clock`] /
/// [`Ledger::open_with_clock`] a clock they set themselves.
///
/// Whatever the clock says, an entry's time never goes back: each group of entries is stamped
/// with the later of the clock and the last entry's time, as with the wall clock. The writer
/// reads the clock once per group (the genesis: once, in `create`).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock(Arc::new(unix_now))
    }

    /// A clock reading `now()` (unix seconds) each time the ledger needs the time.
    pub fn new(now: impl Fn() -> u64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> u64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

impl Ledger {
    /// Creates a new collective's ledger at `path` with `genesis` as its first entry.
    pub fn create(
        path: &Path,
        genesis: &Genesis,
        operator: SecretKey,
    ) -> Result<Ledger, LedgerError> {
        Ledger::create_with_clock(path, genesis, operator, Clock::system())
    }

    /// [`Ledger::create`], with entry times (the genesis' too) read from `clock` instead of the
    /// wall clock: for simulations and tests that replay a scripted timeline.
    pub fn create_with_clock(
        path: &Path,
        genesis: &Genesis,
        operator: SecretKey,
        clock: Clock,
    ) -> Result<Ledger, LedgerError> {
        genesis
            .validate()
            .map_err(|e| LedgerError::Genesis(e.to_string()))?;
        if operator.address() != genesis.operator {
            return Err(LedgerError::OperatorMismatch {
                given: operator.address(),
                expected: genesis.operator,
            });
        }
        let lock = take_lock(path)?;
        let mut conn = store::open(path)?;
        let entries: i64 = conn
            .query_row("SELECT COUNT(*) FROM log", [], |r| r.get(0))
            .map_err(store::StoreError::from)?;
        if entries > 0 {
            return Err(LedgerError::Exists);
        }
        let mut state = State::default();
        let tx = SystemTx::Genesis(Box::new(genesis.clone()));
        let signature = operator.sign_digest(&system_digest(&genesis.domain(), 0, &tx));
        let tx = Tx::System { tx, signature };
        let body = serde_json::to_string(&tx).map_err(|e| LedgerError::Genesis(e.to_string()))?;
        let entry = Entry {
            seq: 0,
            time: clock.now(),
            tx,
        };
        let effects = state
            .apply(&entry, body.as_bytes(), true)
            .map_err(|e| LedgerError::Genesis(e.to_string()))?;
        let stored = StoredEntry {
            seq: 0,
            time: entry.time,
            body,
            hash: state.log_hash(),
        };
        let db = conn.transaction().map_err(store::StoreError::from)?;
        store::write_group(
            &db,
            &[(stored, effects.accounts.into_iter().collect())],
            &mut state,
        )?;
        db.commit().map_err(store::StoreError::from)?;
        store::write_checkpoint(&conn, &state)?;
        drop(conn);
        drop(lock);
        Ledger::open_with_clock(path, operator, clock).map(|(ledger, _)| ledger)
    }

    /// Opens an existing ledger: replays its log (signatures trusted) and checks it against the
    /// stored checkpoints and tables before accepting any transaction.
    pub fn open(path: &Path, operator: SecretKey) -> Result<(Ledger, ReplayReport), LedgerError> {
        Ledger::open_with_clock(path, operator, Clock::system())
    }

    /// [`Ledger::open`], with new entries' times read from `clock` instead of the wall clock (see
    /// [`Clock`]).
    pub fn open_with_clock(
        path: &Path,
        operator: SecretKey,
        clock: Clock,
    ) -> Result<(Ledger, ReplayReport), LedgerError> {
        let lock = take_lock(path)?;
        let conn = store::open(path)?;
        let (state, report) = replay(&conn, false, |n| {
            tracing::info!(entries = n, "replaying the ledger")
        })?;
        let genesis = state.genesis().ok_or(LedgerError::NoGenesis)?;
        if operator.address() != genesis.operator {
            return Err(LedgerError::OperatorMismatch {
                given: operator.address(),
                expected: genesis.operator,
            });
        }
        let domain = genesis.domain();
        let separator = domain.separator();
        let reader = store::open(path)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            reader: Mutex::new(reader),
            domain,
            separator,
            path: path.to_path_buf(),
        });
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || write_loop(writer_shared, conn, receiver, operator, clock))
            .map_err(|e| {
                LedgerError::Store(store::StoreError::Corrupt(format!(
                    "cannot start the writer: {e}"
                )))
            })?;
        Ok((
            Ledger {
                shared,
                _lock: lock,
                sender: Mutex::new(Some(sender)),
                writer: Mutex::new(Some(writer)),
            },
            report,
        ))
    }

    pub fn domain(&self) -> &Domain {
        &self.shared.domain
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Checks the signature here (on the caller's thread), then commits. Blocks until durable.
    pub fn submit(&self, tx: Signed<UserTx>) -> Result<Committed, TxError> {
        match tx.check(&self.shared.domain, &self.shared.separator) {
            Ok(true) => {}
            Ok(false) => return Err(TxError::BadSignature(tx.message.signer())),
            Err(e) => return Err(TxError::MalformedSignature(e.to_string())),
        }
        self.send(Pending::User(tx))
    }

    /// Settles receipts: those with a bad signature are answered here and never logged; the rest
    /// go to the writer as one settlement, which is logged only if at least one receipt settles
    /// (so replayed or unfundable receipts cannot grow the log). Outcomes come back in the order
    /// given.
    pub fn settle(&self, receipts: Vec<Signed<Receipt>>) -> Result<Vec<ReceiptOutcome>, TxError> {
        let mut outcomes: Vec<Option<ReceiptOutcome>> = Vec::with_capacity(receipts.len());
        let mut valid = Vec::new();
        for r in receipts {
            if matches!(
                r.check(&self.shared.domain, &self.shared.separator),
                Ok(true)
            ) {
                outcomes.push(None);
                valid.push(r);
            } else {
                outcomes.push(Some(ReceiptOutcome::rejected(
                    "bad_signature",
                    "not signed by the downloader it names (forged, or for another collective)",
                )));
            }
        }
        let mut settled = if valid.is_empty() {
            Vec::new()
        } else {
            self.send(Pending::System(SystemTx::Settle { receipts: valid }))?
                .receipts
        }
        .into_iter();
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.or_else(|| settled.next())
                    .unwrap_or_else(|| ReceiptOutcome::rejected("internal", "no outcome"))
            })
            .collect())
    }

    /// Writes a system transaction signed with the operator key.
    pub fn system(&self, tx: SystemTx) -> Result<Committed, TxError> {
        if matches!(tx, SystemTx::Genesis(_)) {
            return Err(TxError::Genesis);
        }
        self.send(Pending::System(tx))
    }

    fn send(&self, tx: Pending) -> Result<Committed, TxError> {
        let sender = lock(&self.sender).clone().ok_or(TxError::Closed)?;
        let (reply, answer) = mpsc::sync_channel(1);
        sender
            .send(Request { tx, reply })
            .map_err(|_| TxError::Closed)?;
        answer.recv().map_err(|_| TxError::Closed)?
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    pub fn account(&self, address: &Address) -> Account {
        self.state().account(address)
    }

    pub fn is_active(&self, address: &Address) -> bool {
        self.state().is_active(address)
    }

    pub fn members(&self) -> Vec<MemberChange> {
        self.state().members()
    }

    pub fn torrent(&self, id: &[u8; 32]) -> Option<TorrentTerms> {
        self.state().torrent(id)
    }

    /// The audit epoch unix time `t` falls in (the genesis' `epoch_secs`).
    pub fn epoch_at(&self, t: u64) -> u64 {
        self.state().params().epoch_at(t)
    }

    /// A node's audit record, if it ever reported.
    pub fn host(&self, node: &Address) -> Option<Host> {
        self.state().host(node)
    }

    /// Bytes `node` may claim in a report, given its collateral now.
    pub fn host_bound(&self, node: &Address) -> u64 {
        self.state().host_bound(node)
    }

    pub fn epoch_info(&self, epoch: u64) -> Option<EpochInfo> {
        self.state().epoch_info(epoch)
    }

    /// Every committed epoch from `first` on, ascending (what is left to reveal or audit).
    pub fn epochs_from(&self, first: u64) -> Vec<(u64, EpochInfo)> {
        self.state().epochs_from(first)
    }

    /// Committed epochs whose secret is not revealed yet, ascending.
    pub fn unrevealed_epochs(&self) -> Vec<u64> {
        self.state().unrevealed_epochs()
    }

    /// `node`'s report in force at `epoch`, with the epoch it was made for.
    pub fn report_in_force(&self, node: &Address, epoch: u64) -> Option<(u64, ReportInfo)> {
        self.state().report_in_force(node, epoch)
    }

    /// Whom to audit in `epoch`: every active, not disqualified host's report in force then.
    pub fn reports_in_force(&self, epoch: u64) -> Vec<(Address, u64, ReportInfo)> {
        self.state().reports_in_force(epoch)
    }

    pub fn summary(&self) -> Summary {
        let state = self.state();
        let genesis = state
            .genesis()
            .cloned()
            .expect("an open ledger has its genesis");
        Summary {
            price_per_byte: genesis.price_per_byte(),
            genesis,
            domain: self.shared.domain.clone(),
            entries: state.next_seq(),
            log_hash: state.log_hash(),
            time: state.time(),
            supply: state.supply(),
            accounts: state.accounts.len(),
            members: state.members.len(),
        }
    }

    /// Entries touching `account`, newest first.
    pub fn history(
        &self,
        account: &Address,
        limit: usize,
    ) -> Result<Vec<HistoryItem>, LedgerError> {
        let rows = store::history(&lock(&self.shared.reader), account, limit)?;
        rows.into_iter()
            .map(|(seq, time, body)| {
                let entry = parse_entry(seq, time, &body)?;
                Ok(HistoryItem {
                    seq,
                    time,
                    tx: entry.tx,
                })
            })
            .collect()
    }

    /// Stops taking transactions, finishes those queued, writes a checkpoint and joins the writer.
    pub fn close(&self) {
        lock(&self.sender).take();
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(
    shared: Arc<Shared>,
    mut conn: Connection,
    receiver: Receiver<Request>,
    operator: SecretKey,
    clock: Clock,
) {
    let mut last_checkpoint = lock(&shared.state).next_seq();
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let mut state = lock(&shared.state);
        let time = state.time().max(clock.now());
        let mut stored = Vec::with_capacity(group.len());
        let mut answers: Vec<(Reply, Committed)> = Vec::with_capacity(group.len());
        for Request { tx, reply } in group {
            // A settlement whose every receipt the state refuses would change nothing: answer it
            // without a log entry. Exact: if each is refused on its own, none settles first to
            // change the state for the next.
            if let Pending::System(SystemTx::Settle { receipts }) = &tx {
                let refused: Option<Vec<ReceiptOutcome>> = receipts
                    .iter()
                    .map(|r| state.assess_receipt(r, time))
                    .collect();
                if let Some(outcomes) = refused {
                    // Not an entry: seq and hash name the state it was judged against.
                    let _ = reply.send(Ok(Committed {
                        seq: state.next_seq().saturating_sub(1),
                        hash: state.log_hash(),
                        time,
                        receipts: outcomes,
                        members: Vec::new(),
                    }));
                    continue;
                }
            }
            let seq = state.next_seq();
            let tx = match tx {
                Pending::User(tx) => Tx::User { tx },
                Pending::System(tx) => {
                    let signature = operator.sign_digest(&system_digest(&shared.domain, seq, &tx));
                    Tx::System { tx, signature }
                }
            };
            let body = match serde_json::to_string(&tx) {
                Ok(b) => b,
                Err(e) => {
                    let _ = reply.send(Err(TxError::Storage(e.to_string())));
                    continue;
                }
            };
            let entry = Entry { seq, time, tx };
            // Signatures were checked by `submit` before queueing; system ones we just made.
            match state.apply(&entry, body.as_bytes(), false) {
                Ok(effects) => {
                    let hash = state.log_hash();
                    stored.push((
                        StoredEntry {
                            seq,
                            time,
                            body,
                            hash,
                        },
                        effects.accounts.into_iter().collect::<Vec<_>>(),
                    ));
                    answers.push((
                        reply,
                        Committed {
                            seq,
                            hash,
                            time,
                            receipts: effects.receipts,
                            members: effects.members,
                        },
                    ));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if stored.is_empty() {
            continue;
        }
        let committed = conn
            .transaction()
            .map_err(store::StoreError::from)
            .and_then(|db| {
                store::write_group(&db, &stored, &mut state)?;
                db.commit().map_err(store::StoreError::from)
            });
        match committed {
            Ok(()) => {
                for (reply, c) in answers {
                    let _ = reply.send(Ok(c));
                }
                if state.next_seq() - last_checkpoint >= CHECKPOINT_EVERY {
                    match store::write_checkpoint(&conn, &state) {
                        Ok(_) => last_checkpoint = state.next_seq(),
                        Err(e) => tracing::warn!("cannot write a ledger checkpoint: {e}"),
                    }
                }
            }
            Err(e) => {
                tracing::error!("ledger commit failed, undoing the group: {e}");
                match store::load_tables(&conn) {
                    Ok(reloaded) => *state = reloaded,
                    Err(e) => {
                        // Memory and disk may now differ: stop accepting anything.
                        tracing::error!("cannot reload the ledger after a failed commit: {e}");
                        for (reply, _) in answers {
                            let _ = reply.send(Err(TxError::Storage(e.to_string())));
                        }
                        return;
                    }
                }
                for (reply, _) in answers {
                    let _ = reply.send(Err(TxError::Storage(e.to_string())));
                }
            }
        }
    }
    let state = lock(&shared.state);
    if state.next_seq() != last_checkpoint
        && let Err(e) = store::write_checkpoint(&conn, &state)
    {
        tracing::warn!("cannot write the final ledger checkpoint: {e}");
    }
}

/// Replays the whole log at `path` checking every signature, every hash link, every checkpoint
/// and the tables: `seedbank hub verify`.
pub fn verify(path: &Path, progress: impl FnMut(u64)) -> Result<ReplayReport, LedgerError> {
    if !path.exists() {
        return Err(LedgerError::NoGenesis);
    }
    let conn = store::open(path)?;
    // One read transaction: a consistent snapshot even while a hub keeps writing (WAL).
    conn.execute_batch("BEGIN")
        .map_err(store::StoreError::from)?;
    replay(&conn, true, progress).map(|(_, report)| report)
}
