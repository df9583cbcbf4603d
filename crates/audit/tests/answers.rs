//! Answers: v2 blocks with Merkle proofs and v1 pieces, checked against trees built with
//! metainfo's own functions and against real torrents; tampering fails; the evidence of a wrong
//! answer re-checks as wrong, for anyone holding the torrent.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use audit::verify::MAX_PROOF_HASHES;
use audit::{
    Answer, AnswerError, Challenge, Claim, Evidence, HostingReport, Outcome, PieceSet, Target,
    TorrentLayouts, check_v1_answer, check_v2_answer, torrent_key,
};
use common::{Rng, challenges, claimed_blocks, secret};
use metainfo::merkle::{block_hashes, file_root, prove_block};
use metainfo::{CreateOptions, Torrent, Version, create_torrent};
use token::{Address, Domain, SecretKey};

const BLOCK: usize = 16 * 1024;

/// The audited node's wallet key, and the collective whose domain its answers are signed in.
fn node_key() -> SecretKey {
    SecretKey::from_bytes(&[0x77; 32]).unwrap()
}

fn domain() -> Domain {
    Domain {
        name: "audit tests".into(),
        version: "1".into(),
        chain_id: 31337,
        verifying_contract: Address([0xcc; 20]),
    }
}

/// Judges `answer` as the auditor does, signed by the node as the node does.
fn judged(epoch: u64, challenge: Challenge, target: Target, answer: Answer) -> Outcome {
    let key = node_key();
    let message = audit::answer_message(epoch, &challenge, &answer);
    let sig = key.sign_digest(&domain().digest(&message));
    Outcome::judge(key.address(), epoch, challenge, target, answer, sig)
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

#[test]
fn v2_answers_pass_and_tampering_fails() {
    let mut rng = Rng(1);
    for len in [1, BLOCK - 1, BLOCK, BLOCK + 5, 5 * BLOCK + 100, 33 * BLOCK] {
        let data = rng.bytes(len);
        let file_length = len as u64;
        let hashes = block_hashes(&data);
        let root = file_root(&hashes);
        for (i, block) in data.chunks(BLOCK).enumerate() {
            let i = i as u32;
            let proof = prove_block(&hashes, i).uncles;
            assert!(proof.len() <= MAX_PROOF_HASHES);
            assert_eq!(
                check_v2_answer(&root, file_length, i, block, &proof),
                Ok(()),
                "{len} {i}"
            );
            // Any flipped bit of the data fails (a sample of bits, all of a short block).
            let mut bits: Vec<usize> = (0..block.len() * 8).step_by(977).collect();
            bits.push(block.len() * 8 - 1);
            for bit in bits {
                let mut bad = block.to_vec();
                flip(&mut bad, bit);
                assert_eq!(
                    check_v2_answer(&root, file_length, i, &bad, &proof),
                    Err(AnswerError::RootMismatch)
                );
            }
            // Any flipped bit of the proof fails.
            for h in 0..proof.len() {
                for bit in [0, 100, 255] {
                    let mut bad = proof.clone();
                    flip(&mut bad[h], bit);
                    assert_eq!(
                        check_v2_answer(&root, file_length, i, block, &bad),
                        Err(AnswerError::RootMismatch)
                    );
                }
            }
            // A proof of the wrong length, a block of the wrong length, the wrong root.
            if !proof.is_empty() {
                assert!(matches!(
                    check_v2_answer(&root, file_length, i, block, &proof[1..]),
                    Err(AnswerError::ProofLength { .. })
                ));
            }
            let mut longer = proof.clone();
            longer.push([0; 32]);
            assert!(matches!(
                check_v2_answer(&root, file_length, i, block, &longer),
                Err(AnswerError::ProofLength { .. })
            ));
            assert!(matches!(
                check_v2_answer(&root, file_length, i, &block[1..], &proof),
                Err(AnswerError::BlockLength { .. })
            ));
            let mut other_root = root;
            flip(&mut other_root, 3);
            assert_eq!(
                check_v2_answer(&other_root, file_length, i, block, &proof),
                Err(AnswerError::RootMismatch)
            );
        }
        let blocks = data.len().div_ceil(BLOCK) as u32;
        assert!(matches!(
            check_v2_answer(&root, file_length, blocks, &[], &[]),
            Err(AnswerError::BlockOutOfRange { .. })
        ));
        // Another block's data and proof, presented as block 0: fails.
        if blocks >= 3 {
            let proof1 = prove_block(&hashes, 1).uncles;
            assert_eq!(
                check_v2_answer(&root, file_length, 0, &data[BLOCK..2 * BLOCK], &proof1),
                Err(AnswerError::RootMismatch)
            );
        }
    }
}

#[test]
fn v1_answers() {
    let mut rng = Rng(2);
    let piece = rng.bytes(4 * BLOCK);
    let sha1 = metainfo::hash::sha1(&piece);
    assert_eq!(check_v1_answer(&sha1, &piece), Ok(()));
    let mut bad = piece.clone();
    flip(&mut bad, 12345);
    assert_eq!(
        check_v1_answer(&sha1, &bad),
        Err(AnswerError::PieceHashMismatch)
    );
    let target = Target::V1 {
        piece_sha1: sha1,
        piece_length: piece.len() as u32,
    };
    assert_eq!(
        target.check(&Answer::Piece {
            data: piece.clone()
        }),
        Ok(())
    );
    assert!(matches!(
        target.check(&Answer::Piece {
            data: piece[..100].to_vec()
        }),
        Err(AnswerError::PieceLength { .. })
    ));
    assert!(matches!(
        target.check(&Answer::Block {
            data: piece[..BLOCK].to_vec(),
            proof: vec![]
        }),
        Err(AnswerError::WrongKind { .. })
    ));
}

/// Evidence of a wrong block re-checks as wrong, survives JSON, and a correct answer is no evidence.
#[test]
fn evidence_of_a_wrong_block_rechecks() {
    let mut rng = Rng(3);
    let data = rng.bytes(7 * BLOCK + 3);
    let hashes = block_hashes(&data);
    let target = Target::V2 {
        pieces_root: file_root(&hashes),
        file_length: data.len() as u64,
        file_block_index: 6,
    };
    let challenge = Challenge {
        torrent: [5; 32],
        piece: 3,
        block: 0,
    };
    let good = Answer::Block {
        data: data[6 * BLOCK..7 * BLOCK].to_vec(),
        proof: prove_block(&hashes, 6).uncles,
    };
    assert_eq!(
        judged(4, challenge, target.clone(), good.clone()),
        Outcome::Pass
    );
    let mut bad_data = data[6 * BLOCK..7 * BLOCK].to_vec();
    flip(&mut bad_data, 77);
    let bad = Answer::Block {
        data: bad_data,
        proof: prove_block(&hashes, 6).uncles,
    };
    let Outcome::Wrong { evidence } = judged(4, challenge, target.clone(), bad) else {
        panic!("a flipped bit passed");
    };
    assert!(evidence.check(&domain()));
    assert_eq!(evidence.failure(), Some(AnswerError::RootMismatch));
    let json = serde_json::to_string(&Outcome::Wrong {
        evidence: evidence.clone(),
    })
    .unwrap();
    let back: Outcome = serde_json::from_str(&json).unwrap();
    let Outcome::Wrong { evidence: back } = back else {
        panic!("{json}");
    };
    assert_eq!(back, evidence);
    assert!(back.check(&domain()));
    // A correct answer dressed up as evidence is refused by the check: the signature does not
    // cover it, and it does not fail.
    let fake = Evidence {
        answer: good.clone(),
        ..(*evidence).clone()
    };
    assert!(!fake.check(&domain()));
    // Bytes the node did not sign are no evidence, even if wrong: the hub cannot make them up.
    let mut made_up = good;
    if let Answer::Block { data, .. } = &mut made_up {
        flip(data, 3);
    }
    let made_up = Evidence {
        answer: made_up,
        ..(*evidence).clone()
    };
    assert!(made_up.failure().is_some());
    assert!(!made_up.check(&domain()));
    // Nor is the node's real signature in another collective's domain.
    let elsewhere = Domain {
        chain_id: 1,
        ..domain()
    };
    assert!(!evidence.check(&elsewhere));
}

// ---- Real torrents: an honest node, a node serving corrupted bytes, a node that lost data. ----

/// The node's copy of a torrent's files, by file index.
struct Copy {
    torrent: Torrent,
    files: HashMap<usize, Vec<u8>>,
}

fn make_torrent(dir: &Path, version: Version, rng: &mut Rng) -> Copy {
    let root = dir.join(format!("{version:?}"));
    let sizes = [
        ("a.bin", 100 * 1024 + 123),
        ("b.bin", BLOCK),
        ("c.bin", 5),
        ("d/e.bin", 300 * 1024),
        ("d/f.bin", 64 * 1024),
    ];
    let mut by_path = HashMap::new();
    for (name, size) in sizes {
        let data = rng.bytes(size);
        let p = root.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &data).unwrap();
        by_path.insert(name.to_string(), data);
    }
    let opts = CreateOptions {
        version,
        piece_length: Some(64 * 1024),
        private: true,
        ..CreateOptions::default()
    };
    let torrent = create_torrent(&root, &opts, &mut |_, _| {}).unwrap();
    let files = torrent
        .info
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.pad)
        .map(|(i, f)| (i, by_path[&f.path.join("/")].clone()))
        .collect();
    Copy { torrent, files }
}

