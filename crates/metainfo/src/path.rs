//! Validation of path components from torrents (and of file names we put into torrents).
//!
//! A torrent's file paths are joined under the user's download directory. A component such as
//! `..`, an absolute path, a separator hidden inside a component, or a Windows drive prefix would
//! let a torrent write outside that directory, so such torrents are refused outright rather than
//! "sanitised" (sanitising changes what the user sees versus what the swarm calls the file).

use crate::MetainfoError;

/// Checks one path component and returns it as a `String`.
pub(crate) fn component(field: &str, raw: &[u8]) -> Result<String, MetainfoError> {
    let unsafe_path = |reason: &str| MetainfoError::UnsafePath {
        field: field.to_string(),
        reason: reason.to_string(),
    };
    let s = std::str::from_utf8(raw).map_err(|_| unsafe_path("not valid UTF-8"))?;
    if s.is_empty() {
        return Err(unsafe_path("empty path component"));
    }
    if s == "." || s == ".." {
        return Err(unsafe_path(&format!(
            "`{s}` is not allowed as a path component"
        )));
    }
    if s.contains('/') || s.contains('\\') {
        return Err(unsafe_path(&format!(
            "`{}` contains a path separator",
            s.escape_debug()
        )));
    }
    if s.contains('\0') {
        return Err(unsafe_path("contains a NUL byte"));
    }
    let b = s.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(unsafe_path(&format!(
            "`{}` starts with a Windows drive prefix",
            s.escape_debug()
        )));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "a",
            "file.txt",
            ".hidden",
            "..dots",
            "a b",
            "ünïcødé",
            "ab:c",
            "1:",
        ] {
            assert_eq!(component("f", ok.as_bytes()).unwrap(), ok);
        }
    }

    #[test]
    fn rejects_traversal_and_separators() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"a/b",
            b"/etc",
            b"a\\b",
            b"\\",
            b"a\0b",
            b"C:",
            b"c:evil",
            b"\xff\xfe",
        ] {
            let err = component("info.files[0].path[0]", bad).unwrap_err();
            assert!(
                err.to_string().contains("info.files[0].path[0]"),
                "{err} for {bad:?}"
            );
        }
    }
}
