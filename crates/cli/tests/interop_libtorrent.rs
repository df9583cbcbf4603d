//! Interop with libtorrent 2.0 (Debian's python3-libtorrent) over TCP on 127.0.0.1, in both directions and
//! for all three torrent formats, plus agreement on what a .torrent means (info-hashes, files), repair of
//! damaged download directories, rejection of a peer serving corrupt data, and `fetch --seed` passing
//! data on.
//!
//! libtorrent is the reference implementation of BEP 52, so agreeing with it on v2 and hybrid torrents is
//! the strongest check available that seedbank's Merkle trees, piece layers and padding are right.

mod support;

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use support::fixture::{self, MULTI, PIECE_SIZE, SINGLE};
use support::libtorrent::{self, Libtorrent};
use support::meta::Format;
use support::netns::Place;
use support::process::STEP_TIMEOUT;
use support::seedbank::{self, CreateOptions};
use tempfile::TempDir;

/// A temporary directory holding `src/` (the fixture, laid out like a libtorrent save_path) and `out/`.
struct Dirs {
    tmp: TempDir,
}

impl Dirs {
    fn new(files: &[(&str, u64)], seed: u64) -> Dirs {
        let tmp = tempfile::Builder::new()
            .prefix("sb-interop-lt-")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let dirs = Dirs { tmp };
        fixture::write_files(&dirs.src(), files, seed);
        fs::create_dir_all(dirs.out()).unwrap_or_else(|e| panic!("mkdir out: {e}"));
        dirs
    }

