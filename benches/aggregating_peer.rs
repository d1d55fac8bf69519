//! Our aggregated StatsD path against the other Rust client that aggregates before it sends:
//! `metrics` with `metrics-exporter-dogstatsd` (its default, conservative aggregation, and
//! histograms sent as distributions). Per published event, each side counts one counter with
//! three tags and records one distribution sample with the same tags, and sends over UDP to
//! a local socket nobody reads. Bursts of 10,000 events taking turns, interleaved in one
//! process; the ratio is the median of the rounds' ratios (`BENCH_ROUNDS` rounds, 31 by
//! default). No services.

use std::hint::black_box;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, Event, StatsdConfig, Tag};
use metrics_exporter_dogstatsd::DogStatsDBuilder;

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

/// Only the metrics path is measured: the event has no record sink to go to.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "bench-peer")]
struct PaymentAttempted {
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

const BURST: u64 = 10_000;

fn event(i: u64) -> PaymentAttempted {
    PaymentAttempted {
        user_id: "user-0000042".into(),
        market: Market::from_index((i % 3) as usize).unwrap(),
        platform: Platform::from_index((i / 3 % 3) as usize).unwrap(),
        first_order: i % 2 == 0,
        amount_pence: 500 + i % 5000,
    }
}

/// The same event through `metrics`' macros: the tag values as static strings, as ours are.
fn peer(event: &PaymentAttempted) {
    let labels = [
        ("market", event.market.value()),
        ("platform", event.platform.value()),
        (
            "first_order",
            if event.first_order { "true" } else { "false" },
        ),
    ];
    metrics::counter!("payment.attempted", &labels).increment(1);
    metrics::histogram!("payment.attempted.amount_pence", &labels)
        .record(event.amount_pence as f64);
}

fn burst(publish: impl Fn(&PaymentAttempted), events: &[PaymentAttempted]) -> Duration {
    let started = Instant::now();
    for i in 0..BURST {
        publish(black_box(&events[(i % events.len() as u64) as usize]));
    }
    started.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31);
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = sink.local_addr().unwrap().to_string();
    let ours = Dispatcher::builder()
        .statsd(StatsdConfig::udp(&address))
        .build()
        .unwrap();
    DogStatsDBuilder::default()
        .with_remote_address(&address)
        .unwrap()
        .install()
        .unwrap();
    // Every tag combination, so both sides see all 18 series.
    let events: Vec<PaymentAttempted> = (0..18).map(event).collect();
    // Warm-up: tables and registries grow once.
    burst(|e| ours.publish(e), &events);
    burst(peer, &events);

    let (mut ratios, mut ours_ns, mut peer_ns) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (o, p) = if round % 2 == 0 {
            let o = burst(|e| ours.publish(e), &events);
            (o, burst(peer, &events))
        } else {
            let p = burst(peer, &events);
            (burst(|e| ours.publish(e), &events), p)
        };
        ratios.push(p.as_secs_f64() / o.as_secs_f64());
        ours_ns.push(o.as_nanos() as f64 / BURST as f64);
        peer_ns.push(p.as_nanos() as f64 / BURST as f64);
    }
    println!(
        "aggregating_peer/interleaved: ours {:.1} ns, metrics-exporter-dogstatsd {:.1} ns per event \
         (medians); ours is {:.2}x faster, the median of {rounds} rounds' ratios (single rounds {:.2}x-{:.2}x)",
        median(&mut ours_ns),
        median(&mut peer_ns),
        median(&mut ratios.clone()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    drop(ours.shutdown(Duration::from_secs(1)));
}
