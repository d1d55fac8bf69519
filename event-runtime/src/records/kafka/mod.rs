//! Kafka through rdkafka (librdkafka, statically built).
//!
//! `publish` hands its record to the sink's relay, whose thread enqueues it into
//! librdkafka's bounded local queue, and returns. librdkafka batches, retries and delivers
//! from its own threads; each delivery report is counted as `delivered` or `failed` (per
//! error code, see [`KafkaSink::failures`]).
//!
//! **Full queue policy.** librdkafka's queue holds at most `queue.buffering.max.messages`
//! records and `queue.buffering.max.kbytes` of them (defaults here: 100 000 and 64 MiB),
//! and the relay's 8,192 records and 1 MiB more in front of it. When both are full,
//! `publish` waits up to [`KafkaConfig::block_when_full`] (default: not at all) for room,
//! then drops the record and counts it as `dropped`. Memory stays bounded, and no record
//! is lost without being counted.
//!
//! **A disk spool** ([`KafkaConfig::spool`]) takes what the queue has no room for instead
//! of dropping it: records wait in checksummed segment files and one thread feeds them to
//! librdkafka in order as room returns. Write-ahead ([`KafkaConfig::spool_write_ahead`]),
//! every record is on disk before librdkafka sees it, so a crash of the application loses
//! nothing that was synced; a restart sends what the spool holds first.
//!
//! **No loss by default.** `enable.idempotence=true` and `acks=all`: the broker
//! acknowledges a record once every in-sync replica has it, and retries cannot duplicate
//! or reorder records of one partition.
//!
//! **The relay** ([`KafkaConfig::relay`], on unless a spool is configured) takes librdkafka
//! off the publishing thread: a publish copies its record into a bounded queue in memory,
//! and the sink's relay thread moves it on into librdkafka. Order and the full-queue
//! policy are kept.
//!
//! **Background threads.** librdkafka's threads, its delivery reports' poller, the spool's
//! feeder and the relay thread are batch-scheduled on Linux, so a publish that wakes one is
//! not preempted by it ([`KafkaConfig::batch_scheduled_threads`]).
//!
//! **Shutdown.** [`Dispatcher::shutdown`](crate::Dispatcher::shutdown) waits for delivery
//! up to its timeout, then purges what is left so it is counted as `failed`, and reports
//! it. Dropping the sink without a shutdown flushes for up to
//! [`KafkaConfig::drop_flush_timeout`], then librdkafka purges what is left; those
//! records are counted as failed and a warning names the count on stderr, so nothing
//! disappears silently.

mod background_threads;
mod causes;
mod fail_fast;
mod feeder;
mod produce;
mod relay;
pub(crate) mod spool;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Headers as _, Message as _};
use rdkafka::producer::{Producer, ProducerContext, PurgeConfig, ThreadedProducer};
use rdkafka::ClientContext;

use crate::counters::Counters;
use crate::error::BuildError;
use crate::sink::{RecordSink, SinkStats};
use crate::ClientError;
use crate::KafkaRecord;
pub use fail_fast::FailFast;
use spool::{Spool, SpoolSettings};
pub use spool::{SpoolMode, SyncPolicy};

