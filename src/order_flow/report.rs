//! `order_flow --report FILE.html`: one self-contained page for people who would rather
//! look than read. A Datadog-like chart of the payment success rate per minute from the
//! counters, with the chosen alert threshold and the incident drawn; beside it, the
//! distinct users hit and the revenue at risk per minute from the payloads; then the tables
//! of both views. The charts are inline SVG drawn by `plotters`, and the page fetches
//! nothing: no script, stylesheet, font or image comes from anywhere else.
//!
//! Every number cell carries its exact value in `data-value` (counts, pence, or a rate in
//! basis points), so a test can read the page back and compare it with the views.

use std::fmt::Write;

use event_runtime::{Event, Tag};
use plotters::prelude::*;

use super::clock;
use super::events::*;
use super::incident::{self, Payments};
use super::reorders::UserKind;
use super::simulate::PaymentOutcome;
use super::views::{all, percent, pounds};
use super::Outcome;

/// The threshold drawn on the chart when none is chosen.
pub const DEFAULT_THRESHOLD: u32 = 90;

const WIDTH: u32 = 760;
const HEIGHT: u32 = 300;
const SMALL_HEIGHT: u32 = 140;

/// The page for `outcome`, with the alert threshold `threshold` (in percent) drawn.
pub fn html(outcome: &Outcome, threshold: u32) -> String {
    let mut page = String::new();
    let s = &outcome.summary;
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Order flow: the invalid_token incident</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<h1>Order flow: the <code>invalid_token</code> incident</h1>\n\
         <p class=\"lede\">{} orders ({} reorders in the 28 days after the evening), {} \
         events, published once to DogStatsD and Kafka. The counters say how often; the \
         payloads say who, and what it cost.</p>\n",
        s.orders, s.reorders, s.events
    );
    page.push_str("<div class=\"charts\">\n<section class=\"main\">\n");
    page.push_str(&success_rate_chart(outcome, threshold));
    page.push_str("</section>\n<section class=\"side\">\n");
    page.push_str(&per_minute_chart(
        outcome,
        "Distinct users hit per minute (payloads)",
        |m| m.users_hit as f64,
        |v| format!("{v:.0}"),
    ));
    page.push_str(&per_minute_chart(
        outcome,
        "Revenue at risk per minute (payloads)",
        |m| (m.at_risk.blocked_pence + m.at_risk.retried_pence) as f64 / 100.0,
        |v| format!("£{v:.0}"),
    ));
    page.push_str("</section>\n</div>\n");
    page.push_str(&thresholds_table(outcome, threshold));
    page.push_str(&views_table(outcome));
    page.push_str(&warehouse_table(outcome));
    page.push_str(&revenue_table(outcome));
    page.push_str(&reorders_table(outcome));
    page.push_str(&minutes_table(outcome));
    let _ = write!(
        page,
        "<p class=\"check\">Consistency check: the views agree on {} of {} totals.</p>\n\
         </body>\n</html>\n",
        outcome.agreements.iter().filter(|a| a.holds()).count(),
        outcome.agreements.len()
    );
    page
}

const STYLE: &str =
    "figure{margin:0}body{font-family:sans-serif;margin:2em;color:#222;background:#fff}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}.lede{max-width:60em}\
.charts{display:flex;gap:1em;flex-wrap:wrap}.side{display:flex;flex-direction:column;gap:1em}\
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\
tr.chosen td{background:#fff3cd}.check{margin-top:2em;color:#555}";

/// The success rate a monitor on the counters sees in minute `minute` of the evening.
fn counted(outcome: &Outcome, minute: u32) -> Payments {
    Payments {
        attempts: outcome
            .metrics
            .count_in_minute(minute, PaymentAttempted::NAME, &[]),
        succeeded: outcome
            .metrics
            .count_in_minute(minute, PaymentSucceeded::NAME, &[]),
        failed: outcome
            .metrics
            .count_in_minute(minute, PaymentFailed::NAME, &[]),
    }
}

fn minute_axis_label(minute: &u32) -> String {
    clock::evening_minute_label(*minute)[11..].to_owned()
}

