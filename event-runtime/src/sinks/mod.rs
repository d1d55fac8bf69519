//! The production sinks, each behind its cargo feature so the core builds without them.

mod counters;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "statsd")]
pub mod statsd;

pub(crate) use counters::Counters;