/// Configures the Kafka sink: librdkafka properties plus the full-queue policy.
///
/// Its `Debug` shows secret properties (passwords, secrets, OAuth bearer settings, private
/// keys) as `[redacted]`, so logging a configuration writes none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    properties: BTreeMap<String, String>,
    block_when_full: Duration,
    drop_flush_timeout: Duration,
    spool_dir: Option<PathBuf>,
    spool_max_bytes: Option<u64>,
    spool_mode: SpoolMode,
    fail_fast: Vec<FailFast>,
    batch_scheduled_threads: bool,
    /// `None`: relayed unless a spool is configured.
    relay: Option<bool>,
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
            spool_dir: None,
            spool_max_bytes: None,
            spool_mode: SpoolMode::Overflow,
            fail_fast: Vec::new(),
            batch_scheduled_threads: true,
            relay: None,
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

    /// Spools to `dir` what librdkafka's queue has no room for, rather than dropping it
    /// ([`SpoolMode::Overflow`]; see [`KafkaConfig::spool_write_ahead`] for the other
    /// mode). `publish` stays non-blocking, and [`KafkaConfig::block_when_full`] no longer
    /// applies. At most [`KafkaConfig::spool_max_bytes`] on disk (default 1 GiB); beyond it
    /// records are dropped and counted.
    ///
    /// Records the directory holds at start, left by an earlier run, are sent first, with
    /// their original event id, timestamp, key and headers. A directory is locked while a
    /// sink has it open: a second sink on it, in any process, is refused when built.
    ///
    /// Unless `message.timeout.ms` is set, a spool sets it to 0 (no limit): a record waits
    /// for the broker in librdkafka's bounded queue as the rest wait on disk, rather than
    /// fail after librdkafka's 300 s.
    pub fn spool(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// The spool's bound on disk, in bytes (default 1 GiB). Needs [`KafkaConfig::spool`].
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_max_bytes = Some(bytes);
        self
    }

    /// Makes the spool write-ahead: every record is appended before it is handed to
    /// librdkafka and removed once delivered, synced as `sync` says. A SIGKILL of the
    /// application then loses nothing that was synced; records delivered but not yet
    /// marked so in the spool when it dies are sent again (duplicates with the same event
    /// id, which the warehouse loader stores once). Needs [`KafkaConfig::spool`].
    pub fn spool_write_ahead(mut self, sync: SyncPolicy) -> Self {
        self.spool_mode = SpoolMode::WriteAhead(sync);
        self
    }

    /// The spool settings, checked.
    fn spool_settings(&self) -> Result<Option<SpoolSettings>, BuildError> {
        let Some(dir) = &self.spool_dir else {
            if self.spool_max_bytes.is_some() || self.spool_mode != SpoolMode::Overflow {
                return Err(BuildError::sink(
                    "kafka",
                    "spool_max_bytes and spool_write_ahead need a spool directory: call KafkaConfig::spool(dir) too",
                ));
            }
            return Ok(None);
        };
        let mut settings = SpoolSettings::new(dir.clone());
        settings.mode = self.spool_mode;
        if let Some(bytes) = self.spool_max_bytes {
            settings.max_bytes = bytes;
        }
        if let SpoolMode::WriteAhead(SyncPolicy::Interval(interval)) = settings.mode {
            if interval.is_zero() {
                return Err(BuildError::sink(
                    "kafka",
                    "a write-ahead sync interval of zero: use SyncPolicy::EveryRecord to sync every record",
                ));
            }
        }
        Ok(Some(settings))
    }

    /// Fails records at once when the brokers refuse the client in one of these ways,
    /// rather than letting them wait out `message.timeout.ms` (300 s) or the shutdown's
    /// timeout. From the first such refusal, what librdkafka holds is purged and every
    /// record after it fails at once, each counted in [`KafkaSink::failures`] under the
    /// refusal's cause (`Authentication`, `ClosedOnConnect`, ...), until the sink is built
    /// again. Records already in a [spool](KafkaConfig::spool) stay there for the next
    /// start.
    ///
    /// Off by default: librdkafka keeps retrying a refused connection, and a credential
    /// that reaches the brokers a moment late (a rotation, a user created after the
    /// service) then costs nothing. Turn it on where a refusal means a misconfiguration
    /// to hear about at once, for example in a deployment's smoke test.
    pub fn fail_fast_on(mut self, refusals: impl IntoIterator<Item = FailFast>) -> Self {
        self.fail_fast.extend(refusals);
        self.fail_fast.sort_unstable();
        self.fail_fast.dedup();
        self
    }

    /// Whether the sink's background threads (librdkafka's, the delivery reports' poller,
    /// the relay thread and the spool's feeder) run under Linux's `SCHED_BATCH` policy
    /// (default: yes). They keep their share of the CPU, but a thread that wakes one (a
    /// publish, or the relay thread, that puts the first record in a partition's queue or
    /// finds its `linger.ms` over) is no longer preempted by it, so a request's publish does
    /// not wait while a batch is built and sent. On cores that are all busy, a woken thread
    /// then waits until a running thread's time slice ends. Turn it off where the threads
    /// should preempt, for example to deliver with the least latency on cores that are
    /// always busy. Nothing changes on other systems, or when the building thread runs
    /// under a real-time policy.
    pub fn batch_scheduled_threads(mut self, batch: bool) -> Self {
        self.batch_scheduled_threads = batch;
        self
    }

    /// Whether a publish hands its record to the sink's relay thread rather than to
    /// librdkafka (default: yes, unless a [spool](KafkaConfig::spool) is configured).
    /// Relayed, a publish copies the record into a queue in memory, allocated once (8,192
    /// records and 1 MiB), and returns; the relay thread moves it on into librdkafka within
    /// 5 ms, librdkafka's own default `linger.ms` for its batch (within a millisecond while
    /// records come in bursts), so a record may reach Kafka up to that much later than
    /// without the relay.
    /// librdkafka's code (its locks, its allocations, the wake-ups of its broker threads)
    /// then runs off the publishing thread: at a service's pace that is most of a
    /// publish's time, and all of its tail (BENCHMARKS.md, row 12).
    ///
    /// What stays the same: each thread's records reach Kafka in the order it published
    /// them; a publisher that finds the queue full moves records on into librdkafka
    /// itself, so the full-queue policy ([`KafkaConfig::block_when_full`]) applies only
    /// when librdkafka's queue is full too; an oversized record is counted as failed
    /// (`MessageSizeTooLarge`) inside `publish`, as without the relay; shutdown hands
    /// librdkafka what the queue holds before it purges, so every record is counted.
    /// What differs: up to 8,192 records more may wait in memory, and a record's other
    /// failures (a fatal producer error, an unknown topic) are counted when the relay
    /// thread enqueues it, not inside `publish`; and one more thread runs, waking every
    /// 5 ms while records come (every millisecond in bursts) and sleeping after 100 ms
    /// without any.
    ///
    /// `relay(true)` with a spool is refused when the sink is built: with a spool, a
    /// publish enqueues into librdkafka itself until librdkafka's queue is full, and
    /// appends to the spool after (the spool's feeder thread moves spooled records on).
    pub fn relay(mut self, relay: bool) -> Self {
        self.relay = Some(relay);
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
            .field("spool_dir", &self.spool_dir)
            .field("spool_max_bytes", &self.spool_max_bytes)
            .field("spool_mode", &self.spool_mode)
            .field("fail_fast", &self.fail_fast)
            .field("batch_scheduled_threads", &self.batch_scheduled_threads)
            .field("relay", &self.relay)
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
    /// Records dropped or failed per event name, not yet handed to the dispatcher.
    undelivered: Mutex<BTreeMap<String, u64>>,
    /// Client-level errors per code, and the one failed records are counted under.
    causes: Mutex<causes::Causes>,
    /// The configuration's secret values, cut out of every message kept.
    secrets: Vec<(String, String)>,
    /// Set when the brokers refused the client in a way it fails fast on.
    refusal: fail_fast::Refusal,
}

