//! What each build of librdkafka can speak, as a user finds out: a security protocol or SASL
//! mechanism the build lacks is refused when the dispatcher is built, with librdkafka's
//! reason, never at the first publish. No service is needed.
//!
//! | Feature | Security protocols | SASL mechanisms |
//! | --- | --- | --- |
//! | `kafka` | `plaintext`, `sasl_plaintext` | `PLAIN` |
//! | `kafka-tls` | also `ssl`, `sasl_ssl` | also `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER` |
//!
//! Neither build has `GSSAPI` (Kerberos, which needs Cyrus SASL) or OAUTHBEARER's OIDC
//! method (which needs libcurl).
#![cfg(feature = "kafka")]

use event_runtime::{BuildError, Dispatcher, KafkaConfig};

fn build(properties: &[(&str, &str)]) -> Result<Dispatcher, BuildError> {
    let config = properties
        .iter()
        .fold(KafkaConfig::new("127.0.0.1:9"), |config, (key, value)| {
            config.set(*key, *value)
        });
    Dispatcher::builder().kafka(config).build()
}

fn refused_with(properties: &[(&str, &str)], reason: &str) {
    let error = build(properties).err().expect("refused").to_string();
    assert!(error.contains(reason), "{error}");
}

fn sasl(mechanism: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("security.protocol", "sasl_plaintext"),
        ("sasl.mechanisms", mechanism),
        ("sasl.username", "someone"),
        ("sasl.password", "anything"),
    ]
}

#[test]
fn every_build_speaks_plain_over_sasl_plaintext() {
    if let Err(error) = build(&sasl("PLAIN")) {
        panic!("{error}");
    }
}

#[test]
fn no_build_has_kerberos_or_oidc() {
    refused_with(&sasl("GSSAPI"), "GSSAPI");
    refused_with(
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("sasl.oauthbearer.method", "oidc"),
            ("sasl.oauthbearer.client.id", "someone"),
            ("sasl.oauthbearer.client.secret", "anything"),
            (
                "sasl.oauthbearer.token.endpoint.url",
                "https://127.0.0.1:9/token",
            ),
        ],
        "OAuth/OIDC depends on libcurl",
    );
}

#[cfg(not(feature = "kafka-tls"))]
#[test]
fn without_the_tls_feature_tls_scram_and_oauthbearer_are_refused_and_say_why() {
    refused_with(
        &[("security.protocol", "ssl")],
        "OpenSSL not available at build time",
    );
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] {
        refused_with(
            &sasl(mechanism),
            &format!("No provider for SASL mechanism {mechanism}"),
        );
    }
}

#[cfg(feature = "kafka-tls")]
#[test]
fn with_the_tls_feature_tls_scram_and_oauthbearer_are_built() {
    assert!(build(&[("security.protocol", "ssl")]).is_ok());
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] {
        if let Err(error) = build(&sasl(mechanism)) {
            panic!("{mechanism}: {error}");
        }
    }
}
