//! DogStatsD over UDP or a Unix datagram socket, through cadence's socket sinks.
//!
//! `publish` copies the event's lines into a bounded byte queue and returns; it never
//! blocks on the network and never allocates once the queue exists. A background thread
//! packs queued lines, joined with `\n`, into datagrams of at most 1432 bytes (UDP: an
//! Ethernet MTU minus IP and UDP headers) or 8192 bytes (UDS), and sends each with
//! cadence. When the queue is full, new lines are dropped and counted (`dropped`); a
//! datagram the socket refuses counts its lines as `failed`.
//!
//! The sender thread may wait (up to 500 ms per datagram) for a slow agent to read; the
//! caller never does. UDP is fire-and-forget, but the socket is connected and checked
//! after each send, so an agent that is absent (ICMP port unreachable) is counted as
//! `failed`: at once on the same host, and from the next datagram on for a remote host,
//! whose ICMP reply arrives later. Over a Unix socket every refusal is seen at once.

use std::net::{ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cadence::{MetricSink as CadenceSink, UdpMetricSink, UnixMetricSink};

use crate::counters::Counters;
use crate::error::BuildError;
use crate::sink::{MetricSink, SinkStats};

/// The largest UDP datagram that fits an Ethernet frame, as the Datadog clients use.
pub const UDP_MAX_PACKET: usize = 1432;
/// The datagram size the Datadog agent reads on its Unix socket.
pub const UDS_MAX_PACKET: usize = 8192;

/// Where the DogStatsD agent listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsdTarget {
    /// `host:port` over UDP.
    Udp(String),
    /// A Unix datagram socket path.
    Unix(PathBuf),
}

/// `host:port`, with a bare IPv6 address put in brackets.
fn host_and_port(host: &str, port: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The target a `DD_DOGSTATSD_URL` names, or why it names none.
fn target_of_url(url: &str) -> Result<StatsdTarget, &'static str> {
    const FORMS: &str = "is not a DogStatsD URL: use udp://host:port, unix:///path/to/dsd.socket or unixgram:///path/to/dsd.socket";
    if let Some(path) = url
        .strip_prefix("unix://")
        .or_else(|| url.strip_prefix("unixgram://"))
    {
        return if path.starts_with('/') {
            Ok(StatsdTarget::Unix(PathBuf::from(path)))
        } else {
            Err(FORMS)
        };
    }
    let Some(address) = url.strip_prefix("udp://") else {
        return Err(FORMS);
    };
    let address = address.trim_end_matches('/');
    if address.is_empty() || address.contains('/') {
        return Err(FORMS);
    }
    // `host`, `host:port`, `[v6]` or `[v6]:port`.
    let has_port = match address.rfind(']') {
        Some(bracket) => address[bracket..].contains(':'),
        None => address.contains(':'),
    };
    Ok(StatsdTarget::Udp(if has_port {
        address.to_owned()
    } else {
        format!("{address}:8125")
    }))
}

/// Configures the StatsD sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsdConfig {
    pub(crate) target: StatsdTarget,
    pub(crate) prefix: Option<String>,
    pub(crate) constant_tags: Vec<(String, String)>,
    pub(crate) queue_bytes: usize,
    pub(crate) flush_interval: Duration,
    /// A variable [`StatsdConfig::from_env`] could not read, refused when the sink is built.
    pub(crate) env_error: Option<String>,
}

impl StatsdConfig {
    /// DogStatsD over UDP to `host:port`, e.g. `127.0.0.1:8125`.
    pub fn udp(address: impl Into<String>) -> Self {
        Self::with_target(StatsdTarget::Udp(address.into()))
    }

