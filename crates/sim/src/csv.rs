//! The per-epoch CSV in cadCAD's layout: `simulation,subset,run,substep,timestep` then the state
//! variables, one row per timestep (substep 1). Amounts are tokens with 6 decimals, formatted
//! from integers so equal runs give byte-identical files.

use std::io::Write;

use crate::SimError;
use crate::agents::Strategy;
use crate::pnl::{tokens, tokens_u};
use crate::row::EpochRow;

/// The header for rows detailing `hottest` torrents.
pub fn header(hottest: usize) -> String {
    let mut cols: Vec<String> = [
        "simulation",
        "subset",
        "run",
        "substep",
        "timestep",
        "epoch",
        "supply",
        "minted",
        "burned",
        "minted_epoch",
        "burned_epoch",
        "balances",
        "staked",
        "vesting",
        "stakers_pool",
        "pools",
        "active_agents",
        "audited",
        "frozen",
        "disqualified",
        "torrents",
        "availability_bps",
        "mean_replicas_milli",
        "target_replicas",
        "refused_user_txs",
        "receipts_settled",
        "receipts_refused",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 1..=hottest {
        for f in [
            "torrent",
            "demand_bytes",
            "replicas_milli",
            "price_per_gib",
            "saturation",
            "weight",
        ] {
            cols.push(format!("hot{i}_{f}"));
        }
    }
    for s in Strategy::ALL {
        let n = s.name();
        cols.push(format!("pnl_{n}_agents"));
        cols.push(format!("pnl_{n}_profit"));
        cols.push(format!("pnl_{n}_mean"));
        cols.push(format!("pnl_{n}_penalties"));
        cols.push(format!("pnl_{n}_costs"));
    }
    cols.push("honest_roi_bps".into());
    cols.join(",")
}

/// One row (`run` is cadCAD's 1-based run number).
pub fn line(row: &EpochRow, run: u32, hottest: usize) -> String {
    let wad = |v: u128| tokens_u(v);
    let mut c: Vec<String> = vec![
        "0".into(),
        "0".into(),
        run.to_string(),
        "1".into(),
        row.timestep.to_string(),
        row.epoch.to_string(),
        tokens_u(row.supply),
        tokens_u(row.minted),
        tokens_u(row.burned),
        tokens_u(row.minted_epoch),
        tokens_u(row.burned_epoch),
        tokens_u(row.balances),
        tokens_u(row.staked),
        tokens_u(row.vesting),
        tokens_u(row.stakers_pool),
        tokens_u(row.pools),
        row.active_agents.to_string(),
        row.audited.to_string(),
        row.frozen.to_string(),
        row.disqualified.to_string(),
        row.torrents.to_string(),
        row.availability_bps.to_string(),
        row.mean_replicas_milli.to_string(),
        row.target_replicas.to_string(),
        row.refused_user_txs.to_string(),
        row.receipts_settled.to_string(),
        row.receipts_refused.to_string(),
    ];
    for i in 0..hottest {
        match row.hottest.get(i) {
            Some(t) => {
                c.push(t.index.to_string());
                c.push(t.demand_bytes.to_string());
                c.push(t.replicas_milli.to_string());
                c.push(tokens_u(t.price_per_gib));
                c.push(wad(t.saturation_wad));
                c.push(wad(t.weight_wad));
            }
            None => c.extend(std::iter::repeat_n(String::new(), 6)),
        }
    }
    for p in &row.pnl {
        c.push(p.agents.to_string());
        c.push(tokens(p.profit));
        c.push(tokens(p.mean()));
        c.push(tokens(p.penalties));
        c.push(tokens(p.costs));
    }
    let roi: Vec<String> = row.honest_roi_bps.iter().map(|r| r.to_string()).collect();
    c.push(format!("\"{}\"", roi.join(";")));
    c.join(",")
}

/// Writes the header and every row.
pub fn write(
    out: &mut impl Write,
    rows: &[EpochRow],
    run: u32,
    hottest: usize,
) -> Result<(), SimError> {
    writeln!(out, "{}", header(hottest)).map_err(|e| SimError::Io(e.to_string()))?;
    for row in rows {
        writeln!(out, "{}", line(row, run, hottest)).map_err(|e| SimError::Io(e.to_string()))?;
    }
    Ok(())
}

/// The whole CSV as a string.
pub fn to_string(rows: &[EpochRow], run: u32, hottest: usize) -> Result<String, SimError> {
    let mut buf = Vec::new();
    write(&mut buf, rows, run, hottest)?;
    String::from_utf8(buf).map_err(|e| SimError::Io(e.to_string()))
}
