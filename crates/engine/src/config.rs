use std::net::SocketAddr;

/// Settings of one engine (one listening socket, any number of torrents).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Where to accept peers. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Port to tell trackers; defaults to the port actually bound.
    pub announce_port: Option<u16>,
    /// Connections per torrent, both directions.
    pub max_peers: usize,
    /// Peers we upload to at once (one of them rotates as an optimistic unchoke).
    pub upload_slots: usize,
    /// Hashing threads; 0 = one per core.
    pub hash_threads: usize,
    /// Most requests we keep queued from one peer; more are rejected (BEP 6) or dropped.
    pub max_upload_queue: u32,
    /// Upper bound on our own request pipeline to one peer, in 16 KiB blocks.
    pub max_request_queue: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 6881)),
            announce_port: None,
            max_peers: 50,
            upload_slots: 8,
            hash_threads: 0,
            max_upload_queue: 2000,
            max_request_queue: 1000,
        }
    }
}
