//! The dispatcher: one `publish` call formats the DogStatsD lines and encodes the Kafka
//! record of an event once, and hands them to every sink.

mod builder;
mod flusher;

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use builder::DispatcherBuilder;
use flusher::Flusher;

use crate::aggregation::AggregateTables;
use crate::error::Undelivered;
use crate::event_id::{random_unit, unix_millis};
use crate::report::{DeliveryReport, SinkReport};
use crate::sink::{MetricSink, RecordSink};
use crate::statsd_line::LineFormat;
use crate::{Event, EventId, KafkaRecord};

/// How long `shutdown` may still flush the undelivered counter once its timeout has passed.
const UNDELIVERED_GRACE: Duration = Duration::from_millis(200);

/// Per-thread buffers, reused by every publish so that the steady state allocates nothing.
struct Buffers {
    lines: String,
    payload: Vec<u8>,
}

impl Default for Buffers {
    /// Room for a few full lines of aggregated samples from the start: they are written
    /// now and then, not on every publish, so growing on demand would allocate long after
    /// the first publish.
    fn default() -> Self {
        Buffers {
            lines: String::with_capacity(4 * crate::aggregation::SAMPLE_LINE_BYTES),
            payload: Vec::new(),
        }
    }
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Publishes events to every configured sink. Cheap to share: put it in an `Arc`.
///
/// ```
/// use std::time::Duration;
/// use event_runtime::{Dispatcher, Event, RecordingSink, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// enum Platform { Android, Ios, Web }
///
/// #[derive(Event, Clone, Debug, PartialEq)]
/// #[event(name = "app.opened", topic = "app")]
/// struct AppOpened {
///     user_id: String,
///     #[event(tag)]
///     platform: Platform,
/// }
///
/// let recording = RecordingSink::new();
/// let events = Dispatcher::builder()
///     .prefix("shop")
///     .constant_tag("env", "prod")
///     .recording(&recording)
///     .build()?;
/// for _ in 0..3 {
///     events.publish(&AppOpened { user_id: "u-1".into(), platform: Platform::Web });
/// }
/// // Counters are aggregated in process and sent every 10 s, and at shutdown.
/// let report = events.shutdown(Duration::from_secs(1))?;
///
/// assert_eq!(recording.statsd_lines(), ["shop.app.opened:3|c|#platform:web,env:prod"]);
/// assert_eq!(recording.records().len(), 3);
/// assert_eq!(report.undelivered(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dispatcher {
    inner: Arc<Inner>,
    flusher: Option<Flusher>,
}

/// What the dispatcher and its aggregation flusher thread share.
struct Inner {
    format: LineFormat,
    metric_sinks: Vec<Box<dyn MetricSink>>,
    record_sinks: Vec<Box<dyn RecordSink>>,
    /// `Some` when counters and value metrics are aggregated in process.
    aggregates: Option<AggregateTables>,
    /// Confluent wire-format headers, per event type registered with a schema id.
    framing: HashMap<TypeId, [u8; 6]>,
}

impl Inner {
    /// What the flusher sends every interval.
    fn send_periodic(&self) {
        self.send_aggregates();
        self.send_undelivered();
    }

    /// Sends, per record sink and event name, the records dropped or failed since the last
    /// call, as the [`UNDELIVERED_METRIC`](crate::UNDELIVERED_METRIC) counter.
    fn send_undelivered(&self) {
        if self.metric_sinks.is_empty() {
            return;
        }
        let mut line = String::new();
        for record_sink in &self.record_sinks {
            record_sink.take_undelivered(&mut |event_name, count| {
                line.clear();
                self.format
                    .write_undelivered(event_name, record_sink.name(), count, &mut line);
                for sink in &self.metric_sinks {
                    sink.send_lines(&line);
                }
            });
        }
    }

    /// Sends the aggregated counts and value metrics to the metric sinks.
    fn send_aggregates(&self) {
        let Some(aggregates) = &self.aggregates else {
            return;
        };
        let mut line = String::new();
        aggregates.drain(&self.format, &mut line, |line| {
            for sink in &self.metric_sinks {
                sink.send_lines(line);
            }
        });
    }
}

impl Drop for Dispatcher {
    /// Stops the flusher and sends the last aggregated counts, so dropping loses none.
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        self.inner.send_periodic();
    }
}

