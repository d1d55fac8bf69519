//! The trace and span ids of a record's W3C `traceparent` header, for the `trace_id` and
//! `span_id` columns an analyst joins to the APM trace.

/// The trace id (32 hex digits) and parent span id (16) of a valid `traceparent`, read as
/// W3C Trace Context specifies: lowercase hex, no all-zero id, version `ff` invalid, and a
/// later version may append fields after a `-`. Anything else is no trace context: the
/// columns stay NULL and the row is still written.
pub fn trace_ids(traceparent: &str) -> Option<(&str, &str)> {
    // Only ASCII can be valid, and it makes every slice below fall on a char boundary.
    if !traceparent.is_ascii() {
        return None;
    }
    let bytes = traceparent.as_bytes();
    let version = traceparent.get(..2)?;
    let lower_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    let fits = match version {
        "00" => bytes.len() == 55,
        "ff" => false,
        _ => bytes.len() == 55 || (bytes.len() > 55 && bytes[55] == b'-'),
    };
    if !fits || !lower_hex(version) || [2, 35, 52].iter().any(|&at| bytes[at] != b'-') {
        return None;
    }
    let (trace_id, span_id, flags) = (
        &traceparent[3..35],
        &traceparent[36..52],
        &traceparent[53..55],
    );
    (lower_hex(trace_id)
        && lower_hex(span_id)
        && lower_hex(flags)
        && nonzero(trace_id)
        && nonzero(span_id))
    .then_some((trace_id, span_id))
}

#[cfg(test)]
mod tests {
    use super::trace_ids;

    #[test]
    fn the_w3c_example_gives_its_ids() {
        assert_eq!(
            trace_ids("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
        );
    }

    #[test]
    fn a_later_version_may_append_fields() {
        assert!(
            trace_ids("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_some()
        );
        assert!(
            trace_ids("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_none()
        );
    }

    #[test]
    fn what_the_spec_calls_invalid_gives_none() {
        for invalid in [
            "",
            "00",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01é",
            // 55 bytes, with a two-byte character across the trace id's end.
            "00-4bf92f3577b34da6a3ce929d0e0e473é00f067aa0ba902b7-01",
        ] {
            assert_eq!(trace_ids(invalid), None, "{invalid:?}");
        }
    }
}
