//! The state machine: accounts, stakes, members, torrents' terms, settled receipt lanes, and the
//! supply. `apply` is a pure function of (state, entry): no clock, no randomness, no I/O, so a
//! replay of the log on any machine ends in the same state and the same root.
//!
//! Invariants, asserted after every entry:
//! - supply: `minted − burned = Σ balance + Σ stake + Σ vesting + stakers' pool + hosting pools`
//!   (sponsored pools and minted rewards not yet paid, `crate::economy`);
//! - every transaction is all-or-nothing: it is validated in full before anything changes (a
//!   settlement's receipts are each all-or-nothing);
//! - a lane's settled bytes only grow, and a session's total never exceeds the torrent's size;
//! - audits (`crate::hosting`): a report is fixed before its epoch, an epoch's secret is revealed
//!   only after it and must open its commitment, results are applied once per epoch, and
//!   penalties only burn.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha3::{Digest, Keccak256};
use token::eip712::{TypedMessage, word_u64};
use token::{Address, Amount, Domain, Receipt, Signed, UserTx, keccak256};

use crate::genesis::{Genesis, JoinPolicy};
use crate::hosting::{EpochInfo, Host, ReportInfo};
use crate::tx::{Entry, ReceiptOutcome, SystemTx, Tx, TxError};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub balance: Amount,
    pub stake: Amount,
    pub lock_until: u64,
    pub vesting: Amount,
    /// The next nonce this account must sign with.
    pub nonce: u64,
    pub member: Option<String>,
    pub invited_by: Option<Address>,
}

impl Account {
    /// Takes `amount` from the liquid balance, or says how much was missing.
    pub(crate) fn debit(&mut self, amount: Amount) -> Result<(), TxError> {
        self.balance = self
            .balance
            .checked_sub(amount)
            .ok_or(TxError::InsufficientBalance {
                need: amount,
                have: self.balance,
            })?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TorrentTerms {
    pub size: u64,
    pub price_per_byte: Amount,
}

/// (session, torrent, uploader, downloader): one receipt stream. The session comes first: ids
/// begin with the second they opened, so lanes sort by age and expired ones go as one range.
pub type LaneKey = ([u8; 32], [u8; 32], Address, Address);

/// A lane's or session's key in the state's maps: ordered exactly as the key is (so the maps walk,
/// expire and hash in the key's order), with its 32-byte ids compared as four big-endian words.
/// A search in millions of lanes makes dozens of comparisons, and a `memcmp` call for each was
/// most of a receipt's settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WordOrd<K>(pub K);

/// The big-endian words of a 32-byte id: compared as arrays, they order as its bytes do, without
/// a `memcmp` call per comparison.
pub(crate) fn id_words(id: &[u8; 32]) -> [u64; 4] {
    std::array::from_fn(|i| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&id[8 * i..8 * i + 8]);
        u64::from_be_bytes(w)
    })
}

impl Ord for WordOrd<LaneKey> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let ((s, t, up, down), (s2, t2, up2, down2)) = (&self.0, &other.0);
        (id_words(s).cmp(&id_words(s2)))
            .then_with(|| id_words(t).cmp(&id_words(t2)))
            .then_with(|| up.cmp(up2))
            .then_with(|| down.cmp(down2))
    }
}

impl PartialOrd for WordOrd<LaneKey> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WordOrd<SessionKey> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let ((s, t, down), (s2, t2, down2)) = (&self.0, &other.0);
        (id_words(s).cmp(&id_words(s2)))
            .then_with(|| id_words(t).cmp(&id_words(t2)))
            .then_with(|| down.cmp(down2))
    }
}

impl PartialOrd for WordOrd<SessionKey> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A receipt's settlement worked out against the current state, before it is applied.
struct Settlement {
    lane: LaneKey,
    lane_bytes: u64,
    session: SessionKey,
    session_bytes: u64,
    /// The two balances after the receipt (nothing else of either account changes).
    downloader_balance: Amount,
    uploader_balance: Amount,
    free: u64,
    /// To the stakers' pool and burned: the fee, split.
    pool: Amount,
    burned: Amount,
    outcome: ReceiptOutcome,
}
/// (session, torrent, downloader): everything one download session received, from all uploaders.
/// Session first, as in [`LaneKey`].
pub type SessionKey = ([u8; 32], [u8; 32], Address);

/// A member whose standing (active: enough stake) may have changed; the hub mirrors it to the tracker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberChange {
    pub name: String,
    pub account: Address,
    pub active: bool,
}

/// What applying an entry produced, beyond the state change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    pub receipts: Vec<ReceiptOutcome>,
    pub members: Vec<MemberChange>,
    /// Accounts the entry touched, for their histories.
    pub accounts: BTreeSet<Address>,
}

