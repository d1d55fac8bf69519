//! The naming rules of DogStatsD and Kafka, in one place.
//!
//! `event-derive` applies them to names written in the source, at compile time, and
//! `event-runtime` applies them to names supplied at run time (a metric prefix, constant
//! tags from the environment) when a dispatcher is built. Either way, a name that breaks
//! a rule is never sent: a bad character in a datagram (`|`, `,`, `#`, `:`, `@`, a newline)
//! would corrupt it or split one metric into several.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

/// The longest metric name, and the longest `key:value` tag, DogStatsD accepts.
pub const MAX_NAME_LEN: usize = 200;

/// The longest Kafka topic name.
pub const MAX_TOPIC_LEN: usize = 249;

/// Tag keys the Datadog agent gives a meaning of its own. They belong in the dispatcher's
/// constant tags (set once per process), not on events.
pub const RESERVED_TAG_KEYS: &[&str] = &["host", "device", "source", "service", "env", "version"];

/// Why a name was rejected; `Display` says what the rule is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than its limit.
    TooLong {
        /// The name's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first character is not a letter.
    MustStartWithLetter,
    /// A character outside the allowed set.
    BadChar {
        /// The offending character.
        found: char,
        /// The characters allowed, in words.
        allowed: &'static str,
    },
    /// An uppercase letter where only lowercase is allowed.
    Uppercase {
        /// The offending character.
        found: char,
    },
    /// A name ending with `.`, which would leave an empty segment.
    TrailingDot,
    /// A dotted name with an empty part: `acme..v1`, `.acme`.
    EmptyPart,
    /// A part of a dotted name that does not start with a letter: `v1` is fine, `1v` is not.
    PartMustStartWithLetter,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("it is empty"),
            NameError::TooLong { len, max } => {
                write!(f, "it is {len} characters long, over the limit of {max}")
            }
            NameError::MustStartWithLetter => f.write_str("it must start with a letter"),
            NameError::BadChar { found, allowed } => {
                write!(f, "it contains {found:?}; only {allowed} are allowed")
            }
            NameError::Uppercase { found } => {
                write!(f, "it contains the uppercase {found:?}; use lowercase")
            }
            NameError::TrailingDot => f.write_str("it ends with '.'"),
            NameError::EmptyPart => f.write_str("it has an empty part between dots"),
            NameError::PartMustStartWithLetter => {
                f.write_str("each part between dots must start with a letter")
            }
        }
    }
}

impl std::error::Error for NameError {}

fn check_chars(
    name: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), NameError> {
    match name.chars().find(|&c| !ok(c)) {
        Some(found) if found.is_ascii_uppercase() && ok(found.to_ascii_lowercase()) => {
            Err(NameError::Uppercase { found })
        }
        Some(found) => Err(NameError::BadChar { found, allowed }),
        None => Ok(()),
    }
}

fn check_len(name: &str, max: usize) -> Result<(), NameError> {
    match name.len() {
        0 => Err(NameError::Empty),
        len if len > max => Err(NameError::TooLong { len, max }),
        _ => Ok(()),
    }
}

/// A metric name (or a metric prefix): starts with a letter, then ASCII letters, digits,
/// `_` and `.`, at most 200 characters.
pub fn check_metric_name(name: &str) -> Result<(), NameError> {
    check_len(name, MAX_NAME_LEN)?;
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(NameError::MustStartWithLetter);
    }
    check_chars(name, "ASCII letters, digits, '_' and '.'", |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '.'
    })?;
    if name.ends_with('.') {
        return Err(NameError::TrailingDot);
    }
    Ok(())
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '/' | '-')
}

const TAG_CHARS: &str = "lowercase ASCII letters, digits, '_', '.', '/' and '-'";

/// A tag key: starts with a lowercase letter, then `[a-z0-9_./-]`.
pub fn check_tag_key(key: &str) -> Result<(), NameError> {
    check_len(key, MAX_NAME_LEN - 2)?;
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(NameError::MustStartWithLetter);
    }
    check_chars(key, TAG_CHARS, is_tag_char)
}

/// A tag value: non-empty, `[a-z0-9_./-]`.
pub fn check_tag_value(value: &str) -> Result<(), NameError> {
    check_len(value, MAX_NAME_LEN - 2)?;
    check_chars(value, TAG_CHARS, is_tag_char)
}

/// A whole tag: key and value valid, `key:value` at most 200 characters.
pub fn check_tag(key: &str, value: &str) -> Result<(), NameError> {
    check_tag_key(key)?;
    check_tag_value(value)?;
    let len = key.len() + 1 + value.len();
    if len > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            len,
            max: MAX_NAME_LEN,
        });
    }
    Ok(())
}