impl Dispatcher {
    /// Starts configuring a dispatcher.
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder::default()
    }

    /// Sends `event` to every sink. Never blocks beyond the sinks' documented bounds and
    /// never fails the caller: whatever goes wrong is counted in [`Dispatcher::stats`].
    pub fn publish<E: Event>(&self, event: &E) {
        BUFFERS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffers) => self.publish_with(event, &mut buffers),
            // A sink that publishes from inside `send` reenters here; give it fresh buffers.
            Err(_) => self.publish_with(event, &mut Buffers::default()),
        });
    }

    fn publish_with<E: Event>(&self, event: &E, buffers: &mut Buffers) {
        let inner = &*self.inner;
        if !inner.metric_sinks.is_empty() {
            let lines = &mut buffers.lines;
            lines.clear();
            match &inner.aggregates {
                // Aggregated totals are exact, so sampling does not apply to them. Lines
                // are written only when a slot of samples is full.
                Some(aggregates) => aggregates.record(event, &inner.format, lines),
                None => {
                    if E::SAMPLE_RATE >= 1.0 || random_unit() < E::SAMPLE_RATE {
                        inner.format.write_counter(event, E::SAMPLE_RATE, lines);
                    }
                    inner.format.write_value_metrics(event, lines);
                }
            }
            if !lines.is_empty() {
                for sink in &inner.metric_sinks {
                    sink.send_lines(lines);
                }
            }
        }
        if !inner.record_sinks.is_empty() {
            let payload = &mut buffers.payload;
            payload.clear();
            if !inner.framing.is_empty() {
                if let Some(header) = inner.framing.get(&E::type_id()) {
                    payload.extend_from_slice(header);
                }
            }
            event.encode(payload);
            // One clock reading, in the milliseconds both the id and Kafka keep.
            let millis = unix_millis(SystemTime::now());
            let event_id = EventId::at_unix_millis(millis);
            let id_text = event_id.to_hyphenated();
            let record = KafkaRecord {
                topic: E::TOPIC,
                key: event.key(),
                payload,
                event_name: E::NAME,
                schema_name: E::MESSAGE_NAME,
                event_id,
                event_id_text: id_text.as_str(),
                timestamp_millis: millis as i64,
            };
            for sink in &inner.record_sinks {
                sink.send(&record);
            }
        }
    }

    /// The counts of every sink, now.
    pub fn stats(&self) -> DeliveryReport {
        let metric = self.inner.metric_sinks.iter().map(|s| SinkReport {
            name: s.name(),
            stats: s.stats(),
        });
        let record = self.inner.record_sinks.iter().map(|s| SinkReport {
            name: s.name(),
            stats: s.stats(),
        });
        DeliveryReport {
            sinks: metric.chain(record).collect(),
        }
    }

    /// Sends the aggregated counters now, waits at most `timeout` for every sink to send
    /// what it holds, and returns the counts.
    pub fn flush(&self, timeout: Duration) -> DeliveryReport {
        let deadline = Instant::now() + timeout;
        self.inner.send_aggregates();
        for sink in &self.inner.record_sinks {
            sink.flush(deadline.saturating_duration_since(Instant::now()));
        }
        // After the record sinks: what they could not deliver is known only now.
        self.inner.send_undelivered();
        for sink in &self.inner.metric_sinks {
            sink.flush(deadline.saturating_duration_since(Instant::now()));
        }
        self.stats()
    }

    /// Flushes every sink within `timeout` and stops. What is still undelivered then is
    /// given up and counted, so the report is final: for every sink,
    /// `published == delivered + dropped + failed`. `Err` says how much was not delivered.
    pub fn shutdown(mut self, timeout: Duration) -> Result<DeliveryReport, Undelivered> {
        let deadline = Instant::now() + timeout;
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        self.inner.send_aggregates();
        for sink in &self.inner.metric_sinks {
            sink.flush(deadline.saturating_duration_since(Instant::now()));
        }
        for sink in &self.inner.record_sinks {
            sink.shutdown(deadline.saturating_duration_since(Instant::now()));
        }
        // What the record sinks gave up at shutdown is known only now: a last flush of the
        // metric sinks sends it, with a moment's grace when the deadline has passed.
        self.inner.send_undelivered();
        for sink in &self.inner.metric_sinks {
            sink.flush(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(UNDELIVERED_GRACE),
            );
        }
        let report = self.stats();
        if report.undelivered() == 0 {
            Ok(report)
        } else {
            Err(Undelivered { report })
        }
    }
}
