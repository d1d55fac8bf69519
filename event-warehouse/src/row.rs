//! A decoded event as a row of owned cells, ready for either backend.

use std::time::{Duration, SystemTime};

use event_runtime::{Event, FieldValue, Value};

/// Where a record was read from, and its header facts: the record columns of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// The `event_id` header.
    pub event_id: String,
    /// The record timestamp (the publish time), if the broker kept one.
    pub published_at: Option<SystemTime>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
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
    /// Text: a string, a tag value or an event id.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A point in time.
    Timestamp(SystemTime),
    /// A span of time.
    Duration(Duration),
    /// A JSON array (a repeated field).
    Json(String),
}

/// A row: cells in the order of [`Table::columns`](crate::Table::columns).
pub type Row = Vec<Cell>;

/// The row of a decoded event.
pub fn row_of<E: Event>(event: &E, meta: &RecordMeta) -> Row {
    // Room for a typical event's fields and the four record columns without regrowing.
    let mut row = Vec::with_capacity(16);
    event.for_each_field(|_, value| {
        row.push(match value {
            FieldValue::Single(value) => cell_of(value),
            FieldValue::Null => Cell::Null,
            FieldValue::Repeated(values) => Cell::Json(json_array(&values)),
        })
    });
    row.push(Cell::Text(meta.event_id.clone()));
    row.push(meta.published_at.map_or(Cell::Null, Cell::Timestamp));
    row.push(Cell::Int(i64::from(meta.partition)));
    row.push(Cell::Int(meta.offset));
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
        Value::Tag(v) => Cell::Text(v.to_owned()),
        Value::Timestamp(v) => Cell::Timestamp(v),
        Value::Duration(v) => Cell::Duration(v),
    }
}

/// A repeated field as a JSON array: numbers as numbers, timestamps as RFC 3339 strings,
/// durations as seconds, bytes as hex strings.
fn json_array(values: &[Value<'_>]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|value| match *value {
            Value::Bool(v) => v.to_string(),
            Value::Int(v) => v.to_string(),
            Value::UInt(v) => v.to_string(),
            Value::Float(v) if v.is_finite() => v.to_string(),
            // JSON has no NaN or infinity.
            Value::Float(_) => "null".to_owned(),
            Value::Text(v) => json_string(v),
            Value::Tag(v) => json_string(v),
            Value::Bytes(v) => json_string(&crate::text::hex(v)),
            Value::Timestamp(v) => json_string(&crate::text::rfc3339(v)),
            Value::Duration(v) => crate::text::seconds(v),
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_arrays_escape_strings_and_drop_non_finite_floats() {
        let values = [
            Value::Text("a\"b\\c\nd\u{1}"),
            Value::Float(f64::NAN),
            Value::UInt(u64::MAX),
            Value::Duration(Duration::from_millis(1500)),
        ];
        assert_eq!(
            json_array(&values),
            r#"["a\"b\\c\nd\u0001",null,18446744073709551615,1.500000000]"#
        );
        assert_eq!(json_array(&[]), "[]");
    }
}
