//! The committed bytecode (`contracts/artifacts/*.json`, through this crate) run in revm, in-process:
//! ERC-20 transfers and allowances, the inflation budget and the cap, stakes and locks, slashing,
//! claims across epochs against roots from `token::distributor::EarningsTree`, deposits. Each test
//! deploys the three contracts in the documented order (the token's minter is the distributor's
//! predicted address). `gas_report` prints the gas of each operation (`-- --nocapture`).

use alloy_primitives::{Address, B256, Bytes, Log, U256, address};
use alloy_sol_types::{SolCall, SolConstructor, SolEvent, SolInterface};
use contracts::{Contract, CumulativeDistributor, SeedToken, StakingVault};
use revm::context::result::ExecutionResult;
use revm::context::{Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::{DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext, MainnetEvm};
use token::distributor::EarningsTree;

type Db = CacheDB<EmptyDB>;
type Evm = MainnetEvm<revm::handler::MainnetContext<Db>>;

const DEPLOYER: Address = address!("0x00000000000000000000000000000000000d0001");
const OPERATOR: Address = address!("0x00000000000000000000000000000000000a0001");
const ALICE: Address = address!("0x000000000000000000000000000000000000a11c");
const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");
const CAROL: Address = address!("0x00000000000000000000000000000000000ca201");
const STRANGER: Address = address!("0x00000000000000000000000000000000000ba6d0");
/// An externally owned minter, for a token tested on its own.
const MINTER: Address = address!("0x0000000000000000000000000000000000006d17");

const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
const YEAR: u64 = 365 * DAY;
const WAD: u128 = 1_000_000_000_000_000_000;

const CAP: u128 = 1_000_000_000 * WAD;
const GENESIS: u128 = 100_000_000 * WAD;
const ANNUAL_BPS: u64 = 500;
const MAX_LOCK: u64 = YEAR;
const ALPHA: u128 = 3 * WAD / 2;

fn u(x: u128) -> U256 {
    U256::from(x)
}

/// What a transaction did: its gas (as in the receipt), logs and output.
#[derive(Debug)]
struct Done {
    gas: u64,
    logs: Vec<Log>,
    output: Bytes,
}

/// A revert: its revert data.
#[derive(Debug)]
struct Reverted {
    output: Bytes,
}

impl Reverted {
    /// Decodes the revert data as one of `E`'s errors.
    fn error<E: SolInterface>(&self) -> E {
        E::abi_decode(&self.output).unwrap_or_else(|e| {
            panic!(
                "revert data 0x{} is no {}: {e}",
                hex::encode(&self.output),
                E::NAME
            )
        })
    }
}

/// An in-memory chain: one revm instance, Cancun rules, gas priced at 0 (no balances needed).
struct Chain {
    evm: Evm,
}

impl Chain {
    fn new() -> Chain {
        let ctx = Context::mainnet()
            .modify_cfg_chained(|cfg| cfg.set_spec_and_mainnet_gas_params(SpecId::CANCUN))
            .with_db(Db::default());
        let mut evm = ctx.build_mainnet();
        evm.ctx.block.number = U256::from(1);
        evm.ctx.block.timestamp = U256::from(T0);
        evm.ctx.block.basefee = 0;
        evm.ctx.block.gas_limit = 30_000_000;
        Chain { evm }
    }

    fn now(&self) -> u64 {
        self.evm.ctx.block.timestamp.to::<u64>()
    }

    /// Sets the next block's timestamp (and moves to a new block).
    fn set_time(&mut self, timestamp: u64) {
        self.evm.ctx.block.timestamp = U256::from(timestamp);
        self.evm.ctx.block.number += U256::from(1);
    }

    fn advance(&mut self, secs: u64) {
        let now = self.now();
        self.set_time(now + secs);
    }

    fn nonce(&self, account: Address) -> u64 {
        self.evm
            .ctx
            .journaled_state
            .database
            .basic_ref(account)
            .unwrap()
            .map_or(0, |info| info.nonce)
    }

    /// Runs and commits one transaction from `from`.
    fn send(&mut self, from: Address, to: Option<Address>, data: Vec<u8>) -> ExecutionResult {
        let builder = TxEnv::builder()
            .caller(from)
            .nonce(self.nonce(from))
            .gas_limit(15_000_000)
            .gas_price(0)
            .data(data.into());
        let builder = match to {
            Some(to) => builder.call(to),
            None => builder.create(),
        };
        let tx = builder.build().expect("transaction");
        self.evm.transact_commit(tx).expect("valid transaction")
    }

    fn deploy(&mut self, from: Address, contract: Contract, args: Vec<u8>) -> (Address, u64) {
        let data = contract.deploy_data(&args).unwrap().to_vec();
        let expected = from.create(self.nonce(from));
        match self.send(from, None, data) {
            ExecutionResult::Success { gas, output, .. } => {
                let at = *output.address().expect("a created address");
                assert_eq!(at, expected);
                (at, gas.tx_gas_used())
            }
            other => panic!("deploying {contract:?} failed: {other:?}"),
        }
    }

    /// Calls `call` on `to` from `from`; Ok with gas and logs, or Err with the revert data.
    fn call<C: SolCall>(&mut self, from: Address, to: Address, call: C) -> Result<Done, Reverted> {
        match self.send(from, Some(to), call.abi_encode()) {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => Ok(Done {
                gas: gas.tx_gas_used(),
                logs,
                output: output.into_data(),
            }),
            ExecutionResult::Revert { output, .. } => Err(Reverted { output }),
            ExecutionResult::Halt { reason, .. } => panic!("halted: {reason:?}"),
        }
    }

    /// A call expected to succeed.
    fn ok<C: SolCall>(&mut self, from: Address, to: Address, call: C) -> Done {
        let name = C::SIGNATURE;
        self.call(from, to, call)
            .unwrap_or_else(|r| panic!("{name} reverted: 0x{}", hex::encode(&r.output)))
    }

    /// A call expected to revert.
    fn fails<C: SolCall>(&mut self, from: Address, to: Address, call: C) -> Reverted {
        let name = C::SIGNATURE;
        match self.call(from, to, call) {
            Ok(_) => panic!("{name} succeeded; it should have reverted"),
            Err(r) => r,
        }
    }

    /// A view call (committed like any call; views change nothing but the caller's nonce).
    fn view<C: SolCall>(&mut self, to: Address, call: C) -> C::Return {
        let done = self.ok(STRANGER, to, call);
        C::abi_decode_returns(&done.output).expect("return data")
    }
}

/// The deployed collective.
struct Collective {
    chain: Chain,
    token: Address,
    vault: Address,
    distributor: Address,
    /// Deployment gas: token, distributor, vault.
    deploy_gas: [u64; 3],
}

impl Collective {
    /// Deploys in the documented order: the token (minter = the distributor's predicted address),
    /// the distributor, the vault. The genesis supply goes to the operator.
    fn new() -> Collective {
        let mut chain = Chain::new();
        let predicted = DEPLOYER.create(chain.nonce(DEPLOYER) + 1);
        let (token, token_gas) = chain.deploy(
            DEPLOYER,
            Contract::SeedToken,
            SeedToken::constructorCall {
                name_: "Seed".into(),
                symbol_: "SEED".into(),
                cap_: u(CAP),
                annualBps_: U256::from(ANNUAL_BPS),
                minter_: predicted,
                initialHolder: OPERATOR,
                initialSupply: u(GENESIS),
            }
            .abi_encode(),
        );
        let (distributor, distributor_gas) = chain.deploy(
            DEPLOYER,
            Contract::CumulativeDistributor,
            CumulativeDistributor::constructorCall {
                token_: token,
                operator: OPERATOR,
            }
            .abi_encode(),
        );
        assert_eq!(distributor, predicted);
        let (vault, vault_gas) = chain.deploy(
            DEPLOYER,
            Contract::StakingVault,
            StakingVault::constructorCall {
                token_: token,
                operator: OPERATOR,
                maxLockSecs_: MAX_LOCK,
                alphaWad_: u(ALPHA),
            }
            .abi_encode(),
        );
        let mut collective = Collective {
            chain,
            token,
            vault,
            distributor,
            deploy_gas: [token_gas, distributor_gas, vault_gas],
        };
        // Members get tokens from the genesis holder.
        for member in [ALICE, BOB, CAROL] {
            collective.transfer(OPERATOR, member, 1_000_000 * WAD);
        }
        collective
    }

    fn transfer(&mut self, from: Address, to: Address, amount: u128) -> Done {
        let token = self.token;
        let done = self.chain.ok(
            from,
            token,
            SeedToken::transferCall {
                to,
                value: u(amount),
            },
        );
        assert!(SeedToken::transferCall::abi_decode_returns(&done.output).unwrap());
        done
    }

    fn approve(&mut self, owner: Address, spender: Address, amount: u128) -> Done {
        let token = self.token;
        self.chain.ok(
            owner,
            token,
            SeedToken::approveCall {
                spender,
                value: u(amount),
            },
        )
    }

    fn balance(&mut self, account: Address) -> U256 {
        let token = self.token;
        self.chain.view(token, SeedToken::balanceOfCall { account })
    }

    fn supply(&mut self) -> U256 {
        let token = self.token;
        self.chain.view(token, SeedToken::totalSupplyCall {})
    }

    fn mintable(&mut self) -> U256 {
        let token = self.token;
        self.chain.view(token, SeedToken::mintableCall {})
    }

    fn stake(&mut self, account: Address, amount: u128, lock_end: u64) -> Result<Done, Reverted> {
        let vault = self.vault;
        self.chain.call(
            account,
            vault,
            StakingVault::stakeCall {
                amount: u(amount),
                lockEnd: lock_end,
            },
        )
    }

    fn position(&mut self, account: Address) -> (U256, u64) {
        let vault = self.vault;
        let p = self
            .chain
            .view(vault, StakingVault::positionsCall { account });
        (p.amount, p.lockEnd)
    }

    fn post_root(
        &mut self,
        from: Address,
        epoch: u64,
        root: [u8; 32],
        mint: u128,
        burn: u128,
    ) -> Result<Done, Reverted> {
        let distributor = self.distributor;
        self.chain.call(
            from,
            distributor,
            CumulativeDistributor::postRootCall {
                epoch,
                root: root.into(),
                mintAmount: u(mint),
                burnAmount: u(burn),
            },
        )
    }

    fn claim(
        &mut self,
        caller: Address,
        account: Address,
        cumulative: u128,
        proof: &[[u8; 32]],
    ) -> Result<Done, Reverted> {
        let distributor = self.distributor;
        self.chain.call(
            caller,
            distributor,
            CumulativeDistributor::claimCall {
                account,
                cumulativeAmount: u(cumulative),
                proof: proof.iter().map(|p| B256::from(*p)).collect(),
            },
        )
    }
}

/// The one log of event `E` among `logs`, emitted by `at`.
fn event<E: SolEvent>(logs: &[Log], at: Address) -> E {
    let mut found = logs
        .iter()
        .filter(|log| log.address == at && log.data.topics().first() == Some(&E::SIGNATURE_HASH));
    let log = found
        .next()
        .unwrap_or_else(|| panic!("no {} event", E::SIGNATURE));
    assert!(
        found.next().is_none(),
        "more than one {} event",
        E::SIGNATURE
    );
    E::decode_log_data(&log.data).expect("event data")
}

fn tree_address(account: Address) -> token::Address {
    token::Address(account.into_array())
}

/// An EarningsTree of (account, cumulative amount).
fn tree(values: &[(Address, u128)]) -> EarningsTree {
    let values: Vec<(token::Address, u128)> = values
        .iter()
        .map(|(a, amount)| (tree_address(*a), *amount))
        .collect();
    EarningsTree::build(&values)
}

fn proof(tree: &EarningsTree, account: Address) -> Vec<[u8; 32]> {
    tree.proof(&tree_address(account)).expect("a leaf")
}

/// The budget the token accrues over `dt` seconds at `supply`.
fn accrual(supply: U256, dt: u64) -> U256 {
    supply * U256::from(ANNUAL_BPS) * U256::from(dt) / U256::from(10_000u64 * YEAR)
}

#[test]
fn deployment_wires_the_contracts() {
    let mut c = Collective::new();
    let (token, vault, distributor) = (c.token, c.vault, c.distributor);
    assert_eq!(c.chain.view(token, SeedToken::minterCall {}), distributor);
    assert_eq!(c.chain.view(token, SeedToken::nameCall {}), "Seed");
    assert_eq!(c.chain.view(token, SeedToken::symbolCall {}), "SEED");
    assert_eq!(c.chain.view(token, SeedToken::decimalsCall {}), 18);
    assert_eq!(c.chain.view(token, SeedToken::capCall {}), u(CAP));
    assert_eq!(
        c.chain.view(token, SeedToken::annualBpsCall {}),
        U256::from(ANNUAL_BPS)
    );
    assert_eq!(c.supply(), u(GENESIS));
    assert_eq!(c.chain.view(vault, StakingVault::ownerCall {}), OPERATOR);
    assert_eq!(c.chain.view(vault, StakingVault::tokenCall {}), token);
    assert_eq!(
        c.chain.view(vault, StakingVault::maxLockSecsCall {}),
        MAX_LOCK
    );
    assert_eq!(c.chain.view(vault, StakingVault::alphaWadCall {}), u(ALPHA));
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::ownerCall {}),
        OPERATOR
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::nextEpochCall {}),
        0
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::lastEpochCall {}),
        0
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::rootCall {}),
        B256::ZERO
    );

    // Bad vault parameters are refused at deployment.
    for (alpha, max_lock) in [(WAD / 3, MAX_LOCK), (8 * WAD + WAD / 2, MAX_LOCK), (WAD, 0)] {
        let data = Contract::StakingVault
            .deploy_data(
                &StakingVault::constructorCall {
                    token_: token,
                    operator: OPERATOR,
                    maxLockSecs_: max_lock,
                    alphaWad_: u(alpha),
                }
                .abi_encode(),
            )
            .unwrap();
        let result = c.chain.send(DEPLOYER, None, data.to_vec());
        let ExecutionResult::Revert { output, .. } = result else {
            panic!("vault with alpha {alpha}, max lock {max_lock} deployed: {result:?}");
        };
        let error = Reverted { output }.error::<StakingVault::StakingVaultErrors>();
        if max_lock == 0 {
            assert_eq!(
                error,
                StakingVault::StakingVaultErrors::InvalidMaxLock(StakingVault::InvalidMaxLock {})
            );
        } else {
            assert_eq!(
                error,
                StakingVault::StakingVaultErrors::InvalidAlpha(StakingVault::InvalidAlpha {
                    alphaWad: u(alpha)
                })
            );
        }
    }
}

