//! The hub's auditor over real sockets, against nodes that lie, forget, or are not there.
//!
//! A test-only *fake node* speaks just enough of the peer wire for the auditor (BEP 3 handshake,
//! BEP 10 handshake naming `sb_audit`, then answers to challenges) and answers by its
//! [`Behaviour`]: the right bytes, the right bytes with one bit flipped (signed all the same: a
//! node that signs wrong data), or a signed "missing". An offline node is a report whose endpoint
//! nobody listens on. Epochs are a few seconds long, so each test runs whole epochs end to end:
//! commitment, report, audits, reveal, results in the ledger, and what a third party can re-check
//! from the API alone.

mod common;

use common::api_error;

use common::fake_node::{Behaviour, Content, fake_node, make_content};

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use audit::{Answer, Challenge, Claim, HostingReport, Mark, PieceSet, TorrentLayouts};
use hubapi::{AuditRecord, CONTAINED_FROM, EpochView, HubClient, ReportSubmission};
use ledger::Genesis;
use ledger::genesis::Allocation;
use metainfo::Version;
use token::{Address, Amount, Domain, Report, SecretKey, Signed, Unstake, UserTx, keccak256};

/// Challenges per node and epoch in these collectives.
const SAMPLES: u32 = 8;
/// Every node's stake from the genesis.
const STAKE: u64 = 1000;

/// A loopback port nothing listens on.
fn dead_endpoint() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

// ---- a collective: a hub with a ledger, members with stake, two published torrents ----

struct Collective {
    _dir: tempfile::TempDir,
    hub: common::RunningHub,
    anon: HubClient,
    domain: Domain,
    genesis: Genesis,
    keys: Vec<SecretKey>,
    contents: Arc<Vec<Content>>,
}

/// A hub whose genesis gives each of `names` a member account with [`STAKE`] tokens staked, and
/// a hybrid (two files, so a pad file between them) and a v1-only torrent published through the
/// API by the first member (18 blocks in all).
async fn collective(epoch_secs: u64, names: &[&str]) -> Collective {
    collective_with(
        epoch_secs,
        names,
        |_| {},
        |data| {
            vec![
                make_content(
                    data,
                    "hybrid",
                    Version::Hybrid,
                    32 * 1024,
                    &[("a.bin", 70 * 1024 + 123), ("b.bin", 40 * 1024)],
                    1,
                ),
                make_content(
                    data,
                    "v1",
                    Version::V1,
                    32 * 1024,
                    &[("v1.bin", 150 * 1024 + 77)],
                    2,
                ),
            ]
        },
    )
    .await
}

/// [`collective`] with other genesis parameters and torrents.
async fn collective_with(
    epoch_secs: u64,
    names: &[&str],
    tweak: impl FnOnce(&mut Genesis),
    contents: impl FnOnce(&Path) -> Vec<Content>,
) -> Collective {
    // `RUST_LOG=hub=debug` shows the auditor at work (captured per test unless --nocapture).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let operator = SecretKey::generate();
    let keys: Vec<SecretKey> = names.iter().map(|_| SecretKey::generate()).collect();
    let mut genesis = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
    genesis.epoch_secs = epoch_secs;
    genesis.audit_deadline_secs = 1;
    genesis.audit_samples = SAMPLES;
    tweak(&mut genesis);
    for (key, name) in keys.iter().zip(names) {
        genesis.allocations.push(Allocation {
            account: key.address(),
            liquid: Amount::tokens(10),
            staked: Amount::tokens(STAKE),
            lock_until: 0,
            member: Some((*name).into()),
        });
    }
    let config = common::config(dir.path());
    ledger::Ledger::create(&config.ledger_path(), &genesis, operator.clone()).unwrap();
    let hub = common::serve(hub::Hub::open_with_ledger(config, operator).unwrap()).await;
    let anon = HubClient::new(&hub.url()).unwrap();
    let domain = anon.ledger().await.unwrap().domain;

    let passkey = {
        let store = hub::open_store(dir.path()).unwrap();
        let row = store
            .members_since(0)
            .unwrap()
            .into_iter()
            .find(|m| m.name == names[0])
            .unwrap();
        tracker::request::passkey_to_string(&row.passkey)
    };
    let member = anon.clone().with_passkey(Some(passkey));
    let data = dir.path().join("data");
    let contents = contents(&data);
    for (i, c) in contents.iter().enumerate() {
        let summary = member
            .publish(c.bytes.clone(), &format!("audited {i}"), "games", "")
            .await
            .unwrap();
        let key = match (summary.info_hash_v1, summary.info_hash_v2) {
            (_, Some(v2)) => hex::decode(v2).unwrap(),
            (Some(v1), None) => {
                let mut id = hex::decode(v1).unwrap();
                id.resize(32, 0);
                id
            }
            (None, None) => panic!("published without an info-hash"),
        };
        assert_eq!(
            key,
            c.id(),
            "the hub indexes the torrent under its audit id"
        );
    }
    Collective {
        _dir: dir,
        hub,
        anon,
        domain,
        genesis,
        keys,
        contents: Arc::new(contents),
    }
}

