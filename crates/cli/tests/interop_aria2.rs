//! Interop with aria2 1.36: seedbank seeds a v1 torrent, announced through opentracker on 127.0.0.1, and
//! `aria2c` downloads it. v1 only, because aria2 1.36 computes a wrong v1 info-hash for hybrid torrents.
//!
//! A control test runs the same scenario with libtorrent as the seeder, so a failure of the seedbank test
//! can be told apart from a broken harness or client.

mod support;

use std::fs;
use std::net::SocketAddr;
use std::time::Instant;

use support::external;
use support::fixture::{self, MULTI, PIECE_SIZE, SINGLE};
use support::libtorrent::{Libtorrent, LtSeeder};
use support::meta::Format;
use support::netns::Place;
use support::process::{Proc, STEP_TIMEOUT};
use support::seedbank::{self, CreateOptions, Seeder};
use support::tracker;

enum Source {
    Seedbank,
    Libtorrent(Libtorrent),
}

enum Running {
    Seedbank(Seeder),
    Libtorrent(LtSeeder),
}

impl Running {
    fn proc(&self) -> &Proc {
        match self {
            Running::Seedbank(s) => &s.proc,
            Running::Libtorrent(s) => &s.proc,
        }
    }
}

/// Seeds `files` (whose torrent root is `root` under the source directory) from `source` to aria2c.
fn seed_to_aria2(source: Source, files: &[(&str, u64)], root: &str, seed: u64) {
    let Some(aria2) = external::aria2c() else {
        return;
    };
    let Some(opentracker) = external::opentracker() else {
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("sb-interop-aria2-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let src = tmp.path().join("src");
    let out = tmp.path().join("out");
    let torrent = tmp.path().join("fixture.torrent");
    fixture::write_files(&src, files, seed);
    fs::create_dir_all(&out).unwrap_or_else(|e| panic!("mkdir out: {e}"));

    let (tracker, summary) = tracker::start_on_loopback(&opentracker, |announce| {
        let summary = match &source {
            Source::Seedbank => {
                let opts = CreateOptions {
                    piece_size: Some(PIECE_SIZE),
                    private: true,
                    announce: Some(announce),
                };
                seedbank::create(&src.join(root), &torrent, Format::V1, &opts)
            }
            Source::Libtorrent(lt) => lt.create(
                &src.join(root),
                &torrent,
                Format::V1,
                PIECE_SIZE,
                Some(announce),
                true,
            ),
        };
        let hash = summary.v1_bytes();
        (summary, vec![hash])
    });

    let running = match &source {
        Source::Seedbank => {
            let listen = SocketAddr::from(([127, 0, 0, 1], 0));
            Running::Seedbank(seedbank::seed(&Place::Host, &torrent, &src, listen, &[]))
        }
        Source::Libtorrent(lt) => Running::Libtorrent(lt.seed(&torrent, &src)),
    };
    // aria2 takes peers from its first announce only (the next is minutes away): the seeder goes first.
    tracker.wait_for_seeders(&summary.v1_bytes(), 1, running.proc());

    let started = Instant::now();
    let mut download = Proc::spawn(
        "aria2c",
        support::aria2::command(&aria2, &torrent, &out, out.parent().unwrap_or(&out)),
    );
    download.expect_success(STEP_TIMEOUT);
    eprintln!(
        "-> aria2c: {} bytes in {:?}",
        fixture::total_len(files),
        started.elapsed()
    );
    fixture::assert_same_tree(&src, &out);
    if let Running::Seedbank(mut seeder) = running {
        seedbank::stop_cleanly(&mut seeder);
    }
}

#[test]
fn seedbank_seeds_v1_multi_file_to_aria2() {
    seed_to_aria2(Source::Seedbank, MULTI, "set", 60);
}

#[test]
fn seedbank_seeds_v1_single_file_to_aria2() {
    seed_to_aria2(Source::Seedbank, SINGLE, "x.bin", 61);
}

/// The harness itself: libtorrent seeds the same way; if this fails, the seedbank tests above prove nothing.
#[test]
fn control_libtorrent_seeds_v1_to_aria2() {
    let Some(lt) = Libtorrent::find() else { return };
    seed_to_aria2(Source::Libtorrent(lt), MULTI, "set", 62);
}
