//! Parsing and validating .torrent files and info dictionaries.
//!
//! The parser walks the input lazily ([`bencode::Raw`]) so that hostile inputs cannot make it
//! allocate much more than the size of what it returns. Every check here exists because some
//! component downstream would otherwise trust a number or a path from the network: see
//! `docs/metainfo.md` for the list and the reasons.

use std::collections::{HashMap, HashSet};

use crate::bencode::{self, Kind, Raw};
use crate::{
    FileEntry, Info, InfoHashes, MAX_LENGTH, MAX_PIECE_LENGTH, MAX_PIECES, MAX_TORRENT_BYTES,
    MetainfoError, Torrent, Version, hash, merkle, path,
};

type Result<T> = std::result::Result<T, MetainfoError>;

/// Parses a complete .torrent file.
pub(crate) fn parse_torrent(bytes: &[u8]) -> Result<Torrent> {
    if bytes.len() > MAX_TORRENT_BYTES {
        return Err(MetainfoError::TooLarge {
            what: ".torrent file",
            size: bytes.len() as u64,
            limit: MAX_TORRENT_BYTES as u64,
        });
    }
    let root = bencode::parse_raw(bytes)?;
    if root.kind() != Kind::Dict {
        return Err(MetainfoError::wrong_type("(top level)", "a dictionary"));
    }
    let info_raw = root
        .get("info")
        .ok_or_else(|| MetainfoError::missing("info"))?;
    let info = parse_info(info_raw)?;
    let piece_layers = parse_piece_layers(root.get("piece layers"), &info)?;
    let info_bytes = info_raw.encoded().to_vec();
    let hashes = info_hashes(&info_bytes, info.version);

    let announce = opt_utf8(root, "announce")?;
    let announce_list = parse_announce_list(root)?;
    let comment = opt_text(root, "comment")?;
    let created_by = opt_text(root, "created by")?;
    let creation_date = opt_int(root, "creation date", "creation date")?;

    Ok(Torrent {
        info,
        info_bytes,
        hashes,
        announce,
        announce_list,
        comment,
        created_by,
        creation_date,
        piece_layers,
    })
}

/// Parses a bare info dictionary (e.g. fetched from peers through BEP 9).
pub(crate) fn parse_info_bytes(bytes: &[u8]) -> Result<Info> {
    if bytes.len() > MAX_TORRENT_BYTES {
        return Err(MetainfoError::TooLarge {
            what: "info dictionary",
            size: bytes.len() as u64,
            limit: MAX_TORRENT_BYTES as u64,
        });
    }
    parse_info(bencode::parse_raw(bytes)?)
}

/// The info-hashes of exact info-dict bytes for a torrent of `version`.
pub(crate) fn info_hashes(info_bytes: &[u8], version: Version) -> InfoHashes {
    InfoHashes {
        v1: (version != Version::V2).then(|| hash::sha1(info_bytes)),
        v2: (version != Version::V1).then(|| hash::sha256(info_bytes)),
    }
}

