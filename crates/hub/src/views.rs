//! What the site's pages show, gathered from the index, the tracker, the ledger and the audit
//! store: one function per page. `web` renders them as HTML; the handlers here serve the same values
//! as JSON under `/api/v1`, so a page never shows what the API cannot.
//!
//! Reads only: the ledger's state lock is held for copying figures out, never across a store query.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hubapi::views::{
    CategoryCount, EarningEpoch, EconomyView, EpochClock, GrantView, NodeBoard, NodeRow, Overview,
    Profile, ReplicaHolder, Standing, SupplyView, TokenInfo, TorrentMarket,
};
use hubapi::{MarketEntry, TorrentSummary};
use ledger::CloseSummary;
use ledger::state::State as LedgerState;
use token::{Address, Amount};

use crate::Shared;
use crate::http::{ApiError, ApiResult, S};
use crate::http_ledger::{blocking, ledger_of};

/// Closed epochs the charts reach back over: a month of hourly epochs.
const HISTORY_EPOCHS: u32 = 720;
/// Entries in the home page's lists.
const HOME_LIST: usize = 6;
const GIB: u128 = 1 << 30;
const YEAR_SECS: u128 = 365 * 86_400;

pub(crate) fn supply_view(s: &ledger::Supply) -> SupplyView {
    SupplyView {
        minted: s.minted,
        burned: s.burned,
        total: s.minted.checked_sub(s.burned).unwrap_or(Amount::ZERO),
        balances: s.balances,
        staked: s.stakes,
        vesting: s.vesting,
        stakers_pool: s.stakers_pool,
        pools: s.pools,
    }
}

fn token_info(state: &LedgerState) -> Option<TokenInfo> {
    state.genesis().map(|g| TokenInfo {
        symbol: g.symbol.clone(),
        decimals: token::DECIMALS,
    })
}

/// `summary` with the tracker's live swarm counts.
pub(crate) fn with_swarm(shared: &Shared, mut s: TorrentSummary) -> TorrentSummary {
    if let Some(c) = shared.tracker.counts(s.id) {
        s.seeders = c.seeders;
        s.leechers = c.leechers;
        s.snatches = s.snatches.max(c.snatches);
    }
    s
}

/// Every torrent in the index, newest first.
pub(crate) async fn all_torrents(shared: &Arc<Shared>) -> Result<Vec<TorrentSummary>, ApiError> {
    Ok(shared.with_store(false, |s| s.all_torrents()).await?)
}

/// A torrent's market entry, if the ledger prices it.
pub(crate) fn market_entry(state: &LedgerState, t: &TorrentSummary) -> Option<MarketEntry> {
    let key = t.ledger_id()?;
    let (terms, m) = (state.torrent(&key)?, state.market(&key)?);
    let (pool, pool_per_epoch) = state.pool(&key);
    Some(MarketEntry {
        id: t.id,
        name: t.name.clone(),
        category: t.category.clone(),
        size: t.size,
        torrent: hex::encode(key),
        weight_wad: Amount(m.weight_wad),
        price_per_byte: terms.price_per_byte,
        replicas_milli: m.replicas_milli,
        target_replicas: state.genesis().map_or(0, |g| g.economy.target_replicas),
        saturation_wad: Amount(m.saturation_wad),
        pool,
        pool_per_epoch,
    })
}

/// Runs `f` on the audit store off the async threads; `None` without a ledger.
async fn audit_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&crate::auditor::store::AuditStore) -> Result<T, crate::StoreError> + Send + 'static,
) -> Result<Option<T>, ApiError> {
    let Some(auditor) = shared.auditor.clone() else {
        return Ok(None);
    };
    Ok(Some(blocking(move || f(&auditor.store())).await?))
}

/// The last close, if any.
async fn last_close(shared: &Arc<Shared>) -> Result<Option<CloseSummary>, ApiError> {
    Ok(audit_store(shared, |s| s.close(None)).await?.flatten())
}

/// Member names of ledger accounts, for labelling nodes.
async fn names_of(
    shared: &Arc<Shared>,
    accounts: Vec<Address>,
) -> Result<HashMap<Address, String>, ApiError> {
    Ok(shared
        .with_store(false, move |s| {
            let mut names = HashMap::new();
            for a in accounts {
                if let Some(m) = s.member_by_account(&a.0)? {
                    names.insert(a, m.name);
                }
            }
            Ok(names)
        })
        .await?)
}

