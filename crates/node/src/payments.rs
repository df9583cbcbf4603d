//! Paid downloads on the wire: the node's side of the `sb_receipt` extension (`docs/protocol.md`,
//! section 5.3; the settlement rules are in `docs/economics.md`).
//!
//! As a downloader the node signs, after each verified piece, a cumulative EIP-712 receipt for every
//! peer that sent part of it. As an uploader it checks each receipt it gets, keeps the latest one per
//! lane, and serves a peer only while the file data it sent beyond what is receipted *and fundable*
//! stays within the collective's debt threshold, so a peer that does not pay costs it at most that
//! much per connection. The [`Payments::settle`] round hands the latest receipts to the hub, learns
//! how much each downloader's balance can still pay for, and keeps unsettled receipts on disk
//! (`receipts.json`) so that a restart loses no earnings.
//!
//! Lock order: the engine calls the hooks under its swarm lock, and they take the book's lock, so
//! code holding the book's lock never calls into the engine.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use engine::{Outgoing, PeerHooks, SwarmHooks};
use hubapi::{HubClient, LedgerInfo, MAX_RECEIPTS_PER_BATCH};
use metainfo::Torrent;
use peerwire::sb_receipt::{self, ReceiptMessage};
use serde::{Deserialize, Serialize};
use token::{Address, Amount, Domain, Receipt, ReceiptOutcome, SecretKey, Signature, Signed};

/// How often receipts that changed are written to disk.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What the collective charges and tolerates, as its ledger says (`GET /api/v1/ledger`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms {
    pub domain: Domain,
    pub price_per_byte: Amount,
    /// Unpaid file data an uploader risks on one connection.
    pub debt_threshold: u64,
}

impl Terms {
    pub fn from_ledger(info: &LedgerInfo) -> Terms {
        Terms {
            domain: info.domain.clone(),
            // The ledger prices per byte at price_per_gib / 2^30, rounded down (see ledger::Genesis).
            price_per_byte: Amount(info.price_per_gib.0 >> 30),
            debt_threshold: info.debt_threshold_bytes,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a receipts file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("hub: {0}")]
    Hub(#[from] hubapi::ClientError),
}

/// A lane as seen by its uploader (us): receipts of one downloader for one torrent and session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Lane {
    torrent: [u8; 32],
    downloader: Address,
    session: [u8; 32],
}

impl Lane {
    fn of(receipt: &Receipt) -> Lane {
        Lane {
            torrent: receipt.torrent,
            downloader: receipt.downloader,
            session: receipt.session,
        }
    }
}

/// A lane's latest receipt and what the hub settled of it; the form kept in `receipts.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LaneRecord {
    receipt: Signed<Receipt>,
    /// Bytes of this lane the hub has settled, as of the last settlement round.
    settled: u64,
    /// Bytes of the last receipt handed to the hub (settled or refused); not resubmitted unchanged.
    #[serde(default)]
    submitted: u64,
    /// The downloader could not pay all of it: submit again once its balance shows credit.
    #[serde(default)]
    unfunded: bool,
}

#[derive(Default)]
struct Book {
    lanes: HashMap<Lane, LaneRecord>,
    /// Bytes each downloader's balance (and free allowance) could pay for beyond what was settled,
    /// read from the hub in the same round as the lanes' `settled`.
    credit: HashMap<Address, u64>,
    /// Downloaders whose credit a round should look up.
    wanted: HashSet<Address>,
    /// Lanes changed since the file was written.
    dirty: bool,
}

/// What one settlement round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettleReport {
    pub submitted: usize,
    /// Bytes newly settled, and the tokens paid to us for them.
    pub settled_bytes: u64,
    pub paid: Amount,
    pub rejected: usize,
}

/// The node's wallet at work: signs receipts for what it downloads, checks and settles those for
/// what it uploads. One per node, shared by all torrents.
pub struct Payments {
    key: SecretKey,
    account: Address,
    terms: Terms,
    separator: [u8; 32],
    /// Whether peers that do not speak `sb_receipt` (every other BitTorrent client) are served.
    serve_legacy: bool,
    path: PathBuf,
    book: Mutex<Book>,
    /// Wakes the settlement loop: a new downloader's credit is wanted.
    wake: tokio::sync::Notify,
}

