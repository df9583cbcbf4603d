//! A small HTTP/1.1 client for the hub (one connection per call; these are rare, human-paced calls).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

use crate::{
    AccountInfo, ErrorBody, HistoryEntry, HubStats, LedgerInfo, ListQuery, MemberStats,
    ReceiptBatch, ReceiptResults, Submitted, TORRENT_MEDIA_TYPE, TorrentDetail, TorrentList,
    TorrentSummary,
};

const TIMEOUT: Duration = Duration::from_secs(30);
/// Bigger than any reply the hub sends (a `.torrent` of a huge dataset is a few MiB).
const MAX_BODY: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("hub URL {0:?} is not http://host:port")]
    Url(String),
    #[error("cannot reach the hub at {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("HTTP error talking to the hub: {0}")]
    Http(String),
    #[error("the hub did not answer within {0:?}")]
    Timeout(Duration),
    #[error("hub refused ({status}, {code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected reply from the hub: {0}")]
    Decode(String),
    #[error("no torrent named {0:?} in the hub's index")]
    NoSuchTorrent(String),
    #[error("this needs a member passkey (--passkey, or passkey in node.toml)")]
    NoPasskey,
}

/// A hub at `http://host:port`, optionally acting as one member.
#[derive(Clone, Debug)]
pub struct HubClient {
    authority: String,
    passkey: Option<String>,
}

fn encode_component(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if let Some(v) = value {
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(name);
            out.push('=');
            encode_component(v, &mut out);
        }
    }
    out
}

