//! Client-side aggregation (on by default): exact counter totals per tag combination, value
//! metrics summed, kept last or packed into multi-value lines with every sample, all sent
//! every interval, at flush, at shutdown and on drop.

mod common;

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Market, PaymentAttempted, Platform};
use event_runtime::{Dispatcher, Event, MetricSink, RecordingSink, SinkStats, Tag};

fn counter_lines(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.contains("|c")).collect()
}

#[test]
fn totals_per_tag_combination_are_exact() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let events = &events;
            scope.spawn(move || {
                for i in 0..3000usize {
                    let mut e = common::design_example();
                    e.market = Market::from_index((i + thread) % 3).unwrap();
                    e.platform = Platform::from_index(i % 2).unwrap();
                    e.first_order = i % 5 == 0;
                    events.publish(&e);
                }
            });
        }
    });
    // Nothing is sent per publish for the counter; only full lines of distribution samples.
    assert!(counter_lines(&recording.statsd_lines()).is_empty());
    events.shutdown(Duration::from_secs(1)).unwrap();

    let lines = recording.statsd_lines();
    let counters = counter_lines(&lines);
    let total: u64 = counters
        .iter()
        .map(|l| {
            l.split_once(':')
                .unwrap()
                .1
                .split_once('|')
                .unwrap()
                .0
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 12_000);
    // 3 markets x 2 platforms x 2 first_order values were used.
    assert_eq!(counters.len(), 12);
    // The uk/android/first_order=true cell: i % 3 == (3 - thread) % 3, i even, i % 5 == 0.
    let expected: usize = (0..4)
        .map(|thread| {
            (0..3000usize)
                .filter(|i| (i + thread) % 3 == 0 && i % 2 == 0 && i % 5 == 0)
                .count()
        })
        .sum();
    assert!(
        counters.contains(&&format!(
            "payment.attempted:{expected}|c|#market:uk,platform:android,first_order:true"
        )),
        "{counters:#?}"
    );
}

#[test]
fn counts_are_sent_every_interval_without_a_flush() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(Some(Duration::from_millis(50)))
        .recording(&recording)
        .build()
        .unwrap();
    events.publish(&common::design_example());
    events.publish(&common::design_example());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while counter_lines(&recording.statsd_lines()).is_empty()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        counter_lines(&recording.statsd_lines()),
        ["payment.attempted:2|c|#market:uk,platform:ios,first_order:true"]
    );
    // The cell was reset: the next interval sends only what came after.
    events.publish(&common::design_example());
    events.flush(Duration::ZERO);
    assert_eq!(
        counter_lines(&recording.statsd_lines())
            .last()
            .unwrap()
            .as_str(),
        "payment.attempted:1|c|#market:uk,platform:ios,first_order:true"
    );
}

#[derive(Event)]
#[event(topic = "clicks", sample_rate = 0.25)]
struct ButtonClicked {
    #[event(tag)]
    platform: Platform,
}

#[test]
fn aggregated_totals_are_exact_even_for_sampled_events() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    for _ in 0..4000 {
        events.publish(&ButtonClicked {
            platform: Platform::Web,
        });
    }
    events.flush(Duration::ZERO);
    assert_eq!(
        recording.statsd_lines(),
        ["button_clicked:4000|c|#platform:web"]
    );
}

#[test]
fn dropping_the_dispatcher_sends_the_last_counts() {
    let recording = RecordingSink::new();
    {
        let events = Dispatcher::builder().recording(&recording).build().unwrap();
        for _ in 0..7 {
            events.publish(&common::design_example());
        }
    }
    assert_eq!(
        counter_lines(&recording.statsd_lines()),
        ["payment.attempted:7|c|#market:uk,platform:ios,first_order:true"]
    );
    assert_eq!(PaymentAttempted::TAG_COMBINATIONS, 18);
}

/// One value metric of each kind.
#[derive(Event)]
#[event(name = "screen.shown", topic = "screens")]
struct ScreenShown {
    #[event(tag)]
    platform: Platform,
    #[event(metric = "count")]
    items: u32,
    #[event(metric = "gauge")]
    cart_size: i64,
    #[event(metric = "histogram")]
    render_ratio: f64,
    #[event(metric = "timing")]
    took: Duration,
    #[event(metric = "distribution")]
    bytes: Option<u64>,
}

