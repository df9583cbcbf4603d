//! The ledger's routes under `/api/v1`: the token's parameters, accounts and their histories,
//! signed transactions and receipt settlement. The ledger blocks until a commit is durable, so
//! every call into it runs on a blocking thread.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hubapi::{
    AccountInfo, HistoryEntry, LedgerInfo, MAX_RECEIPTS_PER_BATCH, ReceiptBatch, ReceiptResults,
    Submitted, TorrentSummary,
};
use ledger::{JoinPolicy, Ledger, SystemTx, TxError};
use serde::Deserialize;
use token::{Address, Signed, UserTx};

use crate::Shared;
use crate::http::{ApiError, ApiResult, S};
use crate::store::StoreError;

pub(crate) fn ledger_of(shared: &Shared) -> Result<Arc<Ledger>, ApiError> {
    shared.ledger.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_ledger",
            "this collective runs without a ledger (ratio only)",
        )
    })
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> ApiError {
        let status = match e {
            TxError::Storage(_) | TxError::Closed => StatusCode::SERVICE_UNAVAILABLE,
            TxError::Nonce { .. } | TxError::NameTaken(_) | TxError::AlreadyMember(_) => {
                StatusCode::CONFLICT
            }
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// Runs ledger work (which waits for an fsync) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

pub(crate) fn parse_address(text: &str) -> Result<Address, ApiError> {
    text.parse().map_err(|e: token::AddressError| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_address", e.to_string())
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("malformed JSON: {e}"),
        )
    })
}

/// Makes a torrent payable at the collective's default price, once.
pub(crate) fn register_torrent(ledger: &Ledger, t: &TorrentSummary) -> Result<(), StoreError> {
    let Some(id) = t.ledger_id() else {
        return Ok(());
    };
    if ledger.torrent(&id).is_some() {
        return Ok(());
    }
    let price_per_byte = ledger.summary().price_per_byte;
    match ledger.system(SystemTx::RegisterTorrent {
        torrent: id,
        size: t.size,
        price_per_byte,
    }) {
        Ok(_) | Err(TxError::TorrentExists(_)) => Ok(()),
        Err(e) => Err(StoreError::Invalid(format!(
            "cannot register {} with the ledger: {e}",
            t.name
        ))),
    }
}

pub(crate) async fn info(State(shared): S) -> ApiResult<LedgerInfo> {
    let ledger = ledger_of(&shared)?;
    let s = ledger.summary();
    let g = &s.genesis;
    Ok(axum::Json(LedgerInfo {
        name: g.name.clone(),
        symbol: g.symbol.clone(),
        decimals: token::DECIMALS,
        domain: s.domain.clone(),
        operator: g.operator,
        join: match g.join {
            JoinPolicy::Invite => "invite",
            JoinPolicy::BuyIn => "buy-in",
        }
        .into(),
        min_stake: g.min_stake,
        max_lock_days: g.max_lock_days,
        price_per_gib: g.price_per_gib,
        fee_bps: g.fee_bps,
        fee_burn_bps: g.fee_burn_bps,
        debt_threshold_bytes: g.debt_threshold_bytes,
        free_bytes_per_day: g.free_bytes_per_day,
        epoch_secs: g.epoch_secs,
        audit_samples: g.audit_samples,
        audit_deadline_secs: g.audit_deadline_secs,
        free_host_bytes: g.free_host_bytes,
        host_bytes_per_token: g.host_bytes_per_token,
        entries: s.entries,
        log_hash: hex::encode(s.log_hash),
        minted: s.supply.minted,
        burned: s.supply.burned,
        stakers_pool: s.supply.stakers_pool,
        accounts: s.accounts,
        members: s.members,
    }))
}

