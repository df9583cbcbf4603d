use maud::html;

use crate::Ctx;
use crate::layout::{self, Nav};

/// The body of a 404: `what` names the missing thing ("torrent 42", "member bob").
pub fn not_found(ctx: &Ctx, what: &str) -> String {
    let body = html! {
        section.panel.empty.error-page {
            div.big-status { "404" }
            h1 { "Not found" }
            // `what` may be a name ("torrent 42") or the hub's message ("no torrent 42"): this
            // phrasing reads right with either.
            p { "Nothing here: " (what) "." }
            p.muted { "It may have been removed, or the link is mistyped." }
            p.actions {
                a.btn.btn-primary href="/" { "Go home" } " "
                a.btn href="/torrents" { "Browse torrents" }
            }
        }
    };
    layout::page(ctx, "Not found", Nav::None, body)
}

/// Any other error page: the status, its reason, and the hub's message.
pub fn error(ctx: &Ctx, status: u16, message: &str) -> String {
    let reason = match status {
        400 => "Bad request",
        401 => "Sign-in needed",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        429 => "Too many requests",
        500 => "Something went wrong",
        502..=504 => "Temporarily unavailable",
        s if (400..500).contains(&s) => "Request refused",
        _ => "Something went wrong",
    };
    let body = html! {
        section.panel.empty.error-page {
            div.big-status { (status) }
            h1 { (reason) }
            @if !message.is_empty() { p { (message) } }
            p.actions {
                a.btn.btn-primary href="/" { "Go home" }
                @if status == 401 { " " a.btn href="/signin" { "Sign in" } }
            }
        }
    };
    layout::page(ctx, reason, Nav::None, body)
}
