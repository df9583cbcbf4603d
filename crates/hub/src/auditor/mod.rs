//! The hub's auditor: availability sampling, run by the clock of the ledger's epochs.
//!
//! Each second it looks at the epoch `e` the clock is in and makes sure that:
//! 1. epochs `e + 1` and `e + 2` have secrets, each kept in `audit.sqlite` *before* its
//!    commitment is logged in the ledger (a crash in between leaves a secret without a commitment,
//!    never the reverse); the ledger takes reports for an epoch only once it is committed, so the
//!    secret is fixed before any node says what it hosts;
//! 2. epoch `e`, if it was committed, has its audits scheduled: for every node with a report in
//!    force, the blocks it still owes from earlier epochs (containment) and the genesis'
//!    `audit_samples` challenges derived from the secret (`audit::derive`), at times spread over
//!    the first three quarters of the epoch, also drawn from the secret, so a node cannot tell when
//!    it will be asked;
//! 3. every earlier committed epoch is closed once its last audit has ended: the secret is
//!    revealed in the ledger (which checks it against the commitment), then the epoch's marks go
//!    to the ledger as one `AuditResults` entry, which moves reputation, freezes and burns.
//!
//! An audit that gets no attributable answer (refused connection, timeout, protocol error, an
//! answer whose signature is not the node's) is asked again later in the epoch; still unanswered
//! at the end it is `offline`, and the block stays owed: the node's next epoch begins with it.
//!
//! Invariants: a secret is never logged before it is stored; an epoch is revealed only after its
//! last audit ended, so results never change after the reveal; only answers the node signed can
//! be `wrong`, and each wrong mark's evidence is stored before its hash goes to the ledger.

pub mod probe;
pub mod store;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit::Mark as AuditMark;
use audit::{Answer, Challenge, Evidence, HostingReport, Outcome, Target, TorrentId};
use hubapi::{AuditRecord, CONTAINED_FROM};
use ledger::{Ledger, NodeAudit, SystemTx};
use metainfo::Torrent;
use token::audit_answer::{AuditAnswer, answer_hash_missing};
use token::{Address, Domain, Signature, keccak256};
use tokio::sync::Semaphore;

use crate::store::StoreError;
use crate::unix_now;
pub use store::AuditStore;

/// How far back the auditor looks for epochs to close (a hub down longer leaves older ones open,
/// which only its log mentions).
const OPEN_EPOCHS_LOOKBACK: u64 = 1_000;

/// Probes in flight at once, over all nodes.
const MAX_CONCURRENT_PROBES: usize = 32;

/// What the auditor needs from the rest of the hub.
pub struct Auditor {
    ledger: Arc<Ledger>,
    store: Mutex<AuditStore>,
    /// Indexed torrents by audit id, refreshed when an epoch is scheduled or a report names an
    /// unknown one.
    torrents: Mutex<HashMap<TorrentId, Arc<Torrent>>>,
    /// Epochs whose audits were scheduled by this process, with the audits still running.
    running: Mutex<HashMap<u64, usize>>,
    /// Epochs that could not be closed (a lost secret, a refused entry); warned about once.
    stuck: Mutex<BTreeSet<u64>>,
    probes: Arc<Semaphore>,
    /// The shortest connect time measured per (epoch, node), in µs: the round trips an epoch's
    /// close checks declared locations against. Kept in memory: after a restart mid-epoch the
    /// epoch's earlier measurements are gone and only later ones count.
    rtts: Mutex<HashMap<(u64, Address), u64>>,
    /// Audits recorded by this process, by mark (pass, offline, missing, wrong): `/metrics`
    /// counters, which restart at zero with the process as Prometheus counters may.
    recorded: [std::sync::atomic::AtomicU64; 4],
}

