use hubapi::views::SignInChallenge;
use maud::html;

use crate::Ctx;
use crate::layout::{self, Nav};

/// Sign-in with the member key (EIP-4361). The wallet button is driven by the site script, which
/// fetches a fresh nonce itself; the challenge here gives it the message's fixed fields.
pub fn signin(ctx: &Ctx, challenge: Option<&SignInChallenge>, message: Option<&str>) -> String {
    let body = html! {
        div.signin-page {
            div.page-head {
                div {
                    h1 { "Sign in" }
                    p.lead {
                        "Sign in with your member key: your wallet signs a one-time message "
                        "(EIP-4361, Sign-In with Ethereum) and the hub checks it against the ledger's member list. "
                        "No password, and the key never leaves your wallet."
                    }
                }
            }
            @if let Some(m) = message {
                div.notice.error role="alert" { (m) }
            }
            @if let Some(viewer) = ctx.viewer {
                div.notice {
                    "You are signed in as " (layout::member_link(viewer)) ". Signing in again replaces that session."
                }
            }
            @match challenge {
                None => {
                    section.panel {
                        h2 { "Sign-in is not available" }
                        p { "This hub has no ledger: sign-in needs a member account. "
                            "Members of a ratio-only hub use the passkey the operator gave them, in their announce URL." }
                    }
                }
                Some(c) => {
                    div.grid-2 {
                        section.panel #signin data-domain=(c.domain) data-uri=(c.uri) data-chain-id=(c.chain_id) data-statement=(c.statement) {
                            h2 { "With a browser wallet" }
                            p.muted { "MetaMask, Rabby, Frame or any wallet that injects " code { "window.ethereum" } ", holding your member key." }
                            ol.steps {
                                li { "Your wallet shares your address." }
                                li { "It asks you to sign a message for " strong { (c.domain) } ":" }
                            }
                            blockquote.statement { (c.statement) }
                            p {
                                button #wallet-signin .btn.btn-primary.btn-lg type="button" { "Sign in with browser wallet" }
                            }
                            p #signin-status role="status" aria-live="polite" {}
                        }
                        section.panel {
                            h2 { "From the command line" }
                            p.muted { "With the member key in your seedbank wallet:" }
                            pre.cmd { code { "seedbank wallet sign-in " (c.uri) } }
                            p { "It signs the same message and prints a one-time link: open it in this browser within a few minutes to be signed in here." }
                        }
                    }
                }
            }
        }
    };
    layout::page(ctx, "Sign in", Nav::None, body)
}

/// The page a one-time sign-in link opens: it asks before signing this browser in, so a link
/// someone else sent cannot sign a visitor in as its sender by a mere visit.
pub fn redeem(ctx: &Ctx, name: &str, code: &str) -> String {
    let body = html! {
        div.signin-page {
            div.page-head {
                div {
                    h1 { "Sign in as " (name) "?" }
                    p.lead {
                        "This one-time link signs this browser in as " strong { (name) } ". "
                        "Continue only if you made it yourself, with " code { "seedbank wallet sign-in" } "."
                    }
                }
            }
            section.panel {
                form method="post" action="/signin/redeem" {
                    input type="hidden" name="code" value=(code);
                    button #redeem .btn.btn-primary.btn-lg type="submit" { "Sign in as " (name) }
                    " "
                    a.btn.btn-lg href="/" { "Cancel" }
                }
            }
        }
    };
    layout::page(ctx, "Sign in", Nav::None, body)
}
