//! An agent-based simulation of a seedbank collective, driving the real ledger state machine.
//!
//! - [`scenario`]: what is simulated (TOML-loadable).
//! - [`agents`]: honest hosts, speculators, downloaders and the adversaries, and their choices.
//! - [`engine`]: [`Sim`]: each epoch becomes the hub's ledger entries, applied with
//!   `ledger::state::State::apply` — the close, prices, rewards, vesting and penalties are the
//!   ledger's and the `economics` crate's own code, never re-implemented here.
//! - [`pnl`]: each agent's profit and loss; [`row`]: the per-epoch state; [`csv`]: cadCAD layout.
//!
//! The models of each adversary and each cost are in `crates/sim/README.md`.

pub mod agents;
pub mod csv;
pub mod engine;
pub mod pnl;
pub mod report;
pub mod row;
pub mod scenario;

pub use agents::Strategy;
pub use engine::Sim;
pub use pnl::{Pnl, PnlView};
pub use row::{EpochRow, StrategyPnl, TorrentRow};
pub use scenario::Scenario;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("the ledger refused the hub's {what}: {error}")]
    Ledger {
        what: &'static str,
        error: ledger::TxError,
    },
    #[error("conservation: {0}")]
    Conservation(String),
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
    #[error("key derivation: {0}")]
    Key(String),
    #[error("i/o: {0}")]
    Io(String),
    #[error("the scenario's epochs are all simulated")]
    Finished,
}
