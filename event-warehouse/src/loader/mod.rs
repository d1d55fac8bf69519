//! The loader: a Kafka consumer group that turns records into rows, batch by batch.
//!
//! Delivery is at least once: a batch is written, and only once its rows are durable are
//! its offsets committed. A crash before that replays the batch on restart, and the
//! primary key on the event id turns what was already written into no-ops.

use std::time::Duration;

use event_runtime::{DecodeOwned, Event};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::backend::{prepare, Backend, Written};
use crate::error::WarehouseError;
use crate::table::Table;

mod reader;
mod running;
mod spare;

use reader::{decode_row, known_fields, Collected, EventTable, Reader};
pub use running::RunningLoader;

/// Where to consume from, and how much to write at once. Its `Debug` shows secret
/// properties (passwords, secrets, private keys) as `[redacted]`.
#[derive(Clone)]
pub struct LoaderConfig {
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// The consumer group: its committed offsets are the loader's progress.
    pub group_id: String,
    /// Records per batch (one write and one offset commit each).
    pub batch_size: usize,
    /// How long a batch waits to fill once its first record arrived.
    pub batch_linger: Duration,
    /// A batch is written early once no record has come for this long: the loader has
    /// caught up with the topics, and waiting out the linger would only delay the rows.
    pub batch_idle: Duration,
    /// Extra consumer properties (security settings, ...), applied last.
    pub properties: Vec<(String, String)>,
}

impl std::fmt::Debug for LoaderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let properties: Vec<(&str, &str)> = self
            .properties
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        f.debug_struct("LoaderConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("group_id", &self.group_id)
            .field("batch_size", &self.batch_size)
            .field("batch_linger", &self.batch_linger)
            .field("batch_idle", &self.batch_idle)
            .field(
                "properties",
                &event_runtime::redaction::Redacted(&properties),
            )
            .finish()
    }
}

impl LoaderConfig {
    /// Defaults: batches of 20,000 records or 200 ms, whichever comes first, or sooner when
    /// the topics go quiet for 20 ms. Large batches amortize the transaction and the offset
    /// commit; three are in memory at most (one being read, two being written). A loader
    /// that is behind always finds records waiting (the consumer fetches ahead), so the
    /// idle time only ends batches at the end of a burst.
    pub fn new(bootstrap_servers: impl Into<String>, group_id: impl Into<String>) -> Self {
        LoaderConfig {
            bootstrap_servers: bootstrap_servers.into(),
            group_id: group_id.into(),
            batch_size: 20_000,
            batch_linger: Duration::from_millis(200),
            batch_idle: Duration::from_millis(20),
            properties: Vec::new(),
        }
    }

    /// Sets a consumer property.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }
}

/// Totals since the loader started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Records consumed.
    pub records: u64,
    /// Rows written.
    pub inserted: u64,
    /// Records whose event id already had a row (replays).
    pub duplicates: u64,
    /// Records of event types this loader was not given (other events on the same topic).
    pub skipped: u64,
    /// Records that could not be decoded, written to the rejects table.
    pub rejected: u64,
    /// Times a record was left in Kafka because it has a field this loader's definition
    /// lacks (it was written by a newer definition, during a rolling upgrade): its
    /// partition waits at it, paused, and an upgraded instance loads it once the partition
    /// moves there. Nothing is written without the field.
    pub left_for_newer: u64,
    /// Batches written.
    pub batches: u64,
    /// Offset commits that failed after their batch was written (the batch will be
    /// replayed, harmlessly, after a restart or rebalance).
    pub commit_failures: u64,
    /// Where the loader's time went, to tell which side sets its pace.
    pub time: LoadTime,
}

/// Time spent in each stage of loading, summed over the batches. In
/// [`RunningLoader::run`] reading and writing overlap, so the stages add up to more than
/// the time passed: a side that waits a large share of it is not the one that sets the
/// pace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadTime {
    /// Polling records and turning them into rows.
    pub reading: Duration,
    /// The reading side waiting for a batch to be written and its offsets committed (only
    /// in `run`).
    pub waiting_for_writer: Duration,
    /// Committing offsets to Kafka (in `run`, by a thread of its own, while the writer
    /// writes the next batch).
    pub committing: Duration,
    /// Writing batches to the database.
    pub writing: Duration,
    /// The writer waiting for the reading side to hand it a batch (only in `run`).
    pub waiting_for_reader: Duration,
}

