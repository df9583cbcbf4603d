//! EVM settlement as the ledger sees it: what the chain did, mirrored; what the chain must do, queued.
//!
//! A collective with `settlement = "evm"` keeps its tokens on an EVM chain: liquid tokens that members
//! deposited into the distributor contract (and every reward, fee share and pool paid from them) are in
//! the distributor's custody; stakes are in the vault. The ledger stays the accounting engine — the
//! same rules, receipts, audits and closes as embedded — with three differences:
//! - tokens enter the hub's books only through [`SystemTx::Chain`](crate::tx::SystemTx::Chain) entries,
//!   the confirmed `Deposited`/`Staked`/`Unstaked` events of the contracts named in genesis, in chain
//!   order, each once (the entry carries the block it reaches, and the next must start after it);
//! - tokens leave by `Withdraw` (into the account's cumulative withdrawals, the leaves of the
//!   distributor's Merkle tree), by `Unstaked`, or by burning; members cannot `Stake`/`Unstake` at the
//!   hub (the vault does that);
//! - each close queues a [`ChainSettlement`]: the new root, what the close minted, what was burned from
//!   the distributor's custody since the last close, and the stakes burned (slashes), which the hub
//!   publishes on the chain.
//!
//! Invariants (checked after every entry with the supply's): `minted + entered − burned − left` equals
//! every token the hub holds; the distributor holds `held − stakes + Σ withdrawn − Σ claimed` and the
//! vault `stakes` once the queued settlement is published (the hub's reconciliation checks both).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use token::{Address, Amount, keccak256};

use crate::genesis::Genesis;
use crate::state::{Effects, MemberChange, State};
use crate::tx::TxError;

/// The last chain block the ledger applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCursor {
    pub block: u64,
    #[serde(with = "token::hexser::hex32")]
    pub hash: [u8; 32],
}

/// A confirmed event of the collective's contracts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainEvent {
    /// Deposited into the distributor for `account`: liquid at the hub.
    Deposited { account: Address, amount: Amount },
    /// Staked in the vault by `account`, whose lock now ends at `lock_end`.
    Staked {
        account: Address,
        amount: Amount,
        lock_end: u64,
    },
    /// Taken out of the vault by `account`.
    Unstaked { account: Address, amount: Amount },
}

/// A stake the ledger burned that the vault must burn too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSlash {
    pub account: Address,
    pub amount: Amount,
    /// `slash_evidence(node, epoch)`: unique per node and audit epoch, so the vault can refuse a
    /// second slash for the same evidence (publishing is retried after a crash).
    #[serde(with = "token::hexser::hex32")]
    pub evidence: [u8; 32],
}

/// What a close asks of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSettlement {
    pub epoch: u64,
    /// The root over every account's cumulative withdrawals after this close.
    #[serde(with = "token::hexser::hex32")]
    pub root: [u8; 32],
    /// Inflation this close minted into the hub's books: the distributor mints it.
    pub minted: Amount,
    /// Burned from the distributor's custody since the last close (fees, vesting): it burns them.
    pub burned: Amount,
    pub slashes: Vec<ChainSlash>,
}

/// The ledger's book of the chain (in `Economy::chain`, present exactly when settling on EVM).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBook {
    pub cursor: Option<ChainCursor>,
    /// Running totals of tokens that came from the chain (deposits, stakes) and went back
    /// (withdrawals, unstakes).
    pub entered: Amount,
    pub left: Amount,
    /// Per account, every withdrawal up to the last close: the leaves of the root that close
    /// posted, so a proof served between closes matches the root on the chain.
    #[serde(with = "crate::economy::pairs")]
    pub withdrawn: BTreeMap<Address, Amount>,
    /// Withdrawals since the last close: they join `withdrawn` at the next close.
    #[serde(with = "crate::economy::pairs")]
    pub pending_withdrawals: BTreeMap<Address, Amount>,
    /// Since the last close: burned from the distributor's custody, and stakes burned.
    pub pending_burn: Amount,
    pub pending_slashes: Vec<ChainSlash>,
    /// The last close's settlement (the hub publishes it; publishing is idempotent).
    pub last_settlement: Option<ChainSettlement>,
}

