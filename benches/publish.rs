//! Publish cost, each comparison measured in the same run (criterion):
//!
//! 1. `publish/ours_both_sinks` against `publish/hand_written_baseline`: a cadence
//!    `StatsdClient` with `.with_tag()` per tag, plus a prost message encoded with
//!    `encode_to_vec` and sent with rdkafka with the same key and headers.
//! 2. `publish/ours_both_sinks` against `publish/floor_rdkafka_send`: rdkafka's `send` of
//!    the same pre-encoded record, and nothing else.
//! 3. `statsd/*`: the StatsD path alone, ours aggregated and not, against cadence's
//!    `count_with_tags(..).with_tag(..).send()` on a `BufferedUdpMetricSink`.
//!
//! Kafka goes to the running local broker, StatsD to a local UDP socket nobody reads. The
//! raw rdkafka producer of the floor and the baseline gets its threads batch-scheduled, as
//! our Kafka sink's are (`benches/common/batch_scheduled.rs`).
//!
//! Publishing is timed in bursts of 10,000 events, and the queues are drained (every
//! record acknowledged) between bursts, untimed. A publish loop is faster than one broker
//! on the same two cores can take records, so without the pauses librdkafka's queue fills
//! within a second and the loop times the full-queue path (a record refused at once)
//! instead of an enqueue. Each variant then checks that nothing it sent was refused.
//! BENCHMARKS.md has the figures of the last run and how to read them.

#[path = "common/batch_scheduled.rs"]
mod batch_scheduled;

use std::hint::black_box;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use cadence::prelude::*;
use cadence::{BufferedUdpMetricSink, StatsdClient};
use criterion::{criterion_group, Criterion};
use event_runtime::{
    Dispatcher, Event, EventId, KafkaConfig, KafkaRecord, KafkaSink, RecordSink, StatsdConfig, Tag,
};
use prost::Message as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Android,
    Ios,
    Web,
}

/// The README's example event ("Define an event and publish it").
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "bench-payments")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    #[event(tag)]
    platform: Platform,
    #[event(tag)]
    first_order: bool,
    #[event(metric = "distribution")]
    amount_pence: u64,
}

/// The same event with only its counter: the StatsD path alone.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.counted", topic = "bench-payments")]
struct PaymentCounted {
    #[event(tag)]
    market: Market,
    #[event(tag)]
    platform: Platform,
    #[event(tag)]
    first_order: bool,
}

/// The hand-written twin a team would maintain without the derive.
#[derive(Clone, PartialEq, prost::Message)]
struct PaymentAttemptedProto {
    #[prost(string, tag = "1")]
    order_id: String,
    #[prost(string, tag = "2")]
    user_id: String,
    #[prost(int32, tag = "3")]
    market: i32,
    #[prost(int32, tag = "4")]
    platform: i32,
    #[prost(bool, tag = "5")]
    first_order: bool,
    #[prost(uint64, tag = "6")]
    amount_pence: u64,
}

fn event() -> PaymentAttempted {
    PaymentAttempted {
        order_id: "order-000123456".into(),
        user_id: "user-98765".into(),
        market: Market::Uk,
        platform: Platform::Ios,
        first_order: true,
        amount_pence: 1250,
    }
}

/// The producer settings every variant uses: the running local broker and the no-loss
/// defaults. (A long linger with no broker would keep every record of the run in memory:
/// gigabytes within a few seconds of criterion's loop, so it is not used.)
fn kafka_properties() -> Vec<(&'static str, String)> {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "KAFKA_BOOTSTRAP_SERVERS is not set: `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    vec![
        ("bootstrap.servers", bootstrap),
        ("enable.idempotence", "true".to_owned()),
        ("acks", "all".to_owned()),
        ("queue.buffering.max.messages", "100000".to_owned()),
        ("queue.buffering.max.kbytes", "65536".to_owned()),
    ]
}

/// A UDP socket standing in for the agent; nobody reads it, as a busy agent would not.
fn agent() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap().to_string();
    (socket, address)
}

