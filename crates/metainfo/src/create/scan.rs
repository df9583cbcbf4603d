//! Finding the files to put into a torrent, in libtorrent's canonical order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::{MetainfoError, path};

type Result<T> = std::result::Result<T, MetainfoError>;

pub(super) struct SourceFile {
    pub(super) rel: Vec<String>,
    pub(super) abs: PathBuf,
    pub(super) length: u64,
    pub(super) executable: bool,
}

pub(super) struct Source {
    pub(super) name: String,
    pub(super) single_file: bool,
    /// Sorted in libtorrent's canonical order.
    pub(super) files: Vec<SourceFile>,
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MetainfoError + '_ {
    move |source| MetainfoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn scan(path: &Path) -> Result<Source> {
    let canonical = path.canonicalize().map_err(io_err(path))?;
    // The name the user gave (a link keeps its own name, as with libtorrent); `.` and similar
    // fall back to the real directory's name.
    let name_os = path.file_name().or(canonical.file_name()).ok_or_else(|| {
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
