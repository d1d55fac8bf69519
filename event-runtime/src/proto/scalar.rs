//! Numbers, `bool`, text, bytes and `Box<T>`: written with [`super::wire`] (a publish's hot
//! path), read and measured with `prost::encoding`.

use prost::encoding::{self, WireType};
use prost::DecodeError;

use super::{
    encode_each, encoded_len_each, invalid, merge_one, wire, DecodeContext, DecodeSingular,
    Repeatable, Singular,
};
use crate::description::Kind;
use crate::field_value::Value;

/// The context prost's scalar readers take; they read no nested messages, so ours (the
/// depth) has nothing to give them.
fn prost_ctx() -> encoding::DecodeContext {
    encoding::DecodeContext::default()
}

/// Reads one value with prost's reader (floats, text, bytes: no varint to read inline).
fn prost_read<'b, T: Default>(
    wire_type: WireType,
    buf: &mut &'b [u8],
    merge: impl FnOnce(
        WireType,
        &mut T,
        &mut &'b [u8],
        encoding::DecodeContext,
    ) -> Result<(), DecodeError>,
) -> Result<T, DecodeError> {
    let mut value = T::default();
    merge(wire_type, &mut value, buf, prost_ctx())?;
    Ok(value)
}

/// Calls a scalar's writer directly (a `fn` pointer would stop it being inlined), with
/// the closure's argument types taken from this signature.
#[inline(always)]
fn write<T>(writer: impl Fn(u32, &T, &mut Vec<u8>), number: u32, value: &T, buf: &mut Vec<u8>) {
    writer(number, value, buf);
}

macro_rules! scalar {
    ($ty:ty, $module:ident, $kind:expr, packed, $write:expr, $value:expr, $read:expr) => {
        scalar!(
            $ty,
            $module,
            $kind,
            encode_packed,
            encoded_len_packed,
            $write,
            $value,
            $read,
            prost_merge_repeated
        );
    };
    ($ty:ty, $module:ident, $kind:expr, unpacked, $write:expr, $value:expr, $read:expr) => {
        scalar!(
            $ty,
            $module,
            $kind,
            encode_repeated,
            encoded_len_repeated,
            $write,
            $value,
            $read,
            merge_one
        );
    };
    ($ty:ty, $module:ident, $kind:expr, $encode_repeated:ident, $len_repeated:ident, $write:expr, $value:expr, $read:expr, $merge_repeated:ident) => {
        impl Repeatable for $ty {}

        crate::proto::implicit_field!([] $ty);

        impl Singular for $ty {
            const KIND: Kind = $kind;

            fn is_default(&self) -> bool {
                *self == <$ty>::default()
            }

            fn value(&self) -> Value<'_> {
                let to_value: fn(&$ty) -> Value<'_> = $value;
                to_value(self)
            }

            #[inline]
            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                write::<$ty>($write, number, self, buf);
            }

            fn encoded_len(&self, number: u32) -> usize {
                encoding::$module::encoded_len(number, self)
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                encoding::$module::$encode_repeated(number, values, buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                encoding::$module::$len_repeated(number, values)
            }
        }

        impl<'de> DecodeSingular<'de> for $ty {
            fn absent() -> Option<Self> {
                Some(<$ty>::default())
            }

            fn merge(
                slot: &mut Option<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                _ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let read: fn(WireType, &mut &[u8]) -> Result<$ty, DecodeError> = $read;
                *slot = Some(read(wire_type, buf)?);
                Ok(())
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                $merge_repeated!($module, values, wire_type, buf, ctx)
            }
        }
    };
}

/// A packed-capable number list: prost reads both its packed and its unpacked form.
macro_rules! prost_merge_repeated {
    ($module:ident, $values:expr, $wire_type:expr, $buf:expr, $ctx:expr) => {{
        let _ = $ctx;
        encoding::$module::merge_repeated($wire_type, $values, $buf, prost_ctx())
    }};
}

/// Text and bytes: one value per occurrence, read as a single value is.
macro_rules! merge_one {
    ($module:ident, $values:expr, $wire_type:expr, $buf:expr, $ctx:expr) => {
        merge_one($values, $wire_type, $buf, $ctx)
    };
}

