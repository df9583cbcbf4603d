//! Progress output: a bar with rate and ETA on a terminal, plain lines (every few seconds) otherwise,
//! so logs of scripted runs stay readable.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Bar(ProgressBar),
    Lines {
        label: String,
        last: Instant,
        total: u64,
        /// What is counted, after the figures ("bytes", or nothing).
        unit: &'static str,
    },
}

const LINE_EVERY: Duration = Duration::from_secs(2);

impl Progress {
    pub fn new(label: &str, total: u64) -> Progress {
        Progress::make(
            label,
            total,
            "{msg} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            " bytes",
        )
    }

    /// Counts steps (epochs, say), not bytes.
    pub fn steps(label: &str, total: u64) -> Progress {
        Progress::make(label, total, "{msg} [{bar:30.cyan/blue}] {pos}/{len}", "")
    }

    fn make(label: &str, total: u64, template: &str, unit: &'static str) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                label: label.to_owned(),
                last: Instant::now(),
                total,
                unit,
            }
        }
    }

    /// A line of its own, above the bar.
    pub fn say(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Lines { .. } => eprintln!("{line}"),
        }
    }

    /// `extra` is appended on plain lines (peers, rates).
    pub fn update(&mut self, done: u64, extra: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
            }
            Progress::Lines {
                label,
                last,
                total,
                unit,
            } => {
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    let pct = if *total == 0 {
                        100.0
                    } else {
                        done as f64 * 100.0 / *total as f64
                    };
                    eprintln!("{label}: {done}/{total}{unit} ({pct:.1}%){extra}");
                }
            }
        }
    }

    pub fn finish(&mut self, message: &str) {
        match self {
            Progress::Bar(bar) => bar.finish_with_message(message.to_owned()),
            Progress::Lines { label, .. } => eprintln!("{label}: {message}"),
        }
    }
}