fn parse_info(info: Raw<'_>) -> Result<Info> {
    if info.kind() != Kind::Dict {
        return Err(MetainfoError::wrong_type("info", "a dictionary"));
    }
    let name_raw =
        opt_bytes(info, "name", "info.name")?.ok_or_else(|| MetainfoError::missing("info.name"))?;
    let name = path::component("info.name", name_raw)?;

    let piece_length = opt_int(info, "piece length", "info.piece length")?
        .ok_or_else(|| MetainfoError::missing("info.piece length"))?;
    let piece_length = u64::try_from(piece_length)
        .map_err(|_| MetainfoError::invalid("info.piece length", "negative"))?;

    let private = match opt_int(info, "private", "info.private")? {
        None | Some(0) => false,
        Some(1) => true,
        Some(other) => {
            return Err(MetainfoError::invalid(
                "info.private",
                format!("must be 0 or 1, got {other}"),
            ));
        }
    };

    let has_v2 = match opt_int(info, "meta version", "info.meta version")? {
        None => false,
        Some(2) => true,
        Some(other) => return Err(MetainfoError::UnknownMetaVersion(other)),
    };
    let pieces = opt_bytes(info, "pieces", "info.pieces")?;
    let version = match (has_v2, pieces.is_some()) {
        (true, true) => Version::Hybrid,
        (true, false) => Version::V2,
        (false, true) => Version::V1,
        (false, false) => return Err(MetainfoError::missing("info.pieces")),
    };
    check_piece_length(piece_length, version)?;

    let (files, single_file, total_length) = match version {
        Version::V1 => {
            let v1 = parse_v1_files(info, &name)?;
            (v1.files, v1.single_file, v1.total)
        }
        Version::V2 => {
            let v2 = parse_file_tree(info, &name)?;
            v2_layout(v2, piece_length)?
        }
        Version::Hybrid => {
            let v1 = parse_v1_files(info, &name)?;
            let v2 = parse_file_tree(info, &name)?;
            let files = merge_hybrid(v1.files, v2.files, piece_length)?;
            (files, v1.single_file, v1.total)
        }
    };

    if files.iter().filter(|f| !f.pad).all(|f| f.length == 0) {
        return Err(MetainfoError::invalid(
            "info",
            "the torrent holds no data (all files are empty)",
        ));
    }
    check_conflicts(&files)?;

    let piece_count = total_length.div_ceil(piece_length);
    if piece_count > MAX_PIECES {
        return Err(MetainfoError::invalid(
            "info.piece length",
            format!(
                "{piece_count} pieces of {piece_length} bytes; at most {MAX_PIECES} are supported"
            ),
        ));
    }

    let pieces_v1 = match pieces {
        None => Vec::new(),
        Some(p) => {
            let expected = piece_count;
            if !p.len().is_multiple_of(20) || (p.len() / 20) as u64 != expected {
                return Err(MetainfoError::PieceCount {
                    field: "info.pieces".into(),
                    expected,
                    actual: (p.len() / 20) as u64,
                });
            }
            p.chunks_exact(20)
                .map(|c| {
                    let mut h = [0u8; 20];
                    h.copy_from_slice(c);
                    h
                })
                .collect()
        }
    };

    Ok(Info {
        name,
        piece_length,
        private,
        version,
        files,
        pieces_v1,
        total_length,
        single_file,
    })
}

pub(crate) fn check_piece_length(length: u64, version: Version) -> Result<()> {
    let err = |reason| Err(MetainfoError::PieceLength { length, reason });
    let block = u64::from(crate::BLOCK_SIZE);
    if length < block {
        return err("must be at least 16 KiB");
    }
    if length > MAX_PIECE_LENGTH {
        return err("must be at most 256 MiB");
    }
    match version {
        Version::V1 if !length.is_multiple_of(block) => err("must be a multiple of 16 KiB"),
        Version::V2 | Version::Hybrid if !length.is_power_of_two() => {
            err("must be a power of two for v2 and hybrid torrents (BEP 52)")
        }
        _ => Ok(()),
    }
}

struct Attr {
    pad: bool,
    executable: bool,
    hidden: bool,
}

fn parse_attr(dict: Raw<'_>, field: &str) -> Result<Attr> {
    let attr = opt_bytes(dict, "attr", field)?.unwrap_or_default();
    Ok(Attr {
        pad: attr.contains(&b'p'),
        executable: attr.contains(&b'x'),
        hidden: attr.contains(&b'h'),
    })
}

fn parse_length(raw: Raw<'_>, field: &str) -> Result<u64> {
    let n = raw
        .int()
        .ok_or_else(|| MetainfoError::wrong_type(field, "an integer"))?;
    let n = u64::try_from(n).map_err(|_| MetainfoError::invalid(field, "negative length"))?;
    if n > MAX_LENGTH {
        return Err(MetainfoError::TooLarge {
            what: "file length",
            size: n,
            limit: MAX_LENGTH,
        });
    }
    Ok(n)
}

fn add_offset(offset: u64, length: u64) -> Result<u64> {
    offset
        .checked_add(length)
        .filter(|&end| end <= MAX_LENGTH)
        .ok_or(MetainfoError::TooLarge {
            what: "total length",
            size: offset.saturating_add(length),
            limit: MAX_LENGTH,
        })
}

struct V1Files {
    files: Vec<FileEntry>,
    single_file: bool,
    total: u64,
}

