//! Sign-in to the site with the member's key: Sign-In with Ethereum (EIP-4361) messages signed
//! with EIP-191 `personal_sign`, so a browser wallet and `seedbank wallet sign-in` both work.
//!
//! 1. `GET /api/v1/auth/nonce` hands out a nonce good for 10 minutes and one sign-in. It is
//!    stateless: its expiry and a MAC under a secret of this process, so a flood of nonce requests
//!    costs the hub nothing; only nonces actually used (by a valid member signature) are remembered,
//!    until they expire.
//! 2. The client writes the message for this hub's domain and chain, signs it, and posts both to
//!    `POST /api/v1/auth/session`. The hub checks domain, URI, chain id, nonce, times and the
//!    signature, and that the signer is a member in good standing.
//! 3. The answer sets an `HttpOnly`, `SameSite=Lax` session cookie (7 days) and carries a one-time
//!    link (5 minutes) that opens a session in another browser, for the CLI.
//!
//! Sessions live in `hub.sqlite` by the keccak-256 of their token; used nonces and links in memory
//! only (a restart just asks for a new nonce). Only members' valid signatures add to them; the
//! used nonces are capped, and links are one per member.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hubapi::views::{SessionView, SignIn, SignInChallenge, SignedIn};
use token::siwe::SiweMessage;
use token::{Address, Signature};

use crate::http::{ApiError, ApiResult, S};
use crate::http_ledger::{ledger_of, parse_json};
use crate::store::MemberRow;
use crate::{Shared, unix_now};

pub(crate) const COOKIE: &str = "seedbank_session";
const SESSION_SECS: u64 = 7 * 86_400;
const NONCE_SECS: u64 = 600;
const LINK_SECS: u64 = 300;
/// A message's `Issued At` may be this far ahead of the hub's clock.
const CLOCK_SKEW_SECS: u64 = 120;
/// Used nonces kept at most; past it, expired ones are dropped, then sign-ins refused (503) until
/// some expire. Only members' valid signatures add to it.
const MAX_PENDING: usize = 10_000;
/// MAC bytes in a nonce (hex-encoded after the expiry and the salt).
const NONCE_MAC: usize = 16;
/// Hex digits of a nonce: expiry (16), salt (16), MAC.
const NONCE_LEN: usize = 32 + 2 * NONCE_MAC;

/// The nonce key, used nonces and one-time links waiting to be used.
pub(crate) struct Pending {
    key: [u8; 32],
    used: Mutex<HashMap<String, u64>>,
    links: Mutex<HashMap<String, (MemberRow, u64)>>,
}

impl Default for Pending {
    fn default() -> Pending {
        Pending {
            key: rand::random(),
            used: Mutex::default(),
            links: Mutex::default(),
        }
    }
}

impl Pending {
    fn mac(&self, stamp: &str) -> [u8; 32] {
        // keccak-256 has no length extension, so keccak(key ‖ message) is a sound MAC.
        let mut input = self.key.to_vec();
        input.extend_from_slice(stamp.as_bytes());
        token::keccak256(&input)
    }

    /// `expiry (16 hex) ‖ salt (16 hex) ‖ MAC (32 hex)`: alphanumeric, as EIP-4361 wants. The salt
    /// keeps two nonces handed out in one second apart.
    fn nonce(&self, expires: u64) -> String {
        let stamp = format!("{expires:016x}{}", hex::encode(rand::random::<[u8; 8]>()));
        let mac = self.mac(&stamp);
        format!("{stamp}{}", hex::encode(&mac[..NONCE_MAC]))
    }

