//! Property tests: round trips for arbitrary valid messages, arbitrary chunkings of a stream, and
//! decoders that never panic (and stay canonical) on arbitrary or mutated bytes.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use peerwire::sb_receipt::ReceiptMessage;
use peerwire::{
    Bitfield, BlockRef, ExtensionHandshake, FrameDecoder, HashRequest, Limits, MAX_BLOCK_LEN,
    Message,
};
use proptest::prelude::*;

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    message.encode(&mut out);
    out
}

fn block_ref(piece_count: u32) -> impl Strategy<Value = BlockRef> {
    (0..piece_count, 1..=MAX_BLOCK_LEN).prop_flat_map(|(index, length)| {
        (0..=u32::MAX - length).prop_map(move |begin| BlockRef {
            index,
            begin,
            length,
        })
    })
}

fn hash_request(max_log_length: u32) -> impl Strategy<Value = HashRequest> {
    (any::<[u8; 32]>(), 0..=max_log_length, 0u32..=63).prop_flat_map(|(root, log, base)| {
        let length = 1u32 << log;
        // The range must end at or before u32::MAX.
        let max_multiple = u32::MAX / length - 1;
        (0..=max_multiple, 0..=63 - base).prop_map(move |(multiple, proof_layers)| HashRequest {
            pieces_root: root,
            base_layer: base,
            index: multiple * length,
            length,
            proof_layers,
        })
    })
}

fn bitfield_bytes(piece_count: u32) -> impl Strategy<Value = Bytes> {
    let len = (piece_count as usize).div_ceil(8);
    proptest::collection::vec(any::<u8>(), len).prop_map(move |mut bytes| {
        let used = piece_count % 8;
        if let (Some(last), true) = (bytes.last_mut(), used != 0) {
            *last &= !(0xFFu8 >> used);
        }
        Bytes::from(bytes)
    })
}

fn piece_data() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 1..=64),
        1 => proptest::collection::vec(any::<u8>(), (MAX_BLOCK_LEN as usize - 8)..=MAX_BLOCK_LEN as usize),
    ]
    .prop_map(Bytes::from)
}

/// Any message that is valid for a torrent of `piece_count` pieces under default limits.
///
/// Bitfields are only generated for torrents of up to 2^16 pieces: a bitfield for a torrent of
/// 4 billion pieces is 512 MiB, and large indices are covered by the other messages.
fn message(piece_count: u32) -> impl Strategy<Value = Message> {
    let index = 0..piece_count;
    let mut arms: Vec<BoxedStrategy<Message>> = vec![
        Just(Message::KeepAlive).boxed(),
        Just(Message::Choke).boxed(),
        Just(Message::Unchoke).boxed(),
        Just(Message::Interested).boxed(),
        Just(Message::NotInterested).boxed(),
        index
            .clone()
            .prop_map(|index| Message::Have { index })
            .boxed(),
        block_ref(piece_count).prop_map(Message::Request).boxed(),
        (index.clone(), piece_data())
            .prop_flat_map(|(index, data)| {
                let max_begin = u32::MAX - data.len() as u32;
                (0..=max_begin).prop_map(move |begin| Message::Piece {
                    index,
                    begin,
                    data: data.clone(),
                })
            })
            .boxed(),
        block_ref(piece_count).prop_map(Message::Cancel).boxed(),
        any::<u16>().prop_map(Message::Port).boxed(),
        index
            .clone()
            .prop_map(|index| Message::SuggestPiece { index })
            .boxed(),
        Just(Message::HaveAll).boxed(),
        Just(Message::HaveNone).boxed(),
        block_ref(piece_count)
            .prop_map(Message::RejectRequest)
            .boxed(),
        index
            .prop_map(|index| Message::AllowedFast { index })
            .boxed(),
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..256))
            .prop_map(|(id, payload)| Message::Extended {
                id,
                payload: Bytes::from(payload),
            })
            .boxed(),
        hash_request(13).prop_map(Message::HashRequest).boxed(),
        hash_request(7)
            .prop_flat_map(|request| {
                let count = request.reply_hash_count() as usize;
                proptest::collection::vec(any::<[u8; 32]>(), count)
                    .prop_map(move |hashes| Message::Hashes { request, hashes })
            })
            .boxed(),
        hash_request(13).prop_map(Message::HashReject).boxed(),
    ];
    if piece_count <= 1 << 16 {
        arms.push(
            bitfield_bytes(piece_count)
                .prop_map(Message::Bitfield)
                .boxed(),
        );
    }
    proptest::strategy::Union::new(arms)
}

