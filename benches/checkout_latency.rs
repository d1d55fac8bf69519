//! What publishing adds to a service's request latency: the checkout service
//! (`src/checkout_service.rs`, axum on tokio) serves the same requests with publishing on
//! and off, on two listeners in one process, and a client on its own thread sends them on
//! loopback at a fixed rate, one keep-alive connection per listener. Each latency runs
//! from the request's scheduled send time to its whole response, so a stall delays the
//! requests behind it too (no coordinated omission).
//!
//! With publishing on, every request publishes two events through the global dispatcher to
//! the real sinks: DogStatsD (aggregated, to a local UDP socket) and Kafka
//! (`KAFKA_BOOTSTRAP_SERVERS`, the test broker on the same two cores).
//!
//! Two schedules, each `BENCH_ROUNDS` rounds (21 by default) of `BENCH_REQUESTS` requests
//! (2,000) at `BENCH_RATE` requests per second (2,000):
//! - whole rounds per side, taking turns: a side's requests meet only the background work
//!   its own publishing makes (librdkafka's threads, and the broker's JVM answering them),
//!   so the added latency includes the broker's work on the service's cores;
//! - requests alternating between the sides: both sides meet the same background work, so
//!   the added latency is what the publish calls add to the request.
//!
//! The service also times its handler (a middleware around the router), from the request's
//! arrival in the router to its response leaving it: what publishing adds there is the
//! publish calls and building the events, without the loopback, the client and the
//! scheduling of the client's thread around them, whose jitter on this machine hides a
//! 5 µs difference at the request's p99 (the control, `BENCH_CONTROL` below, shows by how
//! much). The handler's own tail still meets the background work on the same cores (a
//! preemption inside it counts).
//!
//! Prints p50, p99 and p99.9 per side, as the client sees the request and as the handler
//! took, the added latency at each with its 95% interval (resampling pairs of rounds; see
//! [`added_interval`]), and their ratios. To see where added latency comes from,
//! `BENCH_SINKS=statsd` or `=kafka` publishes to one sink only, `BENCH_KAFKA_SET` sets
//! librdkafka properties (`linger.ms=50`; librdkafka's default is 5),
//! `BENCH_BATCH_SCHEDULED=0` leaves the sink's threads under the default scheduling policy
//! (`KafkaConfig::batch_scheduled_threads`), and `BENCH_HANDLER_CPU=1` also times the
//! handler on its thread's CPU ([`HandlerTime::on_cpu`]).
//!
//! `BENCH_CONTROL=both` (both sides publish) or `=none` (neither does) is the control: two
//! sides that do the same, so each "added" figure and its interval is what this machine
//! resolves, the smallest difference the real comparison could tell from its noise.
//!
//! `BENCH_KAFKA_SET=test.mock.num.brokers=1` swaps the test broker for librdkafka's mock
//! broker, in the bench's own process: a few C threads answering produce requests from
//! memory, in place of a JVM that writes them to disk and collects its garbage on the same
//! two cores. The delivered count is checked either way.

#[path = "common/kafka_settings.rs"]
mod kafka_settings;

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use event_runtime::{Dispatcher, KafkaConfig, StatsdConfig};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use multi_dispatch_events::checkout_service::{router, Publishing};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long the service's handler took for one request, from the request's arrival in the
/// router to its response leaving it.
struct HandlerTime {
    /// By the clock.
    took: Duration,
    /// On its thread's CPU, with `BENCH_HANDLER_CPU=1`: without the time the thread was
    /// switched out meanwhile (preempted by another thread), but with its cache and TLB
    /// misses, and with what the kernel counts to the running thread (interrupts, and on a
    /// VM the host's preemptions of the virtual CPU where the guest cannot tell them
    /// apart). A handler that blocked on a lock would not count the wait, but this one
    /// runs to its end in one poll on one thread. Off by default: the two reads of the
    /// clock are system calls, which add to both sides' handler time by the clock.
    on_cpu: Option<Duration>,
}

/// Whether the handler is timed on its thread's CPU too (`BENCH_HANDLER_CPU=1`).
static TIME_ON_CPU: LazyLock<bool> = LazyLock::new(|| setting("BENCH_HANDLER_CPU", 0) == 1);