fn producer() -> ThreadedProducer<DefaultProducerContext> {
    let mut config = ClientConfig::new();
    for (key, value) in kafka_properties() {
        config.set(key, value);
    }
    batch_scheduled::like_our_sink(|| config.create().unwrap())
}

fn kafka_config() -> KafkaConfig {
    let properties = kafka_properties();
    let bootstrap = &properties
        .iter()
        .find(|(k, _)| *k == "bootstrap.servers")
        .unwrap()
        .1;
    properties
        .iter()
        .fold(KafkaConfig::new(bootstrap.as_str()), |config, (k, v)| {
            config.set(*k, v.as_str())
        })
}

fn cadence_client(address: &str) -> StatsdClient {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    let sink = BufferedUdpMetricSink::with_capacity(address, socket, 1432).unwrap();
    StatsdClient::from_sink("", sink)
}

/// The four headers every record carries, as rdkafka's API builds them.
fn headers(event_id: &str) -> OwnedHeaders {
    OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: "event_name",
            value: Some("payment.attempted"),
        })
        .insert(Header {
            key: "event_id",
            value: Some(event_id),
        })
        .insert(Header {
            key: "schema_name",
            value: Some("events.PaymentAttempted"),
        })
        .insert(Header {
            key: "content_type",
            value: Some("application/x-protobuf"),
        })
}

/// Events per timed burst: well below the 100,000-record queue, so every send is enqueued.
const BURST: u64 = 10_000;

/// Runs `publish` `iterations` times in bursts of [`BURST`] and returns the time spent
/// publishing; `drain` runs between bursts, untimed, and must empty the queues.
fn in_bursts(iterations: u64, publish: impl FnMut(), drain: impl FnMut()) -> Duration {
    in_bursts_timed(iterations, publish, drain).wall
}

/// The calling thread's time on a CPU (`CLOCK_THREAD_CPUTIME_ID`) and its time runnable
/// but waiting for one (the second field of Linux's `/proc/thread-self/schedstat`), in
/// nanoseconds. On two cores shared with librdkafka's threads and the broker, wall time is
/// more than a thread's own work: this splits it. (The first field of `schedstat` is not
/// used for the time on a CPU: it is brought up to date only at a scheduler tick or a
/// switch, which is coarse against a burst of a few milliseconds.)
#[derive(Clone, Copy, Default)]
struct ThreadTime {
    on_cpu: u64,
    waiting_for_cpu: u64,
}

impl ThreadTime {
    /// None where the kernel keeps no scheduler statistics.
    fn now() -> Option<Self> {
        let mut cpu = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `cpu` is a valid, writable timespec for the duration of the call.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut cpu) } != 0 {
            return None;
        }
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let waiting_for_cpu = text.split_whitespace().nth(1)?.parse().ok()?;
        Some(ThreadTime {
            on_cpu: cpu.tv_sec as u64 * 1_000_000_000 + cpu.tv_nsec as u64,
            waiting_for_cpu,
        })
    }

    fn since(self, earlier: ThreadTime) -> ThreadTime {
        ThreadTime {
            on_cpu: self.on_cpu - earlier.on_cpu,
            waiting_for_cpu: self.waiting_for_cpu - earlier.waiting_for_cpu,
        }
    }
}

/// The process's time on a CPU so far, every thread's (`CLOCK_PROCESS_CPUTIME_ID`).
fn process_cpu() -> Duration {
    let mut cpu = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `cpu` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut cpu) };
    assert_eq!(status, 0, "CLOCK_PROCESS_CPUTIME_ID");
    Duration::new(cpu.tv_sec as u64, cpu.tv_nsec as u32)
}

/// The publishing part of [`in_bursts`]: its wall time, and the thread's own split of it;
/// and the process's CPU time from each burst's start until it was drained: the work of
/// every thread of ours and librdkafka's, wherever a variant does it.
struct Timed {
    wall: Duration,
    thread: Option<ThreadTime>,
    process: Duration,
}

