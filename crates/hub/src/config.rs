//! The hub's configuration: `<data-dir>/hub.toml`, then command-line flags on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::HubError;

#[derive(Clone, Debug)]
pub struct HubConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base URL clients reach the hub at, written into personal `.torrent` files. Defaults to
    /// `http://<listen>`; set it when the hub sits behind a proxy or listens on a wildcard address.
    pub public_url: Option<String>,
    /// How often accounting deltas are written to the store. A crash loses at most the `stopped`
    /// deltas of this window (see docs/operations.md).
    pub flush_interval: Duration,
    /// Take the client address from this header (set by a reverse proxy), not from the socket.
    pub client_ip_header: Option<String>,
    pub tracker: tracker::Config,
    /// Where the hub's auditor measures round trips from (`"lat,lon"`): without it no node gets
    /// the geographic boost, since no declared location can be checked.
    pub location: Option<String>,
    /// Bytes per second assumed for a peer the tracker has no rate for yet, when estimating a
    /// torrent's demand and capacity for surge pricing.
    pub assumed_peer_rate: u64,
    /// How the hub reaches the chain of a collective whose genesis says `settlement = "evm"` (the
    /// contracts themselves are in the genesis; these may change without changing its history).
    pub chain: ChainConfig,
}

/// `hub.toml`'s `[chain]` table, resolved: the RPC endpoint and how the hub follows the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    /// The chain's JSON-RPC endpoint (http or https); required when the genesis says evm.
    pub rpc_url: Option<String>,
    /// How deep a block must be before its events are applied (default 2).
    pub confirmations: u64,
    /// The most blocks one poll reads logs for (default 2000).
    pub max_blocks_per_poll: u64,
}

pub const DEFAULT_CONFIRMATIONS: u64 = 2;
pub const DEFAULT_MAX_BLOCKS_PER_POLL: u64 = 2000;

impl Default for ChainConfig {
    fn default() -> ChainConfig {
        ChainConfig {
            rpc_url: None,
            confirmations: DEFAULT_CONFIRMATIONS,
            max_blocks_per_poll: DEFAULT_MAX_BLOCKS_PER_POLL,
        }
    }
}

/// The file form of `[chain]`: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfigFile {
    pub rpc_url: Option<String>,
    pub confirmations: Option<u64>,
    pub max_blocks_per_poll: Option<u64>,
}

/// The file form: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfigFile {
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub flush_interval_secs: Option<u64>,
    pub client_ip_header: Option<String>,
    pub announce_interval_secs: Option<u32>,
    pub min_announce_interval_secs: Option<u32>,
    pub peer_timeout_secs: Option<u32>,
    pub max_numwant: Option<u32>,
    pub location: Option<String>,
    pub assumed_peer_rate: Option<u64>,
    #[serde(default)]
    pub chain: ChainConfigFile,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7800";

/// 1 MiB/s: a modest home uplink.
pub const DEFAULT_ASSUMED_PEER_RATE: u64 = 1 << 20;

impl HubConfig {
    pub fn defaults(data_dir: &Path) -> HubConfig {
        HubConfig {
            data_dir: data_dir.to_path_buf(),
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            public_url: None,
            flush_interval: Duration::from_secs(3),
            client_ip_header: None,
            tracker: tracker::Config::default(),
            location: None,
            assumed_peer_rate: DEFAULT_ASSUMED_PEER_RATE,
            chain: ChainConfig::default(),
        }
    }