#[test]
fn erc20_transfers_and_allowances() {
    let mut c = Collective::new();
    let token = c.token;

    let done = c.transfer(ALICE, BOB, 10 * WAD);
    let transfer: SeedToken::Transfer = event(&done.logs, token);
    assert_eq!(
        (transfer.from, transfer.to, transfer.value),
        (ALICE, BOB, u(10 * WAD))
    );
    assert_eq!(c.balance(ALICE), u(1_000_000 * WAD - 10 * WAD));
    assert_eq!(c.balance(BOB), u(1_000_000 * WAD + 10 * WAD));

    // Beyond the balance.
    let r = c.chain.fails(
        STRANGER,
        token,
        SeedToken::transferCall {
            to: ALICE,
            value: u(1),
        },
    );
    assert_eq!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20InsufficientBalance(SeedToken::ERC20InsufficientBalance {
            sender: STRANGER,
            balance: U256::ZERO,
            needed: u(1),
        })
    );

    // Allowances.
    let done = c.approve(ALICE, CAROL, 5 * WAD);
    let approval: SeedToken::Approval = event(&done.logs, token);
    assert_eq!(
        (approval.owner, approval.spender, approval.value),
        (ALICE, CAROL, u(5 * WAD))
    );
    assert_eq!(
        c.chain.view(
            token,
            SeedToken::allowanceCall {
                owner: ALICE,
                spender: CAROL
            }
        ),
        u(5 * WAD)
    );
    c.chain.ok(
        CAROL,
        token,
        SeedToken::transferFromCall {
            from: ALICE,
            to: STRANGER,
            value: u(3 * WAD),
        },
    );
    assert_eq!(c.balance(STRANGER), u(3 * WAD));
    assert_eq!(
        c.chain.view(
            token,
            SeedToken::allowanceCall {
                owner: ALICE,
                spender: CAROL
            }
        ),
        u(2 * WAD)
    );
    let r = c.chain.fails(
        CAROL,
        token,
        SeedToken::transferFromCall {
            from: ALICE,
            to: CAROL,
            value: u(2 * WAD + 1),
        },
    );
    assert_eq!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20InsufficientAllowance(
            SeedToken::ERC20InsufficientAllowance {
                spender: CAROL,
                allowance: u(2 * WAD),
                needed: u(2 * WAD + 1),
            }
        )
    );
    // Burning one's own tokens lowers the supply.
    c.chain
        .ok(BOB, token, SeedToken::burnCall { value: u(WAD) });
    assert_eq!(c.supply(), u(GENESIS - WAD));
}

