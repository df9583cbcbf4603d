//! `seedbank wallet`: a member's key in an Ethereum v3 keystore, and the transactions it signs.
//! Every transaction is EIP-712 typed data in the collective's domain (fetched from the hub), so
//! the signature is worthless to any other collective or chain.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hubapi::views::SignIn;
use hubapi::{HubClient, LedgerInfo};
use settlement::evm::{EvmConfig, Wallet};
use token::keystore::{self, Strength};
use token::siwe::SiweMessage;
use token::{
    Address, Amount, Invite, Join, SecretKey, Signed, Sponsor, Stake, Transfer, Unstake, UserTx,
    Withdraw,
};

use crate::secret;

pub const PASSWORD_ENV: &str = "SEEDBANK_PASSWORD";

#[derive(Args)]
pub struct WalletArgs {
    #[command(subcommand)]
    action: WalletAction,
    /// The keystore file (default $SEEDBANK_WALLET, else ~/.seedbank/wallet.json).
    #[arg(long, global = true, env = "SEEDBANK_WALLET")]
    wallet: Option<PathBuf>,
    /// The collective's hub.
    #[arg(
        long,
        global = true,
        env = "SEEDBANK_HUB",
        default_value = "http://127.0.0.1:7800"
    )]
    hub: String,
    /// For a collective that settles on an EVM chain: `--chain FILE` names its contracts (a TOML
    /// with `[chain]` token/vault/distributor/deploy_block, `chain_id` and optionally `rpc_url`;
    /// the genesis `seedbank chain deploy` wrote will do) and `--rpc-url` (or $SEEDBANK_RPC_URL)
    /// the endpoint. Then balance, stake and unstake act on the chain, and deposit and claim work.
    #[command(flatten)]
    chain: crate::chain_cmd::ChainSource,
}

