//! The collective's web site: server-rendered pages (the `site` crate renders, `views` gathers),
//! sign-in pages, and the static files. Every page is built from the same values the JSON API
//! serves. A page never shows a passkey except to its own member, signed in.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hubapi::ListQuery;
use hubapi::views::TokenInfo;
use serde::Deserialize;

use crate::http::ApiError;
use crate::metrics::Metrics;
use crate::store::MemberRow;
use crate::{Shared, signin, views};

type S = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(home))
        .route("/torrents", get(browse))
        .route("/torrents/{id}", get(torrent))
        .route("/torrents/{id}/download", get(download))
        .route("/members/{name}", get(member))
        .route("/nodes", get(nodes))
        .route("/economy", get(economy))
        .route("/signin", get(signin_page))
        .route("/signin/redeem", get(redeem_page).post(redeem))
        .route("/signout", post(signout))
        .route("/static/site.css", get(|| file("text/css", site::CSS)))
        .route(
            "/static/site.js",
            get(|| file("text/javascript", site::SCRIPT)),
        )
        .route(
            "/favicon.svg",
            get(|| file("image/svg+xml", site::FAVICON_SVG)),
        )
}

async fn file(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Who is looking, and how the page names the collective.
struct Viewer {
    site_name: String,
    token: Option<TokenInfo>,
    member: Option<(MemberRow, u64)>,
}

impl Viewer {
    async fn of(shared: &Arc<Shared>, headers: &HeaderMap) -> Viewer {
        let (site_name, token) = match &shared.ledger {
            Some(ledger) => {
                let g = ledger.summary().genesis;
                let token = TokenInfo {
                    symbol: g.symbol.clone(),
                    decimals: token::DECIMALS,
                };
                (g.name, Some(token))
            }
            None => ("seedbank".to_owned(), None),
        };
        // A broken session store must not take the public pages down: they render signed out.
        let member = signin::session_of(shared, headers)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("session lookup failed: {}", e.message());
                None
            });
        Viewer {
            site_name,
            token,
            member,
        }
    }

    fn ctx(&self) -> site::Ctx<'_> {
        site::Ctx {
            site_name: &self.site_name,
            viewer: self.member.as_ref().map(|(m, _)| m.name.as_str()),
            token: self.token.as_ref(),
            now: crate::unix_now(),
        }
    }
}

/// An HTML page with the headers every page carries: no framing, no sniffing, scripts only
/// from this origin, and no caching of what may be one member's view.
fn html(status: StatusCode, body: String) -> Response {
    const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                       script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                       form-action 'self'";
    let headers: [(HeaderName, HeaderValue); 6] = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::CACHE_CONTROL,
            // A page may show its member's passkey: kept by no cache, not even the browser's.
            HeaderValue::from_static("no-store"),
        ),
    ];
    (status, headers, body).into_response()
}

/// A page, or the error page for what went wrong while gathering it.
fn render(shared: &Shared, viewer: &Viewer, gathered: Result<String, ApiError>) -> Response {
    Metrics::bump(&shared.metrics.pages, 1);
    match gathered {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) if e.status() == StatusCode::NOT_FOUND => html(
            StatusCode::NOT_FOUND,
            site::not_found(&viewer.ctx(), e.message()),
        ),
        Err(e) => html(
            e.status(),
            site::error(&viewer.ctx(), e.status().as_u16(), e.message()),
        ),
    }
}

pub(crate) async fn not_found(shared: &Arc<Shared>, headers: &HeaderMap, what: &str) -> Response {
    let viewer = Viewer::of(shared, headers).await;
    render(shared, &viewer, Err(ApiError::not_found(what)))
}

async fn home(State(shared): S, headers: HeaderMap) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let page = views::overview(&shared)
        .await
        .map(|o| site::home(&viewer.ctx(), &o));
    render(&shared, &viewer, page)
}

/// Results per browse page.
const PAGE_SIZE: u32 = 50;

async fn browse(
    State(shared): S,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let page = async {
        let Query(mut q) = query?;
        q.limit = Some(q.limit.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE));
        // An empty form field means "any".
        q.q = q.q.filter(|s| !s.trim().is_empty());
        q.category = q.category.filter(|s| !s.is_empty());
        let lookup = q.clone();
        let (total, found) = shared
            .with_store(false, move |s| s.list_torrents(&lookup))
            .await?;
        let list = hubapi::TorrentList {
            total,
            torrents: found
                .into_iter()
                .map(|t| views::with_swarm(&shared, t))
                .collect(),
        };
        let categories = views::categories(&shared).await?;
        Ok(site::browse(&viewer.ctx(), &list, &q, &categories))
    }
    .await;
    render(&shared, &viewer, page)
}

async fn torrent(
    State(shared): S,
    headers: HeaderMap,
    id: Result<Path<u32>, PathRejection>,
) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let page = async {
        let Path(id) = id.map_err(|_| ApiError::not_found("no such torrent"))?;
        let detail = views::torrent_detail(&shared, id).await?;
        let market = views::torrent_market(&shared, &detail.summary).await?;
        Ok(site::torrent(&viewer.ctx(), &detail, &market))
    }
    .await;
    render(&shared, &viewer, page)
}

