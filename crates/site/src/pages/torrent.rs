use hubapi::TorrentDetail;
use hubapi::views::TorrentMarket;
use maud::{Markup, html};

use crate::Ctx;
use crate::chart::{Bars, Line};
use crate::format;
use crate::layout::{self, Nav, Tone, card, meter};

/// More rows than this make the page heavy for little use; the .torrent has the full list.
const MAX_FILES: usize = 1000;

/// One torrent: what it is, how to get it, and what its market says.
pub fn torrent(ctx: &Ctx, detail: &TorrentDetail, market: &TorrentMarket) -> String {
    let t = &detail.summary;
    let body = html! {
        div.crumbs {
            a href="/torrents" { "Browse" } " › "
            a href=(format!("/torrents?category={}", layout::query_escape(&t.category))) { (t.category) }
        }
        div.page-head {
            div {
                h1 { (t.name) }
                div.meta {
                    span { a.pill href=(format!("/torrents?category={}", layout::query_escape(&t.category))) { (t.category) } }
                    span { "uploaded by " (layout::member_link(&t.uploader)) " " (layout::ago(ctx, t.created_at)) }
                    span { (format::bytes(t.size)) " in " (format::count(u64::from(t.file_count))) @if t.file_count == 1 { " file" } @else { " files" } }
                }
            }
            @if ctx.viewer.is_some() {
                a #download.btn.btn-primary.btn-lg href=(format!("/torrents/{}/download", t.id)) download rel="nofollow" {
                    "↓ Download .torrent"
                }
            } @else {
                a #download.btn.btn-lg href="/signin" { "Sign in to download" }
            }
        }
        @if !t.description.is_empty() {
            p.description { (t.description) }
        }
        section.cards.section {
            (card("Size", html! { (format::bytes(t.size)) }, Some(html! { (format::count(t.size)) " bytes" })))
            (card("Seeders", html! { span.seed { (format::count(u64::from(t.seeders))) } }, Some(html! { "complete copies online" })))
            (card("Leechers", html! { (format::count(u64::from(t.leechers))) }, Some(html! { "downloading now" })))
            (card("Snatches", html! { (format::count(t.snatches)) }, Some(html! { "members completed it" })))
        }
        div.split.section {
            div.stack {
                section.panel {
                    h2 { "Details" }
                    dl.kv {
                        dt { "Info hash v1" }
                        dd.hash { @match &t.info_hash_v1 { Some(h) => (h), None => span.muted { "none (v2 only)" } } }
                        dt { "Info hash v2" }
                        dd.hash { @match &t.info_hash_v2 { Some(h) => (h), None => span.muted { "none (v1 only)" } } }
                        dt { "Piece length" }
                        dd { (format::bytes(t.piece_length)) }
                        dt { "Added" }
                        dd { (format::datetime(t.created_at)) }
                        dt { "Transferred" }
                        dd { (format::bytes(detail.uploaded)) " up · " (format::bytes(detail.downloaded)) " down, as members reported" }
                    }
                }
                (holders(t.size, market))
            }
            (market_box(ctx, t.size, market))
        }
        @if ctx.token.is_some() && market.market.is_some() {
            (charts(ctx, market))
        }
        div.section {
            (files(detail))
        }
    };
    layout::page(ctx, &t.name, Nav::Browse, body)
}

fn market_box(ctx: &Ctx, size: u64, market: &TorrentMarket) -> Markup {
    let (Some(_), Some(m)) = (ctx.token, &market.market) else {
        return html! {
            aside.panel {
                h2 { "Market" }
                p.muted { "This torrent is not payable: it is shared for ratio only." }
            }
        };
    };
    let price = market
        .price_per_gib
        .unwrap_or_else(|| layout::per_gib(m.price_per_byte));
    let target_milli = u64::from(m.target_replicas) * 1000;
    let replicas_frac = if target_milli == 0 {
        1.0
    } else {
        m.replicas_milli as f64 / target_milli as f64
    };
    let sat = format::wad_f64(m.saturation_wad);
    // What the whole torrent costs at today's price.
    let whole = token::Amount(m.price_per_byte.0.saturating_mul(u128::from(size)));
    html! {
        aside.panel.market {
            h2 { "Market" }
            p.panel-note { "In force this epoch, set at the last close." }
            div.card-label { "Price per GiB" }
            div.card-value { (layout::tokens(ctx, price)) }
            p.muted.small { "The whole torrent: " (format::tokens(whole, layout::symbol(ctx))) }
            hr;
            dl.kv {
                dt { "Replicas" }
                dd {
                    strong { (format::replicas(m.replicas_milli)) } " of " (m.target_replicas) " wanted"
                    (meter(replicas_frac, if replicas_frac >= 1.0 { Tone::Good } else { Tone::Warn }, "verified replicas of the target"))
                }
                dt title="Demand over hosting capacity, measured at the last close" { "Saturation" }
                dd {
                    strong { (format::wad_pct(m.saturation_wad)) } span.muted.small { " of capacity" }
                    (meter(sat, if sat >= 1.0 { Tone::Bad } else if sat >= 0.75 { Tone::Warn } else { Tone::Accent }, "saturation"))
                }
                dt { "Hosting weight" }
                dd { "×" (format::wad(m.weight_wad)) }
                dt { "Sponsored pool" }
                dd {
                    (layout::tokens(ctx, m.pool))
                    @if m.pool_per_epoch.0 > 0 {
                        div.muted.small { "pays " (format::tokens(m.pool_per_epoch, layout::symbol(ctx))) " per epoch" }
                    }
                }
            }
        }
    }
}

