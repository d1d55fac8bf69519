//! The dispatcher: one `publish` call formats the DogStatsD lines and encodes the Kafka
//! record of an event once, and hands them to every sink.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::aggregation::CounterTables;
use crate::error::{BuildError, Undelivered};
use crate::event_id::random_unit;
use crate::sink::{MetricSink, RecordSink, SinkStats};
use crate::statsd_line::LineFormat;
use crate::{Event, EventId, KafkaRecord, RecordingSink};

/// Per-thread buffers, reused by every publish so that the steady state allocates nothing.
#[derive(Default)]
struct Buffers {
    lines: String,
    payload: Vec<u8>,
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
    /// `Some` when counters are aggregated in process.
    counters: Option<CounterTables>,
    /// Confluent wire-format headers, per event type registered with a schema id.
    framing: HashMap<TypeId, [u8; 6]>,
}

impl Inner {
    /// Sends the aggregated counts to the metric sinks.
    fn send_aggregates(&self) {
        let Some(counters) = &self.counters else {
            return;
        };
        let mut line = String::new();
        counters.drain(&self.format, &mut line, |line| {
            for sink in &self.metric_sinks {
                sink.send_lines(line);
            }
        });
    }
}

/// The thread that sends aggregated counters every interval.
struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Flusher {
    fn start(inner: &Arc<Inner>, interval: Duration) -> Option<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (shared, signal) = (Arc::clone(inner), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("event-runtime aggregation".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut stopped = stopped.lock().unwrap_or_else(PoisonError::into_inner);
                while !*stopped {
                    stopped = wake
                        .wait_timeout(stopped, interval)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    shared.send_aggregates();
                }
            })
            .ok()?;
        Some(Flusher { stop, thread })
    }

    fn stop(self) {
        *self.stop.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.1.notify_all();
        let _ = self.thread.join();
    }
}

impl Drop for Dispatcher {
    /// Stops the flusher and sends the last aggregated counts, so dropping loses none.
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        self.inner.send_aggregates();
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
            match &inner.counters {
                // Aggregated totals are exact, so sampling does not apply to them.
                Some(counters) => counters.increment(event),
                None => {
                    if E::SAMPLE_RATE >= 1.0 || random_unit() < E::SAMPLE_RATE {
                        inner.format.write_counter(event, E::SAMPLE_RATE, lines);
                    }
                }
            }
            inner.format.write_value_metrics(event, lines);
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
                if let Some(header) = inner.framing.get(&TypeId::of::<E>()) {
                    payload.extend_from_slice(header);
                }
            }
            event.encode(payload);
            let timestamp = SystemTime::now();
            let event_id = EventId::new(timestamp);
            let id_text = event_id.to_hyphenated();
            let record = KafkaRecord {
                topic: E::TOPIC,
                key: event.key(),
                payload,
                event_name: E::NAME,
                schema_name: E::MESSAGE_NAME,
                event_id,
                // The hyphenated form is ASCII by construction.
                event_id_text: std::str::from_utf8(&id_text).unwrap_or_default(),
                timestamp,
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
        for sink in &self.inner.metric_sinks {
            sink.flush(deadline.saturating_duration_since(Instant::now()));
        }
        for sink in &self.inner.record_sinks {
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
        let report = self.stats();
        if report.undelivered() == 0 {
            Ok(report)
        } else {
            Err(Undelivered { report })
        }
    }
}

/// The counts of one sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink's name, e.g. `kafka`.
    pub name: &'static str,
    /// Its counts.
    pub stats: SinkStats,
}

/// The counts of every sink of a dispatcher.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// One entry per sink: metric sinks first, then record sinks.
    pub sinks: Vec<SinkReport>,
}

impl DeliveryReport {
    /// The counts of the sink with this name.
    pub fn sink(&self, name: &str) -> Option<SinkStats> {
        self.sinks.iter().find(|s| s.name == name).map(|s| s.stats)
    }

    /// Items not delivered, over every sink.
    pub fn undelivered(&self) -> u64 {
        self.sinks.iter().map(|s| s.stats.undelivered()).sum()
    }
}

/// Configures a [`Dispatcher`]. Runtime strings are checked by [`DispatcherBuilder::build`].
pub struct DispatcherBuilder {
    aggregation: Option<Duration>,
    framing: HashMap<TypeId, [u8; 6]>,
    prefix: String,
    constant_tags: Vec<(String, String)>,
    metric_sinks: Vec<Box<dyn MetricSink>>,
    record_sinks: Vec<Box<dyn RecordSink>>,
    #[cfg(feature = "statsd")]
    statsd: Vec<crate::StatsdConfig>,
    #[cfg(feature = "kafka")]
    kafka: Vec<crate::KafkaConfig>,
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        DispatcherBuilder {
            aggregation: Some(Duration::from_secs(10)),
            framing: HashMap::new(),
            prefix: String::new(),
            constant_tags: Vec::new(),
            metric_sinks: Vec::new(),
            record_sinks: Vec::new(),
            #[cfg(feature = "statsd")]
            statsd: Vec::new(),
            #[cfg(feature = "kafka")]
            kafka: Vec::new(),
        }
    }
}

