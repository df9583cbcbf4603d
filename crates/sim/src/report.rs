//! The economic report of a run: a directory with `epochs.csv` (cadCAD layout, [`crate::csv`]),
//! `report.md` and `charts/*.svg`, plus parameter sweeps ([`sweep`]).
//!
//! The figures come from the [`EpochRow`]s and, for what rows do not carry (each strategy's
//! identities and disk, the genesis in force), a [`RunInfo`] taken from the [`Sim`] at the end.
//! Charts are the site's own ([`site::chart`]), written as standalone SVG files.
//!
//! Each adversary's verdict compares its mean profit with what an honest host of the same disk
//! earned in the same run (honest profit per byte of disk × its disk): a cheat only pays if it
//! earns more than hosting honestly would have. Strategies that do not host (free riders) are
//! judged on their profit itself.

mod sweep;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use site::chart::{Bars, Line};

use crate::agents::Strategy;
use crate::engine::Sim;
use crate::row::EpochRow;
use crate::scenario::Scenario;
use crate::{SimError, StrategyPnl};

pub use sweep::{PARAMS, SweepRow, SweepTable, set_param, sweep, sweep_with};

/// The strategies that attack the design (every one after honest hosts, speculators and
/// downloaders); the report gives each a verdict.
pub const ADVERSARIES: [Strategy; 6] = *Strategy::ALL
    .last_chunk::<6>()
    .expect("honest, speculator and downloader come first");

const TOKEN: f64 = 1e18;

/// What a run's rows do not say: the genesis in force, each strategy's identities and disk, and
/// how long the run took.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub elapsed: Duration,
    /// Base units each identity staked to join.
    pub min_stake: u128,
    pub inflation_bps: u32,
    pub audit_samples: u32,
    pub fee_bps: u32,
    pub fee_burn_bps: u32,
    pub host_bytes_per_token: u64,
    pub target_replicas: u32,
    /// Genesis price, base units per GiB.
    pub price_per_gib: u128,
    /// Per strategy, in `Strategy::ALL` order: (agents, identities, disk bytes).
    pub population: Vec<(Strategy, u32, u64, u128)>,
}

impl RunInfo {
    /// Reads the genesis and the agents of `sim` (after its run).
    pub fn of(sim: &Sim, elapsed: Duration) -> Result<RunInfo, SimError> {
        let g = sim.genesis();
        let agents = sim.agent_pnls()?;
        let population = Strategy::ALL
            .iter()
            .map(|&s| {
                let mine = agents.iter().filter(|a| a.0 == s);
                let (mut n, mut ids, mut disk) = (0u32, 0u64, 0u128);
                for a in mine {
                    n += 1;
                    ids += a.1 as u64;
                    disk += u128::from(a.2);
                }
                (s, n, ids, disk)
            })
            .collect();
        Ok(RunInfo {
            elapsed,
            min_stake: g.min_stake.0,
            inflation_bps: g.economy.inflation_bps,
            audit_samples: g.audit_samples,
            fee_bps: g.fee_bps,
            fee_burn_bps: g.fee_burn_bps,
            host_bytes_per_token: g.host_bytes_per_token,
            target_replicas: g.economy.target_replicas,
            price_per_gib: g.price_per_gib.0,
            population,
        })
    }
}

/// A finished run: what was simulated, what each epoch left, and the [`RunInfo`].
#[derive(Clone, Debug)]
pub struct Run {
    pub scenario: Scenario,
    pub rows: Vec<EpochRow>,
    pub info: RunInfo,
}

/// Runs `scenario` to the end, handing each row to `each` (a progress bar, say), and times it.
pub fn run(scenario: Scenario, each: impl FnMut(&EpochRow)) -> Result<Run, SimError> {
    let start = Instant::now();
    let mut sim = Sim::new(scenario.clone())?;
    let rows = sim.run(each)?;
    let info = RunInfo::of(&sim, start.elapsed())?;
    Ok(Run {
        scenario,
        rows,
        info,
    })
}

