//! `seedbank seed`, `fetch` and `node`: the commands that join swarms.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use engine::{CheckProgress, Engine, EngineConfig, TorrentHandle};
use metainfo::Torrent;
use node::size::{format_size, parse_size};
use node::{Node, NodeConfig, policy};

use crate::pay::{Paying, Settling, StateDir};
use crate::progress::Progress;
use crate::torrent_cmd::load;
use crate::{FetchArgs, NodeAction, NodeArgs, SeedArgs, SwarmArgs};

/// Resolves on Ctrl-C or SIGTERM.
pub async fn interrupted() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn start_engine(swarm: &SwarmArgs, default_listen: SocketAddr) -> Result<Engine> {
    let config = EngineConfig {
        listen: swarm.listen.unwrap_or(default_listen),
        upload_slots: swarm.upload_slots,
        ..EngineConfig::default()
    };
    let engine = Engine::start(config).await?;
    eprintln!("listening on {}", engine.listen_addr());
    Ok(engine)
}

async fn add_with_check(
    engine: &Engine,
    torrent: Torrent,
    root: &Path,
    paying: Option<&Paying>,
) -> Result<TorrentHandle> {
    let name = torrent.info.name.clone();
    let total = u64::from(torrent.piece_count());
    let progress = std::sync::Mutex::new(Progress::new("checking", total));
    let hooks = paying.map(|p| p.payments.hooks_for(&torrent));
    let report = move |p: CheckProgress| {
        if let Ok(mut bar) = progress.lock() {
            bar.update(u64::from(p.checked), "");
        }
    };
    let handle = engine
        .add_torrent_with(torrent, root.to_path_buf(), report, hooks)
        .await
        .with_context(|| format!("adding {name}"))?;
    let stats = handle.stats();
    eprintln!(
        "checked: {}/{} pieces valid",
        stats.pieces_have, stats.pieces_total
    );
    Ok(handle)
}

fn status_line(handle: &TorrentHandle) -> String {
    let s = handle.stats();
    format!(
        " | peers {} | down {}/s | up {}/s | uploaded {}",
        s.peers,
        format_size(s.download_rate),
        format_size(s.upload_rate),
        format_size(s.uploaded)
    )
}

/// The wallet at work for `seed` or `fetch`, when `--wallet` was given.
async fn paying_for(
    pay: &crate::pay::PayArgs,
    access: &crate::index_cmd::HubAccess,
    torrent: &Torrent,
) -> Result<Option<Paying>> {
    let Some(wallet) = &pay.wallet else {
        return Ok(None);
    };
    let hub = access
        .client(None)
        .context("--wallet settles with the collective's hub")?;
    let state = StateDir::BesideWallet(torrent);
    Ok(Some(Paying::open(wallet, hub, state, true).await?))
}

/// Stops the engine, then settles what the last moments earned.
async fn stop(engine: &Engine, paying: Option<(&Paying, Settling)>) {
    engine.shutdown().await;
    if let Some((paying, settling)) = paying {
        settling.finish(&paying.payments).await;
    }
}

pub async fn seed(args: SeedArgs) -> Result<()> {
    let torrent = load(&args.torrent)?;
    let paying = paying_for(&args.pay, &args.access, &torrent).await?;
    let listen = args
        .swarm
        .listen
        .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 6881)));
    let swarm = SwarmArgs {
        listen: Some(listen),
        ..args.swarm
    };
    seed_with(torrent, &args.data, &swarm, paying).await
}

/// Seeds `torrent` from `root` (checked first) until interrupted.
pub async fn seed_torrent(
    torrent: Torrent,
    root: &Path,
    peers: &[SocketAddr],
    listen: SocketAddr,
) -> Result<()> {
    let swarm = SwarmArgs {
        listen: Some(listen),
        peers: peers.to_vec(),
        upload_slots: 8,
    };
    seed_with(torrent, root, &swarm, None).await
}

