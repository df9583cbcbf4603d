//! `sb_receipt`: the BEP 10 extension that carries payment for downloaded data between two
//! seedbank nodes.
//!
//! Downloads in a collective are paid. After each piece it has verified, the downloader signs a
//! *cumulative* EIP-712 receipt for all the file data this uploader has sent it on this connection,
//! and sends it over the wire; the uploader keeps serving while the bytes it has sent beyond the
//! last receipt stay under the collective's debt threshold, and later submits the newest receipt
//! to the hub for settlement. Because receipts are cumulative, a lost or late one costs nothing.
//!
//! Only `bytes` and the signature travel with each receipt. The rest of the signed struct
//! (`token::Receipt` in `crates/token`: collective, torrent, uploader, downloader, session) is
//! fixed for the connection by the torrent and by the [`ReceiptMessage::Hello`] each side sends
//! once, so repeating it in every receipt would only give a peer more to get wrong.
//!
//! This module is a pure codec: it moves bytes. It does not depend on `token` and checks no
//! signatures or addresses; that is left to the node, which knows the connection's context. See
//! `docs/protocol.md`, section 5.3 (seedbank extensions).

use crate::WireError;
use crate::bencode::{self, Reader};
use crate::sb_dict::{Dialect, put_msg_type, read_fields, saturate};

/// The extension name announced in the BEP 10 handshake's `m` dictionary.
pub const NAME: &str = "sb_receipt";

const HELLO: u64 = 0;
const RECEIPT: u64 = 1;

/// One `sb_receipt` message: the payload of a BEP 10 extended message whose id the peer assigned
/// to [`NAME`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptMessage {
    /// `msg_type` 0. Sent once by each side after both extension handshakes named `sb_receipt`.
    Hello {
        /// The sender's 20-byte EVM address.
        account: [u8; 20],
        /// The 20-byte address of the collective the sender settles in (the EIP-712
        /// `verifyingContract`).
        collective: [u8; 20],
        /// 32 random bytes the sender wants the receipts it earns *as an uploader* on this
        /// connection to carry.
        session: [u8; 32],
    },
    /// `msg_type` 1. Downloader to uploader: cumulative file-data bytes received from the uploader
    /// on this connection's lane, with the downloader's signature over the EIP-712 `Receipt`.
    Receipt {
        /// Cumulative bytes. bencode integers are signed 64-bit, so values above `i64::MAX` are
        /// sent as `i64::MAX`; no connection transfers 8 EiB.
        bytes: u64,
        /// secp256k1 signature, `r || s || v`.
        signature: [u8; 65],
    },
    /// Any other `msg_type`: a later version's message, which receivers ignore (BEP 10 practice,
    /// as with `ut_metadata`). Its other keys are checked to be well-formed and then dropped.
    Unknown {
        /// The type received; at most `i64::MAX` when decoded.
        msg_type: u64,
    },
}

impl ReceiptMessage {
    /// The message's `msg_type` on the wire.
    pub fn msg_type(&self) -> u64 {
        match self {
            ReceiptMessage::Hello { .. } => HELLO,
            ReceiptMessage::Receipt { .. } => RECEIPT,
            ReceiptMessage::Unknown { msg_type } => *msg_type,
        }
    }

