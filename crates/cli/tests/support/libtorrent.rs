//! libtorrent 2.0 as a peer, through `libtorrent_driver.py` run by a Python that has the binding.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::external;
use super::meta::{Format, TorrentSummary};
use super::netns::Place;
use super::process::{Proc, STEP_TIMEOUT};

const DRIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/libtorrent_driver.py"
);

pub struct Libtorrent {
    python: PathBuf,
}

/// A libtorrent session seeding one torrent; killed on drop.
pub struct LtSeeder {
    pub proc: Proc,
    pub addr: SocketAddr,
}

impl Libtorrent {
    /// `None` (or a CI failure) when no Python can import libtorrent.
    pub fn find() -> Option<Libtorrent> {
        external::python_libtorrent().map(|python| Libtorrent { python })
    }

    fn command(&self, args: &[&str]) -> Command {
        self.command_in(&Place::Host, args)
    }

    fn command_in(&self, place: &Place, args: &[&str]) -> Command {
        let mut cmd = place.command(&self.python);
        cmd.arg(DRIVER).args(args);
        cmd
    }

    #[track_caller]
    fn run_json(&self, tag: &str, args: &[&str]) -> TorrentSummary {
        let mut proc = Proc::spawn("libtorrent driver", self.command(args));
        proc.expect_success(STEP_TIMEOUT);
        let prefix = format!("{tag} ");
        let line = proc
            .lines()
            .into_iter()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| {
                panic!(
                    "libtorrent driver printed no `{tag}` line:\n{}",
                    proc.tail()
                )
            });
        TorrentSummary::from_json("libtorrent", &line)
    }

    /// Creates a torrent of `path` (file or directory) with libtorrent's own `create_torrent`.
    #[track_caller]
    pub fn create(
        &self,
        path: &Path,
        out: &Path,
        format: Format,
        piece_size: u32,
        tracker: Option<&str>,
        private: bool,
    ) -> TorrentSummary {
        let piece = piece_size.to_string();
        let mut args = vec![
            "create",
            path_str(path),
            path_str(out),
            "--format",
            format.name(),
            "--piece-size",
            &piece,
        ];
        if let Some(url) = tracker {
            args.extend(["--tracker", url]);
        }
        if private {
            args.push("--private");
        }
        self.run_json("created", &args)
    }

    /// What libtorrent reads from a .torrent file.
    #[track_caller]
    pub fn info(&self, torrent: &Path) -> TorrentSummary {
        self.run_json("info", &["info", path_str(torrent)])
    }

    /// Starts seeding `torrent` from `save_path` on 127.0.0.1 and waits until libtorrent has checked the
    /// data and reports every piece present.
    #[track_caller]
    pub fn seed(&self, torrent: &Path, save_path: &Path) -> LtSeeder {
        self.seed_in(
            &Place::Host,
            IpAddr::from([127, 0, 0, 1]),
            torrent,
            save_path,
        )
    }

    /// Like [`Libtorrent::seed`], in `place`, listening on `ip`. libtorrent also announces to the
    /// torrent's trackers.
    #[track_caller]
    pub fn seed_in(&self, place: &Place, ip: IpAddr, torrent: &Path, save_path: &Path) -> LtSeeder {
        self.seed_with(place, ip, None, torrent, save_path)
    }

    /// Like [`Libtorrent::seed_in`], uploading at most `upload_limit` bytes per second if given.
    #[track_caller]
    pub fn seed_with(
        &self,
        place: &Place,
        ip: IpAddr,
        upload_limit: Option<u64>,
        torrent: &Path,
        save_path: &Path,
    ) -> LtSeeder {
        let listen = SocketAddr::new(ip, 0).to_string();
        let limit = upload_limit.unwrap_or(0).to_string();
        let mut proc = Proc::spawn(
            "libtorrent seeder",
            self.command_in(
                place,
                &[
                    "seed",
                    path_str(torrent),
                    "--save-path",
                    path_str(save_path),
                    "--listen",
                    &listen,
                    "--upload-limit",
                    &limit,
                    "--timeout",
                    "300",
                    "--exit-on-stdin-eof",
                ],
            ),
        );
        let port = proc.wait_for("ready (data checked)", STEP_TIMEOUT, |line| {
            line.strip_prefix("ready port=")?.trim().parse::<u16>().ok()
        });
        LtSeeder {
            proc,
            addr: SocketAddr::new(ip, port),
        }
    }

    /// Starts downloading `torrent` into `save_path`, connecting to `peers`; the process exits 0 once
    /// libtorrent has verified every piece.
    pub fn fetch(&self, torrent: &Path, save_path: &Path, peers: &[SocketAddr]) -> Proc {
        let peers: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
        let extra: Vec<&str> = peers.iter().flat_map(|p| ["--peer", p.as_str()]).collect();
        self.spawn_fetch(torrent, save_path, &extra)
    }

    /// Starts downloading `torrent` into `save_path` from the peers its tracker hands out (no peer
    /// is given directly). After `done` it keeps seeding until SIGTERM or SIGINT, then pauses the
    /// torrent, which announces `stopped`, and prints `stopped uploaded=<U> downloaded=<D> ...` (see
    /// [`stopped_counters`]). A peer that fails is dialled again after `min_reconnect_secs`.
    pub fn fetch_via_tracker(
        &self,
        torrent: &Path,
        save_path: &Path,
        min_reconnect_secs: u32,
    ) -> Proc {
        let reconnect = min_reconnect_secs.to_string();
        let extra = ["--keep-seeding", "--min-reconnect-time", &reconnect];
        self.spawn_fetch(torrent, save_path, &extra)
    }

    fn spawn_fetch(&self, torrent: &Path, save_path: &Path, extra: &[&str]) -> Proc {
        let timeout = STEP_TIMEOUT.as_secs().to_string();
        let mut args = vec![
            "fetch",
            path_str(torrent),
            "--save-path",
            path_str(save_path),
            "--listen",
            "127.0.0.1:0",
            "--timeout",
            &timeout,
            "--exit-on-stdin-eof",
        ];
        args.extend_from_slice(extra);
        Proc::spawn("libtorrent downloader", self.command(&args))
    }
}

