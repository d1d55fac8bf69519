//! Protobuf encoding of event fields, in prost's wire format.
//!
//! Generated code never matches on field types: it calls [`ProtoField`] on each field,
//! so a type alias or a path works as well as the plain name, and an unsupported type
//! fails on that field with the trait's message. One file per field kind:
//! `scalar` (numbers, bool, string, bytes), `well_known` (timestamps and durations),
//! `tag_enum` (`#[derive(Tag)]` enums as protobuf enums), `field` (implicit, optional
//! and repeated presence around any of them).

mod field;
mod scalar;
pub mod tag_enum;
mod well_known;
mod wire;

pub use field::ProtoField;

use prost::encoding::{DecodeContext, WireType};
use prost::DecodeError;

use crate::field_value::Value;

/// How a field's type is named in a `.proto` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoType {
    /// A scalar type such as `int64` or `string`.
    Scalar(&'static str),
    /// A protobuf enum generated from a `#[derive(Tag)]` enum.
    Enum(&'static EnumDef),
    /// A message from another file, e.g. `google.protobuf.Timestamp`.
    Message {
        /// The message's full name.
        name: &'static str,
        /// The file to import for it.
        import: &'static str,
    },
}

/// A `#[derive(Tag)]` enum as a protobuf enum: value `i` is numbered `i + 1`,
/// after `<NAME>_UNSPECIFIED = 0`.
#[derive(Debug, PartialEq, Eq)]
pub struct EnumDef {
    /// The Rust (and protobuf) enum name.
    pub name: &'static str,
    /// The tag values, in declaration order.
    pub values: &'static [&'static str],
}

/// Field presence in proto3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Not written when it holds the default value.
    Implicit,
    /// `optional`: written whenever it is set.
    Optional,
    /// `repeated`.
    Repeated,
}

/// One protobuf value of a field: the element type behind implicit, `optional` and
/// `repeated` fields.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an event payload",
    label = "this type has no protobuf encoding",
    note = "supported: bool, i32, i64, u32, u64, f32, f64, String, Vec<u8>, `#[derive(Tag)]` enums, SystemTime, Duration, and `Option<T>` or `Vec<T>` of these"
)]
pub trait Singular: Sized {
    /// How the type is named in a `.proto` file.
    fn proto_type() -> ProtoType;
    /// Whether proto3 omits this value from the wire when the field is not `optional`.
    fn is_default(&self) -> bool;
    /// The value of a field that is absent from the wire, or `None` if absence is an error
    /// (a Tag enum has no default: protobuf's 0 is `UNSPECIFIED`).
    fn absent() -> Option<Self>;
    /// The value as data, for consumers that store fields rather than encode them.
    fn value(&self) -> Value<'_>;
    /// Writes the field key and the value.
    fn encode(&self, number: u32, buf: &mut Vec<u8>);
    /// The length [`Singular::encode`] writes.
    fn encoded_len(&self, number: u32) -> usize;
    /// Reads one value into `slot` (the last value on the wire wins).
    fn merge(
        slot: &mut Option<Self>,
        wire_type: WireType,
        buf: &mut &[u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>;
    /// Writes a repeated field (packed where protobuf packs).
    fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>);
    /// The length [`Singular::encode_repeated`] writes.
    fn encoded_len_repeated(values: &[Self], number: u32) -> usize;
    /// Reads one occurrence of a repeated field, packed or not.
    fn merge_repeated(
        values: &mut Vec<Self>,
        wire_type: WireType,
        buf: &mut &[u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>;
}

/// A decode error for a value prost read correctly but our types cannot hold.
///
/// prost 0.14 deprecates `DecodeError::new` without a replacement for other crates;
/// it stays available until prost 0.15, and this is the one place that calls it.
#[allow(deprecated)]
pub(crate) fn invalid(description: &'static str) -> DecodeError {
    DecodeError::new(description)
}
