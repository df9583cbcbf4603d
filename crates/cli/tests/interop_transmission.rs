//! Interop with Transmission 3.00 (`transmission-cli`): seedbank seeds a v1 torrent (Transmission 3
//! rejects hybrids) announced through opentracker, and Transmission downloads it.
//!
//! Transmission 3 drops tracker peers on 127/8 and keeps one peer per IP, so loopback does not work: the
//! test builds two network namespaces joined by a veth pair. Namespace A runs opentracker and the seeder
//! on 10.231.0.1, namespace B runs Transmission on 10.231.0.2. Those addresses exist only inside the
//! namespaces, which are deleted (with anything still running in them) when the test ends, even on panic.
//!
//! A control test runs the same scenario with libtorrent as the seeder.

mod support;

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use support::external;
use support::fixture::{self, MULTI, PIECE_SIZE};
use support::libtorrent::{Libtorrent, LtSeeder, path_str};
use support::meta::Format;
use support::netns::{NetnsPair, Place};
use support::process::{Proc, STEP_TIMEOUT};
use support::seedbank::{self, CreateOptions, Seeder};
use support::tracker::{Opentracker, announce_url};

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

/// Transmission settings: TCP only (µTP off), no DHT/PEX/LPD/port mapping, plaintext preferred, and files
/// written under their final names (no `.part`) so the finished tree can be compared as is.
const SETTINGS: &str = r#"{
    "utp-enabled": false,
    "dht-enabled": false,
    "pex-enabled": false,
    "lpd-enabled": false,
    "port-forwarding-enabled": false,
    "blocklist-enabled": false,
    "encryption": 0,
    "rename-partial-files": false,
    "incomplete-dir-enabled": false,
    "start-added-torrents": true,
    "ratio-limit-enabled": false,
    "idle-seeding-limit-enabled": false,
    "peer-port-random-on-start": false,
    "message-level": 2
}"#;

fn seed_to_transmission(source: Source) {
    let Some(transmission) = external::transmission_cli() else {
        return;
    };
    let Some(opentracker) = external::opentracker() else {
        return;
    };
    let Some(ip) = external::netns_tool() else {
        return;
    };
    let ns = match NetnsPair::create(&ip) {
        Ok(ns) => ns,
        Err(e) => {
            let _: Option<()> = external::missing(
                "network namespaces",
                &format!("root with CAP_SYS_ADMIN is required ({e})"),
            );
            return;
        }
    };
    let tmp = tempfile::Builder::new()
        .prefix("sb-interop-transmission-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let src = tmp.path().join("src");
    let out = tmp.path().join("out");
    let config = tmp.path().join("transmission");
    let torrent = tmp.path().join("fixture.torrent");
    fixture::write_files(&src, MULTI, 70);
    for dir in [&out, &config] {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {dir:?}: {e}"));
    }

    // A fresh namespace has every port free, so the tracker's port is fixed.
    let tracker_addr = SocketAddr::new(IpAddr::V4(ns.addr_a), 6969);
    let announce = announce_url(tracker_addr);
    let summary = match &source {
        Source::Seedbank => {
            let opts = CreateOptions {
                piece_size: Some(PIECE_SIZE),
                private: true,
                announce: Some(&announce),
            };
            seedbank::create(&src.join("set"), &torrent, Format::V1, &opts)
        }
        Source::Libtorrent(lt) => lt.create(
            &src.join("set"),
            &torrent,
            Format::V1,
            PIECE_SIZE,
            Some(&announce),
            true,
        ),
    };
    let hash = summary.v1_bytes();
    let tracker = Opentracker::start(&opentracker, &ns.a, tracker_addr, &[hash])
        .unwrap_or_else(|e| panic!("opentracker in namespace a: {e}"));

    let seeder_ip = IpAddr::V4(ns.addr_a);
    let running = match &source {
        Source::Seedbank => {
            let listen = SocketAddr::new(seeder_ip, 0);
            Running::Seedbank(seedbank::seed(&ns.a, &torrent, &src, listen, &[]))
        }
        Source::Libtorrent(lt) => Running::Libtorrent(lt.seed_in(&ns.a, seeder_ip, &torrent, &src)),
    };
    // Transmission takes peers from its first announce; the next one is many minutes away.
    tracker.wait_for_seeders(&hash, 1, running.proc());

    let done = tmp.path().join("finished");
    let script = tmp.path().join("on-finish.sh");
    fs::write(&script, format!("#!/bin/sh\n: > '{}'\n", path_str(&done)))
        .and_then(|_| fs::set_permissions(&script, fs::Permissions::from_mode(0o755)))
        .unwrap_or_else(|e| panic!("write {script:?}: {e}"));
    fs::write(config.join("settings.json"), SETTINGS)
        .unwrap_or_else(|e| panic!("write settings.json: {e}"));

    let started = Instant::now();
    let mut client = Proc::spawn(
        "transmission-cli",
        transmission_command(&ns.b, &transmission, &config, &out, &script, &torrent),
    );
    wait_for_file(&done, &mut client);
    eprintln!(
        "-> transmission-cli: {} bytes in {:?}",
        fixture::total_len(MULTI),
        started.elapsed()
    );
    fixture::assert_same_tree_except_empty_files(&src, &out);
    drop(client);
    if let Running::Seedbank(mut seeder) = running {
        seedbank::stop_cleanly(&mut seeder);
    }
}

fn transmission_command(
    place: &Place,
    transmission: &Path,
    config: &Path,
    out: &Path,
    script: &Path,
    torrent: &Path,
) -> std::process::Command {
    let mut cmd = place.command(transmission);
    cmd.arg("-g")
        .arg(config)
        .arg("-w")
        .arg(out)
        .arg("-f")
        .arg(script)
        .args(["-et", "-M", "-B", "-D", "-U", "-p", "51413"])
        .arg(torrent);
    cmd.env("HOME", config);
    cmd
}

/// Waits for Transmission's finish script to create `marker`.
fn wait_for_file(marker: &Path, client: &mut Proc) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !marker.exists() {
        if let Some(status) = client.try_status() {
            panic!(
                "transmission-cli exited ({status}) before finishing:\n{}",
                client.tail()
            );
        }
        assert!(
            Instant::now() < deadline,
            "transmission-cli did not finish within {STEP_TIMEOUT:?}:\n{}",
            client.tail()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn seedbank_seeds_v1_to_transmission() {
    seed_to_transmission(Source::Seedbank);
}

/// The harness itself: libtorrent seeds the same way; if this fails, the seedbank test proves nothing.
#[test]
fn control_libtorrent_seeds_v1_to_transmission() {
    let Some(lt) = Libtorrent::find() else { return };
    seed_to_transmission(Source::Libtorrent(lt));
}
