//! A collective's founding parameters, written by the operator as TOML and fixed forever by the
//! first log entry. Everything economic that the state machine needs is here, so replaying the
//! log needs nothing but the log.

use economics::params::EconomyParams;
use economics::reputation::ReputationParams;
use serde::{Deserialize, Serialize};
use token::{Address, Amount, Domain, keccak256};

/// Bytes in a GiB: prices are quoted per GiB and charged per byte.
pub const GIB: u128 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The collective's name; also the EIP-712 domain name every signature is bound to.
    pub name: String,
    /// The token's ticker, e.g. `VIDYA`.
    pub symbol: String,
    /// The EVM chain id signatures are bound to (31337, a local devnet, until the collective settles
    /// on a real chain).
    #[serde(default = "default_chain_id")]
    pub chain_id: u64,
    /// The hub's key: it signs system transactions (genesis, settlements, admissions).
    pub operator: Address,
    /// How accounts become members: `invite` (a member must invite them) or `buy-in` (stake alone).
    #[serde(default)]
    pub join: JoinPolicy,
    /// Stake (in whole tokens) a member must keep locked to hold a passkey.
    #[serde(with = "tokens")]
    pub min_stake: Amount,
    /// The longest a stake may be locked, in days.
    pub max_lock_days: u64,
    /// Price of a download, in tokens per GiB, for torrents with no price of their own.
    #[serde(with = "tokens")]
    pub price_per_gib: Amount,
    /// Share of every payment taken as a fee, in basis points (1/100 of a percent).
    pub fee_bps: u32,
    /// Share of the fee burned, in basis points; the rest goes to the stakers' pool.
    pub fee_burn_bps: u32,
    /// Unpaid bytes an uploader tolerates per downloader before it chokes them.
    pub debt_threshold_bytes: u64,
    /// Free (unpaid, unpaying) download bytes per member per day; 0 turns freemium off.
    #[serde(default)]
    pub free_bytes_per_day: u64,
    /// Length of an audit epoch in seconds. Epochs are unix-aligned: time `t` is in epoch
    /// `t / epoch_secs`, so every party computes the same epoch from a time without asking.
    #[serde(default = "default_epoch_secs")]
    pub epoch_secs: u64,
    /// Bytes a member may claim to host with no collateral beyond its membership.
    #[serde(default = "default_free_host_bytes")]
    pub free_host_bytes: u64,
    /// Claimable bytes per whole token of collateral (stake + vesting).
    #[serde(default = "default_host_bytes_per_token")]
    pub host_bytes_per_token: u64,
    /// Challenges per audited node and epoch. The hub audits; the number is here so that every
    /// auditor follows the same rule and the ledger can bound what an audit result may hold.
    #[serde(default = "default_audit_samples")]
    pub audit_samples: u32,
    /// Seconds a node has to answer one challenge (used by the hub's auditor).
    #[serde(default = "default_audit_deadline_secs")]
    pub audit_deadline_secs: u64,
    /// Share of a node's collateral (vesting + stake) burned for an epoch in which it answered a
    /// challenge with provably wrong data, in basis points; taken from vesting first.
    #[serde(default = "default_wrong_data_burn_bps")]
    pub wrong_data_burn_bps: u32,
    /// Share of a node's stake burned when its audit reputation falls below disqualification,
    /// in basis points.
    #[serde(default = "default_disqualify_burn_bps")]
    pub disqualify_burn_bps: u32,
    /// The audit reputation's rules (forgetting factor, thresholds, a newcomer's record).
    #[serde(default)]
    pub reputation: ReputationParams,
    /// The lowest a torrent's download price may fall under surge pricing, in basis points of the
    /// price it was registered at.
    #[serde(default = "default_price_floor_bps")]
    pub price_floor_bps: u32,
    /// The epoch economy: inflation, weights, surge step, geography, vesting, stakers' curve, and
    /// which of the seed's two routes moves (the download price or the joining stake).
    #[serde(default)]
    pub economy: EconomyParams,
    #[serde(default)]
    pub allocations: Vec<Allocation>,
    /// Where the tokens live: `embedded` (this ledger, the default) or `evm` (an ERC-20, a staking
    /// vault and a cumulative Merkle distributor on the chain `chain_id`, named by `chain`). Absent
    /// from an embedded genesis' JSON, so the hashes of collectives made before it existed hold.
    #[serde(default, skip_serializing_if = "SettlementMode::is_embedded")]
    pub settlement: SettlementMode,
    /// The contracts an `evm` collective settles on (`seedbank chain deploy` writes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainContracts>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettlementMode {
    #[default]
    Embedded,
    Evm,
}

impl SettlementMode {
    pub fn is_embedded(&self) -> bool {
        *self == SettlementMode::Embedded
    }
}

