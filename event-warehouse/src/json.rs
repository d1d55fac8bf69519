//! Repeated fields, maps and nested messages as JSON text, for a `jsonb` column in
//! PostgreSQL and a JSON text column in SQLite, where `->`, `->>` and `json_each` read them.
//!
//! A message is an object keyed by field names (an unset `Option` is `null`); a
//! `#[derive(Message)]` enum is an object with one key, the variant it holds; a list is an
//! array and a map an object. Numbers stay numbers, except integers beyond 2^53, which
//! JSON readers in doubles would round: those are strings, as decimals are. Times are
//! RFC 3339 strings, durations seconds, UUIDs hyphenated and bytes hex strings.

use std::fmt::Write;

use event_runtime::{FieldValue, Value};

/// The largest integer a double holds exactly.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// The JSON text of a field's value.
#[cfg(test)]
fn field(value: &FieldValue<'_>) -> String {
    let mut out = String::new();
    write_field(&mut out, value);
    out
}

/// The JSON text of one value: a map key that is not text.
fn value(value: &Value<'_>) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends the JSON text of a field's value to `out`.
pub(crate) fn write_field(out: &mut String, value: &FieldValue<'_>) {
    match value {
        FieldValue::Single(value) => write_value(out, value),
        FieldValue::Null => out.push_str("null"),
        FieldValue::Repeated(values) => {
            out.push('[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, value);
            }
            out.push(']');
        }
        FieldValue::Map(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_key(out, key);
                out.push(':');
                write_value(out, value);
            }
            out.push('}');
        }
    }
}

/// Appends the JSON text of one value (a nested message in its own column) to `out`.
pub(crate) fn write_value(out: &mut String, value: &Value<'_>) {
    // Writing to a String cannot fail.
    match value {
        Value::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        Value::Int(v) if v.unsigned_abs() <= MAX_EXACT_INTEGER => {
            let _ = write!(out, "{v}");
        }
        Value::Int(v) => {
            let _ = write!(out, "\"{v}\"");
        }
        Value::UInt(v) if *v <= MAX_EXACT_INTEGER => {
            let _ = write!(out, "{v}");
        }
        Value::UInt(v) => {
            let _ = write!(out, "\"{v}\"");
        }
        Value::Float(v) if v.is_finite() => {
            let _ = write!(out, "{v}");
        }
        // JSON has no NaN or infinity.
        Value::Float(_) => out.push_str("null"),
        Value::Text(v) => write_string(out, v),
        Value::Tag(v) => write_string(out, v),
        Value::Bytes(v) => write_string(out, &crate::text::hex(v)),
        Value::Timestamp(v) => write_string(out, &crate::text::rfc3339(*v)),
        Value::Duration(v) => out.push_str(&crate::text::seconds(*v)),
        Value::NegativeDuration(v) => {
            out.push('-');
            out.push_str(&crate::text::seconds(*v));
        }
        Value::Uuid(bytes) => write_string(out, &crate::text::hyphenated(bytes)),
        // A string: every digit and the scale survive readers that parse numbers as doubles.
        Value::Decimal { mantissa, scale } => {
            write_string(out, &crate::text::decimal(*mantissa, *scale))
        }
        Value::Message(fields) => {
            out.push('{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_field(out, value);
            }
            out.push('}');
        }
    }
}

/// A map key: JSON object keys are strings, so numbers and booleans are written as text.
fn write_key(out: &mut String, key: &Value<'_>) {
    match key {
        Value::Text(v) => write_string(out, v),
        Value::Uuid(bytes) => write_string(out, &crate::text::hyphenated(bytes)),
        Value::Bool(v) => write_string(out, if *v { "true" } else { "false" }),
        Value::Int(v) => {
            let _ = write!(out, "\"{v}\"");
        }
        Value::UInt(v) => {
            let _ = write!(out, "\"{v}\"");
        }
        // Protobuf allows no other key types; written as their JSON text, quoted.
        Value::Float(_)
        | Value::Tag(_)
        | Value::Bytes(_)
        | Value::Timestamp(_)
        | Value::Duration(_)
        | Value::NegativeDuration(_)
        | Value::Decimal { .. }
        | Value::Message(_) => write_string(out, &value(key)),
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Runs without a character to escape are copied whole; every escaped character is
    // ASCII, so the runs split `s` on character boundaries.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        run = i + 1;
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn escapes_between_multibyte_characters_keep_the_text_whole() {
        let mut out = String::new();
        write_string(&mut out, "é\"ü\u{1f}中\\");
        assert_eq!(out, "\"é\\\"ü\\u001f中\\\\\"");
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "é\"ü\u{1f}中\\"
        );
    }

    #[test]
    fn lists_escape_strings_and_drop_non_finite_floats() {
        let values = FieldValue::Repeated(vec![
            Value::Text("a\"b\\c\nd\u{1}"),
            Value::Float(f64::NAN),
            Value::UInt(u64::MAX),
            Value::Int(-(1 << 53)),
            Value::Duration(Duration::from_millis(1500)),
        ]);
        assert_eq!(
            field(&values),
            r#"["a\"b\\c\nd\u0001",null,"18446744073709551615",-9007199254740992,1.500000000]"#
        );
        assert_eq!(field(&FieldValue::Repeated(Vec::new())), "[]");
    }

    #[test]
    fn messages_are_objects_and_maps_have_text_keys() {
        let message = Value::Message(vec![
            ("street", FieldValue::Single(Value::Text("1 Main St"))),
            ("floor", FieldValue::Null),
            (
                "stock",
                FieldValue::Map(vec![(Value::UInt(7), Value::Bool(true))]),
            ),
            ("card", FieldValue::Single(Value::Message(Vec::new()))),
        ]);
        assert_eq!(
            value(&message),
            r#"{"street":"1 Main St","floor":null,"stock":{"7":true},"card":{}}"#
        );
    }
}
