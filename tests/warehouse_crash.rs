//! The loader killed with SIGKILL while loading, twice, then restarted: no row is lost or
//! duplicated, and after each kill the group's committed offsets are never ahead of the
//! rows in PostgreSQL. The loader runs as its own process: the `warehouse_loader` example.
#![cfg(all(feature = "warehouse", feature = "statsd"))]

mod common;

use std::collections::HashSet;

use common::loader_process::{
    assert_offsets_not_ahead_of_rows, loaded_so_far, spawn_loader, wait_until_loaded,
};
use common::services;
use common::warehouse::{self, loaded_rows};
use event_runtime::header;
use event_warehouse::Postgres;

#[test]
fn a_loader_killed_mid_load_loses_nothing_duplicates_nothing_and_never_commits_ahead() {
    let published = warehouse::publish(8_000, 5);
    let total = published.records.len() as u64;
    let prefix = published.scenario.order_prefix();
    let url = services::fresh_postgres_database("crash");
    let group = format!("crash-{}", services::run_id());
    let mut db = Postgres::connect(&url).unwrap();

    for share in [0.25, 0.6] {
        let mut child = spawn_loader(&url, &group, &[]);
        wait_until_loaded(
            &mut [&mut child],
            &mut db,
            &prefix,
            (total as f64 * share) as u64,
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let at_kill = loaded_so_far(&mut db, &prefix);
        assert!(
            at_kill < total,
            "killed after the end ({at_kill} of {total})"
        );
        let covered = assert_offsets_not_ahead_of_rows(&group, &mut db);
        eprintln!("killed at {at_kill}/{total} rows of this run; {covered} committed records all in the database");
    }

    // Restarted, it carries on from the committed offsets to the end.
    let mut child = spawn_loader(&url, &group, &[]);
    wait_until_loaded(&mut [&mut child], &mut db, &prefix, total);
    child.kill().unwrap();
    child.wait().unwrap();

    let rows = loaded_rows(&mut db, &prefix); // panics on an event id with two rows
    let published_ids: HashSet<&str> = published
        .records
        .iter()
        .map(|r| r.header(header::EVENT_ID).unwrap())
        .collect();
    let loaded_ids: HashSet<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(published_ids.len() as u64, total);
    assert_eq!(loaded_ids, published_ids, "every published event, once");
    assert_offsets_not_ahead_of_rows(&group, &mut db);
}
