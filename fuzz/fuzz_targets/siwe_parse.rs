//! Sign-in messages (EIP-4361) arrive as text from anyone (the hub's sign-in route): parsing must
//! answer every input with a message or an error, never panic, and whatever parses must print to
//! a text that parses back to the same message, or the hub would check a message other than the
//! one it reports.

#![no_main]

use libfuzzer_sys::fuzz_target;
use token::{Signature, SiweMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = token::siwe::parse_rfc3339(text);
    if let Ok(message) = SiweMessage::parse(text) {
        let again = SiweMessage::parse(&message.to_text())
            .expect("a parsed message prints to a text that parses");
        assert_eq!(again, message);
        assert_eq!(message.validate(), Ok(()));
        let _ = message.check_time(1_700_000_000, 60);
        // Recovery over whatever parsed must answer, not panic (v = 1 is a valid recovery id).
        let _ = SiweMessage::verify_signature(text, &Signature([1; 65]));
    }
});
