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

/// Four orders whose revenue at risk is worked out by hand:
/// - `a` (uk, £10.00): invalid_token, then declined, then paid: retried, under invalid_token;
/// - `b` (fr, £25.00): declined, then invalid_token, never paid: blocked, under declined;
/// - `c` (uk, £7.00): invalid_token, never paid: blocked, under invalid_token;
/// - `d` (it, £12.00): paid at once: not at risk.
#[test]
fn revenue_at_risk_on_a_tiny_scenario_is_what_paper_says() {
    use multi_dispatch_events::order_flow::events::*;
    use multi_dispatch_events::order_flow::views::RevenueAtRisk;
    use std::time::Duration;

    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    let attempt = |order: &str, market, attempt, amount_pence| PaymentAttempted {
        order_id: order.into(),
        user_id: format!("user-{order}"),
        attempt,
        market,
        platform: Platform::Web,
        method: PaymentMethod::Card,
        amount_pence,
    };
    let failed = |order: &str, market, attempt, reason| PaymentFailed {
        order_id: order.into(),
        user_id: format!("user-{order}"),
        attempt,
        provider_code: "E".into(),
        market,
        platform: Platform::Web,
        method: PaymentMethod::Card,
        reason,
    };
    let paid = |order: &str, market, attempt| PaymentSucceeded {
        order_id: order.into(),
        user_id: format!("user-{order}"),
        attempt,
        market,
        platform: Platform::Web,
        method: PaymentMethod::Card,
        latency: Duration::from_millis(100),
    };
    use FailureReason::*;
    use Market::*;
    for (n, reason) in [InvalidToken, Declined].into_iter().enumerate() {
        events.publish(&attempt("a", Uk, n as u32 + 1, 1000));
        events.publish(&failed("a", Uk, n as u32 + 1, reason));
    }
    events.publish(&attempt("a", Uk, 3, 1000));
    events.publish(&paid("a", Uk, 3));
    // b's failures arrive out of attempt order: the first failure is still attempt 1's.
    events.publish(&attempt("b", Fr, 1, 2500));
    events.publish(&attempt("b", Fr, 2, 2500));
    events.publish(&failed("b", Fr, 2, InvalidToken));
    events.publish(&failed("b", Fr, 1, Declined));
    events.publish(&attempt("c", Uk, 1, 700));
    events.publish(&failed("c", Uk, 1, InvalidToken));
    events.publish(&attempt("d", It, 1, 1200));
    events.publish(&paid("d", It, 1));

    let w = warehouse_of(&recording.records()).unwrap();
    let at_risk = |blocked_orders, blocked_pence, retried_orders, retried_pence| RevenueAtRisk {
        blocked_orders,
        blocked_pence,
        retried_orders,
        retried_pence,
    };
    assert_eq!(
        w.revenue_at_risk,
        [
            ((Declined, Fr), at_risk(1, 2500, 0, 0)),
            ((InvalidToken, Uk), at_risk(1, 700, 1, 1000)),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        w.revenue_at_risk_where(|_, market| market == Uk),
        at_risk(1, 700, 1, 1000)
    );
    assert!(w.revenue_at_risk_covers_every_failed_order());
    assert_eq!((w.blocked_orders, w.transient_orders), (2, 1));
}
