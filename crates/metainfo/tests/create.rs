//! Torrent creation: canonical layout, streaming with large pieces, progress, refusals.

mod common;

use std::fs;

use common::{pseudo_random, verify_all_pieces, write_file};
use metainfo::{CreateOptions, MetainfoError, Torrent, Version, create_torrent};

fn opts(version: Version, piece_length: u64) -> CreateOptions {
    CreateOptions {
        version,
        piece_length: Some(piece_length),
        ..CreateOptions::default()
    }
}

fn paths(t: &Torrent) -> Vec<String> {
    t.info
        .files
        .iter()
        .map(|f| format!("{}:{}@{}", f.path.join("/"), f.length, f.offset))
        .collect()
}

#[test]
fn hybrid_layout_pads_after_each_non_empty_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    write_file(&dir.join("b/x"), &pseudo_random(20_000, 1));
    write_file(&dir.join("a"), &pseudo_random(16_384, 2));
    write_file(&dir.join("c"), &[]);
    write_file(&dir.join("d"), &pseudo_random(5, 3));

    let t = create_torrent(&dir, &opts(Version::Hybrid, 16_384), &mut |_, _| {}).unwrap();
    assert_eq!(
        paths(&t),
        [
            "a:16384@0",
            "b/x:20000@16384",
            ".pad/12768:12768@36384",
            "c:0@49152",
            "d:5@49152",
            ".pad/16379:16379@49157",
        ]
    );
    assert!(t.info.files[2].pad && t.info.files[5].pad);
    assert_eq!(t.info.total_length, 4 * 16_384);
    assert_eq!(t.piece_count(), 4);
    // Pieces of a hybrid are full size on the wire, pad bytes included.
    assert_eq!(t.piece_size(3), 16_384);
    assert_eq!(t.piece_files(3), vec![(4, 0, 5)]);
    assert!(t.info.files[1].pieces_root.is_some());
    assert!(t.info.files[3].pieces_root.is_none());
    assert_eq!(
        t.piece_layers.len(),
        1,
        "only b/x spans more than one piece"
    );

    let v1 = create_torrent(&dir, &opts(Version::V1, 16_384), &mut |_, _| {}).unwrap();
    assert_eq!(
        paths(&v1),
        ["a:16384@0", "b/x:20000@16384", "c:0@36384", "d:5@36384"]
    );
    // A v1 piece spans files.
    assert_eq!(v1.piece_files(2), vec![(1, 16_384, 3_616), (3, 0, 5)]);

    let v2 = create_torrent(&dir, &opts(Version::V2, 16_384), &mut |_, _| {}).unwrap();
    assert_eq!(
        paths(&v2),
        ["a:16384@0", "b/x:20000@16384", "c:0@36384", "d:5@49152"]
    );
    // On the wire a v2 piece runs to the piece boundary (as libtorrent requests it); the gap after
    // the file's end is padding that no hash covers.
    assert_eq!(v2.piece_size(2), 16_384);
    assert_eq!(v2.piece_files(2), vec![(1, 16_384, 3_616)]);
    assert_eq!(
        v2.piece_size(3),
        16_384,
        "libtorrent pads the last v2 file to a piece boundary too"
    );
    for t in [&t, &v1, &v2] {
        verify_all_pieces(t, &dir);
    }
}

#[test]
fn single_file_hybrid_has_no_padding() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("one.bin");
    write_file(&file, &pseudo_random(50_000, 4));
    let t = create_torrent(&file, &opts(Version::Hybrid, 32_768), &mut |_, _| {}).unwrap();
    assert!(t.info.single_file);
    assert_eq!(paths(&t), ["one.bin:50000@0"]);
    assert_eq!(t.piece_size(1), 50_000 - 32_768);
    verify_all_pieces(&t, &file);
}

#[test]
fn large_pieces_and_many_small_pieces_stream_correctly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    write_file(&dir.join("a.bin"), &pseudo_random(9_000_001, 5));
    write_file(&dir.join("b.bin"), &pseudo_random(3_000_000, 6));
    // 8 MiB pieces: one piece per job, bigger than the 4 MiB read chunk.
    for (version, pl) in [
        (Version::Hybrid, 8 << 20),
        (Version::V1, 8 << 20),
        (Version::V2, 16_384),
    ] {
        let mut calls = Vec::new();
        let t = create_torrent(&dir, &opts(version, pl), &mut |d, total| {
            calls.push((d, total))
        })
        .unwrap();
        assert_eq!(calls.first(), Some(&(0, 12_000_001)));
        assert_eq!(calls.last(), Some(&(12_000_001, 12_000_001)));
        assert!(
            calls.windows(2).all(|w| w[0].0 <= w[1].0),
            "progress never goes back"
        );
        verify_all_pieces(&t, &dir);
        let back = Torrent::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!(back, t);
    }
}

#[test]
fn default_options() {
    let o = CreateOptions::default();
    assert_eq!(o.version, Version::Hybrid);
    assert_eq!(o.piece_length, None);
    assert!(!o.private);
    assert!(o.created_by.as_deref().unwrap().starts_with("seedbank "));

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    write_file(&file, &pseudo_random(1000, 1));
    let t = create_torrent(
        &file,
        &CreateOptions {
            private: true,
            announce: vec!["http://127.0.0.1:1/announce".into()],
            ..o
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(t.info.piece_length, 16_384);
    assert!(t.info.private);
    assert_eq!(t.announce.as_deref(), Some("http://127.0.0.1:1/announce"));
    assert!(t.announce_list.is_empty());
    let text = String::from_utf8_lossy(&t.info_bytes).into_owned();
    assert!(text.contains("7:privatei1e"), "{text}");
}

#[test]
fn refuses_what_cannot_be_a_torrent() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir_all(empty.join("sub")).unwrap();
    write_file(&empty.join("zero"), &[]);
    let err = create_torrent(&empty, &CreateOptions::default(), &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("holds no data"), "{err}");

    let missing = tmp.path().join("nope");
    assert!(matches!(
        create_torrent(&missing, &CreateOptions::default(), &mut |_, _| {}),
        Err(MetainfoError::Io { .. })
    ));

    let file = tmp.path().join("f");
    write_file(&file, b"data");
    let err = create_torrent(&file, &opts(Version::Hybrid, 48 * 1024), &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("power of two"), "{err}");

    #[cfg(unix)]
    {
        let looped = tmp.path().join("loop");
        write_file(&looped.join("a"), b"x");
        std::os::unix::fs::symlink(&looped, looped.join("back")).unwrap();
        let err = create_torrent(&looped, &CreateOptions::default(), &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("links back"), "{err}");

        let bad_name = tmp.path().join("bad");
        write_file(&bad_name.join("a\\b"), b"x");
        let err = create_torrent(&bad_name, &CreateOptions::default(), &mut |_, _| {}).unwrap_err();
        assert!(matches!(err, MetainfoError::UnsafePath { .. }), "{err}");
    }
}

#[test]
fn symlinked_files_are_followed() {
    #[cfg(unix)]
    {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        write_file(&dir.join("real"), &pseudo_random(30_000, 8));
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        let t = create_torrent(&dir, &opts(Version::Hybrid, 16_384), &mut |_, _| {}).unwrap();
        let names: Vec<&str> = t
            .info
            .files
            .iter()
            .filter(|f| !f.pad)
            .map(|f| f.path[0].as_str())
            .collect();
        assert_eq!(names, ["link", "real"]);
        assert_eq!(t.info.files[0].pieces_root, t.info.files[2].pieces_root);
        verify_all_pieces(&t, &dir);
    }
}
