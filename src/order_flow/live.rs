//! The order flow against the real services: DogStatsD and Kafka. The warehouse view is
//! then computed from the records consumed back from the topics, not from memory.

use std::time::Duration;

use event_runtime::{
    header, DeliveryReport, Dispatcher, Event, KafkaConfig, RecordingSink, StatsdConfig,
};

use super::events::{OrderPlaced, PaymentAttempted};
use super::fold::PayloadFold;
use super::simulate::Scenario;
use super::users;
use super::{payload_views_of, publish_by_minute, Outcome, SIMULATED_CLOCK_FLUSHES};
use crate::readback::read_topics;

/// Where a live run sends its events; `None` keeps that side in process.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Kafka bootstrap servers.
    pub kafka: Option<String>,
    /// The DogStatsD agent.
    pub statsd: Option<StatsdConfig>,
}

/// A live run's outcome, and the sinks' final counts.
pub struct LiveOutcome {
    /// Both views and their agreement.
    pub outcome: Outcome,
    /// What each sink delivered.
    pub report: DeliveryReport,
}

/// Publishes the scenario to the configured services and reads the Kafka side back.
/// The metrics view is computed from the very lines sent to the agent, kept by a
/// recording sink beside it.
pub fn run_live(
    scenario: Scenario,
    live: &Live,
    progress: impl FnMut(u64, u64),
) -> Result<LiveOutcome, String> {
    let recording = RecordingSink::new();
    let mut builder = Dispatcher::builder()
        .aggregate_metrics(Some(SIMULATED_CLOCK_FLUSHES))
        .metric_sink(recording.clone());
    if let Some(statsd) = &live.statsd {
        builder = builder.statsd(statsd.clone());
    }
    // A burst of orders outruns the broker: what librdkafka's queue has no room for waits
    // in a spool of this run's own, rather than being dropped, and publishing never waits.
    // (Backpressure would also suit a batch job, but the spool is what a service uses.)
    let spool = std::env::temp_dir().join(format!("order-flow-spool-{}", std::process::id()));
    builder = match &live.kafka {
        Some(bootstrap) => builder.kafka(KafkaConfig::new(bootstrap.as_str()).spool(&spool)),
        None => builder.record_sink(recording.clone()),
    };
    let events = builder.build().map_err(|e| e.to_string())?;
    let (summary, metrics) = publish_by_minute(&events, &recording, scenario, progress);
    let report = events
        .shutdown(Duration::from_secs(120))
        .map_err(|e| e.to_string())?;
    // Delivered in full (or `shutdown` said otherwise above): nothing is left in it.
    let _ = std::fs::remove_dir_all(&spool);

    let replica = users::replica(&scenario);
    let views = match &live.kafka {
        Some(bootstrap) => {
            let delivered = report.sink("kafka").map_or(0, |s| s.delivered) as usize;
            let prefix = scenario.order_prefix().into_bytes();
            let records = read_topics(
                bootstrap,
                &[OrderPlaced::TOPIC, PaymentAttempted::TOPIC],
                |r| r.key.as_ref().is_some_and(|k| k.starts_with(&prefix)),
                |kept| kept.len() >= delivered,
                Duration::from_secs(120),
            )
            .map_err(|e| format!("reading the topics back failed: {e}"))?;
            if records.len() != delivered {
                return Err(format!(
                    "read back {} records of the {delivered} delivered",
                    records.len()
                ));
            }
            PayloadFold::of(records.iter().map(|r| {
                (
                    r.header(header::SCHEMA_NAME).unwrap_or_default(),
                    r.payload.as_slice(),
                )
            }))
            .map(|fold| fold.views(&replica))
        }
        None => payload_views_of(&recording.records(), &scenario),
    }
    .map_err(|e| format!("a payload did not decode: {e}"))?;
    Ok(LiveOutcome {
        outcome: Outcome::new(summary, metrics, views),
        report,
    })
}
