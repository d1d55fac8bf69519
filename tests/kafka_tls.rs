//! TLS to the real broker: its TLS listener presents a keytool-made certificate for
//! 127.0.0.1, and the Kafka sink, built with the `kafka-tls` feature, verifies it.
#![cfg(feature = "kafka-tls")]

mod common;

use std::time::Duration;

use common::{design_example, services, PaymentAttempted};
use event_runtime::{Dispatcher, Event, KafkaConfig};
use multi_dispatch_events::readback::read_topics;

fn tls_bootstrap() -> String {
    let servers = std::env::var("KAFKA_TLS_BOOTSTRAP_SERVERS").expect(
        "KAFKA_TLS_BOOTSTRAP_SERVERS is not set: start the services with scripts/services.sh",
    );
    services::kafka_bootstrap(); // the broker is up
    servers
}

fn events(run: &str, count: usize) -> Vec<PaymentAttempted> {
    (0..count)
        .map(|i| PaymentAttempted {
            order_id: format!("{run}-{i}"),
            ..design_example()
        })
        .collect()
}

#[test]
fn events_reach_the_broker_over_tls_with_its_certificate_verified() {
    let run = services::run_id();
    let config = KafkaConfig::new(tls_bootstrap())
        .set("security.protocol", "ssl")
        .set(
            "ssl.ca.location",
            std::env::var("KAFKA_TLS_CA_LOCATION").unwrap(),
        )
        // librdkafka's default, spelled out: the certificate must name 127.0.0.1.
        .set("ssl.endpoint.identification.algorithm", "https");
    let dispatcher = Dispatcher::builder().kafka(config).build().unwrap();
    for event in events(&run, 200) {
        dispatcher.publish(&event);
    }
    let report = dispatcher.shutdown(Duration::from_secs(60)).unwrap();
    let kafka = report.sink("kafka").unwrap();
    assert_eq!((kafka.published, kafka.delivered), (200, 200), "{report:?}");

    let prefix = format!("{run}-").into_bytes();
    let records = read_topics(
        &services::kafka_bootstrap(),
        &[PaymentAttempted::TOPIC],
        |r| r.key.as_ref().is_some_and(|k| k.starts_with(&prefix)),
        |kept| kept.len() >= 200,
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(records.len(), 200);
    let first = PaymentAttempted::decode(&records[0].payload).unwrap();
    assert!(first.order_id.starts_with(&run));
}

#[test]
fn a_broker_certificate_the_client_does_not_trust_is_refused_and_every_event_counted() {
    // No `ssl.ca.location`: the system's CAs, which never signed the test certificate.
    let config = KafkaConfig::new(tls_bootstrap()).set("security.protocol", "ssl");
    let dispatcher = Dispatcher::builder().kafka(config).build().unwrap();
    for event in events(&services::run_id(), 50) {
        dispatcher.publish(&event);
    }
    let undelivered = dispatcher.shutdown(Duration::from_secs(3)).unwrap_err();
    let kafka = undelivered.report.sink("kafka").unwrap();
    assert_eq!((kafka.published, kafka.delivered), (50, 0), "{undelivered}");
    assert_eq!(kafka.dropped + kafka.failed, 50, "{undelivered}");
}