#[test]
fn value_metrics_are_summed_kept_last_or_packed_with_every_sample() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    for i in 0..1000u32 {
        events.publish(&ScreenShown {
            platform: if i % 4 == 0 {
                Platform::Web
            } else {
                Platform::Ios
            },
            items: i,
            cart_size: -i64::from(i),
            // NaN cannot be sent to DogStatsD: that sample is left out, and only it.
            render_ratio: if i == 501 { f64::NAN } else { 0.5 },
            took: Duration::from_millis(u64::from(i % 7)),
            bytes: (i % 2 == 0).then_some(1_000_000 + u64::from(i)),
        });
    }
    events.shutdown(Duration::from_secs(1)).unwrap();
    let lines = recording.statsd_lines();
    let of = |metric: &str, platform: &str| -> Vec<&str> {
        let (prefix, suffix) = (
            format!("screen.shown.{metric}:"),
            format!("|#platform:{platform}"),
        );
        lines
            .iter()
            .inspect(|l| assert!(l.len() < 1432, "a line longer than a datagram: {l}"))
            .filter_map(|l| {
                l.strip_prefix(prefix.as_str())?
                    .strip_suffix(suffix.as_str())
            })
            .collect()
    };
    let values = |lines: Vec<&str>, kind: &str| -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| {
                let (values, rest) = l.split_once('|').unwrap();
                assert!(rest.starts_with(kind), "{l}");
                values.split(':').map(str::to_owned).collect::<Vec<_>>()
            })
            .collect()
    };
    let web = (0..1000u32).filter(|i| i % 4 == 0);
    let ios = (0..1000u32).filter(|i| i % 4 != 0);

    // count: one line with the sum; gauge: one line with the last value.
    assert_eq!(
        of("items", "web"),
        [format!("{}|c", web.clone().sum::<u32>())]
    );
    assert_eq!(
        of("items", "ios"),
        [format!("{}|c", ios.clone().sum::<u32>())]
    );
    assert_eq!(of("cart_size", "web"), ["-996|g"]);
    assert_eq!(of("cart_size", "ios"), ["-999|g"]);
    // histogram, timing, distribution: every sample, in publish order, over several lines
    // when they do not fit one.
    let ratios = values(of("render_ratio", "ios"), "h");
    assert_eq!(ratios.len(), ios.clone().count() - 1);
    assert!(ratios.iter().all(|v| v == "0.5"));
    assert_eq!(
        values(of("took", "web"), "ms"),
        web.clone().map(|i| (i % 7).to_string()).collect::<Vec<_>>()
    );
    let bytes = values(of("bytes", "ios"), "d");
    assert_eq!(
        bytes,
        ios.clone()
            .filter(|i| i % 2 == 0)
            .map(|i| (1_000_000 + i).to_string())
            .collect::<Vec<_>>()
    );
    assert!(of("bytes", "ios").len() > 1, "the samples span lines");
}

/// A metric sink that notes which thread sent each line. Its first call from the
/// aggregation thread can be held until the test lets it go.
#[derive(Clone, Default)]
struct LinesByThread {
    lines: Arc<Mutex<Vec<(String, String)>>>,
    hold: Option<Arc<AggregationThreadHold>>,
}

/// Says when the aggregation thread entered the sink, then waits to be let go: once.
type AggregationThreadHold = Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>;

const AGGREGATION_THREAD: &str = "event-runtime aggregation";

impl MetricSink for LinesByThread {
    fn name(&self) -> &'static str {
        "lines-by-thread"
    }

    fn send_lines(&self, lines: &str) {
        let thread = std::thread::current().name().unwrap_or("").to_owned();
        if let Some(hold) = self.hold.as_ref().filter(|_| thread == AGGREGATION_THREAD) {
            let first = hold.lock().unwrap().take();
            if let Some((entered, release)) = first {
                entered.send(()).unwrap();
                release.recv().unwrap();
            }
        }
        let mut sent = self.lines.lock().unwrap();
        sent.extend(lines.split('\n').map(|l| (thread.clone(), l.to_owned())));
    }

    fn flush(&self, _: Duration) {}

    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