/// The contracts of a collective that settles on an EVM chain. Consensus data: the ledger mirrors
/// these contracts' events and no others. The RPC endpoint and how many confirmations to wait are
/// the hub's configuration, not the collective's: they may change without changing its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainContracts {
    pub token: Address,
    pub vault: Address,
    pub distributor: Address,
    /// The block the contracts were deployed in: the hub follows events from there.
    pub deploy_block: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JoinPolicy {
    #[default]
    Invite,
    BuyIn,
}

/// Tokens minted at genesis: `liquid` to spend, `staked` locked until `lock_until` (unix seconds).
/// Settling on a chain, `liquid` is instead claimable from the distributor from the start (the
/// token's initial distribution, e.g. a migrated collective's holdings) and `staked` must be 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub account: Address,
    #[serde(with = "tokens", default)]
    pub liquid: Amount,
    #[serde(with = "tokens", default)]
    pub staked: Amount,
    #[serde(default)]
    pub lock_until: u64,
    /// Makes the account a member at once (the founders).
    #[serde(default)]
    pub member: Option<String>,
}

fn default_chain_id() -> u64 {
    31337
}

fn default_epoch_secs() -> u64 {
    3600
}

fn default_free_host_bytes() -> u64 {
    5_000_000_000
}

fn default_host_bytes_per_token() -> u64 {
    10_000_000_000
}

fn default_audit_samples() -> u32 {
    44
}

fn default_audit_deadline_secs() -> u64 {
    10
}

fn default_price_floor_bps() -> u32 {
    5000
}

fn default_wrong_data_burn_bps() -> u32 {
    1000
}

fn default_disqualify_burn_bps() -> u32 {
    10_000
}

/// Most challenges per node and epoch a genesis may ask for: keeps an audit result's entry (four
/// times this many outcomes per node) small.
pub const MAX_AUDIT_SAMPLES: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("genesis: {0}")]
    Invalid(String),
}

