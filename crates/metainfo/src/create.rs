//! Creating torrents from files on disk, with the same layout (and so the same info-hashes) as
//! libtorrent 2.0's `create_torrent`:
//!
//! - files are sorted by path, comparing component by component as raw bytes;
//! - hybrid torrents with more than one file get a BEP 47 pad file (`.pad/<size>`, attr `p`)
//!   after every non-empty file that does not end on a piece boundary, the last one included;
//!   single-file hybrids are never padded;
//! - v1-only torrents are not padded; v2-only torrents need no pad files (the piece space is
//!   virtually aligned per file);
//! - a directory always gives the multi-file layout, even when it holds one file;
//! - executable files get `attr: "x"`; no `mtime`, no symlink entries (links are followed).
//!
//! Hashing streams: one thread reads the files in order in large chunks into a small pool of
//! reusable buffers; worker threads hash whole pieces (SHA-1 and the piece's Merkle subtree) in
//! parallel. Memory stays at a few buffers of max(4 MiB, one piece) whatever the data size.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use crate::{
    BLOCK_SIZE, FileEntry, Info, MAX_LENGTH, MAX_PIECES, MetainfoError, Torrent, Version, build,
    hash, merkle, parse, path,
};

type Result<T> = std::result::Result<T, MetainfoError>;

/// Bytes handed to a hashing worker at once (whole pieces; at least one piece).
const JOB_BYTES: u64 = 4 * 1024 * 1024;

/// How to create a torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateOptions {
    /// v1, v2 or hybrid (the default: v2 trees for audits, v1 for old clients).
    pub version: Version,
    /// Bytes per piece; `None` picks [`auto_piece_length`].
    pub piece_length: Option<u64>,
    /// BEP 27 private flag (no DHT/PEX; trackers only).
    pub private: bool,
    /// Tracker URLs, each its own tier (the first is also `announce`).
    pub announce: Vec<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            version: Version::Hybrid,
            piece_length: None,
            private: false,
            announce: Vec::new(),
            comment: None,
            created_by: Some(format!("seedbank {}", env!("CARGO_PKG_VERSION"))),
            creation_date: None,
        }
    }
}

/// libtorrent 2.0's automatic piece size: it targets a v1 hash list of about
/// `2 * sqrt(total)` bytes, from 16 KiB up to 16 MiB. Always a power of two >= 16 KiB.
pub fn auto_piece_length(total: u64) -> u64 {
    const TABLE: [u64; 10] = [
        2_684_355,
        10_737_418,
        42_949_673,
        171_798_692,
        687_194_767,
        2_748_779_069,
        10_995_116_278,
        43_980_465_111,
        175_921_860_444,
        703_687_441_777,
    ];
    let step = TABLE.iter().take_while(|&&limit| limit < total).count();
    u64::from(BLOCK_SIZE) << step
}

