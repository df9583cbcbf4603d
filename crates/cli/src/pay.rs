//! `--wallet` on the commands that join swarms: pay for what they download and earn for what they
//! upload, over `sb_receipt` (see `node::payments`), settling with the collective's hub.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use hubapi::HubClient;
use metainfo::Torrent;
use node::size::format_size;
use node::{Payments, SETTLE_EVERY, Terms};

use crate::secret;

#[derive(Args, Clone, Default)]
pub struct PayArgs {
    /// Pay for downloads and earn for uploads with this wallet (a v3 keystore; its password from
    /// $SEEDBANK_PASSWORD or a prompt). Settles with the collective's hub.
    #[arg(long, value_name = "FILE")]
    pub wallet: Option<PathBuf>,
}

/// Where unsettled receipts are kept.
pub enum StateDir<'a> {
    /// A node's data directory.
    Node(&'a Path),
    /// For `seed` and `fetch`: beside the wallet, in `receipts/<account>/<torrent id>/`, so two
    /// commands on different torrents, or with different wallets, never share a file.
    BesideWallet(&'a Torrent),
}

/// A wallet at work for one command, and the hub it settles with.
pub struct Paying {
    pub payments: Arc<Payments>,
    pub hub: HubClient,
}

impl Paying {
    /// Unlocks the wallet and reads the collective's terms from the hub. Unsettled receipts are kept
    /// in `receipts.json` in the state directory.
    pub async fn open(
        wallet: &Path,
        hub: HubClient,
        state: StateDir<'_>,
        serve_legacy: bool,
    ) -> Result<Paying> {
        let key = secret::load_key(wallet, "SEEDBANK_PASSWORD")?;
        let state_dir = match state {
            StateDir::Node(dir) => dir.to_path_buf(),
            StateDir::BesideWallet(torrent) => {
                let id = token::torrent_id(torrent.hashes.v1, torrent.hashes.v2);
                wallet
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("receipts")
                    .join(key.address().to_checksum())
                    .join(hex::encode(id))
            }
        };
        let state_dir = state_dir.as_path();
        let info = hub
            .ledger()
            .await
            .with_context(|| format!("reading the collective's terms from {}", hub.base_url()))?;
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("cannot create {}", state_dir.display()))?;
        let terms = Terms::from_ledger(&info);
        eprintln!(
            "paying and earning as {} at {} {}/GiB; peers may owe us up to {}",
            key.address(),
            info.price_per_gib,
            info.symbol,
            format_size(terms.debt_threshold)
        );
        let payments = Payments::open(state_dir, key, terms, serve_legacy)?;
        Ok(Paying {
            payments: Arc::new(payments),
            hub,
        })
    }

    /// Settles in the background until [`Settling::finish`].
    pub fn start_settling(&self) -> Settling {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (payments, hub) = (Arc::clone(&self.payments), self.hub.clone());
        let task = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            payments.settle_loop(&hub, SETTLE_EVERY, stopped).await;
        });
        Settling { stop, task }
    }
}

pub struct Settling {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Settling {
    /// Runs a last round (call it after the engine stopped, so it carries the final receipts).
    pub async fn finish(self, payments: &Payments) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        let (lanes, bytes) = payments.unsettled();
        if lanes > 0 {
            eprintln!(
                "{} on {lanes} receipt(s) not settled yet; kept for the next run",
                format_size(bytes)
            );
        }
    }
}
