use hubapi::views::{GrantView, Profile, SessionView, Standing};
use maud::{Markup, html};

use crate::Ctx;
use crate::chart::{Bars, Line};
use crate::format;
use crate::layout::{self, Nav, Tone, card, meter};

/// A member's page. `own` is the viewer's session when the viewer is this member: only then does
/// the page show the passkey.
pub fn member(ctx: &Ctx, profile: &Profile, own: Option<&SessionView>) -> String {
    // The hub should pass `own` only on the member's own page; checking the name too means a
    // mistake there shows nobody's passkey rather than the viewer's on someone else's page.
    let own = own.filter(|s| s.name == profile.name);
    let stats = &profile.stats;
    let ledger = ctx.token.is_some() && profile.address.is_some();
    let body = html! {
        div.page-head {
            div {
                h1 {
                    (profile.name)
                    @if stats.suspended { " " span.badge.suspended { "suspended" } }
                    @if let Some(node) = &profile.node { " " (layout::standing_badge(&node.standing)) }
                }
                div.meta {
                    span { "member since " (format::short_date(stats.created_at)) }
                    @if let Some(a) = &profile.address {
                        span.hash title="Ledger account" { (a.to_checksum()) }
                    }
                }
            }
        }
        @if let Some(own) = own {
            (passkey_box(own))
        }
        @if ledger {
            section.cards aria-label="Account" {
                (card("Balance", layout::tokens_compact(ctx, profile.balance), Some(html! { "liquid" })))
                (card("Staked", layout::tokens_compact(ctx, profile.stake), Some(lock(ctx, profile))))
                (card("Vesting", layout::tokens_compact(ctx, profile.vesting),
                    Some(html! { (profile.grants.len()) @if profile.grants.len() == 1 { " grant" } @else { " grants" } })))
                (card("Earned", layout::tokens_compact(ctx, profile.earned), Some(html! { "in all, as of the last close" })))
            }
        }
        section.cards.section aria-label="Ratio" {
            (card("Uploaded", html! { (format::bytes(stats.uploaded)) }, None))
            (card("Downloaded", html! { (format::bytes(stats.downloaded)) }, None))
            (card("Ratio", html! { (format::ratio(stats.ratio, stats.uploaded)) }, None))
            (card("Snatches", html! { (format::count(stats.snatches)) }, Some(html! { "torrents completed" })))
            (card("Seeding time", html! { (format::duration(stats.seed_secs)) }, None))
        }
        @if ledger {
            div.charts.section {
                (layout::chart_panel("Vesting schedule", Some("Tokens vested from the grants still running; each vests linearly."), vesting_chart(ctx, &profile.grants)))
                (layout::chart_panel("Earnings per epoch", Some("Hosting rewards, sponsored pools and staker fees at each close."), earnings_chart(ctx, profile)))
            }
        }
        div.grid-2.section {
            (node_panel(&profile.node))
            @if ledger && !profile.grants.is_empty() {
                (grants_table(ctx, &profile.grants))
            }
        }
    };
    layout::page(ctx, &profile.name, Nav::None, body)
}

fn passkey_box(own: &SessionView) -> Markup {
    html! {
        section.panel.secret.section aria-label="Your passkey" {
            h2 { "Your passkey" }
            p.small {
                "Only you see this. The passkey is secret: anyone who has it can announce as you, and what they download counts against your ratio. "
                "Never post a .torrent or announce URL that contains it."
            }
            div.field {
                label for="passkey" { "Passkey" }
                div.value {
                    code #passkey { (own.passkey) }
                    button.btn.btn-sm type="button" data-copy="#passkey" hidden { "Copy" }
                }
            }
            div.field {
                label for="announce-url" { "Announce URL" }
                div.value {
                    code #announce-url { (own.announce_url) }
                    button.btn.btn-sm type="button" data-copy="#announce-url" hidden { "Copy" }
                }
            }
        }
    }
}

fn lock(ctx: &Ctx, p: &Profile) -> Markup {
    if p.stake.0 == 0 {
        html! { "nothing staked" }
    } else if p.lock_until > ctx.now {
        html! { "locked until " (layout::date(p.lock_until)) }
    } else {
        html! { "not locked" }
    }
}