#[derive(Subcommand)]
enum WalletAction {
    /// Make a new key and save it, encrypted with a password ($SEEDBANK_PASSWORD or a prompt).
    New {
        /// A cheap scrypt cost: for tests and demos, never for keys that hold anything.
        #[arg(long, hide = true)]
        light: bool,
    },
    /// Import a key: a v3 keystore from another wallet, or a raw private key (hex) read from stdin.
    Import {
        /// A v3 keystore file (MetaMask, geth, ethers...); it is checked with its password, then copied.
        #[arg(long, conflicts_with = "stdin")]
        keystore: Option<PathBuf>,
        /// Read a hex private key from standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Print the wallet's address.
    Address,
    /// Balance, stake and membership of the wallet (or of ADDRESS); with --chain, also what it
    /// holds on the chain: tokens, stake and lock end, earnings claimed.
    Balance { address: Option<Address> },
    /// Send tokens.
    Transfer { to: Address, amount: Amount },
    /// Lock tokens as stake for DAYS days (membership needs the collective's minimum). With
    /// --chain: approves and stakes in the vault (the hub follows it).
    Stake {
        amount: Amount,
        #[arg(long)]
        days: u64,
    },
    /// Unlock staked tokens after their lock ended (with --chain: from the vault).
    Unstake { amount: Amount },
    /// Move AMOUNT of your tokens on the chain into the distributor, spendable at the hub once it
    /// has followed the deposit (needs --chain).
    Deposit { amount: Amount },
    /// Ask the hub to pay AMOUNT of your hub balance out on the chain: it becomes claimable after
    /// the next epoch close (then `wallet claim`). Only for a collective on a chain.
    Withdraw { amount: Amount },
    /// Claim on the chain what the hub's last published root owes you (your cumulative earnings
    /// and withdrawals, with their proof from the hub; needs --chain).
    Claim,
    /// Let ADDRESS join (you must be a member in good standing).
    Invite { address: Address },
    /// Become the member NAME (needs the minimum stake, and an invitation where required); prints
    /// the passkey.
    Join { name: String },
    /// Deposit AMOUNT into the hosting pool of a torrent (its index name or id), paid out to its
    /// verified hosts over EPOCHS epoch closes on top of inflation.
    Sponsor {
        torrent: String,
        amount: Amount,
        #[arg(long, default_value_t = 24)]
        epochs: u64,
    },
    /// The wallet's (or ADDRESS's) cumulative earnings and their Merkle proof in the last close's
    /// root (OpenZeppelin StandardMerkleTree of (address, uint256)), for a distributor contract.
    Proof { address: Option<Address> },
    /// Sign in to the collective's web site with the wallet's key (Sign-In with Ethereum): prints a
    /// one-time link that opens a signed-in session in a browser.
    #[command(name = "sign-in")]
    SignIn {
        /// The site (default: --hub).
        url: Option<String>,
    },
    /// Transactions touching the wallet, newest first.
    History {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// Writes and signs the EIP-4361 message the hub asks for, and prints the browser link it returns.
async fn sign_in(client: &HubClient, path: &std::path::Path) -> Result<()> {
    let key = secret::load_key(path, PASSWORD_ENV)?;
    let signed = sign_in_with(client, &key).await?;
    eprintln!(
        "signed in as {} ({}); open this link in a browser within 5 minutes (it works once):",
        signed.name, signed.address
    );
    println!("{}", signed.link);
    Ok(())
}

/// Signs in to the site behind `client` with `key`.
pub async fn sign_in_with(client: &HubClient, key: &SecretKey) -> Result<hubapi::views::SignedIn> {
    let challenge = client
        .auth_nonce()
        .await
        .context("asking the site for a sign-in nonce")?;
    // Sign only for the site the member named: a hub that hands out another site's domain, URI
    // or chain would be asking for a signature to replay there.
    let base = client.base_url();
    let authority = base.strip_prefix("http://").unwrap_or(&base);
    if challenge.domain != authority {
        bail!(
            "{base} asks for a sign-in to {:?}, not to itself: refusing to sign",
            challenge.domain
        );
    }
    if challenge.uri != base && !challenge.uri.starts_with(&format!("{base}/")) {
        bail!(
            "{base} asks for a sign-in to {:?}: refusing to sign",
            challenge.uri
        );
    }
    let chain_id = client
        .ledger()
        .await
        .context("asking the site for its ledger")?
        .domain
        .chain_id;
    if challenge.chain_id != chain_id {
        bail!(
            "{base} asks for a sign-in on chain {}, but its ledger is on chain {chain_id}: refusing to sign",
            challenge.chain_id
        );
    }
    eprintln!("signing in to {authority} (chain {chain_id})");
    let message = SiweMessage {
        domain: challenge.domain,
        address: key.address(),
        statement: Some(challenge.statement),
        uri: challenge.uri,
        version: "1".into(),
        chain_id: challenge.chain_id,
        nonce: challenge.nonce,
        issued_at: hub::unix_now(),
        expiration_time: Some(challenge.expires),
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    }
    .to_text();
    let signature = token::siwe::sign_personal(key, message.as_bytes());
    client
        .sign_in(&SignIn {
            message,
            signature: format!("0x{}", hex::encode(signature.0)),
        })
        .await
        .context("signing in")
}

fn wallet_path(args: &WalletArgs) -> Result<PathBuf> {
    if let Some(p) = &args.wallet {
        return Ok(p.clone());
    }
    let home = std::env::var_os("HOME").context("set --wallet or $SEEDBANK_WALLET (no $HOME)")?;
    Ok(PathBuf::from(home).join(".seedbank").join("wallet.json"))
}

pub fn run(args: WalletArgs) -> Result<()> {
    let path = wallet_path(&args)?;
    match &args.action {
        WalletAction::New { light } => {
            let key = SecretKey::generate();
            let password = secret::password(PASSWORD_ENV, "new wallet password", true)?;
            let strength = if *light {
                Strength::Light
            } else {
                Strength::Standard
            };
            secret::save_key(&path, &key, &password, strength)?;
            println!("{}", key.address());
            eprintln!(
                "new wallet saved to {} — back it up; the password cannot be recovered",
                path.display()
            );
            return Ok(());
        }
        WalletAction::Import {
            keystore: Some(file),
            ..
        } => {
            let key = secret::load_key(file, PASSWORD_ENV)?;
            let json = std::fs::read_to_string(file)?;
            if path.exists() {
                bail!(
                    "{} already exists; refusing to overwrite a key",
                    path.display()
                );
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, json)?;
            println!("{}", key.address());
            return Ok(());
        }
        WalletAction::Import { stdin, .. } => {
            if !stdin {
                bail!(
                    "give --keystore FILE, or --stdin with the hex private key on standard input"
                );
            }
            let mut line = zeroize::Zeroizing::new(String::new());
            std::io::stdin().read_line(&mut line)?;
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            let hex_key = line.trim();
            hex::decode_to_slice(
                hex_key.strip_prefix("0x").unwrap_or(hex_key),
                &mut bytes[..],
            )
            .context("a private key is 64 hex digits")?;
            let key = SecretKey::from_bytes(&bytes)?;
            let password = secret::password(PASSWORD_ENV, "new wallet password", true)?;
            secret::save_key(&path, &key, &password, Strength::Standard)?;
            println!("{}", key.address());
            return Ok(());
        }
        WalletAction::Address => {
            let json = std::fs::read_to_string(&path).with_context(|| {
                format!("no wallet at {} (seedbank wallet new)", path.display())
            })?;
            println!("{}", keystore::address_of(&json)?);
            return Ok(());
        }
        _ => {}
    }
    let base = match &args.action {
        WalletAction::SignIn { url: Some(url) } => url.as_str(),
        _ => args.hub.as_str(),
    };
    let client = HubClient::new(base)?;
    let chain = args.chain.config()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if let Some(chain) = &chain
            && on_chain(&client, chain, &path, &args.action).await?
        {
            return Ok(());
        }
        online(&client, &path, args.action).await
    })
}

fn own_address(path: &std::path::Path) -> Result<Address> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("no wallet at {} (seedbank wallet new)", path.display()))?;
    Ok(keystore::address_of(&json)?)
}

