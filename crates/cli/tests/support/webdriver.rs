//! A small blocking W3C WebDriver client: Debian's `chromium`, headless, driven through `chromedriver` with
//! JSON over HTTP/1.1 on loopback (a minimal client on `std::net::TcpStream`, one connection per command).
//!
//! Policy as in `external`: missing programs fail the test when `CI` is set and skip it otherwise, and the
//! message carries the install command.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// What installs both programs on Debian.
pub const INSTALL: &str = "apt-get install chromium chromium-driver";
/// The Enter key for [`Element::send_keys`]; submits a form from one of its inputs.
pub const ENTER: &str = "\u{E007}";
/// The key under which WebDriver serializes an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to answer `GET /status` with `ready: true`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound for one command's answer (starting the browser and loading a page included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// Session timeouts, in milliseconds: `execute_async` scripts and page loads.
const SCRIPT_TIMEOUT_MS: u64 = 30_000;
const PAGE_LOAD_TIMEOUT_MS: u64 = 60_000;
/// A full-page screenshot grows the window at most to this height (larger pages are cut there).
const MAX_SCREENSHOT_HEIGHT: i64 = 16_384;
/// How many trailing lines of chromedriver's output an error quotes.
const LOG_TAIL_LINES: usize = 30;

/// A headless chromium session. Dropping it deletes the session (which quits chromium), then kills
/// chromedriver and anything left in its process group, then removes the temporary profile.
pub struct Browser {
    session: Arc<Session>,
    // Fields drop in this order, after `Drop::drop`: the driver is gone before its directory is removed.
    driver: Driver,
    _scratch: tempfile::TempDir,
}

/// An element found in the page (a WebDriver element reference).
#[derive(Clone)]
pub struct Element {
    session: Arc<Session>,
    id: String,
    /// How it was found, for error messages.
    selector: String,
}

