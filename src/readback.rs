//! Reading topics back from Kafka, from the beginning, without a consumer group: for the
//! order flow's warehouse view against a real broker, and for the integration tests.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// One record as it was stored by the broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub payload: Vec<u8>,
    /// Its headers, in order.
    pub headers: Vec<(String, String)>,
    /// Its timestamp in Unix milliseconds.
    pub timestamp_millis: Option<i64>,
}

impl StoredRecord {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads every record of `topics` from the beginning, keeping those `keep` accepts,
/// until `done` says enough were kept or `timeout` passes.
pub fn read_topics(
    bootstrap_servers: &str,
    topics: &[&str],
    mut keep: impl FnMut(&StoredRecord) -> bool,
    mut done: impl FnMut(&[StoredRecord]) -> bool,
    timeout: Duration,
) -> Result<Vec<StoredRecord>, KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", "event-runtime-readback")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    let deadline = Instant::now() + timeout;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(
            Some(topic),
            deadline.saturating_duration_since(Instant::now()),
        )?;
        for t in metadata.topics() {
            for p in t.partitions() {
                assignment.add_partition_offset(t.name(), p.id(), Offset::Beginning)?;
            }
        }
    }
    consumer.assign(&assignment)?;

    let mut kept = Vec::new();
    while !done(&kept) && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let record = StoredRecord {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
            timestamp_millis: message.timestamp().to_millis(),
        };
        if keep(&record) {
            kept.push(record);
        }
    }
    Ok(kept)
}

/// The offsets consumer group `group` has committed on `topic`, as (partition, offset), for
/// the partitions it committed on.
pub fn committed_offsets(
    bootstrap_servers: &str,
    group: &str,
    topic: &str,
) -> Result<Vec<(i32, i64)>, KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(30);
    let mut partitions = TopicPartitionList::new();
    for t in consumer.fetch_metadata(Some(topic), timeout)?.topics() {
        for p in t.partitions() {
            partitions.add_partition(t.name(), p.id());
        }
    }
    let committed = consumer.committed_offsets(partitions, timeout)?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some((e.partition(), offset)),
            _ => None,
        })
        .collect())
}
