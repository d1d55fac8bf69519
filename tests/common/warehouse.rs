//! The warehouse tests' shared steps: publish an order-flow run to the real broker, and
//! read the loaded tables back in a form that compares exactly with what was published.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use event_runtime::{
    header, DecodeOwned, Dispatcher, Event, EventId, KafkaConfig, RecordedRecord, RecordingSink,
};
use event_warehouse::{
    row_of, Backend, Cell, ColumnKind, RecordMeta, Row, SqlValue, Table, RECORD_COLUMNS,
};
use multi_dispatch_events::order_flow::events::*;
use multi_dispatch_events::order_flow::simulate::{self, Scenario};
use multi_dispatch_events::order_flow::views::MetricsView;

use super::services;

/// A run published to Kafka, with what the producer sent.
pub struct Published {
    /// The scenario, with a run id of its own.
    pub scenario: Scenario,
    /// Every record sent, as the recording sink beside Kafka kept it.
    pub records: Vec<RecordedRecord>,
    /// The counters sent to DogStatsD.
    pub metrics: MetricsView,
}

/// Publishes `orders` orders to the test broker; every record is delivered.
pub fn publish(orders: u64, seed: u64) -> Published {
    let scenario = Scenario {
        orders,
        seed,
        run_id: std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .recording(&recording)
        // 100,000 events at full speed can outrun the queue: wait for room rather than drop.
        .kafka(
            KafkaConfig::new(services::kafka_bootstrap()).block_when_full(Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    let summary = simulate::run(&events, scenario, |_, _| {});
    let report = events.shutdown(Duration::from_secs(120)).unwrap();
    let kafka = report.sink("kafka").unwrap();
    assert_eq!(
        (kafka.delivered, report.undelivered()),
        (summary.events, 0),
        "{report:?}"
    );
    let lines = recording.statsd_lines();
    Published {
        scenario,
        records: recording.records(),
        metrics: MetricsView::from_lines(lines.iter().map(String::as_str)),
    }
}

/// The order flow's tables.
pub fn tables() -> Vec<Table> {
    vec![
        Table::of::<OrderPlaced>().unwrap(),
        Table::of::<PaymentAttempted>().unwrap(),
        Table::of::<PaymentSucceeded>().unwrap(),
        Table::of::<PaymentFailed>().unwrap(),
        Table::of::<OrderSentToRestaurant>().unwrap(),
        Table::of::<OrderCollected>().unwrap(),
        Table::of::<OrderDelivered>().unwrap(),
    ]
}

fn expected<E: Event + DecodeOwned>(record: &RecordedRecord) -> (String, Row) {
    let mut meta = RecordMeta::new(
        EventId::parse(record.header(header::EVENT_ID).unwrap()).unwrap(),
        Some(UNIX_EPOCH + Duration::from_millis(record.timestamp_millis as u64)),
        // Not known to the producer; checked against the topic instead.
        -1,
        -1,
    );
    if let Some(traceparent) = record.header(header::TRACEPARENT) {
        meta = meta.with_traceparent(traceparent);
    }
    (
        E::NAME.replace('.', "_"),
        row_of(&record.decode::<E>().unwrap(), &meta),
    )
}

/// The row each published record should have become, by event id: (table, row).
pub fn expected_rows(records: &[RecordedRecord]) -> HashMap<String, (String, Row)> {
    records
        .iter()
        .map(|r| {
            let (table, row) = match r.header(header::SCHEMA_NAME).unwrap() {
                n if n == OrderPlaced::MESSAGE_NAME => expected::<OrderPlaced>(r),
                n if n == PaymentAttempted::MESSAGE_NAME => expected::<PaymentAttempted>(r),
                n if n == PaymentSucceeded::MESSAGE_NAME => expected::<PaymentSucceeded>(r),
                n if n == PaymentFailed::MESSAGE_NAME => expected::<PaymentFailed>(r),
                n if n == OrderSentToRestaurant::MESSAGE_NAME => {
                    expected::<OrderSentToRestaurant>(r)
                }
                n if n == OrderCollected::MESSAGE_NAME => expected::<OrderCollected>(r),
                n if n == OrderDelivered::MESSAGE_NAME => expected::<OrderDelivered>(r),
                other => panic!("unexpected schema {other}"),
            };
            (r.header(header::EVENT_ID).unwrap().to_owned(), (table, row))
        })
        .collect()
}

/// A PostgreSQL expression that reads a column back in a form a published value can be
/// compared with exactly (times as whole microseconds since the epoch).
fn readable(name: &str, kind: ColumnKind) -> String {
    match kind {
        ColumnKind::Text | ColumnKind::Tag | ColumnKind::Int | ColumnKind::Float => name.to_owned(),
        ColumnKind::UInt
        | ColumnKind::Bool
        | ColumnKind::Json
        | ColumnKind::EventId
        | ColumnKind::Uuid
        | ColumnKind::Decimal => format!("{name}::text"),
        ColumnKind::Bytes => format!("encode({name}, 'hex')"),
        ColumnKind::Timestamp | ColumnKind::Duration => {
            format!("(extract(epoch FROM {name}) * 1000000)::bigint")
        }
    }
}

/// A published row as [`loaded_rows`] reads it back: every cell in the form of
/// [`comparable`], but the partition and offset, which the producer does not know.
pub fn comparable_without_place(row: &Row) -> Vec<SqlValue> {
    let record_columns_start = row.len() - RECORD_COLUMNS.len();
    row.iter()
        .enumerate()
        .filter(|(i, _)| {
            i.checked_sub(record_columns_start)
                .is_none_or(|at| !matches!(RECORD_COLUMNS[at], "kafka_partition" | "kafka_offset"))
        })
        .map(|(_, cell)| comparable(cell))
        .collect()
}

/// A published cell in the form of [`readable`].
pub fn comparable(cell: &Cell) -> SqlValue {
    match cell {
        Cell::Null => SqlValue::Null,
        Cell::Bool(v) => SqlValue::Text(v.to_string()),
        Cell::Int(v) => SqlValue::Int(*v),
        Cell::UInt(v) => SqlValue::Text(v.to_string()),
        Cell::Float(v) => SqlValue::Float(*v),
        Cell::Text(v) => SqlValue::Text(v.clone()),
        Cell::Tag(v) => SqlValue::Text((*v).to_owned()),
        Cell::Uuid(bytes) => {
            SqlValue::Text(EventId::from_u128(u128::from_be_bytes(*bytes)).to_string())
        }
        Cell::Json(v) => SqlValue::Text(canonical_json(v)),
        Cell::Bytes(v) => SqlValue::Text(v.iter().map(|b| format!("{b:02x}")).collect()),
        Cell::Timestamp(t) => {
            SqlValue::Int(t.duration_since(UNIX_EPOCH).unwrap().as_micros() as i64)
        }
        Cell::Duration(d) => SqlValue::Int(d.as_micros() as i64),
        Cell::NegativeDuration(d) => SqlValue::Int(-(d.as_micros() as i64)),
        Cell::Decimal { mantissa, scale } => SqlValue::Text(rust_decimal_text(*mantissa, *scale)),
    }
}

/// JSON text in one form whoever wrote it: compact, object keys sorted. PostgreSQL's
/// `jsonb` prints with spaces and orders keys by length.
pub fn canonical_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        .to_string()
}

/// A decimal's text as PostgreSQL prints a `numeric` of that scale.
fn rust_decimal_text(mantissa: i128, scale: u32) -> String {
    let digits = format!(
        "{:0>width$}",
        mantissa.unsigned_abs(),
        width = scale as usize + 1
    );
    let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
    let sign = if mantissa < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// One loaded row: its table, its payload and header columns, and where it was read from.
pub struct LoadedRow {
    /// The table.
    pub table: String,
    /// Every column but the partition and offset, comparable with [`comparable`].
    pub values: Vec<SqlValue>,
    /// `kafka_partition`.
    pub partition: i64,
    /// `kafka_offset`.
    pub offset: i64,
}

/// Every row of this run's orders, by event id. Panics if an event id appears twice.
pub fn loaded_rows(backend: &mut dyn Backend, order_prefix: &str) -> HashMap<String, LoadedRow> {
    let mut rows = HashMap::new();
    for table in tables() {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| readable(&format!("\"{}\"", c.name), c.kind))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE order_id LIKE CAST($1 AS TEXT) || '%'",
            columns.join(", "),
            table.name
        );
        let at = |name: &str| table.column_names().position(|c| c == name).unwrap();
        let (partition_at, offset_at) = (at("kafka_partition"), at("kafka_offset"));
        assert_eq!(offset_at, partition_at + 1);
        let event_id_at = at("event_id");
        for mut values in backend.query(&sql, &[order_prefix]).unwrap() {
            for (value, column) in values.iter_mut().zip(&table.columns) {
                if let (ColumnKind::Json, SqlValue::Text(text)) = (column.kind, &*value) {
                    *value = SqlValue::Text(canonical_json(text));
                }
            }
            let offset = values.remove(offset_at).as_i64().unwrap();
            let partition = values.remove(partition_at).as_i64().unwrap();
            let event_id = values[event_id_at].as_str().unwrap().to_owned();
            let previous = rows.insert(
                event_id.clone(),
                LoadedRow {
                    table: table.name.clone(),
                    values,
                    partition,
                    offset,
                },
            );
            assert!(previous.is_none(), "event {event_id} has two rows");
        }
    }
    rows
}

/// Commits `group`'s offsets at the end of `topic` as it is now, so that the group reads
/// only what is published from here on: a topic that keeps its records between runs (the
/// broker is reused locally) may hold earlier runs' records of a shape a test does not
/// expect. A topic that does not exist yet gets nothing committed, and the group then
/// reads it from its start, which holds only this run's records.
pub fn group_starting_at_end(group: &str, topic: &str) {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", services::kafka_bootstrap())
        .set("group.id", group)
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut ends = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition.id(), Duration::from_secs(10))
            .unwrap();
        ends.add_partition_offset(topic, partition.id(), Offset::Offset(high))
            .unwrap();
    }
    if ends.count() > 0 {
        consumer.commit(&ends, CommitMode::Sync).unwrap();
    }
}
