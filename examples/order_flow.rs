//! The order flow: publish a seeded stream of food-delivery orders, then show the same
//! events as Datadog would (counters) and as the warehouse would (Kafka payloads), and
//! check that the two agree.
//!
//! ```sh
//! cargo run --example order_flow                      # no services needed
//! cargo run --example order_flow -- --orders 100000 --seed 42
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use multi_dispatch_events::order_flow::{self, simulate::Scenario, views, Outcome};

const USAGE: &str = "usage: order_flow [--orders N] [--seed S]";

fn parse_args() -> Result<Scenario, String> {
    let mut scenario = Scenario::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .ok_or_else(|| format!("{name} needs a whole number\n{USAGE}"))
        };
        match arg.as_str() {
            "--orders" => scenario.orders = number("--orders")?,
            "--seed" => scenario.seed = number("--seed")?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(scenario)
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

fn print(outcome: &Outcome) {
    let s = &outcome.summary;
    println!(
        "Published {} events for {} orders in {:.2?} ({:.0} events/s), to in-process sinks.\n",
        s.events,
        s.orders,
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
    let disagreements: Vec<_> = outcome.agreements.iter().filter(|a| !a.holds()).collect();
    if disagreements.is_empty() {
        println!(
            "Consistency check: OK, the views agree on all {} totals (events per type, attempts and failures per market and platform).",
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
}

fn main() -> ExitCode {
    let scenario = match parse_args() {
        Ok(scenario) => scenario,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let outcome = order_flow::run_in_process(scenario, progress_printer());
    print(&outcome);
    if outcome.consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
