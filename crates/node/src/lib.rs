//! The member's node: a long-running engine over a data directory, within a disk budget.
//!
//! Layout of the data directory:
//! - `node.toml` — optional configuration (see [`NodeConfig`]);
//! - `torrents/<info-hash>.torrent` — what the node hosts; `seedbank node add` drops files here and the
//!   running node picks them up (no socket API yet: the hub issue brings one);
//! - `content/` — the data, laid out as libtorrent's save path (`content/<name>/...`);
//! - `receipts.json` — receipts earned and not yet settled by the hub (see [`payments`]);
//! - `policy.json` — what the hosting policy added, and what it is letting go (see [`policy`]).
//!
//! The disk budget is a promise to the member: the node never takes on a torrent whose content would
//! push the hosted total over it. With a wallet, the node pays for what it downloads and is paid for
//! what it uploads ([`payments`]), and answers the hub's availability audits ([`audits`]). With a
//! hosting policy ([`policy`], [`Node::enable_policy`]) it also chooses what to host: once per epoch
//! it fetches the member's interests and what pays best, and lets go of what it added itself when
//! something better needs the room. Torrents registered by hand are never removed.

pub mod audits;
mod config;
pub mod hooks;
pub mod hosting;
pub mod payments;
pub mod policy;
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
    #[error("hub: {0}")]
    Hub(#[from] hubapi::ClientError),
    #[error("hosting policy: {0}")]
    Policy(String),
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

/// The ledger's id of a torrent (`token::torrent_id`), hex: how the node's torrents meet the hub's
/// market and reports.
pub fn ledger_id(torrent: &Torrent) -> String {
    hex::encode(token::torrent_id(torrent.hashes.v1, torrent.hashes.v2))
}

/// Where the hosting policy keeps its [`policy::Record`].
pub fn policy_record_path(data_dir: &Path) -> PathBuf {
    data_dir.join("policy.json")
}

/// The hosting plan for a data directory: what [`Node`] applies each epoch and `seedbank node
/// plan` prints. Torrents the policy is letting go are still on disk: their bytes come off the
/// budget and they are not planned with. Returns the plan and those bytes.
pub fn plan_hosting(
    config: &NodeConfig,
    market: &hubapi::Market,
    record: &policy::Record,
    options: &policy::Options,
) -> Result<(policy::Plan, u64), NodeError> {
    let mut leaving = 0u64;
    let mut current = Vec::new();
    for (_, t) in registered(&config.data_dir)? {
        let torrent = ledger_id(&t);
        let size = t.info.data_length();
        let by_policy = match record.get(&torrent) {
            Some(added) if added.leaving.is_some() => {
                leaving = leaving.saturating_add(size);
                continue;
            }
            Some(_) => true,
            None => false,
        };
        current.push(policy::CurrentHolding {
            torrent,
            v1: t.hashes.v1.map(hex::encode),
            name: t.info.name.clone(),
            size,
            by_policy,
        });
    }
    let budget = config.disk_budget.saturating_sub(leaving);
    let plan = policy::plan_with(market, &config.interests, budget, &current, options);
    Ok((plan, leaving))
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
    /// The hosting policy, once enabled.
    policy: Option<PolicyState>,
}

/// The hosting policy at work: the hub it asks (with the member's passkey, for the personal
/// `.torrent` files), what it added, and the last epoch it planned for.
struct PolicyState {
    hub: hubapi::HubClient,
    record: policy::Record,
    planned: Option<u64>,
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
            policy: None,
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

    /// Lets the node choose what it hosts (see [`policy`]): from now on [`Node::run`] plans once
    /// per epoch with the market of `hub`, fetches what the plan adds (the personal `.torrent`, so
    /// `hub` must carry the member's passkey) and lets go of what the policy added and the plan
    /// evicts. Only torrents listed in `policy.json` are ever deleted. Whether to call this is the
    /// caller's choice ([`NodeConfig::hosting_policy`]); without payments the node cannot pay for
    /// the downloads, so the CLI enables it only with a wallet.
    pub fn enable_policy(&mut self, hub: hubapi::HubClient) -> Result<(), NodeError> {
        let path = policy_record_path(&self.config.data_dir);
        let record = policy::Record::load(&path).map_err(io(&path))?;
        self.policy = Some(PolicyState {
            hub,
            record,
            planned: None,
        });
        Ok(())
    }

    /// What the hosting policy added and is letting go, once enabled.
    pub fn policy_record(&self) -> Option<&policy::Record> {
        self.policy.as_ref().map(|p| &p.record)
    }

    fn save_record(&self) -> Result<(), NodeError> {
        let Some(state) = &self.policy else {
            return Ok(());
        };
        let path = policy_record_path(&self.config.data_dir);
        state.record.save(&path).map_err(io(&path))
    }

    /// Whether an evicted torrent is claimed by this node's reports until a later report leaves it
    /// out (see [`policy::Leaving`]); a node that sends none lets it go at the next epoch.
    fn sends_reports(&self) -> bool {
        self.payments.is_some() && self.advertised().is_some()
    }

    /// One round of the hosting policy, run by [`Node::run`] every few seconds: deletes what was
    /// evicted once no report claims it, and once per epoch plans with the hub's market and applies
    /// the plan. Returns the plan when it made one.
    pub async fn policy_round(&mut self) -> Result<Option<policy::Plan>, NodeError> {
        let Some(state) = &self.policy else {
            return Ok(None);
        };
        let hub = state.hub.clone();
        let epoch = hub.current_epoch().await?.current;
        self.drop_evicted(epoch).await?;
        if self.policy.as_ref().and_then(|s| s.planned) == Some(epoch) {
            return Ok(None);
        }
        let market = hub.market().await?;
        self.prune_record()?;
        let options = policy::Options {
            fill: self.config.auto_host,
            ..policy::Options::default()
        };
        let Some(state) = &self.policy else {
            return Ok(None);
        };
        let (plan, leaving) = plan_hosting(&self.config, &market, &state.record, &options)?;
        let show = |v: f64| policy::describe(v, plan.relative);
        tracing::info!(
            epoch,
            keep = plan.keep.len(),
            add = plan.add.len(),
            evict = plan.evict.len(),
            planned_bytes = plan.planned_bytes,
            budget = self.config.disk_budget,
            leaving_bytes = leaving,
            "hosting plan"
        );
        for c in &plan.keep {
            tracing::debug!(
                name = c.name,
                value = show(c.value_per_gib),
                reason = c.reason,
                "hosting policy: keeping"
            );
        }
        for (name, reason) in &plan.skipped {
            tracing::debug!(name, reason, "hosting policy: not taking");
        }
        // Evictions first: they only stop the claims; the data goes once no report claims it.
        let free_from = (!self.sends_reports()).then_some(epoch + 1);
        if let Some(state) = &mut self.policy {
            for c in &plan.evict {
                if let Some(added) = state
                    .record
                    .torrents
                    .iter_mut()
                    .find(|a| a.torrent == c.torrent)
                {
                    added.leaving = Some(policy::Leaving {
                        reason: c.reason.clone(),
                        free_from,
                    });
                    tracing::info!(
                        name = c.name,
                        value = show(c.value_per_gib),
                        reason = c.reason,
                        "hosting policy: evicting (no longer claimed; deleted once no report claims it)"
                    );
                }
            }
        }
        self.save_record()?;
        for c in &plan.add {
            match self.policy_add(&hub, c, epoch).await {
                Ok(true) => tracing::info!(
                    name = c.name,
                    size = c.size,
                    value = show(c.value_per_gib),
                    reason = c.reason,
                    "hosting policy: adding"
                ),
                Ok(false) => {}
                Err(NodeError::DiskBudget { .. }) if leaving > 0 || !plan.evict.is_empty() => {
                    tracing::info!(
                        name = c.name,
                        reason = c.reason,
                        "hosting policy: waiting for evicted torrents to leave the disk"
                    );
                }
                Err(e) => tracing::warn!(name = c.name, "hosting policy: cannot add: {e}"),
            }
        }
        if let Some(state) = &mut self.policy {
            state.planned = Some(epoch);
        }
        Ok(Some(plan))
    }

    /// Fetches and registers one torrent the plan adds, recording it as the policy's first (so a
    /// crash never leaves a policy torrent that looks hand-added). `Ok(false)`: registered already,
    /// and so not the policy's.
    async fn policy_add(
        &mut self,
        hub: &hubapi::HubClient,
        choice: &policy::Choice,
        epoch: u64,
    ) -> Result<bool, NodeError> {
        // Evicted but still on disk (claims not lapsed yet): wanted again, so it simply stays.
        if let Some(state) = &mut self.policy
            && let Some(added) = state
                .record
                .torrents
                .iter_mut()
                .find(|a| a.torrent == choice.torrent && a.leaving.is_some())
        {
            added.leaving = None;
            self.save_record()?;
            return Ok(true);
        }
        let id = choice
            .id
            .ok_or_else(|| NodeError::Policy(format!("{} has no index id", choice.name)))?;
        let bytes = hub.personal_torrent(id).await?;
        let torrent = Torrent::from_bytes(&bytes).map_err(|e| NodeError::BadTorrent {
            path: PathBuf::from(format!("{}/api/v1/torrents/{id}/torrent", hub.base_url())),
            reason: e.to_string(),
        })?;
        if ledger_id(&torrent) != choice.torrent {
            return Err(NodeError::Policy(format!(
                "the hub's .torrent {id} is not {} as its market lists it",
                choice.name
            )));
        }
        let file = torrent_file_name(&torrent);
        let torrents = self.config.data_dir.join("torrents");
        if torrents.join(&file).exists() {
            return Ok(false);
        }
        let content = torrent.info.name.clone();
        let content_existed =
            std::fs::symlink_metadata(self.config.data_dir.join("content").join(&content)).is_ok();
        let Some(state) = &mut self.policy else {
            return Ok(false);
        };
        state
            .record
            .torrents
            .retain(|a| a.torrent != choice.torrent);
        state.record.torrents.push(policy::Added {
            torrent: choice.torrent.clone(),
            id,
            name: choice.name.clone(),
            file,
            content,
            content_existed,
            added_epoch: epoch,
            leaving: None,
        });
        self.save_record()?;
        if let Err(e) = register(&self.config, &torrent) {
            if let Some(state) = &mut self.policy {
                state
                    .record
                    .torrents
                    .retain(|a| a.torrent != choice.torrent);
            }
            self.save_record()?;
            return Err(e);
        }
        Ok(true)
    }

    /// Forgets torrents the policy added whose `.torrent` is gone (removed by hand).
    fn prune_record(&mut self) -> Result<(), NodeError> {
        let torrents = self.config.data_dir.join("torrents");
        let Some(state) = &mut self.policy else {
            return Ok(());
        };
        let before = state.record.torrents.len();
        state
            .record
            .torrents
            .retain(|a| torrents.join(&a.file).exists());
        if state.record.torrents.len() != before {
            self.save_record()?;
        }
        Ok(())
    }

    /// Deletes what the policy evicted and no report claims any more (from `free_from` on): stops
    /// hosting it, removes its `.torrent` and its content — unless the content was there before the
    /// policy added the torrent, or another registered torrent has the same name.
    async fn drop_evicted(&mut self, epoch: u64) -> Result<(), NodeError> {
        let Some(state) = &self.policy else {
            return Ok(());
        };
        let due: Vec<policy::Added> = state
            .record
            .torrents
            .iter()
            .filter(|a| {
                a.leaving
                    .as_ref()
                    .and_then(|l| l.free_from)
                    .is_some_and(|from| from <= epoch)
            })
            .cloned()
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let torrents_dir = self.config.data_dir.join("torrents");
        let content_dir = self.config.data_dir.join("content");
        for added in due {
            let path = torrents_dir.join(&added.file);
            if let Some(handle) = self.torrents.remove(&path) {
                handle.remove(&self.engine).await;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(NodeError::Io { path, source: e }),
            }
            let shared = registered(&self.config.data_dir)?
                .iter()
                .any(|(_, t)| t.info.name == added.content);
            let content = content_dir.join(&added.content);
            if added.content_existed || shared {
                tracing::info!(
                    name = added.name,
                    content = %content.display(),
                    "hosting policy: left the content in place (not the policy's to delete)"
                );
            } else {
                let removed = match std::fs::symlink_metadata(&content) {
                    Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&content),
                    Ok(_) => std::fs::remove_file(&content),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(e),
                };
                removed.map_err(io(&content))?;
            }
            if let Some(state) = &mut self.policy {
                state.record.torrents.retain(|a| a.torrent != added.torrent);
            }
            self.save_record()?;
            tracing::info!(
                name = added.name,
                reason = added.leaving.map(|l| l.reason).unwrap_or_default(),
                "hosting policy: deleted"
            );
        }
        Ok(())
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
            // What the policy is letting go is no longer claimed, so that it can be deleted.
            let leaving = |t: &Torrent| {
                self.policy
                    .as_ref()
                    .is_some_and(|p| p.record.is_leaving(&ledger_id(t)))
            };
            let holdings: Vec<hosting::Holding<'_>> = self
                .torrents
                .values()
                .filter(|h| !leaving(h.torrent()))
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
                self.claims_left_out(epoch);
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

    /// A report for `epoch` that leaves out what the policy is letting go was logged: from `epoch`
    /// on, no report claims it.
    fn claims_left_out(&mut self, epoch: u64) {
        let Some(state) = &mut self.policy else {
            return;
        };
        let mut changed = false;
        for added in &mut state.record.torrents {
            if let Some(leaving) = &mut added.leaving
                && leaving.free_from.is_none()
            {
                leaving.free_from = Some(epoch);
                changed = true;
            }
        }
        if changed && let Err(e) = self.save_record() {
            tracing::warn!("hosting policy: {e}");
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
            // The policy plans before the epoch's report, so what it evicts is left out at once.
            if let Err(e) = self.policy_round().await {
                tracing::warn!("hosting policy (will retry): {e}");
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