fn piece_count() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=64, 1u32..=5000, (u32::MAX - 64)..=u32::MAX]
}

/// Feeds `stream` to a decoder in chunks ending at `cuts`, collecting every frame.
fn decode_chunked(
    stream: &[u8],
    cuts: &BTreeSet<usize>,
    limits: Limits,
) -> Result<Vec<Message>, peerwire::WireError> {
    let mut decoder = FrameDecoder::new(limits);
    let mut out = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        let end = end.min(stream.len()).max(start);
        decoder.buffer_mut().extend_from_slice(&stream[start..end]);
        start = end;
        while let Some(message) = decoder.next_frame()? {
            out.push(message);
        }
    }
    assert_eq!(decoder.buffered(), 0, "bytes left over");
    Ok(out)
}

/// Any `sb_receipt` message `decode` can return: `bytes` and `msg_type` fit bencode's `i64`, and
/// `Unknown` never has type 0 or 1.
fn receipt_message() -> impl Strategy<Value = ReceiptMessage> {
    let count = prop_oneof![0u64..=1 << 40, 0..=i64::MAX as u64];
    prop_oneof![
        (any::<[u8; 20]>(), any::<[u8; 20]>(), any::<[u8; 32]>()).prop_map(
            |(account, collective, session)| ReceiptMessage::Hello {
                account,
                collective,
                session,
            }
        ),
        (count, any::<[u8; 65]>())
            .prop_map(|(bytes, signature)| ReceiptMessage::Receipt { bytes, signature }),
        prop_oneof![2u64..=16, 2..=i64::MAX as u64]
            .prop_map(|msg_type| ReceiptMessage::Unknown { msg_type }),
    ]
}

/// What `decode` accepted, checked against the bytes it came from.
///
/// Keys are sorted and integers canonical, so without extra keys a message has exactly one
/// encoding, and every extra key adds at least four bytes (`0:` and a value of two or more). So
/// the input is never shorter than the re-encoding, and is exactly as long only if identical.
/// Extra keys themselves are dropped, which is why nothing stronger holds for them.
fn check_accepted(input: &[u8], message: &ReceiptMessage) -> Result<(), TestCaseError> {
    let encoded = message.encode();
    prop_assert_eq!(ReceiptMessage::decode(&encoded), Ok(message.clone()));
    prop_assert!(encoded.len() <= input.len());
    if encoded.len() == input.len() {
        prop_assert_eq!(&encoded[..], input);
    }
    Ok(())
}

/// One value of an `sb_receipt` dictionary, with what the decoder should make of it.
#[derive(Clone, Debug)]
enum Value {
    /// A byte string of the given length.
    Text(usize),
    Int(i64),
    List,
}

impl Value {
    fn encode(&self) -> Vec<u8> {
        match self {
            Value::Text(len) => [format!("{len}:").into_bytes(), vec![0x42; *len]].concat(),
            Value::Int(n) => format!("i{n}e").into_bytes(),
            Value::List => b"li1e0:e".to_vec(),
        }
    }

    /// Whether this is an acceptable value for a field of exactly `len` bytes (`None`: an integer
    /// field, which must be non-negative).
    fn fits(&self, len: Option<usize>) -> bool {
        match (self, len) {
            (Value::Text(found), Some(expected)) => *found == expected,
            (Value::Int(n), None) => *n >= 0,
            _ => false,
        }
    }
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop_oneof![Just(20usize), Just(32), Just(65), 0usize..=70].prop_map(Value::Text),
        3 => prop_oneof![0i64..=3, -3i64..=-1, any::<i64>()].prop_map(Value::Int),
        1 => Just(Value::List),
    ]
}