impl HubClient {
    pub fn new(base: &str) -> Result<HubClient, ClientError> {
        let rest = base
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::Url(base.to_owned()))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(ClientError::Url(base.to_owned()));
        }
        Ok(HubClient {
            authority: authority.to_owned(),
            passkey: None,
        })
    }

    pub fn with_passkey(mut self, passkey: Option<String>) -> HubClient {
        self.passkey = passkey;
        self
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.authority)
    }

    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(Bytes, &str)>,
        auth: bool,
    ) -> Result<Bytes, ClientError> {
        tokio::time::timeout(TIMEOUT, self.call_inner(method, path_and_query, body, auth))
            .await
            .map_err(|_| ClientError::Timeout(TIMEOUT))?
    }

    async fn call_inner(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(Bytes, &str)>,
        auth: bool,
    ) -> Result<Bytes, ClientError> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|source| ClientError::Connect {
                addr: self.authority.clone(),
                source,
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", &self.authority)
            .header(
                "user-agent",
                concat!("seedbank/", env!("CARGO_PKG_VERSION")),
            );
        if auth {
            let passkey = self.passkey.as_deref().ok_or(ClientError::NoPasskey)?;
            request = request.header("authorization", format!("Bearer {passkey}"));
        }
        let (content_type, body) = match body {
            Some((bytes, ct)) => (Some(ct), bytes),
            None => (None, Bytes::new()),
        };
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        driver.abort();
        if status.is_success() {
            return Ok(bytes);
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(e) => ClientError::Api {
                status: status.as_u16(),
                code: e.error.code,
                message: e.error.message,
            },
            Err(_) => ClientError::Api {
                status: status.as_u16(),
                code: status.canonical_reason().unwrap_or("error").to_lowercase(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            },
        })
    }

    async fn json<T: DeserializeOwned>(&self, path: &str, auth: bool) -> Result<T, ClientError> {
        let bytes = self.call(Method::GET, path, None, auth).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Registers a `.torrent` in the index.
    pub async fn publish(
        &self,
        torrent: Vec<u8>,
        name: &str,
        category: &str,
        description: &str,
    ) -> Result<TorrentSummary, ClientError> {
        let path = format!(
            "/api/v1/torrents{}",
            query_string(&[
                ("name", Some(name.to_owned())),
                ("category", Some(category.to_owned())),
                ("description", Some(description.to_owned())),
            ])
        );
        let body = Some((Bytes::from(torrent), TORRENT_MEDIA_TYPE));
        let bytes = self.call(Method::POST, &path, body, true).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn torrents(&self, query: &ListQuery) -> Result<TorrentList, ClientError> {
        let qs = query_string(&[
            ("q", query.q.clone()),
            ("name", query.name.clone()),
            ("category", query.category.clone()),
            ("limit", query.limit.map(|v| v.to_string())),
            ("offset", query.offset.map(|v| v.to_string())),
        ]);
        self.json(&format!("/api/v1/torrents{qs}"), false).await
    }

    /// The torrent registered under exactly `name`.
    pub async fn torrent_named(&self, name: &str) -> Result<TorrentSummary, ClientError> {
        let list = self
            .torrents(&ListQuery {
                name: Some(name.to_owned()),
                ..ListQuery::default()
            })
            .await?;
        list.torrents
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::NoSuchTorrent(name.to_owned()))
    }

    pub async fn torrent(&self, id: u32) -> Result<TorrentDetail, ClientError> {
        self.json(&format!("/api/v1/torrents/{id}"), false).await
    }

    /// The `.torrent` with this member's announce URL (same info dict, so the same info-hashes).
    pub async fn personal_torrent(&self, id: u32) -> Result<Vec<u8>, ClientError> {
        let path = format!("/api/v1/torrents/{id}/torrent");
        Ok(self.call(Method::GET, &path, None, true).await?.to_vec())
    }

    pub async fn member(&self, name: &str) -> Result<MemberStats, ClientError> {
        let mut path = "/api/v1/members/".to_owned();
        encode_component(name, &mut path);
        self.json(&path, true).await
    }

    /// The member whose passkey this client holds.
    pub async fn me(&self) -> Result<MemberStats, ClientError> {
        self.json("/api/v1/me", true).await
    }

    pub async fn stats(&self) -> Result<HubStats, ClientError> {
        self.json("/api/v1/stats", false).await
    }

    async fn post_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        let bytes = self
            .call(
                Method::POST,
                path,
                Some((Bytes::from(body), "application/json")),
                false,
            )
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    pub async fn ledger(&self) -> Result<LedgerInfo, ClientError> {
        self.json("/api/v1/ledger", false).await
    }

    pub async fn account(&self, address: &token::Address) -> Result<AccountInfo, ClientError> {
        self.json(&format!("/api/v1/accounts/{address}"), false)
            .await
    }

    pub async fn history(
        &self,
        address: &token::Address,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, ClientError> {
        self.json(
            &format!("/api/v1/accounts/{address}/history?limit={limit}"),
            false,
        )
        .await
    }

    /// A fresh Sign-In with Ethereum nonce and what the message must say.
    pub async fn auth_nonce(&self) -> Result<crate::views::SignInChallenge, ClientError> {
        self.json("/api/v1/auth/nonce", false).await
    }

    /// Posts a signed EIP-4361 message; the answer carries a one-time link for a browser.
    pub async fn sign_in(
        &self,
        signed: &crate::views::SignIn,
    ) -> Result<crate::views::SignedIn, ClientError> {
        self.post_json("/api/v1/auth/session", signed).await
    }

    /// Submits a signed transaction; the answer means it is durable in the log.
    pub async fn submit(
        &self,
        tx: &token::Signed<token::UserTx>,
    ) -> Result<Submitted, ClientError> {
        self.post_json("/api/v1/transactions", tx).await
    }

    /// Submits receipts for settlement (at most [`MAX_RECEIPTS_PER_BATCH`]).
    pub async fn settle(
        &self,
        receipts: Vec<token::Signed<token::Receipt>>,
    ) -> Result<ReceiptResults, ClientError> {
        self.post_json("/api/v1/receipts", &ReceiptBatch { receipts })
            .await
    }

    /// Submits a node's signed hosting report with the full report it binds.
    pub async fn submit_report(
        &self,
        submission: &crate::ReportSubmission,
    ) -> Result<Submitted, ClientError> {
        self.post_json("/api/v1/reports", submission).await
    }

    pub async fn current_epoch(&self) -> Result<crate::EpochView, ClientError> {
        self.json("/api/v1/epochs/current", false).await
    }

    pub async fn epoch(&self, epoch: u64) -> Result<crate::EpochView, ClientError> {
        self.json(&format!("/api/v1/epochs/{epoch}"), false).await
    }

    pub async fn epoch_audits(&self, epoch: u64) -> Result<Vec<crate::AuditRecord>, ClientError> {
        self.json(&format!("/api/v1/epochs/{epoch}/audits"), false)
            .await
    }

    /// The reports in force in `epoch`, one per audited node.
    pub async fn epoch_reports(&self, epoch: u64) -> Result<Vec<crate::ReportView>, ClientError> {
        self.json(&format!("/api/v1/epochs/{epoch}/reports"), false)
            .await
    }

    /// A full hosting report by its hash (`0x…`).
    pub async fn report(&self, hash: &str) -> Result<audit::HostingReport, ClientError> {
        self.json(&format!("/api/v1/reports/{hash}"), false).await
    }

    /// The evidence of a wrong answer by its hash (`0x…`).
    pub async fn evidence(&self, hash: &str) -> Result<audit::Evidence, ClientError> {
        self.json(&format!("/api/v1/evidence/{hash}"), false).await
    }

    pub async fn node(&self, address: &token::Address) -> Result<crate::NodeView, ClientError> {
        self.json(&format!("/api/v1/nodes/{address}"), false).await
    }

    /// What hosting each torrent pays in the coming epoch.
    pub async fn market(&self) -> Result<crate::Market, ClientError> {
        self.json("/api/v1/market", false).await
    }

    /// An account's cumulative earnings and their Merkle proof.
    pub async fn earnings(&self, address: &token::Address) -> Result<crate::Earnings, ClientError> {
        self.json(&format!("/api/v1/earnings/{address}"), false)
            .await
    }

    /// What the close of `epoch` did (the latest close with `None`). The body is the ledger's
    /// `CloseSummary`; callers that link the ledger decode it as that, others as
    /// `serde_json::Value`.
    pub async fn close<T: serde::de::DeserializeOwned>(
        &self,
        epoch: Option<u64>,
    ) -> Result<T, ClientError> {
        let path = match epoch {
            Some(e) => format!("/api/v1/epochs/{e}/close"),
            None => "/api/v1/epochs/closed/latest".to_owned(),
        };
        self.json(&path, false).await
    }
}
