//! The Kafka sink against the real broker, and without one: records, keys, headers and
//! timestamps; the full-queue policy; shutdown and drop accounting. Each test of these runs
//! twice, with and without the relay (`KafkaConfig::relay`), whose promise is that they
//! all still hold.
#![cfg(feature = "kafka")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::services;
use event_runtime::{
    header, Dispatcher, Event, KafkaConfig, KafkaSink, RecordingSink, Tag, CONTENT_TYPE_PROTOBUF,
};
use multi_dispatch_events::readback::{read_topics, StoredRecord};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Region {
    North,
    South,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "kafka_test.parcel", topic = "kafka-test-parcels")]
struct ParcelScanned {
    #[event(key)]
    parcel_id: String,
    run: String,
    sequence: u64,
    #[event(tag)]
    region: Region,
}

fn parcel(run: &str, sequence: u64) -> ParcelScanned {
    ParcelScanned {
        parcel_id: format!("{run}-p{}", sequence % 17),
        run: run.to_owned(),
        sequence,
        region: if sequence % 3 == 0 {
            Region::North
        } else {
            Region::South
        },
    }
}

/// The sink's configuration, relayed or not.
fn config(bootstrap: impl Into<String>, relay: bool) -> KafkaConfig {
    KafkaConfig::new(bootstrap).relay(relay)
}

/// Two tests of one body: publishing directly and through the relay.
macro_rules! direct_and_relayed {
    ($body:ident: $direct:ident, $relayed:ident) => {
        #[test]
        fn $direct() {
            $body(false);
        }

        #[test]
        fn $relayed() {
            $body(true);
        }
    };
}

fn read_run(run: &str, expected: usize) -> Vec<(StoredRecord, ParcelScanned)> {
    let run = run.to_owned();
    let records = read_topics(
        &services::kafka_bootstrap(),
        &[ParcelScanned::TOPIC],
        |r| ParcelScanned::decode(&r.payload).is_ok_and(|p| p.run == run),
        |kept| kept.len() >= expected,
        Duration::from_secs(60),
    )
    .unwrap();
    records
        .into_iter()
        .map(|r| {
            let p = ParcelScanned::decode(&r.payload).unwrap();
            (r, p)
        })
        .collect()
}

direct_and_relayed!(records_arrive: records_arrive_with_key_headers_timestamp_and_order,
    relayed_records_arrive_with_key_headers_timestamp_and_order);

