//! Client-side counter aggregation (on by default): exact totals per tag combination, sent
//! every interval, at flush, at shutdown and on drop.

mod common;

use std::time::Duration;

use common::{Market, PaymentAttempted, Platform};
use event_runtime::{Dispatcher, Event, RecordingSink, Tag};

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
    // Nothing is sent per publish for the counter; only the distribution lines.
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
        .aggregate_counters(Some(Duration::from_millis(50)))
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
