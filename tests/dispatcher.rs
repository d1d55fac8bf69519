//! The dispatcher with the recording sink: what each sink receives, the counts, and the
//! checks on runtime strings.

mod common;

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use common::PaymentAttempted;
use event_runtime::{header, BuildError, Dispatcher, Event, RecordingSink, CONTENT_TYPE_PROTOBUF};

fn recording_dispatcher() -> (RecordingSink, Dispatcher) {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    (recording, events)
}

#[test]
fn the_kafka_record_has_topic_key_headers_and_timestamp() {
    let (recording, events) = recording_dispatcher();
    let before = SystemTime::now();
    events.publish(&common::design_example());
    let after = SystemTime::now();

    let records = recording.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.topic, "payments");
    assert_eq!(record.key.as_deref(), Some(&b"order-1"[..]));
    assert_eq!(record.header(header::EVENT_NAME), Some("payment.attempted"));
    assert_eq!(
        record.header(header::SCHEMA_NAME),
        Some("events.PaymentAttempted")
    );
    assert_eq!(
        record.header(header::CONTENT_TYPE),
        Some(CONTENT_TYPE_PROTOBUF)
    );
    assert_eq!(record.header(header::EVENT_ID).map(str::len), Some(36));
    let millis = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    assert!((millis(before)..=millis(after)).contains(&record.timestamp_millis));
    assert_eq!(
        record.decode::<PaymentAttempted>().unwrap(),
        common::design_example()
    );
}

#[test]
fn event_ids_are_unique_and_time_ordered() {
    let (recording, events) = recording_dispatcher();
    for _ in 0..5000 {
        events.publish(&common::design_example());
    }
    let ids: Vec<String> = recording
        .records()
        .iter()
        .map(|r| r.header(header::EVENT_ID).unwrap().to_owned())
        .collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 5000);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids are not increasing"
    );
}

#[test]
fn counts_add_up_and_shutdown_reports_nothing_lost() {
    let (recording, events) = recording_dispatcher();
    for _ in 0..10 {
        events.publish(&common::design_example());
    }
    let report = events.shutdown(Duration::from_secs(1)).unwrap();
    // The ten counts aggregated into one counter line, and the ten distribution samples
    // into one multi-value line.
    let lines = report.sink("recording-statsd").unwrap();
    assert_eq!((lines.published, lines.delivered), (2, 2));
    let tags = "|#market:uk,platform:ios,first_order:true";
    assert_eq!(
        recording.statsd_lines(),
        [
            format!("payment.attempted:10|c{tags}"),
            format!(
                "payment.attempted.amount_pence{}|d{tags}",
                ":1250".repeat(10)
            ),
        ]
    );
    let records = report.sink("recording-kafka").unwrap();
    assert_eq!((records.published, records.delivered), (10, 10));
    assert_eq!(report.undelivered(), 0);
    assert_eq!(recording.events::<PaymentAttempted>().len(), 10);
}

#[test]
fn a_dispatcher_with_no_sinks_publishes_nothing_and_succeeds() {
    let events = Dispatcher::builder().build().unwrap();
    events.publish(&common::design_example());
    assert_eq!(events.shutdown(Duration::ZERO).unwrap().sinks, []);
}

#[test]
fn invalid_prefixes_are_rejected_at_build() {
    for prefix in ["9lives", "shop|x", "shop.", "shop eu", "shop\nx", "shop:x"] {
        let error = Dispatcher::builder().prefix(prefix).build().err();
        assert!(
            matches!(error, Some(BuildError::InvalidPrefix { .. })),
            "{prefix:?} was accepted"
        );
    }
}

