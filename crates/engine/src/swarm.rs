//! One torrent's swarm: the peers, what they have, what we asked of them, and what we owe them.
//!
//! All per-torrent decisions happen here under one mutex, in short critical sections, so that the rules
//! are easy to read in one place: connection tasks (`peer.rs`) only move bytes and hand decoded messages
//! to [`Swarm::handle_messages`]; hashing and disk writes run on the [`HashPool`].
//!
//! A peer is dropped, never trusted, when it breaks the protocol: a bitfield after other messages, a
//! request for a piece we do not have, data we never asked for in bulk, a corrupt piece it alone sent
//! (then its IP is banned for the life of the swarm).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use metainfo::Torrent;
use peerwire::bitfield::Bitfield;
use peerwire::extension::{ExtensionHandshake, ExtensionRegistry};
use peerwire::{BlockRef, Message};
use tokio::sync::{Notify, watch};

use crate::EngineConfig;
use crate::choker::{self, Candidate, Choice};
use crate::hashpool::HashPool;
use crate::hooks::{
    MAX_READS_IN_FLIGHT, MAX_READS_QUEUED, Messages, Outgoing, PeerHooks, PieceJob, PieceReadError,
    SwarmHooks,
};
use crate::picker::{Arrival, BLOCK, BlockReq, PeerKey, Picker, PieceSizes};
use crate::rate::Rate;
use crate::storage::Storage;

/// A request not answered within this time makes the peer "snubbed": its requests go back to the picker.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const RECHOKE_EVERY_TICKS: u64 = 10;
const OPTIMISTIC_EVERY_TICKS: u64 = 30;
const KEEPALIVE_EVERY_TICKS: u64 = 60;
/// Control messages queued for one peer before we give up on it. Far above anything an honest peer
/// causes (a full request pipeline is ~1000), far below what would hurt memory.
const MAX_QUEUED_MESSAGES: usize = 20_000;
/// Departed peers whose IP we still remember, so blame for a piece checked after they left lands.
const REMEMBERED_DEPARTURES: usize = 4096;
/// Requests kept in flight per peer at first, before its rate is known.
const INITIAL_QUEUE: usize = 64;
/// How many seconds of a peer's measured rate to keep requested: enough to cover a round trip and
/// our own scheduling delays with room to spare.
const QUEUE_SECONDS: u64 = 2;
/// A peer whose next requested block stays beyond its upload allowance this many ticks is choked:
/// the payment that would lift the limit is not coming (see `hooks`).
const DEBT_CHOKE_TICKS: u32 = 5;
/// A peer choked for debt this many ticks is disconnected: it frees its slot, and if some of what
/// it was sent can never be receipted (blocks of pieces it never completed), its next connection
/// starts a fresh lane.
const DEBT_DROP_TICKS: u32 = 60;

/// What a connection task and the swarm share: outgoing messages and the upload queue.
pub(crate) struct PeerLink {
    outbox: Mutex<Outbox>,
    pub(crate) wake_writer: Notify,
    pub(crate) wake_reader: Notify,
    /// The writer took messages from the outbox (or the link closed): piece reads wait on it.
    pub(crate) drained: Notify,
    pub(crate) closed: AtomicBool,
    pub(crate) uploaded: AtomicU64,
    /// File data (padding excluded) the writer sent: what receipts pay for.
    pub(crate) sent_data: AtomicU64,
    /// The most file data the writer may have sent in all (`u64::MAX`: no limit).
    pub(crate) allowance: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) messages: Vec<Message>,
    pub(crate) uploads: VecDeque<BlockRef>,
    pub(crate) close_reason: Option<String>,
    /// Close once the messages queued so far are written (see [`PeerLink::finish`]).
    pub(crate) finish: Option<String>,
    /// Messages the writer has taken, ever: with `messages.len()`, tells whether a given message
    /// has left the outbox.
    pub(crate) taken: u64,
}

impl PeerLink {
    fn new() -> Arc<PeerLink> {
        Arc::new(PeerLink {
            outbox: Mutex::new(Outbox::default()),
            wake_writer: Notify::new(),
            wake_reader: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            uploaded: AtomicU64::new(0),
            sent_data: AtomicU64::new(0),
            allowance: AtomicU64::new(u64::MAX),
        })
    }

    pub(crate) fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn send(&self, message: Message) {
        let mut outbox = self.outbox();
        if outbox.messages.len() >= MAX_QUEUED_MESSAGES {
            // The peer keeps asking but does not read our answers: it only wants our memory.
            drop(outbox);
            self.close("peer does not read what we send");
            return;
        }
        outbox.messages.push(message);
        drop(outbox);
        self.wake_writer.notify_one();
    }

    /// Closes the connection after the messages already queued are written: an orderly end that
    /// still delivers what we owe the peer (a `have`, a last receipt).
    pub(crate) fn finish(&self, reason: &str) {
        self.outbox()
            .finish
            .get_or_insert_with(|| reason.to_owned());
        self.wake_writer.notify_one();
    }

    pub(crate) fn close(&self, reason: &str) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            self.outbox().close_reason = Some(reason.to_owned());
        }
        self.wake_writer.notify_one();
        self.wake_reader.notify_one();
        self.drained.notify_waiters();
    }

    /// Waits until the writer has taken the first `mark` messages ever queued, or the link closed.
    async fn drained_to(&self, mark: u64) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a take between the check and the wait is not missed.
            drained.as_mut().enable();
            if self.closed.load(Ordering::SeqCst) || self.outbox().taken >= mark {
                return;
            }
            drained.await;
        }
    }
}

struct PeerEntry {
    addr: SocketAddr,
    peer_id: [u8; 20],
    link: Arc<PeerLink>,
    has: Bitfield,
    fast: bool,
    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_interested: bool,
    outstanding: HashMap<BlockReq, Instant>,
    down: Rate,
    up: Rate,
    up_seen: u64,
    /// The most requests the peer will queue from us (BEP 10 `reqq`).
    reqq: u32,
    last_block: Instant,
    optimistic: bool,
    client: Option<String>,
    /// The node's side of its extensions on this connection.
    hooks: Option<Box<dyn PeerHooks>>,
    /// For each of our extensions (`Swarm::extension_names`), the id the peer receives it under,
    /// once its handshakes named it (BEP 10: later handshakes add, change or disable ids).
    ext_ids: Vec<Option<u8>>,
    hooks_told: bool,
    /// Piece reads the hooks asked for: under way (until the writer took the job's messages), and
    /// waiting for a slot.
    reads_in_flight: usize,
    reads_queued: VecDeque<(u32, PieceJob)>,
    /// Ticks the next queued upload has waited for allowance.
    debt_ticks: u32,
    /// Choked because it stayed at its allowance; unchoked only once the allowance moves.
    debt_choked: bool,
}

