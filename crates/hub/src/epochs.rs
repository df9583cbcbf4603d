//! The epoch engine: closes each ended epoch with one `EpochClose` ledger entry.
//!
//! Each second it looks for the next epoch to close: the oldest ended epoch after the last closed
//! one that was committed (it waits until the auditor has logged that epoch's results, or found its
//! secret lost), else the last ended epoch (epochs the hub was down for and never committed are
//! skipped: nothing was audited in them, and vesting and fees go by the clock, not by count).
//!
//! What the close carries is what only the hub can see (the ledger derives the rest):
//! - per torrent, download demand and upload capacity over the next [`SATURATION_WINDOW_SECS`],
//!   from the tracker's swarms ([`tracker::Tracker::flow`]), each side at least what settled
//!   receipts delivered since the last close, scaled to the window;
//! - per node and torrent, the bytes its report in force claims (from the full reports in
//!   `audit.sqlite`);
//! - the shortest round trip the auditor measured to each node, and where the hub says it is.
//!
//! After the entry is logged, the ledger's summary of the close is kept in `audit.sqlite`
//! (`GET /api/v1/epochs/{epoch}/close`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ledger::{EpochCloseTx, HostedBytes, MarketObservation, SystemTx};

use crate::metrics::Metrics;
use crate::{Shared, unix_now};

/// The seed's window: "saturation = download demand in the next 15 min / upload capacity in the
/// next 15 min".
pub const SATURATION_WINDOW_SECS: u64 = 15 * 60;

/// Runs until `stop` changes.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed: Option<u64> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let me = Arc::clone(&shared);
        let started = std::time::Instant::now();
        let m = &shared.metrics;
        match tokio::task::spawn_blocking(move || close_next(&me, unix_now())).await {
            Ok(Ok(closed)) => {
                failed = None;
                if closed.is_some() {
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    Metrics::bump(&m.epochs_closed, 1);
                    Metrics::bump(&m.epoch_close_micros, micros);
                }
            }
            Ok(Err((epoch, e))) => {
                Metrics::bump(&m.epoch_close_failures, 1);
                // Retried every second; said once per epoch.
                if failed.replace(epoch) != Some(epoch) {
                    tracing::error!("cannot close epoch {epoch} (will retry): {e}");
                }
            }
            Err(e) => tracing::error!("epoch engine panicked: {e}"),
        }
    }
}

/// The epoch to close next at `now`, if one is ready.
fn next_epoch(shared: &Shared, now: u64) -> Option<u64> {
    let ledger = shared.ledger.as_ref()?;
    // Read under the state's lock, then let it go: the auditor's store is locked below, and no
    // thread may hold both.
    let committed = {
        let state = ledger.state();
        let genesis = state.genesis()?;
        let last_ended = genesis.epoch_at(now).checked_sub(1)?;
        let from = match state.economy().last_closed {
            Some(last) if last >= last_ended => return None,
            Some(last) => last + 1,
            None => last_ended,
        };
        match state
            .epochs_from(from)
            .into_iter()
            .find(|(e, _)| *e <= last_ended)
        {
            Some((epoch, info)) => Some((epoch, info.audited)),
            None => return Some(last_ended),
        }
    };
    let (epoch, audited) = committed?;
    let lost = || {
        shared
            .auditor
            .as_ref()
            .is_some_and(|a| matches!(a.store().secret(epoch), Ok(None)))
    };
    (audited || lost()).then_some(epoch)
}

/// Closes the next ready epoch; `Ok(None)` if none is. The error names the epoch.
fn close_next(shared: &Shared, now: u64) -> Result<Option<u64>, (u64, String)> {
    let Some(epoch) = next_epoch(shared, now) else {
        return Ok(None);
    };
    let fail = |e: String| (epoch, e);
    let ledger = shared.ledger.as_ref().expect("next_epoch found a ledger");
    let close = observe(shared, epoch).map_err(fail)?;
    ledger
        .system(SystemTx::EpochClose(close))
        .map_err(|e| fail(e.to_string()))?;
    // Only this loop closes epochs, so the last close is the one just logged.
    let (last, supply) = {
        let state = ledger.state();
        (state.economy().last.clone(), state.supply())
    };
    if let Some(summary) = last
        && let Some(auditor) = &shared.auditor
    {
        tracing::info!(
            epoch,
            minted = %summary.minted,
            hosting = %summary.hosting_paid,
            sponsored = %summary.sponsored_paid,
            fees = %summary.fees_paid,
            released = %summary.released,
            "epoch closed"
        );
        auditor
            .store()
            .put_close(&summary, &crate::views::supply_view(&supply))
            .map_err(|e| fail(e.to_string()))?;
    }
    shared
        .settled
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    Ok(Some(epoch))
}

