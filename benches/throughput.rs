//! End-to-end throughput into the real broker (acks=all, idempotent): 1,000,000 events
//! published and acknowledged, against
//!   - a raw rdkafka producer loop with the same config, encoding each event as it sends it;
//!   - a raw rdkafka loop sending what the Java tool sends: no key, no headers, a payload of
//!     the same size (like with like: the Java tool has no option for keys or headers);
//!   - Kafka's own Java producer perf tool (`org.apache.kafka.tools.ProducerPerformance`)
//!     with the same record size;
//!   - Kafka's own Java producer sending our records: the same keys, headers and payloads
//!     (`benches/java/OurRecordsProducer.java`, like with like the other way round).
//!
//! The raw loops' producers get their threads batch-scheduled, as our Kafka sink's are
//! (`benches/common/batch_scheduled.rs`); the Java tool's threads keep the default policy.
//!
//! Each variant runs six times, interleaved, in the same process, the two Rust loops
//! taking turns to go first; the medians count, and the ratio is the median of the rounds'.
//! Time runs from the first publish until every record is acknowledged.
//!
//! `BENCH_EVENTS` overrides the count and `BENCH_ROUNDS` the rounds; `BENCH_OURS_ONLY=1`
//! runs our loop alone, for a profiler to sample. `BENCH_KAFKA_SET`
//! (`linger.ms=20,batch.size=1000000`) sets librdkafka properties on all three Rust loops,
//! for the settings table in BENCHMARKS.md; the Java tool keeps its defaults. The allocator
//! rows run the same binary under `LD_PRELOAD` (Debian's libjemalloc2, libmimalloc2.0), or
//! built with the `jemalloc` feature: jemalloc linked in as the global allocator, its
//! unprefixed `malloc` taking librdkafka's allocations too (the bench checks that `malloc`
//! resolves into its own executable).
//! Needs the test broker:
//! `scripts/services.sh start && eval "$(scripts/services.sh env)"`.

#[path = "common/batch_scheduled.rs"]
mod batch_scheduled;
#[path = "common/kafka_settings.rs"]
mod kafka_settings;

use std::process::Command;
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, Event, KafkaConfig, Tag};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The file `malloc` resolves into: this executable when jemalloc replaced it (the
/// `jemalloc` feature), glibc otherwise, or the preloaded library.
fn malloc_provider() -> String {
    // SAFETY: `dlsym` and `dladdr` only read the process's symbol tables; `info` is
    // written by `dladdr` before it is read, and read only when it returns non-zero.
    unsafe {
        let malloc = libc::dlsym(libc::RTLD_DEFAULT, c"malloc".as_ptr());
        let mut info: libc::Dl_info = std::mem::zeroed();
        if malloc.is_null() || libc::dladdr(malloc, &mut info) == 0 || info.dli_fname.is_null() {
            return "unknown".into();
        }
        std::ffi::CStr::from_ptr(info.dli_fname)
            .to_string_lossy()
            .into_owned()
    }
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "bench-e2e")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    #[event(tag)]
    first_order: bool,
    #[event(metric = "distribution")]
    amount_pence: u64,
}

fn event(i: u64) -> PaymentAttempted {
    PaymentAttempted {
        order_id: format!("order-{:09}", i % 100_000),
        user_id: format!("user-{:07}", i % 7_919),
        market: Market::from_index((i % 3) as usize).unwrap(),
        first_order: i % 4 == 0,
        amount_pence: 500 + i % 5000,
    }
}

const PROPERTIES: [(&str, &str); 4] = [
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
];

/// The properties every Rust loop runs with: [`PROPERTIES`], then `BENCH_KAFKA_SET`'s.
fn properties() -> Vec<(String, String)> {
    PROPERTIES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(kafka_settings::pairs())
        .collect()
}

fn raw_producer(bootstrap: &str) -> ThreadedProducer<DefaultProducerContext> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in properties() {
        config.set(k, v);
    }
    batch_scheduled::like_our_sink(|| config.create().unwrap())
}