impl ChainBook {
    /// The book a chain genesis starts with: each allocation is an account's first cumulative
    /// withdrawal, minted into the distributor by the token's deployment (how a migrated
    /// collective's holdings reach the chain); `left` counts them out of the hub's books.
    pub fn at_genesis(genesis: &Genesis) -> Result<ChainBook, TxError> {
        let mut book = ChainBook::default();
        for a in genesis
            .allocations
            .iter()
            .filter(|a| a.liquid > Amount::ZERO)
        {
            let w = book.withdrawn.entry(a.account).or_default();
            *w = w.checked_add(a.liquid).ok_or(TxError::Overflow)?;
            book.left = book.left.checked_add(a.liquid).ok_or(TxError::Overflow)?;
        }
        if !book.withdrawn.is_empty() {
            // The distributor holds the allocations from its deployment; this "close" before any
            // epoch posts their root, so the hub publishes it on its first start (and again, idempotently,
            // after a crash) and members can claim at once.
            book.last_settlement = Some(ChainSettlement {
                epoch: 0,
                root: book.root(),
                minted: Amount::ZERO,
                burned: Amount::ZERO,
                slashes: Vec::new(),
            });
        }
        Ok(book)
    }

    /// The distributor's root over [`leaves`](ChainBook::leaves).
    pub fn root(&self) -> [u8; 32] {
        token::distributor::EarningsTree::build(&self.leaves()).root()
    }
}

/// The evidence hash of a slash for `node`'s audit of `epoch`.
pub fn slash_evidence(node: &Address, epoch: u64) -> [u8; 32] {
    let mut buf = Vec::with_capacity(14 + 20 + 8);
    buf.extend_from_slice(b"seedbank slash");
    buf.extend_from_slice(&node.0);
    buf.extend_from_slice(&epoch.to_be_bytes());
    keccak256(&buf)
}

impl ChainBook {
    /// The distributor's leaves: (account, cumulative withdrawn), by account.
    pub fn leaves(&self) -> Vec<(Address, u128)> {
        self.withdrawn.iter().map(|(a, w)| (*a, w.0)).collect()
    }
}

impl State {
    /// The chain book, if this collective settles on an EVM chain.
    pub fn chain(&self) -> Option<&ChainBook> {
        self.economy.chain.as_ref()
    }

    fn chain_mut(&mut self) -> Result<&mut ChainBook, TxError> {
        self.economy.chain.as_mut().ok_or(TxError::NotOnChain)
    }

