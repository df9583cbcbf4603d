//! SHA-1 and SHA-256 through aws-lc-rs.
//!
//! Hashing is the bottleneck of creating and checking torrents on machines without SHA
//! instructions; aws-lc-rs measured fastest here (819 MB/s SHA-1, 330 MB/s SHA-256 per core),
//! so every hash in the crate goes through this module.

use aws_lc_rs::digest;

/// SHA-1 of `data` (v1 piece hashes, v1 info-hash).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of `data` (v2 Merkle leaves and nodes, v2 info-hash).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of the concatenation `left || right`: one interior Merkle node.
pub fn sha256_pair(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left);
    buf[32..].copy_from_slice(right);
    sha256(&buf)
}

/// Incremental SHA-1, for data that arrives in pieces (e.g. a piece spread over several reads).
pub struct Sha1 {
    ctx: digest::Context,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// An empty hasher.
    pub fn new() -> Self {
        Sha1 {
            ctx: digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        }
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> [u8; 20] {
        let d = self.ctx.finish();
        let mut out = [0u8; 20];
        out.copy_from_slice(d.as_ref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(
            hex::encode(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut h = Sha1::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), sha1(b"abc"));
        let l = sha256(b"l");
        let r = sha256(b"r");
        assert_eq!(sha256_pair(&l, &r), sha256(&[l, r].concat()));
    }
}
