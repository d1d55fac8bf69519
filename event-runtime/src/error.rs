//! Errors a user can get from the dispatcher, each saying what to do about it.

use std::fmt;

use event_names::NameError;

use crate::DeliveryReport;

/// Why a dispatcher could not be built. Nothing is sent with a setting that breaks the
/// DogStatsD rules: a bad prefix or constant tag would corrupt every datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The metric prefix is not a valid metric name.
    InvalidPrefix {
        /// The prefix given.
        prefix: String,
        /// The rule it breaks.
        reason: NameError,
    },
    /// A constant tag's key or value breaks the tag rules.
    InvalidConstantTag {
        /// The tag as given, `key:value`.
        tag: String,
        /// The rule it breaks.
        reason: NameError,
    },
    /// Two constant tags have the same key: every line would carry both.
    DuplicateConstantTag {
        /// The key.
        key: String,
        /// Its two values, in the order given.
        values: (String, String),
    },
    /// A registered event has a tag whose key a constant tag also has: every line of the
    /// event would carry the key twice, splitting each of its series.
    ConstantTagClash {
        /// The event.
        event: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A sink could not be configured.
    Sink {
        /// The sink, e.g. `kafka`.
        sink: &'static str,
        /// What went wrong.
        message: String,
        /// The underlying error (an I/O error, librdkafka's), also given by `source()`.
        cause: Option<SinkCause>,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidPrefix { prefix, reason } => write!(
                f,
                "metric prefix {prefix:?} is invalid: {reason}; a prefix starts with a letter and uses ASCII letters, digits, '_' and '.'"
            ),
            BuildError::InvalidConstantTag { tag, reason } => write!(
                f,
                "constant tag {tag:?} is invalid: {reason}; tag keys and values use lowercase ASCII letters, digits, '_', '.', '/' and '-' (check DD_ENV, DD_SERVICE and DD_VERSION)"
            ),
            BuildError::DuplicateConstantTag { key, values: (first, second) } => write!(
                f,
                "constant tag `{key}` is given twice ({key}:{first} and {key}:{second}): every line would carry both; keep one (DD_ENV, DD_SERVICE and DD_VERSION set `env`, `service` and `version` too)"
            ),
            BuildError::ConstantTagClash { event, key } => write!(
                f,
                "event `{event}` has a tag `{key}`, and so do the constant tags: every line of it would carry `{key}` twice and split each of its series; rename the event's tag (`#[event(tag = \"...\")]`) or drop the constant tag"
            ),
            BuildError::Sink { sink, message, .. } => write!(f, "the {sink} sink could not be configured: {message}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Sink {
                cause: Some(cause), ..
            } => Some(&*cause.0),
            _ => None,
        }
    }
}

// Only the production sinks are built fallibly.
#[cfg(any(feature = "statsd", feature = "kafka"))]
impl BuildError {
    /// A sink's configuration error with no underlying error.
    pub(crate) fn sink(sink: &'static str, message: impl Into<String>) -> Self {
        BuildError::Sink {
            sink,
            message: message.into(),
            cause: None,
        }
    }

    /// A sink's configuration error caused by `cause`.
    pub(crate) fn sink_caused(
        sink: &'static str,
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BuildError::Sink {
            sink,
            message: message.into(),
            cause: Some(SinkCause(std::sync::Arc::new(cause))),
        }
    }
}

/// The underlying error of a [`BuildError::Sink`]: shared, so that the error stays
/// `Clone`, and compared by its text.
#[derive(Clone)]
pub struct SinkCause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl SinkCause {
    /// The underlying error.
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl fmt::Debug for SinkCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SinkCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for SinkCause {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SinkCause {}

/// Returned by `shutdown` when some events were not delivered before the timeout.
/// The report says which sink kept what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    /// The counts of every sink at the end of the shutdown.
    pub report: DeliveryReport,
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} published items were not delivered:",
            self.report.undelivered()
        )?;
        for sink in &self.report.sinks {
            let s = sink.stats;
            if s.undelivered() > 0 {
                write!(
                    f,
                    " {} {} pending, {} dropped, {} failed",
                    sink.name,
                    s.pending(),
                    s.dropped,
                    s.failed
                )?;
                // Why they failed, with what to check for the causes that have a usual one.
                let failures = sink.diagnostics.as_ref().map(|d| &d.failures);
                for (i, (reason, count)) in failures.into_iter().flatten().enumerate() {
                    let hint = sink
                        .diagnostics
                        .as_ref()
                        .and_then(|d| d.client_errors.get(reason)?.hint);
                    let lead = if i == 0 { " (" } else { ", " };
                    write!(f, "{lead}{count} {reason}")?;
                    if let Some(hint) = hint {
                        write!(f, ": {hint}")?;
                    }
                }
                if failures.is_some_and(|f| !f.is_empty()) {
                    f.write_str(")")?;
                }
                f.write_str(";")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Undelivered {}