fn print_sent(sent: &[settlement::SentTx]) {
    for tx in sent {
        eprintln!(
            "{}: transaction 0x{} (gas {})",
            tx.what,
            hex::encode(tx.hash),
            tx.gas_used
        );
    }
}

/// The actions that act on the collective's chain; false for the others (they go to the hub).
async fn on_chain(
    client: &HubClient,
    chain: &EvmConfig,
    path: &std::path::Path,
    action: &WalletAction,
) -> Result<bool> {
    let connect = |key: SecretKey| async move {
        eprintln!(
            "connecting to chain {} at {} ...",
            chain.chain_id, chain.rpc_url
        );
        Wallet::connect(chain, &key)
            .await
            .context("connecting to the collective's chain")
    };
    match action {
        WalletAction::Balance { address } => {
            let address = match address {
                Some(a) => *a,
                None => own_address(path)?,
            };
            // Reading needs no signature: a throwaway key connects.
            let wallet = connect(SecretKey::generate()).await?;
            let b = wallet.balance(address).await?;
            // The hub's side (spendable there, membership), when it answers.
            let symbol = match client.ledger().await {
                Ok(info) => info.symbol,
                Err(e) => {
                    eprintln!("(the hub does not answer: {e})");
                    "tokens".into()
                }
            };
            println!("account  {address}");
            println!("chain    {} (chain {})", chain.rpc_url, chain.chain_id);
            println!("wallet   {} {symbol}", b.wallet);
            println!(
                "staked   {} {symbol}{}",
                b.staked,
                match b.lock_end {
                    0 => String::new(),
                    end => format!(" (lock ends at unix {end}){}", lock_note(end)),
                }
            );
            println!("claimed  {} {symbol}", b.claimed);
            if let Ok(a) = client.account(&address).await {
                println!("at hub   {} {symbol} spendable", a.balance);
                match &a.member {
                    Some(name) if a.active => println!("member   {name} (active)"),
                    Some(name) => println!("member   {name} (suspended)"),
                    None => println!("member   no"),
                }
            }
        }
        WalletAction::Stake { amount, days } => {
            let wallet = connect(secret::load_key(path, PASSWORD_ENV)?).await?;
            let lock_end = hub::unix_now() + days.saturating_mul(86_400);
            print_sent(&wallet.stake(*amount, lock_end).await?);
            eprintln!("staked {amount} until {lock_end}; the hub applies it once confirmed");
        }
        WalletAction::Unstake { amount } => {
            let wallet = connect(secret::load_key(path, PASSWORD_ENV)?).await?;
            print_sent(&[wallet.unstake(*amount).await?]);
        }
        WalletAction::Deposit { amount } => {
            let wallet = connect(secret::load_key(path, PASSWORD_ENV)?).await?;
            print_sent(&wallet.deposit(*amount).await?);
            eprintln!("deposited {amount}; spendable at the hub once it has followed the deposit");
        }
        WalletAction::Claim => {
            let key = secret::load_key(path, PASSWORD_ENV)?;
            let me = key.address();
            let earned = client
                .earnings(&me)
                .await
                .context("asking the hub for your earnings and proof")?;
            let wallet = connect(key).await?;
            let claimed = wallet.balance(me).await?.claimed;
            if earned.cumulative <= claimed {
                println!(
                    "nothing to claim: {claimed} claimed of {} owed",
                    earned.cumulative
                );
                return Ok(true);
            }
            let proof = earned
                .proof
                .iter()
                .map(|h| token::parse_hash(h).map_err(anyhow::Error::msg))
                .collect::<Result<Vec<_>>>()
                .context("the hub's proof")?;
            let sent = wallet
                .claim(me, earned.cumulative, &proof)
                .await
                .context("claiming (has the hub published its last close to the chain yet?)")?;
            print_sent(&[sent]);
            println!(
                "claimed {} (cumulative {})",
                Amount(earned.cumulative.0 - claimed.0),
                earned.cumulative
            );
        }
        _ => return Ok(false),
    }
    Ok(true)
}

