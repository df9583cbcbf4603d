//! A hub settling on a real anvil chain, end to end (issue 9): the contracts are deployed, members
//! stake on the chain and appear as members at the hub's tracker, a download is paid, epochs close
//! and are published, a lazy node's stake is slashed in the vault, an uploader withdraws and claims
//! on the chain, and the chain's balances reconcile with the hub's ledger.
//!
//! anvil is found as `settlement::anvil` says; without it the test skips, or fails when `CI` is set.
//!
//! The lazy node is the audits test's fake node answering with corrupt data (`Mark::Wrong`): the
//! real auditor challenges it over the peer wire and the ledger burns a share of its stake.

mod common;

use common::api_error;

use common::fake_node::{Behaviour, Content, fake_node, make_content};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address as EvmAddress, B256, U256};
use alloy::providers::DynProvider;
use audit::{Claim, HostingReport, Mark, PieceSet, TorrentLayouts};
use hubapi::{HubClient, ReportSubmission};
use ledger::chain::slash_evidence;
use ledger::{ChainContracts, Genesis, JoinPolicy, SettlementMode};
use metainfo::Version;
use settlement::anvil::{Anvil, CHAIN_ID};
use settlement::evm::{DeployParams, EvmSettlement, InitialHolder, Wallet, deploy};
use settlement::{
    BoxFuture, Cursor, EpochSettlement, Kind, Published, SentTx, Settlement, SettlementError,
};
use token::{
    Address, Amount, Domain, Join, Receipt, ReceiptOutcome, Report, SecretKey, Signed, UserTx,
    Withdraw,
};

/// The receipt session of these tests' lanes: opened when the test starts (the hub settles a
/// session's receipts for `token::SESSION_TTL_SECS` after it opened).
static SESSION: std::sync::LazyLock<[u8; 32]> =
    std::sync::LazyLock::new(|| token::session_id(token::unix_now()));

/// Challenges per node and epoch.
const SAMPLES: u32 = 8;
/// Seconds per epoch: long enough for the audits of two nodes, short enough for the test.
const EPOCH_SECS: u64 = 4;
/// What each member stakes in the vault, whole tokens.
const STAKE: u64 = 1000;

fn tokens(n: u64) -> Amount {
    Amount::tokens(n)
}

// ---- the contracts' state, read directly ----

alloy::sol! {
    #[sol(rpc)]
    interface ITokenView {
        function totalSupply() external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
    }
    #[sol(rpc)]
    interface IVaultView {
        function positions(address account) external view returns (uint256 amount, uint64 lockEnd);
        function totalStaked() external view returns (uint256);
        function slashed(bytes32 evidence) external view returns (bool);
    }
    #[sol(rpc)]
    interface IDistributorView {
        function nextEpoch() external view returns (uint64);
        function root() external view returns (bytes32);
        function claimed(address account) external view returns (uint256);
    }
}

fn evm(a: Address) -> EvmAddress {
    EvmAddress::from(a.0)
}

fn small(x: U256) -> u128 {
    u128::try_from(x).expect("fits u128")
}

struct ChainView {
    rpc: DynProvider,
    token: EvmAddress,
    vault: EvmAddress,
    distributor: EvmAddress,
}

impl ChainView {
    async fn total_supply(&self) -> Amount {
        let t = ITokenView::new(self.token, &self.rpc);
        Amount(small(t.totalSupply().call().await.unwrap()))
    }

    async fn balance_of(&self, account: EvmAddress) -> Amount {
        let t = ITokenView::new(self.token, &self.rpc);
        Amount(small(t.balanceOf(account).call().await.unwrap()))
    }

    async fn staked(&self, account: Address) -> Amount {
        let v = IVaultView::new(self.vault, &self.rpc);
        Amount(small(
            v.positions(evm(account)).call().await.unwrap().amount,
        ))
    }

    async fn total_staked(&self) -> Amount {
        let v = IVaultView::new(self.vault, &self.rpc);
        Amount(small(v.totalStaked().call().await.unwrap()))
    }

    async fn slashed(&self, evidence: [u8; 32]) -> bool {
        let v = IVaultView::new(self.vault, &self.rpc);
        v.slashed(B256::from(evidence)).call().await.unwrap()
    }

    async fn next_epoch(&self) -> u64 {
        let d = IDistributorView::new(self.distributor, &self.rpc);
        d.nextEpoch().call().await.unwrap()
    }

    async fn root(&self) -> [u8; 32] {
        let d = IDistributorView::new(self.distributor, &self.rpc);
        d.root().call().await.unwrap().0
    }

