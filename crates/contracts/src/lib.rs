//! The collective's Solidity contracts (`contracts/src/*.sol`) as compiled artifacts and ABI bindings.
//!
//! The artifacts (`contracts/artifacts/<Name>.json`: `contractName`, `abi`, `bytecode`,
//! `deployedBytecode`) are committed and built into this crate with `include_str!`, so `cargo build`
//! never needs node or solc. They are produced by `node contracts/build.mjs` (solc-js 0.8.37 pinned in
//! `contracts/package-lock.json`, optimizer 200 runs, EVM version cancun, no metadata trailer, so the
//! bytecode is reproducible); `tests/artifacts.rs` fails CI if they differ from the sources.
//!
//! The bindings ([`SeedToken`], [`StakingVault`], [`CumulativeDistributor`]) are written out with
//! `alloy_sol_types::sol!`; a unit test checks that every function, event and error in them has the
//! signature of one in the artifact's ABI and the reverse, so a change to a contract that is not
//! mirrored here fails the tests. Encode a call with `SeedToken::transferCall { to, value }.abi_encode()`,
//! decode an event with `StakingVault::Staked::decode_log_data(&log.data)`, a revert with
//! `StakingVault::StakingVaultErrors::abi_decode(&output)`.
//!
//! # Deployment
//!
//! SeedToken's `minter` is immutable and is the CumulativeDistributor, so the distributor's address is
//! predicted before it exists (CREATE: `keccak256(rlp([deployer, nonce]))[12..]`, alloy's
//! `Address::create`): with the deployer's next nonce `n`,
//! 1. deploy `SeedToken(name, symbol, cap, annualBps, minter = deployer.create(n + 1), holder, supply)`
//!    at nonce `n`;
//! 2. deploy `CumulativeDistributor(token, operator)` at nonce `n + 1` (it lands at the predicted
//!    address; check `token.minter()` against it);
//! 3. deploy `StakingVault(token, operator, maxLockSecs, alphaWad)`.
//!
//! Each deployment's data is [`Contract::deploy_data`] with the ABI-encoded constructor arguments
//! (`SeedToken::constructorCall { .. }.abi_encode()`).

pub use alloy_primitives;
pub use alloy_sol_types;

use alloy_primitives::Bytes;
use serde_json::Value;

/// `contracts/artifacts/SeedToken.json`, as committed.
pub const SEED_TOKEN_JSON: &str = include_str!("../../../contracts/artifacts/SeedToken.json");
/// `contracts/artifacts/StakingVault.json`, as committed.
pub const STAKING_VAULT_JSON: &str = include_str!("../../../contracts/artifacts/StakingVault.json");
/// `contracts/artifacts/CumulativeDistributor.json`, as committed.
pub const CUMULATIVE_DISTRIBUTOR_JSON: &str =
    include_str!("../../../contracts/artifacts/CumulativeDistributor.json");

/// A malformed artifact: only possible if a committed JSON file was edited by hand.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The artifact is not JSON.
    #[error("{contract}: the artifact is not valid JSON: {source}")]
    Json {
        contract: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A field is missing or of the wrong JSON type.
    #[error("{contract}: the artifact has no {expected} field `{field}`")]
    MissingField {
        contract: &'static str,
        field: &'static str,
        expected: &'static str,
    },
    /// `contractName` is not the contract's.
    #[error("{contract}: the artifact is for contract `{found}`")]
    WrongContract {
        contract: &'static str,
        found: String,
    },
    /// A bytecode field is not `0x` followed by an even number of hex digits, or is empty.
    #[error("{contract}: `{field}` is not non-empty 0x-prefixed hex")]
    BadHex {
        contract: &'static str,
        field: &'static str,
    },
}

/// One of the collective's contracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Contract {
    /// The ERC-20 (capped, burnable) with the minter's inflation budget.
    SeedToken,
    /// Time-locked stakes, slashed by the operator.
    StakingVault,
    /// Cumulative Merkle earnings, the token's minter, and deposits.
    CumulativeDistributor,
}

impl Contract {
    /// The three, in deployment order.
    pub const ALL: [Contract; 3] = [
        Contract::SeedToken,
        Contract::CumulativeDistributor,
        Contract::StakingVault,
    ];