/// The fields of each readable type, with their length (`None`: integer).
const HELLO_FIELDS: [(&str, Option<usize>); 3] = [
    ("account", Some(20)),
    ("collective", Some(20)),
    ("session", Some(32)),
];
const RECEIPT_FIELDS: [(&str, Option<usize>); 2] = [("bytes", None), ("signature", Some(65))];

/// A dictionary of the known keys and a few others, in bencode order: the fields of the chosen
/// type mostly right but also wrong or missing, the other type's fields mostly absent.
fn receipt_dict() -> impl Strategy<Value = BTreeMap<String, Value>> {
    fn field(used: bool, good: Value) -> BoxedStrategy<Option<Value>> {
        let (absent, right) = if used { (1, 6) } else { (6, 1) };
        prop_oneof![
            absent => Just(None),
            right => Just(Some(good)),
            2 => value().prop_map(Some),
        ]
        .boxed()
    }
    let msg_type = prop_oneof![
        1 => Just(None),
        4 => Just(Some(Value::Int(0))),
        4 => Just(Some(Value::Int(1))),
        1 => (2i64..=i64::MAX).prop_map(|n| Some(Value::Int(n))),
        1 => value().prop_map(Some),
    ];
    let others = prop_oneof![
        2 => Just(BTreeMap::new()),
        1 => proptest::collection::btree_map("[a-z_]{0,10}", value(), 1..3),
    ];
    (msg_type, others).prop_flat_map(|(msg_type, others)| {
        let hello = matches!(msg_type, Some(Value::Int(0)));
        let receipt = matches!(msg_type, Some(Value::Int(1)));
        (
            field(hello, Value::Text(20)),
            field(receipt, Value::Int(1 << 20)),
            field(hello, Value::Text(20)),
            field(hello, Value::Text(32)),
            field(receipt, Value::Text(65)),
        )
            .prop_map(move |(account, bytes, collective, session, signature)| {
                let mut dict = others.clone();
                let known = [
                    ("account", account),
                    ("bytes", bytes),
                    ("collective", collective),
                    ("msg_type", msg_type.clone()),
                    ("session", session),
                    ("signature", signature),
                ];
                for (key, value) in known {
                    match value {
                        Some(value) => dict.insert(key.to_owned(), value),
                        // An "other" key that happens to be a known one is absent too.
                        None => dict.remove(key),
                    };
                }
                dict
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(
        (count, message) in piece_count().prop_flat_map(|count| (Just(count), message(count)))
    ) {
        let limits = Limits::for_torrent(count);
        let frame = encode(&message);
        prop_assert_eq!(frame.len(), 4 + message.body_len());
        let prefix = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        prop_assert_eq!(prefix as usize, frame.len() - 4);
        prop_assert!(prefix <= limits.max_frame_len());
        let decoded = Message::decode(Bytes::copy_from_slice(&frame[4..]), &limits);
        prop_assert_eq!(decoded, Ok(message));
    }

    #[test]
    fn any_chunking_of_a_stream_yields_the_same_messages(
        (count, messages) in piece_count().prop_flat_map(|count| {
            (Just(count), proptest::collection::vec(message(count), 1..12))
        }),
        cuts in proptest::collection::btree_set(0usize..40_000, 0..40),
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(encode).collect();
        let got = decode_chunked(&stream, &cuts, Limits::for_torrent(count));
        prop_assert_eq!(got, Ok(messages));
    }

    #[test]
    fn byte_by_byte_feeding_yields_the_same_messages(
        messages in proptest::collection::vec(message(100), 1..6),
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(encode).collect();
        let every_byte: BTreeSet<usize> = (1..stream.len()).collect();
        let got = decode_chunked(&stream, &every_byte, Limits::for_torrent(100));
        prop_assert_eq!(got, Ok(messages));
    }

    /// Arbitrary bodies, biased towards real ids so the per-message checks are reached.
    #[test]
    fn decode_never_panics_and_accepts_only_canonical_bodies(
        id in prop_oneof![0u8..=23, any::<u8>()],
        payload in proptest::collection::vec(any::<u8>(), 0..600),
        piece_count in prop_oneof![0u32..=4096, any::<u32>()],
        max_extended_payload in prop_oneof![0u32..=600, any::<u32>()],
        max_hashes in prop_oneof![0u32..=16, any::<u32>()],
    ) {
        let limits = Limits { piece_count, max_extended_payload, max_hashes };
        let mut body = vec![id];
        body.extend_from_slice(&payload);
        if let Ok(message) = Message::decode(Bytes::copy_from_slice(&body), &limits) {
            // Whatever was accepted re-encodes to exactly the bytes received.
            prop_assert_eq!(&encode(&message)[4..], &body[..]);
        }
    }

    /// Valid frames with one byte changed: close to valid, so the checks are exercised at their
    /// boundaries.
    #[test]
    fn mutated_frames_never_panic(
        message in message(300),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let limits = Limits::for_torrent(300);
        let mut frame = encode(&message);
        let at = position.index(frame.len());
        frame[at] = value;
        let mut decoder = FrameDecoder::new(limits);
        decoder.buffer_mut().extend_from_slice(&frame);
        // Either a decision or a wait for more bytes (a mutated prefix can ask for more).
        if let Ok(Some(decoded)) = decoder.next_frame() {
            let reencoded = encode(&decoded);
            prop_assert_eq!(&reencoded[4..], &frame[4..4 + decoded.body_len()]);
        }
    }

    #[test]
    fn frame_decoder_never_panics_or_overbuffers(
        stream in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::btree_set(0usize..2048, 0..16),
        piece_count in 0u32..=100_000,
    ) {
        let limits = Limits::for_torrent(piece_count);
        let mut decoder = FrameDecoder::new(limits);
        let mut start = 0;
        'feed: for end in cuts.iter().copied().chain([stream.len()]) {
            let end = end.min(stream.len()).max(start);
            decoder.buffer_mut().extend_from_slice(&stream[start..end]);
            start = end;
            loop {
                match decoder.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            // Never more reserved than one maximal frame beyond what was received.
            let bound = stream.len() + 4 + limits.max_frame_len() as usize;
            prop_assert!(decoder.buffer_mut().capacity() <= bound.max(64) * 2);
        }
    }

    #[test]
    fn extension_handshake_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(handshake) = ExtensionHandshake::decode(&bytes) {
            // Decoding is idempotent through our canonical encoding.
            prop_assert_eq!(ExtensionHandshake::decode(&handshake.encode()), Ok(handshake));
        }
    }

    #[test]
    fn extension_handshake_round_trips(
        m in proptest::collection::btree_map("[a-zA-Z_µ]{1,12}", any::<u8>(), 0..8),
        v in proptest::option::of(".{0,24}"),
        p in proptest::option::of(any::<u16>()),
        reqq in proptest::option::of(any::<u32>()),
        yourip in proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 4),
            proptest::collection::vec(any::<u8>(), 16),
        ]),
        metadata_size in proptest::option::of(0..=i64::MAX as u64),
    ) {
        let handshake = ExtensionHandshake { m, v, p, reqq, yourip, metadata_size };
        prop_assert_eq!(ExtensionHandshake::decode(&handshake.encode()), Ok(handshake));
    }

    /// Handshakes built from bencode fragments (valid and not), so the decoder's field and
    /// nesting checks see more than random noise.
    #[test]
    fn structured_handshake_fragments_never_panic(
        parts in proptest::collection::vec(prop_oneof![
            Just(b"d".to_vec()), Just(b"l".to_vec()), Just(b"e".to_vec()),
            Just(b"1:m".to_vec()), Just(b"1:p".to_vec()), Just(b"1:v".to_vec()),
            Just(b"4:reqq".to_vec()), Just(b"6:yourip".to_vec()), Just(b"13:metadata_size".to_vec()),
            any::<i64>().prop_map(|n| format!("i{n}e").into_bytes()),
            "[a-z]{0,6}".prop_map(|s| format!("{}:{s}", s.len()).into_bytes()),
            proptest::collection::vec(any::<u8>(), 1..4),
        ], 0..40),
    ) {
        let bytes: Vec<u8> = parts.concat();
        if let Ok(handshake) = ExtensionHandshake::decode(&bytes) {
            prop_assert_eq!(ExtensionHandshake::decode(&handshake.encode()), Ok(handshake));
        }
    }

    #[test]
    fn bitfield_tracks_a_set_of_pieces(
        (len, ops) in (1u32..=2000).prop_flat_map(|len| {
            (Just(len), proptest::collection::vec((0..len, any::<bool>()), 0..200))
        })
    ) {
        let mut field = Bitfield::new(len);
        let mut model = BTreeSet::new();
        for (index, value) in ops {
            let previous = field.set(index, value);
            prop_assert_eq!(previous, Ok(model.contains(&index)));
            if value { model.insert(index); } else { model.remove(&index); }
        }
        prop_assert_eq!(field.count_ones() as usize, model.len());
        prop_assert_eq!(field.iter_ones().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(field.is_complete(), model.len() == len as usize);
        // What we would send is what a peer's decoder accepts.
        let limits = Limits::for_torrent(len);
        let mut body = vec![5u8];
        body.extend_from_slice(field.as_bytes());
        prop_assert_eq!(
            Message::decode(Bytes::from(body), &limits),
            Ok(Message::Bitfield(field.to_bytes()))
        );
        prop_assert_eq!(Bitfield::from_bytes(field.as_bytes(), len), Ok(field));
    }
    #[test]
    fn sb_receipt_round_trips(message in receipt_message()) {
        let encoded = message.encode();
        prop_assert_eq!(ReceiptMessage::decode(&encoded), Ok(message));
    }

    #[test]
    fn sb_receipt_decode_never_panics_and_stays_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        if let Ok(message) = ReceiptMessage::decode(&bytes) {
            check_accepted(&bytes, &message)?;
        }
    }

    /// Valid encodings with one byte changed, so decoding gets past the dictionary syntax often.
    #[test]
    fn mutated_sb_receipts_never_panic(
        message in receipt_message(),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut bytes = message.encode();
        let at = position.index(bytes.len());
        bytes[at] = value;
        if let Ok(decoded) = ReceiptMessage::decode(&bytes) {
            check_accepted(&bytes, &decoded)?;
        }
    }

    /// Dictionaries built from known and unknown keys with right and wrong values: the decoder
    /// accepts exactly those in bencode order whose type's fields are all present and well-typed,
    /// and, given no other keys, re-encodes them to the same bytes.
    #[test]
    fn sb_receipt_dictionaries_are_judged_by_their_type(
        dict in receipt_dict(),
        swap in proptest::option::weighted(0.25, any::<(prop::sample::Index, prop::sample::Index)>()),
    ) {
        let mut entries: Vec<(&String, &Value)> = dict.iter().collect();
        if let (Some((a, b)), false) = (swap, entries.is_empty()) {
            let (a, b) = (a.index(entries.len()), b.index(entries.len()));
            entries.swap(a, b);
        }
        let mut bytes = b"d".to_vec();
        for (key, value) in &entries {
            bytes.extend_from_slice(format!("{}:{key}", key.len()).as_bytes());
            bytes.extend_from_slice(&value.encode());
        }
        bytes.push(b'e');
        let decoded = ReceiptMessage::decode(&bytes);

        if !entries.is_sorted_by_key(|(key, _)| key.as_bytes()) {
            prop_assert!(decoded.is_err(), "unsorted keys, yet {:?}", decoded);
            return Ok(());
        }
        let fields: &[(&str, Option<usize>)] = match dict.get("msg_type") {
            Some(Value::Int(0)) => &HELLO_FIELDS,
            Some(Value::Int(1)) => &RECEIPT_FIELDS,
            Some(Value::Int(n)) if *n >= 2 => &[],
            _ => {
                prop_assert!(decoded.is_err(), "no usable msg_type, yet {:?}", decoded);
                return Ok(());
            }
        };
        let acceptable = fields
            .iter()
            .all(|(name, len)| dict.get(*name).is_some_and(|value| value.fits(*len)));
        prop_assert_eq!(decoded.is_ok(), acceptable, "{:?}", decoded);
        if let Ok(message) = decoded {
            check_accepted(&bytes, &message)?;
            let only_fields = dict
                .keys()
                .all(|key| key == "msg_type" || fields.iter().any(|(name, _)| name == key));
            if only_fields {
                prop_assert_eq!(message.encode(), bytes);
            }
        }
    }
}
