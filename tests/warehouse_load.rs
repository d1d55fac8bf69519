//! The warehouse leg end to end, against the real broker and the real PostgreSQL:
//! 100,000 order-flow events are published, loaded by the consumer-group loader, and
//! compared row by row and column by column with what was published; then the shipped
//! SQL impact queries are checked against the in-process view and the StatsD counters.
#![cfg(all(feature = "warehouse", feature = "statsd"))]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::services;
use common::warehouse::{self, expected_rows, loaded_rows, LoadedRow, Published};
use event_runtime::{Dispatcher, KafkaConfig};
use event_warehouse::{Backend, LoadStats, Loader, LoaderConfig, Postgres, Sqlite};
use multi_dispatch_events::order_flow::simulate::Scenario;
use multi_dispatch_events::order_flow::warehouse::{load_run, loader, view_from_sql};
use multi_dispatch_events::order_flow::{run_in_process, views};
use multi_dispatch_events::readback::read_topics;

/// 16,500 orders make just over 100,000 events with this seed.
const ORDERS: u64 = 16_500;
const SEED: u64 = 21;

struct Loaded {
    published: Published,
    stats: LoadStats,
    elapsed: Duration,
    database: Mutex<Postgres>,
}

/// One publish and one load, shared by the tests of this file.
fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let published = warehouse::publish(ORDERS, SEED);
        assert!(
            published.records.len() >= 100_000,
            "{}",
            published.records.len()
        );
        let url = services::fresh_postgres_database("load");
        let config = LoaderConfig::new(
            services::kafka_bootstrap(),
            format!("load-{}", services::run_id()),
        );
        let mut running = loader(config, Postgres::connect(&url).unwrap())
            .start()
            .unwrap();
        let started = Instant::now();
        let stats = load_run(
            &mut running,
            &published.scenario.order_prefix(),
            published.records.len() as u64,
            Duration::from_secs(600),
        )
        .unwrap();
        let elapsed = started.elapsed();
        eprintln!(
            "loaded {} rows of this run ({} records consumed in all) in {elapsed:.2?}",
            published.records.len(),
            stats.records
        );
        Loaded {
            published,
            stats,
            elapsed,
            database: Mutex::new(Postgres::connect(&url).unwrap()),
        }
    })
}

#[test]
fn every_published_event_is_exactly_one_row_with_every_column_equal() {
    let loaded = loaded();
    let expected = expected_rows(&loaded.published.records);
    let rows = loaded_rows(
        &mut *loaded.database.lock().unwrap(),
        &loaded.published.scenario.order_prefix(),
    );
    assert_eq!(rows.len(), expected.len(), "one row per published event");
    // A fresh database: this loader wrote every one of them (plus other runs' events).
    assert!(
        loaded.stats.inserted >= expected.len() as u64,
        "{:?}",
        loaded.stats
    );
    // Where the time went is recorded for each stage a batch passed through.
    let time = loaded.stats.time;
    assert!(
        !time.reading.is_zero() && !time.writing.is_zero() && !time.committing.is_zero(),
        "{time:?}"
    );
    let mut compared = 0;
    for (event_id, (table, row)) in &expected {
        let LoadedRow {
            table: loaded_table,
            values,
            ..
        } = rows
            .get(event_id)
            .unwrap_or_else(|| panic!("event {event_id} has no row"));
        assert_eq!(loaded_table, table);
        // Everything but the partition and offset, which the producer does not know.
        let wanted = warehouse::comparable_without_place(row);
        assert_eq!(values, &wanted, "event {event_id} in {table}");
        compared += wanted.len();
    }
    eprintln!(
        "{} rows, {compared} column values equal to the published ones (load took {:.2?})",
        expected.len(),
        loaded.elapsed
    );
}

#[test]
fn each_row_names_the_record_it_was_loaded_from() {
    let loaded = loaded();
    let rows = loaded_rows(
        &mut *loaded.database.lock().unwrap(),
        &loaded.published.scenario.order_prefix(),
    );
    let topics = ["orders", "payments"];
    let prefix = loaded.published.scenario.order_prefix().into_bytes();
    let records = read_topics(
        &services::kafka_bootstrap(),
        &topics,
        |r| r.key.as_ref().is_some_and(|k| k.starts_with(&prefix)),
        |kept| kept.len() >= rows.len(),
        Duration::from_secs(120),
    )
    .unwrap();
    assert_eq!(records.len(), rows.len());
    let mut places = BTreeSet::new();
    for record in &records {
        let event_id = record.header("event_id").unwrap();
        let row = &rows[event_id];
        assert_eq!(
            (row.partition, row.offset),
            (i64::from(record.partition), record.offset),
            "{event_id}"
        );
        assert!(places.insert((record.topic.clone(), record.partition, record.offset)));
    }
}