/// A token on its own, its minter an externally owned account, to test the budget exactly.
fn lone_token(chain: &mut Chain, cap: u128, supply: u128) -> Address {
    chain
        .deploy(
            DEPLOYER,
            Contract::SeedToken,
            SeedToken::constructorCall {
                name_: "Lone".into(),
                symbol_: "LONE".into(),
                cap_: u(cap),
                annualBps_: U256::from(ANNUAL_BPS),
                minter_: MINTER,
                initialHolder: OPERATOR,
                initialSupply: u(supply),
            }
            .abi_encode(),
        )
        .0
}

#[test]
fn inflation_budget_accrues_and_bounds_minting() {
    let mut chain = Chain::new();
    let token = lone_token(&mut chain, CAP, GENESIS);
    let mint = |to: Address, amount: U256| SeedToken::mintCall { to, amount };

    // Nothing at deployment.
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), U256::ZERO);
    let r = chain.fails(MINTER, token, mint(ALICE, u(1)));
    assert_eq!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::MintExceedsBudget(SeedToken::MintExceedsBudget {
            amount: u(1),
            budget: U256::ZERO,
        })
    );

    // One day accrues supply * 5% / 365, exactly as specified.
    chain.advance(DAY);
    let budget = accrual(u(GENESIS), DAY);
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), budget);
    let r = chain.fails(MINTER, token, mint(ALICE, budget + U256::from(1)));
    assert_eq!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::MintExceedsBudget(SeedToken::MintExceedsBudget {
            amount: budget + U256::from(1),
            budget,
        })
    );

    // Only the minter.
    for caller in [STRANGER, OPERATOR, DEPLOYER] {
        let r = chain.fails(caller, token, mint(caller, u(1)));
        assert_eq!(
            r.error::<SeedToken::SeedTokenErrors>(),
            SeedToken::SeedTokenErrors::NotMinter(SeedToken::NotMinter { caller })
        );
    }

    // Part of it now; the rest carries over and keeps accruing on the new supply.
    let part = budget / U256::from(3);
    chain.ok(MINTER, token, mint(ALICE, part));
    let supply = u(GENESIS) + part;
    assert_eq!(chain.view(token, SeedToken::totalSupplyCall {}), supply);
    assert_eq!(
        chain.view(token, SeedToken::balanceOfCall { account: ALICE }),
        part
    );
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), budget - part);
    chain.advance(2 * DAY);
    let carried = budget - part + accrual(supply, 2 * DAY);
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), carried);
    chain.ok(MINTER, token, mint(BOB, carried));
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), U256::ZERO);
    let supply = supply + carried;

    // A burn accrues at the old supply first, then the lower supply accrues less.
    chain.advance(DAY);
    chain.ok(
        OPERATOR,
        token,
        SeedToken::burnCall {
            value: u(GENESIS / 2),
        },
    );
    let before_burn = accrual(supply, DAY);
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), before_burn);
    chain.advance(DAY);
    let after = before_burn + accrual(supply - u(GENESIS / 2), DAY);
    assert_eq!(chain.view(token, SeedToken::mintableCall {}), after);

    // Linear is never below the hub's compound schedule: a year at 5% allows supply * 5%.
    let mut chain = Chain::new();
    let token = lone_token(&mut chain, CAP, GENESIS);
    chain.advance(YEAR);
    assert_eq!(
        chain.view(token, SeedToken::mintableCall {}),
        u(GENESIS / 20)
    );
}

