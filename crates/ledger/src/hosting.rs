//! The ledger's side of availability audits: hosting reports, the epoch secret's commitment and
//! reveal, audit results with their penalties, and the collateral bound on what a node may claim.
//! The rules are in `docs/economics.md` ("Hosting reports, audits and penalties").
//!
//! The ledger sees no piece layouts, so it cannot check a report's hash or claimed bytes against
//! the report body (the hub does, before logging), nor re-run an audit (the hub keeps the
//! evidence; the ledger binds its hash). What it does enforce, deterministically:
//! - a report is fixed before its epoch starts (so before the epoch's secret is revealed), once per
//!   node and epoch, and claims at most what the node's collateral covers;
//! - the hub commits to an epoch's secret before the epoch, reveals it after, and the reveal must
//!   open the commitment; results come after the reveal, once per epoch, only for nodes that had a
//!   report in force;
//! - penalties only ever burn (vesting first, then stake): the supply invariant holds through them;
//! - a frozen host cannot unstake, and no host can withdraw the collateral its reports in force
//!   (current or future) need.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use economics::reputation::{Reputation, Standing};
use serde::{Deserialize, Serialize};
use token::{Address, Amount, Report, hex32};

use crate::economy::Tally;
use crate::state::{Account, Effects, MemberChange, State, basis_points};
use crate::tx::{AuditMark, NodeAudit, TxError};
use crate::walk::{Walk, modify_each, update_each};

/// Base units in one whole token (10^18).
const TOKEN: u128 = 1_000_000_000_000_000_000;

/// Longest `endpoint` a report may carry, in bytes.
pub const MAX_ENDPOINT_BYTES: usize = 255;

/// A node that has reported at least once: its audit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub reputation: Reputation,
    /// It was offline or missing data in an audited epoch and has not passed a whole epoch since:
    /// it may not unstake (its collateral stays where a penalty can reach it).
    pub frozen: bool,
    /// Its reputation fell below disqualification: its stake was burned (the genesis' share) and
    /// it may not report again.
    pub disqualified: bool,
    /// The last epoch whose audit results named it.
    pub last_epoch: Option<u64>,
}

/// What a node's report for an epoch says, as the ledger keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInfo {
    /// `audit::HostingReport::hash` of the full report, which the hub keeps.
    #[serde(with = "hex32")]
    pub report_hash: [u8; 32],
    pub claimed_bytes: u64,
    /// `ip:port` of the node's peer-wire listener.
    pub endpoint: String,
    /// `""` or `"lat,lon"` in decimal degrees, as the node gave it.
    pub location: String,
}

/// An audit epoch's secret: committed before it, revealed after it, then audited once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochInfo {
    #[serde(with = "hex32")]
    pub commitment: [u8; 32],
    #[serde(with = "token::hexser::hex32_option")]
    pub secret: Option<[u8; 32]>,
    pub audited: bool,
}

/// Checks a report's endpoint: at most [`MAX_ENDPOINT_BYTES`], an IP address and port
/// (`192.0.2.7:6881`, `[2001:db8::7]:6881`). Hostnames are refused: resolving one would make
/// the ledger's verdict depend on DNS at replay time. Rust's own parser decides, not the
/// platform's, so every machine agrees.
pub fn check_endpoint(endpoint: &str) -> Result<SocketAddr, TxError> {
    let bad = |why: &str| Err(TxError::BadReport(format!("endpoint {endpoint:?}: {why}")));
    if endpoint.len() > MAX_ENDPOINT_BYTES {
        return bad("longer than 255 bytes");
    }
    let Ok(address) = endpoint.parse::<SocketAddr>() else {
        return bad("not an ip:port (hostnames are not accepted)");
    };
    if address.port() == 0 || address.ip().is_unspecified() {
        return bad("not an address anyone can reach");
    }
    Ok(address)
}

/// Checks a report's location: `""` (not given) or `"lat,lon"` in decimal degrees, latitude in
/// −90..=90, longitude in −180..=180, at most 6 decimals (about 0.1 m), no spaces, signs or
/// exponents beyond a leading `-`. One rule with the geographic boost that reads it
/// (`economics::geo::Location::parse`, integer micro-degrees: no floating point decides).
pub fn check_location(location: &str) -> Result<(), TxError> {
    economics::geo::Location::parse_optional(location)
        .map(|_| ())
        .map_err(|_| {
            TxError::BadReport(format!(
                "location {location:?}: expected \"\" or \"lat,lon\" in decimal degrees (at most 6 decimals)"
            ))
        })
}

