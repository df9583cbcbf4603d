use std::path::{Path, PathBuf};

/// Errors of the swarm engine. Peer misbehaviour is not an error here: it closes that connection only.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("tracker {url}: {reason}")]
    Tracker { url: String, reason: String },
    #[error("the engine has shut down")]
    Shutdown,
    #[error("torrent is already added")]
    Duplicate,
}

impl EngineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