/// One scheduled audit.
#[derive(Clone, Debug)]
struct Job {
    epoch: u64,
    node: Address,
    idx: u32,
    challenge: Challenge,
    endpoint: SocketAddr,
    /// Unix time of the first attempt.
    at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditorError {
    #[error("audit store: {0}")]
    Store(#[from] StoreError),
    #[error("ledger: {0}")]
    Ledger(#[from] ledger::TxError),
    #[error("{0}")]
    Report(String),
}

impl Auditor {
    pub fn open(
        path: &std::path::Path,
        ledger: Arc<Ledger>,
        torrents: Vec<Torrent>,
    ) -> Result<Auditor, StoreError> {
        let store = AuditStore::open(path)?;
        let auditor = Auditor {
            ledger,
            store: Mutex::new(store),
            torrents: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            stuck: Mutex::new(BTreeSet::new()),
            probes: Arc::new(Semaphore::new(MAX_CONCURRENT_PROBES)),
            rtts: Mutex::new(HashMap::new()),
            recorded: Default::default(),
        };
        auditor.set_torrents(torrents);
        Ok(auditor)
    }

    /// Replaces the known torrents (the hub's index).
    pub fn set_torrents(&self, torrents: Vec<Torrent>) {
        let map = torrents
            .into_iter()
            .map(|t| (audit::torrent_key(&t), Arc::new(t)))
            .collect();
        *self.torrents.lock().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// A torrent newly published to the index.
    pub fn add_torrent(&self, torrent: Torrent) {
        self.torrents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(audit::torrent_key(&torrent), Arc::new(torrent));
    }

    pub fn torrent(&self, id: &TorrentId) -> Option<Arc<Torrent>> {
        self.torrents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Takes the round trips measured in `epoch` (and forgets older ones), by node.
    pub fn take_rtts(&self, epoch: u64) -> Vec<ledger::NodeRtt> {
        let mut rtts = self.rtts.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<ledger::NodeRtt> = rtts
            .iter()
            .filter(|((e, _), _)| *e == epoch)
            .map(|((_, node), us)| ledger::NodeRtt {
                node: *node,
                rtt_us: *us,
            })
            .collect();
        rtts.retain(|(e, _), _| *e > epoch);
        out.sort_by_key(|r| r.node);
        out
    }

    /// Audits recorded since this process started, by mark.
    pub fn recorded(&self) -> [(&'static str, u64); 4] {
        let n = |i: usize| self.recorded[i].load(std::sync::atomic::Ordering::Relaxed);
        [
            ("pass", n(0)),
            ("offline", n(1)),
            ("missing", n(2)),
            ("wrong", n(3)),
        ]
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, AuditStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn domain(&self) -> Domain {
        self.ledger.domain().clone()
    }

    /// Checks a node's full report against what it signed and the index, and keeps it. The caller
    /// then logs the signed transaction; a report kept but never logged is harmless.
    pub fn accept_report(
        &self,
        report: &HostingReport,
        signed: &token::Report,
    ) -> Result<(), AuditorError> {
        let bad = |why: String| Err(AuditorError::Report(why));
        if report.node != signed.node {
            return bad(format!(
                "the report is {}'s, signed by {}",
                report.node, signed.node
            ));
        }
        if report.epoch != signed.epoch {
            return bad(format!(
                "the report is for epoch {}, the signed transaction for {}",
                report.epoch, signed.epoch
            ));
        }
        let hash = report.hash();
        if hash != signed.report_hash {
            return bad("the signed report hash is not the report's".into());
        }
        report
            .validate()
            .map_err(|e| AuditorError::Report(e.to_string()))?;
        let torrents = self.torrents.lock().unwrap_or_else(|e| e.into_inner());
        let layouts: audit::TorrentLayouts = torrents.values().map(|t| t.as_ref()).collect();
        report
            .check_layout(&layouts)
            .map_err(|e| AuditorError::Report(e.to_string()))?;
        let claimed = report
            .claimed_bytes(&layouts)
            .map_err(|e| AuditorError::Report(e.to_string()))?;
        if claimed != signed.claimed_bytes {
            return bad(format!(
                "the report claims {claimed} bytes, the signed transaction {}",
                signed.claimed_bytes
            ));
        }
        drop(torrents);
        self.store().put_report(&hash, report)?;
        Ok(())
    }

    /// One look at the clock (see the module documentation). Blocking: ledger commits fsync.
    fn plan(&self, now: u64) -> Vec<Job> {
        let Some(genesis) = self.ledger.state().genesis().cloned() else {
            return Vec::new();
        };
        let current = genesis.epoch_at(now);
        // Reports are taken for the next two epochs, and only once the epoch is committed.
        for ahead in [current + 1, current + 2] {
            if let Err(e) = self.commit(ahead) {
                tracing::error!("auditor: cannot commit epoch {ahead}: {e}");
            }
        }
        // Bound first: the state's guard, a temporary of the `for` head, would live through the
        // loop, and `close` logs through the ledger's writer, which needs that lock (deadlock).
        // Revealed but not audited happens when the hub stopped (or the ledger refused) between
        // the two entries: the results are logged on the next look.
        let open: Vec<(u64, bool)> = self
            .ledger
            .state()
            .epochs_from(current.saturating_sub(OPEN_EPOCHS_LOOKBACK))
            .into_iter()
            .filter(|(e, info)| *e < current && !info.audited)
            .map(|(e, info)| (e, info.secret.is_some()))
            .collect();
        for (epoch, revealed) in open {
            if self.idle(epoch)
                && let Err(e) = self.close(epoch, revealed)
            {
                // Retried every second; said once.
                if self
                    .stuck
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(epoch)
                {
                    tracing::error!("auditor: cannot close epoch {epoch} (will retry): {e}");
                }
            }
        }
        let scheduled = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&current);
        if scheduled || self.ledger.state().epoch_info(current).is_none() {
            return Vec::new();
        }
        match self.schedule(current, &genesis) {
            Ok(jobs) => {
                tracing::info!(epoch = current, audits = jobs.len(), "audits scheduled");
                jobs
            }
            Err(e) => {
                tracing::error!("auditor: cannot schedule epoch {current}: {e}");
                Vec::new()
            }
        }
    }

    /// Stores a fresh secret for `epoch` (or keeps the stored one) and logs its commitment.
    fn commit(&self, epoch: u64) -> Result<(), AuditorError> {
        if self.ledger.state().epoch_info(epoch).is_some() {
            return Ok(());
        }
        let fresh: [u8; 32] = rand::random();
        let secret = self
            .store()
            .put_secret(epoch, &fresh, &audit::commit(epoch, &fresh))?;
        let commitment = audit::commit(epoch, &secret);
        self.ledger
            .system(SystemTx::EpochCommit { epoch, commitment })?;
        tracing::info!(
            epoch,
            commitment = hex::encode(commitment),
            "epoch committed"
        );
        Ok(())
    }

    fn idle(&self, epoch: u64) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&epoch)
            .is_none_or(|n| *n == 0)
    }

    /// Reveals a finished epoch (unless `revealed` already) and logs its results.
    fn close(&self, epoch: u64, revealed: bool) -> Result<(), AuditorError> {
        if !revealed && !self.reveal(epoch)? {
            return Ok(());
        }
        let records = self.store().audits(Some(epoch), None, u32::MAX)?;
        let nodes = results(records);
        let summary: Vec<String> = nodes
            .iter()
            .map(|n| format!("{}: {}", n.node, marks_text(&n.outcomes)))
            .collect();
        self.ledger
            .system(SystemTx::AuditResults { epoch, nodes })?;
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&epoch);
        tracing::info!(epoch, results = ?summary, "epoch revealed and audited");
        Ok(())
    }

    /// Logs the epoch's secret; `false` if the secret is lost (said once in the log).
    fn reveal(&self, epoch: u64) -> Result<bool, AuditorError> {
        let Some(secret) = self.store().secret(epoch)? else {
            if self
                .stuck
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(epoch)
            {
                tracing::error!(
                    epoch,
                    "auditor: the secret of this committed epoch is not in audit.sqlite; it cannot \
                     be revealed, and its audits count for nothing"
                );
            }
            return Ok(false);
        };
        self.ledger
            .system(SystemTx::EpochReveal { epoch, secret })?;
        Ok(true)
    }

    /// The audits of `epoch`: owed blocks first, then the derived challenges.
    fn schedule(&self, epoch: u64, genesis: &ledger::Genesis) -> Result<Vec<Job>, AuditorError> {
        let secret = self.store().secret(epoch)?.ok_or_else(|| {
            AuditorError::Report(format!("epoch {epoch} is committed but its secret is lost"))
        })?;
        let reports = self.ledger.state().reports_in_force(epoch);
        let start = genesis.epoch_start(epoch);
        let span = genesis.epoch_secs * 3 / 4;
        let mut jobs = Vec::new();
        for (node, _, info) in reports {
            let Ok(endpoint) = info.endpoint.parse::<SocketAddr>() else {
                continue;
            };
            let Some(report) = self.store().report(&info.report_hash)? else {
                tracing::warn!(%node, "auditor: the report in force is not in audit.sqlite");
                continue;
            };
            let torrents = self.torrents.lock().unwrap_or_else(|e| e.into_inner());
            let layouts: audit::TorrentLayouts = torrents.values().map(|t| t.as_ref()).collect();
            let derived = audit::derive(
                &secret,
                epoch,
                &node,
                &info.report_hash,
                &report,
                &layouts,
                genesis.audit_samples,
            );
            drop(torrents);
            let derived = match derived {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(%node, "auditor: no challenges for this report: {e}");
                    continue;
                }
            };
            let owed = self.store().contained(&node)?;
            let claims = |c: &Challenge| {
                report.claims.iter().any(|claim| {
                    claim.torrent == c.torrent
                        && self
                            .torrent(&c.torrent)
                            .is_some_and(|t| claim.pieces.contains(c.piece, t.piece_count()))
                })
            };
            // The ledger takes at most 4 × audit_samples outcomes per node and epoch (more would
            // refuse the whole epoch's results): re-ask the oldest owed blocks that fit, the rest
            // stay owed.
            let room = (4 * genesis.audit_samples as usize).saturating_sub(derived.len());
            for (k, challenge) in owed
                .into_iter()
                .filter(|c| claims(c))
                .take(room)
                .enumerate()
            {
                jobs.push(Job {
                    epoch,
                    node,
                    idx: CONTAINED_FROM + k as u32,
                    challenge,
                    endpoint,
                    at: start,
                });
            }
            let n = derived.len() as u64;
            for (i, challenge) in derived.into_iter().enumerate() {
                let i = i as u64;
                jobs.push(Job {
                    epoch,
                    node,
                    idx: i as u32,
                    challenge,
                    endpoint,
                    at: start + slot_time(&secret, &node, i, n, span),
                });
            }
        }
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(epoch, jobs.len());
        Ok(jobs)
    }

    /// Runs one audit to its mark, re-asking within the epoch while there is no answer.
    async fn run_job(self: Arc<Self>, job: Job, genesis: ledger::Genesis) {
        let deadline = Duration::from_secs(genesis.audit_deadline_secs);
        let epoch_end = genesis.epoch_start(job.epoch + 1);
        let retry = (2 * genesis.audit_deadline_secs).max(genesis.epoch_secs / 8);
        sleep_until_unix(job.at).await;
        let mut attempts = 0u32;
        let mut bytes = 0u64;
        let (mark, detail, evidence) = loop {
            attempts += 1;
            let verdict = {
                let _permit = self.probes.acquire().await;
                self.attempt(&job, deadline, &mut bytes).await
            };
            match verdict {
                Ok(done) => break done,
                Err(why) => {
                    let next = unix_now() + retry;
                    if next + genesis.audit_deadline_secs >= epoch_end {
                        break (AuditMark::Offline, why, None);
                    }
                    tracing::debug!(node = %job.node, idx = job.idx, "audit unanswered: {why}");
                    sleep_until_unix(next).await;
                }
            }
        };
        let hash = evidence
            .as_ref()
            .map(|e| token::hash_hex(&evidence_hash(e)));
        let record = AuditRecord {
            epoch: job.epoch,
            node: job.node,
            idx: job.idx,
            challenge: job.challenge,
            mark,
            attempts,
            bytes,
            detail,
            time: unix_now(),
            evidence: hash,
        };
        let slot = match mark {
            AuditMark::Pass => 0,
            AuditMark::Offline => 1,
            AuditMark::Missing => 2,
            AuditMark::Wrong => 3,
        };
        self.recorded[slot].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let me = Arc::clone(&self);
        let stored =
            tokio::task::spawn_blocking(move || me.store().record(&record, evidence.as_ref()))
                .await;
        match stored {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("auditor: cannot record an audit: {e}"),
            Err(e) => tracing::error!("auditor: recording panicked: {e}"),
        }
        if let Some(n) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&job.epoch)
        {
            *n = n.saturating_sub(1);
        }
    }

    /// One connection: `Ok` with the mark if the node gave an answer it signed, `Err` with the
    /// reason if there is no attributable answer (containment).
    async fn attempt(
        &self,
        job: &Job,
        deadline: Duration,
        bytes: &mut u64,
    ) -> Result<(AuditMark, String, Option<Evidence>), String> {
        let torrent = self
            .torrent(&job.challenge.torrent)
            .ok_or("the torrent left the index")?;
        let target = Target::for_challenge(&torrent, &job.challenge).map_err(|e| e.to_string())?;
        let info_hash = torrent
            .hashes
            .v1
            .or(torrent.hashes.v2_truncated())
            .ok_or("the torrent has no info-hash")?;
        let offset = u32::try_from(job.challenge.offset()).map_err(|e| e.to_string())?;
        let other_hash = torrent.hashes.v2_truncated().filter(|h| *h != info_hash);
        let ask = probe::Ask {
            addr: job.endpoint,
            info_hash,
            other_hash,
            piece_count: torrent.piece_count(),
            piece_size: torrent.piece_size(job.challenge.piece),
            epoch: job.epoch,
            piece: job.challenge.piece,
            offset,
            deadline,
        };
        let exchange = probe::ask(&ask, audit_peer_id(), job.idx)
            .await
            .map_err(|e| e.to_string())?;
        *bytes += exchange.bytes;
        self.rtts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((job.epoch, job.node))
            .and_modify(|us| *us = (*us).min(exchange.connect_us))
            .or_insert(exchange.connect_us);
        let reply = exchange.reply;
        let domain = self.domain();
        let (answer, sig) = match reply {
            probe::Reply::Missing { sig } => {
                let said = AuditAnswer {
                    epoch: job.epoch,
                    torrent: job.challenge.torrent,
                    piece: job.challenge.piece,
                    offset,
                    answer: answer_hash_missing(),
                };
                check_signer(&domain, &said, &sig, &job.node)?;
                return Ok((
                    AuditMark::Missing,
                    "the node says it lacks the block".into(),
                    None,
                ));
            }
            probe::Reply::Block { data, proof, sig } => (Answer::Block { data, proof }, sig),
            probe::Reply::Piece { data, sig } => (Answer::Piece { data }, sig),
        };
        let said = audit::answer_message(job.epoch, &job.challenge, &answer);
        check_signer(&domain, &said, &sig, &job.node)?;
        match Outcome::judge(
            job.node,
            job.epoch,
            job.challenge,
            target,
            answer,
            Signature(sig),
        ) {
            Outcome::Wrong { evidence } => {
                let why = evidence
                    .failure()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                Ok((
                    AuditMark::Wrong,
                    format!("wrong data: {why}"),
                    Some(*evidence),
                ))
            }
            _ => Ok((AuditMark::Pass, String::new(), None)),
        }
    }
}

/// Runs the auditor until `stop` changes.
pub async fn run(auditor: Arc<Auditor>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let me = Arc::clone(&auditor);
        let planned = tokio::task::spawn_blocking(move || me.plan(unix_now())).await;
        let jobs = match planned {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!("auditor panicked while planning: {e}");
                continue;
            }
        };
        let Some(genesis) = auditor.ledger.state().genesis().cloned() else {
            continue;
        };
        for job in jobs {
            tokio::spawn(Arc::clone(&auditor).run_job(job, genesis.clone()));
        }
    }
}

