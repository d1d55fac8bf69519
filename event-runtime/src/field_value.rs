//! An event's fields as plain data, for consumers that store them rather than encode them:
//! the warehouse loader writes one table column per field from these values.

use std::time::{Duration, SystemTime};

/// One value of a field, by kind. Integers are widened (`i32` to `Int`, `f32` to `Float`);
/// `u64` stays unsigned because half of its range does not fit an `i64`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// `bool`.
    Bool(bool),
    /// `i8` to `i64`, `u8` to `u32`.
    Int(i64),
    /// `u64`.
    UInt(u64),
    /// `f32` and `f64`.
    Float(f64),
    /// `String`, `Box<str>`.
    Text(&'a str),
    /// `Vec<u8>`, `[u8; N]`.
    Bytes(&'a [u8]),
    /// A `#[derive(Tag)]` enum: its tag value, e.g. `apple-pay`.
    Tag(&'static str),
    /// `SystemTime`, `chrono::DateTime<Utc>`, `time::OffsetDateTime`.
    Timestamp(SystemTime),
    /// `Duration`, or a `chrono::TimeDelta` that is not negative.
    Duration(Duration),
    /// A negative `chrono::TimeDelta`: its magnitude.
    NegativeDuration(Duration),
    /// `uuid::Uuid`: its 16 bytes, in order.
    Uuid(&'a [u8; 16]),
    /// `rust_decimal::Decimal`: `mantissa * 10^-scale`, exactly.
    Decimal {
        /// The digits as an integer, with the sign.
        mantissa: i128,
        /// How many of the digits are after the decimal point.
        scale: u32,
    },
    /// A nested message: its fields by name, in declaration order. A `#[derive(Message)]`
    /// enum has exactly one, the variant it holds; a unit variant's own value is an
    /// empty message.
    Message(Vec<(&'static str, FieldValue<'a>)>),
}

/// A field's value with its presence: one value, none (`Option::None`), a list (`Vec<T>`)
/// or a map.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// An implicit field, or an `Option` that is set.
    Single(Value<'a>),
    /// An `Option` that is not set.
    Null,
    /// A repeated field, in order (possibly empty).
    Repeated(Vec<Value<'a>>),
    /// A map's entries as `(key, value)`, in the map's iteration order.
    Map(Vec<(Value<'a>, Value<'a>)>),
}
