//! Property tests: bencode round-trips, parsers never panic, created torrents round-trip and
//! verify, Merkle proofs verify exactly when they should.

mod common;

use std::collections::BTreeMap;

use metainfo::bencode::{self, Value};
use metainfo::magnet::Magnet;
use metainfo::{CreateOptions, Torrent, Version, create_torrent, merkle};
use proptest::prelude::*;

use common::{pseudo_random, verify_all_pieces, write_file};

/// An owned bencode tree, to generate values that `Value` can then borrow from.
#[derive(Clone, Debug)]
enum Owned {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Owned>),
    Dict(BTreeMap<Vec<u8>, Owned>),
}

fn borrow(o: &Owned) -> Value<'_> {
    match o {
        Owned::Int(i) => Value::Int(*i),
        Owned::Bytes(b) => Value::Bytes(b),
        Owned::List(l) => Value::List(l.iter().map(borrow).collect()),
        Owned::Dict(d) => Value::Dict(d.iter().map(|(k, v)| (k.as_slice(), borrow(v))).collect()),
    }
}

fn owned_value() -> impl Strategy<Value = Owned> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Owned::Int),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Owned::Bytes),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Owned::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..6),
                inner,
                0..6
            )
            .prop_map(Owned::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn bencode_round_trips(o in owned_value()) {
        let v = borrow(&o);
        let bytes = bencode::encode(&v);
        let back = bencode::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(bencode::encode(&back), bytes.clone());
        prop_assert!(bencode::validate(&bytes).is_ok());
        let raw = bencode::parse_raw(&bytes).unwrap();
        prop_assert_eq!(raw.to_value(), Some(v));
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let decoded = bencode::decode(&bytes);
        // Whatever is accepted is canonical: re-encoding gives the input back.
        if let Ok(v) = &decoded {
            prop_assert_eq!(bencode::encode(v), bytes.clone());
        }
        prop_assert_eq!(decoded.is_ok(), bencode::validate(&bytes).is_ok());
        let _ = bencode::decode_prefix(&bytes);
        let _ = bencode::dict_value_span(&bytes, b"info");
        let _ = Torrent::from_bytes(&bytes);
        let _ = Torrent::from_info_bytes(&bytes);
        let _ = Magnet::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn bencode_like_inputs_never_panic(s in "[dile0-9:a-z-]{0,200}") {
        let _ = bencode::decode(s.as_bytes());
        let _ = Torrent::from_bytes(s.as_bytes());
    }

    #[test]
    fn magnet_parse_never_panics(s in "magnet:\\?[a-z.=&:%0-9A-F+]{0,200}") {
        if let Ok(m) = Magnet::parse(&s) {
            prop_assert_eq!(Magnet::parse(&m.to_string()).unwrap(), m);
        }
    }

    #[test]
    fn merkle_proofs(len in 1usize..400_000, pl_shift in 0u32..4, seed in any::<u64>()) {
        let piece_length = 16384u64 << pl_shift;
        let data = pseudo_random(len, seed);
        let blocks = merkle::block_hashes(&data);
        let root = merkle::file_root(&blocks);
        let layer = merkle::piece_layer(&blocks, piece_length);
        if len as u64 > piece_length {
            prop_assert_eq!(merkle::pieces_root(&layer, piece_length), root);
        }
        let n = blocks.len() as u32;
        for (i, block) in data.chunks(16384).enumerate() {
            let i = i as u32;
            let proof = merkle::prove_block(&blocks, i);
            prop_assert!(merkle::verify_block(&root, len as u64, block, &proof));

            let mut flipped = block.to_vec();
            let bit = (seed as usize) % (flipped.len() * 8);
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!merkle::verify_block(&root, len as u64, &flipped, &proof));

            if n > 1 {
                let mut wrong = proof.clone();
                wrong.block_index = (i + 1) % n;
                // Same length blocks only; a length mismatch is refused anyway.
                prop_assert!(!merkle::verify_block(&root, len as u64, block, &wrong));
            }
            let mut short = proof.clone();
            short.uncles.pop();
            if !proof.uncles.is_empty() {
                prop_assert!(!merkle::verify_block(&root, len as u64, block, &short));
            }
            prop_assert!(!merkle::verify_block(&[0u8; 32], len as u64, block, &proof));
        }
        prop_assert!(!merkle::verify_block(&root, len as u64, &[], &merkle::prove_block(&blocks, n)));
    }
}

#[derive(Clone, Debug)]
struct FileSpec {
    path: Vec<String>,
    len: usize,
}