/// Keys changed since the store last wrote them.
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    /// Accounts, lanes, sessions and free allowances in the order they changed, possibly repeated
    /// (a push per receipt costs a fraction of a set's insert): the store sorts and deduplicates
    /// each list once.
    pub accounts: Vec<Address>,
    pub torrents: BTreeSet<[u8; 32]>,
    pub lanes: Vec<LaneKey>,
    pub sessions: Vec<SessionKey>,
    /// Lanes and sessions that opened before this id were dropped (expired).
    pub sessions_before: Option<[u8; 32]>,
    pub free: Vec<Address>,
    pub hosts: BTreeSet<Address>,
    pub reports: BTreeSet<(Address, u64)>,
    pub epochs: BTreeSet<u64>,
    pub genesis: bool,
    /// The economy is written whole (one JSON value) when any part of it changed.
    pub economy: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub(crate) genesis: Option<Genesis>,
    domain: Option<(Domain, [u8; 32])>,
    pub(crate) accounts: BTreeMap<Address, Account>,
    pub(crate) members: BTreeMap<String, Address>,
    pub(crate) torrents: BTreeMap<[u8; 32], TorrentTerms>,
    pub(crate) lanes: BTreeMap<WordOrd<LaneKey>, u64>,
    pub(crate) sessions: BTreeMap<WordOrd<SessionKey>, u64>,
    /// Per account: (day number, free bytes used that day).
    pub(crate) free: BTreeMap<Address, (u64, u64)>,
    /// Nodes that ever reported: their audit records.
    pub(crate) hosts: BTreeMap<Address, Host>,
    /// Hosting reports by (node, first epoch they apply to).
    pub(crate) reports: BTreeMap<(Address, u64), ReportInfo>,
    /// Audit epochs the hub committed to, by number.
    pub(crate) epochs: BTreeMap<u64, EpochInfo>,
    /// Epoch closes: markets, pools, grants, earnings (see `crate::economy`).
    pub(crate) economy: crate::economy::Economy,
    pub(crate) stakers_pool: Amount,
    pub(crate) minted: Amount,
    pub(crate) burned: Amount,
    /// Running sums, so the supply invariant costs O(1) per entry.
    balances: Amount,
    stakes: Amount,
    vesting: Amount,
    /// The next entry's sequence number, the last entry's time and hash.
    pub(crate) next_seq: u64,
    pub(crate) time: u64,
    pub(crate) log_hash: [u8; 32],
    pub(crate) dirty: Dirty,
}

pub fn check_member_name(name: &str) -> Result<(), TxError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(TxError::BadName(
            name.to_owned(),
            "use 1 to 32 of a-z, 0-9, - and _".into(),
        ))
    }
}

/// The digest the operator signs for a system transaction at `seq`: EIP-712 over the keccak of
/// its JSON body, so a contract could check it, and the position, so it cannot be replayed.
pub fn system_digest(domain: &Domain, seq: u64, tx: &SystemTx) -> [u8; 32] {
    struct SystemEntry {
        seq: u64,
        payload: [u8; 32],
    }
    impl TypedMessage for SystemEntry {
        const TYPE: &'static str = "SystemEntry(uint256 seq,bytes32 payload)";
        fn words(&self) -> Vec<[u8; 32]> {
            vec![word_u64(self.seq), self.payload]
        }
    }
    let body = serde_json::to_vec(tx).unwrap_or_default();
    domain.digest(&SystemEntry {
        seq,
        payload: keccak256(&body),
    })
}

/// A running total with one account's `old` value replaced by its `new` one. The total includes the
/// old value and stays at most the supply, so neither step fails.
fn shift(total: Amount, old: Amount, new: Amount) -> Amount {
    total
        .checked_sub(old)
        .and_then(|t| t.checked_add(new))
        .expect("running totals stay within the supply")
}

/// `amount × bps / 10 000` rounded down, exactly for every `u128` (`amount × bps` may not fit):
/// at most `amount` since `bps ≤ 10 000`.
pub(crate) fn basis_points(amount: u128, bps: u32) -> u128 {
    let bps = u128::from(bps.min(10_000));
    amount / 10_000 * bps + amount % 10_000 * bps / 10_000
}

/// The chain: each entry's hash covers the previous hash, its position, time and stored body.
pub fn entry_hash(prev: &[u8; 32], seq: u64, time: u64, body: &[u8]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(time.to_be_bytes());
    h.update(body);
    h.finalize().into()
}

impl State {
    pub fn genesis(&self) -> Option<&Genesis> {
        self.genesis.as_ref()
    }

    pub fn domain(&self) -> Option<&Domain> {
        self.domain.as_ref().map(|(d, _)| d)
    }

    pub fn account(&self, address: &Address) -> Account {
        self.accounts.get(address).cloned().unwrap_or_default()
    }

    /// Every account that ever held anything, in address order, without copies (a walk beside
    /// other address-ordered lists costs a fraction of as many lookups).
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    pub fn member(&self, name: &str) -> Option<Address> {
        self.members.get(name).copied()
    }

    pub fn torrent(&self, id: &[u8; 32]) -> Option<TorrentTerms> {
        self.torrents.get(id).copied()
    }

