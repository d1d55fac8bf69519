//! The order flow: publish a seeded stream of food-delivery orders, then show the same
//! events as Datadog would (counters) and as the warehouse would (Kafka payloads), and
//! check that the two agree.
//!
//! ```sh
//! cargo run --example order_flow                      # no services needed
//! cargo run --example order_flow -- --orders 100000 --seed 42
//! cargo run --example order_flow -- --report report.html   # and a page to look at
//! # Against real services: Kafka and a DogStatsD agent (flags or the usual variables,
//! # KAFKA_BOOTSTRAP_SERVERS and DD_AGENT_HOST / DD_DOGSTATSD_PORT):
//! cargo run --features kafka,statsd --example order_flow -- --kafka 127.0.0.1:9092 --statsd 127.0.0.1:8125
//! # The warehouse leg too: load the topics into SQL tables and compute the warehouse view
//! # with examples/order_flow_warehouse.sql (a PostgreSQL URL, or a SQLite file path):
//! cargo run --features warehouse,statsd --example order_flow -- --kafka 127.0.0.1:9092 \
//!     --warehouse postgresql://postgres@127.0.0.1:5432/postgres
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use multi_dispatch_events::env;
use multi_dispatch_events::order_flow::{self, simulate::Scenario, views, Outcome};

const USAGE: &str = "usage: order_flow [--orders N] [--seed S] [--report FILE.html] [--threshold PERCENT] [--kafka [HOST:PORT]] [--statsd [HOST:PORT]] [--warehouse [POSTGRES_URL | SQLITE_FILE]]";