fn success_rate_chart(outcome: &Outcome, threshold: u32) -> String {
    let mut svg = String::new();
    let points: Vec<(u32, f64)> = (0..clock::EVENING_MINUTES)
        .filter_map(|m| {
            let p = counted(outcome, m);
            (p.attempts > 0).then(|| (m, 100.0 * p.succeeded as f64 / p.attempts as f64))
        })
        .collect();
    let lowest = points.iter().map(|(_, r)| *r).fold(100.0, f64::min);
    let floor = (lowest.min(f64::from(threshold)) / 5.0).floor() * 5.0 - 5.0;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "payment success rate per minute (DogStatsD counters)",
                    ("sans-serif", 16),
                )
                .margin(10)
                .x_label_area_size(28)
                .y_label_area_size(44)
                .build_cartesian_2d(0u32..clock::EVENING_MINUTES, floor.max(0.0)..100.0)?;
            chart
                .configure_mesh()
                .x_labels(9)
                .x_label_formatter(&minute_axis_label)
                .y_label_formatter(&|v| format!("{v:.0}%"))
                .light_line_style(RGBColor(240, 240, 240))
                .draw()?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (clock::INCIDENT_STARTS, floor.max(0.0)),
                    (clock::INCIDENT_ENDS, 100.0),
                ],
                RGBColor(214, 39, 40).mix(0.08).filled(),
            )))?;
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    &RGBColor(99, 44, 166),
                ))?
                .label("success rate")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RGBColor(99, 44, 166)));
            chart
                .draw_series(DashedLineSeries::new(
                    [
                        (0, f64::from(threshold)),
                        (clock::EVENING_MINUTES, f64::from(threshold)),
                    ],
                    6,
                    4,
                    RGBColor(214, 39, 40).stroke_width(2),
                ))?
                .label(format!("alert below {threshold}%"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RGBColor(214, 39, 40)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(RGBColor(200, 200, 200))
                .draw()?;
            root.present()?;
            Ok(())
        })();
        drawn.expect("drawing into a string does not fail");
    }
    format!(
        "<figure id=\"success-rate\">{svg}<figcaption>The shaded band is the incident, \
             {} to {}.</figcaption></figure>\n",
        &clock::evening_minute_label(clock::INCIDENT_STARTS)[11..],
        &clock::evening_minute_label(clock::INCIDENT_ENDS)[11..]
    )
}

fn per_minute_chart(
    outcome: &Outcome,
    title: &str,
    value: impl Fn(&incident::Minute) -> f64,
    label: impl Fn(&f64) -> String,
) -> String {
    let points: Vec<(u32, f64)> = (0..clock::EVENING_MINUTES)
        .filter_map(|m| {
            let figures = outcome
                .incident
                .minutes
                .get(&clock::evening_minute_label(m))?;
            Some((m, value(figures)))
        })
        .collect();
    let highest = points.iter().map(|(_, v)| *v).fold(1.0, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH / 2, SMALL_HEIGHT)).into_drawing_area();
        let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 13))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(44)
                .build_cartesian_2d(0u32..clock::EVENING_MINUTES, 0.0..highest)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(4)
                .x_label_formatter(&minute_axis_label)
                .y_label_formatter(&label)
                .light_line_style(RGBColor(240, 240, 240))
                .draw()?;
            chart.draw_series(
                AreaSeries::new(points.iter().copied(), 0.0, RGBColor(31, 119, 180).mix(0.3))
                    .border_style(RGBColor(31, 119, 180)),
            )?;
            root.present()?;
            Ok(())
        })();
        drawn.expect("drawing into a string does not fail");
    }
    format!("<figure>{svg}</figure>\n")
}

/// A number cell: `shown` as text, `value` exact in `data-value`.
fn cell(shown: impl std::fmt::Display, value: u64) -> String {
    format!("<td class=\"n\" data-value=\"{value}\">{shown}</td>")
}

fn count_cell(value: u64) -> String {
    cell(value, value)
}

fn pence_cell(pence: u64) -> String {
    cell(pounds(pence), pence)
}

/// A rate cell, exact in basis points.
fn rate_cell(part: u64, whole: u64) -> String {
    cell(
        percent(part, whole),
        (10_000 * part).checked_div(whole).unwrap_or(0),
    )
}