impl Genesis {
    pub fn from_toml(text: &str) -> Result<Genesis, GenesisError> {
        let genesis: Genesis = toml::from_str(text)?;
        genesis.validate()?;
        Ok(genesis)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |m: String| Err(GenesisError::Invalid(m));
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return bad("name must be 1 to 64 characters".into());
        }
        if self.symbol.is_empty()
            || self.symbol.len() > 11
            || !self
                .symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return bad(format!(
                "symbol {:?} must be 1 to 11 capital letters or digits",
                self.symbol
            ));
        }
        if self.fee_bps > 10_000 || self.fee_burn_bps > 10_000 {
            return bad("fee_bps and fee_burn_bps are basis points: at most 10000".into());
        }
        if self.max_lock_days == 0 || self.max_lock_days > 36_500 {
            return bad("max_lock_days must be 1 to 36500".into());
        }
        if self.price_per_byte() == Amount::ZERO && self.price_per_gib != Amount::ZERO {
            return bad("price_per_gib is below one base unit per byte".into());
        }
        if self.epoch_secs == 0 {
            return bad("epoch_secs must be at least 1".into());
        }
        if self.audit_samples == 0 || self.audit_samples > MAX_AUDIT_SAMPLES {
            return bad(format!("audit_samples must be 1 to {MAX_AUDIT_SAMPLES}"));
        }
        if self.audit_deadline_secs == 0 || self.audit_deadline_secs > self.epoch_secs {
            return bad("audit_deadline_secs must be 1 to epoch_secs".into());
        }
        if self.wrong_data_burn_bps > 10_000 || self.disqualify_burn_bps > 10_000 {
            return bad(
                "wrong_data_burn_bps and disqualify_burn_bps are basis points: at most 10000"
                    .into(),
            );
        }
        self.reputation
            .validate()
            .map_err(|e| GenesisError::Invalid(format!("reputation: {e}")))?;
        self.economy
            .validate()
            .map_err(|e| GenesisError::Invalid(format!("economy: {e}")))?;
        if self.price_floor_bps > 10_000 {
            return bad(
                "price_floor_bps is basis points of the registered price: at most 10000".into(),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        let mut accounts = std::collections::BTreeSet::new();
        let mut total = Amount::ZERO;
        for a in &self.allocations {
            if !accounts.insert(a.account) {
                return bad(format!("account {} is allocated twice", a.account));
            }
            if let Some(name) = &a.member {
                crate::state::check_member_name(name)
                    .map_err(|e| GenesisError::Invalid(e.to_string()))?;
                if !names.insert(name.clone()) {
                    return bad(format!("member name {name} is used twice"));
                }
                if a.staked < self.min_stake && self.settlement.is_embedded() {
                    return bad(format!("founder {name} needs at least min_stake staked"));
                }
            }
            total = total
                .checked_add(a.liquid)
                .and_then(|t| t.checked_add(a.staked))
                .ok_or_else(|| GenesisError::Invalid("allocations overflow".into()))?;
        }
        match (self.settlement, &self.chain) {
            (SettlementMode::Embedded, Some(_)) => {
                return bad("[chain] is only for settlement = \"evm\"".into());
            }
            (SettlementMode::Evm, None) => {
                return bad(
                    "settlement = \"evm\" needs [chain] with token, vault, distributor and deploy_block \
                     (seedbank chain deploy writes them)"
                        .into(),
                );
            }
            (SettlementMode::Evm, Some(_))
                if self.allocations.iter().any(|a| a.staked != Amount::ZERO) =>
            {
                return bad(
                    "settlement = \"evm\": stakes live in the vault, so allocations stake nothing; \
                     `liquid` is claimable from the distributor (a migration's distribution)"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// The per-byte price in base units, rounded down (the error is below 10^-9 of a token per GiB).
    pub fn price_per_byte(&self) -> Amount {
        Amount(self.price_per_gib.0 / GIB)
    }

    pub fn max_lock_secs(&self) -> u64 {
        self.max_lock_days * 86_400
    }

    /// The audit epoch that unix time `t` falls in.
    pub fn epoch_at(&self, t: u64) -> u64 {
        // `validate` keeps epoch_secs ≥ 1; the `max` keeps an unvalidated genesis from dividing
        // by zero.
        t / self.epoch_secs.max(1)
    }

    /// The unix time epoch `e` starts at (saturating: epochs beyond the end of `u64` time start
    /// at its end).
    pub fn epoch_start(&self, e: u64) -> u64 {
        e.saturating_mul(self.epoch_secs)
    }

    /// The collective's own address until it settles on a chain: derived from its genesis, so two
    /// collectives never share a signing domain.
    pub fn collective_address(&self) -> Address {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let mut preimage = b"seedbank collective\0".to_vec();
        preimage.extend_from_slice(&bytes);
        let hash = keccak256(&preimage);
        let mut a = [0u8; 20];
        a.copy_from_slice(&hash[12..]);
        Address(a)
    }

    pub fn domain(&self) -> Domain {
        Domain {
            name: self.name.clone(),
            version: "1".into(),
            chain_id: self.chain_id,
            verifying_contract: self.collective_address(),
        }
    }

    /// A starting file for `seedbank hub init`, with every field explained.
    pub fn template(operator: Address) -> String {
        format!(
            r#"# The collective's genesis: fixed once `seedbank hub init` has written it to the ledger.
name = "VIDYA collective"
symbol = "VIDYA"
chain_id = 31337
# The hub's key (signs settlements and admissions). `hub init` made it; keep its keystore safe.
operator = "{operator}"
# "invite": a member must invite an account before it can join; "buy-in": staking is enough.
join = "invite"
# Whole tokens a member must keep staked to hold a passkey, and the longest lock.
min_stake = "100"
max_lock_days = 365
# Downloads cost this many tokens per GiB; the fee (basis points) is part burned, part to stakers.
price_per_gib = "1"
fee_bps = 500
fee_burn_bps = 5000
# Unpaid file data an uploader risks per connection before it stops serving (at least 2 pieces).
debt_threshold_bytes = 16777216
# Free download bytes per member per day (0: none).
free_bytes_per_day = 0

# Availability audits. Time is cut into epochs of this many seconds (unix-aligned); before each
# epoch a node reports what it hosts, and the hub audits it during the epoch.
epoch_secs = 3600
# What a member may claim to host: this many bytes free, plus this many per token staked.
free_host_bytes = 5000000000
host_bytes_per_token = 10000000000
# Challenges per node and epoch, and the seconds a node has to answer each.
audit_samples = 44
audit_deadline_secs = 10
# Penalties, basis points: of stake + vesting for an epoch with provably wrong data; of stake
# when the audit reputation falls below disqualification.
wrong_data_burn_bps = 1000
disqualify_burn_bps = 10000
# Surge pricing never takes a torrent's price below this share (basis points) of the price it was
# registered at.
price_floor_bps = 5000

# The epoch economy (docs/economics.md, "Epoch formulas"); every key is optional. "dynamic-price":
# download prices follow saturation, the joining stake is fixed; "dynamic-gate": the reverse.
[economy]
route = "dynamic-price"
inflation_bps = 500
max_step_bps = 1250
target_replicas = 3
weight_min_wad = "0.25"
weight_max_wad = "4"
hot_max_wad = "2"
geo_boost_bps = 1500
geo_separation_km = 100
km_per_rtt_ms = 100
liquid_bps = 2500
vesting_days = 180
staker_alpha_wad = "1.5"
target_members = 1000

# The audit reputation (Storj's beta model, parts per billion): forgetting factor, the scores
# below which a node earns no rewards and is disqualified, a newcomer's record (10^9 = 1 audit).
[reputation]
lambda_ppb = 999000000
suspend_below_ppb = 980000000
disqualify_below_ppb = 960000000
initial_alpha = 1000000000000
initial_beta = 0

# The treasury: what the operator admits members with.
[[allocations]]
account = "{operator}"
liquid = "1000000"
"#
        )
    }
}

/// Amounts in genesis files are whole tokens (`"12.5"`), as people write them.
mod tokens {
    use serde::{Deserialize, Deserializer, Serializer};
    use token::Amount;

    pub fn serialize<S: Serializer>(a: &Amount, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&a.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let s = String::deserialize(d)?;
        Amount::parse_tokens(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses() {
        let g = Genesis::from_toml(&Genesis::template(Address([1; 20]))).unwrap();
        assert_eq!(g.symbol, "VIDYA");
        assert_eq!(g.min_stake, Amount::tokens(100));
        assert_eq!(g.price_per_byte(), Amount(931_322_574));
        assert_eq!(g.allocations[0].liquid, Amount::tokens(1_000_000));
        assert_eq!(g.reputation, ReputationParams::default());
        assert_eq!(
            g.economy,
            EconomyParams::default(),
            "the template spells out the defaults"
        );
        assert_eq!(g.price_floor_bps, 5000);
        assert_eq!((g.epoch_secs, g.audit_samples), (3600, 44));
    }

    /// A genesis file from before audits parses, with every audit parameter at its default.
    #[test]
    fn audit_parameters_default() {
        let template = Genesis::template(Address([1; 20]));
        let old = &template[..template.find("\n# Availability audits").unwrap()];
        let old = format!(
            "{old}\n[[allocations]]\naccount = \"{}\"\nliquid = \"1\"\n",
            Address([1; 20])
        );
        let g = Genesis::from_toml(&old).unwrap();
        let t = Genesis::from_toml(&template).unwrap();
        assert_eq!(
            (g.epoch_secs, g.free_host_bytes, g.host_bytes_per_token),
            (t.epoch_secs, t.free_host_bytes, t.host_bytes_per_token)
        );
        assert_eq!(
            (g.audit_samples, g.audit_deadline_secs),
            (t.audit_samples, t.audit_deadline_secs)
        );
        assert_eq!(
            (g.wrong_data_burn_bps, g.disqualify_burn_bps, g.reputation),
            (t.wrong_data_burn_bps, t.disqualify_burn_bps, t.reputation)
        );
    }

    #[test]
    fn epochs_are_unix_aligned() {
        let g = Genesis::from_toml(&Genesis::template(Address([1; 20]))).unwrap();
        assert_eq!(g.epoch_at(0), 0);
        assert_eq!(g.epoch_at(3599), 0);
        assert_eq!(g.epoch_at(3600), 1);
        assert_eq!(g.epoch_start(g.epoch_at(1_700_000_123)), 1_699_999_200);
        assert_eq!(g.epoch_start(u64::MAX), u64::MAX);
    }

    #[test]
    fn bad_genesis_is_refused() {
        let base = Genesis::template(Address([1; 20]));
        for (from, to) in [
            ("symbol = \"VIDYA\"", "symbol = \"vidya\""),
            ("fee_bps = 500", "fee_bps = 50000"),
            ("min_stake = \"100\"", "min_stake = \"-1\""),
            ("max_lock_days = 365", "max_lock_days = 0"),
            ("join = \"invite\"", "join = \"anyone\""),
            ("chain_id = 31337", "chain_id = 31337\nsurprise = 1"),
            ("epoch_secs = 3600", "epoch_secs = 0"),
            ("audit_samples = 44", "audit_samples = 0"),
            ("audit_samples = 44", "audit_samples = 10001"),
            ("audit_deadline_secs = 10", "audit_deadline_secs = 0"),
            ("audit_deadline_secs = 10", "audit_deadline_secs = 3601"),
            ("wrong_data_burn_bps = 1000", "wrong_data_burn_bps = 10001"),
            ("disqualify_burn_bps = 10000", "disqualify_burn_bps = 10001"),
            ("lambda_ppb = 999000000", "lambda_ppb = 1000000000"),
            ("initial_beta = 0", "initial_beta = 0\nsurprise = 1"),
        ] {
            assert!(Genesis::from_toml(&base.replace(from, to)).is_err(), "{to}");
        }
    }

    #[test]
    fn domains_differ_between_collectives() {
        let a = Genesis::from_toml(&Genesis::template(Address([1; 20]))).unwrap();
        let mut b = a.clone();
        b.name = "Other".into();
        assert_ne!(a.collective_address(), b.collective_address());
    }
}