fn parse_v1_files(info: Raw<'_>, name: &str) -> Result<V1Files> {
    match (info.get("length"), info.get("files")) {
        (Some(_), Some(_)) => Err(MetainfoError::invalid(
            "info",
            "has both `length` (single file) and `files` (multi-file)",
        )),
        (None, None) => Err(MetainfoError::missing("info.length or info.files")),
        (Some(len), None) => {
            let length = parse_length(len, "info.length")?;
            let attr = parse_attr(info, "info.attr")?;
            if attr.pad {
                return Err(MetainfoError::invalid(
                    "info.attr",
                    "a single-file torrent cannot be a pad file",
                ));
            }
            Ok(V1Files {
                files: vec![FileEntry {
                    path: vec![name.to_string()],
                    length,
                    offset: 0,
                    pad: false,
                    executable: attr.executable,
                    hidden: attr.hidden,
                    pieces_root: None,
                }],
                single_file: true,
                total: length,
            })
        }
        (None, Some(list)) => {
            let items = list
                .list()
                .ok_or_else(|| MetainfoError::wrong_type("info.files", "a list"))?;
            let mut files = Vec::new();
            let mut offset = 0u64;
            for (i, item) in items.enumerate() {
                let field = format!("info.files[{i}]");
                if item.kind() != Kind::Dict {
                    return Err(MetainfoError::wrong_type(field, "a dictionary"));
                }
                let length = parse_length(
                    item.get("length")
                        .ok_or_else(|| MetainfoError::missing(format!("{field}.length")))?,
                    &format!("{field}.length"),
                )?;
                let path_field = format!("{field}.path");
                let path = parse_path_list(
                    item.get("path")
                        .ok_or_else(|| MetainfoError::missing(path_field.clone()))?,
                    &path_field,
                )?;
                let attr = parse_attr(item, &format!("{field}.attr"))?;
                files.push(FileEntry {
                    path,
                    length,
                    offset,
                    pad: attr.pad,
                    executable: attr.executable,
                    hidden: attr.hidden,
                    pieces_root: None,
                });
                offset = add_offset(offset, length)?;
            }
            if files.is_empty() {
                return Err(MetainfoError::invalid("info.files", "empty file list"));
            }
            Ok(V1Files {
                files,
                single_file: false,
                total: offset,
            })
        }
    }
}

fn parse_path_list(raw: Raw<'_>, field: &str) -> Result<Vec<String>> {
    let items = raw
        .list()
        .ok_or_else(|| MetainfoError::wrong_type(field, "a list of strings"))?;
    let mut out = Vec::new();
    for (j, c) in items.enumerate() {
        let cfield = format!("{field}[{j}]");
        let bytes = c
            .bytes()
            .ok_or_else(|| MetainfoError::wrong_type(cfield.clone(), "a string"))?;
        out.push(path::component(&cfield, bytes)?);
    }
    if out.is_empty() {
        return Err(MetainfoError::UnsafePath {
            field: field.to_string(),
            reason: "empty path".into(),
        });
    }
    Ok(out)
}

struct V2File {
    path: Vec<String>,
    length: u64,
    root: Option<[u8; 32]>,
    executable: bool,
    hidden: bool,
}

struct V2Tree {
    files: Vec<V2File>,
    single_file: bool,
}

fn parse_file_tree(info: Raw<'_>, name: &str) -> Result<V2Tree> {
    let tree = info
        .get("file tree")
        .ok_or_else(|| MetainfoError::missing("info.file tree"))?;
    if tree.kind() != Kind::Dict {
        return Err(MetainfoError::wrong_type("info.file tree", "a dictionary"));
    }
    let mut files = Vec::new();
    let mut prefix = Vec::new();
    walk_tree(tree, &mut prefix, &mut files)?;
    if files.is_empty() {
        return Err(MetainfoError::invalid(
            "info.file tree",
            "contains no files",
        ));
    }
    let top_level_entries = tree.dict().map_or(0, |d| d.count());
    let single_file = top_level_entries == 1 && files.len() == 1 && files[0].path == [name];
    Ok(V2Tree { files, single_file })
}

fn walk_tree(node: Raw<'_>, prefix: &mut Vec<String>, out: &mut Vec<V2File>) -> Result<()> {
    let field = |prefix: &[String]| format!("info.file tree/{}", prefix.join("/"));
    let entries = node
        .dict()
        .ok_or_else(|| MetainfoError::wrong_type(field(prefix), "a dictionary"))?;
    for (key, child) in entries {
        let name = path::component(&format!("{} (key)", field(prefix)), key)?;
        prefix.push(name);
        let here = field(prefix);
        let child_entries = child
            .dict()
            .ok_or_else(|| MetainfoError::wrong_type(here.clone(), "a dictionary"))?;
        match child.get("") {
            Some(props) => {
                if child_entries.count() != 1 {
                    return Err(MetainfoError::invalid(
                        here,
                        "is both a file and a directory",
                    ));
                }
                out.push(parse_v2_file(props, prefix, &here)?);
            }
            None => {
                if child_entries.count() == 0 {
                    return Err(MetainfoError::invalid(here, "empty directory"));
                }
                walk_tree(child, prefix, out)?;
            }
        }
        prefix.pop();
    }
    Ok(())
}

