//! Every message against its byte layout from BEP 3, 6, 10 and 52, and the hostile inputs the
//! decoder must refuse.

use bytes::Bytes;
use peerwire::{BlockRef, FrameDecoder, HashRequest, Limits, Message, WireError};

/// Limits for a 12-piece torrent with the default caps.
fn limits() -> Limits {
    Limits::for_torrent(12)
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex string {text:?}");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    message.encode(&mut out);
    out
}

/// Decodes a whole frame (prefix included) the way the engine will: through a FrameDecoder.
fn decode_frame(frame: &[u8], limits: Limits) -> Result<Message, WireError> {
    let mut decoder = FrameDecoder::new(limits);
    decoder.buffer_mut().extend_from_slice(frame);
    let message = decoder.next_frame()?.expect("a whole frame was supplied");
    assert_eq!(decoder.buffered(), 0, "frame not fully consumed");
    Ok(message)
}

/// Decodes a frame body (no prefix) directly.
fn decode_body(body: &[u8], limits: Limits) -> Result<Message, WireError> {
    Message::decode(Bytes::copy_from_slice(body), &limits)
}

fn root(byte: u8) -> [u8; 32] {
    [byte; 32]
}

/// (message, its frame in hex) pairs, written out from the BEP layouts rather than produced by
/// the encoder.
fn vectors() -> Vec<(Message, Vec<u8>)> {
    let request = HashRequest {
        pieces_root: root(0xAB),
        base_layer: 0,
        index: 4,
        length: 2,
        proof_layers: 3,
    };
    let request_hex = format!("{} 00000000 00000004 00000002 00000003", "ab".repeat(32));
    let hashes: Vec<[u8; 32]> = (1..=5).map(|n| [n; 32]).collect();
    let hashes_hex: String = (1..=5).map(|n| format!("{n:02x}").repeat(32)).collect();
    vec![
        // BEP 3: a keep-alive is a zero length prefix.
        (Message::KeepAlive, hex("00000000")),
        (Message::Choke, hex("00000001 00")),
        (Message::Unchoke, hex("00000001 01")),
        (Message::Interested, hex("00000001 02")),
        (Message::NotInterested, hex("00000001 03")),
        (Message::Have { index: 11 }, hex("00000005 04 0000000b")),
        // 12 pieces: two bytes, pieces 0, 1 and 11 set, four spare bits zero.
        (
            Message::Bitfield(Bytes::from_static(&[0b1100_0000, 0b0001_0000])),
            hex("00000003 05 c010"),
        ),
        (
            Message::Request(BlockRef {
                index: 1,
                begin: 0x4000,
                length: 0x4000,
            }),
            hex("0000000d 06 00000001 00004000 00004000"),
        ),
        (
            Message::Piece {
                index: 2,
                begin: 0x8000,
                data: Bytes::from_static(b"abc"),
            },
            hex("0000000c 07 00000002 00008000 616263"),
        ),
        (
            Message::Cancel(BlockRef {
                index: 1,
                begin: 0,
                length: 0x2000,
            }),
            hex("0000000d 08 00000001 00000000 00002000"),
        ),
        // BEP 5: DHT port 6881.
        (Message::Port(6881), hex("00000003 09 1ae1")),
        // BEP 6.
        (
            Message::SuggestPiece { index: 3 },
            hex("00000005 0d 00000003"),
        ),
        (Message::HaveAll, hex("00000001 0e")),
        (Message::HaveNone, hex("00000001 0f")),
        (
            Message::RejectRequest(BlockRef {
                index: 0,
                begin: 0x4000,
                length: 0x0800,
            }),
            hex("0000000d 10 00000000 00004000 00000800"),
        ),
        (
            Message::AllowedFast { index: 7 },
            hex("00000005 11 00000007"),
        ),
        // BEP 10: extended message id 3 with a 2-byte payload, and an extension handshake.
        (
            Message::Extended {
                id: 3,
                payload: Bytes::from_static(b"hi"),
            },
            hex("00000004 14 03 6869"),
        ),
        (
            Message::Extended {
                id: 0,
                payload: Bytes::from_static(b"d1:mdee"),
            },
            hex("00000009 14 00 64313a6d646565"),
        ),
        // BEP 52: 49-byte request/reject; a reply to a 2-hash range with 3 proof layers carries
        // the 2 hashes and 3 + 1 - log2(2) = 3 uncles.
        (
            Message::HashRequest(request),
            hex(&format!("00000031 15 {request_hex}")),
        ),
        (
            Message::Hashes {
                request,
                hashes: hashes.clone(),
            },
            hex(&format!("000000d1 16 {request_hex} {hashes_hex}")),
        ),
        (
            Message::HashReject(request),
            hex(&format!("00000031 17 {request_hex}")),
        ),
    ]
}

