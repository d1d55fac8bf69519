//! What an event's payload holds, as data the derive emits: each message's fields with
//! their numbers, presence and kinds. Schema export, the warehouse loader and the decoders
//! read this one description, each in its own module.
//!
//! [`Kind`] is closed and matched exhaustively wherever it is read, so a new kind of field
//! fails to compile in every place that does not handle it yet.

use std::fmt;

/// What one value of a field is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// `bool`.
    Bool,
    /// `i8`, `i16`, `i32`: protobuf `int32`.
    Int32,
    /// `i64`: protobuf `int64`.
    Int64,
    /// `u8`, `u16`, `u32`: protobuf `uint32`.
    UInt32,
    /// `u64`: protobuf `uint64`.
    UInt64,
    /// `f32`: protobuf `float`.
    Float,
    /// `f64`: protobuf `double`.
    Double,
    /// `String`, `Box<str>`: protobuf `string`.
    String,
    /// `Vec<u8>`, `[u8; N]`: protobuf `bytes`.
    Bytes,
    /// A `#[derive(Tag)]` enum: a protobuf enum.
    Enum(&'static EnumDef),
    /// `SystemTime`, `chrono::DateTime<Utc>`, `time::OffsetDateTime`:
    /// `google.protobuf.Timestamp`.
    Timestamp,
    /// `Duration`, `chrono::TimeDelta`: `google.protobuf.Duration`.
    Duration,
    /// `uuid::Uuid`: a protobuf `string`, the canonical hyphenated lowercase text.
    Uuid,
    /// `rust_decimal::Decimal`: a protobuf `string`, the exact decimal text (`-12.50`).
    Decimal,
    /// A unit variant of a `#[derive(Message)]` enum: `google.protobuf.Empty`.
    Empty,
    /// A `#[derive(Message)]` struct or enum: a nested message.
    Message(MessageRef),
}

impl Kind {
    /// The name a `.proto` file gives this kind: `uint32`, `google.protobuf.Timestamp`,
    /// or the enum's or message's own name.
    pub fn proto_name(&self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int32 => "int32",
            Kind::Int64 => "int64",
            Kind::UInt32 => "uint32",
            Kind::UInt64 => "uint64",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::String | Kind::Uuid | Kind::Decimal => "string",
            Kind::Bytes => "bytes",
            Kind::Enum(def) => def.name,
            Kind::Timestamp => "google.protobuf.Timestamp",
            Kind::Duration => "google.protobuf.Duration",
            Kind::Empty => "google.protobuf.Empty",
            Kind::Message(message) => message.def().name,
        }
    }

    /// The file a `.proto` file imports to use this kind, for the well-known types.
    pub fn import(&self) -> Option<&'static str> {
        match self {
            Kind::Timestamp => Some("google/protobuf/timestamp.proto"),
            Kind::Duration => Some("google/protobuf/duration.proto"),
            Kind::Empty => Some("google/protobuf/empty.proto"),
            Kind::Bool
            | Kind::Int32
            | Kind::Int64
            | Kind::UInt32
            | Kind::UInt64
            | Kind::Float
            | Kind::Double
            | Kind::String
            | Kind::Uuid
            | Kind::Decimal
            | Kind::Bytes
            | Kind::Enum(_)
            | Kind::Message(_) => None,
        }
    }
}

/// A nested message's description, reached through a function so that a message can
/// contain itself (through `Option<Box<M>>` or `Vec<M>`) without a cycle in its constants.
#[derive(Clone, Copy)]
pub struct MessageRef(pub fn() -> &'static MessageDef);

impl MessageRef {
    /// The message's description.
    pub fn def(&self) -> &'static MessageDef {
        (self.0)()
    }
}

// Two references are the same message when they name the same one: function pointers
// are not reliably comparable, and a recursive message would never finish a deep compare.
impl PartialEq for MessageRef {
    fn eq(&self, other: &Self) -> bool {
        self.def().name == other.def().name
    }
}

impl fmt::Debug for MessageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageRef({})", self.def().name)
    }
}

/// A field's presence in proto3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Label {
    /// Not written when it holds the default value.
    Implicit,
    /// `optional`: written whenever it is set.
    Optional,
    /// `repeated`.
    Repeated,
    /// `map<key, value>`: the key's kind; the field's own kind is the value's.
    Map(Kind),
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

/// One field of a message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldDef {
    /// The Rust field name (or a data enum's variant name, in snake_case), used as the
    /// protobuf field name.
    pub name: &'static str,
    /// The protobuf field number.
    pub number: u32,
    /// Implicit, `optional`, `repeated` or a map.
    pub label: Label,
    /// What each value is.
    pub kind: Kind,
}

/// A protobuf message: an event's payload, a `#[derive(Message)]` struct, or a
/// `#[derive(Message)]` enum (a message holding one `oneof`).
#[derive(Debug, PartialEq)]
pub struct MessageDef {
    /// The message name (the Rust type name).
    pub name: &'static str,
    /// The fields, in declaration order.
    pub fields: &'static [FieldDef],
    /// For a `#[derive(Message)]` enum, the name of the `oneof` every field belongs to.
    pub oneof: Option<&'static str>,
    /// Field numbers of removed fields, never to be used again.
    pub reserved_numbers: &'static [u32],
    /// Names of removed fields, never to be used again.
    pub reserved_names: &'static [&'static str],
}
