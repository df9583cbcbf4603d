//! The collective's server: one process, one data directory, one SQLite store.
//!
//! - [`store`]: members, the index, accounting totals and the tracker's peer baselines.
//! - [`http`]: the tracker's `/announce` and `/scrape`, the JSON API under `/api/v1`, `/healthz`.
//! - [`Hub`]: loads the store into the [`tracker::Tracker`], serves HTTP, and runs the background
//!   work: flushing accounting batches, picking up member changes made by operator commands, and
//!   expiring silent peers.
//!
//! Invariant: a batch taken from the tracker is either committed whole by [`store::Store::flush`] or
//! merged back into the tracker; the final flush runs after the HTTP server has stopped accepting
//! announces, so a graceful shutdown loses nothing.

pub mod auditor;
mod chain;
pub mod config;
mod epochs;
mod history;
mod http;
mod http_audit;
mod http_economy;
pub use chain::settlement_of;
pub use epochs::SATURATION_WINDOW_SECS;
mod http_ledger;
mod metrics;
mod signin;
pub mod store;
mod views;
mod web;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tracker::{Passkey, Tracker};

pub use config::{HubConfig, HubConfigFile};
pub use store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("ledger: {0}")]
    Ledger(#[from] ledger::LedgerError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

pub use token::unix_now;

/// Opens the store in `data_dir`, creating both if needed (operator commands use this too).
pub fn open_store(data_dir: &std::path::Path) -> Result<Store, HubError> {
    std::fs::create_dir_all(data_dir).map_err(|source| HubError::Io {
        path: data_dir.to_path_buf(),
        source,
    })?;
    Ok(Store::open(&data_dir.join("hub.sqlite"))?)
}

pub(crate) struct Shared {
    pub config: HubConfig,
    pub tracker: Tracker,
    /// The flusher and publishing write through this connection; only from blocking threads.
    pub writer: Mutex<Store>,
    /// API reads; WAL lets them run while the writer commits.
    pub reader: Mutex<Store>,
    member_rev: AtomicI64,
    /// Base URL for personal `.torrent` files, fixed once the listener is bound.
    public_url: OnceLock<String>,
    /// The collective's ledger; `None` for a ratio-only tracker.
    pub ledger: Option<Arc<ledger::Ledger>>,
    /// Availability audits, with the ledger.
    pub auditor: Option<Arc<auditor::Auditor>>,
    /// Where the tokens live, for a ledger that settles on a chain ([`chain`]).
    pub settlement: Option<Arc<dyn settlement::Settlement>>,
    /// Bytes settled per ledger torrent id since the last epoch close (see [`epochs`]).
    pub settled: Mutex<std::collections::HashMap<[u8; 32], u64>>,
    pub metrics: metrics::Metrics,
    /// Sign-in nonces and one-time links waiting to be used.
    pub signin: signin::Pending,
}

impl Shared {
    /// Mirrors ledger members into the store (new members get a passkey, members under the
    /// minimum stake are suspended) and makes the tracker see it. Returns new members' passkeys.
    fn mirror_members(
        &self,
        changes: &[ledger::MemberChange],
    ) -> Result<Vec<(String, Passkey)>, StoreError> {
        let mut created = Vec::new();
        {
            let mut store = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let now = unix_now();
            for m in changes {
                if let Some(passkey) = store.link_member(&m.name, m.account.0, !m.active, now)? {
                    created.push((m.name.clone(), passkey));
                }
            }
        }
        self.refresh_members()?;
        Ok(created)
    }

    pub fn public_url(&self) -> String {
        // Set in `serve` before the first request can arrive.
        self.public_url.get().cloned().unwrap_or_default()
    }

    /// Runs `f` on a store connection in a blocking thread.
    pub async fn with_store<T: Send + 'static>(
        self: &Arc<Self>,
        write: bool,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let lock = if write {
                &shared.writer
            } else {
                &shared.reader
            };
            let mut store = lock.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut store)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Loads members changed since the last look into the tracker.
    fn refresh_members(&self) -> Result<usize, StoreError> {
        let since = self.member_rev.load(Ordering::Relaxed);
        // Through the writer's connection: the background loop must never queue behind API reads.
        let changed = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .members_since(since)?;
        let now = unix_now();
        for m in &changed {
            self.tracker.set_member(m.passkey, m.id, m.suspended, now);
            self.member_rev.fetch_max(m.rev, Ordering::Relaxed);
        }
        Ok(changed.len())
    }

    /// Expires silent peers and writes one batch. A failed write is merged back for the next try.
    fn flush(&self) -> Result<usize, StoreError> {
        let now = unix_now();
        self.tracker.expire(now);
        let batch = self.tracker.take_batch();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.deltas.len() + batch.peers.len();
        let result = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flush(&batch, now);
        match result {
            Ok(snatched) => {
                for (torrent, snatches) in snatched {
                    self.tracker.set_snatches(torrent, snatches);
                }
                Ok(n)
            }
            Err(e) => {
                self.tracker.restore_batch(batch);
                Err(e)
            }
        }
    }
}

