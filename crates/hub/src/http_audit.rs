//! The auditor's routes under `/api/v1`: hosting reports in, epochs, audits, evidence and nodes'
//! standing out. Everything a verifier needs to re-check an epoch after its reveal is here
//! (`seedbank audit verify`): the commitment and secret, each node's full report, every audit, and
//! the evidence of wrong answers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hubapi::{EpochView, NodeView, ReportSubmission, ReportView, Submitted};
use token::{UserTx, hash_hex};

use crate::Shared;
use crate::auditor::{Auditor, AuditorError};
use crate::http::{ApiError, ApiResult, S};
use crate::http_ledger::{blocking, commit_user_tx, ledger_of, parse_address, parse_json};

/// Audits listed with a node's standing.
const NODE_AUDITS: u32 = 200;

pub(crate) fn auditor_of(shared: &Shared) -> Result<Arc<Auditor>, ApiError> {
    shared.auditor.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_ledger",
            "this collective runs without a ledger (ratio only): nothing is audited",
        )
    })
}

impl From<AuditorError> for ApiError {
    fn from(e: AuditorError) -> ApiError {
        match e {
            AuditorError::Report(why) => ApiError::new(StatusCode::BAD_REQUEST, "bad_report", why),
            AuditorError::Ledger(e) => e.into(),
            AuditorError::Store(e) => e.into(),
        }
    }
}

/// A node's signed report and the full report: checked against each other and the index, kept,
/// then logged.
pub(crate) async fn submit_report(
    State(shared): S,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Submitted> {
    let auditor = auditor_of(&shared)?;
    let submission: ReportSubmission = parse_json(body)?;
    let UserTx::Report(signed) = &submission.tx.message else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_report",
            "the transaction is not a hosting report",
        ));
    };
    let signed = signed.clone();
    let report = submission.report;
    blocking(move || auditor.accept_report(&report, &signed)).await?;
    Ok(axum::Json(commit_user_tx(&shared, submission.tx).await?))
}

pub(crate) async fn current_epoch(State(shared): S) -> ApiResult<EpochView> {
    let ledger = ledger_of(&shared)?;
    let now = crate::unix_now();
    let epoch = ledger
        .state()
        .genesis()
        .map(|g| g.epoch_at(now))
        .unwrap_or(0);
    epoch_view(&shared, epoch).await
}

pub(crate) async fn epoch(
    State(shared): S,
    epoch: Result<Path<u64>, PathRejection>,
) -> ApiResult<EpochView> {
    let Path(epoch) = epoch?;
    epoch_view(&shared, epoch).await
}

async fn epoch_view(shared: &Arc<Shared>, epoch: u64) -> ApiResult<EpochView> {
    let ledger = ledger_of(shared)?;
    let auditor = auditor_of(shared)?;
    let (genesis, info) = {
        let state = ledger.state();
        let genesis = state.genesis().cloned().ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "no_genesis", "the ledger is empty")
        })?;
        (genesis, state.epoch_info(epoch))
    };
    let records = blocking(move || auditor.store().audits(Some(epoch), None, u32::MAX)).await?;
    let count = |m: audit::Mark| records.iter().filter(|r| r.mark == m).count() as u64;
    Ok(axum::Json(EpochView {
        epoch,
        start: genesis.epoch_start(epoch),
        end: genesis.epoch_start(epoch + 1),
        current: genesis.epoch_at(crate::unix_now()),
        commitment: info.as_ref().map(|i| hash_hex(&i.commitment)),
        secret: info.as_ref().and_then(|i| i.secret.as_ref().map(hash_hex)),
        audited: info.as_ref().is_some_and(|i| i.audited),
        audits: records.len() as u64,
        pass: count(audit::Mark::Pass),
        offline: count(audit::Mark::Offline),
        missing: count(audit::Mark::Missing),
        wrong: count(audit::Mark::Wrong),
        wire_bytes: records.iter().map(|r| r.bytes).sum(),
    }))
}

pub(crate) async fn epoch_audits(
    State(shared): S,
    epoch: Result<Path<u64>, PathRejection>,
) -> ApiResult<Vec<hubapi::AuditRecord>> {
    let auditor = auditor_of(&shared)?;
    let Path(epoch) = epoch?;
    let records = blocking(move || auditor.store().audits(Some(epoch), None, u32::MAX)).await?;
    Ok(axum::Json(records))
}

pub(crate) async fn epoch_reports(
    State(shared): S,
    epoch: Result<Path<u64>, PathRejection>,
) -> ApiResult<Vec<ReportView>> {
    let ledger = ledger_of(&shared)?;
    let Path(epoch) = epoch?;
    let reports = ledger.state().reports_in_force(epoch);
    Ok(axum::Json(
        reports
            .into_iter()
            .map(|(node, from, r)| ReportView {
                node,
                epoch: from,
                report_hash: hash_hex(&r.report_hash),
                claimed_bytes: r.claimed_bytes,
                endpoint: r.endpoint,
                location: r.location,
            })
            .collect(),
    ))
}

fn parse_hash(text: &str) -> Result<[u8; 32], ApiError> {
    token::parse_hash(text).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_hash", e))
}

pub(crate) async fn evidence(
    State(shared): S,
    hash: Result<Path<String>, PathRejection>,
) -> ApiResult<audit::Evidence> {
    let auditor = auditor_of(&shared)?;
    let Path(hash) = hash?;
    let hash = parse_hash(&hash)?;
    blocking(move || auditor.store().evidence(&hash))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such evidence"))
}

pub(crate) async fn report(
    State(shared): S,
    hash: Result<Path<String>, PathRejection>,
) -> ApiResult<audit::HostingReport> {
    let auditor = auditor_of(&shared)?;
    let Path(hash) = hash?;
    let hash = parse_hash(&hash)?;
    blocking(move || auditor.store().report(&hash))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such report"))
}

pub(crate) async fn node(
    State(shared): S,
    address: Result<Path<String>, PathRejection>,
) -> ApiResult<NodeView> {
    let ledger = ledger_of(&shared)?;
    let auditor = auditor_of(&shared)?;
    let Path(address) = address?;
    let address = parse_address(&address)?;
    let now = crate::unix_now();
    let (host, bound, report, params, hosting) = {
        let state = ledger.state();
        let genesis = state.genesis().cloned().ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "no_genesis", "the ledger is empty")
        })?;
        let epoch = genesis.epoch_at(now);
        // The latest report: in force now, or waiting for its epoch (at most two ahead).
        let report = state.report_in_force(&address, epoch + 2);
        let hosting = state
            .economy()
            .last
            .as_ref()
            .and_then(|l| crate::http_economy::hosting_view(l, &address));
        (
            state.host(&address),
            state.host_bound(&address),
            report,
            genesis.reputation,
            hosting,
        )
    };
    let Some(host) = host else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_a_host",
            format!("{address} has never reported hosting"),
        ));
    };
    let audits =
        blocking(move || auditor.store().audits(None, Some(&address), NODE_AUDITS)).await?;
    let score = host.reputation.score_ppb();
    Ok(axum::Json(NodeView {
        address,
        reputation_ppb: score,
        standing: format!("{:?}", params.standing(score)).to_lowercase(),
        frozen: host.frozen,
        disqualified: host.disqualified,
        last_audited_epoch: host.last_epoch,
        host_bound_bytes: bound,
        report: report.map(|(epoch, r)| ReportView {
            node: address,
            epoch,
            report_hash: hash_hex(&r.report_hash),
            claimed_bytes: r.claimed_bytes,
            endpoint: r.endpoint,
            location: r.location,
        }),
        audits,
        hosting,
    }))
}
