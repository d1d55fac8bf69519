//! Lock-free counts shared between a sink's caller side and its background work.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::SinkStats;

/// A value on cache lines of its own. `published` is written by the publishing thread and
/// `delivered` by a background thread on every record: on one line, the two cores would
/// pass it back and forth on every publish. 128 bytes, because CPUs prefetch lines in
/// adjacent pairs.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct OwnLine<T>(T);

impl<T> Deref for OwnLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The four counts every sink keeps.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub published: OwnLine<AtomicU64>,
    pub delivered: OwnLine<AtomicU64>,
    pub dropped: OwnLine<AtomicU64>,
    pub failed: OwnLine<AtomicU64>,
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
            spool: None,
        }
    }
}
