//! Presence: a field is an implicit value, an `Option` (`optional`) or a `Vec` (`repeated`).

use prost::encoding::WireType;
use prost::DecodeError;

use super::{DecodeContext, Singular};
use crate::description::{Kind, Label};
use crate::field_value::FieldValue;

/// A type that can be a field of an event's protobuf payload.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an event payload",
    label = "this type has no protobuf encoding",
    note = "supported: bool, i8-i64, u8-u64, f32, f64, String, Box<str>, Vec<u8>, [u8; N], SystemTime, Duration, `#[derive(Tag)]` enums, `#[derive(Message)]` types, Box<T>, and Option<T>, Vec<T>, HashMap<K, V> or BTreeMap<K, V> of these",
    note = "`uuid::Uuid`, `chrono::DateTime<Utc>`, `chrono::TimeDelta`, `time::OffsetDateTime` and `rust_decimal::Decimal` need event-runtime's feature of the same name: `uuid`, `chrono`, `time` or `rust_decimal`",
    note = "for a type of your own, derive `Message` on it, or on a newtype around a supported type: `#[derive(Message)] struct Sku(String);`"
)]
pub trait ProtoField: Sized {
    /// Decoding state: what has been read so far.
    type Slot: Default;
    /// The presence label in the `.proto` file.
    const LABEL: Label;
    /// What each value is.
    const KIND: Kind;
    /// Writes the field, or nothing when proto3 omits it.
    fn encode(&self, number: u32, buf: &mut Vec<u8>);
    /// The length [`ProtoField::encode`] writes.
    fn encoded_len(&self, number: u32) -> usize;
    /// Reads one occurrence of the field from the wire.
    fn merge(
        slot: &mut Self::Slot,
        wire_type: WireType,
        buf: &mut &[u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>;
    /// The field's value once the whole message has been read.
    fn finish(slot: Self::Slot) -> Result<Self, DecodeError>;
    /// The value with its presence, as data.
    fn field_value(&self) -> FieldValue<'_>;
}

impl<T: Singular> ProtoField for T {
    type Slot = Option<T>;
    const LABEL: Label = Label::Implicit;
    const KIND: Kind = T::KIND;

    // Into the derived encode, as the scalar writers are: it is two checks and a write.
    #[inline]
    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        if !self.is_default() {
            Singular::encode(self, number, buf);
        }
    }

    fn encoded_len(&self, number: u32) -> usize {
        if self.is_default() {
            0
        } else {
            Singular::encoded_len(self, number)
        }
    }

    fn merge(
        slot: &mut Option<T>,
        wire_type: WireType,
        buf: &mut &[u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        T::merge(slot, wire_type, buf, ctx)
    }

    fn finish(slot: Option<T>) -> Result<Self, DecodeError> {
        slot.or_else(T::absent)
            .ok_or_else(|| super::invalid("required field is missing"))
    }

    fn field_value(&self) -> FieldValue<'_> {
        FieldValue::Single(self.value())
    }
}

impl<T: Singular> ProtoField for Option<T> {
    type Slot = Option<T>;
    const LABEL: Label = Label::Optional;
    const KIND: Kind = T::KIND;

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        if let Some(value) = self {
            value.encode(number, buf);
        }
    }

    fn encoded_len(&self, number: u32) -> usize {
        self.as_ref().map_or(0, |value| value.encoded_len(number))
    }

    fn merge(
        slot: &mut Option<T>,
        wire_type: WireType,
        buf: &mut &[u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        T::merge(slot, wire_type, buf, ctx)
    }

    fn finish(slot: Option<T>) -> Result<Self, DecodeError> {
        Ok(slot)
    }

    fn field_value(&self) -> FieldValue<'_> {
        self.as_ref()
            .map_or(FieldValue::Null, |value| FieldValue::Single(value.value()))
    }
}

/// A type that can be an element of a repeated field: every [`Singular`] but `u8`, since
/// `Vec<u8>` is protobuf `bytes`.
#[diagnostic::on_unimplemented(
    message = "`Vec<{Self}>` cannot be a field of an event payload",
    label = "a list's elements must each be one protobuf value",
    note = "protobuf has no list of lists or list of maps: wrap the inner list or map in a `#[derive(Message)]` struct and use a `Vec` of that",
    note = "`Vec<u8>` is bytes; for a list of small numbers use `Vec<u16>` or `Vec<u32>`"
)]
pub trait Repeatable: Singular {}

impl<T: Repeatable> ProtoField for Vec<T> {
    type Slot = Vec<T>;
    const LABEL: Label = Label::Repeated;
    const KIND: Kind = T::KIND;

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        T::encode_repeated(self, number, buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        T::encoded_len_repeated(self, number)
    }

    fn merge(
        slot: &mut Vec<T>,
        wire_type: WireType,
        buf: &mut &[u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        T::merge_repeated(slot, wire_type, buf, ctx)
    }

    fn finish(slot: Vec<T>) -> Result<Self, DecodeError> {
        Ok(slot)
    }

    fn field_value(&self) -> FieldValue<'_> {
        FieldValue::Repeated(self.iter().map(Singular::value).collect())
    }
}
