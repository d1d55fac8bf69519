//! The production sinks, each behind its cargo feature so the core builds without them.

#[cfg(any(feature = "kafka", feature = "statsd"))]
mod counters;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "statsd")]
pub mod statsd;

#[cfg(any(feature = "kafka", feature = "statsd"))]
pub(crate) use counters::Counters;
