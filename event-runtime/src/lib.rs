//! Publish one business event to DogStatsD and Kafka with one call.
//!
//! A struct marked `#[derive(Event)]` is sent two ways by [`Dispatcher::publish`]:
//!
//! - **DogStatsD** gets a counter named after the event, tagged with only the fields
//!   marked `#[event(tag)]`, whose types must implement [`Tag`] (bounded value sets);
//!   plus one value metric per field marked `#[event(metric = "...")]`.
//! - **Kafka** gets every field as a protobuf payload, keyed by the `#[event(key)]` field,
//!   with the event name, a UUIDv7 event id, the schema name and the content type as headers.
//!
//! ```
//! use event_runtime::{Dispatcher, Event, RecordingSink, Tag};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Market { Uk, Fr, It }
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Platform { Android, Ios, Web }
//!
//! #[derive(Event, Clone, Debug, PartialEq)]
//! #[event(name = "payment.attempted", topic = "payments")]
//! struct PaymentAttempted {
//!     #[event(key)]
//!     order_id: String,
//!     user_id: String,
//!     #[event(tag)]
//!     market: Market,
//!     #[event(tag)]
//!     platform: Platform,
//!     #[event(tag)]
//!     first_order: bool,
//!     #[event(metric = "distribution")]
//!     amount_pence: u64,
//! }
//!
//! let recording = RecordingSink::new();
//! let events = Dispatcher::builder().recording(&recording).build()?;
//! let attempt = PaymentAttempted {
//!     order_id: "o-1".into(),
//!     user_id: "u-42".into(),
//!     market: Market::Uk,
//!     platform: Platform::Ios,
//!     first_order: true,
//!     amount_pence: 1250,
//! };
//! events.publish(&attempt);
//! events.publish(&PaymentAttempted { amount_pence: 990, ..attempt.clone() });
//! // Metrics are aggregated in process and sent every 10 s and at shutdown: the counter
//! // as a total, the distribution's samples as one multi-value line.
//! events.shutdown(std::time::Duration::from_secs(1))?;
//!
//! assert_eq!(recording.statsd_lines(), [
//!     "payment.attempted:2|c|#market:uk,platform:ios,first_order:true",
//!     "payment.attempted.amount_pence:1250:990|d|#market:uk,platform:ios,first_order:true",
//! ]);
//! assert_eq!(recording.events::<PaymentAttempted>().len(), 2);
//! assert_eq!(recording.events::<PaymentAttempted>()[0], attempt);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Attributes
//!
//! | Attribute | Where | Meaning |
//! | --- | --- | --- |
//! | `name = "a.b"` | struct | metric and event name; default: the snake_case struct name |
//! | `topic = "t"` | struct | Kafka topic (required) |
//! | `max_series = N` | struct | metric series budget, default 1000; over it is a compile error |
//! | `sample_rate = 0.1` | struct | fraction of counter increments sent when not aggregating |
//! | `reserved(7, "coupon")` | struct, `Message` type | numbers and names of removed fields, never used again |
//! | `key` | field | the Kafka record key (`String`, `Vec<u8>`, an `Option` of these, or a newtype around one); at most one |
//! | `tag`, `tag = "k"` | field | a DogStatsD tag (type must implement [`Tag`]) and a payload field |
//! | `metric = "kind"` | field | a value metric `<name>.<field>`: `count`, `gauge`, `histogram`, `distribution`, `timing` |
//! | `id = N` | field, variant | pins the protobuf field number (default: one more than the previous field's) |
//!
//! `#[derive(Tag)]` accepts `#[tag(rename = "value")]` on a variant.
//!
//! # Payloads
//!
//! Everything in an event reaches Kafka, and real events are not flat.
//! `#[derive(Message)]` makes a type usable as a field, as `Option<M>`, `Vec<M>` or a map
//! value, at any depth:
//!
//! | Shape | Becomes |
//! | --- | --- |
//! | struct with named fields | a nested message; `#[event(id = N)]` and `#[event(reserved(...))]` work as on events |
//! | enum whose variants carry data | a message holding one `oneof`, named after the enum in snake_case; a one-value variant is a member of that type, a struct variant a nested message `<Enum><Variant>`, a unit variant `google.protobuf.Empty`. A plain field must hold a variant (decoding one with none set is an error); `Option<E>` may hold none |
//! | one-field tuple struct (`struct UserId(String);`) | transparent: encoded as its inner type; a key, a tag or a map key when the inner type is one |
//!
//! The field types, and their protobuf types:
//!
//! | Rust | Protobuf |
//! | --- | --- |
//! | `bool` | `bool` |
//! | `i8`, `i16`, `i32` / `i64` | `int32` / `int64` (a value out of the Rust type's range fails to decode) |
//! | `u8`, `u16`, `u32` / `u64` | `uint32` / `uint64` |
//! | `f32` / `f64` | `float` / `double` |
//! | `String`, `Box<str>`, `&'a str`, `Cow<'a, str>` | `string` |
//! | `Vec<u8>`, `[u8; N]`, `&'a [u8]`, `Cow<'a, [u8]>` | `bytes` (an array's length is checked on decode) |
//! | `SystemTime` / `Duration` | `google.protobuf.Timestamp` / `google.protobuf.Duration` |
//! | `chrono::DateTime<Utc>`, `time::OffsetDateTime` (features `chrono`, `time`) | `google.protobuf.Timestamp` (an instant: the offset is not kept) |
//! | `chrono::TimeDelta` (feature `chrono`) | `google.protobuf.Duration`, negative ones too |
//! | `uuid::Uuid` (feature `uuid`) | `string`, the hyphenated lowercase text; as the key, its 16 bytes |
//! | `rust_decimal::Decimal` (feature `rust_decimal`) | `string`, the exact decimal text with its scale (`-12.50`) |
//! | `#[derive(Tag)]` enum | an enum, nested in the event's message |
//! | `#[derive(Message)]` type | a message, nested in the event's message |
//! | `Box<T>` | `T` (the indirection a recursive message needs) |
//! | `Option<T>` | `optional T` |
//! | `Vec<T>` | `repeated T` (not of `u8`, which is `bytes`; no list of lists or maps) |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | `map<K, V>`, `K` text, an integer or `bool` |
//!
//! Only the event's own fields of bounded types can be tags or metrics: a message, a map
//! or a list never can, and `tag`, `metric` or `key` inside a `#[derive(Message)]` type is a
//! compile error.
//!
//! ```
//! use std::collections::HashMap;
//! use event_runtime::{Event, Message, Tag};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Market { Uk, Fr }
//!
//! #[derive(Message, Clone, Debug, PartialEq)]
//! struct OrderId(String);
//!
//! #[derive(Message, Clone, Debug, PartialEq)]
//! struct LineItem { sku: String, quantity: u16, price_pence: u64 }
//!
//! #[derive(Message, Clone, Debug, PartialEq)]
//! enum PaymentMethod { Card { last4: String }, Wallet(String), Cash }
//!
//! #[derive(Event, Clone, Debug, PartialEq)]
//! #[event(name = "order.placed", topic = "orders")]
//! struct OrderPlaced {
//!     #[event(key)]
//!     order_id: OrderId,
//!     #[event(tag)]
//!     market: Market,
//!     items: Vec<LineItem>,
//!     payment: PaymentMethod,
//!     attributes: HashMap<String, String>,
//! }
//!
//! let order = OrderPlaced {
//!     order_id: OrderId("o-1".into()),
//!     market: Market::Uk,
//!     items: vec![LineItem { sku: "pizza".into(), quantity: 2, price_pence: 1099 }],
//!     payment: PaymentMethod::Card { last4: "4242".into() },
//!     attributes: HashMap::from([("utm_source".into(), "newsletter".into())]),
//! };
//! assert_eq!(order.key(), Some(&b"o-1"[..]));
//! let mut payload = Vec::new();
//! order.encode(&mut payload);
//! assert_eq!(OrderPlaced::decode(&payload)?, order);
//! let schema = OrderPlaced::proto_schema();
//! assert!(schema.contains("  message LineItem {\n    string sku = 1;\n    uint32 quantity = 2;"));
//! assert!(schema.contains("    oneof payment_method {\n      PaymentMethodCard card = 1;"));
//! assert!(schema.contains("  map<string, string> attributes = 5;"));
//! # Ok::<(), event_runtime::DecodeError>(())
//! ```
//!
//! A type the table does not list has no encoding of its own: derive `Message` on a
//! newtype around a supported type (`struct Sku(String);`), or on a struct of its parts.
//! (Implementing [`Singular`] and [`DecodeSingular`] by hand is possible too, but a
//! newtype keeps the wire format one the derive vouches for.)
//!
//! ## Borrowed events
//!
//! An event or message may borrow its text and bytes (`&'a str`, `&'a [u8]`, `Cow<'a, _>`)
//! from what the handler already holds: building and publishing it copies nothing, and
//! `decode` reads it back with every such field pointing into the payload, as serde's
//! borrowed `Deserialize` does. Readers that keep what they decode (the recording sink's
//! `events`, the warehouse loader) take events that own their fields ([`DecodeOwned`]).
//!
//! ```
//! use event_runtime::{Event, Message, Tag};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Market { Uk, Fr }
//!
//! #[derive(Message, Debug, PartialEq)]
//! struct Address<'a> { street: &'a str, postcode: &'a str }
//!
//! #[derive(Event, Debug, PartialEq)]
//! #[event(name = "order.placed", topic = "orders")]
//! struct OrderPlaced<'a> {
//!     #[event(key)]
//!     order_id: &'a str,
//!     #[event(tag)]
//!     market: Market,
//!     delivery: Address<'a>,
//! }
//!
//! let request = String::from("o-1|1 Rue de Rivoli|75001");
//! let parts: Vec<&str> = request.split('|').collect();
//! let order = OrderPlaced {
//!     order_id: parts[0],
//!     market: Market::Fr,
//!     delivery: Address { street: parts[1], postcode: parts[2] },
//! };
//! let mut payload = Vec::new();
//! order.encode(&mut payload);
//! let read = OrderPlaced::decode(&payload)?;
//! assert_eq!(read, order);
//! // The decoded text is a view of the payload, not a copy.
//! assert!(payload.as_ptr_range().contains(&read.delivery.street.as_ptr()));
//! # Ok::<(), event_runtime::DecodeError>(())
//! ```