#[test]
fn every_message_matches_its_byte_layout() {
    for (message, frame) in vectors() {
        assert_eq!(encode(&message), frame, "encoding {message:?}");
        assert_eq!(
            message.body_len() + 4,
            frame.len(),
            "body_len of {message:?}"
        );
        assert_eq!(
            decode_frame(&frame, limits()),
            Ok(message.clone()),
            "decoding {message:?}"
        );
        assert_eq!(message.id(), frame.get(4).copied(), "id of {message:?}");
    }
}

#[test]
fn piece_data_is_a_slice_of_the_received_buffer() {
    let body = Bytes::from(hex("07 00000000 00000000 0102030405"));
    let Message::Piece { data, .. } = Message::decode(body.clone(), &limits()).unwrap() else {
        panic!("not a piece");
    };
    assert_eq!(&data[..], &[1, 2, 3, 4, 5]);
    // Same memory, not a copy.
    assert_eq!(data.as_ptr(), body[9..].as_ptr());
}

#[test]
fn every_message_refuses_a_truncated_or_padded_body() {
    for (message, frame) in vectors() {
        if message == Message::KeepAlive {
            continue;
        }
        let body = &frame[4..];
        // Piece data and extended payloads are variable-length by nature: one byte more or less
        // is a different, still valid, message. Cutting into their fixed header is not.
        let variable_header = match message {
            Message::Piece { .. } => Some(9),
            Message::Extended { .. } => Some(2),
            _ => None,
        };
        match variable_header {
            Some(header) => {
                let cut = &body[..header - 1];
                assert!(
                    decode_body(cut, limits()).is_err(),
                    "cut {message:?} accepted"
                );
            }
            // Payload-less messages cannot lose a byte without losing their id.
            None if body.len() > 1 => {
                let cut = &body[..body.len() - 1];
                assert!(
                    decode_body(cut, limits()).is_err(),
                    "cut {message:?} accepted"
                );
            }
            None => {}
        }
        let mut padded = body.to_vec();
        padded.push(0);
        let accepted = decode_body(&padded, limits());
        if variable_header.is_some() {
            assert!(accepted.is_ok());
        } else {
            assert!(
                accepted.is_err(),
                "padded {message:?} accepted: {accepted:?}"
            );
        }
    }
}

#[test]
fn fixed_size_violations_name_the_message_and_sizes() {
    assert_eq!(
        decode_body(&hex("00 00"), limits()),
        Err(WireError::PayloadLength {
            message: "choke",
            expected: 0,
            found: 1
        })
    );
    assert_eq!(
        decode_body(&hex("04 000001"), limits()),
        Err(WireError::PayloadLength {
            message: "have",
            expected: 4,
            found: 3
        })
    );
    assert_eq!(
        decode_body(&hex("06 00000001 00000000 00004000 00"), limits()),
        Err(WireError::PayloadLength {
            message: "request",
            expected: 12,
            found: 13
        })
    );
    assert_eq!(
        decode_body(&hex("07 00000001 000000"), limits()),
        Err(WireError::PayloadTooShort {
            message: "piece",
            min: 8,
            found: 7
        })
    );
    assert_eq!(
        decode_body(&hex("14"), limits()),
        Err(WireError::PayloadTooShort {
            message: "extended",
            min: 1,
            found: 0
        })
    );
    assert_eq!(
        decode_body(&hex("16 0000"), limits()),
        Err(WireError::PayloadTooShort {
            message: "hashes",
            min: 48,
            found: 2
        })
    );
}

