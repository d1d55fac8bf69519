//! How long one publish call takes at a service's pace, three ways: relayed (the default:
//! the publishing thread queues the record, and the sink's relay thread enqueues it into
//! librdkafka); direct (`KafkaConfig::relay(false)`: the publishing thread enqueues into
//! librdkafka itself), the sink's background threads batch-scheduled (the default); and
//! direct under the default scheduling policy (`KafkaConfig::batch_scheduled_threads(false)`).
//!
//! At a service's pace a publish is not one of a tight loop: the thread sleeps between
//! requests, and a publish now and then wakes librdkafka's broker thread (a partition's
//! first record since the last batch, or its `linger.ms` run out). Under the default policy
//! the woken thread may preempt the publishing one, which then waits while a batch is built
//! and sent. This bench times each call on a thread that publishes at `BENCH_RATE` events a
//! second (4,000 by default: the checkout service's two events per request at 2,000
//! requests a second), sleeping between them.
//!
//! Three dispatchers built alike but for that, both sinks (StatsD aggregated, to a local
//! UDP socket; Kafka to the test broker), take turns in `BENCH_ROUNDS` rounds (11) of
//! `BENCH_EVENTS` publishes (4,000) each, the order rotating by round. Prints each one's
//! p50, p99, p99.9 and the share of calls over 5, 10 and 100 µs, over every round.
//! `BENCH_KAFKA_SET` (`linger.ms=50,batch.size=100000`) sets librdkafka properties on
//! every dispatcher's Kafka sink. Needs the broker: `scripts/services.sh start && eval "$(scripts/services.sh env)"`.

#[path = "common/kafka_settings.rs"]
mod kafka_settings;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, Event, KafkaConfig, StatsdConfig, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "bench-pace")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    #[event(metric = "distribution")]
    amount_pence: u64,
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dispatcher(bootstrap: &str, agent: &str, batch: bool, relay: bool) -> Dispatcher {
    let mut kafka = KafkaConfig::new(bootstrap)
        .batch_scheduled_threads(batch)
        .relay(relay);
    for (k, v) in kafka_settings::pairs() {
        kafka = kafka.set(k, v);
    }
    Dispatcher::builder()
        .statsd(StatsdConfig::udp(agent))
        .kafka(kafka)
        .build()
        .unwrap()
}

/// Publishes `count` events at `interval` through `events`; each call's time.
fn round(events: &Dispatcher, count: u64, interval: Duration, times: &mut Vec<Duration>) {
    let start = Instant::now();
    for i in 0..count {
        let event = PaymentAttempted {
            order_id: format!("o-{i:08}"),
            user_id: format!("u-{:06}", i % 40_000),
            market: Market::from_index((i % 3) as usize).unwrap(),
            amount_pence: 500 + i % 7_919,
        };
        let called = Instant::now();
        events.publish(&event);
        times.push(called.elapsed());
        let next = start + interval * (i + 1) as u32;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

fn main() {
    let rounds = setting("BENCH_ROUNDS", 11);
    let count = setting("BENCH_EVENTS", 4_000);
    let interval = Duration::from_secs(1) / setting("BENCH_RATE", 4_000) as u32;
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "KAFKA_BOOTSTRAP_SERVERS is not set: start the services with `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let agent = agent.local_addr().unwrap().to_string();
    let variants = [
        (
            "direct, batch-scheduled",
            dispatcher(&bootstrap, &agent, true, false),
        ),
        (
            "direct, default policy",
            dispatcher(&bootstrap, &agent, false, false),
        ),
        (
            "relayed (the default)",
            dispatcher(&bootstrap, &agent, true, true),
        ),
    ];
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    // Warm-up: connections, the topic's metadata, the thread's buffers.
    for (_, events) in &variants {
        round(events, count / 10, interval, &mut Vec::new());
    }
    for r in 0..rounds as usize {
        for k in 0..variants.len() {
            let v = (r + k) % variants.len();
            round(&variants[v].1, count, interval, &mut times[v]);
        }
    }
    println!(
        "publish call at {} events/s, both sinks, {rounds} rounds of {count} per variant, librdkafka settings [{}]:",
        Duration::from_secs(1).as_nanos() / interval.as_nanos(),
        kafka_settings::text(),
    );
    let mut p99 = [0.0; 3];
    for (v, (name, events)) in variants.into_iter().enumerate() {
        let report = events.shutdown(Duration::from_secs(30)).unwrap();
        let published = report.sink("kafka").unwrap().published;
        assert_eq!(published, rounds * count + count / 10, "{name}");
        let sorted = &mut times[v];
        sorted.sort();
        let at = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
        let over = |bound: u64| {
            let n = sorted
                .iter()
                .filter(|t| **t > Duration::from_micros(bound))
                .count();
            100.0 * n as f64 / sorted.len() as f64
        };
        p99[v] = at(0.99).as_secs_f64() * 1e6;
        println!(
            "  {name}: p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us; over 5 us {:.2}%, over 10 us {:.2}%, over 100 us {:.3}%",
            at(0.5).as_secs_f64() * 1e6,
            p99[v],
            at(0.999).as_secs_f64() * 1e6,
            over(5),
            over(10),
            over(100)
        );
    }
    println!(
        "publish_pace: direct, the default policy's p99 is {:.2}x the batch-scheduled one's; direct batch-scheduled, it is {:.2}x the relayed one's",
        p99[1] / p99[0],
        p99[0] / p99[2]
    );
}
