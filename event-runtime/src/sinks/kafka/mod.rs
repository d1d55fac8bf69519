//! Kafka through rdkafka (librdkafka, statically built).
//!
//! `publish` enqueues into librdkafka's bounded local queue and returns. librdkafka
//! batches, retries and delivers from its own threads; each delivery report is counted
//! as `delivered` or `failed` (per error code, see [`KafkaSink::failures`]).
//!
//! **Full queue policy.** The queue holds at most `queue.buffering.max.messages`
//! records and `queue.buffering.max.kbytes` of them (defaults here: 100 000 and 64 MiB).
//! When it is full, `publish` waits up to [`KafkaConfig::block_when_full`] (default: not
//! at all) for room, then drops the record and counts it as `dropped`. Memory stays
//! bounded, and no record is lost without being counted.
//!
//! **No loss by default.** `enable.idempotence=true` and `acks=all`: the broker
//! acknowledges a record once every in-sync replica has it, and retries cannot duplicate
//! or reorder records of one partition.
//!
//! **Shutdown.** [`Dispatcher::shutdown`](crate::Dispatcher::shutdown) waits for delivery
//! up to its timeout, then purges what is left so it is counted as `failed`, and reports
//! it. Dropping the sink without a shutdown flushes for up to
//! [`KafkaConfig::drop_flush_timeout`], then librdkafka purges what is left; those
//! records are counted as failed and a warning names the count on stderr, so nothing
//! disappears silently.

mod produce;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{Producer, ProducerContext, PurgeConfig, ThreadedProducer};
use rdkafka::ClientContext;

use super::Counters;
use crate::error::BuildError;
use crate::sink::{RecordSink, SinkStats};
use crate::KafkaRecord;

/// Configures the Kafka sink: librdkafka properties plus the full-queue policy.
///
/// Its `Debug` shows secret properties (passwords, secrets, OAuth bearer settings, private
/// keys) as `[redacted]`, so logging a configuration writes none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    properties: BTreeMap<String, String>,
    block_when_full: Duration,
    drop_flush_timeout: Duration,
}

impl KafkaConfig {
    /// A producer for `bootstrap_servers` (e.g. `127.0.0.1:9092`) with no-loss defaults:
    /// `enable.idempotence=true`, `acks=all`, a local queue bounded to 100 000 records and
    /// 64 MiB, and `topic.metadata.propagation.max.ms=300000` so that records queued before
    /// the broker is up are not failed as "unknown topic".
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        let mut properties = BTreeMap::new();
        for (key, value) in [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("queue.buffering.max.messages", "100000"),
            ("queue.buffering.max.kbytes", "65536"),
            // A producer that starts before its broker (or while a restarted broker is
            // still loading its logs) would otherwise fail every queued record as "unknown
            // topic" after 30 s; wait as long as a record may wait anyway.
            ("topic.metadata.propagation.max.ms", "300000"),
        ] {
            properties.insert(key.to_owned(), value.to_owned());
        }
        properties.insert("bootstrap.servers".to_owned(), bootstrap_servers.into());
        KafkaConfig {
            properties,
            block_when_full: Duration::ZERO,
            drop_flush_timeout: Duration::from_secs(5),
        }
    }

    /// [`KafkaConfig::new`] with `KAFKA_BOOTSTRAP_SERVERS`, or `None` when it is unset.
    pub fn from_env() -> Option<Self> {
        std::env::var("KAFKA_BOOTSTRAP_SERVERS")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(KafkaConfig::new)
    }

    /// Sets any librdkafka property, e.g. `linger.ms`, `compression.type`,
    /// `security.protocol`, `ssl.ca.location`, `sasl.mechanisms`.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// How long `publish` may wait for room when the local queue is full before dropping
    /// the record (default: zero, never block).
    pub fn block_when_full(mut self, bound: Duration) -> Self {
        self.block_when_full = bound;
        self
    }

    /// How long dropping the sink without a shutdown waits for delivery (default 5 s).
    pub fn drop_flush_timeout(mut self, timeout: Duration) -> Self {
        self.drop_flush_timeout = timeout;
        self
    }

    /// Every property as `(key, value)`.
    fn pairs(&self) -> Vec<(&str, &str)> {
        self.properties
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    /// The value of a property, as it will be given to librdkafka (secrets included: this
    /// is the one place that shows them).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("properties", &crate::redaction::Redacted(&self.pairs()))
            .field("block_when_full", &self.block_when_full)
            .field("drop_flush_timeout", &self.drop_flush_timeout)
            .finish()
    }
}

/// Delivery outcomes, shared between the sink and librdkafka's callback thread.
#[derive(Default)]
struct Outcomes {
    counters: Counters,
    /// Failed deliveries per error, e.g. `MessageTimedOut`.
    failures: Mutex<BTreeMap<String, u64>>,
    /// The last client-level error librdkafka reported (broker down, fatal idempotence).
    last_error: Mutex<Option<String>>,
}

impl Outcomes {
    fn fail(&self, reason: String, n: u64) {
        Counters::add(&self.counters.failed, n);
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        *failures.entry(reason).or_default() += n;
    }
}

