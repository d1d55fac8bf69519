//! Secrets in librdkafka properties never reach a log: a configuration prints them as
//! `[redacted]`, and an error librdkafka raises about a property has their values cut out.
//! A service that logs its configuration at start-up, as most do, writes no password.
//! Public so that other holders of librdkafka properties (the warehouse loader's
//! configuration) redact by the same rule.

use std::fmt;

/// What a redacted value is shown as.
pub const REDACTED: &str = "[redacted]";

/// Whether a property's value is a secret: passwords, secrets, OAuth bearer settings
/// (client secrets and tokens among them) and private-key material.
pub fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.starts_with("sasl.oauthbearer.")
        || key.starts_with("ssl.key")
}

/// Properties as a `Debug` map, with every secret's value `[redacted]`.
pub struct Redacted<'a>(pub &'a [(&'a str, &'a str)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(key, value)| {
                let shown: &str = if is_secret_property(key) {
                    REDACTED
                } else {
                    value
                };
                (key, shown)
            }))
            .finish()
    }
}

/// `message` with the value of every secret property cut out, so that an error that
/// repeats a rejected value (librdkafka's "Invalid value ... for property ...") says
/// which property without saying its value.
pub fn scrub<'a>(
    message: &str,
    properties: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut secrets: Vec<&str> = properties
        .into_iter()
        .filter(|(key, value)| is_secret_property(key) && !value.is_empty())
        .map(|(_, value)| value)
        .collect();
    // The longest first, so that a secret containing another is cut out whole.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    let mut scrubbed = message.to_owned();
    for secret in secrets {
        scrubbed = scrubbed.replace(secret, REDACTED);
    }
    scrubbed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_by_their_keys() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.config",
            "ssl.key.pem",
            "ssl.key.location",
        ] {
            assert!(is_secret_property(key), "{key}");
        }
        for key in [
            "bootstrap.servers",
            "sasl.username",
            "sasl.mechanisms",
            "ssl.ca.location",
        ] {
            assert!(!is_secret_property(key), "{key}");
        }
    }

    #[test]
    fn a_secret_inside_a_message_is_cut_out_whole() {
        let properties = [("sasl.password", "hunter2"), ("ssl.key.password", "hunter")];
        assert_eq!(
            scrub("value \"hunter2\" and \"hunter\" rejected", properties),
            "value \"[redacted]\" and \"[redacted]\" rejected"
        );
    }
}