impl Browser {
    /// Finds chromedriver and chromium (env `CHROMEDRIVER` / `CHROMIUM` override, then /usr/bin, then PATH),
    /// starts chromedriver on a free loopback port and opens a session whose downloads land in
    /// `download_dir`. If a program is missing: an error naming [`INSTALL`] when `CI` is set, otherwise
    /// `Ok(None)` after printing that message, so the test can skip.
    pub fn launch(download_dir: &Path) -> Result<Option<Browser>> {
        let driver = locate("CHROMEDRIVER", &["chromedriver"]);
        let chromium = locate("CHROMIUM", &["chromium", "chromium-browser"]);
        let (driver, chromium) = match (driver, chromium) {
            (Ok(d), Ok(c)) => (d, c),
            (d, c) => {
                let missing: Vec<String> = [d.err(), c.err()].into_iter().flatten().collect();
                let message = format!(
                    "browser test needs {}: install with `{INSTALL}`",
                    missing.join(" and ")
                );
                if std::env::var_os("CI").is_some() {
                    bail!("{message} (CI is set, so this is a failure, not a skip)");
                }
                eprintln!("SKIPPED: {message}");
                return Ok(None);
            }
        };
        std::fs::create_dir_all(download_dir)
            .with_context(|| format!("creating download dir {}", download_dir.display()))?;
        let download_dir = download_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", download_dir.display()))?;
        let scratch = tempfile::Builder::new()
            .prefix("sb-chromium-")
            .tempdir()
            .context("creating a temporary chromium profile")?;
        let driver = Driver::start(&driver, scratch.path())?;
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": {
                        "implicit": 0,
                        "script": SCRIPT_TIMEOUT_MS,
                        "pageLoad": PAGE_LOAD_TIMEOUT_MS,
                    },
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--window-size=1280,900",
                            "--lang=en-US",
                            "--no-first-run",
                            "--no-default-browser-check",
                            format!("--user-data-dir={}", scratch.path().join("profile").display()),
                        ],
                        "prefs": {
                            "download.default_directory": download_dir,
                            "download.prompt_for_download": false,
                            "download.directory_upgrade": true,
                            "safebrowsing.enabled": false,
                        },
                    },
                },
            },
        });
        let created = request(
            driver.port,
            "POST",
            "/session",
            Some(&capabilities),
            COMMAND_TIMEOUT,
        )
        .map_err(|e| anyhow!("{e:#}\nchromedriver output:\n{}", driver.log_tail()))?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("POST /session answered without a sessionId: {created}"))?
            .to_owned();
        Ok(Some(Browser {
            session: Arc::new(Session {
                port: driver.port,
                id,
            }),
            driver,
            _scratch: scratch,
        }))
    }

    /// Navigates and waits for the page to load.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.session.post("/url", json!({ "url": url }))?;
        Ok(())
    }

    pub fn url(&self) -> Result<String> {
        string(self.session.get("/url")?)
    }

    pub fn title(&self) -> Result<String> {
        string(self.session.get("/title")?)
    }

    /// The serialized DOM as it is now.
    pub fn source(&self) -> Result<String> {
        string(self.session.get("/source")?)
    }

    pub fn back(&self) -> Result<()> {
        self.session.post("/back", json!({}))?;
        Ok(())
    }

    pub fn refresh(&self) -> Result<()> {
        self.session.post("/refresh", json!({}))?;
        Ok(())
    }

    /// The first element matching the CSS selector; the error names the selector and the current URL.
    pub fn find(&self, css: &str) -> Result<Element> {
        find_one(&self.session, "", css)
    }

    /// Every element matching the CSS selector (possibly none).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        find_many(&self.session, "", css)
    }

    /// Polls for an element matching `css` until `timeout` (an invalid selector fails at once).
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css) {
                Ok(element) => return Ok(element),
                Err(e)
                    if Instant::now() >= deadline
                        || format!("{e:#}").contains("invalid selector") =>
                {
                    return Err(e.context(format!("waited {timeout:?} for `{css}`")));
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Polls `condition` until it returns true or `timeout` passes; `what` names it in the error.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut(&Browser) -> Result<bool>,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = condition(self);
            if let Ok(true) = last {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let url = self.session.current_url();
                return Err(match last {
                    Err(e) => e.context(format!("waited {timeout:?} for {what} on {url}")),
                    _ => anyhow!("waited {timeout:?} for {what} on {url}"),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `script` as the body of a function (`arguments` are `args`; pass elements with
    /// [`Element::json`]) and returns what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.session
            .post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Like [`Browser::execute`], but the result is what the script passes to its callback, the last
    /// element of `arguments`.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.session
            .post("/execute/async", json!({ "script": script, "args": args }))
    }

    /// The element a script returned.
    pub fn element(&self, value: &Value) -> Result<Element> {
        element(&self.session, value, "<script result>")
    }

    /// Saves a PNG of the whole page: the window grows to the document's height for the shot (up to
    /// 16384 px) and is restored after. If chromium refuses to grow it, the shot is of the viewport.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let sizes = self.execute(
            "const d = document.documentElement;
             return [Math.max(d.scrollHeight, document.body ? document.body.scrollHeight : 0),
                     window.innerHeight, window.outerHeight - window.innerHeight];",
            vec![],
        )?;
        let number = |i: usize| sizes[i].as_i64().unwrap_or(0);
        let (page, viewport, chrome) = (number(0), number(1), number(2));
        let rect = self.session.get("/window/rect")?;
        let grow = page > viewport;
        if grow {
            let height = (page + chrome.max(0)).min(MAX_SCREENSHOT_HEIGHT);
            // Best effort: a refusal leaves a viewport shot.
            let _ = self.session.post(
                "/window/rect",
                json!({ "width": rect["width"], "height": height }),
            );
        }
        let shot = self.session.get("/screenshot");
        if grow {
            self.session.post(
                "/window/rect",
                json!({ "width": rect["width"], "height": rect["height"] }),
            )?;
        }
        let png = base64_decode(&string(shot?)?).context("decoding the screenshot")?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Sets the outer window size (in headless chromium, the viewport plus nothing or very little).
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.session
            .post("/window/rect", json!({ "width": width, "height": height }))?;
        Ok(())
    }

    /// The session id, for logs.
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    /// What chromedriver printed so far (its last lines), for failure messages.
    pub fn driver_log(&self) -> String {
        self.driver.log_tail()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session.id);
        if let Err(e) = request(
            self.session.port,
            "DELETE",
            &path,
            None,
            Duration::from_secs(15),
        ) {
            eprintln!("webdriver: deleting the session failed (chromium is killed instead): {e:#}");
        }
    }
}

impl Element {
    /// The rendered text.
    pub fn text(&self) -> Result<String> {
        string(self.call("GET", "/text", None)?)
    }

    /// An attribute as written in the markup, `None` if absent.
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        let value = self.call("GET", &format!("/attribute/{name}"), None)?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// A DOM property (an input's current `value`, `checked`, …).
    pub fn prop(&self, name: &str) -> Result<Value> {
        self.call("GET", &format!("/property/{name}"), None)
    }

    pub fn tag_name(&self) -> Result<String> {
        string(self.call("GET", "/name", None)?)
    }

    pub fn click(&self) -> Result<()> {
        self.call("POST", "/click", Some(json!({})))?;
        Ok(())
    }

    /// Types `text` (may contain key codes such as [`ENTER`]).
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.call("POST", "/value", Some(json!({ "text": text })))?;
        Ok(())
    }

    /// Presses Enter in this element, which submits its form.
    pub fn press_enter(&self) -> Result<()> {
        self.send_keys(ENTER)
    }

    pub fn clear(&self) -> Result<()> {
        self.call("POST", "/clear", Some(json!({})))?;
        Ok(())
    }

    /// The first descendant matching `css`; the error names both selectors and the current URL.
    pub fn find(&self, css: &str) -> Result<Element> {
        find_one(&self.session, &format!("/element/{}", self.id), css)
            .with_context(|| format!("looking inside `{}`", self.selector))
    }

    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        find_many(&self.session, &format!("/element/{}", self.id), css)
    }

    /// The reference to pass this element to a script.
    pub fn json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn call(&self, method: &str, suffix: &str, body: Option<Value>) -> Result<Value> {
        let suffix = format!("/element/{}{suffix}", self.id);
        self.session
            .call(method, &suffix, body)
            .with_context(|| format!("element `{}`", self.selector))
    }
}

