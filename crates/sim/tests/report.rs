//! The report and the sweeps: every file written, every strategy in the Markdown, a verdict per
//! adversary; a sweep gives one row per value; unknown parameters are refused.

use sim::report::{self, ADVERSARIES};
use sim::{Scenario, Strategy};

fn small(epochs: u64) -> Scenario {
    Scenario {
        epochs,
        ..Scenario::default_small()
    }
}

#[test]
fn the_report_writes_every_file_names_every_strategy_and_judges_every_adversary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let run = report::run(Scenario::default_small(), |_| {}).unwrap();
    assert_eq!(run.rows.len() as u64, Scenario::default_small().epochs);
    let written = report::write(&out, &run, Some("seedbank sim --small")).unwrap();

    let csv = std::fs::read_to_string(out.join("epochs.csv")).unwrap();
    assert_eq!(csv.lines().count(), run.rows.len() + 1);
    assert!(csv.starts_with("simulation,subset,run,substep,timestep,"));

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let charts: Vec<_> = std::fs::read_dir(out.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for f in [
        "replicas.svg",
        "availability.svg",
        "price.svg",
        "saturation.svg",
        "supply.svg",
        "staked.svg",
        "roi.svg",
        "profit.svg",
    ] {
        assert!(charts.iter().any(|c| c == f), "{f} missing: {charts:?}");
        let svg = std::fs::read_to_string(out.join("charts").join(f)).unwrap();
        assert!(
            svg.contains("xmlns=\"http://www.w3.org/2000/svg\""),
            "{f} stands alone"
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{f}");
        assert!(
            md.contains(&format!("(charts/{f})")),
            "{f} linked relatively"
        );
    }
    assert_eq!(written.files.len(), 2 + charts.len());

    for s in Strategy::ALL {
        assert!(
            md.contains(&format!("| {} |", s.name())),
            "{} in the table",
            s.name()
        );
    }
    for s in ADVERSARIES {
        let lines: Vec<&str> = md
            .lines()
            .filter(|l| {
                (l.contains("the design holds against") || l.contains("PROFITABLE:"))
                    && (l.contains(&format!("against {} ", s.name()))
                        || l.contains(&format!("PROFITABLE: {} ", s.name())))
            })
            .collect();
        assert_eq!(lines.len(), 1, "one verdict for {}: {lines:?}", s.name());
    }
    assert_eq!(written.outcome.verdicts.len(), ADVERSARIES.len());
    assert!(md.contains("```toml\n"));
    assert!(md.contains("seed = 1"));
    assert!(md.contains("crates/sim/README.md"));
    assert!(md.contains("seedbank sim --small"));
    // The report's numbers are the last row's.
    let last = run.rows.last().unwrap();
    assert_eq!(
        written.outcome.availability_pct,
        f64::from(last.availability_bps) / 100.0
    );
    assert_eq!(written.outcome.honest_roi.len(), last.honest_roi_bps.len());
}

#[test]
fn a_sweep_of_two_values_gives_two_rows() {
    let values = vec!["200".to_string(), "2000".to_string()];
    let table = report::sweep(&small(6), "inflation", &values).unwrap();
    assert_eq!(table.param, "inflation_bps");
    assert_eq!(table.rows.len(), 2);
    assert_eq!(table.rows[0].value, "200");
    assert_eq!(table.rows[1].value, "2000");
    // More inflation mints more: the supply grows faster.
    assert!(
        table.rows[1].outcome.supply_growth_pct > table.rows[0].outcome.supply_growth_pct,
        "{} vs {}",
        table.rows[1].outcome.supply_growth_pct,
        table.rows[0].outcome.supply_growth_pct
    );
    let md = table.markdown();
    assert_eq!(md.lines().filter(|l| l.starts_with("| `")).count(), 2);
    for s in ADVERSARIES {
        assert!(md.contains(s.name()));
    }
    let csv = table.csv();
    assert_eq!(csv.lines().count(), 3);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("inflation_bps,200,")
    );

    let dir = tempfile::tempdir().unwrap();
    let files = table.write(dir.path()).unwrap();
    assert_eq!(files.len(), 2);
    assert!(dir.path().join("sweep.md").exists() && dir.path().join("sweep.csv").exists());
}

#[test]
fn every_named_parameter_maps_to_the_scenario() {
    for (name, alias, _) in report::PARAMS {
        let mut s = small(4);
        let value = match name {
            "host_bytes_per_token" => "20000000000",
            "epochs" | "seed" | "audit_samples" | "target_replicas" | "min_stake" => "5",
            "price_per_gib" | "sybil_identities" => "2",
            _ => "100",
        };
        report::set_param(&mut s, name, value).unwrap();
        assert_ne!(s, small(4), "{name} changed nothing");
        let mut t = small(4);
        report::set_param(&mut t, alias, value).unwrap();
        assert_eq!(s, t, "{alias} is {name}");
    }
    let mut s = small(4);
    report::set_param(&mut s, "collateral", "5_000_000_000").unwrap();
    assert_eq!(s.genesis.host_bytes_per_token, Some(5_000_000_000));
    report::set_param(&mut s, "samples", "8").unwrap();
    assert_eq!(s.genesis.audit_samples, Some(8));
    report::set_param(&mut s, "fee_burn", "2500").unwrap();
    assert_eq!(s.genesis.fee_burn_bps, Some(2500));
}

#[test]
fn unknown_parameters_and_bad_values_are_refused() {
    let err = report::sweep(&small(2), "colour", &["1".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown sweep parameter \"colour\""), "{err}");
    for known in [
        "inflation_bps",
        "audit_samples",
        "fee_burn_bps",
        "host_bytes_per_token",
    ] {
        assert!(err.contains(known), "{known} listed: {err}");
    }
    let err = report::sweep(&small(2), "inflation", &["lots".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a whole number"), "{err}");
    let err = report::sweep(&small(2), "lazy_keep_bps", &["20000".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("basis points"), "{err}");
    assert!(report::sweep(&small(2), "inflation", &[]).is_err());
}