    /// Whether `nonce` is one of ours and still fresh at `now`.
    fn check(&self, nonce: &str, now: u64) -> bool {
        if nonce.len() != NONCE_LEN || !nonce.is_ascii() {
            return false;
        }
        let (stamp, mac) = nonce.split_at(32);
        let (Ok(expires), Ok(mac)) = (u64::from_str_radix(&stamp[..16], 16), hex::decode(mac))
        else {
            return false;
        };
        let want = self.mac(stamp);
        // Constant time: how much of a guess matches must not show in the answer's timing.
        let diff = want[..NONCE_MAC]
            .iter()
            .zip(&mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0 && expires > now
    }
}

/// Inserts a key not seen before into a capped map (expired entries make room).
fn insert_bounded<V>(
    map: &Mutex<HashMap<String, V>>,
    key: String,
    value: V,
    expires: impl Fn(&V) -> u64,
    now: u64,
) -> Result<(), ApiError> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_PENDING {
        map.retain(|_, v| expires(v) > now);
    }
    if map.len() >= MAX_PENDING {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many sign-ins under way; try again in a few minutes",
        ));
    }
    if map.contains_key(&key) {
        return Err(refused("this nonce has been used: ask for a new one"));
    }
    map.insert(key, value);
    Ok(())
}

/// 128 random bits as 32 hex digits: alphanumeric, as EIP-4361 wants a nonce.
fn random_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// `host[:port]` of the hub's public URL: the only domain a message may name.
fn domain_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// EIP-4361 statements take a narrow character set: a name like "Café" or one with quotes would
/// make a message no parser accepts, so the name is reduced to what always passes.
fn statement(collective: &str) -> String {
    let name: String = collective
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '_'))
        .collect();
    let name = name.trim();
    let name = if name.is_empty() {
        "the collective"
    } else {
        name
    };
    format!("Sign in to {name} with your member key.")
}

fn hash_token(token: &str) -> [u8; 32] {
    token::keccak256(token.as_bytes())
}

/// The session token in the request's `Cookie` header, if any.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}

/// The member signed in with this request's cookie, and when the session ends.
pub(crate) async fn session_of(
    shared: &std::sync::Arc<Shared>,
    headers: &HeaderMap,
) -> Result<Option<(MemberRow, u64)>, ApiError> {
    let Some(token) = cookie_token(headers) else {
        return Ok(None);
    };
    let hash = hash_token(&token);
    let now = unix_now();
    Ok(shared
        .with_store(false, move |s| s.session(&hash, now))
        .await?
        .filter(|(m, _)| !m.suspended))
}

fn set_cookie(shared: &Shared, token: &str, max_age: u64) -> HeaderValue {
    let secure = if shared.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let value =
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Opens a session for `member`: stores it and returns the cookie to set.
pub(crate) async fn open_session(
    shared: &std::sync::Arc<Shared>,
    member: &MemberRow,
) -> Result<(HeaderValue, u64), ApiError> {
    let token = format!("{}{}", random_token(), random_token());
    let hash = hash_token(&token);
    let now = unix_now();
    let expires = now + SESSION_SECS;
    let id = member.id;
    shared
        .with_store(true, move |s| s.put_session(&hash, id, now, expires))
        .await?;
    Ok((set_cookie(shared, &token, SESSION_SECS), expires))
}

/// Ends the request's session, if any, and returns the cookie that clears it in the browser.
pub(crate) async fn close_session(
    shared: &std::sync::Arc<Shared>,
    headers: &HeaderMap,
) -> Result<HeaderValue, ApiError> {
    if let Some(token) = cookie_token(headers) {
        let hash = hash_token(&token);
        shared
            .with_store(true, move |s| s.delete_session(&hash))
            .await?;
    }
    Ok(set_cookie(shared, "", 0))
}

/// What a message for this hub must carry; an error on a ratio-only hub (no accounts to sign with).
pub(crate) fn challenge(shared: &Shared) -> Result<SignInChallenge, ApiError> {
    let ledger = ledger_of(shared)?;
    let summary = ledger.summary();
    let now = unix_now();
    let expires = now + NONCE_SECS;
    let nonce = shared.signin.nonce(expires);
    let url = shared.public_url();
    Ok(SignInChallenge {
        domain: domain_of(&url).to_owned(),
        uri: format!("{url}/"),
        chain_id: summary.domain.chain_id,
        nonce,
        expires,
        statement: statement(&summary.genesis.name),
    })
}

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_refused", message)
}

