//! The loader: a Kafka consumer group that turns records into rows, batch by batch.
//!
//! Delivery is at least once: a batch is written in one transaction, and only then are
//! its offsets committed. A crash between the two replays the batch on restart, and the
//! primary key on the event id turns the replay into no-ops.

use std::collections::HashMap;
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
    /// Defaults: batches of 20,000 records or 200 ms, whichever comes first. Large batches
    /// amortize the transaction and the offset commit; two are in memory at most.
    pub fn new(bootstrap_servers: impl Into<String>, group_id: impl Into<String>) -> Self {
        LoaderConfig {
            bootstrap_servers: bootstrap_servers.into(),
            group_id: group_id.into(),
            batch_size: 20_000,
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
            reader: Reader {
                config,
                events,
                by_message,
                consumer,
            },
            backend,
            stats: LoadStats::default(),
        })
    }
}

/// A loader in its consumer group. Call [`RunningLoader::load_batch`] in a loop, or
/// [`RunningLoader::run`], which overlaps reading the next batch with writing this one.
pub struct RunningLoader<B: Backend> {
    reader: Reader,
    backend: B,
    stats: LoadStats,
}

/// The Kafka side: the consumer and how to turn its records into rows.
struct Reader {
    config: LoaderConfig,
    events: Vec<EventTable>,
    by_message: HashMap<&'static str, usize>,
    consumer: BaseConsumer,
}

/// One consumed record, sorted into its table or the rejects.
enum Sorted {
    Row(usize, Row),
    Reject(Reject),
    Skip,
}

/// A batch read from Kafka, not yet written.
struct Collected {
    rows: Vec<Vec<Row>>,
    rejects: Vec<Reject>,
    /// (topic, partition, next offset), one entry per partition seen: few, so a list.
    next_offsets: Vec<(String, i32, i64)>,
    consumed: u64,
    skipped: u64,
}

impl Reader {
    /// Polls up to one batch: waits up to the linger time for a first record, then until
    /// the batch is full or has lingered that long since its first record.
    fn collect(&self) -> Result<Option<Collected>, WarehouseError> {
        let mut batch = Collected {
            rows: vec![Vec::new(); self.events.len()],
            rejects: Vec::new(),
            next_offsets: Vec::new(),
            consumed: 0,
            skipped: 0,
        };
        let mut deadline = Instant::now() + self.config.batch_linger;
        while batch.consumed < self.config.batch_size as u64 {
            // Take what is already fetched without reading the clock; only when nothing
            // is, wait for the rest of the linger time.
            let message = match self.consumer.poll(Duration::ZERO) {
                Some(message) => message,
                None => {
                    let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    let Some(message) = self.consumer.poll(wait) else {
                        break;
                    };
                    message
                }
            };
            let message = message?;
            if batch.consumed == 0 {
                // The batch lingers from its first record, not from the call.
                deadline = Instant::now() + self.config.batch_linger;
            }
            batch.consumed += 1;
            let (topic, partition, next) =
                (message.topic(), message.partition(), message.offset() + 1);
            match batch
                .next_offsets
                .iter_mut()
                .find(|(t, p, _)| *p == partition && t == topic)
            {
                Some(entry) => entry.2 = next,
                None => batch.next_offsets.push((topic.to_owned(), partition, next)),
            }
            match self.sort(&message) {
                Sorted::Row(table, row) => batch.rows[table].push(row),
                Sorted::Reject(reject) => batch.rejects.push(reject),
                Sorted::Skip => batch.skipped += 1,
            }
        }
        Ok((batch.consumed > 0).then_some(batch))
    }