/// Sends `record`, waiting for room when librdkafka's queue is full.
fn send_waiting<'a>(
    producer: &ThreadedProducer<DefaultProducerContext>,
    mut record: BaseRecord<'a, str, [u8], ()>,
) {
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                record = returned;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("send failed: {e}"),
        }
    }
}

fn ours(bootstrap: &str, events: &[PaymentAttempted]) -> Duration {
    let mut config = KafkaConfig::new(bootstrap).block_when_full(Duration::from_secs(60));
    for (k, v) in properties() {
        config = config.set(k, v);
    }
    let dispatcher = Dispatcher::builder().kafka(config).build().unwrap();
    let started = Instant::now();
    for e in events {
        dispatcher.publish(e);
    }
    let report = dispatcher
        .shutdown(Duration::from_secs(300))
        .expect("every record delivered");
    assert_eq!(report.sink("kafka").unwrap().delivered, events.len() as u64);
    started.elapsed()
}

fn raw_rdkafka(bootstrap: &str, events: &[PaymentAttempted]) -> Duration {
    let producer = raw_producer(bootstrap);
    // Each event is encoded as it is sent, into one reused buffer (the cheapest a loop can
    // do), as ours does. Encoding all of them before the clock started also changed the
    // heap librdkafka allocates each record from: in one experiment, a million small
    // buffers allocated after the producer started (and freed before the clock started)
    // took our own sink's loop from 270,000/s to 400,000/s.
    let mut payload = Vec::new();
    let started = Instant::now();
    for e in events {
        payload.clear();
        e.encode(&mut payload);
        let key = e.order_id.as_str();
        let headers = OwnedHeaders::new_with_capacity(4)
            .insert(Header {
                key: "event_name",
                value: Some("payment.attempted"),
            })
            .insert(Header {
                key: "event_id",
                value: Some("0190d7a4-6e2c-7c4a-9d3e-2b1f00000000"),
            })
            .insert(Header {
                key: "schema_name",
                value: Some("events.PaymentAttempted"),
            })
            .insert(Header {
                key: "content_type",
                value: Some("application/x-protobuf"),
            });
        let record = BaseRecord::<str, [u8], ()>::to("bench-e2e-raw")
            .key(key)
            .payload(&payload)
            .headers(headers);
        send_waiting(&producer, record);
    }
    producer
        .flush(Duration::from_secs(300))
        .expect("every record delivered");
    started.elapsed()
}

/// What the Java tool sends, from the same client: `count` records of `record_size`
/// bytes, with no key and no headers.
fn raw_like_java(bootstrap: &str, count: usize, record_size: usize) -> Duration {
    let producer = raw_producer(bootstrap);
    // The Java tool sends bytes drawn at random from A-Z; any fixed bytes do here.
    let payload: Vec<u8> = (0..record_size).map(|i| b'A' + (i % 26) as u8).collect();
    let started = Instant::now();
    for _ in 0..count {
        send_waiting(
            &producer,
            BaseRecord::<str, [u8], ()>::to("bench-e2e-raw-like-java").payload(&payload),
        );
    }
    producer
        .flush(Duration::from_secs(300))
        .expect("every record delivered");
    started.elapsed()
}

