//! What generated code calls. Not part of the public API: it changes with the derive,
//! which is why the runtime pins `event-derive` to an exact version.

pub use core::option::Option;
pub use core::result::Result;
pub use std::string::String;
pub use std::vec::Vec;

pub use prost::encoding::WireType;
pub use prost::DecodeError;

pub use crate::description::{EnumDef, FieldDef, Kind, Label, MessageDef, MessageRef};
pub use crate::field_value::{FieldValue, Value};
pub use crate::metric::{MetricKind, MetricNumber, MetricValue, ValueMetric};
pub use crate::proto::field::implicit;
pub use crate::proto::ImplicitDecoder;
pub use crate::proto::{
    message, tag_enum, DecodeContext, DecodeMessage, DecodeSingular, FieldDecoder, Message,
    ProtoField, Repeatable, Singular,
};
pub use core::any::TypeId;

mod const_message;
mod decode;

pub use crate::record_key::RecordKey;
pub use const_message::ConstMessage;
pub use decode::{decode_failed, decode_fields, finish_field, merge_field};

/// The value of tag `T` at `index`, or `""` past the last. A function rather than a closure
/// in the derived code, which would be compiled once per tag of every event type.
pub fn tag_value_at<T: crate::Tag>(index: usize) -> &'static str {
    T::from_index(index).map_or("", |value| value.value())
}

/// Splits the last digit off `rest` in base `radix` (a tag's cardinality): `(digit, rest)`.
/// A function rather than `%` and `/` in the derived code, where a one-variant tag's
/// constant radix would trip lints such as `clippy::modulo_one` in the user's crate.
pub fn split_digit(rest: usize, radix: usize) -> (usize, usize) {
    (rest % radix, rest / radix)
}

/// `a * b`, saturating: a `SERIES` that overflows is over any budget anyway.
pub const fn series_product(a: usize, b: usize) -> usize {
    a.saturating_mul(b)
}