pub(crate) async fn account(
    State(shared): S,
    address: Result<Path<String>, PathRejection>,
) -> ApiResult<AccountInfo> {
    let ledger = ledger_of(&shared)?;
    let Path(address) = address?;
    let address = parse_address(&address)?;
    let state = ledger.state();
    let a = state.account(&address);
    Ok(axum::Json(AccountInfo {
        address,
        active: state.is_active(&address),
        balance: a.balance,
        stake: a.stake,
        lock_until: a.lock_until,
        vesting: a.vesting,
        nonce: a.nonce,
        member: a.member,
        invited_by: a.invited_by,
        free_bytes_left: state.free_left(&address, crate::unix_now()),
        host_bound_bytes: state.host_bound(&address),
    }))
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    limit: Option<usize>,
}

pub(crate) async fn history(
    State(shared): S,
    address: Result<Path<String>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> ApiResult<Vec<HistoryEntry>> {
    let ledger = ledger_of(&shared)?;
    let Path(address) = address?;
    let address = parse_address(&address)?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).min(1000);
    let items = blocking(move || ledger.history(&address, limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(axum::Json(
        items
            .into_iter()
            .map(|i| HistoryEntry {
                seq: i.seq,
                time: i.time,
                tx: serde_json::to_value(&i.tx).unwrap_or_default(),
            })
            .collect(),
    ))
}

/// A signed user transaction. Answers once it is durable; a `join` also returns the passkey.
pub(crate) async fn submit(
    State(shared): S,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Submitted> {
    let tx: Signed<UserTx> = parse_json(body)?;
    if matches!(tx.message, UserTx::Report(_)) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "report_needs_body",
            "hosting reports go to POST /api/v1/reports, with the full report",
        ));
    }
    Ok(axum::Json(commit_user_tx(&shared, tx).await?))
}

/// Logs a checked user transaction and mirrors member changes to the tracker.
pub(crate) async fn commit_user_tx(
    shared: &Arc<Shared>,
    tx: Signed<UserTx>,
) -> Result<Submitted, ApiError> {
    let ledger = ledger_of(shared)?;
    let joining = matches!(tx.message, UserTx::Join(_));
    let committed = blocking(move || ledger.submit(tx)).await?;
    let mut passkey = None;
    if !committed.members.is_empty() {
        let changes = committed.members.clone();
        let s = Arc::clone(shared);
        let created = blocking(move || s.mirror_members(&changes)).await?;
        if joining {
            passkey = created
                .into_iter()
                .next()
                .map(|(_, p)| tracker::request::passkey_to_string(&p));
        }
    }
    Ok(Submitted {
        seq: committed.seq,
        hash: hex::encode(committed.hash),
        time: committed.time,
        passkey,
    })
}

/// Receipts from an uploading node; each gets an outcome, in order.
pub(crate) async fn settle(
    State(shared): S,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ReceiptResults> {
    let ledger = ledger_of(&shared)?;
    let batch: ReceiptBatch = parse_json(body)?;
    if batch.receipts.len() > MAX_RECEIPTS_PER_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_receipts",
            format!("at most {MAX_RECEIPTS_PER_BATCH} receipts per request"),
        ));
    }
    let torrents: Vec<[u8; 32]> = batch.receipts.iter().map(|r| r.message.torrent).collect();
    let outcomes = blocking(move || ledger.settle(batch.receipts)).await?;
    // Bytes delivered per torrent since the last close: a floor under its measured capacity.
    {
        let mut settled = shared.settled.lock().unwrap_or_else(|e| e.into_inner());
        for (torrent, outcome) in torrents.iter().zip(&outcomes) {
            let m = &shared.metrics;
            if let token::ReceiptOutcome::Settled { bytes, .. } = outcome {
                let sum = settled.entry(*torrent).or_default();
                *sum = sum.saturating_add(*bytes);
                crate::metrics::Metrics::bump(&m.receipts_settled, 1);
                crate::metrics::Metrics::bump(&m.bytes_settled, *bytes);
            } else {
                crate::metrics::Metrics::bump(&m.receipts_rejected, 1);
            }
        }
    }
    Ok(axum::Json(ReceiptResults { outcomes }))
}