impl State {
    /// A node's audit record, if it ever reported.
    pub fn host(&self, node: &Address) -> Option<Host> {
        self.hosts.get(node).copied()
    }

    /// Every node that ever reported, by address.
    pub fn hosts(&self) -> Vec<(Address, Host)> {
        self.hosts.iter().map(|(a, h)| (*a, *h)).collect()
    }

    pub fn epoch_info(&self, epoch: u64) -> Option<EpochInfo> {
        self.epochs.get(&epoch).copied()
    }

    /// Every committed epoch from `first` on, ascending: how the hub finds, after a restart,
    /// epochs it still has to reveal or report on.
    pub fn epochs_from(&self, first: u64) -> Vec<(u64, EpochInfo)> {
        self.epochs.range(first..).map(|(e, i)| (*e, *i)).collect()
    }

    /// Committed epochs whose secret is not revealed yet, ascending. Walks every epoch ever
    /// committed (8,760 a year with hour-long epochs): cheap for an auditor's periodic look.
    pub fn unrevealed_epochs(&self) -> Vec<u64> {
        self.epochs
            .iter()
            .filter(|(_, info)| info.secret.is_none())
            .map(|(e, _)| *e)
            .collect()
    }

    /// The report `node` made for exactly `epoch`.
    pub fn report(&self, node: &Address, epoch: u64) -> Option<ReportInfo> {
        self.reports.get(&(*node, epoch)).cloned()
    }

    /// The report in force for `node` at `epoch`: its latest report for `epoch` or before, with the
    /// epoch it was made for. A report stays in force until a later report's epoch begins.
    pub fn report_in_force(&self, node: &Address, epoch: u64) -> Option<(u64, ReportInfo)> {
        self.report_ref(node, epoch)
            .map(|(e, info)| (e, info.clone()))
    }

    /// [`State::report_in_force`] without the copy, for the close's walk over every host.
    pub(crate) fn report_ref(&self, node: &Address, epoch: u64) -> Option<(u64, &ReportInfo)> {
        // The last report at or before (node, epoch) is the node's latest, if it is the node's:
        // one search for the upper bound (a range with both bounds searches for each).
        self.reports
            .range(..=(*node, epoch))
            .next_back()
            .filter(|((n, _), _)| n == node)
            .map(|((_, e), info)| (*e, info))
    }

    /// Every report in force at `epoch` of a host that is still an active member and not
    /// disqualified: whom the hub audits in that epoch. By node address.
    pub fn reports_in_force(&self, epoch: u64) -> Vec<(Address, u64, ReportInfo)> {
        self.hosts
            .iter()
            .filter(|(node, host)| !host.disqualified && self.is_active(node))
            .filter_map(|(node, _)| {
                self.report_in_force(node, epoch)
                    .map(|(e, info)| (*node, e, info))
            })
            .collect()
    }

    /// What stands behind a node's claims: its stake and its vesting tokens.
    pub fn collateral(&self, address: &Address) -> Amount {
        let a = self.accounts.get(address).cloned().unwrap_or_default();
        // Both are parts of the supply, whose sum fits an Amount.
        a.stake.checked_add(a.vesting).unwrap_or(Amount(u128::MAX))
    }

    /// Bytes `address` may claim to host: `free_host_bytes` plus `host_bytes_per_token` per whole
    /// token of collateral, rounded down, saturating at `u64::MAX`.
    pub fn host_bound(&self, address: &Address) -> u64 {
        self.bound_for(self.collateral(address))
    }

    fn bound_for(&self, collateral: Amount) -> u64 {
        let Some(params) = self.genesis.as_ref() else {
            return 0;
        };
        let per_token = u128::from(params.host_bytes_per_token);
        // floor(c × p / 10^18) split so that no step overflows but the first product, which
        // saturates (and then so does the bound): (c / 10^18) × p + floor((c mod 10^18) × p / 10^18),
        // exact because 10^18 divides (c / 10^18) × 10^18 × p.
        let whole = (collateral.0 / TOKEN).saturating_mul(per_token);
        let part = collateral.0 % TOKEN * per_token / TOKEN;
        let backed = u64::try_from(whole.saturating_add(part)).unwrap_or(u64::MAX);
        params.free_host_bytes.saturating_add(backed)
    }

