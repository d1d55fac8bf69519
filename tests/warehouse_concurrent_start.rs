//! Loaders started together on an empty database all come up: preparing the tables is
//! serialised across instances (a PostgreSQL advisory lock; SQLite's own write lock), so
//! concurrent `CREATE TABLE IF NOT EXISTS` cannot race in the catalog. Each start connects
//! on its own and waits at a barrier, so the three prepare at the same instant; 20 times.
#![cfg(feature = "warehouse")]

mod common;

use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use common::services;
use event_warehouse::{Backend, LoaderConfig, Postgres, Sqlite, WarehouseError};
use multi_dispatch_events::order_flow::warehouse::loader;

const LOADERS: usize = 3;
const REPEATS: usize = 20;

/// Connects `LOADERS` backends at once with `connect`, then starts a loader on each at
/// once; every start's result (a failed connection is one). Fails the test if they do not
/// all finish within two minutes.
fn start_together<B: Backend + 'static>(
    connect: impl Fn() -> Result<B, WarehouseError> + Send + Sync + 'static,
) -> Vec<Result<usize, WarehouseError>> {
    let connect = Arc::new(connect);
    let barrier = Arc::new(Barrier::new(LOADERS));
    let (done, finished) = mpsc::channel();
    for i in 0..LOADERS {
        let (connect, barrier, done) = (Arc::clone(&connect), Arc::clone(&barrier), done.clone());
        std::thread::spawn(move || {
            barrier.wait();
            let backend = connect();
            barrier.wait();
            // Not to the broker: starting prepares the tables and subscribes, no more.
            let config = LoaderConfig::new("127.0.0.1:9", format!("concurrent-start-{i}"));
            let started = backend.and_then(|backend| {
                loader(config, backend)
                    .start()
                    .map(|running| running.tables().count())
            });
            let _ = done.send(started);
        });
    }
    (0..LOADERS)
        .map(|_| {
            finished
                .recv_timeout(Duration::from_secs(120))
                .expect("the loaders did not all start within two minutes")
        })
        .collect()
}

fn assert_all_came_up(results: &[Result<usize, WarehouseError>], round: usize) {
    for result in results {
        match result {
            Ok(tables) => assert_eq!(*tables, 7),
            Err(error) => panic!("round {round}: a loader failed to start: {error}"),
        }
    }
}

#[test]
fn three_loaders_started_at_once_on_an_empty_postgres_database_all_come_up() {
    for round in 0..REPEATS {
        let url = services::fresh_postgres_database("concurrent_start");
        let results = start_together(move || Postgres::connect(&url));
        assert_all_came_up(&results, round);
    }
}

#[test]
fn three_loaders_started_at_once_on_a_new_sqlite_file_all_come_up() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..REPEATS {
        let path = dir.path().join(format!("round-{round}.db"));
        let results = start_together(move || Sqlite::open(&path));
        assert_all_came_up(&results, round);
    }
}