/// One strategy's figures at the end of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyOutcome {
    pub strategy: Strategy,
    pub agents: u32,
    pub identities: u64,
    pub disk_bytes: u128,
    /// Base units staked to join: identities × min stake.
    pub staked: u128,
    pub profit: i128,
    pub penalties: i128,
    pub costs: i128,
    /// Mean profit per agent, tokens.
    pub mean: f64,
    /// Profit per staked token (a ratio).
    pub per_staked_token: Option<f64>,
    /// Mean profit per agent minus an honest host's profit for the same disk, tokens (hosting
    /// strategies, when honest hosts have disk).
    pub over_honest: Option<f64>,
}

/// An adversary's verdict: whether the design holds against it, and the plain sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub strategy: Strategy,
    pub holds: bool,
    pub line: String,
}

/// The run's end-of-run figures (also one row of a sweep).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub epochs: u64,
    pub availability_pct: f64,
    pub mean_replicas: f64,
    pub target_replicas: u32,
    /// Supply at the end over supply at genesis, minus 1, percent.
    pub supply_growth_pct: f64,
    /// Staked over supply at the end, percent.
    pub staked_pct: f64,
    /// Honest members' profit over their stake, percent.
    pub honest_roi: Vec<f64>,
    pub honest_roi_mean_pct: f64,
    pub honest_roi_median_pct: f64,
    pub gini: f64,
    pub strategies: Vec<StrategyOutcome>,
    pub verdicts: Vec<Verdict>,
}

/// The Gini coefficient of `xs`: the mean absolute difference over twice the mean; 0 when all are
/// equal, (n − 1)/n when one has everything. With losses among the values it can exceed 1; it is
/// undefined (NaN) when the mean is not positive. Non-finite values are ignored; empty → 0.
pub fn gini(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let sum: f64 = v.iter().sum();
    if sum <= 0.0 {
        return f64::NAN;
    }
    // Σ_i (2i − n − 1) x_(i), i 1-based over the sorted values, = ½ Σ_i Σ_j |x_i − x_j|.
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * x)
        .sum();
    (weighted / (n * sum)).max(0.0)
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

fn tok(v: i128) -> f64 {
    v as f64 / TOKEN
}

fn tok_u(v: u128) -> f64 {
    v as f64 / TOKEN
}

/// The supply before the first simulated epoch (genesis and registrations).
fn supply0(rows: &[EpochRow]) -> u128 {
    rows.first().map_or(0, |r| {
        (r.minted - r.minted_epoch).saturating_sub(r.burned - r.burned_epoch)
    })
}

