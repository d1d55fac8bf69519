//! The warehouse loader for the order flow's events: consumes the `orders` and `payments`
//! topics with a consumer group and writes one row per event into SQL tables generated
//! from the event definitions.
//!
//! ```sh
//! # Embedded SQLite (the default), until stopped:
//! cargo run --features warehouse --example warehouse_loader -- --kafka 127.0.0.1:9092
//! # PostgreSQL, stopping once the topics have been idle for 5 s:
//! cargo run --features warehouse --example warehouse_loader -- --kafka 127.0.0.1:9092 \
//!     --postgres postgresql://postgres@127.0.0.1:5432/postgres --exit-when-idle 5
//! # Rows sooner once the loader has caught up: a batch ends 20 ms after its first record,
//! # or after 2 ms without one (defaults: 200 ms and 20 ms).
//! cargo run --features warehouse --example warehouse_loader -- --linger 20 --idle 2
//! ```
//!
//! SIGTERM or Ctrl-C stops it cleanly: the batch in flight is written and committed, and it
//! leaves the group at once, so its partitions move without waiting for a timeout. Kill it
//! at any time: the group's offsets are committed only after their rows, so a restart
//! carries on, and rows replayed from the last batch are skipped by event id.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_warehouse::{Backend, LoaderConfig, Postgres, Sqlite};
use multi_dispatch_events::env;
use multi_dispatch_events::order_flow::warehouse;

const USAGE: &str = "usage: warehouse_loader [--kafka HOST:PORT] [--postgres URL | --sqlite FILE] [--group NAME] [--batch N] [--linger MS] [--idle MS] [--exit-when-idle SECONDS]";

struct Args {
    kafka: String,
    postgres: Option<String>,
    sqlite: Option<String>,
    group: String,
    batch: usize,
    /// How long a batch waits to fill (`LoaderConfig::batch_linger`).
    linger: Duration,
    /// How long without a record ends a batch early (`LoaderConfig::batch_idle`).
    idle: Duration,
    exit_when_idle: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let defaults = LoaderConfig::new("", "");
    let mut args = Args {
        kafka: env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|| "127.0.0.1:9092".into()),
        postgres: None,
        sqlite: None,
        group: "order-flow-warehouse".into(),
        batch: defaults.batch_size,
        linger: defaults.batch_linger,
        idle: defaults.batch_idle,
        exit_when_idle: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || {
            given
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--kafka" => args.kafka = value()?,
            "--postgres" => args.postgres = Some(value()?),
            "--sqlite" => args.sqlite = Some(value()?),
            "--group" => args.group = value()?,
            "--batch" => {
                args.batch = value()?
                    .parse()
                    .map_err(|_| format!("--batch needs a number\n{USAGE}"))?
            }
            "--linger" => args.linger = milliseconds(&flag, &value()?)?,
            "--idle" => args.idle = milliseconds(&flag, &value()?)?,
            "--exit-when-idle" => {
                // `try_from`: a negative or non-finite number is an error, not a panic.
                args.exit_when_idle = value()?
                    .parse()
                    .ok()
                    .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                    .map(Some)
                    .ok_or_else(|| format!("--exit-when-idle needs seconds\n{USAGE}"))?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn milliseconds(flag: &str, text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_millis)
        .map_err(|_| format!("{flag} needs whole milliseconds\n{USAGE}"))
}

fn load<B: Backend>(args: &Args, backend: B, database: &str) -> Result<(), String> {
    let mut config = LoaderConfig::new(&args.kafka, &args.group);
    config.batch_size = args.batch;
    config.batch_linger = args.linger;
    config.batch_idle = args.idle;
    let stopping = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stopping))
            .map_err(|e| format!("cannot watch for signal {signal}: {e}"))?;
    }
    let mut loader = warehouse::loader(config, backend)
        .start()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "loading {} tables from Kafka at {} (group {}) into {database}",
        loader.tables().count(),
        args.kafka,
        args.group
    );
    let (started, mut last_report, mut last_record) =
        (Instant::now(), Instant::now(), Instant::now());
    let mut seen = 0;
    let stats = loader
        .run(|stats| {
            if stats.records != seen {
                seen = stats.records;
                last_record = Instant::now();
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                eprintln!(
                    "  {} rows written, {} replayed rows skipped, {} rejected, {} batches",
                    stats.inserted, stats.duplicates, stats.rejected, stats.batches
                );
            }
            stopping.load(Ordering::Relaxed)
                || args
                    .exit_when_idle
                    .is_some_and(|idle| last_record.elapsed() >= idle)
        })
        .map_err(|e| e.to_string())?;
    println!(
        "loaded: records={} inserted={} duplicates={} skipped={} rejected={} batches={} commit_failures={} seconds={:.2}",
        stats.records,
        stats.inserted,
        stats.duplicates,
        stats.skipped,
        stats.rejected,
        stats.batches,
        stats.commit_failures,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let loaded = match (&args.postgres, &args.sqlite) {
        (Some(_), Some(_)) => Err(format!("choose one of --postgres and --sqlite\n{USAGE}")),
        (Some(url), None) => Postgres::connect(url)
            .map_err(|e| e.to_string())
            .and_then(|db| load(&args, db, &format!("PostgreSQL ({url})"))),
        (None, path) => {
            let path = path
                .clone()
                .unwrap_or_else(|| "order_flow_warehouse.db".into());
            Sqlite::open(&path)
                .map_err(|e| e.to_string())
                .and_then(|db| load(&args, db, &format!("SQLite ({path})")))
        }
    };
    match loaded {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
