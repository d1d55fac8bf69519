//! A client no one here wrote reads what we publish: Confluent's Python client
//! (`confluent-kafka`, its `ProtobufDeserializer` and `SchemaId`) consumes the order flow's
//! topics from the real broker, reads the Confluent framing of every record, and decodes
//! it with message classes Google's protobuf runtime made from our
//! `SchemaSet::file_descriptor_set()`. Every record must come back once, under the schema
//! id it was framed with, and decode to the published value.
//!
//! No registry runs here: the consumer is given the ids our dispatcher framed with, as a
//! registry's `/schemas/ids/{id}` would give them.
#![cfg(feature = "kafka")]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::services;
use event_runtime::confluent::parse_frame;
use event_runtime::{header, DecodeOwned, Dispatcher, Event, KafkaConfig, RecordingSink};
use multi_dispatch_events::order_flow::events::*;
use multi_dispatch_events::order_flow::simulate::{self, Scenario};

/// The id each order-flow message is framed with, as a registry would have assigned them.
fn schema_ids() -> Vec<(u32, &'static str)> {
    [
        OrderPlaced::MESSAGE_NAME,
        PaymentAttempted::MESSAGE_NAME,
        PaymentSucceeded::MESSAGE_NAME,
        PaymentFailed::MESSAGE_NAME,
        OrderSentToRestaurant::MESSAGE_NAME,
        OrderCollected::MESSAGE_NAME,
        OrderDelivered::MESSAGE_NAME,
    ]
    .into_iter()
    .zip(1001..)
    .map(|(name, id)| (id, name))
    .collect()
}

fn framed(bootstrap: &str) -> event_runtime::DispatcherBuilder {
    let id = |name: &str| schema_ids().iter().find(|(_, n)| *n == name).unwrap().0;
    Dispatcher::builder()
        .kafka(KafkaConfig::new(bootstrap))
        .schema_registry_id::<OrderPlaced>(id(OrderPlaced::MESSAGE_NAME))
        .schema_registry_id::<PaymentAttempted>(id(PaymentAttempted::MESSAGE_NAME))
        .schema_registry_id::<PaymentSucceeded>(id(PaymentSucceeded::MESSAGE_NAME))
        .schema_registry_id::<PaymentFailed>(id(PaymentFailed::MESSAGE_NAME))
        .schema_registry_id::<OrderSentToRestaurant>(id(OrderSentToRestaurant::MESSAGE_NAME))
        .schema_registry_id::<OrderCollected>(id(OrderCollected::MESSAGE_NAME))
        .schema_registry_id::<OrderDelivered>(id(OrderDelivered::MESSAGE_NAME))
}

/// What one line of the consumer's output says of one record.
struct Consumed {
    event_id: String,
    topic: String,
    schema_id: u32,
    message_indexes: Vec<i64>,
    message: String,
    reencoded: Vec<u8>,
    json: serde_json::Value,
}