impl Copy {
    /// What an honest node answers.
    fn answer(&self, target: &Target, challenge: &Challenge) -> Answer {
        let t = &self.torrent;
        match target {
            Target::V2 {
                file_block_index, ..
            } => {
                let (file, _, _) = t.piece_files(challenge.piece)[0];
                let data = &self.files[&file];
                let at = *file_block_index as usize * BLOCK;
                Answer::Block {
                    data: data[at..(at + BLOCK).min(data.len())].to_vec(),
                    proof: prove_block(&block_hashes(data), *file_block_index).uncles,
                }
            }
            Target::V1 { .. } => {
                let start = u64::from(challenge.piece) * t.info.piece_length;
                let mut piece = vec![0u8; t.piece_size(challenge.piece) as usize];
                for (file, off, len) in t.piece_files(challenge.piece) {
                    let f = &t.info.files[file];
                    let at = (f.offset + off - start) as usize;
                    piece[at..at + len as usize].copy_from_slice(
                        &self.files[&file][off as usize..(off + u64::from(len)) as usize],
                    );
                }
                Answer::Piece { data: piece }
            }
        }
    }
}

fn report_for(epoch: u64, torrents: &[&Torrent]) -> HostingReport {
    HostingReport {
        node: node_key().address(),
        epoch,
        claims: torrents
            .iter()
            .map(|t| Claim {
                torrent: torrent_key(t),
                pieces: PieceSet::All,
            })
            .collect(),
    }
}