    /// DogStatsD over a Unix datagram socket, e.g. `/var/run/datadog/dsd.socket`.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self::with_target(StatsdTarget::Unix(path.into()))
    }

    fn with_target(target: StatsdTarget) -> Self {
        StatsdConfig {
            target,
            prefix: None,
            constant_tags: Vec::new(),
            queue_bytes: 1 << 20,
            flush_interval: Duration::from_millis(100),
            env_error: None,
        }
    }

    /// Reads the Datadog agent's variables as datadog-go does:
    /// - `DD_DOGSTATSD_URL` first: `udp://host:port` (port 8125 when left out),
    ///   `unix:///path/to/dsd.socket` or `unixgram:///path` (both a Unix datagram socket);
    /// - else `DD_DOGSTATSD_SOCKET`, a Unix socket path (the agent's own setting's name);
    /// - else `DD_AGENT_HOST` (default `127.0.0.1`) and `DD_DOGSTATSD_PORT` (default 8125).
    ///
    /// `DD_ENTITY_ID` becomes the constant tag `dd.internal.entity_id`, which the agent uses
    /// for origin detection, and `DD_ENV`, `DD_SERVICE` and `DD_VERSION` the constant tags
    /// `env`, `service` and `version`; all are checked when the dispatcher is built. A
    /// variable set to nothing counts as unset.
    ///
    /// Where this differs from datadog-go: a `DD_DOGSTATSD_URL` that is none of these is
    /// refused when the dispatcher is built, with the value and the forms it may take;
    /// datadog-go ignores it and falls back to `DD_AGENT_HOST`, sending somewhere the
    /// deployment did not ask for. `unixstream://` and Windows pipes are not supported.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`StatsdConfig::from_env`] over any lookup, for tests and other config sources.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = match (lookup("DD_DOGSTATSD_URL"), lookup("DD_DOGSTATSD_SOCKET")) {
            (Some(url), _) => match target_of_url(&url) {
                Ok(target) => Self::with_target(target),
                Err(reason) => {
                    let mut config = Self::with_target(StatsdTarget::Udp(url.clone()));
                    config.env_error = Some(format!("DD_DOGSTATSD_URL={url:?} {reason}"));
                    config
                }
            },
            (None, Some(path)) => StatsdConfig::unix(path),
            (None, None) => {
                let host = lookup("DD_AGENT_HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
                let port = lookup("DD_DOGSTATSD_PORT").unwrap_or_else(|| "8125".to_owned());
                StatsdConfig::udp(host_and_port(&host, &port))
            }
        };
        for (variable, key) in [
            ("DD_ENTITY_ID", "dd.internal.entity_id"),
            ("DD_ENV", "env"),
            ("DD_SERVICE", "service"),
            ("DD_VERSION", "version"),
        ] {
            if let Some(value) = lookup(variable) {
                config = config.constant_tag(key, value);
            }
        }
        config
    }

    /// A prefix for every metric name (`shop` makes `shop.payment.attempted`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// A tag on every line, such as `env:prod`.
    pub fn constant_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.constant_tags.push((key.into(), value.into()));
        self
    }

    /// How many bytes of lines may wait for the sender thread (default 1 MiB). When full,
    /// new lines are dropped and counted rather than blocking the caller.
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes.max(UDS_MAX_PACKET);
        self
    }

    /// The longest a line waits before a datagram that is not full is sent (default 100 ms).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// The target this config sends to.
    pub fn target(&self) -> &StatsdTarget {
        &self.target
    }
}

