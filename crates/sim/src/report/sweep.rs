//! Parameter sweeps: the same scenario (same seed) run once per value of one parameter, and a
//! table of the end-of-run figures, written as `sweep.md` and `sweep.csv`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::{ADVERSARIES, Outcome, Run, duration, io, pct, signed};
use crate::SimError;
use crate::row::EpochRow;
use crate::scenario::Scenario;

/// The parameters a sweep can vary: (name, alias, what it sets).
pub const PARAMS: [(&str, &str, &str); 17] = [
    (
        "inflation_bps",
        "inflation",
        "genesis inflation, basis points per year",
    ),
    (
        "audit_samples",
        "samples",
        "genesis audit samples per epoch",
    ),
    (
        "fee_burn_bps",
        "fee_burn",
        "genesis share of the fee burned, basis points",
    ),
    (
        "host_bytes_per_token",
        "collateral",
        "genesis collateral ratio: bytes one staked token covers",
    ),
    ("fee_bps", "fee", "genesis fee on receipts, basis points"),
    ("min_stake", "stake", "genesis minimum stake, whole tokens"),
    (
        "target_replicas",
        "replicas",
        "genesis target replicas per torrent",
    ),
    (
        "price_per_gib",
        "price",
        "genesis download price, whole tokens per GiB",
    ),
    (
        "wrong_data_burn_bps",
        "wrong_data_burn",
        "genesis stake burned for wrong data, basis points",
    ),
    (
        "free_bytes_per_day",
        "free_bytes",
        "genesis free download allowance, bytes per day",
    ),
    ("seed", "seed", "the scenario's seed"),
    ("epochs", "epochs", "epochs simulated"),
    (
        "sybil_identities",
        "sybil",
        "identities a sybil claims its copy under",
    ),
    (
        "lazy_keep_bps",
        "lazy_keep",
        "share of its claim a lazy host keeps, basis points",
    ),
    (
        "offline_miss_bps",
        "offline_miss",
        "chance an offline-prone host misses a challenge, basis points",
    ),
    (
        "outsource_timeout_bps",
        "outsource_timeout",
        "chance an outsourced block misses the deadline, basis points",
    ),
    (
        "wash_gb_per_epoch",
        "wash_gb",
        "GB a wash trader downloads from itself per epoch",
    ),
];