    /// The bencoded dictionary, keys in canonical (sorted) order.
    ///
    /// An `Unknown` message encodes as its type alone; `Unknown { msg_type: 0 | 1 }` therefore
    /// encodes a message that [`ReceiptMessage::decode`] refuses for lacking its fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(b'd');
        match self {
            ReceiptMessage::Hello {
                account,
                collective,
                session,
            } => {
                bencode::put_bytes(&mut out, b"account");
                bencode::put_bytes(&mut out, account);
                bencode::put_bytes(&mut out, b"collective");
                bencode::put_bytes(&mut out, collective);
                put_msg_type(&mut out, HELLO);
                bencode::put_bytes(&mut out, b"session");
                bencode::put_bytes(&mut out, session);
            }
            ReceiptMessage::Receipt { bytes, signature } => {
                bencode::put_bytes(&mut out, b"bytes");
                bencode::put_int(&mut out, saturate(*bytes));
                put_msg_type(&mut out, RECEIPT);
                bencode::put_bytes(&mut out, b"signature");
                bencode::put_bytes(&mut out, signature);
            }
            ReceiptMessage::Unknown { msg_type } => put_msg_type(&mut out, *msg_type),
        }
        out.push(b'e');
        out
    }

    /// Parses a peer's `sb_receipt` payload.
    ///
    /// Refused: invalid or non-canonical bencode (including unsorted keys and trailing bytes), a
    /// non-dictionary, a missing or negative `msg_type`, and for types 0 and 1 a missing field, a
    /// field of the wrong type or length, or a negative `bytes`. Keys the message's type does not
    /// use are skipped once checked to be well-formed, so a later version can add fields; for any
    /// other type, every key but `msg_type` is such a key.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        // `msg_type` sorts after `account`, `bytes` and `collective`, hence two passes (see
        // `Dialect::scan`).
        let msg_type = DIALECT.scan(payload)?;
        match msg_type {
            HELLO => {
                let mut account = None;
                let mut collective = None;
                let mut session = None;
                read_fields(payload, |key, reader| {
                    match key {
                        b"account" => account = Some(fixed(reader, "account")?),
                        b"collective" => collective = Some(fixed(reader, "collective")?),
                        b"session" => session = Some(fixed(reader, "session")?),
                        _ => reader.skip(1)?,
                    }
                    Ok(())
                })?;
                Ok(ReceiptMessage::Hello {
                    account: DIALECT.required(account, HELLO, "account")?,
                    collective: DIALECT.required(collective, HELLO, "collective")?,
                    session: DIALECT.required(session, HELLO, "session")?,
                })
            }
            RECEIPT => {
                let mut bytes = None;
                let mut signature = None;
                read_fields(payload, |key, reader| {
                    match key {
                        b"bytes" => bytes = Some(DIALECT.int(reader, "bytes", i64::MAX)?),
                        b"signature" => signature = Some(fixed(reader, "signature")?),
                        _ => reader.skip(1)?,
                    }
                    Ok(())
                })?;
                Ok(ReceiptMessage::Receipt {
                    bytes: DIALECT.required(bytes, RECEIPT, "bytes")?,
                    signature: DIALECT.required(signature, RECEIPT, "signature")?,
                })
            }
            msg_type => Ok(ReceiptMessage::Unknown { msg_type }),
        }
    }
}

/// `sb_receipt`'s name and error variants for the shared dictionary helpers.
const DIALECT: Dialect = Dialect {
    name: NAME,
    not_dict: || WireError::SbReceiptNotDict,
    key_order: |key, previous| WireError::SbReceiptKeyOrder { key, previous },
    no_msg_type: || WireError::SbReceiptNoMsgType,
    missing: |msg_type, field| WireError::SbReceiptMissing { msg_type, field },
};