impl Outcome {
    pub fn of(run: &Run) -> Outcome {
        let rows = &run.rows;
        let last = rows.last().cloned().unwrap_or_default();
        let s0 = supply0(rows);
        let honest_roi: Vec<f64> = last
            .honest_roi_bps
            .iter()
            .map(|b| *b as f64 / 100.0)
            .collect();
        let pop = |s: Strategy| {
            run.info
                .population
                .iter()
                .find(|p| p.0 == s)
                .map_or((0, 0, 0), |p| (p.1, p.2, p.3))
        };
        let pnl = |s: Strategy| {
            last.pnl
                .iter()
                .find(|p| p.strategy == s)
                .cloned()
                .unwrap_or(StrategyPnl {
                    strategy: s,
                    ..StrategyPnl::default()
                })
        };
        let honest = pnl(Strategy::Honest);
        let (_, _, honest_disk) = pop(Strategy::Honest);
        // Tokens per byte of disk an honest host earned.
        let honest_per_byte = (honest_disk > 0).then(|| tok(honest.profit) / honest_disk as f64);
        let strategies: Vec<StrategyOutcome> = Strategy::ALL
            .iter()
            .map(|&s| {
                let p = pnl(s);
                let (agents, identities, disk) = pop(s);
                let agents = if p.agents > 0 { p.agents } else { agents };
                let staked = u128::from(identities) * run.info.min_stake;
                let mean = if agents == 0 {
                    0.0
                } else {
                    tok(p.profit) / f64::from(agents)
                };
                let over_honest = match honest_per_byte {
                    Some(per_byte) if s.hosts() && s != Strategy::Honest && agents > 0 => {
                        Some(mean - per_byte * disk as f64 / f64::from(agents))
                    }
                    _ => None,
                };
                StrategyOutcome {
                    strategy: s,
                    agents,
                    identities,
                    disk_bytes: disk,
                    staked,
                    profit: p.profit,
                    penalties: p.penalties,
                    costs: p.costs,
                    mean,
                    per_staked_token: (staked > 0).then(|| tok(p.profit) / tok_u(staked)),
                    over_honest,
                }
            })
            .collect();
        let verdicts = ADVERSARIES
            .iter()
            .filter_map(|s| strategies.iter().find(|o| o.strategy == *s))
            .filter(|o| o.agents > 0)
            .map(verdict)
            .collect();
        Outcome {
            epochs: rows.len() as u64,
            availability_pct: f64::from(last.availability_bps) / 100.0,
            mean_replicas: last.mean_replicas_milli as f64 / 1000.0,
            target_replicas: last.target_replicas,
            supply_growth_pct: if s0 == 0 {
                0.0
            } else {
                (last.supply as f64 / s0 as f64 - 1.0) * 100.0
            },
            staked_pct: if last.supply == 0 {
                0.0
            } else {
                last.staked as f64 / last.supply as f64 * 100.0
            },
            honest_roi_mean_pct: mean(&honest_roi),
            honest_roi_median_pct: median(&honest_roi),
            gini: gini(&honest_roi),
            honest_roi,
            strategies,
            verdicts,
        }
    }
}

fn verdict(o: &StrategyOutcome) -> Verdict {
    let x = o.strategy.name();
    match o.over_honest {
        Some(over) => {
            let holds = over <= 0.0;
            let line = if holds {
                format!(
                    "cheating gains ≤ 0: the design holds against {x} — it earns {} tokens per \
                     agent less than an honest host of the same disk ({} tokens in all per agent)",
                    amount(-over),
                    signed(o.mean)
                )
            } else {
                format!(
                    "PROFITABLE: {x} earns {} tokens per agent more than an honest host of the \
                     same disk ({} tokens in all per agent) — the design does not hold against it",
                    amount(over),
                    signed(o.mean)
                )
            };
            Verdict {
                strategy: o.strategy,
                holds,
                line,
            }
        }
        None => {
            let holds = o.mean <= 0.0;
            let line = if holds {
                format!(
                    "profit ≤ 0: the design holds against {x} ({} tokens per agent)",
                    signed(o.mean)
                )
            } else {
                format!(
                    "PROFITABLE: {x} earns {} tokens per agent — the design does not hold \
                     against it",
                    amount(o.mean)
                )
            };
            Verdict {
                strategy: o.strategy,
                holds,
                line,
            }
        }
    }
}

/// A figure with thousands separators and enough decimals to show its size.
pub fn amount(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    let decimals = if a >= 1000.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 0.01 || a == 0.0 {
        2
    } else {
        4
    };
    let s = format!("{a:.decimals$}");
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A whole number with thousands separators.
pub fn whole(v: u64) -> String {
    amount(v as f64)
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// [`amount`] with a `+` on positive values.
pub fn signed(v: f64) -> String {
    let s = amount(v);
    if v > 0.0 && s != "0.00" && !s.starts_with('−') {
        format!("+{s}")
    } else {
        s
    }
}

/// An axis label: 1.2M, 350k, 12.5, 0.25.
fn compact(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    let s = if s == "-0" { "0" } else { s };
    format!("{s}{suffix}")
}

/// A chart as a standalone SVG file: the namespace, a size, and a white ground (so it reads in
/// dark mode too).
fn standalone(svg: String) -> String {
    let size = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|wh| wh.split_once(' '))
        .map(|(w, h)| format!(" width=\"{w}\" height=\"{h}\""))
        .unwrap_or_default();
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg xmlns=\"http://www.w3.org/2000/svg\"{size} "),
        1,
    );
    match svg.find("</title>") {
        Some(i) => {
            let at = i + "</title>".len();
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>{}\n",
                &svg[..at],
                &svg[at..]
            )
        }
        None => svg,
    }
}

