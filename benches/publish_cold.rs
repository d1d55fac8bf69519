//! Where a publish's time goes when it is not one of a tight loop: one call of the checkout
//! service's first event (`PaymentAttempted`, from `src/order_flow`) timed in four
//! situations a service's request thread meets, with both sinks, StatsD alone and Kafka
//! alone (relayed):
//! - back to back: the call right after the previous one, caches and predictors warm;
//! - after the thread slept 200 µs, as a service's worker thread waits for its next
//!   request between two (at 2,000 requests a second, 500 µs apart);
//! - after the thread wrote 4 MiB without sleeping: the same data caches evicted (the
//!   L2 of this machine's cores is 1 MiB each), the core kept busy, and the publish's code
//!   left alone;
//! - two threads, one on each core, taking turns and sleeping 100 µs before each call, as
//!   the workers of a multi-thread runtime take turns at a service's requests: what a
//!   publish costs when the last one ran on the other core.
//!
//! Each `BENCH_ROUNDS` round (6, the first one a warm-up) runs every situation for every
//! dispatcher, `BENCH_EVENTS` calls (4,000) each; prints each one's p50, p90 and p99 over
//! every round. The publishing threads are pinned (core 0; core 1 for the second thread),
//! so a call cannot move cores inside one situation. Needs the broker:
//! `scripts/services.sh start && eval "$(scripts/services.sh env)"`.

use std::net::UdpSocket;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, KafkaConfig, StatsdConfig, Tag};
use multi_dispatch_events::order_flow::events::{
    Market, PaymentAttempted, PaymentMethod, Platform,
};

fn event(i: u64) -> PaymentAttempted {
    PaymentAttempted {
        order_id: format!("o-{i:08}"),
        user_id: format!("u-{:06}", i % 40_000),
        attempt: 1 + (i % 2) as u32,
        market: Market::from_index((i % 3) as usize).unwrap(),
        platform: Platform::from_index((i / 3 % 3) as usize).unwrap(),
        method: PaymentMethod::from_index((i / 9 % 3) as usize).unwrap(),
        amount_pence: 500 + i % 7_919,
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Keeps the calling thread on `cpu`.
fn pin(cpu: usize) {
    // SAFETY: `set` is a zeroed `cpu_set_t`, which is an empty set, filled by `CPU_SET`;
    // `sched_setaffinity` only reads it.
    let pinned = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(pinned, 0, "cannot pin a thread to core {cpu}");
}

/// Times one publish of event `i`.
fn timed(events: &Dispatcher, i: u64) -> Duration {
    let event = event(i);
    let called = Instant::now();
    events.publish(&event);
    called.elapsed()
}

const SITUATIONS: [&str; 4] = [
    "back to back",
    "after sleeping 200 us",
    "after writing 4 MiB",
    "two cores taking turns",
];

/// `count` calls in situation `situation`, their times added to `times`.
fn run(
    events: &Dispatcher,
    situation: usize,
    count: u64,
    evict: &mut [u8],
    times: &mut Vec<Duration>,
) {
    match situation {
        0 => times.extend((0..count).map(|i| timed(events, i))),
        1 => times.extend((0..count).map(|i| {
            std::thread::sleep(Duration::from_micros(200));
            timed(events, i)
        })),
        2 => times.extend((0..count).map(|i| {
            // One write per cache line is enough to evict it.
            for line in evict.chunks_mut(64) {
                line[0] = line[0].wrapping_add(1);
            }
            timed(events, i)
        })),
        _ => {
            let (to_other, turns) = mpsc::channel::<u64>();
            let (back, done) = mpsc::channel::<()>();
            let other = std::thread::scope(|scope| {
                let other = scope.spawn(move || {
                    pin(1);
                    let mut times = Vec::new();
                    while let Ok(i) = turns.recv() {
                        std::thread::sleep(Duration::from_micros(100));
                        times.push(timed(events, i));
                        back.send(()).unwrap();
                    }
                    times
                });
                for i in (0..count).step_by(2) {
                    std::thread::sleep(Duration::from_micros(100));
                    times.push(timed(events, i));
                    to_other.send(i + 1).unwrap();
                    done.recv().unwrap();
                }
                drop(to_other);
                other.join().unwrap()
            });
            times.extend(other);
        }
    }
}

fn main() {
    let rounds = setting("BENCH_ROUNDS", 6).max(2);
    let count = setting("BENCH_EVENTS", 4_000);
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "KAFKA_BOOTSTRAP_SERVERS is not set: start the services with `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let agent = agent.local_addr().unwrap().to_string();
    let dispatcher = |statsd: bool, kafka: bool| {
        let mut builder = Dispatcher::builder();
        if statsd {
            builder = builder.statsd(StatsdConfig::udp(&agent));
        }
        if kafka {
            builder = builder.kafka(KafkaConfig::new(&bootstrap));
        }
        builder.build().unwrap()
    };
    let sinks = [
        ("both sinks", dispatcher(true, true)),
        ("StatsD alone", dispatcher(true, false)),
        ("Kafka alone", dispatcher(false, true)),
    ];
    let mut evict = vec![0u8; 4 << 20];
    let mut times = vec![vec![Vec::new(); SITUATIONS.len()]; sinks.len()];
    pin(0);
    for round in 0..rounds {
        for ((_, events), times) in sinks.iter().zip(&mut times) {
            for (situation, times) in times.iter_mut().enumerate() {
                let mut these = Vec::new();
                run(events, situation, count, &mut evict, &mut these);
                if round > 0 {
                    times.extend(these);
                }
            }
        }
    }
    std::hint::black_box(&evict);
    println!(
        "publish call, {} rounds of {count} per situation after a warm-up round:",
        rounds - 1
    );
    for (d, (name, events)) in sinks.into_iter().enumerate() {
        let report = events.shutdown(Duration::from_secs(30)).unwrap();
        assert_eq!(report.undelivered(), 0, "{name}");
        for (s, situation) in SITUATIONS.iter().enumerate() {
            let sorted = &mut times[d][s];
            sorted.sort();
            let at = |p: f64| {
                sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64()
                    * 1e6
            };
            println!(
                "  {name}, {situation}: p50 {:.2} us, p90 {:.2} us, p99 {:.2} us",
                at(0.5),
                at(0.9),
                at(0.99)
            );
        }
    }
}
