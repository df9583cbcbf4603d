//! Every page rendered from the hand-built samples: key content present, ids and classes the
//! browser tests select, escaping, and the passkey on the owner's page only.

use hubapi::{ListQuery, TorrentList};

use crate::sample::{self, NOW, PASSKEY};
use crate::*;

fn guest(token: &hubapi::views::TokenInfo) -> Ctx<'_> {
    Ctx {
        site_name: "VIDYA",
        viewer: None,
        token: Some(token),
        now: NOW,
    }
}

/// HTML elements that have no closing tag.
const VOID: [&str; 6] = ["meta", "link", "input", "br", "hr", "img"];

/// Tags close in order (void elements aside); enough to catch a broken template.
fn well_formed(html: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or("unclosed <")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        // Doctype, and the self-closed elements of the inline logo.
        if tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open != name {
                return Err(format!("<{open}> closed by </{name}>"));
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            if !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
    }
    match stack.is_empty() {
        true => Ok(()),
        false => Err(format!("left open: {stack:?}")),
    }
}

/// What every page shares.
fn check_page(html: &str, title: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "doctype");
    if let Err(e) = well_formed(html) {
        panic!("{title}: {e}");
    }
    assert!(html.contains("<h1"), "{title}: h1");
    assert!(
        html.contains(&format!("<title>{title}")),
        "{title}: page title"
    );
    for href in ["href=\"/\"", "href=\"/torrents\""] {
        assert!(html.contains(href), "{title}: nav {href}");
    }
    assert!(html.contains("href=\"/static/site.css\""));
    assert!(html.contains("src=\"/static/site.js\""));
    assert!(
        html.contains("href=\"/api/v1/openapi.json\""),
        "footer API link"
    );
    assert!(html.contains("href=\"/metrics\""));
    // Pages stay inside a strict Content-Security-Policy.
    assert!(!html.contains(" style="), "{title}: inline style");
    assert!(!html.contains("<script>"), "{title}: inline script");
    assert!(
        !html.contains("NaN") && !html.contains("inf<"),
        "{title}: bad number"
    );
}

fn all_pages(ctx: &Ctx) -> Vec<(&'static str, String)> {
    vec![
        ("home", home(ctx, &sample::overview())),
        (
            "browse",
            browse(
                ctx,
                &sample::list(),
                &sample::query(),
                &sample::categories(),
            ),
        ),
        (
            "torrent",
            torrent(ctx, &sample::detail(), &sample::torrent_market()),
        ),
        ("member", member(ctx, &sample::profile(), None)),
        ("nodes", nodes(ctx, &sample::board())),
        ("economy", economy(ctx, &sample::economy())),
        ("signin", signin(ctx, Some(&sample::challenge()), None)),
        ("not_found", not_found(ctx, "torrent 9")),
        ("error", error(ctx, 500, "boom")),
    ]
}

#[test]
fn home_shows_vital_signs_search_hot_and_recent() {
    let token = sample::token_info();
    let html = home(&guest(&token), &sample::overview());
    check_page(&html, "VIDYA");
    assert!(html.contains("id=\"vitals\""));
    assert!(html.contains("id=\"search\"") && html.contains("name=\"q\""));
    assert!(html.contains("action=\"/torrents\""));
    for text in [
        "1,284",           // members
        "13.1 GiB",        // indexed
        "Epoch",           // the clock
        "9 h 53 min left", // countdown
        "38.81 % staked",  // supply
        "Hot now",
        "Recently added",
        "Doom (1993)",        // hot
        "PC Gamer (US) 1994", // recent
    ] {
        assert!(html.contains(text), "home lacks {text:?}");
    }
    assert!(
        html.contains("1.5</span>") || html.contains(">1.5<"),
        "replicas"
    );
    assert!(html.contains("href=\"/torrents/1\""));
    assert!(html.contains("Sign in"));
}