/// A hub ready to serve.
pub struct Hub {
    shared: Arc<Shared>,
}

impl Hub {
    /// Opens (or creates) a ratio-only hub: no ledger, no tokens. A data directory that holds a
    /// ledger needs its operator key: see [`Hub::open_with_ledger`].
    pub fn open(config: HubConfig) -> Result<Hub, HubError> {
        if config.ledger_path().exists() {
            return Err(HubError::Config {
                path: config.ledger_path(),
                reason: "this collective has a ledger: open it with the operator key".into(),
            });
        }
        Hub::open_inner(config, None)
    }

    /// Opens a tokenised collective: replays and checks the ledger (created by `hub init`), then
    /// mirrors its members and registers every indexed torrent with it.
    pub fn open_with_ledger(
        config: HubConfig,
        operator: token::SecretKey,
    ) -> Result<Hub, HubError> {
        let path = config.ledger_path();
        if !path.exists() {
            return Err(ledger::LedgerError::NoGenesis.into());
        }
        let (ledger, report) = ledger::Ledger::open(&path, operator)?;
        tracing::info!(
            entries = report.entries,
            root = hex::encode(report.state_root),
            "ledger replayed"
        );
        let audits = config.data_dir.join("audit.sqlite");
        let mut hub = Hub::open_inner(config, Some(Arc::new(ledger)))?;
        hub.reconcile_ledger()?;
        let ledger = hub.shared.ledger.clone().expect("opened with the ledger");
        let torrents = hub.indexed_torrents()?;
        let auditor = auditor::Auditor::open(&audits, ledger, torrents)?;
        Arc::get_mut(&mut hub.shared)
            .expect("not shared before serving")
            .auditor = Some(Arc::new(auditor));
        Ok(hub)
    }

    /// Every torrent in the index, parsed (the auditor's layouts and targets).
    fn indexed_torrents(&self) -> Result<Vec<metainfo::Torrent>, HubError> {
        let store = self.shared.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for t in store.tracked_torrents()? {
            if let Some(bytes) = store.metainfo(t.id)? {
                match metainfo::Torrent::from_bytes(&bytes) {
                    Ok(torrent) => out.push(torrent),
                    Err(e) => tracing::warn!(id = t.id, "indexed torrent does not parse: {e}"),
                }
            }
        }
        Ok(out)
    }

    fn reconcile_ledger(&self) -> Result<(), HubError> {
        let Some(ledger) = &self.shared.ledger else {
            return Ok(());
        };
        self.shared.mirror_members(&ledger.members())?;
        let mut offset = 0;
        loop {
            let page = self
                .shared
                .reader
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .list_torrents(&hubapi::ListQuery {
                    limit: Some(500),
                    offset: Some(offset),
                    ..Default::default()
                })?
                .1;
            if page.is_empty() {
                return Ok(());
            }
            offset += page.len() as u32;
            for t in page {
                http_ledger::register_torrent(ledger, &t)?;
            }
        }
    }

