use hubapi::views::{EconomyEpoch, EconomyView};
use maud::{Markup, PreEscaped, html};
use token::Amount;

use crate::Ctx;
use crate::chart::{self, Bars, Line};
use crate::format;
use crate::layout::{self, Nav, card};

/// Epochs in the table; the charts show them all.
const TABLE_EPOCHS: usize = 12;

/// The token's supply and what each closed epoch did.
pub fn economy(ctx: &Ctx, e: &EconomyView) -> String {
    // The view carries its own token, so the page reads right even if the context has none.
    let ctx = &Ctx {
        token: Some(&e.token),
        ..*ctx
    };
    let s = &e.supply;
    let symbol = e.token.symbol.as_str();
    let t = |a: Amount| layout::tokens_compact(ctx, a);
    let body = html! {
        div.page-head {
            div {
                h1 { "Economy" }
                p.lead {
                    "Where every " (symbol) " is, and what each epoch minted and paid. Epochs last "
                    (format::duration(e.epoch_secs)) "; each close mints rewards for verified hosting, pays sponsored pools and "
                    "hands download fees to stakers."
                }
            }
        }
        section.cards {
            (card("Total supply", t(s.total), Some(html! { "minted − burned" })))
            (card("Minted", t(s.minted), Some(html! { "since genesis" })))
            (card("Burned", t(s.burned), Some(html! { "penalties and fees" })))
            (card("Staked", t(s.staked), Some(html! { (format::bps(u64::from(e.staked_bps))) " of the supply" })))
            (card("Vesting", t(s.vesting), Some(html! { "earned, not yet liquid" })))
            (card("Staker yield", html! {
                @match e.staker_yield_bps { Some(y) => (format::bps(y)), None => "–" }
            }, Some(html! { "annualised, from the last close" })))
            (card("Inflation cap", html! { (format::bps(u64::from(e.inflation_bps))) }, Some(html! { "per year at most" })))
            (card("Min stake", t(e.min_stake), Some(html! { "to join" })))
            (card("Price per GiB", layout::tokens(ctx, e.price_per_gib), Some(html! { "download, collective-wide" })))
        }
        (supply_panel(symbol, s))
        (charts(symbol, &e.epochs))
        (table(ctx, e))
    };
    layout::page(ctx, "Economy", Nav::Economy, body)
}

fn supply_panel(symbol: &str, s: &hubapi::views::SupplyView) -> Markup {
    let parts = [
        ("balances", s.balances),
        ("staked", s.staked),
        ("vesting", s.vesting),
        ("stakers' pool", s.stakers_pool),
        ("sponsored and reward pools", s.pools),
    ];
    let values: Vec<(String, f64)> = parts
        .iter()
        .map(|(name, a)| (name.to_string(), format::to_tokens(*a)))
        .collect();
    html! {
        section.panel.section {
            h2 { "Where the supply is" }
            (PreEscaped(chart::share_bar("Where the supply is", &values, |v| format!("{} {symbol}", format::compact(v)))))
            ul.plain.legend {
                @for (i, (name, a)) in parts.iter().enumerate() {
                    li {
                        svg.swatch viewBox="0 0 10 10" aria-hidden="true" { rect width="10" height="10" rx="2" fill=(chart::PALETTE[i % chart::PALETTE.len()]) {} }
                        span.muted { (name) }
                        " "
                        strong { (format::tokens_compact(*a, symbol)) }
                        " "
                        span.muted.small { (format::bps(format::ratio_bps(a.0, s.total.0))) }
                    }
                }
            }
        }
    }
}