#[test]
fn ratio_only_hub_hides_the_economy() {
    let ctx = Ctx {
        site_name: "tracker",
        viewer: None,
        token: None,
        now: NOW,
    };
    let html = home(&ctx, &sample::overview());
    check_page(&html, "tracker");
    assert!(!html.contains("href=\"/economy\""));
    assert!(
        !html.contains("href=\"/nodes\""),
        "no audited nodes without a ledger"
    );
    assert!(!html.contains("VID"));
    assert!(!html.contains("Hot now"));
    let html = torrent(&ctx, &sample::detail(), &sample::torrent_market());
    assert!(html.contains("not payable"));
    assert!(!html.contains("svg class=\"chart\""));
    let html = member(&ctx, &sample::profile(), None);
    assert!(!html.contains("Vesting schedule") && html.contains("412 GiB"));
}

#[test]
fn browse_lists_pages_and_says_when_nothing_matches() {
    let token = sample::token_info();
    let ctx = guest(&token);
    let list = sample::list();
    let html = browse(&ctx, &list, &sample::query(), &sample::categories());
    check_page(&html, "Browse");
    assert!(html.contains("id=\"results\""));
    assert_eq!(
        html.matches("class=\"torrent-link\"").count(),
        list.torrents.len()
    );
    assert!(html.contains("Showing 15–28 of 64"));
    // limit 14 from offset 14: back to 0, on to 28, the page size kept.
    assert!(html.contains("href=\"/torrents?limit=14\""), "{html}");
    assert!(html.contains("href=\"/torrents?offset=28&amp;limit=14\""));
    assert!(html.contains("<option value=\"dos\">dos (6)</option>"));

    let query = ListQuery {
        q: Some("keen <b>".into()),
        category: Some("dos".into()),
        ..Default::default()
    };
    let empty = TorrentList {
        total: 0,
        torrents: vec![],
    };
    let html = browse(&ctx, &empty, &query, &sample::categories());
    check_page(&html, "“keen &lt;b&gt;”");
    assert!(html.contains("No torrents match"));
    assert!(html.contains("keen &lt;b&gt;") && !html.contains("<b>"));
    assert!(
        html.contains("value=\"keen &lt;b&gt;\""),
        "search keeps its words"
    );
    assert!(html.contains("<option value=\"dos\" selected>"));
    assert!(!html.contains("id=\"results\""));
}

#[test]
fn torrent_page_has_download_market_charts_holders_files() {
    let token = sample::token_info();
    let ctx = guest(&token);
    let detail = sample::detail();
    let market = sample::torrent_market();
    let html = torrent(&ctx, &detail, &market);
    check_page(&html, "Quake III Arena — complete");
    assert!(html.contains("id=\"download\""));
    assert!(html.contains("Sign in to download") && html.contains("href=\"/signin\""));
    assert!(!html.contains("/download\""));
    for text in [
        detail.summary.info_hash_v1.as_deref().unwrap_or("none"),
        detail.summary.info_hash_v2.as_deref().unwrap_or("none"),
        "4 MiB", // piece length
        "Price per GiB",
        "Sponsored pool",
        "of 3 wanted",
        "97 %", // saturation
        "×1.4", // weight
        "Quake III Arena/baseq3/pak0.pk3",
        "457 MiB",
        "Verified holders",
        "href=\"/members/bob\"", // uploader and a holder
        "0x",                    // the holder without a member name
    ] {
        assert!(html.contains(text), "torrent lacks {text:?}");
    }
    assert!(html.matches("<svg class=\"chart\"").count() >= 3);

    let alice = Ctx {
        viewer: Some("alice"),
        ..ctx
    };
    let html = torrent(&alice, &detail, &market);
    assert!(html.contains("href=\"/torrents/2/download\""));
    assert!(html.contains("Download .torrent"));
    assert!(html.contains("action=\"/signout\"") && html.contains("href=\"/members/alice\""));
}

