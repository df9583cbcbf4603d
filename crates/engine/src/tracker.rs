//! HTTP tracker client (BEP 3 announce, BEP 23 compact peers, BEP 7 IPv6 peers).
//!
//! Deliberately small: plain HTTP/1.1 GET over one TCP connection, bounded response size and time.
//! The collective's hub serves announces at `/announce/<passkey>`, so the path is kept as given.
//! HTTPS is refused with a clear error (a reverse proxy in front of the hub is the place for TLS).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use metainfo::bencode::{self, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::EngineError;

const MAX_RESPONSE: usize = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Started,
    Completed,
    Stopped,
    None,
}

#[derive(Clone, Debug)]
pub struct Announce {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
    pub event: Event,
    pub key: u32,
    pub numwant: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnnounceResponse {
    pub interval: Duration,
    pub min_interval: Option<Duration>,
    pub peers: Vec<SocketAddr>,
    pub seeders: Option<u64>,
    pub leechers: Option<u64>,
    pub warning: Option<String>,
}

fn err(url: &str, reason: impl Into<String>) -> EngineError {
    EngineError::Tracker {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

/// Splits `http://host[:port]/path?query` into (host, port, path-and-query).
fn split_url(url: &str) -> Result<(String, u16, String), EngineError> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => return Err(err(url, "https trackers are not supported; use http")),
        Some((scheme, _)) => {
            return Err(err(url, format!("unsupported tracker scheme {scheme:?}")));
        }
        None => return Err(err(url, "not a URL")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| err(url, "unclosed [ in host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| err(url, "bad port"))?,
            None => 80,
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| err(url, "bad port"))?),
            None => (authority.to_owned(), 80),
        }
    };
    if host.is_empty() {
        return Err(err(url, "empty host"));
    }
    Ok((host, port, path.to_owned()))
}

fn percent_encode(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

pub fn announce_url(base: &str, a: &Announce) -> String {
    let mut url = base.to_owned();
    url.push(if base.contains('?') { '&' } else { '?' });
    url.push_str("info_hash=");
    percent_encode(&a.info_hash, &mut url);
    url.push_str("&peer_id=");
    percent_encode(&a.peer_id, &mut url);
    url.push_str(&format!(
        "&port={}&uploaded={}&downloaded={}&left={}&compact=1&numwant={}&key={:08x}",
        a.port, a.uploaded, a.downloaded, a.left, a.numwant, a.key
    ));
    match a.event {
        Event::Started => url.push_str("&event=started"),
        Event::Completed => url.push_str("&event=completed"),
        Event::Stopped => url.push_str("&event=stopped"),
        Event::None => {}
    }
    url
}

pub async fn announce(base: &str, a: &Announce) -> Result<AnnounceResponse, EngineError> {
    let url = announce_url(base, a);
    let body = tokio::time::timeout(TIMEOUT, http_get(&url))
        .await
        .map_err(|_| err(base, "timed out"))??;
    parse_response(&body).map_err(|reason| err(base, reason))
}

async fn http_get(url: &str) -> Result<Vec<u8>, EngineError> {
    let (host, port, path) = split_url(url)?;
    let mut stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| err(url, format!("connect: {e}")))?;
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: seedbank/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| err(url, format!("send: {e}")))?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| err(url, format!("receive: {e}")))?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
        if response.len() > MAX_RESPONSE {
            return Err(err(
                url,
                format!("response larger than {MAX_RESPONSE} bytes"),
            ));
        }
    }
    parse_http(&response).map_err(|reason| err(url, reason))
}

/// Status line, headers, then the body (plain or chunked).
pub fn parse_http(response: &[u8]) -> Result<Vec<u8>, String> {
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response (no end of headers)")?;
    let head =
        std::str::from_utf8(&response[..head_end]).map_err(|_| "HTTP headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("malformed HTTP status line {status:?}"))?;
    let body = &response[head_end + 4..];
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    if code != 200 {
        // Trackers often explain themselves in a bencoded body even on errors.
        if let Ok(r) = parse_response(&body) {
            return Err(format!("HTTP {code}: {r:?}"));
        }
        return Err(format!("HTTP status {code}"));
    }
    Ok(body)
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunked encoding")?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size.checked_add(2).is_none_or(|need| body.len() < need) {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn dict_get<'a, 'b>(d: &'b Value<'a>, key: &str) -> Option<&'b Value<'a>> {
    match d {
        Value::Dict(map) => map.get(key.as_bytes()),
        _ => None,
    }
}

fn as_int(v: Option<&Value<'_>>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

fn as_bytes<'a>(v: Option<&Value<'a>>) -> Option<&'a [u8]> {
    match v {
        Some(Value::Bytes(b)) => Some(b),
        _ => None,
    }
}

