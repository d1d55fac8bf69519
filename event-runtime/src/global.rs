//! A process-wide dispatcher, so that a publish needs no handle threaded to its call site,
//! as `metrics::set_global_recorder` and `tracing::dispatcher::set_global_default` do.
//!
//! ```
//! use std::time::Duration;
//! use event_runtime::{Dispatcher, Event, RecordingSink, Tag};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Platform { Android, Ios, Web }
//!
//! #[derive(Event, Clone, Debug, PartialEq)]
//! #[event(name = "app.opened", topic = "app")]
//! struct AppOpened {
//!     user_id: String,
//!     #[event(tag)]
//!     platform: Platform,
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let recording = RecordingSink::new();
//!     let dispatcher = Dispatcher::builder().recording(&recording).build()?;
//!     // Once, at the start of `main`; the guard shuts the dispatcher down when dropped.
//!     let guard = event_runtime::set_global(dispatcher)?.with_timeout(Duration::from_secs(5));
//!
//!     // Anywhere, from any thread:
//!     event_runtime::publish(&AppOpened { user_id: "u-1".into(), platform: Platform::Web });
//!
//!     let report = guard.shutdown()?; // or let it drop at the end of `main`
//!     assert_eq!(report.undelivered(), 0);
//!     assert_eq!(recording.records().len(), 1);
//!     Ok(())
//! }
//! ```
//!
//! A publish with no dispatcher to go to (before [`set_global`], or after its guard shut
//! it down) is counted by [`unrouted`] and said once on stderr, never lost silently.
//! [`with_local`] gives one thread a dispatcher of its own for a while, so parallel unit
//! tests each see only their own events.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::dispatcher::Inner;
use crate::error::Undelivered;
use crate::{DeliveryReport, Dispatcher, Event};

static GLOBAL: OnceLock<Arc<Inner>> = OnceLock::new();
/// Set when the global's guard shut it down: later publishes are unrouted.
static CLOSED: AtomicBool = AtomicBool::new(false);
static UNROUTED: AtomicU64 = AtomicU64::new(0);
static WARNED: AtomicBool = AtomicBool::new(false);
/// Threads inside [`with_local`] now: while there are none, a publish skips the check.
static LOCALS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LOCAL: RefCell<Option<Arc<Inner>>> = const { RefCell::new(None) };
}

/// How long the guard's shutdown waits for delivery unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Makes `dispatcher` the process's, for [`publish`] from anywhere. Once per process: a
/// second call is refused, and the error gives its dispatcher back.
///
/// The returned guard owns the dispatcher. Dropping it (at the end of `main`) shuts the
/// dispatcher down, waiting up to its timeout (10 s unless [`GlobalGuard::with_timeout`]);
/// what was not delivered is printed on stderr. [`GlobalGuard::shutdown`] returns the
/// report instead.
pub fn set_global(dispatcher: Dispatcher) -> Result<GlobalGuard, SetGlobalError> {
    if GLOBAL.set(dispatcher.shared()).is_err() {
        return Err(SetGlobalError { dispatcher });
    }
    Ok(GlobalGuard {
        dispatcher: Some(dispatcher),
        timeout: DEFAULT_TIMEOUT,
    })
}

/// Publishes `event` through this thread's [`with_local`] dispatcher if there is one, else
/// through the global one. With neither, the event is counted by [`unrouted`].
#[inline]
pub fn publish<E: Event>(event: &E) {
    if LOCALS.load(Ordering::Relaxed) > 0 && publish_locally(event) {
        return;
    }
    match GLOBAL.get() {
        Some(inner) if !CLOSED.load(Ordering::Relaxed) => inner.publish(event),
        _ => unroutable(),
    }
}

/// Whether this thread has a local dispatcher, which took `event`.
fn publish_locally<E: Event>(event: &E) -> bool {
    LOCAL.with(|local| match &*local.borrow() {
        Some(inner) => {
            inner.publish(event);
            true
        }
        None => false,
    })
}

