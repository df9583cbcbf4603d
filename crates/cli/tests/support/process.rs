//! Child processes that cannot outlive a test: output captured line by line, every wait bounded, killed on
//! drop, and their output printed when the test fails so a red CI run explains itself.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for any single external step of a test; the brief for these tests is "never hang".
pub const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// How many trailing lines of a process's output a failure message quotes.
const TAIL_LINES: usize = 60;

#[derive(Default)]
struct Captured {
    /// Each line with the stream it came from (`out` or `err`).
    lines: Vec<(&'static str, String)>,
    /// Number of output streams (stdout, stderr) that reached end of file.
    closed: usize,
}

#[derive(Default)]
struct Shared {
    state: Mutex<Captured>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        // A reader thread cannot panic while holding the lock, but a poisoned lock must not hide output.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running external program.
pub struct Proc {
    name: String,
    child: Child,
    shared: Arc<Shared>,
    /// Held open so programs that watch stdin (the libtorrent driver) exit when the test goes away.
    stdin: Option<ChildStdin>,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `cmd` with piped stdio. `name` labels its output in failure messages.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let shared = Arc::new(Shared::default());
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for (tag, stream) in [("out", stdout), ("err", stderr)] {
            let Some(stream) = stream else { continue };
            let shared = Arc::clone(&shared);
            thread::spawn(move || pump(tag, stream, &shared));
        }
        let stdin = child.stdin.take();
        Proc {
            name: name.to_owned(),
            child,
            shared,
            stdin,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Everything the process printed so far, one `[out]`/`[err]`-tagged line each.
    pub fn output(&self) -> String {
        render(&self.shared.lock().lines)
    }

    /// The last lines of output, for failure messages.
    pub fn tail(&self) -> String {
        let state = self.shared.lock();
        let start = state.lines.len().saturating_sub(TAIL_LINES);
        render(&state.lines[start..])
    }

    /// Lines printed so far, without their stream tag.
    pub fn lines(&self) -> Vec<String> {
        self.shared
            .lock()
            .lines
            .iter()
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// Waits until `matcher` returns `Some` for a line of output (stdout or stderr) and returns it.
    /// Panics with the process's output if it exits first or `timeout` passes.
    #[track_caller]
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut matcher: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        loop {
            {
                let mut state = self.shared.lock();
                while seen < state.lines.len() {
                    let line = &state.lines[seen].1;
                    seen += 1;
                    if let Some(found) = matcher(line) {
                        return found;
                    }
                }
                if state.closed < 2 {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let wait = left.min(Duration::from_millis(200));
                    state = self
                        .shared
                        .changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    if state.lines.len() > seen {
                        continue;
                    }
                }
            }
            if let Some(status) = self.try_status() {
                // Output may still be in flight right after exit; look once more before failing.
                thread::sleep(Duration::from_millis(50));
                let state = self.shared.lock();
                for (_, line) in &state.lines[seen..] {
                    if let Some(found) = matcher(line) {
                        return found;
                    }
                }
                drop(state);
                panic!(
                    "{} exited ({status}) before {what}; output:\n{}",
                    self.name,
                    self.tail()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {} to report {what}; output:\n{}",
                    self.name,
                    self.tail()
                );
            }
        }
    }

    /// The exit status if the process has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits for the process to exit, killing it and panicking with its output after `timeout`.
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                self.wait_streams(Duration::from_secs(2));
                return status;
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!(
                    "{} did not exit within {timeout:?}; output:\n{}",
                    self.name,
                    self.tail()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for exit and panics unless the status is success.
    #[track_caller]
    pub fn expect_success(&mut self, timeout: Duration) {
        let status = self.wait_exit(timeout);
        assert!(
            status.success(),
            "{} failed ({status}); output:\n{}",
            self.name,
            self.tail()
        );
    }

    /// Sends a signal by name (`TERM`, `INT`, ...) through kill(1), so the tests need no libc binding.
    pub fn signal(&mut self, signal: &str) {
        if self.try_status().is_some() {
            return;
        }
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill(1): {e}"));
        assert!(status.success(), "kill -s {signal} {pid} failed: {status}");
    }

    fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    fn wait_streams(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.closed < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stdin = None;
        self.kill();
        if thread::panicking() {
            eprintln!(
                "----- output of {} (last {TAIL_LINES} lines) -----\n{}\n-----",
                self.name,
                self.tail()
            );
        }
    }
}

fn render(lines: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (tag, line) in lines {
        text.push_str(&format!("[{tag}] {line}\n"));
    }
    text
}

fn pump(tag: &'static str, stream: Box<dyn Read + Send>, shared: &Shared) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                // Progress output may redraw with carriage returns; each redraw counts as a line.
                let mut state = shared.lock();
                for part in text.trim_end_matches(['\n', '\r']).split('\r') {
                    state.lines.push((tag, part.to_owned()));
                }
                drop(state);
                shared.changed.notify_all();
            }
        }
    }
    shared.lock().closed += 1;
    shared.changed.notify_all();
}
