//! A keystore file may come from anywhere (`seedbank wallet import --keystore`): reading it must
//! answer with a key or an error, never panic, and refuse costly KDF parameters before working.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = token::keystore::address_of(text);
        let _ = token::keystore::decrypt(text, b"password");
    }
});
