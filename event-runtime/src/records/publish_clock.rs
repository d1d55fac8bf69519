//! The wall clock every record's timestamp and event id are read from.
//!
//! Reading the system clock (`SystemTime::now()`, a vDSO call) costs several times what
//! reading the CPU's time-stamp counter does, and a publish reads it once. So each thread
//! reads the system clock once, remembers the counter beside it (an anchor), and adds the
//! counter's elapsed nanoseconds to it; it reads the system clock again once the anchor is
//! [`ANCHOR_LIFETIME`] old. `quanta` reads and calibrates the counter: it uses it only where
//! it is invariant, and otherwise falls back to the OS's monotonic clock, which is still
//! correct here, only no cheaper.
//!
//! What that keeps: the counter and the system clock run at the same rate to within
//! `quanta`'s calibration, so a timestamp stays within microseconds of the system clock's
//! (the tests below allow 50 µs), well under the millisecond the id and Kafka keep. A step
//! of the system clock (an NTP correction, a manual set) reaches the timestamps within
//! [`ANCHOR_LIFETIME`]. A counter that reads lower than its anchor (a thread moved to a
//! core whose counter is behind) starts a new anchor rather than stopping the clock.

use std::time::{Duration, SystemTime};

/// How long a thread's anchor is used before the system clock is read again: how soon a
/// step of the system clock shows in timestamps. One system-clock read per thread every
/// 10 ms is nothing against a publish rate of thousands per second.
pub(crate) const ANCHOR_LIFETIME: Duration = Duration::from_millis(10);

/// The counter and its calibration, made once per dispatcher. The calibration itself is
/// made once per process, on the first dispatcher's build: `quanta` spins for at least
/// 500 µs comparing the counter with the monotonic clock.
pub(crate) struct PublishClock {
    counter: quanta::Clock,
}

/// A thread's reading of the system clock and of the counter at the same moment.
#[derive(Clone, Copy, Default)]
pub(crate) struct ClockAnchor {
    /// The counter's raw reading; 0 for no anchor yet.
    raw: u64,
    /// The system clock's Unix nanoseconds at `raw`.
    unix_nanos: u64,
}

impl Default for PublishClock {
    fn default() -> Self {
        PublishClock {
            counter: quanta::Clock::new(),
        }
    }
}

impl PublishClock {
    /// Now, in Unix milliseconds (the unit of both the id and a Kafka record's timestamp).
    #[inline]
    pub fn unix_millis(&self, anchor: &mut ClockAnchor) -> u64 {
        self.unix_nanos(anchor) / 1_000_000
    }

    /// Now, in Unix nanoseconds, from `anchor` when it is recent and the counter has not
    /// gone back; otherwise from the system clock, which becomes the new anchor.
    #[inline]
    pub fn unix_nanos(&self, anchor: &mut ClockAnchor) -> u64 {
        let raw = self.counter.raw();
        if anchor.raw != 0 && raw >= anchor.raw {
            let elapsed = self.counter.delta_as_nanos(anchor.raw, raw);
            if elapsed < ANCHOR_LIFETIME.as_nanos() as u64 {
                return anchor.unix_nanos + elapsed;
            }
        }
        self.reanchor(anchor)
    }

    #[cold]
    fn reanchor(&self, anchor: &mut ClockAnchor) -> u64 {
        let unix_nanos = system_unix_nanos();
        *anchor = ClockAnchor {
            raw: self.counter.raw().max(1),
            unix_nanos,
        };
        unix_nanos
    }
}

/// The system clock in Unix nanoseconds; a clock set before 1970 gives 0.
fn system_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| {
            d.as_secs()
                .saturating_mul(1_000_000_000)
                .saturating_add(u64::from(d.subsec_nanos()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reading lies between the system clock's readings just before and just after
    /// it, give or take the counter's calibration error (allowed: 50 µs, fifty times what
    /// was measured), across many anchors' lifetimes.
    #[test]
    fn readings_follow_the_system_clock_across_anchors() {
        let clock = PublishClock::default();
        let mut anchor = ClockAnchor::default();
        let slack = 50_000;
        let started = std::time::Instant::now();
        let mut reanchored = 0;
        let mut last_raw = 0;
        while started.elapsed() < ANCHOR_LIFETIME * 8 {
            let before = system_unix_nanos();
            let now = clock.unix_nanos(&mut anchor);
            let after = system_unix_nanos();
            assert!(
                before.saturating_sub(slack) <= now && now <= after + slack,
                "{before} <= {now} <= {after}"
            );
            if anchor.raw != last_raw {
                reanchored += 1;
                last_raw = anchor.raw;
            }
        }
        assert!(reanchored >= 4, "the anchor was renewed {reanchored} times");
    }

    /// A counter that reads lower than the anchor (another core's) takes a new anchor from
    /// the system clock instead of returning the old one.
    #[test]
    fn a_counter_behind_its_anchor_reads_the_system_clock() {
        let clock = PublishClock::default();
        let stale = system_unix_nanos() - 3_600_000_000_000;
        let mut anchor = ClockAnchor {
            raw: u64::MAX,
            unix_nanos: stale,
        };
        let before = system_unix_nanos();
        let now = clock.unix_nanos(&mut anchor);
        assert!(now >= before, "{now} is before {before}");
        assert_ne!(anchor.raw, u64::MAX);
    }
}
