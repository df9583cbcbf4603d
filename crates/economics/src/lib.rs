//! The collective's economy as pure functions.
//!
//! - [`sampling`]: how likely `n` random block samples are to catch a node missing a fraction of
//!   what it claims, and how many samples a wanted confidence needs (`1 - (1 - f)^n`).
//! - [`reputation`]: the running audit score, Storj's beta model with a forgetting factor, and the
//!   thresholds that suspend a node from rewards and disqualify it.
//! - [`fixed`]: the fixed-point arithmetic the epoch formulas share: [`fixed::WAD`] (10^18 is 1.0),
//!   `floor(a·b/d)` through a 256-bit product, and `x^y` by integer log2/exp2.
//! - [`params`]: the economy's genesis parameters ([`params::EconomyParams`]) and their checks.
//! - [`inflation`]: tokens to mint per epoch so the supply compounds at the annual rate.
//! - [`market`]: demand/capacity saturation, the EIP-1559-shaped price step, torrent hosting
//!   weights (replicas and demand), and the dynamic membership gate.
//! - [`rewards`]: a replica's hosting score and the exact pro-rata split of an epoch's reward.
//! - [`stakers`]: the power-law lock weight that shares the stakers' pool.
//! - [`vesting`]: the liquid/vesting split of a reward and linear vesting.
//! - [`geo`]: integer great-circle geometry and the geographic boost verdict (location checked
//!   against the measured round-trip time).
//!
//! The design these follow is `../shared/design/architecture.md` ("Economy"); the formulas, their
//! defaults and their anchors are in `docs/economics.md` ("Epoch formulas").
//!
//! Invariants, because these functions decide state inside the ledger's state machine, which is
//! replayed on every start and must give the same state root on every machine:
//! - pure: no I/O, no clock, no randomness; everything is passed in;
//! - deterministic to the bit: integer fixed-point only (probabilities in parts per billion,
//!   [`PPB`]; amounts, prices and weights in [`fixed::WAD`] units), with every rounding stated where
//!   it happens; no floating point decides anything (floats appear only in tests, as a
//!   cross-check);
//! - total: out-of-range input is a typed error, arithmetic cannot overflow (bounds are argued
//!   next to each computation, or the overflow is reported as [`EconError::Overflow`]), nothing
//!   panics.

pub mod fixed;
pub mod geo;
pub mod inflation;
pub mod market;
pub mod params;
pub mod reputation;
pub mod rewards;
pub mod sampling;
pub mod stakers;
pub mod vesting;

/// Certainty in parts per billion: probabilities and scores are integers in `0..=PPB`.
pub const PPB: u32 = 1_000_000_000;

/// Basis points in one: shares and steps are integers in bps, `10_000` is 100 %.
pub const BPS: u32 = 10_000;

/// Why an epoch formula refused its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EconError {
    /// The exact result does not fit the integer type (a `u128` of base units or WAD).
    #[error("arithmetic overflow: the result does not fit in 128 bits")]
    Overflow,
    #[error("division by zero")]
    DivByZero,
    /// A parameter outside the range the formulas are defined for (the message says which).
    #[error("bad economy parameter: {0}")]
    BadParam(String),
    /// A location that is not `"lat,lon"` in decimal degrees as the ledger accepts it.
    #[error("bad location: {0}")]
    BadLocation(String),
}
