//! The Kafka sink's background threads (librdkafka's, the delivery-report poller and the
//! spool's feeder) run batch-scheduled: Linux's `SCHED_BATCH`, so that their wake-ups do
//! not preempt the application's threads.
//!
//! Why: a publish hands its record to librdkafka on the publishing thread, and librdkafka
//! wakes its broker thread from there when a partition's queue gets its first record or
//! its `linger.ms` has run out. Under Linux's default policy a thread that wakes after a
//! long sleep may preempt the thread that woke it, so the publish (on a request's thread)
//! waited while the broker thread built and sent a batch. A `SCHED_BATCH` thread gets the
//! same share of the CPU (its nice value is unchanged) but never preempts on waking: it
//! runs on an idle core, or once the running thread's slice ends. Its work can wait that
//! long: a batch waits `linger.ms` (5 ms by default) anyway.
//!
//! How: librdkafka starts its threads with no hook of ours (its thread-start interceptor
//! can only be added through a configuration object the `rdkafka` crate does not expose),
//! but a new thread takes its creator's policy. So the thread that builds the sink is
//! batch-scheduled while it does, and gets its own policy back after: every thread the
//! sink starts then, and every thread those start later (librdkafka's broker threads for
//! brokers it learns of), is batch-scheduled. A creator under a real-time policy is left
//! as it is, since leaving such a policy and coming back may need a privilege.

/// While alive, makes the current thread batch-scheduled; puts its policy back when
/// dropped. On other systems than Linux, or when the policy cannot be changed, it does
/// nothing: the threads keep the default policy, and only their preemption differs.
pub(super) struct BatchScheduled {
    #[cfg(target_os = "linux")]
    restore: Option<libc::c_int>,
}

impl BatchScheduled {
    /// Batch-schedules the current thread when `wanted` and it runs under the default
    /// policy.
    pub fn current_thread(wanted: bool) -> Self {
        #[cfg(target_os = "linux")]
        {
            BatchScheduled {
                restore: wanted.then(linux::enter_batch).flatten(),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = wanted;
            BatchScheduled {}
        }
    }
}

impl Drop for BatchScheduled {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(policy) = self.restore {
            linux::set_policy(policy);
        }
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // Two system calls that libc declares unsafe; neither takes memory of ours to keep.
mod linux {
    /// Switches the calling thread from `SCHED_OTHER` to `SCHED_BATCH`; the policy to put
    /// back, or `None` when it was another policy or the switch was refused.
    pub fn enter_batch() -> Option<libc::c_int> {
        // SAFETY: pid 0 names the calling thread; no pointer is passed.
        let policy = unsafe { libc::sched_getscheduler(0) };
        (policy == libc::SCHED_OTHER && set_policy(libc::SCHED_BATCH)).then_some(policy)
    }

    /// Sets the calling thread's policy (one without a priority); whether it took.
    pub fn set_policy(policy: libc::c_int) -> bool {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 names the calling thread, and `param` lives across the call.
        unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
    }
}