/// Checks a signed message and returns the member it signs in, with the account that signed.
async fn verify(
    shared: &std::sync::Arc<Shared>,
    body: &SignIn,
) -> Result<(MemberRow, Address), ApiError> {
    let ledger = ledger_of(shared)?;
    let signature = Signature::from_hex(&body.signature)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_signature", e.to_string()))?;
    // The cheap checks first: recovering a signature is the costly step, and anyone can ask.
    let message = SiweMessage::parse(&body.message).map_err(|e| refused(e.to_string()))?;
    let url = shared.public_url();
    let domain = domain_of(&url);
    if message.domain != domain {
        return Err(refused(format!(
            "the message is for {:?}; this hub is {domain:?}",
            message.domain
        )));
    }
    if message.uri != url && !message.uri.starts_with(&format!("{url}/")) {
        return Err(refused(format!(
            "the message's URI {:?} is not on {url}",
            message.uri
        )));
    }
    let summary = ledger.summary();
    let expected = statement(&summary.genesis.name);
    if message.statement.as_deref() != Some(expected.as_str()) {
        return Err(refused(format!(
            "the message's statement must read {expected:?}"
        )));
    }
    let chain_id = summary.domain.chain_id;
    if message.chain_id != chain_id {
        return Err(refused(format!(
            "the message is for chain {}; this collective's is {chain_id}",
            message.chain_id
        )));
    }
    let now = unix_now();
    message
        .check_time(now, CLOCK_SKEW_SECS)
        .map_err(|e| refused(e.to_string()))?;
    if !shared.signin.check(&message.nonce, now) {
        return Err(refused(
            "unknown or expired nonce: ask GET /api/v1/auth/nonce for a new one",
        ));
    }
    SiweMessage::verify_signature(&body.message, &signature).map_err(|e| refused(e.to_string()))?;
    let address: Address = message.address;
    let member = shared
        .with_store(false, move |s| s.member_by_account(&address.0))
        .await?
        .ok_or_else(|| refused(format!("{address} is not a member of this collective")))?;
    if member.suspended {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "suspended",
            "membership suspended",
        ));
    }
    // Only a member's valid signature gets here, so only members can fill this map. Two requests
    // racing with one nonce: the insert decides, under the lock.
    let expires = now + NONCE_SECS;
    insert_bounded(
        &shared.signin.used,
        message.nonce.clone(),
        expires,
        |e| *e,
        now,
    )?;
    Ok((member, address))
}

// ---- routes ----

pub(crate) async fn nonce(State(shared): S) -> ApiResult<SignInChallenge> {
    Ok(axum::Json(challenge(&shared)?))
}

pub(crate) async fn sign_in(
    State(shared): S,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // Only JSON: a form on another site cannot post it without a CORS preflight, which this hub
    // never grants, so no page elsewhere can sign a visitor in as someone else.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "send the signed message as application/json",
        ));
    }
    let body: SignIn = parse_json(body)?;
    let (member, address) = verify(&shared, &body).await?;
    // A new session replaces the one this client had, if any.
    close_session(&shared, &headers).await?;
    let now = unix_now();
    let code = random_token();
    {
        // One live link per member: a member signing in in a loop cannot fill the map.
        let mut links = shared
            .signin
            .links
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        links.retain(|_, (m, expires)| m.id != member.id && *expires > now);
        links.insert(code.clone(), (member.clone(), now + LINK_SECS));
    }
    let (cookie, expires) = open_session(&shared, &member).await?;
    crate::metrics::Metrics::bump(&shared.metrics.sign_ins, 1);
    tracing::info!(member = member.name, "signed in");
    let answer = SignedIn {
        name: member.name,
        address,
        expires,
        link: format!("{}/signin/redeem?code={code}", shared.public_url()),
    };
    Ok((
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        axum::Json(answer),
    )
        .into_response())
}

/// The member a one-time link's code would sign in, without using it up.
pub(crate) fn link_member(shared: &Shared, code: &str) -> Option<String> {
    let links = shared
        .signin
        .links
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (member, expires) = links.get(code)?;
    (*expires > unix_now()).then(|| member.name.clone())
}

