//! `seedbank sim`: run a simulated collective and write its report (`sim::report`), or sweep one
//! parameter over several values.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sim::Scenario;
use sim::report::{self, Outcome};

use crate::progress::Progress;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    pub action: Option<SimAction>,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Directory for epochs.csv, report.md and charts/.
    #[arg(long, value_name = "DIR", default_value = "sim-out")]
    pub out: PathBuf,
}

#[derive(Subcommand)]
pub enum SimAction {
    /// Run the scenario once per value of one parameter; writes sweep.md and sweep.csv.
    Sweep(SweepArgs),
}

#[derive(Args)]
pub struct SweepArgs {
    /// The parameter: inflation, samples, fee_burn, collateral, ... (an unknown name lists them).
    #[arg(long, value_name = "NAME")]
    pub param: String,
    /// Its values, comma-separated.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',', required = true)]
    pub values: Vec<String>,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Directory for sweep.md and sweep.csv.
    #[arg(long, value_name = "DIR", default_value = "sim-out")]
    pub out: PathBuf,
}

#[derive(Args, Clone)]
pub struct ScenarioArgs {
    /// A scenario TOML file (default: the built-in default scenario; see crates/sim).
    #[arg(long, value_name = "FILE", conflicts_with = "small")]
    pub scenario: Option<PathBuf>,
    /// The built-in small scenario (every signature made and checked; a few seconds).
    #[arg(long)]
    pub small: bool,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the number of epochs.
    #[arg(long)]
    pub epochs: Option<u64>,
}

impl ScenarioArgs {
    fn load(&self) -> Result<Scenario> {
        let mut s = match &self.scenario {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the scenario {}", path.display()))?;
                Scenario::from_toml(&text)
                    .with_context(|| format!("the scenario {}", path.display()))?
            }
            None if self.small => Scenario::default_small(),
            None => Scenario::default(),
        };
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
        if let Some(epochs) = self.epochs {
            s.epochs = epochs;
        }
        s.validate().context("the scenario")?;
        Ok(s)
    }
}

pub fn run(args: SimArgs) -> Result<()> {
    match args.action {
        Some(SimAction::Sweep(sweep)) => run_sweep(sweep),
        None => run_once(args.scenario, &args.out),
    }
}

/// The command line that made this report, as run from a checkout.
fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a
            }
        })
        .collect();
    format!("cargo run --release -p cli -- {}", args.join(" "))
}

fn run_once(args: ScenarioArgs, out: &Path) -> Result<()> {
    let scenario = args.load()?;
    let name = scenario.name.clone();
    let mut progress = Progress::steps(&format!("sim {name}"), scenario.epochs);
    let run = report::run(scenario, |row| {
        progress.update(
            row.timestep,
            &format!(
                ", availability {:.1}%, {} frozen",
                f64::from(row.availability_bps) / 100.0,
                row.frozen
            ),
        );
    })
    .context("running the simulation")?;
    progress.finish(&format!(
        "{} epochs in {:.1}s",
        run.rows.len(),
        run.info.elapsed.as_secs_f64()
    ));
    let written = report::write(out, &run, Some(&command_line()))
        .with_context(|| format!("writing the report to {}", out.display()))?;
    summary(&name, &run, &written.outcome);
    println!(
        "\nreport: {} ({} files)",
        out.join("report.md").display(),
        written.files.len()
    );
    Ok(())
}

fn summary(name: &str, run: &report::Run, o: &Outcome) {
    let s = &run.scenario;
    println!(
        "scenario {name}: seed {}, {} epochs, {:.1}s",
        s.seed,
        o.epochs,
        run.info.elapsed.as_secs_f64()
    );
    println!(
        "availability {:.1}%, mean replicas {:.2} (target {}), supply {}%, staked {:.1}%",
        o.availability_pct,
        o.mean_replicas,
        o.target_replicas,
        report::signed(o.supply_growth_pct),
        o.staked_pct
    );
    println!(
        "honest hosts: mean ROI {:.1}%, median {:.1}%, Gini {}",
        o.honest_roi_mean_pct,
        o.honest_roi_median_pct,
        if o.gini.is_finite() {
            format!("{:.3}", o.gini)
        } else {
            "n/a".into()
        }
    );
    println!("mean profit per agent (tokens):");
    for st in &o.strategies {
        if st.agents > 0 {
            println!(
                "  {:<11} {:>6} {:<6}  {:>14}",
                st.strategy.name(),
                st.agents,
                if st.agents == 1 { "agent" } else { "agents" },
                report::signed(st.mean)
            );
        }
    }
    println!("verdicts:");
    for v in &o.verdicts {
        println!("  {}", v.line);
    }
}

fn run_sweep(args: SweepArgs) -> Result<()> {
    let base = args.scenario.load()?;
    let values: Vec<String> = args
        .values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        bail!("--values: give at least one value");
    }
    // Refuse an unknown parameter or a bad value before any run.
    for v in &values {
        let mut s = base.clone();
        report::set_param(&mut s, &args.param, v)
            .with_context(|| format!("--param {} --values {v}", args.param))?;
    }
    let epochs = |v: &str| {
        let mut s = base.clone();
        report::set_param(&mut s, &args.param, v).map_or(base.epochs, |_| s.epochs)
    };
    let per_value: Vec<u64> = values.iter().map(|v| epochs(v)).collect();
    let total: u64 = per_value.iter().sum();
    let mut progress = Progress::steps(&format!("sweep {}", args.param), total);
    let table = report::sweep_with(&base, &args.param, &values, |i, row| {
        let before: u64 = per_value[..i].iter().sum();
        progress.update(
            before + row.timestep,
            &format!(", {} = {}", args.param, values[i]),
        );
    })
    .with_context(|| format!("sweeping {}", args.param))?;
    progress.finish(&format!("{} runs", table.rows.len()));
    let files = table
        .write(&args.out)
        .with_context(|| format!("writing the sweep to {}", args.out.display()))?;
    print!("{}", table.markdown());
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