    /// Defaults, then `<data-dir>/hub.toml` if present.
    pub fn load(data_dir: &Path) -> Result<HubConfig, HubError> {
        let mut config = HubConfig::defaults(data_dir);
        let path = data_dir.join("hub.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(config),
            Err(source) => return Err(HubError::Io { path, source }),
        };
        let file: HubConfigFile = toml::from_str(&text).map_err(|e| HubError::Config {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        config.apply(file);
        config
            .validate()
            .map_err(|reason| HubError::Config { path, reason })?;
        Ok(config)
    }

    pub fn apply(&mut self, file: HubConfigFile) {
        let t = &mut self.tracker;
        self.listen = file.listen.unwrap_or(self.listen);
        self.public_url = file.public_url.or(self.public_url.take());
        if let Some(s) = file.flush_interval_secs {
            self.flush_interval = Duration::from_secs(s);
        }
        self.client_ip_header = file.client_ip_header.or(self.client_ip_header.take());
        t.interval = file.announce_interval_secs.unwrap_or(t.interval);
        t.min_interval = file
            .min_announce_interval_secs
            .unwrap_or(t.min_interval.min(t.interval));
        t.peer_timeout = match (file.peer_timeout_secs, file.announce_interval_secs) {
            (Some(p), _) => p,
            // A longer interval without a timeout: keep the documented 2 × interval + 300.
            (None, Some(i)) => t.peer_timeout.max(i.saturating_mul(2).saturating_add(300)),
            (None, None) => t.peer_timeout,
        };
        t.max_numwant = file.max_numwant.unwrap_or(t.max_numwant);
        self.location = file.location.or(self.location.take());
        self.assumed_peer_rate = file.assumed_peer_rate.unwrap_or(self.assumed_peer_rate);
        let c = &mut self.chain;
        c.rpc_url = file.chain.rpc_url.or(c.rpc_url.take());
        c.confirmations = file.chain.confirmations.unwrap_or(c.confirmations);
        c.max_blocks_per_poll = file
            .chain
            .max_blocks_per_poll
            .unwrap_or(c.max_blocks_per_poll);
    }

    /// Checks the combination; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let t = &self.tracker;
        if t.interval == 0 {
            return Err("announce_interval_secs must be at least 1".into());
        }
        if t.min_interval > t.interval {
            return Err("min_announce_interval_secs must not exceed announce_interval_secs".into());
        }
        if t.peer_timeout <= t.interval {
            return Err("peer_timeout_secs must exceed announce_interval_secs, or every peer expires between announces".into());
        }
        if t.max_numwant == 0 {
            return Err("max_numwant must be at least 1".into());
        }
        if let Some(h) = &self.client_ip_header
            && axum::http::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            return Err(format!("client_ip_header {h:?} is not a valid header name"));
        }
        if t.max_numwant > t.numwant_limit {
            return Err(format!("max_numwant must be at most {}", t.numwant_limit));
        }
        if let Some(l) = &self.location
            && let Err(e) = economics::geo::Location::parse(l)
        {
            return Err(format!("location {l:?}: {e}"));
        }
        if self.assumed_peer_rate == 0 {
            return Err("assumed_peer_rate must be at least 1 byte/s".into());
        }
        if self.flush_interval.is_zero() {
            return Err("flush_interval_secs must be at least 1".into());
        }
        if let Some(url) = &self.public_url
            && !url.starts_with("http://")
            && !url.starts_with("https://")
        {
            return Err(format!(
                "public_url {url:?} must start with http:// or https://"
            ));
        }
        if let Some(url) = &self.chain.rpc_url
            && !url.starts_with("http://")
            && !url.starts_with("https://")
        {
            return Err(format!(
                "[chain] rpc_url {url:?} must start with http:// or https://"
            ));
        }
        if self.chain.max_blocks_per_poll == 0 {
            return Err("[chain] max_blocks_per_poll must be at least 1".into());
        }
        Ok(())
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("hub.sqlite")
    }

    /// The ledger's log and tables; present once `seedbank hub init` has run.
    pub fn ledger_path(&self) -> PathBuf {
        self.data_dir.join("ledger.sqlite")
    }

    /// The operator's key (an Ethereum v3 keystore), written by `seedbank hub init`.
    pub fn operator_key_path(&self) -> PathBuf {
        self.data_dir.join("operator.json")
    }
}
