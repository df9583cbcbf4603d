//! The WebDriver client the browser tests use, against a tiny static site served from this process:
//! navigation, finding, text, attributes, clicks, typing and Enter, sync and async scripts, waiting, a
//! screenshot and a file download. Without chromium (and `CI` unset) it prints the install command and
//! passes.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::webdriver::{Browser, base64_decode};

const WAIT: Duration = Duration::from_secs(15);
const DOWNLOAD_BODY: &str = "seedbank webdriver smoke download\n";

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webdriver smoke</title></head>
<body>
<h1 id="heading">Smoke</h1>
<p id="out">static</p>
<form id="form" action="/submitted" method="get">
  <input id="q" name="q" type="text"><button id="go" type="submit">Go</button>
</form>
<a id="dl" href="/download/hello.txt">download</a>
<button id="count" type="button" onclick="this.textContent = String(Number(this.textContent) + 1)">0</button>
<ul id="list"><li class="item">a</li><li class="item">b</li><li class="item">c</li></ul>
<div style="height: 3000px">tall</div>
<p id="bottom">bottom</p>
<script>
  document.getElementById('out').textContent = 'set by script';
  setTimeout(function () {
    var p = document.createElement('p');
    p.id = 'late';
    p.textContent = 'arrived late';
    document.body.appendChild(p);
  }, 300);
</script>
</body></html>
"#;

