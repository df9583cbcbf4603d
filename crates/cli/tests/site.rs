//! The collective's web site in a real browser (Debian's chromium, headless, through chromedriver)
//! against a hub filled by `seedbank demo`: every page loads with the demo's data, search finds a
//! torrent, a member signs in with a browser wallet (EIP-1193 provider backed by a test key) and
//! with `seedbank wallet sign-in`, downloads a personal `.torrent` that announces with the passkey,
//! and no page shows a passkey to anyone else. The same live hub answers every documented API
//! operation in the shape `/api/v1/openapi.json` describes, unknown ids give 404 pages and JSON
//! errors, forged and replayed sign-ins are refused, and `/metrics` counts what happened.
//!
//! Screenshots of every page land in `target/tmp/site-screenshots/`.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::openapi::Spec;
use support::webdriver::{Answer, Browser, http_call};
use token::SecretKey;
use token::siwe::{SiweMessage, sign_personal};

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "vidya-demo";

/// The live hub, reached over loopback.
struct Hub {
    url: String,
    addr: SocketAddr,
}

impl Hub {
    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        http_call(self.addr, method, path, headers, body, WAIT)
            .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"))
    }

    fn get(&self, path: &str) -> Answer {
        self.call("GET", path, &[], b"")
    }

    fn get_json(&self, path: &str) -> Value {
        let a = self.get(path);
        assert_eq!(
            a.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&a.body)
        );
        a.json().unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
    }
}

fn key_of(work: &Path, member: &str) -> SecretKey {
    let path = work.join("nodes").join(member).join("wallet.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    token::keystore::decrypt(&json, PASSWORD.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn shoot(browser: &Browser, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("site-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("{name}.png"));
    browser
        .screenshot(&path)
        .unwrap_or_else(|e| panic!("screenshot {name}: {e:#}"));
}

/// Opens `path`, waits for its heading and returns the page's text.
fn visit(browser: &Browser, hub: &Hub, path: &str, shot: &str) -> String {
    browser
        .goto(&format!("{}{path}", hub.url))
        .unwrap_or_else(|e| panic!("{path}: {e:#}"));
    browser
        .wait_for("h1", WAIT)
        .unwrap_or_else(|e| panic!("{path}: {e:#}"));
    shoot(browser, shot);
    browser
        .find("body")
        .and_then(|b| b.text())
        .unwrap_or_else(|e| panic!("{path}: {e:#}"))
}

fn count(browser: &Browser, css: &str) -> usize {
    browser
        .find_all(css)
        .unwrap_or_else(|e| panic!("{css}: {e:#}"))
        .len()
}

/// A message for this hub signed by `key`, as a wallet would make it.
fn signed_message(hub: &Hub, key: &SecretKey) -> Value {
    let c = hub.get_json("/api/v1/auth/nonce");
    let text = SiweMessage {
        domain: c["domain"].as_str().unwrap_or_default().into(),
        address: key.address(),
        statement: c["statement"].as_str().map(str::to_owned),
        uri: c["uri"].as_str().unwrap_or_default().into(),
        version: "1".into(),
        chain_id: c["chain_id"].as_u64().unwrap_or_default(),
        nonce: c["nonce"].as_str().unwrap_or_default().into(),
        issued_at: hub::unix_now(),
        expiration_time: c["expires"].as_u64(),
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    }
    .to_text();
    let signature = sign_personal(key, text.as_bytes());
    json!({"message": text, "signature": format!("0x{}", hex::encode(signature.0))})
}

