//! The demo's closing report: gathered from the hub's API only (what any member could ask), printed
//! as tables and kept as `report.json`, whose figures the demo's test reconciles with the ledger.

use std::collections::BTreeMap;

use anyhow::Result;
use hubapi::{HubClient, LedgerInfo, TorrentSummary};
use node::size::format_size;
use serde::Serialize;
use token::{Address, Amount};

#[derive(Debug, Serialize)]
pub struct Report {
    pub members: Vec<MemberLine>,
    pub torrents: Vec<TorrentLine>,
    pub epochs: Vec<EpochLine>,
    pub minted: Amount,
    pub burned: Amount,
    pub stakers_pool: Amount,
    pub entries: u64,
    pub log_hash: String,
    pub earnings_root: String,
}

#[derive(Debug, Serialize)]
pub struct MemberLine {
    pub name: String,
    pub address: Address,
    pub balance: Amount,
    pub stake: Amount,
    pub vesting: Amount,
    /// Everything closes ever paid it (the distributor's leaf).
    pub earned: Amount,
    /// Of the watched closes: hosting rewards, sponsored pools, staker fees.
    pub hosting: Amount,
    pub sponsored: Amount,
    pub fees: Amount,
    pub uploaded: u64,
    pub downloaded: u64,
    pub standing: String,
    /// The geographic boost at the last close: basis points and why.
    pub geo_bps: u32,
    pub geo: String,
}

#[derive(Debug, Serialize)]
pub struct TorrentLine {
    pub name: String,
    pub size: u64,
    pub price_per_gib_start: Amount,
    pub price_per_gib: Amount,
    pub saturation_wad: Amount,
    pub weight_wad: Amount,
    pub replicas_milli: u64,
    pub pool: Amount,
}

#[derive(Debug, Serialize)]
pub struct EpochLine {
    pub epoch: u64,
    pub minted: Amount,
    pub hosting_paid: Amount,
    pub sponsored_paid: Amount,
    pub fees_paid: Amount,
    pub released: Amount,
    /// Per member: pass, offline, missing, wrong.
    pub audits: BTreeMap<String, [u32; 4]>,
    /// Members that earned nothing from hosting, and why.
    pub excluded: BTreeMap<String, String>,
}

fn per_gib(per_byte: Amount) -> Amount {
    Amount(per_byte.0 << 30)
}

/// A WAD (10^18 = 1) as a short decimal.
fn wad(x: Amount) -> String {
    format!("{:.3}", x.0 as f64 / 1e18)
}

pub async fn gather(
    api: &HubClient,
    info: &LedgerInfo,
    members: &[(String, Address)],
    published: &[TorrentSummary],
    closes: Vec<ledger::CloseSummary>,
) -> Result<Report> {
    let name_of: BTreeMap<Address, &str> = members.iter().map(|(n, a)| (*a, n.as_str())).collect();
    let name = |a: &Address| {
        name_of
            .get(a)
            .map_or_else(|| a.to_string(), |n| (*n).to_owned())
    };

    let mut epochs = Vec::new();
    let mut sums: BTreeMap<Address, [u128; 3]> = BTreeMap::new();
    for c in &closes {
        let mut audits: BTreeMap<String, [u32; 4]> = BTreeMap::new();
        for r in api.epoch_audits(c.epoch).await? {
            let slot = match r.mark {
                audit::Mark::Pass => 0,
                audit::Mark::Offline => 1,
                audit::Mark::Missing => 2,
                audit::Mark::Wrong => 3,
            };
            audits.entry(name(&r.node)).or_default()[slot] += 1;
        }
        let mut excluded = BTreeMap::new();
        for h in &c.hosts {
            let s = sums.entry(h.node).or_default();
            s[0] += h.reward.0;
            s[1] += h.sponsored.0;
            if let Some(why) = &h.excluded {
                excluded.insert(name(&h.node), why.to_string());
            }
        }
        for s in &c.stakers {
            sums.entry(s.account).or_default()[2] += s.paid.0;
        }
        epochs.push(EpochLine {
            epoch: c.epoch,
            minted: c.minted,
            hosting_paid: c.hosting_paid,
            sponsored_paid: c.sponsored_paid,
            fees_paid: c.fees_paid,
            released: c.released,
            audits,
            excluded,
        });
    }

    let mut lines = Vec::new();
    let mut root = String::new();
    for (member, address) in members {
        let account = api.account(address).await?;
        let earnings = api.earnings(address).await?;
        root = earnings.root.clone();
        let stats = api.member(member).await?;
        let standing = match api.node(address).await {
            Ok(n) if n.disqualified => "disqualified".to_owned(),
            Ok(n) if n.frozen => format!("{}, frozen", n.standing),
            Ok(n) => n.standing,
            Err(_) => "not hosting".to_owned(),
        };
        let s = sums.get(address).copied().unwrap_or_default();
        let replica = closes
            .last()
            .and_then(|c| c.hosts.iter().find(|h| h.node == *address))
            .and_then(|h| h.replicas.iter().find(|r| r.verified_bytes > 0));
        let (geo_bps, geo) = replica.map_or((10_000, "no verified replica".to_owned()), |r| {
            (r.geo_bps, r.geo.reason())
        });
        lines.push(MemberLine {
            name: member.clone(),
            address: *address,
            balance: account.balance,
            stake: account.stake,
            vesting: account.vesting,
            earned: earnings.cumulative,
            hosting: Amount(s[0]),
            sponsored: Amount(s[1]),
            fees: Amount(s[2]),
            uploaded: stats.uploaded,
            downloaded: stats.downloaded,
            standing,
            geo_bps,
            geo,
        });
    }

    let market = api.market().await?;
    let start = Amount(info.price_per_gib.0 >> 30);
    let torrents = published
        .iter()
        .filter_map(|p| market.torrents.iter().find(|t| t.id == p.id))
        .map(|t| TorrentLine {
            name: t.name.clone(),
            size: t.size,
            price_per_gib_start: per_gib(start),
            price_per_gib: per_gib(t.price_per_byte),
            saturation_wad: t.saturation_wad,
            weight_wad: t.weight_wad,
            replicas_milli: t.replicas_milli,
            pool: t.pool,
        })
        .collect();
    let ledger = api.ledger().await?;
    Ok(Report {
        members: lines,
        torrents,
        epochs,
        minted: ledger.minted,
        burned: ledger.burned,
        stakers_pool: ledger.stakers_pool,
        entries: ledger.entries,
        log_hash: ledger.log_hash,
        earnings_root: root,
    })
}

