//! The order-flow program's core: both views agree, a seed replays the same story, and
//! the check notices when a view is missing data.

use event_runtime::{Dispatcher, RecordingSink};
use multi_dispatch_events::order_flow::simulate::Scenario;
use multi_dispatch_events::order_flow::views::{self, MetricsView};
use multi_dispatch_events::order_flow::{self, warehouse_of};

/// The scenario in process, without progress output.
fn run(orders: u64, seed: u64) -> order_flow::Outcome {
    order_flow::run_in_process(
        Scenario {
            orders,
            seed,
            run_id: 0,
        },
        |_, _| {},
    )
}

#[test]
fn the_two_views_agree() {
    let outcome = run(500, 1);
    assert!(
        outcome.consistent(),
        "{:#?}",
        outcome
            .agreements
            .iter()
            .filter(|a| !a.holds())
            .collect::<Vec<_>>()
    );
    assert_eq!(outcome.metrics.count("order.placed", &[]), 500);
    assert_eq!(outcome.warehouse.events["order.placed"], 500);
    assert_eq!(outcome.agreements.len(), 7 + 2 * 9);
}

#[test]
fn the_story_has_the_bug_and_both_kinds_of_victims() {
    let w = run(3000, 7).warehouse;
    assert!(w.invalid_token_users > 0);
    assert!(w.transient_orders > 0, "some users recover on retry");
    assert!(w.blocked_orders > 0, "some users never pay");
    assert!(
        w.failures_per_user.get(&4).copied().unwrap_or(0) > 0,
        "some users fail repeatedly"
    );
    assert_eq!(
        w.failures_per_user.values().sum::<u64>(),
        w.affected_users_total()
    );
}

#[test]
fn a_seed_replays_the_same_orders() {
    let a = run(300, 99);
    let b = run(300, 99);
    let c = run(300, 100);
    assert_eq!(a.warehouse, b.warehouse);
    assert_eq!(a.metrics, b.metrics);
    assert_ne!(a.warehouse, c.warehouse);
}

#[test]
fn the_check_catches_a_lost_metric_line() {
    let recording = RecordingSink::new();
    // One counter line per event, so that losing one line loses exactly one count.
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .recording(&recording)
        .build()
        .unwrap();
    order_flow::simulate::run(
        &events,
        Scenario {
            orders: 200,
            seed: 3,
            run_id: 0,
        },
        |_, _| {},
    );
    let lines = recording.statsd_lines();
    let lost = lines
        .iter()
        .position(|l| l.starts_with("payment.attempted:"))
        .unwrap();
    let metrics = MetricsView::from_lines(
        lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != lost)
            .map(|(_, l)| l.as_str()),
    );
    let warehouse = warehouse_of(&recording.records()).unwrap();
    let broken: Vec<_> = views::agreements(&metrics, &warehouse)
        .into_iter()
        .filter(|a| !a.holds())
        .collect();
    // The lost line counted once in two totals: all attempts, and its market and platform's.
    let line = &lines[lost];
    let tag = |key: &str| {
        line.split(['#', ','])
            .find_map(|t| t.strip_prefix(&format!("{key}:")).map(str::to_owned))
            .unwrap()
    };
    let expected = [
        "payment.attempted events".to_owned(),
        format!("payment.attempted {}/{}", tag("market"), tag("platform")),
    ];
    let mut names: Vec<&str> = broken.iter().map(|a| a.what.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "{broken:#?}"
    );
    assert!(broken.iter().all(|a| a.warehouse == a.metrics + 1));
}

#[test]
fn progress_is_reported_for_every_order() {
    let mut calls = Vec::new();
    order_flow::run_in_process(
        Scenario {
            orders: 50,
            seed: 5,
            run_id: 0,
        },
        |done, total| calls.push((done, total)),
    );
    assert_eq!(calls.len(), 50);
    assert_eq!(calls.last(), Some(&(50, 50)));
}
