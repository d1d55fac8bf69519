//! Inside an async runtime: `publish`, `flush` and `shutdown` complete, with no deadlock,
//! on tokio's multi-thread and current-thread runtimes and from `spawn_blocking`, with the
//! real Kafka and StatsD sinks. None of them awaits anything: `publish` never blocks, and
//! `flush` and `shutdown` block the calling thread for at most their timeout, which on a
//! runtime's worker is the end of `main` (or, mid-run, a `spawn_blocking` task).
//!
//! Each runs on a thread of its own that must report back within a minute: a deadlock
//! fails the test instead of hanging the suite.
#![cfg(all(feature = "kafka", feature = "statsd"))]

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{design_example, services};
use event_runtime::{DeliveryReport, Dispatcher, KafkaConfig, StatsdConfig};

const EVENTS_PER_TASK: usize = 250;
const TASKS: usize = 4;

fn dispatcher() -> Dispatcher {
    Dispatcher::builder()
        .statsd(StatsdConfig::udp(services::statsd_udp()))
        .kafka(KafkaConfig::new(services::kafka_bootstrap()))
        .build()
        .unwrap()
}

/// Runs `scenario` on a thread of its own; fails if it does not finish within a minute.
fn without_deadlock(
    name: &str,
    scenario: impl FnOnce() -> DeliveryReport + Send + 'static,
) -> DeliveryReport {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(scenario());
    });
    finished
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{name}: did not finish within a minute (deadlock?)"))
}

/// Publishes from several tasks of the runtime, then flushes and shuts down on it.
async fn publish_flush_shutdown(events: Arc<Dispatcher>) -> DeliveryReport {
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let events = Arc::clone(&events);
            tokio::spawn(async move {
                for _ in 0..EVENTS_PER_TASK {
                    events.publish(&design_example());
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    events.flush(Duration::from_secs(30));
    Arc::into_inner(events)
        .expect("every task is done with it")
        .shutdown(Duration::from_secs(30))
        .unwrap()
}

fn assert_all_delivered(report: &DeliveryReport) {
    let kafka = report.sink("kafka").unwrap();
    assert_eq!(kafka.published, (TASKS * EVENTS_PER_TASK) as u64);
    assert_eq!(kafka.delivered, kafka.published, "{report:?}");
    assert_eq!(report.undelivered(), 0, "{report:?}");
}

#[test]
fn on_the_multi_thread_runtime() {
    let report = without_deadlock("multi-thread", || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(publish_flush_shutdown(Arc::new(dispatcher())))
    });
    assert_all_delivered(&report);
}

#[test]
fn on_the_current_thread_runtime() {
    let report = without_deadlock("current-thread", || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(publish_flush_shutdown(Arc::new(dispatcher())))
    });
    assert_all_delivered(&report);
}

#[test]
fn shutting_down_from_spawn_blocking_mid_run() {
    let report = without_deadlock("spawn_blocking", || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let events = dispatcher();
                for _ in 0..TASKS * EVENTS_PER_TASK {
                    events.publish(&design_example());
                }
                // The runtime keeps serving other tasks while the shutdown waits.
                let ticker = tokio::spawn(async {
                    for _ in 0..10 {
                        tokio::task::yield_now().await;
                    }
                });
                let report =
                    tokio::task::spawn_blocking(move || events.shutdown(Duration::from_secs(30)))
                        .await
                        .unwrap()
                        .unwrap();
                ticker.await.unwrap();
                report
            })
    });
    assert_all_delivered(&report);
}