    /// Applies a `SystemTx::Chain` entry: every event checked first, then applied in order.
    pub(crate) fn chain_events(
        &mut self,
        to: ChainCursor,
        events: &[ChainEvent],
        effects: &mut Effects,
    ) -> Result<(), TxError> {
        let book = self.chain_mut()?;
        if let Some(cursor) = book.cursor
            && to.block <= cursor.block
        {
            return Err(TxError::BadChain(format!(
                "block {} is not after block {} applied already",
                to.block, cursor.block
            )));
        }
        let mut entered = book.entered;
        for e in events {
            match e {
                ChainEvent::Deposited { amount, .. } | ChainEvent::Staked { amount, .. } => {
                    if *amount == Amount::ZERO {
                        return Err(TxError::BadChain(format!("{e:?} moves nothing")));
                    }
                    entered = entered.checked_add(*amount).ok_or(TxError::Overflow)?;
                }
                ChainEvent::Unstaked { amount, .. } if *amount == Amount::ZERO => {
                    return Err(TxError::BadChain(format!("{e:?} moves nothing")));
                }
                ChainEvent::Unstaked { .. } => {}
            }
        }
        // Every token that enters stays within the supply's bound (checked above), so the credits
        // below cannot overflow an account or a running total.
        for e in events {
            match *e {
                ChainEvent::Deposited { account, amount } => {
                    let mut a = self.account(&account);
                    a.balance = Amount(a.balance.0 + amount.0);
                    self.put(account, a, effects);
                    self.chain_book().entered = Amount(self.chain_book().entered.0 + amount.0);
                }
                ChainEvent::Staked {
                    account,
                    amount,
                    lock_end,
                } => {
                    let was_active = self.is_active(&account);
                    let mut a = self.account(&account);
                    a.stake = Amount(a.stake.0 + amount.0);
                    a.lock_until = a.lock_until.max(lock_end);
                    self.put(account, a, effects);
                    self.chain_book().entered = Amount(self.chain_book().entered.0 + amount.0);
                    self.note_standing(account, was_active, effects);
                }
                ChainEvent::Unstaked { account, amount } => {
                    let was_active = self.is_active(&account);
                    let mut a = self.account(&account);
                    let take = amount.0.min(a.stake.0);
                    a.stake = Amount(a.stake.0 - take);
                    self.put(account, a, effects);
                    let book = self.chain_book();
                    book.left = Amount(book.left.0 + take);
                    // More left the vault than the ledger holds: the rest is stake the ledger burned
                    // but the vault had not yet (a slash queued for publication). It escaped: the
                    // vault can no longer burn it, so the ledger un-burns it and lets it leave.
                    let escaped = amount.0 - take;
                    if escaped > 0 {
                        let mut rest = escaped;
                        let queued = book.pending_slashes.iter_mut().chain(
                            book.last_settlement
                                .iter_mut()
                                .flat_map(|l| l.slashes.iter_mut()),
                        );
                        for s in queued.filter(|s| s.account == account) {
                            let cut = rest.min(s.amount.0);
                            s.amount = Amount(s.amount.0 - cut);
                            rest -= cut;
                        }
                        book.pending_slashes.retain(|s| s.amount > Amount::ZERO);
                        if let Some(l) = book.last_settlement.as_mut() {
                            l.slashes.retain(|s| s.amount > Amount::ZERO);
                        }
                        let unburned = escaped - rest;
                        book.left = Amount(book.left.0 + unburned);
                        self.burned = Amount(self.burned.0 - unburned);
                        if rest > 0 {
                            tracing::warn!(
                                %account, rest,
                                "the vault released more than the ledger's stake and queued slashes"
                            );
                        }
                    }
                    self.note_standing(account, was_active, effects);
                }
            }
        }
        self.chain_book().cursor = Some(to);
        self.dirty.economy = true;
        Ok(())
    }

    fn chain_book(&mut self) -> &mut ChainBook {
        self.economy
            .chain
            .as_mut()
            .expect("checked by chain_events: the collective settles on a chain")
    }

    /// A member whose stake moved on the chain may have gained or lost its standing.
    fn note_standing(&mut self, account: Address, was_active: bool, effects: &mut Effects) {
        let active = self.is_active(&account);
        if active != was_active
            && let Some(name) = self.accounts.get(&account).and_then(|a| a.member.clone())
        {
            effects.members.push(MemberChange {
                name,
                account,
                active,
            });
        }
    }

    /// A `Withdraw`: from `me`'s balance to its withdrawals, claimable after the next close.
    pub(crate) fn withdraw(
        &mut self,
        account: Address,
        me: &mut crate::state::Account,
        amount: Amount,
    ) -> Result<(), TxError> {
        if amount == Amount::ZERO {
            return Err(TxError::ZeroAmount);
        }
        let book = self.economy.chain.as_ref().ok_or(TxError::NotOnChain)?;
        let so_far = |m: &BTreeMap<Address, Amount>| m.get(&account).copied().unwrap_or_default();
        // Checked against the sum the next close makes, so that close cannot overflow.
        let pending = so_far(&book.pending_withdrawals)
            .checked_add(amount)
            .ok_or(TxError::Overflow)?;
        so_far(&book.withdrawn)
            .checked_add(pending)
            .ok_or(TxError::Overflow)?;
        me.debit(amount)?;
        let book = self.chain_book();
        book.pending_withdrawals.insert(account, pending);
        book.left = Amount(book.left.0 + amount.0);
        self.dirty.economy = true;
        Ok(())
    }

