//! Warehouse load throughput into the real PostgreSQL, against its floor: PostgreSQL's own
//! `COPY ... FROM` a file of the same rows, into the same tables with the same keys.
//!
//! The loader's side is the whole leg: consume the records from the broker with a consumer
//! group, decode them, write each batch in one transaction (binary `COPY` straight into
//! each table) and commit the offsets. The floor only parses a file the server already
//! has and fills the tables.
//!
//! Each iteration loads the same 100,424 order-flow events (10,000 evening orders and
//! their reorders, published once, at setup) into emptied tables, so both sides write the
//! same rows. The loader is measured twice:
//! in steady state (from the end of its first batch to the end of its last, as a running
//! loader loads) and including its start (joining the consumer group), which a floor with
//! an open connection skips. Then 2 and 3 loaders in one group, started together, from
//! their start to the last row, when `BENCH_ORDERS` is at least 50,000 (BENCHMARKS.md's
//! scale-out row uses 100000), so that every instance joins while there is work left.
//! Last, the steady-state loader and the floor interleaved, one of each per round
//! (`BENCH_ROUNDS`, 15 by default): the ratio row 8 gives is the median of the rounds'
//! ratios. Each round also times a bare consumer reading the same records (no group, no
//! decoding): what reading them from the broker costs in this process, beside the
//! loader's reading stage. `BENCH_ORDERS` changes the size, and
//! `BENCH_FETCH_QUEUE_BACKOFF_MS` the loader's `fetch.queue.backoff.ms`. Needs the
//! services: `scripts/services.sh start && eval "$(scripts/services.sh env)"`.
//!
//!     cargo bench --features warehouse,statsd --bench warehouse

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use event_runtime::{Dispatcher, KafkaConfig};
use event_warehouse::{Backend, LoadStats, LoadTime, LoaderConfig, Postgres};
use multi_dispatch_events::order_flow::simulate::{self, Scenario};
use multi_dispatch_events::order_flow::warehouse::{loader, rows_of_run};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

const TOPICS: [&str; 2] = ["orders", "payments"];
const TABLES: [&str; 7] = [
    "order_placed",
    "payment_attempted",
    "payment_succeeded",
    "payment_failed",
    "order_sent_to_restaurant",
    "order_collected",
    "order_delivered",
];

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: scripts/services.sh start && eval \"$(scripts/services.sh env)\""
        )
    })
}

/// The end offsets of the topics that exist: where the records published next begin.
fn end_offsets(bootstrap: &str) -> TopicPartitionList {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    for topic in TOPICS {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        // A topic that does not exist yet (a fresh broker) has no partitions here; the
        // setup's range starts it at 0.
        for p in metadata.topics()[0].partitions() {
            let (_, high) = consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .unwrap();
            offsets
                .add_partition_offset(topic, p.id(), Offset::Offset(high))
                .unwrap();
        }
    }
    offsets
}

/// A new consumer group that starts at `offsets`, committed for every partition: each
/// iteration reads the same records, as a running loader does, from committed offsets. A
/// partition left without one would be read from `auto.offset.reset`, which librdkafka
/// serves about a second later than the others (BENCHMARKS.md, row 8): a first start's
/// one-off delay, which fell inside every load when the setup created a topic.
fn group_starting_at(bootstrap: &str, offsets: &TopicPartitionList) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let group = format!("bench-warehouse-{nanos}");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", &group)
        .create()
        .unwrap();
    if offsets.count() > 0 {
        consumer.commit(offsets, CommitMode::Sync).unwrap();
    }
    group
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn truncate(db: &mut Postgres) {
    db.execute(&format!("TRUNCATE {}", TABLES.join(", ")))
        .unwrap();
}

