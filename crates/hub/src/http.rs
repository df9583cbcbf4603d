//! HTTP routes. The tracker routes answer every request with a bencoded body and status 200 (BEP 3
//! clients read `failure reason` only from a 200); the API answers JSON with a stable error shape.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hubapi::{
    ErrorBody, ErrorDetail, HubStats, ListQuery, MemberStats, PublishQuery, TORRENT_MEDIA_TYPE,
    TorrentDetail, TorrentList,
};
use metainfo::Torrent;
use tracker::request::parse_passkey;

use crate::metrics::Metrics;
use crate::store::{MemberRow, NewTorrent, StoreError};
use crate::views::with_swarm;
use crate::{Shared, http_audit, http_economy, http_ledger, signin, unix_now, views};

pub(crate) type S = State<Arc<Shared>>;

/// Largest `.torrent` accepted: a multi-terabyte hybrid with 16 KiB-piece layers stays well below.
const MAX_TORRENT_BYTES: usize = 16 << 20;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/announce/{passkey}", get(announce))
        .route("/announce", get(no_passkey))
        .route("/announce/", get(no_passkey))
        .route("/scrape", get(no_passkey))
        .route("/scrape/", get(no_passkey))
        .route("/scrape/{passkey}", get(scrape))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(crate::metrics::get))
        .route("/api/v1/stats", get(stats))
        .route(
            "/api/v1/torrents",
            get(list_torrents)
                .post(publish)
                .layer(DefaultBodyLimit::max(MAX_TORRENT_BYTES)),
        )
        .route("/api/v1/torrents/{id}", get(torrent))
        .route("/api/v1/torrents/{id}/torrent", get(personal_torrent))
        .route("/api/v1/members/{name}", get(member))
        .route("/api/v1/me", get(me))
        .route("/api/v1/ledger", get(http_ledger::info))
        .route("/api/v1/accounts/{address}", get(http_ledger::account))
        .route(
            "/api/v1/accounts/{address}/history",
            get(http_ledger::history),
        )
        .route("/api/v1/transactions", post(http_ledger::submit))
        .route("/api/v1/receipts", post(http_ledger::settle))
        .route("/api/v1/reports", post(http_audit::submit_report))
        .route("/api/v1/reports/{hash}", get(http_audit::report))
        .route("/api/v1/epochs/current", get(http_audit::current_epoch))
        .route("/api/v1/epochs/{epoch}", get(http_audit::epoch))
        .route(
            "/api/v1/epochs/{epoch}/audits",
            get(http_audit::epoch_audits),
        )
        .route(
            "/api/v1/epochs/{epoch}/reports",
            get(http_audit::epoch_reports),
        )
        .route("/api/v1/evidence/{hash}", get(http_audit::evidence))
        .route("/api/v1/nodes/{address}", get(http_audit::node))
        .route("/api/v1/market", get(http_economy::market))
        .route("/api/v1/earnings/{address}", get(http_economy::earnings))
        .route("/api/v1/epochs/{epoch}/close", get(http_economy::close))
        .route(
            "/api/v1/epochs/closed/latest",
            get(http_economy::latest_close),
        )
        .route("/api/v1/overview", get(views::get_overview))
        .route("/api/v1/categories", get(views::get_categories))
        .route(
            "/api/v1/torrents/{id}/market",
            get(views::get_torrent_market),
        )
        .route("/api/v1/profiles/{name}", get(views::get_profile))
        .route("/api/v1/nodes", get(views::get_nodes))
        .route("/api/v1/economy", get(views::get_economy))
        .route("/api/v1/auth/nonce", get(signin::nonce))
        .route("/api/v1/auth/session", post(signin::sign_in))
        .route(
            "/api/v1/session",
            get(signin::session).delete(signin::sign_out),
        )
        .route("/api/v1/openapi.json", get(openapi))
        .merge(crate::web::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(shared)
}

/// The API's description, served as written (`crates/hub/src/openapi.json`).
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Unknown paths: a JSON error under `/api/`, the site's 404 page elsewhere.
async fn fallback(State(shared): S, uri: Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response();
    }
    crate::web::not_found(&shared, &headers, "There is no page here.").await
}

