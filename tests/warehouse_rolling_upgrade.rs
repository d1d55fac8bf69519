//! A rolling upgrade of the loader, against the real broker and PostgreSQL: an instance
//! with the old definition and one with a compatible added field run in one consumer group
//! while records of both shapes are published. The new instance extends the table; the
//! old one keeps writing old-shape rows (the new column NULL there) and leaves each record
//! with the new field in Kafka rather than write it without the field; once the old
//! instance stops, the new one loads what it left. Every record becomes exactly one row,
//! and the new column is filled exactly for the new shape.
#![cfg(feature = "warehouse")]

mod common;

use std::time::{Duration, Instant};

use common::services;
use common::warehouse::group_starting_at_end;
use event_runtime::{Dispatcher, KafkaConfig};
use event_warehouse::{Backend, Loader, LoaderConfig, Postgres, RunningLoader};

mod v1 {
    use event_runtime::Event;

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "upgrade.tested", topic = "warehouse-upgrade")]
    pub struct UpgradeTested {
        #[event(key)]
        pub id: String,
        pub run: String,
        pub sequence: u64,
    }
}

/// The next version: a field added at the end, which the schema contract allows.
mod v2 {
    use event_runtime::Event;

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "upgrade.tested", topic = "warehouse-upgrade")]
    pub struct UpgradeTested {
        #[event(key)]
        pub id: String,
        pub run: String,
        pub sequence: u64,
        pub coupon: Option<String>,
    }
}

/// Publishes old-shape records for `old` and new-shape ones for `new`, alternately.
fn publish(run: &str, old: std::ops::Range<u64>, new: std::ops::Range<u64>) {
    let events = Dispatcher::builder()
        .kafka(KafkaConfig::new(services::kafka_bootstrap()))
        .build()
        .unwrap();
    let (mut old, mut new) = (old.peekable(), new.peekable());
    let mut published = 0;
    while old.peek().is_some() || new.peek().is_some() {
        if let Some(sequence) = old.next() {
            events.publish(&v1::UpgradeTested {
                id: format!("{run}-{sequence}"),
                run: run.into(),
                sequence,
            });
            published += 1;
        }
        if let Some(sequence) = new.next() {
            events.publish(&v2::UpgradeTested {
                id: format!("{run}-{sequence}"),
                run: run.into(),
                sequence,
                coupon: Some(format!("c-{sequence}")),
            });
            published += 1;
        }
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(report.sink("kafka").unwrap().delivered, published);
}

fn count(database: &mut Postgres, run: &str, condition: &str) -> i64 {
    database
        .query(
            &format!("SELECT count(*) FROM upgrade_tested WHERE run = $1 AND ({condition})"),
            &[run],
        )
        .unwrap()[0][0]
        .as_i64()
        .unwrap()
}

/// Loads with every instance in turn until the table has `wanted` rows of the run, or,
/// with `wanted` unreachable for now, until nothing more comes for a few seconds.
fn load(
    loaders: &mut [&mut RunningLoader<Postgres>],
    database: &mut Postgres,
    run: &str,
    wanted: i64,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = (count(database, run, "true"), Instant::now());
    while last.0 < wanted {
        for loader in loaders.iter_mut() {
            loader.load_batch().unwrap();
        }
        let rows = count(database, run, "true");
        if rows != last.0 {
            last = (rows, Instant::now());
        } else if wanted == i64::MAX && last.1.elapsed() > Duration::from_secs(4) {
            return;
        }
        assert!(Instant::now() < deadline, "loaded {rows} of {wanted} rows");
    }
    assert_eq!(last.0, wanted);
}

#[test]
fn old_and_new_instances_share_the_group_and_every_record_becomes_one_full_row() {
    let run = services::run_id();
    let url = services::fresh_postgres_database("upgrade");
    let group = format!("warehouse-upgrade-{run}");
    let config = || LoaderConfig::new(services::kafka_bootstrap(), group.clone());
    let mut database = Postgres::connect(&url).unwrap();
    // The topic's earlier records (a reused broker's) are not this run's: an old instance
    // would leave their new-shape records in Kafka and load nothing after them.
    group_starting_at_end(&group, "warehouse-upgrade");

    // Before the upgrade: the old instance alone.
    publish(&run, 0..300, 0..0);
    let mut old = Loader::new(config(), Postgres::connect(&url).unwrap())
        .event::<v1::UpgradeTested>()
        .start()
        .unwrap();
    load(&mut [&mut old], &mut database, &run, 300);
    let before_upgrade = old.stats().inserted;

    // The new instance joins and extends the table; the old one keeps loading.
    let mut new = Loader::new(config(), Postgres::connect(&url).unwrap())
        .event::<v2::UpgradeTested>()
        .start()
        .unwrap();
    publish(&run, 300..600, 0..0);
    load(&mut [&mut old, &mut new], &mut database, &run, 600);
    assert!(
        old.stats().inserted > before_upgrade,
        "the old instance kept writing after the new one joined: {:?}",
        old.stats()
    );

    // Producers roll out too: both shapes are published while both instances run.
    publish(&run, 900..1_200, 600..900);
    load(&mut [&mut old, &mut new], &mut database, &run, i64::MAX);
    let old_stats = old.stats();
    assert!(
        old_stats.left_for_newer > 0,
        "the old instance met new-shape records and left them: {old_stats:?}"
    );
    assert_eq!(
        count(
            &mut database,
            &run,
            "sequence >= 600 AND sequence < 900 AND coupon IS NULL"
        ),
        0,
        "no new-shape record was written without its field"
    );

    // The upgrade completes: the old instance stops, and the new one loads what it left.
    drop(old);
    load(&mut [&mut new], &mut database, &run, 1_200);
    assert_eq!(
        count(&mut database, &run, "true"),
        1_200,
        "every record is one row"
    );
    let distinct = database
        .query(
            "SELECT count(DISTINCT sequence) FROM upgrade_tested WHERE run = $1",
            &[&run],
        )
        .unwrap();
    assert_eq!(distinct[0][0].as_i64(), Some(1_200));
    assert_eq!(
        count(&mut database, &run, "coupon IS NOT NULL"),
        300,
        "the new column is filled for the new shape"
    );
    assert_eq!(
        count(
            &mut database,
            &run,
            "coupon = 'c-' || CAST(sequence AS TEXT) AND sequence >= 600 AND sequence < 900"
        ),
        300
    );
    assert_eq!(new.stats().left_for_newer, 0);
    assert_eq!(new.stats().rejected, 0);
}
