//! The loader as its own process (the `warehouse_loader` example), and the checks made on
//! it from outside: the group's committed offsets against the rows in PostgreSQL.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::services;
use super::warehouse::tables;
use event_runtime::header;
use event_warehouse::{Backend, Postgres, REJECTS_TABLE};
use multi_dispatch_events::order_flow::warehouse::rows_of_run;
use multi_dispatch_events::readback::read_topics;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

pub const TOPICS: [&str; 2] = ["orders", "payments"];

/// The example binary, built by `cargo test` next to the test binaries.
pub fn loader_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let binary = deps
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples")
        .join("warehouse_loader");
    assert!(
        binary.exists(),
        "{} is missing: `cargo test --all-features` builds it with the tests (or `cargo build --features warehouse --example warehouse_loader`)",
        binary.display()
    );
    binary
}

pub fn spawn_loader(url: &str, group: &str, extra: &[&str]) -> Child {
    Command::new(loader_binary())
        .args([
            "--kafka",
            &services::kafka_bootstrap(),
            "--postgres",
            url,
            "--group",
            group,
        ])
        .args(["--batch", "1000"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The group's committed offsets: (topic, partition) -> the next offset to read.
pub fn committed(group: &str) -> BTreeMap<(String, i32), i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", services::kafka_bootstrap())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    for topic in TOPICS {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        for p in metadata.topics()[0].partitions() {
            partitions.add_partition(topic, p.id());
        }
    }
    consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
            _ => None,
        })
        .collect()
}

/// Every record before a committed offset is in the database: as a row (by event id) or
/// as a recorded reject. Returns how many records that covers.
pub fn assert_offsets_not_ahead_of_rows(group: &str, db: &mut Postgres) -> usize {
    let committed = committed(group);
    assert!(
        !committed.is_empty(),
        "the loader committed nothing before it was killed"
    );
    let mut event_ids = HashSet::new();
    for table in tables() {
        for row in db
            .query(&format!("SELECT event_id::text FROM {}", table.name), &[])
            .unwrap()
        {
            event_ids.insert(row[0].as_str().unwrap().to_owned());
        }
    }
    let rejects: HashSet<(String, i64, i64)> = db
        .query(
            &format!("SELECT topic, kafka_partition::bigint, kafka_offset FROM {REJECTS_TABLE}"),
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_i64().unwrap(),
                r[2].as_i64().unwrap(),
            )
        })
        .collect();
    let below = |topic: &str, partition: i32, offset: i64| {
        committed
            .get(&(topic.to_owned(), partition))
            .is_some_and(|next| offset < *next)
    };
    let wanted: i64 = committed.values().sum();
    let records = read_topics(
        &services::kafka_bootstrap(),
        &TOPICS,
        |r| below(&r.topic, r.partition, r.offset),
        |kept| kept.len() as i64 >= wanted,
        Duration::from_secs(120),
    )
    .unwrap();
    assert_eq!(
        records.len() as i64,
        wanted,
        "offsets start at 0 on a fresh broker"
    );
    for r in &records {
        let in_db = r
            .header(header::EVENT_ID)
            .is_some_and(|id| event_ids.contains(id))
            || rejects.contains(&(r.topic.clone(), i64::from(r.partition), r.offset));
        assert!(
            in_db,
            "{}/{} offset {} is committed but not in the database",
            r.topic, r.partition, r.offset
        );
    }
    records.len()
}

pub fn loaded_so_far(db: &mut Postgres, prefix: &str) -> u64 {
    // The tables appear when the loader starts.
    rows_of_run(db, prefix).unwrap_or(0)
}

/// Waits until `rows` rows of this run are in, while the loaders keep running.
pub fn wait_until_loaded(loaders: &mut [&mut Child], db: &mut Postgres, prefix: &str, rows: u64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut loaded = 0;
    while loaded < rows {
        for loader in loaders.iter_mut() {
            assert!(
                loader.try_wait().unwrap().is_none(),
                "a loader exited by itself"
            );
        }
        assert!(
            Instant::now() < deadline,
            "loaded {loaded} of {rows} rows in 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
        loaded = loaded_so_far(db, prefix);
    }
}