impl Outcomes {
    /// Counts a record of `event_name` that failed for `reason`.
    fn fail(&self, reason: String, event_name: &str) {
        Counters::add(&self.counters.failed, 1);
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        *failures.entry(reason).or_default() += 1;
        drop(failures);
        self.undelivered(event_name);
    }

    /// Counts a record of `event_name` that librdkafka refused when it was enqueued. A
    /// refusal it already knows (an ACL missing on the topic) is a refusal of the client
    /// as much as its error callback's, so fail-fast takes it too: with the relay, the
    /// records published after it then fail inside `publish`, as they would without it.
    fn refused(&self, code: rdkafka::types::RDKafkaErrorCode, event_name: &str) {
        let reason = format!("{code:?}");
        self.refusal.consider(&reason);
        self.fail(reason, event_name);
    }

    /// Counts a record of `event_name` dropped by a documented policy.
    fn drop_record(&self, event_name: &str) {
        Counters::add(&self.counters.dropped, 1);
        self.undelivered(event_name);
    }

    fn undelivered(&self, event_name: &str) {
        let mut undelivered = self
            .undelivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match undelivered.get_mut(event_name) {
            Some(n) => *n += 1,
            None => {
                undelivered.insert(event_name.to_owned(), 1);
            }
        }
    }
}