struct Args {
    scenario: Scenario,
    /// `Some(None)`: the flag without a value, so the environment says where.
    kafka: Option<Option<String>>,
    statsd: Option<Option<String>>,
    /// `Some(None)`: the flag alone, a SQLite file in the temporary directory.
    warehouse: Option<Option<String>>,
    /// Where to write the HTML report.
    report: Option<std::path::PathBuf>,
    /// The alert threshold the report draws, in percent.
    threshold: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut scenario = Scenario::default();
    let (mut kafka, mut statsd, mut warehouse, mut report) = (None, None, None, None);
    let mut threshold = order_flow::report::DEFAULT_THRESHOLD;
    let mut args = std::env::args().skip(1).peekable();
    while let Some(arg) = args.next() {
        let mut value = || args.next_if(|v| !v.starts_with("--"));
        match arg.as_str() {
            "--kafka" => {
                kafka = Some(value());
                continue;
            }
            "--statsd" => {
                statsd = Some(value());
                continue;
            }
            "--warehouse" => {
                warehouse = Some(value());
                continue;
            }
            "--report" => {
                report = Some(
                    value()
                        .ok_or_else(|| format!("--report needs a file name\n{USAGE}"))?
                        .into(),
                );
                continue;
            }
            _ => {}
        }
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .ok_or_else(|| format!("{name} needs a whole number\n{USAGE}"))
        };
        match arg.as_str() {
            "--orders" => scenario.orders = number("--orders")?,
            "--seed" => scenario.seed = number("--seed")?,
            "--threshold" => {
                threshold = number("--threshold")?
                    .try_into()
                    .map_err(|_| format!("--threshold is a percentage\n{USAGE}"))?
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    // The usual variables ask for the real services as the flags do.
    if kafka.is_none() && env::var("KAFKA_BOOTSTRAP_SERVERS").is_some() {
        kafka = Some(None);
    }
    if statsd.is_none() && env::var("DD_AGENT_HOST").is_some() {
        statsd = Some(None);
    }
    // The warehouse is fed from Kafka.
    if warehouse.is_some() && kafka.is_none() {
        kafka = Some(None);
    }
    if !order_flow::incident::THRESHOLDS.contains(&threshold) {
        return Err(format!(
            "--threshold is one of {:?}, the thresholds the report compares\n{USAGE}",
            order_flow::incident::THRESHOLDS
        ));
    }
    Ok(Args {
        scenario,
        kafka,
        statsd,
        warehouse,
        report,
        threshold,
    })
}

/// A progress line about once a second, for long runs.
fn progress_printer() -> impl FnMut(u64, u64) {
    let started = Instant::now();
    let mut last = started;
    move |done, total| {
        if last.elapsed() >= Duration::from_secs(1)
            || (done == total && started.elapsed() >= Duration::from_secs(1))
        {
            last = Instant::now();
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "  {done:>10} / {total} orders ({:>3.0}%), {rate:.0} orders/s",
                100.0 * done as f64 / total as f64
            );
        }
    }
}

/// Writes the HTML report when `--report` asks for one.
fn write_report(args: &Args, outcome: &Outcome) -> Result<(), String> {
    let Some(path) = &args.report else {
        return Ok(());
    };
    std::fs::write(path, order_flow::report::html(outcome, args.threshold))
        .map_err(|e| format!("writing the report to {}: {e}", path.display()))?;
    println!("Report written to {}.", path.display());
    Ok(())
}

fn print(outcome: &Outcome, destination: &str) {
    let s = &outcome.summary;
    println!(
        "Published {} events for {} orders ({} of them reorders in the 28 days after the evening) in {:.2?} ({:.0} events/s), to {destination}.\n",
        s.events,
        s.orders,
        s.reorders,
        s.elapsed,
        s.events_per_second()
    );
    print!(
        "{}",
        views::side_by_side(
            &views::render_metrics(&outcome.metrics),
            &views::render_warehouse(&outcome.warehouse)
        )
    );
    println!();
    for line in views::render_revenue_at_risk(&outcome.warehouse) {
        println!("{line}");
    }
    println!();
    for line in order_flow::users::render(&outcome.users) {
        println!("{line}");
    }
    println!();
    for line in order_flow::incident::render(&outcome.incident) {
        println!("{line}");
    }
    println!();
    for line in order_flow::reorders::render(&outcome.reorders) {
        println!("{line}");
    }
    println!();
    let disagreements: Vec<_> = outcome.agreements.iter().filter(|a| !a.holds()).collect();
    if disagreements.is_empty() {
        println!(
            "Consistency check: OK, the views agree on all {} totals (events per type; attempts and failures per market and platform, over the run and in each minute of the evening; the minutes each threshold pages for).",
            outcome.agreements.len()
        );
    } else {
        println!("Consistency check: FAILED");
        for a in disagreements {
            println!(
                "  {}: metrics {} != warehouse {}",
                a.what, a.metrics, a.warehouse
            );
        }
    }
    println!(
        "Revenue at risk counts each order with a failed payment once (blocked and retried = blocked and transient): {}",
        if outcome.warehouse.revenue_at_risk_covers_every_failed_order() {
            "OK"
        } else {
            "FAILED"
        }
    );
}

#[cfg(all(feature = "kafka", feature = "statsd"))]
fn run_live(args: &Args) -> Result<(Outcome, String), String> {
    let (outcome, destination, _) = publish_live(args)?;
    Ok((outcome, destination))
}

/// What the warehouse leg needs to find a published run in Kafka.
#[cfg(all(feature = "kafka", feature = "statsd"))]
struct Published {
    bootstrap: String,
    order_prefix: String,
    delivered: u64,
}

/// Publishes to the configured services; with Kafka, also says where the run is.
#[cfg(all(feature = "kafka", feature = "statsd"))]
fn publish_live(args: &Args) -> Result<(Outcome, String, Option<Published>), String> {
    use event_runtime::{KafkaConfig, StatsdConfig};
    use order_flow::live::{run_live, Live};

    let kafka = args.kafka.as_ref().map(|given| {
        given
            .clone()
            .or_else(|| {
                KafkaConfig::from_env().and_then(|c| c.get("bootstrap.servers").map(str::to_owned))
            })
            .unwrap_or_else(|| "127.0.0.1:9092".to_owned())
    });
    let statsd = args.statsd.as_ref().map(|given| match given {
        Some(address) => StatsdConfig::udp(address.as_str()),
        None => StatsdConfig::from_env(),
    });
    let mut destination = Vec::new();
    if let Some(bootstrap) = &kafka {
        destination.push(format!(
            "Kafka at {bootstrap} (warehouse view read back from the topics)"
        ));
    }
    if let Some(config) = &statsd {
        destination.push(format!("DogStatsD at {:?}", config.target()));
    }
    // Distinct order ids per run, so reading a shared topic back finds only this run.
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64);
    let scenario = Scenario {
        run_id,
        ..args.scenario
    };
    let live = run_live(
        scenario,
        &Live {
            kafka: kafka.clone(),
            statsd,
        },
        progress_printer(),
    )?;
    let delivered = live.report.sink("kafka").map_or(0, |s| s.delivered);
    let published = kafka.map(|bootstrap| Published {
        bootstrap,
        order_prefix: scenario.order_prefix(),
        delivered,
    });
    Ok((live.outcome, destination.join(" and "), published))
}

