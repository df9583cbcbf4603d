//! Finding the real BitTorrent clients and system tools the interop tests drive.
//!
//! Policy: a missing program fails the test when `CI` is set (CI installs them, so absence is a broken
//! pipeline) and skips it otherwise (a developer without the Debian packages can still run
//! `cargo test --workspace`). Either way the message carries the exact install command.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Reports a missing prerequisite according to the policy above. Returns `None` so callers can write
/// `let Some(x) = find() else { return };`.
pub fn missing<T>(what: &str, remedy: &str) -> Option<T> {
    let message = format!("interop test needs {what}: {remedy}");
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set, so this is a failure, not a skip)");
    }
    eprintln!("SKIPPED: {message}");
    None
}

fn apt(package: &str) -> String {
    format!("install it with `apt-get install -y {package}`")
}

/// The first existing executable among `candidates`, then `name` on PATH.
fn locate(candidates: &[&str], name: &str) -> Option<PathBuf> {
    let fixed = candidates.iter().map(PathBuf::from);
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    fixed.chain(on_path).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A Python interpreter that can `import libtorrent`. Debian's `/usr/bin/python3` comes first: a pyenv
/// `python3` earlier on PATH does not see the Debian package.
pub fn python_libtorrent() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/bin/python3")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("python3")));
    }
    let found = candidates.into_iter().find(|python| {
        is_executable(python)
            && Command::new(python)
                .args(["-c", "import libtorrent"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    });
    found.or_else(|| missing("python3 with libtorrent", &apt("python3-libtorrent")))
}

pub fn aria2c() -> Option<PathBuf> {
    locate(&["/usr/bin/aria2c"], "aria2c").or_else(|| missing("aria2c", &apt("aria2")))
}

pub fn transmission_cli() -> Option<PathBuf> {
    locate(&["/usr/bin/transmission-cli"], "transmission-cli")
        .or_else(|| missing("transmission-cli", &apt("transmission-cli")))
}

pub fn opentracker() -> Option<PathBuf> {
    locate(&["/usr/bin/opentracker"], "opentracker")
        .or_else(|| missing("opentracker", &apt("opentracker")))
}

/// `ip` from iproute2, provided the test runs as root (creating network namespaces needs it).
pub fn netns_tool() -> Option<PathBuf> {
    let ip = locate(&["/usr/bin/ip", "/sbin/ip", "/bin/ip"], "ip")
        .or_else(|| missing("ip (iproute2)", &apt("iproute2")))?;
    if effective_uid() != Some(0) {
        return missing(
            "root to create network namespaces",
            "run the tests as root (CI runs `bash .ci/run` as root)",
        );
    }
    Some(ip)
}

/// The effective uid from /proc, which avoids a libc dependency for one number.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}
