//! Hosting reports: each epoch the node tells the collective what it hosts, signed with its
//! wallet, so auditors know what to sample and the epoch engine what to reward.
//!
//! A report names the torrents the node holds whole and, for the rest, the pieces it holds. It is
//! for the *next* epoch (the ledger takes reports only for epochs that have not begun, so a report
//! is fixed before the epoch's secret is revealed), and the node sends one per epoch. Claims are
//! bounded by the node's collateral (the ledger's `host_bound`): a node over its bound leaves out
//! torrents, whole ones last, and says so in its log.

use std::net::SocketAddr;

use audit::{Claim, HostingReport, PieceSet, TorrentLayouts, torrent_key};
use hubapi::{HubClient, ReportSubmission};
use metainfo::Torrent;
use token::{Domain, Report, SecretKey, Signed, UserTx};

/// What the node holds of one torrent.
pub struct Holding<'a> {
    pub torrent: &'a Torrent,
    /// Verified pieces, ascending.
    pub pieces: Vec<u32>,
}

/// Where auditors reach this node, and where it says it is.
#[derive(Clone, Debug)]
pub struct Advertised {
    pub endpoint: SocketAddr,
    /// `""` or `"lat,lon"` in decimal degrees.
    pub location: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HostingError {
    #[error("hub: {0}")]
    Hub(#[from] hubapi::ClientError),
    #[error("report: {0}")]
    Report(#[from] audit::ReportError),
}

/// The report of `holdings` for `epoch`, within `bound` claimed bytes: whole torrents first (the
/// cheapest to audit and the most useful to the swarm), then partial ones, each in id order so
/// that the same holdings always give the same report. Returns the report, its claimed bytes and
/// the names of torrents left out for the bound.
pub fn build(
    node: token::Address,
    epoch: u64,
    holdings: &[Holding<'_>],
    bound: u64,
) -> Result<(HostingReport, u64, Vec<String>), HostingError> {
    let mut sorted: Vec<&Holding<'_>> = holdings.iter().filter(|h| !h.pieces.is_empty()).collect();
    sorted.sort_by_key(|h| {
        let whole = h.pieces.len() as u32 == h.torrent.piece_count();
        (!whole, torrent_key(h.torrent))
    });
    let layouts: TorrentLayouts = holdings.iter().map(|h| h.torrent).collect();
    let mut report = HostingReport {
        node,
        epoch,
        claims: Vec::new(),
    };
    let mut claimed = 0;
    let mut left_out = Vec::new();
    for h in sorted {
        let pieces = PieceSet::from_pieces(h.pieces.iter().copied(), h.torrent.piece_count())?;
        report.claims.push(Claim {
            torrent: torrent_key(h.torrent),
            pieces,
        });
        let with = report.claimed_bytes(&layouts)?;
        if with > bound {
            report.claims.pop();
            left_out.push(h.torrent.info.name.clone());
        } else {
            claimed = with;
        }
    }
    // Claims in the canonical order the report's hash expects.
    report.claims.sort();
    Ok((report, claimed, left_out))
}

/// Signs `report` with the account's next `nonce` and hands it to the hub, which checks it and
/// logs it.
pub async fn submit(
    hub: &HubClient,
    key: &SecretKey,
    domain: &Domain,
    nonce: u64,
    report: HostingReport,
    claimed_bytes: u64,
    advertised: &Advertised,
) -> Result<hubapi::Submitted, HostingError> {
    let tx = UserTx::Report(Report {
        node: key.address(),
        epoch: report.epoch,
        report_hash: report.hash(),
        claimed_bytes,
        endpoint: advertised.endpoint.to_string(),
        location: advertised.location.clone(),
        nonce,
    });
    let signed = Signed::<UserTx>::sign(domain, key, tx);
    Ok(hub
        .submit_report(&ReportSubmission { tx: signed, report })
        .await?)
}