/// Counts delivery reports, and settles spooled records in their spool.
struct CountingContext {
    outcomes: Arc<Outcomes>,
    spool: Option<Arc<Spool>>,
}

impl CountingContext {
    /// `message` with the configuration's secret values cut out.
    fn scrub(&self, message: &str) -> String {
        let pairs = self
            .outcomes
            .secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        crate::redaction::scrub(message, pairs)
    }
}

/// Where the sink's log lines go in the `log` crate.
const LOG_TARGET: &str = "event_runtime::kafka";

impl ClientContext for CountingContext {
    /// librdkafka's log lines, to the `log` crate at their level, secrets cut out.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, line: &str) {
        use rdkafka::config::RDKafkaLogLevel::*;
        let level = match level {
            Emerg | Alert | Critical | Error => log::Level::Error,
            Warning => log::Level::Warn,
            Notice | Info => log::Level::Info,
            Debug => log::Level::Debug,
        };
        if log::log_enabled!(target: LOG_TARGET, level) {
            log::log!(target: LOG_TARGET, level, "librdkafka {facility}: {}", self.scrub(line));
        }
        // A bootstrap broker's disconnects come only as log lines, not as errors: a broker
        // that closes each connection as soon as it is made is known only from these.
        if facility == "FAIL" && causes::is_closed_on_connect(line) {
            let code = rdkafka::types::RDKafkaErrorCode::BrokerTransportFailure;
            self.count_client_error(Some(code), self.scrub(line));
        }
    }

    /// A client-level error: counted per code (see [`KafkaSink::client_errors`]) and
    /// logged, a security or fatal error as an error and a broker down as a warning, each
    /// code at most once every 10 s with its count since.
    fn error(&self, error: KafkaError, reason: &str) {
        let message = self.scrub(&format!("{error}: {reason}"));
        self.count_client_error(error.rdkafka_error_code(), message);
    }
}

impl CountingContext {
    fn count_client_error(&self, code: Option<rdkafka::types::RDKafkaErrorCode>, message: String) {
        let delivered_any = self.outcomes.counters.delivered.load(Ordering::Relaxed) > 0;
        let mut causes = self
            .outcomes
            .causes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (cause, log) = causes.record(code, message.clone(), delivered_any);
        // Before the cause can be read (`KafkaSink::client_errors`): whoever sees a refusal
        // there can count on the records published after it failing inside `publish`.
        self.outcomes.refusal.consider(&cause);
        drop(causes);
        if let Some(times) = log {
            let level = if causes::Causes::is_severe(&cause) {
                log::Level::Error
            } else {
                log::Level::Warn
            };
            log::log!(target: LOG_TARGET, level, "Kafka client error {cause} ({times}x): {message}");
        }
        *self
            .outcomes
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }
}