/// The warehouse leg: load this run into SQL tables, compute the view with the shipped
/// queries, and check it against the view read from Kafka and the StatsD counters.
#[cfg(all(feature = "warehouse", feature = "statsd"))]
fn run_warehouse(args: &Args, target: Option<&str>) -> Result<bool, String> {
    use event_warehouse::{Postgres, Sqlite};
    use order_flow::warehouse::{load_and_query, WarehouseRun};

    let (outcome, destination, published) = publish_live(args)?;
    print(&outcome, &destination);
    write_report(args, &outcome)?;
    let Published {
        bootstrap,
        order_prefix: prefix,
        delivered,
    } = published.ok_or("the warehouse leg needs Kafka")?;
    let replica = order_flow::users::replica(&args.scenario);
    // One group for every run: each run loads only what earlier runs did not.
    let group = "order-flow-warehouse";
    let (run, database): (WarehouseRun, String) = match target {
        Some(url) if url.starts_with("postgres") => (
            load_and_query(
                Postgres::connect(url).map_err(|e| e.to_string())?,
                &bootstrap,
                group,
                &prefix,
                delivered,
                &replica,
            )?,
            format!("PostgreSQL ({url})"),
        ),
        _ => {
            let path = target.map_or_else(
                || std::env::temp_dir().join("order_flow_warehouse.db"),
                Into::into,
            );
            (
                load_and_query(
                    Sqlite::open(&path).map_err(|e| e.to_string())?,
                    &bootstrap,
                    group,
                    &prefix,
                    delivered,
                    &replica,
                )?,
                format!("SQLite ({})", path.display()),
            )
        }
    };
    println!(
        "\nLoaded {} rows into {database} in {:.2?} ({} records consumed, {} replayed rows skipped, {} rejected).",
        run.stats.inserted, run.elapsed, run.stats.records, run.stats.duplicates, run.stats.rejected
    );
    println!("Warehouse view computed by examples/order_flow_warehouse.sql:\n");
    for line in views::render_warehouse(&run.view) {
        println!("  {line}");
    }
    println!();
    for line in views::render_revenue_at_risk(&run.view) {
        println!("  {line}");
    }
    println!();
    for line in order_flow::users::render(&run.users) {
        println!("  {line}");
    }
    println!();
    for line in order_flow::incident::render(&run.incident) {
        println!("  {line}");
    }
    println!();
    for line in order_flow::reorders::render(&run.reorders) {
        println!("  {line}");
    }
    let sql_agrees_with_kafka = run.view == outcome.warehouse
        && run.users == outcome.users
        && run.incident == outcome.incident
        && run.reorders == outcome.reorders;
    let mut with_statsd = views::agreements(&outcome.metrics, &run.view);
    with_statsd.extend(order_flow::incident::agreements(
        &outcome.metrics,
        &run.incident,
    ));
    let statsd_agrees = with_statsd.iter().all(|a| a.holds());
    println!(
        "\nSQL view, users join, minutes, thresholds and reorders == the payloads' read from Kafka: {}",
        if sql_agrees_with_kafka {
            "OK"
        } else {
            "FAILED"
        }
    );
    println!(
        "SQL view agrees with the StatsD counters on all {} totals: {}",
        with_statsd.len(),
        if statsd_agrees { "OK" } else { "FAILED" }
    );
    Ok(sql_agrees_with_kafka && statsd_agrees && outcome.consistent())
}

#[cfg(not(all(feature = "warehouse", feature = "statsd")))]
fn run_warehouse(_: &Args, _: Option<&str>) -> Result<bool, String> {
    Err(
        "this build has no warehouse loader; run it with the features on:\n  \
         cargo run --features warehouse,statsd --example order_flow -- --kafka --warehouse"
            .to_owned(),
    )
}

#[cfg(not(all(feature = "kafka", feature = "statsd")))]
fn run_live(_: &Args) -> Result<(Outcome, String), String> {
    Err(
        "this build has no Kafka or StatsD sink; run it with the features on:\n  \
         cargo run --features kafka,statsd --example order_flow -- --kafka --statsd"
            .to_owned(),
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if let Some(target) = &args.warehouse {
        return match run_warehouse(&args, target.as_deref()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        };
    }
    let (outcome, destination) = if args.kafka.is_some() || args.statsd.is_some() {
        match run_live(&args) {
            Ok(done) => done,
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (
            order_flow::run_in_process(args.scenario, progress_printer()),
            "in-process sinks".to_owned(),
        )
    };
    print(&outcome, &destination);
    if let Err(message) = write_report(&args, &outcome) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    if outcome.consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