/// Runs Kafka's Java perf tool and returns its records/s.
fn java_perf_tool(bootstrap: &str, count: usize, record_size: usize) -> Option<f64> {
    let libs = std::env::var("KAFKA_TEST_LIBS").ok()?;
    // The JVM keeps its own allocator: an allocator row preloads one for the Rust loops.
    let output = Command::new("java")
        .env_remove("LD_PRELOAD")
        .args([
            "-Xmx512m",
            "-cp",
            &format!("{libs}/*"),
            "org.apache.kafka.tools.ProducerPerformance",
        ])
        .args([
            "--topic",
            "bench-e2e-java",
            "--num-records",
            &count.to_string(),
        ])
        .args([
            "--record-size",
            &record_size.to_string(),
            "--throughput",
            "-1",
        ])
        .args([
            "--producer-props",
            &format!("bootstrap.servers={bootstrap}"),
            "acks=all",
            "enable.idempotence=true",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // "1000000 records sent, 296296.3 records/sec (28.26 MB/sec), ..."
    rate_in(text.lines().rev().find(|l| l.contains("records sent"))?)
}

/// The records/s of a Java summary line: the number after its first comma.
fn rate_in(summary: &str) -> Option<f64> {
    summary
        .split(", ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Writes every event's key and payload, as `benches/java/OurRecordsProducer.java` reads
/// them: per record the key's and the payload's lengths as big-endian u16, then the bytes.
fn write_records_file(events: &[PaymentAttempted], path: &std::path::Path) {
    let mut bytes = Vec::new();
    let mut payload = Vec::new();
    for e in events {
        payload.clear();
        e.encode(&mut payload);
        for part in [e.order_id.as_bytes(), &payload] {
            bytes.extend_from_slice(&u16::try_from(part.len()).unwrap().to_be_bytes());
            bytes.extend_from_slice(part);
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// Runs Kafka's Java producer on our records (`records`, from [`write_records_file`]) and
/// returns its records/s, from its first send until every record is acknowledged.
fn java_our_records(bootstrap: &str, records: &std::path::Path) -> Option<f64> {
    let libs = std::env::var("KAFKA_TEST_LIBS").ok()?;
    let source = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/java/OurRecordsProducer.java"
    );
    let output = Command::new("java")
        .env_remove("LD_PRELOAD")
        // More heap than the perf tool gets: this producer holds every record in memory.
        .args(["-Xmx1g", "-cp", &format!("{libs}/*"), source])
        .args([bootstrap, "bench-e2e-java-ours"])
        .arg(records)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!(
            "OurRecordsProducer failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    // "1000000 records acknowledged in 2.468 s, 405186.3 records/sec"
    rate_in(text.lines().find(|l| l.contains("records acknowledged"))?)
}

/// What the last record of `topic` carries: key length, header count, payload length.
/// The like-with-like check reads one record each of the Java tool's and ours.
fn last_record_shape(bootstrap: &str, topic: &str) -> String {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "bench-throughput-shape")
        .create()
        .unwrap();
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    if high == 0 {
        return format!("{topic}: partition 0 is empty");
    }
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(high - 1))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            return format!(
                "{topic}: key {}, {} headers, payload {} bytes",
                m.key()
                    .map_or("none".into(), |k| format!("{} bytes", k.len())),
                m.headers().map_or(0, |h| h.count()),
                m.payload().map_or(0, <[u8]>::len),
            );
        }
    }
    format!("{topic}: no record read")
}

/// Rounds of the variants, unless `BENCH_ROUNDS` says otherwise; the two Rust loops of
/// our records alternate which goes first.
const ROUNDS: usize = 6;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "KAFKA_BOOTSTRAP_SERVERS is not set: `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    let number = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let count = number("BENCH_EVENTS", 1_000_000);
    let rounds = number("BENCH_ROUNDS", ROUNDS);
    let events: Vec<PaymentAttempted> = (0..count as u64).map(event).collect();
    let mut payload = Vec::new();
    events[0].encode(&mut payload);
    let record_size = payload.len();
    let extra = kafka_settings::text();
    let preload = std::env::var("LD_PRELOAD").unwrap_or_default();
    let malloc = malloc_provider();
    println!(
        "settings: [{extra}], LD_PRELOAD: [{preload}], malloc from {malloc}, record size {record_size} bytes"
    );
    if cfg!(feature = "jemalloc") {
        let executable = std::env::current_exe().unwrap();
        assert_eq!(
            std::fs::canonicalize(&malloc).ok(),
            std::fs::canonicalize(&executable).ok(),
            "built with the jemalloc feature, but malloc resolves into {malloc}, not this executable {executable:?}: librdkafka would not use jemalloc"
        );
    }

    if std::env::var_os("BENCH_OURS_ONLY").is_some() {
        // Only our loop, for a profiler to sample (`scripts/profile-throughput`).
        for round in 1..=rounds {
            let rate = count as f64 / ours(&bootstrap, &events).as_secs_f64();
            println!("round {round}: ours {rate:.0}/s");
        }
        return;
    }

    let dir = std::path::Path::new("target/bench");
    std::fs::create_dir_all(dir).unwrap();
    let records_file = dir.join("throughput-records.bin");
    write_records_file(&events, &records_file);

    let (mut ours_rates, mut raw_rates, mut like_java_rates, mut java_rates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut java_ours_rates, mut against_java_ours) = (Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    let shown = |rate: Option<f64>| rate.map_or("unavailable".into(), |r| format!("{r:.0}/s"));
    for round in 1..=rounds {
        let rate = |d: Duration| count as f64 / d.as_secs_f64();
        // Each variant runs on the heap and the broker the previous one left: alternate
        // which of the two Rust loops goes first.
        let (o, r) = if round % 2 == 1 {
            let o = rate(ours(&bootstrap, &events));
            (o, rate(raw_rdkafka(&bootstrap, &events)))
        } else {
            let r = rate(raw_rdkafka(&bootstrap, &events));
            (rate(ours(&bootstrap, &events)), r)
        };
        let l = rate(raw_like_java(&bootstrap, count, record_size));
        let j = java_perf_tool(&bootstrap, count, record_size);
        let jo = java_our_records(&bootstrap, &records_file);
        println!(
            "round {round}: ours {o:.0}/s, raw rdkafka {r:.0}/s ({:.2}x), raw rdkafka as the Java tool's records {l:.0}/s, java perf tool {}, java producer on our records {}{}",
            o / r,
            shown(j),
            shown(jo),
            jo.map_or(String::new(), |jo| format!(" (ours {:.2}x)", o / jo)),
        );
        ours_rates.push(o);
        raw_rates.push(r);
        like_java_rates.push(l);
        ratios.push(o / r);
        java_rates.extend(j);
        java_ours_rates.extend(jo);
        against_java_ours.extend(jo.map(|jo| o / jo));
    }
    let (o, r, l) = (
        median(ours_rates),
        median(raw_rates),
        median(like_java_rates),
    );
    let j = (!java_rates.is_empty()).then(|| median(java_rates));
    let jo = (!java_ours_rates.is_empty()).then(|| median(java_ours_rates));
    let json = format!(
        "{{\"events\": {count}, \"record_size\": {record_size}, \"settings\": \"{extra}\", \"ld_preload\": \"{preload}\", \"ours_per_s\": {o:.0}, \"raw_rdkafka_per_s\": {r:.0}, \"raw_like_java_per_s\": {l:.0}, \"java_perf_tool_per_s\": {}, \"java_our_records_per_s\": {}}}\n",
        j.map_or("null".into(), |j| format!("{j:.0}")),
        jo.map_or("null".into(), |jo| format!("{jo:.0}")),
    );
    std::fs::write(dir.join("throughput.json"), &json).unwrap();
    for topic in [
        "bench-e2e",
        "bench-e2e-raw",
        "bench-e2e-raw-like-java",
        "bench-e2e-java",
        "bench-e2e-java-ours",
    ] {
        println!("{}", last_record_shape(&bootstrap, topic));
    }
    let against_java = |x: f64| j.map_or(String::new(), |j| format!(" ({:.2}x Java)", x / j));
    println!(
        "median of {rounds}: ours {o:.0}/s{}, raw rdkafka {r:.0}/s{} (ours/raw median ratio {:.2}x), raw rdkafka as the Java tool's records {l:.0}/s{}, java perf tool {}",
        against_java(o),
        against_java(r),
        median(ratios),
        against_java(l),
        shown(j),
    );
    if let Some(jo) = jo {
        println!(
            "median of {rounds}: java producer on our records {jo:.0}/s; ours against it, the median of the rounds' ratios: {:.2}x",
            median(against_java_ours),
        );
    }
    println!("wrote target/bench/throughput.json");
}