impl PeerEntry {
    fn refresh_allowance(&mut self) {
        let Some(hooks) = &self.hooks else {
            return;
        };
        let allowance = hooks.upload_allowance().unwrap_or(u64::MAX);
        let before = self.link.allowance.swap(allowance, Ordering::AcqRel);
        if allowance > before {
            self.link.wake_writer.notify_one();
        }
        if self.debt_choked
            && self.link.sent_data.load(Ordering::Relaxed) + u64::from(BLOCK) <= allowance
        {
            self.debt_choked = false;
        }
    }
}

struct KnownAddr {
    failures: u32,
    next_attempt: Instant,
    connected: bool,
}

pub(crate) struct State {
    picker: Picker,
    peers: HashMap<PeerKey, PeerEntry>,
    buffers: HashMap<u32, Vec<u8>>,
    known: HashMap<SocketAddr, KnownAddr>,
    banned: HashSet<IpAddr>,
    next_key: PeerKey,
    ticks: u64,
    download_rate: Rate,
    upload_rate: Rate,
    error: Option<String>,
    connecting: usize,
    departed: VecDeque<(PeerKey, IpAddr)>,
}

/// A snapshot for progress displays and the node's API.
#[derive(Clone, Debug, Default)]
pub struct TorrentStats {
    pub pieces_have: u32,
    pub pieces_total: u32,
    /// File-data bytes we hold and in all, padding excluded.
    pub bytes_have: u64,
    pub bytes_total: u64,
    /// File-data bytes in verified pieces we downloaded this session (padding excluded).
    pub downloaded: u64,
    /// Payload bytes we sent (this session).
    pub uploaded: u64,
    pub download_rate: u64,
    pub upload_rate: u64,
    pub peers: usize,
    pub seeds: usize,
    pub banned: Vec<IpAddr>,
    pub hash_failures: u64,
    pub complete: bool,
    pub error: Option<String>,
}

pub(crate) struct Swarm {
    pub(crate) torrent: Arc<Torrent>,
    pub(crate) storage: Arc<Storage>,
    pub(crate) config: EngineConfig,
    pub(crate) peer_id: [u8; 20],
    pub(crate) pool: Arc<HashPool>,
    pub(crate) extensions: ExtensionRegistry,
    /// The hooks' extensions, in registration order; empty without hooks.
    extension_names: &'static [&'static str],
    pub(crate) listen_port: u16,
    /// File-data bytes per piece (piece size less padding).
    data_bytes: Vec<u32>,
    /// For pieces with padding only: the file-data ranges within the piece.
    data_ranges: HashMap<u32, Vec<(u64, u64)>>,
    hooks: Option<Arc<dyn SwarmHooks>>,
    state: Mutex<State>,
    complete: watch::Sender<bool>,
    pub(crate) closed: AtomicBool,
    /// Wakes the dialer when addresses arrive.
    pub(crate) new_addrs: Notify,
    downloaded: AtomicU64,
    /// Payload bytes of the first copy of each block we asked for (padding included, redundant
    /// copies not, failed pieces taken back out): what trackers are told as `downloaded`, the
    /// convention of libtorrent's defaults, so mixed swarms are counted alike.
    received: AtomicU64,
    uploaded: AtomicU64,
    hash_failures: AtomicU64,
}

/// Piece sizes, and the blocks that hold no file data — wholly inside BEP 47 pad files, or in the
/// gap v2 leaves between a file's end and the next piece boundary. Those are never requested; the
/// piece buffer already holds their zeros.
struct Layout {
    sizes: PieceSizes,
    /// Each piece's file-data bytes (its size less padding), for progress, announces and receipts.
    data_bytes: Vec<u32>,
    /// The file-data ranges of pieces that hold padding.
    data_ranges: HashMap<u32, Vec<(u64, u64)>>,
}

fn layout(torrent: &Torrent) -> Layout {
    let n = torrent.piece_count();
    let mut sizes = Vec::with_capacity(n as usize);
    let mut data_bytes = Vec::with_capacity(n as usize);
    let mut pad_blocks = HashMap::new();
    let mut data_ranges = HashMap::new();
    for i in 0..n {
        let size = torrent.piece_size(i);
        sizes.push(size);
        let files = torrent.piece_files(i);
        let in_files: u32 = files.iter().map(|(_, _, len)| *len).sum();
        data_bytes.push(in_files);
        if in_files == size {
            continue;
        }
        let data: Vec<(u64, u64)> = files
            .iter()
            .map(|(file, in_file, len)| {
                let f = &torrent.info.files[*file];
                let start = f.offset + in_file - u64::from(i) * torrent.info.piece_length;
                (start, start + u64::from(*len))
            })
            .collect();
        let pads: Vec<u32> = (0..size.div_ceil(BLOCK))
            .filter(|b| {
                let start = u64::from(b * BLOCK);
                let end = (start + u64::from(BLOCK)).min(u64::from(size));
                !data.iter().any(|(s, e)| *s < end && start < *e)
            })
            .collect();
        if !pads.is_empty() {
            pad_blocks.insert(i, pads);
        }
        data_ranges.insert(i, data);
    }
    Layout {
        sizes: PieceSizes { sizes, pad_blocks },
        data_bytes,
        data_ranges,
    }
}

/// What a swarm takes from its engine.
pub(crate) struct EngineParts {
    pub(crate) config: EngineConfig,
    pub(crate) peer_id: [u8; 20],
    pub(crate) pool: Arc<HashPool>,
    pub(crate) listen_port: u16,
}

