//! The collective's economy as pure functions.
//!
//! - [`sampling`]: how likely `n` random block samples are to catch a node missing a fraction of
//!   what it claims, and how many samples a wanted confidence needs (`1 - (1 - f)^n`).
//! - [`reputation`]: the running audit score, Storj's beta model with a forgetting factor, and the
//!   thresholds that suspend a node from rewards and disqualify it.
//!
//! Prices, rewards, weights and vesting join these later (`../shared/design/architecture.md`).
//!
//! Invariants, because these functions decide state inside the ledger's state machine, which is
//! replayed on every start and must give the same state root on every machine:
//! - pure: no I/O, no clock, no randomness; everything is passed in;
//! - deterministic to the bit: integer fixed-point only (probabilities in parts per billion,
//!   [`PPB`]), with every rounding stated where it happens; no floating point decides anything
//!   (floats appear only in tests, as a cross-check);
//! - total: out-of-range input is a typed error, arithmetic cannot overflow (bounds are argued
//!   next to each computation), nothing panics.

pub mod reputation;
pub mod sampling;

/// Certainty in parts per billion: probabilities and scores are integers in `0..=PPB`.
pub const PPB: u32 = 1_000_000_000;