    /// The largest claim `node` answers for from epoch `from` on: its report in force then, and any
    /// later report already made.
    fn claim_from(&self, node: &Address, from: u64) -> u64 {
        let current = self
            .report_in_force(node, from)
            .map_or(0, |(_, r)| r.claimed_bytes);
        let later = self
            .reports
            .range((*node, from.saturating_add(1))..=(*node, u64::MAX))
            .map(|(_, r)| r.claimed_bytes)
            .max()
            .unwrap_or(0);
        current.max(later)
    }

    /// Validates `r` signed by `signer` at `now`, and says what the ledger will keep of it.
    /// `active`: whether the signer was an active member before this transaction.
    pub(crate) fn check_report(
        &self,
        signer: Address,
        r: &Report,
        now: u64,
        active: bool,
    ) -> Result<ReportInfo, TxError> {
        if !active {
            return Err(TxError::NotMember(signer));
        }
        if self.hosts.get(&signer).is_some_and(|h| h.disqualified) {
            return Err(TxError::Disqualified(signer));
        }
        let current = self.params().epoch_at(now);
        // After its epoch starts the secret may be revealed at any time; a report made then could
        // be tuned to the challenges. Two epochs ahead is enough to report in time.
        if r.epoch <= current || r.epoch > current.saturating_add(2) {
            return Err(TxError::BadReport(format!(
                "epoch {} is not one of the next two (it is epoch {current})",
                r.epoch
            )));
        }
        // The hub commits to an epoch's secret before it takes reports for it, so it cannot pick
        // a secret that suits it after seeing what a node claims.
        if !self.epochs.contains_key(&r.epoch) {
            return Err(TxError::Epoch {
                epoch: r.epoch,
                why: "has no commitment yet: the hub commits to an epoch's secret before it takes \
                      reports for it; try again shortly"
                    .into(),
            });
        }
        if self.reports.contains_key(&(signer, r.epoch)) {
            return Err(TxError::ReportExists {
                node: signer,
                epoch: r.epoch,
            });
        }
        let bound = self.host_bound(&signer);
        if r.claimed_bytes > bound {
            return Err(TxError::OverCollateral {
                claimed: r.claimed_bytes,
                bound,
            });
        }
        check_endpoint(&r.endpoint)?;
        check_location(&r.location)?;
        Ok(ReportInfo {
            report_hash: r.report_hash,
            claimed_bytes: r.claimed_bytes,
            endpoint: r.endpoint.clone(),
            location: r.location.clone(),
        })
    }

    /// Keeps a checked report; a node's first report makes it a host with a newcomer's record.
    pub(crate) fn record_report(&mut self, node: Address, epoch: u64, info: ReportInfo) {
        if !self.hosts.contains_key(&node) {
            let reputation = self
                .params()
                .reputation
                .initial()
                .expect("the genesis' reputation parameters were validated");
            self.hosts.insert(
                node,
                Host {
                    reputation,
                    frozen: false,
                    disqualified: false,
                    last_epoch: None,
                },
            );
            self.dirty.hosts.insert(node);
        }
        let previous = self.reports.insert((node, epoch), info);
        assert!(
            previous.is_none(),
            "a report is made once per node and epoch"
        );
        self.dirty.reports.insert((node, epoch));
    }

    /// An unstake by a host: refused while it is frozen, or when what remains (`after`) would not
    /// cover the reports it answers for now or later. A disqualified host has paid its penalty
    /// and answers for nothing any more.
    pub(crate) fn check_host_unstake(
        &self,
        signer: &Address,
        after: &Account,
        now: u64,
    ) -> Result<(), TxError> {
        let Some(host) = self.hosts.get(signer) else {
            return Ok(());
        };
        if host.disqualified {
            return Ok(());
        }
        if host.frozen {
            return Err(TxError::Frozen);
        }
        let claimed = self.claim_from(signer, self.params().epoch_at(now));
        let collateral = after
            .stake
            .checked_add(after.vesting)
            .ok_or(TxError::Overflow)?;
        let bound = self.bound_for(collateral);
        if claimed > bound {
            return Err(TxError::OverCollateral { claimed, bound });
        }
        Ok(())
    }

