//! The ledger's SQLite file: the log (the truth), the materialised tables (the log's state, kept
//! for queries and fast start), checkpoints of the state root, and an index of each account's
//! entries. One writer; `synchronous=FULL` in WAL mode, so a commit that returned survives power
//! loss and `kill -9`.
//!
//! Amounts are stored as decimal TEXT of base units (u128 does not fit SQLite's i64); sequence
//! numbers, times, epochs, byte counts and reputation weights as INTEGER (a `u64` is stored as
//! the `i64` with the same bits and read back the same way, so even values above 2^63 round-trip).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use token::{Address, Amount};

use crate::hosting::{EpochInfo, Host, ReportInfo};
use crate::state::{Account, State, TorrentTerms, WordOrd};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("ledger database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("ledger database is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "ledger database has schema version {0}; this seedbank knows version {SCHEMA_VERSION} (older ledgers, from before availability audits (1), the epoch economy (2), holdings kept on record (3) or receipts that expire (4), are not migrated: their state root and genesis differ; start the collective anew with `seedbank hub init`)"
    )]
    Version(i64),
}

/// 2: hosts, reports and epochs (availability audits).
/// 3: the epoch economy (one JSON value in `meta`: markets, pools, grants, earnings).
/// 4: each report's per-torrent holdings described once and kept in the economy (closes no
///    longer repeat every replica; the state root covers them).
/// 5: receipt sessions expire (`token::SESSION_TTL_SECS`): lanes and sessions are keyed by
///    session first, so the expired ones are deleted as one range of the primary key.
const SCHEMA_VERSION: i64 = 5;

const SCHEMA: &str = "
CREATE TABLE log (
    seq   INTEGER PRIMARY KEY,
    time  INTEGER NOT NULL,
    body  TEXT NOT NULL,
    hash  BLOB NOT NULL
);
CREATE TABLE account_log (
    account BLOB NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (account, seq)
) WITHOUT ROWID;
CREATE TABLE accounts (
    address     BLOB PRIMARY KEY,
    balance     TEXT NOT NULL,
    stake       TEXT NOT NULL,
    lock_until  INTEGER NOT NULL,
    vesting     TEXT NOT NULL,
    nonce       INTEGER NOT NULL,
    member      TEXT UNIQUE,
    invited_by  BLOB
) WITHOUT ROWID;
CREATE TABLE torrents (
    id              BLOB PRIMARY KEY,
    size            INTEGER NOT NULL,
    price_per_byte  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE lanes (
    session     BLOB NOT NULL,
    torrent     BLOB NOT NULL,
    uploader    BLOB NOT NULL,
    downloader  BLOB NOT NULL,
    bytes       INTEGER NOT NULL,
    PRIMARY KEY (session, torrent, uploader, downloader)
) WITHOUT ROWID;
CREATE TABLE sessions (
    session     BLOB NOT NULL,
    torrent     BLOB NOT NULL,
    downloader  BLOB NOT NULL,
    bytes       INTEGER NOT NULL,
    PRIMARY KEY (session, torrent, downloader)
) WITHOUT ROWID;
CREATE TABLE free (
    account  BLOB PRIMARY KEY,
    day      INTEGER NOT NULL,
    used     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE hosts (
    address       BLOB PRIMARY KEY,
    alpha         INTEGER NOT NULL,
    beta          INTEGER NOT NULL,
    frozen        INTEGER NOT NULL,
    disqualified  INTEGER NOT NULL,
    last_epoch    INTEGER
) WITHOUT ROWID;
CREATE TABLE reports (
    node           BLOB NOT NULL,
    epoch          INTEGER NOT NULL,
    report_hash    BLOB NOT NULL,
    claimed_bytes  INTEGER NOT NULL,
    endpoint       TEXT NOT NULL,
    location       TEXT NOT NULL,
    PRIMARY KEY (node, epoch)
) WITHOUT ROWID;
CREATE TABLE epochs (
    epoch       INTEGER PRIMARY KEY,
    commitment  BLOB NOT NULL,
    secret      BLOB,
    audited     INTEGER NOT NULL
);
-- genesis, minted, burned, stakers_pool, next_seq, time, log_hash, economy (JSON)
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    seq         INTEGER PRIMARY KEY,
    log_hash    BLOB NOT NULL,
    state_root  BLOB NOT NULL
);
";

pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    match version {
        0 => conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))?,
        SCHEMA_VERSION => {}
        other => return Err(StoreError::Version(other)),
    }
    Ok(conn)
}