/// Hash the file or directory at `path` into a torrent. `progress(bytes_done, bytes_total)` is
/// called on the calling thread as pieces complete (bytes of file data, pad files excluded).
pub fn create_torrent(
    path: &Path,
    opts: &CreateOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Torrent> {
    let source = scan(path)?;
    let data_total = source
        .files
        .iter()
        .try_fold(0u64, |acc, f| {
            acc.checked_add(f.length).filter(|&t| t <= MAX_LENGTH)
        })
        .ok_or(MetainfoError::TooLarge {
            what: "total data",
            size: u64::MAX,
            limit: MAX_LENGTH,
        })?;
    if data_total == 0 {
        return Err(MetainfoError::Create(format!(
            "{} holds no data (no files, or only empty files)",
            path.display()
        )));
    }
    let piece_length = opts
        .piece_length
        .unwrap_or_else(|| auto_piece_length(data_total));
    parse::check_piece_length(piece_length, opts.version)?;

    let layout = lay_out(&source, piece_length, opts.version)?;
    let piece_count = layout.total.div_ceil(piece_length);
    if piece_count > MAX_PIECES {
        return Err(MetainfoError::Create(format!(
            "{piece_count} pieces of {piece_length} bytes; at most {MAX_PIECES} are supported, \
             choose a larger piece length"
        )));
    }

    let hashed = hash_pieces(
        &source,
        &layout,
        piece_length,
        opts.version,
        data_total,
        progress,
    )?;

    let mut files = layout.entries;
    let mut piece_layers = HashMap::new();
    if opts.version != Version::V1 {
        for (i, f) in files.iter_mut().enumerate() {
            if f.pad || f.length == 0 {
                continue;
            }
            let hashes = &hashed.v2[i];
            if f.length <= piece_length {
                f.pieces_root = hashes.first().copied();
            } else {
                let root = merkle::pieces_root(hashes, piece_length);
                f.pieces_root = Some(root);
                piece_layers.insert(root, hashes.clone());
            }
        }
    }

    let info = Info {
        name: source.name,
        piece_length,
        private: opts.private,
        version: opts.version,
        files,
        pieces_v1: hashed.v1,
        total_length: layout.total,
        single_file: source.single_file,
    };
    let info_bytes = build::encode_info(&info);
    let hashes = parse::info_hashes(&info_bytes, info.version);
    let announce_list = if opts.announce.len() > 1 {
        opts.announce.iter().map(|u| vec![u.clone()]).collect()
    } else {
        Vec::new()
    };
    Ok(Torrent {
        info,
        info_bytes,
        hashes,
        announce: opts.announce.first().cloned(),
        announce_list,
        comment: opts.comment.clone(),
        created_by: opts.created_by.clone(),
        creation_date: opts.creation_date,
        piece_layers,
    })
}

struct SourceFile {
    rel: Vec<String>,
    abs: PathBuf,
    length: u64,
    executable: bool,
}

struct Source {
    name: String,
    single_file: bool,
    /// Sorted in libtorrent's canonical order.
    files: Vec<SourceFile>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MetainfoError + '_ {
    move |source| MetainfoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn scan(path: &Path) -> Result<Source> {
    let canonical = path.canonicalize().map_err(io_err(path))?;
    let name_os = canonical.file_name().ok_or_else(|| {
        MetainfoError::Create(format!(
            "{} has no file name to use as the torrent name",
            path.display()
        ))
    })?;
    let name = os_component(name_os, &canonical)?;
    let meta = std::fs::metadata(&canonical).map_err(io_err(path))?;
    if meta.is_file() {
        return Ok(Source {
            name: name.clone(),
            single_file: true,
            files: vec![SourceFile {
                rel: vec![name],
                abs: canonical,
                length: meta.len(),
                executable: is_executable(&meta),
            }],
        });
    }
    if !meta.is_dir() {
        return Err(MetainfoError::Create(format!(
            "{} is neither a regular file nor a directory",
            path.display()
        )));
    }
    let mut files = Vec::new();
    let mut ancestors = HashSet::new();
    ancestors.insert(canonical.clone());
    walk(&canonical, &mut Vec::new(), &mut ancestors, &mut files)?;
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Source {
        name,
        single_file: false,
        files,
    })
}

/// Recursively lists regular files, following symbolic links (as libtorrent does without its
/// `symlinks` flag) but refusing a link back into one of its own ancestors, which would recurse
/// forever.
fn walk(
    dir: &Path,
    rel: &mut Vec<String>,
    ancestors: &mut HashSet<PathBuf>,
    out: &mut Vec<SourceFile>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let p = entry.path();
        let meta = std::fs::metadata(&p).map_err(io_err(&p))?;
        rel.push(os_component(&entry.file_name(), &p)?);
        if meta.is_dir() {
            let canonical = p.canonicalize().map_err(io_err(&p))?;
            if !ancestors.insert(canonical.clone()) {
                return Err(MetainfoError::Create(format!(
                    "{} links back to one of its parent directories",
                    p.display()
                )));
            }
            walk(&p, rel, ancestors, out)?;
            ancestors.remove(&canonical);
        } else if meta.is_file() {
            out.push(SourceFile {
                rel: rel.clone(),
                abs: p,
                length: meta.len(),
                executable: is_executable(&meta),
            });
        } else {
            return Err(MetainfoError::Create(format!(
                "{} is neither a regular file nor a directory",
                p.display()
            )));
        }
        rel.pop();
    }
    Ok(())
}

