//! What publishing through the global dispatcher (`event_runtime::publish`) costs against
//! publishing through a dispatcher's own handle: one dispatcher, installed as the global one
//! and also reached through its handle (`GlobalGuard::dispatcher`), so that the two differ
//! in the routing alone, not in which dispatcher's tables and threads they meet; the same
//! event, bursts of 10,000 publishes taking turns, interleaved in one process.
//! The sinks only count, so the ratio is that of the routing against a cheap publish (the
//! metrics aggregated in process and the payload encoded): its worst case. No services.
//!
//! The ratio is the median of the rounds' ratios; `BENCH_ROUNDS` overrides their number.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, Event, KafkaRecord, MetricSink, RecordSink, SinkStats, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "bench-global")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    #[event(metric = "distribution")]
    amount_pence: u64,
}

/// Counts what it is given, and nothing else.
#[derive(Default)]
struct Counting(AtomicU64);

impl MetricSink for &'static Counting {
    fn name(&self) -> &'static str {
        "counting-statsd"
    }
    fn send_lines(&self, lines: &str) {
        self.0.fetch_add(lines.len() as u64, Ordering::Relaxed);
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

impl RecordSink for &'static Counting {
    fn name(&self) -> &'static str {
        "counting-kafka"
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        self.0
            .fetch_add(record.payload.len() as u64, Ordering::Relaxed);
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

const BURST: u32 = 10_000;

/// Never inlined, so that both variants' loops are functions of their own, compiled alike:
/// left to the compiler, one was inlined into `main` and the other not, and that alone
/// moved the ratio by 5%.
#[inline(never)]
fn burst(publish: impl Fn(&PaymentAttempted), event: &PaymentAttempted) -> Duration {
    let started = Instant::now();
    for _ in 0..BURST {
        publish(black_box(event));
    }
    started.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // Cargo passes `--bench`; there is nothing to filter.
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31);
    let counting: &'static Counting = Box::leak(Box::default());
    let dispatcher = Dispatcher::builder()
        .metric_sink(counting)
        .record_sink(counting)
        .build()
        .unwrap();
    let guard = event_runtime::set_global(dispatcher).unwrap();
    // The same dispatcher, published through its handle.
    let direct = guard.dispatcher();
    let event = PaymentAttempted {
        order_id: "order-000000042".into(),
        user_id: "user-0000042".into(),
        market: Market::Fr,
        amount_pence: 1250,
    };
    // Warm-up: tables and buffers grow once.
    burst(event_runtime::publish, &event);
    burst(|e| direct.publish(e), &event);

    let mut ratios = Vec::with_capacity(rounds);
    let (mut global_ns, mut direct_ns) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (global, handle) = if round % 2 == 0 {
            let g = burst(event_runtime::publish, &event);
            (g, burst(|e| direct.publish(e), &event))
        } else {
            let d = burst(|e| direct.publish(e), &event);
            (burst(event_runtime::publish, &event), d)
        };
        ratios.push(global.as_secs_f64() / handle.as_secs_f64());
        global_ns.push(global.as_nanos() as f64 / f64::from(BURST));
        direct_ns.push(handle.as_nanos() as f64 / f64::from(BURST));
    }
    println!(
        "global/interleaved: global {:.1} ns, direct {:.1} ns per publish (medians); \
         global vs direct {:.3}x, the median of {rounds} rounds' ratios (single rounds {:.3}x-{:.3}x)",
        median(&mut global_ns),
        median(&mut direct_ns),
        median(&mut ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    assert_eq!(event_runtime::unrouted(), 0, "every publish was routed");
    drop(guard);
}