#[test]
fn invalid_constant_tags_are_rejected_with_a_clear_message() {
    for (key, value) in [
        ("env", "Prod"),
        ("env", ""),
        ("env", "a,b"),
        ("env", "a|b"),
        ("Env", "prod"),
        ("1env", "x"),
        ("env", "a:b"),
        ("env", "a\nb"),
    ] {
        let error = Dispatcher::builder().constant_tag(key, value).build().err();
        assert!(
            matches!(error, Some(BuildError::InvalidConstantTag { .. })),
            "{key}:{value} was accepted"
        );
    }
    let error = Dispatcher::builder()
        .constant_tag("env", "Prod")
        .build()
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "constant tag \"env:Prod\" is invalid: it contains the uppercase 'P'; use lowercase; \
         tag keys and values use lowercase ASCII letters, digits, '_', '.', '/' and '-' (check DD_ENV, DD_SERVICE and DD_VERSION)"
    );
}

#[test]
fn publishing_from_many_threads_keeps_every_event() {
    let (recording, events) = recording_dispatcher();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..500 {
                    events.publish(&common::design_example());
                }
            });
        }
    });
    assert_eq!(recording.events::<PaymentAttempted>().len(), 2000);
    events.flush(Duration::from_secs(1));
    let lines = recording.statsd_lines();
    let tags = "|#market:uk,platform:ios,first_order:true";
    let counters: Vec<&String> = lines.iter().filter(|l| l.contains("|c|")).collect();
    assert_eq!(counters, [&format!("payment.attempted:2000|c{tags}")]);
    // Every sample is kept, in full multi-value lines handed to the aggregation thread and
    // a last partial one; each fits a UDP datagram.
    let samples: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("payment.attempted.amount_pence:"))
        .inspect(|l| assert!(l.len() < 1432 && l.ends_with(&format!("|d{tags}")), "{l}"))
        .flat_map(|l| l.split('|').next().unwrap().split(':'))
        .collect();
    assert_eq!(samples.len(), 2000);
    assert!(samples.iter().all(|v| *v == "1250"));
    assert!(
        lines.len() > 2 + 1,
        "the samples did not fill several lines: {lines:?}"
    );
    assert_eq!(PaymentAttempted::TOPIC, "payments");
}

#[test]
fn a_constant_tag_given_twice_is_refused_naming_the_key() {
    let error = Dispatcher::builder()
        .constant_tag("env", "prod")
        .constant_tag("env", "staging")
        .build()
        .err()
        .unwrap();
    assert_eq!(
        error,
        BuildError::DuplicateConstantTag {
            key: "env".into(),
            values: ("prod".into(), "staging".into())
        }
    );
    assert!(
        error.to_string().contains("env:prod and env:staging"),
        "{error}"
    );
}

#[test]
fn a_registered_event_with_a_tag_a_constant_tag_also_has_is_refused_at_build() {
    let error = Dispatcher::builder()
        .event::<PaymentAttempted>()
        .constant_tag("market", "fr")
        .build()
        .err()
        .unwrap();
    assert_eq!(
        error,
        BuildError::ConstantTagClash {
            event: "payment.attempted",
            key: "market"
        }
    );
    assert!(
        error.to_string().contains("rename the event's tag"),
        "{error}"
    );
    // Without the clash, a registered event builds.
    Dispatcher::builder()
        .event::<PaymentAttempted>()
        .constant_tag("region", "eu")
        .build()
        .unwrap();
}

#[test]
fn an_unregistered_event_with_a_tag_a_constant_tag_also_has_sends_no_line_and_is_counted() {
    for aggregation in [Some(Duration::from_secs(10)), None] {
        let recording = RecordingSink::new();
        let events = Dispatcher::builder()
            .aggregate_metrics(aggregation)
            .constant_tag("market", "fr")
            .recording(&recording)
            .build()
            .unwrap();
        for _ in 0..3 {
            events.publish(&common::design_example());
        }
        events.flush(Duration::from_secs(1));
        assert_eq!(
            recording.statsd_lines(),
            Vec::<String>::new(),
            "{aggregation:?}"
        );
        // The records go out: only the lines would be corrupt.
        assert_eq!(recording.records().len(), 3);
        let refused = events.refused_metric_lines();
        assert_eq!(refused.values().sum::<u64>(), 3, "{refused:?}");
        assert!(
            refused
                .keys()
                .all(|reason| reason.contains("payment.attempted") && reason.contains("`market`")),
            "{refused:?}"
        );
    }
}
