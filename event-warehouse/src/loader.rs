//! The loader: a Kafka consumer group that turns records into rows, batch by batch.
//!
//! Delivery is at least once: a batch is written in one transaction, and only then are
//! its offsets committed. A crash between the two replays the batch on restart, and the
//! primary key on the event id turns the replay into no-ops.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, UNIX_EPOCH};

use event_runtime::{confluent, header, DecodeError, Event};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::backend::{prepare, Backend, Batch, Reject, Written};
use crate::error::WarehouseError;
use crate::row::{row_of, RecordMeta, Row};
use crate::table::Table;

/// Where to consume from, and how much to write at once.
#[derive(Clone, Debug)]
pub struct LoaderConfig {
    /// Kafka bootstrap servers.
    pub bootstrap_servers: String,
    /// The consumer group: its committed offsets are the loader's progress.
    pub group_id: String,
    /// Records per batch (one transaction and one offset commit each).
    pub batch_size: usize,
    /// How long a batch waits to fill once its first record arrived.
    pub batch_linger: Duration,
    /// Extra consumer properties (security settings, ...), applied last.
    pub properties: Vec<(String, String)>,
}

impl LoaderConfig {
    /// Defaults: batches of 5,000 records or 200 ms, whichever comes first.
    pub fn new(bootstrap_servers: impl Into<String>, group_id: impl Into<String>) -> Self {
        LoaderConfig {
            bootstrap_servers: bootstrap_servers.into(),
            group_id: group_id.into(),
            batch_size: 5_000,
            batch_linger: Duration::from_millis(200),
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
    /// Batches written.
    pub batches: u64,
    /// Offset commits that failed after their batch was written (the batch will be
    /// replayed, harmlessly, after a restart or rebalance).
    pub commit_failures: u64,
}

type DecodeRow = fn(&[u8], &RecordMeta) -> Result<Row, DecodeError>;

fn decode_row<E: Event>(payload: &[u8], meta: &RecordMeta) -> Result<Row, DecodeError> {
    Ok(row_of(&E::decode(payload)?, meta))
}

struct EventTable {
    table: Table,
    decode: DecodeRow,
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

    /// Loads events of type `E` into their table.
    pub fn event<E: Event>(mut self) -> Self {
        self.events.push(Table::of::<E>().map(|table| EventTable {
            table,
            decode: decode_row::<E>,
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
        for event in &events {
            prepare(&mut backend, &event.table)?;
        }
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
            .set("session.timeout.ms", "10000");
        for (key, value) in &config.properties {
            client.set(key, value);
        }
        let consumer: BaseConsumer = client.create()?;
        let mut topics: Vec<&str> = events.iter().map(|e| e.table.topic).collect();
        topics.sort_unstable();
        topics.dedup();
        consumer.subscribe(&topics)?;
        let by_message = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.table.message, i))
            .collect();
        Ok(RunningLoader {
            config,
            backend,
            events,
            by_message,
            consumer,
            stats: LoadStats::default(),
        })
    }
}

/// A loader in its consumer group. Call [`RunningLoader::load_batch`] in a loop.
pub struct RunningLoader<B: Backend> {
    config: LoaderConfig,
    backend: B,
    events: Vec<EventTable>,
    by_message: HashMap<&'static str, usize>,
    consumer: BaseConsumer,
    stats: LoadStats,
}

/// One consumed record, sorted into its table or the rejects.
enum Sorted {
    Row(usize, Row),
    Reject(Reject),
    Skip,
}

impl<B: Backend> RunningLoader<B> {
    /// Consumes up to one batch, writes it in one transaction, then commits its offsets.
    /// Waits up to the linger time for a first record; returns an empty result if none came.
    pub fn load_batch(&mut self) -> Result<Written, WarehouseError> {
        let mut rows: Vec<Vec<Row>> = vec![Vec::new(); self.events.len()];
        let mut rejects = Vec::new();
        let mut next_offsets: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let mut consumed = 0usize;
        let mut deadline = Instant::now() + self.config.batch_linger;
        while consumed < self.config.batch_size {
            let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            let Some(message) = self.consumer.poll(wait) else {
                break;
            };
            let message = message?;
            if consumed == 0 {
                // The batch lingers from its first record, not from the call.
                deadline = Instant::now() + self.config.batch_linger;
            }
            consumed += 1;
            next_offsets.insert(
                (message.topic().to_owned(), message.partition()),
                message.offset() + 1,
            );
            match self.sort(&message) {
                Sorted::Row(table, row) => rows[table].push(row),
                Sorted::Reject(reject) => rejects.push(reject),
                Sorted::Skip => self.stats.skipped += 1,
            }
        }
        if consumed == 0 {
            return Ok(Written::default());
        }
        let batch = Batch {
            tables: self
                .events
                .iter()
                .zip(rows)
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(event, rows)| (&event.table, rows))
                .collect(),
            rejects,
        };
        let written = self.backend.write(&batch)?;
        // Only now, with the rows durable, may the group move past them.
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &next_offsets {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        if self.consumer.commit(&offsets, CommitMode::Sync).is_err() {
            self.stats.commit_failures += 1;
        }
        self.stats.records += consumed as u64;
        self.stats.inserted += written.inserted;
        self.stats.duplicates += written.duplicates;
        self.stats.rejected += written.rejected;
        self.stats.batches += 1;
        Ok(written)
    }

    fn sort(&self, message: &BorrowedMessage<'_>) -> Sorted {
        let header = |name: &str| {
            message.headers().and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == name)
                    .and_then(|h| h.value)
                    .and_then(|v| std::str::from_utf8(v).ok())
            })
        };
        let reject = |reason: String| {
            Sorted::Reject(Reject {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                reason,
                payload: message.payload().unwrap_or_default().to_vec(),
            })
        };
        let Some(schema_name) = header(header::SCHEMA_NAME) else {
            return reject(format!("no `{}` header", header::SCHEMA_NAME));
        };
        let Some(&table) = self.by_message.get(schema_name) else {
            return Sorted::Skip;
        };
        let Some(event_id) = header(header::EVENT_ID) else {
            return reject(format!("no `{}` header", header::EVENT_ID));
        };
        let meta = RecordMeta {
            event_id: event_id.to_owned(),
            published_at: message
                .timestamp()
                .to_millis()
                .and_then(|ms| u64::try_from(ms).ok())
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
            partition: message.partition(),
            offset: message.offset(),
        };
        let payload = message.payload().unwrap_or_default();
        // A producer with a schema-registry id frames the payload (Confluent wire format).
        // A bare protobuf message never starts with 0, the frame's magic byte.
        let payload = match confluent::parse_frame(payload) {
            Ok((_, _, inner)) => inner,
            Err(_) => payload,
        };
        match (self.events[table].decode)(payload, &meta) {
            Ok(row) => Sorted::Row(table, row),
            Err(error) => reject(format!("{schema_name} did not decode: {error}")),
        }
    }

    /// Loads batches until `stop` says so (it sees the totals before each batch).
    pub fn run(
        &mut self,
        mut stop: impl FnMut(&LoadStats) -> bool,
    ) -> Result<LoadStats, WarehouseError> {
        while !stop(&self.stats) {
            self.load_batch()?;
        }
        Ok(self.stats)
    }

    /// Loads until no record has arrived for `idle`.
    pub fn run_until_idle(&mut self, idle: Duration) -> Result<LoadStats, WarehouseError> {
        let mut last_record = Instant::now();
        let mut seen = self.stats.records;
        self.run(|stats| {
            if stats.records != seen {
                seen = stats.records;
                last_record = Instant::now();
            }
            last_record.elapsed() >= idle
        })
    }

    /// Totals since the loader started.
    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// The backend, to query what was loaded.
    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The tables this loader writes.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.events.iter().map(|e| &e.table)
    }
}