#[cold]
fn unroutable() {
    UNROUTED.fetch_add(1, Ordering::Relaxed);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "event-runtime: an event was published with no global dispatcher (before \
             event_runtime::set_global, or after its guard shut it down); such events are \
             not sent and are counted by event_runtime::unrouted()"
        );
    }
}

/// Events published through [`publish`] with no dispatcher to go to, so far.
pub fn unrouted() -> u64 {
    UNROUTED.load(Ordering::Relaxed)
}

/// Runs `f` with `dispatcher` taking this thread's [`publish`] calls instead of the global
/// one (threads `f` starts do not inherit it). Nested calls take the innermost.
///
/// ```
/// use event_runtime::{Dispatcher, Event, RecordingSink};
///
/// #[derive(Event, Clone, Debug, PartialEq)]
/// #[event(topic = "signups")]
/// struct SignedUp { user_id: String }
///
/// let recording = RecordingSink::new();
/// let mine = Dispatcher::builder().recording(&recording).build().unwrap();
/// event_runtime::with_local(&mine, || {
///     event_runtime::publish(&SignedUp { user_id: "u-1".into() });
/// });
/// assert_eq!(recording.events::<SignedUp>(), [SignedUp { user_id: "u-1".into() }]);
/// ```
pub fn with_local<R>(dispatcher: &Dispatcher, f: impl FnOnce() -> R) -> R {
    /// Puts the previous local dispatcher back, even if `f` panics.
    struct Restore(Option<Arc<Inner>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            LOCAL.with(|local| *local.borrow_mut() = previous);
            LOCALS.fetch_sub(1, Ordering::Relaxed);
        }
    }
    LOCALS.fetch_add(1, Ordering::Relaxed);
    let previous = LOCAL.with(|local| local.borrow_mut().replace(dispatcher.shared()));
    let _restore = Restore(previous);
    f()
}

/// Owns the global dispatcher; shuts it down when dropped (see [`set_global`]).
#[must_use = "dropping the guard at once shuts the global dispatcher down: keep it until the end of `main`"]
pub struct GlobalGuard {
    dispatcher: Option<Dispatcher>,
    timeout: Duration,
}

impl GlobalGuard {
    /// How long the shutdown waits for delivery (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The global dispatcher, for what a service reads from it while it runs: its counts
    /// ([`Dispatcher::stats`]), its sinks' diagnostics, or a flush.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.dispatcher
            .as_ref()
            .expect("only a shutdown takes it, and that takes the guard")
    }

    /// Shuts the global dispatcher down now and returns its report. Later publishes are
    /// counted by [`unrouted`].
    pub fn shutdown(mut self) -> Result<DeliveryReport, Undelivered> {
        let dispatcher = self.dispatcher.take().expect("shut down once");
        CLOSED.store(true, Ordering::Relaxed);
        dispatcher.shutdown(self.timeout)
    }
}

impl Drop for GlobalGuard {
    fn drop(&mut self) {
        let Some(dispatcher) = self.dispatcher.take() else {
            return;
        };
        CLOSED.store(true, Ordering::Relaxed);
        if let Err(undelivered) = dispatcher.shutdown(self.timeout) {
            eprintln!("event-runtime: the global dispatcher shut down with {undelivered}");
        }
    }
}

impl fmt::Debug for GlobalGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalGuard")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// [`set_global`] was called a second time. The dispatcher it was given is handed back.
pub struct SetGlobalError {
    /// The dispatcher that was not installed.
    pub dispatcher: Dispatcher,
}

impl fmt::Debug for SetGlobalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetGlobalError")
    }
}

impl fmt::Display for SetGlobalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a global dispatcher is already set: event_runtime::set_global may be called once \
             per process (use event_runtime::with_local for a dispatcher of one thread's own)",
        )
    }
}

impl std::error::Error for SetGlobalError {}
