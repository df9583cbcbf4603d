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
use hubapi::views::SupplyView;
use rusqlite::{Connection, OptionalExtension, params};
use token::Address;

use crate::store::{StoreError, open_durable, to_i64};

/// 2: `closes`, what each epoch close did. 3: the supply right after each close.
const SCHEMA_VERSION: i64 = 3;

const CLOSES_SUPPLY: &str = "ALTER TABLE closes ADD COLUMN supply TEXT;";

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
    summary  TEXT NOT NULL,
    supply   TEXT
);
";

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
            SCHEMA,
            SCHEMA_VERSION,
            &[(1, CLOSES), (2, CLOSES_SUPPLY)],
        )?;
        Ok(AuditStore { conn })
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

    /// Keeps what an epoch close did (the ledger keeps only the last one), with the supply
    /// right after it, for the charts over epochs.
    pub fn put_close(
        &self,
        summary: &ledger::CloseSummary,
        supply: &SupplyView,
    ) -> Result<(), StoreError> {
        let invalid = |e: serde_json::Error| StoreError::Invalid(e.to_string());
        let body = serde_json::to_string(summary).map_err(invalid)?;
        let supply = serde_json::to_string(supply).map_err(invalid)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO closes (epoch, summary, supply) VALUES (?1, ?2, ?3)",
            params![to_i64(summary.epoch), body, supply],
        )?;
        Ok(())
    }

    /// The last `limit` closes, oldest first, each with the supply after it where recorded.
    pub fn closes(
        &self,
        limit: u32,
    ) -> Result<Vec<(ledger::CloseSummary, Option<SupplyView>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT summary, supply FROM
               (SELECT epoch, summary, supply FROM closes ORDER BY epoch DESC LIMIT ?1)
             ORDER BY epoch",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (summary, supply) = row?;
            let bad = |e: serde_json::Error| StoreError::Invalid(format!("stored close: {e}"));
            let summary = serde_json::from_str(&summary).map_err(bad)?;
            let supply = supply
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(bad)?;
            out.push((summary, supply));
        }
        Ok(out)
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

    /// Finished audits by mark, every mark listed (for `/metrics`).
    pub fn marks(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut out: Vec<(&'static str, u64)> = ["pass", "offline", "missing", "wrong"]
            .into_iter()
            .map(|m| (m, 0))
            .collect();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT mark, COUNT(*) FROM audits GROUP BY mark")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (mark, n) = row?;
            let mark = mark_text(parse_mark(&mark)?);
            if let Some(slot) = out.iter_mut().find(|(m, _)| *m == mark) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(out)
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

    /// A schema-2 file (closes without the supply) opens at 3: old closes read back with no
    /// supply, new ones with it, oldest first, the last `limit` of them.
    #[test]
    fn closes_keep_the_supply_and_old_files_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let close = |epoch| ledger::CloseSummary {
            epoch,
            ..Default::default()
        };
        AuditStore::open(&path)
            .unwrap()
            .put_close(&close(1), &supply(1))
            .unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("ALTER TABLE closes DROP COLUMN supply; PRAGMA user_version = 2;")
                .unwrap();
        }
        let store = AuditStore::open(&path).unwrap();
        for e in 2..=4 {
            store.put_close(&close(e), &supply(e)).unwrap();
        }
        let all = store.closes(10).unwrap();
        let epochs: Vec<u64> = all.iter().map(|(c, _)| c.epoch).collect();
        assert_eq!(epochs, [1, 2, 3, 4]);
        assert_eq!(all[0].1, None, "recorded before the hub kept the supply");
        assert_eq!(all[3].1, Some(supply(4)));
        let last: Vec<u64> = store
            .closes(2)
            .unwrap()
            .iter()
            .map(|(c, _)| c.epoch)
            .collect();
        assert_eq!(last, [3, 4]);
    }
}
