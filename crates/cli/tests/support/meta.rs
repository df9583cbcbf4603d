//! Torrent formats and the summary both `seedbank torrent show --json` and the libtorrent driver print,
//! so the tests can compare what each side reads from the same file.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    V1,
    V2,
    Hybrid,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::V1, Format::V2, Format::Hybrid];

    /// The name the libtorrent driver takes (`--format`).
    pub fn name(self) -> &'static str {
        match self {
            Format::V1 => "v1",
            Format::V2 => "v2",
            Format::Hybrid => "hybrid",
        }
    }

    /// The `seedbank torrent create` flag.
    pub fn flag(self) -> &'static str {
        match self {
            Format::V1 => "--v1",
            Format::V2 => "--v2",
            Format::Hybrid => "--hybrid",
        }
    }
}

/// What a tool reports about a .torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TorrentSummary {
    pub info_hash_v1: Option<String>,
    pub info_hash_v2: Option<String>,
    pub name: String,
    pub piece_length: u64,
    pub total_length: u64,
    /// `(path, length)` sorted by path, with the torrent's name stripped from the front of each path
    /// (tools differ on whether they include it) and pad files left out.
    pub files: Vec<(String, u64)>,
}

impl TorrentSummary {
    /// Parses the JSON object both tools print; `source` names the tool in error messages.
    pub fn from_json(source: &str, text: &str) -> TorrentSummary {
        let v: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{source} printed invalid JSON ({e}): {text}"));
        let field = |key: &str| {
            v.get(key)
                .unwrap_or_else(|| panic!("{source} JSON lacks `{key}`: {text}"))
        };
        let hash = |key: &str| match field(key) {
            Value::Null => None,
            Value::String(s) => Some(s.to_ascii_lowercase()),
            other => panic!("{source}: `{key}` is neither a string nor null: {other}"),
        };
        let number = |key: &str| {
            field(key)
                .as_u64()
                .unwrap_or_else(|| panic!("{source}: `{key}` is not an unsigned integer: {text}"))
        };
        let name = field("name")
            .as_str()
            .unwrap_or_else(|| panic!("{source}: `name` is not a string: {text}"))
            .to_owned();
        let mut files: Vec<(String, u64)> = field("files")
            .as_array()
            .unwrap_or_else(|| panic!("{source}: `files` is not an array: {text}"))
            .iter()
            .map(|f| {
                let path = f
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{source}: file without a string `path`: {f}"));
                let length = f
                    .get("length")
                    .and_then(Value::as_u64)
                    .unwrap_or_else(|| panic!("{source}: file without a numeric `length`: {f}"));
                (strip_name(&name, path), length)
            })
            .collect();
        files.sort();
        TorrentSummary {
            info_hash_v1: hash("info_hash_v1"),
            info_hash_v2: hash("info_hash_v2"),
            piece_length: number("piece_length"),
            total_length: number("total_length"),
            name,
            files,
        }
    }

    /// The 20-byte v1 info-hash, which is what trackers and v1 clients key on.
    pub fn v1_bytes(&self) -> [u8; 20] {
        let hex = self
            .info_hash_v1
            .as_deref()
            .unwrap_or_else(|| panic!("torrent {} has no v1 info-hash", self.name));
        let mut out = [0u8; 20];
        assert_eq!(hex.len(), 40, "v1 info-hash is not 40 hex digits: {hex}");
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .unwrap_or_else(|e| panic!("v1 info-hash {hex} is not hex: {e}"));
        }
        out
    }
}

/// `set/a/x.bin` -> `a/x.bin` for a torrent named `set`; a single-file torrent's only path becomes its name.
fn strip_name(name: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    match path
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(rest) => rest.to_owned(),
        None => path.to_owned(),
    }
}
