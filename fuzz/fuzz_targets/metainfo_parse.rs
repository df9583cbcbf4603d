//! Feeds arbitrary bytes to every parser that sees network or disk input, and checks that
//! whatever is accepted survives a round trip through our own serialisation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use metainfo::Torrent;
use metainfo::magnet::Magnet;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Torrent::from_bytes(data) {
        let again = Torrent::from_bytes(&t.to_bytes()).expect("our own output must parse");
        assert_eq!(again.hashes, t.hashes);
        assert_eq!(again.info, t.info);
        for i in 0..t.piece_count().min(64) {
            let size = t.piece_size(i) as usize;
            let covered: u64 = t.piece_files(i).iter().map(|&(_, _, l)| u64::from(l)).sum();
            assert!(covered <= size as u64);
            let _ = t.verify_piece(i, &vec![0u8; size]);
        }
    }
    let _ = Torrent::from_info_bytes(data);
    let _ = metainfo::bencode::decode(data);
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(m) = Magnet::parse(s)
    {
        let again = Magnet::parse(&m.to_string()).expect("our own magnet must parse");
        assert_eq!(again, m);
    }
});