    fn open_inner(config: HubConfig, ledger: Option<Arc<ledger::Ledger>>) -> Result<Hub, HubError> {
        config.validate().map_err(|reason| HubError::Config {
            path: config.data_dir.join("hub.toml"),
            reason,
        })?;
        let writer = open_store(&config.data_dir)?;
        let reader = Store::open(&config.database_path())?;
        let tracker = Tracker::new(config.tracker.clone());
        for t in writer.tracked_torrents()? {
            tracker.add_torrent(t.id, &t.wire_ids, t.snatches);
        }
        let shared = Arc::new(Shared {
            config,
            tracker,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            member_rev: AtomicI64::new(0),
            public_url: OnceLock::new(),
            ledger,
            auditor: None,
            settlement: None,
            settled: Mutex::new(std::collections::HashMap::new()),
            metrics: metrics::Metrics::default(),
            signin: signin::Pending::default(),
        });
        let members = shared.refresh_members()?;
        // A member suspended while the hub was down must not come back through its stored peers.
        let suspended: std::collections::HashSet<tracker::MemberId> = {
            let store = shared.reader.lock().unwrap_or_else(|e| e.into_inner());
            store
                .members_since(0)?
                .into_iter()
                .filter(|m| m.suspended)
                .map(|m| m.id)
                .collect()
        };
        let mut peers = shared
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .peers()?;
        peers.retain(|(k, _)| !suspended.contains(&k.member));
        let restored = shared.tracker.restore_peers(peers);
        let expired = shared.tracker.expire(unix_now());
        tracing::info!(members, restored, expired, "hub store loaded");
        Ok(Hub { shared })
    }

    /// Settles on the given back end: the hub follows its chain and publishes each close there.
    /// Refused unless the ledger's genesis settles the same way.
    pub fn with_settlement(
        mut self,
        settlement: Arc<dyn settlement::Settlement>,
    ) -> Result<Hub, HubError> {
        let on_chain = self
            .shared
            .ledger
            .as_ref()
            .is_some_and(|l| l.state().chain().is_some());
        let wants_chain = settlement.kind() == settlement::Kind::Evm;
        if on_chain != wants_chain {
            return Err(HubError::Config {
                path: self.shared.config.ledger_path(),
                reason: format!(
                    "the collective's genesis settles {}, the hub was given a {:?} back end",
                    if on_chain {
                        "on an EVM chain"
                    } else {
                        "embedded"
                    },
                    settlement.kind()
                ),
            });
        }
        Arc::get_mut(&mut self.shared)
            .expect("not shared before serving")
            .settlement = Some(settlement);
        Ok(self)
    }

    /// The collective's genesis, as its ledger holds it (None without a ledger).
    pub fn genesis(&self) -> Option<ledger::Genesis> {
        let ledger = self.shared.ledger.as_ref()?;
        ledger.state().genesis().cloned()
    }

    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    pub async fn bind(&self) -> Result<TcpListener, HubError> {
        let addr = self.shared.config.listen;
        TcpListener::bind(addr)
            .await
            .map_err(|source| HubError::Listen { addr, source })
    }

    /// Serves until `shutdown` resolves, then stops taking requests and flushes what is pending.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), HubError> {
        let shared = self.shared;
        let bound = listener.local_addr().map_err(|source| HubError::Listen {
            addr: shared.config.listen,
            source,
        })?;
        let url = match &shared.config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                if bound.ip().is_unspecified() {
                    tracing::warn!(
                        "listening on {bound} without public_url: members' .torrent files will \
                         announce to http://{bound}, which their clients cannot reach; set public_url"
                    );
                }
                format!("http://{bound}")
            }
        };
        let _ = shared.public_url.set(url);
        let (stop_background, background_stop) = tokio::sync::watch::channel(false);
        let background = tokio::spawn(background(Arc::clone(&shared), background_stop.clone()));
        let closing = shared
            .auditor
            .is_some()
            .then(|| tokio::spawn(epochs::run(Arc::clone(&shared), background_stop.clone())));
        let following = shared
            .settlement
            .clone()
            .filter(|s| s.kind() == settlement::Kind::Evm)
            .map(|s| tokio::spawn(chain::run(Arc::clone(&shared), s, background_stop.clone())));
        let auditing = shared
            .auditor
            .clone()
            .map(|a| tokio::spawn(auditor::run(a, background_stop)));
        let app = http::router(Arc::clone(&shared));
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // Let a flush under way finish (a failed one merges its batch back) before the last one.
        let _ = stop_background.send(true);
        let _ = background.await;
        if let Some(auditing) = auditing {
            let _ = auditing.await;
        }
        if let Some(closing) = closing {
            let _ = closing.await;
        }
        if let Some(following) = following {
            let _ = following.await;
        }
        // Announces have stopped: this batch is the last. A store that fails gets a few tries.
        let mut attempt = 0;
        loop {
            let result = tokio::task::spawn_blocking({
                let shared = Arc::clone(&shared);
                move || shared.flush()
            })
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            match result {
                Ok(flushed) => {
                    tracing::info!(records = flushed, "final accounting flush done");
                    break;
                }
                Err(e) if attempt < 4 => {
                    attempt += 1;
                    tracing::warn!("final flush failed (try {attempt}), retrying: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        served.map_err(|source| HubError::Io {
            path: PathBuf::from("<http server>"),
            source,
        })
    }
}

