//! The thread that sends the aggregated counters, and the record sinks' undelivered
//! counts, every interval.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Inner;

/// The thread that sends aggregated counters and undelivered counts every interval.
pub(super) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Flusher {
    pub(super) fn start(inner: &Arc<Inner>, interval: Duration) -> Option<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (shared, signal) = (Arc::clone(inner), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("event-runtime aggregation".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut stopped = stopped.lock().unwrap_or_else(PoisonError::into_inner);
                while !*stopped {
                    stopped = wake
                        .wait_timeout(stopped, interval)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    shared.send_periodic();
                }
            })
            .ok()?;
        Some(Flusher { stop, thread })
    }

    pub(super) fn stop(self) {
        *self.stop.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.1.notify_all();
        let _ = self.thread.join();
    }
}
