//! Loaders scaled out under faults, as a deployment sees them: over 300,000 order-flow
//! records; three loader processes in one group, the first SIGKILLed mid-load, a third
//! added after it, the second stopped cleanly (SIGTERM) near the end. Every record of the
//! run ends as exactly one row, every record the group committed is a row or a recorded
//! reject (other tests' records share the topics), and after each fault the committed
//! offsets are never ahead of the rows. The loaders are the `warehouse_loader` example.
#![cfg(all(feature = "warehouse", feature = "statsd"))]

mod common;

use std::collections::HashSet;
use std::process::Child;

use common::loader_process::{
    assert_offsets_not_ahead_of_rows, loaded_so_far, spawn_loader, wait_until_loaded,
};
use common::services;
use common::warehouse::{self, loaded_rows};
use event_runtime::header;
use event_warehouse::Postgres;

fn sigterm(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn three_loaders_killed_added_and_stopped_load_every_record_once() {
    let published = warehouse::publish(32_000, 9);
    let total = published.records.len() as u64;
    assert!(total >= 300_000, "{total} records");
    let prefix = published.scenario.order_prefix();
    let url = services::fresh_postgres_database("scale_out");
    let group = format!("scale-out-{}", services::run_id());
    let mut db = Postgres::connect(&url).unwrap();

    // Small batches, so that each fault lands while there is still much to load.
    let loader = || spawn_loader(&url, &group, &["--batch", "300"]);
    let mut first = loader();
    let mut second = loader();
    wait_until_loaded(&mut [&mut first, &mut second], &mut db, &prefix, total / 4);
    first.kill().unwrap(); // SIGKILL, mid-batch
    first.wait().unwrap();
    let at_kill = loaded_so_far(&mut db, &prefix);
    assert!(
        at_kill < total,
        "killed after the end ({at_kill} of {total})"
    );
    let covered = assert_offsets_not_ahead_of_rows(&group, &mut db);
    eprintln!(
        "first killed at {at_kill}/{total} rows; {covered} committed records all in the database"
    );

    let mut third = loader();
    wait_until_loaded(
        &mut [&mut second, &mut third],
        &mut db,
        &prefix,
        total * 4 / 5,
    );
    // Counted as the signal is sent: while the stopped loader finishes its batch and
    // leaves the group, the third goes on loading, and may reach the end.
    let at_stop = loaded_so_far(&mut db, &prefix);
    sigterm(&second);
    let status = second.wait().unwrap();
    assert!(status.success(), "a clean stop exits cleanly: {status:?}");
    assert!(
        at_stop < total,
        "stopped after the end ({at_stop} of {total})"
    );
    let covered = assert_offsets_not_ahead_of_rows(&group, &mut db);
    eprintln!(
        "second stopped at {at_stop}/{total} rows; {covered} committed records all in the database"
    );

    wait_until_loaded(&mut [&mut third], &mut db, &prefix, total);
    sigterm(&third);
    assert!(third.wait().unwrap().success());

    // Other tests' records share the topics, some undecodable on purpose: those are the
    // rejects. This run's records must all be rows.
    let rows = loaded_rows(&mut db, &prefix); // panics on an event id with two rows
    let published_ids: HashSet<&str> = published
        .records
        .iter()
        .map(|r| r.header(header::EVENT_ID).unwrap())
        .collect();
    let loaded_ids: HashSet<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(published_ids.len() as u64, total);
    assert_eq!(
        loaded_ids, published_ids,
        "every published record, as one row"
    );
    let covered = assert_offsets_not_ahead_of_rows(&group, &mut db);
    assert!(covered as u64 >= total, "the group committed to the end");
}