/// Whether an event may not use this tag key (see [`RESERVED_TAG_KEYS`]).
pub fn is_reserved_tag_key(key: &str) -> bool {
    RESERVED_TAG_KEYS.contains(&key)
}

/// A Kafka topic: `[a-zA-Z0-9._-]`, 1 to 249 characters.
pub fn check_topic(topic: &str) -> Result<(), NameError> {
    check_len(topic, MAX_TOPIC_LEN)?;
    check_chars(topic, "ASCII letters, digits, '.', '_' and '-'", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
}

/// The protobuf package of an event's message unless `#[event(package = "...")]` says
/// otherwise.
pub const DEFAULT_PACKAGE: &str = "events";

/// A protobuf package: dot-separated parts of ASCII letters, digits and `_`, each starting
/// with a letter (`acme.payments.v1`).
pub fn check_package(package: &str) -> Result<(), NameError> {
    check_len(package, MAX_TOPIC_LEN)?;
    check_chars(package, "ASCII letters, digits, '_' and '.'", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_')
    })?;
    if package.ends_with('.') {
        return Err(NameError::TrailingDot);
    }
    for part in package.split('.') {
        match part.chars().next() {
            None => return Err(NameError::EmptyPart),
            Some(c) if !c.is_ascii_alphabetic() => return Err(NameError::PartMustStartWithLetter),
            Some(_) => {}
        }
    }
    Ok(())
}

/// `PaymentAttempted` -> `payment_attempted`; used for default event names and tag values.
pub fn snake_case(ident: &str) -> String {
    let mut out = String::with_capacity(ident.len() + 4);
    let chars: Vec<char> = ident.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let before_lower = i > 0
                && chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                && chars[i - 1].is_uppercase();
            if after_lower || before_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn packages_are_dotted_identifiers() {
        assert_eq!(super::check_package("acme.payments.v1"), Ok(()));
        assert_eq!(super::check_package("events"), Ok(()));
        assert_eq!(super::check_package(""), Err(super::NameError::Empty));
        assert_eq!(
            super::check_package("acme..v1"),
            Err(super::NameError::EmptyPart)
        );
        assert_eq!(
            super::check_package("acme.v1."),
            Err(super::NameError::TrailingDot)
        );
        assert_eq!(
            super::check_package("acme.1v"),
            Err(super::NameError::PartMustStartWithLetter)
        );
        assert!(matches!(
            super::check_package("acme-payments"),
            Err(super::NameError::BadChar { found: '-', .. })
        ));
    }

    use super::*;

    #[test]
    fn metric_names() {
        assert_eq!(check_metric_name("payment.attempted"), Ok(()));
        assert_eq!(check_metric_name("1x"), Err(NameError::MustStartWithLetter));
        assert_eq!(
            check_metric_name("a|b"),
            Err(NameError::BadChar {
                found: '|',
                allowed: "ASCII letters, digits, '_' and '.'"
            })
        );
        assert_eq!(check_metric_name("a."), Err(NameError::TrailingDot));
        assert_eq!(
            check_metric_name(&"a".repeat(201)),
            Err(NameError::TooLong { len: 201, max: 200 })
        );
    }

    #[test]
    fn tags() {
        assert_eq!(check_tag("market", "uk"), Ok(()));
        assert_eq!(
            check_tag_key("Market"),
            Err(NameError::Uppercase { found: 'M' })
        );
        assert!(check_tag_value("a,b").is_err());
        assert!(check_tag_value("a:b").is_err());
        assert!(check_tag_value("a\nb").is_err());
        assert_eq!(check_tag_value(""), Err(NameError::Empty));
        assert!(check_tag(&"k".repeat(100), &"v".repeat(100)).is_err());
        assert!(is_reserved_tag_key("env"));
    }

    #[test]
    fn topics() {
        assert_eq!(check_topic("payments.v1-eu_x"), Ok(()));
        assert!(check_topic("pay ments").is_err());
        assert!(check_topic(&"t".repeat(250)).is_err());
    }

    #[test]
    fn snake() {
        assert_eq!(snake_case("PaymentAttempted"), "payment_attempted");
        assert_eq!(snake_case("Uk"), "uk");
        assert_eq!(snake_case("HTTPError"), "http_error");
        assert_eq!(snake_case("ApplePay"), "apple_pay");
        assert_eq!(snake_case("Ios"), "ios");
        assert_eq!(snake_case("Http2Push"), "http2_push");
    }
}
