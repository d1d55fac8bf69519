//! What the sinks of a dispatcher did: counts per sink.

use crate::SinkStats;

/// The counts of one sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink's name, e.g. `kafka`.
    pub name: &'static str,
    /// Its counts.
    pub stats: SinkStats,
}

/// The counts of every sink of a dispatcher.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// One entry per sink: metric sinks first, then record sinks.
    pub sinks: Vec<SinkReport>,
}

impl DeliveryReport {
    /// The counts of the sink with this name.
    pub fn sink(&self, name: &str) -> Option<SinkStats> {
        self.sinks.iter().find(|s| s.name == name).map(|s| s.stats)
    }

    /// Items not delivered, over every sink.
    pub fn undelivered(&self) -> u64 {
        self.sinks.iter().map(|s| s.stats.undelivered()).sum()
    }
}