impl Swarm {
    pub(crate) fn new(
        torrent: Arc<Torrent>,
        storage: Arc<Storage>,
        have: Bitfield,
        engine: EngineParts,
        hooks: Option<Arc<dyn SwarmHooks>>,
    ) -> Arc<Swarm> {
        let EngineParts {
            config,
            peer_id,
            pool,
            listen_port,
        } = engine;
        let Layout {
            sizes,
            data_bytes,
            data_ranges,
        } = layout(&torrent);
        let picker = Picker::new(sizes, have);
        let mut extensions = ExtensionRegistry::new();
        let extension_names = hooks.as_ref().map_or(&[][..], |h| h.extensions());
        for name in extension_names {
            extensions.register(name);
        }
        let complete = picker.is_complete();
        let (complete_tx, _) = watch::channel(complete);
        Arc::new(Swarm {
            torrent,
            storage,
            config,
            peer_id,
            pool,
            extensions,
            extension_names,
            listen_port,
            data_bytes,
            data_ranges,
            hooks,
            state: Mutex::new(State {
                picker,
                peers: HashMap::new(),
                buffers: HashMap::new(),
                known: HashMap::new(),
                banned: HashSet::new(),
                next_key: 1,
                ticks: 0,
                download_rate: Rate::default(),
                upload_rate: Rate::default(),
                error: None,
                connecting: 0,
                departed: VecDeque::new(),
            }),
            complete: complete_tx,
            closed: AtomicBool::new(false),
            new_addrs: Notify::new(),
            downloaded: AtomicU64::new(0),
            received: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            hash_failures: AtomicU64::new(0),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug; the state is still the best we have.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn subscribe_complete(&self) -> watch::Receiver<bool> {
        self.complete.subscribe()
    }

    pub(crate) fn is_complete(&self) -> bool {
        *self.complete.borrow()
    }

    /// Bytes still missing, for tracker announces.
    pub(crate) fn left(&self) -> u64 {
        let state = self.state();
        (0..self.torrent.piece_count())
            .filter(|p| !state.picker.have().get(*p))
            .map(|p| u64::from(self.data_bytes[p as usize]))
            .sum()
    }

    /// Payload bytes the writer put on the wire.
    pub(crate) fn count_upload(&self, bytes: u64) {
        self.uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    /// (uploaded, downloaded) as reported to trackers. Uploaded counts every payload byte sent;
    /// downloaded leaves out redundant copies, so a swarm's uploads exceed its downloads by its
    /// endgame redundancy (see docs/hub.md, "balance").
    pub(crate) fn transfer_totals(&self) -> (u64, u64) {
        (
            self.uploaded.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }

    /// The verified pieces, ascending.
    pub(crate) fn have_pieces(&self) -> Vec<u32> {
        self.state().picker.have().iter_ones().collect()
    }

    pub(crate) fn stats(&self) -> TorrentStats {
        let state = self.state();
        let have = state.picker.have();
        let pieces_have = have.count_ones();
        let bytes_have = have
            .iter_ones()
            .map(|p| u64::from(self.data_bytes[p as usize]))
            .sum();
        let seeds = state.peers.values().filter(|p| p.has.is_complete()).count();
        TorrentStats {
            pieces_have,
            pieces_total: self.torrent.piece_count(),
            bytes_have,
            bytes_total: self.data_bytes.iter().map(|b| u64::from(*b)).sum(),
            downloaded: self.downloaded.load(Ordering::Relaxed),
            uploaded: self.uploaded.load(Ordering::Relaxed),
            download_rate: state.download_rate.per_second(),
            upload_rate: state.upload_rate.per_second(),
            peers: state.peers.len(),
            seeds,
            banned: state.banned.iter().copied().collect(),
            hash_failures: self.hash_failures.load(Ordering::Relaxed),
            complete: state.picker.is_complete(),
            error: state.error.clone(),
        }
    }

    // ---- addresses and connections ----

    /// Addresses to try (from a tracker or the user).
    pub(crate) fn add_addrs(&self, addrs: impl IntoIterator<Item = SocketAddr>) {
        let mut state = self.state();
        let now = Instant::now();
        for addr in addrs {
            if state.banned.contains(&addr.ip()) {
                continue;
            }
            state.known.entry(addr).or_insert(KnownAddr {
                failures: 0,
                next_attempt: now,
                connected: false,
            });
        }
        self.new_addrs.notify_one();
    }

    /// Addresses to dial now, marked as connecting. The caller reports back with `connect_failed` or
    /// `register`.
    pub(crate) fn addrs_to_dial(&self, own: SocketAddr) -> Vec<SocketAddr> {
        let mut state = self.state();
        if self.closed.load(Ordering::Relaxed)
            || (state.picker.is_complete() && state.known.is_empty())
        {
            return Vec::new();
        }
        let now = Instant::now();
        let room = self
            .config
            .max_peers
            .saturating_sub(state.peers.len() + state.connecting);
        let mut picked: Vec<SocketAddr> = state
            .known
            .iter()
            .filter(|(a, k)| !k.connected && k.next_attempt <= now && **a != own)
            .map(|(a, _)| *a)
            .take(room)
            .collect();
        // Seeds have no use for other seeds; a seed only waits for leechers to come to it.
        if state.picker.is_complete() {
            picked.clear();
        }
        for a in &picked {
            if let Some(k) = state.known.get_mut(a) {
                k.connected = true;
            }
        }
        state.connecting += picked.len();
        picked
    }

    pub(crate) fn connect_failed(&self, addr: SocketAddr) {
        let mut state = self.state();
        state.connecting = state.connecting.saturating_sub(1);
        Self::back_off(&mut state, addr);
    }

    /// A dial that led nowhere: try that address again later, later each time.
    fn back_off(state: &mut State, addr: SocketAddr) {
        if let Some(k) = state.known.get_mut(&addr) {
            k.connected = false;
            k.failures += 1;
            // 5 s, 10 s, 20 s, ... capped at 5 min: a seeder that is still starting up is found soon.
            let backoff =
                Duration::from_secs(5u64 << k.failures.min(6)).min(Duration::from_secs(300));
            k.next_attempt = Instant::now() + backoff;
        }
    }

    /// A handshake completed. Returns the peer's key and link, or why it is refused.
    pub(crate) fn register(
        self: &Arc<Self>,
        addr: SocketAddr,
        peer_id: [u8; 20],
        fast: bool,
        extended: bool,
        dialed: bool,
    ) -> Result<(PeerKey, Arc<PeerLink>), String> {
        let mut state = self.state();
        if dialed {
            state.connecting = state.connecting.saturating_sub(1);
        }
        let refusal = if self.closed.load(Ordering::Relaxed) {
            Some("torrent is closing")
        } else if state.banned.contains(&addr.ip()) {
            Some("banned")
        } else if peer_id == self.peer_id {
            Some("connected to ourselves")
        } else if state.peers.values().any(|p| p.peer_id == peer_id) {
            Some("already connected to this peer")
        } else if state.peers.len() >= self.config.max_peers {
            Some("too many peers")
        } else {
            None
        };
        if let Some(reason) = refusal {
            if dialed {
                Self::back_off(&mut state, addr);
            }
            return Err(reason.into());
        }
        let key = state.next_key;
        state.next_key += 1;
        let link = PeerLink::new();
        let n = self.torrent.piece_count();
        state.peers.insert(
            key,
            PeerEntry {
                addr,
                peer_id,
                link: Arc::clone(&link),
                has: Bitfield::new(n),
                fast,
                am_choking: true,
                am_interested: false,
                peer_choking: true,
                peer_interested: false,
                outstanding: HashMap::new(),
                down: Rate::default(),
                up: Rate::default(),
                up_seen: 0,
                reqq: 250,
                last_block: Instant::now(),
                optimistic: false,
                client: None,
                hooks: self.hooks.as_ref().map(|h| h.connect(addr)),
                ext_ids: vec![None; self.extension_names.len()],
                hooks_told: false,
                reads_in_flight: 0,
                reads_queued: VecDeque::new(),
                debt_ticks: 0,
                debt_choked: false,
            },
        );
        let State { picker, peers, .. } = &mut *state;
        if let Some(peer) = peers.get_mut(&key) {
            if extended {
                // Until its extension handshake says otherwise, the hooks' limit holds from the
                // first request on (a link starts unlimited).
                peer.refresh_allowance();
            } else {
                self.tell_hooks(picker.have(), key, peer);
            }
        }
        if let Some(k) = state.known.get_mut(&addr) {
            k.connected = true;
            k.failures = 0;
        }
        // Our opening: what we have, then the extension handshake.
        let have = state.picker.have();
        let opening = if fast && have.is_complete() {
            Message::HaveAll
        } else if fast && have.count_ones() == 0 {
            Message::HaveNone
        } else {
            Message::Bitfield(have.to_bytes())
        };
        if !matches!(opening, Message::Bitfield(_)) || have.count_ones() > 0 || !fast {
            link.send(opening);
        }
        if extended {
            let hs = self.extensions.handshake(
                concat!("seedbank ", env!("CARGO_PKG_VERSION")),
                Some(self.listen_port),
                self.config.max_upload_queue,
            );
            link.send(Message::Extended {
                id: 0,
                payload: hs.encode().into(),
            });
        }
        tracing::debug!(%addr, key, "peer connected");
        Ok((key, link))
    }

    pub(crate) fn peer_disconnected(&self, key: PeerKey, reason: &str) {
        let mut state = self.state();
        Self::remove_peer(&mut state, key, reason);
    }

    /// Forgets a peer at once: whatever it still sends is ignored ("peer is gone"), its requests go
    /// back to the picker, and its link is closed so its tasks end.
    fn remove_peer(state: &mut State, key: PeerKey, reason: &str) {
        let Some(peer) = state.peers.remove(&key) else {
            return;
        };
        if state.departed.len() >= REMEMBERED_DEPARTURES {
            state.departed.pop_front();
        }
        state.departed.push_back((key, peer.addr.ip()));
        peer.link.close(reason);
        state.picker.peer_lost_bitfield(&peer.has);
        state.picker.peer_gone(key);
        if let Some(k) = state.known.get_mut(&peer.addr) {
            k.connected = false;
            k.next_attempt = Instant::now() + Duration::from_secs(10);
        }
        tracing::debug!(addr = %peer.addr, reason, "peer disconnected");
    }

    // ---- incoming messages ----

    /// Applies a batch of messages from one peer. An `Err` means: drop this peer, for that reason.
    pub(crate) fn handle_messages(
        self: &Arc<Self>,
        key: PeerKey,
        messages: Vec<Message>,
    ) -> Result<(), String> {
        let mut completed = Vec::new();
        let result = {
            let mut state = self.state();
            let mut result = Ok(());
            for message in messages {
                if let Err(e) = self.handle_one(&mut state, key, message, &mut completed) {
                    result = Err(e);
                    break;
                }
            }
            if result.is_ok() {
                self.fill_requests(&mut state, key);
            }
            result
        };
        for (index, data) in completed {
            self.verify(index, data);
        }
        result
    }

    fn handle_one(
        self: &Arc<Self>,
        state: &mut State,
        key: PeerKey,
        message: Message,
        completed: &mut Vec<(u32, Vec<u8>)>,
    ) -> Result<(), String> {
        let fast = state.peers.get(&key).ok_or("peer is gone")?.fast;
        match message {
            Message::KeepAlive | Message::Port(_) | Message::SuggestPiece { .. } => {}
            Message::AllowedFast { .. } if !fast => {
                return Err("allowed-fast without the fast extension".into());
            }
            Message::AllowedFast { .. } => {}
            Message::Interested => {
                if let Some(peer) = state.peers.get_mut(&key) {
                    peer.peer_interested = true;
                }
                self.unchoke_if_room(state, key);
            }
            Message::Bitfield(bits) => {
                let has = Bitfield::from_bytes(&bits, self.torrent.piece_count())
                    .map_err(|e| e.to_string())?;
                self.replace_has(state, key, has);
            }
            Message::HaveAll | Message::HaveNone => {
                if !fast {
                    return Err("have-all/have-none without the fast extension".into());
                }
                let n = self.torrent.piece_count();
                let has = if matches!(message, Message::HaveAll) {
                    Bitfield::full(n)
                } else {
                    Bitfield::new(n)
                };
                self.replace_has(state, key, has);
            }
            Message::Request(r) => self.queue_upload(state, key, r)?,
            Message::Piece { index, begin, data } => {
                self.block_arrived(state, key, index, begin, &data, completed)
            }
            other => {
                let State { picker, peers, .. } = state;
                let peer = peers.get_mut(&key).ok_or("peer is gone")?;
                match other {
                    Message::Choke => {
                        peer.peer_choking = true;
                        if !peer.fast {
                            // Without BEP 6, a choke silently discards every pending request.
                            for req in peer.outstanding.drain().map(|(r, _)| r) {
                                picker.request_dropped(key, req);
                            }
                        }
                    }
                    Message::Unchoke => peer.peer_choking = false,
                    Message::NotInterested => peer.peer_interested = false,
                    Message::Have { index }
                        // `index` was range-checked by the decoder, so `set` cannot fail.
                        if peer.has.set(index, true) == Ok(false) => {
                            picker.peer_has_piece(index);
                            if !peer.am_interested && !picker.have().get(index) {
                                peer.am_interested = true;
                                peer.link.send(Message::Interested);
                            }
                        }
                    Message::Cancel(r) => {
                        let mut outbox = peer.link.outbox();
                        let queued = outbox.uploads.len();
                        outbox.uploads.retain(|u| *u != r);
                        let removed = outbox.uploads.len() < queued;
                        drop(outbox);
                        // BEP 6: every request gets exactly one answer, a piece or a reject.
                        if removed && peer.fast {
                            peer.link.send(Message::RejectRequest(r));
                        }
                    }
                    Message::RejectRequest(r) => {
                        if !peer.fast {
                            return Err("reject-request without the fast extension".into());
                        }
                        let req = BlockReq {
                            index: r.index,
                            begin: r.begin,
                            length: r.length,
                        };
                        if peer.outstanding.remove(&req).is_some() {
                            picker.request_dropped(key, req);
                        }
                    }
                    Message::Extended { id: 0, payload } => {
                        let hs = ExtensionHandshake::decode(&payload).map_err(|e| e.to_string())?;
                        if let Some(reqq) = hs.reqq {
                            peer.reqq = reqq.clamp(1, self.config.max_request_queue);
                        }
                        peer.client = hs.v.clone();
                        for (name, id) in self.extension_names.iter().zip(&mut peer.ext_ids) {
                            if let Some(&announced) = hs.m.get(*name) {
                                *id = Some(announced).filter(|id| *id != 0);
                            }
                        }
                        if self.hooks.is_some() && !peer.hooks_told {
                            self.tell_hooks(picker.have(), key, peer);
                        }
                    }
                    Message::Extended { id, payload } => {
                        // Extensions we did not announce are ignored: BEP 10 lets peers send only
                        // what we named.
                        let Some(extension) = self.extension_of(id) else {
                            return Ok(());
                        };
                        let mut out = Outgoing::new();
                        if let Some(hooks) = &mut peer.hooks {
                            hooks.message(extension, &payload, &mut out)?;
                        }
                        self.after_hooks(picker.have(), key, peer, out);
                        if !peer.debt_choked && peer.peer_interested && peer.am_choking {
                            self.unchoke_if_room(state, key);
                        }
                    }
                    // We always have the piece layers from the .torrent, so we never ask for hashes;
                    // serving them is for a later release. Rejecting is the BEP 52 answer.
                    Message::HashRequest(h) => peer.link.send(Message::HashReject(h)),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Tells the peer's hooks which of our extensions it speaks (once per connection).
    fn tell_hooks(self: &Arc<Self>, have: &Bitfield, key: PeerKey, peer: &mut PeerEntry) {
        peer.hooks_told = true;
        let speaks: Vec<&'static str> = self
            .extension_names
            .iter()
            .zip(&peer.ext_ids)
            .filter(|(_, id)| id.is_some())
            .map(|(name, _)| *name)
            .collect();
        let mut out = Outgoing::new();
        if let Some(hooks) = &mut peer.hooks {
            hooks.handshake(&speaks, &mut out);
        }
        self.after_hooks(have, key, peer, out);
    }

    /// Our extension an incoming extended message's id names, if any.
    fn extension_of(&self, id: u8) -> Option<&'static str> {
        let name = self.extensions.name_of_local(id)?;
        self.extension_names.iter().copied().find(|n| *n == name)
    }

    /// Sends what the hooks produced, starts or queues the piece reads they asked for, and applies
    /// the allowance they now set.
    fn after_hooks(
        self: &Arc<Self>,
        have: &Bitfield,
        key: PeerKey,
        peer: &mut PeerEntry,
        out: Outgoing,
    ) {
        let Outgoing { messages, reads } = out;
        self.send_extension_messages(peer, messages);
        for (piece, job) in reads {
            if peer.reads_in_flight < MAX_READS_IN_FLIGHT {
                self.start_read(have, key, peer, piece, job);
            } else if peer.reads_queued.len() < MAX_READS_QUEUED {
                peer.reads_queued.push_back((piece, job));
            } else {
                // Our hooks bound what a peer can make them read, so this is a hooks bug or a
                // flood they did not foresee: either way the peer has had its share.
                peer.link.close("too many piece reads queued");
                break;
            }
        }
        peer.refresh_allowance();
    }

    /// Sends extension messages under the ids the peer announced; a message of an extension it did
    /// not announce (or disabled) is dropped, as BEP 10 requires.
    fn send_extension_messages(&self, peer: &PeerEntry, messages: Messages) {
        for (name, payload) in messages {
            let id = self
                .extension_names
                .iter()
                .position(|n| *n == name)
                .and_then(|i| peer.ext_ids[i]);
            match id {
                Some(id) => peer.link.send(Message::Extended {
                    id,
                    payload: payload.into(),
                }),
                None => {
                    tracing::debug!(addr = %peer.addr, name, "not sent: the peer did not announce the extension")
                }
            }
        }
    }

    /// Reads `piece` and runs `job` on the hashing pool, then sends the job's messages. Whether we
    /// have the piece is decided here, under the lock; the read itself happens off it. The read's
    /// slot is freed once the writer has taken the job's messages, so a peer that does not read
    /// its answers holds at most `MAX_READS_IN_FLIGHT` of them in memory.
    fn start_read(
        self: &Arc<Self>,
        have: &Bitfield,
        key: PeerKey,
        peer: &mut PeerEntry,
        piece: u32,
        job: PieceJob,
    ) {
        peer.reads_in_flight += 1;
        let had = have.get(piece);
        let swarm = Arc::clone(self);
        let link = Arc::clone(&peer.link);
        tokio::spawn(async move {
            let (torrent, storage) = (Arc::clone(&swarm.torrent), Arc::clone(&swarm.storage));
            let gone = Arc::clone(&link);
            let ran = swarm
                .pool
                .run(move || {
                    if gone.closed.load(Ordering::SeqCst) {
                        // The peer left while the read waited for a pool thread: nobody to answer.
                        return Vec::new();
                    }
                    let read = if had {
                        let mut buf = vec![0u8; torrent.piece_size(piece) as usize];
                        let offset = u64::from(piece) * torrent.info.piece_length;
                        storage
                            .read_from_disk(offset, &mut buf)
                            .map(|()| buf)
                            .map_err(|source| PieceReadError::Io { piece, source })
                    } else {
                        Err(PieceReadError::NotHad { piece })
                    };
                    // A panicking job is a bug in the hooks; it must not take a pool thread with it.
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(read)))
                        .unwrap_or_else(|_| {
                            tracing::error!(piece, "a piece job panicked; nothing sent");
                            Vec::new()
                        })
                })
                .await;
            // `None`: the engine is shutting down and the job was dropped; nothing to send.
            if let Some(messages) = ran
                && let Some(mark) = swarm.deliver(key, messages)
            {
                link.drained_to(mark).await;
            }
            swarm.read_done(key);
        });
    }

    /// Sends a job's messages to the peer, if it is still connected. Returns how many messages the
    /// writer must have taken for these to have left the outbox.
    fn deliver(&self, key: PeerKey, messages: Messages) -> Option<u64> {
        let state = self.state();
        let peer = state.peers.get(&key)?;
        self.send_extension_messages(peer, messages);
        let outbox = peer.link.outbox();
        Some(outbox.taken + outbox.messages.len() as u64)
    }

    /// Piece reads of a peer under way and waiting (for tests).
    #[cfg(test)]
    pub(crate) fn reads_of(&self, key: PeerKey) -> (usize, usize) {
        let state = self.state();
        state
            .peers
            .get(&key)
            .map_or((0, 0), |p| (p.reads_in_flight, p.reads_queued.len()))
    }

    /// A read's slot is free: the next queued read of the peer takes it.
    fn read_done(self: &Arc<Self>, key: PeerKey) {
        let mut state = self.state();
        let State { picker, peers, .. } = &mut *state;
        let Some(peer) = peers.get_mut(&key) else {
            return;
        };
        peer.reads_in_flight = peer.reads_in_flight.saturating_sub(1);
        if peer.link.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Some((piece, job)) = peer.reads_queued.pop_front() {
            self.start_read(picker.have(), key, peer, piece, job);
        }
    }

    /// The peer's next queued block waits for allowance.
    fn held_by_allowance(&self, peer: &PeerEntry) -> bool {
        let allowance = peer.link.allowance.load(Ordering::Acquire);
        let sent = peer.link.sent_data.load(Ordering::Relaxed);
        peer.link
            .outbox()
            .uploads
            .front()
            .is_some_and(|r| sent + self.data_in(r.index, r.begin, r.length) > allowance)
    }

    /// File-data bytes in `length` bytes at `begin` of piece `index`.
    pub(crate) fn data_in(&self, index: u32, begin: u32, length: u32) -> u64 {
        let (start, end) = (u64::from(begin), u64::from(begin) + u64::from(length));
        match self.data_ranges.get(&index) {
            None => u64::from(length),
            Some(ranges) => ranges
                .iter()
                .map(|(s, e)| end.min(*e).saturating_sub(start.max(*s)))
                .sum(),
        }
    }

    /// Tells each connected peer's hooks how much of a verified piece's data it sent.
    fn credit_senders(self: &Arc<Self>, state: &mut State, index: u32) {
        if self.hooks.is_none() {
            return;
        }
        let mut credit: Vec<(PeerKey, u64)> = Vec::new();
        for (key, begin, length) in state.picker.block_senders(index) {
            let bytes = self.data_in(index, begin, length);
            match credit.iter_mut().find(|(k, _)| *k == key) {
                Some((_, total)) => *total += bytes,
                None => credit.push((key, bytes)),
            }
        }
        let State { picker, peers, .. } = state;
        for (key, bytes) in credit {
            if let Some(peer) = peers.get_mut(&key)
                && bytes > 0
            {
                let mut out = Outgoing::new();
                if let Some(hooks) = &mut peer.hooks {
                    hooks.downloaded(bytes, &mut out);
                }
                self.after_hooks(picker.have(), key, peer, out);
            }
        }
    }

    fn block_arrived(
        &self,
        state: &mut State,
        key: PeerKey,
        index: u32,
        begin: u32,
        data: &[u8],
        completed: &mut Vec<(u32, Vec<u8>)>,
    ) {
        let State {
            picker,
            peers,
            buffers,
            download_rate,
            ..
        } = state;
        let Some(peer) = peers.get_mut(&key) else {
            return;
        };
        let req = BlockReq {
            index,
            begin,
            length: data.len() as u32,
        };
        if peer.outstanding.remove(&req).is_none() {
            // Late copies after a cancel or a choke are normal; drop them.
            return;
        }
        peer.last_block = Instant::now();
        peer.down.add(data.len() as u64);
        download_rate.add(data.len() as u64);
        let Arrival::Accepted {
            cancel,
            piece_complete,
        } = picker.block_received(key, req)
        else {
            return;
        };
        self.received
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let size = picker.piece_size(index) as usize;
        let buffer = buffers.entry(index).or_insert_with(|| vec![0; size]);
        let start = begin as usize;
        buffer[start..start + data.len()].copy_from_slice(data);
        for other in cancel {
            if let Some(p) = peers.get_mut(&other)
                && p.outstanding.remove(&req).is_some()
            {
                p.link.send(Message::Cancel(BlockRef {
                    index,
                    begin,
                    length: req.length,
                }));
            }
        }
        if piece_complete && let Some(data) = buffers.remove(&index) {
            completed.push((index, data));
        }
    }

    /// Installs the peer's announced pieces. BEP 3 wants the bitfield first and once, but clients
    /// differ (libtorrent sends its BEP 10 handshake first, aria2 a have-none and then a bitfield),
    /// so any number are accepted, each added to what we knew: peers never lose pieces.
    /// Tells each peer whether we want something it has, where that changed. Interest must follow
    /// the picker both ways: a piece that fails its check is wanted again, and a peer we told we
    /// were not interested will never unchoke us unless we say so.
    fn update_interest(state: &mut State) {
        let State { picker, peers, .. } = state;
        for peer in peers.values_mut() {
            let interested = !peer.outstanding.is_empty() || picker.is_interesting(&peer.has);
            if interested != peer.am_interested {
                peer.am_interested = interested;
                peer.link.send(if interested {
                    Message::Interested
                } else {
                    Message::NotInterested
                });
            }
        }
    }

    fn replace_has(&self, state: &mut State, key: PeerKey, mut has: Bitfield) {
        let State { picker, peers, .. } = state;
        let Some(peer) = peers.get_mut(&key) else {
            return;
        };
        for p in peer.has.iter_ones() {
            // Same length, so in range.
            let _ = has.set(p, true);
        }
        picker.peer_lost_bitfield(&peer.has);
        picker.peer_has_bitfield(&has);
        peer.has = has;
        if picker.is_complete() && peer.has.is_complete() {
            peer.link.finish("both sides are seeds");
            return;
        }
        if picker.is_interesting(&peer.has) && !peer.am_interested {
            peer.am_interested = true;
            peer.link.send(Message::Interested);
        }
    }

    fn queue_upload(&self, state: &mut State, key: PeerKey, r: BlockRef) -> Result<(), String> {
        let have = state.picker.have().get(r.index);
        let Some(peer) = state.peers.get_mut(&key) else {
            return Ok(());
        };
        let size = self.torrent.piece_size(r.index);
        if r.begin.checked_add(r.length).is_none_or(|end| end > size) {
            return Err(format!("request beyond the end of piece {}", r.index));
        }
        if !have {
            // We never claimed it; a request for it is a broken or hostile peer.
            return Err(format!("request for piece {} that we do not have", r.index));
        }
        let reject = |peer: &PeerEntry| {
            if peer.fast {
                peer.link.send(Message::RejectRequest(r));
            }
        };
        if peer.am_choking {
            reject(peer);
            return Ok(());
        }
        let mut outbox = peer.link.outbox();
        if outbox.uploads.len() >= self.config.max_upload_queue as usize {
            drop(outbox);
            reject(peer);
            return Ok(());
        }
        outbox.uploads.push_back(r);
        drop(outbox);
        peer.link.wake_writer.notify_one();
        Ok(())
    }

    /// Keeps the peer's request pipeline full: about `QUEUE_SECONDS` of its measured rate.
    fn fill_requests(&self, state: &mut State, key: PeerKey) {
        if state.error.is_some() {
            return;
        }
        let State { picker, peers, .. } = state;
        let Some(peer) = peers.get_mut(&key) else {
            return;
        };
        if peer.peer_choking || !peer.am_interested {
            return;
        }
        let by_rate = (peer.down.per_second() * QUEUE_SECONDS / u64::from(BLOCK)) as usize;
        let target = by_rate
            .max(INITIAL_QUEUE)
            .min(peer.reqq as usize)
            .min(self.config.max_request_queue as usize);
        if peer.outstanding.len() >= target {
            return;
        }
        // Top up in batches: one pick per few blocks, not per block.
        if peer.outstanding.len() > target * 3 / 4 && peer.outstanding.len() > 4 {
            return;
        }
        let want = target - peer.outstanding.len();
        let picks = picker.pick(key, &peer.has, want);
        if picks.is_empty() {
            if peer.outstanding.is_empty() && !picker.is_interesting(&peer.has) {
                peer.am_interested = false;
                peer.link.send(Message::NotInterested);
            }
            return;
        }
        let now = Instant::now();
        if peer.outstanding.is_empty() {
            // The snub clock starts when we start waiting, not at the last block long ago.
            peer.last_block = now;
        }
        let mut outbox = peer.link.outbox();
        for r in picks {
            peer.outstanding.insert(r, now);
            outbox.messages.push(Message::Request(BlockRef {
                index: r.index,
                begin: r.begin,
                length: r.length,
            }));
        }
        drop(outbox);
        peer.link.wake_writer.notify_one();
    }

    // ---- verification ----

    fn verify(self: &Arc<Self>, index: u32, data: Vec<u8>) {
        let swarm = Arc::clone(self);
        tokio::spawn(async move {
            let torrent = Arc::clone(&swarm.torrent);
            let storage = Arc::clone(&swarm.storage);
            let offset = u64::from(index) * torrent.info.piece_length;
            let outcome = swarm
                .pool
                .run(move || {
                    if !torrent.verify_piece(index, &data) {
                        return Ok(false);
                    }
                    storage.write(offset, &data).map(|()| true)
                })
                .await;
            match outcome {
                Some(Ok(true)) => swarm.piece_passed(index),
                Some(Ok(false)) => swarm.piece_failed(index),
                Some(Err(e)) => swarm.fail(format!("cannot write piece {index}: {e}")),
                None => {} // shutting down
            }
        });
    }

    fn piece_passed(self: &Arc<Self>, index: u32) {
        let mut state = self.state();
        self.credit_senders(&mut state, index);
        state.picker.piece_verified(index);
        let size = u64::from(self.data_bytes[index as usize]);
        self.downloaded.fetch_add(size, Ordering::Relaxed);
        let complete = state.picker.is_complete();
        for peer in state.peers.values() {
            if !peer.has.get(index) {
                peer.link.send(Message::Have { index });
            }
            if complete && peer.has.is_complete() {
                peer.link.finish("both sides are seeds");
            }
        }
        Self::update_interest(&mut state);
        if complete {
            drop(state);
            let swarm = Arc::clone(self);
            tokio::spawn(async move {
                let storage = Arc::clone(&swarm.storage);
                let synced = swarm
                    .pool
                    .run(move || storage.create_all().and_then(|()| storage.sync()))
                    .await;
                match synced {
                    Some(Err(e)) => swarm.fail(format!("cannot finish files: {e}")),
                    _ => {
                        tracing::info!(name = %swarm.torrent.info.name, "download complete");
                        swarm.complete.send_replace(true);
                    }
                }
            });
        } else {
            let keys: Vec<PeerKey> = state.peers.keys().copied().collect();
            for key in keys {
                self.fill_requests(&mut state, key);
            }
        }
    }

    /// Blame: a piece sent by one peer alone convicts it; with several senders each gets a strike and
    /// the piece is fetched again from a single peer, so a repeat offender convicts itself.
    fn piece_failed(self: &Arc<Self>, index: u32) {
        self.hash_failures.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state();
        let contributors = state.picker.contributors(index);
        let wasted = u64::from(state.picker.piece_size(index));
        let _ = self
            .received
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                Some(r.saturating_sub(wasted))
            });
        state.picker.piece_failed(index);
        tracing::warn!(index, ?contributors, "piece failed its hash check");
        // The piece is wanted again: peers we lost interest in while it was being checked may have it.
        Self::update_interest(&mut state);
        // The culprit may have left while its piece was being checked; it is banned all the same.
        let ip_of = |state: &State, key: PeerKey| {
            state.peers.get(&key).map(|p| p.addr.ip()).or_else(|| {
                state
                    .departed
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, ip)| *ip)
            })
        };
        if let [culprit] = contributors[..]
            && let Some(ip) = ip_of(&state, culprit)
        {
            self.ban(&mut state, ip, index);
        }
    }

    fn ban(&self, state: &mut State, ip: IpAddr, index: u32) {
        tracing::warn!(%ip, index, "banning peer: sent a corrupt piece");
        state.banned.insert(ip);
        state.known.retain(|a, _| a.ip() != ip);
        let keys: Vec<PeerKey> = state
            .peers
            .iter()
            .filter(|(_, p)| p.addr.ip() == ip)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            state.picker.discard_blocks_from(key);
            Self::remove_peer(state, key, "banned: sent a corrupt piece");
        }
    }

    /// A local failure (disk full, permissions): stop downloading, keep serving what we have.
    fn fail(&self, message: String) {
        tracing::error!("{message}");
        let mut state = self.state();
        state.error.get_or_insert(message);
        self.complete.send_modify(|_| {});
    }

    // ---- choking ----

    fn unchoke_if_room(&self, state: &mut State, key: PeerKey) {
        let unchoked = state.peers.values().filter(|p| !p.am_choking).count();
        if unchoked >= self.config.upload_slots {
            return;
        }
        if let Some(peer) = state.peers.get_mut(&key)
            && peer.am_choking
            && !peer.debt_choked
            && self.picker_has_any(&state.picker)
        {
            peer.am_choking = false;
            peer.link.send(Message::Unchoke);
        }
    }

    fn picker_has_any(&self, picker: &Picker) -> bool {
        picker.have().count_ones() > 0
    }

    /// Tit-for-tat while downloading (reward who gives us the most), fastest-upload while seeding,
    /// plus one optimistic slot that rotates so newcomers get a chance.
    fn rechoke(&self, state: &mut State, rotate_optimistic: bool) {
        let seeding = state.picker.is_complete();
        let candidates: Vec<Candidate> = state
            .peers
            .iter()
            .filter(|(_, p)| p.peer_interested && !p.debt_choked)
            .map(|(k, p)| Candidate {
                key: *k,
                rate: if seeding {
                    p.up.per_second()
                } else {
                    p.down.per_second()
                },
                optimistic: p.optimistic,
            })
            .collect();
        let round = state.ticks / OPTIMISTIC_EVERY_TICKS;
        let Choice {
            unchoke,
            optimistic,
        } = choker::choose(
            &candidates,
            self.config.upload_slots,
            rotate_optimistic,
            round,
        );
        let has_any = self.picker_has_any(&state.picker);
        for (key, peer) in state.peers.iter_mut() {
            peer.optimistic = Some(*key) == optimistic;
            let should_unchoke = has_any && unchoke.contains(key);
            if should_unchoke && peer.am_choking {
                peer.am_choking = false;
                peer.link.send(Message::Unchoke);
            } else if !should_unchoke && !peer.am_choking {
                Self::choke(peer);
            }
        }
    }

    /// Chokes a peer; its queued requests are dropped (and rejected, under BEP 6).
    fn choke(peer: &mut PeerEntry) {
        peer.am_choking = true;
        let dropped: Vec<BlockRef> = peer.link.outbox().uploads.drain(..).collect();
        peer.link.send(Message::Choke);
        if peer.fast {
            for r in dropped {
                peer.link.send(Message::RejectRequest(r));
            }
        }
    }

    // ---- the clock ----

    /// Once a second: rates, choking, keep-alives, request timeouts.
    pub(crate) fn tick(&self) {
        let mut state = self.state();
        state.ticks += 1;
        let ticks = state.ticks;
        let now = Instant::now();
        let mut uploaded_now = 0;
        let mut unpaid = Vec::new();
        let State { picker, peers, .. } = &mut *state;
        for (key, peer) in peers.iter_mut() {
            let up_total = peer.link.uploaded.load(Ordering::Relaxed);
            let delta = up_total - peer.up_seen;
            peer.up_seen = up_total;
            peer.up.add(delta);
            uploaded_now += delta;
            peer.down.tick();
            peer.up.tick();
            if ticks.is_multiple_of(KEEPALIVE_EVERY_TICKS) {
                peer.link.send(Message::KeepAlive);
            }
            // Allowances can also move on their own (a balance looked up elsewhere).
            peer.refresh_allowance();
            if self.held_by_allowance(peer) {
                peer.debt_ticks += 1;
                if peer.debt_ticks >= DEBT_CHOKE_TICKS && !peer.am_choking {
                    tracing::info!(addr = %peer.addr, "choking: unpaid data reached its allowance");
                    Self::choke(peer);
                    peer.debt_choked = true;
                }
            } else if peer.debt_choked {
                peer.debt_ticks += 1;
                if peer.debt_ticks >= DEBT_DROP_TICKS {
                    unpaid.push(*key);
                }
            } else {
                peer.debt_ticks = 0;
            }
            if !peer.outstanding.is_empty() && now.duration_since(peer.last_block) > REQUEST_TIMEOUT
            {
                tracing::debug!(addr = %peer.addr, "peer snubbed us; re-requesting its blocks elsewhere");
                for req in peer.outstanding.drain().map(|(r, _)| r) {
                    picker.request_dropped(*key, req);
                }
                peer.last_block = now;
            }
        }
        for key in unpaid {
            Self::remove_peer(&mut state, key, "did not pay for what it was sent");
        }
        state.upload_rate.add(uploaded_now);
        state.upload_rate.tick();
        state.download_rate.tick();
        if ticks.is_multiple_of(RECHOKE_EVERY_TICKS) {
            self.rechoke(&mut state, ticks.is_multiple_of(OPTIMISTIC_EVERY_TICKS));
        }
        let keys: Vec<PeerKey> = state.peers.keys().copied().collect();
        for key in keys {
            // A peer whose allowance moved (it paid up) need not wait for the next rechoke.
            if state
                .peers
                .get(&key)
                .is_some_and(|p| p.am_choking && p.peer_interested && p.hooks.is_some())
            {
                self.unchoke_if_room(&mut state, key);
            }
            self.fill_requests(&mut state, key);
        }
    }

    /// Closes every connection; the caller then announces `stopped`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let state = self.state();
        for peer in state.peers.values() {
            peer.link.finish("shutting down");
        }
    }

    pub(crate) fn peer_count(&self) -> usize {
        self.state().peers.len()
    }
}
