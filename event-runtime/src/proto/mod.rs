//! Protobuf encoding of event fields, in prost's wire format.
//!
//! Generated code never matches on field types: it calls [`ProtoField`] on each field,
//! so a type alias or a path works as well as the plain name, and an unsupported type
//! fails on that field with the trait's message. One file per field kind:
//! `scalar` (numbers, bool, text, bytes, `Box`), `well_known` (timestamps and durations),
//! `tag_enum` (`#[derive(Tag)]` enums as protobuf enums), `message` (`#[derive(Message)]`
//! types as nested messages), `field` (implicit, optional and repeated presence around any
//! of them) and `map` (`HashMap` and `BTreeMap`).

mod borrowed;
pub(crate) mod field;
mod map;
pub mod message;
mod scalar;
pub mod tag_enum;
mod text_carried;
mod well_known;
pub(crate) mod wire;

pub(crate) use field::implicit_field;
pub use field::{
    FieldDecoder, ImplicitDecoder, OptionalDecoder, ProtoField, Repeatable, RepeatedDecoder,
};
pub use map::{MapDecoder, MapKey};
pub use message::{DecodeMessage, DecodeOwned, Message};

use prost::encoding::WireType;
use prost::DecodeError;

use crate::description::Kind;
use crate::field_value::Value;

/// How deep nested messages may go while decoding, as prost's default limit.
const RECURSION_LIMIT: u32 = 100;

/// Decoding state carried into nested messages: how deep the reader is, so that a
/// hostile payload of a recursive message cannot overflow the stack.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeContext {
    depth: u32,
}

impl DecodeContext {
    /// The context one message deeper, or an error past the limit.
    pub fn enter(self) -> Result<DecodeContext, DecodeError> {
        if self.depth >= RECURSION_LIMIT {
            return Err(invalid("messages nested too deeply"));
        }
        Ok(DecodeContext {
            depth: self.depth + 1,
        })
    }
}

/// One protobuf value of a field: the element type behind implicit, `optional`,
/// `repeated` and map fields.
///
/// Implemented for the supported scalars and well-known types, and by
/// `#[derive(Tag)]` and `#[derive(Message)]`. To carry a type of your own, wrap it in a
/// newtype that derives `Message` (`struct Sku(String);`), or give it a named-field
/// struct that does.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an event payload",
    label = "this type has no protobuf encoding",
    note = "supported: bool, i8-i64, u8-u64, f32, f64, String, Box<str>, &str, Cow<str>, Vec<u8>, &[u8], Cow<[u8]>, [u8; N], SystemTime, Duration, `#[derive(Tag)]` enums, `#[derive(Message)]` types, Box<T>, and Option<T>, Vec<T>, HashMap<K, V> or BTreeMap<K, V> of these",
    note = "`uuid::Uuid`, `chrono::DateTime<Utc>`, `chrono::TimeDelta`, `time::OffsetDateTime` and `rust_decimal::Decimal` need event-runtime's feature of the same name: `uuid`, `chrono`, `time` or `rust_decimal`",
    note = "for a type of your own, derive `Message` on it, or on a newtype around a supported type: `#[derive(Message)] struct Sku(String);`"
)]
pub trait Singular: Sized {
    /// What the value is, for the schema and the warehouse.
    const KIND: Kind;
    /// Whether proto3 omits this value from the wire when the field is not `optional`.
    fn is_default(&self) -> bool;
    /// The value as data, for consumers that store fields rather than encode them.
    fn value(&self) -> Value<'_>;
    /// Writes the field key and the value.
    fn encode(&self, number: u32, buf: &mut Vec<u8>);
    /// The length [`Singular::encode`] writes.
    fn encoded_len(&self, number: u32) -> usize;
    /// Writes a repeated field (packed where protobuf packs).
    fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>);
    /// The length [`Singular::encode_repeated`] writes.
    fn encoded_len_repeated(values: &[Self], number: u32) -> usize;
}

/// Reading a [`Singular`] back from a payload whose bytes live for `'de`: owned types read
/// from any payload, and borrowed ones (`&'a str`, `Cow<'a, [u8]>`) point into it, as
/// serde's `Deserialize<'de>` does.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an event payload",
    label = "this type has no protobuf encoding",
    note = "supported: bool, i8-i64, u8-u64, f32, f64, String, Box<str>, &str, Cow<str>, Vec<u8>, &[u8], Cow<[u8]>, [u8; N], SystemTime, Duration, `#[derive(Tag)]` enums, `#[derive(Message)]` types, Box<T>, and Option<T>, Vec<T>, HashMap<K, V> or BTreeMap<K, V> of these",
    note = "`uuid::Uuid`, `chrono::DateTime<Utc>`, `chrono::TimeDelta`, `time::OffsetDateTime` and `rust_decimal::Decimal` need event-runtime's feature of the same name: `uuid`, `chrono`, `time` or `rust_decimal`",
    note = "for a type of your own, derive `Message` on it, or on a newtype around a supported type: `#[derive(Message)] struct Sku(String);`"
)]
pub trait DecodeSingular<'de>: Singular {
    /// The value of a field that is absent from the wire, or `None` if absence is an error
    /// (a Tag enum has no default: protobuf's 0 is `UNSPECIFIED`).
    fn absent() -> Option<Self>;
    /// Reads one value into `slot` (the last value on the wire wins).
    fn merge(
        slot: &mut Option<Self>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>;
    /// Reads one occurrence of a repeated field, packed or not.
    fn merge_repeated(
        values: &mut Vec<Self>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>;
}

/// Writes each value as its own field: the repeated form of a type protobuf does not pack
/// (text, bytes, messages).
pub(crate) fn encode_each<T: Singular>(values: &[T], number: u32, buf: &mut Vec<u8>) {
    for value in values {
        value.encode(number, buf);
    }
}

pub(crate) fn encoded_len_each<T: Singular>(values: &[T], number: u32) -> usize {
    values.iter().map(|value| value.encoded_len(number)).sum()
}

/// Reads one occurrence of a repeated length-delimited field.
pub(crate) fn merge_one<'de, T: DecodeSingular<'de>>(
    values: &mut Vec<T>,
    wire_type: WireType,
    buf: &mut &'de [u8],
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let mut slot = None;
    T::merge(&mut slot, wire_type, buf, ctx)?;
    values.extend(slot);
    Ok(())
}

/// A decode error for a value prost read correctly but our types cannot hold.
///
/// prost 0.14 deprecates `DecodeError::new` without a replacement for other crates;
/// it stays available until prost 0.15, and this is the one place that calls it.
#[allow(deprecated)]
pub(crate) fn invalid(description: &'static str) -> DecodeError {
    DecodeError::new(description)
}
