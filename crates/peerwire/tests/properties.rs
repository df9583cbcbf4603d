//! Property tests: round trips for arbitrary valid messages, arbitrary chunkings of a stream, and
//! decoders that never panic (and stay canonical) on arbitrary or mutated bytes.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use peerwire::sb_audit::{self, AuditMessage};
use peerwire::sb_receipt::ReceiptMessage;
use peerwire::{
    BLOCK_SIZE, Bitfield, BlockRef, ExtensionHandshake, FrameDecoder, HashRequest, Limits,
    MAX_BLOCK_LEN, Message, WireError,
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

/// Any `sb_audit` message `decode` can return: epochs that fit bencode's `i64`, challenge offsets
/// on block boundaries, at most 16 KiB of data and 64 proof hashes, signatures on blocks and
/// missings and on some piece parts, and `Unknown` never of types 0 to 3.
fn audit_message() -> impl Strategy<Value = AuditMessage> {
    fn data() -> impl Strategy<Value = Bytes> {
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 0..=64),
            1 => proptest::collection::vec(any::<u8>(), (MAX_BLOCK_LEN as usize - 4)..=MAX_BLOCK_LEN as usize),
        ]
        .prop_map(Bytes::from)
    }
    let id = prop_oneof![0u32..=16, any::<u32>()];
    let epoch = prop_oneof![0u64..=16, 0..=i64::MAX as u64, Just(i64::MAX as u64)];
    let sig = any::<[u8; 65]>;
    prop_oneof![
        (id.clone(), epoch, any::<u32>(), 0..=u32::MAX / BLOCK_SIZE).prop_map(
            |(id, epoch, piece, block)| AuditMessage::Challenge {
                id,
                epoch,
                piece,
                offset: block * BLOCK_SIZE,
            }
        ),
        (
            id.clone(),
            data(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..=sb_audit::MAX_PROOF_HASHES),
            sig(),
        )
            .prop_map(|(id, data, proof, sig)| AuditMessage::Block {
                id,
                data,
                proof,
                sig
            }),
        (
            id.clone(),
            any::<u32>(),
            data(),
            proptest::option::of(sig())
        )
            .prop_map(|(id, offset, data, sig)| AuditMessage::PiecePart {
                id,
                offset,
                data,
                sig
            }),
        (id, sig()).prop_map(|(id, sig)| AuditMessage::Missing { id, sig }),
        prop_oneof![4u64..=16, 4..=i64::MAX as u64]
            .prop_map(|msg_type| AuditMessage::Unknown { msg_type }),
    ]
}

/// The codec of one of seedbank's BEP 10 extensions, for the checks they share.
trait SbCodec: Clone + std::fmt::Debug + PartialEq + Sized {
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Result<Self, WireError>;
}

impl SbCodec for ReceiptMessage {
    fn encode(&self) -> Vec<u8> {
        ReceiptMessage::encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        ReceiptMessage::decode(bytes)
    }
}

impl SbCodec for AuditMessage {
    fn encode(&self) -> Vec<u8> {
        AuditMessage::encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        AuditMessage::decode(bytes)
    }
}

/// What `decode` accepted, checked against the bytes it came from.
///
/// Keys are sorted and integers canonical, so without extra keys a message has exactly one
/// encoding, and every extra key adds at least four bytes (`0:` and a value of two or more). So
/// the input is never shorter than the re-encoding, and is exactly as long only if identical.
/// Extra keys themselves are dropped, which is why nothing stronger holds for them.
fn check_accepted<M: SbCodec>(input: &[u8], message: &M) -> Result<(), TestCaseError> {
    let encoded = message.encode();
    prop_assert_eq!(M::decode(&encoded), Ok(message.clone()));
    prop_assert!(encoded.len() <= input.len());
    if encoded.len() == input.len() {
        prop_assert_eq!(&encoded[..], input);
    }
    Ok(())
}

/// One value of an extension's dictionary, with what the decoder should make of it.
#[derive(Clone, Debug)]
enum Value {
    /// A byte string of the given length.
    Text(usize),
    Int(i64),
    List,
}

/// What a field accepts.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// A byte string of exactly this many bytes.
    Exactly(usize),
    /// A byte string of at most this many bytes.
    AtMost(usize),
    /// A byte string of whole 32-byte hashes, at most this many.
    Hashes(usize),
    /// An integer in `0..=max`.
    Int(i64),
    /// An integer in `0..=u32::MAX` on a 16 KiB boundary.
    BlockOffset,
    /// A field that may be absent; when present, it must follow the inner rule.
    Optional(&'static Rule),
}

impl Value {
    fn encode(&self) -> Vec<u8> {
        match self {
            Value::Text(len) => [format!("{len}:").into_bytes(), vec![0x42; *len]].concat(),
            Value::Int(n) => format!("i{n}e").into_bytes(),
            Value::List => b"li1e0:e".to_vec(),
        }
    }

