//! An in-memory sink that keeps what would have been sent, for users' unit tests and
//! for running without services.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::sink::{MetricSink, RecordSink, SinkStats};
use crate::{DecodeError, DecodeMessage, DecodeOwned, Event, KafkaRecord};

/// A Kafka record as the recording sink kept it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRecord {
    /// The topic it was sent to.
    pub topic: String,
    /// The record key.
    pub key: Option<Vec<u8>>,
    /// The protobuf payload.
    pub payload: Vec<u8>,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The record timestamp in Unix milliseconds.
    pub timestamp_millis: i64,
}

impl RecordedRecord {
    /// The value of a header, e.g. [`header::EVENT_ID`](crate::header::EVENT_ID).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this record carries an `E`, by its schema name header.
    pub fn is<E: Event>(&self) -> bool {
        self.header(crate::header::SCHEMA_NAME) == Some(E::MESSAGE_NAME)
    }

    /// Decodes the payload as an `E`, after the Confluent wire-format header if there is
    /// one (a protobuf message never starts with a 0 byte, a framed one always does). An
    /// event with borrowed fields borrows them from this record.
    pub fn decode<'r, E: Event + DecodeMessage<'r>>(&'r self) -> Result<E, DecodeError> {
        match crate::confluent::parse_frame(&self.payload) {
            Ok((_, _, payload)) => E::decode(payload),
            Err(_) => E::decode(&self.payload),
        }
    }
}

struct Recorded {
    lines: Vec<String>,
    records: Vec<RecordedRecord>,
    line_stats: SinkStats,
    record_stats: SinkStats,
    /// Records larger than this fail, as the Kafka sink's do.
    max_message_bytes: usize,
    failures: BTreeMap<String, u64>,
}

impl Default for Recorded {
    fn default() -> Self {
        Recorded {
            lines: Vec::new(),
            records: Vec::new(),
            line_stats: SinkStats::default(),
            record_stats: SinkStats::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            failures: BTreeMap::new(),
        }
    }
}

/// librdkafka's default `message.max.bytes`: the Kafka sink fails a larger record at
/// `publish`, and so does the recording sink.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

/// Keeps every DogStatsD line and Kafka record it is given. Clones share the same store,
/// so keep one clone to inspect and give another to the dispatcher.
///
/// ```
/// use event_runtime::{Dispatcher, Event, RecordingSink, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// enum Outcome { Ok, Declined }
///
/// #[derive(Event, Clone, Debug, PartialEq)]
/// #[event(name = "payment.settled", topic = "payments")]
/// struct PaymentSettled {
///     #[event(key)]
///     order_id: String,
///     #[event(tag)]
///     outcome: Outcome,
/// }
///
/// let recording = RecordingSink::new();
/// let events = Dispatcher::builder().recording(&recording).build().unwrap();
/// let settled = PaymentSettled { order_id: "o-1".into(), outcome: Outcome::Declined };
/// events.publish(&settled);
/// events.flush(std::time::Duration::ZERO); // sends the aggregated counter
///
/// assert_eq!(recording.statsd_lines(), ["payment.settled:1|c|#outcome:declined"]);
/// assert_eq!(recording.events::<PaymentSettled>(), [settled]);
/// ```
#[derive(Clone, Default)]
pub struct RecordingSink {
    inner: Arc<Mutex<Recorded>>,
}

impl RecordingSink {
    /// An empty recording.
    pub fn new() -> Self {
        RecordingSink::default()
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // A panic in another test thread must not hide what was recorded.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails records larger than `bytes` (by [`KafkaRecord::wire_size`]) as a Kafka sink
    /// with `message.max.bytes` set to it would: counted as failed under
    /// `MessageSizeTooLarge`, not kept. Default [`DEFAULT_MAX_MESSAGE_BYTES`].
    pub fn with_max_message_bytes(self, bytes: usize) -> Self {
        self.lock().max_message_bytes = bytes;
        self
    }

    /// Failed records so far, per reason (`MessageSizeTooLarge`).
    pub fn failures(&self) -> BTreeMap<String, u64> {
        self.lock().failures.clone()
    }

    /// Every DogStatsD line so far, one per metric, in publish order.
    pub fn statsd_lines(&self) -> Vec<String> {
        self.lock().lines.clone()
    }

    /// Every DogStatsD line since the last take, in publish order, and forgets them: for a
    /// reader that consumes the lines as they come, such as a long run's metrics view.
    pub fn take_statsd_lines(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().lines)
    }

    /// Every Kafka record so far, in publish order.
    pub fn records(&self) -> Vec<RecordedRecord> {
        self.lock().records.clone()
    }

    /// The recorded events of type `E`, decoded from their payloads. Events with borrowed
    /// fields are read from [`RecordingSink::records`] with [`RecordedRecord::decode`],
    /// which borrows from each record.
    ///
    /// # Panics
    /// If a payload with `E`'s schema name does not decode: that is a bug in this crate.
    pub fn events<E: Event + DecodeOwned>(&self) -> Vec<E> {
        self.lock()
            .records
            .iter()
            .filter(|r| r.is::<E>())
            .map(|r| {
                r.decode::<E>()
                    .expect("a recorded payload decodes as its own event type")
            })
            .collect()
    }

    /// Forgets everything recorded, keeping the counts.
    pub fn clear(&self) {
        let mut recorded = self.lock();
        recorded.lines.clear();
        recorded.records.clear();
    }
}

impl MetricSink for RecordingSink {
    fn name(&self) -> &'static str {
        "recording-statsd"
    }

    fn send_lines(&self, lines: &str) {
        let mut recorded = self.lock();
        for line in lines.split('\n') {
            recorded.lines.push(line.to_owned());
            recorded.line_stats.published += 1;
            recorded.line_stats.delivered += 1;
        }
    }

    fn flush(&self, _timeout: Duration) {}

    fn stats(&self) -> SinkStats {
        self.lock().line_stats
    }
}

impl RecordSink for RecordingSink {
    fn name(&self) -> &'static str {
        "recording-kafka"
    }

    fn send(&self, record: &KafkaRecord<'_>) {
        let mut recorded = self.lock();
        recorded.record_stats.published += 1;
        if !record.wire_size_at_most(recorded.max_message_bytes) {
            recorded.record_stats.failed += 1;
            *recorded
                .failures
                .entry("MessageSizeTooLarge".to_owned())
                .or_default() += 1;
            return;
        }
        drop(recorded);
        let kept = RecordedRecord {
            topic: record.topic.to_owned(),
            key: record.key.map(<[u8]>::to_vec),
            payload: record.payload.to_vec(),
            headers: {
                let mut headers = Vec::new();
                record.for_each_header(|n, v| headers.push((n.to_owned(), v.to_owned())));
                headers
            },
            timestamp_millis: record.timestamp_millis,
        };
        let mut recorded = self.lock();
        recorded.records.push(kept);
        recorded.record_stats.delivered += 1;
    }

    fn flush(&self, _timeout: Duration) {}

    fn diagnostics(&self) -> Option<crate::SinkDiagnostics> {
        Some(crate::SinkDiagnostics {
            failures: self.failures(),
            ..Default::default()
        })
    }

    fn stats(&self) -> SinkStats {
        self.lock().record_stats
    }
}
