//! The node's configuration: `<data-dir>/node.toml`, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::NodeError;
use crate::policy::Interests;
use crate::size::parse_size;

/// Everything a node needs to run. Defaults are safe for a home machine: 5 GB of disk, the standard
/// BitTorrent port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub disk_budget: u64,
    pub listen: SocketAddr,
    pub upload_slots: usize,
    pub max_peers: usize,
    /// The collective's hub (`http://host:port`), for publishing and fetching by name.
    pub hub: Option<String>,
    /// This member's passkey at the hub.
    pub passkey: Option<String>,
    /// The wallet (v3 keystore) that pays for downloads and earns for uploads; needs `hub`.
    pub wallet: Option<PathBuf>,
    /// Serve peers that do not speak `sb_receipt` (every other BitTorrent client) for ratio only.
    pub serve_legacy: bool,
    /// The address auditors (and peers) reach this node at, in its hosting reports; default the
    /// listen address, which must then be a specific one (not 0.0.0.0).
    pub advertise: Option<SocketAddr>,
    /// Where the node says it is, `"lat,lon"` in decimal degrees, for the geographic boost.
    pub location: Option<String>,
    /// What the member wants hosted whatever it pays (see [`crate::policy`]).
    pub interests: Interests,
    /// Fill the rest of the disk budget with what pays best (see [`crate::policy`]). Off by
    /// default: downloads cost tokens, and the node spends them only when asked to.
    pub auto_host: bool,
}

/// The file form: every field optional, sizes as text (`disk_budget = "5GB"`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfigFile {
    pub disk_budget: Option<String>,
    pub listen: Option<SocketAddr>,
    pub upload_slots: Option<usize>,
    pub max_peers: Option<usize>,
    pub hub: Option<String>,
    pub passkey: Option<String>,
    pub wallet: Option<PathBuf>,
    pub serve_legacy: Option<bool>,
    pub advertise: Option<SocketAddr>,
    pub location: Option<String>,
    pub auto_host: Option<bool>,
    /// `[interests]`: `pinned`, `categories`, `patterns`, lists of strings.
    pub interests: Option<Interests>,
}

pub const DEFAULT_DISK_BUDGET: u64 = 5_000_000_000;

impl NodeConfig {
    pub fn defaults(data_dir: &Path) -> NodeConfig {
        NodeConfig {
            data_dir: data_dir.to_path_buf(),
            disk_budget: DEFAULT_DISK_BUDGET,
            listen: SocketAddr::from(([0, 0, 0, 0], 6881)),
            upload_slots: 8,
            max_peers: 50,
            hub: None,
            passkey: None,
            wallet: None,
            serve_legacy: true,
            advertise: None,
            location: None,
            interests: Interests::default(),
            auto_host: false,
        }
    }

    /// Whether the node should run the hosting policy: the member declared interests or turned on
    /// `auto_host`. (A hub alone is not enough: the policy downloads, and downloads cost tokens.)
    pub fn hosting_policy(&self) -> bool {
        self.auto_host || !self.interests.is_empty()
    }

    /// Defaults, then `<data-dir>/node.toml` if it exists. Flags are applied by the caller afterwards.
    pub fn load(data_dir: &Path) -> Result<NodeConfig, NodeError> {
        let mut config = NodeConfig::defaults(data_dir);
        let path = data_dir.join("node.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(config),
            Err(e) => return Err(NodeError::Io { path, source: e }),
        };
        let file: NodeConfigFile = toml::from_str(&text).map_err(|e| NodeError::Config {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if let Some(budget) = file.disk_budget {
            config.disk_budget = parse_size(&budget).map_err(|reason| NodeError::Config {
                path: path.clone(),
                reason,
            })?;
        }
        if let Some(listen) = file.listen {
            config.listen = listen;
        }
        if let Some(slots) = file.upload_slots {
            config.upload_slots = slots;
        }
        if let Some(max) = file.max_peers {
            config.max_peers = max;
        }
        config.hub = file.hub;
        config.passkey = file.passkey;
        // A relative wallet path is relative to the data directory, like everything else in node.toml.
        config.wallet = file.wallet.map(|w| data_dir.join(w));
        if let Some(serve) = file.serve_legacy {
            config.serve_legacy = serve;
        }
        config.advertise = file.advertise;
        config.location = file.location;
        config.interests = file.interests.unwrap_or_default();
        if let Some(auto) = file.auto_host {
            config.auto_host = auto;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            NodeConfig::load(dir.path()).unwrap(),
            NodeConfig::defaults(dir.path())
        );
        std::fs::write(
            dir.path().join("node.toml"),
            "disk_budget = \"10GiB\"\nlisten = \"127.0.0.1:7000\"\n",
        )
        .unwrap();
        let c = NodeConfig::load(dir.path()).unwrap();
        assert_eq!(c.disk_budget, 10 << 30);
        assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap());
        std::fs::write(
            dir.path().join("node.toml"),
            "auto_host = true\n[interests]\npinned = [\"doom\"]\npatterns = [\"*.iso\"]\n",
        )
        .unwrap();
        let c = NodeConfig::load(dir.path()).unwrap();
        assert!(c.auto_host);
        assert_eq!(c.interests.pinned, ["doom"]);
        assert_eq!(c.interests.patterns, ["*.iso"]);
        assert!(c.interests.categories.is_empty());
        std::fs::write(dir.path().join("node.toml"), "[interests]\npinnned = []\n").unwrap();
        assert!(NodeConfig::load(dir.path()).is_err());
        std::fs::write(dir.path().join("node.toml"), "disk_budgett = \"1GB\"\n").unwrap();
        let err = NodeConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("disk_budgett"), "{err}");
    }
}