/// One logged entry as stored: its body bytes are what the hash chain covers.
pub(crate) struct StoredEntry {
    pub seq: u64,
    pub time: u64,
    pub body: String,
    pub hash: [u8; 32],
}

/// Writes one commit group: the entries, the accounts they touched, and every materialised row
/// the state marked dirty. The caller commits.
pub(crate) fn write_group(
    tx: &Transaction<'_>,
    entries: &[(StoredEntry, Vec<Address>)],
    state: &mut State,
) -> Result<(), StoreError> {
    {
        let mut log =
            tx.prepare_cached("INSERT INTO log (seq, time, body, hash) VALUES (?1, ?2, ?3, ?4)")?;
        let mut index =
            tx.prepare_cached("INSERT OR IGNORE INTO account_log (account, seq) VALUES (?1, ?2)")?;
        for (e, accounts) in entries {
            log.execute(params![e.seq as i64, e.time as i64, e.body, &e.hash[..]])?;
            for a in accounts {
                index.execute(params![&a.0[..], e.seq as i64])?;
            }
        }
    }
    let mut dirty = std::mem::take(&mut state.dirty);
    dirty.accounts.sort_unstable();
    dirty.accounts.dedup();
    dirty.lanes.sort_unstable();
    dirty.lanes.dedup();
    dirty.sessions.sort_unstable();
    dirty.sessions.dedup();
    dirty.free.sort_unstable();
    dirty.free.dedup();
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO accounts (address, balance, stake, lock_until, vesting, nonce, member, invited_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for address in &dirty.accounts {
            let a = state.account(address);
            put.execute(params![
                &address.0[..],
                a.balance.0.to_string(),
                a.stake.0.to_string(),
                a.lock_until as i64,
                a.vesting.0.to_string(),
                a.nonce as i64,
                a.member,
                a.invited_by.map(|i| i.0.to_vec()),
            ])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO torrents (id, size, price_per_byte) VALUES (?1, ?2, ?3)",
        )?;
        for id in &dirty.torrents {
            if let Some(t) = state.torrents.get(id) {
                put.execute(params![
                    &id[..],
                    t.size as i64,
                    t.price_per_byte.0.to_string()
                ])?;
            }
        }
        // Expired first: a key written below is never older than the cut (the state dropped
        // those from its dirty record when it dropped them).
        if let Some(first_live) = dirty.sessions_before {
            tx.prepare_cached("DELETE FROM lanes WHERE session < ?1")?
                .execute(params![&first_live[..]])?;
            tx.prepare_cached("DELETE FROM sessions WHERE session < ?1")?
                .execute(params![&first_live[..]])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO lanes (session, torrent, uploader, downloader, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for key in &dirty.lanes {
            let (session, torrent, up, down) = key;
            put.execute(params![
                &session[..],
                &torrent[..],
                &up.0[..],
                &down.0[..],
                state.lane(key) as i64
            ])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO sessions (session, torrent, downloader, bytes) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for key in &dirty.sessions {
            let (session, torrent, down) = key;
            let bytes = state.sessions.get(&WordOrd(*key)).copied().unwrap_or(0);
            put.execute(params![
                &session[..],
                &torrent[..],
                &down.0[..],
                bytes as i64
            ])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO free (account, day, used) VALUES (?1, ?2, ?3)",
        )?;
        for address in &dirty.free {
            let (day, used) = state.free.get(address).copied().unwrap_or((0, 0));
            put.execute(params![&address.0[..], day as i64, used as i64])?;
        }
        // Hosts, reports and epochs are never removed, so a dirty key always has a row.
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO hosts (address, alpha, beta, frozen, disqualified, last_epoch)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for address in &dirty.hosts {
            if let Some(h) = state.hosts.get(address) {
                put.execute(params![
                    &address.0[..],
                    h.reputation.alpha() as i64,
                    h.reputation.beta() as i64,
                    h.frozen,
                    h.disqualified,
                    h.last_epoch.map(|e| e as i64),
                ])?;
            }
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO reports (node, epoch, report_hash, claimed_bytes, endpoint, location)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for key in &dirty.reports {
            if let Some(r) = state.reports.get(key) {
                put.execute(params![
                    &key.0.0[..],
                    key.1 as i64,
                    &r.report_hash[..],
                    r.claimed_bytes as i64,
                    r.endpoint,
                    r.location,
                ])?;
            }
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO epochs (epoch, commitment, secret, audited) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for epoch in &dirty.epochs {
            if let Some(e) = state.epochs.get(epoch) {
                put.execute(params![
                    *epoch as i64,
                    &e.commitment[..],
                    e.secret.map(|s| s.to_vec()),
                    e.audited,
                ])?;
            }
        }
        let mut meta =
            tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
        for (key, value) in [
            ("minted", state.minted.0.to_string()),
            ("burned", state.burned.0.to_string()),
            ("stakers_pool", state.stakers_pool.0.to_string()),
            ("next_seq", state.next_seq.to_string()),
            ("time", state.time.to_string()),
            ("log_hash", hex::encode(state.log_hash)),
        ] {
            meta.execute(params![key, value])?;
        }
        if dirty.genesis {
            let genesis = serde_json::to_string(&state.genesis)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            meta.execute(params!["genesis", genesis])?;
        }
        if dirty.economy {
            let economy = serde_json::to_string(&state.economy)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            meta.execute(params!["economy", economy])?;
        }
    }
    Ok(())
}

pub(crate) fn write_checkpoint(conn: &Connection, state: &State) -> Result<[u8; 32], StoreError> {
    let root = state.root();
    conn.execute(
        "INSERT OR REPLACE INTO checkpoints (seq, log_hash, state_root) VALUES (?1, ?2, ?3)",
        params![state.next_seq as i64, &state.log_hash[..], &root[..]],
    )?;
    Ok(root)
}

/// Checkpoints by the sequence number they follow (the state after entries `0..seq`).
/// (the sequence number it follows, log hash, state root)
pub(crate) type Checkpoint = (u64, [u8; 32], [u8; 32]);

pub(crate) fn checkpoints(conn: &Connection) -> Result<Vec<Checkpoint>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT seq, log_hash, state_root FROM checkpoints ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash, root) = row?;
        out.push((seq as u64, hash32(&hash)?, hash32(&root)?));
    }
    Ok(out)
}

/// Reads the log in order, calling `f` for each entry.
pub(crate) fn for_each_entry(
    conn: &Connection,
    mut f: impl FnMut(StoredEntry) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT seq, time, body, hash FROM log ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let hash: Vec<u8> = row.get(3)?;
        f(StoredEntry {
            seq: row.get::<_, i64>(0)? as u64,
            time: row.get::<_, i64>(1)? as u64,
            body: row.get(2)?,
            hash: hash32(&hash)?,
        })?;
    }
    Ok(())
}

/// The materialised tables as a `State` (no log replay): what start-up compares the replay with.
pub(crate) fn load_tables(conn: &Connection) -> Result<State, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    let mut state = State::default();
    let meta = |key: &str| -> Result<Option<String>, StoreError> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    };
    let amount = |s: String| s.parse::<u128>().map(Amount).map_err(|_| corrupt("amount"));
    if let Some(g) = meta("genesis")? {
        state.genesis = serde_json::from_str(&g).map_err(|_| corrupt("genesis"))?;
    }
    state.minted = amount(meta("minted")?.unwrap_or_else(|| "0".into()))?;
    state.burned = amount(meta("burned")?.unwrap_or_else(|| "0".into()))?;
    state.stakers_pool = amount(meta("stakers_pool")?.unwrap_or_else(|| "0".into()))?;
    if let Some(e) = meta("economy")? {
        state.economy = serde_json::from_str(&e).map_err(|_| corrupt("economy"))?;
    }
    state.next_seq =
        meta("next_seq")?.map_or(Ok(0), |s| s.parse().map_err(|_| corrupt("next_seq")))?;
    state.time = meta("time")?.map_or(Ok(0), |s| s.parse().map_err(|_| corrupt("time")))?;
    if let Some(h) = meta("log_hash")? {
        let bytes = hex::decode(h).map_err(|_| corrupt("log_hash"))?;
        state.log_hash = hash32(&bytes)?;
    }
    let mut stmt = conn.prepare(
        "SELECT address, balance, stake, lock_until, vesting, nonce, member, invited_by FROM accounts",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let address = addr(&r.get::<_, Vec<u8>>(0)?)?;
        let invited_by: Option<Vec<u8>> = r.get(7)?;
        let account = Account {
            balance: amount(r.get(1)?)?,
            stake: amount(r.get(2)?)?,
            lock_until: r.get::<_, i64>(3)? as u64,
            vesting: amount(r.get(4)?)?,
            nonce: r.get::<_, i64>(5)? as u64,
            member: r.get(6)?,
            invited_by: invited_by.map(|b| addr(&b)).transpose()?,
        };
        if let Some(name) = &account.member {
            state.members.insert(name.clone(), address);
        }
        state.accounts.insert(address, account);
    }
    let mut stmt = conn.prepare("SELECT id, size, price_per_byte FROM torrents")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id = hash32(&r.get::<_, Vec<u8>>(0)?)?;
        let terms = TorrentTerms {
            size: r.get::<_, i64>(1)? as u64,
            price_per_byte: amount(r.get(2)?)?,
        };
        state.torrents.insert(id, terms);
    }
    let mut stmt =
        conn.prepare("SELECT session, torrent, uploader, downloader, bytes FROM lanes")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let key = (
            hash32(&r.get::<_, Vec<u8>>(0)?)?,
            hash32(&r.get::<_, Vec<u8>>(1)?)?,
            addr(&r.get::<_, Vec<u8>>(2)?)?,
            addr(&r.get::<_, Vec<u8>>(3)?)?,
        );
        state.lanes.insert(WordOrd(key), r.get::<_, i64>(4)? as u64);
    }
    let mut stmt = conn.prepare("SELECT session, torrent, downloader, bytes FROM sessions")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let key = (
            hash32(&r.get::<_, Vec<u8>>(0)?)?,
            hash32(&r.get::<_, Vec<u8>>(1)?)?,
            addr(&r.get::<_, Vec<u8>>(2)?)?,
        );
        state
            .sessions
            .insert(WordOrd(key), r.get::<_, i64>(3)? as u64);
    }
    let mut stmt = conn.prepare("SELECT account, day, used FROM free")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let a = addr(&r.get::<_, Vec<u8>>(0)?)?;
        state
            .free
            .insert(a, (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64));
    }
    let mut stmt =
        conn.prepare("SELECT address, alpha, beta, frozen, disqualified, last_epoch FROM hosts")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let address = addr(&r.get::<_, Vec<u8>>(0)?)?;
        let reputation = economics::reputation::Reputation::new(
            r.get::<_, i64>(1)? as u64,
            r.get::<_, i64>(2)? as u64,
        )
        .map_err(|e| StoreError::Corrupt(format!("host {address}: {e}")))?;
        let host = Host {
            reputation,
            frozen: r.get(3)?,
            disqualified: r.get(4)?,
            last_epoch: r.get::<_, Option<i64>>(5)?.map(|e| e as u64),
        };
        state.hosts.insert(address, host);
    }
    let mut stmt = conn.prepare(
        "SELECT node, epoch, report_hash, claimed_bytes, endpoint, location FROM reports",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let key = (addr(&r.get::<_, Vec<u8>>(0)?)?, r.get::<_, i64>(1)? as u64);
        let report = ReportInfo {
            report_hash: hash32(&r.get::<_, Vec<u8>>(2)?)?,
            claimed_bytes: r.get::<_, i64>(3)? as u64,
            endpoint: r.get(4)?,
            location: r.get(5)?,
        };
        state.reports.insert(key, report);
    }
    let mut stmt = conn.prepare("SELECT epoch, commitment, secret, audited FROM epochs")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let secret: Option<Vec<u8>> = r.get(2)?;
        let info = EpochInfo {
            commitment: hash32(&r.get::<_, Vec<u8>>(1)?)?,
            secret: secret.map(|s| hash32(&s)).transpose()?,
            audited: r.get(3)?,
        };
        state.epochs.insert(r.get::<_, i64>(0)? as u64, info);
    }
    state.restore_totals().map_err(StoreError::Corrupt)?;
    Ok(state)
}

/// The sequence numbers of entries touching `account`, newest first.
pub(crate) fn history(
    conn: &Connection,
    account: &Address,
    limit: usize,
) -> Result<Vec<(u64, u64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.seq, l.time, l.body FROM account_log a JOIN log l ON l.seq = a.seq
         WHERE a.account = ?1 ORDER BY a.seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![&account.0[..], limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, i64>(1)? as u64,
            r.get::<_, String>(2)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn hash32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("expected 32 bytes, found {}", bytes.len())))
}

fn addr(bytes: &[u8]) -> Result<Address, StoreError> {
    bytes.try_into().map(Address).map_err(|_| {
        StoreError::Corrupt(format!("expected a 20-byte address, found {}", bytes.len()))
    })
}