impl LinesByThread {
    fn taken(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

/// A dispatcher whose aggregation interval (an hour) never comes in a test, so only full
/// lines, a flush or the shutdown send anything.
fn dispatcher_sending_to(sink: &LinesByThread) -> Dispatcher {
    Dispatcher::builder()
        .aggregate_metrics(Some(Duration::from_secs(3600)))
        .metric_sink(sink.clone())
        .build()
        .unwrap()
}

/// The samples that fill a slot (`SLOT_BYTES` in `event-runtime`'s aggregation).
const SAMPLES_PER_SLOT: usize = 128;

/// A full slot's lines: the text of 128 samples of `1250`, 639 bytes, is one.
const LINES_PER_SLOT: usize = 1;

/// How many full slots the aggregation thread's spare buffers take (`HANDOFF_BUFFERS`),
/// and at how many waiting a publish wakes it.
const SPARES: usize = 128;
const WAKE_AT: usize = SPARES / 2;

fn sample_count(lines: &[(String, String)]) -> usize {
    lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("payment.attempted.amount_pence:"))
        .map(|l| l.split('|').next().unwrap().split(':').count())
        .sum()
}

#[test]
fn full_lines_of_samples_are_sent_by_the_aggregation_thread_not_the_publishing_one() {
    let sink = LinesByThread::default();
    let events = dispatcher_sending_to(&sink);
    let event = common::design_example();
    for _ in 0..(WAKE_AT - 1) * SAMPLES_PER_SLOT {
        events.publish(&event);
    }
    // 63 full slots wait for the aggregation thread, which is woken at 64.
    assert_eq!(sink.taken(), []);
    for _ in 0..SAMPLES_PER_SLOT {
        events.publish(&event);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = Vec::new();
    while sent.len() < WAKE_AT * LINES_PER_SLOT && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        sent.extend(sink.taken());
    }
    assert_eq!(sent.len(), WAKE_AT * LINES_PER_SLOT, "{sent:?}");
    assert!(
        sent.iter().all(|(thread, _)| thread == AGGREGATION_THREAD),
        "{sent:?}"
    );
    assert_eq!(sample_count(&sent), WAKE_AT * SAMPLES_PER_SLOT);
    drop(events.shutdown(Duration::from_secs(1)));
}

/// A dispatcher whose aggregation thread was woken by `WAKE_AT` full slots, took them, and
/// is held in the sink, sending the first of their lines, until `let_go` is sent.
fn aggregation_thread_held_in_the_sink() -> (LinesByThread, Dispatcher, mpsc::Sender<()>) {
    let (entered, on_enter) = mpsc::channel();
    let (let_go, release) = mpsc::channel();
    let sink = LinesByThread {
        lines: Default::default(),
        hold: Some(Arc::new(Mutex::new(Some((entered, release))))),
    };
    let events = dispatcher_sending_to(&sink);
    let event = common::design_example();
    for _ in 0..WAKE_AT * SAMPLES_PER_SLOT {
        events.publish(&event);
    }
    on_enter.recv_timeout(Duration::from_secs(10)).unwrap();
    (sink, events, let_go)
}

#[test]
fn a_burst_that_takes_every_spare_buffer_writes_its_lines_itself_and_keeps_every_sample() {
    let (sink, events, let_go) = aggregation_thread_held_in_the_sink();
    let event = common::design_example();
    // The other 64 spares take 64 more; the 129th full slot finds none left, so its
    // publish writes its line at once.
    for _ in 0..(SPARES - WAKE_AT + 1) * SAMPLES_PER_SLOT + 7 {
        events.publish(&event);
    }
    let sent = sink.taken();
    assert_eq!(sent.len(), LINES_PER_SLOT, "{sent:?}");
    let this_thread = std::thread::current().name().unwrap().to_owned();
    assert!(
        sent.iter().all(|(thread, _)| *thread == this_thread),
        "{sent:?}"
    );
    assert_eq!(sample_count(&sent), SAMPLES_PER_SLOT);

    let_go.send(()).unwrap();
    events.shutdown(Duration::from_secs(1)).unwrap();
    let mut all = sent;
    all.extend(sink.taken());
    let total = (SPARES + 1) * SAMPLES_PER_SLOT + 7;
    assert_eq!(sample_count(&all), total);
    assert!(
        all.iter().all(|(_, l)| l.len() < 1432),
        "a line longer than a datagram"
    );
    let counter = format!("payment.attempted:{total}|c|#market:uk,platform:ios,first_order:true");
    assert!(all.iter().any(|(_, l)| *l == counter), "{all:?}");
}

/// A flush sends every sample published before it, those the aggregation thread has taken
/// and is still sending included: it waits for them.
#[test]
fn a_flush_waits_for_the_lines_the_aggregation_thread_is_sending() {
    let (sink, events, let_go) = aggregation_thread_held_in_the_sink();
    std::thread::scope(|scope| {
        let flushing = scope.spawn(|| {
            events.flush(Duration::from_secs(10));
            sample_count(&sink.taken())
        });
        // Time for a flush that did not wait to return with the samples missing; one that
        // waits returns only once the aggregation thread is let go.
        std::thread::sleep(Duration::from_millis(100));
        let_go.send(()).unwrap();
        assert_eq!(flushing.join().unwrap(), WAKE_AT * SAMPLES_PER_SLOT);
    });
    events.shutdown(Duration::from_secs(1)).unwrap();
}
