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
    /// A sink could not be configured.
    Sink {
        /// The sink, e.g. `kafka`.
        sink: &'static str,
        /// What went wrong.
        message: String,
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
            BuildError::Sink { sink, message } => write!(f, "the {sink} sink could not be configured: {message}"),
        }
    }
}

impl std::error::Error for BuildError {}

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
                    " {} {} pending, {} dropped, {} failed;",
                    sink.name,
                    s.pending(),
                    s.dropped,
                    s.failed
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Undelivered {}