    pub(crate) fn epoch_commit(
        &mut self,
        epoch: u64,
        commitment: [u8; 32],
        now: u64,
    ) -> Result<(), TxError> {
        let current = self.params().epoch_at(now);
        if epoch <= current {
            return Err(TxError::Epoch {
                epoch,
                why: format!("a commitment comes before its epoch (it is epoch {current})"),
            });
        }
        if self.epochs.contains_key(&epoch) {
            return Err(TxError::Epoch {
                epoch,
                why: "committed already".into(),
            });
        }
        self.epochs.insert(
            epoch,
            EpochInfo {
                commitment,
                secret: None,
                audited: false,
            },
        );
        self.dirty.epochs.insert(epoch);
        Ok(())
    }

    pub(crate) fn epoch_reveal(
        &mut self,
        epoch: u64,
        secret: [u8; 32],
        now: u64,
    ) -> Result<(), TxError> {
        let current = self.params().epoch_at(now);
        let Some(mut info) = self.epochs.get(&epoch).copied() else {
            return Err(TxError::Epoch {
                epoch,
                why: "no commitment to reveal".into(),
            });
        };
        if epoch >= current {
            return Err(TxError::Epoch {
                epoch,
                why: format!("a secret is revealed after its epoch (it is epoch {current})"),
            });
        }
        if info.secret.is_some() {
            return Err(TxError::Epoch {
                epoch,
                why: "revealed already".into(),
            });
        }
        audit::check_reveal(&info.commitment, epoch, &secret)
            .map_err(|_| TxError::BadReveal(epoch))?;
        info.secret = Some(secret);
        self.epochs.insert(epoch, info);
        self.dirty.epochs.insert(epoch);
        Ok(())
    }

    /// Applies an epoch's audit results: all validated first, then each node's effects in the
    /// order `docs/economics.md` gives (reputation, wrong-data burn, freeze, disqualification).
    pub(crate) fn audit_results(
        &mut self,
        epoch: u64,
        nodes: &[NodeAudit],
        effects: &mut Effects,
    ) -> Result<(), TxError> {
        let Some(mut info) = self.epochs.get(&epoch).copied() else {
            return Err(TxError::Epoch {
                epoch,
                why: "never committed".into(),
            });
        };
        if info.secret.is_none() {
            return Err(TxError::Epoch {
                epoch,
                why: "results come after the reveal".into(),
            });
        }
        if info.audited {
            return Err(TxError::Epoch {
                epoch,
                why: "audited already".into(),
            });
        }
        let bad = |why: String| Err(TxError::BadAudit(why));
        if let Some(w) = nodes.windows(2).find(|w| w[0].node >= w[1].node) {
            return bad(format!(
                "nodes must be in ascending order, each once: {} before {}",
                w[0].node, w[1].node
            ));
        }
        let most = 4 * u64::from(self.params().audit_samples);
        let mut hosts = Walk::new(&self.hosts, nodes.len());
        let mut held = Walk::new(&self.economy.holdings, nodes.len());
        let mut marks = Vec::with_capacity(nodes.len());
        for n in nodes {
            // A close described a report of the node's at or before `epoch` (one on record:
            // reports are never removed), so one is in force; only otherwise search the reports.
            let described = held.at(&n.node).is_some_and(|h| h.report_epoch <= epoch);
            debug_assert!(
                !described || self.report_ref(&n.node, epoch).is_some(),
                "described reports are on record"
            );
            if !described && self.report_ref(&n.node, epoch).is_none() {
                return bad(format!(
                    "{} had no report in force at epoch {epoch}",
                    n.node
                ));
            }
            assert!(hosts.at(&n.node).is_some(), "a reporter is a host");
            if n.outcomes.is_empty() || n.outcomes.len() as u64 > most {
                return bad(format!(
                    "{} has {} outcomes; 1 to {most} (4 × audit_samples) are allowed",
                    n.node,
                    n.outcomes.len()
                ));
            }
            let counted = Marks::of(&n.outcomes);
            if n.evidence.len() != counted.wrong {
                return bad(format!(
                    "{} has {} wrong answers but {} evidence hashes",
                    n.node,
                    counted.wrong,
                    n.evidence.len()
                ));
            }
            marks.push(counted);
        }
        self.audit_nodes(epoch, nodes, &marks, effects);
        info.audited = true;
        self.epochs.insert(epoch, info);
        self.dirty.epochs.insert(epoch);
        Ok(())
    }

