//! W3C trace context on a record: a publish made inside an OpenTelemetry span carries its
//! `traceparent` (and its `tracestate`, when it has one), the headers OpenTelemetry's
//! messaging conventions put on a Kafka record, so a row in the warehouse leads to the
//! request's trace.

/// The length of a version-00 `traceparent`: `00-` + 32 hex + `-` + 16 hex + `-` + 2 hex.
pub const TRACEPARENT_LEN: usize = 55;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `00-{trace id}-{span id}-{flags}` in lowercase hex, as W3C Trace Context
/// specifies, into a buffer of its exact length.
pub fn format_traceparent(
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
    out: &mut [u8; TRACEPARENT_LEN],
) {
    fn hex(bytes: &[u8], out: &mut [u8]) {
        for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
    }
    out[..3].copy_from_slice(b"00-");
    hex(&trace_id, &mut out[3..35]);
    out[35] = b'-';
    hex(&span_id, &mut out[36..52]);
    out[52] = b'-';
    hex(&[flags], &mut out[53..55]);
}

/// The trace context of the current OpenTelemetry span, formatted into buffers reused by
/// every publish on a thread.
pub struct TraceScratch {
    traceparent: [u8; TRACEPARENT_LEN],
    tracestate: String,
    /// The state `tracestate` holds the text of. OpenTelemetry formats a state only into a
    /// new `String`, and a trace's state seldom changes, so it is formatted when it does.
    state_of: opentelemetry::trace::TraceState,
}

impl Default for TraceScratch {
    fn default() -> Self {
        TraceScratch {
            traceparent: [0; TRACEPARENT_LEN],
            tracestate: String::new(),
            state_of: Default::default(),
        }
    }
}

impl TraceScratch {
    /// `(traceparent, tracestate)` of the current span; both `None` outside a valid span,
    /// and `tracestate` `None` when the span's state is empty.
    pub fn current(&mut self) -> (Option<&str>, Option<&str>) {
        use opentelemetry::trace::TraceContextExt;
        let in_span = opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let context = span.span_context();
            if !context.is_valid() {
                return false;
            }
            format_traceparent(
                context.trace_id().to_bytes(),
                context.span_id().to_bytes(),
                context.trace_flags().to_u8(),
                &mut self.traceparent,
            );
            if *context.trace_state() != self.state_of {
                self.state_of = context.trace_state().clone();
                self.tracestate = self.state_of.header();
            }
            true
        });
        if !in_span {
            return (None, None);
        }
        let traceparent = std::str::from_utf8(&self.traceparent).expect("hex is ASCII");
        let tracestate = (!self.tracestate.is_empty()).then_some(self.tracestate.as_str());
        (Some(traceparent), tracestate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_the_w3c_example() {
        // The example of W3C Trace Context, section 3.2.
        let mut out = [0; TRACEPARENT_LEN];
        format_traceparent(
            0x4bf92f3577b34da6a3ce929d0e0e4736_u128.to_be_bytes(),
            0x00f067aa0ba902b7_u64.to_be_bytes(),
            1,
            &mut out,
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
    }
}
