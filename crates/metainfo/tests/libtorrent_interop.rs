//! seedbank-created torrents must have the same info-hashes as libtorrent 2.0 creates for the
//! same files and piece length, in v1, v2 and hybrid form; torrents made by libtorrent must parse
//! and verify piece by piece with ours; and libtorrent must accept ours.
//!
//! Needs Debian's python3 with libtorrent (`/usr/bin/python3`, package python3-libtorrent).
//! Skipped (with a message) when missing, unless `CI` is set, where it fails.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{pseudo_random, verify_all_pieces, write_file};
use metainfo::{CreateOptions, Torrent, Version, create_torrent};

const PYTHON: &str = "/usr/bin/python3";
const INSTALL: &str = "apt-get install -y python3-libtorrent";

/// Creates torrents with libtorrent and reports their info-hashes; loads torrent files and
/// reports what libtorrent makes of them. Output: one line per torrent,
/// `<label> <v1 hex or -> <v2 hex or -> <num_pieces> <num_files>`.
const SCRIPT: &str = r#"
import os, sys
import libtorrent as lt

def hashes(ti):
    ih = ti.info_hashes()
    v1 = str(ih.v1) if ih.has_v1() else '-'
    v2 = str(ih.v2) if ih.has_v2() else '-'
    return v1, v2

def sorted_files(root):
    # libtorrent's canonical order: path components compared as bytes.
    out = []
    if os.path.isfile(root):
        return [([], os.path.getsize(root), os.access(root, os.X_OK))]
    for dirpath, dirs, files in os.walk(root):
        for f in files:
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, root).split(os.sep)
            out.append((rel, os.path.getsize(full), os.stat(full).st_mode & 0o100 != 0))
    out.sort(key=lambda e: [c.encode() for c in e[0]])
    return out

mode = sys.argv[1]
if mode == 'create':
    src, piece, outdir = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    src = os.path.abspath(src)
    name = os.path.basename(src)
    for label, flags in (('v1', lt.create_torrent.v1_only), ('v2', lt.create_torrent.v2_only), ('hybrid', 0)):
        fs = lt.file_storage()
        if label == 'v1':
            # v1_only does not canonicalise: feed the files in canonical order, like add_files
            # would on a file system that lists directories sorted.
            for rel, size, exe in sorted_files(src):
                fl = lt.file_storage.flag_executable if exe else 0
                fs.add_file(os.path.join(name, *rel), size, fl)
        else:
            lt.add_files(fs, src)
        ct = lt.create_torrent(fs, piece, flags)
        lt.set_piece_hashes(ct, os.path.dirname(src))
        data = lt.bencode(ct.generate())
        path = os.path.join(outdir, label + '.torrent')
        with open(path, 'wb') as f:
            f.write(data)
        ti = lt.torrent_info(path)
        v1, v2 = hashes(ti)
        print(label, v1, v2, ti.num_pieces(), ti.num_files())
elif mode == 'load':
    for path in sys.argv[2:]:
        ti = lt.torrent_info(path)
        v1, v2 = hashes(ti)
        print(os.path.basename(path), v1, v2, ti.num_pieces(), ti.num_files())
"#;

/// False means skip (a message is printed); in CI (`CI` set) a missing libtorrent fails instead.
fn libtorrent_available() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import libtorrent"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    let msg = format!("python3-libtorrent not found at {PYTHON}; install it with `{INSTALL}`");
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

#[derive(Debug, PartialEq)]
struct LtReport {
    label: String,
    v1: Option<String>,
    v2: Option<String>,
    pieces: u32,
    files: usize,
}