fn os_component(name: &std::ffi::OsStr, full: &Path) -> Result<String> {
    let field = full.display().to_string();
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name);
    #[cfg(not(unix))]
    let bytes = name
        .to_str()
        .ok_or_else(|| MetainfoError::Create(format!("{field}: file name is not valid UTF-8")))?
        .as_bytes();
    path::component(&field, bytes)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

struct Layout {
    /// Files in piece-space order, pad files included.
    entries: Vec<FileEntry>,
    /// For each entry, the index into `Source::files` (None for pad files).
    source: Vec<Option<usize>>,
    total: u64,
}

fn lay_out(src: &Source, piece_length: u64, version: Version) -> Result<Layout> {
    let mut entries = Vec::with_capacity(src.files.len() * 2);
    let mut source = Vec::with_capacity(src.files.len() * 2);
    let mut off = 0u64;
    let pad_files = version == Version::Hybrid && src.files.len() > 1;
    for (i, f) in src.files.iter().enumerate() {
        if version == Version::V2 && f.length > 0 && !off.is_multiple_of(piece_length) {
            off = off.saturating_add(piece_length - off % piece_length);
        }
        entries.push(FileEntry {
            path: f.rel.clone(),
            length: f.length,
            offset: off,
            pad: false,
            executable: f.executable,
            hidden: false,
            pieces_root: None,
        });
        source.push(Some(i));
        // Saturating: the sum is checked against MAX_LENGTH below, far from u64::MAX.
        off = off.saturating_add(f.length);
        if pad_files && f.length > 0 && !off.is_multiple_of(piece_length) {
            let pad = piece_length - off % piece_length;
            entries.push(FileEntry {
                path: vec![".pad".to_string(), pad.to_string()],
                length: pad,
                offset: off,
                pad: true,
                executable: false,
                hidden: false,
                pieces_root: None,
            });
            source.push(None);
            off = off.saturating_add(pad);
        }
    }
    if off > MAX_LENGTH {
        return Err(MetainfoError::TooLarge {
            what: "piece space",
            size: off,
            limit: MAX_LENGTH,
        });
    }
    Ok(Layout {
        entries,
        source,
        total: off,
    })
}

/// Where one piece's bytes come from, and what to hash in it.
#[derive(Clone)]
struct PieceSpec {
    size: usize,
    /// v2: the layout entry whose data starts this piece and how many of the piece's bytes are
    /// that file's (the rest is padding).
    v2: Option<(usize, usize)>,
    /// Bytes of real file data in the piece, for progress.
    data: u64,
}

struct Job {
    first: usize,
    pieces: Vec<PieceSpec>,
    buf: Vec<u8>,
}

struct Done {
    first: usize,
    v1: Vec<[u8; 20]>,
    v2: Vec<Option<(usize, [u8; 32])>>,
    data: u64,
    buf: Vec<u8>,
}

struct Hashed {
    v1: Vec<[u8; 20]>,
    /// Per layout entry: its piece layer (or, for a file of at most one piece, its root).
    v2: Vec<Vec<[u8; 32]>>,
}

fn piece_specs(layout: &Layout, piece_length: u64, version: Version) -> Vec<PieceSpec> {
    let mut specs = Vec::new();
    let entries = &layout.entries;
    let mut fi = 0usize;
    let mut start = 0u64;
    while start < layout.total {
        // First entry that ends after `start` (skips empty files and finished ones).
        while fi < entries.len() && entries[fi].end() <= start {
            fi += 1;
        }
        let Some(first) = entries.get(fi) else { break };
        let end = match version {
            Version::V2 => {
                // Virtual alignment: a piece ends at its file's end; skip the gap before a file.
                if first.offset > start {
                    start = first.offset;
                }
                first.end().min(start + piece_length)
            }
            _ => layout.total.min(start + piece_length),
        };
        let mut data = 0u64;
        let mut v2 = None;
        for (i, e) in entries.iter().enumerate().skip(fi) {
            if e.offset >= end {
                break;
            }
            if e.pad || e.length == 0 {
                continue;
            }
            let from = start.max(e.offset);
            let to = end.min(e.end());
            data += to - from;
            if version != Version::V1 && v2.is_none() {
                v2 = Some((i, (to - start) as usize));
            }
        }
        specs.push(PieceSpec {
            size: (end - start) as usize,
            v2,
            data,
        });
        start += piece_length;
    }
    specs
}

