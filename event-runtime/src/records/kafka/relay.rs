//! The relay ([`KafkaConfig::relay`](super::KafkaConfig::relay)): a bounded queue in memory
//! between the publishing threads and librdkafka, and the one thread that moves its records
//! on into librdkafka.
//!
//! Why: a publish that enqueues into librdkafka itself runs librdkafka's code on the
//! caller's thread: its locks (which its broker threads also take), an allocation per
//! record and per header, and now and then the wake-up of a broker thread (a system call).
//! At a service's pace, where every call meets cold caches, that is most of a publish's
//! time and all of its tail. Relayed, a publish copies the record into this queue, whose
//! memory is allocated once, and returns.
//!
//! - **Order.** Records leave the queue in the order they entered it, and whoever moves
//!   them into librdkafka (the relay thread, or a publisher that found the queue full)
//!   holds the `feed` lock while it does, so each thread's records reach librdkafka in the
//!   order it published them.
//! - **Full.** When the queue has no room, the publisher moves records on into librdkafka
//!   itself, as a publish without the relay would. Only when librdkafka's queue is full too
//!   does the sink's full-queue policy apply. So the relay adds [`RELAY_RECORDS`] records
//!   and [`RELAY_BYTES`] bytes in front of librdkafka's bound (and the up to [`BATCH`] its
//!   thread took and librdkafka had no room for), and drops nothing that the direct path
//!   would have taken.
//! - **Wake-ups.** While records come, the relay thread looks at the queue every
//!   [`POLL_EVERY`], librdkafka's own default `linger.ms`; after a look that found a
//!   [`BATCH`] or more, every [`POLL_BUSY`], so a burst does not fill the queue between
//!   looks. After [`SLEEP_AFTER`] without any record it sleeps, and only then does a
//!   publish wake it, once. So a publish makes no system call while records flow, and an
//!   idle service's relay thread does not run, but every [`MISSED_WAKE_BOUND`] to bound a
//!   wake-up that could be missed (`tests/relay_idle.rs`).
//! - **Why not look more often.** At a service's pace each look is a wake-up of the relay
//!   thread on a core the request threads share, and then of librdkafka's calls and
//!   caches. Looking every 5 ms rather than every millisecond, the checkout service's two
//!   publish calls added less to its handler's time (BENCHMARKS.md, row 11). A record
//!   waits in the queue at most that long before librdkafka's `linger.ms`; a sink built
//!   with [`KafkaConfig::relay(false)`](super::KafkaConfig::relay) has no such wait.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{produce, Outcomes, Transport};
use crate::{EventId, KafkaRecord};

/// Records the relay's queue holds at most.
const RELAY_RECORDS: usize = 8192;
/// Bytes of keys, payloads and trace context the queue holds at most. A record larger
/// than this goes to librdkafka from the publishing thread, after every record before it.
const RELAY_BYTES: usize = 1 << 20;
/// How often the relay thread looks at the queue while records come at a service's pace:
/// how long a record may wait in it, next to librdkafka's own `linger.ms` (5 ms by
/// default), which it matches.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// How often it looks once it has taken [`BATCH`] records or more since it last slept: they
/// come fast, and the queue's [`RELAY_RECORDS`] take a millisecond to fill only at over 8
/// million a second.
const POLL_BUSY: Duration = Duration::from_millis(1);
/// How long the queue stays empty before the relay thread sleeps until a publish wakes it.
const SLEEP_AFTER: Duration = Duration::from_millis(100);
/// How long that sleep lasts at most: it only bounds a wake-up that could be missed, and
/// a sleep that ends with the queue still empty goes on (`tests/relay_idle.rs`).
const MISSED_WAKE_BOUND: Duration = Duration::from_millis(250);
/// How long the relay thread waits for room when librdkafka's queue is full.
const FULL_WAIT: Duration = Duration::from_micros(200);
/// Records moved per hold of the feed lock, so a publisher that needs it waits little.
const BATCH: usize = 64;
/// A length that stands for "none" (no key, no trace header).
const NONE: u32 = u32::MAX;

