//! The order-flow program's core: both views agree, a seed replays the same story, the
//! check notices when a view is missing data, and the figures of tiny scenarios are the
//! ones worked out by hand.

use event_runtime::{header, Dispatcher, RecordedRecord, RecordingSink};
use multi_dispatch_events::order_flow::fold::PayloadFold;
use multi_dispatch_events::order_flow::simulate::Scenario;
use multi_dispatch_events::order_flow::views::{self, MetricsView, WarehouseView};
use multi_dispatch_events::order_flow::{self, clock};

fn fold_of(records: &[RecordedRecord]) -> PayloadFold {
    PayloadFold::of(records.iter().map(|r| {
        (
            r.header(header::SCHEMA_NAME).unwrap_or_default(),
            r.payload.as_slice(),
        )
    }))
    .unwrap()
}

fn warehouse_of(records: &[RecordedRecord]) -> WarehouseView {
    fold_of(records).warehouse()
}

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
    let placed = outcome.summary.orders;
    assert_eq!(outcome.metrics.count("order.placed", &[]), placed);
    assert_eq!(outcome.warehouse.events["order.placed"], placed);
    // Per event; attempts and failures per market and platform, over the run and in each
    // minute of the evening; minutes paged and incident minutes caught per threshold.
    assert_eq!(
        outcome.agreements.len(),
        7 + 2 * 9 + clock::EVENING_MINUTES as usize * 2 * 9 + 2 * 4
    );
    assert!(outcome.summary.reorders > 0);
    assert_eq!(outcome.summary.orders, 500 + outcome.summary.reorders);
}

