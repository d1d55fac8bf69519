//! Numbers, `bool`, `String` and `Vec<u8>`: thin adapters over `prost::encoding`.

use prost::encoding::{self, DecodeContext, WireType};
use prost::DecodeError;

use super::{ProtoType, Singular};
use crate::field_value::Value;

macro_rules! scalar {
    ($ty:ty, $module:ident, $proto:literal, packed, $value:expr) => {
        scalar!(
            $ty,
            $module,
            $proto,
            encode_packed,
            encoded_len_packed,
            $value
        );
    };
    ($ty:ty, $module:ident, $proto:literal, unpacked, $value:expr) => {
        scalar!(
            $ty,
            $module,
            $proto,
            encode_repeated,
            encoded_len_repeated,
            $value
        );
    };
    ($ty:ty, $module:ident, $proto:literal, $encode_repeated:ident, $len_repeated:ident, $value:expr) => {
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

            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                encoding::$module::encode(number, self, buf);
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

scalar!(bool, bool, "bool", packed, |v| Value::Bool(*v));
scalar!(i32, int32, "int32", packed, |v| Value::Int(i64::from(*v)));
scalar!(i64, int64, "int64", packed, |v| Value::Int(*v));
scalar!(u32, uint32, "uint32", packed, |v| Value::Int(i64::from(*v)));
scalar!(u64, uint64, "uint64", packed, |v| Value::UInt(*v));
scalar!(f32, float, "float", packed, |v| Value::Float(f64::from(*v)));
scalar!(f64, double, "double", packed, |v| Value::Float(*v));
scalar!(String, string, "string", unpacked, |v| Value::Text(v));
scalar!(Vec<u8>, bytes, "bytes", unpacked, |v| Value::Bytes(v));
