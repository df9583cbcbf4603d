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
    let mut claimed = 0u64;
    let mut left_out = Vec::new();
    for h in sorted {
        let claim = Claim {
            torrent: torrent_key(h.torrent),
            pieces: PieceSet::from_pieces(h.pieces.iter().copied(), h.torrent.piece_count())?,
        };
        // This claim's bytes alone: a report of one claim, counted by the same rules.
        let bytes = HostingReport {
            node,
            epoch,
            claims: vec![claim.clone()],
        }
        .claimed_bytes(&layouts)?;
        match claimed.checked_add(bytes).filter(|with| *with <= bound) {
            Some(with) => {
                claimed = with;
                report.claims.push(claim);
            }
            None => left_out.push(h.torrent.info.name.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use metainfo::{CreateOptions, create_torrent};

    fn torrent(dir: &std::path::Path, name: &str, len: usize) -> Torrent {
        let path = dir.join(name);
        std::fs::write(&path, vec![7u8; len]).unwrap();
        let opts = CreateOptions {
            piece_length: Some(16 * 1024),
            ..CreateOptions::default()
        };
        create_torrent(&path, &opts, &mut |_, _| {}).unwrap()
    }

    #[test]
    fn whole_torrents_are_claimed_first_and_the_bound_leaves_the_rest_out() {
        let dir = tempfile::tempdir().unwrap();
        let (big, small, part) = (
            torrent(dir.path(), "big", 100_000),
            torrent(dir.path(), "small", 40_000),
            torrent(dir.path(), "part", 80_000),
        );
        let holdings = [
            Holding {
                torrent: &part,
                pieces: vec![0, 2],
            },
            Holding {
                torrent: &big,
                pieces: (0..big.piece_count()).collect(),
            },
            Holding {
                torrent: &small,
                pieces: (0..small.piece_count()).collect(),
            },
        ];
        let node = token::Address([1; 20]);
        let layouts: TorrentLayouts = holdings.iter().map(|h| h.torrent).collect();

        // Room for everything: every claim, and the bytes the report itself counts.
        let (report, claimed, left_out) = build(node, 9, &holdings, u64::MAX).unwrap();
        assert_eq!(report.claims.len(), 3);
        assert!(left_out.is_empty());
        assert_eq!(claimed, 100_000 + 40_000 + 2 * 16_384);
        assert_eq!(report.claimed_bytes(&layouts), Ok(claimed));
        assert!(
            report.claims.windows(2).all(|w| w[0] < w[1]),
            "canonical order"
        );

        // Room for the two whole torrents only: the partial one is left out, not a whole one.
        let (report, claimed, left_out) = build(node, 9, &holdings, 140_000).unwrap();
        assert_eq!(claimed, 140_000);
        assert_eq!(left_out, vec!["part".to_owned()]);
        assert_eq!(report.claimed_bytes(&layouts), Ok(claimed));

        // Room for the small whole torrent and the partial one: the big one does not fit.
        let (_, claimed, left_out) = build(node, 9, &holdings, 80_000).unwrap();
        assert_eq!(left_out, vec!["big".to_owned()]);
        assert_eq!(claimed, 40_000 + 2 * 16_384);

        // Nothing held, nothing claimed.
        let (report, claimed, _) = build(node, 9, &[], 5_000_000_000).unwrap();
        assert!(report.claims.is_empty() && claimed == 0);
    }
}
