//! Where a test process runs: the host's own network namespace (loopback only) or a network namespace the
//! test created. Namespaces exist for clients that refuse loopback peers (Transmission 3 drops tracker
//! peers on 127/8): a veth pair joins two private namespaces, and the addresses on it exist only inside
//! them, never in the host's namespace.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::process::Proc;

#[derive(Clone, Debug)]
pub enum Place {
    Host,
    Netns { ip: PathBuf, name: String },
}

impl Place {
    /// A command that runs `program` here. `ip netns exec` execs the program in place, so the child's pid
    /// is the program's own and killing it needs no process-group handling.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        match self {
            Place::Host => Command::new(program),
            Place::Netns { ip, name } => {
                let mut cmd = Command::new(ip);
                cmd.args(["netns", "exec", name]).arg(program);
                cmd
            }
        }
    }

    /// An HTTP/1.0 GET of `path` from `addr`, as seen from this place; returns the raw response with
    /// non-UTF-8 bytes replaced (callers look only for ASCII markers such as bencoded keys).
    ///
    /// Inside a namespace the request goes through bash's `/dev/tcp`, because the test process itself
    /// lives in the host namespace and entering another one would need setns(2) and unsafe code.
    pub fn http_get(
        &self,
        addr: SocketAddr,
        path: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        match self {
            Place::Host => host_http_get(addr, path, timeout),
            Place::Netns { .. } => {
                let mut cmd = self.command("bash");
                cmd.arg("-c")
                    .arg(concat!(
                        r#"exec 3<>"/dev/tcp/$1/$2" || exit 7; "#,
                        r#"printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$3" "$1" "$2" >&3; "#,
                        r#"cat <&3"#
                    ))
                    .args([
                        "bash",
                        &addr.ip().to_string(),
                        &addr.port().to_string(),
                        path,
                    ]);
                let mut proc = Proc::spawn("http get", cmd);
                let status = proc.wait_exit(timeout);
                if status.success() {
                    Ok(proc.lines().join("\n"))
                } else {
                    Err(format!(
                        "GET http://{addr}{path} failed ({status}): {}",
                        proc.tail()
                    ))
                }
            }
        }
    }
}

fn host_http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<String, String> {
    let fail = |e: std::io::Error| format!("GET http://{addr}{path}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    stream.set_write_timeout(Some(timeout)).map_err(fail)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(fail)?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body).map_err(fail)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Two network namespaces joined by a veth pair, deleted (with everything still running in them) on drop.
pub struct NetnsPair {
    ip: PathBuf,
    names: Vec<String>,
    pub a: Place,
    pub b: Place,
    pub addr_a: Ipv4Addr,
    pub addr_b: Ipv4Addr,
}

impl NetnsPair {
    /// Creates `sb-<pid>-<n>-a` and `-b` with `lo` up in both and 10.231.0.1/30 (a) — 10.231.0.2/30 (b)
    /// on the veth pair. The error carries the failing command's output.
    pub fn create(ip: &Path) -> Result<NetnsPair, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("sb-{}-{n}", std::process::id());
        let (name_a, name_b) = (format!("{base}-a"), format!("{base}-b"));
        let mut pair = NetnsPair {
            ip: ip.to_path_buf(),
            names: Vec::new(),
            a: Place::Netns {
                ip: ip.to_path_buf(),
                name: name_a.clone(),
            },
            b: Place::Netns {
                ip: ip.to_path_buf(),
                name: name_b.clone(),
            },
            addr_a: Ipv4Addr::new(10, 231, 0, 1),
            addr_b: Ipv4Addr::new(10, 231, 0, 2),
        };
        for name in [&name_a, &name_b] {
            pair.ip(&["netns", "add", name])?;
            pair.names.push(name.clone());
            pair.ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        // Created directly inside the namespaces, so the host namespace never sees these interfaces.
        pair.ip(&[
            "link", "add", "sbv-a", "netns", &name_a, "type", "veth", "peer", "name", "sbv-b",
            "netns", &name_b,
        ])?;
        for (name, dev, addr) in [
            (&name_a, "sbv-a", pair.addr_a),
            (&name_b, "sbv-b", pair.addr_b),
        ] {
            pair.ip(&["-n", name, "addr", "add", &format!("{addr}/30"), "dev", dev])?;
            pair.ip(&["-n", name, "link", "set", dev, "up"])?;
        }
        Ok(pair)
    }

    fn ip(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new(&self.ip)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {:?}: {e}", self.ip))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`ip {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for name in &self.names {
            // Anything the test left running in the namespace would keep it alive; end it first.
            if let Ok(out) = Command::new(&self.ip)
                .args(["netns", "pids", name])
                .output()
            {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-s", "KILL", pid]).status();
                }
            }
            if let Err(e) = self.ip(&["netns", "del", name]) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}
