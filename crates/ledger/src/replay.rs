//! Replaying the log: what start-up does (trusting signatures checked when entries were written)
//! and what `seedbank hub verify` does (checking every signature again). Either way the hash
//! chain, every checkpoint's state root and the materialised tables must agree with the replay.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::Serialize;

use crate::LedgerError;
use crate::state::{State, Supply, entry_hash};
use crate::store;
use crate::tx::{Entry, Tx};

#[derive(Clone, Debug, Serialize)]
pub struct ReplayReport {
    pub entries: u64,
    pub checkpoints: usize,
    pub accounts: usize,
    #[serde(serialize_with = "token::hex32::serialize")]
    pub log_hash: [u8; 32],
    #[serde(serialize_with = "token::hex32::serialize")]
    pub state_root: [u8; 32],
    pub supply: Supply,
    pub signatures_checked: bool,
    #[serde(skip)]
    pub elapsed: Duration,
}

pub(crate) fn parse_entry(seq: u64, time: u64, body: &str) -> Result<Entry, LedgerError> {
    let tx: Tx = serde_json::from_str(body).map_err(|e| LedgerError::BadEntry {
        seq,
        reason: format!("unreadable body: {e}"),
    })?;
    Ok(Entry { seq, time, tx })
}

pub(crate) fn replay(
    conn: &Connection,
    check_signatures: bool,
    mut progress: impl FnMut(u64),
) -> Result<(State, ReplayReport), LedgerError> {
    let started = Instant::now();
    let checkpoints = store::checkpoints(conn)?;
    let mut next_checkpoint = checkpoints.iter().peekable();
    let mut state = State::default();
    let mut failure = None;
    store::for_each_entry(conn, |stored| {
        if failure.is_some() {
            return Ok(());
        }
        let result = (|| {
            if stored.seq != state.next_seq() {
                return Err(LedgerError::BadEntry {
                    seq: stored.seq,
                    reason: format!(
                        "expected entry {} here: the log has a gap",
                        state.next_seq()
                    ),
                });
            }
            let expected = entry_hash(
                &state.log_hash(),
                stored.seq,
                stored.time,
                stored.body.as_bytes(),
            );
            if expected != stored.hash {
                return Err(LedgerError::BadEntry {
                    seq: stored.seq,
                    reason: "hash does not chain from the entry before (edited or reordered)"
                        .into(),
                });
            }
            if stored.time < state.time() {
                return Err(LedgerError::BadEntry {
                    seq: stored.seq,
                    reason: "time goes back".into(),
                });
            }
            let entry = parse_entry(stored.seq, stored.time, &stored.body)?;
            state
                .apply(&entry, stored.body.as_bytes(), check_signatures)
                .map_err(|e| LedgerError::BadEntry {
                    seq: stored.seq,
                    reason: e.to_string(),
                })?;
            while let Some((seq, hash, root)) = next_checkpoint.peek() {
                if *seq > state.next_seq() {
                    break;
                }
                if *seq == state.next_seq() && (*hash != state.log_hash() || *root != state.root())
                {
                    return Err(LedgerError::Diverged(format!(
                        "the replayed state after entry {} differs from its checkpoint",
                        seq.saturating_sub(1)
                    )));
                }
                next_checkpoint.next();
            }
            if state.next_seq() % 10_000 == 0 {
                progress(state.next_seq());
            }
            Ok(())
        })();
        if let Err(e) = result {
            failure = Some(e);
        }
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if state.genesis().is_none() {
        return Err(LedgerError::NoGenesis);
    }
    if let Some((seq, _, _)) = next_checkpoint.next() {
        return Err(LedgerError::Diverged(format!(
            "a checkpoint at entry {seq} lies beyond the end of the log ({}): entries are missing",
            state.next_seq()
        )));
    }
    let supply = state.recount().map_err(LedgerError::Diverged)?;
    let root = state.root();
    let tables = store::load_tables(conn)?;
    if tables.root() != root {
        return Err(LedgerError::Diverged(
            "the account tables disagree with the replayed log".into(),
        ));
    }
    let report = ReplayReport {
        entries: state.next_seq(),
        checkpoints: checkpoints.len(),
        accounts: state.accounts.len(),
        log_hash: state.log_hash(),
        state_root: root,
        supply,
        signatures_checked: check_signatures,
        elapsed: started.elapsed(),
    };
    Ok((state, report))
}