fn records_arrive(relay: bool) {
    let run = services::run_id();
    let events = Dispatcher::builder()
        .kafka(config(services::kafka_bootstrap(), relay))
        .build()
        .unwrap();
    let before = SystemTime::now();
    for sequence in 0..2000 {
        events.publish(&parcel(&run, sequence));
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(report.sink("kafka").unwrap().delivered, 2000);

    let records = read_run(&run, 2000);
    assert_eq!(records.len(), 2000);
    let mut last_per_key: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    let start_ms = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (record, decoded) in &records {
        assert_eq!(decoded, &parcel(&run, decoded.sequence));
        assert_eq!(record.key.as_deref(), Some(decoded.parcel_id.as_bytes()));
        assert_eq!(record.header(header::EVENT_NAME), Some("kafka_test.parcel"));
        assert_eq!(
            record.header(header::SCHEMA_NAME),
            Some("events.ParcelScanned")
        );
        assert_eq!(
            record.header(header::CONTENT_TYPE),
            Some(CONTENT_TYPE_PROTOBUF)
        );
        assert!(
            ids.insert(record.header(header::EVENT_ID).unwrap().to_owned()),
            "event id repeated"
        );
        assert!(record.timestamp_millis.unwrap() >= start_ms);
        // Records of one key are in one partition, in publish order.
        let key = record.key.clone().unwrap();
        if let Some(previous) = last_per_key.insert(key, decoded.sequence) {
            assert!(previous < decoded.sequence, "order per key broken");
        }
    }
}

/// A port nothing listens on.
fn dead_broker() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

direct_and_relayed!(without_a_broker: without_a_broker_publish_returns_and_shutdown_reports_what_was_lost,
    relayed_without_a_broker_publish_returns_and_shutdown_reports_what_was_lost);

fn without_a_broker(relay: bool) {
    let sink = Arc::new(KafkaSink::new(&config(dead_broker(), relay)).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    for sequence in 0..1000 {
        events.publish(&parcel("no-broker", sequence));
    }
    // Every publish returned with its record still queued: nothing waited for the broker.
    let stats = events.stats().sink("kafka").unwrap();
    assert_eq!((stats.published, stats.pending()), (1000, 1000));
    // librdkafka's queue holds the 1,000, and may also hold the dead broker's connection
    // errors waiting to be reported.
    assert!(
        (1000..1010).contains(&sink.in_flight()),
        "{}",
        sink.in_flight()
    );

    let error = events.shutdown(Duration::from_millis(500)).unwrap_err();
    let stats = error.report.sink("kafka").unwrap();
    assert_eq!(error.report.undelivered(), 1000);
    assert_eq!(
        stats.published,
        stats.delivered + stats.dropped + stats.failed
    );
    assert_eq!((stats.delivered, stats.failed), (0, 1000));
    assert_eq!(
        sink.failures().values().sum::<u64>(),
        1000,
        "{:?}",
        sink.failures()
    );
    assert!(
        error
            .to_string()
            .contains("1000 published items were not delivered"),
        "{error}"
    );
}

#[test]
fn a_full_queue_drops_and_counts_the_overflow() {
    let config = config(dead_broker(), false).set("queue.buffering.max.messages", "100");
    let events = Dispatcher::builder().kafka(config).build().unwrap();
    for sequence in 0..250 {
        events.publish(&parcel("full", sequence));
    }
    let stats = events.stats().sink("kafka").unwrap();
    assert_eq!(
        (stats.published, stats.dropped, stats.pending()),
        (250, 150, 100)
    );
    let error = events.shutdown(Duration::from_millis(200)).unwrap_err();
    let stats = error.report.sink("kafka").unwrap();
    assert_eq!(
        (stats.dropped, stats.failed, stats.delivered),
        (150, 100, 0)
    );
}

#[test]
fn a_full_relay_and_a_full_queue_drop_and_count_the_overflow() {
    // librdkafka holds 100; the relay's queue 8,192 more, and its thread up to 64 it took
    // and librdkafka had no room for. Beyond those, records are dropped and counted.
    const PUBLISHED: u64 = 10_000;
    let config = config(dead_broker(), true).set("queue.buffering.max.messages", "100");
    let events = Dispatcher::builder().kafka(config).build().unwrap();
    for sequence in 0..PUBLISHED {
        events.publish(&parcel("relay-full", sequence));
    }
    let stats = events.stats().sink("kafka").unwrap();
    let held = PUBLISHED - stats.dropped;
    assert!(
        (100 + 8192..=100 + 8192 + 64).contains(&held),
        "{held} held: {stats:?}"
    );
    assert_eq!((stats.published, stats.pending()), (PUBLISHED, held));
    let error = events.shutdown(Duration::from_millis(200)).unwrap_err();
    let stats = error.report.sink("kafka").unwrap();
    assert_eq!(
        (stats.dropped, stats.failed, stats.delivered),
        (PUBLISHED - held, held, 0)
    );
}

#[test]
fn a_relay_and_a_spool_are_refused_together() {
    let dir = tempfile::tempdir().unwrap();
    let error = Dispatcher::builder()
        .kafka(config(dead_broker(), true).spool(dir.path()))
        .build()
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .contains("relay and spool cannot be combined"),
        "{error}"
    );
}

direct_and_relayed!(waits_for_room: a_full_queue_can_wait_a_bounded_time_for_room,
    a_full_relay_can_wait_a_bounded_time_for_room);

fn waits_for_room(relay: bool) {
    let run = services::run_id();
    let config = config(services::kafka_bootstrap(), relay)
        .set("queue.buffering.max.messages", "50")
        .block_when_full(Duration::from_secs(10));
    let events = Dispatcher::builder().kafka(config).build().unwrap();
    // Relayed, more than the relay's queue holds, so that both queues fill.
    let count = if relay { 10_000 } else { 500 };
    for sequence in 0..count {
        events.publish(&parcel(&run, sequence));
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    let stats = report.sink("kafka").unwrap();
    assert_eq!((stats.delivered, stats.dropped), (count, 0));
    assert_eq!(read_run(&run, count as usize).len(), count as usize);
}

direct_and_relayed!(drop_delivers: dropping_without_shutdown_still_delivers,
    dropping_a_relayed_sink_without_shutdown_still_delivers);

fn drop_delivers(relay: bool) {
    let run = services::run_id();
    {
        let events = Dispatcher::builder()
            .kafka(config(services::kafka_bootstrap(), relay).set("linger.ms", "1000"))
            .build()
            .unwrap();
        for sequence in 0..300 {
            events.publish(&parcel(&run, sequence));
        }
    }
    assert_eq!(read_run(&run, 300).len(), 300);
}

#[test]
fn any_librdkafka_property_can_be_set_and_bad_ones_are_reported() {
    let config = KafkaConfig::new("127.0.0.1:9092").set("compression.type", "lz4");
    assert_eq!(config.get("compression.type"), Some("lz4"));
    assert_eq!(config.get("enable.idempotence"), Some("true"));
    assert_eq!(config.get("acks"), Some("all"));
    let error = Dispatcher::builder()
        .kafka(KafkaConfig::new("127.0.0.1:9092").set("no.such.property", "1"))
        .build()
        .err()
        .unwrap();
    assert!(error.to_string().contains("no.such.property"), "{error}");
}

direct_and_relayed!(fatal_error: a_fatal_producer_error_is_surfaced_and_every_later_record_counted_as_failed,
    a_fatal_producer_error_is_surfaced_and_every_later_relayed_record_counted_as_failed);

fn fatal_error(relay: bool) {
    let run = services::run_id();
    let sink = Arc::new(KafkaSink::new(&config(services::kafka_bootstrap(), relay)).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    for sequence in 0..100 {
        events.publish(&parcel(&run, sequence));
    }
    events.flush(Duration::from_secs(60));
    assert_eq!(events.stats().sink("kafka").unwrap().delivered, 100);
    assert_eq!(sink.fatal_error(), None);

    sink.raise_fatal_error_for_tests("test: broker lost the producer's sequence state");
    for sequence in 100..200 {
        events.publish(&parcel(&run, sequence));
    }
    let error = events.shutdown(Duration::from_secs(5)).unwrap_err();
    let stats = error.report.sink("kafka").unwrap();
    assert_eq!(
        (stats.published, stats.delivered, stats.failed),
        (200, 100, 100)
    );
    let fatal = sink.fatal_error().expect("the fatal error is readable");
    assert!(fatal.contains("sequence state"), "{fatal}");
    assert_eq!(
        sink.failures().values().sum::<u64>(),
        100,
        "{:?}",
        sink.failures()
    );
}

#[test]
fn sasl_properties_are_passed_to_librdkafka() {
    // SASL over plaintext is accepted as configured (the broker would negotiate it).
    let sasl = KafkaConfig::new("127.0.0.1:9092")
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", "app")
        .set("sasl.password", "secret");
    assert!(Dispatcher::builder().kafka(sasl).build().is_ok());
}

/// Without the `kafka-tls` feature, librdkafka has no OpenSSL: asking for TLS is refused
/// when the dispatcher is built, with librdkafka's reason. (`tests/kafka_tls.rs` covers
/// the feature against the broker's TLS listener.)
#[test]
fn records_failed_by_an_unreachable_cluster_count_under_its_cause_and_the_dispatcher_shows_it() {
    let run = services::run_id();
    // Nothing listens there: librdkafka reports the connection errors, then shutdown purges.
    let sink = Arc::new(KafkaSink::new(&KafkaConfig::new("127.0.0.1:9")).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    for sequence in 0..100 {
        events.publish(&parcel(&run, sequence));
    }
    // Long enough for librdkafka to try the broker and report it down.
    std::thread::sleep(Duration::from_secs(2));
    let diagnostics = events.diagnostics();
    let (name, kafka) = &diagnostics[0];
    assert_eq!(*name, "kafka");
    assert!(
        kafka.client_errors.contains_key("AllBrokersDown")
            || kafka.client_errors.contains_key("BrokerTransportFailure"),
        "{:?}",
        kafka.client_errors
    );
    for error in kafka.client_errors.values() {
        assert!(
            error.count >= 1 && !error.first.is_empty() && !error.last.is_empty(),
            "{error:?}"
        );
    }
    let report = events
        .shutdown(Duration::from_millis(500))
        .unwrap_err()
        .report;
    let stats = report.sink("kafka").unwrap();
    assert_eq!((stats.published, stats.failed), (100, 100));
    // The purge's own reason, `PurgeQueue`, says nothing: the records count under the cause.
    let failures = sink.failures();
    assert_eq!(failures.values().sum::<u64>(), 100, "{failures:?}");
    assert!(!failures.contains_key("PurgeQueue"), "{failures:?}");
    assert!(
        failures
            .keys()
            .all(|reason| sink.client_errors().contains_key(reason)),
        "every failure names a client-level error: {failures:?} {:?}",
        sink.client_errors()
    );
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "kafka_test.upload", topic = "kafka-test-uploads")]
struct UploadReceived {
    #[event(key)]
    upload_id: String,
    body: String,
}

direct_and_relayed!(oversized: an_oversized_record_fails_at_publish_with_its_own_reason_in_kafka_and_the_recording_sink,
    an_oversized_relayed_record_fails_at_publish_with_its_own_reason);

/// librdkafka refuses a record over `message.max.bytes` inside `publish`, with its own
/// reason (relayed, the sink checks the same size first); the recording sink refuses
/// exactly the same ones, so a unit test catches it.
fn oversized(relay: bool) {
    const LIMIT: usize = 10_000;
    let limit = LIMIT.to_string();
    // No broker: a record librdkafka accepts waits in its queue, one it refuses fails now.
    let sink = Arc::new(
        KafkaSink::new(&config("127.0.0.1:9", relay).set("message.max.bytes", &*limit)).unwrap(),
    );
    let recording = RecordingSink::new().with_max_message_bytes(LIMIT);
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .recording(&recording)
        .build()
        .unwrap();
    // Bodies from well under to well over the limit, one byte apart around it.
    let sizes: Vec<usize> = (LIMIT - 200..LIMIT).collect();
    for &size in &sizes {
        let failed_before = sink.failures().get("MessageSizeTooLarge").copied();
        let recorded_before = recording.records().len();
        events.publish(&UploadReceived {
            upload_id: "u-1".into(),
            body: "x".repeat(size),
        });
        let kafka_refused = sink.failures().get("MessageSizeTooLarge").copied() != failed_before;
        let recording_refused = recording.records().len() == recorded_before;
        assert_eq!(kafka_refused, recording_refused, "a {size}-byte body");
    }
    let refused = sink.failures()["MessageSizeTooLarge"];
    assert!(
        refused > 0 && refused < sizes.len() as u64,
        "{refused}: the limit was not crossed"
    );
    assert_eq!(recording.failures()["MessageSizeTooLarge"], refused);
    let kafka = events.stats().sink("kafka").unwrap();
    assert_eq!(
        (kafka.published, kafka.failed),
        (sizes.len() as u64, refused)
    );
    drop(events.shutdown(Duration::from_millis(100)));
}

/// A sink that cannot be built says what to fix and keeps the underlying error as its
/// `source()`, for a service that logs error chains.
#[test]
fn a_spool_that_cannot_be_opened_keeps_the_io_error_as_the_source() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let error = Dispatcher::builder()
        .kafka(KafkaConfig::new("127.0.0.1:9").spool(file.path()))
        .build()
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("cannot open the spool directory"),
        "{error}"
    );
    let source = std::error::Error::source(&error).expect("the I/O error as the source");
    assert!(
        source.downcast_ref::<std::io::Error>().is_some(),
        "{source:?}"
    );
}