#[test]
fn the_cap_holds_whatever_the_budget() {
    let mut chain = Chain::new();
    // Room for 1,000 tokens above the genesis; a year's budget is 5,000,000.
    let token = lone_token(&mut chain, GENESIS + 1_000 * WAD, GENESIS);
    chain.advance(YEAR);
    let budget = chain.view(token, SeedToken::mintableCall {});
    assert!(budget > u(1_000 * WAD));
    let r = chain.fails(
        MINTER,
        token,
        SeedToken::mintCall {
            to: ALICE,
            amount: u(1_000 * WAD + 1),
        },
    );
    assert_eq!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20ExceededCap(SeedToken::ERC20ExceededCap {
            increasedSupply: u(GENESIS + 1_000 * WAD + 1),
            cap: u(GENESIS + 1_000 * WAD),
        })
    );
    chain.ok(
        MINTER,
        token,
        SeedToken::mintCall {
            to: ALICE,
            amount: u(1_000 * WAD),
        },
    );
    assert_eq!(
        chain.view(token, SeedToken::totalSupplyCall {}),
        u(GENESIS + 1_000 * WAD)
    );
    let r = chain.fails(
        MINTER,
        token,
        SeedToken::mintCall {
            to: ALICE,
            amount: u(1),
        },
    );
    assert!(matches!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20ExceededCap(_)
    ));
    // A genesis above the cap is refused.
    let data = Contract::SeedToken
        .deploy_data(
            &SeedToken::constructorCall {
                name_: "Over".into(),
                symbol_: "OVER".into(),
                cap_: u(10),
                annualBps_: U256::from(ANNUAL_BPS),
                minter_: MINTER,
                initialHolder: OPERATOR,
                initialSupply: u(11),
            }
            .abi_encode(),
        )
        .unwrap();
    assert!(matches!(
        chain.send(DEPLOYER, None, data.to_vec()),
        ExecutionResult::Revert { .. }
    ));
}

