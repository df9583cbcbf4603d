//! The ledger tests' world: a collective applied entry by entry at chosen times, every entry kept
//! for replays (shared by the audit and economy tests).
#![allow(dead_code)]

use ledger::state::{Effects, State, system_digest};
use ledger::tx::Entry;
use ledger::{AuditMark, Genesis, JoinPolicy, NodeAudit, SystemTx, Tx, TxError};
use token::{Amount, Domain, Report, SecretKey, Signed, Stake, Unstake, UserTx};

/// Genesis time: inside epoch 472,222 of the template's one-hour epochs.
pub const T0: u64 = 1_700_000_000;
pub const GB: u64 = 1_000_000_000;

pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).unwrap()
}

/// A collective of alice and bob (members, 100 staked each, 1000 liquid), carol (500 liquid, not
/// a member), applied entry by entry at chosen times, every entry kept for the replays.
pub struct World {
    pub genesis: Genesis,
    pub domain: Domain,
    pub operator: SecretKey,
    pub alice: SecretKey,
    pub bob: SecretKey,
    pub carol: SecretKey,
    pub state: State,
    pub now: u64,
    pub log: Vec<(Entry, String)>,
}

impl World {
    pub fn new() -> World {
        World::with(|_| {})
    }

    pub fn with(tweak: impl FnOnce(&mut Genesis)) -> World {
        let (operator, alice, bob, carol) = (key(1), key(2), key(3), key(4));
        let mut g = Genesis::from_toml(&Genesis::template(operator.address())).unwrap();
        g.join = JoinPolicy::Invite;
        for (k, liquid, staked, member) in [
            (&alice, 1000, 100, Some("alice")),
            (&bob, 1000, 100, Some("bob")),
            (&carol, 500, 0, None),
        ] {
            g.allocations.push(ledger::genesis::Allocation {
                account: k.address(),
                liquid: Amount::tokens(liquid),
                staked: Amount::tokens(staked),
                lock_until: 0,
                member: member.map(str::to_owned),
            });
        }
        tweak(&mut g);
        g.validate().unwrap();
        let domain = g.domain();
        let mut w = World {
            domain,
            operator,
            alice,
            bob,
            carol,
            state: State::default(),
            now: T0,
            log: Vec::new(),
            genesis: g.clone(),
        };
        w.system(SystemTx::Genesis(Box::new(g))).unwrap();
        w
    }

    pub fn epoch(&self) -> u64 {
        self.genesis.epoch_at(self.now)
    }

    /// Moves the clock to the start of `epoch` (or leaves it, already there).
    pub fn go_to(&mut self, epoch: u64) {
        if epoch == self.epoch() {
            return;
        }
        let t = self.genesis.epoch_start(epoch);
        assert!(t >= self.now, "time never goes back");
        self.now = t;
    }

    pub fn apply(&mut self, tx: Tx) -> Result<Effects, TxError> {
        let entry = Entry {
            seq: self.state.next_seq(),
            time: self.now,
            tx,
        };
        let body = serde_json::to_string(&entry.tx).unwrap();
        let root = self.state.root();
        let result = self.state.apply(&entry, body.as_bytes(), true);
        match &result {
            Ok(_) => self.log.push((entry, body)),
            Err(_) => assert_eq!(self.state.root(), root, "a refused entry changed the state"),
        }
        result
    }

    pub fn system(&mut self, tx: SystemTx) -> Result<Effects, TxError> {
        let seq = self.state.next_seq();
        let signature = self
            .operator
            .sign_digest(&system_digest(&self.genesis.domain(), seq, &tx));
        self.apply(Tx::System { tx, signature })
    }

    pub fn user(&mut self, key: &SecretKey, tx: UserTx) -> Result<Effects, TxError> {
        let tx = Signed::<UserTx>::sign(&self.domain, key, tx);
        self.apply(Tx::User { tx })
    }

    pub fn nonce(&self, key: &SecretKey) -> u64 {
        self.state.account(&key.address()).nonce
    }

