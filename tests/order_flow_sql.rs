//! The shipped SQL (`examples/order_flow_warehouse.sql`) computes the same warehouse view
//! as the payloads in process, on SQLite and on PostgreSQL, for a small seeded run: every
//! figure, the revenue at risk included. The rows are written straight into each database
//! from the recorded records, as the loader would write them.
#![cfg(feature = "warehouse")]

mod common;

use std::time::Duration;

use common::services;
use common::warehouse::{expected_rows, tables};
use event_runtime::{Dispatcher, RecordedRecord, RecordingSink};
use event_warehouse::{prepare, Backend, Batch, Postgres, Sqlite};
use multi_dispatch_events::order_flow::simulate::{self, Scenario};
use multi_dispatch_events::order_flow::views::WarehouseView;
use multi_dispatch_events::order_flow::warehouse::view_from_sql;
use multi_dispatch_events::order_flow::warehouse_of;

fn recorded_run() -> Vec<RecordedRecord> {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    let scenario = Scenario {
        orders: 2_000,
        seed: 11,
        run_id: 0,
    };
    simulate::run(&events, scenario, |_, _| {});
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

#[test]
fn sqlite_and_postgresql_compute_every_figure_as_the_payloads_do() {
    let records = recorded_run();
    let in_process = warehouse_of(&records).unwrap();
    assert!(
        in_process.revenue_at_risk.len() >= 6,
        "{:?}",
        in_process.revenue_at_risk
    );

    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = Sqlite::open(dir.path().join("order_flow.db")).unwrap();
    assert_eq!(sql_view(&mut sqlite, &records), in_process);

    let mut postgres =
        Postgres::connect(&services::fresh_postgres_database("order_flow_sql")).unwrap();
    assert_eq!(sql_view(&mut postgres, &records), in_process);
}