fn run_script(args: &[&str]) -> Vec<LtReport> {
    let out = Command::new(PYTHON)
        .arg("-c")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "libtorrent script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "unexpected line {l}");
            let opt = |s: &str| (s != "-").then(|| s.to_string());
            LtReport {
                label: f[0].to_string(),
                v1: opt(f[1]),
                v2: opt(f[2]),
                pieces: f[3].parse().unwrap(),
                files: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn version_label(v: Version) -> &'static str {
    match v {
        Version::V1 => "v1",
        Version::V2 => "v2",
        Version::Hybrid => "hybrid",
    }
}

/// Creates torrents for `data` with both implementations and compares everything.
fn compare(data: &Path, piece_length: u64, work: &Path) {
    let out = work.join(format!("lt-{piece_length}"));
    fs::create_dir_all(&out).unwrap();
    let reports = run_script(&[
        "create",
        data.to_str().unwrap(),
        &piece_length.to_string(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(reports.len(), 3);

    let mut ours_paths: Vec<PathBuf> = Vec::new();
    for version in [Version::V1, Version::V2, Version::Hybrid] {
        let label = version_label(version);
        let lt = reports.iter().find(|r| r.label == label).unwrap();
        let opts = CreateOptions {
            version,
            piece_length: Some(piece_length),
            ..CreateOptions::default()
        };
        let mut last = (0, 0);
        let ours = create_torrent(data, &opts, &mut |done, total| last = (done, total)).unwrap();
        assert_eq!(last.0, last.1, "progress must end at the total");

        let ours_v1 = ours.hashes.v1.map(hex::encode);
        let ours_v2 = ours.hashes.v2.map(hex::encode);
        assert_eq!(
            (&ours_v1, &ours_v2),
            (&lt.v1, &lt.v2),
            "{label} info-hashes differ from libtorrent's ({}, piece length {piece_length})",
            data.display()
        );
        assert_eq!(ours.piece_count(), lt.pieces, "{label} piece count");

        // libtorrent's .torrent parses with ours into the very same info dict and piece layers.
        let lt_bytes = fs::read(out.join(format!("{label}.torrent"))).unwrap();
        let theirs = Torrent::from_bytes(&lt_bytes).unwrap();
        assert_eq!(
            theirs.info_bytes, ours.info_bytes,
            "{label} info dict bytes"
        );
        assert_eq!(theirs.info, ours.info, "{label} parsed info");
        assert_eq!(theirs.hashes, ours.hashes);
        assert_eq!(
            theirs.piece_layers, ours.piece_layers,
            "{label} piece layers"
        );

        // Every piece of libtorrent's torrent verifies against the real data.
        let checked = verify_all_pieces(&theirs, data);
        assert_eq!(checked, lt.pieces);

        // Our serialisation round-trips, and libtorrent accepts it (checked below).
        let bytes = ours.to_bytes();
        assert_eq!(Torrent::from_bytes(&bytes).unwrap(), ours);
        let p = work.join(format!("ours-{piece_length}-{label}.torrent"));
        fs::write(&p, &bytes).unwrap();
        ours_paths.push(p);
        eprintln!(
            "{label:>6} pl={piece_length:<6} v1={} v2={} pieces={} files={}: same as libtorrent",
            ours_v1.as_deref().unwrap_or("-"),
            ours_v2.as_deref().unwrap_or("-"),
            ours.piece_count(),
            ours.info.files.len()
        );
    }

    let mut args = vec!["load"];
    args.extend(ours_paths.iter().map(|p| p.to_str().unwrap()));
    let loaded = run_script(&args);
    assert_eq!(
        loaded.len(),
        3,
        "libtorrent loaded all three of our torrents"
    );
    for (report, version) in loaded
        .iter()
        .zip([Version::V1, Version::V2, Version::Hybrid])
    {
        let lt = reports
            .iter()
            .find(|r| r.label == version_label(version))
            .unwrap();
        assert_eq!(
            (&report.v1, &report.v2),
            (&lt.v1, &lt.v2),
            "libtorrent reads ours"
        );
        assert_eq!(report.pieces, lt.pieces);
        assert_eq!(report.files, lt.files);
    }
}

fn multi_file_fixture(root: &Path) -> PathBuf {
    let dir = root.join("Fixture Set");
    let files: &[(&str, usize)] = &[
        ("README.txt", 1_000),                // smaller than a block
        ("empty.dat", 0),                     // empty file
        ("games/arcade/pacman.bin", 100_000), // several pieces, not a multiple
        ("games/arcade/Galaga.bin", 65_536),  // exact multiple of 32 KiB
        ("games/console/snes/mario.sfc", 250_001),
        ("games/console/snes/zelda notes.txt", 16_384), // exactly one block
        ("games/console.txt", 7),                       // sorts between dir `console` and others
        ("games.b", 40_000),                            // `games.b` vs directory `games`
        ("Zebra", 33_000),                              // uppercase sorts first
        ("z/y/x/deep.bin", 20_000),
    ];
    for (i, (path, len)) in files.iter().enumerate() {
        write_file(&dir.join(path), &pseudo_random(*len, i as u64 + 1));
    }
    // An executable gets `attr: x` from both implementations.
    let exe = dir.join("games/run.sh");
    write_file(&exe, &pseudo_random(5_000, 99));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn multi_file_torrents_match_libtorrent() {
    if !libtorrent_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = multi_file_fixture(tmp.path());
    for piece_length in [16_384, 32_768, 65_536] {
        compare(&data, piece_length, tmp.path());
    }
}

#[test]
fn single_file_torrents_match_libtorrent() {
    if !libtorrent_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("single archive.iso");
    write_file(&file, &pseudo_random(300_000, 7));
    for piece_length in [16_384, 65_536, 524_288] {
        compare(&file, piece_length, tmp.path());
    }
}

#[test]
fn directory_with_one_file_matches_libtorrent() {
    if !libtorrent_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("one");
    write_file(&dir.join("inner/only.bin"), &pseudo_random(70_000, 3));
    compare(&dir, 32_768, tmp.path());
}
