//! What the sinks of a dispatcher did: counts per sink.

use crate::{SinkDiagnostics, SinkStats};

/// The counts of one sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink's name, e.g. `kafka`.
    pub name: &'static str,
    /// Its counts.
    pub stats: SinkStats,
    /// Why its records failed, for a sink that says (the Kafka sink does).
    pub diagnostics: Option<SinkDiagnostics>,
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

    /// Why the records of the sink with this name failed, if it says.
    pub fn diagnostics(&self, name: &str) -> Option<&SinkDiagnostics> {
        self.sinks
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.diagnostics.as_ref())
    }

    /// Items not delivered, over every sink.
    pub fn undelivered(&self) -> u64 {
        self.sinks.iter().map(|s| s.stats.undelivered()).sum()
    }
}