/// Waits for a libtorrent `fetch` to finish and returns libtorrent's own transfer time.
#[track_caller]
pub fn expect_fetched(proc: &mut Proc) -> Duration {
    proc.expect_success(STEP_TIMEOUT);
    let seconds = proc
        .lines()
        .iter()
        .find_map(|l| {
            let rest = l.strip_prefix("done seconds=")?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "libtorrent downloader exited 0 without `done`:\n{}",
                proc.tail()
            )
        });
    Duration::from_secs_f64(seconds)
}

pub fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("test paths are UTF-8, got {path:?}"))
}

/// A `fetch --keep-seeding`'s session counters when it announced `stopped`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoppedCounters {
    /// Payload bytes sent.
    pub uploaded: u64,
    /// Payload bytes received, including redundant and failed ones.
    pub downloaded: u64,
    /// Bytes received twice (endgame duplicates, blocks that arrived after a cancel).
    pub redundant: u64,
    /// Bytes of pieces that failed their hash check.
    pub failed: u64,
}

impl StoppedCounters {
    /// What libtorrent puts in an announce's `downloaded` with its default settings
    /// (`report_true_downloaded` off): payload minus failed minus redundant bytes.
    pub fn announced_downloaded(&self) -> u64 {
        self.downloaded.saturating_sub(self.failed + self.redundant)
    }
}

/// The counters from a `fetch --keep-seeding`'s `stopped uploaded=.. downloaded=.. redundant=..
/// failed=..` line.
pub fn stopped_counters(proc: &Proc) -> Option<StoppedCounters> {
    proc.lines().iter().find_map(|l| {
        let rest = l.strip_prefix("stopped ")?;
        let field = |name: &str| {
            rest.split_whitespace().find_map(|kv| {
                kv.strip_prefix(name)?
                    .strip_prefix('=')?
                    .parse::<u64>()
                    .ok()
            })
        };
        Some(StoppedCounters {
            uploaded: field("uploaded")?,
            downloaded: field("downloaded")?,
            redundant: field("redundant")?,
            failed: field("failed")?,
        })
    })
}