/// One record in the queue; its key, payload and trace context are in the byte queue.
#[derive(Clone, Copy)]
struct Entry {
    topic: &'static str,
    event_name: &'static str,
    schema_name: &'static str,
    event_id: EventId,
    timestamp_millis: i64,
    key_len: u32,
    payload_len: u32,
    traceparent_len: u32,
    tracestate_len: u32,
}

/// A part's length, [`NONE`] when it is absent.
fn part_len(part: Option<&[u8]>) -> u32 {
    part.map_or(NONE, |p| p.len() as u32)
}

/// What a part takes in the byte queue.
fn stored(len: u32) -> usize {
    if len == NONE {
        0
    } else {
        len as usize
    }
}

impl Entry {
    fn of(record: &KafkaRecord<'_>) -> Self {
        Entry {
            topic: record.topic,
            event_name: record.event_name,
            schema_name: record.schema_name,
            event_id: record.event_id,
            timestamp_millis: record.timestamp_millis,
            key_len: part_len(record.key),
            payload_len: record.payload.len() as u32,
            traceparent_len: part_len(record.traceparent.map(str::as_bytes)),
            tracestate_len: part_len(record.tracestate.map(str::as_bytes)),
        }
    }

    fn bytes_len(&self) -> usize {
        stored(self.key_len)
            + self.payload_len as usize
            + stored(self.traceparent_len)
            + stored(self.tracestate_len)
    }

    /// The record again, its parts borrowed from `bytes` (this entry's bytes).
    fn record<'a>(&self, bytes: &'a [u8]) -> KafkaRecord<'a> {
        let mut rest = bytes;
        let mut part = |len: u32| {
            (len != NONE).then(|| {
                let (part, after) = rest.split_at(len as usize);
                rest = after;
                part
            })
        };
        let key = part(self.key_len);
        let payload = part(self.payload_len).unwrap_or_default();
        // Written from `&str`s, so they are UTF-8.
        let mut text = |len| part(len).and_then(|t| std::str::from_utf8(t).ok());
        let traceparent = text(self.traceparent_len);
        let tracestate = text(self.tracestate_len);
        KafkaRecord {
            topic: self.topic,
            key,
            payload,
            event_name: self.event_name,
            schema_name: self.schema_name,
            event_id: self.event_id,
            timestamp_millis: self.timestamp_millis,
            traceparent,
            tracestate,
        }
    }
}

/// The records waiting, oldest first. Its memory is allocated once, at its bounds.
struct Queue {
    entries: VecDeque<Entry>,
    bytes: VecDeque<u8>,
    /// The relay thread sleeps until a publish wakes it.
    relay_sleeping: bool,
}

/// Records taken from the queue and not yet accepted by librdkafka: the next to go.
#[derive(Default)]
struct Carry {
    entries: Vec<Entry>,
    bytes: Vec<u8>,
    /// The first entry not yet accepted, and where its bytes start.
    next: usize,
    at: usize,
}

impl Carry {
    fn is_empty(&self) -> bool {
        self.next == self.entries.len()
    }

    fn len(&self) -> usize {
        self.entries.len() - self.next
    }

    /// Hands librdkafka the records in order. `Err` when its queue is full: the rest stay.
    fn send(&mut self, transport: &Transport, outcomes: &Outcomes) -> Result<(), QueueFull> {
        while let Some(entry) = self.entries.get(self.next).copied() {
            let len = entry.bytes_len();
            if let Some(cause) = outcomes.refusal.cause() {
                outcomes.fail(cause.to_owned(), entry.event_name);
            } else {
                let record = entry.record(&self.bytes[self.at..self.at + len]);
                match transport.enqueue(&record, 0) {
                    produce::Enqueued::Ok => {}
                    produce::Enqueued::QueueFull => return Err(QueueFull),
                    produce::Enqueued::Failed(code) => outcomes.refused(code, entry.event_name),
                }
            }
            self.next += 1;
            self.at += len;
        }
        Ok(())
    }