    pub fn lane(&self, key: &LaneKey) -> u64 {
        self.lanes.get(&WordOrd(*key)).copied().unwrap_or(0)
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Forgets which keys changed since the store last wrote them. A state kept only in memory
    /// (a simulation) calls this after each entry: nothing drains the record otherwise, and it
    /// grows with every receipt.
    pub fn forget_changes(&mut self) {
        self.dirty = Dirty::default();
    }

    pub fn log_hash(&self) -> [u8; 32] {
        self.log_hash
    }

    pub fn time(&self) -> u64 {
        self.time
    }

    pub fn supply(&self) -> Supply {
        let (entered, left) = self
            .economy
            .chain
            .as_ref()
            .map_or((Amount::ZERO, Amount::ZERO), |c| (c.entered, c.left));
        Supply {
            minted: self.minted,
            burned: self.burned,
            entered,
            left,
            balances: self.balances,
            stakes: self.stakes,
            vesting: self.vesting,
            stakers_pool: self.stakers_pool,
            pools: self.pooled(),
        }
    }

    /// Whether `address` is a member in good standing: it joined and keeps `min_stake` locked.
    pub fn is_active(&self, address: &Address) -> bool {
        self.accounts
            .get(address)
            .is_some_and(|a| self.is_active_account(a))
    }

    /// [`State::is_active`] for an account at hand.
    pub fn is_active_account(&self, account: &Account) -> bool {
        self.genesis
            .as_ref()
            .is_some_and(|g| account.member.is_some() && account.stake >= g.min_stake)
    }

    /// Bytes of today's free allowance (UTC days) `address` has not used. The allowance is a
    /// member's: fresh addresses cannot farm it.
    pub fn free_left(&self, address: &Address, now: u64) -> u64 {
        if !self.is_active(address) {
            return 0;
        }
        let day = now / 86_400;
        let used = match self.free.get(address) {
            Some((d, used)) if *d == day => *used,
            _ => 0,
        };
        self.params().free_bytes_per_day.saturating_sub(used)
    }

    /// Every member with its standing, by name.
    pub fn members(&self) -> Vec<MemberChange> {
        self.members
            .iter()
            .map(|(name, account)| MemberChange {
                name: name.clone(),
                account: *account,
                active: self.is_active(account),
            })
            .collect()
    }

    /// Applies one entry. On error nothing changed. `check_signatures` is off only when replaying a
    /// log whose signatures were checked when it was written (start-up); `verify` checks them all.
    pub fn apply(
        &mut self,
        entry: &Entry,
        body: &[u8],
        check_signatures: bool,
    ) -> Result<Effects, TxError> {
        assert_eq!(entry.seq, self.next_seq, "entries are applied in order");
        assert!(entry.time >= self.time, "entry times never go back");
        let mut effects = Effects::default();
        match &entry.tx {
            Tx::System {
                tx: tx @ SystemTx::Genesis(genesis),
                signature,
            } => {
                if entry.seq != 0 || self.genesis.is_some() {
                    return Err(TxError::Genesis);
                }
                // Signed by the operator it names, in the domain it founds.
                if check_signatures {
                    let signer = signature
                        .recover(&system_digest(&genesis.domain(), 0, tx))
                        .map_err(|e| TxError::MalformedSignature(e.to_string()))?;
                    if signer != genesis.operator {
                        return Err(TxError::BadSignature(genesis.operator));
                    }
                }
                self.apply_genesis(genesis, &mut effects)?;
            }
            _ if self.genesis.is_none() => return Err(TxError::Genesis),
            Tx::System { tx, signature } => {
                if check_signatures {
                    let (domain, _) = self.domain.as_ref().ok_or(TxError::Genesis)?;
                    let operator = self.genesis.as_ref().ok_or(TxError::Genesis)?.operator;
                    let signer = signature
                        .recover(&system_digest(domain, entry.seq, tx))
                        .map_err(|e| TxError::MalformedSignature(e.to_string()))?;
                    if signer != operator {
                        return Err(TxError::BadSignature(operator));
                    }
                }
                self.apply_system(tx, entry.time, check_signatures, &mut effects)?;
            }
            Tx::User { tx } => {
                if check_signatures {
                    let (domain, separator) = self.domain.as_ref().ok_or(TxError::Genesis)?;
                    match tx.check(domain, separator) {
                        Ok(true) => {}
                        Ok(false) => return Err(TxError::BadSignature(tx.message.signer())),
                        Err(e) => return Err(TxError::MalformedSignature(e.to_string())),
                    }
                }
                self.apply_user(&tx.message, entry.time, &mut effects)?;
            }
        }
        self.next_seq += 1;
        self.time = entry.time;
        self.log_hash = entry_hash(&self.log_hash, entry.seq, entry.time, body);
        self.assert_supply();
        Ok(effects)
    }

    fn assert_supply(&self) {
        let supply = self.supply();
        assert_eq!(
            supply.held(),
            supply.outstanding(),
            "supply invariant: balances + stakes + vesting + stakers' pool + pools = minted + entered − burned − left"
        );
    }

    fn apply_genesis(&mut self, genesis: &Genesis, effects: &mut Effects) -> Result<(), TxError> {
        genesis
            .validate()
            .map_err(|e| TxError::Storage(e.to_string()))?;
        let domain = genesis.domain();
        let separator = domain.separator();
        for a in &genesis.allocations {
            let minted = a.liquid.checked_add(a.staked).ok_or(TxError::Overflow)?;
            self.minted = self.minted.checked_add(minted).ok_or(TxError::Overflow)?;
            let mut account = self.account(&a.account);
            account.balance = a.liquid;
            account.stake = a.staked;
            account.lock_until = a.lock_until;
            if let Some(name) = &a.member {
                account.member = Some(name.clone());
                self.members.insert(name.clone(), a.account);
            }
            self.put(a.account, account, effects);
        }
        self.domain = Some((domain, separator));
        if genesis.settlement == crate::genesis::SettlementMode::Evm {
            // On a chain, the allocations are the distributor's first leaves: minted (the token's
            // initial supply) and gone from the hub's books at once, claimable on the chain.
            for a in &genesis.allocations {
                let mut account = self.account(&a.account);
                account.balance = Amount::ZERO;
                self.put(a.account, account, effects);
            }
            let book = crate::chain::ChainBook::at_genesis(genesis)?;
            // The root `seedbank chain deploy` posts with the initial distribution.
            self.economy.earnings_root = book.root();
            self.economy.chain = Some(book);
            self.dirty.economy = true;
        }
        self.genesis = Some(genesis.clone());
        self.dirty.genesis = true;
        effects.members = self.members();
        Ok(())
    }

    pub(crate) fn params(&self) -> &Genesis {
        self.genesis
            .as_ref()
            .expect("checked by apply: genesis came first")
    }

    fn apply_user(&mut self, tx: &UserTx, now: u64, effects: &mut Effects) -> Result<(), TxError> {
        let signer = tx.signer();
        let mut me = self.account(&signer);
        if tx.nonce() != me.nonce {
            return Err(TxError::Nonce {
                expected: me.nonce,
                got: tx.nonce(),
            });
        }
        me.nonce += 1;
        let was_active = self.is_active(&signer);
        // Another account this transaction changes, written after the signer's: debits before
        // credits, so the running totals never pass the supply on the way.
        let mut other = None;
        // A report, checked, to keep once the signer's nonce is written.
        let mut report = None;
        match tx {
            UserTx::Transfer(t) => {
                if t.amount == Amount::ZERO {
                    return Err(TxError::ZeroAmount);
                }
                if t.to == t.from {
                    return Err(TxError::SelfTransfer);
                }
                me.debit(t.amount)?;
                let mut to = self.account(&t.to);
                to.balance = to.balance.checked_add(t.amount).ok_or(TxError::Overflow)?;
                other = Some((t.to, to));
            }
            UserTx::Stake(_) | UserTx::Unstake(_) if self.economy.chain.is_some() => {
                return Err(TxError::OnChain(
                    "stake and unstake in the vault contract (seedbank wallet stake/unstake)",
                ));
            }
            UserTx::Withdraw(w) => self.withdraw(signer, &mut me, w.amount)?,
            UserTx::Stake(s) => {
                if s.amount == Amount::ZERO {
                    return Err(TxError::ZeroAmount);
                }
                let max = now.saturating_add(self.params().max_lock_secs());
                if s.lock_until <= now || s.lock_until > max {
                    return Err(TxError::BadLock {
                        lock_until: s.lock_until,
                        why: format!("not between now ({now}) and the longest lock ({max})"),
                    });
                }
                if s.lock_until < me.lock_until {
                    return Err(TxError::BadLock {
                        lock_until: s.lock_until,
                        why: format!(
                            "before the current lock end {}: locks never shorten",
                            me.lock_until
                        ),
                    });
                }
                me.debit(s.amount)?;
                me.stake = me.stake.checked_add(s.amount).ok_or(TxError::Overflow)?;
                me.lock_until = s.lock_until;
            }
            UserTx::Unstake(u) => {
                if u.amount == Amount::ZERO {
                    return Err(TxError::ZeroAmount);
                }
                if now < me.lock_until {
                    return Err(TxError::Locked {
                        until: me.lock_until,
                        now,
                    });
                }
                me.stake = me
                    .stake
                    .checked_sub(u.amount)
                    .ok_or(TxError::InsufficientStake {
                        need: u.amount,
                        have: me.stake,
                    })?;
                me.balance = me.balance.checked_add(u.amount).ok_or(TxError::Overflow)?;
                self.check_host_unstake(&signer, &me, now)?;
            }
            UserTx::Invite(i) => {
                if !was_active {
                    return Err(TxError::NotMember(signer));
                }
                let mut invitee = self.account(&i.invitee);
                if invitee.member.is_some() || i.invitee == signer {
                    return Err(TxError::AlreadyMember(i.invitee));
                }
                invitee.invited_by = Some(signer);
                other = Some((i.invitee, invitee));
            }
            UserTx::Join(j) => {
                if me.member.is_some() {
                    return Err(TxError::AlreadyMember(signer));
                }
                check_member_name(&j.name)?;
                if self.members.contains_key(&j.name) {
                    return Err(TxError::NameTaken(j.name.clone()));
                }
                let min = self.join_stake();
                if me.stake < min {
                    return Err(TxError::InsufficientStake {
                        need: min,
                        have: me.stake,
                    });
                }
                if self.params().join == JoinPolicy::Invite && me.invited_by.is_none() {
                    return Err(TxError::NotInvited(signer));
                }
                me.member = Some(j.name.clone());
                self.members.insert(j.name.clone(), signer);
            }
            UserTx::Report(r) => {
                report = Some((r.epoch, self.check_report(signer, r, now, was_active)?));
            }
            UserTx::Sponsor(sp) => self.sponsor(sp, &mut me)?,
        }
        self.put(signer, me, effects);
        if let Some((address, account)) = other {
            self.put(address, account, effects);
        }
        if let Some((epoch, info)) = report {
            self.record_report(signer, epoch, info);
        }
        if let Some(name) = self.accounts[&signer].member.clone() {
            let active = self.is_active(&signer);
            if active != was_active || matches!(tx, UserTx::Join(_)) {
                effects.members.push(MemberChange {
                    name,
                    account: signer,
                    active,
                });
            }
        }
        Ok(())
    }

    /// Writes an account back, and with it the running totals: the one place that changes
    /// either, so they cannot drift apart. Callers write debits before credits.
    pub(crate) fn put(&mut self, address: Address, account: Account, effects: &mut Effects) {
        let (balance, stake, vesting) = (account.balance, account.stake, account.vesting);
        let old = self.accounts.insert(address, account).unwrap_or_default();
        self.balances = shift(self.balances, old.balance, balance);
        self.stakes = shift(self.stakes, old.stake, stake);
        self.vesting = shift(self.vesting, old.vesting, vesting);
        self.dirty.accounts.push(address);
        effects.accounts.insert(address);
    }

    /// [`State::put`] of an account with only its balance changed, in place (an address without
    /// an account gets a default one): no copy of the account.
    fn put_balance(&mut self, address: Address, balance: Amount, effects: &mut Effects) {
        let account = self.accounts.entry(address).or_default();
        self.balances = shift(self.balances, account.balance, balance);
        account.balance = balance;
        self.dirty.accounts.push(address);
        effects.accounts.insert(address);
    }

    /// [`State::put`] for many accounts, each changed in place by `change` (an address without an
    /// account gets a default one first), in one pass over the accounts: `items` come in strictly
    /// ascending address order. The running totals, the changed keys and the effects move as
    /// `put` moves them.
    pub(crate) fn put_each<T>(
        &mut self,
        items: &[(Address, T)],
        effects: &mut Effects,
        mut change: impl FnMut(&mut Account, &T),
    ) {
        let (balances, stakes, vesting) = (&mut self.balances, &mut self.stakes, &mut self.vesting);
        let each = items.iter().map(|(address, item)| (*address, item));
        crate::walk::update_each(&mut self.accounts, each, items.len(), |_, account, item| {
            let old = (account.balance, account.stake, account.vesting);
            change(account, item);
            *balances = shift(*balances, old.0, account.balance);
            *stakes = shift(*stakes, old.1, account.stake);
            *vesting = shift(*vesting, old.2, account.vesting);
        });
        // Ascending: the set is built in one bulk step and merged in one pass.
        let mut changed: BTreeSet<Address> = items.iter().map(|(address, _)| *address).collect();
        self.dirty.accounts.extend(&changed);
        effects.accounts.append(&mut changed);
    }

    fn apply_system(
        &mut self,
        tx: &SystemTx,
        now: u64,
        check_signatures: bool,
        effects: &mut Effects,
    ) -> Result<(), TxError> {
        match tx {
            SystemTx::Genesis(_) => Err(TxError::Genesis),
            SystemTx::RegisterTorrent {
                torrent,
                size,
                price_per_byte,
            } => {
                if self.torrents.contains_key(torrent) {
                    return Err(TxError::TorrentExists(format!(
                        "0x{}",
                        hex::encode(torrent)
                    )));
                }
                self.torrents.insert(
                    *torrent,
                    TorrentTerms {
                        size: *size,
                        price_per_byte: *price_per_byte,
                    },
                );
                self.dirty.torrents.insert(*torrent);
                self.open_market(*torrent, *price_per_byte);
                Ok(())
            }
            SystemTx::Admit {
                account,
                name,
                stake,
                lock_until,
            } => {
                if self.economy.chain.is_some() {
                    return Err(TxError::OnChain(
                        "members stake in the vault contract; the operator cannot admit with stake",
                    ));
                }
                check_member_name(name)?;
                let operator = self.params().operator;
                let min = self.join_stake();
                let max = now.saturating_add(self.params().max_lock_secs());
                let mut member = self.account(account);
                if member.member.is_some() {
                    return Err(TxError::AlreadyMember(*account));
                }
                if self.members.contains_key(name) {
                    return Err(TxError::NameTaken(name.clone()));
                }
                if *lock_until > max {
                    return Err(TxError::BadLock {
                        lock_until: *lock_until,
                        why: format!("beyond the longest lock ({max})"),
                    });
                }
                let total_stake = member.stake.checked_add(*stake).ok_or(TxError::Overflow)?;
                if total_stake < min {
                    return Err(TxError::InsufficientStake {
                        need: min,
                        have: total_stake,
                    });
                }
                let mut treasury = self.account(&operator);
                if *account == operator {
                    return Err(TxError::SelfTransfer);
                }
                treasury.debit(*stake)?;
                member.stake = total_stake;
                member.lock_until = member.lock_until.max(*lock_until);
                member.member = Some(name.clone());
                self.members.insert(name.clone(), *account);
                self.put(operator, treasury, effects);
                self.put(*account, member, effects);
                effects.members.push(MemberChange {
                    name: name.clone(),
                    account: *account,
                    active: true,
                });
                Ok(())
            }
            SystemTx::Settle { receipts } => {
                // The hub logs only receipts whose signatures it checked; a logged one that fails
                // its check means the log was forged, so the whole entry is refused (and replays
                // with and without signature checks can never disagree).
                if check_signatures {
                    let (domain, separator) = self.domain.as_ref().ok_or(TxError::Genesis)?;
                    if let Some(bad) = receipts
                        .iter()
                        .find(|r| !matches!(r.check(domain, separator), Ok(true)))
                    {
                        return Err(TxError::BadSignature(bad.message.downloader));
                    }
                }
                for receipt in receipts {
                    let outcome = self.settle(receipt, now, check_signatures, effects);
                    effects.receipts.push(outcome);
                }
                Ok(())
            }
            SystemTx::EpochCommit { epoch, commitment } => {
                self.epoch_commit(*epoch, *commitment, now)
            }
            SystemTx::EpochReveal { epoch, secret } => self.epoch_reveal(*epoch, *secret, now),
            SystemTx::AuditResults { epoch, nodes } => self.audit_results(*epoch, nodes, effects),
            SystemTx::Chain { to, events } => self.chain_events(*to, events, effects),
            SystemTx::EpochClose(close) => {
                self.epoch_close(close, now, effects)?;
                self.forget_expired_sessions(now);
                Ok(())
            }
        }
    }

    /// Drops the lanes and sessions whose receipts can no longer settle at `now` (or later: entry
    /// times never go back), so the state holds only the last `SESSION_TTL_SECS` of receipts.
    fn forget_expired_sessions(&mut self, now: u64) {
        let Some(cutoff) = now.checked_sub(token::SESSION_TTL_SECS) else {
            return;
        };
        // Every session that opened before `cutoff` is expired; keys sort by opening time.
        let first_live = token::session_at(cutoff, [0; 24]);
        self.lanes = self.lanes.split_off(&WordOrd((
            first_live,
            [0; 32],
            Address::ZERO,
            Address::ZERO,
        )));
        self.sessions = self
            .sessions
            .split_off(&WordOrd((first_live, [0; 32], Address::ZERO)));
        self.dirty.lanes.retain(|k| k.0 >= first_live);
        self.dirty.sessions.retain(|k| k.0 >= first_live);
        self.dirty.sessions_before = Some(first_live);
    }

    /// What a settlement of `signed` would do now, or why it would be refused: the rules of
    /// `docs/economics.md` ("Paying for downloads"), without changing anything. The hub uses it to
    /// answer receipts that cannot settle without logging them.
    pub fn assess_receipt(&self, signed: &Signed<Receipt>, now: u64) -> Option<ReceiptOutcome> {
        self.assess(signed, now, false).err()
    }

    fn assess(
        &self,
        signed: &Signed<Receipt>,
        now: u64,
        check_signatures: bool,
    ) -> Result<Settlement, ReceiptOutcome> {
        let r = &signed.message;
        let reject = |code: &str, reason: String| Err(ReceiptOutcome::rejected(code, reason));
        let (domain, separator) = self.domain.as_ref().expect("genesis came first");
        if r.collective != domain.verifying_contract {
            return reject(
                "wrong_collective",
                "receipt is for another collective".into(),
            );
        }
        if check_signatures && !matches!(signed.check(domain, separator), Ok(true)) {
            return reject("bad_signature", "not signed by the downloader".into());
        }
        let Some(terms) = self.torrents.get(&r.torrent).copied() else {
            return reject("unknown_torrent", "torrent is not registered".into());
        };
        if r.uploader == r.downloader {
            return reject(
                "self_dealing",
                "uploader and downloader are one account".into(),
            );
        }
        let opened = token::session_opened(&r.session);
        if opened > now.saturating_add(token::SESSION_SKEW_SECS) {
            return reject(
                "session_in_future",
                format!(
                    "the session opened at {opened}, after the hub's clock ({now}): check the uploader's clock"
                ),
            );
        }
        if now - opened.min(now) > token::SESSION_TTL_SECS {
            return reject(
                "expired",
                format!(
                    "the session opened at {opened}; its receipts settle for {} s after that",
                    token::SESSION_TTL_SECS
                ),
            );
        }
        let lane: LaneKey = (r.session, r.torrent, r.uploader, r.downloader);
        let settled = self.lane(&lane);
        if r.bytes <= settled {
            return reject(
                "stale",
                format!(
                    "{} bytes is not above the {settled} already settled on this lane: replayed or out of order",
                    r.bytes
                ),
            );
        }
        let mut capped = None;
        let session: SessionKey = (r.session, r.torrent, r.downloader);
        let received = self.sessions.get(&WordOrd(session)).copied().unwrap_or(0);
        let room = terms.size.saturating_sub(received);
        let mut bytes = r.bytes - settled;
        if bytes > room {
            if room == 0 {
                return reject(
                    "impossible",
                    format!(
                        "the session already received the whole torrent ({} bytes)",
                        terms.size
                    ),
                );
            }
            bytes = room;
            capped = Some(format!("the torrent has only {} bytes", terms.size));
        }
        let params = self.params();
        let (fee_bps, burn_bps) = (params.fee_bps, params.fee_burn_bps);
        let free = bytes.min(self.free_left(&r.downloader, now));
        let mut paid_bytes = bytes - free;
        let downloader_balance = self
            .accounts
            .get(&r.downloader)
            .map_or(Amount::ZERO, |a| a.balance);
        let price = terms.price_per_byte.0;
        let mut charge = price.checked_mul(u128::from(paid_bytes));
        if charge.is_none_or(|c| c > downloader_balance.0) {
            // Pay what the balance covers; the rest of the receipt stays unsettled and can be
            // submitted again once the downloader is funded.
            // A zero price never overflows nor exceeds a balance, so `price` is not zero here.
            let affordable = downloader_balance.0.checked_div(price).unwrap_or(0);
            paid_bytes = affordable.min(u128::from(paid_bytes)) as u64;
            charge = Some(price * u128::from(paid_bytes));
            capped = Some(format!(
                "the downloader's balance covers {paid_bytes} bytes"
            ));
        }
        let charge = Amount(charge.unwrap_or(0));
        let bytes = free + paid_bytes;
        if bytes == 0 {
            return reject(
                "insufficient_balance",
                "the downloader has no balance left to pay with".into(),
            );
        }
        // fee ≤ charge and burned ≤ fee, so the subtractions below cannot fail.
        let fee = Amount(basis_points(charge.0, fee_bps));
        let burned = Amount(basis_points(fee.0, burn_bps));
        let paid = Amount(charge.0 - fee.0);
        let uploader_balance = self
            .accounts
            .get(&r.uploader)
            .map_or(Amount::ZERO, |a| a.balance);
        let Some(credited) = uploader_balance.checked_add(paid) else {
            return reject("overflow", "the uploader's balance would overflow".into());
        };
        Ok(Settlement {
            lane,
            lane_bytes: settled + bytes,
            session,
            session_bytes: received + bytes,
            downloader_balance: Amount(downloader_balance.0 - charge.0),
            uploader_balance: credited,
            free,
            pool: Amount(fee.0 - burned.0),
            burned,
            outcome: ReceiptOutcome::Settled {
                bytes,
                free,
                charged: charge,
                paid,
                fee,
                burned,
                capped,
            },
        })
    }

    /// One receipt, applied: see [`State::assess_receipt`].
    fn settle(
        &mut self,
        signed: &Signed<Receipt>,
        now: u64,
        check_signatures: bool,
        effects: &mut Effects,
    ) -> ReceiptOutcome {
        let s = match self.assess(signed, now, check_signatures) {
            Ok(s) => s,
            Err(refused) => return refused,
        };
        let r = &signed.message;
        self.stakers_pool = Amount(self.stakers_pool.0 + s.pool.0);
        self.burned = Amount(self.burned.0 + s.burned.0);
        self.chain_burn(s.burned.0);
        self.put_balance(r.downloader, s.downloader_balance, effects);
        self.put_balance(r.uploader, s.uploader_balance, effects);
        self.lanes.insert(WordOrd(s.lane), s.lane_bytes);
        self.dirty.lanes.push(s.lane);
        self.sessions.insert(WordOrd(s.session), s.session_bytes);
        self.dirty.sessions.push(s.session);
        if s.free > 0 {
            let day = now / 86_400;
            let used = match self.free.get(&r.downloader) {
                Some((d, used)) if *d == day => *used,
                _ => 0,
            };
            self.free.insert(r.downloader, (day, used + s.free));
            self.dirty.free.push(r.downloader);
        }
        s.outcome
    }

    /// A hash of the whole state in a canonical order: equal states, equal roots.
    pub fn root(&self) -> [u8; 32] {
        let mut h = Keccak256::new();
        let amount = |h: &mut Keccak256, a: Amount| h.update(a.0.to_be_bytes());
        let text = |h: &mut Keccak256, s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        h.update(b"seedbank ledger state v5");
        h.update(self.next_seq.to_be_bytes());
        h.update(self.time.to_be_bytes());
        h.update(self.log_hash);
        let genesis = self
            .genesis
            .as_ref()
            .map(|g| serde_json::to_string(g).unwrap_or_default())
            .unwrap_or_default();
        text(&mut h, &genesis);
        for a in [self.minted, self.burned, self.stakers_pool] {
            amount(&mut h, a);
        }
        h.update((self.accounts.len() as u64).to_be_bytes());
        for (address, a) in &self.accounts {
            h.update(address.0);
            for x in [a.balance, a.stake, a.vesting] {
                amount(&mut h, x);
            }
            h.update(a.lock_until.to_be_bytes());
            h.update(a.nonce.to_be_bytes());
            text(&mut h, a.member.as_deref().unwrap_or(""));
            h.update(a.invited_by.map(|a| a.0).unwrap_or([0; 20]));
        }
        h.update((self.torrents.len() as u64).to_be_bytes());
        for (id, t) in &self.torrents {
            h.update(id);
            h.update(t.size.to_be_bytes());
            amount(&mut h, t.price_per_byte);
        }
        h.update((self.lanes.len() as u64).to_be_bytes());
        for (WordOrd((session, torrent, up, down)), bytes) in &self.lanes {
            h.update(session);
            h.update(torrent);
            h.update(up.0);
            h.update(down.0);
            h.update(bytes.to_be_bytes());
        }
        h.update((self.sessions.len() as u64).to_be_bytes());
        for (WordOrd((session, torrent, down)), bytes) in &self.sessions {
            h.update(session);
            h.update(torrent);
            h.update(down.0);
            h.update(bytes.to_be_bytes());
        }
        h.update((self.free.len() as u64).to_be_bytes());
        for (address, (day, used)) in &self.free {
            h.update(address.0);
            h.update(day.to_be_bytes());
            h.update(used.to_be_bytes());
        }
        // An optional value: a presence byte, then the value or nothing.
        let option = |h: &mut Keccak256, v: Option<&[u8]>| match v {
            Some(bytes) => {
                h.update([1]);
                h.update(bytes);
            }
            None => h.update([0]),
        };
        h.update((self.hosts.len() as u64).to_be_bytes());
        for (address, host) in &self.hosts {
            h.update(address.0);
            h.update(host.reputation.alpha().to_be_bytes());
            h.update(host.reputation.beta().to_be_bytes());
            h.update([u8::from(host.frozen), u8::from(host.disqualified)]);
            option(
                &mut h,
                host.last_epoch
                    .map(u64::to_be_bytes)
                    .as_ref()
                    .map(|b| &b[..]),
            );
        }
        h.update((self.reports.len() as u64).to_be_bytes());
        for ((node, epoch), r) in &self.reports {
            h.update(node.0);
            h.update(epoch.to_be_bytes());
            h.update(r.report_hash);
            h.update(r.claimed_bytes.to_be_bytes());
            text(&mut h, &r.endpoint);
            text(&mut h, &r.location);
        }
        h.update((self.epochs.len() as u64).to_be_bytes());
        for (epoch, e) in &self.epochs {
            h.update(epoch.to_be_bytes());
            h.update(e.commitment);
            option(&mut h, e.secret.as_ref().map(|s| &s[..]));
            h.update([u8::from(e.audited)]);
        }
        // Canonical JSON: struct fields in declaration order, maps as ordered pairs, integers only.
        text(
            &mut h,
            &serde_json::to_string(&self.economy).expect("the economy serialises"),
        );
        h.finalize().into()
    }

    /// Recounts the supply from every account (O(accounts)); the running sums must agree.
    pub fn recount(&self) -> Result<Supply, String> {
        let mut sums = [Amount::ZERO; 3];
        for a in self.accounts.values() {
            for (sum, x) in sums.iter_mut().zip([a.balance, a.stake, a.vesting]) {
                *sum = sum.checked_add(x).ok_or("supply overflows")?;
            }
        }
        let supply = self.supply();
        self.check_grants()?;
        if sums != [supply.balances, supply.stakes, supply.vesting] {
            return Err(format!(
                "running totals {:?} disagree with the accounts' {sums:?}",
                [supply.balances, supply.stakes, supply.vesting]
            ));
        }
        Ok(supply)
    }

    /// Rebuilds the running sums after loading accounts from the store.
    pub(crate) fn restore_totals(&mut self) -> Result<(), String> {
        self.balances = Amount::ZERO;
        self.stakes = Amount::ZERO;
        self.vesting = Amount::ZERO;
        for a in self.accounts.values() {
            self.balances = self
                .balances
                .checked_add(a.balance)
                .ok_or("balances overflow")?;
            self.stakes = self.stakes.checked_add(a.stake).ok_or("stakes overflow")?;
            self.vesting = self
                .vesting
                .checked_add(a.vesting)
                .ok_or("vesting overflows")?;
        }
        if let Some(genesis) = &self.genesis {
            let domain = genesis.domain();
            let separator = domain.separator();
            self.domain = Some((domain, separator));
        }
        Ok(())
    }
}

/// Where every token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Supply {
    pub minted: Amount,
    pub burned: Amount,
    /// Settling on a chain: tokens that came into the hub's books from it, and went back.
    pub entered: Amount,
    pub left: Amount,
    pub balances: Amount,
    pub stakes: Amount,
    pub vesting: Amount,
    pub stakers_pool: Amount,
    /// Sponsored hosting pools and minted rewards not yet paid.
    pub pools: Amount,
}

