//! Presence: a field is an implicit value, an `Option` (`optional`) or a `Vec` (`repeated`).

use std::marker::PhantomData;

use prost::encoding::WireType;
use prost::DecodeError;

use super::{DecodeContext, DecodeSingular, Singular};
use crate::description::{Kind, Label};
use crate::field_value::FieldValue;

/// A type that can be a field of an event's protobuf payload.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an event payload",
    label = "this type has no protobuf encoding",
    note = "supported: bool, i8-i64, u8-u64, f32, f64, String, Box<str>, &str, Cow<str>, Vec<u8>, &[u8], Cow<[u8]>, [u8; N], SystemTime, Duration, `#[derive(Tag)]` enums, `#[derive(Message)]` types, Box<T>, and Option<T>, Vec<T>, HashMap<K, V> or BTreeMap<K, V> of these",
    note = "`uuid::Uuid`, `chrono::DateTime<Utc>`, `chrono::TimeDelta`, `time::OffsetDateTime` and `rust_decimal::Decimal` need event-runtime's feature of the same name: `uuid`, `chrono`, `time` or `rust_decimal`",
    note = "for a type of your own, derive `Message` on it, or on a newtype around a supported type: `#[derive(Message)] struct Sku(String);`"
)]
pub trait ProtoField: Sized {
    /// The presence label in the `.proto` file.
    const LABEL: Label;
    /// What each value is.
    const KIND: Kind;
    /// How the field is read back: a [`FieldDecoder`] for `Self`. Named here rather than
    /// required as a trait of its own, so that a type that cannot be a field is reported
    /// once, as not a `ProtoField`, and not again for each way it is read.
    type Decoder;
    /// Writes the field, or nothing when proto3 omits it.
    fn encode(&self, number: u32, buf: &mut Vec<u8>);
    /// The length [`ProtoField::encode`] writes.
    fn encoded_len(&self, number: u32) -> usize;
    /// The value with its presence, as data.
    fn field_value(&self) -> FieldValue<'_>;
}

/// Reads a field of type `T` back from a payload whose bytes live for `'de`: a borrowed
/// field (`&'a str`) is read when `'de` outlives its lifetime, and points into the payload.
pub trait FieldDecoder<'de, T> {
    /// Decoding state: what has been read so far.
    type Slot: Default;
    /// Reads one occurrence of the field from the wire.
    fn merge(
        slot: &mut Self::Slot,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError>;
    /// The field's value once the whole message has been read.
    fn finish(slot: Self::Slot) -> Result<T, DecodeError>;
}

/// The decoder of an implicit field: one value, its default when absent.
pub struct ImplicitDecoder;

/// The decoder of an `Option` field. Named after its element's decoder, so that an
/// element type that cannot be a field leaves this one unnamed rather than reported again.
pub struct OptionalDecoder<D>(PhantomData<D>);

/// The decoder of a `Vec` field, named after its element's as [`OptionalDecoder`] is.
pub struct RepeatedDecoder<D>(PhantomData<D>);

/// The implicit field of one value, which every [`Singular`] type is: its own
/// `ProtoField` impl, made by `implicit_field!` here and by the derives, rather than one
/// blanket impl over `Singular`. With a blanket impl, any type at all would match it, and
/// a type that cannot be a field would be reported once per trait the derived code needs
/// of it; without one, it matches nothing and is reported once.
pub mod implicit {
    use super::{FieldValue, Singular};

    /// Writes the value unless proto3 omits it (it is the default).
    #[inline]
    pub fn encode<T: Singular>(value: &T, number: u32, buf: &mut Vec<u8>) {
        if !value.is_default() {
            value.encode(number, buf);
        }
    }

    /// The length [`encode`] writes.
    pub fn encoded_len<T: Singular>(value: &T, number: u32) -> usize {
        if value.is_default() {
            0
        } else {
            value.encoded_len(number)
        }
    }

    /// The value as data.
    pub fn field_value<T: Singular>(value: &T) -> FieldValue<'_> {
        FieldValue::Single(value.value())
    }
}

/// `ProtoField` for a [`Singular`] type used as a plain field.
macro_rules! implicit_field {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> $crate::proto::ProtoField for $ty {
            const LABEL: $crate::description::Label = $crate::description::Label::Implicit;
            const KIND: $crate::description::Kind = <$ty as $crate::proto::Singular>::KIND;
            type Decoder = $crate::proto::ImplicitDecoder;

            // Into the derived encode, as the scalar writers are: two checks and a write.
            #[inline]
            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                $crate::proto::field::implicit::encode(self, number, buf)
            }

            fn encoded_len(&self, number: u32) -> usize {
                $crate::proto::field::implicit::encoded_len(self, number)
            }

            fn field_value(&self) -> $crate::field_value::FieldValue<'_> {
                $crate::proto::field::implicit::field_value(self)
            }
        }
    };
}
pub(crate) use implicit_field;

impl<'de, T: DecodeSingular<'de>> FieldDecoder<'de, T> for ImplicitDecoder {
    type Slot = Option<T>;

    #[inline]
    fn merge(
        slot: &mut Option<T>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        T::merge(slot, wire_type, buf, ctx)
    }

    #[inline]
    fn finish(slot: Option<T>) -> Result<T, DecodeError> {
        slot.or_else(T::absent)
            .ok_or_else(|| super::invalid("required field is missing"))
    }
}

impl<T: Singular + ProtoField> ProtoField for Option<T> {
    const LABEL: Label = Label::Optional;
    type Decoder = OptionalDecoder<T::Decoder>;
    const KIND: Kind = <T as Singular>::KIND;

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        if let Some(value) = self {
            Singular::encode(value, number, buf);
        }
    }

    fn encoded_len(&self, number: u32) -> usize {
        self.as_ref()
            .map_or(0, |value| Singular::encoded_len(value, number))
    }

    fn field_value(&self) -> FieldValue<'_> {
        self.as_ref()
            .map_or(FieldValue::Null, |value| FieldValue::Single(value.value()))
    }
}

impl<'de, T: DecodeSingular<'de>, D> FieldDecoder<'de, Option<T>> for OptionalDecoder<D> {
    type Slot = Option<T>;

    #[inline]
    fn merge(
        slot: &mut Option<T>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        T::merge(slot, wire_type, buf, ctx)
    }

    #[inline]
    fn finish(slot: Option<T>) -> Result<Option<T>, DecodeError> {
        Ok(slot)
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

impl<T: Repeatable + ProtoField> ProtoField for Vec<T> {
    const LABEL: Label = Label::Repeated;
    type Decoder = RepeatedDecoder<T::Decoder>;
    const KIND: Kind = <T as Singular>::KIND;

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        T::encode_repeated(self, number, buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        T::encoded_len_repeated(self, number)
    }

    fn field_value(&self) -> FieldValue<'_> {
        FieldValue::Repeated(self.iter().map(Singular::value).collect())
    }
}

impl<'de, T: Repeatable + DecodeSingular<'de>, D> FieldDecoder<'de, Vec<T>> for RepeatedDecoder<D> {
    type Slot = Vec<T>;

    #[inline]
    fn merge(
        slot: &mut Vec<T>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        T::merge_repeated(slot, wire_type, buf, ctx)
    }

    #[inline]
    fn finish(slot: Vec<T>) -> Result<Vec<T>, DecodeError> {
        Ok(slot)
    }
}
