//! The thread that sends the aggregated counters, and the record sinks' undelivered
//! counts, every interval, and the full lines of samples that publishes hand it between
//! intervals.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Inner;

/// What wakes the aggregation thread before its interval ends: a stop, or full lines of
/// samples waiting (`AggregateTables` hands them over).
#[derive(Default)]
pub(crate) struct FlusherSignal {
    state: Mutex<Signals>,
    changed: Condvar,
}

#[derive(Default)]
struct Signals {
    stop: bool,
    samples_waiting: bool,
}

enum Woken {
    Stop,
    SamplesWaiting,
    Interval,
}

impl FlusherSignal {
    /// Full lines of samples wait to be sent.
    pub(crate) fn samples_waiting(&self) {
        self.lock().samples_waiting = true;
        self.changed.notify_one();
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }

    /// Waits until `deadline`, or a signal before it.
    fn wait_until(&self, deadline: Instant) -> Woken {
        let mut signals = self.lock();
        loop {
            if signals.stop {
                return Woken::Stop;
            }
            if std::mem::take(&mut signals.samples_waiting) {
                return Woken::SamplesWaiting;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Woken::Interval;
            }
            signals = self
                .changed
                .wait_timeout(signals, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Signals> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The thread that sends aggregated counters and undelivered counts every interval.
pub(super) struct Flusher {
    signal: Arc<FlusherSignal>,
    thread: JoinHandle<()>,
}

impl Flusher {
    pub(super) fn start(
        inner: &Arc<Inner>,
        interval: Duration,
        signal: Arc<FlusherSignal>,
    ) -> Option<Self> {
        let (shared, signals) = (Arc::clone(inner), Arc::clone(&signal));
        let thread = std::thread::Builder::new()
            .name("event-runtime aggregation".into())
            .spawn(move || {
                let mut next = Instant::now() + interval;
                loop {
                    match signals.wait_until(next) {
                        Woken::Stop => break,
                        Woken::SamplesWaiting => shared.send_handed_off(),
                        Woken::Interval => {
                            shared.send_periodic();
                            next = Instant::now() + interval;
                        }
                    }
                }
            })
            .ok()?;
        Some(Flusher { signal, thread })
    }

    pub(super) fn stop(self) {
        self.signal.stop();
        let _ = self.thread.join();
    }
}