fn post_json(hub: &Hub, path: &str, body: &Value) -> Answer {
    hub.call(
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

#[test]
fn the_site_works_in_a_real_browser_against_the_demo_collective() {
    let dir = tempfile::Builder::new()
        .prefix("sb-site-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap_or_else(|e| panic!("{e}"));
    let Some(browser) = Browser::launch(&downloads).unwrap_or_else(|e| panic!("{e:#}")) else {
        return;
    };

    // The demo's collective, left on disk, served by a `seedbank hub` of its own.
    let work = dir.path().join("work");
    let out = Command::new(env!("CARGO_BIN_EXE_seedbank"))
        .args(["demo", "--exit", "--dir"])
        .arg(&work)
        .output()
        .expect("run seedbank demo");
    assert!(
        out.status.success(),
        "demo failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut hub_proc, url) = support::seedbank::start_hub(
        &work.join("hub"),
        &[("SEEDBANK_OPERATOR_PASSWORD", PASSWORD)],
    );
    let hub = Hub {
        addr: url
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("hub URL {url}")),
        url: url.clone(),
    };
    let ann = key_of(&work, "ann");

    // ---- every page, signed out, with the demo's data ----
    let home = visit(&browser, &hub, "/", "home");
    assert!(home.contains("VIDYA"), "{home}");
    assert_eq!(count(&browser, "#vitals .card"), 6, "{home}");
    assert!(home.contains("dungeon-manuals"), "{home}");

    let browse = visit(&browser, &hub, "/torrents", "browse");
    assert_eq!(count(&browser, "#results .torrent-link"), 4, "{browse}");

    // Search from the home page's box.
    browser.goto(&format!("{url}/")).expect("home");
    let search = browser.wait_for("#search", WAIT).expect("search box");
    search.send_keys("maze").expect("type");
    search.press_enter().expect("enter");
    browser
        .wait_until("search results", WAIT, |b| {
            Ok(b.url()?.contains("q=maze") && !b.find_all("#results")?.is_empty())
        })
        .expect("search results");
    shoot(&browser, "search");
    let found = browser.find_all("#results .torrent-link").expect("results");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text().expect("text"), "lost-in-the-maze-1991");
    found[0].click().expect("open the torrent");
    browser.wait_for("h1", WAIT).expect("torrent page");
    let torrent_path = browser.url().expect("url").replace(&url, "");
    let torrent = visit(&browser, &hub, &torrent_path, "torrent");
    assert!(torrent.contains("lost-in-the-maze-1991"), "{torrent}");
    assert!(torrent.contains("lost-in-the-maze.iso"), "{torrent}");
    assert!(
        count(&browser, "svg.chart") >= 3,
        "price, saturation, replicas charts"
    );
    let download = browser.find("#download").expect("download button");
    assert!(download.text().expect("text").contains("Sign in"));

    let member = visit(&browser, &hub, "/members/ann", "member");
    assert!(member.contains(&ann.address().to_checksum()), "{member}");
    assert!(
        count(&browser, "svg.chart") >= 2,
        "vesting and earnings charts"
    );
    assert_eq!(count(&browser, "#passkey"), 0, "no passkey for a visitor");

    let nodes = visit(&browser, &hub, "/nodes", "nodes");
    assert_eq!(count(&browser, "#leaderboard tbody tr"), 5, "{nodes}");
    assert!(nodes.contains("frozen"), "the lazy node is frozen: {nodes}");

    let economy = visit(&browser, &hub, "/economy", "economy");
    assert!(count(&browser, "svg.chart") >= 3, "{economy}");

    let signin = visit(&browser, &hub, "/signin", "signin");
    assert!(signin.contains("seedbank wallet sign-in"), "{signin}");

    // ---- unknown ids: 404 pages and JSON errors ----
    for path in [
        "/torrents/999",
        "/members/nobody",
        "/no/such/page",
        "/torrents/abc",
    ] {
        let a = hub.get(path);
        assert_eq!(a.status, 404, "{path}");
        assert!(
            a.header("content-type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{path}"
        );
    }
    visit(&browser, &hub, "/torrents/999", "not-found");
    for path in [
        "/api/v1/torrents/999",
        "/api/v1/profiles/nobody",
        "/api/v1/torrents/999/market",
        "/api/v1/no/such/route",
    ] {
        let a = hub.get(path);
        assert_eq!(a.status, 404, "{path}");
        let body = a.json().expect("JSON error");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }

    // ---- sign in with a browser wallet: an EIP-1193 provider whose key is the test's ----
    browser.goto(&format!("{url}/signin")).expect("signin");
    browser.wait_for("#wallet-signin", WAIT).expect("button");
    browser
        .execute(
            "const address = arguments[0];
             window.ethereum = { request: async (req) => {
               if (req.method === 'eth_requestAccounts') return [address];
               if (req.method === 'personal_sign') {
                 window.__toSign = req.params[0];
                 return await new Promise((resolve) => {
                   const poll = () => window.__signed ? resolve(window.__signed) : setTimeout(poll, 50);
                   poll();
                 });
               }
               throw new Error('unexpected ' + req.method);
             }};",
            vec![json!(ann.address().to_checksum())],
        )
        .expect("inject the wallet");
    browser
        .find("#wallet-signin")
        .and_then(|b| b.click())
        .expect("click");
    let mut to_sign = Value::Null;
    browser
        .wait_until("the page asks the wallet to sign", WAIT, |b| {
            to_sign = b.execute("return window.__toSign || null", vec![])?;
            Ok(!to_sign.is_null())
        })
        .expect("personal_sign");
    let hex_text = to_sign.as_str().unwrap_or_default();
    let text = hex::decode(hex_text.trim_start_matches("0x")).expect("hex message");
    let message = SiweMessage::parse(std::str::from_utf8(&text).expect("UTF-8")).expect("SIWE");
    assert_eq!(message.address, ann.address());
    let signature = sign_personal(&ann, &text);
    browser
        .execute(
            "window.__signed = arguments[0];",
            vec![json!(format!("0x{}", hex::encode(signature.0)))],
        )
        .expect("hand back the signature");
    browser
        .wait_until("ann's page after sign-in", WAIT, |b| {
            Ok(b.url()?.ends_with("/members/ann") && !b.find_all("#passkey")?.is_empty())
        })
        .expect("signed in");
    shoot(&browser, "member-own");
    let passkey = browser
        .find("#passkey")
        .and_then(|p| p.text())
        .expect("passkey");
    let me = hub.call(
        "GET",
        "/api/v1/me",
        &[("Authorization", &format!("Bearer {passkey}"))],
        b"",
    );
    assert_eq!(
        me.json().expect("me")["name"],
        "ann",
        "the passkey shown is ann's"
    );

    // Signed in, no other page shows it: not another member's, not any public page.
    for path in [
        "/",
        "/torrents",
        &torrent_path,
        "/members/ben",
        "/nodes",
        "/economy",
    ] {
        browser.goto(&format!("{url}{path}")).expect("page");
        browser.wait_for("h1", WAIT).expect("heading");
        let source = browser.source().expect("source");
        assert!(!source.contains(&passkey), "{path} shows ann's passkey");
        assert!(source.contains("ann"), "{path} shows who is signed in");
    }

    // The personal .torrent, downloaded by clicking.
    browser
        .goto(&format!("{url}{torrent_path}"))
        .expect("torrent");
    let download = browser.wait_for("#download", WAIT).expect("download");
    assert!(!download.text().expect("text").contains("Sign in"));
    download.click().expect("download");
    let started = Instant::now();
    let file = loop {
        let done: Vec<PathBuf> = std::fs::read_dir(&downloads)
            .expect("downloads")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "torrent"))
            .collect();
        if let Some(f) = done.into_iter().next() {
            break f;
        }
        assert!(started.elapsed() < WAIT, "no .torrent arrived");
        std::thread::sleep(Duration::from_millis(100));
    };
    let bytes = std::fs::read(&file).expect("read the download");
    let personal = metainfo::Torrent::from_bytes(&bytes).expect("a .torrent");
    assert_eq!(
        personal.announce.as_deref(),
        Some(format!("{url}/announce/{passkey}").as_str())
    );
    assert_eq!(personal.info.name, "lost-in-the-maze-1991");

    // Sign out: the header offers sign-in again and the passkey is gone.
    browser.goto(&format!("{url}/members/ann")).expect("member");
    browser
        .wait_for("form[action='/signout'] button", WAIT)
        .and_then(|b| b.click())
        .expect("sign out");
    browser
        .wait_until("signed out", WAIT, |b| {
            Ok(b.source()?.contains("href=\"/signin\""))
        })
        .expect("signed out");
    browser.goto(&format!("{url}/members/ann")).expect("member");
    browser.wait_for("h1", WAIT).expect("heading");
    assert_eq!(count(&browser, "#passkey"), 0);

    // ---- sign in from the command line: a one-time link for the browser ----
    let out = Command::new(env!("CARGO_BIN_EXE_seedbank"))
        .args(["wallet", "sign-in", &url, "--wallet"])
        .arg(work.join("nodes").join("ben").join("wallet.json"))
        .env("SEEDBANK_PASSWORD", PASSWORD)
        .output()
        .expect("seedbank wallet sign-in");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        link.starts_with(&format!("{url}/signin/redeem?code=")),
        "{link}"
    );
    browser.goto(&link).expect("link");
    // The link asks first: a visit alone signs no one in.
    shoot(&browser, "redeem");
    browser
        .wait_for("#redeem", WAIT)
        .and_then(|b| b.click())
        .expect("confirm the link");
    browser
        .wait_until("ben's page", WAIT, |b| {
            Ok(b.url()?.ends_with("/members/ben") && !b.find_all("#passkey")?.is_empty())
        })
        .expect("signed in by link");
    // A link works once, and its confirmation only from the site's own page.
    assert_eq!(hub.get(&link.replace(&url, "")).status, 401);
    let code = link.rsplit("code=").next().unwrap_or_default();
    let cross_site = hub.call(
        "POST",
        "/signin/redeem",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "http://evil.example"),
        ],
        format!("code={code}").as_bytes(),
    );
    assert_eq!(cross_site.status, 403);

    // ---- sign-in refusals over the API ----
    let signed = signed_message(&hub, &ann);
    let ok = post_json(&hub, "/api/v1/auth/session", &signed);
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let cookie = ok
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    assert!(ok.header("set-cookie").unwrap_or("").contains("HttpOnly"));
    let replay = post_json(&hub, "/api/v1/auth/session", &signed);
    assert_eq!(replay.status, 401, "a replayed message is refused");
    let stranger = SecretKey::generate();
    let forged = post_json(
        &hub,
        "/api/v1/auth/session",
        &signed_message(&hub, &stranger),
    );
    assert_eq!(forged.status, 401, "a non-member is refused");
    let mut tampered = signed_message(&hub, &ann);
    tampered["message"] = json!(
        tampered["message"]
            .as_str()
            .unwrap_or_default()
            .replace("Chain ID: ", "Chain ID: 9")
    );
    assert_eq!(
        post_json(&hub, "/api/v1/auth/session", &tampered).status,
        401,
        "an altered message no longer matches its signature"
    );
    // A cross-site form cannot sign a visitor in: it cannot send JSON without a preflight.
    let as_form = hub.call(
        "POST",
        "/api/v1/auth/session",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        signed_message(&hub, &ann).to_string().as_bytes(),
    );
    assert_eq!(as_form.status, 400, "a form post is refused");
    let session = hub.call("GET", "/api/v1/session", &[("Cookie", &cookie)], b"");
    assert_eq!(session.status, 200);
    assert_eq!(session.header("cache-control"), Some("no-store"));
    assert_eq!(
        session.json().expect("session")["passkey"],
        passkey.as_str()
    );

    // ---- the API answers as its OpenAPI document says ----
    let spec = Spec::load();
    let served = hub.get_json("/api/v1/openapi.json");
    assert_eq!(
        &served,
        spec.document(),
        "the hub serves the document in the tree"
    );
    let latest = hub.get_json("/api/v1/epochs/closed/latest");
    let epoch = latest["epoch"]
        .as_u64()
        .expect("a closed epoch")
        .to_string();
    let address = ann.address().to_checksum();
    let node = hub.get_json(&format!("/api/v1/nodes/{address}"));
    let report = node["report"]["report_hash"]
        .as_str()
        .expect("ann reported")
        .to_owned();
    let bearer = format!("Bearer {passkey}");
    let mut checked = 0;
    for (method, template) in spec.operations() {
        if method != "GET" {
            continue;
        }
        let path: String = template
            .split('/')
            .map(|segment| match segment {
                "{id}" => "1",
                "{name}" => "ann",
                "{address}" => &address,
                "{epoch}" => &epoch,
                "{hash}" => &report,
                other => other,
            })
            .collect::<Vec<_>>()
            .join("/");
        let a = hub.call(
            "GET",
            &path,
            &[("Authorization", &bearer), ("Cookie", &cookie)],
            b"",
        );
        let body = a
            .json()
            .unwrap_or(Value::String(String::from_utf8_lossy(&a.body).into_owned()));
        if path.starts_with("/api/v1/") && a.status == 404 {
            assert_ne!(
                body["error"]["message"], "no such route",
                "{template} is documented but not routed"
            );
        }
        let body = if a.header("content-type").is_some_and(|t| t.contains("json")) {
            body
        } else {
            Value::Null
        };
        spec.check_response("GET", template, a.status, &body)
            .unwrap_or_else(|e| panic!("GET {path} ({}): {e}", a.status));
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} GET operations checked");
    // Bad input gets documented errors.
    for (path, body) in [
        ("/api/v1/transactions", "{not json"),
        ("/api/v1/receipts", "[]"),
        ("/api/v1/auth/session", "{}"),
    ] {
        let a = hub.call(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(a.status, 400, "POST {path} {body}");
        let json = a.json().expect("JSON error");
        spec.check_response("POST", path, a.status, &json)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    }
    let a = post_json(&hub, "/api/v1/auth/session", &signed);
    spec.check_response(
        "POST",
        "/api/v1/auth/session",
        a.status,
        &a.json().expect("json"),
    )
    .expect("refusal documented");

    // ---- operations ----
    let metrics = String::from_utf8_lossy(&hub.get("/metrics").body).into_owned();
    for line in [
        "seedbank_members 5",
        "seedbank_torrents 4",
        "seedbank_audits_total{outcome=\"pass\"}",
        "seedbank_ledger_entries_total",
        "seedbank_epoch_close_seconds_count",
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line}:\n{metrics}");
    }
    let sign_ins: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("seedbank_sign_ins_total "))
        .and_then(|v| v.parse().ok())
        .expect("sign-ins counted");
    assert!(sign_ins >= 3.0, "{metrics}");
    assert_eq!(String::from_utf8_lossy(&hub.get("/healthz").body), "ok\n");

    drop(browser);
    hub_proc.signal("TERM");
    hub_proc.wait_exit(WAIT);
}
