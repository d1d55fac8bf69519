//! No secret reaches a log: random passwords and client secrets put in the Kafka sink's
//! and the loader's configurations appear in none of their `Debug` output, nor in the
//! error librdkafka raises when it rejects such a property.
#![cfg(feature = "kafka")]

use event_runtime::{BuildError, Dispatcher, KafkaConfig, KafkaSink};
use proptest::prelude::*;

const SECRET_KEYS: [&str; 4] = [
    "sasl.password",
    "ssl.key.password",
    "ssl.keystore.password",
    "sasl.oauthbearer.client.secret",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_debug_output_or_build_error_carries_a_secret(
        secret in "[A-Za-z0-9!#%&*+=?^_~-]{8,24}",
    ) {
        let mut config = KafkaConfig::new("127.0.0.1:1");
        for key in SECRET_KEYS {
            config = config.set(key, format!("{key}:{secret}"));
        }
        let shown = format!("{config:?}");
        prop_assert!(!shown.contains(&secret), "{shown}");
        prop_assert!(shown.contains("[redacted]"));
        // The value itself is still what librdkafka is given.
        let given = format!("sasl.password:{secret}");
        prop_assert_eq!(config.get("sasl.password"), Some(given.as_str()));

        // librdkafka refuses an OAuth bearer client secret without the OIDC method, and its
        // message repeats the value it refused.
        let refused = KafkaConfig::new("127.0.0.1:1")
            .set("sasl.oauthbearer.client.secret", secret.clone())
            .set("sasl.oauthbearer.method", "not-a-method");
        let error = match KafkaSink::new(&refused) {
            Ok(_) => panic!("librdkafka accepted an unknown OAuth bearer method"),
            Err(error) => error,
        };
        let texts = [error.to_string(), format!("{error:?}")];
        for text in &texts {
            prop_assert!(!text.contains(&secret), "{text}");
        }
        let is_kafka_sink_error = matches!(error, BuildError::Sink { sink: "kafka", .. });
        prop_assert!(is_kafka_sink_error, "{error:?}");
        // librdkafka's own error is kept as the source, with the secret cut out of it too.
        let source = std::error::Error::source(&error).expect("librdkafka's error as the source");
        prop_assert!(source.downcast_ref::<rdkafka::error::KafkaError>().is_some(), "{source:?}");
        for text in [source.to_string(), format!("{source:?}")] {
            prop_assert!(!text.contains(&secret), "{text}");
        }

        // Through the dispatcher's builder, the production path, too.
        let built = Dispatcher::builder().kafka(refused).build();
        let error = built.err().expect("the builder refuses the same property");
        prop_assert!(!error.to_string().contains(&secret));
    }
}

#[cfg(feature = "warehouse")]
#[test]
fn the_loader_configuration_does_not_print_its_secrets() {
    let config = event_warehouse::LoaderConfig::new("127.0.0.1:1", "loaders")
        .set("sasl.password", "s3cret-loader-password")
        .set("sasl.username", "loader");
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret-loader-password"), "{shown}");
    assert!(shown.contains("\"sasl.username\": \"loader\""), "{shown}");
    assert!(shown.contains("[redacted]"));
}

/// A loader whose consumer librdkafka refuses says which property, not the secret in it.
#[cfg(feature = "warehouse")]
#[test]
fn the_loader_s_configuration_error_does_not_carry_its_secret() {
    let config = event_warehouse::LoaderConfig::new("127.0.0.1:1", "loaders")
        .set("sasl.oauthbearer.client.secret", "s3cret-client-secret")
        .set("sasl.oauthbearer.method", "not-a-method");
    let loader =
        event_warehouse::Loader::new(config, event_warehouse::Sqlite::in_memory().unwrap())
            .event::<multi_dispatch_events::order_flow::events::OrderPlaced>();
    let error = match loader.start() {
        Ok(_) => panic!("librdkafka accepted an unknown OAuth bearer method"),
        Err(error) => error,
    };
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("s3cret-client-secret"), "{text}");
        assert!(text.contains("sasl.oauthbearer"), "{text}");
    }
}
