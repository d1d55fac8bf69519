//! Where should the alert threshold sit? The evening minute by minute: the payment success
//! rate a monitor on the counters would see, against what the payloads say each minute put
//! at risk. For each threshold: the minutes it would have paged, the incident minutes it
//! caught, and the revenue at risk in the incident minutes it missed.

use std::collections::BTreeMap;

use event_runtime::{Event, Tag};

use super::clock;
use super::events::*;
use super::views::{all, percent, pounds, Agreement, MetricsView, RevenueAtRisk};

/// The success-rate thresholds compared, in percent: a monitor pages for a minute whose
/// rate is below it.
pub const THRESHOLDS: [u32; 4] = [80, 85, 90, 95];

/// Payment attempts and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Payments {
    /// Attempts.
    pub attempts: u64,
    /// Attempts the provider accepted.
    pub succeeded: u64,
    /// Attempts the provider refused.
    pub failed: u64,
}

impl Payments {
    fn add(&mut self, other: &Payments) {
        self.attempts += other.attempts;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
    }

    /// Whether a monitor paging below `threshold` percent success pages for these.
    pub fn pages_below(&self, threshold: u32) -> bool {
        self.attempts > 0 && 100 * self.succeeded < u64::from(threshold) * self.attempts
    }
}

/// One minute of the evening, from the payloads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Minute {
    /// Payment attempts per (market, platform), of the orders placed in the minute.
    pub payments: BTreeMap<(Market, Platform), Payments>,
    /// The revenue at risk of the orders placed in the minute.
    pub at_risk: RevenueAtRisk,
    /// Distinct users with a failed payment among the orders placed in the minute.
    pub users_hit: u64,
}

impl Minute {
    /// The attempts of every market and platform.
    pub fn total(&self) -> Payments {
        let mut total = Payments::default();
        for payments in self.payments.values() {
            total.add(payments);
        }
        total
    }
}

/// What a monitor at one threshold would have done over the evening.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Threshold {
    /// Page below this success rate, in percent.
    pub percent: u32,
    /// Minutes it pages for, incident or not.
    pub minutes_paged: u64,
    /// Incident minutes it pages for.
    pub incident_minutes_caught: u64,
    /// Incident minutes with payments.
    pub incident_minutes: u64,
    /// The revenue at risk of the orders placed in the incident minutes it did not page for.
    pub missed: RevenueAtRisk,
}

impl Threshold {
    /// Minutes it paged for outside the incident: the pages that were noise.
    pub fn false_pages(&self) -> u64 {
        self.minutes_paged - self.incident_minutes_caught
    }
}

/// The evening minute by minute, and every threshold's record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incident {
    /// Minute label (`2026-03-06 19:05`) -> its figures, for every minute with payments.
    pub minutes: BTreeMap<String, Minute>,
    /// One per [`THRESHOLDS`], in that order.
    pub thresholds: Vec<Threshold>,
}

/// Whether the minute labelled `label` is inside the incident.
fn in_incident(label: &str) -> bool {
    let [_, _, starts, ends] = clock::incident_query_bounds();
    label >= starts.as_str() && label < ends.as_str()
}

impl Incident {
    /// The thresholds' records over `minutes`.
    pub fn from_minutes(minutes: BTreeMap<String, Minute>) -> Self {
        let thresholds = THRESHOLDS
            .iter()
            .map(|&percent| {
                let mut threshold = Threshold {
                    percent,
                    ..Threshold::default()
                };
                for (label, minute) in &minutes {
                    let pages = minute.total().pages_below(percent);
                    let incident = in_incident(label);
                    threshold.minutes_paged += u64::from(pages);
                    threshold.incident_minutes += u64::from(incident);
                    threshold.incident_minutes_caught += u64::from(incident && pages);
                    if incident && !pages {
                        threshold.missed.add(&minute.at_risk);
                    }
                }
                threshold
            })
            .collect();
        Incident {
            minutes,
            thresholds,
        }
    }
}

/// What the counters alone say per threshold: `(percent, minutes paged, incident minutes
/// caught)`. This is what the monitor itself computes, from the per-minute counters of
/// `payment.attempted` and `payment.succeeded`.
pub fn paging_from_counters(metrics: &MetricsView) -> Vec<(u32, u64, u64)> {
    THRESHOLDS
        .iter()
        .map(|&percent| {
            let (mut paged, mut caught) = (0, 0);
            for minute in 0..clock::EVENING_MINUTES {
                let payments = Payments {
                    attempts: metrics.count_in_minute(minute, PaymentAttempted::NAME, &[]),
                    succeeded: metrics.count_in_minute(minute, PaymentSucceeded::NAME, &[]),
                    failed: 0,
                };
                if payments.pages_below(percent) {
                    paged += 1;
                    caught += u64::from(clock::in_incident(minute));
                }
            }
            (percent, paged, caught)
        })
        .collect()
}