/// What the hub saw of `epoch`, for its close.
fn observe(shared: &Shared, epoch: u64) -> Result<EpochCloseTx, String> {
    let ledger = shared.ledger.as_ref().ok_or("no ledger")?;
    let genesis = ledger.state().genesis().cloned().ok_or("no genesis")?;
    let ids = shared
        .reader
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ledger_ids()
        .map_err(|e| e.to_string())?;
    let settled = shared
        .settled
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let since = ledger
        .state()
        .economy()
        .last
        .as_ref()
        .map_or(genesis.epoch_secs, |l| {
            unix_now().saturating_sub(l.time).max(1)
        });
    let markets = markets(shared, &ids, &settled, since);

    let mut hosted = Vec::new();
    if let Some(auditor) = &shared.auditor {
        let reports = ledger.state().reports_in_force(epoch);
        for (node, report_epoch, info) in reports {
            // Each report is described once; the ledger keeps it for later closes.
            if ledger.state().is_described(&node, report_epoch) {
                continue;
            }
            let report = match auditor.store().report(&info.report_hash) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    tracing::warn!(%node, epoch, "the report in force is not in audit.sqlite: no hosting counted");
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            let mut per_torrent: Vec<HostedBytes> = Vec::new();
            let mut whole = true;
            for claim in report.sorted_claims() {
                let Some(torrent) = auditor.torrent(&claim.torrent) else {
                    whole = false;
                    break;
                };
                let layouts: audit::TorrentLayouts = [torrent.as_ref()].into_iter().collect();
                let one = audit::HostingReport {
                    claims: vec![claim.clone()],
                    ..report.clone()
                };
                match one.claimed_bytes(&layouts) {
                    Ok(bytes) if bytes > 0 => per_torrent.push(HostedBytes {
                        node,
                        torrent: claim.torrent,
                        bytes,
                    }),
                    Ok(_) => {}
                    Err(_) => {
                        whole = false;
                        break;
                    }
                }
            }
            let sum: u64 = per_torrent.iter().map(|h| h.bytes).sum();
            if whole && sum == info.claimed_bytes {
                hosted.extend(per_torrent);
            } else {
                tracing::warn!(%node, epoch, "the report in force no longer matches the index: no hosting counted");
            }
        }
    }
    hosted.sort_by_key(|h| (h.node, h.torrent));
    let rtts = shared
        .auditor
        .as_ref()
        .map(|a| a.take_rtts(epoch))
        .unwrap_or_default();
    Ok(EpochCloseTx {
        epoch,
        markets,
        hosted,
        rtts,
        auditor_location: shared.config.location.clone().unwrap_or_default(),
    })
}

/// Demand and capacity per registered torrent over the saturation window.
fn markets(
    shared: &Shared,
    ids: &[(tracker::TorrentId, [u8; 32])],
    settled: &HashMap<[u8; 32], u64>,
    since_secs: u64,
) -> Vec<MarketObservation> {
    let Some(ledger) = &shared.ledger else {
        return Vec::new();
    };
    let mut out: Vec<MarketObservation> = ids
        .iter()
        .filter(|(_, key)| ledger.torrent(key).is_some())
        .map(|(id, key)| {
            let flow = shared
                .tracker
                .flow(*id, SATURATION_WINDOW_SECS, shared.config.assumed_peer_rate)
                .unwrap_or_default();
            // What receipts show was delivered, at the same pace over the window.
            let delivered = settled.get(key).copied().unwrap_or(0);
            let paced = u64::try_from(
                u128::from(delivered) * u128::from(SATURATION_WINDOW_SECS)
                    / u128::from(since_secs.max(1)),
            )
            .unwrap_or(u64::MAX);
            MarketObservation {
                torrent: *key,
                demand_bytes: flow.demand.max(paced),
                capacity_bytes: flow.capacity.max(paced),
            }
        })
        .collect();
    out.sort_by_key(|m| m.torrent);
    out.dedup_by_key(|m| m.torrent);
    out
}
