//! The order flow's HTML report, read back: every number in its tables is the views'
//! (from each cell's exact `data-value`), it draws its three charts inline, and it refers
//! to nothing outside itself.

use multi_dispatch_events::order_flow::reorders::UserKind;
use multi_dispatch_events::order_flow::report;
use multi_dispatch_events::order_flow::simulate::{PaymentOutcome, Scenario};
use multi_dispatch_events::order_flow::{self, Outcome};
use scraper::{ElementRef, Html, Selector};

fn outcome() -> Outcome {
    order_flow::run_in_process(
        Scenario {
            orders: 3_000,
            seed: 21,
            run_id: 0,
        },
        |_, _| {},
    )
}

fn select(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// The exact values of a row's number cells, in order.
fn values(row: ElementRef<'_>) -> Vec<u64> {
    row.select(&select("td[data-value]"))
        .map(|td| td.value().attr("data-value").unwrap().parse().unwrap())
        .collect()
}

fn rows<'a>(page: &'a Html, table: &str) -> Vec<ElementRef<'a>> {
    page.select(&select(&format!("table#{table} tr:has(td)")))
        .collect()
}

#[test]
fn the_thresholds_table_is_the_incident_view() {
    let outcome = outcome();
    let page = Html::parse_document(&report::html(&outcome, 85));
    let table = rows(&page, "thresholds");
    assert_eq!(table.len(), outcome.incident.thresholds.len());
    for (row, t) in table.iter().zip(&outcome.incident.thresholds) {
        assert_eq!(
            row.value().attr("data-percent"),
            Some(t.percent.to_string().as_str())
        );
        assert_eq!(
            values(*row),
            [
                t.minutes_paged,
                t.false_pages(),
                t.incident_minutes_caught,
                t.incident_minutes,
                t.missed.blocked_pence + t.missed.retried_pence,
                t.missed.blocked_pence,
            ]
        );
        let chosen = row.value().attr("class") == Some("chosen");
        assert_eq!(
            chosen,
            t.percent == 85,
            "only the chosen threshold is marked"
        );
    }
}

#[test]
fn the_minutes_reorders_and_revenue_tables_are_the_views() {
    let outcome = outcome();
    let page = Html::parse_document(&report::html(&outcome, report::DEFAULT_THRESHOLD));

    let minutes = rows(&page, "minutes");
    assert_eq!(minutes.len(), outcome.incident.minutes.len());
    for (row, (label, m)) in minutes.iter().zip(&outcome.incident.minutes) {
        assert_eq!(row.value().attr("data-minute"), Some(label.as_str()));
        let p = m.total();
        assert_eq!(
            values(*row),
            [
                p.attempts,
                p.succeeded,
                10_000 * p.succeeded / p.attempts,
                m.users_hit,
                m.at_risk.blocked_pence + m.at_risk.retried_pence,
            ]
        );
    }

    let reorders = rows(&page, "reorders");
    let mut expected = Vec::new();
    for kind in UserKind::ALL {
        for first in PaymentOutcome::ALL {
            let r = outcome.reorders.rate(kind, first);
            expected.push(vec![
                r.users,
                r.reordered,
                (10_000 * r.reordered).checked_div(r.users).unwrap_or(0),
            ]);
        }
    }
    assert_eq!(
        reorders.into_iter().map(values).collect::<Vec<_>>(),
        expected
    );

    let revenue: Vec<Vec<u64>> = rows(&page, "revenue-at-risk")
        .into_iter()
        .map(values)
        .collect();
    let total = revenue.iter().fold([0; 4], |mut sum, row| {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
        sum
    });
    let w = outcome.warehouse.revenue_at_risk_where(|_, _| true);
    assert_eq!(
        total,
        [
            w.blocked_orders,
            w.blocked_pence,
            w.retried_orders,
            w.retried_pence
        ]
    );
}

#[test]
fn both_views_sit_side_by_side_and_agree() {
    let outcome = outcome();
    let page = Html::parse_document(&report::html(&outcome, report::DEFAULT_THRESHOLD));
    let views = rows(&page, "views");
    assert_eq!(views.len(), 7 + 9);
    for row in views {
        let what = row.value().attr("data-what").unwrap();
        let [counters, payloads] = values(row)[..] else {
            panic!("{what}: two numbers per row");
        };
        assert_eq!(counters, payloads, "{what}");
        if !what.contains(' ') {
            assert_eq!(counters, outcome.metrics.count(what, &[]), "{what}");
        }
    }
    let facts: Vec<u64> = rows(&page, "warehouse")
        .into_iter()
        .flat_map(values)
        .collect();
    let w = &outcome.warehouse;
    assert_eq!(
        facts,
        [
            w.ordering_users,
            w.affected_users_total(),
            w.transient_orders + w.blocked_orders,
            w.transient_orders,
            w.blocked_orders,
            w.invalid_token_users,
            w.invalid_token_failures,
        ]
    );
}

#[test]
fn the_page_draws_its_charts_and_fetches_nothing() {
    let html = report::html(&outcome(), report::DEFAULT_THRESHOLD);
    let page = Html::parse_document(&html);
    assert_eq!(page.select(&select("svg")).count(), 3);
    assert!(
        page.select(&select(
            "#success-rate svg polyline, #success-rate svg path"
        ))
        .count()
            > 0,
        "the success-rate line is drawn"
    );
    assert!(
        html.contains("alert below 90%"),
        "the threshold is labelled"
    );
    for element in page.select(&select("*")) {
        let e = element.value();
        for attribute in ["src", "href", "srcset", "xlink:href"] {
            assert_eq!(e.attr(attribute), None, "<{}> refers outside", e.name());
        }
        assert!(
            !matches!(e.name(), "script" | "link" | "iframe" | "object" | "img"),
            "<{}> in a self-contained page",
            e.name()
        );
    }
    for style in page.select(&select("style")) {
        let css: String = style.text().collect();
        assert!(!css.contains("url(") && !css.contains("@import"), "{css}");
    }
}
