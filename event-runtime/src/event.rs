//! The `Event` trait: what `#[derive(Event)]` generates and the dispatcher consumes.

use std::any::TypeId;

use crate::description::FieldDef;
use crate::field_value::FieldValue;
use crate::metric::{MetricNumber, ValueMetric};
use crate::proto::{DecodeContext, DecodeMessage, Message};
use crate::DecodeError;

/// A business event: one struct, sent to DogStatsD as a counter with its tags and to
/// Kafka as a protobuf payload with every field.
///
/// Implement it with `#[derive(Event)]`; the attributes are described in the crate docs.
/// The payload is the event's [`Message`]: the derive implements both.
///
/// ```
/// use event_runtime::{Event, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// enum Market { Uk, Fr }
///
/// #[derive(Event, Clone, Debug, PartialEq)]
/// #[event(name = "order.placed", topic = "orders")]
/// struct OrderPlaced {
///     #[event(key)]
///     order_id: String,
///     user_id: String,
///     #[event(tag)]
///     market: Market,
/// }
///
/// let event = OrderPlaced { order_id: "o-1".into(), user_id: "u-9".into(), market: Market::Fr };
/// assert_eq!(OrderPlaced::NAME, "order.placed");
/// assert_eq!(OrderPlaced::SERIES, 2);
/// assert_eq!(event.key(), Some(&b"o-1"[..]));
/// let mut payload = Vec::new();
/// event.encode(&mut payload);
/// assert_eq!(OrderPlaced::decode(&payload).unwrap(), event);
/// ```
pub trait Event: Message + Send + Sync {
    /// The metric and event name, e.g. `payment.attempted`.
    const NAME: &'static str;
    /// The Kafka topic the payload is written to.
    const TOPIC: &'static str;
    /// The protobuf message's full name, e.g. `events.PaymentAttempted`: its package
    /// (`#[event(package = "...")]`, default `events`) and the struct's name.
    const MESSAGE_NAME: &'static str;
    /// The protobuf package of the message, e.g. `events` or `acme.payments.v1`.
    const PACKAGE: &'static str = crate::schema::PACKAGE;
    /// The tag keys, in declaration order.
    const TAG_KEYS: &'static [&'static str];
    /// The number of distinct tag-value combinations (the product of the tags' cardinalities).
    const TAG_COMBINATIONS: usize;
    /// The value metrics declared with `#[event(metric = "...")]`.
    const VALUE_METRICS: &'static [ValueMetric];
    /// The metric series this event can create: one counter per tag combination, plus each
    /// value metric's series per combination. Checked against `max_series` at compile time.
    const SERIES: usize;
    /// The fraction of counter increments sent to DogStatsD when not aggregating (`1.0` = all).
    const SAMPLE_RATE: f64;

    /// The type's id, with any lifetime of an event that borrows its fields taken as
    /// `'static`: the key of the dispatcher's per-event tables.
    fn type_id() -> TypeId;

    /// Calls `visit(key, value)` for each tag, in declaration order, without allocating.
    fn for_each_tag(&self, visit: impl FnMut(&'static str, &'static str));
    /// This value's tag combination as a dense index in `0..TAG_COMBINATIONS`.
    fn tag_combination(&self) -> usize;
    /// Calls `visit(key, value)` for each tag of a combination index, the inverse of
    /// [`Event::tag_combination`]. Does nothing for an index out of range.
    fn for_each_tag_of_combination(
        combination: usize,
        visit: impl FnMut(&'static str, &'static str),
    );
    /// Calls `visit(metric, number)` for each value metric that has a value.
    fn for_each_value_metric(&self, visit: impl FnMut(&'static ValueMetric, MetricNumber));

    /// The Kafka record key, from the `#[event(key)]` field.
    fn key(&self) -> Option<&[u8]>;
    /// Appends the protobuf encoding of every field to `buf`.
    #[inline]
    fn encode(&self, buf: &mut Vec<u8>) {
        self.encode_fields(buf);
    }
    /// The length [`Event::encode`] appends.
    #[inline]
    fn encoded_len(&self) -> usize {
        self.fields_len()
    }
    /// Reads a payload written by [`Event::encode`] (or any protobuf encoder of the same
    /// schema). An event with borrowed fields borrows them from `bytes`.
    fn decode<'de>(bytes: &'de [u8]) -> Result<Self, DecodeError>
    where
        Self: DecodeMessage<'de>,
    {
        Self::decode_fields(bytes, DecodeContext::default())
    }
    /// The proto3 `.proto` text of this event's message, with the enums and messages it uses.
    fn proto_schema() -> String {
        crate::schema::render_event(Self::NAME, Self::TOPIC, Self::PACKAGE, Self::DEF)
    }

    /// Every payload field, in declaration order: name, number, presence and kind.
    /// A loader creates one table column per entry.
    fn fields() -> &'static [FieldDef] {
        Self::DEF.fields
    }
    /// Calls `visit(name, value)` for each payload field, in the order of
    /// [`Event::fields`]: the row a loader writes for this event. Values borrow from the
    /// event, so they can be kept for as long as it lives.
    ///
    /// ```
    /// use event_runtime::{Event, FieldValue, Value};
    ///
    /// #[derive(Event)]
    /// #[event(topic = "orders")]
    /// struct OrderPlaced {
    ///     #[event(key)]
    ///     order_id: String,
    ///     coupon: Option<String>,
    /// }
    ///
    /// let event = OrderPlaced { order_id: "o-1".into(), coupon: None };
    /// let mut row = Vec::new();
    /// event.for_each_field(|name, value| row.push((name, value)));
    /// assert_eq!(row[0], ("order_id", FieldValue::Single(Value::Text("o-1"))));
    /// assert_eq!(row[1], ("coupon", FieldValue::Null));
    /// assert_eq!(OrderPlaced::fields()[1].name, "coupon");
    /// ```
    fn for_each_field<'a>(&'a self, mut visit: impl FnMut(&'static str, FieldValue<'a>)) {
        self.visit_fields(&mut visit);
    }
}
