//! Leader failover on the 3-node cluster (`scripts/services.sh cluster-start`: KRaft,
//! replication factor 3, min.insync.replicas=2), as Kafka's own replication tests do it:
//! 15,000 events/s for at least 60 s while the leader of one partition is hard-bounced
//! (SIGKILL, restart, back in the ISR) 5 times. With the spool nothing may be dropped,
//! duplicated or reordered; without it, the drops are the baseline, and exactly counted.
//! Figures printed here are in RELIABILITY.md.
#![cfg(feature = "kafka")]

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::stored::Stored;
use event_runtime::{Dispatcher, Event, KafkaConfig, SinkStats};
use rdkafka::consumer::{BaseConsumer, Consumer};

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "failover.sequenced", topic = "failover-sequenced")]
struct Sequenced {
    #[event(key)]
    key: String,
    run: String,
    sequence: u64,
}

const RATE_PER_TICK: u64 = 150; // every 10 ms: 15,000 events/s
const BOUNCES: usize = 5;
const RUN_FOR: Duration = Duration::from_secs(60);

/// The tests bounce the same cluster, so they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn services(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/services.sh");
    let status = Command::new(script)
        .args(args)
        .status()
        .expect("scripts/services.sh runs");
    assert!(status.success(), "scripts/services.sh {args:?} failed");
}

/// Starts the cluster (once per run) and returns its bootstrap servers.
fn cluster() -> String {
    services(&["cluster-start"]);
    std::env::var("KAFKA_CLUSTER_BOOTSTRAP_SERVERS").expect(
        "KAFKA_CLUSTER_BOOTSTRAP_SERVERS is not set: eval \"$(scripts/services.sh env)\", or run scripts/test",
    )
}

/// Partition 0's leader and in-sync replicas, as the cluster reports them now.
fn partition_zero(consumer: &BaseConsumer) -> Option<(i32, Vec<i32>)> {
    let metadata = consumer
        .fetch_metadata(Some(Sequenced::TOPIC), Duration::from_secs(5))
        .ok()?;
    let topic = metadata.topics().first()?;
    let partition = topic.partitions().iter().find(|p| p.id() == 0)?;
    (partition.leader() >= 0).then(|| (partition.leader(), partition.isr().to_vec()))
}

/// Hard-bounces partition 0's leader `BOUNCES` times; returns how long each bounce took
/// until the node was back in the ISR.
fn bounce_leaders(bootstrap: &str, stop: &AtomicBool) -> Vec<Duration> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let mut took = Vec::new();
    thread::sleep(Duration::from_secs(5));
    for _ in 0..BOUNCES {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let leader = loop {
            match partition_zero(&consumer) {
                Some((leader, isr)) if isr.len() == 3 => break leader,
                _ if Instant::now() > deadline => {
                    panic!("partition 0 never had all 3 replicas in sync")
                }
                _ => thread::sleep(Duration::from_millis(200)),
            }
        };
        let started = Instant::now();
        services(&["cluster-kill", &leader.to_string()]);
        thread::sleep(Duration::from_secs(1));
        services(&["cluster-launch", &leader.to_string()]);
        while !partition_zero(&consumer).is_some_and(|(_, isr)| isr.contains(&leader)) {
            assert!(
                Instant::now() < deadline,
                "node {leader} did not rejoin the ISR within 60 s"
            );
            thread::sleep(Duration::from_millis(200));
        }
        took.push(started.elapsed());
        thread::sleep(Duration::from_secs(2));
    }
    took
}

struct Run {
    stats: SinkStats,
    /// Every `publish()` call's duration, sorted.
    calls: Vec<Duration>,
    bounces: Vec<Duration>,
    published: u64,
}

impl Run {
    fn quantile(&self, q: f64) -> Duration {
        self.calls[((self.calls.len() - 1) as f64 * q) as usize]
    }

