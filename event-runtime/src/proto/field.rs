//! Presence: a field is an implicit value, an `Option` (`optional`) or a `Vec` (`repeated`).

use prost::encoding::{DecodeContext, WireType};
use prost::DecodeError;

use super::{Label, ProtoType, Singular};
use crate::field_value::FieldValue;

/// A type that can be a field of an event's protobuf payload.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an event payload",
    label = "this type has no protobuf encoding",
    note = "supported: bool, i32, i64, u32, u64, f32, f64, String, Vec<u8>, `#[derive(Tag)]` enums, SystemTime, Duration, and `Option<T>` or `Vec<T>` of these"
)]
pub trait ProtoField: Sized {
    /// Decoding state: what has been read so far.
    type Slot: Default;
    /// The presence label in the `.proto` file.
    const LABEL: Label;
    /// The element type's name in the `.proto` file.
    fn proto_type() -> ProtoType;
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

    fn proto_type() -> ProtoType {
        T::proto_type()
    }

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

    fn proto_type() -> ProtoType {
        T::proto_type()
    }

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

impl<T: Singular> ProtoField for Vec<T> {
    type Slot = Vec<T>;
    const LABEL: Label = Label::Repeated;

    fn proto_type() -> ProtoType {
        T::proto_type()
    }

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