async fn seed_with(
    torrent: Torrent,
    root: &Path,
    swarm: &SwarmArgs,
    paying: Option<Paying>,
) -> Result<()> {
    let engine = start_engine(swarm, SocketAddr::from(([0, 0, 0, 0], 6881))).await?;
    let handle = add_with_check(&engine, torrent, root, paying.as_ref()).await?;
    let stats = handle.stats();
    if !stats.complete {
        engine.shutdown().await;
        bail!(
            "the data in {} is incomplete ({}/{} pieces valid): nothing to seed from; use `seedbank fetch` to complete it",
            root.display(),
            stats.pieces_have,
            stats.pieces_total
        );
    }
    handle.add_peers(swarm.peers.iter().copied());
    let settling = paying.as_ref().map(Paying::start_settling);
    eprintln!("seeding {}", handle.torrent().info.name);
    // A status line refreshed in place on a terminal; a plain line a minute in logs.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let every = Duration::from_secs(if terminal { 2 } else { 60 });
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let quit = interrupted();
    tokio::pin!(quit);
    loop {
        tokio::select! {
            _ = &mut quit => break,
            _ = tick.tick() => {
                if terminal {
                    eprint!("\rseeding{}   ", status_line(&handle));
                } else {
                    eprintln!("seeding{}", status_line(&handle));
                }
            }
        }
    }
    eprintln!("\nstopping");
    stop(&engine, paying.as_ref().zip(settling)).await;
    Ok(())
}