struct CountingContext(Arc<Outcomes>);

impl ClientContext for CountingContext {
    fn error(&self, error: KafkaError, reason: &str) {
        *self
            .0
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(format!("{error}: {reason}"));
    }
}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => Counters::add(&self.0.counters.delivered, 1),
            Err((error, _)) => self.0.fail(error_name(error), 1),
        }
    }
}

fn error_name(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => error.to_string(),
    }
}

/// Sends Kafka records with librdkafka; see the module docs for the guarantees.
pub struct KafkaSink {
    // Declared (so dropped) before the producer: a topic handle must not outlive its client.
    topics: produce::Topics,
    producer: ThreadedProducer<CountingContext>,
    outcomes: Arc<Outcomes>,
    block_when_full: Duration,
    drop_flush_timeout: Duration,
    shut_down: AtomicBool,
}

impl KafkaSink {
    /// Creates the producer. librdkafka connects in the background: a missing broker is
    /// not an error here, its records wait in the queue.
    pub fn new(config: &KafkaConfig) -> Result<Self, BuildError> {
        let mut client = ClientConfig::new();
        for (key, value) in &config.properties {
            client.set(key, value);
        }
        let outcomes = Arc::new(Outcomes::default());
        let producer = client
            .create_with_context(CountingContext(Arc::clone(&outcomes)))
            .map_err(|e| BuildError::Sink {
                sink: "kafka",
                // librdkafka repeats a value it rejects; a secret's is cut out.
                message: crate::redaction::scrub(&e.to_string(), config.pairs()),
            })?;
        Ok(KafkaSink {
            producer,
            outcomes,
            topics: produce::Topics::default(),
            block_when_full: config.block_when_full,
            drop_flush_timeout: config.drop_flush_timeout,
            shut_down: AtomicBool::new(false),
        })
    }

    /// Failed deliveries so far, per librdkafka error (e.g. `MessageTimedOut: 3`).
    pub fn failures(&self) -> BTreeMap<String, u64> {
        self.outcomes
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The last client-level error librdkafka reported, such as all brokers being down or
    /// a fatal idempotent-producer error.
    pub fn last_error(&self) -> Option<String> {
        self.outcomes
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fatal error that stopped this producer, if one did (for example the broker lost
    /// the idempotent producer's sequence state). After it, every record fails and is
    /// counted as failed; build a new dispatcher to recover.
    pub fn fatal_error(&self) -> Option<String> {
        self.producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code:?}: {reason}"))
    }

    /// Raises a fatal error in librdkafka, for tests of how one is surfaced.
    #[doc(hidden)]
    pub fn raise_fatal_error_for_tests(&self, reason: &str) {
        produce::raise_fatal_error(&self.producer, reason);
    }

    /// Records in librdkafka's queue or in flight to the broker, plus what librdkafka has
    /// yet to report (its out-queue length also counts delivery reports and error
    /// callbacks waiting to be served, such as a connection refused by a broker that is down).
    pub fn in_flight(&self) -> u64 {
        self.producer.in_flight_count().max(0) as u64
    }

    /// Purges what librdkafka still holds and waits briefly for the purge reports, so every
    /// record is counted as delivered or failed.
    fn purge_remaining(&self) {
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.producer.in_flight_count() > 0 && Instant::now() < deadline {
            let _ = self.producer.flush(Duration::from_millis(50));
        }
    }
}

impl RecordSink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn send(&self, record: &KafkaRecord<'_>) {
        Counters::add(&self.outcomes.counters.published, 1);
        let mut deadline = None;
        loop {
            match produce::enqueue(&self.producer, &self.topics, record) {
                produce::Enqueued::Ok => return,
                produce::Enqueued::QueueFull => {
                    let deadline =
                        *deadline.get_or_insert_with(|| Instant::now() + self.block_when_full);
                    if Instant::now() >= deadline {
                        Counters::add(&self.outcomes.counters.dropped, 1);
                        return;
                    }
                    // librdkafka's own threads drain the queue; give them a moment.
                    std::thread::sleep(Duration::from_millis(1));
                }
                produce::Enqueued::Failed(code) => {
                    self.outcomes.fail(format!("{code:?}"), 1);
                    return;
                }
            }
        }
    }

    fn flush(&self, timeout: Duration) {
        // An error here only means the timeout passed; the counts say what is pending.
        let _ = self.producer.flush(timeout);
    }

    fn shutdown(&self, timeout: Duration) {
        self.flush(timeout);
        self.purge_remaining();
        self.shut_down.store(true, Ordering::Release);
    }

    fn stats(&self) -> SinkStats {
        self.outcomes.counters.snapshot()
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        let _ = self.producer.flush(self.drop_flush_timeout);
        let pending = self.stats().pending();
        if pending > 0 {
            self.purge_remaining();
            eprintln!(
                "event-runtime: the Kafka sink was dropped with {pending} records undelivered after {:?}; \
                 they were purged and counted as failed. Call Dispatcher::shutdown to get this report.",
                self.drop_flush_timeout
            );
        }
    }
}