    fn describe(&self, label: &str) -> String {
        format!(
            "{label}: {} published, {:?}; {} bounces, back in the ISR after {:?}; publish() p50 {:?}, p99.9 {:?}, max {:?}",
            self.published,
            self.stats,
            self.bounces.len(),
            self.bounces,
            self.quantile(0.5),
            self.quantile(0.999),
            self.calls.last().unwrap()
        )
    }
}

fn publish_through_bounces(run: &str, config: KafkaConfig, bootstrap: &str) -> Run {
    let events = Dispatcher::builder().kafka(config).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (bootstrap, stop) = (bootstrap.to_owned(), Arc::clone(&stop));
        thread::spawn(move || bounce_leaders(&bootstrap, &stop))
    };
    let started = Instant::now();
    let mut calls = Vec::new();
    let mut sequence = 0;
    let mut tick = started;
    while started.elapsed() < RUN_FOR || !chaos.is_finished() {
        for _ in 0..RATE_PER_TICK {
            let event = Sequenced {
                key: format!("k{}", sequence % 64),
                run: run.to_owned(),
                sequence,
            };
            let call = Instant::now();
            events.publish(&event);
            calls.push(call.elapsed());
            sequence += 1;
        }
        tick += Duration::from_millis(10);
        if let Some(wait) = tick.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        if started.elapsed() > RUN_FOR * 4 {
            stop.store(true, Ordering::Release);
        }
    }
    let bounces = chaos.join().expect("the bouncing thread panicked");
    let report = events.shutdown(Duration::from_secs(300));
    let report = report.unwrap_or_else(|undelivered| undelivered.report);
    calls.sort();
    Run {
        stats: report.sink("kafka").unwrap(),
        calls,
        bounces,
        published: sequence,
    }
}

/// What the cluster stores of `run`, once `at_least` distinct events are in.
fn stored(bootstrap: &str, run: &str, at_least: u64) -> Stored {
    Stored::read(bootstrap, Sequenced::TOPIC, at_least, |payload| {
        let event = Sequenced::decode(payload).ok()?;
        (event.run == run).then_some((event.key, event.sequence))
    })
}

#[test]
fn leader_failover_with_the_spool_drops_duplicates_and_reorders_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let bootstrap = cluster();
    let dir = tempfile::tempdir().unwrap();
    let run = common::services::run_id();
    let outcome = publish_through_bounces(
        &run,
        KafkaConfig::new(&bootstrap).spool(dir.path()),
        &bootstrap,
    );
    eprintln!("{}", outcome.describe("failover with the spool"));
    assert_eq!(outcome.bounces.len(), BOUNCES);
    let stats = outcome.stats;
    assert_eq!(stats.published, outcome.published);
    assert_eq!(
        (stats.delivered, stats.dropped, stats.failed),
        (outcome.published, 0, 0)
    );

    let stored = stored(&bootstrap, &run, outcome.published);
    assert!(
        stored.exactly_once(0..outcome.published),
        "every delivered event consumed once: {} distinct, {} duplicates",
        stored.copies.len(),
        stored.duplicates()
    );
    assert!(stored.in_order_per_key, "order per key kept");
}

#[test]
fn leader_failover_without_the_spool_counts_exactly_what_it_drops() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let bootstrap = cluster();
    let run = common::services::run_id();
    let outcome = publish_through_bounces(&run, KafkaConfig::new(&bootstrap), &bootstrap);
    eprintln!(
        "{}",
        outcome.describe("failover without the spool (baseline)")
    );
    let stats = outcome.stats;
    assert_eq!(stats.published, outcome.published);
    assert_eq!(stats.pending(), 0);

    let stored = stored(&bootstrap, &run, stats.delivered);
    assert_eq!(
        stored.copies.len() as u64,
        stats.delivered,
        "what is missing is exactly what was counted"
    );
    assert_eq!(stored.duplicates(), 0);
    assert!(stored.in_order_per_key);
}