/// One WebDriver session on one chromedriver.
struct Session {
    port: u16,
    id: String,
}

impl Session {
    /// `method` on `/session/{id}{suffix}`; returns the answer's `value`.
    fn call(&self, method: &str, suffix: &str, body: Option<Value>) -> Result<Value> {
        let path = format!("/session/{}{suffix}", self.id);
        request(self.port, method, &path, body.as_ref(), COMMAND_TIMEOUT)
    }

    fn get(&self, suffix: &str) -> Result<Value> {
        self.call("GET", suffix, None)
    }

    fn post(&self, suffix: &str, body: Value) -> Result<Value> {
        self.call("POST", suffix, Some(body))
    }

    /// The current URL for error messages; never fails.
    fn current_url(&self) -> String {
        match self.get("/url") {
            Ok(Value::String(url)) => url,
            Ok(other) => other.to_string(),
            Err(e) => format!("<url unknown: {e}>"),
        }
    }
}

fn find_one(session: &Arc<Session>, scope: &str, css: &str) -> Result<Element> {
    let body = json!({ "using": "css selector", "value": css });
    match session.post(&format!("{scope}/element"), body) {
        Ok(value) => element(session, &value, css),
        Err(e) => Err(e.context(format!(
            "no element matches `{css}` on {}",
            session.current_url()
        ))),
    }
}

fn find_many(session: &Arc<Session>, scope: &str, css: &str) -> Result<Vec<Element>> {
    let body = json!({ "using": "css selector", "value": css });
    let found = session
        .post(&format!("{scope}/elements"), body)
        .with_context(|| format!("finding `{css}` on {}", session.current_url()))?;
    let list = found
        .as_array()
        .ok_or_else(|| anyhow!("finding `{css}`: expected a list, got {found}"))?;
    list.iter().map(|v| element(session, v, css)).collect()
}

fn element(session: &Arc<Session>, value: &Value, selector: &str) -> Result<Element> {
    let id = value[ELEMENT_KEY]
        .as_str()
        .ok_or_else(|| anyhow!("`{selector}`: not an element reference: {value}"))?;
    Ok(Element {
        session: Arc::clone(session),
        id: id.to_owned(),
        selector: selector.to_owned(),
    })
}

fn string(value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(anyhow!("expected a string from WebDriver, got {other}")),
    }
}