/// The handler times of each request a side served, in the order served.
type HandlerTimes = Arc<Mutex<Vec<HandlerTime>>>;

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`, which the kernel
/// keeps to the nanosecond).
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    #[allow(unsafe_code)]
    // SAFETY: `now` is a valid timespec that outlives the call, which only writes to it.
    let read = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(read, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Which of the two sides publish: the comparison, or a control (`BENCH_CONTROL`) whose
/// sides do the same.
#[derive(Clone, Copy)]
enum Sides {
    /// The first side publishes nothing, the second publishes.
    Compared,
    /// Both sides publish (`BENCH_CONTROL=both`) or neither does (`=none`).
    Control { publishing: bool },
}

impl Sides {
    fn from_env() -> Self {
        match std::env::var("BENCH_CONTROL").as_deref() {
            Err(_) => Sides::Compared,
            Ok("both") => Sides::Control { publishing: true },
            Ok("none") => Sides::Control { publishing: false },
            Ok(other) => panic!("BENCH_CONTROL={other}: expected `both` or `none`"),
        }
    }

    fn publishing(self) -> [bool; 2] {
        match self {
            Sides::Compared => [false, true],
            Sides::Control { publishing } => [publishing; 2],
        }
    }

    /// What the report calls each side.
    fn names(self) -> [&'static str; 2] {
        match self {
            Sides::Compared => ["without publishing", "with"],
            Sides::Control { .. } => ["side A", "side B"],
        }
    }
}

/// Serves both sides on a multi-thread runtime of its own; their addresses, and the
/// handler times each side records.
fn serve(sides: Sides) -> ([SocketAddr; 2], [HandlerTimes; 2]) {
    let handler_times: [HandlerTimes; 2] = Default::default();
    let recorders = handler_times.clone();
    let (addresses, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let mut bound = Vec::new();
            for (publishing, times) in sides.publishing().into_iter().zip(recorders) {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                bound.push(listener.local_addr().unwrap());
                let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let timed = router(Publishing(publishing))
                    .layer(axum::middleware::from_fn_with_state(times, time_handler));
                tokio::spawn(async move { axum::serve(listener, timed).await.unwrap() });
            }
            addresses.send([bound[0], bound[1]]).unwrap();
            std::future::pending::<()>().await
        })
    });
    (received.recv().unwrap(), handler_times)
}

/// Times the handler into its side's list (see the module's docs for why).
async fn time_handler(
    State(times): State<HandlerTimes>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let start = Instant::now();
    let on_cpu_start = TIME_ON_CPU.then(|| (thread_cpu_time(), std::thread::current().id()));
    let response = next.run(request).await;
    let on_cpu = on_cpu_start.map(|(cpu_start, thread)| {
        assert_eq!(
            thread,
            std::thread::current().id(),
            "the handler moved threads, so its CPU time would mix two threads'"
        );
        thread_cpu_time() - cpu_start
    });
    let took = start.elapsed();
    times.lock().unwrap().push(HandlerTime { took, on_cpu });
    response
}

async fn connect(address: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

fn uri(i: u64) -> String {
    let market = ["uk", "fr", "it"][(i % 3) as usize];
    let platform = ["android", "ios", "web"][(i / 3 % 3) as usize];
    let method = ["card", "apple-pay", "paypal"][(i / 9 % 3) as usize];
    format!(
        "/checkout?order=o-{i:08}&user=u-{:06}&attempt={}&amount_pence={}&market={market}&platform={platform}&method={method}",
        i % 40_000,
        1 + i % 2,
        500 + i % 7_919
    )
}

/// Waits until `at`: a sleep for most of it, then a spin, as timers are coarser than the
/// interval between requests.
fn wait_until(at: Instant) {
    let left = at.saturating_duration_since(Instant::now());
    if left > Duration::from_micros(200) {
        std::thread::sleep(left - Duration::from_micros(150));
    }
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}

/// Sends `uris` at `interval`, one after the other, request `i` to the side `side(i)`
/// says; each request's latency from its scheduled time, into its side's list.
async fn round(
    senders: &mut [SendRequest<Empty<Bytes>>; 2],
    uris: &[String],
    interval: Duration,
    side: impl Fn(usize) -> usize,
    latencies: &mut [Vec<Duration>; 2],
) {
    let start = Instant::now() + interval;
    for (i, uri) in uris.iter().enumerate() {
        let side = side(i);
        let scheduled = start + interval * i as u32;
        wait_until(scheduled);
        let request = hyper::Request::post(uri.as_str())
            .header(hyper::header::HOST, "127.0.0.1")
            .body(Empty::new())
            .unwrap();
        // A connection takes the next request only once it has finished the last.
        let sender = &mut senders[side];
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success() || status == hyper::StatusCode::PAYMENT_REQUIRED,
            "{status} {body:?}"
        );
        latencies[side].push(scheduled.elapsed());
    }
}

fn sorted(mut durations: Vec<Duration>) -> Vec<Duration> {
    durations.sort();
    durations
}

/// The index of percentile `p` in `len` sorted values.
fn percentile_rank(len: usize, p: f64) -> usize {
    ((len as f64 * p).ceil() as usize).clamp(1, len) - 1
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[percentile_rank(sorted.len(), p)]
}

fn main() {
    let rounds = setting("BENCH_ROUNDS", 21);
    let requests = setting("BENCH_REQUESTS", 2_000);
    let rate = setting("BENCH_RATE", 2_000);
    let interval = Duration::from_secs(1) / rate as u32;
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS").expect(
        "KAFKA_BOOTSTRAP_SERVERS is not set: start the services with `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`",
    );
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sinks = std::env::var("BENCH_SINKS").unwrap_or_else(|_| "both".into());
    let mut builder = Dispatcher::builder().prefix("checkout");
    if sinks != "kafka" {
        builder = builder.statsd(StatsdConfig::udp(agent.local_addr().unwrap().to_string()));
    }
    if sinks != "statsd" {
        let mut kafka = KafkaConfig::new(bootstrap);
        for (k, v) in kafka_settings::pairs() {
            kafka = kafka.set(k, v);
        }
        if setting("BENCH_BATCH_SCHEDULED", 1) == 0 {
            kafka = kafka.batch_scheduled_threads(false);
        }
        builder = builder.kafka(kafka);
    }
    let dispatcher = builder.build().unwrap();
    let guard = event_runtime::set_global(dispatcher)
        .unwrap()
        .with_timeout(Duration::from_secs(60));
    let sides = Sides::from_env();
    let ([without, with], handler_times) = serve(sides);
    // Each side's handler times since the last call: by the clock, and on the CPU.
    let take_handler_times = || {
        handler_times.each_ref().map(|times| {
            let times = std::mem::take(&mut *times.lock().unwrap());
            (
                times.iter().map(|t| t.took).collect::<Vec<_>>(),
                times.iter().filter_map(|t| t.on_cpu).collect::<Vec<_>>(),
            )
        })
    };
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let [whole_rounds, alternating] = client.block_on(async {
        let mut senders = [connect(without).await, connect(with).await];
        let uris: Vec<String> = (0..requests).map(uri).collect();
        // Warm-up: connections, the dispatcher's thread buffers, librdkafka's topic.
        for side in [0, 1] {
            round(
                &mut senders,
                &uris[..200],
                interval,
                |_| side,
                &mut Default::default(),
            )
            .await;
        }
        take_handler_times();
        let mut schedules: [Pairs; 2] = Default::default();
        for r in 0..rounds as usize {
            // Whole rounds: one of each side, back to back, which first taking turns.
            let mut latencies: [Vec<Duration>; 2] = Default::default();
            for side in [r % 2, 1 - r % 2] {
                round(&mut senders, &uris, interval, |_| side, &mut latencies).await;
            }
            schedules[0].add(latencies, take_handler_times());
        }
        for r in 0..rounds as usize {
            let mut latencies: [Vec<Duration>; 2] = Default::default();
            round(
                &mut senders,
                &uris,
                interval,
                |i| (r + i) % 2,
                &mut latencies,
            )
            .await;
            schedules[1].add(latencies, take_handler_times());
        }
        schedules
    });
    let report = guard.shutdown().unwrap();
    if let Some(published) = report.sink("kafka") {
        // Two events per request served with publishing, each side's warm-up of 200 included.
        let served: usize = (0..2)
            .filter(|&side| sides.publishing()[side])
            .map(|side| whole_rounds.served(side) + alternating.served(side) + 200)
            .sum();
        assert_eq!(published.delivered, 2 * served as u64);
    }

    println!(
        "checkout latency at {rate}/s, rounds of {requests} requests, sinks: {sinks}, librdkafka settings [{}]:",
        kafka_settings::text()
    );
    if let Sides::Control { publishing } = sides {
        println!(
            "  control: {} side publishes, so every \"added\" figure is this machine's noise",
            if publishing { "each" } else { "neither" }
        );
    }
    for (schedule, pairs) in [
        ("whole rounds per side, taking turns", &whole_rounds),
        ("requests alternating between the sides", &alternating),
    ] {
        println!(
            "  {schedule} ({} and {} requests):",
            pairs.served(0),
            pairs.served(1)
        );
        let names = sides.names();
        print_added("request, as the client sees it", names, &pairs.request);
        print_added("handler", names, &pairs.handler);
        if *TIME_ON_CPU {
            print_added("handler, on its thread's CPU", names, &pairs.on_cpu);
        }
    }
}

/// One schedule's times, kept per pair of rounds: in whole rounds a round of each side run
/// back to back, alternating one round that serves both. Each entry holds the two sides'.
#[derive(Default)]
struct Pairs {
    /// Each request's latency as the client saw it.
    request: Vec<[Vec<Duration>; 2]>,
    /// The handler's time, by the clock.
    handler: Vec<[Vec<Duration>; 2]>,
    /// The handler's time on its thread's CPU (empty unless `BENCH_HANDLER_CPU=1`).
    on_cpu: Vec<[Vec<Duration>; 2]>,
}

impl Pairs {
    fn add(
        &mut self,
        request: [Vec<Duration>; 2],
        [(handler_a, on_cpu_a), (handler_b, on_cpu_b)]: [(Vec<Duration>, Vec<Duration>); 2],
    ) {
        self.request.push(request);
        self.handler.push([handler_a, handler_b]);
        self.on_cpu.push([on_cpu_a, on_cpu_b]);
    }

    /// The requests `side` served in this schedule.
    fn served(&self, side: usize) -> usize {
        self.request.iter().map(|pair| pair[side].len()).sum()
    }
}

/// Each percentile of both sides (named `names`) over all `pairs`, what the second added to
/// the first's, and the 95% interval of that difference.
fn print_added(what: &str, names: [&str; 2], pairs: &[[Vec<Duration>; 2]]) {
    let side = |side: usize| sorted(pairs.iter().flat_map(|pair| pair[side].clone()).collect());
    let (baseline, publishing) = (side(0), side(1));
    println!("    {what}:");
    for (name, p) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        let (off, on) = (percentile(&baseline, p), percentile(&publishing, p));
        let (low, high) = added_interval(pairs, p);
        println!(
            "      {name:>5}: {} {:>8.1} us, {} {:>8.1} us: added {:>+7.1} us ({:.3}x; 95% interval {low:+.1} to {high:+.1} us)",
            names[0],
            off.as_secs_f64() * 1e6,
            names[1],
            on.as_secs_f64() * 1e6,
            (on.as_secs_f64() - off.as_secs_f64()) * 1e6,
            on.as_secs_f64() / off.as_secs_f64()
        );
    }
}

/// A bootstrap 95% interval, in µs, of the difference between the two sides' percentile
/// `p`: the pairs of rounds resampled with replacement, `RESAMPLES` times, each pair taken
/// whole with both its sides. Rounds, not single requests: this machine's jitter
/// comes in stretches longer than a request, which touch neighbouring requests alike, so
/// resampling requests one by one gave intervals that left out zero in the control
/// (`BENCH_CONTROL`), whose sides do the same. So the interval says how far the difference
/// could move by which stretches of jitter met which side, and a difference inside it is
/// not resolved by this run.
fn added_interval(pairs: &[[Vec<Duration>; 2]], p: f64) -> (f64, f64) {
    const RESAMPLES: usize = 200;
    let mut rng = StdRng::seed_from_u64(11);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let at = |side: &mut Vec<Duration>| {
        let rank = percentile_rank(side.len(), p);
        *side.select_nth_unstable(rank).1
    };
    let mut added: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            a.clear();
            b.clear();
            for _ in 0..pairs.len() {
                let [off, on] = &pairs[rng.random_range(0..pairs.len())];
                a.extend_from_slice(off);
                b.extend_from_slice(on);
            }
            (at(&mut b).as_secs_f64() - at(&mut a).as_secs_f64()) * 1e6
        })
        .collect();
    added.sort_by(f64::total_cmp);
    (
        added[RESAMPLES * 25 / 1000],
        added[RESAMPLES * 975 / 1000 - 1],
    )
}
