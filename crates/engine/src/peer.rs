//! A peer connection: the handshake, then a reader and a writer moving bytes.
//!
//! The reader decodes frames (size-limited before any allocation, see `peerwire::FrameDecoder`) and
//! hands each batch to the swarm. The writer drains the peer's outbox: control messages first, then
//! queued uploads, read from disk straight into the send buffer, never past the peer's allowance.
//! Nothing here makes decisions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use peerwire::{FrameDecoder, HANDSHAKE_LEN, Handshake, Limits, Reserved};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::swarm::{PeerLink, Swarm};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Peers send keep-alives every two minutes at most; silence past this is a dead connection.
const IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// Bytes gathered before one socket write: large writes keep syscalls few at high rates.
const WRITE_BATCH: usize = 512 * 1024;
const READ_CHUNK: usize = 256 * 1024;
/// How long an orderly close waits to deliver the last queued messages.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn our_handshake(swarm: &Swarm, info_hash: [u8; 20]) -> Handshake {
    let mut reserved = Reserved::seedbank();
    if swarm.torrent.hashes.v2.is_none() {
        // The v2 upgrade bit promises BEP 52 hashes we cannot give for a v1-only torrent.
        reserved.0[7] &= !0x10;
    }
    Handshake {
        reserved,
        info_hash,
        peer_id: swarm.peer_id,
    }
}

pub(crate) async fn read_handshake(stream: &mut TcpStream) -> Result<Handshake, String> {
    let mut buf = [0u8; HANDSHAKE_LEN];
    tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read_exact(&mut buf))
        .await
        .map_err(|_| "handshake timed out".to_owned())?
        .map_err(|e| format!("handshake: {e}"))?;
    Handshake::decode(&buf).map_err(|e| e.to_string())
}

/// Dials `addr` for `swarm` and runs the connection until it ends.
pub(crate) async fn dial(swarm: Arc<Swarm>, addr: SocketAddr) {
    let connected = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr)).await;
    let mut stream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%addr, "connect failed: {e}");
            swarm.connect_failed(addr);
            return;
        }
        Err(_) => {
            tracing::debug!(%addr, "connect timed out");
            swarm.connect_failed(addr);
            return;
        }
    };
    let ours = our_handshake(&swarm, swarm.torrent.hashes.wire_id());
    let theirs = async {
        stream
            .write_all(&ours.encode())
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        read_handshake(&mut stream).await
    }
    .await;
    match theirs {
        Ok(theirs) if swarm.torrent.hashes.matches(&theirs.info_hash) => {
            run(swarm, stream, addr, ours, theirs, true).await
        }
        Ok(_) => {
            tracing::debug!(%addr, "peer answered for another torrent");
            swarm.connect_failed(addr);
        }
        Err(e) => {
            tracing::debug!(%addr, "{e}");
            swarm.connect_failed(addr);
        }
    }
}

/// An accepted connection whose handshake named this swarm's torrent.
pub(crate) async fn accept(
    swarm: Arc<Swarm>,
    mut stream: TcpStream,
    addr: SocketAddr,
    theirs: Handshake,
) {
    // Answer with the id the peer used, except that a v2-capable peer reaching a hybrid through its
    // v1 hash is upgraded to the truncated v2 hash (BEP 52), as libtorrent does: libtorrent may
    // switch its own expectation to v2 while the handshake is in flight, and then refuses a v1 reply.
    let reply_id = match swarm.torrent.hashes.v2_truncated() {
        Some(v2) if theirs.reserved.supports_v2() => v2,
        _ => theirs.info_hash,
    };
    let ours = our_handshake(&swarm, reply_id);
    if let Err(e) = stream.write_all(&ours.encode()).await {
        tracing::debug!(%addr, "handshake: {e}");
        return;
    }
    run(swarm, stream, addr, ours, theirs, false).await
}

async fn run(
    swarm: Arc<Swarm>,
    stream: TcpStream,
    addr: SocketAddr,
    ours: Handshake,
    theirs: Handshake,
    dialed: bool,
) {
    let _ = stream.set_nodelay(true);
    let fast = ours.reserved.supports_fast() && theirs.reserved.supports_fast();
    let extended = ours.reserved.supports_extended() && theirs.reserved.supports_extended();
    let (key, link) = match swarm.register(addr, theirs.peer_id, fast, extended, dialed) {
        Ok(registered) => registered,
        Err(reason) => {
            tracing::debug!(%addr, "refused: {reason}");
            return;
        }
    };
    let (reader, writer) = stream.into_split();
    let writer_task = tokio::spawn(write_loop(Arc::clone(&swarm), Arc::clone(&link), writer));
    let reason = read_loop(&swarm, key, &link, reader).await;
    swarm.peer_disconnected(key, &reason);
    link.close(&reason);
    // The writer may be stuck in a write to a peer that stopped reading: end it, do not wait for it.
    writer_task.abort();
}

