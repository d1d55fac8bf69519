//! The Kafka sink's disk spool against the real broker: a burst far larger than
//! librdkafka's queue, an outage, a SIGKILL of the application in write-ahead mode, a
//! spool at its size bound, and a damaged segment. Every event is checked by its sequence
//! number in what the broker stores. Figures printed here are in RELIABILITY.md.
#![cfg(feature = "kafka")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::broker::Broker;
use common::services;
use common::stored::Stored;
use event_runtime::{Dispatcher, Event, KafkaConfig, KafkaSink, RecordSink, SinkStats, SyncPolicy};

/// One event type per test, so each test's topic holds only its own runs.
macro_rules! sequenced {
    ($name:ident, $event:tt, $topic:tt) => {
        #[derive(Event, Clone, Debug, PartialEq)]
        #[event(name = $event, topic = $topic)]
        struct $name {
            #[event(key)]
            key: String,
            run: String,
            sequence: u64,
        }

        impl Sequenced for $name {
            fn new(run: &str, sequence: u64) -> Self {
                $name {
                    key: format!("k{}", sequence % 64),
                    run: run.to_owned(),
                    sequence,
                }
            }
            fn parts(&self) -> (&str, &str, u64) {
                (&self.run, &self.key, self.sequence)
            }
        }
    };
}

trait Sequenced: Event + event_runtime::DecodeOwned + Sized {
    fn new(run: &str, sequence: u64) -> Self;
    /// (run, key, sequence)
    fn parts(&self) -> (&str, &str, u64);
}

sequenced!(Burst, "spool.burst", "spool-burst");
sequenced!(Outage, "spool.outage", "spool-outage");
sequenced!(Crash, "spool.crash", "spool-crash");
sequenced!(Damaged, "spool.damaged", "spool-damaged");
sequenced!(Bounded, "spool.bounded", "spool-bounded");

/// What the broker stores of `run` of `E`'s topic, once `at_least` distinct events are in.
fn stored<E: Sequenced>(run: &str, at_least: usize) -> Stored {
    Stored::read(
        &services::kafka_bootstrap(),
        E::TOPIC,
        at_least as u64,
        |payload| {
            let event = E::decode(payload).ok()?;
            let (event_run, key, sequence) = event.parts();
            (event_run == run).then(|| (key.to_owned(), sequence))
        },
    )
}

fn spool_stats(stats: &SinkStats) -> event_runtime::SpoolStats {
    stats.spool.expect("a sink with a spool reports its stats")
}

/// Publishes `sequences` of `run` as fast as possible; returns the peak growth of resident
/// memory meanwhile, in KiB, sampled every 10,000 events.
fn publish_sampling_rss<E: Sequenced>(
    events: &Dispatcher,
    run: &str,
    sequences: std::ops::Range<u64>,
    new: fn(&str, u64) -> E,
) -> u64 {
    let before = common::resident_kib();
    let mut peak = before;
    for sequence in sequences {
        events.publish(&new(run, sequence));
        if sequence % 10_000 == 0 {
            peak = peak.max(common::resident_kib());
        }
    }
    peak - before
}