fn in_bursts_timed(iterations: u64, mut publish: impl FnMut(), mut drain: impl FnMut()) -> Timed {
    let mut timed = Timed {
        wall: Duration::ZERO,
        thread: Some(ThreadTime::default()),
        process: Duration::ZERO,
    };
    let mut left = iterations;
    while left > 0 {
        let burst = left.min(BURST);
        let process_before = process_cpu();
        let thread_before = ThreadTime::now();
        let started = Instant::now();
        for _ in 0..burst {
            publish();
        }
        timed.wall += started.elapsed();
        let thread = ThreadTime::now()
            .zip(thread_before)
            .map(|(a, b)| a.since(b));
        timed.thread = timed.thread.zip(thread).map(|(sum, more)| ThreadTime {
            on_cpu: sum.on_cpu + more.on_cpu,
            waiting_for_cpu: sum.waiting_for_cpu + more.waiting_for_cpu,
        });
        drain();
        timed.process += process_cpu() - process_before;
        left -= burst;
    }
    timed
}

/// The producer's queue is empty: every record acknowledged.
fn drain_producer(kafka: &ThreadedProducer<DefaultProducerContext>) {
    kafka.flush(Duration::from_secs(60)).unwrap();
}

/// A dispatcher's measurement is valid only if nothing was refused by a full queue.
fn assert_nothing_dropped(variant: &str, dispatcher: &Dispatcher) {
    let report = dispatcher.stats();
    for sink in &report.sinks {
        assert_eq!(
            (sink.stats.dropped, sink.stats.failed),
            (0, 0),
            "{variant}: the {} sink refused records, so the full-queue path was timed",
            sink.name
        );
    }
}

/// Counts the sends rdkafka refused (a full queue): the hand-written variants must have none.
static REFUSED: AtomicU64 = AtomicU64::new(0);

