//! The engine: one listening socket, a hashing pool, and the torrents it serves.
//!
//! Incoming connections are routed by the info-hash in their handshake (v1 or truncated v2 for a
//! hybrid). Each torrent gets a one-second clock task, a dialer fed by its tracker and the user, and a
//! tracker task.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metainfo::Torrent;
use peerwire::bitfield::Bitfield;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::hashpool::HashPool;
use crate::peer;
use crate::storage::Storage;
use crate::swarm::{EngineParts, Swarm, TorrentStats};
use crate::tracker::{self, Announce, Event};
use crate::{EngineConfig, EngineError, SwarmHooks};

struct Inner {
    config: EngineConfig,
    peer_id: [u8; 20],
    listen_addr: SocketAddr,
    pool: Arc<HashPool>,
    swarms: Mutex<Vec<Arc<Swarm>>>,
    shutdown: watch::Sender<bool>,
}

impl Inner {
    /// The port trackers are told: configured, or the one actually bound.
    fn announce_port(&self) -> u16 {
        self.config.announce_port.unwrap_or(self.listen_addr.port())
    }
}

/// A BitTorrent engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// Progress of the resume check.
#[derive(Clone, Copy, Debug)]
pub struct CheckProgress {
    pub checked: u32,
    pub total: u32,
    pub valid: u32,
}

/// Azureus-style peer id: client code and version, then random bytes.
fn new_peer_id() -> [u8; 20] {
    let mut id = *b"-SB0100-000000000000";
    let mut rng = rand::rng();
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for b in &mut id[8..] {
        *b = ALPHABET[rng.random_range(0..ALPHABET.len())];
    }
    id
}

impl Engine {
    /// Binds the listening socket and starts accepting peers.
    pub async fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| EngineError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let listen_addr = listener
            .local_addr()
            .map_err(|source| EngineError::Listen {
                addr: config.listen,
                source,
            })?;
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            pool: HashPool::new(config.hash_threads),
            config,
            peer_id: new_peer_id(),
            listen_addr,
            swarms: Mutex::new(Vec::new()),
            shutdown,
        });
        tokio::spawn(accept_loop(Arc::clone(&inner), listener));
        tracing::info!(%listen_addr, "listening for peers");
        Ok(Engine { inner })
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.inner.listen_addr
    }

    pub fn peer_id(&self) -> [u8; 20] {
        self.inner.peer_id
    }

    /// Checks the data under `root` against the torrent (resume by re-checking), then joins the swarm.
    pub async fn add_torrent(
        &self,
        torrent: Torrent,
        root: PathBuf,
        progress: impl Fn(CheckProgress) + Send + Sync + 'static,
    ) -> Result<TorrentHandle, EngineError> {
        self.add_torrent_with(torrent, root, progress, None).await
    }

    /// [`Engine::add_torrent`] with the node's extensions plugged into the swarm.
    pub async fn add_torrent_with(
        &self,
        torrent: Torrent,
        root: PathBuf,
        progress: impl Fn(CheckProgress) + Send + Sync + 'static,
        hooks: Option<Arc<dyn SwarmHooks>>,
    ) -> Result<TorrentHandle, EngineError> {
        self.add_torrent_shared(Arc::new(torrent), root, progress, hooks)
            .await
    }

    /// [`Engine::add_torrent_with`] for a torrent the hooks share (they hold the same `Arc`, so
    /// its piece layers are kept once).
    pub async fn add_torrent_shared(
        &self,
        torrent: Arc<Torrent>,
        root: PathBuf,
        progress: impl Fn(CheckProgress) + Send + Sync + 'static,
        hooks: Option<Arc<dyn SwarmHooks>>,
    ) -> Result<TorrentHandle, EngineError> {
        {
            let swarms = self
                .inner
                .swarms
                .lock()
                .map_err(|_| EngineError::Shutdown)?;
            if swarms.iter().any(|s| s.torrent.hashes == torrent.hashes) {
                return Err(EngineError::Duplicate);
            }
        }
        let check_storage = Arc::new(Storage::new(&root, &torrent.info, false));
        let have = check(&self.inner.pool, &torrent, &check_storage, progress).await?;
        let writable = !have.is_complete();
        let storage = Arc::new(Storage::new(&root, &torrent.info, writable));
        let announce_port = self.inner.announce_port();
        let swarm = Swarm::new(
            Arc::clone(&torrent),
            storage,
            have,
            EngineParts {
                config: self.inner.config.clone(),
                peer_id: self.inner.peer_id,
                pool: Arc::clone(&self.inner.pool),
                listen_port: announce_port,
            },
            hooks,
        );
        self.inner
            .swarms
            .lock()
            .map_err(|_| EngineError::Shutdown)?
            .push(Arc::clone(&swarm));
        tokio::spawn(clock(
            Arc::clone(&swarm),
            self.inner.listen_addr,
            self.inner.shutdown.subscribe(),
        ));
        let tracker_task = if tracker_urls(&torrent).is_empty() {
            None
        } else {
            Some(tokio::spawn(announce_loop(
                Arc::clone(&swarm),
                announce_port,
                self.inner.shutdown.subscribe(),
            )))
        };
        Ok(TorrentHandle {
            swarm,
            tracker_task: Arc::new(Mutex::new(tracker_task)),
        })
    }

    /// Closes every connection once what is queued for it is written (a last `have` or receipt),
    /// tells trackers we stopped (bounded waits for both), and stops the hashing pool.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let swarms: Vec<Arc<Swarm>> = self
            .inner
            .swarms
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        for s in &swarms {
            s.close();
        }
        let port = self.inner.announce_port();
        let mut stops = JoinSet::new();
        for s in &swarms {
            let s = Arc::clone(s);
            stops.spawn(async move { announce_stopped(&s, port).await });
        }
        let announced = async { while stops.join_next().await.is_some() {} };
        let disconnected = async {
            while swarms.iter().any(|s| s.peer_count() > 0) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            tokio::join!(announced, disconnected)
        })
        .await;
        let pool = Arc::clone(&self.inner.pool);
        let _ = tokio::task::spawn_blocking(move || pool.shutdown()).await;
    }
}