impl Report {
    pub fn print(&self, info: &LedgerInfo) {
        let sym = &info.symbol;
        println!("\n== members ({sym}) ==");
        println!(
            "  {:<9} {:>12} {:>8} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}  standing",
            "member", "balance", "staked", "vesting", "hosting", "sponsored", "fees", "up", "down"
        );
        for m in &self.members {
            println!(
                "  {:<9} {:>12} {:>8} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}  {}",
                m.name,
                short(m.balance),
                short(m.stake),
                short(m.vesting),
                short(m.hosting),
                short(m.sponsored),
                short(m.fees),
                format_size(m.uploaded),
                format_size(m.downloaded),
                m.standing
            );
        }
        println!("\n== geography (the hub's auditor is in Berlin) ==");
        for m in &self.members {
            // The verdict's reason says "boosted" or "no boost: why" itself.
            println!("  {:<9} {}", m.name, m.geo);
        }
        println!("\n== torrents ==");
        println!(
            "  {:<22} {:>9} {:>18} {:>10} {:>7} {:>8} {:>10}",
            "torrent", "size", "price/GiB", "saturation", "weight", "replicas", "pool"
        );
        for t in &self.torrents {
            println!(
                "  {:<22} {:>9} {:>8} → {:>7} {:>10} {:>7} {:>8.2} {:>10}",
                t.name,
                format_size(t.size),
                short(t.price_per_gib_start),
                short(t.price_per_gib),
                wad(t.saturation_wad),
                wad(t.weight_wad),
                t.replicas_milli as f64 / 1000.0,
                short(t.pool)
            );
        }
        println!("\n== epochs ({sym}) ==");
        for e in &self.epochs {
            println!(
                "  epoch {}: minted {}, hosting paid {}, sponsored {}, fees to stakers {}, vesting released {}",
                e.epoch,
                short(e.minted),
                short(e.hosting_paid),
                short(e.sponsored_paid),
                short(e.fees_paid),
                short(e.released)
            );
            for (name, [pass, offline, missing, wrong]) in &e.audits {
                let why = e
                    .excluded
                    .get(name)
                    .map_or(String::new(), |w| format!("  → no hosting reward: {w}"));
                println!(
                    "    {name:<9} audits: {pass} pass, {offline} offline, {missing} missing, {wrong} wrong{why}"
                );
            }
        }
        println!("\n== ledger ==");
        println!(
            "  minted {} {sym}, burned {} {sym}, stakers' pool {} {sym}",
            self.minted, self.burned, self.stakers_pool
        );
        println!("  {} entries, head {}", self.entries, self.log_hash);
        println!("  earnings Merkle root {}", self.earnings_root);
    }
}

/// An amount with at most four decimals, for tables.
fn short(a: Amount) -> String {
    format!("{:.4}", a.0 as f64 / 1e18)
}
