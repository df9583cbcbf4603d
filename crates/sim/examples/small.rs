//! Runs the small default scenario (every signature made and checked) and prints a few epochs,
//! then each strategy's profit. `cargo run -p sim --example small`
use sim::pnl::tokens;
use sim::{Scenario, Sim};

fn main() -> Result<(), sim::SimError> {
    let mut sim = Sim::new(Scenario::default_small())?;
    let rows = sim.run(|r| {
        if r.timestep % 8 == 1 {
            println!(
                "epoch {:>3}: supply {} minted {} burned {} staked {} availability {}% hosts audited {} frozen {}",
                r.timestep,
                sim::pnl::tokens_u(r.supply),
                sim::pnl::tokens_u(r.minted_epoch),
                sim::pnl::tokens_u(r.burned_epoch),
                sim::pnl::tokens_u(r.staked),
                r.availability_bps / 100,
                r.audited,
                r.frozen,
            );
        }
    })?;
    if let Some(last) = rows.last() {
        println!(
            "\nprofit per strategy after {} epochs (tokens):",
            last.timestep
        );
        for p in &last.pnl {
            println!(
                "  {:<11} agents {:>2}  total {:>14}  mean {:>14}  penalties {:>12}",
                p.strategy.name(),
                p.agents,
                tokens(p.profit),
                tokens(p.mean()),
                tokens(p.penalties)
            );
        }
    }
    println!("state root 0x{}", hex(&sim.state().root()));
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
