//! `audit.sqlite`: what the auditor must not forget. The epoch secrets (written before their
//! commitment is logged, or a crash would leave an epoch that can never be revealed), the full
//! hosting reports the ledger binds by hash, every finished audit with its mark, the evidence of
//! wrong answers, and the blocks nodes still owe (containment).
//!
//! Its own file beside `ledger.sqlite` and `hub.sqlite`, like the ledger: audits write all
//! epoch long and must not contend with the tracker's flushes. `synchronous=FULL` in WAL mode.

use std::path::Path;

use audit::Mark as AuditMark;
use audit::{Challenge, Evidence, HostingReport};
use hubapi::AuditRecord;
use hubapi::views::{EarningEpoch, EconomyEpoch, SupplyView, TorrentEpoch};
use rusqlite::{Connection, OptionalExtension, params};
use token::Address;

use crate::store::{StoreError, open_durable, to_i64};

/// 2: `closes`, what each epoch close did. 3: the history the charts read, cut from each close.
const SCHEMA_VERSION: i64 = 3;

/// Small JSON rows (`hubapi::views` values) by what a page asks for: one torrent's market over the
/// epochs, one account's earnings, the whole economy. Closes stored before schema 3 are cut into
/// these rows when the store opens.
const HISTORY: &str = "
CREATE TABLE close_totals (
    epoch  INTEGER PRIMARY KEY,
    body   TEXT NOT NULL
);
CREATE TABLE close_torrents (
    torrent  BLOB NOT NULL,
    epoch    INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (torrent, epoch)
) WITHOUT ROWID;
CREATE TABLE close_accounts (
    account  BLOB NOT NULL,
    epoch    INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (account, epoch)
) WITHOUT ROWID;
";

const CLOSES: &str = "
CREATE TABLE closes (
    epoch    INTEGER PRIMARY KEY,
    summary  TEXT NOT NULL
);
";

const SCHEMA: &str = "
CREATE TABLE secrets (
    epoch       INTEGER PRIMARY KEY,
    secret      BLOB NOT NULL,
    commitment  BLOB NOT NULL
);
CREATE TABLE reports (
    hash   BLOB PRIMARY KEY,
    node   BLOB NOT NULL,
    epoch  INTEGER NOT NULL,
    body   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE audits (
    epoch     INTEGER NOT NULL,
    node      BLOB NOT NULL,
    idx       INTEGER NOT NULL,
    torrent   BLOB NOT NULL,
    piece     INTEGER NOT NULL,
    block     INTEGER NOT NULL,
    mark      TEXT NOT NULL,
    attempts  INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    detail    TEXT NOT NULL,
    time      INTEGER NOT NULL,
    evidence  BLOB,
    PRIMARY KEY (epoch, node, idx)
) WITHOUT ROWID;
CREATE INDEX audits_node ON audits(node, epoch);
CREATE TABLE evidence (
    hash  BLOB PRIMARY KEY,
    body  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE containment (
    node     BLOB NOT NULL,
    torrent  BLOB NOT NULL,
    piece    INTEGER NOT NULL,
    block    INTEGER NOT NULL,
    since    INTEGER NOT NULL,
    PRIMARY KEY (node, torrent, piece, block)
) WITHOUT ROWID;
CREATE TABLE closes (
    epoch    INTEGER PRIMARY KEY,
    summary  TEXT NOT NULL
);
";

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Invalid(format!("stored history: {e}")))
}

/// Writes the history rows of one close.
fn put_history(
    tx: &rusqlite::Transaction<'_>,
    summary: &ledger::CloseSummary,
    supply: Option<SupplyView>,
) -> Result<(), StoreError> {
    let epoch = to_i64(summary.epoch);
    tx.execute(
        "INSERT OR REPLACE INTO close_totals (epoch, body) VALUES (?1, ?2)",
        params![
            epoch,
            json(&crate::history::economy_epoch(summary, supply))?
        ],
    )?;
    for (torrent, row) in crate::history::torrent_epochs(summary) {
        tx.execute(
            "INSERT OR REPLACE INTO close_torrents (torrent, epoch, body) VALUES (?1, ?2, ?3)",
            params![&torrent[..], epoch, json(&row)?],
        )?;
    }
    for (account, row) in crate::history::account_epochs(summary) {
        tx.execute(
            "INSERT OR REPLACE INTO close_accounts (account, epoch, body) VALUES (?1, ?2, ?3)",
            params![&account.0[..], epoch, json(&row)?],
        )?;
    }
    Ok(())
}