#[test]
fn unknown_ids_are_refused() {
    // 10-12 were never assigned, 18-19 belong to extensions we do not speak (and nobody sends),
    // 24+ do not exist.
    for id in [10u8, 11, 12, 18, 19, 24, 100, 255] {
        assert_eq!(
            decode_body(&[id], limits()),
            Err(WireError::UnknownMessageId { id })
        );
    }
}

#[test]
fn hostile_frame_length_is_refused_before_buffering() {
    let mut decoder = FrameDecoder::new(limits());
    decoder.buffer_mut().extend_from_slice(&hex("ffffffff 07"));
    assert_eq!(
        decoder.next_frame(),
        Err(WireError::FrameTooLong {
            len: u32::MAX,
            max: limits().max_frame_len()
        })
    );
    assert!(decoder.buffer_mut().capacity() < 1024);
}

#[test]
fn piece_indices_must_be_below_the_piece_count() {
    let out_of_range = Err(WireError::PieceIndexOutOfRange {
        index: 12,
        piece_count: 12,
    });
    assert_eq!(decode_body(&hex("04 0000000c"), limits()), out_of_range);
    assert_eq!(decode_body(&hex("0d 0000000c"), limits()), out_of_range);
    assert_eq!(decode_body(&hex("11 0000000c"), limits()), out_of_range);
    assert_eq!(
        decode_body(&hex("06 0000000c 00000000 00004000"), limits()),
        out_of_range
    );
    assert_eq!(
        decode_body(&hex("08 0000000c 00000000 00004000"), limits()),
        out_of_range
    );
    assert_eq!(
        decode_body(&hex("10 0000000c 00000000 00004000"), limits()),
        out_of_range
    );
    assert_eq!(
        decode_body(&hex("07 0000000c 00000000 00"), limits()),
        out_of_range
    );
    assert_eq!(
        decode_body(&hex("04 ffffffff"), limits()),
        Err(WireError::PieceIndexOutOfRange {
            index: u32::MAX,
            piece_count: 12
        })
    );
    assert_eq!(
        decode_body(&hex("04 0000000b"), limits()),
        Ok(Message::Have { index: 11 })
    );
}

#[test]
fn block_lengths_must_be_1_to_16_kib() {
    for (id, name) in [(6u8, "request"), (8, "cancel"), (16, "reject request")] {
        let body = |length: u32| {
            let mut body = vec![id];
            body.extend_from_slice(&0u32.to_be_bytes());
            body.extend_from_slice(&0u32.to_be_bytes());
            body.extend_from_slice(&length.to_be_bytes());
            body
        };
        for bad in [0, 16 * 1024 + 1, 17 * 1024, u32::MAX] {
            assert_eq!(
                decode_body(&body(bad), limits()),
                Err(WireError::BlockLength {
                    length: bad,
                    max: 16384
                }),
                "{name} of {bad} bytes"
            );
        }
        assert!(decode_body(&body(1), limits()).is_ok());
        assert!(decode_body(&body(16 * 1024), limits()).is_ok());
    }
    // Piece messages: an empty or oversized block.
    assert_eq!(
        decode_body(&hex("07 00000000 00000000"), limits()),
        Err(WireError::BlockLength {
            length: 0,
            max: 16384
        })
    );
    let mut oversized = hex("07 00000000 00000000");
    oversized.resize(9 + 16 * 1024 + 1, 0xAA);
    assert_eq!(
        decode_body(&oversized, limits()),
        Err(WireError::BlockLength {
            length: 16385,
            max: 16384
        })
    );
    oversized.pop();
    assert!(decode_body(&oversized, limits()).is_ok());
    // The largest piece frame is exactly what max_frame_len allows for it.
    assert!(oversized.len() as u32 <= limits().max_frame_len());
}

