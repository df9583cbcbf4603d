use hubapi::views::NodeBoard;
use maud::html;

use crate::Ctx;
use crate::format;
use crate::layout::{self, Nav, Tone, card, meter};

/// The node leaderboard, in the order the hub ranked it (most verified bytes first).
pub fn nodes(ctx: &Ctx, board: &NodeBoard) -> String {
    let top = board
        .nodes
        .iter()
        .map(|n| n.verified_bytes)
        .max()
        .unwrap_or(0);
    let verified: u64 = board
        .nodes
        .iter()
        .map(|n| n.verified_bytes)
        .fold(0, u64::saturating_add);
    let count = |s: &str| {
        board
            .nodes
            .iter()
            .filter(|n| n.standing.standing == s)
            .count()
    };
    let (good, disqualified) = (count("good"), count("disqualified"));
    // Both earn nothing until their audits recover: frozen (a failed audit this epoch) and
    // suspended (a reputation below the threshold).
    let held = count("frozen") + count("suspended");
    let economy = ctx.token.is_some();
    let body = html! {
        div.page-head {
            div {
                h1 { "Nodes" }
                p.lead {
                    "Every node that reported hosting, ranked by the bytes its audits verified"
                    @if let Some(e) = board.closed_epoch { " at the close of epoch " (e) }
                    ". Nodes that claim data they do not serve are frozen, then disqualified."
                }
            }
        }
        section.cards {
            (card("Nodes", html! { (board.nodes.len()) }, Some(html! { (good) " in good standing" })))
            (card("Verified", html! { (format::bytes(verified)) }, Some(html! { "hosted, summed over nodes" })))
            (card("Frozen or suspended", html! { (held) }, Some(html! { "paid nothing until audits pass" })))
            (card("Disqualified", html! { (disqualified) }, None))
        }
        section.panel.flush.section {
            @if board.nodes.is_empty() {
                div.empty {
                    h2 { "No nodes yet" }
                    p { "Nodes appear here once they report what they host: " code { "seedbank node" } "." }
                }
            } @else {
                div.table-wrap {
                    table #leaderboard {
                        thead {
                            tr {
                                th { "#" }
                                th { "Node" }
                                th { "Verified" }
                                th.num { "Claimed" }
                                th.num { "Reputation" }
                                th { "Standing" }
                                @if economy {
                                    th.num { "Last reward" }
                                    th.num { "Earned" }
                                }
                                th { "Location" }
                            }
                        }
                        tbody {
                            @for (i, n) in board.nodes.iter().enumerate() {
                                @let frac = if top == 0 { 0.0 } else { n.verified_bytes as f64 / top as f64 };
                                tr {
                                    td.rank { (i + 1) }
                                    td { (layout::node_link(&n.address, n.member.as_deref())) }
                                    td {
                                        div.bar-cell {
                                            (meter(frac, Tone::Accent, "verified, relative to the top node"))
                                            span { (format::bytes(n.verified_bytes)) }
                                        }
                                    }
                                    td.num.warn-text[n.claimed_bytes > n.verified_bytes] title="Claimed in the node's latest report" {
                                        (format::bytes(n.claimed_bytes))
                                    }
                                    td.num { (format::ppb_pct(n.standing.reputation_ppb)) }
                                    td { (layout::standing_badge(&n.standing.standing)) }
                                    @if economy {
                                        td.num { (layout::tokens(ctx, n.last_reward)) }
                                        td.num { (layout::tokens(ctx, n.earned)) }
                                    }
                                    td.muted { (n.standing.location.as_deref().unwrap_or("–")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(ctx, "Nodes", Nav::Nodes, body)
}