fn standing_of(state: &LedgerState, node: &Address, now: u64) -> Option<Standing> {
    let host = state.host(node)?;
    let genesis = state.genesis()?;
    let score = host.reputation.score_ppb();
    let location = state
        .report_in_force(node, genesis.epoch_at(now) + 2)
        .map(|(_, r)| r.location)
        .filter(|l| !l.is_empty());
    // Fixed words, not enum names: the API must not change when a Rust type is renamed.
    let standing = if host.disqualified {
        "disqualified"
    } else if host.frozen {
        "frozen"
    } else {
        match genesis.reputation.standing(score) {
            economics::reputation::Standing::Good => "good",
            economics::reputation::Standing::Suspended => "suspended",
            economics::reputation::Standing::Disqualified => "disqualified",
        }
    }
    .to_owned();
    Some(Standing {
        reputation_ppb: score,
        standing,
        last_audited_epoch: host.last_epoch,
        location,
    })
}

pub(crate) async fn overview(shared: &Arc<Shared>) -> Result<Overview, ApiError> {
    let members = shared.with_store(false, |s| s.counts()).await?.0;
    // One read of the index serves the counts, the swarm totals, the newest and the market.
    let indexed: Vec<TorrentSummary> = all_torrents(shared)
        .await?
        .into_iter()
        .map(|t| with_swarm(shared, t))
        .collect();
    let mut o = Overview {
        name: "seedbank".into(),
        token: None,
        members,
        torrents: indexed.len() as u64,
        indexed_bytes: indexed
            .iter()
            .fold(0u64, |sum, t| sum.saturating_add(t.size)),
        peers: shared.tracker.peer_count() as u64,
        seeders: indexed.iter().map(|t| u64::from(t.seeders)).sum(),
        leechers: indexed.iter().map(|t| u64::from(t.leechers)).sum(),
        epoch: None,
        closed_epoch: None,
        supply: None,
        torrents_at_target: 0,
        payable_torrents: 0,
        recent: indexed.iter().take(HOME_LIST).cloned().collect(),
        hot: Vec::new(),
    };
    let Some(ledger) = shared.ledger.clone() else {
        return Ok(o);
    };
    let state = ledger.state();
    let Some(genesis) = state.genesis() else {
        return Ok(o);
    };
    let now = crate::unix_now();
    let epoch = genesis.epoch_at(now);
    o.name = genesis.name.clone();
    o.token = token_info(&state);
    o.epoch = Some(EpochClock {
        epoch,
        start: genesis.epoch_start(epoch),
        end: genesis.epoch_start(epoch + 1),
    });
    o.closed_epoch = state.economy().last_closed;
    o.supply = Some(supply_view(&state.supply()));
    let mut market: Vec<MarketEntry> = indexed
        .iter()
        .filter_map(|t| market_entry(&state, t))
        .collect();
    o.payable_torrents = market.len() as u64;
    o.torrents_at_target = market
        .iter()
        .filter(|m| m.replicas_milli >= u64::from(m.target_replicas) * 1000)
        .count() as u64;
    market.sort_by(|a, b| {
        b.saturation_wad
            .cmp(&a.saturation_wad)
            .then(b.price_per_byte.cmp(&a.price_per_byte))
    });
    market.truncate(HOME_LIST);
    o.hot = market;
    Ok(o)
}

pub(crate) async fn categories(shared: &Arc<Shared>) -> Result<Vec<CategoryCount>, ApiError> {
    Ok(shared.with_store(false, |s| s.categories()).await?)
}

pub(crate) async fn torrent_market(
    shared: &Arc<Shared>,
    summary: &TorrentSummary,
) -> Result<TorrentMarket, ApiError> {
    let mut view = TorrentMarket {
        id: summary.id,
        market: None,
        price_per_gib: None,
        holders: Vec::new(),
        history: Vec::new(),
    };
    let (Some(ledger), Some(key)) = (shared.ledger.clone(), summary.ledger_id()) else {
        return Ok(view);
    };
    view.market = market_entry(&ledger.state(), summary);
    view.price_per_gib = view
        .market
        .as_ref()
        .and_then(|m| m.price_per_byte.checked_mul(GIB));
    view.history = audit_store(shared, move |s| s.torrent_history(&key, HISTORY_EPOCHS))
        .await?
        .unwrap_or_default();
    if let Some(last) = last_close(shared).await? {
        let mut holders: Vec<ReplicaHolder> = last
            .hosts
            .iter()
            .filter_map(|h| {
                let r = h.replicas.iter().find(|r| r.torrent == key)?;
                Some(ReplicaHolder {
                    node: h.node,
                    member: None,
                    verified_bytes: r.verified_bytes,
                    claimed_bytes: r.claimed_bytes,
                })
            })
            .collect();
        let names = names_of(shared, holders.iter().map(|h| h.node).collect()).await?;
        for h in &mut holders {
            h.member = names.get(&h.node).cloned();
        }
        holders.sort_by_key(|h| std::cmp::Reverse(h.verified_bytes));
        view.holders = holders;
    }
    Ok(view)
}