#[test]
fn block_end_must_fit_32_bits() {
    assert_eq!(
        decode_body(&hex("06 00000000 ffffc001 00004000"), limits()),
        Err(WireError::BlockRangeOverflow {
            begin: 0xFFFF_C001,
            length: 0x4000
        })
    );
    assert_eq!(
        decode_body(&hex("07 00000000 ffffffff 0102"), limits()),
        Err(WireError::BlockRangeOverflow {
            begin: u32::MAX,
            length: 2
        })
    );
    // An end of exactly 2^32 is refused too; the last byte before it is fine.
    assert!(decode_body(&hex("06 00000000 ffffc000 00004000"), limits()).is_err());
    assert!(decode_body(&hex("06 00000000 ffffbfff 00004000"), limits()).is_ok());
}

#[test]
fn bitfield_must_have_exact_length_and_zero_spare_bits() {
    // 12 pieces: 2 bytes, low nibble of the second byte is spare.
    for spare in [0x01u8, 0x02, 0x04, 0x08] {
        assert_eq!(
            decode_body(&[5, 0xFF, 0xF0 | spare], limits()),
            Err(WireError::BitfieldSpareBits { piece_count: 12 })
        );
    }
    assert_eq!(
        decode_body(&[5, 0xFF], limits()),
        Err(WireError::BitfieldLength {
            expected: 2,
            found: 1,
            piece_count: 12
        })
    );
    assert_eq!(
        decode_body(&[5, 0xFF, 0xF0, 0x00], limits()),
        Err(WireError::BitfieldLength {
            expected: 2,
            found: 3,
            piece_count: 12
        })
    );
    // A piece count divisible by 8 has no spare bits.
    assert_eq!(
        decode_body(&[5, 0xFF, 0xFF], Limits::for_torrent(16)),
        Ok(Message::Bitfield(Bytes::from_static(&[0xFF, 0xFF])))
    );
}

#[test]
fn extended_payload_is_capped() {
    let small = Limits {
        max_extended_payload: 4,
        ..limits()
    };
    assert!(decode_body(&hex("14 01 00010203"), small).is_ok());
    assert_eq!(
        decode_body(&hex("14 01 0001020304"), small),
        Err(WireError::ExtendedTooLong { len: 5, max: 4 })
    );
    // Through a frame decoder: the prefix passes (the frame limit is the largest message of any
    // kind, here `hashes`), the body check refuses.
    let mut decoder = FrameDecoder::new(small);
    decoder
        .buffer_mut()
        .extend_from_slice(&hex("00000007 14 01 0001020304"));
    assert_eq!(
        decoder.next_frame(),
        Err(WireError::ExtendedTooLong { len: 5, max: 4 })
    );
}

fn hash_request_body(id: u8, base: u32, index: u32, length: u32, proof: u32) -> Vec<u8> {
    let mut body = vec![id];
    body.extend_from_slice(&root(7));
    for field in [base, index, length, proof] {
        body.extend_from_slice(&field.to_be_bytes());
    }
    body
}