fn hash_pieces(
    src: &Source,
    layout: &Layout,
    piece_length: u64,
    version: Version,
    data_total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Hashed> {
    let specs = piece_specs(layout, piece_length, version);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let per_job = (JOB_BYTES / piece_length).max(1) as usize;
    let pool = workers + 2;
    let cancel = AtomicBool::new(false);

    let mut out = Hashed {
        v1: if version == Version::V2 {
            Vec::new()
        } else {
            vec![[0u8; 20]; specs.len()]
        },
        v2: vec![Vec::new(); layout.entries.len()],
    };
    let mut v2_pieces: Vec<Option<(usize, [u8; 32])>> = vec![None; specs.len()];

    std::thread::scope(|s| -> Result<()> {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Result<Done>>();
        let (buf_tx, buf_rx) = mpsc::channel::<Vec<u8>>();

        {
            let done_tx = done_tx.clone();
            let specs = &specs;
            let cancel = &cancel;
            s.spawn(move || {
                if let Err(e) =
                    read_pieces(src, layout, specs, per_job, pool, &job_tx, &buf_rx, cancel)
                {
                    let _ = done_tx.send(Err(e));
                }
            });
        }
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            let entries = &layout.entries;
            s.spawn(move || hash_worker(&job_rx, &done_tx, entries, piece_length, version));
        }
        drop(done_tx);

        let result = collect(
            done_rx,
            buf_tx,
            specs.len(),
            &mut out.v1,
            &mut v2_pieces,
            data_total,
            progress,
        );
        if result.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        result
    })?;

    for (entry, hash) in v2_pieces.into_iter().flatten() {
        out.v2[entry].push(hash);
    }
    Ok(out)
}

