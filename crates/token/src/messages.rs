//! The EIP-712 messages users sign: their transactions, and the receipts a downloader gives an
//! uploader for verified data. Type strings are part of the protocol (`docs/protocol.md`,
//! `docs/economics.md`); changing one invalidates every signature made with it.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::eip712::{Domain, TypedMessage, word_address, word_string, word_u64};
use crate::hexser::hex32;
use crate::key::{SecretKey, Signature, SignatureError};

/// Moves liquid tokens from `from` to `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
    pub nonce: u64,
}

/// Locks liquid tokens as stake until `lock_until` (unix seconds). A stake's lock never shortens:
/// staking more must keep the lock end or move it later (an earlier one is refused).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stake {
    pub account: Address,
    pub amount: Amount,
    pub lock_until: u64,
    pub nonce: u64,
}

/// Returns staked tokens to the liquid balance, once the lock has ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unstake {
    pub account: Address,
    pub amount: Amount,
    pub nonce: u64,
}

/// Moves `amount` of `account`'s liquid balance at the hub to the chain, for a collective that
/// settles on an EVM chain: the hub adds it to the account's cumulative withdrawals, whose Merkle
/// root the next epoch close posts to the distributor contract, where the account claims it.
/// Refused by a collective that settles embedded (there is no chain to withdraw to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    pub account: Address,
    pub amount: Amount,
    pub nonce: u64,
}

/// A member lets `invitee` join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub inviter: Address,
    pub invitee: Address,
    pub nonce: u64,
}

/// An account with enough stake becomes the member `name` (and gets a passkey from the hub).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub account: Address,
    pub name: String,
    pub nonce: u64,
}

/// Deposits `amount` from `sponsor`'s balance into the hosting pool of `torrent` (see
/// `torrent_id`), paid out over `epochs` epoch closes to that torrent's verified hosts, on top of
/// inflation ("buy data hosting with tokens").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sponsor {
    pub sponsor: Address,
    #[serde(with = "hex32")]
    pub torrent: [u8; 32],
    pub amount: Amount,
    pub epochs: u64,
    pub nonce: u64,
}

/// A node's hosting report, fixed before the epochs it covers: from `epoch` on (until a later
/// report's epoch) the node hosts what the report with hash `report_hash` lists, `claimed_bytes`
/// of file data, and answers auditors at `endpoint` (`ip:port` of its peer-wire listener).
/// `location` is `""` or `"lat,lon"` in decimal degrees. The full report (`audit::HostingReport`)
/// stays with the hub, which checks it against `report_hash` and `claimed_bytes` before logging;
/// the ledger binds the hash and bounds the claim by the node's collateral.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub node: Address,
    pub epoch: u64,
    #[serde(with = "hex32")]
    pub report_hash: [u8; 32],
    pub claimed_bytes: u64,
    pub endpoint: String,
    pub location: String,
    pub nonce: u64,
}

/// A downloader's statement that, in `session`, it received and verified `bytes` bytes in all of
/// `torrent` from `uploader`. Cumulative: each receipt replaces the previous one of its lane
/// (torrent, uploader, downloader, session), so losing one costs nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub collective: Address,
    #[serde(with = "hex32")]
    pub torrent: [u8; 32],
    pub uploader: Address,
    pub downloader: Address,
    /// Drawn by the uploader per connection; its first 8 bytes say when it opened (see
    /// [`session_at`]), which bounds how long its receipts settle ([`SESSION_TTL_SECS`]).
    #[serde(with = "hex32")]
    pub session: [u8; 32],
    pub bytes: u64,
}