#[test]
fn stakes_lock_and_unlock() {
    let mut c = Collective::new();
    let (token, vault) = (c.token, c.vault);
    c.approve(ALICE, vault, u128::MAX);
    let now = c.chain.now();

    // Refused: nothing, a lock already over, beyond the longest lock.
    let vault_error = |r: Reverted| r.error::<StakingVault::StakingVaultErrors>();
    assert_eq!(
        vault_error(c.stake(ALICE, 0, now + DAY).unwrap_err()),
        StakingVault::StakingVaultErrors::ZeroAmount(StakingVault::ZeroAmount {})
    );
    for lock_end in [now, now - 1, now + MAX_LOCK + 1] {
        assert_eq!(
            vault_error(c.stake(ALICE, WAD, lock_end).unwrap_err()),
            StakingVault::StakingVaultErrors::InvalidLockEnd(StakingVault::InvalidLockEnd {
                lockEnd: lock_end,
                latest: U256::from(now + MAX_LOCK),
            })
        );
    }
    // Without an allowance the transfer fails.
    let r = c.stake(BOB, WAD, now + DAY).unwrap_err();
    assert!(matches!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20InsufficientAllowance(_)
    ));

    // Stake for 30 days.
    let done = c.stake(ALICE, 1_000 * WAD, now + 30 * DAY).unwrap();
    let staked: StakingVault::Staked = event(&done.logs, vault);
    assert_eq!(
        (staked.account, staked.amount, staked.lockEnd),
        (ALICE, u(1_000 * WAD), now + 30 * DAY)
    );
    assert_eq!(c.position(ALICE), (u(1_000 * WAD), now + 30 * DAY));
    assert_eq!(
        c.chain.view(vault, StakingVault::totalStakedCall {}),
        u(1_000 * WAD)
    );
    assert_eq!(c.balance(vault), u(1_000 * WAD));
    assert_eq!(c.balance(ALICE), u(999_000 * WAD));

    // Locks never shorten; a top-up may keep or extend the lock.
    assert_eq!(
        vault_error(c.stake(ALICE, WAD, now + 29 * DAY).unwrap_err()),
        StakingVault::StakingVaultErrors::LockShortened(StakingVault::LockShortened {
            lockEnd: now + 29 * DAY,
            current: now + 30 * DAY,
        })
    );
    c.stake(ALICE, 500 * WAD, now + 30 * DAY).unwrap();
    c.chain.advance(DAY);
    c.stake(ALICE, 500 * WAD, now + 60 * DAY).unwrap();
    assert_eq!(c.position(ALICE), (u(2_000 * WAD), now + 60 * DAY));

    // Not before the lock ends.
    let vault_addr = vault;
    let r = c.chain.fails(
        ALICE,
        vault_addr,
        StakingVault::unstakeCall { amount: u(1) },
    );
    assert_eq!(
        vault_error(r),
        StakingVault::StakingVaultErrors::StillLocked(StakingVault::StillLocked {
            lockEnd: now + 60 * DAY
        })
    );
    c.chain.set_time(now + 60 * DAY - 1);
    assert!(
        c.chain
            .call(ALICE, vault, StakingVault::unstakeCall { amount: u(1) })
            .is_err()
    );
    c.chain.set_time(now + 60 * DAY);
    let r = c.chain.fails(
        ALICE,
        vault,
        StakingVault::unstakeCall {
            amount: u(2_000 * WAD + 1),
        },
    );
    assert_eq!(
        vault_error(r),
        StakingVault::StakingVaultErrors::InsufficientStake(StakingVault::InsufficientStake {
            amount: u(2_000 * WAD + 1),
            staked: u(2_000 * WAD),
        })
    );
    let done = c.chain.ok(
        ALICE,
        vault,
        StakingVault::unstakeCall {
            amount: u(1_500 * WAD),
        },
    );
    let unstaked: StakingVault::Unstaked = event(&done.logs, vault);
    assert_eq!((unstaked.account, unstaked.amount), (ALICE, u(1_500 * WAD)));
    let transfer: SeedToken::Transfer = event(&done.logs, token);
    assert_eq!((transfer.from, transfer.to), (vault, ALICE));
    assert_eq!(c.position(ALICE), (u(500 * WAD), now + 60 * DAY));
    assert_eq!(
        c.chain.view(vault, StakingVault::totalStakedCall {}),
        u(500 * WAD)
    );
    assert_eq!(c.balance(ALICE), u(999_500 * WAD));

    // After the lock ended a new lock starts from now (never beyond now + maxLock).
    let later = c.chain.now();
    c.stake(ALICE, WAD, later + MAX_LOCK).unwrap();
    assert_eq!(c.position(ALICE), (u(501 * WAD), later + MAX_LOCK));
}

#[test]
fn weight_follows_the_lock() {
    let mut c = Collective::new();
    let vault = c.vault;
    c.approve(ALICE, vault, u128::MAX);
    c.approve(BOB, vault, u128::MAX);
    let now = c.chain.now();
    c.stake(ALICE, 1_000 * WAD, now + MAX_LOCK).unwrap();
    c.stake(BOB, 1_000 * WAD, now + MAX_LOCK / 2).unwrap();
    let weight = |c: &mut Collective, account: Address| -> f64 {
        let w: U256 = c.chain.view(vault, StakingVault::weightOfCall { account });
        w.to::<u128>() as f64 / WAD as f64
    };
    // The longest lock weighs its amount; half of it 0.5^1.5 of it.
    assert_eq!(weight(&mut c, ALICE), 1_000.0);
    let half = weight(&mut c, BOB);
    assert!((half - 1_000.0 * 0.5f64.powf(1.5)).abs() < 1e-6, "{half}");
    assert_eq!(weight(&mut c, CAROL), 0.0);
    // It runs down with time and is 0 once the lock ends.
    c.chain.set_time(now + MAX_LOCK * 3 / 4);
    let quarter = weight(&mut c, ALICE);
    assert!(
        (quarter - 1_000.0 * 0.25f64.powf(1.5)).abs() < 1e-6,
        "{quarter}"
    );
    assert_eq!(weight(&mut c, BOB), 0.0);
    c.chain.set_time(now + MAX_LOCK);
    assert_eq!(weight(&mut c, ALICE), 0.0);
}

