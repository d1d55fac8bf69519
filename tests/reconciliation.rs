//! The two stores can be reconciled: what the Kafka sink drops or fails after the event's
//! StatsD counter went out is sent as `events.undelivered`, per event name, and
//! statsd_exporter receives exactly the sink's count.
#![cfg(all(feature = "kafka", feature = "statsd"))]

mod common;

use std::time::Duration;

use common::services;
use event_runtime::{Dispatcher, Event, KafkaConfig, StatsdConfig, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    Fast,
    Slow,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "reconcile.ordered", topic = "reconcile")]
struct Ordered {
    sequence: u64,
    #[event(tag)]
    lane: Lane,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "reconcile.paid", topic = "reconcile")]
struct Paid {
    sequence: u64,
}

#[test]
fn the_undelivered_counter_equals_what_kafka_dropped_and_failed_per_event_name() {
    let run = services::run_id();
    // No broker listens there. librdkafka's queue holds 1,000 and the relay's 8,192 more:
    // the records held fail when shutdown purges them, the rest are dropped when published.
    let kafka = KafkaConfig::new("127.0.0.1:9").set("queue.buffering.max.messages", "1000");
    let events = Dispatcher::builder()
        .prefix("reconcile")
        .kafka(kafka)
        .statsd(StatsdConfig::udp(services::statsd_udp()).constant_tag("run", &run))
        .build()
        .unwrap();
    for sequence in 0..20_000u64 {
        if sequence % 5 < 3 {
            let lane = if sequence % 2 == 0 {
                Lane::Fast
            } else {
                Lane::Slow
            };
            events.publish(&Ordered { sequence, lane });
        } else {
            events.publish(&Paid { sequence });
        }
    }
    let report = events
        .shutdown(Duration::from_millis(500))
        .unwrap_err()
        .report;
    let kafka = report.sink("kafka").unwrap();
    assert_eq!((kafka.published, kafka.delivered), (20_000, 0));
    // Held, then failed: librdkafka's 1,000, the relay's 8,192 and up to 64 its thread took.
    assert!((9_192..=9_256).contains(&kafka.failed), "{kafka:?}");
    assert_eq!(kafka.dropped + kafka.failed, 20_000);

    let undelivered = |text: &str, event: &str| {
        services::exported_value(
            text,
            "reconcile_events_undelivered",
            &[("event", event), ("sink", "kafka"), ("run", &run)],
        )
    };
    // A name's count may come in more than one line (the purge's failures are counted as
    // librdkafka reports them), and statsd_exporter adds the lines up as they arrive.
    let text = services::eventually_metrics(Duration::from_secs(15), |text| {
        let sum = undelivered(text, "reconcile.ordered").unwrap_or(0.0)
            + undelivered(text, "reconcile.paid").unwrap_or(0.0);
        sum >= (kafka.dropped + kafka.failed) as f64
    });
    let (ordered, paid) = (
        undelivered(&text, "reconcile.ordered"),
        undelivered(&text, "reconcile.paid"),
    );
    assert_eq!(ordered, Some(12_000.0));
    assert_eq!(paid, Some(8_000.0));
    assert_eq!(
        ordered.unwrap() + paid.unwrap(),
        (kafka.dropped + kafka.failed) as f64
    );
    // The events' own counters went out in full, before Kafka answered.
    let counted = |metric: &str, labels: &[(&str, &str)]| {
        services::exported_value(&text, metric, labels).unwrap_or(0.0)
    };
    let ordered_counted = counted(
        "reconcile_reconcile_ordered",
        &[("lane", "fast"), ("run", &run)],
    ) + counted(
        "reconcile_reconcile_ordered",
        &[("lane", "slow"), ("run", &run)],
    );
    assert_eq!(ordered_counted, 12_000.0);
    assert_eq!(
        counted("reconcile_reconcile_paid", &[("run", &run)]),
        8_000.0
    );
}