    pub fn report_with(
        &mut self,
        key: &SecretKey,
        epoch: u64,
        claimed_bytes: u64,
        endpoint: &str,
        location: &str,
    ) -> Result<Effects, TxError> {
        // The hub commits before it takes reports; here the harness plays the hub.
        if self.state.epoch_info(epoch).is_none() {
            let _ = self.commit(epoch);
        }
        self.report_uncommitted(key, epoch, claimed_bytes, endpoint, location)
    }

    pub fn report_uncommitted(
        &mut self,
        key: &SecretKey,
        epoch: u64,
        claimed_bytes: u64,
        endpoint: &str,
        location: &str,
    ) -> Result<Effects, TxError> {
        let tx = UserTx::Report(Report {
            node: key.address(),
            epoch,
            report_hash: token::keccak256(&[&key.address().0[..], &epoch.to_be_bytes()].concat()),
            claimed_bytes,
            endpoint: endpoint.into(),
            location: location.into(),
            nonce: self.nonce(key),
        });
        self.user(key, tx)
    }

    pub fn report(
        &mut self,
        key: &SecretKey,
        epoch: u64,
        claimed: u64,
    ) -> Result<Effects, TxError> {
        self.report_with(key, epoch, claimed, "127.0.0.1:6881", "52.52,13.405")
    }

    pub fn stake(&mut self, key: &SecretKey, tokens: u64) -> Result<Effects, TxError> {
        let tx = UserTx::Stake(Stake {
            account: key.address(),
            amount: Amount::tokens(tokens),
            lock_until: self.now + 86_400,
            nonce: self.nonce(key),
        });
        self.user(key, tx)
    }

    pub fn unstake(&mut self, key: &SecretKey, tokens: u64) -> Result<Effects, TxError> {
        let tx = UserTx::Unstake(Unstake {
            account: key.address(),
            amount: Amount::tokens(tokens),
            nonce: self.nonce(key),
        });
        self.user(key, tx)
    }

    pub fn commit(&mut self, epoch: u64) -> Result<Effects, TxError> {
        let commitment = audit::commit(epoch, &secret(epoch));
        self.system(SystemTx::EpochCommit { epoch, commitment })
    }

    pub fn reveal(&mut self, epoch: u64) -> Result<Effects, TxError> {
        self.system(SystemTx::EpochReveal {
            epoch,
            secret: secret(epoch),
        })
    }

    pub fn results(&mut self, epoch: u64, nodes: Vec<NodeAudit>) -> Result<Effects, TxError> {
        self.system(SystemTx::AuditResults { epoch, nodes })
    }

    /// Commits `epoch`, lets `reporters` report for it, moves past it and reveals it.
    pub fn epoch_reported_and_revealed(&mut self, epoch: u64, reporters: &[&SecretKey]) {
        self.go_to(epoch - 1);
        self.commit(epoch).unwrap();
        for &k in reporters {
            let k = k.clone();
            self.report(&k, epoch, GB).unwrap();
        }
        self.go_to(epoch + 1);
        self.reveal(epoch).unwrap();
    }

    /// Replays everything logged into fresh states, with and without signature checks: both end
    /// at the live root, and so does each step.
    pub fn replays_agree(&self) {
        for check in [true, false] {
            let mut replay = State::default();
            for (entry, body) in &self.log {
                let parsed = Entry {
                    tx: serde_json::from_str(body).unwrap(),
                    ..entry.clone()
                };
                assert_eq!(&parsed, entry);
                replay.apply(&parsed, body.as_bytes(), check).unwrap();
            }
            assert_eq!(replay.root(), self.state.root(), "replay (checks: {check})");
        }
    }
}

pub fn secret(epoch: u64) -> [u8; 32] {
    token::keccak256(&[b"epoch secret".as_slice(), &epoch.to_be_bytes()].concat())
}

pub fn audit(node: &SecretKey, outcomes: Vec<AuditMark>) -> NodeAudit {
    let wrong = outcomes.iter().filter(|&&m| m == AuditMark::Wrong).count();
    NodeAudit {
        node: node.address(),
        outcomes,
        evidence: (0..wrong).map(|i| [i as u8 + 1; 32]).collect(),
    }
}

pub fn ascending(mut nodes: Vec<NodeAudit>) -> Vec<NodeAudit> {
    nodes.sort_by_key(|n| n.node);
    nodes
}
