//! opentracker as the HTTP tracker of tracker-based interop tests.
//!
//! Debian builds opentracker with an access whitelist, so the info-hashes must be known before it starts;
//! the port must be known even earlier (it is part of the announce URL in the .torrent). Callers therefore
//! pick a port, create the torrent, then start the tracker, and retry with a new port if it was taken.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::netns::Place;
use super::process::{Proc, STEP_TIMEOUT};

pub struct Opentracker {
    proc: Proc,
    place: Place,
    pub addr: SocketAddr,
    /// Chroot of the tracker (it drops to `nobody` inside it); holds the whitelist.
    _dir: TempDir,
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port on 127.0.0.1: {e}"))
}

/// The announce URL for a tracker at `addr`. The path starts with `/announce` because libtorrent-based
/// clients skip a tracker on localhost otherwise.
pub fn announce_url(addr: SocketAddr) -> String {
    format!("http://{addr}/announce")
}

impl Opentracker {
    /// Starts opentracker at `addr` (as seen from `place`), allowing only `info_hashes`, and waits until it
    /// answers HTTP. Errors (for example the port was taken meanwhile) carry the tracker's output.
    pub fn start(
        bin: &Path,
        place: &Place,
        addr: SocketAddr,
        info_hashes: &[[u8; 20]],
    ) -> Result<Opentracker, String> {
        let dir = tempfile::Builder::new()
            .prefix("opentracker-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let whitelist: String = info_hashes
            .iter()
            .map(|h| format!("{}\n", hex(h)))
            .collect();
        let list = dir.path().join("whitelist");
        fs::write(&list, whitelist).map_err(|e| format!("write {list:?}: {e}"))?;
        // Readable by `nobody`, which opentracker becomes after chroot when started as root.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .and_then(|_| fs::set_permissions(&list, fs::Permissions::from_mode(0o644)))
            .map_err(|e| format!("chmod {dir:?}: {e}"))?;
        let mut cmd = place.command(bin);
        cmd.args(["-i", &addr.ip().to_string(), "-p", &addr.port().to_string()])
            .arg("-d")
            .arg(dir.path())
            // Resolved inside the chroot.
            .args(["-w", "whitelist"]);
        let mut tracker = Opentracker {
            proc: Proc::spawn("opentracker", cmd),
            place: place.clone(),
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = tracker.proc.try_status() {
                return Err(format!(
                    "opentracker exited ({status}) on {addr}:\n{}",
                    tracker.proc.tail()
                ));
            }
            match tracker
                .place
                .http_get(addr, "/scrape", Duration::from_secs(2))
            {
                Ok(response) if response.starts_with("HTTP/") => return Ok(tracker),
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(50))
                }
                other => {
                    return Err(format!(
                        "opentracker on {addr} does not answer: {other:?}\n{}",
                        tracker.proc.tail()
                    ));
                }
            }
        }
    }

    /// Seeders and leechers the tracker knows for `info_hash`, from a scrape.
    pub fn scrape(&self, info_hash: &[u8; 20]) -> Result<(u64, u64), String> {
        let path = format!("/scrape?info_hash={}", percent_encode(info_hash));
        let response = self
            .place
            .http_get(self.addr, &path, Duration::from_secs(5))?;
        let count = |key: &str| -> Result<u64, String> {
            let marker = format!("{}:{key}i", key.len());
            let start = response
                .find(&marker)
                .ok_or_else(|| format!("scrape response lacks `{key}`: {response:?}"))?
                + marker.len();
            let digits: String = response[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .map_err(|e| format!("scrape `{key}` is not a number ({e}): {response:?}"))
        };
        Ok((count("complete")?, count("incomplete")?))
    }

    /// Waits until at least `n` seeders have announced `info_hash`, so a downloader started afterwards gets
    /// them in its first announce reply (clients re-announce only every few minutes).
    pub fn wait_for_seeders(&self, info_hash: &[u8; 20], n: u64, seeder: &Proc) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.scrape(info_hash) {
                Ok((complete, _)) if complete >= n => return,
                Ok(counts) => last = format!("(seeders, leechers) = {counts:?}"),
                Err(e) => last = e,
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no announce from {} reached the tracker within {STEP_TIMEOUT:?} (last scrape: {last});\n\
             seeder output:\n{}\ntracker output:\n{}",
            seeder.name(),
            seeder.tail(),
            self.proc.tail()
        );
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Host-namespace tracker on 127.0.0.1: `make_torrents` gets the announce URL and returns the v1
/// info-hashes to whitelist; on a port clash both steps run again with a new port.
pub fn start_on_loopback<T>(
    bin: &Path,
    mut make_torrents: impl FnMut(&str) -> (T, Vec<[u8; 20]>),
) -> (Opentracker, T) {
    let mut errors = Vec::new();
    for _ in 0..3 {
        let addr = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), free_port());
        let (made, hashes) = make_torrents(&announce_url(addr));
        match Opentracker::start(bin, &Place::Host, addr, &hashes) {
            Ok(tracker) => return (tracker, made),
            Err(e) => errors.push(e),
        }
    }
    panic!(
        "opentracker did not start in 3 attempts:\n{}",
        errors.join("\n")
    );
}