struct Queue {
    /// `\n`-terminated lines. The sender swaps the whole buffer for its empty one, so the
    /// lock is held for a pointer swap, never for a copy the publisher would wait behind.
    bytes: Vec<u8>,
    /// Lines taken by the sender and not yet counted as delivered or failed.
    in_flight: bool,
    flush_requested: bool,
    closed: bool,
    /// The sender is waiting on `wake`. A notify is a futex syscall even with nobody
    /// waiting, so publishers only notify a sender that sleeps, and only once.
    sender_asleep: bool,
    /// Callers of `flush` waiting on `progress`, for the same reason.
    flushers: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the sender: a full datagram is waiting, a flush was asked for, or closing.
    wake: Condvar,
    /// Wakes flushers: the sender finished a round.
    progress: Condvar,
    counters: Counters,
    capacity: usize,
    max_packet: usize,
    /// Queued bytes at which the sender is woken before its interval ends.
    wake_at: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends DogStatsD lines from a background thread; see the module docs.
pub struct StatsdSink {
    shared: Arc<Shared>,
    sender: Option<JoinHandle<()>>,
}

impl StatsdSink {
    /// Opens the socket and starts the sender thread.
    pub fn new(config: &StatsdConfig) -> Result<Self, BuildError> {
        if let Some(reason) = &config.env_error {
            return Err(BuildError::sink("statsd", reason.clone()));
        }
        let error = |message: String, cause: std::io::Error| {
            BuildError::sink_caused("statsd", message, cause)
        };
        let (transport, max_packet) = match &config.target {
            StatsdTarget::Udp(address) => {
                let addr = address
                    .to_socket_addrs()
                    .map_err(|e| error(format!("cannot resolve {address:?}: {e}"), e))?
                    .next()
                    .ok_or_else(|| {
                        BuildError::sink("statsd", format!("{address:?} resolves to no address"))
                    })?;
                let bind = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let socket = UdpSocket::bind(bind)
                    .map_err(|e| error(format!("cannot open a UDP socket: {e}"), e))?;
                // Connected, so that the kernel records an absent agent's ICMP reply on the socket.
                socket
                    .connect(addr)
                    .map_err(|e| error(format!("cannot connect to {addr}: {e}"), e))?;
                socket
                    .set_write_timeout(Some(SEND_TIMEOUT))
                    .map_err(|e| error(e.to_string(), e))?;
                let probe = socket.try_clone().map_err(|e| error(e.to_string(), e))?;
                let sink = UdpMetricSink::from(addr, socket)
                    .map_err(|e| BuildError::sink_caused("statsd", e.to_string(), e))?;
                let transport = Transport {
                    sink: Box::new(sink),
                    udp_probe: Some(probe),
                };
                (transport, UDP_MAX_PACKET)
            }
            StatsdTarget::Unix(path) => {
                let socket = UnixDatagram::unbound()
                    .map_err(|e| error(format!("cannot open a Unix socket: {e}"), e))?;
                socket
                    .set_write_timeout(Some(SEND_TIMEOUT))
                    .map_err(|e| error(e.to_string(), e))?;
                let transport = Transport {
                    sink: Box::new(UnixMetricSink::from(path, socket)),
                    udp_probe: None,
                };
                (transport, UDS_MAX_PACKET)
            }
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                bytes: Vec::with_capacity(config.queue_bytes),
                in_flight: false,
                flush_requested: false,
                closed: false,
                sender_asleep: false,
                flushers: 0,
            }),
            wake: Condvar::new(),
            progress: Condvar::new(),
            counters: Counters::default(),
            capacity: config.queue_bytes,
            max_packet,
            // A few datagrams at a time: fewer wake-ups, without bursts that overflow the
            // agent's receive buffer (UDP has no flow control; a burst is lost).
            wake_at: (max_packet * 8).min(config.queue_bytes),
        });
        let worker = Arc::clone(&shared);
        let interval = config.flush_interval;
        let sender = std::thread::Builder::new()
            .name("event-runtime statsd".into())
            .spawn(move || send_loop(&worker, &transport, interval))
            .map_err(|e| error(format!("cannot start the sender thread: {e}"), e))?;
        Ok(StatsdSink {
            shared,
            sender: Some(sender),
        })
    }
}

/// How long the sender thread waits for an agent that does not read fast enough.
const SEND_TIMEOUT: Duration = Duration::from_millis(500);

/// A cadence socket sink, plus a handle on the UDP socket to read ICMP errors.
struct Transport {
    sink: Box<dyn CadenceSink + Send>,
    udp_probe: Option<UdpSocket>,
}

impl Transport {
    fn send(&self, packet: &str) -> bool {
        if self.sink.emit(packet).is_err() {
            return false;
        }
        // A pending error is an ICMP reply to this or an earlier datagram: no agent.
        !matches!(
            self.udp_probe.as_ref().map(UdpSocket::take_error),
            Some(Ok(Some(_)) | Err(_))
        )
    }
}

