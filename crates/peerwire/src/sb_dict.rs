//! What seedbank's own BEP 10 extensions (`sb_receipt`, `sb_audit`) share: each message is one
//! bencoded dictionary with an integer `msg_type`, keys sorted and canonical, unknown keys skipped
//! once checked to be well-formed, nothing after the dictionary.
//!
//! Each extension reports violations under its own [`WireError`] variants (so a dropped peer's
//! log line names the extension); a [`Dialect`] says which.

use crate::WireError;
use crate::bencode::{self, KeySet, Kind, Reader};
use crate::extension::{field_bytes, field_int};

/// One extension's name and error variants.
pub(crate) struct Dialect {
    /// The extension name; field keys in errors are `<name>.<field>`.
    pub(crate) name: &'static str,
    /// The payload is bencode but not a dictionary.
    pub(crate) not_dict: fn() -> WireError,
    /// A key out of bencode order: `(key, previous)`.
    pub(crate) key_order: fn(String, String) -> WireError,
    /// No `msg_type`.
    pub(crate) no_msg_type: fn() -> WireError,
    /// A message of a known type lacks a field: `(msg_type, field)`.
    pub(crate) missing: fn(u64, &'static str) -> WireError,
}

impl Dialect {
    /// Validates the whole payload (one dictionary, sorted unique keys, well-formed values,
    /// nothing after it) and returns its `msg_type`.
    ///
    /// The type decides which keys are fields, but `msg_type` sorts after some of them; so one
    /// pass validates the dictionary and finds the type, and [`read_fields`] then reads the fields
    /// of that type. Payloads are small (capped by `Limits::max_extended_payload`), so reading
    /// twice is cheap, and it lets both passes use the extension handshake's field helpers instead
    /// of a second set for buffered values.
    pub(crate) fn scan(&self, payload: &[u8]) -> Result<u64, WireError> {
        let mut reader = Reader::new(payload);
        if reader.kind()? != Kind::Dict {
            return Err((self.not_dict)());
        }
        reader.begin_dict()?;
        let mut seen = KeySet::default();
        let mut previous: Option<&[u8]> = None;
        let mut msg_type = None;
        while !reader.at_end()? {
            let key = reader.key(&mut seen)?;
            // Equal keys were already refused as duplicates by `KeySet`.
            if let Some(previous) = previous
                && key < previous
            {
                return Err((self.key_order)(
                    String::from_utf8_lossy(key).into_owned(),
                    String::from_utf8_lossy(previous).into_owned(),
                ));
            }
            previous = Some(key);
            if key == b"msg_type" {
                msg_type = Some(self.int(&mut reader, "msg_type", i64::MAX)?);
            } else {
                reader.skip(1)?;
            }
        }
        reader.finish()?;
        msg_type.ok_or_else(self.no_msg_type)
    }

    /// An integer field in `0..=max` that fits `T`.
    pub(crate) fn int<T: TryFrom<i64>>(
        &self,
        reader: &mut Reader<'_>,
        field: &str,
        max: i64,
    ) -> Result<T, WireError> {
        field_int(reader, &self.key(field), max)
    }

    /// A byte-string field.
    pub(crate) fn bytes<'a>(
        &self,
        reader: &mut Reader<'a>,
        field: &str,
    ) -> Result<&'a [u8], WireError> {
        field_bytes(reader, &self.key(field))
    }

    /// A field every message of `msg_type` carries.
    pub(crate) fn required<T>(
        &self,
        value: Option<T>,
        msg_type: u64,
        field: &'static str,
    ) -> Result<T, WireError> {
        value.ok_or_else(|| (self.missing)(msg_type, field))
    }

    fn key(&self, field: &str) -> String {
        format!("{}.{field}", self.name)
    }
}

/// Walks the top-level dictionary of a payload [`Dialect::scan`] accepted, handing each key's
/// value to `field`, which must consume it.
pub(crate) fn read_fields<'a>(
    payload: &'a [u8],
    mut field: impl FnMut(&'a [u8], &mut Reader<'a>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut reader = Reader::new(payload);
    reader.begin_dict()?;
    let mut seen = KeySet::default();
    while !reader.at_end()? {
        let key = reader.key(&mut seen)?;
        field(key, &mut reader)?;
    }
    Ok(())
}

/// bencode integers are signed 64-bit: values above `i64::MAX` are sent as `i64::MAX` rather
/// than wrapping negative.
pub(crate) fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Appends the `msg_type` key and value.
pub(crate) fn put_msg_type(out: &mut Vec<u8>, msg_type: u64) {
    bencode::put_bytes(out, b"msg_type");
    bencode::put_int(out, saturate(msg_type));
}