#[test]
fn the_passkey_shows_only_on_the_owners_page() {
    let token = sample::token_info();
    let alice = Ctx {
        viewer: Some("alice"),
        ..guest(&token)
    };
    let profile = sample::profile();
    let own = sample::session();
    let html = member(&alice, &profile, Some(&own));
    check_page(&html, "alice");
    assert!(html.contains("id=\"passkey\""));
    assert!(html.contains(PASSKEY));
    assert!(html.contains(&own.announce_url));
    assert!(html.contains("secret"));

    // Not to others, and not to alice on someone else's page even if handed her session.
    let public = member(&alice, &profile, None);
    assert!(!public.contains(PASSKEY) && !public.contains("id=\"passkey\""));
    let mut bob = profile.clone();
    bob.name = "bob".into();
    let html = member(&alice, &bob, Some(&own));
    assert!(!html.contains(PASSKEY) && !html.contains("id=\"passkey\""));
    // No other page carries it.
    for (name, html) in all_pages(&alice) {
        assert!(!html.contains(PASSKEY), "{name} shows the passkey");
    }
}

#[test]
fn member_page_shows_account_ratio_charts_and_node() {
    let token = sample::token_info();
    let html = member(&guest(&token), &sample::profile(), None);
    for text in [
        "member since 23 Dec 2025",
        "title=\"1842.375 VID\"", // exact balance in the tooltip
        "locked until",
        "3,120.5", // vesting
        "412 GiB", // uploaded
        "4.25",    // ratio
        "13 d",    // seeding time
        "Vesting schedule",
        ">today<",
        "Earnings per epoch",
        "98.7 %", // reputation
        "Amsterdam, NL",
        "badge good",
    ] {
        assert!(html.contains(text), "member lacks {text:?}");
    }
    assert!(html.matches("<svg class=\"chart\"").count() == 2);
}

#[test]
fn vesting_is_linear_between_breakpoints() {
    use hubapi::views::GrantView;
    let g = |start, end, amount: u64| GrantView {
        start,
        end,
        amount: token::Amount::tokens(amount),
        released: token::Amount::ZERO,
    };
    let grants = [g(100, 200, 100), g(150, 250, 50)];
    let v = super::member::vested_at(&grants, 150);
    assert!((v - 50.0).abs() < 1e-9);
    assert_eq!(super::member::vested_at(&grants, 300), 150.0);
    assert_eq!(super::member::vested_at(&grants, 0), 0.0);
}

#[test]
fn nodes_page_ranks_with_badges() {
    let token = sample::token_info();
    let html = nodes(&guest(&token), &sample::board());
    check_page(&html, "Nodes");
    assert!(html.contains("id=\"leaderboard\""));
    for text in [
        "badge good",
        "badge frozen",
        "badge disqualified",
        "href=\"/members/alice\"",
        "…", // the node without a member: a short address
        "98.7 %",
        "96 GiB",
        "Montréal, CA",
        "6,410.25",
    ] {
        assert!(html.contains(text), "nodes lacks {text:?}");
    }
    let html = nodes(
        &guest(&token),
        &hubapi::views::NodeBoard {
            closed_epoch: None,
            nodes: vec![],
        },
    );
    check_page(&html, "Nodes");
    assert!(html.contains("No nodes yet"));
}

#[test]
fn economy_page_has_cards_charts_and_table() {
    let token = sample::token_info();
    let e = sample::economy();
    let html = economy(&guest(&token), &e);
    check_page(&html, "Economy");
    for text in [
        "Total supply",
        "39.58 %", // staked
        "4.12 %",  // yield
        "5 %",     // inflation
        "1,000",   // min stake
        "Where the supply is",
        "Latest epochs",
        "Hosts paid",
    ] {
        assert!(html.contains(text), "economy lacks {text:?}");
    }
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 4);
    // Newest first in the table.
    let table = &html[html.find("id=\"epochs\"").unwrap_or(0)..];
    assert!(table.find("<strong>30</strong>") < table.find("<strong>29</strong>"));

    let mut empty = e.clone();
    empty.epochs.clear();
    let html = economy(&guest(&token), &empty);
    check_page(&html, "Economy");
    assert!(html.contains("No closed epochs yet"));
}