fn epoch_label(x: f64) -> String {
    format!("{x:.0}")
}

fn series(rows: &[EpochRow], f: impl Fn(&EpochRow) -> Option<f64>) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| f(r).map(|y| (r.timestep as f64, y)))
        .collect()
}

/// Histogram bins of `xs`: ~10 bins of a nice width, labelled by where they start; with 50 values
/// or more, the outer 2% on each side go to an open first ("<x") or last ("≥x") bin, so a few
/// outliers do not squash the rest into one bar. (label, count).
fn histogram(xs: &[f64]) -> Vec<(String, f64)> {
    let mut xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return Vec::new();
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let (lo, hi) = if n >= 50 {
        (xs[n * 2 / 100], xs[n - 1 - n * 2 / 100])
    } else {
        (xs[0], xs[n - 1])
    };
    let raw = ((hi - lo) / 10.0).max(1e-9);
    let base = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|s| *s >= raw - 1e-12)
        .unwrap_or(10.0 * base);
    let first = (lo / step).floor();
    let bins = (((hi / step).floor() - first) as usize + 1).min(60);
    let edge_lo = first * step;
    let edge_hi = (first + bins as f64) * step;
    let mut counts = vec![0.0; bins];
    let (mut under, mut over) = (0.0, 0.0);
    for x in &xs {
        if *x < edge_lo {
            under += 1.0;
        } else if *x >= edge_hi {
            over += 1.0;
        } else {
            let b = (((x / step).floor() - first) as usize).min(bins - 1);
            counts[b] += 1.0;
        }
    }
    let decimals = if step >= 1.0 { 0 } else { 2 };
    let mut out = Vec::new();
    if under > 0.0 {
        out.push((format!("<{edge_lo:.decimals$}"), under));
    }
    for (i, c) in counts.into_iter().enumerate() {
        let from = (first + i as f64) * step;
        out.push((format!("{from:.decimals$}"), c));
    }
    if over > 0.0 {
        out.push((format!("≥{edge_hi:.decimals$}"), over));
    }
    out
}

