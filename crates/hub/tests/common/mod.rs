//! Shared by the hub's integration tests: a hub on a free loopback port, raw HTTP, announce queries.

#![allow(dead_code)]

pub mod fake_node;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use hub::{Hub, HubConfig};

pub struct RunningHub {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), hub::HubError>>>,
}

impl RunningHub {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: the final flush has run when this returns.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("hub task").expect("hub stopped cleanly");
        }
    }
}

pub fn config(dir: &Path) -> HubConfig {
    let mut config = HubConfig::defaults(dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.flush_interval = Duration::from_secs(1);
    config
}

pub async fn start(config: HubConfig) -> RunningHub {
    serve(Hub::open(config).expect("open hub")).await
}

pub async fn serve(hub: Hub) -> RunningHub {
    let listener = hub.bind().await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(hub.serve(listener, async move {
        let _ = rx.await;
    }));
    RunningHub {
        addr,
        stop: Some(tx),
        task: Some(task),
    }
}

/// One HTTP/1.1 GET; returns (status, body). Blocking: call from `spawn_blocking` in async tests.
pub fn http_get(addr: SocketAddr, target: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read reply");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = raw[split + 4..].to_vec();
    // Small replies come with Content-Length; chunked bodies are not expected from these routes.
    (status, body)
}

pub fn enc(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// `/announce/<passkey>?...` for a peer.
pub fn announce_target(
    passkey: &str,
    info_hash: &[u8; 20],
    peer_id: &[u8; 20],
    (up, down, left): (u64, u64, u64),
    event: &str,
) -> String {
    format!(
        "/announce/{passkey}?info_hash={}&peer_id={}&port=6881&uploaded={up}&downloaded={down}&left={left}&key=1a2b&compact=1&event={event}",
        enc(info_hash),
        enc(peer_id)
    )
}

pub fn is_failure(body: &[u8]) -> bool {
    body.starts_with(b"d14:failure reason")
}

/// A private hybrid torrent of one file of `len` bytes, as `.torrent` bytes.
pub fn private_torrent(dir: &Path, name: &str, len: usize) -> Vec<u8> {
    let path = dir.join(name);
    let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    let opts = metainfo::CreateOptions {
        private: true,
        announce: vec!["http://placeholder/announce".into()],
        ..metainfo::CreateOptions::default()
    };
    metainfo::create_torrent(&path, &opts, &mut |_, _| {})
        .unwrap()
        .to_bytes()
}

/// The parts of an API error response: (status, code, message); panics on any other error.
pub fn api_error(e: hubapi::ClientError) -> (u16, String, String) {
    match e {
        hubapi::ClientError::Api {
            status,
            code,
            message,
        } => (status, code, message),
        other => panic!("expected an API error, got {other}"),
    }
}