impl ProducerContext for CountingContext {
    /// The record's spool ticket, or 0 for a record that is not in the spool.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: usize) {
        let spooled = self.spool.as_ref().filter(|_| ticket != 0);
        match result {
            Ok(_) => Counters::add(&self.outcomes.counters.delivered, 1),
            // Purged by a shutdown, but safe on disk: it stays for the next start.
            Err((error, _)) if spooled.is_some() && is_purge(error) => {
                spooled.expect("checked").keep(ticket as u64);
                return;
            }
            Err((error, message)) => {
                let event_name = message
                    .headers()
                    .and_then(|headers| {
                        headers
                            .iter()
                            .find(|h| h.key == crate::header::EVENT_NAME)?
                            .value
                    })
                    .and_then(|name| std::str::from_utf8(name).ok())
                    .unwrap_or("unknown");
                let own = error_name(error);
                // A record the brokers refused (an ACL missing on its topic) is a refusal of
                // the client for fail-fast, before it is counted: once its failure shows,
                // the records published after it fail inside `publish`.
                self.outcomes.refusal.consider(&own);
                let reason = match self.outcomes.refusal.cause() {
                    // Purged by fail-fast: counted under the refusal that purged it.
                    Some(cause) if is_purge(error) => cause.to_owned(),
                    _ => self
                        .outcomes
                        .causes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .reason_for(error.rdkafka_error_code(), own),
                };
                self.outcomes.fail(reason, event_name);
            }
        }
        if let Some(spool) = spooled {
            spool.settle(ticket as u64);
        }
    }
}

/// A client-creation error with every secret property's value cut out of its text.
fn scrubbed(error: KafkaError, config: &KafkaConfig) -> KafkaError {
    let scrub = |text: &str| crate::redaction::scrub(text, config.pairs());
    match error {
        KafkaError::ClientConfig(code, description, key, value) => {
            let value = if crate::redaction::is_secret_property(&key) {
                crate::redaction::REDACTED.to_owned()
            } else {
                value
            };
            KafkaError::ClientConfig(code, scrub(&description), key, value)
        }
        KafkaError::ClientCreation(message) => KafkaError::ClientCreation(scrub(&message)),
        other => other,
    }
}

fn is_purge(error: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{PurgeInflight, PurgeQueue};
    matches!(error.rdkafka_error_code(), Some(PurgeQueue | PurgeInflight))
}

fn error_name(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => error.to_string(),
    }
}

/// The producer and its topic handles, shared with the spool's feeder thread.
struct Transport {
    // Declared (so dropped) before the producer: a topic handle must not outlive its client.
    topics: produce::Topics,
    producer: ThreadedProducer<CountingContext>,
}

impl Transport {
    fn enqueue(&self, record: &KafkaRecord<'_>, ticket: u64) -> produce::Enqueued {
        produce::enqueue(&self.producer, &self.topics, record, ticket as usize)
    }
}

/// Sends Kafka records with librdkafka; see the module docs for the guarantees.
pub struct KafkaSink {
    // Declared (so dropped) before the transport: they hold the transport too.
    feeder: Mutex<Option<feeder::Feeder>>,
    relay_thread: Mutex<Option<relay::RelayThread>>,
    transport: Arc<Transport>,
    /// `Some` when records are relayed ([`KafkaConfig::relay`]).
    relay: Option<Arc<relay::Relay>>,
    /// `message.max.bytes`: a relayed record over it fails inside `publish`.
    max_message_bytes: usize,
    spool: Option<Arc<Spool>>,
    /// Records left in the spool by shutdown, for the next start.
    kept: AtomicU64,
    outcomes: Arc<Outcomes>,
    block_when_full: Duration,
    drop_flush_timeout: Duration,
    shut_down: AtomicBool,
}