    /// Whether this is an acceptable value for a field of this rule.
    fn fits(&self, rule: Rule) -> bool {
        let block_offset =
            |n: i64| (0..=i64::from(u32::MAX)).contains(&n) && n % i64::from(BLOCK_SIZE) == 0;
        match (self, rule) {
            (Value::Text(found), Rule::Exactly(expected)) => *found == expected,
            (Value::Text(found), Rule::AtMost(max)) => *found <= max,
            (Value::Text(found), Rule::Hashes(max)) => found % 32 == 0 && found / 32 <= max,
            (Value::Int(n), Rule::Int(max)) => (0..=max).contains(n),
            (Value::Int(n), Rule::BlockOffset) => block_offset(*n),
            (value, Rule::Optional(rule)) => value.fits(*rule),
            _ => false,
        }
    }
}

impl Rule {
    /// Values this rule accepts, biased towards its edges.
    fn good(self) -> BoxedStrategy<Value> {
        match self {
            Rule::Exactly(len) => Just(Value::Text(len)).boxed(),
            Rule::AtMost(max) => prop_oneof![0..=max.min(64), Just(max)]
                .prop_map(Value::Text)
                .boxed(),
            Rule::Hashes(max) => prop_oneof![0..=max.min(3), Just(max)]
                .prop_map(|count| Value::Text(32 * count))
                .boxed(),
            Rule::Int(max) => prop_oneof![0..=3.min(max), Just(max), 0..=max]
                .prop_map(Value::Int)
                .boxed(),
            Rule::BlockOffset => (0..=i64::from(u32::MAX / BLOCK_SIZE))
                .prop_map(|block| Value::Int(block * i64::from(BLOCK_SIZE)))
                .boxed(),
            Rule::Optional(rule) => rule.good(),
        }
    }
}

/// Any value, biased towards the edges of every rule.
fn value() -> impl Strategy<Value = Value> {
    let u32_max = i64::from(u32::MAX);
    let block = i64::from(BLOCK_SIZE);
    prop_oneof![
        3 => prop_oneof![
            Just(20usize), Just(32), Just(65), 0usize..=70,
            (0usize..=66).prop_map(|hashes| 32 * hashes), 2040usize..=2056,
            16_380usize..=16_388,
        ].prop_map(Value::Text),
        3 => prop_oneof![
            0i64..=3, -3i64..=-1, any::<i64>(), u32_max - 1..=u32_max + 1,
            (0..=u32_max / block + 1).prop_map(move |n| n * block), Just(-block),
        ].prop_map(Value::Int),
        1 => Just(Value::List),
    ]
}

/// An extension's message types that have fields, each with its fields (in key order).
type Types = &'static [(i64, &'static [(&'static str, Rule)])];

const RECEIPT_TYPES: Types = &[
    (
        0,
        &[
            ("account", Rule::Exactly(20)),
            ("collective", Rule::Exactly(20)),
            ("session", Rule::Exactly(32)),
        ],
    ),
    (
        1,
        &[
            ("bytes", Rule::Int(i64::MAX)),
            ("signature", Rule::Exactly(65)),
        ],
    ),
];

const U32: Rule = Rule::Int(u32::MAX as i64);
const DATA: Rule = Rule::AtMost(MAX_BLOCK_LEN as usize);

const SIG: Rule = Rule::Exactly(65);

const AUDIT_TYPES: Types = &[
    (
        0,
        &[
            ("epoch", Rule::Int(i64::MAX)),
            ("id", U32),
            ("offset", Rule::BlockOffset),
            ("piece", U32),
        ],
    ),
    (
        1,
        &[
            ("data", DATA),
            ("id", U32),
            ("proof", Rule::Hashes(sb_audit::MAX_PROOF_HASHES)),
            ("sig", SIG),
        ],
    ),
    (
        2,
        &[
            ("data", DATA),
            ("id", U32),
            ("offset", U32),
            ("sig", Rule::Optional(&SIG)),
        ],
    ),
    (3, &[("id", U32), ("sig", SIG)]),
];

/// The fields of the message type `msg_type`; `None` when the type cannot be dispatched.
fn fields_of(types: Types, msg_type: Option<&Value>) -> Option<&'static [(&'static str, Rule)]> {
    match msg_type {
        Some(Value::Int(n)) if *n >= 0 => Some(
            types
                .iter()
                .find(|(known, _)| known == n)
                .map_or(&[][..], |(_, fields)| fields),
        ),
        _ => None,
    }
}