impl Supply {
    /// What the hub's books must hold: `minted + entered − burned − left` (None if negative).
    pub fn outstanding(&self) -> Option<Amount> {
        self.minted
            .checked_add(self.entered)?
            .checked_sub(self.burned)?
            .checked_sub(self.left)
    }

    /// Every token the hub holds, by where it is: equals [`Supply::outstanding`].
    pub fn held(&self) -> Option<Amount> {
        [self.stakes, self.vesting, self.stakers_pool, self.pools]
            .into_iter()
            .try_fold(self.balances, Amount::checked_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ids that often share leading words, as sessions of one second and torrents do.
    fn id() -> impl Strategy<Value = [u8; 32]> {
        (0u8..3, any::<[u8; 32]>()).prop_map(|(shared, mut id)| {
            id[..8 * usize::from(shared)].fill(7);
            id
        })
    }

    fn address() -> impl Strategy<Value = Address> {
        (0u8..3).prop_map(|b| Address([b; 20]))
    }

    proptest! {
        /// The maps' keys order exactly as the tuples do: walks, expiry ranges and the state root
        /// see the same order as before.
        #[test]
        fn word_order_is_the_keys_order(
            a in (id(), id(), address(), address()),
            b in (id(), id(), address(), address()),
        ) {
            prop_assert_eq!(WordOrd(a).cmp(&WordOrd(b)), a.cmp(&b));
            let (sa, sb) = ((a.0, a.1, a.3), (b.0, b.1, b.3));
            prop_assert_eq!(WordOrd(sa).cmp(&WordOrd(sb)), sa.cmp(&sb));
            prop_assert_eq!(WordOrd(a).cmp(&WordOrd(a)), std::cmp::Ordering::Equal);
        }
    }
}