#[test]
fn signin_carries_the_challenge_for_the_script() {
    let token = sample::token_info();
    let ctx = guest(&token);
    let c = sample::challenge();
    let html = signin(&ctx, Some(&c), Some("Link <expired>"));
    check_page(&html, "Sign in");
    assert!(html.contains("id=\"signin\""));
    assert!(html.contains("data-domain=\"vidya.example\""));
    assert!(html.contains("data-uri=\"https://vidya.example\""));
    assert!(html.contains("data-chain-id=\"1\""));
    assert!(html.contains(&format!("data-statement=\"{}\"", c.statement)));
    assert!(html.contains("id=\"wallet-signin\""));
    assert!(html.contains("id=\"signin-status\""));
    assert!(html.contains("seedbank wallet sign-in https://vidya.example"));
    assert!(html.contains("EIP-4361"));
    assert!(html.contains("Link &lt;expired&gt;"));

    let html = signin(&ctx, None, None);
    check_page(&html, "Sign in");
    assert!(html.contains("no ledger: sign-in needs a member account"));
    assert!(!html.contains("id=\"wallet-signin\""));
}

#[test]
fn error_pages_link_home() {
    let token = sample::token_info();
    let ctx = guest(&token);
    let html = not_found(&ctx, "torrent <42>");
    check_page(&html, "Not found");
    assert!(html.contains("torrent &lt;42&gt;") && html.contains("href=\"/\""));
    let html = error(&ctx, 503, "ledger busy");
    check_page(&html, "Temporarily unavailable");
    assert!(html.contains("503") && html.contains("ledger busy"));
}

#[test]
fn data_is_escaped_everywhere() {
    let token = sample::token_info();
    let ctx = Ctx {
        site_name: "<VIDYA>",
        viewer: Some("<eve>"),
        ..guest(&token)
    };
    let mut overview = sample::overview();
    overview.recent[0].name = "<script>alert(1)</script>".into();
    overview.recent[0].uploader = "a/b?c".into();
    let html = home(&ctx, &overview);
    assert!(!html.contains("<script>alert") && html.contains("&lt;script&gt;alert(1)"));
    assert!(html.contains("&lt;VIDYA&gt;") && html.contains("&lt;eve&gt;"));
    assert!(html.contains("href=\"/members/a%2Fb%3Fc\""));
    assert!(html.contains("href=\"/members/%3Ceve%3E\""));
}

#[test]
fn every_page_is_well_formed_for_every_viewer() {
    let token = sample::token_info();
    for ctx in [
        guest(&token),
        Ctx {
            viewer: Some("alice"),
            ..guest(&token)
        },
        Ctx {
            token: None,
            ..guest(&token)
        },
    ] {
        for (name, html) in all_pages(&ctx) {
            if let Err(e) = well_formed(&html) {
                panic!("{name}: {e}");
            }
            assert!(html.contains("<h1"), "{name}");
        }
    }
}

#[test]
fn assets_are_there() {
    assert!(CSS.contains(".card") && CSS.contains("svg.chart"));
    assert!(FAVICON_SVG.starts_with("<svg"));
    for needle in [
        "eth_requestAccounts",
        "/api/v1/auth/nonce",
        " wants you to sign in with your Ethereum account:",
        "'Version: 1'",
        "'Chain ID: '",
        "'Nonce: '",
        "'Issued At: '",
        "'Expiration Time: '",
        "toISOString()",
        "personal_sign",
        "/api/v1/auth/session",
        "/members/",
        "error.message",
        "wallet-signin",
        "signin-status",
        "join('\\n')",
    ] {
        assert!(SCRIPT.contains(needle), "script lacks {needle:?}");
    }
}
