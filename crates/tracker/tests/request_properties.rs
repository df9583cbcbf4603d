//! Property tests for the announce and scrape parsers: any valid announce, however a client chooses
//! to escape it and orders its parameters, reads back as sent; arbitrary bytes never panic; scrapes
//! round-trip with repeats removed.

use proptest::collection::vec;
use proptest::prelude::*;
use tracker::request::{
    AnnounceRequest, Event, MAX_KEY_LEN, MAX_QUERY_LEN, MAX_SCRAPE_HASHES, PASSKEY_LEN,
    RequestError, parse_announce, parse_passkey, parse_scrape, passkey_to_string,
};

const KNOWN: [&str; 11] = [
    "info_hash",
    "peer_id",
    "port",
    "uploaded",
    "downloaded",
    "left",
    "event",
    "compact",
    "no_peer_id",
    "numwant",
    "key",
];

/// Parameters real clients send that the tracker has no use for.
const UNKNOWN: [&str; 12] = [
    "corrupt",
    "supportcrypto",
    "requirecrypto",
    "cryptoport",
    "redundant",
    "ip",
    "ipv4",
    "ipv6",
    "trackerid",
    "azudp",
    "hide",
    "Port",
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How each byte is written, drawn in turn from a random tape so every byte gets its own choice.
struct Encoder {
    tape: Vec<u8>,
    at: usize,
}

impl Encoder {
    fn next_choice(&mut self) -> u8 {
        let choice = self.tape[self.at % self.tape.len()];
        self.at += 1;
        choice
    }

    /// Writes `bytes` the way some client might: bytes that must be escaped always are, unreserved
    /// bytes are escaped or not at random, a space is `+` or `%20`, hex digits are upper or lower.
    fn encode(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            let choice = self.next_choice();
            let escape = choice & 1 == 1;
            let upper = choice & 2 == 2;
            let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            if unreserved && !escape {
                out.push(b);
            } else if b == b' ' && !escape {
                out.push(b'+');
            } else if upper {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
            } else {
                out.extend_from_slice(format!("%{b:02x}").as_bytes());
            }
        }
        out
    }
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        Just(Event::None),
        Just(Event::Started),
        Just(Event::Completed),
        Just(Event::Stopped),
        Just(Event::Paused),
    ]
}

fn event_text(event: Event) -> &'static str {
    match event {
        Event::None => "",
        Event::Started => "started",
        Event::Completed => "completed",
        Event::Stopped => "stopped",
        Event::Paused => "paused",
    }
}

/// How the optional parameters were sent, beside the values they should read back as.
#[derive(Debug, Clone)]
struct Optional {
    send_event: bool,
    send_compact: bool,
    send_no_peer_id: bool,
    key: Option<Vec<u8>>,
}

fn request() -> impl Strategy<Value = (AnnounceRequest, Optional)> {
    let ids = (any::<[u8; 20]>(), any::<[u8; 20]>(), 1..=u16::MAX);
    let counters = (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<Option<u32>>(),
    );
    let flags = (event(), any::<bool>(), any::<bool>(), any::<[bool; 3]>());
    let key = proptest::option::of(vec(any::<u8>(), 0..=MAX_KEY_LEN));
    (ids, counters, flags, key).prop_map(
        |(
            (info_hash, peer_id, port),
            (uploaded, downloaded, left, numwant),
            (event, compact, no_peer_id, send),
            key,
        )| {
            // A default value may be left out or spelled out; anything else must be sent.
            let optional = Optional {
                send_event: event != Event::None || send[0],
                send_compact: !compact || send[1],
                send_no_peer_id: no_peer_id || send[2],
                key: key.clone(),
            };
            let request = AnnounceRequest {
                info_hash,
                peer_id,
                port,
                uploaded,
                downloaded,
                left,
                event,
                compact,
                no_peer_id,
                numwant,
                key: fnv1a(key.as_deref().unwrap_or_default()),
            };
            (request, optional)
        },
    )
}

/// A parameter the parser must ignore: a client's extra or a made-up name, with or without a value.
fn unknown_pair() -> impl Strategy<Value = (String, Option<Vec<u8>>)> {
    let name = prop_oneof![
        proptest::sample::select(UNKNOWN.as_slice()).prop_map(str::to_owned),
        "[a-z_]{1,12}".prop_filter("a known name", |name| !KNOWN.contains(&name.as_str())),
    ];
    (name, proptest::option::of(vec(any::<u8>(), 0..16)))
}

