//! The page shell (head, header, footer) and the small pieces every page shares.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use token::{Address, Amount};

use crate::{Ctx, FAVICON_SVG, format};

/// Which nav entry is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Browse,
    Nodes,
    Economy,
    None,
}

/// A whole document: `title` goes before the site's name in the tab.
pub fn page(ctx: &Ctx, title: &str, nav: Nav, body: Markup) -> String {
    let full_title = if title.is_empty() {
        ctx.site_name.to_string()
    } else {
        format!("{title} · {}", ctx.site_name)
    };
    let link = |href: &str, label: &str, here: Nav| {
        html! { a href=(href) aria-current=[(nav == here).then_some("page")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (full_title) }
                link rel="stylesheet" href="/static/site.css";
                link rel="icon" href="/favicon.svg" type="image/svg+xml";
                script src="/static/site.js" defer {}
            }
            body {
                header.site-header {
                    div.wrap {
                        a.brand href="/" { (PreEscaped(FAVICON_SVG)) span { (ctx.site_name) } }
                        nav.nav aria-label="Main" {
                            (link("/", "Home", Nav::Home))
                            (link("/torrents", "Browse", Nav::Browse))
                            // A ratio-only hub has no ledger, so no audited nodes and no economy.
                            @if ctx.token.is_some() {
                                (link("/nodes", "Nodes", Nav::Nodes))
                                (link("/economy", "Economy", Nav::Economy))
                            }
                        }
                        div.account {
                            @if let Some(name) = ctx.viewer {
                                a.who href=(member_url(name)) { (name) }
                                span aria-hidden="true" { "·" }
                                form method="post" action="/signout" {
                                    button.linkish type="submit" { "sign out" }
                                }
                            } @else {
                                a.btn.btn-sm href="/signin" { "Sign in" }
                            }
                        }
                    }
                }
                main { div.wrap { (body) } }
                footer.site-footer {
                    div.wrap {
                        span { (ctx.site_name) " · a private BitTorrent collective running seedbank" }
                        nav aria-label="Footer" {
                            a href="/torrents" { "Browse" }
                            @if ctx.token.is_some() {
                                a href="/nodes" { "Nodes" }
                                a href="/economy" { "Economy" }
                            }
                            a href="/api/v1/openapi.json" { "API" }
                            a href="/metrics" { "Metrics" }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

/// A vital-sign card: a label, a big value, an optional line under it.
pub fn card(label: &str, value: Markup, sub: Option<Markup>) -> Markup {
    html! {
        div.card {
            div.card-label { (label) }
            div.card-value { (value) }
            @if let Some(sub) = sub { div.card-sub { (sub) } }
        }
    }
}

#[derive(Clone, Copy)]
pub enum Tone {
    Accent,
    Good,
    Warn,
    Bad,
}

impl Tone {
    fn colour(self) -> &'static str {
        match self {
            Tone::Accent => "#2563eb",
            Tone::Good => "#16a34a",
            Tone::Warn => "#f59e0b",
            Tone::Bad => "#dc2626",
        }
    }
}

/// A horizontal bar filled to `fraction` (clamped to 0..=1), as an SVG so it needs no inline
/// style; `label` is its accessible text and tooltip.
pub fn meter(fraction: f64, tone: Tone, label: &str) -> Markup {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // A sliver stays visible for tiny non-zero values.
    let w = if f > 0.0 { (f * 100.0).max(1.5) } else { 0.0 };
    html! {
        svg.meter viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(label) {
            title { (label) }
            rect width="100" height="8" rx="4" fill="#eef0f3" {}
            @if w > 0.0 {
                rect width=(format!("{w:.1}")) height="8" rx="4" fill=(tone.colour()) {}
            }
        }
    }
}

/// An audit standing as a coloured badge.
pub fn standing_badge(standing: &str) -> Markup {
    let class = match standing {
        "good" => "good",
        "frozen" | "suspended" => "frozen",
        "disqualified" => "disqualified",
        _ => "",
    };
    html! { span.badge.(class) { (standing) } }
}

pub fn member_url(name: &str) -> String {
    format!("/members/{}", path_escape(name))
}

pub fn member_link(name: &str) -> Markup {
    html! { a.member href=(member_url(name)) { (name) } }
}

/// A node by its member's name, or its shortened address (full address in the tooltip).
pub fn node_link(address: &Address, member: Option<&str>) -> Markup {
    match member {
        Some(name) => member_link(name),
        None => {
            html! { span.mono title=(address.to_checksum()) { (format::short_address(address)) } }
        }
    }
}

/// A time as "3 min ago", with the exact UTC time in a tooltip and a machine-readable attribute.
pub fn ago(ctx: &Ctx, t: u64) -> Markup {
    html! {
        time datetime=(iso(t)) title=(format::datetime(t)) { (format::ago(ctx.now, t)) }
    }
}

/// A date, with the time in the tooltip.
pub fn date(t: u64) -> Markup {
    html! { time datetime=(iso(t)) title=(format::datetime(t)) { (format::date(t)) } }
}

fn iso(t: u64) -> String {
    let s = t % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format::date(t),
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// The token's symbol, or nothing on a ratio-only hub.
pub fn symbol<'a>(ctx: &Ctx<'a>) -> &'a str {
    ctx.token.map(|t| t.symbol.as_str()).unwrap_or("")
}

/// An amount with the symbol in a quieter style: `12.5 VID`; the exact amount in the tooltip,
/// since the text is rounded.
pub fn tokens(ctx: &Ctx, a: Amount) -> Markup {
    html! {
        span.amount title=(exact(ctx, a)) {
            (format::amount(a)) @if ctx.token.is_some() { " " span.unit { (symbol(ctx)) } }
        }
    }
}

/// [`tokens`] in compact form, for cards.
pub fn tokens_compact(ctx: &Ctx, a: Amount) -> Markup {
    html! {
        span.amount title=(exact(ctx, a)) {
            (format::amount_compact(a)) @if ctx.token.is_some() { " " span.unit { (symbol(ctx)) } }
        }
    }
}

fn exact(ctx: &Ctx, a: Amount) -> String {
    format!("{a} {}", symbol(ctx)).trim_end().to_string()
}

/// Download price per GiB (2^30 bytes) from a price per byte; saturates rather than overflowing.
pub fn per_gib(price_per_byte: Amount) -> Amount {
    Amount(price_per_byte.0.saturating_mul(1 << 30))
}

/// A number that is dimmed when zero (empty swarms read at a glance).
pub fn count_cell(n: u64, class: &str) -> Markup {
    html! {
        @if n == 0 { span.zero { "0" } } @else { span.(class) { (format::count(n)) } }
    }
}

/// A chart with its heading and an optional note, in a panel.
pub fn chart_panel(title: &str, note: Option<&str>, svg: String) -> Markup {
    html! {
        section.panel.chart-panel {
            h3 { (title) }
            @if let Some(note) = note { p.panel-note { (note) } }
            (PreEscaped(svg))
        }
    }
}

/// Picks the binary unit for a chart of byte counts, so ticks are nice numbers of that unit
/// (`0, 50, 100 GiB`) rather than nice numbers of bytes.
pub fn byte_unit(max: f64) -> (f64, &'static str) {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut scale = 1.0;
    let mut i = 0;
    while max >= scale * 1024.0 && i < UNITS.len() - 1 {
        scale *= 1024.0;
        i += 1;
    }
    (scale, UNITS[i])
}

/// Percent-encodes a path segment (a member's name) so any character is safe in a link.
pub fn path_escape(s: &str) -> String {
    escape(s, false)
}

/// Encodes a query value (`application/x-www-form-urlencoded`: space is `+`).
pub fn query_escape(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, form: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' if form => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_urls() {
        assert_eq!(path_escape("alice"), "alice");
        assert_eq!(path_escape("a b/c?"), "a%20b%2Fc%3F");
        assert_eq!(query_escape("doom 2 & co"), "doom+2+%26+co");
        assert_eq!(query_escape("é"), "%C3%A9");
    }

    #[test]
    fn picks_byte_units() {
        assert_eq!(byte_unit(0.0), (1.0, "B"));
        assert_eq!(byte_unit(5e6).1, "MiB");
        assert_eq!(byte_unit(3.0 * 1024f64.powi(3)).1, "GiB");
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