impl KafkaSink {
    /// Creates the producer. librdkafka connects in the background: a missing broker is
    /// not an error here, its records wait in the queue.
    pub fn new(config: &KafkaConfig) -> Result<Self, BuildError> {
        let spool_settings = config.spool_settings()?;
        let relayed = config.relay.unwrap_or(spool_settings.is_none());
        if relayed && spool_settings.is_some() {
            return Err(BuildError::sink(
                "kafka",
                "relay and spool cannot be combined: the spool's feeder thread already hands records to librdkafka off the publishing thread; drop one of KafkaConfig::relay and KafkaConfig::spool",
            ));
        }
        let max_message_bytes = match config.get("message.max.bytes") {
            None => 1_000_000,
            // librdkafka refuses a value that is not a number when the client is made.
            Some(text) => text.trim().parse().unwrap_or(usize::MAX),
        };
        let mut client = ClientConfig::new();
        for (key, value) in &config.properties {
            client.set(key, value);
        }
        if spool_settings.is_some() && config.get("message.timeout.ms").is_none() {
            client.set("message.timeout.ms", "0");
        }
        let spool = spool_settings
            .map(|settings| {
                let dir = settings.dir.display().to_string();
                Spool::open(settings).map(Arc::new).map_err(|e| {
                    BuildError::sink_caused(
                        "kafka",
                        format!("cannot open the spool directory {dir}: {e}"),
                        e,
                    )
                })
            })
            .transpose()?;
        let outcomes = Arc::new(Outcomes {
            secrets: config
                .pairs()
                .into_iter()
                .filter(|(key, _)| crate::redaction::is_secret_property(key))
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
            refusal: fail_fast::Refusal::new(config.fail_fast.clone()),
            ..Outcomes::default()
        });
        let context = CountingContext {
            outcomes: Arc::clone(&outcomes),
            spool: spool.clone(),
        };
        // librdkafka gives the log callback lines at this level and above. Info at least:
        // some causes are known only from its Info lines (see `CountingContext::log`).
        if (client.log_level as i32) < rdkafka::config::RDKafkaLogLevel::Info as i32 {
            client.set_log_level(rdkafka::config::RDKafkaLogLevel::Info);
        }
        // Every thread started from here to the end of `new` takes this policy.
        let _batch =
            background_threads::BatchScheduled::current_thread(config.batch_scheduled_threads);
        let producer: ThreadedProducer<CountingContext> =
            client.create_with_context(context).map_err(|e| {
                // librdkafka repeats a value it rejects; a secret's is cut out, of the
                // message and of the error kept as the cause.
                let e = scrubbed(e, config);
                BuildError::sink_caused("kafka", e.to_string(), e)
            })?;
        outcomes.refusal.attach(producer.client().native_ptr());
        let transport = Arc::new(Transport {
            producer,
            topics: produce::Topics::default(),
        });
        let thread_error = |thread: &str, e: std::io::Error| {
            BuildError::sink_caused("kafka", format!("cannot start the {thread}: {e}"), e)
        };
        let feeder = spool
            .as_ref()
            .map(|spool| {
                let (transport, outcomes) = (Arc::clone(&transport), Arc::clone(&outcomes));
                feeder::Feeder::start(Arc::clone(spool), transport, outcomes)
                    .map_err(|e| thread_error("spool's feeder thread", e))
            })
            .transpose()?;
        let relay = relayed.then(|| Arc::new(relay::Relay::new()));
        let relay_thread = relay
            .as_ref()
            .map(|relay| {
                let (transport, outcomes) = (Arc::clone(&transport), Arc::clone(&outcomes));
                relay::RelayThread::start(Arc::clone(relay), transport, outcomes)
                    .map_err(|e| thread_error("relay thread", e))
            })
            .transpose()?;
        Ok(KafkaSink {
            feeder: Mutex::new(feeder),
            relay_thread: Mutex::new(relay_thread),
            transport,
            relay,
            max_message_bytes,
            spool,
            kept: AtomicU64::new(0),
            outcomes,
            block_when_full: config.block_when_full,
            drop_flush_timeout: config.drop_flush_timeout,
            shut_down: AtomicBool::new(false),
        })
    }