impl DispatcherBuilder {
    /// Counts counters in process and sends the totals every `interval` (default: on,
    /// every 10 s, as the DogStatsD clients do) and at flush and shutdown. `None` sends one
    /// counter line per publish instead, sampled by the event's `sample_rate`.
    pub fn aggregate_counters(mut self, interval: Option<Duration>) -> Self {
        self.aggregation = interval;
        self
    }

    /// Writes `E`'s Kafka values in the Confluent Schema Registry wire format, under the
    /// schema id the registry gave `E::proto_schema()` (see [`crate::confluent`]).
    pub fn schema_registry_id<E: Event>(mut self, schema_id: u32) -> Self {
        self.framing
            .insert(TypeId::of::<E>(), crate::confluent::frame_header(schema_id));
        self
    }

    /// A prefix for every metric name: `shop` turns `payment.attempted` into
    /// `shop.payment.attempted`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// A tag added to every metric line, such as `env:prod`. Reserved keys (`env`,
    /// `service`, `version`, ...) belong here rather than on events.
    pub fn constant_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.constant_tags.push((key.into(), value.into()));
        self
    }

    /// Adds a sink for DogStatsD lines.
    pub fn metric_sink(mut self, sink: impl MetricSink + 'static) -> Self {
        self.metric_sinks.push(Box::new(sink));
        self
    }

    /// Adds a sink for Kafka records.
    pub fn record_sink(mut self, sink: impl RecordSink + 'static) -> Self {
        self.record_sinks.push(Box::new(sink));
        self
    }

    /// Records both lines and records into `recording` (a clone shares its store).
    pub fn recording(self, recording: &RecordingSink) -> Self {
        self.metric_sink(recording.clone())
            .record_sink(recording.clone())
    }

    /// Sends metrics to a DogStatsD agent (feature `statsd`). The config's prefix and
    /// constant tags apply to every line of this dispatcher.
    #[cfg(feature = "statsd")]
    pub fn statsd(mut self, config: crate::StatsdConfig) -> Self {
        self.statsd.push(config);
        self
    }

    /// Sends records to Kafka (feature `kafka`).
    #[cfg(feature = "kafka")]
    pub fn kafka(mut self, config: crate::KafkaConfig) -> Self {
        self.kafka.push(config);
        self
    }

    /// Checks the prefix and constant tags, opens the configured sinks, and builds the
    /// dispatcher.
    #[allow(unused_mut)]
    pub fn build(mut self) -> Result<Dispatcher, BuildError> {
        #[cfg(feature = "statsd")]
        for config in &self.statsd {
            if let (Some(prefix), true) = (&config.prefix, self.prefix.is_empty()) {
                self.prefix = prefix.clone();
            }
            self.constant_tags
                .extend(config.constant_tags.iter().cloned());
        }
        if !self.prefix.is_empty() {
            event_names::check_metric_name(&self.prefix).map_err(|reason| {
                BuildError::InvalidPrefix {
                    prefix: self.prefix.clone(),
                    reason,
                }
            })?;
        }
        for (key, value) in &self.constant_tags {
            event_names::check_tag(key, value).map_err(|reason| {
                BuildError::InvalidConstantTag {
                    tag: format!("{key}:{value}"),
                    reason,
                }
            })?;
        }
        // Sinks open sockets and threads, so only once every string has passed.
        #[cfg(feature = "statsd")]
        for config in &self.statsd {
            self.metric_sinks
                .push(Box::new(crate::StatsdSink::new(config)?));
        }
        #[cfg(feature = "kafka")]
        for config in &self.kafka {
            self.record_sinks
                .push(Box::new(crate::KafkaSink::new(config)?));
        }
        let aggregate = self.aggregation.filter(|_| !self.metric_sinks.is_empty());
        let inner = Arc::new(Inner {
            format: LineFormat::new(&self.prefix, &self.constant_tags),
            metric_sinks: self.metric_sinks,
            record_sinks: self.record_sinks,
            counters: aggregate.map(|_| CounterTables::default()),
            framing: self.framing,
        });
        let flusher = aggregate.and_then(|interval| Flusher::start(&inner, interval));
        Ok(Dispatcher { inner, flusher })
    }
}