fn files_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn a_burst_of_a_million_events_through_a_10k_queue_loses_none() {
    const EVENTS: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let run = services::run_id();
    let config = KafkaConfig::new(services::kafka_bootstrap())
        .set("queue.buffering.max.messages", "10000")
        .spool(dir.path());
    let sink = Arc::new(KafkaSink::new(&config).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    let started = Instant::now();
    let rss_growth = publish_sampling_rss(&events, &run, 0..EVENTS, Burst::new);
    let published_in = started.elapsed();
    let report = events.shutdown(Duration::from_secs(300)).unwrap();
    let stats = report.sink("kafka").unwrap();
    let spool = spool_stats(&stats);
    eprintln!(
        "burst: {EVENTS} published in {published_in:?}, {} through the spool, delivered in {:?}; \
         peak RSS growth {} MiB",
        spool.spooled,
        started.elapsed(),
        rss_growth / 1024
    );
    assert_eq!(
        (
            stats.published,
            stats.delivered,
            stats.dropped,
            stats.failed
        ),
        (EVENTS, EVENTS, 0, 0)
    );
    assert!(
        spool.spooled > EVENTS / 2,
        "the burst went through the spool: {spool:?}"
    );
    assert_eq!(spool.bytes, 0, "a drained spool holds nothing");
    assert_eq!(files_bytes(dir.path()), 0);
    assert!(
        rss_growth < 256 * 1024,
        "memory stays bounded while a million records wait: grew {} KiB",
        rss_growth
    );

    let stored = stored::<Burst>(&run, EVENTS as usize);
    assert!(
        stored.exactly_once(0..EVENTS),
        "{} distinct, {} duplicates",
        stored.copies.len(),
        stored.duplicates()
    );
    assert!(stored.in_order_per_key);
}

#[test]
fn an_outage_spills_to_disk_and_everything_is_delivered_when_the_broker_returns() {
    const EVENTS: u64 = 2_000_000;
    let broker = Broker::take(Outage::TOPIC);
    let dir = tempfile::tempdir().unwrap();
    let run = services::run_id();
    // The broker is known to the producer first, as in production, then goes away.
    let config = KafkaConfig::new(services::kafka_bootstrap())
        .set("queue.buffering.max.messages", "10000")
        .spool(dir.path());
    let sink = Arc::new(KafkaSink::new(&config).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    events.publish(&Outage::new(&run, 0));
    events.flush(Duration::from_secs(30));
    broker.kill();
    let started = Instant::now();
    let rss_growth = publish_sampling_rss(&events, &run, 1..EVENTS, Outage::new);
    let spilled_in = started.elapsed();
    let during = events.stats().sink("kafka").unwrap();
    let spool_during = spool_stats(&during);
    eprintln!(
        "outage: {} events spilled in {spilled_in:?} ({:.0} events/s, {:.1} MB/s), peak RSS growth {} MiB",
        spool_during.spooled,
        spool_during.spooled as f64 / spilled_in.as_secs_f64(),
        spool_during.bytes as f64 / spilled_in.as_secs_f64() / 1e6,
        rss_growth / 1024
    );
    assert_eq!(during.dropped, 0);
    assert!(spool_during.bytes > 0);
    broker.start();
    let report = events.shutdown(Duration::from_secs(300)).unwrap();
    let stats = report.sink("kafka").unwrap();
    assert_eq!(
        (
            stats.published,
            stats.delivered,
            stats.dropped,
            stats.failed
        ),
        (EVENTS, EVENTS, 0, 0)
    );
    assert_eq!(
        spool_stats(&stats).bytes,
        0,
        "disk use returns to zero once delivered"
    );
    assert_eq!(files_bytes(dir.path()), 0);
    assert!(rss_growth < 256 * 1024, "grew {} KiB", rss_growth);

    let stored = stored::<Outage>(&run, EVENTS as usize);
    assert!(
        stored.exactly_once(0..EVENTS),
        "{} distinct, {} duplicates",
        stored.copies.len(),
        stored.duplicates()
    );
    assert!(stored.in_order_per_key);
}

/// The application in the crash test: publishes write-ahead, the first half with the
/// broker up and the second after the parent has killed it, says when the last record is
/// synced, and waits to be killed. Run only as `write_ahead_survives_a_sigkill`'s child.
#[test]
#[ignore = "the child process of write_ahead_survives_a_sigkill"]
fn crash_child() {
    let dir = std::env::var("SPOOL_CRASH_DIR").expect("run by write_ahead_survives_a_sigkill");
    let run = std::env::var("SPOOL_CRASH_RUN").unwrap();
    let events: u64 = std::env::var("SPOOL_CRASH_EVENTS")
        .unwrap()
        .parse()
        .unwrap();
    let config = KafkaConfig::new(services::kafka_bootstrap())
        .set("queue.buffering.max.messages", "10000")
        .spool(dir)
        .spool_write_ahead(SyncPolicy::Interval(Duration::from_millis(500)));
    let dispatcher = Dispatcher::builder().kafka(config).build().unwrap();
    for sequence in 0..events / 2 {
        dispatcher.publish(&Crash::new(&run, sequence));
    }
    println!("half published");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    for sequence in events / 2..events {
        dispatcher.publish(&Crash::new(&run, sequence));
    }
    // Past one sync interval, every record above is on disk.
    std::thread::sleep(Duration::from_millis(1200));
    println!("synced {events}");
    std::thread::sleep(Duration::from_secs(600));
}

/// Reads `child`'s output until a line containing `what` (the test harness prints its own
/// text on the same line).
fn wait_for_line(out: &mut impl std::io::BufRead, what: &str) {
    let mut line = String::new();
    while !line.contains(what) {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the child exited before it said {what:?}");
    }
}

#[test]
fn write_ahead_survives_a_sigkill_mid_outage() {
    const EVENTS: u64 = 200_000;
    let broker = Broker::take(Crash::TOPIC);
    let dir = tempfile::tempdir().unwrap();
    let run = services::run_id();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SPOOL_CRASH_DIR", dir.path())
        .env("SPOOL_CRASH_RUN", &run)
        .env("SPOOL_CRASH_EVENTS", EVENTS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    wait_for_line(&mut out, "half published");
    // The outage starts while the first half is still being delivered.
    broker.kill();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"go\n").unwrap();
    wait_for_line(&mut out, "synced ");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        files_bytes(dir.path()) > 0,
        "the killed application left its spool"
    );

    broker.start();
    let config = KafkaConfig::new(services::kafka_bootstrap())
        .spool(dir.path())
        .spool_write_ahead(SyncPolicy::Interval(Duration::from_millis(500)));
    let sink = KafkaSink::new(&config).unwrap();
    sink.shutdown(Duration::from_secs(300));
    let stats = sink.stats();
    let spool = spool_stats(&stats);
    assert!(
        spool.replayed >= EVENTS / 2,
        "at least the half published during the outage: {spool:?}"
    );
    assert_eq!(
        (stats.published, stats.delivered, stats.failed),
        (spool.replayed, spool.replayed, 0)
    );
    assert_eq!(spool.corrupt, 0);
    assert_eq!(files_bytes(dir.path()), 0);

    let stored = stored::<Crash>(&run, EVENTS as usize);
    let duplicated: Vec<u64> = stored
        .copies
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(&s, _)| s)
        .collect();
    eprintln!(
        "crash: {} records replayed after the SIGKILL, {} of them duplicates in Kafka, {} corrupt",
        spool.replayed,
        stored.duplicates(),
        spool.corrupt
    );
    assert_eq!(
        stored.copies.len() as u64,
        EVENTS,
        "every event accepted before the last sync reached Kafka"
    );
    // Only records handed to librdkafka before the outage can be there twice: delivered, or
    // written by the broker, before the spool recorded them as settled.
    assert!(
        duplicated.iter().all(|&s| s < EVENTS / 2),
        "a record published during the outage was duplicated"
    );
    assert!(stored.duplicates() <= spool.replayed - EVENTS / 2);
    #[cfg(feature = "warehouse")]
    loads_each_event_once(&run, EVENTS, stored.duplicates());
}

