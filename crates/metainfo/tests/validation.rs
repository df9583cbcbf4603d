//! What `Torrent::from_bytes` refuses, and that each refusal names what is wrong.

use metainfo::{MetainfoError, Torrent, Version, merkle};

/// Owned bencode for building test inputs; `D` keeps insertion order so tests can also build
/// unsorted dictionaries.
#[derive(Clone)]
enum B {
    I(i64),
    S(Vec<u8>),
    L(Vec<B>),
    D(Vec<(Vec<u8>, B)>),
}

fn s(x: impl AsRef<[u8]>) -> B {
    B::S(x.as_ref().to_vec())
}

/// A dictionary with keys sorted, as canonical bencode requires.
fn d(entries: Vec<(&str, B)>) -> B {
    let mut e: Vec<(Vec<u8>, B)> = entries
        .into_iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v))
        .collect();
    e.sort_by(|a, b| a.0.cmp(&b.0));
    B::D(e)
}

fn enc(b: &B, out: &mut Vec<u8>) {
    match b {
        B::I(i) => out.extend_from_slice(format!("i{i}e").as_bytes()),
        B::S(x) => {
            out.extend_from_slice(format!("{}:", x.len()).as_bytes());
            out.extend_from_slice(x);
        }
        B::L(l) => {
            out.push(b'l');
            l.iter().for_each(|x| enc(x, out));
            out.push(b'e');
        }
        B::D(m) => {
            out.push(b'd');
            for (k, v) in m {
                enc(&B::S(k.clone()), out);
                enc(v, out);
            }
            out.push(b'e');
        }
    }
}

fn bytes(b: &B) -> Vec<u8> {
    let mut out = Vec::new();
    enc(b, &mut out);
    out
}

const PL: i64 = 16384;

fn v1_file(path: &[&str], len: i64) -> B {
    d(vec![
        ("length", B::I(len)),
        ("path", B::L(path.iter().map(s).collect())),
    ])
}

fn pad_file(len: i64) -> B {
    d(vec![
        ("attr", s("p")),
        ("length", B::I(len)),
        ("path", B::L(vec![s(".pad"), s(len.to_string())])),
    ])
}

fn pieces_for(total: i64) -> B {
    B::S(vec![0xab; 20 * (total as usize).div_ceil(PL as usize)])
}

fn v1_multi(files: Vec<B>, total: i64) -> B {
    d(vec![(
        "info",
        d(vec![
            ("files", B::L(files)),
            ("name", s("top")),
            ("piece length", B::I(PL)),
            ("pieces", pieces_for(total)),
        ]),
    )])
}

fn parse(b: &B) -> Result<Torrent, MetainfoError> {
    Torrent::from_bytes(&bytes(b))
}

fn expect_err(b: &B, needle: &str) -> MetainfoError {
    match parse(b) {
        Ok(_) => panic!("accepted, expected an error mentioning `{needle}`"),
        Err(e) => {
            assert!(
                e.to_string().contains(needle),
                "error `{e}` does not mention `{needle}`"
            );
            e
        }
    }
}

fn leaf(len: i64, root: Option<[u8; 32]>) -> B {
    let mut e = vec![("length", B::I(len))];
    if let Some(r) = root {
        e.push(("pieces root", s(r)));
    }
    d(vec![("", d(e))])
}

/// A v2 file tree with one small file `a` and one three-piece file `dir/big`, plus the matching
/// piece layers.
fn v2_parts() -> (B, B, [u8; 32]) {
    let layer: Vec<[u8; 32]> = (1..=3u8).map(|i| [i; 32]).collect();
    let big_root = merkle::pieces_root(&layer, PL as u64);
    let tree = d(vec![
        ("a", leaf(100, Some([7u8; 32]))),
        ("dir", d(vec![("big", leaf(2 * PL + 5, Some(big_root)))])),
    ]);
    let layers = B::D(vec![(big_root.to_vec(), B::S(layer.concat()))]);
    (tree, layers, big_root)
}

fn v2_torrent(tree: B, layers: Option<B>) -> B {
    let mut top = vec![(
        "info",
        d(vec![
            ("file tree", tree),
            ("meta version", B::I(2)),
            ("name", s("top")),
            ("piece length", B::I(PL)),
        ]),
    )];
    if let Some(l) = layers {
        top.push(("piece layers", l));
    }
    d(top)
}