scalar!(
    bool,
    bool,
    Kind::Bool,
    packed,
    |n, v, buf| wire::put_varint_field(n, u64::from(*v), buf),
    |v| Value::Bool(*v),
    |wire_type, buf| wire::get_varint_field(wire_type, buf).map(|v| v != 0)
);
scalar!(
    i32,
    int32,
    Kind::Int32,
    packed,
    // Negative values are sign-extended to ten bytes, as protobuf requires.
    |n, v, buf| wire::put_varint_field(n, i64::from(*v) as u64, buf),
    |v| Value::Int(i64::from(*v)),
    |wire_type, buf| wire::get_varint_field(wire_type, buf).map(|v| v as i32)
);
scalar!(
    i64,
    int64,
    Kind::Int64,
    packed,
    |n, v, buf| wire::put_varint_field(n, *v as u64, buf),
    |v| Value::Int(*v),
    |wire_type, buf| wire::get_varint_field(wire_type, buf).map(|v| v as i64)
);
scalar!(
    u32,
    uint32,
    Kind::UInt32,
    packed,
    |n, v, buf| wire::put_varint_field(n, u64::from(*v), buf),
    |v| Value::Int(i64::from(*v)),
    |wire_type, buf| wire::get_varint_field(wire_type, buf).map(|v| v as u32)
);
scalar!(
    u64,
    uint64,
    Kind::UInt64,
    packed,
    |n, v, buf| wire::put_varint_field(n, *v, buf),
    |v| Value::UInt(*v),
    wire::get_varint_field
);
scalar!(
    f32,
    float,
    Kind::Float,
    packed,
    |n, v, buf| wire::put_fixed_field(n, WireType::ThirtyTwoBit, &v.to_le_bytes(), buf),
    |v| Value::Float(f64::from(*v)),
    |wire_type, buf| prost_read(wire_type, buf, encoding::float::merge)
);
scalar!(
    f64,
    double,
    Kind::Double,
    packed,
    |n, v, buf| wire::put_fixed_field(n, WireType::SixtyFourBit, &v.to_le_bytes(), buf),
    |v| Value::Float(*v),
    |wire_type, buf| prost_read(wire_type, buf, encoding::double::merge)
);
scalar!(
    String,
    string,
    Kind::String,
    unpacked,
    |n, v, buf| wire::put_bytes_field(n, v.as_bytes(), buf),
    |v| Value::Text(v),
    wire::get_string
);
scalar!(
    Vec<u8>,
    bytes,
    Kind::Bytes,
    unpacked,
    |n, v, buf| wire::put_bytes_field(n, v, buf),
    |v| Value::Bytes(v),
    |wire_type, buf| wire::get_len_delimited(wire_type, buf).map(<[u8]>::to_vec)
);
/// `u8`, `u16`, `i8` and `i16`, carried as the 32-bit protobuf integer that holds them. A
/// value out of the Rust type's range on decode is an error, never a truncation.
macro_rules! narrow {
    ($ty:ty, $wide:ty, $module:ident, $kind:expr, $error:literal) => {
        crate::proto::implicit_field!([] $ty);

        impl Singular for $ty {
            const KIND: Kind = $kind;

            fn is_default(&self) -> bool {
                *self == 0
            }

            fn value(&self) -> Value<'_> {
                Value::Int(i64::from(*self))
            }

            #[inline]
            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                // Sign-extended, as protobuf writes a negative int32.
                wire::put_varint_field(number, i64::from(*self) as u64, buf);
            }

            fn encoded_len(&self, number: u32) -> usize {
                encoding::$module::encoded_len(number, &<$wide>::from(*self))
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                wire::put_packed_varints(number, values.iter().map(|v| i64::from(*v) as u64), buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                wire::packed_varints_len(number, values.iter().map(|v| i64::from(*v) as u64))
            }
        }

        impl<'de> DecodeSingular<'de> for $ty {
            fn absent() -> Option<Self> {
                Some(0)
            }

            fn merge(
                slot: &mut Option<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                _ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let mut wide: $wide = 0;
                encoding::$module::merge(wire_type, &mut wide, buf, prost_ctx())?;
                *slot = Some(<$ty>::try_from(wide).map_err(|_| invalid($error))?);
                Ok(())
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                _ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let mut wide: Vec<$wide> = Vec::new();
                encoding::$module::merge_repeated(wire_type, &mut wide, buf, prost_ctx())?;
                for value in wide {
                    values.push(<$ty>::try_from(value).map_err(|_| invalid($error))?);
                }
                Ok(())
            }
        }
    };
}

narrow!(u8, u32, uint32, Kind::UInt32, "value out of range for u8");
impl Repeatable for u16 {}
crate::proto::implicit_field!([] Box<str>);
crate::proto::implicit_field!([const N: usize] [u8; N]);
crate::proto::implicit_field!([T: Singular] Box<T>);
impl Repeatable for i8 {}
impl Repeatable for i16 {}
impl Repeatable for Box<str> {}
impl<const N: usize> Repeatable for [u8; N] {}
impl<T: Repeatable> Repeatable for Box<T> {}
narrow!(u16, u32, uint32, Kind::UInt32, "value out of range for u16");
narrow!(i8, i32, int32, Kind::Int32, "value out of range for i8");
narrow!(i16, i32, int32, Kind::Int32, "value out of range for i16");

impl Singular for Box<str> {
    const KIND: Kind = Kind::String;