fn send_loop(shared: &Shared, transport: &Transport, interval: Duration) {
    let mut taken: Vec<u8> = Vec::with_capacity(shared.capacity);
    // The datagram being filled; it is kept across rounds until it is full or the flush
    // interval passes, so a steady trickle of lines still goes out in full datagrams.
    let mut packet = Packet {
        text: String::with_capacity(shared.max_packet),
        lines: 0,
    };
    let mut deadline = Instant::now() + interval;
    loop {
        let (closed, send_partial) = {
            let mut queue = shared.lock();
            while queue.bytes.len() < shared.wake_at && !queue.flush_requested && !queue.closed {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                queue.sender_asleep = true;
                queue = shared
                    .wake
                    .wait_timeout(queue, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                queue.sender_asleep = false;
            }
            taken.clear();
            std::mem::swap(&mut taken, &mut queue.bytes);
            let send_partial = queue.flush_requested || queue.closed || Instant::now() >= deadline;
            queue.in_flight = !taken.is_empty() || packet.lines > 0;
            queue.flush_requested = false;
            (queue.closed, send_partial)
        };
        pack_and_send(shared, transport, &taken, &mut packet);
        if send_partial {
            packet.send(shared, transport);
            deadline = Instant::now() + interval;
        }
        let flushers = {
            let mut queue = shared.lock();
            queue.in_flight = packet.lines > 0;
            queue.flushers
        };
        if flushers > 0 {
            shared.progress.notify_all();
        }
        if closed && shared.lock().bytes.is_empty() && packet.lines == 0 {
            return;
        }
    }
}

/// A datagram being filled, and how many lines it holds.
struct Packet {
    text: String,
    lines: u64,
}

impl Packet {
    fn send(&mut self, shared: &Shared, transport: &Transport) {
        if self.lines == 0 {
            return;
        }
        let counter = if transport.send(&self.text) {
            &shared.counters.delivered
        } else {
            &shared.counters.failed
        };
        Counters::add(counter, self.lines);
        self.text.clear();
        self.lines = 0;
    }
}

/// Adds `\n`-terminated lines to the datagram, sending each one that fills up.
fn pack_and_send(shared: &Shared, transport: &Transport, taken: &[u8], packet: &mut Packet) {
    for line in taken.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // Lines were formatted from validated ASCII, so this only guards the invariant.
        let Ok(line) = std::str::from_utf8(line) else {
            Counters::add(&shared.counters.failed, 1);
            continue;
        };
        let needed = line.len() + usize::from(packet.lines > 0);
        if packet.text.len() + needed > shared.max_packet {
            packet.send(shared, transport);
        }
        if packet.lines > 0 {
            packet.text.push('\n');
        }
        // A single line over the limit goes alone: splitting it would corrupt it.
        packet.text.push_str(line);
        packet.lines += 1;
    }
}

impl MetricSink for StatsdSink {
    fn name(&self) -> &'static str {
        "statsd"
    }

    fn send_lines(&self, lines: &str) {
        let shared = &self.shared;
        // A char pattern searches with memchr: a few instructions for the usual one line,
        // where a byte-by-byte count cost a third of this call.
        let count = lines.matches('\n').count() as u64 + 1;
        Counters::add(&shared.counters.published, count);
        let mut queue = shared.lock();
        if queue.bytes.len() + lines.len() < shared.capacity {
            // The usual case: all of them fit, in one copy.
            queue.bytes.extend_from_slice(lines.as_bytes());
            queue.bytes.push(b'\n');
        } else {
            for line in lines.split('\n') {
                if queue.bytes.len() + line.len() + 1 > shared.capacity {
                    Counters::add(&shared.counters.dropped, 1);
                    continue;
                }
                queue.bytes.extend_from_slice(line.as_bytes());
                queue.bytes.push(b'\n');
            }
        }
        // Wake the sender for a batch of datagrams, not for each one: fewer context
        // switches on the publishing thread. The interval sends whatever is below this.
        // A sender that is busy sending finds the batch when it looks again.
        let wake = queue.sender_asleep && queue.bytes.len() >= shared.wake_at;
        if wake {
            queue.sender_asleep = false;
        }
        drop(queue);
        if wake {
            shared.wake.notify_one();
        }
    }

    fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let shared = &self.shared;
        let mut queue = shared.lock();
        queue.flush_requested = true;
        shared.wake.notify_one();
        queue.flushers += 1;
        while !queue.bytes.is_empty() || queue.in_flight {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            queue = shared
                .progress
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if !queue.bytes.is_empty() {
                queue.flush_requested = true;
                shared.wake.notify_one();
            }
        }
        queue.flushers -= 1;
    }

    fn stats(&self) -> SinkStats {
        self.shared.counters.snapshot()
    }
}

impl Drop for StatsdSink {
    /// Sends what is queued (local sends are quick), then stops the sender thread.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(sender) = self.sender.take() {
            let _ = sender.join();
        }
    }
}