fn collect(
    done_rx: Receiver<Result<Done>>,
    buf_tx: Sender<Vec<u8>>,
    piece_count: usize,
    v1: &mut [[u8; 20]],
    v2: &mut [Option<(usize, [u8; 32])>],
    data_total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let mut received = 0usize;
    let mut bytes_done = 0u64;
    progress(0, data_total);
    while received < piece_count {
        let done = done_rx
            .recv()
            .map_err(|_| MetainfoError::Create("hashing threads stopped unexpectedly".into()))??;
        let n = done.v2.len();
        if !v1.is_empty() {
            v1[done.first..done.first + n].copy_from_slice(&done.v1);
        }
        v2[done.first..done.first + n].copy_from_slice(&done.v2);
        received += n;
        bytes_done += done.data;
        // The reader may already have finished; a closed channel just means nobody needs it.
        let _ = buf_tx.send(done.buf);
        progress(bytes_done, data_total);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read_pieces(
    src: &Source,
    layout: &Layout,
    specs: &[PieceSpec],
    per_job: usize,
    pool: usize,
    job_tx: &SyncSender<Job>,
    buf_rx: &Receiver<Vec<u8>>,
    cancel: &AtomicBool,
) -> Result<()> {
    let mut reader = SequentialReader::new(src, layout);
    let mut allocated = 0usize;
    let mut first = 0usize;
    for group in specs.chunks(per_job) {
        if cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut buf = if allocated < pool {
            allocated += 1;
            Vec::new()
        } else {
            match buf_rx.recv() {
                Ok(b) => b,
                Err(_) => return Ok(()),
            }
        };
        buf.clear();
        for spec in group {
            reader.read_piece(spec.size, &mut buf)?;
        }
        let job = Job {
            first,
            pieces: group.to_vec(),
            buf,
        };
        first += group.len();
        if job_tx.send(job).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Walks the piece space in order, reading each file front to back exactly once.
struct SequentialReader<'a> {
    src: &'a Source,
    layout: &'a Layout,
    /// Current layout entry and position inside it.
    entry: usize,
    pos: u64,
    file: Option<File>,
}

impl<'a> SequentialReader<'a> {
    fn new(src: &'a Source, layout: &'a Layout) -> Self {
        SequentialReader {
            src,
            layout,
            entry: 0,
            pos: 0,
            file: None,
        }
    }

    /// Appends the next `size` bytes of file and pad data to `buf`. The gaps of v2 virtual
    /// alignment belong to no entry, so they are skipped naturally: piece sizes already end
    /// at file ends there.
    fn read_piece(&mut self, size: usize, buf: &mut Vec<u8>) -> Result<()> {
        let mut want = size as u64;
        while want > 0 {
            let Some(e) = self.layout.entries.get(self.entry) else {
                return Err(MetainfoError::Create(
                    "internal error: piece space ended early".into(),
                ));
            };
            if self.pos == e.length {
                self.entry += 1;
                self.pos = 0;
                self.file = None;
                continue;
            }
            let n = want.min(e.length - self.pos);
            let start = buf.len();
            let n_usize = n as usize;
            buf.resize(start + n_usize, 0);
            if !e.pad {
                let Some(src_idx) = self.layout.source[self.entry] else {
                    return Err(MetainfoError::Create(
                        "internal error: file without source".into(),
                    ));
                };
                let sf = &self.src.files[src_idx];
                if self.file.is_none() {
                    self.file = Some(File::open(&sf.abs).map_err(io_err(&sf.abs))?);
                }
                if let Some(file) = self.file.as_mut() {
                    read_full(file, &mut buf[start..], &sf.abs)?;
                }
            }
            self.pos += n;
            want -= n;
        }
        Ok(())
    }
}

fn read_full(file: &mut File, mut dst: &mut [u8], path: &Path) -> Result<()> {
    while !dst.is_empty() {
        match file.read(dst) {
            Ok(0) => {
                return Err(MetainfoError::Create(format!(
                    "{} became shorter while it was being hashed",
                    path.display()
                )));
            }
            Ok(n) => dst = &mut dst[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    Ok(())
}

fn hash_worker(
    job_rx: &Mutex<Receiver<Job>>,
    done_tx: &Sender<Result<Done>>,
    entries: &[FileEntry],
    piece_length: u64,
    version: Version,
) {
    loop {
        let job = {
            let Ok(rx) = job_rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let mut v1 = Vec::with_capacity(job.pieces.len());
        let mut v2 = Vec::with_capacity(job.pieces.len());
        let mut data = 0u64;
        let mut at = 0usize;
        for spec in &job.pieces {
            let piece = &job.buf[at..at + spec.size];
            at += spec.size;
            data += spec.data;
            if version != Version::V2 {
                v1.push(hash::sha1(piece));
            }
            v2.push(spec.v2.map(|(entry, len)| {
                let part = &piece[..len];
                let h = if entries[entry].length <= piece_length {
                    merkle::file_root(&merkle::block_hashes(part))
                } else {
                    merkle::piece_hash(part, piece_length)
                };
                (entry, h)
            }));
        }
        let done = Done {
            first: job.first,
            v1,
            v2,
            data,
            buf: job.buf,
        };
        if done_tx.send(Ok(done)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_piece_length_matches_libtorrent_table() {
        assert_eq!(auto_piece_length(1), 16 * 1024);
        assert_eq!(auto_piece_length(2_684_355), 16 * 1024);
        assert_eq!(auto_piece_length(2_684_356), 32 * 1024);
        assert_eq!(auto_piece_length(1 << 30), 512 * 1024);
        assert_eq!(auto_piece_length(u64::MAX), 16 * 1024 * 1024);
    }

    #[test]
    fn piece_length_rules() {
        let check = parse::check_piece_length;
        assert!(check(16 * 1024, Version::Hybrid).is_ok());
        assert!(check(48 * 1024, Version::V1).is_ok());
        assert!(check(48 * 1024, Version::V2).is_err());
        assert!(check(8 * 1024, Version::V1).is_err());
        assert!(check(512 * 1024 * 1024, Version::V1).is_err());
    }
}
