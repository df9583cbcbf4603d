//! The running audit reputation: Storj's beta model with a forgetting factor.
//!
//! A node's record is a pair `(alpha, beta)`: roughly, recent passed and failed audits, each older
//! audit counting `λ` times less than the one after it. An audit updates it:
//!
//! ```text
//! success: alpha = λ·alpha + 1,  beta = λ·beta
//! failure: alpha = λ·alpha,      beta = λ·beta + 1
//! score   = alpha / (alpha + beta)
//! ```
//!
//! With `λ = 0.999` an audit's weight halves after about 693 further audits, so old failures fade
//! and one bad day is not a life sentence, while a run of failures moves the score quickly. The
//! score is compared with two thresholds: below `suspend_below` (default 0.98) the node earns no
//! rewards, below `disqualify_below` (default 0.96, Storj's) it is disqualified.
//!
//! **Initial state.** A new node starts at `alpha = 1000, beta = 0` (Storj's current default,
//! `reputation.initial-alpha = 1000`): `1000 = 1 / (1 - λ)` is the weight a record reaches after a
//! long history, so a new node is treated like one with a long clean record and `alpha + beta`
//! stays at 1000 from the first audit on; then `k` consecutive failures leave the score at `λ^k`
//! exactly (up to rounding): the 21st failure in a row suspends (`0.999^21 < 0.98`), the 41st
//! disqualifies (`0.999^41 < 0.96`). The textbook start `alpha = 1, beta = 0` (Storj's earlier
//! default) would let a node's *first* failed audit put it at 0.4997, disqualified for one timeout
//! of bad luck, which is why Storj moved away from it; it remains available through
//! [`ReputationParams::initial_alpha`]. Newcomers are protected from the other side by the
//! collateral bound on what they can claim, not by a weaker score.
//!
//! **Fixed point.** `alpha` and `beta` are integers in units of 10^-9 of an audit ([`UNIT`]); `λ`
//! and the thresholds are in ppb. Every decay rounds down (`floor(x · λ)`), the score rounds down.
//! Bounds: with `λ < 1`, `x ≤ max(initial, UNIT / (1 - λ)) ≤ 10^18`, because
//! `floor(x·λ) + UNIT ≤ UNIT/(1-λ)` whenever `x ≤ UNIT/(1-λ)`; products go through `u128`.
//! Nothing overflows, and the same audits give the same bits everywhere.
//!
//! What counts as a failure (a wrong answer, a missing block, a timeout that containment did not
//! clear) is the caller's policy, as is whether disqualification is permanent: this module only
//! keeps the score.

use serde::{Deserialize, Serialize};

use crate::PPB;

/// One audit's weight in the fixed-point `alpha` and `beta`: 10^9.
pub const UNIT: u64 = 1_000_000_000;

/// Largest `alpha` or `beta` a valid record holds: `UNIT / (1 - λ)` for the smallest forgetting
/// gap allowed (`λ = PPB - 1`), 10^18, well inside `u64`.
pub const MAX_WEIGHT: u64 = 1_000_000_000_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReputationError {
    #[error("forgetting factor {0} ppb: it must be below 1,000,000,000 (1 would never forget)")]
    Lambda(u32),
    #[error("{what} threshold {value} ppb is above 1,000,000,000")]
    Threshold { what: &'static str, value: u32 },
    #[error(
        "the suspension threshold ({suspend} ppb) is below the disqualification threshold ({disqualify} ppb)"
    )]
    ThresholdOrder { suspend: u32, disqualify: u32 },
    #[error(
        "a reputation record needs alpha + beta > 0 and each at most 10^18 units, got alpha {alpha}, beta {beta}"
    )]
    Record { alpha: u64, beta: u64 },
}

