//! Several loaders in one consumer group, against the real broker and PostgreSQL: an
//! instance whose definition the stored one cannot follow stops alone, at start, naming the
//! reason, before it joins the group or writes anything; the instance already running
//! carries on loading every record.
#![cfg(feature = "warehouse")]

mod common;

use std::time::{Duration, Instant};

use common::services;
use event_runtime::{Dispatcher, Event, KafkaConfig};
use event_warehouse::{Backend, Loader, LoaderConfig, Postgres, RunningLoader, WarehouseError};

mod v1 {
    use event_runtime::Event;

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "group.tested", topic = "warehouse-group")]
    pub struct GroupTested {
        pub run: String,
        pub sequence: u64,
    }
}

/// The same event with `sequence` retyped: a change the schema contract refuses.
mod retyped {
    use event_runtime::Event;

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "group.tested", topic = "warehouse-group")]
    pub struct GroupTested {
        pub run: String,
        pub sequence: String,
    }
}

fn publish(run: &str, sequences: std::ops::Range<u64>) {
    let events = Dispatcher::builder()
        .kafka(KafkaConfig::new(services::kafka_bootstrap()))
        .build()
        .unwrap();
    for sequence in sequences.clone() {
        events.publish(&v1::GroupTested {
            run: run.into(),
            sequence,
        });
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(
        report.sink("kafka").unwrap().delivered,
        sequences.end - sequences.start
    );
}

fn rows(database: &mut Postgres, run: &str) -> i64 {
    database
        .query("SELECT count(*) FROM group_tested WHERE run = $1", &[run])
        .unwrap()[0][0]
        .as_i64()
        .unwrap()
}

fn load_until(running: &mut RunningLoader<Postgres>, run: &str, wanted: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while rows(running.backend(), run) < wanted {
        assert!(
            Instant::now() < deadline,
            "the loader did not load {wanted} rows"
        );
        running.load_batch().unwrap();
    }
    assert_eq!(rows(running.backend(), run), wanted);
}

#[test]
fn an_incompatible_instance_stops_alone_before_writing_and_the_others_carry_on() {
    let run = services::run_id();
    let url = services::fresh_postgres_database("group");
    let group = format!("warehouse-group-{run}");
    let config = || LoaderConfig::new(services::kafka_bootstrap(), group.clone());

    publish(&run, 0..500);
    let mut running = Loader::new(config(), Postgres::connect(&url).unwrap())
        .event::<v1::GroupTested>()
        .start()
        .unwrap();
    load_until(&mut running, &run, 500);

    let error = Loader::new(config(), Postgres::connect(&url).unwrap())
        .event::<retyped::GroupTested>()
        .start()
        .err()
        .expect("the retyped definition was accepted");
    assert!(
        matches!(error, WarehouseError::Incompatible { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("field `sequence` changed type from `uint64` to `string`"),
        "{error}"
    );
    // It wrote nothing: the rows and the stored definition are the running instance's.
    let mut database = Postgres::connect(&url).unwrap();
    assert_eq!(rows(&mut database, &run), 500);
    let stored = database
        .query(
            "SELECT proto FROM event_definitions WHERE message = $1",
            &[v1::GroupTested::MESSAGE_NAME],
        )
        .unwrap();
    assert_eq!(
        stored[0][0].as_str(),
        Some(v1::GroupTested::proto_schema().as_str())
    );

    // The running instance carries on with what is published next.
    publish(&run, 500..1_000);
    load_until(&mut running, &run, 1_000);
    let sequences = database
        .query(
            "SELECT count(DISTINCT sequence) FROM group_tested WHERE run = $1",
            &[&run],
        )
        .unwrap();
    assert_eq!(sequences[0][0].as_i64(), Some(1_000));
}
