//! A tracker's HTTP reply is untrusted bytes from the network: the HTTP framing (status line,
//! headers, chunked bodies) and the bencoded announce response must never panic, whatever arrives.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = engine::tracker::parse_http(data) {
        let _ = engine::tracker::parse_response(&body);
    }
    let _ = engine::tracker::parse_response(data);
});
