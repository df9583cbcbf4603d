//! The one error type of this crate.
//!
//! Every variant names the field (using the dotted path inside the .torrent, e.g.
//! `info.files[3].path`) so that a user who is handed a broken torrent can see what is wrong
//! without a hex editor.

use std::path::PathBuf;

use crate::bencode::BencodeError;

/// Why a torrent, magnet link or torrent creation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetainfoError {
    /// The bytes are not strict, canonical bencode.
    #[error("invalid bencode: {0}")]
    Bencode(#[from] BencodeError),

    /// The input is larger than we are willing to parse.
    #[error("{what} is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit it broke.
        limit: u64,
    },

    /// A required key is absent.
    #[error("missing required field `{0}`")]
    MissingField(String),

    /// A key is present but holds the wrong bencode type.
    #[error("field `{field}` must be {expected}")]
    WrongType {
        /// Dotted path of the field.
        field: String,
        /// What it should have been.
        expected: &'static str,
    },

    /// A key has the right type but a value we refuse.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField {
        /// Dotted path of the field.
        field: String,
        /// Why.
        reason: String,
    },

    /// A file path would escape the download directory or is not portable.
    #[error("unsafe path in `{field}`: {reason}")]
    UnsafePath {
        /// Dotted path of the field.
        field: String,
        /// Why the path is refused.
        reason: String,
    },

    /// `piece length` is not acceptable for this torrent version.
    #[error("invalid piece length {length}: {reason}")]
    PieceLength {
        /// The value found.
        length: u64,
        /// Why.
        reason: &'static str,
    },

    /// The number of piece hashes does not match the size of the data.
    #[error("`{field}` holds {actual} hashes but the files need {expected}")]
    PieceCount {
        /// Dotted path of the field.
        field: String,
        /// Hashes needed.
        expected: u64,
        /// Hashes present.
        actual: u64,
    },

    /// A BEP 52 piece layer is missing, has the wrong size, or does not hash to its root.
    #[error("piece layer for `{file}` (pieces root {root}): {reason}")]
    PieceLayer {
        /// Path of the file the layer belongs to.
        file: String,
        /// Hex of the pieces root.
        root: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// A hybrid torrent whose v1 file list and v2 file tree describe different data.
    #[error("hybrid torrent's v1 and v2 parts disagree: {0}")]
    HybridMismatch(String),

    /// `meta version` is something other than 2.
    #[error("unknown `info.meta version` {0} (only 2 is defined, by BEP 52)")]
    UnknownMetaVersion(i64),

    /// A magnet link we cannot use.
    #[error("invalid magnet link: {0}")]
    Magnet(String),

    /// Reading the files to hash failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The files to hash cannot form a torrent.
    #[error("cannot create torrent: {0}")]
    Create(String),
}

impl MetainfoError {
    pub(crate) fn wrong_type(field: impl Into<String>, expected: &'static str) -> Self {
        MetainfoError::WrongType {
            field: field.into(),
            expected,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        MetainfoError::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        MetainfoError::MissingField(field.into())
    }
}