    /// Failed records so far, per reason: a record's own librdkafka error (e.g.
    /// `TopicAuthorizationFailed: 3`, or `MessageSizeTooLarge` for a record over
    /// `message.max.bytes`, 1,000,000 by default, refused inside `publish` by
    /// [`KafkaRecord::wire_size_at_most`]), or, for one only purged or timed out, the
    /// client-level error that explains it (`Authentication`, `AllBrokersDown`; see
    /// [`KafkaSink::client_errors`]).
    pub fn failures(&self) -> BTreeMap<String, u64> {
        self.outcomes
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Client-level errors so far, per librdkafka error code (`Authentication`,
    /// `AllBrokersDown`, `SSL`, `Fatal`, ...), each with its count and its first and last
    /// message. A record that fails only as purged or timed out is counted in
    /// [`KafkaSink::failures`] under the most telling of these instead.
    pub fn client_errors(&self) -> BTreeMap<String, ClientError> {
        self.outcomes
            .causes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .all()
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

    /// The last error the spool's disk gave (a full disk, a directory that became
    /// unwritable), if any. The records it cost are counted as dropped.
    pub fn spool_error(&self) -> Option<String> {
        self.spool.as_ref().and_then(|spool| spool.last_error())
    }

    /// The fatal error that stopped this producer, if one did (for example the broker lost
    /// the idempotent producer's sequence state). After it, every record fails and is
    /// counted as failed; build a new dispatcher to recover.
    pub fn fatal_error(&self) -> Option<String> {
        self.transport
            .producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code:?}: {reason}"))
    }

    /// Raises a fatal error in librdkafka, for tests of how one is surfaced.
    #[doc(hidden)]
    pub fn raise_fatal_error_for_tests(&self, reason: &str) {
        produce::raise_fatal_error(&self.transport.producer, reason);
    }

    /// Records in librdkafka's queue or in flight to the broker, plus what librdkafka has
    /// yet to report (its out-queue length also counts delivery reports and error
    /// callbacks waiting to be served, such as a connection refused by a broker that is
    /// down), plus the records waiting in the relay.
    pub fn in_flight(&self) -> u64 {
        let in_librdkafka = || self.transport.producer.in_flight_count().max(0) as u64;
        match &self.relay {
            Some(relay) => relay.len_with(in_librdkafka),
            None => in_librdkafka(),
        }
    }

    /// Stops the relay thread and the spool's feeder, hands librdkafka what the relay still
    /// holds, purges what librdkafka holds (spooled records stay in the spool), and leaves
    /// the spool synced with its place recorded, for the next start.
    fn stop_and_purge(&self) {
        if let Some(thread) = self
            .relay_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            thread.stop();
        }
        if let Some(relay) = &self.relay {
            // As the purge would count them: under the client-level error that explains it.
            let reason = self
                .outcomes
                .causes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .reason_for(
                    Some(rdkafka::types::RDKafkaErrorCode::PurgeQueue),
                    "PurgeQueue".to_owned(),
                );
            relay.hand_over_rest(&self.transport, &self.outcomes, &reason);
        }
        if let Some(feeder) = self
            .feeder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            feeder.stop();
        }
        self.purge_remaining();
        if let Some(spool) = &self.spool {
            let _ = spool.sync();
            spool.maintain();
            self.kept.store(spool.unsettled(), Ordering::Release);
        }
    }

