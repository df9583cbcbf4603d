//! `seedbank demo`: a whole tokenised collective on loopback, with nothing to set up.
//!
//! It founds the `VIDYA` collective (genesis, hub with the embedded ledger), has five members stake
//! and join with signed transactions, publishes a generated collection of game archives, runs one
//! real node per member (wallet, receipts, audits, hosting reports), lets the members download and
//! pay, has one member sponsor a torrent's hosting, has one node delete part of its data, and then
//! watches several short epochs: the hub's auditor samples every node, each epoch closes with
//! inflation, fees, vesting, prices and weights. It ends with a report of balances, rewards, fees,
//! burns, prices, saturation, audits and penalties (`report.json` beside it, for programs), and
//! keeps the hub up until Ctrl-C unless `--exit`.

mod dataset;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use hubapi::HubClient;
use metainfo::{CreateOptions, Torrent, Version};
use node::size::{format_size, parse_size};
use node::{Node, NodeConfig, Payments, Terms};
use token::keystore::Strength;
use token::{Amount, Join, SecretKey, Signed, Sponsor, Stake, UserTx};

use crate::progress::Progress;

#[derive(Args)]
pub struct DemoArgs {
    /// Size of the generated collection of game archives.
    #[arg(long, default_value = "192MiB")]
    pub size: String,
    /// Work directory (a temporary one, removed afterwards, if omitted).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Length of an epoch in seconds (an hour in a real collective).
    #[arg(long, default_value_t = 8)]
    pub epoch_secs: u64,
    /// Epochs to watch close after the downloads, before the report.
    #[arg(long, default_value_t = 3)]
    pub epochs: u64,
    /// Exit after the report instead of keeping the hub up until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

/// The password of the demo's operator key (`hub/operator.json`): a demo's key guards nothing.
pub const OPERATOR_PASSWORD: &str = "vidya-demo";

/// Where the hub's auditor is: Berlin.
const HUB_LOCATION: &str = "52.52,13.405";

/// One member of the demo and what it does.
struct Role {
    name: &'static str,
    /// Whole tokens from genesis, and how many of them it stakes for how long.
    liquid: u64,
    stake: u64,
    lock_days: u64,
    /// Where it says it is. Loopback round trips are tens of microseconds, so only places within a
    /// few km of the hub are consistent with them: cat's Lisbon is not, and gets no boost.
    location: &'static str,
    /// Archives (indexes into the collection) it downloads; the uploader seeds them all.
    downloads: &'static [usize],
}

const UPLOADER: usize = 0;
const LAZY: usize = 3;
const SPONSOR: usize = 4;
/// Cat's deposit into the pool of one archive, and over how many epochs it pays out.
const SPONSORED: (usize, u64, u64) = (2, 20, 4);

const ROLES: [Role; 5] = [
    Role {
        name: "uploader",
        liquid: 100,
        stake: 100,
        lock_days: 365,
        location: "52.52,13.41",
        downloads: &[],
    },
    Role {
        name: "ann",
        liquid: 100,
        stake: 100,
        lock_days: 180,
        location: "52.50,13.44",
        downloads: &[0, 1, 2, 3],
    },
    Role {
        name: "ben",
        liquid: 100,
        stake: 100,
        lock_days: 30,
        location: "52.53,13.38",
        downloads: &[0, 1, 2],
    },
    Role {
        name: "lazy",
        liquid: 100,
        stake: 100,
        lock_days: 30,
        location: "52.51,13.39",
        downloads: &[0, 1],
    },
    Role {
        name: "cat",
        liquid: 150,
        stake: 100,
        lock_days: 90,
        location: "38.72,-9.14",
        downloads: &[2, 3],
    },
];

/// A member at work: its key, passkey, node and the handles of what its node hosts.
struct Member {
    role: &'static Role,
    key: SecretKey,
    passkey: String,
    client: HubClient,
    data_dir: PathBuf,
    handles: Vec<engine::TorrentHandle>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), node::NodeError>>>,
}

