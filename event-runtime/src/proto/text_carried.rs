//! Types carried as a protobuf `string` of their canonical text, so that every consumer
//! reads them without a library of ours: `uuid::Uuid` (feature `uuid`) as its hyphenated
//! lowercase form, `rust_decimal::Decimal` (feature `rust_decimal`) as its exact decimal
//! text, scale kept (`12.50`).
//!
//! Neither has a protobuf default: an absent field is an error, as for a Tag enum. A field
//! added to an event later is an `Option` of these.

#[cfg(any(feature = "uuid", feature = "rust_decimal"))]
mod carried {
    use prost::encoding::{self, WireType};
    use prost::DecodeError;

    use crate::proto::wire;

    /// Writes `text` as a string field.
    pub fn encode(text: &[u8], number: u32, buf: &mut Vec<u8>) {
        wire::put_bytes_field(number, text, buf);
    }

    /// The length [`encode`] writes for text of `len` bytes.
    pub fn encoded_len(len: usize, number: u32) -> usize {
        encoding::key_len(number) + encoding::encoded_len_varint(len as u64) + len
    }

    /// Reads one string field and parses it.
    pub fn merge<T>(
        slot: &mut Option<T>,
        wire_type: WireType,
        buf: &mut &[u8],
        parse: impl FnOnce(&str) -> Result<T, DecodeError>,
    ) -> Result<(), DecodeError> {
        let mut text = String::new();
        encoding::string::merge(wire_type, &mut text, buf, Default::default())?;
        *slot = Some(parse(&text)?);
        Ok(())
    }
}

/// The `Singular` methods every text-carried type shares, around its `text` and `parse`.
#[cfg(any(feature = "uuid", feature = "rust_decimal"))]
macro_rules! text_carried {
    ($ty:ty, $kind:expr, $to_value:expr, $with_text:ident, $parse:expr) => {
        impl crate::proto::Repeatable for $ty {}

        crate::proto::implicit_field!([] $ty);

        impl crate::proto::Singular for $ty {
            const KIND: crate::description::Kind = $kind;

            fn is_default(&self) -> bool {
                false
            }

            fn value(&self) -> crate::field_value::Value<'_> {
                let to_value: fn(&$ty) -> crate::field_value::Value<'_> = $to_value;
                to_value(self)
            }

            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                $with_text(self, |text| carried::encode(text, number, buf));
            }

            fn encoded_len(&self, number: u32) -> usize {
                $with_text(self, |text| carried::encoded_len(text.len(), number))
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                crate::proto::encode_each(values, number, buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                crate::proto::encoded_len_each(values, number)
            }
        }

        impl<'de> crate::proto::DecodeSingular<'de> for $ty {
            fn absent() -> Option<Self> {
                None
            }

            fn merge(
                slot: &mut Option<Self>,
                wire_type: prost::encoding::WireType,
                buf: &mut &'de [u8],
                _ctx: crate::proto::DecodeContext,
            ) -> Result<(), prost::DecodeError> {
                carried::merge(slot, wire_type, buf, $parse)
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: prost::encoding::WireType,
                buf: &mut &'de [u8],
                ctx: crate::proto::DecodeContext,
            ) -> Result<(), prost::DecodeError> {
                crate::proto::merge_one(values, wire_type, buf, ctx)
            }
        }
    };
}

#[cfg(feature = "uuid")]
mod uuid_text {
    use super::carried;
    use crate::description::Kind;
    use crate::field_value::Value;

    /// Calls `use_text` with the hyphenated text, formatted on the stack.
    fn with_text<R>(id: &uuid::Uuid, use_text: impl FnOnce(&[u8]) -> R) -> R {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        use_text(id.hyphenated().encode_lower(&mut text).as_bytes())
    }

    text_carried!(
        uuid::Uuid,
        Kind::Uuid,
        |id| Value::Uuid(id.as_bytes()),
        with_text,
        |text| uuid::Uuid::try_parse(text).map_err(|_| crate::proto::invalid("not a UUID"))
    );

    /// The key is the UUID's 16 bytes: borrowed from the value, so a publish formats nothing.
    impl crate::record_key::RecordKey for uuid::Uuid {
        fn key_bytes(&self) -> Option<&[u8]> {
            Some(self.as_bytes())
        }
    }

    impl crate::proto::MapKey for uuid::Uuid {}
}

#[cfg(feature = "rust_decimal")]
mod decimal_text {
    use std::io::Write as _;

    use super::carried;
    use crate::description::Kind;
    use crate::field_value::Value;

    /// Calls `use_text` with the decimal text, formatted on the stack: at most 29 digits,
    /// a sign, a point and a leading zero.
    fn with_text<R>(value: &rust_decimal::Decimal, use_text: impl FnOnce(&[u8]) -> R) -> R {
        let mut text = [0u8; 48];
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        // 48 bytes hold every Decimal's text, so the write cannot run out of room.
        let _ = write!(cursor, "{value}");
        let len = cursor.position() as usize;
        use_text(&text[..len])
    }

    text_carried!(
        rust_decimal::Decimal,
        Kind::Decimal,
        |value| Value::Decimal {
            mantissa: value.mantissa(),
            scale: value.scale(),
        },
        with_text,
        |text| rust_decimal::Decimal::from_str_exact(text)
            .map_err(|_| crate::proto::invalid("not a decimal number"))
    );
}
