//! The member's side of the EVM back end: what an account holds on the chain, and the transactions a
//! member sends itself (stake, unstake, deposit, claim, transfer).

use alloy::primitives::{B256, U256};
use serde::{Deserialize, Serialize};
use token::{Address, Amount, SecretKey};

use super::bindings::{CumulativeDistributor, SeedToken, StakingVault};
use super::{Chain, EvmConfig, amount, evm_address, token_address};
use crate::{SentTx, SettlementError};

/// One account's tokens on the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnChainBalance {
    /// The ERC-20 balance.
    pub wallet: Amount,
    /// Staked in the vault.
    pub staked: Amount,
    /// When the stake's lock ends (unix seconds; 0 if never staked).
    pub lock_end: u64,
    /// What the distributor has paid the account in all.
    pub claimed: Amount,
}

/// A member's account on the collective's contracts.
pub struct Wallet {
    chain: Chain,
    token: alloy::primitives::Address,
    vault: alloy::primitives::Address,
    distributor: alloy::primitives::Address,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("rpc", &self.chain.url)
            .field("account", &self.chain.from)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Connects `key`'s account to the contracts of `config` (its RPC URL, chain id and addresses;
    /// the following settings are unused), checking the chain id and that the contracts exist.
    pub async fn connect(config: &EvmConfig, key: &SecretKey) -> Result<Wallet, SettlementError> {
        let chain = Chain::connect(&config.rpc_url, config.chain_id, key).await?;
        chain
            .check_code(&[
                ("token", config.token),
                ("vault", config.vault),
                ("distributor", config.distributor),
            ])
            .await?;
        Ok(Wallet {
            chain,
            token: evm_address(config.token),
            vault: evm_address(config.vault),
            distributor: evm_address(config.distributor),
        })
    }

    /// The wallet's own account.
    pub fn address(&self) -> Address {
        token_address(self.chain.from)
    }

    /// What `account` holds: wallet balance, stake and lock, and what it was paid by the distributor.
    pub async fn balance(&self, account: Address) -> Result<OnChainBalance, SettlementError> {
        let chain = &self.chain;
        let who = evm_address(account);
        let token = SeedToken::new(self.token, &chain.provider);
        let vault = StakingVault::new(self.vault, &chain.provider);
        let distributor = CumulativeDistributor::new(self.distributor, &chain.provider);
        let wallet = chain
            .read("SeedToken.balanceOf", token.balanceOf(who))
            .await?;
        let position = chain
            .read("StakingVault.positions", vault.positions(who))
            .await?;
        let claimed = chain
            .read("CumulativeDistributor.claimed", distributor.claimed(who))
            .await?;
        Ok(OnChainBalance {
            wallet: amount("the wallet balance", wallet)?,
            staked: amount("the stake", position.amount)?,
            lock_end: position.lockEnd,
            claimed: amount("the amount claimed", claimed)?,
        })
    }

    /// Stakes `amount` more, locked until `lock_end` (unix seconds; after the next block's time, at
    /// most the vault's longest lock ahead, never before the current lock end). Approves the vault
    /// first when its allowance is short: the approval, if sent, then the stake.
    pub async fn stake(
        &self,
        amount: Amount,
        lock_end: u64,
    ) -> Result<Vec<SentTx>, SettlementError> {
        let mut sent = self.approve(self.vault, "the vault", amount).await?;
        let vault = StakingVault::new(self.vault, &self.chain.provider);
        let what = format!("stake of {amount} until {lock_end}");
        sent.push(
            self.chain
                .send(what, vault.stake(U256::from(amount.0), lock_end))
                .await?,
        );
        Ok(sent)
    }

    /// Withdraws `amount` of the stake (refused before the lock ends).
    pub async fn unstake(&self, amount: Amount) -> Result<SentTx, SettlementError> {
        let vault = StakingVault::new(self.vault, &self.chain.provider);
        self.chain
            .send(
                format!("unstake of {amount}"),
                vault.unstake(U256::from(amount.0)),
            )
            .await
    }

    /// Deposits `amount` into the distributor, credited to this account at the hub. Approves the
    /// distributor first when its allowance is short.
    pub async fn deposit(&self, amount: Amount) -> Result<Vec<SentTx>, SettlementError> {
        let mut sent = self
            .approve(self.distributor, "the distributor", amount)
            .await?;
        let distributor = CumulativeDistributor::new(self.distributor, &self.chain.provider);
        sent.push(
            self.chain
                .send(
                    format!("deposit of {amount}"),
                    distributor.deposit(U256::from(amount.0)),
                )
                .await?,
        );
        Ok(sent)
    }

    /// Claims for `account` (any account: the tokens go to it) its `cumulative` earnings of the
    /// current root, with its proof (`token::distributor::EarningsTree::proof`).
    pub async fn claim(
        &self,
        account: Address,
        cumulative: Amount,
        proof: &[[u8; 32]],
    ) -> Result<SentTx, SettlementError> {
        let distributor = CumulativeDistributor::new(self.distributor, &self.chain.provider);
        let proof = proof.iter().copied().map(B256::from).collect();
        self.chain
            .send(
                format!("claim of {account} at cumulative {cumulative}"),
                distributor.claim(evm_address(account), U256::from(cumulative.0), proof),
            )
            .await
    }

    /// Transfers `amount` tokens to `to`.
    pub async fn transfer(&self, to: Address, amount: Amount) -> Result<SentTx, SettlementError> {
        let token = SeedToken::new(self.token, &self.chain.provider);
        self.chain
            .send(
                format!("transfer of {amount} to {to}"),
                token.transfer(evm_address(to), U256::from(amount.0)),
            )
            .await
    }

    /// Approves `spender` for exactly `amount` unless its allowance already covers it.
    async fn approve(
        &self,
        spender: alloy::primitives::Address,
        name: &str,
        amount: Amount,
    ) -> Result<Vec<SentTx>, SettlementError> {
        let token = SeedToken::new(self.token, &self.chain.provider);
        let allowance = self
            .chain
            .read(
                "SeedToken.allowance",
                token.allowance(self.chain.from, spender),
            )
            .await?;
        if allowance >= U256::from(amount.0) {
            return Ok(Vec::new());
        }
        let what = format!("approval of {amount} for {name}");
        Ok(vec![
            self.chain
                .send(what, token.approve(spender, U256::from(amount.0)))
                .await?,
        ])
    }
}