#[test]
fn valid_inputs_parse() {
    let t = parse(&v1_multi(
        vec![v1_file(&["a"], 10), v1_file(&["b", "c"], 20_000)],
        20_010,
    ))
    .unwrap();
    assert_eq!(t.info.version, Version::V1);
    assert_eq!(t.piece_count(), 2);
    assert_eq!(t.info.files[1].offset, 10);
    assert!(t.hashes.v1.is_some() && t.hashes.v2.is_none());

    let (tree, layers, big_root) = v2_parts();
    let t = parse(&v2_torrent(tree, Some(layers))).unwrap();
    assert_eq!(t.info.version, Version::V2);
    // v2 virtual alignment: `dir/big` starts at the next piece boundary.
    assert_eq!(t.info.files[1].offset, PL as u64);
    assert_eq!(t.piece_count(), 4);
    // The wire piece runs to the boundary; only the first 100 bytes are file data.
    assert_eq!(t.piece_size(0), PL as u32);
    assert_eq!(t.piece_files(0), vec![(0, 0, 100)]);
    assert_eq!(
        t.piece_size(3),
        PL as u32,
        "the last v2 piece is padded to full size too"
    );
    assert_eq!(t.piece_files(2), vec![(1, PL as u64, PL as u32)]);
    assert_eq!(t.piece_layers[&big_root].len(), 3);
    assert!(t.hashes.v1.is_none() && t.hashes.v2.is_some());
}

#[test]
fn bad_bencode_is_refused() {
    for (input, needle) in [
        (&b"d4:infoi01ee"[..], "leading zero"),
        (b"d4:infoi-0ee", "negative zero"),
        (b"d1:bi1e1:ai1ee", "out of order"),
        (b"d1:ai1e1:ai1ee", "duplicate"),
        (b"de de", "trailing data"),
        (b"d4:info", "truncated"),
        (b"d4:infoi99999999999999999999ee", "out of range"),
    ] {
        let err = Torrent::from_bytes(input).unwrap_err();
        assert!(matches!(err, MetainfoError::Bencode(_)), "{err}");
        assert!(err.to_string().contains(needle), "{err} vs {needle}");
    }
    let deep = [vec![b'l'; 100], vec![b'e'; 100]].concat();
    assert!(
        Torrent::from_bytes(&deep)
            .unwrap_err()
            .to_string()
            .contains("nesting")
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b'x'; metainfo::MAX_TORRENT_BYTES + 1];
    assert!(matches!(
        Torrent::from_bytes(&big),
        Err(MetainfoError::TooLarge { .. })
    ));
}

#[test]
fn missing_fields_are_named() {
    expect_err(&d(vec![("announce", s("x"))]), "`info`");
    expect_err(
        &d(vec![(
            "info",
            d(vec![("piece length", B::I(PL)), ("pieces", s(""))]),
        )]),
        "info.name",
    );
    expect_err(
        &d(vec![(
            "info",
            d(vec![
                ("name", s("n")),
                ("length", B::I(5)),
                ("pieces", pieces_for(5)),
            ]),
        )]),
        "info.piece length",
    );
    expect_err(
        &d(vec![(
            "info",
            d(vec![
                ("name", s("n")),
                ("length", B::I(5)),
                ("piece length", B::I(PL)),
            ]),
        )]),
        "info.pieces",
    );
    expect_err(
        &d(vec![(
            "info",
            d(vec![
                ("name", s("n")),
                ("piece length", B::I(PL)),
                ("pieces", pieces_for(5)),
            ]),
        )]),
        "info.length or info.files",
    );
    expect_err(
        &v1_multi(vec![d(vec![("length", B::I(5))])], 5),
        "info.files[0].path",
    );
    expect_err(
        &v2_torrent(d(vec![("a", leaf(100, None))]), None),
        "pieces root",
    );
}

#[test]
fn wrong_types_are_named() {
    expect_err(&d(vec![("info", s("x"))]), "`info` must be a dictionary");
    expect_err(
        &v1_multi(
            vec![d(vec![("length", s("5")), ("path", B::L(vec![s("a")]))])],
            5,
        ),
        "info.files[0].length",
    );
    expect_err(
        &v1_multi(vec![d(vec![("length", B::I(5)), ("path", s("a"))])], 5),
        "info.files[0].path",
    );
}

#[test]
fn huge_lengths_are_refused() {
    expect_err(&v1_multi(vec![v1_file(&["a"], 1 << 51)], 1), "file length");
    // Two files each under the limit whose sum is over it.
    expect_err(
        &v1_multi(
            vec![
                v1_file(&["a"], 1 << 49),
                v1_file(&["b"], 1 << 49),
                v1_file(&["c"], 1 << 49),
            ],
            1,
        ),
        "total length",
    );
    expect_err(&v1_multi(vec![v1_file(&["a"], -1)], 1), "negative");
}

