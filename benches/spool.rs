//! What the Kafka sink's disk spool costs, interleaved in one process against the real
//! broker (acks=all, idempotent):
//!   1. publish with a spool configured but not spilling, against no spool: bursts of
//!      10,000 publishes, drained untimed between bursts, the variants taking turns. A
//!      spool turns the sink's relay off, so the spool's cost is measured against the
//!      direct path (`KafkaConfig::relay(false)`), and the default, relayed, runs too;
//!   2. sustained end-to-end throughput in write-ahead mode (500 ms sync) against the
//!      in-memory path: time from the first publish until every record is acknowledged;
//!   3. the spill rate with no broker to reach: events/s and MB/s into the spool.
//!
//! Ratios are medians of the rounds' ratios. `BENCH_ROUNDS` and `BENCH_EVENTS` override the
//! counts. Needs the test broker: `scripts/services.sh start && eval "$(scripts/services.sh env)"`.

use std::path::Path;
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, Event, KafkaConfig, SyncPolicy, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "bench-spool")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    amount_pence: u64,
}

fn event(i: u64) -> PaymentAttempted {
    PaymentAttempted {
        order_id: format!("order-{:09}", i % 100_000),
        user_id: format!("user-{:07}", i % 7_919),
        market: Market::from_index((i % 3) as usize).unwrap(),
        amount_pence: 500 + i % 5000,
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "start the test broker: scripts/services.sh start && eval \"$(scripts/services.sh env)\"",
    )
}

fn dispatcher(config: KafkaConfig) -> Dispatcher {
    Dispatcher::builder().kafka(config).build().unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn assert_all_delivered(variant: &str, events: Dispatcher, expected: u64) {
    let report = events.shutdown(Duration::from_secs(120)).unwrap();
    let kafka = report.sink("kafka").unwrap();
    assert_eq!(kafka.delivered, expected, "{variant}: {kafka:?}");
}

/// Row 7a: ns per publish over `bursts` bursts of 10,000, drained between them.
fn publish_ns(events: &Dispatcher, bursts: u64, events_so_far: &mut u64) -> f64 {
    let mut timed = Duration::ZERO;
    for _ in 0..bursts {
        let payloads: Vec<_> = (0..10_000).map(|i| event(*events_so_far + i)).collect();
        let started = Instant::now();
        for payload in &payloads {
            events.publish(payload);
        }
        timed += started.elapsed();
        *events_so_far += 10_000;
        events.flush(Duration::from_secs(60));
    }
    timed.as_nanos() as f64 / (bursts * 10_000) as f64
}

fn not_spilling(rounds: u64, dir: &Path) {
    // A spool turns the relay off (the spool's feeder moves spilled records on), so the
    // spool's own cost is measured against the same direct path without it; the default,
    // relayed, runs beside them.
    let direct = dispatcher(KafkaConfig::new(bootstrap()).relay(false));
    let spooled = dispatcher(KafkaConfig::new(bootstrap()).spool(dir.join("not-spilling")));
    let relayed = dispatcher(KafkaConfig::new(bootstrap()));
    let variants = [&direct, &spooled, &relayed];
    let mut sent = [0; 3];
    // Warm them: connections, topic metadata, buffers.
    for (v, events) in variants.iter().enumerate() {
        publish_ns(events, 1, &mut sent[v]);
    }
    let mut ns: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds as usize {
        for k in 0..3 {
            let v = (round + k) % 3;
            ns[v].push(publish_ns(variants[v], 3, &mut sent[v]));
        }
    }
    let spool = spooled.stats().sink("kafka").unwrap().spool.unwrap();
    assert_eq!(
        spool.spooled, 0,
        "the spool must not have spilled: {spool:?}"
    );
    assert_all_delivered("no spool, direct", direct, sent[0]);
    assert_all_delivered("spool, not spilling", spooled, sent[1]);
    assert_all_delivered("no spool, relayed", relayed, sent[2]);
    let ratios =
        |a: usize, b: usize| -> Vec<f64> { ns[a].iter().zip(&ns[b]).map(|(a, b)| a / b).collect() };
    let (spool_direct, spool_relayed) = (ratios(1, 0), ratios(1, 2));
    println!(
        "spool/not_spilling ({rounds} rounds of 30,000 publishes each): no spool {:.0} ns, spool {:.0} ns; ratio {:.3}x (rounds {:.3}x-{:.3}x); no spool relayed (the default) {:.0} ns, the spool {:.3}x that",
        median(ns[0].clone()),
        median(ns[1].clone()),
        median(spool_direct.clone()),
        spool_direct.iter().copied().fold(f64::INFINITY, f64::min),
        spool_direct.iter().copied().fold(0.0, f64::max),
        median(ns[2].clone()),
        median(spool_relayed),
    );
}

/// Row 7b: events/s from the first publish until all `n` are acknowledged.
fn throughput(config: KafkaConfig, n: u64) -> f64 {
    let events = dispatcher(config);
    let payloads: Vec<_> = (0..n).map(event).collect();
    let started = Instant::now();
    for payload in &payloads {
        events.publish(payload);
    }
    let report = events.shutdown(Duration::from_secs(300)).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.sink("kafka").unwrap().delivered, n);
    n as f64 / elapsed.as_secs_f64()
}