fn mark_text(mark: AuditMark) -> &'static str {
    match mark {
        AuditMark::Pass => "pass",
        AuditMark::Offline => "offline",
        AuditMark::Missing => "missing",
        AuditMark::Wrong => "wrong",
    }
}

fn parse_mark(s: &str) -> Result<AuditMark, StoreError> {
    Ok(match s {
        "pass" => AuditMark::Pass,
        "offline" => AuditMark::Offline,
        "missing" => AuditMark::Missing,
        "wrong" => AuditMark::Wrong,
        other => return Err(StoreError::Invalid(format!("unknown audit mark {other:?}"))),
    })
}

pub struct AuditStore {
    conn: Connection,
}

impl AuditStore {
    pub fn open(path: &Path) -> Result<AuditStore, StoreError> {
        let conn = open_durable(
            path,
            &format!("{SCHEMA}{HISTORY}"),
            SCHEMA_VERSION,
            &[(1, CLOSES), (2, HISTORY)],
        )?;
        let mut store = AuditStore { conn };
        store.backfill_history()?;
        Ok(store)
    }

    /// Keeps an epoch's secret; a second call for the epoch keeps the first secret and returns it.
    pub fn put_secret(
        &self,
        epoch: u64,
        secret: &[u8; 32],
        commitment: &[u8; 32],
    ) -> Result<[u8; 32], StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO secrets (epoch, secret, commitment) VALUES (?1, ?2, ?3)",
            params![to_i64(epoch), &secret[..], &commitment[..]],
        )?;
        self.secret(epoch)?
            .ok_or_else(|| StoreError::Invalid(format!("secret of epoch {epoch} vanished")))
    }

    pub fn secret(&self, epoch: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let row: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT secret FROM secrets WHERE epoch = ?1",
                [to_i64(epoch)],
                |r| r.get(0),
            )
            .optional()?;
        row.map(|b| hash32(&b)).transpose()
    }

    pub fn put_report(&self, hash: &[u8; 32], report: &HostingReport) -> Result<(), StoreError> {
        let body = serde_json::to_string(report).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.conn.execute(
            "INSERT OR IGNORE INTO reports (hash, node, epoch, body) VALUES (?1, ?2, ?3, ?4)",
            params![&hash[..], &report.node.0[..], to_i64(report.epoch), body],
        )?;
        Ok(())
    }

    /// Keeps what an epoch close did (the ledger keeps only the last one) and the history rows cut
    /// from it, with the supply right after it, in one transaction.
    pub fn put_close(
        &mut self,
        summary: &ledger::CloseSummary,
        supply: &SupplyView,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let body = json(summary)?;
        tx.execute(
            "INSERT OR REPLACE INTO closes (epoch, summary) VALUES (?1, ?2)",
            params![to_i64(summary.epoch), body],
        )?;
        put_history(&tx, summary, Some(supply.clone()))?;
        tx.commit()?;
        Ok(())
    }

    /// Cuts closes stored before schema 3 into history rows (without the supply, which was not
    /// kept then).
    fn backfill_history(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let missing: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT summary FROM closes WHERE epoch NOT IN (SELECT epoch FROM close_totals)
                 ORDER BY epoch",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for body in &missing {
            let summary: ledger::CloseSummary = parse(body)?;
            put_history(&tx, &summary, None)?;
        }
        tx.commit()?;
        if !missing.is_empty() {
            tracing::info!(
                closes = missing.len(),
                "epoch history rebuilt from stored closes"
            );
        }
        Ok(())
    }

    /// The economy at the last `limit` closes, oldest first.
    pub fn economy_history(&self, limit: u32) -> Result<Vec<EconomyEpoch>, StoreError> {
        self.recent(
            "SELECT body FROM close_totals ORDER BY epoch DESC LIMIT ?2",
            &[],
            limit,
        )
    }

    /// One torrent's market at the last `limit` closes that priced it, oldest first.
    pub fn torrent_history(
        &self,
        torrent: &[u8; 32],
        limit: u32,
    ) -> Result<Vec<TorrentEpoch>, StoreError> {
        self.recent(
            "SELECT body FROM close_torrents WHERE torrent = ?1 ORDER BY epoch DESC LIMIT ?2",
            &torrent[..],
            limit,
        )
    }

    /// What the last `limit` closes that paid `account` paid it, oldest first.
    pub fn earnings_history(
        &self,
        account: &Address,
        limit: u32,
    ) -> Result<Vec<EarningEpoch>, StoreError> {
        self.recent(
            "SELECT body FROM close_accounts WHERE account = ?1 ORDER BY epoch DESC LIMIT ?2",
            &account.0[..],
            limit,
        )
    }

    /// Rows of a newest-first query with a key (`?1`; a query may leave it out) and a limit
    /// (`?2`), parsed and returned oldest first.
    fn recent<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        key: &[u8],
        limit: u32,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let bodies: Vec<String> = stmt
            .query_map(params![key, limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        bodies.iter().rev().map(|b| parse(b)).collect()
    }

    /// An epoch's close, or the latest one with `None`.
    pub fn close(&self, epoch: Option<u64>) -> Result<Option<ledger::CloseSummary>, StoreError> {
        let body: Option<String> = match epoch {
            Some(e) => self
                .conn
                .query_row(
                    "SELECT summary FROM closes WHERE epoch = ?1",
                    [to_i64(e)],
                    |r| r.get(0),
                )
                .optional()?,
            None => self
                .conn
                .query_row(
                    "SELECT summary FROM closes ORDER BY epoch DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?,
        };
        body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Invalid(e.to_string())))
            .transpose()
    }

    pub fn report(&self, hash: &[u8; 32]) -> Result<Option<HostingReport>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM reports WHERE hash = ?1",
                [&hash[..]],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Invalid(e.to_string())))
            .transpose()
    }

    /// Records a finished audit, its evidence, and what it does to containment: an offline
    /// block is owed until the node answers it, any answer settles it. One transaction.
    pub fn record(
        &mut self,
        record: &AuditRecord,
        evidence: Option<&Evidence>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let hash = record
            .evidence
            .as_deref()
            .map(token::parse_hash)
            .transpose()
            .map_err(StoreError::Invalid)?;
        if let (Some(hash), Some(evidence)) = (hash, evidence) {
            let body =
                serde_json::to_string(evidence).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.execute(
                "INSERT OR IGNORE INTO evidence (hash, body) VALUES (?1, ?2)",
                params![&hash[..], body],
            )?;
        }
        let c = &record.challenge;
        tx.execute(
            "INSERT OR REPLACE INTO audits
             (epoch, node, idx, torrent, piece, block, mark, attempts, bytes, detail, time,
              evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                to_i64(record.epoch),
                &record.node.0[..],
                record.idx,
                &c.torrent[..],
                c.piece,
                c.block,
                mark_text(record.mark),
                record.attempts,
                to_i64(record.bytes),
                record.detail,
                to_i64(record.time),
                hash.as_ref().map(|h| &h[..]),
            ],
        )?;
        if record.mark == AuditMark::Offline {
            tx.execute(
                "INSERT OR IGNORE INTO containment (node, torrent, piece, block, since)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &record.node.0[..],
                    &c.torrent[..],
                    c.piece,
                    c.block,
                    to_i64(record.epoch)
                ],
            )?;
        } else {
            tx.execute(
                "DELETE FROM containment WHERE node = ?1 AND torrent = ?2 AND piece = ?3
                 AND block = ?4",
                params![&record.node.0[..], &c.torrent[..], c.piece, c.block],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The blocks `node` still owes, oldest first.
    pub fn contained(&self, node: &Address) -> Result<Vec<Challenge>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT torrent, piece, block FROM containment WHERE node = ?1
             ORDER BY since, torrent, piece, block",
        )?;
        let rows = stmt.query_map([&node.0[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, u32>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (torrent, piece, block) = row?;
            out.push(Challenge {
                torrent: hash32(&torrent)?,
                piece,
                block,
            });
        }
        Ok(out)
    }

    /// Every audit of `epoch`, by node then index; or of one node.
    pub fn audits(
        &self,
        epoch: Option<u64>,
        node: Option<&Address>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT epoch, node, idx, torrent, piece, block, mark, attempts, bytes, detail, time,
                    evidence
             FROM audits WHERE (?1 IS NULL OR epoch = ?1) AND (?2 IS NULL OR node = ?2)
             ORDER BY epoch DESC, node, idx LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![epoch.map(to_i64), node.map(|n| n.0.to_vec()), limit],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, u32>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, u32>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, i64>(10)?,
                    r.get::<_, Option<Vec<u8>>>(11)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (
                epoch,
                node,
                idx,
                torrent,
                piece,
                block,
                mark,
                attempts,
                bytes,
                detail,
                time,
                evidence,
            ) = row?;
            let node = <[u8; 20]>::try_from(node.as_slice())
                .map_err(|_| StoreError::Invalid("audit node is not 20 bytes".into()))?;
            out.push(AuditRecord {
                epoch: epoch as u64,
                node: Address(node),
                idx,
                challenge: Challenge {
                    torrent: hash32(&torrent)?,
                    piece,
                    block,
                },
                mark: parse_mark(&mark)?,
                attempts,
                bytes: bytes as u64,
                detail,
                time: time as u64,
                evidence: evidence
                    .map(|e| hash32(&e).map(|h| token::hash_hex(&h)))
                    .transpose()?,
            });
        }
        Ok(out)
    }

    pub fn evidence(&self, hash: &[u8; 32]) -> Result<Option<Evidence>, StoreError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM evidence WHERE hash = ?1",
                [&hash[..]],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Invalid(e.to_string())))
            .transpose()
    }
}

