//! `SystemTime` and `Duration` as `google.protobuf.Timestamp` and `google.protobuf.Duration`.

use std::time::{Duration, SystemTime};

use prost::encoding::{self, WireType};
use prost::DecodeError;

use super::{encode_each, encoded_len_each, merge_one, DecodeContext, Repeatable, Singular};
use crate::description::Kind;
use crate::field_value::Value;

/// A Rust type carried on the wire as a well-known protobuf message.
trait WellKnown: Sized + Copy {
    type Message: prost::Message + Default;
    const KIND: Kind;
    fn to_message(self) -> Self::Message;
    fn from_message(message: Self::Message) -> Result<Self, DecodeError>;
    fn zero() -> Self;
}

impl WellKnown for SystemTime {
    type Message = prost_types::Timestamp;
    const KIND: Kind = Kind::Timestamp;

    fn to_message(self) -> prost_types::Timestamp {
        self.into()
    }

    fn from_message(message: prost_types::Timestamp) -> Result<Self, DecodeError> {
        SystemTime::try_from(message)
            .map_err(|_| super::invalid("timestamp out of range for SystemTime"))
    }

    fn zero() -> Self {
        SystemTime::UNIX_EPOCH
    }
}

impl WellKnown for Duration {
    type Message = prost_types::Duration;
    const KIND: Kind = Kind::Duration;

    fn to_message(self) -> prost_types::Duration {
        // Only durations over 292 billion years fail; saturate rather than panic.
        prost_types::Duration::try_from(self).unwrap_or(prost_types::Duration {
            seconds: i64::MAX,
            nanos: 999_999_999,
        })
    }

    fn from_message(message: prost_types::Duration) -> Result<Self, DecodeError> {
        Duration::try_from(message).map_err(|_| super::invalid("negative or invalid duration"))
    }

    fn zero() -> Self {
        Duration::ZERO
    }
}

macro_rules! well_known_singular {
    ($ty:ty, $variant:ident) => {
        impl Repeatable for $ty {}

        impl Singular for $ty {
            const KIND: Kind = <$ty as WellKnown>::KIND;

            // A message field has explicit presence: always written, so that the epoch and a
            // zero duration survive the round trip as set values.
            fn is_default(&self) -> bool {
                false
            }

            // Absent means a producer that predates the field: protobuf's zero value.
            fn absent() -> Option<Self> {
                Some(<$ty as WellKnown>::zero())
            }

            fn value(&self) -> Value<'_> {
                Value::$variant(*self)
            }

            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                encoding::message::encode(number, &self.to_message(), buf);
            }

            fn encoded_len(&self, number: u32) -> usize {
                encoding::message::encoded_len(number, &self.to_message())
            }

            fn merge(
                slot: &mut Option<Self>,
                wire_type: WireType,
                buf: &mut &[u8],
                _ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let mut message = <<$ty as WellKnown>::Message>::default();
                encoding::message::merge(wire_type, &mut message, buf, Default::default())?;
                *slot = Some(<$ty as WellKnown>::from_message(message)?);
                Ok(())
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                encode_each(values, number, buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                encoded_len_each(values, number)
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: WireType,
                buf: &mut &[u8],
                ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                merge_one(values, wire_type, buf, ctx)
            }
        }
    };
}

// Concrete impls rather than a blanket one over `WellKnown`, so that an unsupported
// field type is reported with `ProtoField`'s message instead of this private trait.
well_known_singular!(SystemTime, Timestamp);
well_known_singular!(Duration, Duration);