#[test]
fn hash_request_shape_is_checked_for_all_three_messages() {
    for id in [21u8, 23] {
        let check = |base, index, length, proof| {
            decode_body(&hash_request_body(id, base, index, length, proof), limits())
        };
        assert!(
            check(0, 0, 1, 0).is_ok(),
            "a single hash (libtorrent sends it)"
        );
        assert!(check(2, 512, 512, 10).is_ok());
        assert!(check(0, 0, 8192, 0).is_ok());
        assert!(check(0, 0, 2, 63).is_ok());
        assert_eq!(
            check(0, 0, 0, 0),
            Err(WireError::HashLengthNotPowerOfTwo { length: 0 })
        );
        assert_eq!(
            check(0, 0, 3, 0),
            Err(WireError::HashLengthNotPowerOfTwo { length: 3 })
        );
        assert_eq!(
            check(0, 0, 16384, 0),
            Err(WireError::TooManyHashes {
                length: 16384,
                max: 8192
            })
        );
        assert_eq!(
            check(0, 6, 4, 0),
            Err(WireError::HashIndexMisaligned {
                index: 6,
                length: 4
            })
        );
        assert_eq!(
            check(0, 0xFFFF_FFFE, 2, 0),
            Err(WireError::HashRangeOverflow {
                index: 0xFFFF_FFFE,
                length: 2
            })
        );
        assert_eq!(
            check(64, 0, 2, 0),
            Err(WireError::HashLayers {
                base_layer: 64,
                proof_layers: 0
            })
        );
        assert_eq!(
            check(0, 0, 2, 64),
            Err(WireError::HashLayers {
                base_layer: 0,
                proof_layers: 64
            })
        );
        assert_eq!(
            check(40, 0, 2, 24),
            Err(WireError::HashLayers {
                base_layer: 40,
                proof_layers: 24
            })
        );
        assert_eq!(
            check(u32::MAX, 0, 2, u32::MAX),
            Err(WireError::HashLayers {
                base_layer: u32::MAX,
                proof_layers: u32::MAX
            })
        );
    }
    // `hashes` carries the same fields and is refused the same way.
    let mut bad = hash_request_body(22, 0, 0, 3, 0);
    bad.extend_from_slice(&[0; 96]);
    assert_eq!(
        decode_body(&bad, limits()),
        Err(WireError::HashLengthNotPowerOfTwo { length: 3 })
    );
}

#[test]
fn hashes_count_follows_bep52_and_libtorrent() {
    // (length, proof layers, hashes on the wire): length + max(0, proof + 1 - log2 length)
    for (length, proof, count) in [
        (1u32, 0u32, 2usize),
        (1, 3, 5),
        (2, 0, 2),
        (2, 1, 3),
        (2, 2, 4),
        (8, 1, 8),
        (8, 2, 8),
        (8, 3, 9),
        (512, 8, 512),
        (512, 9, 513),
        (512, 12, 516),
        (8192, 20, 8200),
    ] {
        let body = |hashes: usize| {
            let mut body = hash_request_body(22, 0, 0, length, proof);
            body.resize(body.len() + 32 * hashes, 0x5A);
            body
        };
        let Ok(Message::Hashes { request, hashes }) = decode_body(&body(count), limits()) else {
            panic!("length {length}, proof {proof}: {count} hashes refused");
        };
        assert_eq!(hashes.len(), count);
        assert_eq!(request.reply_hash_count(), count as u64);
        for wrong in [count - 1, count + 1] {
            assert_eq!(
                decode_body(&body(wrong), limits()),
                Err(WireError::HashCount {
                    expected: count as u64,
                    found: wrong
                })
            );
        }
    }
    let mut ragged = hash_request_body(22, 0, 0, 2, 0);
    ragged.resize(ragged.len() + 65, 0);
    assert_eq!(
        decode_body(&ragged, limits()),
        Err(WireError::HashesNotWhole { len: 65 })
    );
}

#[test]
fn largest_hashes_frame_fits_the_frame_limit() {
    let request = HashRequest {
        pieces_root: root(1),
        base_layer: 0,
        index: 0,
        length: 8192,
        proof_layers: 63,
    };
    let message = Message::Hashes {
        request,
        hashes: vec![[9; 32]; 8192 + 51],
    };
    let frame = encode(&message);
    assert_eq!(frame.len() - 4, 1 + 48 + 32 * (8192 + 51));
    let small = Limits {
        max_extended_payload: 0,
        ..limits()
    };
    assert!(frame.len() - 4 <= small.max_frame_len() as usize);
    assert_eq!(decode_frame(&frame, small), Ok(message));
}

#[test]
fn zero_piece_torrent_accepts_only_the_empty_bitfield() {
    let empty = Limits::for_torrent(0);
    assert_eq!(
        decode_body(&[5], empty),
        Ok(Message::Bitfield(Bytes::new()))
    );
    assert_eq!(
        decode_body(&hex("04 00000000"), empty),
        Err(WireError::PieceIndexOutOfRange {
            index: 0,
            piece_count: 0
        })
    );
}