/// The reputation rules of a collective (part of its genesis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReputationParams {
    /// Forgetting factor λ, ppb. Default 999,000,000 (0.999, Storj's).
    pub lambda_ppb: u32,
    /// Below this score (ppb) a node is suspended from rewards. Default 980,000,000.
    pub suspend_below_ppb: u32,
    /// Below this score (ppb) a node is disqualified. Default 960,000,000 (Storj's).
    pub disqualify_below_ppb: u32,
    /// A new node's `alpha`, in [`UNIT`]s of 10^-9 audit. Default 1000 audits (see the module
    /// documentation for why not 1).
    pub initial_alpha: u64,
    /// A new node's `beta`, in [`UNIT`]s. Default 0.
    pub initial_beta: u64,
}

impl Default for ReputationParams {
    fn default() -> Self {
        ReputationParams {
            lambda_ppb: 999_000_000,
            suspend_below_ppb: 980_000_000,
            disqualify_below_ppb: 960_000_000,
            initial_alpha: 1000 * UNIT,
            initial_beta: 0,
        }
    }
}

impl ReputationParams {
    /// Refuses parameters under which the bounds above fail or the thresholds make no sense.
    pub fn validate(&self) -> Result<(), ReputationError> {
        if self.lambda_ppb >= PPB {
            return Err(ReputationError::Lambda(self.lambda_ppb));
        }
        for (what, value) in [
            ("suspension", self.suspend_below_ppb),
            ("disqualification", self.disqualify_below_ppb),
        ] {
            if value > PPB {
                return Err(ReputationError::Threshold { what, value });
            }
        }
        if self.suspend_below_ppb < self.disqualify_below_ppb {
            return Err(ReputationError::ThresholdOrder {
                suspend: self.suspend_below_ppb,
                disqualify: self.disqualify_below_ppb,
            });
        }
        Reputation::new(self.initial_alpha, self.initial_beta)?;
        Ok(())
    }

    /// A new node's record.
    pub fn initial(&self) -> Result<Reputation, ReputationError> {
        Reputation::new(self.initial_alpha, self.initial_beta)
    }

    /// Where a score puts a node.
    pub fn standing(&self, score_ppb: u32) -> Standing {
        if score_ppb < self.disqualify_below_ppb {
            Standing::Disqualified
        } else if score_ppb < self.suspend_below_ppb {
            Standing::Suspended
        } else {
            Standing::Good
        }
    }
}

/// What a score means for a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// Audited, earning.
    Good,
    /// Below the suspension threshold: audited, earns no rewards until its score recovers.
    Suspended,
    /// Below the disqualification threshold.
    Disqualified,
}

/// The outcome of one audit as the score sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audit {
    Success,
    Failure,
}

/// A node's `(alpha, beta)`, in [`UNIT`]s. Always `alpha + beta > 0` and each at most
/// [`MAX_WEIGHT`] (checked when built or deserialised), so the score is always defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawReputation", into = "RawReputation")]
pub struct Reputation {
    alpha: u64,
    beta: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReputation {
    alpha: u64,
    beta: u64,
}

impl TryFrom<RawReputation> for Reputation {
    type Error = ReputationError;

    fn try_from(raw: RawReputation) -> Result<Self, Self::Error> {
        Reputation::new(raw.alpha, raw.beta)
    }
}

impl From<Reputation> for RawReputation {
    fn from(r: Reputation) -> Self {
        RawReputation {
            alpha: r.alpha,
            beta: r.beta,
        }
    }
}

impl Reputation {
    /// A record from its parts (e.g. read back from a table).
    pub fn new(alpha: u64, beta: u64) -> Result<Self, ReputationError> {
        if alpha > MAX_WEIGHT || beta > MAX_WEIGHT || alpha == 0 && beta == 0 {
            return Err(ReputationError::Record { alpha, beta });
        }
        Ok(Reputation { alpha, beta })
    }

    pub fn alpha(&self) -> u64 {
        self.alpha
    }

    pub fn beta(&self) -> u64 {
        self.beta
    }