    /// A publish through the relay: an oversized record fails now, as librdkafka would
    /// refuse it now; any other is queued, or, when the queue is full, room is made by
    /// moving records on into librdkafka from here, and the full-queue policy applies when
    /// librdkafka's queue is full too.
    fn send_relayed(&self, relay: &relay::Relay, record: &KafkaRecord<'_>) {
        if !record.wire_size_at_most(self.max_message_bytes) {
            let code = rdkafka::types::RDKafkaErrorCode::MessageSizeTooLarge;
            self.outcomes.refused(code, record.event_name);
            return;
        }
        let mut deadline = None;
        loop {
            if relay.push(record) {
                return;
            }
            match relay.help(record, &self.transport, &self.outcomes) {
                relay::Helped::Room => continue,
                relay::Helped::Direct(produce::Enqueued::Ok) => return,
                relay::Helped::Direct(produce::Enqueued::Failed(code)) => {
                    self.outcomes.refused(code, record.event_name);
                    return;
                }
                relay::Helped::Full | relay::Helped::Direct(produce::Enqueued::QueueFull) => {
                    let deadline =
                        *deadline.get_or_insert_with(|| Instant::now() + self.block_when_full);
                    if Instant::now() >= deadline {
                        self.outcomes.drop_record(record.event_name);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    /// Purges what librdkafka still holds and waits briefly for the purge reports, so every
    /// record is counted as delivered or failed.
    fn purge_remaining(&self) {
        self.transport
            .producer
            .purge(PurgeConfig::default().queue().inflight());
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.transport.producer.in_flight_count() > 0 && Instant::now() < deadline {
            let _ = self.transport.producer.flush(Duration::from_millis(50));
        }
    }
}

impl RecordSink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn send(&self, record: &KafkaRecord<'_>) {
        Counters::add(&self.outcomes.counters.published, 1);
        if let Some(cause) = self.outcomes.refusal.cause() {
            self.outcomes.fail(cause.to_owned(), record.event_name);
            return;
        }
        if let Some(spool) = &self.spool {
            if !spool.takes_new_records() {
                match self.transport.enqueue(record, 0) {
                    produce::Enqueued::Ok => return,
                    produce::Enqueued::QueueFull => {}
                    produce::Enqueued::Failed(code) => {
                        self.outcomes.refused(code, record.event_name);
                        return;
                    }
                }
            }
            if spool.append(record).is_err() {
                self.outcomes.drop_record(record.event_name);
            }
            return;
        }
        if let Some(relay) = &self.relay {
            return self.send_relayed(relay, record);
        }
        let mut deadline = None;
        loop {
            match self.transport.enqueue(record, 0) {
                produce::Enqueued::Ok => return,
                produce::Enqueued::QueueFull => {
                    let deadline =
                        *deadline.get_or_insert_with(|| Instant::now() + self.block_when_full);
                    if Instant::now() >= deadline {
                        self.outcomes.drop_record(record.event_name);
                        return;
                    }
                    // librdkafka's own threads drain the queue; give them a moment.
                    std::thread::sleep(Duration::from_millis(1));
                }
                produce::Enqueued::Failed(code) => {
                    self.outcomes.refused(code, record.event_name);
                    return;
                }
            }
        }
    }

    fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        if let Some(relay) = &self.relay {
            // The relay thread moves them on; librdkafka's flush below waits for delivery.
            while relay.len_with(|| 0) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if let Some(spool) = &self.spool {
            let _ = spool.sync();
            while !spool.drained() && Instant::now() < deadline {
                let _ = self.transport.producer.flush(Duration::from_millis(10));
            }
        }
        // An error here only means the timeout passed; the counts say what is pending.
        let _ = self
            .transport
            .producer
            .flush(deadline.saturating_duration_since(Instant::now()));
    }

    fn shutdown(&self, timeout: Duration) {
        self.flush(timeout);
        self.stop_and_purge();
        self.shut_down.store(true, Ordering::Release);
    }

    fn diagnostics(&self) -> Option<crate::SinkDiagnostics> {
        Some(crate::SinkDiagnostics {
            failures: self.failures(),
            client_errors: self.client_errors(),
            fatal_error: self.fatal_error(),
        })
    }

    fn take_undelivered(&self, report: &mut dyn FnMut(&str, u64)) {
        let taken = std::mem::take(
            &mut *self
                .outcomes
                .undelivered
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (event_name, count) in &taken {
            report(event_name, *count);
        }
    }

    fn stats(&self) -> SinkStats {
        let mut stats = self.outcomes.counters.snapshot();
        if let Some(spool) = &self.spool {
            stats.dropped += spool.lost();
            let mut spool_stats = spool.stats();
            spool_stats.kept = self.kept.load(Ordering::Acquire);
            stats.spool = Some(spool_stats);
        }
        stats
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        RecordSink::flush(self, self.drop_flush_timeout);
        let pending = self.stats().pending();
        self.stop_and_purge();
        if pending > 0 {
            let kept = self.kept.load(Ordering::Acquire);
            eprintln!(
                "event-runtime: the Kafka sink was dropped with {pending} records undelivered after {:?}; \
                 {kept} of them stay in the spool for the next start, the rest were purged and counted as failed. \
                 Call Dispatcher::shutdown to get this report.",
                self.drop_flush_timeout
            );
        }
    }
}
