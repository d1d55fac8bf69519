//! Our aggregated DogStatsD output and that of `metrics` with `metrics-exporter-dogstatsd`,
//! the other client that aggregates, read by statsd_exporter: for the same events, each
//! counter series and each distribution's count and sum come out the same, tag for tag.
//! Its own test binary: the `metrics` recorder is the process's.
#![cfg(feature = "statsd")]

mod common;

use std::time::Duration;

use common::services;
use event_runtime::{Dispatcher, Event, StatsdConfig, Tag};
use metrics::Label;
use metrics_exporter_dogstatsd::DogStatsDBuilder;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "peer-test")]
struct PaymentAttempted {
    user_id: String,
    #[event(tag)]
    market: Market,
    #[event(tag)]
    first_order: bool,
    #[event(metric = "distribution")]
    amount_pence: u64,
}

#[test]
fn both_clients_give_statsd_exporter_the_same_series_for_the_same_events() {
    let run = services::run_id();
    let udp = services::statsd_udp();
    let ours = Dispatcher::builder()
        .statsd(
            StatsdConfig::udp(&udp)
                .prefix("ours")
                .constant_tag("run", &run),
        )
        .build()
        .unwrap();
    DogStatsDBuilder::default()
        .with_remote_address(&udp)
        .unwrap()
        .set_global_prefix("peer")
        .with_global_labels(vec![Label::new("run", run.clone())])
        .with_telemetry(false)
        .with_flush_interval(Duration::from_millis(100))
        .install()
        .unwrap();

    let events: Vec<PaymentAttempted> = (0..600u64)
        .map(|i| PaymentAttempted {
            user_id: format!("u-{i}"),
            market: Market::from_index((i % 3) as usize).unwrap(),
            first_order: i % 4 == 0,
            amount_pence: 100 + i * 7 % 900,
        })
        .collect();
    for event in &events {
        ours.publish(event);
        let labels = [
            ("market", event.market.value()),
            (
                "first_order",
                if event.first_order { "true" } else { "false" },
            ),
        ];
        metrics::counter!("payment.attempted", &labels).increment(1);
        metrics::histogram!("payment.attempted.amount_pence", &labels)
            .record(event.amount_pence as f64);
    }
    ours.shutdown(Duration::from_secs(5)).unwrap();

    let combinations: Vec<(&str, &str)> = ["uk", "fr", "it"]
        .into_iter()
        .flat_map(|m| [(m, "true"), (m, "false")])
        .collect();
    let expected = |market: &str, first: &str| {
        events
            .iter()
            .filter(|e| e.market.value() == market && e.first_order.to_string() == first)
            .map(|e| e.amount_pence)
            .collect::<Vec<_>>()
    };
    let series = |text: &str, side: &str, metric: &str, market: &str, first: &str| {
        services::exported_value(
            text,
            &format!("{side}_payment_attempted{metric}"),
            &[("market", market), ("first_order", first), ("run", &run)],
        )
    };
    let text = services::eventually_metrics(Duration::from_secs(30), |text| {
        combinations.iter().all(|(market, first)| {
            let n = expected(market, first).len() as f64;
            ["ours", "peer"].iter().all(|side| {
                series(text, side, "", market, first) == Some(n)
                    && series(text, side, "_amount_pence_count", market, first) == Some(n)
            })
        })
    });
    for (market, first) in &combinations {
        let samples = expected(market, first);
        assert!(!samples.is_empty());
        let sum = samples.iter().sum::<u64>() as f64;
        for side in ["ours", "peer"] {
            assert_eq!(
                series(&text, side, "", market, first),
                Some(samples.len() as f64),
                "{side} counter {market}/{first}"
            );
            assert_eq!(
                series(&text, side, "_amount_pence_count", market, first),
                Some(samples.len() as f64),
                "{side} distribution count {market}/{first}"
            );
            assert_eq!(
                series(&text, side, "_amount_pence_sum", market, first),
                Some(sum),
                "{side} distribution sum {market}/{first}"
            );
        }
    }
}