    async fn claimed(&self, account: Address) -> Amount {
        let d = IDistributorView::new(self.distributor, &self.rpc);
        Amount(small(d.claimed(evm(account)).call().await.unwrap()))
    }
}

// ---- the hub's back end, recording what it sent ----

/// The hub's `EvmSettlement`, keeping every transaction its publications sent (for their gas).
struct Recording {
    inner: EvmSettlement,
    sent: Mutex<Vec<(u64, SentTx)>>,
}

impl Settlement for Recording {
    fn kind(&self) -> Kind {
        self.inner.kind()
    }

    fn poll<'a>(
        &'a self,
        after: Option<Cursor>,
    ) -> BoxFuture<'a, Result<Option<settlement::Batch>, SettlementError>> {
        self.inner.poll(after)
    }

    fn publish<'a>(
        &'a self,
        epoch: &'a EpochSettlement,
    ) -> BoxFuture<'a, Result<Published, SettlementError>> {
        Box::pin(async move {
            let published = self.inner.publish(epoch).await?;
            self.sent.lock().unwrap().extend(
                published
                    .transactions
                    .iter()
                    .map(|t| (epoch.epoch, t.clone())),
            );
            Ok(published)
        })
    }
}

// ---- helpers over the hub's API ----

/// Polls `check` every 200 ms until it yields, failing after `limit`.
async fn until<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn hash32(text: &str) -> [u8; 32] {
    hex::decode(text.trim_start_matches("0x"))
        .unwrap()
        .try_into()
        .unwrap()
}

