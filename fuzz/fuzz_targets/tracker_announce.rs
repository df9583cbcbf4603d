//! An announce or scrape query string is untrusted bytes from any client on the internet, and so is
//! the passkey in its path: the parsers must answer every input with a value or an error, never a
//! panic, and never read more than the length limit allows.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracker::request::{self, RequestError};

fuzz_target!(|data: &[u8]| {
    let announce = request::parse_announce(data);
    let scrape = request::parse_scrape(data);
    if data.len() > request::MAX_QUERY_LEN {
        assert_eq!(announce, Err(RequestError::QueryTooLong));
        assert_eq!(scrape, Err(RequestError::QueryTooLong));
    }
    if let Ok(hashes) = scrape {
        assert!(!hashes.is_empty() && hashes.len() <= request::MAX_SCRAPE_HASHES);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(passkey) = request::parse_passkey(text)
    {
        assert_eq!(request::passkey_to_string(&passkey), text);
    }
});