    fn is_default(&self) -> bool {
        self.is_empty()
    }

    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }

    #[inline]
    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        wire::put_bytes_field(number, self.as_bytes(), buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        encoding::key_len(number) + encoding::encoded_len_varint(self.len() as u64) + self.len()
    }

    fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
        encode_each(values, number, buf);
    }

    fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
        encoded_len_each(values, number)
    }
}

impl<'de> DecodeSingular<'de> for Box<str> {
    fn absent() -> Option<Self> {
        Some(Box::from(""))
    }

    fn merge(
        slot: &mut Option<Self>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let mut text = None;
        String::merge(&mut text, wire_type, buf, ctx)?;
        *slot = text.map(String::into_boxed_str);
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

/// A fixed number of bytes (a hash, a raw id). Always written, since no length is the
/// empty default; a payload with another length is an error.
impl<const N: usize> Singular for [u8; N] {
    const KIND: Kind = Kind::Bytes;

    fn is_default(&self) -> bool {
        N == 0
    }

    fn value(&self) -> Value<'_> {
        Value::Bytes(self)
    }

    #[inline]
    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        wire::put_bytes_field(number, self, buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        encoding::key_len(number) + encoding::encoded_len_varint(N as u64) + N
    }

    fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
        encode_each(values, number, buf);
    }

    fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
        encoded_len_each(values, number)
    }
}

impl<'de, const N: usize> DecodeSingular<'de> for [u8; N] {
    fn absent() -> Option<Self> {
        // An absent field is protobuf's empty bytes, which only fit N = 0.
        <[u8; N]>::try_from(&[][..]).ok()
    }

    fn merge(
        slot: &mut Option<Self>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        _ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let mut bytes: Vec<u8> = Vec::new();
        encoding::bytes::merge(wire_type, &mut bytes, buf, prost_ctx())?;
        let array = <[u8; N]>::try_from(bytes.as_slice())
            .map_err(|_| invalid("bytes field does not have the length of its fixed-size array"))?;
        *slot = Some(array);
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

/// `Box<T>` is `T` on the wire: the indirection a recursive message needs.
impl<T: Singular> Singular for Box<T> {
    const KIND: Kind = T::KIND;

    fn is_default(&self) -> bool {
        T::is_default(self)
    }

    fn value(&self) -> Value<'_> {
        T::value(self)
    }

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        T::encode(self, number, buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        T::encoded_len(self, number)
    }

    fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
        encode_each(values, number, buf);
    }

    fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
        encoded_len_each(values, number)
    }
}

impl<'de, T: DecodeSingular<'de>> DecodeSingular<'de> for Box<T> {
    fn absent() -> Option<Self> {
        T::absent().map(Box::new)
    }

    fn merge(
        slot: &mut Option<Self>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let mut inner = slot.take().map(|boxed| *boxed);
        let result = T::merge(&mut inner, wire_type, buf, ctx);
        *slot = inner.map(Box::new);
        result
    }

    fn merge_repeated(
        values: &mut Vec<Self>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        // A packed run of a boxed number holds several values in one occurrence.
        let mut unboxed = Vec::new();
        T::merge_repeated(&mut unboxed, wire_type, buf, ctx)?;
        values.extend(unboxed.into_iter().map(Box::new));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scalar is written exactly as prost writes it.
    fn same_as_prost<T: Singular>(values: &[T], prost_encode: fn(u32, &T, &mut Vec<u8>)) {
        for value in values {
            for number in [1, 15, 16, 536_870_911] {
                let (mut ours, mut prosts) = (Vec::new(), Vec::new());
                value.encode(number, &mut ours);
                prost_encode(number, value, &mut prosts);
                assert_eq!(ours, prosts, "field {number}");
                assert_eq!(ours.len(), value.encoded_len(number), "field {number}");
            }
        }
    }

    #[test]
    fn scalars_are_written_as_prost_writes_them() {
        same_as_prost(&[false, true], encoding::bool::encode);
        same_as_prost(
            &[0, 1, -1, 127, 128, i32::MIN, i32::MAX],
            encoding::int32::encode,
        );
        same_as_prost(
            &[0, 1, -1, 300, i64::MIN, i64::MAX],
            encoding::int64::encode,
        );
        same_as_prost(&[0, 1, 127, 128, u32::MAX], encoding::uint32::encode);
        same_as_prost(
            &[0, 1, 127, 128, 1 << 35, u64::MAX],
            encoding::uint64::encode,
        );
        same_as_prost(&[0.0, -1.5, f32::MAX, f32::NAN], encoding::float::encode);
        same_as_prost(
            &[0.0, -1.5, f64::MIN_POSITIVE, f64::INFINITY],
            encoding::double::encode,
        );
        let long = "x".repeat(300);
        same_as_prost(
            &[String::new(), "é".into(), long.clone()],
            encoding::string::encode,
        );
        same_as_prost(
            &[Vec::new(), vec![0, 255], long.into_bytes()],
            encoding::bytes::encode,
        );
    }
}