pub(crate) async fn profile(shared: &Arc<Shared>, name: String) -> Result<Profile, ApiError> {
    let lookup = name.clone();
    let (stats, account) = shared
        .with_store(false, move |s| {
            Ok((s.member_stats(&lookup)?, s.account_of(&lookup)?.flatten()))
        })
        .await?;
    let stats = stats.ok_or_else(|| ApiError::not_found(format!("no member named {name:?}")))?;
    let mut p = Profile::without_account(name, stats);
    let (Some(ledger), Some(address)) = (shared.ledger.clone(), account.map(Address)) else {
        return Ok(p);
    };
    let (last_closed, epoch_secs);
    {
        let state = ledger.state();
        let a = state.account(&address);
        let vesting_secs = state.genesis().map_or(0, |g| g.economy.vesting_secs());
        p.address = Some(address);
        p.balance = a.balance;
        p.stake = a.stake;
        p.lock_until = a.lock_until;
        p.vesting = a.vesting;
        let economy = state.economy();
        p.grants = economy
            .grants
            .get(&address)
            .map(|grants| {
                grants
                    .iter()
                    .map(|g| GrantView {
                        start: g.start,
                        end: g.start.saturating_add(vesting_secs),
                        amount: g.amount,
                        released: g.released,
                    })
                    .collect()
            })
            .unwrap_or_default();
        p.earned = economy
            .earned
            .get(&address)
            .copied()
            .unwrap_or(Amount::ZERO);
        p.node = standing_of(&state, &address, crate::unix_now());
        last_closed = economy.last_closed;
        epoch_secs = state.genesis().map_or(1, |g| g.epoch_secs);
    }
    let paid = audit_store(shared, move |s| {
        s.earnings_history(&address, HISTORY_EPOCHS)
    })
    .await?
    .unwrap_or_default();
    p.earnings = with_gaps(paid, last_closed, epoch_secs);
    Ok(p)
}

/// Every closed epoch from the first that paid to the last close (at most [`HISTORY_EPOCHS`]),
/// zeros where nothing was paid, so a chart's epochs are evenly spaced.
fn with_gaps(
    paid: Vec<EarningEpoch>,
    last_closed: Option<u64>,
    epoch_secs: u64,
) -> Vec<EarningEpoch> {
    let (Some(first), Some(last)) = (paid.first().map(|e| e.epoch), last_closed) else {
        return paid;
    };
    let first = first.max(last.saturating_sub(u64::from(HISTORY_EPOCHS) - 1));
    let mut paid = paid.into_iter().peekable();
    let mut out = Vec::new();
    for epoch in first..=last {
        while paid.peek().is_some_and(|e| e.epoch < epoch) {
            paid.next();
        }
        match paid.next_if(|e| e.epoch == epoch) {
            Some(e) => out.push(e),
            None => out.push(EarningEpoch {
                epoch,
                // Closes come right after their epoch ends.
                time: epoch.saturating_add(1).saturating_mul(epoch_secs),
                hosting: Amount::ZERO,
                sponsored: Amount::ZERO,
                fees: Amount::ZERO,
                verified_bytes: 0,
            }),
        }
    }
    out
}

pub(crate) async fn node_board(shared: &Arc<Shared>) -> Result<NodeBoard, ApiError> {
    let ledger = ledger_of(shared)?;
    let last = last_close(shared).await?;
    let now = crate::unix_now();
    let mut rows = {
        let state = ledger.state();
        let epoch = state.genesis().map_or(0, |g| g.epoch_at(now));
        let earned = &state.economy().earned;
        state
            .hosts()
            .into_iter()
            .filter_map(|(address, _)| {
                let standing = standing_of(&state, &address, now)?;
                let hosted = last
                    .as_ref()
                    .and_then(|c| c.hosts.iter().find(|h| h.node == address));
                Some(NodeRow {
                    address,
                    member: None,
                    verified_bytes: hosted.map_or(0, |h| h.verified_bytes),
                    claimed_bytes: state
                        .report_in_force(&address, epoch + 2)
                        .map_or(0, |(_, r)| r.claimed_bytes),
                    standing,
                    last_reward: hosted
                        .and_then(|h| h.reward.checked_add(h.sponsored))
                        .unwrap_or(Amount::ZERO),
                    earned: earned.get(&address).copied().unwrap_or(Amount::ZERO),
                })
            })
            .collect::<Vec<_>>()
    };
    let names = names_of(shared, rows.iter().map(|r| r.address).collect()).await?;
    for r in &mut rows {
        r.member = names.get(&r.address).cloned();
    }
    rows.sort_by(|a, b| {
        (b.verified_bytes, b.earned, b.standing.reputation_ppb).cmp(&(
            a.verified_bytes,
            a.earned,
            a.standing.reputation_ppb,
        ))
    });
    Ok(NodeBoard {
        closed_epoch: last.map(|c| c.epoch),
        nodes: rows,
    })
}