fn hash32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| StoreError::Invalid("stored hash is not 32 bytes".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use token::Amount;

    fn supply(minted: u64) -> SupplyView {
        let z = Amount::ZERO;
        SupplyView {
            minted: Amount::tokens(minted),
            burned: z,
            total: Amount::tokens(minted),
            balances: Amount::tokens(minted),
            staked: z,
            vesting: z,
            stakers_pool: z,
            pools: z,
        }
    }

    fn close(epoch: u64) -> ledger::CloseSummary {
        ledger::CloseSummary {
            epoch,
            time: epoch * 10,
            minted: Amount::tokens(epoch),
            torrents: vec![ledger::economy::TorrentOutcome {
                torrent: [7; 32],
                price_before: Amount(1),
                price_after: Amount(u128::from(epoch)),
                weight_before: 1,
                weight_after: 1,
                replicas_milli: 1000,
                saturation_wad: 0,
                pool_paid: Amount::ZERO,
            }],
            stakers: vec![ledger::economy::StakerShare {
                account: Address([5; 20]),
                weight: 1,
                paid: Amount(u128::from(epoch % 2)),
            }],
            ..Default::default()
        }
    }

    /// A schema-2 file (closes but no history rows) opens at 3 with its closes cut into history;
    /// new closes add theirs with the supply. Histories read oldest first, the last `limit`.
    #[test]
    fn history_is_kept_per_close_and_rebuilt_for_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        AuditStore::open(&path)
            .unwrap()
            .put_close(&close(1), &supply(1))
            .unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "DROP TABLE close_totals; DROP TABLE close_torrents; DROP TABLE close_accounts;
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        }
        let mut store = AuditStore::open(&path).unwrap();
        for e in 2..=4 {
            store.put_close(&close(e), &supply(e)).unwrap();
        }
        let economy = store.economy_history(10).unwrap();
        let epochs: Vec<u64> = economy.iter().map(|e| e.epoch).collect();
        assert_eq!(epochs, [1, 2, 3, 4]);
        assert_eq!(
            economy[0].supply, None,
            "closed before the hub kept the supply"
        );
        assert_eq!(economy[3].supply, Some(supply(4)));
        let prices: Vec<u128> = store
            .torrent_history(&[7; 32], 2)
            .unwrap()
            .iter()
            .map(|t| t.price_per_byte.0)
            .collect();
        assert_eq!(prices, [3, 4], "the last two, oldest first");
        assert!(store.torrent_history(&[8; 32], 10).unwrap().is_empty());
        let paid: Vec<u64> = store
            .earnings_history(&Address([5; 20]), 10)
            .unwrap()
            .iter()
            .map(|e| e.epoch)
            .collect();
        assert_eq!(paid, [1, 3], "epochs that paid nothing leave no row");
    }
}