/// Each chart: (file name under `charts/`, title, SVG).
pub fn charts(run: &Run, outcome: &Outcome) -> Vec<(&'static str, String, String)> {
    let rows = &run.rows;
    let hot = run.scenario.hottest.min(3);
    let mut out = Vec::new();

    let mut replicas = Line::new("Replicas against target", epoch_label, compact)
        .integers()
        .series(
            "mean",
            series(rows, |r| Some(r.mean_replicas_milli as f64 / 1000.0)),
        );
    for k in 0..hot {
        replicas = replicas.series(
            &format!("hot #{}", k + 1),
            series(rows, |r| {
                r.hottest.get(k).map(|t| t.replicas_milli as f64 / 1000.0)
            }),
        );
    }
    let replicas = replicas
        .reference("target", f64::from(run.info.target_replicas))
        .render();
    out.push(("replicas.svg", "Replicas against target".into(), replicas));

    let availability = Line::new("Dataset availability", epoch_label, |y| format!("{y:.0}%"))
        .integers()
        .area()
        .series(
            "torrents with a full verified replica",
            series(rows, |r| Some(f64::from(r.availability_bps) / 100.0)),
        )
        .render();
    out.push((
        "availability.svg",
        "Dataset availability".into(),
        availability,
    ));

    let mut price = Line::new("Price of the hot torrents", epoch_label, compact).integers();
    let mut saturation =
        Line::new("Saturation of the hot torrents", epoch_label, compact).integers();
    for k in 0..hot {
        let name = format!("hot #{}", k + 1);
        price = price.series(
            &name,
            series(rows, |r| r.hottest.get(k).map(|t| tok_u(t.price_per_gib))),
        );
        saturation = saturation.series(
            &name,
            series(rows, |r| r.hottest.get(k).map(|t| tok_u(t.saturation_wad))),
        );
    }
    let price = price
        .reference("genesis price", tok_u(run.info.price_per_gib))
        .render();
    out.push((
        "price.svg",
        "Price of the hot torrents (tokens per GiB)".into(),
        price,
    ));
    let saturation = saturation.reference("balanced", 1.0).render();
    out.push((
        "saturation.svg",
        "Saturation of the hot torrents (demand / capacity)".into(),
        saturation,
    ));

    let (m0, b0) = rows.first().map_or((0, 0), |r| {
        (r.minted - r.minted_epoch, r.burned - r.burned_epoch)
    });
    let s0 = supply0(rows) as f64 / TOKEN;
    let supply = Line::new("Supply since genesis", epoch_label, compact)
        .integers()
        .series(
            "minted",
            series(rows, |r| Some(tok_u(r.minted.saturating_sub(m0)))),
        )
        .series(
            "burned",
            series(rows, |r| Some(tok_u(r.burned.saturating_sub(b0)))),
        )
        .series(
            "supply change",
            series(rows, |r| Some(tok_u(r.supply) - s0)),
        )
        .series("vesting", series(rows, |r| Some(tok_u(r.vesting))))
        .render();
    out.push((
        "supply.svg",
        "Minted, burned and the supply's change since genesis; vesting (tokens)".into(),
        supply,
    ));
    let stake = Line::new("Staked", epoch_label, compact)
        .integers()
        .area()
        .series("staked", series(rows, |r| Some(tok_u(r.staked))))
        .render();
    out.push(("staked.svg", "Staked (tokens)".into(), stake));

    let bins = histogram(&outcome.honest_roi);
    let roi = Bars::new(
        "Honest hosts' ROI at the end",
        bins.iter().map(|b| format!("{}%", b.0)).collect(),
        |y| {
            if y.fract() == 0.0 {
                format!("{y:.0}")
            } else {
                String::new()
            }
        },
    )
    .layer(
        "honest hosts per ROI bin (each bar starts at its label)",
        bins.iter().map(|b| b.1).collect(),
    )
    .empty("No honest members")
    .render();
    out.push((
        "roi.svg",
        "Honest hosts' ROI at the end (profit over stake, %): hosts per bin".into(),
        roi,
    ));

    let mut profit = Line::new("Mean profit per agent", epoch_label, compact).integers();
    for s in [
        Strategy::Honest,
        Strategy::Lazy,
        Strategy::Offline,
        Strategy::Outsourcer,
        Strategy::Sybil,
        Strategy::Wash,
    ] {
        if outcome
            .strategies
            .iter()
            .any(|o| o.strategy == s && o.agents > 0)
        {
            profit = profit.series(
                s.name(),
                series(rows, |r| {
                    r.pnl
                        .iter()
                        .find(|p| p.strategy == s && p.agents > 0)
                        .map(|p| tok(p.profit) / f64::from(p.agents))
                }),
            );
        }
    }
    out.push((
        "profit.svg",
        "Mean profit per agent, honest and hosting adversaries (tokens)".into(),
        profit.render(),
    ));

    out.into_iter()
        .map(|(f, t, svg)| (f, t, standalone(svg)))
        .collect()
}

/// Where `crates/sim/README.md` is from `dir`, relatively when `dir` is inside this repository.
fn readme_link(dir: &Path) -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let (Ok(root), Ok(dir)) = (root.canonicalize(), dir.canonicalize())
        && let Ok(inside) = dir.strip_prefix(&root)
        && readme.exists()
    {
        let up = "../".repeat(inside.components().count());
        return format!("{up}crates/sim/README.md");
    }
    "crates/sim/README.md".into()
}

fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m {:.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1}s")
    }
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}%")
    } else {
        "n/a".into()
    }
}

