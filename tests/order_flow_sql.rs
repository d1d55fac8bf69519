//! The shipped SQL (`examples/order_flow_*.sql`) computes the same figures as the payloads
//! in process, on SQLite and on PostgreSQL, for a small seeded run: the warehouse view with
//! the revenue at risk, the failures joined with the users replica, the evening minute by
//! minute with every alert threshold, and the reorder rates. The rows are written straight
//! into each database from the recorded records, as the loader would write them.
#![cfg(feature = "warehouse")]

mod common;

use std::time::Duration;

use common::services;
use common::warehouse::{expected_rows, tables};
use event_runtime::{Dispatcher, RecordedRecord, RecordingSink};
use event_warehouse::{prepare, Backend, Batch, Postgres, Sqlite};
use multi_dispatch_events::order_flow::fold::PayloadViews;
use multi_dispatch_events::order_flow::payload_views_of;
use multi_dispatch_events::order_flow::simulate::{self, Scenario};
use multi_dispatch_events::order_flow::users::{replica, UsersJoin};
use multi_dispatch_events::order_flow::views::WarehouseView;
use multi_dispatch_events::order_flow::warehouse::{
    timeline_from_sql, users_join_from_sql, view_from_sql, write_users,
};

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

/// Every figure from SQL over `records`, as the payloads give them.
fn sql_views(backend: &mut dyn Backend, records: &[RecordedRecord]) -> PayloadViews {
    let warehouse = sql_view(backend, records);
    let users = sql_users_join(backend);
    let (incident, reorders) = timeline_from_sql(backend, "").unwrap();
    PayloadViews {
        warehouse,
        users,
        incident,
        reorders,
    }
}

#[test]
fn sqlite_and_postgresql_compute_every_figure_as_the_payloads_do() {
    let records = recorded_run();
    let views = payload_views_of(&records, &SCENARIO).unwrap();
    let (in_process, joined) = (&views.warehouse, &views.users);
    assert_eq!(joined.by_channel.len(), 4, "{joined:?}");
    // 2025's twelve months, and the first-time users who signed up on the evening.
    assert_eq!(joined.by_signup_month.len(), 13, "{joined:?}");
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
    assert_eq!(views.incident.minutes.len(), 240);
    assert_eq!(views.incident.thresholds.len(), 4);
    assert_eq!(views.reorders.rates.len(), 6, "{:?}", views.reorders);

    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = Sqlite::open(dir.path().join("order_flow.db")).unwrap();
    assert_eq!(sql_views(&mut sqlite, &records), views);

    let mut postgres =
        Postgres::connect(&services::fresh_postgres_database("order_flow_sql")).unwrap();
    assert_eq!(sql_views(&mut postgres, &records), views);
}
