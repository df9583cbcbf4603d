//! The hub's SQLite store: members, the torrent index, per-member accounting and the tracker's peer
//! baselines.
//!
//! One writer (the hub's flusher, or an operator command) at a time; WAL lets the API read while it
//! writes. `synchronous=FULL`: a flush that returned is on disk.
//!
//! Integers: SQLite stores i64. Totals are u64 in the tracker but bounded far below 2^63 by its
//! rate clamps; they are converted with [`to_i64`], and added in SQL with `MIN(col, MAX - x) + x`
//! expressions, both saturating at i64::MAX (SQLite would otherwise turn an overflowing sum into a
//! REAL). A peer's baseline counters and BEP 7 key hash are whatever the client sent, so they are
//! stored bit for bit (`as i64`, read back `as u64`): a baseline must come back exactly.

use std::net::{SocketAddrV4, SocketAddrV6};
use std::path::Path;

use hubapi::{ListQuery, MemberStats, TorrentFile, TorrentSummary};
use metainfo::Torrent;
use rusqlite::{Connection, OptionalExtension, params};
use tracker::accounting::Batch;
use tracker::swarm::{PeerKey, PeerRecord};
use tracker::{MemberId, Passkey, TorrentId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
}

/// 2: members link to ledger accounts. 3: web sessions.
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE members (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    passkey     BLOB NOT NULL UNIQUE,
    suspended   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    -- Bumped on every change a running tracker must see; it polls for rev > last seen.
    rev         INTEGER NOT NULL,
    uploaded    INTEGER NOT NULL DEFAULT 0,
    downloaded  INTEGER NOT NULL DEFAULT 0,
    seed_secs   INTEGER NOT NULL DEFAULT 0,
    snatches    INTEGER NOT NULL DEFAULT 0,
    clamped     INTEGER NOT NULL DEFAULT 0,
    -- The member's ledger account (20 bytes) where the collective has a ledger.
    account     BLOB
);
CREATE INDEX members_rev ON members(rev);
CREATE UNIQUE INDEX members_account ON members(account);

CREATE TABLE torrents (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    category      TEXT NOT NULL,
    description   TEXT NOT NULL,
    info_hash_v1  BLOB UNIQUE,
    info_hash_v2  BLOB UNIQUE,
    size          INTEGER NOT NULL,
    piece_length  INTEGER NOT NULL,
    file_count    INTEGER NOT NULL,
    -- The .torrent as published: its info dict is served byte for byte, so info-hashes never change.
    metainfo      BLOB NOT NULL,
    uploader      INTEGER NOT NULL REFERENCES members(id),
    created_at    INTEGER NOT NULL,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    downloaded    INTEGER NOT NULL DEFAULT 0,
    snatches      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX torrents_category ON torrents(category);

CREATE TABLE torrent_files (
    torrent  INTEGER NOT NULL REFERENCES torrents(id),
    idx      INTEGER NOT NULL,
    path     TEXT NOT NULL,
    length   INTEGER NOT NULL,
    PRIMARY KEY (torrent, idx)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE torrents_fts USING fts5(name, category, description, content='torrents', content_rowid='id');
CREATE TRIGGER torrents_fts_insert AFTER INSERT ON torrents BEGIN
    INSERT INTO torrents_fts(rowid, name, category, description) VALUES (new.id, new.name, new.category, new.description);
END;

-- Per (member, torrent): what hit-and-run rules and profiles need.
CREATE TABLE history (
    member        INTEGER NOT NULL,
    torrent       INTEGER NOT NULL,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    downloaded    INTEGER NOT NULL DEFAULT 0,
    seed_secs     INTEGER NOT NULL DEFAULT 0,
    completed_at  INTEGER,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (member, torrent)
) WITHOUT ROWID;

-- The tracker's peers with the counters last credited: written with the deltas they produced.
CREATE TABLE peers (
    torrent        INTEGER NOT NULL,
    member         INTEGER NOT NULL,
    peer_id        BLOB NOT NULL,
    key            INTEGER NOT NULL,
    v4             TEXT,
    v6             TEXT,
    uploaded       INTEGER NOT NULL,
    downloaded     INTEGER NOT NULL,
    left_bytes     INTEGER NOT NULL,
    last_announce  INTEGER NOT NULL,
    first_seen     INTEGER NOT NULL,
    credited_up    INTEGER NOT NULL,
    credited_down  INTEGER NOT NULL,
    PRIMARY KEY (torrent, member, peer_id, key)
) WITHOUT ROWID;
";

/// Saturating conversion of a counter for storage.
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A member row, as the operator lists it.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub id: MemberId,
    pub name: String,
    pub passkey: Passkey,
    pub suspended: bool,
    pub rev: i64,
}

/// What the tracker needs to serve a torrent.
#[derive(Clone, Debug)]
pub struct TrackedTorrent {
    pub id: TorrentId,
    pub wire_ids: Vec<[u8; 20]>,
    pub snatches: u64,
}

/// A new torrent for the index.
pub struct NewTorrent<'a> {
    pub metainfo: &'a [u8],
    pub name: &'a str,
    pub category: &'a str,
    pub description: &'a str,
    pub uploader: MemberId,
    pub now: u64,
}

