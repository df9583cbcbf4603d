//! Bencoded replies, written straight into a buffer: this runs once per announce, tens of thousands
//! of times a second, so no intermediate value tree. Keys are written in sorted order, as bencode
//! requires.

use std::net::{SocketAddrV4, SocketAddrV6};

pub(crate) fn int(out: &mut Vec<u8>, v: u64) {
    out.push(b'i');
    decimal(out, v);
    out.push(b'e');
}

fn decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    decimal(out, b.len() as u64);
    out.push(b':');
    out.extend_from_slice(b);
}

/// `d14:failure reason<len>:<reason>e` — what BEP 3 clients show their user.
pub fn failure(reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + reason.len());
    out.extend_from_slice(b"d14:failure reason");
    bytes(&mut out, reason.as_bytes());
    out.push(b'e');
    out
}

/// Peers gathered for one reply.
#[derive(Debug, Default)]
pub(crate) struct PeerLists {
    pub compact: bool,
    pub no_peer_id: bool,
    pub v4: Vec<(SocketAddrV4, [u8; 20])>,
    pub v6: Vec<(SocketAddrV6, [u8; 20])>,
}

pub(crate) struct Counts {
    pub complete: u64,
    pub incomplete: u64,
    pub downloaded: u64,
}

pub(crate) fn announce(
    counts: &Counts,
    interval: u32,
    min_interval: u32,
    peers: &PeerLists,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + peers.v4.len() * 6 + peers.v6.len() * 18);
    out.extend_from_slice(b"d8:complete");
    int(&mut out, counts.complete);
    out.extend_from_slice(b"10:downloaded");
    int(&mut out, counts.downloaded);
    out.extend_from_slice(b"10:incomplete");
    int(&mut out, counts.incomplete);
    out.extend_from_slice(b"8:interval");
    int(&mut out, u64::from(interval));
    out.extend_from_slice(b"12:min interval");
    int(&mut out, u64::from(min_interval));
    out.extend_from_slice(b"5:peers");
    if peers.compact {
        decimal(&mut out, peers.v4.len() as u64 * 6);
        out.push(b':');
        for (addr, _) in &peers.v4 {
            out.extend_from_slice(&addr.ip().octets());
            out.extend_from_slice(&addr.port().to_be_bytes());
        }
        // BEP 7: IPv6 peers in their own compact string.
        out.extend_from_slice(b"6:peers6");
        decimal(&mut out, peers.v6.len() as u64 * 18);
        out.push(b':');
        for (addr, _) in &peers.v6 {
            out.extend_from_slice(&addr.ip().octets());
            out.extend_from_slice(&addr.port().to_be_bytes());
        }
    } else {
        // The original BEP 3 list of dictionaries, both families in one list.
        out.push(b'l');
        let v4 = peers
            .v4
            .iter()
            .map(|(a, id)| (a.ip().to_string(), a.port(), id));
        let v6 = peers
            .v6
            .iter()
            .map(|(a, id)| (a.ip().to_string(), a.port(), id));
        for (ip, port, id) in v4.chain(v6) {
            out.extend_from_slice(b"d2:ip");
            bytes(&mut out, ip.as_bytes());
            if !peers.no_peer_id {
                out.extend_from_slice(b"7:peer id");
                bytes(&mut out, id);
            }
            out.extend_from_slice(b"4:port");
            int(&mut out, u64::from(port));
            out.push(b'e');
        }
        out.push(b'e');
    }
    out.push(b'e');
    out
}

/// BEP 48: `files` maps each known info-hash to its counts.
pub(crate) fn scrape(files: &[([u8; 20], Counts)]) -> Vec<u8> {
    let mut sorted: Vec<&([u8; 20], Counts)> = files.iter().collect();
    sorted.sort_by_key(|f| f.0);
    let mut out = Vec::with_capacity(16 + files.len() * 80);
    out.extend_from_slice(b"d5:filesd");
    for (hash, c) in sorted {
        bytes(&mut out, hash);
        out.extend_from_slice(b"d8:complete");
        int(&mut out, c.complete);
        out.extend_from_slice(b"10:downloaded");
        int(&mut out, c.downloaded);
        out.extend_from_slice(b"10:incomplete");
        int(&mut out, c.incomplete);
        out.push(b'e');
    }
    out.extend_from_slice(b"ee");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_is_a_bencoded_dict() {
        assert_eq!(
            failure("unknown passkey"),
            b"d14:failure reason15:unknown passkeye"
        );
    }

    #[test]
    fn compact_reply_layout() {
        let peers = PeerLists {
            compact: true,
            v4: vec![("10.0.0.1:6881".parse().unwrap(), [b'a'; 20])],
            v6: vec![("[::1]:80".parse().unwrap(), [b'b'; 20])],
            ..PeerLists::default()
        };
        let counts = Counts {
            complete: 1,
            incomplete: 2,
            downloaded: 3,
        };
        let out = announce(&counts, 1800, 300, &peers);
        let mut want = b"d8:completei1e10:downloadedi3e10:incompletei2e8:intervali1800e12:min intervali300e5:peers6:\x0a\x00\x00\x01\x1a\xe16:peers618:".to_vec();
        want.extend_from_slice(&[0; 15]);
        want.extend_from_slice(&[1, 0, 80, b'e']);
        assert_eq!(out, want);
    }

    #[test]
    fn non_compact_reply_lists_dicts() {
        let peers = PeerLists {
            compact: false,
            v4: vec![("10.0.0.1:6881".parse().unwrap(), [b'a'; 20])],
            ..PeerLists::default()
        };
        let counts = Counts {
            complete: 0,
            incomplete: 1,
            downloaded: 0,
        };
        let out = announce(&counts, 60, 30, &peers);
        let tail = b"5:peersld2:ip8:10.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881eeee";
        assert!(out.ends_with(tail), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn scrape_sorts_hashes() {
        let c = || Counts {
            complete: 1,
            incomplete: 0,
            downloaded: 1,
        };
        let out = scrape(&[([2; 20], c()), ([1; 20], c())]);
        let first = out.iter().position(|&b| b == 1).unwrap();
        let second = out.iter().position(|&b| b == 2).unwrap();
        assert!(first < second);
        assert!(out.starts_with(b"d5:filesd20:"));
        assert!(out.ends_with(b"eee"));
    }
}