/// The first line: an honest node passes 1,000 consecutive audits, here over a v1, a v2
/// and a hybrid torrent (multi-file, short pieces at file ends, pad files). Every claimed block is
/// also checked once directly, so no target or proof path goes untested.
#[test]
fn an_honest_node_passes_a_thousand_audits() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(4);
    let copies: Vec<Copy> = [Version::V1, Version::V2, Version::Hybrid]
        .into_iter()
        .map(|v| make_torrent(dir.path(), v, &mut rng))
        .collect();
    let by_id: HashMap<_, &Copy> = copies
        .iter()
        .map(|c| (torrent_key(&c.torrent), c))
        .collect();
    let layout: TorrentLayouts = copies.iter().map(|c| &c.torrent).collect();
    let torrents: Vec<&Torrent> = copies.iter().map(|c| &c.torrent).collect();

    let all = report_for(0, &torrents);
    // Data bytes claimed: every file once per torrent, padding excluded.
    let file_bytes: u64 = 100 * 1024 + 123 + BLOCK as u64 + 5 + 300 * 1024 + 64 * 1024;
    assert_eq!(all.claimed_bytes(&layout), Ok(3 * file_bytes));
    let blocks = claimed_blocks(&all, &layout);
    for c in &blocks {
        let copy = by_id[&c.torrent];
        let target = Target::for_challenge(&copy.torrent, c).unwrap();
        let answer = copy.answer(&target, c);
        assert_eq!(target.check(&answer), Ok(()), "{c:?}");
    }

    let mut audits = 0;
    let mut epoch = 0;
    while audits < 1000 {
        let report = report_for(epoch, &torrents);
        for c in challenges(&secret(epoch), &report, &layout, 44) {
            let copy = by_id[&c.torrent];
            let target = Target::for_challenge(&copy.torrent, &c).unwrap();
            let answer = copy.answer(&target, &c);
            assert_eq!(
                judged(epoch, c, target, answer),
                Outcome::Pass,
                "epoch {epoch} {c:?}"
            );
            audits += 1;
        }
        epoch += 1;
    }
    eprintln!(
        "honest node: {audits} consecutive audits passed over {epoch} epochs ({} claimed blocks)",
        blocks.len()
    );
}