async fn online(client: &HubClient, path: &std::path::Path, action: WalletAction) -> Result<()> {
    if matches!(action, WalletAction::Deposit { .. } | WalletAction::Claim) {
        bail!(
            "deposit and claim act on the collective's chain: give --chain FILE and --rpc-url \
             (or $SEEDBANK_CHAIN and $SEEDBANK_RPC_URL)"
        );
    }
    let info = client
        .ledger()
        .await
        .context("asking the hub for its ledger")?;
    let tx = match action {
        WalletAction::Balance { address } => {
            let address = match address {
                Some(a) => a,
                None => own_address(path)?,
            };
            let a = client.account(&address).await?;
            let symbol = &info.symbol;
            println!("account  {}", a.address);
            println!("balance  {} {symbol}", a.balance);
            println!("staked   {} {symbol}{}", a.stake, lock_note(a.lock_until));
            match &a.member {
                Some(name) if a.active => println!("member   {name} (active)"),
                Some(name) => println!(
                    "member   {name} (suspended: stake below the minimum of {} {symbol})",
                    info.min_stake
                ),
                None => println!("member   no"),
            }
            return Ok(());
        }
        WalletAction::Proof { address } => {
            let address = match address {
                Some(a) => a,
                None => own_address(path)?,
            };
            let e = client.earnings(&address).await?;
            let Some(epoch) = e.epoch else {
                bail!("no epoch has been closed yet: nothing has been earned");
            };
            println!("account     {}", e.address);
            println!("epoch       {epoch}");
            println!(
                "cumulative  {} {} ({} base units)",
                e.cumulative, info.symbol, e.cumulative.0
            );
            println!("vesting     {} {}", e.vesting, info.symbol);
            println!("root        {}", e.root);
            if e.proof.is_empty() && e.cumulative == Amount::ZERO {
                println!("proof       none: this account has earned nothing");
            } else {
                println!("proof       [{}]", e.proof.join(", "));
            }
            return Ok(());
        }
        WalletAction::SignIn { .. } => return sign_in(client, path).await,
        WalletAction::History { limit } => {
            let address = own_address(path)?;
            for e in client.history(&address, limit).await? {
                println!("#{:<8} {}  {}", e.seq, e.time, e.tx);
            }
            return Ok(());
        }
        other => other,
    };
    let key = secret::load_key(path, PASSWORD_ENV)?;
    let me = key.address();
    let nonce = client.account(&me).await?.nonce;
    let tx = match tx {
        WalletAction::Transfer { to, amount } => UserTx::Transfer(Transfer {
            from: me,
            to,
            amount,
            nonce,
        }),
        WalletAction::Stake { amount, days } => {
            let lock_until = hub::unix_now() + days.saturating_mul(86_400);
            UserTx::Stake(Stake {
                account: me,
                amount,
                lock_until,
                nonce,
            })
        }
        WalletAction::Unstake { amount } => UserTx::Unstake(Unstake {
            account: me,
            amount,
            nonce,
        }),
        WalletAction::Withdraw { amount } => UserTx::Withdraw(Withdraw {
            account: me,
            amount,
            nonce,
        }),
        WalletAction::Invite { address } => UserTx::Invite(Invite {
            inviter: me,
            invitee: address,
            nonce,
        }),
        WalletAction::Join { name } => UserTx::Join(Join {
            account: me,
            name,
            nonce,
        }),
        WalletAction::Sponsor {
            torrent,
            amount,
            epochs,
        } => {
            let entry = match torrent.parse::<u32>() {
                Ok(id) => client.torrent(id).await?.summary,
                Err(_) => client.torrent_named(&torrent).await?,
            };
            let key = entry
                .ledger_id()
                .with_context(|| format!("{} has no info-hash", entry.name))?;
            eprintln!(
                "sponsoring {:?}: {amount} {} over {epochs} epochs",
                entry.name, info.symbol
            );
            UserTx::Sponsor(Sponsor {
                sponsor: me,
                torrent: key,
                amount,
                epochs,
                nonce,
            })
        }
        _ => unreachable!("handled above"),
    };
    submit(client, &info, &key, tx).await
}

async fn submit(client: &HubClient, info: &LedgerInfo, key: &SecretKey, tx: UserTx) -> Result<()> {
    let signed = Signed::<UserTx>::sign(&info.domain, key, tx);
    let done = client.submit(&signed).await?;
    eprintln!("committed as entry #{} (0x{})", done.seq, done.hash);
    if let Some(passkey) = done.passkey {
        println!("{passkey}");
        eprintln!("welcome: this is your passkey (your tracker and API key); keep it private");
    }
    Ok(())
}

fn lock_note(lock_until: u64) -> String {
    let now = hub::unix_now();
    if lock_until > now {
        format!(
            " (locked for {} more days)",
            (lock_until - now).div_ceil(86_400)
        )
    } else {
        String::new()
    }
}