    /// The Solidity contract's name (and its artifact's file stem).
    pub const fn name(self) -> &'static str {
        match self {
            Contract::SeedToken => "SeedToken",
            Contract::StakingVault => "StakingVault",
            Contract::CumulativeDistributor => "CumulativeDistributor",
        }
    }

    /// The committed artifact's text.
    pub const fn artifact_json(self) -> &'static str {
        match self {
            Contract::SeedToken => SEED_TOKEN_JSON,
            Contract::StakingVault => STAKING_VAULT_JSON,
            Contract::CumulativeDistributor => CUMULATIVE_DISTRIBUTOR_JSON,
        }
    }

    /// The artifact, parsed, with its `contractName` checked.
    fn artifact(self) -> Result<Value, ArtifactError> {
        let contract = self.name();
        let value: Value = serde_json::from_str(self.artifact_json())
            .map_err(|source| ArtifactError::Json { contract, source })?;
        match value.get("contractName").and_then(Value::as_str) {
            Some(found) if found == contract => Ok(value),
            Some(found) => Err(ArtifactError::WrongContract {
                contract,
                found: found.to_owned(),
            }),
            None => Err(ArtifactError::MissingField {
                contract,
                field: "contractName",
                expected: "string",
            }),
        }
    }

    /// A `0x..` hex field of the artifact, decoded.
    fn hex_field(self, field: &'static str) -> Result<Bytes, ArtifactError> {
        let contract = self.name();
        let artifact = self.artifact()?;
        let text =
            artifact
                .get(field)
                .and_then(Value::as_str)
                .ok_or(ArtifactError::MissingField {
                    contract,
                    field,
                    expected: "string",
                })?;
        let digits = text
            .strip_prefix("0x")
            .filter(|d| !d.is_empty())
            .ok_or(ArtifactError::BadHex { contract, field })?;
        hex::decode(digits)
            .map(Bytes::from)
            .map_err(|_| ArtifactError::BadHex { contract, field })
    }

    /// The ABI (the artifact's `abi` array) as JSON.
    pub fn abi(self) -> Result<Value, ArtifactError> {
        let contract = self.name();
        let mut artifact = self.artifact()?;
        match artifact.get_mut("abi").map(Value::take) {
            Some(abi @ Value::Array(_)) => Ok(abi),
            _ => Err(ArtifactError::MissingField {
                contract,
                field: "abi",
                expected: "array",
            }),
        }
    }

    /// The creation bytecode (constructor arguments not included: see [`Contract::deploy_data`]).
    pub fn bytecode(self) -> Result<Bytes, ArtifactError> {
        self.hex_field("bytecode")
    }

    /// The runtime bytecode a deployment leaves at the contract's address (immutables as zeros:
    /// the deployed code has the constructor's values in their place).
    pub fn deployed_bytecode(self) -> Result<Bytes, ArtifactError> {
        self.hex_field("deployedBytecode")
    }

    /// A deployment transaction's data: the creation bytecode followed by the ABI-encoded
    /// constructor arguments (e.g. `SeedToken::constructorCall { .. }.abi_encode()`).
    pub fn deploy_data(self, constructor_args: &[u8]) -> Result<Bytes, ArtifactError> {
        let mut data = self.bytecode()?.to_vec();
        data.extend_from_slice(constructor_args);
        Ok(data.into())
    }
}

