//! The shipped SQL (`examples/order_flow_warehouse.sql`) computes the same warehouse view
//! as the payloads in process, on SQLite and on PostgreSQL, for a small seeded run: every
//! figure, the revenue at risk included, and the failures joined with the users replica. The rows are written straight into each database
//! from the recorded records, as the loader would write them.
#![cfg(feature = "warehouse")]

mod common;

use std::time::Duration;

use common::services;
use common::warehouse::{expected_rows, tables};
use event_runtime::{Dispatcher, RecordedRecord, RecordingSink};
use event_warehouse::{prepare, Backend, Batch, Postgres, Sqlite};
use multi_dispatch_events::order_flow::simulate::{self, Scenario};
use multi_dispatch_events::order_flow::users::{replica, UsersJoin};
use multi_dispatch_events::order_flow::views::WarehouseView;
use multi_dispatch_events::order_flow::warehouse::{
    users_join_from_sql, view_from_sql, write_users,
};
use multi_dispatch_events::order_flow::{users_join_of, warehouse_of};

const SCENARIO: Scenario = Scenario {
    orders: 2_000,
    seed: 11,
    run_id: 0,
};

fn recorded_run() -> Vec<RecordedRecord> {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    simulate::run(&events, SCENARIO, |_, _| {});
    events.shutdown(Duration::from_secs(5)).unwrap();
    recording.records()
}

fn sql_view(backend: &mut dyn Backend, records: &[RecordedRecord]) -> WarehouseView {
    let tables = tables();
    for table in &tables {
        prepare(backend, table).unwrap();
    }
    let rows = expected_rows(records);
    let batch = Batch {
        tables: tables
            .iter()
            .map(|table| {
                let of_table = rows
                    .values()
                    .filter(|(name, _)| *name == table.name)
                    .map(|(_, row)| row.clone())
                    .collect();
                (table, of_table)
            })
            .collect(),
        rejects: Vec::new(),
    };
    assert_eq!(
        backend.write(&batch).unwrap().inserted,
        records.len() as u64
    );
    view_from_sql(backend, "").unwrap()
}

fn sql_users_join(backend: &mut dyn Backend) -> UsersJoin {
    write_users(backend, &replica(&SCENARIO)).unwrap();
    users_join_from_sql(backend, "").unwrap()
}

#[test]
fn sqlite_and_postgresql_compute_every_figure_as_the_payloads_do() {
    let records = recorded_run();
    let in_process = warehouse_of(&records).unwrap();
    let joined = users_join_of(&records, &SCENARIO).unwrap();
    assert_eq!(joined.by_channel.len(), 4, "{joined:?}");
    assert_eq!(joined.by_signup_month.len(), 12, "{joined:?}");
    assert_eq!(
        joined.by_channel.values().map(|h| h.users).sum::<u64>(),
        SCENARIO.users()
    );
    assert_eq!(
        joined
            .by_channel
            .values()
            .map(|h| h.affected_users)
            .sum::<u64>(),
        in_process.affected_users_total()
    );
    assert!(
        in_process.revenue_at_risk.len() >= 6,
        "{:?}",
        in_process.revenue_at_risk
    );

    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = Sqlite::open(dir.path().join("order_flow.db")).unwrap();
    assert_eq!(sql_view(&mut sqlite, &records), in_process);
    assert_eq!(sql_users_join(&mut sqlite), joined);

    let mut postgres =
        Postgres::connect(&services::fresh_postgres_database("order_flow_sql")).unwrap();
    assert_eq!(sql_view(&mut postgres, &records), in_process);
    assert_eq!(sql_users_join(&mut postgres), joined);
}