/// Flushes every `flush_interval`, and looks for member changes every second.
async fn background(shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut flush = tokio::time::interval(shared.config.flush_interval);
    let mut members = tokio::time::interval(Duration::from_secs(1));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    members.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let work: fn(&Shared) -> Result<usize, StoreError> = tokio::select! {
            _ = flush.tick() => Shared::flush,
            _ = members.tick() => Shared::refresh_members,
            _ = stop.changed() => return,
        };
        let s = Arc::clone(&shared);
        match tokio::task::spawn_blocking(move || work(&s)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("hub background work failed (will retry): {e}"),
            Err(e) => tracing::error!("hub background task panicked: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flush that fails (here: a table gone) merges its batch back; the next good flush writes
    /// the sum, nothing lost and nothing doubled.
    #[test]
    fn failed_flush_is_merged_back_and_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let passkey = {
            let mut store = open_store(dir.path()).unwrap();
            store.add_member("ann", 1).unwrap().1
        };
        let mut config = HubConfig::defaults(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        let hub = Hub::open(config).unwrap();
        let shared = &hub.shared;
        let torrent = {
            let bytes = {
                let path = dir.path().join("f.bin");
                std::fs::write(&path, [1u8; 40_000]).unwrap();
                let opts = metainfo::CreateOptions {
                    private: true,
                    ..metainfo::CreateOptions::default()
                };
                metainfo::create_torrent(&path, &opts, &mut |_, _| {})
                    .unwrap()
                    .to_bytes()
            };
            let (_, tracked) = shared
                .writer
                .lock()
                .unwrap()
                .add_torrent(&store::NewTorrent {
                    metainfo: &bytes,
                    name: "f",
                    category: "c",
                    description: "",
                    uploader: 1,
                    now: 1,
                })
                .unwrap();
            shared.tracker.add_torrent(tracked.id, &tracked.wire_ids, 0);
            tracked.wire_ids[0]
        };
        let key = tracker::request::passkey_to_string(&passkey);
        let hash: String = torrent.iter().map(|b| format!("%{b:02x}")).collect();
        let announce = |up: u64| {
            let q = format!(
                "info_hash={hash}&peer_id=AAAAAAAAAAAAAAAAAAAA&port=1&uploaded={up}&downloaded=0&left=0"
            );
            let now = unix_now();
            shared
                .tracker
                .announce(&key, q.as_bytes(), "127.0.0.1".parse().unwrap(), now)
                .unwrap();
        };
        announce(0);
        announce(100);
        let sabotage = rusqlite::Connection::open(dir.path().join("hub.sqlite")).unwrap();
        sabotage
            .execute_batch("ALTER TABLE peers RENAME TO peers_away")
            .unwrap();
        assert!(shared.flush().is_err());
        announce(250);
        sabotage
            .execute_batch("ALTER TABLE peers_away RENAME TO peers")
            .unwrap();
        assert!(shared.flush().unwrap() > 0);
        let stats = shared
            .reader
            .lock()
            .unwrap()
            .member_stats("ann")
            .unwrap()
            .unwrap();
        assert_eq!(stats.uploaded, 250);
        let peers = shared.reader.lock().unwrap().peers().unwrap();
        assert_eq!(peers[0].1.uploaded, 250, "the newest baseline is stored");
    }
}