fn warehouse(c: &mut Criterion) {
    let bootstrap = env("KAFKA_BOOTSTRAP_SERVERS");
    let admin_url = env("POSTGRES_TEST_URL");
    let orders: u64 = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);

    // A database of its own, and the run's records published once.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let database = format!("bench_{nanos}");
    Postgres::connect(&admin_url)
        .unwrap()
        .execute(&format!("CREATE DATABASE {database}"))
        .unwrap();
    let url = format!("{}/{database}", admin_url.rsplit_once('/').unwrap().0);
    let start = end_offsets(&bootstrap);
    let scenario = Scenario {
        orders,
        seed: 3,
        run_id: nanos as u64,
    };
    let events = Dispatcher::builder()
        // A bulk load: wait for room in the queue rather than drop.
        .kafka(KafkaConfig::new(bootstrap.as_str()).block_when_full(Duration::from_secs(30)))
        .build()
        .unwrap();
    let summary = simulate::run(&events, scenario, |_, _| {});
    let report = events.shutdown(Duration::from_secs(120)).unwrap();
    assert_eq!(report.undelivered(), 0, "{report:?}");
    let rows = summary.events;
    let prefix = scenario.order_prefix();
    // The setup's range of each partition: from `start` (0 where the setup created the
    // topic) to the end offsets after it. Every load's group starts there.
    let mut range = TopicPartitionList::new();
    let mut in_range = 0;
    let mut ranges = Vec::new();
    for to in end_offsets(&bootstrap).elements() {
        let from = start
            .find_partition(to.topic(), to.partition())
            .and_then(|p| p.offset().to_raw())
            .unwrap_or(0);
        let to_offset = to.offset().to_raw().unwrap();
        in_range += to_offset - from;
        ranges.push(format!(
            "{}-{} {from}..{to_offset}",
            to.topic(),
            to.partition()
        ));
        range
            .add_partition_offset(to.topic(), to.partition(), Offset::Offset(from))
            .unwrap();
    }
    // The offsets, to inspect how the records were batched (`kafka-dump-log.sh`).
    println!(
        "warehouse: the run's {rows} records are {in_range} of the topics' records from the \
         setup's start to its end ({})",
        ranges.join(", ")
    );
    let mut db = Postgres::connect(&url).unwrap();

    // `BENCH_FETCH_QUEUE_BACKOFF_MS` overrides the loader's `fetch.queue.backoff.ms`, to
    // show what librdkafka's default (1000) does to a load past its prefetch queue.
    let loader_config = |group: &str| {
        let config = LoaderConfig::new(bootstrap.as_str(), group);
        match std::env::var("BENCH_FETCH_QUEUE_BACKOFF_MS") {
            Ok(ms) => config.set("fetch.queue.backoff.ms", ms),
            Err(_) => config,
        }
    };

    // One load of the run's rows into emptied tables by `instances` loaders in one
    // consumer group, each on a thread with its own consumer and connection, started
    // together: (whole time, steady-state time). The whole time runs from the start to the
    // last row, and includes joining the group (a one-off cost of a start, and with several
    // instances the rebalances between them). The steady-state time runs from the end of
    // the first batch to the end of the last, scaled to all the rows, as a long-running
    // loader sees it; it is measured for one instance only, since with several the group's
    // rebalances fall inside it.
    // Per load, from its last row to its loaders' threads ending (closing the consumers),
    // which no load time includes.
    let closing: Mutex<Vec<f64>> = Mutex::new(Vec::new());
    let load = |db: &mut Postgres,
                instances: usize,
                connections: usize|
     -> (Duration, Duration, LoadTime) {
        let group = group_starting_at(&bootstrap, &range);
        let running: Vec<_> = (0..instances)
            .map(|_| {
                loader(
                    loader_config(&group),
                    Postgres::connect(&url)
                        .unwrap()
                        .write_connections(connections)
                        .unwrap(),
                )
                .start()
                .unwrap()
            })
            .collect();
        // The loader creates the tables on its first start.
        truncate(db);
        let started = Instant::now();
        let inserted = AtomicU64::new(0);
        let first_batch: Mutex<Option<(Instant, u64)>> = Mutex::new(None);
        // When a loader first saw every row written and its offsets committed. Taken there
        // rather than once the threads are joined: then each loader is also dropped, and
        // closing its consumer (leaving the group) takes over 100 ms, a cost a running
        // loader pays once, at shutdown; and a second instance may still be waiting out
        // its linger for records that will not come.
        let last_row: Mutex<Option<Instant>> = Mutex::new(None);
        let finished: Vec<LoadStats> = std::thread::scope(|scope| {
            let threads: Vec<_> = running
                .into_iter()
                .map(|mut loader| {
                    let (inserted, first_batch, last_row) = (&inserted, &first_batch, &last_row);
                    scope.spawn(move || {
                        let mut mine = 0;
                        loader
                            .run(|stats| {
                                let new = stats.inserted - mine;
                                mine = stats.inserted;
                                let total = inserted.fetch_add(new, Ordering::SeqCst) + new;
                                if total > 0 {
                                    first_batch
                                        .lock()
                                        .unwrap()
                                        .get_or_insert((Instant::now(), total));
                                }
                                if total >= rows {
                                    last_row.lock().unwrap().get_or_insert(Instant::now());
                                }
                                total >= rows
                            })
                            .unwrap()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let loaded_by_each: Vec<u64> = finished.iter().map(|stats| stats.inserted).collect();
        // A figure for `instances` loaders only if each of them loaded a share.
        assert!(
            loaded_by_each.iter().all(|&rows| rows > 0),
            "an instance joined after all was loaded ({loaded_by_each:?} rows each): raise BENCH_ORDERS"
        );
        let ended = last_row
            .into_inner()
            .unwrap()
            .expect("every row was loaded");
        let whole = ended - started;
        closing
            .lock()
            .unwrap()
            .push(ended.elapsed().as_secs_f64() * 1e3);
        assert_eq!(
            rows_of_run(db, &prefix).unwrap(),
            rows,
            "exactly the run's rows"
        );
        let (after_first, first_rows) =
            first_batch.into_inner().unwrap().expect("rows were loaded");
        let steady = (ended - after_first).mul_f64(rows as f64 / (rows - first_rows).max(1) as f64);
        (whole, steady, finished[0].time)
    };

    // The floor's input: the same rows, written by the server to files it can read back.
    load(&mut db, 1, Postgres::DEFAULT_WRITE_CONNECTIONS);
    let dir = std::env::temp_dir().join(format!("bench-warehouse-{nanos}"));
    std::fs::create_dir_all(&dir).unwrap();
    // The server runs as another user: it must be able to write here.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let files: Vec<(String, String)> = TABLES
        .iter()
        .map(|t| {
            (
                t.to_string(),
                dir.join(format!("{t}.copy")).display().to_string(),
            )
        })
        .collect();
    for (table, file) in &files {
        db.execute(&format!("COPY {table} TO '{file}'")).unwrap();
    }

    let mut group = c.benchmark_group("warehouse");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(rows));
    group.bench_function("loader, steady state: Kafka -> decode -> PostgreSQL", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| load(&mut db, 1, Postgres::DEFAULT_WRITE_CONNECTIONS).1)
                .sum()
        })
    });
    group.bench_function("loader, including the group join", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| load(&mut db, 1, Postgres::DEFAULT_WRITE_CONNECTIONS).0)
                .sum()
        })
    });
    // Scaling out: 2 and 3 instances in one group (6 partitions: 3 per topic). Below
    // 50,000 orders the load is over before every instance has joined.
    let scale_out: &[usize] = if orders >= 50_000 {
        &[2, 3]
    } else {
        println!(
            "2 and 3 loaders: run with BENCH_ORDERS=200000 (smaller loads end before all join)"
        );
        &[]
    };
    for &instances in scale_out {
        group.bench_function(
            format!("{instances} loaders, including the group join"),
            |b| {
                b.iter_custom(|iterations| {
                    (0..iterations)
                        .map(|_| load(&mut db, instances, Postgres::DEFAULT_WRITE_CONNECTIONS).0)
                        .sum()
                })
            },
        );
    }
    // The run's records read by a bare consumer: assigned its partitions, no group, no
    // decoding. It is what reading them from the broker costs in this process, beside the
    // loader's reading stage, which also decodes and builds rows.
    let bare_read = || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "bench-warehouse-bare-read")
            .set("enable.auto.commit", "false")
            .set("fetch.queue.backoff.ms", "10")
            .create()
            .unwrap();
        let started = Instant::now();
        consumer.assign(&range).unwrap();
        let mut received = 0;
        while received < rows {
            if let Some(message) = consumer.poll(Duration::from_secs(10)) {
                message.unwrap();
                received += 1;
            }
        }
        started.elapsed()
    };
    let floor = |db: &mut Postgres| {
        truncate(db);
        let started = Instant::now();
        for (table, file) in &files {
            db.execute(&format!("COPY {table} FROM '{file}'")).unwrap();
        }
        let elapsed = started.elapsed();
        assert_eq!(rows_of_run(db, &prefix).unwrap(), rows);
        elapsed
    };
    group.bench_function("floor: COPY FROM file", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| floor(&mut db)).sum())
    });
    group.finish();

    // The floor over two sessions, as the loader writes by default: the files shared out
    // largest first, each session copying its share at the same time.
    let mut by_size: Vec<&(String, String)> = files.iter().collect();
    by_size.sort_by_key(|(_, file)| std::cmp::Reverse(std::fs::metadata(file).unwrap().len()));
    let mut shares: [(u64, Vec<&(String, String)>); 2] = Default::default();
    for entry in by_size {
        let least = shares.iter_mut().min_by_key(|(bytes, _)| *bytes).unwrap();
        least.0 += std::fs::metadata(&entry.1).unwrap().len();
        least.1.push(entry);
    }
    let mut sessions = [
        Postgres::connect(&url).unwrap(),
        Postgres::connect(&url).unwrap(),
    ];
    let floor_two_sessions = |db: &mut Postgres, sessions: &mut [Postgres; 2]| {
        truncate(db);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for (session, (_, share)) in sessions.iter_mut().zip(&shares) {
                scope.spawn(move || {
                    for (table, file) in share {
                        session
                            .execute(&format!("COPY {table} FROM '{file}'"))
                            .unwrap();
                    }
                });
            }
        });
        let elapsed = started.elapsed();
        assert_eq!(rows_of_run(db, &prefix).unwrap(), rows);
        elapsed
    };

    // The same two, interleaved round by round, so that a slow patch of the shared machine
    // falls on both sides of a ratio: the ratio is the median of the rounds' ratios.
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    // Four sides per round: the loader as it ships, the loader over one session, the
    // floor, and the floor over two sessions; and beside them the bare read.
    let mut ms: [Vec<f64>; 4] = Default::default();
    let mut bare_ms: Vec<f64> = Vec::new();
    let mut stages: Vec<LoadTime> = Vec::new();
    for _ in 0..rounds {
        let (_, steady, time) = load(&mut db, 1, Postgres::DEFAULT_WRITE_CONNECTIONS);
        stages.push(time);
        ms[0].push(steady.as_secs_f64() * 1e3);
        ms[1].push(load(&mut db, 1, 1).1.as_secs_f64() * 1e3);
        ms[2].push(floor(&mut db).as_secs_f64() * 1e3);
        ms[3].push(floor_two_sessions(&mut db, &mut sessions).as_secs_f64() * 1e3);
        bare_ms.push(bare_read().as_secs_f64() * 1e3);
    }
    // How fast `side` is against `base`: the median of the rounds' ratios, and their range.
    let speed = |side: usize, base: usize| {
        let mut ratios: Vec<f64> = (0..rounds).map(|r| ms[base][r] / ms[side][r]).collect();
        let (low, high) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &r| (l.min(r), h.max(r)));
        format!(
            "{:.2}x (single rounds {low:.2}x-{high:.2}x)",
            median(&mut ratios)
        )
    };
    let medians: Vec<f64> = ms.iter().map(|side| median(&mut side.clone())).collect();
    println!(
        "warehouse/interleaved ({rounds} rounds, medians): the loader in steady state {:.0} ms \
         ({} sessions), over one session {:.0} ms; the floor {:.0} ms, \
         over two sessions {:.0} ms",
        medians[0],
        Postgres::DEFAULT_WRITE_CONNECTIONS,
        medians[1],
        medians[2],
        medians[3],
    );
    println!(
        "warehouse/interleaved: the loader at {} the floor's speed; over one session {}; \
         against the floor over two sessions {}",
        speed(0, 2),
        speed(1, 2),
        speed(0, 3),
    );
    // Where one loader's time went, per load from its start (medians over the rounds): the
    // stages overlap, and the side that waits least sets the pace.
    let stage_ms = |stage: fn(&LoadTime) -> Duration| {
        median(
            &mut stages
                .iter()
                .map(|t| stage(t).as_secs_f64() * 1e3)
                .collect::<Vec<_>>(),
        )
    };
    println!(
        "warehouse/interleaved: one loader's stages per load (medians): reading {:.0} ms, \
         waiting for the writer {:.0} ms, committing offsets {:.0} ms; writing {:.0} ms, \
         the writer waiting for a batch {:.0} ms",
        stage_ms(|t| t.reading),
        stage_ms(|t| t.waiting_for_writer),
        stage_ms(|t| t.committing),
        stage_ms(|t| t.writing),
        stage_ms(|t| t.waiting_for_reader),
    );
    println!(
        "warehouse/interleaved: a bare consumer read the run's records (no group, no decoding) \
         in {:.0} ms (median)",
        median(&mut bare_ms)
    );
    println!(
        "warehouse: after a load's last row, its loaders took {:.0} ms to close (the median \
         over every load, not timed in any of them)",
        median(&mut closing.lock().unwrap())
    );
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, warehouse);
criterion_main!(benches);