fn charts(ctx: &Ctx, market: &TorrentMarket) -> Markup {
    let h = &market.history;
    let epoch = |e: u64| e as f64;
    let price: Vec<(f64, f64)> = h
        .iter()
        .map(|e| {
            (
                epoch(e.epoch),
                format::to_tokens(layout::per_gib(e.price_per_byte)),
            )
        })
        .collect();
    let saturation: Vec<(f64, f64)> = h
        .iter()
        .map(|e| (epoch(e.epoch), format::wad_f64(e.saturation_wad) * 100.0))
        .collect();
    let replicas: Vec<(f64, f64)> = h
        .iter()
        .map(|e| (epoch(e.epoch), e.replicas_milli as f64 / 1000.0))
        .collect();
    let target = market.market.as_ref().map(|m| f64::from(m.target_replicas));
    let symbol = layout::symbol(ctx);
    let x = |v: f64| format!("{v:.0}");
    let price_chart = Line::new("Price per GiB by epoch", x, format::compact)
        .series(&format!("{symbol} per GiB"), price)
        .integers()
        .area()
        .render();
    let sat_chart = Line::new("Saturation by epoch", x, |v| {
        format!("{} %", format::compact(v))
    })
    .series("saturation", saturation)
    .reference("full", 100.0)
    .integers()
    .render();
    let mut rep = Line::new("Verified replicas by epoch", x, format::compact)
        .series("replicas", replicas)
        .integers();
    if let Some(t) = target {
        rep = rep.reference("target", t);
    }
    let pool: Vec<f64> = h.iter().map(|e| format::to_tokens(e.pool_paid)).collect();
    let sponsored = pool.iter().any(|v| *v > 0.0);
    html! {
        section.section {
            div.charts {
                (layout::chart_panel("Price per GiB", Some("Download price set at each close."), price_chart))
                (layout::chart_panel("Saturation", Some("Demand over hosting capacity; above 100 % prices rise."), sat_chart))
                (layout::chart_panel("Replicas", Some("Verified copies at each close, against the target."), rep.render()))
                @if sponsored {
                    (layout::chart_panel(
                        "Sponsored payouts",
                        Some("Paid from the sponsored pool at each close."),
                        Bars::new("Sponsored payouts by epoch", h.iter().map(|e| e.epoch.to_string()).collect(), format::compact)
                            .layer(&format!("{symbol} paid"), pool)
                            .render()
                    ))
                }
            }
        }
    }
}

fn holders(size: u64, market: &TorrentMarket) -> Markup {
    if market.market.is_none() && market.holders.is_empty() {
        return html! {};
    }
    html! {
        section.panel.flush {
            div.section-head { h2 { "Verified holders" } span.muted.small { "at the last close" } }
            @if market.holders.is_empty() {
                p.empty { "No node held a verified replica at the last close." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Node" } th { "Verified" } th.num { "Claimed" } } }
                        tbody {
                            @for h in &market.holders {
                                @let frac = if size == 0 { 0.0 } else { h.verified_bytes as f64 / size as f64 };
                                tr {
                                    td { (layout::node_link(&h.node, h.member.as_deref())) }
                                    td {
                                        div.bar-cell {
                                            (meter(frac, if frac >= 0.999 { Tone::Good } else { Tone::Accent }, "verified of the torrent"))
                                            span { (format::bytes(h.verified_bytes)) }
                                        }
                                    }
                                    td.num.warn-text[h.claimed_bytes > h.verified_bytes] { (format::bytes(h.claimed_bytes)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn files(detail: &TorrentDetail) -> Markup {
    let files = &detail.files;
    html! {
        section.panel.flush {
            div.section-head { h2 { "Files" } span.muted.small { (format::count(files.len() as u64)) } }
            div.table-wrap {
                table.files {
                    thead { tr { th { "Path" } th.num { "Size" } } }
                    tbody {
                        @for f in files.iter().take(MAX_FILES) {
                            tr { td.mono.path { (f.path) } td.num { (format::bytes(f.length)) } }
                        }
                        @if files.len() > MAX_FILES {
                            tr { td.muted colspan="2" { "… and " (format::count((files.len() - MAX_FILES) as u64)) " more files (see the .torrent)" } }
                        }
                    }
                }
            }
        }
    }
}