/// Reads and hashes every piece on the pool, a few at a time, and reports progress.
async fn check(
    pool: &Arc<HashPool>,
    torrent: &Arc<Torrent>,
    storage: &Arc<Storage>,
    progress: impl Fn(CheckProgress),
) -> Result<Bitfield, EngineError> {
    let total = torrent.piece_count();
    let mut have = Bitfield::new(total);
    let any_file = storage.file_paths().any(|(p, _)| p.exists());
    if !any_file {
        // Nothing on disk: only pieces made wholly of padding (rare, but valid in a hybrid) can
        // check out, and they must, or nobody could ever complete them.
        let mut valid = 0;
        for index in (0..total).filter(|i| torrent.piece_files(*i).is_empty()) {
            let zeros = vec![0u8; torrent.piece_size(index) as usize];
            if torrent.verify_piece(index, &zeros) {
                have.set(index, true).map_err(|_| EngineError::Shutdown)?;
                valid += 1;
            }
        }
        progress(CheckProgress {
            checked: total,
            total,
            valid,
        });
        return Ok(have);
    }
    let in_flight = 4 * std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let mut jobs = JoinSet::new();
    let mut next = 0u32;
    let mut checked = 0u32;
    let mut valid = 0u32;
    while checked < total {
        while next < total && jobs.len() < in_flight {
            let (pool, torrent, storage) =
                (Arc::clone(pool), Arc::clone(torrent), Arc::clone(storage));
            let index = next;
            jobs.spawn(async move {
                let result = pool
                    .run(move || {
                        let mut buf = vec![0u8; torrent.piece_size(index) as usize];
                        let offset = u64::from(index) * torrent.info.piece_length;
                        match storage.read_if_present(offset, &mut buf) {
                            Ok(true) => Ok(torrent.verify_piece(index, &buf)),
                            Ok(false) => Ok(false),
                            Err(e) => Err(e),
                        }
                    })
                    .await;
                (index, result)
            });
            next += 1;
        }
        let Some(joined) = jobs.join_next().await else {
            break;
        };
        let (index, result) = joined.map_err(|_| EngineError::Shutdown)?;
        match result {
            Some(Ok(true)) => {
                have.set(index, true).map_err(|_| EngineError::Shutdown)?;
                valid += 1;
            }
            Some(Ok(false)) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(EngineError::Shutdown),
        }
        checked += 1;
        if checked.is_multiple_of(16) || checked == total {
            progress(CheckProgress {
                checked,
                total,
                valid,
            });
        }
    }
    Ok(have)
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (mut stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let inner = Arc::clone(&inner);
        tokio::spawn(async move {
            let theirs = match peer::read_handshake(&mut stream).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::debug!(%addr, "incoming: {e}");
                    return;
                }
            };
            let swarm = inner.swarms.lock().ok().and_then(|s| {
                s.iter()
                    .find(|s| s.torrent.hashes.matches(&theirs.info_hash))
                    .cloned()
            });
            match swarm {
                Some(swarm) => peer::accept(swarm, stream, addr, theirs).await,
                None => tracing::debug!(%addr, "incoming handshake for an unknown torrent"),
            }
        });
    }
}