fn announce_query(
    request: &AnnounceRequest,
    optional: &Optional,
    encoder: &mut Encoder,
) -> Vec<Vec<u8>> {
    let mut pairs: Vec<(&str, Vec<u8>)> = vec![
        ("info_hash", encoder.encode(&request.info_hash)),
        ("peer_id", encoder.encode(&request.peer_id)),
        ("port", encoder.encode(request.port.to_string().as_bytes())),
        (
            "uploaded",
            encoder.encode(request.uploaded.to_string().as_bytes()),
        ),
        (
            "downloaded",
            encoder.encode(request.downloaded.to_string().as_bytes()),
        ),
        ("left", encoder.encode(request.left.to_string().as_bytes())),
    ];
    if let Some(numwant) = request.numwant {
        pairs.push(("numwant", encoder.encode(numwant.to_string().as_bytes())));
    }
    if optional.send_event {
        pairs.push((
            "event",
            encoder.encode(event_text(request.event).as_bytes()),
        ));
    }
    if optional.send_compact {
        pairs.push((
            "compact",
            encoder.encode(if request.compact { b"1" } else { b"0" }),
        ));
    }
    if optional.send_no_peer_id {
        let flag = if request.no_peer_id { b"1" } else { b"0" };
        pairs.push(("no_peer_id", encoder.encode(flag)));
    }
    if let Some(key) = &optional.key {
        pairs.push(("key", encoder.encode(key)));
    }
    pairs
        .into_iter()
        .map(|(name, value)| [name.as_bytes(), b"=", &value].concat())
        .collect()
}

/// Bytes that look like a query, so arbitrary input reaches past the first `%` or `&`.
fn query_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::sample::select(KNOWN.as_slice()).prop_map(|name| name.as_bytes().to_vec()),
        proptest::sample::select(vec![
            b"=".to_vec(),
            b"&".to_vec(),
            b"%".to_vec(),
            b"+".to_vec(),
            b"%4".to_vec(),
            b"%41".to_vec(),
            b"%zz".to_vec(),
            b"0".to_vec(),
            b"1".to_vec(),
            b"65535".to_vec(),
            b"18446744073709551616".to_vec(),
            b"started".to_vec(),
            b"01234567890123456789".to_vec(),
        ]),
        vec(any::<u8>(), 0..8),
    ];
    vec(piece, 0..400).prop_map(|pieces| pieces.concat())
}

/// A scrape's hashes, with repeats; some drawn from unreserved bytes alone, which need no escapes
/// and so fit more of them into a query.
fn scrape_hashes() -> impl Strategy<Value = Vec<[u8; 20]>> {
    let unreserved: Vec<u8> = (b'0'..=b'9')
        .chain(b'a'..=b'z')
        .chain(b'A'..=b'Z')
        .chain(*b"-._~")
        .collect();
    let hash = prop_oneof![
        any::<[u8; 20]>(),
        proptest::array::uniform20(proptest::sample::select(unreserved)),
    ];
    // Mostly counts that fit in a query, so most cases round-trip rather than hit the length limit.
    let hashes = prop_oneof![
        3 => vec(hash.clone(), 1..=30),
        1 => vec(hash, 1..=MAX_SCRAPE_HASHES),
    ];
    hashes.prop_flat_map(|hashes| {
        // Repeat some of the hashes drawn, at random places.
        let len = hashes.len();
        (Just(hashes), vec((0..len, 0..=len), 0..4)).prop_map(|(mut hashes, repeats)| {
            for (from, to) in repeats {
                let hash = hashes[from];
                hashes.insert(to.min(hashes.len()), hash);
            }
            hashes
        })
    })
}

fn first_seen(hashes: &[[u8; 20]]) -> Vec<[u8; 20]> {
    let mut unique = Vec::new();
    for hash in hashes {
        if !unique.contains(hash) {
            unique.push(*hash);
        }
    }
    unique
}