fn send_or_count(
    kafka: &ThreadedProducer<DefaultProducerContext>,
    record: BaseRecord<'_, str, [u8]>,
) {
    if kafka.send(record).is_err() {
        REFUSED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends one event by hand, the way the baseline team would.
fn hand_written_publish(
    statsd: &StatsdClient,
    kafka: &ThreadedProducer<DefaultProducerContext>,
    e: &PaymentAttempted,
) {
    let (market, platform, first) = (e.market.value(), e.platform.value(), e.first_order.value());
    statsd
        .count_with_tags("payment.attempted", 1)
        .with_tag("market", market)
        .with_tag("platform", platform)
        .with_tag("first_order", first)
        .send();
    statsd
        .distribution_with_tags("payment.attempted.amount_pence", e.amount_pence)
        .with_tag("market", market)
        .with_tag("platform", platform)
        .with_tag("first_order", first)
        .send();
    let payload = PaymentAttemptedProto {
        order_id: e.order_id.clone(),
        user_id: e.user_id.clone(),
        market: e.market.index() as i32 + 1,
        platform: e.platform.index() as i32 + 1,
        first_order: e.first_order,
        amount_pence: e.amount_pence,
    }
    .encode_to_vec();
    let now = SystemTime::now();
    let id = EventId::new(now).to_string();
    let headers = headers(&id);
    let millis = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let record = BaseRecord::<str, [u8], ()>::to("bench-payments")
        .key(&e.order_id)
        .payload(&payload)
        .headers(headers)
        .timestamp(millis);
    send_or_count(kafka, record);
}

/// The floor's record, prepared once: the encoded payload, an event id and a timestamp.
struct Prepared {
    payload: Vec<u8>,
    event_id: EventId,
    id: String,
    millis: i64,
}

fn prepared(e: &PaymentAttempted) -> Prepared {
    let mut payload = Vec::new();
    e.encode(&mut payload);
    let now = SystemTime::now();
    let event_id = EventId::new(now);
    Prepared {
        payload,
        event_id,
        id: event_id.to_string(),
        millis: now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    }
}

/// The floor: rdkafka's `send` of the prepared record, and nothing else.
fn floor_send(
    kafka: &ThreadedProducer<DefaultProducerContext>,
    e: &PaymentAttempted,
    prepared: &Prepared,
) {
    let record = BaseRecord::<str, [u8], ()>::to("bench-payments")
        .key(&e.order_id)
        .payload(black_box(&prepared.payload))
        .headers(headers(&prepared.id))
        .timestamp(prepared.millis);
    send_or_count(kafka, record);
}

/// Empties the hand-written baseline's two clients.
fn drain_hand_written(statsd: &StatsdClient, kafka: &ThreadedProducer<DefaultProducerContext>) {
    statsd.flush().unwrap();
    drain_producer(kafka)
}

/// Sends untimed bursts through a throwaway producer for a few seconds, so that the
/// broker's JVM is warm before the first variant is measured: without this, the variant
/// criterion runs first paid for the warm-up (measured once: the floor took 915 ns first
/// and 858 ns last in the same run).
fn warm_the_broker(e: &PaymentAttempted) {
    let kafka = producer();
    let prepared = prepared(e);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        in_bursts(
            BURST,
            || floor_send(&kafka, e, &prepared),
            || drain_producer(&kafka),
        );
    }
}

fn publish(c: &mut Criterion) {
    let (_agent_socket, agent_address) = agent();
    let e = event();
    warm_the_broker(&e);
    let mut group = c.benchmark_group("publish");
    group.measurement_time(Duration::from_secs(5));
    // The same drain for every dispatcher: aggregates sent, both queues emptied.
    let drain = |d: &Dispatcher| {
        d.flush(Duration::from_secs(60));
    };

    let ours = Dispatcher::builder()
        .statsd(StatsdConfig::udp(&agent_address))
        .kafka(kafka_config().drop_flush_timeout(Duration::ZERO))
        .build()
        .unwrap();
    group.bench_function("ours_both_sinks", |b| {
        b.iter_custom(|n| in_bursts(n, || ours.publish(black_box(&e)), || drain(&ours)))
    });
    assert_nothing_dropped("ours_both_sinks", &ours);
    drop(ours.shutdown(Duration::ZERO));

    // The two halves of the line above, to show where the time goes.
    let kafka_only = Dispatcher::builder()
        .kafka(kafka_config().drop_flush_timeout(Duration::ZERO))
        .build()
        .unwrap();
    group.bench_function("ours_kafka_only", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || kafka_only.publish(black_box(&e)),
                || drain(&kafka_only),
            )
        })
    });
    assert_nothing_dropped("ours_kafka_only", &kafka_only);
    drop(kafka_only.shutdown(Duration::ZERO));
    let statsd_only = Dispatcher::builder()
        .statsd(StatsdConfig::udp(&agent_address))
        .build()
        .unwrap();
    group.bench_function("ours_statsd_only", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || statsd_only.publish(black_box(&e)),
                || drain(&statsd_only),
            )
        })
    });
    assert_nothing_dropped("ours_statsd_only", &statsd_only);
    drop(statsd_only);

    let statsd = cadence_client(&agent_address);
    let kafka = producer();
    group.bench_function("hand_written_baseline", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || hand_written_publish(&statsd, &kafka, black_box(&e)),
                || drain_hand_written(&statsd, &kafka),
            )
        })
    });

    let prepared = prepared(&e);
    group.bench_function("floor_rdkafka_send", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || floor_send(&kafka, &e, &prepared),
                || drain_producer(&kafka),
            )
        })
    });
    assert_eq!(
        REFUSED.load(Ordering::Relaxed),
        0,
        "the hand-written sends met a full queue, so the full-queue path was timed"
    );
    group.finish();
}

/// The StatsD path's event: a counter with three tags.
fn statsd_event() -> PaymentCounted {
    PaymentCounted {
        market: Market::Fr,
        platform: Platform::Android,
        first_order: false,
    }
}

/// What a team writes with cadence for the same counter and tags.
fn cadence_tagged_send(client: &StatsdClient, e: &PaymentCounted) {
    client
        .count_with_tags("payment.counted", 1)
        .with_tag("market", e.market.value())
        .with_tag("platform", e.platform.value())
        .with_tag("first_order", e.first_order.value())
        .send();
}

