//! The order flow against the real broker and statsd_exporter: the warehouse view read back
//! from the topics equals the in-process one for the same seed, and the exporter counted
//! what the warehouse holds.
#![cfg(all(feature = "kafka", feature = "statsd"))]

mod common;

use std::time::Duration;

use common::services;
use event_runtime::StatsdConfig;
use multi_dispatch_events::order_flow::live::{run_live, Live};
use multi_dispatch_events::order_flow::{self, simulate::Scenario};

#[test]
fn the_warehouse_view_from_kafka_equals_the_in_process_one() {
    let run = services::run_id();
    let scenario = Scenario {
        orders: 400,
        seed: 11,
        run_id: 0,
    };
    let live_scenario = Scenario {
        run_id: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        ..scenario
    };
    let live = Live {
        kafka: Some(services::kafka_bootstrap()),
        // The Unix datagram socket, not UDP: it holds the sender back when the exporter
        // falls behind, where UDP drops datagrams on a loaded machine (a CI run counted 58
        // of 65 failures) and the exact count below would then be the kernel's, not ours.
        statsd: Some(StatsdConfig::unix(services::statsd_unixgram()).constant_tag("run", &run)),
    };
    let live = run_live(live_scenario, &live, |_, _| {}).unwrap();
    let in_process = order_flow::run_in_process(scenario, |_, _| {});

    assert!(live.outcome.consistent());
    assert_eq!(live.outcome.warehouse, in_process.warehouse);
    assert_eq!(live.report.undelivered(), 0);

    // statsd_exporter counted as many failed payments as the warehouse holds.
    let failures: u64 = in_process.warehouse.failures.values().sum();
    let total = |text: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("payment_failed{") && l.contains(&format!("run=\"{run}\"")))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    };
    let text =
        services::eventually_metrics(Duration::from_secs(10), |t| total(t) == failures as f64);
    assert_eq!(total(&text), failures as f64);
}