#[test]
fn piece_length_rules() {
    let with_pl = |pl: i64, v2: bool| {
        let mut info = vec![
            ("name", s("n")),
            ("length", B::I(100)),
            ("piece length", B::I(pl)),
            ("pieces", B::S(vec![1; 20])),
        ];
        if v2 {
            info.push(("meta version", B::I(2)));
            info.push(("file tree", d(vec![("n", leaf(100, Some([1; 32])))])));
        }
        d(vec![("info", d(info))])
    };
    assert!(parse(&with_pl(3 * PL, false)).is_ok());
    expect_err(&with_pl(3 * PL, true), "power of two");
    expect_err(&with_pl(PL + 1, false), "multiple of 16 KiB");
    expect_err(&with_pl(8192, false), "at least 16 KiB");
    expect_err(&with_pl(512 << 20, false), "at most 256 MiB");
    expect_err(&with_pl(-PL, false), "piece length");
    assert!(parse(&with_pl(PL, true)).is_ok());
}

#[test]
fn unsafe_paths_are_refused() {
    for (path, needle) in [
        (vec![".."], "`..`"),
        (vec!["a", ".", "b"], "`.`"),
        (vec!["a", ""], "empty path component"),
        (vec!["a/b"], "separator"),
        (vec!["/etc"], "separator"),
        (vec!["a\\..\\b"], "separator"),
        (vec!["a\0b"], "NUL"),
        (vec!["C:", "Windows"], "drive prefix"),
        (vec!["c:x"], "drive prefix"),
    ] {
        let err = expect_err(&v1_multi(vec![v1_file(&path, 5)], 5), needle);
        assert!(matches!(err, MetainfoError::UnsafePath { .. }));
        assert!(err.to_string().contains("info.files[0].path"), "{err}");
    }
    expect_err(
        &v1_multi(
            vec![d(vec![("length", B::I(5)), ("path", B::L(vec![]))])],
            5,
        ),
        "empty path",
    );
    let bad_name = d(vec![(
        "info",
        d(vec![
            ("name", s("..")),
            ("length", B::I(5)),
            ("piece length", B::I(PL)),
            ("pieces", pieces_for(5)),
        ]),
    )]);
    expect_err(&bad_name, "info.name");
    let (_, _, root) = v2_parts();
    expect_err(
        &v2_torrent(d(vec![("..", d(vec![("x", leaf(5, Some(root)))]))]), None),
        "info.file tree",
    );
}

#[test]
fn conflicting_paths_are_refused() {
    expect_err(
        &v1_multi(vec![v1_file(&["a"], 5), v1_file(&["a"], 5)], 10),
        "duplicate path `a`",
    );
    expect_err(
        &v1_multi(vec![v1_file(&["a"], 5), v1_file(&["a", "b"], 5)], 10),
        "both a file and a directory",
    );
    // Pad files may repeat (libtorrent writes several `.pad/N` of the same size).
    assert!(
        parse(&v1_multi(
            vec![
                v1_file(&["a"], 5),
                pad_file(PL - 5),
                v1_file(&["b"], 5),
                pad_file(PL - 5)
            ],
            2 * PL
        ))
        .is_ok()
    );
}

#[test]
fn wrong_piece_counts_are_refused() {
    let mut t = v1_multi(vec![v1_file(&["a"], 3 * PL)], 3 * PL);
    if let B::D(top) = &mut t
        && let B::D(info) = &mut top[0].1
    {
        for (k, v) in info.iter_mut() {
            if k == b"pieces" {
                *v = B::S(vec![0; 40]);
            }
        }
    }
    let err = expect_err(&t, "info.pieces");
    assert!(matches!(
        err,
        MetainfoError::PieceCount {
            expected: 3,
            actual: 2,
            ..
        }
    ));
    // Not a multiple of 20.
    let odd = d(vec![(
        "info",
        d(vec![
            ("name", s("n")),
            ("length", B::I(5)),
            ("piece length", B::I(PL)),
            ("pieces", B::S(vec![0; 21])),
        ]),
    )]);
    expect_err(&odd, "info.pieces");
    // No data at all.
    expect_err(&v1_multi(vec![v1_file(&["a"], 0)], 0), "no data");
}

