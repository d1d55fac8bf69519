//! The relay thread sleeps while no record comes: once its queue has stayed empty a while,
//! only a publish wakes it (and, to bound a wake-up that could be missed, a timeout four
//! times a second). An idle service's relay thread must not wake on cores its requests
//! use. No service is needed: the sink's address has no broker, and the relay thread does
//! not wait for one.
#![cfg(all(feature = "kafka", target_os = "linux"))]

mod common;

use std::time::{Duration, Instant};

use common::design_example;
use event_runtime::{Dispatcher, KafkaConfig};

/// The ids of this process's threads named `name`.
fn threads_named(name: &str) -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// How many times the thread has given up its core of its own accord: each sleep, each
/// wait on a condition variable.
fn voluntary_switches(tid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn an_idle_relay_thread_stays_asleep_and_loses_nothing() {
    let dispatcher = Dispatcher::builder()
        .kafka(KafkaConfig::new("127.0.0.1:9").relay(true))
        .build()
        .unwrap();
    // A record goes through the relay first, so the thread has looked often and then
    // gone to sleep, the path an idle service takes after its last request.
    dispatcher.publish(&design_example());
    let deadline = Instant::now() + Duration::from_secs(10);
    let relay = loop {
        if let [tid] = threads_named("event-relay").as_slice() {
            break tid.clone();
        }
        assert!(Instant::now() < deadline, "no thread named event-relay");
        std::thread::sleep(Duration::from_millis(10));
    };
    // Past the 100 ms of looks every 5 ms that follow the last record.
    std::thread::sleep(Duration::from_millis(500));

    let before = voluntary_switches(&relay);
    std::thread::sleep(Duration::from_secs(2));
    let woke = voluntary_switches(&relay) - before;
    // Asleep, it wakes only on its 250 ms timeout: 8 times in 2 s. A timeout that set
    // off another 100 ms of looks every 5 ms would make it about 110.
    assert!(woke <= 16, "the idle relay thread woke {woke} times in 2 s");

    // Nothing was lost meanwhile: with no broker, the two records are purged and counted.
    dispatcher.publish(&design_example());
    let undelivered = dispatcher.shutdown(Duration::ZERO).unwrap_err();
    let kafka = undelivered.report.sink("kafka").unwrap();
    assert_eq!((kafka.published, kafka.failed), (2, 2), "{kafka:?}");
}
