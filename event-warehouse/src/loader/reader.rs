//! The Kafka side of the loader: polling a batch, sorting each record into its table's
//! rows or the rejects, and committing a written batch's offsets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::PoisonError;
use std::time::{Duration, Instant, UNIX_EPOCH};

use event_runtime::{confluent, header, DecodeError, DecodeOwned, Event, EventId};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::spare::SpareRows;
use super::LoaderConfig;
use crate::backend::{Batch, Reject};
use crate::error::WarehouseError;
use crate::row::{fill_row, RecordMeta, Row};
use crate::table::Table;

/// How often a wait for a first record checks whether to stop waiting: short against a
/// batch's write, and only while a written batch is awaited.
const STOP_WAITING_CHECK: Duration = Duration::from_millis(1);

/// Decodes a payload into the row given, which may be a written row of the same table.
type DecodeRow = fn(&[u8], RecordMeta, &mut Row) -> Result<(), DecodeError>;

pub(super) fn decode_row<E: Event + DecodeOwned>(
    payload: &[u8],
    meta: RecordMeta,
    row: &mut Row,
) -> Result<(), DecodeError> {
    fill_row(&E::decode(payload)?, meta, row);
    Ok(())
}

pub(super) struct EventTable {
    pub(super) table: Table,
    pub(super) decode: DecodeRow,
    /// The field numbers this definition knows: its fields' and the reserved ones.
    pub(super) known_fields: Vec<u32>,
}

/// The field numbers `E`'s definition knows: a payload field outside them was written by a
/// newer definition.
pub(super) fn known_fields<E: Event>() -> Vec<u32> {
    let mut known: Vec<u32> = E::fields().iter().map(|f| f.number).collect();
    known.extend_from_slice(E::DEF.reserved_numbers);
    known
}

/// The first top-level field of `payload` whose number is not in `known`. A payload that
/// does not parse is left to the decoder, which says why.
fn first_unknown_field(mut payload: &[u8], known: &[u32]) -> Option<u32> {
    use prost::encoding::{decode_key, skip_field, DecodeContext};
    while !payload.is_empty() {
        let (number, wire_type) = decode_key(&mut payload).ok()?;
        if !known.contains(&number) {
            return Some(number);
        }
        skip_field(wire_type, number, &mut payload, DecodeContext::default()).ok()?;
    }
    None
}

/// A partition whose next record has a field this loader's definition lacks: it waits at
/// that record, paused, for an instance that knows the field (after a rolling upgrade).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Waiting {
    topic: String,
    partition: i32,
    offset: i64,
}

/// The Kafka side: the consumer and how to turn its records into rows.
pub(super) struct Reader {
    pub(super) config: LoaderConfig,
    pub(super) events: Vec<EventTable>,
    pub(super) by_message: HashMap<&'static str, usize>,
    pub(super) consumer: BaseConsumer,
    /// The backend's reason a row cannot be stored, checked here where the payload is.
    pub(super) unstorable: fn(&[crate::row::Cell]) -> Option<&'static str>,
    /// Partitions waiting at a record of a newer definition.
    pub(super) waiting: std::sync::Mutex<Vec<Waiting>>,
    /// Whether `waiting` has any: read for every record, so that in the usual case, no
    /// partition waiting, a record takes no lock.
    pub(super) any_waiting: AtomicBool,
}

/// One consumed record, sorted into its table or the rejects.
enum Sorted {
    Row(usize, Row),
    Reject(Reject),
    Skip,
    /// The record has a field this loader's definition lacks: writing it would lose that
    /// field, so it is left for an instance that knows it.
    Newer,
}

/// A batch read from Kafka, not yet written.
pub(super) struct Collected {
    pub(super) rows: Vec<Vec<Row>>,
    pub(super) rejects: Vec<Reject>,
    /// (topic, partition, next offset), one entry per partition seen: few, so a list.
    pub(super) next_offsets: Vec<(String, i32, i64)>,
    pub(super) consumed: u64,
    pub(super) skipped: u64,
    /// Records left in Kafka because they have a field this loader's definition lacks.
    pub(super) left_for_newer: u64,
}