/// The warehouse loader stores each event of `run` once, whatever the duplicates.
#[cfg(feature = "warehouse")]
fn loads_each_event_once(run: &str, events: u64, duplicates: u64) {
    use event_warehouse::{Backend as _, Loader, LoaderConfig, Sqlite};
    let dir = tempfile::tempdir().unwrap();
    let config = LoaderConfig::new(services::kafka_bootstrap(), format!("spool-crash-{run}"));
    let mut loader = Loader::new(config, Sqlite::open(dir.path().join("crash.db")).unwrap())
        .event::<Crash>()
        .start()
        .unwrap();
    let table = loader.tables().next().unwrap().name.clone();
    let count = |loader: &mut event_warehouse::RunningLoader<Sqlite>, what: &str| {
        loader
            .backend()
            .query(
                &format!("SELECT {what} FROM {table} WHERE run = $1"),
                &[run],
            )
            .unwrap()[0][0]
            .as_i64()
            .unwrap() as u64
    };
    // Earlier runs' records share the topic: load until this run's are all in.
    let deadline = Instant::now() + Duration::from_secs(240);
    while count(&mut loader, "count(*)") < events && Instant::now() < deadline {
        for _ in 0..10 {
            loader.load_batch().unwrap();
        }
    }
    assert_eq!(count(&mut loader, "count(*)"), events);
    assert_eq!(count(&mut loader, "count(DISTINCT sequence)"), events);
    // Earlier runs' records share the topic, so their replays count too.
    assert!(
        loader.stats().duplicates >= duplicates,
        "{:?}",
        loader.stats()
    );
    eprintln!(
        "crash: the loader stored {events} rows, skipping {} replays by the event-id key",
        loader.stats().duplicates
    );
}