/// A dictionary of an extension's known keys and a few others, in bencode order: the fields of
/// the chosen type mostly right but also wrong or missing, the other types' fields mostly absent.
fn sb_dict(types: Types) -> impl Strategy<Value = BTreeMap<String, Value>> {
    let mut msg_types: Vec<(u32, BoxedStrategy<Option<Value>>)> = vec![
        (1, Just(None).boxed()),
        (
            1,
            (types.len() as i64..=i64::MAX)
                .prop_map(|n| Some(Value::Int(n)))
                .boxed(),
        ),
        (1, value().prop_map(Some).boxed()),
    ];
    for (msg_type, _) in types {
        msg_types.push((4, Just(Some(Value::Int(*msg_type))).boxed()));
    }
    let others = prop_oneof![
        2 => Just(BTreeMap::new()),
        1 => proptest::collection::btree_map("[a-z_]{0,10}", value(), 1..3),
    ];
    let keys: BTreeSet<&'static str> = types
        .iter()
        .flat_map(|(_, fields)| fields.iter().map(|(name, _)| *name))
        .collect();
    (proptest::strategy::Union::new_weighted(msg_types), others).prop_flat_map(
        move |(msg_type, others)| {
            let used = fields_of(types, msg_type.as_ref()).unwrap_or(&[]);
            let values: Vec<BoxedStrategy<Option<Value>>> = keys
                .iter()
                .map(|key| {
                    let rule = used
                        .iter()
                        .find(|(name, _)| name == key)
                        .map(|(_, rule)| *rule);
                    // A key the type does not use gets a value some other type would accept.
                    let good = rule.unwrap_or_else(|| {
                        types
                            .iter()
                            .flat_map(|(_, fields)| fields.iter())
                            .find(|(name, _)| name == key)
                            .map_or(Rule::Int(0), |(_, rule)| *rule)
                    });
                    let (absent, right) = if rule.is_some() { (1, 6) } else { (6, 1) };
                    prop_oneof![
                        absent => Just(None),
                        right => good.good().prop_map(Some),
                        2 => value().prop_map(Some),
                    ]
                    .boxed()
                })
                .collect();
            let keys = keys.clone();
            let others = others.clone();
            let msg_type = msg_type.clone();
            values.prop_map(move |values| {
                let mut dict = others.clone();
                let known = keys
                    .iter()
                    .copied()
                    .zip(values)
                    .chain([("msg_type", msg_type.clone())]);
                for (key, value) in known {
                    match value {
                        Some(value) => dict.insert(key.to_owned(), value),
                        // An "other" key that happens to be a known one is absent too.
                        None => dict.remove(key),
                    };
                }
                dict
            })
        },
    )
}

/// Encodes `dict` (with two entries swapped, if `swap`) and checks the decoder accepts exactly
/// the dictionaries in bencode order whose type's fields are all acceptable and present (unless
/// optional), and, given no other keys, re-encodes them to the same bytes.
fn judge<M: SbCodec>(
    types: Types,
    dict: &BTreeMap<String, Value>,
    swap: Option<(prop::sample::Index, prop::sample::Index)>,
) -> Result<(), TestCaseError> {
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
    let decoded = M::decode(&bytes);

    if !entries.is_sorted_by_key(|(key, _)| key.as_bytes()) {
        prop_assert!(decoded.is_err(), "unsorted keys, yet {:?}", decoded);
        return Ok(());
    }
    let Some(fields) = fields_of(types, dict.get("msg_type")) else {
        prop_assert!(decoded.is_err(), "no usable msg_type, yet {:?}", decoded);
        return Ok(());
    };
    let acceptable = fields.iter().all(|(name, rule)| match dict.get(*name) {
        Some(value) => value.fits(*rule),
        None => matches!(rule, Rule::Optional(_)),
    });
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
    Ok(())
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
        dict in sb_dict(RECEIPT_TYPES),
        swap in proptest::option::weighted(0.25, any::<(prop::sample::Index, prop::sample::Index)>()),
    ) {
        judge::<ReceiptMessage>(RECEIPT_TYPES, &dict, swap)?;
    }

    #[test]
    fn sb_audit_round_trips(message in audit_message()) {
        let encoded = message.encode();
        prop_assert_eq!(AuditMessage::decode(&encoded), Ok(message));
    }

    #[test]
    fn sb_audit_decode_never_panics_and_stays_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        if let Ok(message) = AuditMessage::decode(&bytes) {
            check_accepted(&bytes, &message)?;
        }
    }

    /// Valid encodings with one byte changed, so decoding gets past the dictionary syntax often.
    #[test]
    fn mutated_sb_audits_never_panic(
        message in audit_message(),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut bytes = message.encode();
        let at = position.index(bytes.len());
        bytes[at] = value;
        if let Ok(decoded) = AuditMessage::decode(&bytes) {
            check_accepted(&bytes, &decoded)?;
        }
    }

    /// As for `sb_receipt`: exactly the ordered dictionaries whose type's required fields are all
    /// present and all fields present within their bounds (u32 integers, epochs up to `i64::MAX`,
    /// block-aligned challenge offsets, data of at most 16 KiB, proofs of whole hashes and at most
    /// 64, signatures of 65 bytes, optional on piece parts) are accepted.
    #[test]
    fn sb_audit_dictionaries_are_judged_by_their_type(
        dict in sb_dict(AUDIT_TYPES),
        swap in proptest::option::weighted(0.25, any::<(prop::sample::Index, prop::sample::Index)>()),
    ) {
        judge::<AuditMessage>(AUDIT_TYPES, &dict, swap)?;
    }
}
