//! The metrics path: from an event to its DogStatsD lines (the counter and the value
//! metrics, tagged by its low-cardinality fields, aggregated in process or sent at once)
//! and on to every metric sink: DogStatsD over UDP or a Unix socket.

pub(crate) mod aggregation;
mod rendered;
mod samples;
#[cfg(feature = "statsd")]
pub(crate) mod statsd;
pub(crate) mod statsd_line;

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::report::SinkReport;
use crate::sink::MetricSink;
use crate::Event;
use aggregation::AggregateTables;
use rendered::RenderedLines;
use statsd_line::LineFormat;

/// The metric sinks of a dispatcher, and how their lines are written.
pub(crate) struct MetricPath {
    pub format: LineFormat,
    pub sinks: Vec<Box<dyn MetricSink>>,
    /// `Some` when counters and value metrics are aggregated in process.
    pub aggregates: Option<AggregateTables>,
    /// The lines sent at once when they are not aggregated, rendered per tag combination.
    pub rendered: RenderedLines,
    /// Publishes whose lines were refused, per reason.
    pub refused: Mutex<BTreeMap<String, u64>>,
}

impl MetricPath {
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Writes `event`'s lines into `lines` (a reused buffer) and hands them to every sink.
    /// Aggregated, lines are written only when a slot of samples is full and the
    /// aggregation thread has no spare buffer left to take it.
    #[inline]
    pub fn publish<E: Event>(&self, event: &E, lines: &mut String) {
        lines.clear();
        match &self.aggregates {
            // Aggregated totals are exact, so sampling does not apply to them.
            Some(aggregates) => {
                if let Err(key) = aggregates.record(event, &self.format, lines) {
                    return self.refuse(E::NAME, key);
                }
            }
            None => {
                if let Err(key) = self.rendered.write(event, &self.format, lines) {
                    return self.refuse(E::NAME, key);
                }
            }
        }
        if !lines.is_empty() {
            self.send(lines);
        }
    }

    /// Counts a publish of `event` whose lines are refused because its tag `key` is also a
    /// constant tag, and says so on stderr the first time.
    #[cold]
    fn refuse(&self, event: &str, key: &str) {
        let reason = format!(
            "event `{event}` has a tag `{key}`, and so does the dispatcher's constant tags"
        );
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        let count = refused.entry(reason).or_default();
        *count += 1;
        if *count == 1 {
            eprintln!(
                "event-runtime: metric lines of `{event}` are not sent: its tag `{key}` is also \
                 a constant tag of this dispatcher, so every line would carry `{key}` twice and \
                 split each of its series. Its Kafka records are sent. Rename one of the two \
                 (Dispatcher::refused_metric_lines counts these publishes)."
            );
        }
    }

    fn send(&self, lines: &str) {
        for sink in &self.sinks {
            sink.send_lines(lines);
        }
    }

    /// Sends the full lines of samples that publishes handed over since the last call.
    pub fn send_handed_off(&self) {
        if let Some(aggregates) = &self.aggregates {
            let mut line = String::new();
            aggregates.drain_handed_off(&self.format, &mut line, &mut |line| self.send(line));
        }
    }

    /// Sends the aggregated counts and value metrics.
    pub fn send_aggregates(&self) {
        let Some(aggregates) = &self.aggregates else {
            return;
        };
        let mut line = String::new();
        aggregates.drain(&self.format, &mut line, |line| self.send(line));
    }

    /// Sends the [`UNDELIVERED_METRIC`](crate::UNDELIVERED_METRIC) counter: `count`
    /// records of `event_name` that the record sink `sink` dropped or failed.
    pub fn send_undelivered(&self, sink: &str, event_name: &str, count: u64) {
        if self.sinks.is_empty() {
            return;
        }
        let mut line = String::new();
        self.format
            .write_undelivered(event_name, sink, count, &mut line);
        self.send(&line);
    }

    /// Waits until `deadline` at most for every sink to send what it holds.
    pub fn flush(&self, deadline: Instant) {
        for sink in &self.sinks {
            sink.flush(deadline.saturating_duration_since(Instant::now()));
        }
    }

    pub fn reports(&self) -> impl Iterator<Item = SinkReport> + '_ {
        self.sinks.iter().map(|s| SinkReport {
            name: s.name(),
            stats: s.stats(),
            diagnostics: None,
        })
    }
}