fn parse_v2_file(props: Raw<'_>, path: &[String], field: &str) -> Result<V2File> {
    if props.kind() != Kind::Dict {
        return Err(MetainfoError::wrong_type(field, "a dictionary"));
    }
    let length = parse_length(
        props
            .get("length")
            .ok_or_else(|| MetainfoError::missing(format!("{field}.length")))?,
        &format!("{field}.length"),
    )?;
    let root = if length > 0 {
        let rfield = format!("{field}.pieces root");
        let r = opt_bytes(props, "pieces root", &rfield)?
            .ok_or_else(|| MetainfoError::missing(rfield.clone()))?;
        let r: [u8; 32] = r
            .try_into()
            .map_err(|_| MetainfoError::invalid(rfield, "must be 32 bytes"))?;
        Some(r)
    } else {
        None
    };
    let attr = parse_attr(props, &format!("{field}.attr"))?;
    Ok(V2File {
        path: path.to_vec(),
        length,
        root,
        executable: attr.executable,
        hidden: attr.hidden,
    })
}

/// v2-only piece space: every non-empty file starts at a piece boundary.
fn v2_layout(tree: V2Tree, piece_length: u64) -> Result<(Vec<FileEntry>, bool, u64)> {
    let mut offset = 0u64;
    let mut files = Vec::with_capacity(tree.files.len());
    for f in tree.files {
        if f.length > 0 {
            offset = align_up(offset, piece_length)?;
        }
        files.push(FileEntry {
            path: f.path,
            length: f.length,
            offset,
            pad: false,
            executable: f.executable,
            hidden: f.hidden,
            pieces_root: f.root,
        });
        offset = add_offset(offset, f.length)?;
    }
    Ok((files, tree.single_file, offset))
}

fn align_up(offset: u64, piece_length: u64) -> Result<u64> {
    let rem = offset % piece_length;
    if rem == 0 {
        Ok(offset)
    } else {
        add_offset(offset, piece_length - rem)
    }
}

/// Attaches the v2 roots to the v1 file list after checking that both describe the same data,
/// with every file aligned to a piece so that v2 pieces coincide with v1 pieces.
fn merge_hybrid(
    mut v1: Vec<FileEntry>,
    v2: Vec<V2File>,
    piece_length: u64,
) -> Result<Vec<FileEntry>> {
    let mut v2_iter = v2.into_iter().filter(|f| f.length > 0);
    for (i, f) in v1.iter_mut().enumerate() {
        if f.pad || f.length == 0 {
            continue;
        }
        let Some(other) = v2_iter.next() else {
            return Err(MetainfoError::HybridMismatch(format!(
                "`{}` (info.files[{i}]) is missing from the v2 file tree",
                f.path.join("/")
            )));
        };
        if other.path != f.path || other.length != f.length {
            return Err(MetainfoError::HybridMismatch(format!(
                "info.files[{i}] is `{}` ({} bytes) but the file tree has `{}` ({} bytes) in its place",
                f.path.join("/"),
                f.length,
                other.path.join("/"),
                other.length
            )));
        }
        if !f.offset.is_multiple_of(piece_length) {
            return Err(MetainfoError::HybridMismatch(format!(
                "`{}` starts at byte {} of the piece space, not on a piece boundary (missing pad file)",
                f.path.join("/"),
                f.offset
            )));
        }
        f.pieces_root = other.root;
    }
    if let Some(extra) = v2_iter.next() {
        return Err(MetainfoError::HybridMismatch(format!(
            "`{}` is in the v2 file tree but not in info.files",
            extra.path.join("/")
        )));
    }
    Ok(v1)
}