fn scrape_query(hashes: &[[u8; 20]], encoder: &mut Encoder) -> Vec<u8> {
    let pairs: Vec<Vec<u8>> = hashes
        .iter()
        .map(|hash| [b"info_hash=".as_slice(), &encoder.encode(hash)].concat())
        .collect();
    pairs.join(&b'&')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn announce_round_trips(
        (request, optional) in request(),
        unknown in vec(unknown_pair(), 0..6),
        empty_pairs in 0usize..3,
        tape in vec(any::<u8>(), 1..256),
        trailing_amp in any::<bool>(),
        shuffle_seed in any::<u64>(),
    ) {
        let mut encoder = Encoder { tape, at: 0 };
        let mut pairs = announce_query(&request, &optional, &mut encoder);
        for (name, value) in &unknown {
            pairs.push(match value {
                Some(value) => [name.as_bytes(), b"=", &encoder.encode(value)].concat(),
                None => name.as_bytes().to_vec(),
            });
        }
        pairs.extend(std::iter::repeat_n(Vec::new(), empty_pairs));
        // Fisher-Yates driven by a proptest-chosen seed, so a failure replays exactly.
        let mut state = shuffle_seed | 1;
        for i in (1..pairs.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).expect("index fits");
            pairs.swap(i, j);
        }
        let mut query = pairs.join(&b'&');
        if trailing_amp {
            query.push(b'&');
        }

        prop_assert!(query.len() <= MAX_QUERY_LEN, "generated query too long: {}", query.len());
        prop_assert_eq!(parse_announce(&query), Ok(request));
    }

    #[test]
    fn announce_and_scrape_never_panic(bytes in vec(any::<u8>(), 0..=3000)) {
        let announce = parse_announce(&bytes);
        let scrape = parse_scrape(&bytes);
        if bytes.len() > MAX_QUERY_LEN {
            prop_assert_eq!(announce, Err(RequestError::QueryTooLong));
            prop_assert_eq!(scrape, Err(RequestError::QueryTooLong));
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse_passkey(text);
        }
    }

    #[test]
    fn query_like_bytes_never_panic(bytes in query_like()) {
        let announce = parse_announce(&bytes);
        let scrape = parse_scrape(&bytes);
        if bytes.len() > MAX_QUERY_LEN {
            prop_assert_eq!(announce, Err(RequestError::QueryTooLong));
            prop_assert_eq!(&scrape, &Err(RequestError::QueryTooLong));
        }
        if let Ok(hashes) = scrape {
            prop_assert!(!hashes.is_empty() && hashes.len() <= MAX_SCRAPE_HASHES);
        }
    }

    /// Up to a hundred hashes read back without repeats, in first-seen order. A hundred hashes
    /// take more than MAX_QUERY_LEN bytes, though (at least 31 bytes each), so a query that does
    /// not fit must be refused for its length.
    #[test]
    fn scrape_round_trips(hashes in scrape_hashes(), tape in vec(any::<u8>(), 1..256)) {
        let mut encoder = Encoder { tape, at: 0 };
        let query = scrape_query(&hashes, &mut encoder);
        let parsed = parse_scrape(&query);
        if query.len() <= MAX_QUERY_LEN {
            prop_assert_eq!(parsed, Ok(first_seen(&hashes)));
        } else {
            prop_assert_eq!(parsed, Err(RequestError::QueryTooLong));
        }
    }

    /// More than MAX_SCRAPE_HASHES distinct hashes are always refused: by the hash cap, or first
    /// by the length limit, which a query of that many hashes cannot stay under.
    #[test]
    fn too_many_scrape_hashes_refused(
        seed in any::<[u8; 19]>(),
        extra in 1usize..20,
        tape in vec(any::<u8>(), 1..256),
    ) {
        let hashes: Vec<[u8; 20]> = (0..MAX_SCRAPE_HASHES + extra)
            .map(|i| {
                let mut hash = [0u8; 20];
                hash[..19].copy_from_slice(&seed);
                hash[19] = u8::try_from(i).expect("fewer than 256 hashes");
                hash
            })
            .collect();
        let mut encoder = Encoder { tape, at: 0 };
        let query = scrape_query(&hashes, &mut encoder);
        let expected = if query.len() > MAX_QUERY_LEN {
            RequestError::QueryTooLong
        } else {
            RequestError::TooManyHashes
        };
        prop_assert_eq!(parse_scrape(&query), Err(expected));
    }

    #[test]
    fn passkeys_round_trip(passkey in any::<[u8; PASSKEY_LEN]>()) {
        let text = passkey_to_string(&passkey);
        prop_assert_eq!(text.len(), 2 * PASSKEY_LEN);
        prop_assert_eq!(parse_passkey(&text), Ok(passkey));
        prop_assert_eq!(parse_passkey(&text.to_uppercase()).is_ok(), text == text.to_uppercase());
    }

    #[test]
    fn passkey_text_never_panics(text in ".{0,40}") {
        let _ = parse_passkey(&text);
    }
}
