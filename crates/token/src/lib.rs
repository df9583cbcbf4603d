//! The collective's token where it meets users: amounts, EVM accounts and their keys, the EIP-712
//! typed messages that carry every user action and every download receipt, the Ethereum v3
//! keystore that holds a key on disk, the Sign-In with Ethereum (EIP-4361) messages a member's
//! key signs to sign in to the hub's web site, and the Merkle tree of cumulative earnings a
//! distributor contract pays out against.
//!
//! Pure: no I/O beyond what the keystore is handed, no clock. The ledger checks what is signed here;
//! a contract on an EVM chain can check the same signatures, which is why the encodings follow
//! EIP-712 to the byte.

mod address;
mod amount;
pub mod audit_answer;
pub mod distributor;
pub mod eip712;
pub mod hexser;
mod keccak_many;
mod key;
pub mod keystore;
pub mod messages;
pub mod siwe;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError, DECIMALS};
pub use audit_answer::AuditAnswer;
pub use eip712::{Domain, TypedMessage, keccak256};
pub use hexser::{hash_hex, hex32, parse_hash};
pub use key::{SecretKey, Signature, SignatureError};
pub use messages::{
    Invite, Join, Receipt, ReceiptOutcome, Report, SESSION_SKEW_SECS, SESSION_TTL_SECS, Signed,
    Sponsor, Stake, Transfer, Unstake, UserTx, Withdraw, session_at, session_id, session_opened,
    torrent_id, unix_now,
};
pub use siwe::{SiweError, SiweMessage, personal_digest, sign_personal};