#[test]
fn slashing_is_the_operators_and_bounded_by_the_stake() {
    let mut c = Collective::new();
    let (token, vault) = (c.token, c.vault);
    c.approve(ALICE, vault, u128::MAX);
    let now = c.chain.now();
    c.stake(ALICE, 1_000 * WAD, now + 30 * DAY).unwrap();
    let evidence = B256::repeat_byte(0xe5);
    let slash_for = |amount: u128, evidence: B256| StakingVault::slashCall {
        account: ALICE,
        amount: u(amount),
        evidence,
    };
    let slash = |amount: u128| slash_for(amount, evidence);

    for caller in [STRANGER, ALICE, DEPLOYER] {
        let r = c.chain.fails(caller, vault, slash(1));
        assert_eq!(
            r.error::<StakingVault::StakingVaultErrors>(),
            StakingVault::StakingVaultErrors::OwnableUnauthorizedAccount(
                StakingVault::OwnableUnauthorizedAccount { account: caller }
            )
        );
    }
    let r = c.chain.fails(OPERATOR, vault, slash(1_000 * WAD + 1));
    assert_eq!(
        r.error::<StakingVault::StakingVaultErrors>(),
        StakingVault::StakingVaultErrors::InsufficientStake(StakingVault::InsufficientStake {
            amount: u(1_000 * WAD + 1),
            staked: u(1_000 * WAD),
        })
    );

    let supply = c.supply();
    let done = c.chain.ok(OPERATOR, vault, slash(400 * WAD));
    let slashed: StakingVault::Slashed = event(&done.logs, vault);
    assert_eq!(
        (slashed.account, slashed.amount, slashed.evidence),
        (ALICE, u(400 * WAD), evidence)
    );
    let burned: SeedToken::Transfer = event(&done.logs, token);
    assert_eq!(
        (burned.from, burned.to, burned.value),
        (vault, Address::ZERO, u(400 * WAD))
    );
    assert_eq!(c.supply(), supply - u(400 * WAD));
    assert_eq!(c.balance(vault), u(600 * WAD));
    assert_eq!(c.position(ALICE), (u(600 * WAD), now + 30 * DAY));
    assert_eq!(
        c.chain.view(vault, StakingVault::totalStakedCall {}),
        u(600 * WAD)
    );
    // The same evidence slashes once: a retried slash burns nothing.
    assert!(c.chain.view(vault, StakingVault::slashedCall { evidence }));
    let r = c.chain.fails(OPERATOR, vault, slash(1));
    assert_eq!(
        r.error::<StakingVault::StakingVaultErrors>(),
        StakingVault::StakingVaultErrors::EvidenceUsed(StakingVault::EvidenceUsed { evidence })
    );
    // The whole remaining stake, and then nothing more.
    let second = B256::repeat_byte(0xe6);
    c.chain.ok(OPERATOR, vault, slash_for(600 * WAD, second));
    assert_eq!(c.position(ALICE).0, U256::ZERO);
    assert!(
        c.chain
            .call(OPERATOR, vault, slash_for(1, B256::repeat_byte(0xe7)))
            .is_err()
    );
    assert_eq!(c.supply(), supply - u(1_000 * WAD));
}