/// The running chromedriver. Dropping it kills its process group (chromedriver and any chromium it
/// left behind) and reaps it.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it reports ready. A port taken between
    /// choosing and binding it makes chromedriver exit; that is retried on another port.
    fn start(program: &Path, scratch: &Path) -> Result<Driver> {
        let mut last_failure = String::new();
        for attempt in 1..=3 {
            let port = free_port()?;
            let log = scratch.join(format!("chromedriver-{attempt}.log"));
            let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
            let err = out.try_clone()?;
            let mut cmd = Command::new(program);
            cmd.arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            // Its own process group, so dropping it can also end a chromium it failed to quit.
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd
                .spawn()
                .with_context(|| format!("starting {}", program.display()))?;
            let mut driver = Driver { child, port, log };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                Err(e) => {
                    last_failure = format!("{e:#}\nchromedriver output:\n{}", driver.log_tail())
                }
            }
            // `driver` drops here: killed and reaped before the next attempt.
        }
        bail!("chromedriver did not become ready (3 attempts); last: {last_failure}")
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited ({status}) on port {}", self.port);
            }
            let answer = request(self.port, "GET", "/status", None, Duration::from_secs(2));
            if let Ok(value) = &answer
                && value["ready"] == Value::Bool(true)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "chromedriver on port {} not ready after {READY_TIMEOUT:?}: {}",
                    self.port,
                    match answer {
                        Ok(v) => v.to_string(),
                        Err(e) => format!("{e:#}"),
                    }
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // The group id is chromedriver's pid (process_group(0)); it is still ours until reaped below.
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `CHROMIUM`-style override first, then /usr/bin, then PATH. The error says what is missing.
fn locate(env: &str, names: &[&str]) -> std::result::Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "{} (from {env}, not an executable)",
                path.display()
            ))
        };
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let dirs = std::iter::once(PathBuf::from("/usr/bin")).chain(path_dirs);
    dirs.flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("{} (not in /usr/bin or on PATH; or set {env})", names[0]))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// One WebDriver command over a fresh HTTP/1.1 connection to chromedriver on loopback. Returns the
/// answer's `value`; an error answer becomes an error carrying its JSON (without the stack trace).
fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Value> {
    let what = format!("{method} {path}");
    let (status, bytes) =
        http(port, method, path, body, timeout).with_context(|| format!("webdriver {what}"))?;
    let mut answer: Value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "webdriver {what}: HTTP {status} with a body that is not JSON: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
        )
    })?;
    let value = answer["value"].take();
    if status >= 400 || value.get("error").is_some() {
        let mut error = value;
        if let Some(fields) = error.as_object_mut() {
            fields.remove("stacktrace");
        }
        bail!("webdriver {what}: HTTP {status}: {error}");
    }
    // `POST /session` answers `{value: {sessionId, capabilities}}`; everything else has its result in value.
    Ok(value)
}

fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>)> {
    let body = match (body, method) {
        (Some(b), _) => b.to_string(),
        // W3C commands sent with POST take a JSON object even when they have no parameters.
        (None, "POST") => "{}".to_owned(),
        (None, _) => String::new(),
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let headers = [("Content-Type", "application/json; charset=utf-8")];
    let answer = http_call(addr, method, path, &headers, body.as_bytes(), timeout)?;
    Ok((answer.status, answer.body))
}

/// An HTTP answer: status, headers (names lower-cased) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "HTTP {} body is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

/// One HTTP/1.1 request over a fresh loopback connection (chromedriver's, or a hub's in tests).
pub fn http_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;

    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad HTTP status line {line:?}"))?;
    let mut length = None;
    let mut chunked = false;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("connection closed inside the HTTP headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().context("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
        headers.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    let mut bytes = Vec::new();
    if method == "HEAD" || status == 204 || status == 304 {
        // No body.
    } else if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_text, 16)
                .with_context(|| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                break;
            }
            let start = bytes.len();
            bytes.resize(start + size, 0);
            reader.read_exact(&mut bytes[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = length {
        bytes.resize(length, 0);
        reader.read_exact(&mut bytes)?;
    } else {
        reader.read_to_end(&mut bytes)?;
    }
    Ok(Answer {
        status,
        headers,
        body: bytes,
    })
}

/// Standard base64 (with or without padding, whitespace ignored), as WebDriver sends screenshots.
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        if c == b'=' {
            break;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        let v = sextet(c).ok_or_else(|| anyhow!("invalid base64 byte {c:#04x}"))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}
