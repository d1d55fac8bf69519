//! Fields that borrow: `&'a str`, `&'a [u8]`, `Cow<'a, str>` and `Cow<'a, [u8]>`. A handler
//! publishes the ids and text it already holds without copying them into `String`s, and
//! decoding a payload into a borrowing event points its fields into the payload's bytes,
//! as serde's borrowed `Deserialize` does. On the wire they are `string` and `bytes`.

use std::borrow::Cow;

use prost::encoding::{self, WireType};
use prost::DecodeError;

use super::{
    encode_each, encoded_len_each, invalid, merge_one, wire, DecodeContext, DecodeSingular, MapKey,
    Repeatable, Singular,
};
use crate::description::Kind;
use crate::field_value::Value;
use crate::record_key::RecordKey;

fn len_delimited_len(number: u32, len: usize) -> usize {
    encoding::key_len(number) + encoding::encoded_len_varint(len as u64) + len
}

/// Reads a string field's text where it lies in the payload.
fn borrowed_str<'de>(wire_type: WireType, buf: &mut &'de [u8]) -> Result<&'de str, DecodeError> {
    let bytes = wire::get_len_delimited(wire_type, buf)?;
    std::str::from_utf8(bytes)
        .map_err(|_| invalid("invalid string value: data is not UTF-8 encoded"))
}

/// `Singular`, `Repeatable` and `DecodeSingular` for a borrowed type, from how it is
/// seen as bytes (`$bytes`), as a value (`$value`), its default and how it is read.
macro_rules! borrowed {
    ($ty:ty, $kind:expr, $bytes:expr, $value:expr, $empty:expr, $read:expr) => {
        impl<'a> Repeatable for $ty {}

        crate::proto::implicit_field!(['a] $ty);

        impl<'a> Singular for $ty {
            const KIND: Kind = $kind;

            fn is_default(&self) -> bool {
                let bytes: for<'s> fn(&'s $ty) -> &'s [u8] = $bytes;
                bytes(self).is_empty()
            }

            fn value(&self) -> Value<'_> {
                let to_value: for<'s> fn(&'s $ty) -> Value<'s> = $value;
                to_value(self)
            }

            #[inline]
            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                let bytes: for<'s> fn(&'s $ty) -> &'s [u8] = $bytes;
                wire::put_bytes_field(number, bytes(self), buf);
            }

            fn encoded_len(&self, number: u32) -> usize {
                let bytes: for<'s> fn(&'s $ty) -> &'s [u8] = $bytes;
                len_delimited_len(number, bytes(self).len())
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                encode_each(values, number, buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                encoded_len_each(values, number)
            }
        }

        // The payload outlives the borrow, so a field can point into it.
        impl<'de: 'a, 'a> DecodeSingular<'de> for $ty {
            fn absent() -> Option<Self> {
                Some($empty)
            }

            fn merge(
                slot: &mut Option<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                _ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let read: fn(WireType, &mut &'de [u8]) -> Result<$ty, DecodeError> = $read;
                *slot = Some(read(wire_type, buf)?);
                Ok(())
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                merge_one(values, wire_type, buf, ctx)
            }
        }

        impl<'a> RecordKey for $ty {
            fn key_bytes(&self) -> Option<&[u8]> {
                let bytes: for<'s> fn(&'s $ty) -> &'s [u8] = $bytes;
                Some(bytes(self))
            }
        }
    };
}

borrowed!(
    &'a str,
    Kind::String,
    |text| text.as_bytes(),
    |text| Value::Text(text),
    "",
    borrowed_str
);
borrowed!(
    Cow<'a, str>,
    Kind::String,
    |text| text.as_bytes(),
    |text| Value::Text(text),
    Cow::Borrowed(""),
    |wire_type, buf| borrowed_str(wire_type, buf).map(Cow::Borrowed)
);
borrowed!(
    &'a [u8],
    Kind::Bytes,
    |bytes| bytes,
    |bytes| Value::Bytes(bytes),
    &[],
    wire::get_len_delimited
);
borrowed!(
    Cow<'a, [u8]>,
    Kind::Bytes,
    |bytes| bytes,
    |bytes| Value::Bytes(bytes),
    Cow::Borrowed(&[]),
    |wire_type, buf| wire::get_len_delimited(wire_type, buf).map(Cow::Borrowed)
);

impl MapKey for &str {}
impl MapKey for Cow<'_, str> {}