fn charts(symbol: &str, epochs: &[EconomyEpoch]) -> Markup {
    let x = |v: f64| format!("{v:.0}");
    let at = |e: &EconomyEpoch| e.epoch as f64;
    let labels: Vec<String> = epochs.iter().map(|e| e.epoch.to_string()).collect();
    let tokens = |f: fn(&EconomyEpoch) -> Amount| {
        epochs
            .iter()
            .map(|e| format::to_tokens(f(e)))
            .collect::<Vec<_>>()
    };
    let with_supply: Vec<_> = epochs
        .iter()
        .filter_map(|e| e.supply.as_ref().map(|s| (at(e), s)))
        .collect();
    let supply = Line::new(&format!("Supply and stake ({symbol})"), x, format::compact)
        .series(
            "total supply",
            with_supply
                .iter()
                .map(|(x, s)| (*x, format::to_tokens(s.total)))
                .collect(),
        )
        .series(
            "staked",
            with_supply
                .iter()
                .map(|(x, s)| (*x, format::to_tokens(s.staked)))
                .collect(),
        )
        .integers()
        .empty(if epochs.is_empty() {
            "No closed epochs yet"
        } else {
            "No supply recorded at these closes"
        })
        .render();
    let minted = Bars::new(
        &format!("Minted per epoch ({symbol})"),
        labels.clone(),
        format::compact,
    )
    .layer("minted", tokens(|e| e.minted))
    .render();
    let paid = Bars::new(
        &format!("Paid per epoch ({symbol})"),
        labels,
        format::compact,
    )
    .layer("hosting", tokens(|e| e.hosting_paid))
    .layer("sponsored", tokens(|e| e.sponsored_paid))
    .layer("fees", tokens(|e| e.fees_paid))
    .render();
    let max = epochs.iter().map(|e| e.verified_bytes).max().unwrap_or(0) as f64;
    let (scale, unit) = layout::byte_unit(max);
    let verified = Line::new("Verified bytes per epoch", x, move |v| {
        format!("{} {unit}", format::compact(v))
    })
    .series(
        "verified",
        epochs
            .iter()
            .map(|e| (at(e), e.verified_bytes as f64 / scale))
            .collect(),
    )
    .integers()
    .area()
    .render();
    html! {
        div.charts.section {
            (layout::chart_panel("Supply and stake", Some("Every token that exists, and how much of it is staked, after each close."), supply))
            (layout::chart_panel("Minted", Some("Inflation minted for verified hosting at each close."), minted))
            (layout::chart_panel("Paid out", Some("Hosting rewards, sponsored pools and staker fees at each close."), paid))
            (layout::chart_panel("Verified hosting", Some("Bytes the audits verified at each close, over all nodes."), verified))
        }
    }
}

fn table(ctx: &Ctx, e: &EconomyView) -> Markup {
    let t = |a: Amount| layout::tokens(ctx, a);
    html! {
        section.panel.flush.section {
            div.section-head {
                h2 { "Latest epochs" }
                span.muted.small {
                    @if e.epochs.len() > TABLE_EPOCHS { "the last " (TABLE_EPOCHS) " of " (e.epochs.len()) }
                }
            }
            @if e.epochs.is_empty() {
                p.empty { "No closed epochs yet: the first close comes " (format::duration(e.epoch_secs)) " after genesis." }
            } @else {
                div.table-wrap {
                    table #epochs {
                        thead {
                            tr {
                                th { "Epoch" }
                                th { "Closed" }
                                th.num { "Minted" }
                                th.num { "Hosting" }
                                th.num { "Sponsored" }
                                th.num { "Fees" }
                                th.num { "Released" }
                                th.num { "Verified" }
                                th.num { "Hosts paid" }
                            }
                        }
                        tbody {
                            @for ep in e.epochs.iter().rev().take(TABLE_EPOCHS) {
                                tr {
                                    td { strong { (ep.epoch) } }
                                    td.muted { (layout::ago(ctx, ep.time)) }
                                    td.num { (t(ep.minted)) }
                                    td.num { (t(ep.hosting_paid)) }
                                    td.num { (t(ep.sponsored_paid)) }
                                    td.num { (t(ep.fees_paid)) }
                                    td.num { (t(ep.released)) }
                                    td.num { (format::bytes(ep.verified_bytes)) }
                                    td.num { (ep.hosts_paid) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