#[test]
fn at_its_size_bound_the_spool_drops_and_counts_exactly_and_publish_never_blocks() {
    const EVENTS: u64 = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let run = services::run_id();
    // Nothing listens there: every record waits.
    let config = KafkaConfig::new("127.0.0.1:9")
        .set("queue.buffering.max.messages", "1000")
        .spool(dir.path())
        .spool_max_bytes(1 << 20);
    let sink = Arc::new(KafkaSink::new(&config).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    for sequence in 0..EVENTS {
        let started = Instant::now();
        events.publish(&Bounded::new(&run, sequence));
        slowest = slowest.max(started.elapsed());
    }
    let stats = events.stats().sink("kafka").unwrap();
    let spool = spool_stats(&stats);
    eprintln!(
        "bound: {} spooled, {} dropped at 1 MiB; slowest publish {slowest:?}",
        spool.spooled, stats.dropped
    );
    assert_eq!(stats.published, EVENTS);
    assert!(stats.dropped > 0 && spool.spooled > 0);
    // librdkafka's queue holds the first 1000; the spool the rest, up to its bound.
    assert_eq!(1000 + spool.spooled + stats.dropped, EVENTS);
    assert!(spool.bytes <= 1 << 20);
    let report = events
        .shutdown(Duration::from_millis(200))
        .unwrap_err()
        .report;
    let stats = report.sink("kafka").unwrap();
    let spool = spool_stats(&stats);
    assert_eq!(
        spool.kept, spool.spooled,
        "what the spool holds stays for the next start"
    );
    assert_eq!(
        stats.failed, 1000,
        "librdkafka's own queue is purged and counted"
    );
    assert_eq!(stats.pending(), 0);
}

/// Offsets of the frames in a segment: each starts with the spool's magic `MDE1`.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len().saturating_sub(3))
        .filter(|&at| &bytes[at..at + 4] == b"MDE1")
        .collect()
}

#[test]
fn a_damaged_segment_costs_only_its_damaged_records() {
    const EVENTS: u64 = 1000;
    let dir = tempfile::tempdir().unwrap();
    let run = services::run_id();
    {
        // Written with no broker to reach: everything stays in the spool.
        let config = KafkaConfig::new("127.0.0.1:9")
            .spool(dir.path())
            .spool_write_ahead(SyncPolicy::EveryRecord);
        let events = Dispatcher::builder().kafka(config).build().unwrap();
        for sequence in 0..EVENTS {
            events.publish(&Damaged::new(&run, sequence));
        }
        let report = events
            .shutdown(Duration::from_millis(200))
            .unwrap_err()
            .report;
        assert_eq!(spool_stats(&report.sink("kafka").unwrap()).kept, EVENTS);
    }
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let starts = frame_starts(&bytes);
    assert_eq!(starts.len() as u64, EVENTS);
    // A flipped byte in record 500's body, and the last record torn off mid-frame.
    bytes[starts[500] + 20] ^= 0x01;
    bytes.truncate(starts[999] + 10);
    std::fs::write(&segment, bytes).unwrap();

    let config = KafkaConfig::new(services::kafka_bootstrap()).spool(dir.path());
    let sink = KafkaSink::new(&config).unwrap();
    sink.shutdown(Duration::from_secs(60));
    let stats = sink.stats();
    let spool = spool_stats(&stats);
    assert_eq!((spool.replayed, spool.corrupt), (EVENTS - 2, 2));
    assert_eq!((stats.published, stats.delivered), (EVENTS - 2, EVENTS - 2));
    let stored = stored::<Damaged>(&run, EVENTS as usize - 2);
    assert!(stored.exactly_once((0..EVENTS).filter(|&s| s != 500 && s != 999)));
}