/// The member's own `.torrent`; a visitor not signed in is sent to sign in first.
async fn download(
    State(shared): S,
    headers: HeaderMap,
    id: Result<Path<u32>, PathRejection>,
) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let Ok(Path(id)) = id else {
        return render(
            &shared,
            &viewer,
            Err(ApiError::not_found("no such torrent")),
        );
    };
    let Some((member, _)) = &viewer.member else {
        return Redirect::to("/signin").into_response();
    };
    match crate::http::personal_torrent_for(&shared, id, member).await {
        Ok(response) => response,
        Err(e) => render(&shared, &viewer, Err(e)),
    }
}

async fn member(
    State(shared): S,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let page = async {
        let Path(name) = name.map_err(|_| ApiError::not_found("no such member"))?;
        let profile = views::profile(&shared, name).await?;
        // The passkey box only on the member's own page.
        let own = match &viewer.member {
            Some((m, expires)) if m.name == profile.name => {
                Some(signin::session_view(&shared, m.clone(), *expires).await?)
            }
            _ => None,
        };
        Ok(site::member(&viewer.ctx(), &profile, own.as_ref()))
    }
    .await;
    render(&shared, &viewer, page)
}

async fn nodes(State(shared): S, headers: HeaderMap) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let page = views::node_board(&shared)
        .await
        .map(|b| site::nodes(&viewer.ctx(), &b));
    render(&shared, &viewer, page)
}

async fn economy(State(shared): S, headers: HeaderMap) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let page = views::economy(&shared)
        .await
        .map(|e| site::economy(&viewer.ctx(), &e));
    render(&shared, &viewer, page)
}

async fn signin_page(State(shared): S, headers: HeaderMap) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    if let Some((m, _)) = &viewer.member {
        return Redirect::to(&format!("/members/{}", site::path_escape(&m.name))).into_response();
    }
    let page = match signin::challenge(&shared) {
        Ok(c) => site::signin(&viewer.ctx(), Some(&c), None),
        Err(e) if e.status() == StatusCode::NOT_FOUND => site::signin(&viewer.ctx(), None, None),
        Err(e) => site::signin(&viewer.ctx(), None, Some(e.message())),
    };
    render(&shared, &viewer, Ok(page))
}

#[derive(Deserialize)]
struct RedeemQuery {
    code: String,
}

fn bad_link(viewer: &Viewer, shared: &Shared) -> Response {
    let page = site::signin(
        &viewer.ctx(),
        signin::challenge(shared).ok().as_ref(),
        Some("That sign-in link is unknown, used or expired: sign in again."),
    );
    html(StatusCode::UNAUTHORIZED, page)
}

/// A one-time link from `seedbank wallet sign-in`: asks before it signs this browser in.
async fn redeem_page(
    State(shared): S,
    headers: HeaderMap,
    query: Result<Query<RedeemQuery>, QueryRejection>,
) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let Ok(Query(q)) = query else {
        return bad_link(&viewer, &shared);
    };
    match signin::link_member(&shared, &q.code) {
        Some(name) => render(
            &shared,
            &viewer,
            Ok(site::redeem(&viewer.ctx(), &name, &q.code)),
        ),
        None => bad_link(&viewer, &shared),
    }
}

/// The confirmation's `POST`: only from this site's own page (its `Origin`), then the link is used
/// up and this browser's previous session, if any, ends.
async fn redeem(State(shared): S, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let viewer = Viewer::of(&shared, &headers).await;
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(site_origin(&shared.public_url())) {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "a sign-in link is confirmed from this site's own page",
        );
        return render(&shared, &viewer, Err(e));
    }
    let code = std::str::from_utf8(&body)
        .ok()
        .and_then(|form| form.split('&').find_map(|kv| kv.strip_prefix("code=")));
    let Some(member) = code.and_then(|c| signin::redeem(&shared, c)) else {
        return bad_link(&viewer, &shared);
    };
    if let Err(e) = signin::close_session(&shared, &headers).await {
        return render(&shared, &viewer, Err(e));
    }
    match signin::open_session(&shared, &member).await {
        Ok((cookie, _)) => {
            Metrics::bump(&shared.metrics.sign_ins, 1);
            let to = format!("/members/{}", site::path_escape(&member.name));
            ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
        }
        Err(e) => render(&shared, &viewer, Err(e)),
    }
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
fn site_origin(url: &str) -> &str {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = scheme.len() + 3 + rest.find('/').unwrap_or(rest.len());
            &url[..end]
        }
        None => url,
    }
}

async fn signout(State(shared): S, headers: HeaderMap) -> Response {
    match signin::close_session(&shared, &headers).await {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response(),
        Err(e) => {
            let viewer = Viewer::of(&shared, &headers).await;
            render(&shared, &viewer, Err(e))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin_is_scheme_and_authority() {
        assert_eq!(
            super::site_origin("http://127.0.0.1:80"),
            "http://127.0.0.1:80"
        );
        assert_eq!(
            super::site_origin("https://hub.example/x/"),
            "https://hub.example"
        );
    }
}