async fn read_loop(
    swarm: &Arc<Swarm>,
    key: u64,
    link: &PeerLink,
    mut reader: OwnedReadHalf,
) -> String {
    let mut decoder = FrameDecoder::new(Limits::for_torrent(swarm.torrent.piece_count()));
    loop {
        if link.closed.load(Ordering::SeqCst) {
            return link
                .outbox()
                .close_reason
                .clone()
                .unwrap_or_else(|| "closed".into());
        }
        let buf = decoder.buffer_mut();
        buf.reserve(READ_CHUNK);
        let read = tokio::select! {
            r = tokio::time::timeout(IDLE_TIMEOUT, reader.read_buf(buf)) => r,
            _ = link.wake_reader.notified() => continue,
        };
        match read {
            Err(_) => return "idle timeout".into(),
            Ok(Err(e)) => return format!("read: {e}"),
            Ok(Ok(0)) => return "peer closed the connection".into(),
            Ok(Ok(_)) => {}
        }
        let mut batch = Vec::new();
        loop {
            match decoder.next_frame() {
                Ok(Some(message)) => batch.push(message),
                Ok(None) => break,
                Err(e) => {
                    tracing::info!("dropping peer: {e}");
                    return format!("protocol violation: {e}");
                }
            }
        }
        if !batch.is_empty()
            && let Err(reason) = swarm.handle_messages(key, batch)
        {
            tracing::info!("dropping peer: {reason}");
            return reason;
        }
    }
}

async fn write_loop(swarm: Arc<Swarm>, link: Arc<PeerLink>, mut writer: OwnedWriteHalf) {
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BATCH + 64 * 1024);
    loop {
        if link.closed.load(Ordering::SeqCst) {
            break;
        }
        let (messages, uploads, data, finish) = {
            let mut outbox = link.outbox();
            let messages = std::mem::take(&mut outbox.messages);
            outbox.taken += messages.len() as u64;
            let finish = outbox.finish.take();
            let mut uploads = Vec::new();
            // Blocks beyond the allowance stay queued until it grows (the swarm wakes us then).
            let allowance = link.allowance.load(Ordering::Acquire);
            let sent = link.sent_data.load(Ordering::Relaxed);
            let (mut bytes, mut data) = (0usize, 0u64);
            while bytes < WRITE_BATCH {
                let Some(r) = outbox.uploads.front() else {
                    break;
                };
                let in_block = swarm.data_in(r.index, r.begin, r.length);
                if sent + data + in_block > allowance {
                    break;
                }
                bytes += r.length as usize;
                data += in_block;
                uploads.extend(outbox.uploads.pop_front());
            }
            (messages, uploads, data, finish)
        };
        if !messages.is_empty() {
            // Piece reads wait for their answers to leave the outbox before the next one starts.
            link.drained.notify_waiters();
        }
        if let Some(reason) = finish {
            let mut buf = Vec::new();
            for m in &messages {
                m.encode(&mut buf);
            }
            let _ = tokio::time::timeout(FINISH_TIMEOUT, async {
                writer.write_all(&buf).await?;
                // FIN after the data; then wait for the peer to close its side, since closing a
                // socket with unread input resets it and can discard what we just wrote.
                writer.shutdown().await?;
                while !link.closed.load(Ordering::SeqCst) {
                    link.wake_writer.notified().await;
                }
                Ok::<(), std::io::Error>(())
            })
            .await;
            link.close(&reason);
            return;
        }
        if messages.is_empty() && uploads.is_empty() {
            link.wake_writer.notified().await;
            continue;
        }
        buf.clear();
        for m in &messages {
            m.encode(&mut buf);
        }
        let mut payload = 0u64;
        for r in &uploads {
            // Piece frame: length, id 7, index, begin, then the block read from disk in place.
            buf.extend_from_slice(&(9 + r.length).to_be_bytes());
            buf.push(7);
            buf.extend_from_slice(&r.index.to_be_bytes());
            buf.extend_from_slice(&r.begin.to_be_bytes());
            let start = buf.len();
            buf.resize(start + r.length as usize, 0);
            let offset = u64::from(r.index) * swarm.torrent.info.piece_length + u64::from(r.begin);
            if let Err(e) = swarm.storage.read(offset, &mut buf[start..]) {
                tracing::error!("cannot serve piece {}: {e}", r.index);
                link.close("local read error");
                return;
            }
            payload += u64::from(r.length);
        }
        match tokio::time::timeout(IDLE_TIMEOUT, writer.write_all(&buf)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("write: {e}");
                link.close("write failed");
                break;
            }
            Err(_) => {
                link.close("peer stopped reading");
                break;
            }
        }
        link.uploaded.fetch_add(payload, Ordering::Relaxed);
        link.sent_data.fetch_add(data, Ordering::Relaxed);
        swarm.count_upload(payload);
    }
    let _ = writer.shutdown().await;
}
