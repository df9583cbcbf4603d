//! Splitting a peer's byte stream into frames.

use bytes::{Buf, BytesMut};

use crate::{Limits, MAX_BLOCK_LEN, Message, WireError};

/// Size of the big-endian length prefix in front of every frame body.
const PREFIX_LEN: usize = 4;

/// Room kept free while no frame is pending: one whole `piece` frame carrying a 16 KiB block, so
/// a reader that fills the spare capacity (tokio's `read_buf`) takes a block per read instead of
/// the few bytes an empty `BytesMut` offers.
const READ_AHEAD: usize = PREFIX_LEN + 9 + MAX_BLOCK_LEN as usize;

/// Turns a peer's byte stream into messages, one connection each.
///
/// A length prefix above [`Limits::max_frame_len`] is refused before any of its body is buffered,
/// so a hostile 4 GiB prefix costs nothing but the four bytes that carried it.
///
/// The caller reads from its socket straight into [`FrameDecoder::buffer_mut`] (for example with
/// tokio's `read_buf`) and then calls [`FrameDecoder::next_frame`] until it returns `Ok(None)`.
/// Once a frame's length is known the buffer reserves room for the rest of it, so the next read
/// can complete the frame in one go.
///
/// After an error the connection should be dropped: a refused length prefix stays in the buffer
/// (the stream cannot be resynchronised), while a frame whose body failed to decode has been
/// consumed.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: Limits,
    buffer: BytesMut,
}

impl FrameDecoder {
    /// A decoder for one connection to a torrent with these limits.
    pub fn new(limits: Limits) -> Self {
        FrameDecoder {
            limits,
            buffer: BytesMut::new(),
        }
    }

    /// The buffer incoming bytes are appended to.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The limits frames are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits, e.g. once a magnet link's metadata has revealed the piece count.
    /// Applies to frames not yet returned.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The next whole message, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Message>, WireError> {
        let Some(prefix) = self.buffer.first_chunk::<PREFIX_LEN>() else {
            self.buffer.reserve(READ_AHEAD);
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix);
        let max = self.limits.max_frame_len();
        if len > max {
            return Err(WireError::FrameTooLong { len, max });
        }
        // Widening: `len` is a u32 and usize is at least 32 bits wherever std runs.
        let body_len = len as usize;
        let frame_len = PREFIX_LEN + body_len;
        if self.buffer.len() < frame_len {
            self.buffer.reserve(frame_len - self.buffer.len());
            return Ok(None);
        }
        self.buffer.advance(PREFIX_LEN);
        let body = self.buffer.split_to(body_len).freeze();
        Message::decode(body, &self.limits).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockRef;

    fn limits() -> Limits {
        Limits::for_torrent(100)
    }

    #[test]
    fn hostile_length_is_refused_without_buffering() {
        let mut decoder = FrameDecoder::new(limits());
        decoder
            .buffer_mut()
            .extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 7]);
        let before = decoder.buffer_mut().capacity();
        let max = limits().max_frame_len();
        assert_eq!(
            decoder.next_frame(),
            Err(WireError::FrameTooLong { len: u32::MAX, max })
        );
        assert_eq!(decoder.buffer_mut().capacity(), before);
        // The stream cannot be resynchronised, so the refusal repeats.
        assert!(decoder.next_frame().is_err());
    }

    #[test]
    fn length_just_over_the_limit_is_refused_and_at_the_limit_waits() {
        let max = limits().max_frame_len();
        let mut decoder = FrameDecoder::new(limits());
        decoder
            .buffer_mut()
            .extend_from_slice(&(max + 1).to_be_bytes());
        assert_eq!(
            decoder.next_frame(),
            Err(WireError::FrameTooLong { len: max + 1, max })
        );

        let mut decoder = FrameDecoder::new(limits());
        decoder.buffer_mut().extend_from_slice(&max.to_be_bytes());
        assert_eq!(decoder.next_frame(), Ok(None));
        // Room for the whole frame is reserved so the next read can complete it.
        assert!(decoder.buffer_mut().capacity() >= 4 + max as usize);
    }

    #[test]
    fn frames_split_across_reads_and_packed_together() {
        let mut stream = Vec::new();
        Message::Unchoke.encode(&mut stream);
        Message::KeepAlive.encode(&mut stream);
        Message::Request(BlockRef {
            index: 3,
            begin: 16384,
            length: 16384,
        })
        .encode(&mut stream);

        let mut decoder = FrameDecoder::new(limits());
        let mut got = Vec::new();
        // First read ends in the middle of the request's length prefix.
        decoder.buffer_mut().extend_from_slice(&stream[..11]);
        while let Some(message) = decoder.next_frame().unwrap() {
            got.push(message);
        }
        assert_eq!(got, vec![Message::Unchoke, Message::KeepAlive]);
        assert_eq!(decoder.buffered(), 2);
        decoder.buffer_mut().extend_from_slice(&stream[11..]);
        assert_eq!(
            decoder.next_frame(),
            Ok(Some(Message::Request(BlockRef {
                index: 3,
                begin: 16384,
                length: 16384
            })))
        );
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn invalid_body_is_consumed_and_reported() {
        let mut decoder = FrameDecoder::new(limits());
        // have for piece 100 of a 100-piece torrent, then a valid choke.
        decoder
            .buffer_mut()
            .extend_from_slice(&[0, 0, 0, 5, 4, 0, 0, 0, 100, 0, 0, 0, 1, 0]);
        assert_eq!(
            decoder.next_frame(),
            Err(WireError::PieceIndexOutOfRange {
                index: 100,
                piece_count: 100
            })
        );
        assert_eq!(decoder.next_frame(), Ok(Some(Message::Choke)));
    }

    #[test]
    fn idle_buffer_keeps_room_for_a_block_frame() {
        let mut decoder = FrameDecoder::new(limits());
        assert_eq!(decoder.next_frame(), Ok(None));
        assert!(decoder.buffer_mut().capacity() >= READ_AHEAD);
    }

    #[test]
    fn set_limits_applies_to_following_frames() {
        let mut decoder = FrameDecoder::new(Limits::for_torrent(8));
        decoder
            .buffer_mut()
            .extend_from_slice(&[0, 0, 0, 5, 4, 0, 0, 0, 9]);
        decoder.set_limits(Limits::for_torrent(10));
        assert_eq!(decoder.limits().piece_count, 10);
        assert_eq!(decoder.next_frame(), Ok(Some(Message::Have { index: 9 })));
    }
}