/// The ledger's view of an epoch's records: per node, marks in the order the audits ended, and
/// the evidence hash of each wrong one.
fn results(mut records: Vec<AuditRecord>) -> Vec<NodeAudit> {
    records.sort_by_key(|r| (r.node, r.time, r.idx));
    let mut nodes: Vec<NodeAudit> = Vec::new();
    for r in records {
        if nodes.last().is_none_or(|n| n.node != r.node) {
            nodes.push(NodeAudit {
                node: r.node,
                outcomes: Vec::new(),
                evidence: Vec::new(),
            });
        }
        let node = nodes.last_mut().expect("pushed above");
        node.outcomes.push(r.mark);
        if let Some(hash) = r
            .evidence
            .as_deref()
            .and_then(|h| token::parse_hash(h).ok())
        {
            node.evidence.push(hash);
        }
    }
    nodes
}

fn marks_text(marks: &[AuditMark]) -> String {
    let count = |m: AuditMark| marks.iter().filter(|x| **x == m).count();
    format!(
        "{} pass, {} offline, {} missing, {} wrong",
        count(AuditMark::Pass),
        count(AuditMark::Offline),
        count(AuditMark::Missing),
        count(AuditMark::Wrong)
    )
}

/// The hash the ledger binds: keccak-256 of the evidence's JSON as stored.
pub fn evidence_hash(evidence: &Evidence) -> [u8; 32] {
    keccak256(&serde_json::to_vec(evidence).unwrap_or_default())
}