    /// Takes the next records from `queue`, at most [`BATCH`]. Only when empty.
    fn take(&mut self, queue: &mut Queue) {
        debug_assert!(self.is_empty());
        self.entries.clear();
        self.bytes.clear();
        (self.next, self.at) = (0, 0);
        let count = queue.entries.len().min(BATCH);
        let mut total = 0;
        for entry in queue.entries.drain(..count) {
            total += entry.bytes_len();
            self.entries.push(entry);
        }
        let (front, back) = queue.bytes.as_slices();
        let from_front = total.min(front.len());
        self.bytes.extend_from_slice(&front[..from_front]);
        self.bytes.extend_from_slice(&back[..total - from_front]);
        queue.bytes.drain(..total);
    }
}

/// librdkafka's queue had no room.
pub(super) struct QueueFull;

/// What a publisher that found the queue full did about it.
pub(super) enum Helped {
    /// It moved records on: the queue has room now.
    Room,
    /// The queue was empty once every record before this one was in librdkafka (the record
    /// is larger than the queue can ever hold, or the relay thread emptied it meanwhile): it
    /// was handed to librdkafka from the publishing thread, in order, which answered.
    Direct(produce::Enqueued),
    /// librdkafka's queue is full: nothing could move.
    Full,
}

/// The queue, shared by the publishing threads, the relay thread and the sink.
pub(super) struct Relay {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Held by whoever moves records into librdkafka, so that they go in order.
    feed: Mutex<Carry>,
    stop: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Relay {
    pub fn new() -> Self {
        Relay {
            queue: Mutex::new(Queue {
                entries: VecDeque::with_capacity(RELAY_RECORDS),
                bytes: VecDeque::with_capacity(RELAY_BYTES),
                relay_sleeping: false,
            }),
            wake: Condvar::new(),
            feed: Mutex::new(Carry {
                entries: Vec::with_capacity(BATCH),
                bytes: Vec::with_capacity(64 << 10),
                ..Carry::default()
            }),
            stop: AtomicBool::new(false),
        }
    }

    /// Queues `record`; `false` when the queue has no room for it.
    pub fn push(&self, record: &KafkaRecord<'_>) -> bool {
        let entry = Entry::of(record);
        let len = entry.bytes_len();
        let mut queue = lock(&self.queue);
        if queue.entries.len() == RELAY_RECORDS || queue.bytes.len() + len > RELAY_BYTES {
            return false;
        }
        queue.entries.push_back(entry);
        let parts = [
            record.key,
            Some(record.payload),
            record.traceparent.map(str::as_bytes),
            record.tracestate.map(str::as_bytes),
        ];
        for part in parts.into_iter().flatten() {
            queue.bytes.extend(part);
        }
        let wake = queue.relay_sleeping;
        drop(queue);
        if wake {
            self.wake.notify_one();
        }
        true
    }

    /// Moves the next records into librdkafka, and says how many it took from the queue:
    /// 0 when there were none.
    fn move_on(&self, transport: &Transport, outcomes: &Outcomes) -> Result<usize, QueueFull> {
        let mut carry = lock(&self.feed);
        carry.send(transport, outcomes)?;
        carry.take(&mut lock(&self.queue));
        let taken = carry.len();
        if taken > 0 {
            carry.send(transport, outcomes)?;
        }
        Ok(taken)
    }

    /// For a publisher that found the queue full with `record`: moves records on into
    /// librdkafka from the publishing thread.
    pub fn help(
        &self,
        record: &KafkaRecord<'_>,
        transport: &Transport,
        outcomes: &Outcomes,
    ) -> Helped {
        let mut carry = lock(&self.feed);
        if carry.send(transport, outcomes).is_err() {
            return Helped::Full;
        }
        carry.take(&mut lock(&self.queue));
        if carry.is_empty() {
            // Every record before this one is in librdkafka, and the feed lock is held: this
            // one can go straight after them, whether it is too large for the queue or the
            // relay thread emptied the queue since the push failed.
            return Helped::Direct(transport.enqueue(record, 0));
        }
        // The records taken left room, whether or not librdkafka takes them now.
        let _ = carry.send(transport, outcomes);
        Helped::Room
    }

    /// Records waiting in the relay, not yet in librdkafka, plus `in_librdkafka()`, read
    /// while no record can move from one to the other.
    pub fn len_with(&self, in_librdkafka: impl FnOnce() -> u64) -> u64 {
        let carry = lock(&self.feed);
        let queued = lock(&self.queue).entries.len();
        (carry.len() + queued) as u64 + in_librdkafka()
    }

    /// Sleeps until a publish wakes it, the relay stops, or [`MISSED_WAKE_BOUND`] passes;
    /// whether there are records to move.
    fn sleep_until_pushed(&self) -> bool {
        let mut queue = lock(&self.queue);
        if queue.entries.is_empty() && !self.stop.load(Ordering::Acquire) {
            queue.relay_sleeping = true;
            queue = self
                .wake
                .wait_timeout(queue, MISSED_WAKE_BOUND)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            queue.relay_sleeping = false;
        }
        !queue.entries.is_empty()
    }

    /// Hands librdkafka every record left; those it has no room for fail as `reason`
    /// (the relay thread has stopped: this is the shutdown's last move).
    pub fn hand_over_rest(&self, transport: &Transport, outcomes: &Outcomes, reason: &str) {
        let mut carry = lock(&self.feed);
        loop {
            if carry.send(transport, outcomes).is_err() {
                break;
            }
            carry.take(&mut lock(&self.queue));
            if carry.is_empty() {
                return;
            }
        }
        for entry in &carry.entries[carry.next..] {
            outcomes.fail(reason.to_owned(), entry.event_name);
        }
        carry.next = carry.entries.len();
        let mut queue = lock(&self.queue);
        for entry in queue.entries.drain(..) {
            outcomes.fail(reason.to_owned(), entry.event_name);
        }
        queue.bytes.clear();
    }
}

/// The running relay thread.
pub(super) struct RelayThread {
    relay: Arc<Relay>,
    thread: JoinHandle<()>,
}

impl RelayThread {
    pub fn start(
        relay: Arc<Relay>,
        transport: Arc<Transport>,
        outcomes: Arc<Outcomes>,
    ) -> std::io::Result<Self> {
        let thread = {
            let relay = Arc::clone(&relay);
            std::thread::Builder::new()
                .name("event-relay".into())
                .spawn(move || run(&relay, &transport, &outcomes))?
        };
        Ok(RelayThread { relay, thread })
    }