/// A node that serves corrupted bytes is caught with evidence that a third party, holding only
/// the torrent, confirms; the same evidence pointed at a made-up target does not.
#[test]
fn corrupted_bytes_leave_checkable_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(5);
    for version in [Version::V1, Version::V2, Version::Hybrid] {
        let copy = make_torrent(dir.path(), version, &mut rng);
        let layout: TorrentLayouts = [&copy.torrent].into_iter().collect();
        let report = report_for(1, &[&copy.torrent]);
        let mut wrong = 0;
        for c in challenges(&secret(99), &report, &layout, 44) {
            let target = Target::for_challenge(&copy.torrent, &c).unwrap();
            let mut answer = copy.answer(&target, &c);
            match &mut answer {
                Answer::Block { data, .. } | Answer::Piece { data } => {
                    let bit = rng.below(data.len() as u64 * 8) as usize;
                    flip(data, bit);
                }
            }
            let Outcome::Wrong { evidence } = judged(1, c, target.clone(), answer) else {
                panic!("{version:?}: a corrupted answer passed");
            };
            assert!(evidence.check(&domain()));
            assert!(evidence.check_with_torrent(&copy.torrent, &domain()));
            // Through JSON, as it is stored.
            let stored: Evidence =
                serde_json::from_str(&serde_json::to_string(&evidence).unwrap()).unwrap();
            assert!(stored.check_with_torrent(&copy.torrent, &domain()));
            // Evidence that names a target of its own is not accepted against the torrent.
            let mut forged = (*evidence).clone();
            forged.target = match forged.target {
                Target::V2 {
                    file_length,
                    file_block_index,
                    ..
                } => Target::V2 {
                    pieces_root: [0xee; 32],
                    file_length,
                    file_block_index,
                },
                Target::V1 { piece_length, .. } => Target::V1 {
                    piece_sha1: [0xee; 20],
                    piece_length,
                },
            };
            assert!(forged.check(&domain()));
            assert!(!forged.check_with_torrent(&copy.torrent, &domain()));
            wrong += 1;
        }
        assert_eq!(wrong, 44);
    }
}

/// Targets refuse challenges that do not belong to the torrent.
#[test]
fn targets_refuse_foreign_challenges() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(6);
    let copy = make_torrent(dir.path(), Version::V2, &mut rng);
    let id = torrent_key(&copy.torrent);
    let pieces = copy.torrent.piece_count();
    let bad = [
        Challenge {
            torrent: [0; 32],
            piece: 0,
            block: 0,
        },
        Challenge {
            torrent: id,
            piece: pieces,
            block: 0,
        },
        // Piece 0 holds a.bin's first 64 KiB: 4 blocks.
        Challenge {
            torrent: id,
            piece: 0,
            block: 4,
        },
    ];
    for c in bad {
        assert!(Target::for_challenge(&copy.torrent, &c).is_err(), "{c:?}");
    }
}