    /// Applies one audit. `params` should be validated (`λ < 1`); with `λ = 1` the weights would
    /// grow by one unit per audit and saturate (not wrap) after some 10^10 audits.
    pub fn record(&mut self, params: &ReputationParams, audit: Audit) {
        let lambda = params.lambda_ppb.min(PPB);
        let mut alpha = decay(self.alpha, lambda);
        let mut beta = decay(self.beta, lambda);
        match audit {
            Audit::Success => alpha = alpha.saturating_add(UNIT),
            Audit::Failure => beta = beta.saturating_add(UNIT),
        }
        // Within MAX_WEIGHT by the bound in the module documentation (for λ < 1); the clamp only
        // keeps the type's invariant if a caller ignored `validate`.
        self.alpha = alpha.min(MAX_WEIGHT);
        self.beta = beta.min(MAX_WEIGHT);
    }

    /// Applies one epoch of audits as one observation of weight one, split by outcome:
    /// `passes / total` of a success and the rest of a failure (`total` 0 changes nothing).
    ///
    /// Why not one observation per audit, as Storj does: Storj audits a node a few times a day,
    /// seedbank dozens of times an epoch, and with λ = 0.999 and a 0.96 threshold 41 failures in a
    /// row disqualify. Per audit, one offline hour would end a node; per epoch, the score tracks
    /// the node's pass rate (it tends to it), so a node that keeps 99 % of its claim stays good
    /// and one that keeps 90 % sinks below the thresholds, while a bad epoch costs one step.
    pub fn record_epoch(&mut self, params: &ReputationParams, passes: u32, total: u32) {
        if total == 0 {
            return;
        }
        let passes = passes.min(total);
        let lambda = params.lambda_ppb.min(PPB);
        let success = u64::try_from(u128::from(UNIT) * u128::from(passes) / u128::from(total))
            .unwrap_or(UNIT);
        let alpha = decay(self.alpha, lambda).saturating_add(success);
        let beta = decay(self.beta, lambda).saturating_add(UNIT - success);
        self.alpha = alpha.min(MAX_WEIGHT);
        self.beta = beta.min(MAX_WEIGHT);
    }

