//! A food-delivery order flow: a user places an order, the payment provider is called
//! (attempted, then succeeded or failed, with retries), the restaurant gets the order, and
//! a rider collects and delivers it. Every event of one order is keyed by its order id.

pub mod events;
#[cfg(all(feature = "kafka", feature = "statsd"))]
pub mod live;
mod rng;
pub mod simulate;
pub mod users;
pub mod views;
#[cfg(feature = "warehouse")]
pub mod warehouse;

use event_runtime::{header, Dispatcher, RecordedRecord, RecordingSink};

use simulate::{RunSummary, Scenario};
use users::UsersJoin;
use views::{Agreement, MetricsView, WarehouseView};

/// A finished run: what was published and both views of it.
pub struct Outcome {
    /// What the simulation published.
    pub summary: RunSummary,
    /// Counters, from the DogStatsD lines.
    pub metrics: MetricsView,
    /// Facts, from the Kafka payloads.
    pub warehouse: WarehouseView,
    /// Every total both views compute, side by side.
    pub agreements: Vec<Agreement>,
    /// The failures joined with the users replica, from the payloads.
    pub users: UsersJoin,
}

impl Outcome {
    /// Whether the two views agree on every total, and the revenue at risk counts each
    /// order with a failed payment once.
    pub fn consistent(&self) -> bool {
        self.agreements.iter().all(Agreement::holds)
            && self.warehouse.revenue_at_risk_covers_every_failed_order()
    }
}

/// The warehouse view of recorded Kafka records.
pub fn warehouse_of(
    records: &[RecordedRecord],
) -> Result<WarehouseView, event_runtime::DecodeError> {
    WarehouseView::from_payloads(records.iter().map(|r| {
        (
            r.header(header::SCHEMA_NAME).unwrap_or_default(),
            r.payload.as_slice(),
        )
    }))
}

/// The failures among recorded Kafka records joined with the scenario's users replica.
pub fn users_join_of(
    records: &[RecordedRecord],
    scenario: &Scenario,
) -> Result<UsersJoin, event_runtime::DecodeError> {
    UsersJoin::from_payloads(
        records.iter().map(|r| {
            (
                r.header(header::SCHEMA_NAME).unwrap_or_default(),
                r.payload.as_slice(),
            )
        }),
        &users::replica(scenario),
    )
}

/// Runs the scenario with the embedded default: in-process sinks that keep what would
/// have been sent, so no service is needed.
pub fn run_in_process(scenario: Scenario, progress: impl FnMut(u64, u64)) -> Outcome {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .recording(&recording)
        .build()
        .expect("no runtime strings to reject");
    let summary = simulate::run(&events, scenario, progress);
    // Sends the aggregated counters; in-process sinks have nothing else to wait for.
    events.flush(std::time::Duration::ZERO);
    let lines = recording.statsd_lines();
    let metrics = MetricsView::from_lines(lines.iter().map(String::as_str));
    let records = recording.records();
    let warehouse = warehouse_of(&records).expect("our own payloads decode");
    let users = users_join_of(&records, &scenario).expect("our own payloads decode");
    let agreements = views::agreements(&metrics, &warehouse);
    Outcome {
        summary,
        metrics,
        warehouse,
        agreements,
        users,
    }
}
