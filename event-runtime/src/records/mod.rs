//! The records path: from an event to its Kafka record (the protobuf payload, the
//! Confluent wire-format header when a schema id is registered, the event id, the
//! timestamp and the headers) and on to every record sink: Kafka, with its disk spool.

pub(crate) mod event_id;
#[cfg(feature = "kafka")]
pub(crate) mod kafka;
pub(crate) mod publish_clock;
pub(crate) mod record;
#[cfg(feature = "opentelemetry")]
pub(crate) mod trace_context;

use std::any::TypeId;
use std::collections::HashMap;
use std::time::Instant;

use crate::report::SinkReport;
use crate::sink::RecordSink;
use crate::{Event, EventId, KafkaRecord};
use publish_clock::{ClockAnchor, PublishClock};

/// A thread's buffers for the records path, reused by every publish.
#[derive(Default)]
pub(crate) struct RecordBuffers {
    payload: Vec<u8>,
    clock: ClockAnchor,
    #[cfg(feature = "opentelemetry")]
    trace: trace_context::TraceScratch,
}

/// An event type's names, as its record carries them.
struct RecordNames {
    topic: &'static str,
    event_name: &'static str,
    schema_name: &'static str,
}

/// The record sinks of a dispatcher, and what every record they get is built from.
pub(crate) struct RecordPath {
    pub sinks: Vec<Box<dyn RecordSink>>,
    /// Confluent wire-format headers, per event type registered with a schema id.
    pub framing: HashMap<TypeId, [u8; 6]>,
    pub clock: PublishClock,
}

impl RecordPath {
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Encodes `event` into this thread's reused buffers and hands its record to every sink.
    /// Only the encoding is compiled per event type; what follows it is
    /// [`RecordPath::send_encoded`], one copy for every type.
    #[inline]
    pub fn publish<E: Event>(&self, event: &E, buffers: &mut RecordBuffers) {
        let payload = &mut buffers.payload;
        payload.clear();
        if !self.framing.is_empty() {
            if let Some(header) = self.framing.get(&E::type_id()) {
                payload.extend_from_slice(header);
            }
        }
        event.encode(payload);
        self.send_encoded(
            RecordNames {
                topic: E::TOPIC,
                event_name: E::NAME,
                schema_name: E::MESSAGE_NAME,
            },
            event.key(),
            buffers,
        );
    }

    /// Stamps the payload in `buffers` with a time and an id and hands its record to every
    /// sink. Not generic, and never inlined: a service publishes several event types, each
    /// of which would otherwise carry its own copy of this code, and on a request thread
    /// that wakes up for each request, every copy is met cold (BENCHMARKS.md, row 11).
    #[inline(never)]
    fn send_encoded(&self, names: RecordNames, key: Option<&[u8]>, buffers: &mut RecordBuffers) {
        // One clock reading, in the milliseconds both the id and Kafka keep.
        let millis = self.clock.unix_millis(&mut buffers.clock);
        let event_id = EventId::at_unix_millis(millis);
        #[cfg(feature = "opentelemetry")]
        let (traceparent, tracestate) = buffers.trace.current();
        #[cfg(not(feature = "opentelemetry"))]
        let (traceparent, tracestate) = (None, None);
        let record = KafkaRecord {
            topic: names.topic,
            key,
            payload: &buffers.payload,
            event_name: names.event_name,
            schema_name: names.schema_name,
            event_id,
            timestamp_millis: millis as i64,
            traceparent,
            tracestate,
        };
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "event_runtime::publish",
            event = names.event_name,
            event_id = %event_id,
            topic = names.topic,
            "published"
        );
        for sink in &self.sinks {
            sink.send(&record);
        }
    }

    /// Waits until `deadline` at most for every sink to deliver what it holds.
    pub fn flush(&self, deadline: Instant) {
        for sink in &self.sinks {
            sink.flush(deadline.saturating_duration_since(Instant::now()));
        }
    }

    /// Shuts every sink down by `deadline`: what is left is given up and counted.
    pub fn shutdown(&self, deadline: Instant) {
        for sink in &self.sinks {
            sink.shutdown(deadline.saturating_duration_since(Instant::now()));
        }
    }

    /// Hands `report` each sink's name, and the records per event name it dropped or failed
    /// since the last call.
    pub fn take_undelivered(&self, report: &mut dyn FnMut(&'static str, &str, u64)) {
        for sink in &self.sinks {
            sink.take_undelivered(&mut |event_name, count| report(sink.name(), event_name, count));
        }
    }

    /// Each sink's name and diagnostics, for the sinks that have them.
    pub fn diagnostics(&self) -> Vec<(&'static str, crate::SinkDiagnostics)> {
        self.sinks
            .iter()
            .filter_map(|s| Some((s.name(), s.diagnostics()?)))
            .collect()
    }

    pub fn reports(&self) -> impl Iterator<Item = SinkReport> + '_ {
        self.sinks.iter().map(|s| SinkReport {
            name: s.name(),
            stats: s.stats(),
            diagnostics: s.diagnostics(),
        })
    }
}
