//! Times and durations as `google.protobuf.Timestamp` and `google.protobuf.Duration`:
//! `SystemTime` and `Duration`, and with their features `chrono::DateTime<Utc>`,
//! `chrono::TimeDelta` and `time::OffsetDateTime`.

use std::time::{Duration, SystemTime};

use prost::encoding::{self, WireType};
use prost::DecodeError;

use super::{
    encode_each, encoded_len_each, merge_one, DecodeContext, DecodeSingular, Repeatable, Singular,
};
use crate::description::Kind;
use crate::field_value::Value;

/// A Rust type carried on the wire as a well-known protobuf message.
trait WellKnown: Sized + Copy {
    type Message: prost::Message + Default;
    const KIND: Kind;
    fn to_message(self) -> Self::Message;
    fn from_message(message: Self::Message) -> Result<Self, DecodeError>;
    fn zero() -> Self;
    fn value(self) -> Value<'static>;
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

    fn value(self) -> Value<'static> {
        Value::Timestamp(self)
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

    fn value(self) -> Value<'static> {
        Value::Duration(self)
    }
}

#[cfg(feature = "chrono")]
/// Protobuf's limits on a `Duration`'s nanoseconds.
#[cfg(feature = "chrono")]
fn valid_nanos(nanos: i32) -> bool {
    (-999_999_999..=999_999_999).contains(&nanos)
}

#[cfg(feature = "chrono")]
impl WellKnown for chrono::DateTime<chrono::Utc> {
    type Message = prost_types::Timestamp;
    const KIND: Kind = Kind::Timestamp;

    fn to_message(self) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: self.timestamp(),
            // A leap second is 1,000,000,000 nanoseconds or more in chrono; protobuf has none.
            nanos: self.timestamp_subsec_nanos().min(999_999_999) as i32,
        }
    }

    fn from_message(message: prost_types::Timestamp) -> Result<Self, DecodeError> {
        u32::try_from(message.nanos)
            .ok()
            .filter(|nanos| *nanos <= 999_999_999)
            .and_then(|nanos| chrono::DateTime::from_timestamp(message.seconds, nanos))
            .ok_or_else(|| super::invalid("timestamp out of range for chrono::DateTime"))
    }

    fn zero() -> Self {
        chrono::DateTime::UNIX_EPOCH
    }

    fn value(self) -> Value<'static> {
        Value::Timestamp(self.into())
    }
}

#[cfg(feature = "chrono")]
impl WellKnown for chrono::TimeDelta {
    type Message = prost_types::Duration;
    const KIND: Kind = Kind::Duration;

    fn to_message(self) -> prost_types::Duration {
        // chrono's seconds and subsecond nanoseconds share the sign, as protobuf's do.
        prost_types::Duration {
            seconds: self.num_seconds(),
            nanos: self.subsec_nanos(),
        }
    }

    fn from_message(message: prost_types::Duration) -> Result<Self, DecodeError> {
        let same_sign = message.seconds == 0
            || message.nanos == 0
            || (message.seconds > 0) == (message.nanos > 0);
        if !valid_nanos(message.nanos) || !same_sign {
            return Err(super::invalid("invalid duration"));
        }
        chrono::TimeDelta::try_seconds(message.seconds)
            .and_then(|seconds| {
                seconds.checked_add(&chrono::TimeDelta::nanoseconds(i64::from(message.nanos)))
            })
            .ok_or_else(|| super::invalid("duration out of range for chrono::TimeDelta"))
    }

    fn zero() -> Self {
        chrono::TimeDelta::zero()
    }

    fn value(self) -> Value<'static> {
        // The magnitude of every TimeDelta fits a std Duration.
        let magnitude = self.abs().to_std().unwrap_or(Duration::MAX);
        if self < chrono::TimeDelta::zero() {
            Value::NegativeDuration(magnitude)
        } else {
            Value::Duration(magnitude)
        }
    }
}

#[cfg(feature = "time")]
impl WellKnown for time::OffsetDateTime {
    type Message = prost_types::Timestamp;
    const KIND: Kind = Kind::Timestamp;

    // The offset is not carried: a Timestamp is an instant, read back in UTC.
    fn to_message(self) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: self.unix_timestamp(),
            nanos: self.nanosecond() as i32,
        }
    }

    fn from_message(message: prost_types::Timestamp) -> Result<Self, DecodeError> {
        if !(0..=999_999_999).contains(&message.nanos) {
            return Err(super::invalid("invalid timestamp"));
        }
        let nanos = i128::from(message.seconds) * 1_000_000_000 + i128::from(message.nanos);
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|_| super::invalid("timestamp out of range for time::OffsetDateTime"))
    }

    fn zero() -> Self {
        time::OffsetDateTime::UNIX_EPOCH
    }

    fn value(self) -> Value<'static> {
        Value::Timestamp(self.into())
    }
}

macro_rules! well_known_singular {
    ($ty:ty) => {
        impl Repeatable for $ty {}

        crate::proto::implicit_field!([] $ty);

        impl Singular for $ty {
            const KIND: Kind = <$ty as WellKnown>::KIND;

            // A message field has explicit presence: always written, so that the epoch and a
            // zero duration survive the round trip as set values.
            fn is_default(&self) -> bool {
                false
            }

            fn value(&self) -> Value<'_> {
                <$ty as WellKnown>::value(*self)
            }

            fn encode(&self, number: u32, buf: &mut Vec<u8>) {
                encoding::message::encode(number, &self.to_message(), buf);
            }

            fn encoded_len(&self, number: u32) -> usize {
                encoding::message::encoded_len(number, &self.to_message())
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut Vec<u8>) {
                encode_each(values, number, buf);
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                encoded_len_each(values, number)
            }
        }

        impl<'de> DecodeSingular<'de> for $ty {
            // Absent means a producer that predates the field: protobuf's zero value.
            fn absent() -> Option<Self> {
                Some(<$ty as WellKnown>::zero())
            }

            fn merge(
                slot: &mut Option<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                _ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                let mut message = <<$ty as WellKnown>::Message>::default();
                encoding::message::merge(wire_type, &mut message, buf, Default::default())?;
                *slot = Some(<$ty as WellKnown>::from_message(message)?);
                Ok(())
            }

            fn merge_repeated(
                values: &mut Vec<Self>,
                wire_type: WireType,
                buf: &mut &'de [u8],
                ctx: DecodeContext,
            ) -> Result<(), DecodeError> {
                merge_one(values, wire_type, buf, ctx)
            }
        }
    };
}

// Concrete impls rather than a blanket one over `WellKnown`, so that an unsupported
// field type is reported with `ProtoField`'s message instead of this private trait.
well_known_singular!(SystemTime);
well_known_singular!(Duration);
#[cfg(feature = "chrono")]
well_known_singular!(chrono::DateTime<chrono::Utc>);
#[cfg(feature = "chrono")]
well_known_singular!(chrono::TimeDelta);
#[cfg(feature = "time")]
well_known_singular!(time::OffsetDateTime);