fn check_signer(
    domain: &Domain,
    said: &AuditAnswer,
    sig: &[u8; 65],
    node: &Address,
) -> Result<(), String> {
    match Signature(*sig).recover(&domain.digest(said)) {
        Ok(signer) if signer == *node => Ok(()),
        Ok(signer) => Err(format!("answer signed by {signer}, not the node")),
        Err(e) => Err(format!("answer signature unreadable: {e}")),
    }
}

/// When, within the first `span` seconds of the epoch, audit `i` of `n` for `node` runs: one
/// audit per equal slot, at a point in the slot drawn from the secret (unknown to the node).
fn slot_time(secret: &[u8; 32], node: &Address, i: u64, n: u64, span: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut buf = Vec::with_capacity(32 + 4 + 20 + 8);
    buf.extend_from_slice(secret);
    buf.extend_from_slice(b"when");
    buf.extend_from_slice(&node.0);
    buf.extend_from_slice(&i.to_be_bytes());
    let h = keccak256(&buf);
    let frac = u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % 1_000_000;
    let slot = span * 1_000_000 / n;
    (i * slot + frac * slot / 1_000_000) / 1_000_000
}

/// A fresh peer id per audit connection: audits of one node run concurrently, and a client
/// refuses a second connection from a peer id it is already connected to.
fn audit_peer_id() -> [u8; 20] {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut id = *b"-SB0001-auditor00000";
    for (b, r) in id[8..].iter_mut().zip(rand::random::<[u8; 12]>()) {
        *b = ALPHABET[usize::from(r) % ALPHABET.len()];
    }
    id
}

async fn sleep_until_unix(at: u64) {
    let now = unix_now();
    if at > now {
        tokio::time::sleep(Duration::from_secs(at - now)).await;
    }
}