#[test]
fn the_sql_impact_queries_answer_as_the_in_process_view_and_the_statsd_counters() {
    let loaded = loaded();
    let sql = view_from_sql(
        &mut *loaded.database.lock().unwrap(),
        &loaded.published.scenario.order_prefix(),
    )
    .unwrap();
    let in_process = run_in_process(
        Scenario {
            orders: ORDERS,
            seed: SEED,
            run_id: 0,
        },
        |_, _| {},
    );
    assert_eq!(sql, in_process.warehouse);
    let with_statsd = views::agreements(&loaded.published.metrics, &sql);
    assert_eq!(with_statsd.len(), 25);
    let disagreements: Vec<_> = with_statsd.iter().filter(|a| !a.holds()).collect();
    assert!(disagreements.is_empty(), "{disagreements:?}");
    // The questions counters cannot answer have real answers here.
    assert!(sql.affected_users_total() > 0 && sql.transient_orders > 0 && sql.blocked_orders > 0);
    let by_market: HashMap<_, _> = sql.affected_users.iter().collect();
    assert_eq!(by_market.len(), 3, "{by_market:?}");
    eprintln!(
        "SQL: {} users affected, {} orders transient, {} blocked, invalid_token {} users / {} failures",
        sql.affected_users_total(),
        sql.transient_orders,
        sql.blocked_orders,
        sql.invalid_token_users,
        sql.invalid_token_failures
    );
}

/// A burst is written as soon as the loader has read it: the batch ends when the topic goes
/// quiet, not when its linger runs out (a loader that has caught up adds no linger delay).
#[test]
fn a_batch_ends_when_the_topic_goes_quiet_not_at_its_linger() {
    #[derive(event_runtime::Event)]
    #[event(name = "warehouse_test.burst", topic = "warehouse-test-bursts")]
    struct Burst {
        #[event(key)]
        run: String,
        n: u64,
    }

    const EVENTS: u64 = 300;
    let run = services::run_id();
    let events = Dispatcher::builder()
        .kafka(KafkaConfig::new(services::kafka_bootstrap()))
        .build()
        .unwrap();
    for n in 0..EVENTS {
        events.publish(&Burst {
            run: run.clone(),
            n,
        });
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(report.undelivered(), 0, "{report:?}");

    let dir = std::env::temp_dir().join(format!("warehouse-burst-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = LoaderConfig::new(services::kafka_bootstrap(), format!("burst-{run}"));
    config.batch_size = 10_000_000;
    config.batch_linger = Duration::from_secs(120);
    let mut running = Loader::new(config, Sqlite::open(dir.join("burst.db")).unwrap())
        .event::<Burst>()
        .start()
        .unwrap();
    let table = running.tables().next().unwrap().name.clone();
    let rows_of_run = |running: &mut event_warehouse::RunningLoader<Sqlite>| {
        running
            .backend()
            .query(
                &format!("SELECT count(*) FROM {table} WHERE run = $1"),
                &[&run],
            )
            .unwrap()[0][0]
            .as_i64()
            .unwrap()
    };
    // The first call waits for the group join and the first record, then reads the topic
    // (earlier runs' bursts too) until it goes quiet. Should the fetches of its partitions
    // come more than the idle time apart, a second call takes the rest: each call must
    // still end long before the linger.
    let mut calls = 0;
    while rows_of_run(&mut running) < EVENTS as i64 {
        calls += 1;
        assert!(calls <= 5, "{calls} batches for a burst of {EVENTS}");
        let started = Instant::now();
        running.load_batch().unwrap();
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(60),
            "the batch waited out its 120 s linger ({took:?}) although the topic was quiet"
        );
    }
    assert_eq!(rows_of_run(&mut running), EVENTS as i64);
    std::fs::remove_dir_all(&dir).ok();
}
