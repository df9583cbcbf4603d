//! Drives every peerwire decoder that faces the network with arbitrary bytes: the frame splitter
//! (in input-chosen chunk sizes), frame bodies, BEP 10 handshakes and the BEP 3 handshake.
//!
//! Beyond "never panics", each accepted value must re-encode to exactly the bytes it came from
//! (decoding is canonical), so a decoder that silently drops or invents data is caught too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use peerwire::bytes::Bytes;
use peerwire::{ExtensionHandshake, FrameDecoder, HANDSHAKE_LEN, Handshake, Limits, Message};

/// The first bytes choose the limits and the chunking; the rest is the stream.
const HEADER: usize = 6;

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    message.encode(&mut out);
    out
}

fn check_extension_handshake(payload: &[u8]) {
    if let Ok(handshake) = ExtensionHandshake::decode(payload) {
        let again = ExtensionHandshake::decode(&handshake.encode())
            .expect("our own extension handshake must decode");
        assert_eq!(again, handshake);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((header, stream)) = data.split_first_chunk::<HEADER>() else {
        return;
    };
    // Up to 2^20 pieces keeps bitfields (and so frame limits) small enough to reach with fuzz
    // inputs, while still covering every spare-bit pattern.
    let piece_count = u32::from_be_bytes([0, header[0] & 0x0F, header[1], header[2]]);
    let limits = Limits {
        piece_count,
        max_extended_payload: u32::from(header[3]) * 16,
        max_hashes: 1 << (header[4] % 15),
    };
    let chunk = usize::from(header[5]).max(1);

    // The stream, fed in chunks, as the engine will.
    let mut decoder = FrameDecoder::new(limits);
    let mut fed = 0;
    let mut consumed = 0;
    'stream: for piece in stream.chunks(chunk) {
        decoder.buffer_mut().extend_from_slice(piece);
        fed += piece.len();
        loop {
            match decoder.next_frame() {
                Ok(Some(message)) => {
                    let now = fed - decoder.buffered();
                    assert_eq!(encode(&message), &stream[consumed..now]);
                    consumed = now;
                    if let Message::Extended { id: 0, payload } = &message {
                        check_extension_handshake(payload);
                    }
                }
                Ok(None) => break,
                Err(_) => break 'stream,
            }
        }
        assert!(decoder.buffered() <= 4 + limits.max_frame_len() as usize + chunk);
    }

    // The whole stream as one frame body.
    if let Ok(message) = Message::decode(Bytes::copy_from_slice(stream), &limits) {
        assert_eq!(&encode(&message)[4..], stream);
    }

    check_extension_handshake(stream);

    if let Some(bytes) = stream.first_chunk::<HANDSHAKE_LEN>()
        && let Ok(handshake) = Handshake::decode(bytes)
    {
        assert_eq!(&handshake.encode(), bytes);
    }
});