impl Consumed {
    fn parse(line: &str) -> Self {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = |k: &str| v[k].as_str().unwrap().to_owned();
        let hex = text("reencoded");
        Consumed {
            event_id: text("event_id"),
            topic: text("topic"),
            schema_id: v["schema_id"].as_u64().unwrap() as u32,
            message_indexes: v["message_indexes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_i64().unwrap())
                .collect(),
            message: text("message"),
            reencoded: (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
            json: v["json"].clone(),
        }
    }
}

/// Their re-encoding of what they decoded, decoded by us, equals our decode of the bytes
/// we published; and it is as long, so they neither dropped nor added a field.
fn same_value<E: Event + DecodeOwned + PartialEq + std::fmt::Debug>(theirs: &[u8], ours: &[u8]) {
    assert_eq!(E::decode(theirs).unwrap(), E::decode(ours).unwrap());
    assert_eq!(theirs.len(), ours.len(), "{}", E::MESSAGE_NAME);
}

fn check_value(message: &str, theirs: &[u8], ours: &[u8]) {
    match message {
        n if n == OrderPlaced::MESSAGE_NAME => same_value::<OrderPlaced>(theirs, ours),
        n if n == PaymentAttempted::MESSAGE_NAME => same_value::<PaymentAttempted>(theirs, ours),
        n if n == PaymentSucceeded::MESSAGE_NAME => same_value::<PaymentSucceeded>(theirs, ours),
        n if n == PaymentFailed::MESSAGE_NAME => same_value::<PaymentFailed>(theirs, ours),
        n if n == OrderSentToRestaurant::MESSAGE_NAME => {
            same_value::<OrderSentToRestaurant>(theirs, ours)
        }
        n if n == OrderCollected::MESSAGE_NAME => same_value::<OrderCollected>(theirs, ours),
        n if n == OrderDelivered::MESSAGE_NAME => same_value::<OrderDelivered>(theirs, ours),
        other => panic!("not an order-flow message: {other}"),
    }
}

#[test]
fn confluent_kafka_python_decodes_every_order_flow_record() {
    let python = std::env::var("CONFLUENT_KAFKA_PYTHON").expect(
        "CONFLUENT_KAFKA_PYTHON names the Python with confluent-kafka: \
         run `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    let bootstrap = services::kafka_bootstrap();
    let scenario = Scenario {
        orders: 300,
        seed: 23,
        run_id: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    let recording = RecordingSink::new();
    let events = framed(&bootstrap)
        .record_sink(recording.clone())
        .build()
        .unwrap();
    simulate::run(&events, scenario, |_, _| {});
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    let published = recording.records();
    assert_eq!(
        report.sink("kafka").unwrap().delivered,
        published.len() as u64
    );

    let dir = tempfile::tempdir().unwrap();
    let descriptor_set = dir.path().join("order_flow.binpb");
    std::fs::write(&descriptor_set, schemas().file_descriptor_set().unwrap()).unwrap();
    let ids = dir.path().join("schema_ids.json");
    let ids_json: serde_json::Map<String, serde_json::Value> = schema_ids()
        .into_iter()
        .map(|(id, name)| (id.to_string(), name.into()))
        .collect();
    std::fs::write(&ids, serde_json::Value::Object(ids_json).to_string()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/confluent_consumer.py");
    let output = Command::new(&python)
        .arg(&script)
        .args(["--bootstrap", &bootstrap])
        .args([
            "--topics",
            &format!("{},{}", OrderPlaced::TOPIC, PaymentAttempted::TOPIC),
        ])
        .args(["--key-prefix", &scenario.order_prefix()])
        .args(["--count", &published.len().to_string()])
        .arg("--descriptor-set")
        .arg(&descriptor_set)
        .arg("--schema-ids")
        .arg(&ids)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    assert!(
        output.status.success(),
        "the Python consumer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut by_id: HashMap<&str, _> = published
        .iter()
        .map(|r| (r.header(header::EVENT_ID).unwrap(), r))
        .collect();
    let consumed: Vec<Consumed> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(Consumed::parse)
        .collect();
    assert_eq!(consumed.len(), published.len());
    let ids = schema_ids();
    for record in &consumed {
        let ours = by_id
            .remove(record.event_id.as_str())
            .unwrap_or_else(|| panic!("{} came back twice, or was never sent", record.event_id));
        let schema_name = ours.header(header::SCHEMA_NAME).unwrap();
        assert_eq!(record.message, schema_name);
        assert_eq!(record.topic, ours.topic);
        let (id, indexes, payload) = parse_frame(&ours.payload).unwrap();
        assert_eq!(record.schema_id, id);
        assert!(
            ids.contains(&(id, schema_name)),
            "{id} frames {schema_name}"
        );
        assert_eq!(record.message_indexes, indexes);
        check_value(&record.message, &record.reencoded, payload);
    }
    assert!(by_id.is_empty(), "{} records never came back", by_id.len());

    // The values read as an analyst's script would: proto3 JSON by field name.
    let placed = consumed
        .iter()
        .find(|r| r.message == OrderPlaced::MESSAGE_NAME)
        .unwrap();
    let ours = OrderPlaced::decode(
        parse_frame(&by_event_id(&published, &placed.event_id).payload)
            .unwrap()
            .2,
    )
    .unwrap();
    assert_eq!(placed.json["order_id"], ours.order_id.as_str());
    // proto3 JSON writes a uint64 as a string.
    assert_eq!(placed.json["basket_pence"], ours.basket_pence.to_string());
}

fn by_event_id<'a>(
    records: &'a [event_runtime::RecordedRecord],
    id: &str,
) -> &'a event_runtime::RecordedRecord {
    records
        .iter()
        .find(|r| r.header(header::EVENT_ID) == Some(id))
        .unwrap()
}