fn statsd_path(c: &mut Criterion) {
    let (_agent_socket, agent_address) = agent();
    let counted = statsd_event();
    let mut group = c.benchmark_group("statsd");
    let drain = |d: &Dispatcher| {
        d.flush(Duration::from_secs(60));
    };

    let aggregated = Dispatcher::builder()
        .statsd(StatsdConfig::udp(&agent_address))
        .build()
        .unwrap();
    group.bench_function("ours_aggregated", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || aggregated.publish(black_box(&counted)),
                || drain(&aggregated),
            )
        })
    });
    assert_nothing_dropped("ours_aggregated", &aggregated);
    drop(aggregated);

    let per_event = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::udp(&agent_address))
        .build()
        .unwrap();
    group.bench_function("ours_not_aggregated", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || per_event.publish(black_box(&counted)),
                || drain(&per_event),
            )
        })
    });
    assert_nothing_dropped("ours_not_aggregated", &per_event);
    drop(per_event);

    let client = cadence_client(&agent_address);
    group.bench_function("cadence_tagged_send", |b| {
        b.iter_custom(|n| {
            in_bursts(
                n,
                || cadence_tagged_send(&client, black_box(&counted)),
                || client.flush().unwrap(),
            )
        })
    });
    group.finish();
}

/// Rows 1 and 2 again, interleaved: criterion runs one variant after the other, and on
/// two cores shared with the broker the same variant moves by ±20% between runs (the
/// broker is still writing the previous variant's records, the allocator's arenas differ).
/// Here each round times one burst of every variant, in an order shuffled for each round
/// (a fixed seed, so every run uses the same orders), and a variant's figure is its median
/// over the rounds; each ratio is the median of the per-round ratios. Shuffled rather than
/// rotated: in a rotation each variant always follows the same one, so whatever that one
/// leaves behind (librdkafka's threads still sending, the allocator's state) would always
/// be counted to the same variant.
///
/// Two more variants split ours: the dispatcher with the Kafka sink only, and our Kafka
/// sink alone sending a record prepared beforehand (what the floor sends).
fn interleaved() {
    const ROUNDS: usize = 60;
    let (_agent_socket, agent_address) = agent();
    let e = event();
    let ours = Dispatcher::builder()
        .statsd(StatsdConfig::udp(&agent_address))
        .kafka(kafka_config().drop_flush_timeout(Duration::ZERO))
        .build()
        .unwrap();
    let ours_kafka_only = Dispatcher::builder()
        .kafka(kafka_config().drop_flush_timeout(Duration::ZERO))
        .build()
        .unwrap();
    let our_sink = KafkaSink::new(&kafka_config().drop_flush_timeout(Duration::ZERO)).unwrap();
    // Ours with the relay off: the publishing thread enqueues into librdkafka itself.
    let ours_direct = Dispatcher::builder()
        .statsd(StatsdConfig::udp(&agent_address))
        .kafka(
            kafka_config()
                .relay(false)
                .drop_flush_timeout(Duration::ZERO),
        )
        .build()
        .unwrap();
    let statsd = cadence_client(&agent_address);
    let kafka = producer();
    let prepared = prepared(&e);
    let prepared_record = KafkaRecord {
        topic: PaymentAttempted::TOPIC,
        key: e.key(),
        payload: &prepared.payload,
        event_name: PaymentAttempted::NAME,
        schema_name: PaymentAttempted::MESSAGE_NAME,
        event_id: prepared.event_id,
        timestamp_millis: prepared.millis,
        traceparent: None,
        tracestate: None,
    };

    let counted = statsd_event();
    let per_event_statsd = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::udp(&agent_address))
        .build()
        .unwrap();
    let cadence = cadence_client(&agent_address);

    let drain = |d: &Dispatcher| {
        d.flush(Duration::from_secs(60));
    };
    type Burst<'a> = Box<dyn Fn() -> Timed + 'a>;
    let variants: [(&str, Burst); 8] = [
        (
            "ours_both_sinks",
            Box::new(|| in_bursts_timed(BURST, || ours.publish(black_box(&e)), || drain(&ours))),
        ),
        (
            "floor_rdkafka_send",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || floor_send(&kafka, &e, &prepared),
                    || drain_producer(&kafka),
                )
            }),
        ),
        (
            "hand_written_baseline",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || hand_written_publish(&statsd, &kafka, black_box(&e)),
                    || drain_hand_written(&statsd, &kafka),
                )
            }),
        ),
        (
            "ours_kafka_only",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || ours_kafka_only.publish(black_box(&e)),
                    || drain(&ours_kafka_only),
                )
            }),
        ),
        (
            "our_kafka_sink_prepared_record",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || our_sink.send(black_box(&prepared_record)),
                    || our_sink.flush(Duration::from_secs(60)),
                )
            }),
        ),
        (
            "statsd_not_aggregated",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || per_event_statsd.publish(black_box(&counted)),
                    || drain(&per_event_statsd),
                )
            }),
        ),
        (
            "cadence_tagged_send",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || cadence_tagged_send(&cadence, black_box(&counted)),
                    || cadence.flush().unwrap(),
                )
            }),
        ),
        (
            "ours_both_sinks_direct",
            Box::new(|| {
                in_bursts_timed(
                    BURST,
                    || ours_direct.publish(black_box(&e)),
                    || drain(&ours_direct),
                )
            }),
        ),
    ];
    const OURS: usize = 0;
    const FLOOR: usize = 1;
    const BASELINE: usize = 2;
    const DIRECT: usize = 7;

    // Nanoseconds per publish of one burst.
    let per_publish = |elapsed: Duration| elapsed.as_nanos() as f64 / BURST as f64;
    // A warm-up round, not counted.
    for (_, run) in &variants {
        run();
    }
    let mut times: [Vec<f64>; 8] = Default::default();
    // The same bursts' time on a CPU and waiting for one, while the kernel counts them.
    let mut on_cpu: Option<[Vec<f64>; 8]> = Some(Default::default());
    let mut waiting: [Vec<f64>; 8] = Default::default();
    let mut process: [Vec<f64>; 8] = Default::default();
    let mut order: [usize; 8] = std::array::from_fn(|i| i);
    let mut shuffler = StdRng::seed_from_u64(7);
    for _ in 0..ROUNDS {
        order.shuffle(&mut shuffler);
        for &variant in &order {
            let timed = variants[variant].1();
            times[variant].push(per_publish(timed.wall));
            process[variant].push(per_publish(timed.process));
            match (timed.thread, on_cpu.as_mut()) {
                (Some(thread), Some(on_cpu)) => {
                    on_cpu[variant].push(per_publish(Duration::from_nanos(thread.on_cpu)));
                    waiting[variant]
                        .push(per_publish(Duration::from_nanos(thread.waiting_for_cpu)));
                }
                _ => on_cpu = None,
            }
        }
    }
    let names = variants.map(|(name, _)| name);
    assert_nothing_dropped("interleaved ours_both_sinks", &ours);
    assert_nothing_dropped("interleaved ours_kafka_only", &ours_kafka_only);
    assert_nothing_dropped("interleaved ours_both_sinks_direct", &ours_direct);
    assert_nothing_dropped("interleaved statsd_not_aggregated", &per_event_statsd);
    let sink_stats = our_sink.stats();
    assert_eq!(
        (sink_stats.dropped, sink_stats.failed),
        (0, 0),
        "interleaved our_kafka_sink_prepared_record: records were refused"
    );
    assert_eq!(
        REFUSED.load(Ordering::Relaxed),
        0,
        "a hand-written send was refused"
    );
    drop(ours.shutdown(Duration::ZERO));
    drop(ours_kafka_only.shutdown(Duration::ZERO));
    drop(ours_direct.shutdown(Duration::ZERO));

    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let ratios =
        |a: usize, b: usize| median((0..ROUNDS).map(|r| times[a][r] / times[b][r]).collect());
    let medians = times.clone().map(median);
    let figures: Vec<String> = names
        .iter()
        .zip(medians)
        .map(|(name, ns)| format!("{name} {ns:.0} ns"))
        .collect();
    println!(
        "publish/interleaved ({ROUNDS} rounds of {BURST} per variant, medians): {}",
        figures.join(", ")
    );
    println!(
        "publish/interleaved: ours is {:.2}x faster than the baseline, and {:.2}x the floor",
        ratios(BASELINE, OURS),
        ratios(OURS, FLOOR)
    );
    println!(
        "publish/interleaved: the floor split: ours with the Kafka sink only {:.2}x, our Kafka sink sending the prepared record {:.2}x; ours with the relay off {:.2}x",
        ratios(3, FLOOR),
        ratios(4, FLOOR),
        ratios(DIRECT, FLOOR)
    );
    if let Some(on_cpu) = on_cpu {
        let split = |values: &[Vec<f64>; 8]| {
            [OURS, FLOOR, 3, 4, DIRECT]
                .map(|v| format!("{} {:.0} ns", names[v], median(values[v].clone())))
                .join(", ")
        };
        let cpu_ratio =
            |a: usize, b: usize| median((0..ROUNDS).map(|r| on_cpu[a][r] / on_cpu[b][r]).collect());
        println!(
            "publish/interleaved: the publishing thread's time per publish on a CPU (medians): {}; so ours is {:.2}x the floor on the CPU (Kafka sink only {:.2}x, our Kafka sink sending the prepared record {:.2}x, the relay off {:.2}x)",
            split(&on_cpu),
            cpu_ratio(OURS, FLOOR),
            cpu_ratio(3, FLOOR),
            cpu_ratio(4, FLOOR),
            cpu_ratio(DIRECT, FLOOR)
        );
        println!(
            "publish/interleaved: its time per publish waiting for a CPU (medians): {}; the rest of the wall time it was blocked (in a lock or a system call)",
            split(&waiting)
        );
    }
    let process_split = [OURS, FLOOR, 3, 4, DIRECT]
        .map(|v| format!("{} {:.0} ns", names[v], median(process[v].clone())))
        .join(", ");
    let process_ratio =
        |a: usize, b: usize| median((0..ROUNDS).map(|r| process[a][r] / process[b][r]).collect());
    println!(
        "publish/interleaved: the process's CPU time per publish, every thread's, from a burst's start until it is drained (medians): {process_split}; so ours is {:.2}x the floor (Kafka sink only {:.2}x, the relay off {:.2}x)",
        process_ratio(OURS, FLOOR),
        process_ratio(3, FLOOR),
        process_ratio(DIRECT, FLOOR)
    );
    let statsd_rounds: Vec<f64> = (0..ROUNDS).map(|r| times[6][r] / times[5][r]).collect();
    println!(
        "publish/interleaved: row 3b, the StatsD path not aggregated is {:.2}x faster than cadence's tagged send (single rounds {:.2}x-{:.2}x)",
        ratios(6, 5),
        statsd_rounds.iter().copied().fold(f64::INFINITY, f64::min),
        statsd_rounds.iter().copied().fold(0.0, f64::max),
    );
}

