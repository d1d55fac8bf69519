//! The process-wide dispatcher: `event_runtime::publish` from anywhere, nothing lost before
//! it is set or after its guard shut it down (counted as unrouted), one install per process,
//! and `with_local` for parallel tests. Its own test binary: the global is the process's.

mod common;

use std::time::Duration;

use common::{design_example, PaymentAttempted};
use event_runtime::{Dispatcher, RecordingSink};

#[test]
fn the_global_dispatcher_routes_from_any_thread_and_counts_what_it_cannot() {
    // Before it is set: counted, not lost silently.
    let before = event_runtime::unrouted();
    event_runtime::publish(&design_example());
    assert_eq!(event_runtime::unrouted(), before + 1);

    let recording = RecordingSink::new();
    let guard =
        event_runtime::set_global(Dispatcher::builder().recording(&recording).build().unwrap())
            .unwrap()
            .with_timeout(Duration::from_secs(5));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..250 {
                    event_runtime::publish(&design_example());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // The guard reads the running dispatcher's counts: the Kafka-like sink took every record.
    let stats = guard.dispatcher().stats();
    assert_eq!(
        stats.sink("recording-kafka").map(|s| s.published),
        Some(1000)
    );

    // Once per process: the second dispatcher is handed back.
    let second = RecordingSink::new();
    let refused =
        event_runtime::set_global(Dispatcher::builder().recording(&second).build().unwrap())
            .expect_err("a second set_global is refused");
    assert!(refused.to_string().contains("already set"), "{refused}");
    refused.dispatcher.publish(&design_example());
    assert_eq!(second.records().len(), 1);

    // Dropping the guard shuts the dispatcher down: everything was delivered, counters too.
    drop(guard);
    assert_eq!(recording.events::<PaymentAttempted>().len(), 1000);
    assert!(
        recording.statsd_lines().contains(
            &"payment.attempted:1000|c|#market:uk,platform:ios,first_order:true".to_owned()
        ),
        "the aggregated counter was sent at shutdown"
    );
    // After it: counted again.
    let after = event_runtime::unrouted();
    event_runtime::publish(&design_example());
    assert_eq!(event_runtime::unrouted(), after + 1);
    assert_eq!(recording.records().len(), 1000);
}

#[test]
fn with_local_gives_each_thread_only_its_own_events() {
    let threads: Vec<_> = (0..4u64)
        .map(|n| {
            std::thread::spawn(move || {
                let recording = RecordingSink::new();
                let mine = Dispatcher::builder().recording(&recording).build().unwrap();
                event_runtime::with_local(&mine, || {
                    for _ in 0..=n {
                        event_runtime::publish(&design_example());
                    }
                    // Nested: the innermost takes the publishes, and the outer is back after.
                    let inner = RecordingSink::new();
                    let nested = Dispatcher::builder().recording(&inner).build().unwrap();
                    event_runtime::with_local(
                        &nested,
                        || event_runtime::publish(&design_example()),
                    );
                    assert_eq!(inner.records().len(), 1);
                    event_runtime::publish(&design_example());
                });
                recording.records().len() as u64
            })
        })
        .collect();
    for (n, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap(), n as u64 + 2);
    }
}
