//! Fault tests against the real broker: killed mid-stream, late at startup, down for longer
//! than the queue can hold; shutdown with the broker up and down. They kill and restart the
//! shared test broker (`scripts/services.sh kafka-kill` / `kafka-start`), so they run one at
//! a time, and each leaves the broker running, even when it fails. Each is bounded in time.
#![cfg(all(feature = "kafka", feature = "statsd"))]

mod common;

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use common::broker::Broker;
use common::services;
use event_runtime::{Dispatcher, Event, KafkaConfig, KafkaSink, Tag};
use multi_dispatch_events::readback::read_topics;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    A,
    B,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "fault.sequenced", topic = "fault-sequenced")]
struct Sequenced {
    #[event(key)]
    key: String,
    run: String,
    sequence: u64,
    #[event(tag)]
    lane: Lane,
}

fn event(run: &str, sequence: u64) -> Sequenced {
    Sequenced {
        key: format!("k{}", sequence % 50),
        run: run.to_owned(),
        sequence,
        lane: if sequence % 2 == 0 { Lane::A } else { Lane::B },
    }
}

/// Every record of this run in the topic: sequence -> (count, partition order per key ok).
fn read_run(run: &str, expected: usize) -> Vec<Sequenced> {
    let run = run.to_owned();
    read_topics(
        &services::kafka_bootstrap(),
        &[Sequenced::TOPIC],
        |r| Sequenced::decode(&r.payload).is_ok_and(|e| e.run == run),
        |kept| kept.len() >= expected,
        Duration::from_secs(120),
    )
    .unwrap()
    .iter()
    .map(|r| Sequenced::decode(&r.payload).unwrap())
    .collect()
}

fn assert_order_per_key(records: &[Sequenced]) {
    let mut last: HashMap<&str, u64> = HashMap::new();
    for r in records {
        if let Some(previous) = last.insert(&r.key, r.sequence) {
            assert!(
                previous < r.sequence,
                "key {}: {} came after {}",
                r.key,
                r.sequence,
                previous
            );
        }
    }
}

#[test]
fn broker_killed_mid_stream_loses_and_duplicates_nothing() {
    let broker = Broker::take(Sequenced::TOPIC);
    let run = services::run_id();
    let config =
        KafkaConfig::new(services::kafka_bootstrap()).block_when_full(Duration::from_secs(60));
    let events = Dispatcher::builder().kafka(config).build().unwrap();

    thread::scope(|scope| {
        let publisher = scope.spawn(|| {
            for sequence in 0..100_000 {
                events.publish(&event(&run, sequence));
                if sequence % 1000 == 0 {
                    thread::sleep(Duration::from_millis(5));
                }
            }
        });
        thread::sleep(Duration::from_millis(300));
        broker.kill();
        thread::sleep(Duration::from_secs(3));
        broker.start();
        publisher.join().unwrap();
    });
    let report = events
        .shutdown(Duration::from_secs(120))
        .expect("everything delivered after the restart");
    let stats = report.sink("kafka").unwrap();
    assert_eq!(
        stats.published,
        stats.delivered + stats.failed + stats.dropped
    );
    assert_eq!(
        (stats.published, stats.failed, stats.dropped),
        (100_000, 0, 0)
    );

    let records = read_run(&run, 100_000);
    let mut seen = vec![0u32; 100_000];
    for r in &records {
        seen[r.sequence as usize] += 1;
    }
    assert_eq!(
        seen.iter().filter(|&&n| n == 0).count(),
        0,
        "records counted as delivered are missing"
    );
    assert_eq!(
        seen.iter().filter(|&&n| n > 1).count(),
        0,
        "records are in the topic twice"
    );
    assert_eq!(records.len(), 100_000);
    assert_order_per_key(&records);
}

#[test]
fn a_broker_that_starts_late_gets_every_event_and_publish_never_waits_for_it() {
    let broker = Broker::take(Sequenced::TOPIC);
    broker.kill();
    let run = services::run_id();
    let sink = std::sync::Arc::new(
        KafkaSink::new(&KafkaConfig::new(services::kafka_bootstrap_unchecked())).unwrap(),
    );
    let events = Dispatcher::builder()
        .record_sink(std::sync::Arc::clone(&sink))
        .build()
        .unwrap();
    for sequence in 0..5_000 {
        events.publish(&event(&run, sequence));
    }
    // Every publish returned with its record queued: none waited for the absent broker.
    let stats = events.stats().sink("kafka").unwrap();
    assert_eq!((stats.published, stats.pending()), (5_000, 5_000));
    thread::sleep(Duration::from_secs(15));
    broker.start();
    let report = events.shutdown(Duration::from_secs(120));
    assert!(
        report.is_ok(),
        "{report:?}: {:?}, last error {:?}",
        sink.failures(),
        sink.last_error()
    );
    let records = read_run(&run, 5_000);
    assert_eq!(records.len(), 5_000);
    assert_order_per_key(&records);
}

#[test]
fn an_outage_longer_than_the_queue_drops_exactly_the_overflow_in_bounded_memory() {
    let broker = Broker::take(Sequenced::TOPIC);
    broker.kill();
    let run = services::run_id();
    let config = KafkaConfig::new(services::kafka_bootstrap_unchecked())
        .set("queue.buffering.max.messages", "10000")
        .set("queue.buffering.max.kbytes", "4096");
    let events = Dispatcher::builder().kafka(config).build().unwrap();
    let before = common::resident_kib();
    let started = Instant::now();
    for sequence in 0..200_000 {
        events.publish(&event(&run, sequence));
    }
    let publishing = started.elapsed();
    let grown = common::resident_kib().saturating_sub(before);
    let stats = events.stats().sink("kafka").unwrap();
    // What is held: librdkafka's 10,000, the relay's queue of 8,192 in front of it, and
    // up to 64 its thread took and librdkafka had no room for. The rest is dropped.
    let held = stats.pending();
    assert!((18_192..=18_256).contains(&held), "{held} held: {stats:?}");
    assert_eq!((stats.published, stats.dropped), (200_000, 200_000 - held));
    // 18,000 queued records of about 100 bytes plus librdkafka's bookkeeping: well under
    // 64 MiB, where 200,000 unbounded records would be far more.
    assert!(grown < 64 * 1024, "resident memory grew by {grown} KiB");
    broker.start();
    let report = events.shutdown(Duration::from_secs(120)).unwrap_err();
    let stats = report.report.sink("kafka").unwrap();
    assert_eq!(
        (stats.delivered, stats.dropped, stats.failed),
        (held, 200_000 - held, 0)
    );
    eprintln!(
        "outage: 200,000 publishes in {publishing:?}, RSS +{grown} KiB, {} dropped and counted",
        200_000 - held
    );
}

#[test]
fn shutdown_with_the_broker_down_returns_within_its_timeout_and_reports_the_count() {
    let broker = Broker::take(Sequenced::TOPIC);
    broker.kill();
    let events = Dispatcher::builder()
        .kafka(KafkaConfig::new(services::kafka_bootstrap_unchecked()))
        .build()
        .unwrap();
    for sequence in 0..1_000 {
        events.publish(&event("down", sequence));
    }
    let started = Instant::now();
    let error = events.shutdown(Duration::from_secs(2)).unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.report.undelivered(), 1_000);
    // The timeout, plus the purge's bounded wait for its reports.
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}
