//! Numbers, `bool`, `String` and `Vec<u8>`: thin adapters over `prost::encoding`.

use prost::encoding::{self, DecodeContext, WireType};
use prost::DecodeError;

use super::{ProtoType, Singular};

macro_rules! scalar {
    ($ty:ty, $module:ident, $proto:literal, packed) => {
        scalar!($ty, $module, $proto, encode_packed, encoded_len_packed);
    };
    ($ty:ty, $module:ident, $proto:literal, unpacked) => {
        scalar!($ty, $module, $proto, encode_repeated, encoded_len_repeated);
    };
    ($ty:ty, $module:ident, $proto:literal, $encode_repeated:ident, $len_repeated:ident) => {
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

scalar!(bool, bool, "bool", packed);
scalar!(i32, int32, "int32", packed);
scalar!(i64, int64, "int64", packed);
scalar!(u32, uint32, "uint32", packed);
scalar!(u64, uint64, "uint64", packed);
scalar!(f32, float, "float", packed);
scalar!(f64, double, "double", packed);
scalar!(String, string, "string", unpacked);
scalar!(Vec<u8>, bytes, "bytes", unpacked);
