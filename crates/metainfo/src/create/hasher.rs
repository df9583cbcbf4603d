//! The hashing pipeline: one reader thread streams the piece space from disk into a small pool of
//! reusable buffers; worker threads hash whole pieces (SHA-1 and the piece's Merkle subtree).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use super::Layout;
use super::scan::{Source, io_err};
use crate::{FileEntry, MetainfoError, Version, hash, merkle};

type Result<T> = std::result::Result<T, MetainfoError>;

/// Bytes handed to a hashing worker at once (whole pieces; at least one piece).
const JOB_BYTES: u64 = 4 * 1024 * 1024;

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

pub(super) struct Hashed {
    pub(super) v1: Vec<[u8; 20]>,
    /// Per layout entry: its piece layer (or, for a file of at most one piece, its root).
    pub(super) v2: Vec<Vec<[u8; 32]>>,
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

pub(super) fn hash_pieces(
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