#[test]
fn claims_pay_cumulative_differences_across_epochs() {
    let mut c = Collective::new();
    let (token, distributor) = (c.token, c.distributor);
    let dist_error = |r: Reverted| r.error::<CumulativeDistributor::CumulativeDistributorErrors>();
    type E = CumulativeDistributor::CumulativeDistributorErrors;
    c.chain.advance(DAY);

    // Epoch 0: alice 100, bob 50, carol 0 (a leaf with nothing).
    let epoch0 = tree(&[(ALICE, 100 * WAD), (BOB, 50 * WAD), (CAROL, 0)]);
    let r = c
        .post_root(STRANGER, 0, epoch0.root(), 150 * WAD, 0)
        .unwrap_err();
    assert_eq!(
        dist_error(r),
        E::OwnableUnauthorizedAccount(CumulativeDistributor::OwnableUnauthorizedAccount {
            account: STRANGER
        })
    );
    let supply = c.supply();
    let done = c
        .post_root(OPERATOR, 0, epoch0.root(), 150 * WAD, 0)
        .unwrap();
    let posted: CumulativeDistributor::RootPosted = event(&done.logs, distributor);
    assert_eq!(
        (posted.epoch, posted.root, posted.minted, posted.burned),
        (0, B256::from(epoch0.root()), u(150 * WAD), U256::ZERO)
    );
    assert_eq!(c.supply(), supply + u(150 * WAD));
    assert_eq!(c.balance(distributor), u(150 * WAD));
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::rootCall {}),
        B256::from(epoch0.root())
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::lastEpochCall {}),
        0
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::nextEpochCall {}),
        1
    );
    // The same epoch again is refused.
    let r = c.post_root(OPERATOR, 0, epoch0.root(), 0, 0).unwrap_err();
    assert_eq!(
        dist_error(r),
        E::EpochTooLow(CumulativeDistributor::EpochTooLow {
            epoch: 0,
            nextEpoch: 1
        })
    );

    // Alice claims for herself.
    let alice_before = c.balance(ALICE);
    let done = c
        .claim(ALICE, ALICE, 100 * WAD, &proof(&epoch0, ALICE))
        .unwrap();
    let claimed: CumulativeDistributor::Claimed = event(&done.logs, distributor);
    assert_eq!(
        (claimed.account, claimed.amount, claimed.cumulativeAmount),
        (ALICE, u(100 * WAD), u(100 * WAD))
    );
    assert_eq!(c.balance(ALICE), alice_before + u(100 * WAD));
    assert_eq!(
        c.chain.view(
            distributor,
            CumulativeDistributor::claimedCall { account: ALICE }
        ),
        u(100 * WAD)
    );
    // Twice is refused.
    let r = c
        .claim(ALICE, ALICE, 100 * WAD, &proof(&epoch0, ALICE))
        .unwrap_err();
    assert_eq!(
        dist_error(r),
        E::NothingToClaim(CumulativeDistributor::NothingToClaim { account: ALICE })
    );
    // A zero leaf proves, but pays nothing.
    let r = c
        .claim(CAROL, CAROL, 0, &proof(&epoch0, CAROL))
        .unwrap_err();
    assert_eq!(
        dist_error(r),
        E::NothingToClaim(CumulativeDistributor::NothingToClaim { account: CAROL })
    );
    // An inflated amount, someone else's proof, a tampered proof, no proof: refused.
    let invalid = E::InvalidProof(CumulativeDistributor::InvalidProof {});
    let bob_proof = proof(&epoch0, BOB);
    let mut tampered = bob_proof.clone();
    tampered[0][7] ^= 1;
    for (account, amount, p) in [
        (BOB, 51 * WAD, bob_proof.clone()),
        (BOB, 100 * WAD, proof(&epoch0, ALICE)),
        (ALICE, 50 * WAD, bob_proof.clone()),
        (BOB, 50 * WAD, tampered),
        (BOB, 50 * WAD, vec![]),
        (STRANGER, 50 * WAD, bob_proof.clone()),
    ] {
        let r = c.claim(STRANGER, account, amount, &p).unwrap_err();
        assert_eq!(dist_error(r), invalid, "{account} {amount}");
    }
    // Carol claims Bob's on his behalf: Bob is paid, Carol is not.
    let (bob_before, carol_before) = (c.balance(BOB), c.balance(CAROL));
    let done = c.claim(CAROL, BOB, 50 * WAD, &bob_proof).unwrap();
    let transfer: SeedToken::Transfer = event(&done.logs, token);
    assert_eq!(
        (transfer.from, transfer.to, transfer.value),
        (distributor, BOB, u(50 * WAD))
    );
    assert_eq!(c.balance(BOB), bob_before + u(50 * WAD));
    assert_eq!(c.balance(CAROL), carol_before);
    assert_eq!(c.balance(distributor), U256::ZERO);

    // Epoch 1: alice 250 (+150), bob 50 (+0), carol 30 (+30); 180 minted, 10 of it burned again.
    c.chain.advance(DAY);
    let epoch1 = tree(&[(ALICE, 250 * WAD), (BOB, 50 * WAD), (CAROL, 30 * WAD)]);
    let supply = c.supply();
    let done = c
        .post_root(OPERATOR, 1, epoch1.root(), 190 * WAD, 10 * WAD)
        .unwrap();
    let posted: CumulativeDistributor::RootPosted = event(&done.logs, distributor);
    assert_eq!(
        (posted.epoch, posted.minted, posted.burned),
        (1, u(190 * WAD), u(10 * WAD))
    );
    assert_eq!(c.supply(), supply + u(180 * WAD));
    assert_eq!(c.balance(distributor), u(180 * WAD));
    // The old root's proofs no longer prove.
    let r = c
        .claim(ALICE, ALICE, 100 * WAD, &proof(&epoch0, ALICE))
        .unwrap_err();
    assert_eq!(dist_error(r), invalid);
    let done = c
        .claim(STRANGER, ALICE, 250 * WAD, &proof(&epoch1, ALICE))
        .unwrap();
    let claimed: CumulativeDistributor::Claimed = event(&done.logs, distributor);
    assert_eq!(
        (claimed.amount, claimed.cumulativeAmount),
        (u(150 * WAD), u(250 * WAD))
    );
    let r = c
        .claim(BOB, BOB, 50 * WAD, &proof(&epoch1, BOB))
        .unwrap_err();
    assert_eq!(
        dist_error(r),
        E::NothingToClaim(CumulativeDistributor::NothingToClaim { account: BOB })
    );
    c.claim(CAROL, CAROL, 30 * WAD, &proof(&epoch1, CAROL))
        .unwrap();
    assert_eq!(c.balance(distributor), U256::ZERO);

    // Epochs may be skipped (an unposted close), never revisited; a mint beyond the budget is
    // refused by the token, and the whole post with it.
    c.chain.advance(DAY);
    let epoch5 = tree(&[(ALICE, 260 * WAD)]);
    let budget = c.mintable();
    let r = c.post_root(OPERATOR, 5, epoch5.root(), 0, 0).map(|d| d.gas);
    assert!(r.is_ok());
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::nextEpochCall {}),
        6
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::lastEpochCall {}),
        5
    );
    let r = c.post_root(OPERATOR, 6, epoch5.root(), 0, 0).map(|d| d.gas);
    assert!(r.is_ok());
    let r = c.post_root(OPERATOR, 3, epoch5.root(), 0, 0).unwrap_err();
    assert_eq!(
        dist_error(r),
        E::EpochTooLow(CumulativeDistributor::EpochTooLow {
            epoch: 3,
            nextEpoch: 7
        })
    );
    let over = budget + U256::from(1);
    let distributor_addr = distributor;
    let r = c
        .chain
        .fails(
            OPERATOR,
            distributor_addr,
            CumulativeDistributor::postRootCall {
                epoch: 7,
                root: B256::from(epoch5.root()),
                mintAmount: over,
                burnAmount: U256::ZERO,
            },
        )
        .error::<SeedToken::SeedTokenErrors>();
    assert_eq!(
        r,
        SeedToken::SeedTokenErrors::MintExceedsBudget(SeedToken::MintExceedsBudget {
            amount: over,
            budget,
        })
    );
    assert_eq!(
        c.chain
            .view(distributor, CumulativeDistributor::nextEpochCall {}),
        7
    );
    // Burning more than it holds is refused too.
    let r = c.post_root(OPERATOR, 7, epoch5.root(), 0, 1).unwrap_err();
    assert!(matches!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20InsufficientBalance(_)
    ));
}

#[test]
fn deposits_are_pulled_and_announced() {
    let mut c = Collective::new();
    let distributor = c.distributor;
    type E = CumulativeDistributor::CumulativeDistributorErrors;

    // Without an allowance.
    let r = c.chain.fails(
        ALICE,
        distributor,
        CumulativeDistributor::depositCall { amount: u(WAD) },
    );
    assert!(matches!(
        r.error::<SeedToken::SeedTokenErrors>(),
        SeedToken::SeedTokenErrors::ERC20InsufficientAllowance(_)
    ));
    c.approve(ALICE, distributor, 100 * WAD);
    let r = c.chain.fails(
        ALICE,
        distributor,
        CumulativeDistributor::depositCall { amount: U256::ZERO },
    );
    assert_eq!(
        r.error::<E>(),
        E::ZeroAmount(CumulativeDistributor::ZeroAmount {})
    );

    let done = c.chain.ok(
        ALICE,
        distributor,
        CumulativeDistributor::depositCall {
            amount: u(30 * WAD),
        },
    );
    let deposited: CumulativeDistributor::Deposited = event(&done.logs, distributor);
    assert_eq!((deposited.account, deposited.amount), (ALICE, u(30 * WAD)));
    let done = c.chain.ok(
        ALICE,
        distributor,
        CumulativeDistributor::depositForCall {
            account: BOB,
            amount: u(20 * WAD),
        },
    );
    let deposited: CumulativeDistributor::Deposited = event(&done.logs, distributor);
    assert_eq!((deposited.account, deposited.amount), (BOB, u(20 * WAD)));
    assert_eq!(c.balance(distributor), u(50 * WAD));
    assert_eq!(c.balance(ALICE), u(1_000_000 * WAD - 50 * WAD));
    assert_eq!(c.balance(BOB), u(1_000_000 * WAD));
}

