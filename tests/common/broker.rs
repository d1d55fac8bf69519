//! The shared test broker, held by one test at a time to kill and restart it
//! (`scripts/services.sh kafka-kill` / `kafka-start`). Whatever the test does, the broker
//! is running again when it lets go.

use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::services;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the broker for one test, and starts it again when the test ends, however it ends.
pub struct Broker<'a> {
    _one_at_a_time: MutexGuard<'a, ()>,
    /// A topic the broker must lead every partition of before it counts as up.
    topic: &'static str,
}

impl Broker<'_> {
    pub fn take(topic: &'static str) -> Self {
        let guard = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        services::kafka_bootstrap();
        Broker {
            _one_at_a_time: guard,
            topic,
        }
    }

    fn services(action: &str) {
        let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/services.sh"))
            .arg(action)
            .status()
            .expect("scripts/services.sh runs");
        assert!(status.success(), "scripts/services.sh {action} failed");
    }

    pub fn kill(&self) {
        Self::services("kafka-kill");
    }

    pub fn start(&self) {
        Self::services("kafka-start");
        wait_until_serving(self.topic);
    }
}

/// Waits until the restarted broker leads every partition of the test topic: its port
/// opens before it has finished loading its logs.
fn wait_until_serving(topic: &str) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::types::RDKafkaRespErr;
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", services::kafka_bootstrap_unchecked())
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            // A topic this broker has never seen is ready too: producing creates it.
            let ready = metadata.topics().iter().all(|t| match t.error() {
                Some(error) => error == RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                None => t.partitions().iter().all(|p| p.leader() >= 0),
            });
            if ready {
                return;
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
    panic!("the restarted broker did not serve {topic} within 90 s");
}

impl Drop for Broker<'_> {
    fn drop(&mut self) {
        let up = std::net::TcpStream::connect(
            std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default(),
        )
        .is_ok();
        if !up {
            Self::services("kafka-start");
            wait_until_serving(self.topic);
        }
    }
}
