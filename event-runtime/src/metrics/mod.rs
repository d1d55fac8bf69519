//! The metrics path: from an event to its DogStatsD lines (the counter and the value
//! metrics, tagged by its low-cardinality fields, aggregated in process or sent at once)
//! and on to every metric sink: DogStatsD over UDP or a Unix socket.

pub(crate) mod aggregation;
#[cfg(feature = "statsd")]
pub(crate) mod statsd;
pub(crate) mod statsd_line;

use std::time::Instant;

use crate::records::event_id::random_unit;
use crate::report::SinkReport;
use crate::sink::MetricSink;
use crate::Event;
use aggregation::AggregateTables;
use statsd_line::LineFormat;

/// The metric sinks of a dispatcher, and how their lines are written.
pub(crate) struct MetricPath {
    pub format: LineFormat,
    pub sinks: Vec<Box<dyn MetricSink>>,
    /// `Some` when counters and value metrics are aggregated in process.
    pub aggregates: Option<AggregateTables>,
}

impl MetricPath {
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Writes `event`'s lines into `lines` (a reused buffer) and hands them to every sink.
    /// Aggregated, lines are written only when a slot of samples is full.
    #[inline]
    pub fn publish<E: Event>(&self, event: &E, lines: &mut String) {
        lines.clear();
        match &self.aggregates {
            // Aggregated totals are exact, so sampling does not apply to them.
            Some(aggregates) => aggregates.record(event, &self.format, lines),
            None => {
                if E::SAMPLE_RATE >= 1.0 || random_unit() < E::SAMPLE_RATE {
                    self.format.write_counter(event, E::SAMPLE_RATE, lines);
                }
                self.format.write_value_metrics(event, lines);
            }
        }
        if !lines.is_empty() {
            self.send(lines);
        }
    }

    fn send(&self, lines: &str) {
        for sink in &self.sinks {
            sink.send_lines(lines);
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