fn genesis(
    operator: &SecretKey,
    members: &[SecretKey],
    epoch_secs: u64,
) -> Result<ledger::Genesis> {
    let mut text = format!(
        r#"name = "VIDYA collective"
symbol = "VIDYA"
operator = "{operator}"
join = "buy-in"
min_stake = "50"
max_lock_days = 365
price_per_gib = "10"
fee_bps = 500
fee_burn_bps = 5000
debt_threshold_bytes = 16777216
epoch_secs = {epoch_secs}
audit_samples = 12
audit_deadline_secs = 2

[economy]
inflation_bps = 500

[[allocations]]
account = "{operator}"
liquid = "1000000"
"#,
        operator = operator.address(),
    );
    for (role, key) in ROLES.iter().zip(members) {
        text.push_str(&format!(
            "\n[[allocations]]\naccount = \"{}\"\nliquid = \"{}\"\n",
            key.address(),
            role.liquid + role.stake
        ));
    }
    Ok(ledger::Genesis::from_toml(&text)?)
}

async fn submit(
    client: &HubClient,
    domain: &token::Domain,
    key: &SecretKey,
    tx: UserTx,
) -> Result<hubapi::Submitted> {
    let signed = Signed::<UserTx>::sign(domain, key, tx);
    Ok(client.submit(&signed).await?)
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let size = parse_size(&args.size)
        .map_err(anyhow::Error::msg)
        .context("--size")?;
    if size < 64 * 1024 {
        bail!("--size must be at least 64KiB");
    }
    if !(4..=3600).contains(&args.epoch_secs) {
        bail!("--epoch-secs must be 4 to 3600");
    }
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let tmp;
    let work = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            if std::fs::read_dir(d)?.next().is_some() {
                bail!(
                    "{} is not empty: the demo founds a new collective there",
                    d.display()
                );
            }
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir().context("creating a work directory")?;
            tmp.path().to_path_buf()
        }
    };
    let started = Instant::now();

    // 1. The collection, written straight into the uploader's node.
    let uploader_dir = work.join("nodes").join(ROLES[UPLOADER].name);
    let content = uploader_dir.join("content");
    eprintln!(
        "1/7 generating {} of game archives in {}",
        format_size(size),
        content.display()
    );
    let archive_dirs = dataset::write(&content, size)?;

    // 2. The collective: genesis, ledger, hub.
    eprintln!("2/7 founding the VIDYA collective: genesis, embedded ledger, hub");
    let operator = SecretKey::generate();
    let keys: Vec<SecretKey> = ROLES.iter().map(|_| SecretKey::generate()).collect();
    let genesis = genesis(&operator, &keys, args.epoch_secs)?;
    let hub_dir = work.join("hub");
    let mut config = hub::HubConfig::defaults(&hub_dir);
    std::fs::create_dir_all(&hub_dir)?;
    crate::secret::save_key(
        &config.operator_key_path(),
        &operator,
        OPERATOR_PASSWORD,
        Strength::Light,
    )?;
    ledger::Ledger::create(&config.ledger_path(), &genesis, operator.clone())?;
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.flush_interval = Duration::from_secs(1);
    config.tracker.interval = 2;
    config.tracker.min_interval = 1;
    config.location = Some(HUB_LOCATION.into());
    let hub = hub::Hub::open_with_ledger(config, operator)?;
    let listener = hub.bind().await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let hub_task = tokio::spawn(hub.serve(listener, async move {
        let _ = hub_stopped.await;
    }));
    let api = HubClient::new(&url)?;
    let info = api.ledger().await?;
    println!(
        "hub at {url}: {} ({}), epochs of {} s with {} audits per node, downloads at {} {}/GiB",
        info.name,
        info.symbol,
        info.epoch_secs,
        info.audit_samples,
        info.price_per_gib,
        info.symbol
    );

    // 3. Members stake and join (buy-in): two signed transactions each.
    eprintln!("3/7 five members stake and join");
    let mut members = Vec::new();
    for (role, key) in ROLES.iter().zip(keys) {
        let now = hub::unix_now();
        submit(
            &api,
            &info.domain,
            &key,
            UserTx::Stake(Stake {
                account: key.address(),
                amount: Amount::tokens(role.stake),
                lock_until: now + role.lock_days * 86_400,
                nonce: 0,
            }),
        )
        .await
        .with_context(|| format!("{} stakes", role.name))?;
        let joined = submit(
            &api,
            &info.domain,
            &key,
            UserTx::Join(Join {
                account: key.address(),
                name: role.name.into(),
                nonce: 1,
            }),
        )
        .await
        .with_context(|| format!("{} joins", role.name))?;
        let passkey = joined.passkey.context("a join returns the passkey")?;
        println!(
            "  {:<9} {}  staked {} {} for {} days",
            role.name,
            key.address(),
            role.stake,
            info.symbol,
            role.lock_days
        );
        // Each member's key as a wallet, for `seedbank wallet ... --wallet` after the demo.
        let data_dir = work.join("nodes").join(role.name);
        crate::secret::save_key(
            &data_dir.join("wallet.json"),
            &key,
            OPERATOR_PASSWORD,
            token::keystore::Strength::Light,
        )?;
        members.push(Member {
            role,
            key,
            client: api.clone().with_passkey(Some(passkey.clone())),
            passkey,
            data_dir,
            handles: Vec::new(),
            stop: None,
            task: None,
        });
    }

    // 4. The uploader publishes every archive (the hub registers each with the ledger).
    eprintln!("4/7 the uploader publishes {} torrents", archive_dirs.len());
    let mut published = Vec::new();
    for (archive, dir) in dataset::COLLECTION.iter().zip(&archive_dirs) {
        let opts = CreateOptions {
            version: Version::Hybrid,
            private: true,
            announce: vec![format!("{url}/announce/{}", members[UPLOADER].passkey)],
            ..CreateOptions::default()
        };
        let torrent = metainfo::create_torrent(dir, &opts, &mut |_, _| {})?;
        let entry = members[UPLOADER]
            .client
            .publish(
                torrent.to_bytes(),
                archive.name,
                archive.category,
                archive.description,
            )
            .await?;
        println!(
            "  #{} {:<22} {:>9}  {} pieces",
            entry.id,
            entry.name,
            format_size(entry.size),
            torrent.piece_count()
        );
        published.push(entry);
    }

    // 5. One node per member; the members download what they want and pay for it.
    eprintln!("5/7 starting a node per member; members download and pay");
    for (i, m) in members.iter_mut().enumerate() {
        let wanted: Vec<usize> = if i == UPLOADER {
            (0..published.len()).collect()
        } else {
            m.role.downloads.to_vec()
        };
        start_node(m, &info, &published, &wanted).await?;
    }
    let total: u64 = members
        .iter()
        .skip(1)
        .flat_map(|m| &m.handles)
        .map(|h| h.stats().bytes_total)
        .sum();
    let mut bar = Progress::new("members downloading", total);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let handles = || members.iter().skip(1).flat_map(|m| &m.handles);
        let done: u64 = handles().map(|h| h.stats().bytes_have).sum();
        bar.update(done, "");
        if handles().all(|h| h.stats().complete) {
            break;
        }
        if let Some(e) = handles().find_map(|h| h.stats().error) {
            bail!("a download failed: {e}");
        }
        if Instant::now() > deadline {
            bail!("the downloads did not finish within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bar.finish("done");

    // 6. Cat buys hosting for an archive; the lazy node throws data away.
    let (archive, tokens, epochs) = SPONSORED;
    let sponsored = &published[archive];
    let cat = &members[SPONSOR];
    // Its node has been logging hosting reports with the same key: ask for the next nonce.
    let nonce = api.account(&cat.key.address()).await?.nonce;
    submit(
        &api,
        &info.domain,
        &cat.key,
        UserTx::Sponsor(Sponsor {
            sponsor: cat.key.address(),
            torrent: sponsored
                .ledger_id()
                .context("a published torrent has a hash")?,
            amount: Amount::tokens(tokens),
            epochs,
            nonce,
        }),
    )
    .await
    .context("cat sponsors hosting")?;
    let lazy = &members[LAZY];
    let victim = dataset::largest_file(
        &lazy
            .data_dir
            .join("content")
            .join(dataset::COLLECTION[0].name),
    )?;
    std::fs::remove_file(&victim).with_context(|| format!("deleting {}", victim.display()))?;
    eprintln!(
        "6/7 cat deposits {tokens} {} into the hosting pool of {} (over {epochs} epochs); \
         lazy deletes {}",
        info.symbol,
        sponsored.name,
        victim.strip_prefix(&work).unwrap_or(&victim).display()
    );

    // 7. Epochs: reports, audits, closes.
    let first = api.current_epoch().await?.current + 1;
    let last = first + args.epochs - 1;
    eprintln!(
        "7/7 watching epochs {first} to {last} ({} s each): every node is audited, each epoch closes",
        args.epoch_secs
    );
    let names = members_view(&members);
    let closes = watch_epochs(&api, &names, first, last, args.epoch_secs).await?;

    let report =
        report::gather(&members[UPLOADER].client, &info, &names, &published, closes).await?;
    report.print(&info);
    let path = work.join("report.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "demo finished in {:.0} s; report.json in {}",
        started.elapsed().as_secs_f64(),
        work.display()
    );

    if !args.exit {
        let ann = &members[1];
        let link = crate::wallet_cmd::sign_in_with(&api, &ann.key)
            .await
            .context("signing ann in to the site")?;
        println!("the collective's site is up at {url}/ (its API: {url}/api/v1/openapi.json)");
        println!(
            "  signed in as {}: {} (once, within 5 minutes)",
            ann.role.name, link.link
        );
        println!(
            "  or: SEEDBANK_PASSWORD={OPERATOR_PASSWORD} seedbank wallet sign-in {url} --wallet {}",
            ann.data_dir.join("wallet.json").display()
        );
        println!("Ctrl-C to stop");
        crate::swarm_cmd::interrupted().await;
    }
    for m in &mut members {
        if let Some(stop) = m.stop.take() {
            let _ = stop.send(());
        }
    }
    for m in &mut members {
        if let Some(task) = m.task.take() {
            task.await??;
        }
    }
    let _ = stop_hub.send(());
    hub_task.await??;
    Ok(())
}

/// Starts `m`'s node with its wallet, registers the archives it wants (the uploader's are on disk
/// already), and runs it in the background.
async fn start_node(
    m: &mut Member,
    info: &hubapi::LedgerInfo,
    published: &[hubapi::TorrentSummary],
    wanted: &[usize],
) -> Result<()> {
    let mut config = NodeConfig::defaults(&m.data_dir);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.location = Some(m.role.location.into());
    config.passkey = Some(m.passkey.clone());
    config.serve_legacy = false;
    std::fs::create_dir_all(&m.data_dir)?;
    for &i in wanted {
        let bytes = m.client.personal_torrent(published[i].id).await?;
        node::register(&config, &Torrent::from_bytes(&bytes)?)?;
    }
    let payments = Payments::open(&m.data_dir, m.key.clone(), Terms::from_ledger(info), false)?;
    let mut node = Node::start(config).await?;
    node.enable_payments(Arc::new(payments), m.client.clone());
    node.scan().await?;
    m.handles = node.torrents().cloned().collect();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    m.stop = Some(stop);
    m.task = Some(tokio::spawn(node.run(async move {
        let _ = stopped.await;
    })));
    Ok(())
}

fn members_view(members: &[Member]) -> Vec<(String, token::Address)> {
    members
        .iter()
        .map(|m| (m.role.name.to_owned(), m.key.address()))
        .collect()
}

/// Waits for epochs `first..=last` to close, saying what each close did as it comes.
async fn watch_epochs(
    api: &HubClient,
    names: &[(String, token::Address)],
    first: u64,
    last: u64,
    epoch_secs: u64,
) -> Result<Vec<ledger::CloseSummary>> {
    let deadline = Instant::now() + Duration::from_secs((last - first + 4) * epoch_secs + 120);
    let name = |a: &token::Address| {
        names
            .iter()
            .find(|(_, x)| x == a)
            .map_or_else(|| a.to_string(), |(n, _)| n.clone())
    };
    let mut closes: Vec<ledger::CloseSummary> = Vec::new();
    let mut bar = Progress::steps("epochs closed", last - first + 1);
    loop {
        let next = closes.last().map_or(first, |c| c.epoch + 1);
        match api.close::<ledger::CloseSummary>(Some(next)).await {
            Ok(close) => {
                let paid: Vec<String> = close
                    .hosts
                    .iter()
                    .map(|h| match &h.excluded {
                        None => format!("{} {:.4}", name(&h.node), h.reward.0 as f64 / 1e18),
                        Some(_) => format!("{} nothing", name(&h.node)),
                    })
                    .collect();
                bar.say(&format!(
                    "  epoch {} closed: {:.4} minted for hosting ({}), {:.4} in fees to stakers",
                    close.epoch,
                    close.minted.0 as f64 / 1e18,
                    paid.join(", "),
                    close.fees_paid.0 as f64 / 1e18,
                ));
                closes.push(close);
                bar.update(closes.len() as u64, "");
                if next == last {
                    bar.finish("done");
                    return Ok(closes);
                }
                continue;
            }
            Err(hubapi::ClientError::Api { code, .. }) if code == "not_found" => {}
            Err(e) => return Err(e.into()),
        }
        if Instant::now() > deadline {
            bail!("epoch {next} was not closed in time: see the hub's log");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