fn table(id: &str, title: &str, head: &[&str], rows: &[String]) -> String {
    let mut out = format!("<h2>{title}</h2>\n<table id=\"{id}\">\n<tr>");
    for h in head {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out.push_str("</table>\n");
    out
}

fn thresholds_table(outcome: &Outcome, chosen: u32) -> String {
    let rows: Vec<String> = outcome
        .incident
        .thresholds
        .iter()
        .map(|t| {
            let class = if t.percent == chosen {
                " class=\"chosen\""
            } else {
                ""
            };
            format!(
                "<tr{class} data-percent=\"{}\"><td>below {}%</td>{}{}{}{}{}{}</tr>",
                t.percent,
                t.percent,
                count_cell(t.minutes_paged),
                count_cell(t.false_pages()),
                count_cell(t.incident_minutes_caught),
                count_cell(t.incident_minutes),
                pence_cell(t.missed.blocked_pence + t.missed.retried_pence),
                pence_cell(t.missed.blocked_pence),
            )
        })
        .collect();
    table(
        "thresholds",
        "Where should the alert sit?",
        &[
            "page when success is",
            "minutes paged",
            "of them noise",
            "incident minutes caught",
            "incident minutes",
            "revenue at risk in the missed minutes",
            "of it lost",
        ],
        &rows,
    )
}

fn views_table(outcome: &Outcome) -> String {
    let mut rows = Vec::new();
    for name in EVENT_NAMES {
        rows.push(format!(
            "<tr data-what=\"{name}\"><td>{name}</td>{}{}</tr>",
            count_cell(outcome.metrics.count(name, &[])),
            count_cell(outcome.warehouse.events.get(name).copied().unwrap_or(0)),
        ));
    }
    for market in all::<Market>() {
        for platform in all::<Platform>() {
            let tags = [("market", market.value()), ("platform", platform.value())];
            let key = (market, platform);
            let what = format!("payment.failed {}/{}", market.value(), platform.value());
            rows.push(format!(
                "<tr data-what=\"{what}\"><td>{what}</td>{}{}</tr>",
                count_cell(outcome.metrics.count(PaymentFailed::NAME, &tags)),
                count_cell(outcome.warehouse.failures.get(&key).copied().unwrap_or(0)),
            ));
        }
    }
    table(
        "views",
        "Both views: the counters and the payloads",
        &["total", "DogStatsD counters", "Kafka payloads"],
        &rows,
    )
}

fn warehouse_table(outcome: &Outcome) -> String {
    let w = &outcome.warehouse;
    let row = |what: &str, value: u64| format!("<tr><td>{what}</td>{}</tr>", count_cell(value));
    let rows = vec![
        row("users who ordered", w.ordering_users),
        row("users hit by a failed payment", w.affected_users_total()),
        row(
            "orders with a failed payment",
            w.transient_orders + w.blocked_orders,
        ),
        row("of them paid on a retry", w.transient_orders),
        row("of them never paid", w.blocked_orders),
        row("users hit by invalid_token", w.invalid_token_users),
        row("invalid_token failures", w.invalid_token_failures),
    ];
    table(
        "warehouse",
        "What only the payloads can say",
        &["", "Kafka payloads"],
        &rows,
    )
}

fn revenue_table(outcome: &Outcome) -> String {
    let rows: Vec<String> = all::<FailureReason>()
        .map(|reason| {
            let r = outcome
                .warehouse
                .revenue_at_risk_where(|rr, _| rr == reason);
            format!(
                "<tr data-reason=\"{}\"><td>{}</td>{}{}{}{}</tr>",
                reason.value(),
                reason.value(),
                count_cell(r.blocked_orders),
                pence_cell(r.blocked_pence),
                count_cell(r.retried_orders),
                pence_cell(r.retried_pence),
            )
        })
        .collect();
    table(
        "revenue-at-risk",
        "Revenue at risk, by the reason of each order's first failure",
        &["reason", "blocked", "lost", "retried", "recovered"],
        &rows,
    )
}

fn reorders_table(outcome: &Outcome) -> String {
    let mut rows = Vec::new();
    for kind in UserKind::ALL {
        for first in PaymentOutcome::ALL {
            let r = outcome.reorders.rate(kind, first);
            rows.push(format!(
                "<tr data-kind=\"{}\" data-outcome=\"{}\"><td>{}</td><td>{}</td>{}{}{}</tr>",
                kind.label(),
                first.label(),
                kind.label(),
                first.label(),
                count_cell(r.users),
                count_cell(r.reordered),
                rate_cell(r.reordered, r.users),
            ));
        }
    }
    table(
        "reorders",
        "Who came back: the 28-day reorder rate by how the first payment went",
        &["users", "first order", "users", "reordered", "rate"],
        &rows,
    )
}

fn minutes_table(outcome: &Outcome) -> String {
    let rows: Vec<String> = outcome
        .incident
        .minutes
        .iter()
        .map(|(label, m)| {
            let p = m.total();
            format!(
                "<tr data-minute=\"{label}\"><td>{}</td>{}{}{}{}{}</tr>",
                &label[11..],
                count_cell(p.attempts),
                count_cell(p.succeeded),
                rate_cell(p.succeeded, p.attempts),
                count_cell(m.users_hit),
                pence_cell(m.at_risk.blocked_pence + m.at_risk.retried_pence),
            )
        })
        .collect();
    format!(
        "<details>\n<summary>Every minute of the evening</summary>\n{}</details>\n",
        table(
            "minutes",
            "The evening minute by minute (payloads)",
            &[
                "minute",
                "attempts",
                "paid",
                "success rate",
                "users hit",
                "revenue at risk"
            ],
            &rows
        )
    )
}
