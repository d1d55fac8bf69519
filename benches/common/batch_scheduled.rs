//! Raw rdkafka producers made with the scheduling our Kafka sink gives its threads
//! (`KafkaConfig::batch_scheduled_threads`, on by default): Linux's `SCHED_BATCH`, which a
//! new thread takes from the thread that creates it. A baseline producer made under the
//! default policy would have its broker thread preempt the sending loop where ours does
//! not, so the comparison would measure the policy as well as the code.

/// Runs `create` with the calling thread batch-scheduled, then puts its policy back.
pub fn like_our_sink<T>(create: impl FnOnce() -> T) -> T {
    let param = libc::sched_param { sched_priority: 0 };
    #[allow(unsafe_code)]
    // SAFETY: pid 0 names the calling thread, and `param` lives across the calls.
    let (before, set) = unsafe {
        let before = libc::sched_getscheduler(0);
        let set = before == libc::SCHED_OTHER
            && libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) == 0;
        (before, set)
    };
    let created = create();
    if set {
        #[allow(unsafe_code)]
        // SAFETY: as above.
        unsafe {
            libc::sched_setscheduler(0, before, &param);
        }
    }
    created
}
