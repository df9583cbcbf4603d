//! Each agent's profit and loss, in token base units (10^18 per token).
//!
//! What the ledger pays or takes is measured, not modelled: the agent's wealth (balance + stake +
//! vesting over all its identities) at the end minus at the start, minus the tokens it bought
//! (`capital_in`: top-ups from the treasury are money brought in, not profit). Penalties are what
//! is left of that difference once the categories the sim can attribute (hosting rewards, staker
//! fees, upload income, download spending) are taken out: burns are the only other way the ledger
//! moves an agent's wealth. Off-ledger costs (disk, bandwidth) are modelled from the scenario's
//! rates and subtracted.

use serde::Serialize;

use crate::SimError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pnl {
    /// Wealth at the start (genesis endowment or first join), base units.
    pub wealth0: u128,
    /// Tokens bought from the treasury since.
    pub capital_in: u128,
    /// Hosting rewards and sponsored pools credited by closes (liquid and vesting).
    pub hosting: u128,
    /// Stakers' fee shares credited by closes.
    pub fees: u128,
    /// Paid to it as an uploader (after the fee).
    pub uploads: u128,
    /// Charged to it as a downloader (including the fee).
    pub downloads: u128,
    /// Modelled: bytes kept on disk × epochs × rate.
    pub disk_cost: u128,
    /// Modelled: bytes sent and received × rate.
    pub bandwidth_cost: u128,
}

/// The figures of one agent at one moment, derived from its `Pnl` and its wealth then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PnlView {
    /// Wealth change net of capital brought in: everything the ledger paid minus took.
    pub ledger: i128,
    /// Burned by penalties (stake or vesting), derived (see the module documentation).
    pub penalties: i128,
    pub costs: i128,
    /// `ledger - costs`.
    pub profit: i128,
}

pub(crate) fn add(a: u128, b: u128) -> Result<u128, SimError> {
    a.checked_add(b).ok_or(SimError::Overflow("pnl"))
}

fn signed(v: u128) -> Result<i128, SimError> {
    i128::try_from(v).map_err(|_| SimError::Overflow("pnl to i128"))
}

impl Pnl {
    pub fn view(&self, wealth: u128) -> Result<PnlView, SimError> {
        let ledger = signed(wealth)?
            .checked_sub(signed(self.wealth0)?)
            .and_then(|d| d.checked_sub(self.capital_in as i128))
            .ok_or(SimError::Overflow("pnl ledger"))?;
        let attributed = signed(self.hosting)?
            .checked_add(signed(self.fees)?)
            .and_then(|x| x.checked_add(self.uploads as i128))
            .and_then(|x| x.checked_sub(self.downloads as i128))
            .ok_or(SimError::Overflow("pnl attributed"))?;
        let costs = signed(add(self.disk_cost, self.bandwidth_cost)?)?;
        Ok(PnlView {
            ledger,
            penalties: attributed - ledger,
            costs,
            profit: ledger - costs,
        })
    }
}

/// Base units as decimal tokens with 6 decimals (truncated toward zero), from integers only, so
/// the CSV is byte-identical everywhere.
pub fn tokens(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let micro = a / 1_000_000_000_000;
    format!("{sign}{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

pub fn tokens_u(v: u128) -> String {
    let micro = v / 1_000_000_000_000;
    format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}
