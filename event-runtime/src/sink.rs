//! Sinks: where the dispatcher hands an event once it is formatted and encoded.
//!
//! A metric sink receives DogStatsD lines; a record sink receives Kafka records. Each
//! keeps its own counts, so nothing is lost without being counted:
//! `published == delivered + dropped + failed + pending`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::KafkaRecord;

/// What a sink did with what it was given. Counted in lines for metric sinks and in
/// records for record sinks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Handed to the sink by `publish`.
    pub published: u64,
    /// Confirmed written: acknowledged by the broker, or sent on the socket.
    pub delivered: u64,
    /// Discarded on purpose by a documented policy (e.g. a full queue).
    pub dropped: u64,
    /// Attempted and failed (e.g. the broker rejected it, the agent is unreachable).
    pub failed: u64,
    /// The Kafka sink's disk spool, when it has one.
    pub spool: Option<SpoolStats>,
}

impl SinkStats {
    /// Published but not yet delivered, dropped or failed, nor kept in a spool for the
    /// next start.
    pub fn pending(&self) -> u64 {
        let kept = self.spool.map_or(0, |spool| spool.kept);
        self.published
            .saturating_sub(self.delivered + self.dropped + self.failed + kept)
    }

    /// Everything not delivered: pending, dropped and failed.
    pub fn undelivered(&self) -> u64 {
        self.published.saturating_sub(self.delivered)
    }
}

/// What a Kafka sink's disk spool did, in records (and its size in bytes now).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Records published in this run and written to the spool.
    pub spooled: u64,
    /// Records found in the spool at start (left by an earlier run) and sent again, with
    /// their original event id, timestamp, key and headers. Counted in `published` too.
    pub replayed: u64,
    /// Bytes the spool's files hold now.
    pub bytes: u64,
    /// Damaged records found in the spool (a flipped byte, a tail torn by a crash): never
    /// sent. Not counted in `published`: their content is unknown.
    pub corrupt: u64,
    /// Records left in the spool by `shutdown` (or a drop) for the next start to send.
    /// Counted in `published`, and neither delivered nor failed.
    pub kept: u64,
}

/// One kind of client-level error a record sink's client reported (for Kafka, per
/// librdkafka error code: `Authentication`, `AllBrokersDown`, `SSL`, `Fatal`, ..., and
/// `ClosedOnConnect` when the broker closes each connection as soon as it is made).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientError {
    /// How many times it was reported.
    pub count: u64,
    /// Its first message (secret property values cut out).
    pub first: String,
    /// Its latest message.
    pub last: String,
    /// What to check, for an error with a usual cause (a wrong password, a missing ACL, a
    /// plaintext client on a SASL port).
    pub hint: Option<&'static str>,
}

/// Why a record sink's records failed, for a service to log or expose
/// ([`Dispatcher::diagnostics`](crate::Dispatcher::diagnostics)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkDiagnostics {
    /// Failed records per reason: a record's own error, or, for one that was only purged
    /// or timed out, the client-level error that explains it.
    pub failures: BTreeMap<String, u64>,
    /// Client-level errors per code.
    pub client_errors: BTreeMap<String, ClientError>,
    /// The fatal error that stopped the client, if one did.
    pub fatal_error: Option<String>,
}

/// A destination for DogStatsD lines.
pub trait MetricSink: Send + Sync {
    /// A short name for reports, e.g. `statsd`.
    fn name(&self) -> &'static str;
    /// Takes one event's lines, joined with `\n`. Must not block.
    fn send_lines(&self, lines: &str);
    /// Sends everything buffered, waiting at most `timeout`.
    fn flush(&self, timeout: Duration);
    /// The counts so far.
    fn stats(&self) -> SinkStats;
}

/// A destination for Kafka records.
pub trait RecordSink: Send + Sync {
    /// A short name for reports, e.g. `kafka`.
    fn name(&self) -> &'static str;
    /// Takes one record. Must not block beyond the sink's documented bound.
    fn send(&self, record: &KafkaRecord<'_>);
    /// Waits at most `timeout` for everything published to be delivered or failed.
    fn flush(&self, timeout: Duration);
    /// Flushes within `timeout`, then gives up on what is left so that every record is
    /// counted as delivered, dropped or failed. Called once, by `Dispatcher::shutdown`.
    fn shutdown(&self, timeout: Duration) {
        self.flush(timeout);
    }
    /// The counts so far.
    fn stats(&self) -> SinkStats;
    /// Hands `report` the number of records of each event name that this sink dropped or
    /// failed since the last call. The dispatcher sends them as the
    /// [`UNDELIVERED_METRIC`](crate::UNDELIVERED_METRIC) counter, so the StatsD side can
    /// be reconciled with what reached this sink's destination. The default reports none.
    fn take_undelivered(&self, report: &mut dyn FnMut(&str, u64)) {
        let _ = report;
    }
    /// Why records failed, when the sink knows more than its counts. The default: nothing.
    fn diagnostics(&self) -> Option<SinkDiagnostics> {
        None
    }
}

/// Share a sink with the dispatcher and keep a handle to it (e.g. to read
/// `KafkaSink::failures`): `builder.record_sink(Arc::clone(&sink))`.
impl<T: MetricSink + ?Sized> MetricSink for std::sync::Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn send_lines(&self, lines: &str) {
        (**self).send_lines(lines)
    }
    fn flush(&self, timeout: Duration) {
        (**self).flush(timeout)
    }
    fn stats(&self) -> SinkStats {
        (**self).stats()
    }
}

impl<T: RecordSink + ?Sized> RecordSink for std::sync::Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        (**self).send(record)
    }
    fn flush(&self, timeout: Duration) {
        (**self).flush(timeout)
    }
    fn shutdown(&self, timeout: Duration) {
        (**self).shutdown(timeout)
    }
    fn stats(&self) -> SinkStats {
        (**self).stats()
    }
    fn take_undelivered(&self, report: &mut dyn FnMut(&str, u64)) {
        (**self).take_undelivered(report)
    }
    fn diagnostics(&self) -> Option<SinkDiagnostics> {
        (**self).diagnostics()
    }
}