/// Refuses two files at the same path, and a path used both as a file and as a directory: either
/// would make two files of the torrent fight over one place on disk.
fn check_conflicts(files: &[FileEntry]) -> Result<()> {
    let real: Vec<&FileEntry> = files.iter().filter(|f| !f.pad).collect();
    let mut seen: HashSet<&[String]> = HashSet::with_capacity(real.len());
    for f in &real {
        if !seen.insert(&f.path) {
            return Err(MetainfoError::invalid(
                "info.files",
                format!("duplicate path `{}`", f.path.join("/")),
            ));
        }
    }
    for f in &real {
        for n in 1..f.path.len() {
            if seen.contains(&f.path[..n]) {
                return Err(MetainfoError::invalid(
                    "info.files",
                    format!(
                        "`{}` is both a file and a directory (of `{}`)",
                        f.path[..n].join("/"),
                        f.path.join("/")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Validates `piece layers` for every file larger than one piece and keeps just those.
fn parse_piece_layers(
    raw: Option<Raw<'_>>,
    info: &Info,
) -> Result<HashMap<[u8; 32], Vec<[u8; 32]>>> {
    let mut out = HashMap::new();
    if info.version == Version::V1 {
        return Ok(out);
    }
    let layers: HashMap<&[u8], Raw<'_>> = match raw {
        Some(r) => r
            .dict()
            .ok_or_else(|| MetainfoError::wrong_type("piece layers", "a dictionary"))?
            .collect(),
        None => HashMap::new(),
    };
    for f in &info.files {
        let Some(root) = f.pieces_root else { continue };
        if f.length <= info.piece_length || out.contains_key(&root) {
            continue;
        }
        let err = |reason| MetainfoError::PieceLayer {
            file: f.path.join("/"),
            root: hex::encode(root),
            reason,
        };
        let bytes = layers
            .get(root.as_slice())
            .ok_or_else(|| err("missing (required for files larger than one piece)"))?
            .bytes()
            .ok_or_else(|| err("not a string"))?;
        let layer = layer_from_bytes(bytes, f.length, info.piece_length)
            .ok_or_else(|| err("wrong number of hashes for the file's length"))?;
        if merkle::pieces_root(&layer, info.piece_length) != root {
            return Err(err("does not hash to the file's pieces root"));
        }
        out.insert(root, layer);
    }
    Ok(out)
}

/// Splits a piece layer, checking it has exactly one hash per piece of the file.
pub(crate) fn layer_from_bytes(
    bytes: &[u8],
    file_length: u64,
    piece_length: u64,
) -> Option<Vec<[u8; 32]>> {
    let expected = file_length.div_ceil(piece_length);
    if !bytes.len().is_multiple_of(32) || (bytes.len() / 32) as u64 != expected {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect(),
    )
}

fn parse_announce_list(root: Raw<'_>) -> Result<Vec<Vec<String>>> {
    let Some(list) = root.get("announce-list") else {
        return Ok(Vec::new());
    };
    let tiers = list
        .list()
        .ok_or_else(|| MetainfoError::wrong_type("announce-list", "a list of lists"))?;
    let mut out = Vec::new();
    for (i, tier) in tiers.enumerate() {
        let field = format!("announce-list[{i}]");
        let mut urls = Vec::new();
        // Some tools write a flat list of URLs; each becomes its own tier.
        if let Some(b) = tier.bytes() {
            urls.push(utf8(b, &field)?);
        } else {
            let items = tier
                .list()
                .ok_or_else(|| MetainfoError::wrong_type(field.clone(), "a list of strings"))?;
            for (j, u) in items.enumerate() {
                let ufield = format!("{field}[{j}]");
                let b = u
                    .bytes()
                    .ok_or_else(|| MetainfoError::wrong_type(ufield.clone(), "a string"))?;
                urls.push(utf8(b, &ufield)?);
            }
        }
        urls.retain(|u| !u.is_empty());
        if !urls.is_empty() {
            out.push(urls);
        }
    }
    Ok(out)
}

fn utf8(b: &[u8], field: &str) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| MetainfoError::invalid(field, "not valid UTF-8"))
}

fn opt_bytes<'a>(dict: Raw<'a>, key: &str, field: &str) -> Result<Option<&'a [u8]>> {
    match dict.get(key) {
        None => Ok(None),
        Some(v) => v
            .bytes()
            .map(Some)
            .ok_or_else(|| MetainfoError::wrong_type(field, "a string")),
    }
}

fn opt_int(dict: Raw<'_>, key: &str, field: &str) -> Result<Option<i64>> {
    match dict.get(key) {
        None => Ok(None),
        Some(v) => v
            .int()
            .map(Some)
            .ok_or_else(|| MetainfoError::wrong_type(field, "an integer")),
    }
}

fn opt_utf8(dict: Raw<'_>, key: &str) -> Result<Option<String>> {
    opt_bytes(dict, key, key)?.map(|b| utf8(b, key)).transpose()
}

/// Free text (comments, creator names) is shown, never interpreted, so invalid UTF-8 is
/// replaced rather than refused.
fn opt_text(dict: Raw<'_>, key: &str) -> Result<Option<String>> {
    Ok(opt_bytes(dict, key, key)?.map(|b| String::from_utf8_lossy(b).into_owned()))
}