impl Collective {
    fn layouts(&self) -> TorrentLayouts<'_> {
        self.contents.iter().map(|c| &c.torrent).collect()
    }

    /// A report claiming every content torrent whole.
    fn hosting_report(&self, node: Address, epoch: u64) -> HostingReport {
        HostingReport {
            node,
            epoch,
            claims: self
                .contents
                .iter()
                .map(|c| Claim {
                    torrent: c.id(),
                    pieces: PieceSet::All,
                })
                .collect(),
        }
    }

    /// `tx` as `by` signs it, with the full `report`.
    fn submission(&self, by: &SecretKey, report: HostingReport, tx: Report) -> ReportSubmission {
        ReportSubmission {
            tx: Signed::<UserTx>::sign(&self.domain, by, UserTx::Report(tx)),
            report,
        }
    }

    async fn nonce(&self, address: &Address) -> u64 {
        self.anon.account(address).await.unwrap().nonce
    }

    /// Reports `key`'s node at `endpoint`, claiming every torrent, for the epoch after the hub's
    /// current one, retrying while the hub has not committed it yet (`bad_epoch`) or the clock
    /// moved on meanwhile. Returns the epoch and the report.
    async fn report(&self, key: &SecretKey, endpoint: SocketAddr) -> (u64, HostingReport) {
        let started = Instant::now();
        loop {
            let epoch = self.anon.current_epoch().await.unwrap().current + 1;
            let report = self.hosting_report(key.address(), epoch);
            let tx = Report {
                node: key.address(),
                epoch,
                report_hash: report.hash(),
                claimed_bytes: report.claimed_bytes(&self.layouts()).unwrap(),
                endpoint: endpoint.to_string(),
                location: String::new(),
                nonce: self.nonce(&key.address()).await,
            };
            let submission = self.submission(key, report.clone(), tx);
            match self.anon.submit_report(&submission).await {
                Ok(_) => return (epoch, report),
                Err(e) => {
                    let (status, code, message) = api_error(e);
                    let retry = code == "bad_epoch"
                        || (code == "bad_report" && message.contains("next two"));
                    assert!(retry, "report refused: {status} {code}: {message}");
                    assert!(
                        started.elapsed() < Duration::from_secs(30),
                        "the hub never took the report: {code}: {message}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Waits until `epoch`'s results are in the ledger.
    async fn audited(&self, epoch: u64) -> EpochView {
        let limit = Duration::from_secs(4 * self.genesis.epoch_secs + 20);
        let started = Instant::now();
        loop {
            let view = self.anon.epoch(epoch).await.unwrap();
            if view.audited {
                return view;
            }
            assert!(
                started.elapsed() < limit,
                "epoch {epoch} not audited after {limit:?}: {view:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn audits_of(&self, epoch: u64, node: &Address) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = self
            .anon
            .epoch_audits(epoch)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.node == *node)
            .collect();
        records.sort_by_key(|r| r.idx);
        records
    }

    async fn stake(&self, address: &Address) -> (Amount, Amount) {
        let a = self.anon.account(address).await.unwrap();
        (a.stake, a.vesting)
    }

    async fn burned(&self) -> Amount {
        self.anon.ledger().await.unwrap().burned
    }

    fn content(&self, torrent: &[u8; 32]) -> &Content {
        self.contents.iter().find(|c| c.id() == *torrent).unwrap()
    }

    async fn stop(self) {
        self.hub.stop().await;
    }
}

fn hash32(text: &str) -> [u8; 32] {
    hex::decode(text.trim_start_matches("0x"))
        .unwrap()
        .try_into()
        .unwrap()
}

fn marks(records: &[AuditRecord]) -> String {
    let count = |m: Mark| records.iter().filter(|r| r.mark == m).count();
    format!(
        "{} audits: {} pass, {} offline, {} missing, {} wrong",
        records.len(),
        count(Mark::Pass),
        count(Mark::Offline),
        count(Mark::Missing),
        count(Mark::Wrong)
    )
}

/// `basis_points` as the ledger computes it.
fn share(amount: u128, bps: u32) -> u128 {
    let bps = u128::from(bps);
    amount / 10_000 * bps + amount % 10_000 * bps / 10_000
}

/// The epoch's secret opens its commitment, and the derived challenges of `node` re-derived from
/// the revealed secret and the report are exactly the recorded ones.
fn check_derivation(
    c: &Collective,
    view: &EpochView,
    report: &HostingReport,
    records: &[AuditRecord],
) {
    let commitment = hash32(view.commitment.as_deref().expect("committed"));
    let secret = hash32(view.secret.as_deref().expect("revealed"));
    audit::check_reveal(&commitment, view.epoch, &secret).expect("the secret opens the commitment");
    let derived = audit::derive(
        &secret,
        view.epoch,
        &report.node,
        &report.hash(),
        report,
        &c.layouts(),
        SAMPLES,
    )
    .unwrap();
    let recorded: Vec<Challenge> = records
        .iter()
        .filter(|r| r.idx < CONTAINED_FROM)
        .map(|r| r.challenge)
        .collect();
    assert_eq!(
        recorded, derived,
        "the recorded challenges are the derived ones"
    );
    let indices: Vec<u32> = records
        .iter()
        .filter(|r| r.idx < CONTAINED_FROM)
        .map(|r| r.idx)
        .collect();
    assert_eq!(indices, (0..SAMPLES).collect::<Vec<_>>());
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_data_is_burned_with_evidence_a_third_party_can_check() {
    let t0 = Instant::now();
    let c = collective(5, &["honest", "corrupt"]).await;
    let (honest_key, corrupt_key) = (c.keys[0].clone(), c.keys[1].clone());
    let (honest, corrupt) = (honest_key.address(), corrupt_key.address());
    let honest_node = fake_node(
        honest_key.clone(),
        c.domain.clone(),
        Behaviour::Honest,
        Arc::clone(&c.contents),
    )
    .await;
    let corrupt_node = fake_node(
        corrupt_key.clone(),
        c.domain.clone(),
        Behaviour::Corrupt,
        Arc::clone(&c.contents),
    )
    .await;
    let burned_before = c.burned().await;
    let (e_honest, r_honest) = c.report(&honest_key, honest_node.addr).await;
    let (e_corrupt, r_corrupt) = c.report(&corrupt_key, corrupt_node.addr).await;
    // The hub keeps the full reports exactly as sent.
    assert_eq!(
        c.anon
            .report(&format!("0x{}", hex::encode(r_corrupt.hash())))
            .await
            .unwrap(),
        r_corrupt
    );
    let reported = t0.elapsed();

    // The honest node: every audit passes; nothing is frozen or burned.
    let view = c.audited(e_honest).await;
    let records = c.audits_of(e_honest, &honest).await;
    eprintln!("honest node, epoch {e_honest}: {}", marks(&records));
    assert_eq!(records.len() as u32, SAMPLES);
    assert!(records.iter().all(|r| r.mark == Mark::Pass), "{records:?}");
    assert!(records.iter().all(|r| r.evidence.is_none()));
    check_derivation(&c, &view, &r_honest, &records);
    let node = c.anon.node(&honest).await.unwrap();
    assert!(!node.frozen && !node.disqualified);
    assert_eq!(node.last_audited_epoch, Some(e_honest));
    assert_eq!(
        c.stake(&honest).await,
        (Amount::tokens(STAKE), Amount::ZERO)
    );

    // The corrupt node: every answer is wrong, and signed.
    let view = c.audited(e_corrupt).await;
    let records = c.audits_of(e_corrupt, &corrupt).await;
    eprintln!("corrupt node, epoch {e_corrupt}: {}", marks(&records));
    assert_eq!(records.len() as u32, SAMPLES);
    assert!(records.iter().all(|r| r.mark == Mark::Wrong), "{records:?}");
    assert_eq!(view.wrong as u32, SAMPLES);
    check_derivation(&c, &view, &r_corrupt, &records);
    assert!(corrupt_node.answered.load(Ordering::SeqCst) >= SAMPLES as usize);

    // Its collateral lost exactly the genesis' share, once for the epoch, and the supply burned it.
    let bps = c.genesis.wrong_data_burn_bps;
    let burn = share(Amount::tokens(STAKE).0, bps);
    let (stake, vesting) = c.stake(&corrupt).await;
    assert_eq!(vesting, Amount::ZERO);
    assert_eq!(stake, Amount(Amount::tokens(STAKE).0 - burn));
    let burned = c.burned().await;
    assert_eq!(burned, Amount(burned_before.0 + burn));
    let node = c.anon.node(&corrupt).await.unwrap();
    assert!(!node.frozen, "wrong data burns; it does not freeze");
    assert!(
        node.reputation_ppb < economics::PPB,
        "{}",
        node.reputation_ppb
    );
    eprintln!(
        "corrupt node: burned {burn} base units ({bps} bps of {STAKE} tokens), reputation {} ppb",
        node.reputation_ppb
    );

    // Each wrong mark's evidence: served, hashing to the recorded hash, and holding against the
    // torrent the test made (not the hub's copy), in the collective's domain.
    for r in &records {
        let hash_text = r.evidence.as_deref().expect("a wrong mark has evidence");
        let hash = hash32(hash_text);
        let evidence = c.anon.evidence(hash_text).await.unwrap();
        let addr = c.hub.addr;
        let target = format!("/api/v1/evidence/{hash_text}");
        let (status, body) = tokio::task::spawn_blocking(move || common::http_get(addr, &target))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            keccak256(&body),
            hash,
            "the served JSON hashes to the record"
        );
        assert_eq!(keccak256(&serde_json::to_vec(&evidence).unwrap()), hash);
        assert_eq!(evidence.node, corrupt);
        assert_eq!(evidence.epoch, e_corrupt);
        assert_eq!(evidence.challenge, r.challenge);
        let torrent = &c.content(&r.challenge.torrent).torrent;
        assert!(evidence.check_with_torrent(torrent, &c.domain), "{r:?}");
        // Other bytes than the node sent: its signature no longer covers them.
        let mut forged = evidence.clone();
        let (Answer::Block { data, .. } | Answer::Piece { data }) = &mut forged.answer;
        data[0] ^= 1;
        assert!(forged.failure().is_some());
        assert!(!forged.check_with_torrent(torrent, &c.domain));
        // Nor does it hold in another collective's domain.
        let elsewhere = Domain {
            chain_id: c.domain.chain_id + 1,
            ..c.domain.clone()
        };
        assert!(!evidence.check_with_torrent(torrent, &elsewhere));
    }
    let kinds: BTreeSet<&str> = records
        .iter()
        .map(
            |r| match c.content(&r.challenge.torrent).torrent.info.version {
                Version::V1 => "v1 piece",
                _ => "v2 block",
            },
        )
        .collect();
    eprintln!(
        "corrupt_data_is_burned_with_evidence_a_third_party_can_check: {:.1?} \
         (reports in after {reported:.1?}; wrong answers were {kinds:?})",
        t0.elapsed()
    );
    drop((honest_node, corrupt_node));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_node_is_frozen_not_burned_and_owes_its_blocks() {
    let t0 = Instant::now();
    let c = collective(4, &["absent"]).await;
    let key = c.keys[0].clone();
    let me = key.address();
    let burned_before = c.burned().await;
    let (e1, r1) = c.report(&key, dead_endpoint()).await;
    let initial = c.anon.node(&me).await.unwrap().reputation_ppb;

    let view = c.audited(e1).await;
    let records = c.audits_of(e1, &me).await;
    eprintln!("offline node, epoch {e1}: {}", marks(&records));
    assert_eq!(records.len() as u32, SAMPLES);
    assert!(
        records.iter().all(|r| r.mark == Mark::Offline),
        "{records:?}"
    );
    assert!(records.iter().all(|r| r.evidence.is_none()));
    check_derivation(&c, &view, &r1, &records);
    let node = c.anon.node(&me).await.unwrap();
    assert!(node.frozen, "offline: frozen");
    assert!(!node.disqualified);
    assert!(
        node.reputation_ppb < initial,
        "{} < {initial}",
        node.reputation_ppb
    );
    assert_eq!(c.stake(&me).await, (Amount::tokens(STAKE), Amount::ZERO));
    assert_eq!(c.burned().await, burned_before, "offline burns nothing");
    let unstake = |nonce| {
        Signed::<UserTx>::sign(
            &c.domain,
            &key,
            UserTx::Unstake(Unstake {
                account: me,
                amount: Amount::tokens(1),
                nonce,
            }),
        )
    };
    let (status, code, message) = api_error(
        c.anon
            .submit(&unstake(c.nonce(&me).await))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (400, "frozen"), "{message}");
    let first_half = t0.elapsed();
    eprintln!(
        "offline node: frozen, reputation {initial} -> {} ppb, unstake refused ({message}); {first_half:.1?}",
        node.reputation_ppb
    );

    // Back online on a new port, reported for a later epoch.
    let online = fake_node(
        key.clone(),
        c.domain.clone(),
        Behaviour::Honest,
        Arc::clone(&c.contents),
    )
    .await;
    let (e2, r2) = c.report(&key, online.addr).await;
    assert!(e2 > e1 + 1, "reported after {e1} was audited: {e2}");
    // Meanwhile the old report stays in force: the epochs between are audited at the dead port.
    let mut owed = BTreeSet::new();
    for e in e1..e2 {
        c.audited(e).await;
        let records = c.audits_of(e, &me).await;
        eprintln!("offline node, epoch {e}: {}", marks(&records));
        assert!(
            records.iter().all(|r| r.mark == Mark::Offline),
            "{records:?}"
        );
        owed.extend(records.iter().map(|r| r.challenge));
    }
    let view = c.audited(e2).await;
    let records = c.audits_of(e2, &me).await;
    eprintln!("online again, epoch {e2}: {}", marks(&records));
    let reasked: BTreeSet<Challenge> = records
        .iter()
        .filter(|r| r.idx >= CONTAINED_FROM)
        .map(|r| r.challenge)
        .collect();
    assert_eq!(
        reasked, owed,
        "the owed blocks are asked again, each once, and only those"
    );
    assert_eq!(
        records.iter().filter(|r| r.idx >= CONTAINED_FROM).count(),
        owed.len()
    );
    assert!(records.iter().all(|r| r.mark == Mark::Pass), "{records:?}");
    check_derivation(&c, &view, &r2, &records);
    let node = c.anon.node(&me).await.unwrap();
    assert!(!node.frozen, "every audit passed: unfrozen");
    assert_eq!(c.stake(&me).await, (Amount::tokens(STAKE), Amount::ZERO));
    assert_eq!(c.burned().await, burned_before);
    // Unfrozen, it may unstake again.
    c.anon.submit(&unstake(c.nonce(&me).await)).await.unwrap();
    eprintln!(
        "an_offline_node_is_frozen_not_burned_and_owes_its_blocks: {:.1?} (first half {first_half:.1?}; \
         {} owed blocks re-asked and passed; the node answered {} challenges by then, the next \
         epoch's first ones included)",
        t0.elapsed(),
        owed.len(),
        online.answered.load(Ordering::SeqCst)
    );
    drop(online);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_says_missing_loses_reputation_and_is_frozen_but_not_burned() {
    let t0 = Instant::now();
    let c = collective(4, &["forgetful"]).await;
    let key = c.keys[0].clone();
    let me = key.address();
    let node = fake_node(
        key.clone(),
        c.domain.clone(),
        Behaviour::Missing,
        Arc::clone(&c.contents),
    )
    .await;
    let burned_before = c.burned().await;
    let (epoch, report) = c.report(&key, node.addr).await;
    let initial = c.anon.node(&me).await.unwrap().reputation_ppb;
    let view = c.audited(epoch).await;
    let records = c.audits_of(epoch, &me).await;
    eprintln!("missing node, epoch {epoch}: {}", marks(&records));
    assert_eq!(records.len() as u32, SAMPLES);
    assert!(
        records.iter().all(|r| r.mark == Mark::Missing),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .all(|r| r.evidence.is_none() && r.attempts == 1)
    );
    assert_eq!(view.missing as u32, SAMPLES);
    check_derivation(&c, &view, &report, &records);
    let standing = c.anon.node(&me).await.unwrap();
    assert!(standing.frozen);
    assert!(!standing.disqualified);
    assert!(standing.reputation_ppb < initial);
    assert_eq!(c.stake(&me).await, (Amount::tokens(STAKE), Amount::ZERO));
    assert_eq!(c.burned().await, burned_before);
    eprintln!(
        "a_node_that_says_missing_loses_reputation_and_is_frozen_but_not_burned: {:.1?} \
         (reputation {initial} -> {} ppb)",
        t0.elapsed(),
        standing.reputation_ppb
    );
    drop(node);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_intake_refuses_what_does_not_add_up() {
    let t0 = Instant::now();
    // Hour-long epochs: once the next two are committed, nothing else writes to the ledger.
    let c = collective(3600, &["node", "other"]).await;
    let (key, other) = (c.keys[0].clone(), c.keys[1].clone());
    let me = key.address();
    let epoch = loop {
        let now = c.anon.current_epoch().await.unwrap().current;
        if c.anon.epoch(now + 2).await.unwrap().commitment.is_some() {
            break now + 1;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "epochs not committed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let endpoint = "127.0.0.1:6881".to_string();
    let report = c.hosting_report(me, epoch);
    let claimed = report.claimed_bytes(&c.layouts()).unwrap();
    let tx = Report {
        node: me,
        epoch,
        report_hash: report.hash(),
        claimed_bytes: claimed,
        endpoint: endpoint.clone(),
        location: String::new(),
        nonce: c.nonce(&me).await,
    };
    let unknown = HostingReport {
        claims: vec![Claim {
            torrent: [0x42; 32],
            pieces: PieceSet::All,
        }],
        ..report.clone()
    };
    let cases: Vec<(&str, ReportSubmission, &str)> = vec![
        (
            "the signed hash is not the report's",
            c.submission(
                &key,
                report.clone(),
                Report {
                    report_hash: c.hosting_report(me, epoch + 1).hash(),
                    ..tx.clone()
                },
            ),
            "bad_report",
        ),
        (
            "the signed claimed bytes are not the report's",
            c.submission(
                &key,
                report.clone(),
                Report {
                    claimed_bytes: claimed - 1,
                    ..tx.clone()
                },
            ),
            "bad_report",
        ),
        (
            "a claim on a torrent the index does not have",
            c.submission(
                &key,
                unknown.clone(),
                Report {
                    report_hash: unknown.hash(),
                    claimed_bytes: 1 << 20,
                    ..tx.clone()
                },
            ),
            "bad_report",
        ),
        (
            "signed by another key than report.node",
            c.submission(&other, report.clone(), tx.clone()),
            "bad_signature",
        ),
        (
            "the report is the node's, the transaction another member's",
            c.submission(
                &other,
                report.clone(),
                Report {
                    node: other.address(),
                    nonce: c.nonce(&other.address()).await,
                    ..tx.clone()
                },
            ),
            "bad_report",
        ),
    ];
    let before = c.anon.ledger().await.unwrap().entries;
    let epoch_before = c.anon.current_epoch().await.unwrap().current;
    for (what, submission, code) in &cases {
        let (status, got, message) = api_error(c.anon.submit_report(submission).await.unwrap_err());
        eprintln!("refused ({what}): {status} {got}: {message}");
        assert_eq!((status, got.as_str()), (400, *code), "{what}: {message}");
    }
    if c.anon.current_epoch().await.unwrap().current == epoch_before {
        assert_eq!(
            c.anon.ledger().await.unwrap().entries,
            before,
            "nothing was logged"
        );
    }
    assert_eq!(c.nonce(&me).await, tx.nonce);
    assert!(
        c.anon
            .epoch_reports(epoch)
            .await
            .unwrap()
            .iter()
            .all(|r| r.node != me)
    );
    assert_eq!(
        api_error(c.anon.node(&me).await.unwrap_err()).1,
        "not_a_host"
    );

    // The same report, honestly signed, goes in.
    c.anon
        .submit_report(&c.submission(&key, report.clone(), tx.clone()))
        .await
        .unwrap();
    if c.anon.current_epoch().await.unwrap().current == epoch_before {
        assert_eq!(c.anon.ledger().await.unwrap().entries, before + 1);
    }
    let listed = c.anon.epoch_reports(epoch).await.unwrap();
    let mine = listed.iter().find(|r| r.node == me).expect("in force");
    assert_eq!(
        mine.report_hash,
        format!("0x{}", hex::encode(report.hash()))
    );
    assert_eq!((mine.claimed_bytes, &mine.endpoint), (claimed, &endpoint));
    // Once is enough: a second report for the epoch is refused by the ledger.
    let again = Report {
        nonce: tx.nonce + 1,
        ..tx.clone()
    };
    let (status, code, _) = api_error(
        c.anon
            .submit_report(&c.submission(&key, report.clone(), again))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (400, "report_exists"));
    eprintln!(
        "report_intake_refuses_what_does_not_add_up: {:.1?}",
        t0.elapsed()
    );
    c.stop().await;
}

/// Blocks owed by a node that stays offline pile up epoch after epoch (up to 8 new ones each),
/// but the ledger takes at most 4 × `audit_samples` outcomes per node and epoch: re-asking every
/// owed block would make the whole epoch's results unloggable, for every node in it, from the
/// fifth offline epoch on. The auditor re-asks what fits and keeps the rest owed. (With the
/// default reputation rules the node is disqualified before that; a collective that never
/// disqualifies, as here, reaches it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_offline_for_many_epochs_does_not_stall_the_audits() {
    let t0 = Instant::now();
    let never_disqualify = |g: &mut Genesis| g.reputation.disqualify_below_ppb = 0;
    // One 2 MiB file: 128 blocks, so the owed blocks keep growing for many epochs.
    let c = collective_with(2, &["gone"], never_disqualify, |data| {
        vec![make_content(
            data,
            "big",
            Version::Hybrid,
            64 * 1024,
            &[("big.bin", 2 << 20)],
            3,
        )]
    })
    .await;
    let key = c.keys[0].clone();
    let me = key.address();
    let (first, _) = c.report(&key, dead_endpoint()).await;
    let mut owed = BTreeSet::new();
    let mut counts = Vec::new();
    for epoch in first..first + 7 {
        c.audited(epoch).await;
        let records = c.audits_of(epoch, &me).await;
        assert!(
            records.iter().all(|r| r.mark == Mark::Offline),
            "{records:?}"
        );
        assert!(
            records.len() as u32 <= 4 * SAMPLES,
            "{} outcomes, the ledger takes {}",
            records.len(),
            4 * SAMPLES
        );
        let reasked: BTreeSet<Challenge> = records
            .iter()
            .filter(|r| r.idx >= CONTAINED_FROM)
            .map(|r| r.challenge)
            .collect();
        eprintln!(
            "epoch {epoch}: {} ({} re-asked of {} owed)",
            marks(&records),
            reasked.len(),
            owed.len()
        );
        assert!(reasked.is_subset(&owed), "only owed blocks are re-asked");
        assert_eq!(
            reasked.len(),
            owed.len().min((4 * SAMPLES - SAMPLES) as usize),
            "as many owed blocks as fit"
        );
        owed.extend(records.iter().map(|r| r.challenge));
        counts.push(records.len());
        assert!(c.anon.node(&me).await.unwrap().frozen);
    }
    let node = c.anon.node(&me).await.unwrap();
    assert_eq!(node.last_audited_epoch, Some(first + 6));
    assert_eq!(c.stake(&me).await, (Amount::tokens(STAKE), Amount::ZERO));
    eprintln!(
        "a_node_offline_for_many_epochs_does_not_stall_the_audits: {:.1?} (audits per epoch \
         {counts:?}; {} blocks owed; reputation {} ppb)",
        t0.elapsed(),
        owed.len(),
        node.reputation_ppb
    );
    c.stop().await;
}