/// Tokens of `grants` vested at `t`; each grant vests linearly from its start to its end.
pub(super) fn vested_at(grants: &[GrantView], t: u64) -> f64 {
    grants
        .iter()
        .map(|g| {
            let amount = format::to_tokens(g.amount);
            if t >= g.end {
                amount
            } else if t <= g.start {
                0.0
            } else {
                amount * (t - g.start) as f64 / (g.end - g.start) as f64
            }
        })
        .sum()
}

/// [`vested_at`] for one grant, exactly, for the table.
fn vested_amount(g: &GrantView, t: u64) -> token::Amount {
    if t >= g.end {
        g.amount
    } else if t <= g.start {
        token::Amount::ZERO
    } else {
        let (done, span) = (u128::from(t - g.start), u128::from(g.end - g.start));
        // amount × done overflows only past ~10^20 tokens; then divide first and lose dust.
        g.amount
            .mul_div(done, span)
            .unwrap_or(token::Amount(g.amount.0 / span * done))
    }
}

fn vesting_chart(ctx: &Ctx, grants: &[GrantView]) -> String {
    let symbol = layout::symbol(ctx);
    let chart = Line::new(
        "Vesting schedule",
        |t| format::short_date(t.max(0.0) as u64),
        format::compact,
    )
    .empty("Nothing vesting");
    let Some(last_end) = grants.iter().map(|g| g.end).max() else {
        return chart.render();
    };
    // The sum of linear pieces is linear between grant starts and ends: those points (and now)
    // draw it exactly.
    let first = grants
        .iter()
        .map(|g| g.start)
        .min()
        .unwrap_or(ctx.now)
        .min(ctx.now);
    let mut times: Vec<u64> = grants
        .iter()
        .flat_map(|g| [g.start, g.end])
        .chain([ctx.now, first, last_end])
        .filter(|t| (first..=last_end).contains(t))
        .collect();
    times.sort_unstable();
    times.dedup();
    let points = times
        .iter()
        .map(|&t| (t as f64, vested_at(grants, t)))
        .collect();
    chart
        .series(&format!("vested {symbol}"), points)
        .marker("today", ctx.now as f64)
        .area()
        .render()
}

fn earnings_chart(ctx: &Ctx, p: &Profile) -> String {
    let symbol = layout::symbol(ctx);
    let e = &p.earnings;
    let layer = |f: fn(&hubapi::views::EarningEpoch) -> token::Amount| {
        e.iter()
            .map(|x| format::to_tokens(f(x)))
            .collect::<Vec<_>>()
    };
    Bars::new(
        &format!("Earnings per epoch ({symbol})"),
        e.iter().map(|x| x.epoch.to_string()).collect(),
        format::compact,
    )
    .layer("hosting", layer(|x| x.hosting))
    .layer("sponsored", layer(|x| x.sponsored))
    .layer("fees", layer(|x| x.fees))
    .empty("No earnings yet")
    .render()
}

fn node_panel(node: &Option<Standing>) -> Markup {
    html! {
        section.panel {
            h2 { "Node" }
            @match node {
                None => p.muted { "Runs no audited node." },
                Some(n) => {
                    @let rep = f64::from(n.reputation_ppb) / 1e9;
                    dl.kv {
                        dt { "Standing" }
                        dd { (layout::standing_badge(&n.standing)) }
                        dt { "Reputation" }
                        dd {
                            strong { (format::ppb_pct(n.reputation_ppb)) }
                            (meter(rep, if rep >= 0.95 { Tone::Good } else if rep >= 0.6 { Tone::Warn } else { Tone::Bad }, "audit reputation"))
                        }
                        dt { "Last audited" }
                        dd { @match n.last_audited_epoch { Some(e) => { "epoch " (e) }, None => span.muted { "not yet" } } }
                        dt { "Location" }
                        dd { @match &n.location { Some(l) => (l), None => span.muted { "not given" } } }
                    }
                }
            }
        }
    }
}

fn grants_table(ctx: &Ctx, grants: &[GrantView]) -> Markup {
    html! {
        section.panel.flush {
            div.section-head { h2 { "Grants" } }
            div.table-wrap {
                table {
                    thead { tr { th { "From" } th { "To" } th.num { "Amount" } th.num { "Vested" } th.num { "Released" } } }
                    tbody {
                        @for g in grants {
                            tr {
                                td { (layout::date(g.start)) }
                                td { (layout::date(g.end)) }
                                td.num { (layout::tokens(ctx, g.amount)) }
                                td.num { (layout::tokens(ctx, vested_amount(g, ctx.now))) }
                                td.num { (layout::tokens(ctx, g.released)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
