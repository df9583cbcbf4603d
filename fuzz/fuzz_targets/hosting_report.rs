//! Drives what the hub does with a node's `POST /api/v1/reports` body: parse the JSON of a signed
//! report transaction and the full hosting report, then validate the report, lay it over a fixed
//! index of torrent shapes, count its claimed bytes, hash it and derive challenges from it.
//!
//! Beyond "never panics": a report that lays over the index derives challenges inside its claims,
//! and one that does not is refused by derivation too (the auditor never asks for what a node
//! did not claim).

#![no_main]

use std::collections::BTreeMap;

use audit::{HostingReport, Shape};
use libfuzzer_sys::fuzz_target;
use token::{Signed, UserTx};

#[derive(serde::Deserialize)]
struct Submission {
    #[allow(dead_code)]
    tx: Signed<UserTx>,
    report: HostingReport,
}

fuzz_target!(|data: &[u8]| {
    let report = match serde_json::from_slice::<Submission>(data) {
        Ok(s) => s.report,
        Err(_) => match serde_json::from_slice::<HostingReport>(data) {
            Ok(r) => r,
            Err(_) => return,
        },
    };
    let mut index = BTreeMap::new();
    for (i, (pieces, piece_length, data_length)) in [
        (1u32, 16_384u64, 1u64),
        (3, 32_768, 70_000),
        (1000, 262_144, 262_144_000 - 5),
    ]
    .into_iter()
    .enumerate()
    {
        let mut id = [0u8; 32];
        id[0] = i as u8 + 1;
        index.insert(
            id,
            Shape {
                pieces,
                piece_length,
                data_length,
            },
        );
    }
    let fits = report.validate().is_ok() && report.check_layout(&index).is_ok();
    let _ = report.claimed_bytes(&index);
    let hash = report.hash();
    let derived = audit::derive(
        &[7; 32],
        report.epoch,
        &report.node,
        &hash,
        &report,
        &index,
        8,
    );
    if let Ok(challenges) = derived {
        assert!(fits, "derived from a report that does not lay over the index");
        for c in challenges {
            let claim = report
                .claims
                .iter()
                .find(|claim| claim.torrent == c.torrent)
                .expect("a challenge names a claimed torrent");
            let shape = index[&c.torrent];
            assert!(claim.pieces.contains(c.piece, shape.pieces));
        }
    }
});