#[test]
fn piece_layers_are_checked() {
    let (tree, _, big_root) = v2_parts();
    let err = expect_err(&v2_torrent(tree.clone(), None), "missing");
    assert!(matches!(err, MetainfoError::PieceLayer { .. }));
    assert!(err.to_string().contains("dir/big"));

    let short = B::D(vec![(
        big_root.to_vec(),
        B::S([[1u8; 32], [2u8; 32]].concat()),
    )]);
    expect_err(
        &v2_torrent(tree.clone(), Some(short)),
        "wrong number of hashes",
    );

    let wrong = B::D(vec![(
        big_root.to_vec(),
        B::S([[1u8; 32], [2u8; 32], [9u8; 32]].concat()),
    )]);
    expect_err(&v2_torrent(tree.clone(), Some(wrong)), "does not hash");

    expect_err(&v2_torrent(tree, Some(s("x"))), "piece layers");
}

#[test]
fn v2_tree_shape_is_checked() {
    let (_, _, root) = v2_parts();
    let both = d(vec![(
        "a",
        d(vec![
            ("", d(vec![("length", B::I(5)), ("pieces root", s(root))])),
            ("b", leaf(5, Some(root))),
        ]),
    )]);
    expect_err(&v2_torrent(both, None), "both a file and a directory");
    expect_err(
        &v2_torrent(
            d(vec![(
                "a",
                d(vec![(
                    "",
                    d(vec![("length", B::I(5)), ("pieces root", s([1u8; 31]))]),
                )]),
            )]),
            None,
        ),
        "32 bytes",
    );
    expect_err(&v2_torrent(d(vec![]), None), "no files");
    expect_err(
        &v2_torrent(d(vec![("a", d(vec![]))]), None),
        "empty directory",
    );
}

#[test]
fn unknown_meta_version_is_refused() {
    let t = d(vec![(
        "info",
        d(vec![
            ("meta version", B::I(3)),
            ("name", s("n")),
            ("length", B::I(5)),
            ("piece length", B::I(PL)),
            ("pieces", pieces_for(5)),
        ]),
    )]);
    let err = expect_err(&t, "meta version");
    assert!(matches!(err, MetainfoError::UnknownMetaVersion(3)));
}

#[test]
fn private_flag() {
    let with_private = |p: i64| {
        d(vec![(
            "info",
            d(vec![
                ("name", s("n")),
                ("length", B::I(5)),
                ("piece length", B::I(PL)),
                ("pieces", pieces_for(5)),
                ("private", B::I(p)),
            ]),
        )])
    };
    assert!(parse(&with_private(1)).unwrap().info.private);
    assert!(!parse(&with_private(0)).unwrap().info.private);
    expect_err(&with_private(2), "info.private");
}

/// A hybrid whose two halves must agree: same files, same sizes, same order, aligned.
fn hybrid(v1_files: Vec<B>, total: i64, tree: B) -> B {
    d(vec![(
        "info",
        d(vec![
            ("file tree", tree),
            ("files", B::L(v1_files)),
            ("meta version", B::I(2)),
            ("name", s("top")),
            ("piece length", B::I(PL)),
            ("pieces", pieces_for(total)),
        ]),
    )])
}

#[test]
fn hybrid_halves_must_agree() {
    let tree = d(vec![
        ("a", leaf(5, Some([1; 32]))),
        ("b", leaf(7, Some([2; 32]))),
    ]);
    let good = hybrid(
        vec![
            v1_file(&["a"], 5),
            pad_file(PL - 5),
            v1_file(&["b"], 7),
            pad_file(PL - 7),
        ],
        2 * PL,
        tree.clone(),
    );
    let t = parse(&good).unwrap();
    assert_eq!(t.info.version, Version::Hybrid);
    assert_eq!(t.info.files[2].pieces_root, Some([2; 32]));
    assert!(t.hashes.v1.is_some() && t.hashes.v2.is_some());

    expect_err(
        &hybrid(
            vec![
                v1_file(&["a"], 5),
                pad_file(PL - 5),
                v1_file(&["b"], 8),
                pad_file(PL - 8),
            ],
            2 * PL,
            tree.clone(),
        ),
        "disagree",
    );
    expect_err(
        &hybrid(vec![v1_file(&["a"], 5), pad_file(PL - 5)], PL, tree.clone()),
        "not in info.files",
    );
    expect_err(
        &hybrid(
            vec![v1_file(&["a"], 5), pad_file(PL - 5), v1_file(&["c"], 7)],
            PL + 7,
            tree.clone(),
        ),
        "disagree",
    );
    // Without the pad file, `b` would start inside piece 0.
    expect_err(
        &hybrid(vec![v1_file(&["a"], 5), v1_file(&["b"], 7)], 12, tree),
        "piece boundary",
    );
}