fn write_ahead(rounds: u64, n: u64, dir: &Path) {
    // Backpressure for the in-memory path: a sustained run outruns its 100,000-record queue.
    let memory = || KafkaConfig::new(bootstrap()).block_when_full(Duration::from_secs(60));
    let wal = |round| {
        KafkaConfig::new(bootstrap())
            .spool(dir.join(format!("write-ahead-{round}")))
            .spool_write_ahead(SyncPolicy::Interval(Duration::from_millis(500)))
    };
    throughput(memory(), n / 10);
    let (mut rates_memory, mut rates_wal, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = throughput(memory(), n);
            (a, throughput(wal(round), n))
        } else {
            let b = throughput(wal(round), n);
            (throughput(memory(), n), b)
        };
        rates_memory.push(a);
        rates_wal.push(b);
        ratios.push(b / a);
    }
    println!(
        "spool/write_ahead ({rounds} rounds of {n} events): in memory {:.0}/s, write-ahead (500 ms sync) {:.0}/s; ratio {:.3}x (rounds {:.3}x-{:.3}x)",
        median(rates_memory),
        median(rates_wal),
        median(ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
}

fn spill_rate(n: u64, dir: &Path) {
    // Nothing listens there: after librdkafka's 10,000, every record goes to the spool.
    let events = dispatcher(
        KafkaConfig::new("127.0.0.1:9")
            .set("queue.buffering.max.messages", "10000")
            .spool(dir.join("spill")),
    );
    let payloads: Vec<_> = (0..n).map(event).collect();
    let started = Instant::now();
    for payload in &payloads {
        events.publish(payload);
    }
    let elapsed = started.elapsed();
    let stats = events.stats().sink("kafka").unwrap();
    let spool = stats.spool.unwrap();
    assert_eq!(stats.dropped, 0);
    println!(
        "spool/spill_rate ({n} events, no broker): {} spilled in {elapsed:?}: {:.0} events/s, {:.1} MB/s",
        spool.spooled,
        spool.spooled as f64 / elapsed.as_secs_f64(),
        spool.bytes as f64 / elapsed.as_secs_f64() / 1e6,
    );
    let _ = events.shutdown(Duration::from_millis(100));
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter selects one row.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |row: &str| filter.as_deref().is_none_or(|f| row.contains(f));
    let rounds = setting("BENCH_ROUNDS", 9);
    let n = setting("BENCH_EVENTS", 500_000);
    let dir = tempfile::tempdir().unwrap();
    if wanted("spool/not_spilling") {
        not_spilling(rounds, dir.path());
    }
    if wanted("spool/write_ahead") {
        write_ahead(rounds.min(5), n, dir.path());
    }
    if wanted("spool/spill_rate") {
        spill_rate(2 * n, dir.path());
    }
}