    /// The nodes' results, validated, in ascending node order: cannot fail. Each node's effects
    /// come in the order `docs/economics.md` gives (reputation, wrong-data burn, freeze,
    /// disqualification); a node's effects touch only its own records, so they are applied in two
    /// passes with the same outcome as node by node: first every host record and tally, walking
    /// those maps once beside the nodes; then, in node order, the accounts, grants and chain
    /// queues of the few nodes a penalty burns.
    /// `marks`: each node's outcomes, counted.
    pub(crate) fn audit_nodes(
        &mut self,
        epoch: u64,
        nodes: &[NodeAudit],
        marks: &[Marks],
        effects: &mut Effects,
    ) {
        assert_eq!(nodes.len(), marks.len(), "one count per node");
        let genesis = self
            .genesis
            .as_ref()
            .expect("checked by apply: genesis came first");
        let (rules, wrong_bps, disqualify_bps) = (
            genesis.reputation,
            genesis.wrong_data_burn_bps,
            genesis.disqualify_burn_bps,
        );
        let mut accounts = Walk::new(&self.accounts, nodes.len());
        let mut tallies = Vec::with_capacity(nodes.len());
        let mut penalties = Vec::new();
        let each = nodes.iter().zip(marks).map(|(n, m)| (n.node, m));
        modify_each(&mut self.hosts, each, nodes.len(), |&node, host, m| {
            let host = host.expect("a reporter is a host");
            let (mut vesting, mut stake) = accounts
                .at(&node)
                .map_or((0, 0), |a| (a.vesting.0, a.stake.0));
            let mut burned = 0u128;
            // Of `burned`, what came from vesting, and from the stake (the vault's custody,
            // settling on a chain).
            let mut from_vesting = 0u128;
            let mut from_stake = 0u128;

            // One observation per epoch, split by the pass rate (see `Reputation::record_epoch`).
            let passes =
                u32::try_from(m.passes).expect("outcomes are bounded by 4 × audit_samples");
            let total = u32::try_from(m.total).expect("outcomes are bounded by 4 × audit_samples");
            host.reputation.record_epoch(&rules, passes, total);
            tallies.push((
                node,
                Tally {
                    epoch,
                    passes,
                    total,
                },
            ));
            if m.wrong > 0 {
                // Provably wrong data: a share of everything at stake, vesting first (it is not
                // yet the node's to spend), then stake.
                let collateral = vesting
                    .checked_add(stake)
                    .expect("stake and vesting are parts of the supply");
                let burn = basis_points(collateral, wrong_bps);
                from_vesting = burn.min(vesting);
                vesting -= from_vesting;
                // burn ≤ vesting + stake, so the rest is at most the stake.
                stake -= burn - from_vesting;
                burned += burn;
                from_stake += burn - from_vesting;
            } else if m.absent {
                // Offline or missing is not proof of cheating: keep the collateral where a later
                // penalty can reach it, burn nothing.
                host.frozen = true;
            } else {
                // Every outcome passed (outcomes are never empty).
                host.frozen = false;
            }
            if rules.standing(host.reputation.score_ppb()) == Standing::Disqualified
                && !host.disqualified
            {
                let burn = basis_points(stake, disqualify_bps);
                stake -= burn;
                burned += burn;
                from_stake += burn;
                host.disqualified = true;
            }
            host.last_epoch = Some(epoch);
            if burned > 0 {
                penalties.push(Penalty {
                    node,
                    vesting,
                    stake,
                    burned,
                    from_vesting,
                    from_stake,
                });
            }
        });
        if !nodes.is_empty() {
            // The tallies are the economy's.
            self.dirty.economy = true;
        }
        let count = tallies.len();
        update_each(&mut self.economy.tallies, tallies, count, |_, t, new| {
            *t = new
        });
        let mut audited: BTreeSet<Address> = nodes.iter().map(|n| n.node).collect();
        self.dirty.hosts.append(&mut audited.clone());
        effects.accounts.append(&mut audited);

        // What a penalty burned leaves the node's vesting and stake, and the supply.
        for p in penalties {
            let mut account = self.account(&p.node);
            let was_active = self.is_active_account(&account);
            self.burn_vesting(&p.node, p.from_vesting);
            self.chain_burn(p.from_vesting);
            account.vesting = Amount(p.vesting);
            account.stake = Amount(p.stake);
            self.put(p.node, account, effects);
            self.burned = Amount(self.burned.0 + p.burned);
            self.chain_slash(p.node, epoch, p.from_stake);
            let active = self.is_active(&p.node);
            if active != was_active
                && let Some(name) = self.accounts.get(&p.node).and_then(|a| a.member.clone())
            {
                effects.members.push(MemberChange {
                    name,
                    account: p.node,
                    active,
                });
            }
        }
    }
}