/// Serves the test site on a loopback port until the process ends; returns its base URL.
fn serve() -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // One thread per connection: a speculative connection that never sends must not block others.
            thread::spawn(move || {
                let _ = answer(stream);
            });
        }
    });
    base
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim_end().is_empty() {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, kind, extra, body) = match target.split_once('?') {
        _ if target == "/" => ("200 OK", "text/html; charset=utf-8", "", PAGE.to_owned()),
        Some(("/submitted", query)) => (
            "200 OK",
            "text/html; charset=utf-8",
            "",
            format!("<!doctype html><title>submitted</title><p id=\"echo\">{query}</p>"),
        ),
        _ if target == "/download/hello.txt" => (
            "200 OK",
            "application/octet-stream",
            "Content-Disposition: attachment; filename=\"hello.txt\"\r\n",
            DOWNLOAD_BODY.to_owned(),
        ),
        _ => ("404 Not Found", "text/plain", "", "not found".to_owned()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn base64_decodes_known_vectors() {
    for (text, bytes) in [
        ("", &b""[..]),
        ("Zg==", b"f"),
        ("Zm8=", b"fo"),
        ("Zm9v", b"foo"),
        ("Zm9vYg==", b"foob"),
        ("Zm9vYmFy", b"foobar"),
        ("iVBORw0K\nGgo=", b"\x89PNG\r\n\x1a\n"),
    ] {
        assert_eq!(base64_decode(text).unwrap(), bytes, "{text:?}");
    }
    assert!(base64_decode("Zm9v!").is_err());
}

#[test]
fn chromium_runs_a_page_through_webdriver() {
    let scratch = tempfile::Builder::new()
        .prefix("sb-webdriver-")
        .tempdir()
        .unwrap();
    let downloads = scratch.path().join("downloads");
    let started = Instant::now();
    let Some(browser) = Browser::launch(&downloads).unwrap() else {
        eprintln!("webdriver_smoke: skipped, no browser");
        return;
    };
    eprintln!("webdriver_smoke: launch took {:?}", started.elapsed());
    let base = serve();

    // Navigation and reading the page.
    browser.goto(&format!("{base}/")).unwrap();
    assert_eq!(browser.title().unwrap(), "webdriver smoke");
    assert_eq!(browser.url().unwrap(), format!("{base}/"));
    assert!(browser.source().unwrap().contains("id=\"dl\""));
    assert_eq!(
        browser.find("#out").unwrap().text().unwrap(),
        "set by script"
    );
    assert_eq!(browser.find("#heading").unwrap().tag_name().unwrap(), "h1");

    // Lists, scoped finds, attributes.
    let items: Vec<String> = browser
        .find_all(".item")
        .unwrap()
        .iter()
        .map(|e| e.text().unwrap())
        .collect();
    assert_eq!(items, ["a", "b", "c"]);
    assert!(browser.find_all(".absent").unwrap().is_empty());
    let list = browser.find("#list").unwrap();
    assert_eq!(list.find(".item").unwrap().text().unwrap(), "a");
    assert_eq!(list.find_all("li").unwrap().len(), 3);
    let link = browser.find("#dl").unwrap();
    assert_eq!(
        link.attr("href").unwrap().as_deref(),
        Some("/download/hello.txt")
    );
    assert_eq!(link.attr("data-absent").unwrap(), None);

    // A failed find names the selector and the page.
    let error = format!("{:#}", browser.find("#no-such-thing").err().unwrap());
    assert!(error.contains("#no-such-thing"), "{error}");
    assert!(error.contains(&base), "{error}");
    assert!(error.contains("no such element"), "{error}");
    let error = format!("{:#}", list.find("#nested-absent").err().unwrap());
    assert!(
        error.contains("#nested-absent") && error.contains("#list"),
        "{error}"
    );

    // Clicks and waiting for what a script adds later.
    let counter = browser.find("#count").unwrap();
    counter.click().unwrap();
    counter.click().unwrap();
    assert_eq!(counter.text().unwrap(), "2");
    assert_eq!(
        browser.wait_for("#late", WAIT).unwrap().text().unwrap(),
        "arrived late"
    );
    let error = format!(
        "{:#}",
        browser
            .wait_for("#never", Duration::from_millis(300))
            .err()
            .unwrap()
    );
    assert!(error.contains("#never"), "{error}");
    let quick = Instant::now();
    let error = format!("{:#}", browser.wait_for("[[bad", WAIT).err().unwrap());
    assert!(error.contains("invalid selector"), "{error}");
    assert!(
        quick.elapsed() < WAIT,
        "an invalid selector is not worth waiting for"
    );

    // Scripts, sync and async, with an element passed in and one returned.
    assert_eq!(
        browser
            .execute(
                "return arguments[0] + arguments[1];",
                vec![json!(2), json!(3)]
            )
            .unwrap(),
        json!(5)
    );
    let out = browser.find("#out").unwrap();
    assert_eq!(
        browser
            .execute("return arguments[0].id;", vec![out.json()])
            .unwrap(),
        json!("out")
    );
    let returned = browser
        .execute("return document.getElementById('bottom');", vec![])
        .unwrap();
    assert_eq!(
        browser.element(&returned).unwrap().text().unwrap(),
        "bottom"
    );
    let doubled = browser
        .execute_async(
            "var n = arguments[0], done = arguments[arguments.length - 1];
             setTimeout(function () { done(n * 2); }, 50);",
            vec![json!(21)],
        )
        .unwrap();
    assert_eq!(doubled, json!(42));
    let error = format!(
        "{:#}",
        browser
            .execute("throw new Error('boom');", vec![])
            .err()
            .unwrap()
    );
    assert!(error.contains("boom"), "{error}");

    // A full-page screenshot, and the window as it was afterwards.
    let viewport = browser
        .execute("return window.innerHeight;", vec![])
        .unwrap();
    let shot = scratch.path().join("page.png");
    browser.screenshot(&shot).unwrap();
    let (width, height) = png_size(&shot);
    eprintln!("webdriver_smoke: screenshot {width}x{height}");
    assert!(
        height > 3000,
        "expected the whole 3000+ px page, got {width}x{height}"
    );
    assert_eq!(
        browser
            .execute("return window.innerHeight;", vec![])
            .unwrap(),
        viewport
    );
    browser.set_window_size(800, 600).unwrap();
    assert_eq!(
        browser
            .execute("return window.outerWidth;", vec![])
            .unwrap(),
        json!(800)
    );
    browser.screenshot(&shot).unwrap();
    assert!(png_size(&shot).1 > 3000);

    // A download link saves into the download directory.
    browser.find("#dl").unwrap().click().unwrap();
    let saved = downloads.join("hello.txt");
    let deadline = Instant::now() + WAIT;
    while std::fs::read_to_string(&saved).ok().as_deref() != Some(DOWNLOAD_BODY) {
        assert!(
            Instant::now() < deadline,
            "no download in {}: {:?}",
            downloads.display(),
            std::fs::read_dir(&downloads)
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
        thread::sleep(Duration::from_millis(100));
    }

    // Typing and Enter submit the form.
    let query = browser.find("#q").unwrap();
    query.send_keys("hello").unwrap();
    assert_eq!(query.prop("value").unwrap(), json!("hello"));
    query.press_enter().unwrap();
    browser
        .wait_until("the form's answer", WAIT, |b| {
            Ok(b.url()?.ends_with("/submitted?q=hello"))
        })
        .unwrap();
    assert_eq!(
        browser.wait_for("#echo", WAIT).unwrap().text().unwrap(),
        "q=hello"
    );
    assert_eq!(browser.title().unwrap(), "submitted");
    browser.back().unwrap();
    assert_eq!(browser.title().unwrap(), "webdriver smoke");

    let closing = Instant::now();
    drop(browser);
    eprintln!("webdriver_smoke: closing took {:?}", closing.elapsed());
}
