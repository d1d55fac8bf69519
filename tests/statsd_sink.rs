//! The StatsD sink: datagram packing, the agent's absence, the environment, the full
//! queue, and delivery to the real statsd_exporter over UDP and a Unix socket. The sink
//! tests turn counter aggregation off so that every publish is a known number of lines.
#![cfg(feature = "statsd")]

mod common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::services;
use event_runtime::{BuildError, Dispatcher, Event, StatsdConfig, StatsdTarget, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Opened,
    Scrolled,
    #[tag(rename = "checked-out")]
    CheckedOut,
}

#[derive(Event)]
#[event(name = "sink_test.screen", topic = "sink-test")]
struct ScreenEvent {
    session: String,
    #[event(tag)]
    step: Step,
    #[event(tag)]
    logged_in: bool,
    #[event(metric = "histogram")]
    render_ms: u32,
}

fn event(i: u32) -> ScreenEvent {
    ScreenEvent {
        session: format!("s-{i}"),
        step: Step::from_index(i as usize % 3).unwrap(),
        logged_in: i % 2 == 0,
        render_ms: i % 100,
    }
}

/// Reads datagrams on another thread while the test publishes, as an agent would; stops
/// after 500 ms of silence.
fn agent_thread(
    recv: impl Fn(&mut [u8]) -> std::io::Result<usize> + Send + 'static,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut packets = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = recv(&mut buf) {
            packets.push(buf[..n].to_vec());
        }
        packets
    })
}

/// A UDP agent whose receive buffer holds every datagram a test sends. Loopback UDP drops
/// silently when the buffer is full, and on a busy two-core CI machine the reading thread
/// can be off the CPU long enough for the kernel's default (208 KiB) to fill.
fn udp_agent() -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The kernel caps this at net.core.rmem_max.
    socket2::SockRef::from(&socket)
        .set_recv_buffer_size(4 << 20)
        .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let address = socket.local_addr().unwrap().to_string();
    (address, agent_thread(move |buf| socket.recv(buf)))
}

fn unix_agent() -> (std::path::PathBuf, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let path = std::env::temp_dir().join(format!("dsd-{}.socket", services::run_id()));
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    (path, agent_thread(move |buf| socket.recv(buf)))
}

fn line_count(packets: &[Vec<u8>]) -> u64 {
    packets
        .iter()
        .map(|p| p.split(|&b| b == b'\n').count() as u64)
        .sum()
}

#[test]
fn udp_lines_are_packed_into_datagrams_of_at_most_1432_bytes() {
    let (address, agent) = udp_agent();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::udp(address).constant_tag("env", "test"))
        .build()
        .unwrap();
    for i in 0..1000 {
        events.publish(&event(i));
    }
    let report = events.shutdown(Duration::from_secs(5)).unwrap();
    let packets = agent.join().unwrap();

    assert!(
        packets.iter().all(|p| p.len() <= 1432),
        "a datagram is over 1432 bytes"
    );
    assert!(
        packets.iter().filter(|p| p.len() > 1300).count() > packets.len() / 2,
        "datagrams are not filled"
    );
    let lines: Vec<String> = packets
        .iter()
        .flat_map(|p| {
            String::from_utf8(p.clone())
                .unwrap()
                .split('\n')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(lines.len(), 2000);
    assert_eq!(
        lines[0],
        "sink_test.screen:1|c|#step:opened,logged_in:true,env:test"
    );
    assert_eq!(
        lines[1],
        "sink_test.screen.render_ms:0|h|#step:opened,logged_in:true,env:test"
    );
    assert_eq!(
        lines[5],
        "sink_test.screen.render_ms:2|h|#step:checked-out,logged_in:true,env:test"
    );
    let stats = report.sink("statsd").unwrap();
    assert_eq!(
        (
            stats.published,
            stats.delivered,
            stats.dropped,
            stats.failed
        ),
        (2000, 2000, 0, 0)
    );
}

#[test]
fn unix_socket_datagrams_are_at_most_8192_bytes() {
    let (path, agent) = unix_agent();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::unix(&path))
        .build()
        .unwrap();
    for i in 0..1000 {
        events.publish(&event(i));
    }
    let report = events.shutdown(Duration::from_secs(5)).unwrap();
    let packets = agent.join().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(packets.iter().all(|p| p.len() <= 8192));
    assert!(
        packets.iter().any(|p| p.len() > 1432),
        "UDS datagrams should use their larger size"
    );
    assert_eq!(line_count(&packets), 2000);
    assert_eq!(report.sink("statsd").unwrap().delivered, 2000);
}

