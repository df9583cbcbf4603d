//! `seedbank audit`: check the hub's availability audits from the outside.
//!
//! `verify EPOCH` trusts nothing the hub says without checking it: the revealed secret against the
//! commitment logged before the epoch, each full report against the hash its node signed, every
//! recorded challenge against a fresh derivation from the secret, and every piece of evidence
//! against the torrent (from files the verifier holds) and the node's signature.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use audit::{Challenge, TorrentLayouts, torrent_key};
use clap::{Args, Subcommand};
use hubapi::{CONTAINED_FROM, HubClient};
use metainfo::Torrent;
use token::Address;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: AuditAction,
    /// The collective's hub.
    #[arg(
        long,
        global = true,
        env = "SEEDBANK_HUB",
        default_value = "http://127.0.0.1:7800"
    )]
    hub: String,
}

#[derive(Subcommand)]
enum AuditAction {
    /// Re-derive an epoch's challenges from its revealed secret and check every recorded audit
    /// and every piece of evidence. Exits non-zero if anything disagrees.
    Verify {
        epoch: u64,
        /// A .torrent file of the collective (repeatable): the yardstick for evidence, held by
        /// you rather than taken from the hub.
        #[arg(long = "torrent", value_name = "FILE")]
        torrents: Vec<PathBuf>,
        /// A directory of .torrent files, read like --torrent for each.
        #[arg(long, value_name = "DIR")]
        torrent_dir: Option<PathBuf>,
    },
    /// An epoch's commitment, secret and audit counts (default: the current epoch).
    Epoch { epoch: Option<u64> },
    /// A hosting node's reputation, freeze, report and latest audits.
    Node { address: Address },
}

pub async fn run(args: AuditArgs) -> Result<()> {
    let hub = HubClient::new(&args.hub).with_context(|| format!("hub URL {}", args.hub))?;
    match args.action {
        AuditAction::Verify {
            epoch,
            torrents,
            torrent_dir,
        } => verify(&hub, epoch, torrents, torrent_dir).await,
        AuditAction::Epoch { epoch } => {
            let view = match epoch {
                Some(e) => hub.epoch(e).await,
                None => hub.current_epoch().await,
            }
            .context("asking the hub")?;
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(())
        }
        AuditAction::Node { address } => {
            let view = hub.node(&address).await.context("asking the hub")?;
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(())
        }
    }
}

fn load_torrents(files: Vec<PathBuf>, dir: Option<PathBuf>) -> Result<Vec<Torrent>> {
    let mut paths = files;
    if let Some(dir) = dir {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "torrent") {
                paths.push(path);
            }
        }
    }
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("{}", p.display()))?;
            Torrent::from_bytes(&bytes).with_context(|| format!("{}", p.display()))
        })
        .collect()
}

async fn verify(
    hub: &HubClient,
    epoch: u64,
    files: Vec<PathBuf>,
    dir: Option<PathBuf>,
) -> Result<()> {
    let torrents = load_torrents(files, dir)?;
    let layouts: TorrentLayouts = torrents.iter().collect();
    let by_id: HashMap<_, _> = torrents.iter().map(|t| (torrent_key(t), t)).collect();
    let ledger = hub
        .ledger()
        .await
        .context("asking the hub for the ledger")?;
    let view = hub.epoch(epoch).await.context("asking the hub")?;
    let (Some(commitment), Some(secret)) = (&view.commitment, &view.secret) else {
        bail!(
            "epoch {epoch} is not revealed yet (committed: {}); verify after it ends",
            view.commitment.is_some()
        );
    };
    let commitment = hash32(commitment)?;
    let secret = hash32(secret)?;
    audit::check_reveal(&commitment, epoch, &secret)
        .context("the revealed secret does not match the commitment logged before the epoch")?;
    println!("epoch {epoch}: the secret matches the commitment");

    let mut problems = Vec::new();
    let mut derived: BTreeMap<Address, Vec<Challenge>> = BTreeMap::new();
    let mut reports = BTreeMap::new();
    for r in hub.epoch_reports(epoch).await.context("reports in force")? {
        let report = hub
            .report(&r.report_hash)
            .await
            .with_context(|| format!("{}'s report {}", r.node, r.report_hash))?;
        let hash = hash32(&r.report_hash)?;
        if report.hash() != hash {
            problems.push(format!(
                "{}: the stored report does not hash to the signed hash",
                r.node
            ));
            continue;
        }
        match audit::derive(
            &secret,
            epoch,
            &r.node,
            &hash,
            &report,
            &layouts,
            ledger.audit_samples,
        ) {
            Ok(list) => {
                derived.insert(r.node, list);
            }
            Err(e) => problems.push(format!(
                "{}: cannot derive challenges (missing a torrent file?): {e}",
                r.node
            )),
        }
        reports.insert(r.node, report);
    }

    let records = hub.epoch_audits(epoch).await.context("audits")?;
    let (mut matched, mut owed, mut evidence_checked) = (0u64, 0u64, 0u64);
    for record in &records {
        let who = format!("{} audit #{}", record.node, record.idx);
        if record.idx >= CONTAINED_FROM {
            // A block owed from an earlier epoch: it must be one the report in force claims.
            let claimed = reports.get(&record.node).is_some_and(|r| {
                r.claims.iter().any(|c| {
                    c.torrent == record.challenge.torrent
                        && by_id.get(&c.torrent).is_some_and(|t| {
                            c.pieces.contains(record.challenge.piece, t.piece_count())
                        })
                })
            });
            if claimed {
                owed += 1;
            } else {
                problems.push(format!("{who}: a re-asked block the report does not claim"));
            }
        } else {
            match derived
                .get(&record.node)
                .and_then(|d| d.get(record.idx as usize))
            {
                Some(c) if *c == record.challenge => matched += 1,
                Some(c) => problems.push(format!(
                    "{who}: recorded {:?}, the secret derives {c:?}",
                    record.challenge
                )),
                None => problems.push(format!("{who}: no such challenge derives from the secret")),
            }
        }
        if record.mark == audit::Mark::Wrong {
            let Some(hash) = &record.evidence else {
                problems.push(format!("{who}: wrong, but no evidence"));
                continue;
            };
            let evidence = hub
                .evidence(hash)
                .await
                .with_context(|| format!("evidence {hash}"))?;
            let json = serde_json::to_vec(&evidence)?;
            if token::hash_hex(&token::keccak256(&json)) != *hash {
                problems.push(format!("{who}: the evidence does not hash to {hash}"));
            }
            let Some(torrent) = by_id.get(&record.challenge.torrent) else {
                problems.push(format!(
                    "{who}: no .torrent given for the challenged torrent"
                ));
                continue;
            };
            let consistent = evidence.node == record.node
                && evidence.epoch == epoch
                && evidence.challenge == record.challenge;
            if consistent && evidence.check_with_torrent(torrent, &ledger.domain) {
                evidence_checked += 1;
            } else {
                problems.push(format!(
                    "{who}: the evidence does not show a wrong answer signed by the node"
                ));
            }
        }
    }
    println!(
        "{} nodes, {} audits: {matched} challenges re-derived and matched, {owed} owed blocks \
         re-asked, {evidence_checked} wrong answers confirmed from evidence",
        derived.len(),
        records.len()
    );
    if problems.is_empty() {
        println!("epoch {epoch} verifies");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("  {p}");
        }
        bail!("epoch {epoch}: {} problems", problems.len())
    }
}
fn hash32(text: &str) -> Result<[u8; 32]> {
    token::parse_hash(text).map_err(anyhow::Error::msg)
}