/// Takes a one-time link's code: the member it signs in, if it is fresh and unused.
pub(crate) fn redeem(shared: &Shared, code: &str) -> Option<MemberRow> {
    let (member, expires) = shared
        .signin
        .links
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(code)?;
    (expires > unix_now()).then_some(member)
}

pub(crate) async fn session(State(shared): S, headers: HeaderMap) -> Result<Response, ApiError> {
    let (member, expires) = session_of(&shared, &headers).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "not signed in: see /signin",
        )
    })?;
    let view = session_view(&shared, member, expires).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(view)).into_response())
}

pub(crate) async fn session_view(
    shared: &std::sync::Arc<Shared>,
    member: MemberRow,
    expires: u64,
) -> Result<SessionView, ApiError> {
    let name = member.name.clone();
    let account = shared
        .with_store(false, move |s| s.account_of(&name))
        .await?
        .flatten()
        .unwrap_or([0; 20]);
    let passkey = tracker::request::passkey_to_string(&member.passkey);
    Ok(SessionView {
        announce_url: format!("{}/announce/{passkey}", shared.public_url()),
        name: member.name,
        address: Address(account),
        passkey,
        expires,
    })
}

pub(crate) async fn sign_out(State(shared): S, headers: HeaderMap) -> Result<Response, ApiError> {
    let cookie = close_session(&shared, &headers).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_the_authority_of_the_public_url() {
        assert_eq!(domain_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(domain_of("https://hub.example.org/x/y"), "hub.example.org");
    }

    #[test]
    fn statements_always_parse() {
        for name in ["VIDYA", "Café \"quoted\" 100%", "", "数据"] {
            let m = SiweMessage {
                domain: "127.0.0.1:1".into(),
                address: Address([7; 20]),
                statement: Some(statement(name)),
                uri: "http://127.0.0.1:1/".into(),
                version: "1".into(),
                chain_id: 1,
                nonce: "0123456789abcdef".into(),
                issued_at: 1_700_000_000,
                expiration_time: None,
                not_before: None,
                request_id: None,
                resources: Vec::new(),
            };
            assert_eq!(SiweMessage::parse(&m.to_text()).unwrap(), m, "{name}");
        }
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; seedbank_session=abc; b=2"),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("seedbank_session="),
        );
        assert_eq!(cookie_token(&h), None);
    }

    #[test]
    fn nonces_are_ours_and_expire() {
        let pending = Pending::default();
        let nonce = pending.nonce(1_000);
        assert_eq!(nonce.len(), NONCE_LEN);
        assert_ne!(
            nonce,
            pending.nonce(1_000),
            "salted: two nonces of one second differ"
        );
        assert!(nonce.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(pending.check(&nonce, 999));
        assert!(!pending.check(&nonce, 1_000), "expired");
        // Another process's key, a changed expiry, a changed MAC, garbage: all refused.
        assert!(!Pending::default().check(&nonce, 999));
        let later = format!("{:016x}{}", 5_000u64, &nonce[16..]);
        assert_eq!(later.len(), NONCE_LEN);
        assert!(!pending.check(&later, 999));
        let mut forged = nonce.clone().into_bytes();
        let last = NONCE_LEN - 1;
        forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
        assert!(!pending.check(&String::from_utf8(forged).unwrap(), 999));
        for junk in [
            "",
            "zz",
            "é",
            &"0".repeat(NONCE_LEN),
            &nonce[..NONCE_LEN - 1],
        ] {
            assert!(!pending.check(junk, 0), "{junk}");
        }
    }

    #[test]
    fn pending_maps_are_bounded() {
        let map = Mutex::new(HashMap::new());
        for i in 0..MAX_PENDING {
            insert_bounded(&map, i.to_string(), 100u64, |e| *e, 50).unwrap();
        }
        assert!(insert_bounded(&map, "x".into(), 100, |e| *e, 50).is_err());
        // Once they expire, room is made.
        insert_bounded(&map, "y".into(), 300, |e| *e, 200).unwrap();
        assert_eq!(map.lock().unwrap().len(), 1);
    }
}
