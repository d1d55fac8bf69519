//! Numbers, `bool`, `String` and `Vec<u8>`: written with [`super::wire`] (a publish's hot
//! path), read and measured with `prost::encoding`.

use prost::encoding::{self, DecodeContext, WireType};
use prost::DecodeError;

use super::{wire, ProtoType, Singular};
use crate::field_value::Value;

/// Calls a scalar's writer directly (a `fn` pointer would stop it being inlined), with
/// the closure's argument types taken from this signature.
#[inline(always)]
fn write<T>(writer: impl Fn(u32, &T, &mut Vec<u8>), number: u32, value: &T, buf: &mut Vec<u8>) {
    writer(number, value, buf);
}

macro_rules! scalar {
    ($ty:ty, $module:ident, $proto:literal, packed, $write:expr, $value:expr) => {
        scalar!(
            $ty,
            $module,
            $proto,
            encode_packed,
            encoded_len_packed,
            $write,
            $value
        );
    };
    ($ty:ty, $module:ident, $proto:literal, unpacked, $write:expr, $value:expr) => {
        scalar!(
            $ty,
            $module,
            $proto,
            encode_repeated,
            encoded_len_repeated,
            $write,
            $value
        );
    };
    ($ty:ty, $module:ident, $proto:literal, $encode_repeated:ident, $len_repeated:ident, $write:expr, $value:expr) => {
        impl Singular for $ty {
            fn proto_type() -> ProtoType {
                ProtoType::Scalar($proto)
            }

            fn is_default(&self) -> bool {
                *self == <$ty>::default()
            }

            fn absent() -> Option<Self> {
                Some(<$ty>::default())
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

            fn merge(
                slot: &mut Option<Self>,
                wire_type: WireType,
                buf: &mut &[u8],
                ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let mut value = <$ty>::default();
                encoding::$module::merge(wire_type, &mut value, buf, ctx)?;
                *slot = Some(value);
                Ok(())
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                encoding::$module::$encode_repeated(number, values, buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                encoding::$module::$len_repeated(number, values)
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: WireType,
                buf: &mut &[u8],
                ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                encoding::$module::merge_repeated(wire_type, values, buf, ctx)
            }
        }
    };
}

scalar!(
    bool,
    bool,
    "bool",
    packed,
    |n, v, buf| wire::put_varint_field(n, u64::from(*v), buf),
    |v| Value::Bool(*v)
);
scalar!(
    i32,
    int32,
    "int32",
    packed,
    // Negative values are sign-extended to ten bytes, as protobuf requires.
    |n, v, buf| wire::put_varint_field(n, i64::from(*v) as u64, buf),
    |v| Value::Int(i64::from(*v))
);
scalar!(
    i64,
    int64,
    "int64",
    packed,
    |n, v, buf| wire::put_varint_field(n, *v as u64, buf),
    |v| Value::Int(*v)
);
scalar!(
    u32,
    uint32,
    "uint32",
    packed,
    |n, v, buf| wire::put_varint_field(n, u64::from(*v), buf),
    |v| Value::Int(i64::from(*v))
);
scalar!(
    u64,
    uint64,
    "uint64",
    packed,
    |n, v, buf| wire::put_varint_field(n, *v, buf),
    |v| Value::UInt(*v)
);
scalar!(
    f32,
    float,
    "float",
    packed,
    |n, v, buf| wire::put_fixed_field(n, WireType::ThirtyTwoBit, &v.to_le_bytes(), buf),
    |v| Value::Float(f64::from(*v))
);
scalar!(
    f64,
    double,
    "double",
    packed,
    |n, v, buf| wire::put_fixed_field(n, WireType::SixtyFourBit, &v.to_le_bytes(), buf),
    |v| Value::Float(*v)
);
scalar!(
    String,
    string,
    "string",
    unpacked,
    |n, v, buf| wire::put_bytes_field(n, v.as_bytes(), buf),
    |v| Value::Text(v)
);
scalar!(
    Vec<u8>,
    bytes,
    "bytes",
    unpacked,
    |n, v, buf| wire::put_bytes_field(n, v, buf),
    |v| Value::Bytes(v)
);
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
