//! Encoding an [`Info`] into the info dictionary, laid out key for key as libtorrent 2.0 writes
//! it, so that the same files give the same info-hashes.

use std::collections::BTreeMap;

use crate::bencode::{self, Value};
use crate::{FileEntry, Info, Version};

/// `attr` as libtorrent writes it: flags in the order p, h, x; absent when empty.
fn attr_string(f: &FileEntry) -> String {
    let mut s = String::new();
    if f.pad {
        s.push('p');
    }
    if f.hidden {
        s.push('h');
    }
    if f.executable {
        s.push('x');
    }
    s
}

/// The canonical bencoded info dictionary for `info`.
pub(crate) fn encode_info(info: &Info) -> Vec<u8> {
    let attrs: Vec<String> = info.files.iter().map(attr_string).collect();
    let pieces: Vec<u8> = info.pieces_v1.concat();

    let mut dict: BTreeMap<&[u8], Value<'_>> = BTreeMap::new();
    dict.insert(b"name", Value::Bytes(info.name.as_bytes()));
    dict.insert(b"piece length", int(info.piece_length));
    if info.private {
        dict.insert(b"private", Value::Int(1));
    }

    if info.version != Version::V2 {
        dict.insert(b"pieces", Value::Bytes(&pieces));
        if info.single_file {
            if let (Some(f), Some(attr)) = (info.files.first(), attrs.first()) {
                dict.insert(b"length", int(f.length));
                if !attr.is_empty() {
                    dict.insert(b"attr", Value::Bytes(attr.as_bytes()));
                }
            }
        } else {
            let list = info
                .files
                .iter()
                .zip(&attrs)
                .map(|(f, attr)| {
                    let mut e: BTreeMap<&[u8], Value<'_>> = BTreeMap::new();
                    if !attr.is_empty() {
                        e.insert(b"attr", Value::Bytes(attr.as_bytes()));
                    }
                    e.insert(b"length", int(f.length));
                    e.insert(
                        b"path",
                        Value::List(f.path.iter().map(|c| Value::Bytes(c.as_bytes())).collect()),
                    );
                    Value::Dict(e)
                })
                .collect();
            dict.insert(b"files", Value::List(list));
        }
    }

    if info.version != Version::V1 {
        dict.insert(b"meta version", Value::Int(2));
        let mut tree: BTreeMap<&[u8], Value<'_>> = BTreeMap::new();
        for (f, attr) in info.files.iter().zip(&attrs) {
            if f.pad {
                continue;
            }
            let mut leaf: BTreeMap<&[u8], Value<'_>> = BTreeMap::new();
            if !attr.is_empty() {
                leaf.insert(b"attr", Value::Bytes(attr.as_bytes()));
            }
            leaf.insert(b"length", int(f.length));
            if let (true, Some(root)) = (f.length > 0, f.pieces_root.as_ref()) {
                leaf.insert(b"pieces root", Value::Bytes(root));
            }
            insert_file(&mut tree, &f.path, Value::Dict(leaf));
        }
        dict.insert(b"file tree", Value::Dict(tree));
    }

    bencode::encode(&Value::Dict(dict))
}

/// Lengths are bounded by `MAX_LENGTH` (2^50) everywhere they are produced, so they fit.
fn int(n: u64) -> Value<'static> {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn insert_file<'a>(tree: &mut BTreeMap<&'a [u8], Value<'a>>, path: &'a [String], leaf: Value<'a>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let node = tree
        .entry(first.as_bytes())
        .or_insert_with(|| Value::Dict(BTreeMap::new()));
    let Value::Dict(children) = node else {
        return;
    };
    if rest.is_empty() {
        children.insert(b"", leaf);
    } else {
        insert_file(children, rest, leaf);
    }
}