#[test]
fn the_story_has_the_bug_and_both_kinds_of_victims() {
    let w = run(3000, 7).warehouse;
    assert!(w.invalid_token_users > 0);
    assert!(w.transient_orders > 0, "some users recover on retry");
    assert!(w.blocked_orders > 0, "some users never pay");
    assert!(
        w.failures_per_user.range(3..).map(|(_, n)| n).sum::<u64>() > 0,
        "some users fail repeatedly: {:?}",
        w.failures_per_user
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
    let warehouse = warehouse_of(&recording.records());
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
    let outcome = order_flow::run_in_process(
        Scenario {
            orders: 50,
            seed: 5,
            run_id: 0,
        },
        |done, total| calls.push((done, total)),
    );
    let orders = outcome.summary.orders;
    assert!(orders > 50, "the evening's 50 and the reorders");
    assert_eq!(calls.len() as u64, orders);
    assert_eq!(calls[49], (50, 50));
    assert_eq!(calls.last(), Some(&(orders, orders)));
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

    let w = warehouse_of(&recording.records());
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

/// Publishes one order: placed at `placed_at` by `user`, paid or refused at each attempt
/// in turn (`true`: paid), with a basket of `pence`.
fn publish_order(
    events: &Dispatcher,
    order: &str,
    user: &str,
    placed_at: std::time::SystemTime,
    pence: u64,
    attempts: &[bool],
) {
    use multi_dispatch_events::order_flow::events::*;
    use std::time::Duration;
    let (market, platform, method) = (Market::Uk, Platform::Ios, PaymentMethod::Card);
    events.publish(&OrderPlaced {
        order_id: order.into(),
        user_id: user.into(),
        restaurant_id: "r-1".into(),
        market,
        platform,
        basket_pence: pence,
        line_items: Vec::new(),
        delivery: DeliveryAddress {
            postcode: "N1".into(),
            city: "London".into(),
        },
        placed_at,
    });
    for (n, paid) in attempts.iter().enumerate() {
        let attempt = n as u32 + 1;
        events.publish(&PaymentAttempted {
            order_id: order.into(),
            user_id: user.into(),
            attempt,
            market,
            platform,
            method,
            amount_pence: pence,
        });
        if *paid {
            events.publish(&PaymentSucceeded {
                order_id: order.into(),
                user_id: user.into(),
                attempt,
                market,
                platform,
                method,
                latency: Duration::from_millis(100),
            });
        } else {
            events.publish(&PaymentFailed {
                order_id: order.into(),
                user_id: user.into(),
                attempt,
                provider_code: "E".into(),
                market,
                platform,
                method,
                reason: FailureReason::InvalidToken,
            });
        }
    }
}

/// Three minutes of the evening, worked out by hand:
/// - 18:30, before the incident: ten orders, one refused and never paid (£5.00). Ten
///   attempts, nine paid: 90%, which pages only below 95%.
/// - 19:10, in the incident: `y1` refused then paid (£8.00), `y2` paid. Three attempts, two
///   paid: 66.7%, which pages at every threshold.
/// - 19:20, in the incident: `z1` refused then paid (£20.00), nine others paid. Eleven
///   attempts, ten paid: 90.9%, which pages only below 95%.
///
/// So below 80%, 85% and 90% a monitor pages once, for 19:10, and misses 19:20 with its
/// £20.00 retried order; below 95% it pages three times (once for noise) and misses nothing.
#[test]
fn alert_thresholds_on_a_tiny_evening_are_what_paper_says() {
    use multi_dispatch_events::order_flow::incident::{Payments, Threshold};
    use multi_dispatch_events::order_flow::views::RevenueAtRisk;

    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    for i in 0..10 {
        let paid: &[bool] = if i == 0 { &[false] } else { &[true] };
        let at = clock::at_evening_minute(30, i);
        publish_order(&events, &format!("x{i}"), &format!("ux{i}"), at, 500, paid);
    }
    let at = clock::at_evening_minute(70, 5);
    publish_order(&events, "y1", "uy1", at, 800, &[false, true]);
    publish_order(&events, "y2", "uy2", at, 900, &[true]);
    for i in 0..10 {
        let paid: &[bool] = if i == 0 { &[false, true] } else { &[true] };
        let at = clock::at_evening_minute(80, 59);
        publish_order(&events, &format!("z{i}"), &format!("uz{i}"), at, 2000, paid);
    }

    let incident = fold_of(&recording.records()).incident();
    let total = |label: &str| incident.minutes[label].total();
    assert_eq!(
        incident.minutes.keys().collect::<Vec<_>>(),
        ["2026-03-06 18:30", "2026-03-06 19:10", "2026-03-06 19:20"]
    );
    let payments = |attempts, succeeded, failed| Payments {
        attempts,
        succeeded,
        failed,
    };
    assert_eq!(total("2026-03-06 18:30"), payments(10, 9, 1));
    assert_eq!(total("2026-03-06 19:10"), payments(3, 2, 1));
    assert_eq!(total("2026-03-06 19:20"), payments(11, 10, 1));
    for minute in incident.minutes.values() {
        assert_eq!(
            minute.users_hit, 1,
            "one refused order, by one user, per minute"
        );
    }
    let retried_z1 = RevenueAtRisk {
        retried_orders: 1,
        retried_pence: 2000,
        ..RevenueAtRisk::default()
    };
    let threshold = |percent, minutes_paged, incident_minutes_caught, missed| Threshold {
        percent,
        minutes_paged,
        incident_minutes_caught,
        incident_minutes: 2,
        missed,
    };
    assert_eq!(
        incident.thresholds,
        [
            threshold(80, 1, 1, retried_z1),
            threshold(85, 1, 1, retried_z1),
            threshold(90, 1, 1, retried_z1),
            threshold(95, 3, 2, RevenueAtRisk::default()),
        ]
    );
    assert_eq!(incident.thresholds[3].false_pages(), 1);
}

/// Five users, worked out by hand. First-time users (the replica's first-order date is
/// the evening's): `f1` blocked and never back; `f2` recovered and back on day 3; `f3`
/// unaffected and back on day 40, after the window. Returning users: `r1` unaffected and
/// back twice; `r2` blocked and back on day 27.
///
/// So first-time: blocked 0 of 1, recovered 1 of 1, unaffected 0 of 1; returning:
/// unaffected 1 of 1, blocked 1 of 1.
#[test]
fn reorder_rates_on_a_tiny_scenario_are_what_paper_says() {
    use multi_dispatch_events::order_flow::reorders::{ReorderRate, UserKind};
    use multi_dispatch_events::order_flow::simulate::PaymentOutcome;
    use multi_dispatch_events::order_flow::users::UserRow;
    use std::time::Duration;

    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    let evening = clock::at_evening_minute(10, 0);
    let day = |d: u64| evening + Duration::from_secs(d * 86_400);
    publish_order(&events, "f1-a", "f1", evening, 1000, &[false, false]);
    publish_order(&events, "f2-a", "f2", evening, 1000, &[false, true]);
    publish_order(&events, "f2-b", "f2", day(3), 1000, &[true]);
    publish_order(&events, "f3-a", "f3", evening, 1000, &[true]);
    publish_order(&events, "f3-b", "f3", day(40), 1000, &[true]);
    publish_order(&events, "r1-a", "r1", evening, 1000, &[true]);
    publish_order(&events, "r1-b", "r1", day(1), 1000, &[true]);
    publish_order(&events, "r1-c", "r1", day(2), 1000, &[false]);
    publish_order(&events, "r2-a", "r2", evening, 1000, &[false]);
    publish_order(&events, "r2-b", "r2", day(27), 1000, &[true]);

    let row = |user: &str, first_order_date: &str| UserRow {
        user_id: user.into(),
        signup_date: first_order_date.into(),
        channel: "organic",
        first_order_date: first_order_date.into(),
    };
    let replica = [
        row("f1", "2026-03-06"),
        row("f2", "2026-03-06"),
        row("f3", "2026-03-06"),
        row("r1", "2025-05-01"),
        row("r2", "2025-11-30"),
    ];
    let reorders = fold_of(&recording.records()).reorders(&replica);
    let rate = |users, reordered| ReorderRate { users, reordered };
    use PaymentOutcome::*;
    use UserKind::*;
    assert_eq!(
        reorders.rates,
        [
            ((FirstTime, Unaffected), rate(1, 0)),
            ((FirstTime, Recovered), rate(1, 1)),
            ((FirstTime, Blocked), rate(1, 0)),
            ((Returning, Unaffected), rate(1, 1)),
            ((Returning, Blocked), rate(1, 1)),
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn the_incident_shows_in_the_success_rate_and_first_failures_keep_users_away() {
    let outcome = run(6_000, 7);
    let thresholds = &outcome.incident.thresholds;
    // A stricter threshold pages more and misses less.
    for pair in thresholds.windows(2) {
        assert!(pair[0].minutes_paged <= pair[1].minutes_paged, "{pair:?}");
        assert!(
            pair[0].missed.retried_pence + pair[0].missed.blocked_pence
                >= pair[1].missed.retried_pence + pair[1].missed.blocked_pence,
            "{pair:?}"
        );
    }
    assert!(thresholds[0].incident_minutes_caught > 0, "{thresholds:?}");
    assert!(
        thresholds[0].incident_minutes_caught < thresholds[0].incident_minutes,
        "the mildest threshold misses the start of the incident: {thresholds:?}"
    );
    use multi_dispatch_events::order_flow::reorders::UserKind::FirstTime;
    use multi_dispatch_events::order_flow::simulate::PaymentOutcome::*;
    let share = |outcome_: _| {
        let r = outcome.reorders.rate(FirstTime, outcome_);
        r.reordered as f64 / r.users.max(1) as f64
    };
    assert!(
        share(Blocked) < share(Recovered) && share(Recovered) < share(Unaffected),
        "{:?}",
        outcome.reorders
    );
}
