//! Renders every page with rich sample data to `target/site-preview/*.html`, the stylesheet beside
//! them, so the pages can be looked at in a browser or screenshotted headless:
//!
//! ```sh
//! cargo run -p site --example preview
//! chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2000 \
//!     --screenshot=/tmp/home.png file://$PWD/target/site-preview/home.html
//! ```

#[path = "../src/sample.rs"]
mod sample;

use std::path::PathBuf;

use site::Ctx;

fn main() -> std::io::Result<()> {
    // CARGO_TARGET_DIR wins; else the workspace's target (two levels above this crate).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let out = target.join("site-preview");
    std::fs::create_dir_all(&out)?;

    let token = sample::token_info();
    let guest = Ctx {
        site_name: "VIDYA",
        viewer: None,
        token: Some(&token),
        now: sample::NOW,
    };
    let alice = Ctx {
        viewer: Some("alice"),
        ..guest
    };
    let ratio_only = Ctx {
        token: None,
        ..guest
    };
    let empty_list = hubapi::TorrentList {
        total: 0,
        torrents: vec![],
    };
    let search = hubapi::ListQuery {
        q: Some("zelda".into()),
        category: Some("dos".into()),
        ..Default::default()
    };
    let mut bob = sample::profile();
    bob.name = "bob".into();
    bob.stats.name = "bob".into();
    let mut empty_economy = sample::economy();
    empty_economy.epochs.clear();

    let pages: Vec<(&str, String)> = vec![
        ("home", site::home(&alice, &sample::overview())),
        ("home-guest", site::home(&guest, &sample::overview())),
        (
            "home-ratio-only",
            site::home(&ratio_only, &sample::overview()),
        ),
        (
            "browse",
            site::browse(
                &guest,
                &sample::list(),
                &sample::query(),
                &sample::categories(),
            ),
        ),
        (
            "browse-empty",
            site::browse(&guest, &empty_list, &search, &sample::categories()),
        ),
        (
            "torrent",
            site::torrent(&alice, &sample::detail(), &sample::torrent_market()),
        ),
        (
            "torrent-guest",
            site::torrent(&guest, &sample::detail(), &sample::torrent_market()),
        ),
        (
            "member-own",
            site::member(&alice, &sample::profile(), Some(&sample::session())),
        ),
        ("member", site::member(&alice, &bob, None)),
        ("nodes", site::nodes(&guest, &sample::board())),
        ("economy", site::economy(&guest, &sample::economy())),
        ("economy-empty", site::economy(&guest, &empty_economy)),
        (
            "signin",
            site::signin(
                &guest,
                Some(&sample::challenge()),
                Some("That link has expired: sign in again."),
            ),
        ),
        ("signin-no-ledger", site::signin(&ratio_only, None, None)),
        ("not-found", site::not_found(&guest, "torrent 4242")),
        (
            "error",
            site::error(
                &alice,
                503,
                "The ledger is catching up; try again in a minute.",
            ),
        ),
    ];
    for (name, html) in &pages {
        // Files open from disk, where the hub's absolute asset paths would miss.
        let html = html
            .replace("/static/site.css", "site.css")
            .replace("/static/site.js", "site.js")
            .replace("/favicon.svg", "favicon.svg");
        std::fs::write(out.join(format!("{name}.html")), html)?;
    }
    std::fs::write(out.join("site.css"), site::CSS)?;
    std::fs::write(out.join("site.js"), site::SCRIPT)?;
    std::fs::write(out.join("favicon.svg"), site::FAVICON_SVG)?;
    println!("wrote {} pages to {}", pages.len(), out.display());
    Ok(())
}