pub async fn fetch(args: FetchArgs) -> Result<()> {
    // A local .torrent file is taken as is; with --hub, anything else is a name in the index.
    let torrent = if args.access.hub.is_some() && !Path::new(&args.torrent).is_file() {
        crate::index_cmd::resolve(&args.access, &args.torrent).await?
    } else {
        load(Path::new(&args.torrent))?
    };
    let paying = paying_for(&args.pay, &args.access, &torrent).await?;
    let engine = start_engine(&args.swarm, SocketAddr::from(([0, 0, 0, 0], 0))).await?;
    let handle = add_with_check(&engine, torrent, &args.output, paying.as_ref()).await?;
    let settling = paying.as_ref().map(Paying::start_settling);
    let paying = paying.as_ref().zip(settling);
    handle.add_peers(args.swarm.peers.iter().copied());
    let started = Instant::now();
    let total = handle.stats().bytes_total;
    let mut bar = Progress::new(&handle.torrent().info.name, total);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let done = handle.wait_complete();
    tokio::pin!(done);
    let quit = interrupted();
    tokio::pin!(quit);
    let outcome = loop {
        tokio::select! {
            r = &mut done => break Some(r),
            _ = &mut quit => break None,
            _ = tick.tick() => bar.update(handle.stats().bytes_have, &status_line(&handle)),
        }
    };
    match outcome {
        None => {
            bar.finish("interrupted");
            stop(&engine, paying).await;
            bail!("interrupted; run the same command again to resume (the data is re-checked)");
        }
        Some(Err(e)) => {
            bar.finish("failed");
            stop(&engine, paying).await;
            bail!("download failed: {e}");
        }
        Some(Ok(())) => {}
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = handle.stats();
    bar.finish("verified");
    eprintln!(
        "complete: {} bytes in {secs:.2} s ({:.1} MB/s), {} hash failures, {} peers banned",
        stats.bytes_total,
        stats.downloaded as f64 / secs / 1e6,
        stats.hash_failures,
        stats.banned.len()
    );
    if args.seed {
        eprintln!("seeding until interrupted");
        interrupted().await;
    }
    stop(&engine, paying).await;
    Ok(())
}

pub async fn node(args: NodeArgs) -> Result<()> {
    let mut config = NodeConfig::load(&args.data_dir)?;
    if let Some(budget) = &args.disk_budget {
        config.disk_budget = parse_size(budget)
            .map_err(anyhow::Error::msg)
            .context("--disk-budget")?;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(wallet) = &args.pay.wallet {
        config.wallet = Some(wallet.clone());
    }
    if let Some(hub) = &args.hub {
        config.hub = Some(hub.clone());
    }
    if let Some(advertise) = args.advertise {
        config.advertise = Some(advertise);
    }
    if let Some(location) = &args.location {
        ledger::check_location(location).context("--location")?;
        config.location = Some(location.clone());
    }
    // Interests on the command line add to node.toml's.
    config.interests.pinned.extend(args.pins.iter().cloned());
    config
        .interests
        .categories
        .extend(args.categories.iter().cloned());
    config
        .interests
        .patterns
        .extend(args.patterns.iter().cloned());
    config.auto_host |= args.auto_host;
    match args.action {
        Some(NodeAction::Add {
            torrent,
            disk_budget,
        }) => {
            if let Some(budget) = disk_budget {
                config.disk_budget = parse_size(&budget)
                    .map_err(anyhow::Error::msg)
                    .context("--disk-budget")?;
            }
            let t = load(&torrent)?;
            let path = node::register(&config, &t)?;
            println!(
                "registered {} ({}) as {}",
                t.info.name,
                format_size(t.info.data_length()),
                path.display()
            );
            Ok(())
        }
        Some(NodeAction::List) => {
            let mut used = 0;
            for (path, t) in node::registered(&config.data_dir)? {
                used += t.info.data_length();
                println!(
                    "{:>10}  {}  ({})",
                    format_size(t.info.data_length()),
                    t.info.name,
                    path.display()
                );
            }
            println!(
                "{} of {} budget used",
                format_size(used),
                format_size(config.disk_budget)
            );
            Ok(())
        }
        Some(NodeAction::Plan { disk_budget, hub }) => {
            if let Some(budget) = disk_budget {
                config.disk_budget = parse_size(&budget)
                    .map_err(anyhow::Error::msg)
                    .context("--disk-budget")?;
            }
            if let Some(hub) = hub {
                config.hub = Some(hub);
            }
            print_plan(&config).await
        }
        None => {
            eprintln!(
                "node: data dir {}, disk budget {}",
                config.data_dir.display(),
                format_size(config.disk_budget)
            );
            let paying = match &config.wallet {
                Some(wallet) => {
                    let hub = config.hub.as_deref().context(
                        "a node with a wallet settles with the collective's hub: set `hub` in node.toml",
                    )?;
                    let hub = hubapi::HubClient::new(hub)?;
                    Some(
                        Paying::open(
                            wallet,
                            hub,
                            StateDir::Node(&config.data_dir),
                            config.serve_legacy,
                        )
                        .await?,
                    )
                }
                None => None,
            };
            let policy_hub = match (&paying, config.hosting_policy()) {
                (Some(p), true) => {
                    let passkey = config
                        .passkey
                        .clone()
                        .or_else(|| std::env::var("SEEDBANK_PASSKEY").ok())
                        .context(
                            "the hosting policy fetches .torrent files with your passkey: set \
                             `passkey` in node.toml or SEEDBANK_PASSKEY",
                        )?;
                    Some(p.hub.clone().with_passkey(Some(passkey)))
                }
                (None, true) => {
                    eprintln!(
                        "warning: interests and auto_host need a wallet (the node pays for what it \
                         downloads): the hosting policy is off"
                    );
                    None
                }
                (_, false) => None,
            };
            let auto_host = config.auto_host;
            let mut node = Node::start(config).await?;
            if let Some(p) = paying {
                node.enable_payments(p.payments, p.hub);
            }
            if let Some(hub) = policy_hub {
                node.enable_policy(hub)?;
                eprintln!(
                    "hosting policy: {} (see `seedbank node plan`)",
                    if auto_host {
                        "interests, then what pays best"
                    } else {
                        "interests only"
                    }
                );
            }
            eprintln!("listening on {}", node.engine().listen_addr());
            node.run(interrupted()).await?;
            Ok(())
        }
    }
}

/// `seedbank node plan`: the plan the node would apply this epoch, as a table.
async fn print_plan(config: &NodeConfig) -> Result<()> {
    let url = config
        .hub
        .as_deref()
        .context("the plan needs the hub's market: pass --hub URL or set `hub` in node.toml")?;
    let market = hubapi::HubClient::new(url)?
        .market()
        .await
        .context("asking the hub's market")?;
    let record_path = node::policy_record_path(&config.data_dir);
    let record = policy::Record::load(&record_path)
        .with_context(|| format!("reading {}", record_path.display()))?;
    let active = config.hosting_policy();
    // With the policy off, show what --auto-host would do.
    let options = policy::Options {
        fill: config.auto_host || !active,
        ..policy::Options::default()
    };
    let (plan, leaving) = node::plan_hosting(config, &market, &record, &options)?;

    match market.closed_epoch {
        Some(epoch) if !plan.relative => println!(
            "market after epoch {epoch}: {} tokens minted for hosting over {} weighted bytes",
            policy::significant(market.minted.0 as f64 / 1e18),
            market.weighted_bytes.0
        ),
        _ => println!(
            "market: no hosting reward measured yet, values are relative (weight x share); \
             pools and demand break ties"
        ),
    }
    if !active {
        println!(
            "the policy is off (no interests, no auto_host): the node adds nothing by itself; \
             this is what --auto-host would do"
        );
    } else if !config.auto_host {
        println!("interests only: auto_host is off, nothing is added for pay");
    }
    if active && config.wallet.is_none() {
        println!("note: the node runs the policy only with a wallet (it pays for its downloads)");
    }
    let mut rows: Vec<[String; 5]> = Vec::new();
    let value = |v: f64| policy::significant(v);
    for (action, choices) in [
        ("keep", &plan.keep),
        ("add", &plan.add),
        ("evict", &plan.evict),
    ] {
        for c in choices {
            rows.push([
                action.to_owned(),
                c.name.clone(),
                format_size(c.size),
                value(c.value_per_gib),
                c.reason.clone(),
            ]);
        }
    }
    const MAX_SKIPPED: usize = 20;
    for (name, reason) in plan.skipped.iter().take(MAX_SKIPPED) {
        rows.push([
            "skip".to_owned(),
            name.clone(),
            String::new(),
            String::new(),
            reason.clone(),
        ]);
    }
    print_table(
        &[
            "ACTION",
            "NAME",
            "SIZE",
            if plan.relative {
                "VALUE (RELATIVE)"
            } else {
                "TOKENS/GiB/EPOCH"
            },
            "REASON",
        ],
        &rows,
    );
    if plan.skipped.len() > MAX_SKIPPED {
        println!(
            "... and {} more not taken",
            plan.skipped.len() - MAX_SKIPPED
        );
    }
    println!(
        "{} planned of a {} budget{}",
        format_size(plan.planned_bytes),
        format_size(config.disk_budget),
        if leaving > 0 {
            format!(
                " ({} evicted, deleted once no hosting report claims it)",
                format_size(leaving)
            )
        } else {
            String::new()
        }
    );
    println!(
        "value per GiB per epoch = (minted/weighted_bytes x weight x min(1, target/(replicas+1)) \
         + pool_per_epoch/((replicas+1) x size) + price x saturation x {}/(replicas+1)) x 2^30; \
         a holding is swapped only for {:.0} % more",
        policy::DEMAND_SHARE,
        policy::SWAP_MARGIN * 100.0
    );
    Ok(())
}

/// Left-aligned columns; long names are cut so the table stays readable.
fn print_table(header: &[&str; 5], rows: &[[String; 5]]) {
    const MAX_NAME: usize = 40;
    let cut = |s: &str, max: usize| -> String {
        if s.chars().count() > max {
            let mut out: String = s.chars().take(max - 1).collect();
            out.push('…');
            out
        } else {
            s.to_owned()
        }
    };
    let rows: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[1] = cut(&r[1], MAX_NAME);
            r
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(*header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
}