/// The swarm's one-second clock, and the dialer.
async fn clock(swarm: Arc<Swarm>, own: SocketAddr, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let tick = tokio::select! {
            _ = interval.tick() => true,
            // New addresses are dialled at once, not at the next tick.
            _ = swarm.new_addrs.notified() => false,
            _ = shutdown.changed() => return,
        };
        if swarm.closed.load(Ordering::Relaxed) {
            return;
        }
        if tick {
            swarm.tick();
        }
        for addr in swarm.addrs_to_dial(own) {
            tokio::spawn(peer::dial(Arc::clone(&swarm), addr));
        }
    }
}

fn tracker_urls(torrent: &Torrent) -> Vec<String> {
    let mut urls: Vec<String> = torrent.announce_list.iter().flatten().cloned().collect();
    if urls.is_empty() {
        urls.extend(torrent.announce.clone());
    }
    urls.retain(|u| u.starts_with("http://") || u.starts_with("https://"));
    urls
}

fn announce_for(swarm: &Swarm, port: u16, event: Event) -> Announce {
    let (uploaded, downloaded) = swarm.transfer_totals();
    Announce {
        info_hash: swarm.torrent.hashes.wire_id(),
        peer_id: swarm.peer_id,
        port,
        uploaded,
        downloaded,
        left: swarm.left(),
        event,
        // Stable per session, so a tracker can tell our IPv4 and IPv6 announces apart from a stranger's.
        key: u32::from_be_bytes([
            swarm.peer_id[16],
            swarm.peer_id[17],
            swarm.peer_id[18],
            swarm.peer_id[19],
        ]),
        numwant: 50,
    }
}

/// Announces `started`, then every interval, `completed` when the download ends.
async fn announce_loop(swarm: Arc<Swarm>, port: u16, mut shutdown: watch::Receiver<bool>) {
    let urls = tracker_urls(&swarm.torrent);
    let mut complete = swarm.subscribe_complete();
    let mut event = Event::Started;
    let mut was_complete = swarm.is_complete();
    loop {
        let mut wait = Duration::from_secs(60);
        for url in &urls {
            match tracker::announce(url, &announce_for(&swarm, port, event)).await {
                Ok(response) => {
                    tracing::debug!(url, peers = response.peers.len(), "announced");
                    if let Some(w) = &response.warning {
                        tracing::warn!(url, "tracker warning: {w}");
                    }
                    swarm.add_addrs(response.peers);
                    wait = response
                        .interval
                        .max(response.min_interval.unwrap_or_default());
                    event = Event::None;
                    break;
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = complete.changed() => {
                let now_complete = *complete.borrow();
                if now_complete && !was_complete {
                    event = Event::Completed;
                }
                was_complete = now_complete;
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn announce_stopped(swarm: &Swarm, port: u16) {
    for url in tracker_urls(&swarm.torrent) {
        if let Err(e) = tracker::announce(&url, &announce_for(swarm, port, Event::Stopped)).await {
            tracing::debug!("{e}");
        }
    }
}

/// A torrent in the engine.
#[derive(Clone)]
pub struct TorrentHandle {
    swarm: Arc<Swarm>,
    tracker_task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl TorrentHandle {
    pub fn torrent(&self) -> &Torrent {
        &self.swarm.torrent
    }

    /// Peers to connect to, besides the tracker's.
    pub fn add_peers(&self, addrs: impl IntoIterator<Item = SocketAddr>) {
        self.swarm.add_addrs(addrs);
    }

    pub fn stats(&self) -> TorrentStats {
        self.swarm.stats()
    }

    /// The verified pieces, ascending: what the node may claim to host.
    pub fn have_pieces(&self) -> Vec<u32> {
        self.swarm.have_pieces()
    }

    pub fn peer_count(&self) -> usize {
        self.swarm.peer_count()
    }

    /// Resolves when every piece is verified and on disk (and synced), or the torrent failed.
    pub async fn wait_complete(&self) -> Result<(), String> {
        let mut rx = self.swarm.subscribe_complete();
        loop {
            if let Some(e) = self.swarm.stats().error {
                return Err(e);
            }
            if *rx.borrow_and_update() {
                return Ok(());
            }
            if rx.changed().await.is_err() {
                return Err("engine stopped".into());
            }
        }
    }

    /// Leaves the swarm: closes connections and announces `stopped`.
    pub async fn remove(&self, engine: &Engine) {
        self.swarm.close();
        if let Some(task) = self.tracker_task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
        let port = engine.inner.announce_port();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), announce_stopped(&self.swarm, port)).await;
        if let Ok(mut swarms) = engine.inner.swarms.lock() {
            swarms.retain(|s| !Arc::ptr_eq(s, &self.swarm));
        }
    }
}
