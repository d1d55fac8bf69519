//! An event's fields as plain data, for consumers that store them rather than encode them:
//! the warehouse loader writes one table column per field from these values.

use std::time::{Duration, SystemTime};

/// One value of a field, by kind. Integers are widened (`i32` to `Int`, `f32` to `Float`);
/// `u64` stays unsigned because half of its range does not fit an `i64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// `bool`.
    Bool(bool),
    /// `i32`, `i64` and `u32`.
    Int(i64),
    /// `u64`.
    UInt(u64),
    /// `f32` and `f64`.
    Float(f64),
    /// `String`.
    Text(&'a str),
    /// `Vec<u8>`.
    Bytes(&'a [u8]),
    /// A `#[derive(Tag)]` enum: its tag value, e.g. `apple-pay`.
    Tag(&'static str),
    /// `SystemTime`.
    Timestamp(SystemTime),
    /// `Duration`.
    Duration(Duration),
}

/// A field's value with its presence: one value, none (`Option::None`), or a list (`Vec<T>`).
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// An implicit field, or an `Option` that is set.
    Single(Value<'a>),
    /// An `Option` that is not set.
    Null,
    /// A repeated field, in order (possibly empty).
    Repeated(Vec<Value<'a>>),
}