fn bencoded(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// The peer's address: the socket's, or the proxy's header when configured.
fn client_ip(shared: &Shared, headers: &HeaderMap, socket: SocketAddr) -> Option<IpAddr> {
    match &shared.config.client_ip_header {
        None => Some(socket.ip()),
        Some(name) => {
            let value = headers.get(name.as_str())?.to_str().ok()?;
            // X-Forwarded-For style lists: our proxy appends the address it saw, so the last entry
            // is the only one a client cannot forge.
            value.rsplit(',').next()?.trim().parse().ok()
        }
    }
}

async fn announce(
    State(shared): S,
    Path(passkey): Path<String>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    // The whole request by value: its headers and URI are read in place, not cloned.
    request: Request,
) -> Response {
    let Some(ip) = client_ip(&shared, request.headers(), socket) else {
        return bencoded(tracker::failure("cannot tell the client's address"));
    };
    let query = request.uri().query().unwrap_or("").as_bytes();
    let m = &shared.metrics;
    bencoded(
        match shared.tracker.announce(&passkey, query, ip, unix_now()) {
            Ok(body) => {
                Metrics::bump(&m.announces, 1);
                body
            }
            Err(refusal) => {
                Metrics::bump(&m.announces_refused, 1);
                tracing::debug!(%ip, "announce refused: {refusal}");
                tracker::failure(&refusal.to_string())
            }
        },
    )
}

/// A public-tracker URL used against a private tracker: say what is missing, in bencode.
async fn no_passkey() -> Response {
    bencoded(tracker::failure(
        "missing passkey: this private tracker serves /announce/<passkey>",
    ))
}

async fn scrape(State(shared): S, Path(passkey): Path<String>, uri: Uri) -> Response {
    let query = uri.query().unwrap_or("").as_bytes();
    Metrics::bump(&shared.metrics.scrapes, 1);
    bencoded(match shared.tracker.scrape(&passkey, query) {
        Ok(body) => body,
        Err(refusal) => tracker::failure(&refusal.to_string()),
    })
}

/// An API error: status plus the stable JSON body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: ErrorDetail {
                    code: code.to_owned(),
                    message: message.into(),
                },
            },
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.body.error.message
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", m),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Sqlite(e) => {
                tracing::error!("store: {e}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "store error")
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_path", e.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> ApiError {
        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_body"
        };
        ApiError::new(e.status(), code, e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<axum::Json<T>, ApiError>;

/// The member behind `Authorization: Bearer <passkey>`, or else behind the site's session cookie.
pub(crate) async fn member_of(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
) -> Result<MemberRow, ApiError> {
    let unauthorized =
        |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m.to_owned());
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return match crate::signin::session_of(shared, headers).await? {
            Some((member, _)) => Ok(member),
            None => Err(unauthorized(
                "send Authorization: Bearer <passkey>, or sign in at /signin",
            )),
        };
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("malformed Authorization header"))?;
    let passkey = value
        .strip_prefix("Bearer ")
        .and_then(|p| parse_passkey(p.trim()).ok())
        .ok_or_else(|| unauthorized("malformed passkey"))?;
    let member = shared
        .with_store(false, move |s| s.member_by_passkey(&passkey))
        .await?
        .ok_or_else(|| unauthorized("unknown passkey"))?;
    if member.suspended {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "suspended",
            "membership suspended",
        ));
    }
    Ok(member)
}

async fn stats(State(shared): S) -> ApiResult<HubStats> {
    let (members, torrents) = shared.with_store(false, |s| s.counts()).await?;
    Ok(axum::Json(HubStats {
        members,
        torrents,
        peers: shared.tracker.peer_count() as u64,
    }))
}

