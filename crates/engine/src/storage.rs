//! Storage of a torrent's files: maps the piece space onto files on disk.
//!
//! The piece space is the one `metainfo` defines: files laid end to end, BEP 47 pad files included for
//! v1/hybrid, each file aligned to a piece boundary for v2. Pad files are never created on disk; they read
//! as zeros and writes to them are dropped after checking they are zeros (a non-zero pad byte means the
//! piece is corrupt, and the hash check will already have refused it).
//!
//! Files are opened lazily and kept open; positional I/O (`pread`/`pwrite`) lets many tasks read and
//! write the same file without a lock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use metainfo::Info;

use crate::error::EngineError;

struct StoredFile {
    path: PathBuf,
    offset: u64,
    length: u64,
    pad: bool,
    handle: OnceLock<File>,
}

pub struct Storage {
    files: Vec<StoredFile>,
    writable: bool,
}

impl Storage {
    /// `root` is the directory that holds the torrent's content, as libtorrent's save path does:
    /// `root/<name>` for a single-file torrent, `root/<name>/<path...>` for a multi-file one.
    pub fn new(root: &Path, info: &Info, writable: bool) -> Storage {
        let files = info
            .files
            .iter()
            .map(|f| {
                let mut path = root.to_path_buf();
                if !info.single_file {
                    path.push(&info.name);
                }
                for component in &f.path {
                    path.push(component);
                }
                StoredFile {
                    path,
                    offset: f.offset,
                    length: f.length,
                    pad: f.pad,
                    handle: OnceLock::new(),
                }
            })
            .collect();
        Storage { files, writable }
    }

    /// Paths of the real (non-pad) files, with their lengths.
    pub fn file_paths(&self) -> impl Iterator<Item = (&Path, u64)> {
        self.files
            .iter()
            .filter(|f| !f.pad)
            .map(|f| (f.path.as_path(), f.length))
    }

    fn open<'a>(&self, file: &'a StoredFile) -> Result<&'a File, EngineError> {
        if let Some(handle) = file.handle.get() {
            return Ok(handle);
        }
        let opened = if self.writable {
            if let Some(parent) = file.path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| EngineError::io(&file.path, e))?;
            }
            let handle = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&file.path)
                .map_err(|e| EngineError::io(&file.path, e))?;
            let len = handle
                .metadata()
                .map_err(|e| EngineError::io(&file.path, e))?
                .len();
            if len != file.length {
                // Full length up front (sparse): reads of parts not yet downloaded see zeros, not EOF,
                // and a file longer than the torrent says is cut to size.
                handle
                    .set_len(file.length)
                    .map_err(|e| EngineError::io(&file.path, e))?;
            }
            handle
        } else {
            File::open(&file.path).map_err(|e| EngineError::io(&file.path, e))?
        };
        // Another task may have opened it meanwhile; either handle works.
        Ok(file.handle.get_or_init(|| opened))
    }

    /// Files overlapping `[offset, offset + len)`, as (file, offset within file, range in buffer).
    fn spans(
        &self,
        offset: u64,
        len: usize,
    ) -> impl Iterator<Item = (&StoredFile, u64, std::ops::Range<usize>)> {
        let end = offset + len as u64;
        let first = self
            .files
            .partition_point(|f| f.offset + f.length <= offset);
        self.files[first..]
            .iter()
            .take_while(move |f| f.offset < end)
            .filter(|f| f.length > 0)
            .map(move |f| {
                let start = offset.max(f.offset);
                let stop = end.min(f.offset + f.length);
                let buf_start = (start - offset) as usize;
                let buf_end = (stop - offset) as usize;
                (f, start - f.offset, buf_start..buf_end)
            })
    }

    /// Reads `buf.len()` bytes at `offset` of the piece space. Pad files and any gap read as zeros.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), EngineError> {
        buf.fill(0);
        for (file, at, range) in self.spans(offset, buf.len()) {
            if file.pad {
                continue;
            }
            let handle = self.open(file)?;
            handle.read_exact_at(&mut buf[range], at).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    EngineError::io(
                        &file.path,
                        io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file is shorter than the torrent says",
                        ),
                    )
                } else {
                    EngineError::io(&file.path, e)
                }
            })?;
        }
        Ok(())
    }

    /// Like `read`, but a missing or short file is `Ok(false)` (used by the resume check, which must
    /// not create files).
    pub fn read_if_present(&self, offset: u64, buf: &mut [u8]) -> Result<bool, EngineError> {
        buf.fill(0);
        for (file, at, range) in self.spans(offset, buf.len()) {
            if file.pad {
                continue;
            }
            let handle = match file.handle.get() {
                Some(h) => h,
                None => match File::open(&file.path) {
                    Ok(h) => {
                        let len = h
                            .metadata()
                            .map_err(|e| EngineError::io(&file.path, e))?
                            .len();
                        if len < file.length {
                            return Ok(false);
                        }
                        file.handle.get_or_init(|| h)
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                    Err(e) => return Err(EngineError::io(&file.path, e)),
                },
            };
            match handle.read_exact_at(&mut buf[range], at) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(e) => return Err(EngineError::io(&file.path, e)),
            }
        }
        Ok(true)
    }

    /// Reads what is on disk now, for piece reads the hooks asked for: every file is opened afresh
    /// by its path and never created or extended, so a file deleted under us is an error (a cached
    /// handle would keep reading the unlinked inode), and so is one shorter than the torrent says
    /// (`read` on writable storage would recreate or extend it and read zeros). Pad files read as
    /// zeros.
    pub fn read_from_disk(&self, offset: u64, buf: &mut [u8]) -> Result<(), EngineError> {
        buf.fill(0);
        for (file, at, range) in self.spans(offset, buf.len()) {
            if file.pad {
                continue;
            }
            let handle = File::open(&file.path).map_err(|e| EngineError::io(&file.path, e))?;
            let len = handle
                .metadata()
                .map_err(|e| EngineError::io(&file.path, e))?
                .len();
            if len < file.length {
                return Err(EngineError::io(
                    &file.path,
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("file has {len} bytes, the torrent says {}", file.length),
                    ),
                ));
            }
            handle
                .read_exact_at(&mut buf[range], at)
                .map_err(|e| EngineError::io(&file.path, e))?;
        }
        Ok(())
    }

    /// Writes verified data at `offset` of the piece space; pad ranges are skipped.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), EngineError> {
        debug_assert!(self.writable, "write to read-only storage");
        for (file, at, range) in self.spans(offset, data.len()) {
            if file.pad {
                continue;
            }
            let handle = self.open(file)?;
            handle
                .write_all_at(&data[range], at)
                .map_err(|e| EngineError::io(&file.path, e))?;
        }
        Ok(())
    }

    /// Creates every (non-pad) file at full length, so that empty files exist too once a download ends.
    pub fn create_all(&self) -> Result<(), EngineError> {
        for f in self.files.iter().filter(|f| !f.pad) {
            self.open(f)?;
        }
        Ok(())
    }

    /// fsync every open file: a finished download survives a crash.
    pub fn sync(&self) -> Result<(), EngineError> {
        for f in &self.files {
            if let Some(h) = f.handle.get() {
                h.sync_all().map_err(|e| EngineError::io(&f.path, e))?;
            }
        }
        Ok(())
    }
}