pub(crate) async fn economy(shared: &Arc<Shared>) -> Result<EconomyView, ApiError> {
    let ledger = ledger_of(shared)?;
    let epochs = audit_store(shared, |s| s.economy_history(HISTORY_EPOCHS))
        .await?
        .unwrap_or_default();
    let state = ledger.state();
    let genesis = state
        .genesis()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_genesis", "the ledger is empty"))?;
    let supply = supply_view(&state.supply());
    let staked_bps =
        u32::try_from(site::format::ratio_bps(supply.staked.0, supply.total.0)).unwrap_or(u32::MAX);
    // The last close's fees to stakers, as a yearly rate on what is staked.
    let staker_yield_bps = epochs.last().and_then(|c| {
        let per_year = c
            .fees_paid
            .0
            .checked_mul(YEAR_SECS / u128::from(genesis.epoch_secs.max(1)))?;
        (supply.staked.0 > 0).then(|| {
            u64::try_from(per_year.saturating_mul(10_000) / supply.staked.0).unwrap_or(u64::MAX)
        })
    });
    Ok(EconomyView {
        token: TokenInfo {
            symbol: genesis.symbol.clone(),
            decimals: token::DECIMALS,
        },
        staked_bps,
        staker_yield_bps,
        inflation_bps: genesis.economy.inflation_bps,
        epoch_secs: genesis.epoch_secs,
        min_stake: state.join_stake(),
        price_per_gib: genesis.price_per_gib,
        epochs,
        supply,
    })
}

// ---- the JSON routes ----

pub(crate) async fn get_overview(State(shared): S) -> ApiResult<Overview> {
    Ok(axum::Json(overview(&shared).await?))
}

pub(crate) async fn get_categories(State(shared): S) -> ApiResult<Vec<CategoryCount>> {
    Ok(axum::Json(categories(&shared).await?))
}

/// The indexed torrent `id` with its files and swarm totals, as `GET /api/v1/torrents/{id}` and its
/// page show it.
pub(crate) async fn torrent_detail(
    shared: &Arc<Shared>,
    id: u32,
) -> Result<hubapi::TorrentDetail, ApiError> {
    let (summary, files, uploaded, downloaded) = shared
        .with_store(false, move |s| s.torrent(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no torrent {id}")))?;
    Ok(hubapi::TorrentDetail {
        summary: with_swarm(shared, summary),
        files,
        uploaded,
        downloaded,
        balance: crate::store::to_i64(uploaded).saturating_sub(crate::store::to_i64(downloaded)),
    })
}

/// The indexed torrent `id`, with live swarm counts.
pub(crate) async fn indexed(shared: &Arc<Shared>, id: u32) -> Result<TorrentSummary, ApiError> {
    let found = shared.with_store(false, move |s| s.torrent(id)).await?;
    let (summary, ..) = found.ok_or_else(|| ApiError::not_found(format!("no torrent {id}")))?;
    Ok(with_swarm(shared, summary))
}

pub(crate) async fn get_torrent_market(
    State(shared): S,
    id: Result<Path<u32>, PathRejection>,
) -> ApiResult<TorrentMarket> {
    let Path(id) = id?;
    let summary = indexed(&shared, id).await?;
    Ok(axum::Json(torrent_market(&shared, &summary).await?))
}

pub(crate) async fn get_profile(
    State(shared): S,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult<Profile> {
    let Path(name) = name?;
    Ok(axum::Json(profile(&shared, name).await?))
}

pub(crate) async fn get_nodes(State(shared): S) -> ApiResult<NodeBoard> {
    Ok(axum::Json(node_board(&shared).await?))
}

pub(crate) async fn get_economy(State(shared): S) -> ApiResult<EconomyView> {
    Ok(axum::Json(economy(&shared).await?))
}
