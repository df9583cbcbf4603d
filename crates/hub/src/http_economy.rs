//! The epoch economy's routes under `/api/v1`: the market a node's hosting policy reads, an
//! account's cumulative earnings with their Merkle proof, and what each epoch close did.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hubapi::{Earnings, HostingView, Market, ReplicaView};
use token::{Amount, hash_hex};

use crate::http::{ApiError, ApiResult, S};
use crate::http_ledger::{blocking, ledger_of, parse_address};

/// Every payable indexed torrent with its weight, price, replicas, saturation and pool.
pub(crate) async fn market(State(shared): S) -> ApiResult<Market> {
    let ledger = ledger_of(&shared)?;
    let indexed = crate::views::all_torrents(&shared).await?;
    let state = ledger.state();
    let last = state.economy().last.as_ref();
    let torrents = indexed
        .iter()
        .filter_map(|t| crate::views::market_entry(&state, t))
        .collect();
    Ok(axum::Json(Market {
        closed_epoch: state.economy().last_closed,
        minted: last.map_or(Amount::ZERO, |l| l.minted),
        weighted_bytes: Amount(last.map_or(0, |l| l.weighted_bytes)),
        torrents,
    }))
}

/// An account's cumulative earnings and its proof in the last close's root.
pub(crate) async fn earnings(
    State(shared): S,
    address: Result<Path<String>, PathRejection>,
) -> ApiResult<Earnings> {
    let ledger = ledger_of(&shared)?;
    let Path(address) = address?;
    let address = parse_address(&address)?;
    let (values, epoch, root, vesting) = {
        let state = ledger.state();
        let e = state.economy();
        // Settling on a chain, the distributor pays withdrawals: its leaves are theirs.
        let values: Vec<(token::Address, u128)> = match state.chain() {
            Some(chain) => chain.leaves(),
            None => e.earned.iter().map(|(a, x)| (*a, x.0)).collect(),
        };
        (
            values,
            e.last_closed,
            e.earnings_root,
            state.account(&address).vesting,
        )
    };
    // Rebuilt per request (O(accounts)), off the async threads.
    let (cumulative, proof) = blocking(move || {
        let tree = token::distributor::EarningsTree::build(&values);
        debug_assert_eq!(tree.root(), root, "the ledger's root is the tree's");
        let cumulative = values
            .iter()
            .find(|(a, _)| *a == address)
            .map_or(0, |(_, x)| *x);
        Ok::<_, crate::StoreError>((cumulative, tree.proof(&address).unwrap_or_default()))
    })
    .await?;
    Ok(axum::Json(Earnings {
        address,
        epoch,
        cumulative: Amount(cumulative),
        root: hash_hex(&root),
        proof: proof.iter().map(hash_hex).collect(),
        vesting,
    }))
}

fn close_of(
    summary: Option<ledger::CloseSummary>,
    what: String,
) -> ApiResult<ledger::CloseSummary> {
    summary
        .map(axum::Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", what))
}

pub(crate) async fn close(
    State(shared): S,
    epoch: Result<Path<u64>, PathRejection>,
) -> ApiResult<ledger::CloseSummary> {
    let auditor = crate::http_audit::auditor_of(&shared)?;
    let Path(epoch) = epoch?;
    let summary = blocking(move || auditor.store().close(Some(epoch))).await?;
    close_of(summary, format!("epoch {epoch} has not been closed"))
}

pub(crate) async fn latest_close(State(shared): S) -> ApiResult<ledger::CloseSummary> {
    let auditor = crate::http_audit::auditor_of(&shared)?;
    let summary = blocking(move || auditor.store().close(None)).await?;
    close_of(summary, "no epoch has been closed yet".into())
}

/// A node's part of the last close it took part in, for its page.
pub(crate) fn hosting_view(
    summary: &ledger::CloseSummary,
    node: &token::Address,
) -> Option<HostingView> {
    let h = summary.hosts.iter().find(|h| h.node == *node)?;
    Some(HostingView {
        epoch: summary.epoch,
        verified_bytes: h.verified_bytes,
        reward: h.reward,
        sponsored: h.sponsored,
        excluded: h.excluded.as_deref().map(str::to_owned),
        replicas: h
            .replicas
            .iter()
            .map(|r| ReplicaView {
                torrent: hex::encode(r.torrent),
                claimed_bytes: r.claimed_bytes,
                verified_bytes: r.verified_bytes,
                geo_bps: r.geo_bps,
                geo_reason: r.geo.reason(),
            })
            .collect(),
    })
}
