//! Lock-free counts shared between a sink's caller side and its background work.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::SinkStats;

/// The four counts every sink keeps.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub published: AtomicU64,
    pub delivered: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> SinkStats {
        // Read the outcomes before `published`, so a concurrent publish can only make
        // `pending` look larger, never negative.
        let delivered = self.delivered.load(Ordering::Acquire);
        let dropped = self.dropped.load(Ordering::Acquire);
        let failed = self.failed.load(Ordering::Acquire);
        let published = self.published.load(Ordering::Acquire);
        SinkStats {
            published,
            delivered,
            dropped,
            failed,
        }
    }
}
