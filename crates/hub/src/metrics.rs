//! `/metrics` in the Prometheus text format (0.0.4). Counters the hot paths bump are atomics (here
//! and in the auditor) and start at zero with the process, as Prometheus counters may; gauges the
//! stores hold cheaply (members, torrents, ledger entries) are read when scraped.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::http::{ApiError, S};

/// Counters since the hub started.
#[derive(Default)]
pub(crate) struct Metrics {
    pub announces: AtomicU64,
    pub announces_refused: AtomicU64,
    pub scrapes: AtomicU64,
    pub receipts_settled: AtomicU64,
    pub receipts_rejected: AtomicU64,
    pub bytes_settled: AtomicU64,
    pub epochs_closed: AtomicU64,
    pub epoch_close_failures: AtomicU64,
    /// Time spent closing epochs, in microseconds (with `epochs_closed`, the mean).
    pub epoch_close_micros: AtomicU64,
    pub sign_ins: AtomicU64,
    pub pages: AtomicU64,
}

impl Metrics {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// Writes one metric with its help and type lines.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn load(c: &AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

pub(crate) async fn render(shared: &Arc<Shared>) -> Result<String, ApiError> {
    let m = &shared.metrics;
    let (members, torrents) = shared.with_store(false, |s| s.counts()).await?;
    let mut out = String::new();
    metric(
        &mut out,
        "seedbank_members",
        "gauge",
        "Members in the hub's store.",
        &[("", members as f64)],
    );
    metric(
        &mut out,
        "seedbank_torrents",
        "gauge",
        "Torrents in the index.",
        &[("", torrents as f64)],
    );
    metric(
        &mut out,
        "seedbank_peers",
        "gauge",
        "Peers in the tracker's swarms.",
        &[("", shared.tracker.peer_count() as f64)],
    );
    metric(
        &mut out,
        "seedbank_announces_total",
        "counter",
        "Announces answered, by result.",
        &[
            ("{result=\"ok\"}", load(&m.announces)),
            ("{result=\"refused\"}", load(&m.announces_refused)),
        ],
    );
    metric(
        &mut out,
        "seedbank_scrapes_total",
        "counter",
        "Scrapes answered.",
        &[("", load(&m.scrapes))],
    );
    metric(
        &mut out,
        "seedbank_receipts_total",
        "counter",
        "Download receipts offered for settlement, by outcome.",
        &[
            ("{outcome=\"settled\"}", load(&m.receipts_settled)),
            ("{outcome=\"rejected\"}", load(&m.receipts_rejected)),
        ],
    );
    metric(
        &mut out,
        "seedbank_settled_bytes_total",
        "counter",
        "Bytes paid for by settled receipts.",
        &[("", load(&m.bytes_settled))],
    );
    metric(
        &mut out,
        "seedbank_sign_ins_total",
        "counter",
        "Site sign-ins accepted.",
        &[("", load(&m.sign_ins))],
    );
    metric(
        &mut out,
        "seedbank_pages_total",
        "counter",
        "Site pages served.",
        &[("", load(&m.pages))],
    );
    metric(
        &mut out,
        "seedbank_epoch_close_seconds",
        "summary",
        "Time the hub spent closing epochs.",
        &[
            ("_sum", load(&m.epoch_close_micros) / 1e6),
            ("_count", load(&m.epochs_closed)),
        ],
    );
    metric(
        &mut out,
        "seedbank_epoch_close_failures_total",
        "counter",
        "Epoch closes that failed (retried later).",
        &[("", load(&m.epoch_close_failures))],
    );
    if let Some(ledger) = &shared.ledger {
        let s = ledger.summary();
        let closed = ledger.state().economy().last_closed;
        metric(
            &mut out,
            "seedbank_ledger_entries_total",
            "counter",
            "Entries committed to the ledger's log.",
            &[("", s.entries as f64)],
        );
        if let Some(epoch) = closed {
            metric(
                &mut out,
                "seedbank_last_closed_epoch",
                "gauge",
                "The last epoch the ledger closed.",
                &[("", epoch as f64)],
            );
        }
    }
    if let Some(auditor) = &shared.auditor {
        let counts = auditor.recorded();
        let samples: Vec<(String, f64)> = counts
            .iter()
            .map(|(mark, n)| (format!("{{outcome=\"{mark}\"}}"), *n as f64))
            .collect();
        let samples: Vec<(&str, f64)> = samples.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        metric(
            &mut out,
            "seedbank_audits_total",
            "counter",
            "Availability audits finished by this process, by outcome.",
            &samples,
        );
    }
    Ok(out)
}

pub(crate) async fn get(State(shared): S) -> Result<Response, ApiError> {
    let body = render(&shared).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