// Two places may use `unsafe`: the allocation-free Kafka enqueue (records/kafka/produce.rs)
// and the unchecked text of an event id (`HyphenatedId::as_str`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod confluent;
#[cfg(any(feature = "kafka", feature = "statsd"))]
mod counters;
mod description;
mod dispatcher;
mod error;
mod event;
mod field_value;
mod global;
mod metric;
mod metrics;
mod once_map;
mod proto;
mod record_key;
mod recording;
mod records;
pub mod redaction;
mod report;
pub mod schema;
mod sink;
mod tag;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

pub use dispatcher::{Dispatcher, DispatcherBuilder};
pub use error::{BuildError, SinkCause, Undelivered};
pub use event::Event;
pub use field_value::{FieldValue, Value};
pub use global::{publish, set_global, unrouted, with_local, GlobalGuard, SetGlobalError};
pub use metric::{MetricKind, MetricNumber, MetricValue, ValueMetric};
#[cfg(feature = "statsd")]
pub use metrics::statsd::{StatsdConfig, StatsdSink, StatsdTarget};
pub use metrics::statsd_line::LineFormat;
pub use prost::DecodeError;
pub use proto::{
    DecodeContext, DecodeMessage, DecodeOwned, DecodeSingular, FieldDecoder, ImplicitDecoder,
    MapDecoder, MapKey, Message, OptionalDecoder, ProtoField, Repeatable, RepeatedDecoder,
    Singular,
};
pub use record_key::RecordKey;
pub use recording::{RecordedRecord, RecordingSink, DEFAULT_MAX_MESSAGE_BYTES};
pub use records::event_id::{EventId, HyphenatedId};
#[cfg(feature = "kafka")]
pub use records::kafka::{FailFast, KafkaConfig, KafkaSink, SpoolMode, SyncPolicy};
pub use records::record::{header, KafkaRecord, CONTENT_TYPE_PROTOBUF, UNDELIVERED_METRIC};
pub use report::{DeliveryReport, SinkReport};
pub use sink::{ClientError, MetricSink, RecordSink, SinkDiagnostics, SinkStats, SpoolStats};
pub use tag::Tag;

/// Derives [`Event`] for a struct with named fields. See the crate docs for attributes.
pub use event_derive::Event;
/// Derives [`Message`] for a type nested in an event's payload: a struct with named fields
/// (a message), an enum whose variants carry data (a message holding one `oneof`), or a
/// one-field tuple struct (transparent: encoded as its inner type). See the crate docs.
pub use event_derive::Message;
/// Derives [`Tag`] for a fieldless enum: values are the snake_case variant names.
pub use event_derive::Tag;