/// Reports `key`'s node at `endpoint` claiming every torrent whole, for the epoch after the hub's
/// current one (retrying while that epoch is not committed yet). Returns the epoch.
async fn report(
    anon: &HubClient,
    domain: &Domain,
    contents: &[Content],
    key: &SecretKey,
    endpoint: SocketAddr,
) -> u64 {
    let layouts: TorrentLayouts<'_> = contents.iter().map(|c| &c.torrent).collect();
    let started = Instant::now();
    loop {
        let epoch = anon.current_epoch().await.unwrap().current + 1;
        let hosting = HostingReport {
            node: key.address(),
            epoch,
            claims: contents
                .iter()
                .map(|c| Claim {
                    torrent: c.id(),
                    pieces: PieceSet::All,
                })
                .collect(),
        };
        let tx = Report {
            node: key.address(),
            epoch,
            report_hash: hosting.hash(),
            claimed_bytes: hosting.claimed_bytes(&layouts).unwrap(),
            endpoint: endpoint.to_string(),
            location: String::new(),
            nonce: anon.account(&key.address()).await.unwrap().nonce,
        };
        let submission = ReportSubmission {
            tx: Signed::<UserTx>::sign(domain, key, UserTx::Report(tx)),
            report: hosting,
        };
        match anon.submit_report(&submission).await {
            Ok(_) => return epoch,
            Err(e) => {
                let (status, code, message) = api_error(e);
                let retry =
                    code == "bad_epoch" || (code == "bad_report" && message.contains("next two"));
                assert!(retry, "report refused: {status} {code}: {message}");
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "the hub never took the report: {code}: {message}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn sum(values: impl IntoIterator<Item = Amount>) -> Amount {
    values
        .into_iter()
        .try_fold(Amount::ZERO, Amount::checked_add)
        .expect("no overflow")
}

fn plus(a: Amount, b: Amount) -> Amount {
    a.checked_add(b).expect("no overflow")
}

fn minus(a: Amount, b: Amount) -> Amount {
    a.checked_sub(b).expect("no underflow")
}

// ---- the test ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_settles_on_anvil_end_to_end() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let t0 = Instant::now();
    let Some(anvil) = Anvil::start_or_skip(1).await else {
        return;
    };

    // Deploy: the operator (anvil's funded account 0) holds the initial supply.
    // anvil's first funded account deploys and operates.
    let operator = settlement::anvil::key(0);
    let initial_supply = tokens(1_000_000);
    let deployment = deploy(
        &anvil.url,
        CHAIN_ID,
        &operator,
        &DeployParams {
            name: "VIDYA".into(),
            symbol: "VIDYA".into(),
            cap: tokens(10_000_000).0,
            annual_bps: 500,
            initial_holder: InitialHolder::Account(operator.address()),
            initial_supply: initial_supply.0,
            max_lock_secs: 365 * 86_400,
            alpha_wad: 1_000_000_000_000_000_000,
        },
    )
    .await
    .unwrap();
    let chain = ChainView {
        rpc: anvil.rpc.clone(),
        token: evm(deployment.token),
        vault: evm(deployment.vault),
        distributor: evm(deployment.distributor),
    };
    let evm_config = settlement::evm::EvmConfig {
        confirmations: 1,
        ..deployment.config(&anvil.url, CHAIN_ID)
    };

    // Members: a seeder (uploads, hosts honestly), a lazy node, a leecher (downloads, pays).
    let names = ["seeder", "lazy", "leecher"];
    let keys: Vec<SecretKey> = names.iter().map(|_| SecretKey::generate()).collect();
    let (seeder, lazy, leecher) = (keys[0].clone(), keys[1].clone(), keys[2].clone());
    let treasury = Wallet::connect(&evm_config, &operator).await.unwrap();
    let mut wallets = Vec::new();
    for key in &keys {
        anvil.fund(key.address()).await;
        treasury
            .transfer(key.address(), tokens(2 * STAKE))
            .await
            .unwrap();
        wallets.push(Wallet::connect(&evm_config, key).await.unwrap());
    }

    // Genesis: settles on this deployment; joining is staking (buy-in); short epochs; no
    // allocations (the tokens are on the chain). A price high enough that a small download
    // costs about a token.
    let dir = tempfile::tempdir().unwrap();
    let mut genesis = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
    genesis.settlement = SettlementMode::Evm;
    genesis.chain = Some(ChainContracts {
        token: deployment.token,
        vault: deployment.vault,
        distributor: deployment.distributor,
        deploy_block: deployment.block,
    });
    genesis.chain_id = CHAIN_ID;
    genesis.join = JoinPolicy::BuyIn;
    genesis.epoch_secs = EPOCH_SECS;
    genesis.audit_deadline_secs = 1;
    genesis.audit_samples = SAMPLES;
    genesis.price_per_gib = tokens(10_000);
    genesis.allocations.clear();
    let config = common::config(dir.path());
    let ledger_path = config.ledger_path();
    ledger::Ledger::create(&ledger_path, &genesis, operator.clone()).unwrap();
    let recording = Arc::new(Recording {
        inner: EvmSettlement::connect(evm_config.clone(), operator.clone())
            .await
            .unwrap(),
        sent: Mutex::new(Vec::new()),
    });
    let hub = hub::Hub::open_with_ledger(config, operator.clone())
        .unwrap()
        .with_settlement(Arc::clone(&recording) as Arc<dyn Settlement>)
        .unwrap();
    let hub = common::serve(hub).await;
    let anon = HubClient::new(&hub.url()).unwrap();
    let info = anon.ledger().await.unwrap();
    let domain = info.domain.clone();
    eprintln!(
        "deployed and hub up: {:.1?} (token {}, vault {}, distributor {}, block {})",
        t0.elapsed(),
        deployment.token,
        deployment.vault,
        deployment.distributor,
        deployment.block
    );

    // Members stake on the chain; the leecher also deposits spending money.
    let lock_end = anvil.now().await + 30 * 86_400;
    for (wallet, name) in wallets.iter().zip(names) {
        let sent = wallet.stake(tokens(STAKE), lock_end).await.unwrap();
        eprintln!(
            "gas: {name} approve {}, stake {}",
            sent[0].gas_used,
            sent.last().unwrap().gas_used
        );
    }
    let deposit = tokens(50);
    let sent = wallets[2].deposit(deposit).await.unwrap();
    eprintln!(
        "gas: deposit {} (approve {})",
        sent.last().unwrap().gas_used,
        sent[0].gas_used
    );
    anvil.mine(1).await; // confirmations = 1
    for key in &keys {
        let a = key.address();
        let account = until("the stakes at the hub", Duration::from_secs(10), || {
            let anon = &anon;
            async move {
                let account = anon.account(&a).await.ok()?;
                (account.stake == tokens(STAKE)).then_some(account)
            }
        })
        .await;
        assert_eq!(account.lock_until, lock_end);
        assert!(!account.active, "staked but not joined: no member yet");
        assert!(account.member.is_none());
    }
    let l = leecher.address();
    until("the deposit at the hub", Duration::from_secs(10), || {
        let anon = &anon;
        async move { (anon.account(&l).await.ok()?.balance == deposit).then_some(()) }
    })
    .await;

    // They join (buy-in: the stake is enough) and become members at the tracker.
    let mut clients = Vec::new();
    let mut passkeys = Vec::new();
    for (key, name) in keys.iter().zip(names) {
        let join = Signed::<UserTx>::sign(
            &domain,
            key,
            UserTx::Join(Join {
                account: key.address(),
                name: name.into(),
                nonce: anon.account(&key.address()).await.unwrap().nonce,
            }),
        );
        let submitted = anon.submit(&join).await.unwrap();
        let passkey = submitted.passkey.expect("a join answers with the passkey");
        let stored = {
            let store = hub::open_store(dir.path()).unwrap();
            let row = store
                .members_since(0)
                .unwrap()
                .into_iter()
                .find(|m| m.name == name)
                .expect("the tracker knows the member");
            tracker::request::passkey_to_string(&row.passkey)
        };
        assert_eq!(stored, passkey);
        passkeys.push(passkey.clone());
        let client = anon.clone().with_passkey(Some(passkey));
        assert_eq!(client.me().await.unwrap().name, name);
        let account = anon.account(&key.address()).await.unwrap();
        assert!(account.active, "{name}: {account:?}");
        assert_eq!(account.member.as_deref(), Some(name));
        clients.push(client);
    }
    eprintln!("members joined: {:.1?}", t0.elapsed());

    // The seeder publishes two torrents; the leecher announces with its passkey.
    let data = dir.path().join("data");
    let contents = Arc::new(vec![
        make_content(
            &data,
            "hybrid",
            Version::Hybrid,
            32 * 1024,
            &[("a.bin", 70 * 1024 + 123), ("b.bin", 40 * 1024)],
            1,
        ),
        make_content(
            &data,
            "v1",
            Version::V1,
            32 * 1024,
            &[("v1.bin", 150 * 1024 + 77)],
            2,
        ),
    ]);
    for (i, c) in contents.iter().enumerate() {
        clients[0]
            .publish(c.bytes.clone(), &format!("game {i}"), "games", "")
            .await
            .unwrap();
    }
    let hybrid = &contents[0];
    let v1_hash = hybrid.torrent.hashes.v1.expect("hybrid has a v1 hash");
    let target = common::announce_target(
        &passkeys[2],
        &v1_hash,
        b"-LE0001-leecher00000",
        (0, 0, hybrid.torrent.info.data_length()),
        "started",
    );
    let addr = hub.addr;
    let (status, body) = tokio::task::spawn_blocking(move || common::http_get(addr, &target))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        !common::is_failure(&body),
        "the member announces: {}",
        String::from_utf8_lossy(&body)
    );

    // A paid download: the leecher's signed receipt for the seeder's upload.
    let (s, l) = (seeder.address(), leecher.address());
    let seeder_before = anon.account(&s).await.unwrap().balance;
    let bytes = hybrid.torrent.info.data_length();
    let receipt = Signed::<Receipt>::sign(
        &domain,
        &leecher,
        Receipt {
            collective: domain.verifying_contract,
            torrent: hybrid.id(),
            uploader: s,
            downloader: l,
            session: *SESSION,
            bytes,
        },
    );
    let results = anon.settle(vec![receipt]).await.unwrap();
    assert!(
        matches!(results.outcomes[..], [ReceiptOutcome::Settled { .. }]),
        "{:?}",
        results.outcomes
    );
    let charged = minus(deposit, anon.account(&l).await.unwrap().balance);
    let earned = minus(anon.account(&s).await.unwrap().balance, seeder_before);
    let bps = u128::from(info.fee_bps);
    let fee = charged.0 / 10_000 * bps + charged.0 % 10_000 * bps / 10_000;
    assert!(charged > Amount::ZERO);
    assert_eq!(
        earned,
        Amount(charged.0 - fee),
        "the uploader earns less the fee"
    );
    eprintln!("download of {bytes} bytes: leecher paid {charged}, seeder earned {earned}");

    // Hosting: the seeder hosts honestly, the lazy node reports the same data but answers the
    // auditor's challenges with wrong bytes.
    let honest = fake_node(
        seeder.clone(),
        domain.clone(),
        Behaviour::Honest,
        Arc::clone(&contents),
    )
    .await;
    let lazy_node = fake_node(
        lazy.clone(),
        domain.clone(),
        Behaviour::Corrupt,
        Arc::clone(&contents),
    )
    .await;
    let z = lazy.address();
    let burned_before = anon.ledger().await.unwrap().burned;
    let e_seeder = report(&anon, &domain, &contents, &seeder, honest.addr).await;
    let e_lazy = report(&anon, &domain, &contents, &lazy, lazy_node.addr).await;
    let limit = Duration::from_secs(4 * EPOCH_SECS + 20);
    for e in [e_seeder, e_lazy] {
        until("the epoch's audits", limit, || {
            let anon = &anon;
            async move { anon.epoch(e).await.ok()?.audited.then_some(()) }
        })
        .await;
    }
    let marks = |records: Vec<hubapi::AuditRecord>, node: Address| -> Vec<Mark> {
        records
            .into_iter()
            .filter(|r| r.node == node)
            .map(|r| r.mark)
            .collect()
    };
    let seeder_marks = marks(anon.epoch_audits(e_seeder).await.unwrap(), s);
    assert!(
        !seeder_marks.is_empty() && seeder_marks.iter().all(|m| *m == Mark::Pass),
        "{seeder_marks:?}"
    );
    let lazy_marks = marks(anon.epoch_audits(e_lazy).await.unwrap(), z);
    assert!(
        !lazy_marks.is_empty() && lazy_marks.iter().all(|m| *m == Mark::Wrong),
        "{lazy_marks:?}"
    );
    // The ledger burned a share of its stake (it had no vesting) and queued the slash.
    // The ledger burned the wrong-data share of its stake (it had no vesting) and queued the
    // slash (later epochs of its report in force may burn more).
    let burn = Amount(tokens(STAKE).0 / 10_000 * u128::from(genesis.wrong_data_burn_bps));
    assert!(minus(anon.ledger().await.unwrap().burned, burned_before) >= burn);
    assert!(anon.account(&z).await.unwrap().stake <= minus(tokens(STAKE), burn));
    let evidence = slash_evidence(&z, e_lazy);
    eprintln!(
        "audited: seeder {} passes (epoch {e_seeder}), lazy {} wrong (epoch {e_lazy}), burn {burn}: {:.1?}",
        seeder_marks.len(),
        lazy_marks.len(),
        t0.elapsed()
    );

    // The epoch closes; the hub publishes its root and the slash.
    until("the close of the lazy epoch on the chain", limit, || {
        let chain = &chain;
        async move {
            (chain.next_epoch().await > e_lazy && chain.slashed(evidence).await).then_some(())
        }
    })
    .await;
    let on_chain = chain.staked(z).await;
    let at_hub = anon.account(&z).await.unwrap().stake;
    assert!(
        on_chain <= minus(tokens(STAKE), burn) && on_chain >= at_hub,
        "the vault slashed the lazy node: {on_chain} on the chain, {at_hub} at the hub, burn {burn}"
    );
    // The chain's root is the ledger's earnings root of the same close.
    let (root_epoch, root) = until("the chain's root = the hub's", limit, || {
        let (anon, chain) = (&anon, &chain);
        async move {
            let earnings = anon.earnings(&s).await.ok()?;
            let epoch = earnings.epoch?;
            let root = hash32(&earnings.root);
            (chain.next_epoch().await == epoch + 1 && chain.root().await == root)
                .then_some((epoch, root))
        }
    })
    .await;
    eprintln!(
        "published: epoch {root_epoch} root 0x{} on the chain; lazy stake {on_chain} on the chain: {:.1?}",
        hex::encode(root),
        t0.elapsed()
    );

    // The seeder withdraws all it holds at the hub; the next close publishes it in the root.
    let seeder_account = anon.account(&s).await.unwrap();
    let withdrawn = seeder_account.balance;
    assert!(withdrawn >= earned, "{withdrawn} < {earned}");
    let before_epoch = anon.earnings(&s).await.unwrap().epoch;
    anon.submit(&Signed::<UserTx>::sign(
        &domain,
        &seeder,
        UserTx::Withdraw(Withdraw {
            account: s,
            amount: withdrawn,
            nonce: seeder_account.nonce,
        }),
    ))
    .await
    .unwrap();
    let earnings = until("the withdrawal in a posted root", limit, || {
        let (anon, chain) = (&anon, &chain);
        async move {
            let earnings = anon.earnings(&s).await.ok()?;
            let epoch = earnings.epoch?;
            (earnings.cumulative == withdrawn
                && before_epoch.is_none_or(|b| epoch > b)
                && chain.next_epoch().await > epoch
                && chain.root().await == hash32(&earnings.root))
            .then_some(earnings)
        }
    })
    .await;
    let proof: Vec<[u8; 32]> = earnings.proof.iter().map(|p| hash32(p)).collect();
    let wallet_before = wallets[0].balance(s).await.unwrap().wallet;
    let claim = wallets[0]
        .claim(s, earnings.cumulative, &proof)
        .await
        .unwrap();
    let after = wallets[0].balance(s).await.unwrap();
    assert_eq!(after.wallet, plus(wallet_before, withdrawn));
    assert_eq!(after.claimed, withdrawn);
    eprintln!(
        "claimed {withdrawn} on the chain (epoch {:?}): {:.1?}",
        earnings.epoch,
        t0.elapsed()
    );
    eprintln!("gas: claim {}", claim.gas_used);

    // Stop, then reconcile the chain with the hub's ledger.
    drop((honest, lazy_node, clients, anon));
    hub.stop().await;
    let stopped = Instant::now();
    let ledger = loop {
        match ledger::Ledger::open(&ledger_path, operator.clone()) {
            Ok((ledger, _)) => break ledger,
            Err(ledger::LedgerError::Busy(why)) if stopped.elapsed() < Duration::from_secs(10) => {
                let _ = why;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the stopped hub's ledger: {e}"),
        }
    };
    eprintln!(
        "ledger reopened {:.1?} after the hub stopped",
        stopped.elapsed()
    );
    let (book, supply, earnings_root, lazy_stake) = {
        let state = ledger.state();
        (
            state.chain().expect("settles on the chain").clone(),
            state.supply(),
            state.economy().earnings_root,
            state.account(&z).stake,
        )
    };
    // The last close may have come after the hub's last publication: publish it as a restarted
    // hub would (idempotent).
    if let Some(last) = &book.last_settlement {
        let epoch = hub::settlement_of(last);
        let done = recording.publish(&epoch).await.unwrap();
        eprintln!(
            "last close {}: {}",
            last.epoch,
            if done.already_published {
                "already published by the hub"
            } else {
                "published after the hub stopped"
            }
        );
        assert_eq!(chain.next_epoch().await, last.epoch + 1);
        assert_eq!(chain.root().await, last.root);
        assert_eq!(last.root, earnings_root);
    }
    // What the ledger did since its last close is not on the chain yet.
    let pending_slashes = sum(book.pending_slashes.iter().map(|x| x.amount));
    let pending_burn = book.pending_burn;
    let withdrawals = plus(
        sum(book.withdrawn.values().copied()),
        sum(book.pending_withdrawals.values().copied()),
    );
    let claimed = chain.claimed(s).await;
    assert_eq!(claimed, withdrawn);
    let custody = [supply.vesting, supply.stakers_pool, supply.pools]
        .into_iter()
        .fold(supply.balances, plus);
    eprintln!(
        "ledger: minted {} burned {} entered {} left {}; balances {} stakes {} vesting {} stakers_pool {} pools {}; \
         withdrawn {withdrawals}, claimed {claimed}; pending burn {pending_burn}, pending slashes {pending_slashes}",
        supply.minted,
        supply.burned,
        supply.entered,
        supply.left,
        supply.balances,
        supply.stakes,
        supply.vesting,
        supply.stakers_pool,
        supply.pools
    );
    assert!(supply.minted > Amount::ZERO, "the honest host was paid");
    assert_eq!(
        chain.total_staked().await,
        plus(supply.stakes, pending_slashes),
        "the vault holds the ledger's stakes"
    );
    assert_eq!(
        chain.staked(z).await,
        plus(
            lazy_stake,
            sum(book
                .pending_slashes
                .iter()
                .filter(|x| x.account == z)
                .map(|x| x.amount))
        )
    );
    assert_eq!(
        chain.balance_of(chain.distributor).await,
        plus(minus(plus(custody, withdrawals), claimed), pending_burn),
        "the distributor holds the hub's liquid tokens and the unclaimed withdrawals"
    );
    assert_eq!(
        chain.total_supply().await,
        plus(
            minus(plus(initial_supply, supply.minted), supply.burned),
            plus(pending_burn, pending_slashes)
        ),
        "the token's supply moved as the ledger minted and burned"
    );

    let sent = recording.sent.lock().unwrap().clone();
    for (epoch, tx) in &sent {
        let kind = if tx.what.starts_with("postRoot") {
            "root post"
        } else {
            "slash"
        };
        eprintln!("gas: {kind} {} (epoch {epoch})", tx.gas_used);
    }
    assert!(sent.iter().any(|(_, t)| t.what.starts_with("slash")));
    assert!(sent.iter().any(|(_, t)| t.what.starts_with("postRoot")));
    eprintln!("a_hub_settles_on_anvil_end_to_end: {:.1?}", t0.elapsed());
}