impl Reader {
    /// Polls up to one batch: waits up to `first_wait` for a first record, then until the
    /// batch is full, has lingered since its first record, or no record came for the idle
    /// time. Its rows are filled from `spare` where it has them.
    ///
    /// With `stop_waiting`, the wait for a first record ends as soon as it returns true
    /// (checked every [`STOP_WAITING_CHECK`]): the pipelined loader stops waiting for
    /// records once a written batch is back, so its offsets and counts are taken in at
    /// once rather than after a quiet topic's wait.
    pub(super) fn collect(
        &self,
        first_wait: Duration,
        stop_waiting: Option<&dyn Fn() -> bool>,
        spare: &mut SpareRows,
    ) -> Result<Option<Collected>, WarehouseError> {
        let mut batch = Collected {
            rows: vec![Vec::new(); self.events.len()],
            rejects: Vec::new(),
            next_offsets: Vec::new(),
            consumed: 0,
            skipped: 0,
            left_for_newer: 0,
        };
        self.forget_revoked_waits();
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
                    let wait = match (batch.consumed, stop_waiting) {
                        (0, None) => left,
                        (0, Some(stop_waiting)) => {
                            if stop_waiting() {
                                break;
                            }
                            left.min(STOP_WAITING_CHECK)
                        }
                        _ => left.min(self.config.batch_idle),
                    };
                    match self.consumer.poll(wait) {
                        Some(message) => message,
                        // `poll` also returns early after a rebalance or a commit event:
                        // only a quiet idle time ends a batch that has records. Before
                        // the first, the deadline above ends the wait.
                        None if batch.consumed > 0 && now.elapsed() >= wait => break,
                        None => continue,
                    }
                }
            };
            let message = message.map_err(|error| self.refusal(error))?;
            let (topic, partition, next) =
                (message.topic(), message.partition(), message.offset() + 1);
            if self.waits(topic, partition) {
                // Fetched before the pause took hold: it is read again from the wait.
                continue;
            }
            let sorted = self.sort(&message, spare);
            if matches!(sorted, Sorted::Newer) {
                self.wait_at(topic, partition, message.offset())?;
                batch.left_for_newer += 1;
                continue;
            }
            if batch.consumed == 0 {
                // The batch lingers from its first record, not from the call.
                deadline = Instant::now() + self.config.batch_linger;
            }
            batch.consumed += 1;
            match batch
                .next_offsets
                .iter_mut()
                .find(|(t, p, _)| *p == partition && t == topic)
            {
                Some(entry) => entry.2 = next,
                None => batch.next_offsets.push((topic.to_owned(), partition, next)),
            }
            match sorted {
                Sorted::Row(table, row) => batch.rows[table].push(row),
                Sorted::Reject(reject) => batch.rejects.push(reject),
                Sorted::Skip => batch.skipped += 1,
                Sorted::Newer => unreachable!("left in Kafka above"),
            }
        }
        Ok((batch.consumed > 0 || batch.left_for_newer > 0).then_some(batch))
    }

    fn waits(&self, topic: &str, partition: i32) -> bool {
        if !self.any_waiting.load(Ordering::Acquire) {
            return false;
        }
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(wait) = waiting
            .iter()
            .find(|w| w.partition == partition && w.topic == topic)
        else {
            return false;
        };
        // A rebalance that gave the partition back resumed it: pause it again.
        let _ = self.pause_at(wait);
        true
    }

    /// Pauses the partition at the record `offset`, which this loader must not write, so
    /// the group's committed offset stays there for an instance that knows its fields.
    fn wait_at(&self, topic: &str, partition: i32, offset: i64) -> Result<(), WarehouseError> {
        let wait = Waiting {
            topic: topic.to_owned(),
            partition,
            offset,
        };
        self.pause_at(&wait)?;
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(wait);
        self.any_waiting.store(true, Ordering::Release);
        Ok(())
    }

    fn pause_at(&self, wait: &Waiting) -> Result<(), WarehouseError> {
        let mut partitions = TopicPartitionList::new();
        partitions.add_partition(&wait.topic, wait.partition);
        self.consumer.pause(&partitions)?;
        self.consumer.seek(
            &wait.topic,
            wait.partition,
            Offset::Offset(wait.offset),
            Duration::from_secs(5),
        )?;
        Ok(())
    }

    /// A partition moved to another instance waits no more here; if it comes back, its
    /// record is met again.
    fn forget_revoked_waits(&self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting.is_empty() {
            return;
        }
        let Ok(assigned) = self.consumer.assignment() else {
            return;
        };
        waiting.retain(|w| assigned.find_partition(&w.topic, w.partition).is_some());
        self.any_waiting
            .store(!waiting.is_empty(), Ordering::Release);
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
    pub(super) fn commit(
        &self,
        next_offsets: &[(String, i32, i64)],
    ) -> Result<bool, WarehouseError> {
        let mut offsets = TopicPartitionList::new();
        for (topic, partition, next) in next_offsets {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        Ok(self.consumer.commit(&offsets, CommitMode::Sync).is_ok())
    }

    fn sort(&self, message: &BorrowedMessage<'_>, spare: &mut SpareRows) -> Sorted {
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
        let Some(event_id_text) = event_id else {
            return reject(format!("no `{}` header", header::EVENT_ID));
        };
        // The primary key: a value no table could hold would fail the whole batch.
        let Some(event_id) = EventId::parse(event_id_text) else {
            return reject(format!(
                "the `{}` header {event_id_text:?} is not a UUID",
                header::EVENT_ID
            ));
        };
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
        if first_unknown_field(payload, &self.events[table].known_fields).is_some() {
            return Sorted::Newer;
        }
        let mut row = spare.take(table);
        let reason = match (self.events[table].decode)(payload, meta, &mut row) {
            Ok(()) => match (self.unstorable)(&row) {
                None => return Sorted::Row(table, row),
                Some(reason) => reason.to_owned(),
            },
            Err(error) => format!("{schema_name} did not decode: {error}"),
        };
        spare.put_back(table, row);
        reject(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::first_unknown_field;

    #[test]
    fn a_field_the_definition_lacks_is_found_after_known_ones() {
        // Field 1 (varint 150), field 2 (bytes "hi"), field 9 (varint 1).
        let payload = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x48, 0x01];
        assert_eq!(first_unknown_field(&payload, &[1, 2]), Some(9));
        assert_eq!(first_unknown_field(&payload, &[1, 2, 9]), None);
        assert_eq!(first_unknown_field(&payload[..7], &[1, 2]), None);
    }

    #[test]
    fn reserved_numbers_are_known_so_a_removed_field_loses_nothing() {
        use event_runtime::Event;

        #[derive(Event)]
        #[event(topic = "t", reserved(2, "note"))]
        struct Trimmed {
            #[event(id = 1)]
            order_id: String,
        }
        assert_eq!(super::known_fields::<Trimmed>(), [1, 2]);
    }
}
