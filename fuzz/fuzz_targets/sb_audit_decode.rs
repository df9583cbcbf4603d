//! Drives the `sb_audit` decoder (the payload of a seedbank BEP 10 extended message) with
//! arbitrary bytes.
//!
//! Beyond "never panics", whatever is accepted must survive a round trip through our encoding, and
//! must be canonical: keys are sorted and integers canonical, so an accepted payload without extra
//! keys is byte for byte our encoding, and any extra key (which decoding drops) makes the payload
//! longer than it. So the payload is never shorter than the re-encoding, and exactly as long only
//! if identical.

#![no_main]

use libfuzzer_sys::fuzz_target;
use peerwire::sb_audit::AuditMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = AuditMessage::decode(data) else {
        return;
    };
    let encoded = message.encode();
    // A decoded `Unknown` keeps only its type, which re-encodes and decodes to itself as well; the
    // check is not limited to the known types because nothing about `Unknown` makes it fail.
    assert_eq!(
        AuditMessage::decode(&encoded).as_ref(),
        Ok(&message),
        "our own encoding must decode to the same message"
    );
    assert!(encoded.len() <= data.len());
    if encoded.len() == data.len() {
        assert_eq!(encoded, data);
    }
});
