//! Property tests: round trips for arbitrary valid messages, arbitrary chunkings of a stream, and
//! decoders that never panic (and stay canonical) on arbitrary or mutated bytes.

use std::collections::BTreeSet;

use bytes::Bytes;
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
}
