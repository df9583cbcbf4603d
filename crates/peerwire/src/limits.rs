//! Size limits that bound what a peer can make us buffer or allocate.

/// The block size every mainstream client requests, and the unit of BEP 52 Merkle leaves.
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// Largest block length accepted in `request`, `reject` and `cancel`, and largest data carried by
/// one `piece` message (whose body is then 9 + 16 KiB bytes).
///
/// BEP 3 leaves the limit to implementations; 16 KiB is what libtorrent, Transmission and others
/// send and what they refuse to exceed, and it keeps a single block's buffer small.
pub const MAX_BLOCK_LEN: u32 = 16 * 1024;

/// Default cap on a BEP 10 extended message payload: large enough for a metadata piece or an
/// audit answer (a block plus its proof), small enough that a peer cannot pin much memory.
pub const DEFAULT_MAX_EXTENDED_PAYLOAD: u32 = 1024 * 1024;

/// Default cap on the base-layer length of a BEP 52 hash request: 8192 leaf hashes cover a
/// 128 MiB piece, the same bound libtorrent enforces.
pub const DEFAULT_MAX_HASHES: u32 = 8192;

/// Size of the fixed BEP 52 hash request fields: pieces root, base layer, index, length,
/// proof layers.
pub(crate) const HASH_REQUEST_LEN: usize = 32 + 4 * 4;

/// Largest `base_layer + proof_layers` of a BEP 52 hash request.
///
/// A tree of 16 KiB leaves over a file of at most 2^64 bytes has 51 layers, so 63 refuses nothing
/// real while keeping the uncle list short: at most `proof_layers + 1 <= 64` hashes.
pub(crate) const MAX_TREE_LAYER: u32 = 63;

/// What one connection's decoder accepts.
///
/// The values depend on the torrent (its piece count fixes the bitfield size and the valid piece
/// indices), so each connection gets its own `Limits` once the torrent is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Number of pieces in the torrent; piece indices must be below it.
    pub piece_count: u32,
    /// Largest payload of an extended message, after its extended id byte.
    pub max_extended_payload: u32,
    /// Largest base-layer length of a BEP 52 hash request.
    pub max_hashes: u32,
}

impl Limits {
    /// Limits for a torrent of `piece_count` pieces with the default caps.
    pub fn for_torrent(piece_count: u32) -> Limits {
        Limits {
            piece_count,
            max_extended_payload: DEFAULT_MAX_EXTENDED_PAYLOAD,
            max_hashes: DEFAULT_MAX_HASHES,
        }
    }

    /// Bytes the bitfield of this torrent occupies: `ceil(piece_count / 8)`.
    pub fn bitfield_len(&self) -> usize {
        // u32 -> usize never truncates on the 32- and 64-bit targets Rust supports for std.
        (self.piece_count as usize).div_ceil(8)
    }

    /// Largest frame body (after the 4-byte length prefix) any valid message can have.
    ///
    /// [`FrameDecoder`](crate::FrameDecoder) refuses longer length prefixes before buffering, so
    /// this is also the most memory a single frame can claim.
    pub fn max_frame_len(&self) -> u32 {
        let piece = 1 + 8 + u64::from(MAX_BLOCK_LEN);
        let bitfield = 1 + u64::from(self.piece_count).div_ceil(8);
        let extended = 2 + u64::from(self.max_extended_payload);
        let hashes = 1
            + HASH_REQUEST_LEN as u64
            + 32 * (u64::from(self.max_hashes) + u64::from(MAX_TREE_LAYER) + 1);
        let largest = piece.max(bitfield).max(extended).max(hashes);
        u32::try_from(largest).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_frame_limit_is_set_by_the_hashes_message() {
        let limits = Limits::for_torrent(1000);
        // Extended: 2 + 1 MiB = 1_048_578; hashes: 49 + 32 * (8192 + 64) = 264_241.
        assert_eq!(limits.max_frame_len(), 1_048_578);
        let small = Limits {
            max_extended_payload: 100,
            ..limits
        };
        assert_eq!(small.max_frame_len(), 264_241);
        let no_v2 = Limits {
            max_hashes: 0,
            ..small
        };
        // Only the piece message is left: 1 + 8 + 16384.
        assert_eq!(no_v2.max_frame_len(), 16_393);
    }

    #[test]
    fn huge_torrents_grow_the_limit_with_their_bitfield() {
        let limits = Limits {
            piece_count: 80_000_000,
            max_extended_payload: 0,
            max_hashes: 0,
        };
        assert_eq!(limits.bitfield_len(), 10_000_000);
        assert_eq!(limits.max_frame_len(), 10_000_001);
    }

    #[test]
    fn limit_saturates_instead_of_wrapping() {
        let limits = Limits {
            piece_count: u32::MAX,
            max_extended_payload: u32::MAX,
            max_hashes: u32::MAX,
        };
        assert_eq!(limits.max_frame_len(), u32::MAX);
    }
}