impl LoadStats {
    pub(in crate::loader) fn add(
        &mut self,
        collected: &Collected,
        written: Written,
        committed: bool,
    ) {
        self.records += collected.consumed;
        self.skipped += collected.skipped;
        self.left_for_newer += collected.left_for_newer;
        self.inserted += written.inserted;
        self.duplicates += written.duplicates;
        self.rejected += written.rejected;
        self.batches += 1;
        if !committed {
            self.commit_failures += 1;
        }
    }
}

/// Loads the events of chosen types from Kafka into their tables.
///
/// ```no_run
/// use event_runtime::Event;
/// use event_warehouse::{Loader, LoaderConfig, Sqlite};
///
/// #[derive(Event)]
/// #[event(topic = "orders")]
/// struct OrderPlaced {
///     #[event(key)]
///     order_id: String,
///     user_id: String,
/// }
///
/// let backend = Sqlite::open("events.db")?;
/// let mut loader = Loader::new(LoaderConfig::new("127.0.0.1:9092", "warehouse"), backend)
///     .event::<OrderPlaced>()
///     .start()?;
/// loop {
///     let written = loader.load_batch()?;
///     println!("{} rows", written.inserted);
/// }
/// # Ok::<(), event_warehouse::WarehouseError>(())
/// ```
pub struct Loader<B: Backend> {
    config: LoaderConfig,
    backend: B,
    events: Vec<Result<EventTable, WarehouseError>>,
}

impl<B: Backend> Loader<B> {
    /// A loader writing to `backend`. Add event types with [`Loader::event`].
    pub fn new(config: LoaderConfig, backend: B) -> Self {
        Loader {
            config,
            backend,
            events: Vec::new(),
        }
    }

    /// Loads events of type `E` into their table. `E` owns its fields (`DecodeOwned`): a
    /// loader decodes each record into a value it keeps until the row is built.
    pub fn event<E: Event + DecodeOwned>(mut self) -> Self {
        self.events.push(Table::of::<E>().map(|table| EventTable {
            table,
            decode: decode_row::<E>,
            known_fields: known_fields::<E>(),
        }));
        self
    }

    /// Prepares every table (refusing an incompatible definition change), then joins the
    /// consumer group on the events' topics.
    pub fn start(self) -> Result<RunningLoader<B>, WarehouseError> {
        let Loader {
            config,
            mut backend,
            events,
        } = self;
        let events: Vec<EventTable> = events.into_iter().collect::<Result<_, _>>()?;
        if events.is_empty() {
            return Err(WarehouseError::Definition(
                "the loader has no event types: add them with `.event::<E>()`".into(),
            ));
        }
        // One loader at a time, so that instances starting together do not race in the
        // catalog; the others wait here and find the tables made.
        backend.lock_schema()?;
        let prepared = events
            .iter()
            .try_for_each(|event| prepare(&mut backend, &event.table));
        backend.unlock_schema()?;
        prepared?;
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.bootstrap_servers)
            .set("group.id", &config.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // A loader that crashed holds its partitions until its session times out:
            // 10 s (Kafka's default before 3.0) rather than 45 s gets a restart going sooner.
            // For restarts without any wait, set `group.instance.id` (static membership).
            .set("session.timeout.ms", "10000")
            // Once the prefetched records pass librdkafka's queue thresholds (64 MiB or
            // 100,000 a partition), it postpones the next fetch by this much: at its
            // default, 1 s, a loader catching up on a backlog drained the queue in a tenth
            // of that and then sat idle (0.45x the `COPY` floor at 299,597 rows; 0.95x
            // at 10 ms, BENCHMARKS.md row 8). Checking every 10 ms costs a timer wake-up.
            .set("fetch.queue.backoff.ms", "10");
        for (key, value) in &config.properties {
            client.set(key, value);
        }
        let consumer: BaseConsumer = client.create().map_err(|error| {
            let properties = config
                .properties
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str()));
            WarehouseError::KafkaConfig(event_runtime::redaction::scrub(
                &error.to_string(),
                properties,
            ))
        })?;
        let mut topics: Vec<&str> = events.iter().map(|e| e.table.topic).collect();
        topics.sort_unstable();
        topics.dedup();
        consumer.subscribe(&topics)?;
        let by_message = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.table.message, i))
            .collect();
        Ok(RunningLoader::new(
            Reader {
                config,
                events,
                by_message,
                consumer,
                unstorable: backend.unstorable(),
                waiting: Default::default(),
                any_waiting: Default::default(),
            },
            backend,
        ))
    }
}
