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
    let mut row = Vec::new();
    fill_row(event, meta.clone(), &mut row);
    row
}

/// Makes `row` the row of a decoded event with the record's facts. `row` may be a
/// written row of the same table: its texts, bytes and JSON are overwritten in place, so
/// a loader that reuses its rows allocates for such a cell only when the new value is
/// longer than the old one, or the cell held something else.
pub(crate) fn fill_row<E: Event>(event: &E, meta: RecordMeta, row: &mut Row) {
    // A new row gets its full size at once.
    row.reserve((E::fields().len() + crate::table::RECORD_COLUMNS.len()).saturating_sub(row.len()));
    let mut cells = Cells { row, next: 0 };
    event.for_each_field(|_, value| match value {
        FieldValue::Single(value) => cells.set_value(value),
        FieldValue::Null => cells.set(Cell::Null),
        value @ (FieldValue::Repeated(_) | FieldValue::Map(_)) => {
            cells.set_json(|out| crate::json::write_field(out, &value))
        }
    });
    cells.set(Cell::Uuid(meta.event_id.to_bytes()));
    cells.set(meta.published_at.map_or(Cell::Null, Cell::Timestamp));
    cells.set(Cell::Int(i64::from(meta.partition)));
    cells.set(Cell::Int(meta.offset));
    cells.set(meta.trace_id.map_or(Cell::Null, Cell::Text));
    cells.set(meta.span_id.map_or(Cell::Null, Cell::Text));
    let Cells { row, next } = cells;
    row.truncate(next);
}

/// A row being filled from its first cell, reusing the buffers of the cells it had.
struct Cells<'r> {
    row: &'r mut Row,
    next: usize,
}

impl Cells<'_> {
    fn set(&mut self, cell: Cell) {
        match self.row.get_mut(self.next) {
            Some(old) => *old = cell,
            None => self.row.push(cell),
        }
        self.next += 1;
    }

    fn set_text(&mut self, text: &str) {
        match self.row.get_mut(self.next) {
            Some(Cell::Text(old)) => {
                old.clear();
                old.push_str(text);
                self.next += 1;
            }
            _ => self.set(Cell::Text(text.to_owned())),
        }
    }

    fn set_json(&mut self, write: impl FnOnce(&mut String)) {
        match self.row.get_mut(self.next) {
            Some(Cell::Json(old)) => {
                old.clear();
                write(old);
                self.next += 1;
            }
            _ => {
                let mut json = String::new();
                write(&mut json);
                self.set(Cell::Json(json));
            }
        }
    }

    fn set_value(&mut self, value: Value<'_>) {
        match value {
            Value::Text(v) => self.set_text(v),
            Value::Bytes(v) => match self.row.get_mut(self.next) {
                Some(Cell::Bytes(old)) => {
                    old.clear();
                    old.extend_from_slice(v);
                    self.next += 1;
                }
                _ => self.set(Cell::Bytes(v.to_vec())),
            },
            Value::Bool(v) => self.set(Cell::Bool(v)),
            Value::Int(v) => self.set(Cell::Int(v)),
            Value::UInt(v) => self.set(Cell::UInt(v)),
            Value::Float(v) => self.set(Cell::Float(v)),
            Value::Tag(v) => self.set(Cell::Tag(v)),
            Value::Timestamp(v) => self.set(Cell::Timestamp(v)),
            Value::Duration(v) => self.set(Cell::Duration(v)),
            Value::NegativeDuration(v) => self.set(Cell::NegativeDuration(v)),
            Value::Uuid(bytes) => self.set(Cell::Uuid(*bytes)),
            Value::Decimal { mantissa, scale } => self.set(Cell::Decimal { mantissa, scale }),
            value @ Value::Message(_) => self.set_json(|out| crate::json::write_value(out, &value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use event_runtime::{Event, EventId, Tag};

    use super::{fill_row, row_of, Cell, RecordMeta};

    #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    enum Channel {
        Web,
        App,
    }

    #[derive(Event)]
    #[event(topic = "t")]
    struct Sample {
        user_id: String,
        note: Option<String>,
        image: Vec<u8>,
        dishes: Vec<String>,
        #[event(tag)]
        channel: Channel,
    }

    fn meta(offset: i64, traceparent: Option<&str>) -> RecordMeta {
        let published = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let meta = RecordMeta::new(EventId::new(published), Some(published), 2, offset);
        match traceparent {
            Some(header) => meta.with_traceparent(header),
            None => meta,
        }
    }

    #[test]
    fn a_refilled_row_is_the_row_of_the_new_event_whatever_the_old_held() {
        let long = Sample {
            user_id: "a-long-user-id-of-many-bytes".into(),
            note: Some("left at the door".into()),
            image: vec![1, 2, 3, 4, 5],
            dishes: vec!["pho".into(), "banh mi".into()],
            channel: Channel::App,
        };
        let short = Sample {
            user_id: "u".into(),
            note: None,
            image: Vec::new(),
            dishes: Vec::new(),
            channel: Channel::Web,
        };
        let traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (long_meta, short_meta) = (meta(7, Some(traced)), meta(8, None));

        let mut row = row_of(&long, &long_meta);
        assert_eq!(row[0], Cell::Text("a-long-user-id-of-many-bytes".into()));
        fill_row(&short, short_meta.clone(), &mut row);
        assert_eq!(row, row_of(&short, &short_meta));
        fill_row(&long, long_meta.clone(), &mut row);
        assert_eq!(row, row_of(&long, &long_meta));
        assert_eq!(row.len(), Sample::fields().len() + 6);
    }
}
