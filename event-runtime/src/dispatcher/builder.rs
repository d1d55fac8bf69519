//! Configuring a dispatcher: settings, sinks, and the checks of runtime strings.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::flusher::{Flusher, FlusherSignal};
use super::{Dispatcher, Inner};
use crate::error::BuildError;
use crate::metrics::aggregation::AggregateTables;
use crate::metrics::statsd_line::LineFormat;
use crate::metrics::MetricPath;
use crate::records::RecordPath;
use crate::sink::{MetricSink, RecordSink};
use crate::{Event, RecordingSink};

/// How often aggregated metrics (and, without aggregation, undelivered counts) are sent.
const DEFAULT_AGGREGATION_INTERVAL: Duration = Duration::from_secs(10);

/// Configures a [`Dispatcher`]. Runtime strings are checked by [`DispatcherBuilder::build`].
pub struct DispatcherBuilder {
    aggregation: Option<Duration>,
    framing: HashMap<TypeId, [u8; 6]>,
    prefix: String,
    constant_tags: Vec<(String, String)>,
    /// Events registered with [`DispatcherBuilder::event`]: name and tag keys.
    events: Vec<(&'static str, &'static [&'static str])>,
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
            aggregation: Some(DEFAULT_AGGREGATION_INTERVAL),
            framing: HashMap::new(),
            prefix: String::new(),
            constant_tags: Vec::new(),
            events: Vec::new(),
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
    /// Aggregates metrics in process and sends them every `interval` (default: on, every
    /// 10 s, as the DogStatsD clients do) and at flush and shutdown: counters as exact
    /// totals, `count` metrics as sums, `gauge` metrics as their last value, and
    /// distribution, histogram and timing samples as multi-value lines (every sample is
    /// kept; full lines also go out between intervals, from the same thread). `None` sends
    /// each publish's lines at once instead, its counter sampled by the event's
    /// `sample_rate`.
    pub fn aggregate_metrics(mut self, interval: Option<Duration>) -> Self {
        self.aggregation = interval;
        self
    }

    /// Writes `E`'s Kafka values in the Confluent Schema Registry wire format, under the
    /// schema id the registry gave `E::proto_schema()` (see [`crate::confluent`]).
    pub fn schema_registry_id<E: Event>(mut self, schema_id: u32) -> Self {
        self.framing
            .insert(E::type_id(), crate::confluent::frame_header(schema_id));
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

    /// Registers an event type the dispatcher will publish, so that [`build`] refuses a
    /// constant tag whose key is also one of its tags. An event not registered is checked
    /// on its first publish instead: its metric lines are then refused and counted
    /// ([`Dispatcher::refused_metric_lines`]), and stderr says why once.
    ///
    /// [`build`]: DispatcherBuilder::build
    pub fn event<E: Event>(mut self) -> Self {
        self.events.push((E::NAME, E::TAG_KEYS));
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
        for (i, (key, value)) in self.constant_tags.iter().enumerate() {
            event_names::check_tag(key, value).map_err(|reason| {
                BuildError::InvalidConstantTag {
                    tag: format!("{key}:{value}"),
                    reason,
                }
            })?;
            if let Some((_, first)) = self.constant_tags[..i].iter().find(|(k, _)| k == key) {
                return Err(BuildError::DuplicateConstantTag {
                    key: key.clone(),
                    values: (first.clone(), value.clone()),
                });
            }
        }
        let format = LineFormat::new(&self.prefix, &self.constant_tags);
        for (event, keys) in &self.events {
            if let Some(key) = format.clashing_key(keys) {
                return Err(BuildError::ConstantTagClash { event, key });
            }
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
        let flusher_signal = Arc::new(FlusherSignal::default());
        let inner = Arc::new(Inner {
            metrics: MetricPath {
                format,
                sinks: self.metric_sinks,
                aggregates: aggregate.map(|_| AggregateTables::new(Arc::clone(&flusher_signal))),
                rendered: Default::default(),
                refused: Default::default(),
            },
            records: RecordPath {
                sinks: self.record_sinks,
                framing: self.framing,
                clock: Default::default(),
            },
        });
        // Without aggregation the flusher still sends the record sinks' undelivered counts.
        let reconcile = !inner.metrics.is_empty() && !inner.records.is_empty();
        let interval = aggregate.or(reconcile.then_some(DEFAULT_AGGREGATION_INTERVAL));
        let flusher =
            interval.and_then(|interval| Flusher::start(&inner, interval, flusher_signal));
        Ok(Dispatcher { inner, flusher })
    }
}