impl TypedMessage for Transfer {
    const TYPE: &'static str = "Transfer(address from,address to,uint256 amount,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.from),
            word_address(&self.to),
            self.amount.to_word(),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Stake {
    const TYPE: &'static str =
        "Stake(address account,uint256 amount,uint256 lockUntil,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.account),
            self.amount.to_word(),
            word_u64(self.lock_until),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Unstake {
    const TYPE: &'static str = "Unstake(address account,uint256 amount,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.account),
            self.amount.to_word(),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Withdraw {
    const TYPE: &'static str = "Withdraw(address account,uint256 amount,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.account),
            self.amount.to_word(),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Invite {
    const TYPE: &'static str = "Invite(address inviter,address invitee,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.inviter),
            word_address(&self.invitee),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Join {
    const TYPE: &'static str = "Join(address account,string name,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.account),
            word_string(&self.name),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Report {
    const TYPE: &'static str = "Report(address node,uint256 epoch,bytes32 reportHash,uint256 claimedBytes,string endpoint,string location,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.node),
            word_u64(self.epoch),
            self.report_hash,
            word_u64(self.claimed_bytes),
            word_string(&self.endpoint),
            word_string(&self.location),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Sponsor {
    const TYPE: &'static str =
        "Sponsor(address sponsor,bytes32 torrent,uint256 amount,uint256 epochs,uint256 nonce)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.sponsor),
            self.torrent,
            self.amount.to_word(),
            word_u64(self.epochs),
            word_u64(self.nonce),
        ]
    }
}

impl TypedMessage for Receipt {
    const TYPE: &'static str = "Receipt(address collective,bytes32 torrent,address uploader,address downloader,bytes32 session,uint256 bytes)";
    fn words(&self) -> Vec<[u8; 32]> {
        vec![
            word_address(&self.collective),
            self.torrent,
            word_address(&self.uploader),
            word_address(&self.downloader),
            self.session,
            word_u64(self.bytes),
        ]
    }
}

/// What happened to one receipt of a settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReceiptOutcome {
    /// `bytes` newly settled (`free` of them from the free allowance), `charged` taken from the
    /// downloader, `paid` to the uploader, `fee` taken (of which `burned`). `capped` says why fewer
    /// bytes than the receipt claims were settled, if they were.
    Settled {
        bytes: u64,
        free: u64,
        charged: Amount,
        paid: Amount,
        fee: Amount,
        burned: Amount,
        #[serde(skip_serializing_if = "Option::is_none")]
        capped: Option<String>,
    },
    Rejected {
        code: String,
        reason: String,
    },
}

impl ReceiptOutcome {
    pub fn rejected(code: &str, reason: impl Into<String>) -> ReceiptOutcome {
        ReceiptOutcome::Rejected {
            code: code.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Every action a user signs, tagged by `type` in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserTx {
    Transfer(Transfer),
    Stake(Stake),
    Unstake(Unstake),
    Invite(Invite),
    Join(Join),
    Report(Report),
    Sponsor(Sponsor),
    Withdraw(Withdraw),
}

impl UserTx {
    /// The account that must have signed it.
    pub fn signer(&self) -> Address {
        match self {
            UserTx::Transfer(t) => t.from,
            UserTx::Stake(s) => s.account,
            UserTx::Unstake(u) => u.account,
            UserTx::Invite(i) => i.inviter,
            UserTx::Join(j) => j.account,
            UserTx::Report(r) => r.node,
            UserTx::Sponsor(s) => s.sponsor,
            UserTx::Withdraw(w) => w.account,
        }
    }

    pub fn nonce(&self) -> u64 {
        match self {
            UserTx::Transfer(t) => t.nonce,
            UserTx::Stake(s) => s.nonce,
            UserTx::Unstake(u) => u.nonce,
            UserTx::Invite(i) => i.nonce,
            UserTx::Join(j) => j.nonce,
            UserTx::Report(r) => r.nonce,
            UserTx::Sponsor(s) => s.nonce,
            UserTx::Withdraw(w) => w.nonce,
        }
    }

    pub fn digest(&self, domain: &Domain, separator: &[u8; 32]) -> [u8; 32] {
        match self {
            UserTx::Transfer(m) => domain.digest_with(separator, m),
            UserTx::Stake(m) => domain.digest_with(separator, m),
            UserTx::Unstake(m) => domain.digest_with(separator, m),
            UserTx::Invite(m) => domain.digest_with(separator, m),
            UserTx::Join(m) => domain.digest_with(separator, m),
            UserTx::Report(m) => domain.digest_with(separator, m),
            UserTx::Sponsor(m) => domain.digest_with(separator, m),
            UserTx::Withdraw(m) => domain.digest_with(separator, m),
        }
    }
}

/// A message with its signature. In JSON the message's fields and `signature` sit side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<T> {
    #[serde(flatten)]
    pub message: T,
    pub signature: Signature,
}

impl Signed<UserTx> {
    pub fn sign(domain: &Domain, key: &SecretKey, tx: UserTx) -> Signed<UserTx> {
        let digest = tx.digest(domain, &domain.separator());
        Signed {
            message: tx,
            signature: key.sign_digest(&digest),
        }
    }

    /// Whether the claimed signer signed it; returns the recovered address either way, for errors.
    pub fn check(&self, domain: &Domain, separator: &[u8; 32]) -> Result<bool, SignatureError> {
        let digest = self.message.digest(domain, separator);
        Ok(self.signature.recover(&digest)? == self.message.signer())
    }
}

impl Signed<Receipt> {
    pub fn sign(domain: &Domain, key: &SecretKey, receipt: Receipt) -> Signed<Receipt> {
        Signed {
            signature: key.sign_digest(&domain.digest(&receipt)),
            message: receipt,
        }
    }

    /// Whether the downloader named in the receipt signed it.
    pub fn check(&self, domain: &Domain, separator: &[u8; 32]) -> Result<bool, SignatureError> {
        let digest = domain.digest_with(separator, &self.message);
        Ok(self.signature.recover(&digest)? == self.message.downloader)
    }
}

/// The receipt's torrent field: the v2 info-hash, or for a v1-only torrent its v1 hash padded
/// with zeros (never a valid SHA-256, so the two cannot collide).
pub fn torrent_id(v1: Option<[u8; 20]>, v2: Option<[u8; 32]>) -> [u8; 32] {
    if let Some(v2) = v2 {
        return v2;
    }
    let mut id = [0u8; 32];
    if let Some(v1) = v1 {
        id[..20].copy_from_slice(&v1);
    }
    id
}

/// How long after a session opened its receipts still settle. The ledger then forgets the
/// session's lanes: without an end, every session ever settled would stay in its state (and its
/// memory) for good. Three days outlast a weekend without the hub; a connection that lives longer
/// is dropped by the uploader before then, and the next one opens a fresh session.
pub const SESSION_TTL_SECS: u64 = 3 * 86_400;

/// How far ahead of the hub's clock a session may say it opened (the uploader's clock may run
/// ahead a little; further, and a session could outlive the TTL).
pub const SESSION_SKEW_SECS: u64 = 3_600;

/// Seconds since the Unix epoch; a clock before 1970 reads as 0 rather than failing.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh session id for one download connection, opened at `now` (Unix seconds): see
/// [`session_at`].
pub fn session_id(now: u64) -> [u8; 32] {
    session_at(now, rand::random())
}

/// A session id: the Unix second it opened, as 8 big-endian bytes, then 24 bytes that make it
/// unique. Ids sort by when they opened, so the ledger drops expired ones as one range.
pub fn session_at(opened: u64, unique: [u8; 24]) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&opened.to_be_bytes());
    id[8..].copy_from_slice(&unique);
    id
}

/// When the session `id` opened (Unix seconds): its first 8 bytes.
pub fn session_opened(id: &[u8; 32]) -> u64 {
    let mut t = [0u8; 8];
    t.copy_from_slice(&id[..8]);
    u64::from_be_bytes(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_say_when_they_opened_and_sort_by_it() {
        let early = session_at(1_700_000_000, [0xff; 24]);
        let late = session_at(1_700_000_001, [0; 24]);
        assert_eq!(session_opened(&early), 1_700_000_000);
        assert_eq!(session_opened(&late), 1_700_000_001);
        assert!(early < late, "byte order is time order");
        let fresh = session_id(42);
        assert_eq!(session_opened(&fresh), 42);
        assert_ne!(fresh, session_id(42), "the rest is random");
    }

    fn domain() -> Domain {
        Domain {
            name: "VIDYA collective".into(),
            version: "1".into(),
            chain_id: 31337,
            verifying_contract: Address([7; 20]),
        }
    }

    #[test]
    fn signed_tx_round_trips_through_json_and_checks() {
        let key = SecretKey::generate();
        let d = domain();
        let tx = UserTx::Transfer(Transfer {
            from: key.address(),
            to: Address([1; 20]),
            amount: Amount::tokens(5),
            nonce: 0,
        });
        let signed = Signed::<UserTx>::sign(&d, &key, tx);
        let json = serde_json::to_string(&signed).unwrap();
        assert!(json.contains("\"type\":\"transfer\""), "{json}");
        let back: Signed<UserTx> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, signed);
        assert!(back.check(&d, &d.separator()).unwrap());
        // Another collective's domain: the same bytes are not a valid signature there.
        let other = Domain {
            chain_id: 1,
            ..d.clone()
        };
        assert!(!back.check(&other, &other.separator()).unwrap());
        // A changed field breaks it.
        let mut forged = back.clone();
        if let UserTx::Transfer(t) = &mut forged.message {
            t.amount = Amount::tokens(500);
        }
        assert!(!forged.check(&d, &d.separator()).unwrap());
    }

    #[test]
    fn receipts_are_signed_by_the_downloader() {
        let downloader = SecretKey::generate();
        let d = domain();
        let receipt = Receipt {
            collective: d.verifying_contract,
            torrent: [9; 32],
            uploader: Address([2; 20]),
            downloader: downloader.address(),
            session: [3; 32],
            bytes: 16384,
        };
        let signed = Signed::<Receipt>::sign(&d, &downloader, receipt.clone());
        assert!(signed.check(&d, &d.separator()).unwrap());
        let by_uploader = Signed::<Receipt>::sign(&d, &SecretKey::generate(), receipt);
        assert!(!by_uploader.check(&d, &d.separator()).unwrap());
        let json = serde_json::to_string(&signed).unwrap();
        assert_eq!(
            serde_json::from_str::<Signed<Receipt>>(&json).unwrap(),
            signed
        );
    }

    #[test]
    fn reports_are_signed_by_the_node_and_round_trip() {
        let node = SecretKey::generate();
        let d = domain();
        let report = Report {
            node: node.address(),
            epoch: 481_234,
            report_hash: [5; 32],
            claimed_bytes: 7 << 30,
            endpoint: "192.0.2.7:6881".into(),
            location: "52.52,13.405".into(),
            nonce: 3,
        };
        let signed = Signed::<UserTx>::sign(&d, &node, UserTx::Report(report.clone()));
        assert_eq!(signed.message.signer(), node.address());
        assert_eq!(signed.message.nonce(), 3);
        assert!(signed.check(&d, &d.separator()).unwrap());
        let json = serde_json::to_string(&signed).unwrap();
        assert!(json.contains("\"type\":\"report\""), "{json}");
        assert!(json.contains(&format!("\"report_hash\":\"0x{}\"", "05".repeat(32))));
        let back: Signed<UserTx> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, signed);
        // Every field is signed: changing any one breaks the signature.
        let changes: [fn(&mut Report); 6] = [
            |r| r.epoch += 1,
            |r| r.report_hash[0] ^= 1,
            |r| r.claimed_bytes += 1,
            |r| r.endpoint = "192.0.2.7:6882".into(),
            |r| r.location = String::new(),
            |r| r.nonce += 1,
        ];
        for change in changes {
            let mut forged = back.clone();
            if let UserTx::Report(r) = &mut forged.message {
                change(r);
            }
            assert!(!forged.check(&d, &d.separator()).unwrap());
        }
        // The type string is the protocol's: one word per field, in its order.
        assert_eq!(report.words().len(), 7);
        assert_eq!(
            Report::TYPE,
            "Report(address node,uint256 epoch,bytes32 reportHash,uint256 claimedBytes,string endpoint,string location,uint256 nonce)"
        );
    }

    #[test]
    fn torrent_ids() {
        assert_eq!(torrent_id(Some([1; 20]), Some([2; 32])), [2; 32]);
        let v1 = torrent_id(Some([1; 20]), None);
        assert_eq!(&v1[..20], &[1; 20]);
        assert_eq!(&v1[20..], &[0; 12]);
    }
}