fn known() -> String {
    PARAMS
        .iter()
        .map(|(n, a, _)| {
            if n == a {
                n.to_string()
            } else {
                format!("{n} ({a})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The canonical name of `param` (a name or an alias), or an error listing the known ones.
pub fn canonical(param: &str) -> Result<&'static str, SimError> {
    PARAMS
        .iter()
        .find(|(n, a, _)| *n == param || *a == param)
        .map(|p| p.0)
        .ok_or_else(|| {
            SimError::Scenario(format!(
                "unknown sweep parameter {param:?}; known: {}",
                known()
            ))
        })
}

fn number<T: std::str::FromStr>(param: &str, value: &str) -> Result<T, SimError> {
    value
        .trim()
        .replace('_', "")
        .parse()
        .map_err(|_| SimError::Scenario(format!("{param}: {value:?} is not a whole number")))
}

/// Sets `param` (a name or alias from [`PARAMS`]) to `value` in `scenario`, and checks the result.
pub fn set_param(scenario: &mut Scenario, param: &str, value: &str) -> Result<(), SimError> {
    let name = canonical(param)?;
    let g = &mut scenario.genesis;
    let a = &mut scenario.adversary;
    match name {
        "inflation_bps" => g.inflation_bps = Some(number(name, value)?),
        "audit_samples" => g.audit_samples = Some(number(name, value)?),
        "fee_burn_bps" => g.fee_burn_bps = Some(number(name, value)?),
        "host_bytes_per_token" => g.host_bytes_per_token = Some(number(name, value)?),
        "fee_bps" => g.fee_bps = Some(number(name, value)?),
        "min_stake" => g.min_stake = Some(number(name, value)?),
        "target_replicas" => g.target_replicas = Some(number(name, value)?),
        "price_per_gib" => g.price_per_gib = Some(number(name, value)?),
        "wrong_data_burn_bps" => g.wrong_data_burn_bps = Some(number(name, value)?),
        "free_bytes_per_day" => g.free_bytes_per_day = Some(number(name, value)?),
        "seed" => scenario.seed = number(name, value)?,
        "epochs" => scenario.epochs = number(name, value)?,
        "sybil_identities" => a.sybil_identities = number(name, value)?,
        "lazy_keep_bps" => a.lazy_keep_bps = number(name, value)?,
        "offline_miss_bps" => a.offline_miss_bps = number(name, value)?,
        "outsource_timeout_bps" => a.outsource_timeout_bps = number(name, value)?,
        "wash_gb_per_epoch" => a.wash_gb_per_epoch = number(name, value)?,
        other => unreachable!("{other} is in PARAMS"),
    }
    scenario
        .validate()
        .map_err(|e| SimError::Scenario(format!("{name} = {value}: {e}")))
}

/// One value of the swept parameter and its run's figures.
#[derive(Clone, Debug)]
pub struct SweepRow {
    pub value: String,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// A whole sweep.
#[derive(Clone, Debug)]
pub struct SweepTable {
    pub param: &'static str,
    pub scenario: Scenario,
    pub rows: Vec<SweepRow>,
}

/// Runs `base` once per value of `param`; see [`sweep_with`].
pub fn sweep(base: &Scenario, param: &str, values: &[String]) -> Result<SweepTable, SimError> {
    sweep_with(base, param, values, |_, _| {})
}

/// Runs `base` once per value of `param`, handing each epoch's row to `each` with the value's
/// index. Every value is checked before the first run.
pub fn sweep_with(
    base: &Scenario,
    param: &str,
    values: &[String],
    mut each: impl FnMut(usize, &EpochRow),
) -> Result<SweepTable, SimError> {
    let name = canonical(param)?;
    if values.is_empty() {
        return Err(SimError::Scenario(format!("sweep of {name}: no values")));
    }
    let scenarios = values
        .iter()
        .map(|v| {
            let mut s = base.clone();
            set_param(&mut s, name, v)?;
            Ok(s)
        })
        .collect::<Result<Vec<_>, SimError>>()?;
    let mut rows = Vec::new();
    for (i, (s, v)) in scenarios.into_iter().zip(values).enumerate() {
        let run: Run = super::run(s, |r| each(i, r))?;
        rows.push(SweepRow {
            value: v.trim().to_string(),
            outcome: Outcome::of(&run),
            elapsed: run.info.elapsed,
        });
    }
    Ok(SweepTable {
        param: name,
        scenario: base.clone(),
        rows,
    })
}

fn adversary_figures(o: &Outcome) -> Vec<(f64, Option<f64>)> {
    ADVERSARIES
        .iter()
        .map(|s| {
            o.strategies
                .iter()
                .find(|x| x.strategy == *s && x.agents > 0)
                .map_or((f64::NAN, None), |x| (x.mean, x.over_honest))
        })
        .collect()
}

fn csv_f(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        String::new()
    }
}

impl SweepTable {
    pub fn markdown(&self) -> String {
        let mut m = String::new();
        let w = &mut m;
        let what = PARAMS
            .iter()
            .find(|p| p.0 == self.param)
            .map_or("", |p| p.2);
        let _ = writeln!(
            w,
            "# Sweep of `{}` over scenario `{}`\n",
            self.param, self.scenario.name
        );
        let _ = writeln!(
            w,
            "`{}`: {what}. Each value runs the scenario from the same seed ({}), {} epochs. \
             Figures are at the end of the run; adversaries' columns are mean profit per agent \
             in tokens, with the difference from an honest host of the same disk in brackets. \
             \"Not held against\" lists the adversaries earning more than honest hosting (free \
             riders: more than 0).\n",
            self.param, self.scenario.seed, self.scenario.epochs
        );
        let mut head = vec![
            "value".to_string(),
            "availability".into(),
            "mean replicas".into(),
            "supply growth".into(),
            "staked".into(),
            "honest mean ROI".into(),
            "Gini".into(),
        ];
        head.extend(ADVERSARIES.iter().map(|s| s.name().to_string()));
        head.push("not held against".into());
        head.push("run time".into());
        let _ = writeln!(w, "| {} |", head.join(" | "));
        let _ = writeln!(
            w,
            "|{}",
            head.iter()
                .enumerate()
                .map(|(i, _)| if i == 0 || i + 2 == head.len() {
                    "---|"
                } else {
                    "--:|"
                })
                .collect::<String>()
        );
        for r in &self.rows {
            let o = &r.outcome;
            let mut c = vec![
                format!("`{}`", r.value),
                pct(o.availability_pct),
                format!("{:.2}", o.mean_replicas),
                format!("{}%", signed(o.supply_growth_pct)),
                pct(o.staked_pct),
                pct(o.honest_roi_mean_pct),
                if o.gini.is_finite() {
                    format!("{:.3}", o.gini)
                } else {
                    "n/a".into()
                },
            ];
            for (mean, over) in adversary_figures(o) {
                c.push(match over {
                    Some(d) => format!("{} ({})", signed(mean), signed(d)),
                    None => signed(mean),
                });
            }
            let failing: Vec<&str> = o
                .verdicts
                .iter()
                .filter(|v| !v.holds)
                .map(|v| v.strategy.name())
                .collect();
            c.push(if failing.is_empty() {
                "none".into()
            } else {
                failing.join(", ")
            });
            c.push(duration(r.elapsed));
            let _ = writeln!(w, "| {} |", c.join(" | "));
        }
        let _ = writeln!(w);
        m
    }

    /// One line per value; amounts in tokens, percentages as numbers.
    pub fn csv(&self) -> String {
        let mut head = vec![
            "param",
            "value",
            "availability_pct",
            "mean_replicas",
            "supply_growth_pct",
            "staked_pct",
            "honest_roi_mean_pct",
            "honest_roi_median_pct",
            "gini",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        for s in ADVERSARIES {
            head.push(format!("{}_mean_profit", s.name()));
            head.push(format!("{}_over_honest", s.name()));
        }
        head.push("run_secs".into());
        let mut out = head.join(",") + "\n";
        for r in &self.rows {
            let o = &r.outcome;
            let mut c = vec![
                self.param.to_string(),
                r.value.replace([',', '"', '\n'], " "),
                csv_f(o.availability_pct),
                csv_f(o.mean_replicas),
                csv_f(o.supply_growth_pct),
                csv_f(o.staked_pct),
                csv_f(o.honest_roi_mean_pct),
                csv_f(o.honest_roi_median_pct),
                csv_f(o.gini),
            ];
            for (mean, over) in adversary_figures(o) {
                c.push(csv_f(mean));
                c.push(over.map_or(String::new(), csv_f));
            }
            c.push(format!("{:.3}", r.elapsed.as_secs_f64()));
            out += &(c.join(",") + "\n");
        }
        out
    }

    /// Writes `sweep.md` and `sweep.csv` into `dir` (created if missing); returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>, SimError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let md = dir.join("sweep.md");
        std::fs::write(&md, self.markdown()).map_err(|e| io(&md, e))?;
        let csv = dir.join("sweep.csv");
        std::fs::write(&csv, self.csv()).map_err(|e| io(&csv, e))?;
        Ok(vec![md, csv])
    }
}