/// One burst of `publish`, the only code `scripts/bench-instructions` counts: callgrind
/// collects inside functions whose names start `publish::counted_burst`.
#[inline(never)]
fn counted_burst(mut publish: impl FnMut()) {
    for _ in 0..BURST {
        publish();
    }
}

/// Bursts of the instruction count: the first warms up (connection, topic, tables) and is
/// not counted.
const COUNTED_BURSTS: u64 = 3;

/// Rows 1 and 2 by instructions instead of time, for `scripts/bench-instructions`: runs one
/// variant for a warm-up burst and [`COUNTED_BURSTS`] counted ones, draining in between.
/// Instructions do not move with what else the two cores run, so this separates our own
/// work from the machine's noise; they are not time (a cache miss or a lock wait costs
/// more than an instruction), so the targets stay the timed ratios.
fn instruction_count(variant: &str) {
    let (_agent_socket, agent_address) = agent();
    let e = event();
    let both = || {
        Dispatcher::builder()
            .statsd(StatsdConfig::udp(&agent_address))
            .kafka(kafka_config().drop_flush_timeout(Duration::ZERO))
    };
    let kafka_only =
        || Dispatcher::builder().kafka(kafka_config().drop_flush_timeout(Duration::ZERO));
    let run = |publish: &dyn Fn(), counted: &dyn Fn(), drain: &dyn Fn()| {
        for _ in 0..BURST {
            publish();
        }
        drain();
        for _ in 0..COUNTED_BURSTS {
            counted();
            drain();
        }
    };
    match variant {
        "ours_both_sinks" | "ours_kafka_only" => {
            let builder = if variant == "ours_both_sinks" { both() } else { kafka_only() };
            let ours = builder.build().unwrap();
            run(
                &|| ours.publish(black_box(&e)),
                &|| counted_burst(|| ours.publish(black_box(&e))),
                &|| {
                    ours.flush(Duration::from_secs(60));
                },
            );
            assert_nothing_dropped(variant, &ours);
        }
        "floor_rdkafka_send" | "hand_written_baseline" => {
            let kafka = producer();
            let statsd = cadence_client(&agent_address);
            let prepared = prepared(&e);
            let send = || {
                if variant == "floor_rdkafka_send" {
                    floor_send(&kafka, &e, &prepared)
                } else {
                    hand_written_publish(&statsd, &kafka, black_box(&e))
                }
            };
            run(&send, &|| counted_burst(send), &|| {
                drain_hand_written(&statsd, &kafka)
            });
            assert_eq!(REFUSED.load(Ordering::Relaxed), 0, "{variant}: a send was refused");
        }
        // Row 3b: the StatsD path alone, not aggregated, against cadence's tagged send.
        "statsd_not_aggregated" => {
            let counted_event = statsd_event();
            let ours = Dispatcher::builder()
                .aggregate_metrics(None)
                .statsd(StatsdConfig::udp(&agent_address))
                .build()
                .unwrap();
            run(
                &|| ours.publish(black_box(&counted_event)),
                &|| counted_burst(|| ours.publish(black_box(&counted_event))),
                &|| {
                    ours.flush(Duration::from_secs(60));
                },
            );
            assert_nothing_dropped(variant, &ours);
        }
        "cadence_tagged_send" => {
            let counted_event = statsd_event();
            let client = cadence_client(&agent_address);
            let send = || cadence_tagged_send(&client, black_box(&counted_event));
            run(&send, &|| counted_burst(send), &|| client.flush().unwrap());
        }
        other => panic!("no variant {other:?}: ours_both_sinks, ours_kafka_only, floor_rdkafka_send, hand_written_baseline, statsd_not_aggregated or cadence_tagged_send"),
    }
    println!("{variant}: {} publishes counted", COUNTED_BURSTS * BURST);
}

criterion_group!(benches, publish, statsd_path);

fn main() {
    if let [option, variant] = &std::env::args().skip(1).collect::<Vec<_>>()[..] {
        if option == "--instructions" {
            return instruction_count(variant);
        }
    }
    benches();
    // Like criterion's own groups, the interleaved comparison runs unless a filter given
    // on the command line excludes it.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let takes_value = |option: &str| {
        option.ends_with("-time") || option.ends_with("-size") || option.contains("baseline")
    };
    let filter = args.iter().enumerate().find_map(|(i, arg)| {
        let is_value = i > 0 && takes_value(&args[i - 1]);
        (!arg.starts_with("--") && !is_value).then_some(arg.as_str())
    });
    if filter.is_none_or(|f| "publish/interleaved".contains(f)) {
        interleaved();
    }
    Criterion::default().configure_from_args().final_summary();
}