    fn src(&self) -> PathBuf {
        self.tmp.path().join("src")
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    fn torrent(&self) -> PathBuf {
        self.tmp.path().join("fixture.torrent")
    }

    /// The multi-file fixture with its torrent made by libtorrent, in `format`.
    fn libtorrent_made(lt: &Libtorrent, format: Format, seed: u64) -> Dirs {
        let dirs = Dirs::new(MULTI, seed);
        lt.create(
            &dirs.src().join("set"),
            &dirs.torrent(),
            format,
            PIECE_SIZE,
            None,
            true,
        );
        dirs
    }
}

fn seed_for(format: Format) -> u64 {
    match format {
        Format::V1 => 1,
        Format::V2 => 2,
        Format::Hybrid => 3,
    }
}

/// libtorrent creates and seeds; `seedbank fetch` must download every file byte for byte.
fn libtorrent_to_seedbank(format: Format) {
    let Some(lt) = Libtorrent::find() else { return };
    let dirs = Dirs::libtorrent_made(&lt, format, seed_for(format));
    let seeder = lt.seed(&dirs.torrent(), &dirs.src());

    let started = Instant::now();
    let mut fetch = seedbank::fetch(&dirs.torrent(), &dirs.out(), &[seeder.addr]);
    fetch.expect_success(STEP_TIMEOUT);
    eprintln!(
        "libtorrent -> seedbank {}: {} bytes in {:?}",
        format.name(),
        fixture::total_len(MULTI),
        started.elapsed()
    );
    fixture::assert_same_tree(&dirs.src(), &dirs.out());
}

#[test]
fn libtorrent_seeds_v1_to_seedbank() {
    libtorrent_to_seedbank(Format::V1);
}

#[test]
fn libtorrent_seeds_v2_to_seedbank() {
    libtorrent_to_seedbank(Format::V2);
}

#[test]
fn libtorrent_seeds_hybrid_to_seedbank() {
    libtorrent_to_seedbank(Format::Hybrid);
}

/// seedbank creates and seeds; libtorrent must read the torrent as seedbank does and download it.
fn seedbank_to_libtorrent(format: Format) {
    let Some(lt) = Libtorrent::find() else { return };
    let dirs = Dirs::new(MULTI, 10 + seed_for(format));
    let opts = CreateOptions {
        piece_size: Some(PIECE_SIZE),
        private: true,
        announce: None,
    };
    let made = seedbank::create(&dirs.src().join("set"), &dirs.torrent(), format, &opts);
    assert_eq!(
        lt.info(&dirs.torrent()),
        made,
        "libtorrent reads seedbank's {} torrent differently",
        format.name()
    );

    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut seeder = seedbank::seed(&Place::Host, &dirs.torrent(), &dirs.src(), listen, &[]);
    let mut fetch = lt.fetch(&dirs.torrent(), &dirs.out(), &[seeder.addr]);
    let took = libtorrent::expect_fetched(&mut fetch);
    eprintln!(
        "seedbank -> libtorrent {}: {} bytes in {took:?}",
        format.name(),
        fixture::total_len(MULTI)
    );
    fixture::assert_same_tree(&dirs.src(), &dirs.out());
    seedbank::stop_cleanly(&mut seeder);
}

#[test]
fn seedbank_seeds_v1_to_libtorrent() {
    seedbank_to_libtorrent(Format::V1);
}

#[test]
fn seedbank_seeds_v2_to_libtorrent() {
    seedbank_to_libtorrent(Format::V2);
}

#[test]
fn seedbank_seeds_hybrid_to_libtorrent() {
    seedbank_to_libtorrent(Format::Hybrid);
}

/// `seedbank torrent show` must read libtorrent's torrents exactly as libtorrent does.
#[test]
fn show_agrees_with_libtorrent() {
    let Some(lt) = Libtorrent::find() else { return };
    let dirs = Dirs::new(MULTI, 20);
    for format in Format::ALL {
        let torrent = dirs.tmp.path().join(format!("{}.torrent", format.name()));
        let made = lt.create(
            &dirs.src().join("set"),
            &torrent,
            format,
            PIECE_SIZE,
            None,
            false,
        );
        assert_eq!(
            seedbank::show(&torrent),
            made,
            "seedbank reads libtorrent's {} torrent differently",
            format.name()
        );
    }
}

/// The architecture promises the same info-hashes as libtorrent 2.0 for the same files and piece size.
/// Multi-file v1 is left out: libtorrent lists v1-only files in directory-read order, which is not
/// reproducible across filesystems, so no other tool can be expected to match it.
#[test]
fn create_matches_libtorrent_info_hashes() {
    let Some(lt) = Libtorrent::find() else { return };
    let multi = Dirs::new(MULTI, 30);
    let single = Dirs::new(SINGLE, 31);
    let cases: [(&Dirs, PathBuf, Format); 5] = [
        (&multi, multi.src().join("set"), Format::V2),
        (&multi, multi.src().join("set"), Format::Hybrid),
        (&single, single.src().join("x.bin"), Format::V1),
        (&single, single.src().join("x.bin"), Format::V2),
        (&single, single.src().join("x.bin"), Format::Hybrid),
    ];
    for (dirs, path, format) in cases {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let lt_torrent = dirs
            .tmp
            .path()
            .join(format!("lt-{}.torrent", format.name()));
        let sb_torrent = dirs
            .tmp
            .path()
            .join(format!("sb-{}.torrent", format.name()));
        let theirs = lt.create(&path, &lt_torrent, format, PIECE_SIZE, None, false);
        let opts = CreateOptions {
            piece_size: Some(PIECE_SIZE),
            ..CreateOptions::default()
        };
        let ours = seedbank::create(&path, &sb_torrent, format, &opts);
        assert_eq!(
            (&ours.info_hash_v1, &ours.info_hash_v2),
            (&theirs.info_hash_v1, &theirs.info_hash_v2),
            "{} torrent of {name}: seedbank's info-hashes differ from libtorrent's",
            format.name()
        );
        assert_eq!(ours, theirs, "{} torrent of {name}", format.name());
    }
}

/// A download directory that already holds damaged data (a flipped byte, a truncated file, a missing
/// file) must be re-checked and repaired, not trusted.
#[test]
fn seedbank_fetch_repairs_damaged_data() {
    let Some(lt) = Libtorrent::find() else { return };
    let dirs = Dirs::libtorrent_made(&lt, Format::Hybrid, 40);
    fixture::write_files(&dirs.out(), MULTI, 40);
    let out_set = dirs.out().join("set");
    fixture::corrupt_byte(&out_set.join("a/big.bin"), 4_000_000);
    truncate(&out_set.join("b/odd.bin"), 1_234_567);
    fs::remove_file(out_set.join("mid.bin")).unwrap_or_else(|e| panic!("rm mid.bin: {e}"));

    let seeder = lt.seed(&dirs.torrent(), &dirs.src());
    let mut fetch = seedbank::fetch(&dirs.torrent(), &dirs.out(), &[seeder.addr]);
    fetch.expect_success(STEP_TIMEOUT);
    fixture::assert_same_tree(&dirs.src(), &dirs.out());
}

fn truncate(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .unwrap_or_else(|e| panic!("truncate {path:?}: {e}"));
}

/// `fetch --seed` keeps serving what it downloaded: libtorrent A seeds to seedbank, A goes away, and
/// libtorrent B downloads everything from seedbank alone.
#[test]
fn seedbank_fetch_then_seeds_to_libtorrent() {
    let Some(lt) = Libtorrent::find() else { return };
    let dirs = Dirs::libtorrent_made(&lt, Format::V2, 50);
    let first = lt.seed(&dirs.torrent(), &dirs.src());

    let mut middle = seedbank::fetch_and_seed(&dirs.torrent(), &dirs.out(), &[first.addr]);
    // Done when the bytes on disk match; seedbank announces only verified pieces, so even if the last
    // piece is still being hashed the second downloader will get it once it is.
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !fixture::same_tree(&dirs.src(), &dirs.out()) {
        assert!(
            middle.proc.try_status().is_none(),
            "seedbank fetch --seed exited:\n{}",
            middle.proc.tail()
        );
        assert!(
            Instant::now() < deadline,
            "seedbank fetch --seed did not finish within {STEP_TIMEOUT:?}:\n{}",
            middle.proc.tail()
        );
        thread::sleep(Duration::from_millis(200));
    }
    drop(first);

    let second_out = dirs.tmp.path().join("out2");
    fs::create_dir_all(&second_out).unwrap_or_else(|e| panic!("mkdir out2: {e}"));
    let mut second = lt.fetch(&dirs.torrent(), &second_out, &[middle.addr]);
    libtorrent::expect_fetched(&mut second);
    fixture::assert_same_tree(&dirs.src(), &second_out);
    seedbank::stop_cleanly(&mut middle);
}

/// A peer serving corrupt data must not poison the download. libtorrent checks its copy, then every
/// block of that copy is damaged on disk, so it serves bad bytes it believes good. A second, honest
/// libtorrent seeder is rate-limited, so seedbank certainly asks the fast corrupt one first. Each seeder
/// has its own loopback address because seedbank bans a convicted peer by IP.
#[test]
fn seedbank_fetch_rejects_corrupt_data_from_a_peer() {
    let Some(lt) = Libtorrent::find() else { return };
    let dirs = Dirs::libtorrent_made(&lt, Format::Hybrid, 80);
    let bad_src = dirs.tmp.path().join("bad");
    fixture::write_files(&bad_src, MULTI, 80);
    let bad_ip = IpAddr::from([127, 0, 0, 2]);
    let bad = lt.seed_in(&Place::Host, bad_ip, &dirs.torrent(), &bad_src);
    // In place, never truncating: libtorrent maps these files into memory.
    for &(rel, len) in MULTI {
        for offset in (0..len).step_by(16 * 1024) {
            fixture::corrupt_byte(&bad_src.join(rel), offset);
        }
    }
    let good_ip = IpAddr::from([127, 0, 0, 3]);
    let good = lt.seed_with(
        &Place::Host,
        good_ip,
        Some(4_000_000),
        &dirs.torrent(),
        &dirs.src(),
    );

    let mut fetch = seedbank::fetch(&dirs.torrent(), &dirs.out(), &[bad.addr, good.addr]);
    fetch.expect_success(STEP_TIMEOUT);
    fixture::assert_same_tree(&dirs.src(), &dirs.out());
    let failures = seedbank::hash_failures(&fetch);
    eprintln!("seedbank rejected {failures} corrupt piece(s) and completed from the honest seeder");
    assert!(
        failures > 0,
        "seedbank reported no hash failure, so the corrupt peer was never used and this test proved \
         nothing:\n{}",
        fetch.tail()
    );
}