    /// `alpha / (alpha + beta)` in ppb, rounded down. 1,000,000,000 while no audit has failed.
    pub fn score_ppb(&self) -> u32 {
        let alpha = u128::from(self.alpha);
        let total = alpha + u128::from(self.beta);
        // total > 0 by the type's invariant; the quotient is at most PPB.
        let score = (alpha * u128::from(PPB)).checked_div(total).unwrap_or(0);
        u32::try_from(score).unwrap_or(PPB)
    }
}

/// `floor(x · λ)` with `λ` in ppb: the product is below 2^94, and the result is at most `x`.
fn decay(x: u64, lambda_ppb: u32) -> u64 {
    let v = u128::from(x) * u128::from(lambda_ppb) / u128::from(PPB);
    u64::try_from(v).unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fresh() -> (ReputationParams, Reputation) {
        let p = ReputationParams::default();
        p.validate().unwrap();
        (p, p.initial().unwrap())
    }

    #[test]
    fn a_thousand_successes_keep_the_score_at_one() {
        let (p, mut r) = fresh();
        assert_eq!(r.score_ppb(), PPB);
        for _ in 0..1000 {
            r.record(&p, Audit::Success);
            assert_eq!(r.score_ppb(), PPB);
            assert_eq!(p.standing(r.score_ppb()), Standing::Good);
        }
        // And with the textbook start alpha = 1 as well.
        let p1 = ReputationParams {
            initial_alpha: UNIT,
            ..p
        };
        let mut r = p1.initial().unwrap();
        for _ in 0..1000 {
            r.record(&p1, Audit::Success);
            assert_eq!(r.score_ppb(), PPB);
        }
    }

    /// From a new record, failures in a row: the score is 0.999^k, so the 21st suspends and the
    /// 41st disqualifies (ln 0.98 / ln 0.999 = 20.2, ln 0.96 / ln 0.999 = 40.8).
    #[test]
    fn failures_in_a_row_suspend_at_21_and_disqualify_at_41() {
        let (p, mut r) = fresh();
        let (mut suspended_at, mut disqualified_at) = (None, None);
        for k in 1..=100u32 {
            r.record(&p, Audit::Failure);
            let score = r.score_ppb();
            let expected = 0.999f64.powi(k as i32) * f64::from(PPB);
            assert!(
                (f64::from(score) - expected).abs() < 2.0,
                "{k}: {score} {expected}"
            );
            match p.standing(score) {
                Standing::Suspended if suspended_at.is_none() => suspended_at = Some(k),
                Standing::Disqualified if disqualified_at.is_none() => disqualified_at = Some(k),
                _ => {}
            }
        }
        // The closed form, computed rather than copied: first k with λ^k below each threshold.
        let first_below = |t: f64| (t.ln() / 0.999f64.ln()).floor() as u32 + 1;
        assert_eq!(suspended_at, Some(first_below(0.98)));
        assert_eq!(disqualified_at, Some(first_below(0.96)));
        assert_eq!((suspended_at, disqualified_at), (Some(21), Some(41)));
        eprintln!("failures in a row from a new record: suspended at 21, disqualified at 41");
    }

    /// Why the start is not alpha = 1: one failure would disqualify a newcomer.
    #[test]
    fn textbook_start_disqualifies_on_the_first_failure() {
        let p = ReputationParams {
            initial_alpha: UNIT,
            ..ReputationParams::default()
        };
        let mut r = p.initial().unwrap();
        r.record(&p, Audit::Failure);
        assert_eq!(r.score_ppb(), 499_749_874); // 0.999 / 1.999
        assert_eq!(p.standing(r.score_ppb()), Standing::Disqualified);
    }

    /// Old failures fade: after 30 failures (suspended), successes bring the node back to good
    /// standing after the number the closed form gives: beta_k = beta_0 λ^k with alpha + beta
    /// staying 1000, so good again once beta_0 λ^k / 1000 <= 0.02.
    #[test]
    fn failures_fade() {
        let (p, mut r) = fresh();
        for _ in 0..30 {
            r.record(&p, Audit::Failure);
        }
        assert_eq!(p.standing(r.score_ppb()), Standing::Suspended);
        let beta0 = 1.0 - 0.999f64.powi(30);
        let needed = ((0.02 / beta0).ln() / 0.999f64.ln()).ceil() as u32;
        let mut k = 0u32;
        while p.standing(r.score_ppb()) != Standing::Good {
            r.record(&p, Audit::Success);
            k += 1;
        }
        assert!(k.abs_diff(needed) <= 1, "{k} vs {needed}");
        eprintln!("30 failures forgotten enough to earn again after {k} successes");
    }

    #[test]
    fn params_are_checked() {
        let d = ReputationParams::default();
        for bad in [
            ReputationParams {
                lambda_ppb: PPB,
                ..d
            },
            ReputationParams {
                suspend_below_ppb: PPB + 1,
                ..d
            },
            ReputationParams {
                suspend_below_ppb: 900_000_000,
                ..d
            },
            ReputationParams {
                initial_alpha: 0,
                ..d
            },
            ReputationParams {
                initial_alpha: MAX_WEIGHT + 1,
                ..d
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let toml_like: ReputationParams =
            serde_json::from_str(r#"{"suspend_below_ppb": 990000000}"#).unwrap();
        assert_eq!(toml_like.suspend_below_ppb, 990_000_000);
        assert_eq!(toml_like.lambda_ppb, 999_000_000);
        assert!(serde_json::from_str::<ReputationParams>(r#"{"lamda_ppb": 1}"#).is_err());
    }

    #[test]
    fn serde_round_trips_and_refuses_empty_records() {
        let (p, mut r) = fresh();
        r.record(&p, Audit::Failure);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"alpha":999000000000,"beta":1000000000}"#);
        assert_eq!(serde_json::from_str::<Reputation>(&json).unwrap(), r);
        assert!(serde_json::from_str::<Reputation>(r#"{"alpha":0,"beta":0}"#).is_err());
        assert!(
            serde_json::from_str::<Reputation>(r#"{"alpha":1000000000000000001,"beta":0}"#)
                .is_err()
        );
    }

    fn audits() -> impl Strategy<Value = Vec<bool>> {
        proptest::collection::vec(any::<bool>(), 0..3000)
    }

    proptest! {
        /// Forgetting: whatever happened before, each further success never lowers the score.
        #[test]
        fn successes_never_lower_the_score(history in audits(), k in 1usize..2000, lambda in 0u32..PPB) {
            let p = ReputationParams { lambda_ppb: lambda, ..ReputationParams::default() };
            let mut r = p.initial().unwrap();
            for ok in history {
                r.record(&p, if ok { Audit::Success } else { Audit::Failure });
            }
            let mut last = r.score_ppb();
            for _ in 0..k {
                r.record(&p, Audit::Success);
                let s = r.score_ppb();
                prop_assert!(s >= last, "{s} < {last}");
                last = s;
            }
        }

        /// Bounded weights, a defined score, and agreement with the real-valued model.
        #[test]
        fn stays_bounded_and_close_to_the_real_model(history in audits()) {
            let (p, mut r) = fresh();
            let (mut a, mut b) = (1000.0f64, 0.0f64);
            for ok in history {
                r.record(&p, if ok { Audit::Success } else { Audit::Failure });
                a *= 0.999;
                b *= 0.999;
                if ok { a += 1.0 } else { b += 1.0 }
                prop_assert!(r.alpha() <= 1000 * UNIT && r.beta() <= 1000 * UNIT);
                prop_assert!(r.score_ppb() <= PPB);
                let model = a / (a + b) * f64::from(PPB);
                prop_assert!((f64::from(r.score_ppb()) - model).abs() < 10.0);
            }
        }

        /// Failures never raise the score.
        #[test]
        fn failures_never_raise_the_score(history in audits()) {
            let (p, mut r) = fresh();
            for ok in history {
                let before = r.score_ppb();
                r.record(&p, if ok { Audit::Success } else { Audit::Failure });
                if !ok {
                    prop_assert!(r.score_ppb() <= before);
                }
            }
        }
    }

    #[test]
    fn an_epoch_is_one_observation_split_by_its_pass_rate() {
        let params = ReputationParams::default();
        let fresh = params.initial().unwrap();
        // All passed or all failed: the same as one audit.
        for (passes, audit) in [(44, Audit::Success), (0, Audit::Failure)] {
            let (mut epoch, mut one) = (fresh, fresh);
            epoch.record_epoch(&params, passes, 44);
            one.record(&params, audit);
            assert_eq!(epoch, one);
        }
        // Nothing audited: nothing changes.
        let mut same = fresh;
        same.record_epoch(&params, 0, 0);
        assert_eq!(same, fresh);
        // One bad epoch leaves a fresh node in good standing; 21 suspend; 41 disqualify.
        let mut r = fresh;
        let mut standings = Vec::new();
        for _ in 0..41 {
            r.record_epoch(&params, 0, 44);
            standings.push(params.standing(r.score_ppb()));
        }
        assert_eq!(standings[0], Standing::Good);
        assert_eq!(standings[19], Standing::Good);
        assert_eq!(standings[20], Standing::Suspended);
        assert_eq!(standings[39], Standing::Suspended);
        assert_eq!(standings[40], Standing::Disqualified);
        // The score tends to the pass rate: 99 % stays good, 90 % is disqualified.
        for (passes, expected) in [(99, Standing::Good), (90, Standing::Disqualified)] {
            let mut r = fresh;
            for _ in 0..20_000 {
                r.record_epoch(&params, passes, 100);
            }
            assert_eq!(params.standing(r.score_ppb()), expected, "{passes} %");
        }
    }
}