alloy_sol_types::sol! {
    /// SeedToken: ERC20 + ERC20Capped + ERC20Burnable, minted only by the distributor within an
    /// inflation budget that accrues `totalSupply * annualBps * dt / (10_000 * 365 days)`.
    #[sol(all_derives)]
    contract SeedToken {
        constructor(string name, string symbol, uint256 cap, uint256 annualBps, address minter,
                    address initialHolder, uint256 initialSupply);

        function name() external view returns (string);
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
        function totalSupply() external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
        function cap() external view returns (uint256);
        function burn(uint256 value) external;
        function burnFrom(address account, uint256 value) external;

        function minter() external view returns (address);
        function annualBps() external view returns (uint256);
        /// The budget accrued up to `block.timestamp` and not yet minted (not limited by the cap).
        function mintable() external view returns (uint256);
        /// Only the minter; `amount <= mintable()`; the cap is enforced too.
        function mint(address to, uint256 amount) external;

        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);

        error NotMinter(address caller);
        error MintExceedsBudget(uint256 amount, uint256 budget);
        error ZeroMinter();
        error ERC20ExceededCap(uint256 increasedSupply, uint256 cap);
        error ERC20InvalidCap(uint256 cap);
        error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
        error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
        error ERC20InvalidApprover(address approver);
        error ERC20InvalidReceiver(address receiver);
        error ERC20InvalidSender(address sender);
        error ERC20InvalidSpender(address spender);
    }

    /// StakingVault: time-locked stakes (locks never shorten), slashed (burned) by the operator,
    /// Ownable2Step.
    #[sol(all_derives)]
    contract StakingVault {
        struct Position { uint256 amount; uint64 lockEnd; }

        constructor(address token, address operator, uint64 maxLockSecs, uint256 alphaWad);

        function token() external view returns (address);
        function maxLockSecs() external view returns (uint64);
        function alphaWad() external view returns (uint256);
        function positions(address account) external view returns (uint256 amount, uint64 lockEnd);
        function totalStaked() external view returns (uint256);
        /// `amount > 0`; `now < lockEnd <= now + maxLock`; `lockEnd` not before the current one.
        function stake(uint256 amount, uint64 lockEnd) external;
        /// Only once `block.timestamp >= lockEnd`; `amount` at most the stake.
        function unstake(uint256 amount) external;
        /// Only the operator; `amount` at most the stake; burns it; each `evidence` once.
        function slash(address account, uint256 amount, bytes32 evidence) external;
        /// Whether a slash for `evidence` was made.
        function slashed(bytes32 evidence) external view returns (bool);
        /// `amount * (min(remaining, maxLock) / maxLock)^alpha`, 0 once the lock has ended.
        function weightOf(address account) external view returns (uint256);

        function owner() external view returns (address);
        function pendingOwner() external view returns (address);
        function transferOwnership(address newOwner) external;
        function acceptOwnership() external;
        function renounceOwnership() external;

        event Staked(address indexed account, uint256 amount, uint64 lockEnd);
        event Unstaked(address indexed account, uint256 amount);
        event Slashed(address indexed account, uint256 amount, bytes32 evidence);
        event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
        event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

        error InvalidAlpha(uint256 alphaWad);
        error InvalidMaxLock();
        error ZeroToken();
        error ZeroAmount();
        error InvalidLockEnd(uint64 lockEnd, uint256 latest);
        error LockShortened(uint64 lockEnd, uint64 current);
        error StillLocked(uint64 lockEnd);
        error InsufficientStake(uint256 amount, uint256 staked);
        error EvidenceUsed(bytes32 evidence);
        error OwnableInvalidOwner(address owner);
        error OwnableUnauthorizedAccount(address account);
        error SafeERC20FailedOperation(address token);
    }

    /// CumulativeDistributor: per-epoch roots of cumulative earnings (OZ StandardMerkleTree over
    /// `["address", "uint256"]`), claims of the difference, deposits; SeedToken's minter;
    /// Ownable2Step.
    #[sol(all_derives)]
    contract CumulativeDistributor {
        constructor(address token, address operator);

        function token() external view returns (address);
        /// The lowest epoch `postRoot` accepts (0 at first).
        function nextEpoch() external view returns (uint64);
        function root() external view returns (bytes32);
        /// The epoch of the current root (0 before any).
        function lastEpoch() external view returns (uint64);
        /// The cumulative amount already paid to each account.
        function claimed(address account) external view returns (uint256);
        /// Only the operator; `epoch >= nextEpoch()`; mints `mintAmount` here, burns `burnAmount`.
        function postRoot(uint64 epoch, bytes32 root, uint256 mintAmount, uint256 burnAmount) external;
        /// Anyone, for anyone: pays `cumulativeAmount - claimed(account)` to `account`.
        function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external;
        function deposit(uint256 amount) external;
        function depositFor(address account, uint256 amount) external;

        function owner() external view returns (address);
        function pendingOwner() external view returns (address);
        function transferOwnership(address newOwner) external;
        function acceptOwnership() external;
        function renounceOwnership() external;

        event RootPosted(uint64 indexed epoch, bytes32 root, uint256 minted, uint256 burned);
        event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
        event Deposited(address indexed account, uint256 amount);
        event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
        event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

        error ZeroToken();
        error EpochTooLow(uint64 epoch, uint64 nextEpoch);
        error InvalidProof();
        error NothingToClaim(address account);
        error ZeroAmount();
        error OwnableInvalidOwner(address owner);
        error OwnableUnauthorizedAccount(address account);
        error SafeERC20FailedOperation(address token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A Solidity type as it appears in a signature (tuples expanded from `components`).
    fn canonical_type(param: &Value) -> String {
        let ty = param["type"].as_str().expect("ABI parameter type");
        match ty.strip_prefix("tuple") {
            Some(array_suffix) => {
                let inner: Vec<String> = param["components"]
                    .as_array()
                    .expect("tuple components")
                    .iter()
                    .map(canonical_type)
                    .collect();
                format!("({}){array_suffix}", inner.join(","))
            }
            None => ty.to_owned(),
        }
    }

    /// Every `kind` entry of the ABI as `name(types)`.
    fn abi_signatures(abi: &Value, kind: &str) -> BTreeSet<String> {
        abi.as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["type"] == kind)
            .map(|entry| {
                let types: Vec<String> = entry["inputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(canonical_type)
                    .collect();
                format!("{}({})", entry["name"].as_str().unwrap(), types.join(","))
            })
            .collect()
    }

    fn set(signatures: &[&str]) -> BTreeSet<String> {
        signatures.iter().map(|s| s.to_string()).collect()
    }

    /// The constructor's input types from the ABI, as a tuple signature.
    fn constructor_types(abi: &Value) -> String {
        let entry = abi
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["type"] == "constructor")
            .expect("constructor");
        let types: Vec<String> = entry["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(canonical_type)
            .collect();
        format!("({})", types.join(","))
    }

    #[test]
    fn artifacts_parse() {
        for contract in Contract::ALL {
            let code = contract.bytecode().unwrap();
            let deployed = contract.deployed_bytecode().unwrap();
            assert!(code.len() > deployed.len(), "{contract:?}");
            // EIP-170: deployable on mainnet.
            assert!(deployed.len() <= 24_576, "{contract:?}: {}", deployed.len());
            assert!(contract.abi().unwrap().as_array().unwrap().len() > 5);
            let data = contract.deploy_data(&[1, 2, 3]).unwrap();
            assert_eq!(&data[..code.len()], &code[..]);
            assert_eq!(&data[code.len()..], &[1, 2, 3]);
        }
    }

    #[test]
    fn bindings_match_the_abi() {
        use alloy_sol_types::{SolConstructor, SolType};

        let abi = Contract::SeedToken.abi().unwrap();
        assert_eq!(
            abi_signatures(&abi, "function"),
            set(SeedToken::SeedTokenCalls::SIGNATURES)
        );
        assert_eq!(
            abi_signatures(&abi, "event"),
            set(SeedToken::SeedTokenEvents::SIGNATURES)
        );
        assert_eq!(
            abi_signatures(&abi, "error"),
            set(SeedToken::SeedTokenErrors::SIGNATURES)
        );
        assert_eq!(
            constructor_types(&abi),
            <<SeedToken::constructorCall as SolConstructor>::Parameters<'_> as SolType>::SOL_NAME
        );

        let abi = Contract::StakingVault.abi().unwrap();
        assert_eq!(
            abi_signatures(&abi, "function"),
            set(StakingVault::StakingVaultCalls::SIGNATURES)
        );
        assert_eq!(
            abi_signatures(&abi, "event"),
            set(StakingVault::StakingVaultEvents::SIGNATURES)
        );
        assert_eq!(
            abi_signatures(&abi, "error"),
            set(StakingVault::StakingVaultErrors::SIGNATURES)
        );
        assert_eq!(
            constructor_types(&abi),
            <<StakingVault::constructorCall as SolConstructor>::Parameters<'_> as SolType>::SOL_NAME
        );

        let abi = Contract::CumulativeDistributor.abi().unwrap();
        assert_eq!(
            abi_signatures(&abi, "function"),
            set(CumulativeDistributor::CumulativeDistributorCalls::SIGNATURES)
        );
        assert_eq!(
            abi_signatures(&abi, "event"),
            set(CumulativeDistributor::CumulativeDistributorEvents::SIGNATURES)
        );
        assert_eq!(
            abi_signatures(&abi, "error"),
            set(CumulativeDistributor::CumulativeDistributorErrors::SIGNATURES)
        );
        assert_eq!(
            constructor_types(&abi),
            <<CumulativeDistributor::constructorCall as SolConstructor>::Parameters<'_> as SolType>::SOL_NAME
        );
    }

    #[test]
    fn the_claim_leaf_is_the_tree_leaf() {
        // The distributor's leaf, keccak256(bytes.concat(keccak256(abi.encode(account, amount)))),
        // spelled with the bindings' types.
        use alloy_primitives::{U256, address, keccak256};
        use alloy_sol_types::SolValue;
        let account = address!("0x1111111111111111111111111111111111111111");
        let amount = U256::from(1_000_000_000_000_000_000u128);
        let leaf = keccak256(keccak256((account, amount).abi_encode()));
        assert_eq!(
            hex::encode(leaf),
            "b38ec842db1cd54e5e5ce48491f1a404551e9726ebda349d0478e189e0996dd4"
        );
    }
}
