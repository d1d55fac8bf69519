//! What a user chooses about the spool, and what it reports.

use std::path::PathBuf;
use std::time::Duration;

/// The spool's settings, set with [`KafkaConfig::spool`](crate::KafkaConfig::spool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolSettings {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) mode: SpoolMode,
}

impl SpoolSettings {
    /// The default bound on the spool's size on disk: 1 GiB.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    pub(crate) fn new(dir: PathBuf) -> Self {
        SpoolSettings {
            dir,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            mode: SpoolMode::Overflow,
        }
    }

    /// Bytes per segment file: small enough that a drained spool frees its disk soon, large
    /// enough that a long outage makes few files.
    pub(crate) fn segment_bytes(&self) -> u64 {
        (self.max_bytes / 16).clamp(64 << 10, 64 << 20)
    }
}

/// Which records go through the spool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpoolMode {
    /// Only records that do not fit librdkafka's queue, and every record after them until
    /// the spool has drained (so the order per key holds). A crash loses what librdkafka
    /// holds in memory, as without a spool.
    Overflow,
    /// Every record is appended before it is handed to librdkafka, and removed once
    /// delivered. A crash of the application loses nothing that was synced.
    WriteAhead(SyncPolicy),
}

/// When write-ahead records are written through to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Every interval (a sensible default is 500 ms): records accepted within the last
    /// interval may be lost if the application is killed, or the machine stops, before it
    /// ends. `publish` never waits for the disk.
    Interval(Duration),
    /// On every record, before `publish` returns: nothing accepted is lost, and every
    /// `publish` waits for the disk (an `fdatasync` each).
    EveryRecord,
}