#[test]
fn ownership_moves_in_two_steps() {
    let mut c = Collective::new();
    let vault = c.vault;
    c.chain.ok(
        OPERATOR,
        vault,
        StakingVault::transferOwnershipCall { newOwner: CAROL },
    );
    // Not yet: the old operator still slashes, the new one not yet.
    assert_eq!(c.chain.view(vault, StakingVault::ownerCall {}), OPERATOR);
    assert_eq!(
        c.chain.view(vault, StakingVault::pendingOwnerCall {}),
        CAROL
    );
    assert!(
        c.chain
            .call(STRANGER, vault, StakingVault::acceptOwnershipCall {})
            .is_err()
    );
    c.chain
        .ok(CAROL, vault, StakingVault::acceptOwnershipCall {});
    assert_eq!(c.chain.view(vault, StakingVault::ownerCall {}), CAROL);
}

#[test]
fn gas_report() {
    let mut c = Collective::new();
    let (vault, distributor) = (c.vault, c.distributor);
    let mut report: Vec<(&str, u64)> = vec![
        ("deploy SeedToken", c.deploy_gas[0]),
        ("deploy CumulativeDistributor", c.deploy_gas[1]),
        ("deploy StakingVault", c.deploy_gas[2]),
    ];

    report.push(("transfer (to a holder)", c.transfer(ALICE, BOB, WAD).gas));
    report.push((
        "transfer (to a new holder)",
        c.transfer(ALICE, STRANGER, WAD).gas,
    ));
    report.push(("approve", c.approve(ALICE, vault, u128::MAX).gas));
    let now = c.chain.now();
    report.push((
        "stake (first)",
        c.stake(ALICE, 1_000 * WAD, now + 30 * DAY).unwrap().gas,
    ));
    report.push((
        "stake (top-up, longer lock)",
        c.stake(ALICE, 1_000 * WAD, now + 60 * DAY).unwrap().gas,
    ));
    report.push((
        "slash",
        c.chain
            .ok(
                OPERATOR,
                vault,
                StakingVault::slashCall {
                    account: ALICE,
                    amount: u(100 * WAD),
                    evidence: B256::repeat_byte(1),
                },
            )
            .gas,
    ));
    c.chain.set_time(now + 60 * DAY);
    report.push((
        "unstake (part)",
        c.chain
            .ok(
                ALICE,
                vault,
                StakingVault::unstakeCall {
                    amount: u(900 * WAD),
                },
            )
            .gas,
    ));
    report.push((
        "unstake (all)",
        c.chain
            .ok(
                ALICE,
                vault,
                StakingVault::unstakeCall {
                    amount: u(1_000 * WAD),
                },
            )
            .gas,
    ));

    // A close of 1,000 accounts (proofs of 9-10 hashes).
    let accounts: Vec<(Address, u128)> = (0..1_000u64)
        .map(|i| {
            let mut bytes = [0u8; 20];
            bytes[..8].copy_from_slice(&(0x5eed_0000_0000_0000 + i).to_be_bytes());
            (Address::from(bytes), WAD + u128::from(i) * WAD / 1_000)
        })
        .collect();
    let total: u128 = accounts.iter().map(|(_, a)| a).sum();
    let epoch0 = tree(&accounts);
    report.push((
        "postRoot (first, minting)",
        c.post_root(OPERATOR, 0, epoch0.root(), total, 0)
            .unwrap()
            .gas,
    ));
    let (first, first_amount) = accounts[0];
    let first_proof = proof(&epoch0, first);
    report.push((
        "claim (first claim, 1,000-leaf tree)",
        c.claim(first, first, first_amount, &first_proof)
            .unwrap()
            .gas,
    ));
    let (second, second_amount) = accounts[1];
    report.push((
        "claim (on someone's behalf)",
        c.claim(STRANGER, second, second_amount, &proof(&epoch0, second))
            .unwrap()
            .gas,
    ));
    c.chain.advance(DAY);
    let raised: Vec<(Address, u128)> = accounts.iter().map(|&(a, x)| (a, 2 * x)).collect();
    let epoch1 = tree(&raised);
    report.push((
        "postRoot (next, minting and burning)",
        c.post_root(OPERATOR, 1, epoch1.root(), total, WAD)
            .unwrap()
            .gas,
    ));
    report.push((
        "claim (again, next epoch)",
        c.claim(first, first, 2 * first_amount, &proof(&epoch1, first))
            .unwrap()
            .gas,
    ));
    c.approve(BOB, distributor, u128::MAX);
    report.push((
        "deposit",
        c.chain
            .ok(
                BOB,
                distributor,
                CumulativeDistributor::depositCall { amount: u(WAD) },
            )
            .gas,
    ));
    report.push((
        "depositFor",
        c.chain
            .ok(
                BOB,
                distributor,
                CumulativeDistributor::depositForCall {
                    account: CAROL,
                    amount: u(WAD),
                },
            )
            .gas,
    ));

    // One write, so that other tests' lines do not land inside the table.
    let mut table = String::from("gas used per operation (revm 43, Cancun, as in the receipt):\n");
    for (operation, gas) in &report {
        table.push_str(&format!("  {operation:<40} {gas:>9}\n"));
        assert!(*gas > 21_000 && *gas < 3_000_000, "{operation}: {gas}");
    }
    eprint!("{table}");
}
