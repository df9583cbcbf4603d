//! Times a scenario in release: `cargo run -p sim --release --example scale [scenario.toml]`
//! (`Scenario::default()` without a file: 1,000 nodes × 200 torrents × 100 epochs, unsigned).
use std::time::Instant;

/// The `seedbank` binary's allocator (crates/cli/src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = match std::env::args().nth(1) {
        Some(path) => sim::Scenario::from_toml(&std::fs::read_to_string(path)?)?,
        None => sim::Scenario::default(),
    };
    let started = Instant::now();
    let mut sim = sim::Sim::new(scenario)?;
    let setup = started.elapsed();
    let mut last_tick = Instant::now();
    let rows = sim.run(|row| {
        if std::env::var_os("SIM_TRACE").is_some() {
            eprintln!(
                "epoch {} in {:.2?}, resident {}",
                row.timestep,
                last_tick.elapsed(),
                memory("VmRSS:")
            );
            last_tick = Instant::now();
        }
    })?;
    let total = started.elapsed();
    let last = rows.last().ok_or("no epochs")?;
    println!(
        "{} epochs in {:.2?} (setup {:.2?}); entries {}; availability {}%",
        rows.len(),
        total,
        setup,
        sim.state().next_seq(),
        last.availability_bps / 100
    );
    // The state root: equal roots before and after a change that should not alter the outcome
    // (an optimisation) show that it did not.
    println!("state root 0x{}", hex::encode(sim.state().root()));
    println!("peak memory {}", memory("VmHWM:"));
    for p in &last.pnl {
        println!(
            "  {:<11} agents {:>4}  mean profit {:>14}",
            p.strategy.name(),
            p.agents,
            sim::pnl::tokens(p.mean())
        );
    }
    Ok(())
}

/// A field of Linux's `/proc/self/status` (`VmRSS:` resident now, `VmHWM:` its peak); "?" elsewhere.
fn memory(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "?".into())
}