impl Payments {
    /// Loads the unsettled receipts kept in `dir/receipts.json`, if any.
    pub fn open(
        dir: &Path,
        key: SecretKey,
        terms: Terms,
        serve_legacy: bool,
    ) -> Result<Payments, PaymentsError> {
        let path = dir.join("receipts.json");
        let mut book = Book::default();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let records: Vec<LaneRecord> =
                    serde_json::from_slice(&bytes).map_err(|e| PaymentsError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                for record in records {
                    book.lanes.insert(Lane::of(&record.receipt.message), record);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(PaymentsError::Io { path, source }),
        }
        Ok(Payments {
            account: key.address(),
            separator: terms.domain.separator(),
            key,
            terms,
            serve_legacy,
            path,
            book: Mutex::new(book),
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn account(&self) -> Address {
        self.account
    }

    pub fn terms(&self) -> &Terms {
        &self.terms
    }

    /// The wallet key, for the other extensions that sign with it (audit answers).
    pub(crate) fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The hooks for one torrent's swarm.
    pub fn hooks_for(self: &Arc<Self>, torrent: &Torrent) -> Arc<dyn SwarmHooks> {
        // A piece is paid for only once it is whole, so an uploader must be able to send at least a
        // piece or two on credit, whatever the collective's threshold says.
        let threshold = self.terms.debt_threshold.max(2 * torrent.info.piece_length);
        Arc::new(TorrentPayments {
            payments: Arc::clone(self),
            torrent: token::torrent_id(torrent.hashes.v1, torrent.hashes.v2),
            threshold,
        })
    }

    /// Settles every `every`, and at once when a new downloader's credit is wanted, until
    /// `shutdown` resolves; then one last round.
    pub async fn settle_loop(
        &self,
        hub: &HubClient,
        every: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut last: Option<tokio::time::Instant> = None;
        // Receipts kept from a previous run are submitted at once.
        let mut woken = self.unsettled().0 > 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SAVE_EVERY) => {}
                _ = self.wake.notified() => woken = true,
                _ = &mut shutdown => break,
            }
            // Receipts reach the disk within a second of arriving, whether or not the hub answers;
            // rounds run every `every`, or sooner (at most once a second) when a new downloader's
            // credit is wanted.
            if let Err(e) = self.save() {
                tracing::warn!("cannot keep receipts on disk: {e}");
            }
            let since = last.map(|t| t.elapsed());
            let due = since.is_none_or(|s| s >= every || (woken && s >= SAVE_EVERY));
            if due && (woken || since.is_some()) {
                self.settle_logged(hub).await;
                last = Some(tokio::time::Instant::now());
                woken = false;
            } else if since.is_none() {
                // Nothing wanted yet: count the period from now.
                last = Some(tokio::time::Instant::now());
            }
        }
        self.settle_logged(hub).await;
    }

    async fn settle_logged(&self, hub: &HubClient) {
        match self.settle(hub).await {
            Ok(r) if r.submitted > 0 => {
                tracing::info!(receipts = r.submitted, bytes = r.settled_bytes, paid = %r.paid, rejected = r.rejected, "settled")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("settlement round failed (receipts kept for the next): {e}"),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Receipts held and not yet fully settled: (lanes, bytes receipted beyond what is settled).
    pub fn unsettled(&self) -> (usize, u64) {
        let book = self.book();
        let open = book
            .lanes
            .values()
            .filter(|r| r.receipt.message.bytes > r.settled);
        open.fold((0, 0), |(n, b), r| {
            (n + 1, b.saturating_add(r.receipt.message.bytes - r.settled))
        })
    }

    /// One settlement round: submits every receipt that grew since it was last submitted, reads the
    /// credit of the downloaders concerned, and writes the unsettled receipts to disk. Receipts stay
    /// in the book when the hub cannot be reached; the next round submits them again.
    pub async fn settle(&self, hub: &HubClient) -> Result<SettleReport, PaymentsError> {
        let (batch, mut downloaders) = {
            let mut book = self.book();
            let funded = |r: &LaneRecord| {
                r.unfunded && book.credit.get(&r.receipt.message.downloader) > Some(&0)
            };
            let batch: Vec<Signed<Receipt>> = book
                .lanes
                .values()
                .filter(|r| r.receipt.message.bytes > r.submitted.max(r.settled) || funded(r))
                .map(|r| r.receipt.clone())
                .collect();
            // Credit matters where receipts are not fully paid: a downloader held at its
            // threshold is let through again as soon as its balance shows the means to pay.
            let mut wanted: HashSet<Address> = std::mem::take(&mut book.wanted);
            wanted.extend(
                book.lanes
                    .values()
                    .filter(|r| r.receipt.message.bytes > r.settled)
                    .map(|r| r.receipt.message.downloader),
            );
            (batch, wanted)
        };
        let result = self.submit(hub, &batch, &mut downloaders).await;
        let written = self.save();
        let report = result?;
        written?;
        Ok(report)
    }

    async fn submit(
        &self,
        hub: &HubClient,
        batch: &[Signed<Receipt>],
        downloaders: &mut HashSet<Address>,
    ) -> Result<SettleReport, PaymentsError> {
        let mut report = SettleReport::default();
        let mut outcomes = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(MAX_RECEIPTS_PER_BATCH) {
            let results = hub.settle(chunk.to_vec()).await;
            let results = match results {
                Ok(r) => r,
                Err(e) => {
                    // What was settled so far is recorded; the rest waits for the next round.
                    self.book().wanted.extend(downloaders.iter().copied());
                    self.apply(&outcomes, &HashMap::new(), &mut report);
                    return Err(e.into());
                }
            };
            outcomes.extend(chunk.iter().cloned().zip(results.outcomes));
        }
        downloaders.extend(batch.iter().map(|r| r.message.downloader));
        // Credit is read after the settlement, so it and the settled bytes describe the same moment.
        let mut credit = HashMap::new();
        for downloader in downloaders.iter() {
            match hub.account(downloader).await {
                Ok(info) => {
                    credit.insert(*downloader, self.fundable_bytes(&info));
                }
                Err(e) => {
                    tracing::warn!(%downloader, "cannot read the downloader's balance: {e}");
                    self.book().wanted.insert(*downloader);
                }
            }
        }
        self.apply(&outcomes, &credit, &mut report);
        Ok(report)
    }

    /// Bytes an account can pay for now: its balance at the price, plus its free allowance.
    fn fundable_bytes(&self, info: &hubapi::AccountInfo) -> u64 {
        let paid = match info.balance.0.checked_div(self.terms.price_per_byte.0) {
            Some(bytes) => u64::try_from(bytes).unwrap_or(u64::MAX),
            None => u64::MAX, // free collective
        };
        paid.saturating_add(info.free_bytes_left)
    }

    fn apply(
        &self,
        outcomes: &[(Signed<Receipt>, ReceiptOutcome)],
        credit: &HashMap<Address, u64>,
        report: &mut SettleReport,
    ) {
        let mut book = self.book();
        for (receipt, outcome) in outcomes {
            let r = &receipt.message;
            let lane = Lane::of(r);
            let Some(record) = book.lanes.get_mut(&lane) else {
                continue;
            };
            record.submitted = record.submitted.max(r.bytes);
            report.submitted += 1;
            let mut terminal = false;
            match outcome {
                ReceiptOutcome::Settled {
                    bytes,
                    paid,
                    capped,
                    ..
                } => {
                    report.settled_bytes += bytes;
                    report.paid = report.paid.checked_add(*paid).unwrap_or(report.paid);
                    match capped {
                        // The hub settled the lane up to this receipt (also what an earlier
                        // round whose answer was lost had settled).
                        None => {
                            record.settled = r.bytes;
                            record.unfunded = false;
                        }
                        Some(why) => {
                            tracing::info!(downloader = %r.downloader, "receipt settled in part: {why}");
                            record.settled = record.settled.saturating_add(*bytes).min(r.bytes);
                            record.unfunded = true;
                        }
                    }
                }
                ReceiptOutcome::Rejected { code, .. } if code == "stale" => {
                    // Settled before (a round whose answer we lost, or a restart).
                    record.settled = record.settled.max(r.bytes);
                }
                ReceiptOutcome::Rejected { code, .. } if code == "insufficient_balance" => {
                    record.unfunded = true;
                }
                ReceiptOutcome::Rejected { code, reason } => {
                    // Nothing about this lane will change: forget it.
                    report.rejected += 1;
                    terminal = true;
                    tracing::warn!(downloader = %r.downloader, code, "receipt refused: {reason}");
                }
            }
            if terminal {
                book.lanes.remove(&lane);
            }
            book.dirty = true;
        }
        for (downloader, bytes) in credit {
            book.credit.insert(*downloader, *bytes);
        }
        // Credit is kept for downloaders we hold receipts of or just looked up (a peer that said
        // hello and has not been sent anything yet); the rest are forgotten.
        let Book {
            lanes,
            credit: known,
            ..
        } = &mut *book;
        known.retain(|d, _| {
            credit.contains_key(d) || lanes.values().any(|r| r.receipt.message.downloader == *d)
        });
    }

    /// Writes the receipts not yet fully settled, durably (write, fsync, rename).
    fn save(&self) -> Result<(), PaymentsError> {
        let records: Vec<LaneRecord> = {
            let mut book = self.book();
            if !book.dirty {
                return Ok(());
            }
            book.dirty = false;
            book.lanes
                .values()
                .filter(|r| r.receipt.message.bytes > r.settled)
                .cloned()
                .collect()
        };
        let io = |source| PaymentsError::Io {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(&records).map_err(|e| PaymentsError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let written = (|| {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename is durable only once the directory is.
            if let Some(dir) = self.path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            self.book().dirty = true;
            return Err(io(e));
        }
        Ok(())
    }

    /// A valid receipt from a downloader, for a lane we upload on.
    fn record(&self, receipt: Signed<Receipt>) {
        let mut book = self.book();
        let lane = Lane::of(&receipt.message);
        match book.lanes.get_mut(&lane) {
            Some(record) if record.receipt.message.bytes >= receipt.message.bytes => {}
            Some(record) => record.receipt = receipt,
            None => {
                let downloader = receipt.message.downloader;
                book.lanes.insert(
                    lane,
                    LaneRecord {
                        receipt,
                        settled: 0,
                        submitted: 0,
                        unfunded: false,
                    },
                );
                if !book.credit.contains_key(&downloader) {
                    book.wanted.insert(downloader);
                    self.wake.notify_one();
                }
            }
        }
        book.dirty = true;
    }

    /// File data a lane's downloader has paid for or can pay for, capped at what it receipted.
    /// Its credit is one balance shared by all its lanes with us: what its other lanes owe is
    /// taken off first.
    fn covered(&self, lane: &Lane, receipted: u64) -> u64 {
        let book = self.book();
        let settled = book.lanes.get(lane).map_or(0, |r| r.settled);
        let owed_elsewhere: u64 = book
            .lanes
            .iter()
            .filter(|(other, _)| other.downloader == lane.downloader && *other != lane)
            .map(|(_, r)| r.receipt.message.bytes.saturating_sub(r.settled))
            .fold(0, u64::saturating_add);
        let credit = book.credit.get(&lane.downloader).copied().unwrap_or(0);
        receipted.min(settled.saturating_add(credit.saturating_sub(owed_elsewhere)))
    }
}

/// One torrent's `sb_receipt`.
struct TorrentPayments {
    payments: Arc<Payments>,
    torrent: [u8; 32],
    threshold: u64,
}

impl SwarmHooks for TorrentPayments {
    fn extensions(&self) -> &'static [&'static str] {
        &[sb_receipt::NAME]
    }

    fn connect(&self, addr: SocketAddr) -> Box<dyn PeerHooks> {
        Box::new(PeerPayments {
            payments: Arc::clone(&self.payments),
            torrent: self.torrent,
            threshold: self.threshold,
            addr,
            speaks: None,
            peer: None,
            session: token::session_id(token::unix_now()),
            owed: 0,
            receipted: 0,
        })
    }
}

/// How long before its session expires an uploader closes a connection (see `PeerPayments::paid`).
const SESSION_RENEW_MARGIN_SECS: u64 = 3_600;

/// The peer as it introduced itself in its hello.
#[derive(Clone, Copy)]
struct Introduced {
    account: Address,
    /// The session it wants the receipts we sign for it to carry.
    session: [u8; 32],
}

/// One connection's receipts, both ways.
struct PeerPayments {
    payments: Arc<Payments>,
    torrent: [u8; 32],
    threshold: u64,
    addr: SocketAddr,
    speaks: Option<bool>,
    peer: Option<Introduced>,
    /// Ours, fresh for this connection: the receipts the peer signs for us carry it, so a receipt
    /// can never be replayed into another connection's lane.
    session: [u8; 32],
    /// As downloader: verified file data received from the peer (what our last receipt says).
    owed: u64,
    /// As uploader: what the peer's latest valid receipt says.
    receipted: u64,
}

impl PeerPayments {
    fn receipt(
        &self,
        downloader: Address,
        uploader: Address,
        session: [u8; 32],
        bytes: u64,
    ) -> Receipt {
        Receipt {
            collective: self.payments.terms.domain.verifying_contract,
            torrent: self.torrent,
            uploader,
            downloader,
            session,
            bytes,
        }
    }

    fn hello(
        &mut self,
        account: [u8; 20],
        collective: [u8; 20],
        session: [u8; 32],
    ) -> Result<(), String> {
        if self.peer.is_some() {
            return Err("sb_receipt: a second hello".into());
        }
        let ours = self.payments.terms.domain.verifying_contract;
        if Address(collective) != ours {
            // Not our collective: its receipts could not be settled here, so it is served as a
            // legacy peer would be.
            tracing::info!(addr = %self.addr, "peer settles in collective {}, not ours", Address(collective));
            self.speaks = Some(false);
            return Ok(());
        }
        let account = Address(account);
        if account == self.payments.account {
            return Err("sb_receipt: the peer uses our own account".into());
        }
        self.peer = Some(Introduced { account, session });
        self.payments.book().wanted.insert(account);
        self.payments.wake.notify_one();
        Ok(())
    }

    fn paid(&mut self, bytes: u64, signature: [u8; 65]) -> Result<(), String> {
        let Some(peer) = self.peer else {
            return Err("sb_receipt: a receipt before the hello".into());
        };
        // The hub settles a session's receipts for `SESSION_TTL_SECS` after it opened. Close the
        // connection an hour before (time to settle what it earned); the peer reconnects, and the
        // new connection draws a fresh session.
        let age = token::unix_now().saturating_sub(token::session_opened(&self.session));
        if age + SESSION_RENEW_MARGIN_SECS >= token::SESSION_TTL_SECS {
            return Err(format!(
                "sb_receipt: this connection's receipt session is {age} s old; closing it so the next connection opens a fresh one"
            ));
        }
        if bytes <= self.receipted {
            if bytes == self.receipted {
                return Ok(()); // a repeat: harmless
            }
            return Err(format!(
                "sb_receipt: receipt for {bytes} bytes after one for {}: receipts are cumulative",
                self.receipted
            ));
        }
        let signed = Signed {
            message: self.receipt(peer.account, self.payments.account, self.session, bytes),
            signature: Signature(signature),
        };
        let payments = &self.payments;
        if !matches!(
            signed.check(&payments.terms.domain, &payments.separator),
            Ok(true)
        ) {
            return Err("sb_receipt: receipt not signed by the peer's account".into());
        }
        self.receipted = bytes;
        payments.record(signed);
        Ok(())
    }
}

impl PeerHooks for PeerPayments {
    fn handshake(&mut self, speaks: &[&'static str], out: &mut Outgoing) {
        let speaks = speaks.contains(&sb_receipt::NAME);
        self.speaks = Some(speaks);
        if speaks {
            out.send(
                sb_receipt::NAME,
                ReceiptMessage::Hello {
                    account: self.payments.account.0,
                    collective: self.payments.terms.domain.verifying_contract.0,
                    session: self.session,
                }
                .encode(),
            );
        }
    }

    fn message(
        &mut self,
        _extension: &'static str,
        payload: &[u8],
        _out: &mut Outgoing,
    ) -> Result<(), String> {
        match ReceiptMessage::decode(payload).map_err(|e| format!("sb_receipt: {e}"))? {
            ReceiptMessage::Hello {
                account,
                collective,
                session,
            } => self.hello(account, collective, session),
            ReceiptMessage::Receipt { bytes, signature } => self.paid(bytes, signature),
            ReceiptMessage::Unknown { .. } => Ok(()),
        }
    }

    fn downloaded(&mut self, bytes: u64, out: &mut Outgoing) {
        self.owed = self.owed.saturating_add(bytes);
        let Some(peer) = self.peer else {
            return; // a legacy peer: the tracker's ratio accounting is all it gets
        };
        let receipt = self.receipt(self.payments.account, peer.account, peer.session, self.owed);
        let signed =
            Signed::<Receipt>::sign(&self.payments.terms.domain, &self.payments.key, receipt);
        out.send(
            sb_receipt::NAME,
            ReceiptMessage::Receipt {
                bytes: self.owed,
                signature: signed.signature.0,
            }
            .encode(),
        );
    }

    fn upload_allowance(&self) -> Option<u64> {
        match (self.speaks, self.peer) {
            (Some(false), _) if self.payments.serve_legacy => None,
            (Some(false), _) => Some(0),
            // Until it says who pays: the threshold, on credit.
            (None, _) | (Some(true), None) => Some(self.threshold),
            (Some(true), Some(_)) if self.payments.terms.price_per_byte == Amount::ZERO => None,
            (Some(true), Some(peer)) => {
                let lane = Lane {
                    torrent: self.torrent,
                    downloader: peer.account,
                    session: self.session,
                };
                let covered = self.payments.covered(&lane, self.receipted);
                Some(covered.saturating_add(self.threshold))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THRESHOLD: u64 = 1 << 20;
    const TORRENT: [u8; 32] = [0xab; 32];

    fn terms() -> Terms {
        Terms {
            domain: Domain {
                name: "test collective".into(),
                version: "1".into(),
                chain_id: 31337,
                verifying_contract: Address([9; 20]),
            },
            price_per_byte: Amount(1_000),
            debt_threshold: THRESHOLD,
        }
    }

    struct Side {
        _dir: tempfile::TempDir,
        payments: Arc<Payments>,
        peer: Box<dyn PeerHooks>,
    }

    fn side(key: &SecretKey, serve_legacy: bool) -> Side {
        let dir = tempfile::tempdir().unwrap();
        let payments =
            Arc::new(Payments::open(dir.path(), key.clone(), terms(), serve_legacy).unwrap());
        let hooks = TorrentPayments {
            payments: Arc::clone(&payments),
            torrent: TORRENT,
            threshold: THRESHOLD,
        };
        let peer = hooks.connect("127.0.0.1:6881".parse().unwrap());
        Side {
            _dir: dir,
            payments,
            peer,
        }
    }

    /// Both sides' hellos exchanged: (uploader, downloader, the session the uploader named).
    fn connected(up: &SecretKey, down: &SecretKey) -> (Side, Side, [u8; 32]) {
        let (mut a, mut b) = (side(up, true), side(down, true));
        let (mut to_b, mut to_a) = (Outgoing::new(), Outgoing::new());
        a.peer.handshake(&[sb_receipt::NAME], &mut to_b);
        b.peer.handshake(&[sb_receipt::NAME], &mut to_a);
        assert_eq!(
            (to_b.messages().len(), to_a.messages().len()),
            (1, 1),
            "one hello each"
        );
        a.peer
            .message(
                sb_receipt::NAME,
                &to_a.messages()[0].1,
                &mut Outgoing::new(),
            )
            .unwrap();
        b.peer
            .message(
                sb_receipt::NAME,
                &to_b.messages()[0].1,
                &mut Outgoing::new(),
            )
            .unwrap();
        let session = session_of(&to_b.messages()[0].1);
        (a, b, session)
    }

    fn session_of(hello: &[u8]) -> [u8; 32] {
        match ReceiptMessage::decode(hello).unwrap() {
            ReceiptMessage::Hello { session, .. } => session,
            other => panic!("not a hello: {other:?}"),
        }
    }

    fn receipt_payload(
        signer: &SecretKey,
        uploader: &SecretKey,
        session: [u8; 32],
        bytes: u64,
    ) -> Vec<u8> {
        let signed = Signed::<Receipt>::sign(
            &terms().domain,
            signer,
            Receipt {
                collective: terms().domain.verifying_contract,
                torrent: TORRENT,
                uploader: uploader.address(),
                downloader: signer.address(),
                session,
                bytes,
            },
        );
        ReceiptMessage::Receipt {
            bytes,
            signature: signed.signature.0,
        }
        .encode()
    }

    #[test]
    fn a_downloader_signs_cumulative_receipts_the_uploader_accepts() {
        let (up, down) = (SecretKey::generate(), SecretKey::generate());
        let (mut a, mut b, _) = connected(&up, &down);
        for (piece, total) in [(65_536, 65_536), (1_000, 66_536)] {
            let mut out = Outgoing::new();
            b.peer.downloaded(piece, &mut out);
            assert_eq!(out.messages().len(), 1);
            a.peer
                .message(sb_receipt::NAME, &out.messages()[0].1, &mut Outgoing::new())
                .unwrap();
            assert_eq!(a.payments.unsettled(), (1, total));
        }
        // Nothing settled or fundable yet: the threshold is all the credit there is.
        assert_eq!(a.peer.upload_allowance(), Some(THRESHOLD));
        // With credit read from the hub, receipted bytes count on top of the threshold.
        a.payments.book().credit.insert(down.address(), u64::MAX);
        assert_eq!(a.peer.upload_allowance(), Some(THRESHOLD + 66_536));
        a.payments.book().credit.insert(down.address(), 10_000);
        assert_eq!(a.peer.upload_allowance(), Some(THRESHOLD + 10_000));
    }

    #[test]
    fn forged_replayed_and_misdirected_receipts_drop_the_peer_and_change_nothing() {
        let (up, down, other) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let (mut a, _b, session) = connected(&up, &down);
        let mut hello = Outgoing::new();
        side(&up, true)
            .peer
            .handshake(&[sb_receipt::NAME], &mut hello);
        let mut out = Outgoing::new();

        // Signed by someone else than the peer that said hello.
        let forged = receipt_payload(&other, &up, session, 500);
        let err = a
            .peer
            .message(sb_receipt::NAME, &forged, &mut out)
            .unwrap_err();
        assert!(err.contains("not signed"), "{err}");
        // Signed by the peer, but for another connection's session: not valid here.
        let elsewhere = receipt_payload(&down, &up, session_of(&hello.messages()[0].1), 500);
        assert!(
            a.peer
                .message(sb_receipt::NAME, &elsewhere, &mut out)
                .is_err()
        );
        assert_eq!(a.payments.unsettled(), (0, 0));

        a.peer
            .message(
                sb_receipt::NAME,
                &receipt_payload(&down, &up, session, 500),
                &mut out,
            )
            .unwrap();
        // The same receipt again is harmless; an older one is a broken or cheating peer.
        a.peer
            .message(
                sb_receipt::NAME,
                &receipt_payload(&down, &up, session, 500),
                &mut out,
            )
            .unwrap();
        let err = a
            .peer
            .message(
                sb_receipt::NAME,
                &receipt_payload(&down, &up, session, 400),
                &mut out,
            )
            .unwrap_err();
        assert!(err.contains("cumulative"), "{err}");
        assert!(
            a.peer
                .message(sb_receipt::NAME, b"d8:msg_typei1ee", &mut out)
                .is_err()
        );
        assert!(
            a.peer
                .message(sb_receipt::NAME, b"garbage", &mut out)
                .is_err()
        );
        assert_eq!(a.payments.unsettled(), (1, 500));
        assert!(out.is_empty());
    }

    #[test]
    fn receipts_before_a_hello_and_hellos_from_ourselves_are_refused() {
        let (up, down) = (SecretKey::generate(), SecretKey::generate());
        let mut a = side(&up, true);
        let mut out = Outgoing::new();
        a.peer.handshake(&[sb_receipt::NAME], &mut out);
        let err = a
            .peer
            .message(
                sb_receipt::NAME,
                &receipt_payload(&down, &up, [1; 32], 10),
                &mut out,
            )
            .unwrap_err();
        assert!(err.contains("before the hello"), "{err}");
        let mine = ReceiptMessage::Hello {
            account: up.address().0,
            collective: terms().domain.verifying_contract.0,
            session: [2; 32],
        };
        assert!(
            a.peer
                .message(sb_receipt::NAME, &mine.encode(), &mut out)
                .is_err()
        );
    }

    #[test]
    fn an_uploader_closes_a_connection_whose_session_is_about_to_expire() {
        let (up, down) = (SecretKey::generate(), SecretKey::generate());
        let a = side(&up, true);
        // Opened long enough ago that the hub would refuse its receipts within the hour.
        let session = token::session_at(
            token::unix_now() - token::SESSION_TTL_SECS + SESSION_RENEW_MARGIN_SECS / 2,
            [7; 24],
        );
        let mut old = PeerPayments {
            payments: Arc::clone(&a.payments),
            torrent: TORRENT,
            threshold: THRESHOLD,
            addr: "127.0.0.1:6881".parse().unwrap(),
            speaks: None,
            peer: None,
            session,
            owed: 0,
            receipted: 0,
        };
        let mut b = side(&down, true);
        let mut to_a = Outgoing::new();
        old.handshake(&[sb_receipt::NAME], &mut Outgoing::new());
        b.peer.handshake(&[sb_receipt::NAME], &mut to_a);
        old.message(
            sb_receipt::NAME,
            &to_a.messages()[0].1,
            &mut Outgoing::new(),
        )
        .unwrap();
        let err = old
            .message(
                sb_receipt::NAME,
                &receipt_payload(&down, &up, session, 10),
                &mut Outgoing::new(),
            )
            .unwrap_err();
        assert!(err.contains("fresh one"), "{err}");
        assert_eq!(a.payments.unsettled(), (0, 0), "nothing recorded");
    }

    #[test]
    fn a_downloaders_credit_is_shared_by_its_lanes() {
        let (up, down) = (SecretKey::generate(), SecretKey::generate());
        let (mut a, mut b, _) = connected(&up, &down);
        // A second connection of the same downloader, kept in the same uploader's book.
        let mut c = TorrentPayments {
            payments: Arc::clone(&a.payments),
            torrent: TORRENT,
            threshold: THRESHOLD,
        }
        .connect("127.0.0.1:6882".parse().unwrap());
        let mut d = side(&down, true);
        let (mut to_d, mut to_c) = (Outgoing::new(), Outgoing::new());
        c.handshake(&[sb_receipt::NAME], &mut to_d);
        d.peer.handshake(&[sb_receipt::NAME], &mut to_c);
        c.message(
            sb_receipt::NAME,
            &to_c.messages()[0].1,
            &mut Outgoing::new(),
        )
        .unwrap();
        d.peer
            .message(
                sb_receipt::NAME,
                &to_d.messages()[0].1,
                &mut Outgoing::new(),
            )
            .unwrap();
        let mut out = Outgoing::new();
        b.peer.downloaded(8_000, &mut out);
        a.peer
            .message(sb_receipt::NAME, &out.messages()[0].1, &mut Outgoing::new())
            .unwrap();
        let mut out = Outgoing::new();
        d.peer.downloaded(5_000, &mut out);
        c.message(sb_receipt::NAME, &out.messages()[0].1, &mut Outgoing::new())
            .unwrap();
        a.payments.book().credit.insert(down.address(), 10_000);
        // Each lane may count only what the balance covers beyond the other lane's debt.
        assert_eq!(a.peer.upload_allowance(), Some(THRESHOLD + 5_000));
        assert_eq!(c.upload_allowance(), Some(THRESHOLD + 2_000));
    }

    #[test]
    fn legacy_peers_are_served_or_refused_as_configured() {
        let key = SecretKey::generate();
        for (serve, allowance) in [(true, None), (false, Some(0))] {
            let mut s = side(&key, serve);
            assert_eq!(
                s.peer.upload_allowance(),
                Some(THRESHOLD),
                "before its handshake"
            );
            let mut out = Outgoing::new();
            s.peer.handshake(&[], &mut out);
            assert!(out.is_empty(), "no hello to a peer that cannot read it");
            assert_eq!(s.peer.upload_allowance(), allowance);
            // A legacy peer's data earns it no receipt.
            s.peer.downloaded(1 << 20, &mut out);
            assert!(out.is_empty());
        }
    }

    #[test]
    fn a_peer_of_another_collective_is_treated_as_legacy() {
        let (up, down) = (SecretKey::generate(), SecretKey::generate());
        let mut a = side(&up, false);
        let mut out = Outgoing::new();
        a.peer.handshake(&[sb_receipt::NAME], &mut out);
        let foreign = ReceiptMessage::Hello {
            account: down.address().0,
            collective: [7; 20],
            session: [3; 32],
        };
        a.peer
            .message(sb_receipt::NAME, &foreign.encode(), &mut out)
            .unwrap();
        assert_eq!(a.peer.upload_allowance(), Some(0));
    }

    #[test]
    fn unsettled_receipts_survive_a_restart() {
        let (up, down) = (SecretKey::generate(), SecretKey::generate());
        let (mut a, mut b, _) = connected(&up, &down);
        let mut out = Outgoing::new();
        b.peer.downloaded(4096, &mut out);
        a.peer
            .message(sb_receipt::NAME, &out.messages()[0].1, &mut Outgoing::new())
            .unwrap();
        a.payments.save().unwrap();
        let again = Payments::open(a._dir.path(), up.clone(), terms(), true).unwrap();
        assert_eq!(again.unsettled(), (1, 4096));
        std::fs::write(a._dir.path().join("receipts.json"), "{not json").unwrap();
        let err = Payments::open(a._dir.path(), up, terms(), true)
            .err()
            .unwrap();
        assert!(err.to_string().contains("not a receipts file"), "{err}");
    }
}
