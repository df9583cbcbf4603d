//! Following and settling on an EVM chain (a collective whose genesis says `settlement = "evm"`).
//!
//! One task, each second:
//! 1. **Follow.** Asks the settlement back end for the confirmed events after the ledger's chain
//!    cursor and logs them as one `SystemTx::Chain` entry; member changes (a stake that crosses the
//!    minimum) reach the tracker as a signed `Join` or a stake top-up would. The cursor lives in the
//!    ledger, so a restarted hub resumes exactly where its log ends and applies no event twice.
//! 2. **Publish.** If the ledger's last close queued a settlement the chain has not seen, publishes it
//!    (slashes, then the root with what the close minted and burned). Publishing is idempotent on the
//!    chain's side (`nextEpoch`, per-evidence slashes), so a hub that crashed between its close and
//!    the chain transaction publishes on restart, never twice.
//!
//! A reorg beneath the cursor stops following with an error each second rather than guess: the
//! operator raises `confirmations` and re-syncs (docs/operations.md).

use std::sync::Arc;
use std::time::Duration;

use ledger::{ChainCursor, ChainEvent, ChainSettlement, SystemTx};
use settlement::{Cursor, EpochSettlement, Settlement, Slash};

use crate::Shared;

/// Runs until `stop` changes.
pub(crate) async fn run(
    shared: Arc<Shared>,
    settlement: Arc<dyn Settlement>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The epoch published last by this process: publishing again is harmless but costs RPC calls.
    let mut published: Option<u64> = None;
    let mut said: Option<String> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let result = async {
            // Catch up in bounded batches before publishing: a close's settlement does not depend
            // on the chain's events, but a member's standing does.
            while follow(&shared, settlement.as_ref()).await? {}
            publish(&shared, settlement.as_ref(), &mut published).await
        }
        .await;
        match result {
            Ok(()) => said = None,
            Err(e) => {
                if said.as_deref() != Some(e.as_str()) {
                    tracing::error!("settlement on the chain (will retry): {e}");
                    said = Some(e);
                }
            }
        }
    }
}

/// Applies one batch of confirmed events; true if there was one.
async fn follow(shared: &Arc<Shared>, settlement: &dyn Settlement) -> Result<bool, String> {
    let ledger = shared.ledger.clone().ok_or("no ledger")?;
    let cursor = ledger
        .state()
        .chain()
        .ok_or("the ledger does not settle on a chain")?
        .cursor
        .map(|c| Cursor {
            block: c.block,
            hash: c.hash,
        });
    let Some(batch) = settlement.poll(cursor).await.map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    let events: Vec<ChainEvent> = batch.events.into_iter().map(|o| event(o.event)).collect();
    let count = events.len();
    let tx = SystemTx::Chain {
        to: ChainCursor {
            block: batch.to.block,
            hash: batch.to.hash,
        },
        events,
    };
    let s = Arc::clone(shared);
    let changes = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let committed = ledger.system(tx).map_err(|e| e.to_string())?;
        if !committed.members.is_empty() {
            s.mirror_members(&committed.members)
                .map_err(|e| e.to_string())?;
        }
        Ok(committed.members.len())
    })
    .await
    .map_err(|e| e.to_string())??;
    if count > 0 {
        tracing::info!(
            block = batch.to.block,
            events = count,
            member_changes = changes,
            "chain events applied"
        );
    }
    Ok(true)
}

async fn publish(
    shared: &Arc<Shared>,
    settlement: &dyn Settlement,
    published: &mut Option<u64>,
) -> Result<(), String> {
    let ledger = shared.ledger.clone().ok_or("no ledger")?;
    let queued = ledger
        .state()
        .chain()
        .and_then(|c| c.last_settlement.clone());
    let Some(queued) = queued else {
        return Ok(());
    };
    if *published == Some(queued.epoch) {
        return Ok(());
    }
    let done = settlement
        .publish(&settlement_of(&queued))
        .await
        .map_err(|e| e.to_string())?;
    for t in &done.transactions {
        tracing::info!(
            epoch = queued.epoch,
            tx = %format!("0x{}", hex::encode(t.hash)),
            what = %t.what,
            gas = t.gas_used,
            "published on the chain"
        );
    }
    *published = Some(queued.epoch);
    Ok(())
}

fn event(e: settlement::ChainEvent) -> ChainEvent {
    match e {
        settlement::ChainEvent::Deposited { account, amount } => {
            ChainEvent::Deposited { account, amount }
        }
        settlement::ChainEvent::Staked {
            account,
            amount,
            lock_end,
        } => ChainEvent::Staked {
            account,
            amount,
            lock_end,
        },
        settlement::ChainEvent::Unstaked { account, amount } => {
            ChainEvent::Unstaked { account, amount }
        }
    }
}

/// The ledger's queued settlement as the back end takes it.
pub fn settlement_of(s: &ChainSettlement) -> EpochSettlement {
    EpochSettlement {
        epoch: s.epoch,
        root: s.root,
        minted: s.minted,
        burned: s.burned,
        slashes: s
            .slashes
            .iter()
            .map(|x| Slash {
                account: x.account,
                amount: x.amount,
                evidence: x.evidence,
            })
            .collect(),
    }
}