pub struct Store {
    conn: Connection,
}

fn check_text(what: &str, text: &str, max: usize) -> Result<(), StoreError> {
    if text.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{what} must not be empty")));
    }
    if text.chars().count() > max {
        return Err(StoreError::Invalid(format!(
            "{what} longer than {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

fn hash20(blob: Option<Vec<u8>>) -> Option<[u8; 20]> {
    blob.and_then(|b| b.try_into().ok())
}

const SUMMARY_COLUMNS: &str = "t.id, t.name, t.category, t.description, t.size, t.file_count, \
     t.piece_length, t.info_hash_v1, t.info_hash_v2, m.name, t.created_at, t.snatches";

fn summary_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TorrentSummary> {
    let v1: Option<Vec<u8>> = row.get(7)?;
    let v2: Option<Vec<u8>> = row.get(8)?;
    Ok(TorrentSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        category: row.get(2)?,
        description: row.get(3)?,
        size: to_u64(row.get(4)?),
        file_count: row.get(5)?,
        piece_length: to_u64(row.get(6)?),
        info_hash_v1: v1.map(hex::encode),
        info_hash_v2: v2.map(hex::encode),
        uploader: row.get(9)?,
        created_at: to_u64(row.get(10)?),
        seeders: 0,
        leechers: 0,
        snatches: to_u64(row.get(11)?),
    })
}

/// Turns free text into an FTS5 query of quoted prefix terms, so user input can never be FTS syntax.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(16)
        .map(|t| format!("\"{t}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// Schema 2 links members to ledger accounts.
const MIGRATE_1_TO_2: &str = "
ALTER TABLE members ADD COLUMN account BLOB;
CREATE UNIQUE INDEX members_account ON members(account);
";

/// Schema 3 keeps web sessions (a new store gets this after [`SCHEMA`]): the keccak-256 of the
/// cookie's token, so a copy of the database opens no session.
const SESSIONS: &str = "
CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY,
    member      INTEGER NOT NULL REFERENCES members(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Opens one of the hub's SQLite files durably (WAL, `synchronous=FULL`: a commit that returned
/// survives power loss) and brings its schema to `version`: a new file gets `schema`, an older one
/// the `upgrades` (from version, SQL) in turn; a newer one is refused.
pub(crate) fn open_durable(
    path: &Path,
    schema: &str,
    version: i64,
    upgrades: &[(i64, &str)],
) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found == 0 {
        conn.execute_batch(&format!(
            "BEGIN; {schema} PRAGMA user_version = {version}; COMMIT;"
        ))?;
        found = version;
    }
    while let Some((_, sql)) = upgrades.iter().find(|(from, _)| *from == found) {
        conn.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {}; COMMIT;",
            found + 1
        ))?;
        found += 1;
    }
    if found != version {
        return Err(StoreError::Invalid(format!(
            "{} has schema version {found}; this seedbank knows {version}",
            path.display()
        )));
    }
    Ok(conn)
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = open_durable(
            path,
            &format!("{SCHEMA}{SESSIONS}"),
            SCHEMA_VERSION,
            &[(1, MIGRATE_1_TO_2), (2, SESSIONS)],
        )?;
        Ok(Store { conn })
    }

    pub fn add_member(&mut self, name: &str, now: u64) -> Result<(MemberId, Passkey), StoreError> {
        check_text("member name", name, 64)?;
        let passkey: Passkey = rand::random();
        let tx = self.conn.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM members WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::Conflict(format!(
                "a member named {name:?} already exists"
            )));
        }
        tx.execute(
            "INSERT INTO members (name, passkey, created_at, rev)
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(rev), 0) + 1 FROM members))",
            params![name, &passkey[..], to_i64(now)],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok((id as MemberId, passkey))
    }

    /// Mirrors a ledger member: creates its row (returning the new passkey) or updates whether it
    /// is suspended. A name already linked to another account is a conflict.
    pub fn link_member(
        &mut self,
        name: &str,
        account: [u8; 20],
        suspended: bool,
        now: u64,
    ) -> Result<Option<Passkey>, StoreError> {
        let existing: Option<(Option<Vec<u8>>, bool)> = self
            .conn
            .query_row(
                "SELECT account, suspended FROM members WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match existing {
            None => {
                let (id, passkey) = self.add_member(name, now)?;
                self.conn.execute(
                    "UPDATE members SET account = ?2, suspended = ?3 WHERE id = ?1",
                    params![id, &account[..], suspended],
                )?;
                Ok(Some(passkey))
            }
            Some((Some(linked), _)) if linked[..] != account[..] => Err(StoreError::Conflict(
                format!("member {name:?} is linked to another account"),
            )),
            Some((linked, was_suspended)) => {
                if linked.is_none() {
                    self.conn.execute(
                        "UPDATE members SET account = ?2 WHERE name = ?1",
                        params![name, &account[..]],
                    )?;
                }
                if was_suspended != suspended {
                    self.set_suspended(name, suspended)?;
                }
                Ok(None)
            }
        }
    }

    pub fn set_suspended(&mut self, name: &str, suspended: bool) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE members SET suspended = ?2, rev = (SELECT MAX(rev) + 1 FROM members) WHERE name = ?1",
            params![name, suspended],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("no member named {name:?}")));
        }
        Ok(())
    }

    /// Members changed after `rev` (all of them for 0), in change order.
    pub fn members_since(&self, rev: i64) -> Result<Vec<MemberRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, passkey, suspended, rev FROM members WHERE rev > ?1 ORDER BY rev",
        )?;
        let rows = stmt.query_map([rev], |r| {
            let passkey: Vec<u8> = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, passkey, r.get(3)?, r.get(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, passkey, suspended, rev) = row?;
            let passkey: Passkey = passkey.try_into().map_err(|_| {
                StoreError::Invalid(format!("member {name:?} has a malformed passkey"))
            })?;
            out.push(MemberRow {
                id,
                name,
                passkey,
                suspended,
                rev,
            });
        }
        Ok(out)
    }

    /// The member linked to a ledger account.
    pub fn member_by_account(&self, account: &[u8; 20]) -> Result<Option<MemberRow>, StoreError> {
        let row: Option<(MemberId, String, Vec<u8>, bool, i64)> = self
            .conn
            .query_row(
                "SELECT id, name, passkey, suspended, rev FROM members WHERE account = ?1",
                [&account[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        row.map(|(id, name, passkey, suspended, rev)| {
            let passkey: Passkey = passkey.try_into().map_err(|_| {
                StoreError::Invalid(format!("member {name:?} has a malformed passkey"))
            })?;
            Ok(MemberRow {
                id,
                name,
                passkey,
                suspended,
                rev,
            })
        })
        .transpose()
    }

    /// A member's ledger account: `None` for no such member, `Some(None)` for a ratio-only one.
    pub fn account_of(&self, name: &str) -> Result<Option<Option<[u8; 20]>>, StoreError> {
        let row: Option<Option<Vec<u8>>> = self
            .conn
            .query_row("SELECT account FROM members WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(row.map(hash20))
    }

    /// The index's categories, most torrents first.
    pub fn categories(&self) -> Result<Vec<hubapi::views::CategoryCount>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT category, COUNT(*) FROM torrents GROUP BY category ORDER BY 2 DESC, 1",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(hubapi::views::CategoryCount {
                name: r.get(0)?,
                torrents: to_u64(r.get(1)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn put_session(
        &mut self,
        token_hash: &[u8; 32],
        member: MemberId,
        now: u64,
        expires: u64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [to_i64(now)])?;
        self.conn.execute(
            "INSERT INTO sessions (token_hash, member, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![&token_hash[..], member, to_i64(now), to_i64(expires)],
        )?;
        Ok(())
    }

    /// The member of a live session, with when it expires.
    pub fn session(
        &self,
        token_hash: &[u8; 32],
        now: u64,
    ) -> Result<Option<(MemberRow, u64)>, StoreError> {
        let row: Option<(Vec<u8>, i64)> = self
            .conn
            .query_row(
                "SELECT m.passkey, s.expires_at FROM sessions s JOIN members m ON m.id = s.member
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![&token_hash[..], to_i64(now)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((passkey, expires)) = row else {
            return Ok(None);
        };
        let passkey: Passkey = passkey
            .try_into()
            .map_err(|_| StoreError::Invalid("a member has a malformed passkey".into()))?;
        Ok(self
            .member_by_passkey(&passkey)?
            .map(|m| (m, to_u64(expires))))
    }

    pub fn delete_session(&mut self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [&token_hash[..]],
        )?;
        Ok(())
    }

    pub fn member_by_passkey(&self, passkey: &Passkey) -> Result<Option<MemberRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, suspended, rev FROM members WHERE passkey = ?1",
                [&passkey[..]],
                |r| {
                    Ok(MemberRow {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        passkey: *passkey,
                        suspended: r.get(2)?,
                        rev: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn member_stats(&self, name: &str) -> Result<Option<MemberStats>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, created_at, suspended, uploaded, downloaded, snatches, seed_secs, clamped
                 FROM members WHERE name = ?1",
                [name],
                |r| {
                    let uploaded = to_u64(r.get(3)?);
                    let downloaded = to_u64(r.get(4)?);
                    Ok(MemberStats {
                        name: r.get(0)?,
                        created_at: to_u64(r.get(1)?),
                        suspended: r.get(2)?,
                        uploaded,
                        downloaded,
                        ratio: (downloaded > 0).then(|| uploaded as f64 / downloaded as f64),
                        snatches: to_u64(r.get(5)?),
                        seed_secs: to_u64(r.get(6)?),
                        clamped: to_u64(r.get(7)?),
                    })
                },
            )
            .optional()?)
    }

    /// Validates and indexes a `.torrent`. It must be private (BEP 27): a public torrent would leak
    /// the collective's swarm to DHT and PEX.
    pub fn add_torrent(
        &mut self,
        new: &NewTorrent<'_>,
    ) -> Result<(TorrentSummary, TrackedTorrent), StoreError> {
        check_text("name", new.name, 200)?;
        check_text("category", new.category, 50)?;
        if new.description.chars().count() > 10_000 {
            return Err(StoreError::Invalid(
                "description longer than 10000 characters".into(),
            ));
        }
        let torrent = Torrent::from_bytes(new.metainfo)
            .map_err(|e| StoreError::Invalid(format!("not a valid .torrent: {e}")))?;
        if !torrent.info.private {
            return Err(StoreError::Invalid(
                "the torrent is not private (BEP 27): create it with the private flag".into(),
            ));
        }
        let v1 = torrent.hashes.v1;
        let v2 = torrent.hashes.v2;
        let files: Vec<_> = torrent.info.files.iter().filter(|f| !f.pad).collect();
        let tx = self.conn.transaction()?;
        let clash: Option<String> = tx
            .query_row(
                "SELECT name FROM torrents WHERE name = ?1 OR info_hash_v1 = ?2 OR info_hash_v2 = ?3",
                params![new.name, v1.map(|h| h.to_vec()), v2.map(|h| h.to_vec())],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = clash {
            return Err(StoreError::Conflict(if other == new.name {
                format!("a torrent named {other:?} is already in the index")
            } else {
                format!("this torrent is already in the index as {other:?}")
            }));
        }
        tx.execute(
            "INSERT INTO torrents (name, category, description, info_hash_v1, info_hash_v2, size,
                 piece_length, file_count, metainfo, uploader, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                new.name,
                new.category.trim(),
                new.description,
                v1.map(|h| h.to_vec()),
                v2.map(|h| h.to_vec()),
                to_i64(torrent.info.data_length()),
                to_i64(torrent.info.piece_length),
                files.len() as i64,
                new.metainfo,
                new.uploader,
                to_i64(new.now),
            ],
        )?;
        let id = tx.last_insert_rowid() as TorrentId;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO torrent_files (torrent, idx, path, length) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, f) in files.iter().enumerate() {
                stmt.execute(params![id, i as i64, f.path.join("/"), to_i64(f.length)])?;
            }
        }
        tx.commit()?;
        let summary = self
            .torrent(id)?
            .map(|(s, _, _, _)| s)
            .ok_or_else(|| StoreError::NotFound("torrent vanished after insert".into()))?;
        let tracked = TrackedTorrent {
            id,
            wire_ids: v1
                .into_iter()
                .chain(torrent.hashes.v2_truncated())
                .collect(),
            snatches: 0,
        };
        Ok((summary, tracked))
    }

    /// Every torrent the tracker must serve, with its wire ids (v1 and truncated v2).
    pub fn tracked_torrents(&self) -> Result<Vec<TrackedTorrent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, info_hash_v1, info_hash_v2, snatches FROM torrents")?;
        let rows = stmt.query_map([], |r| {
            let v1: Option<Vec<u8>> = r.get(1)?;
            let v2: Option<Vec<u8>> = r.get(2)?;
            let mut wire_ids: Vec<[u8; 20]> = Vec::new();
            wire_ids.extend(hash20(v1));
            wire_ids
                .extend(v2.and_then(|b| b.get(..20).and_then(|s| <[u8; 20]>::try_from(s).ok())));
            Ok(TrackedTorrent {
                id: r.get(0)?,
                wire_ids,
                snatches: to_u64(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every indexed torrent's tracker id and ledger id (`token::torrent_id`).
    pub fn ledger_ids(&self) -> Result<Vec<(TorrentId, [u8; 32])>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, info_hash_v1, info_hash_v2 FROM torrents ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            let v1: Option<Vec<u8>> = r.get(1)?;
            let v2: Option<Vec<u8>> = r.get(2)?;
            Ok((r.get::<_, TorrentId>(0)?, v1, v2))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, v1, v2) = row?;
            let v1 = hash20(v1);
            let v2 = v2.and_then(|b| <[u8; 32]>::try_from(b).ok());
            if v1.is_some() || v2.is_some() {
                out.push((id, token::torrent_id(v1, v2)));
            }
        }
        Ok(out)
    }

    pub fn list_torrents(&self, q: &ListQuery) -> Result<(u64, Vec<TorrentSummary>), StoreError> {
        let limit = q.limit.unwrap_or(50).min(500);
        let offset = q.offset.unwrap_or(0);
        let fts = q.q.as_deref().and_then(fts_query);
        let mut filter = String::from("WHERE 1 = 1");
        let mut args: Vec<(&str, &dyn rusqlite::ToSql)> = Vec::new();
        if let Some(fts) = &fts {
            filter.push_str(
                " AND t.id IN (SELECT rowid FROM torrents_fts WHERE torrents_fts MATCH :q)",
            );
            args.push((":q", fts));
        }
        if let Some(name) = &q.name {
            filter.push_str(" AND t.name = :name");
            args.push((":name", name));
        }
        if let Some(category) = &q.category {
            filter.push_str(" AND t.category = :category");
            args.push((":category", category));
        }
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM torrents t {filter}"),
            args.as_slice(),
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM torrents t JOIN members m ON m.id = t.uploader
             {filter} ORDER BY t.id DESC LIMIT :limit OFFSET :offset"
        ))?;
        args.push((":limit", &limit));
        args.push((":offset", &offset));
        let rows = stmt.query_map(args.as_slice(), summary_row)?;
        Ok((to_u64(total), rows.collect::<Result<_, _>>()?))
    }

    /// Every indexed torrent, newest first, in one read (no paging: a publish between pages could
    /// not shift what is seen).
    pub fn all_torrents(&self) -> Result<Vec<TorrentSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM torrents t JOIN members m ON m.id = t.uploader
             ORDER BY t.id DESC"
        ))?;
        let rows = stmt.query_map([], summary_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A torrent with its files and swarm totals (uploaded, downloaded).
    #[allow(clippy::type_complexity)]
    pub fn torrent(
        &self,
        id: TorrentId,
    ) -> Result<Option<(TorrentSummary, Vec<TorrentFile>, u64, u64)>, StoreError> {
        let found = self
            .conn
            .query_row(
                &format!(
                    "SELECT {SUMMARY_COLUMNS}, t.uploaded, t.downloaded FROM torrents t
                     JOIN members m ON m.id = t.uploader WHERE t.id = ?1"
                ),
                [id],
                |r| Ok((summary_row(r)?, to_u64(r.get(12)?), to_u64(r.get(13)?))),
            )
            .optional()?;
        let Some((summary, up, down)) = found else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, length FROM torrent_files WHERE torrent = ?1 ORDER BY idx",
        )?;
        let files = stmt
            .query_map([id], |r| {
                Ok(TorrentFile {
                    path: r.get(0)?,
                    length: to_u64(r.get(1)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some((summary, files, up, down)))
    }

    pub fn metainfo(&self, id: TorrentId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT metainfo FROM torrents WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM torrents)",
            [],
            |r| Ok((to_u64(r.get(0)?), to_u64(r.get(1)?))),
        )?)
    }

    /// Writes one batch in one transaction: deltas into history, member and torrent totals, and the
    /// peers' new baselines. Returns the torrents whose snatch count changed, with the new count.
    /// On error nothing was written and the caller merges the batch back into the tracker.
    pub fn flush(&mut self, batch: &Batch, now: u64) -> Result<Vec<(TorrentId, u64)>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut snatched = Vec::new();
        {
            let mut history = tx.prepare_cached(
                "INSERT INTO history (member, torrent, uploaded, downloaded, seed_secs, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (member, torrent) DO UPDATE SET
                     uploaded = MIN(uploaded, 9223372036854775807 - excluded.uploaded) + excluded.uploaded,
                     downloaded = MIN(downloaded, 9223372036854775807 - excluded.downloaded) + excluded.downloaded,
                     seed_secs = MIN(seed_secs, 9223372036854775807 - excluded.seed_secs) + excluded.seed_secs,
                     updated_at = excluded.updated_at",
            )?;
            let mut complete = tx.prepare_cached(
                "UPDATE history SET completed_at = ?3
                 WHERE member = ?1 AND torrent = ?2 AND completed_at IS NULL",
            )?;
            let mut member = tx.prepare_cached(
                "UPDATE members SET
                     uploaded = MIN(uploaded, 9223372036854775807 - ?2) + ?2,
                     downloaded = MIN(downloaded, 9223372036854775807 - ?3) + ?3,
                     seed_secs = MIN(seed_secs, 9223372036854775807 - ?4) + ?4,
                     clamped = MIN(clamped, 9223372036854775807 - ?5) + ?5,
                     snatches = snatches + ?6
                 WHERE id = ?1",
            )?;
            let mut torrent = tx.prepare_cached(
                "UPDATE torrents SET
                     uploaded = MIN(uploaded, 9223372036854775807 - ?2) + ?2,
                     downloaded = MIN(downloaded, 9223372036854775807 - ?3) + ?3,
                     snatches = snatches + ?4
                 WHERE id = ?1 RETURNING snatches",
            )?;
            for ((m, t), d) in &batch.deltas {
                let (up, down) = (to_i64(d.uploaded), to_i64(d.downloaded));
                history.execute(params![m, t, up, down, to_i64(d.seed_secs), to_i64(now)])?;
                // The first completion of a member counts; later ones (re-downloads) do not.
                let first = match d.completed_at {
                    Some(at) => complete.execute(params![m, t, to_i64(at)])? == 1,
                    None => false,
                };
                member.execute(params![
                    m,
                    up,
                    down,
                    to_i64(d.seed_secs),
                    to_i64(d.clamped),
                    first as i64
                ])?;
                let snatches: i64 =
                    torrent.query_row(params![t, up, down, first as i64], |r| r.get(0))?;
                if first {
                    snatched.push((*t, to_u64(snatches)));
                }
            }
            let mut upsert = tx.prepare_cached(
                "INSERT OR REPLACE INTO peers (torrent, member, peer_id, key, v4, v6, uploaded,
                     downloaded, left_bytes, last_announce, first_seen, credited_up, credited_down)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            let mut delete = tx.prepare_cached(
                "DELETE FROM peers WHERE torrent = ?1 AND member = ?2 AND peer_id = ?3 AND key = ?4",
            )?;
            for (k, p) in &batch.peers {
                let key = k.key as i64;
                match p {
                    Some(p) => {
                        upsert.execute(params![
                            k.torrent,
                            k.member,
                            &k.peer_id[..],
                            key,
                            p.v4.map(|a| a.to_string()),
                            p.v6.map(|a| a.to_string()),
                            p.uploaded as i64,
                            p.downloaded as i64,
                            p.left as i64,
                            p.last_announce as i64,
                            p.first_seen as i64,
                            p.credited_up as i64,
                            p.credited_down as i64,
                        ])?;
                    }
                    None => {
                        delete.execute(params![k.torrent, k.member, &k.peer_id[..], key])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(snatched)
    }

    /// The peers a previous run left, for the tracker to carry on from.
    pub fn peers(&self) -> Result<Vec<(PeerKey, PeerRecord)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT torrent, member, peer_id, key, v4, v6, uploaded, downloaded, left_bytes,
                 last_announce, first_seen, credited_up, credited_down
             FROM peers",
        )?;
        let rows = stmt.query_map([], |r| {
            let peer_id: Vec<u8> = r.get(2)?;
            let key: i64 = r.get(3)?;
            let v4: Option<String> = r.get(4)?;
            let v6: Option<String> = r.get(5)?;
            Ok((
                r.get::<_, TorrentId>(0)?,
                r.get::<_, MemberId>(1)?,
                peer_id,
                key as u64,
                v4.and_then(|a| a.parse::<SocketAddrV4>().ok()),
                v6.and_then(|a| a.parse::<SocketAddrV6>().ok()),
                [
                    r.get::<_, i64>(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                ],
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (torrent, member, peer_id, key, v4, v6, numbers) = row?;
            let [up, down, left, last, first, cup, cdown] = numbers.map(|v| v as u64);
            let Ok(peer_id) = <[u8; 20]>::try_from(peer_id) else {
                continue;
            };
            out.push((
                PeerKey {
                    torrent,
                    member,
                    peer_id,
                    key,
                },
                PeerRecord {
                    v4,
                    v6,
                    uploaded: up,
                    downloaded: down,
                    left,
                    last_announce: last,
                    first_seen: first,
                    credited_up: cup,
                    credited_down: cdown,
                },
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracker::accounting::Delta;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hub.sqlite")).unwrap();
        (dir, store)
    }

    /// Torrent 5, uploaded by `m`, with no metainfo: enough for accounting.
    fn bare_torrent(s: &Store, m: MemberId) {
        s.conn
            .execute(
                "INSERT INTO torrents (id, name, category, description, size, piece_length, file_count,
                     metainfo, uploader, created_at) VALUES (5, 'x', 'c', '', 1, 1, 1, x'', ?1, 0)",
                [m],
            )
            .unwrap();
    }

    #[test]
    fn members_get_unique_names_and_change_revisions() {
        let (_d, mut s) = store();
        let (a, pa) = s.add_member("alice", 1).unwrap();
        let (b, pb) = s.add_member("bob", 2).unwrap();
        assert_ne!(a, b);
        assert_ne!(pa, pb);
        assert!(matches!(
            s.add_member("alice", 3),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(s.add_member(" ", 3), Err(StoreError::Invalid(_))));
        let all = s.members_since(0).unwrap();
        assert_eq!(all.len(), 2);
        let last = all.last().unwrap().rev;
        s.set_suspended("alice", true).unwrap();
        let changed = s.members_since(last).unwrap();
        assert_eq!(changed.len(), 1);
        assert!(changed[0].suspended);
        assert!(matches!(
            s.set_suspended("carol", true),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn snatches_count_once_per_member() {
        let (_d, mut s) = store();
        let (m, _) = s.add_member("alice", 1).unwrap();
        bare_torrent(&s, m);
        let snatch = |at| Batch {
            deltas: vec![(
                (m, 5),
                Delta {
                    downloaded: 10,
                    completed_at: Some(at),
                    ..Delta::default()
                },
            )],
            peers: vec![],
        };
        assert_eq!(s.flush(&snatch(10), 10).unwrap(), vec![(5, 1)]);
        assert_eq!(s.flush(&snatch(20), 20).unwrap(), vec![]);
        let stats = s.member_stats("alice").unwrap().unwrap();
        assert_eq!((stats.snatches, stats.downloaded), (1, 20));
    }

    /// A store of schema 2 (before web sessions) opens at 3, keeps its members, and takes sessions.
    #[test]
    fn schema_2_store_upgrades_to_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let (id, passkey) = Store::open(&path).unwrap().add_member("ann", 1).unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("DROP TABLE sessions; PRAGMA user_version = 2;")
                .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.member_by_passkey(&passkey).unwrap().unwrap().id, id);
        store.put_session(&[9; 32], id, 10, 100).unwrap();
        assert_eq!(store.session(&[9; 32], 50).unwrap().unwrap().1, 100);
        assert!(store.session(&[9; 32], 100).unwrap().is_none(), "expired");
        store.delete_session(&[9; 32]).unwrap();
        assert!(store.session(&[9; 32], 50).unwrap().is_none());
    }

    #[test]
    fn totals_saturate_instead_of_turning_into_reals() {
        let (_d, mut s) = store();
        let (m, _) = s.add_member("alice", 1).unwrap();
        bare_torrent(&s, m);
        let huge = Batch {
            deltas: vec![(
                (m, 5),
                Delta {
                    uploaded: u64::MAX,
                    clamped: u64::MAX,
                    ..Delta::default()
                },
            )],
            peers: vec![],
        };
        s.flush(&huge, 1).unwrap();
        s.flush(&huge, 2).unwrap();
        let stats = s.member_stats("alice").unwrap().unwrap();
        assert_eq!(
            (stats.uploaded, stats.clamped),
            (i64::MAX as u64, i64::MAX as u64)
        );
    }

    #[test]
    fn fts_query_cannot_inject_syntax() {
        assert_eq!(fts_query("doom 1993").unwrap(), "\"doom\"* \"1993\"*");
        assert_eq!(fts_query("\"a\" OR b*").unwrap(), "\"a\"* \"OR\"* \"b\"*");
        assert_eq!(fts_query("--- ***"), None);
    }
}