    /// Burned from the distributor's custody (a fee's burned share, vesting): queued for the chain.
    pub(crate) fn chain_burn(&mut self, amount: u128) {
        if amount > 0
            && let Some(book) = self.economy.chain.as_mut()
        {
            book.pending_burn = Amount(book.pending_burn.0 + amount);
            self.dirty.economy = true;
        }
    }

    /// A stake burned by `node`'s audit of `epoch`: queued for the vault.
    pub(crate) fn chain_slash(&mut self, node: Address, epoch: u64, amount: u128) {
        if amount > 0
            && let Some(book) = self.economy.chain.as_mut()
        {
            book.pending_slashes.push(ChainSlash {
                account: node,
                amount: Amount(amount),
                evidence: slash_evidence(&node, epoch),
            });
            self.dirty.economy = true;
        }
    }

    /// At a close: the root over withdrawals, and the settlement the hub must publish.
    pub(crate) fn chain_close(&mut self, epoch: u64, minted: Amount) -> Option<[u8; 32]> {
        let book = self.economy.chain.as_mut()?;
        for (account, amount) in std::mem::take(&mut book.pending_withdrawals) {
            let w = book.withdrawn.entry(account).or_default();
            *w = w
                .checked_add(amount)
                .expect("checked by withdraw: the sum fits");
        }
        let root = book.root();
        book.last_settlement = Some(ChainSettlement {
            epoch,
            root,
            minted,
            burned: std::mem::take(&mut book.pending_burn),
            slashes: std::mem::take(&mut book.pending_slashes),
        });
        Some(root)
    }
}

/// Why a collective cannot be migrated as it stands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MigrationError {
    #[error("the collective settles on a chain already")]
    OnChainAlready,
    #[error("the ledger has no genesis")]
    NoGenesis,
    #[error(
        "its last close is epoch {last:?}, not the chosen epoch {chosen}: stop the hub right after that close"
    )]
    NotAtEpoch { chosen: u64, last: Option<u64> },
}

/// An embedded collective's holdings as a chain collective's genesis allocations (see
/// `docs/operations.md`, "Moving to EVM settlement"): each account's balance, stake and vesting
/// become one claimable amount (stakes are re-staked in the vault by their owners, vesting is paid
/// out: the chain has no vesting); the stakers' pool, unpaid sponsored pools and reward carry go to
/// the operator, who owes them to the collective. Member names are kept, so founders stay members
/// (active again once they stake in the vault). The amounts add up to every token that exists.
pub fn migration_allocations(
    state: &State,
    epoch: u64,
) -> Result<Vec<crate::genesis::Allocation>, MigrationError> {
    let genesis = state.genesis().ok_or(MigrationError::NoGenesis)?;
    if state.chain().is_some() {
        return Err(MigrationError::OnChainAlready);
    }
    let last = state.economy().last_closed;
    if last != Some(epoch) {
        return Err(MigrationError::NotAtEpoch {
            chosen: epoch,
            last,
        });
    }
    let supply = state.supply();
    let mut out: BTreeMap<Address, (u128, Option<String>)> = BTreeMap::new();
    for (address, a) in &state.accounts {
        // Parts of the supply: their sum fits.
        let amount = a.balance.0 + a.stake.0 + a.vesting.0;
        if amount > 0 || a.member.is_some() {
            out.insert(*address, (amount, a.member.clone()));
        }
    }
    let owed = supply.stakers_pool.0 + supply.pools.0;
    out.entry(genesis.operator).or_insert((0, None)).0 += owed;
    let allocations: Vec<_> = out
        .into_iter()
        .map(|(account, (amount, member))| crate::genesis::Allocation {
            account,
            liquid: Amount(amount),
            staked: Amount::ZERO,
            lock_until: 0,
            member,
        })
        .collect();
    debug_assert_eq!(
        Some(Amount(allocations.iter().map(|a| a.liquid.0).sum())),
        supply.outstanding(),
        "a migration distributes every token"
    );
    Ok(allocations)
}