pub fn parse_response(body: &[u8]) -> Result<AnnounceResponse, String> {
    // Trackers in the wild do not all sort their keys; the reply is read, never hashed.
    let value =
        bencode::decode_unordered(body).map_err(|e| format!("response is not bencode: {e}"))?;
    if !matches!(value, Value::Dict(_)) {
        return Err("response is not a dictionary".into());
    }
    if let Some(reason) = as_bytes(dict_get(&value, "failure reason")) {
        return Err(format!(
            "tracker refused: {}",
            String::from_utf8_lossy(reason)
        ));
    }
    let interval = as_int(dict_get(&value, "interval")).ok_or("response has no interval")?;
    let clamp = |secs: i64| Duration::from_secs(secs.clamp(10, 24 * 3600) as u64);
    let mut peers = Vec::new();
    match dict_get(&value, "peers") {
        Some(Value::Bytes(compact)) => {
            if compact.len() % 6 != 0 {
                return Err(format!(
                    "compact peers length {} is not a multiple of 6",
                    compact.len()
                ));
            }
            for c in compact.chunks_exact(6) {
                let ip = Ipv4Addr::new(c[0], c[1], c[2], c[3]);
                peers.push(SocketAddr::new(
                    IpAddr::V4(ip),
                    u16::from_be_bytes([c[4], c[5]]),
                ));
            }
        }
        Some(Value::List(list)) => {
            for p in list {
                let ip = as_bytes(dict_get(p, "ip")).and_then(|b| std::str::from_utf8(b).ok());
                let port = as_int(dict_get(p, "port"));
                if let (Some(ip), Some(port)) = (ip, port)
                    && let (Ok(ip), Ok(port)) = (ip.parse::<IpAddr>(), u16::try_from(port))
                {
                    peers.push(SocketAddr::new(ip, port));
                }
            }
        }
        Some(_) => return Err("peers has the wrong type".into()),
        None => {}
    }
    if let Some(compact6) = as_bytes(dict_get(&value, "peers6")) {
        if compact6.len() % 18 != 0 {
            return Err(format!(
                "compact peers6 length {} is not a multiple of 18",
                compact6.len()
            ));
        }
        for c in compact6.chunks_exact(18) {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&c[..16]);
            let port = u16::from_be_bytes([c[16], c[17]]);
            peers.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port));
        }
    }
    peers.retain(|p| p.port() != 0);
    Ok(AnnounceResponse {
        interval: clamp(interval),
        min_interval: as_int(dict_get(&value, "min interval")).map(clamp),
        peers,
        seeders: as_int(dict_get(&value, "complete")).and_then(|v| u64::try_from(v).ok()),
        leechers: as_int(dict_get(&value, "incomplete")).and_then(|v| u64::try_from(v).ok()),
        warning: as_bytes(dict_get(&value, "warning message"))
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:7800/announce/abc").unwrap(),
            ("127.0.0.1".into(), 7800, "/announce/abc".into())
        );
        assert_eq!(
            split_url("http://[::1]:6969/announce").unwrap(),
            ("::1".into(), 6969, "/announce".into())
        );
        assert_eq!(
            split_url("http://tracker").unwrap(),
            ("tracker".into(), 80, "/".into())
        );
        assert!(
            split_url("https://x/announce")
                .unwrap_err()
                .to_string()
                .contains("https")
        );
        assert!(split_url("udp://x:1/announce").is_err());
        assert!(split_url("http://x:99999/a").is_err());
    }

    #[test]
    fn announce_url_escapes_binary() {
        let a = Announce {
            info_hash: [0xff; 20],
            peer_id: *b"-SB0100-abcdefghijkl",
            port: 6881,
            uploaded: 1,
            downloaded: 2,
            left: 3,
            event: Event::Started,
            key: 0xdead,
            numwant: 50,
        };
        let url = announce_url("http://h/announce/pk", &a);
        assert!(url.starts_with("http://h/announce/pk?info_hash=%FF%FF"));
        assert!(
            url.contains("&peer_id=-SB0100-abcdefghijkl&port=6881&uploaded=1&downloaded=2&left=3")
        );
        assert!(url.ends_with("&event=started"));
    }

    #[test]
    fn parses_compact_and_v6_peers() {
        let body = b"d8:completei1e10:incompletei2e8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe16:peers618:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe2e";
        let r = parse_response(body).unwrap();
        assert_eq!(r.interval, Duration::from_secs(1800));
        assert_eq!(
            r.peers,
            vec![
                "127.0.0.1:6881".parse().unwrap(),
                "[::1]:6882".parse().unwrap()
            ]
        );
        assert_eq!((r.seeders, r.leechers), (Some(1), Some(2)));
    }

    #[test]
    fn parses_dict_peers_and_failures() {
        let body = b"d8:intervali60e5:peersld2:ip9:127.0.0.24:porti7000eeee";
        assert_eq!(
            parse_response(body).unwrap().peers,
            vec!["127.0.0.2:7000".parse().unwrap()]
        );
        let fail = parse_response(b"d14:failure reason15:unknown passkeye").unwrap_err();
        assert!(fail.contains("unknown passkey"), "{fail}");
        assert!(parse_response(b"d8:intervali60e5:peers5:12345e").is_err());
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn accepts_unsorted_keys_from_trackers() {
        let body = b"d8:intervali900e5:peers0:8:completei0ee";
        assert_eq!(
            parse_response(body).unwrap().interval,
            Duration::from_secs(900)
        );
    }

    #[test]
    fn parses_http_chunked() {
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nd8:i\r\n0\r\n\r\n";
        assert_eq!(parse_http(resp).unwrap(), b"d8:i");
        assert!(parse_http(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
        let huge =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n";
        assert!(
            parse_http(huge).is_err(),
            "a hostile chunk size is an error, not a panic"
        );
    }

    const CHUNKED_REPLY: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n26\r\nd8:intervali60e5:peers12:\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x1a\xe1e\r\n0\r\n\r\n";

    #[test]
    fn chunked_reply_parses() {
        let body = parse_http(CHUNKED_REPLY).unwrap();
        assert_eq!(parse_response(&body).unwrap().peers.len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn tracker_replies_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_http(&bytes);
            let _ = parse_response(&bytes);
        }

        #[test]
        fn mutated_replies_never_panic(flip in 0usize..200, byte in proptest::num::u8::ANY) {
            let mut reply = CHUNKED_REPLY.to_vec();
            let at = flip % reply.len();
            reply[at] = byte;
            if let Ok(body) = parse_http(&reply) {
                let _ = parse_response(&body);
            }
        }
    }
}
