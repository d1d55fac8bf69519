//! The dispatcher: one `publish` call hands an event to the metrics path (its DogStatsD
//! lines) and to the records path (its Kafka record), each formatted or encoded once for
//! all of that path's sinks. The dispatcher itself only fans out, and reconciles the two:
//! what the record sinks could not deliver is sent on the metrics path.

mod builder;
pub(crate) mod flusher;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use builder::DispatcherBuilder;
use flusher::Flusher;

use crate::error::Undelivered;
use crate::metrics::MetricPath;
use crate::records::{RecordBuffers, RecordPath};
use crate::report::DeliveryReport;
use crate::Event;

/// How long `shutdown` may still flush the undelivered counter once its timeout has passed.
const UNDELIVERED_GRACE: Duration = Duration::from_millis(200);

/// Per-thread buffers, reused by every publish so that the steady state allocates nothing.
struct Buffers {
    lines: String,
    records: RecordBuffers,
}

impl Default for Buffers {
    /// Room for a few full lines of aggregated samples from the start: they are written
    /// now and then, not on every publish, so growing on demand would allocate long after
    /// the first publish.
    fn default() -> Self {
        Buffers {
            lines: String::with_capacity(4 * crate::metrics::aggregation::SAMPLE_LINE_BYTES),
            records: RecordBuffers::default(),
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

/// What the dispatcher and its flusher thread share (and the global dispatcher).
pub(crate) struct Inner {
    metrics: MetricPath,
    records: RecordPath,
}

impl Inner {
    /// Sends `event` to every sink, formatting and encoding into this thread's buffers.
    #[inline]
    pub(crate) fn publish<E: Event>(&self, event: &E) {
        BUFFERS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffers) => self.publish_with(event, &mut buffers),
            // A sink that publishes from inside `send` reenters here; give it fresh buffers.
            Err(_) => self.publish_with(event, &mut Buffers::default()),
        });
    }

    fn publish_with<E: Event>(&self, event: &E, buffers: &mut Buffers) {
        if !self.metrics.is_empty() {
            self.metrics.publish(event, &mut buffers.lines);
        }
        if !self.records.is_empty() {
            self.records.publish(event, &mut buffers.records);
        }
    }

    /// The full lines of samples publishes handed to the flusher.
    fn send_handed_off(&self) {
        self.metrics.send_handed_off();
    }

    /// What the flusher sends every interval.
    fn send_periodic(&self) {
        self.metrics.send_aggregates();
        self.send_undelivered();
    }

    /// Sends, per record sink and event name, the records dropped or failed since the last
    /// call, as the [`UNDELIVERED_METRIC`](crate::UNDELIVERED_METRIC) counter.
    fn send_undelivered(&self) {
        if self.metrics.is_empty() {
            return;
        }
        self.records
            .take_undelivered(&mut |sink, event_name, count| {
                self.metrics.send_undelivered(sink, event_name, count);
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
    #[inline]
    pub fn publish<E: Event>(&self, event: &E) {
        self.inner.publish(event);
    }

    /// What publishes through this dispatcher, for the global one
    /// ([`crate::set_global`]) to hold while the installer's guard owns the dispatcher.
    pub(crate) fn shared(&self) -> Arc<Inner> {
        Arc::clone(&self.inner)
    }

    /// Publishes whose metric lines were refused, per reason: an event with a tag whose key
    /// a constant tag also has (see [`DispatcherBuilder::event`]). Their Kafka records are
    /// sent.
    pub fn refused_metric_lines(&self) -> std::collections::BTreeMap<String, u64> {
        self.inner
            .metrics
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The counts of every sink, now.
    pub fn stats(&self) -> DeliveryReport {
        DeliveryReport {
            sinks: self
                .inner
                .metrics
                .reports()
                .chain(self.inner.records.reports())
                .collect(),
        }
    }

    /// Why the record sinks' records failed, per sink that knows (the Kafka sink): failures
    /// per cause, client-level errors with their first and last message, and a fatal error.
    /// A service built with `DispatcherBuilder::kafka` (feature `kafka`) reads them here.
    pub fn diagnostics(&self) -> Vec<(&'static str, crate::SinkDiagnostics)> {
        self.inner.records.diagnostics()
    }

    /// Sends the aggregated counters and samples now, waits at most `timeout` for every
    /// sink to send what it holds, and returns the counts. Lines of samples that the
    /// aggregation thread is writing when this is called are sent first: it waits for them,
    /// which takes microseconds with the StatsD sink, as it only queues them.
    pub fn flush(&self, timeout: Duration) -> DeliveryReport {
        let deadline = Instant::now() + timeout;
        self.inner.metrics.send_aggregates();
        self.inner.records.flush(deadline);
        // After the record sinks: what they could not deliver is known only now.
        self.inner.send_undelivered();
        self.inner.metrics.flush(deadline);
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
        self.inner.metrics.send_aggregates();
        self.inner.metrics.flush(deadline);
        self.inner.records.shutdown(deadline);
        // What the record sinks gave up at shutdown is known only now: a last flush of the
        // metric sinks sends it, with a moment's grace when the deadline has passed.
        self.inner.send_undelivered();
        self.inner
            .metrics
            .flush(deadline.max(Instant::now() + UNDELIVERED_GRACE));
        let report = self.stats();
        if report.undelivered() == 0 {
            Ok(report)
        } else {
            Err(Undelivered { report })
        }
    }
}
