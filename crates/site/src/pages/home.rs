use hubapi::views::Overview;
use maud::{Markup, html};

use crate::Ctx;
use crate::format;
use crate::layout::{self, Nav, Tone, card, meter};

/// The front page: vital signs, a search box, what is hot and what is new.
pub fn home(ctx: &Ctx, o: &Overview) -> String {
    let economy = ctx.token.is_some();
    let body = html! {
        section.hero {
            h1 { (ctx.site_name) }
            p {
                "A private BitTorrent collective: members share a curated archive, "
                @if economy {
                    "earn for hosting what the collective needs and pay for what they download."
                } @else {
                    "and keep their ratio."
                }
            }
            form.search.search-hero method="get" action="/torrents" role="search" {
                input #search type="search" name="q" placeholder=(format!("Search {} torrents…", format::count(o.torrents))) aria-label="Search torrents" autocomplete="off";
                button.btn.btn-primary.btn-lg type="submit" { "Search" }
            }
        }
        section #vitals .cards aria-label="Vital signs" {
            (card("Members", html! { (format::count(o.members)) }, None))
            (card("Torrents", html! { (format::count(o.torrents)) }, Some(html! { (format::bytes(o.indexed_bytes)) " indexed" })))
            (card("Peers", html! { (format::count(o.peers)) },
                Some(html! { span.seed { (format::count(o.seeders)) } " seeding · " span.leech { (format::count(o.leechers)) } " leeching" })))
            @if economy {
                (epoch_card(ctx, o))
                @if let Some(supply) = &o.supply {
                    @let staked = format::ratio_bps(supply.staked.0, supply.total.0);
                    (card("Supply", layout::tokens_compact(ctx, supply.total),
                        Some(html! { (format::bps(staked)) " staked" (meter(staked as f64 / 10_000.0, Tone::Accent, "staked of the supply")) })))
                }
                @let at = o.torrents_at_target;
                @let of = o.payable_torrents;
                (card("At replica target", html! { (at) span.unit { "/ " (of) } },
                    Some(html! {
                        "torrents fully replicated"
                        (meter(if of == 0 { 0.0 } else { at as f64 / of as f64 }, if at >= of { Tone::Good } else { Tone::Warn }, "torrents at their replica target"))
                    })))
            }
        }
        div.section.home-grid[economy] {
            @if economy {
                section.panel.flush {
                    div.section-head { h2 { "Hot now" } a href="/torrents" { "Browse all →" } }
                    (hot(ctx, o))
                }
            }
            section.panel.flush {
                div.section-head { h2 { "Recently added" } a href="/torrents" { "Browse all →" } }
                (recent(ctx, o))
            }
        }
    };
    layout::page(ctx, "", Nav::Home, body)
}

fn epoch_card(ctx: &Ctx, o: &Overview) -> Markup {
    match (&o.epoch, o.closed_epoch) {
        (Some(clock), _) => {
            let span = clock.end.saturating_sub(clock.start).max(1);
            let elapsed = ctx.now.saturating_sub(clock.start).min(span);
            let sub = if ctx.now >= clock.end {
                html! { "closing now" }
            } else {
                html! { (format::duration(clock.end - ctx.now)) " left" }
            };
            card(
                "Epoch",
                html! { (format::count(clock.epoch)) },
                Some(html! {
                    (sub)
                    (meter(elapsed as f64 / span as f64, Tone::Accent, "epoch elapsed"))
                }),
            )
        }
        (None, Some(closed)) => card(
            "Epoch",
            html! { "–" },
            Some(html! { "last closed: " (closed) }),
        ),
        (None, None) => card("Epoch", html! { "–" }, Some(html! { "no epoch yet" })),
    }
}

fn hot(ctx: &Ctx, o: &Overview) -> Markup {
    if o.hot.is_empty() {
        return html! { p.empty { "Nothing is in demand yet: prices and saturation appear after the first epoch closes." } };
    }
    html! {
        div.table-wrap {
            table {
                thead { tr { th { "Torrent" } th { "Saturation" } th.num { "Price / GiB" } th.num { "Replicas" } } }
                tbody {
                    @for m in &o.hot {
                        @let sat = format::wad_f64(m.saturation_wad);
                        @let target_met = m.replicas_milli >= u64::from(m.target_replicas) * 1000;
                        tr {
                            td.name-cell {
                                a.torrent-link href=(format!("/torrents/{}", m.id)) { (m.name) }
                                div.desc { (m.category) " · " (format::bytes(m.size)) }
                            }
                            td {
                                div.bar-cell {
                                    (meter(sat, if sat >= 1.0 { Tone::Bad } else if sat >= 0.75 { Tone::Warn } else { Tone::Accent }, "saturation"))
                                    span { (format::wad_pct(m.saturation_wad)) }
                                }
                            }
                            td.num { (layout::tokens(ctx, layout::per_gib(m.price_per_byte))) }
                            td.num {
                                span.warn-text[!target_met] { (format::replicas(m.replicas_milli)) }
                                span.muted { " / " (m.target_replicas) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn recent(ctx: &Ctx, o: &Overview) -> Markup {
    if o.recent.is_empty() {
        return html! { p.empty { "No torrents yet." } };
    }
    html! {
        ul.plain.recent.panel-list {
            @for t in &o.recent {
                li {
                    div.grow {
                        a.torrent-link href=(format!("/torrents/{}", t.id)) title=(t.name) { (t.name) }
                        div.muted.small {
                            a.pill href=(format!("/torrents?category={}", layout::query_escape(&t.category))) { (t.category) }
                            " " (format::bytes(t.size)) " · by " (layout::member_link(&t.uploader))
                        }
                    }
                    div.side.small.muted.nowrap {
                        span.seed { "↑" (t.seeders) } " " span.leech { "↓" (t.leechers) }
                        br;
                        (layout::ago(ctx, t.created_at))
                    }
                }
            }
        }
    }
}
