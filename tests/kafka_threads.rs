//! The Kafka sink's background threads (librdkafka's, the delivery reports' poller, the
//! spool's feeder or the relay thread) run under Linux's `SCHED_BATCH`, so a publish that wakes one is not
//! preempted by it; the thread that built the sink keeps its own policy. No service is
//! needed: librdkafka starts its threads when the producer is made.
#![cfg(all(feature = "kafka", target_os = "linux"))]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use event_runtime::{Dispatcher, KafkaConfig};

/// This process's thread ids.
fn thread_ids() -> BTreeSet<i32> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// A thread's name; empty once it has ended.
fn name(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .map(|name| name.trim_end().to_owned())
        .unwrap_or_default()
}

fn policy(tid: i32) -> i32 {
    #[allow(unsafe_code)]
    // SAFETY: a plain system call on a thread id; no memory is passed.
    unsafe {
        libc::sched_getscheduler(tid)
    }
}

/// The sink's threads that must be among those it starts with a spool, and with the relay.
/// A new thread bears its creator's name until it sets its own, so their names are read
/// until these appear.
const WITH_SPOOL: [&str; 3] = ["rdk:main", "producer pollin", "event-spool"];
const RELAYED: [&str; 3] = ["rdk:main", "producer pollin", "event-relay"];

/// Builds a dispatcher with `config` and returns it with the threads it started, each
/// named, with its policy, once those `expected` have their names.
fn started_by(config: KafkaConfig, expected: &[&str]) -> (Dispatcher, Vec<(String, i32)>) {
    let before = thread_ids();
    let dispatcher = Dispatcher::builder().kafka(config).build().unwrap();
    let new: Vec<i32> = thread_ids().difference(&before).copied().collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let started: Vec<(String, i32)> = new.iter().map(|&tid| (name(tid), policy(tid))).collect();
        let named = expected
            .iter()
            .all(|expected| started.iter().any(|(name, _)| name == expected));
        if named || Instant::now() > deadline {
            return (dispatcher, started);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One test, so that no other test builds a sink while the threads are told apart.
#[test]
fn the_sinks_threads_are_batch_scheduled_unless_turned_off_and_the_builder_keeps_its_policy() {
    let spool = tempfile::tempdir().unwrap();
    // An address nobody listens on: the threads start all the same.
    let config = KafkaConfig::new("127.0.0.1:9").spool(spool.path());
    for (config, expected) in [
        (config.clone(), WITH_SPOOL),
        (KafkaConfig::new("127.0.0.1:9").relay(true), RELAYED),
    ] {
        let (dispatcher, started) = started_by(config, &expected);
        let names: Vec<&str> = started.iter().map(|(name, _)| name.as_str()).collect();
        for expected in expected {
            assert!(names.contains(&expected), "{expected} not among {names:?}");
        }
        assert!(
            started
                .iter()
                .all(|(_, policy)| *policy == libc::SCHED_BATCH),
            "not every thread is SCHED_BATCH ({}): {started:?}",
            libc::SCHED_BATCH
        );
        assert_eq!(policy(0), libc::SCHED_OTHER, "the building thread's policy");
        drop(dispatcher.shutdown(Duration::ZERO));
    }

    let (dispatcher, started) = started_by(config.batch_scheduled_threads(false), &WITH_SPOOL);
    assert!(started.len() >= 3, "{started:?}");
    assert!(
        started
            .iter()
            .all(|(_, policy)| *policy == libc::SCHED_OTHER),
        "turned off, a thread is not SCHED_OTHER ({}): {started:?}",
        libc::SCHED_OTHER
    );
    drop(dispatcher.shutdown(Duration::ZERO));
}