/// The threshold table and a minute-by-minute strip, as text lines.
pub fn render(incident: &Incident) -> Vec<String> {
    let [_, _, starts, ends] = clock::incident_query_bounds();
    let mut out = vec![
        "WHERE SHOULD THE ALERT SIT? (success rate per minute: counters; revenue: payloads)"
            .to_owned(),
        format!(
            "the invalid_token bug ran from {} to {} ({} minutes with payments)",
            &starts[11..],
            &ends[11..],
            incident
                .thresholds
                .first()
                .map_or(0, |t| t.incident_minutes)
        ),
        String::new(),
        format!(
            "{:<10} {:>6} {:>6} {:>8} {:>18} {:>12}",
            "page below", "paged", "noise", "caught", "missed at risk", "of it lost"
        ),
    ];
    for t in &incident.thresholds {
        out.push(format!(
            "{:<10} {:>6} {:>6} {:>8} {:>18} {:>12}",
            format!("{}%", t.percent),
            t.minutes_paged,
            t.false_pages(),
            format!("{}/{}", t.incident_minutes_caught, t.incident_minutes),
            format!(
                "{} ({})",
                pounds(t.missed.blocked_pence + t.missed.retried_pence),
                t.missed.blocked_orders + t.missed.retried_orders
            ),
            pounds(t.missed.blocked_pence)
        ));
    }
    out.push(String::new());
    out.push("success rate, every 10 minutes (the lowest minute of each ten)".to_owned());
    let labels: Vec<&String> = incident.minutes.keys().collect();
    for chunk in labels.chunks(10) {
        let lowest = chunk
            .iter()
            .map(|l| incident.minutes[*l].total())
            .min_by(|a, b| {
                (a.succeeded * b.attempts.max(1)).cmp(&(b.succeeded * a.attempts.max(1)))
            })
            .unwrap_or_default();
        let at_risk: u64 = chunk
            .iter()
            .map(|l| {
                let r = incident.minutes[*l].at_risk;
                r.blocked_pence + r.retried_pence
            })
            .sum();
        let rate = percent(lowest.succeeded, lowest.attempts);
        // One mark per percentage point above 70%.
        let bar_len = (100 * lowest.succeeded)
            .checked_div(lowest.attempts)
            .map_or(0, |rate| rate.saturating_sub(70) as usize);
        out.push(format!(
            "{} {:>6} {:<30} {:>10} at risk{}",
            &chunk[0][11..],
            rate,
            "#".repeat(bar_len),
            pounds(at_risk),
            if in_incident(chunk[0]) {
                "  incident"
            } else {
                ""
            }
        ));
    }
    out
}

/// Every per-minute total both sides compute (payment attempts and failures per minute,
/// market and platform), and what each threshold pages for.
pub fn agreements(metrics: &MetricsView, incident: &Incident) -> Vec<Agreement> {
    let mut out = Vec::new();
    for minute in 0..clock::EVENING_MINUTES {
        let label = clock::evening_minute_label(minute);
        let figures = incident.minutes.get(&label);
        for market in all::<Market>() {
            for platform in all::<Platform>() {
                let tags = [("market", market.value()), ("platform", platform.value())];
                let payments = figures
                    .and_then(|f| f.payments.get(&(market, platform)))
                    .copied()
                    .unwrap_or_default();
                let what = format!("{label} {}/{}", market.value(), platform.value());
                out.push(Agreement {
                    what: format!("payment.attempted {what}"),
                    metrics: metrics.count_in_minute(minute, PaymentAttempted::NAME, &tags),
                    warehouse: payments.attempts,
                });
                out.push(Agreement {
                    what: format!("payment.failed {what}"),
                    metrics: metrics.count_in_minute(minute, PaymentFailed::NAME, &tags),
                    warehouse: payments.failed,
                });
            }
        }
    }
    for ((percent, paged, caught), t) in paging_from_counters(metrics)
        .into_iter()
        .zip(&incident.thresholds)
    {
        out.push(Agreement {
            what: format!("minutes paged below {percent}%"),
            metrics: paged,
            warehouse: t.minutes_paged,
        });
        out.push(Agreement {
            what: format!("incident minutes caught below {percent}%"),
            metrics: caught,
            warehouse: t.incident_minutes_caught,
        });
    }
    out
}
