//! The member's node: a long-running engine over a data directory, within a disk budget.
//!
//! Layout of the data directory:
//! - `node.toml` — optional configuration (see [`NodeConfig`]);
//! - `torrents/<info-hash>.torrent` — what the node hosts; `seedbank node add` drops files here and the
//!   running node picks them up (no socket API yet: the hub issue brings one);
//! - `content/` — the data, laid out as libtorrent's save path (`content/<name>/...`);
//! - `receipts.json` — receipts earned and not yet settled by the hub (see [`payments`]).
//!
//! The disk budget is a promise to the member: the node never takes on a torrent whose content would
//! push the hosted total over it. With a wallet, the node pays for what it downloads and is paid for
//! what it uploads ([`payments`]), and answers the hub's availability audits ([`audits`]). A later
//! issue adds a hosting policy.

pub mod audits;
mod config;
pub mod hooks;
pub mod hosting;
pub mod payments;
pub mod size;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use engine::{Engine, EngineConfig, EngineError, TorrentHandle};
use metainfo::Torrent;

pub use audits::Audits;
pub use config::{DEFAULT_DISK_BUDGET, NodeConfig, NodeConfigFile};
pub use payments::{Payments, PaymentsError, SettleReport, Terms};

/// How often earned receipts are handed to the hub.
pub const SETTLE_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("{path}: not a valid torrent: {reason}")]
    BadTorrent { path: PathBuf, reason: String },
    #[error(
        "disk budget exceeded: {name} needs {needed} bytes but only {available} of the {budget}-byte budget are free"
    )]
    DiskBudget {
        name: String,
        needed: u64,
        available: u64,
        budget: u64,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Payments(#[from] PaymentsError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn torrent_file_name(torrent: &Torrent) -> String {
    let id = torrent
        .hashes
        .v1
        .map(hex::encode)
        .or_else(|| torrent.hashes.v2.map(hex::encode));
    format!("{}.torrent", id.unwrap_or_default())
}

/// The torrents registered in a data directory.
pub fn registered(data_dir: &Path) -> Result<Vec<(PathBuf, Torrent)>, NodeError> {
    let dir = data_dir.join("torrents");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(NodeError::Io {
                path: dir,
                source: e,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(io(&dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("torrent") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let torrent = Torrent::from_bytes(&bytes).map_err(|e| NodeError::BadTorrent {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        out.push((path, torrent));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Registers a torrent with a node's data directory, if it fits the disk budget.
pub fn register(config: &NodeConfig, torrent: &Torrent) -> Result<PathBuf, NodeError> {
    let existing = registered(&config.data_dir)?;
    if let Some((path, _)) = existing.iter().find(|(_, t)| t.hashes == torrent.hashes) {
        return Ok(path.clone());
    }
    let used: u64 = existing.iter().map(|(_, t)| t.info.data_length()).sum();
    let needed = torrent.info.data_length();
    let available = config.disk_budget.saturating_sub(used);
    if needed > available {
        return Err(NodeError::DiskBudget {
            name: torrent.info.name.clone(),
            needed,
            available,
            budget: config.disk_budget,
        });
    }
    let dir = config.data_dir.join("torrents");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let path = dir.join(torrent_file_name(torrent));
    // Write then rename: a node scanning the directory never sees half a file.
    let tmp = path.with_extension("torrent.tmp");
    std::fs::write(&tmp, torrent.to_bytes()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// A running node.
pub struct Node {
    config: NodeConfig,
    engine: Engine,
    torrents: HashMap<PathBuf, TorrentHandle>,
    /// The wallet at work, and the hub it settles with.
    payments: Option<(Arc<Payments>, hubapi::HubClient)>,
    /// The same wallet answering audits.
    audits: Option<Arc<Audits>>,
    /// The last epoch a hosting report was logged for.
    reported: Option<u64>,
    /// Said once: why this node sends no hosting reports.
    not_reporting: bool,
}

impl Node {
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let content = config.data_dir.join("content");
        std::fs::create_dir_all(&content).map_err(io(&content))?;
        let engine = Engine::start(EngineConfig {
            listen: config.listen,
            upload_slots: config.upload_slots,
            max_peers: config.max_peers,
            ..EngineConfig::default()
        })
        .await?;
        Ok(Node {
            config,
            engine,
            torrents: HashMap::new(),
            payments: None,
            audits: None,
            reported: None,
            not_reporting: false,
        })
    }

    /// Pays for downloads, gets paid for uploads and answers audits from now on: torrents added
    /// afterwards speak `sb_receipt` and `sb_audit`, and [`Node::run`] settles with `hub`.
    pub fn enable_payments(&mut self, payments: Arc<Payments>, hub: hubapi::HubClient) {
        let key = payments.key().clone();
        self.audits = Some(Arc::new(Audits::new(key, payments.terms().domain.clone())));
        self.payments = Some((payments, hub));
    }

    pub fn payments(&self) -> Option<&Arc<Payments>> {
        self.payments.as_ref().map(|(p, _)| p)
    }

    /// The wallet as it answers audits, once payments are enabled.
    pub fn audits(&self) -> Option<&Arc<Audits>> {
        self.audits.as_ref()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn torrents(&self) -> impl Iterator<Item = &TorrentHandle> {
        self.torrents.values()
    }

    /// Picks up torrents registered since the last scan. Returns how many were added. A torrent that
    /// cannot be read is reported and skipped, so one bad file does not stop the node.
    pub async fn scan(&mut self) -> Result<usize, NodeError> {
        let mut added = 0;
        for (path, torrent) in registered(&self.config.data_dir)? {
            if self.torrents.contains_key(&path) {
                continue;
            }
            let name = torrent.info.name.clone();
            let root = self.config.data_dir.join("content");
            let torrent = Arc::new(torrent);
            let hooks = match (self.payments(), &self.audits) {
                (Some(payments), Some(audits)) => {
                    Some(hooks::for_torrent(payments, audits, &torrent))
                }
                _ => None,
            };
            match self
                .engine
                .add_torrent_shared(torrent, root, |_| {}, hooks)
                .await
            {
                Ok(handle) => {
                    let stats = handle.stats();
                    tracing::info!(
                        name,
                        have = stats.pieces_have,
                        total = stats.pieces_total,
                        "hosting"
                    );
                    self.torrents.insert(path, handle);
                    added += 1;
                }
                Err(e) => tracing::error!(name, "cannot host: {e}"),
            }
        }
        Ok(added)
    }

    /// Where auditors reach this node: the configured `advertise`, else the listen address if it
    /// is a specific one.
    pub fn advertised(&self) -> Option<hosting::Advertised> {
        let endpoint = self.config.advertise.unwrap_or(self.engine.listen_addr());
        (!endpoint.ip().is_unspecified()).then(|| hosting::Advertised {
            endpoint,
            location: self.config.location.clone().unwrap_or_default(),
        })
    }

    /// Reports what the node hosts for the next epoch, once per epoch (see [`hosting`]). Failures
    /// are logged and retried on the next round.
    async fn report_hosting(&mut self) {
        let Some((payments, hub)) = self.payments.clone() else {
            return;
        };
        let Some(advertised) = self.advertised() else {
            if !std::mem::replace(&mut self.not_reporting, true) {
                tracing::warn!(
                    "no hosting reports: the node listens on {} and has no `advertise` address \
                     for auditors; set `advertise` in node.toml",
                    self.engine.listen_addr()
                );
            }
            return;
        };
        let key = payments.key();
        let result = async {
            let epoch = hub.current_epoch().await?.current + 1;
            if self.reported >= Some(epoch) {
                return Ok(None);
            }
            let account = hub.account(&key.address()).await?;
            let holdings: Vec<hosting::Holding<'_>> = self
                .torrents
                .values()
                .map(|h| hosting::Holding {
                    torrent: h.torrent(),
                    pieces: h.have_pieces(),
                })
                .collect();
            let (report, claimed, left_out) =
                hosting::build(key.address(), epoch, &holdings, account.host_bound_bytes)?;
            if !left_out.is_empty() {
                tracing::warn!(
                    bound = account.host_bound_bytes,
                    ?left_out,
                    "hosting more than the collateral covers: these are not claimed (stake more \
                     to claim them)"
                );
            }
            let claims = report.claims.len();
            hosting::submit(
                &hub,
                key,
                &payments.terms().domain,
                account.nonce,
                report,
                claimed,
                &advertised,
            )
            .await?;
            Ok::<_, hosting::HostingError>(Some((epoch, claims, claimed)))
        }
        .await;
        match result {
            Ok(Some((epoch, claims, claimed))) => {
                self.reported = Some(epoch);
                tracing::info!(
                    epoch,
                    torrents = claims,
                    bytes = claimed,
                    endpoint = %advertised.endpoint,
                    "hosting report logged"
                );
            }
            Ok(None) => {}
            Err(hosting::HostingError::Hub(hubapi::ClientError::Api { code, .. }))
                if code == "report_exists" =>
            {
                // Logged by an earlier run of this node: nothing to do until the next epoch.
                if let Ok(view) = hub.current_epoch().await {
                    self.reported = Some(view.current + 1);
                }
            }
            Err(e) => tracing::warn!("hosting report not logged (will retry): {e}"),
        }
    }

    /// Runs until `shutdown` resolves, rescanning the torrents directory every few seconds.
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), NodeError> {
        tokio::pin!(shutdown);
        let (stop_settling, settling_stopped) = tokio::sync::oneshot::channel::<()>();
        let settler = self.payments.clone().map(|(payments, hub)| {
            tokio::spawn(async move {
                let stopped = async {
                    let _ = settling_stopped.await;
                };
                payments.settle_loop(&hub, SETTLE_EVERY, stopped).await;
            })
        });
        loop {
            if let Err(e) = self.scan().await {
                tracing::error!("scan: {e}");
            }
            self.report_hosting().await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = &mut shutdown => break,
            }
        }
        self.engine.shutdown().await;
        // The last round runs after the engine stopped, so it carries the final receipts.
        let _ = stop_settling.send(());
        if let Some(settler) = settler {
            let _ = settler.await;
        }
        Ok(())
    }
}
