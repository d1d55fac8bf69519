//! A decoded event as a row of owned cells, ready for either backend.

use std::time::{Duration, SystemTime};

use event_runtime::{Event, EventId, FieldValue, Value};

/// Where a record was read from, and its header facts: the record columns of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// The id the `event_id` header names.
    pub event_id: EventId,
    /// The record timestamp (the publish time), if the broker kept one.
    pub published_at: Option<SystemTime>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The trace id of the record's W3C `traceparent` header, if it has a valid one.
    pub trace_id: Option<String>,
    /// The span id of that header: the span the event was published in.
    pub span_id: Option<String>,
}

impl RecordMeta {
    /// The facts of a record with no trace context.
    pub fn new(
        event_id: EventId,
        published_at: Option<SystemTime>,
        partition: i32,
        offset: i64,
    ) -> Self {
        RecordMeta {
            event_id,
            published_at,
            partition,
            offset,
            trace_id: None,
            span_id: None,
        }
    }

    /// These facts with the trace and span ids of a `traceparent` header; an invalid one
    /// leaves them unset.
    pub fn with_traceparent(mut self, traceparent: &str) -> Self {
        if let Some((trace_id, span_id)) = crate::trace::trace_ids(traceparent) {
            self.trace_id = Some(trace_id.to_owned());
            self.span_id = Some(span_id.to_owned());
        }
        self
    }
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value: an unset `Option`, or a missing publish time.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A `u64`.
    UInt(u64),
    /// A float.
    Float(f64),
    /// Text: a string.
    Text(String),
    /// A tag's value, text in the table.
    Tag(&'static str),
    /// A UUID: the event id, or a field that holds one, as its 16 bytes.
    Uuid([u8; 16]),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A point in time.
    Timestamp(SystemTime),
    /// A span of time.
    Duration(Duration),
    /// A negative span of time: its magnitude.
    NegativeDuration(Duration),
    /// An exact decimal, `mantissa * 10^-scale`.
    Decimal {
        /// The digits as an integer, with the sign.
        mantissa: i128,
        /// How many digits are after the point.
        scale: u32,
    },
    /// JSON text: a repeated field, a map or a nested message.
    Json(String),
}

/// A row: cells in the order of [`Table::columns`](crate::Table::columns).
pub type Row = Vec<Cell>;

/// The row of a decoded event.
pub fn row_of<E: Event>(event: &E, meta: &RecordMeta) -> Row {
    row_with_meta(event, meta.clone())
}

/// The row of a decoded event, taking the record's facts: its texts move into the row.
pub(crate) fn row_with_meta<E: Event>(event: &E, meta: RecordMeta) -> Row {
    // Room for a typical event's fields and the six record columns without regrowing.
    let mut row = Vec::with_capacity(18);
    event.for_each_field(|_, value| {
        row.push(match value {
            FieldValue::Single(value) => cell_of(value),
            FieldValue::Null => Cell::Null,
            value @ (FieldValue::Repeated(_) | FieldValue::Map(_)) => {
                Cell::Json(crate::json::field(&value))
            }
        })
    });
    row.push(Cell::Uuid(meta.event_id.to_bytes()));
    row.push(meta.published_at.map_or(Cell::Null, Cell::Timestamp));
    row.push(Cell::Int(i64::from(meta.partition)));
    row.push(Cell::Int(meta.offset));
    row.push(meta.trace_id.map_or(Cell::Null, Cell::Text));
    row.push(meta.span_id.map_or(Cell::Null, Cell::Text));
    row
}

fn cell_of(value: Value<'_>) -> Cell {
    match value {
        Value::Bool(v) => Cell::Bool(v),
        Value::Int(v) => Cell::Int(v),
        Value::UInt(v) => Cell::UInt(v),
        Value::Float(v) => Cell::Float(v),
        Value::Text(v) => Cell::Text(v.to_owned()),
        Value::Bytes(v) => Cell::Bytes(v.to_vec()),
        Value::Tag(v) => Cell::Tag(v),
        Value::Timestamp(v) => Cell::Timestamp(v),
        Value::Duration(v) => Cell::Duration(v),
        Value::NegativeDuration(v) => Cell::NegativeDuration(v),
        Value::Uuid(bytes) => Cell::Uuid(*bytes),
        Value::Decimal { mantissa, scale } => Cell::Decimal { mantissa, scale },
        value @ Value::Message(_) => Cell::Json(crate::json::value(&value)),
    }
}
