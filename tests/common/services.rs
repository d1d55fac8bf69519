//! Access to the real services started by `scripts/services.sh` (and `scripts/test`).
//! A test that cannot reach one fails and says how to start it; it never passes quietly.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime};

const HOW_TO_START: &str = "start the services with `scripts/services.sh start && eval \"$(scripts/services.sh env)\"`, or run everything with `scripts/test`";

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {HOW_TO_START}"))
}

fn assert_reachable(what: &str, address: &str) {
    let addr = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("{what} address {address:?} does not resolve"));
    if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
        panic!("{what} is not reachable at {address}: {HOW_TO_START}");
    }
}

/// The test broker's bootstrap servers, checked to be reachable.
pub fn kafka_bootstrap() -> String {
    let servers = required_env("KAFKA_BOOTSTRAP_SERVERS");
    assert_reachable(
        "the Kafka broker",
        servers.split(',').next().unwrap_or_default(),
    );
    servers
}

/// The test broker's bootstrap servers, without checking that it is reachable (a test
/// that killed it, or starts before it).
pub fn kafka_bootstrap_unchecked() -> String {
    required_env("KAFKA_BOOTSTRAP_SERVERS")
}

/// statsd_exporter's DogStatsD UDP address.
pub fn statsd_udp() -> String {
    statsd_metrics_text();
    required_env("STATSD_EXPORTER_UDP")
}

/// statsd_exporter's DogStatsD Unix datagram socket.
pub fn statsd_unixgram() -> String {
    statsd_metrics_text();
    required_env("STATSD_EXPORTER_UNIXGRAM")
}

/// The text of statsd_exporter's `/metrics` page.
pub fn statsd_metrics_text() -> String {
    let url = required_env("STATSD_EXPORTER_METRICS");
    let rest = url
        .strip_prefix("http://")
        .expect("STATSD_EXPORTER_METRICS is an http:// URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/"), |(h, p)| (h, p));
    assert_reachable("statsd_exporter", host);
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The value of one exported sample, e.g. `e2e_order_placed{market="uk",run="x"}`.
/// Labels are matched in any order.
pub fn exported_value(text: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, label_text) = match series.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (series, ""),
            };
            if name != metric {
                return None;
            }
            let mut found: Vec<(&str, &str)> = label_text
                .split(',')
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.split_once('=').map(|(k, v)| (k, v.trim_matches('"'))))
                .collect();
            let mut wanted = labels.to_vec();
            found.sort();
            wanted.sort();
            (found == wanted).then(|| value.parse().ok()).flatten()
        })
}

/// Polls `/metrics` until `check` passes (statsd_exporter applies lines asynchronously).
pub fn eventually_metrics(timeout: Duration, mut check: impl FnMut(&str) -> bool) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = statsd_metrics_text();
        if check(&text) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A value unique to this test run, for topics, tags and ids.
pub fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("r{}x{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// The test PostgreSQL server's URL (`POSTGRES_TEST_URL`), checked to be reachable.
#[cfg(feature = "warehouse")]
pub fn postgres_url() -> String {
    let url = required_env("POSTGRES_TEST_URL");
    let host = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("POSTGRES_TEST_URL looks like postgresql://user@host:port/db");
    assert_reachable("PostgreSQL", host);
    url
}

/// A new, empty database on the test server, so tests do not share tables; its URL.
#[cfg(feature = "warehouse")]
pub fn fresh_postgres_database(label: &str) -> String {
    use event_warehouse::Backend;
    let url = postgres_url();
    let name = format!("{label}_{}", run_id()).to_lowercase();
    let mut admin =
        event_warehouse::Postgres::connect(&url).expect("connect to the test PostgreSQL");
    admin
        .execute(&format!("CREATE DATABASE \"{name}\""))
        .expect("create a test database");
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}
