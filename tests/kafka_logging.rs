//! The Kafka sink's client-level errors and librdkafka's own lines reach the `log` crate:
//! at their level, each error code at most once per 10 s, and with no secret in them.
//! A test binary of its own: it installs the process's one logger.
#![cfg(feature = "kafka")]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use event_runtime::{Dispatcher, Event, KafkaConfig, KafkaSink};

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "logging.probe", topic = "logging-probe")]
struct Probe {
    sequence: u64,
}

/// Every log record, as (level, target, message).
struct Capture(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn client_errors_and_librdkafka_lines_reach_the_log_crate_rate_limited_and_without_secrets() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let secret = format!("pw-{}", common::services::run_id());
    // Nothing listens there: librdkafka reports the broker down every second or so.
    let config = KafkaConfig::new("127.0.0.1:9")
        .set("sasl.username", "loader")
        .set("sasl.password", &secret);
    let sink = Arc::new(KafkaSink::new(&config).unwrap());
    let events = Dispatcher::builder()
        .record_sink(Arc::clone(&sink))
        .build()
        .unwrap();
    for sequence in 0..10 {
        events.publish(&Probe { sequence });
    }
    thread::sleep(Duration::from_secs(4));
    let _ = events.shutdown(Duration::from_millis(300));

    let captured = CAPTURE.0.lock().unwrap().clone();
    let ours: Vec<_> = captured
        .iter()
        .filter(|(_, target, _)| target == "event_runtime::kafka")
        .collect();
    assert!(
        captured
            .iter()
            .all(|(_, _, message)| !message.contains(&secret)),
        "a log line carries the secret"
    );
    let mut logged_per_code: BTreeMap<&str, u64> = BTreeMap::new();
    for (level, _, message) in &ours {
        if let Some(rest) = message.strip_prefix("Kafka client error ") {
            let code = rest.split(' ').next().unwrap();
            *logged_per_code.entry(code).or_default() += 1;
            // A broker that is down delays records; it is a warning, not an error.
            assert_eq!(*level, log::Level::Warn, "{message}");
        }
    }
    let errors = sink.client_errors();
    assert!(
        !logged_per_code.is_empty(),
        "no client error was logged: {ours:?}"
    );
    for (code, logged) in &logged_per_code {
        assert_eq!(*logged, 1, "{code} was logged {logged} times within 4 s");
        assert!(
            errors.contains_key(*code),
            "{code} logged but not counted: {errors:?}"
        );
    }
    assert!(
        errors.values().any(|e| e.count > 1),
        "librdkafka repeated none of its errors within 4 s, so the rate limit went untested: {errors:?}"
    );
}
