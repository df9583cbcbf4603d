//! The collective's web site, pure: server-rendered HTML pages and SVG charts from the hub's view
//! values ([`hubapi::views`]). No IO, no clock, no server: the hub gathers the data, calls a page
//! function and sends the string.
//!
//! - Pages: [`home`], [`browse`], [`torrent`], [`member`], [`nodes`], [`economy`], [`signin`],
//!   [`not_found`], [`error`]. Every page shares one header (site name, Home · Browse · Nodes ·
//!   Economy, sign-in state) and footer.
//! - Assets the hub serves as they are: [`CSS`] at `/static/site.css`, [`SCRIPT`] at
//!   `/static/site.js`, [`FAVICON_SVG`] at `/favicon.svg`.
//! - [`chart`]: line and stacked bar charts as SVG; [`format`]: bytes, tokens, percentages, times.
//!
//! Text from the data is escaped by maud. Pages carry no inline scripts or `style` attributes (bars
//! are small SVGs, colours are SVG attributes), so the hub can send
//! `Content-Security-Policy: default-src 'self'`. The member's passkey is rendered only by
//! [`member`] given the viewer's own session.

pub mod chart;
pub mod format;
mod layout;
mod pages;
#[cfg(test)]
mod sample;

pub use layout::path_escape;
pub use pages::{browse, economy, error, home, member, nodes, not_found, redeem, signin, torrent};

/// Served at `/static/site.css`.
pub const CSS: &str = include_str!("../assets/site.css");
/// Served at `/static/site.js`: wallet sign-in (EIP-1193, EIP-4361) and copy buttons.
pub const SCRIPT: &str = include_str!("../assets/site.js");
/// Served at `/favicon.svg`; also the logo in the header.
pub const FAVICON_SVG: &str = include_str!("../assets/favicon.svg");

/// What every page needs besides its own data.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// The collective's name (page titles, header).
    pub site_name: &'a str,
    /// The signed-in member's name, if any (header shows "name · sign out", else "Sign in").
    pub viewer: Option<&'a str>,
    /// The token, for amounts; None on a ratio-only hub (hide economy bits).
    pub token: Option<&'a hubapi::views::TokenInfo>,
    /// Unix seconds now (for "3 min ago", epoch countdowns, vesting "today" marker).
    pub now: u64,
}
