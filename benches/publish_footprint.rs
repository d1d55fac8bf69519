//! What one checkout request's publishing touches, counted rather than timed: the
//! instructions, cache lines and pages of the checkout handler's two publish calls
//! (`PaymentAttempted`, then `PaymentSucceeded`, from `src/order_flow`) through the global
//! dispatcher to both sinks, relayed, as in `src/checkout_service.rs`.
//!
//! On a request thread that slept since the last request, every line and page a publish
//! touches may have to be fetched again (BENCHMARKS.md, row 11), so their number is what
//! a change to the publish path can cut, and unlike a time it does not move with whatever
//! else shares the cores. `scripts/bench-footprint` runs this under valgrind's lackey,
//! which traces every instruction and memory access, and counts those between two marker
//! loads: this prints the markers' addresses, and the address of a function from which the
//! script finds where the binary was loaded, and of a local, to tell the stack.
//!
//! Each of `BENCH_REQUESTS` requests (40, the first half a warm-up) sleeps 500 µs, as a
//! worker at 2,000 requests a second, then publishes the two events, built beforehand and
//! dropped after the second marker, so the window holds the publish calls alone. Needs the
//! broker: `scripts/services.sh start && eval "$(scripts/services.sh env)"`.

use std::net::UdpSocket;
use std::time::Duration;

use event_runtime::{Dispatcher, KafkaConfig, StatsdConfig, Tag};
use multi_dispatch_events::order_flow::events::{
    Market, PaymentAttempted, PaymentMethod, PaymentSucceeded, Platform,
};

/// A cache line of its own, so that its load is the only access to that line.
#[repr(align(64))]
struct Marker(u64);

static BEGIN: Marker = Marker(0);
static END: Marker = Marker(0);

/// Loads `marker`: the trace's sign that a measured window begins or ends.
#[inline(never)]
fn mark(marker: &'static Marker) {
    // SAFETY: a valid, aligned static; the volatile read keeps the load in the binary.
    unsafe { std::ptr::read_volatile(&marker.0) };
}

fn main() {
    let requests = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40u64);
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "KAFKA_BOOTSTRAP_SERVERS is not set: start the services with `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dispatcher = Dispatcher::builder()
        .statsd(StatsdConfig::udp(agent.local_addr().unwrap().to_string()))
        .kafka(KafkaConfig::new(&bootstrap))
        .build()
        .unwrap();
    let guard = event_runtime::set_global(dispatcher).unwrap();
    println!(
        "footprint markers: begin {:p} end {:p} mark {:p} stack {:p}",
        &BEGIN.0, &END.0, mark as fn(&'static Marker), &requests
    );
    for i in 0..requests {
        let (market, platform, method) = (
            Market::from_index((i % 3) as usize).unwrap(),
            Platform::from_index((i / 3 % 3) as usize).unwrap(),
            PaymentMethod::from_index((i / 9 % 3) as usize).unwrap(),
        );
        let attempted = PaymentAttempted {
            order_id: format!("o-{i:08}"),
            user_id: format!("u-{:06}", i % 40_000),
            attempt: 1,
            market,
            platform,
            method,
            amount_pence: 500 + i % 7_919,
        };
        let succeeded = PaymentSucceeded {
            order_id: attempted.order_id.clone(),
            user_id: attempted.user_id.clone(),
            attempt: 1,
            market,
            platform,
            method,
            latency: Duration::from_micros(120_000 + i * 1_317 % 80_000),
        };
        std::thread::sleep(Duration::from_micros(500));
        mark(&BEGIN);
        event_runtime::publish(&attempted);
        event_runtime::publish(&succeeded);
        mark(&END);
    }
    let report = guard.shutdown().unwrap();
    assert_eq!(report.undelivered(), 0);
    println!("{requests} requests published");
}