async fn list_torrents(
    State(shared): S,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<TorrentList> {
    let Query(q) = query?;
    let (total, torrents) = shared
        .with_store(false, move |s| s.list_torrents(&q))
        .await?;
    let torrents = torrents
        .into_iter()
        .map(|t| with_swarm(&shared, t))
        .collect();
    Ok(axum::Json(TorrentList { total, torrents }))
}

async fn publish(
    State(shared): S,
    headers: HeaderMap,
    query: Result<Query<PublishQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, axum::Json<hubapi::TorrentSummary>), ApiError> {
    // The passkey, never the site's cookie: a write must not ride on a browser's session.
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "publishing takes Authorization: Bearer <passkey>",
        ));
    }
    let member = member_of(&shared, &headers).await?;
    let Query(q) = query?;
    let body = body?;
    let (summary, tracked) = shared
        .with_store(true, move |s| {
            s.add_torrent(&NewTorrent {
                metainfo: &body,
                name: &q.name,
                category: &q.category,
                description: &q.description,
                uploader: member.id,
                now: unix_now(),
            })
        })
        .await?;
    shared
        .tracker
        .add_torrent(tracked.id, &tracked.wire_ids, tracked.snatches);
    if let Some(ledger) = shared.ledger.clone() {
        let listed = summary.clone();
        http_ledger::blocking(move || http_ledger::register_torrent(&ledger, &listed)).await?;
    }
    if let Some(auditor) = shared.auditor.clone() {
        let id = tracked.id;
        let stored = shared.with_store(false, move |s| s.metainfo(id)).await?;
        if let Some(torrent) = stored.and_then(|b| metainfo::Torrent::from_bytes(&b).ok()) {
            auditor.add_torrent(torrent);
        }
    }
    tracing::info!(
        id = summary.id,
        name = summary.name,
        uploader = member.name,
        "published"
    );
    Ok((StatusCode::CREATED, axum::Json(summary)))
}

async fn torrent(
    State(shared): S,
    id: Result<Path<u32>, PathRejection>,
) -> ApiResult<TorrentDetail> {
    let Path(id) = id?;
    Ok(axum::Json(views::torrent_detail(&shared, id).await?))
}

/// The stored `.torrent` with this member's announce URL. Only the outer dict changes; the info
/// dict is copied byte for byte, so the info-hashes are the index's.
async fn personal_torrent(
    State(shared): S,
    id: Result<Path<u32>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let member = member_of(&shared, &headers).await?;
    personal_torrent_for(&shared, id, &member).await
}

/// `id`'s `.torrent` announcing with `member`'s passkey, as an attachment.
pub(crate) async fn personal_torrent_for(
    shared: &Arc<Shared>,
    id: u32,
    member: &MemberRow,
) -> Result<Response, ApiError> {
    let bytes = shared
        .with_store(false, move |s| s.metainfo(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no torrent {id}")))?;
    let torrent = Torrent::from_bytes(&bytes).map_err(|e| {
        tracing::error!(id, "stored torrent unreadable: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "stored torrent unreadable",
        )
    })?;
    let url = format!(
        "{}/announce/{}",
        shared.public_url(),
        tracker::request::passkey_to_string(&member.passkey)
    );
    // Header-safe: the name comes from an uploader and may hold anything but NUL.
    let safe: String = torrent
        .info
        .name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '/' => '_',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '_',
        })
        .collect();
    let file_name = format!("{safe}.torrent");
    Ok((
        [
            (header::CONTENT_TYPE, TORRENT_MEDIA_TYPE.to_owned()),
            // It carries the passkey: no cache may keep it.
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        torrent.with_announce(&url).to_bytes(),
    )
        .into_response())
}

async fn member(
    State(shared): S,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<MemberStats> {
    let Path(name) = name?;
    member_of(&shared, &headers).await?;
    let stats = shared
        .with_store(false, {
            let name = name.clone();
            move |s| s.member_stats(&name)
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no member named {name:?}")))?;
    Ok(axum::Json(stats))
}

async fn me(State(shared): S, headers: HeaderMap) -> ApiResult<MemberStats> {
    let me = member_of(&shared, &headers).await?;
    let stats = shared
        .with_store(false, move |s| s.member_stats(&me.name))
        .await?
        .ok_or_else(|| ApiError::not_found("member vanished"))?;
    Ok(axum::Json(stats))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The router and the OpenAPI document name the same paths: a route cannot ship undocumented,
    /// and the document cannot describe a route that is gone. (The pages of `web` are not API.)
    #[test]
    fn every_api_route_is_documented() {
        let source = include_str!("http.rs");
        let routed: BTreeSet<String> = source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| {
                let path = rest.trim_start().strip_prefix('"')?.split('"').next()?;
                let api = path.starts_with("/api/") || path == "/healthz" || path == "/metrics";
                api.then(|| path.to_owned())
            })
            .collect();
        let doc: serde_json::Value =
            serde_json::from_str(super::OPENAPI).expect("openapi.json parses");
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .cloned()
            .collect();
        assert!(routed.len() > 30, "{routed:?}");
        assert_eq!(routed, documented);
    }
}