/// A byte-string field of exactly `N` bytes.
fn fixed<const N: usize>(
    reader: &mut Reader<'_>,
    field: &'static str,
) -> Result<[u8; N], WireError> {
    let value = DIALECT.bytes(reader, field)?;
    <[u8; N]>::try_from(value).map_err(|_| WireError::SbReceiptFieldLength {
        field,
        expected: N,
        found: value.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BencodeError;

    const ACCOUNT: [u8; 20] = [0xAA; 20];
    const COLLECTIVE: [u8; 20] = [0xCC; 20];
    const SESSION: [u8; 32] = [0x55; 32];
    const SIGNATURE: [u8; 65] = [0x5A; 65];

    fn hello() -> ReceiptMessage {
        ReceiptMessage::Hello {
            account: ACCOUNT,
            collective: COLLECTIVE,
            session: SESSION,
        }
    }

    /// `hello()` written out by hand. The session's 0x55 bytes are `U`, and the signature's 0x5A
    /// bytes (in the receipt tests) are `Z`, so those runs can be written as text.
    fn hello_bytes() -> Vec<u8> {
        [
            &b"d7:account20:"[..],
            b"\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa",
            b"10:collective20:",
            b"\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc",
            b"8:msg_typei0e",
            b"7:session32:",
            b"UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU",
            b"e",
        ]
        .concat()
    }

    fn receipt_bytes(bytes: &[u8], signature: &[u8]) -> Vec<u8> {
        let mut out = b"d5:bytesi".to_vec();
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"e8:msg_typei1e9:signature");
        out.extend_from_slice(format!("{}:", signature.len()).as_bytes());
        out.extend_from_slice(signature);
        out.push(b'e');
        out
    }

    #[test]
    fn hello_encodes_to_the_documented_bytes() {
        let bytes = hello().encode();
        assert_eq!(bytes, hello_bytes());
        assert_eq!(bytes.len(), 13 + 20 + 16 + 20 + 13 + 12 + 32 + 1);
        assert_eq!(ReceiptMessage::decode(&bytes), Ok(hello()));
    }

    #[test]
    fn receipt_encodes_to_the_documented_bytes() {
        let receipt = ReceiptMessage::Receipt {
            bytes: 209_715_200,
            signature: SIGNATURE,
        };
        let expected: &[u8] = b"d5:bytesi209715200e8:msg_typei1e9:signature65:\
            ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZe";
        assert_eq!(receipt.encode(), expected);
        assert_eq!(ReceiptMessage::decode(expected), Ok(receipt));

        let zero = ReceiptMessage::Receipt {
            bytes: 0,
            signature: SIGNATURE,
        };
        assert_eq!(zero.encode(), receipt_bytes(b"0", &SIGNATURE));
        let max = ReceiptMessage::Receipt {
            bytes: i64::MAX as u64,
            signature: SIGNATURE,
        };
        assert_eq!(
            max.encode(),
            receipt_bytes(b"9223372036854775807", &SIGNATURE)
        );
        assert_eq!(ReceiptMessage::decode(&max.encode()), Ok(max));
    }

    #[test]
    fn unknown_encodes_as_its_type_alone() {
        let unknown = ReceiptMessage::Unknown { msg_type: 7 };
        assert_eq!(unknown.encode(), b"d8:msg_typei7ee");
        assert_eq!(ReceiptMessage::decode(b"d8:msg_typei7ee"), Ok(unknown));
        // Not representable in bencode; saturates rather than wrapping negative.
        assert_eq!(
            ReceiptMessage::Unknown { msg_type: u64::MAX }.encode(),
            b"d8:msg_typei9223372036854775807ee"
        );
    }

    #[test]
    fn unknown_msg_types_decode_whatever_else_they_carry() {
        for (payload, msg_type) in [
            (&b"d8:msg_typei2ee"[..], 2),
            (b"d8:msg_typei9223372036854775807ee", i64::MAX as u64),
            // Fields of types 0 and 1, with types and lengths those types would refuse.
            (
                b"d7:accounti5e5:bytes3:abc8:msg_typei3e9:signaturele4:zzzzd1:ai1eee",
                3,
            ),
        ] {
            assert_eq!(
                ReceiptMessage::decode(payload),
                Ok(ReceiptMessage::Unknown { msg_type }),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        // Still well-formed bencode, though.
        assert_eq!(
            ReceiptMessage::decode(b"d8:msg_typei2e1:xi01ee"),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 18 }))
        );
    }

    #[test]
    fn unknown_extra_keys_are_skipped() {
        // `extra` sorts before `msg_type`, `zz` after everything; both are nested values.
        let payload = [
            &b"d5:bytesi42e5:extrad1:al1:be1:bi-1ee8:msg_typei1e9:signature65:"[..],
            &SIGNATURE,
            b"2:zzli1eee",
        ]
        .concat();
        assert_eq!(
            ReceiptMessage::decode(&payload),
            Ok(ReceiptMessage::Receipt {
                bytes: 42,
                signature: SIGNATURE
            })
        );
        // A Hello's neighbours include the fields of a Receipt, which a Hello does not use.
        let mut hello = hello_bytes();
        let at = b"d7:account20:".len() + 20;
        hello.splice(at..at, b"5:bytes3:abc".iter().copied());
        assert_eq!(ReceiptMessage::decode(&hello), Ok(self::hello()));
    }

    #[test]
    fn every_missing_field_is_named() {
        let account = [&b"7:account20:"[..], &ACCOUNT].concat();
        let collective = [&b"10:collective20:"[..], &COLLECTIVE].concat();
        let session = [&b"7:session32:"[..], &SESSION].concat();
        let msg_type = b"8:msg_typei0e".to_vec();
        let parts = [
            ("account", account),
            ("collective", collective),
            ("msg_type", msg_type),
            ("session", session),
        ];
        for field in ["account", "collective", "session"] {
            let mut payload = b"d".to_vec();
            for (name, part) in &parts {
                if *name != field {
                    payload.extend_from_slice(part);
                }
            }
            payload.push(b'e');
            assert_eq!(
                ReceiptMessage::decode(&payload),
                Err(WireError::SbReceiptMissing { msg_type: 0, field }),
                "{field}"
            );
        }

        let signature = [&b"9:signature65:"[..], &SIGNATURE].concat();
        let without_bytes = [&b"d8:msg_typei1e"[..], &signature, b"e"].concat();
        assert_eq!(
            ReceiptMessage::decode(&without_bytes),
            Err(WireError::SbReceiptMissing {
                msg_type: 1,
                field: "bytes"
            })
        );
        assert_eq!(
            ReceiptMessage::decode(b"d5:bytesi1e8:msg_typei1ee"),
            Err(WireError::SbReceiptMissing {
                msg_type: 1,
                field: "signature"
            })
        );
        assert_eq!(
            ReceiptMessage::decode(b"d5:bytesi1e9:signature0:e"),
            Err(WireError::SbReceiptNoMsgType)
        );
        assert_eq!(
            ReceiptMessage::decode(b"de"),
            Err(WireError::SbReceiptNoMsgType)
        );
    }

    #[test]
    fn every_wrong_length_is_refused() {
        let hello = hello_bytes();
        // (field, offset of its length prefix in `hello_bytes()`, expected length)
        let fields = [
            ("account", 10, 20),
            ("collective", 46, 20),
            ("session", 91, 32),
        ];
        for (field, at, expected) in fields {
            let key = format!("{}:{field}", field.len());
            assert_eq!(&hello[at - key.len()..at], key.as_bytes());
            let prefix = format!("{expected}:");
            assert_eq!(&hello[at..at + prefix.len()], prefix.as_bytes(), "{field}");
            for found in [0, expected - 1, expected + 1] {
                let mut payload = hello[..at].to_vec();
                payload.extend_from_slice(format!("{found}:").as_bytes());
                payload.extend(std::iter::repeat_n(b'x', found));
                payload.extend_from_slice(&hello[at + prefix.len() + expected..]);
                assert_eq!(
                    ReceiptMessage::decode(&payload),
                    Err(WireError::SbReceiptFieldLength {
                        field,
                        expected,
                        found
                    }),
                    "{field} of {found} bytes"
                );
            }
        }
        for found in [0, 64, 66] {
            assert_eq!(
                ReceiptMessage::decode(&receipt_bytes(b"1", &vec![0; found])),
                Err(WireError::SbReceiptFieldLength {
                    field: "signature",
                    expected: 65,
                    found
                })
            );
        }
    }

    #[test]
    fn wrong_types_are_refused() {
        let as_int = ReceiptMessage::decode(b"d7:accounti1e8:msg_typei0ee");
        assert_eq!(
            as_int,
            Err(WireError::ExtensionFieldType {
                key: "sb_receipt.account".to_owned(),
                expected: "a byte string"
            })
        );
        assert_eq!(
            ReceiptMessage::decode(b"d5:bytes1:18:msg_typei1ee"),
            Err(WireError::ExtensionFieldType {
                key: "sb_receipt.bytes".to_owned(),
                expected: "an integer"
            })
        );
        assert_eq!(
            ReceiptMessage::decode(b"d8:msg_type1:0e"),
            Err(WireError::ExtensionFieldType {
                key: "sb_receipt.msg_type".to_owned(),
                expected: "an integer"
            })
        );
    }

    #[test]
    fn negative_numbers_are_refused() {
        assert_eq!(
            ReceiptMessage::decode(&receipt_bytes(b"-1", &SIGNATURE)),
            Err(WireError::ExtensionFieldRange {
                key: "sb_receipt.bytes".to_owned(),
                value: -1,
                min: 0,
                max: i64::MAX
            })
        );
        assert_eq!(
            ReceiptMessage::decode(b"d8:msg_typei-1ee"),
            Err(WireError::ExtensionFieldRange {
                key: "sb_receipt.msg_type".to_owned(),
                value: -1,
                min: 0,
                max: i64::MAX
            })
        );
        // Beyond i64::MAX is not bencode this reader accepts at all.
        assert_eq!(
            ReceiptMessage::decode(&receipt_bytes(b"9223372036854775808", &SIGNATURE)),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 9 }))
        );
    }

    #[test]
    fn non_canonical_bencode_is_refused() {
        assert_eq!(
            ReceiptMessage::decode(&receipt_bytes(b"01", &SIGNATURE)),
            Err(WireError::Bencode(BencodeError::BadNumber { offset: 9 }))
        );
        assert_eq!(
            ReceiptMessage::decode(b"d8:msg_typei2e8:msg_typei2ee"),
            Err(WireError::Bencode(BencodeError::DuplicateKey {
                offset: 14
            }))
        );
        let unsorted = [
            &b"d8:msg_typei1e5:bytesi1e9:signature65:"[..],
            &SIGNATURE,
            b"e",
        ]
        .concat();
        assert_eq!(
            ReceiptMessage::decode(&unsorted),
            Err(WireError::SbReceiptKeyOrder {
                key: "bytes".to_owned(),
                previous: "msg_type".to_owned()
            })
        );
        // Unknown keys must sit in order too.
        assert_eq!(
            ReceiptMessage::decode(b"d8:msg_typei2e1:ai0ee"),
            Err(WireError::SbReceiptKeyOrder {
                key: "a".to_owned(),
                previous: "msg_type".to_owned()
            })
        );
    }

    #[test]
    fn trailing_data_is_refused() {
        let mut payload = hello_bytes();
        let end = payload.len();
        payload.extend_from_slice(b"de");
        assert_eq!(
            ReceiptMessage::decode(&payload),
            Err(WireError::Bencode(BencodeError::TrailingBytes {
                offset: end,
                count: 2
            }))
        );
        assert_eq!(
            ReceiptMessage::decode(b"d8:msg_typei2ee\0"),
            Err(WireError::Bencode(BencodeError::TrailingBytes {
                offset: 15,
                count: 1
            }))
        );
    }

    #[test]
    fn non_dictionaries_and_truncations_are_refused() {
        for payload in [&b"i0e"[..], b"le", b"8:msg_type", b"li0ee"] {
            assert_eq!(
                ReceiptMessage::decode(payload),
                Err(WireError::SbReceiptNotDict),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert_eq!(
            ReceiptMessage::decode(b""),
            Err(WireError::Bencode(BencodeError::UnexpectedEnd {
                offset: 0
            }))
        );
        let hello = hello_bytes();
        for cut in 1..hello.len() {
            assert!(
                matches!(
                    ReceiptMessage::decode(&hello[..cut]),
                    Err(WireError::Bencode(_))
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn msg_type_matches_the_encoding() {
        for message in [
            hello(),
            ReceiptMessage::Receipt {
                bytes: 1,
                signature: SIGNATURE,
            },
            ReceiptMessage::Unknown { msg_type: 9 },
        ] {
            let expected = format!("8:msg_typei{}e", message.msg_type());
            let encoded = message.encode();
            assert!(
                encoded
                    .windows(expected.len())
                    .any(|window| window == expected.as_bytes())
            );
        }
    }
}
