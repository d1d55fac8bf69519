//! The Kafka side of the loader: polling a batch, sorting each record into its table's
//! rows or the rejects, and committing a written batch's offsets.

use std::collections::HashMap;
use std::time::{Duration, Instant, UNIX_EPOCH};

use event_runtime::{confluent, header, DecodeError, DecodeOwned, Event};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::LoaderConfig;
use crate::backend::{Batch, Reject};
use crate::error::WarehouseError;
use crate::row::{row_of, RecordMeta, Row};
use crate::table::Table;

type DecodeRow = fn(&[u8], &RecordMeta) -> Result<Row, DecodeError>;

pub(super) fn decode_row<E: Event + DecodeOwned>(
    payload: &[u8],
    meta: &RecordMeta,
) -> Result<Row, DecodeError> {
    Ok(row_of(&E::decode(payload)?, meta))
}

pub(super) struct EventTable {
    pub(super) table: Table,
    pub(super) decode: DecodeRow,
}

/// The Kafka side: the consumer and how to turn its records into rows.
pub(super) struct Reader {
    pub(super) config: LoaderConfig,
    pub(super) events: Vec<EventTable>,
    pub(super) by_message: HashMap<&'static str, usize>,
    pub(super) consumer: BaseConsumer,
    /// The backend's reason a row cannot be stored, checked here where the payload is.
    pub(super) unstorable: fn(&[crate::row::Cell]) -> Option<&'static str>,
}

/// One consumed record, sorted into its table or the rejects.
enum Sorted {
    Row(usize, Row),
    Reject(Reject),
    Skip,
}

/// A batch read from Kafka, not yet written.
pub(super) struct Collected {
    pub(super) rows: Vec<Vec<Row>>,
    pub(super) rejects: Vec<Reject>,
    /// (topic, partition, next offset), one entry per partition seen: few, so a list.
    pub(super) next_offsets: Vec<(String, i32, i64)>,
    pub(super) consumed: u64,
    pub(super) skipped: u64,
}

impl Reader {
    /// Polls up to one batch: waits up to `first_wait` for a first record, then until the
    /// batch is full, has lingered since its first record, or no record came for the idle
    /// time.
    pub(super) fn collect(
        &self,
        first_wait: Duration,
    ) -> Result<Option<Collected>, WarehouseError> {
        let mut batch = Collected {
            rows: vec![Vec::new(); self.events.len()],
            rejects: Vec::new(),
            next_offsets: Vec::new(),
            consumed: 0,
            skipped: 0,
        };
        let mut deadline = Instant::now() + first_wait;
        while batch.consumed < self.config.batch_size as u64 {
            // Take what is already fetched without reading the clock; only when nothing
            // is, wait: for the rest of the linger time, at most the idle time once the
            // batch has records.
            let message = match self.consumer.poll(Duration::ZERO) {
                Some(message) => message,
                None => {
                    let now = Instant::now();
                    let Some(left) = deadline.checked_duration_since(now) else {
                        break;
                    };
                    let wait = if batch.consumed == 0 {
                        left
                    } else {
                        left.min(self.config.batch_idle)
                    };
                    match self.consumer.poll(wait) {
                        Some(message) => message,
                        // `poll` also returns early after a rebalance or a commit event:
                        // only a quiet wait ends the batch.
                        None if now.elapsed() >= wait => break,
                        None => continue,
                    }
                }
            };
            let message = message.map_err(|error| self.refusal(error))?;
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

    /// A consumer error as the loader reports it: a refusal by the brokers' ACLs names the
    /// ACLs the principal needs (librdkafka's error does not say which topic it was).
    fn refusal(&self, error: KafkaError) -> WarehouseError {
        let needs = match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::GroupAuthorizationFailed) => {
                format!("READ on group `{}`", self.config.group_id)
            }
            Some(RDKafkaErrorCode::TopicAuthorizationFailed) => {
                let mut topics: Vec<String> = self
                    .events
                    .iter()
                    .map(|e| format!("`{}`", e.table.topic))
                    .collect();
                topics.sort_unstable();
                topics.dedup();
                format!("READ on topic {}", topics.join(", "))
            }
            _ => return WarehouseError::Kafka(error),
        };
        WarehouseError::NotAuthorized {
            needs,
            source: error,
        }
    }

    /// The rows of a collected batch, by table, for a backend to write.
    pub(super) fn batch<'a>(&'a self, collected: &mut Collected) -> Batch<'a> {
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
    pub(super) fn commit(&self, collected: &Collected) -> Result<bool, WarehouseError> {
        let mut offsets = TopicPartitionList::new();
        for (topic, partition, next) in &collected.next_offsets {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        Ok(self.consumer.commit(&offsets, CommitMode::Sync).is_ok())
    }

    fn sort(&self, message: &BorrowedMessage<'_>) -> Sorted {
        // One pass over the headers (each key is checked as UTF-8 on the way).
        let (mut schema_name, mut event_id, mut traceparent) = (None, None, None);
        if let Some(headers) = message.headers() {
            for h in headers.iter() {
                let value = || h.value.and_then(|v| std::str::from_utf8(v).ok());
                if h.key == header::SCHEMA_NAME {
                    schema_name = value();
                } else if h.key == header::EVENT_ID {
                    event_id = value();
                } else if h.key == header::TRACEPARENT {
                    traceparent = value();
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
        let published_at = message
            .timestamp()
            .to_millis()
            .and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        let mut meta = RecordMeta::new(
            event_id,
            published_at,
            message.partition(),
            message.offset(),
        );
        if let Some(traceparent) = traceparent {
            meta = meta.with_traceparent(traceparent);
        }
        let payload = message.payload().unwrap_or_default();
        // A producer with a schema-registry id frames the payload (Confluent wire format).
        // A bare protobuf message never starts with 0, the frame's magic byte.
        let payload = match confluent::parse_frame(payload) {
            Ok((_, _, inner)) => inner,
            Err(_) => payload,
        };
        match (self.events[table].decode)(payload, &meta) {
            Ok(row) => match (self.unstorable)(&row) {
                None => Sorted::Row(table, row),
                Some(reason) => reject(reason.to_owned()),
            },
            Err(error) => reject(format!("{schema_name} did not decode: {error}")),
        }
    }
}