fn file_set() -> impl Strategy<Value = Vec<FileSpec>> {
    let component = "[a-cA.]{1,3}".prop_filter("no . or ..", |c| c != "." && c != "..");
    let spec = (
        proptest::collection::vec(component, 1..4),
        prop_oneof![Just(0usize), 1usize..20_000, 20_000usize..150_000],
    )
        .prop_map(|(path, len)| FileSpec { path, len });
    proptest::collection::vec(spec, 1..8).prop_map(|specs| {
        // Drop files whose path collides with another file or directory.
        let mut kept: Vec<FileSpec> = Vec::new();
        for s in specs {
            let clash = kept.iter().any(|k| {
                let n = k.path.len().min(s.path.len());
                k.path[..n] == s.path[..n]
            });
            if !clash {
                kept.push(s);
            }
        }
        kept
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn created_torrents_round_trip_and_verify(
        files in file_set(),
        version in prop_oneof![Just(Version::V1), Just(Version::V2), Just(Version::Hybrid)],
        pl_shift in 0u32..3,
        private in any::<bool>(),
        single in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let piece_length = 16384u64 << pl_shift;
        let root = if single {
            let p = tmp.path().join("single.bin");
            write_file(&p, &pseudo_random(files[0].len.max(1), 5));
            p
        } else {
            let dir = tmp.path().join("data");
            for (i, f) in files.iter().enumerate() {
                let mut p = dir.clone();
                f.path.iter().for_each(|c| p.push(c));
                write_file(&p, &pseudo_random(f.len, i as u64));
            }
            dir
        };
        let opts = CreateOptions {
            version,
            piece_length: Some(piece_length),
            private,
            announce: vec!["http://127.0.0.1:1/announce".into(), "http://127.0.0.1:2/announce".into()],
            comment: Some("c".into()),
            creation_date: Some(1_700_000_000),
            ..CreateOptions::default()
        };
        let created = create_torrent(&root, &opts, &mut |_, _| {});
        let data_len: usize = if single { files[0].len.max(1) } else { files.iter().map(|f| f.len).sum() };
        if data_len == 0 {
            prop_assert!(created.is_err());
            return Ok(());
        }
        let t = created.unwrap();
        prop_assert_eq!(t.info.data_length(), data_len as u64);
        prop_assert_eq!(t.info.private, private);
        let bytes = t.to_bytes();
        let back = Torrent::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back.hashes, &t.hashes);
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(back.to_bytes(), bytes.clone());

        // Exactly the info dict bytes from `dict_value_span`.
        let span = bencode::dict_value_span(&bytes, b"info").unwrap().unwrap();
        prop_assert_eq!(&bytes[span], &t.info_bytes[..]);

        // Piece ranges cover each data byte exactly once.
        let covered: u64 = (0..t.piece_count())
            .flat_map(|i| t.piece_files(i))
            .map(|(_, _, len)| u64::from(len))
            .sum();
        prop_assert_eq!(covered, data_len as u64);
        verify_all_pieces(&t, &root);

        // A new announce keeps the info dict and so the hashes.
        let re = Torrent::from_bytes(&t.with_announce("http://127.0.0.1:9/announce/k").to_bytes()).unwrap();
        prop_assert_eq!(re.hashes, t.hashes);
        prop_assert_eq!(re.announce.as_deref(), Some("http://127.0.0.1:9/announce/k"));

        // The magnet link names the same torrent.
        let m = Magnet::parse(&t.magnet().to_string()).unwrap();
        prop_assert_eq!(m.hashes, t.hashes);
    }

    #[test]
    fn mutated_torrents_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = sample_torrent().clone();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(t) = Torrent::from_bytes(&bytes) {
            // Anything accepted serialises back into something we accept with the same hashes.
            let again = Torrent::from_bytes(&t.to_bytes()).unwrap();
            prop_assert_eq!(again.hashes, t.hashes);
            for p in 0..t.piece_count() {
                let _ = t.piece_files(p);
                let _ = t.verify_piece(p, &vec![0u8; t.piece_size(p) as usize]);
            }
        }
    }
}

/// A small hybrid torrent with pad files, empty files and piece layers.
fn sample_torrent() -> &'static Vec<u8> {
    static CELL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        write_file(&dir.join("a/x.bin"), &pseudo_random(40_000, 1));
        write_file(&dir.join("b"), &pseudo_random(10, 2));
        write_file(&dir.join("c/empty"), &[]);
        let opts = CreateOptions {
            piece_length: Some(16384),
            ..CreateOptions::default()
        };
        create_torrent(&dir, &opts, &mut |_, _| {})
            .unwrap()
            .to_bytes()
    })
}