/// The Markdown report. `readme` is the link to the sim's README (modelling caveats); `command`,
/// if given, is the one command that regenerates the report.
pub fn markdown(
    run: &Run,
    outcome: &Outcome,
    charts: &[(&'static str, String, String)],
    readme: &str,
    command: Option<&str>,
) -> Result<String, SimError> {
    let s = &run.scenario;
    let info = &run.info;
    let last = run.rows.last().cloned().unwrap_or_default();
    let mut m = String::new();
    let w = &mut m;
    let chart = |w: &mut String, file: &str| {
        if let Some((f, title, _)) = charts.iter().find(|c| c.0 == file) {
            let _ = writeln!(w, "![{title}](charts/{f})\n");
        }
    };
    let _ = writeln!(w, "# Simulation report: scenario `{}`\n", s.name);
    if let Some(c) = command {
        let _ = writeln!(w, "Regenerate with `{c}` (from the repository root).\n");
    }
    let n = &s.nodes;
    let agents = n.honest
        + n.speculator
        + n.downloader
        + n.lazy
        + n.offline
        + n.outsourcer
        + n.sybil
        + n.wash
        + n.free_rider;
    let _ = writeln!(
        w,
        "Seed {}, {} epochs of {} s simulated ({} requested), {} agents, {} catalogue torrents \
         (+{} hot releases); run time {} ({}). Per-epoch state: [`epochs.csv`](epochs.csv) \
         (cadCAD layout). Amounts are tokens.\n",
        s.seed,
        outcome.epochs,
        s.epoch_secs,
        s.epochs,
        whole(u64::from(agents)),
        whole(u64::from(s.torrents.count)),
        s.demand.hot.iter().map(|h| h.count).sum::<u32>(),
        duration(info.elapsed),
        if s.sign {
            "every transaction signed and checked"
        } else {
            "unsigned: the same transitions without signature checks"
        }
    );
    let _ = writeln!(
        w,
        "Genesis in force: inflation {} bps/year, {} audit samples per epoch, fee {} bps of \
         which {} bps burned, {} GB hosted per staked token, target {} replicas, minimum stake \
         {} tokens, price {} tokens per GiB.\n",
        info.inflation_bps,
        info.audit_samples,
        info.fee_bps,
        info.fee_burn_bps,
        info.host_bytes_per_token as f64 / 1e9,
        info.target_replicas,
        amount(tok_u(info.min_stake)),
        amount(tok_u(info.price_per_gib)),
    );

    let _ = writeln!(w, "## Verdicts\n");
    let _ = writeln!(
        w,
        "A hosting adversary's profit is measured against an honest host of the same disk in \
         the same run (honest profit per byte of disk × its disk): cheating pays only if it \
         earns more than hosting honestly. Free riders host nothing and are judged on their \
         profit itself.\n"
    );
    for v in &outcome.verdicts {
        if v.holds {
            let _ = writeln!(w, "- {}", v.line);
        } else {
            let _ = writeln!(w, "- **{}**", v.line);
        }
    }
    let failing: Vec<&str> = outcome
        .verdicts
        .iter()
        .filter(|v| !v.holds)
        .map(|v| v.strategy.name())
        .collect();
    let _ = writeln!(
        w,
        "\n{}\n",
        if failing.is_empty() {
            "In this run no adversary strategy earns more than honest hosting.".to_string()
        } else {
            format!(
                "**In this run the design does not hold against: {}.**",
                failing.join(", ")
            )
        }
    );

    let _ = writeln!(w, "## Profit by strategy\n");
    let _ = writeln!(
        w,
        "Profit is the change in wealth (balance + stake + vesting) net of tokens bought, minus \
         modelled disk and bandwidth costs; penalties are burns. Staked = identities × minimum \
         stake.\n"
    );
    let _ = writeln!(
        w,
        "| strategy | agents | identities | disk (GB) | total profit | mean per agent | per staked token | vs honest, same disk | penalties | costs |"
    );
    let _ = writeln!(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for o in &outcome.strategies {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.strategy.name(),
            o.agents,
            o.identities,
            if o.disk_bytes == 0 {
                "–".into()
            } else {
                amount(o.disk_bytes as f64 / 1e9)
            },
            signed(tok(o.profit)),
            signed(o.mean),
            o.per_staked_token
                .map_or("–".into(), |v| format!("{}%", signed(v * 100.0))),
            o.over_honest.map_or("–".into(), signed),
            amount(tok(o.penalties)),
            amount(tok(o.costs)),
        );
    }
    let _ = writeln!(w);
    chart(w, "profit.svg");

    let _ = writeln!(w, "## Replicas and availability\n");
    let _ = writeln!(
        w,
        "At the end: {} of the {} registered torrents have a full verified replica; {:.2} \
         replicas per torrent on average against a target of {}. The \"hot #k\" series follow \
         whichever torrent is the k-th most requested in each epoch.\n",
        pct(outcome.availability_pct),
        last.torrents,
        outcome.mean_replicas,
        outcome.target_replicas,
    );
    chart(w, "replicas.svg");
    chart(w, "availability.svg");

    let _ = writeln!(w, "## Hot torrents: price and saturation\n");
    chart(w, "price.svg");
    chart(w, "saturation.svg");
    if !last.hottest.is_empty() {
        let _ = writeln!(w, "The most demanded torrents in the last epoch:\n");
        let _ = writeln!(
            w,
            "| torrent | demand (GB) | replicas | price (tokens/GiB) | saturation | weight |"
        );
        let _ = writeln!(w, "|--:|--:|--:|--:|--:|--:|");
        for t in &last.hottest {
            let _ = writeln!(
                w,
                "| {}{} | {} | {:.2} | {} | {:.2} | {:.2} |",
                t.index,
                if t.index >= s.torrents.count {
                    " (hot release)"
                } else {
                    ""
                },
                amount(t.demand_bytes as f64 / 1e9),
                t.replicas_milli as f64 / 1000.0,
                amount(tok_u(t.price_per_gib)),
                tok_u(t.saturation_wad),
                tok_u(t.weight_wad),
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Supply, minted, burned, staked\n");
    let first = run.rows.first().cloned().unwrap_or_default();
    let _ = writeln!(
        w,
        "Supply {} → {} ({}%); minted {} and burned {} since genesis; staked {} ({} of the \
         supply), vesting {}.\n",
        amount(tok_u(supply0(&run.rows))),
        amount(tok_u(last.supply)),
        signed(outcome.supply_growth_pct),
        amount(tok_u(last.minted - (first.minted - first.minted_epoch))),
        amount(tok_u(last.burned - (first.burned - first.burned_epoch))),
        amount(tok_u(last.staked)),
        pct(outcome.staked_pct),
        amount(tok_u(last.vesting)),
    );
    chart(w, "supply.svg");
    chart(w, "staked.svg");

    let _ = writeln!(w, "## Honest hosts' return\n");
    let roi = &outcome.honest_roi;
    let lo = roi.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = roi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let _ = writeln!(
        w,
        "ROI = profit over stake, for the {} honest members at the end: mean {}, median {}, \
         from {} to {}; Gini coefficient {}{}.\n",
        roi.len(),
        pct(outcome.honest_roi_mean_pct),
        pct(outcome.honest_roi_median_pct),
        pct(lo),
        pct(hi),
        if outcome.gini.is_finite() {
            format!("{:.3}", outcome.gini)
        } else {
            "n/a (mean ROI not positive)".into()
        },
        if roi.iter().any(|r| *r < 0.0) {
            " (some hosts lost money, so the coefficient is not bounded by 1)"
        } else {
            ""
        }
    );
    chart(w, "roi.svg");

    let _ = writeln!(w, "## Modelling caveats\n");
    let _ = writeln!(
        w,
        "What is the ledger's own code and what the simulation models (audits, market \
         observation, costs, each adversary) is in [crates/sim/README.md]({readme}). In short: \
         every transition is the real ledger's (`State::apply`); audits are drawn by bytes and \
         pass when the agent holds the torrent; disk and bandwidth costs are modelled rates; \
         locked stake has no opportunity cost; the token has no market price beyond the \
         download price.\n"
    );

    let _ = writeln!(w, "## Scenario\n");
    let _ = writeln!(w, "```toml\n{}```", s.to_toml()?);
    Ok(m)
}

/// What [`write`] wrote.
#[derive(Clone, Debug)]
pub struct Written {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub outcome: Outcome,
}

fn io(path: &Path, e: std::io::Error) -> SimError {
    SimError::Io(format!("{}: {e}", path.display()))
}

/// Writes `epochs.csv`, `report.md` and `charts/*.svg` into `dir` (created if missing).
pub fn write(dir: &Path, run: &Run, command: Option<&str>) -> Result<Written, SimError> {
    let charts_dir = dir.join("charts");
    std::fs::create_dir_all(&charts_dir).map_err(|e| io(&charts_dir, e))?;
    let mut files = Vec::new();
    let csv_path = dir.join("epochs.csv");
    let csv = crate::csv::to_string(&run.rows, 1, run.scenario.hottest)?;
    std::fs::write(&csv_path, csv).map_err(|e| io(&csv_path, e))?;
    files.push(csv_path);
    let outcome = Outcome::of(run);
    let charts = charts(run, &outcome);
    for (file, _, svg) in &charts {
        let p = charts_dir.join(file);
        std::fs::write(&p, svg).map_err(|e| io(&p, e))?;
        files.push(p);
    }
    let md = markdown(run, &outcome, &charts, &readme_link(dir), command)?;
    let p = dir.join("report.md");
    std::fs::write(&p, md).map_err(|e| io(&p, e))?;
    files.push(p);
    Ok(Written {
        dir: dir.to_path_buf(),
        files,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_of_equals_is_zero_and_of_one_holder_is_n_minus_1_over_n() {
        assert_eq!(gini(&[5.0; 7]), 0.0);
        assert_eq!(gini(&[0.3]), 0.0);
        for n in [2usize, 3, 10, 101] {
            let mut v = vec![0.0; n];
            v[n / 2] = 42.0;
            let g = gini(&v);
            assert!((g - (n as f64 - 1.0) / n as f64).abs() < 1e-12, "{n}: {g}");
        }
        // Order does not matter; a known value: [1, 2, 3, 4] → 0.25.
        assert!((gini(&[4.0, 1.0, 3.0, 2.0]) - 0.25).abs() < 1e-12);
        assert_eq!(gini(&[]), 0.0);
        assert!(gini(&[-1.0, 0.5]).is_nan());
        assert!(gini(&[-1.0, 3.0]) > 0.5);
    }

    #[test]
    fn amounts_read_well() {
        assert_eq!(amount(1234567.8), "1,234,568");
        assert_eq!(amount(-12.34), "−12.3");
        assert_eq!(amount(0.5), "0.50");
        assert_eq!(amount(0.0), "0.00");
        assert_eq!(amount(-0.00001), "0.0000");
        assert_eq!(signed(3.0), "+3.00");
        assert_eq!(whole(200), "200");
        assert_eq!(whole(1_234_567), "1,234,567");
        assert_eq!(compact(1_500_000.0), "1.5M");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(0.25), "0.25");
    }

    #[test]
    fn histogram_counts_everything() {
        let xs: Vec<f64> = (0..100).map(|i| i as f64 * 0.37 - 5.0).collect();
        let h = histogram(&xs);
        assert!((5..=21).contains(&h.len()), "{h:?}");
        assert_eq!(h.iter().map(|b| b.1).sum::<f64>(), 100.0);
        assert_eq!(histogram(&[3.0, 3.0]).iter().map(|b| b.1).sum::<f64>(), 2.0);
        assert!(histogram(&[]).is_empty());
        // Outliers go to an open last bin rather than stretching the axis.
        let mut xs: Vec<f64> = (0..100).map(|i| i as f64 / 10.0).collect();
        xs.extend([1000.0, 2000.0]);
        let h = histogram(&xs);
        assert_eq!(h.iter().map(|b| b.1).sum::<f64>(), 102.0);
        let last = h.last().unwrap();
        assert!(last.0.starts_with('≥') && last.1 == 2.0, "{h:?}");
        assert!(h.len() <= 14, "{h:?}");
    }
}