#[test]
fn an_absent_agent_on_a_unix_socket_is_counted_as_failed() {
    let path = std::env::temp_dir().join(format!("nobody-{}.socket", services::run_id()));
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::unix(&path))
        .build()
        .unwrap();
    for i in 0..100 {
        events.publish(&event(i));
    }
    let error = events.shutdown(Duration::from_secs(5)).unwrap_err();
    let stats = error.report.sink("statsd").unwrap();
    assert_eq!(
        (stats.published, stats.delivered, stats.failed),
        (200, 0, 200)
    );
}

#[test]
fn an_absent_agent_on_udp_is_counted_without_reaching_the_caller() {
    // Bind then drop, so the port is closed.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::udp(format!("127.0.0.1:{port}")))
        .build()
        .unwrap();
    for round in 0..5 {
        for i in 0..20 {
            events.publish(&event(round * 20 + i));
        }
        // Each round is its own datagram; the kernel reports the closed port on the next.
        events.flush(Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = events.stats().sink("statsd").unwrap();
    assert_eq!(stats.published, 200);
    // On the same host the kernel's ICMP reply is on the socket before `send` returns.
    assert_eq!((stats.delivered, stats.failed), (0, 200));
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    // A Unix socket, so that what the sink counts as delivered is exactly what arrives.
    let (path, agent) = unix_agent();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(
            StatsdConfig::unix(&path)
                .queue_bytes(8192)
                .flush_interval(Duration::from_secs(3600)),
        )
        .build()
        .unwrap();
    // Far more than 8 KiB at once: the sender cannot keep up with one publish loop.
    for i in 0..20_000 {
        events.publish(&event(i));
    }
    let report = events.shutdown(Duration::from_secs(5));
    let stats = match &report {
        Ok(r) => r.sink("statsd").unwrap(),
        Err(e) => e.report.sink("statsd").unwrap(),
    };
    assert_eq!(stats.published, 40_000);
    assert!(stats.dropped > 0, "nothing was dropped");
    assert_eq!(stats.delivered + stats.dropped + stats.failed, 40_000);
    assert_eq!(line_count(&agent.join().unwrap()), stats.delivered);
    std::fs::remove_file(&path).ok();
}

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}

#[test]
fn from_env_reads_the_datadog_variables() {
    let config = StatsdConfig::from_lookup(lookup(&[
        ("DD_AGENT_HOST", "10.0.0.5"),
        ("DD_DOGSTATSD_PORT", "9125"),
        ("DD_ENV", "prod"),
        ("DD_SERVICE", "checkout"),
        ("DD_VERSION", "1.4.2"),
    ]));
    assert_eq!(config.target(), &StatsdTarget::Udp("10.0.0.5:9125".into()));
    assert_eq!(
        config,
        StatsdConfig::udp("10.0.0.5:9125")
            .constant_tag("env", "prod")
            .constant_tag("service", "checkout")
            .constant_tag("version", "1.4.2")
    );
    let socket = StatsdConfig::from_lookup(lookup(&[
        ("DD_DOGSTATSD_SOCKET", "/run/dsd.sock"),
        ("DD_AGENT_HOST", "x"),
    ]));
    assert_eq!(socket.target(), &StatsdTarget::Unix("/run/dsd.sock".into()));
    assert_eq!(
        StatsdConfig::from_lookup(lookup(&[])).target(),
        &StatsdTarget::Udp("127.0.0.1:8125".into())
    );
    assert_eq!(
        StatsdConfig::from_lookup(lookup(&[("DD_AGENT_HOST", "::1")])).target(),
        &StatsdTarget::Udp("[::1]:8125".into())
    );
}

/// datadog-go's conventions: `DD_DOGSTATSD_URL` over the socket and host variables,
/// `DD_ENTITY_ID` as `dd.internal.entity_id`, and an empty variable as unset.
#[test]
fn from_env_reads_dd_dogstatsd_url_and_dd_entity_id_as_datadog_go_does() {
    for (url, target) in [
        (
            "udp://10.0.0.7:9125",
            StatsdTarget::Udp("10.0.0.7:9125".into()),
        ),
        ("udp://agent", StatsdTarget::Udp("agent:8125".into())),
        ("udp://[::1]", StatsdTarget::Udp("[::1]:8125".into())),
        ("udp://[::1]:9125", StatsdTarget::Udp("[::1]:9125".into())),
        (
            "unix:///var/run/datadog/dsd.socket",
            StatsdTarget::Unix("/var/run/datadog/dsd.socket".into()),
        ),
        (
            "unixgram:///run/dsd.sock",
            StatsdTarget::Unix("/run/dsd.sock".into()),
        ),
    ] {
        let config = StatsdConfig::from_lookup(lookup(&[
            ("DD_DOGSTATSD_URL", url),
            ("DD_DOGSTATSD_SOCKET", "/elsewhere.sock"),
            ("DD_AGENT_HOST", "elsewhere"),
        ]));
        assert_eq!(config.target(), &target, "{url}");
    }
    // The entity id first, as datadog-go sends it, then env, service and version.
    let config = StatsdConfig::from_lookup(lookup(&[
        ("DD_ENTITY_ID", "2d4b9c3e-0f2a-4c1b-9a7e-5d6f7a8b9c0d"),
        ("DD_ENV", "prod"),
    ]));
    assert_eq!(
        config,
        StatsdConfig::udp("127.0.0.1:8125")
            .constant_tag(
                "dd.internal.entity_id",
                "2d4b9c3e-0f2a-4c1b-9a7e-5d6f7a8b9c0d"
            )
            .constant_tag("env", "prod")
    );
    // Empty means unset, for every variable.
    let empty = StatsdConfig::from_lookup(lookup(&[
        ("DD_DOGSTATSD_URL", ""),
        ("DD_DOGSTATSD_SOCKET", " "),
        ("DD_AGENT_HOST", ""),
        ("DD_DOGSTATSD_PORT", ""),
        ("DD_ENTITY_ID", ""),
        ("DD_ENV", ""),
        ("DD_SERVICE", ""),
        ("DD_VERSION", ""),
    ]));
    assert_eq!(empty, StatsdConfig::udp("127.0.0.1:8125"));
}

/// Where this differs from datadog-go, which would fall back to `DD_AGENT_HOST`: a URL
/// that is none of the forms is refused, saying which forms there are.
#[test]
fn a_dd_dogstatsd_url_of_no_known_form_is_refused_when_building() {
    for url in [
        "tcp://agent:8125",
        "unix://relative.sock",
        "agent:8125",
        "udp://",
    ] {
        let config =
            StatsdConfig::from_lookup(lookup(&[("DD_DOGSTATSD_URL", url), ("DD_AGENT_HOST", "x")]));
        let error = Dispatcher::builder().statsd(config).build().err().unwrap();
        let text = error.to_string();
        assert!(
            text.contains("DD_DOGSTATSD_URL")
                && text.contains(url)
                && text.contains("udp://host:port"),
            "{text}"
        );
    }
}

#[test]
fn a_bad_value_from_the_environment_is_rejected_when_building() {
    let config = StatsdConfig::from_lookup(lookup(&[("DD_ENV", "Production|x")]));
    match Dispatcher::builder().statsd(config).build() {
        Err(BuildError::InvalidConstantTag { tag, .. }) => assert_eq!(tag, "env:Production|x"),
        other => panic!("expected InvalidConstantTag, got {:?}", other.err()),
    }
    let prefixed = StatsdConfig::udp("127.0.0.1:8125").prefix("my app");
    assert!(matches!(
        Dispatcher::builder().statsd(prefixed).build(),
        Err(BuildError::InvalidPrefix { .. })
    ));
}

#[derive(Event)]
#[event(name = "sink_test.real_agent", topic = "sink-test")]
struct RealAgentEvent {
    #[event(tag)]
    step: Step,
    #[event(metric = "distribution")]
    render_ms: u32,
}

fn publish_to_exporter(config: StatsdConfig, run: &str, transport: &str) {
    let events = Dispatcher::builder()
        .statsd(
            config
                .constant_tag("run", run)
                .constant_tag("transport", transport),
        )
        .build()
        .unwrap();
    let counts = [
        (Step::Opened, 7u32),
        (Step::Scrolled, 3),
        (Step::CheckedOut, 11),
    ];
    for (step, n) in counts {
        for i in 0..n {
            events.publish(&RealAgentEvent { step, render_ms: i });
        }
    }
    events.shutdown(Duration::from_secs(5)).unwrap();

    let labels = |step: Step| {
        [
            ("step", step.value()),
            ("run", run),
            ("transport", transport),
        ]
    };
    let text = services::eventually_metrics(Duration::from_secs(10), |text| {
        counts.iter().all(|(step, n)| {
            services::exported_value(text, "sink_test_real_agent", &labels(*step))
                == Some(f64::from(*n))
        })
    });
    for (step, n) in counts {
        assert_eq!(
            services::exported_value(&text, "sink_test_real_agent", &labels(step)),
            Some(f64::from(n)),
            "statsd_exporter did not count {n} {step:?} events over {transport}"
        );
        // The distribution arrived with the same tags: statsd_exporter exports it as a histogram/summary.
        assert_eq!(
            services::exported_value(&text, "sink_test_real_agent_render_ms_count", &labels(step)),
            Some(f64::from(n))
        );
    }
}

#[test]
fn statsd_exporter_parses_what_we_send_over_udp() {
    publish_to_exporter(
        StatsdConfig::udp(services::statsd_udp()),
        &services::run_id(),
        "udp",
    );
}

#[test]
fn statsd_exporter_parses_what_we_send_over_a_unix_socket() {
    publish_to_exporter(
        StatsdConfig::unix(services::statsd_unixgram()),
        &services::run_id(),
        "uds",
    );
}

#[test]
fn metrics_flow_again_once_an_absent_agent_is_back() {
    let path = std::env::temp_dir().join(format!("late-{}.socket", services::run_id()));
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .statsd(StatsdConfig::unix(&path))
        .build()
        .unwrap();
    for i in 0..50 {
        events.publish(&event(i));
    }
    events.flush(Duration::from_secs(2));
    let down = events.stats().sink("statsd").unwrap();
    assert_eq!((down.published, down.delivered, down.failed), (100, 0, 100));

    // The agent starts; nothing was reconfigured.
    let agent = UnixDatagram::bind(&path).unwrap();
    agent
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let received = agent_thread(move |buf| agent.recv(buf));
    for i in 0..50 {
        events.publish(&event(i));
    }
    let report = events.shutdown(Duration::from_secs(5)).unwrap_err();
    let up = report.report.sink("statsd").unwrap();
    assert_eq!((up.published, up.delivered, up.failed), (200, 100, 100));
    assert_eq!(line_count(&received.join().unwrap()), 100);
    std::fs::remove_file(&path).ok();
}

/// An agent address that does not resolve is refused at build, with the resolver's error
/// kept as the `source()`.
#[test]
fn an_unresolvable_agent_is_refused_with_the_resolver_error_as_the_source() {
    let error = Dispatcher::builder()
        .statsd(StatsdConfig::udp("no-such-agent.invalid:8125"))
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&error, BuildError::Sink { sink: "statsd", message, .. } if message.contains("cannot resolve")),
        "{error}"
    );
    let source = std::error::Error::source(&error).expect("the resolver's error as the source");
    assert!(
        source.downcast_ref::<std::io::Error>().is_some(),
        "{source:?}"
    );
}