    /// The rows of a collected batch, by table, for a backend to write.
    fn batch<'a>(&'a self, collected: &mut Collected) -> Batch<'a> {
        Batch {
            tables: self
                .events
                .iter()
                .zip(collected.rows.iter_mut())
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(event, rows)| (&event.table, std::mem::take(rows)))
                .collect(),
            rejects: std::mem::take(&mut collected.rejects),
        }
    }

    /// Commits a written batch's offsets. Only called once its rows are durable, so the
    /// group never moves past a row that is not in the database.
    fn commit(&self, collected: &Collected) -> Result<bool, WarehouseError> {
        let mut offsets = TopicPartitionList::new();
        for (topic, partition, next) in &collected.next_offsets {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        Ok(self.consumer.commit(&offsets, CommitMode::Sync).is_ok())
    }

    fn sort(&self, message: &BorrowedMessage<'_>) -> Sorted {
        // One pass over the headers (each key is checked as UTF-8 on the way).
        let (mut schema_name, mut event_id) = (None, None);
        if let Some(headers) = message.headers() {
            for h in headers.iter() {
                let value = || h.value.and_then(|v| std::str::from_utf8(v).ok());
                if h.key == header::SCHEMA_NAME {
                    schema_name = value();
                } else if h.key == header::EVENT_ID {
                    event_id = value();
                }
            }
        }
        let reject = |reason: String| {
            Sorted::Reject(Reject {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                reason,
                payload: message.payload().unwrap_or_default().to_vec(),
            })
        };
        let Some(schema_name) = schema_name else {
            return reject(format!("no `{}` header", header::SCHEMA_NAME));
        };
        let Some(&table) = self.by_message.get(schema_name) else {
            return Sorted::Skip;
        };
        let Some(event_id) = event_id else {
            return reject(format!("no `{}` header", header::EVENT_ID));
        };
        // The primary key: a value no table could hold would fail the whole batch.
        if crate::text::parse_uuid(event_id).is_none() {
            return reject(format!(
                "the `{}` header {event_id:?} is not a UUID",
                header::EVENT_ID
            ));
        }
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
}

impl LoadStats {
    fn add(&mut self, collected: &Collected, written: Written, committed: bool) {
        self.records += collected.consumed;
        self.skipped += collected.skipped;
        self.inserted += written.inserted;
        self.duplicates += written.duplicates;
        self.rejected += written.rejected;
        self.batches += 1;
        if !committed {
            self.commit_failures += 1;
        }
    }
}

impl<B: Backend> RunningLoader<B> {
    /// Consumes up to one batch, writes it in one transaction, then commits its offsets.
    /// Waits up to the linger time for a first record; returns an empty result if none came.
    pub fn load_batch(&mut self) -> Result<Written, WarehouseError> {
        let Some(mut collected) = self.reader.collect()? else {
            return Ok(Written::default());
        };
        let written = self.backend.write(&self.reader.batch(&mut collected))?;
        let committed = self.reader.commit(&collected)?;
        self.stats.add(&collected, written, committed);
        Ok(written)
    }

    /// Loads batches until `stop` says so (it sees the totals before each batch).
    ///
    /// Reading and writing overlap: while one batch is written (on a thread of its own),
    /// the next is read and decoded, so the database and the decoding use a core each.
    /// At most one batch is in flight, and a batch's offsets are committed only after its
    /// write returned: the guarantees of [`RunningLoader::load_batch`] hold.
    pub fn run(
        &mut self,
        mut stop: impl FnMut(&LoadStats) -> bool,
    ) -> Result<LoadStats, WarehouseError> {
        let RunningLoader {
            reader,
            backend,
            stats,
        } = self;
        let reader: &Reader = reader;
        std::thread::scope(|scope| {
            let (to_writer, batches) = std::sync::mpsc::sync_channel::<Batch<'_>>(0);
            let (to_reader, results) = std::sync::mpsc::sync_channel(0);
            let writer = scope.spawn(move || {
                for batch in batches {
                    let result = backend.write(&batch);
                    let failed = result.is_err();
                    if to_reader.send(result).is_err() || failed {
                        break;
                    }
                }
            });
            let writer_gone = || WarehouseError::Database("the writer thread stopped".into());
            let mut in_flight: Option<Collected> = None;
            let outcome = loop {
                let stopping = stop(stats);
                if stopping && in_flight.is_none() {
                    break Ok(*stats);
                }
                let next = if stopping {
                    None
                } else {
                    match reader.collect() {
                        Ok(next) => next,
                        Err(error) => break Err(error),
                    }
                };
                // The previous batch's write must be done before the next one starts
                // (one in flight) and before its offsets are committed.
                let done = match in_flight.take() {
                    Some(done) => match results.recv() {
                        Ok(Ok(written)) => Some((done, written)),
                        Ok(Err(error)) => break Err(error),
                        Err(_) => break Err(writer_gone()),
                    },
                    None => None,
                };
                // Hand the next batch over first, so the database works during the commit.
                if let Some(mut collected) = next {
                    if to_writer.send(reader.batch(&mut collected)).is_err() {
                        break Err(writer_gone());
                    }
                    in_flight = Some(collected);
                }
                if let Some((done, written)) = done {
                    match reader.commit(&done) {
                        Ok(committed) => stats.add(&done, written, committed),
                        Err(error) => break Err(error),
                    }
                }
            };
            // Ends the writer's loop; a batch still in flight is not committed, so it is
            // read again after a restart.
            drop(to_writer);
            drop(results);
            writer.join().expect("the writer thread does not panic");
            outcome
        })
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
        self.reader.events.iter().map(|e| &e.table)
    }
}
