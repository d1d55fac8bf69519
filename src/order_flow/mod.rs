//! A food-delivery order flow: a user places an order, the payment provider is called
//! (attempted, then succeeded or failed, with retries), the restaurant gets the order, and
//! a rider collects and delivers it. Every event of one order is keyed by its order id.

pub mod clock;
pub mod events;
pub mod fold;
pub mod incident;
#[cfg(all(feature = "kafka", feature = "statsd"))]
pub mod live;
pub mod reorders;
pub mod report;
mod rng;
pub mod simulate;
pub mod users;
pub mod views;
#[cfg(feature = "warehouse")]
pub mod warehouse;

use std::time::Duration;

use event_runtime::{header, Dispatcher, RecordedRecord, RecordingSink};

use fold::{FoldingSink, PayloadFold, PayloadViews};
use incident::Incident;
use reorders::Reorders;
use simulate::{RunSummary, Scenario};
use users::UsersJoin;
use views::{Agreement, MetricsView, WarehouseView};

/// The aggregation interval of the order flow's dispatchers: longer than any run, because
/// the simulated clock flushes at the end of each simulated minute, and a wall-clock flush
/// in the middle of one would split its counters between two minutes.
pub const SIMULATED_CLOCK_FLUSHES: Duration = Duration::from_secs(7 * 86_400);

/// A finished run: what was published and both views of it.
pub struct Outcome {
    /// What the simulation published.
    pub summary: RunSummary,
    /// Counters, from the DogStatsD lines.
    pub metrics: MetricsView,
    /// Facts, from the Kafka payloads.
    pub warehouse: WarehouseView,
    /// Every total both views compute, side by side: over the run, per minute of the
    /// evening, and what each alert threshold pages for.
    pub agreements: Vec<Agreement>,
    /// The failures joined with the users replica, from the payloads.
    pub users: UsersJoin,
    /// The evening minute by minute and the alert thresholds, from the payloads.
    pub incident: Incident,
    /// The 28-day reorder rates, from the payloads and the users replica.
    pub reorders: Reorders,
}

impl Outcome {
    /// Both views of a run, and their agreements.
    pub fn new(summary: RunSummary, metrics: MetricsView, views: PayloadViews) -> Self {
        let mut agreements = views::agreements(&metrics, &views.warehouse);
        agreements.extend(incident::agreements(&metrics, &views.incident));
        Outcome {
            summary,
            metrics,
            warehouse: views.warehouse,
            agreements,
            users: views.users,
            incident: views.incident,
            reorders: views.reorders,
        }
    }

    /// Whether the two views agree on every total, and the revenue at risk counts each
    /// order with a failed payment once.
    pub fn consistent(&self) -> bool {
        self.agreements.iter().all(Agreement::holds)
            && self.warehouse.revenue_at_risk_covers_every_failed_order()
    }
}

/// Every payload figure of recorded Kafka records, the scenario's users replica joined in.
pub fn payload_views_of(
    records: &[RecordedRecord],
    scenario: &Scenario,
) -> Result<PayloadViews, event_runtime::DecodeError> {
    let fold = PayloadFold::of(records.iter().map(|r| {
        (
            r.header(header::SCHEMA_NAME).unwrap_or_default(),
            r.payload.as_slice(),
        )
    }))?;
    Ok(fold.views(&users::replica(scenario)))
}

/// Publishes `scenario` through `events`, reading the counters of each simulated minute
/// from `lines`, which must be one of its metric sinks.
pub fn publish_by_minute(
    events: &Dispatcher,
    lines: &RecordingSink,
    scenario: Scenario,
    progress: impl FnMut(u64, u64),
) -> (RunSummary, MetricsView) {
    let mut metrics = MetricsView::default();
    let summary = simulate::run_with_minutes(events, scenario, progress, |minute| {
        metrics.add_minute(minute, lines.take_statsd_lines().iter().map(String::as_str));
    });
    // The reorders' counters, and the evening's last undelivered counts.
    events.flush(Duration::ZERO);
    metrics.add_lines(lines.take_statsd_lines().iter().map(String::as_str));
    (summary, metrics)
}

/// Runs the scenario with the embedded default: in-process sinks. The counters are read
/// from the lines as they are sent, and the payloads folded as they are published, so no
/// service is needed and no record is kept.
pub fn run_in_process(scenario: Scenario, progress: impl FnMut(u64, u64)) -> Outcome {
    let lines = RecordingSink::new();
    let folding = FoldingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(Some(SIMULATED_CLOCK_FLUSHES))
        .metric_sink(lines.clone())
        .record_sink(folding.clone())
        .build()
        .expect("no runtime strings to reject");
    let (summary, metrics) = publish_by_minute(&events, &lines, scenario, progress);
    let views = folding
        .views(&users::replica(&scenario))
        .expect("our own payloads decode");
    Outcome::new(summary, metrics, views)
}