/// A node's audit outcomes, counted in one pass.
pub(crate) struct Marks {
    total: usize,
    passes: usize,
    wrong: usize,
    /// Offline or missing at least once.
    absent: bool,
}

impl Marks {
    pub(crate) fn of(outcomes: &[AuditMark]) -> Marks {
        let mut m = Marks {
            total: outcomes.len(),
            passes: 0,
            wrong: 0,
            absent: false,
        };
        for o in outcomes {
            match o {
                AuditMark::Pass => m.passes += 1,
                AuditMark::Wrong => m.wrong += 1,
                AuditMark::Offline | AuditMark::Missing => m.absent = true,
            }
        }
        m
    }
}

/// What an audit's penalty leaves a node, and what it burned.
struct Penalty {
    node: Address,
    vesting: u128,
    stake: u128,
    burned: u128,
    from_vesting: u128,
    from_stake: u128,
}

#[cfg(test)]
mod tests {
    use token::{SecretKey, Signed, UserTx};

    use super::*;
    use crate::genesis::{Allocation, Genesis};
    use crate::state::system_digest;
    use crate::tx::{Entry, SystemTx, Tx};

    #[test]
    fn endpoints_are_ip_and_port() {
        for good in [
            "127.0.0.1:6881",
            "192.0.2.7:51413",
            "[::1]:6881",
            "[2001:db8::7]:1",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        let long = format!("[{}::1]:6881", "0:".repeat(100));
        for bad in [
            "",
            "localhost:6881",
            "example.org:6881",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:65536",
            "127.0.0.1:0",
            "0.0.0.0:6881",
            "[::]:6881",
            "::1:6881",
            " 127.0.0.1:6881",
            "127.000.0.1:6881",
            long.as_str(),
        ] {
            let err = check_endpoint(bad).unwrap_err();
            assert_eq!(err.code(), "bad_report", "{bad}");
        }
    }

    #[test]
    fn locations_are_lat_lon_in_range() {
        for good in [
            "",
            "0,0",
            "52.52,13.405",
            "-33.868820,151.209296",
            "90,180",
            "-90,-180",
            "-90.000000,180.000000",
            "-0,-0.5",
        ] {
            assert!(check_location(good).is_ok(), "{good}");
        }
        for bad in [
            ",",
            "52.52",
            "52.52,",
            ",13.4",
            "52.52, 13.405",
            "+52.52,13.405",
            "52.52,13.405,1",
            "90.000001,0",
            "0,180.000001",
            "-91,0",
            "0,-181",
            "1.1234567,0",
            "1.,0",
            ".5,0",
            "1e1,0",
            "0x1,0",
            "1000,0",
            "--1,0",
            "NaN,0",
            "١,٢",
        ] {
            assert!(check_location(bad).is_err(), "{bad}");
        }
    }

    /// A wrong answer burns the genesis' share of vesting + stake, from vesting first; only when
    /// vesting runs out does stake go. Vesting cannot be granted by a transaction yet, so this
    /// test moves stake into vesting directly (the supply stays the same).
    #[test]
    fn wrong_data_burns_vesting_first_then_stake() {
        let operator = SecretKey::from_bytes(&[1; 32]).unwrap();
        let node = SecretKey::from_bytes(&[2; 32]).unwrap();
        let mut g = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
        // Half of everything at stake for a wrong answer, so both sources show.
        g.wrong_data_burn_bps = 5000;
        g.allocations.push(Allocation {
            account: node.address(),
            liquid: Amount::tokens(10),
            staked: Amount::tokens(300),
            lock_until: 0,
            member: Some("node".into()),
        });
        let domain = g.domain();
        let t0 = 1_700_000_000;
        let mut state = State::default();
        let apply = |state: &mut State, time: u64, tx: Tx| {
            let seq = state.next_seq();
            let entry = Entry { seq, time, tx };
            let body = serde_json::to_string(&entry.tx).unwrap();
            state.apply(&entry, body.as_bytes(), true)
        };
        let system = |seq: u64, tx: SystemTx| Tx::System {
            signature: operator.sign_digest(&system_digest(&domain, seq, &tx)),
            tx,
        };
        apply(
            &mut state,
            t0,
            system(0, SystemTx::Genesis(Box::new(g.clone()))),
        )
        .unwrap();
        // Stake → vesting: 100 vesting, 200 staked.
        let mut account = state.account(&node.address());
        account.stake = Amount::tokens(200);
        account.vesting = Amount::tokens(100);
        state.put(node.address(), account, &mut Effects::default());
        // Vesting is rewards granted by closes: one grant stands for them.
        let grant = |amount: u64| {
            vec![crate::economy::Grant {
                start: 0,
                amount: Amount::tokens(amount),
                released: Amount::ZERO,
            }]
        };
        state.economy.grants.insert(node.address(), grant(100));
        assert_supply(&state);

        let epoch = g.epoch_at(t0) + 1;
        let secret = [9; 32];
        let report = UserTx::Report(Report {
            node: node.address(),
            epoch,
            report_hash: [1; 32],
            claimed_bytes: 1 << 30,
            endpoint: "127.0.0.1:6881".into(),
            location: String::new(),
            nonce: 0,
        });
        let commit = SystemTx::EpochCommit {
            epoch,
            commitment: audit::commit(epoch, &secret),
        };
        apply(&mut state, t0, system(1, commit)).unwrap();
        let user = Tx::User {
            tx: Signed::<UserTx>::sign(&domain, &node, report),
        };
        apply(&mut state, t0, user).unwrap();
        let after = g.epoch_start(epoch + 1);
        let reveal = SystemTx::EpochReveal { epoch, secret };
        apply(&mut state, after, system(3, reveal)).unwrap();
        let burned_before = state.supply().burned;
        let results = SystemTx::AuditResults {
            epoch,
            nodes: vec![NodeAudit {
                node: node.address(),
                outcomes: vec![AuditMark::Pass, AuditMark::Wrong],
                evidence: vec![[7; 32]],
            }],
        };
        let effects = apply(&mut state, after, system(4, results)).unwrap();
        // Half of 300 is 150: all 100 of vesting, then 50 of stake.
        let account = state.account(&node.address());
        assert_eq!(account.vesting, Amount::ZERO);
        assert_eq!(account.stake, Amount::tokens(150));
        assert_eq!(
            account.balance,
            Amount::tokens(10),
            "liquid tokens are not collateral"
        );
        assert_eq!(
            state.supply().burned.checked_sub(burned_before),
            Some(Amount::tokens(150))
        );
        assert_supply(&state);
        assert!(effects.accounts.contains(&node.address()));
        assert!(effects.members.is_empty(), "150 staked is still above 100");
        let host = state.host(&node.address()).unwrap();
        assert!(!host.frozen, "a wrong answer burns; it does not freeze");
        assert!(host.reputation.score_ppb() < economics::PPB);

        // A smaller share, with vesting left over: only vesting pays. (150 staked becomes 100
        // staked and 50 vesting: the supply is unchanged.)
        let mut account = state.account(&node.address());
        account.stake = Amount::tokens(100);
        account.vesting = Amount::tokens(50);
        state.put(node.address(), account, &mut Effects::default());
        state.economy.grants.insert(node.address(), grant(50));
        state.genesis.as_mut().unwrap().wrong_data_burn_bps = 1000;
        let mut effects = Effects::default();
        let audit = NodeAudit {
            node: node.address(),
            outcomes: vec![AuditMark::Wrong],
            evidence: vec![[8; 32]],
        };
        let marks = [Marks::of(&audit.outcomes)];
        state.audit_nodes(epoch, std::slice::from_ref(&audit), &marks, &mut effects);
        // 10 % of 150 is 15, all from the 50 vesting.
        let account = state.account(&node.address());
        assert_eq!(
            (account.vesting, account.stake),
            (Amount::tokens(35), Amount::tokens(100))
        );
        assert_supply(&state);
    }

    /// minted − burned = balances + stakes + vesting + pool, recounted from the accounts.
    fn assert_supply(state: &State) {
        let s = state.recount().unwrap();
        let held = s.held();
        assert_eq!(held, s.minted.checked_sub(s.burned));
    }
}