    /// Stops after the records being moved, and waits for the thread.
    pub fn stop(self) {
        self.relay.stop.store(true, Ordering::Release);
        // Under the queue's lock: the thread checks `stop` under it before it sleeps.
        drop(lock(&self.relay.queue));
        self.relay.wake.notify_one();
        let _ = self.thread.join();
    }
}

/// How long the relay thread sleeps before it looks at the queue again, having taken
/// `taken` records since it last slept.
fn next_look(taken: usize) -> Duration {
    if taken >= BATCH {
        POLL_BUSY
    } else {
        POLL_EVERY
    }
}

fn run(relay: &Relay, transport: &Transport, outcomes: &Outcomes) {
    let mut idle_since = None;
    // Records taken since the thread last slept: how fast they come.
    let mut taken = 0;
    while !relay.stop.load(Ordering::Acquire) {
        match relay.move_on(transport, outcomes) {
            Ok(0) => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() < SLEEP_AFTER {
                    std::thread::sleep(next_look(std::mem::take(&mut taken)));
                } else if relay.sleep_until_pushed() {
                    // Woken by a publish: look often again. Woken by the timeout alone,
                    // sleep on, so an idle service's relay thread stays asleep.
                    idle_since = None;
                }
            }
            Ok(records) => {
                idle_since = None;
                taken += records;
            }
            Err(QueueFull) => {
                idle_since = None;
                std::thread::sleep(FULL_WAIT);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(
        key: Option<&'a [u8]>,
        payload: &'a [u8],
        trace: (Option<&'a str>, Option<&'a str>),
        id: EventId,
    ) -> KafkaRecord<'a> {
        KafkaRecord {
            topic: "relay-test",
            key,
            payload,
            event_name: "relay.tested",
            schema_name: "events.RelayTested",
            event_id: id,
            timestamp_millis: 1_700_000_000_000 + id.as_u128() as i64,
            traceparent: trace.0,
            tracestate: trace.1,
        }
    }

    /// What a record carries, to compare one that went through the queue with its original.
    fn parts(r: &KafkaRecord<'_>) -> impl PartialEq + std::fmt::Debug {
        (
            (r.topic, r.key.map(<[u8]>::to_vec), r.payload.to_vec()),
            (r.event_name, r.schema_name, r.event_id),
            (r.timestamp_millis, r.traceparent.map(str::to_owned)),
            r.tracestate.map(str::to_owned),
        )
    }

    #[test]
    fn records_leave_the_queue_as_they_entered_it_and_in_order() {
        let relay = Relay::new();
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        /// A key, a payload, and a traceparent and tracestate.
        type Shape<'a> = (
            Option<&'a [u8]>,
            &'a [u8],
            (Option<&'a str>, Option<&'a str>),
        );
        let shapes: [Shape<'_>; 4] = [
            (Some(b"order-1"), b"\x08\x01", (None, None)),
            (None, b"", (Some(parent), None)),
            (Some(b""), b"payload", (None, Some("vendor=1"))),
            (Some(b"k"), &[0xff; 300], (Some(parent), Some("a=1,b=2"))),
        ];
        let ids: Vec<EventId> = (1..=4).map(EventId::from_u128).collect();
        let originals: Vec<KafkaRecord<'_>> = shapes
            .iter()
            .zip(&ids)
            .map(|((key, payload, trace), id)| record(*key, payload, *trace, *id))
            .collect();
        for original in &originals {
            assert!(relay.push(original));
        }
        let mut carry = lock(&relay.feed);
        carry.take(&mut lock(&relay.queue));
        assert_eq!(carry.len(), originals.len());
        let mut at = 0;
        for (entry, original) in carry.entries.iter().zip(&originals) {
            let len = entry.bytes_len();
            let again = entry.record(&carry.bytes[at..at + len]);
            assert_eq!(parts(&again), parts(original));
            at += len;
        }
        assert_eq!(at, carry.bytes.len());
        assert!(lock(&relay.queue).bytes.is_empty());
    }

    /// At a service's pace (the checkout service's 4,000 records a second) the thread looks
    /// at librdkafka's linger; in a burst the queue must not fill between looks.
    #[test]
    fn the_thread_looks_often_only_while_records_come_fast() {
        let per_look = |per_second: usize, every: Duration| {
            (per_second as f64 * every.as_secs_f64()).round() as usize
        };
        assert_eq!(next_look(0), POLL_EVERY);
        assert_eq!(next_look(per_look(4_000, POLL_EVERY)), POLL_EVERY);
        assert_eq!(next_look(per_look(1_000_000, POLL_EVERY)), POLL_BUSY);
        assert_eq!(next_look(per_look(1_000_000, POLL_BUSY)), POLL_BUSY);
        assert!(per_look(1_000_000, POLL_BUSY) < RELAY_RECORDS);
        assert!(POLL_BUSY < POLL_EVERY);
    }

    #[test]
    fn the_queue_takes_no_more_than_its_bounds() {
        let relay = Relay::new();
        let id = EventId::from_u128(7);
        let small = record(Some(b"k"), b"p", (None, None), id);
        for _ in 0..RELAY_RECORDS {
            assert!(relay.push(&small));
        }
        assert!(!relay.push(&small), "a record past the count bound");
        assert_eq!(relay.len_with(|| 0), RELAY_RECORDS as u64);

        let empty = Relay::new();
        let large = vec![0u8; RELAY_BYTES];
        let too_large = record(Some(b"k"), &large, (None, None), id);
        assert!(!empty.push(&too_large), "a record past the byte bound");
        let fits = record(None, &large, (None, None), id);
        assert!(empty.push(&fits), "a record of exactly the byte bound");
    }
}
